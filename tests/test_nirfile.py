"""nirc.nirfile: conformance with nir 1.0.8's files, old files, round trips, layout."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import corpus_files

from nirc.diagnostics import NircError, StrictModeError, collecting
from nirc.graph import Graph, Node, graphs_equal
from nirc.nirfile import NIR_FORMAT_VERSION, read, write

# ----------------------------------------------------------------------------
# conformance: every nir-1.0.8 fixture reads to exactly its JSON dump


def _tree(graph: Graph) -> dict:
    """The graph in the shape of the fixtures' JSON dump (HDF5 layout)."""

    def node_dict(node: Node) -> dict:
        if node.type == "NIRGraph":
            assert node.graph is not None
            return graph_dict(node.graph)
        d: dict = dict(node.params)
        d["type"] = node.type
        if node.metadata:
            d["metadata"] = node.metadata
        return d

    def graph_dict(g: Graph) -> dict:
        d: dict = {
            "type": "NIRGraph",
            "edges": np.array(g.edges, dtype=object).reshape(-1, 2),
            "nodes": {name: node_dict(n) for name, n in g.nodes.items()},
        }
        if g.metadata:
            d["metadata"] = g.metadata
        return d

    return graph_dict(graph)


def _compare(ours, theirs: dict, path: str) -> None:
    if "dtype" in theirs and "value" in theirs and not isinstance(theirs["dtype"], dict):
        value = theirs["value"]
        if theirs["dtype"] == "object":  # strings: compared as str
            got = np.asarray(ours, dtype=object)
            assert list(got.shape) == theirs["shape"], path
            want = value if isinstance(value, list) else [value]
            assert [str(v) for v in got.reshape(-1)] == [str(v) for v in want], path
            return
        assert isinstance(ours, np.ndarray), f"{path}: {type(ours)}"
        assert str(ours.dtype) == theirs["dtype"], path
        assert list(ours.shape) == theirs["shape"], path
        want = np.asarray(value, dtype=ours.dtype).reshape(-1)
        assert np.array_equal(ours.reshape(-1), want, equal_nan=True), path
        assert ours.reshape(-1).tobytes() == want.tobytes(), path  # bit for bit
        return
    assert isinstance(ours, dict), f"{path}: expected a group, got {type(ours)}"
    assert set(ours) == set(theirs), f"{path}: {sorted(ours)} vs {sorted(theirs)}"
    for key in theirs:
        _compare(ours[key], theirs[key], f"{path}/{key}")


def _json_datasets(d: dict, path: str = ""):
    for key, value in d.items():
        if isinstance(value, dict) and "compression" in value and "value" in value:
            yield f"{path}/{key}", value
        elif isinstance(value, dict):
            yield from _json_datasets(value, f"{path}/{key}")


@pytest.mark.parametrize("path", corpus_files("nir-1.0.8"))
def test_reads_exactly_the_json_dump(path: Path) -> None:
    dump = json.loads(path.with_suffix(".json").read_text())
    graph = read(path)
    _compare(_tree(graph), dump["node"], "/node")
    # the dump's storage facts hold for the file we read, gzip included
    with h5py.File(path, "r") as f:
        for name, info in _json_datasets(dump):
            assert f[name].compression == info["compression"], name
    assert any(info["compression"] == "gzip" for _, info in _json_datasets(dump)) or (
        path.name == "lif_uncompressed.nir"
    )


def test_node_and_edge_order_follow_the_file(corpus: Path) -> None:
    graph = read(corpus / "public" / "paper_cnn_sinabs.nir")
    with h5py.File(corpus / "public" / "paper_cnn_sinabs.nir", "r") as f:
        assert list(graph.nodes) == list(f["node/nodes"])
        assert graph.edges == [(a.decode(), b.decode()) for a, b in f["node/edges"][()]]


# ----------------------------------------------------------------------------
# old files and defaults


@pytest.mark.parametrize("path", corpus_files("public"))
def test_old_files_get_nir_defaults(path: Path) -> None:
    graph = read(path)
    with h5py.File(path, "r") as f:
        stored = f["version"][()].decode()
    assert stored.startswith(("0.1", "0.2"))
    for _, node in _walk(graph):
        if "v_threshold" in node.params:
            vr = node.params["v_reset"]
            assert vr.dtype == node.params["v_threshold"].dtype
            assert vr.shape == node.params["v_threshold"].shape and not vr.any()


def _walk(graph: Graph):
    from nirc.graph import walk

    return walk(graph)


