"""nirc.topology: flattening nested graphs, feedback edges, evaluation order."""

from __future__ import annotations

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.topology import (
    feedback_edges,
    flatten,
    strongly_connected_components,
    topological_order,
)


def _port(name: str, kind: str, n: int = 2) -> Node:
    return Node(name, kind, {"shape": np.array([n])})


def _lin(name: str, n: int = 2) -> Node:
    return Node(name, "Linear", {"weight": np.eye(n, dtype=np.float32)})


def _graph(nodes: list[Node], edges: list[tuple[str, str]]) -> Graph:
    return Graph({n.name: n for n in nodes}, list(edges))


def test_feedback_self_loop_and_two_node_loop():
    g = _graph(
        [_port("in", "Input"), _lin("a"), _lin("b"), _lin("c"), _port("out", "Output")],
        [("in", "a"), ("a", "a"), ("a", "b"), ("b", "c"), ("c", "b"), ("c", "out")],
    )
    assert feedback_edges(g) == {("a", "a"), ("c", "b")}
    assert topological_order(g) == ["in", "a", "b", "c", "out"]


def test_feedback_depends_on_edge_order():
    # the DFS follows `a`'s edges in file order: which edge closes the loop changes
    nodes = [_port("in", "Input"), _lin("a"), _lin("b"), _port("out", "Output")]
    g1 = _graph(nodes, [("in", "a"), ("a", "b"), ("b", "a"), ("b", "out")])
    g2 = _graph(nodes, [("in", "b"), ("b", "a"), ("a", "b"), ("a", "out")])
    assert feedback_edges(g1) == {("b", "a")}
    assert feedback_edges(g2) == {("a", "b")}


def test_dfs_starts_from_inputs_in_file_order():
    # two Inputs entering a loop at different nodes: the first Input decides
    nodes = [_port("i1", "Input"), _port("i2", "Input"), _lin("a"), _lin("b"), _port("o", "Output")]
    edges = [("i1", "a"), ("i2", "b"), ("a", "b"), ("b", "a"), ("b", "o")]
    assert feedback_edges(_graph(nodes, edges)) == {("b", "a")}
    nodes2 = [nodes[1], nodes[0]] + nodes[2:]
    assert feedback_edges(_graph(nodes2, edges)) == {("a", "b")}


def test_unreached_cycle_still_gets_a_feedback_edge():
    g = _graph(
        [_port("in", "Input"), _lin("x"), _lin("p"), _lin("q"), _port("out", "Output")],
        [("in", "x"), ("x", "out"), ("p", "q"), ("q", "p"), ("q", "out")],
    )
    fb = feedback_edges(g)
    assert fb == {("q", "p")}
    order = topological_order(g, fb)
    assert order.index("p") < order.index("q") < order.index("out")


def test_deep_chain_is_iterative():
    n = 5000
    nodes = [_port("in", "Input")] + [_lin(f"l{i}") for i in range(n)] + [_port("out", "Output")]
    edges = [("in", "l0")] + [(f"l{i}", f"l{i + 1}") for i in range(n - 1)]
    edges += [(f"l{n - 1}", "out"), (f"l{n - 1}", "l0")]
    g = _graph(nodes, edges)
    assert feedback_edges(g) == {(f"l{n - 1}", "l0")}
    assert len(topological_order(g)) == n + 2
    comps = strongly_connected_components(g)
    assert sorted(len(c) for c in comps) == [1, 1, n]


