"""Xylo's second synapse: LI neurons in front of a spiking neuron are its
synapses; two different synaptic time constants meeting one neuron go onto
synapse 1 (``dash_syn``) and synapse 2 (``dash_syn_2``). Checked against
xylosim and, for agreement, against the float reference (nirc.simulate)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.interpreter import simulate
from nirc.targets import compile as compile_for
from nirc.targets import get_target
from nirc.targets.xylo import XyloSimulator, XyloSpecification
from nirc.targets.xylo.dialect import read_network

DT = 1e-3
FAST = {"calib_steps": 100, "calib_batch": 2}


def li(name: str, n: int, steps: int) -> Node:
    """An LI with tau / dt = ``steps`` and unit gain (r = tau / dt)."""
    return Node(name, "LI", {"tau": np.full(n, steps * DT), "r": np.full(n, float(steps)),
                             "v_leak": np.zeros(n)})  # fmt: skip


def lif(name: str, n: int, steps: int = 4) -> Node:
    return Node(name, "LIF", {"tau": np.full(n, steps * DT), "r": np.full(n, float(steps)),
                              "v_leak": np.zeros(n), "v_threshold": np.ones(n)})  # fmt: skip


def linear(name: str, n_out: int, n_in: int, scale: float, rng: np.random.Generator) -> Node:
    return Node(name, "Linear", {"weight": (rng.standard_normal((n_out, n_in)) * scale)
                                 .astype(np.float32)})  # fmt: skip


def readout(n_in: int, rng: np.random.Generator) -> tuple[list[Node], list[tuple[str, str]]]:
    """lif -> Linear -> CubaLIF (tau_syn/dt 2, tau_mem/dt 4) -> Output: exact on Xylo (the
    CubaLIF reads the current of the previous step, the chip delivers one step later)."""
    n = 3
    nodes = [linear("fo", n, n_in, 0.8, rng),
             Node("lo", "CubaLIF", {"tau_mem": np.full(n, 4 * DT), "tau_syn": np.full(n, 2 * DT),
                                    "r": np.full(n, 4.0), "w_in": np.full(n, 2.0),
                                    "v_leak": np.zeros(n), "v_threshold": np.ones(n)}),
             Node("out", "Output", {"shape": np.array([n])})]  # fmt: skip
    return nodes, [("lif", "fo"), ("fo", "lo"), ("lo", "out")]


def two_li_graph(n: int = 8, seed: int = 0, scale: float = 0.2, third: bool = False) -> Graph:
    """x1 -> Linear -> LI(tau/dt 2) -> LIF <- LI(tau/dt 8) <- Linear <- x2, then a readout;
    ``third`` adds x3 -> Linear -> LI(tau/dt 4) -> LIF."""
    rng = np.random.default_rng(seed)
    nodes = [Node("x1", "Input", {"shape": np.array([4])}),
             Node("x2", "Input", {"shape": np.array([4])}),
             linear("fa", n, 4, scale, rng), linear("fb", n, 4, scale * 0.3, rng),
             li("sa", n, 2), li("sb", n, 8), lif("lif", n)]  # fmt: skip
    edges = [("x1", "fa"), ("x2", "fb"), ("fa", "sa"), ("fb", "sb"), ("sa", "lif"), ("sb", "lif")]
    if third:
        nodes += [Node("x3", "Input", {"shape": np.array([2])}), linear("fc", n, 2, scale, rng),
                  li("sc", n, 4)]  # fmt: skip
        edges += [("x3", "fc"), ("fc", "sc"), ("sc", "lif")]
    more, more_edges = readout(n, rng)
    return Graph({x.name: x for x in nodes + more}, edges + more_edges, {"dt": DT})


def _inputs(seed: int, n_t: int, batch: int, shapes: dict[str, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: (rng.random((n_t, batch, n)) < 0.2).astype(np.float64) for k, n in shapes.items()}


@pytest.fixture(scope="module")
def two_li():
    g = two_li_graph()
    return g, compile_for(g, "xylo", reset="subtract", **FAST)


def test_two_time_constants_use_both_synapses(two_li):
    _, r = two_li
    sp = read_network(r.module).specification
    # x1 (channels 0..3) through the tau/dt = 2 LI on synapse 1, x2 (4..7) through
    # the tau/dt = 8 LI on synapse 2
    assert sp.weights_in[0:4, :, 0].any() and not sp.weights_in[0:4, :, 1].any()
    assert sp.weights_in[4:8, :, 1].any() and not sp.weights_in[4:8, :, 0].any()
    assert (sp.dash_syn == 1).all() and (sp.dash_syn_2 == 3).all() and (sp.dash_mem == 2).all()
    assert (sp.dash_syn_out == 1).all() and (sp.dash_mem_out == 2).all()
    assert r.report["resources"]["synapses_per_hidden"] == {"used": 2, "limit": 2}
    assert any("lif: two synaptic time constants (LI sa, LI sb)" in e for e in r.report["exact"])
    # powers of two: nothing about the synapses is approximated
    assert not any("decay" in n or "synaptic stage" in n for n in r.report["approximations"])
    assert "2 synapse(s) per hidden neuron" in r.summary[0]


def test_two_synapses_match_xylosim(two_li):
    pytest.importorskip("xylosim", reason="xylosim is not installed")
    from test_xylo_sim import XylosimReference, assert_identical

    sp = read_network(two_li[1].module).specification
    x = _inputs(1, 200, 1, {"x1": 4, "x2": 4})
    events = np.concatenate([x["x1"], x["x2"]], axis=2)[:, 0].astype(np.int64)
    got = XyloSimulator(sp).run(events, record=True)
    assert got["isyn"].any() and got["isyn2"].any() and got["spikes_hidden"].sum() > 0
    assert_identical(XylosimReference(sp).run(events), got)


def _membrane_error(sp: XyloSpecification, events: np.ndarray, v_float: np.ndarray) -> float:
    """Relative RMS difference of the chip's hidden membranes (in thresholds) and the
    float ones, averaged over the batch."""
    errs = []
    for b in range(events.shape[1]):
        v = XyloSimulator(sp).run(events[:, b], record=True)["vmem"] / sp.threshold
        ref = v_float[:, b]
        errs.append(np.sqrt(np.mean((v - ref) ** 2) / np.mean(ref**2)))
    return float(np.mean(errs))


def test_two_synapses_agree_with_the_float_network(two_li):
    g, r = two_li
    x = _inputs(5, 300, 4, {"x1": 4, "x2": 4})
    ref = simulate(g, x, reset="subtract", record="lif,lif.v")
    chip = get_target("xylo").simulate(r.module, x, probes=True)
    hidden = float(np.mean(ref["lif"] == chip["lif.spikes"]))
    out = float(np.mean(ref["out"] == chip["out"]))
    sp = read_network(r.module).specification
    events = np.concatenate([x["x1"], x["x2"]], axis=2).astype(np.int64)
    err = _membrane_error(sp, events, ref["lif.v"])
    # the same weights with both paths decaying alike (synapse 2 given synapse 1's dash)
    one = copy.deepcopy(sp)
    one.dash_syn_2 = one.dash_syn.copy()
    err_one = _membrane_error(one, events, ref["lif.v"])
    print(f"\ntwo LI synapses (tau/dt 2 and 8): hidden spikes equal {hidden:.4f}, output spikes "
          f"equal {out:.4f} (of {ref['lif'].sum():.0f} / {ref['out'].sum():.0f} float spikes); "
          f"membrane relative RMS error {err:.3f} (one dash for both: {err_one:.3f})")  # fmt: skip
    assert ref["lif"].sum() > 100 and ref["out"].sum() > 20
    # exact up to quantization (int8 weights, integer decays): observed 0.99 / 0.995
    assert hidden >= 0.97 and out >= 0.97
    assert err < 0.25 and err < err_one / 3


def test_recurrent_input_through_an_li_uses_synapse_2():
    # x -> Linear -> LI(2) -> LIF, LIF -> Linear -> LI(8) -> LIF (recurrent): the
    # feedback delay behind the LI moves in front of it (LI(delay(W z)) == delay(LI(W z))).
    # Inhibitory feedback: excitatory loops run the binary-spike float network above 2
    # thresholds, where the chip's multi-spike neurons (a stated approximation) differ.
    rng = np.random.default_rng(2)
    n = 6
    w_rec = -np.abs(rng.standard_normal((n, n)) * 0.3).astype(np.float32)
    nodes = [Node("x1", "Input", {"shape": np.array([4])}), linear("fa", n, 4, 0.3, rng),
             li("sa", n, 2), lif("lif", n), Node("fr", "Linear", {"weight": w_rec}),
             li("sb", n, 8)]  # fmt: skip
    edges = [("x1", "fa"), ("fa", "sa"), ("sa", "lif"), ("lif", "fr"), ("fr", "sb"), ("sb", "lif")]
    more, more_edges = readout(n, rng)
    g = Graph({x.name: x for x in nodes + more}, edges + more_edges, {"dt": DT})
    r = compile_for(g, "xylo", reset="subtract", **FAST)
    xn = read_network(r.module)
    sp = xn.specification
    assert xn.hidden_layers == [("lif", 6)]
    assert sp.weights_in[:, :, 0].any() and not sp.weights_in[:, :, 1].any()
    assert sp.weights_rec[:, :, 1].any() and not sp.weights_rec[:, :, 0].any()
    assert (sp.dash_syn == 1).all() and (sp.dash_syn_2 == 3).all()
    assert r.report["resources"]["hidden_layers"][0]["recurrent"]
    assert not any("one step" in n for n in r.report["approximations"])
    x = _inputs(7, 300, 4, {"x1": 4})
    ref = simulate(g, x, reset="subtract", record="lif")
    chip = get_target("xylo").simulate(r.module, x, probes=True)
    hidden = float(np.mean(ref["lif"] == chip["lif.spikes"]))
    print(f"\nrecurrent LI on synapse 2: hidden spikes equal {hidden:.4f} "
          f"({ref['lif'].sum():.0f} float spikes)")  # fmt: skip
    assert ref["lif"].sum() > 100 and hidden >= 0.98  # observed 0.997


def test_imu_has_one_synapse():
    with pytest.raises(NircError) as e:
        compile_for(two_li_graph(), "xylo", variant="imu", reset="subtract", **FAST)
    err = e.value
    assert err.where == "lif[0]"
    assert "Xylo IMU's hidden neurons have 1 synapse" in err.message
    assert err.expected == "1 synaptic time constant per hidden neuron (imu)"
    assert "2**1 from LI sa" in err.found and "2**3 from LI sb" in err.found


def test_three_time_constants_are_refused():
    with pytest.raises(NircError) as e:
        compile_for(two_li_graph(third=True), "xylo", reset="subtract", **FAST)
    err = e.value
    assert err.where == "lif[0]" and "more than two synaptic time constants" in err.message
    assert "at most 2 distinct" in err.expected
    assert "3 distinct" in err.found and "LI sc" in err.found


def test_li_in_front_of_a_cubalif_is_refused():
    g = two_li_graph()
    g.nodes["lif"] = Node("lif", "CubaLIF", {
        "tau_mem": np.full(8, 4 * DT), "tau_syn": np.full(8, 2 * DT), "r": np.full(8, 4.0),
        "w_in": np.full(8, 2.0), "v_leak": np.zeros(8), "v_threshold": np.ones(8)})  # fmt: skip
    with pytest.raises(NircError, match="two filters in a row") as e:
        compile_for(g, "xylo", reset="subtract", **FAST)
    assert e.value.where == "lif"


def test_same_time_constant_shares_synapse_1():
    g = two_li_graph()
    g.nodes["sb"] = li("sb", 8, 2)  # both LIs tau/dt = 2: one synapse is enough, also on IMU
    r = compile_for(g, "xylo", variant="imu", reset="subtract", **FAST)
    sp = read_network(r.module).specification
    assert sp.weights_in[:, :, 0].any() and not sp.weights_in[:, :, 1].any()
    assert (sp.dash_syn == 1).all()
    assert r.report["resources"]["synapses_per_hidden"]["used"] == 1