def _edit(src: Path, dst: Path, fn) -> Path:
    shutil.copy(src, dst)
    os.chmod(dst, 0o644)
    with h5py.File(dst, "r+") as f:
        fn(f)
    return dst


def test_missing_w_in_reads_as_ones_like_tau_mem(corpus: Path, tmp_path: Path) -> None:
    def drop(f):
        tau = f["node/nodes/cubalif/tau_mem"][()]
        del f["node/nodes/cubalif/w_in"]
        del f["node/nodes/cubalif/tau_mem"]
        f["node/nodes/cubalif"].create_dataset("tau_mem", data=tau.astype(np.float32))

    path = _edit(corpus / "nir-1.0.8" / "cubalif.nir", tmp_path / "old.nir", drop)
    w_in = read(path).nodes["cubalif"].params["w_in"]
    assert w_in.dtype == np.float32 and w_in.shape == (4,) and (w_in == 1).all()


def test_missing_v_reset_reads_as_zeros_like_v_threshold(corpus: Path, tmp_path: Path) -> None:
    path = _edit(
        corpus / "nir-1.0.8" / "lif.nir",
        tmp_path / "old.nir",
        lambda f: f.__delitem__("node/nodes/lif/v_reset"),
    )
    node = read(path).nodes["lif"]
    assert node.params["v_reset"].dtype == node.params["v_threshold"].dtype
    assert not node.params["v_reset"].any()


@pytest.mark.parametrize("version", [None, 42, b"\xff\xfe", "banana"])
def test_missing_or_odd_version_is_tolerated(corpus: Path, tmp_path: Path, version) -> None:
    def fix(f):
        del f["version"]
        if version is not None:
            if isinstance(version, bytes):
                f.create_dataset("version", data=np.void(version))
            else:
                f["version"] = version

    src = corpus / "nir-1.0.8" / "lif.nir"
    path = _edit(src, tmp_path / "v.nir", fix)
    assert graphs_equal(read(path), read(src))


def test_flatten_input_type_stored_as_group_is_read(corpus: Path, tmp_path: Path) -> None:
    def regroup(f):
        it = f["node/nodes/flatten/input_type"][()]
        del f["node/nodes/flatten/input_type"]
        f.create_group("node/nodes/flatten/input_type").create_dataset("input", data=it)

    path = _edit(corpus / "nir-1.0.8" / "flatten.nir", tmp_path / "f.nir", regroup)
    assert read(path).nodes["flatten"].params["input_type"].tolist() == [2, 3, 4]


def test_unknown_field_is_ignored_with_a_repair_warning(corpus: Path, tmp_path: Path) -> None:
    path = _edit(
        corpus / "nir-1.0.8" / "lif.nir",
        tmp_path / "x.nir",
        lambda f: f["node/nodes/lif"].create_dataset("v_rest", data=np.zeros(4)),
    )
    with collecting() as sink:
        graph = read(path)
    assert "v_rest" not in graph.nodes["lif"].params
    (w,) = sink.repairs
    assert w.where == "/node/nodes/lif/v_rest" and "v_reset" in w.message
    with collecting(strict=True), pytest.raises(StrictModeError):
        read(path)


# ----------------------------------------------------------------------------
# round trips and layout


@pytest.mark.parametrize("path", corpus_files("nir-1.0.8") + corpus_files("public"))
def test_read_write_read_is_identical(path: Path, tmp_path: Path) -> None:
    graph = read(path)
    for compression in ("gzip", None):
        out = tmp_path / f"out_{compression}.nir"
        write(out, graph, compression=compression)
        explain: list[str] = []
        assert graphs_equal(graph, read(out), explain=explain), explain


def _rich_graph() -> Graph:
    g = Graph(metadata={"dt": np.asarray(1e-4), "note": "hello", "nested": {"a": {"b": "deep"}}})
    g.nodes["input"] = Node("input", "Input", {"shape": np.array([3], dtype=np.int32)})
    g.nodes["fc"] = Node(
        "fc",
        "Affine",
        {
            "weight": np.arange(12, dtype=">f4").reshape(4, 3),  # big-endian kept
            "bias": np.array([1, 2, 3, 4], dtype=np.float16),
        },
        metadata={"unit": "mV", "tags": np.array(["x", "yz"]), "flag": np.asarray(True)},
    )
    g.nodes["conv"] = Node(
        "conv",
        "Conv1d",
        {
            "weight": np.ones((2, 4, 3)),
            "stride": np.asarray(1),
            "padding": "same",
            "dilation": np.asarray(1),
            "groups": np.asarray(1),
            "bias": np.zeros(2),
        },
    )
    g.nodes["output"] = Node("output", "Output", {"shape": np.array([2, 1])})
    g.edges = [("input", "fc"), ("fc", "conv"), ("conv", "output")]
    return g


