"""`nirc compile/run/targets` for Loihi 2: files, layouts, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from nirc.cli import main
from nirc.nirfile import write

sys.path.insert(0, str(Path(__file__).resolve().parent / "loihi2"))
from graphs import make_conv_graph  # noqa: E402


def nirc(capsys, *argv):
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def conv_model(tmp_path: Path) -> Path:
    path = tmp_path / "conv.nir"
    write(path, make_conv_graph())
    return path


def test_compile_writes_the_artifacts(tmp_path, capsys):
    model = conv_model(tmp_path)
    code, out, err = nirc(capsys, "compile", model, "--target", "loihi2", "--dt", "1",
                          "-o", tmp_path / "out", "--calib-steps", "30")  # fmt: skip
    assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["model.mlir", "model.net", "report.json", "report.txt", "run_lava.py"]
    assert "compiled conv.nir for loihi2: 3 layers" in out and "latency 3 step(s)" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["target"] == "loihi2" and len(report["layers"]) == 3
    # the same command again: the same bytes
    code, _, _ = nirc(capsys, "compile", model, "--target", "loihi2", "--dt", "1",
                      "-o", tmp_path / "again", "--calib-steps", "30")  # fmt: skip
    for f in files:
        assert (tmp_path / "out" / f).read_bytes() == (tmp_path / "again" / f).read_bytes(), f


def test_run_compiles_in_memory_and_runs_compiled_files(tmp_path, capsys):
    model = conv_model(tmp_path)
    x = (np.random.default_rng(0).random((20, 2, 1, 6, 6)) < 0.4).astype(np.uint8)
    np.savez(tmp_path / "x.npz", input=x)
    code, out, err = nirc(capsys, "run", model, "--target", "loihi2", "--dt", "1", "--input",
                          tmp_path / "x.npz", "-o", tmp_path / "y.npz", "--record", "if2.v")  # fmt: skip
    assert code == 0, err
    assert "simulated 20 steps on loihi2" in out
    with np.load(tmp_path / "y.npz") as y:
        assert sorted(y.files) == ["if2.v", "output"]
        assert y["output"].shape == (20, 2, 2) and y["if2.v"].shape == (20, 2, 3, 3, 3)
        first = y["output"].copy()
    nirc(capsys, "compile", model, "--target", "loihi2", "--dt", "1", "-o", tmp_path / "out")
    for compiled in ("out", "out/model.mlir", "out/model.net"):
        code, _, err = nirc(capsys, "run", tmp_path / compiled, "--target", "loihi2", "--input",
                            tmp_path / "x.npz", "-o", tmp_path / "z.npz")  # fmt: skip
        assert code == 0, err
        with np.load(tmp_path / "z.npz") as z:
            np.testing.assert_array_equal(z["output"], first)


def test_model_that_does_not_fit_exits_2_with_a_table(tmp_path, capsys):
    model = conv_model(tmp_path)
    (tmp_path / "cap.json").write_text(json.dumps({"cores_per_chip": 64}))
    code, out, err = nirc(capsys, "compile", model, "--target", "loihi2", "--dt", "1",
                          "--core-neurons", "1", "--chips", "1", "--capacity", tmp_path / "cap.json",
                          "-o", tmp_path / "out")  # fmt: skip
    assert code == 2
    assert "error:" in err and "Traceback" not in err
    # the populations' needs (101 neurons at one per core) against 64 cores
    assert "if1" in err and "72" in err and "64" in err, err
    assert not (tmp_path / "out").exists()


def test_capacity_file_and_chips(tmp_path, capsys):
    model = conv_model(tmp_path)
    (tmp_path / "cap.json").write_text(json.dumps({"neurons_per_core": 16}))
    code, out, err = nirc(capsys, "compile", model, "--target", "loihi2", "--dt", "1",
                          "--capacity", tmp_path / "cap.json", "--chips", "2",
                          "--partition", "index", "-o", tmp_path / "out")  # fmt: skip
    assert code == 0, err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["resources"]["capacity"]["neurons_per_core"] == 16
    assert report["resources"]["capacity"]["chips"] == 2
    assert all(c["neurons"] <= 16 for c in report["cores"])
    assert report["resources"]["cores_used"] == len(report["cores"]) >= 72 // 16


def test_targets_lists_loihi2(capsys):
    code, out, _ = nirc(capsys, "targets", "loihi2")
    assert code == 0
    assert "128 neuron cores" in out and "8,192 neurons" in out and "1,152 chips" in out
    assert "nirc's estimate" in out and "--core-neurons" in out


def test_bad_netx_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.net"
    bad.write_text("not hdf5")
    code, _, err = nirc(capsys, "run", bad, "--target", "loihi2", "--input", "random:T=5")
    assert code == 2 and "not an HDF5 file" in err


def test_loihi2_flags_reach_the_target(tmp_path, capsys):
    """--search and --replicas (the loihi2 group) are passed only when given;
    a bad value is a diagnostic (exit 2), not a traceback."""
    from graphs import count_inputs, make_counts_graph

    model = tmp_path / "counts.nir"
    write(model, make_counts_graph())
    np.savez(tmp_path / "calib.npz", input=count_inputs(np.random.default_rng(1), 40, 8, 4))
    base = ["compile", model, "--target", "loihi2", "--source", "rockpool", "--calibrate",
            tmp_path / "calib.npz"]  # fmt: skip
    code, _, err = nirc(capsys, *base, "--replicas", "plenty")
    assert code == 2 and "unknown replica count" in err and "a number of replicas 1..31" in err
    code, _, err = nirc(capsys, *base, "--replicas", "none", "--search", "full", "-o", tmp_path / "o")
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["quantization"]["search"] == "full"
    assert [e["construction"] for e in report["layers"]] == ["plain", "plain"]
    code, _, err = nirc(capsys, *base, "-o", tmp_path / "d")
    report = json.loads((tmp_path / "d" / "report.json").read_text())
    assert code == 0 and report["quantization"]["search"] == "fast"
    assert report["layers"][0]["construction"].startswith("ladder")
