"""Graph <-> `nir` dialect: import then export is the identity (names, edges in
order, arrays bit for bit with dtypes, metadata), over the corpus and over
hand-built graphs that exercise edge order, edge spelling, nested graphs and
unusual dtypes; the passes keep graphs exportable and exact."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import corpus_files
from xdsl.parser import Parser

from nirc.context import make_context
from nirc.convert import edge_names, export_module, import_graph
from nirc.diagnostics import NircError, collecting
from nirc.dialects.nir import GraphOp, InputOp, NodeOp, shape_of
from nirc.graph import Graph, Node, graphs_equal


def _roundtrip_text(module, generic: bool = False):
    import io

    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf, print_generic_format=generic).print_op(module)
    parsed = Parser(make_context(), buf.getvalue()).parse_module()
    parsed.verify()
    return parsed


def _assert_same(a: Graph, b: Graph) -> None:
    why: list[str] = []
    assert graphs_equal(a, b, explain=why), why


def _load_valid(path):
    from nirc.nirfile import read
    from nirc.validate import infer_shapes, validate

    with collecting():
        try:
            graph = read(path)
            validate(graph)
            shapes = infer_shapes(graph)  # repairs in place, so compare after this
        except NircError as e:
            pytest.skip(f"{path.name} does not validate: {e.message}")
    return graph, shapes


# --------------------------------------------------------------------------------------
# corpus


@pytest.mark.parametrize("path", corpus_files("nir-1.0.8") + corpus_files("public"))
def test_corpus_roundtrip(path):
    graph, shapes = _load_valid(path)
    module = import_graph(graph, shapes)
    module.verify()
    _assert_same(graph, export_module(module))
    # through text, custom and generic syntax
    _assert_same(graph, export_module(_roundtrip_text(module)))
    _assert_same(graph, export_module(_roundtrip_text(module, generic=True)))
    # every value got a ranked type
    for op in module.walk():
        for res in op.results:
            assert shape_of(res.type) is not None, op


@pytest.mark.parametrize("path", corpus_files("public", "*subgraph_broken.nir"))
def test_broken_subgraph_names_the_missing_node(path):
    from nirc.nirfile import read

    with pytest.raises(NircError) as e:
        import_graph(read(path), {})
    assert "`lif`" in e.value.message and "lif1" in (e.value.hint or "")


def test_paper_cnn_text_round_trip(corpus):
    """Printing then parsing the CNN's IR gives the same IR (timings: benchmarks/io.py)."""
    from nirc.nirfile import read
    from nirc.validate import infer_shapes

    graph = read(corpus / "public" / "paper_cnn_sinabs.nir")
    module = import_graph(graph, infer_shapes(graph))
    text = str(module)
    reparsed = Parser(make_context(), text).parse_module()
    assert str(reparsed) == text
    _assert_same(graph, export_module(reparsed))


# --------------------------------------------------------------------------------------
# hand-built graphs


def _io(name: str, kind: str, shape) -> Node:
    return Node(name, kind, {"shape": np.asarray(shape, np.int64)})


def _lif(name: str, n: int, dtype=np.float32) -> Node:
    ones = np.ones(n, dtype)
    return Node(
        name,
        "LIF",
        {"tau": ones * 0.01, "r": ones, "v_leak": ones * 0, "v_threshold": ones},
    )


def _linear(name: str, n_out: int, n_in: int, seed: int = 0) -> Node:
    w = np.random.default_rng(seed).standard_normal((n_out, n_in)).astype(np.float32)
    return Node(name, "Linear", {"weight": w})


