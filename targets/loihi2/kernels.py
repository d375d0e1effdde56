"""The compiled neuron loop of :mod:`.simulator` (numba; imported on first use).

The same integer operations as :func:`.simulator.neuron_loop_numpy`, element
by element, for the samples ``b0 .. b1-1`` (samples are independent: threads
run disjoint ranges of them at once, :func:`.simulator.over_samples`): lava's LIF update in int64 with the int32 wraps lava's arrays
impose, the recurrent synapse added from the previous step's spikes (only the
neurons that spiked are visited, and only their nonzero weights).
"""

from __future__ import annotations

import numpy as np

from nirc.interpreter import jit as _config

_jit = _config.njit()
_inline = _config.njit(inline="always")

_LIMIT = 1 << 23


@_jit
def _wrap32(x):  # pragma: no cover - compiled
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@_jit
def _decay(x, d):  # pragma: no cover - compiled
    y = x * (4096 - d)
    if y >= 0:
        return y >> 12
    return -((-y) >> 12)


@_jit
def _shift(a, exp):  # pragma: no cover - compiled
    if exp > 0:
        return a << exp
    return a >> (-exp)


@_inline
def _current(u, i_decay, drive):  # pragma: no cover - compiled
    """lava's CUBA current: ``u`` decayed plus the drive, int32-wrapped, then
    wrapped into the 24-bit range."""
    uu = _wrap32(_decay(u, i_decay) + _wrap32(drive << 6))
    if uu > _LIMIT:
        uu -= 2 * _LIMIT
    elif uu <= -_LIMIT:
        uu += 2 * _LIMIT
    return uu


@_inline
def _membrane(v, v_decay, uu, eff):  # pragma: no cover - compiled
    """lava's CUBA voltage before the threshold test: ``v`` decayed plus the
    current and the bias, clamped to +-(2**23 - 1)."""
    vv = _decay(v, v_decay) + uu + eff
    if vv > _LIMIT - 1:
        return _LIMIT - 1
    if vv < -(_LIMIT - 1):
        return -(_LIMIT - 1)
    return vv


@_inline
def _fire(u, v, i, i_decay, v_decay, eff, thr, drive):  # pragma: no cover - compiled
    """Neuron ``i``'s step on the current ``drive``: the current, the membrane,
    a spike where it passes ``thr`` (then reset to 0); ``u`` and ``v``
    updated, ``(u, v, fired)`` returned for the records."""
    uu = _current(u[i], i_decay[i], drive)
    u[i] = uu
    vv = _membrane(v[i], v_decay[i], uu, eff[i])
    fired = vv > thr
    if fired:
        vv = 0
    v[i] = vv
    return uu, vv, fired


@_jit
def lif_loop(a, rec_start, rec_target, rec_weight, exp, i_decay, v_decay, v_th, bias, resets,
             spikes, us, vs, record, b0, b1):  # pragma: no cover - compiled
    """``rec_*``: the recurrent weights by source neuron (CSR): source j's
    nonzero weights are ``rec_weight[rec_start[j]:rec_start[j + 1]]`` onto
    ``rec_target[...]``; ``rec_start`` is empty without a recurrent synapse."""
    t_steps, b, n = a.shape
    has_rec = rec_start.shape[0] > 0
    thr = v_th << 6
    u = np.zeros((b1 - b0, n), np.int64)  # row bb - b0: sample bb
    v = np.zeros((b1 - b0, n), np.int64)
    prev = np.zeros((b1 - b0, n), np.uint8)
    rec = np.zeros(n, np.int64)
    eff = np.empty(n, np.int64)
    for i in range(n):
        eff[i] = _wrap32(bias[i] << 6)
    for t in range(t_steps):
        if resets[t]:
            for bb in range(b1 - b0):
                for i in range(n):
                    u[bb, i] = 0
                    v[bb, i] = 0
        for bb in range(b0, b1):
            if has_rec:
                for i in range(n):
                    rec[i] = 0
                for j in range(n):
                    if prev[bb - b0, j]:
                        for p in range(rec_start[j], rec_start[j + 1]):
                            rec[rec_target[p]] += rec_weight[p]
            ub, vb = u[bb - b0], v[bb - b0]
            for i in range(n):
                drive = a[t, bb, i]
                if has_rec:
                    drive = _wrap32(drive + _wrap32(_shift(rec[i], exp)))
                uu, vv, fired = _fire(ub, vb, i, i_decay, v_decay, eff, thr, drive)
                spikes[t, bb, i] = fired
                if record:
                    us[t, bb, i] = uu
                    vs[t, bb, i] = vv
        if has_rec:
            for bb in range(b0, b1):
                for i in range(n):
                    prev[bb - b0, i] = spikes[t, bb, i]
    return 0


