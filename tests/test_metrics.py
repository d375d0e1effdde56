"""The fidelity figures every target reports (nirc.metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from nirc.metrics import mean_spike_count, outputs_agreement, spike_count_agreement


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
