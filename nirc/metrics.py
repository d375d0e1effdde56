"""Fidelity figures shared by every target: how close a chip's simulation is to
the float reference.

The headline figure is the *per-output spike-count agreement within +-1*: for
each output neuron and batch element, total the spikes over all T steps in the
reference and on the chip; the agreement is the fraction of those
(neuron, batch element) pairs whose totals differ by at most ``tolerance``
(1 by default). Spike timing within the run is not compared: the figure says
whether a classifier reading spike counts would see the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def spike_counts(spikes: np.ndarray) -> np.ndarray:
    """Total spikes over time (axis 0) of ``[T, ...]`` spikes or spike counts."""
    a = np.asarray(spikes)
    return a.sum(axis=0, dtype=np.float64) if a.ndim else a.astype(np.float64)


def spike_count_agreement(reference: np.ndarray, got: np.ndarray, tolerance: float = 1) -> float:
    """Fraction of output neurons (per batch element) whose spike counts over
    time agree within ``tolerance``. ``reference`` and ``got`` are ``[T, ...]``
    arrays of the same shape (``[T, *shape]`` or ``[T, B, *shape]``)."""
    reference, got = np.asarray(reference), np.asarray(got)
    if reference.shape != got.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, got {got.shape}")
    ref = spike_counts(reference)
    if ref.size == 0:
        return 1.0
    return float(np.mean(np.abs(ref - spike_counts(got)) <= tolerance))


def outputs_agreement(
    reference: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray], tolerance: float = 1
) -> tuple[float, dict[str, float]]:
    """The agreement over every output (weighted by its number of neurons) and
    per output, for dicts of ``[T, ...]`` arrays keyed by output name."""
    per: dict[str, float] = {}
    total = agree = 0.0
    for name in reference:
        a = spike_count_agreement(reference[name], got[name], tolerance)
        per[name] = a
        n = spike_counts(np.asarray(reference[name])).size
        total += n
        agree += a * n
    return (agree / total if total else 1.0), per


def mean_spike_count(outputs: Mapping[str, np.ndarray]) -> float:
    """Mean spike count per output neuron (and batch element) over the run, for
    dicts of ``[T, ...]`` arrays: an agreement over outputs that hardly spike
    says little, so the reports give this next to it."""
    counts = [spike_counts(a).ravel() for a in outputs.values()]
    total = sum(c.size for c in counts)
    return float(sum(c.sum() for c in counts) / total) if total else 0.0


def step_agreement(reference: np.ndarray, got: np.ndarray, scale=None) -> float:
    """Fraction of equal entries (spike for spike, step for step).

    With ``scale`` (a quantized network's integer outputs per real unit), ``got``
    is dequantized and an entry counts as equal within 1% of the reference's
    largest magnitude: real-valued outputs cannot match a float network exactly."""
    reference, got = np.asarray(reference), np.asarray(got)
    if reference.size == 0:
        return 1.0
    if scale is None:
        return float(np.mean(reference == got))
    tol = 0.01 * max(float(np.max(np.abs(reference))), 1e-12)
    return float(np.mean(np.abs(got / scale - reference) <= tol))


__all__ = [
    "mean_spike_count",
    "outputs_agreement",
    "spike_count_agreement",
    "spike_counts",
    "step_agreement",
]
