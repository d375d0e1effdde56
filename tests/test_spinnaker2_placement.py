"""SpiNNaker2 placement: what the partitioner placed is what is emitted.

py-spinnaker2 runs one population slice per PE and can only cut spike
sources and Conv2DProjection populations in index order; the target asks the
generic `partition` pass for exactly that (``exclusive_cores``,
``contiguous``) and emits its placement unchanged. So the traffic of the
placement written to network.json and model.mlir, recomputed here with
:mod:`nirc.passes.partition_loads` from the emitted PE of every neuron, is
the figure the report gives, and index order's is its baseline figure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nirc.cli import main
from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.load import load_module
from nirc.nirfile import write
from nirc.passes.partition import place
from nirc.passes.partition_hypergraph import mtkahypar_available
from nirc.passes.partition_loads import evaluate
from nirc.passes.partition_network import extract_network
from nirc.targets import get_target
from nirc.targets.base import CompileOptions
from nirc.targets.spinnaker2.dialect import read_network
from nirc.targets.spinnaker2.placement import (
    _population_placement,
    place_network,
    placement_module,
    whole_populations,
)
from nirc.targets.spinnaker2.simulator import Simulator
from nirc.targets.spinnaker2.spec import SPINNAKER2

RNG = np.random.default_rng(5)
TARGET = get_target("spinnaker2")


def node(name, type_, **params):
    return Node(name, type_, {k: np.asarray(v) for k, v in params.items()})


def if_(name, shape, thr):
    return node(name, "IF", r=np.ones(shape), v_threshold=np.full(shape, thr),
                v_reset=np.zeros(shape))  # fmt: skip


def conv_dense_graph() -> Graph:
    """Input [2, 8, 8] -> Conv2d -> IF [4, 8, 8] (lif_conv2d) -> Flatten ->
    Linear (sparse) -> IF [64] -> Linear -> IF [6]."""
    fc = RNG.normal(0, 1, (64, 256)) * (RNG.random((64, 256)) < 0.1)
    nodes = [
        node("in", "Input", shape=[2, 8, 8]),
        node("c1", "Conv2d", weight=RNG.normal(0, 1, (4, 2, 3, 3)), bias=np.zeros(4),
             stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1),
        if_("if1", (4, 8, 8), 1.0),
        node("flat", "Flatten", start_dim=0, end_dim=-1),
        node("fc", "Linear", weight=fc), if_("if2", (64,), 1.0),
        node("fc2", "Linear", weight=RNG.normal(0, 1, (6, 64))), if_("if3", (6,), 1.0),
        node("out", "Output", shape=[6]),
    ]  # fmt: skip
    edges = [("in", "c1"), ("c1", "if1"), ("if1", "flat"), ("flat", "fc"), ("fc", "if2"),
             ("if2", "fc2"), ("fc2", "if3"), ("if3", "out")]  # fmt: skip
    return Graph(nodes={n.name: n for n in nodes}, edges=edges)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The graph compiled with 32 neurons per PE (several PEs per population)
    on a calibration file, written out."""
    d = tmp_path_factory.mktemp("s2place")
    x = (np.random.default_rng(0).random((30, 3, 2, 8, 8)) < 0.2).astype(np.uint8)
    np.savez(d / "x.npz", **{"in": x})
    result = TARGET.compile(conv_dense_graph(), CompileOptions(
        dt=1.0, calibrate=str(d / "x.npz"),
        extra={"quick": True, "capacity": {"neurons_per_core": 32}}))  # fmt: skip
    result.write(d / "out")
    return d, x, result


def spec_of(spec: dict, name: str) -> dict:
    return next(p for p in spec["populations"] if p["name"] == name)


