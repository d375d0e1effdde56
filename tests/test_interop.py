"""nirc.interop and the conformance of nirc's files with the `nir` package (1.0.8)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_files

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node, graphs_equal
from nirc.interop import from_nir, graph_from_nir, graph_to_nir, to_nir
from nirc.nirfile import read, write

nir = pytest.importorskip("nir")

# files nir 1.0.8 cannot read at all, and why
_NIR_CANNOT = {
    "paper_braille_bias_zero_subgraph_broken.nir": "inner edges name `lif`, the node is `lif1`",
    "paper_braille_nobias_subtract_subgraph_broken.nir": "inner edges name `lif`, the node is `lif1`",
}


def _equal(a: Graph, b: Graph) -> None:
    explain: list[str] = []
    assert graphs_equal(a, b, explain=explain), explain


def _every_type() -> Graph:
    """One node of each of the 19 types (shapes need not chain: nir's type check is off)."""
    f8 = np.float64
    n4 = np.full(4, 0.5)
    g = Graph(metadata={"dt": np.asarray(1e-4), "source": "test", "deep": {"k": np.arange(3)}})

    def add(name: str, t: str, **params) -> None:
        g.nodes[name] = Node(name, t, params)

    add("input", "Input", shape=np.array([4]))
    add("affine", "Affine", weight=np.ones((4, 4), np.float32), bias=np.zeros(4, np.float32))
    add("linear", "Linear", weight=np.eye(4))
    add("scale", "Scale", scale=n4)
    add(
        "conv1",
        "Conv1d",
        weight=np.ones((2, 1, 3)),
        stride=np.asarray(1),
        padding=np.asarray(1),
        dilation=np.asarray(1),
        groups=np.asarray(1),
        bias=np.zeros(2),
        input_shape=np.asarray(8),
    )
    add(
        "conv2",
        "Conv2d",
        weight=np.ones((2, 1, 3, 1)),
        stride=np.array([1, 1]),
        padding="same",
        dilation=np.array([1, 1]),
        groups=np.asarray(1),
        bias=np.zeros(2),
        input_shape=np.array([5, 5]),
    )
    add(
        "sum",
        "SumPool2d",
        kernel_size=np.array([2, 2]),
        stride=np.array([2, 2]),
        padding=np.array([0, 0]),
    )
    add(
        "avg",
        "AvgPool2d",
        kernel_size=np.array([2, 2]),
        stride=np.array([1, 1]),
        padding=np.array([1, 1]),
    )
    add(
        "flat",
        "Flatten",
        start_dim=np.asarray(0),
        end_dim=np.asarray(-1),
        input_type=np.array([2, 2]),
    )
    add("delay", "Delay", delay=np.full(4, 1e-3))
    add("thr", "Threshold", threshold=n4)
    add("i", "I", r=n4)
    add("if", "IF", r=n4, v_threshold=np.ones(4), v_reset=np.zeros(4))
    add("li", "LI", tau=n4, r=n4, v_leak=np.zeros(4))
    add("lif", "LIF", tau=n4, r=n4, v_leak=np.zeros(4), v_threshold=np.ones(4), v_reset=np.zeros(4))
    add("cli", "CubaLI", tau_syn=n4, tau_mem=n4, r=n4, v_leak=np.zeros(4), w_in=np.ones(4, f8))
    add(
        "clif",
        "CubaLIF",
        tau_syn=n4,
        tau_mem=n4,
        r=n4,
        v_leak=np.zeros(4),
        v_threshold=n4,
        v_reset=np.zeros(4),
        w_in=np.full(4, 2.0),
    )
    inner = Graph(metadata={"note": "inner"})
    inner.nodes["input"] = Node("input", "Input", {"shape": np.array([4])})
    inner.nodes["lif"] = Node(
        "lif", "LI", {"tau": n4, "r": n4, "v_leak": np.zeros(4)}, metadata={"unit": "mV"}
    )
    inner.nodes["output"] = Node("output", "Output", {"shape": np.array([4])})
    inner.edges = [("input", "lif"), ("lif", "output")]
    g.nodes["sub"] = Node("sub", "NIRGraph", graph=inner)
    add("output", "Output", shape=np.array([4]))
    g.nodes["lif"].metadata = {"origin": "snntorch", "beta": np.asarray(0.9)}
    g.edges = [("input", "sub"), ("sub", "lif"), ("lif", "lif"), ("lif", "output")]
    return g


def _name_order(graph: Graph) -> Graph:
    """Nodes in HDF5 name order (how nir.write's files list them), at every level."""
    stack = [graph]
    while stack:
        g = stack.pop()
        g.nodes = {k: g.nodes[k] for k in sorted(g.nodes, key=lambda k: k.encode())}
        stack += [n.graph for n in g.nodes.values() if n.graph is not None]
    return graph


def test_every_type_through_nir_write(tmp_path: Path) -> None:
    graph = _every_type()
    nir.write(tmp_path / "via_nir.nir", graph_to_nir(graph))
    _equal(_name_order(graph), read(tmp_path / "via_nir.nir"))


def test_every_type_through_nir_read(tmp_path: Path) -> None:
    graph = _every_type()
    write(tmp_path / "via_nirc.nir", graph)
    _equal(graph, graph_from_nir(nir.read(tmp_path / "via_nirc.nir", type_check=False)))


@pytest.mark.parametrize("path", corpus_files("nir-1.0.8") + corpus_files("public"))
def test_nir_and_nirc_read_the_same_graph(path: Path) -> None:
    if path.name in _NIR_CANNOT:
        with pytest.raises(ValueError):
            nir.read(path, type_check=False)
        pytest.skip(f"nir 1.0.8 cannot read it: {_NIR_CANNOT[path.name]}")
    _equal(read(path), graph_from_nir(nir.read(path, type_check=False)))


@pytest.mark.parametrize("path", corpus_files("nir-1.0.8") + corpus_files("public"))
def test_files_nirc_writes_read_back_in_nir(path: Path, tmp_path: Path) -> None:
    if path.name in _NIR_CANNOT:
        pytest.skip(f"nir 1.0.8 cannot read it: {_NIR_CANNOT[path.name]}")
    graph = read(path)
    write(tmp_path / "out.nir", graph)
    back = nir.read(tmp_path / "out.nir", type_check=False)
    _equal(graph, graph_from_nir(back))


def test_graph_from_python_built_nir() -> None:
    """Python ints and floats become 0-d arrays; nir's own defaults are kept."""
    ng = nir.NIRGraph.from_list(
        nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0),
        nir.CubaLI(tau_syn=np.ones(6), tau_mem=np.ones(6), r=np.ones(6), v_leak=np.zeros(6)),
        type_check=False,
    )
    ng.metadata = {"dt": 1e-3, "name": b"bytes"}
    g = graph_from_nir(ng)
    flat = g.nodes["flatten"].params
    assert flat["start_dim"].shape == () and flat["start_dim"].dtype.kind == "i"
    assert flat["end_dim"].tolist() == -1
    assert g.nodes["cubali"].params["w_in"].tolist() == [1.0] * 6  # nir's default
    assert g.metadata["dt"].shape == () and g.metadata["dt"].dtype == np.float64
    assert g.metadata["name"] == "bytes"
    _equal(g, graph_from_nir(graph_to_nir(g)))


