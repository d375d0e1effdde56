"""The in-memory NIR graph: what a `.nir` file holds, independent of xDSL.

This is the exchange format between the file reader/writer (`nirc.nirfile`),
the `nir` dialect importer/exporter (`nirc.convert`), the interop with the
`nir` package (`nirc.interop`) and the reference interpreter.

A :class:`Graph` holds nodes in file order and edges ``(source, target)`` in file
order (edge order matters: it decides which edges are feedback edges, see
SEMANTICS.md). A :class:`Node` holds its NIR type name, its parameters exactly as
stored (numpy arrays keeping the file's dtype; 0-d arrays for scalars; ``str``
for a string such as Conv padding ``'same'``), its metadata, and for a nested
``NIRGraph`` node the inner :class:`Graph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

Param = Union[np.ndarray, str]
Metadata = dict[str, Any]  # values: np.ndarray, str, or nested Metadata

# Every NIR primitive: (required fields, optional fields with their default rule).
# Optional fields absent from a file get defaults when read (see nirc.nirfile):
# v_reset -> zeros like v_threshold, w_in -> ones like tau_mem, Conv input_shape ->
# absent (inferred), Flatten input_type -> absent (inferred).
NODE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Input": (("shape",), ()),
    "Output": (("shape",), ()),
    "NIRGraph": ((), ()),
    "Affine": (("weight", "bias"), ()),
    "Linear": (("weight",), ()),
    "Scale": (("scale",), ()),
    "Conv1d": (("weight", "stride", "padding", "dilation", "groups", "bias"), ("input_shape",)),
    "Conv2d": (("weight", "stride", "padding", "dilation", "groups", "bias"), ("input_shape",)),
    "SumPool2d": (("kernel_size", "stride", "padding"), ()),
    "AvgPool2d": (("kernel_size", "stride", "padding"), ()),
    "Flatten": (("start_dim", "end_dim"), ("input_type",)),
    "Delay": (("delay",), ()),
    "Threshold": (("threshold",), ()),
    "I": (("r",), ()),
    "IF": (("r", "v_threshold"), ("v_reset",)),
    "LI": (("tau", "r", "v_leak"), ()),
    "LIF": (("tau", "r", "v_leak", "v_threshold"), ("v_reset",)),
    "CubaLI": (("tau_syn", "tau_mem", "r", "v_leak"), ("w_in",)),
    "CubaLIF": (("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"), ("v_reset", "w_in")),
}

NODE_TYPES: tuple[str, ...] = tuple(NODE_FIELDS)
NEURON_TYPES = frozenset({"I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"})
SPIKING_TYPES = frozenset({"IF", "LIF", "CubaLIF"})
# fields holding integers by definition (sizes, strides, axes); every other field is real
INTEGER_FIELDS = frozenset(
    {"shape", "stride", "padding", "dilation", "groups", "input_shape", "kernel_size",
     "start_dim", "end_dim", "input_type"}
)  # fmt: skip
# fields holding time constants (seconds): must be finite and > 0
TIME_CONSTANT_FIELDS = frozenset({"tau", "tau_mem", "tau_syn"})
# per-neuron fields that must all share the layer's shape
NEURON_ARRAY_FIELDS = frozenset(
    {"tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in"}
)


@dataclass
class Node:
    name: str
    type: str
    params: dict[str, Param] = field(default_factory=dict)
    metadata: Metadata = field(default_factory=dict)
    graph: Graph | None = None  # only for type == "NIRGraph"

    def __repr__(self) -> str:  # keep reprs short: params can be huge
        shapes = {k: (v if isinstance(v, str) else v.shape) for k, v in self.params.items()}
        return f"Node({self.name!r}, {self.type}, {shapes})"


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    metadata: Metadata = field(default_factory=dict)

    def inputs(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == "Input"]

    def outputs(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == "Output"]


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or a.keys() != b.keys():
            return False
        return all(_values_equal(a[k], b[k]) for k in a)
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    a, b = np.asarray(a), np.asarray(b)
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and a.tobytes() == b.tobytes()  # bit for bit (NaN payloads included)
    )


def graphs_equal(a: Graph, b: Graph, *, explain: list[str] | None = None, _path: str = "") -> bool:
    """Exact equality: names, types, parameters bit for bit with dtypes, metadata,
    and edges in order. ``explain`` (a list) receives the first difference."""

    def differ(msg: str) -> bool:
        if explain is not None:
            explain.append(f"{_path or '/'}: {msg}")
        return False

    if list(a.nodes) != list(b.nodes):
        return differ(f"node names differ: {list(a.nodes)} vs {list(b.nodes)}")
    if list(a.edges) != list(b.edges):
        return differ(f"edges differ: {a.edges} vs {b.edges}")
    if not _values_equal(a.metadata, b.metadata):
        return differ("graph metadata differs")
    for name, na in a.nodes.items():
        nb = b.nodes[name]
        if na.type != nb.type:
            return differ(f"node {name}: type {na.type} vs {nb.type}")
        if na.params.keys() != nb.params.keys():
            return differ(f"node {name}: fields {sorted(na.params)} vs {sorted(nb.params)}")
        for k in na.params:
            if not _values_equal(na.params[k], nb.params[k]):
                return differ(f"node {name}: field {k} differs")
        if not _values_equal(na.metadata, nb.metadata):
            return differ(f"node {name}: metadata differs")
        if (na.graph is None) != (nb.graph is None):
            return differ(f"node {name}: subgraph presence differs")
        if na.graph is not None and not graphs_equal(
            na.graph,
            nb.graph,
            explain=explain,
            _path=f"{_path}/{name}",  # type: ignore[arg-type]
        ):
            return False
    return True


def walk(graph: Graph, prefix: str = ""):
    """Yield ``(dotted_name, node)`` for every node, nested graphs included,
    without recursion (graphs may be nested thousands deep)."""
    stack: list[tuple[str, Graph]] = [(prefix, graph)]
    while stack:
        pre, g = stack.pop()
        for name, node in g.nodes.items():
            full = f"{pre}{name}"
            yield full, node
            if node.graph is not None:
                stack.append((full + ".", node.graph))


def resolve_endpoint(graph: Graph, name: str, role: str, where: str = "/node") -> list[str]:
    """Resolve an edge endpoint to the path of the node it means.

    ``role`` is ``"source"`` or ``"target"``. An exact node name wins (node names
    may contain dots: ``lif1.lif`` in snnTorch exports). A nested ``NIRGraph``
    named as a target means its only Input, as a source its only Output. A dotted
    name ``sub.inner`` reaches into a nested graph ``sub``. Raises
    :class:`~nirc.diagnostics.NircError` naming the edge and suggesting the
    closest existing name when nothing matches.
    """
    from nirc.diagnostics import NircError, closest

    node = graph.nodes.get(name)
    if node is not None:
        if node.type != "NIRGraph" or node.graph is None:
            return [name]
        want = "Input" if role == "target" else "Output"
        ports = [n for n, v in node.graph.nodes.items() if v.type == want]
        if len(ports) != 1:
            raise NircError(
                f"edge {role} `{name}` is a nested graph with {len(ports)} {want} nodes",
                where=f"{where}/edges",
                expected=f"exactly one {want}, or a dotted name such as `{name}.{ports[0] if ports else want.lower()}`",
                found=f"{want} nodes {ports}",
            )
        return [name, ports[0]]
    # the shortest nested graph `sub` with `name` = `sub.rest` (linear in the
    # name's length: only the graph's own subgraph names are tried)
    subs = [
        n for n, v in graph.nodes.items()
        if v.graph is not None and name.startswith(n) and name[len(n) : len(n) + 1] == "."
    ]  # fmt: skip
    if subs:
        prefix = min(subs, key=len)
        return [prefix] + resolve_endpoint(
            graph.nodes[prefix].graph, name[len(prefix) + 1 :], role,  # type: ignore[arg-type]
            where=f"{where}/nodes/{prefix}",
        )  # fmt: skip
    suggestion = closest(name, list(graph.nodes)) if len(name) <= 200 else None
    raise NircError(
        f"edge {role} `{short_name(name)}` names no node",
        where=f"{where}/edges",
        expected=f"one of {sorted(graph.nodes)}",
        found=f"`{short_name(name)}`",
        hint=f"did you mean `{suggestion}`?" if suggestion else None,
    )


def short_name(name: str, limit: int = 80) -> str:
    """``name`` for a message: cut to ``limit`` characters, saying how long it was."""
    if len(name) <= limit:
        return name
    return f"{name[:limit]}... ({len(name):,} characters)"
