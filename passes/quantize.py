"""`quantize{bits=8, state_bits=16, granularity=layer|channel, calibrate=inputs.npz}`.

Turns a float `snn` graph into the integer forms of the `snn` dialect (see
its docstring for the exact integer semantics): weights of ``bits`` bits with
a left ``shift`` per weight op, neuron states, thresholds and biases of
``state_bits`` bits, decay factors and gains as fixed-point multipliers with
``frac_bits`` fractional bits (default 16).

Scales
------
Each neuron gets a *state scale* S (state units per real unit of its ``v``;
one per layer, or one per channel with ``granularity=channel``: the first
axis of the layer, i.e. the output channel of a conv layer, the neuron of a
dense one). Spikes are counts, so they need no scale: a layer's inputs are
integers already and its scale is free to choose; only non-spiking neurons
pass their scale on to what reads them.

- The neuron's input gains (``gain_mem``, and ``gain_syn * gain_mem`` with a
  synaptic stage) are folded into the weights feeding it, when every input
  comes through weights (as `fold-weights` would); then
  ``W_q * 2**shift ~ W * gain * S / s_in`` (``s_in`` the scale of what the
  weights read, 1 for spikes), the bias in state units is ``round(b * gain * S)``.
  A neuron fed directly (an Input into a LIF) keeps its gain as a multiplier.
- ``v_threshold``, ``v_reset``, ``bias_mem`` and initial states are
  ``round(x * S)``; the synaptic current is kept in the membrane's units.
- ``shift`` is the smallest that keeps ``rho * max|W_q|`` within the weight
  range; ``rho < 1`` lets the largest weights saturate for a finer step.

How S is chosen: not by max-abs scaling alone. For each neuron (in
evaluation order) candidates are generated from the largest value its state
must hold (threshold, reset and the float network's own ``v`` and ``i``
ranges on the calibration inputs) with 1..5 bits of headroom, times three
weight-clipping ratios, plus plain max-abs scaling; each candidate is
simulated on the calibration inputs for that neuron alone (the other neurons'
outputs are replayed from the network quantized so far) and the one whose
spikes agree best with the float network's spikes wins (ties: the earlier,
larger headroom first). ``method=maxabs`` skips the search: S fills the
weight range exactly (``S = (2**(bits-1) - 1) * s_in / max|W * gain|``), no
shift, limited so that the threshold fits the state (Sinabs' rule).

Calibration inputs are ``calibrate=file.npz`` (arrays per Input, ``[T, B,
*shape]`` or ``[T, *shape]``), else Bernoulli spikes (``calib_rate`` 0.1,
``calib_steps`` 300, ``calib_batch`` 4, seed ``seed`` 1000).

The pass prints (stderr, ``report=false`` to silence) for each neuron its
scale, shifts, the weight SNR (dB: ``10 log10(sum W^2 / sum (W - deq(W_q))^2)``
over its weights, gains folded) and the spike agreement of that neuron on the
calibration inputs, then the agreement of the whole network's outputs.

Needs a graph without float-only ops: run `fold-weights` first (Scale ops and
average pools are refused with that hint). Weight ops that feed no neuron
(a Linear straight into an Output) are quantized max-abs and the Output gets
the ``scale`` of its integer values.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from nirc.diagnostics import NircError

F64 = np.float64


def _snn():
    from nirc.dialects import snn

    return snn


# --------------------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------------------


@dataclass
class Feed:
    """One input of a neuron: through weights (``weight`` names the op) or direct."""

    weight: str | None
    value: SSAValue  # what the weights (or the neuron, when direct) read
    via_reshape: bool = False


@dataclass
class Unit:
    neuron: str
    feeds: list[Feed]
    folded: bool  # gains go into the weights

    @property
    def weights(self) -> list[str]:
        return [f.weight for f in self.feeds if f.weight is not None]


@dataclass
class Choice:
    label: str
    S: np.ndarray  # the layer's shape (or broadcastable)
    rho: float
    headroom: int | None = None
    shifts: dict[str, int] = field(default_factory=dict)


def ops_by_name(module: ModuleOp) -> dict[str, Operation]:
    snn = _snn()
    return {op.node_name.data: op for op in snn.flat_ops(snn.top_graph(module))}


def _shape(value: SSAValue) -> tuple[int, ...]:
    from nirc.dialects.nir import shape_of

    s = shape_of(value.type)
    assert s is not None
    return s


def value_scale(value: SSAValue) -> float:
    """State units per real unit of the values ``value`` carries (1 for counts)."""
    snn = _snn()
    op = snn.producer(value)
    if isinstance(op, snn.InputOp):
        return 1.0
    if isinstance(op, snn.NeuronOp):
        if op.spiking:
            return 1.0
        if not op.quantized:
            raise NircError(
                "quantize: a float non-spiking neuron feeds a weight before it is quantized",
                where=op.node_name.data,
            )
        s = snn.param(op, "scale")
        if s.size != 1 and not (s == s.reshape(-1)[0]).all():
            raise NircError(
                "quantize: weights read a neuron quantized per channel",
                where=op.node_name.data,
                hint="use granularity=layer",
            )
        return float(s.reshape(-1)[0])
    if isinstance(op, snn.DelayOp | snn.ReshapeOp | snn.SumPool2dOp | snn.OutputOp):
        scales = {value_scale(v) for v in op.operands}
        if len(scales) != 1:
            raise NircError(
                "quantize: values of different scales are summed", where=op.node_name.data
            )
        return scales.pop()
    if isinstance(op, snn.SYNAPSE_OPS):
        s = snn.param(op, "scale")
        if s is None:
            raise NircError("quantize: weights read unquantized weights", where=op.node_name.data)
        if not (s == s.reshape(-1)[0]).all():
            raise NircError(
                "quantize: weights read per-channel scaled weights", where=op.node_name.data
            )
        return float(s.reshape(-1)[0])
    raise NircError(
        f"quantize cannot give integer semantics to {op.name if op else 'this value'}",
        where=op.node_name.data if op is not None else None,
        hint="run fold-weights first",
    )


def analyze(module: ModuleOp, neuron: Operation) -> Unit:
    snn = _snn()
    feeds: list[Feed] = []
    for v in neuron.operands:
        seen_reshape = False
        cur = v
        while True:
            p = snn.producer(cur)
            if isinstance(p, snn.DelayOp | snn.ReshapeOp) and len(p.operands) == 1:
                if len(snn.consumers(p.results[0])) != 1:
                    break
                seen_reshape |= isinstance(p, snn.ReshapeOp)
                cur = p.operands[0]
                continue
            break
        if isinstance(p, snn.SYNAPSE_OPS) and len(snn.consumers(p.results[0])) == 1:
            if len(p.operands) != 1:
                vals = {value_scale(x) for x in p.operands}
                if len(vals) != 1:
                    raise NircError(
                        "quantize: a synapse sums inputs of different scales",
                        where=p.node_name.data,
                    )
            feeds.append(Feed(p.node_name.data, p.operands[0], seen_reshape))
        else:
            feeds.append(Feed(None, v))
    folded = all(f.weight is not None for f in feeds) and bool(feeds)
    return Unit(neuron.node_name.data, feeds, folded)


# --------------------------------------------------------------------------------------
# applying a choice
# --------------------------------------------------------------------------------------


def _int_dtype(bits: int):
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


def _gain_factor(neuron: Operation) -> np.ndarray:
    snn = _snn()
    f = np.ones(_shape(neuron.results[0]))
    for name in ("gain_mem", "gain_syn"):
        g = snn.param(neuron, name)
        if g is not None:
            f = f * g.astype(F64)
    return f


def _rows(op: Operation, full: np.ndarray, via_reshape: bool) -> np.ndarray:
    """Per-output-row values of ``full`` (the neuron's shape) for weight op ``op``."""
    from nirc.passes.fold_weights import _per_output

    if via_reshape:
        if not (full == full.reshape(-1)[0]).all():
            raise NircError(
                "quantize: a reshape between weights and neuron needs a per-layer factor"
            )
        return np.full(
            _shape(op.results[0])[0 if not isinstance(op, _snn().DenseOp) else -1],
            full.reshape(-1)[0],
        )
    rows = _per_output(op, full)
    if rows is None:
        raise NircError(
            "quantize: the neuron's factors are not uniform per output channel of its weights",
            where=op.node_name.data,
        )
    return rows


def effective_weights(
    ops: dict[str, Operation], unit: Unit
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """(W * gain, b * gain) per weight op of the unit (gains folded when ``unit.folded``)."""
    snn = _snn()
    neuron = ops[unit.neuron]
    factor = _gain_factor(neuron) if unit.folded else np.ones(_shape(neuron.results[0]))
    out = {}
    for f in unit.feeds:
        if f.weight is None:
            continue
        op = ops[f.weight]
        w = snn.param(op, "weight").astype(F64)
        b = snn.param(op, "bias")
        rows = _rows(op, factor, f.via_reshape)
        shape = (-1,) + (1,) * (w.ndim - 1)
        out[f.weight] = (w * rows.reshape(shape), None if b is None else b.astype(F64) * rows)
    return out


def apply_choice(
    module: ModuleOp,
    unit: Unit,
    choice: Choice,
    *,
    bits: int,
    state_bits: int,
    frac_bits: int,
    grams: dict[str, list[np.ndarray]] | None = None,
) -> dict[str, float]:
    """Quantize one unit in place; returns the weight SNR (dB) per weight op."""
    from nirc.dialects.nir import array_to_attr

    snn = _snn()
    ops = ops_by_name(module)
    neuron = ops[unit.neuron]
    shape = _shape(neuron.results[0])
    S = np.broadcast_to(np.asarray(choice.S, F64), shape)
    wmax = (1 << (bits - 1)) - 1
    lo, hi = -(1 << (state_bits - 1)), (1 << (state_bits - 1)) - 1
    eff = effective_weights(ops, unit)
    snr: dict[str, float] = {}
    if unit.folded:
        s_x = None
    else:
        direct = {value_scale(f.value) for f in unit.feeds if f.weight is None}
        if len(direct) != 1:
            raise NircError(
                "quantize: a neuron sums direct inputs of different scales", where=unit.neuron
            )
        s_x = direct.pop()
    for f in unit.feeds:
        if f.weight is None:
            continue
        op = ops[f.weight]
        w_eff, b_eff = eff[f.weight]
        s_in = value_scale(f.value)
        out_units = _rows(op, S, f.via_reshape) if unit.folded else np.full(w_eff.shape[0], s_x)
        rows = (out_units / s_in).reshape((-1,) + (1,) * (w_eff.ndim - 1))
        big = float(np.max(np.abs(w_eff * rows), initial=0.0))
        if f.weight in choice.shifts:
            h = choice.shifts[f.weight]
        else:
            h = max(0, math.ceil(math.log2(choice.rho * big / wmax) - 1e-9)) if big > 0 else 0
            h = min(h, 31)
        choice.shifts[f.weight] = h
        target = w_eff * rows / 2.0**h
        if grams and f.weight in grams:
            wq = data_aware_round(target, grams[f.weight], -wmax - 1, wmax)
        else:
            wq = np.clip(np.rint(target), -wmax - 1, wmax)
        deq = wq * 2.0**h / rows
        err = float(np.sum((w_eff - deq) ** 2))
        snr[f.weight] = 10 * math.log10(float(np.sum(w_eff**2)) / err) if err > 0 else math.inf
        op.properties["weight"] = array_to_attr(wq.astype(_int_dtype(bits)))
        op.properties["shift"] = snn.int_attr(h)
        if unit.folded:
            raw = _rows(op, _gain_factor(neuron), f.via_reshape) * out_units
        else:
            raw = out_units
        op.properties["scale"] = array_to_attr(_compact_pos(raw.astype(F64)))
        if b_eff is not None:
            bq = np.rint(b_eff * out_units)  # in output units, added after the shift
            op.properties["bias"] = array_to_attr(np.clip(bq, -(2**31), 2**31 - 1).astype(np.int32))
    # the neuron
    one = 1 << frac_bits

    def mult(name: str) -> None:
        a = snn.param(neuron, name)
        if a is not None:
            neuron.properties[name] = array_to_attr(_compact_int(np.rint(a.astype(F64) * one)))

    def state(name: str, factor: np.ndarray) -> None:
        a = snn.param(neuron, name)
        if a is not None:
            q = np.clip(np.rint(a.astype(F64) * factor), lo, hi)
            neuron.properties[name] = array_to_attr(_compact_int(q, np.int32))

    mult("alpha_mem")
    mult("alpha_syn")
    g_mem = snn.param(neuron, "gain_mem")
    g_mem = np.ones(shape) if g_mem is None else np.broadcast_to(g_mem.astype(F64), shape)
    syn = neuron.has_synapse_stage
    if unit.folded:
        neuron.properties.pop("gain_mem", None)
        neuron.properties.pop("gain_syn", None)
    else:
        g_syn = snn.param(neuron, "gain_syn")
        g_syn = np.ones(shape) if g_syn is None else g_syn.astype(F64)
        if syn:
            g = g_syn * g_mem * S / s_x
            neuron.properties.pop("gain_mem", None)
            neuron.properties["gain_syn"] = array_to_attr(_compact_int(np.rint(g * one)))
        else:
            neuron.properties["gain_mem"] = array_to_attr(
                _compact_int(np.rint(g_mem * S / s_x * one))
            )
    for name in ("bias_mem", "v_threshold", "v_reset", "v_init"):
        state(name, S)
    state("i_init", S * g_mem)
    neuron.properties["scale"] = array_to_attr(_compact_pos(S))
    neuron.properties["frac_bits"] = snn.int_attr(frac_bits)
    neuron.properties["state_bits"] = snn.int_attr(state_bits)
    return snr


def _compact_pos(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, F64)
    if a.size and (a == a.reshape(-1)[0]).all():
        return np.array(a.reshape(-1)[0])
    return np.ascontiguousarray(a)


def _compact_int(a: np.ndarray, dtype=np.int64) -> np.ndarray:
    a = np.asarray(a)
    if a.size and (a == a.reshape(-1)[0]).all():
        return np.array(a.reshape(-1)[0], dtype)
    return np.ascontiguousarray(a.astype(dtype))


def quantize_orphans(module: ModuleOp, bits: int) -> None:
    """Float weight ops left over (feeding no neuron): max-abs scaled."""
    from nirc.dialects.nir import array_to_attr

    snn = _snn()
    graph = snn.top_graph(module)
    wmax = (1 << (bits - 1)) - 1
    for op in snn.flat_ops(graph):
        if not isinstance(op, snn.SYNAPSE_OPS) or snn.param(op, "weight").dtype.kind != "f":
            continue
        s_in = value_scale(op.operands[0])
        w = snn.param(op, "weight").astype(F64)
        big = float(np.max(np.abs(w), initial=0.0))
        S = wmax * s_in / big if big > 0 else 1.0
        op.properties["weight"] = array_to_attr(np.rint(w * S / s_in).astype(_int_dtype(bits)))
        op.properties["shift"] = snn.int_attr(0)
        op.properties["scale"] = array_to_attr(np.array(S))
        b = snn.param(op, "bias")
        if b is not None:
            op.properties["bias"] = array_to_attr(np.rint(b.astype(F64) * S).astype(np.int32))
    for out in graph.output_ops():
        if not out.operands:
            continue
        p = snn.producer(out.operands[0])
        spikes = isinstance(p, snn.NeuronOp) and p.spiking
        if not spikes and not isinstance(p, snn.InputOp):
            try:
                s = value_scale(out.operands[0])
            except NircError:
                continue
            if s != 1.0:
                out.properties["scale"] = array_to_attr(np.array(s))


# --------------------------------------------------------------------------------------
# data-aware rounding
# --------------------------------------------------------------------------------------


def input_gram(op: Operation, x: np.ndarray, chunk: int = 64) -> list[np.ndarray]:
    """``E[p p^T]`` over the calibration inputs ``x[T, B, *in_shape]`` of a weight
    op, where ``p`` is what one output row's weights multiply (an input vector,
    or a convolution patch in the weight's (channel, ky, kx) order); one matrix
    per group."""
    snn = _snn()
    in_shape = _shape(op.operands[0])
    xs = np.asarray(x, F64).reshape((-1,) + in_shape)
    if isinstance(op, snn.DenseOp):
        k = int(np.prod(in_shape[len(in_shape) - op.contracted :]))
        rows = xs.reshape(-1, k)
        return [rows.T @ rows / max(len(rows), 1)]
    stride, pads, dil, groups = op.conv_params()
    w = snn.param(op, "weight")
    if op.SPATIAL == 1:
        xs = xs[:, :, None, :]
        stride, pads, dil = (1,) + stride, ((0, 0),) + pads, (1,) + dil
        kh, kw = 1, w.shape[2]
    else:
        kh, kw = w.shape[2], w.shape[3]
    n, c, h, wd = xs.shape
    cg = c // groups
    (pt, pb), (pl, pr) = pads
    oh = (h + pt + pb - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pl + pr - dil[1] * (kw - 1) - 1) // stride[1] + 1
    grams = [np.zeros((cg * kh * kw, cg * kh * kw)) for _ in range(groups)]
    count = 0
    for s0 in range(0, n, chunk):
        part = xs[s0 : s0 + chunk]
        xp = np.zeros((len(part), c, h + pt + pb, wd + pl + pr))
        xp[:, :, pt : pt + h, pl : pl + wd] = part
        for g in range(groups):
            cols = []
            for ch in range(g * cg, (g + 1) * cg):
                for i in range(kh):
                    for j in range(kw):
                        y0, x0 = i * dil[0], j * dil[1]
                        sl = xp[:, ch, y0 : y0 + (oh - 1) * stride[0] + 1 : stride[0],
                                x0 : x0 + (ow - 1) * stride[1] + 1 : stride[1]]  # fmt: skip
                        cols.append(sl.reshape(-1))
            patches = np.stack(cols, axis=1)
            grams[g] += patches.T @ patches
        count += len(part) * oh * ow
    return [g / max(count, 1) for g in grams]


def data_aware_round(
    target: np.ndarray, grams: list[np.ndarray], lo: int, hi: int, sweeps: int = 4
) -> np.ndarray:
    """Integers ``q`` near ``target[out, K]`` minimizing ``(q - t) G (q - t)^T`` per
    row: the mean squared error of the weighted sum on the calibration inputs
    (AdaRound's objective, solved greedily: start from rounding to nearest, move
    single weights by one step while that lowers the error)."""
    out = target.shape[0]
    per = out // len(grams)
    q = np.clip(np.rint(target), lo, hi)
    for g_index, gram in enumerate(grams):
        rows = slice(g_index * per, (g_index + 1) * per)
        t = target[rows].reshape(per, -1)
        qq = q[rows].reshape(per, -1)
        e = qq - t
        ge = e @ gram
        diag = np.diag(gram)
        for _ in range(sweeps):
            moved = False
            for k in range(t.shape[1]):
                g = ge[:, k]
                d = -np.sign(g)
                gain = 2.0 * np.abs(g) - diag[k]
                ok = (gain > 1e-12 * max(diag[k], 1e-300)) & (d != 0)
                ok &= (qq[:, k] + d >= lo) & (qq[:, k] + d <= hi)
                if not ok.any():
                    continue
                step = np.where(ok, d, 0.0)
                qq[:, k] += step
                ge += step[:, None] * gram[k][None, :]
                moved = True
            if not moved:
                break
        q[rows] = qq.reshape(q[rows].shape)
    return q


# --------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------


def run_module(module, inputs, record=(), cut=(), with_outputs=True) -> dict[str, np.ndarray]:
    from nirc.interpreter.snn import run_snn

    return run_snn(module, inputs, record=record, cut=cut, with_outputs=with_outputs)


def agreement(got: np.ndarray, ref: np.ndarray, scale=None) -> float:
    """Fraction of equal entries; see :func:`nirc.metrics.step_agreement`."""
    from nirc.metrics import step_agreement

    return step_agreement(ref, got, scale)


def state_range(neuron: Operation, ref: dict[str, np.ndarray]) -> np.ndarray:
    """Per element, the largest magnitude the state must hold (float units)."""
    snn = _snn()
    name = neuron.node_name.data
    shape = _shape(neuron.results[0])
    r = np.zeros(shape)
    for f in ("v_threshold", "v_reset", "bias_mem", "v_init"):
        a = snn.param(neuron, f)
        if a is not None:
            r = np.maximum(r, np.abs(np.broadcast_to(a.astype(F64), shape)))
    v = ref.get(f"{name}.v")
    if v is not None:
        r = np.maximum(r, v)
    i = ref.get(f"{name}.i")
    if i is not None:
        g = snn.param(neuron, "gain_mem")
        g = 1.0 if g is None else np.abs(g.astype(F64))
        r = np.maximum(r, i * g)
    if not neuron.spiking:
        r = np.full(shape, float(r.max()))  # non-spiking: one scale (it is passed on)
    return np.where(r > 0, r, 1.0)


def _per_channel(r: np.ndarray, granularity: str) -> np.ndarray:
    if granularity == "layer" or r.ndim == 0:
        return np.array(r.max())
    return r.reshape(r.shape[0], -1).max(axis=1).reshape((r.shape[0],) + (1,) * (r.ndim - 1))


def _gain_limited(neuron: Operation, unit: Unit, S: np.ndarray, frac_bits: int) -> np.ndarray:
    """A state scale small enough that the gains kept as multipliers fit in 31 bits."""
    if unit.folded:
        return S
    direct = [value_scale(f.value) for f in unit.feeds if f.weight is None]
    s_x = min(direct) if direct else 1.0
    g = float(np.max(np.abs(_gain_factor(neuron)), initial=0.0))
    if g == 0:
        return S
    return np.minimum(S, (2.0**31 - 1) * s_x / (g * 2.0**frac_bits) * 0.999)


def candidates(
    module,
    unit: Unit,
    ref,
    *,
    bits: int,
    state_bits: int,
    granularity: str,
    search: bool,
    frac_bits: int = 16,
) -> list[Choice]:
    snn = _snn()
    ops = ops_by_name(module)
    neuron = ops[unit.neuron]
    wmax = (1 << (bits - 1)) - 1
    top = (1 << (state_bits - 1)) - 1
    thr = snn.param(neuron, "v_threshold")
    fixed = np.zeros(_shape(neuron.results[0]))
    for f in ("v_threshold", "v_reset"):
        a = snn.param(neuron, f)
        if a is not None:
            fixed = np.maximum(fixed, np.abs(a.astype(F64)))
    gran = granularity if neuron.spiking else "layer"
    # max-abs: weights fill their range (per layer / channel), thresholds must fit
    eff = effective_weights(ops, unit)
    big = np.zeros(_shape(neuron.results[0]))
    for f in unit.feeds:
        if f.weight is None:
            continue
        w, _ = eff[f.weight]
        s_in = value_scale(f.value)
        rows = np.abs(w).reshape(w.shape[0], -1).max(axis=1) / s_in
        op = ops[f.weight]
        full = _broadcast_rows(op, rows, _shape(neuron.results[0]), f.via_reshape)
        big = np.maximum(big, full)
    if not unit.folded or not big.any():
        r = _per_channel(state_range(neuron, ref), gran)
        base = Choice("max-abs", _gain_limited(neuron, unit, top / 2.0 / r, frac_bits), 1.0)
    else:
        fill = wmax / _per_channel(big, gran)
        limit = top / np.maximum(_per_channel(fixed, gran), 1e-30) if thr is not None else np.inf
        base = Choice("max-abs", np.minimum(fill, limit), 1.0, None, {})
        base.shifts = dict.fromkeys(unit.weights, 0)
    if not search:
        return [base]
    out: list[Choice] = []
    if not unit.folded or not big.any():
        r = _per_channel(state_range(neuron, ref), gran)
        for hb in (1, 2, 3, 4, 5):
            S = _gain_limited(neuron, unit, 2.0 ** (state_bits - 1 - hb) / r, frac_bits)
            out.append(Choice(f"state range, headroom {hb} bit(s)", S, 1.0, hb))
        return out + [base]
    # weights fill their range (clipping the largest 1 - rho), the state is made as
    # fine as the threshold allows in powers of two: the finest few and the coarsest
    limit = top / 2.0 / np.maximum(_per_channel(fixed, gran), 1e-30) if thr is not None else None
    if limit is None:
        limit = top / 2.0 / _per_channel(state_range(neuron, ref), gran)
    for rho in (1.0, 0.8, 0.6, 0.45):
        ladder = []
        for k in range(0, 24):
            S = np.minimum(fill * 2.0**k / rho, limit)
            if ladder and np.array_equal(S, ladder[-1][1]):
                break
            ladder.append((k, S))
        picked = ladder[-3:] if len(ladder) > 3 else ladder
        if ladder[0] not in picked:
            picked = [ladder[0]] + picked
        for k, S in picked:
            out.append(Choice(f"fill, clip {rho:g}, state x2^{k}", S, rho))
    unique: list[Choice] = []
    for c in out:
        if not any(np.array_equal(c.S, u.S) and c.rho == u.rho for u in unique):
            unique.append(c)
    return unique + [base]


def _broadcast_rows(op, rows: np.ndarray, shape: tuple[int, ...], via_reshape: bool) -> np.ndarray:
    snn = _snn()
    if via_reshape:
        return np.full(shape, rows.max())
    if isinstance(op, snn.DenseOp):
        return np.broadcast_to(rows, shape)
    return np.broadcast_to(rows.reshape((-1,) + (1,) * (len(shape) - 1)), shape)


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    agreement: float | None = None

    def add(self, line: str) -> None:
        self.lines.append(line)


def quantize_module(
    module: ModuleOp,
    *,
    bits: int = 8,
    state_bits: int = 16,
    frac_bits: int = 16,
    granularity: str = "layer",
    calibration: dict[str, np.ndarray] | None = None,
    method: str = "search",
    objective: str = "neuron",
) -> Report:
    """Quantize in place; returns the report (per-neuron lines, output agreement)."""
    snn = _snn()
    if granularity not in ("layer", "channel"):
        raise NircError("unknown granularity", expected="layer or channel", found=granularity)
    if method not in ("search", "maxabs"):
        raise NircError("unknown quantization method", expected="search or maxabs", found=method)
    if not 2 <= bits <= 16 or not 2 <= state_bits <= 32 or not 0 <= frac_bits <= 30:
        raise NircError(
            "quantization widths out of range",
            expected="bits in 2..16, state_bits in 2..32, frac_bits in 0..30",
            found=f"bits={bits}, state_bits={state_bits}, frac_bits={frac_bits}",
        )
    graph = snn.top_graph(module)
    ops = list(snn.flat_ops(graph))
    for op in ops:
        if isinstance(op, snn.ScaleOp) or (
            isinstance(op, snn.SumPool2dOp) and op.divisor is not None
        ):
            raise NircError(
                f"quantize cannot give integer semantics to {op.name}",
                where=op.node_name.data,
                hint="run fold-weights first (it moves scales and average pools into weights)",
            )
        if (
            isinstance(op, snn.NeuronOp)
            and op.quantized
            or (isinstance(op, snn.SYNAPSE_OPS) and snn.param(op, "weight").dtype.kind != "f")
        ):
            raise NircError("the module is already quantized", where=op.node_name.data)
    neurons = [op for op in ops if isinstance(op, snn.NeuronOp)]
    from nirc.interpreter.snn import build_plan

    plan = build_plan(module)
    order = {n: i for i, n in enumerate(plan.order)}
    neurons.sort(key=lambda op: order.get(op.node_name.data, len(order)))
    names = [op.node_name.data for op in neurons]
    inputs = calibration if calibration is not None else {}
    probes = (
        names
        + [f"{n}.v" for n in names]
        + [f"{op.node_name.data}.i" for op in neurons if op.has_synapse_stage]
    )
    float_out = run_module(module, inputs, record=probes)
    for key in [k for k in float_out if k.endswith((".v", ".i")) and k not in names]:
        a = np.abs(float_out.pop(key))
        float_out[key] = a.reshape((-1,) + a.shape[2:]).max(axis=0)  # only the range is needed
    report = Report()
    search = method == "search"
    for name in names:
        neuron = ops_by_name(module)[name]
        unit = analyze(module, neuron)
        cands = candidates(
            module, unit, float_out, bits=bits, state_bits=state_bits,
            granularity=granularity, search=search, frac_bits=frac_bits)  # fmt: skip
        others = [n for n in names if n != name]
        grams: dict[str, list[np.ndarray]] = {}
        if search:
            sources = {}
            for f in unit.feeds:
                if f.weight is not None:
                    src = snn.producer(f.value)
                    if src is not None:
                        sources[f.weight] = src.node_name.data
            wanted = sorted(set(others) | {v for v in sources.values() if v not in inputs})
            current = (
                run_module(module, inputs, record=wanted, with_outputs=False) if wanted else {}
            )
            feed = dict(inputs) | current
            by_name = ops_by_name(module)
            for w, src in sources.items():
                grams[w] = input_gram(by_name[w], feed[src])
        best, best_score = None, -1.0
        for c in cands:
            trial = module.clone()
            snr = apply_choice(
                trial, unit, c, bits=bits, state_bits=state_bits, frac_bits=frac_bits, grams=grams
            )
            if len(cands) == 1:
                best = c
                break
            if objective == "output":
                res = run_module(trial, inputs)
                score = _output_agreement(trial, res, float_out)
            else:
                got = run_module(trial, feed, record=[name], cut=others, with_outputs=False)[name]
                score = _score(trial, name, got, float_out)
            if score > best_score:
                best, best_score = c, score
        assert best is not None
        snr = apply_choice(
            module, unit, best, bits=bits, state_bits=state_bits, frac_bits=frac_bits, grams=grams
        )
        q = ops_by_name(module)[name]
        S = snn.param(q, "scale")
        shifts = ", ".join(f"{w} << {best.shifts[w]}" for w in unit.weights) or "no weights"
        snr_text = ", ".join(f"{w} {v:.1f} dB" for w, v in snr.items()) or "-"
        report.add(
            f"  {name}: S = {_range(S)} ({best.label}), {shifts}; weight SNR {snr_text}"
            + ("" if unit.folded else "; gains kept as multipliers")
        )
    quantize_orphans(module, bits)
    # whole-network agreement on the calibration inputs
    got = run_module(module, inputs, record=names)
    total, agree = 0, 0.0
    for i, op in enumerate(ops_by_name(module)[n] for n in names):
        a = _score(module, op.node_name.data, got[op.node_name.data], float_out)
        report.lines[i] += f"; spike agreement {a:.4f}"
    for out in graph.output_ops():
        n = out.node_name.data
        s = snn.param(out, "scale")
        a = agreement(got[n], float_out[n], None if s is None else s)
        total += got[n].size
        agree += a * got[n].size
    report.agreement = agree / total if total else 1.0
    return report


def _output_agreement(module, got: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> float:
    snn = _snn()
    total, agree = 0, 0.0
    for out in snn.top_graph(module).output_ops():
        n = out.node_name.data
        s = snn.param(out, "scale")
        agree += agreement(got[n], ref[n], s) * got[n].size
        total += got[n].size
    return agree / total if total else 1.0


def _score(module, name: str, got: np.ndarray, ref: dict[str, np.ndarray]) -> float:
    snn = _snn()
    op = ops_by_name(module)[name]
    if op.spiking:
        return agreement(got, ref[name])
    return agreement(got, ref[name], snn.param(op, "scale").astype(F64))


def _range(S: np.ndarray) -> str:
    lo, hi = float(np.min(S)), float(np.max(S))
    return f"{lo:.4g}" if lo == hi else f"{lo:.4g}..{hi:.4g}"


def calibration_inputs(
    module: ModuleOp, path: str | None, *, steps: int, rate: float, batch: int, seed: int
) -> dict[str, np.ndarray]:
    from nirc.interpreter.snn import calibration_inputs as inputs_for

    return inputs_for(module, path, steps=steps, rate=rate, batch=batch, seed=seed)


@dataclass(frozen=True)
class QuantizePass(ModulePass):
    """Weights, biases, thresholds and states into integers (see the module docstring)."""

    name = "quantize"

    bits: int = 8
    state_bits: int = 16
    frac_bits: int = 16
    granularity: str = "layer"
    calibrate: str | None = None
    method: str = "search"
    objective: str = "neuron"
    calib_steps: int = 300
    calib_rate: float | str = 0.1
    calib_batch: int = 4
    seed: int = 1000
    report: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from nirc.passes.discretize import parse_float_option

        calibration = calibration_inputs(
            op,
            self.calibrate,
            steps=self.calib_steps,
            rate=parse_float_option(self.calib_rate, "calib_rate") or 0.0,
            batch=self.calib_batch,
            seed=self.seed,
        )
        rep = quantize_module(
            op,
            bits=self.bits,
            state_bits=self.state_bits,
            frac_bits=self.frac_bits,
            granularity=self.granularity,
            calibration=calibration,
            method=self.method,
            objective=self.objective,
        )
        if self.report:
            print(
                f"quantize: {self.bits}-bit weights, {self.state_bits}-bit states, "
                f"{self.granularity} scales ({self.method}):",
                file=sys.stderr,
            )
            for line in rep.lines:
                print(line, file=sys.stderr)
            print(
                f"  output agreement on the calibration inputs: {rep.agreement:.4f}",
                file=sys.stderr,
            )


__all__ = ["QuantizePass", "quantize_module"]
