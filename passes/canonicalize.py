"""`canonicalize`: exact simplifications of `nir` graphs.

Every rewrite here leaves what the graph computes unchanged, spike for spike
and value for value:

- :class:`RemoveIdentityNode` drops a node that passes its single input through
  unchanged: a Scale by exactly 1, a Delay of exactly 0 s, a Flatten that keeps
  the shape. Its consumers are fed by its input directly.
- :class:`AffineZeroBiasToLinear` turns an Affine whose bias is all zeros into a
  Linear (``W x + 0 == W x``; only the sign of an exact zero result may change,
  which compares equal).

For the `snn` dialect (exact as well; fan-in keeps its operand order):

- :class:`SnnRemoveIdentity` drops an ``snn.delay`` of 0 steps, an
  ``snn.scale`` by exactly 1 and an ``snn.reshape`` that keeps the shape (each
  with a single input).
- :class:`SnnMergeDelays` merges a delay of a delay (uniform steps, the inner
  one read only by the outer) into one delay of the summed steps, keeping the
  outer one's name.
- :class:`SnnMergeReshapes` merges a reshape of a reshape.
- :class:`SnnNeuronDefaults` leaves out numeric neuron parameters equal to
  their defaults (a gain of exactly 1, or ``2**frac_bits`` when quantized;
  bias, v_reset and initial states of exactly 0) and stores parameters that
  are the same for every neuron as 0-d tensors.

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


def _snn_identity(op: Operation) -> bool:
    import numpy as np

    from nirc.dialects import snn

    if isinstance(op, snn.DelayOp):
        return bool((snn.attr_to_array(op.steps) == 0).all())
    if isinstance(op, snn.ScaleOp):
        a = snn.attr_to_array(op.scale)
        return a.dtype.kind == "f" and bool((a == 1).all()) and not np.signbit(a).any()
    if isinstance(op, snn.ReshapeOp):
        return shape_of(op.inputs[0].type) == shape_of(op.out.type)
    return False


class SnnRemoveIdentity(RewritePattern):
    """snn.delay of 0 steps, snn.scale by 1, snn.reshape to the same shape -> gone."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        from nirc.dialects import snn

        if not isinstance(op, snn.DelayOp | snn.ScaleOp | snn.ReshapeOp) or len(op.inputs) != 1:
            return
        if op.inputs[0] is op.out or op.inputs[0].type != op.out.type or not _snn_identity(op):
            return
        rewriter.replace_all_uses_with(op.out, op.inputs[0])
        rewriter.erase(op)


class SnnMergeDelays(RewritePattern):
    """delay(a) of delay(b) -> delay(a + b) (uniform steps, the inner one read once)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        import numpy as np

        from nirc.dialects import snn

        if not isinstance(op, snn.DelayOp) or len(op.inputs) != 1:
            return
        inner = op.inputs[0].owner
        if not isinstance(inner, snn.DelayOp) or inner is op or len(inner.inputs) != 1:
            return
        if len(list(inner.out.uses)) != 1:
            return
        a, b = op.uniform_steps(), inner.uniform_steps()
        if a is None or b is None:
            return
        op.properties["steps"] = snn.array_to_attr(np.array(a + b, np.int64))
        rewriter.replace_all_uses_with(inner.out, inner.inputs[0])
        rewriter.erase(inner)
        rewriter.handle_operation_modification(op)


class SnnMergeReshapes(RewritePattern):
    """reshape of reshape -> one reshape."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        from nirc.dialects import snn

        if not isinstance(op, snn.ReshapeOp) or len(op.inputs) != 1:
            return
        inner = op.inputs[0].owner
        if not isinstance(inner, snn.ReshapeOp) or len(inner.inputs) != 1:
            return
        if len(list(inner.out.uses)) != 1:
            return
        rewriter.replace_all_uses_with(inner.out, inner.inputs[0])
        rewriter.erase(inner)
        rewriter.handle_operation_modification(op)


class SnnNeuronDefaults(RewritePattern):
    """Numeric neuron parameters at their default values go; uniform ones become 0-d."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        import numpy as np

        from nirc.dialects import snn

        if not isinstance(op, snn.NeuronOp):
            return
        one = (1 << int(op.frac_bits.value.data)) if op.quantized and op.frac_bits else 1.0
        defaults = {"gain_mem": one, "gain_syn": one, "bias_mem": 0, "v_reset": 0,
                    "v_init": 0, "i_init": 0}  # fmt: skip
        changed = False
        for name in snn.NEURON_PARAMS + ("scale",):
            a = snn.param(op, name)
            if a is None:
                continue
            if (
                name in defaults
                and a.size
                and bool((a == defaults[name]).all())
                and not (a.dtype.kind == "f" and np.signbit(a).any())
            ):
                del op.properties[name]
                changed = True
            elif (
                a.ndim
                and a.size
                and (
                    a.view(np.uint8).reshape(a.size, -1) == a.view(np.uint8).reshape(a.size, -1)[:1]
                ).all()
            ):
                op.properties[name] = snn.array_to_attr(a.reshape(-1)[0].copy())
                changed = True
        if changed:
            rewriter.handle_operation_modification(op)


SNN_PATTERNS = (SnnRemoveIdentity, SnnMergeDelays, SnnMergeReshapes, SnnNeuronDefaults)


@dataclass(frozen=True)
class CanonicalizePass(ModulePass):
    """Exact simplifications of `nir` and `snn` graphs (identity nodes, zero biases,
    merged delays and reshapes, neuron defaults)."""

    name = "canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(
                [RemoveIdentityNode(), AffineZeroBiasToLinear()] + [p() for p in SNN_PATTERNS],
                dce_enabled=False,  # dead nodes are `dce`'s business, never a side effect
            ),
            apply_recursively=True,
        ).rewrite_module(op)


__all__ = [
    "CanonicalizePass",
    "RemoveIdentityNode",
    "AffineZeroBiasToLinear",
    "SnnRemoveIdentity",
    "SnnMergeDelays",
    "SnnMergeReshapes",
    "SnnNeuronDefaults",
]
