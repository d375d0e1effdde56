"""The partitioner: coarsened blocks, a spike hypergraph, Mt-KaHyPar, repair.

1. **Coarsening.** Each placed population is cut into *blocks* that always
   stay together: a ``[C, H, W]`` (or ``[C, L]``) population into channel-group
   x spatial-tile blocks (all channels together while that leaves tiles of at
   least four positions; tiles as square as the map allows, numbered along a
   Z-order curve so that consecutive tiles are neighbours); a conv block holds
   about 1/8 of what one core takes of its population (found by slicing the
   population in block order with the exact memory search of
   :mod:`nirc.passes.partition_slicing`). A flat population (a dense or
   recurrent layer, whose index order need not mean anything) stays one vertex
   per neuron: Mt-KaHyPar's own multilevel coarsening groups its neurons by
   connectivity. Beyond :data:`MAX_BLOCKS` vertices, blocks grow (flat
   populations into runs of consecutive neurons), so a million-neuron model is
   a hypergraph of tens of thousands of vertices. A population whose cores pay a large fixed cost
   whatever share of it they hold (more than :data:`FIXED_SHARE` of a core's
   memory: a dense layer's axons from every source neuron, a big kernel) is
   cut into blocks of one core's worth that take a whole core: sharing cores
   would pay that cost on every core it touched.
2. **Hypergraph.** A vertex per block, weighted by the fraction of a core it
   takes (its neurons over its population's neurons per compact core; a full
   core weighs ``neurons_per_core`` times an integer near
   :data:`CORE_WEIGHT` / ``neurons_per_core``, so that blocks of populations
   bound by the neuron count weigh exact integers and fill cores exactly). A hyperedge per group of source neurons
   whose spikes reach the same blocks (identified by a 64-bit Zobrist code of
   the set of target blocks, computed on reach pairs): its pins are the
   source's own block and the blocks its spikes reach, its weight the summed
   spike rate of the group. The connectivity (lambda - 1) of a hyperedge is
   then exactly the number of other cores the group's spikes are copied to,
   which is what Mt-KaHyPar's ``km1`` objective minimizes. When the model
   has more than :data:`PIN_BUDGET` pins (the partitioner's time grows with
   them), a hyperedge of more than :data:`EDGE_PINS` pins keeps its source's
   pin and a fixed pseudo-random sample of the others (the sample still says
   where the targets lie), and if that is not enough the largest hyperedges
   leave the model. Both only shape the model: every figure reported is
   exact.
3. **Two levels.** When the placement needs more than one chip, the blocks are
   first split among chips (each chip's share at most its cores' weight), then
   each chip's blocks among its cores; within a chip a hyperedge whose source
   sits on another chip is weighted by ``chip_hop_cost``, else by
   ``core_hop_cost``. With ``capacity.exclusive_cores`` (one population per
   core) each population's blocks are split among its own cores instead
   (the hyperedges restricted to them), and the cores then among chips by
   partitioning the hypergraph contracted onto cores. Mt-KaHyPar runs with
   its deterministic preset and the given seed: same input, same placement.
4. **Repair.** The exact loads of every core are computed; a core over its
   memory (the vertex weights are an estimate: a core's kernels and input
   axons do not add up block by block) hands its least attached blocks to the
   cores most attached to them that have room, or to a new core while the
   baseline's core count allows. A placement that still does not fit is
   dropped (the baseline stays).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nirc.passes.partition_loads import Reach, evaluate, group_sum_u64, set_hash
from nirc.passes.partition_network import (
    Network,
    expand_ranges,
    reach,
    unique,
    unique_rows,
    view,
)
from nirc.passes.partition_slicing import sliced

if TYPE_CHECKING:
    from nirc.passes.partition import CapacityModel

MAX_BLOCKS = 40_000
REFINE = 8  # blocks per compact core
CORE_WEIGHT = 1_000_000  # about the vertex weight of a full core (see core_weight)
PIN_BUDGET = 400_000  # pins of the hypergraph handed to Mt-KaHyPar
EDGE_PINS = 16  # pins a hyperedge keeps (its source's and a sample of the rest)
FIXED_SHARE = 0.25  # fixed per-core cost above which a population takes whole cores
SMALL = 3_000  # blocks: below, both the tight and the roomy core count are tried
ATTACH_TABLE_LIMIT = 1 << 24  # (edges x cores) table of a block's attachment, at most


# --------------------------------------------------------------------------------------
# coarsening
# --------------------------------------------------------------------------------------


def _zorder(ny: int, nx: int) -> np.ndarray:
    """Rank of each (y, x) tile (row-major flat) along a Z-order curve."""
    y, x = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    code = np.zeros(y.shape, np.int64)
    for bit in range(16):
        code |= ((x >> bit) & 1) << (2 * bit)
        code |= ((y >> bit) & 1) << (2 * bit + 1)
    rank = np.empty(ny * nx, np.int64)
    rank[np.argsort(code.reshape(-1), kind="stable")] = np.arange(ny * nx)
    return rank


def blocks_of(shape: tuple[int, ...], budget: int) -> np.ndarray:
    """Block id per neuron (flat order) of a population of ``shape``, blocks of
    at most ``budget`` neurons, ids in compact order (see the module docstring)."""
    c, p = view(shape)
    n = c * p
    budget = max(1, int(budget))
    if n <= budget:
        return np.zeros(n, np.int64)
    if len(shape) < 2 or p == 1:
        return np.arange(n, dtype=np.int64) // budget
    group = c if c <= max(1, budget // 4) else math.ceil(c / math.ceil(c / max(1, budget // 4)))
    n_groups = math.ceil(c / group)
    area = max(1, budget // group)
    spatial = shape[1:] if len(shape) == 3 else (p,)
    if len(spatial) == 2:
        h, w = spatial
        tw = th = max(1, math.isqrt(area))
        if tw > w:
            tw = w
            th = max(1, min(h, area // w))
        elif th > h:
            th = h
            tw = max(1, min(w, area // h))
        ny, nx = math.ceil(h / th), math.ceil(w / tw)
        ys, xs = np.divmod(np.arange(p, dtype=np.int64), w)
        tile = _zorder(ny, nx)[(ys // th) * nx + xs // tw]
    else:
        tl = min(p, area)
        tile = np.arange(p, dtype=np.int64) // tl
    ch = np.arange(c, dtype=np.int64) // group
    return (tile[None, :] * n_groups + ch[:, None]).reshape(-1)


def core_weight(capacity: CapacityModel, cores: int) -> int:
    """The vertex weight of a full core (module docstring, 2.): a multiple of
    ``neurons_per_core`` near :data:`CORE_WEIGHT`, small enough that ``cores``
    full cores stay within Mt-KaHyPar's 32-bit weights."""
    n = capacity.neurons_per_core
    unit = min(CORE_WEIGHT, (2**30) // max(cores, 1))
    return n * max(1, unit // n)


@dataclass
class Blocks:
    """Blocks of every placed population: ``of[pop]`` block id per neuron
    (global ids), ``pop`` population per block, ``neurons`` per block,
    ``weight`` per block (integer vertex weights, ``core`` that of a full core)."""

    of: dict[int, np.ndarray]
    pop: np.ndarray
    neurons: np.ndarray
    weight: np.ndarray
    core: int

    @property
    def count(self) -> int:
        return len(self.pop)


def make_blocks(
    net: Network,
    budgets: dict[int, int],
    per_core: dict[int, float],
    whole: set[int],
    full: int,
    runs: set[int] | frozenset[int] = frozenset(),
) -> Blocks:
    """Blocks of every placed population, a neuron of population ``p`` weighing
    1/``per_core[p]`` of a core; blocks of populations in ``whole`` weigh a
    full core; those of populations in ``runs`` are runs of consecutive
    neurons."""
    of, pops, neurons, weights = {}, [], [], []
    base = 0
    for p in net.placed:
        if p.index in runs:
            local = np.arange(p.size, dtype=np.int64) // max(1, budgets[p.index])
        else:
            local = blocks_of(p.shape, budgets[p.index])
        k = int(local.max()) + 1 if p.size else 0
        of[p.index] = local + base
        counts = np.bincount(local, minlength=k)
        pops.append(np.full(k, p.index, np.int64))
        neurons.append(counts)
        if p.index in whole:
            weights.append(np.full(k, full, np.int64))
        else:
            exact = counts * full / per_core[p.index]
            weights.append(np.ceil(exact - 1e-9 * full).astype(np.int64))
        base += k
    return Blocks(
        of,
        np.concatenate(pops),
        np.concatenate(neurons).astype(np.int64),
        np.maximum(np.concatenate(weights), 1),
        full,
    )


# --------------------------------------------------------------------------------------
# the spike hypergraph
# --------------------------------------------------------------------------------------


@dataclass
class Hypergraph:
    """Edges as CSR (``ptr``, ``pins``), each with a spike-rate weight and the
    block its source neurons sit in (-1: an input that is not placed)."""

    nodes: int
    ptr: np.ndarray
    pins: np.ndarray
    weight: np.ndarray  # float, summed spike rates
    source: np.ndarray

    @property
    def edges(self) -> int:
        return len(self.ptr) - 1


def build_hypergraph(net: Network, blocks: Blocks, rates: dict[int, np.ndarray]) -> Hypergraph:
    """See the module docstring (2.)."""
    nb = blocks.count
    all_ptr, all_pins, all_w, all_src = [], [], [], []
    edge_base = 0
    for src in net.sources():
        pop = net.populations[src]
        pairs = [reach(net, path, blocks.of[path.target], nb) for path in net.paths_from(src)]
        r = Reach.of(pairs, pop.channels, pop.positions, nb)
        if len(r.e) == 0:
            continue
        positions = pop.positions
        ep = r.e * positions + r.pos
        n_ep = (len(r.bounds) - 1) * positions
        code = group_sum_u64(ep, set_hash(r.bin, nb, 2), n_ep)
        has = np.bincount(ep, minlength=n_ep) > 0
        ch = np.repeat(np.arange(pop.channels, dtype=np.int64), positions)
        ps = np.tile(np.arange(positions, dtype=np.int64), pop.channels)
        key = r.interval_of(ch) * positions + ps
        own = blocks.of[src] if pop.placed else np.full(pop.size, -1, np.int64)
        # one edge per (own block, set of reached blocks)
        salt = set_hash(own + 1, nb + 1, 3)
        edge_key = (code[key] ^ salt).view(np.int64)
        live = has[key]
        rate = rates[src].reshape(-1)
        live &= rate > 0
        if not live.any():
            continue
        idx = np.flatnonzero(live)
        _, inverse, first = unique(edge_key[idx], inverse=True, first=True)
        weight = np.bincount(inverse, weights=rate[idx])
        rep = idx[first]
        rep_ep = key[rep]
        start = np.searchsorted(ep, rep_ep)
        stop = np.searchsorted(ep, rep_ep, side="right")
        e_rows, pin_rows = expand_ranges(start, stop)
        pins = r.bin[pin_rows]
        rep_own = own[rep]
        placed = rep_own >= 0
        e_all = np.concatenate([e_rows, np.flatnonzero(placed)])
        p_all = np.concatenate([pins, rep_own[placed]])
        e_all, p_all = unique_rows([e_all, p_all], [len(rep), nb])
        sizes = np.bincount(e_all, minlength=len(rep))
        keep = sizes >= 2
        if not keep.any():
            continue
        mask = keep[e_all]
        e_all, p_all = e_all[mask], p_all[mask]
        sizes = sizes[keep]
        ptr = np.zeros(len(sizes) + 1, np.int64)
        np.cumsum(sizes, out=ptr[1:])
        all_ptr.append(ptr[1:] + edge_base)
        all_pins.append(p_all)
        all_w.append(weight[keep])
        all_src.append(rep_own[keep])
        edge_base += int(ptr[-1])
    if not all_ptr:
        z = np.zeros(0, np.int64)
        return Hypergraph(nb, np.zeros(1, np.int64), z, np.zeros(0), z)
    ptr = np.concatenate([[0], *all_ptr]).astype(np.int64)
    hg = Hypergraph(
        nb, ptr, np.concatenate(all_pins), np.concatenate(all_w), np.concatenate(all_src)
    )
    if len(hg.pins) > PIN_BUDGET:
        edge = np.repeat(np.arange(hg.edges), np.diff(hg.ptr))
        edge, pins = _sample_pins(edge, hg.pins, hg.source, hg.edges, nb)
        ptr = np.zeros(hg.edges + 1, np.int64)
        np.cumsum(np.bincount(edge, minlength=hg.edges), out=ptr[1:])
        hg = Hypergraph(nb, ptr, pins, hg.weight, hg.source)
    return within_budget(hg, PIN_BUDGET)


def _sample_pins(
    edge: np.ndarray, pin: np.ndarray, own: np.ndarray, n_edges: int, nodes: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most :data:`EDGE_PINS` pins per edge (rows sorted by edge): the
    source's own pin and the pins of smallest pseudo-random rank."""
    sizes = np.bincount(edge, minlength=n_edges)
    if len(sizes) == 0 or sizes.max() <= EDGE_PINS:
        return edge, pin
    rank = set_hash(pin, nodes, 4) ^ set_hash(edge % 65_521, 65_521, 5)
    rank = (rank >> np.uint64(1)).astype(np.int64)
    rank[pin == own[edge]] = -1
    order = np.lexsort((rank, edge))
    first = np.searchsorted(edge[order], edge[order])
    keep = np.zeros(len(edge), bool)
    keep[order[np.arange(len(order)) - first < EDGE_PINS]] = True
    return edge[keep], pin[keep]


def within_budget(hg: Hypergraph, budget: int) -> Hypergraph:
    """``hg`` without its largest edges, as few as leave at most ``budget`` pins."""
    sizes = np.diff(hg.ptr)
    if sizes.sum() <= budget:
        return hg
    order = np.argsort(-sizes, kind="stable")
    remaining = sizes.sum() - np.cumsum(sizes[order])
    drop = order[: int(np.searchsorted(-remaining, -budget)) + 1]
    keep = np.ones(hg.edges, bool)
    keep[drop] = False
    edge_of_pin = np.repeat(np.arange(hg.edges), sizes)
    pins = hg.pins[keep[edge_of_pin]]
    ptr = np.zeros(int(keep.sum()) + 1, np.int64)
    np.cumsum(sizes[keep], out=ptr[1:])
    return Hypergraph(hg.nodes, ptr, pins, hg.weight[keep], hg.source[keep])


def integer_weights(w: np.ndarray, k: int) -> np.ndarray:
    """Positive integer edge weights proportional to ``w``, small enough that
    Mt-KaHyPar's 32-bit objective cannot overflow."""
    if len(w) == 0:
        return np.zeros(0, np.int64)
    limit = (2**31 - 1) / max(k, 2) / 4
    scale = min(1e6 / w.max(), limit / w.sum())
    return np.maximum(1, np.round(w * scale)).astype(np.int64)


def restrict(hg: Hypergraph, keep: np.ndarray, multiplier: np.ndarray) -> tuple[Hypergraph, np.ndarray]:
    """The sub-hypergraph on vertices ``keep`` (bool per vertex), edge weights
    times ``multiplier`` (per edge); also the kept vertices' old ids."""
    old = np.flatnonzero(keep)
    new_id = np.full(hg.nodes, -1, np.int64)
    new_id[old] = np.arange(len(old))
    edge_of_pin = np.repeat(np.arange(hg.edges), np.diff(hg.ptr))
    m = keep[hg.pins]
    e, p = edge_of_pin[m], new_id[hg.pins[m]]
    sizes = np.bincount(e, minlength=hg.edges)
    ok = sizes >= 2
    m2 = ok[e]
    e, p = e[m2], p[m2]
    sizes = sizes[ok]
    ptr = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=ptr[1:])
    sub = Hypergraph(len(old), ptr, p, (hg.weight * multiplier)[ok], hg.source[ok])
    return sub, old


# --------------------------------------------------------------------------------------
# Mt-KaHyPar
# --------------------------------------------------------------------------------------

_INITIALIZER = None


def mtkahypar_available() -> bool:
    try:
        import mtkahypar  # noqa: F401
    except ImportError:
        return False
    return True


def _initializer():
    global _INITIALIZER
    if _INITIALIZER is None:
        import mtkahypar

        threads = max(1, min(2, os.cpu_count() or 1))
        _INITIALIZER = mtkahypar.initialize(threads, False)
    return _INITIALIZER


def kway(
    hg: Hypergraph,
    node_weight: np.ndarray,
    max_weights: list[int],
    seed: int,
) -> np.ndarray:
    """Mt-KaHyPar's km1 partition of ``hg`` into ``len(max_weights)`` blocks of at
    most those weights (deterministic preset, seeded)."""
    import mtkahypar

    k = len(max_weights)
    if k <= 1 or hg.nodes == 0:
        return np.zeros(hg.nodes, np.int64)
    init = _initializer()
    ctx = init.context_from_preset(mtkahypar.PresetType.DETERMINISTIC)
    ctx.logging = False
    ctx.set_partitioning_parameters(k, 0.03, mtkahypar.Objective.KM1)
    ctx.set_individual_target_block_weights([int(w) for w in max_weights])
    # Mt-KaHyPar takes a C int: any seed >= 0 of the user's maps into it (2**31 was an
    # internal error), the same seed to the same partition
    mtkahypar.set_seed(int(seed) % 2**31)
    pins = hg.pins.tolist()
    ptr = hg.ptr.tolist()
    edges = [pins[ptr[i] : ptr[i + 1]] for i in range(hg.edges)]
    weights = integer_weights(hg.weight, k)
    if not edges:  # Mt-KaHyPar wants at least one edge: a harmless self-loop
        edges, weights = [[0]], np.ones(1, np.int64)
    try:
        graph = init.create_hypergraph(
            ctx, hg.nodes, len(edges), edges, node_weight.tolist(), weights.tolist()
        )
        return np.asarray(graph.partition(ctx).get_partition(), np.int64)
    except (mtkahypar.InvalidInputError, mtkahypar.InvalidParameterError) as e:
        raise PartitionerFailed(str(e)) from None


class PartitionerFailed(Exception):
    """Mt-KaHyPar refused the problem (e.g. block weights it cannot meet)."""


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def assign_cores(
    hg: Hypergraph,
    blocks: Blocks,
    capacity: CapacityModel,
    cores: int,
    seed: int,
) -> np.ndarray:
    """Global core id per block: chips first, then cores (module docstring, 3.)."""
    cpc = capacity.cores_per_chip
    n_chips = max(1, math.ceil(cores / cpc))
    if n_chips == 1 or cpc == 1:
        part = kway(hg, blocks.weight, [blocks.core] * cores, seed)
        return _compact_ids(part)  # one core per chip: the core id is the chip's
    per_chip = _split(cores, n_chips)
    chip = kway(
        Hypergraph(hg.nodes, hg.ptr, hg.pins, hg.weight * capacity.chip_hop_cost, hg.source),
        blocks.weight,
        [int(0.97 * k * blocks.core) for k in per_chip],
        seed,
    )
    core = np.zeros(hg.nodes, np.int64)
    src_chip = np.where(hg.source >= 0, chip[np.maximum(hg.source, 0)], -1)
    for c in range(n_chips):
        keep = chip == c
        if not keep.any():
            continue
        mult = np.where(src_chip == c, capacity.core_hop_cost, capacity.chip_hop_cost)
        sub, old = restrict(hg, keep, mult)
        part = kway(sub, blocks.weight[old], [blocks.core] * per_chip[c], seed + c + 1)
        core[old] = c * cpc + _compact_ids(part)
    return core


def assign_exclusive(
    hg: Hypergraph,
    blocks: Blocks,
    capacity: CapacityModel,
    cores_of: dict[int, int],
    seed: int,
) -> np.ndarray:
    """Global core id per block, every core holding one population
    (module docstring, 3.): ``cores_of[pop]`` cores for each population."""
    local = np.zeros(hg.nodes, np.int64)
    base = 0
    for pop, k in cores_of.items():
        keep = blocks.pop == pop
        sub, old = restrict(hg, keep, np.ones(hg.edges))
        part = _compact_ids(kway(sub, blocks.weight[old], [blocks.core] * k, seed + pop))
        local[old] = base + part
        base += int(part.max()) + 1 if len(part) else 0
    return _cores_onto_chips(hg, local, base, capacity, seed)


def _cores_onto_chips(
    hg: Hypergraph, local: np.ndarray, cores: int, capacity: CapacityModel, seed: int
) -> np.ndarray:
    """Global core ids for blocks on ``cores`` numbered cores: the cores split
    among chips by a partition of the hypergraph contracted onto them."""
    cpc = capacity.cores_per_chip
    n_chips = max(1, math.ceil(cores / cpc))
    if n_chips == 1 or cpc == 1:
        return local
    edge_of_pin = np.repeat(np.arange(hg.edges), np.diff(hg.ptr))
    e, c = unique_rows([edge_of_pin, local[hg.pins]], [hg.edges, cores])
    sizes = np.bincount(e, minlength=hg.edges)
    ok = sizes >= 2
    m = ok[e]
    ptr = np.zeros(int(ok.sum()) + 1, np.int64)
    np.cumsum(sizes[ok], out=ptr[1:])
    quotient = Hypergraph(cores, ptr, c[m], hg.weight[ok], hg.source[ok])
    chip = kway(quotient, np.ones(cores, np.int64), [cpc] * n_chips, seed)
    # a chip over its cores (an imbalanced partition) hands cores to chips with room
    counts = np.bincount(chip, minlength=n_chips)
    for core in range(cores):
        if counts[chip[core]] > cpc:
            room = int(np.argmin(counts))
            counts[chip[core]] -= 1
            chip[core] = room
            counts[room] += 1
    order = np.lexsort((np.arange(cores), chip))
    rank = np.empty(cores, np.int64)
    rank[order] = np.arange(cores) - np.searchsorted(chip[order], chip[order])
    return (chip * cpc + rank)[local]


def _compact_ids(part: np.ndarray) -> np.ndarray:
    """Block ids renumbered 0.. in increasing order, skipping empty ones."""
    _, inverse = unique(part, inverse=True)
    return inverse.astype(np.int64)


# --------------------------------------------------------------------------------------
# the whole scheme
# --------------------------------------------------------------------------------------


@dataclass
class Result:
    """The partitioner's placement (population index -> global core per neuron)
    and what the report says about it."""

    placement: dict[int, np.ndarray]
    blocks: int
    edges: int
    cores: int
    repaired: int


def to_placement(blocks: Blocks, block_core: np.ndarray) -> dict[int, np.ndarray]:
    return {p: block_core[ids] for p, ids in blocks.of.items()}


def hypergraph_placement(
    net: Network,
    capacity: CapacityModel,
    rates: dict[int, np.ndarray],
    *,
    max_cores: int,
    seed: int = 0,
    contiguous: set[int] | frozenset[int] = frozenset(),
) -> Result | None:
    """A placement by the scheme of the module docstring using at most
    ``max_cores`` cores, or None when none fits. Populations in ``contiguous``
    are cut in index order into slices of a core each."""
    limit = min(max_cores, capacity.total_cores)
    if not net.placed:
        return None
    blocks = coarsen(net, capacity, limit, contiguous)
    if blocks is None:
        return None
    hg = build_hypergraph(net, blocks, rates)
    best = None
    for cores in core_counts(net, blocks, capacity, limit):
        try:
            if capacity.exclusive_cores:
                block_core = assign_exclusive(hg, blocks, capacity, cores, seed)
            else:
                block_core = assign_cores(hg, blocks, capacity, cores, seed)
        except PartitionerFailed:
            continue
        block_core, moved = repair(net, capacity, hg, blocks, block_core, limit)
        if block_core is None:
            continue
        traffic = evaluate(net, capacity, to_placement(blocks, block_core), rates).traffic
        best = (traffic, block_core, moved)
        break  # the first count that fits: the tight one cuts least (measured: 2x the time for both)
    if best is None:
        return None
    _, block_core, moved = best
    used = len(unique(block_core))
    return Result(to_placement(blocks, block_core), blocks.count, hg.edges, used, moved)


def coarsen(
    net: Network,
    capacity: CapacityModel,
    limit: int,
    contiguous: set[int] | frozenset[int] = frozenset(),
) -> Blocks | None:
    """The blocks of every placed population (module docstring, 1.); None when a
    population does not fit a core even in compact slices. Populations in
    ``contiguous`` get index-order slices of a core each."""
    pops = net.placed
    first = {
        p.index: max(1, min(capacity.neurons_per_core, p.size) // REFINE) for p in pops
    }
    orders = {
        p.index: np.argsort(blocks_of(p.shape, first[p.index]), kind="stable")
        for p in pops
        if p.index not in contiguous
    }
    compact = sliced(net, capacity, orders, tolerance=0.02, max_rounds=3)
    if compact.unfit:
        return None
    per_core = compact.sizes
    whole: set[int] = set()
    capacity_of: dict[int, float] = {}  # neurons of the population a full core takes
    for p in pops:
        use, fixed = profile(net, capacity, p.index, per_core[p.index], orders.get(p.index),
                             compact.placement)  # fmt: skip
        capacity_of[p.index] = per_core[p.index] / max(use, 1e-9)
        if fixed > FIXED_SHARE or p.index in contiguous:
            whole.add(p.index)
    budgets = {}
    for p in pops:
        if p.index in whole:
            budgets[p.index] = per_core[p.index]
        elif p.positions == 1:  # flat: one vertex per neuron
            budgets[p.index] = 1
        else:
            budgets[p.index] = max(1, per_core[p.index] // REFINE)
    total = sum(math.ceil(p.size / budgets[p.index]) for p in pops)
    if total > MAX_BLOCKS:
        grow = total / MAX_BLOCKS
        budgets = {
            i: (b if i in whole else max(1, math.ceil(b * grow))) for i, b in budgets.items()
        }
    return make_blocks(net, budgets, capacity_of, whole, core_weight(capacity, limit),
                       runs=contiguous)  # fmt: skip


def core_counts(net: Network, blocks: Blocks, capacity: CapacityModel, limit: int) -> list:
    """The core counts to try in turn, until one fits (per population with
    exclusive cores): for small problems first the tight count (fewer cores
    cut less), then the blocks' weight with some room for the partitioner's
    balance; for large ones only the roomy count; none above ``limit``."""
    tries: list = []
    if capacity.exclusive_cores:
        weight = np.bincount(blocks.pop, weights=blocks.weight, minlength=len(net.populations))
        need = {p.index: max(1, math.ceil(weight[p.index] / blocks.core)) for p in net.placed}
        roomy = {i: max(k, math.ceil(k / 0.92)) for i, k in need.items()}
        if sum(need.values()) <= limit and need != roomy:
            tries.append(need)
        if sum(roomy.values()) <= limit:
            tries.append(roomy)
    else:
        need_all = math.ceil(int(blocks.weight.sum()) / blocks.core)
        roomy_all = min(limit, max(need_all, math.ceil(need_all / 0.92)))
        if need_all <= limit:
            tries = ([need_all] if need_all < roomy_all else []) + [roomy_all]
    return tries if blocks.count <= SMALL else tries[-1:]


def profile(
    net: Network,
    capacity: CapacityModel,
    target: int,
    size: int,
    order: np.ndarray | None,
    placement: dict[int, np.ndarray],
) -> tuple[float, float]:
    """How much of a core the compact slices of ``size`` neurons of population
    ``target`` use at most (the larger of the neuron and the memory fraction,
    the formula's fixed bytes aside), and the part of a core's memory the
    population costs whatever share of it the core holds (the intercept of the
    worst core's memory between slices of ``size`` / 4 and ``size`` neurons),
    as a fraction."""
    from nirc.passes.partition_loads import population_loads
    from nirc.passes.partition_slicing import slice_ids

    n = net.populations[target].size
    room = max(capacity.memory_per_core - capacity.fixed_bytes, 1e-300)

    def worst(s: int) -> tuple[float, float]:
        loads = population_loads(net, capacity, target, slice_ids(n, s, order), placement)
        memory = max(capacity.memory(ld) for ld in loads) - capacity.fixed_bytes
        neurons = max(ld.neurons for ld in loads)
        return memory, max(neurons / capacity.neurons_per_core, memory / room)

    m_big, use = worst(size)
    small = max(1, size // 4)
    if size <= 1 or small >= size:
        return use, 0.0
    m_small, _ = worst(small)
    slope = (m_big - m_small) / (size - small)
    return use, max(0.0, m_small - slope * small) / room


def repair(
    net: Network,
    capacity: CapacityModel,
    hg: Hypergraph,
    blocks: Blocks,
    block_core: np.ndarray,
    max_cores: int,
    rounds: int = 8,
) -> tuple[np.ndarray | None, int]:
    """Move blocks off cores over capacity (module docstring, 4.); the repaired
    core per block and the number of blocks moved, or (None, moved)."""
    block_core = block_core.copy()
    moved = 0
    edge_of_pin = np.repeat(np.arange(hg.edges), np.diff(hg.ptr))
    order = np.argsort(hg.pins, kind="stable")
    node_ptr = np.zeros(hg.nodes + 1, np.int64)
    np.cumsum(np.bincount(hg.pins, minlength=hg.nodes), out=node_ptr[1:])
    node_edges = edge_of_pin[order]
    rates = {p.index: np.zeros(p.size) for p in net.populations}  # loads only
    room = max(capacity.memory_per_core - capacity.fixed_bytes, 1e-300)
    limit = capacity.neurons_per_core
    for _ in range(rounds):
        ev = evaluate(net, capacity, to_placement(blocks, block_core), rates, traffic=False)
        if not ev.over:
            return block_core, moved
        # neurons exactly, memory as a fraction of the room (estimated after a move)
        neurons = {int(c): ld.neurons for c, ld in zip(ev.cores, ev.loads)}
        memory = {int(c): (m - capacity.fixed_bytes) / room for c, m in zip(ev.cores, ev.memory)}
        for i in ev.over:
            core = int(ev.cores[i])
            members = np.flatnonzero(block_core == core)
            attach = [_attachment(b, hg, node_ptr, node_edges, block_core).get(core, 0.0)
                      for b in members]  # fmt: skip
            for b in members[np.argsort(attach, kind="stable")]:
                if neurons[core] <= limit and memory[core] <= 1.0:
                    break
                n_b = int(blocks.neurons[b])
                share = memory[core] * n_b / max(neurons[core], 1)
                same = None
                if capacity.exclusive_cores:
                    same = set(block_core[blocks.pop == blocks.pop[b]].tolist())
                dest = _destination(b, n_b, share, core, hg, node_ptr, node_edges, block_core,
                                    neurons, memory, capacity, max_cores, same)  # fmt: skip
                if dest is None:
                    continue
                block_core[b] = dest
                neurons[core] -= n_b
                memory[core] -= share
                neurons[dest] = neurons.get(dest, 0) + n_b
                memory[dest] = memory.get(dest, 0.0) + share
                moved += 1
    ev = evaluate(net, capacity, to_placement(blocks, block_core), rates, traffic=False)
    return (None if ev.over else block_core), moved


def _attachment(b, hg, node_ptr, node_edges, block_core) -> dict[int, float]:
    """Spike weight of block ``b``'s edges reaching each core."""
    edges = node_edges[node_ptr[b] : node_ptr[b + 1]]
    if len(edges) == 0:
        return {}
    which, pins = expand_ranges(hg.ptr[edges], hg.ptr[edges + 1])
    cores = block_core[hg.pins[pins]]
    n_cores = int(block_core.max()) + 1
    if len(edges) * n_cores <= ATTACH_TABLE_LIMIT:
        # (edge, core) pairs marked in a table and read in order: the sorted
        # distinct pairs without a sort (a block on 128 dense sources' edges
        # of 2,048 pins each: 8 ms a call sorted, most of a repair)
        seen = np.zeros((len(edges), n_cores), bool)
        seen[which, cores] = True
        e, c = np.nonzero(seen)
    else:
        e, c = unique_rows([which, cores], [len(edges), n_cores])
    totals = np.bincount(c, weights=hg.weight[edges[e]])
    hit = np.flatnonzero(totals)
    return dict(zip(hit.tolist(), totals[hit].tolist()))


def _destination(b, n_b, share, core, hg, node_ptr, node_edges, block_core, neurons, memory,
                 capacity, max_cores, allowed=None):  # fmt: skip
    """The core with the most spike weight shared with block ``b`` that has room
    for its ``n_b`` neurons and (estimated) ``share`` of a core's memory (same
    chip first; among ``allowed`` when given), else a new core while allowed."""
    attach = _attachment(b, hg, node_ptr, node_edges, block_core)
    cpc = capacity.cores_per_chip
    chip = core // cpc
    best, best_key = None, None
    for c, n in neurons.items():
        if c == core or (allowed is not None and c not in allowed):
            continue
        if n + n_b > capacity.neurons_per_core or memory[c] + share > 1.0:
            continue
        key = (c // cpc == chip, attach.get(c, 0.0), -memory[c], -c)
        if best_key is None or key > best_key:
            best, best_key = c, key
    if best is not None:
        return best
    if len(neurons) >= max_cores:
        return None
    for c in list(range(chip * cpc, (chip + 1) * cpc)) + list(range(capacity.total_cores)):
        if c not in neurons:
            return c
    return None


__all__ = [
    "Blocks",
    "coarsen",
    "core_counts",
    "Hypergraph",
    "Result",
    "assign_cores",
    "blocks_of",
    "build_hypergraph",
    "hypergraph_placement",
    "kway",
    "mtkahypar_available",
]
