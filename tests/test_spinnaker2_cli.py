"""The SpiNNaker2 target from the command line and the Python API: compile
writes the artifacts (deterministically), run simulates, a model that does
not fit exits with code 2 and a table of needs against capacity, and the
placement: per-PE loads, the memory formula, one population per PE, a large
network placed fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from nirc.cli import main
from nirc.graph import Graph, Node
from nirc.nirfile import write
from nirc.passes.partition import CoreLoad
from nirc.targets import get_target
from nirc.targets.base import CompileOptions
from nirc.targets.spinnaker2.spec import SPINNAKER2

RNG = np.random.default_rng(2)
FILES = {"network.json", "network.npz", "run_spinnaker2.py", "report.json", "report.txt",
         "model.mlir"}  # fmt: skip


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def node(name, type_, **params):
    return Node(name, type_, {k: np.asarray(v) for k, v in params.items()})


@pytest.fixture
def model(tmp_path):
    nodes = [node("input", "Input", shape=[4]), node("fc", "Linear", weight=RNG.normal(0, 1, (5, 4))),
             node("lif", "LIF", tau=np.full(5, 4e-3), r=np.full(5, 40.0), v_leak=np.zeros(5),
                  v_threshold=np.full(5, 1.0)),
             node("fc2", "Linear", weight=RNG.normal(0, 1, (2, 5))),
             node("lif2", "LIF", tau=np.full(2, 4e-3), r=np.full(2, 40.0), v_leak=np.zeros(2),
                  v_threshold=np.full(2, 1.0)),
             node("output", "Output", shape=[2])]  # fmt: skip
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    path = tmp_path / "m.nir"
    write(path, Graph(nodes={n.name: n for n in nodes}, edges=edges))
    return path


def test_compile_writes_the_artifacts_deterministically(model, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compile", str(model), "--target", "spinnaker2", "--dt", "1e-4", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "compiled m.nir for spinnaker2" in printed and "PEs" in printed
    assert {p.name for p in out.iterdir()} == FILES
    spec = json.loads((out / "network.json").read_text())
    assert spec["format"] == "nirc-spinnaker2-network/1" and spec["dt"] == 1e-4
    assert [p["neuron_model"] for p in spec["populations"]] == ["spike_list", "lif_no_delay",
                                                               "lif_no_delay"]  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["latency_steps"] == 2 and report["placement"]["pes"]
    row = report["placement"]["pes"][0]
    assert {"neurons", "synapses", "synapse_rows", "master_population_table", "memory",
            "capacity"} <= set(row)  # fmt: skip
    assert "lif_no_delay" in report["simulator"]["verified"]
    assert "final IR: model.mlir" in (out / "report.txt").read_text()
    again = tmp_path / "again"
    assert main(["compile", str(model), "--target", "spinnaker2", "--dt", "1e-4", "-o", str(again)]) == 0
    for name in FILES:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_check_steps_measure_on_fresh_inputs(model, tmp_path, capsys):
    """--check-steps T: the agreement on fresh random spikes (seed + 1) in
    report.json, report.txt and the summary (once silently ignored here)."""
    out = tmp_path / "out"
    assert main(["compile", str(model), "--target", "spinnaker2", "--dt", "1e-4", "--check-steps",
                 "60", "--calib-rate", "0.3", "-o", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    check = json.loads((out / "report.json").read_text())["fidelity"]["check"]
    assert check["inputs"] == "2 x 60 steps of random spikes, p = 0.3, seed 1"
    assert check["reference_spikes_per_output_neuron"] > 0  # the outputs spike: a real check
    assert 0.0 <= check["agreement"] <= 1.0 and 0.0 <= check["prediction_agreement"] <= 1.0
    assert f"check: prediction agreement {check['prediction_agreement']:.4f}" in printed
    assert "check on 2 x 60 steps of random spikes" in (out / "report.txt").read_text()


def test_run_target(model, tmp_path, capsys):
    x = tmp_path / "x.npz"
    np.savez(x, input=(RNG.random((50, 4)) < 0.5).astype(np.uint8))
    y = tmp_path / "y.npz"
    assert main(["run", str(model), "--target", "spinnaker2", "--dt", "1e-4", "--input", str(x),
                 "-o", str(y), "--record", "lif.v"]) == 0  # fmt: skip
    z = np.load(y)
    assert z["output"].shape == (50, 2) and z["lif.v"].shape == (50, 5)
    out = tmp_path / "out"
    assert main(["compile", str(model), "--target", "spinnaker2", "--dt", "1e-4", "-o", str(out)]) == 0
    y2 = tmp_path / "y2.npz"
    assert main(["run", str(out / "model.mlir"), "--target", "spinnaker2", "--input", str(x),
                 "-o", str(y2)]) == 0  # fmt: skip
    np.testing.assert_array_equal(np.load(y2)["output"], z["output"])


def test_model_that_does_not_fit_exits_2_with_a_table(model, tmp_path, capsys):
    code = main(["compile", str(model), "--target", "spinnaker2", "--dt", "1e-4",
                 "--core-synapse-memory", "300", "-o", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "does not fit spinnaker2" in err and "population" in err and "available" in err
    assert not (tmp_path / "o").exists()


def test_targets_lists_spinnaker2(capsys):
    assert main(["targets", "spinnaker2"]) == 0
    text = capsys.readouterr().out
    assert "152 application PEs per chip" in text and "[simulator: verified]" in text
    assert "lif_curr_exp_no_delay" in text and "[simulator: modelled]" in text


# --------------------------------------------------------------------------------------
# placement
# --------------------------------------------------------------------------------------


def test_memory_formula():
    cap = SPINNAKER2.capacity_for({"lif_no_delay"}, recorded_steps=100, record_voltages=False)
    load = CoreLoad(neurons=100, synapses=1000, input_axons=50, source_slices=3, recorded=40)
    spikes_words = (40 + 31) // 32 + 2  # per recorded step
    want = 256 + 24 * 100 + 2 * 1000 + 6 * 50 + 12 * 3 + 4 * spikes_words * 100
    assert cap.memory(load) == want
    cap_v = SPINNAKER2.capacity_for({"lif_curr_exp"}, recorded_steps=100, record_voltages=True)
    assert cap_v.bytes_per_neuron == 4 * 28
    assert cap_v.recording_bytes(40) == 4 * (spikes_words + 41) * 100


def test_pe_loads_count_rows_tables_and_records():
    from nirc.targets.spinnaker2.network import INPUT, Network, Population, Projection
    from nirc.targets.spinnaker2.placement import (
        NetworkPlacement,
        _population_placement,
        pe_loads,
    )
    from nirc.targets.spinnaker2.sparse import Coo

    inp = Population("in", "spike_list", (4,), role=INPUT)
    a = Population("a", "lif_no_delay", (3,), record=("spikes",))
    w = np.array([[1, 0, 0, 2], [0, 0, 0, 3], [4, 5, 0, 0]], np.float64)
    net = Network(1.0, [inp, a], [Projection("in->a", "in", "a", Coo.from_dense(w))], [])
    tables = {"in": np.array([0, 0, 1, 1], np.int32), "a": np.array([2, 2, 3], np.int32)}
    pl = NetworkPlacement(152, {n: _population_placement(n, t) for n, t in tables.items()})
    loads, router = pe_loads(net, pl)
    # PE 2 holds a[0], a[1]: synapses 1, 2, 3 from in[0], in[3] (2 rows) on PEs 0 and 1
    assert loads[2] == CoreLoad(neurons=2, synapses=3, input_axons=2, source_slices=2, recorded=2)
    assert loads[3] == CoreLoad(neurons=1, synapses=2, input_axons=2, source_slices=1, recorded=1)
    assert router == {0: 2}


def test_large_network_placed_fast():
    """A 20,000-neuron convolutional network (the 100,000-neuron one is in
    benchmarks/spinnaker2.py) placed on PEs and chips in a few seconds."""
    from nirc.targets.spinnaker2.network import Conv2d, Network, Population, Projection
    from nirc.targets.spinnaker2.placement import place_network

    pops = [Population("in", "spike_list", (2, 32, 32), role="input")]
    projs = []
    prev, c_in = "in", 2
    for k, c in enumerate((8, 8, 4)):
        name = f"conv{k}"
        pops.append(Population(name, "lif_conv2d", (c, 32, 32), params={"threshold": 1.0},
                               max_atoms_per_core=128))  # fmt: skip
        g = Conv2d(c_in, 32, 32, c, 3, 3, pad_top=1, pad_bottom=1, pad_left=1, pad_right=1)
        kern = RNG.integers(-5, 6, (c, c_in, 3, 3)).astype(np.float64)
        projs.append(Projection(f"{prev}->{name}", prev, name, g.matrix(kern), conv=g, kernel=kern))
        prev, c_in = name, c
    net = Network(1.0, pops, projs, [])
    assert sum(p.size for p in pops if p.role != "input") == 20480
    cap = SPINNAKER2.capacity_for({"lif_conv2d"}, recorded_steps=0, record_voltages=False)
    start = time.perf_counter()
    placement = place_network(net, cap, method="index")
    elapsed = time.perf_counter() - start
    assert placement.pes_used >= 20480 // 256 and placement.chips_used == 1
    assert elapsed < 20, f"placing 20k neurons took {elapsed:.1f} s"
    for pp in placement.populations.values():
        assert not pp.split  # conv populations stay index-order slices


def test_get_target_spec_capacity_is_the_spec():
    t = get_target("spinnaker2")
    assert t.spec is SPINNAKER2 and t.spec.capacity.cores_per_chip == 152
    assert t.spec.capacity.place_inputs
    cap = SPINNAKER2.capacity
    assert cap.memory_per_core == 67 * 1024 and cap.neurons_per_core == 256
    result = t.compile(Graph(
        nodes={n.name: n for n in [node("i", "Input", shape=[2]), node("f", "Linear", weight=np.eye(2)),
                                   node("n", "IF", r=np.ones(2), v_threshold=np.ones(2),
                                        v_reset=np.zeros(2)), node("o", "Output", shape=[2])]},
        edges=[("i", "f"), ("f", "n"), ("n", "o")]), CompileOptions(dt=1.0))  # fmt: skip
    assert result.report["placement"]["capacity"]["pes_per_chip"] == 152


# --------------------------------------------------------------------------------------
# the spinnaker2 options of `nirc compile`, and capacity files
# --------------------------------------------------------------------------------------


@pytest.fixture
def delayed(tmp_path):
    """Input -> Linear -> Delay of 2 steps -> IF: a delayed model or relays."""
    w = RNG.integers(-7, 8, (4, 3)).astype(np.float64)
    w[0, 0] = 15
    nodes = [node("in", "Input", shape=[3]), node("fc", "Linear", weight=w),
             node("d", "Delay", delay=np.full(4, 2.0)),
             node("if1", "IF", r=np.ones(4), v_threshold=np.full(4, 10.5), v_reset=np.zeros(4)),
             node("out", "Output", shape=[4])]  # fmt: skip
    path = tmp_path / "delayed.nir"
    write(path, Graph(nodes={n.name: n for n in nodes},
                      edges=[("in", "fc"), ("fc", "d"), ("d", "if1"), ("if1", "out")]))  # fmt: skip
    return path


def _compile(model, out, *flags) -> dict:
    dt = "1" if model.name == "delayed.nir" else "1e-4"  # `model`'s LIFs have tau = 4 ms
    assert main(["compile", str(model), "--target", "spinnaker2", "--dt", dt, "-o", str(out),
                 *flags]) == 0  # fmt: skip
    return json.loads((out / "report.json").read_text())


def test_delays_flag(delayed, tmp_path):
    by_default = _compile(delayed, tmp_path / "a")
    assert {p["name"]: p["model"] for p in by_default["populations"]}["if1"] == "lif"
    relays = _compile(delayed, tmp_path / "b", "--delays", "relay")
    models = {p["name"]: p["model"] for p in relays["populations"]}
    assert models["if1"] == "lif_no_delay" and [p["role"] for p in relays["populations"]].count(
        "relay") == 1  # fmt: skip
    assert relays["options"]["delays"] == "relay"


def test_weight_scale_and_record_steps_flags(model, tmp_path):
    r = _compile(model, tmp_path / "a", "--weight-scale", "20", "--record-steps", "4000")
    q = r["quantization"]
    assert q["method"] == "given weight scale"
    assert {c["weight_scale"] for c in q["populations"].values()} == {20.0}
    assert r["placement"]["capacity"]["recorded_steps"] == 4000
    spec = json.loads((tmp_path / "a" / "network.json").read_text())
    assert spec["placement"]["recorded_steps"] == 4000
    default = _compile(model, tmp_path / "b")
    assert default["placement"]["capacity"]["recorded_steps"] == 100 + default["latency_steps"]
    memory = {row["pe"]: row["bytes"]["recording"] for row in r["placement"]["pes"]}
    assert max(memory.values()) > max(row["bytes"]["recording"]
                                      for row in default["placement"]["pes"])  # fmt: skip


def test_a_bias_too_large_for_its_sources_is_named(tmp_path, capsys):
    """A bias at a large --weight-scale is spread over always-on sources of
    weights up to +-15 (the delayed model): at 1e6 the Braille RNN's took 113,000 of them (a
    misleading "not even one neuron fits a core"), from 1e9 on the arrays ran
    out of memory, and past int64 the count wrapped. Now a diagnostic names
    the population, the bias, the scale and the sources it would need."""
    braille = EXAMPLES / "braille_rnn.nir"
    code = main(["compile", str(braille), "--target", "spinnaker2", "--weight-scale", "1e6",
                 "--delays", "model"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert "lif1.lif: a bias needs more always-on source neurons than a network can spend" in err
    assert "a bias of -1.69485 at the weight scale 1e+06: 1.69485e+06 units, 1.13e+05 sources" in err
    code = main(["compile", str(braille), "--target", "spinnaker2", "--weight-scale", "1e300"])
    assert code == 2 and "sources" in capsys.readouterr().err
    assert main(["compile", str(braille), "--target", "spinnaker2", "--weight-scale", "1e3"]) == 0


def test_calib_samples_flag(model, tmp_path):
    data = tmp_path / "train.npz"
    np.savez(data, spikes=(RNG.random((12, 20, 4)) < 0.4).astype(np.uint8),
             labels=RNG.integers(0, 2, 12))  # fmt: skip
    r = _compile(model, tmp_path / "a", "--calibrate", str(data), "--calib-samples", "5")
    assert r["agreement"]["calibration"]["samples"] == 5
    assert r["quantization"]["samples"] == 5


@pytest.mark.parametrize("flags, words", [
    (["--record-steps", "0"], "--record-steps must be >= 1"),
    (["--calib-samples", "0"], "--calib-samples must be >= 1"),
    (["--weight-scale", "-2"], "--weight-scale must be a finite number > 0"),
    (["--weight-scale", "nan"], "--weight-scale must be a finite number > 0"),
    (["--weight-scale", "inf"], "--weight-scale must be a finite number > 0"),
    (["--delays", "later"], "invalid choice: 'later'"),
])  # fmt: skip
def test_bad_spinnaker2_flags(model, tmp_path, capsys, flags, words):
    code = main(["compile", str(model), "--target", "spinnaker2", "--dt", "1e-4", "-o",
                 str(tmp_path / "o"), *flags])  # fmt: skip
    assert code == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_spinnaker2_flags_reach_extra_only_when_given(model, monkeypatch, capsys):
    """Other targets see no spinnaker2 option unless the user gave one."""
    import nirc.targets as targets

    seen = []

    class Stub:
        name = "stub"
        reads = frozenset({"delays", "record_steps", "weight_scale"})  # no warnings

        def compile(self, model, options):
            seen.append(dict(options.extra))
            return type("R", (), {"summary": []})()

    monkeypatch.setattr(targets, "get_target", lambda name: Stub())
    assert main(["compile", str(model), "--target", "speck"]) == 0
    assert not {"delays", "calib_samples", "record_steps", "weight_scale"} & set(seen[-1])
    assert main(["compile", str(model), "--target", "speck", "--delays", "relay",
                 "--calib-samples", "7", "--record-steps", "9", "--weight-scale", "3"]) == 0  # fmt: skip
    assert {k: seen[-1][k] for k in ("delays", "calib_samples", "record_steps", "weight_scale")} \
        == {"delays": "relay", "calib_samples": 7, "record_steps": 9, "weight_scale": 3.0}  # fmt: skip


def test_capacity_file_sets_the_spinnaker2_fields(model, tmp_path):
    cap = tmp_path / "cap.json"
    cap.write_text(json.dumps({"recorded_steps": 3000, "record_voltages": True,
                               "neurons_per_core": 3}))  # fmt: skip
    r = _compile(model, tmp_path / "a", "--capacity", str(cap))
    c = r["placement"]["capacity"]
    assert c["recorded_steps"] == 3000 and c["record_voltages"] is True
    assert c["neurons_per_pe"] == 3
    lif = next(p for p in r["populations"] if p["name"] == "lif")
    assert lif["pes"] == 2  # 5 neurons, 3 per PE
    # voltages are recorded: n + 1 words per step besides the spikes
    row = next(row for row in r["placement"]["pes"] if row["recorded_neurons"])
    n = row["recorded_neurons"]
    assert row["bytes"]["recording"] == 4 * ((n + 31) // 32 + 2 + n + 1) * 3000


@pytest.mark.parametrize("content, words", [
    ({"recorded_steps": "long"}, "bad capacity value"),
    ({"recorded_steps": 0}, "an integer in 1..2**63-1"),
    ({"recorded_steps": 99999999999999999999}, "an integer in 1..2**63-1"),
    ({"record_voltages": 1}, "true or false"),
    ({"recorded_step": 5}, "unknown capacity fields"),
])  # fmt: skip
def test_bad_capacity_file(model, tmp_path, capsys, content, words):
    cap = tmp_path / "cap.json"
    cap.write_text(json.dumps(content))
    code = main(["compile", str(model), "--target", "spinnaker2", "--dt", "1e-4", "--capacity",
                 str(cap), "-o", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and str(cap) in err
    if words == "unknown capacity fields":
        assert "recorded_steps" in err and "record_voltages" in err  # the fields it knows


def test_time_step_longer_than_tau_is_refused(model, tmp_path, capsys):
    """dt = 1 s against tau = 4 ms: a negative decay, refused naming the neuron."""
    code = main(["compile", str(model), "--target", "spinnaker2", "--dt", "1", "-o",
                 str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "lif: alpha_mem: a decay the chip cannot hold: `alpha_decay` must be in [0, 1]" in err
    assert "values in [-249, -249]" in err and "--dt" in err
