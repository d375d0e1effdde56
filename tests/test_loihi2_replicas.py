"""Spike counts and resets by subtraction on Loihi 2 (targets/loihi2/replicas.py).

lava's neuron sends one spike per step and sets v to zero when it does; the
constructions build the float neurons from more Loihi neurons: integrators
(the membrane in the never-reset current, exact), ladders (replicas that
correct each other, with relays), encoders (the current carried to an
integrator), independent replicas. The lava fixtures (make_lava_fixtures.py:
``replicas``, ``rsynaptic``, ``roundtrip_counts``, ``roundtrip_rsynaptic``)
check that lava computes what nirc's simulator computes on them; these tests
check what they compute against the float network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.graph import Node
from nirc.targets import compile as compile_for
from nirc.targets import get_target
from nirc.targets.loihi2.dialect import build_network, read_network

sys.path.insert(0, str(Path(__file__).resolve().parent / "loihi2"))
from graphs import (  # noqa: E402
    chain,
    conv2d,
    count_inputs,
    if_node,
    make_conv_graph,
    make_counts_graph,
    make_integrator_graph,
    make_rsynaptic_graph,
)

RNG = np.random.default_rng(41)


def float_run(graph, x, **kw):
    from nirc.interpreter.snn import run_snn
    from nirc.targets.base import CompileOptions
    from nirc.targets.loihi2.target import load_fused

    return run_snn(load_fused(graph, CompileOptions(**kw)), x)


def compiled(graph, tmp_path, x, name="input", **kw):
    np.savez(tmp_path / "calib.npz", **{name: x})
    return compile_for(graph, "loihi2", calibrate=str(tmp_path / "calib.npz"), **kw)


def count_distance(got, ref) -> float:
    a, b = got.sum(axis=0), ref.sum(axis=0)
    return float(np.abs(a - b).sum() / max(b.sum(), 1))


# --------------------------------------------------------------------------------------
# the ladder's weights
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reset", ["subtract", "subtract_undecayed", "zero"])
@pytest.mark.parametrize("copies,cap", [(1, 1), (3, 1), (4, None), (5, 3)])
def test_lateral_weights_give_each_replica_its_correction(reset, copies, cap):
    """When replicas 1..M fired, replica j receives the sum of the weights
    from replicas 1..M: the float carry minus what it holds (a_m V if it did
    not fire, 0 if it did), with V estimated at the middle of (M, M + 1]."""
    from nirc.targets.loihi2.replicas import carry, lateral_block

    a_m = 0.8
    levels = np.arange(1, copies + 1)
    sends = levels <= (cap or copies)
    w = lateral_block(levels, sends, a_m, reset)
    for m in range(copies + 1):
        got = w[:, :m].sum(axis=1)
        n = int(sends[:m].sum())
        v = m + 0.5
        for j in range(1, copies + 1):
            if m == 0:
                want = 0.0
            elif j > m:  # still holds V: exact for a subtraction, whatever V
                want = carry(v, n, a_m, reset) - a_m * v
            else:  # Loihi set it to zero
                want = carry(v, n, a_m, reset)
            assert got[j - 1] == pytest.approx(want), (m, j)
    if reset == "subtract":  # the correction of a replica that did not fire is V-free
        assert carry(7.3, 2, a_m, reset) - a_m * 7.3 == pytest.approx(-a_m * 2)


# --------------------------------------------------------------------------------------
# integrators
# --------------------------------------------------------------------------------------


def if_subtract_graph():
    """IF neurons (no current stage) with weights and thresholds on Loihi's
    grid (the subtraction's weight, one threshold, too): read with --reset
    subtract, the integrator computes them exactly."""
    return make_integrator_graph()


def test_integrators_compute_a_reset_by_subtraction_exactly(tmp_path):
    """Loihi resets v to zero; an integrator keeps the membrane in u, which
    no spike resets, and subtracts the threshold through the recurrent
    synapse: the float network's spikes, step for step (aligned)."""
    g = if_subtract_graph()
    x = (RNG.random((60, 12, 10)) < 0.35).astype(np.uint8)
    ref = float_run(g, {"input": x}, reset="subtract")["output"]
    r = compiled(g, tmp_path, x, reset="subtract")
    net = read_network(r.module)
    assert [layer.kind for layer in net.layers] == ["dense_rec", "dense_rec"]
    assert net.output_select is not None and net.latency == 2  # no current stage: no lag
    got = get_target("loihi2").simulate(r.module, {"input": x})["output"]
    assert ref.sum() > 50
    np.testing.assert_array_equal(got, ref)
    assert not any("subtraction" in a for a in r.report["approximations"])
    plain = compiled(g, tmp_path, x, reset="subtract", replicas="none")
    assert not np.array_equal(get_target("loihi2").simulate(plain.module, {"input": x})["output"], ref)


def test_integrator_replicas_send_spike_counts(tmp_path):
    """Sinabs' IAF (counts, v >= thr, subtraction): J replicas of one neuron
    share its membrane and fire at 1..J thresholds: up to J spikes a step,
    the rest kept for later steps."""
    g = if_subtract_graph()
    x = (RNG.random((50, 12, 10)) < 0.6).astype(np.uint8)
    ref = float_run(g, {"input": x}, source="sinabs")["output"]
    r = compiled(g, tmp_path, x, source="sinabs", replicas="3")
    net = read_network(r.module)
    last = net.layers[-1]
    # three replicas per neuron, and a silent neuron that keeps the recurrent synapse mixed-sign
    assert last.size == 3 * 3 + 1 and list(net.output_select) == [0, 0, 0, 1, 1, 1, 2, 2, 2, -1]
    assert last.weight_rec[-1, -1] > 0 and not last.weight_rec[:-1, -1].any()
    got = get_target("loihi2").simulate(r.module, {"input": x})["output"]
    assert got.max() > 1  # counts
    assert count_distance(got, ref) < 0.05, count_distance(got, ref)


def test_encoders_carry_the_current_to_the_last_layer(tmp_path):
    """A CubaLIF output layer (current stage) becomes an integrator fed by
    encoders: one step late when its membrane reads the same step's current
    (latency + 1, aligned away), its replicas' spikes selected as outputs."""
    g = make_counts_graph()
    x = count_inputs(RNG, 60, 16, 4)
    ref = float_run(g, {"input": x}, source="rockpool")["output"]
    r = compiled(g, tmp_path, x, source="rockpool")
    net = read_network(r.module)
    assert [layer.lag for layer in net.layers] == [0, 1] and net.latency == 3
    assert "encoders" in "; ".join(r.report["approximations"])
    got = get_target("loihi2").simulate(r.module, {"input": x})["output"]
    plain = compiled(g, tmp_path, x, source="rockpool", replicas="none")
    got_plain = get_target("loihi2").simulate(plain.module, {"input": x})["output"]
    assert count_distance(got, ref) < 0.1 < count_distance(got_plain, ref)
    # records of the lagged layer are aligned the same way as the outputs
    out = get_target("loihi2").simulate(r.module, {"input": x}, record="lif2.spikes")
    sel = np.asarray(net.output_select)
    spikes = out["lif2.spikes"].reshape(60, 16, -1)
    np.testing.assert_array_equal(spikes[..., sel == 1].sum(-1), got[..., 1])


def test_recurrent_layer_with_a_current_becomes_an_integrator(tmp_path):
    """snnTorch's RSynaptic: the user's recurrent weights and biases enter
    the encoders' current; the membrane answers one step late, so the
    recurrence closes one step late (reported)."""
    g = make_rsynaptic_graph()
    x = (RNG.random((60, 16, 3)) < 0.3).astype(np.uint8)
    ref = float_run(g, {"in": x}, source="snntorch")["out"]
    r = compiled(g, tmp_path, x, name="in", source="snntorch")
    first = r.report["layers"][0]
    assert first["construction"].startswith("integrator x1") and "encoders" in first["construction"]
    assert any("one step late" in a for a in first["approximations"])
    assert not any("steady state" in a for a in first["approximations"])  # the bias enters the current
    got = get_target("loihi2").simulate(r.module, {"in": x})["out"]
    assert count_distance(got, ref) < 0.05, count_distance(got, ref)


# --------------------------------------------------------------------------------------
# ladders and relays
# --------------------------------------------------------------------------------------


def test_ladder_replicas_with_relays(tmp_path):
    """A hidden CubaLIF layer that sends counts: J replicas, each with a relay
    (memoryless, bias one below the threshold mantissa, weight 2 from its
    replica) that cancels what the current keeps of the corrections; the
    next layer reads the replicas, not the relays."""
    g = make_counts_graph()
    x = count_inputs(RNG, 60, 16, 4)
    r = compiled(g, tmp_path, x, source="rockpool", replicas="4")
    net = read_network(r.module)
    hidden, out = net.layers
    assert hidden.kind == "dense_rec" and hidden.size == 5 * 8
    relay = np.tile(np.repeat([False, True], 4), 5)
    assert np.all(hidden.bias[relay] == hidden.v_th - 1)
    rows = np.flatnonzero(relay)
    assert np.all(hidden.weight_rec[rows, rows - 4] == 2)
    assert not hidden.weight[relay].any()
    assert np.all(np.asarray(hidden.i_decay)[relay] == 4096)
    assert np.all(np.asarray(hidden.v_decay)[relay] == 4096)
    assert not out.weight[:, relay].any() and out.weight[:, ~relay].any()
    assert r.report["layers"][0]["construction"] == "ladder x4"


def test_random_calibration_spikes_compare_plain_and_built_networks():
    """On random calibration spikes (no search of scales) the network with
    every layer plain and the one with every layer built of replicas are
    judged as wholes: Sinabs' IAF (counts, subtraction), which Loihi's own
    neuron gets wrong on any input, is built, and follows the float network
    on fresh inputs where the plain one does not; --replicas none stays
    plain. A network with nothing to build has one plan."""
    g = if_subtract_graph()
    r = compile_for(g, "loihi2", source="sinabs")
    assert [e["construction"] for e in r.report["layers"]] == ["integrator x8"] * 2
    assert "built of replicas" in r.report["quantization"]["method"]
    plain = compile_for(g, "loihi2", source="sinabs", replicas="none")
    assert {e["construction"] for e in plain.report["layers"]} == {"plain"}
    x = (np.random.default_rng(5).random((80, 8, 10)) < 0.4).astype(np.uint8)
    ref = float_run(g, {"input": x}, source="sinabs")["output"]
    sim = get_target("loihi2").simulate
    built_d = count_distance(sim(r.module, {"input": x})["output"], ref)
    plain_d = count_distance(sim(plain.module, {"input": x})["output"], ref)
    assert ref.max() > 1 and built_d < 0.05 < plain_d, (built_d, plain_d)
    r = compile_for(make_counts_graph(), "loihi2", calib_steps=30)  # plain reading: nothing to build
    assert [layer["neurons"] for layer in r.report["layers"]] == [5, 3]


def test_replicas_that_do_not_fit_the_chips_leave_every_layer_plain(tmp_path):
    """Two cores of 8 neurons hold the plain network (7 and 3 neurons), not
    its replicas (8 per neuron): by default the network is built again
    plain, with a warning that says why; asked for replicas, the refusal
    stands."""
    from nirc import diagnostics

    cap = tmp_path / "cap.json"
    cap.write_text('{"cores_per_chip": 2, "neurons_per_core": 8, "chips": 1}')
    g = if_subtract_graph()
    with diagnostics.collecting() as sink:
        r = compile_for(g, "loihi2", source="sinabs", capacity_file=str(cap))
    assert {e["construction"] for e in r.report["layers"]} == {"plain"}
    assert [e["neurons"] for e in r.report["layers"]] == [7, 3]
    said = [w.render() for w in sink.warnings if "would not fit" in w.render()]
    assert said and ("built of replicas (if1: integrator x8; if2: integrator x8) the network "
                     "would not fit (the model does not fit loihi2: it needs 12 cores, the "
                     "machine has 2") in said[0], said  # fmt: skip
    with pytest.raises(NircError) as e:
        compile_for(g, "loihi2", source="sinabs", capacity_file=str(cap), replicas="8")
    assert "does not fit" in e.value.message


def test_a_construction_too_large_to_build_leaves_the_layer_plain(monkeypatch):
    """Each layer is built only where its matrices stay within the budget;
    the report says which layer stayed Loihi's neuron and why."""
    from nirc.targets.loihi2 import replicas

    g = if_subtract_graph()
    monkeypatch.setattr(replicas, "MAX_BUILD_ELEMENTS", 2_000)  # the first layer needs 2,310
    r = compile_for(g, "loihi2", source="sinabs", replicas="8")
    first, last = r.report["layers"]
    assert first["construction"] == "plain" and last["construction"] == "integrator x8"
    assert any(n.startswith("not built of replicas: integrator x8 would take ")
               for n in first["notes"]), first["notes"]  # fmt: skip
    assert not any("not built" in n for n in last["notes"])


# --------------------------------------------------------------------------------------
# the fast search
# --------------------------------------------------------------------------------------


def test_fast_search_tunes_approximated_layers(tmp_path):
    """A conv network of Sinabs' neurons (counts, subtraction: Loihi's conv
    layers cannot be built of replicas): threshold factors from one run of
    each layer's synapse, then per-channel gains, kept where they bring the
    layer's counts closer to the float's."""
    x = (RNG.random((30, 24, 1, 6, 6)) < 0.4).astype(np.uint8)
    r = compiled(make_conv_graph(), tmp_path, x, dt=1.0, source="sinabs")
    choices = {t["choice"].split(",")[-1].strip() for t in r.report["quantization"]["tried"]
               if t["layer"] == "if1"}  # fmt: skip
    assert "threshold x 0.7" in choices and any(c.startswith("per-neuron gains") for c in choices)
    assert r.report["quantization"]["search"] == "fast"


def test_fast_search_keeps_max_abs_when_it_predicts_better(tmp_path, monkeypatch):
    """The layer-by-layer choices are each the best for their layer, not for
    the network: where the max-abs baseline predicts significantly more
    calibration samples as the float network does, the chip gets max-abs
    (the paper's N-MNIST CNN on random calibration spikes: 164 against 198
    of 256). Here every tuned layer may only take a threshold 20 times too
    high, so that the search's choice is plainly the worse one."""
    from nirc.targets.loihi2 import quantize as qz

    monkeypatch.setattr(qz, "FAST_FACTORS", (20.0,))
    rng = np.random.default_rng(1)
    graph = chain([
        Node("input", "Input", {"shape": np.array([1, 6, 6])}),
        conv2d("conv1", np.round(rng.standard_normal((4, 1, 3, 3)) * 4) / 4, padding=(1, 1)),
        if_node("if1", (4, 6, 6)),
        Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        Node("fc", "Linear", {"weight": (np.round(rng.standard_normal((4, 144)) * 4) / 16).astype(np.float32)}),
        if_node("if2", (4,)),
        Node("output", "Output", {"shape": np.array([4])}),
    ])  # fmt: skip
    x = (np.random.default_rng(3).random((30, 64, 1, 6, 6)) < 0.4).astype(np.uint8)
    r = compiled(graph, tmp_path, x, dt=1.0, source="sinabs")
    cal = r.report["agreement"]["calibration"]
    assert cal["prediction_agreement"] == cal["max_abs_prediction_agreement"] == 1.0
    kept = [t for t in r.report["quantization"]["tried"] if t["choice"].startswith("max-abs scales kept")]
    assert len(kept) == 1 and kept[0]["agreement"] == cal["prediction_agreement"]
    assert r.report["quantization"]["outcome"] == kept[0]["choice"]
    assert "max-abs scales kept" in "\n".join(r.summary)


def test_sweep_equals_one_run_per_threshold():
    """Thresholds swept in one pass (the synapse computed once) give the
    counts of separate runs, for dense and conv layers, compiled or not."""
    from dataclasses import replace

    from nirc.targets.loihi2.netx import LavaLayer
    from nirc.targets.loihi2.simulator import reset_steps, simulate_layer, sweep_thresholds

    rng = np.random.default_rng(7)
    dense = LavaLayer("dense", (9,), (6,), rng.integers(-90, 120, (6, 9)), weight_exp=0,
                      bias_mant=rng.integers(-5, 9, 6), i_decay=np.arange(6) * 500, v_decay=300)
    conv = LavaLayer("conv", (2, 5, 5), (3, 3, 3), rng.integers(-40, 60, (3, 2, 3, 3)),
                     i_decay=1024, v_decay=np.repeat([0, 200, 900], 9), stride=(2, 2),
                     padding=(1, 1))  # fmt: skip
    for layer, x in ((dense, rng.integers(0, 4, (40, 3, 9))),
                     (conv, rng.random((40, 3, 2, 5, 5)) < 0.4)):  # fmt: skip
        resets = reset_steps(0, 40, 40, 1)
        ths = [40, 70, 130]
        for jit in (False, True):
            got = sweep_thresholds(layer, x, ths, graded=True, resets=resets, window=(3, 35), jit=jit)
            for k, th in enumerate(ths):
                s, _, _ = simulate_layer(replace(layer, v_th=th), x, graded=True, resets=resets,
                                         jit=False)  # fmt: skip
                np.testing.assert_array_equal(got[k], s[3:35].sum(axis=0))


# --------------------------------------------------------------------------------------
# options and diagnostics
# --------------------------------------------------------------------------------------


def test_replica_and_search_options_are_checked(tmp_path):
    g = make_counts_graph()
    with pytest.raises(NircError, match="unknown replica count") as info:
        compile_for(g, "loihi2", source="rockpool", replicas="many")
    assert "auto, none or a number of replicas 1..31" in info.value.render()
    with pytest.raises(NircError, match="unknown scale search") as info:
        compile_for(g, "loihi2", source="rockpool", search="thorough")
    assert "fast or full or quick" in info.value.render()


def test_relays_need_a_threshold_the_bias_can_hold(tmp_path):
    """A relay fires on its bias (vThMant - 1): a threshold mantissa beyond
    the 13-bit bias range cannot have relays."""
    from nirc.targets.base import CompileOptions
    from nirc.targets.loihi2.lower import extract
    from nirc.targets.loihi2.quantize import Choice, quantize_layer
    from nirc.targets.loihi2.replicas import Build, apply
    from nirc.targets.loihi2.target import load_fused

    net = extract(load_fused(make_counts_graph(), CompileOptions(source="rockpool")))
    ladder = apply(net, [Build("ladder", 2), Build()]).layers[0]
    assert ladder.relay is not None
    with pytest.raises(NircError, match="relays need the threshold mantissa within the bias range") as info:
        quantize_layer(ladder, Choice(1.0, 40.0))
    assert "vThMant <= 4096" in info.value.render()


def test_sparse_recurrent_weights_in_the_ir(tmp_path):
    """A large, mostly zero weight_rec is written as weight_rec_coo and read
    back as the same matrix; the netx file holds it compressed."""
    import h5py

    g = make_counts_graph()
    x = count_inputs(RNG, 40, 8, 4)
    r = compiled(g, tmp_path, x, source="rockpool", replicas="8")
    net = read_network(r.module)
    assert "weight_rec_coo" in r.artifacts["model.mlir"]
    again = read_network(build_network(net))
    for a, b in zip(net.layers, again.layers):
        np.testing.assert_array_equal(a.weight_rec if a.weight_rec is not None else 0,
                                      b.weight_rec if b.weight_rec is not None else 0)  # fmt: skip
    (tmp_path / "m.net").write_bytes(r.artifacts["model.net"])
    with h5py.File(tmp_path / "m.net") as f:
        rec = f["layer/1/weight_rec"]
        assert rec.compression == "gzip" and rec.shape == (80, 80)
