"""Semantic checks and shape inference on a :class:`~nirc.graph.Graph`.

The reader (`nirc.nirfile`) guarantees a well-formed file; this module checks
that the graph makes sense: finite parameters, positive time constants, shapes
that agree, edges that name nodes, no cycle that nothing drives. Then
:func:`infer_shapes` gives every node its per-sample output shape, repairing the
unambiguous mistakes real exporters make (SEMANTICS.md, "Files and shapes")
with a warning that ``--strict`` turns into an error.

Nodes are named by dotted paths (``rnn.lif`` for node ``lif`` of nested graph
``rnn``); a field by ``path.field``; edges by the path of their graph in the
file (``/node/nodes/rnn/edges``). Everything is iterative: graphs nested
thousands deep are fine.
"""

from __future__ import annotations

import math

import numpy as np

from nirc.diagnostics import NircError, closest, warn
from nirc.graph import (
    INTEGER_FIELDS,
    NEURON_ARRAY_FIELDS,
    NEURON_TYPES,
    NODE_FIELDS,
    NODE_TYPES,
    TIME_CONSTANT_FIELDS,
    Graph,
    Node,
    resolve_endpoint,
)
from nirc.shapes import (
    Shape,
    conv_params,
    fmt,
    implied_input_shape,
    neuron_shape,
    output_shape,
    pool_params,
)

__all__ = ["validate", "infer_shapes"]

ELEMENTWISE_TYPES = NEURON_TYPES | {"Scale", "Threshold", "Delay"}
# elements of one per-sample value: beyond this no command could hold it in memory
# (and shape arithmetic must never wrap around)
MAX_ELEMENTS = 2**32
MAX_METADATA_DEPTH = 64  # groups within groups: deeper is no exporter's, and recursion-unsafe
MAX_DELAY_SECONDS = 1e6  # 11.6 days: beyond any network's memory, and far from overflow
_MAX_PASSES = 100  # shape propagation rounds before declaring that shapes do not settle


# ----------------------------------------------------------------------------
# the flat view: every node of every nesting level, edges resolved to leaves