def _nested() -> Graph:
    inner = _graph(
        [_port("input", "Input"), _lin("lif"), _lin("w_rec"), _port("output", "Output")],
        [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    return Graph(
        {
            "input": _port("input", "Input"),
            "fc1": _lin("fc1"),
            "rnn": Node("rnn", "NIRGraph", graph=inner),
            "fc2": _lin("fc2"),
            "output": _port("output", "Output"),
        },
        [("input", "fc1"), ("fc1", "rnn"), ("rnn", "fc2"), ("fc2", "output")],
    )


def test_flatten_removes_inner_ports_and_keeps_dotted_names():
    flat = flatten(_nested())
    assert list(flat.nodes) == ["input", "fc1", "fc2", "output", "rnn.lif", "rnn.w_rec"]
    # `rnn -> fc2` is spliced where `lif -> output` was: lif's edges keep their order
    assert flat.edges == [
        ("input", "fc1"),
        ("fc1", "rnn.lif"),
        ("fc2", "output"),
        ("rnn.lif", "rnn.w_rec"),
        ("rnn.w_rec", "rnn.lif"),
        ("rnn.lif", "fc2"),
    ]
    assert not any(n.graph for n in flat.nodes.values())


def test_feedback_nested_equals_flat():
    g = _nested()
    assert feedback_edges(g) == feedback_edges(flatten(g)) == {("rnn.w_rec", "rnn.lif")}


def test_flatten_dotted_edge_and_fan_through_ports():
    inner = _graph(
        [_port("input", "Input"), _lin("a"), _lin("b"), _port("output", "Output")],
        [("input", "a"), ("input", "b"), ("a", "output"), ("b", "output")],
    )
    g = Graph(
        {
            "in": _port("in", "Input"),
            "sub": Node("sub", "NIRGraph", graph=inner),
            "x": _lin("x"),
            "out": _port("out", "Output"),
        },
        [("in", "sub"), ("sub", "x"), ("sub.a", "out"), ("x", "out")],
    )
    flat = flatten(g)
    assert flat.edges == [
        ("in", "sub.a"),
        ("in", "sub.b"),
        ("sub.a", "out"),
        ("x", "out"),
        ("sub.a", "x"),
        ("sub.b", "x"),
    ]


def test_flatten_reports_missing_inner_node():
    inner = _graph([_port("input", "Input"), _lin("lif1"), _port("output", "Output")],
                   [("input", "lif"), ("lif1", "output")])  # fmt: skip
    g = Graph(
        {
            "in": _port("in", "Input"),
            "s": Node("s", "NIRGraph", graph=inner),
            "o": _port("o", "Output"),
        },
        [("in", "s"), ("s", "o")],
    )
    with pytest.raises(NircError) as e:
        flatten(g)
    assert "lif" in str(e.value) and "lif1" in str(e.value)


def test_flatten_name_collision():
    inner = _graph([_port("input", "Input"), _lin("b"), _port("output", "Output")],
                   [("input", "b"), ("b", "output")])  # fmt: skip
    g = Graph(
        {
            "in": _port("in", "Input"),
            "a": Node("a", "NIRGraph", graph=inner),
            "a.b": _lin("a.b"),
            "o": _port("o", "Output"),
        },
        [("in", "a"), ("a", "a.b"), ("a.b", "o")],
    )
    with pytest.raises(NircError, match="two nodes the name `a.b`"):
        flatten(g)


def test_flat_graph_is_a_copy():
    g = _graph([_port("in", "Input"), _port("out", "Output")], [("in", "out")])
    flat = flatten(g)
    assert flat is not g and flat.edges == g.edges and list(flat.nodes) == list(g.nodes)
    flat.edges.append(("out", "in"))
    assert g.edges == [("in", "out")]


def test_corpus_feedback(corpus):
    from nirc.nirfile import read

    braille = read(corpus / "public" / "paper_braille_bias_zero.nir")
    assert feedback_edges(braille) == {("lif1.w_rec", "lif1.lif")}
    nested = read(corpus / "nir-1.0.8" / "nested_recurrent.nir")
    assert feedback_edges(nested) == {("rnn.w_rec", "rnn.lif")}
    fanin = read(corpus / "nir-1.0.8" / "fanin_flat_recurrent.nir")
    assert feedback_edges(fanin) == {("rec", "lif")} or feedback_edges(fanin) == {("lif", "rec")}
