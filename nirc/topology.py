"""Graph topology: inlining nested graphs, feedback edges, evaluation order.

Used by the reference interpreter (to build its schedule) and by the
`inline-subgraphs` pass. Every algorithm here is iterative (no recursion):
graphs may be nested or chained thousands deep.

Flattening
    :func:`flatten` inlines every nested ``NIRGraph``: an inner node ``inner``
    of subgraph ``sub`` becomes ``sub.inner`` (``a.b.c`` when nested twice);
    a graph's own nodes come first, then those of the graphs nested in it.
    The inner Input and Output nodes are *removed*: an edge into a subgraph is
    rewired to every node its inner Input feeds, an edge out of it to every
    node feeding its inner Output (fan-in is kept as several edges, so sums
    are unchanged). Top-level Inputs and Outputs stay.

Edge order of the flat graph
    Feedback edges depend on the order in which a depth-first search follows
    each node's outgoing edges, so the flat edge list keeps, for every node,
    the file order of its own graph's edges; an edge ``n -> port`` is replaced
    in place by the edges to what the port leads to. A graph's own edges come
    before the edges of the graphs nested in it (nodes that are named from an
    enclosing graph with a dotted name, e.g. ``rnn.lif -> fc2``, are only rare
    sources at two levels at once).

Feedback edges (SEMANTICS.md, "Time")
    The back edges of a depth-first search started from each Input in file
    node order, following outgoing edges in file edge order. Nodes the Inputs
    do not reach are then searched from in file node order, so that every
    cycle has a feedback edge and the rest of the graph is acyclic. A nested
    graph's feedback edges are defined as those of its flat form, named with
    dotted names: :func:`feedback_edges` flattens first, so both agree by
    construction.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node, resolve_endpoint

Edge = tuple[str, str]


def is_nested(graph: Graph) -> bool:
    return any(n.type == "NIRGraph" for n in graph.nodes.values())


def flatten(graph: Graph) -> Graph:
    """A graph without nested ``NIRGraph`` nodes computing the same thing.

    Inner nodes get dotted names (``sub.inner``); inner Input/Output nodes are
    removed and their edges spliced through (see the module docstring). Node
    parameters and metadata are shared with ``graph``, not copied. A graph
    without nested graphs is returned as a shallow copy with the same nodes
    and edges. Raises :class:`NircError` for edges naming missing nodes, for
    dotted names that collide, and for a loop made only of Input/Output ports.
    """
    if not is_nested(graph):
        return Graph(dict(graph.nodes), list(graph.edges), dict(graph.metadata))

    nodes: dict[str, Node] = {}
    ports: set[str] = set()
    edges_by_level: list[list[Edge]] = []
    origin: dict[str, str] = {}  # flat name -> where it came from, for collision messages

    # breadth first, like nirc.validate: a graph's nodes, then its nested graphs'
    # queue entries: (graph, flat prefix, file path, is_top)
    queue: list[tuple[Graph, str, str, bool]] = [(graph, "", "/node", True)]
    head = 0
    node_order: list[tuple[str, Node]] = []
    while head < len(queue):
        g, prefix, where, top = queue[head]
        head += 1
        level: list[Edge] = []
        for name, node in g.nodes.items():
            flat = prefix + name
            if node.type == "NIRGraph":
                if node.graph is None:
                    raise NircError("nested graph has no content", where=f"{where}/nodes/{name}")
                queue.append((node.graph, flat + ".", f"{where}/nodes/{name}", False))
                continue
            if flat in origin:
                raise NircError(
                    f"flattening nested graphs gives two nodes the name `{flat}`",
                    where=f"{where}/nodes/{name}",
                    expected="unique dotted names (`sub.inner`) after inlining",
                    found=f"`{flat}` also names {origin[flat]}",
                    hint="rename one of the two nodes",
                )
            origin[flat] = f"{where}/nodes/{name}"
            node_order.append((flat, node))
            if not top and node.type in ("Input", "Output"):
                ports.add(flat)
        for src, dst in g.edges:
            s = prefix + ".".join(resolve_endpoint(g, src, "source", where))
            t = prefix + ".".join(resolve_endpoint(g, dst, "target", where))
            level.append((s, t))
        edges_by_level.append(level)

    for flat, node in node_order:
        if flat not in ports:
            nodes[flat] = Node(flat, node.type, node.params, node.metadata, None)

    succ: dict[str, list[str]] = {}
    for level in edges_by_level:
        for s, t in level:
            succ.setdefault(s, []).append(t)

    resolved: dict[str, list[str]] = {}

    def through(port: str) -> list[str]:
        """The non-port nodes a port leads to, in edge order (iterative DFS)."""
        if port in resolved:
            return resolved[port]
        stack: list[tuple[str, int]] = [(port, 0)]
        active = {port}
        acc: dict[str, list[str]] = {port: []}
        while stack:
            p, i = stack[-1]
            outs = succ.get(p, [])
            if i == len(outs):
                stack.pop()
                active.discard(p)
                resolved[p] = acc.pop(p)
                if stack:
                    acc[stack[-1][0]].extend(resolved[p])
                continue
            stack[-1] = (p, i + 1)
            t = outs[i]
            if t not in ports:
                acc[p].append(t)
            elif t in resolved:
                acc[p].extend(resolved[t])
            elif t in active:
                raise NircError(
                    "nested graph ports form a loop with no node in it",
                    where=origin[t],
                    found=f"a cycle through `{t}` made only of Input/Output nodes",
                )
            else:
                active.add(t)
                acc[t] = []
                stack.append((t, 0))
        return resolved[port]

    flat_edges: list[Edge] = []
    for level in edges_by_level:
        for s, t in level:
            if s in ports:
                continue  # spliced in where the edge into the port was
            if t in ports:
                flat_edges.extend((s, u) for u in through(t))
            else:
                flat_edges.append((s, t))
    return Graph(nodes, flat_edges, dict(graph.metadata))


def _check_flat(graph: Graph) -> Graph:
    if is_nested(graph):
        return flatten(graph)
    for s, t in graph.edges:
        for name, role in ((s, "source"), (t, "target")):
            if name not in graph.nodes:
                resolve_endpoint(graph, name, role)  # raises with a suggestion
    return graph


def feedback_edges(graph: Graph) -> set[Edge]:
    """The edges that carry the previous step's value (see the module docstring).

    A nested graph is flattened first; the result then uses dotted names."""
    graph = _check_flat(graph)
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, t in graph.edges:
        succ[s].append(t)
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph.nodes, WHITE)
    back: set[Edge] = set()
    roots = [n for n, v in graph.nodes.items() if v.type == "Input"]
    roots += [n for n, v in graph.nodes.items() if v.type != "Input"]
    for root in roots:
        if color[root] != WHITE:
            continue
        color[root] = GREY
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            u, i = stack[-1]
            outs = succ[u]
            if i == len(outs):
                color[u] = BLACK
                stack.pop()
                continue
            stack[-1] = (u, i + 1)
            v = outs[i]
            if color[v] == GREY:
                back.add((u, v))
            elif color[v] == WHITE:
                color[v] = GREY
                stack.append((v, 0))
    return back


def topological_order(graph: Graph, feedback: Iterable[Edge] | None = None) -> list[str]:
    """Node names in an evaluation order for one time step.

    Ignores ``feedback`` edges (default: :func:`feedback_edges`); among nodes
    ready at the same time the earliest in file order comes first, so the
    order is deterministic. Raises if the remaining edges still form a cycle.
    """
    graph = _check_flat(graph)
    fb = feedback_edges(graph) if feedback is None else set(feedback)
    index = {n: i for i, n in enumerate(graph.nodes)}
    indeg = dict.fromkeys(graph.nodes, 0)
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, t in graph.edges:
        if (s, t) in fb:
            continue
        succ[s].append(t)
        indeg[t] += 1
    ready = [index[n] for n, d in indeg.items() if d == 0]
    heapq.heapify(ready)
    names = list(graph.nodes)
    order: list[str] = []
    while ready:
        u = names[heapq.heappop(ready)]
        order.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                heapq.heappush(ready, index[v])
    if len(order) != len(names):
        stuck = [n for n in names if indeg[n] > 0]
        raise NircError(
            "the graph has a cycle without a feedback edge",
            expected="every cycle broken by one of the given feedback edges",
            found=f"nodes on or after a cycle: {stuck[:10]}",
        )
    return order


def strongly_connected_components(graph: Graph) -> list[list[str]]:
    """Strongly connected components of a flat graph (all edges), each listed
    in file node order; components in no particular order.

    Iterative Tarjan. Written here rather than taken from networkx, which
    would add a third of a second to every `nirc run` start-up."""
    graph = _check_flat(graph)
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, t in graph.edges:
        succ[s].append(t)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    counter = 0
    pos = {n: i for i, n in enumerate(graph.nodes)}
    for root in graph.nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            u, i = work[-1]
            outs = succ[u]
            if i < len(outs):
                work[-1] = (u, i + 1)
                v = outs[i]
                if v not in index:
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, 0))
                elif v in on_stack:
                    low[u] = min(low[u], index[v])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[u])
            if low[u] == index[u]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == u:
                        break
                comps.append(sorted(comp, key=pos.__getitem__))
    return comps