class _Flat:
    """All nodes (nested ones included) with integer ids, and the edges between
    leaf nodes (NIRGraph nodes are containers: edges to them reach their ports)."""

    def __init__(self, graph: Graph) -> None:
        self.nodes: list[Node] = []
        self.paths: list[str] = []  # dotted path of each node
        self.index: list[dict[str, int]] = []  # per graph: name -> id
        self.graphs: list[Graph] = []
        self.graph_parent: list[tuple[int, str] | None] = []  # (parent graph, name)
        self.sub: dict[int, int] = {}  # NIRGraph node id -> graph index
        self.leaf_paths: dict[str, tuple[int, str]] = {}  # dotted path -> (graph, name)
        queue: list[tuple[Graph, str, tuple[int, str] | None]] = [(graph, "", None)]
        head = 0
        while head < len(queue):
            g, prefix, parent = queue[head]
            head += 1
            gi = len(self.graphs)
            self.graphs.append(g)
            self.graph_parent.append(parent)
            names: dict[str, int] = {}
            self.index.append(names)
            for name, node in g.nodes.items():
                nid = len(self.nodes)
                names[name] = nid
                self.nodes.append(node)
                path = prefix + name
                if node.type != "NIRGraph":
                    if path in self.leaf_paths:
                        ogi, oname = self.leaf_paths[path]
                        raise NircError(
                            f"flattening nested graphs gives two nodes the name `{path}`",
                            where=f"{self.where(gi)}/nodes/{name}",
                            expected="unique dotted names (`sub.inner`) after inlining",
                            found=f"`{path}` also names {self.where(ogi)}/nodes/{oname}",
                            hint="rename one of the two nodes",
                        )
                    self.leaf_paths[path] = (gi, name)
                self.paths.append(path)
                if node.type == "NIRGraph" and node.graph is not None:
                    self.sub[nid] = len(queue)
                    queue.append((node.graph, f"{prefix}{name}.", (gi, name)))
        self.succ: list[list[int]] = [[] for _ in self.nodes]
        self.pred: list[list[int]] = [[] for _ in self.nodes]
        self.edge_list: list[tuple[int, int]] = []

    def where(self, gi: int) -> str:
        """The file path of graph ``gi`` (built on demand: it can be long)."""
        parts: list[str] = []
        parent = self.graph_parent[gi]
        while parent is not None:
            pgi, name = parent
            parts.append(name)
            parent = self.graph_parent[pgi]
        return "/node" + "".join(f"/nodes/{p}" for p in reversed(parts))

    def resolve(self, gi: int, name: str, role: str) -> int:
        try:
            names = resolve_endpoint(self.graphs[gi], name, role, where="\0")
        except NircError as e:
            where = e.where.replace("\0", self.where(gi), 1) if e.where else e.where
            raise NircError(
                e.message, where=where, expected=e.expected, found=e.found, hint=e.hint
            ) from None
        g = gi
        nid = -1
        for part in names:
            nid = self.index[g][part]
            if nid in self.sub:
                g = self.sub[nid]
        if len(names) == 1:
            kind = self.nodes[nid].type
            if role == "source" and kind == "Output":
                raise NircError(
                    f"edge source `{name}` is an Output node",
                    where=f"{self.where(gi)}/edges",
                    expected="an edge starting at a node that computes a value",
                    found=f"`{name}` -> ...",
                )
            if role == "target" and kind == "Input":
                raise NircError(
                    f"edge target `{name}` is an Input node",
                    where=f"{self.where(gi)}/edges",
                    expected="edges into an Input only from outside its graph",
                    found=f"... -> `{name}`",
                )
        return nid

    def connect(self, check_duplicates: bool) -> None:
        """Resolve every edge of every graph (in file order, outer graphs first)."""
        seen: dict[tuple[int, int], tuple[int, int]] = {}
        for gi, g in enumerate(self.graphs):
            raw_seen: set[tuple[str, str]] = set()
            for k, (src, dst) in enumerate(g.edges):
                if check_duplicates and (src, dst) in raw_seen:
                    raise NircError(
                        f"duplicate edge `{src}` -> `{dst}`",
                        where=f"{self.where(gi)}/edges[{k}]",
                        expected="each edge once (fan-in sums distinct sources)",
                        found=f"the edge ({src!r}, {dst!r}) again",
                        hint="remove the repeated edge",
                    )
                raw_seen.add((src, dst))
                s = self.resolve(gi, src, "source")
                t = self.resolve(gi, dst, "target")
                if check_duplicates and (s, t) in seen:
                    pgi, pk = seen[(s, t)]
                    raise NircError(
                        f"duplicate edge `{src}` -> `{dst}`: it connects the same nodes as "
                        f"{self.where(pgi)}/edges[{pk}]",
                        where=f"{self.where(gi)}/edges[{k}]",
                        expected="each connection once",
                        found=f"`{self.paths[s]}` -> `{self.paths[t]}` twice",
                        hint="remove one of the two edges",
                    )
                seen[(s, t)] = (gi, k)
                self.succ[s].append(t)
                self.pred[t].append(s)
                self.edge_list.append((s, t))

    def leaves(self) -> list[int]:
        return [i for i, n in enumerate(self.nodes) if n.type != "NIRGraph"]


# ----------------------------------------------------------------------------
# per-node checks


def _index_str(shape: tuple[int, ...], flat: int) -> str:
    if not shape:
        return "the scalar value"
    return "index [" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def _as_ints(value: np.ndarray, where: str, what: str, minimum: int, ndim_max: int = 1) -> None:
    if value.dtype.kind not in "iu" or value.ndim > ndim_max:
        raise NircError(
            f"{what} must be integers",
            where=where,
            expected=f"a {'1-D ' if ndim_max == 1 else ''}integer array",
            found=f"{value.dtype} array of shape {fmt(value.shape)}",
        )
    if value.size and int(value.min()) < minimum:
        raise NircError(
            f"{what} out of range",
            where=where,
            expected=f"every entry >= {minimum}",
            found=str(value.tolist()),
        )


