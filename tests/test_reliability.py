"""Reliability as a hostile user meets it: outputs never destroy data, every
command gives one verdict per file, misuse gets a diagnostic (exit 2), never an
internal error (exit 3), a traceback or a hang."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from nirc.atomic import atomic_path, guarding_inputs, note_input, write_bytes
from nirc.cli import main
from nirc.diagnostics import NircError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BRAILLE = EXAMPLES / "braille_rnn.nir"

# ----------------------------------------------------------------------------
# building files as exporters (and attackers) write them: raw HDF5, no checks


def _ds(g, name, value) -> None:
    if isinstance(value, str):
        g.create_dataset(name, data=value, dtype=h5py.string_dtype())
    else:
        g.create_dataset(name, data=value)


def _graph(group, nodes: dict, edges: list, meta: dict | None = None) -> None:
    g = group.create_group("nodes")
    for name, (kind, params) in nodes.items():
        ng = g.create_group(name)
        _ds(ng, "type", kind)
        if kind == "NIRGraph":
            _graph(ng, params["nodes"], params["edges"])
            continue
        for k, v in params.items():
            _ds(ng, k, v)
    e = np.array(edges, dtype=object).reshape(-1, 2)
    group.create_dataset("edges", data=e.astype(h5py.string_dtype()))
    if meta:
        mg = group.create_group("metadata")
        for k, v in meta.items():
            _ds(mg, k, v)


def nir_file(path: Path, nodes: dict, edges: list, meta: dict | None = None) -> Path:
    with h5py.File(path, "w") as f:
        _ds(f, "version", "1.0.8")
        n = f.create_group("node")
        _ds(n, "type", "NIRGraph")
        _graph(n, nodes, edges, meta)
    return path


def lif(n: int, **kw):
    p = {"tau": np.full(n, 0.01), "r": np.ones(n), "v_leak": np.zeros(n),
         "v_threshold": np.ones(n), "v_reset": np.zeros(n)}  # fmt: skip
    p.update(kw)
    return ("LIF", p)


def port(kind: str, *shape: int):
    return (kind, {"shape": np.array(shape, dtype=np.int64)})


def linear(o: int, i: int, dtype=np.float32):
    return ("Linear", {"weight": np.ones((o, i), dtype=dtype)})


CHAIN = [("input", "fc"), ("fc", "lif"), ("lif", "output")]


def chain(tmp: Path, name: str, fc=None, neuron=None, extra_edges=(), meta=None, **extra):
    nodes = {"input": port("Input", 4), "fc": fc or linear(4, 4), "lif": neuron or lif(4),
             "output": port("Output", 4), **extra}  # fmt: skip
    return nir_file(tmp / f"{name}.nir", nodes, CHAIN + list(extra_edges), meta)


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, err


# ----------------------------------------------------------------------------
# outputs never destroy data


def test_output_onto_an_input_is_refused(tmp_path: Path, capsys) -> None:
    model = tmp_path / "same.nir"
    model.write_bytes(BRAILLE.read_bytes())
    before = model.read_bytes()
    code, err = cli(capsys, "import", model, "-o", model)
    assert code == 2 and "would overwrite an input" in err
    link = tmp_path / "link.nir"
    link.symlink_to(model)
    code, err = cli(capsys, "import", model, "-o", link)  # the same file through a link
    assert code == 2 and "would overwrite an input" in err
    x = tmp_path / "x.npz"
    np.savez(x, input=np.zeros((5, 12)))
    code, err = cli(capsys, "run", model, "--input", x, "-o", x, "--dt", "1e-4")
    assert code == 2 and "would overwrite an input" in err
    assert model.read_bytes() == before and set(np.load(x).files) == {"input"}


def test_compile_never_replaces_its_input_model(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mlir = out / "model.mlir"
    assert cli(capsys, "opt", BRAILLE, "-p", "inline-subgraphs", "-o", mlir)[0] == 0
    before = mlir.read_bytes()
    code, err = cli(capsys, "compile", mlir, "--target", "xylo", "--dt", "1e-4", "-o", out)
    assert code == 2 and "would overwrite an input" in err
    assert mlir.read_bytes() == before
    assert [p.name for p in out.iterdir()] == ["model.mlir"]  # no temporary left either


def test_devices_and_fifos_are_written_through(tmp_path: Path, capsys) -> None:
    assert cli(capsys, "import", BRAILLE, "-o", "/dev/null")[0] == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert cli(capsys, "import", BRAILLE, "-o", fifo)[0] == 0
    reader.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0].startswith(b"builtin.module")


@pytest.mark.parametrize("command", ["import", "run", "export"])
def test_bad_output_places_get_a_diagnostic(tmp_path: Path, capsys, command: str) -> None:
    extra = {"import": [], "run": ["--input", "random:T=3", "--dt", "1e-4"], "export": []}
    for target, words in ((tmp_path, "is a directory"),
                          (tmp_path / "missing" / "o.x", "directory does not exist")):  # fmt: skip
        code, err = cli(capsys, command, BRAILLE, *extra[command], "-o", target)
        assert code == 2 and words in err, err
    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_failed_write_leaves_no_temporary(tmp_path: Path, monkeypatch) -> None:
    """A full disk: the diagnostic names the output, the temporary file is gone."""
    target = tmp_path / "x.nir"

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(NircError) as info:
        write_bytes(target, b"data")
    assert "No space left" in info.value.render() and info.value.where == str(target)
    assert list(tmp_path.iterdir()) == []


def test_compile_into_an_existing_directory_stays_on_its_file_system(
    tmp_path: Path, monkeypatch
) -> None:
    """The temporary directory is made inside an existing -o (a mount point
    included), so every rename stays on one file system."""
    import tempfile

    from nirc.targets.base import write_artifacts

    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    made: list[str] = []
    real = tempfile.mkdtemp

    def spy(*a, **k):
        made.append(str(k.get("dir")))
        return real(*a, **k)

    monkeypatch.setattr(tempfile, "mkdtemp", spy)
    write_artifacts(out, {"a.txt": "1"})
    assert made == [str(out)]
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "keep.txt"]


def test_inputs_are_guarded_only_inside_a_command(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("x")
    note_input(path)  # outside guarding_inputs: not recorded, library users may overwrite
    with atomic_path(path) as tmp:
        tmp.write_text("y")
    with guarding_inputs():
        note_input(path)
        with pytest.raises(NircError, match="overwrite an input"):
            with atomic_path(path) as tmp:
                tmp.write_text("z")
    assert path.read_text() == "y"


def test_kernel_cache_is_per_user_and_optional(tmp_path: Path, monkeypatch) -> None:
    from nirc.interpreter import jit

    monkeypatch.setenv("NIRC_CACHE_DIR", str(tmp_path / "c"))
    assert jit.cache_dir() == str(tmp_path / "c" / "numba")
    monkeypatch.setenv("NIRC_CACHE_DIR", "/proc/nirc-cannot-exist")
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/nirc-cannot-exist-either")
    assert jit.cache_dir() is None  # no cache then; never the installed package
    monkeypatch.delenv("NIRC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jit.cache_dir() == str(tmp_path / "xdg" / "nirc" / "numba")


_CACHED_KERNEL = """
import sys
from nirc.diagnostics import collecting
from nirc.interpreter.jit import njit

@njit()
def plus_one(x):
    return x + 1

with collecting() as sink:
    assert plus_one(41) == 42
for w in sink.warnings:
    print(w.render())
