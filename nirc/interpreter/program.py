"""A whole graph as one compiled loop over time (the ``fast`` extra).

The chunked schedule of :mod:`nirc.interpreter.engine` runs each node over a
chunk of steps: right for wide layers, where one call amortizes over
thousands of neurons, but on a small graph (Braille: 45 neurons, 2,000
multiply-adds a step) nearly all of a step's time is the calls themselves,
and a recurrent loop is stepped in Python. Here the plan becomes a short list
of coarse instructions (:mod:`nirc.interpreter.program_kernels`) that one
numba call runs for every step and sample of the run: inputs, synapses,
neurons, pools, delays, feedback edges, outputs and probes. Samples are
independent, so a batch is shared among the cores.

Values move between ops the way each reader wants them: dense (one float64
per element) or as events (the nonzero elements, index and value), which is
what a synapse reads: its cost is its input's activity, not its size. A
spiking layer fed by a convolution keeps its neurons channels-last, the
layout the convolution accumulates in (as :func:`engine._fused` does), and
sends its spikes on as events, so that no dense spike map is written and
scanned again (a multi-spike layer, Sinabs' IAF, its counts as the events'
values); a sum pool of spikes counts them from the events, or, when
it alone reads such a layer, from the spike bits the layer leaves behind
(OP_POOL_BITS). Weights that are all float32 values are stored and read as
float32 (widening is exact: the same products, half the bytes).

The arithmetic is the step oracle's, operation for operation (the tests run
every corpus graph and generated ones against ``mode="step"``):

- A weighted sum adds ``weight * x`` for the nonzero inputs in the order of
  the input's elements (for a convolution: channel, row, column, which is the
  oracle's (channel, ky, kx) order for every output), starting from +0.0,
  then adds the bias: :func:`nirc.interpreter.ops.fixed_order_matmul`'s
  order. Zero inputs are skipped; adding their products (+-0.0) to a sum that
  is never -0.0 changes nothing. Where the sums are exact
  (:func:`~nirc.interpreter.engine.exact_sums`) the events may arrive in any
  order (channels-last spikes, pooled counts); elsewhere they are in layer
  order. An exact convolution may also add zero weights: every event adds
  runs of one length (:class:`ConvBlocks`), taps past the kernel included.
- Fan-in is summed in the engine's order (edge order; in a recurrent segment
  the inputs from outside it, then those inside, then the feedback edges).
- Neurons perform the float64 operations of :mod:`nirc.interpreter.neurons`
  and :mod:`nirc.interpreter.snn` in the same order, skipping exactly the
  multiplications by 1 and additions of 0 that they skip (numba does not
  contract a multiply and an add into one rounding without ``fastmath``).
  Resets follow the oracle's form, up to the sign of a zero.

Not supported (the chunked schedule runs these): quantized `snn` neurons,
weights of more than two axes, non-finite weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from nirc.interpreter import jit
from nirc.interpreter.neurons import MASK_MIN, Cuba, Membrane, _is
from nirc.interpreter.ops import Conv, Delay, Dense, Flatten, Identity, Pool, Scale, Threshold
from nirc.interpreter.plan import Plan

F64 = np.float64
I64 = np.int64
WIDTH = 16  # int64 fields per instruction
ALIGN = 8  # elements: arrays in the pools and buffers start 64 bytes apart

class _InstructionSet:
    """The opcodes and flags of :mod:`.program_kernels` (defined there, where
    numba's cache sees them), read on first use: building a program for the
    kernel loads the kernel."""

    def __getattr__(self, name: str) -> int:
        return getattr(jit.program_kernels(), name)


K = _InstructionSet()
SNN_RESETS = {  # the `snn` neuron's reset -> OP_NEURON's
    "zero": "R_ZERO",
    "subtract": "R_SUB_ALWAYS",
    "subtract_undecayed": "R_SUB_UNDECAYED",
    "zero_refractory": "R_ZERO_REFRACTORY",
}


class _Pool:
    """A growing 1-D array of float64 or int64 whose pieces start aligned."""

    def __init__(self, dtype) -> None:
        self.dtype = dtype
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, a) -> int:
        a = np.ascontiguousarray(np.asarray(a, self.dtype).reshape(-1))
        pad = -self.size % ALIGN
        if pad:
            self.parts.append(np.zeros(pad, self.dtype))
            self.size += pad
        at = self.size
        self.parts.append(a)
        self.size += a.size
        return at

    def array(self) -> np.ndarray:
        """The pieces in one array whose data starts on a 64-byte boundary, so
        that every piece does (an 8-wide load of weights then touches one
        cache line, not two)."""
        size = max(self.size, 1)
        itemsize = np.dtype(self.dtype).itemsize
        raw = np.zeros(size + 64 // itemsize, self.dtype)
        skew = (-raw.ctypes.data % 64) // itemsize
        out = raw[skew : skew + size]
        if self.parts:
            np.concatenate(self.parts, out=out[: self.size])
        return out


class _Space:
    """Aligned offsets in a per-sample buffer."""

    def __init__(self) -> None:
        self.size = 0

    def take(self, n: int) -> int:
        self.size += -self.size % ALIGN
        at = self.size
        self.size += max(int(n), 1)
        return at


@dataclass(eq=False)
class _Slot:
    """A value read by other ops: dense in ``val`` and/or as events."""

    size: int
    producer: str  # the op kind that writes it
    dense: int = -1
    events: int = -1  # event-list number
    event_at: int = -1  # its offset in the event buffers
    need_dense: bool = False
    need_events: bool = False
    need_order: bool = False  # a reader needs the events in layer order
    native_order: bool = True  # the producer's own events are in layer order
    storage: np.ndarray | None = None  # events index storage order: this storage -> layer map
    compact: bool = False  # events made from the dense value by OP_COMPACT


@dataclass
class Program:
    """A plan compiled into instructions for :mod:`.program_kernels`."""

    code: np.ndarray
    fp: np.ndarray
    ip: np.ndarray
    sizes: np.ndarray  # per-sample scratch: values, events, event lists, acc, spike mask
    n_state: int
    inputs: list[tuple[str, int, int]]  # (name, its OP_INPUT row, size)
    records: dict[str, tuple[int, tuple[int, ...]]]  # key -> (offset, shape)
    rec_size: int
    states: list[tuple[object, str, int, int, np.ndarray | None]] = field(default_factory=list)
    # (kernel, attribute, state offset, size, storage -> layer permutation)

    def run(
        self,
        inputs: dict[str, np.ndarray],
        steps: int,
        batch: int,
        *,
        chunk: int | None = None,
        progress: Callable[[int], None] | None = None,
        threads: int = 1,
    ) -> dict[str, np.ndarray]:
        """Simulate ``steps`` steps of ``batch`` samples from the kernels'
        current (reset) state, the samples shared among ``threads`` threads;
        returns ``{key: [steps, B, *shape]}`` (views of one array)."""
        run = jit.program_kernels().run_program
        code = self.code.copy()
        xf, xn, t_data = self._input_arrays(inputs, batch, code)
        st = np.zeros((batch, max(self.n_state, 1)), F64)
        for kernel, attr, off, m, perm in self.states:
            layer = getattr(kernel, attr).reshape(batch, m)
            st[:, off : off + m] = layer if perm is None else layer[:, perm]
        rec = np.zeros((steps, batch, max(self.rec_size, 1)), F64)
        parts = max(1, min(int(threads), batch))
        size = max(1, int(chunk) if chunk else PROGRESS_CHUNK if progress is not None else steps)
        for t0 in range(0, steps, size):
            t1 = min(steps, t0 + size)
            args = (code, self.fp, self.ip, self.sizes, xf, xn, t0, t1, t_data, st, rec)
            if parts == 1:
                run(*args, 0, batch)
            else:
                jit.share_samples(run, args, batch, parts, t1 - t0)
            if progress is not None:
                progress(t1)
        for kernel, attr, off, m, perm in self.states:
            layer = getattr(kernel, attr).reshape(batch, m)
            if perm is None:
                layer[...] = st[:, off : off + m]
            else:
                layer[:, perm] = st[:, off : off + m]
        return {
            key: rec[:, :, off : off + _size(shape)].reshape((steps, batch) + shape)
            for key, (off, shape) in self.records.items()
        }

    def _input_arrays(self, inputs, batch, code):
        """The inputs as the kernel reads them: bool and uint8 arrays as uint8
        ``xn[T, B, n]``, anything else as float64 ``xf`` (several inputs side by
        side, else views where possible); sets each OP_INPUT's kind and column
        in ``code``. Returns (xf, xn, steps of data)."""
        t_data = max((inputs[n].shape[0] for n, _, _ in self.inputs if n in inputs), default=0)
        parts: dict[bool, list[np.ndarray]] = {False: [], True: []}
        cols = {False: 0, True: 0}
        for name, row, n in self.inputs:
            a = inputs.get(name)
            if a is None:
                a = np.zeros((t_data, batch, n), np.uint8)
            a = a.reshape(a.shape[0], batch, n)
            narrow = a.dtype in (np.dtype(np.bool_), np.dtype(np.uint8))
            if a.shape[0] < t_data:
                a = np.concatenate([a, np.zeros((t_data - a.shape[0],) + a.shape[1:], a.dtype)])
            if narrow:
                a = jit.narrow(np.ascontiguousarray(a))
            else:
                a = np.ascontiguousarray(a, dtype=F64)
            code[row, 1], code[row, 2] = int(narrow), cols[narrow]
            cols[narrow] += n
            parts[narrow].append(a)
        out = []
        for narrow, dtype in ((False, F64), (True, np.uint8)):
            p = parts[narrow]
            if not p:
                a = np.zeros((1, 1, 1), dtype)
            elif len(p) == 1:
                a = p[0]
            else:
                a = np.ascontiguousarray(np.concatenate(p, axis=2))
            # read-only views, whatever the caller's arrays: numba compiles the
            # kernel anew (about 20 s) for each mix of read-only and writable
            # arguments, and a batch-1 input arrives read-only (a broadcast)
            a = a.view()
            a.flags.writeable = False
            out.append(a)
        return out[0], out[1], t_data


PROGRESS_CHUNK = 1024  # steps per call when a progress callback wants to hear
def _snn_neuron():
    from nirc.interpreter.snn import SnnNeuron

    return SnnNeuron


def supported(plan: Plan) -> bool:
    """Whether every node of ``plan`` has an op here."""
    return all(_kind(plan, n) is not None for n in plan.order)


def _kind(plan: Plan, name: str) -> str | None:
    node = plan.nodes[name]
    k = node.kernel
    if isinstance(k, Identity):
        return "input" if node.type == "Input" and not node.preds else "identity"
    if isinstance(k, Flatten):
        return "identity"
    if isinstance(k, Delay):
        return "identity" if k.depth == 0 else "delay"
    if isinstance(k, Dense):
        if not k.matrix or not np.all(np.isfinite(k.weight)):
            return None
        return "dense"
    if isinstance(k, Conv):
        return "conv" if np.all(np.isfinite(k.weight4)) else None
    if isinstance(k, Pool):
        return "pool" if len(node.in_shape) == 3 else None
    if isinstance(k, (Scale, Threshold)):
        value = k.scale if isinstance(k, Scale) else k.threshold
        try:
            np.broadcast_to(value, node.in_shape)
        except ValueError:
            return None
        if node.out_shape != node.in_shape:
            return None
        return "scale" if isinstance(k, Scale) else "threshold"
    if isinstance(k, (Membrane, Cuba)):
        return "neuron"
    if isinstance(k, _snn_neuron()):
        return None if k.quantized else "neuron"
    return None


def _size(shape) -> int:
    return int(np.prod(shape, dtype=I64))


class _LayerParams(NamedTuple):
    """A layer OP_LAYER runs: ``v = d*v + (x*c + k)``, then spikes and reset."""

    c: float | np.ndarray
    k: float | np.ndarray
    d: float | np.ndarray
    thr: float | np.ndarray
    v_reset: float | np.ndarray
    subtract: bool  # reset by subtracting the threshold (per spike), else to v_reset
    multi: bool = False  # floor(v / thr) spikes (Sinabs' MultiSpike), else one
    ge: bool = False  # spike where v >= thr (only with multi), else v > thr
    cap: float | None = None  # at most this many spikes per step (only with multi)


def _layer_params(k) -> _LayerParams | None:
    """The parameters of a neuron layer that OP_LAYER can run (a spiking layer
    without a synaptic stage, reset to a value or by subtraction; binary
    spikes where ``v > thr``, or multi-spike counts with a positive
    threshold), else None."""
    if isinstance(k, Membrane):
        if not k.spiking:
            return None
        return _LayerParams(k.c, k.k, k.d, k.thr, k.v_reset, k.reset_mode == "subtract")
    if isinstance(k, _snn_neuron()):
        if (
            k.quantized or not k.fires or k.syn or k.v_min is not None
            or k.reset_mode not in ("zero", "subtract") or _is(k.d, 0.0)
            or (k.ge and not k.multi) or (k.multi and not np.all(np.asarray(k.thr) > 0))
        ):  # fmt: skip
            return None
        return _LayerParams(k.cm, k.km, k.d, k.thr, k.v_reset, k.reset_mode == "subtract",
                            bool(k.multi), bool(k.ge), k.cap)  # fmt: skip
    return None


def _uniform(params: _LayerParams) -> bool:
    """Whether a fused layer's parameters (:func:`_layer_params`) are
    layer-wide, single values: its update is 8-wide and, for binary spikes,
    leaves spike bits."""
    return all(isinstance(p, float) for p in params[:5])


def float32_weights(w: np.ndarray) -> bool:
    """Whether every weight is a float32 (what PyTorch exporters write): the
    kernels may then read them as float32, widened exactly."""
    w = np.asarray(w, F64)
    with np.errstate(over="ignore"):  # beyond float32's range: inf, so not equal
        return bool(np.array_equal(w.astype(np.float32).astype(F64), w))


def packed32(w: np.ndarray) -> np.ndarray:
    """Float32 weights two to a float64 slot, to be added to ``fp``: the op
    reads ``fp`` as float32 from twice the slot's offset."""
    flat = np.asarray(w, np.float32).reshape(-1)
    return np.concatenate([flat, np.zeros(flat.size % 2, np.float32)]).view(F64)


BLOCKS = True  # exact convolutions as OP_CONV_BLOCK (False: OP_CONV; for tests and timing)


@dataclass
class ConvBlocks:
    """An exact convolution as fixed blocks into a padded, channels-last
    accumulator (OP_CONV_BLOCK). An input at ``(y, x)`` reaches the outputs
    ``oy = Y0 - i``, ``ox = X0 - j`` (``i < rows``, ``j < cols``) through the
    taps ``ky = py + sh*i``, ``kx = px + sw*j``, where ``Y0, py = divmod(y +
    pt, sh)`` and ``X0, px = divmod(x + pl, sw)`` (PyTorch's output ``oy``
    reads input ``oy*sh - pt + ky``); taps past the kernel get zero weights,
    so that every input adds runs of one length (rows past the kernel at a
    phase ``py`` are left out: ``tab_r``, and so are rows of outputs past the
    edges: 4-8% of the paper CNN's additions).
    The accumulator holds the output rows, each from column ``-(cols-1)`` on,
    channels last: a block row (its ``cols`` cells, every channel) is one run
    of ``run = cols * n_o`` elements, the weights of a (channel, phase, i) stored
    in the run's order (``j`` descending). The kernel reads one int64 per event,
    ``tab`` (by input index: channel, then cell), which packs the three per-cell
    tables and the channel's weight offset (:func:`pack_block`): one load
    instead of four dependent ones, from a table a quarter the size."""

    hw: int  # input cells per channel
    rows: int
    run: int
    rstride: int  # elements from one accumulator row to the next
    tab_a: np.ndarray  # input cell -> the accumulator offset of its block's row 0
    tab_w: np.ndarray  # input cell -> its phase's weights within the channel's
    tab_r: np.ndarray  # input cell -> its phase's rows with taps inside the kernel
    tab: np.ndarray  # input index -> pack_block(tab_a, channel's weights + tab_w, tab_r)
    weights: np.ndarray  # [C, sh, sw, rows, cols, n_o] flat
    wstride: int  # weights per input channel
    out_rows: int  # the interior: output rows, elements per row, first element
    rlen: int
    base: int
    total: int  # accumulator elements
    n_o: int


# OP_CONV_BLOCK's packed event table: acc offset (bits 0-31), weight offset
# (32-55), rows (56-62); the kernel unpacks with the same shifts and masks
PACK_W, PACK_R = 32, 56


def pack_block(acc_at: np.ndarray, w_at: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One int64 per event of OP_CONV_BLOCK: where its block starts in the
    accumulator, in the weights, and how many rows it adds (fields that do not
    fit their bits make :meth:`_Builder._block` choose OP_CONV)."""
    return np.asarray(acc_at, I64) | (np.asarray(w_at, I64) << PACK_W) | (np.asarray(rows, I64) << PACK_R)


@dataclass(frozen=True)
class _BlockGeometry:
    """A convolution's block layout: the block of a (channel, stride phase) is
    ``rows`` x ``cols`` taps of ``n_o`` outputs; the accumulator is ``hp``
    (the output's) rows, ``wp`` cells apart (margins take every event's
    reach)."""

    c: int
    h: int
    w: int
    pt: int
    pl: int
    sh: int
    sw: int
    n_o: int
    kh: int
    kw: int
    rows: int
    cols: int
    hp: int
    wp: int


@dataclass(frozen=True)
class BlockConv:
    """What :func:`block_fits` and :func:`conv_blocks` read of a convolution
    (one group, no dilation), for callers without an interpreter
    :class:`~nirc.interpreter.ops.Conv`, which has the same fields (the Speck
    simulator's integer layers): ``in2d`` ``(c, h, w)``, ``out2d`` ``(f, oh,
    ow)``, ``pads`` ``((top, bottom), (left, right))``, ``stride`` ``(y,
    x)``, ``weight4`` ``[f, c, kh, kw]``."""

    in2d: tuple[int, int, int]
    out2d: tuple[int, int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    stride: tuple[int, int]
    weight4: np.ndarray


def _block_geometry(k: Conv | BlockConv) -> _BlockGeometry:
    c, h, w = k.in2d
    _, oh, ow = k.out2d
    (pt, _), (pl, _) = k.pads
    sh, sw = k.stride
    n_o, _, kh, kw = k.weight4.shape
    rows, cols = -(-kh // sh), -(-kw // sw)
    hp = oh  # the blocks leave out rows past the output (conv_blocks)
    # cells from one row to the next: past the farthest an input reaches, and
    # past the row's outputs and the next row's left margin (the margins of
    # two rows may share cells: neither is read)
    wp = max((w - 1 + pl) // sw + 1, ow + cols - 1)
    return _BlockGeometry(c, h, w, pt, pl, sh, sw, n_o, kh, kw, rows, cols, hp, wp)


def block_fits(k: Conv | BlockConv) -> bool:
    """Whether convolution ``k``'s blocks fit :func:`pack_block`'s fields."""
    g = _block_geometry(k)
    c, sh, sw, rows, cols, n_o, hp, wp = g.c, g.sh, g.sw, g.rows, g.cols, g.n_o, g.hp, g.wp
    weights = c * sh * sw * rows * cols * n_o
    return (hp * wp + cols) * n_o < 1 << PACK_W and weights < 1 << (PACK_R - PACK_W) and rows < 1 << 7


def conv_blocks(k: Conv | BlockConv) -> ConvBlocks:
    """The blocks of convolution ``k`` (one group, no dilation)."""
    g = _block_geometry(k)
    c, h, w, pt, pl, sh, sw = g.c, g.h, g.w, g.pt, g.pl, g.sh, g.sw
    n_o, kh, kw, rows, cols, wp = g.n_o, g.kh, g.kw, g.rows, g.cols, g.wp
    _, oh, ow = k.out2d
    y, x = np.divmod(np.arange(h * w, dtype=I64), w)
    y0, py = np.divmod(y + pt, sh)
    x0, px = np.divmod(x + pl, sw)
    run = cols * n_o
    tab_w = (py * sw + px) * rows * run
    tab_r = -((py - kh) // sh)  # the rows of py's taps inside the kernel: ceil((kh - py) / sh)
    # and of those, the rows of outputs (oy = y0 - i in [0, oh)): taps of an
    # input near an edge that reach outputs the padding makes up are left out,
    # so the accumulator's rows are the output's (only columns of margin)
    skip = np.maximum(0, y0 - oh + 1)
    tab_r = np.maximum(0, np.minimum(tab_r, y0 + 1) - skip)
    tab_a = np.where(tab_r > 0, ((y0 - skip) * wp + x0) * n_o, 0)
    tab_w = tab_w + skip * run
    blk = np.zeros((c, sh, sw, rows, cols, n_o), F64)
    for a in range(sh):
        for i in range(rows):
            ky = a + sh * i
            if ky >= kh:
                continue
            for b in range(sw):
                for j in range(cols):
                    kx = b + sw * j
                    if kx < kw:
                        blk[:, a, b, i, cols - 1 - j, :] = k.weight4[:, :, ky, kx].T
    lowest = tab_a - (tab_r - 1) * wp * n_o  # every run inside the accumulator
    total = (oh * wp + cols) * n_o
    assert lowest.min() >= 0 and tab_a.max() + run <= total, "block outside its accumulator"
    chan_w = np.arange(c, dtype=I64)[:, None] * blk[0].size
    tab = pack_block(tab_a[None, :], chan_w + tab_w[None, :], tab_r[None, :]).reshape(-1)
    return ConvBlocks(
        hw=h * w, rows=rows, run=run, rstride=wp * n_o, tab_a=tab_a, tab_w=tab_w, tab_r=tab_r,
        tab=tab, weights=blk.reshape(-1), wstride=blk[0].size, out_rows=oh, rlen=ow * n_o,
        base=(cols - 1) * n_o, total=total, n_o=n_o,
    )  # fmt: skip


def compile_program(plan: Plan, exact: dict[str, bool], batch: int) -> Program | None:
    """The program of ``plan`` for a run whose weighted sums are exact where
    ``exact`` says so, or None when some node is not supported."""
    if not supported(plan):
        return None
    return _Builder(plan, exact, batch).build()


class _Builder:
    def __init__(self, plan: Plan, exact: dict[str, bool], batch: int) -> None:
        self.plan = plan
        self.exact = exact
        self.batch = batch
        self.fp = _Pool(F64)
        self.ip = _Pool(I64)
        self.val = _Space()
        self.state = _Space()
        self.code: list[list[int]] = []
        self.n_events = 0
        self.event_space = 0
        self.acc = 0
        self.zc = 0
        self.spread = -1  # ip offset of OP_POOL_BITS's table: a byte's bits, one per byte

    # --- analysis ---------------------------------------------------------------
    def build(self) -> Program:
        plan = self.plan
        self.loops = {n for seg in plan.segments if seg.cyclic for n in seg.nodes}
        self.users: dict[str, list[str]] = {n: [] for n in plan.nodes}
        for name, node in plan.nodes.items():
            for p in node.preds + node.fb_preds:
                self.users[p].append(name)
        self.out_probes = {p.node for p in plan.probes if p.state is None}
        self.out_probes |= {n for n in plan.outputs if n in plan.nodes}
        self.state_probes: dict[str, dict[str, str]] = {}
        for p in plan.probes:
            if p.state is not None:
                self.state_probes.setdefault(p.node, {})[p.state] = p.key
        self.fb_sources = {p for n in plan.nodes.values() for p in n.fb_preds}
        self.kinds = {n: _kind(plan, n) for n in plan.order}
        self._choose_fusions()
        self._make_slots()
        self._mark_needs()
        self._layout()
        self._emit()
        return self._program()

    def _choose_fusions(self) -> None:
        """Spiking layers run by OP_LAYER (fed by a dense synapse's fresh sums,
        or by a convolution's channels-last accumulator: ``fused_conv``), and
        sum pools counted from spike events."""
        plan = self.plan
        self.layer: dict[str, _LayerParams] = {}
        self.fused_conv: dict[str, str] = {}  # conv -> its layer
        self.pool_events: set[str] = set()
        for name in plan.order:
            node = plan.nodes[name]
            if self.kinds[name] != "neuron" or node.fb_preds or len(node.preds) != 1:
                continue
            params = _layer_params(node.kernel)
            if params is None or {"i", "v_pre"} & set(self.state_probes.get(name, {})):
                continue
            syn = node.preds[0]
            if self.kinds[syn] == "dense":
                self.layer[name] = params
            elif self.kinds[syn] == "conv":
                if self.users[syn] == [name] and syn not in self.out_probes | self.fb_sources:
                    self.layer[name] = params
                    self.fused_conv[syn] = name
        for name in plan.order:
            node = plan.nodes[name]
            k = node.kernel
            if self.kinds[name] != "pool" or node.fb_preds or len(node.preds) != 1:
                continue
            src = node.preds[0]
            if k.average or k.stride != k.kernel or any(k.padding):
                continue
            if self.kinds[src] != "neuron" or not (self._binary(src) or self._bounded(name)):
                continue
            self.pool_events.add(name)
        # a pool that alone reads a fused layer's channels-last spikes counts
        # them from the layer's spike bits (OP_POOL_BITS, emitted right after
        # the layer: `zc` holds them until the next layer); only a layer of
        # layer-wide parameters after a block convolution leaves bits
        # (_layer_bits; the others a byte per neuron)
        self.pool_bits: dict[str, str] = {}  # layer -> its pool
        for name in self.pool_events:
            src = plan.nodes[name].preds[0]
            syn = plan.nodes[src].preds[0] if src in self.layer else None
            if syn not in self.fused_conv or self.users[src] != [name]:
                continue
            if not _uniform(self.layer[src]) or self.layer[src].multi or not self._block(syn):
                continue
            ck = plan.nodes[syn].kernel
            kh, kw = plan.nodes[name].kernel.kernel
            if (ck.groups * ck.og) % 8 or kh * kw > 255 or src in self.out_probes | self.fb_sources:
                continue
            self.pool_bits[src] = name
        self.bit_pools = set(self.pool_bits.values())

    def _bounded(self, pool: str) -> bool:
        """A pool of a multi-spike layer's counts whose every reader sums
        exactly: the analysis that made them exact bounded the counts (their
        window's sum too, below 2**53), so the pool may add them in any order
        (as events); counts are >= 1 where they are not 0."""
        src = self.plan.nodes[pool].preds[0]
        k = self.plan.nodes[src].kernel
        users = self.users[pool]
        return bool(getattr(k, "fires", False) and users
                    and all(self.kinds[u] in ("conv", "dense") and self.exact.get(u, False)
                            for u in users))  # fmt: skip

    def _binary(self, name: str) -> bool:
        """A neuron layer whose outputs are 0 or 1 (a spiking, binary layer)."""
        k = self.plan.nodes[name].kernel
        if isinstance(k, (Membrane, Cuba)):
            return bool(k.spiking)
        return bool(k.fires and not k.multi)

    def _make_slots(self) -> None:
        """The slot of every node's output and of its summed input."""
        plan = self.plan
        self.out: dict[str, _Slot | None] = {}
        self.inp: dict[str, _Slot | None] = {}  # None: no input (zeros)
        self.sums: dict[str, list[tuple[str, bool]]] = {}  # node -> (source, feedback)
        for seg in plan.segments:
            members = set(seg.nodes)
            for name in seg.nodes:
                node = plan.nodes[name]
                kind = self.kinds[name]
                if seg.cyclic:
                    ext = [p for p in node.preds if p not in members]
                    internal = [p for p in node.preds if p in members]
                    sources = [(p, False) for p in ext + internal]
                else:
                    sources = [(p, False) for p in node.preds]
                sources += [(p, True) for p in node.fb_preds]
                if kind == "input":
                    self.inp[name] = None
                elif len(sources) == 1 and not sources[0][1]:
                    self.inp[name] = self.out[sources[0][0]]
                elif not sources:
                    self.inp[name] = None
                else:
                    self.inp[name] = _Slot(_size(node.in_shape), "sum")
                    self.sums[name] = sources
                if kind == "identity":
                    slot = self.inp[name]
                    if slot is None:  # nothing flows in: a zero value of its own
                        slot = self.inp[name] = _Slot(_size(node.in_shape), "sum")
                        self.sums[name] = []
                    self.out[name] = slot
                elif name in self.fused_conv:
                    self.out[name] = None  # only in the accumulator
                else:
                    self.out[name] = _Slot(_size(node.out_shape), kind)

    def _mark_needs(self) -> None:
        plan = self.plan
        for name in plan.order:
            kind = self.kinds[name]
            inp = self.inp[name]
            for src, _ in self.sums.get(name, []):
                self.out[src].need_dense = True
            if inp is None or kind in ("identity", "input"):
                pass
            elif kind in ("dense", "conv"):
                inp.need_events = True
                if not self.exact.get(name, False):
                    inp.need_order = True
            elif kind == "pool" and name in self.pool_events:
                inp.need_events = name not in self.bit_pools
            elif kind == "neuron" and name in self.layer:
                if self.kinds[plan.nodes[name].preds[0]] == "dense":
                    inp.need_dense = True
            else:
                inp.need_dense = True
            if name in self.out_probes or name in self.fb_sources:
                self.out[name].need_dense = True
        for name in plan.order:
            slot = self.out[name]
            if slot is None or self.kinds[name] == "identity":
                continue
            kind = self.kinds[name]
            if name in self.layer and plan.nodes[name].preds[0] in self.fused_conv:
                slot.native_order = False  # channels-last spikes
            if kind in ("dense", "conv", "pool", "scale", "threshold", "delay"):
                # these write only dense values (a pool of spike bits: events too)
                slot.need_dense |= name not in self.bit_pools
            if name in self.pool_events:
                slot.native_order = False  # windows in the order first reached
            native = kind in ("input", "neuron") or name in self.pool_events
            if slot.need_events and (not native or (slot.need_order and not slot.native_order)):
                slot.compact = True
                slot.need_dense = True
        for slot in self.inp.values():  # sums of several sources
            if slot is not None and slot.producer == "sum":
                slot.need_dense = True
                if slot.need_events:
                    slot.compact = True
        self._storage_events()

    def _storage_events(self) -> None:
        """A fused layer's spikes leave in storage (channels-last) order; when
        every reader of their events looks the index up in a table of its own
        (a block convolution, a pool of events), the tables are permuted here
        and the events keep the storage index: one dependent load less per
        spike (``_Slot.storage``)."""
        plan = self.plan
        for name in plan.order:
            slot = self.out[name]
            if name not in self.layer or plan.nodes[name].preds[0] not in self.fused_conv:
                continue
            if not slot.need_events or slot.compact:
                continue
            readers = [n for n in plan.order if self.inp[n] is slot and self.kinds[n] != "identity"]
            if all(n in self.pool_events or (self.kinds[n] == "conv" and self._block(n))
                   for n in readers):  # fmt: skip
                ck = plan.nodes[plan.nodes[name].preds[0]].kernel
                m = slot.size
                n_o = ck.groups * ck.og
                slot.storage = np.arange(m).reshape(n_o, m // n_o).T.reshape(-1)

    def _layout(self) -> None:
        seen: set[int] = set()
        for slot in list(self.out.values()) + list(self.inp.values()):
            if slot is None or id(slot) in seen:
                continue
            seen.add(id(slot))
            if slot.need_dense:
                slot.dense = self.val.take(slot.size)
            if slot.need_events:
                slot.events = self.n_events
                self.n_events += 1
                self.event_space += -self.event_space % ALIGN
                slot.event_at = self.event_space
                self.event_space += slot.size

    # --- code ---------------------------------------------------------------------
    def _op(self, *fields: int) -> None:
        row = [int(f) for f in fields]
        assert len(row) <= WIDTH
        self.code.append(row + [0] * (WIDTH - len(row)))

    def _emit(self) -> None:
        plan = self.plan
        self.records: dict[str, tuple[int, tuple[int, ...]]] = {}
        self.rec_size = 0
        self.states: list = []
        self.prev: dict[str, int] = {}
        for n in sorted(self.fb_sources):
            self.prev[n] = self.state.take(self.out[n].size)
        self.inputs: list[tuple[str, int, int]] = []
        for name in plan.outputs:
            self._record_key(name, plan.outputs[name])
        for p in plan.probes:
            if p.key not in self.records:
                self._record_key(p.key, plan.nodes[p.node].out_shape)
        for seg in plan.segments:
            for name in seg.nodes:
                self._emit_node(name)
            if seg.cyclic:
                for n in sorted(self.fb_sources & set(seg.nodes)):
                    slot = self.out[n]
                    self._op(K.OP_SAVE, slot.dense, self.prev[n], slot.size)

    def _record_key(self, key: str, shape) -> None:
        self.rec_size += -self.rec_size % ALIGN
        self.records[key] = (self.rec_size, tuple(int(d) for d in shape))
        self.rec_size += _size(shape)

    def _rec(self, name: str, state: str | None) -> int:
        """The record offset of a node's output (``state`` None) or state, or -1."""
        if state is None:
            return self.records[name][0] if name in self.out_probes else -1
        key = self.state_probes.get(name, {}).get(state)
        return -1 if key is None else self.records[key][0]

    def _emit_node(self, name: str) -> None:
        plan = self.plan
        node = plan.nodes[name]
        kind = self.kinds[name]
        k = node.kernel
        if name in self.sums:
            self._emit_sum(name)
        inp = self.inp[name]
        out = self.out[name]
        if kind == "input":  # dtype and column: set per run (Program.run)
            self.inputs.append((name, len(self.code), out.size))
            self._op(K.OP_INPUT, 0, 0, out.size, out.dense,
                     out.events if out.need_events and not out.compact else -1, out.event_at)  # fmt: skip
        elif kind == "dense":
            bias = -1 if k.bias is None else self.fp.add(k.bias)
            f32 = float32_weights(k.weight_t)  # half the bytes to read, the same sums
            w = 2 * self.fp.add(packed32(k.weight_t)) if f32 else self.fp.add(k.weight_t)
            lead = _size(node.in_shape) // k.fan_in
            self._op(K.OP_DENSE, inp.events, inp.event_at, k.fan_in, k.weight_t.shape[1], lead, w,
                     out.dense, bias, int(f32))  # fmt: skip
        elif kind == "conv":
            if name not in self.fused_conv:
                self._emit_conv(name, -1 if out is None else out.dense)
            # a fused convolution runs right before its layer (they share `acc`)
        elif kind == "pool":
            if name in self.bit_pools:
                pass  # emitted with its layer
            elif name in self.pool_events:
                self._emit_pool_events(name)
            else:
                c, h, w = node.in_shape
                (kh, kw), (sh, sw), (ph, pw) = k.kernel, k.stride, k.padding
                _, oh, ow = node.out_shape
                self._op(K.OP_POOL, inp.dense, out.dense, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow,
                         int(k.average))  # fmt: skip
        elif kind in ("scale", "threshold"):
            value = k.scale if kind == "scale" else k.threshold
            at = self.fp.add(np.broadcast_to(np.asarray(value, F64), node.in_shape))
            self._op(K.OP_SCALE if kind == "scale" else K.OP_THRESHOLD, inp.dense, out.dense,
                     out.size, at)  # fmt: skip
        elif kind == "delay":
            steps = self.ip.add(k.steps)
            ring = self.state.take(k.depth * out.size)
            self._op(K.OP_DELAY, inp.dense, out.dense, out.size, steps, ring, k.depth)
        elif kind == "neuron":
            if name in self.layer:
                self._emit_layer(name)
                if name in self.pool_bits:
                    self._emit_pool_bits(self.pool_bits[name])
            else:
                self._emit_neuron(name)
        if out is not None and out.compact and kind != "identity":
            self._op(K.OP_COMPACT, out.dense, out.size, out.events, out.event_at)
        rec = self._rec(name, None)
        if rec >= 0:
            self._op(K.OP_RECORD, out.dense, rec, out.size)

    def _emit_sum(self, name: str) -> None:
        slot = self.inp[name]
        pairs = []
        for src, fb in self.sums[name]:
            pairs += [1, self.prev[src]] if fb else [0, self.out[src].dense]
        at = self.ip.add(np.array(pairs, I64)) if pairs else 0
        self._op(K.OP_SUM, slot.dense, slot.size, len(self.sums[name]), at)
        if slot.compact:
            self._op(K.OP_COMPACT, slot.dense, slot.size, slot.events, slot.event_at)

    def _emit_conv(self, name: str, dst: int) -> tuple[int, int]:
        """The convolution's op; returns the ``ip`` offset of its padded
        accumulator's geometry (OP_CONV_BLOCK), or -1 (OP_CONV), and the
        accumulator elements it uses."""
        node = self.plan.nodes[name]
        k = node.kernel
        inp = self.inp[name]
        c = k.in2d[0]
        if self._block(name):
            b = conv_blocks(k)
            self.acc = max(self.acc, b.total)
            geo = self.ip.add(np.array([b.out_rows, b.rlen, b.rstride, b.base, b.total, b.n_o], I64))
            bias = -1 if k.bias is None else self.fp.add(k.bias[:, 0])
            tab = b.tab if inp.storage is None else b.tab[inp.storage]
            self._op(K.OP_CONV_BLOCK, inp.events, inp.event_at, self.ip.add(tab),
                     2 * self.fp.add(packed32(b.weights)), b.run, b.rstride, geo, bias if dst >= 0 else -1,
                     dst)  # fmt: skip
            return geo, b.total
        chan = self.ip.add(np.repeat(np.arange(c, dtype=I64), k.in2d[1] * k.in2d[2]))
        hw, start, segs, wcl, wstride, cg, og, n_o = k.jit_segments()
        cells = _size(node.out_shape) // n_o
        self.acc = max(self.acc, n_o * cells)
        gbase = self.ip.add((np.arange(c, dtype=I64) // cg) * og)
        bias = -1 if k.bias is None else self.fp.add(k.bias[:, 0])
        self._op(K.OP_CONV, inp.events, inp.event_at, hw, self.ip.add(start), self.ip.add(segs),
                 self.fp.add(wcl), wstride, chan, gbase, n_o, cells,
                 bias if dst >= 0 else -1, dst)  # fmt: skip
        return -1, n_o * cells

    def _block(self, name: str) -> bool:
        """Whether a convolution runs as OP_CONV_BLOCK: exact sums (so that
        the order of additions and the zero weights of the padded blocks
        cannot change them), one group, no dilation, output channels a
        multiple of 8 (whole 8-wide runs), strides no larger than the kernel
        (else most of a block would be zeros), tables that fit
        :func:`pack_block`, float32 weights (read as such: exact sums of
        weights wider than float32 are rare, and a second compiled copy of
        the event loops would cost the first compile 15-20 s)."""
        k = self.plan.nodes[name].kernel
        _, _, kh, kw = k.weight4.shape
        return (
            BLOCKS and self.exact.get(name, False) and k.groups == 1
            and tuple(k.dilation) == (1, 1) and k.og % 8 == 0
            and k.stride[0] <= kh and k.stride[1] <= kw and block_fits(k)
            and float32_weights(k.weight4)
        )  # fmt: skip

    def _emit_pool_bits(self, name: str) -> None:
        """OP_POOL_BITS of pool ``name``, right after its layer's OP_LAYER."""
        node = self.plan.nodes[name]
        c, h, w = node.in_shape
        kh, kw = node.kernel.kernel
        _, ph, pw = node.out_shape
        out = self.out[name]
        n = out.size
        nbytes = -(-h * w * c // 8)  # the layer's bits, in whole words
        cnt = -(-(nbytes + 8) // 64) * 64  # then the counts
        self.zc = max(self.zc, cnt + -(-n // 64) * 64)
        storage = np.arange(n).reshape(c, ph * pw).T.reshape(-1)  # (window, channel) -> layer
        if self.spread < 0:
            b = np.arange(256, dtype=np.uint64)
            bytes8 = sum(((b >> np.uint64(i)) & np.uint64(1)) << np.uint64(8 * i) for i in range(8))
            self.spread = self.ip.add(bytes8.astype(I64))
        native = out.need_events and not out.compact
        self._op(K.OP_POOL_BITS, w, c // 8, kh, kw, ph, pw, cnt, n, self.spread,
                 self.ip.add(storage), out.events if native else -1, out.event_at,
                 out.dense if out.need_dense else -1)  # fmt: skip

    def _emit_pool_events(self, name: str) -> None:
        node = self.plan.nodes[name]
        k = node.kernel
        c, h, w = node.in_shape
        kh, kw = k.kernel
        _, ph, pw = node.out_shape
        y, x = np.divmod(np.arange(h * w), w)
        py, px = y // kh, x // kw
        cell = np.where((py < ph) & (px < pw), py * pw + px, -1)
        table = np.where(cell >= 0, np.arange(c)[:, None] * (ph * pw) + cell[None, :], -1)
        inp, out = self.inp[name], self.out[name]
        native = out.need_events and not out.compact
        table = table.reshape(-1) if inp.storage is None else table.reshape(-1)[inp.storage]
        self._op(K.OP_POOL_EVENTS, inp.events, inp.event_at, self.ip.add(table), out.dense, out.size,
                 out.events if native else -1, out.event_at if native else 0)  # fmt: skip

    def _state(self, kernel, attr: str, m: int, perm=None) -> int:
        off = self.state.take(m)
        self.states.append((kernel, attr, off, m, perm))
        return off

    def _emit_layer(self, name: str) -> None:
        node = self.plan.nodes[name]
        k = node.kernel
        m = _size(node.out_shape)
        syn = node.preds[0]
        out = self.out[name]
        lp = self.layer[name]
        perm = None
        bias = -1
        geo = -1
        counts_at = 0  # where a multi-spike layer's counts wait in `acc` (the kernel's c0)
        if syn in self.fused_conv:
            ck = self.plan.nodes[syn].kernel
            n_o = ck.groups * ck.og
            perm = np.arange(m).reshape(n_o, m // n_o).T.reshape(-1)  # storage -> layer index
            geo, counts_at = self._emit_conv(syn, -1)
            if ck.bias is not None:
                bias = self.fp.add(np.tile(ck.bias[:, 0], m // n_o))
        mode = K.L_SUB if lp.subtract else 0
        if lp.multi:
            mode |= K.L_MULTI | (K.L_GE if lp.ge else 0) | (K.L_CAP if lp.cap is not None else 0)
            self.acc = max(self.acc, counts_at + m)
            if bias < 0:
                bias = self.fp.add(np.zeros(m))  # _count_rows always adds one
        cap = np.array([0.0 if lp.cap is None else lp.cap])
        uniform = _uniform(lp)
        if uniform:
            params = self.fp.add(np.concatenate([np.array(lp[:5], F64), cap]))
        else:
            cols = [jit.full(p, m) for p in lp[:5]]
            if perm is not None:
                cols = [a[perm] for a in cols]
            params = self.fp.add(np.concatenate(cols + [cap]))
        sv = self._state(k, "v", m, perm)
        self.zc = max(self.zc, m + 64)
        native = out.need_events and not out.compact
        at_perm = -1 if perm is None else self.ip.add(perm)
        self._op(K.OP_LAYER, m, int(perm is not None),
                 -1 if perm is not None else self.inp[name].dense, bias, int(uniform), params,
                 mode, sv, at_perm, out.events if native else -1, out.event_at, out.dense,
                 self._rec(name, "v"), geo,
                 -1 if out.storage is not None else at_perm)  # events' index map  # fmt: skip

    def _emit_neuron(self, name: str) -> None:
        node = self.plan.nodes[name]
        k = node.kernel
        m = _size(node.out_shape)
        cyclic = name in self.loops
        big = m * self.batch >= MASK_MIN
        inp, out = self.inp[name], self.out[name]
        one, zero = 1.0, 0.0
        flags = 0
        mode = K.R_ZERO
        cs = ds = vmin = one
        cap = 0.0
        if isinstance(k, (Membrane, Cuba)):
            spiking = k.spiking
            if isinstance(k, Cuba):
                flags |= K.F_SYN
                cs, ds, cm, km = k.c, k.ds, k.ci, k.kv
            else:
                cm, km = k.c, k.k
            d = k.d
            thr = k.thr if spiking else one
            vr = k.v_reset if spiking else zero
            if spiking:
                flags |= K.F_FIRES
                if k.reset_mode == "zero":
                    if _is(vr, 0.0) and (cyclic or big):
                        flags |= K.F_RESET_MUL  # v * (not z), as the oracle's form there
                else:
                    mode = K.R_SUB_ALWAYS if cyclic or big else K.R_SUB_WHERE
        else:  # an snn neuron
            if k.syn:
                flags |= K.F_SYN | (K.F_SAME if k.same else 0)
                cs, ds = k.cs, k.ds
            cm, km, d = k.cm, k.km, k.d
            if _is(d, 0.0):
                flags |= K.F_D_ZERO
            thr, vr = (k.thr, k.v_reset) if k.fires else (one, zero)
            if k.fires:
                flags |= K.F_FIRES | (K.F_GE if k.ge else 0) | (K.F_MULTI if k.multi else 0)
                if k.cap is not None:
                    flags |= K.F_CAP
                    cap = float(k.cap)
                mode = getattr(K, SNN_RESETS[k.reset_mode])
                if mode == K.R_ZERO and _is(vr, 0.0):
                    flags |= K.F_RESET_MUL
                if k.v_min is not None:
                    flags |= K.F_VMIN
                    vmin = k.v_min
        if _is(km, 0.0):  # the oracle skips adding it: add -0.0, which changes nothing
            km = -0.0
        params = (cs, ds, cm, km, d, thr, vr, vmin)
        pre = self._rec(name, "v_pre")
        if (
            all(isinstance(p, float) for p in params) and pre < 0
            and mode in (K.R_ZERO, K.R_SUB_ALWAYS, K.R_SUB_WHERE)
        ):  # fmt: skip
            flags |= K.F_UNIFORM
            p0 = self.fp.add(np.array(params + (cap,), F64))
        else:
            p0 = self.fp.add(np.concatenate([jit.full(p, m) for p in params] + [np.array([cap])]))
        sv = self._state(k, "v", m)
        # every region exists: scratch for the unused ones (a branch-free loop)
        si = self._state(k, "i", m) if flags & K.F_SYN else self.state.take(m)
        sl = self._state(k, "last", m) if hasattr(k, "last") else self.state.take(m)
        src = self._zeros(m) if inp is None else inp.dense
        dst = out.dense if out.dense >= 0 else self.val.take(m)
        native = out.need_events and not out.compact
        self._op(K.OP_NEURON, m, src, dst, out.events if native else -1, out.event_at, flags, p0,
                 sv, si, sl, self._rec(name, "v"), self._rec(name, "i"), pre, mode,
                 self.val.take(m))  # fmt: skip

    def _zeros(self, m: int) -> int:
        """A region of ``val`` that nothing writes (zeros), of at least ``m``."""
        if getattr(self, "_zero_at", None) is None or self._zero_size < m:
            self._zero_at, self._zero_size = self.val.take(m), m
        return self._zero_at

    def _program(self) -> Program:
        code = np.array(self.code, I64).reshape(-1, WIDTH)
        sizes = np.array(
            [max(self.val.size, 1), max(self.event_space, 1), max(self.n_events, 1),
             max(self.acc, 1), max(self.zc, 8)], I64,
        )  # fmt: skip
        return Program(
            code=code,
            fp=self.fp.array(),
            ip=self.ip.array(),
            sizes=sizes,
            n_state=self.state.size,
            inputs=self.inputs,
            records=self.records,
            rec_size=self.rec_size,
            states=self.states,
        )
