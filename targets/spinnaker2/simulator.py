"""SpiNNaker2 as py-spinnaker2's Brian2 backend computes it, vectorized over a batch.

The semantics (per chip step, every population, float32 state, integer
weights; ``X`` is the sum of the weights of the spikes that arrive this step:
a spike emitted at step ``t`` through a synapse of delay ``d`` arrives at step
``t + 1 + d``)::

    lif_no_delay, lif, lif_conv2d:
        v = alpha_decay * v + X + i_offset
    lif_curr_exp_no_delay, lif_curr_exp:
        I = exc_decay * I + X                (exc_decay == inh_decay here)
        v = alpha_decay * v + I + i_offset   (v = v_reset during t_refrac steps
                                              after a spike; I keeps integrating)
    spike where v > threshold; then v = v_reset (reset_to_v_reset) or
    v -= threshold (reset_by_subtraction); the recorded v is after the reset.
    spike_list: the given spike steps (an input element with an event count c
    fires its copies 0..c-1 in that step; a bias source fires every step from
    its start).

What is verified and what is modelled: ``lif_no_delay`` reproduces the NIR
paper's SpiNNaker2 trace (py-spinnaker2's Brian2 backend; spikes at 460, 510,
710, 760 and the voltage to 2e-7, tests/test_spinnaker2_simulator.py).
Where ``i_offset`` enters relative to the decay, the order of the current
and voltage updates of the current-based models, their refractory rule, the
delayed models' ring buffer and the MLA arithmetic of ``lif_conv2d`` (taken
here as the exact integer convolution) are modelled from their description,
not checked against the vendor's code. Each is tested against steps computed
by hand.

Speed: populations are simulated in the order of the strongly connected
components of the projection graph; a component's input from outside is one
matrix product (or one convolution) over all steps and samples, and only
the loop over time inside a component is sequential. With numba (the
``fast`` extra) a population without recurrent synapses runs compiled
(:mod:`.kernels`): its dense projections from sparsely spiking sources are
summed from the sources' spike events a step at a time, right before its
neurons use them (four weight rows at a time, int16 weights summed in
int32: exact, and a quarter of the memory traffic), and the batch is split
over the idle cores. Spikes are kept as uint8 (0 or 1) and handed on as
events. Convolutions are the reference interpreter's (:func:`_conv`), and a
large batch runs a block of samples at a time (:meth:`Simulator.run`).
Every path gives the numpy loop's spikes and voltages bit for bit
(tests/test_spinnaker2_kernels.py): the weights are integers, and sums of
integers below 2**24 are exact in float32 in any order.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from nirc.diagnostics import NircError

from .network import BIAS, INPUT, Network, Population, Projection, copy_layout, sum_copies

F32 = np.float32
SPIKES = np.uint8  # spikes are binary on the chip (an input element's events go to its copies)
DENSE_LIMIT = 1 << 25  # matrix entries above which a projection runs sparse
CONV_BLOCK = 1 << 21  # float64 outputs of one block of a convolution's samples
SAMPLE_BLOCK = 1 << 22  # drive values (steps x samples x neurons) of one block of samples
JIT_ELEMENTS = 1 << 18  # steps x batch x neurons from which the compiled loop repays numba
SPARSE = 0.2  # spikes per neuron and step below which synapses are event-driven (compiled)
PARALLEL_WORK = 1 << 22  # neuron steps from which a batch is split over idle cores

CURRENT_MODELS = ("lif_curr_exp_no_delay", "lif_curr_exp")
VERIFIED_MODELS = ("spike_list", "lif_no_delay")
MODELLED_MODELS = ("lif_conv2d", "lif_curr_exp_no_delay", "lif", "lif_curr_exp")


@dataclass(eq=False)
class _Synapses:
    """A projection prepared for the simulation."""

    projection: Projection
    pre: Population
    post: Population
    coo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # dense: (pre, post, weight)
    layout: tuple[int, int, int] | None = None  # lateral: (first axis, copies, rest)
    lateral: np.ndarray | None = None  # lateral: float32 weight per element [first, 1, rest]
    starts: np.ndarray | None = None  # sparse, by presynaptic neuron
    targets: np.ndarray | None = None
    values: np.ndarray | None = None
    delays: tuple[int, ...] = (0,)
    _dense: np.ndarray | None = None
    _conv_op: object | None = None  # a convolution's nirc.interpreter.ops.Conv, made on first use

    def conv_op(self):
        """The projection's convolution (pooled input, padding and stride) as
        the reference interpreter's :class:`~nirc.interpreter.ops.Conv`."""
        if self._conv_op is None:
            from nirc.graph import Node
            from nirc.interpreter.ops import Conv

            g = self.projection.conv
            assert g is not None
            params = {"weight": np.asarray(self.projection.kernel, np.float64),
                      "stride": np.array([g.stride_y, g.stride_x]), "padding": np.zeros(2, int),
                      "dilation": np.ones(2, int), "groups": np.array(1)}  # fmt: skip
            op = Conv(Node(self.projection.name, "Conv2d", params),
                      (g.in_channels, *g.pooled), tuple(g.out_shape))  # fmt: skip
            op.pads = ((g.pad_top, g.pad_bottom), (g.pad_left, g.pad_right))  # may be uneven
            self._conv_op = op
        return self._conv_op

    @property
    def is_dense(self) -> bool:
        """Whether the synapses are summed as a dense matrix [pre, post]."""
        return self.coo is not None

    @property
    def dense(self) -> np.ndarray:
        """The dense matrix [pre, post] float32 (repeated pairs added), made
        on first use."""
        if self._dense is None:
            pre, post, w = self.coo  # type: ignore[misc]
            n_pre, n_post = self.projection.weights.shape[1], self.projection.weights.shape[0]
            key = pre * n_post + post
            flat = np.zeros(n_pre * n_post, F32)
            flat[key] = w
            if np.count_nonzero(flat) != np.count_nonzero(w):  # repeated pairs: add them
                flat = np.bincount(key, weights=w, minlength=n_pre * n_post).astype(F32)
            self._dense = flat.reshape(n_pre, n_post)
        return self._dense