def recurrent_graph(edges=None) -> Graph:
    g = Graph()
    for node in (_io("input", "Input", [3]), _lif("lif", 3), _linear("w_rec", 3, 3),
                 _io("output", "Output", [3])):  # fmt: skip
        g.nodes[node.name] = node
    g.edges = edges or [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")]
    return g


def test_edge_order_identity_is_not_stored():
    g = recurrent_graph([("input", "lif"), ("w_rec", "lif"), ("lif", "w_rec"), ("lif", "output")])
    module = import_graph(g, {})
    top = next(iter(module.ops))
    assert isinstance(top, GraphOp) and top.edge_order is None
    _assert_same(g, export_module(module))


@pytest.mark.parametrize("seed", range(6))
def test_edge_order_any_permutation_roundtrips(seed):
    g = recurrent_graph()
    rng = np.random.default_rng(seed)
    g.edges = [g.edges[i] for i in rng.permutation(len(g.edges))]
    module = import_graph(g, {})
    _assert_same(g, export_module(module))
    _assert_same(g, export_module(_roundtrip_text(module)))
    top = next(iter(module.ops))
    canonical = edge_names(top)
    perm = top.edge_permutation()
    assert [canonical[i] for i in (perm or range(len(canonical)))] == g.edges


def test_fan_in_and_duplicate_edges():
    g = Graph()
    g.nodes["a"] = _io("a", "Input", [3])
    g.nodes["b"] = _io("b", "Input", [3])
    g.nodes["lif"] = _lif("lif", 3)
    g.nodes["out"] = _io("out", "Output", [3])
    g.edges = [("b", "lif"), ("a", "lif"), ("lif", "out"), ("a", "lif")]
    module = import_graph(g, {})
    lif = next(op for op in module.walk() if isinstance(op, NodeOp))
    assert [v.owner.properties["name"].data for v in lif.operands] == ["b", "a", "a"]
    _assert_same(g, export_module(module))


def nested_graph(n_outputs: int = 1, spelled: str | None = None) -> Graph:
    sub = Graph()
    sub.nodes["in"] = _io("in", "Input", [3])
    sub.nodes["lif"] = _lif("lif", 3, np.float64)
    sub.nodes["rec"] = _linear("rec", 3, 3, seed=1)
    outs = [f"o{i}" for i in range(n_outputs)]
    for o in outs:
        sub.nodes[o] = _io(o, "Output", [3])
    sub.edges = [("in", "lif"), ("rec", "lif"), ("lif", "rec")] + [("lif", o) for o in outs]
    sub.metadata = {"inner": "graph metadata"}
    g = Graph()
    g.nodes["input"] = _io("input", "Input", [3])
    g.nodes["sub"] = Node("sub", "NIRGraph", {}, {"kind": "node metadata"}, sub)
    g.nodes["output"] = _io("output", "Output", [3])
    src = ["sub"] if n_outputs == 1 else [f"sub.{o}" for o in outs]
    g.edges = [("input", spelled or "sub")] + [(s, "output") for s in src]
    return g


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_nested_graph(n_outputs):
    g = nested_graph(n_outputs)
    module = import_graph(g, {})
    module.verify()
    sub = next(op for op in module.walk() if isinstance(op, GraphOp) and op.graph_name)
    assert len(sub.results) == n_outputs
    inner_in = sub.input_ops()[0]
    assert isinstance(inner_in.operands[0].owner, InputOp)  # the outer input
    _assert_same(g, export_module(module))
    _assert_same(g, export_module(_roundtrip_text(module)))
    _assert_same(g, export_module(_roundtrip_text(module, generic=True)))


def test_nested_graph_non_canonical_spelling_is_kept():
    g = nested_graph(1, spelled="sub.in")  # canonical would be "sub"
    module = import_graph(g, {})
    top = next(iter(module.ops))
    assert top.edge_spelling is not None
    _assert_same(g, export_module(module))
    _assert_same(g, export_module(_roundtrip_text(module)))


def test_nested_graph_fed_by_a_later_node():
    """A nested input may use an outer value defined after the nested graph."""
    g = nested_graph(1)
    g.nodes["late"] = Node("late", "Scale", {"scale": np.full(3, 2.0, np.float32)})
    g.nodes["output"] = g.nodes.pop("output")
    g.edges = [("input", "late"), ("late", "sub"), ("sub", "output")]
    module = import_graph(g, {})
    _assert_same(g, export_module(_roundtrip_text(module)))


def test_deeply_nested_graphs():
    depth = 40
    inner = recurrent_graph()
    for level in range(depth):
        outer = Graph()
        outer.nodes["input"] = _io("input", "Input", [3])
        outer.nodes[f"g{level}"] = Node(f"g{level}", "NIRGraph", {}, {}, inner)
        outer.nodes["output"] = _io("output", "Output", [3])
        outer.edges = [("input", f"g{level}"), (f"g{level}", "output")]
        inner = outer
    module = import_graph(inner, {})
    module.verify()
    _assert_same(inner, export_module(module))


def test_dtypes_ranks_and_metadata_bit_for_bit():
    g = recurrent_graph()
    lif = g.nodes["lif"]
    lif.params["tau"] = np.array([1e-3, 2e-3, 3e-3], np.float64)
    lif.params["v_leak"] = np.array([0.0, -0.0, 0.0], np.float32)  # mixed-sign zeros
    lif.params["r"] = np.array([123456792.0, 1.0, 1e-45], np.float32)  # xDSL misprints these
    g.nodes["w_rec"].params["weight"] = np.arange(9, dtype=np.float16).reshape(3, 3)
    nan = np.array([np.nan, np.inf, -np.inf], np.float32)
    nan.view(np.uint32)[0] = 0x7FC00123  # a NaN payload
    g.metadata = {
        "dt": np.float64(1e-4),
        "nan": nan,
        "flags": np.array([True, False, True]),
        "u8": np.array([0, 255], np.uint8),
        "u64": np.array([2**64 - 1], np.uint64),
        "i32": np.array(-7, np.int32),
        "empty": np.zeros((0, 2), np.float32),
        "nested": {"name": "x", "deeper": {"k": np.array([1.5], np.float64)}},
        "text": 'hello "quoted" \n newline',
    }
    lif.metadata = {"unit": "mV"}
    module = import_graph(g, {})
    _assert_same(g, export_module(module))
    _assert_same(g, export_module(_roundtrip_text(module)))
    _assert_same(g, export_module(_roundtrip_text(module, generic=True)))


def test_string_array_metadata_keeps_the_strings():
    g = recurrent_graph()
    g.metadata = {"labels": np.array(["a", "bc"], dtype=object)}
    out = export_module(import_graph(g, {})).metadata["labels"]
    assert list(out) == ["a", "bc"]


def test_big_endian_arrays_keep_their_values():
    g = recurrent_graph()
    w = g.nodes["w_rec"].params["weight"]
    g.nodes["w_rec"].params["weight"] = w.astype(">f4")
    back = export_module(import_graph(g, {})).nodes["w_rec"].params["weight"]
    assert back.dtype == np.float32 and np.array_equal(back, w)


def test_conv_padding_string_and_scalars():
    g = Graph()
    g.nodes["input"] = _io("input", "Input", [2, 5, 5])
    g.nodes["conv"] = Node(
        "conv",
        "Conv2d",
        {
            "weight": np.ones((4, 2, 3, 3), np.float32),
            "stride": np.array([1, 1]),
            "padding": "same",
            "dilation": np.array([1, 1]),
            "groups": np.array(1),
            "bias": np.zeros(4, np.float32),
        },
    )
    g.nodes["output"] = _io("output", "Output", [4, 5, 5])
    g.edges = [("input", "conv"), ("conv", "output")]
    module = import_graph(g)  # shapes inferred by nirc.validate
    module.verify()
    conv = next(op for op in module.walk() if isinstance(op, NodeOp))
    assert shape_of(conv.out.type) == (4, 5, 5)
    _assert_same(g, export_module(_roundtrip_text(module)))


def test_import_errors():
    g = recurrent_graph()
    g.nodes["lif"].params["tau_x"] = np.ones(3)
    with pytest.raises(NircError, match="unknown field `tau_x`"):
        import_graph(g, {})
    g = recurrent_graph()
    g.nodes["lif"].type = "LIFF"
    with pytest.raises(NircError, match="unknown node type"):
        import_graph(g, {})
    g = nested_graph(1)
    g.edges[0] = ("input", "sub.lif")  # into an inner node that is not its Input
    with pytest.raises(NircError, match="not its Input/Output"):
        import_graph(g, {})


def test_ten_million_parameters():
    n_in, n_out = 1000, 10_000
    g = Graph()
    g.nodes["input"] = _io("input", "Input", [n_in])
    g.nodes["fc"] = Node(
        "fc",
        "Affine",
        {
            "weight": np.random.default_rng(0).standard_normal((n_out, n_in), np.float32),
            "bias": np.zeros(n_out, np.float32),
        },
    )
    g.nodes["lif"] = _lif("lif", n_out)
    g.nodes["output"] = _io("output", "Output", [n_out])
    g.edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    shapes = {"input": (n_in,), "fc": (n_out,), "lif": (n_out,), "output": (n_out,)}
    t = time.perf_counter()
    module = import_graph(g, shapes)
    t_import = time.perf_counter() - t
    t = time.perf_counter()
    module.verify()
    t_verify = time.perf_counter() - t
    t = time.perf_counter()
    back = export_module(module)
    t_export = time.perf_counter() - t
    _assert_same(g, back)
    print(
        f"\n10M parameters: import {t_import * 1000:.1f} ms, verify {t_verify * 1000:.1f} ms, "
        f"export {t_export * 1000:.1f} ms"
    )


# --------------------------------------------------------------------------------------
# passes keep graphs exportable and exact


def _run(module, *names):
    from nirc.passes import get_pass

    ctx = make_context()
    for name in names:
        get_pass(name)().apply(ctx, module)
        module.verify()
    return module


def _simulate(graph: Graph, x: np.ndarray) -> np.ndarray:
    sim = pytest.importorskip("nirc.interpreter")
    out = sim.simulate(graph, {"input": x}, dt=1e-3)
    return out["output"]


def test_canonicalize_is_exact_on_a_recurrent_graph():
    """Identity nodes inside a recurrent loop and a zero-bias Affine: removing
    them keeps every output value (feedback edges are found by a DFS in edge
    order, which the rewrite preserves)."""
    g = Graph()
    g.nodes["input"] = _io("input", "Input", [3])
    g.nodes["fc"] = Node(
        "fc", "Affine", {"weight": _linear("x", 3, 3, 2).params["weight"] * 3,
                         "bias": np.zeros(3, np.float32)},
    )  # fmt: skip
    g.nodes["one"] = Node("one", "Scale", {"scale": np.ones(3, np.float32)})
    g.nodes["lif"] = _lif("lif", 3)
    g.nodes["w_rec"] = _linear("w_rec", 3, 3, 3)
    g.nodes["delay0"] = Node("delay0", "Delay", {"delay": np.zeros(3, np.float32)})
    g.nodes["output"] = _io("output", "Output", [3])
    g.edges = [("input", "fc"), ("fc", "one"), ("one", "lif"), ("lif", "w_rec"),
               ("w_rec", "delay0"), ("delay0", "lif"), ("lif", "output")]  # fmt: skip
    module = _run(import_graph(g), "canonicalize")
    after = export_module(module)
    assert set(after.nodes) == {"input", "fc", "lif", "w_rec", "output"}
    assert after.nodes["fc"].type == "Linear"
    x = (np.random.default_rng(0).random((200, 3)) < 0.3).astype(np.float32)
    assert np.array_equal(_simulate(g, x), _simulate(after, x))


def test_dce_then_export():
    g = recurrent_graph()
    g.nodes["dead"] = _linear("dead", 3, 3)
    g.nodes["output"] = g.nodes.pop("output")
    g.edges.insert(1, ("lif", "dead"))
    module = _run(import_graph(g), "dce")
    after = export_module(module)
    expected = recurrent_graph()
    _assert_same(expected, after)


def test_pass_registry_names_match():
    from nirc.passes import PASSES, get_pass

    for name, factory in PASSES.items():
        assert factory().name == name
    with pytest.raises(NircError, match="unknown pass"):
        get_pass("canonicalise")
