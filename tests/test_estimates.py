"""Energy and latency estimates and the report structure the four targets share
(nirc.targets.estimates): the counting on hand-computed graphs, the pricing,
each chip's counts against the spikes its simulator gives, the sections of
every report, `nirc eval` side by side and `nirc targets` citing its figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from nirc.cli import main
from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.targets import compile as compile_model
from nirc.targets import get_target
from nirc.targets.estimates import (
    COUNTS,
    REPORT_SECTIONS,
    ChipFigures,
    Figure,
    Population,
    ReportSections,
    assemble_report,
    conv_synapses,
    count_activity,
    dense_synapses,
    estimate,
    report_text,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_eval import small_data, two_layers  # noqa: E402

QUICK = {"calib_steps": 20, "calib_batch": 2}


def pj(v: float) -> Figure:
    return Figure(v * 1e-12, "J", "op", "vendor figure", "a test")


def ns(v: float) -> Figure:
    return Figure(v * 1e-9, "s", "op", "vendor figure", "a test")


# --------------------------------------------------------------------------------------
# counting on hand-computed graphs
# --------------------------------------------------------------------------------------


def two_layer_activity(core_of_hidden, chips=None):
    """input (2) -> hidden (3) -> out (1); spikes over T = 2 steps, B = 1."""
    x = np.array([[[1, 0]], [[1, 1]]])  # input events: 3
    h = np.array([[[1, 0, 1]], [[0, 0, 1]]])  # hidden spikes: 3
    o = np.array([[[0]], [[1]]])
    w_in = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])  # [pre, post]: fan-out 2 and 1
    w_out = np.array([[1.0], [1.0], [0.0]])  # hidden 2 reaches nothing
    pops = [Population("x", x, None, "none"), Population("h", h, np.asarray(core_of_hidden)),
            Population("o", o, np.array([0]))]  # fmt: skip
    syn = [dense_synapses("x", "h", w_in), dense_synapses("h", "o", w_out)]
    return count_activity(pops, syn, chips)


def test_counts_on_one_core_by_hand():
    a = two_layer_activity([0, 0, 0])
    c = a.counts
    # input events: step 0 x0 (fan-out 2), step 1 x0 and x1 (2 + 1): 5 synaptic events;
    # hidden spikes: h0 at t0 (fan-out 1), h2 at t0 and t1 (fan-out 0): 1 synaptic event
    assert c["input_events"] == 3 and c["spikes"] == 4
    assert c["synaptic_events"] == 6
    assert a.layers["h"]["synaptic_events"] == 5 and a.layers["o"]["synaptic_events"] == 1
    assert c["neuron_updates"] == (3 + 1) * 2  # every neuron, every step
    assert c["spikes_between_cores"] == 0 and c["spikes_between_chips"] == 0
    # per-core work for latency: synaptic events per step on core 0
    assert a.core_events[:, 0, 0].tolist() == [2 + 1, 3]


def test_a_split_layer_sends_spikes_between_cores_and_chips():
    # hidden neurons 0, 1 on core 0, neuron 2 on core 1; out on core 0; cores 0, 1 on two chips
    a = two_layer_activity([0, 0, 1], chips=np.array([0, 1]))
    c = a.counts
    assert c["synaptic_events"] == 6  # the same synapses wherever they sit
    # only h0 reaches o (core 0, h0's own): no crossing; h2 reaches nothing
    assert c["spikes_between_cores"] == 0
    # out on core 1 instead: h0's spike (one) crosses a core and a chip
    pops = [Population("h", np.array([[[1, 0, 1]], [[0, 0, 1]]]), np.array([0, 0, 1])),
            Population("o", np.array([[[0, 0]], [[1, 0]]]), np.array([1, 0]))]
    w = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])  # h0 -> o0 (core 1), o1 (core 0)
    a = count_activity(pops, [dense_synapses("h", "o", w)], np.array([0, 1]))
    # h0 (1 spike, on core 0) reaches cores 1 and 0: one packet to another core and chip;
    # h2 (2 spikes, on core 1) reaches core 1 only: none
    assert a.counts["spikes_between_cores"] == 1 and a.counts["spikes_between_chips"] == 1
    assert a.counts["synaptic_events"] == 2 + 2


def test_event_driven_updates_count_only_the_events():
    x = np.ones((3, 2, 1))
    pops = [Population("x", x, None, "none"), Population("n", np.zeros((3, 2, 4)),
                                                         np.zeros(4, np.int64), "on events")]
    a = count_activity(pops, [dense_synapses("x", "n", np.array([[1.0, 0, 1, 1]]))])
    assert a.counts["synaptic_events"] == 3 * 3  # 3 steps x fan-out 3, per sample
    assert a.counts["neuron_updates"] == 9
    pops[1].updates = "events and steps"
    a = count_activity(pops, [dense_synapses("x", "n", np.array([[1.0, 0, 1, 1]]))])
    assert a.counts["neuron_updates"] == 9 + 4 * 3


def test_conv_synapses_match_the_taps_by_hand():
    s = conv_synapses("x", "y", np.ones((1, 1, 2, 2)), (1, 3, 3), (1, 2, 2))
    assert s.pre_index.size == 4 * 4  # four outputs, four taps each
    fan = np.bincount(s.pre_index, minlength=9).reshape(3, 3)
    assert fan.tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    # stride 2 and padding 1 on a 4x4 input with a zero tap: outputs 2x2, taps inside only
    w = np.ones((2, 1, 3, 3))
    w[1, 0, 1, 1] = 0
    s = conv_synapses("x", "y", w, (1, 4, 4), (2, 2, 2), stride=(2, 2), padding=(1, 1))
    brute = 0
    for o in range(2):
        for oy in range(2):
            for ox in range(2):
                for ky in range(3):
                    for kx in range(3):
                        iy, ix = oy * 2 - 1 + ky, ox * 2 - 1 + kx
                        brute += bool(w[o, 0, ky, kx]) and 0 <= iy < 4 and 0 <= ix < 4
    assert s.pre_index.size == brute


def test_counting_diagnostics():
    x = np.ones((2, 1, 2))
    with pytest.raises(NircError, match="synapses name an unknown population"):
        count_activity([Population("x", x, None, "none")],
                       [dense_synapses("x", "nope", np.ones((2, 1)))])  # fmt: skip
    with pytest.raises(NircError, match="a synapse index is out of range"):
        count_activity([Population("x", x, None, "none"),
                        Population("n", np.zeros((2, 1, 1)), np.zeros(1, np.int64))],
                       [dense_synapses("x", "n", np.ones((3, 1)))])  # fmt: skip
    with pytest.raises(NircError, match="population spikes of the wrong shape"):
        count_activity([Population("x", x, None, "none"),
                        Population("n", np.zeros((3, 1, 1)), np.zeros(1, np.int64))], [])
    with pytest.raises(NircError, match="a core per neuron is needed"):
        count_activity([Population("n", np.zeros((2, 1, 3)), np.zeros(2, np.int64))], [])
    with pytest.raises(NircError, match="weight does not fit its input"):
        conv_synapses("x", "y", np.ones((1, 2, 2, 2)), (1, 3, 3), (1, 2, 2))


# --------------------------------------------------------------------------------------
# pricing
# --------------------------------------------------------------------------------------


def test_energy_is_the_counts_times_the_figures():
    a = two_layer_activity([0, 0, 1], chips=np.array([0, 0]))
    figures = ChipFigures("test", energy={"synaptic_events": pj(10), "neuron_updates": pj(2),
                                          "spikes": pj(1)},
                          power=Figure(1e-3, "W", "second", "measured", "a test"),
                          latency="real-time",
                          unpriced={"spikes_between_cores": "none published"})  # fmt: skip
    e = estimate(a, figures, dt=1e-3)
    c = a.counts
    expected = (c["synaptic_events"] * 10 + c["neuron_updates"] * 2 + c["spikes"] * 1) * 1e-12
    assert e["energy_j"] == pytest.approx(expected + 1e-3 * 2 * 1e-3)
    assert e["energy_breakdown_j"]["power x duration"] == pytest.approx(2e-6)
    assert e["latency_s"] == pytest.approx(2e-3)  # 2 steps of 1 ms in real time
    # nothing crossed a core: the unpriced count is zero, the energy is complete
    assert e["energy_is_lower_bound"] is False and e["unpriced"] == {}
    assert set(e["counts"]) == set(COUNTS)
    assert "not measurements" in e["note"]


def test_per_step_latency_is_the_busiest_core_plus_the_overhead():
    a = two_layer_activity([0, 0, 1], chips=np.array([0, 0]))
    figures = ChipFigures("test", energy={}, latency="per-step work",
                          time={"synaptic_events": ns(4), "neuron_updates": ns(1)},
                          step_overhead=ns(100))  # fmt: skip
    e = estimate(a, figures, dt=None)
    # core 0 holds h0, h1, o (3 neurons), core 1 holds h2 (1 neuron);
    # step 0: x0 -> h0 (core 0), h2 (core 1); h0 -> o (core 0): core 0 has 2 events, core 1 1
    # step 1: x0 -> h0, h2; x1 -> h2: core 0 1 event, core 1 2 events
    step0 = max(2 * 4 + 3 * 1, 1 * 4 + 1 * 1)
    step1 = max(1 * 4 + 3 * 1, 2 * 4 + 1 * 1)
    assert e["latency_s"] == pytest.approx((step0 + step1 + 2 * 100) * 1e-9)
    assert e["energy_j"] == 0.0


def test_unpriced_counts_make_a_lower_bound():
    a = two_layer_activity([0, 0, 1], chips=np.array([0, 1]))
    pops = [Population("h", np.ones((1, 1, 1)), np.array([0])),
            Population("o", np.zeros((1, 1, 1)), np.array([1]))]
    a = count_activity(pops, [dense_synapses("h", "o", np.ones((1, 1)))], np.array([0, 1]))
    figures = ChipFigures("test", energy={"synaptic_events": pj(1)}, latency="real-time",
                          unpriced={"spikes_between_chips": "none published"})  # fmt: skip
    e = estimate(a, figures, dt=1.0)
    assert e["energy_is_lower_bound"] is True and "spikes_between_chips" in e["unpriced"]


def test_figure_diagnostics():
    with pytest.raises(NircError, match="a figure prices an unknown count"):
        ChipFigures("x", energy={"flops": pj(1)}, latency="real-time")
    with pytest.raises(NircError, match="unknown latency model"):
        ChipFigures("x", energy={}, latency="eventually")


# --------------------------------------------------------------------------------------
# the shared report structure
# --------------------------------------------------------------------------------------


def sections(**details) -> ReportSections:
    return ReportSections(header={"format": "f/1", "target": "t", "model": "m"}, resources={},
                          quantization={}, fidelity={"agreement": 1.0}, approximations=[],
                          warnings=[], estimates={}, details=details)  # fmt: skip


def test_assemble_report_keeps_the_order_and_the_old_agreement_key():
    r = assemble_report(sections(layers=[1]))
    assert r["sections"] == list(REPORT_SECTIONS)
    assert r["agreement"] is r["fidelity"] and r["layers"] == [1]
    with pytest.raises(NircError, match="reuse a section name"):
        assemble_report(sections(estimates={}))
    bad = sections()
    bad.header = {"format": "f/1", "target": "t"}
    with pytest.raises(NircError, match="a report header lacks a field"):
        assemble_report(bad)


def test_report_text_prints_every_section_in_order():
    text = report_text(["title"], {"warnings": ["w"], "resources": ["r"]}, ["end"])
    heads = [line for line in text.splitlines() if line.startswith("== ")]
    assert heads == [f"== {k} ==" for k in REPORT_SECTIONS]
    assert "== warnings ==\nw\n" in text and "== quantization ==\nnone\n" in text
    assert text.rstrip().endswith("end")
    with pytest.raises(NircError, match="unknown report section"):
        report_text([], {"timing": []})


# --------------------------------------------------------------------------------------
# each chip: its counts against its simulator's spikes
# --------------------------------------------------------------------------------------


def dense_graph(sizes=(4, 6, 3), seed=0, dt=1e-3) -> Graph:
    rng = np.random.default_rng(seed)
    nodes = {"input": Node("input", "Input", {"shape": np.array([sizes[0]])})}
    edges, prev = [], "input"
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        w = rng.normal(0, 1.5, (b, a)).astype(np.float32)
        w[0, 0] = 0.0  # a zero weight is no synapse
        nodes[f"fc{k}"] = Node(f"fc{k}", "Linear", {"weight": w})
        nodes[f"if{k}"] = Node(f"if{k}", "IF", {"r": np.ones(b), "v_threshold": np.ones(b),
                                                "v_reset": np.zeros(b)})  # fmt: skip
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"if{k}")]
        prev = f"if{k}"
    nodes["output"] = Node("output", "Output", {"shape": np.array([sizes[-1]])})
    edges.append((prev, "output"))
    return Graph(nodes, edges, {"dt": np.array(dt)})


def spikes_in(t=20, b=3, n=4, seed=1):
    return {"input": (np.random.default_rng(seed).random((t, b, n)) < 0.4).astype(np.float32)}


def test_xylo_counts_are_the_spikes_times_the_nonzero_weights():
    r = compile_model(dense_graph(), "xylo", **QUICK)
    tgt = get_target("xylo")
    x = spikes_in()
    e = tgt.estimate(r.module, x)
    from nirc.targets.xylo.dialect import read_network
    from nirc.targets.xylo.quantize import simulate

    sp = read_network(r.module).specification
    run = simulate(sp, x["input"].astype(np.int64), record=True)
    fan = lambda w: (np.asarray(w).reshape(len(w), -1) != 0).reshape(  # noqa: E731
        len(w), np.asarray(w).shape[1], -1).any(axis=2).sum(axis=1)
    by_hand = (x["input"].sum(axis=(0, 1)) @ fan(sp.weights_in)
               + run["spikes_hidden"].sum(axis=(0, 1)) @ fan(sp.weights_rec)
               + run["spikes_hidden"].sum(axis=(0, 1)) @ fan(sp.weights_out)) / 3  # fmt: skip
    assert e["counts"]["synaptic_events"] == pytest.approx(by_hand, abs=1e-3)
    n = run["spikes_hidden"].shape[2] + run["spikes_out"].shape[2]
    assert e["counts"]["neuron_updates"] == n * 20
    assert e["counts"]["spikes_between_cores"] == 0  # one core
    assert e["latency_s"] == pytest.approx(20 * 1e-3)  # real time at dt
    assert e["energy_j"] == pytest.approx(291e-6 * 20e-3)  # the measured power x duration


def test_speck_counts_the_conv_fan_out_and_the_routed_events():
    conv_w = np.random.default_rng(0).normal(0, 1, (2, 1, 3, 3)).astype(np.float32)
    conv_w[1, 0, 0, 0] = 0.0
    nodes = {
        "input": Node("input", "Input", {"shape": np.array([1, 5, 5])}),
        "c": Node("c", "Conv2d", {"weight": conv_w, "stride": np.array([1, 1]),
                                  "padding": np.array([1, 1]), "dilation": np.array([1, 1]),
                                  "groups": np.array(1), "bias": np.zeros(2, np.float32)}),
        "n": Node("n", "IF", {"r": np.ones((2, 5, 5)), "v_threshold": np.ones((2, 5, 5))}),
        "flat": Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        "fc": Node("fc", "Linear", {"weight": np.random.default_rng(1).normal(
            0, 1, (3, 50)).astype(np.float32)}),
        "n2": Node("n2", "IF", {"r": np.ones(3), "v_threshold": np.ones(3)}),
        "output": Node("output", "Output", {"shape": np.array([3])}),
    }  # fmt: skip
    names = list(nodes)
    g = Graph(nodes, list(zip(names, names[1:])), {})
    r = compile_model(g, "speck", **QUICK)
    x = {"input": (np.random.default_rng(2).random((10, 2, 1, 5, 5)) < 0.3).astype(np.int64)}
    e = get_target("speck").estimate(r.module, x)
    # by hand: an input event at (y, x) reaches, per output channel, every nonzero tap
    # whose output lands inside the 5x5 map (padding 1, stride 1)
    fan = np.zeros((5, 5))
    for o in range(2):
        for ky in range(3):
            for kx in range(3):
                if conv_w[o, 0, ky, kx] == 0:
                    continue
                for y in range(5):
                    for xx in range(5):
                        oy, ox = y + 1 - ky, xx + 1 - kx
                        fan[y, xx] += 0 <= oy < 5 and 0 <= ox < 5
    first = float((x["input"].sum(axis=(0, 1))[0] * fan).sum()) / 2
    first_layer = e["layers"][list(e["layers"])[1]]
    assert first_layer["synaptic_events"] == pytest.approx(first)
    # Speck is event-driven: the updates are the events (no bias here)
    assert e["counts"]["neuron_updates"] == e["counts"]["synaptic_events"]
    # every spike of the first core goes to the second: one routed event each
    assert e["counts"]["spikes_between_cores"] == pytest.approx(first_layer["spikes"])
    assert e["energy_is_lower_bound"] is True  # Speck's per-event energy is not published


def test_loihi2_inter_core_spikes_zero_on_one_core_and_positive_when_split():
    x = spikes_in(b=2)
    one = compile_model(dense_graph(dt=1.0), "loihi2", calib_steps=20, calib_batch=1)
    e1 = get_target("loihi2").estimate(one.module, x)
    assert e1["counts"]["spikes_between_cores"] == 0
    split = compile_model(dense_graph(dt=1.0), "loihi2", calib_steps=20, calib_batch=1,
                          capacity={"neurons_per_core": 2})  # fmt: skip
    tgt = get_target("loihi2")
    e2 = tgt.estimate(split.module, x)
    # by hand from the placement and the recorded spikes
    from nirc.targets.loihi2.dialect import read_network

    net = read_network(split.module)
    rec = tgt.simulate(split.module, x, record=",".join(f"{ly.name}.spikes" for ly in net.layers))
    crossings = 0.0
    for pre, post in zip(net.layers, net.layers[1:]):
        s = (np.asarray(rec[f"{pre.name}.spikes"]).reshape(20, 2, -1) != 0).sum(axis=(0, 1))
        w = np.asarray(post.weight).reshape(post.size, -1)
        for i in range(pre.size):
            cores = {int(post.cores[j]) for j in range(post.size) if w[j, i] != 0}
            crossings += s[i] * len(cores - {int(pre.cores[i])})
    assert len({int(c) for ly in net.layers for c in ly.cores}) > 1
    assert e2["counts"]["spikes_between_cores"] == pytest.approx(crossings / 2)
    assert e2["counts"]["spikes_between_cores"] > 0
    # energy = the counts times Loihi 1's figures; latency from the per-step work
    c = e2["counts"]
    assert e2["energy_j"] == pytest.approx(
        c["synaptic_events"] * 23.6e-12 + c["neuron_updates"] * 52e-12 + c["spikes"] * 1.7e-12
        + c["spikes_between_cores"] * 3.5e-12, rel=1e-5)  # fmt: skip
    assert e2["latency_model"] == "per-step work" and e2["latency_s"] > 20 * 113e-9


def test_spinnaker2_counts_follow_the_placement():
    r = compile_model(dense_graph(dt=1e-4), "spinnaker2", **QUICK, quick=True)
    e = get_target("spinnaker2").estimate(r.module, spikes_in(b=2))
    # each population on its own PE: every spike with a synapse crosses a PE
    assert e["counts"]["spikes_between_cores"] > 0 and e["counts"]["spikes_between_chips"] == 0
    assert e["energy_j"] == pytest.approx(e["counts"]["synaptic_events"] * 10e-12, rel=1e-5)
    # real time on py-spinnaker2's 1 ms tick, not the model's dt of 0.1 ms
    assert e["latency_s"] == pytest.approx(e["steps"] * 1e-3)


# --------------------------------------------------------------------------------------
# the four reports, eval side by side, nirc targets
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["speck", "xylo", "loihi2", "spinnaker2"])
def test_every_report_has_the_shared_sections(target):
    extra = {"quick": True} if target == "spinnaker2" else {}
    r = compile_model(dense_graph(), target, **QUICK, **extra)
    assert r.report["sections"] == list(REPORT_SECTIONS)
    for key in REPORT_SECTIONS:
        assert key in r.report, key
    est = r.report["estimates"]
    assert est["note"].endswith("not measurements") and est["energy_j"] > 0
    assert est["figures"]["sources"]
    text = r.artifacts["report.txt"]
    heads = [line for line in text.splitlines() if line.startswith("== ")]
    assert heads == [f"== {k} ==" for k in REPORT_SECTIONS]
    assert "not measurements" in text and "estimate per inference" in r.summary[-1]
    assert json.loads(r.artifacts["report.json"])["estimates"]["counts"] == est["counts"]


def test_eval_prints_the_chips_side_by_side(tmp_path, capsys):
    model = tmp_path / "m.nir"
    data = tmp_path / "d.npz"
    from nirc import write

    write(model, two_layers())
    np.savez(data, **small_data())
    out = tmp_path / "r.json"
    assert main(["eval", str(model), "--data", str(data), "--target", "speck,xylo",
                 "--json", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "chips side by side (estimates from simulated activity and published per-operation " \
           "figures, not measurements" in text
    table = text[text.index("chips side by side"):].splitlines()
    assert table[1].split()[:4] == ["chip", "accuracy", "energy/inference", "latency/inference"]
    assert table[2].startswith("  speck") and table[3].startswith("  xylo")
    got = json.loads(out.read_text())
    rows = {r["target"]: r for r in got["comparison"]}
    assert set(rows) == {"speck", "xylo"}
    for name in rows:
        assert rows[name]["energy_j"] > 0 and rows[name]["latency_s"] > 0
        assert got["targets"][name]["estimate"]["samples"] == 12
        assert rows[name]["accuracy"] == got["targets"][name]["accuracy"]


@pytest.mark.parametrize("target,cited", [
    ("loihi2", "Davies et al."), ("speck", "Yao et al."), ("xylo", "Bos & Muir"),
    ("spinnaker2", "Hoeppner et al.")])  # fmt: skip
def test_nirc_targets_cites_each_figure(target, cited, capsys):
    assert main(["targets", target]) == 0
    text = capsys.readouterr().out
    assert cited in text and "not measurements" in text and "latency model" in text


def test_a_step_of_a_second_on_a_real_time_chip_is_flagged():
    """A Sinabs-style file counts time in steps (dt = 1 s): the real-time
    chips' latency and energy (steps x dt) then say so; a millisecond step
    does not."""
    from nirc.targets.estimates import estimate_lines, summary_estimate
    from nirc.targets.speck.spec import FIGURES

    activity = two_layer_activity([0, 0, 0])
    long = estimate(activity, FIGURES, 1.0)
    assert "not the data's real step" in long["caveat"]
    assert any("note: latency and energy are steps x dt" in line for line in estimate_lines(long))
    assert "note:" in summary_estimate(long)
    short = estimate(activity, FIGURES, 1e-3)
    assert short["caveat"] is None and "note:" not in summary_estimate(short)
