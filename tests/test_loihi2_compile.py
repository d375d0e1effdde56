"""The Loihi 2 target: lowering, quantization, artifacts, timing, reports.

Networks that Loihi computes exactly (IF neurons, weights on the 8-bit grid)
must give the float network's spikes step for step once aligned; the others
are checked for their structure (what each NIR node becomes in netx) and for
the agreement the report claims.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from nirc.graph import Graph, Node
from nirc.targets import compile as compile_for
from nirc.targets import get_target
from nirc.targets.loihi2.dialect import read_network
from nirc.targets.loihi2.netx import lava_layers, network_to_netx, read_netx

sys.path.insert(0, str(Path(__file__).resolve().parent / "loihi2"))
from graphs import chain, conv2d, if_node, make_conv_graph, make_recurrent_graph  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
RNG = np.random.default_rng(3)
FAST = {"calib_steps": 30, "calib_batch": 1}


def grid_weights(shape, rng) -> np.ndarray:
    """Weights in {-1, -0.5, 0, 0.5, 1} with a 1 and a -1: the max-abs scale
    254 puts every one on the integer grid."""
    w = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=shape)
    w.reshape(-1)[:2] = [1.0, -1.0]
    return w.astype(np.float32)


def if_dense(sizes, rng, thr=1.5) -> Graph:
    nodes = [Node("input", "Input", {"shape": np.array([sizes[0]])})]
    for k in range(1, len(sizes)):
        nodes += [Node(f"fc{k}", "Linear", {"weight": grid_weights((sizes[k], sizes[k - 1]), rng)}),
                  if_node(f"if{k}", (sizes[k],), thr)]  # fmt: skip
    nodes.append(Node("output", "Output", {"shape": np.array([sizes[-1]])}))
    g = chain(nodes)
    g.metadata = {"dt": 1.0}
    return g


def float_outputs(graph, x, **kw):
    from nirc.interpreter.snn import run_snn
    from nirc.targets.base import CompileOptions
    from nirc.targets.loihi2.target import load_fused

    return run_snn(load_fused(graph, CompileOptions(**kw)), x)


def test_exact_if_network_spikes_like_the_float_network():
    """IF neurons with weights on the grid: Loihi computes the float network
    exactly; aligned, every output spike is at the float network's step."""
    g = if_dense([12, 9, 5], RNG)
    r = compile_for(g, "loihi2", **FAST)
    x = {"input": RNG.random((80, 3, 12)) < 0.3}
    got = get_target("loihi2").simulate(r.module, x)["output"]
    ref = float_outputs(g, x)["output"]
    assert ref.sum() > 20
    np.testing.assert_array_equal(got, ref)
    net = read_network(r.module)
    assert net.latency == 2 and [layer.v_th for layer in net.layers] == [381, 381]
    assert r.report["approximations"] == []


def test_exact_conv_network_with_pools_folded():
    rng = np.random.default_rng(9)
    g = chain([
        Node("input", "Input", {"shape": np.array([1, 6, 6])}),
        conv2d("c1", grid_weights((2, 1, 3, 3), rng), padding=(1, 1)),
        if_node("i1", (2, 6, 6), 1.5),
        Node("p1", "SumPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
                                 "padding": np.array([0, 0])}),
        conv2d("c2", grid_weights((3, 2, 3, 3), rng), padding=(1, 1), stride=(1, 1)),
        if_node("i2", (3, 3, 3), 0.5),
        Node("p2", "AvgPool2d", {"kernel_size": np.array([3, 3]), "stride": np.array([3, 3]),
                                 "padding": np.array([0, 0])}),
        Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        Node("fc", "Linear", {"weight": np.array([[1, 0.5, 0.5], [0.5, 1, -1]], np.float32) * 9}),
        if_node("i3", (2,), 0.5),
        Node("output", "Output", {"shape": np.array([2])}),
    ])  # fmt: skip
    g.metadata = {"dt": 1.0}
    r = compile_for(g, "loihi2", **FAST)
    net = read_network(r.module)
    assert [layer.kind for layer in net.layers] == ["conv", "conv", "dense"]
    conv2 = net.layers[1]
    assert conv2.weight.shape == (3, 2, 6, 6) and conv2.stride == (2, 2) and conv2.padding == (2, 2)
    assert net.layers[2].flatten and net.layers[2].weight.shape == (2, 27)
    x = {"input": np.random.default_rng(1).random((60, 2, 1, 6, 6)) < 0.6}
    got = get_target("loihi2").simulate(r.module, x)["output"]
    ref = float_outputs(g, x)["output"]
    assert ref.sum() > 5
    np.testing.assert_array_equal(got, ref)


