"""Task accuracy: a trained network on labelled data, in float and on the chips.

    >>> r = nirc.evaluate("model.nir", "test.npz", target="speck", source="sinabs",
    ...                   calibrate="train.npz")
    >>> r.reference.accuracy, r.runs["speck"].accuracy, r.runs["speck"].agreement

What users quote, and what the vendors report, is task accuracy: the network
they trained, on the chip, classifying their data. :func:`evaluate` (and
``nirc eval``) runs every sample of a labelled data set through the float
reference (the interpreter, with the framework profile ``source``) and through
each target's bit-accurate simulation, and gives for each: the accuracy, the
predictions, the prediction agreement with the float reference, a confusion
matrix, the samples where chip and float differ, the output spikes per sample
and the time taken; with labels, each chip's accuracy against the float
reference's sample by sample (:class:`~nirc.metrics.PairedAccuracy`: the
samples only one of them classifies right, a 95 % interval and an exact
McNemar test), because on a few hundred samples a point of accuracy is
often the luck of which predictions a quantization flipped.

Data (:func:`load_data`): an .npz (or a dict) with ``spikes`` ``[N, T,
*shape]`` for a graph with one Input, or one such array per Input name, and
``labels`` ``[N]`` (class indices; optional: without them there is no
accuracy, only the agreement). This is the layout of ``../shared/tasks``:
sample-major, as data sets are stored. A per-sample shape with the Input's
number of elements in another layout (the data's ``[1, 16, 16]`` for an Input
``[256]``) is read flattened in C order, with a warning.

Readouts (``readout``; every one takes the argmax over the output neurons,
ties to the lowest index): ``counts`` (default: the output spike counts over
the window), ``max-membrane`` and ``last-membrane`` (the output layer's
membrane at the end of each step, after its reset, in units of each neuron's
threshold, so that the chips' integer membranes compare with the float one),
``first-spike`` (the neuron that spikes first; none spiking: class 0).

Every sample is independent, so the data set runs in chunks of samples
(``chunk``), each vectorized over its samples through the float interpreter
and the chip simulators; chunking changes no number (the simulations compute
each sample the same way whatever the batch). ``workers`` / ``scheduler``
hand the chunks to Dask (``pip install 'nirc[dask]'``): a local cluster of
``workers`` processes, or an existing cluster's scheduler; each worker
rebuilds the float network and the compiled chips from their IR text, which
round-trips exactly, so the results equal the single-process run.

Chips with latency (``pad_steps``): a target whose outputs lag the float
network by whole steps reports it (Xylo's report gives ``output_latency``:
hidden spikes reach the next layer one step later than in the float
network); by default (``"auto"``) its simulation gets that many silent steps
appended, so that the spikes of the window's last steps are counted. Targets
that align their outputs themselves report nothing and get none. An integer
pads every target alike.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nirc.diagnostics import NircError, warn
from nirc.interpreter import jit
from nirc.metrics import PairedAccuracy, paired_accuracy

READOUTS = ("counts", "max-membrane", "last-membrane", "first-spike")
# what the targets' reports say of their spike-count agreement
AGREEMENT_MEANING = (
    "a diagnostic, not a goal: the fraction of output neurons (per sample) whose spike "
    "counts over the run are within one spike of the float network's. Spiking networks "
    "turn any rounding into other spike timings without changing what they classify, so "
    "this can be low while the predictions agree; task accuracy (nirc eval) is the "
    "measure. Nothing fails on it."
)
MEMBRANE_READOUTS = ("max-membrane", "last-membrane")
DEFAULT_CHUNK = 256  # samples per vectorized run: large enough to amortize, bounded memory

__all__ = [
    "READOUTS",
    "Dataset",
    "EvalResult",
    "Run",
    "evaluate",
    "load_data",
    "predict",
    "readout_scores",
]


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Labelled samples: ``inputs`` sample-major ``[N, T, *shape]`` per Input
    name (the Input's shape), ``labels`` ``[N]`` int64 or None."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None
    where: str
    samples: int
    steps: int

    def max_events(self) -> int:
        """The largest value of any input element in one step (1 for spikes)."""
        return max((int(np.max(a)) for a in self.inputs.values() if a.size), default=1)

    def chunk(self, start: int, stop: int, pad: int = 0) -> dict[str, np.ndarray]:
        """Samples ``start:stop`` time-major ``[T + pad, n, *shape]`` (``pad``
        silent steps appended), as the simulators take them."""
        out = {}
        for name, a in self.inputs.items():
            part = np.moveaxis(a[start:stop], 1, 0)
            if pad:
                zeros = np.zeros((pad,) + part.shape[1:], part.dtype)
                part = np.concatenate([part, zeros])
            out[name] = np.ascontiguousarray(part)
        return out


def _fmt(shape: Iterable[int]) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _expected(shapes: Mapping[str, tuple], classes: int | None, output: str | None) -> str:
    if len(shapes) == 1:
        (name, shape), = shapes.items()
        arrays = f"`spikes` (or `{name}`) [N, T, {', '.join(map(str, shape))}]"
    else:
        arrays = ", ".join(f"`{n}` [N, T, {', '.join(map(str, s))}]" for n, s in shapes.items())
    text = f"an .npz with {arrays}"
    if classes is not None:
        text += f" and `labels` [N], class indices 0..{classes - 1}"
        if output:
            text += f" (the Output `{output}` has {classes} neurons)"
    return text


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    from nirc.interpreter.io import load_npz

    return load_npz(path, "data", expected="an .npz with `spikes` [N, T, ...] and `labels` [N]",
                    hint="save it with np.savez(path, spikes=x, labels=y)")  # fmt: skip


def load_data(
    data: Any,
    shapes: Mapping[str, tuple[int, ...]],
    *,
    classes: int | None = None,
    output: str | None = None,
    limit: int | None = None,
    labels: Any = None,
    require_labels: bool = False,
    where: str | None = None,
) -> Dataset:
    """Check ``data`` (a path to an .npz, or a mapping of arrays) against the
    graph's Inputs (``shapes``) and its Output (``classes`` neurons, named
    ``output``); see the module docstring for the layout. ``limit``: the first
    samples only. ``labels`` overrides the data's own. ``where`` names the
    data in diagnostics (default: the path, or "data")."""
    if isinstance(data, (str, os.PathLike)):
        where_default = str(data)
        arrays = _read_npz(Path(data))
    elif isinstance(data, Mapping):
        where_default = "data"
        arrays = dict(data)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        where_default = "data"
        arrays = {"spikes": data[0], "labels": data[1]}
    else:
        raise NircError(
            "cannot read this data",
            expected="a path to an .npz, a dict of arrays, or (spikes, labels)",
            found=type(data).__name__,
        )
    where = where or where_default
    expected = _expected(shapes, classes, output)
    names = list(shapes)
    picked: dict[str, np.ndarray] = {}
    for name in names:
        if name in arrays:
            picked[name] = arrays[name]
        elif len(names) == 1 and "spikes" in arrays:
            picked[name] = arrays["spikes"]
    missing = [n for n in names if n not in picked]
    if missing:
        found = ", ".join(f"`{k}` {_fmt(np.shape(v))}" for k, v in arrays.items()) or "no arrays"
        raise NircError(
            "the data does not hold the arrays the graph reads",
            where=where,
            expected=expected,
            found=found,
            hint=f"missing {', '.join(f'`{m}`' for m in missing)}"
            + (" (a graph with one Input also takes `spikes`)" if len(names) == 1 else ""),
        )
    inputs: dict[str, np.ndarray] = {}
    counts: set[int] = set()
    lengths: set[int] = set()
    for name, shape in shapes.items():
        a = np.asarray(picked[name])
        key = name if name in arrays else "spikes"
        shape = tuple(int(d) for d in shape)
        if a.dtype.kind not in "biuf":
            raise NircError(
                "input values must be numbers",
                where=f"{where}[{key!r}]",
                expected=expected,
                found=f"dtype {a.dtype}",
            )
        per = tuple(a.shape[2:])
        if a.ndim < 2 or (per != shape and int(np.prod(per)) != int(np.prod(shape))):
            raise NircError(
                f"`{key}` has the wrong shape for Input `{name}`",
                where=f"{where}[{key!r}]",
                expected=f"[N, T, {', '.join(map(str, shape))}] (samples, steps, the Input's "
                f"shape {_fmt(shape)}): {expected}",
                found=_fmt(a.shape),
                hint="data sets are sample-major: N samples of T steps each"
                if a.ndim >= 2 and tuple(a.shape[1:]) == shape
                else None,
            )
        if per != shape:
            warn(
                f"`{key}` holds samples of shape {_fmt(per)} for Input `{name}` of shape "
                f"{_fmt(shape)}: read flattened in C order (the same elements)",
                where=where,
                kind="repair",
            )
            a = a.reshape(a.shape[:2] + shape)
        if a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
            raise NircError(
                "input values must be finite",
                where=f"{where}[{key!r}]",
                found="NaN or inf",
            )
        counts.add(a.shape[0])
        lengths.add(a.shape[1])
        inputs[name] = a
    if len(counts) > 1 or len(lengths) > 1:
        raise NircError(
            "the inputs disagree on the number of samples or steps",
            where=where,
            expected="one N and one T for every Input",
            found=", ".join(f"`{n}` {_fmt(a.shape)}" for n, a in inputs.items()),
        )
    n, steps = counts.pop(), lengths.pop()
    if n == 0 or steps == 0:
        raise NircError(
            "no samples to evaluate",
            where=where,
            expected="N >= 1 samples of T >= 1 steps",
            found=f"N = {n}, T = {steps}",
        )
    y = labels if labels is not None else arrays.get("labels")
    if y is not None:
        y = _check_labels(np.asarray(y), n, classes, where, expected)
    elif require_labels:
        raise NircError("the data has no `labels`", where=where, expected=expected)
    if limit is not None:
        if int(limit) < 1:
            raise NircError("--limit must be >= 1", found=str(limit))
        n = min(n, int(limit))
        inputs = {k: v[:n] for k, v in inputs.items()}
        y = None if y is None else y[:n]
    return Dataset(inputs, y, where, n, steps)


def as_run_inputs(
    arrays: dict[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]], where: str
) -> dict[str, np.ndarray]:
    """The arrays of an ``--input`` .npz for `nirc run`: a labelled data set in
    this module's layout (``labels`` beside ``spikes`` or per-Input arrays,
    sample-major ``[N, T, ...]``; what `nirc eval` reads) as a batch of its N
    samples (``[T, N, ...]`` views), with a note; any other file as it is
    (`run`'s own layout, ``[T, ...]`` or ``[T, B, ...]`` by Input name)."""
    if "labels" not in arrays or all(name in arrays for name in shapes):
        return arrays
    data = load_data(arrays, shapes, where=where)
    warn(
        f"read as a labelled data set (`nirc eval`'s layout, sample-major): {data.samples} "
        f"samples of {data.steps} steps, run as a batch of {data.samples}; `nirc eval MODEL "
        "--data FILE` gives the accuracy on it",
        where=where,
        kind="inference",
    )
    return {name: np.swapaxes(a, 0, 1) for name, a in data.inputs.items()}


def _check_labels(y: np.ndarray, n: int, classes: int | None, where: str, expected: str):
    key = f"{where}['labels']"
    if y.ndim != 1 or y.shape[0] != n:
        raise NircError(
            "`labels` must hold one class index per sample",
            where=key,
            expected=f"shape [{n}] ({n} samples in the inputs): {expected}",
            found=_fmt(y.shape),
        )
    if y.dtype.kind not in "biuf" or (y.dtype.kind == "f" and not np.all(np.trunc(y) == y)):
        raise NircError(
            "`labels` must be integer class indices",
            where=key,
            expected=expected,
            found=f"dtype {y.dtype}",
        )
    y = y.astype(np.int64)
    if classes is not None and y.size and (y.min() < 0 or y.max() >= classes):
        bad = int(y[(y < 0) | (y >= classes)][0])
        raise NircError(
            "a label is not a class of the network's output",
            where=key,
            expected=f"class indices 0..{classes - 1} ({classes} output neurons)",
            found=f"label {bad}",
        )
    return y


# --------------------------------------------------------------------------------------
# readouts
# --------------------------------------------------------------------------------------


def readout_scores(
    readout: str, spikes: np.ndarray, membrane: np.ndarray | None = None
) -> np.ndarray:
    """Scores ``[N, C]`` whose argmax is the prediction, from output spikes
    (counts per step) ``[T, N, C]`` and, for the membrane readouts, the output
    membrane ``[T, N, C]`` (see the module docstring)."""
    if readout == "counts":
        return spikes.sum(axis=0, dtype=np.float64)
    if readout == "first-spike":
        fired = spikes > 0
        steps = spikes.shape[0]
        first = np.where(fired.any(axis=0), np.argmax(fired, axis=0), steps)
        return -first.astype(np.float64)
    if membrane is None:
        raise NircError(f"the {readout} readout needs the output membrane")
    if readout == "max-membrane":
        return membrane.max(axis=0).astype(np.float64)
    if readout == "last-membrane":
        return membrane[-1].astype(np.float64)
    raise NircError("unknown readout", expected=" or ".join(READOUTS), found=str(readout))


def predict(scores: np.ndarray) -> np.ndarray:
    """The argmax over classes of ``scores`` ``[N, C]``, ties to the lowest index."""
    return np.argmax(scores, axis=1).astype(np.int64)


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    """One simulation of every sample: the float reference (``name ==
    "float"``) or a chip. ``agreement`` and ``differ`` compare a chip's
    predictions with the float reference's (None / empty for the reference)."""

    name: str
    scores: np.ndarray  # [N, C]
    predictions: np.ndarray  # [N]
    output_spikes: np.ndarray  # [N]: output spikes per sample over the window
    labels: np.ndarray | None
    seconds: dict[str, float] = field(default_factory=dict)
    # of those, numba compiling this machine's kernels (once; from jit.COMPILE_APART_S on)
    kernels: dict[str, float] = field(default_factory=dict)
    agreement: float | None = None
    differ: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pad_steps: int = 0
    report: dict | None = None  # the target's compile report
    # what each approximation of the chip costs, measured in float: (what, accuracy)
    approximation_costs: list[tuple[str, float]] = field(default_factory=list)
    # the chip's energy and latency estimate on the first samples (nirc.targets.estimates)
    estimate: dict | None = None
    # with labels: the chip's accuracy against the float reference's, sample by sample
    paired: PairedAccuracy | None = None

    @property
    def accuracy(self) -> float | None:
        if self.labels is None:
            return None
        return float(np.mean(self.predictions == self.labels))

    @property
    def correct(self) -> int | None:
        return None if self.labels is None else int(np.sum(self.predictions == self.labels))

    @property
    def spikes_per_sample(self) -> float:
        return float(np.mean(self.output_spikes)) if self.output_spikes.size else 0.0

    def confusion(self, classes: int) -> np.ndarray | None:
        """``[C, C]`` counts, rows the label, columns the prediction (None
        without labels)."""
        if self.labels is None:
            return None
        m = np.zeros((classes, classes), np.int64)
        np.add.at(m, (self.labels, self.predictions), 1)
        return m

    def to_dict(self, classes: int) -> dict:
        confusion = self.confusion(classes)
        out = {
            "accuracy": None if self.accuracy is None else round(self.accuracy, 6),
            "correct": self.correct,
            "output_spikes_per_sample": round(self.spikes_per_sample, 4),
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "kernel_compile_seconds": {k: round(v, 4) for k, v in self.kernels.items()},
            "predictions": self.predictions.tolist(),
            "confusion": None if confusion is None else confusion.tolist(),
        }
        if self.name != "float":
            out["agreement"] = round(float(self.agreement or 0.0), 6)
            out["differ"] = self.differ.tolist()
            out["against_float"] = None if self.paired is None else self.paired.to_dict()
            out["pad_steps"] = self.pad_steps
            out["approximation_costs"] = [
                {"approximation": what, "float_accuracy": round(acc, 6)}
                for what, acc in self.approximation_costs
            ]
            if self.estimate is not None:
                from nirc.targets.estimates import short_estimate

                out["estimate"] = short_estimate(self.estimate)
            if self.report is not None:
                rep = self.report
                out["compile"] = {k: rep[k] for k in ("quantization", "calibration",
                                                      "approximations", "options")
                                  if k in rep}  # fmt: skip
        return out


@dataclass
class EvalResult:
    """What :func:`evaluate` measured: ``reference`` (the float network) and
    ``runs`` (one :class:`Run` per target, by name)."""

    model: str
    data: str
    source: str
    readout: str
    samples: int
    steps: int
    classes: int
    output: str
    labels: np.ndarray | None
    reference: Run
    runs: dict[str, Run]
    seconds: dict[str, float]
    workers: int | None = None
    unfit: dict[str, str] = field(default_factory=dict)  # chip -> why it cannot run the network

    def to_dict(self) -> dict:
        return {
            "format": "nirc-eval/1",
            "model": self.model,
            "data": self.data,
            "source": self.source,
            "readout": self.readout,
            "samples": self.samples,
            "steps": self.steps,
            "classes": self.classes,
            "output": self.output,
            "labels": None if self.labels is None else self.labels.tolist(),
            "float": self.reference.to_dict(self.classes),
            "targets": {k: r.to_dict(self.classes) for k, r in self.runs.items()},
            "unfit": dict(self.unfit),
            "comparison": self.comparison(),
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "workers": self.workers,
        }

    def comparison(self) -> list[dict]:
        """Per chip: accuracy, energy and latency per inference (the
        estimates: simulated activity priced with published figures)."""
        rows = []
        for name, run in self.runs.items():
            e = run.estimate or {}
            rows.append({
                "target": name,
                "accuracy": None if run.accuracy is None else round(run.accuracy, 6),
                "prediction_agreement": round(float(run.agreement or 0.0), 6),
                "energy_j": e.get("energy_j"),
                "energy_is_lower_bound": e.get("energy_is_lower_bound"),
                "latency_s": e.get("latency_s"),
                "synaptic_events": (e.get("counts") or {}).get("synaptic_events"),
                "estimate_samples": e.get("samples"),
                "caveat": e.get("caveat"),
            })  # fmt: skip
        return rows

    def comparison_lines(self) -> list[str]:
        """The side-by-side table of the chips (empty without chips)."""
        if not self.runs:
            return []
        from nirc.targets.estimates import ESTIMATE_NOTE, fmt_energy, fmt_time

        rows = [("chip", "accuracy", "energy/inference", "latency/inference",
                 "synaptic events/inference")]  # fmt: skip
        samples = set()
        for r in self.comparison():
            acc = "-" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f} %"
            energy = fmt_energy(r["energy_j"]) + (" (lower bound)" if r["energy_is_lower_bound"]
                                                  else "")  # fmt: skip
            syn = "-" if r["synaptic_events"] is None else f"{r['synaptic_events']:.4g}"
            rows.append((r["target"], acc, energy, fmt_time(r["latency_s"]), syn))
            samples.add(r["estimate_samples"])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        n = ", ".join(str(k) for k in sorted(s for s in samples if s is not None)) or "-"
        out = [f"chips side by side ({ESTIMATE_NOTE}; activity of the first {n} sample(s); "
               "`nirc targets CHIP` lists each figure and its source):"]  # fmt: skip
        for row in rows:
            out.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        out += [f"  {r['target']}: {r['caveat']}" for r in self.comparison() if r["caveat"]]
        return out

    def lines(self, max_differ: int = 20) -> list[str]:
        """What ``nirc eval`` prints."""
        out = [
            f"nirc eval: {self.model} on {self.data}: {self.samples} samples x {self.steps} "
            f"steps, readout {self.readout}"
            + (f", source {self.source}" if self.source != "nir" else "")
            + ("" if self.labels is not None else " (no labels: agreement only)")
        ]
        rows = [("", "accuracy", "agreement", "output spikes/sample", "time")]
        for run in [self.reference] + list(self.runs.values()):
            acc = "-" if run.accuracy is None else f"{100 * run.accuracy:.2f} % ({run.correct})"
            agree = "-" if run.name == "float" else f"{100 * float(run.agreement):.2f} %"
            secs = _seconds_text(run.seconds, run.kernels)
            label = "float (reference)" if run.name == "float" else run.name
            rows.append((label, acc, agree, f"{run.spikes_per_sample:.1f}", secs))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            out.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        out += [f"  {name}: cannot run this network: {why}" for name, why in self.unfit.items()]
        out += [f"  {run.paired.describe(run.name)}" for run in self.runs.values() if run.paired]
        for run in self.runs.values():
            rep = run.report or {}
            cal = rep.get("calibration")
            if cal:
                out.append(f"  {run.name} calibration: {cal}")
                if "random spikes" in cal:
                    out.append(f"  ({run.name} chose its quantization on random spikes: "
                               "--calibrate TRAIN.npz chooses it on your data)")  # fmt: skip
            place = rep.get("placement")
            if place:
                out.append(f"  {run.name} placement: {place['count']} {place['unit']} on "
                           f"{place['chips']} chip(s)")  # fmt: skip
            if run.pad_steps:
                out.append(f"  {run.name}: {run.pad_steps} silent step(s) appended (the chip's "
                           "outputs lag the float network's by as many)")  # fmt: skip
            for a in rep.get("approximations") or []:
                out.append(f"  {run.name} approximates: {a}")
            ref = self.reference.accuracy
            for what, acc in run.approximation_costs:
                cost = "" if ref is None else f" ({100 * (acc - ref):+.2f} points)"
                out.append(f"  {run.name}: the float network with {what}: {100 * acc:.2f} %{cost}")
        for run in [self.reference] + list(self.runs.values()):
            m = run.confusion(self.classes)
            if m is None or self.classes > 20:
                continue
            label = "float reference" if run.name == "float" else run.name
            out.append(f"confusion, {label} (rows: label, columns: prediction):")
            w = max(3, len(str(int(m.max(initial=0)))) + 1)
            out.append("      " + "".join(str(c).rjust(w) for c in range(self.classes)))
            for c in range(self.classes):
                out.append(f"  {c:>3} " + "".join(str(int(v)).rjust(w) for v in m[c]))
        for run in self.runs.values():
            d = run.differ
            shown = ", ".join(str(int(i)) for i in d[:max_differ])
            more = f" and {d.size - max_differ} more" if d.size > max_differ else ""
            out.append(
                f"samples where {run.name} and the float reference predict differently "
                f"({d.size}): {shown or 'none'}{more}"
            )
        out += self.comparison_lines()
        out.append("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items()))
        return out


# --------------------------------------------------------------------------------------
# the work on one chunk of samples (also what a Dask worker runs)
# --------------------------------------------------------------------------------------


@dataclass
class _Job:
    """Everything a chunk needs, picklable: the float network and the compiled
    chips as IR text (a worker parses them once and keeps them)."""

    key: str
    float_ir: str
    record: tuple[str, ...]
    output: str
    neuron: str | None  # the output layer's neuron (membrane readouts)
    threshold: Any  # its threshold (float or per neuron), None when not spiking
    readout: str
    targets: tuple[tuple[str, str, int], ...]  # (target name, IR text, pad steps)
    variants: tuple[tuple[str, str], ...] = ()  # (key, IR text): float networks to run too
    jit: str = "auto"


_CACHE: dict[str, Any] = {}  # job key -> (float simulation, {target: compiled module})


def _parse(text: str):
    """A module back from :func:`_print`'s text (nirc's parser: node names
    outside ASCII read back as the strings they were)."""
    from nirc.context import ir_parser, make_context

    return ir_parser(make_context(), text, "<nirc eval>").parse_module()


def _prepared(job: _Job):
    got = _CACHE.get(job.key)
    if got is None:
        from nirc.interpreter import prepare

        sim = prepare(_parse(job.float_ir), record=list(job.record))
        chips = {name: _parse(text) for name, text, _ in job.targets}
        for key, text in job.variants:
            chips[key] = prepare(_parse(text), record=list(job.record))
        got = _CACHE[job.key] = (sim, chips)
        while len(_CACHE) > 4:
            _CACHE.pop(next(iter(_CACHE)))
    return got


def _membrane(values: np.ndarray, threshold) -> np.ndarray:
    if threshold is None:
        return values
    return values / np.asarray(threshold, np.float64).reshape(-1)


def _run_chunk(job: _Job, chunk: dict[str, np.ndarray], steps: int) -> dict[str, tuple]:
    """``{"float" or target: (scores [n, C], output spikes [n], seconds, of them
    seconds numba spent compiling kernels)}`` for
    the samples of ``chunk`` (time-major, padded by the largest pad; the float
    network reads the first ``steps`` steps)."""
    from nirc.targets import get_target

    sim, chips = _prepared(job)
    out: dict[str, tuple] = {}
    clock = jit.stopwatch()
    x = {k: v[:steps] for k, v in chunk.items()}
    res = sim.run(x, jit=job.jit)
    spikes = res[job.output].reshape(steps, -1, _classes_of(res[job.output]))
    membrane = None
    if job.readout in MEMBRANE_READOUTS:
        v = res[f"{job.neuron}.v"].reshape(spikes.shape)
        membrane = _membrane(v, job.threshold)
    scores = readout_scores(job.readout, spikes, membrane)
    out["float"] = (scores, spikes.sum(axis=(0, 2)), *clock())
    for key, _text in job.variants:  # the float network with a chip's approximations
        clock = jit.stopwatch()
        r = chips[key].run(x, jit=job.jit)
        s = r[job.output].reshape(spikes.shape)
        m = None
        if job.readout in MEMBRANE_READOUTS:
            m = _membrane(r[f"{job.neuron}.v"].reshape(spikes.shape), job.threshold)
        out[key] = (readout_scores(job.readout, s, m), s.sum(axis=(0, 2)), *clock())
    for name, _text, pad in job.targets:
        clock = jit.stopwatch()
        target = get_target(name)
        total = steps + pad
        xs = {k: v[:total] for k, v in chunk.items()}
        options = {"membranes": True} if job.readout in MEMBRANE_READOUTS else {}
        got = target.simulate(chips[name], xs, **options)
        if job.output not in got:
            raise NircError(
                f"the {name} simulation gives no output `{job.output}`",
                found=", ".join(f"`{k}`" for k in got),
            )
        s = np.asarray(got[job.output]).reshape(total, -1, spikes.shape[2])
        m = None
        if job.readout in MEMBRANE_READOUTS:
            key = f"{job.output}.v"
            if key not in got:
                raise NircError(
                    f"the {name} simulation gives no membrane of its outputs",
                    expected="--readout counts or first-spike for this target",
                    found=f"the {job.readout} readout",
                )
            m = np.asarray(got[key], np.float64).reshape(s.shape)
        out[name] = (readout_scores(job.readout, s, m), s.sum(axis=(0, 2)), *clock())
    return out


def _jit_mode(plan, ds: Dataset) -> str:
    """The float runs' compiled-kernel choice: ``on`` when the whole data set's
    work repays loading them (the engine's rule, :data:`~nirc.interpreter.engine.JIT_MIN_WORK`,
    applied to every chunk together; alone, each chunk of a small network
    fell short, and the first ran without them: 0.65 of the digits CNN's 1.1 s),
    else the engine's ``auto``."""
    from nirc.interpreter import engine

    return "on" if engine.work(plan, ds.steps, ds.samples) >= engine.JIT_MIN_WORK else "auto"


def _classes_of(a: np.ndarray) -> int:
    return int(np.prod(a.shape[2:])) if a.ndim > 2 else 1


# --------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------


def _model_name(model: Any) -> str:
    if isinstance(model, (str, os.PathLike)):
        return Path(model).name
    return type(model).__name__


def _print(module) -> str:
    import io

    from xdsl.printer import Printer

    buf = io.StringIO()
    Printer(stream=buf).print_op(module)
    return buf.getvalue()


def _check_chunk_size(ds: Dataset, chunk: int | None, pad: int) -> None:
    """Refuse a chip's runs whose chunk of samples (``pad`` silent steps
    appended, ``--pad-steps``) cannot fit the machine's memory: the inputs
    and outputs a float64 each, about four times over (the padded copy, the
    simulator's own)."""
    from nirc.interpreter.io import check_memory

    n = min(int(chunk) if chunk else DEFAULT_CHUNK, ds.samples)
    inputs = sum(int(np.prod(a.shape[2:])) for a in ds.inputs.values())
    check_memory(4.0 * (ds.steps + pad) * n * (inputs + 1) * 8, "a chunk of the chips' runs",
                 f"{n:,} samples x ({ds.steps:,} + {pad:,} silent) steps x {inputs:,} inputs",
                 "fewer silent steps (--pad-steps) or samples per run (--chunk)")  # fmt: skip


def target_names(target) -> list[str]:
    """The chips of ``--target`` (a comma-separated string or a list), in order,
    each once; ``all``: every chip nirc compiles for."""
    if target is None:
        return []
    from nirc.targets import TARGETS, asks_for_all

    if asks_for_all(target):
        return sorted(TARGETS)
    names = [t.strip() for t in target.split(",")] if isinstance(target, str) else \
        [str(t).strip() for t in target]  # fmt: skip
    if not all(names):
        raise NircError("an empty target name", where="--target",
                        expected="chip names separated by commas, e.g. speck,xylo",
                        found=repr(target if isinstance(target, str) else ",".join(names)))  # fmt: skip
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


def _output_neuron(plan, output: str) -> tuple[str | None, Any]:
    """The neuron layer an Output reads (through reshapes) and its threshold
    (None when it does not spike)."""
    from nirc.interpreter.neurons import Neuron

    name = output
    seen = set()
    while name not in seen:
        seen.add(name)
        node = plan.nodes[name]
        if isinstance(node.kernel, Neuron) and name != output:
            k = node.kernel
            fires = getattr(k, "fires", getattr(k, "spiking", False))
            return name, (getattr(k, "thr", None) if fires else None)
        if len(node.preds) != 1 or node.type not in ("Output", "Flatten"):
            return None, None
        name = node.preds[0]
    return None, None


def _calibration_path(calibrate, tmpdir: Path) -> str | None:
    """A path for the targets' ``calibrate`` option: as given, or arrays written
    to a temporary .npz (the tasks' layout)."""
    if calibrate is None or isinstance(calibrate, (str, os.PathLike)):
        return None if calibrate is None else str(calibrate)
    if isinstance(calibrate, (tuple, list)) and len(calibrate) == 2:
        calibrate = {"spikes": calibrate[0], "labels": calibrate[1]}
    if not isinstance(calibrate, Mapping):
        raise NircError(
            "cannot read the calibration data",
            expected="a path to an .npz, a dict of arrays, or (spikes, labels)",
            found=type(calibrate).__name__,
        )
    path = tmpdir / "calibrate.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in calibrate.items()})
    return str(path)


def _deduplicated_warnings(fn):
    """Run ``fn`` collecting its diagnostics (``strict`` as given); the float
    reference and each target read the file, so each warning is passed on
    once, and, called from a script (nobody prints them otherwise), also
    as a Python warning."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        from nirc import diagnostics

        outer = diagnostics.current_sink()
        with diagnostics.collecting(strict=kwargs.get("strict", False) or outer.strict) as sink:
            result = fn(*args, **kwargs)
        seen: set[tuple] = set()
        unique = []
        for w in sink.warnings:
            key = (w.message, w.where, w.kind)
            if key not in seen:
                seen.add(key)
                unique.append(w)
        outer.warnings.extend(unique)
        if outer is diagnostics._SINKS[0]:
            import warnings

            from nirc.interpreter import NircWarning

            for w in unique:
                warnings.warn(w.render(), NircWarning, stacklevel=2)
        return result

    return run


@_deduplicated_warnings
def evaluate(
    model: Any,
    data: Any,
    target: str | Iterable[str] | None = None,
    *,
    source: str = "nir",
    dt: float | None = None,
    reset: str | None = None,
    integrator: str | None = None,
    calibrate: Any = None,
    limit: int | None = None,
    readout: str = "counts",
    labels: Any = None,
    pad_steps: int | str = "auto",
    allow_approximate: bool = False,
    variant: str | None = None,
    seed: int = 0,
    strict: bool = False,
    chunk: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    compile_options: Mapping[str, Any] | None = None,
    costs: bool = True,
) -> EvalResult:
    """Run the labelled samples of ``data`` through the float reference and the
    bit-accurate simulation of each ``target`` (a name, a comma-separated
    list, or a list; ``"all"``: every chip, those that cannot run the network
    in the result's ``unfit`` with the reason) and measure them (see the
    module docstring).

    ``source``, ``dt``, ``reset``, ``integrator``: how the file is read (the
    same as ``nirc run`` / ``nirc compile``). ``calibrate``: the data the
    targets' quantizers choose their scales on (a path, arrays or (spikes,
    labels); the tasks' layout); None: each target's default. ``limit``: the
    first samples only. ``readout``: one of :data:`READOUTS`. ``pad_steps``:
    ``"auto"`` or a number (see the module docstring). ``allow_approximate``,
    ``variant``, ``seed``, ``strict`` and ``compile_options`` (more
    :class:`~nirc.targets.base.CompileOptions` ``extra`` fields) go to the
    targets. ``chunk``: samples per vectorized run. ``workers``/``scheduler``:
    Dask. ``progress(done, total)`` is called as samples complete. ``costs``:
    with labels, also run the float network with each approximation a target
    made (its ``float_approximations``), to say what each costs."""
    from nirc.interpreter import prepare
    from nirc.profiles import parse_source

    t_start = time.perf_counter()
    if readout not in READOUTS:
        raise NircError("unknown readout", where="--readout", expected=" or ".join(READOUTS),
                        found=str(readout))  # fmt: skip
    parse_source(source)  # a bad --source fails before any work
    names = target_names(target)
    from nirc.targets import asks_for_all

    every = asks_for_all(target)
    unfit: dict[str, str] = {}
    if pad_steps != "auto":
        try:
            pad_steps = int(pad_steps)
        except (TypeError, ValueError):
            raise NircError("--pad-steps must be `auto` or a number >= 0",
                            found=str(pad_steps)) from None  # fmt: skip
        if pad_steps < 0:
            raise NircError("--pad-steps must be `auto` or a number >= 0", found=str(pad_steps))
    if chunk is not None and int(chunk) < 1:
        raise NircError("the chunk size must be >= 1", found=str(chunk))
    if workers is not None and int(workers) < 1:
        raise NircError("--workers must be >= 1", found=str(workers))
    if int(seed) < 0:  # numpy's generators take none (once an internal error)
        raise NircError("--seed must be >= 0", found=str(seed))
    if isinstance(model, (str, os.PathLike)):
        from nirc.atomic import note_input

        note_input(model)

    # the float reference: the snn module it simulates, printed for the workers
    t0 = time.perf_counter()
    from nirc.interpreter.snn import discretized, load_module

    module = load_module(model)
    from nirc.dialects.snn import is_snn_module

    if not is_snn_module(module):
        module = discretized(module, dt=dt, integrator=integrator, reset=reset, source=source)
    probe_plan = prepare(module).plan
    outputs = list(probe_plan.outputs)
    if len(outputs) != 1:
        raise NircError(
            "evaluation needs one Output to read the classes from",
            expected="a graph with exactly one Output node",
            found=", ".join(f"`{o}`" for o in outputs) or "no Output",
        )
    output = outputs[0]
    classes = int(np.prod(probe_plan.outputs[output]))
    neuron, threshold = _output_neuron(probe_plan, output)
    if readout in MEMBRANE_READOUTS and neuron is None:
        raise NircError(
            f"the {readout} readout needs a neuron layer under the Output",
            where=output,
            expected="an Output reading a neuron layer (directly or through a Flatten)",
            found="something else",
        )
    if readout in ("counts", "first-spike") and neuron is not None and threshold is None:
        raise NircError(
            f"the Output `{output}` reads neurons that do not spike: the {readout} readout "
            "has nothing to count",
            where=output,
            expected="--readout max-membrane or last-membrane for a membrane readout",
            found=f"non-spiking neurons `{neuron}`",
        )
    ds = load_data(data, probe_plan.inputs, classes=classes, output=output, limit=limit,
                   labels=labels)  # fmt: skip
    float_ir = _print(module)
    prep_s = time.perf_counter() - t0

    # the chips: compiled once, here
    from nirc.targets import get_target, warn_unread
    from nirc.targets.base import CompileOptions

    runs_meta: dict[str, dict] = {}
    modules: dict[str, Any] = {}
    compiled: list[tuple[str, str, int]] = []
    variants: list[tuple[str, str]] = []
    if variant and names:
        warn_unread(f"variant {variant!r}", "variant", list(names))
    with tempfile.TemporaryDirectory(prefix="nirc-eval-") as tmp:
        cal = _calibration_path(calibrate, Path(tmp))
        for name in names:
            tgt = get_target(name)
            extra = dict(compile_options or {})
            if variant:
                extra["variant"] = variant
            # the most events an input element receives in one step: what a chip that
            # takes counts as separate spikes (SpiNNaker2's spike sources) must be built
            # for, whatever it calibrates on (a property of the data's format, not a fit)
            extra.setdefault("max_input_events", ds.max_events())
            opts = CompileOptions(dt=dt, reset=reset, source=source,
                                  allow_approximate=allow_approximate, calibrate=cal, seed=seed,
                                  strict=strict, extra=extra)  # fmt: skip
            clock = jit.stopwatch()
            try:
                result = tgt.compile(model, opts)
            except NircError as e:
                if not every:
                    raise
                unfit[name] = e.render().splitlines()[0]  # `all`: the reason, and go on
                continue
            compile_s, kernels_s = clock()
            report = result.report if isinstance(result.report, dict) else {}
            lag = int(report.get("output_latency", 0) or 0)
            pad = max(0, lag) if pad_steps == "auto" else int(pad_steps)
            _check_chunk_size(ds, chunk, pad)
            compiled.append((name, _print(result.module), pad))
            modules[name] = result.module
            runs_meta[name] = {"compile": compile_s, "report": _short_report(report), "pad": pad,
                               "variants": [], "kernels": kernels_s}  # fmt: skip
            measure = getattr(tgt, "float_approximations", None)
            if costs and ds.labels is not None and measure is not None:
                for k, (what, variant) in enumerate(measure(module, report)):
                    key = f"{name}:approximation:{k}"
                    variants.append((key, _print(variant)))
                    runs_meta[name]["variants"].append((what, key))
    job = _Job(
        key=f"{os.getpid()}-{id(ds)}-{time.time_ns()}",
        float_ir=float_ir,
        record=(f"{neuron}.v",) if readout in MEMBRANE_READOUTS else (),
        output=output,
        neuron=neuron,
        threshold=threshold,
        readout=readout,
        targets=tuple(compiled),
        variants=tuple(variants),
        jit=_jit_mode(probe_plan, ds),
    )
    size = int(chunk) if chunk else DEFAULT_CHUNK
    bounds = [(s, min(s + size, ds.samples)) for s in range(0, ds.samples, size)]
    pad_max = max([p for _, _, p in compiled], default=0)
    parts: list[dict[str, tuple]] = []
    t0 = time.perf_counter()
    if workers or scheduler:
        parts = _run_dask(job, ds, bounds, pad_max, workers, scheduler, progress)
    else:
        chips = {n: _parse(text) for n, text, _ in compiled}
        for key, text in variants:
            chips[key] = prepare(_parse(text), record=list(job.record))
        _CACHE[job.key] = (prepare(module, record=list(job.record)), chips)
        try:
            for s, e in bounds:
                parts.append(_run_chunk(job, ds.chunk(s, e, pad_max), ds.steps))
                if progress is not None:
                    progress(e, ds.samples)
        finally:
            _CACHE.pop(job.key, None)
    sim_s = time.perf_counter() - t0

    def gather(name: str) -> tuple[np.ndarray, np.ndarray, float, float]:
        scores = np.concatenate([p[name][0] for p in parts])
        spikes = np.concatenate([p[name][1] for p in parts])
        return (scores, spikes, float(sum(p[name][2] for p in parts)),
                float(sum(p[name][3] for p in parts)))  # fmt: skip

    def kernels(**phases: float) -> dict[str, float]:
        return {k: v for k, v in phases.items() if v >= jit.COMPILE_APART_S}

    scores, spikes, secs, compiling = gather("float")
    reference = Run("float", scores, predict(scores), spikes, ds.labels,
                    {"simulate": secs}, kernels=kernels(simulate=compiling))  # fmt: skip
    runs: dict[str, Run] = {}
    for name, _text, pad in compiled:
        scores, spikes, secs, compiling = gather(name)
        pred = predict(scores)
        meta = runs_meta[name]
        runs[name] = Run(
            name, scores, pred, spikes, ds.labels,
            {"compile": meta["compile"], "simulate": secs},
            kernels=kernels(compile=meta["kernels"], simulate=compiling),
            agreement=float(np.mean(pred == reference.predictions)),
            differ=np.flatnonzero(pred != reference.predictions).astype(np.int64),
            pad_steps=pad, report=meta["report"],
            paired=(None if ds.labels is None
                    else paired_accuracy(ds.labels, reference.predictions, pred)),
        )  # fmt: skip
        for what, key in meta["variants"]:
            vpred = predict(gather(key)[0])
            runs[name].approximation_costs.append((what, float(np.mean(vpred == ds.labels))))
        # energy and latency: the chip's activity on the first samples, priced with its
        # published per-operation figures (nirc.targets.estimates)
        if ds.samples:
            k = min(ds.samples, ESTIMATE_SAMPLES)
            where = Path(ds.where).name if ds.where != "data" else "the data"
            runs[name].estimate = get_target(name).estimate(
                modules[name], ds.chunk(0, k, pad), label=f"the first {k} sample(s) of {where}",
                max_samples=k)  # fmt: skip
    seconds = {"load": prep_s, "compile": sum(m["compile"] for m in runs_meta.values()),
               "simulate": sim_s, "total": time.perf_counter() - t_start}  # fmt: skip
    return EvalResult(
        model=_model_name(model), data=Path(ds.where).name if ds.where != "data" else "data",
        source=parse_source(source).text, readout=readout, samples=ds.samples,
        steps=ds.steps, classes=classes, output=output, labels=ds.labels,
        reference=reference, runs=runs, seconds=seconds,
        workers=int(workers) if workers else None, unfit=unfit,
    )  # fmt: skip


# samples whose activity `nirc eval` prices per chip (a recorded run of each chip)
ESTIMATE_SAMPLES = 64


def _calibration_figures(report: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
    """A target report's calibration: what it ran on, the predictions that
    agree with the float network's, the accuracies ``{float, chip}`` on its
    labels. Speck, Xylo and SpiNNaker2 keep them with their quantization,
    Loihi 2 with its agreement figures (``fidelity.calibration``)."""
    q = report.get("quantization") or {}
    if isinstance(q, dict) and q.get("calibration"):
        return str(q["calibration"]), q.get("prediction_agreement"), q.get("calibration_accuracy")
    fid = (report.get("fidelity") or {}).get("calibration")
    if isinstance(fid, dict) and fid.get("inputs"):
        acc = fid.get("accuracy") or {}
        chip = next((v for k, v in acc.items() if k != "float"), None)
        both = {"float": acc["float"], "chip": chip} if "float" in acc and chip is not None else None
        return str(fid["inputs"]), fid.get("prediction_agreement"), both
    return None


def _seconds_text(seconds: dict[str, float], kernels: dict[str, float]) -> str:
    """A run's times for the table, with what numba spent compiling this
    machine's kernels (once) inside each: a first eval of the digits CNN
    spent 20 of the float reference's 20.5 s and 2.5 of Loihi 2's 3.2 s
    compile in them, which read as the run's own cost."""
    parts = []
    for k, v in seconds.items():
        text = f"{k} {v:.2f} s"
        if k in kernels:
            text += f" ({kernels[k]:.2f} s of it compiling the kernels, once)"
        parts.append(text)
    return ", ".join(parts)