@_inline
def _scatter(xs, wt, sh, sw, ph, pw, dh, dw, groups, cl):  # pragma: no cover - compiled
    """Add the cross-correlation of one sample's integer events ``xs`` [C, H,
    W] with ``wt`` [C/groups, kH, kW, Co] to ``cl`` [Ho, Wo, Co] (channels
    last), visiting only the nonzero inputs: each adds its value times the
    kernel taps that read it, a contiguous run of output channels per tap."""
    c, h, wd = xs.shape
    cg, kh, kw, co = wt.shape
    ho, wo = cl.shape[0], cl.shape[1]
    og = co // groups
    for ci in range(c):
        g = ci // cg
        cc = ci - g * cg
        o0 = g * og
        for y in range(h):
            for xx in range(wd):
                val = xs[ci, y, xx]
                if val == 0:
                    continue
                for ky in range(kh):
                    ty = y + ph - ky * dh
                    if ty < 0 or ty % sh != 0:
                        continue
                    oy = ty // sh
                    if oy >= ho:
                        continue
                    for kx in range(kw):
                        tx = xx + pw - kx * dw
                        if tx < 0 or tx % sw != 0:
                            continue
                        ox = tx // sw
                        if ox >= wo:
                            continue
                        for o in range(o0, o0 + og):
                            cl[oy, ox, o] += wt[cc, ky, kx, o] * val


@_jit
def conv_events(x, wt, sh, sw, ph, pw, dh, dw, groups, out):  # pragma: no cover - compiled
    """PyTorch's cross-correlation of integer events ``x`` [N, C, H, W] with
    integer weights ``wt`` [C/groups, kH, kW, Co] (the weights [Co, C/groups,
    kH, kW] with the output channel last) into ``out`` [N, Ho, Wo, Co]
    (channels last, zeroed by the caller): :func:`_scatter` per sample."""
    for b in range(x.shape[0]):
        _scatter(x[b], wt, sh, sw, ph, pw, dh, dw, groups, out[b])
    return 0


@_jit
def dense_events(x, wt, out):  # pragma: no cover - compiled
    """``out[r] = sum_j wt[j] * x[r, j]`` over the nonzero ``x[r, j]`` only
    (``x`` [R, n_in] integer events, ``wt`` [n_in, n_out] the transposed
    weights, ``out`` [R, n_out] zeroed by the caller): exact integer sums at
    the cost of the events, not of the full product."""
    rows, n_in = x.shape
    n_out = wt.shape[1]
    for r in range(rows):
        acc = out[r]
        for j in range(n_in):
            val = x[r, j]
            if val == 0:
                continue
            col = wt[j]
            for o in range(n_out):
                acc[o] += col[o] * val
    return 0