"""


def test_a_damaged_or_unwritable_kernel_cache_costs_a_compile_not_the_run(
    tmp_path: Path, monkeypatch
) -> None:
    """A cache file cut short (a full disk, a killed process) made numba raise
    UnpicklingError: an internal error of every command that simulates. Now
    the entry is removed with a warning, the kernel compiles and is cached
    again; a cache that cannot be written costs the next process a compile."""
    import subprocess
    import sys

    pytest.importorskip("numba")
    script = tmp_path / "kernel_user.py"
    script.write_text(_CACHED_KERNEL)
    env = {**os.environ, "NIRC_CACHE_DIR": str(tmp_path / "cache")}

    def run() -> str:
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run() == ""  # compiled and cached
    index = next((tmp_path / "cache").rglob("*.nbi"))
    for f in [index, *(tmp_path / "cache").rglob("*.nbc")]:
        f.write_bytes(f.read_bytes()[:20])
    out = run()
    assert "could not be read (UnpicklingError" in out and "it compiles again" in out, out
    assert run() == ""  # cached afresh
    # a save that fails (here: numba's own save raising OSError) is a warning
    from numba.core import caching

    def full_disk(self, sig, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(caching.Cache, "save_overload", full_disk)
    from nirc.diagnostics import collecting
    from nirc.interpreter import jit

    monkeypatch.setattr(jit, "CACHE_DIR", str(tmp_path / "other"))

    def minus_one(x):
        return x - 1

    with collecting() as sink:
        assert jit.njit()(minus_one)(43) == 42
    assert any("No space left on device" in w.message for w in sink.warnings), sink.warnings


def test_every_kernel_module_caches_in_the_user_directory(tmp_path: Path) -> None:
    """The interpreter's and all four chip simulators' compiled kernels cache
    under NIRC_CACHE_DIR, whichever module is imported first (a fresh process)."""
    pytest.importorskip("numba")
    import subprocess
    import sys

    modules = ["nirc.interpreter.jit_kernels", "nirc.targets.spinnaker2.kernels", "nirc.targets.loihi2.kernels", "nirc.targets.speck.kernels",
               "nirc.targets.xylo.kernels", "nirc.interpreter.program_kernels"]  # fmt: skip
    probe = (
        "import importlib, sys\n"
        "from numba.core.registry import CPUDispatcher\n"
        "for m in sys.argv[1:]:\n"
        "    k = importlib.import_module(m)\n"
        "    for f in vars(k).values():\n"
        "        if isinstance(f, CPUDispatcher):\n"
        "            print(m, getattr(f._cache, '_cache_path', 'no cache'))\n"
    )
    env = {**os.environ, "NIRC_CACHE_DIR": str(tmp_path), "NIRC_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", probe, *modules], env=env, capture_output=True, text=True,
                         check=True).stdout.splitlines()  # fmt: skip
    assert {line.split()[0] for line in out} == set(modules)
    assert all(line.split()[1].startswith(str(tmp_path / "numba")) for line in out), out


# ----------------------------------------------------------------------------
# one verdict per file: show, import, run and export agree


def _verdicts(capsys, path: Path, tmp: Path) -> dict[str, tuple[int, str]]:
    runs = {
        "show": ["show", path],
        "import": ["import", path, "-o", tmp / "o.mlir"],
        "run": ["run", path, "--dt", "1e-3", "--input", "random:T=4", "-o", tmp / "o.npz"],
        "export": ["export", path, "-o", tmp / "o.nir"],
    }
    out = {}
    for k, args in runs.items():
        code, err = cli(capsys, *args)
        first = next((ln for ln in err.splitlines() if ln.startswith("error")), "")
        out[k] = (code, first)
    return out


HOSTILE = {
    # name: (builder, expected exit code of every command, words of the diagnostic)
    "edge out of an Output": (lambda t: chain(t, "a", extra_edges=[("output", "fc")]),
                              2, "is an Output node"),
    "edge into an Input": (lambda t: chain(t, "b", extra_edges=[("lif", "input")]),
                           2, "is an Input node"),
    "bool weights": (lambda t: chain(t, "c", fc=linear(4, 4, np.bool_)), 0, ""),
    "int8 weights": (lambda t: chain(t, "d", fc=linear(4, 4, np.int8)), 0, ""),
    "complex dt": (lambda t: chain(t, "e", meta={"dt": np.complex128(1e-3 + 1j)}),
                   2, "unsupported metadata value"),
    "negative dt": (lambda t: chain(t, "f", meta={"dt": -1.0}), 2, "`dt` must be"),
    "dotted name beside a subgraph": (
        lambda t: nir_file(t / "g.nir", {
            "input": port("Input", 4), "sub.lif": lif(4), "output": port("Output", 4),
            "sub": ("NIRGraph", {"nodes": {"lif": lif(4)}, "edges": []})},
            [("input", "sub.lif"), ("sub.lif", "output")]), 2, "two nodes the name `sub.lif`"),
    "conv channels contradict the Input": (
        lambda t: nir_file(t / "h.nir", {
            "input": port("Input", 3, 8, 8),
            "c": ("Conv2d", {"weight": np.ones((4, 2, 3, 3)), "bias": np.zeros(4),
                             "stride": np.array([1, 1]), "padding": np.array([0, 0]),
                             "dilation": np.array([1, 1]), "groups": np.int64(2)}),
            "output": port("Output", 4, 6, 6)},
            [("input", "c"), ("c", "output")]), 2, "input channels disagree"),
    "0-d parameters after Input [3]": (
        lambda t: nir_file(t / "i.nir", {
            "input": port("Input", 3), "output": port("Output", 3),
            "lif": ("LIF", {k: np.float64(v) for k, v in
                            dict(tau=0.01, r=1, v_leak=0, v_threshold=1, v_reset=0).items()})},
            [("input", "lif"), ("lif", "output")]), 0, ""),
    "a cycle no Input reaches": (
        lambda t: chain(t, "j", extra_edges=[("a", "w"), ("w", "a")],
                        a=lif(4, v_leak=np.full(4, 2.0)), w=linear(4, 4)), 0, ""),
    "non-ASCII names": (
        lambda t: nir_file(t / "k.nir", {"input": port("Input", 4), "café": linear(4, 4),
                                         "神经": lif(4), "output": port("Output", 4)},
                           [("input", "café"), ("café", "神经"), ("神经", "output")]), 0, ""),
    "shape arithmetic that would overflow": (
        lambda t: nir_file(t / "l.nir", {
            "input": port("Input", 3, 6148914691236517206),
            "f": ("Flatten", {"start_dim": np.int64(0), "end_dim": np.int64(-1)}),
            "output": port("Output", 2)}, [("input", "f"), ("f", "output")]),
        2, "too large"),
    "a delay of 1e300 s": (
        lambda t: nir_file(t / "m.nir", {"input": port("Input", 4), "output": port("Output", 4),
                                         "d": ("Delay", {"delay": np.full(4, 1e300)})},
                           [("input", "d"), ("d", "output")]), 2, "delay too long"),
    "a stride of 2**63 - 1": (
        lambda t: nir_file(t / "n.nir", {
            "input": port("Input", 2, 8, 8),
            "c": ("Conv2d", {"weight": np.ones((4, 2, 3, 3)), "bias": np.zeros(4),
                             "stride": np.array([2**63 - 1, 1]), "padding": np.array([0, 0]),
                             "dilation": np.array([1, 1]), "groups": np.int64(1)}),
            "output": port("Output", 4, 1, 6)},
            [("input", "c"), ("c", "output")]), 2, "`stride` out of range"),
    "a stride of 2**64 - 1 (uint64)": (
        lambda t: nir_file(t / "n2.nir", {
            "input": port("Input", 2, 8, 8),
            "p": ("SumPool2d", {"kernel_size": np.array([2, 2]), "padding": np.array([0, 0]),
                                "stride": np.array([2**64 - 1] * 2, dtype=np.uint64)}),
            "output": port("Output", 2, 1, 1)},
            [("input", "p"), ("p", "output")]), 2, "`stride` out of range"),
    "an Output nothing reaches": (
        lambda t: nir_file(t / "q.nir", {"input": port("Input", 4), "lif": lif(4),
                                         "output": port("Output", 4)}, []), 2, "receives nothing"),
    "an unconnected neuron": (lambda t: chain(t, "r", lone=lif(4)), 0, ""),
    "a 0-d Threshold": (
        lambda t: nir_file(t / "s.nir", {"input": port("Input"), "output": port("Output"),
                                         "t": ("Threshold", {"threshold": np.float64(0.5)})},
                           [("input", "t"), ("t", "output")]), 0, ""),
    "metadata nested 3000 deep": (lambda t: _deep_metadata(chain(t, "o")), 2, "nested too deeply"),
}  # fmt: skip


def _deep_metadata(path: Path) -> Path:
    with h5py.File(path, "r+") as f:
        g = f["node"].create_group("metadata")
        for _ in range(3000):
            g = g.create_group("m")
        _ds(g, "x", 1.0)
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_one_verdict_per_file(tmp_path: Path, capsys, case: str) -> None:
    build, code, words = HOSTILE[case]
    verdicts = _verdicts(capsys, build(tmp_path), tmp_path)
    assert {c for c, _ in verdicts.values()} == {code}, verdicts
    assert len({msg for _, msg in verdicts.values()}) == 1, verdicts
    assert all(words in msg for _, msg in verdicts.values()), verdicts


def test_printed_ir_parses_back(tmp_path: Path, capsys) -> None:
    """Non-ASCII names and control characters round-trip through the printed IR."""
    path = nir_file(tmp_path / "u.nir", {
        "input": port("Input", 4), "café\x1b[31m": linear(4, 4), "神经": lif(4),
        "output": port("Output", 4)},
        [("input", "café\x1b[31m"), ("café\x1b[31m", "神经"), ("神经", "output")])  # fmt: skip
    for level, passes in (("nir", "canonicalize"),
                          ("snn", "inline-subgraphs,discretize{dt=1e-3},fold-weights,fuse")):  # fmt: skip
        out = tmp_path / f"{level}.mlir"
        assert cli(capsys, "opt", path, "-p", passes, "-o", out)[0] == 0
        code, err = cli(capsys, "opt", out, "-o", tmp_path / f"{level}2.mlir")
        assert code == 0, err
        assert out.read_text() == (tmp_path / f"{level}2.mlir").read_text()


def test_names_cannot_drive_the_terminal(tmp_path: Path, capsys) -> None:
    path = chain(tmp_path, "t", fc=None, extra_edges=[("nowhere\x1b[2J\u202e", "lif")])
    code = main(["show", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "\x1b" not in captured.err and "\u202e" not in captured.err
    assert "\\x1b[2J\\u202e" in captured.err


def test_any_node_name_goes_through_every_command(tmp_path: Path, capsys) -> None:
    """Node names with spaces, quotes, a backslash and letters outside ASCII
    through import, export, opt, run, compile on the chips, their simulations
    and eval: `nirc eval` re-parsed the chips' printed IR with xDSL's own
    parser, which reads a non-ASCII name back as bytes (an internal error)."""
    hidden, out = 'fc "1"\\ l\u00eff', "out \u795e"
    rng = np.random.default_rng(0)
    nodes = {"input": port("Input", 4), hidden + ".w": ("Linear", {"weight": rng.normal(0, 1, (8, 4)).astype(np.float32)}),
             hidden: lif(8, r=np.full(8, 10.0)), "fc\u21922": ("Linear", {"weight": rng.normal(0, 1, (3, 8)).astype(np.float32)}),
             out: lif(3, r=np.full(3, 10.0)), "output": port("Output", 3)}  # fmt: skip
    edges = [("input", hidden + ".w"), (hidden + ".w", hidden), (hidden, "fc\u21922"),
             ("fc\u21922", out), (out, "output")]  # fmt: skip
    model = nir_file(tmp_path / "names.nir", nodes, edges, {"dt": np.array(1e-3)})
    data = tmp_path / "data.npz"
    np.savez(data, spikes=(rng.random((4, 10, 4)) < 0.3).astype(np.uint8), labels=np.arange(4) % 3)
    ir, back = tmp_path / "m.mlir", tmp_path / "back.nir"
    for args in (["show", model], ["import", model, "-o", ir], ["export", ir, "-o", back],
                 ["opt", model, "-p", "inline-subgraphs,discretize,fold-weights,fuse"],
                 ["run", model, "--input", "random:T=5", "--record", hidden + ".v"],
                 ["run", ir, "--input", "random:T=5"],
                 ["eval", model, "-d", data, "--target", "xylo,loihi2,spinnaker2"]):  # fmt: skip
        code, err = cli(capsys, *args)
        assert code == 0, (args, err)
    for chip in ("xylo", "loihi2", "spinnaker2"):
        code, err = cli(capsys, "compile", model, "--target", chip, "-o", tmp_path / chip)
        assert code == 0, (chip, err)
        code, err = cli(capsys, "run", tmp_path / chip / "model.mlir", "--target", chip, "--input",
                        "random:T=5")  # fmt: skip
        assert code == 0, (chip, err)


def test_names_print_on_a_terminal_that_cannot_encode_them(tmp_path: Path) -> None:
    """A node named in letters the terminal's encoding lacks (`café` on an
    ASCII or cp1252 console) made `nirc show` and `nirc run` fail with
    UnicodeEncodeError (an internal error); now they print it escaped."""
    import subprocess
    import sys

    nodes = {"input": port("Input", 4), "café": linear(4, 4), "lïf": lif(4),
             "output": port("Output", 4)}  # fmt: skip
    path = nir_file(tmp_path / "accents.nir", nodes,
                    [("input", "café"), ("café", "lïf"), ("lïf", "output")])  # fmt: skip
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    for command, words in ((["show", str(path)], "caf\\xe9"),
                           (["run", str(path), "--input", "random:T=3", "--dt", "1e-3", "--record", "lïf.v"],
                            "probe l\\xeff.v"),
                           (["run", str(path), "--input", "random:T=3", "--dt", "1e-3", "--record", "lïfx.v"],
                            "did you mean `l\\xeff`")):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from nirc.cli import main; sys.exit(main())", *command],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert proc.returncode in (0, 2), proc.stderr
        assert words in proc.stdout + proc.stderr, (command, proc.stdout, proc.stderr)


def test_artifacts_are_the_same_bytes_in_any_locale(tmp_path: Path) -> None:
    """Text files are UTF-8 whatever the locale: under an ASCII one (LC_ALL=C
    without Python's UTF-8 mode) a compile of a graph with a node named
    `lïf` failed writing its report (UnicodeEncodeError, an internal error),
    and a Latin-1 one would have written other bytes for the same input."""
    import subprocess
    import sys

    nodes = {"input": port("Input", 4), "café": linear(4, 4), "lïf": lif(4),
             "output": port("Output", 4)}  # fmt: skip
    path = nir_file(tmp_path / "accents.nir", nodes,
                    [("input", "café"), ("café", "lïf"), ("lïf", "output")])  # fmt: skip
    outs = []
    for i, env in enumerate(({}, {"PYTHONUTF8": "0", "LC_ALL": "C", "LANG": "C"})):
        out = tmp_path / f"out{i}"
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from nirc.cli import main; sys.exit(main())",
             "compile", str(path), "--target", "loihi2", "--dt", "1e-3", "-o", str(out)],
            capture_output=True, text=True, timeout=300, env={**os.environ, **env},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outs.append({f.name: f.read_bytes() for f in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert "lïf".encode() in outs[0]["report.txt"]


def test_what_the_system_refuses_and_devices_are_diagnostics(tmp_path: Path, capsys) -> None:
    """A path past the system's name limit was an internal error (OSError:
    File name too long); `nirc opt /dev/zero` and `--capacity /dev/zero` read
    forever (processes of their own here, so that a regression fails instead
    of hanging)."""
    import subprocess
    import sys

    code, err = cli(capsys, "show", tmp_path / ("a" * 5000 + ".nir"))
    assert code == 2 and "ENAMETOOLONG: File name too long" in err, err
    for command in (["opt", "/dev/zero", "-p", "canonicalize"],
                    ["compile", str(BRAILLE), "--target", "loihi2", "--capacity", "/dev/zero"]):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from nirc.cli import main; sys.exit(main())",
             *command],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2 and "`/dev/zero` is a device, not a file" in proc.stderr
    big = tmp_path / "capacity.json"
    big.write_text("{" + " " * (1 << 20) + "}")
    code, err = cli(capsys, "compile", BRAILLE, "--target", "loihi2", "--capacity", big)
    assert code == 2 and "the capacity file is too large" in err, err


def test_opt_reads_ir_from_a_pipe(tmp_path: Path, capsys) -> None:
    """`nirc opt <(nirc import m.nir)`: sniffing a pipe's first bytes for the
    HDF5 signature consumed them, and the IR failed to parse from its ninth
    character (or, on a named pipe, the second open waited forever); a pipe is
    now read once. A .nir through a pipe cannot be read (HDF5 needs a file): a
    diagnostic says so. A process of its own: a regression fails, not hangs."""
    import subprocess
    import sys

    ir = tmp_path / "m.mlir"
    assert main(["import", str(BRAILLE), "-o", str(ir)]) == 0
    capsys.readouterr()
    for payload, words in ((ir.read_bytes(), None), (BRAILLE.read_bytes(), "cannot be read from a pipe")):
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from nirc.cli import main; sys.exit(main())",
             "opt", str(fifo), "-p", "canonicalize"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        writer = threading.Thread(target=fifo.write_bytes, args=(payload,), daemon=True)
        writer.start()
        try:
            out, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
            fifo.unlink()
        if words is None:
            assert proc.returncode == 0 and "nir.graph" in out, err
        else:
            assert proc.returncode == 2 and words in err, err


def test_a_long_dotted_endpoint_is_refused_in_linear_time(tmp_path: Path, capsys) -> None:
    import time

    path = chain(tmp_path, "dots", extra_edges=[("input", "." * 200_000)])
    start = time.perf_counter()
    code, err = cli(capsys, "show", path)
    assert code == 2 and "names no node" in err and "(200,000 characters)" in err
    assert len(err) < 2000
    assert time.perf_counter() - start < 5


# ----------------------------------------------------------------------------
# command-line misuse: a diagnostic, never exit 3


def _misuse_cases(tmp: Path) -> list[tuple[list, str]]:
    np.savez(tmp / "b0.npz", input=np.zeros((5, 0, 12)))
    np.save(tmp / "one.npy", np.zeros((5, 12)))
    os.replace(tmp / "one.npy", tmp / "one.npz")
    np.savez(tmp / "nan.npz", input=np.full((5, 12), np.nan))
    np.savez(tmp / "huge.npz", input=np.full((5, 12), 1e30))
    (tmp / "deep.mlir").write_text("builtin.module {\n" * 3000 + "}\n" * 3000)
    b = str(BRAILLE)
    return [
        (["run", b, "--input", "random:T=5", "--seed", "-1"], "--seed must be >= 0"),
        (["run", b, "--input", "random:T=5,seed=-1"], "integer seed >= 0"),
        (["compile", b, "--target", "xylo", "--seed", "-1"], "--seed must be >= 0"),
        (["run", b, "--input", tmp / "b0.npz"], "batch size 0"),
        (["compile", b, "--target", "xylo", "--calibrate", tmp / "b0.npz"], "batch size 0"),
        (["run", b, "--input", tmp / "one.npz"], "single array"),
        (["run", b, "--input", tmp / "nan.npz"], "finite"),
        (["run", b, "--input", tmp / "huge.npz"], "finite"),
        (["opt", tmp / "deep.mlir"], "nests too deeply"),
        (["run", tmp / "deep.mlir", "--input", "random:T=3"], "nests too deeply"),
    ]


def test_flags_the_target_does_not_read_are_named(tmp_path: Path, capsys) -> None:
    """A flag of another target (a Loihi 2 search on Xylo) has no effect: a
    warning names it and the targets that read it; the compile goes on."""
    model = chain(tmp_path, "flags", extra_edges=())
    code, err = cli(capsys, "compile", model, "--target", "loihi2", "--dt", "1e-3",
                    "--calib-steps", "10", "--variant", "imu", "--search", "quick",
                    "--record-steps", "50", "--partition", "index")  # fmt: skip
    assert code == 0, err
    assert "warning: --variant has no effect on loihi2: only xylo reads it" in err
    assert "warning: --record-steps has no effect on loihi2: only spinnaker2 reads it" in err
    assert "--search has no effect" not in err and "--partition has no effect" not in err
    code, err = cli(capsys, "compile", model, "--target", "spinnaker2", "--dt", "1e-3",
                    "--calib-steps", "10", "--chips", "2", "--replicas", "none")  # fmt: skip
    assert code == 0, err
    assert "warning: --replicas has no effect on spinnaker2: only loihi2 reads it" in err
    assert "--chips has no effect" not in err


def test_run_target_takes_the_placement_flags(tmp_path: Path, capsys) -> None:
    """`nirc run --target` compiles with `nirc compile`'s placement flags, so
    the hint of a model too big for one chip (--chips N) works there too;
    without --target they are refused, on an already compiled module they
    have no effect and a warning says so."""
    nodes = {"input": port("Input", 4), "fc": linear(300, 4), "lif": lif(300),
             "fc2": linear(4, 300), "out": lif(4), "output": port("Output", 4)}  # fmt: skip
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "out"), ("out", "output")]
    wide = nir_file(tmp_path / "wide.nir", nodes, edges)
    run = ["run", wide, "--input", "random:T=5", "--dt", "1e-3"]
    code, err = cli(capsys, *run, "--target", "spinnaker2", "--core-neurons", "1", "--chips", "1")
    assert code == 2 and "use more chips (--chips 3" in err, err
    code, err = cli(capsys, *run, "--target", "spinnaker2", "--core-neurons", "1", "--chips", "3")
    assert code == 0, err
    code, err = cli(capsys, *run, "--chips", "3")
    assert code == 2 and "--chips apply to a chip's compile" in err, err
    out = tmp_path / "compiled"
    code, err = cli(capsys, "compile", wide, "--target", "loihi2", "--dt", "1e-3", "-o", out)
    assert code == 0, err
    code, err = cli(capsys, "run", out / "model.mlir", "--target", "loihi2", "--input",
                    "random:T=5", "--chips", "2")  # fmt: skip
    assert code == 0 and "--chips: no effect on a module already compiled for loihi2" in err, err


def test_work_past_memory_is_refused_before_it_is_drawn(capsys, monkeypatch) -> None:
    """--calib-batch 10000000 was killed by the system's out-of-memory killer
    (exit 137, no message) after 35 s, and `nirc run` of 3e8 sample-steps
    peaked at 24.2 of 24 GiB after 4 minutes; now refused at once with the
    size, on every target that calibrates and in runs (here a machine of 1 GiB)."""
    import os

    real = os.sysconf
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages.get(name) or real(name))
    for target in ("xylo", "loihi2", "spinnaker2"):
        code, err = cli(capsys, "compile", BRAILLE, "--target", target, "--calib-batch", "1000000",
                        "--calib-steps", "1")  # fmt: skip
        assert code == 2, (target, err)
        assert "random calibration would not fit this machine's memory" in err, (target, err)
        assert "1,000,000 samples x 1 steps x 57 inputs and neurons, with the float reference " \
            "and the quantizers' runs: about 3.4 GiB" in err, err
    code, err = cli(capsys, "compile", BRAILLE, "--target", "xylo", "--calib-steps", "20")
    assert code == 0, err
    for target in ("xylo", "loihi2", "spinnaker2"):  # --check-steps' fresh inputs: its own flags
        code, err = cli(capsys, "compile", BRAILLE, "--target", target, "--check-steps", "10000000")
        assert code == 2 and "the --check-steps run would not fit this machine's memory" in err
        assert "hint:     fewer steps (--check-steps) or samples (--calib-batch)" in err, err
    # runs: the outputs (and random inputs) of a run past the memory, before they are drawn
    big = ["--input", "random:T=1000000,B=100", "--dt", "1e-4"]
    code, err = cli(capsys, "run", BRAILLE, *big)
    assert code == 2 and "the run would not fit this machine's memory" in err, err
    assert "100 samples x 1,000,000 steps x (7 outputs, 12 random inputs): about 10.8 GiB" in err
    code, err = cli(capsys, "run", BRAILLE, "--input", "random:T=10,B=2", "--steps", "100000000",
                    "--dt", "1e-4", "--record", "lif1.lif.v")  # fmt: skip
    assert code == 2 and "2 samples x 100,000,000 steps x (7 outputs, 38 recorded values)" in err
    code, err = cli(capsys, "run", BRAILLE, *big, "--target", "spinnaker2")
    assert code == 2 and "the run would not fit this machine's memory" in err, err
    code, err = cli(capsys, "run", BRAILLE, "--input", "random:T=100,B=2", "--dt", "1e-4")
    assert code == 0, err


@pytest.mark.parametrize("lower", ["lower-speck", "lower-loihi2", "lower-spinnaker2"])
def test_a_negative_seed_in_a_lowering_pass_is_refused(capsys, lower: str) -> None:
    """`lower-spinnaker2{seed=-1}` (and Speck's) was an internal error: numpy's
    generators take no negative seed. The calibration settings are checked."""
    cnn = EXAMPLES / "nmnist_cnn.nir"
    code, err = cli(capsys, "opt", cnn, "-p",
                    f"inline-subgraphs,discretize{{dt=1}},fold-weights,fuse,{lower}{{seed=-1}}")  # fmt: skip
    assert code == 2 and "seed" in err and "-1" in err, err


def test_integers_past_int64_are_refused(capsys) -> None:
    """Numbers past int64 and `true` for an integer (xDSL's option parser takes
    both) were internal errors deep in a pass (OverflowError, the IR's
    VerifyException, Mt-KaHyPar's set_seed); the CLI's placement flags, the
    pass options and any seed >= 0 (Mt-KaHyPar takes a C int: 2**31 failed)."""
    huge = "99999999999999999999"
    cnn = EXAMPLES / "nmnist_cnn.nir"
    for flag in ("--core-neurons", "--chips", "--core-synapse-memory"):
        code, err = cli(capsys, "compile", BRAILLE, "--target", "spinnaker2", flag, huge)
        assert code == 2 and f"{flag} must be below 2**63" in err, err
    for option in ("lower-speck{calib_steps=true}", f"partition{{target=loihi2,chips={huge}}}",
                   f"partition{{target=loihi2,core_neurons={huge}}}", f"lower-spinnaker2{{seed={huge}}}"):  # fmt: skip
        code, err = cli(capsys, "opt", cnn, "-p",
                        f"inline-subgraphs,discretize{{dt=1}},fold-weights,fuse,{option}")  # fmt: skip
        assert code == 2 and "must be an integer (64 bits)" in err, (option, err)
    code, err = cli(capsys, "compile", BRAILLE, "--target", "spinnaker2", "--seed", str(2**31),
                    "--core-neurons", "8")  # fmt: skip
    assert code == 0, err


def test_a_missing_time_step_names_the_commands_flag(tmp_path: Path, capsys) -> None:
    """A graph that needs a time step and has none (IF neurons, as Sinabs
    writes them), or whose neurons disagree on one: `run`, `compile` and
    `eval` name their own --dt and --source, not the `discretize` pass option
    that they run inside (once `-p 'discretize{dt=1e-4}'`, a flag they do not
    have); an `opt` pipeline names the pass option."""
    fire = ("IF", {"r": np.ones(4), "v_threshold": np.ones(4), "v_reset": np.zeros(4)})
    no_dt = chain(tmp_path, "if", neuron=fire)
    mixed = chain(tmp_path, "mixed", neuron=lif(4, r=np.array([1.0, 2.0, 1.0, 1.0])))
    data = tmp_path / "data.npz"
    np.savez(data, spikes=np.zeros((3, 5, 4)), labels=np.array([0, 1, 2]))
    for model, words in ((no_dt, "need a time step"), (mixed, "disagree on tau/r")):
        for args in (["run", model, "--input", "random:T=3"],
                     ["run", model, "--input", "random:T=3", "--level", "snn"],
                     ["compile", model, "--target", "loihi2"],
                     ["compile", model, "--target", "xylo"],
                     ["eval", model, "-d", data],
                     ["eval", model, "-d", data, "--target", "spinnaker2"]):  # fmt: skip
            code, err = cli(capsys, *args)
            assert code == 2 and words in err, (args, err)
            assert "expected: --dt SECONDS" in err and "--source sinabs" in err, (args, err)
            assert "discretize{" not in err, (args, err)
        code, err = cli(capsys, "opt", model, "-p", "discretize")
        assert code == 2 and words in err and "pass discretize{dt=SECONDS}" in err, err
    code, _ = cli(capsys, "run", no_dt, "--input", "random:T=3", "--dt", "1")
    assert code == 0


def test_a_missing_time_step_names_the_likely_framework(tmp_path: Path, capsys) -> None:
    """Each framework has its own time step convention, so a missing or
    inconsistent step names the framework the file most likely came from and
    its --source (here Rockpool: its module names and r = tau*exp(-dt/tau)/dt,
    whose tau/r differ between neurons of different tau), in each caller's
    terms; that --source then runs it. A file with no such evidence keeps the
    generic hint."""
    import nirc

    tau = np.array([0.01, 0.02, 0.01, 0.02])
    r = tau * np.exp(-1e-3 / tau) / 1e-3
    nodes = {"input": port("Input", 4), "0_LinearTorch": linear(4, 4),
             "1_LIFTorch": lif(4, tau=tau, r=r), "output": port("Output", 4)}  # fmt: skip
    edges = [("input", "0_LinearTorch"), ("0_LinearTorch", "1_LIFTorch"),
             ("1_LIFTorch", "output")]  # fmt: skip
    model = nir_file(tmp_path / "rockpool.nir", nodes, edges)
    for args in (["run", model, "--input", "random:T=3"],
                 ["compile", model, "--target", "loihi2", "-o", tmp_path / "out"]):  # fmt: skip
        code, err = cli(capsys, *args)
        assert code == 2 and "disagree on tau/r" in err, err
        assert "looks exported by Rockpool" in err and "--source rockpool reads it" in err, err
        assert "else pass --dt SECONDS" in err and "Sinabs" not in err, err
        code, err = cli(capsys, *args, "--source", "rockpool")
        assert code == 0, err
    code, err = cli(capsys, "opt", model, "-p", "discretize")
    assert code == 2 and "discretize{source=rockpool} reads it" in err, err
    with pytest.raises(NircError, match="source='rockpool' reads it"):
        nirc.simulate(model, "random:T=3")
    plain = chain(tmp_path, "plain", neuron=lif(4, r=np.array([1.0, 2.0, 1.0, 1.0]), v_leak=np.zeros(4)),
                  fc=("Affine", {"weight": np.ones((4, 4)), "bias": np.zeros(4)}))
    code, err = cli(capsys, "run", plain, "--input", "random:T=3")
    assert code == 2 and "hint:     pass --dt SECONDS (Sinabs files count time in steps" in err, err


def test_misuse_gets_a_diagnostic(tmp_path: Path, capsys) -> None:
    for args, words in _misuse_cases(tmp_path):
        code, err = cli(capsys, *args)
        assert code == 2 and words in err, (args, code, err)


def test_random_is_a_spec_only_with_its_prefix(tmp_path: Path, capsys) -> None:
    path = tmp_path / "random_inputs.npz"
    np.savez(path, input=np.ones((7, 12)))
    out = tmp_path / "o.npz"
    code, err = cli(capsys, "run", BRAILLE, "--input", path, "--dt", "1e-4", "-o", out)
    assert code == 0, err
    assert np.load(out)["output"].shape[0] == 7  # the file's 7 steps, not random:T=1000


def test_a_probe_named_like_an_output_is_refused(tmp_path: Path, capsys) -> None:
    path = nir_file(tmp_path / "p.nir", {"input": port("Input", 4), "fc": linear(4, 4),
                                         "lif": lif(4), "lif.v": port("Output", 4)},
                    [("input", "fc"), ("fc", "lif"), ("lif", "lif.v")])  # fmt: skip
    for level in ("nir", "snn"):
        code, err = cli(capsys, "run", path, "--dt", "1e-3", "--input", "random:T=3",
                        "--record", "lif.v", "--level", level)  # fmt: skip
        assert code == 2 and "ambiguous --record" in err, err


def test_membrane_outputs_compare_with_a_stated_tolerance(capsys, corpus: Path) -> None:
    code = main(["opt", str(corpus / "nir-1.0.8" / "cubali.nir"), "-p",
                 "inline-subgraphs,discretize{dt=1e-4},fold-weights,fuse",
                 "--check-equivalence", "--dt", "1e-4"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "real-valued, 1e-09 relative tolerance" in err and "equivalence: ok" in err


def test_thread_counts_follow_the_free_cores(monkeypatch) -> None:
    from nirc.interpreter import jit

    monkeypatch.delenv("NIRC_THREADS", raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (50.0, 0.0, 0.0))
    assert jit.free_cores() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert jit.free_cores() == cores
    monkeypatch.setenv("NIRC_THREADS", "3")
    assert jit.free_cores() == 3


def test_a_stride_past_the_input_computes_like_any_stride_past_it(tmp_path: Path) -> None:
    """One output row: the stride is never applied, however large (no loop over it)."""
    import nirc

    outs = []
    for stride in (6, 2**31 - 1):
        path = nir_file(tmp_path / f"s{stride}.nir", {
            "input": port("Input", 2, 8, 8),
            "c": ("Conv2d", {"weight": np.random.default_rng(0).random((4, 2, 3, 3)),
                             "bias": np.zeros(4), "stride": np.array([stride, 1]),
                             "padding": np.array([0, 0]), "dilation": np.array([1, 1]),
                             "groups": np.int64(1)}),
            "output": port("Output", 4, 1, 6)}, [("input", "c"), ("c", "output")])  # fmt: skip
        x = np.random.default_rng(1).random((5, 2, 8, 8)) < 0.3
        outs.append(nirc.simulate(path, {"input": x}, dt=1e-3)["output"])
    assert outs[0].shape == (5, 4, 1, 6) and outs[0].any()
    np.testing.assert_array_equal(outs[0], outs[1])


def test_lowering_never_builds_ir_its_verifier_refuses(tmp_path: Path, capsys) -> None:
    """Files that once made the `snn` level fail its own verifier: each compiles, or
    is refused with a diagnostic naming the node (never "the IR does not verify")."""
    cases = {
        "tiny_tau": (chain(tmp_path, "tau", neuron=lif(4, tau=np.full(4, 5e-324))),
                     "lif.tau", "dt/tau overflows"),
        "gain_overflow": (chain(tmp_path, "gain", neuron=lif(4, tau=np.full(4, 1e-300),
                                                              r=np.full(4, 1e300))),
                          "lif", "input gain overflows float64 at dt = 0.001 s"),
        "zero_d": (HOSTILE["a 0-d Threshold"][0](tmp_path), None, None),
        "lone": (HOSTILE["an unconnected neuron"][0](tmp_path), None, None),
    }  # fmt: skip
    for name, (path, where, words) in cases.items():
        for args in (["run", path, "--dt", "1e-3", "--input", "random:T=3", "--level", "snn"],
                     ["run", path, "--dt", "1e-3", "--input", "random:T=3"],
                     ["opt", path, "-p", "inline-subgraphs,discretize{dt=1e-3},fold-weights,fuse"],
                     *(["compile", path, "--target", t, "--dt", "1e-3"]
                       for t in ("xylo", "speck", "loihi2", "spinnaker2"))):  # fmt: skip
            code, err = cli(capsys, *args)
            assert "does not verify" not in err and "internal error" not in err, (name, err)
            if words is not None:
                assert code == 2 and f"{where}: " in err and words in err, (name, args, err)
            elif args[0] != "compile":
                assert code == 0, (name, args, err)


def test_folding_past_the_float_range_names_the_weights(tmp_path: Path, capsys) -> None:
    """Finite weights times a finite input gain past the float range: the
    passes that fold them refuse with the synapse's field, before any IR."""
    path = chain(tmp_path, "fold", fc=("Linear", {"weight": np.full((4, 4), 1e300)}),
                 neuron=("IF", {"r": np.full(4, 1e300), "v_threshold": np.ones(4)}))  # fmt: skip
    for args in (["opt", path, "-p", "inline-subgraphs,discretize{dt=1e-3},fold-weights"],
                 *(["compile", path, "--target", t, "--dt", "1e-3", "-o", tmp_path / t]
                   for t in ("xylo", "loihi2", "spinnaker2"))):  # fmt: skip
        code, err = cli(capsys, *args)
        assert code == 2, (args, err)
        assert "error: fc.weight: folding gains and scales into the weights overflows float64" in err
        assert "found:    inf at flat index 0" in err and "does not verify" not in err


def test_a_readout_past_float32_still_gives_a_json_report(tmp_path: Path, capsys) -> None:
    """An LI readout whose float voltages (1e301) are past the chip readout's
    float32 range: the compile succeeds, and its distances are the largest
    float, not inf or NaN (which JSON cannot hold: once an internal error)."""
    import json

    path = nir_file(tmp_path / "huge.nir", {
        "input": port("Input", 1), "s": ("Scale", {"scale": np.array([2.0])}),
        "li": ("LI", {"tau": np.array([0.01]), "r": np.array([1e300]), "v_leak": np.zeros(1)}),
        "output": port("Output", 1),
    }, [("input", "s"), ("s", "li"), ("li", "output")])  # fmt: skip
    keys = {"loihi2": "count_distance", "spinnaker2": "count_error"}
    for t, key in keys.items():
        code, err = cli(capsys, "compile", path, "--target", t, "--dt", "1e-3",
                        "--allow-approximate", "-o", tmp_path / t)  # fmt: skip
        assert code == 0, err
        report = json.loads((tmp_path / t / "report.json").read_text())
        assert report["fidelity"]["calibration"][key] == np.finfo(np.float64).max, t


def test_a_bias_that_dwarfs_the_weights_is_refused_naming_the_layer(tmp_path, capsys) -> None:
    """Weights of 1e30 and a bias of 1e300: in SpiNNaker2's units (the weights
    scaled to 8 bits) the bias is ~1e270, which its float32 parameters cannot
    hold (once IR its verifier refused); Loihi 2's 13-bit bias mantissa
    leaves every weight zero (once netx's exponent search, with no layer
    named)."""
    path = chain(tmp_path, "bias", fc=("Affine", {"weight": np.eye(4) * 1e30,
                                                  "bias": np.full(4, 1e300)}),
                 neuron=("IF", {"r": np.ones(4), "v_threshold": np.ones(4)}))  # fmt: skip
    code, err = cli(capsys, "compile", path, "--target", "spinnaker2", "--dt", "1e-3",
                    "-o", tmp_path / "s2")  # fmt: skip
    assert code == 2, err
    assert "error: lif: the bias (`i_offset`) in the chip's units is past float32's range" in err
    assert "does not verify" not in err and not (tmp_path / "s2").exists()
    code, err = cli(capsys, "compile", path, "--target", "loihi2", "--dt", "1e-3",
                    "-o", tmp_path / "l2")  # fmt: skip
    assert code == 2, err
    assert "error: lif: every weight rounds to zero at Loihi's precision" in err
    assert "negligible against its bias" in err


def test_xylo_weights_past_the_float_range_once_scaled_get_a_diagnostic(tmp_path, capsys) -> None:
    """Weights of 1e300 onto thresholds of 1e-30: Xylo's scale (threshold
    relative) takes them past the float range; the shift search saturates
    them like any too large weight (once an internal error: an int of inf)."""
    path = nir_file(tmp_path / "xy.nir", {
        "input": port("Input", 4), "fc": ("Linear", {"weight": np.eye(4) * 1e300}),
        "lif": lif(4, v_threshold=np.full(4, 1e-30)), "fc2": ("Linear", {"weight": np.ones((2, 4))}),
        "out": lif(2), "output": port("Output", 2),
    }, [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "out"), ("out", "output")])  # fmt: skip
    code, err = cli(capsys, "compile", path, "--target", "xylo", "--dt", "1e-3", "-o", tmp_path / "x")
    assert code == 2, err
    assert "error: no quantization of the network fits Xylo's number formats" in err
    assert "thresholds 1e-30..1e-30, weights up to 1e+299" in err


FUZZ_FOUND = Path(__file__).with_name("data") / "fuzz"  # files tests/fuzz_extremes.py generated


def test_fuzz_found_files_give_a_diagnostic_or_compile(tmp_path, capsys) -> None:
    """Files the extreme-value fuzz generated (seeds 201 and 204, and a Xylo
    one), each once an internal error: a lone weight of -2 among zeros, which lava's
    truncation zeroes although netx keeps it (an assertion); a threshold 6e28
    times the weights, past Speck's int16 threshold (an int32 overflow while
    the quantizer simulated its candidates: now saturated, as on the chip)."""
    code, err = cli(capsys, "compile", FUZZ_FOUND / "loihi2_weights_lava_truncates.nir",
                    "--target", "loihi2", "--dt", "1e-3", "--calib-steps", "30")  # fmt: skip
    assert code == 2, err
    assert "error: n0: netx and lava would load this layer's weights differently" in err
    assert "found:    integer weights -2..0, 1 of 10 nonzero" in err
    code, err = cli(capsys, "compile", FUZZ_FOUND / "speck_threshold_past_int16.nir", "--target",
                    "speck", "--dt", "1e-3", "--calib-steps", "30", "--allow-approximate")  # fmt: skip
    assert code == 0, err
    # weights of ~1e200 into Xylo's output layer: the squares of its weight error overflowed
    # to a NaN that report.json could not hold
    out = tmp_path / "xylo"
    code, err = cli(capsys, "compile", FUZZ_FOUND / "xylo_weights_whose_squares_overflow.nir",
                    "--target", "xylo", "--dt", "1e-3", "--calib-steps", "30", "-o", out)  # fmt: skip
    assert code == 0, err
    errors = json.loads((out / "report.json").read_text())["layer_errors"]
    assert all(0.0 <= e["weight_rel_rms_error"] < 1.0 for e in errors), errors


@pytest.mark.parametrize("target", ["loihi2", "spinnaker2"])
def test_run_on_a_chip_prints_a_readout_as_values(tmp_path, capsys, target) -> None:
    """`nirc run --target` on an LI readout (fuzz seed 205): its voltages are
    values, printed as a range (once summed as spike counts: an int of NaN or
    inf, for a readout past float32, was an internal error)."""
    code = main(["run", str(FUZZ_FOUND / "readout_past_float32.nir"), "--target", target, "--dt",
                 "1e-3", "--input", "random:T=15,B=2", "--allow-approximate"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "  output output [2, 2]: min " in printed.out and "spikes over" not in printed.out


def test_a_float_reference_past_the_float_range_is_refused(tmp_path, capsys) -> None:
    """An LI readout integrating 1e300 a step reaches inf: finite parameters,
    outputs that are not. The targets refuse to measure a chip against it
    (once a NaN in report.json: an internal error)."""
    path = nir_file(tmp_path / "inf.nir", {
        "input": port("Input", 2), "fc": ("Linear", {"weight": np.full((2, 2), 1e307)}),
        "li": ("LI", {"tau": np.full(2, 1e6), "r": np.full(2, 1e6), "v_leak": np.zeros(2)}),
        "output": port("Output", 2),
    }, [("input", "fc"), ("fc", "li"), ("li", "output")])  # fmt: skip
    for t in ("loihi2", "spinnaker2"):
        code, err = cli(capsys, "compile", path, "--target", t, "--dt", "1", "--calib-rate", "0.5",
                        "--allow-approximate", "-o", tmp_path / t)  # fmt: skip
        assert code == 2, (t, err)
        assert "error: output: the float network's output passes the float range" in err, t
        assert "found:    inf at step " in err, t


def _kws_like(tmp_path: Path) -> Path:
    return nir_file(tmp_path / "kws.nir", {
        "input": port("Input", 4), "fc": ("Linear", {"weight": np.eye(3, 4)}), "lif": lif(3),
        "fc2": ("Linear", {"weight": np.eye(3)}), "out": lif(3), "output": port("Output", 3),
    }, [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "out"), ("out", "output")])  # fmt: skip


@pytest.mark.parametrize("target", ["xylo", "loihi2", "spinnaker2"])
def test_calibration_labels_are_checked_as_nirc_eval_checks_them(tmp_path, capsys, target) -> None:
    data = tmp_path / "data.npz"
    np.savez(data, spikes=np.ones((4, 5, 4), np.uint8), labels=np.array([0, 1, 2, 3]))
    code, err = cli(capsys, "compile", _kws_like(tmp_path), "--target", target, "--dt", "1e-3",
                    "--calibrate", data, "-o", tmp_path / "o")  # fmt: skip
    assert code == 2, err
    assert f"error: {data}['labels']: a label is not a class of the network's output" in err
    assert "class indices 0..2 (3 output neurons)" in err and "found:    label 3" in err


def test_input_counts_the_chips_cannot_carry_are_refused_before_building(tmp_path, capsys) -> None:
    """Event counts of 1e13 per step: SpiNNaker2 would build one spike source
    per event (once: out of memory), Loihi 2 graded spikes of 44 bits (once:
    IR its verifier refused); negative counts are named as such."""
    huge, negative = tmp_path / "huge.npz", tmp_path / "negative.npz"
    spikes = np.ones((2, 5, 4), np.int64)
    np.savez(huge, spikes=spikes * 10**13, labels=np.array([0, 1]))
    np.savez(negative, spikes=-spikes, labels=np.array([0, 1]))
    model = _kws_like(tmp_path)
    expect = {
        ("spinnaker2", huge): "input: the input's event counts need more spike sources than the chips hold",
        ("spinnaker2", negative): "input: SpiNNaker2 inputs are spikes: event counts cannot be negative",
        ("loihi2", huge): "input: input event counts larger than Loihi's graded spikes carry",
        ("loihi2", negative): "input: negative inputs: Loihi's input spikes are counts >= 0",
    }  # fmt: skip
    for (target, data), words in expect.items():
        code, err = cli(capsys, "compile", model, "--target", target, "--dt", "1e-3",
                        "--calibrate", data, "-o", tmp_path / target)  # fmt: skip
        assert code == 2 and f"error: {words}" in err, (target, data.name, err)
    # the chip's simulator says the same of a run's inputs (once: "more events than copies")
    steps = tmp_path / "steps.npz"
    np.savez(steps, input=-np.ones((5, 1, 4)))
    code, err = cli(capsys, "run", model, "--target", "spinnaker2", "--dt", "1e-3", "--input", steps)
    assert code == 2 and "error: input: SpiNNaker2 inputs are spikes: event counts cannot be " \
        "negative" in err, err  # fmt: skip


# ----------------------------------------------------------------------------
# subnormal weights: a chip's weight scale must not overflow


def _subnormal_conv(path: Path, weight: float = 5e-324, threshold: float = 1.0) -> Path:
    return nir_file(path, {
        "in": ("Input", {"shape": np.array([1, 8, 8])}),
        "c": ("Conv2d", {"weight": np.full((2, 1, 3, 3), weight), "bias": np.zeros(2),
                         "input_shape": np.array([8, 8]), "stride": np.array([1, 1]),
                         "padding": np.array([0, 0]), "dilation": np.array([1, 1]), "groups": 1}),
        "i": ("IF", {"r": np.ones((2, 6, 6)), "v_threshold": np.full((2, 6, 6), threshold)}),
        "out": ("Output", {"shape": np.array([2, 6, 6])}),
    }, [("in", "c"), ("c", "i"), ("i", "out")])  # fmt: skip


def test_subnormal_weights_compile_silent_on_speck_and_are_refused_by_spinnaker2(tmp_path, capsys) -> None:
    path = _subnormal_conv(tmp_path / "tiny.nir")
    assert main(["compile", str(path), "--target", "speck", "-o", str(tmp_path / "speck")]) == 0
    capsys.readouterr()
    assert main(["compile", str(path), "--dt", "1", "--target", "spinnaker2", "-o", str(tmp_path / "s2")]) == 2
    err = capsys.readouterr().err
    assert "error: i: the weights are negligible against the threshold" in err
    assert "largest weight 4.94e-324, threshold 1" in err
    assert not (tmp_path / "s2").exists()


def test_a_subnormal_threshold_compiles_on_speck_as_any_positive_input(tmp_path, capsys) -> None:
    """A threshold of 5e-324 (a mutated corpus file, once an int of inf in the
    scale search): v > thr is v_int >= 1 at any scale, so the weights keep
    the max-abs scale and threshold_high is 1; with subnormal weights too no
    finite scale exists, and the layer compiles at scale 1."""
    for name, weight in (("thr", 0.5), ("both", 5e-324)):
        path = _subnormal_conv(tmp_path / f"{name}.nir", weight=weight, threshold=5e-324)
        out = tmp_path / name
        code, err = cli(capsys, "compile", path, "--target", "speck", "-o", out)
        assert code == 0, (name, err)
        layer = json.loads((out / "report.json").read_text())["quantization"]["layers"][0]
        assert layer["threshold_high"] == 1, (name, layer)


def test_edited_ir_with_malformed_attributes_gets_a_diagnostic(tmp_path, capsys) -> None:
    """Hand-edited IR whose attributes fail their own checks while parsing (a
    `tensor` parameter given `i32`, 12 in an i1) or whose dense hex blob is two
    bytes longer than its type: a diagnostic from every command that reads it
    (found by mutating printed IR; both were internal errors)."""
    ir = tmp_path / "m.mlir"
    assert main(["import", str(BRAILLE), "-o", str(ir)]) == 0
    text = ir.read_text()
    capsys.readouterr()
    wrong_type = tmp_path / "type.mlir"
    wrong_type.write_text(text.replace(": tensor<12xf32>) {weight", ": i32) {weight", 1))
    blob = tmp_path / "blob.mlir"
    blob.write_text(text.replace('weight = dense<"0x', 'weight = dense<"0x0000', 1))
    narrow = tmp_path / "narrow.mlir"  # a ValueError while parsing: 12 does not fit an i1
    narrow.write_text(text.replace("{shape = dense<12> : tensor<1xi64>}",
                                   "{shape = dense<12> : tensor<1xi1>}", 1))  # fmt: skip
    for path, words in ((wrong_type, "cannot parse the IR"), (narrow, "cannot parse the IR"),
                        (blob, "a dense attribute's bytes do not fill its type")):  # fmt: skip
        assert path.read_text() != text
        for args in (["opt", path, "-p", "canonicalize"], ["run", path, "--input", "random:T=3"],
                     ["compile", path, "--target", "spinnaker2", "-o", tmp_path / "o"]):  # fmt: skip
            code, err = cli(capsys, *args)
            assert code == 2 and words in err, (path.name, args[0], err)


def test_an_unclosed_string_literal_is_refused_at_once(tmp_path) -> None:
    """A string literal left open on its line made xDSL 0.74's lexer backtrack
    for hours (its pattern nests a repeat in a repeat): `nirc opt` hung on a
    50-character line of mutated IR. nirc checks literals first, in linear
    time; run in a process of its own, so that a regression fails, not hangs."""
    import subprocess
    import sys

    ir = tmp_path / "m.mlir"
    assert main(["import", str(BRAILLE), "-o", str(ir)]) == 0
    text = ir.read_text()
    broken = text.replace('nir.output "output"(', 'nir.output "output(', 1)
    assert broken != text
    ir.write_text(broken)
    for command in (["opt", str(ir), "-p", "canonicalize"], ["run", str(ir), "--input", "random:T=3"]):
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from nirc.cli import main; sys.exit(main())", *command],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert "string literal not closed on its line" in proc.stderr


def test_numpy_floating_point_warnings_do_not_reach_the_terminal(monkeypatch, capsys) -> None:
    import sys
    import types

    from nirc import cli

    fake = types.ModuleType("nirc_test_fake_command")
    fake.add_arguments = lambda parser: None
    fake.run = lambda args: int(np.float64(1.0) / np.float64(0.0) > 0) - 1  # inf > 0: exit 0
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setitem(cli.COMMANDS, "fake", (fake.__name__, "a command that divides by zero"))
    monkeypatch.delenv("NIRC_TRACEBACK", raising=False)
    with np.errstate(all="warn"):
        assert main(["fake"]) == 0
    assert "RuntimeWarning" not in capsys.readouterr().err
    monkeypatch.setenv("NIRC_TRACEBACK", "1")  # a developer sees them
    with np.errstate(all="warn"), pytest.warns(RuntimeWarning, match="divide by zero"):
        main(["fake"])


def test_compile_for_every_chip(tmp_path: Path, capsys) -> None:
    """`--target all`: each chip that can run the network into DIR/CHIP, each
    that cannot named with its reason, exit 0; none at all is an error (exit
    2, nothing written); a missing time step is the file's, not a chip's."""
    out = tmp_path / "all"
    code = main(["compile", str(BRAILLE), "--target", "all", "--dt", "1e-4", "-o", str(out)])
    text = capsys.readouterr()
    assert code == 0, text.err
    assert sorted(p.name for p in out.iterdir()) == ["loihi2", "spinnaker2", "xylo"]
    assert (out / "loihi2" / "model.net").is_file() and (out / "xylo" / "spec.npz").is_file()
    assert "speck: cannot run this network: lif1.w_rec.delay: a recurrent connection" in text.out
    bare = nir_file(tmp_path / "bare.nir", {"input": port("Input", 4), "fc": linear(4, 4),
                                            "output": port("Output", 4)},
                    [("input", "fc"), ("fc", "output")], {"dt": 1e-3})  # fmt: skip
    code, err = cli(capsys, "compile", bare, "--target", "all", "-o", tmp_path / "none")
    assert code == 2 and "no chip can run this network" in err and "speck: " in err, err
    assert not (tmp_path / "none").exists()
    fire = ("IF", {"r": np.ones(4), "v_threshold": np.ones(4), "v_reset": np.zeros(4)})
    no_dt = chain(tmp_path, "if", neuron=fire)
    code, err = cli(capsys, "compile", no_dt, "--target", "all", "-o", tmp_path / "nodt")
    assert code == 2 and "--dt SECONDS" in err and "cannot run this network" not in err, err


def test_weights_near_the_top_of_the_float_range_run_without_a_traceback(tmp_path: Path, capsys) -> None:
    """Weights of 2**1000 (and sums past the float range): the exactness test
    of their sums works at the top of float64's exponents (it computed
    2**(53 + their lowest bit) and overflowed) and without numpy's overflow
    warnings; the run goes on, every command exit 0 or 2 with a diagnostic."""
    import warnings

    from nirc.graph import Node
    from nirc.interpreter.ops import Dense

    for name, v in (("big", 2.0**1000), ("past", 2.0**1023)):
        path = chain(tmp_path, name, fc=("Linear", {"weight": np.full((4, 4), v)}),
                     neuron=("IF", {"r": np.ones(4), "v_threshold": np.ones(4)}))  # fmt: skip
        code, err = cli(capsys, "run", path, "--dt", "1e-3", "--input", "random:p=0.5,T=20")
        assert code in (0, 2) and "internal error" not in err and "Traceback" not in err, err
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # in the library, a RuntimeWarning reaches the caller
            k = Dense(Node("d", "Linear", {"weight": np.full((3, 4), v)}), (4,), (3,))
        assert not k.exact_for(1e300)
        assert k.exact_for(1.0) == (v < 2.0**1023)  # 4 x 2**1023 is past the float range