def test_unknown_nir_node_is_refused() -> None:
    from nir.ir.graph import Identity  # a nir node that NIR files cannot hold

    ng = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2])),
            "id": Identity(np.array([2])),
            "output": nir.Output(np.array([2])),
        },
        edges=[("input", "id"), ("id", "output")],
        type_check=False,
    )
    with pytest.raises(NircError) as err:
        graph_from_nir(ng)
    assert err.value.where == "id" and "Identity" in err.value.message


def test_nir_refusing_a_node_is_a_nirc_error() -> None:
    g = _every_type()
    g.nodes["li"].params["r"] = np.ones(3)  # nir's LI asserts equal shapes
    with pytest.raises(NircError) as err:
        graph_to_nir(g)
    assert err.value.where == "li" and "AssertionError" in err.value.message


def test_missing_nir_package_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(NircError) as err:
        graph_to_nir(_every_type())
    assert "nirc[nir]" in err.value.render()


def test_to_nir_accepts_a_graph() -> None:
    ng = to_nir(_every_type())
    assert isinstance(ng, nir.NIRGraph) and isinstance(ng.nodes["sub"], nir.NIRGraph)
    assert ng.nodes["sub"].metadata == {"note": "inner"}


@pytest.mark.parametrize("path", corpus_files("nir-1.0.8"))
def test_from_nir_and_to_nir_through_the_dialect(path: Path) -> None:
    pytest.importorskip("nirc.convert")
    ng = nir.read(path, type_check=False)
    module = from_nir(ng)
    assert type(module).__name__ == "ModuleOp"
    _equal(graph_from_nir(ng), graph_from_nir(to_nir(module)))