@_jit
def dense_lif_loop(x, wt, exp, graded, rec_start, rec_target, rec_weight, i_decay, v_decay, v_th,
                   bias, resets, spikes, us, vs, record, b0, b1):  # pragma: no cover - compiled
    """A dense (or dense_rec) layer without delays, synapse and neurons in
    one pass: at step t the synapse sends what it summed from ``x[t - 1]``
    (``x`` [T, B, n_in] events: spikes, or integers when ``graded``; ``wt``
    [n_in, n_out] the weights transposed), with lava's int32 wraps and the
    ``exp`` shift; then :func:`lif_loop`'s update. The same integers as
    :func:`dense_events` followed by :func:`lif_loop`, without the [T, B, n]
    activation arrays."""
    t_steps, b, n_in = x.shape
    n = wt.shape[1]
    has_rec = rec_start.shape[0] > 0
    thr = v_th << 6
    eff = np.empty(n, np.int64)
    for i in range(n):
        eff[i] = _wrap32(bias[i] << 6)
    acc = np.zeros(n, np.int64)
    rec = np.zeros(n, np.int64)
    u = np.zeros(n, np.int64)
    v = np.zeros(n, np.int64)
    for bb in range(b0, b1):
        for i in range(n):
            u[i] = 0
            v[i] = 0
        for t in range(t_steps):
            if resets[t]:
                for i in range(n):
                    u[i] = 0
                    v[i] = 0
            for i in range(n):
                acc[i] = 0
            if t > 0:
                for j in range(n_in):
                    val = x[t - 1, bb, j]
                    if val == 0:
                        continue
                    if not graded:
                        val = 1
                    col = wt[j]
                    for i in range(n):
                        acc[i] += col[i] * val
            if has_rec:
                for i in range(n):
                    rec[i] = 0
                if t > 0:
                    for j in range(n):
                        if spikes[t - 1, bb, j]:
                            for p in range(rec_start[j], rec_start[j + 1]):
                                rec[rec_target[p]] += rec_weight[p]
            for i in range(n):
                a = acc[i]
                if graded:
                    a = _wrap32(a)
                drive = _wrap32(_shift(a, exp))
                if has_rec:
                    drive = _wrap32(drive + _wrap32(_shift(rec[i], exp)))
                uu, vv, fired = _fire(u, v, i, i_decay, v_decay, eff, thr, drive)
                spikes[t, bb, i] = fired
                if record:
                    us[t, bb, i] = uu
                    vs[t, bb, i] = vv
    return 0


@_jit
def _wrap24(x):  # pragma: no cover - compiled
    return ((x + (1 << 23)) & 0xFFFFFF) - (1 << 23)


@_jit
def conv_lif_loop(x, wt, sh, sw, ph, pw, dh, dw, groups, i_decay, v_decay, v_th, bias, resets,
                  spikes, us, vs, record, b0, b1):  # pragma: no cover - compiled
    """A conv layer, synapse and neurons in one pass: at step t the synapse
    sends the cross-correlation of the events ``x[t - 1]`` (``x`` [T, B, C,
    H, W]; ``wt`` [C/groups, kH, kW, Co] as in :func:`conv_events`), wrapped
    to 24 bits; then :func:`lif_loop`'s update of the neurons in C order.
    The same integers as :func:`conv_events` followed by :func:`lif_loop`."""
    t_steps, b, c, h, wd = x.shape
    cg, kh, kw, co = wt.shape
    ho, wo = spikes.shape[3], spikes.shape[4]
    hw = ho * wo
    n = co * hw
    thr = v_th << 6
    eff = np.empty(n, np.int64)
    for i in range(n):
        eff[i] = _wrap32(bias[i] << 6)
    cl = np.zeros((ho, wo, co), np.int64)
    u = np.zeros(n, np.int64)
    v = np.zeros(n, np.int64)
    for bb in range(b0, b1):
        for i in range(n):
            u[i] = 0
            v[i] = 0
        for t in range(t_steps):
            if resets[t]:
                for i in range(n):
                    u[i] = 0
                    v[i] = 0
            cl[:] = 0
            if t > 0:
                _scatter(x[t - 1, bb], wt, sh, sw, ph, pw, dh, dw, groups, cl)
            for o in range(co):
                for y in range(ho):
                    for xx in range(wo):
                        i = o * hw + y * wo + xx
                        drive = _wrap24(cl[y, xx, o])
                        uu, vv, fired = _fire(u, v, i, i_decay, v_decay, eff, thr, drive)
                        spikes[t, bb, o, y, xx] = fired
                        if record:
                            us[t, bb, o, y, xx] = uu
                            vs[t, bb, o, y, xx] = vv
    return 0


