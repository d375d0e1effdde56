"""Broken and hostile files: every one ends in a NircError that names the path
inside the file and what was expected and found; none hangs, loops, allocates
what the file does not hold, or reads another file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.nirfile import MAX_BYTES_ENV, read, write


def _valid_graph() -> Graph:
    g = Graph()
    g.nodes["input"] = Node("input", "Input", {"shape": np.array([4])})
    g.nodes["fc"] = Node(
        "fc",
        "Affine",
        {"weight": np.eye(4, dtype=np.float32), "bias": np.zeros(4, dtype=np.float32)},
    )
    g.nodes["lif1"] = Node(
        "lif1",
        "LIF",
        {
            "tau": np.full(4, 0.01),
            "r": np.ones(4),
            "v_leak": np.zeros(4),
            "v_threshold": np.ones(4),
            "v_reset": np.zeros(4),
        },
    )
    g.nodes["output"] = Node("output", "Output", {"shape": np.array([4])})
    g.edges = [("input", "fc"), ("fc", "lif1"), ("lif1", "output")]
    return g


@pytest.fixture
def make(tmp_path: Path) -> Callable[..., Path]:
    """make(edit) -> a valid small NIR file changed by ``edit(h5py.File)``."""

    def _make(edit: Callable[[h5py.File], None] | None = None, name: str = "bad.nir") -> Path:
        path = tmp_path / name
        write(path, _valid_graph(), compression=None)
        if edit is not None:
            with h5py.File(path, "r+") as f:
                edit(f)
        return path

    return _make


def _fails(path: Path, where: str, *words: str) -> NircError:
    with pytest.raises(NircError) as info:
        read(path)
    err = info.value
    assert err.where == where, err.render()
    assert err.expected and err.found is not None, err.render()
    text = err.render()
    for w in words:
        assert w in text, f"{w!r} not in:\n{text}"
    return err


def _replace(f: h5py.File, name: str, **kwargs) -> None:
    del f[name]
    f.create_dataset(name, **kwargs)


# ----------------------------------------------------------------------------
# not a NIR file at all


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NircError) as err:
        read(tmp_path / "nope.nir")
    assert "no such file" in err.value.render()


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(NircError, match="not a regular file"):
        read(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.nir").write_bytes(b"")
    _fails(tmp_path / "e.nir", "/", "empty", "0 bytes")


def test_random_bytes(tmp_path: Path) -> None:
    data = np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    (tmp_path / "r.nir").write_bytes(data)
    err = _fails(tmp_path / "r.nir", "/", "not an HDF5 file")
    assert repr(data[:16]) in err.found


def test_truncated_file(make) -> None:
    path = make()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _fails(path, "/", "truncated")


def test_no_node_group(make) -> None:
    _fails(make(lambda f: f.move("node", "graph")), "/", "no `node` group", "graph")


def test_top_level_node_must_be_a_graph(make) -> None:
    _fails(make(lambda f: _replace(f, "node/type", data="LIF")), "/node/type", "NIRGraph", "'LIF'")


# ----------------------------------------------------------------------------
# NIR structure


def test_node_without_type(make) -> None:
    err = _fails(
        make(lambda f: f.__delitem__("node/nodes/lif1/type")), "/node/nodes/lif1", "no `type`"
    )
    assert "tau" in err.found


def test_unknown_type_suggests_the_closest(make) -> None:
    err = _fails(
        make(lambda f: _replace(f, "node/nodes/lif1/type", data="LIFF", dtype=h5py.string_dtype())),
        "/node/nodes/lif1/type",
        "unknown node type 'LIFF'",
    )
    assert err.hint == "did you mean 'LIF'?"


def test_missing_required_field(make) -> None:
    err = _fails(
        make(lambda f: f.__delitem__("node/nodes/lif1/tau")),
        "/node/nodes/lif1/tau",
        "missing the required field `tau`",
    )
    assert "v_leak" in err.found


def test_string_where_an_array_belongs(make) -> None:
    _fails(
        make(lambda f: _replace(f, "node/nodes/lif1/tau", data="fast", dtype=h5py.string_dtype())),
        "/node/nodes/lif1/tau",
        "found a string",
        "numeric array",
    )


def test_one_d_weight(make) -> None:
    _fails(
        make(lambda f: _replace(f, "node/nodes/fc/weight", data=np.ones(4, dtype=np.float32))),
        "/node/nodes/fc/weight",
        "wrong shape",
        "at least 2 axes",
        "[4]",
    )


def test_compound_dtype(make) -> None:
    data = np.zeros(4, dtype=[("re", "f4"), ("im", "i4")])
    _fails(
        make(lambda f: _replace(f, "node/nodes/lif1/r", data=data)),
        "/node/nodes/lif1/r",
        "compound type with fields (re, im)",
    )


def test_object_dtype(make) -> None:
    def edit(f):
        del f["node/nodes/lif1/r"]
        f.create_dataset(
            "node/nodes/lif1/r", data=[np.arange(3), np.arange(2)], dtype=h5py.vlen_dtype("i4")
        )

    _fails(make(edit), "/node/nodes/lif1/r", "variable-length")


def test_null_dataspace(make) -> None:
    _fails(
        make(lambda f: _replace(f, "node/nodes/lif1/r", data=h5py.Empty("f8"))),
        "/node/nodes/lif1/r",
        "null",
    )


def test_node_that_is_a_dataset(make) -> None:
    _fails(
        make(lambda f: _replace(f, "node/nodes/lif1", data=1.0)),
        "/node/nodes/lif1",
        "must be a group",
        "a dataset",
    )


def test_integer_edges(make) -> None:
    _fails(
        make(lambda f: _replace(f, "node/edges", data=np.array([[0, 1], [1, 2]]))),
        "/node/edges",
        "edges must be node names",
        "int64",
    )


def test_edges_with_three_columns(make) -> None:
    edges = np.array([["input", "fc", "x"], ["fc", "lif1", "y"]], dtype=object)
    _fails(
        make(lambda f: _replace(f, "node/edges", data=edges, dtype=h5py.string_dtype())),
        "/node/edges",
        "two columns",
        "[2, 3]",
    )


def test_empty_name_in_edges(make) -> None:
    edges = np.array([["input", "fc"], ["fc", ""]], dtype=object)
    _fails(
        make(lambda f: _replace(f, "node/edges", data=edges, dtype=h5py.string_dtype())),
        "/node/edges[1]",
        "empty node name",
    )


def test_bad_padding_mode(make) -> None:
    def edit(f):
        g = f["node/nodes/fc"]
        for k in list(g):
            del g[k]
        g["type"] = "Conv1d"
        g["weight"] = np.ones((4, 1, 1))
        g["bias"] = np.zeros(4)
        g["stride"] = 1
        g["dilation"] = 1
        g["groups"] = 1
        g.create_dataset("padding", data="full", dtype=h5py.string_dtype())

    _fails(make(edit), "/node/nodes/fc/padding", "'full'", "'same' or 'valid'")


# ----------------------------------------------------------------------------
# non-UTF-8 text


def test_non_utf8_node_name(make) -> None:
    err = _fails(
        make(lambda f: f.move("node/nodes/lif1", b"node/nodes/lif\xff")),
        "/node/nodes",
        "not valid UTF-8",
    )
    assert err.found == repr(b"lif\xff")


def test_non_utf8_string_value(make) -> None:
    def edit(f):
        del f["node/nodes/lif1/type"]
        f.create_dataset("node/nodes/lif1/type", data=b"LI\xffF", dtype=h5py.string_dtype())

    err = _fails(make(edit), "/node/nodes/lif1/type", "not valid UTF-8")
    assert err.found == repr(b"LI\xffF")


def test_non_utf8_edge(make) -> None:
    edges = np.array([[b"input", b"fc"], [b"fc\xfe", b"lif1"]], dtype=object)
    err = _fails(
        make(lambda f: _replace(f, "node/edges", data=edges, dtype=h5py.string_dtype())),
        "/node/edges[2]",
        "not valid UTF-8",
    )
    assert err.found == repr(b"fc\xfe")


# ----------------------------------------------------------------------------
# links: never followed


def test_external_link(make, tmp_path: Path) -> None:
    other = make(name="other.nir")

    def edit(f):
        del f["node/nodes/lif1"]
        f["node/nodes/lif1"] = h5py.ExternalLink(str(other), "/node/nodes/lif1")

    _fails(make(edit), "/node/nodes/lif1", "external link", "another file", "other.nir")


def test_soft_link(make) -> None:
    def edit(f):
        del f["node/nodes/lif1/tau"]
        f["node/nodes/lif1/tau"] = h5py.SoftLink("/node/nodes/lif1/r")

    _fails(make(edit), "/node/nodes/lif1/tau", "soft link", "/node/nodes/lif1/r")


def test_soft_link_cycle(make) -> None:
    def edit(f):
        f["node/nodes/loop"] = h5py.SoftLink("/node/nodes/loop2")
        f["node/nodes/loop2"] = h5py.SoftLink("/node/nodes/loop")

    _fails(make(edit), "/node/nodes/loop", "soft link", "loop")


def test_hard_link_cycle(make) -> None:
    def edit(f):
        sub = f["node/nodes"].create_group("sub")
        sub["type"] = "NIRGraph"
        sub.create_dataset("edges", data=np.zeros((0, 2), dtype=object), dtype=h5py.string_dtype())
        sub.create_group("nodes")["again"] = f["node"]  # /node inside its own descendant

    _fails(make(edit), "/node/nodes/sub/nodes/again", "already read", "loop")


def test_shared_group(make) -> None:
    def edit(f):
        f["node/nodes/lif2"] = f["node/nodes/lif1"]

    _fails(make(edit), "/node/nodes/lif2", "already read")


def test_shared_metadata_group_loop(make) -> None:
    def edit(f):
        md = f["node/nodes/lif1"].create_group("metadata")
        md.create_group("a")["back"] = md

    _fails(make(edit), "/node/nodes/lif1/metadata/a/back", "already read")


# ----------------------------------------------------------------------------
# datasets whose data lives elsewhere, or is not there


def test_virtual_dataset(make, tmp_path: Path) -> None:
    src = tmp_path / "src.h5"
    with h5py.File(src, "w") as s:
        s["tau"] = np.full(4, 0.01)

    def edit(f):
        layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(src), "tau", shape=(4,))
        del f["node/nodes/lif1/tau"]
        f["node/nodes/lif1"].create_virtual_dataset("tau", layout)

    _fails(make(edit), "/node/nodes/lif1/tau", "virtual dataset", "other datasets or files")


def test_external_storage(make, tmp_path: Path) -> None:
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.full(4, 0.01).tobytes())

    def edit(f):
        del f["node/nodes/lif1/tau"]
        f["node/nodes/lif1"].create_dataset(
            "tau", shape=(4,), dtype="f8", external=[(str(raw), 0, 32)]
        )

    _fails(make(edit), "/node/nodes/lif1/tau", "external storage", "raw.bin")


def test_declared_size_over_the_bound(make) -> None:
    def edit(f):
        del f["node/nodes/lif1/tau"]
        f["node/nodes/lif1"].create_dataset("tau", shape=(10**9,), dtype="f8", chunks=(1000,))

    err = _fails(make(edit), "/node/nodes/lif1/tau", "too large", MAX_BYTES_ENV)
    assert "8000000000 bytes" in err.found


def test_bound_can_be_changed(make, monkeypatch) -> None:
    path = make()
    monkeypatch.setenv(MAX_BYTES_ENV, "40")
    _fails(path, "/node/nodes/fc/weight", "too large")  # 64 bytes > 40
    monkeypatch.setenv(MAX_BYTES_ENV, "4096")
    read(path)
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(NircError, match=MAX_BYTES_ENV):
        read(path)


def test_chunked_dataset_without_stored_data(make) -> None:
    def edit(f):
        del f["node/nodes/lif1/tau"]
        f["node/nodes/lif1"].create_dataset("tau", shape=(10**6,), dtype="f8", chunks=(1000,))

    _fails(make(edit), "/node/nodes/lif1/tau", "more data than the file holds", "0 bytes stored")


def test_impossible_compression_ratio(make) -> None:
    def edit(f):
        del f["node/nodes/lif1/tau"]
        ds = f["node/nodes/lif1"].create_dataset(
            "tau", shape=(10**8,), dtype="f8", chunks=(10**6,), compression="gzip"
        )
        ds[:10] = 0.01  # one chunk stored, 800 MB declared

    _fails(make(edit), "/node/nodes/lif1/tau", "compression ratio", "1100:1")


def test_contiguous_storage_smaller_than_declared(make) -> None:
    """Dims patched in the header: the data would run past what is stored."""
    import struct

    path = make(lambda f: _replace(f, "node/nodes/lif1/r", data=np.ones(12345)))
    with h5py.File(path, "r") as f:
        offset = f["node/nodes/lif1/r"].id.get_offset()
    raw = bytearray(path.read_bytes())
    needle = struct.pack("<Q", 12345)
    hits = [i for i in range(offset) if raw[i : i + 8] == needle]
    assert hits
    for i in hits:
        raw[i : i + 8] = struct.pack("<Q", 12345 * 1000)
    path.write_bytes(bytes(raw))
    _fails(path, "/node/nodes/lif1/r")


def test_unknown_compression_filter(make) -> None:
    def edit(f):
        del f["node/nodes/lif1/tau"]
        ds = f["node/nodes/lif1"].create_dataset(
            "tau", shape=(4,), dtype="f8", chunks=(4,), compression=32001, allow_unknown_filter=True
        )
        ds.id.write_direct_chunk((0,), np.full(4, 0.01).tobytes())

    _fails(make(edit), "/node/nodes/lif1/tau", "filter id 32001")


# ----------------------------------------------------------------------------
# deep nesting: iterative, no RecursionError


def test_graph_nested_3000_deep_reads(tmp_path: Path) -> None:
    path = tmp_path / "deep.nir"
    depth = 3000
    with h5py.File(path, "w", libver="latest") as f:
        f["version"] = "1.0.8"
        g = f.create_group("node")
        for _ in range(depth + 1):
            g.create_dataset("type", data="NIRGraph", dtype=h5py.string_dtype())
            g.create_dataset(
                "edges", data=np.zeros((0, 2), dtype=object), dtype=h5py.string_dtype()
            )
            g = g.create_group("nodes").create_group("g")
        g.create_dataset("type", data="LI", dtype=h5py.string_dtype())
    with pytest.raises(NircError) as err:  # the innermost node is an LI without fields
        read(path)
    assert err.value.where.count("/nodes/g") == depth + 1
    assert err.value.where.endswith("/nodes/g/tau")


# ----------------------------------------------------------------------------
# garbage in: only NircError out


_GARBAGE_CHILD = """
import sys
from nirc.diagnostics import NircError, collecting
from nirc.nirfile import read
from nirc.validate import infer_shapes, validate
for path in sys.argv[1:]:
    try:
        with collecting():
            graph = read(path)
            validate(graph)
            infer_shapes(graph)
    except NircError:
        pass
    except Exception as e:
        print(f"{path}: {type(e).__name__}: {e}")
