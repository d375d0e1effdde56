"""Every emitted run_spinnaker2.py is executed (a subprocess, numpy and a
stand-in of py-spinnaker2's API on PYTHONPATH: tests/spinnaker2/spinnaker2),
and what it builds, how it runs and what it writes are checked: the
stand-in logs every population, projection and run call, and runs the
network with its own simulation, so the script's outputs must equal
``nirc run --target spinnaker2``'s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nirc.graph import Graph, Node
from nirc.targets import get_target
from nirc.targets.base import CompileOptions

STANDIN = Path(__file__).resolve().parent / "spinnaker2"
TARGET = get_target("spinnaker2")
RNG = np.random.default_rng(5)


def node(name, type_, **params):
    return Node(name, type_, {k: np.asarray(v) for k, v in params.items()})


def run_script(out_dir: Path, x: dict, *args: str, expect_ok: bool = True):
    np.savez(out_dir / "x.npz", **x)
    log = out_dir / "log.jsonl"
    if log.exists():
        log.unlink()
    env = {**os.environ, "PYTHONPATH": str(STANDIN), "S2_STANDIN_LOG": str(log)}
    proc = subprocess.run(
        [sys.executable, "run_spinnaker2.py", "--input", "x.npz", "-o", "y.npz", *args],
        cwd=out_dir, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if expect_ok:
        assert proc.returncode == 0, proc.stderr
        runs = [json.loads(line) for line in log.read_text().splitlines()]
        with np.load(out_dir / "y.npz") as z:
            return {k: z[k] for k in z.files}, runs
    return proc


def check_build(out_dir: Path, run: dict) -> None:
    """The populations and projections the script built are network.json's and
    network.npz's (split populations as their slices)."""
    spec = json.loads((out_dir / "network.json").read_text())
    arrays = np.load(out_dir / "network.npz")
    built = {p["name"]: p for p in run["populations"]}
    for p in spec["populations"]:
        if p.get("split"):
            parts = [b for n, b in built.items() if n.startswith(p["name"] + "@pe")]
            assert sum(b["size"] for b in parts) == p["size"]
            assert all(b["max_atoms_per_core"] == b["size"] for b in parts)
            continue
        b = built[p["name"]]
        assert (b["size"], b["model"], b["record"]) == (p["size"], p["neuron_model"], p["record"])
        assert b["max_atoms_per_core"] == p["max_atoms_per_core"]
        for k, v in p["params"].items():
            want = arrays[v["npz"]].tolist() if isinstance(v, dict) else v
            assert b["params"][k] == pytest.approx(want), (p["name"], k)
    projs = [pr for pr in run["projections"]]
    for pr in spec["projections"]:
        if pr["type"] == "Conv2DProjection":
            got = [q for q in projs if q["type"] == "Conv2DProjection" and q["pre"] == pr["pre"]
                   and q["post"] == pr["post"]]  # fmt: skip
            assert len(got) == 1
            assert np.array_equal(np.array(got[0]["weights"]), arrays[pr["weights"]["npz"]])
            assert got[0]["conv_params"] == pr["conv_params"]
        else:
            total = sum(len(q["connections"]) for q in projs if q["type"] == "Projection"
                        and q["pre"].split("@")[0] == pr["pre"]
                        and q["post"].split("@")[0] == pr["post"])  # fmt: skip
            assert total == len(arrays[pr["connections"]["npz"]])