def _short_report(report: Mapping[str, Any]) -> dict:
    """What an evaluation keeps of a target's compile report: the quantization
    and calibration figures, the approximations, the options."""
    out: dict[str, Any] = {}
    for key in ("options", "quantization", "approximations", "output_latency"):
        if key in report:
            out[key] = report[key]
    res = report.get("resources")
    if isinstance(res, Mapping) and "chips_used" in res:  # the many-core chips' placement
        for key, unit in (("pes_used", "PEs"), ("cores_used", "cores")):
            if key in res:
                out["placement"] = {"chips": res["chips_used"], "count": res[key], "unit": unit}
    figures = _calibration_figures(report)
    if figures is not None:
        cal, pa, acc = figures
        if pa is not None:
            cal += f"; predictions as the float network's on {100 * pa:.2f} % of them"
        if acc:
            cal += (f"; accuracy on their labels: float {100 * acc['float']:.2f} %, chip "
                    f"{100 * acc['chip']:.2f} %")  # fmt: skip
        out["calibration"] = cal
    return out


def _run_dask(job: _Job, ds: Dataset, bounds, pad: int, workers, scheduler, progress):
    """The chunks on a Dask cluster: a local one of ``workers`` processes, or
    the one at ``scheduler``. Results come back in chunk order."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise NircError(
            "--workers and --scheduler need Dask",
            expected="dask[distributed] installed",
            found="no module `dask.distributed`",
            hint="pip install 'nirc[dask]'",
        ) from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=30)
        else:
            cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1,
                                   processes=True, dashboard_address=None)  # fmt: skip
            client = Client(cluster)
    except Exception as e:  # noqa: BLE001 - the cluster's own errors, shown plainly
        raise NircError(
            "cannot reach the Dask cluster" if scheduler else "cannot start Dask workers",
            where=scheduler or f"--workers {workers}",
            found=f"{type(e).__name__}: {e}",
        ) from None
    try:
        remote_job = client.scatter(job, broadcast=True)
        futures = []
        for s, e in bounds:
            futures.append(client.submit(_run_chunk, remote_job, ds.chunk(s, e, pad), ds.steps,
                                         pure=False))  # fmt: skip
        index = {f.key: i for i, f in enumerate(futures)}
        parts: list[Any] = [None] * len(futures)
        done = 0
        for fut in as_completed(futures):
            i = index[fut.key]
            parts[i] = fut.result()
            done += bounds[i][1] - bounds[i][0]
            if progress is not None:
                progress(done, ds.samples)
        return parts
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def progress_bar(stream=None) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` drawing a bar on ``stream`` (stderr)."""
    stream = stream if stream is not None else sys.stderr
    start = time.monotonic()

    def show(done: int, total: int) -> None:
        width = 30
        frac = done / max(total, 1)
        rate = done / max(time.monotonic() - start, 1e-9)
        bar = "#" * int(width * frac) + "." * (width - int(width * frac))
        stream.write(f"\r[{bar}] {done}/{total} samples  {rate:,.0f} samples/s")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show