def _check_structure(path: str, node: Node) -> None:
    """Type, fields and dtypes: what every other check relies on (cheap)."""
    t = node.type
    if t not in NODE_FIELDS:
        guess = closest(str(t), list(NODE_TYPES))
        raise NircError(
            f"unknown node type {t!r}",
            where=path,
            expected=f"one of {', '.join(NODE_TYPES)}",
            found=repr(t),
            hint=f"did you mean {guess!r}?" if guess else None,
        )
    if t == "NIRGraph":
        if node.graph is None:
            raise NircError(
                "nested graph without content",
                where=path,
                expected="a NIRGraph node holding a graph",
                found="no graph",
            )
        return
    required, optional = NODE_FIELDS[t]
    for key in required:
        if key not in node.params:
            guess = closest(key, list(node.params))
            raise NircError(
                f"{t} node is missing the field `{key}`",
                where=f"{path}.{key}",
                expected=f"fields {', '.join(required)}",
                found=f"fields {', '.join(node.params) or 'none'}",
                hint=f"is `{guess}` meant to be `{key}`?" if guess else None,
            )
    for key, value in node.params.items():
        where = f"{path}.{key}"
        if key not in required and key not in optional:
            guess = closest(key, list(required + optional))
            raise NircError(
                f"`{key}` is not a field of {t}",
                where=where,
                expected=f"fields {', '.join(required + optional)}",
                found=key,
                hint=f"did you mean `{guess}`?" if guess else None,
            )
        if isinstance(value, str):
            if key == "padding" and t in ("Conv1d", "Conv2d") and value in ("same", "valid"):
                continue
            raise NircError(
                f"`{key}` must be numeric",
                where=where,
                expected="a numeric array" + (", 'same' or 'valid'" if key == "padding" else ""),
                found=repr(value),
            )
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            raise NircError(
                f"`{key}` must be a numeric array",
                where=where,
                expected="a numpy array of numbers",
                found=type(value).__name__
                if not isinstance(value, np.ndarray)
                else f"array of {value.dtype}",
            )
    p = node.params
    if t in ("Input", "Output"):
        _as_ints(p["shape"], f"{path}.shape", "shape entries", 1)
    elif t in ("Affine", "Linear"):
        w = p["weight"]
        if w.ndim < 2:
            raise NircError(
                f"{t} weight must be a matrix",
                where=f"{path}.weight",
                expected="at least 2 axes [out, in]",
                found=f"shape {fmt(w.shape)}",
            )
        if t == "Affine":
            b = p["bias"]
            if b.shape not in ((w.shape[-2],), tuple(w.shape[:-1])):
                raise NircError(
                    "Affine bias does not match the weight's rows",
                    where=f"{path}.bias",
                    expected=f"shape {fmt((w.shape[-2],))} (weight is {fmt(w.shape)})",
                    found=f"shape {fmt(b.shape)}",
                )
    elif t in ("Conv1d", "Conv2d"):
        cp = conv_params(node, path)
        b = p["bias"]
        if b.shape != (cp.out_channels,):
            raise NircError(
                f"{t} bias does not match the output channels",
                where=f"{path}.bias",
                expected=f"shape [{cp.out_channels}] (weight is {fmt(p['weight'].shape)})",
                found=f"shape {fmt(b.shape)}",
            )
        if "input_shape" in p:
            ish = p["input_shape"]
            _as_ints(ish, f"{path}.input_shape", "input_shape entries", 1)
            if ish.size != len(cp.kernel):
                raise NircError(
                    "input_shape has the wrong number of spatial sizes",
                    where=f"{path}.input_shape",
                    expected=f"{len(cp.kernel)} size(s)",
                    found=str(ish.tolist()),
                )
    elif t in ("SumPool2d", "AvgPool2d"):
        pool_params(node, path)
    elif t == "Flatten":
        for key in ("start_dim", "end_dim"):
            v = p[key]
            if v.dtype.kind not in "iu" or v.size != 1:
                raise NircError(
                    f"Flatten {key} must be one integer",
                    where=f"{path}.{key}",
                    expected="an integer",
                    found=f"{v.dtype} array of shape {fmt(v.shape)}",
                )
        if "input_type" in p:
            _as_ints(p["input_type"], f"{path}.input_type", "input_type entries", 1)
    elif t in NEURON_TYPES:
        fields = [k for k in required + optional if k in NEURON_ARRAY_FIELDS and k in p]
        ref = fields[0]
        for key in fields[1:]:
            v = p[key]
            if v.shape == p[ref].shape or (key == "w_in" and v.ndim == 0):
                continue
            raise NircError(
                f"{t} parameters disagree in shape",
                where=f"{path}.{key}",
                expected=f"shape {fmt(p[ref].shape)} like `{ref}`"
                + (" (or a scalar)" if key == "w_in" else ""),
                found=f"shape {fmt(v.shape)}",
            )


