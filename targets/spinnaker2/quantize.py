"""SpiNNaker2 quantization: a weight scale (and a spike gain) per population,
chosen on the user's data for what the network predicts.

A population's membrane and synaptic current are float32 on the PE; only the
weights are integers (int8 in [-127, 127] for the no-delay models, 4 bits in
[-15, 15] for the delayed ones). So one scale ``S`` per population (chip
units per float unit of its membrane) fixes everything::

    weights     = clip(round(S * g_pre * W), -127, 127)   (g_pre: the source's spike gain)
    threshold   = S * g * thr    (the next float32 below it for `v >= thr`)
    i_offset    = S * bias,  v_reset = S * v_reset
    v_init      = S * v_init, moved back over the lag steps the population
                  runs before its inputs arrive so that i_offset leaves it
                  exactly at S * v_init when they do
    biases into a synaptic current: an always-on source of K neurons whose
                  int8 weights add up to round(S * b)

Neurons that spike several times per step in the float network (Sinabs,
Rockpool: ``floor(v / thr)`` spikes, reset by subtracting them all) have two
ways onto a chip whose neurons spike at most once per step:

- a spike gain ``g``: one chip spike stands for ``g`` float spikes (the
  threshold ``g`` times higher, the weights it feeds ``g`` times larger):
  the count is kept in units of ``g``;
- ``K`` copies: ``K`` binary neurons on one membrane. Copy ``j`` holds
  ``v - j thr`` (an initial offset, kept against the leak by an
  ``i_offset`` of ``-(1 - alpha) j thr``), so it fires when ``v > (j+1) thr``
  and the copies together fire ``min(n, K)`` spikes for the float neuron's
  ``n``. Each copy's reset subtracts ``thr`` from itself; lateral synapses
  take ``alpha thr`` from every other copy in the next step, which is the
  float neuron's subtraction of ``n thr`` after its decay (through a
  synaptic current, a lateral relay gives back the current's second-step
  share ``alpha_syn alpha thr``). In real arithmetic every copy then follows
  the float membrane exactly, leak included; what is left is the rounding of
  the lateral weights to integers, and the scale is capped so that they
  fit the weight range. Incoming synapses are repeated for every copy,
  outgoing ones for every copy too; outputs sum the copies.

The search (coordinate descent, populations in order, the populations
upstream held fixed and not re-simulated): for each population, gains
:data:`GAINS` and copies (multi-spike neurons only), then scales ``S0 * m``
for the multipliers :data:`MULTIPLIERS` (``S0`` the max-abs scale that fills
the weight range; larger scales round finer and saturate the largest
weights), then a scale per neuron (:func:`row_factors`: each neuron's
threshold and state are float32 of its own, so its weights may use the
range on their own grid), each simulated on the calibration inputs and
compared with the float network's predictions (argmax of the output spike
counts over the run, ties to the lowest index): that is what task accuracy
follows, the float network's predictions being what the user trained. A
move is kept only when it wins significantly (:func:`wins`: at least
:data:`MOVE_MARGIN` samples and :data:`MOVE_SIGMAS` standard deviations of a
sign test on the samples where the two choices differ): the task networks'
predictions flip on about 3 % of samples under any rounding at 8 bits, and
wins of 3 or 4 samples in 256 that the search used to keep were that noise
and cost up to 1.7 test points (docs/spinnaker2.md). :data:`SWEEPS` sweeps
(a sweep that changes nothing ends the search early). Without calibration
data (random spikes) nothing is searched: the max-abs scales, gain 1, one
scale per population.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from nirc.diagnostics import NircError
from nirc.metrics import better, mean_spike_count, outputs_agreement, relative_l1, spike_counts
from nirc.targets.base import grouped_notes

from .lower import Extraction, FloatNeuron
from .network import BIAS, INPUT, NEURON, RELAY, Network, Population, Projection, copy_layout
from .sparse import Coo
from .spec import SPINNAKER2

F32_MAX = float(np.finfo(np.float32).max)

F32 = np.float32
MULTIPLIERS = (1.0, 1.25, 1.5, 2.0, 3.0)
GAINS = (1, 2, 4)
COPIES = (2, 4, 8)
# the synapses a network with copies may have: copies multiply a projection's
# connections by those of its source and of its target (a Sinabs
# 784-4,000-4,000-10 network as 8 copies: 1.2 G synapses, out of memory on
# the 24 GiB machine); the connection lists stay within about 1.5 GiB
MAX_COPY_SYNAPSES = 1 << 26
SWEEPS = 1
MOVE_MARGIN = 2  # calibration samples a move must predict better, at the least
MOVE_SIGMAS = 2.0  # and this many standard deviations of a no-difference sign test
ROW_FACTOR_MAX = 16.0  # the largest per-neuron factor (bounds the bias sources' size)
ROW_FACTOR_STEPS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5)  # fill of the range tried
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class Choice:
    """A population's weight scale, spike gain and copies (multi-spike
    neurons as ``copies`` staggered binary neurons)."""

    scale: float
    gain: int = 1
    copies: int = 1
    per_neuron: bool = False  # a scale per neuron (:func:`row_factors`) on top of ``scale``


@dataclass
class Quantization:
    """The chosen scales, how they were chosen and what they measured."""

    choices: dict[str, Choice]
    base_scales: dict[str, float]
    method: str
    calibration: str
    samples: int
    score: dict[str, float] = field(default_factory=dict)
    max_abs_score: dict[str, float] = field(default_factory=dict)
    evaluations: int = 0
    notes: list[str] = field(default_factory=list)  # what the search left out, and why

    def effective(self, net: Network) -> None:
        """Record the scales the network got (a scale may be capped)."""
        for name, c in list(self.choices.items()):
            self.choices[name] = replace(c, scale=net.population(name).v_scale)

    def lines(self) -> list[str]:
        out = [f"quantization: {self.method} ({self.evaluations} simulations on {self.samples} "
               f"calibration samples: {self.calibration})"]  # fmt: skip
        for name, c in self.choices.items():
            base = self.base_scales.get(name, c.scale)
            out.append(f"  {name}: weight scale {c.scale:.6g} ({c.scale / base:.3g} x max-abs)"
                       + (f", spike gain {c.gain}" if c.gain != 1 else "")
                       + (", a scale per neuron" if c.per_neuron else ""))  # fmt: skip
        if self.score:
            out.append(f"  prediction agreement {self.score['prediction_agreement']:.4f} "
                       f"(max-abs: {self.max_abs_score.get('prediction_agreement', float('nan')):.4f})")  # fmt: skip
        return out

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "calibration": self.calibration,
            "samples": self.samples,
            "simulations": self.evaluations,
            "populations": {
                n: {"weight_scale": c.scale, "max_abs_scale": self.base_scales.get(n, c.scale),
                    "spike_gain": c.gain, "copies": c.copies, "per_neuron": c.per_neuron}
                for n, c in self.choices.items()
            },  # fmt: skip
            "score": {k: round(v, 6) for k, v in self.score.items()},
            "max_abs_score": {k: round(v, 6) for k, v in self.max_abs_score.items()},
        } | ({"notes": list(self.notes)} if self.notes else {})


def weight_range(model: str) -> int:
    lo, hi = SPINNAKER2.models[model].weight_range or (-127, 127)
    return hi


def max_abs_scales(ex: Extraction, gains: Mapping[str, int]) -> dict[str, float]:
    """Per neuron population: the scale that maps its largest incoming weight
    (times the source's spike gain) onto the top of its model's range."""
    net = ex.network
    out = {}
    for p in net.populations:
        if p.role != NEURON:
            continue
        big = 0.0
        for pr in net.incoming(p.name):
            if net.population(pr.pre).role == BIAS:
                continue
            g = gains.get(pr.pre, 1)
            if pr.weights.nnz:
                big = max(big, float(np.abs(pr.weights.data).max()) * g)
        fn = ex.neurons[p.name]
        if big == 0.0:  # no weights: scale by the threshold
            thr = fn.threshold
            big = float(np.abs(thr[np.isfinite(thr)]).max()) if thr is not None and np.isfinite(
                thr).any() else 1.0  # fmt: skip
            big = big or 1.0
        scale = weight_range(p.model) / big
        thr = fn.threshold
        top = float(np.abs(thr[np.isfinite(thr)]).max(initial=0.0)) if thr is not None else 0.0
        if not math.isfinite(scale) or not math.isfinite(top * scale * 4) or top * scale * 4 > F32_MAX:
            raise NircError("the weights are negligible against the threshold: the weight scale "
                            "that uses SpiNNaker2's weight range overflows the float32 voltage",
                            where=p.name, found=f"largest weight {big:.3g}, threshold {top:.3g}",
                            expected=f"a largest weight of at least {4 * max(top, 1e-30) * weight_range(p.model) / F32_MAX:.3g}")  # fmt: skip
        out[p.name] = scale
    return out


def row_factors(
    ex: Extraction, name: str, gains: Mapping[str, int], scale: float
) -> np.ndarray | None:
    """Per-neuron factors ``r_i >= 1`` on the population's scale ``scale``
    (None: every neuron 1). Neuron ``i`` gets the scale ``scale r_i``, its
    threshold, bias, reset and initial voltage scaled alike, which SpiNNaker2
    allows for free (thresholds and state are float32 per neuron, only the
    weights are integers): a neuron whose weights are small against the
    population's largest rounds them on a finer grid. Each neuron takes, of
    1 and the factors that put its largest weight at 50-100 % of the range
    (:data:`ROW_FACTOR_STEPS`, at most :data:`ROW_FACTOR_MAX`), the one with
    the smallest rounding error of its weights in float units (squared,
    clipping included; ties to the smallest factor, so that weights already
    on the grid stay as they are). Only for binary spiking neurons fed by
    connection lists and read as spikes (a kernel shares its weights over
    positions; a voltage output is divided by the population's one scale;
    multi-spike copies share lateral weights)."""
    net = ex.network
    p = net.population(name)
    fn = ex.neurons[name]
    if (fn.threshold is None or fn.spikes == "multi" or p.model == "lif_conv2d"
            or any(o.population == name and o.reads != "spikes" for o in net.outputs)):  # fmt: skip
        return None
    rows, vals = [], []
    for pr in net.incoming(name):
        if net.population(pr.pre).role == BIAS or not pr.weights.nnz:
            continue
        if pr.kernel is not None:
            return None
        rows.append(pr.weights.row)
        vals.append(pr.weights.data * gains.get(pr.pre, 1))
    if not rows:
        return None
    row, w = np.concatenate(rows), np.concatenate(vals)
    hi = weight_range(p.model)
    big = np.zeros(p.elements)
    np.maximum.at(big, row, np.abs(w))
    fill = np.where(big > 0, hi / (scale * np.where(big > 0, big, 1.0)), 1.0)
    cands = [np.ones(p.elements)]
    cands += [np.clip(fill * t, 1.0, ROW_FACTOR_MAX) for t in ROW_FACTOR_STEPS]
    errs = []
    for c in cands:
        s_row = scale * c[row]
        err = w - np.clip(np.rint(w * s_row), -hi, hi) / s_row
        errs.append(np.bincount(row, err * err, minlength=p.elements))
    pick = np.argmin(np.stack(errs), axis=0)  # the first of equals: factor 1 when it is exact
    r = np.stack(cands)[pick, np.arange(p.elements)]
    return None if np.all(r == 1.0) else r


def _next_below(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, F32)
    return np.nextafter(x, np.float32(-np.inf)).astype(F32)


def _preroll_v0(v_init, i_off, alpha, lag: int) -> tuple[np.ndarray, bool]:
    """The initial voltage that i_offset carries to ``v_init`` over ``lag``
    steps without input (False when that cannot be done exactly)."""
    v_init = np.asarray(v_init, np.float64)
    i_off = np.asarray(i_off, np.float64)
    alpha = np.asarray(alpha, np.float64)
    if lag <= 0 or not np.any(i_off):
        return v_init, True
    a_l = alpha**lag
    ok = True
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(alpha == 1.0, float(lag), (1 - a_l) / np.where(alpha == 1.0, 1.0, 1 - alpha))
        v0 = np.where(a_l > 1e-6, (v_init - i_off * s) / np.where(a_l > 1e-6, a_l, 1.0), v_init)
    if np.any((a_l <= 1e-6) & (alpha != 0) & (i_off != 0)):
        ok = False
    return v0, ok


def integer_network(
    ex: Extraction, choices: Mapping[str, Choice], input_copies: Mapping[str, int]
) -> Network:
    """The chip network for these scales, gains and copies (see the module
    docstring): parameters per chip neuron, weights scaled, rounded,
    clipped and expanded over the copies of their source and target."""
    src = ex.network
    pops: dict[str, Population] = {}
    notes: list[tuple[str, str]] = []  # (population, approximation)
    gains = {n: c.gain for n, c in choices.items()}
    per: dict[str, np.ndarray] = {}  # per-element scales of populations scaled per neuron
    for p in src.populations:
        q = replace(p, params={}, record=tuple(p.record))
        if p.role == INPUT:
            q.copies = max(1, int(input_copies.get(p.name, 1)))
        elif p.role == NEURON:
            c = choices[p.name]
            fn = ex.neurons[p.name]
            if c.copies > 1:
                c = replace(c, scale=min(c.scale, lateral_cap(fn, c.gain, weight_range(p.model))))
                if q.model == "lif_conv2d":  # the lateral synapses need connection lists
                    q.model = "lif_no_delay"
                    q.max_atoms_per_core = SPINNAKER2.models["lif_no_delay"].max_atoms_per_core
            q.v_scale = c.scale
            q.spike_gain = c.gain
            q.copies = c.copies
            r = row_factors(ex, p.name, gains, c.scale) if c.per_neuron and c.copies == 1 else None
            if r is not None:
                per[p.name] = c.scale * r
            q.params = _neuron_params(q, fn, c, notes, per.get(p.name))
            if fn.spikes == "multi":
                notes.append((q.name, _multi_note(q, fn)))
        pops[q.name] = q
    extra: list[Population] = []
    for q in list(pops.values()):
        if q.role == NEURON and q.copies > 1 and ex.neurons[q.name].alpha_syn is not None:
            r = Population(f"{q.name}.lateral", "lif_no_delay", tuple(q.shape), role=RELAY,
                           source=q.name, lag=q.lag + 1, copies=q.copies)  # fmt: skip
            extra.append(r)
            pops[r.name] = r
    for q in pops.values():
        if q.role == RELAY:  # one chip neuron per chip neuron of the source
            base = pops[q.source]
            q.shape, q.copies = tuple(base.shape), base.copies
            q.params = {"threshold": 0.5, "alpha_decay": 0.0, "i_offset": 0.0, "v_init": 0.0,
                        "v_reset": 0.0, "reset": "reset_to_v_reset"}  # fmt: skip
    projections: list[Projection] = []
    for pr in src.projections:
        pre, post = pops[pr.pre], pops[pr.post]
        if pre.role == BIAS:
            projections.append(_expand(_bias_projection(pr, pre, post, per.get(post.name)),
                                       None, post))  # fmt: skip
            continue
        if post.role == RELAY:  # one-to-one on chip neurons
            projections.append(replace(pr, weights=Coo.identity(post.size)))
            continue
        hi = weight_range(post.model)
        g = pre.spike_gain if pre.role == NEURON else 1
        if pre.role == RELAY:
            g = pops[pre.source].spike_gain
        s_row = per[post.name][pr.weights.row] if post.name in per else post.v_scale
        w = np.clip(np.rint(pr.weights.data * s_row * g), -hi, hi)
        new = replace(pr, weights=pr.weights.with_data(w))
        if pr.kernel is not None:  # the same weights as a kernel (for the simulation)
            new.kernel = np.clip(np.rint(pr.kernel * post.v_scale * g), -hi, hi)
        projections.append(_expand(new, pre, post))
    for r in extra:  # the lateral relay: one-to-one from its population
        projections.append(Projection(f"{r.source}->{r.name}", r.source, r.name,
                                      Coo.identity(r.size), sources=("lateral",)))  # fmt: skip
    for p in list(pops.values()):
        if p.role == NEURON and p.copies > 1:
            projections += _lateral(p, ex.neurons[p.name], pops)
    for p in pops.values():
        if p.role != NEURON:
            continue
        fn = ex.neurons[p.name]
        if fn.reset == "subtract_undecayed" and fn.alpha_syn is None and np.any(fn.alpha < 1):
            # snnTorch subtracts the threshold after the decay: add back what
            # the chip's decay took from the subtraction, one step later
            hi = weight_range(p.model)
            thr = p.param("threshold").astype(np.float64)
            alpha = p.param("alpha_decay").astype(np.float64)
            w = np.clip(np.rint(-(1.0 - alpha) * thr), -hi, hi)
            idx = np.arange(p.size, dtype=np.int64)
            projections.append(Projection(f"{p.name}->{p.name}.undecayed", p.name, p.name,
                                          Coo(idx, idx.copy(), w, (p.size, p.size)).coalesce(),
                                          sources=("reset",)))  # fmt: skip
    order = [pops[p.name] for p in src.populations] + extra
    net = Network(
        dt=src.dt, populations=order, projections=projections,
        outputs=list(src.outputs), approximations=list(src.approximations) + grouped_notes(notes),
        exact=list(src.exact), source=src.source, reset=src.reset,
    )  # fmt: skip
    return net


def _multi_note(p: Population, fn: FloatNeuron) -> str:
    how = (f"{p.copies} binary copies on one membrane fire up to {p.copies} per step"
           if p.copies > 1 else "the chip fires at most one spike per step")
    gain = f", each chip spike standing for {p.spike_gain}" if p.spike_gain > 1 else ""
    exact = ("; the copies follow the float membrane exactly up to the rounding of their "
             "lateral weights" if p.copies > 1 else
             "; the charge of further spikes stays on the membrane for later steps"
             if fn.reset != "zero" else "")  # fmt: skip
    return f"floor(v / threshold) spikes per step: {how}{gain}{exact}"


def lateral_cap(fn: FloatNeuron, gain: int, hi: int) -> float:
    """The largest scale whose lateral weights (``alpha * thr * scale``) fit
    the weight range."""
    if fn.threshold is None:
        return np.inf
    big = float(np.max(np.abs(fn.alpha * fn.threshold))) * gain
    return hi / big if big > 0 else np.inf


def _lateral(p: Population, fn: FloatNeuron, pops: dict[str, Population]) -> list[Projection]:
    """The synapses that keep ``p``'s copies on one membrane: each copy's
    spike takes ``alpha * thr`` (the float neuron's subtraction, decayed one
    step) from every other copy in the next step (the copy's own reset took
    it from itself). Through a synaptic current the second step's share
    ``alpha_syn * alpha * thr`` is given back by the lateral relay one step
    later, so that the current delivers one impulse."""
    hi = weight_range(p.model)
    k = p.copies
    lay = copy_layout(p.shape, k)
    step = fn.threshold * p.v_scale * p.spike_gain
    i, j = np.nonzero(~np.eye(k, dtype=bool))
    pre = lay[:, i].reshape(-1)
    post = lay[:, j].reshape(-1)
    per = np.repeat(np.arange(p.elements), i.size)
    w = np.clip(np.rint(-fn.alpha[per] * step[per]), -hi, hi)
    out = [Projection(f"{p.name}->{p.name} (lateral)", p.name, p.name,
                      Coo(post, pre, w, (p.size, p.size)).coalesce(), sources=("copies",))]  # fmt: skip
    if fn.alpha_syn is not None:
        r = pops[f"{p.name}.lateral"]
        back = np.clip(np.rint(fn.alpha_syn[per] * fn.alpha[per] * step[per]), -hi, hi)
        out.append(Projection(f"{r.name}->{p.name}", r.name, p.name,
                              Coo(post, pre, back, (p.size, r.size)).coalesce(),
                              sources=("copies",)))  # fmt: skip
    return out


def _expand(pr: Projection, pre: Population | None, post: Population) -> Projection:
    """A projection over elements made one over chip neurons: each synapse
    repeated for every copy of its source and of its target."""
    kp = 1 if pre is None else pre.copies
    kq = post.copies
    if kp == 1 and kq == 1:
        return pr
    w = pr.weights
    rows, cols, data = w.row, w.col, w.data
    if kq > 1:
        lay = copy_layout(post.shape, kq)
        rows = lay[rows].reshape(-1)
        cols = np.repeat(cols, kq)
        data = np.repeat(data, kq)
    if kp > 1:
        assert pre is not None
        lay = copy_layout(pre.shape, kp)
        cols = lay[cols].reshape(-1)
        rows = np.repeat(rows, kp)
        data = np.repeat(data, kp)
    new = replace(pr, weights=Coo(rows, cols, data, (post.size, pre.size if pre else w.shape[1])))
    if pr.conv is not None and pr.kernel is not None:
        k = np.repeat(np.repeat(pr.kernel, kq, axis=0), kp, axis=1)
        new.kernel = k
        new.conv = replace(pr.conv, in_channels=pr.conv.in_channels * kp,
                           out_channels=pr.conv.out_channels * kq)  # fmt: skip
    return new


def _per_chip(values: np.ndarray, p: Population, offsets: np.ndarray | None = None) -> np.ndarray:
    """Per-element values on the chip neurons (copy j gets ``values + offsets[j]``)."""
    out = np.empty(p.size, np.float64)
    lay = copy_layout(p.shape, p.copies)
    v = np.broadcast_to(np.asarray(values, np.float64), (p.elements,))
    for j in range(p.copies):
        out[lay[:, j]] = v + (0.0 if offsets is None else offsets[j])
    return out


def _float32(p: Population, field: str, value, scale) -> np.ndarray:
    """``value`` (chip units) as the chip's float32, refused where it is past
    float32's range: a bias or voltage some 1e38 times the layer's largest
    weight cannot be held next to weights of a few bits."""
    a = np.asarray(value, np.float64)
    with np.errstate(over="ignore"):
        out = a.astype(F32)
    bad = ~np.isfinite(out)
    if bad.any():
        k = int(np.argmax(bad.reshape(-1)))
        sc = float(np.max(scale))
        what = {"i_offset": "bias", "v_init": "initial voltage", "v_reset": "reset voltage"}
        raise NircError(
            f"the {what.get(field, field)} (`{field}`) in the chip's units is past float32's "
            "range (SpiNNaker2's neuron parameters are float32)",
            where=p.name,
            found=f"{a.reshape(-1)[k]:.4g} at neuron {k} (the float value times the weight "
            f"scale {sc:.4g})",
            expected=f"at most {float(np.finfo(F32).max):.4g} in magnitude",
            hint="the layer's bias or voltages dwarf its weights; rescale them",
        )
    return out


def _neuron_params(p: Population, fn: FloatNeuron, c: Choice, notes: list[tuple[str, str]],
                   per: np.ndarray | None = None) -> dict:  # fmt: skip
    """The chip parameters of ``p``; ``per``: its per-neuron scales (else ``c.scale``)."""
    s = c.scale if per is None else per
    g, k = c.gain, c.copies
    params: dict[str, object] = {}
    if fn.threshold is None:
        thr = np.full(p.size, FLOAT32_MAX, F32)
        step = np.zeros(p.elements)
    else:
        step = fn.threshold * s * g  # one float spike's worth of chip charge
        thr = np.asarray(_per_chip(step, p), F32)
        if fn.compare == "ge":
            thr = _next_below(thr)
    params["threshold"] = _compact(thr)
    alpha = _per_chip(fn.alpha, p)
    params["alpha_decay"] = _compact(alpha.astype(F32))
    # copy j sits j float spikes' worth of charge below the membrane (so it
    # fires from j + 1 thresholds on), kept against the leak by (1 - alpha)
    # of it every step
    offset = np.zeros(p.size)
    lay = copy_layout(p.shape, k)
    for j in range(k):
        offset[lay[:, j]] = -j * np.broadcast_to(step, (p.elements,))
    i_off = _per_chip(fn.bias * s, p) + (1.0 - alpha) * offset
    params["i_offset"] = _compact(_float32(p, "i_offset", i_off, s))
    lag = p.lag
    v0, ok = _preroll_v0(_per_chip(fn.v_init * s, p) + offset, i_off, alpha, lag)
    if not ok:
        notes.append((p.name, f"the bias acts during the {lag} step(s) before the first input "
                              "arrives (its decay forgets the initial voltage)"))  # fmt: skip
    params["v_init"] = _compact(_float32(p, "v_init", v0, s))
    params["v_reset"] = _compact(_float32(p, "v_reset", _per_chip(fn.v_reset * s, p), s))
    params["reset"] = (
        "reset_by_subtraction" if fn.reset in ("subtract", "subtract_undecayed")
        else "reset_to_v_reset"
    )  # fmt: skip
    if p.model in ("lif_curr_exp_no_delay", "lif_curr_exp"):
        decay = fn.alpha_syn if fn.alpha_syn is not None else np.zeros(p.elements)
        params["exc_decay"] = _compact(_per_chip(decay, p).astype(F32))
        params["inh_decay"] = params["exc_decay"]
        params["t_refrac"] = 1 if fn.reset == "zero_refractory" else 0
    return params


def _compact(a: np.ndarray) -> object:
    """A float when every neuron has the same value, else the float32 array."""
    a = np.asarray(a, F32).reshape(-1)
    if a.size and np.all(a == a[0]):
        return float(a[0])
    return a


# the always-on sources one bias may take (each adds up to the model's largest
# weight per step): 16 PEs of them; the quantizer's own scales need a handful
MAX_BIAS_SOURCES = 4096


def _bias_projection(pr: Projection, pre: Population, post: Population,
                     per: np.ndarray | None = None) -> Projection:  # fmt: skip
    """An always-on source's weights adding up to round(S * b) per neuron
    (``per``: the per-neuron scales, else ``S`` of ``post``), split over as
    many source neurons as the range needs."""
    hi = weight_range(post.model)
    b = np.zeros(post.size)
    b[pr.weights.row] = pr.weights.data
    scale = np.full(post.size, float(post.v_scale))
    if per is not None:
        scale[: per.size] = per
    total = np.rint(b * scale)
    most = float(np.abs(total).max()) if total.size else 0.0
    k = max(1, math.ceil(most / hi))
    if k > MAX_BIAS_SOURCES:  # (and before an int64 of it could overflow)
        raise NircError(
            "a bias needs more always-on source neurons than a network can spend on it",
            where=post.name,
            expected=f"at most {MAX_BIAS_SOURCES:,} sources of weights up to +-{hi} each "
            f"(a scaled bias up to {MAX_BIAS_SOURCES * hi:,})",
            found=f"a bias of {b[np.argmax(np.abs(total))]:g} at the weight scale "
            f"{scale[np.argmax(np.abs(total))]:g}: {most:g} units, {float(k):.4g} sources",
            hint="a smaller --weight-scale, or leave it out (the search chooses the scale)",
        )
    total = total.astype(np.int64)
    pre.shape = (k,)
    q, r = np.divmod(np.abs(total), k)
    w = np.repeat(q[:, None], k, axis=1) + (np.arange(k)[None, :] < r[:, None])
    w = w * np.sign(total)[:, None]
    rows, cols = np.nonzero(w)
    return replace(pr, weights=Coo(rows.astype(np.int64), cols.astype(np.int64),
                                   w[rows, cols].astype(np.float64), (post.size, k)))  # fmt: skip


# --------------------------------------------------------------------------------------
# scoring and search
# --------------------------------------------------------------------------------------


def predictions(counts: np.ndarray) -> np.ndarray:
    """argmax over neurons of [B, n] counts, ties to the lowest index."""
    return np.argmax(counts, axis=1)


def score(reference: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Prediction agreement (outputs of >= 2 neurons; spike counts over the
    run), the count error, and the +-1 count agreement of nirc.metrics."""
    agree, n_pred, err = 0.0, 0, 0.0
    for name, ref in reference.items():
        r = spike_counts(ref).reshape(ref.shape[1], -1)
        g = spike_counts(got[name]).reshape(ref.shape[1], -1)
        if r.shape[1] >= 2:
            agree += float(np.sum(predictions(r) == predictions(g)))
            n_pred += r.shape[0]
        err += relative_l1(r, g, offset=1.0)
    a, _ = outputs_agreement(reference, got)
    return {
        "prediction_agreement": agree / n_pred if n_pred else 1.0,
        "predicted": float(n_pred),  # the predictions compared (samples x classifying outputs)
        "count_error": err / max(1, len(reference)),
        "count_agreement": a,
    }


def matches(reference: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per sample (and output of >= 2 neurons): whether the chip's prediction
    is the float network's (the terms of ``prediction_agreement``)."""
    parts = []
    for name, ref in reference.items():
        r = spike_counts(ref).reshape(ref.shape[1], -1)
        g = spike_counts(got[name]).reshape(ref.shape[1], -1)
        if r.shape[1] >= 2:
            parts.append(predictions(r) == predictions(g))
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def wins(new: np.ndarray, old: np.ndarray, margin: int | None = None,
         sigmas: float | None = None, errors: tuple[float, float] | None = None) -> bool:  # fmt: skip
    """Whether a move of the search is kept, from the per-sample matches
    (:func:`matches`) of the move and of the current choice: it must predict
    at least ``margin`` (:data:`MOVE_MARGIN`) more calibration samples as
    the float network does, and win by ``sigmas`` (:data:`MOVE_SIGMAS`)
    standard deviations of a sign test on the samples where the two differ
    (wins - losses against sqrt(wins + losses)). Where no output predicts
    (outputs of one neuron: no matches), ``errors`` (the count errors of
    the move and of the current choice) decide: a smaller one wins. As on
    Xylo, a move that wins on the counts but not significantly on the
    predictions is not kept. Smaller wins are noise:
    the float network itself moves by a percentage point of test accuracy
    when its weights move by less than half a step of the int8 grid, and
    wins of 3 or 4 samples in 256 that the search kept lost test accuracy
    (docs/spinnaker2.md)."""
    margin = MOVE_MARGIN if margin is None else margin
    sigmas = MOVE_SIGMAS if sigmas is None else sigmas
    if new.size == 0:
        return errors is not None and errors[0] < errors[1] - 1e-9
    won = int(np.sum(new & ~old))
    lost = int(np.sum(old & ~new))
    return won > lost and won - lost >= max(margin, sigmas * math.sqrt(won + lost))


def _copies_everywhere(ex: Extraction, pops, choices: dict[str, Choice],
                       input_copies: Mapping[str, int],
                       notes: list[str] | None = None) -> dict[str, Choice] | None:  # fmt: skip
    """``choices`` with every multi-spike population that resets by
    subtraction built as its most binary copies (at most its cap), in
    order, where the network's synapses stay within
    :data:`MAX_COPY_SYNAPSES`; None where there is none. Not a
    ``lif_conv2d`` population: copies would turn its Conv2DProjection (the
    PE's MLA) into connection lists."""
    out = dict(choices)
    for p in pops:
        fn = ex.neurons[p.name]
        if (fn.spikes == "multi" and fn.reset in ("subtract", "subtract_undecayed")
                and p.model != "lif_conv2d"):
            k = min(max(COPIES), fn.max_spikes or max(COPIES))
            if k > 1:
                cand = {**out, p.name: replace(choices[p.name], copies=k)}
                n_syn = synapses_with(ex, cand, input_copies)
                if n_syn <= MAX_COPY_SYNAPSES:
                    out = cand
                elif notes is not None:
                    notes.append(too_many_synapses(p.name, k, n_syn))
    return None if out == choices else out


def too_many_synapses(name: str, copies: int, synapses: int) -> str:
    return (f"{name}: not tried as {copies} copies: {synapses:,} synapses, more than "
            f"{MAX_COPY_SYNAPSES:,} (copies multiply a projection's connections by those at "
            "both ends)")


def synapses_with(ex: Extraction, choices: Mapping[str, Choice],
                  input_copies: Mapping[str, int]) -> int:  # fmt: skip
    """The chip synapses of the network these choices build: each
    projection's connections times the copies of its source and of its
    target, and the lateral synapses among each neuron's copies."""
    net = ex.network
    k = {p.name: max(1, int(input_copies.get(p.name, 1))) if p.role == INPUT
         else choices[p.name].copies if p.name in choices else 1 for p in net.populations}  # fmt: skip
    total = sum(pr.weights.nnz * k.get(pr.pre, 1) * k.get(pr.post, 1) for pr in net.projections)
    return total + sum(net.population(n).size * c.copies * (c.copies - 1)
                       for n, c in choices.items() if c.copies > 1)  # fmt: skip


def search(
    ex: Extraction,
    calib: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray],
    label: str,
    *,
    input_copies: Mapping[str, int],
    quick: bool = False,
    copies: bool = True,
) -> tuple[Network, Quantization]:
    """The quantized network and how it was chosen (see the module docstring).
    ``quick``: max-abs scales and gain 1 (no search); ``copies``: whether
    multi-spike populations may be built as copies."""
    net = ex.network
    neuron_pops = [p for p in net.populations if p.role == NEURON]
    gains = {p.name: 1 for p in neuron_pops}
    base = max_abs_scales(ex, gains)
    choices = {n: Choice(base[n], 1) for n in base}
    samples = next(iter(calib.values())).shape[1] if calib else 0
    quant = Quantization(choices, dict(base), "max-abs", label, samples)
    if quick or not neuron_pops or samples == 0:
        qnet = integer_network(ex, choices, input_copies)
        copied = (_copies_everywhere(ex, neuron_pops, choices, input_copies, quant.notes)
                  if samples and copies else None)  # fmt: skip
        if copied is not None:
            # random spikes say little about scales, but copies compute the float
            # neurons' counts on any input: the two networks judged as wholes
            plain = score(reference, _run(qnet, calib, every=False)[0])
            cnet = integer_network(ex, copied, input_copies)
            built = score(reference, _run(cnet, calib, every=False)[0])
            quant.max_abs_score, quant.evaluations = dict(plain), 2
            if better(*((c["prediction_agreement"], c["count_error"]) for c in (built, plain))):
                qnet, quant.choices = cnet, copied
                quant.method = "max-abs, multi-spike populations as binary copies"
        quant.effective(qnet)
        return qnet, quant

    steps = next(iter(calib.values())).shape[0]
    _check_search_memory(ex, samples, steps + net.latency)

    def evaluate(ch: dict[str, Choice], given=None) -> tuple[dict[str, float], np.ndarray]:
        """A candidate's score and matches, from its outputs alone (keeping
        every population's spikes of every candidate cost the N-MNIST CNN's
        search a sixth of its time and two thirds of its peak memory)."""
        out, _ = _run(integer_network(ex, ch, input_copies), calib, given, every=False)
        quant.evaluations += 1
        return score(reference, out), matches(reference, out)

    def all_spikes(ch: dict[str, Choice], given=None) -> dict:
        """Every population's spikes of the choice kept (the next
        populations' searches take the upstream ones as given)."""
        return _run(integer_network(ex, ch, input_copies), calib, given)[1]

    best_score, best_match = evaluate(choices)
    spikes = all_spikes(choices)
    quant.max_abs_score = dict(best_score)
    multi = {p.name for p in neuron_pops if ex.neurons[p.name].spikes == "multi"}
    subtract = {p.name for p in neuron_pops
                if ex.neurons[p.name].reset in ("subtract", "subtract_undecayed")}  # fmt: skip
    for _ in range(SWEEPS):
        changed = False
        for p in neuron_pops:
            fixed = _upstream(net, p.name, spikes)
            # first how multi-spike neurons spike (gain, copies), then the
            # population's scale, then a scale per neuron
            for stage in ("spikes", "scale", "neurons"):
                if stage == "spikes" and p.name not in multi:
                    continue
                base = max_abs_scales(ex, {n: c.gain for n, c in choices.items()})
                c0 = choices[p.name]
                m0 = c0.scale / base[p.name]
                if stage == "spikes":
                    forms = [(g, 1) for g in GAINS]
                    if p.name in subtract and copies:  # at most the float neuron's cap
                        cap = ex.neurons[p.name].max_spikes or max(COPIES)
                        for k in sorted({min(k, cap) for k in COPIES if min(k, cap) > 1}):
                            n_syn = synapses_with(ex, {**choices, p.name: replace(c0, copies=k)},
                                                  input_copies)  # fmt: skip
                            if n_syn <= MAX_COPY_SYNAPSES:
                                forms.append((1, k))
                            elif not any(n.startswith(f"{p.name}: not tried as {k} ")
                                         for n in quant.notes):  # fmt: skip
                                quant.notes.append(too_many_synapses(p.name, k, n_syn))
                    options = [(m0, g, k, c0.per_neuron) for g, k in forms]
                elif stage == "scale":
                    options = [(m, c0.gain, c0.copies, c0.per_neuron) for m in MULTIPLIERS]
                else:
                    gains = {n: c.gain for n, c in choices.items()}
                    per = c0.copies == 1 and row_factors(ex, p.name, gains, c0.scale) is not None
                    options = [(m0, c0.gain, c0.copies, True)] if per else []
                current = choices
                for m, g, k, per_neuron in options:
                    cand = dict(current)
                    cand[p.name] = Choice(base[p.name] * m, g, k, per_neuron)
                    _rescale_downstream(cand, base, current, p.name, ex)
                    if cand == choices or cand == current:
                        continue
                    s, hit = evaluate(cand, fixed)
                    errors = (s["count_error"], best_score["count_error"])
                    if wins(hit, best_match, errors=errors):
                        best_score, best_match, choices, changed = s, hit, cand, True
                        spikes = {}  # the old choice's own spikes go before the new ones come
                        spikes = all_spikes(cand, fixed)
        if not changed:
            break
    quant.base_scales = max_abs_scales(ex, {n: c.gain for n, c in choices.items()})
    quant.choices = choices
    quant.score = best_score
    quant.method = ("searched per population (moves kept on significant wins in prediction "
                    "agreement)")  # fmt: skip
    qnet = integer_network(ex, choices, input_copies)
    quant.effective(qnet)
    return qnet, quant


# bytes per chip neuron, sample and step the search holds at its peak: the
# spikes (uint8) of the best choice so far (a candidate keeps its outputs
# only); measured on the N-MNIST CNN read as Sinabs (256 samples, 305 chip
# steps, 4,096-neuron layers tried as 8 copies): a peak of 1.5 GiB, against
# this estimate's 2.9 (the widest candidate taken as the one kept). When
# every candidate's spikes were kept, 6.1 GiB
SEARCH_BYTES = 1


def _check_search_memory(ex: Extraction, samples: int, steps: int) -> None:
    """Refuse a search whose widest candidate (a multi-spike population as
    its most copies) cannot fit this machine's memory, before it runs: past
    it, the out-of-memory killer ends the compile after minutes of search,
    with no message."""
    from nirc.interpreter.io import check_memory

    pops = ex.network.populations
    extra = 0
    for p in pops:
        fn = ex.neurons.get(p.name) if p.role == NEURON else None
        if fn is not None and fn.spikes == "multi" and fn.reset in ("subtract", "subtract_undecayed"):
            extra = max(extra, (min(max(COPIES), fn.max_spikes or max(COPIES)) - 1) * p.size)
    widest = sum(p.size for p in pops) + extra
    check_memory(
        float(steps) * samples * widest * SEARCH_BYTES, "the SpiNNaker2 calibration search",
        f"{samples:,} samples x {steps:,} chip steps x {widest:,} chip neurons (its widest "
        "candidate), the best choice's spikes",
        "calibrate on fewer samples (--calib-samples) or shorter samples",
    )  # fmt: skip


def _rescale_downstream(cand, base, old, name, ex: Extraction) -> None:
    """A source's gain multiplies the weights it feeds: keep the populations it
    feeds at the same multiple of their (new) max-abs scale."""
    if cand[name].gain == old[name].gain:
        return
    new_base = max_abs_scales(ex, {n: c.gain for n, c in cand.items()})
    for pr in ex.network.projections:
        if pr.pre == name and pr.post in cand and pr.post != name:
            m = old[pr.post].scale / base[pr.post]
            cand[pr.post] = replace(cand[pr.post], scale=new_base[pr.post] * m)


def _upstream(net: Network, name: str, spikes: dict) -> dict[str, np.ndarray]:
    """Spikes of the populations that do not depend on ``name`` (held fixed
    while ``name``'s scale is searched)."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(p.name for p in net.populations)
    g.add_edges_from((pr.pre, pr.post) for pr in net.projections)
    down = nx.descendants(g, name) | {name}
    return {k: v for k, v in spikes.items() if k not in down}


def _run(qnet: Network, calib, given=None, every: bool = True):
    """(aligned outputs, chip spikes by population) of ``qnet`` on
    ``calib``; without ``every``, the spikes of the outputs' populations
    only."""
    from .simulator import Simulator, aligned_outputs, check_inputs

    arrays = check_inputs(qnet, calib)
    steps = next(iter(arrays.values())).shape[0]
    chip = steps + qnet.latency
    sim = Simulator(qnet)
    wanted = tuple(o.population for o in qnet.outputs if o.reads == "v")
    keep = None if every else {o.population for o in qnet.outputs}
    spikes, volts = sim.run(arrays, chip, record_v=wanted, given=given, keep=keep)
    return aligned_outputs(qnet, spikes, volts, steps), spikes


def activity(net: Network, spikes: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Spikes per neuron per step by population (the partitioner's traffic
    weights), from a chip simulation."""
    out = {}
    for p in net.populations:
        s = spikes.get(p.name)
        if s is None or not s.size:
            continue
        out[p.name] = s.reshape(-1, s.shape[-1]).mean(axis=0).astype(np.float64)
    return out


__all__ = [
    "COPIES",
    "Choice",
    "GAINS",
    "MULTIPLIERS",
    "Quantization",
    "activity",
    "integer_network",
    "matches",
    "max_abs_scales",
    "mean_spike_count",
    "row_factors",
    "score",
    "search",
    "wins",
]
