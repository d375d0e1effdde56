"""The fidelity figures every target reports (nirc.metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nirc.metrics import (
    PairedAccuracy,
    mcnemar_p,
    mean_spike_count,
    outputs_agreement,
    paired_accuracy,
    relative_l1,
    relative_rms,
    spike_count_agreement,
)


def test_spike_count_agreement_within_one():
    ref = np.zeros((10, 2, 3))
    ref[:4, 0, 0] = 1  # 4 spikes; neuron (1, 2) never spikes
    got = ref.copy()
    got[5, 0, 0] = 1  # 5: within +-1
    got[:3, 1, 1] = 1  # 3 vs 0: off by 3
    assert spike_count_agreement(ref, got) == pytest.approx(5 / 6)
    assert spike_count_agreement(ref, got, tolerance=0) == pytest.approx(4 / 6)
    with pytest.raises(ValueError):
        spike_count_agreement(ref, got[:, :1])


def test_outputs_agreement_weights_outputs_by_neurons():
    a = {"x": np.ones((4, 1, 3)), "y": np.ones((4, 1, 1))}
    b = {"x": np.ones((4, 1, 3)), "y": np.zeros((4, 1, 1))}
    total, per = outputs_agreement(a, b)
    assert per == {"x": 1.0, "y": 0.0}
    assert total == pytest.approx(3 / 4)


def test_mean_spike_count_is_per_neuron_and_sample():
    """Spikes per output neuron and batch element over the run (not per batch twice)."""
    out = {"x": np.zeros((10, 2, 3)), "y": np.zeros((10, 2, 1))}
    out["x"][:, 0, 0] = 1  # 10 spikes
    out["y"][:6, 1, 0] = 2  # a multi-spike output: 12
    assert mean_spike_count(out) == pytest.approx(22 / 8)
    assert mean_spike_count({}) == 0.0


def _binomial_p(a: int, b: int) -> float:
    """The exact two-sided sign test, summed in integers."""
    n, k = a + b, min(a, b)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


@pytest.mark.parametrize("a,b", [(10, 3), (1, 4), (5, 8), (0, 10), (7, 7), (40, 61)])
def test_mcnemar_is_the_exact_sign_test_of_the_discordant_samples(a, b):
    assert mcnemar_p(a, b) == pytest.approx(_binomial_p(a, b), rel=1e-9)
    assert mcnemar_p(a, b) == mcnemar_p(b, a)


def test_mcnemar_on_large_counts_and_none():
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(5000, 5200) == pytest.approx(_binomial_p(5000, 5200), rel=1e-6)
    assert mcnemar_p(0, 2000) < 1e-300 or mcnemar_p(0, 2000) == 0.0


def test_paired_accuracy_counts_the_samples_only_one_gets_right():
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    ref = np.array([0, 1, 2, 0, 0, 1, 0, 0])  # right on 0, 1, 2, 4, 5
    got = np.array([0, 1, 1, 3, 0, 2, 2, 0])  # right on 0, 1, 3, 4, 6
    pa = paired_accuracy(y, ref, got)
    assert (pa.samples, pa.only_other, pa.only_reference) == (8, 2, 2)
    assert pa.difference == 0.0 and pa.p == 1.0
    with pytest.raises(ValueError, match="lengths differ"):
        paired_accuracy(y, ref, got[:7])


def test_paired_accuracy_interval_and_text():
    pa = PairedAccuracy(600, 3, 10)  # a chip 7 samples below its float network
    assert pa.difference == pytest.approx(-7 / 600)
    lo, hi = pa.ci95
    assert lo < pa.difference < hi and hi == pytest.approx(0.0, abs=1e-3)
    assert pa.to_dict()["mcnemar_p"] == pytest.approx(_binomial_p(3, 10), abs=1e-6)
    text = pa.describe("loihi2")
    assert "-1.17 points" in text and "not a significant difference" in text
    assert PairedAccuracy(600, 0, 20).describe("x").endswith(": a significant difference at 5 %")


def test_relative_l1_is_the_plain_quotient_and_finite_past_the_float_range():
    rng = np.random.default_rng(0)
    r, g = rng.random((8, 3)) * 10, rng.random((8, 3)) * 10
    # the formulas the targets used before, bit for bit
    assert relative_l1(r, g, floor=1e-9) == np.mean(np.abs(r - g)) / max(np.mean(np.abs(r)), 1e-9)
    assert relative_l1(r, g, offset=1.0) == np.mean(np.abs(r - g)) / (np.mean(np.abs(r)) + 1.0)
    assert relative_l1(r, g, floor=1e-9, totals=True) == np.abs(g - r).sum() / np.abs(r).sum()
    big = np.full(4, 1.5e308)
    assert relative_l1(big, -big) == pytest.approx(2.0)  # r - g overflows: scaled
    assert relative_l1(big, -big, offset=1.0, totals=True) == pytest.approx(2.0)
    assert relative_l1(np.zeros(4), big, floor=1e-9) == np.finfo(np.float64).max
    assert relative_l1(big, np.full(4, np.inf)) == np.finfo(np.float64).max


def test_mean_spike_count_of_values_whose_sum_overflows():
    # each neuron's total over the 2 steps is 1.2e308; the three totals' sum is not finite
    outs = {"a": np.full((2, 1, 2), 6e307), "b": np.full((2, 1, 1), 6e307)}
    assert mean_spike_count(outs) == pytest.approx(1.2e308)


def test_relative_rms_is_the_plain_ratio_and_finite_when_squares_overflow():
    rng = np.random.default_rng(1)
    pairs = [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4))) for _ in range(2)]
    num = sum(float(np.sum((g - r) ** 2)) for r, g in pairs)
    den = sum(float(np.sum(r**2)) for r, g in pairs)
    assert relative_rms(pairs) == (num / den) ** 0.5  # bit for bit, as Xylo's report had it
    w = np.array([1e200, -3e200])
    assert relative_rms([(w, w * 1.01)]) == pytest.approx(0.01)  # w**2 overflows
    assert relative_rms([(np.zeros(2), w)]) == 0.0  # no reference weight: no error measured
