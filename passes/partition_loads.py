"""Exact per-core loads, spike traffic and fan-out of a placement.

Given where every neuron is (a core id per neuron of each placed population),
:func:`evaluate` computes, from the connectivity of
:mod:`nirc.passes.partition_network`:

- each core's :class:`~nirc.passes.partition.CoreLoad`: neurons, stored
  synapses, shared kernel weights (per output channel present on the core),
  distinct input axons (presynaptic neurons whose spikes reach the core),
  distinct source slices ((population, core) pairs sending to the core, the
  core itself included; an input that is not placed is one source), recorded
  neurons (those whose values reach an ``snn.output``);
- the traffic (see :mod:`nirc.passes.partition`) and each neuron's fan-out
  (distinct destination cores).

Everything is computed on reach pairs with channel ranges, split at the
*elementary intervals* of the source population (the channel ranges cut at
every range boundary its paths produce), so that every neuron lies in exactly
one interval and per-neuron figures come from sorted-key look-ups rather than
one row per synapse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nirc.passes.partition_network import (
    Network,
    Pairs,
    expand_ranges,
    reach,
    unique,
    unique_rows,
)

if TYPE_CHECKING:
    from nirc.passes.partition import CapacityModel

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def set_hash(ids: np.ndarray, size: int, salt: int) -> np.ndarray:
    """A 64-bit random code per id in ``[0, size)`` (fixed seed: deterministic);
    summed over a set it identifies the set (Zobrist hashing)."""
    rng = np.random.default_rng(0x5EED + salt)
    table = rng.integers(0, 2**63, size=max(size, 1), dtype=np.int64).astype(np.uint64)
    return table[ids]


def group_sum_u64(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Wrapping uint64 sums of ``values`` per group id in ``[0, n)``; ``groups``
    must be non-decreasing (segment sums, not ``np.add.at``: 20x faster)."""
    out = np.zeros(n, np.uint64)
    if len(groups) == 0:
        return out
    starts = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    out[groups[starts]] = np.add.reduceat(values, starts)
    return out


@dataclass
class Reach:
    """What one source population's neurons reach: distinct rows
    ``(interval, pos, bin)`` sorted in that order, with the elementary
    interval bounds of its channel axis."""

    bounds: np.ndarray  # [E + 1]
    e: np.ndarray
    pos: np.ndarray
    bin: np.ndarray
    positions: int

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.bounds)

    def interval_of(self, channel: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.bounds, channel, side="right") - 1

    @staticmethod
    def of(pairs: list[Pairs], channels: int, positions: int, bins: int) -> Reach:
        lo = np.concatenate([p.lo for p in pairs]) if pairs else np.zeros(0, np.int64)
        hi = np.concatenate([p.hi for p in pairs]) if pairs else np.zeros(0, np.int64)
        pos = np.concatenate([p.pos for p in pairs]) if pairs else np.zeros(0, np.int64)
        b = np.concatenate([p.bin for p in pairs]) if pairs else np.zeros(0, np.int64)
        bounds = unique(np.concatenate([lo, hi, [0, channels]]).astype(np.int64))
        e0 = np.searchsorted(bounds, lo)
        e1 = np.searchsorted(bounds, hi)
        rows, e = expand_ranges(e0, e1)
        e, pos, b = unique_rows([e, pos[rows], b[rows]], [len(bounds), positions, bins])
        return Reach(bounds, e, pos, b, positions)


@dataclass
class SourceTerms:
    """Per bin: distinct axons and source slices from one source; per source
    neuron: spike cost and fan-out."""

    axons: np.ndarray
    slices: np.ndarray
    cost: np.ndarray | None = None  # per source neuron (flat), hop-weighted copies
    fan_out: np.ndarray | None = None  # per source neuron (flat)