def test_artifacts_deterministic_and_consistent(tmp_path):
    g = make_conv_graph()
    a = compile_for(g, "loihi2", dt=1e-3, **FAST)
    b = compile_for(make_conv_graph(), "loihi2", dt=1e-3, **FAST)
    assert set(a.artifacts) == {"model.net", "run_lava.py", "report.json", "report.txt", "model.mlir"}
    for name in a.artifacts:
        assert a.artifacts[name] == b.artifacts[name], name
    paths = a.write(tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(a.artifacts)
    # the netx file holds exactly the IR's network, and runs the same
    back = read_netx(tmp_path / "out" / "model.net")
    net = read_network(a.module)
    for got, want in zip(back.layers, network_to_netx(net).layers):
        np.testing.assert_array_equal(got.weight, want.weight)
        assert (got.kind, got.shape, got.flatten) == (want.kind, want.shape, want.flatten)
    target = get_target("loihi2")
    x = {"input": RNG.random((40, 2, 1, 6, 6)) < 0.3}
    out_ir = target.simulate(a.module, x)
    out_net = target.simulate(target.load(tmp_path / "out" / "model.net"), x)
    out_mlir = target.simulate(target.load(tmp_path / "out" / "model.mlir"), x)
    out_dir = target.simulate(target.load(tmp_path / "out"), x)
    for other in (out_net, out_mlir, out_dir):
        np.testing.assert_array_equal(out_ir["output"], other["output"])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["timing"]["latency_steps"] == 3
    layer = report["layers"][1]
    for key in ("neurons", "synapses", "weight_bits", "weight_exp", "i_decay", "v_decay", "v_th",
                "cores", "approximations", "exact"):
        assert key in layer
    assert report["cores"] and {"core", "chip", "neurons", "memory_bytes", "memory_capacity"} <= set(
        report["cores"][0])
    assert report["final_ir"] == "model.mlir"
    assert sum(c["neurons"] for c in report["cores"]) == sum(e["neurons"] for e in report["layers"])
    text = (tmp_path / "out" / "report.txt").read_text()
    assert "latency: 3 step(s)" in text and "vThMant" in text and "cores used" in text


def test_model_net_layout():
    r = compile_for(make_conv_graph(), "loihi2", dt=1e-3, **FAST)
    import io

    with h5py.File(io.BytesIO(r.artifacts["model.net"])) as f:
        types = [f["layer"][str(i)]["type"][0].decode() for i in range(len(f["layer"]))]
        assert types == ["input", "conv", "conv", "flatten", "dense"]
        assert list(f["layer/0/shape"][()]) == [1, 6, 6]
        assert list(f["layer/2/kernelSize"][()]) == [6, 6]
        for i in (1, 2, 4):
            n = f[f"layer/{i}/neuron"]
            assert n["type"][0] == b"CUBA" and "messageBits" not in n


def test_recurrent_layer_is_dense_rec():
    r = compile_for(make_recurrent_graph(), "loihi2", dt=1e-3, **FAST)
    net = read_network(r.module)
    (layer,) = net.layers
    assert layer.kind == "dense_rec" and layer.weight_rec.shape == (2, 2)
    # LIF tau 4 ms at 1 ms: alpha 0.75 -> vDecay 1024; no current stage
    assert layer.v_decay == 1024 and layer.i_decay == 4096
    # the recurrent weights share the input weights' scale: 0.25 and -0.5 of 1.0 -> 64, -127
    assert layer.weight_rec[1, 0] == 64 and layer.weight_rec[0, 1] == -127


def cuba_graph(tau_syn, **extra) -> Graph:
    n = len(tau_syn)
    nodes = [Node("input", "Input", {"shape": np.array([3])}),
             Node("fc", "Affine", {"weight": (RNG.standard_normal((n, 3)) * 2).astype(np.float32),
                                   "bias": np.full(n, 0.1, np.float32)}),
             Node("cuba", "CubaLIF", {"tau_mem": np.full(n, 8e-3), "tau_syn": np.asarray(tau_syn),
                                      "r": np.full(n, 8.0), "w_in": np.full(n, 4.0),
                                      "v_leak": np.zeros(n), "v_threshold": np.ones(n), **extra}),
             Node("fc2", "Linear", {"weight": (RNG.standard_normal((2, n))).astype(np.float32)}),
             Node("li", "LI", {"tau": np.full(2, 5e-3), "r": np.full(2, 5.0), "v_leak": np.zeros(2)}),
             Node("output", "Output", {"shape": np.array([2])})]  # fmt: skip
    return chain(nodes)


def test_cuba_lif_and_li_readout():
    """CubaLIF: iDecay from tau_syn (per neuron when they differ), vDecay from
    tau_mem; NIR's CubaLIF reads the previous step's current: a netx delay of
    1. The LI readout: iDecay 4096, the voltage out (dequantized)."""
    g = cuba_graph([4e-3, 4e-3, 2e-3, 8e-3])
    r = compile_for(g, "loihi2", dt=1e-3, **FAST)
    net = read_network(r.module)
    cuba, li = net.layers
    np.testing.assert_array_equal(cuba.i_decay, [1024, 1024, 2048, 512])
    assert cuba.v_decay == 512 and (cuba.delay == 1).all()
    assert cuba.bias is not None  # the Affine's bias, at its steady state through the current
    assert not li.spiking and li.i_decay == 4096 and li.v_decay == 819 and li.v_th == 131071
    assert any("steady state" in a for a in r.report["approximations"])
    x = {"input": RNG.random((60, 2, 3)) < 0.4}
    out = get_target("loihi2").simulate(r.module, x)["output"]
    ref = float_outputs(g, x, dt=1e-3)["output"]
    assert out.dtype == np.float32 and out.shape == ref.shape
    # the readout follows the float voltage (8-bit weights, one step of current timing kept)
    assert np.corrcoef(out.reshape(-1), ref.reshape(-1))[0, 1] > 0.9


def test_delay_nodes_become_netx_delays():
    g = chain([Node("input", "Input", {"shape": np.array([4])}),
               Node("d", "Delay", {"delay": np.array([0.0, 1e-3, 3e-3, 2e-3])}),
               Node("fc", "Linear", {"weight": grid_weights((3, 4), RNG)}),
               if_node("if", (3,), 0.5),
               Node("output", "Output", {"shape": np.array([3])})])  # fmt: skip
    r = compile_for(g, "loihi2", dt=1e-3, **FAST)
    (layer,) = read_network(r.module).layers
    np.testing.assert_array_equal(layer.delay, np.tile([0, 1, 3, 2], (3, 1)))
    x = {"input": RNG.random((50, 2, 4)) < 0.3}
    np.testing.assert_array_equal(get_target("loihi2").simulate(r.module, x)["output"],
                                  float_outputs(g, x, dt=1e-3)["output"])  # fmt: skip


def test_scale_and_identity_synapse():
    """A Scale is folded into the weights; a neuron reading the input without
    weights gets a diagonal synapse of its gain."""
    g = chain([Node("input", "Input", {"shape": np.array([3])}),
               Node("s", "Scale", {"scale": np.array([1.0, 0.2, 0.6])}),
               if_node("if", (3,), 0.4),
               Node("output", "Output", {"shape": np.array([3])})])  # fmt: skip
    g.metadata = {"dt": 1.0}
    r = compile_for(g, "loihi2", **FAST)
    (layer,) = read_network(r.module).layers
    assert layer.kind == "dense"
    np.testing.assert_array_equal(layer.weight, np.diag([255, 51, 153]))  # excitatory: 255 / max
    x = {"input": RNG.random((40, 2, 3)) < 0.5}
    np.testing.assert_array_equal(get_target("loihi2").simulate(r.module, x)["output"],
                                  float_outputs(g, x)["output"])  # fmt: skip


def test_conv_parameters_reach_netx():
    g = chain([Node("input", "Input", {"shape": np.array([4, 9, 8])}),
               conv2d("c", RNG.standard_normal((6, 2, 3, 2)), stride=(2, 1), padding=(1, 0),
                      dilation=(1, 2), groups=2),
               if_node("if", (6, 5, 6)),
               Node("output", "Output", {"shape": np.array([6, 5, 6])})])  # fmt: skip
    g.metadata = {"dt": 1.0}
    r = compile_for(g, "loihi2", **FAST)
    (layer,) = read_network(r.module).layers
    assert (layer.stride, layer.padding, layer.dilation, layer.groups) == ((2, 1), (1, 0), (1, 2), 2)
    (lv,) = lava_layers(read_netx_bytes(r.artifacts["model.net"]))
    assert lv.shape == (6, 5, 6) and lv.groups == 2


def read_netx_bytes(data: bytes):
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".net") as f:
        f.write(data)
        f.flush()
        return read_netx(f.name)


