"""Loihi 2's number formats for a float netx chain, with scales chosen for the task.

Formats (:data:`~.spec.LOIHI2`): weights are integers netx keeps exactly
(8-bit magnitude and a sign: [-256, 254] with both signs, [0, 255] or
[-255, 0] with one; netx derives the per-layer exponent), 12-bit decays
``round(4096 (1 - alpha))``, a 17-bit threshold mantissa, 13-bit bias
mantissas. One *scale* per layer (weight units per real unit of the
membrane): a neuron's weights are ``round(W * S_i)``, its bias ``round(b *
S_i)``, the layer's threshold mantissa ``round(f * thr * S)``. Thresholds
that differ per neuron are absorbed into the rows (``S_i = S thr / thr_i``),
so the layer has one ``vThMant`` as netx requires.

Two searches choose them (``--search``). The fast one (the default with
calibration data, :func:`fast_search`) goes layer by layer: each candidate of
a layer (its replica construction of :mod:`.replicas`, or Loihi's neuron with
a threshold factor; the factors of one layer share one run of its synapse,
:func:`~.simulator.sweep_thresholds`; then per-channel gains picked from the
same sweep) is run once on what the chosen layers before it send; a hidden
layer keeps the candidate whose spike counts per sample come closest to the
float layer's, the last layer the one whose outputs agree best with the
float network's (:func:`choose`). Each choice is the best for its layer, not
for the network: where the max-abs baseline predicts significantly more
calibration samples as the float network does (:func:`predicts_more`), the
chip gets max-abs (the paper's N-MNIST CNN on 256 random calibration
samples: 198 against 164). The full one (:func:`search`), below, runs
everything after the layer for every candidate, and keeps a candidate only
when it wins significantly on the calibration samples (:func:`keeps`).

How ``S`` is chosen (not by max-abs alone): the max-abs scale fills the
weight range; candidates multiply it by a clipping factor ``c`` (the largest
weights saturate, the others get finer steps) and the threshold by a factor
``f`` (compensating what Loihi computes differently from the float network:
binary spikes for spike counts, reset to zero for reset by subtraction; only
for layers with such approximations). The search walks the layers in order
and keeps, per layer, the candidate whose chip outputs on the calibration
inputs best follow the float network's (first the agreement of the argmax
predictions of the output counts, the task's readout; then the normalized
distance of the counts), every later layer at its current choice, then refines each threshold factor
with the other layers' choices known (up to three passes, while it helps). Each
candidate is scored by lava's fixed-point arithmetic itself
(:mod:`.simulator`, layers before the one searched are cached).

Readouts (non-spiking last layers) get the largest scale whose voltage and
current stay below 2**22 (half the 24-bit range) on the calibration inputs,
so the threshold mantissa (the largest, 2**17 - 1) is never reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nirc.diagnostics import NircError
from nirc.metrics import better, relative_l1

from .netx import LavaLayer, NetxLayer, NetxNeuron, kept_exactly, lava_layer, optimize_weight_bits
from .spec import LOIHI2

CLIPS = (1.0, 1.25, 1.6, 2.0)
THRESHOLD_FACTORS = (1.0, 1.5, 1.25, 0.85, 0.7, 0.55, 0.4, 0.3)
QUICK_FACTORS = (1.0, 0.7)
FAST_FACTORS = (1.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.15, 1.3)
REFINE = (0.8, 0.9, 1.1, 1.25)
REFINE_PASSES = 3
READOUT_HEADROOM = float(1 << 22)  # |u|, |v| stay below half the 24-bit range
MOVE_MARGIN = 2  # calibration samples a move of the full search must win, at the least
MOVE_SIGMAS = 2.0  # and this many standard deviations of a no-difference sign test
SIGNIFICANT_SAMPLES = 32  # fewer calibration samples: the aggregate decides, as it can


@dataclass(frozen=True)
class Choice:
    clip: float = 1.0
    threshold_factor: float = 1.0


@dataclass
class QuantizedLayer:
    """A layer in Loihi's formats (the fields of ``loihi2.layer``)."""

    weight: np.ndarray  # int64, netx-kept range
    weight_rec: np.ndarray | None
    bias: np.ndarray | None  # int64 per neuron (dense) or channel (conv)
    i_decay: int | np.ndarray  # one per layer, or per neuron (dense) / channel (conv)
    v_decay: int | np.ndarray
    v_th: int
    scale: np.ndarray  # float64 per neuron: weight units per real unit of v
    weight_exp: int
    num_weight_bits: int
    choice: Choice
    notes: list[str] = field(default_factory=list)
    gain: np.ndarray | None = None  # per-neuron threshold gains (rate matching), if any
    readout_range: float | None = None  # the readout's largest float |v| or |i| it was scaled for


def decay(layer, alpha: np.ndarray | None) -> int | np.ndarray:
    """A decay of a float layer, 4096 (1 - alpha) rounded: one int when the
    layer's neurons share it, else one per neuron (dense) or per channel (conv)."""
    if alpha is None:
        return 4096
    d = np.rint(4096 * (1 - np.asarray(alpha, np.float64).reshape(-1))).astype(np.int64)
    if np.ptp(d) == 0:
        return int(d[0])
    if layer.kind == "conv":
        per = d.reshape(layer.shape[0], -1)
        if np.ptp(per, axis=1).max(initial=0) > 0:
            raise NircError(
                "time constants that differ within a channel of a conv layer: netx's conv "
                "neurons take one decay per channel",
                where=layer.name,
                expected="one tau per output channel",
                found="time constants that differ across positions",
            )
        return per[:, 0].copy()
    return d


