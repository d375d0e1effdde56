"""What each core of a placed Loihi 2 network holds, as the capacity model counts it.

The counts follow :class:`nirc.passes.partition.CoreLoad` (per core:
neurons, dense synapses stored one by one, shared conv kernel weights,
distinct presynaptic neurons reaching the core, distinct (layer, core)
sources), computed from the layers' own weights and placements, so that the
dialect's verifier and the report check a placement without trusting
whoever made it. The memory is :meth:`~nirc.passes.partition.CapacityModel.memory`
of those counts (nirc's estimate for Loihi 2, see :mod:`.spec`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from nirc.passes.partition import CapacityModel, CoreLoad

INPUT_SOURCE = -1  # the host's input spikes: one source, on no core


@dataclass
class PlacedLayer:
    """What the load count needs of one layer."""

    name: str
    kind: str  # dense, dense_rec or conv
    in_shape: tuple[int, ...]
    shape: tuple[int, ...]
    weight: np.ndarray  # dense [out, in]; conv [out, in/g, kh, kw]
    cores: np.ndarray  # int32 global core id per neuron (flat C order)
    weight_rec: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1


def runs_to_cores(runs: np.ndarray, n: int) -> np.ndarray:
    """Per-neuron core ids from placement runs ``[start, count, core]``
    (assumed checked)."""
    out = np.empty(n, np.int32)
    for start, count, core in np.asarray(runs, np.int64).reshape(-1, 3):
        out[start : start + count] = core
    return out


def cores_to_runs(cores: np.ndarray) -> np.ndarray:
    """Placement runs ``[start, count, core]`` of per-neuron core ids: one
    run per maximal stretch of neurons on the same core."""
    c = np.asarray(cores, np.int64).reshape(-1)
    if c.size == 0:
        return np.zeros((0, 3), np.int64)
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    counts = np.diff(np.r_[starts, c.size])
    return np.stack([starts, counts, c[starts]], axis=1)


def _conv_reach(layer: PlacedLayer, on_core: np.ndarray) -> np.ndarray:
    """Which input neurons ([C, H, W] bool) reach at least one of the output
    neurons ``on_core`` ([Co, Ho, Wo] bool) through a nonzero kernel tap."""
    c, h, w = layer.in_shape
    co, ho, wo = layer.shape
    g = layer.groups
    cg, og = c // g, co // g
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    kh, kw = layer.weight.shape[2:]
    reach = np.zeros((c, h, w), bool)
    for gi in np.unique(np.flatnonzero(on_core.reshape(co, -1).any(1)) // og):
        outs = slice(gi * og, (gi + 1) * og)
        present = on_core[outs]
        spatial = present.any(0)
        wg = layer.weight[outs] != 0  # [og, cg, kh, kw]
        pad = np.zeros((cg, h + 2 * ph, w + 2 * pw), bool)
        for ky in range(kh):
            for kx in range(kw):
                taps = wg[:, :, ky, kx]  # which (out, in) pairs have this tap
                if not taps.any():
                    continue
                chans = taps[present.reshape(og, -1).any(1)].any(0)  # input channels reached
                if not chans.any():
                    continue
                y0, x0 = ky * dh, kx * dw
                view = pad[:, y0 : y0 + sh * (ho - 1) + 1 : sh, x0 : x0 + sw * (wo - 1) + 1 : sw]
                view[chans] |= spatial
        reach[gi * cg : (gi + 1) * cg] = pad[:, ph : ph + h, pw : pw + w]
    return reach


def core_loads(layers: list[PlacedLayer]) -> dict[int, CoreLoad]:
    """The load of every used core of a chain of layers (layer ``k`` reads
    layer ``k - 1``'s spikes; layer 0 reads the host's input)."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    prev_cores: np.ndarray | None = None
    for layer in layers:
        ids = np.asarray(layer.cores).reshape(-1)
        for core in np.unique(ids):
            mine = ids == core
            load = counts[int(core)]
            load["neurons"] += int(mine.sum())
            sources: set[int] = set()
            if layer.kind == "conv":
                on = mine.reshape(layer.shape)
                chans = np.flatnonzero(on.reshape(layer.shape[0], -1).any(1))
                per_channel = int(np.prod(layer.weight.shape[1:]))
                load["shared_weights"] += len(chans) * per_channel
                reach = _conv_reach(layer, on).reshape(-1)
            else:
                rows = np.asarray(layer.weight).reshape(layer.shape[0], -1)[mine] != 0
                load["synapses"] += int(rows.sum())
                reach = rows.any(0)
                if layer.weight_rec is not None:
                    rec = np.asarray(layer.weight_rec)[mine] != 0
                    load["synapses"] += int(rec.sum())
                    rec_reach = rec.any(0)
                    load["input_axons"] += int(rec_reach.sum())
                    sources.update(int(c) for c in np.unique(ids[rec_reach]))
            load["input_axons"] += int(reach.sum())
            if reach.any():
                if prev_cores is None:
                    sources.add(INPUT_SOURCE)
                else:
                    sources.update(int(c) for c in np.unique(prev_cores[reach]))
            load["source_slices"] += len(sources)
        prev_cores = ids
    return {core: CoreLoad(**dict(c)) for core, c in sorted(counts.items())}


def violations(loads: dict[int, CoreLoad], capacity: CapacityModel) -> list[str]:
    """What does not fit: one line per core over its neurons or memory, and
    cores beyond the machine."""
    out = []
    for core, load in loads.items():
        if core < 0 or core >= capacity.total_cores:
            out.append(f"core {core} does not exist ({capacity.chips} chip(s) x "
                       f"{capacity.cores_per_chip} cores)")  # fmt: skip
        if load.neurons > capacity.neurons_per_core:
            out.append(f"core {core}: {load.neurons} neurons > {capacity.neurons_per_core}")
        mem = capacity.memory(load)
        if mem > capacity.memory_per_core:
            out.append(f"core {core}: {mem:,.0f} bytes > {capacity.memory_per_core:,} bytes")
    return out


def needs_table(
    layers: list[PlacedLayer], loads: dict[int, CoreLoad], capacity: CapacityModel
) -> str:
    """A table of needs against capacity: per layer its neurons, cores and
    the largest core load; then the cores and chips against the machine."""
    rows = [("layer", "neurons", "cores", "max neurons/core", "max bytes/core")]
    for layer in layers:
        ids = np.asarray(layer.cores).reshape(-1)
        used = np.unique(ids)
        rows.append((
            layer.name,
            f"{ids.size:,}",
            f"{used.size}",
            f"{max(loads[int(c)].neurons for c in used):,} / {capacity.neurons_per_core:,}",
            f"{max(capacity.memory(loads[int(c)]) for c in used):,.0f} / {capacity.memory_per_core:,}",
        ))  # fmt: skip
    width = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  " + "  ".join(v.ljust(width[i]) for i, v in enumerate(r)) for r in rows]
    cores = len(loads)
    chips = len({c // capacity.cores_per_chip for c in loads})
    lines.append(f"  cores used {cores} / {capacity.total_cores} ({capacity.chips} chip(s) x "
                 f"{capacity.cores_per_chip}), chips used {chips} / {capacity.chips}")  # fmt: skip
    return "\n".join(lines)


__all__ = [
    "INPUT_SOURCE",
    "PlacedLayer",
    "core_loads",
    "cores_to_runs",
    "needs_table",
    "runs_to_cores",
    "violations",
]