def emitted_pes(out) -> dict[str, np.ndarray]:
    """The PE of every chip neuron, by population, as network.json says."""
    spec = json.loads((out / "network.json").read_text())
    arrays = np.load(out / "network.npz")
    pes = {}
    for p in spec["populations"]:
        a = np.full(p["size"], -1, np.int64)
        for s in p["slices"]:
            idx = s["neurons"]
            idx = arrays[idx["npz"]] if isinstance(idx, dict) else np.arange(idx[0], idx[1])
            assert (a[idx] == -1).all(), f"{p['name']}: a neuron on two PEs"
            a[idx] = s["pe"]
        assert (a >= 0).all(), f"{p['name']}: a neuron on no PE"
        pes[p["name"]] = a
    return pes


def test_report_traffic_is_that_of_the_emitted_placement(compiled):
    d, x, result = compiled
    out = d / "out"
    report = json.loads((out / "report.json").read_text())["placement"]
    spec = json.loads((out / "network.json").read_text())
    module = load_module(out / "model.mlir")
    net, table, cap = read_network(module)
    pes = emitted_pes(out)
    for name, a in table.items():  # network.json and model.mlir: the same placement
        np.testing.assert_array_equal(pes[name], a, err_msg=name)
    # the activity the placer weighed: the emitted network's spikes on the calibration inputs
    steps = x.shape[0] + net.latency
    spikes, _ = Simulator(net).run({"in": x}, steps)
    activity = {k: s.reshape(-1, s.shape[-1]).mean(axis=0) for k, s in spikes.items()}
    pnet = extract_network(placement_module(net), cap.place_inputs)
    rates = {p.index: activity[p.name] for p in pnet.populations}
    ev = evaluate(pnet, cap, {p.index: pes[p.name] for p in pnet.populations}, rates)
    assert ev.traffic > 0
    assert ev.traffic == pytest.approx(report["traffic"], rel=1e-12)
    assert spec["placement"]["traffic"] == report["traffic"]
    assert sorted(int(c) for c in ev.cores) == sorted(r["pe"] for r in report["pes"])
    base = place(placement_module(net), cap, activity=activity, method="index",
                 contiguous=list(whole_populations(net)))  # fmt: skip
    assert base.traffic == pytest.approx(report["baseline_traffic"], rel=1e-12)
    assert spec["placement"]["baseline_traffic"] == report["baseline_traffic"]
    assert report["method"] == spec["placement"]["method"] in ("mt-kahypar", "index-order")
    assert report["traffic"] <= report["baseline_traffic"]
    if mtkahypar_available():  # here the partitioner wins by splitting the dense layer
        assert report["method"] == "mt-kahypar"
        assert report["traffic"] < report["baseline_traffic"] and spec_of(spec, "if2")["split"]
    assert report["baseline_pes"] == base.cores_used


