"""`canonicalize`: exact simplifications of `nir` graphs.

Every rewrite here leaves what the graph computes unchanged, spike for spike
and value for value:

- :class:`RemoveIdentityNode` drops a node that passes its single input through
  unchanged: a Scale by exactly 1, a Delay of exactly 0 s, a Flatten that keeps
  the shape. Its consumers are fed by its input directly.
- :class:`AffineZeroBiasToLinear` turns an Affine whose bias is all zeros into a
  Linear (``W x + 0 == W x``; only the sign of an exact zero result may change,
  which compares equal).

Edge order decides which edges are feedback edges (a depth-first search from
the Inputs following edges in file order, see SEMANTICS.md), so removing a node
must not change which edges that search finds. When a node S with input x is
removed, its outgoing edges become edges from x placed, in their relative
order, exactly where the edge x -> S was: the search then visits S's
successors from x at the moment it used to enter S, and finds the same back
edges (with S contracted).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from nirc.dialects.nir import (
    AffineOp,
    DelayOp,
    FlattenOp,
    GraphOp,
    LinearOp,
    ScaleOp,
    attr_to_array,
    shape_of,
)


def _is_identity(op: Operation) -> bool:
    if isinstance(op, ScaleOp):
        return bool((attr_to_array(op.scale) == 1).all())
    if isinstance(op, DelayOp):
        return bool((attr_to_array(op.delay) == 0).all())
    if isinstance(op, FlattenOp):
        in_shape = shape_of(op.inputs[0].type)
        out_shape = shape_of(op.out.type)
        return in_shape is not None and in_shape == out_shape
    return False


class RemoveIdentityNode(RewritePattern):
    """x -> S -> users  becomes  x -> users, when S computes y = x."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, ScaleOp | DelayOp | FlattenOp) or len(op.inputs) != 1:
            return
        source = op.inputs[0]
        if source is op.out or source.type != op.out.type or not _is_identity(op):
            return
        graph = op.parent_op()
        if not isinstance(graph, GraphOp):
            return
        order = graph.edge_slots_in_file_order()
        users = {(use.operation, use.index) for use in op.out.uses}
        moved = [slot for slot in order if slot in users]
        kept: list[tuple[Operation, int]] = []
        for slot in order:
            if slot == (op, 0):
                kept.extend(moved)  # x -> users take the place of x -> S
            elif slot not in users:
                kept.append(slot)
        rewriter.replace_all_uses_with(op.out, source)
        rewriter.erase(op)
        graph.set_edge_order(kept)


class AffineZeroBiasToLinear(RewritePattern):
    """Affine with an all-zero bias -> Linear with the same weight."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, AffineOp) or (attr_to_array(op.bias) != 0).any():
            return
        graph = op.parent_op()
        order = graph.edge_slots_in_file_order() if isinstance(graph, GraphOp) else []
        props = {k: v for k, v in op.properties.items() if k != "bias"}
        new = LinearOp.create(
            operands=list(op.operands), result_types=[op.out.type], properties=props
        )
        new.out.name_hint = op.out.name_hint
        rewriter.replace(op, new)
        if isinstance(graph, GraphOp):
            graph.set_edge_order([(new, i) if o is op else (o, i) for o, i in order])


@dataclass(frozen=True)
class CanonicalizePass(ModulePass):
    """Exact simplifications of `nir` graphs (identity nodes, zero biases)."""

    name = "canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [RemoveIdentityNode(), AffineZeroBiasToLinear()],
                dce_enabled=False,  # dead nodes are `dce`'s business, never a side effect
            ),
            apply_recursively=True,
        ).rewrite_module(op)


__all__ = ["CanonicalizePass", "RemoveIdentityNode", "AffineZeroBiasToLinear"]
