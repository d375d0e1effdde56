"""The connectivity of a fused `snn` module, as the `partition` pass sees it.

Populations
-----------
Every ``snn.neuron`` is a population (named by its fused layer, which carries
the neuron's name); with ``capacity.place_inputs`` every ``snn.input`` is one
too, otherwise inputs are *sources only*: they send spikes but occupy no core.
A population's neurons are numbered in the flat (C) order of the neuron's
shape (the neuron's own shape, even when its layer yields a pooled value).

Spaces and reach pairs
----------------------
Every value is viewed as *channels x positions*: a ``[C, H, W]`` or ``[C, L]``
value has ``C`` channels at ``H*W`` or ``L`` positions; a 1-D value ``[N]``
has ``N`` channels at one position. A *reach pair* ``(lo, hi, pos, bin)``
says "every element of channels ``lo..hi-1`` at position ``pos`` reaches
``bin``" (a bin is a core, or a block of the partitioner). Channel ranges keep
convolutions cheap: a 3x3 convolution over 64 input channels turns one output
pair into 9 input pairs, not 576.

:func:`reach` carries the pairs of a target population backwards along a
:class:`Path` (the chain of ops between a source population and the target
neuron, through fused layers, reshapes, delays, scales, sum-pools, dense and
convolution synapses and fan-in sums) down to the source population, each op by
its adjoint connectivity:

- ``snn.delay``, ``snn.scale``, ``snn.reshape``: the same elements (a reshape
  that regroups channels expands ranges into single elements);
- ``snn.sum_pool2d``: every input position of the window (zero padding reaches
  nothing);
- ``snn.conv1d``/``snn.conv2d``: for each kernel offset, the input position it
  reads, over the input channels of the output channel's group; an offset
  counts when any weight of the group at that offset is nonzero;
- ``snn.dense``: the nonzero weights of the output's row (weights are read as
  a compressed sparse row table built in row chunks from a zero-copy view of the
  attribute: a dense 10,000 x 10,000 weight with 1 % nonzero costs 4 MB of
  column indices, never a second dense copy).

Storage (what a core holds for the synapses onto its neurons) comes from the
weight op nearest to the target on each path: a dense op stores its nonzero
weights one by one (``CoreLoad.synapses``), a convolution stores its kernel
once per core per output channel (``CoreLoad.shared_weights``), a path
without weights (a delay line, a pool straight into a neuron) stores one
synapse per connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import NamedTuple

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from nirc.diagnostics import NircError

# the largest (lead, bin) groups x inputs table a dense layer's backward step marks
GROUP_TABLE_LIMIT = 1 << 24

# --------------------------------------------------------------------------------------
# channels x positions
# --------------------------------------------------------------------------------------


def view(shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, positions) of a value of ``shape``."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), 1
    return int(shape[0]), int(np.prod(shape[1:], dtype=np.int64))


class Pairs(NamedTuple):
    """Reach pairs (see the module docstring): int64 arrays of equal length."""

    lo: np.ndarray
    hi: np.ndarray
    pos: np.ndarray
    bin: np.ndarray

    def __len__(self) -> int:  # type: ignore[override]
        return int(self.lo.shape[0])


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def unique(a: np.ndarray, *, inverse: bool = False, first: bool = False, counts: bool = False):
    """Sorted distinct values of a 1-D integer array (sort-based: numpy 2.4's
    ``np.unique`` hashes and is ~30x slower on these arrays); optionally the
    index of each element's value (``inverse``), the first index of each value
    (``first``) and how often each occurs (``counts``), in that order."""
    a = np.asarray(a)
    if not (inverse or first):
        s = np.sort(a)
        order = None
    else:
        order = np.argsort(a, kind="stable")
        s = a[order]
    flags = np.ones(len(s), bool)
    if len(s):
        np.not_equal(s[1:], s[:-1], out=flags[1:])
    values = s[flags]
    if not (inverse or first or counts):
        return values
    out = [values]
    if inverse:
        inv = np.empty(len(a), np.int64)
        inv[order] = np.cumsum(flags) - 1
        out.append(inv)
    if first:
        out.append(order[flags])
    if counts:
        starts = np.flatnonzero(flags)
        out.append(np.diff(np.append(starts, len(s))))
    return tuple(out)


def unique_rows(cols: list[np.ndarray], sizes: list[int]) -> list[np.ndarray]:
    """The distinct rows of integer columns (column ``i`` in ``[0, sizes[i])``),
    sorted lexicographically."""
    n = len(cols[0])
    if n == 0:
        return [np.zeros(0, np.int64) for _ in cols]
    total = 1
    for s in sizes:
        total *= max(int(s), 1)
    if total < 2**62:
        key = np.zeros(n, np.int64)
        for c, s in zip(cols, sizes):
            key *= max(int(s), 1)
            key += c
        u = unique(key)
        out = []
        for s in reversed(sizes):
            s = max(int(s), 1)
            out.append(u % s)
            u = u // s
        return out[::-1]
    order = np.lexsort(cols[::-1])
    cs = [c[order] for c in cols]
    keep = np.ones(n, bool)
    keep[1:] = np.zeros(n - 1, bool)
    for c in cs:
        keep[1:] |= c[1:] != c[:-1]
    return [c[keep] for c in cs]


def unique_pairs(p: Pairs, channels: int, positions: int, bins: int) -> Pairs:
    lo, hi, pos, b = unique_rows(
        [p.lo, p.hi, p.pos, p.bin], [channels + 1, channels + 1, positions, bins]
    )
    return Pairs(lo, hi, pos, b)


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, value) for every value in ``lo[row]..hi[row]-1``."""
    counts = hi - lo
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(lo), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    values = np.arange(total, dtype=np.int64) - np.repeat(starts, counts) + lo[rows]
    return rows, values