def test_placement_is_loadable_as_placed(compiled):
    """One population per PE; the spike source and both ends of the
    Conv2DProjection in index-order slices of one size; nothing re-arranged."""
    d, _, result = compiled
    out = d / "out"
    pes = emitted_pes(out)
    owners: dict[int, set[str]] = {}
    for name, a in pes.items():
        for pe in np.unique(a).tolist():
            owners.setdefault(pe, set()).add(name)
    assert all(len(o) == 1 for o in owners.values()), owners
    spec = {p["name"]: p for p in json.loads((out / "network.json").read_text())["populations"]}
    net, _, _ = read_network(result.module)
    assert set(whole_populations(net)) == {"in", "if1"}
    for name in ("in", "if1"):
        p = spec[name]
        assert not p["split"] and len(p["slices"]) == -(-p["size"] // p["max_atoms_per_core"])
        assert [s["neurons"] for s in p["slices"]] == [
            [k, min(k + p["max_atoms_per_core"], p["size"])]
            for k in range(0, p["size"], p["max_atoms_per_core"])
        ]
    notes = " ".join(result.report["placement"]["notes"])
    assert "re-assigned" not in notes and "moved" not in notes


def test_capacity_file_cannot_share_pes(tmp_path, capsys):
    nodes = [node("i", "Input", shape=[3]), node("f", "Linear", weight=np.eye(3)),
             if_("n", (3,), 0.5), node("o", "Output", shape=[3])]  # fmt: skip
    path = tmp_path / "m.nir"
    write(path, Graph(nodes={n.name: n for n in nodes}, edges=[("i", "f"), ("f", "n"), ("n", "o")]))
    cap = tmp_path / "cap.json"
    cap.write_text(json.dumps({"exclusive_cores": False}))
    code = main(["compile", str(path), "--target", "spinnaker2", "--dt", "1", "--capacity",
                 str(cap), "-o", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "SpiNNaker2 PEs cannot be shared between populations" in err
    assert "exclusive_cores" in err and "one population slice per PE" in err
    assert not (tmp_path / "o").exists()


def test_loadability_rule():
    from nirc.targets.spinnaker2.rules import check_loadable

    shared = {"a": _population_placement("a", np.array([0, 0, 1], np.int32)),
              "b": _population_placement("b", np.array([1, 2], np.int32))}  # fmt: skip
    with pytest.raises(NircError, match="PE 1 holds neurons of two populations, a and b") as e:
        check_loadable(shared, {}, "placement")
    assert "one population slice per PE" in str(e.value)
    scattered = {"c": _population_placement("c", np.array([0, 1, 0, 1], np.int32))}
    with pytest.raises(NircError, match="population c is not placed in index-order slices") as e:
        check_loadable(scattered, {"c": "a Conv2DProjection cannot be split"}, "placement")
    assert "2 slices of 2 neurons, not all contiguous" in str(e.value)
    assert "a Conv2DProjection cannot be split" in str(e.value)
    check_loadable(scattered, {}, "placement")  # a population that may be split


def test_unloadable_partition_falls_back_to_index_order(compiled, monkeypatch):
    """Should the partitioner ever return what py-spinnaker2 cannot load, the
    target places in index order (and says so) rather than re-arranging it."""
    import nirc.passes.partition as partition

    _, x, result = compiled
    net, _, _ = read_network(result.module)
    real = partition.place

    def scrambled(*args, method="auto", **kw):
        r = real(*args, method="index" if method == "auto" else method, **kw)
        if method == "auto":
            a = r.layers["if1"]
            a[[0, -1]] = a[[-1, 0]]  # two neurons of the conv population swap PEs
            r.method = "mt-kahypar"
        return r

    monkeypatch.setattr(partition, "place", scrambled)
    cap = SPINNAKER2.capacity_for({"lif_conv2d", "lif_no_delay"}, recorded_steps=40,
                                  record_voltages=False).with_overrides(neurons_per_core=32)  # fmt: skip
    pl = place_network(net, cap, method="auto")
    assert pl.method == "index-order"
    assert any("not loadable" in n and "if1" in n for n in pl.notes), pl.notes
    assert pl.populations["if1"].max_atoms_per_core is not None


def test_capacity_from_options_takes_the_fields_of_the_base_type(tmp_path):
    """A capacity file may set the fields of the target's own capacity model
    (SpiNNaker2's recorded_steps, record_voltages), not only CapacityModel's."""
    from nirc.passes.partition import CapacityModel, capacity_from_options
    from nirc.targets.spinnaker2.spec import SpiNNaker2Capacity

    f = tmp_path / "cap.json"
    f.write_text(json.dumps({"recorded_steps": 250, "record_voltages": True, "chips": 2}))
    cap = capacity_from_options(SPINNAKER2.capacity, {"capacity_file": str(f),
                                                      "capacity": {"chips": 3}})  # fmt: skip
    assert isinstance(cap, SpiNNaker2Capacity)
    assert (cap.recorded_steps, cap.record_voltages, cap.chips) == (250, True, 3)
    assert cap.recording_bytes(10) == 4 * ((10 + 31) // 32 + 2 + 11) * 250
    plain = CapacityModel("generic", neurons_per_core=8, memory_per_core=1e4, cores_per_chip=4,
                          chips=1)  # fmt: skip
    with pytest.raises(NircError, match="unknown capacity fields") as e:
        capacity_from_options(plain, {"capacity_file": str(f)})
    assert "record_voltages" in str(e.value.found) and "recorded_steps" in str(e.value.found)
