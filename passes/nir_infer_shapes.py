"""`nir-infer-shapes`: give every value of a `nir` module its ranked tensor type.

Shape propagation (from the Inputs along edges, to a fixpoint on recurrent
cycles) and the repairs of imperfect files (SEMANTICS.md: an Input whose
declared shape contradicts its only consumer, an Output whose declared shape
contradicts what reaches it) are written once, in :mod:`nirc.validate`; this
pass exports the module's graph, runs :func:`nirc.validate.validate` and
:func:`nirc.validate.infer_shapes` on it (which warn with ``kind="repair"``,
errors under ``--strict``), then writes the result back into the IR:

- every node's result becomes ``tensor<shape x f32>``; a nested graph's
  results take the shapes of its Outputs;
- a repaired Input/Output gets the repaired ``shape`` property (same dtype).

Nothing else changes: names, parameters and edges are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from nirc.dialects.nir import (
    GraphOp,
    InputOp,
    NodeOp,
    OutputOp,
    array_to_attr,
    attr_to_array,
    node_name,
    value_type,
)
from nirc.graph import Graph


def infer_module_shapes(module: ModuleOp) -> None:
    from nirc.convert import export_module
    from nirc.validate import infer_shapes, validate

    graph = export_module(module)
    validate(graph)
    shapes = infer_shapes(graph)  # repairs Input/Output shapes in `graph`, with warnings
    top = next(op for op in module.ops if isinstance(op, GraphOp))
    todo: list[tuple[GraphOp, Graph, str]] = [(top, graph, "")]
    while todo:
        gop, g, prefix = todo.pop()
        for op in gop.block.ops:
            name = node_name(op)
            path = prefix + name
            if isinstance(op, GraphOp):
                sub = g.nodes[name].graph
                assert sub is not None
                for res, out in zip(op.results, op.output_ops()):
                    _set_type(res, shapes.get(f"{path}.{node_name(out)}"))
                todo.append((op, sub, path + "."))
                continue
            if isinstance(op, InputOp | OutputOp):
                repaired = np.asarray(g.nodes[name].params["shape"])
                old = attr_to_array(op.shape)
                if repaired.dtype != old.dtype or repaired.tobytes() != old.tobytes():
                    op.properties["shape"] = array_to_attr(repaired)
            if isinstance(op, NodeOp | InputOp):
                _set_type(op.results[0], shapes.get(path))


def _set_type(value, shape) -> None:
    if shape is None:
        return
    new = value_type(shape)
    if value.type != new:
        Rewriter.replace_value_with_new_type(value, new)


@dataclass(frozen=True)
class NirInferShapesPass(ModulePass):
    """Give every value its ranked tensor type; repair declared Input/Output shapes."""

    name = "nir-infer-shapes"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        infer_module_shapes(op)
