"""SpiNNaker2 quantization: the search keeps only significant wins, and a
scale per neuron rounds each neuron's weights on a grid of its own."""

from __future__ import annotations

import numpy as np

from nirc.graph import Graph, Node
from nirc.interpreter.snn import run_snn
from nirc.targets import get_target
from nirc.targets.base import CompileOptions
from nirc.targets.base import load_fused as _load
from nirc.targets.spinnaker2 import quantize as q
from nirc.targets.spinnaker2.dialect import read_network
from nirc.targets.spinnaker2.lower import extract

TARGET = get_target("spinnaker2")


def node(name, type_, **params):
    return Node(name, type_, {k: np.asarray(v) for k, v in params.items()})


def small_rows_graph(weight):
    """in(6) -> Linear -> IF(4, threshold 1) -> out."""
    n = weight.shape[0]
    return Graph(
        nodes={x.name: x for x in [
            node("in", "Input", shape=[weight.shape[1]]), node("fc", "Linear", weight=weight),
            node("if1", "IF", r=np.ones(n), v_threshold=np.ones(n), v_reset=np.zeros(n)),
            node("out", "Output", shape=[n])]},
        edges=[("in", "fc"), ("fc", "if1"), ("if1", "out")],
    )  # fmt: skip


def matches(won, lost, same=100):
    """Per-sample matches of (new, old) with ``won`` samples only the new
    choice predicts as the float network, ``lost`` only the old one."""
    new = np.r_[np.ones(won, bool), np.zeros(lost, bool), np.ones(same, bool)]
    old = np.r_[np.zeros(won, bool), np.ones(lost, bool), np.ones(same, bool)]
    return new, old


def test_small_wins_are_noise_and_not_kept():
    assert not q.wins(*matches(1, 0))  # below the margin
    assert not q.wins(*matches(3, 0))  # 3 < 2 sqrt(3)
    assert not q.wins(*matches(6, 1))  # 5 < 2 sqrt(7): the 256-sample win that cost test points
    assert not q.wins(*matches(4, 4))
    assert not q.wins(*matches(0, 5))
    assert q.wins(*matches(5, 0))
    assert q.wins(*matches(20, 4))
    # the sign test's strength and margin are parameters
    assert q.wins(*matches(3, 0), sigmas=1.0)
    assert not q.wins(*matches(5, 0), margin=6)
    # closer counts do not make up for an insignificant win in predictions
    assert not q.wins(*matches(7, 4), errors=(0.029, 0.035))


def test_outputs_without_predictions_follow_the_count_error():
    none = np.zeros(0, bool)
    assert q.wins(none, none, errors=(0.02, 0.03))
    assert not q.wins(none, none, errors=(0.03, 0.03))
    assert not q.wins(none, none)
    ref = {"o": np.zeros((5, 3, 1), np.float32)}  # one output neuron: nothing to predict
    assert q.matches(ref, ref).size == 0
    ref2 = {"o": np.array([[[1, 0], [0, 1], [1, 1]]] * 4, np.float32)}
    got2 = {"o": np.array([[[1, 0], [1, 0], [0, 1]]] * 4, np.float32)}
    np.testing.assert_array_equal(q.matches(ref2, got2), [True, False, False])


def test_row_factors_keep_weights_already_on_the_grid():
    """Integer weights whose largest is the top of the range are exact at the
    max-abs scale: no neuron gets a factor (the compile stays exact)."""
    w = np.array([[127.0, -30, 5, 0, 1, 2], [40, -3, 0, 7, 1, 0], [1, 2, 3, -4, 5, 6],
                  [0, 0, 9, 0, 0, 1]])  # fmt: skip
    o = CompileOptions(dt=1.0, extra={"quick": True})
    ex = extract(_load(small_rows_graph(w), o))
    scale = q.max_abs_scales(ex, {})["if1"]
    assert scale == 1.0
    assert q.row_factors(ex, "if1", {}, scale) is None