def test_sinabs_profile_approximations_reported():
    """Sinabs' IAF: several spikes per step, subtractive reset, v >= thr:
    Loihi's binary, reset-to-zero neuron; recorded, warned and searched."""
    r = compile_for(SHARED / "corpus" / "public" / "paper_cnn_sinabs.nir", "loihi2",
                    source="sinabs", **FAST) if (SHARED / "corpus").exists() else pytest.skip("no corpus")  # fmt: skip
    text = "; ".join(r.report["approximations"])
    assert "several spikes per step" in text and "reset by subtraction" in text
    warned = [w for w in r.report["warnings"] if "approximates the float network" in w]
    n = r.report["agreement"]["calibration"]["samples"]
    assert len(warned) == 1 and re.search(rf"\(\d+ of {n} samples?\)$", warned[0])  # its count
    tried = r.report["quantization"]["tried"]
    assert any("threshold x 0.7" in t["choice"] for t in tried)


def test_paper_lif_spikes_where_lava_did_on_loihi():
    """The paper's LIF neuron (dt 1e-4): aligned outputs spike at the float
    network's steps 460, 510, 710, 760; on lava's clock that is one step later
    (the dense synapse's step), 461, 511, 711, 761, as Lava did on Loihi."""
    lif = SHARED / "corpus" / "paper-lif"
    if not lif.exists():
        pytest.skip("no corpus")
    x = np.loadtxt(lif / "lif_exact.csv", delimiter=",")[:, 0]
    r = compile_for(SHARED / "corpus" / "public" / "paper_lif_norse.nir", "loihi2", dt=1e-4)
    out = get_target("loihi2").simulate(r.module, {"input": x.reshape(-1, 1, 1)})["output"]
    aligned = np.flatnonzero(out[:, 0, 0])
    assert aligned.tolist() == [460, 510, 710, 760]
    lava = np.loadtxt(lif / "lif_lava_loihi_fixed.csv", delimiter=",")
    assert np.flatnonzero(lava[:, 2]).tolist() == (aligned + read_network(r.module).latency).tolist()


