"""Speck quantization: one scale per layer, searched by simulating the chip.

A core holds int8 weights and biases and an int16 membrane, in the same units:
an input spike adds its weight to the membrane. So one scale ``S`` per layer
(integer units per float unit of the membrane) fixes everything::

    weights        = clip(round(W * S), -128, 127)
    biases         = clip(round(b * S), -128, 127)       (added every step)
    threshold_high = thr * S + 1  for the float test `v > thr` (integers: v_int > thr * S),
                     thr * S      for `v >= thr` (see threshold_variants for `v > thr`
                                  with a subtractive reset)
    threshold_low  = -32768       (the float neuron has no lower bound)

Why not the generic `quantize` pass: it gives each weight op a power-of-two
``shift`` and neurons fixed-point multipliers, which Speck does not have, and
it scores candidates with the chip-neutral integer semantics, whereas the
choice here must be scored with the chip's own (``>=`` against
``threshold_high``, the int16 saturation and ``threshold_low`` clamp, the
spike mode): candidates are run through the simulator's neuron model
(:func:`~.simulator.integrate_and_fire` and :func:`~.simulator.conv_events`,
the very code of :class:`~.simulator.SpeckSimulator`).

The search, layer by layer in routing order. Scales: the max-abs scale
``S0 = 127 / max(|W|, |b|)`` (weights fill int8, Sinabs' rule) and ``S0``
times 1.5, 2 and 3 (finer steps, the largest weights saturating, as long
as at most 2% of them do: a calibration set with few spikes must not talk
the search into distorting the weights), each
nudged so that ``thr * S`` is an integer ``n`` (no rounding error in the
threshold) and capped so that ``threshold_high`` fits int16. Thresholds:
``n + 1`` and ``n`` for each scale, and for a float ``v > thr`` with a
subtractive reset ``n`` on membranes started at -1, which is exact (see
:func:`threshold_variants`). Every
candidate is simulated on the layer's calibration input events, which come
from the layers already quantized (so a layer can make up for the error
upstream), and compared with the float network's spikes of that layer: the
smallest mean absolute difference of the neurons' spike counts wins, then the
most spikes equal step by step, then the earlier candidate. With numba, a
compiled kernel runs the candidates of a scale on every idle core and keeps
only what these scores need (each neuron's spike count, how many steps spike
as the float layer does: :func:`candidate_scores`), then runs the chosen one
again for its spikes: the paper's N-MNIST CNN calibrated on 128 samples of
100 steps compiled in 12.6 s and 1.6 GiB where the numpy simulation of every
candidate's spikes took 18.7 s and 2.0 GiB (300 steps: 31 s and 4.3 GiB,
against 59-71 s and 5.5 GiB), choosing the same; with the float reference
run a block of samples at a time (:func:`float_reference`), 1.0 GiB (300
steps: 24-26 s and 2.7 GiB). Without numba, all
candidates of a scale run at once, stacked on an axis of one simulation.

Measured on the N-MNIST CNN (benchmarks/speck.py): the choice matters less
than one would hope, because that network is chaotic on random inputs: a
relative perturbation of 1e-3 of its float weights already moves about one
output spike count in five by more than one (benchmarks/fidelity.py).

Weights are rounded to nearest. Error-compensating rounding was measured and
not kept (paper CNN, the three readings, T = 300, p = 0.05, 3 calibration
seeds x 2 x 16 fresh samples; mean agreement within +-1, zero / subtract /
sinabs): nearest 0.768 / 0.691 / 0.632; GPTQ-style sequential rounding
against the im2col input-count Gram matrix of the calibration inputs 0.731 /
0.651 / 0.584; the same against its rank-one mean 0.733 / 0.633 / 0.575;
flipping the cheapest roundings per output channel until the rate-weighted
error sum is near zero 0.753 / 0.694 / 0.615. They cut the systematic error
(the weighted error sums by 10-100x) but not the per-weight one, and the
chaotic network responds to the latter: on these inputs int8 weights behave
like 1e-2 relative noise whatever the rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from nirc.diagnostics import NircError
from nirc.metrics import mean_spike_count, spike_count_agreement, spike_counts, step_agreement

from .layer import SpeckLayer
from .simulator import convolve, integrate_and_fire, sum_pool
from .spec import SPECK, SpeckSpec

F64 = np.float64
MULTIPLIERS = (1.0, 1.5, 2.0, 3.0)
# a finer scale is tried only while it saturates at most this fraction of the weights
MAX_CLIPPED = 0.02
# elements of one stacked simulation (candidates x steps x batch x neurons)
_CHUNK_ELEMENTS = 1 << 22
REFERENCE_BLOCK = 1 << 25  # float64 values the float reference records per block of samples


@dataclass
class LayerQuantization:
    name: str
    scale: float
    choice: str
    threshold_high: int
    clipped: float  # fraction of weights saturated
    step_agreement: float  # spikes equal to the float layer's, step by step
    count_agreement: float  # spike counts within +-1 of the float layer's


@dataclass
class QuantizationReport:
    layers: list[LayerQuantization] = field(default_factory=list)
    agreement: float = 1.0  # outputs: spike counts within +-1, calibration inputs
    per_output: dict[str, float] = field(default_factory=dict)
    reference_spikes: float = 0.0  # the float outputs' mean spike count per neuron
    calibration: str = ""
    prediction_agreement: float | None = None  # calibration samples predicted alike
    accuracy: dict[str, float] | None = None  # on the calibration labels: float, chip

    def lines(self) -> list[str]:
        out = [f"speck quantization (one scale per layer; calibration: {self.calibration}):"]
        for q in self.layers:
            out.append(
                f"  {q.name}: S = {q.scale:.6g} ({q.choice}), threshold_high {q.threshold_high}, "
                f"{100 * q.clipped:.1f}% of weights clipped; spikes equal {100 * q.step_agreement:.1f}%, "
                f"counts within +-1 {100 * q.count_agreement:.1f}%"
            )
        if self.prediction_agreement is not None:
            line = (f"  predictions as the float network's on {100 * self.prediction_agreement:.2f} %"
                    " of the calibration samples")  # fmt: skip
            if self.accuracy:
                line += (f"; accuracy on their labels: float {100 * self.accuracy['float']:.2f} %,"
                         f" chip {100 * self.accuracy['chip']:.2f} %")  # fmt: skip
            out.append(line)
        out.append(
            f"  outputs: spike-count agreement within +-1 on the calibration inputs: "
            f"{self.agreement:.4f} (the float outputs spike {self.reference_spikes:.3g} times "
            "per neuron)"
        )
        return out

    def to_dict(self) -> dict:
        return {
            "calibration": self.calibration,
            "prediction_agreement": None if self.prediction_agreement is None
            else round(self.prediction_agreement, 6),
            "calibration_accuracy": None if self.accuracy is None
            else {k: round(v, 6) for k, v in self.accuracy.items()},
            "agreement": round(self.agreement, 6),
            "per_output": {k: round(v, 6) for k, v in sorted(self.per_output.items())},
            "reference_spikes_per_output_neuron": round(self.reference_spikes, 4),
            "layers": [
                {
                    "name": q.name,
                    "scale": float(f"{q.scale:.9g}"),
                    "choice": q.choice,
                    "threshold_high": q.threshold_high,
                    "clipped_weights": round(q.clipped, 6),
                    "spike_agreement": round(q.step_agreement, 6),
                    "count_agreement": round(q.count_agreement, 6),
                }
                for q in self.layers
            ],
        }


# --------------------------------------------------------------------------------------
# inputs and the float reference
# --------------------------------------------------------------------------------------


def calibration_inputs(
    module, path: str | None, *, steps: int, rate: float, batch: int, seed: int,
    samples: int | None = None, role: str = "calibration",
) -> dict[str, np.ndarray]:  # fmt: skip
    """See :func:`nirc.interpreter.snn.calibration_inputs`."""
    from nirc.interpreter.snn import calibration_inputs as inputs_for

    return inputs_for(module, path, steps=steps, rate=rate, batch=batch, seed=seed,
                      samples=samples, role=role)  # fmt: skip


def float_reference(module, inputs: Mapping[str, np.ndarray], probes: Sequence[str]) -> dict:
    """The float `snn` network's outputs and the spikes of ``probes`` (neuron
    names), each ``[T, B, *shape]``; the probes' spike counts as the narrowest
    integers that hold them (:func:`narrow_counts`), the outputs as computed.
    The interpreter records every probe as float64 in one array: the N-MNIST
    CNN's layers on 128 samples of 300 steps took 2.6 GiB for the whole
    quantization, an eighth of that as bytes. So a block of samples at a
    time (:data:`REFERENCE_BLOCK` recorded values), each block's counts
    narrowed before the next runs (samples are independent, and the
    interpreter's numbers for one do not depend on the others)."""
    from nirc.interpreter.snn import run_snn

    arrays = {k: np.asarray(v) for k, v in inputs.items()}
    steps, batch = next(iter(arrays.values())).shape[:2] if arrays else (1, 1)
    first = run_snn(module, {k: v[:, :1] for k, v in arrays.items()}, record=list(probes))
    width = sum(int(np.prod(np.shape(v)[2:])) for v in first.values())
    per = max(1, REFERENCE_BLOCK // max(1, steps * width))
    parts: dict[str, list[np.ndarray]] = {}
    for b0 in range(0, batch, per):
        out = run_snn(module, {k: v[:, b0 : b0 + per] for k, v in arrays.items()},
                      record=list(probes))  # fmt: skip
        for k, v in out.items():
            a = np.asarray(v)
            if k in probes and a.dtype.kind == "f" and np.array_equal(a, np.rint(a)):
                a = narrow_counts(a)
            parts.setdefault(k, []).append(np.array(a) if a.base is not None else a)
    # a probe is int64 in a block only where a count there passes a byte: joined
    # blocks are what narrowing the whole would give
    return {k: p[0] if len(p) == 1 else np.concatenate(p, axis=1) for k, p in parts.items()}


def narrow_counts(a: np.ndarray) -> np.ndarray:
    """Non-negative integer counts (integers, integral floats or bools) as
    uint8 where they fit (what the interpreter's convolution takes them as
    anyway), else int64."""
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "b" or a.size and a.min() >= 0 and a.max() <= 255:
        return a.astype(np.uint8)
    return a.astype(np.int64)


# --------------------------------------------------------------------------------------
# one layer
# --------------------------------------------------------------------------------------


def _int_type(bits: int):
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


def default_threshold(threshold: float, scale: float, compare: str) -> int:
    """The integer threshold that makes ``v_int >= threshold_high`` the float
    test: ``floor(thr * S) + 1`` for ``v > thr``, ``ceil(thr * S)`` for ``v >= thr``."""
    x = round(threshold * scale, 9)  # ignore float noise in the product
    return int(math.floor(x) + 1 if compare == "gt" else math.ceil(x))


@dataclass(frozen=True)
class Variant:
    """How a layer's threshold is realized at a given scale: ``threshold_high``
    and an ``offset`` added to every membrane from the start (see
    :func:`threshold_variants`)."""

    threshold_high: int
    offset: int = 0
    label: str = ""


def threshold_variants(fl, scale: float) -> list[Variant]:
    """The thresholds to try at ``scale``, the exact one first.

    With ``n = thr * S`` an integer, the chip's ``v >= threshold_high``
    (which also fixes what a subtractive reset removes) realizes a float
    ``v >= thr`` exactly with ``n``, a ``v > thr`` that resets to zero exactly
    with ``n + 1``, and a ``v > thr`` that subtracts exactly with ``n`` on a
    membrane started at -1 (``neurons_initial_value``): it then compares
    ``v - 1 >= n`` and keeps the offset through every subtraction. The other
    two of ``n``, ``n + 1`` are tried as well (the float threshold may not be
    on the integer grid)."""
    x = round(fl.threshold * scale, 9)
    n = int(round(x))
    exact_grid = x == n
    out: list[Variant] = []
    if fl.compare == "gt" and not fl.return_to_zero and exact_grid:
        out.append(Variant(n, -1, "membrane offset -1 (exact v > thr with subtraction)"))
    first = default_threshold(fl.threshold, scale, fl.compare)
    out.append(Variant(first))
    other = n if first != n else n + 1
    out.append(Variant(other, 0, "threshold " + ("v >= thr" if other == n else "v > thr")))
    return out


def chip_threshold(variant: Variant, spec: SpeckSpec = SPECK) -> int:
    """``threshold_high`` as the chip holds it: 1 .. the int16 maximum (a
    threshold 1e30 times the weights saturates, like the membrane)."""
    return min(max(int(variant.threshold_high), 1), spec.threshold_range[1])


def quantize_layer(
    fl, scale: float, variant: Variant | None = None, spec: SpeckSpec = SPECK
) -> SpeckLayer:
    """The integer layer of float layer ``fl`` at ``scale`` (``variant``
    defaults to :func:`default_threshold`, no offset)."""
    wlo, whi = spec.weight_range
    blo, bhi = spec.bias_range
    slo, shi = spec.state_range
    tlo, thi = spec.threshold_range
    weights = np.clip(np.rint(fl.weights * scale), wlo, whi).astype(_int_type(spec.weight_bits))
    biases = np.clip(np.rint(fl.bias * scale), blo, bhi).astype(_int_type(spec.bias_bits))
    if variant is None:
        variant = Variant(default_threshold(fl.threshold, scale, fl.compare))
    thr = chip_threshold(variant, spec)
    init = None
    if fl.v_init is not None or variant.offset:
        shape = fl.placeholder().output_shape
        v0 = np.zeros(shape) if fl.v_init is None else np.rint(fl.v_init * scale)
        init = np.clip(v0 + variant.offset, slo, shi).astype(np.int16)
    low = tlo
    if getattr(fl, "v_min", None) is not None:  # the float neuron's lower bound
        low = int(np.clip(round(fl.v_min * scale), tlo, thi))
    return SpeckLayer(
        name=fl.name,
        sources=fl.sources,
        input_shape=fl.input_shape,
        weights=weights,
        biases=biases,
        stride=fl.stride,
        padding=fl.padding,
        threshold_high=thr,
        threshold_low=low,
        return_to_zero=fl.return_to_zero,
        leak_enable=bool(np.any(biases != 0)),
        destinations=tuple(fl.destinations),
        neurons_initial_value=init,
        scale=float(f"{scale:.6e}"),  # for the report: 7 digits print as such
    )


def candidates(fl, spec: SpeckSpec = SPECK) -> list[tuple[str, float, list[Variant]]]:
    """``(label, scale, threshold variants)`` to try, max-abs first (see the
    module docstring). Scales make ``thr * S`` an integer where they can."""
    whi = spec.weight_range[1]
    thi = spec.threshold_range[1]
    big = max(
        float(np.max(np.abs(fl.weights), initial=0.0)), float(np.max(np.abs(fl.bias), initial=0.0))
    )
    if big == 0.0:
        return [("no weights", 1.0, threshold_variants(fl, 1.0))]
    s0 = whi / big
    thr = fl.threshold
    out: list[tuple[str, float, list[Variant]]] = []
    for m in MULTIPLIERS:
        n = round(min(max(thr * s0 * m, 1), thi - 1))  # threshold_high must fit int16 (s0 may be inf)
        s = float(f"{n / thr:.9g}")
        if not math.isfinite(s):  # a subnormal threshold: v > thr is v_int >= 1 at any scale
            s = float(f"{s0 * m:.9g}")
            if not math.isfinite(s):
                continue
        label = "max-abs: weights fill int8" if m == 1.0 else f"max-abs x {m:g}"
        if n == thi - 1:
            label += ", capped so that threshold_high fits int16"
        if any(math.isclose(s, t, rel_tol=1e-12) for _, t, _ in out):
            continue
        if out and np.mean(np.abs(fl.weights * s) > whi + 0.5) > MAX_CLIPPED:
            break  # larger multipliers clip even more
        out.append((label, s, threshold_variants(fl, s)))
    # weights and threshold both subnormal: no finite scale fills the range
    return out or [("no finite scale", 1.0, threshold_variants(fl, 1.0))]


def _candidate_setup(fl, scales: list[float], variants: list[list[Variant]], x: np.ndarray,
                     spec: SpeckSpec):  # fmt: skip
    """What the candidates of layer ``fl`` at ``K`` scales, each with ``J``
    threshold variants, share: (the first scale's layer, the convolution of
    the events ``x`` ``[T * B, c, h, w]`` at every scale ``[T * B, K * f, oh,
    ow]`` int32, thresholds ``[K, J]``, floors ``[K]``, biases ``[K, f]`` or
    None when no scale leaks, initial membranes ``[K, J, f * oh * ow]``)."""
    K, J = len(scales), len(variants[0])
    layers = [quantize_layer(fl, s, None, spec) for s in scales]
    first = layers[0]
    f, oh, ow = first.output_shape
    w = np.concatenate([np.asarray(q.weights, np.int64) for q in layers])
    # int32 halves the memory traffic of the neuron loop, exactly (see integrate_and_fire)
    current = convolve(x, w, first.stride, first.padding, np.int32)
    thr = np.array([[chip_threshold(v, spec) for v in vs] for vs in variants], np.int32)
    offset = np.array([[v.offset for v in vs] for vs in variants], np.int32)
    low = np.array([q.threshold_low for q in layers], np.int32)  # a float floor scales too
    bias = None
    if any(q.leak_enable for q in layers):
        bias = np.stack([np.asarray(q.biases, np.int32) for q in layers]).reshape(K, f)
    v0 = np.stack([q.initial_state() for q in layers]).reshape(K, 1, f * oh * ow)
    v0 = (v0 + offset.reshape(K, J, 1)).astype(np.int32)
    return first, current, thr, low, bias, v0


def _simulate_candidates(
    fl, scales: list[float], variants: list[list[Variant]], x: np.ndarray, T: int, B: int,
    spike_mode: str, spec: SpeckSpec,
) -> np.ndarray:  # fmt: skip
    """Spike counts ``[T, B, K, J, f, h, w]`` of float layer ``fl`` quantized at
    ``K`` scales, each with ``J`` threshold variants, on events ``x``
    ``[T * B, c, h, w]`` (numpy: without the compiled kernels)."""
    K, J = len(scales), len(variants[0])
    first, current, thr, low, bias, v0 = _candidate_setup(fl, scales, variants, x, spec)
    f, oh, ow = first.output_shape
    spikes, _, _ = integrate_and_fire(
        current.reshape(T, B, K, 1, f, oh, ow),
        np.broadcast_to(v0.reshape(K, J, f, oh, ow), (B, K, J, f, oh, ow)).astype(np.int32),
        threshold_high=thr.reshape(K, J, 1, 1, 1),
        threshold_low=low.reshape(K, 1, 1, 1, 1),
        return_to_zero=first.return_to_zero,
        bias=None if bias is None else bias.reshape(K, 1, f, 1, 1),
        spike_mode=spike_mode,
        overflow="saturate",
        state_range=spec.state_range,
    )
    return spikes


def candidate_scores(kernels, fl, scales: list[float], variants: list[list[Variant]],
                     x: np.ndarray, ref: np.ndarray, spike_mode: str, spec: SpeckSpec,
                     keep: bool = False):  # fmt: skip
    """:func:`_simulate_candidates` by the compiled kernel
    (:func:`~.kernels.candidate_counts`), which keeps no candidate's spikes:
    ``(counts [B, K, J, n], steps [B, K, J], spikes)``: each candidate's
    spike counts per neuron over the run and how many of its neuron-steps
    spike as ``ref`` ``[T, B, ...]`` does (what :func:`_score` needs), and
    with ``keep`` (one candidate) its spikes ``[T, B, f, h, w]`` int32, else
    None. On the paper's N-MNIST CNN at 100 steps, the numpy simulation's
    spikes of every candidate were 0.6 GiB a scale, and a third of the
    compile's time."""
    from nirc.interpreter.jit import over_samples

    T, B = ref.shape[:2]
    K, J = len(scales), len(variants[0])
    first, current, thr, low, bias, v0 = _candidate_setup(fl, scales, variants, x, spec)
    f, oh, ow = first.output_shape
    n = f * oh * ow
    counts = np.zeros((B, K, J, n), np.int64)
    steps = np.zeros((B, K, J), np.int64)
    spikes = np.zeros((T, B, n) if keep else (1, 1, 1), np.int32)
    over_samples(kernels.candidate_counts, (
        current.reshape(T, B, K, n), v0, thr, np.zeros((K, 1), np.int32) if bias is None else bias,
        bias is not None, oh * ow, low, int(spec.state_range[1]), bool(first.return_to_zero),
        spike_mode == "multi", np.ascontiguousarray(ref.reshape(T, B, n)), counts, steps,
        spikes, keep), B, T)  # fmt: skip
    return counts, steps, spikes.reshape((T, B, f, oh, ow)) if keep else None


def _candidate_kernels(sample_steps: int):
    """The compiled kernels for :func:`candidate_scores`, where the simulator
    would use them (numba present, a run long enough to repay loading it),
    else None: the numpy simulation."""
    from nirc.interpreter import jit

    from .simulator import _KERNELS, JIT_MIN_SAMPLE_STEPS

    return jit.simulator_kernels(_KERNELS, None, sample_steps, JIT_MIN_SAMPLE_STEPS, "Speck")


def _score(ref_counts: np.ndarray, counts: np.ndarray, same: int, size: int) -> tuple[float, float]:
    """How well a candidate follows the float layer, larger is better: first
    the mean absolute difference of the neurons' spike counts over the run
    (``counts`` against ``ref_counts``, [B, ...] float64), negated, then the
    fraction of equal spikes (``same`` of the ``size`` neuron-steps)."""
    return (-float(np.abs(ref_counts - counts).mean()), float(same / size))


def _events(a: np.ndarray, shape: tuple[int, int, int], name: str) -> np.ndarray:
    """Calibration values ``[T, B, *any]`` as int64 events ``[T * B, c, h, w]``."""
    a = np.asarray(a)
    if a.dtype.kind == "f" and not np.all(a == np.rint(a)) or a.size and a.min() < 0:
        raise NircError(
            "Speck inputs are events: non-negative integer counts",
            where=name,
            expected="spikes (0/1) or event counts",
            found=f"values from {a.min():g} to {a.max():g}",
        )
    return narrow_counts(a).reshape((a.shape[0] * a.shape[1],) + tuple(shape))


def _predictions(counts: np.ndarray) -> np.ndarray:
    """argmax over classes of spike counts ``[T, B, ...]`` summed over T."""
    c = np.asarray(counts).sum(axis=0, dtype=np.float64)
    return np.argmax(c.reshape(c.shape[0], -1), axis=1)


def quantize_network(
    net, calibration: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
    spec: SpeckSpec = SPECK, *, data_set: bool = False, labels: np.ndarray | None = None,
) -> tuple[list[SpeckLayer], QuantizationReport]:  # fmt: skip
    """Integer layers for the float network ``net`` (a
    :class:`~.lower.FloatNetwork`), scales chosen on ``calibration`` against
    ``reference`` (:func:`float_reference` with every layer's neuron probed).

    ``data_set``: the calibration inputs are the user's samples; the layer an
    Output reads (when one does) is then chosen first for the agreement of the
    predictions (the argmax of the output spike counts, what ``nirc eval``
    measures) with the float network's, then as the other layers. ``labels``
    give the report the accuracies on them."""
    any_input = next(iter(calibration.values()))
    T, B = int(any_input.shape[0]), int(any_input.shape[1])
    # the one Output a prediction is read from, when there is one
    judged = None
    if data_set and len(net.outputs) == 1:
        (out_name, out_spec), = net.outputs.items()
        judged = (out_spec.layer, out_spec.pooling, _predictions(reference[out_name]))
    received: dict[int, np.ndarray] = {}

    def deliver(i: int, events: np.ndarray) -> None:
        if i in received:  # several sources: their sum, in a type that holds it
            events = narrow_counts(received[i].astype(np.int64) + events)
        received[i] = events

    for name, inp in net.inputs.items():
        events = _events(calibration[name], inp.events, name)
        for i in inp.layers:
            deliver(i, events)
    outputs_of = {o.layer for o in net.outputs.values()}
    kern = _candidate_kernels(T * B)
    kept: dict[int, np.ndarray] = {}
    result: list[SpeckLayer] = []
    report = QuantizationReport()
    for i, fl in enumerate(net.layers):
        x = received.pop(i, None)
        if x is None:
            x = np.zeros((T * B,) + fl.input_shape, np.uint8)
        ref = np.asarray(reference[fl.neuron]).reshape((T, B) + fl.placeholder().output_shape)
        ref = narrow_counts(ref)  # spike counts, exact: bytes where they fit (not a copy then)
        cands = candidates(fl, spec)
        J = max(len(v) for _, _, v in cands)
        variants = [v + [v[-1]] * (J - len(v)) for _, _, v in cands]
        n = int(np.prod(ref.shape[2:]))
        # the compiled kernel keeps counts, not every candidate's spikes
        per = T * B * n * (1 if kern is not None else J)
        chunk = max(1, _CHUNK_ELEMENTS // max(per, 1))
        ref_counts = spike_counts(ref)
        best = None
        for start in range(0, len(cands), chunk):
            part = slice(start, start + chunk)
            scales = [sc for _, sc, _ in cands[part]]
            if kern is not None:
                counts, same, _ = candidate_scores(kern, fl, scales, variants[part], x, ref,
                                                   net.spike_mode, spec)  # fmt: skip
            else:
                spikes = _simulate_candidates(fl, scales, variants[part], x, T, B, net.spike_mode,
                                              spec)  # fmt: skip
            for k in range(len(scales)):
                for j in range(J):
                    if kern is not None:  # the scores' numbers from the counts
                        c = counts[:, k, j].reshape(ref_counts.shape).astype(np.float64)
                        score = _score(ref_counts, c, int(same[:, k, j].sum()), ref.size)
                        got = c[None]
                    else:
                        got = spikes[:, :, k, j]
                        score = _score(ref_counts, spike_counts(got), int(np.sum(ref == got)),
                                       ref.size)  # fmt: skip
                    if judged is not None and judged[0] == i:
                        score = (_agreement(got, judged, got.shape[0], B),) + score
                    if best is None or score > best[0]:
                        best = (score, start + k, variants[start + k][j],
                                None if kern is not None else got.copy())  # fmt: skip
            if kern is None:
                del spikes
        assert best is not None
        _, k, variant, got = best
        if got is None:  # the chosen candidate's spikes, run again alone
            got = candidate_scores(kern, fl, [cands[k][1]], [[variant]], x, ref, net.spike_mode,
                                   spec, keep=True)[2]  # fmt: skip
        step, count = step_agreement(ref, got), spike_count_agreement(ref, got)
        label, s, _ = cands[k]
        layer = quantize_layer(fl, s, variant, spec)
        if variant.label:
            label += ", " + variant.label
        clipped = float(np.mean(np.abs(fl.weights * s) > spec.weight_range[1] + 0.5))
        report.layers.append(
            LayerQuantization(fl.name, s, label, layer.threshold_high, clipped, step, count)
        )
        result.append(layer)
        flat = got.reshape((T * B,) + got.shape[2:])  # int32 counts: pooled without overflow
        for d in fl.destinations:
            deliver(d.layer, narrow_counts(sum_pool(flat, d.pooling)))
        if i in outputs_of:
            kept[i] = got
    per_output: dict[str, float] = {}
    total = agree = 0.0
    refs = {}
    for name, out in net.outputs.items():
        got = kept[out.layer]
        if out.pooling != 1:
            got = sum_pool(got.reshape((T * B,) + got.shape[2:]), out.pooling)
        ref = refs[name] = np.asarray(reference[name])
        got = got.reshape(ref.shape)
        a = spike_count_agreement(ref, got)
        per_output[name] = a
        n = int(np.prod(ref.shape[1:]))
        total += n
        agree += a * n
    report.agreement = agree / total if total else 1.0
    report.per_output = per_output
    report.reference_spikes = mean_spike_count(refs)
    if judged is not None:
        chip_pred = _pooled_predictions(kept[judged[0]], judged[1], T, B)
        report.prediction_agreement = float(np.mean(chip_pred == judged[2]))
        if labels is not None and len(labels) == B:
            report.accuracy = {"float": float(np.mean(judged[2] == labels)),
                               "chip": float(np.mean(chip_pred == labels))}  # fmt: skip
    return result, report


def _pooled_predictions(got: np.ndarray, pooling: int, T: int, B: int) -> np.ndarray:
    if pooling != 1:
        got = sum_pool(np.asarray(got).reshape((T * B,) + got.shape[2:]), pooling)
        got = got.reshape((T, B) + got.shape[1:])
    return _predictions(got)


def _agreement(got: np.ndarray, judged, T: int, B: int) -> float:
    """The fraction of samples whose prediction from ``got`` (an output layer's
    spikes ``[T, B, ...]``) is the float network's."""
    _, pooling, ref_pred = judged
    return round(float(np.mean(_pooled_predictions(got, pooling, T, B) == ref_pred)), 9)


__all__ = [
    "LayerQuantization",
    "QuantizationReport",
    "calibration_inputs",
    "candidates",
    "float_reference",
    "quantize_layer",
    "quantize_network",
]