def test_per_neuron_scale_rounds_small_rows_finer_with_the_threshold_alike():
    rng = np.random.default_rng(3)
    w = rng.normal(0, 1, (4, 6))
    w[0] *= 20.0  # one neuron's weights dwarf the others'
    w[1:] *= 0.9
    o = CompileOptions(dt=1.0, extra={"quick": True})
    ex = extract(_load(small_rows_graph(w), o))
    scale = q.max_abs_scales(ex, {})["if1"]
    r = q.row_factors(ex, "if1", {}, scale)
    assert r is not None and r[0] == 1.0 and np.all(r[1:] > 4) and r.max() <= q.ROW_FACTOR_MAX
    copies = {"in": 1}
    one = q.integer_network(ex, {"if1": q.Choice(scale)}, copies)
    per = q.integer_network(ex, {"if1": q.Choice(scale, per_neuron=True)}, copies)
    w_one = one.projections[0].weights.to_dense()
    w_per = per.projections[0].weights.to_dense()
    np.testing.assert_array_equal(w_one[0], w_per[0])
    assert np.abs(w_per[1:]).max() > 4 * np.abs(w_one[1:]).max()
    assert np.abs(w_per).max() <= 127
    # each neuron's threshold follows its scale; the population's scale is the reference
    thr = np.asarray(per.population("if1").params["threshold"], np.float64)
    np.testing.assert_allclose(thr, scale * r, rtol=1e-6)
    assert per.population("if1").v_scale == scale
    # the rounding error in float units is smaller for every neuron that got a factor
    err_one = np.abs(w_one / scale - w).sum(1)
    err_per = np.abs(w_per / (scale * r[:, None]) - w).sum(1)
    assert np.all(err_per[1:] < err_one[1:])


def test_per_neuron_scale_follows_the_float_network_closer(tmp_path):
    """A network whose neurons' weights differ by 30x: with a scale per neuron
    the chip's spike counts are closer to the float network's."""
    rng = np.random.default_rng(5)
    w = rng.normal(0, 1, (8, 12)) * np.r_[30.0, np.ones(7)][:, None] * 0.12
    g = small_rows_graph(w)
    o = CompileOptions(dt=1.0, extra={"quick": True})
    module = _load(g, o)
    ex = extract(module)
    x = (rng.random((60, 24, 12)) < 0.4).astype(np.uint8)
    ref = run_snn(module, {"in": x})["out"].sum(0)
    scale = q.max_abs_scales(ex, {})["if1"]
    errs = []
    for per in (False, True):
        net = q.integer_network(ex, {"if1": q.Choice(scale, per_neuron=per)}, {"in": 1})
        out, _ = q._run(net, {"in": x})
        errs.append(np.abs(out["out"].sum(0) - ref).sum())
    assert errs[1] < errs[0]


def test_report_names_the_per_neuron_scale():
    quant = q.Quantization({"if1": q.Choice(2.0, per_neuron=True)}, {"if1": 1.0}, "m", "c", 4)
    assert "a scale per neuron" in "\n".join(quant.lines())
    assert quant.to_dict()["populations"]["if1"]["per_neuron"] is True


def test_calibrated_compile_keeps_a_clear_per_neuron_win(tmp_path):
    """With calibration data where a scale per neuron wins clearly (weights
    30x apart between neurons), the compiled network takes it, and the
    compiled artifact (read back from the module) follows the float network
    closer than the compile without calibration."""
    rng = np.random.default_rng(5)
    w = rng.normal(0, 1, (8, 12)) * np.r_[30.0, np.ones(7)][:, None] * 0.12
    g = small_rows_graph(w)
    x = (rng.random((60, 64, 12)) < 0.4).astype(np.uint8)
    np.savez(tmp_path / "cal.npz", **{"in": x})
    plain = TARGET.compile(g, CompileOptions(dt=1.0))
    tuned = TARGET.compile(g, CompileOptions(dt=1.0, calibrate=str(tmp_path / "cal.npz")))
    pops = tuned.report["quantization"]["populations"]
    assert pops["if1"]["per_neuron"] is True
    assert plain.report["quantization"]["populations"]["if1"]["per_neuron"] is False
    net, _, _ = read_network(tuned.module)  # each neuron's threshold on its own scale
    assert np.ptp(np.asarray(net.population("if1").params["threshold"], np.float64)) > 0
    ref = run_snn(_load(g, CompileOptions(dt=1.0)), {"in": x})["out"].sum(0)
    err = [np.abs(TARGET.simulate(r, {"in": x})["out"].sum(0) - ref).sum() for r in (plain, tuned)]
    assert err[1] < err[0] / 4
