"""Graph <-> `nir` dialect: :func:`import_graph` and its exact inverse :func:`export_module`.

Import then export gives back the same :class:`~nirc.graph.Graph` (see
:func:`nirc.graph.graphs_equal`): node names and order, edges in order (through
the graph op's ``edge_order`` permutation when the file's order is not the
canonical one, see `nirc.dialects.nir`), edge spelling, every array bit for bit
with its dtype and rank, metadata. Arrays travel as raw bytes, never as Python
lists, so importing ten million parameters costs about one copy of them.

Nested graphs are handled with explicit work lists rather than recursion
(graphs may be nested deeply).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from nirc.diagnostics import NircError
from nirc.dialects.nir import (
    OP_BY_NIR_TYPE,
    GraphOp,
    InputOp,
    NodeOp,
    OutputOp,
    attr_to_array,
    attr_to_metadata,
    metadata_to_attr,
    node_name,
    param_to_attr,
    value_type,
)
from nirc.graph import NODE_FIELDS, Graph, Node, resolve_endpoint

Shapes = dict[str, tuple[int, ...]]

__all__ = ["import_graph", "export_module", "export_graph", "edge_names"]


# --------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------


@dataclass
class _Level:
    """One graph being imported: the Graph, its op, and its nodes' ops by name."""

    graph: Graph
    op: GraphOp
    prefix: str  # dotted path of this graph's nodes ("" at top level)
    where: str  # path inside the file, for messages
    ops: dict[str, Operation] = field(default_factory=dict)


# ASCII only: the IR parser takes no other SSA-name characters (`%café` fails to parse)
_HINT = re.compile(r"[A-Za-z_$.-][\w$.-]*", re.ASCII)
_NUMBERED = re.compile(r".*_\d+")


def import_graph(graph: Graph, shapes: Shapes | None = None) -> ModuleOp:
    """A Graph as a module holding one top-level ``nir.graph``.

    ``shapes`` maps dotted node names (``sub.lif``) to output shapes and gives the
    values their types; when None, :func:`nirc.validate.infer_shapes` is used if
    available (it repairs imperfect Input/Output shapes in ``graph``, with
    warnings), else every value is left unranked (``tensor<*xf32>``). Nodes
    missing from ``shapes`` get unranked values. Declared Input/Output shapes
    are taken from ``graph`` verbatim.
    """
    if shapes is None:
        try:
            from nirc.validate import infer_shapes
        except ImportError:
            shapes = {}
        else:
            shapes = infer_shapes(graph)
    hints: set[str] = set()

    top = GraphOp.create(regions=[Region(Block())], properties=_graph_props(graph, None))
    levels = [_Level(graph, top, "", "/node")]
    todo = [levels[0]]
    # 1. one op per node, nested graphs included (edges need every op to exist)
    while todo:
        level = todo.pop()
        block = level.op.block
        for name, node in level.graph.nodes.items():
            full = level.prefix + name
            where = f"{level.where}/nodes/{name}"
            op = _node_op(node, full, where, shapes)
            if op.results:
                hint = _name_hint(full, hints)
                if hint is not None:
                    op.results[0].name_hint = hint
            block.add_op(op)
            level.ops[name] = op
            if isinstance(op, GraphOp):
                sub = _Level(node.graph, op, full + ".", where)  # type: ignore[arg-type]
                levels.append(sub)
                todo.append(sub)
    # 2. edges: operands in file order, then the permutation to the canonical order
    for level in levels:
        _wire(level)
    return ModuleOp([top])


def _name_hint(path: str, taken: set[str]) -> str | None:
    """``%path`` for readable IR, when it is a valid, unused SSA name; ``n`` is
    prefixed to names starting with a digit. Names that look like the printer's
    de-duplicated ``hint_1`` are left numbered so they can never collide."""
    hint = path if _HINT.fullmatch(path) else "n" + path
    if not _HINT.fullmatch(hint) or _NUMBERED.fullmatch(hint) or hint in taken:
        return None
    taken.add(hint)
    return hint


def _graph_props(graph: Graph, node: Node | None) -> dict:
    props: dict = {}
    if node is not None:
        props["name"] = StringAttr(node.name)
        if node.metadata:
            props["node_metadata"] = metadata_to_attr(node.metadata)
    if graph.metadata:
        props["metadata"] = metadata_to_attr(graph.metadata)
    return props


