"""Quantization for Xylo: int8 weights with one left shift per matrix, int16
thresholds and biases, dashes from the time constants (:mod:`.lower`).

Each neuron k gets its own scale ``sigma_k`` (integer units per real unit of
its membrane): Xylo's thresholds and biases are per neuron, so only the weight
*shifts* are shared. With a global target threshold ``T`` (in integer units),
``sigma_k = T / threshold_k``; each matrix's shift is the smallest that keeps
its largest scaled weight within int8; weights, thresholds and biases are then
rounded (``>`` thresholds become ``floor(sigma thr) + 1`` for the chip's
``>=``). ``T`` trades resolution (large T: finer weights and thresholds)
against int16 saturation of currents and membranes (T near 32767 saturates);
:func:`search` tries a ladder of T and keeps the one whose bit-accurate
simulation agrees best with the float reference on the calibration inputs
(smallest mean spike-count error, then agreement within +-1; see
:func:`_objective`), then refines per-layer threshold gains the same way.

Calibrated on the user's data (a labelled data set, ``--calibrate``), where
the objective is the float network's predictions (what ``nirc eval``
measures), the search also tries:

- per-channel scales (:func:`channel_scales`, Rockpool's ``channel_quantize``):
  every neuron's largest weight at the int8 limit, its threshold following;
- the network with two synapses standing for a synaptic decay that is not a
  bit shift (:func:`~.lower.split_synapses`);
- the output layers' target apart from the hidden layers', and hidden targets
  at which the membrane's int16 saturation caps a neuron's spikes per step
  (:func:`cap_targets`: 16384 keeps it to one, as the float network's binary
  neurons; Xylo has no setting for it);
- and it keeps a move after the first choice (a target, a gain, a decay
  choice) only when it predicts :data:`MOVE_MARGIN` more calibration samples
  as the float network does: on 128 samples a one-sample win is noise, and
  such wins lost test accuracy on the task networks (docs/tasks.md).

:func:`max_abs` is the naive baseline for comparison: one scale for the whole
network, ``127 / max|w|`` over all three matrices, shifts 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nirc.diagnostics import NircError
from nirc.metrics import mean_spike_count

from .lower import Population, XyloFloatNetwork, split_synapses
from .spec import XyloSpec
from .specification import XyloSpecification


def _objective(agreement: float, count_error: float, target: float,
               predictions: float | None = None) -> tuple:  # fmt: skip
    """What the search maximizes. On a data set (``predictions``, the fraction
    of calibration samples whose predicted class, the argmax of the output
    spike counts, is the float network's): that agreement first, as ``nirc
    eval`` measures it; then the smallest mean |spike-count error|, then
    agreement within +-1, then the larger target. On a few random inputs
    predictions mean nothing and the count error comes first: the agreement
    within +-1 is a coarse step function (a count moving from 1 to 2 off flips
    it); the mean error is smooth and, measured on fresh inputs, generalizes
    better (Braille bias_zero: 0.14 agreement instead of 0.06 when choosing by
    agreement)."""
    head = () if predictions is None else (round(predictions, 9),)
    return head + (-round(count_error, 9), agreement, target)


def class_counts(outputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """``[B, C]``: each sample's spike counts over the run, every output's
    neurons in output order (what a counts readout takes the argmax of)."""
    parts = [np.asarray(a, np.float64).sum(axis=0).reshape(np.shape(a)[1], -1)
             for a in outputs.values()]  # fmt: skip
    return np.concatenate(parts, axis=1) if parts else np.zeros((0, 0))


def pad_steps(arrays, steps: int):
    """Time-major arrays (a dict, or one array) with ``steps`` zero steps appended."""
    if not steps:
        return arrays
    if isinstance(arrays, Mapping):
        return {k: pad_steps(v, steps) for k, v in arrays.items()}
    a = np.asarray(arrays)
    return np.concatenate([a, np.zeros((steps,) + a.shape[1:], a.dtype)])


GAIN_STEPS = (0.8, 0.9, 1.1, 1.25)  # per-layer threshold gain moves tried by search
MOVE_MARGIN = 2  # calibration samples a gain or decay move must win on a data set
TARGET_ROUNDS = 1  # rounds of separate output / hidden targets (data-set calibration)
RELAY_UNIT = 4  # a relay's threshold is RELAY_UNIT << weight_shift_rec
RELAY_SHIFT_MAX = 11  # 2 * RELAY_UNIT << shift must fit int16

# candidate target thresholds (integer units): 2**6 .. 2**14 in half-octaves
LADDER = tuple(int(round(2 ** (k / 2))) for k in range(12, 30))


def cap_targets(spec: XyloSpec, caps: tuple[int, ...] = (1, 2)) -> list[int]:
    """Hidden thresholds (integer units) at which the membrane's saturation
    caps a neuron's spikes per step: a membrane never exceeds
    ``state_max``, so a threshold ``th`` allows at most ``state_max // th``
    spikes; for each cap ``c`` the smallest such threshold, ``state_max //
    (c + 1) + 1`` (16384 for one spike, 10923 for two on int16). Xylo has no
    setting for a hidden neuron's spikes per step (always up to 31): this is
    the only way to make them binary, at the price of clamping the membrane
    and the synaptic currents at about ``c + 1`` thresholds."""
    return [spec.state_max // (c + 1) + 1 for c in caps]


def keeps_spike_caps(net: XyloFloatNetwork, spec: XyloSpec, ladder: tuple[int, ...]
                     ) -> tuple[int, ...]:  # fmt: skip
    """The targets of ``ladder`` at which no hidden layer whose float neurons
    spike several times per step (Rockpool's, up to 31) is capped lower by
    the membrane's saturation (all of ``ladder`` when none is left). For
    random calibration inputs: they rarely drive a neuron to several spikes,
    so their spike counts cannot show what such a cap costs (Rockpool's
    keyword network: 67.7 % at 16384, 85.7 % under the cap's limit)."""
    caps = [min(p.max_spikes or spec.max_hidden_spikes, spec.max_hidden_spikes)
            for p in net.hidden if p.relay_of is None and p.alias_of is None
            and p.spikes == "multi"]  # fmt: skip
    if not caps:
        return tuple(ladder)
    need = max(caps)
    # the largest threshold (integer units) whose saturation allows `need` spikes
    top = spec.state_max // need
    kept = tuple(t for t in ladder if t + 1 <= top)
    return kept or tuple(ladder)


CAP_NOTE = "the membrane's int16 saturation keeps its spikes to "


def with_spike_caps(net: XyloFloatNetwork, sp: XyloSpecification, spec: XyloSpec
                    ) -> XyloFloatNetwork:  # fmt: skip
    """``net`` with a note per hidden layer whose integer thresholds cap its
    spikes per step below the chip's 31 through the membrane's saturation
    (:func:`cap_targets`): what the chip then computes instead of the
    several-spikes note of :mod:`.lower`."""
    from dataclasses import replace

    notes, binary = [], set()
    for p in net.hidden:
        if p.relay_of is not None or p.alias_of is not None:
            continue
        th = np.asarray(sp.threshold[p.start : p.start + p.size], np.int64)
        cap = int(np.max(spec.state_max // np.maximum(th, 1)))
        if cap == 1:  # binary spikes, as the float network's: no several-spikes note
            binary.add(f"{p.name}: binary spikes in the float network; ")
        if cap < spec.max_hidden_spikes:
            notes.append(f"{p.name}: thresholds {int(th.min())}..{int(th.max())}: " + CAP_NOTE
                         + f"{cap} per step (the chip allows {spec.max_hidden_spikes}); the "
                         f"membrane and synaptic currents clamp at {spec.state_max / th.min():.3g} "
                         "thresholds")  # fmt: skip
    kept = [n for n in net.notes if CAP_NOTE not in n  # a network noted before: anew
            and not any(n.startswith(b) for b in binary)]  # fmt: skip
    return replace(net, notes=kept + notes) if notes or len(kept) < len(net.notes) else net


def _threshold(thr: np.ndarray, scale: np.ndarray, ge: np.ndarray) -> np.ndarray:
    x = np.round(thr * scale, 9)
    return np.where(ge, np.ceil(x), np.floor(x) + 1)


def _shift_for(w: np.ndarray, scale: np.ndarray, spec: XyloSpec) -> int:
    """Smallest shift keeping round(w * scale / 2**shift) in int8 (columns scaled);
    the largest shift where none does (the weights then saturate), also where
    the scaled weights pass the float range (a threshold 1e-30 of weights of
    1e300: as saturated as any)."""
    with np.errstate(over="ignore"):
        m = float(np.max(np.abs(w) * scale[None, :])) if w.size else 0.0
    if m <= spec.weight_max + 0.5:
        return 0
    if not math.isfinite(m):
        return spec.weight_shift_max
    return min(spec.weight_shift_max, int(math.ceil(math.log2(m / (spec.weight_max + 0.49)))))


def _int_weights(w: np.ndarray, scale: np.ndarray, shift: int, spec: XyloSpec) -> np.ndarray:
    q = np.round(w * scale[None, :] / 2.0**shift)
    return np.clip(q, spec.weight_min, spec.weight_max).astype(np.int8)


def _int16(x: np.ndarray, spec: XyloSpec) -> np.ndarray:
    return np.clip(np.round(x), spec.state_min, spec.state_max).astype(np.int16)


def specification(net: XyloFloatNetwork, spec: XyloSpec, scale_hid: np.ndarray,
                  scale_out: np.ndarray, shifts: tuple[int, int, int] | None = None,
                  gain_hid: np.ndarray | None = None, gain_out: np.ndarray | None = None,
                  ) -> XyloSpecification:  # fmt: skip
    """The integer network for per-neuron scales (hidden, output); shifts
    default to the smallest that fit."""
    if shifts is None:  # one shift per matrix: both synapse planes share it
        shifts = (
            _shift_for(np.concatenate([net.w_in, net.w_in_2]), scale_hid, spec),
            _shift_for(np.concatenate([net.w_rec, net.w_rec_2]), scale_hid, spec),
            _shift_for(net.w_out, scale_out, spec),
        )
    s_in, s_rec, s_out = shifts
    n_hid = net.n_hidden
    w_in = np.zeros((net.n_in, n_hid, 2), np.int8)
    w_in[:, :, 0] = _int_weights(net.w_in, scale_hid, s_in, spec)
    w_in[:, :, 1] = _int_weights(net.w_in_2, scale_hid, s_in, spec)
    w_rec = np.zeros((n_hid, n_hid, 2), np.int8)
    w_rec[:, :, 0] = _int_weights(net.w_rec, scale_hid, s_rec, spec)
    w_rec[:, :, 1] = _int_weights(net.w_rec_2, scale_hid, s_rec, spec)
    thr = net.threshold if gain_hid is None else net.threshold * gain_hid
    thr_out = net.threshold_out if gain_out is None else net.threshold_out * gain_out
    th = np.clip(_threshold(thr, scale_hid, net.compare), 1, spec.state_max)
    th_out = np.clip(_threshold(thr_out, scale_out, net.compare_out), 1, spec.state_max)
    dash_mem = net.dash_mem.astype(np.uint8)
    dash_syn = net.dash_syn.astype(np.uint8)
    dash_syn_2 = net.dash_syn_2.astype(np.uint8)
    for p in net.hidden:
        if p.alias_of is not None:
            # an alias neuron's membrane stays 0 (no weights in, no bias): it spikes only
            # through its source's count, never on its own
            th[p.start : p.start + p.size] = spec.state_max
    for src, rel, n in net.relays:
        # relay: 2 thr per spike into synapse 1 (dash 1 keeps thr), -thr per own spike
        # into synapse 2 (dash 1), membrane without memory (dash 0): it spikes the
        # source's counts one step later.
        if s_rec > RELAY_SHIFT_MAX:
            raise NircError("relay weights do not fit int16 at this shift",
                            found=f"weight_shift_rec {s_rec}")  # fmt: skip
        k = np.arange(n)
        w_rec[src + k, rel + k, :] = 0
        w_rec[src + k, rel + k, 0] = 2 * RELAY_UNIT
        w_rec[rel + k, rel + k, 1] = -RELAY_UNIT
        th[rel : rel + n] = RELAY_UNIT << s_rec
        dash_mem[rel : rel + n] = 0
        dash_syn[rel : rel + n] = 1
        dash_syn_2[rel : rel + n] = 1
    sp = XyloSpecification(
        weights_in=w_in,
        weights_rec=w_rec,
        weights_out=_int_weights(net.w_out, scale_out, s_out, spec),
        dash_mem=dash_mem,
        dash_mem_out=net.dash_mem_out.astype(np.uint8),
        dash_syn=dash_syn,
        dash_syn_2=dash_syn_2,
        dash_syn_out=net.dash_syn_out.astype(np.uint8),
        threshold=th.astype(np.int16),
        threshold_out=th_out.astype(np.int16),
        bias=_int16(net.bias * scale_hid, spec),
        bias_out=_int16(net.bias_out * scale_out, spec),
        weight_shift_in=s_in,
        weight_shift_rec=s_rec,
        weight_shift_out=s_out,
        aliases=net.aliases,
        dt=net.dt,
    )
    sp.check_formats(spec)
    return sp


def _gain_vectors(net: XyloFloatNetwork, gains: Mapping[str, float] | None):
    if not gains:
        return None, None
    g_hid, g_out = np.ones(net.n_hidden), np.ones(net.n_out)
    for pops, g in ((net.hidden, g_hid), (net.output, g_out)):
        for p in pops:
            g[p.start : p.start + p.size] = gains.get(p.name, 1.0)
    return g_hid, g_out


def per_neuron(net: XyloFloatNetwork, spec: XyloSpec, target: float,
               gains: Mapping[str, float] | None = None,
               target_out: float | None = None) -> XyloSpecification:  # fmt: skip
    """Scales ``target / threshold_k`` per hidden neuron and ``target_out /
    threshold_k`` per output neuron (``target_out`` defaults to ``target``;
    see the module doc); ``gains`` multiplies the thresholds of the named
    layers (a correction for time constants the dashes only approximate,
    found by :func:`search`)."""
    g_hid, g_out = _gain_vectors(net, gains)
    t_out = target if target_out is None else target_out
    return specification(net, spec, target / net.threshold, t_out / net.threshold_out,
                         gain_hid=g_hid, gain_out=g_out)  # fmt: skip


def channel_scales(net: XyloFloatNetwork, spec: XyloSpec, shift: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per-channel scales (Rockpool's ``channel_quantize``, with every matrix
    shifted by ``shift``): each neuron's largest incoming weight (input and
    recurrent, both synapses, taken together; outputs: its output weights)
    becomes ``weight_max << shift``, so every neuron uses the whole int8 range
    whatever the size of its weights next to its neighbours'; its threshold
    follows (at most ``state_max``). A neuron without incoming weights takes
    the median scale of its population."""
    top = float(spec.weight_max) * 2.0**shift

    def scales(m: np.ndarray, thr: np.ndarray) -> np.ndarray:
        s = np.where(m > 0, top / np.where(m > 0, m, 1.0), np.nan)
        s = np.minimum(s, spec.state_max / thr)  # the threshold must fit int16
        fill = float(np.nanmedian(s)) if np.any(np.isfinite(s)) else top
        return np.where(np.isfinite(s), s, fill)

    m_hid = np.max(np.abs(np.concatenate([net.w_in, net.w_in_2, net.w_rec, net.w_rec_2])),
                   axis=0, initial=0.0)  # fmt: skip
    m_out = np.max(np.abs(net.w_out), axis=0, initial=0.0)
    return scales(m_hid, net.threshold), scales(m_out, net.threshold_out)


@dataclass(frozen=True)
class Scaling:
    """How :func:`search` scales the network: ``threshold`` (one target
    threshold ``target`` for the hidden neurons, ``target_out`` for the
    outputs: scales ``target / threshold_k``, the smallest shifts that fit) or
    ``channel`` (:func:`channel_scales` at ``shift``, all matrices shifted by
    it)."""

    kind: str
    target: float = 0.0
    target_out: float = 0.0
    shift: int = 0

    def scales(self, net: XyloFloatNetwork, spec: XyloSpec) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "channel":
            return channel_scales(net, spec, self.shift)
        return self.target / net.threshold, self.target_out / net.threshold_out

    def build(self, net: XyloFloatNetwork, spec: XyloSpec,
              gains: Mapping[str, float] | None = None) -> XyloSpecification:  # fmt: skip
        g_hid, g_out = _gain_vectors(net, gains)
        s_hid, s_out = self.scales(net, spec)
        shifts = (self.shift,) * 3 if self.kind == "channel" else None
        return specification(net, spec, s_hid, s_out, shifts, gain_hid=g_hid, gain_out=g_out)

    def describe(self) -> str:
        if self.kind == "channel":
            return f"per channel, weight shift {self.shift}"
        return f"target threshold {self.target:g}, outputs {self.target_out:g}"


CHANNEL_SHIFTS = (0, 1, 2)  # per-channel candidates of a data-set calibration


def max_abs(net: XyloFloatNetwork, spec: XyloSpec) -> XyloSpecification:
    """The naive baseline: one scale 127 / max|w| for every neuron, shifts 0."""
    mats = (net.w_in, net.w_in_2, net.w_rec, net.w_rec_2, net.w_out)
    m = max(float(np.max(np.abs(w), initial=0.0)) for w in mats)
    s = spec.weight_max / m if m > 0 else 1.0
    return specification(net, spec, np.full(net.n_hidden, s), np.full(net.n_out, s), (0, 0, 0))


# -- simulation on [T, B, *shape] inputs ------------------------------------------------


def input_events(net: XyloFloatNetwork, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """``{input: [T, B, *shape]}`` -> event counts [T, B, Nin] (channels in the
    order of :attr:`XyloFloatNetwork.inputs`)."""
    parts = []
    for name, shape in net.inputs:
        if name not in inputs:
            raise NircError(f"no input `{name}` given", where=name,
                            expected=f"[T, B, {', '.join(map(str, shape))}] event counts")  # fmt: skip
        a = np.asarray(inputs[name])
        T, B = a.shape[0], a.shape[1]
        a = a.reshape(T, B, -1)
        if a.dtype.kind == "b":
            a = a.astype(np.int64)
        elif a.dtype.kind == "f":
            if not np.all(np.isfinite(a) & (a == np.round(a)) & (a >= 0)):
                raise NircError(
                    "Xylo inputs are events: non-negative integer counts per step",
                    where=name,
                    found="non-integer or negative values",
                    hint="encode analog inputs as spikes first",
                )
            a = a.astype(np.int64)
        parts.append(a)
    return np.concatenate(parts, axis=2) if parts else np.zeros((0, 0, 0), np.int64)


def simulate(sp: XyloSpecification, events: np.ndarray, record: bool = False) -> dict:
    """:meth:`XyloSimulator.run_batch` of ``events`` [T, B, Nin]: every sample
    at once (the same numbers as one run per sample); arrays [T, B, ...]."""
    from .simulator import XyloSimulator

    return XyloSimulator(sp).run_batch(events, record=record)


def split_outputs(net: XyloFloatNetwork, spikes_out: np.ndarray) -> dict[str, np.ndarray]:
    """[T, B, Nout] output spikes -> ``{Output name: [T, B, *shape]}``."""
    out, start = {}, 0
    for name, shape in net.outputs:
        n = int(np.prod(shape)) if shape else 1
        a = spikes_out[:, :, start : start + n]
        out[name] = a.reshape(a.shape[:2] + tuple(shape)).astype(np.float32)
        start += n
    return out


def chip_outputs(net: XyloFloatNetwork, sp: XyloSpecification, events: np.ndarray) -> dict:
    return split_outputs(net, simulate(sp, events)["spikes_out"])


def score(reference: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray]
          ) -> tuple[float, float, dict[str, float]]:  # fmt: skip
    """(agreement within +-1, mean |count difference|, per-output agreement)."""
    from nirc.metrics import outputs_agreement, spike_counts

    a, per = outputs_agreement(reference, got)
    err = [np.abs(spike_counts(reference[k]) - spike_counts(got[k])).ravel() for k in reference]
    return a, float(np.mean(np.concatenate(err))) if err else 0.0, per


@dataclass
class XyloQuantization:
    """What :func:`search` chose and measured."""

    target: float
    specification: XyloSpecification
    agreement: float
    count_error: float
    per_output: dict[str, float]
    calibration: str
    tried: list[tuple[float, float, float]] = field(default_factory=list)  # (T, agreement, err)
    max_abs_agreement: float | None = None
    max_abs_count_error: float | None = None
    layer_gains: dict[str, float] = field(default_factory=dict)
    reference_spikes: float = 0.0  # the float outputs' mean spike count per neuron
    prediction_agreement: float | None = None  # calibration samples predicted alike
    accuracy: dict[str, float] | None = None  # on the calibration labels: float, chip
    network: XyloFloatNetwork | None = None  # the float network the integers are for
    decay_choices: dict[str, str] = field(default_factory=dict)  # "neuron.what": down/up
    target_out: float | None = None  # the output layers' target (None: ``target``)
    scaling: Scaling | None = None  # what was chosen (None: threshold, ``target``)
    scale_hidden: np.ndarray | None = None  # per neuron, integer units per real unit
    scale_output: np.ndarray | None = None

    @property
    def output_target(self) -> float:
        return self.target if self.target_out is None else self.target_out

    def _scales(self, p: Population, output: bool) -> np.ndarray:
        got = self.scale_output if output else self.scale_hidden
        if got is not None:
            return got[p.start : p.start + p.size]
        return (self.output_target if output else self.target) / p.threshold

    def to_dict(self, net: XyloFloatNetwork) -> dict:
        sp = self.specification
        return {
            "method": "per-neuron scales (target/threshold, or per channel), one shift per "
            "matrix, searched "
            + ("for the float network's predictions on the calibration samples, then its "
               "output spike counts" if self.prediction_agreement is not None
               else "for the float network's output spike counts"),
            "prediction_agreement": None if self.prediction_agreement is None
            else round(self.prediction_agreement, 6),
            "calibration_accuracy": None if self.accuracy is None
            else {k: round(v, 6) for k, v in self.accuracy.items()},
            "target_threshold": self.target,
            "target_threshold_out": self.output_target,
            "threshold_gains": dict(self.layer_gains),
            "decay_choices": dict(self.decay_choices),
            "weight_shift_in": sp.weight_shift_in,
            "weight_shift_rec": sp.weight_shift_rec,
            "weight_shift_out": sp.weight_shift_out,
            "scaling": (self.scaling or Scaling("threshold", self.target,
                                                self.output_target)).describe(),
            "scales_hidden": {p.name: _scale_range(self._scales(p, False)) for p in net.hidden
                              if p.alias_of is None},  # fmt: skip
            "scales_output": {p.name: _scale_range(self._scales(p, True)) for p in net.output},
            "calibration": self.calibration,
            "agreement": round(self.agreement, 6),
            "mean_count_error": round(self.count_error, 6),
            "tried": [{"target": t, "agreement": round(a, 6), "mean_count_error": round(e, 6)}
                      for t, a, e in self.tried],  # fmt: skip
            "max_abs_baseline": None if self.max_abs_agreement is None else {
                "agreement": round(self.max_abs_agreement, 6),
                "mean_count_error": round(float(self.max_abs_count_error), 6)},
        }  # fmt: skip


def _scale_range(s: np.ndarray) -> list[float]:
    return [round(float(np.min(s)), 6), round(float(np.max(s)), 6)]


def search(net: XyloFloatNetwork, spec: XyloSpec, events: np.ndarray,
           reference: Mapping[str, np.ndarray], calibration: str,
           ladder: tuple[int, ...] = LADDER, refine: int = 2, *,
           data_set: bool = False, labels: np.ndarray | None = None,
           lag: int = 0, remap=None, dash_options=(),
           move_margin: int | None = None) -> XyloQuantization:  # fmt: skip
    """Try every target threshold of ``ladder``; keep the best
    (:func:`_objective`); then up to ``refine``
    rounds of per-layer threshold gains (:data:`GAIN_STEPS`), each kept only
    when it improves the same objective. Also measures max-abs.

    ``data_set``: the calibration inputs are the user's samples, so the
    objective starts with the agreement of the predictions (what ``nirc eval``
    measures); ``labels`` (theirs, optional) give the report the accuracies.
    ``lag``: steps the chip's outputs lag the float network's
    (:attr:`~.lower.XyloFloatNetwork.output_lag`): the chip then runs as many
    silent steps more, so that both count the same spikes.

    On a data set the first choice also covers the per-channel scales and
    the network with split synapses; then the output and hidden targets
    apart (module docstring); ``move_margin`` (default :data:`MOVE_MARGIN`
    on a data set, else 0): calibration samples a later move must win.

    ``remap(dashes)`` (a new :class:`~.lower.XyloFloatNetwork` for other
    decay choices, see :func:`~.lower.map_network`) and ``dash_options`` (the
    approximated decays, ``(neuron, "membrane" | "synaptic")``): after the
    gains, each approximated decay tries the other neighbouring bit shift,
    kept when the objective improves (then the gains once more); the chosen
    network is the result's ``network``."""
    if lag > 0:
        events = pad_steps(events, lag)
        reference = pad_steps(reference, lag)
    ref_pred = np.argmax(class_counts(reference), axis=1) if data_set else None
    if move_margin is None:
        move_margin = MOVE_MARGIN if data_set else 0

    def measure_with(net2, sp2):
        got2 = chip_outputs(net2, sp2, events)
        a2, err2, per2 = score(reference, got2)
        pred2 = None
        if ref_pred is not None:
            pred2 = float(np.mean(np.argmax(class_counts(got2), axis=1) == ref_pred))
        return a2, err2, per2, pred2, got2

    def level(scaling: Scaling) -> float:
        """The objective's last tie-break: the hidden neurons' target threshold
        (per channel: the median of theirs)."""
        if scaling.kind == "channel":
            s_hid, _ = scaling.scales(net, spec)
            return round(float(np.median(net.threshold * s_hid)), 3)
        return scaling.target

    if not data_set:
        ladder = keeps_spike_caps(net, spec, ladder)
    starts: dict[tuple[bool, str], tuple] = {}  # best first choice per (split, kind)
    tried = []
    candidates = [Scaling("threshold", float(t), float(t)) for t in ladder]
    nets = [(net, False)]
    if data_set:
        candidates += [Scaling("channel", shift=j) for j in CHANNEL_SHIFTS]
        split = split_synapses(net, spec)
        if split is not None:
            nets.append((split, True))
    for net1, is_split in nets:
        for scaling in candidates:
            try:
                sp = scaling.build(net1, spec)
            except NircError:  # shifted weights or thresholds beyond int16: too large a target
                continue
            a, err, per, pred, got = measure_with(net1, sp)
            if scaling.kind == "threshold" and not is_split:
                tried.append((scaling.target, a, err))
            key = _objective(a, err, level(scaling), pred)
            slot = (is_split, scaling.kind)
            if slot not in starts or key > starts[slot][0]:
                starts[slot] = (key, scaling, sp, a, err, per, pred, got, net1)
    if not starts:
        raise NircError(
            "no quantization of the network fits Xylo's number formats",
            expected="weights that fit int8 << shift within int16 for some threshold scale",
            found=f"thresholds {np.min(net.threshold):.4g}..{np.max(net.threshold):.4g}, "
            f"weights up to {max(np.abs(w).max(initial=0) for w in (net.w_in, net.w_in_2, net.w_rec, net.w_rec_2)):.4g}",
        )
    n_samples = len(ref_pred) if ref_pred is not None else 0
    state: dict = {}

    def consider(net2, trial: dict[str, float], scaling2: Scaling | None = None,
                 margin: int = 0) -> bool:  # fmt: skip
        """Keep the trial when it beats the current objective; with ``margin``
        (on a data set) only when it predicts at least ``margin`` more
        calibration samples as the float network does."""
        scaling2 = state["scaling"] if scaling2 is None else scaling2
        try:
            sp2 = scaling2.build(net2, spec, trial)
        except NircError:
            return False
        a2, err2, per2, pred2, got2 = measure_with(net2, sp2)
        key2 = _objective(a2, err2, level(scaling2), pred2)
        if margin and n_samples and pred2 is not None:
            if round((pred2 - state["fig"][3]) * n_samples) < margin:
                return False
        if key2 > state["key"]:
            state.update(key=key2, gains=trial, sp=sp2, net=net2, scaling=scaling2,
                         fig=(a2, err2, per2, pred2, got2))  # fmt: skip
            return True
        return False

    def separate_targets(net1) -> None:
        """The output layer's scale apart from the hidden one's, then the
        hidden one's (with the targets at which int16 saturation caps hidden
        spikes per step)."""
        hidden_ladder = sorted(set(ladder) | set(cap_targets(spec)))
        for _ in range(TARGET_ROUNDS):
            moved = False
            for t_out in ladder:
                cur = state["scaling"]
                moved |= consider(net1, {}, Scaling("threshold", cur.target, float(t_out)),
                                  margin=move_margin)  # fmt: skip
            for t_hid in hidden_ladder:
                cur = state["scaling"]
                moved |= consider(net1, {}, Scaling("threshold", float(t_hid), cur.target_out),
                                  margin=move_margin)  # fmt: skip
            if not moved:
                break

    # each start (with or without split synapses; one target or per channel), the
    # targets apart for the threshold scalings on a data set; then the best goes on
    finals = []
    for (is_split, kind), (key, scaling, sp, a, err, per, pred, got, net1) in sorted(
            starts.items(), key=lambda kv: (kv[0][0], kv[0][1])):  # fmt: skip
        state = {"key": key, "gains": {}, "sp": sp, "net": net1, "dashes": {},
                 "fig": (a, err, per, pred, got), "scaling": scaling, "split": is_split}  # fmt: skip
        if data_set and kind == "threshold":
            separate_targets(net1)
        finals.append(state)
    state = max(finals, key=lambda st: st["key"])  # the first of equals: sorted starts
    is_split = state["split"]

    def refine_gains(rounds: int) -> None:
        cur = state["net"]
        layers = [p.name for p in cur.hidden if p.relay_of is None and p.alias_of is None]
        layers += [p.name for p in cur.output]
        for _ in range(rounds):
            improved = False
            for name in layers:
                for factor in GAIN_STEPS:
                    g = state["gains"]
                    trial = {**g, name: round(g.get(name, 1.0) * factor, 6)}
                    improved |= consider(state["net"], trial, margin=move_margin)
            if not improved:
                break

    if refine:
        refine_gains(refine)
    if remap is not None and dash_options:
        changed = False
        for option in dash_options:
            for way in ("down", "up"):
                trial_dashes = {**state["dashes"], option: way}
                try:
                    net2 = remap(trial_dashes)
                except NircError:
                    continue
                if is_split:  # the chosen network's synapses are fitted: fit these too
                    net2 = split_synapses(net2, spec) or net2
                if consider(net2, dict(state["gains"]), margin=move_margin):
                    state["dashes"] = trial_dashes
                    changed = True
        if changed and refine:
            refine_gains(refine)
    gains, sp, net = state["gains"], state["sp"], state["net"]
    a, err, per, pred, got = state["fig"]
    base = max_abs(net, spec)
    ba, berr, _ = score(reference, chip_outputs(net, base, events))
    scaling = state["scaling"]
    s_hid, s_out = scaling.scales(net, spec)
    target = level(scaling) if scaling.kind == "channel" else scaling.target
    q = XyloQuantization(target, sp, a, err, per, calibration, tried, ba, berr)
    q.target_out = (round(float(np.median(net.threshold_out * s_out)), 3)
                    if scaling.kind == "channel" else scaling.target_out)  # fmt: skip
    q.scaling = scaling
    q.scale_hidden, q.scale_output = s_hid, s_out
    q.reference_spikes = mean_spike_count(reference)
    q.layer_gains = {k: v for k, v in sorted(gains.items()) if v != 1.0}
    q.prediction_agreement = pred
    q.network = with_spike_caps(net, sp, spec)
    q.decay_choices = {f"{n}.{w}": way for (n, w), way in sorted(state["dashes"].items())}
    if labels is not None and ref_pred is not None and len(labels) == len(ref_pred):
        chip_pred = np.argmax(class_counts(got), axis=1)
        q.accuracy = {"float": float(np.mean(ref_pred == labels)),
                      "chip": float(np.mean(chip_pred == labels))}  # fmt: skip
    return q


__all__ = ["LADDER", "XyloQuantization", "chip_outputs", "class_counts", "input_events",
           "max_abs", "pad_steps",
           "per_neuron", "score", "search", "simulate", "specification", "split_outputs"]  # fmt: skip