def _check_values(path: str, node: Node) -> None:
    """NaN/inf anywhere; time constants > 0; delays >= 0 (names the first bad index)."""
    from nirc.profiles import finite_except_limits  # tau = r = inf: an exporter's IF limit

    for key, value in node.params.items():
        if isinstance(value, str) or value.dtype.kind != "f":
            continue
        finite = finite_except_limits(node, key, value)
        if not finite.all():
            i = int(np.argmin(finite.reshape(-1)))
            bad = value.reshape(-1)[i]
            raise NircError(
                f"`{key}` holds {'NaN' if np.isnan(bad) else 'an infinite value'}",
                where=f"{path}.{key}",
                expected="finite numbers",
                found=f"{bad} at {_index_str(value.shape, i)}",
            )
    for key in TIME_CONSTANT_FIELDS:
        value = node.params.get(key)
        if isinstance(value, np.ndarray) and value.size and not (value > 0).all():
            i = int(np.argmin((value > 0).reshape(-1)))
            raise NircError(
                f"time constant `{key}` must be positive",
                where=f"{path}.{key}",
                expected="every entry > 0 (seconds)",
                found=f"{value.reshape(-1)[i]} at {_index_str(value.shape, i)}",
            )
    if node.type == "Delay":
        d = node.params["delay"]
        if d.size and float(np.max(d)) > MAX_DELAY_SECONDS:
            raise NircError(
                "delay too long",
                where=f"{path}.delay",
                expected=f"delays up to {MAX_DELAY_SECONDS:g} s",
                found=f"{float(np.max(d)):g} s",
            )
        if d.size and not (d >= 0).all():
            i = int(np.argmin((d >= 0).reshape(-1)))
            raise NircError(
                "delays cannot be negative",
                where=f"{path}.delay",
                expected="every entry >= 0 (seconds)",
                found=f"{d.reshape(-1)[i]} at {_index_str(d.shape, i)}",
            )


# ----------------------------------------------------------------------------
# validate


def _real_params(path: str, node: Node) -> None:
    """Integer or bool arrays in real-valued fields (weights, time constants,
    thresholds...) are read as float64, with a warning: every command then sees
    the same real numbers."""
    for key, value in list(node.params.items()):
        if key in INTEGER_FIELDS or not isinstance(value, np.ndarray):
            continue
        if value.dtype.kind not in "biu":
            continue
        exact = value.dtype.kind == "b" or not value.size or (
            int(np.abs(value.astype(np.float64)).max()) <= 2**53
        )
        node.params[key] = value.astype(np.float64)
        warn(
            f"`{path}.{key}` holds {value.dtype} values where NIR means real numbers: read as "
            f"float64{' (exact)' if exact else ' (rounded to the nearest float64)'}",
            where=f"{path}.{key}",
            kind="repair",
        )


_METADATA_DTYPES = frozenset(
    np.dtype(t)
    for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
              np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)
)  # fmt: skip


def _check_metadata(metadata: dict, where: str) -> None:
    """Metadata values every command can carry (strings, real or integer numbers and
    arrays, nested dictionaries); a ``dt`` must be one real number > 0."""
    stack = [(metadata, where, 1)]
    while stack:
        meta, at, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            raise NircError(
                "metadata nested too deeply",
                where=at if len(at) < 200 else f"{where}/... (depth {depth})",
                expected=f"at most {MAX_METADATA_DEPTH} levels of groups",
                found=f"more than {MAX_METADATA_DEPTH}",
            )
        for key, value in meta.items():
            here = f"{at}/{key}"
            if isinstance(value, dict):
                stack.append((value, here, depth + 1))
                continue
            if isinstance(value, (str, bytes)):
                a = None
            else:
                a = np.asarray(value)
                if a.dtype.kind not in "USO" and a.dtype not in _METADATA_DTYPES:
                    raise NircError(
                        "unsupported metadata value",
                        where=here,
                        expected="strings, real or integer numbers (arrays of them), or groups",
                        found=f"{a.dtype} value {a.reshape(-1)[:3].tolist()}",
                    )
            if key == "dt" and at == where:
                ok = (
                    a is not None
                    and a.size == 1
                    and a.dtype.kind in "iuf"
                    and math.isfinite(float(a.reshape(-1)[0]))
                    and float(a.reshape(-1)[0]) > 0
                )
                if not ok:
                    raise NircError(
                        "metadata `dt` must be one real number > 0 (seconds per step)",
                        where=here,
                        expected="a finite real number > 0",
                        found=repr(value) if a is None else f"{a.dtype} {a.reshape(-1)[:3].tolist()}",
                    )


