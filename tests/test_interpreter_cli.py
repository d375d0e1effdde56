"""`nirc run`: options, files, summary, diagnostics."""

from __future__ import annotations

import io

import numpy as np
import pytest

from nirc.cli import main
from nirc.run_cmd import Progress


def nirc_run(capsys, *argv):
    code = main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_run_paper_lif_npz_in_and_out(corpus, tmp_path, capsys):
    x = np.loadtxt(corpus / "paper-lif" / "lif_exact.csv", delimiter=",")[:, :1]
    np.savez(tmp_path / "x.npz", input=x)
    out = tmp_path / "out.npz"
    code, stdout, err = nirc_run(
        capsys, corpus / "public" / "paper_lif_norse.nir", "--input", tmp_path / "x.npz",
        "--dt", "1e-4", "-o", out, "--record", "1.v,0",
    )  # fmt: skip
    assert code == 0, err
    assert "simulated 1000 steps" in stdout and "4 spikes" in stdout
    with np.load(out) as res:
        assert sorted(res.files) == ["0", "1.v", "output"]
        assert np.nonzero(res["output"][:, 0])[0].tolist() == [460, 510, 710, 760]
        assert res["1.v"].shape == (1000, 1)
    assert not list(tmp_path.glob(".out.npz.*"))  # no temporary left behind


def test_run_random_batch_and_inferred_dt(corpus, capsys, tmp_path):
    out = tmp_path / "o.npz"
    code, stdout, err = nirc_run(
        capsys, corpus / "public" / "paper_braille_bias_zero.nir",
        "--input", "random:p=0.2,T=50,B=3", "--seed", "4", "-o", out,
        "--integrator", "exact", "--reset", "subtract",
    )  # fmt: skip
    assert code == 0, err
    assert "inferred dt = 0.0001" in err
    assert "batch 3" in stdout and "exact" in stdout and "subtract" in stdout
    with np.load(out) as res:
        assert res["output"].shape == (50, 3, 7)


def test_run_errors(corpus, tmp_path, capsys):
    cnn = corpus / "public" / "paper_cnn_sinabs.nir"
    code, _, err = nirc_run(capsys, cnn, "--input", "random:T=5")
    assert code == 2 and "--dt" in err and "Traceback" not in err
    code, _, err = nirc_run(capsys, cnn, "--dt", "1")
    assert code == 2 and "`input` [T, 2, 34, 34]" in err
    np.savez(tmp_path / "bad.npz", inp=np.zeros((3, 2, 34, 34)))
    code, _, err = nirc_run(capsys, cnn, "--dt", "1", "--input", tmp_path / "bad.npz")
    assert code == 2 and "unknown ['inp']" in err and "missing ['input']" in err
    np.savez(tmp_path / "bad2.npz", input=np.zeros((3, 2, 34)))
    code, _, err = nirc_run(capsys, cnn, "--dt", "1", "--input", tmp_path / "bad2.npz")
    assert code == 2 and "wrong shape" in err and "[T, 2, 34, 34]" in err
    code, _, err = nirc_run(capsys, cnn, "--dt", "1", "--input", "random:q=1")
    assert code == 2 and "unknown key `q`" in err
    code, _, err = nirc_run(capsys, cnn, "--dt", "1", "--input", tmp_path / "missing.npz")
    assert code == 2 and "no such" in err
    code, _, err = nirc_run(capsys, cnn, "--dt", "1", "--input", "random:T=2", "--record", "9.v")
    assert code == 2 and "no state `v`" in err
    braille = corpus / "public" / "paper_braille_bias_zero.nir"  # lif1 is a subgraph
    for probe, guess in (("lif1.v", "lif1.lif.v"), ("lif1.w_rc", "lif1.w_rec")):
        code, _, err = nirc_run(capsys, braille, "--dt", "1e-4", "--input", "random:T=2",
                                "--record", probe)  # fmt: skip
        assert code == 2 and f"did you mean `{guess}`?" in err, err


def test_run_strict_refuses_repairs(corpus, capsys):
    rock = corpus / "public" / "paper_lif_rockpool.nir"
    code, _, err = nirc_run(capsys, rock, "--input", "random:T=3", "--dt", "1e-3")
    assert code == 0 and "warning" in err
    code, _, err = nirc_run(capsys, rock, "--input", "random:T=3", "--dt", "1e-3", "--strict")
    assert code == 2 and "strict" in err


def test_run_plot(corpus, tmp_path, capsys):
    lif = corpus / "public" / "paper_lif_norse.nir"
    png = tmp_path / "p.png"
    args = ("--input", "random:p=0.3,T=200", "--dt", "1e-4", "--record", "1.v", "--plot", png)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        code, _, err = nirc_run(capsys, lif, *args)
        assert code == 2 and "matplotlib" in err and "nirc[plot]" in err
        assert not png.exists()
        return
    code, _, err = nirc_run(capsys, lif, *args)
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_only_on_a_terminal_after_a_while(monkeypatch):
    import nirc.run_cmd as rc

    class Tty(io.StringIO):
        def isatty(self):
            return True

    plain = io.StringIO()
    p = Progress(100, plain)
    monkeypatch.setattr(rc, "PROGRESS_AFTER_S", 0.0)
    p(50)
    p.close()
    assert plain.getvalue() == ""
    tty = Tty()
    p = Progress(100, tty)
    p(100)
    p.close()
    assert "100/100 steps" in tty.getvalue() and tty.getvalue().endswith("\n")
    monkeypatch.setattr(rc, "PROGRESS_AFTER_S", 60.0)
    quiet = Tty()
    p = Progress(100, quiet)
    p(100)
    p.close()
    assert quiet.getvalue() == ""


