"""Quantization on the user's data: `--calibrate` takes a labelled data set
(the tasks' layout), the quantizers choose for the float network's
predictions on it, and the reports give the calibration figures; what each
approximation of a chip costs, measured in float."""

from __future__ import annotations

import numpy as np
import pytest
from test_eval import small_data, small_graph, two_layers  # the small networks and data

import nirc
from nirc.cli import main
from nirc.diagnostics import NircError
from nirc.evaluation import AGREEMENT_MEANING, evaluate
from nirc.graph import Node
from nirc.interpreter.snn import calibration_inputs, calibration_pick, discretized, load_module
from nirc.targets import compile as compile_for

pytestmark = pytest.mark.filterwarnings("ignore::nirc.interpreter.NircWarning")


@pytest.fixture
def train(tmp_path):
    path = tmp_path / "train.npz"
    np.savez(path, **small_data(n=40, seed=1))
    return path


def _snn(graph):
    return discretized(load_module(graph))


def test_a_labelled_data_set_calibrates(train):
    cal = calibration_inputs(_snn(small_graph()), str(train), steps=1, rate=0.1, batch=1,
                             seed=3, samples=16)  # fmt: skip
    assert cal.dataset and cal["input"].shape == (20, 16, 4)  # time-major, 16 of 40
    assert cal.labels.shape == (16,)
    assert "train.npz: 16 of 40 samples x 20 steps (drawn with seed 3), labelled" in cal.description
    again = calibration_inputs(_snn(small_graph()), str(train), steps=1, rate=0.1, batch=1,
                               seed=3, samples=16)  # fmt: skip
    assert np.array_equal(cal["input"], again["input"])  # the same draw
    # calibration_pick names the drawn samples (what a held-out evaluation leaves out)
    pick = calibration_pick(40, 16, seed=3)
    with np.load(train) as z:
        assert np.array_equal(cal.labels, z["labels"][pick])
        assert np.array_equal(cal["input"], np.moveaxis(z["spikes"][pick], 1, 0))
    assert np.all(np.diff(pick) > 0) and calibration_pick(10, 16).tolist() == list(range(10))
    assert set(calibration_pick(1800, 128).tolist()) < set(calibration_pick(1800, 256).tolist())
    every = calibration_inputs(_snn(small_graph()), str(train), steps=1, rate=0.1, batch=1,
                               seed=3, samples=100)  # fmt: skip
    assert every["input"].shape[1] == 40 and "drawn" not in every.description


def test_run_layout_still_calibrates(tmp_path):
    path = tmp_path / "run.npz"
    np.savez(path, input=np.zeros((7, 3, 4)))  # nirc run's [T, B, *shape] per Input
    cal = calibration_inputs(_snn(small_graph()), str(path), steps=1, rate=0.1, batch=1, seed=0)
    assert cal["input"].shape == (7, 3, 4) and not cal.dataset and cal.labels is None


def test_a_data_set_of_the_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, spikes=np.zeros((5, 10, 7)), labels=np.zeros(5, int))
    with pytest.raises(NircError, match="`spikes` has the wrong shape for Input `input`"):
        calibration_inputs(_snn(small_graph()), str(path), steps=1, rate=0.1, batch=1, seed=0)


@pytest.mark.parametrize("target", ["speck", "xylo"])
def test_reports_give_the_calibration_figures(target, train):
    r = compile_for(two_layers(), target=target, calibrate=str(train), calib_samples=24)
    q = r.report["quantization"]
    assert q["calibration"].startswith("train.npz: 24 of 40 samples x 20 steps")
    assert 0.0 <= q["prediction_agreement"] <= 1.0
    assert set(q["calibration_accuracy"]) == {"float", "chip"}
    assert r.report["agreement"]["meaning"] == AGREEMENT_MEANING
    assert "predictions as the float network's" in "\n".join(r.summary)
    assert "a diagnostic, not a goal" in r.artifacts["report.txt"]


def test_random_calibration_has_no_prediction_figures():
    r = compile_for(two_layers(), target="xylo")
    assert r.report["quantization"]["prediction_agreement"] is None
    assert r.report["quantization"]["calibration_accuracy"] is None


def test_compile_cli_takes_a_data_set(train, tmp_path, capsys):
    path = tmp_path / "m.nir"
    nirc.write(path, two_layers())
    assert main(["compile", str(path), "--target", "xylo", "--calibrate", str(train)]) == 0
    assert "accuracy on its labels" in capsys.readouterr().out


def test_eval_calibrates_on_a_data_set(train, tmp_path):
    r = evaluate(two_layers(), small_data(), "speck", calibrate=str(train))
    assert "train.npz" in r.runs["speck"].report["calibration"]
    arrays = evaluate(two_layers(), small_data(), "speck", calibrate=small_data(n=40, seed=1))
    assert arrays.runs["speck"].report["calibration"].startswith("calibrate.npz")


def test_eval_gives_loihi2s_calibration_figures(train):
    # Loihi 2 keeps them with its agreement figures; eval prints them as the others'
    r = evaluate(two_layers(), small_data(), "loihi2", calibrate=str(train))
    cal = r.runs["loihi2"].report["calibration"]
    assert cal.startswith("train.npz: 40 of 40 samples x 20 steps, labelled; predictions as")
    assert "accuracy on their labels: float" in cal
    assert f"loihi2 calibration: {cal}" in "\n".join(r.lines())


def test_what_each_approximation_costs():
    """A leaky network on Speck (--allow-approximate drops the leak): the float
    network without leak, run on the data, says what the leak was worth."""
    g = two_layers()
    for name in ("lif", "out"):
        p = g.nodes[name].params
        g.nodes[name] = Node(name, "LIF", {"tau": np.full(3, 5e-3), "r": np.ones(3),
                                           "v_leak": np.zeros(3), "v_threshold": p["v_threshold"],
                                           "v_reset": p["v_reset"]})  # fmt: skip
    g.metadata["dt"] = np.array(1e-3)
    r = evaluate(g, small_data(), "speck", allow_approximate=True)
    run = r.runs["speck"]
    assert [what for what, _ in run.approximation_costs] == ["no leak"]
    assert 0.0 <= run.approximation_costs[0][1] <= 1.0
    assert "speck: the float network with no leak:" in "\n".join(r.lines())
    assert evaluate(g, small_data(), "speck", allow_approximate=True,
                    costs=False).runs["speck"].approximation_costs == []  # fmt: skip
