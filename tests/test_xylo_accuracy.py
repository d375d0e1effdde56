"""Xylo quantization for task accuracy (issue #15): what the search may choose
on the user's data besides one target threshold, on small networks (the
task-accuracy runs stay in benchmarks/tasks.py).

- spike caps through saturation: Xylo has no setting for a hidden neuron's
  spikes per step, but a threshold above half the int16 range keeps it to
  one (the membrane cannot hold two thresholds);
- per-channel scales (Rockpool's ``channel_quantize``): every neuron uses the
  whole int8 range;
- two synapses for a synaptic decay that is not a bit shift;
- separate hidden and output targets, and moves kept only when they win
  calibration samples.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_eval import small_data, two_layers
from test_xylo_compile import FAST, cuba, network

from nirc.targets import compile as compile_for
from nirc.targets import get_target
from nirc.targets.base import CompileOptions
from nirc.targets.xylo import approximate
from nirc.targets.xylo import quantize as q
from nirc.targets.xylo.lower import map_network, split_synapses, two_synapse_fit
from nirc.targets.xylo.spec import AUDIO2, IMU
from nirc.targets.xylo.target import float_reference

pytestmark = pytest.mark.filterwarnings("ignore::nirc.interpreter.NircWarning")


def lowered(graph, **extra):
    """(float network on the chip as mapped, before the quantizer's choices;
    float `snn` module; calibration inputs)."""
    _, _, _, module, calib = get_target("xylo").lower(graph, CompileOptions(extra=extra))
    return map_network(module, AUDIO2), module, calib


def strong(n_hidden=6):
    g = network(4, [n_hidden, 3])
    w = g.nodes["fc0"].params["weight"]
    g.nodes["fc0"].params["weight"] = np.clip(np.abs(w), 0.5, 1.5).astype(w.dtype)
    return g


def test_cap_targets_are_the_smallest_thresholds_of_each_cap():
    assert q.cap_targets(AUDIO2) == [16384, 10923]
    for th, cap in zip(q.cap_targets(AUDIO2, (1, 2, 3)), (1, 2, 3)):
        assert AUDIO2.state_max // th == cap and AUDIO2.state_max // (th - 1) > cap


def test_saturation_caps_hidden_spikes_per_step():
    """Driven hard (15 events per channel and step), the bit-accurate chip's
    hidden neurons spike several times per step at a low threshold, and at
    most state_max // threshold times from the cap targets on: the membrane's
    saturation, not the chip's 31, caps them."""
    net, _, _ = lowered(strong(), **FAST)
    events = np.full((30, 1, 4), 15, np.int64)
    most = {}
    for target in (2048.0, 10923.0, 16384.0):
        sp = q.per_neuron(net, AUDIO2, target)
        most[target] = int(q.simulate(sp, events, record=True)["spikes_hidden"].max())
        assert most[target] <= AUDIO2.state_max // int(sp.threshold.min())
    assert most == {2048.0: most[2048.0], 10923.0: 2, 16384.0: 1} and most[2048.0] > 2


def test_a_capped_layer_is_noted_and_its_float_cost_uses_the_cap():
    net, _, _ = lowered(strong(), **FAST)
    sp = q.per_neuron(net, AUDIO2, 10923.0)
    notes = q.with_spike_caps(net, sp, AUDIO2).notes
    capped = [n for n in notes if q.CAP_NOTE in n]
    assert len(capped) == 1 and capped[0].startswith("lif0: thresholds 10924..10924: ")
    assert "2 per step (the chip allows 31)" in capped[0] and "clamp at 3 thresholds" in capped[0]
    assert approximate._spike_caps(notes) == {"lif0": 2}
    # one spike per step: nothing left for the float network to emulate
    sp1 = q.per_neuron(net, AUDIO2, 16384.0)
    one = q.with_spike_caps(net, sp1, AUDIO2).notes
    assert approximate._spike_caps(one) == {"lif0": 1}
    assert [n for n in notes if "may spike several times" in n]
    assert not [n for n in one if "may spike several times" in n]
    assert not [n for n in q.with_spike_caps(net, q.per_neuron(net, AUDIO2, 512.0),
                                             AUDIO2).notes if q.CAP_NOTE in n]  # fmt: skip