def _prepare(pr: Projection, pre: Population, post: Population) -> list[_Synapses]:
    """One :class:`_Synapses` per distinct delay of the projection."""
    out = []
    delays = pr.delays
    uniform = delays is None or not delays.size or bool(np.all(delays == delays.flat[0]))
    for d in ([0 if delays is None or not delays.size else int(delays.flat[0])] if uniform
              else np.unique(delays)):  # fmt: skip
        s = _Synapses(pr, pre, post, delays=(int(d),))
        pick = True if uniform else delays == d
        w = pr.weights if uniform else pr.weights.with_data(np.where(pick, pr.weights.data, 0.0))
        lateral = _lateral_weights(w, pre, post)
        if lateral is not None:
            shape = tuple(post.shape) or (1,)
            rest = int(np.prod(shape[1:], dtype=np.int64))
            s.layout = (shape[0], post.copies, rest)
            s.lateral = lateral.reshape(shape[0], 1, rest)
            out.append(s)
            continue
        if pr.conv is not None and uniform:
            out.append(s)
            continue
        n_pre, n_post = pr.weights.shape[1], pr.weights.shape[0]
        # dense when the matrix is small or not too sparse for a matrix product
        if n_pre * n_post <= DENSE_LIMIT and (n_pre * n_post <= 1 << 16
                                              or w.nnz >= 0.02 * n_pre * n_post):  # fmt: skip
            s.coo = (w.col, w.row, w.data)
        else:
            starts, rows, data = w.by_column()
            s.starts, s.targets, s.values = starts, rows, data.astype(F32)
        out.append(s)
    return out


def _lateral_weights(w, pre: Population, post: Population) -> np.ndarray | None:
    """The weight per element when ``w`` connects every copy of each element
    to every other copy of it, one weight per element (the lateral synapses
    of multi-spike copies; see :mod:`.quantize`), else None."""
    k = post.copies
    if k < 2 or pre.size != post.size or pre.copies != k or tuple(pre.shape) != tuple(post.shape):
        return None
    if w.nnz != post.elements * k * (k - 1):
        return None
    lay = copy_layout(post.shape, k)
    element = np.empty(post.size, np.int64)
    element[lay.reshape(-1)] = np.repeat(np.arange(post.elements), k)
    if np.any(element[w.row] != element[w.col]) or np.any(w.row == w.col):
        return None
    per = np.zeros(post.elements)
    per[element[w.row]] = w.data
    if not np.array_equal(per[element[w.row]], w.data):
        return None
    return per.astype(F32)


