"""Interop with the ``nir`` package: ``nir.NIRGraph`` <-> :class:`~nirc.graph.Graph`.

``nir`` is optional (``pip install 'nirc[nir]'``) and imported only when one of
these functions runs. Values are converted the way ``nir.read`` hands them to
``nir``'s constructors, so that a graph survives ``graph_to_nir`` then
``nir.write`` then ``nirc.read`` unchanged: numpy scalars become 0-d arrays on
the way in and 0-d arrays become numpy scalars on the way out.

Both directions are iterative (nested graphs may be thousands deep).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nirc.diagnostics import NircError, closest
from nirc.graph import NODE_FIELDS, NODE_TYPES, Graph, Metadata, Node, Param

__all__ = ["graph_from_nir", "graph_to_nir", "from_nir", "to_nir"]


def _nir() -> Any:
    try:
        import nir
    except ImportError:
        raise NircError(
            "the `nir` package is not installed",
            expected="the optional dependency `nir` (1.0.x)",
            found="no module named `nir`",
            hint="install nirc[nir]  (pip install 'nirc[nir]')",
        ) from None
    return nir


# ----------------------------------------------------------------------------
# nir -> Graph


def _type_name(obj: Any) -> str | None:
    """The NIR primitive an object is (subclasses of nir's classes included)."""
    for cls in type(obj).__mro__:
        if cls.__name__ in NODE_FIELDS and cls.__module__.split(".")[0] == "nir":
            return cls.__name__
    return None


def _param_in(value: Any, where: str) -> Param:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise NircError(
            "parameter is not numeric",
            where=where,
            expected="a number or a numeric array",
            found=f"{type(value).__name__} ({arr.dtype})",
        )
    return arr


def _metadata_in(metadata: Any, where: str) -> Metadata:
    if not metadata or not isinstance(metadata, dict):
        return {}
    out: Metadata = {}
    stack: list[tuple[dict, Metadata, str]] = [(metadata, out, where)]
    while stack:
        src, dst, w = stack.pop()
        for key, value in src.items():
            kw = f"{w}.{key}"
            if isinstance(value, dict):
                dst[str(key)] = sub = {}
                stack.append((value, sub, kw))
            elif isinstance(value, str):
                dst[str(key)] = value
            elif isinstance(value, bytes):
                dst[str(key)] = value.decode("utf-8", "backslashreplace")
            else:
                arr = np.asarray(value)
                if arr.dtype.kind not in "biufcUS":
                    raise NircError(
                        "metadata value has no NIR file representation",
                        where=kw,
                        expected="a dict, a string, a number or an array",
                        found=type(value).__name__,
                    )
                dst[str(key)] = arr
    return out


def _shape_of(types: Any, key: str) -> Any:
    if isinstance(types, dict):
        return types.get(key)
    return types


def _node_in(name: str, obj: Any, where: str) -> Node:
    t = _type_name(obj)
    if t is None:
        guess = closest(type(obj).__name__, list(NODE_TYPES))
        raise NircError(
            f"node `{name}` is a {type(obj).__name__}, which NIR files cannot hold",
            where=where,
            expected=f"one of {', '.join(NODE_TYPES)}",
            found=f"{type(obj).__module__}.{type(obj).__name__}",
            hint=f"did you mean {guess!r}?" if guess else None,
        )
    metadata = _metadata_in(getattr(obj, "metadata", None), f"{where}.metadata")
    if t == "NIRGraph":
        return Node(name, t, {}, {}, Graph(metadata=metadata))
    required, optional = NODE_FIELDS[t]
    params: dict[str, Param] = {}
    for key in required + optional:
        if t == "Input" and key == "shape":
            value = _shape_of(obj.input_type, "input")
        elif t == "Output" and key == "shape":
            value = _shape_of(obj.output_type, "output")
        elif t == "Flatten" and key == "input_type":
            value = _shape_of(obj.input_type, "input")
        else:
            value = getattr(obj, key, None)
        if value is None:
            if key in required:
                raise NircError(
                    f"{t} node `{name}` has no `{key}`",
                    where=f"{where}.{key}",
                    expected=f"fields {', '.join(required)}",
                    found="None",
                )
            continue
        params[key] = _param_in(value, f"{where}.{key}")
    return Node(name, t, params, metadata)


def graph_from_nir(nir_graph: Any) -> Graph:
    """A ``nir.NIRGraph`` (or any nir node, wrapped as needed) as a Graph.

    Parameters keep their dtype; ``nir`` has already filled defaults such as
    ``v_reset`` and ``w_in``."""
    if _type_name(nir_graph) != "NIRGraph":
        raise NircError(
            "expected a nir.NIRGraph",
            where="graph",
            expected="nir.NIRGraph",
            found=type(nir_graph).__name__,
            hint="wrap the node: nir.NIRGraph.from_list(node)",
        )
    graph = Graph(metadata=_metadata_in(getattr(nir_graph, "metadata", None), "metadata"))
    stack: list[tuple[Any, Graph, str]] = [(nir_graph, graph, "")]
    while stack:
        src, dst, prefix = stack.pop()
        for name, obj in src.nodes.items():
            name = str(name)
            node = _node_in(name, obj, prefix + name)
            dst.nodes[name] = node
            if node.graph is not None:
                stack.append((obj, node.graph, f"{prefix}{name}."))
        for k, edge in enumerate(src.edges):
            try:
                a, b = edge
            except (TypeError, ValueError):
                raise NircError(
                    "edge is not a (source, target) pair",
                    where=f"{prefix}edges[{k}]",
                    expected="(source, target)",
                    found=repr(edge),
                ) from None
            a = a.decode("utf-8") if isinstance(a, bytes) else str(a)
            b = b.decode("utf-8") if isinstance(b, bytes) else str(b)
            dst.edges.append((a, b))
    return graph


# ----------------------------------------------------------------------------
# Graph -> nir


def _param_out(value: Param) -> Any:
    """0-d arrays become numpy scalars, as nir.read produces them (and nir.write
    needs: it compresses arrays, and HDF5 cannot compress a scalar)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def _metadata_out(metadata: Metadata) -> dict:
    out: dict = {}
    stack: list[tuple[Metadata, dict]] = [(metadata, out)]
    while stack:
        src, dst = stack.pop()
        for key, value in src.items():
            if isinstance(value, dict):
                dst[key] = sub = {}
                stack.append((value, sub))
            else:
                dst[key] = _param_out(value)
    return out


def _node_out(nir: Any, node: Node, where: str) -> Any:
    t = node.type
    p = {k: _param_out(v) for k, v in node.params.items()}
    kw: dict[str, Any] = {}
    if node.metadata:
        kw["metadata"] = _metadata_out(node.metadata)
    cls = getattr(nir, t, None)
    if t not in NODE_FIELDS or cls is None:
        raise NircError(
            f"node type {t!r} has no nir class",
            where=where,
            expected=f"one of {', '.join(NODE_TYPES)}",
            found=repr(t),
        )
    try:
        if t == "Input":
            return cls(input_type=np.asarray(p["shape"]), **kw)
        if t == "Output":
            return cls(output_type=np.asarray(p["shape"]), **kw)
        if t in ("Conv1d", "Conv2d"):
            return cls(
                input_shape=p.get("input_shape"),
                **{k: v for k, v in p.items() if k != "input_shape"},
                **kw,
            )
        if t == "Flatten":
            return cls(
                input_type=p.get("input_type"),
                start_dim=p["start_dim"],
                end_dim=p["end_dim"],
                **kw,
            )
        return cls(**p, **kw)
    except Exception as e:  # nir's constructors assert and compute shapes
        raise NircError(
            f"nir refuses {t} node: {type(e).__name__}: {e}".strip(),
            where=where,
            expected=f"parameters nir {getattr(nir, '__version__', '')} accepts".replace("  ", " "),
            found=", ".join(
                f"{k} {v if isinstance(v, str) else np.shape(v)}" for k, v in node.params.items()
            ),
        ) from None


def graph_to_nir(graph: Graph) -> Any:
    """A Graph as a ``nir.NIRGraph`` (built without nir's type checking, whose
    shape rules differ from SEMANTICS.md for some convolutions)."""
    nir = _nir()
    # post-order: inner graphs are built before the graph that holds them
    built: dict[int, Any] = {}
    stack: list[tuple[Graph, str, bool]] = [(graph, "", False)]
    while stack:
        g, prefix, ready = stack.pop()
        if not ready:
            stack.append((g, prefix, True))
            for name, node in g.nodes.items():
                if node.type == "NIRGraph":
                    if node.graph is None:
                        raise NircError(
                            "nested graph without content",
                            where=prefix + name,
                            expected="a NIRGraph node holding a graph",
                            found="no graph",
                        )
                    stack.append((node.graph, f"{prefix}{name}.", False))
            continue
        nodes = {}
        for name, node in g.nodes.items():
            if node.type == "NIRGraph":
                sub = built.pop(id(node.graph))
                if node.metadata:
                    sub.metadata = {**_metadata_out(node.metadata), **sub.metadata}
                nodes[name] = sub
            else:
                nodes[name] = _node_out(nir, node, prefix + name)
        built[id(g)] = nir.NIRGraph(
            nodes=nodes,
            edges=[(a, b) for a, b in g.edges],
            metadata=_metadata_out(g.metadata),
            type_check=False,
        )
    return built[id(graph)]


# ----------------------------------------------------------------------------
# through the `nir` dialect


def from_nir(nir_graph: Any):
    """A ``nir.NIRGraph`` as an xDSL module of the ``nir`` dialect."""
    from nirc.convert import import_graph

    return import_graph(graph_from_nir(nir_graph))


def to_nir(module_or_graph: Any) -> Any:
    """A ``nir`` dialect module (or a Graph) as a ``nir.NIRGraph``."""
    if isinstance(module_or_graph, Graph):
        return graph_to_nir(module_or_graph)
    from nirc.convert import export_module

    return graph_to_nir(export_module(module_or_graph))
