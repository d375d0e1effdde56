"""The Speck quantizer's candidates scored by the compiled kernel
(quantize.candidate_scores: counts and agreeing steps, no candidate's spikes
kept) against the numpy simulation of every candidate's spikes
(quantize._simulate_candidates), over the neuron's options."""

from __future__ import annotations

import numpy as np
import pytest

from nirc.metrics import spike_counts, step_agreement
from nirc.targets.speck import quantize as q
from nirc.targets.speck.lower import FloatLayer
from nirc.targets.speck.simulator import compiled_kernels
from nirc.targets.speck.spec import SPECK

CASES = [  # (spike mode, reset to zero, leak, v_init, v_min, compare)
    ("multi", False, False, False, None, "gt"),
    ("multi", True, True, True, None, "ge"),
    ("single", True, False, False, -0.5, "gt"),
    ("single", False, True, True, -2.0, "ge"),
    ("multi", False, True, False, -1.0, "gt"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_kernel_scores_equal_the_numpy_candidates(case):
    kernels = compiled_kernels()
    if kernels is None:
        pytest.skip("numba is not available (or NIRC_JIT=0)")
    mode, rtz, leak, init, v_min, compare = case
    rng = np.random.default_rng(CASES.index(case))
    f, c, side = 4, 2, 7
    fl = FloatLayer(
        name="L", sources=("L",), neuron="n", input_shape=(c, side, side),
        weights=rng.normal(0, 0.6, (f, c, 3, 3)) * 0.5, bias=rng.normal(0, 0.2, f) if leak else np.zeros(f),
        stride=(1, 1), padding=(1, 1), threshold=1.0, compare=compare, return_to_zero=rtz,
        v_init=rng.normal(0, 0.5, (f, side, side)) if init else None, v_min=v_min,
    )  # fmt: skip
    fl.weights[0, 0, 0, 0] = 3.0  # an outlier: finer scales clip it alone (candidates() stops at 2 %)
    T, B = 23, 9
    x = rng.integers(0, 3, (T * B, c, side, side)).astype(np.uint8)
    cands = q.candidates(fl)
    J = max(len(v) for _, _, v in cands)
    variants = [v + [v[-1]] * (J - len(v)) for _, _, v in cands]
    scales = [s for _, s, _ in cands]
    assert len(scales) > 1 and J > 1
    spikes = q._simulate_candidates(fl, scales, variants, x, T, B, mode, SPECK)
    ref = spikes[:, :, -1, 0] + (rng.random(spikes[:, :, 0, 0].shape) < 0.2)  # near a candidate
    counts, same, _ = q.candidate_scores(kernels, fl, scales, variants, x, ref, mode, SPECK)
    assert spikes.any() and (mode == "single" or spikes.max() > 1)
    for k in range(len(scales)):
        for j in range(J):
            got = spikes[:, :, k, j]
            np.testing.assert_array_equal(counts[:, k, j].reshape(got.shape[1:]), got.sum(axis=0))
            assert same[:, k, j].sum() == np.sum(ref == got)
            c = counts[:, k, j].reshape(got.shape[1:]).astype(np.float64)
            score = q._score(spike_counts(ref), c, int(same[:, k, j].sum()), ref.size)
            assert score == (-float(np.abs(spike_counts(ref) - spike_counts(got)).mean()),
                             step_agreement(ref, got))  # fmt: skip
        if v_min is not None:  # the float floor in chip units: each scale's own
            alone = q._simulate_candidates(fl, [scales[k]], [variants[k]], x, T, B, mode, SPECK)
            np.testing.assert_array_equal(alone[:, :, 0], spikes[:, :, k])
        one = q.candidate_scores(kernels, fl, [scales[k]], [[variants[k][1]]], x, ref, mode, SPECK,
                                 keep=True)[2]  # fmt: skip
        np.testing.assert_array_equal(one, spikes[:, :, k, 1])