def _node_op(node: Node, full: str, where: str, shapes: Shapes) -> Operation:
    cls = OP_BY_NIR_TYPE.get(node.type)
    if cls is None:
        raise NircError(
            f"unknown node type `{node.type}`",
            where=where,
            expected=f"one of {sorted(OP_BY_NIR_TYPE)}",
        )
    if node.type == "NIRGraph":
        if node.graph is None:
            raise NircError("NIRGraph node without a graph", where=where)
        outputs = node.graph.outputs()
        types = [value_type(shapes.get(f"{full}.{o.name}")) for o in outputs]
        return GraphOp.create(
            regions=[Region(Block())],
            properties=_graph_props(node.graph, node),
            result_types=types,
        )
    required, optional = NODE_FIELDS[node.type]
    props = {"name": StringAttr(node.name)}
    for key, value in node.params.items():
        if key not in required and key not in optional:
            raise NircError(
                f"unknown field `{key}` for a {node.type} node",
                where=f"{where}/{key}",
                expected=f"fields {list(required + optional)}",
            )
        props[key] = param_to_attr(value, f"{where}/{key}")
    missing = [k for k in required if k not in node.params]
    if missing:
        raise NircError(
            f"{node.type} node lacks required field(s) {missing}",
            where=where,
            expected=f"fields {list(required)}",
        )
    if node.metadata:
        props["metadata"] = metadata_to_attr(node.metadata, f"{where}/metadata")
    if cls is OutputOp:
        return OutputOp.create(properties=props)
    return cls.create(properties=props, result_types=[value_type(shapes.get(full))])


def _wire(level: _Level) -> None:
    graph = level.graph
    pending: dict[Operation, list[SSAValue]] = {}
    file_slots: list[tuple[Operation, int]] = []
    for src, dst in graph.edges:
        value = _source_value(level, src)
        target = _target_op(level, dst)
        operands = pending.setdefault(target, [])
        file_slots.append((target, len(operands)))
        operands.append(value)
    for target, operands in pending.items():
        target.operands = operands
    gop = level.op
    gop.set_edge_order(file_slots)
    names = edge_names(gop)
    perm = gop.edge_permutation()
    if perm is not None:
        names = [names[i] for i in perm]
    if names != [tuple(e) for e in graph.edges]:
        gop.properties["edge_spelling"] = ArrayAttr(
            [ArrayAttr([StringAttr(s), StringAttr(d)]) for s, d in graph.edges]
        )


def _unsupported(level: _Level, name: str, role: str, path: list[str]) -> NircError:
    return NircError(
        f"edge {role} `{name}` reaches inside a nested graph to `{'.'.join(path[1:])}`, "
        "which is not its Input/Output",
        where=f"{level.where}/edges",
        expected="edges into a nested graph end at its Input nodes, edges out of it start "
        "at its Output nodes",
        found=f"`{name}`",
    )


def _source_value(level: _Level, name: str) -> SSAValue:
    path = resolve_endpoint(level.graph, name, "source", level.where)
    op = level.ops[path[0]]
    if len(path) == 1:
        if isinstance(op, OutputOp):
            raise NircError(
                f"edge source `{name}` is an Output node",
                where=f"{level.where}/edges",
                expected="an edge starting at a node that computes a value",
            )
        return op.results[0]
    sub = level.graph.nodes[path[0]].graph
    assert sub is not None and isinstance(op, GraphOp)
    outputs = [n.name for n in sub.outputs()]
    if len(path) != 2 or path[1] not in outputs:
        raise _unsupported(level, name, "source", path)
    return op.results[outputs.index(path[1])]


def _target_op(level: _Level, name: str) -> Operation:
    path = resolve_endpoint(level.graph, name, "target", level.where)
    op = level.ops[path[0]]
    if len(path) == 1:
        if isinstance(op, InputOp):
            raise NircError(
                f"edge target `{name}` is an Input node",
                where=f"{level.where}/edges",
                expected="edges into an Input only from outside its graph",
            )
        return op
    assert isinstance(op, GraphOp)
    inner = next(
        (o for o in op.input_ops() if node_name(o) == path[1]),
        None,
    )
    if len(path) != 2 or inner is None:
        raise _unsupported(level, name, "target", path)
    return inner


# --------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------