def test_records_are_aligned_layer_by_layer():
    g = if_dense([6, 5, 4], np.random.default_rng(2))
    r = compile_for(g, "loihi2", **FAST)
    x = {"input": RNG.random((30, 2, 6)) < 0.4}
    out = get_target("loihi2").simulate(r.module, x, record="if1,if2.v")
    ref = float_outputs(g, x)
    assert set(out) == {"output", "if1.spikes", "if1.u", "if1.v", "if2.v"}
    from nirc.interpreter.snn import run_snn
    from nirc.targets.base import CompileOptions
    from nirc.targets.loihi2.target import load_fused

    rec = run_snn(load_fused(g, CompileOptions()), x, record=["if1"])
    np.testing.assert_array_equal(out["if1.spikes"], rec["if1"])
    assert out["if2.v"].dtype == np.int32 and out["if2.v"].shape == (30, 2, 4)
    del ref


def test_graded_inputs_from_count_data(tmp_path):
    """Calibrating on counts (Xylo-style event counts) gives graded input spikes."""
    g = if_dense([5, 3], np.random.default_rng(4))
    counts = np.random.default_rng(5).integers(0, 4, (20, 4, 5))
    np.savez(tmp_path / "calib.npz", input=counts)
    r = compile_for(g, "loihi2", calibrate=str(tmp_path / "calib.npz"))
    net = read_network(r.module)
    assert net.input_bits == 8
    x = {"input": counts}
    np.testing.assert_array_equal(get_target("loihi2").simulate(r.module, x)["output"],
                                  float_outputs(g, x)["output"])  # fmt: skip