@_jit
def _sweep_update(u, v, drive, i, i_decay, v_decay, eff, thr, counts, bb, t, w0, w1):  # pragma: no cover - compiled
    """One neuron's update for every threshold of a sweep: u is shared (no
    recurrent synapse), v and the spike counts are per threshold."""
    uu = _current(u[i], i_decay[i], drive)
    u[i] = uu
    for k in range(thr.shape[0]):
        vv = _membrane(v[k, i], v_decay[i], uu, eff[i])
        if vv > thr[k]:
            vv = 0
            if t >= w0 and t < w1:
                counts[k, bb, i] += 1
        v[k, i] = vv


@_jit
def dense_lif_sweep(x, wt, exp, graded, i_decay, v_decay, v_th, bias, resets, w0, w1, counts,
                    b0, b1):  # pragma: no cover - compiled
    """:func:`dense_lif_loop` of a layer without a recurrent synapse for
    several threshold mantissas at once (``v_th`` [K]): the synapse's sums
    and u are computed once; ``counts`` [K, B, n] gets each threshold's
    spikes in steps ``w0 <= t < w1``."""
    t_steps, b, n_in = x.shape
    n = wt.shape[1]
    kk = v_th.shape[0]
    thr = np.empty(kk, np.int64)
    for k in range(kk):
        thr[k] = v_th[k] << 6
    eff = np.empty(n, np.int64)
    for i in range(n):
        eff[i] = _wrap32(bias[i] << 6)
    acc = np.zeros(n, np.int64)
    u = np.zeros(n, np.int64)
    v = np.zeros((kk, n), np.int64)
    for bb in range(b0, b1):
        u[:] = 0
        v[:] = 0
        for t in range(t_steps):
            if resets[t]:
                u[:] = 0
                v[:] = 0
            acc[:] = 0
            if t > 0:
                for j in range(n_in):
                    val = x[t - 1, bb, j]
                    if val == 0:
                        continue
                    if not graded:
                        val = 1
                    col = wt[j]
                    for i in range(n):
                        acc[i] += col[i] * val
            for i in range(n):
                a = acc[i]
                if graded:
                    a = _wrap32(a)
                _sweep_update(u, v, _wrap32(_shift(a, exp)), i, i_decay, v_decay, eff, thr, counts,
                              bb, t, w0, w1)
    return 0


@_jit
def conv_lif_sweep(x, wt, sh, sw, ph, pw, dh, dw, groups, i_decay, v_decay, v_th, bias, resets,
                   w0, w1, counts, b0, b1):  # pragma: no cover - compiled
    """:func:`conv_lif_loop` for several threshold mantissas at once (see
    :func:`dense_lif_sweep`); ``counts`` [K, B, n] (neurons in C order)."""
    t_steps, b, c, h, wd = x.shape
    cg, kh, kw, co = wt.shape
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    hw = ho * wo
    n = co * hw
    kk = v_th.shape[0]
    thr = np.empty(kk, np.int64)
    for k in range(kk):
        thr[k] = v_th[k] << 6
    eff = np.empty(n, np.int64)
    for i in range(n):
        eff[i] = _wrap32(bias[i] << 6)
    cl = np.zeros((ho, wo, co), np.int64)
    u = np.zeros(n, np.int64)
    v = np.zeros((kk, n), np.int64)
    for bb in range(b0, b1):
        u[:] = 0
        v[:] = 0
        for t in range(t_steps):
            if resets[t]:
                u[:] = 0
                v[:] = 0
            cl[:] = 0
            if t > 0:
                _scatter(x[t - 1, bb], wt, sh, sw, ph, pw, dh, dw, groups, cl)
            for o in range(co):
                for y in range(ho):
                    for xx in range(wo):
                        i = o * hw + y * wo + xx
                        _sweep_update(u, v, _wrap24(cl[y, xx, o]), i, i_decay, v_decay, eff, thr,
                                      counts, bb, t, w0, w1)
    return 0
