"""What every target's report holds, and the energy and latency estimate in it.

Two things live here, beside :mod:`.base`, so that the four chips' reports can
be compared:

1. **The report's sections** (:data:`REPORT_SECTIONS`): ``resources``,
   ``quantization``, ``fidelity`` (the measured agreement with the float
   network), ``approximations``, ``warnings`` and ``estimates``.
   :func:`assemble_report` builds every target's ``report.json`` from a
   :class:`ReportSections` (the header, the six sections, then the target's
   own details under their old names); :func:`report_text` prints
   ``report.txt`` with one heading per section, in the same order for every
   chip. ``agreement`` stays in the JSON as the old name of ``fidelity``
   (the same object) so that readers of earlier reports keep working.

2. **The estimate** (:func:`estimate`): from the activity a chip's simulator
   produced on some inputs (:class:`Population` spikes and :class:`Synapses`
   between them, with the placement's core of every neuron and chip of every
   core), :func:`count_activity` counts per inference (averaged over samples)
   the input events, synaptic events (each spike times the synapses it
   actually reaches), neuron updates (every neuron every step on a chip that
   steps its neurons; on an event-driven chip only the updates its events
   cause), the spikes neurons emit, and the spike packets that cross cores
   and chips (one per source neuron spike and destination core / chip other
   than the neuron's own). :func:`estimate` prices those counts with the
   chip's published per-operation figures (:class:`ChipFigures`, in each
   target's ``spec.py`` with its source) into an energy and a latency per
   inference with the breakdown.

These are **estimates from simulated activity and published per-operation
figures, not measurements**: the counts are exact for the simulated inputs,
the figures are what the papers give (often for another chip generation,
voltage or network; each figure says so), and what a figure does not cover
(host I/O, idle cores, the board) is left out. A count with no published
figure is reported and listed as unpriced, and the energy is then a lower
bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nirc.diagnostics import NircError

REPORT_SECTIONS = ("resources", "quantization", "fidelity", "approximations", "warnings",
                   "estimates")  # fmt: skip
ESTIMATE_NOTE = ("estimates from simulated activity and published per-operation figures, "
                 "not measurements")  # fmt: skip
ESTIMATE_FORMAT = "nirc-estimate/1"

# the counts an estimate holds (per inference), in the order they print
COUNTS = ("input_events", "synaptic_events", "neuron_updates", "spikes",
          "spikes_between_cores", "spikes_between_chips")  # fmt: skip
COUNT_LABELS = {
    "input_events": "input events",
    "synaptic_events": "synaptic events",
    "neuron_updates": "neuron updates",
    "spikes": "spikes emitted",
    "spikes_between_cores": "spikes sent between cores",
    "spikes_between_chips": "spikes sent between chips",
}

COUNT_SINGULAR = {
    "input_events": "input event",
    "synaptic_events": "synaptic event",
    "neuron_updates": "neuron update",
    "spikes": "spike emitted",
    "spikes_between_cores": "spike sent between cores",
    "spikes_between_chips": "spike sent between chips",
}


# -----------------------------------------------------------------------------------
# the shared report structure
# -----------------------------------------------------------------------------------


@dataclass
class ReportSections:
    """One compile report: its header (``format``, ``target``, ``model``,
    ``options``), the six shared sections, and ``details``: what only this
    target reports (per-layer tables, timing, ...), kept under their names."""

    header: dict[str, Any]
    resources: dict[str, Any]
    quantization: dict[str, Any]
    fidelity: dict[str, Any]
    approximations: list[str]
    warnings: list[str]
    estimates: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


def assemble_report(s: ReportSections) -> dict[str, Any]:
    """The ``report.json`` object of a compile: header, the sections of
    :data:`REPORT_SECTIONS`, ``agreement`` (the former name of ``fidelity``,
    the same object) and the target's details."""
    for key in ("format", "target", "model"):
        if key not in s.header:
            raise NircError("a report header lacks a field", where="report", expected=key)
    clash = sorted(set(s.details) & (set(REPORT_SECTIONS) | set(s.header) | {"agreement"}))
    if clash:
        raise NircError("a target's report details reuse a section name", where="report",
                        found=", ".join(clash))  # fmt: skip
    report: dict[str, Any] = dict(s.header)
    report["sections"] = list(REPORT_SECTIONS)
    for key in REPORT_SECTIONS:
        report[key] = getattr(s, key)
    report["agreement"] = s.fidelity
    report.update(s.details)
    return report


