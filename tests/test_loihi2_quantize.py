"""Loihi 2 quantization: the full scale search keeps a move only when it wins
significantly on the calibration samples (smaller wins are noise)."""

from __future__ import annotations

import numpy as np

from nirc.targets.loihi2 import quantize as q


def matches(won, lost, same=200):
    """Per-sample matches of (new, old): ``won`` samples only the new choice
    predicts as the float network does, ``lost`` only the old one."""
    new = np.r_[np.ones(won, bool), np.zeros(lost, bool), np.ones(same, bool)]
    old = np.r_[np.zeros(won, bool), np.ones(lost, bool), np.ones(same, bool)]
    return new, old


def agreement(m):
    return float(np.mean(m))


def test_matches_are_the_terms_of_the_agreement():
    ref = np.array([[3, 1, 0], [0, 2, 2], [1, 1, 5], [0, 0, 0]], float)
    got = np.array([[2, 1, 0], [0, 1, 3], [1, 1, 5], [0, 1, 0]], float)
    m = q.matches(ref, got)
    np.testing.assert_array_equal(m, [True, False, True, False])  # ties to the lowest index
    assert q.score(ref, got)[0] == m.mean()


def test_full_search_keeps_only_significant_wins():
    def keeps(won, lost, new_dist, old_dist=0.2):
        new, old = matches(won, lost)
        return q.keeps((agreement(new), new_dist), (agreement(old), old_dist), new, old)

    # a win of 1-4 samples with a larger count distance: noise, not kept
    # (the plain comparison would have kept every one of them)
    for won, lost in ((1, 0), (3, 0), (6, 2), (4, 1)):
        assert not keeps(won, lost, 0.3), (won, lost)
        new, old = matches(won, lost)
        assert q.better((agreement(new), 0.3), (agreement(old), 0.2))
    assert keeps(6, 0, 0.3)  # 6 >= 2 sqrt(6)
    assert keeps(30, 10, 0.3)
    # no fewer samples and closer counts: kept; fewer samples: never
    assert keeps(2, 2, 0.1) and keeps(3, 1, 0.1)
    assert not keeps(1, 3, 0.1)
    assert not keeps(0, 0, 0.2)


def test_few_samples_fall_back_to_the_aggregate():
    """Random calibration spikes come in a handful of samples where nothing
    is significant: the aggregate decides as before."""
    new, old = np.array([True, True]), np.array([False, True])
    assert q.keeps((1.0, 0.3), (0.5, 0.2), new, old)
    assert not q.keeps((0.5, 0.3), (1.0, 0.2), old, new)