def _apply(s: _Synapses, spikes: np.ndarray) -> np.ndarray:
    """The summed weights ``[N, post]`` of ``spikes`` ``[N, pre]`` (counts)."""
    pr = s.projection
    if s.is_dense:
        n = spikes.size
        big = n * s.dense.shape[1] >= JIT_ELEMENTS * 64
        sample = spikes[: max(1, min(spikes.shape[0], 4096))]
        if _jit(big) is not None and np.count_nonzero(sample) < SPARSE * sample.size:
            from . import kernels  # sparse activity: each spike adds its synapses

            out = np.zeros((spikes.shape[0], s.dense.shape[1]), F32)
            kernels.scatter_rows(np.ascontiguousarray(spikes), s.dense, out)
            return out
        return spikes.astype(F32) @ s.dense
    if s.lateral is not None:  # each copy gets w * (spikes of the other copies of its element)
        d0, k, rest = s.layout  # copies along the first axis: a [N, d0, K, R] view
        x = spikes.reshape(spikes.shape[0], d0, k, rest)
        y = s.lateral * (x.sum(axis=2, keepdims=True, dtype=F32) - x)
        return y.reshape(spikes.shape[0], -1)
    if pr.conv is not None:
        return _conv(s, spikes)
    n, n_post = spikes.shape[0], pr.weights.shape[0]
    out = np.zeros((n, n_post), F32)
    sample, pre = np.nonzero(spikes)
    if sample.size == 0:
        return out
    counts = np.diff(s.starts)[pre]
    rep = np.repeat(np.arange(sample.size), counts)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = s.starts[pre][rep] + offs
    flat = sample[rep] * n_post + s.targets[idx]
    vals = s.values[idx] * spikes[sample[rep], pre[rep]].astype(F32)
    out.reshape(-1)[:] = np.bincount(flat, weights=vals, minlength=n * n_post).astype(F32)
    return out


def _conv(s: _Synapses, spikes: np.ndarray) -> np.ndarray:
    """A Conv2DProjection: sum-pool (counts), pad, cross-correlate, by the
    reference interpreter's convolution (:class:`nirc.interpreter.ops.Conv`:
    spike-driven where the input is sparse, im2col and BLAS where it is not),
    in float64, which is exact on these integers (float32 sums of integers
    below 2**24, what the chip's sums are, are the same numbers); a block of
    samples at a time, into the float32 result. In place of a float32 im2col
    of its own, whose layout copies cost 5-20x the arithmetic."""
    pr = s.projection
    g = pr.conv
    assert g is not None and pr.kernel is not None
    n = spikes.shape[0]
    x = spikes.reshape(n, g.in_channels, g.in_height, g.in_width)
    top = int(spikes.max(initial=0)) * g.pool_y * g.pool_x  # the largest input count
    if g.pool_y > 1 or g.pool_x > 1:
        ph, pw = g.pooled
        pooled = np.zeros((n, g.in_channels, ph, pw), np.uint8 if top <= 255 else np.int64)
        for dy in range(g.pool_y):
            for dx in range(g.pool_x):
                pooled += x[:, :, dy : ph * g.pool_y : g.pool_y, dx : pw * g.pool_x : g.pool_x]
        x = pooled
    op = s.conv_op()
    return op.apply_in_blocks(x, F32, exact=op.exact_for(top), block=CONV_BLOCK).reshape(n, -1)