def validate(graph: Graph) -> None:
    """Raise :class:`NircError` for the first thing that makes ``graph`` meaningless."""
    flat = _Flat(graph)
    for gi, g in enumerate(flat.graphs):
        if g.metadata:
            _check_metadata(g.metadata, f"{flat.where(gi)}/metadata")
    for path, node in zip(flat.paths, flat.nodes):
        _check_structure(path, node)
        _real_params(path, node)
        _check_values(path, node)
        if node.metadata:
            _check_metadata(node.metadata, f"{path}/metadata")
    if not graph.inputs():
        raise NircError(
            "the graph has no Input node",
            where="/node",
            expected="at least one Input node feeding the graph",
            found=f"node types {sorted({n.type for n in graph.nodes.values()})}",
            hint="add an Input node with the per-sample input shape",
        )
    flat.connect(check_duplicates=True)
    for i in flat.index[0].values():  # the graph's own Outputs
        if flat.nodes[i].type == "Output" and not flat.pred[i]:
            raise NircError(
                f"Output `{flat.paths[i]}` receives nothing",
                where=flat.paths[i],
                expected="an edge into every Output of the graph",
                found="no edge reaches it",
                hint="connect it, or remove it",
            )
    _check_driven_cycles(flat)


def _check_driven_cycles(flat: _Flat) -> None:
    """A cycle that no Input reaches is legal NIR (a cycle with a bias or a leak has
    dynamics of its own) but often a mistake: warn, naming one such cycle."""
    n = len(flat.nodes)
    reached = [False] * n
    stack = [i for i, node in enumerate(flat.nodes) if node.type == "Input"]
    for i in stack:
        reached[i] = True
    while stack:
        i = stack.pop()
        for j in flat.succ[i]:
            if not reached[j]:
                reached[j] = True
                stack.append(j)
    rest = {i for i in flat.leaves() if not reached[i]}
    if not rest:
        return
    # peel nodes without a predecessor or successor inside `rest`: what stays is on or
    # between cycles
    indeg = {i: sum(1 for p in flat.pred[i] if p in rest) for i in rest}
    outdeg = {i: sum(1 for s in flat.succ[i] if s in rest) for i in rest}
    queue = [i for i in rest if indeg[i] == 0 or outdeg[i] == 0]
    removed: set[int] = set()
    while queue:
        i = queue.pop()
        if i in removed:
            continue
        removed.add(i)
        for s in flat.succ[i]:
            if s in rest and s not in removed:
                indeg[s] -= 1
                if indeg[s] == 0:
                    queue.append(s)
        for p in flat.pred[i]:
            if p in rest and p not in removed:
                outdeg[p] -= 1
                if outdeg[p] == 0:
                    queue.append(p)
    left = [i for i in sorted(rest) if i not in removed]
    if not left:
        return
    # walk successors inside the remainder until a node repeats: that is a cycle
    order: dict[int, int] = {}
    walk = [left[0]]
    i = left[0]
    while i not in order:
        order[i] = len(order)
        i = next(s for s in flat.succ[i] if s in rest and s not in removed)
        walk.append(i)
    cycle = walk[order[i] :]
    names = " -> ".join(f"`{flat.paths[k]}`" for k in cycle)
    warn(
        f"a cycle that no Input reaches ({names}): it runs on its own dynamics (biases, "
        "leaks, initial states) from zero",
        where=flat.paths[cycle[0]],
    )


# ----------------------------------------------------------------------------
# shape inference


