"""Sparse linear maps in coordinate form, with numpy only.

A projection on SpiNNaker2 is a list of synapses ``(pre, post, weight)``: a
sparse matrix. The lowering composes the linear ops of the `snn` level
(dense, convolutions, pools, reshapes, scales) into one such matrix per
(source population, target population) pair; these helpers build the
matrices of those ops (vectorized, no Python loop over synapses) and compose
them. Rows index the target's elements, columns the source's, both in flat C
order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Coo:
    """A sparse matrix ``shape`` = (rows, cols) as parallel arrays of
    coordinates and values (no duplicates after :meth:`coalesce`)."""

    row: np.ndarray
    col: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @staticmethod
    def empty(shape: tuple[int, int], dtype=np.float64) -> Coo:
        z = np.zeros(0, np.int64)
        return Coo(z, z.copy(), np.zeros(0, dtype), (int(shape[0]), int(shape[1])))

    @staticmethod
    def from_dense(w: np.ndarray) -> Coo:
        w = np.asarray(w)
        r, c = np.nonzero(w)
        return Coo(r.astype(np.int64), c.astype(np.int64), w[r, c].copy(), w.shape)  # type: ignore[arg-type]

    @staticmethod
    def identity(n: int, value: np.ndarray | float = 1.0) -> Coo:
        i = np.arange(n, dtype=np.int64)
        data = np.broadcast_to(np.asarray(value, np.float64), (n,)).copy()
        return Coo(i, i.copy(), data, (n, n))

    @property
    def nnz(self) -> int:
        return int(self.data.size)

    def copy(self) -> Coo:
        return Coo(self.row.copy(), self.col.copy(), self.data.copy(), self.shape)

    def coalesce(self) -> Coo:
        """Sum duplicate entries, drop exact zeros, sort by (row, col)."""
        if self.nnz == 0:
            return self
        key = self.row * self.shape[1] + self.col
        uniq, inv = np.unique(key, return_inverse=True)
        data = np.bincount(inv, weights=self.data, minlength=uniq.size)
        keep = data != 0
        uniq = uniq[keep]
        return Coo(uniq // self.shape[1], uniq % self.shape[1], data[keep], self.shape)

    def to_dense(self, dtype=np.float64) -> np.ndarray:
        out = np.zeros(self.shape, dtype)
        np.add.at(out, (self.row, self.col), self.data.astype(dtype))
        return out

    def scale_rows(self, factor: np.ndarray | float) -> Coo:
        f = np.broadcast_to(np.asarray(factor, np.float64), (self.shape[0],))
        return Coo(self.row, self.col, self.data * f[self.row], self.shape)

    def scale(self, factor: float) -> Coo:
        return Coo(self.row, self.col, self.data * factor, self.shape)

    def with_data(self, data: np.ndarray) -> Coo:
        return Coo(self.row, self.col, np.asarray(data), self.shape)

    def __matmul__(self, other: Coo) -> Coo:
        """The composition ``self @ other`` (both sparse)."""
        if self.shape[1] != other.shape[0]:
            raise ValueError(f"cannot compose {self.shape} with {other.shape}")
        b = other.coalesce()
        # other's entries grouped by row: b's rows are sorted after coalesce
        starts = np.searchsorted(b.row, np.arange(b.shape[0] + 1))
        counts = np.diff(starts)[self.col]
        if counts.sum() == 0:
            return Coo.empty((self.shape[0], other.shape[1]))
        rep = np.repeat(np.arange(self.nnz), counts)
        offsets = np.arange(rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
        idx = starts[self.col][rep] + offsets
        out = Coo(self.row[rep], b.col[idx], self.data[rep] * b.data[idx],
                  (self.shape[0], other.shape[1]))  # fmt: skip
        return out.coalesce()

    def __add__(self, other: Coo) -> Coo:
        if self.shape != other.shape:
            raise ValueError(f"cannot add {self.shape} and {other.shape}")
        return Coo(
            np.concatenate([self.row, other.row]),
            np.concatenate([self.col, other.col]),
            np.concatenate([self.data, other.data]),
            self.shape,
        ).coalesce()

    def by_column(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column starts [cols + 1], rows, data) with entries sorted by column:
        the synapse rows of each presynaptic neuron."""
        order = np.lexsort((self.row, self.col))
        col = self.col[order]
        starts = np.searchsorted(col, np.arange(self.shape[1] + 1))
        return starts, self.row[order], self.data[order]