def source_terms(
    reach_: Reach,
    bins: int,
    channels: int,
    own: np.ndarray | None,
    *,
    bin_chip: np.ndarray | None = None,
    own_chip: np.ndarray | None = None,
    core_hop: float = 1.0,
    chip_hop: float = 1.0,
    per_neuron: bool = True,
) -> SourceTerms:
    """Loads and costs from one source's :class:`Reach`. ``own``: the source's
    bin per neuron (flat), None for a source that is not placed (one source
    slice; every bin it reaches counts as a copy at ``core_hop``)."""
    r = reach_
    positions = r.positions
    lengths = r.lengths
    axons = np.bincount(r.bin, weights=lengths[r.e], minlength=bins)
    n = channels * positions
    ep = r.e * positions + r.pos
    n_ep = (len(r.bounds) - 1) * positions
    if own is None:
        slices = np.bincount(unique(r.bin), minlength=bins).astype(np.float64)
    else:
        slices = _source_slices(r, ep, n_ep, own.reshape(channels, positions), bins)
    if not per_neuron:
        return SourceTerms(axons, slices)
    ch = np.repeat(np.arange(channels, dtype=np.int64), positions)
    ps = np.tile(np.arange(positions, dtype=np.int64), channels)
    key = r.interval_of(ch) * positions + ps
    m_per_ep = np.bincount(ep, minlength=n_ep)
    m = m_per_ep[key]
    if own is None:
        return SourceTerms(axons, slices, core_hop * m.astype(np.float64), m)
    own_flat = own.reshape(-1)
    # copies to bins on the source's own chip, and whether its own bin is among them
    chips = int(max(bin_chip.max(initial=0), own_chip.max(initial=0))) + 1
    k2 = ep * chips + bin_chip[r.bin]
    k2u, k2c = unique(k2, counts=True)
    q2 = key * chips + own_chip[own_flat]
    k3 = ep * bins + r.bin  # sorted already (rows are sorted by e, pos, bin)
    q3 = key * bins + own_flat
    same = np.zeros(n, np.int64)
    inside = np.zeros(n, np.int64)
    if len(k2u):
        i2 = np.minimum(np.searchsorted(k2u, q2), len(k2u) - 1)
        same = np.where(k2u[i2] == q2, k2c[i2], 0)
        i3 = np.minimum(np.searchsorted(k3, q3), len(k3) - 1)
        inside = (k3[i3] == q3).astype(np.int64)
    cost = core_hop * (same - inside) + chip_hop * (m - same)
    return SourceTerms(axons, slices, cost.astype(np.float64), m)