def decays(layer) -> tuple[int | np.ndarray, int | np.ndarray]:
    """(iDecay, vDecay) of a float layer (see :func:`decay`)."""
    return decay(layer, layer.neuron.alpha_syn), decay(layer, layer.neuron.alpha_mem)


def _row_factors(layer, gain: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Per-neuron factors r_i that bring every threshold (times its rate gain
    ``gain``, see :func:`rate_gains`) to the layer's reference threshold, and
    that reference (1 for a readout)."""
    thr = layer.neuron.threshold
    if thr is None:
        return np.ones(layer.size), 1.0
    if gain is not None:
        thr = thr * gain
    if layer.kind == "conv":
        per = thr.reshape(layer.shape[0], -1)
        if np.ptp(per, axis=1).max(initial=0) > 0:
            raise NircError(
                "thresholds that differ within a channel of a conv layer: conv weights are "
                "shared over positions, so each channel needs one threshold",
                where=layer.name,
                expected="one v_threshold per output channel",
                found="thresholds that differ across positions",
            )
    ref = float(np.max(thr))
    return ref / thr, ref


def _rows(layer, r: np.ndarray) -> np.ndarray:
    """The row factor per output row of the weight (per neuron for dense,
    per channel for conv)."""
    if layer.kind == "conv":
        return r.reshape(layer.shape[0], -1)[:, 0]
    return r


def max_abs_scale(layer, gain: np.ndarray | None = None) -> float:
    """The scale that fills the weight range exactly."""
    r, _ = _row_factors(layer, gain)
    rows = _rows(layer, r)
    w = layer.weight.reshape(layer.weight.shape[0], -1) * rows[:, None]
    mats = [w] + ([layer.weight_rec * r[:, None]] if layer.weight_rec is not None else [])
    allw = np.hstack(mats)
    hi, lo = float(allw.max(initial=0)), float(allw.min(initial=0))
    if hi <= 0 and lo >= 0:
        raise NircError("every weight of the layer is zero: netx cannot load it", where=layer.name,
                        hint="drop the layer, or train it")  # fmt: skip
    if lo >= 0:
        return 255.0 / hi
    if hi <= 0:
        return 255.0 / -lo
    return min(254.0 / hi, 256.0 / -lo)


def quantize_layer(layer, choice: Choice, *, readout_range: float | None = None,
                   gain: np.ndarray | None = None) -> QuantizedLayer:
    """``layer`` (a :class:`~.lower.FloatLayer`) in Loihi's formats for
    ``choice``; ``gain`` (per neuron) multiplies each neuron's threshold."""
    spec = LOIHI2
    notes: list[str] = []
    r, thr_ref = _row_factors(layer, gain)
    s = max_abs_scale(layer, gain) * choice.clip
    spiking = layer.neuron.threshold is not None
    if spiking:
        s = min(s, spec.threshold_range[1] / (choice.threshold_factor * thr_ref))
    elif readout_range:
        s = min(s, READOUT_HEADROOM / (64.0 * readout_range))
    bias = layer.neuron.bias * r
    blo, bhi = spec.bias_range
    bias_limited = False
    if np.any(bias):
        limit = bhi / float(np.max(np.abs(bias)))
        if limit < s:
            bias_limited = True
            notes.append(f"the scale is limited by the 13-bit bias mantissa ({limit:.4g} instead of "
                         f"{s:.4g} weight units per unit)")  # fmt: skip
            s = limit
    if spiking:
        v_th = int(np.clip(round(choice.threshold_factor * thr_ref * s), 1, spec.threshold_range[1]))
    else:
        v_th = spec.threshold_range[1]
    s_i = s * r
    rows = _rows(layer, s_i)
    w = layer.weight * rows.reshape((-1,) + (1,) * (layer.weight.ndim - 1))
    mats = [w.reshape(w.shape[0], -1)]
    w_rec = None
    if layer.weight_rec is not None:
        w_rec = layer.weight_rec * s_i[:, None]
        mats.append(w_rec)
    allw = np.hstack(mats)
    lo, hi = (-256, 254)
    if allw.min() >= 0:
        lo, hi = 0, 255
    elif allw.max() <= 0:
        lo, hi = -255, 0
    wq = np.clip(np.rint(w), lo, hi).astype(np.int64)
    wrq = None if w_rec is None else np.clip(np.rint(w_rec), lo, hi).astype(np.int64)
    if layer.relay is not None:
        wq, wrq = _relay_weights(layer, wq, wrq)

    def some_weight(wq, wrq) -> None:  # (before netx's exponent, which divides by the largest)
        if not wq.any() and (wrq is None or not wrq.any()):
            raise NircError("every weight rounds to zero at Loihi's precision", where=layer.name,
                            hint="the layer's weights are negligible against its bias (the "
                            "13-bit bias mantissa limits the scale)" if bias_limited else
                            "the layer's weights are negligible against its threshold")  # fmt: skip

    some_weight(wq, wrq)
    if layer.kind != "conv" and not kept_exactly(wq.reshape(wq.shape[0], -1), wrq):
        # netx and lava disagree on this layer's sign mode: half the range keeps
        # every weight (a left shift of at least one bit leaves room to truncate)
        notes.append("weights kept to 7 bits and a sign: netx's and lava's sign modes differ "
                     "for this layer")  # fmt: skip
        lo2, hi2 = max(lo, -254) // 2, min(hi, 254) // 2
        wq = np.clip(np.rint(w / 2), lo2, hi2).astype(np.int64) * 2
        if wrq is not None:
            wrq = np.clip(np.rint(w_rec / 2), lo2, hi2).astype(np.int64) * 2
        if layer.relay is not None:
            wq, wrq = _relay_weights(layer, wq, wrq)
        some_weight(wq, wrq)
        if not kept_exactly(wq.reshape(wq.shape[0], -1), wrq):
            # a few weights of -1 or -2 among zeros: lava's truncation zeroes them
            allq = wq if wrq is None else np.concatenate([wq.reshape(-1), wrq.reshape(-1)])
            raise NircError(
                "netx and lava would load this layer's weights differently at the scale its "
                "threshold or bias allows",
                where=layer.name,
                expected="weights that netx's per-layer exponent and lava's sign mode both keep",
                found=f"integer weights {int(allq.min())}..{int(allq.max())}, "
                f"{int(np.count_nonzero(allq))} of {allq.size} nonzero",
                hint="the weights are nearly negligible against the threshold (or bias): "
                "scale them up or lower the threshold",
            )
    bq = None
    if layer.relay is not None:  # a relay fires when its replica's weight arrives
        if v_th - 1 > bhi:
            raise NircError("relays need the threshold mantissa within the bias range",
                            where=layer.name, expected=f"vThMant <= {bhi + 1}",
                            found=str(v_th))  # fmt: skip
        bias = np.where(layer.relay, (v_th - 1) / s, bias)
    offset = getattr(layer, "bias_offset", None)
    if np.any(bias) or (offset is not None and np.any(offset)):
        b = np.rint(bias * s).astype(np.int64)
        if offset is not None:
            b = b + np.asarray(offset, np.int64)
        b = np.clip(b, blo, bhi)
        if layer.kind == "conv":
            per = b.reshape(layer.shape[0], -1)
            if np.ptp(per, axis=1).max(initial=0) > 0:
                raise NircError("biases that differ within a channel of a conv layer: netx holds "
                                "one bias per channel", where=layer.name)  # fmt: skip
            b = per[:, 0]
        bq = b if np.any(b) else None
    i_decay, v_decay = decays(layer)
    if layer.kind == "conv":
        exp, bits = 0, 8
    else:
        opt = optimize_weight_bits(np.hstack([wq.reshape(wq.shape[0], -1)] + ([wrq] if wrq is not None else [])))
        exp, bits = opt.weight_exp, opt.num_weight_bits
    return QuantizedLayer(wq, wrq, bq, i_decay, v_decay, v_th, np.asarray(s_i, np.float64),
                          exp, bits, choice, notes, readout_range=readout_range)  # fmt: skip


def _relay_weights(layer, wq: np.ndarray, wrq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The relays' rows (see :mod:`.replicas`): no feed-forward input, and
    :data:`~.replicas.RELAY_WEIGHT` from the replica each one mirrors (in a
    group of J replicas then J relays, the neuron J places before it)."""
    from .replicas import RELAY_WEIGHT

    relay = np.asarray(layer.relay, bool)
    copies = int(np.argmax(relay))  # the first group's first relay follows its J replicas
    rows = np.flatnonzero(relay)
    wq, wrq = wq.copy(), wrq.copy()
    wq[relay] = 0
    wrq[relay] = 0
    wrq[rows, rows - copies] = RELAY_WEIGHT
    return wq, wrq


def netx_layer(layer, q: QuantizedLayer) -> NetxLayer:
    """The netx layer of a float layer quantized as ``q``."""
    neuron = NetxNeuron(q.i_decay, q.v_decay, q.v_th)
    out = NetxLayer(layer.kind, tuple(layer.in_shape), tuple(layer.shape),
                    q.weight.astype(np.float32), neuron,
                    weight_rec=None if q.weight_rec is None else q.weight_rec.astype(np.float32),
                    bias=None if q.bias is None else q.bias.astype(np.float32),
                    delay=None if layer.delay is None else layer.delay.astype(np.float32),
                    stride=tuple(layer.stride), padding=tuple(layer.padding),
                    dilation=tuple(layer.dilation), groups=int(layer.groups),
                    flatten=bool(layer.flatten))  # fmt: skip
    return out


def lava_of(layer, q: QuantizedLayer) -> LavaLayer:
    return lava_layer(netx_layer(layer, q))


# --------------------------------------------------------------------------------------
# scoring against the float network
# --------------------------------------------------------------------------------------


def output_counts(outputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """[B, n] totals over time of every output, concatenated."""
    parts = [np.asarray(a, np.float64).sum(axis=0).reshape(np.asarray(a).shape[1], -1)
             for a in outputs.values()]  # fmt: skip
    return np.concatenate(parts, axis=1)


def score(reference: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    """(argmax agreement, normalized count distance) of [B, n] totals: the
    fraction of samples whose predictions agree (ties to the lowest index),
    and the mean absolute difference over the mean reference magnitude."""
    agree = float(np.mean(np.argmax(reference, 1) == np.argmax(got, 1)))
    return agree, relative_l1(reference, got, floor=1e-9)


def matches(reference: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Per sample: whether the argmax prediction of [B, n] totals ``got`` is
    the reference's (ties to the lowest index): the terms of :func:`score`'s
    agreement."""
    return np.argmax(reference, 1) == np.argmax(got, 1)


def keeps(new: tuple[float, float], old: tuple[float, float], new_match: np.ndarray,
          old_match: np.ndarray) -> bool:  # fmt: skip
    """Whether the full search keeps a move: it predicts significantly more
    calibration samples as the float network does (at least
    :data:`MOVE_MARGIN`, and :data:`MOVE_SIGMAS` standard deviations of a
    sign test on the samples where the two choices differ), or no fewer
    with a smaller count distance. A win of one to four samples in a few
    hundred is noise (the task networks' predictions flip on about 3 % of
    samples under any 8-bit rounding; docs/loihi2.md), and kept it costs test
    accuracy. Below :data:`SIGNIFICANT_SAMPLES` samples nothing is
    significant: :func:`better` decides."""
    if new_match.size < SIGNIFICANT_SAMPLES:
        return better(new, old)
    if predicts_more(new_match, old_match):
        return True
    return int(np.sum(new_match & ~old_match)) >= int(np.sum(old_match & ~new_match)) and (
        new[1] < old[1] - 1e-12
    )


def predicts_more(new_match: np.ndarray, old_match: np.ndarray) -> bool:
    """Whether ``new`` predicts significantly more calibration samples as the
    float network does than ``old`` (per-sample :func:`matches`): at least
    :data:`MOVE_MARGIN` more, and :data:`MOVE_SIGMAS` standard deviations of
    a sign test on the samples where the two differ; never on fewer than
    :data:`SIGNIFICANT_SAMPLES` samples."""
    if new_match.size < SIGNIFICANT_SAMPLES:
        return False
    won = int(np.sum(new_match & ~old_match))
    lost = int(np.sum(old_match & ~new_match))
    return won > lost and won - lost >= max(MOVE_MARGIN, MOVE_SIGMAS * np.sqrt(won + lost))


@dataclass
class Search:
    """The search's result and what it tried (for the report)."""

    layers: list[QuantizedLayer]
    chip_spikes: list[np.ndarray]  # per layer, [T + L, B, n] uint8 on the calibration inputs
    outputs: dict[str, np.ndarray]  # the chip's aligned outputs on the calibration inputs
    agreement: float
    distance: float
    max_abs_agreement: float
    max_abs_distance: float
    tried: list[dict] = field(default_factory=list)
    note: str = ""  # why the search's result is what it is, where it is not its own choice


class ChipRunner:
    """The chip on fixed inputs, layer by layer, caching each layer's spikes."""

    def __init__(self, float_net, x: np.ndarray, input_bits: int, pad: int | None = None) -> None:
        """``pad``: steps of zeros after the inputs (default: the latency; more
        lets runs of networks built differently line up)."""
        from .simulator import reset_steps

        self.net = float_net
        self.latency = float_net.latency
        t, b = x.shape[:2]
        extra = self.latency if pad is None else max(pad, self.latency)
        self.steps = t + extra
        pad = np.zeros((extra, b) + x.shape[2:], x.dtype)
        self.x = np.concatenate([x, pad])
        self.t = t
        self.input_bits = input_bits
        self.resets = [reset_steps(k, self.steps, self.steps, 1)
                       for k in range(len(float_net.layers))]  # fmt: skip

    def layer(self, k: int, lava: LavaLayer, spikes_in: np.ndarray, record: bool = False):
        from .simulator import simulate_layer

        graded = k == 0 and self.input_bits > 0
        return simulate_layer(lava, spikes_in, graded=graded, resets=self.resets[k], record=record)

    def input_spikes(self) -> np.ndarray:
        x = self.x.reshape(self.steps, self.x.shape[1], -1)
        return x if self.input_bits else (x != 0)

    def outputs(self, last_layer, q: QuantizedLayer, s, v) -> dict[str, np.ndarray]:
        """The aligned outputs of the last layer's run (spikes, or the dequantized
        voltage of a readout)."""
        lat = self.latency
        if last_layer.spiking:
            vals = select_outputs(s[lat : lat + self.t], self.net.output_select)
        else:
            vals = (v[lat : lat + self.t] / (64.0 * q.scale)).astype(np.float32)
        b = vals.shape[1]
        return {name: vals.reshape((self.t, b) + tuple(shape)) for name, shape in self.net.outputs}

    def window(self, k: int, s: np.ndarray) -> np.ndarray:
        """Layer k's spikes [T, B, n] in the steps that answer the inputs."""
        start = self.net.offset(k)
        return s[start : start + self.t]


def select_outputs(spikes: np.ndarray, select: np.ndarray | None) -> np.ndarray:
    """The last layer's spikes [T, B, n] as the float network's output
    counts: neuron k counts for output element ``select[k]`` (-1: for none;
    None: neuron k is element k)."""
    if select is None:
        return np.asarray(spikes, np.float32)
    sel = np.asarray(select, np.int64)
    pick = np.zeros((sel.size, int(sel.max()) + 1), np.float32)
    keep = np.flatnonzero(sel >= 0)
    pick[keep, sel[keep]] = 1.0
    t, b = spikes.shape[:2]
    return (np.asarray(spikes, np.float32).reshape(t * b, -1) @ pick).reshape(t, b, -1)


def rate_gains(layer, quantize, run, target: np.ndarray, iterations: int = 6) -> np.ndarray:
    """Per-neuron threshold gains that bring each neuron's spike count on the
    chip to its count in the float network (``target``, per neuron, capped at
    one spike per step): where Loihi sends one spike for the float neuron's
    several, or loses the residual a subtractive reset keeps, a lower
    threshold restores the rate. ``quantize(gain)`` -> a quantized layer,
    ``run(q)`` -> the chip's spike counts per neuron. Conv layers get one gain
    per channel (their weights are shared)."""
    n = layer.size
    per_channel = layer.kind == "conv"
    groups = layer.shape[0] if per_channel else n

    def grouped(counts: np.ndarray) -> np.ndarray:
        return counts.reshape(groups, -1).sum(1) if per_channel else counts

    want = grouped(target)
    g = np.ones(groups)
    best, best_err = g.copy(), np.inf
    for _ in range(iterations):
        full = np.repeat(g, n // groups) if per_channel else g
        got = grouped(run(quantize(full)))
        err = float(np.abs(got - want).sum())
        if err < best_err:
            best, best_err = g.copy(), err
        live = (want > 0) | (got > 0)
        ratio = np.where(live, (got + 0.5) / (want + 0.5), 1.0)
        g = np.clip(g * np.clip(ratio, 0.5, 2.0) ** 0.7, 0.2, 4.0)
    return np.repeat(best, n // groups) if per_channel else best


def searched(layer) -> bool:
    """Whether the search tunes the layer's threshold: a spiking layer that
    Loihi's neuron computes differently from the float one, as it is
    (:mod:`.replicas`' constructions are exact, or nearly, at their
    threshold)."""
    return layer.spiking and bool(layer.notes) and layer.construction == "plain"


def count_distance(chip: np.ndarray, ref: np.ndarray) -> float:
    """The L1 distance of spike counts (per sample and neuron), over the
    reference's total."""
    return relative_l1(ref, chip, floor=1e-9, totals=True)


def choose(cands: list[tuple], samples: int) -> tuple:
    """Of candidates whose first element is (-agreement, distance): the one
    with the smallest count distance among those whose agreement is within
    one standard error (over ``samples``) of the best: argmax agreement on
    a few hundred samples moves by a sample or two between candidates that
    are equally good, the distance of the counts much less. Earlier
    candidates win ties."""
    if len(cands) == 1 or len(cands[0][0]) < 2:
        return cands[0]
    top = max(-c[0][0] for c in cands)
    tol = float(np.sqrt(max(top * (1 - top), 1.0 / samples) / samples))
    near = [c for c in cands if -c[0][0] >= top - tol - 1e-12]
    return min(near, key=lambda c: c[0][1])


@dataclass
class _Judge:
    """Scores a candidate of one layer from its spike counts [B, n] in the
    layer's window (and logs it in ``tried``): the last layer by the
    agreement of the output's argmax predictions, then the count distance
    (key (-agreement, distance)); a hidden layer by the count distance of its
    float neurons (each summing its replicas) to the float layer's."""

    layer: object
    last: bool
    ref: np.ndarray  # the float outputs' counts [B, n_out]
    counts_ref: np.ndarray | None  # the float layer's counts [B, n]
    select: np.ndarray | None  # the last layer's output selection
    tried: list

    def __call__(self, counts: np.ndarray | None, label: str) -> tuple[tuple, dict]:
        if counts is None:
            return (0.0,), {}
        if self.last:
            got = select_outputs(counts[None], self.select)[0]
            sc = score(self.ref, got.reshape(got.shape[0], -1))
            key, entry = (-sc[0], sc[1]), {"agreement": sc[0], "distance": sc[1]}
        else:
            owner = getattr(self.layer, "owner", None)
            d = count_distance(select_outputs(counts[None], owner)[0], self.counts_ref)
            key, entry = (d,), {"count_distance": d}
        self.tried.append({"layer": self.layer.name, "choice": label, **entry})
        return key, entry


def _gains(layer, factors: list[float], counts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-neuron threshold gains from a sweep: ``counts`` [K, B, n] of the
    layer at threshold ``factors``, ``target`` [B, n] the float layer's; each
    output channel (conv) or neuron (dense) takes the factor whose counts are
    closest to the target's (summed over samples)."""
    k_, b, n = counts.shape
    groups = layer.shape[0] if layer.kind == "conv" else n
    err = np.abs(counts.astype(np.float64) - target.reshape(1, b, n)).sum(axis=1)
    err = err.reshape(k_, groups, -1).sum(axis=2)  # [K, groups]
    pick = np.asarray(factors, np.float64)[np.argmin(err, axis=0)]
    return np.repeat(pick, n // groups)


def _threshold_counts(runner: ChipRunner, k: int, layer, quants, spikes_in, scored: bool):
    """(factor, quantized layer, spike counts [B, n] in the layer's window)
    for each candidate of ``quants``; candidates that differ only in their
    threshold mantissa share one run of the synapse (``sweep_thresholds``).
    Counts are None when not ``scored``."""
    from .simulator import sweep_thresholds

    if not scored:
        for f, q in quants:
            yield f, q, None
        return
    start = runner.net.offset(k)
    window = (start, start + runner.t)
    groups: dict[tuple, list] = {}
    for f, q in quants:
        lv = lava_of(layer, q)
        key = (lv.weights.tobytes(), None if lv.weights_rec is None else lv.weights_rec.tobytes(),
               None if lv.bias_mant is None else lv.bias_mant.tobytes(), lv.weight_exp)  # fmt: skip
        groups.setdefault(key, []).append((f, q, lv))
    for members in groups.values():
        lv = members[0][2]
        graded = k == 0 and runner.input_bits > 0
        counts = sweep_thresholds(lv, spikes_in, [m[2].v_th for m in members], graded=graded,
                                  resets=runner.resets[k], window=window)  # fmt: skip
        for (f, q, _), c in zip(members, counts):
            yield f, q, c


def fast_search(float_net, builds, x: np.ndarray, reference: Mapping[str, np.ndarray], *,
                input_bits: int, readout_range: float | None,
                layer_counts: Mapping[str, np.ndarray], currents=None):  # fmt: skip
    """Build and scale one layer at a time, each candidate run once on what
    the chosen layers before it send (no later layer is run). Candidates of
    layer k: its construction of ``builds`` (:mod:`.replicas`, at its own
    threshold) and, for a :func:`searched` plain layer, Loihi's neuron as it
    is with each threshold factor of :data:`FAST_FACTORS`. A hidden layer
    keeps the candidate whose spike counts per sample and float neuron on
    the calibration inputs come closest to the float layer's
    (``layer_counts``: [B, n] totals over the steps); the last layer, the one whose
    outputs best agree with the float network's (argmax predictions, then the
    count distance). Returns (the network as built, the search's result)."""
    from .replicas import Build, apply

    ref = output_counts(reference)
    last = len(float_net.layers) - 1
    tried: list[dict] = []
    chosen: list[Build] = []
    plain = Build()
    cur = None
    picked: list[tuple[QuantizedLayer, np.ndarray]] = []
    outs: dict[str, np.ndarray] = {}
    net = float_net
    for k in range(last + 1):
        options = [builds[k]] + ([plain] if builds[k].kind != "plain" else [])
        cands: list[tuple] = []
        refusal: NircError | None = None
        for build in options:
            trial = chosen + [build] + [plain] * (last - k)
            net = apply(float_net, trial, currents)
            runner = ChipRunner(net, x, input_bits, pad=2 * (last + 1))
            spikes_in = runner.input_spikes() if cur is None else cur
            layer = net.layers[k]
            counts_ref = layer_counts.get(float_net.layers[k].name)
            tune = searched(layer) and (k == last or counts_ref is not None)
            several = tune or len(options) > 1
            scored = several and (layer.spiking if k == last else counts_ref is not None)
            rr = readout_range if k == last else None
            quants = []
            for f in FAST_FACTORS if tune else (1.0,):
                try:
                    quants.append((f, quantize_layer(layer, Choice(1.0, f), readout_range=rr)))
                except NircError as e:
                    refusal = e
            if not scored:
                quants = quants[:1]
            target = ref if k == last else counts_ref
            judge = _Judge(layer, k == last, ref, counts_ref, net.output_select, tried)
            swept = list(_threshold_counts(runner, k, layer, quants, spikes_in, scored))
            for f, q, counts in swept:
                key, _ = judge(counts, f"{build.label}, threshold x {f:g}")
                cands.append((key, build, q, runner, None))
            if tune and len(swept) > 1 and swept[0][2] is not None:
                # per channel (conv) or neuron (dense): the factor whose counts come
                # closest to the float layer's, as per-neuron threshold gains
                gain = _gains(layer, [f for f, _, _ in swept], np.stack([c for _, _, c in swept]),
                              np.asarray(target, np.float64))  # fmt: skip
                try:
                    q = quantize_layer(layer, Choice(), readout_range=rr, gain=gain)
                except NircError:
                    q = None
                if q is not None:
                    q.gain = gain
                    s, _, v = runner.layer(k, lava_of(layer, q), spikes_in,
                                           record=(k == last and not layer.spiking))  # fmt: skip
                    counts = runner.window(k, s).sum(axis=0).astype(np.int32)
                    key, _ = judge(counts, f"{build.label}, per-neuron gains "
                                   f"{float(gain.min()):.3g}..{float(gain.max()):.3g}")  # fmt: skip
                    cands.append((key, build, q, runner, (s, v)))
        if not cands:  # every candidate refused: say why (the last refusal)
            raise refusal or NircError("the layer has no candidate scale", where=float_net.layers[k].name)
        _, build, q, runner, ran = choose(cands, x.shape[1]) if k == last else min(cands, key=lambda c: c[0])
        layer = runner.net.layers[k]
        spikes_in = runner.input_spikes() if cur is None else cur
        s, v = ran if ran is not None else runner.layer(
            k, lava_of(layer, q), spikes_in, record=(k == last and not layer.spiking))[::2]  # fmt: skip
        chosen.append(build)
        picked.append((q, s))
        cur = s
        if k == last:
            outs = runner.outputs(layer, q, s, v)
    net = apply(float_net, chosen, currents)
    final = score(ref, output_counts(outs))
    base = max_abs_run(float_net, x, ref, input_bits, readout_range)
    found = Search([q for q, _ in picked], [s for _, s in picked], outs, final[0], final[1],
                   base.agreement, base.distance, tried)  # fmt: skip
    # the layer-by-layer choices are each the best for their layer, not for the
    # network: where the max-abs baseline predicts significantly more samples
    # as the float network does, it is what the chip gets
    hit, base_hit = matches(ref, output_counts(outs)), matches(ref, output_counts(base.outputs))
    if predicts_more(base_hit, hit):
        base = max_abs_run(float_net, x, ref, input_bits, readout_range, keep=True)
        base.note = (f"max-abs scales kept: they predict {int(base_hit.sum())} of "
                     f"{base_hit.size} calibration samples as the float network does, the "
                     f"layer-by-layer choice {int(hit.sum())}")  # fmt: skip
        tried.append({"layer": "all", "choice": base.note, "agreement": base.agreement,
                      "distance": base.distance})  # fmt: skip
        base.tried = tried
        return float_net, base
    return net, found


def max_abs_run(float_net, x: np.ndarray, ref: np.ndarray, input_bits: int,
                readout_range: float | None, keep: bool = False) -> Search:  # fmt: skip
    """The baseline: every layer Loihi's neuron at its max-abs scale and
    threshold, run on ``x``; with ``keep``, every layer's spikes too (else
    only the outputs': the calibration's spikes of every layer, twice, would
    raise the compile's peak memory)."""
    runner = ChipRunner(float_net, x, input_bits)
    last = len(float_net.layers) - 1
    cur, v, q = runner.input_spikes(), None, None
    layers, spikes = [], []
    for k, layer in enumerate(float_net.layers):
        q = quantize_layer(layer, Choice(), readout_range=readout_range if k == last else None)
        cur, _, v = runner.layer(k, lava_of(layer, q), cur, record=(k == last and not layer.spiking))
        layers.append(q)
        if keep:
            spikes.append(cur)
    outs = runner.outputs(float_net.layers[last], q, cur, v)
    agree, dist = score(ref, output_counts(outs))
    return Search(layers, spikes, outs, agree, dist, agree, dist)


def search(float_net, x: np.ndarray, reference: Mapping[str, np.ndarray], *, input_bits: int,
           readout_range: float | None, float_counts: Mapping[str, np.ndarray] | None = None,
           fixed: Mapping[int, Choice] | None = None, quick: bool = False) -> Search:  # fmt: skip
    """Choose each layer's scale (see the module docstring). ``x`` [T, B,
    *input] calibration inputs, ``reference`` the float outputs on them,
    ``float_counts`` each spiking layer's spike count per neuron in the float
    network on them (enables the per-neuron rate gains). ``quick``: only the
    threshold factors 1 and 0.7, for every approximated layer at once (for
    random calibration spikes, which say little about a task)."""
    layers = float_net.layers
    runner = ChipRunner(float_net, x, input_bits)
    ref = output_counts(reference)
    last = len(layers) - 1
    choices = [Choice() for _ in layers]
    gains: list[np.ndarray | None] = [None] * len(layers)
    if fixed:
        for k, c in fixed.items():
            choices[k] = c
    rr = readout_range

    def quant(k: int, c: Choice, g=None) -> QuantizedLayer:
        q = quantize_layer(layers[k], c, readout_range=rr if k == last else None, gain=g)
        q.gain = g
        return q

    qs = [quant(k, c) for k, c in enumerate(choices)]
    lavas = [lava_of(layers[k], q) for k, q in enumerate(qs)]

    def run_from(k: int, spikes_in, qk, lk):
        """Run layers k.. with layer k as (qk, lk); -> (spikes per layer, outputs)."""
        spikes, cur, v = [], spikes_in, None
        for j in range(k, len(layers)):
            lv = lk if j == k else lavas[j]
            s, _, v = runner.layer(j, lv, cur, record=(j == last and not layers[j].spiking))
            spikes.append(s)
            cur = s
        return spikes, runner.outputs(layers[last], qk if k == last else qs[last], spikes[-1], v)

    cache = [runner.input_spikes()]
    spikes, outs = run_from(0, cache[0], qs[0], lavas[0])
    cache += spikes
    best = score(ref, output_counts(outs))
    best_match = matches(ref, output_counts(outs))
    max_abs = best
    tried = [{"layer": "all", "choice": "max-abs", "agreement": best[0], "distance": best[1]}]

    def window_counts(k: int, s: np.ndarray) -> np.ndarray:
        return runner.window(k, s).sum(axis=(0, 1), dtype=np.float64).reshape(-1)

    def consider(k: int, c: Choice, g, label: str) -> None:
        nonlocal best, best_match
        try:
            q = quant(k, c, g)
        except NircError:
            return
        lv = lava_of(layers[k], q)
        sp, outs = run_from(k, cache[k], q, lv)
        sc = score(ref, output_counts(outs))
        hit = matches(ref, output_counts(outs))
        tried.append({"layer": layers[k].name, "choice": label, "agreement": sc[0],
                      "distance": sc[1]})  # fmt: skip
        if keeps(sc, best, hit, best_match):
            best, best_match = sc, hit
            choices[k], gains[k], qs[k], lavas[k] = c, g, q, lv
            cache[k + 1 :] = sp

    approximated = [k for k, layer in enumerate(layers)
                    if searched(layer) and not (fixed and k in fixed)]  # fmt: skip
    if quick:  # one threshold factor for every approximated layer at once
        for f in QUICK_FACTORS[1:] if approximated else ():
            trial = [quant(k, Choice(1.0, f)) if k in approximated else qs[k]
                     for k in range(len(layers))]  # fmt: skip
            trial_lavas = [lava_of(layers[k], q) for k, q in enumerate(trial)]
            saved = (list(qs), list(lavas))
            qs[:], lavas[:] = trial, trial_lavas
            sp, outs = run_from(0, cache[0], qs[0], lavas[0])
            sc = score(ref, output_counts(outs))
            tried.append({"layer": "approximated layers", "choice": f"threshold x {f:g}",
                          "agreement": sc[0], "distance": sc[1]})  # fmt: skip
            if better(sc, best):
                best = sc
                best_match = matches(ref, output_counts(outs))
                for k in approximated:
                    choices[k] = Choice(1.0, f)
                cache[1:] = sp
            else:
                qs[:], lavas[:] = saved
    for k, layer in enumerate(layers):
        if quick or (fixed and k in fixed):
            continue
        for f in THRESHOLD_FACTORS if k in approximated else ():
            consider(k, Choice(1.0, f), None, f"threshold x {f:g}")
        if (k in approximated and float_counts is not None and layer.name in float_counts
                and np.shape(float_counts[layer.name])[1:] == (layer.size,)):  # fmt: skip
            cap = float(runner.t * runner.x.shape[1])
            target = np.minimum(np.asarray(float_counts[layer.name], np.float64).sum(axis=0), cap)

            def run_counts(q, k=k):
                s, _, _ = runner.layer(k, lava_of(layers[k], q), cache[k])
                return window_counts(k, s)

            g = rate_gains(layer, lambda gg, k=k: quant(k, Choice(), gg), run_counts, target)
            for f in (1.0, 0.9, 1.1):
                consider(k, Choice(1.0, f), g, f"per-neuron rate gains "
                         f"{float(g.min()):.3g}..{float(g.max()):.3g}, threshold x {f:g}")  # fmt: skip
        base = choices[k]
        for c in CLIPS[1:] if layer.construction == "plain" else ():
            consider(k, Choice(c, base.threshold_factor), gains[k],
                     f"clip {c:g}, threshold x {base.threshold_factor:g}"
                     + (", rate gains" if gains[k] is not None else ""))  # fmt: skip
    # more passes: each layer's threshold factor refined with the other layers' choices
    for _ in range(0 if quick else REFINE_PASSES):
        before = best
        for k, layer in enumerate(layers):
            if (fixed and k in fixed) or not layer.spiking or layer.construction != "plain":
                continue
            base = choices[k]
            for step in REFINE:
                c = Choice(base.clip, round(base.threshold_factor * step, 4))
                consider(k, c, gains[k], f"refined: clip {c.clip:g}, threshold x "
                         f"{c.threshold_factor:g}" + (", rate gains" if gains[k] is not None else ""))  # fmt: skip
        if best == before:
            break
    spikes, outs = run_from(0, cache[0], qs[0], lavas[0])
    final = score(ref, output_counts(outs))
    return Search(qs, spikes, outs, final[0], final[1], max_abs[0], max_abs[1], tried)


def evaluate(float_net, qlayers, x: np.ndarray, reference: Mapping[str, np.ndarray], *,
             input_bits: int, found: Search) -> Search:
    """``found``'s layers run on ``x`` (the whole calibration set when the
    search used a part of it): its spikes, outputs and agreement there, and
    the max-abs baseline's."""
    runner = ChipRunner(float_net, x, input_bits)
    ref = output_counts(reference)
    last = len(float_net.layers) - 1

    def run(qs):
        spikes, cur, v = [], runner.input_spikes(), None
        for k, (layer, q) in enumerate(zip(float_net.layers, qs)):
            s, _, v = runner.layer(k, lava_of(layer, q), cur,
                                   record=(k == last and not layer.spiking))  # fmt: skip
            spikes.append(s)
            cur = s
        return spikes, runner.outputs(float_net.layers[last], qs[last], spikes[-1], v)

    spikes, outs = run(qlayers)
    agree, dist = score(ref, output_counts(outs))
    base = [quantize_layer(layer, Choice(), readout_range=q.readout_range)
            for layer, q in zip(float_net.layers, qlayers)]  # fmt: skip
    _, base_outs = run(base)
    b_agree, b_dist = score(ref, output_counts(base_outs))
    return Search(qlayers, spikes, outs, agree, dist, b_agree, b_dist, found.tried)


__all__ = ["Choice", "QuantizedLayer", "Search", "better", "decays", "evaluate", "keeps", "lava_of",
           "matches", "max_abs_scale", "netx_layer", "output_counts", "quantize_layer", "rate_gains",
           "score", "search", "select_outputs"]  # fmt: skip
