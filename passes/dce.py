"""`dce`: remove the nodes of a `nir` graph whose value reaches no Output.

Graph by graph: a node is live when a path of edges leads from it to one of
its graph's ``nir.output`` ops. A nested graph is one node of its parent (live
when one of its results is live, all its inputs assumed to feed all its
outputs); inside a live nested graph the same rule applies with its own
outputs. Inputs and Outputs are never removed, whatever they connect to.
A dead cycle (a recurrent loop feeding nothing) is removed as a whole.

In an ``snn.graph`` the same rule holds with a fused ``snn.layer`` as one node
(its body is kept whole): a node is live when its value reaches an
``snn.output``; ``snn.input`` and ``snn.output`` ops stay.

Removing a dead node removes only edges that start or end at dead nodes (a
live node never reads a dead one), so the remaining edges keep their file
order.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from nirc.dialects.nir import GraphOp, InputOp, OutputOp


def _sources(op: Operation) -> list[Operation]:
    """The ops (of the same graph) whose values flow into ``op``."""
    if isinstance(op, GraphOp):
        values = [v for inner in op.input_ops() for v in inner.operands]
    else:
        values = list(op.operands)
    return [v.owner for v in values if isinstance(v.owner, Operation)]


def eliminate_dead_nodes(graph: GraphOp) -> int:
    """Remove dead nodes from ``graph`` and its nested graphs; returns how many."""
    removed = 0
    todo = [graph]
    while todo:
        g = todo.pop()
        block = g.block
        live: set[Operation] = set()
        stack = [op for op in block.ops if isinstance(op, OutputOp | InputOp)]
        while stack:
            op = stack.pop()
            if op in live:
                continue
            live.add(op)
            stack.extend(s for s in _sources(op) if s.parent is block and s not in live)
        dead = [op for op in block.ops if op not in live]
        if dead:
            order = g.edge_slots_in_file_order()
            for op in dead:  # drop every edge first: dead nodes may feed each other
                for inner in op.walk():
                    inner.operands = ()
            for op in dead:
                op.detach()
                op.erase()
            g.set_edge_order(order)  # slots of erased ops drop out
            removed += len(dead)
        todo.extend(op for op in block.ops if isinstance(op, GraphOp))
    return removed


@dataclass(frozen=True)
class DeadNodeEliminationPass(ModulePass):
    """Remove nodes that reach no Output (never Inputs or Outputs)."""

    name = "dce"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from nirc.dialects import snn

        for top in op.ops:
            if isinstance(top, GraphOp):
                eliminate_dead_nodes(top)
            elif isinstance(top, snn.GraphOp):
                eliminate_dead_snn_ops(top)


def eliminate_dead_snn_ops(graph) -> int:
    """Remove the ops of an ``snn.graph`` whose value reaches no ``snn.output``."""
    from nirc.dialects import snn

    block = graph.block
    live: set[Operation] = set()
    stack = [op for op in block.ops if isinstance(op, snn.OutputOp | snn.InputOp)]
    while stack:
        op = stack.pop()
        if op in live:
            continue
        live.add(op)
        for v in op.operands:
            if isinstance(v.owner, Operation) and v.owner.parent is block:
                stack.append(v.owner)
    dead = [op for op in block.ops if op not in live]
    for op in dead:
        op.operands = ()
    for op in dead:
        op.detach()
        op.erase()
    return len(dead)