def test_channel_scales_use_each_neurons_whole_int8_range():
    net, _, _ = lowered(network(4, [6, 3]), **FAST)
    net.w_in[:, 0] *= 1e-2  # one neuron with much smaller weights than its neighbours
    s_hid, s_out = q.channel_scales(net, AUDIO2)
    sp = q.specification(net, AUDIO2, s_hid, s_out, (0, 0, 0))
    w = np.abs(sp.weights_in[:, :, 0].astype(int))
    assert np.all(w.max(axis=0) == AUDIO2.weight_max)
    assert np.all(np.abs(sp.weights_out.astype(int)).max(axis=0) == AUDIO2.weight_max)
    # the threshold follows each neuron's scale (> comparisons: floor + 1)
    assert np.array_equal(sp.threshold, np.floor(net.threshold * s_hid).astype(int) + 1)
    # one target threshold for all: the small neuron keeps a few integer levels
    shared = q.per_neuron(net, AUDIO2, 1024.0)
    assert np.abs(shared.weights_in[:, 0, 0].astype(int)).max() < 8
    # shifted: the same integers, thresholds twice as fine (but where the
    # threshold's int16 range bounds the scale: the small neuron)
    sp1 = q.specification(net, AUDIO2, *q.channel_scales(net, AUDIO2, 1), (1, 1, 1))
    assert np.array_equal(sp1.weights_in[:, 1:], sp.weights_in[:, 1:])
    th, th1 = sp.threshold.astype(int), sp1.threshold.astype(int)
    assert np.all(np.abs(th1[1:] - 2 * th[1:]) <= 2) and th[0] <= th1[0] <= AUDIO2.state_max


def test_two_synapses_fit_a_decay_that_is_not_a_bit_shift():
    d1, d2, c1, c2, err, single = two_synapse_fit(0.8, 2, AUDIO2)
    assert (d1, d2) == (2, 3) and c1 > 0 and c2 > 0
    assert err * 10 < single and single > 0.02
    k = np.arange(40)
    got = c1 * (1 - 2.0**-d1) ** k + c2 * (1 - 2.0**-d2) ** k
    assert np.max(np.abs(got - 0.8**k)) < 0.025 < np.max(np.abs(0.75**k - 0.8**k))
    assert two_synapse_fit(0.75, 2, AUDIO2) is None  # a bit shift already


def test_split_synapses_carries_the_fitted_current_on_the_chip():
    """One input event: the bit-accurate chip's synaptic currents (both
    synapses) follow the float current 0.8**k, where one synapse gives
    0.75**k."""
    g = network(4, [5, 3])
    for name in ("lif0", "lif1"):
        g.nodes[name] = cuba(name, g.nodes[name].params["tau_mem"].size, 10e-3, 5e-3)
    net, _, _ = lowered(g, **FAST)
    two = split_synapses(net, AUDIO2)
    assert two is not None and np.any(two.w_in_2[:, :5]) and not np.any(two.w_in_2[:, 5:])
    assert [n for n in two.notes if n.startswith("lif0: synaptic decay 0.8 fitted by two")]
    assert not [n for n in two.notes if n.startswith("lif0: synaptic decay 0.8 approximated")]
    assert [n for n in two.notes if n.startswith("lif1: synaptic decay 0.8 approximated")]
    events = np.zeros((30, 1, 4), np.int64)
    events[0, 0, 0] = 1
    j = int(np.argmax(np.abs(net.w_in[0, :5])))
    want = net.w_in[0, j] * 0.75 * 4096 / net.threshold[j] * 0.8 ** np.arange(30)
    errors = []
    for n in (net, two):
        r = q.simulate(q.per_neuron(n, AUDIO2, 4096.0), events, record=True)
        current = r["isyn"][:, 0, j].astype(float) + r["isyn2"][:, 0, j]
        errors.append(np.abs(current - want).max() / np.abs(want).max())
    # the weights come from test_xylo_compile's shared RNG, whose state depends on the
    # tests run before: over 12 draws one synapse is off by 0.090-0.096 of the peak, two
    # by 0.017-0.029 (3.3-5.5x better; it was asserted 4x, which some selections missed)
    assert errors[1] < 0.04 and errors[1] * 3 < errors[0]
    assert split_synapses(net, IMU) is None  # one synapse per neuron