def infer_shapes(graph: Graph) -> dict[str, Shape]:
    """The per-sample output shape of every node, keyed by dotted path.

    Propagates from the Inputs along edges (fan-in must agree), iterating to a
    fixpoint for recurrent cycles; a nested graph node gets the shape of its only
    Output. Repairs in place, with a warning (an error under ``--strict``): an
    Input whose declared shape contradicts its only consumer, an Output whose
    declared shape contradicts what reaches it. Call :func:`validate` first."""
    flat = _Flat(graph)
    for path, node in zip(flat.paths, flat.nodes):
        _check_structure(path, node)
    flat.connect(check_duplicates=False)
    leaves = flat.leaves()
    _repair_inputs(flat, leaves)
    order = _dfs_order(flat, leaves)
    pos = {i: k for k, i in enumerate(order)}
    # sources computed earlier in a pass first: they are final within it
    sources = {i: sorted(flat.pred[i], key=lambda s: pos[s] >= pos[i]) for i in leaves}
    shapes = _propagate(flat, leaves, order, sources)
    if _batch_axes_conflict(flat, order, shapes):
        shapes = _repair_batch_axes(flat, leaves, order, sources, shapes)
    for i in order:
        _check_inputs(flat, i, shapes)
    result: dict[str, Shape] = {}
    for i, node in enumerate(flat.nodes):
        if node.type == "NIRGraph":
            gi = flat.sub.get(i)
            outs = (
                [nid for nid in flat.index[gi].values() if flat.nodes[nid].type == "Output"]
                if gi is not None
                else []
            )
            if len(outs) == 1 and shapes.get(outs[0]) is not None:
                result[flat.paths[i]] = shapes[outs[0]]  # type: ignore[assignment]
            continue
        shape = shapes[i]
        if shape is None:
            raise NircError(
                f"cannot infer the shape of {node.type} `{flat.paths[i]}`",
                where=flat.paths[i],
                expected="an input shape reaching it along the edges",
                found="no edge brings a known shape"
                if not flat.pred[i]
                else "its sources have no known shape",
                hint="connect it to an Input"
                + (", or give it `input_shape`" if node.type.startswith("Conv") else "")
                + (", or give it `input_type`" if node.type == "Flatten" else ""),
            )
        result[flat.paths[i]] = shape
    return result


def _propagate(
    flat: _Flat, leaves: list[int], order: list[int], sources: dict[int, list[int]]
) -> dict[int, Shape | None]:
    """Output shapes from the Inputs along the edges, to a fixpoint."""
    shapes: dict[int, Shape | None] = dict.fromkeys(leaves)
    changed: list[int] = []
    for _ in range(_MAX_PASSES):
        changed = []
        for i in order:
            in_shape = next((shapes[s] for s in sources[i] if shapes[s] is not None), None)
            out = _node_output(flat, i, in_shape)
            if out != shapes[i]:
                shapes[i] = out
                changed.append(i)
        if not changed:
            return shapes
    raise NircError(
        "shapes do not settle on a recurrent cycle",
        where=flat.paths[changed[0]],
        expected="a shape that stays the same around the cycle",
        found=f"still changing after {_MAX_PASSES} rounds",
    )


def _batch_axes_conflict(flat: _Flat, order: list[int], shapes: dict[int, Shape | None]) -> int:
    """How many leading axes of size 1 too many reach a neuron (0: none do).

    Exporters that trace a batched sample (Rockpool, Norse) declare Inputs like
    [1, 4] for neurons of shape [4]; dense layers carry the extra axis through."""
    for i in order:
        node = flat.nodes[i]
        if node.type not in NEURON_TYPES:
            continue
        own = neuron_shape(node)
        got = next((shapes[s] for s in flat.pred[i] if shapes[s] is not None), None)
        if own is None or got is None or len(got) <= len(own):
            continue
        k = len(got) - len(own)
        if tuple(got[k:]) == own and all(d == 1 for d in got[:k]):
            return k
    return 0


