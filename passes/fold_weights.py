"""`fold-weights`: move the linear factors of an `snn` graph into its weights.

Rewrites, repeated until none applies (top-level ops of float graphs; run it
before `fuse` and `quantize`):

- **Flatten into dense**: an ``snn.reshape`` that merges the trailing axes of
  its input, read only by ``snn.dense`` ops, disappears; each dense op reads
  the unflattened input with its weight reshaped to ``[out, *axes]`` and
  ``in_rank`` = the number of merged axes (the weight of a Speck-style
  "linear as a whole-input convolution").
- **Average pool**: an ``snn.sum_pool2d`` with ``divisor`` k loses it; the
  ``1/k`` goes into what reads it: weights (``W / k``) of dense/conv ops,
  through reshapes, delays and sum-pools, or the input gain of a neuron. Each
  reader must have the pool's value as its only input (a factor cannot be
  pushed into one term of a sum).
- **Scale**: an ``snn.scale`` goes into the rows of the dense/conv op it
  reads from (when it is that op's only reader), else into the columns of
  the dense/conv ops (or the input gains of the neurons) reading it. Convs
  take factors that are uniform per channel.
- **Affine chains**: dense B reading only dense A (A read only by B, both
  plain matrices) becomes one dense ``B A`` with bias ``B a + b``, when that
  does not grow the parameter count (``p*n <= m*n + p*m``).
- **Input gains** (``dt*r/tau``, ``w_in``...): a neuron whose every input is a
  dense/conv op read only by it (directly or through one delay read only by
  it) gets its gain folded into those ops' rows: ``gain_mem`` for a plain
  neuron, ``gain_syn * gain_mem`` for one with a synaptic stage (whose
  current ``i`` is then ``gain_mem`` times the unfolded one: the membrane sees
  the same drive). The gains become 1.
- **Zero biases** of dense/conv ops are dropped.

Meaning is preserved exactly in real arithmetic; in floating point the
products are reassociated (``(W x) g`` becomes ``(W g) x``), so values can
differ in the last bits. The corpus tests check that spikes stay identical on
every corpus graph, both integrators and both resets (see
``tests/test_snn_passes.py``). Folded weights are stored as float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

F64 = np.float64


def _snn():
    from nirc.dialects import snn

    return snn


def _users(value: SSAValue) -> list[Operation]:
    return [use.operation for use in value.uses]


def _only_user(value: SSAValue) -> Operation | None:
    users = {id(u): u for u in _users(value)}
    return next(iter(users.values())) if len(users) == 1 else None


def _put(op: Operation, field: str, value: np.ndarray | None) -> None:
    from nirc.dialects.nir import array_to_attr

    if value is None:
        op.properties.pop(field, None)
        return
    _check_finite(op, field, value)
    op.properties[field] = array_to_attr(np.ascontiguousarray(value))


def _check_finite(op: Operation, field: str, value: np.ndarray) -> None:
    """A folded product past the float range (finite weights times a gain
    such as ``dt*r/tau`` of 1e300) is the file's doing: a diagnostic naming
    the op, not IR its verifier refuses."""
    a = np.asarray(value)
    if a.dtype.kind != "f" or np.isfinite(a).all():
        return
    from nirc.diagnostics import NircError

    k = int(np.argmax(~np.isfinite(a).reshape(-1)))
    raise NircError(
        "folding gains and scales into the weights overflows float64",
        where=f"{_snn().node_name(op)}.{field}",
        found=f"{a.reshape(-1)[k]} at flat index {k}",
        expected="finite products of the weights with what follows them (the neurons' "
        "input gains, e.g. dt*r/tau, and Scale factors)",
        hint="check the units of r, tau and the weights",
    )


def _f(op: Operation, field: str) -> np.ndarray | None:
    a = _snn().param(op, field)
    return None if a is None else a.astype(F64)


def _is_float_synapse(op: Operation) -> bool:
    snn = _snn()
    if not isinstance(op, snn.DenseOp | snn.Conv1dOp | snn.Conv2dOp):
        return False
    return snn.param(op, "weight").dtype.kind == "f"


def _shape(value: SSAValue) -> tuple[int, ...]:
    from nirc.dialects.nir import shape_of

    s = shape_of(value.type)
    assert s is not None
    return s


def _per_output(op: Operation, factor: np.ndarray) -> np.ndarray | None:
    """``factor`` (broadcastable to the op's output) as one factor per output row or
    channel, or None when it is not uniform where it has to be."""
    snn = _snn()
    out = _shape(op.results[0])
    full = np.broadcast_to(np.asarray(factor, F64), out)
    if isinstance(op, snn.DenseOp):
        rows = full.reshape(-1, out[-1])
        return rows[0].copy() if (rows == rows[:1]).all() else None
    flat = full.reshape(out[0], -1)  # conv: [channels, positions]
    return flat[:, 0].copy() if (flat == flat[:, :1]).all() else None


def _scale_rows(op: Operation, rows: np.ndarray) -> None:
    w = _f(op, "weight")
    shape = (-1,) + (1,) * (w.ndim - 1)
    _put(op, "weight", w * rows.reshape(shape))
    b = _f(op, "bias")
    if b is not None:
        _put(op, "bias", np.broadcast_to(b, rows.shape) * rows)


def _per_input(op: Operation, factor: np.ndarray) -> np.ndarray | None:
    """``factor`` over the op's input as a factor on the weight's input axes."""
    snn = _snn()
    x = _shape(op.operands[0])
    full = np.broadcast_to(np.asarray(factor, F64), x)
    w = snn.param(op, "weight")
    if isinstance(op, snn.DenseOp):
        r = op.contracted
        inner = full.reshape((-1,) + tuple(x[len(x) - r :]))
        if not (inner == inner[:1]).all():
            return None
        return inner[0][None]  # broadcast over output rows
    chan = full.reshape(x[0], -1)
    if not (chan == chan[:, :1]).all():
        return None
    c = chan[:, 0]
    groups = int(snn.param(op, "groups"))
    cg, og = w.shape[1], w.shape[0] // groups
    cols = np.stack([c[(o // og) * cg : (o // og) * cg + cg] for o in range(w.shape[0])])
    return cols.reshape(cols.shape + (1,) * (w.ndim - 2))


def _neuron_gain_field(op: Operation) -> str:
    return "gain_syn" if op.has_synapse_stage else "gain_mem"


def _float_neuron(op: Operation) -> bool:
    snn = _snn()
    return isinstance(op, snn.NeuronOp) and not op.quantized


def _times_gain(op: Operation, factor: np.ndarray) -> None:
    field = _neuron_gain_field(op)
    g = _f(op, field)
    new = (1.0 if g is None else g) * np.asarray(factor, F64)
    from nirc.passes.discretize import compact

    _put(op, field, compact(np.broadcast_to(new, _shape(op.results[0]))))


def _erase(op: Operation) -> None:
    op.detach()
    op.erase()


# --------------------------------------------------------------------------------------
# the rewrites
# --------------------------------------------------------------------------------------


def fold_flatten(op: Operation) -> bool:
    snn = _snn()
    if not isinstance(op, snn.ReshapeOp) or len(op.operands) != 1:
        return False
    users = _users(op.out)
    if not users or not all(
        isinstance(u, snn.DenseOp) and len(u.operands) == 1 and u.contracted == 1
        and _is_float_synapse(u) for u in users
    ):  # fmt: skip
        return False
    s_in, s_out = _shape(op.operands[0]), _shape(op.out)
    j = len(s_out) - 1
    if (
        tuple(s_in[:j]) != tuple(s_out[:j])
        or int(np.prod(s_in[j:])) != s_out[-1]
        or len(s_in) - j < 2
    ):
        return False
    for u in users:
        w = snn.param(u, "weight")
        _put(u, "weight", w.reshape((w.shape[0],) + tuple(s_in[j:])))
        u.properties["in_rank"] = snn.int_attr(len(s_in) - j)
        u.operands = [op.operands[0]]
    _erase(op)
    return True


def _push_targets(value: SSAValue, seen: set) -> list[Operation] | None:
    """Ops that can absorb a uniform factor applied to ``value``, or None."""
    snn = _snn()
    users = _users(value)
    if not users:
        return None
    out: list[Operation] = []
    for u in users:
        if id(u) in seen or len(u.operands) != 1:
            return None
        seen.add(id(u))
        if _is_float_synapse(u) or _float_neuron(u):
            out.append(u)
        elif isinstance(u, snn.ReshapeOp | snn.DelayOp) or (
            isinstance(u, snn.SumPool2dOp) and u.divisor is None
        ):
            more = _push_targets(u.out, seen)
            if more is None:
                return None
            out.extend(more)
        else:
            return None
    return out


def fold_average(op: Operation) -> bool:
    snn = _snn()
    if not isinstance(op, snn.SumPool2dOp) or op.divisor is None:
        return False
    targets = _push_targets(op.out, set())
    if targets is None:
        return False
    k = float(snn.int_prop(op, "divisor"))
    for t in targets:
        if isinstance(t, snn.NeuronOp):
            _times_gain(t, np.array(1.0 / k))
        else:
            _put(t, "weight", _f(t, "weight") / k)
    op.properties.pop("divisor")
    return True


def fold_scale(op: Operation) -> bool:
    snn = _snn()
    if not isinstance(op, snn.ScaleOp) or len(op.operands) != 1:
        return False
    s = _f(op, "scale")
    src = op.operands[0].owner
    done = False
    if isinstance(src, Operation) and _is_float_synapse(src) and _only_user(src.results[0]) is op:
        if len(list(src.results[0].uses)) == 1:
            rows = _per_output(src, s)
            if rows is not None:
                _scale_rows(src, rows)
                done = True
    if not done:
        users = _users(op.out)
        if not users or any(len(u.operands) != 1 for u in users):
            return False
        plans = []
        for u in users:
            if _float_neuron(u):
                plans.append((u, None))
            elif _is_float_synapse(u):
                cols = _per_input(u, s)
                if cols is None:
                    return False
                plans.append((u, cols))
            else:
                return False
        for u, cols in plans:
            if cols is None:
                _times_gain(u, s)
            else:
                _put(u, "weight", _f(u, "weight") * cols)
    op.out.replace_all_uses_with(op.operands[0])
    _erase(op)
    return True


def fold_chain(op: Operation) -> bool:
    snn = _snn()
    if not (isinstance(op, snn.DenseOp) and _is_float_synapse(op) and len(op.operands) == 1):
        return False
    a = op.operands[0].owner
    if not (isinstance(a, snn.DenseOp) and _is_float_synapse(a)):
        return False
    if len(list(a.out.uses)) != 1 or op.contracted != 1 or a.contracted != 1:
        return False
    if len(_shape(op.operands[0])) != 1 or any(len(_shape(v)) != 1 for v in a.operands):
        return False
    wa, wb = _f(a, "weight"), _f(op, "weight")
    (m, n), p = wa.shape, wb.shape[0]
    if p * n > m * n + p * m:
        return False
    ba, bb = _f(a, "bias"), _f(op, "bias")
    bias = None
    if ba is not None:
        bias = wb @ ba
    if bb is not None:
        bias = bb if bias is None else bias + bb
    _put(op, "weight", wb @ wa)
    _put(op, "bias", bias)
    op.operands = list(a.operands)
    _erase(a)
    return True


def _gain_sources(neuron: Operation) -> list[Operation] | None:
    snn = _snn()
    sources: list[Operation] = []
    for v in neuron.operands:
        p = v.owner
        if isinstance(p, snn.DelayOp) and _only_user(p.out) is neuron and len(p.operands) == 1:
            if len(list(p.out.uses)) != 1:
                return None
            p = p.operands[0].owner
            via_delay = True
        else:
            via_delay = False
        if not (isinstance(p, Operation) and _is_float_synapse(p)):
            return None
        users = _users(p.results[0])
        if via_delay and len(users) != 1:
            return None
        if not via_delay and any(u is not neuron for u in users):
            return None
        if p not in sources:
            sources.append(p)
    return sources or None


def fold_gains(op: Operation) -> bool:
    if not _float_neuron(op):
        return False
    g_mem = _f(op, "gain_mem")
    g_syn = _f(op, "gain_syn") if op.has_synapse_stage else None
    factor = np.array(1.0)
    if g_mem is not None:
        factor = factor * g_mem
    if g_syn is not None:
        factor = factor * g_syn
    if g_mem is None and g_syn is None:
        return False
    sources = _gain_sources(op)
    if sources is None:
        return False
    rows = [_per_output(s, factor) for s in sources]
    if any(r is None for r in rows):
        return False
    for s, r in zip(sources, rows):
        _scale_rows(s, r)
    op.properties.pop("gain_mem", None)
    op.properties.pop("gain_syn", None)
    return True


def drop_zero_bias(op: Operation) -> bool:
    if not _is_float_synapse(op):
        return False
    b = _snn().param(op, "bias")
    if b is None or np.any(b):
        return False
    op.properties.pop("bias")
    return True


REWRITES = (fold_flatten, fold_average, fold_scale, fold_chain, fold_gains, drop_zero_bias)


def fold_weights(module: ModuleOp) -> int:
    """Apply the rewrites to a fixpoint; returns how many applied."""
    snn = _snn()
    graph = snn.top_graph(module)
    count = 0
    changed = True
    while changed:
        changed = False
        for rewrite in REWRITES:
            for op in list(graph.block.ops):
                if op.parent is None:  # erased by an earlier rewrite of this sweep
                    continue
                if rewrite(op):
                    count += 1
                    changed = True
    return count


@dataclass(frozen=True)
class FoldWeightsPass(ModulePass):
    """Fold scales, gains, average pools, flattens and affine chains into weights."""

    name = "fold-weights"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        fold_weights(op)


__all__ = ["FoldWeightsPass", "fold_weights"]
