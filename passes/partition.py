"""`partition{target=loihi2}`: neurons onto cores and chips, least spike traffic.

Loihi 2 and SpiNNaker2 split populations over many cores and chips. This pass
reads a fused `snn` module and the target's capacity model (its spec object's
``capacity``, a :class:`CapacityModel`), assigns every neuron to a core so that
every core fits, and records the result as a ``placement.map`` op (see
:mod:`nirc.dialects.placement`) next to the ``snn.graph``. Nothing here names
a chip.

Contract
--------
- A target's spec object has ``capacity`` (a :class:`CapacityModel`, or a
  subclass overriding :meth:`CapacityModel.memory` with the chip's own
  synapse-memory formula).
- :func:`place` takes a fused `snn` module and a capacity model, and returns a
  :class:`Placement`: for every placed population (every ``snn.neuron``, named
  by its name, which is also its fused layer's name; and every ``snn.input``
  when ``capacity.place_inputs``), an int32 array of the neuron's *global core
  id* (``chip * cores_per_chip + core``), one entry per neuron in the flat (C)
  order of the neuron's shape. Every neuron is placed exactly once; every core
  is within capacity (else a NircError with a table of needs against capacity).
- :func:`attach` records a placement in the module as IR; :func:`read_placement`
  reads it back.

Traffic
-------
The figure both placements are judged by, in weighted spike copies per time
step::

    traffic = sum over source neurons j of  rate_j * sum over cores c in D(j), c != core(j) of w(j, c)

``D(j)`` is the set of cores holding a neuron that ``j``'s spikes reach (through
any chain of synapses, pools, reshapes, delays and scales), ``rate_j`` its
spikes per step (from ``activity``, a calibration run: :func:`measure_activity`;
a population the activity lacks gets the mean of its rates; without activity 1
for every neuron), and ``w(j, c)`` is ``capacity.chip_hop_cost`` when ``c`` is on
another chip than ``j``, ``capacity.core_hop_cost`` when on the same chip. An
input that is not placed (``place_inputs`` false) sends from outside: each core
it reaches counts ``core_hop_cost``. With unit costs this is the connectivity
(lambda - 1) metric of the hypergraph with a hyperedge per source neuron.

How
---
1. The connectivity of the module (:mod:`nirc.passes.partition_network`);
   static refusals first: a neuron with more synapses than
   ``capacity.max_fan_in``, a population of which not even one neuron fits a
   core's memory.
2. The baseline (:mod:`nirc.passes.partition_slicing`): each population in
   index order on consecutive cores, each slice the largest that fits neurons
   and memory (exact loads: :mod:`nirc.passes.partition_loads`); what the
   vendors' tools do.
3. The partitioner (:mod:`nirc.passes.partition_hypergraph`): conv maps
   coarsened into channel-group x spatial-tile blocks, a hypergraph of spike
   groups, Mt-KaHyPar's km1 partition (chips, then cores; deterministic preset,
   seeded), exact loads, repair. ``capacity.exclusive_cores`` keeps one
   population per core; ``contiguous`` populations are cut in index order
   (the partitioner then only chooses where their slices go). Without
   ``mtkahypar`` installed: a warning and index order.
4. The partitioner's placement is kept only when every core fits, it uses no
   more cores than the baseline and its traffic is lower; ``method`` says
   which won. No placement within ``cores_per_chip * chips`` cores (or within
   ``max_fan_out`` destination cores per neuron): a NircError with a table of
   each population's needs against the capacity and the way out.

Memory stays in proportion to the connectivity, never to the weights' dense
size: weights are read through zero-copy views, dense weights become tables of
their nonzero columns (int32) built a chunk of rows at a time, convolutions and
pools stay implicit (channel ranges x positions), so a 10,000 x 10,000 weight
with 1 % nonzero costs ~4 MB here besides the 400 MB the IR holds.
:meth:`Placement.report_lines` is the per-core table for reports.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from nirc.diagnostics import NircError

METHODS = ("auto", "index")


@dataclass(frozen=True)
class CoreLoad:
    """What one core holds, as the memory formula sees it.

    - ``neurons``: neurons placed on the core;
    - ``synapses``: synapses onto those neurons stored one by one (dense
      projections: the nonzero weights);
    - ``shared_weights``: weights stored once per core and shared by many
      synapses (convolution kernels: for each output channel on the core, its
      ``in_channels / groups * kh * kw`` weights);
    - ``input_axons``: distinct presynaptic neurons whose spikes reach the core
      (an axon / synapse-row entry each);
    - ``source_slices``: distinct (population, core) sources sending to the core
      (routing / master-population-table entries);
    - ``recorded``: neurons on the core whose state or spikes are recorded.
    """

    neurons: int = 0
    synapses: int = 0
    shared_weights: int = 0
    input_axons: int = 0
    source_slices: int = 0
    recorded: int = 0

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (self.neurons, self.synapses, self.shared_weights, self.input_axons,
                self.source_slices, self.recorded)  # fmt: skip


@dataclass(frozen=True)
class CapacityModel:
    """The per-core and per-machine limits a placement must respect.

    The memory formula is linear in :class:`CoreLoad` (bytes); a target with a
    different formula subclasses this and overrides :meth:`memory`.
    ``core_hop_cost`` / ``chip_hop_cost`` weigh a spike's copy sent to another
    core on the same chip / on another chip in the traffic figure.
    ``sources`` cites where each number comes from (shown in reports and
    ``nirc targets``). ``exclusive_cores``: a core may hold neurons of one
    population only (the baseline always places that way).
    """

    target: str
    neurons_per_core: int
    memory_per_core: float  # bytes available to the formula below (math.inf: no limit)
    cores_per_chip: int
    chips: int
    bytes_per_neuron: float = 0.0
    bytes_per_synapse: float = 0.0
    bytes_per_shared_weight: float = 0.0
    bytes_per_input_axon: float = 0.0
    bytes_per_source_slice: float = 0.0
    bytes_per_recorded: float = 0.0
    fixed_bytes: float = 0.0
    max_fan_in: int | None = None  # synapses onto one neuron
    max_fan_out: int | None = None  # distinct destination cores of one neuron
    place_inputs: bool = False  # inputs occupy cores (SpiNNaker2 spike sources) or not
    core_hop_cost: float = 1.0
    chip_hop_cost: float = 10.0
    sources: tuple[tuple[str, str], ...] = ()
    # each core holds neurons of one population only (py-spinnaker2 runs one
    # population slice per PE); False: populations may share a core
    exclusive_cores: bool = False

    def memory(self, load: CoreLoad) -> float:
        """Bytes a core holding ``load`` needs."""
        return (
            self.fixed_bytes
            + self.bytes_per_neuron * load.neurons
            + self.bytes_per_synapse * load.synapses
            + self.bytes_per_shared_weight * load.shared_weights
            + self.bytes_per_input_axon * load.input_axons
            + self.bytes_per_source_slice * load.source_slices
            + self.bytes_per_recorded * load.recorded
        )

    def fits(self, load: CoreLoad) -> bool:
        return load.neurons <= self.neurons_per_core and self.memory(load) <= self.memory_per_core

    @property
    def total_cores(self) -> int:
        return self.cores_per_chip * self.chips

    def with_overrides(self, **changes: Any) -> CapacityModel:
        """A copy with some numbers replaced (``--core-neurons`` and friends);
        ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Placement:
    """Where every neuron sits (see the module docstring).

    ``layers`` maps population name -> int32 global core ids (flat C order of
    the population's shape); ``cores`` is the per-core table (core id -> its
    :class:`CoreLoad` and memory); ``traffic`` the weighted connectivity-metric
    traffic of this placement, ``baseline_traffic`` that of index-order slicing
    at the same limits; ``method`` the partitioner that won (``index-order``
    when the baseline was as good). ``baseline_cores`` is the baseline's core
    count, ``chips`` and the capacity numbers those of the machine placed on,
    ``notes`` what the report should say besides (partitioner statistics,
    fallbacks), ``timings`` the wall time of each phase (``connectivity``,
    ``baseline``, ``partitioner``) in seconds."""

    target: str
    cores_per_chip: int
    layers: dict[str, np.ndarray]
    cores: dict[int, CoreLoad] = field(default_factory=dict)
    memory: dict[int, float] = field(default_factory=dict)
    traffic: float = 0.0
    baseline_traffic: float = 0.0
    method: str = "index-order"
    baseline_cores: int = 0
    chips: int = 1
    neurons_per_core: int = 0
    memory_per_core: float = 0.0
    inputs_placed: bool = False
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    @property
    def cores_used(self) -> int:
        return len(self.cores)

    @property
    def chips_used(self) -> int:
        return len({c // self.cores_per_chip for c in self.cores})

    def chip_of(self, core: int) -> int:
        return core // self.cores_per_chip

    def populations_on(self) -> dict[int, list[tuple[str, int]]]:
        """Core id -> (population, neurons) it holds, populations in order."""
        from nirc.passes.partition_network import unique

        out: dict[int, list[tuple[str, int]]] = {c: [] for c in sorted(self.cores)}
        for name, ids in self.layers.items():
            cores, counts = unique(np.asarray(ids, np.int64), counts=True)
            for c, k in zip(cores.tolist(), counts.tolist()):
                out.setdefault(c, []).append((name, k))
        return out

    def summary(self) -> str:
        ratio = self.traffic / self.baseline_traffic if self.baseline_traffic > 0 else 1.0
        return (
            f"placement on {self.target} ({self.method}): {self.cores_used} cores on "
            f"{self.chips_used} chip(s); traffic {self.traffic:.6g} spike copies/step, "
            f"index order {self.baseline_traffic:.6g} on {self.baseline_cores} cores "
            f"({ratio:.3f}x)"
        )

    def report_lines(self) -> list[str]:
        """The per-core table with the traffic figures (for reports)."""
        lines = [self.summary()]
        lines += [f"  {n}" for n in self.notes]
        lines.append(
            f"  {'core':>6} {'chip':>4} {'neurons':>8} {'synapses':>9} {'kernel':>7} "
            f"{'axons':>7} {'sources':>7} {'rec':>5} {'memory':>10} {'use':>5}  populations"
        )
        on = self.populations_on()
        for c in sorted(self.cores):
            ld = self.cores[c]
            mem = self.memory.get(c, 0.0)
            use = ld.neurons / self.neurons_per_core if self.neurons_per_core else 0.0
            if self.memory_per_core:
                use = max(use, mem / self.memory_per_core)
            pops = ", ".join(f"{n} ({k})" for n, k in on.get(c, []))
            lines.append(
                f"  {c:>6} {self.chip_of(c):>4} {ld.neurons:>8} {ld.synapses:>9} "
                f"{ld.shared_weights:>7} {ld.input_axons:>7} {ld.source_slices:>7} "
                f"{ld.recorded:>5} {mem:>10.0f} {use:>5.0%}  {pops}"
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able report entry."""
        on = self.populations_on()
        return {
            "target": self.target,
            "method": self.method,
            "traffic": self.traffic,
            "baseline_traffic": self.baseline_traffic,
            "cores_used": self.cores_used,
            "baseline_cores": self.baseline_cores,
            "chips_used": self.chips_used,
            "notes": list(self.notes),
            "cores": [
                {
                    "core": c,
                    "chip": self.chip_of(c),
                    **self.cores[c].__dict__,
                    "memory": self.memory.get(c, 0.0),
                    "populations": {n: k for n, k in on.get(c, [])},
                }
                for c in sorted(self.cores)
            ],
        }


def capacity_from_options(base: CapacityModel, extra: dict[str, Any]) -> CapacityModel:
    """``base`` with the overrides of ``nirc compile`` (``extra["capacity"]``:
    ``neurons_per_core``, ``memory_per_core``, ``chips``; ``extra["capacity_file"]``:
    a JSON object of fields of ``type(base)`` by name, applied first: a
    target's subclass of :class:`CapacityModel` adds its own, e.g.
    SpiNNaker2's ``recorded_steps`` and ``record_voltages``)."""
    import json

    model = base
    path = extra.get("capacity_file")
    if path:
        from nirc.load import read_small_text

        text = read_small_text(path, "capacity file")
        try:
            data = json.loads(text)
        except ValueError as e:
            raise NircError("cannot read the capacity file", where=str(path), found=str(e)) from None
        known = {f for f in type(base).__dataclass_fields__ if f not in ("target", "sources")}
        if not isinstance(data, dict) or set(data) - known:
            bad = sorted(set(data) - known) if isinstance(data, dict) else type(data).__name__
            raise NircError("unknown capacity fields", where=str(path), found=str(bad),
                            expected=", ".join(sorted(known)))  # fmt: skip
        for k, v in data.items():
            want = type(getattr(base, k))
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 2**63
            if want is bool:
                ok = isinstance(v, bool)
            elif k in ("max_fan_in", "max_fan_out"):
                ok = v is None or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 2**63)
            elif want is int:
                ok = ok and isinstance(v, int) and v >= 1
            if not ok:
                expected = ("true or false" if want is bool
                            else "an integer in 1..2**63-1 or null" if k in ("max_fan_in", "max_fan_out")
                            else "an integer in 1..2**63-1" if want is int else "a number in 0..2**63")
                raise NircError("bad capacity value", where=f"{path}: {k}", found=repr(v),
                                expected=expected)  # fmt: skip
        model = model.with_overrides(**data)
    return model.with_overrides(**dict(extra.get("capacity") or {}))


# --------------------------------------------------------------------------------------
# placing
# --------------------------------------------------------------------------------------


def place(
    module: ModuleOp,
    capacity: CapacityModel,
    *,
    activity: dict[str, np.ndarray] | None = None,
    method: str = "auto",
    seed: int = 0,
    contiguous: Iterable[str] = (),
) -> Placement:
    """Place the populations of a fused `snn` module (see the module docstring).

    ``activity``: spikes per neuron per step by population name (from a
    calibration run, e.g. :func:`measure_activity`); uniform rates when absent.
    ``method``: ``auto`` (the partitioner, kept only when it beats index order),
    ``index`` (the vendors' index-order slicing). ``contiguous``: populations
    every core must hold a run of consecutive neurons of (a target that can
    only load index-order slices of them, e.g. py-spinnaker2's Conv2D
    projections): the partitioner then chooses where their slices go, not how
    they are cut."""
    from nirc.diagnostics import warn
    from nirc.passes.partition_hypergraph import hypergraph_placement, mtkahypar_available
    from nirc.passes.partition_loads import evaluate
    from nirc.passes.partition_network import extract_network
    from nirc.passes.partition_slicing import sliced

    if method not in METHODS:
        raise NircError("unknown placement method", expected=" or ".join(METHODS), found=method)
    _check_capacity(capacity)
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    net = extract_network(module, capacity.place_inputs)
    _check_fan_in(net, capacity)
    rates = _rates(net, activity)
    runs = _population_indices(net, contiguous)
    timings["connectivity"] = time.perf_counter() - clock
    clock = time.perf_counter()
    base = sliced(net, capacity)
    if base.unfit:
        raise _unfit_error(net, capacity, base)
    base_eval = evaluate(net, capacity, base.placement, rates)
    base_fan = _fan_out_excess(net, capacity, base_eval)
    base_ok = base.cores <= capacity.total_cores and base_fan is None
    timings["baseline"] = time.perf_counter() - clock
    clock = time.perf_counter()
    chosen, chosen_eval, name = base.placement, base_eval, "index-order"
    notes: list[str] = []
    if method == "auto" and not mtkahypar_available():
        warn(
            "partition: the hypergraph partitioner (mtkahypar) is not installed; "
            "placing populations in index order. Install it with "
            "`pip install 'nirc[partition]'`",
            where="partition",
        )
        notes.append("mtkahypar not installed: index order")
    elif method == "auto" and net.placed:
        limit = base.cores if base_ok else capacity.total_cores
        result = hypergraph_placement(
            net, capacity, rates, max_cores=limit, seed=seed, contiguous=runs
        )
        if result is None:
            notes.append("partitioner: no placement within the baseline's cores; index order kept")
        else:
            ev = evaluate(net, capacity, result.placement, rates)
            fits = not ev.over and _fan_out_excess(net, capacity, ev) is None
            fewer = len(ev.cores) <= (base.cores if base_ok else capacity.total_cores)
            notes.append(
                f"mt-kahypar: {result.blocks} blocks, {result.edges} hyperedges, "
                f"{len(ev.cores)} cores, traffic {ev.traffic:.6g}"
                + (f", {result.repaired} blocks moved by repair" if result.repaired else "")
            )
            if fits and fewer and (not base_ok or ev.traffic < base_eval.traffic):
                chosen, chosen_eval, name = result.placement, ev, "mt-kahypar"
        timings["partitioner"] = time.perf_counter() - clock
    if name == "index-order" and not base_ok:
        if base_fan is not None:
            raise base_fan
        raise _too_many_cores(net, capacity, base)
    placement = _placement(net, capacity, chosen, chosen_eval, name, base_eval, base.cores, notes)
    placement.timings = timings
    return placement


def index_order(
    module: ModuleOp, capacity: CapacityModel, *, activity: dict[str, np.ndarray] | None = None
) -> Placement:
    """The vendors' placement: each population sliced in index order, on
    consecutive cores, each slice the largest that fits neurons and memory."""
    return place(module, capacity, activity=activity, method="index")


def _population_indices(net, names: Iterable[str]) -> set[int]:
    by_name = {p.name: p for p in net.placed}
    out = set()
    for n in names:
        if n not in by_name:
            raise NircError(
                "`contiguous` names no placed population",
                where=str(n),
                expected=", ".join(by_name),
                found=str(n),
            )
        out.add(by_name[n].index)
    return out


def _check_capacity(capacity: CapacityModel) -> None:
    for label in ("neurons_per_core", "cores_per_chip", "chips"):
        v = getattr(capacity, label)
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise NircError("bad capacity", where=label, expected="an integer >= 1", found=repr(v))
    if not capacity.memory_per_core >= 0:
        raise NircError("bad capacity", where="memory_per_core", expected="a number >= 0",
                        found=repr(capacity.memory_per_core))  # fmt: skip


def _rates(net, activity: dict[str, np.ndarray] | None) -> dict[int, np.ndarray]:
    """Spikes per step per neuron (flat), by population index."""
    out: dict[int, np.ndarray] = {}
    given = dict(activity or {})
    unknown = sorted(set(given) - {p.name for p in net.populations})
    if unknown:
        raise NircError(
            "activity names no population",
            where="activity",
            expected=", ".join(p.name for p in net.populations),
            found=", ".join(unknown),
        )
    values = []
    for p in net.populations:
        if p.name not in given:
            continue
        a = np.asarray(given[p.name], dtype=np.float64)
        if a.size != p.size or not np.isfinite(a).all() or (a < 0).any():
            raise NircError(
                "bad activity",
                where=f"activity[{p.name}]",
                expected=f"{p.size} finite spike rates >= 0 (population shape {list(p.shape)})",
                found=f"{a.size} values" + ("" if np.isfinite(a).all() else ", not all finite"),
            )
        out[p.index] = a.reshape(-1)
        values.append(out[p.index])
    default = float(np.concatenate(values).mean()) if values else 1.0
    for p in net.populations:
        out.setdefault(p.index, np.full(p.size, default))
    return out


def _check_fan_in(net, capacity: CapacityModel) -> None:
    if capacity.max_fan_in is None:
        return
    for p in net.populations:
        if p.is_input:
            continue
        fan = net.fan_in(p.index)
        if len(fan) and fan.max() > capacity.max_fan_in:
            i = int(np.argmax(fan))
            raise NircError(
                "a neuron receives more synapses than a core allows",
                where=p.name,
                expected=f"at most {capacity.max_fan_in} synapses onto one neuron "
                f"({capacity.target} max_fan_in)",
                found=f"neuron {i} receives {int(fan[i])} "
                f"({int((fan > capacity.max_fan_in).sum())} neurons over the limit)",
                hint="prune or split the layer's inputs, or give a larger max_fan_in "
                "with --capacity FILE.json",
            )


def _fan_out_excess(net, capacity: CapacityModel, ev) -> NircError | None:
    if capacity.max_fan_out is None:
        return None
    for src, fan in ev.fan_out.items():
        pop = net.populations[src]
        if not pop.placed or not len(fan):
            continue
        if fan.max() > capacity.max_fan_out:
            i = int(np.argmax(fan))
            return NircError(
                "a neuron's spikes reach more cores than it may send to",
                where=pop.name,
                expected=f"at most {capacity.max_fan_out} destination cores per neuron "
                f"({capacity.target} max_fan_out)",
                found=f"neuron {i} reaches {int(fan[i])} cores",
                hint="allow larger cores (--core-neurons) or a larger max_fan_out "
                "(--capacity FILE.json)",
            )
    return None


def _kib(b: float) -> str:
    return f"{b / 1024:.1f} KiB" if math.isfinite(b) else "unlimited"


def _needs_table(net, capacity: CapacityModel, sliced_, unfit: set[int]) -> str:
    from nirc.passes.partition_loads import population_loads
    from nirc.passes.partition_slicing import slice_ids

    rows = [f"{'population':<20} {'neurons':>9} {'per core':>9} {'cores':>7} "
            f"{'memory/core needed':>19} {'available':>10}"]  # fmt: skip
    for p in net.placed:
        s = sliced_.sizes.get(p.index, 0)
        if p.index in unfit:
            u = next(u for u in sliced_.unfit if u.population == p.index)
            rows.append(
                f"{p.name:<20} {p.size:>9} {0:>9} {'-':>7} "
                f"{_kib(u.memory):>19} {_kib(capacity.memory_per_core):>10}"
            )
            continue
        loads = population_loads(net, capacity, p.index, slice_ids(p.size, s), sliced_.placement)
        worst = max(capacity.memory(ld) for ld in loads) if loads else 0.0
        cores = int(np.ceil(p.size / max(s, 1)))
        rows.append(
            f"{p.name:<20} {p.size:>9} {s:>9} {cores:>7} "
            f"{_kib(worst):>19} {_kib(capacity.memory_per_core):>10}"
        )
    return "\n".join(rows)


def _unfit_error(net, capacity: CapacityModel, sliced_) -> NircError:
    bad = {u.population for u in sliced_.unfit}
    names = ", ".join(net.populations[i].name for i in sorted(bad))
    table = _needs_table(net, capacity, sliced_, bad)
    return NircError(
        f"the model does not fit {capacity.target}: not even one neuron of {names} fits a "
        "core's memory",
        where=names,
        expected=f"a core of {_kib(capacity.memory_per_core)} holding at least one neuron",
        found="\n" + table,
        hint="give the cores more memory (--core-synapse-memory BYTES or pass option "
        "core_memory=BYTES, or a --capacity FILE.json with a smaller memory formula), or prune "
        "the synapses onto these neurons",
    )


def _too_many_cores(net, capacity: CapacityModel, sliced_) -> NircError:
    table = _needs_table(net, capacity, sliced_, set())
    chips = int(np.ceil(sliced_.cores / capacity.cores_per_chip))
    return NircError(
        f"the model does not fit {capacity.target}: it needs {sliced_.cores} cores, the "
        f"machine has {capacity.total_cores} ({capacity.chips} chip(s) x "
        f"{capacity.cores_per_chip})",
        expected=f"at most {capacity.total_cores} cores",
        found="\n" + table,
        hint=f"use more chips (--chips {chips}; pass option chips={chips}), larger cores "
        "(--core-neurons N, --core-synapse-memory BYTES; core_neurons=N, core_memory=BYTES), "
        "or a smaller model",
    )


def _placement(net, capacity, chosen, ev, method, base_ev, base_cores, notes) -> Placement:
    layers = {net.populations[i].name: np.asarray(a, np.int32) for i, a in chosen.items()}
    cores = {int(c): ld for c, ld in zip(ev.cores, ev.loads)}
    memory = {int(c): float(m) for c, m in zip(ev.cores, ev.memory)}
    return Placement(
        target=capacity.target,
        cores_per_chip=capacity.cores_per_chip,
        layers=layers,
        cores=cores,
        memory=memory,
        traffic=float(ev.traffic),
        baseline_traffic=float(base_ev.traffic),
        method=method,
        baseline_cores=int(base_cores),
        chips=capacity.chips,
        neurons_per_core=capacity.neurons_per_core,
        memory_per_core=float(capacity.memory_per_core),
        inputs_placed=capacity.place_inputs,
        notes=notes,
    )


# --------------------------------------------------------------------------------------
# activity from a calibration run
# --------------------------------------------------------------------------------------


def measure_activity(module: ModuleOp, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Spikes per step of every neuron (and input element), averaged over time
    and batch, from the float (or integer) reference interpreter run on
    ``inputs`` (``{input: [T, B, *shape]}``), by population name. A neuron
    without a threshold sends its value (a graded message) in every step it is
    nonzero: its rate is the fraction of such steps."""
    from nirc.dialects import snn
    from nirc.interpreter.snn import run_snn

    graph = snn.top_graph(module)
    names: dict[str, tuple[str, bool]] = {}
    for op in snn.flat_ops(graph):
        if isinstance(op, snn.NeuronOp):
            parent = op.parent_op()
            layer = snn.node_name(parent) if isinstance(parent, snn.LayerOp) else snn.node_name(op)
            names[snn.node_name(op)] = (layer, op.spiking)
    out = run_snn(module, inputs, record=list(names), with_outputs=False)
    rates: dict[str, np.ndarray] = {}
    for key, (layer, spiking) in names.items():
        a = np.asarray(out[key], dtype=np.float64)
        # spike counts; a neuron without spikes sends its value whenever it is nonzero
        rates[layer] = (np.abs(a) if spiking else (a != 0)).mean(axis=(0, 1))
    for op in graph.input_ops():
        a = np.asarray(inputs[snn.node_name(op)], dtype=np.float64)
        rates[snn.node_name(op)] = np.abs(a).mean(axis=(0, 1))
    return rates


# --------------------------------------------------------------------------------------
# IR
# --------------------------------------------------------------------------------------


def attach(module: ModuleOp, placement: Placement) -> None:
    """Record ``placement`` as the module's ``placement.map`` op (replacing an
    earlier one), right after the ``snn.graph``."""
    from xdsl.dialects.builtin import (
        FloatAttr,
        IntegerAttr,
        StringAttr,
        UnitAttr,
        f64,
        i64,
    )

    from nirc.dialects import placement as pl
    from nirc.dialects.nir import array_to_attr

    for op in list(module.ops):
        if isinstance(op, pl.MapOp):
            module.body.block.erase_op(op)
    ids = np.array(sorted(placement.cores), dtype=np.int32)
    loads = np.array(
        [placement.cores[int(c)].as_tuple() for c in ids], dtype=np.int64
    ).reshape(len(ids), 6)
    memory = np.array([placement.memory.get(int(c), 0.0) for c in ids], dtype=np.float64)
    props = {
        "target": StringAttr(placement.target),
        "cores_per_chip": IntegerAttr(placement.cores_per_chip, i64),
        "chips": IntegerAttr(placement.chips, i64),
        "neurons_per_core": IntegerAttr(placement.neurons_per_core, i64),
    }
    if np.isfinite(placement.memory_per_core):
        props["memory_per_core"] = FloatAttr(float(placement.memory_per_core), f64)
    props.update(
        {
            "method": StringAttr(placement.method),
            "traffic": FloatAttr(float(placement.traffic), f64),
            "baseline_traffic": FloatAttr(float(placement.baseline_traffic), f64),
            "core_ids": array_to_attr(ids),
            "core_loads": array_to_attr(loads),
            "core_memory": array_to_attr(memory),
        }
    )
    if placement.inputs_placed:
        props["inputs_placed"] = UnitAttr()
    pops = [
        pl.PopulationOp.create(
            properties={"name": StringAttr(name), "cores": array_to_attr(np.asarray(a, np.int32))}
        )
        for name, a in placement.layers.items()
    ]
    from xdsl.ir import Block, Region

    op = pl.MapOp.create(properties=props, regions=[Region(Block(pops))])
    graphs = [o for o in module.ops if o.name == "snn.graph"]
    if graphs:
        module.body.block.insert_op_after(op, graphs[0])
    else:
        module.body.block.add_op(op)


def read_placement(module: ModuleOp) -> Placement | None:
    """The module's ``placement.map`` as a :class:`Placement` (None when it has
    none)."""
    from nirc.dialects import placement as pl
    from nirc.dialects.nir import attr_to_array

    maps = [op for op in module.ops if isinstance(op, pl.MapOp)]
    if not maps:
        return None
    if len(maps) > 1:
        raise NircError("a module holds at most one placement.map", found=f"{len(maps)}")
    m = maps[0]
    ids = attr_to_array(m.core_ids).astype(np.int64)
    loads = attr_to_array(m.core_loads).astype(np.int64).reshape(len(ids), 6)
    memory = attr_to_array(m.core_memory).astype(np.float64)
    return Placement(
        target=m.target.data,
        cores_per_chip=int(m.cores_per_chip.value.data),
        layers={p.population.data: attr_to_array(p.cores).astype(np.int32) for p in m.populations()},
        cores={int(c): CoreLoad(*(int(v) for v in row)) for c, row in zip(ids, loads)},
        memory={int(c): float(v) for c, v in zip(ids, memory)},
        traffic=float(m.traffic.value.data),
        baseline_traffic=float(m.baseline_traffic.value.data),
        method=m.method.data,
        chips=int(m.chips.value.data),
        neurons_per_core=int(m.neurons_per_core.value.data),
        memory_per_core=(
            float(m.memory_per_core.value.data) if m.memory_per_core is not None else np.inf
        ),
        inputs_placed=m.inputs_placed is not None,
    )


# --------------------------------------------------------------------------------------
# the pass
# --------------------------------------------------------------------------------------


def target_capacity(name: str) -> CapacityModel:
    """``get_target(name).spec.capacity``; a NircError for targets that place
    whole layers (no capacity model)."""
    from nirc.targets import TARGETS, get_target

    target = get_target(name)
    capacity = getattr(getattr(target, "spec", None), "capacity", None)
    if not isinstance(capacity, CapacityModel):
        many = []
        for other in sorted(TARGETS):
            try:
                spec = getattr(get_target(other), "spec", None)
            except Exception:  # a target being built may not import yet
                continue
            if isinstance(getattr(spec, "capacity", None), CapacityModel):
                many.append(other)
        raise NircError(
            f"target `{name}` has no capacity model: it places whole layers on its cores",
            where="partition{target=...}",
            expected="a many-core target" + (f" ({', '.join(many)})" if many else ""),
            found=name,
            hint=f"`nirc compile --target {name}` maps layers to cores itself; partition is "
            "for targets that split populations over cores",
        )
    return capacity


@dataclass(frozen=True)
class PartitionPass(ModulePass):
    """Place a fused `snn` module onto a target's cores (see the module docstring).

    Options: ``target`` (its spec's capacity model), or a machine given by
    ``core_neurons``, ``cores_per_chip`` (and ``chips``, ``core_memory``) for a
    capacity that only counts neurons; ``capacity`` a JSON file of
    :class:`CapacityModel` fields applied on top; ``chips``, ``core_neurons``,
    ``core_memory`` override single numbers; ``method`` ``auto`` or ``index``;
    ``seed`` the partitioner's; ``activity`` an .npz of spike rates by
    population name, or ``calibrate`` an .npz of inputs ``[T, B, *shape]`` to
    measure them on with the reference interpreter; ``report`` prints the
    per-core table on stderr.
    """

    name = "partition"

    target: str = ""
    method: str = "auto"
    seed: int = 0
    chips: int | None = None
    core_neurons: int | None = None
    core_memory: int | None = None
    cores_per_chip: int | None = None
    capacity: str | None = None
    activity: str | None = None
    calibrate: str | None = None
    report: bool = True

    def capacity_model(self) -> CapacityModel:
        for label in ("chips", "core_neurons", "core_memory", "cores_per_chip"):
            v = getattr(self, label)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise NircError(f"partition option `{label}` must be an integer >= 1",
                                found=repr(v))  # fmt: skip
        if self.target:
            base = target_capacity(self.target)
            if self.cores_per_chip is not None:
                base = base.with_overrides(cores_per_chip=self.cores_per_chip)
        else:
            if self.core_neurons is None or self.cores_per_chip is None:
                raise NircError(
                    "partition needs a machine",
                    where="partition",
                    expected="target=NAME, or core_neurons=N and cores_per_chip=N",
                    found="neither",
                    hint="e.g. -p 'partition{target=loihi2}'",
                )
            base = CapacityModel(
                target="generic",
                neurons_per_core=self.core_neurons,
                memory_per_core=self.core_memory if self.core_memory is not None else math.inf,
                cores_per_chip=self.cores_per_chip,
                chips=self.chips or 1,
            )
        return capacity_from_options(
            base,
            {
                "capacity_file": self.capacity,
                "capacity": {
                    "neurons_per_core": self.core_neurons,
                    "memory_per_core": self.core_memory,
                    "chips": self.chips,
                },
            },
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        capacity = self.capacity_model()
        activity = None
        if self.activity and self.calibrate:
            raise NircError("give `activity` or `calibrate`, not both", where="partition")
        if self.activity:
            activity = _load_npz(self.activity)
        elif self.calibrate:
            from nirc.interpreter.snn import calibration_inputs

            inputs = calibration_inputs(op, self.calibrate, steps=1, rate=0.0, batch=1, seed=0)
            activity = measure_activity(op, inputs)
        placement = place(op, capacity, activity=activity, method=self.method, seed=self.seed)
        attach(op, placement)
        if self.report:
            for line in placement.report_lines():
                print(line, file=sys.stderr)


def _load_npz(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as data:
            return {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as e:
        raise NircError("cannot read the activity file", where=path, found=str(e)) from None


__all__ = [
    "CapacityModel",
    "CoreLoad",
    "capacity_from_options",
    "PartitionPass",
    "Placement",
    "attach",
    "index_order",
    "measure_activity",
    "place",
    "read_placement",
    "target_capacity",
]