def _repair_batch_axes(flat, leaves, order, sources, shapes) -> dict[int, Shape | None]:
    """Drop leading axes of size 1 from the Inputs when that, and only that, makes
    the neurons receive their own shape (a batch axis kept by the exporter)."""
    k = _batch_axes_conflict(flat, order, shapes)
    inputs = [i for i in leaves if flat.nodes[i].type == "Input"]
    old = {i: flat.nodes[i].params["shape"] for i in inputs}
    cut = [i for i in inputs if len(_declared(flat.nodes[i])) > k
           and all(d == 1 for d in _declared(flat.nodes[i])[:k])]  # fmt: skip
    if not cut:
        return shapes
    for i in cut:
        flat.nodes[i].params["shape"] = np.asarray(old[i]).reshape(-1)[k:].copy()
    try:
        trial = _propagate(flat, leaves, order, sources)
    except NircError:
        trial = None
    if trial is None or _batch_axes_conflict(flat, order, trial):
        for i, value in old.items():
            flat.nodes[i].params["shape"] = value
        return shapes
    for i in cut:
        flat.nodes[i].params["shape"] = old[i]  # warn first: --strict refuses the repair
        before = _declared(flat.nodes[i])
        warn(
            f"Input `{flat.paths[i]}` declares shape {fmt(before)}: the leading "
            f"{'axis' if k == 1 else f'{k} axes'} of size 1 would reach the neurons as a "
            f"batch axis (the exporter traced a batched sample): using {fmt(before[k:])}",
            where=flat.paths[i],
            kind="repair",
        )
        flat.nodes[i].params["shape"] = np.asarray(old[i]).reshape(-1)[k:].copy()
    return trial


def _declared(node: Node) -> Shape:
    return tuple(int(v) for v in np.asarray(node.params["shape"]).reshape(-1))


def _node_output(flat: _Flat, i: int, in_shape: Shape | None) -> Shape | None:
    node = flat.nodes[i]
    if node.type == "Input":
        out: Shape | None = _declared(node)
    elif node.type == "Output":
        out = in_shape if in_shape is not None else _declared(node)
    else:
        out = output_shape(node, in_shape, flat.paths[i])
    if out is not None and math.prod(out) > MAX_ELEMENTS:
        raise NircError(
            f"{node.type} `{flat.paths[i]}` has a shape too large to compute",
            where=flat.paths[i],
            expected=f"at most {MAX_ELEMENTS:,} elements per sample",
            found=f"shape {fmt(out)} ({math.prod(out):,} elements)",
        )
    return out


def _accepts(node: Node, shape: Shape, needed: Shape) -> bool:
    """Whether ``node`` can take ``shape`` as its input (``needed``: what its params imply)."""
    if node.type in ("Affine", "Linear"):
        return len(shape) >= 1 and shape[-1] == needed[-1]
    return shape == needed


def _repair_inputs(flat: _Flat, leaves: list[int]) -> None:
    """An Input declaring a placeholder shape of one element that its only consumer
    contradicts (paper Braille: Input [1] feeding a 12-input Affine) takes the
    consumer's shape. Any other disagreement is a contradiction, reported by
    propagation; a neuron with 0-d parameters takes whatever shape reaches it."""
    for i in leaves:
        node = flat.nodes[i]
        if node.type != "Input":
            continue
        consumers = set(flat.succ[i])
        if len(consumers) != 1:
            continue
        (c,) = consumers
        consumer = flat.nodes[c]
        if consumer.type in ("Input", "Output"):
            continue
        needed = implied_input_shape(consumer)
        declared = _declared(node)
        if needed is None or _accepts(consumer, declared, needed):
            continue
        if consumer.type in NEURON_TYPES and needed == ():
            continue  # 0-d parameters: one value for every neuron of the declared shape
        if math.prod(declared) != 1:
            continue  # not a placeholder: a contradiction, propagation reports it
        old = np.asarray(node.params["shape"])
        dtype = old.dtype if old.dtype.kind in "iu" else np.int64
        node.params["shape"] = np.asarray(needed, dtype=dtype)
        warn(
            f"Input `{flat.paths[i]}` declares shape {fmt(declared)} but its only consumer "
            f"`{flat.paths[c]}` ({consumer.type}) takes {fmt(needed)}: using {fmt(needed)}",
            where=flat.paths[i],
            kind="repair",
        )


def _dfs_order(flat: _Flat, leaves: list[int]) -> list[int]:
    """Reverse postorder of a DFS from the Inputs following edges in file order
    (topological except for feedback edges), then from the nodes they miss."""
    visited: set[int] = set()
    post: list[int] = []
    roots = [i for i in leaves if flat.nodes[i].type == "Input"] + leaves
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack: list[tuple[int, int]] = [(root, 0)]
        while stack:
            i, k = stack[-1]
            succ = flat.succ[i]
            if k < len(succ):
                stack[-1] = (i, k + 1)
                j = succ[k]
                if j not in visited:
                    visited.add(j)
                    stack.append((j, 0))
            else:
                stack.pop()
                post.append(i)
    post.reverse()
    return post