def _source_slices(r: Reach, ep: np.ndarray, n_ep: int, own2: np.ndarray, bins: int) -> np.ndarray:
    """Distinct (source bin, bin) pairs per bin, without one row per (source
    neuron, bin): the (interval, position) groups are merged first by their
    set of source bins (uniting what they reach), then by the set they reach
    (uniting their sources), and only then joined."""
    if len(ep) == 0:
        return np.zeros(bins)
    u_keys, u_of_row = unique(ep, inverse=True)
    n_u = len(u_keys)
    ue, upos = u_keys // r.positions, u_keys % r.positions
    rows, ch = expand_ranges(r.bounds[ue], r.bounds[ue + 1])
    owns = own2[ch, upos[rows]]
    n_own = int(owns.max(initial=0)) + 1
    u_o, o_o = unique_rows([rows, owns], [n_u, n_own])
    # stage 1: groups with the same source bins; what each group reaches
    h_own = group_sum_u64(u_o, set_hash(o_o, n_own, 1), n_u)
    _, g1_of_u, g1_rep = unique(h_own.view(np.int64), inverse=True, first=True)
    n_g1 = len(g1_rep)
    g1_b, b_b = unique_rows([g1_of_u[u_of_row], r.bin], [n_g1, bins])
    o_start = np.searchsorted(u_o, g1_rep)
    o_stop = np.searchsorted(u_o, g1_rep, side="right")
    # stage 2: stage-1 groups reaching the same set; their sources united
    h_bin = group_sum_u64(g1_b, set_hash(b_b, bins, 2), n_g1)
    _, g2_of_g1, g2_rep = unique(h_bin.view(np.int64), inverse=True, first=True)
    n_g2 = len(g2_rep)
    which, idx = expand_ranges(o_start, o_stop)
    g2_o, o2 = unique_rows([g2_of_g1[which], o_o[idx]], [n_g2, n_own])
    # join each stage-2 group's sources with what its representative reaches
    os_ = np.searchsorted(g2_o, np.arange(n_g2))
    oc = np.searchsorted(g2_o, np.arange(n_g2), side="right") - os_
    bs = np.searchsorted(g1_b, g2_rep)
    bc = np.searchsorted(g1_b, g2_rep, side="right") - bs
    g, i = expand_ranges(np.zeros(n_g2, np.int64), oc * bc)
    own_ids = o2[os_[g] + i // bc[g]]
    bin_ids = b_b[bs[g] + i % bc[g]]
    _, b_u = unique_rows([own_ids, bin_ids], [n_own, bins])
    return np.bincount(b_u, minlength=bins).astype(np.float64)


@dataclass
class Evaluation:
    """Exact figures of a placement (core ids are global)."""

    cores: np.ndarray  # the used core ids, sorted
    loads: list  # CoreLoad per used core
    memory: np.ndarray  # bytes per used core
    traffic: float
    fan_out: dict[int, np.ndarray] = field(default_factory=dict)  # per source population
    over: list[int] = field(default_factory=list)  # positions (in ``cores``) over capacity


def evaluate(
    net: Network,
    capacity: CapacityModel,
    placement: dict[int, np.ndarray],
    rates: dict[int, np.ndarray],
    *,
    traffic: bool = True,
) -> Evaluation:
    """Exact loads of every used core, and the traffic, of ``placement``
    (population index -> global core id per neuron)."""
    from nirc.passes.partition import CoreLoad

    placed = [placement[p.index] for p in net.placed]
    all_cores = unique(np.concatenate(placed).astype(np.int64)) if placed else np.zeros(0, np.int64)
    k = len(all_cores)
    local = {i: np.searchsorted(all_cores, a).astype(np.int64) for i, a in placement.items()}
    neurons = np.zeros(k)
    recorded = np.zeros(k)
    synapses = np.zeros(k)
    shared = np.zeros(k)
    axons = np.zeros(k)
    slices = np.zeros(k)
    for pop in net.placed:
        loc = local[pop.index]
        neurons += np.bincount(loc, minlength=k)
        if pop.recorded:
            recorded += np.bincount(loc, minlength=k)
        if not pop.is_input:
            synapses += np.bincount(loc, weights=net.synapses(pop.index), minlength=k)
    for s in net.storage:
        if s.kind == "conv":
            shared += _shared_weights(s, local[s.target], k)
    chip_of = all_cores // capacity.cores_per_chip
    total = 0.0
    fan_out: dict[int, np.ndarray] = {}
    for src in net.sources():
        pop = net.populations[src]
        pairs = [
            reach(net, path, local[path.target], k) for path in net.paths_from(src)
        ]
        r = Reach.of(pairs, pop.channels, pop.positions, k)
        own = local[src] if pop.placed else None
        terms = source_terms(
            r,
            k,
            pop.channels,
            own,
            bin_chip=chip_of,
            own_chip=chip_of,
            core_hop=capacity.core_hop_cost,
            chip_hop=capacity.chip_hop_cost,
            per_neuron=traffic,
        )
        axons += terms.axons
        slices += terms.slices
        if traffic:
            total += float(np.dot(rates[src].reshape(-1), terms.cost))
            fan_out[src] = terms.fan_out
    loads = [
        CoreLoad(
            neurons=int(neurons[i]),
            synapses=int(synapses[i]),
            shared_weights=int(shared[i]),
            input_axons=int(axons[i]),
            source_slices=int(slices[i]),
            recorded=int(recorded[i]),
        )
        for i in range(k)
    ]
    memory = np.array([capacity.memory(ld) for ld in loads], dtype=np.float64)
    over = [i for i, ld in enumerate(loads) if not capacity.fits(ld)]
    return Evaluation(all_cores, loads, memory, total, fan_out, over)


def _shared_weights(s, loc: np.ndarray, k: int) -> np.ndarray:
    key = loc[s.conv_neuron] * s.conv_channels + s.conv_channel
    u = unique(key)
    return np.bincount(u // s.conv_channels, minlength=k).astype(np.float64) * s.weights_per_channel


def population_loads(
    net: Network,
    capacity: CapacityModel,
    target: int,
    slices_of_target: np.ndarray,
    placement: dict[int, np.ndarray],
) -> list:
    """Exact loads of the cores holding population ``target`` alone, its neuron
    ``i`` on core ``slices_of_target[i]`` (0..n-1), the sources where
    ``placement`` has them (for the source slices)."""
    from nirc.passes.partition import CoreLoad

    pop = net.populations[target]
    loc = np.asarray(slices_of_target, np.int64)
    k = int(loc.max()) + 1 if len(loc) else 0
    neurons = np.bincount(loc, minlength=k).astype(np.float64)
    recorded = neurons if pop.recorded else np.zeros(k)
    synapses = (
        np.bincount(loc, weights=net.synapses(target), minlength=k)
        if not pop.is_input
        else np.zeros(k)
    )
    shared = np.zeros(k)
    for s in net.storage:
        if s.kind == "conv" and s.target == target:
            shared += _shared_weights(s, loc, k)
    axons = np.zeros(k)
    slices = np.zeros(k)
    by_source: dict[int, list] = {}
    for path in net.paths_into(target):
        by_source.setdefault(path.source, []).append(path)
    for src, paths in by_source.items():
        spop = net.populations[src]
        pairs = [reach(net, path, loc, k) for path in paths]
        r = Reach.of(pairs, spop.channels, spop.positions, k)
        if src == target:
            own = loc
        else:
            own = placement.get(src) if spop.placed else None
        terms = source_terms(r, k, spop.channels, own, per_neuron=False)
        axons += terms.axons
        slices += terms.slices
    return [
        CoreLoad(
            neurons=int(neurons[i]),
            synapses=int(synapses[i]),
            shared_weights=int(shared[i]),
            input_axons=int(axons[i]),
            source_slices=int(slices[i]),
            recorded=int(recorded[i]),
        )
        for i in range(k)
    ]


__all__ = ["Evaluation", "Reach", "evaluate", "population_loads", "source_terms"]
