"""The numba kernels behind :mod:`nirc.interpreter.jit` (see there for what
each computes and why the results equal the numpy kernels' bit for bit).

Conventions: arrays C-contiguous; neuron parameters are full-length float64
arrays (:func:`nirc.interpreter.jit.full`), so the neuron loops have no
branches but the spike's select and vectorize (the fused kernels also take
layer-wide parameters as one element each).

Measured on the paper CNN, and why the loops look as they do: numba
vectorizes a loop over a slice (``a = acc[o0:o0 + n]; a[j] += ...``) but not
the same loop over flat indices (``acc[o0 + j]``), which cost 4x; a test per
input for nonzero mispredicts on every event, so events are compacted first
without branches (:func:`_nonzero`); and per-event arithmetic (divisions,
table walks) cost as much as the additions until the segments were
tabulated per input position.
"""

from __future__ import annotations

import numba
import numpy as np

from nirc.interpreter import jit as _config

# cached in the per-user directory (jit.njit); no cache where none is writable
_jit = _config.njit()
# helpers inlined into their callers at numba's level: a call per neuron update
# would cost more than the update
_inline = _config.njit(inline="always")


@_inline
def _nonzero(xs, idx):  # pragma: no cover - compiled
    """The positions of ``xs``'s nonzero entries into ``idx`` (at least as
    long as ``xs``), in order; returns how many. Branch-free: at the few
    percent activity of spiking layers a test per input mispredicts on every
    event, which cost more than the events' additions."""
    n = 0
    for i in range(xs.shape[0]):
        idx[n] = i
        n += xs[i] != 0
    return n