def rich_graph() -> Graph:
    """Input events (counts up to 2) -> Conv2d -> IF (lif_conv2d) -> SumPool2d ->
    Flatten -> Linear -> Delay -> IF (delayed model) and -> Affine (bias) ->
    CubaLIF (bias source) with recurrent weights -> LI readout."""
    w_c = RNG.normal(0, 0.5, (2, 1, 3, 3))
    nodes = [
        node("in", "Input", shape=[1, 6, 6]),
        node("c", "Conv2d", weight=w_c, bias=np.zeros(2), stride=[1, 1], padding=[1, 1],
             dilation=[1, 1], groups=1),
        node("if1", "IF", r=np.ones((2, 6, 6)), v_threshold=np.ones((2, 6, 6)),
             v_reset=np.zeros((2, 6, 6))),
        node("pool", "SumPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]),
        node("flat", "Flatten", start_dim=0, end_dim=-1),
        node("fc", "Linear", weight=RNG.normal(0, 0.4, (4, 18))),
        node("d", "Delay", delay=np.full(4, 4.0)),
        node("if2", "IF", r=np.ones(4), v_threshold=np.ones(4), v_reset=np.zeros(4)),
        node("fc2", "Affine", weight=RNG.normal(0, 0.4, (3, 18)), bias=np.array([0.2, -0.1, 0.05])),
        node("cuba", "CubaLIF", tau_mem=np.full(3, 4.0), tau_syn=np.full(3, 2.0), r=np.full(3, 4.0),
             w_in=np.full(3, 2.0), v_leak=np.zeros(3), v_threshold=np.full(3, 0.5)),
        node("rec", "Linear", weight=RNG.normal(0, 0.3, (3, 3))),
        node("ro", "Linear", weight=RNG.normal(0, 1.0, (2, 3))),
        node("li", "LI", tau=np.full(2, 3.0), r=np.full(2, 3.0), v_leak=np.zeros(2)),
        node("out", "Output", shape=[4]), node("out2", "Output", shape=[2]),
    ]  # fmt: skip
    edges = [("in", "c"), ("c", "if1"), ("if1", "pool"), ("pool", "flat"), ("flat", "fc"),
             ("fc", "d"), ("d", "if2"), ("if2", "out"), ("flat", "fc2"), ("fc2", "cuba"),
             ("cuba", "rec"), ("rec", "cuba"), ("cuba", "ro"), ("ro", "li"), ("li", "out2")]  # fmt: skip
    return Graph(nodes={n.name: n for n in nodes}, edges=edges)


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    out = tmp_path_factory.mktemp("rich")
    cal = RNG.integers(0, 3, (12, 4, 1, 6, 6)).astype(np.uint8)  # event counts 0..2
    np.savez(out / "cal.npz", **{"in": cal})
    # the delayed models, which auto leaves to relays where 4 bits would round the weights
    result = TARGET.compile(rich_graph(), CompileOptions(dt=1.0, calibrate=str(out / "cal.npz"),
                                                         extra={"delays": "model"}))  # fmt: skip
    result.write(out)
    return out, result


def test_relays_by_default_run_as_nirc_simulates_them(tmp_path):
    """The same network with the default delays: relay populations carry
    the Delay's and the CubaLIF loop's extra steps (their weights are not
    on a 15-step grid); the script builds them, its outputs are the
    network's."""
    cal = RNG.integers(0, 3, (12, 4, 1, 6, 6)).astype(np.uint8)
    np.savez(tmp_path / "cal.npz", **{"in": cal})
    result = TARGET.compile(rich_graph(), CompileOptions(dt=1.0, calibrate=str(tmp_path / "cal.npz")))
    result.write(tmp_path)
    x = {"in": RNG.integers(0, 3, (15, 2, 1, 6, 6)).astype(np.uint8)}
    y, runs = run_script(tmp_path, x)
    want = TARGET.simulate(result, x)
    np.testing.assert_array_equal(y["out"], want["out"])
    np.testing.assert_allclose(y["out2"], want["out2"], rtol=1e-6, atol=1e-6)
    check_build(tmp_path, runs[0])
    spec = json.loads((tmp_path / "network.json").read_text())
    relays = [p for p in spec["populations"] if p["role"] == "relay"]
    models = {p["model"] for p in runs[0]["populations"]}
    assert relays and not {"lif", "lif_curr_exp"} & models, models
    assert y["out"].sum() > 0 and np.abs(y["out2"]).sum() > 0


def test_rich_network_runs_as_nirc_simulates_it(rich):
    out, result = rich
    x = {"in": RNG.integers(0, 3, (15, 2, 1, 6, 6)).astype(np.uint8)}
    y, runs = run_script(out, x)
    want = TARGET.simulate(result, x)
    assert set(y) == {"out", "out2"}
    np.testing.assert_array_equal(y["out"], want["out"])
    np.testing.assert_allclose(y["out2"], want["out2"], rtol=1e-6, atol=1e-6)
    assert y["out"].sum() > 0 and np.abs(y["out2"]).sum() > 0
    assert len(runs) == 2  # one run per sample
    spec = json.loads((out / "network.json").read_text())
    assert runs[0]["timesteps"] == 15 + spec["timesteps"]["latency"]
    assert runs[0]["hw"] == "brian2"
    check_build(out, runs[0])
    models = {p["model"] for p in runs[0]["populations"]}
    # the Delay needs 2 more steps than the latency gives (lif); the CubaLIF reads
    # its current of the last step, so its recurrent loop needs one (lif_curr_exp)
    assert {"spike_list", "lif_conv2d", "lif", "lif_curr_exp"} <= models
    inp = next(p for p in spec["populations"] if p["name"] == "in")
    assert inp["copies"] == 2
    # the input's spike lists: copy j of an element fires where its count exceeds j;
    # copies lie along the first axis: [1, 6, 6] x 2 copies is [2, 6, 6], copy 1 of
    # element 0 is neuron 36
    spikes = next(p for p in runs[0]["populations"] if p["name"] == "in")["spike_list"]
    counts = x["in"][:, 0].reshape(15, -1)
    assert spikes["0"] == np.flatnonzero(counts[:, 0] > 0).tolist()
    assert spikes["36"] == np.flatnonzero(counts[:, 0] > 1).tolist()
    bias = next(p for p in spec["populations"] if p["role"] == "bias")
    listed = next(p for p in runs[0]["populations"] if p["name"] == bias["name"])["spike_list"]
    assert listed["0"] == list(range(bias["start"], runs[0]["timesteps"]))


def test_unbatched_input_and_hardware_choices(rich):
    out, result = rich
    x = {"in": RNG.integers(0, 2, (10, 1, 6, 6)).astype(np.uint8)}
    y, runs = run_script(out, x, "--hw", "chip", "--ip", "192.168.1.25")
    assert y["out"].shape == (10, 4)
    want = TARGET.simulate(result, {"in": x["in"][:, None]})
    np.testing.assert_array_equal(y["out"], want["out"][:, 0])
    assert (runs[0]["hw"], runs[0]["address"]) == ("chip", "192.168.1.25")
    y, runs = run_script(out, x, "--hw", "board48", "--stm-ip", "10.0.0.2", "--sys-tick", "0.002")
    assert (runs[0]["hw"], runs[0]["address"], runs[0]["sys_tick_in_s"]) == ("board48", "10.0.0.2",
                                                                             0.002)  # fmt: skip
    proc = run_script(out, x, "--hw", "chip", expect_ok=False)
    assert proc.returncode == 2 and "--hw chip needs --ip ADDRESS" in proc.stderr
    proc = run_script(out, {"in": np.full((4, 1, 6, 6), 3, np.uint8)}, expect_ok=False)
    assert proc.returncode != 0 and "3 events in one step" in proc.stderr


def test_paper_cnn_layout_runs(tmp_path):
    """A small CNN in the paper's layout (Conv2d -> IF -> SumPool2d -> Conv2d ->
    IF -> Flatten -> Linear -> IF) as Sinabs exports it."""
    nodes = [
        node("in", "Input", shape=[2, 8, 8]),
        node("c1", "Conv2d", weight=RNG.normal(0, 0.6, (4, 2, 3, 3)), bias=np.zeros(4),
             stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=1),
        node("if1", "IF", r=np.ones((4, 8, 8)), v_threshold=np.ones((4, 8, 8)),
             v_reset=np.zeros((4, 8, 8))),
        node("p1", "SumPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]),
        node("c2", "Conv2d", weight=RNG.normal(0, 0.6, (4, 4, 3, 3)), bias=np.zeros(4),
             stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=1),
        node("if2", "IF", r=np.ones((4, 2, 2)), v_threshold=np.ones((4, 2, 2)),
             v_reset=np.zeros((4, 2, 2))),
        node("flat", "Flatten", start_dim=0, end_dim=-1),
        node("fc", "Linear", weight=RNG.normal(0, 0.6, (3, 16))),
        node("if3", "IF", r=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3)),
        node("out", "Output", shape=[3]),
    ]  # fmt: skip
    edges = [("in", "c1"), ("c1", "if1"), ("if1", "p1"), ("p1", "c2"), ("c2", "if2"),
             ("if2", "flat"), ("flat", "fc"), ("fc", "if3"), ("if3", "out")]  # fmt: skip
    g = Graph(nodes={n.name: n for n in nodes}, edges=edges)
    result = TARGET.compile(g, CompileOptions(dt=1.0, source="sinabs"))
    result.write(tmp_path)
    x = {"in": (RNG.random((12, 2, 2, 8, 8)) < 0.3).astype(np.uint8)}
    y, runs = run_script(tmp_path, x)
    np.testing.assert_array_equal(y["out"], TARGET.simulate(result, x)["out"])
    check_build(tmp_path, runs[0])
    convs = [p for p in runs[0]["projections"] if p["type"] == "Conv2DProjection"]
    assert len(convs) == 2 and convs[1]["conv_params"]["pool_x"] == 2


def test_split_placement_is_reproduced(tmp_path):
    """A placement that is not index-order slices: the population is emitted
    as one sub-population per PE (the neurons that PE holds), the projections
    split to match; the script's outputs are still the network's."""
    from nirc.targets.spinnaker2.dialect import build_network
    from nirc.targets.spinnaker2.emit import artifacts
    from nirc.targets.spinnaker2.placement import (
        NetworkPlacement,
        _population_placement,
        pe_loads,
    )

    nodes = [node("in", "Input", shape=[5]), node("fc", "Linear", weight=RNG.normal(0, 1, (6, 5))),
             node("lif", "LIF", tau=np.full(6, 3.0), r=np.full(6, 3.0), v_leak=np.zeros(6),
                  v_threshold=np.full(6, 0.5)),
             node("fc2", "Linear", weight=RNG.normal(0, 1, (2, 6))),
             node("if2", "IF", r=np.ones(2), v_threshold=np.full(2, 0.5), v_reset=np.zeros(2)),
             node("out", "Output", shape=[2])]  # fmt: skip
    edges = [("in", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "if2"), ("if2", "out")]
    g = Graph(nodes={n.name: n for n in nodes}, edges=edges)
    low = TARGET.lower(g, CompileOptions(dt=1.0))
    net, cap = low.network, low.capacity
    tables = {"in": np.zeros(5, np.int32), "lif": np.array([1, 2, 1, 3, 2, 1], np.int32),
              "if2": np.full(2, 4, np.int32)}  # fmt: skip
    placement = NetworkPlacement(cap.cores_per_chip,
                                 {n: _population_placement(n, a) for n, a in tables.items()})  # fmt: skip
    placement.loads, placement.router = pe_loads(net, placement)
    assert placement.populations["lif"].split
    module = build_network(net, placement, cap)
    files = artifacts(module, steps=10)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    x = {"in": (RNG.random((20, 2, 5)) < 0.5).astype(np.uint8)}
    y, runs = run_script(tmp_path, x)
    np.testing.assert_array_equal(y["out"], TARGET.simulate(module, x)["out"])
    names = sorted(p["name"] for p in runs[0]["populations"])
    assert names == ["if2", "in", "lif@pe1", "lif@pe2", "lif@pe3"]
    sizes = {p["name"]: p["size"] for p in runs[0]["populations"]}
    assert (sizes["lif@pe1"], sizes["lif@pe2"], sizes["lif@pe3"]) == (3, 2, 1)
    check_build(tmp_path, runs[0])
    spec = json.loads((tmp_path / "network.json").read_text())
    lif = next(p for p in spec["populations"] if p["name"] == "lif")
    assert lif["split"] and [s["pe"] for s in lif["slices"]] == [1, 2, 3]


def test_script_never_overwrites_its_inputs_and_writes_atomically(rich):
    out, _ = rich
    x = {"in": RNG.integers(0, 2, (6, 1, 6, 6)).astype(np.uint8)}
    np.savez(out / "x.npz", **x)
    before = {name: (out / name).read_bytes() for name in ("x.npz", "network.json", "network.npz")}
    env = {**os.environ, "PYTHONPATH": str(STANDIN), "S2_STANDIN_LOG": str(out / "log.jsonl")}
    for target in ("x.npz", "./network.json", "network.npz"):
        proc = subprocess.run([sys.executable, "run_spinnaker2.py", "--input", "x.npz", "-o", target],
                              cwd=out, env=env, capture_output=True, text=True)  # fmt: skip
        assert proc.returncode != 0 and "would overwrite the input" in proc.stderr, target
    assert {name: (out / name).read_bytes() for name in before} == before
    y, _ = run_script(out, x)
    assert y["out"].shape == (6, 4)
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