def test_run_modes_agree(corpus, tmp_path, capsys):
    results = {}
    for mode in ("fast", "step"):
        out = tmp_path / f"{mode}.npz"
        code, _, err = nirc_run(
            capsys, corpus / "nir-1.0.8" / "nested_recurrent.nir", "--input",
            "random:p=0.5,T=100,seed=2", "--mode", mode, "-o", out, "--record", "rnn.lif.i",
        )  # fmt: skip
        assert code == 0, err
        with np.load(out) as res:
            results[mode] = {k: res[k] for k in res.files}
    assert results["fast"].keys() == results["step"].keys() == {"output", "rnn.lif.i"}
    for k in results["fast"]:
        np.testing.assert_array_equal(results["fast"][k], results["step"][k])


def test_run_jit_on_and_off_agree(corpus, tmp_path, capsys):
    """--jit on (the compiled kernels, when numba is installed) and --jit off
    write the same arrays; a bad value is refused by the parser."""
    results = {}
    for jit in ("on", "off"):
        out = tmp_path / f"{jit}.npz"
        code, _, err = nirc_run(
            capsys, corpus / "public" / "paper_cnn_sinabs.nir", "--dt", "1", "--input",
            "random:p=0.1,T=30,B=2,seed=3", "--jit", jit, "-o", out, "--record", "1.v,3",
        )  # fmt: skip
        assert code == 0, err
        with np.load(out) as res:
            results[jit] = {k: res[k] for k in res.files}
    assert results["on"].keys() == {"output", "1.v", "3"}
    for k in results["on"]:
        np.testing.assert_array_equal(results["on"][k], results["off"][k])
    code, _, err = nirc_run(capsys, corpus / "public" / "paper_cnn_sinabs.nir", "--jit", "fast")
    assert code != 0 and "--jit" in err


def test_a_long_compile_is_announced_once(monkeypatch):
    """numba's compile events (cache loads included) run a timer: a compile
    that outlasts it says so on the stream, once per process; a quick one
    (a load from the cache) says nothing."""
    import time

    from nirc.interpreter import jit

    buf = io.StringIO()
    monkeypatch.setitem(jit._NOTICE, "stream", buf)
    monkeypatch.setattr(jit, "NOTICE_AFTER_S", 0.05)
    notice = jit._CompileNotice()
    notice.on_start(None)
    notice.on_end(None)
    time.sleep(0.2)
    assert buf.getvalue() == ""
    for _ in range(2):  # nested compiles (a kernel's callees), then a second one
        notice.on_start(None)
        notice.on_start(None)
        time.sleep(0.3)
        notice.on_end(None)
        notice.on_end(None)
    said = buf.getvalue()
    assert said.count("compiling the simulation kernels for this machine, once") == 1, said


def test_the_cli_announces_compiles_only_on_a_terminal(monkeypatch, capsys):
    from nirc.interpreter import jit

    calls = []
    monkeypatch.setattr(jit, "announce_compiles", calls.append)
    assert main(["targets"]) == 0
    assert calls == [None]  # pytest's captured stderr is no terminal: counted, not announced

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    assert main(["targets"]) == 0
    assert len(calls) == 2 and calls[1].isatty()


def test_a_runs_compile_is_reported_apart_from_its_speed():
    """A first run's 18 s compile made 20,000 steps look like 1,000 steps/s:
    the summary says the compile apart, with the speed without it, where it
    is a fifth of the run or more."""
    from nirc.run_cmd import compile_apart

    said = compile_apart(20000, 18.9, 18.4)
    assert said == (" (18.4 s of it compiling the kernels for this machine, once: "
                    "40,000 steps/s without)")  # fmt: skip
    assert compile_apart(20000, 0.4, 0.0) == ""  # nothing compiled
    assert compile_apart(20000, 10.0, 0.3) == ""  # too short to matter
    assert compile_apart(20000, 10.0, 1.9) == ""  # under a fifth of the run


def test_compiles_are_counted_without_a_terminal():
    """The CLI counts numba's compiles whether or not stderr is a terminal
    (only the notice needs one)."""
    numba = pytest.importorskip("numba")
    from nirc.interpreter import jit

    jit.announce_compiles(None)
    before = jit.compile_seconds()

    @numba.njit
    def fresh(x):  # pragma: no cover - compiled
        return x * 3 + 1

    assert fresh(2) == 7
    assert jit.compile_seconds() > before
