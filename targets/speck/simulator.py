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

Layers are simulated one after another over all time steps (the routing is
feed-forward). The convolution of all steps is done at once, by scattering
each event's kernel (sparse input) or as an im2col matrix product (dense
input); the neurons are then stepped in time, skipping steps without input
while no membrane is at threshold.
"""

from __future__ import annotations

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


def sum_pool(spikes: np.ndarray, pooling: int) -> np.ndarray:
    """Sum-pool ``[T, f, h, w]`` by ``pooling`` (stride = kernel, remainder
    rows and columns dropped)."""
    if pooling == 1:
        return spikes
    T, f, h, w = spikes.shape
    ph, pw = h // pooling, w // pooling
    s = spikes[:, :, : ph * pooling, : pw * pooling]
    return s.reshape(T, f, ph, pooling, pw, pooling).sum(axis=(3, 5))


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


class SpeckSimulator:
    """Simulate a placed Speck network (see the module docstring).

    ``placement`` is accepted for symmetry with the emitter; it does not change
    what the chip computes. ``spike_mode`` is ``"multi"`` or ``"single"``,
    ``overflow`` is ``"saturate"``, ``"wrap"`` or ``"none"``.
    """

    def __init__(
        self,
        layers: Sequence[SpeckLayer],
        placement: Sequence[int] | None = None,
        *,
        spike_mode: str = "multi",
        overflow: str = "saturate",
        spec: SpeckSpec = SPECK,
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
        self.inputs = input_layers(self.layers)
        self.outputs = output_layers(self.layers)

    def run(self, events: np.ndarray | Mapping[int, np.ndarray], *, record: bool = False) -> dict:
        """Run the network on input event counts.

        ``events`` is an integer array ``[T, c, h, w]`` given to every input
        layer (layers no other layer sends to), or a mapping from layer index
        to such an array. Returns a dict with ``outputs`` (layer index ->
        spike counts ``[T, f, h, w]`` of each output layer, before pooling),
        ``output`` (the same for the only output layer, if there is one) and
        ``state`` (layer index -> final membrane ``[f, h, w]``); with
        ``record=True`` also ``spikes`` and ``membrane`` (layer index ->
        ``[T, f, h, w]``, the membrane at the end of each step).
        """
        feeds = self._feeds(events)
        T = next(iter(feeds.values())).shape[0]
        received: dict[int, np.ndarray] = {}
        for i, x in feeds.items():
            received[i] = x.astype(np.int64)
        spikes_of: dict[int, np.ndarray] = {}
        membrane_of: dict[int, np.ndarray] = {}
        state_of: dict[int, np.ndarray] = {}
        for i in self.order:
            layer = self.layers[i]
            x = received.pop(i, None)
            if x is None:
                x = np.zeros((T, *layer.input_shape), np.int64)
            current = conv_events(x, layer.weights, layer.stride, layer.padding)
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

    # -- internals -------------------------------------------------------

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
            if x.ndim != 4 or tuple(x.shape[1:]) != layer.input_shape:
                raise NircError(
                    "input events have the wrong shape",
                    where=layer.label,
                    expected=f"[T, {', '.join(map(str, layer.input_shape))}]",
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
            steps.add(x.shape[0])
        if len(steps) != 1:
            raise NircError(
                "inputs disagree on the number of time steps",
                expected="one T for all inputs",
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