def export_module(module: ModuleOp) -> Graph:
    """The Graph a module's top-level ``nir.graph`` describes (exact inverse of
    :func:`import_graph`). Arrays are read-only views of the attributes' bytes."""
    tops = [op for op in module.ops if isinstance(op, GraphOp)]
    if len(tops) != 1:
        from nirc.targets import chip_of

        names = sorted({op.name for op in module.ops})
        lowered = [n for n in names if not n.startswith("nir.")]
        chip = chip_of(module)
        hint = None
        if chip:
            hint = (f"a module compiled for {chip}: `nirc run FILE --target {chip}` simulates "
                    "it; `nirc show FILE` tables it; anything else needs the NIR file or IR it "
                    "came from")  # fmt: skip
        elif lowered:
            hint = ("this module is past `discretize`: use the NIR file or IR it came from; "
                    "`nirc show`, `nirc run` and `nirc compile` take it as it is")  # fmt: skip
        raise NircError(
            "the module must hold exactly one top-level nir.graph (the level a NIR file "
            "describes)",
            expected="one nir.graph: a NIR file's graph, as `nirc import` gives it",
            found=f"{len(tops)} nir.graph ops"
            + (f"; top-level {', '.join(lowered)}" if lowered else ""),
            hint=hint,
        )
    return export_graph(tops[0])


def export_graph(graph_op: GraphOp) -> Graph:
    top = Graph()
    todo: list[tuple[GraphOp, Graph]] = [(graph_op, top)]
    done: list[tuple[GraphOp, Graph]] = []
    while todo:
        gop, graph = todo.pop()
        graph.metadata = attr_to_metadata(gop.metadata)
        for op in gop.block.ops:
            name = node_name(op)
            if isinstance(op, GraphOp):
                sub = Graph()
                graph.nodes[name] = Node(
                    name, "NIRGraph", {}, attr_to_metadata(op.node_metadata), sub
                )
                todo.append((op, sub))
            elif isinstance(op, NodeOp):
                graph.nodes[name] = op.to_node()
            elif isinstance(op, InputOp | OutputOp):
                graph.nodes[name] = Node(
                    name,
                    op.NIR_TYPE,
                    {"shape": attr_to_array(op.shape)},
                    attr_to_metadata(op.metadata),
                )
            else:
                raise NircError(f"cannot export {op.name}: not a nir op", where=gop.label)
        edges = edge_names(gop)
        perm = gop.edge_permutation()
        if perm is not None:
            edges = [edges[i] for i in perm]
        graph.edges = edges
        done.append((gop, graph))
    for gop, graph in done:  # once nested graphs are filled in: names resolve
        graph.edges = _respell(gop, graph, graph.edges)
    return top


def edge_names(graph_op: GraphOp) -> list[tuple[str, str]]:
    """The graph's edges as (source, target) names, in canonical order."""
    block = graph_op.block
    label = graph_op.label
    out: list[tuple[str, str]] = []
    for op, i in graph_op.edge_slots():
        out.append((_source_name(op.operands[i], block, label), _target_name(op, block)))
    return out


def _source_name(value: SSAValue, block: Block, label: str) -> str:
    owner = value.owner
    if not isinstance(owner, Operation) or owner.parent is not block:
        raise NircError("cannot export: an edge comes from outside its graph", where=label)
    if isinstance(owner, GraphOp):
        outputs = owner.output_ops()
        sub = node_name(owner)
        if len(outputs) == 1:
            return sub
        return f"{sub}.{node_name(outputs[value.index])}"  # type: ignore[attr-defined]
    return node_name(owner)


def _target_name(op: Operation, block: Block) -> str:
    if op.parent is block:
        return node_name(op)
    sub = op.parent_op()
    assert isinstance(sub, GraphOp)
    name = node_name(sub)
    return name if len(sub.input_ops()) == 1 else f"{name}.{node_name(op)}"


def _respell(gop: GraphOp, graph: Graph, edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Use the file's spelling of the edges when the graph op kept it and it still
    names the same endpoints."""
    spelling = gop.edge_spelling
    if spelling is None or len(spelling.data) != len(edges):
        return edges
    spelled = [
        (pair.data[0].data, pair.data[1].data)  # type: ignore[attr-defined]
        for pair in spelling.data
    ]
    try:
        for (s, d), (cs, cd) in zip(spelled, edges):
            if (s, d) == (cs, cd):
                continue
            if resolve_endpoint(graph, s, "source") != resolve_endpoint(graph, cs, "source"):
                return edges
            if resolve_endpoint(graph, d, "target") != resolve_endpoint(graph, cd, "target"):
                return edges
    except NircError:
        return edges
    return spelled