@_inline
def _conv_accumulate_cl(acc, xs, idx, hw, start, segs, wf, wstride, cg, og):  # pragma: no cover
    """Add into ``acc`` (one sample's output channels-last, ``[OH*OW, O]``
    flat) the convolution of the nonzero entries of ``xs`` (one sample's
    input, ``[C*H*W]``; ``hw`` = H*W), each input adding its position's
    segments (:func:`nirc.interpreter.jit.conv_segments`) of the weights
    ``wf`` (flat ``[C, ...]``, ``wstride`` per channel) times its value.
    Segments are taken as slices: numba then knows their indices are in
    range and vectorizes the additions, which flat indexing prevents. The
    events are found a channel at a time, so that none needs a division."""
    for ch in range(xs.shape[0] // hw):
        xc = xs[ch * hw : (ch + 1) * hw]
        n = _nonzero(xc, idx)
        wb = ch * wstride
        ob = (ch // cg) * og
        for e in range(n):
            pos = idx[e]
            fv = np.float64(xc[pos])
            for k in range(start[pos], start[pos + 1]):
                o0 = segs[k, 0] + ob
                w0 = segs[k, 1] + wb
                n_add = segs[k, 2]
                ac = acc[o0 : o0 + n_add]
                ww = wf[w0 : w0 + n_add]
                for j in range(n_add):
                    ac[j] += ww[j] * fv


@_inline
def _dense_accumulate(acc, xs, idx, wt):  # pragma: no cover - compiled
    """``acc[O] += xs[K] @ wt[K, O]``, one nonzero input at a time (``idx``:
    scratch as long as ``xs``, see :func:`_nonzero`)."""
    n = _nonzero(xs, idx)
    for e in range(n):
        kk = idx[e]
        fv = np.float64(xs[kk])
        row = wt[kk]
        for o in range(acc.shape[0]):
            acc[o] += row[o] * fv


@_inline
def _update(vb, u, zt, dd, tt, vr, reset):  # pragma: no cover - compiled
    """One step of a layer: ``v = dd*v + u``, spike where ``v > tt``, reset (0:
    ``v = vr``; 1: ``v -= tt``). Parameters are full-length arrays, so that
    the loop is branch-free and vectorizes: ``dd`` is 1 where there is no
    decay (``v*1.0`` is ``v`` exactly, as numpy's path, which skips it)."""
    m = vb.shape[0]
    if reset == 0:
        for j in range(m):
            x = vb[j] * dd[j] + u[j]
            s = x > tt[j]
            zt[j] = s
            vb[j] = vr[j] if s else x
    else:
        for j in range(m):
            x = vb[j] * dd[j] + u[j]
            th = tt[j]
            s = x > th
            zt[j] = s
            vb[j] = x - th if s else x


@_inline
def _drive_update(vb, acc, zt, bf, cc, kk, dd, tt, vr, reset):  # pragma: no cover - compiled
    """The fused kernels' neuron step: the drive ``u = (acc + bf)*cc + kk``
    (``bf``: bias, full-length) and :func:`_update` in one pass, with the
    reset a select rather than a branch, so that one loop serves both kinds
    and vectorizes. Parameters of one element (``dd`` decides: then all of
    ``cc``, ``kk``, ``dd``, ``tt``, ``vr`` are) are the whole layer's: held in
    registers, they leave the loop three streams instead of eight. The same
    numbers as the separate kernels, which skip ``*1`` and ``+0``: ``acc`` is
    a sum started at +0.0, never -0.0, so those change nothing."""
    sub = reset == 1
    if dd.shape[0] == 1:
        c, k, d, th, r = cc[0], kk[0], dd[0], tt[0], vr[0]
        for j in range(vb.shape[0]):
            x = vb[j] * d + ((acc[j] + bf[j]) * c + k)
            s = x > th
            zt[j] = s
            y = x - th if sub else r
            vb[j] = y if s else x
    else:
        for j in range(vb.shape[0]):
            x = vb[j] * dd[j] + ((acc[j] + bf[j]) * cc[j] + kk[j])
            th = tt[j]
            s = x > th
            zt[j] = s
            y = x - th if sub else vr[j]
            vb[j] = y if s else x


@_jit
def membrane_loop(v, w, dd, tt, vr, reset, z, rv, record):  # pragma: no cover - compiled
    """For each step t of ``w[T, B, M]``, :func:`_update` of ``v[B, M]`` with
    input ``w[t]``, spikes into ``z[t]``, states into ``rv[t]`` when ``record``."""
    n_t, n_b, _ = w.shape
    for t in range(n_t):
        for b in range(n_b):
            _update(v[b], w[t, b], z[t, b], dd, tt, vr, reset)
            if record:
                rv[t, b, :] = v[b]


@_jit
def conv_scatter(x, tables, out):  # pragma: no cover - compiled
    """``out[N, O, OH*OW] =`` the convolution of ``x[N, C*H*W]`` (``tables``:
    what :meth:`nirc.interpreter.ops.Conv.jit_segments` gives): each sample
    accumulated channels-last in one buffer that stays in cache (see
    :func:`_conv_accumulate_cl`), then written out in the layer's order."""
    hw, start, segs, wconv, wstride, cg, og, n_o = tables
    cells = out.shape[2]
    acc = np.zeros(n_o * cells, np.float64)
    idx = np.empty(hw, np.int64)
    for n in range(x.shape[0]):
        acc[:] = 0.0
        _conv_accumulate_cl(acc, x[n], idx, hw, start, segs, wconv, wstride, cg, og)
        on = out[n]
        for o in range(n_o):
            row = on[o]
            for p in range(cells):
                row[p] = acc[p * n_o + o]


@_jit
def dense_scatter(x, wt, out):  # pragma: no cover - compiled
    """``out[N, O] += x[N, K] @ wt[K, O]``, one nonzero input at a time."""
    idx = np.empty(x.shape[1], np.int64)
    for n in range(x.shape[0]):
        _dense_accumulate(out[n], x[n], idx, wt)


@_inline
def _fused_sample(
    s, t, b, acc, zc, idx, x, conv, tables, wdense, neuron, pool, pz, v, z, rv, record
):  # pragma: no cover - compiled
    """One sample and step of :func:`synapse_neuron` (``s = t*B + b``), with
    the caller's buffers ``acc`` (float64) and ``zc`` (uint8) of M elements
    and ``idx`` (int64, one per input)."""
    hw, start, segs, wconv, wstride, cg, og, n_o = tables
    bf, cc, kk, dd, tt, vr, reset = neuron
    m = acc.shape[0]
    cells = m // n_o  # per channel (a dense synapse: 1)
    acc[:] = 0.0
    if conv:
        _conv_accumulate_cl(acc, x[s], idx, hw, start, segs, wconv, wstride, cg, og)
    else:
        _dense_accumulate(acc, x[s], idx, wdense)
    vb = v[b]
    if not conv:
        _drive_update(vb, acc, z[t, b], bf, cc, kk, dd, tt, vr, reset)
        if record:
            rv[t, b, :] = vb
        return
    _drive_update(vb, acc, zc, bf, cc, kk, dd, tt, vr, reset)
    # the spikes leave channels-last: scanned a word (8 neurons) at a time,
    # since most words are zero, and each spike's channel and cell found from
    # its position
    nw = m // 8
    words = zc[: nw * 8].view(np.uint64)
    pooled = pool.shape[0] > 0
    if pooled:  # summed into the pool's cells, not kept
        out = pz[t, b]
        pcells = out.shape[0] // n_o
    else:  # in the layer's order [O, cells]
        out = z[t, b].view(np.uint8)
        pcells = cells
    out[:] = 0
    for iw in range(nw + 1):
        if iw < nw and words[iw] == 0:
            continue
        for j in range(iw * 8, min(iw * 8 + 8, m)):
            if zc[j]:
                p = j // n_o
                o = j - p * n_o
                if pooled:
                    q = pool[p]
                    if q >= 0:
                        out[o * pcells + q] += 1
                else:
                    out[o * pcells + p] = 1
    if record:
        rt = rv[t, b]
        for o in range(n_o):
            for p in range(cells):
                rt[o * cells + p] = vb[p * n_o + o]


@_jit
def synapse_neuron(
    x, conv, tables, wdense, neuron, pool, pz, v, z, rv, record
):  # pragma: no cover - compiled
    """A synapse and the spiking layer it alone feeds, fused: for each step t
    and sample b of ``x[T*B, features]`` (sample-major within a step), the
    synaptic sums go into one sample's buffer, then the bias ``bf``, the
    neuron's drive ``u = cc*(sum + bf) + kk`` and the update (both in
    :func:`_drive_update`); only spikes ``z[T, B, M]`` and recorded states
    ``rv[T, B, M]`` leave the loop. ``bf`` is full-length (0 where there is
    no bias); the neuron parameters are too, or all of one element when they
    are the same for the whole layer.

    ``conv``: the synapse is a convolution (``tables``: what
    :meth:`nirc.interpreter.ops.Conv.jit_segments` gives, whose last entry is
    the number of output channels) and the neurons are held channels-last: ``v``
    ``[B, OH*OW*O]`` and the parameters in that order; spikes and states are
    written to ``z`` and ``rv`` in the layer's order ``[O, OH*OW]``. Else the
    synapse is a dense ``wdense[K, O]``.

    ``pool`` (a convolution's layer only; empty: none): the spikes go into the
    sum-pool that alone reads them, ``pool[cell]`` = the pooled cell a neuron
    counts into (-1: none), and ``pz[T, B, O*pooled cells]`` (uint8) receives
    the counts instead of ``z`` receiving spikes."""
    n_b, m = v.shape
    acc = np.zeros(m, np.float64)
    zc = np.zeros(m, np.uint8)
    idx = np.empty(x.shape[1], np.int64)
    for s in range(x.shape[0]):
        t = s // n_b
        _fused_sample(
            s, t, s - t * n_b, acc, zc, idx, x, conv, tables, wdense, neuron, pool, pz,
            v, z, rv, record,
        )  # fmt: skip


@_config.njit(parallel=True)
def synapse_neuron_batch(
    x, conv, tables, wdense, neuron, pool, pz, v, z, rv, record
):  # pragma: no cover - compiled
    """:func:`synapse_neuron` with the batch's samples on all cores: each
    sample's steps stay in order on one thread (its neurons' state is its
    own), so the results are those of the sequential kernel."""
    n_b, m = v.shape
    n_t = x.shape[0] // n_b
    for b in numba.prange(n_b):
        acc = np.zeros(m, np.float64)
        zc = np.zeros(m, np.uint8)
        idx = np.empty(x.shape[1], np.int64)
        for t in range(n_t):
            _fused_sample(
                t * n_b + b, t, b, acc, zc, idx, x, conv, tables, wdense, neuron, pool,
                pz, v, z, rv, record,
            )  # fmt: skip