def test_layout_matches_nir_write(tmp_path: Path) -> None:
    graph = _rich_graph()
    write(tmp_path / "g.nir", graph)
    with h5py.File(tmp_path / "g.nir", "r") as f:
        assert f["version"][()].decode() == NIR_FORMAT_VERSION
        assert h5py.check_string_dtype(f["version"].dtype).length is None
        assert f["node/type"][()] == b"NIRGraph"
        edges = f["node/edges"]
        assert edges.shape == (3, 2) and h5py.check_string_dtype(edges.dtype) is not None
        assert f["node/nodes/fc/weight"].dtype == np.dtype(">f4")
        assert f["node/nodes/fc/weight"].compression == "gzip"
        assert f["node/nodes/fc/bias"].dtype == np.float16
        assert (
            f["node/nodes/conv/stride"].shape == ()
            and f["node/nodes/conv/stride"].compression is None
        )
        assert f["node/nodes/conv/padding"][()] == b"same"
        assert f["node/nodes/fc/type"].compression is None
        assert f["node/metadata/nested/a/b"][()] == b"deep"
        assert f["node/nodes/fc/metadata/unit"][()] == b"mV"
        assert list(f["node/nodes"]) == ["input", "fc", "conv", "output"]  # graph order kept
    back = read(tmp_path / "g.nir")
    explain: list[str] = []
    assert graphs_equal(graph, back, explain=explain), explain
    write(tmp_path / "plain.nir", graph, compression=None)
    with h5py.File(tmp_path / "plain.nir", "r") as f:
        assert f["node/nodes/fc/weight"].compression is None


def test_empty_edge_list_round_trips(tmp_path: Path) -> None:
    g = Graph()
    g.nodes["input"] = Node("input", "Input", {"shape": np.array([1])})
    write(tmp_path / "e.nir", g)
    assert read(tmp_path / "e.nir").edges == []


def test_write_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "model.nir"
    target.write_bytes(b"previous content")
    bad = _rich_graph()
    bad.nodes["fc"].metadata["oops"] = object()
    with pytest.raises(NircError) as err:
        write(target, bad)
    assert err.value.where == "/node/nodes/fc/metadata/oops"
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.nir"]


@pytest.mark.parametrize(
    "mutate, where",
    [
        (
            lambda g: g.nodes.__setitem__("a/b", Node("a/b", "Input", {"shape": np.array([1])})),
            "/node/nodes/a/b",
        ),
        (lambda g: setattr(g.nodes["fc"], "type", "Afine"), "/node/nodes/fc"),
        (lambda g: g.nodes["fc"].params.pop("bias"), "/node/nodes/fc"),
        (lambda g: g.nodes["fc"].params.__setitem__("bias", [1.0]), "/node/nodes/fc/bias"),
        (lambda g: g.edges.append(("input", "")), "/node/edges[3]"),
    ],
)
def test_write_refuses_what_nir_could_not_read(tmp_path: Path, mutate, where: str) -> None:
    g = _rich_graph()
    mutate(g)
    with pytest.raises(NircError) as err:
        write(tmp_path / "x.nir", g)
    assert err.value.where == where
    assert not (tmp_path / "x.nir").exists()


# ----------------------------------------------------------------------------
# big data


def test_ten_million_parameters_read_back_exactly(tmp_path: Path) -> None:
    """Speed is measured by benchmarks/io.py; here only that a big gzip weight survives."""
    g = Graph()
    g.nodes["input"] = Node("input", "Input", {"shape": np.array([4000])})
    w = (np.arange(10_000_000, dtype=np.float32) % 251).reshape(2500, 4000)
    g.nodes["fc"] = Node("fc", "Linear", {"weight": w})
    g.nodes["output"] = Node("output", "Output", {"shape": np.array([2500])})
    g.edges = [("input", "fc"), ("fc", "output")]
    write(tmp_path / "big.nir", g, compression="gzip", compression_opts=1)
    back = read(tmp_path / "big.nir")
    assert back.nodes["fc"].params["weight"].tobytes() == w.tobytes()
