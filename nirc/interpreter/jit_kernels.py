"""The numba kernels behind :mod:`nirc.interpreter.jit` (see there for what
each computes and why the results equal the numpy kernels' bit for bit).

Conventions: arrays C-contiguous; neuron parameters are full-length float64
arrays (see :func:`nirc.interpreter.jit.neuron_params`), so the neuron loops
have no branches but the spike's select and vectorize; indices into flat
arrays are unsigned so that numba emits no negative-index test.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)
# helpers inlined into their callers at numba's level: a call per neuron update
# would cost more than the update
_inline = numba.njit(cache=True, nogil=True, inline="always")


@_inline
def _conv_accumulate(acc, xs, n_c, h, wd, rows, cols, wr, cg, cells):  # pragma: no cover
    """Add into ``acc`` (one sample's output ``[O, OH*OW]`` flat; ``cells`` =
    OH*OW) the convolution of the nonzero entries of ``xs`` (one sample's
    input, ``[C*H*W]``), with the tables of :func:`nirc.interpreter.jit.conv_tables`:
    an input reaches, per kernel row, a run of consecutive output columns,
    added for each output channel from the matching run of ``wr``."""
    _, kh, sw, og, mm = wr.shape
    wf = wr.reshape(-1)
    for ch in range(n_c):
        g0 = (ch // cg) * og
        xbase = ch * h * wd
        for y in range(h):
            nr = rows[y, 0]
            if nr == 0:
                continue
            for xx in range(wd):
                val = xs[xbase + y * wd + xx]
                if val == 0:
                    continue
                run = cols[xx, 2]
                if run == 0:
                    continue
                fv = np.float64(val)
                for a in range(nr):
                    ky = rows[y, 1 + 2 * a]
                    o0 = np.uint64(g0 * cells + rows[y, 2 + 2 * a] + cols[xx, 3])
                    w0 = np.uint64((((ch * kh + ky) * sw + cols[xx, 0]) * og) * mm + cols[xx, 1])
                    for o in range(np.uint64(og)):
                        oo = o0 + o * np.uint64(cells)
                        ww = w0 + o * np.uint64(mm)
                        for i in range(np.uint64(run)):
                            acc[oo + i] += wf[ww + i] * fv


@_inline
def _conv_event_cl(acc, ch, g0, y, xx, val, rows, cols, wf, kh, sw, mm, og, n_o):  # pragma: no cover
    """Input ``(ch, y, xx)`` of value ``val`` into the channels-last buffer
    (``g0``: the first output channel of ``ch``'s group): see
    :func:`_conv_accumulate_cl`."""
    nr = rows[y, 0]
    run = cols[xx, 2]
    if nr == 0 or run == 0:
        return
    fv = np.float64(val)
    for a in range(nr):
        ky = rows[y, 1 + 2 * a]
        o0 = np.uint64((rows[y, 2 + 2 * a] + cols[xx, 3]) * n_o + g0)
        w0 = np.uint64((((ch * kh + ky) * sw + cols[xx, 0]) * mm + cols[xx, 1]) * og)
        if og == n_o:  # one group: the run's cells and channels are one stretch
            for j in range(np.uint64(run * og)):
                acc[o0 + j] += wf[w0 + j] * fv
        else:
            for r in range(np.uint64(run)):
                for o in range(np.uint64(og)):
                    acc[o0 + r * np.uint64(n_o) + o] += wf[w0 + r * np.uint64(og) + o] * fv


@_inline
def _conv_accumulate_cl(acc, xs, n_c, h, wd, rows, cols, wr, cg, n_o):  # pragma: no cover
    """:func:`_conv_accumulate` into ``acc`` laid out channels-last
    (``[OH*OW, O]``, flat) from run weights ``wr[C, KH, SW, M, Og]``: with one
    group an input's run in an output row covers consecutive cells with all
    their channels, one contiguous stretch of ``run * O`` elements. The input
    is scanned a 64-bit word at a time (spikes are sparse: most words are
    zero), its position (channel, row, column) advanced without division."""
    _, kh, sw, mm, og = wr.shape
    wf = wr.reshape(-1)
    per = 8 // xs.itemsize  # inputs per word
    nw = xs.shape[0] // per
    words = xs[: nw * per].view(np.uint64)
    ch = 0
    g0 = 0  # first output channel of ch's group
    y = 0
    xx = 0  # position of the current word's first input
    for iw in range(nw + 1):
        if iw < nw and words[iw] == 0:
            xx += per
        else:
            stop = per if iw < nw else xs.shape[0] - nw * per  # the tail after the words
            for i in range(iw * per, iw * per + stop):
                val = xs[i]
                if val != 0:
                    _conv_event_cl(acc, ch, g0, y, xx, val, rows, cols, wf, kh, sw, mm, og, n_o)
                xx += 1
                if xx == wd:
                    xx = 0
                    y += 1
                    if y == h:
                        y = 0
                        ch += 1
                        g0 = (ch // cg) * og
            continue
        while xx >= wd:
            xx -= wd
            y += 1
            if y == h:
                y = 0
                ch += 1
                g0 = (ch // cg) * og


@_inline
def _dense_accumulate(acc, xs, wt):  # pragma: no cover - compiled
    """``acc[O] += xs[K] @ wt[K, O]``, one nonzero input at a time."""
    n_o = np.uint64(wt.shape[1])
    wf = wt.reshape(-1)
    for kk in range(xs.shape[0]):
        val = xs[kk]
        if val == 0:
            continue
        fv = np.float64(val)
        w0 = np.uint64(kk) * n_o
        for o in range(n_o):
            acc[o] += wf[w0 + o] * fv


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
def conv_scatter(x, in_chw, rows, cols, wr, cg, out):  # pragma: no cover - compiled
    """``out[N, O, OH*OW] =`` the convolution of ``x[N, C*H*W]`` (``in_chw``
    = (C, H, W); tables from :func:`nirc.interpreter.jit.conv_tables`), each
    sample accumulated straight into its slice of ``out`` (zeroed first; one
    sample's output stays in cache)."""
    n_c, h, wd = in_chw
    cells = out.shape[2]
    for n in range(x.shape[0]):
        acc = out[n].reshape(-1)
        acc[:] = 0.0
        _conv_accumulate(acc, x[n], n_c, h, wd, rows, cols, wr, cg, cells)


@_jit
def dense_scatter(x, wt, out):  # pragma: no cover - compiled
    """``out[N, O] += x[N, K] @ wt[K, O]``, one nonzero input at a time."""
    for n in range(x.shape[0]):
        _dense_accumulate(out[n], x[n], wt)


@_inline
def _fused_sample(
    s, t, b, acc, zc, x, conv, in_chw, rows, cols, wconv, cg, wdense, drive, bf, cc, kk, dd, tt, vr,
    reset, pool, pz, v, z, rv, record,
):  # pragma: no cover - compiled
    """One sample and step of :func:`synapse_neuron` (``s = t*B + b``), with
    the caller's buffers ``acc`` (float64) and ``zc`` (bool) of M elements."""
    m = acc.shape[0]
    n_c, h, wd = in_chw
    n_o = wconv.shape[4] * (n_c // cg) if conv else m  # output channels
    cells = m // n_o  # per channel (a dense synapse: 1)
    acc[:] = 0.0
    if conv:
        _conv_accumulate_cl(acc, x[s], n_c, h, wd, rows, cols, wconv, cg, n_o)
    else:
        _dense_accumulate(acc, x[s], wdense)
    if drive:  # (skipped when it would change nothing: no bias, cc 1, kk 0)
        for j in range(m):
            acc[j] = (acc[j] + bf[j]) * cc[j] + kk[j]
    vb = v[b]
    if conv and pool.shape[0]:  # spikes summed into the pool's cells, not kept
        _update(vb, acc, zc, dd, tt, vr, reset)
        pt = pz[t, b]
        pt[:] = 0
        pcells = pt.shape[0] // n_o
        for p in range(cells):  # reads in order; the pooled row is small (in L1)
            q = pool[p]
            if q < 0:
                continue
            for o in range(n_o):
                if zc[p * n_o + o]:
                    pt[o * pcells + q] += 1
        if record:
            rt = rv[t, b]
            for o in range(n_o):
                for p in range(cells):
                    rt[o * cells + p] = vb[p * n_o + o]
    elif conv:
        _update(vb, acc, zc, dd, tt, vr, reset)
        zt = z[t, b]
        # channels-last -> the layer's order: written in order, read strided
        # from the small buffer (twice as fast as the other way round)
        for o in range(n_o):
            for p in range(cells):
                zt[o * cells + p] = zc[p * n_o + o]
        if record:
            rt = rv[t, b]
            for o in range(n_o):
                for p in range(cells):
                    rt[o * cells + p] = vb[p * n_o + o]
    else:
        _update(vb, acc, z[t, b], dd, tt, vr, reset)
        if record:
            rv[t, b, :] = vb


@_jit
def synapse_neuron(
    x, conv, in_chw, rows, cols, wconv, cg, wdense, drive, bf, cc, kk, dd, tt, vr, reset, pool, pz,
    v, z, rv, record,
):  # pragma: no cover - compiled
    """A synapse and the spiking layer it alone feeds, fused: for each step t
    and sample b of ``x[T*B, features]`` (sample-major within a step), the
    synaptic sums go into one sample's buffer, then the bias ``bf``, the
    neuron's drive ``u = cc*(sum + bf) + kk`` (when ``drive``) and
    :func:`_update`; only spikes ``z[T, B, M]`` and recorded states ``rv[T, B,
    M]`` leave the loop. All parameters are full-length (``bf`` 0, ``cc`` 1,
    ``kk`` 0 where the separate kernels do nothing: the same numbers, since
    sums here are never -0.0).

    ``conv``: the synapse is a convolution (tables of
    :func:`nirc.interpreter.jit.conv_tables`, ``wconv[C, KH, SW, M, Og]`` its
    channels-last run weights) and the neurons are held channels-last: ``v``
    ``[B, OH*OW*O]`` and the parameters in that order; spikes and states are
    written to ``z`` and ``rv`` in the layer's order ``[O, OH*OW]``. Else the
    synapse is a dense ``wdense[K, O]``.

    ``pool`` (a convolution's layer only; empty: none): the spikes go into the
    sum-pool that alone reads them, ``pool[cell]`` = the pooled cell a neuron
    counts into (-1: none), and ``pz[T, B, O*pooled cells]`` (uint8) receives
    the counts instead of ``z`` receiving spikes."""
    n_b, m = v.shape
    acc = np.zeros(m, np.float64)
    zc = np.zeros(m, np.bool_)
    for s in range(x.shape[0]):
        t = s // n_b
        _fused_sample(
            s, t, s - t * n_b, acc, zc, x, conv, in_chw, rows, cols, wconv, cg, wdense, drive, bf,
            cc, kk, dd, tt, vr, reset, pool, pz, v, z, rv, record,
        )  # fmt: skip


@numba.njit(cache=True, nogil=True, parallel=True)
def synapse_neuron_batch(
    x, conv, in_chw, rows, cols, wconv, cg, wdense, drive, bf, cc, kk, dd, tt, vr, reset, pool, pz,
    v, z, rv, record,
):  # pragma: no cover - compiled
    """:func:`synapse_neuron` with the batch's samples on all cores: each
    sample's steps stay in order on one thread (its neurons' state is its
    own), so the results are those of the sequential kernel."""
    n_b, m = v.shape
    n_t = x.shape[0] // n_b
    for b in numba.prange(n_b):
        acc = np.zeros(m, np.float64)
        zc = np.zeros(m, np.bool_)
        for t in range(n_t):
            _fused_sample(
                t * n_b + b, t, b, acc, zc, x, conv, in_chw, rows, cols, wconv, cg, wdense, drive,
                bf, cc, kk, dd, tt, vr, reset, pool, pz, v, z, rv, record,
            )  # fmt: skip