class Simulator:
    """Runs an integer :class:`~.network.Network` (see the module docstring)."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.by_name = {p.name: p for p in net.populations}
        self.synapses: list[_Synapses] = []
        self._stacks: dict[tuple[int, ...], np.ndarray] = {}
        for pr in net.projections:
            self.synapses += _prepare(pr, self.by_name[pr.pre], self.by_name[pr.post])
        # populations some dense projection reads (their events may be wanted)
        self._dense_sources = {s.pre.name for s in self.synapses if s.is_dense}
        g = nx.DiGraph()
        g.add_nodes_from(p.name for p in net.populations)
        g.add_edges_from((s.pre.name, s.post.name) for s in self.synapses)
        cond = nx.condensation(g)
        order = list(nx.lexicographical_topological_sort(
            cond, key=lambda c: min(self._index(n) for n in cond.nodes[c]["members"])))  # fmt: skip
        self.components = [
            sorted(cond.nodes[c]["members"], key=self._index) for c in order
        ]  # fmt: skip

    def _index(self, name: str) -> int:
        return next(i for i, p in enumerate(self.net.populations) if p.name == name)

    def run(
        self,
        inputs: Mapping[str, np.ndarray],
        steps: int,
        *,
        record_v: tuple[str, ...] = (),
        given: Mapping[str, np.ndarray] | None = None,
        keep: Collection[str] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Run ``steps`` chip steps on ``{input population: [T, B, *shape]}``
        event counts (zero after their T). Returns (spikes by population
        [steps, B, n] uint8 (0 or 1), voltages by population [steps, B, n]
        float32 for ``record_v``).
        ``given``: spikes of populations taken as they are instead of
        simulated (a component all of whose members are given is skipped).
        ``keep``: the populations whose spikes are returned (None: all); the
        others are still simulated, a block of samples at a time, but not
        kept for the whole run (the calibration search scores a candidate by
        its outputs alone).

        Samples are independent: a large batch runs a block of samples at a
        time (:data:`SAMPLE_BLOCK` values of the largest population's drive
        per block), so that the whole-run arrays of every population are not
        allocated at once (the calibration search of a digits CNN: 2.5 GB and
        a third of its time in page faults; now 0.73 GB). The spikes of
        populations taken from ``given`` are returned as given, not copied
        block by block (the calibration search of the N-MNIST CNN on 256
        samples of 100 steps: 13.1 -> 9.3 s of its 62-71 s in this method's
        own copies)."""
        batch = next(iter(inputs.values())).shape[1] if inputs else 1
        largest = max((p.size for p in self.net.populations), default=1)
        per = max(1, SAMPLE_BLOCK // max(1, steps * largest))
        given = dict(given or {})
        taken = self._taken(given, record_v)
        if batch <= per:
            s_all, v_all = self._run_block(inputs, steps, record_v, given, taken)
            return {k: a for k, a in s_all.items() if keep is None or k in keep}, v_all
        spikes: dict[str, np.ndarray] = {}
        volts: dict[str, np.ndarray] = {}
        for b0 in range(0, batch, per):
            pick = slice(b0, min(batch, b0 + per))
            part = {k: np.asarray(v)[:, pick] for k, v in inputs.items()}
            fixed = {k: v[:, pick] for k, v in given.items()}
            s_b, v_b = self._run_block(part, steps, record_v, fixed, taken)
            for out, got in ((spikes, s_b), (volts, v_b)):
                for k, a in got.items():
                    if out is spikes and keep is not None and k not in keep:
                        continue
                    if out is spikes and k in taken:
                        out[k] = given[k]
                        continue
                    if k not in out:
                        out[k] = np.empty((a.shape[0], batch, *a.shape[2:]), a.dtype)
                    out[k][:, pick] = a
        return spikes, volts

    def _taken(self, given: Mapping[str, np.ndarray], record_v) -> set[str]:
        """The populations a run takes from ``given`` instead of simulating
        them: every member of their component given, none recorded."""
        taken: set[str] = set()
        for comp in self.components:
            pops = [n for n in comp if self.by_name[n].role not in (INPUT, BIAS)]
            if pops and all(n in given and n not in record_v for n in pops):
                taken.update(pops)
        return taken

    def _run_block(self, inputs, steps: int, record_v, given: dict, taken: set[str]):
        """:meth:`run` on one block of samples (``given`` a fresh dict, the
        populations ``taken`` from it)."""
        batch = next(iter(inputs.values())).shape[1] if inputs else 1
        spikes: dict[str, np.ndarray] = {}
        volts: dict[str, np.ndarray] = {}
        for p in self.net.populations:
            if p.role == INPUT:  # copy j of an element fires when its count exceeds j
                a = np.asarray(inputs[p.name]).reshape(inputs[p.name].shape[0], batch, -1)[:steps]
                s = np.zeros((steps, batch, p.size), SPIKES)
                if p.copies == 1:
                    s[: a.shape[0]] = a
                else:
                    lay = p.layout()
                    for j in range(p.copies):
                        s[: a.shape[0], :, lay[:, j]] = a > j
                spikes[p.name] = s
            elif p.role == BIAS:
                s = np.zeros((steps, batch, p.size), SPIKES)
                s[max(0, p.start) :] = 1
                spikes[p.name] = s
        events: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for comp in self.components:
            pops = [self.by_name[n] for n in comp if self.by_name[n].role not in (INPUT, BIAS)]
            if not pops:
                continue
            if all(p.name in taken for p in pops):
                for p in pops:
                    spikes[p.name] = given[p.name]
                continue
            members = {p.name for p in pops}
            inner, outer = [], []
            for s in self.synapses:
                if s.post.name in members:
                    (inner if s.pre.name in members else outer).append(s)
            # one population without recurrent synapses: compiled when it repays
            # loading numba (or numba is loaded already), its dense projections
            # from sparse sources summed inside the compiled loop
            big = steps * batch * pops[0].size >= JIT_ELEMENTS
            # (its multi-spike copies' lateral synapses are summed inside the loop too)
            lateral = len(inner) == 1 and inner[0].lateral is not None
            compiled = len(pops) == 1 and (not inner or lateral) and _jit(big) is not None
            fused = []
            if compiled and not inner:
                fused = [s for s in outer if s.is_dense and 1 + s.delays[0] < steps
                         and _sparse(s.pre.name, spikes, events)]  # fmt: skip
            drive = {p.name: None if compiled and len(fused) == len(outer)
                     else np.zeros((steps, batch, p.size), F32) for p in pops}  # fmt: skip
            inside = {id(s) for s in fused}
            for s in outer:
                d = 1 + s.delays[0]
                if d < steps and id(s) not in inside:
                    src = spikes[s.pre.name][: steps - d]
                    x = _apply(s, src.reshape(-1, src.shape[-1])).reshape(steps - d, batch, -1)
                    drive[s.post.name][d:] += x
            if compiled:
                self._compiled(pops[0], drive[pops[0].name], fused, spikes, volts, events, steps,
                               batch, record_v, inner[0] if inner else None)  # fmt: skip
            else:
                self._loop(pops, drive, inner, spikes, volts, steps, batch, record_v)
        return spikes, volts

    @staticmethod
    def _events(name: str, spikes, events) -> tuple[np.ndarray, np.ndarray]:
        """The spikes of population ``name`` as events (see :mod:`.kernels`)."""
        if name not in events:
            from . import kernels

            a = np.ascontiguousarray(spikes[name], SPIKES)
            counts = bool(a.size and a.max() > 1)
            events[name] = _by_samples(lambda b0, b1: kernels.events_of(a, counts, b0, b1),
                                       a.shape[1], a.size)  # fmt: skip
        return events[name]

    def _loop(self, pops, drive, inner, spikes, volts, steps, batch, record_v) -> None:
        state = {}
        for p in pops:
            n = p.size
            st = {
                "v": np.broadcast_to(p.param("v_init"), (batch, n)).astype(F32),
                "alpha": p.param("alpha_decay", 1.0),
                "thr": p.param("threshold", np.inf),
                "off": p.param("i_offset"),
                "v_reset": p.param("v_reset"),
                "subtract": p.params.get("reset", "reset_to_v_reset") == "reset_by_subtraction",
                "current": p.model in CURRENT_MODELS,
            }
            if st["current"]:
                st["decay"] = p.param("exc_decay")
                st["i"] = np.zeros((batch, n), F32)
                st["refrac"] = int(p.params.get("t_refrac", 0) or 0)
                st["count"] = np.zeros((batch, n), np.int32)
            spikes[p.name] = np.zeros((steps, batch, n), SPIKES)
            if p.name in record_v:
                volts[p.name] = np.zeros((steps, batch, n), F32)
            state[p.name] = st
        for t in range(steps):
            for p in pops:
                st = state[p.name]
                x = drive[p.name][t]
                for s in inner:
                    if s.post is p and t - 1 - s.delays[0] >= 0:
                        x = x + _apply(s, spikes[s.pre.name][t - 1 - s.delays[0]])
                v = st["v"]
                if st["current"]:
                    st["i"] = st["decay"] * st["i"] + x
                    new = st["alpha"] * v + st["i"] + st["off"]
                    if st["refrac"]:
                        held = st["count"] > 0
                        new = np.where(held, st["v_reset"], new).astype(F32)
                        st["count"] = np.maximum(st["count"] - 1, 0)
                    v = new
                else:
                    v = st["alpha"] * v + x + st["off"]
                fired = v > st["thr"]
                if st["current"] and st["refrac"]:
                    fired &= ~held
                    st["count"][fired] = st["refrac"]
                if st["subtract"]:
                    v = np.where(fired, v - st["thr"], v).astype(F32)
                else:
                    v = np.where(fired, st["v_reset"], v).astype(F32)
                st["v"] = v
                spikes[p.name][t] = fired
                if p.name in volts:
                    volts[p.name][t] = v

    def _compiled(self, p, drive, fused, spikes, volts, events, steps, batch, record_v,
                  lateral: _Synapses | None = None) -> None:  # fmt: skip
        """:meth:`Simulator._loop` of one population without recurrent synapses
        (or only its copies' ``lateral`` ones), compiled (the same numbers):
        ``drive`` [steps, B, n] (or None) plus the projections ``fused`` summed
        from their sources' events a step at a time
        (:func:`kernels.dense_layer`). Its spikes are kept as events too when a
        dense projection reads them. The paper's N-MNIST CNN read as Sinabs,
        whose multi-spike layers are 8 copies with lateral synapses, ran them
        in the numpy loop: 11 s of its 55 s calibration search."""
        from . import kernels

        current = p.model in CURRENT_MODELS
        n = p.size
        v = np.array(np.broadcast_to(p.param("v_init"), (batch, n)), F32)  # a writable copy
        spikes[p.name] = out = np.zeros((steps, batch, n), SPIKES)
        rec = p.name in record_v
        vs = np.zeros((steps, batch, n) if rec else (1, 1, n), F32)
        want = p.name in self._dense_sources
        params = (v, _c(p.param("alpha_decay", 1.0)), _c(p.param("threshold", np.inf)),
                  _c(p.param("i_offset")), _c(p.param("v_reset")),
                  p.params.get("reset", "reset_to_v_reset") == "reset_by_subtraction", current,
                  _c(p.param("exc_decay")), int(p.params.get("t_refrac", 0) or 0) if current else 0,
                  out, vs, rec, want)  # fmt: skip
        if not fused:
            # a population nothing projects to still runs on its offset and decay
            d = np.zeros((steps, batch, n), F32) if drive is None else np.ascontiguousarray(drive, F32)
            lat, shape = np.zeros(0, F32), np.zeros(4, np.int64)
            if lateral is not None:
                d0, k, rest = lateral.layout  # type: ignore[misc]
                lat = _c(np.broadcast_to(lateral.lateral, (d0, k, rest)).reshape(-1))
                shape = np.array([d0, k, rest, lateral.delays[0]], np.int64)

            def part(b0: int, b1: int):
                return kernels.neuron_loop(d, *params, lat, shape, b0, b1)
        else:
            srcs = [self._events(s.pre.name, spikes, events) for s in fused]
            ptr_all = np.empty((len(fused), steps * batch + 1), np.int64)
            base = 0
            for g, (ptr_g, idx_g) in enumerate(srcs):
                ptr_all[g] = ptr_g + base
                base += idx_g.size
            idx_all = np.concatenate([e[1] for e in srcs])
            first = np.cumsum([0] + [s.pre.size for s in fused[:-1]]).astype(np.int64)
            delays = np.array([1 + s.delays[0] for s in fused], np.int64)
            has_drive = drive is not None
            d = np.ascontiguousarray(drive, F32) if has_drive else vs
            weights, acc = self._stacked(fused)

            def part(b0: int, b1: int):
                return kernels.dense_layer(ptr_all, idx_all, delays, first, weights,
                                           np.zeros_like(acc), d, has_drive, *params, b0, b1)  # fmt: skip
        ptr, idx = _by_samples(part, batch, steps * batch * n)
        if want:
            events[p.name] = (ptr, idx)
        if rec:
            volts[p.name] = vs

    def _stacked(self, fused: list[_Synapses]) -> tuple[np.ndarray, np.ndarray]:
        """The dense weights of ``fused`` one above the other [sum of pre, post]
        and the scratch to sum them in (see :func:`kernels.dense_layer`): int16
        weights and an int32 sum when the weights are integers that keep every
        sum within int32, else float32 (kept for the next run)."""
        key = tuple(id(s) for s in fused)
        hit = self._stacks.get(key)
        if hit is None:
            from . import kernels

            integral, top = True, 0.0
            for s in fused:
                i, t = kernels.integer_range(s.coo[2])  # type: ignore[index]
                integral, top = integral and i, max(top, t)
            rows = sum(s.pre.size for s in fused)
            n = fused[0].post.size
            # a step's sum: at most every source neuron with 255 events
            whole = integral and top <= 32767 and rows * 255 * top < 2**31
            # built transposed: projections list their synapses by postsynaptic neuron
            w = np.zeros((n, rows), np.int16 if whole else F32)
            first = 0
            for s in fused:
                pre, post, d = s.coo  # type: ignore[misc]
                kernels.add_at(w, post, pre + first, d)
                first += s.pre.size
            hit = self._stacks[key] = (np.ascontiguousarray(w.T), np.zeros(n, w.dtype if not whole
                                                                            else np.int32))  # fmt: skip
        return hit


def _by_samples(part, batch: int, work: int) -> tuple[np.ndarray, np.ndarray]:
    """``part(b0, b1)`` (a compiled kernel releasing the GIL) over the samples
    ``0..batch-1``, split over the idle cores when the batch and the work
    (``work`` neuron steps) are large enough; the parts' events joined."""
    from nirc.interpreter import jit

    threads = min(batch, jit.free_cores()) if work >= PARALLEL_WORK else 1
    if threads <= 1:
        return part(0, batch)
    from concurrent.futures import ThreadPoolExecutor

    cuts = np.linspace(0, batch, threads + 1).round().astype(int)
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(part, cuts[:-1], cuts[1:]))
    ptrs, base = [np.zeros(1, np.int64)], 0
    for ptr, idx in parts:
        ptrs.append(ptr[1:] + base)
        base += idx.size
    return np.concatenate(ptrs), np.concatenate([idx for _, idx in parts])