def _broadcast_scalar_params(node: Node, path: str, shape: Shape) -> None:
    """A neuron whose parameters are all 0-d (Norse's default parameters) takes
    the shape that reaches it: one value for every neuron, unambiguously."""
    fields = [k for k in node.params if k in NEURON_ARRAY_FIELDS]
    if any(np.asarray(node.params[k]).ndim for k in fields):
        return  # mixed: not this repair (the shape error names it)
    warn(
        f"{node.type} `{path}` has scalar (0-d) parameters; NIR wants one per neuron: "
        f"using each value for all {fmt(shape)} neurons",
        where=path,
        kind="repair",
    )
    for k in fields:
        v = np.asarray(node.params[k])
        node.params[k] = np.full(shape, v, dtype=v.dtype)


def _check_inputs(flat: _Flat, i: int, shapes: dict[int, Shape | None]) -> None:
    """After the fixpoint: fan-in agrees, every node accepts what reaches it, and
    Outputs that contradict their source are repaired."""
    node = flat.nodes[i]
    path = flat.paths[i]
    known = [(s, shapes[s]) for s in flat.pred[i] if shapes[s] is not None]
    in_shape = known[0][1] if known else None
    for s, shape in known[1:]:
        if shape != in_shape:
            raise NircError(
                f"the inputs of `{path}` disagree in shape (fan-in is summed)",
                where=path,
                expected="every source of a node giving the same shape",
                found=f"`{flat.paths[known[0][0]]}` gives {fmt(in_shape)}, "
                f"`{flat.paths[s]}` gives {fmt(shape)}",
            )
    if in_shape is None:
        return
    t = node.type
    if t == "Input":
        declared = _declared(node)
        if in_shape != declared:
            raise NircError(
                f"Input `{path}` is fed a shape it does not declare",
                where=path,
                expected=f"{fmt(declared)} (its declared shape)",
                found=f"{fmt(in_shape)} from `{flat.paths[known[0][0]]}`",
            )
        return
    if t == "Output":
        declared = _declared(node)
        if in_shape != declared:
            old = np.asarray(node.params["shape"])
            dtype = old.dtype if old.dtype.kind in "iu" else np.int64
            node.params["shape"] = np.asarray(in_shape, dtype=dtype)
            warn(
                f"Output `{path}` declares shape {fmt(declared)} but `{flat.paths[known[0][0]]}` "
                f"produces {fmt(in_shape)}: using {fmt(in_shape)}",
                where=path,
                kind="repair",
            )
        return
    if t in ELEMENTWISE_TYPES:
        own = neuron_shape(node)
        if own == () and in_shape != () and t in NEURON_TYPES:
            _broadcast_scalar_params(node, path, in_shape)
            own = in_shape
        if own is not None and own != in_shape:
            raise NircError(
                f"{t} `{path}` receives a shape its parameters do not have",
                where=path,
                expected=f"{fmt(own)} (the shape of its parameters)",
                found=f"{fmt(in_shape)} from `{flat.paths[known[0][0]]}`",
                hint="parameters are per neuron and are not broadcast",
            )
    elif t in ("Conv1d", "Conv2d") and "input_shape" in node.params:
        declared_sp = tuple(int(v) for v in node.params["input_shape"].reshape(-1))
        if tuple(in_shape[1:]) != declared_sp:
            raise NircError(
                f"{t} `{path}` declares an input_shape its input does not have",
                where=f"{path}.input_shape",
                expected=f"spatial size {fmt(tuple(in_shape[1:]))} (input is {fmt(in_shape)})",
                found=fmt(declared_sp),
            )
    elif t == "Flatten" and "input_type" in node.params:
        declared_in = tuple(int(v) for v in node.params["input_type"].reshape(-1))
        if declared_in != in_shape:
            raise NircError(
                f"Flatten `{path}` declares an input_type its input does not have",
                where=f"{path}.input_type",
                expected=f"{fmt(in_shape)} (what reaches it)",
                found=fmt(declared_in),
            )
    out = output_shape(node, in_shape, path)
    if out != shapes[i]:
        raise NircError(
            "shapes do not settle on a recurrent cycle",
            where=path,
            expected=f"output {fmt(shapes[i])}",
            found=f"{fmt(out)} for input {fmt(in_shape)}",
        )