def report_text(title: Sequence[str], sections: Mapping[str, Sequence[str]],
                trailer: Sequence[str] = ()) -> str:  # fmt: skip
    """``report.txt``: the ``title`` lines, then every section of
    :data:`REPORT_SECTIONS` under its heading (``none`` when a target has
    nothing to say), then ``trailer``."""
    unknown = sorted(set(sections) - set(REPORT_SECTIONS))
    if unknown:
        raise NircError("unknown report section", where="report.txt", found=", ".join(unknown),
                        expected=", ".join(REPORT_SECTIONS))  # fmt: skip
    lines = list(title)
    for key in REPORT_SECTIONS:
        body = [line for line in sections.get(key, ()) if line is not None]
        lines += ["", f"== {key} ==", *(body or ["none"])]
    if trailer:
        lines += ["", *trailer]
    return "\n".join(lines) + "\n"


# -----------------------------------------------------------------------------------
# published figures
# -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One published figure: ``value`` in SI units (J, s or W) per ``per``
    (a count of :data:`COUNTS`, ``step`` or ``second``), ``kind`` says how
    the source got it (``measured``, ``vendor figure``, ``derived``,
    ``assumed``), ``source`` cites it (paper, table or section), ``note``
    says what it does not cover or how uncertain it is."""

    value: float
    unit: str
    per: str
    kind: str
    source: str
    note: str = ""

    def describe(self) -> str:
        scale = {"J": (1e-12, "pJ"), "s": (1e-9, "ns"), "W": (1e-6, "uW")}[self.unit]
        v = self.value / scale[0]
        unit = scale[1]
        if self.unit == "s" and self.value >= 1e-4:
            v, unit = self.value * 1e3, "ms"
        if self.unit == "W" and self.value >= 1e-3:
            v, unit = self.value * 1e3, "mW"
        per = "" if self.unit == "W" else f" per {self.per.replace('_', ' ')}"
        return (f"{v:g} {unit}{per} ({self.kind}; {self.source}"
                + (f"; {self.note}" if self.note else "") + ")")  # fmt: skip


@dataclass(frozen=True)
class ChipFigures:
    """A chip's published figures and how its latency is modelled.

    ``energy``: count name -> energy per operation; ``power``: a power drawn
    for the whole inference (W, times its duration); ``unpriced``: counts
    with no published figure (reported, not priced: the energy is then a
    lower bound). ``latency``: ``real-time`` (the chip advances one step per
    ``step_time`` of wall-clock time, the model's ``dt`` when that is None:
    latency = steps x step) or ``per-step work``
    (steps run as fast as the busiest core finishes: latency = sum over steps
    of the largest core's work, priced with ``time``, plus ``step_overhead``
    per step). ``sources``: the works cited, shown by ``nirc targets``."""

    chip: str
    energy: Mapping[str, Figure]
    latency: str
    time: Mapping[str, Figure] = field(default_factory=dict)
    step_overhead: Figure | None = None
    step_time: Figure | None = None
    power: Figure | None = None
    unpriced: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def __hash__(self) -> int:  # the mappings make the generated hash fail
        return hash(self.chip)

    def __post_init__(self) -> None:
        if self.latency not in ("real-time", "per-step work"):
            raise NircError("unknown latency model", where=self.chip, found=self.latency,
                            expected="real-time or per-step work")  # fmt: skip
        for name in list(self.energy) + list(self.time) + list(self.unpriced):
            if name not in COUNTS:
                raise NircError("a figure prices an unknown count", where=self.chip,
                                found=name, expected=", ".join(COUNTS))  # fmt: skip

    def rows(self) -> list[tuple[str, str]]:
        """``(what, value)`` rows for ``nirc targets``."""
        rows = [(f"energy per {COUNT_SINGULAR[k]}", f.describe()) for k, f in self.energy.items()]
        if self.power is not None:
            rows.append(("power", self.power.describe()))
        rows += [(f"time per {COUNT_SINGULAR[k]}", f.describe()) for k, f in self.time.items()]
        if self.step_overhead is not None:
            rows.append(("time per step", self.step_overhead.describe()))
        if self.step_time is not None:
            rows.append(("time per step", self.step_time.describe()))
        real = "real time: steps x " + ("dt" if self.step_time is None else "the step time")
        rows.append(("latency model", {"real-time": real,
                                       "per-step work": "per step, the busiest core's work "
                                       "plus the step's synchronization"}[self.latency]))  # fmt: skip
        for k, why in self.unpriced.items():
            rows.append((f"not priced: {COUNT_LABELS[k]}", why))
        for i, s in enumerate(self.sources):
            rows.append(("source" if i == 0 else "", s))
        rows.append(("estimates", ESTIMATE_NOTE))
        return rows

    def to_dict(self) -> dict[str, Any]:
        def fig(f: Figure) -> dict[str, Any]:
            return {"value": f.value, "unit": f.unit, "per": f.per, "kind": f.kind,
                    "source": f.source, "note": f.note}  # fmt: skip

        return {
            "energy": {k: fig(f) for k, f in self.energy.items()},
            "power": None if self.power is None else fig(self.power),
            "time": {k: fig(f) for k, f in self.time.items()},
            "step_overhead": None if self.step_overhead is None else fig(self.step_overhead),
            "step_time": None if self.step_time is None else fig(self.step_time),
            "latency_model": self.latency,
            "unpriced": dict(self.unpriced),
            "sources": list(self.sources),
        }


# -----------------------------------------------------------------------------------
# counting the activity
# -----------------------------------------------------------------------------------


@dataclass
class Population:
    """Neurons of one layer or population: ``spikes`` ``[T, B, n]`` event
    counts the simulator produced (an input's events for an input),
    ``core`` the core of each neuron (``None``: the host, for an input),
    ``updates``: ``"every step"`` (the chip steps all its neurons),
    ``"on events"`` (only the synaptic events update a neuron), ``"events and
    steps"`` (both: an event-driven core that also adds a bias every step)
    or ``"none"`` (an input: its events count as input events; with a
    ``core``, a spike source placed on the chip whose events are routed
    like spikes)."""

    name: str
    spikes: np.ndarray
    core: np.ndarray | None
    updates: str = "every step"

    @property
    def size(self) -> int:
        return int(self.spikes.shape[2])


@dataclass
class Synapses:
    """The synapses from ``pre`` to ``post`` (population names), as index
    pairs (one pair per synapse that a spike of ``pre[i]`` reaches: nonzero
    weights only). ``through``: an optional map applied to the ``pre``
    spikes before they reach the synapses (e.g. Speck's sum pooling on the
    way to the next core): ``[T, B, n_pre] -> [T, B, m]``, ``pre_index``
    then indexes the ``m`` pooled events, and ``pre_core`` gives their
    source cores."""

    pre: str
    post: str
    pre_index: np.ndarray
    post_index: np.ndarray
    through: Any = None
    pre_core: np.ndarray | None = None


def dense_synapses(pre: str, post: str, weight: np.ndarray) -> Synapses:
    """Synapses of a dense ``[n_pre, n_post]`` weight matrix (zeros are no
    synapse; extra trailing axes, e.g. Xylo's two synaptic currents, count
    as one synapse per neuron pair when any is nonzero)."""
    w = np.asarray(weight)
    nz = w != 0
    if nz.ndim > 2:
        nz = nz.reshape(nz.shape[0], nz.shape[1], -1).any(axis=2)
    i, j = np.nonzero(nz)
    return Synapses(pre, post, i.astype(np.int64), j.astype(np.int64))


def conv_synapses(pre: str, post: str, weight: np.ndarray, in_shape: Sequence[int],
                  out_shape: Sequence[int], stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                  groups: int = 1) -> Synapses:  # fmt: skip
    """Synapses of a 2-D convolution ``weight`` ``[C_out, C_in / groups, kh,
    kw]`` from a ``[C_in, H, W]`` input to a ``[C_out, H', W']`` output
    (zero weights and taps outside the input are no synapse; input and
    output flattened in C, H, W order)."""
    w = np.asarray(weight)
    co, cig, kh, kw = w.shape
    ci, h, wd = (int(v) for v in in_shape)
    _, ho, wo = (int(v) for v in out_shape)
    sy, sx = (int(v) for v in stride)
    py, px = (int(v) for v in padding)
    dy, dx = (int(v) for v in dilation)
    per_group = co // groups
    if ci * h * wd == 0 or cig * groups != ci:
        raise NircError("a convolution's weight does not fit its input", where=post,
                        expected=f"[C_out, {ci} / groups, kh, kw]", found=str(list(w.shape)))  # fmt: skip
    pres, posts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    oy, ox = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    oy, ox = oy.ravel(), ox.ravel()
    for ky in range(kh):
        for kx in range(kw):
            o, c = np.nonzero(w[:, :, ky, kx])  # the (output, input) channel pairs of this tap
            iy = oy * sy - py + ky * dy
            ix = ox * sx - px + kx * dx
            ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < wd)
            if not o.size or not ok.any():
                continue
            cin = (o // per_group) * cig + c
            pres.append(((cin[:, None] * h + iy[ok]) * wd + ix[ok]).ravel())
            posts.append(((o[:, None] * ho + oy[ok]) * wo + ox[ok]).ravel())
    return Synapses(pre, post, np.concatenate(pres).astype(np.int64),
                    np.concatenate(posts).astype(np.int64))  # fmt: skip


@dataclass
class Activity:
    """What :func:`count_activity` counted: ``counts`` per inference,
    ``layers`` the same per population (``synaptic_events`` by the
    population that receives them), ``core_work`` ``[T, B, C]`` synaptic
    events and ``core_neurons`` ``[C]`` neurons per core (for latency),
    ``steps`` and ``samples``."""

    counts: dict[str, float]
    layers: dict[str, dict[str, float]]
    core_events: np.ndarray
    core_neurons: np.ndarray
    steps: int
    samples: int


def count_activity(populations: Sequence[Population], synapses: Sequence[Synapses],
                   chip_of_core: np.ndarray | None = None) -> Activity:  # fmt: skip
    """Count the activity (see the module docstring); per inference =
    averaged over the ``B`` samples. ``chip_of_core[c]``: the chip of core
    ``c`` (``None``: one chip)."""
    pops = {p.name: p for p in populations}
    if not pops:
        raise NircError("no populations to count")
    first = next(iter(pops.values())).spikes
    T, B = int(first.shape[0]), int(first.shape[1])
    for p in pops.values():
        if p.spikes.ndim != 3 or p.spikes.shape[:2] != (T, B):
            raise NircError("population spikes of the wrong shape", where=p.name,
                            expected=f"[{T}, {B}, n]", found=str(list(p.spikes.shape)))  # fmt: skip
        if p.core is not None and len(p.core) != p.size:
            raise NircError("a core per neuron is needed", where=p.name,
                            expected=str(p.size), found=str(len(p.core)))  # fmt: skip
    cores = [int(np.max(p.core)) + 1 for p in pops.values() if p.core is not None and p.size]
    C = max(cores, default=1)
    chips = (np.zeros(C, np.int64) if chip_of_core is None
             else np.asarray(chip_of_core, np.int64)[:C])  # fmt: skip
    per = 1.0 / max(B, 1)
    layers: dict[str, dict[str, float]] = {
        n: {"neurons": p.size, "spikes": 0.0, "synaptic_events": 0.0, "neuron_updates": 0.0}
        for n, p in pops.items()
    }
    counts = dict.fromkeys(COUNTS, 0.0)
    core_events = np.zeros((T, B, C))
    core_neurons = np.zeros(C)
    for p in pops.values():
        total = float(p.spikes.sum()) * per
        if p.core is None or p.updates == "none":  # an input, from the host or a spike source
            counts["input_events"] += total
            layers[p.name]["spikes"] = total
            continue
        counts["spikes"] += total
        layers[p.name]["spikes"] = total
        core_neurons += np.bincount(np.asarray(p.core, np.int64), minlength=C)[:C]
        if p.updates in ("every step", "events and steps"):
            layers[p.name]["neuron_updates"] = float(p.size * T)
    for s in synapses:
        if s.pre not in pops or s.post not in pops:
            missing = s.pre if s.pre not in pops else s.post
            raise NircError("synapses name an unknown population", where=f"{s.pre} -> {s.post}",
                            found=missing, expected=", ".join(pops))  # fmt: skip
        pre, post = pops[s.pre], pops[s.post]
        x = pre.spikes if s.through is None else s.through(pre.spikes)
        x = np.asarray(x, np.float64).reshape(T, B, -1)
        m = x.shape[2]
        if post.core is None:
            raise NircError("synapses onto an input", where=f"{s.pre} -> {s.post}")
        if s.pre_index.size and (s.pre_index.max() >= m or s.post_index.max() >= post.size):
            raise NircError("a synapse index is out of range", where=f"{s.pre} -> {s.post}",
                            expected=f"< {m} (pre), < {post.size} (post)",
                            found=f"{s.pre_index.max()}, {s.post_index.max()}")  # fmt: skip
        dst_core = np.asarray(post.core, np.int64)[s.post_index]
        # synapses from each source event onto each core: [m, C]
        fan = np.bincount(s.pre_index * C + dst_core, minlength=m * C).reshape(m, C)
        events = x @ fan  # [T, B, C]
        core_events += events
        n_events = float(events.sum()) * per
        counts["synaptic_events"] += n_events
        layers[post.name]["synaptic_events"] += n_events
        if post.updates in ("on events", "events and steps"):
            layers[post.name]["neuron_updates"] += n_events
        src_core = s.pre_core if s.pre_core is not None else pre.core
        if src_core is None:  # the host's input events reach the chip; not a core-to-core spike
            continue
        src_core = np.asarray(src_core, np.int64)
        reached = fan > 0
        other_core = reached.copy()
        other_core[np.arange(m), src_core] = False
        chip_reached = np.zeros((m, int(chips.max()) + 1), bool)
        for c in range(C):
            chip_reached[reached[:, c], chips[c]] = True
        chip_reached[np.arange(m), chips[src_core]] = False
        sums = x.sum(axis=(0, 1))
        counts["spikes_between_cores"] += float(sums @ other_core.sum(axis=1)) * per
        counts["spikes_between_chips"] += float(sums @ chip_reached.sum(axis=1)) * per
    counts["neuron_updates"] = sum(v["neuron_updates"] for v in layers.values())
    return Activity(counts, layers, core_events, core_neurons, T, B)


# -----------------------------------------------------------------------------------
# pricing
# -----------------------------------------------------------------------------------


LONG_STEP = 0.1  # s: a step this long on a real-time chip is almost surely "time in steps"


def estimate(activity: Activity, figures: ChipFigures, dt: float | None,
             inputs: str = "") -> dict[str, Any]:  # fmt: skip
    """The ``estimates`` section: the counts per inference, the energy (J) and
    latency (s) per inference with their breakdown, the figures used and
    what is unpriced. ``dt``: the model's seconds per step (the real-time
    chips' step unless the figures fix a ``step_time``; the duration that
    ``power`` is drawn for); ``inputs`` says what the activity was simulated
    on."""
    c = activity.counts
    steps = activity.steps
    step = figures.step_time.value if figures.step_time is not None else dt
    duration = None if step is None else steps * float(step)
    energy: dict[str, float] = {}
    for name, f in figures.energy.items():
        energy[name] = c[name] * f.value
    unpriced = {k: v for k, v in figures.unpriced.items() if c.get(k, 0.0) > 0}
    if figures.power is not None:
        if duration is None:
            unpriced["power"] = "the time step is unknown"
        else:
            energy["power x duration"] = figures.power.value * duration
    breakdown_t: dict[str, float] = {}
    if figures.latency == "real-time":
        latency = duration
        if latency is not None:
            breakdown_t["steps x " + ("dt" if figures.step_time is None else "step time")] = latency
    else:
        t_syn = figures.time.get("synaptic_events")
        t_upd = figures.time.get("neuron_updates")
        work = np.zeros(activity.core_events.shape)
        if t_syn is not None:
            work = work + activity.core_events * t_syn.value
        if t_upd is not None:
            work = work + activity.core_neurons[None, None, :] * t_upd.value
        busiest = work.max(axis=2) if work.shape[2] else np.zeros(work.shape[:2])
        per_sample = busiest.sum(axis=0)  # [B]
        breakdown_t["busiest core's work"] = float(per_sample.mean()) if per_sample.size else 0.0
        if figures.step_overhead is not None:
            breakdown_t["per-step overhead"] = steps * figures.step_overhead.value
        latency = sum(breakdown_t.values())
    total = sum(energy.values())
    caveat = None
    if figures.step_time is None and figures.latency == "real-time" and dt is not None \
            and dt >= LONG_STEP:  # fmt: skip
        caveat = (f"latency and energy are steps x dt with the model's dt = {dt:g} s per step, "
                  "which for a file that counts time in steps (Sinabs' convention) is not the "
                  "data's real step: both scale linearly with it")  # fmt: skip
    return {
        "format": ESTIMATE_FORMAT,
        "caveat": caveat,
        "note": ESTIMATE_NOTE,
        "inputs": inputs,
        "samples": activity.samples,
        "steps": steps,
        "dt": dt,
        "counts": {k: round(v, 4) for k, v in c.items()},
        "layers": {n: {k: round(v, 4) for k, v in d.items()} for n, d in activity.layers.items()},
        "energy_j": _sig(total),
        "energy_breakdown_j": {k: _sig(v) for k, v in energy.items()},
        "energy_is_lower_bound": bool(unpriced),
        "latency_s": None if latency is None else _sig(latency),
        "latency_breakdown_s": {k: _sig(v) for k, v in breakdown_t.items()},
        "latency_model": figures.latency,
        "unpriced": unpriced,
        "figures": figures.to_dict(),
    }


def _sig(v: float) -> float:
    """``v`` to 6 significant digits (stable JSON)."""
    return float(f"{v:.6g}")


def fmt_energy(j: float | None) -> str:
    if j is None:
        return "-"
    for scale, unit in ((1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if abs(j) >= scale:
            return f"{j / scale:.3g} {unit}"
    return f"{j:.3g} J"


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
        if abs(s) >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def estimate_lines(e: Mapping[str, Any] | None) -> list[str]:
    """The ``estimates`` section of ``report.txt``."""
    if not e:
        return ["not computed"]
    lb = " (a lower bound: " + ", ".join(COUNT_LABELS.get(k, k) for k in e["unpriced"]) + \
        " not priced, no published figure)" if e["energy_is_lower_bound"] else ""  # fmt: skip
    lines = [
        f"{ESTIMATE_NOTE}; per inference, averaged over {e['samples']} sample(s) x "
        f"{e['steps']} steps of {e['inputs'] or 'the calibration inputs'}",
        f"  energy {fmt_energy(e['energy_j'])}{lb}, latency {fmt_time(e['latency_s'])} "
        f"({e['latency_model']})",
        "  counts: " + ", ".join(f"{COUNT_LABELS[k]} {e['counts'][k]:.4g}" for k in COUNTS),
        "  energy: " + (", ".join(f"{k.replace('_', ' ')} {fmt_energy(v)}"
                                  for k, v in e["energy_breakdown_j"].items()) or "-"),  # fmt: skip
        "  latency: " + (", ".join(f"{k} {fmt_time(v)}"
                                   for k, v in e["latency_breakdown_s"].items()) or "-"),  # fmt: skip
        "  per layer: " + "; ".join(
            f"{n}: {d['spikes']:.4g} spikes, {d['synaptic_events']:.4g} synaptic events, "
            f"{d['neuron_updates']:.4g} updates" for n, d in e["layers"].items()),
    ]
    if e.get("caveat"):
        lines.insert(2, "  note: " + e["caveat"])
    srcs = e["figures"]["sources"]
    if srcs:
        lines.append("  figures from: " + "; ".join(srcs))
    return lines


def summary_estimate(e: Mapping[str, Any] | None) -> str:
    """The compile summary's estimate line."""
    if not e:
        return "  estimate: not computed"
    lb = " (a lower bound: " + ", ".join(COUNT_LABELS.get(k, k) for k in e["unpriced"]) + \
        " not priced)" \
        if e["energy_is_lower_bound"] else ""  # fmt: skip
    line = (f"  estimate per inference: energy {fmt_energy(e['energy_j'])}{lb}, latency "
            f"{fmt_time(e['latency_s'])}, {e['counts']['synaptic_events']:.4g} synaptic events "
            f"({ESTIMATE_NOTE})")
    return line + (f"\n    note: {e['caveat']}" if e.get("caveat") else "")


def short_estimate(e: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What ``nirc eval`` keeps of an estimate: the counts, energy, latency,
    and whether the energy is a lower bound."""
    if not e:
        return None
    return {k: e.get(k) for k in ("note", "caveat", "inputs", "samples", "steps", "dt", "counts",
                                  "energy_j", "energy_breakdown_j", "energy_is_lower_bound",
                                  "latency_s", "latency_model", "unpriced")}  # fmt: skip


__all__ = [
    "COUNTS", "ESTIMATE_NOTE", "REPORT_SECTIONS", "Activity", "ChipFigures", "Figure",
    "Population", "ReportSections", "Synapses", "assemble_report", "conv_synapses",
    "count_activity", "dense_synapses", "estimate", "estimate_lines", "report_text",
    "short_estimate", "summary_estimate",
]  # fmt: skip