def test_graded_inputs_for_the_data_nirc_eval_passes():
    """On random (binary) calibration spikes, `max_input_events` (what nirc
    eval passes: the largest count of the data it evaluates) still gives
    graded input spikes wide enough for it, and the chip then computes the
    counts as the float network does; without it the inputs stay binary,
    and a forced width is kept."""
    g = if_dense([5, 3], np.random.default_rng(4))
    counts = np.random.default_rng(5).integers(0, 4, (20, 4, 5))
    assert read_network(compile_for(g, "loihi2").module).input_bits == 0
    r = compile_for(g, "loihi2", max_input_events=3)
    assert read_network(r.module).input_bits == 8
    x = {"input": counts}
    np.testing.assert_array_equal(get_target("loihi2").simulate(r.module, x)["output"],
                                  float_outputs(g, x)["output"])  # fmt: skip
    assert read_network(compile_for(g, "loihi2", max_input_events=300).module).input_bits == 9
    assert read_network(compile_for(g, "loihi2", max_input_events=1).module).input_bits == 0
    forced = compile_for(g, "loihi2", max_input_events=300, input_bits=10)
    assert read_network(forced.module).input_bits == 10


def test_task_layout_calibration_file(tmp_path):
    g = if_dense([4, 3], np.random.default_rng(6))
    spikes = (np.random.default_rng(7).random((9, 15, 4)) < 0.3).astype(np.uint8)
    np.savez(tmp_path / "train.npz", spikes=spikes, labels=np.zeros(9, np.int64))
    r = compile_for(g, "loihi2", calibrate=str(tmp_path / "train.npz"), calib_samples=5)
    assert "train.npz: 5 of 9 samples" in r.report["agreement"]["calibration"]["inputs"]


def test_binary_replicas_for_spike_counts():
    """Sinabs' IAF sends spike counts; a dense layer of them read by a dense
    layer can become independent binary replicas (replica j fires at j x
    threshold) whose spikes the next layer reads with the neuron's weight."""
    from nirc.targets.base import CompileOptions
    from nirc.targets.loihi2.lower import extract
    from nirc.targets.loihi2.replicas import Build, apply, can_replicate
    from nirc.targets.loihi2.target import load_fused

    g = if_dense([6, 4, 3], np.random.default_rng(8), thr=1.0)
    net = extract(load_fused(g, CompileOptions(source="sinabs")))
    assert [can_replicate(net, k) for k in range(2)] == [True, False]  # the output's counts are read
    rep = apply(net, [Build("independent", 3), Build()])
    first, second = rep.layers
    assert first.shape == (12,) and second.in_shape == (12,)
    np.testing.assert_array_equal(first.weight, np.repeat(net.layers[0].weight, 3, axis=0))
    np.testing.assert_array_equal(first.neuron.threshold, np.tile([1.0, 2.0, 3.0], 4))
    np.testing.assert_array_equal(second.weight, np.repeat(net.layers[1].weight, 3, axis=1))
    assert "3 binary replicas per neuron" in first.notes[0]
    assert net.layers[0].shape == (4,)  # the original is left alone
