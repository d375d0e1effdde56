"""NIRData (nir 1.0.8's data format) in and out of `nirc run`: read through
nirc's reader and, when the `nir` extra is installed, nir's own."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from nirc.cli import main
from nirc.diagnostics import NircError
from nirc.nirdata import read_inputs, write_outputs

ROOT = Path(__file__).resolve().parents[1]
BRAILLE = ROOT / "examples" / "braille_rnn.nir"


def _spikes(seed: int = 1, shape=(3, 40, 12)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape) < 0.2


def _run(capsys, *args) -> str:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 0, err
    return err


def test_outputs_and_probes_round_trip_through_nir(tmp_path: Path, capsys) -> None:
    nir = pytest.importorskip("nir")
    out = tmp_path / "o.nird"
    _run(capsys, "run", BRAILLE, "--dt", "1e-4", "--input", "random:T=50,B=3",
         "--record", "lif1.lif.v,lif1.lif", "-o", out)  # fmt: skip
    npz = tmp_path / "o.npz"
    _run(capsys, "run", BRAILLE, "--dt", "1e-4", "--input", "random:T=50,B=3",
         "--record", "lif1.lif.v,lif1.lif", "-o", npz)  # fmt: skip
    ref = np.load(npz)
    data = nir.read_data(str(out))
    v = data.nodes["lif1.lif"].observables["v"]
    assert isinstance(v, nir.TimeGriddedData) and v.dt == 1e-4
    np.testing.assert_array_equal(v.data, ref["lif1.lif.v"].transpose(1, 0, 2))
    for node in ("output", "lif1.lif"):
        ev = data.nodes[node].observables["spikes"]
        assert isinstance(ev, nir.EventData)
        grid = ev.to_time_gridded(1e-4).data
        np.testing.assert_array_equal(grid, ref[node].transpose(1, 0, 2) > 0)


def test_grid_spikes_and_unbatched_runs(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o.h5"
    _run(capsys, "run", BRAILLE, "--dt", "1e-4", "--input", "random:T=20", "-o", out,
         "--output-format", "nirdata", "--spike-format", "grid")  # fmt: skip
    with h5py.File(out) as f:
        g = f["nodes/output/observables/spikes"]
        assert g.attrs["__type__"] == "TimeGriddedData" and g["data"].shape == (1, 20, 7)


def test_inputs_from_nir_gridded_and_event_files_equal_the_npz(tmp_path: Path, capsys) -> None:
    nir = pytest.importorskip("nir")
    spikes = _spikes()
    grid = nir.TimeGriddedData(spikes, dt=1e-4)
    nir.write_data(str(tmp_path / "grid.nird"),
                   nir.NIRGraphData({"input": nir.NIRNodeData({"spikes": grid})}))  # fmt: skip
    nir.write_data(str(tmp_path / "ev.nird"),
                   nir.NIRGraphData({"input": nir.NIRNodeData({"spikes": grid.to_event(200)})}))  # fmt: skip
    np.savez(tmp_path / "in.npz", input=spikes.transpose(1, 0, 2))
    outs = {}
    for name in ("grid.nird", "ev.nird", "in.npz"):
        _run(capsys, "run", BRAILLE, "--dt", "1e-4", "--input", tmp_path / name,
             "-o", tmp_path / f"out_{name}.npz")  # fmt: skip
        outs[name] = np.load(tmp_path / f"out_{name}.npz")["output"]
    assert outs["in.npz"].shape == (40, 3, 7) and outs["in.npz"].sum() > 0
    np.testing.assert_array_equal(outs["grid.nird"], outs["in.npz"])
    np.testing.assert_array_equal(outs["ev.nird"], outs["in.npz"])


def test_nirc_reads_what_it_writes(tmp_path: Path) -> None:
    """Without nir installed too: spikes written as events come back as counts."""
    counts = np.random.default_rng(0).integers(0, 3, (30, 2, 12))
    path = tmp_path / "x.nird"
    write_outputs(path, {"input": counts}, 1e-3, nodes={"input"})
    back = read_inputs(path, {"input": (12,)}, 1e-3)["input"]
    np.testing.assert_array_equal(back, counts)
    write_outputs(path, {"input": counts}, 1e-3, nodes={"input"}, spikes="grid")
    np.testing.assert_array_equal(read_inputs(path, {"input": (12,)}, 1e-3)["input"], counts)


def test_written_files_are_deterministic(tmp_path: Path) -> None:
    res = {"out": np.ones((5, 2, 3)), "lif.v": np.linspace(0, 1, 30).reshape(5, 2, 3)}
    write_outputs(tmp_path / "a.nird", res, 1e-3, nodes={"out", "lif"})
    write_outputs(tmp_path / "b.nird", res, 1e-3, nodes={"out", "lif"})
    assert (tmp_path / "a.nird").read_bytes() == (tmp_path / "b.nird").read_bytes()


def test_bad_nirdata_gets_diagnostics(tmp_path: Path) -> None:
    path = tmp_path / "x.nird"
    write_outputs(path, {"other": np.ones((5, 1, 12))}, 1e-3, nodes={"other"})
    with pytest.raises(NircError, match="no data for an Input"):
        read_inputs(path, {"input": (12,)}, 1e-3)
    write_outputs(path, {"input": np.ones((5, 1, 12))}, 1e-3, nodes={"input"}, spikes="grid")
    with pytest.raises(NircError, match="time step differs") as info:
        read_inputs(path, {"input": (12,)}, 1e-4)
    assert "dt = 0.001 s" in info.value.render()
    with pytest.raises(NircError, match="does not fit the Input"):
        read_inputs(path, {"input": (4,)}, 1e-3)
    write_outputs(path, {"input": np.ones((5, 1, 12))}, 1e-3, nodes={"input"})
    with pytest.raises(NircError, match="need the simulation's time step"):
        read_inputs(path, {"input": (12,)}, None)
    with h5py.File(path, "r+") as f:
        f["nodes/input/observables/spikes/idx"][0, 0] = 99
    with pytest.raises(NircError, match="events outside the Input"):
        read_inputs(path, {"input": (12,)}, 1e-3)
    with h5py.File(path, "w") as f:
        f.attrs["__type__"] = "Something"
    with pytest.raises(NircError, match="not a NIRData file"):
        read_inputs(path, {"input": (12,)}, 1e-3)


def test_links_out_of_the_file_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.ones((1, 5, 12))
    path = tmp_path / "x.nird"
    write_outputs(path, {"input": np.ones((5, 1, 12))}, 1e-3, nodes={"input"}, spikes="grid")
    with h5py.File(path, "r+") as f:
        g = f["nodes/input/observables/spikes"]
        del g["data"]
        g["data"] = h5py.ExternalLink(str(other), "data")
    with pytest.raises(NircError, match="links out of the file"):
        read_inputs(path, {"input": (12,)}, 1e-3)


def test_nested_graph_data_reaches_dotted_inputs(tmp_path: Path) -> None:
    path = tmp_path / "n.nird"
    with h5py.File(path, "w") as f:
        f.attrs["__type__"] = "NIRGraphData"
        sub = f.create_group("nodes/sub")
        sub.attrs["__type__"] = "NIRGraphData"
        node = sub.create_group("nodes/in")
        node.attrs["__type__"] = "NIRNodeData"
        obs = node.create_group("observables/x")
        obs.attrs["__type__"] = "TimeGriddedData"
        obs.attrs["dt"] = 1e-3
        obs["data"] = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    got = read_inputs(path, {"sub.in": (2, 2)}, 1e-3)["sub.in"]
    assert got.shape == (3, 2, 2, 2)
    np.testing.assert_array_equal(got[:, 1].reshape(3, 4), np.arange(12, 24).reshape(3, 4))
