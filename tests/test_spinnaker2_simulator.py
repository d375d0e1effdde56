"""The SpiNNaker2 simulator: the paper's LIF trace (py-spinnaker2's Brian2
backend) and every population model against steps computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nirc.targets.spinnaker2.network import (
    BIAS,
    INPUT,
    RELAY,
    Conv2d,
    Network,
    Output,
    Population,
    Projection,
)
from nirc.targets.spinnaker2.simulator import Simulator, simulate
from nirc.targets.spinnaker2.sparse import Coo

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _net(pops, projs, outputs=()):
    return Network(1.0, list(pops), list(projs), list(outputs))


def _proj(pre, post, w, delays=None):
    w = np.asarray(w, np.float64)
    m = Coo.from_dense(w)
    d = None if delays is None else np.asarray(delays, np.int64)[m.row, m.col]
    return Projection(f"{pre}->{post}", pre, post, m, d)


def _run(net, inputs, steps, record=()):
    spikes, volts = Simulator(net).run(inputs, steps, record_v=tuple(record))
    return spikes, volts


def _spikes(steps, n, where):
    a = np.zeros((steps, 1, n), np.uint8)
    for t, i in where:
        a[t, 0, i] = 1
    return a


# --------------------------------------------------------------------------------------
# the paper's LIF neuron
# --------------------------------------------------------------------------------------


@pytest.fixture
def paper_lif():
    csv = CORPUS / "paper-lif" / "lif_spinnaker2.csv"
    nir = CORPUS / "public" / "paper_lif_norse.nir"
    if not csv.exists() or not nir.exists():
        pytest.skip(f"shared corpus not found ({csv.parent}); the paper trace test needs it")
    return nir, np.loadtxt(csv, delimiter=",")


def test_paper_lif_trace(paper_lif):
    """The NIR paper's SpiNNaker2 run: Norse's LIF file at dt = 1e-4, scaled as
    the paper's script did (weights and threshold x 102.02, so the integer
    weight is 102 and the threshold 255.05), driven by column 0 of the
    trace: spikes at 460, 510, 710, 760 and the voltage (the paper divides
    it by 102.02: it is nirc's voltage in NIR units / (dt / tau)) to 1e-5."""
    from nirc.targets import compile as compile_model

    nir, trace = paper_lif
    # chip units per NIR unit: 102.02 / r_f with r_f = dt / tau = 0.04
    result = compile_model(str(nir), target="spinnaker2", dt=1e-4, weight_scale=102.02 / 0.04)
    from nirc.targets.spinnaker2.dialect import read_network

    net, _, _ = read_network(result.module)
    rows = net.incoming("1")[0].connection_list()
    assert rows.tolist() == [[0, 0, 102, 0]]
    pop = net.population("1")
    assert pop.model == "lif_no_delay"
    assert pop.params["threshold"] == pytest.approx(255.05, rel=1e-6)
    x = trace[:, 0].astype(np.uint8)[:, None, None]
    from nirc.targets import get_target

    out = get_target("spinnaker2").simulate(result, {"input": x}, record="1.v")
    spikes = out["output"][:, 0, 0]
    assert np.flatnonzero(spikes).tolist() == [460, 510, 710, 760]
    assert np.flatnonzero(trace[:, 2]).tolist() == [460, 510, 710, 760]
    v = out["1.v"][:, 0, 0] / 0.04
    assert np.max(np.abs(v - trace[:, 1])) < 1e-5


# --------------------------------------------------------------------------------------
# each population model, step by step
# --------------------------------------------------------------------------------------


def test_lif_no_delay_steps():
    """v = alpha v + X + i_offset with X the weights of last step's spikes;
    spike when v > threshold; reset by subtraction or to v_reset; the
    recorded v is after the reset."""
    inp = Population("in", "spike_list", (2,), role=INPUT)
    for reset, after in (("reset_by_subtraction", [0.9375, 1.71875, 1.109375]),
                         ("reset_to_v_reset", [-1.0, 0.75, 0.625])):  # fmt: skip
        lif = Population("lif", "lif_no_delay", (1,), params={
            "threshold": 4.0, "alpha_decay": 0.5, "i_offset": 0.25, "v_reset": -1.0,
            "reset": reset})  # fmt: skip
        net = _net([inp, lif], [_proj("in", "lif", [[3.0, -2.0]])])
        x = _spikes(5, 2, [(0, 0), (1, 0), (2, 0), (2, 1)])
        spikes, volts = _run(net, {"in": x}, 5, record=("lif",))
        assert volts["lif"][:, 0, 0].tolist() == [0.25, 3.375] + after
        assert spikes["lif"][:, 0, 0].tolist() == [0, 0, 1, 0, 0]


def test_lif_curr_exp_steps():
    """I = exc_decay I + X; v = alpha v + I + i_offset; t_refrac holds v at
    v_reset for that many steps after a spike while I keeps integrating."""
    inp = Population("in", "spike_list", (1,), role=INPUT)
    base = {"alpha_decay": 0.5, "exc_decay": 0.5, "inh_decay": 0.5, "i_offset": 0.0,
            "v_reset": 0.0, "reset": "reset_to_v_reset"}  # fmt: skip
    x = _spikes(5, 1, [(0, 0), (1, 0)])
    lif = Population("lif", "lif_curr_exp_no_delay", (1,), params={**base, "threshold": 10.0})
    _, volts = _run(_net([inp, lif], [_proj("in", "lif", [[4.0]])]), {"in": x}, 5, ("lif",))
    assert volts["lif"][:, 0, 0].tolist() == [0.0, 4.0, 8.0, 7.0, 5.0]
    lif = Population("lif", "lif_curr_exp_no_delay", (1,),
                     params={**base, "threshold": 7.5, "t_refrac": 1})  # fmt: skip
    spikes, volts = _run(_net([inp, lif], [_proj("in", "lif", [[4.0]])]), {"in": x}, 5, ("lif",))
    assert spikes["lif"][:, 0, 0].tolist() == [0, 0, 1, 0, 0]
    # t2 spikes and resets to 0; t3 is held at v_reset (I = 3 is not added);
    # t4: v = 0.5 * 0 + I (= 1.5)
    assert volts["lif"][:, 0, 0].tolist() == [0.0, 4.0, 0.0, 0.0, 1.5]


def test_lif_conv2d_steps():
    """A Conv2DProjection: the spikes of the last step sum-pooled, padded and
    cross-correlated with the integer kernel."""
    inp = Population("in", "spike_list", (1, 3, 3), role=INPUT)
    conv = Population("c", "lif_conv2d", (1, 2, 2), params={
        "threshold": 100.0, "alpha_decay": 1.0, "reset": "reset_to_v_reset"})  # fmt: skip
    k = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    g = Conv2d(1, 3, 3, 1, 2, 2)
    pr = Projection("in->c", "in", "c", g.matrix(k), conv=g, kernel=k)
    x = np.zeros((2, 1, 9), np.uint8)
    x[0, 0, [0, 4]] = 1  # (0, 0) and (1, 1)
    _, volts = _run(_net([inp, conv], [pr]), {"in": x}, 2, ("c",))
    assert volts["c"][1, 0].tolist() == [5.0, 3.0, 2.0, 1.0]
    # pooled 2x2 first: a 1x4x4 input, kernel 1x1 of weight 2
    inp = Population("in", "spike_list", (1, 4, 4), role=INPUT)
    conv = Population("c", "lif_conv2d", (1, 2, 2), params={"threshold": 100.0, "alpha_decay": 1.0,
                                                             "reset": "reset_to_v_reset"})  # fmt: skip
    g = Conv2d(1, 4, 4, 1, 1, 1, pool_y=2, pool_x=2)
    k = np.array([[[[2.0]]]])
    pr = Projection("in->c", "in", "c", g.matrix(k), conv=g, kernel=k)
    x = np.zeros((2, 1, 16), np.uint8)
    x[0, 0, [0, 1, 5, 15]] = 1  # three in the top-left window, one bottom-right
    _, volts = _run(_net([inp, conv], [pr]), {"in": x}, 2, ("c",))
    assert volts["c"][1, 0].tolist() == [6.0, 0.0, 0.0, 2.0]


def test_delayed_model_steps():
    """lif: a spike at step t through a synapse of delay d arrives at t + 1 + d."""
    inp = Population("in", "spike_list", (1,), role=INPUT)
    lif = Population("lif", "lif", (2,), params={"threshold": 100.0, "alpha_decay": 1.0,
                                                  "reset": "reset_to_v_reset"})  # fmt: skip
    pr = _proj("in", "lif", [[5.0], [7.0]], delays=[[0], [2]])
    _, volts = _run(_net([inp, lif], [pr]), {"in": _spikes(5, 1, [(0, 0)])}, 5, ("lif",))
    assert volts["lif"][:, 0, 0].tolist() == [0, 5, 5, 5, 5]
    assert volts["lif"][:, 0, 1].tolist() == [0, 0, 0, 7, 7]


def test_spike_sources():
    """An input element with an event count c fires its copies 0..c-1; a bias
    source fires every step from its start."""
    inp = Population("in", "spike_list", (2,), role=INPUT, copies=3)
    bias = Population("b", "spike_list", (1,), role=BIAS, start=2)
    lif = Population("lif", "lif_no_delay", (1,), params={"threshold": 1e9, "alpha_decay": 0.0,
                                                           "reset": "reset_to_v_reset"})  # fmt: skip
    w_in = np.zeros((1, 6))
    w_in[0, :3] = 1.0  # the copies of element 0
    w_in[0, 3:] = 10.0  # the copies of element 1
    net = _net([inp, bias, lif], [_proj("in", "lif", w_in), _proj("b", "lif", [[100.0]])])
    x = np.zeros((5, 1, 2), np.uint8)
    x[0] = [2, 0]
    x[1] = [3, 1]
    _, volts = _run(net, {"in": x}, 5, ("lif",))
    assert volts["lif"][:, 0, 0].tolist() == [0, 2, 13, 100, 100]


def test_relay_repeats_one_step_later():
    inp = Population("in", "spike_list", (2,), role=INPUT)
    relay = Population("in.relay1", "lif_no_delay", (2,), role=RELAY, source="in", params={
        "threshold": 0.5, "alpha_decay": 0.0, "reset": "reset_to_v_reset"})  # fmt: skip
    net = _net([inp, relay], [Projection("r", "in", "in.relay1", Coo.identity(2))])
    x = _spikes(4, 2, [(0, 0), (1, 1), (2, 0)])
    spikes, _ = _run(net, {"in": x}, 4)
    assert spikes["in.relay1"][:, 0].tolist() == [[0, 0], [1, 0], [0, 1], [1, 0]]


def test_recurrent_component_runs_step_by_step():
    """A loop of two populations: each step sees the other's last spikes."""
    inp = Population("in", "spike_list", (1,), role=INPUT)
    params = {"threshold": 0.5, "alpha_decay": 0.0, "reset": "reset_to_v_reset"}
    a = Population("a", "lif_no_delay", (1,), params=params)
    b = Population("b", "lif_no_delay", (1,), params=params)
    net = _net([inp, a, b], [_proj("in", "a", [[1.0]]), _proj("a", "b", [[1.0]]),
                             _proj("b", "a", [[1.0]])])  # fmt: skip
    spikes, _ = _run(net, {"in": _spikes(7, 1, [(0, 0)])}, 7)
    assert spikes["a"][:, 0, 0].tolist() == [0, 1, 0, 1, 0, 1, 0]
    assert spikes["b"][:, 0, 0].tolist() == [0, 0, 1, 0, 1, 0, 1]


def test_outputs_aligned_and_scaled():
    """simulate: outputs read lag steps later, spikes times the spike gain,
    a readout's voltage divided by the weight scale."""
    inp = Population("in", "spike_list", (1,), role=INPUT)
    spk = Population("s", "lif_no_delay", (1,), lag=1, spike_gain=3, params={
        "threshold": 0.5, "alpha_decay": 0.0, "reset": "reset_to_v_reset"}, record=("spikes",))  # fmt: skip
    ro = Population("r", "lif_no_delay", (1,), lag=1, v_scale=4.0, spiking=False, params={
        "threshold": 3e38, "alpha_decay": 1.0, "reset": "reset_to_v_reset"}, record=("v",))  # fmt: skip
    net = _net([inp, spk, ro], [_proj("in", "s", [[1.0]]), _proj("in", "r", [[2.0]])],
               [Output("o1", "s", (1,)), Output("o2", "r", (1,), "v")])  # fmt: skip
    x = _spikes(4, 1, [(0, 0), (2, 0)])
    out = simulate(net, {"in": x})
    assert out["o1"][:, 0, 0].tolist() == [3, 0, 3, 0]
    assert out["o2"][:, 0, 0].tolist() == [0.5, 0.5, 1.0, 1.0]


@pytest.mark.parametrize("alpha", [1.0, 0.75])
def test_multi_spike_copies_follow_the_float_neuron(alpha):
    """A multi-spike neuron (floor(v / thr) spikes, subtractive reset) as K
    binary copies on one membrane (see quantize): their spikes add up to
    the float neuron's counts, leak included (values chosen exact in float32,
    the lateral weight alpha * thr = 3 or 4 an integer)."""
    from nirc.targets.spinnaker2.lower import FloatNeuron
    from nirc.targets.spinnaker2.quantize import Choice, _lateral, _neuron_params

    rng = np.random.default_rng(3)
    steps, n, k = 40, 3, 4
    w = np.array([[6.0], [10.0], [14.0]])
    x = rng.integers(0, 2, (steps, 1, 1)).astype(np.uint8)
    fn = FloatNeuron(alpha=np.full(n, alpha), threshold=np.full(n, 4.0), bias=np.zeros(n),
                     v_reset=np.zeros(n), v_init=np.zeros(n), reset="subtract", compare="ge",
                     spikes="multi")  # fmt: skip
    # the float neuron: drive = w x of the last step (the chip's latency)
    v = np.zeros(n)
    counts = np.zeros((steps, n))
    for t in range(steps):
        drive = w[:, 0] * (x[t - 1, 0, 0] if t else 0)
        v = alpha * v + drive
        c = np.where(v >= 4.0, np.floor(v / 4.0), 0)
        counts[t] = np.minimum(c, k)
        v = v - counts[t] * 4.0
    inp = Population("in", "spike_list", (1,), role=INPUT)
    pop = Population("p", "lif_no_delay", (n,), copies=k, v_scale=1.0)
    pop.params = _neuron_params(pop, fn, Choice(1.0, 1, k), [])
    lateral = _lateral(pop, fn, {"p": pop})
    lay = pop.layout()
    rows = lay.reshape(-1)
    cols = np.zeros(rows.size, np.int64)
    feed = Projection("in->p", "in", "p", Coo(rows, cols, np.repeat(w[:, 0], k), (n * k, 1)))
    net = _net([inp, pop], [feed] + lateral)
    spikes, _ = _run(net, {"in": x}, steps)
    chip = spikes["p"][:, 0][:, lay].sum(axis=2)
    assert np.array_equal(chip, counts)
    assert counts.max() >= 2  # several spikes in a step did happen


@pytest.mark.parametrize("read_only", [True, False])
def test_kernel_parameters_are_writable_float32(read_only):
    """A population's parameters reach the compiled kernels as contiguous,
    writable float32 arrays (``Population.param`` gives read-only broadcasts:
    each mix of read-only and writable arguments was a compile of its own),
    copied only when they are not."""
    from nirc.targets.spinnaker2.simulator import _c

    x = np.arange(4, dtype=np.float32)
    x.flags.writeable = not read_only
    a = _c(x)
    assert a.dtype == np.float32 and a.flags.writeable and a.flags.c_contiguous
    assert np.array_equal(a, x) and np.shares_memory(a, x) == (not read_only)
    b = _c(np.broadcast_to(np.float32(2.5), (3,)))
    assert b.flags.writeable and np.array_equal(b, [2.5, 2.5, 2.5])
