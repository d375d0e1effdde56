"""Slicing populations in a fixed order: the vendors' baseline and its kin.

The vendors' tools (lava-dl's netx compiler, py-spinnaker2's mapper) place each
population alone on consecutive cores, cutting its neurons in index order into
slices of at most ``neurons_per_core``. :func:`sliced` does that at the same
limits as the partitioner: for every population it finds the largest slice
size whose slices all fit a core, neurons *and* memory (exact loads, the
source slices counted against where the sources are), and repeats until no
population has to shrink because a source did. Given another neuron order
(the partitioner's blocks, spatially compact), the same search tells how many
neurons of a population one core takes when its share is compact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nirc.passes.partition_loads import population_loads
from nirc.passes.partition_network import Network

if TYPE_CHECKING:
    from nirc.passes.partition import CapacityModel, CoreLoad


def slice_ids(n: int, size: int, order: np.ndarray | None = None) -> np.ndarray:
    """Slice index per neuron (flat): neurons taken in ``order`` (default: index
    order), ``size`` at a time."""
    ids = np.arange(n, dtype=np.int64) // max(size, 1)
    if order is None:
        return ids
    out = np.empty(n, np.int64)
    out[order] = ids
    return out


@dataclass
class Unfit:
    """Why a population cannot be sliced: its smallest slice's load."""

    population: int
    load: CoreLoad
    memory: float
    reason: str


@dataclass
class Sliced:
    """Slice size per population and the resulting placement (global core ids
    from 0, populations in network order)."""

    sizes: dict[int, int]
    placement: dict[int, np.ndarray]
    cores: int
    unfit: list[Unfit] = field(default_factory=list)
    evaluations: int = 0


def _worst(capacity: CapacityModel, loads: list[CoreLoad]) -> tuple[bool, float, int]:
    """(all fit, largest use as a fraction of a limit, index of that core)."""
    worst, at = 0.0, 0
    ok = True
    for i, ld in enumerate(loads):
        if not capacity.fits(ld):
            ok = False
        use = max(
            ld.neurons / capacity.neurons_per_core,
            capacity.memory(ld) / max(capacity.memory_per_core, 1e-300),
        )
        if use > worst:
            worst, at = use, i
    return ok, worst, at


def largest_slice(
    net: Network,
    capacity: CapacityModel,
    target: int,
    placement: dict[int, np.ndarray],
    *,
    upper: int,
    order: np.ndarray | None = None,
    counter: list[int] | None = None,
    tolerance: float = 0.0,
) -> tuple[int, list[CoreLoad]]:
    """The largest slice size in ``1..upper`` whose slices of population
    ``target`` (taken in ``order``) all fit; 0 and the loads of size 1 when none
    does. The loads are those of the returned size. ``tolerance``: stop when
    the bracket is within that fraction of the size found (0: exact)."""
    n = net.populations[target].size

    def loads_at(s: int) -> list[CoreLoad]:
        if counter is not None:
            counter[0] += 1
        return population_loads(net, capacity, target, slice_ids(n, s, order), placement)

    upper = max(1, min(upper, n))
    loads = loads_at(upper)
    ok, use_hi, _ = _worst(capacity, loads)
    if ok:
        return upper, loads
    # search from above (small slices mean many cores: the costly evaluations):
    # regula falsi on the worst use, which is roughly affine in the slice size,
    # first through the origin; bisection when one side keeps moving
    lo, hi, use_lo = 0, upper, 0.0
    best: list[CoreLoad] | None = None
    last_side = ""
    repeats = 0
    while hi - lo > max(1, int(tolerance * lo)):
        guess = lo + (1.0 - use_lo) * (hi - lo) / max(use_hi - use_lo, 1e-12)
        if lo == 0:
            guess *= 0.98
        s = int(np.clip(np.floor(guess), lo + 1, hi - 1))
        if repeats >= 2:
            s = (lo + hi) // 2
        loads = loads_at(s)
        ok, use, _ = _worst(capacity, loads)
        side = "lo" if ok else "hi"
        repeats = repeats + 1 if side == last_side else 0
        last_side = side
        if ok:
            lo, use_lo, best = s, use, loads
        else:
            hi, use_hi = s, use
    if best is None:  # not even one neuron per core fits
        return 0, loads
    return lo, best


def sliced(
    net: Network,
    capacity: CapacityModel,
    orders: dict[int, np.ndarray] | None = None,
    *,
    max_rounds: int = 8,
    tolerance: float = 0.0,
) -> Sliced:
    """Every placed population sliced in its order (index order by default), each
    slice as large as fits (see the module docstring)."""
    orders = orders or {}
    pops = net.placed
    sizes = {p.index: max(1, min(capacity.neurons_per_core, p.size)) for p in pops}
    counter = [0]

    def provisional() -> dict[int, np.ndarray]:
        # distinct ids per population, for counting source slices
        out, base = {}, 0
        for p in pops:
            ids = slice_ids(p.size, sizes[p.index], orders.get(p.index))
            out[p.index] = ids + base
            base += int(ids.max()) + 1 if p.size else 0
        return out

    placement = provisional()
    unfit: dict[int, Unfit] = {}
    for _ in range(max_rounds):
        changed = False
        for p in pops:
            if p.index in unfit:
                continue
            s, loads = largest_slice(
                net,
                capacity,
                p.index,
                placement,
                upper=sizes[p.index],
                order=orders.get(p.index),
                counter=counter,
                tolerance=tolerance,
            )
            if s == 0:
                worst = max(loads, key=lambda ld: capacity.memory(ld))
                unfit[p.index] = Unfit(p.index, worst, capacity.memory(worst), "memory")
                continue
            if s != sizes[p.index]:
                sizes[p.index] = s
                changed = True
                placement = provisional()
        if not changed:
            break
    # global core ids: populations in order, slices on consecutive cores
    final, base = {}, 0
    for p in pops:
        ids = slice_ids(p.size, sizes[p.index], orders.get(p.index))
        final[p.index] = ids + base
        base += int(ids.max()) + 1 if p.size else 0
    return Sliced(sizes, final, base, list(unfit.values()), counter[0])


__all__ = ["Sliced", "Unfit", "largest_slice", "slice_ids", "sliced"]
