"""`fuse`: group synapses, neuron and pool into ``snn.layer`` ops, the unit a core computes.

For every top-level ``snn.neuron``:

1. A delay between a synapse and the neuron moves before the synapse (a
   stateless synapse commutes with a delay: ``W x[t-d] == (W x)[t-d]``), so
   that a recurrent layer's feedback carries spikes, like the chips' recurrent
   weights do: ``lif -> w_rec -> delay -> lif`` becomes ``lif -> delay ->
   w_rec -> lif``. Only delays of uniform steps read only by the neuron, of a
   synapse without bias read only by that delay, move (the delayed value is
   zero in the first steps, a bias would not be).
2. The dense/conv ops read only by the neuron go into the layer, with the
   neuron and, when the neuron's only reader is a sum-pool (no divisor), the
   pool (Speck's conv -> IAF -> pool core). The layer's operands are the
   values those synapses read, then the neuron's other inputs, in the
   neuron's operand order, each value once; its result is the neuron's (or
   the pool's) value, and it takes the neuron's name.

A neuron without synapse and pool stays as it is. Exact: the interpreter sees
through layers and computes the same operations (moving a delay changes
nothing either: the synapse is applied to the same values one step later).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass


def _uses(value: SSAValue) -> list[Operation]:
    return [u.operation for u in value.uses]


def _commute_delays(neuron: Operation) -> None:
    from nirc.dialects import snn

    for v in list(neuron.operands):
        d = v.owner
        if not isinstance(d, snn.DelayOp) or len(d.operands) != 1:
            continue
        if any(u is not neuron for u in _uses(d.out)) or d.uniform_steps() is None:
            continue
        w = d.operands[0].owner
        if not isinstance(w, snn.SYNAPSE_OPS) or len(_uses(w.out)) != 1:
            continue
        if w.properties.get("bias") is not None:  # a delayed bias is 0 at first, W 0 + b is not
            continue
        in_type = w.operands[0].type
        new = snn.DelayOp.create(
            operands=list(w.operands),
            result_types=[in_type],
            properties={
                "name": d.properties["name"],
                "steps": snn.array_to_attr(snn.attr_to_array(d.steps).reshape(()).copy()),
            },
        )
        new.out.name_hint = d.out.name_hint
        w.parent_block().insert_op_before(new, w)  # type: ignore[union-attr]
        w.operands = [new.out]
        d.out.replace_all_uses_with(w.out)
        d.detach()
        d.erase()


def fuse_neuron(neuron: Operation) -> Operation | None:
    """Wrap one neuron with its synapses (and pool) into a layer; the layer or None."""
    from nirc.dialects import snn

    _commute_delays(neuron)
    synapses: list[Operation] = []
    for v in neuron.operands:
        p = v.owner
        if (
            isinstance(p, snn.SYNAPSE_OPS)
            and p.parent is neuron.parent
            and all(u is neuron for u in _uses(p.results[0]))
            and p not in synapses
        ):
            synapses.append(p)
    users = _uses(neuron.out)
    pool = None
    if len(users) == 1 and isinstance(users[0], snn.SumPool2dOp):
        cand = users[0]
        if cand.divisor is None and len(cand.operands) == 1:
            pool = cand
    if not synapses and pool is None:
        return None
    externals: list[SSAValue] = []
    for v in neuron.operands:
        sources = list(v.owner.operands) if v.owner in synapses else [v]
        for s in sources:
            if s not in externals:
                externals.append(s)
    block = Block(arg_types=[v.type for v in externals])
    mapping: dict[SSAValue, SSAValue] = dict(zip(externals, block.args))
    for arg, v in zip(block.args, externals):
        if v.name_hint:
            arg.name_hint = v.name_hint
    for s in synapses:
        clone = s.clone(value_mapper=mapping)
        block.add_op(clone)
        mapping[s.results[0]] = clone.results[0]
    n_clone = neuron.clone(value_mapper=mapping)
    block.add_op(n_clone)
    last = n_clone.results[0]
    if pool is not None:
        p_clone = pool.clone(value_mapper={pool.operands[0]: last})
        block.add_op(p_clone)
        last = p_clone.results[0]
    block.add_op(snn.YieldOp.create(operands=[last]))
    result = pool.out if pool is not None else neuron.out
    layer = snn.LayerOp.create(
        operands=externals,
        result_types=[result.type],
        properties={"name": StringAttr(neuron.node_name.data)},
        regions=[Region(block)],
    )
    layer.out.name_hint = result.name_hint
    neuron.parent_block().insert_op_before(layer, neuron)  # type: ignore[union-attr]
    result.replace_all_uses_with(layer.out)
    for op in ([pool] if pool is not None else []) + [neuron] + synapses[::-1]:
        op.detach()
        op.erase()
    return layer


def fuse(module: ModuleOp) -> int:
    from nirc.dialects import snn

    graph = snn.top_graph(module)
    count = 0
    for op in list(graph.block.ops):
        if isinstance(op, snn.NeuronOp) and fuse_neuron(op) is not None:
            count += 1
    return count


@dataclass(frozen=True)
class FusePass(ModulePass):
    """Fuse synapse + neuron (+ pool) into snn.layer ops (see the module docstring)."""

    name = "fuse"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        fuse(op)


__all__ = ["FusePass", "fuse", "fuse_neuron"]