def pairs_of_bins(shape: tuple[int, ...], bins: np.ndarray) -> Pairs:
    """The pairs of a population whose neuron ``i`` (flat order) is in ``bins[i]``:
    runs of consecutive channels in the same bin at a position become one range."""
    c, p = view(shape)
    grid = _i64(bins).reshape(c, p)
    if c == 1:
        pos = np.arange(p, dtype=np.int64)
        return Pairs(np.zeros(p, np.int64), np.ones(p, np.int64), pos, grid[0].copy())
    starts = np.ones((c, p), bool)
    starts[1:] = grid[1:] != grid[:-1]
    ch, pos = np.nonzero(starts)  # channel-major order: sort by position next
    order = np.lexsort((ch, pos))
    ch, pos = ch[order].astype(np.int64), pos[order].astype(np.int64)
    # a run ends where the next run at the same position starts, or at c
    nxt = np.empty_like(ch)
    nxt[:-1] = ch[1:]
    same = np.zeros(len(ch), bool)
    same[:-1] = pos[1:] == pos[:-1]
    hi = np.where(same, nxt, c)
    return Pairs(ch, hi, pos, grid[ch, pos])


# --------------------------------------------------------------------------------------
# adjoint connectivity of one op
# --------------------------------------------------------------------------------------


def _explicit(p: Pairs, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(flat element, bin) for every element the pairs cover."""
    _, positions = view(shape)
    rows, ch = expand_ranges(p.lo, p.hi)
    return ch * positions + p.pos[rows], p.bin[rows]


def _from_flat(flat: np.ndarray, b: np.ndarray, shape: tuple[int, ...]) -> Pairs:
    _, positions = view(shape)
    ch = flat // positions
    return Pairs(ch, ch + 1, flat % positions, b)


def _shape_of(value: SSAValue, op: Operation) -> tuple[int, ...]:
    from nirc.dialects.nir import shape_of

    s = shape_of(value.type)
    if s is None:
        raise NircError(
            "partition needs ranked value types",
            where=_name(op),
            found=str(value.type),
            hint="run `nir-infer-shapes` before `discretize`",
        )
    return tuple(int(d) for d in s)


def _name(op: Operation) -> str:
    from nirc.dialects.snn import node_name

    return node_name(op) or op.name


@dataclass
class DenseRows:
    """A dense weight ``[out, *in_axes]`` as a compressed sparse row table of its
    nonzero entries (``indptr`` int64 [out + 1], ``indices`` int32)."""

    out: int
    width: int
    indptr: np.ndarray
    indices: np.ndarray

    @property
    def full(self) -> bool:
        """Every row holds every column (no zero weights)."""
        return int(self.indptr[-1]) == self.out * self.width

    @staticmethod
    def of(weight: np.ndarray, chunk_elements: int = 1 << 22) -> DenseRows:
        out = int(weight.shape[0])
        width = int(np.prod(weight.shape[1:], dtype=np.int64))
        w2 = weight.reshape(out, width)
        counts = np.zeros(out, np.int64)
        parts = []
        step = max(1, chunk_elements // max(width, 1))
        for r0 in range(0, out, step):
            rows, cols = np.nonzero(w2[r0 : r0 + step])
            counts[r0 : r0 + step] = np.bincount(rows, minlength=min(step, out - r0))
            parts.append(cols.astype(np.int32))
        indptr = np.zeros(out + 1, np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        return DenseRows(out, width, indptr, indices)

    def row_counts(self) -> np.ndarray:
        return np.diff(self.indptr)


@dataclass
class ConvInfo:
    """Geometry of a convolution: groups, kernel, which offsets are used."""

    nd: int
    cin: int
    cout: int
    groups: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pad_before: tuple[int, ...]
    dilation: tuple[int, ...]
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    taps: list[tuple[int, ...]]
    tap_used: np.ndarray  # [groups, taps] bool

    @property
    def weights_per_channel(self) -> int:
        return (self.cin // self.groups) * int(np.prod(self.kernel))

    def valid_taps(self) -> np.ndarray:
        """Per output position (flat), how many kernel offsets read inside the
        input (padding reads nothing)."""
        counts = None
        for ax in range(self.nd):
            o = np.arange(self.out_spatial[ax])[:, None]
            k = np.arange(self.kernel[ax])[None, :]
            i = o * self.stride[ax] - self.pad_before[ax] + k * self.dilation[ax]
            valid = ((i >= 0) & (i < self.in_spatial[ax])).sum(axis=1)
            counts = valid if counts is None else np.multiply.outer(counts, valid)
        return np.asarray(counts, np.int64).reshape(-1)


@dataclass
class PoolInfo:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    in_spatial: tuple[int, int]
    out_spatial: tuple[int, int]


class Adjoints:
    """Cached per-op connectivity tables and the backward step of every op kind."""

    def __init__(self) -> None:
        self._dense: dict[int, DenseRows] = {}
        self._conv: dict[int, ConvInfo] = {}
        self._pool: dict[int, PoolInfo] = {}

    def dense(self, op: Operation) -> DenseRows:
        from nirc.dialects.snn import param

        key = id(op)
        if key not in self._dense:
            self._dense[key] = DenseRows.of(param(op, "weight"))
        return self._dense[key]

    def conv(self, op: Operation, in_shape, out_shape) -> ConvInfo:
        from nirc.dialects.snn import param

        key = id(op)
        if key not in self._conv:
            stride, pads, dil, groups = op.conv_params()  # type: ignore[attr-defined]
            w = param(op, "weight")
            nd = w.ndim - 2
            cout, cin_g = int(w.shape[0]), int(w.shape[1])
            kernel = tuple(int(k) for k in w.shape[2:])
            taps = list(product(*(range(k) for k in kernel)))
            cout_g = cout // groups
            nz = (w != 0).reshape(groups, cout_g, cin_g, len(taps)).any(axis=(1, 2))
            self._conv[key] = ConvInfo(
                nd=nd,
                cin=cin_g * groups,
                cout=cout,
                groups=groups,
                kernel=kernel,
                stride=tuple(int(s) for s in stride),
                pad_before=tuple(int(p[0]) for p in pads),
                dilation=tuple(int(d) for d in dil),
                in_spatial=tuple(in_shape[1:]),
                out_spatial=tuple(out_shape[1:]),
                taps=taps,
                tap_used=nz,
            )
        return self._conv[key]

    def pool(self, op: Operation, in_shape, out_shape) -> PoolInfo:
        key = id(op)
        if key not in self._pool:
            k, s, p = op.window()  # type: ignore[attr-defined]
            self._pool[key] = PoolInfo(k, s, p, tuple(in_shape[1:]), tuple(out_shape[1:]))
        return self._pool[key]

    # -- backward steps --------------------------------------------------------------

    def back(self, op: Operation, p: Pairs, in_shape, out_shape, bins: int) -> Pairs:
        """The pairs at ``op``'s input reaching what ``p`` reaches at its output."""
        from nirc.dialects import snn

        if len(p) == 0:
            return Pairs(*(np.zeros(0, np.int64) for _ in range(4)))
        if isinstance(op, snn.DelayOp | snn.ScaleOp) or (
            isinstance(op, snn.ReshapeOp) and view(in_shape) == view(out_shape)
        ):
            return p
        if isinstance(op, snn.ReshapeOp):
            flat, b = _explicit(p, out_shape)
            c, positions = view(in_shape)
            return unique_pairs(_from_flat(flat, b, in_shape), c, positions, bins)
        if isinstance(op, snn.SumPool2dOp):
            return self._back_pool(self.pool(op, in_shape, out_shape), p, in_shape, bins)
        if isinstance(op, snn.Conv1dOp | snn.Conv2dOp):
            return self._back_conv(self.conv(op, in_shape, out_shape), p, in_shape, bins)
        if isinstance(op, snn.DenseOp):
            return self._back_dense(self.dense(op), p, in_shape, out_shape, bins)
        raise NircError(
            f"partition cannot follow spikes through {op.name}",
            where=_name(op),
            expected="snn.dense, snn.conv1d/2d, snn.sum_pool2d, snn.reshape, snn.delay, "
            "snn.scale between populations",
            found=op.name,
        )

    @staticmethod
    def _back_pool(info: PoolInfo, p: Pairs, in_shape, bins: int) -> Pairs:
        (kh, kw), (sh, sw), (ph, pw) = info.kernel, info.stride, info.pad
        (h, w), (_, wo) = info.in_spatial, info.out_spatial
        oy, ox = p.pos // wo, p.pos % wo
        parts = []
        for ky in range(kh):
            iy = oy * sh - ph + ky
            for kx in range(kw):
                ix = ox * sw - pw + kx
                ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
                parts.append(Pairs(p.lo[ok], p.hi[ok], iy[ok] * w + ix[ok], p.bin[ok]))
        c, positions = view(in_shape)
        return unique_pairs(_concat(parts), c, positions, bins)

    @staticmethod
    def _back_conv(info: ConvInfo, p: Pairs, in_shape, bins: int) -> Pairs:
        cout_g = info.cout // info.groups
        cin_g = info.cin // info.groups
        # output channel range -> the groups it touches
        g_lo, g_hi = p.lo // cout_g, (p.hi - 1) // cout_g + 1
        rows, g = expand_ranges(g_lo, g_hi)
        n_out_pos = int(np.prod(info.out_spatial))
        g, opos, b = unique_rows(
            [g, p.pos[rows], p.bin[rows]], [info.groups, n_out_pos, bins]
        )
        coords = []
        rest = opos
        for ax in reversed(range(info.nd)):
            coords.append(rest % info.out_spatial[ax])
            rest = rest // info.out_spatial[ax]
        coords = coords[::-1]
        n_in_pos = int(np.prod(info.in_spatial))
        parts = []
        for t, tap in enumerate(info.taps):
            used = info.tap_used[:, t]
            ok = used[g] if not used.all() else np.ones(len(g), bool)
            ipos = np.zeros(len(g), np.int64)
            for ax in range(info.nd):
                i = coords[ax] * info.stride[ax] - info.pad_before[ax] + tap[ax] * info.dilation[ax]
                ok &= (i >= 0) & (i < info.in_spatial[ax])
                ipos = ipos * info.in_spatial[ax] + i
            parts.append((g[ok], ipos[ok], b[ok]))
        gg = np.concatenate([q[0] for q in parts])
        pp = np.concatenate([q[1] for q in parts])
        bb = np.concatenate([q[2] for q in parts])
        gg, pp, bb = unique_rows([gg, pp, bb], [info.groups, n_in_pos, bins])
        return Pairs(gg * cin_g, (gg + 1) * cin_g, pp, bb)

    @staticmethod
    def _back_dense(rows_: DenseRows, p: Pairs, in_shape, out_shape, bins: int) -> Pairs:
        flat, b = _explicit(p, out_shape)
        lead, o = flat // rows_.out, flat % rows_.out
        n_lead = int(np.prod(out_shape[:-1], dtype=np.int64)) if len(out_shape) > 1 else 1
        lead, o, b = unique_rows([lead, o, b], [n_lead, rows_.out, bins])
        total = int(np.prod(in_shape, dtype=np.int64)) if in_shape else 1
        # the outputs of one (lead, bin) group reach the union of their rows: a
        # table of groups x inputs, marked row by row (none for a full matrix),
        # instead of every (output, input) pair sorted (a dense 2,000 x 2,000
        # layer: 4 M pairs a call); read input-major lead by lead, it gives the
        # pairs in ascending order without a sort
        key, group = unique(lead * bins + b, inverse=True)
        if len(key) * rows_.width > GROUP_TABLE_LIMIT:
            r, idx = expand_ranges(rows_.indptr[o], rows_.indptr[o + 1])
            in_flat = lead[r] * rows_.width + rows_.indices[idx].astype(np.int64)
            in_flat, bb = unique_rows([in_flat, b[r]], [total, bins])
            return _from_flat(in_flat, bb, in_shape)
        table = None
        if not rows_.full:
            table = np.zeros((len(key), rows_.width), bool)
            r, idx = expand_ranges(rows_.indptr[o], rows_.indptr[o + 1])
            table[group[r], rows_.indices[idx]] = True
        key_lead, key_bin = key // bins, key % bins
        cut = np.flatnonzero(np.diff(key_lead)) + 1
        flats, bs = [], []
        for s0, e0 in zip(np.r_[0, cut], np.r_[cut, len(key)]):
            if table is None:
                k = np.repeat(np.arange(rows_.width, dtype=np.int64), e0 - s0)
                gi = np.tile(np.arange(s0, e0, dtype=np.int64), rows_.width)
            else:
                k, gi = np.nonzero(table[s0:e0].T)
                gi = gi + s0
            flats.append(int(key_lead[s0]) * rows_.width + k)
            bs.append(key_bin[gi])
        in_flat = np.concatenate(flats) if flats else np.zeros(0, np.int64)
        bb = np.concatenate(bs) if bs else np.zeros(0, np.int64)
        return _from_flat(in_flat, bb, in_shape)


def _concat(parts: list[Pairs]) -> Pairs:
    if not parts:
        return Pairs(*(np.zeros(0, np.int64) for _ in range(4)))
    return Pairs(*(np.concatenate([getattr(q, f) for q in parts]) for f in Pairs._fields))


# --------------------------------------------------------------------------------------
# populations and paths
# --------------------------------------------------------------------------------------


@dataclass
class Population:
    """A group of neurons placed together in the IR's terms (see the module
    docstring)."""

    index: int
    name: str
    shape: tuple[int, ...]
    op: Operation
    is_input: bool
    placed: bool
    recorded: bool = False

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def channels(self) -> int:
        return view(self.shape)[0]

    @property
    def positions(self) -> int:
        return view(self.shape)[1]


@dataclass
class Step:
    """One op of a path, with the shapes of its (summed) input and its output."""

    op: Operation
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


@dataclass
class Path:
    """A chain of ops carrying spikes from ``source`` to ``target`` (population
    indices); ``steps`` go from the target's side to the source's."""

    source: int
    target: int
    steps: list[Step]

    def weight_index(self) -> int | None:
        """Index in ``steps`` of the weight op nearest to the target."""
        from nirc.dialects import snn

        for i, s in enumerate(self.steps):
            if isinstance(s.op, snn.SYNAPSE_OPS):
                return i
        return None


@dataclass
class Storage:
    """What the synapses of one weight op (or one weightless path) onto a target
    population cost, per target neuron (flat order)."""

    target: int
    kind: str  # "dense", "conv" or "direct"
    synapses: np.ndarray  # per target neuron: stored synapses (dense, direct)
    fan_in: np.ndarray  # per target neuron: synapses onto it
    # conv: (target neuron, output channel) pairs and the weights one channel costs
    conv_neuron: np.ndarray | None = None
    conv_channel: np.ndarray | None = None
    conv_channels: int = 0
    weights_per_channel: int = 0
    op: Operation | None = None


@dataclass
class Network:
    """Populations, paths and storage of a fused `snn` module."""

    populations: list[Population]
    paths: list[Path]
    storage: list[Storage]
    adjoints: Adjoints = field(default_factory=Adjoints)

    def by_name(self) -> dict[str, Population]:
        return {p.name: p for p in self.populations}

    @property
    def placed(self) -> list[Population]:
        return [p for p in self.populations if p.placed]

    def paths_into(self, target: int) -> list[Path]:
        return [p for p in self.paths if p.target == target]

    def paths_from(self, source: int) -> list[Path]:
        return [p for p in self.paths if p.source == source]

    def sources(self) -> list[int]:
        return sorted({p.source for p in self.paths})

    def synapses(self, target: int) -> np.ndarray:
        pop = self.populations[target]
        total = np.zeros(pop.size, np.int64)
        for s in self.storage:
            if s.target == target:
                total += s.synapses
        return total

    def fan_in(self, target: int) -> np.ndarray:
        pop = self.populations[target]
        total = np.zeros(pop.size, np.int64)
        for s in self.storage:
            if s.target == target:
                total += s.fan_in
        return total


def reach(net: Network, path: Path, target_bins: np.ndarray, bins: int) -> Pairs:
    """The pairs, in the source population's space, of what the source's
    neurons reach along ``path`` when target neuron ``i`` is in ``target_bins[i]``."""
    target = net.populations[path.target]
    p = pairs_of_bins(target.shape, target_bins)
    for step in path.steps:
        p = net.adjoints.back(step.op, p, step.in_shape, step.out_shape, bins)
    return p


# --------------------------------------------------------------------------------------
# extraction
# --------------------------------------------------------------------------------------


def check_fused(module: ModuleOp) -> None:
    """A NircError when the module is not a fused `snn` module (a top-level
    neuron reads a synapse that only it reads: `fuse` would have grouped them)."""
    from nirc.dialects import snn

    graph = snn.top_graph(module)
    for op in graph.block.ops:
        if not isinstance(op, snn.NeuronOp):
            continue
        for v in op.operands:
            w = v.owner
            if (
                isinstance(w, snn.SYNAPSE_OPS)
                and w.parent is op.parent
                and all(u.operation is op for u in w.results[0].uses)
            ):
                raise NircError(
                    "partition needs a fused snn module",
                    where=_name(op),
                    expected="synapses grouped with their neuron in snn.layer ops",
                    found=f"`{_name(w)}` feeds only `{_name(op)}` outside a layer",
                    hint="run `fuse` first (e.g. -p 'fuse,partition{...}')",
                )


def extract_network(module: ModuleOp, place_inputs: bool) -> Network:
    """Populations, paths and storage of a fused `snn` module (see the module
    docstring)."""
    from nirc.dialects import snn

    check_fused(module)
    graph = snn.top_graph(module)
    pops: list[Population] = []
    index: dict[int, int] = {}
    for op in snn.flat_ops(graph):
        if isinstance(op, snn.InputOp):
            shape = tuple(op.declared_shape())
            pops.append(Population(len(pops), _name(op), shape, op, True, place_inputs))
        elif isinstance(op, snn.NeuronOp):
            parent = op.parent_op()
            name = _name(parent) if isinstance(parent, snn.LayerOp) else _name(op)
            shape = _shape_of(op.out, op)
            pops.append(Population(len(pops), name, shape, op, False, True))
        else:
            continue
        index[id(op)] = len(pops) - 1

    paths: list[Path] = []

    def walk(value: SSAValue, target: int, steps: list[Step], seen: set[int]) -> None:
        src = snn.producer(value)
        if src is None:
            return
        if id(src) in index:
            paths.append(Path(index[id(src)], target, list(steps)))
            return
        if id(src) in seen:
            raise NircError(
                "a cycle of synapses without a neuron cannot be placed",
                where=_name(src),
                found=" -> ".join(_name(s.op) for s in steps),
            )
        if not src.operands:
            return
        in_shape = _shape_of(src.operands[0], src)
        out_shape = _shape_of(src.results[0], src)
        step = Step(src, in_shape, out_shape)
        for v in src.operands:
            walk(v, target, steps + [step], seen | {id(src)})

    for pop in pops:
        if pop.is_input:
            continue
        for v in pop.op.operands:
            walk(v, pop.index, [], set())
    # recorded: populations whose values reach an snn.output
    outputs: list[Path] = []
    for out in graph.output_ops():
        before = len(paths)
        for v in out.operands:
            walk(v, -1, [], set())
        outputs.extend(paths[before:])
        del paths[before:]
    for p in outputs:
        pops[p.source].recorded = True
    net = Network(pops, paths, [])
    net.storage = _storage(net)
    return net


def _storage(net: Network) -> list[Storage]:
    """One :class:`Storage` per (target, nearest weight op and the ops between),
    one per weightless path."""
    from nirc.dialects import snn

    out: list[Storage] = []
    seen: set[tuple] = set()
    for path in net.paths:
        target = net.populations[path.target]
        n = target.size
        wi = path.weight_index()
        seg = path.steps if wi is None else path.steps[:wi]
        if wi is not None:
            key = (path.target, tuple(id(s.op) for s in path.steps[: wi + 1]))
            if key in seen:
                continue
            seen.add(key)
        # target neuron i -> elements of the weight op's output (or the source)
        ids = np.arange(n, dtype=np.int64)
        p = pairs_of_bins(target.shape, ids)
        for step in seg:
            p = net.adjoints.back(step.op, p, step.in_shape, step.out_shape, n)
        if wi is None:
            for step in path.steps[len(seg) :]:
                p = net.adjoints.back(step.op, p, step.in_shape, step.out_shape, n)
            count = np.bincount(p.bin, weights=p.hi - p.lo, minlength=n).astype(np.int64)
            out.append(Storage(path.target, "direct", count, count.copy()))
            continue
        w = path.steps[wi]
        if isinstance(w.op, snn.DenseOp):
            rows = net.adjoints.dense(w.op)
            flat, b = _explicit(p, w.out_shape)
            per = rows.row_counts()[flat % rows.out]
            count = np.bincount(b, weights=per, minlength=n).astype(np.int64)
            out.append(Storage(path.target, "dense", count, count.copy(), op=w.op))
            continue
        info = net.adjoints.conv(w.op, w.in_shape, w.out_shape)
        rows_, ch = expand_ranges(p.lo, p.hi)
        neuron, opos = p.bin[rows_], p.pos[rows_]
        fan = np.bincount(
            neuron,
            weights=(info.cin // info.groups) * info.valid_taps()[opos],
            minlength=n,
        ).astype(np.int64)
        out.append(
            Storage(
                path.target,
                "conv",
                np.zeros(n, np.int64),
                fan,
                conv_neuron=neuron,
                conv_channel=ch,
                conv_channels=info.cout,
                weights_per_channel=info.weights_per_channel,
                op=w.op,
            )
        )
    return out


__all__ = [
    "Network",
    "Pairs",
    "Path",
    "Population",
    "Storage",
    "extract_network",
    "pairs_of_bins",
    "reach",
    "unique_rows",
    "view",
]
