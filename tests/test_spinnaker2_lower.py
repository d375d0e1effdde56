"""lower-spinnaker2: what nirc accepts, and the chip network computing exactly
what the float network computes where the chip allows it.

The networks use integer weights whose largest magnitude is the top of the
model's range, so that the max-abs weight scale is 1 and quantization is
exact: the SpiNNaker2 simulation must then give the float `snn` reference's
spikes, step for step (outputs are aligned for the chip's latency)."""

from __future__ import annotations

import numpy as np
import pytest

from nirc import diagnostics
from nirc.graph import Graph, Node
from nirc.interpreter.snn import run_snn
from nirc.targets import get_target
from nirc.targets.base import CompileOptions
from nirc.targets.base import load_fused as _load
from nirc.targets.spinnaker2.dialect import read_network

RNG = np.random.default_rng(11)
TARGET = get_target("spinnaker2")


def node(name, type_, **params):
    return Node(name, type_, {k: np.asarray(v) for k, v in params.items()})


def if_(name, n, thr=100.5, shape=None):
    shape = shape or (n,)
    return node(name, "IF", r=np.ones(shape), v_threshold=np.full(shape, thr),
                v_reset=np.zeros(shape))  # fmt: skip


def int_weights(shape, top=127):
    w = RNG.integers(-top // 2, top, shape).astype(np.float64)
    w.reshape(-1)[0] = top  # the largest magnitude is the top of the range
    return w


def graph(nodes, edges):
    return Graph(nodes={n.name: n for n in nodes}, edges=list(edges))


def spikes(shape, steps=40, batch=3, p=0.3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((steps, batch) + tuple(shape)) < p).astype(np.uint8)


def compile_exact(g, inputs, *, reset="zero", source="nir", dt=1.0, **extra):
    """Compile, simulate, and require the float reference's outputs."""
    o = CompileOptions(dt=dt, reset=reset, source=source, extra={"quick": True, **extra})
    result = TARGET.compile(g, o)
    ref = run_snn(_load(g, o), inputs)
    out = TARGET.simulate(result, inputs)
    for k, v in ref.items():
        np.testing.assert_array_equal(out[k], v.astype(np.float32), err_msg=k)
        assert v.sum() > 0, f"{k}: the test network never spikes"
    net, _, _ = read_network(result.module)
    return result, net


def models(net):
    return {p.name: p.model for p in net.populations}


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_dense_layers_with_biases_exact(reset):
    g = graph(
        [node("in", "Input", shape=[6]),
         node("fc1", "Affine", weight=int_weights((8, 6)), bias=RNG.integers(-3, 4, 8) * 1.0),
         if_("if1", 8),
         node("fc2", "Linear", weight=int_weights((4, 8))), if_("if2", 4, 150.5),
         node("out", "Output", shape=[4])],
        [("in", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "if2"), ("if2", "out")],
    )  # fmt: skip
    _, net = compile_exact(g, {"in": spikes((6,))}, reset=reset)
    assert models(net) == {"in": "spike_list", "if1": "lif_no_delay", "if2": "lif_no_delay"}
    assert net.population("if2").lag == 2 and net.latency == 2
    want = "reset_to_v_reset" if reset == "zero" else "reset_by_subtraction"
    assert net.population("if1").params["reset"] == want


def test_conv_pool_flatten_linear_exact():
    """Conv2d -> IF (lif_conv2d, Conv2DProjection) -> SumPool2d -> Conv2d ->
    IF (the pool fused into the second Conv2DProjection) -> Flatten -> Linear -> IF."""
    g = graph(
        [node("in", "Input", shape=[2, 8, 8]),
         node("c1", "Conv2d", weight=int_weights((4, 2, 3, 3)), bias=np.zeros(4), stride=[1, 1],
              padding=[1, 1], dilation=[1, 1], groups=1),
         if_("if1", 0, 60.5, (4, 8, 8)),
         node("pool", "SumPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]),
         node("c2", "Conv2d", weight=int_weights((3, 4, 3, 3)), bias=np.zeros(3), stride=[2, 2],
              padding=[1, 0], dilation=[1, 1], groups=1),
         if_("if2", 0, 80.5, (3, 2, 1)),
         node("flat", "Flatten", start_dim=0, end_dim=-1),
         node("fc", "Linear", weight=int_weights((5, 6))), if_("if3", 5, 50.5),
         node("out", "Output", shape=[5])],
        [("in", "c1"), ("c1", "if1"), ("if1", "pool"), ("pool", "c2"), ("c2", "if2"),
         ("if2", "flat"), ("flat", "fc"), ("fc", "if3"), ("if3", "out")],
    )  # fmt: skip
    result, net = compile_exact(g, {"in": spikes((2, 8, 8), p=0.4)})
    assert models(net)["if1"] == "lif_conv2d" and models(net)["if2"] == "lif_conv2d"
    c2 = net.incoming("if2")[0]
    assert net.is_conv2d(c2) and (c2.conv.pool_y, c2.conv.pool_x) == (2, 2)
    assert c2.conv.stride_y == 2 and c2.conv.pad_top == 1 and c2.conv.pad_left == 0
    assert "spinnaker2.conv2d" in result.artifacts["model.mlir"]


def test_dilated_grouped_conv_and_conv1d_become_connection_lists():
    g = graph(
        [node("in", "Input", shape=[4, 9, 9]),
         node("c", "Conv2d", weight=int_weights((4, 2, 3, 3)), bias=np.zeros(4), stride=[1, 1],
              padding=[2, 2], dilation=[2, 2], groups=2),
         if_("if1", 0, 40.5, (4, 9, 9)),
         node("out", "Output", shape=[4, 9, 9])],
        [("in", "c"), ("c", "if1"), ("if1", "out")],
    )  # fmt: skip
    _, net = compile_exact(g, {"in": spikes((4, 9, 9))})
    assert models(net)["if1"] == "lif_no_delay"
    assert not net.is_conv2d(net.incoming("if1")[0])
    g = graph(
        [node("in", "Input", shape=[3, 12]),
         node("c", "Conv1d", weight=int_weights((2, 3, 4)), bias=np.zeros(2), stride=2,
              padding=1, dilation=1, groups=1),
         if_("if1", 0, 40.5, (2, 6)), node("out", "Output", shape=[2, 6])],
        [("in", "c"), ("c", "if1"), ("if1", "out")],
    )  # fmt: skip
    compile_exact(g, {"in": spikes((3, 12))})


def test_avgpool_scale_and_two_weight_layers_exact():
    """AvgPool2d (its 1/4 folded into the next weights), Scale (folded), and a
    Linear -> Linear chain multiplied out."""
    w = int_weights((3, 2 * 2 * 2), top=254) * 2  # / 4 (avg) * 0.5 (scale) below: top 63.5
    w.reshape(-1)[0] = 508 * 2
    g = graph(
        [node("in", "Input", shape=[2, 4, 4]),
         node("avg", "AvgPool2d", kernel_size=[2, 2], stride=[2, 2], padding=[0, 0]),
         node("flat", "Flatten", start_dim=0, end_dim=-1),
         node("fc", "Linear", weight=w), node("sc", "Scale", scale=np.full(3, 0.25)),
         if_("if1", 3, 120.5), node("out", "Output", shape=[3])],
        [("in", "avg"), ("avg", "flat"), ("flat", "fc"), ("fc", "sc"), ("sc", "if1"),
         ("if1", "out")],
    )  # fmt: skip
    compile_exact(g, {"in": spikes((2, 4, 4), p=0.6)})
    a = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    b = np.array([[50.0, 27.0], [5.0, -7.0]])  # b @ a has 127 at its largest
    assert np.abs(b @ a).max() == 127
    g = graph(
        [node("in", "Input", shape=[3]), node("l1", "Linear", weight=a),
         node("l2", "Linear", weight=b), if_("if1", 2, 40.5), node("out", "Output", shape=[2])],
        [("in", "l1"), ("l1", "l2"), ("l2", "if1"), ("if1", "out")],
    )  # fmt: skip
    _, net = compile_exact(g, {"in": spikes((3,), p=0.5)})
    rows = net.incoming("if1")[0].connection_list()
    assert sorted(rows[:, 2].tolist()) == sorted((b @ a)[(b @ a) != 0].astype(int).tolist())


def test_input_straight_into_a_neuron():
    """s2_nir refuses it; nirc makes it a one-to-one projection."""
    g = graph([node("in", "Input", shape=[5]), if_("if1", 5, 0.5), node("out", "Output", shape=[5])],
              [("in", "if1"), ("if1", "out")])  # fmt: skip
    _, net = compile_exact(g, {"in": spikes((5,))})
    rows = net.incoming("if1")[0].connection_list()
    assert rows[:, :2].tolist() == [[i, i] for i in range(5)]


def test_recurrent_layer_exact():
    rec = int_weights((6, 6), top=127)
    g = graph(
        [node("in", "Input", shape=[4]), node("fc", "Linear", weight=int_weights((6, 4))),
         if_("if1", 6, 90.5), node("rec", "Linear", weight=rec), node("out", "Output", shape=[6])],
        [("in", "fc"), ("fc", "if1"), ("if1", "rec"), ("rec", "if1"), ("if1", "out")],
    )  # fmt: skip
    _, net = compile_exact(g, {"in": spikes((4,), steps=60)})
    assert {pr.pre for pr in net.incoming("if1")} == {"in", "if1"}


def test_delay_node_delayed_model_or_relays():
    """A Delay of 2 steps: the delayed model lif (4-bit weights, delay 2) by
    default; relay populations (int8, exact) with delays=relay."""
    g = graph(
        [node("in", "Input", shape=[3]), node("fc", "Linear", weight=int_weights((4, 3), top=15)),
         node("d", "Delay", delay=np.full(4, 2.0)), if_("if1", 4, 10.5),
         node("out", "Output", shape=[4])],
        [("in", "fc"), ("fc", "d"), ("d", "if1"), ("if1", "out")],
    )  # fmt: skip
    _, net = compile_exact(g, {"in": spikes((3,), p=0.5)})
    # the projection's own step of latency is one of the two: synaptic delay 1, lag 0
    assert models(net)["if1"] == "lif" and net.population("if1").lag == 0
    assert set(net.incoming("if1")[0].connection_list()[:, 3].tolist()) == {1}
    _, net = compile_exact(g, {"in": spikes((3,), p=0.5)}, delays="relay")
    assert models(net)["if1"] == "lif_no_delay"
    assert [p.name for p in net.populations if p.role == "relay"] == ["in.relay1"]
    g.nodes["d"].params["delay"] = np.full(4, 9.0)  # beyond 7: relays even by default
    _, net = compile_exact(g, {"in": spikes((3,), p=0.5, steps=50)})
    assert models(net)["if1"] == "lif_no_delay"
    assert len([p for p in net.populations if p.role == "relay"]) == 8


def _delayed_graph(weight):
    return graph(
        [node("in", "Input", shape=[3]), node("fc", "Linear", weight=weight),
         node("d", "Delay", delay=np.full(4, 2.0)), if_("if1", 4, 10.5),
         node("out", "Output", shape=[4])],
        [("in", "fc"), ("fc", "d"), ("d", "if1"), ("if1", "out")],
    )  # fmt: skip


def test_delays_auto_keeps_eight_bits_with_relays():
    """By default a delayed model only where its 4-bit weights hold the float
    weights: weights on the int8 grid (not on a 15-step one) take a relay
    and stay exact; `delays=model` takes `lif`, rounds them, and says so."""
    g = _delayed_graph(int_weights((4, 3), top=127))
    result, net = compile_exact(g, {"in": spikes((3,), p=0.5)})
    assert models(net)["if1"] == "lif_no_delay"
    assert [p.name for p in net.populations if p.role == "relay"] == ["in.relay1"]
    assert not result.report["approximations"]
    result = TARGET.compile(g, CompileOptions(dt=1.0, extra={"quick": True, "delays": "model"}))
    net, _, _ = read_network(result.module)
    assert models(net)["if1"] == "lif" and not [p for p in net.populations if p.role == "relay"]
    assert any("`lif`'s weights have 4 bits" in a and "(if1)" in a
               for a in result.report["approximations"])  # fmt: skip


def test_four_bit_exact():
    from nirc.targets.spinnaker2.lower import FloatNeuron, four_bit_exact
    from nirc.targets.spinnaker2.sparse import Coo

    def entries(*ws):
        return [("in", 0, Coo.from_dense(np.asarray(w, np.float64)), (), None) for w in ws]

    z = np.zeros(2)
    fn = FloatNeuron(alpha=np.ones(2), threshold=np.ones(2), bias=z, v_reset=z, v_init=z)
    grid = 0.37 * np.array([[15.0, -4.0], [0.0, 7.0]])
    assert four_bit_exact(fn, entries(grid, [[0.37 * 2, -0.37]]), "lif")
    assert four_bit_exact(fn, entries(grid * (1 + 1e-9)), "lif")  # float32-level noise
    assert not four_bit_exact(fn, entries(grid + [[0, 0], [0, 0.1]]), "lif")
    assert not four_bit_exact(fn, entries(grid, [[0.37 * 0.5, 0]]), "lif")  # half a step
    fn.source_biases = {0: np.array([0.37 * 40, 0.0])}  # several sources' worth: on the grid
    assert four_bit_exact(fn, entries(grid), "lif")
    fn.source_biases = {0: np.array([0.37 * 0.5, 0.0])}  # a bias between two steps
    assert not four_bit_exact(fn, entries(grid), "lif")


def test_delays_auto_falls_back_to_the_delayed_model_where_relays_do_not_fit(tmp_path):
    """Two PEs hold the input and the delayed `lif`, not a relay too: auto
    then builds the delayed model and the placement notes say why; relay
    alone is refused."""
    cap = tmp_path / "cap.json"
    cap.write_text('{"cores_per_chip": 2, "chips": 1}')
    g = _delayed_graph(int_weights((4, 3), top=127))
    extra = {"quick": True, "capacity_file": str(cap)}
    result = TARGET.compile(g, CompileOptions(dt=1.0, extra=extra))
    net, _, _ = read_network(result.module)
    assert models(net)["if1"] == "lif"
    notes = result.report["placement"]["notes"]
    assert any(n.startswith("relays for the delays of if1 would not fit (") for n in notes), notes
    with pytest.raises(diagnostics.NircError) as e:
        TARGET.compile(g, CompileOptions(dt=1.0, extra={**extra, "delays": "relay"}))
    assert "it needs 3 cores, the machine has 2" in e.value.message
    cap.write_text('{"cores_per_chip": 1, "chips": 1}')  # neither fits: the delayed model's refusal
    with pytest.raises(diagnostics.NircError) as e:
        TARGET.compile(g, CompileOptions(dt=1.0, extra=extra))
    assert "it needs 2 cores, the machine has 1" in e.value.message


def test_li_readout_voltage():
    g = graph(
        [node("in", "Input", shape=[3]), node("fc", "Linear", weight=int_weights((2, 3))),
         node("li", "LI", tau=np.full(2, 2.0), r=np.full(2, 2.0), v_leak=np.zeros(2)),
         node("out", "Output", shape=[2])],
        [("in", "fc"), ("fc", "li"), ("li", "out")],
    )  # fmt: skip
    o = CompileOptions(dt=1.0, extra={"quick": True})
    result = TARGET.compile(g, o)
    x = spikes((3,))
    ref = run_snn(_load(g, o), {"in": x})["out"]
    out = TARGET.simulate(result, {"in": x})["out"]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    net, _, _ = read_network(result.module)
    assert net.outputs[0].reads == "v" and "v" in net.population("li").record


def test_cuba_lif_after_conv_and_current_bias():
    """CubaLIF after a Conv2d: lif_curr_exp_no_delay with a connection list;
    the Affine bias into its current comes from an always-on source."""
    g = graph(
        [node("in", "Input", shape=[1, 6, 6]),
         node("c", "Conv2d", weight=int_weights((2, 1, 3, 3)), bias=np.zeros(2), stride=[1, 1],
              padding=[0, 0], dilation=[1, 1], groups=1),
         node("lif", "CubaLIF", tau_mem=np.full((2, 4, 4), 2.0), tau_syn=np.full((2, 4, 4), 2.0),
              r=np.full((2, 4, 4), 2.0), w_in=np.full((2, 4, 4), 2.0),
              v_leak=np.zeros((2, 4, 4)), v_threshold=np.full((2, 4, 4), 60.5)),
         node("flat", "Flatten", start_dim=0, end_dim=-1),
         node("fc", "Affine", weight=int_weights((3, 32)), bias=np.array([3.0, -2.0, 1.0])),
         node("lif2", "CubaLIF", tau_mem=np.full(3, 2.0), tau_syn=np.full(3, 2.0),
              r=np.full(3, 2.0), w_in=np.full(3, 2.0), v_leak=np.zeros(3),
              v_threshold=np.full(3, 30.5)),
         node("out", "Output", shape=[3])],
        [("in", "c"), ("c", "lif"), ("lif", "flat"), ("flat", "fc"), ("fc", "lif2"),
         ("lif2", "out")],
    )  # fmt: skip
    _, net = compile_exact(g, {"in": spikes((1, 6, 6), p=0.6, steps=60)})
    assert models(net)["lif"] == "lif_curr_exp_no_delay"
    bias = net.population("lif2.bias")
    assert bias.role == "bias" and bias.start == net.population("lif2").lag


def test_snntorch_lost_step_is_t_refrac():
    """snnTorch's RLeaky with reset zero loses the step after a spike: the
    current model with t_refrac = 1 (and no current: exc_decay 0)."""
    g = graph(
        [node("in", "Input", shape=[3]), node("fc", "Linear", weight=int_weights((4, 3)) * 0.01),
         node("lif", "LIF", tau=np.full(4, 2e-3), r=np.full(4, 20.0), v_leak=np.zeros(4),
              v_threshold=np.full(4, 1.0), v_reset=np.zeros(4)),
         node("rec", "Linear", weight=int_weights((4, 4)) * 0.001),
         node("out", "Output", shape=[4])],
        [("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")],
    )  # fmt: skip
    o = CompileOptions(source="snntorch", reset="zero", extra={"quick": True})
    net, _, _ = read_network(TARGET.compile(g, o).module)
    lif = net.population("lif")
    assert lif.model == "lif_curr_exp_no_delay" and lif.params["t_refrac"] == 1
    assert lif.params["exc_decay"] == 0.0


def _multi_spike_graph(seed: int = 1):
    """One Sinabs IAF layer whose strong weights (60..127 against a threshold
    of 100) make it spike several times a step. Its own generator: the same
    weights whichever tests ran before (the search keeps copies only on a
    significant win in predictions, which half of such weight draws give on
    the tests' calibration data, seed 1's among them)."""
    w = np.abs(np.random.default_rng(seed).integers(-63, 127, (4, 6))).astype(np.float64) + 60
    w.reshape(-1)[0] = 127
    return graph(
        [node("in", "Input", shape=[6]), node("fc", "Linear", weight=w), if_("if1", 4, 100.0),
         node("out", "Output", shape=[4])],
        [("in", "fc"), ("fc", "if1"), ("if1", "out")],
    )  # fmt: skip


def test_multi_spike_neurons_become_copies_on_calibration_data(tmp_path):
    """Sinabs' multi-spike IAF: with calibration data the quantizer may
    represent a neuron by K binary copies; the compiled network then still
    matches the float network's predictions on that data."""
    g = _multi_spike_graph()
    x = spikes((6,), steps=30, batch=16, p=0.7)
    np.savez(tmp_path / "cal.npz", **{"in": x})
    o = CompileOptions(source="sinabs", calibrate=str(tmp_path / "cal.npz"))
    result = TARGET.compile(g, o)
    net, _, _ = read_network(result.module)
    ref = run_snn(_load(g, o), {"in": x})["out"]
    assert ref.max() >= 2  # the float neurons do spike several times per step
    assert net.population("if1").copies > 1
    out = TARGET.simulate(result, {"in": x})["out"]
    np.testing.assert_array_equal(out.sum(0).argmax(-1), ref.sum(0).argmax(-1))
    assert np.abs(out.sum(0) - ref.sum(0)).max() <= 1
    assert any("binary copies" in a for a in result.report["approximations"])


def test_multi_spike_neurons_become_copies_on_random_spikes_where_closer(monkeypatch):
    """Without calibration data (no search of scales) the max-abs network and
    the one with its multi-spike populations as binary copies are judged as
    wholes on the random calibration spikes: copies win where the float
    neurons spike several times a step, and follow the float network on
    fresh inputs where one spike per step does not."""
    from nirc.targets.spinnaker2 import quantize

    g = _multi_spike_graph()
    o = CompileOptions(source="sinabs", extra={"calib_rate": 0.7, "calib_batch": 4})
    result = TARGET.compile(g, o)
    assert read_network(result.module)[0].population("if1").copies == 8
    assert result.report["quantization"]["method"].endswith("as binary copies")
    x = spikes((6,), steps=40, batch=8, p=0.7, seed=3)
    ref = run_snn(_load(g, o), {"in": x})["out"].sum(0)
    assert ref.max() >= 2 * 40 * 0.5
    near = np.abs(TARGET.simulate(result, {"in": x})["out"].sum(0) - ref).sum()
    monkeypatch.setattr(quantize, "_copies_everywhere", lambda *a: None)
    plain = TARGET.compile(g, o)
    assert read_network(plain.module)[0].population("if1").copies == 1
    far = np.abs(TARGET.simulate(plain, {"in": x})["out"].sum(0) - ref).sum()
    assert near < 0.05 * ref.sum() < far, (near, far, ref.sum())


@pytest.mark.parametrize("calibrated", [False, True])
def test_copies_stay_within_the_synapse_budget(calibrated, tmp_path, monkeypatch):
    """Copies multiply a projection's connections by the copies at both ends:
    neither the random-spikes comparison nor the search builds copies whose
    network would pass MAX_COPY_SYNAPSES (24 connections here; 2 copies make
    48 and 8 lateral ones), and both still do within it."""
    from nirc.targets.spinnaker2 import quantize

    g = _multi_spike_graph()
    x = spikes((6,), steps=30, batch=16, p=0.7)
    np.savez(tmp_path / "cal.npz", **{"in": x})
    o = CompileOptions(source="sinabs", calibrate=str(tmp_path / "cal.npz") if calibrated else None,
                       extra={"calib_rate": 0.7, "calib_batch": 4})  # fmt: skip
    copies = read_network(TARGET.compile(g, o).module)[0].population("if1").copies
    assert copies > 1
    assert quantize.MAX_COPY_SYNAPSES >= 24 * copies + 4 * copies * (copies - 1)
    monkeypatch.setattr(quantize, "MAX_COPY_SYNAPSES", 24 * 2 + 4 * 2 - 1)
    result = TARGET.compile(g, o)
    assert read_network(result.module)[0].population("if1").copies == 1
    notes = result.report["quantization"]["notes"]
    assert f"if1: not tried as {2 if calibrated else 8} copies: " in "\n".join(notes), notes


def test_copies_that_do_not_fit_the_chips_give_way_to_one_neuron_each(tmp_path):
    """Three PEs of 8 neurons hold the input and the multi-spike layer as
    one neuron each, not as 8 copies (32 neurons): the network is built
    again without copies, with a warning and a placement note saying why."""
    cap = tmp_path / "cap.json"
    cap.write_text('{"cores_per_chip": 3, "neurons_per_core": 8, "chips": 1}')
    o = CompileOptions(source="sinabs", extra={"calib_rate": 0.7, "calib_batch": 4})
    g = _multi_spike_graph()
    assert read_network(TARGET.compile(g, o).module)[0].population("if1").copies == 8
    o = CompileOptions(source="sinabs", extra={**o.extra, "capacity_file": str(cap)})
    with diagnostics.collecting() as sink:
        result = TARGET.compile(g, o)
    assert read_network(result.module)[0].population("if1").copies == 1
    said = [w.render() for w in sink.warnings if "would not fit" in w.render()]
    assert said and "as copies (if1) the network would not fit (" in said[0], said
    assert any(n.startswith("as copies (if1)") for n in result.report["placement"]["notes"])


def test_an_approximation_of_several_populations_is_said_once_naming_them():
    """Two Sinabs multi-spike layers: the report and the warning give the
    one-spike approximation once, with both populations, not once each."""
    g = graph(
        [node("in", "Input", shape=[6]), node("fc1", "Linear", weight=int_weights((5, 6))),
         if_("if1", 5, 100.0), node("fc2", "Linear", weight=int_weights((4, 5))),
         if_("if2", 4, 100.0), node("out", "Output", shape=[4])],
        [("in", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "if2"), ("if2", "out")],
    )  # fmt: skip
    o = CompileOptions(source="sinabs", extra={"quick": True})
    with diagnostics.collecting() as sink:
        result = TARGET.compile(g, o)
    multi = [a for a in result.report["approximations"] if a.startswith("floor(v / threshold)")]
    assert len(multi) == 1 and multi[0].endswith("(if1, if2)")
    warned = [w.render() for w in sink.warnings if "approximates" in w.render()]
    assert len(warned) == 1 and warned[0].count("floor(v / threshold)") == 1
    assert warned[0].endswith(" of 2 samples)")  # random calibration: how few decided it


def test_a_search_too_large_for_the_machine_is_refused_before_it_runs(tmp_path, monkeypatch):
    """The calibration search holds the best choice's spikes of every chip
    neuron, sample and step, a multi-spike population tried as 8 copies:
    refused with the figures when that exceeds the machine's memory, before
    any simulation (the out-of-memory killer ended such compiles after
    minutes)."""
    import nirc.interpreter.io as nio
    from nirc.diagnostics import NircError
    from nirc.targets.spinnaker2 import simulator

    g = graph(
        [node("in", "Input", shape=[6]), node("fc", "Linear", weight=int_weights((4, 6)) + 60),
         if_("if1", 4, 100.0), node("out", "Output", shape=[4])],
        [("in", "fc"), ("fc", "if1"), ("if1", "out")],
    )  # fmt: skip
    np.savez(tmp_path / "cal.npz", **{"in": spikes((6,), steps=30, batch=16, p=0.7)})
    o = CompileOptions(source="sinabs", calibrate=str(tmp_path / "cal.npz"))
    need = 16 * 31 * (6 + 4 + 7 * 4)  # samples x chip steps x (neurons + 7 more copies), a byte
    monkeypatch.setattr(nio, "machine_memory", lambda: need - 1)
    runs = []
    monkeypatch.setattr(simulator.Simulator, "run", lambda *a, **k: runs.append(1))
    with pytest.raises(NircError) as e:
        TARGET.compile(g, o)
    assert "calibration search would not fit" in e.value.message and not runs
    assert "16 samples x 31 chip steps x 38 chip neurons" in str(e.value.found)
    monkeypatch.setattr(nio, "machine_memory", lambda: need)
    with pytest.raises(TypeError):  # past the check: the (stubbed) simulator runs
        TARGET.compile(g, o)
    assert runs