def test_data_set_search_beats_the_target_ladder_on_its_calibration(tmp_path):
    """The search starts from the best single target of the ladder and keeps
    only what predicts more calibration samples as the float network: its
    prediction agreement is never below the ladder's best."""
    path = tmp_path / "train.npz"
    np.savez(path, **small_data(n=40, steps=30, seed=3))
    opts = CompileOptions(calibrate=str(path), extra={"calib_samples": 40})
    _, net, quant, module, calib = get_target("xylo").lower(two_layers(), opts)
    assert calib.dataset
    reference = q.pad_steps(float_reference(module, calib), max(0, net.output_lag))
    events = q.pad_steps(q.input_events(net, calib), max(0, net.output_lag))
    ref_pred = np.argmax(q.class_counts(reference), axis=1)
    ladder = []
    for t in q.LADDER:
        got = q.chip_outputs(net, q.per_neuron(net, AUDIO2, float(t)), events)
        ladder.append(np.mean(np.argmax(q.class_counts(got), axis=1) == ref_pred))
    assert quant.prediction_agreement >= max(ladder)
    d = quant.to_dict(quant.network)
    assert d["target_threshold_out"] == quant.output_target
    assert d["scaling"] == quant.scaling.describe()
    s_out = quant.scale_output
    assert d["scales_output"]["out"] == [round(float(s_out.min()), 6), round(float(s_out.max()), 6)]


def test_a_move_must_win_calibration_samples(tmp_path):
    """With a margin larger than the calibration set, nothing after the
    ladder is kept: the result is the ladder's choice, gains 1."""
    path = tmp_path / "train.npz"
    np.savez(path, **small_data(n=24, steps=30, seed=5))
    opts = CompileOptions(calibrate=str(path), extra={"calib_samples": 24})
    _, net, quant, module, calib = get_target("xylo").lower(two_layers(), opts)
    lag = max(0, net.output_lag)
    reference = float_reference(module, calib)
    events = q.input_events(net, calib)
    frozen = q.search(net, AUDIO2, events, reference, "x", data_set=True, lag=lag,
                      move_margin=10**6)  # fmt: skip
    assert frozen.layer_gains == {} and frozen.decay_choices == {}
    assert frozen.scaling.kind == "channel" or frozen.target == frozen.output_target
    assert quant.prediction_agreement >= frozen.prediction_agreement


def test_data_set_calibration_is_deterministic(tmp_path):
    """Every choice of the data-set search (channel scales, split synapses,
    targets, moves) is a deterministic function of the data."""
    path = tmp_path / "train.npz"
    g = network(4, [8, 3], rec={0})
    g.nodes["lif0"] = cuba("lif0", 8, 10e-3, 5e-3)  # a synaptic decay to split
    data = small_data(n=24, steps=30, seed=2)
    data["spikes"] = data["spikes"][:, :, :4]
    np.savez(path, **data)
    a = compile_for(g, "xylo", calibrate=str(path), calib_samples=24).artifacts
    b = compile_for(g, "xylo", calibrate=str(path), calib_samples=24).artifacts
    assert a == b


def test_random_calibration_keeps_the_float_networks_spike_caps():
    """Random calibration spikes rarely drive a neuron to several spikes, so
    they cannot show what a saturation cap costs a layer whose float neurons
    spike up to 31 times per step (Rockpool's): its targets stay below it."""
    net, module, calib = lowered(network(4, [6, 3]), **FAST)
    assert q.keeps_spike_caps(net, AUDIO2, q.LADDER) == q.LADDER  # binary: all of them
    net.hidden[0].spikes, net.hidden[0].max_spikes = "multi", 31
    kept = q.keeps_spike_caps(net, AUDIO2, q.LADDER)
    assert max(kept) == 1024 and AUDIO2.state_max // (max(kept) + 1) >= 31
    net.hidden[0].max_spikes = 4
    assert max(q.keeps_spike_caps(net, AUDIO2, q.LADDER)) == 5793
    net.hidden[0].max_spikes = None  # unbounded in float: the chip's 31
    assert max(q.keeps_spike_caps(net, AUDIO2, q.LADDER)) == 1024
    reference = float_reference(module, calib)
    random = q.search(net, AUDIO2, q.input_events(net, calib), reference, "random", refine=0)
    assert random.target <= 1024


def test_the_reports_weight_errors_use_the_chosen_per_neuron_scales():
    """layer_errors divides the integers by the scales the quantizer used:
    with per-channel scales the one-target formula would be far off."""
    from nirc.targets.xylo.target import layer_errors

    net, _, _ = lowered(network(4, [6, 3]), **FAST)
    net.w_in[:, 0] *= 1e-2
    s_hid, s_out = q.channel_scales(net, AUDIO2)
    sp = q.specification(net, AUDIO2, s_hid, s_out, (0, 0, 0))
    right = {e["layer"]: e["weight_rel_rms_error"] for e in layer_errors(net, sp, 1024.0, (s_hid, s_out))}
    wrong = {e["layer"]: e["weight_rel_rms_error"] for e in layer_errors(net, sp, 1024.0)}
    assert right and max(right.values()) < 0.02  # int8 rounding at each neuron's own scale
    assert max(wrong.values()) > 0.5
