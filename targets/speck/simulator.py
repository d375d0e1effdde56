"""Bit-accurate, time-stepped simulation of Speck cores.

"Bit-accurate" here means: exact integer arithmetic with the chip's number
formats and configuration (int8 weights and biases, int16 membranes and
thresholds, the same reset, clamp and pooling), evaluated in time steps the
way Sinabs simulates the chip. The chip itself is asynchronous; where the two
can differ is listed below.

What the chip does (facts, with sources):

- Every core computes conv -> integrate-and-fire -> sum pooling, event by
  event: an input spike adds the int8 kernel to the membranes it reaches
  (Speck Dev Kit datasheet, SynSense Aug 2023, 3.2.4.4).
- Membranes are 16-bit integers (datasheet table 3); one ``threshold_high``
  and one ``threshold_low`` per core (3.2.4.4).
- The neuron fires when the membrane reaches ``threshold_high``. Sinabs, which
  generates the chip's configuration, fires on ``v >= threshold`` (its
  ``SingleSpike`` tests ``v - thr >= 0``; ``MultiSpike`` gives
  ``trunc(v / thr)`` spikes, which is 1 at ``v == thr``); nirc uses ``>=``.
- After a spike the membrane returns to 0 (``return_to_zero``) or loses
  ``threshold_high`` (datasheet 3.2.4.6.2).
- The spiking check runs once per incoming event: "if the membrane potential
  exceeds 2 x threshold, the neuron will still fire only once", and with
  subtraction it stays above threshold, silent until the next input event
  (3.2.4.6.2). Within a time bin holding several input events a neuron can
  therefore fire several times, and SynSense reports that Sinabs'
  ``MultiSpike`` (``floor(v / thr)`` spikes per step) matches the chip best
  (Sinabs docs, speck/dangers.md).
- ``threshold_low`` bounds the membrane from below: "if the membrane potential
  already stands at threshold_low, [a negative input] will not change it"
  (3.2.4.6.3); Sinabs maps ``min_v_mem`` to it and clamps after the reset
  (``v = relu(v - min_v_mem) + min_v_mem``).
- The bias (leak) is added to every neuron of a feature on each slow-clock
  tick when ``leak_enable`` is set, independently of events (3.2.4.7); Sinabs
  simulates it as the conv bias, added every time step.
- Pooling sums the spikes of ``p x p`` neurons onto one destination neuron
  (stride = kernel, 3.2.3.2); each of the (at most 2) destinations has its own
  pooling. Monitored output events are not pooled.

The model nirc simulates, per time step ``t`` (one step = one slow-clock tick,
the unit in which biases leak), for every layer in routing order:

1. ``v += conv(x[t])`` with integer weights (exact integer arithmetic);
2. ``v += bias`` if ``leak_enable``;
3. overflow: ``saturate`` (default) clips ``v`` to int16, ``wrap`` wraps it as
   two's complement, ``none`` keeps it unbounded (Sinabs' float semantics).
   The chip's behaviour on overflow is not documented; saturation is the
   assumption here;
4. spikes: ``n = floor(v / threshold_high)`` where ``v >= threshold_high``
   (``spike_mode="multi"``, the default, Sinabs' MultiSpike) or ``n = 1``
   there (``spike_mode="single"``, at most one spike per neuron per step);
5. reset: ``v = 0`` where ``n > 0`` (``return_to_zero``; in multi mode the
   neuron still emits all ``n`` spikes, as Sinabs' MultiSpike with
   MembraneReset), else ``v -= n * threshold_high``;
6. ``v = max(v, threshold_low)``;
7. each destination receives the spikes sum-pooled by its pooling; inputs
   from several sources add up.

Where the chip can differ: it checks a neuron only when an input event (not
a step) reaches it, so it emits at most as many spikes as events arrived and a
membrane left above threshold waits for the next event, while both modes here
decide once per step from the summed input (``single`` even fires again on a
step without input, like Sinabs' SingleSpike); the order of events within a
step (the chip is asynchronous and depth-first) is not modelled; the
congestion balancer and decimator are off in nirc's configurations; whether a
leak tick alone can trigger a spike on chip is not documented (here the spike
check also runs after the bias).

How it runs. With numba (the ``fast`` extra), :mod:`.kernels` steps the
whole network in one compiled loop, a sample at a time, every layer within
each step, driven by events as the chip is (see there); samples are shared
among the idle cores. Without numba, or with ``jit=False``, layers are
simulated one after another over all time steps (the routing is
feed-forward): the convolution of all steps at once, by scattering each
event's kernel (sparse input) or as an im2col matrix product (dense input),
then the neurons stepped in time, skipping steps without input while no
membrane is at threshold. Both give the same numbers (the tests check both
against an explicit-loop reference).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nirc.diagnostics import NircError

from .config import input_layers, output_layers
from .layer import SpeckLayer
from .rules import check_network
from .spec import SPECK, SpeckSpec

SPIKE_MODES = ("multi", "single")
OVERFLOW_MODES = ("saturate", "wrap", "none")

# Elements of one im2col chunk: small enough to stay in cache.
_CHUNK_ELEMENTS = 1 << 20


def conv_events(
    x: np.ndarray,
    weights: np.ndarray,
    stride: tuple[int, int],
    padding: tuple[int, int],
    *,
    method: str = "auto",
) -> np.ndarray:
    """Integer convolution of event counts over all steps at once.

    ``x`` is ``[T, c, h, w]`` (non-negative integers), ``weights``
    ``[f, c, ky, kx]``, ``stride`` and ``padding`` ``(x, y)``. Returns int64
    ``[T, f, oh, ow]``, exact.

    ``method``: ``"scatter"`` adds each event's kernel into the output (cost
    proportional to the number of events, like the chip); ``"dense"`` is an
    im2col matrix product over the steps that hold events; ``"auto"`` picks
    the cheaper one.
    """
    x = np.asarray(x)
    w = np.asarray(weights, np.int64)
    T, c, h, wd = x.shape
    f, _, ky, kx = w.shape
    sx, sy = stride
    px, py = padding
    oh = (h + 2 * py - ky) // sy + 1
    ow = (wd + 2 * px - kx) // sx + 1
    if f == 0 or not x.any():
        return np.zeros((T, f, oh, ow), np.int64)
    if method == "auto":
        # Both costs grow with ky * kx * f; per multiply-add, scattering an
        # event costs about 0.75 f times an im2col product (BLAS gains with f).
        active = int(x.reshape(T, -1).any(axis=1).sum())
        ratio = max(4, 3 * f // 4)
        method = "scatter" if ratio * np.count_nonzero(x) < active * oh * ow * c else "dense"
    if method == "scatter":
        return _conv_scatter(x, w, (sx, sy), (px, py), (oh, ow))
    return _conv_dense(x, w, (sx, sy), (px, py), (oh, ow))


def _conv_scatter(x, w, stride, padding, out_size) -> np.ndarray:
    T = x.shape[0]
    f, _, ky_n, kx_n = w.shape
    sx, sy = stride
    px, py = padding
    oh, ow = out_size
    t, c, y, xx = np.nonzero(x)
    counts = x[t, c, y, xx].astype(np.int64)
    w_at = w.transpose(2, 3, 1, 0)  # [ky, kx, c, f]
    out = np.zeros(T * f * oh * ow, np.int64)  # flat [T, f, oh, ow]
    feature_offsets = np.arange(f) * (oh * ow)
    for ky in range(ky_n):
        # output row oy receives input row y through kernel row ky when
        # oy * sy - py + ky == y
        ny = y + py - ky
        ok_y = (ny >= 0) & (ny % sy == 0) & (ny < oh * sy)
        for kx in range(kx_n):
            nx = xx + px - kx
            ok = ok_y & (nx >= 0) & (nx % sx == 0) & (nx < ow * sx)
            if not ok.any():
                continue
            base = t[ok] * (f * oh * ow) + (ny[ok] // sy) * ow + nx[ok] // sx
            index = (base[:, None] + feature_offsets).ravel()
            np.add.at(out, index, (counts[ok, None] * w_at[ky, kx][c[ok]]).ravel())
    return out.reshape(T, f, oh, ow)


def _conv_dense(x, w, stride, padding, out_size) -> np.ndarray:
    T, c = x.shape[:2]
    f, _, ky, kx = w.shape
    sx, sy = stride
    px, py = padding
    oh, ow = out_size
    out = np.zeros((T, f, oh, ow), np.int64)
    active = np.flatnonzero(x.reshape(T, -1).any(axis=1))
    # A float matmul (BLAS) is exact while every partial sum is an integer the
    # format holds exactly: below 2^24 for float32 (twice as fast), 2^53 for float64.
    bound = float(x.max()) * float(np.abs(w).reshape(f, -1).sum(axis=1).max())
    dtype = np.float32 if bound < 2.0**24 else np.float64 if bound < 2.0**53 else np.int64
    wmat = w.reshape(f, -1).T.astype(dtype)  # [c*ky*kx, f]
    per_step = oh * ow * c * ky * kx
    chunk = max(1, _CHUNK_ELEMENTS // max(per_step, 1))
    for start in range(0, active.size, chunk):
        steps = active[start : start + chunk]
        xp = np.pad(x[steps].astype(dtype), ((0, 0), (0, 0), (py, py), (px, px)))
        win = sliding_window_view(xp, (ky, kx), axis=(2, 3))[:, :, ::sy, ::sx][:, :, :oh, :ow]
        # [n, c, oh, ow, ky, kx] -> [n, oh, ow, c, ky, kx] -> rows of im2col
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(len(steps) * oh * ow, c * ky * kx)
        res = (cols @ wmat).reshape(len(steps), oh, ow, f).transpose(0, 3, 1, 2)
        out[steps] = res
    return out


def interpreter_conv(weights, stride, padding, input_shape, name: str = "conv"):
    """The reference interpreter's convolution kernel for integer chip weights
    ``[f, c, ky, kx]`` (held as float64: exact), stride and padding ``(x,
    y)``; None when it cannot take them."""
    from nirc.graph import Node
    from nirc.interpreter.ops import Conv

    w = np.asarray(weights, np.float64)
    (sx, sy), (px, py) = stride, padding
    c, h, wd = input_shape
    oh = (h + 2 * py - w.shape[2]) // sy + 1
    ow = (wd + 2 * px - w.shape[3]) // sx + 1
    node = Node(name, "Conv2d", {
        "weight": w, "stride": np.array([sy, sx]), "padding": np.array([py, px]),
        "dilation": np.array([1, 1]), "groups": np.array(1), "bias": np.zeros(w.shape[0]),
    })  # fmt: skip
    try:
        return Conv(node, tuple(input_shape), (w.shape[0], oh, ow))
    except Exception:  # noqa: BLE001 - any layout it does not take: the plain kernel runs
        return None


def convolve(x, weights, stride, padding, dtype=np.int64, bound: float | None = None,
             kernel=None) -> np.ndarray:  # fmt: skip
    """The integer convolution of events ``x`` ``[N, c, h, w]`` with integer
    ``weights``, ``[N, f, oh, ow]`` of ``dtype`` (int32 holds any core's input:
    see :func:`integrate_and_fire`), exact: what :func:`conv_events` computes.

    The interpreter's convolution kernel (``kernel``, see
    :func:`interpreter_conv`) does it when its float64 sums are exact for these
    events (integer weights times integer counts: every partial sum an integer
    below 2**53), which they are for any chip layer: it skips silent channels,
    scatters sparse ones and multiplies busy ones, an order of magnitude
    faster than :func:`conv_events` on batches. ``bound``: a known upper bound
    of the (non-negative) events, else they are scanned."""
    from nirc.interpreter import jit

    if kernel is None:
        kernel = interpreter_conv(weights, stride, padding, x.shape[1:])
    if bound is None:
        bound = float(x.max()) if x.size else 0.0
        if x.size and x.min() < 0:
            bound = None
    if kernel is None or bound is None or not kernel.exact_for(bound):
        return conv_events(x, weights, stride, padding).astype(dtype)
    if x.dtype != np.uint8:  # counts travel as uint8 (the kernel takes them so)
        x = x.astype(np.uint8) if bound <= 255 else x.astype(np.float64)
    with contextlib.ExitStack() as stack:
        stack.enter_context(jit.blas_single_thread())  # a loaded machine: threads only wait
        if not jit.loaded():  # loading the compiled kernels costs more than a run gains
            stack.enter_context(jit.disabled())
        return kernel.apply_in_blocks(x, dtype, exact=True, block=CONV_BLOCK)


CONV_BLOCK = 1 << 22  # float64 sums per block of :func:`convolve` (32 MiB): not all N at once


def sum_pool(spikes: np.ndarray, pooling: int) -> np.ndarray:
    """Sum-pool ``[T, f, h, w]`` by ``pooling`` (stride = kernel, remainder
    rows and columns dropped)."""
    if pooling == 1:
        return spikes
    T, f, h, w = spikes.shape
    ph, pw = h // pooling, w // pooling
    # one strided slice per window position, added: several times faster than a
    # reduction over two inner axes (and exact: integer counts)
    out = None
    for dy in range(pooling):
        for dx in range(pooling):
            part = spikes[:, :, dy : ph * pooling : pooling, dx : pw * pooling : pooling]
            out = part.copy() if out is None else np.add(out, part, out=out)
    return out


def _routing_order(layers: Sequence[SpeckLayer]) -> list[int]:
    """Layers in an order where every source precedes its destinations
    (smallest index first among the ready ones, for determinism)."""
    import heapq

    indegree = [0] * len(layers)
    for layer in layers:
        for d in layer.destinations:
            indegree[d.layer] += 1
    ready = [i for i, n in enumerate(indegree) if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for d in layers[i].destinations:
            indegree[d.layer] -= 1
            if indegree[d.layer] == 0:
                heapq.heappush(ready, d.layer)
    if len(order) != len(layers):
        cyclic = [layers[i].label for i in range(len(layers)) if i not in order]
        raise NircError(
            "the Speck simulator needs feed-forward routing",
            where=", ".join(cyclic),
            expected="destinations without cycles",
            found="a routing cycle through these layers",
        )
    return order


_KERNELS = "nirc.targets.speck.kernels"
# below this many sample-steps the default does not load numba: loading it and
# the cached kernel takes 0.2-0.4 s, and the numpy code costs 20-130 us a
# sample-step on small CNNs (benchmarks/speck_simulator.py)
JIT_MIN_SAMPLE_STEPS = 5_000


def compiled_kernels():
    """The compiled network (:mod:`.kernels`), or None without numba or with
    ``NIRC_JIT=0``; its machine code is cached where the interpreter caches its
    own (:func:`nirc.interpreter.jit.njit`)."""
    from nirc.interpreter import jit

    return jit.module(_KERNELS)


def _segments(layer: SpeckLayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What one input event of ``layer`` adds, for :func:`.kernels.run_network`.

    Output ``(oy, ox)`` reads input ``(oy sy - py + ky, ox sx - px + kx)``.
    Input column x, of phase ``r = (x + px) % sx``, is read through the taps
    ``kx = r + sx (M - 1 - m)``, ``m = 0 .. M-1`` (``M = ceil(KX / sx)``; a
    tap beyond the kernel weighs 0), by the consecutive output columns ``q -
    (M - 1) + m`` (``q = (x + px - r) / sx``). So, with outputs channels-last
    ``[oh, ow, f]`` and the weights rearranged as ``wr[c, ky, r, m, f]``, each
    kernel row ky that reaches an output row adds one contiguous slice of
    weights to one contiguous slice of outputs: a segment ``(first output,
    first weight within the channel, length)``.

    Returns ``start`` (``[h w + 1]``: input position ``y w + x``'s segments
    are rows ``start[p]:start[p + 1]``), the segments ``[n, 3]`` and ``wr``
    (flat)."""
    c, h, w = layer.input_shape
    f, oh, ow = layer.output_shape
    n_ky, n_kx = layer.kernel_size
    (sx, sy), (px, py) = layer.stride, layer.padding
    mm = -(-n_kx // sx)
    wr = np.zeros((c, n_ky, sx, mm, f), np.int64)
    weights = np.asarray(layer.weights, np.int64)
    for r in range(sx):
        for m in range(mm):
            kx = r + sx * (mm - 1 - m)
            if kx < n_kx:
                wr[:, :, r, m, :] = weights[:, :, :, kx].transpose(1, 2, 0)
    segs: list[tuple[int, int, int]] = []
    start = np.zeros(h * w + 1, np.int64)
    for y in range(h):
        for x in range(w):
            r = (x + px) % sx
            q = (x + px - r) // sx
            m0, m1 = max(0, mm - 1 - q), min(mm, ow - q + mm - 1)
            if m1 > m0:
                for ky in range(n_ky):
                    ty = y + py - ky
                    if ty >= 0 and ty % sy == 0 and ty // sy < oh:
                        first = (ty // sy) * ow + q - (mm - 1) + m0
                        segs.append((first * f, ((ky * sx + r) * mm + m0) * f, (m1 - m0) * f))
            start[y * w + x + 1] = len(segs)
    return start, np.array(segs, np.int64).reshape(-1, 3), wr.ravel()


# A layer takes fixed blocks instead of segments when they add at most this
# many times the segments' elements (the taps past the kernel: the paper CNN's
# stride-2 5 x 5 kernel adds 1.2x; a kernel as large as its input, 4x).
_BLOCK_EXTRA = 1.5


def _blocks(layer: SpeckLayer, seg_elements: int):
    """The layer as fixed blocks (:func:`nirc.interpreter.program.conv_blocks`:
    every event adds runs of one length, ``cols * f`` elements, one per
    kernel row that reaches the output, into an accumulator of the output's
    rows with column margins), or None when its segments (``seg_elements``
    over all input positions) are cheaper or the runs are not whole 8-element
    vectors. Returns ``(tab, weights, run, rstride, base, total)``: ``tab``
    one packed int64 per input position,
    channels-last ``[h, w, c]`` like the layer's input buffer (accumulator
    offset, weight offset, rows: :func:`~nirc.interpreter.program.pack_block`),
    the blocks' weights (int64, flat), the accumulator's row stride, where its
    output cell (0, 0) is and its size."""
    from nirc.interpreter.program import BlockConv, block_fits, conv_blocks

    c, h, w = layer.input_shape
    f, oh, ow = layer.output_shape
    (sx, sy), (px, py) = layer.stride, layer.padding
    conv = BlockConv((c, h, w), (f, oh, ow), ((py, py), (px, px)), (sy, sx),
                     np.asarray(layer.weights, np.float64))  # fmt: skip
    if (f * -(-layer.kernel_size[1] // sx)) % 8 or not block_fits(conv):
        return None
    blocks = conv_blocks(conv)
    if int(blocks.tab_r.sum()) * blocks.run > _BLOCK_EXTRA * seg_elements:
        return None
    tab = blocks.tab.reshape(c, h * w).T.ravel()  # [c, h w] -> channels-last
    weights = np.rint(blocks.weights).astype(np.int64)
    return tab, weights, blocks.run, blocks.rstride, blocks.base, blocks.total


def _event_counts(sim: SpeckSimulator, fed: list[int], host: float) -> list[float]:
    """Each layer's largest event count in a step: ``host`` where the host
    feeds it, plus each source's largest spikes per step (1 in single mode,
    the membrane's top over the threshold in multi) times what its pooling
    sums."""
    _, hi = sim.spec.state_range
    count = [host if i in fed else 0.0 for i in range(len(sim.layers))]
    for i in sim.order:
        layer = sim.layers[i]
        spikes = 1.0 if sim.spike_mode == "single" else float(hi // layer.threshold_high)
        for d in layer.destinations:
            count[d.layer] += spikes * d.pooling**2
    return count


class _CompiledNetwork:
    """A network laid out for :func:`.kernels.run_network`: the per-layer
    parameter table; the segments of every layer (:func:`_segments`), and for
    each input position which segments and which weights are its; the blocks
    of the layers that take them (:func:`_blocks`: one packed entry per input
    position, channels-last, and for the host's events in its order too); the
    rearranged weights (int64, and int32 for runs whose numbers fit) and
    biases; the permutations between layer order and channels-last; the
    routing of every neuron's spikes; all flat, with each layer's offsets."""

    def __init__(self, sim: SpeckSimulator, kernels) -> None:
        k = kernels
        layers = sim.layers
        P = np.zeros((len(layers), k.N_PARAMS), np.int64)
        segs, dec, weights, biases, perm, route, iperm = [], [], [], [], [], [], []
        tabs: list[np.ndarray] = []
        in_order: dict[int, np.ndarray] = {}
        at = {"seg": 0, "w": 0, "b": 0, "v": 0, "in": 0}
        ins = np.cumsum([0] + [int(np.prod(x.input_shape)) for x in layers])
        for i, layer in enumerate(layers):
            c, h, w = layer.input_shape
            f, oh, ow = layer.output_shape
            ky, kx = layer.kernel_size
            start, sg, wr = _segments(layer)
            P[i, [k.C, k.H, k.W, k.F, k.OH, k.OW, k.KY, k.KX]] = c, h, w, f, oh, ow, ky, kx
            P[i, k.THR], P[i, k.LOW] = layer.threshold_high, layer.threshold_low
            P[i, k.RTZ], P[i, k.LEAK] = layer.return_to_zero, layer.leak_enable
            P[i, k.B_OFF], P[i, k.V_OFF], P[i, k.IN_OFF] = at["b"], at["v"], at["in"]
            P[i, k.N_DEST] = len(layer.destinations)
            P[i, k.ROUTE_OFF] = sum(len(r) for r in route)
            # neuron i, channels-last (oy, ox, j): its index in layer order, and
            # where its spikes land in each destination's input (-1: pooled away)
            oy, ox, j = np.unravel_index(np.arange(f * oh * ow), (oh, ow, f))
            perm.append((j * oh + oy) * ow + ox)
            for n, d in enumerate(layer.destinations):
                P[i, k.D0 + 2 * n], P[i, k.P0 + 2 * n] = d.layer, d.pooling
                ph, pw = oh // d.pooling, ow // d.pooling
                py, px = oy // d.pooling, ox // d.pooling
                inside = (py < ph) & (px < pw)
                route.append(np.where(inside, ins[d.layer] + (py * pw + px) * f + j, -1))
            # input position i in layer order [c, h, w]: its place channels-last
            ch, pos = np.divmod(np.arange(c * h * w), h * w)
            iperm.append(pos * c + ch)
            # each input position, channels-last: its segments, its channel's weights
            pos, ch = np.divmod(np.arange(h * w * c), c)
            dec.append(np.stack([at["seg"] + start[pos], at["seg"] + start[pos + 1],
                                 at["w"] + ch * (wr.size // c)], axis=-1).ravel())  # fmt: skip
            segs.append(sg)
            weights.append(wr)
            biases.append(np.asarray(layer.biases, np.int64).ravel())
            at["seg"] += len(sg)
            at["w"] += wr.size
            blocks = _blocks(layer, int(sg[:, 2].sum()))
            if blocks is None:
                tabs.append(np.zeros(c * h * w, np.int64))
            else:
                tab, wb, run, rstride, base, total = blocks
                P[i, [k.BLK_RUN, k.BLK_RS, k.BLK_W, k.BLK_BASE, k.BLK_TOTAL]] = (
                    run, rstride, at["w"], base, total)  # fmt: skip
                tabs.append(tab)
                in_order[i] = tab.reshape(h * w, c).T.ravel()  # for the host's events
                weights.append(wb)
                at["w"] += wb.size
            at["b"] += f
            at["v"] += f * oh * ow
            at["in"] += c * h * w
        self.P = P
        self.segs = np.ascontiguousarray(np.concatenate(segs))
        self.dec = np.concatenate(dec).astype(np.int64)
        self.weights = np.concatenate(weights)
        self.biases = np.concatenate(biases)
        self.weights32, self.biases32 = self.weights.astype(np.int32), self.biases.astype(np.int32)
        # (exact for the layers whose sums fit int16: every weight does)
        self.weights16 = self.weights.astype(np.int16)
        # per layer, the largest input a feature can get from one event: sum |w|
        self.fan_in = [float(np.abs(np.asarray(x.weights, np.float64)).reshape(x.out_features, -1)
                             .sum(axis=1).max(initial=0.0)) for x in layers]  # fmt: skip
        self.bias_top = [float(np.abs(np.asarray(x.biases, np.float64)).max(initial=0.0))
                         for x in layers]  # fmt: skip
        self.perm = np.concatenate(perm).astype(np.int64)
        self.iperm = np.concatenate(iperm).astype(np.int64)
        for i, tab in in_order.items():  # after every layer's channels-last table
            P[i, k.BLK_HOST] = sum(x.size for x in tabs)
            tabs.append(tab)
        self.tabs = np.concatenate(tabs)
        self.route = np.concatenate(route).astype(np.int64) if route else np.zeros(0, np.int64)
        self.order = np.array(sim.order, np.int64)
        self.state_size = at["v"]
        self.kernels = kernels

    def _fits_int32(self, sim: SpeckSimulator, fed: list[int], host: float) -> bool:
        """Whether every number of this run fits int32 (then the kernel runs in
        int32: twice the vector width): the membranes (bounded with
        ``saturate`` and ``wrap``), each layer's event counts (``host``, the
        host's largest, plus its sources' largest spike counts per step times
        what their pooling sums) and a step's input to a neuron (those counts
        times the layer's largest sum of absolute weights, plus bias and
        membrane)."""
        if sim.overflow == "none":
            return False
        lo, hi = sim.spec.state_range
        count = _event_counts(sim, fed, host)
        return all(count[i] * self.fan_in[i] + 128 + max(-lo, hi) <= 2.0**31 - 1 for i in sim.order)

    def _narrow(self, sim: SpeckSimulator, fed: list[int], host: float) -> list[bool]:
        """The layers of blocks whose sums fit int16 in this (int32) run: a
        step's input to a neuron, the largest event count (``host``: the
        host's largest event) times the largest sum of absolute weights,
        plus the largest bias, at most 32767 (every weight then fits too).
        Their accumulators and weights are int16: half the bytes per event
        (on the paper CNN both of its block layers)."""
        count = _event_counts(sim, fed, host)
        return [bool(self.P[i, self.kernels.BLK_RUN])
                and count[i] * self.fan_in[i] + self.bias_top[i] <= 2**15 - 1
                for i in range(len(sim.layers))]  # fmt: skip

    def run(self, sim: SpeckSimulator, feeds: dict[int, np.ndarray], record: bool,
            batched: bool) -> dict:  # fmt: skip
        """:meth:`SpeckSimulator.run` on ``feeds`` ``[T, B, c, h, w]`` (what
        ``batched`` says the caller gave: ``[T, B, ...]`` or ``[T, ...]``)."""
        k = self.kernels
        layers = sim.layers
        P = self.P.copy()
        P[:, k.FEED_OFF] = P[:, k.OUT_OFF] = P[:, k.REC_OFF] = -1
        first = next(iter(feeds.values()))
        T, B = int(first.shape[0]), int(first.shape[1])
        sent_to = {d.layer for layer in layers for d in layer.destinations}
        for i in feeds:
            P[i, k.FED_ONLY] = i not in sent_to  # only the host's events: no merging
        # the host's events: one array as given when it can be (uint8 or int64)
        parts = []
        at = 0
        for i, x in sorted(feeds.items()):
            P[i, k.FEED_OFF] = at
            at += int(np.prod(layers[i].input_shape))
            parts.append(x.reshape(T, B, -1))
        dtype = np.uint8 if all(x.dtype in (np.uint8, np.bool_) for x in parts) else np.int64
        if len(parts) == 1 and parts[0].dtype == dtype and parts[0].flags.c_contiguous:
            feed = parts[0]
        elif len(parts) == 1 and parts[0].dtype == np.bool_ and parts[0].flags.c_contiguous:
            feed = parts[0].view(np.uint8)
        else:
            feed = np.concatenate([x.astype(dtype) for x in parts], axis=2)
        # the host's largest event: uint8 ones are not scanned unless a layer
        # of blocks may take int16 sums (one pass over the input)
        if feed.dtype != np.uint8 or P[:, k.BLK_RUN].any():
            host = float(feed.max()) if feed.size else 0.0
        else:
            host = 255.0
        if feed.dtype != np.uint8 and host <= 255:
            # counts that fit a byte run as bytes: the faster scan, and no
            # second compiled variant of the kernel (about 7 s) for int64
            # input unless a count exceeds 255
            feed = feed.astype(np.uint8)
        fits32 = self._fits_int32(sim, list(feeds), host)
        work = np.int32 if fits32 else np.int64
        if fits32:
            P[:, k.BLK_NARROW] = self._narrow(sim, list(feeds), host)
        keep = list(sim.layers_range()) if record else list(sim.outputs)
        at = 0
        for i in keep:
            P[i, k.OUT_OFF] = at
            at += int(np.prod(layers[i].output_shape))
        out = np.zeros((T, B, at), work)
        if record:
            P[:, k.REC_OFF] = P[:, k.V_OFF]
            rec = np.zeros((T, B, self.state_size), work)
        else:
            rec = np.zeros((0, B, 0), work)
        v = np.zeros((B, self.state_size), work)
        for i, layer in enumerate(layers):
            v0 = layer.initial_state().transpose(1, 2, 0).ravel()
            v[:, P[i, k.V_OFF] : P[i, k.V_OFF] + v0.size] = v0
        multi = sim.spike_mode == "multi"
        overflow = {"saturate": k.SATURATE, "wrap": k.WRAP, "none": k.NONE}[sim.overflow]
        lo, hi = sim.spec.state_range
        weights, biases = (self.weights32, self.biases32) if fits32 else (self.weights, self.biases)
        tables = (self.segs, self.dec, weights, biases, self.perm, self.route, self.iperm, self.tabs,
                  self.weights16)
        modes = (multi, overflow, lo, hi, feed.dtype == np.uint8)
        args = (self.order, P, tables, feed, v, out, rec, record, modes)
        # samples are independent: threads take them in turn, as the float
        # interpreter's do (the kernel releases the GIL)
        from nirc.interpreter.jit import over_samples

        over_samples(k.run_network, args, B, T)
        dtype = np.int32 if batched else np.int64

        def split(a: np.ndarray, offset: int, i: int) -> np.ndarray:
            f, oh, ow = layers[i].output_shape
            part = a[:, :, offset : offset + f * oh * ow].reshape(T, B, f, oh, ow)
            part = part if batched else part[:, 0]
            return part if part.dtype == dtype else part.astype(dtype)

        spikes = {i: split(out, int(P[i, k.OUT_OFF]), i) for i in keep}
        state = {}
        for i, layer in enumerate(layers):
            f, oh, ow = layer.output_shape
            part = v[:, P[i, k.V_OFF] : P[i, k.V_OFF] + f * oh * ow]
            part = part.reshape(B, oh, ow, f).transpose(0, 3, 1, 2).astype(dtype)
            state[i] = part if batched else part[0]
        result: dict = {"outputs": {i: spikes[i] for i in sim.outputs}, "state": state}
        if len(sim.outputs) == 1:
            result["output"] = spikes[sim.outputs[0]]
        if record:
            result["spikes"] = spikes
            result["membrane"] = {i: split(rec, int(P[i, k.V_OFF]), i) for i in keep}
        return result


class SpeckSimulator:
    """Simulate a placed Speck network (see the module docstring).

    ``placement`` is accepted for symmetry with the emitter; it does not change
    what the chip computes. ``spike_mode`` is ``"multi"`` or ``"single"``,
    ``overflow`` is ``"saturate"``, ``"wrap"`` or ``"none"``. ``jit``: run
    the compiled network (:mod:`.kernels`, the ``fast`` extra's numba) or the
    numpy code, the same numbers either way; None (the default) compiles when
    numba is installed and either this process loaded the kernel already or
    the run is long enough to repay loading it (:data:`JIT_MIN_SAMPLE_STEPS`),
    True insists (an error without numba), False never does.
    """

    def __init__(
        self,
        layers: Sequence[SpeckLayer],
        placement: Sequence[int] | None = None,
        *,
        spike_mode: str = "multi",
        overflow: str = "saturate",
        spec: SpeckSpec = SPECK,
        jit: bool | None = None,
    ) -> None:
        if spike_mode not in SPIKE_MODES:
            raise NircError(
                "unknown spike mode", expected=" or ".join(SPIKE_MODES), found=str(spike_mode)
            )
        if overflow not in OVERFLOW_MODES:
            raise NircError(
                "unknown overflow mode", expected=", ".join(OVERFLOW_MODES), found=str(overflow)
            )
        self.layers = list(layers)
        check_network(self.layers, spec, warnings=False)
        self.placement = None if placement is None else tuple(placement)
        self.spike_mode = spike_mode
        self.overflow = overflow
        self.spec = spec
        self.order = _routing_order(self.layers)
        self._kernels: dict[int, object] = {}  # the interpreter's convolutions, see _convolve
        self.inputs = input_layers(self.layers)
        self.outputs = output_layers(self.layers)
        self.jit = jit
        self._compiled_network: _CompiledNetwork | None = None

    def run(self, events: np.ndarray | Mapping[int, np.ndarray], *, record: bool = False) -> dict:
        """Run the network on input event counts.

        ``events`` is an integer array ``[T, c, h, w]`` given to every input
        layer (layers no other layer sends to), or a mapping from layer index
        to such an array; ``[T, B, c, h, w]`` runs a batch of B independent
        samples at once (every array below then has the batch axis after T:
        the same numbers as B runs, vectorized). Returns a dict with
        ``outputs`` (layer index -> spike counts ``[T, f, h, w]`` of each output
        layer, before pooling), ``output`` (the same for the only output layer,
        if there is one) and ``state`` (layer index -> final membrane ``[f, h,
        w]``); with ``record=True`` also ``spikes`` and ``membrane`` (layer
        index -> ``[T, f, h, w]``, the membrane at the end of each step).

        A batch is held in int32 (exact: membranes stay within int16 and one
        step's input within int32, see :func:`integrate_and_fire`).
        """
        feeds = self._feeds(events)
        first = next(iter(feeds.values()))
        batched = first.ndim == 5
        kernels = self._compiled(int(np.prod(first.shape[: 2 if batched else 1])))
        if kernels is not None:
            if self._compiled_network is None:
                self._compiled_network = _CompiledNetwork(self, kernels)
            if not batched:
                feeds = {i: x[:, None] for i, x in feeds.items()}
            return self._compiled_network.run(self, feeds, record, batched)
        if batched:
            return self._run_batch(feeds, record)
        T = first.shape[0]
        lead = (T,)
        received: dict[int, np.ndarray] = {}
        for i, x in feeds.items():
            # integer counts as they are (a batch's spikes stay uint8), anything else int64
            received[i] = x if x.dtype.kind in "iu" else x.astype(np.int64)
        spikes_of: dict[int, np.ndarray] = {}
        membrane_of: dict[int, np.ndarray] = {}
        state_of: dict[int, np.ndarray] = {}
        for i in self.order:
            layer = self.layers[i]
            x = received.pop(i, None)
            if x is None:
                x = np.zeros(lead + tuple(layer.input_shape), np.int64)
            current = self._convolve(i, x, np.int64)
            spikes, membrane, state = self._neurons(layer, current, record)
            del current
            if record or i in self.outputs:
                spikes_of[i] = spikes
            state_of[i] = state
            if record:
                membrane_of[i] = membrane
            for d in layer.destinations:
                pooled = sum_pool(spikes, d.pooling)
                if d.layer in received:
                    received[d.layer] = received[d.layer] + pooled
                else:
                    received[d.layer] = pooled
        result: dict = {
            "outputs": {i: spikes_of[i] for i in self.outputs},
            "state": state_of,
        }
        if len(self.outputs) == 1:
            result["output"] = spikes_of[self.outputs[0]]
        if record:
            result["spikes"] = spikes_of
            result["membrane"] = membrane_of
        return result

    # elements (samples x neurons x steps) of one time chunk of a batch
    BATCH_CHUNK_ELEMENTS = 1 << 22

    def _run_batch(self, feeds: dict[int, np.ndarray], record: bool) -> dict:
        """:meth:`run` on ``[T, B, ...]`` events: a chunk of steps at a time
        through every layer in routing order (the state carried over), so that
        the chunk's values stay in cache; the same numbers as one run over all
        steps, and as B runs of one sample."""
        first = next(iter(feeds.values()))
        T, B = int(first.shape[0]), int(first.shape[1])
        neurons = max(int(np.prod(layer.output_shape)) for layer in self.layers)
        tc = int(max(1, min(T, self.BATCH_CHUNK_ELEMENTS // max(1, B * neurons))))
        state = {}
        for i in self.order:
            v0 = self.layers[i].initial_state()
            state[i] = np.repeat(v0[None].astype(np.int32), B, axis=0)
        keep = set(self.layers_range()) if record else set(self.outputs)
        spikes_of: dict[int, list[np.ndarray]] = {i: [] for i in keep}
        membrane_of: dict[int, list[np.ndarray]] = {i: [] for i in keep} if record else {}
        # a bound of each layer's input events (the convolution's exactness needs one):
        # the host's events once; spikes of a single-spike layer are at most 1 per neuron
        # and step, times what a pooling sums (multi-spike layers: counted per chunk)
        feed_bound = {i: float(x.max()) if x.size else 0.0 for i, x in feeds.items()}
        for t0 in range(0, T, tc):
            t1 = min(T, t0 + tc)
            n = t1 - t0
            received: dict[int, np.ndarray] = {}
            bound: dict[int, float | None] = {}
            for i, x in feeds.items():
                part = x[t0:t1]
                received[i] = part if part.dtype.kind in "iu" else part.astype(np.int64)
                bound[i] = feed_bound[i]
            for i in self.order:
                layer = self.layers[i]
                x = received.pop(i, None)
                if x is None:
                    x = np.zeros((n, B) + tuple(layer.input_shape), np.uint8)
                    bound[i] = 0.0
                flat = x.reshape((n * B,) + tuple(layer.input_shape))
                current = self._convolve(i, flat, np.int32, bound.get(i))
                current = current.reshape((n, B) + layer.output_shape)
                bias = None
                if layer.leak_enable:
                    bias = np.asarray(layer.biases, np.int32)[:, None, None]
                spikes, membrane, state[i] = integrate_and_fire(
                    current,
                    state[i],
                    threshold_high=layer.threshold_high,
                    threshold_low=layer.threshold_low,
                    return_to_zero=layer.return_to_zero,
                    bias=bias,
                    spike_mode=self.spike_mode,
                    overflow=self.overflow,
                    state_range=self.spec.state_range,
                    record=record,
                )
                if i in keep:
                    spikes_of[i].append(spikes)
                    if record:
                        membrane_of[i].append(membrane)
                single = self.spike_mode == "single"
                for d in layer.destinations:
                    pooled = sum_pool(spikes.reshape((n * B,) + spikes.shape[2:]), d.pooling)
                    pooled = pooled.reshape((n, B) + pooled.shape[1:])
                    most = float(d.pooling**2) if single else None
                    if d.layer in received:
                        received[d.layer] = received[d.layer] + pooled
                        old = bound.get(d.layer)
                        bound[d.layer] = None if old is None or most is None else old + most
                    else:
                        received[d.layer] = pooled
                        bound[d.layer] = most
        spikes_all = {i: np.concatenate(v) for i, v in spikes_of.items()}
        result: dict = {"outputs": {i: spikes_all[i] for i in self.outputs}, "state": state}
        if len(self.outputs) == 1:
            result["output"] = spikes_all[self.outputs[0]]
        if record:
            result["spikes"] = spikes_all
            result["membrane"] = {i: np.concatenate(v) for i, v in membrane_of.items()}
        return result

    def layers_range(self) -> range:
        return range(len(self.layers))

    def _compiled(self, sample_steps: int):
        """The compiled kernels' module if this run should use it (see
        ``jit``), else None."""
        from nirc.interpreter import jit

        return jit.simulator_kernels(_KERNELS, self.jit, sample_steps, JIT_MIN_SAMPLE_STEPS, "Speck")

    # -- internals -------------------------------------------------------

    def _convolve(
        self, i: int, x: np.ndarray, dtype=np.int64, bound: float | None = None
    ) -> np.ndarray:
        """Layer ``i``'s integer convolution of events ``x`` (see :func:`convolve`),
        its kernel kept between calls."""
        layer = self.layers[i]
        if i not in self._kernels:
            self._kernels[i] = interpreter_conv(layer.weights, layer.stride, layer.padding,
                                                layer.input_shape, layer.name)  # fmt: skip
        return convolve(x, layer.weights, layer.stride, layer.padding, dtype, bound,
                        self._kernels[i])  # fmt: skip

    def _feeds(self, events) -> dict[int, np.ndarray]:
        if isinstance(events, Mapping):
            feeds = {int(i): np.asarray(x) for i, x in events.items()}
        else:
            feeds = {i: np.asarray(events) for i in self.inputs}
        if not feeds:
            raise NircError("no input events given", expected="events for the input layers")
        steps = set()
        for i, x in feeds.items():
            if not 0 <= i < len(self.layers):
                raise NircError(
                    "events for a layer that does not exist",
                    expected=f"a layer index in 0..{len(self.layers) - 1}",
                    found=str(i),
                )
            layer = self.layers[i]
            if x.ndim not in (4, 5) or tuple(x.shape[x.ndim - 3 :]) != layer.input_shape:
                raise NircError(
                    "input events have the wrong shape",
                    where=layer.label,
                    expected=f"[T, {', '.join(map(str, layer.input_shape))}] (or [T, B, ...] "
                    "for a batch)",
                    found=str(list(x.shape)),
                )
            if x.dtype.kind not in "iub" and not np.all(x == np.round(x)):
                raise NircError(
                    "input events must be integer counts",
                    where=layer.label,
                    expected="integers >= 0",
                    found=f"non-integer values (dtype {x.dtype})",
                )
            if x.size and x.min() < 0:
                raise NircError(
                    "input events must be non-negative counts",
                    where=layer.label,
                    expected="integers >= 0",
                    found=f"minimum {x.min()}",
                )
            steps.add(x.shape[:-3])
        if len(steps) != 1:
            raise NircError(
                "inputs disagree on the number of time steps (or samples)",
                expected="one T (and one B) for all inputs",
                found=str(sorted(steps)),
            )
        return feeds

    def _neurons(self, layer: SpeckLayer, current: np.ndarray, record: bool):
        bias = np.asarray(layer.biases, np.int64)[:, None, None] if layer.leak_enable else None
        return integrate_and_fire(
            current,
            layer.initial_state(),
            threshold_high=layer.threshold_high,
            threshold_low=layer.threshold_low,
            return_to_zero=layer.return_to_zero,
            bias=bias,
            spike_mode=self.spike_mode,
            overflow=self.overflow,
            state_range=self.spec.state_range,
            record=record,
        )


def integrate_and_fire(
    current: np.ndarray,
    v: np.ndarray,
    *,
    threshold_high,
    threshold_low,
    return_to_zero: bool,
    bias: np.ndarray | None = None,
    spike_mode: str = "multi",
    overflow: str = "saturate",
    state_range: tuple[int, int] = SPECK.state_range,
    record: bool = False,
):
    """Steps 2-6 of the model (see the module docstring) for one core's neurons.

    ``v`` is the int64 initial membrane ``[*shape]`` (updated in place);
    ``current`` the integer input of every step (the convolution of the
    received events), ``[T, ...]`` with ``current[t]`` broadcasting to
    ``shape``. ``threshold_high``, ``threshold_low`` and ``bias`` (``None``:
    leak disabled) are integers or integer arrays that broadcast to ``shape``:
    several configurations of one layer can be run at once by stacking them on
    axes of ``shape`` (the Speck quantizer does).
    Returns ``(spikes, membrane, v)``: spike counts ``[T, *shape]``, the
    membrane at the end of each step (``None`` unless ``record``) and the final
    membrane, all of ``v``'s integer type (int32 suffices: the membrane stays
    within int16 and a step's input within int32).
    """
    T = current.shape[0]
    thr = threshold_high
    low = threshold_low
    lo, hi = state_range
    spikes = np.zeros((T,) + v.shape, v.dtype)
    membrane = np.zeros((T,) + v.shape, v.dtype) if record else None
    multi = spike_mode == "multi"
    n = np.empty_like(v)
    # A step without input (and without leak) cannot change a membrane
    # that is below threshold everywhere: skip it.
    has_input = current.reshape(T, -1).any(axis=1) if bias is None else np.ones(T, bool)
    quiet = False
    for t in range(T):
        if quiet and not has_input[t]:
            if record:
                membrane[t] = v
            continue
        v += current[t]
        if bias is not None:
            v += bias
        # Saturating below is unnecessary: threshold_low >= the int16
        # minimum and the clamp to it comes before anything else reads v.
        if overflow == "saturate":
            np.minimum(v, hi, out=v)
        elif overflow == "wrap":
            v -= lo
            v %= hi - lo + 1
            v += lo
        # n >= 1 exactly where v >= thr (thr > 0)
        if multi:
            np.floor_divide(v, thr, out=n)
            np.maximum(n, 0, out=n)
        else:
            np.greater_equal(v, thr, out=n, casting="unsafe")
        if return_to_zero:
            np.copyto(v, 0, where=n > 0)
        else:
            v -= n * thr
        np.maximum(v, low, out=v)
        spikes[t] = n
        if record:
            membrane[t] = v
        # (only needed when the next step has no input)
        quiet = bias is None and t + 1 < T and not has_input[t + 1] and bool(np.less(v, thr).all())
    return spikes, membrane, v
