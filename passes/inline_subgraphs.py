"""`inline-subgraphs`: flatten nested `nir.graph` ops into their parent.

An inner node ``inner`` of the nested graph ``sub`` becomes ``sub.inner``
(``a.b.c`` when nested twice); the nested graph's Input and Output nodes go,
their edges spliced through (fan-in kept as several edges, so sums are
unchanged); the file order of every graph's edges is kept, so the feedback
edges of the flat graph are those of the nested one (see
:func:`nirc.topology.flatten`, which this pass applies). Top-level Inputs,
Outputs and the top-level graph's metadata stay; the metadata of the nested
graphs (and of their nodes as graph nodes) is dropped. A module without nested
graphs is left untouched. Exact: the interpreter gives identical results.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass


def inline_subgraphs(module: ModuleOp) -> bool:
    """Flatten the module's `nir.graph` in place; False when nothing is nested."""
    from nirc.convert import export_module, import_graph
    from nirc.dialects.nir import GraphOp
    from nirc.topology import flatten, is_nested
    from nirc.validate import infer_shapes, validate

    tops = [op for op in module.ops if isinstance(op, GraphOp)]
    if not tops or not any(isinstance(o, GraphOp) for o in tops[0].block.ops):
        return False
    graph = export_module(module)
    if not is_nested(graph):
        return False
    validate(graph)
    shapes = infer_shapes(graph)
    flat = flatten(graph)
    new = import_graph(flat, shapes)
    graph_op = next(op for op in new.ops if isinstance(op, GraphOp))
    graph_op.detach()
    for old in tops:
        old.detach()
        old.erase()
    module.body.blocks[0].add_op(graph_op)
    return True


@dataclass(frozen=True)
class InlineSubgraphsPass(ModulePass):
    """Flatten nested NIR graphs, keeping dotted names (see the module docstring)."""

    name = "inline-subgraphs"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        inline_subgraphs(op)


__all__ = ["InlineSubgraphsPass", "inline_subgraphs"]
