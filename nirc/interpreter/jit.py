"""Compiled kernels for the interpreter's hot loops (optional: numba).

Installed with the ``fast`` extra (``pip install 'nirc[fast]'``); without
numba, or with ``NIRC_JIT=0`` in the environment, the interpreter runs its
numpy kernels and gives the same numbers. The kernels live in
:mod:`nirc.interpreter.jit_kernels`, imported (and numba with it) on first
use only, so that commands that do not simulate never pay numba's import.
Three kinds of loops gain from compilation:

- Neuron updates over a chunk of steps (``membrane_loop``): numpy pays a call
  per ufunc per step; the compiled loop makes one pass per step with the same
  float64 operations in the same order (multiply, then add: numba does not
  fuse them into a multiply-add without ``fastmath``), so states and spikes
  are identical bit for bit.
- Spike-driven synapses (``conv_scatter``, ``dense_scatter``): each nonzero
  input adds its weights times its value into the outputs it reaches. Used
  only where sums are exact (integer inputs within the bound the weights
  allow, see :func:`nirc.interpreter.ops.exact_sum_possible`), so the order of
  the additions cannot change the result: the output equals the matrix
  product's bit for bit. On the sparse activity of spiking networks (a few
  percent of neurons per step) this does a fraction of a dense product's work.
- A synapse fused with the spiking layer it alone feeds (``synapse_neuron``):
  one sample's synaptic sums stay in cache and go straight into the neuron
  update, so the chunk's float64 currents are never written to memory (at
  batch 32 that traffic, not the arithmetic, bounds the unfused schedule).

Compiled functions are cached on disk (numba's ``cache=True``): only the first
run after installation compiles (a few seconds); later processes load them in
about half a second, which is why :class:`~nirc.interpreter.engine.Simulator`
uses them by default only on runs long enough to repay that.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator

import numpy as np

ENABLED = importlib.util.find_spec("numba") is not None and os.environ.get("NIRC_JIT", "1") != "0"

# reset kinds of the neuron loops
RESET_ZERO, RESET_SUBTRACT = 0, 1

_MODULE = "nirc.interpreter.jit_kernels"


def kernels():
    """The compiled kernels' module (imports numba on first use)."""
    import nirc.interpreter.jit_kernels as k

    return k


def loaded() -> bool:
    """Whether this process has loaded the compiled kernels already."""
    return _MODULE in sys.modules


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """The numpy kernels only, for the duration (the step-by-step oracle runs
    so, which makes it independent of the compiled code it checks). Not
    thread-safe: it sets the module's switch."""
    global ENABLED
    was = ENABLED
    ENABLED = False
    try:
        yield
    finally:
        ENABLED = was


@contextlib.contextmanager
def blas_single_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the duration, when threadpoolctl is
    installed (it comes with the ``fast`` extra). The compiled kernels run the
    batch on every core; an idle OpenBLAS thread spins on a core for a while
    after each call, and on a 2-core machine that halves their speed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def full(value, m: int) -> np.ndarray:
    """A neuron parameter (a float, or an array of the layer's shape) as a
    contiguous float64 array of ``m`` elements, one per neuron."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, np.float64).reshape(-1), (m,)))


def channels_last(wr: np.ndarray) -> np.ndarray:
    """Run weights ``[C, KH, SW, Og, M]`` as ``[C, KH, SW, M, Og]``: for the
    fused kernel, whose buffer is channels-last."""
    return np.ascontiguousarray(wr.transpose(0, 1, 2, 4, 3))


def conv_segments(
    rows: np.ndarray, cols: np.ndarray, wcl: np.ndarray, n_o: int
) -> tuple[np.ndarray, np.ndarray]:
    """For the fused, channels-last kernel: what one input at position ``p =
    y*W + x`` adds, as segments ``segs[start[p]:start[p+1]]`` of ``(first
    output element, first weight, length)``: ``acc[o0 + j] += w[w0 + j] * x``
    for ``j < length``, where the caller adds the input channel's offset to
    ``w0`` (``ch * wcl[0].size``) and its group's first output channel to
    ``o0``. From :func:`conv_tables`' ``rows`` and ``cols`` and the run weights
    ``wcl[C, KH, SW, M, Og]`` of :func:`channels_last`, ``n_o`` output
    channels in all. With one group, a kernel row's run of output cells and
    all their channels is one contiguous segment (what the compiled loop
    vectorizes); with several, each cell's channels of the group are one.

    Tabulated so that the loop over events does no arithmetic beyond these
    additions: a per-event computation of the runs cost as much as the
    additions themselves on the paper's CNN."""
    h, w = rows.shape[0], cols.shape[0]
    _, _, sw, mm, og = wcl.shape
    counts = np.zeros(h * w + 1, np.int64)
    pieces: list[np.ndarray] = []
    pos_of: list[np.ndarray] = []
    xs = np.arange(w)
    phase, m0, run, oc0 = (cols[:, i] for i in range(4))
    live = run > 0
    for y in range(h):
        for a in range(rows[y, 0]):
            ky, orow = rows[y, 1 + 2 * a], rows[y, 2 + 2 * a]
            o_cell = orow + oc0[live]
            w0 = ((ky * sw + phase[live]) * mm + m0[live]) * og
            if og == n_o:
                seg = np.stack([o_cell * n_o, w0, run[live] * og], axis=1)
                at = y * w + xs[live]
            else:  # one segment per cell of the run
                r = [np.arange(k) for k in run[live]]
                cell = np.concatenate([c + k for c, k in zip(o_cell, r)])
                ws = np.concatenate([w + k * og for w, k in zip(w0, r)])
                seg = np.stack([cell * n_o, ws, np.full(cell.size, og)], axis=1)
                at = y * w + np.repeat(xs[live], run[live])
            pieces.append(seg)
            pos_of.append(at)
    if not pieces:
        return counts, np.zeros((0, 3), np.int64)
    segs = np.concatenate(pieces).astype(np.int64)
    at = np.concatenate(pos_of)
    order = np.argsort(at, kind="stable")  # by input position; rows in order within one
    np.add.at(counts, at + 1, 1)
    return np.cumsum(counts), np.ascontiguousarray(segs[order])


