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

import math
from collections.abc import Mapping
from dataclasses import dataclass

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
    if not total:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(sum(c.sum() for c in counts) / total)
    if math.isfinite(mean):
        return mean
    # a readout's summed voltages can be finite and their sum not: the mean
    # of the values scaled by the largest magnitude, scaled back
    scale = max(float(np.max(np.abs(c))) for c in counts if c.size)
    if not math.isfinite(scale):
        return mean
    return float(sum(np.sum(c / scale) for c in counts) / total * scale)


def relative_rms(pairs) -> float:
    """``sqrt(sum((got - ref)**2) / sum(ref**2))`` over ``(ref, got)`` array
    pairs (0 when every ``ref`` is 0): a quantized matrix's error against
    the float one. Finite for finite inputs, as :func:`relative_l1`: when the
    squares overflow (weights of 1e200) the arrays are scaled by their
    largest magnitude first."""
    pairs = [(np.asarray(r, np.float64), np.asarray(g, np.float64)) for r, g in pairs]

    def ratio(scale: float) -> float:
        num = den = 0.0
        for r, g in pairs:
            num += float(np.sum((g / scale - r / scale) ** 2))
            den += float(np.sum((r / scale) ** 2))
        return (num / den) ** 0.5 if den else 0.0

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = ratio(1.0)
        if not math.isfinite(value):
            scale = max((float(np.max(np.abs(a), initial=0.0)) for p in pairs for a in p),
                        default=0.0)  # fmt: skip
            if math.isfinite(scale) and scale > 0:
                value = ratio(scale)
    return value if math.isfinite(value) else float(np.finfo(np.float64).max)


def relative_l1(
    reference: np.ndarray, got: np.ndarray, *, offset: float = 0.0, floor: float = 0.0,
    totals: bool = False,
) -> float:
    """``mean|reference - got| / max(mean|reference| + offset, floor)`` (with
    ``totals``, sums instead of means): how far a chip's output counts are
    from the reference's. Finite for finite inputs: when the plain quotient
    overflows (a readout's voltages near the float range), it is computed on
    values scaled by their largest magnitude, and a distance past the float
    range is the largest float, so that reports stay JSON and searches can
    still compare candidates."""
    r = np.asarray(reference, np.float64).reshape(-1)
    g = np.asarray(got, np.float64).reshape(-1)
    if r.size == 0:  # no output neurons: nothing differs
        return 0.0
    total = np.sum if totals else np.mean
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = float(total(np.abs(r - g)) / max(float(total(np.abs(r))) + offset, floor))
        if math.isfinite(value):
            return value
        scale = max(float(np.max(np.abs(r))), float(np.max(np.abs(g))))
        if math.isfinite(scale) and scale > 0:
            den = max(float(total(np.abs(r / scale))) + offset / scale, floor / scale)
            value = float(total(np.abs(r / scale - g / scale)) / den) if den > 0 else math.inf
    return value if math.isfinite(value) else float(np.finfo(np.float64).max)


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


def better(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``a`` follows the float network better than ``b``, each ``(prediction
    agreement, count distance)``: more agreement, then a smaller distance
    (what a chip's quantizer judges by where few samples make no difference
    significant)."""
    if a[0] != b[0]:
        return a[0] > b[0]
    return a[1] < b[1] - 1e-12


__all__ = [
    "PairedAccuracy",
    "better",
    "mcnemar_p",
    "mean_spike_count",
    "outputs_agreement",
    "paired_accuracy",
    "relative_l1",
    "relative_rms",
    "spike_count_agreement",
    "spike_counts",
    "step_agreement",
]


def _log_binomial_tail(k: int, n: int) -> float:
    """``log P(X <= k)`` for ``X ~ Binomial(n, 1/2)``, summed in log space (exact
    for any n: no float overflow of the binomial coefficients)."""
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(k + 1)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms)) - n * math.log(2.0)


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar test: the probability, were both classifiers
    equally accurate, of a split of the ``only_a + only_b`` discordant samples
    at least this uneven (each discordant sample a fair coin)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * math.exp(_log_binomial_tail(min(only_a, only_b), n)))


@dataclass(frozen=True)
class PairedAccuracy:
    """Two classifiers on the same labelled samples (a chip against the float
    reference): what a difference of accuracy is worth on this many samples.

    ``only_other`` samples only the other classifies right, ``only_reference``
    only the reference; the samples both get right or both wrong say nothing
    about which is better. ``difference`` is the other's accuracy minus the
    reference's, with a 95 % interval (normal approximation for paired
    proportions) and the exact McNemar ``p``: on a test set of 600 samples
    a chip that flips 3 % of the predictions at random moves its accuracy by
    about a point either way, so a point is not yet a measured loss."""

    samples: int
    only_other: int
    only_reference: int

    @property
    def difference(self) -> float:
        return (self.only_other - self.only_reference) / self.samples if self.samples else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        n, d = self.samples, self.difference
        if n == 0:
            return 0.0, 0.0
        discordant = (self.only_other + self.only_reference) / n
        half = 1.959964 * math.sqrt(max(discordant - d * d, 0.0) / n)
        return d - half, d + half

    @property
    def p(self) -> float:
        return mcnemar_p(self.only_other, self.only_reference)

    def to_dict(self) -> dict:
        lo, hi = self.ci95
        return {"samples": self.samples, "only_this": self.only_other,
                "only_reference": self.only_reference, "difference": round(self.difference, 6),
                "ci95": [round(lo, 6), round(hi, 6)], "mcnemar_p": round(self.p, 6)}  # fmt: skip

    def describe(self, name: str, reference: str = "the float reference") -> str:
        lo, hi = self.ci95
        verdict = "a significant difference" if self.p < 0.05 else "not a significant difference"
        return (f"{name} against {reference}: {100 * self.difference:+.2f} points (95 % interval "
                f"{100 * lo:+.2f} to {100 * hi:+.2f}); {self.only_other} sample(s) only {name} "
                f"classifies right, {self.only_reference} only {reference}; exact McNemar "
                f"p = {self.p:.3g}: {verdict} at 5 %")  # fmt: skip


def paired_accuracy(labels, reference_predictions, predictions) -> PairedAccuracy:
    """:class:`PairedAccuracy` of ``predictions`` against ``reference_predictions``
    on ``labels`` (three arrays of one length)."""
    y, r, p = (np.asarray(a).ravel() for a in (labels, reference_predictions, predictions))
    if not (y.shape == r.shape == p.shape):
        raise ValueError(f"lengths differ: labels {y.size}, reference {r.size}, other {p.size}")
    ok_r, ok_p = r == y, p == y
    return PairedAccuracy(int(y.size), int(np.sum(ok_p & ~ok_r)), int(np.sum(ok_r & ~ok_p)))