def _sparse(name: str, spikes, events) -> bool:
    """Whether population ``name`` spikes sparsely enough for event-driven
    synapses (else a matrix product is faster): its events when they are
    known, else its first steps."""
    if name in events:
        return events[name][1].size < SPARSE * spikes[name].size
    a = spikes[name]
    sample = a.reshape(-1, a.shape[-1])[:4096]
    return np.count_nonzero(sample) < SPARSE * sample.size


def _jit(wanted: bool = True):
    """The compiled neuron loop (numba, the ``fast`` extra), or None (not
    installed, disabled by ``NIRC_JIT=0``, or not ``wanted`` and not loaded)."""
    from nirc.interpreter import jit

    if not jit.ENABLED or not (wanted or "numba" in sys.modules):
        return None
    jit.kernels()  # numba's cache directory, as the interpreter sets it
    from . import kernels

    return kernels.neuron_loop


def _c(a: np.ndarray) -> np.ndarray:
    """``a`` as a contiguous, writable float32 array (copied only when it is
    not one: a read-only array would make numba compile the kernel again)."""
    return np.require(a, F32, ["C", "W"])


def check_inputs(net: Network, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{input: [T, B, *shape]}`` event counts checked against the network's
    inputs (non-negative integers up to each input's copies)."""
    out = {}
    for p in net.inputs:
        if p.name not in inputs:
            raise NircError(
                "inputs missing for the chip",
                expected=", ".join(f"`{q.name}` [T, B, {', '.join(map(str, q.shape))}]"
                                   for q in net.inputs),  # fmt: skip
                found=", ".join(f"`{k}`" for k in inputs) or "none",
            )
        a = np.asarray(inputs[p.name])
        if a.ndim < 2 or int(np.prod(a.shape[2:], dtype=np.int64)) != p.elements:
            raise NircError("input of the wrong shape", where=p.name,
                            expected=f"[T, B, {', '.join(map(str, p.shape))}]",
                            found=str(list(a.shape)))  # fmt: skip
        if a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
            raise NircError("SpiNNaker2 inputs are spikes: integer event counts per step",
                            where=p.name, found="non-integer values")  # fmt: skip
        if a.size and a.min() < 0:
            raise NircError("SpiNNaker2 inputs are spikes: event counts cannot be negative",
                            where=p.name, expected="event counts >= 0 per element and step",
                            found=f"counts down to {a.min():g}")  # fmt: skip
        if a.size and a.max() > p.copies:
            raise NircError(
                "more events per step than the input population has copies",
                where=p.name,
                expected=f"event counts in 0..{p.copies} per element and step (the network was "
                f"built with {p.copies} spike source(s) per element)",
                found=f"counts in {int(a.min())}..{int(a.max())}",
                hint="compile with --calibrate on data with the largest counts you will feed "
                "(each element gets as many spike sources as its largest count)",
            )
        out[p.name] = a
    return out


def simulate(
    net: Network, inputs: Mapping[str, np.ndarray], *, probes: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """The network on ``{input: [T, B, *shape]}`` event counts, in nirc's
    layout: outputs ``[T, B, *shape]`` aligned with the float network (each
    population read ``lag`` steps later), spike outputs as counts times the
    population's ``spike_gain``, voltage outputs divided by ``v_scale``; and
    for ``probes`` (population names) ``<name>.spikes`` and ``<name>.v``
    (float units) aligned the same way."""
    arrays = check_inputs(net, inputs)
    steps = max((a.shape[0] for a in arrays.values()), default=0)
    wanted = {o.population for o in net.outputs if o.reads == "v"} | set(probes)
    chip = steps + net.latency + max((net.population(p).lag for p in probes), default=0)
    sim = Simulator(net)
    spikes, volts = sim.run(arrays, chip, record_v=tuple(sorted(wanted)))
    out: dict[str, np.ndarray] = {}
    out.update(aligned_outputs(net, spikes, volts, steps))
    for name in probes:
        p = net.population(name)
        sl = slice(p.lag, p.lag + steps)
        s = sum_copies(spikes[name][sl].astype(F32), p.shape, p.copies)
        out[f"{name}.spikes"] = s.reshape((steps, -1) + tuple(p.shape))
        if name in volts:  # copy 0 (no offset)
            v = volts[name][sl][..., p.layout()[:, 0]] / np.float32(p.v_scale)
            out[f"{name}.v"] = v.reshape((steps, -1) + tuple(p.shape))
    return out


def aligned_outputs(net: Network, spikes, volts, steps: int) -> dict[str, np.ndarray]:
    """The outputs of a chip run in nirc's layout (see :func:`simulate`)."""
    out = {}
    for o in net.outputs:
        p = net.population(o.population)
        if o.reads == "v":
            a = volts[p.name][p.lag : p.lag + steps][..., p.layout()[:, 0]]
            a = a / np.float32(p.v_scale)
        else:
            a = sum_copies(spikes[p.name][p.lag : p.lag + steps].astype(F32), p.shape, p.copies)
            a = a * np.float32(p.spike_gain)
        out[o.name] = a.reshape((steps, a.shape[1]) + tuple(o.shape))
    return out


__all__ = ["MODELLED_MODELS", "Simulator", "VERIFIED_MODELS", "check_inputs", "simulate"]