def conv_coo(
    weight: np.ndarray,
    in_shape: tuple[int, ...],
    stride: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
    groups: int,
) -> Coo:
    """The matrix of a PyTorch cross-correlation (1-D or 2-D) with ``weight``
    [C_out, C_in/groups, *kernel] on an input ``in_shape`` [C_in, *spatial];
    zero padding contributes nothing."""
    weight = np.asarray(weight)
    nd = weight.ndim - 2
    c_out, c_group = weight.shape[:2]
    kernel = weight.shape[2:]
    spatial = tuple(in_shape[1:])
    out_sp = tuple(
        (spatial[a] + sum(pads[a]) - dilation[a] * (kernel[a] - 1) - 1) // stride[a] + 1
        for a in range(nd)
    )
    o_per_g = c_out // groups
    # every (output channel, output position, input channel of its group, kernel offset)
    grids = np.meshgrid(
        np.arange(c_out), *[np.arange(s) for s in out_sp], np.arange(c_group),
        *[np.arange(k) for k in kernel], indexing="ij",
    )  # fmt: skip
    oc = grids[0].ravel()
    pos = [g.ravel() for g in grids[1 : 1 + nd]]
    ic_g = grids[1 + nd].ravel()
    ks = [g.ravel() for g in grids[2 + nd :]]
    ic = (oc // o_per_g) * c_group + ic_g
    inside = np.ones(oc.size, bool)
    coords = []
    for a in range(nd):
        x = pos[a] * stride[a] - pads[a][0] + ks[a] * dilation[a]
        inside &= (x >= 0) & (x < spatial[a])
        coords.append(x)
    w = weight[(oc, ic_g, *ks)]
    keep = inside & (w != 0)
    row = oc[keep]
    col = ic[keep]
    for a in range(nd):
        row = row * out_sp[a] + pos[a][keep]
        col = col * spatial[a] + coords[a][keep]
    n_out = c_out * int(np.prod(out_sp))
    n_in = int(in_shape[0]) * int(np.prod(spatial))
    return Coo(row.astype(np.int64), col.astype(np.int64), w[keep].astype(np.float64),
               (n_out, n_in))  # fmt: skip


def conv2d_coo(weight, in_shape, stride, pads, dilation, groups) -> Coo:
    return conv_coo(weight, tuple(in_shape), tuple(stride), tuple(pads), tuple(dilation), groups)


def sum_pool_coo(
    in_shape: tuple[int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    divisor: float = 1.0,
) -> Coo:
    """The matrix of a 2-D sum pool (zero padding) on [C, H, W], each term
    ``1 / divisor``."""
    c, h, w = in_shape
    kh, kw = kernel
    oh = (h + 2 * padding[0] - kh) // stride[0] + 1
    ow = (w + 2 * padding[1] - kw) // stride[1] + 1
    g = np.meshgrid(np.arange(c), np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw),
                    indexing="ij")  # fmt: skip
    ch, y, x, dy, dx = (a.ravel() for a in g)
    iy = y * stride[0] - padding[0] + dy
    ix = x * stride[1] - padding[1] + dx
    keep = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    row = (ch * oh + y) * ow + x
    col = (ch * h + iy) * w + ix
    n = int(keep.sum())
    return Coo(row[keep].astype(np.int64), col[keep].astype(np.int64),
               np.full(n, 1.0 / divisor), (c * oh * ow, c * h * w))  # fmt: skip


def dense_coo(weight: np.ndarray, in_shape: tuple[int, ...], in_rank: int) -> Coo:
    """The matrix of ``snn.dense`` (weight [out, *in_axes], contracting the
    last ``in_rank`` axes; leading input axes broadcast)."""
    weight = np.asarray(weight)
    out = weight.shape[0]
    w2 = weight.reshape(out, -1)
    lead = int(np.prod(in_shape[: len(in_shape) - in_rank], dtype=np.int64))
    block = Coo.from_dense(w2)
    if lead == 1:
        return Coo(block.row, block.col, block.data.astype(np.float64), (out, w2.shape[1]))
    k = np.repeat(np.arange(lead), block.nnz)
    row = np.tile(block.row, lead) + k * out
    col = np.tile(block.col, lead) + k * w2.shape[1]
    return Coo(row, col, np.tile(block.data, lead).astype(np.float64),
               (lead * out, lead * w2.shape[1]))  # fmt: skip


__all__ = ["Coo", "conv2d_coo", "conv_coo", "dense_coo", "sum_pool_coo"]
