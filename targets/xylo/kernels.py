"""The compiled Xylo core of :mod:`.simulator` (numba; imported on first use).

:func:`evolve` is xylosim's algorithm itself, event by event, in int64 (see
the simulator's module doc for the order of a step): no risk analysis is
needed when every addition saturates as it happens. A channel's (or hidden
neuron's) n events of one weight are added as one ``n * w`` and clamped once:
clamping n equal increments one by one gives the same result, because the
path is monotone. Neurons evolve in index order and pass their counts down
their alias lists as they go, which is xylosim's alias rule without a queue.

Why compiled: at Xylo's sizes (1000 hidden neurons, tens of thousands of
synapses) a step is a few thousand additions, so numpy's cost is its calls,
not the arithmetic; one loop over the steps of a sample does the additions
only (measured in benchmarks/xylo_sim.py).
"""

from __future__ import annotations

from nirc.interpreter import jit as _config

# cached in the per-user directory (jit.njit); no cache where none is writable
_jit = _config.njit()
_inline = _config.njit(inline="always")

LO, HI = -32768, 32767


@_inline
def _sat(x):  # pragma: no cover - compiled
    return LO if x < LO else (HI if x > HI else x)


@_inline
def _decay(x, d):  # pragma: no cover - compiled
    """``x >> d``, or 1 where that is 0 for x > 0 (x < 0 never shifts to 0)."""
    r = x >> d
    if r == 0 and x > 0:
        return 1
    return r


@_inline
def _deliver(i_syn, n, ptr, col, w, k):  # pragma: no cover - compiled
    """``n`` events of source ``k`` into its targets, saturating."""
    for j in range(ptr[k], ptr[k + 1]):
        c = col[j]
        i_syn[c] = _sat(i_syn[c] + n * w[j])


@_jit
def evolve(inp, tables, params, n_hid, two, state, out, record, b0, b1):  # pragma: no cover
    """Run the samples ``b0:b1`` of ``inp[T, B, Nin]`` (event counts, at most
    15) through independent cores.

    Units are the hidden neurons then the output neurons; columns are their
    first synapses then, when ``two``, their second ones (outputs never get
    second-synapse input). ``tables``: per input channel and per hidden
    neuron, the columns and (shifted, int16-wrapped) weights it drives, as
    compressed rows ``(in_ptr, in_col, in_w, rec_ptr, rec_col, rec_w)``.
    ``params``: ``(syn_dash[cols], mem_dash, threshold, bias, cap,
    alias_ptr[units + 1], alias_tgt)``, the aliases being each unit's targets in
    list order. ``state``: ``(i_syn[B, cols], v[B, units], spk[B, units])``,
    the counts awaiting delivery in ``spk``, updated in place. ``out``:
    ``(spikes[T, B, units], v_rec, i_rec)``, the states at the end of each step
    written to the last two when ``record``."""
    in_ptr, in_col, in_w, rec_ptr, rec_col, rec_w = tables
    syn_dash, mem_dash, th, bias, cap, alias_ptr, alias_tgt = params
    i_syn, v, spk = state
    spikes, v_rec, i_rec = out
    n_t, n_in = inp.shape[0], inp.shape[2]
    n_units = v.shape[1]
    has_alias = alias_tgt.shape[0] > 0
    for b in range(b0, b1):
        ib = i_syn[b]
        vb = v[b]
        sb = spk[b]
        for t in range(n_t):
            # 1. input events, channels in index order
            for c in range(n_in):
                n = inp[t, b, c]
                if n != 0:
                    _deliver(ib, n, in_ptr, in_col, in_w, c)
            # 2. last step's hidden spikes, neurons in index order
            for k in range(n_hid):
                n = sb[k]
                if n != 0:
                    _deliver(ib, n, rec_ptr, rec_col, rec_w, k)
            # 3 + 4. neurons in index order, counts from aliases first
            for u in range(n_units):
                sb[u] = 0
            for u in range(n_units):
                x = ib[u]
                x -= _decay(x, syn_dash[u])
                ib[u] = x
                total = x
                if two:
                    y = ib[n_units + u]
                    y -= _decay(y, syn_dash[n_units + u])
                    ib[n_units + u] = y
                    total += y
                vu = vb[u]
                dv = -_decay(vu, mem_dash[u])
                if dv == 32768:  # does not fit int16: xylosim's wraps
                    dv = LO
                dv = _sat(_sat(dv + total) + bias[u])
                vu = _sat(vu + dv)
                n = sb[u]
                thr = th[u]
                cu = cap[u]
                if thr > 0:
                    if vu >= thr and n < cu:
                        m = min(vu // thr, cu - n)
                        n += m
                        vu -= m * thr
                else:  # a threshold <= 0: every spike moves v up, wrapping at int16
                    while vu >= thr and n < cu:
                        n += 1
                        vu = ((vu - thr + 32768) & 0xFFFF) - 32768
                vb[u] = vu
                sb[u] = n
                if has_alias and n != 0:
                    for j in range(alias_ptr[u], alias_ptr[u + 1]):
                        a = alias_tgt[j]
                        sb[a] = min(sb[a] + n, 31)
            for u in range(n_units):
                spikes[t, b, u] = sb[u]
            if record:
                for u in range(n_units):
                    v_rec[t, b, u] = vb[u]
                for c in range(ib.shape[0]):
                    i_rec[t, b, c] = ib[c]
