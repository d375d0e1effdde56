"""The simulator's loops compiled with numba (optional: the ``fast`` extra).

Imported on first use only. The neuron update is the numpy loop of
:mod:`.simulator` element by element: the same float32 operations in the same
order (numba does not fuse a multiply and an add without ``fastmath``), so
spikes and voltages are identical bit for bit. Synaptic input is a sum of
integer weights (times integer spike counts), exact in float32 below 2**24
whatever the order of the additions: the kernels add them in the order that
is fastest (four weight rows at a time, in integers when the weights fit
int16). Cached on disk where nirc's interpreter caches its kernels.

Events: the spikes of a population as, for every row ``b * steps + t``
(sample-major), the indices of the neurons that fire, ``idx[ptr[r]:ptr[r +
1]]``; an input element with ``c`` events in a step is listed ``c`` times.
"""

from __future__ import annotations

import numpy as np

from nirc.interpreter import jit as _config

_jit = _config.njit()


@_jit
def _neuron_row(x, v, cur, count, b, alpha, thr, off, v_reset, subtract, current, decay, refrac,
                spikes, volts, t, record_v):  # fmt: skip
    """Step ``t`` of the ``n`` neurons of sample ``b``: input ``x`` [n], state
    ``v`` [B, n] (and ``cur``, ``count`` for the current models) updated in
    place; writes ``spikes[t, b]`` (1 where a neuron fires, else 0; and
    ``volts[t, b]`` when ``record_v``). Whole arrays and indices, not row
    views: a view costs more than a step of a small population."""
    n = x.shape[0]
    if not current:  # the plain models without branches (vectorized)
        for k in range(n):
            new = alpha[k] * v[b, k] + x[k] + off[k]
            fired = new > thr[k]
            after = new - thr[k] if subtract else v_reset[k]
            new = after if fired else new
            v[b, k] = new
            spikes[t, b, k] = 1 if fired else 0
            if record_v:
                volts[t, b, k] = new
        return
    for k in range(n):
        c = decay[k] * cur[b, k] + x[k]
        cur[b, k] = c
        new = alpha[k] * v[b, k] + c + off[k]
        held = False
        if refrac > 0 and count[b, k] > 0:
            new = v_reset[k]
            held = True
            count[b, k] -= 1
        fired = new > thr[k] and not held
        if fired:
            if refrac > 0:
                count[b, k] = refrac
            if subtract:
                new = new - thr[k]
            else:
                new = v_reset[k]
        v[b, k] = new
        spikes[t, b, k] = 1 if fired else 0
        if record_v:
            volts[t, b, k] = new


@_jit
def _compact(spikes, t, b, events, m):
    """Append the indices of the nonzero (0/1) ``spikes[t, b]`` to ``events``
    from ``m`` on (room for ``n`` more); the new count. Without branches."""
    for k in range(spikes.shape[2]):
        events[m] = k
        m += spikes[t, b, k] != 0
    return m


@_jit
def _grow(a, need):
    if a.shape[0] >= need:
        return a
    b = np.empty(max(need, 2 * a.shape[0]), a.dtype)
    b[: a.shape[0]] = a
    return b