print("done")
"""


def test_corrupted_bytes_give_only_nirc_errors(make, corpus: Path, tmp_path: Path) -> None:
    """Random byte damage (in a child process: a hang must fail the test, not stall
    the suite). Damaged global heaps used to make HDF5 itself loop forever."""
    sources = [
        make(name="clean.nir"),
        corpus / "nir-1.0.8" / "nested_recurrent.nir",
        corpus / "public" / "paper_braille_bias_zero.nir",
    ]
    rng = np.random.default_rng(7)
    paths = []
    for i in range(150):
        data = bytearray(sources[i % len(sources)].read_bytes())
        for pos in rng.integers(0, len(data), int(rng.integers(1, 25))):
            data[pos] = int(rng.integers(0, 256))
        path = tmp_path / f"c{i}.nir"
        path.write_bytes(bytes(data))
        paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-c", _GARBAGE_CHILD, *paths],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().endswith("done"), done.stdout + done.stderr
    assert done.stdout.strip() == "done", done.stdout


def test_corpus_copies_are_left_alone(corpus: Path, tmp_path: Path) -> None:
    """Reading opens files read-only: a read-only copy reads fine and is unchanged."""
    src = corpus / "public" / "paper_lif_norse.nir"
    dst = tmp_path / "ro.nir"
    shutil.copy(src, dst)
    os.chmod(dst, 0o444)
    before = dst.read_bytes()
    read(dst)
    assert dst.read_bytes() == before


def test_damaged_string_heap_is_refused_not_looped_on(make, tmp_path: Path) -> None:
    """A global heap whose free-space entry has size 0 makes HDF5 spin forever."""
    path = make()
    raw = bytearray(path.read_bytes())
    start = raw.index(b"GCOL")
    size = int.from_bytes(raw[start + 8 : start + 16], "little")
    p = start + 16
    while True:  # walk to the free-space object (index 0) and zero its size
        index = int.from_bytes(raw[p : p + 2], "little")
        osize = int.from_bytes(raw[p + 8 : p + 16], "little")
        if index == 0:
            raw[p + 8 : p + 16] = bytes(8)
            break
        p += 16 + ((osize + 7) & ~7)
        assert p < start + size
    path.write_bytes(bytes(raw))
    child = (
        "import sys\nfrom nirc.nirfile import read\nfrom nirc.diagnostics import NircError\n"
        "try:\n    read(sys.argv[1])\nexcept NircError as e:\n    print(e.where)\n    print(e.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=60
    )
    where, message = done.stdout.splitlines()[:2]
    assert where.startswith("/node") and "heap" in message, done.stdout + done.stderr