def narrow(x: np.ndarray) -> np.ndarray:
    """Bool inputs as uint8 (numba compiles one loop per input dtype)."""
    return x.view(np.uint8) if x.dtype == np.bool_ else x


def conv_tables(
    in_chw, kernel, out_hw, stride, pads, dilation, weight
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the compiled convolutions take: ``rows``, ``cols`` and the run
    weights ``wr``, for PyTorch's cross-correlation (output ``(oy, ox)`` reads
    input ``(oy*sh - pt + ky*dh, ox*sw - pl + kx*dw)``) of ``weight[O, C/g, KH, KW]``.

    - ``rows[y]``: how many kernel rows reach an output row from input row
      ``y``, then (ky, oy * OW) pairs.
    - Columns: with the kernel's width dilated (zeros between taps, width
      ``KWd = (KW-1)*dw + 1``), an input column ``x`` of phase ``r = (x + pl)
      % sw`` is reached by the taps ``kx = r + sw*(M-1-m)``, ``m = 0 .. M-1``
      (``M = ceil(KWd / sw)``), which read consecutive output columns
      ``q - (M-1-m)`` (``q = (x + pl - r) / sw``). ``cols[x]`` = (r, first m
      inside the output, run length, first output column).
    - ``wr[C, KH, SW, Og, M]``: those runs' weights (zero where the dilated
      kernel has no tap), input channel ``c``'s to the outputs of its group.

    Tabulated once per layer, so the loops over events do no division."""
    c, h, wd = in_chw
    kh, kw = kernel
    oh, ow = out_hw
    sh, sw = stride
    (pt, _), (pl, _) = pads
    dh, dw = dilation
    rows = np.zeros((h, 1 + 2 * kh), np.int64)
    for y in range(h):
        for ky in range(kh):
            ty = y + pt - ky * dh
            if ty >= 0 and ty % sh == 0 and ty // sh < oh:
                n = rows[y, 0]
                rows[y, 1 + 2 * n], rows[y, 2 + 2 * n] = ky, (ty // sh) * ow
                rows[y, 0] = n + 1
    kwd = (kw - 1) * dw + 1
    mm = -(-kwd // sw)
    cols = np.zeros((wd, 4), np.int64)
    for xx in range(wd):
        r = (xx + pl) % sw
        q = (xx + pl - r) // sw
        m0, m1 = max(0, mm - 1 - q), min(mm, ow - q + mm - 1)
        cols[xx] = (r, m0, max(0, m1 - m0), q - (mm - 1) + m0)
    o, cg = weight.shape[:2]
    og = o // (c // cg)
    dilated = np.zeros((o, cg, kh, mm * sw), np.float64)
    dilated[:, :, :, :kwd:dw] = weight
    wr = np.zeros((c, kh, sw, og, mm), np.float64)
    for ch in range(c):
        gi = ch // cg
        part = dilated[gi * og : (gi + 1) * og, ch - gi * cg]  # [Og, KH, M*SW]
        for r in range(sw):
            taps = r + sw * (mm - 1 - np.arange(mm))  # m = 0 .. M-1
            wr[ch, :, r] = part[:, :, taps].transpose(1, 0, 2)
    return rows, cols, wr


__all__ = [
    "ENABLED",
    "blas_single_thread",
    "RESET_SUBTRACT",
    "RESET_ZERO",
    "disabled",
    "full",
    "kernels",
    "loaded",
    "narrow",
    "channels_last",
    "conv_segments",
    "conv_tables",
]