@_jit
def _room(rows, n):
    """A first size of an events buffer: one spike in 16 neuron steps (it grows)."""
    return max(2 * n + 64, rows * n // 16)


@_jit
def _state(batch, n):
    return np.zeros((batch, n), np.float32), np.zeros((batch, n), np.int64)


@_jit
def _lateral(x, spikes, t, b, lat, d0, copies, rest, total):  # pragma: no cover - compiled
    """Add to ``x`` [n] what the lateral synapses of multi-spike copies send
    from step ``t`` of sample ``b``: each copy of an element gets the
    element's weight ``lat`` [n] times the spikes of its other copies (copy
    ``c`` of element ``(a, r)`` is neuron ``(a * copies + c) * rest + r``),
    in float32 as the simulator's numpy loop computes it: the copies' sum,
    less the neuron's own spike, times the weight, added to ``x``. The
    loops run along ``r`` (``total`` [rest]: the copies' sums), whose
    neurons are consecutive: vectorized."""
    row = spikes[t, b]
    for a in range(d0):
        for r in range(rest):
            total[r] = np.float32(0.0)
        for c in range(copies):
            base = (a * copies + c) * rest
            for r in range(rest):
                total[r] += np.float32(row[base + r])
        for c in range(copies):
            base = (a * copies + c) * rest
            for r in range(rest):
                i = base + r
                x[i] = x[i] + lat[i] * (total[r] - np.float32(row[i]))


@_jit
def neuron_loop(drive, v, alpha, thr, off, v_reset, subtract, current, decay, refrac, spikes,
                volts, record_v, want_events, lat, lat_shape, b0, b1):  # fmt: skip
    """One population over all steps: ``drive`` [T, B, n] (the weights that
    arrive each step), state ``v`` [B, n] (updated in place); writes
    ``spikes`` [T, B, n] (0 or 1; and ``volts`` [T, B, n] when ``record_v``),
    for the samples ``b0`` to ``b1 - 1`` (threads run disjoint ranges).
    ``lat`` [n] (empty: none): the lateral synapses of its multi-spike
    copies (:func:`_lateral`; ``lat_shape``: first axis, copies, rest,
    delay), from the spikes of step ``t - 1 - delay``.
    Returns their events (``ptr``, ``idx``: rows from ``b0 * steps`` on;
    empty unless ``want_events``)."""
    steps, batch, n = drive.shape
    cur, count = _state(batch, n)
    ptr = np.zeros(steps * (b1 - b0) + 1 if want_events else 1, np.int64)
    idx = np.empty(_room(steps * (b1 - b0), n) if want_events else 0, np.int32)
    m = 0
    x = np.empty(n, np.float32)
    d0, copies, rest, delay = lat_shape[0], lat_shape[1], lat_shape[2], lat_shape[3]
    total = np.empty(rest, np.float32)
    for b in range(b0, b1):
        for t in range(steps):
            for k in range(n):
                x[k] = drive[t, b, k]
            if lat.shape[0] > 0 and t - 1 - delay >= 0:
                _lateral(x, spikes, t - 1 - delay, b, lat, d0, copies, rest, total)
            _neuron_row(x, v, cur, count, b, alpha, thr, off, v_reset, subtract, current, decay,
                        refrac, spikes, volts, t, record_v)  # fmt: skip
            if want_events:
                idx = _grow(idx, m + n)
                m = _compact(spikes, t, b, idx, m)
                ptr[(b - b0) * steps + t + 1] = m
    return ptr, idx[:m]


@_jit
def dense_layer(ptr, idx, delays, first_row, weights, acc, drive, has_drive, v, alpha, thr, off,
                v_reset, subtract, current, decay, refrac, spikes, volts, record_v, want_events,
                b0, b1):  # fmt: skip
    """A population fed (besides ``drive`` [T, B, n], when ``has_drive``) by
    dense projections from sources given as events, the synaptic input summed
    a step at a time right before the neurons use it (it never leaves the
    cache): projection ``g``'s source events of row ``r`` are
    ``idx[ptr[g, r]:ptr[g, r + 1]]``, its spikes arrive ``delays[g]`` steps
    later, and source neuron ``i``'s weights are row ``first_row[g] + i`` of
    ``weights`` [*, n]. ``acc`` [n] is the scratch the weights are summed in:
    int32 for int16 weights (half the memory traffic of float32; exact), else
    float32. Otherwise as :func:`neuron_loop` (the same returns)."""
    steps, batch, n = spikes.shape
    groups = ptr.shape[0]
    x = np.empty(n, np.float32)
    cur, count = _state(batch, n)
    out_ptr = np.zeros(steps * (b1 - b0) + 1 if want_events else 1, np.int64)
    out = np.empty(_room(steps * (b1 - b0), n) if want_events else 0, np.int32)
    m = 0
    for b in range(b0, b1):
        for t in range(steps):
            acc[:] = 0
            for g in range(groups):
                ts = t - delays[g]
                if ts < 0:
                    continue
                r = b * steps + ts
                f = first_row[g]
                e, end = ptr[g, r], ptr[g, r + 1]
                while e + 4 <= end:  # four rows at a time: a quarter of the loads and stores
                    p0 = f + idx[e]
                    p1 = f + idx[e + 1]
                    p2 = f + idx[e + 2]
                    p3 = f + idx[e + 3]
                    for q in range(n):
                        acc[q] += (weights[p0, q] + weights[p1, q]) + (weights[p2, q] + weights[p3, q])
                    e += 4
                while e < end:
                    p0 = f + idx[e]
                    for q in range(n):
                        acc[q] += weights[p0, q]
                    e += 1
            if has_drive:
                for k in range(n):
                    x[k] = drive[t, b, k] + np.float32(acc[k])
            else:
                for k in range(n):
                    x[k] = np.float32(acc[k])
            _neuron_row(x, v, cur, count, b, alpha, thr, off, v_reset, subtract, current, decay,
                        refrac, spikes, volts, t, record_v)  # fmt: skip
            if want_events:
                out = _grow(out, m + n)
                m = _compact(spikes, t, b, out, m)
                out_ptr[(b - b0) * steps + t + 1] = m
    return out_ptr, out[:m]


@_jit
def events_of(spikes, counts, b0, b1):
    """The events of ``spikes`` [T, B, n] (0 or 1, or event counts when
    ``counts``) for the samples ``b0`` to ``b1 - 1`` (rows from ``b0 * T`` on)."""
    steps, batch, n = spikes.shape
    ptr = np.zeros(steps * (b1 - b0) + 1, np.int64)
    idx = np.empty(_room(steps * (b1 - b0), n), np.int32)
    m = 0
    for b in range(b0, b1):
        for t in range(steps):
            idx = _grow(idx, m + n)
            m0 = m
            m = _compact(spikes, t, b, idx, m)
            if counts:  # a neuron with c events is listed c times
                for j in range(m0, m):
                    k = idx[j]
                    for _ in range(1, spikes[t, b, k]):
                        idx = _grow(idx, m + 1)
                        idx[m] = k
                        m += 1
            ptr[(b - b0) * steps + t + 1] = m
    return ptr, idx[:m]


@_jit
def integer_range(values):
    """(whether all ``values`` are integers, their largest magnitude)."""
    whole = True
    top = 0.0
    for v in values:
        whole &= v == np.rint(v)
        top = max(top, abs(v))
    return whole, top


@_jit
def add_at(out, rows, cols, values):
    """``out[rows[i], cols[i]] += values[i]`` (a matrix from coordinates)."""
    for i in range(rows.shape[0]):
        out[rows[i], cols[i]] += values[i]


@_jit
def scatter_rows(spikes, dense, out):
    """``out += spikes @ dense`` driven by the nonzero spikes (event counts):
    each adds its row of weights."""
    rows, n_pre = spikes.shape
    n_post = dense.shape[1]
    for r in range(rows):
        for p in range(n_pre):
            if spikes[r, p] != 0:
                s = np.float32(spikes[r, p])
                for q in range(n_post):
                    out[r, q] += s * dense[p, q]


__all__ = ["add_at", "dense_layer", "integer_range", "events_of", "neuron_loop", "scatter_rows"]
