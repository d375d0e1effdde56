"""The compiled Speck network of :mod:`.simulator` (numba; imported on first use).

:func:`run_network` steps a whole placed network, every layer in routing
order within each step, one sample at a time, in one compiled loop: the
model of the simulator's module doc, integer for integer. It is fast the way
the chip is, by events:

- a layer's input is a list of events (positions with a nonzero count),
  appended as its sources' spikes are pooled into it, so no layer scans a
  dense map; the host's input is scanned 64 bytes at a time (a bit mask per
  64 from one vector compare, the program's ``_nonzero64``, whose set bits
  are visited), and goes straight to the synapses of a layer nothing else
  sends to;
- each event adds its weights to the output cells it reaches, channels-last,
  where one kernel row reaches a run of consecutive cells, all their
  features one contiguous slice of the outputs; the weights are laid out so
  that the slice's weights are contiguous too (:func:`.simulator._segments`):
  an event is a few runs of 16-element vector adds (:func:`_lanes_of`; other
  lengths a loop), tabulated per input position, so that no event needs a
  division;
- the neurons of a layer are one vectorized pass over its membranes, which
  also finds the largest; only when that reaches the threshold are the
  spiking neurons picked out (the same bit masks: they are few), reset,
  counted and routed one by one;
- a layer without input and leak, with every membrane below threshold, is
  left alone: nothing in it can change;
- sums are int32 (twice the vector width of int64) when the run's numbers
  provably fit (see simulator._CompiledNetwork), else int64.

The order of the additions within a step cannot matter: the sums are exact
integers, and the membrane saturates only once the step's input is summed.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from nirc.interpreter import jit as _config

# the program's compare of 64 bytes into a bit mask; numba caches this module's
# machine code by this file's stamp: touch it when that intrinsic changes
from nirc.interpreter.program_kernels import _nonzero64

# cached in the per-user directory (jit.njit); no cache where none is writable
_jit = _config.njit()
_inline = _config.njit(inline="always")

U0, U1 = np.uint64(0), np.uint64(1)

# columns of the per-layer parameter table ``P`` (see simulator._CompiledNetwork)
C, H, W, F, OH, OW, KY, KX = 0, 1, 2, 3, 4, 5, 6, 7
THR, LOW, RTZ, LEAK = 8, 9, 10, 11
B_OFF, V_OFF, IN_OFF, FEED_OFF, OUT_OFF, REC_OFF = 12, 13, 14, 15, 16, 17
N_DEST, D0, P0, D1, P1, ROUTE_OFF, FED_ONLY = 18, 19, 20, 21, 22, 23, 24
N_PARAMS = 25
# overflow modes
SATURATE, WRAP, NONE = 0, 1, 2


@_inline
def _set_bits(mask, first, idx, n):  # pragma: no cover - compiled
    """Append ``first + i`` to ``idx[n:]`` for each set bit i of ``mask``;
    returns the new length (a trailing-zero count per bit: no branch per
    byte)."""
    while mask != U0:
        idx[n] = first + np.int64(trailing_zeros(mask))
        mask &= mask - U1
        n += 1
    return n


LANES = 16  # elements per vector add: one AVX-512 register of int32, two of int64


def _lanes_of(times_n: bool):
    """An intrinsic ``add(acc, ao, w, wo, n)``: ``acc[ao : ao+16] += w[wo :
    wo+16]`` (times ``n`` when ``times_n``) as one vector load, (multiply,)
    add and store, integers of the arrays' one type (exact in any order). The
    loop vectorizer would check ``acc`` and ``w`` for overlap at run time and
    keep scalar remainder loops: on runs of 16-48 elements those cost more
    than the additions (the paper CNN: 13.4 -> 11.6 CPU-us per sample-step)."""

    @intrinsic
    def add(typingctx, acc, ao, w, wo, n):  # pragma: no cover - compiled
        def codegen(context, builder, signature, args):
            acc_v, ao_v, w_v, wo_v, n_v = args
            ty = context.get_value_type(signature.args[0].dtype)
            vt = ir.VectorType(ty, LANES)
            a = context.make_array(signature.args[0])(context, builder, acc_v)
            b = context.make_array(signature.args[2])(context, builder, w_v)
            ap = builder.bitcast(builder.gep(a.data, [ao_v]), vt.as_pointer())
            wv = builder.load(builder.bitcast(builder.gep(b.data, [wo_v]), vt.as_pointer()), align=4)
            if times_n:
                nv = context.cast(builder, n_v, signature.args[4], signature.args[0].dtype)
                undef = ir.Constant(vt, ir.Undefined)
                lane = builder.insert_element(undef, nv, ir.Constant(ir.IntType(32), 0))
                zeros = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
                wv = builder.mul(wv, builder.shuffle_vector(lane, undef, zeros))
            builder.store(builder.add(builder.load(ap, align=4), wv), ap, align=4)
            return context.get_dummy_value()

        return types.void(acc, ao, w, wo, n), codegen

    return add


_add_lanes = _lanes_of(False)
_add_lanes_n = _lanes_of(True)


@_inline
def _scatter(acc, segs, dec, weights, q, n):  # pragma: no cover - compiled
    """Add ``n`` events at input position ``q`` (its segments: ``dec``):
    segments of a multiple of 16 elements (16 features, or 8 over two
    columns...) 16 at a time (:func:`_add_lanes`), the others by a loop."""
    s0, s1, w0 = dec[3 * q], dec[3 * q + 1], dec[3 * q + 2]
    for sg in range(s0, s1):
        # unsigned indices: numba then skips its negative-index wrap-around,
        # and the loop vectorizes
        o0, ln = np.uint64(segs[sg, 0]), np.uint64(segs[sg, 2])
        wo = np.uint64(w0 + segs[sg, 1])
        if ln % LANES == 0 and n == 1:  # most events
            for j in range(0, ln, LANES):
                _add_lanes(acc, o0 + j, weights, wo + j, n)
        elif ln % LANES == 0:
            for j in range(0, ln, LANES):
                _add_lanes_n(acc, o0 + j, weights, wo + j, n)
        elif n == 1:  # most events: no multiplication
            for j in range(ln):
                acc[o0 + j] += weights[wo + j]
        else:
            for j in range(ln):
                acc[o0 + j] += weights[wo + j] * n


@_jit
def run_network(order, P, tables, feed, v, out, rec, record, modes, b0, b1):  # pragma: no cover
    """Simulate the samples ``b0:b1`` of ``feed[T, B, *]`` (each fed layer's
    events, ``[c, h, w]`` at its ``FEED_OFF``) through the layers ``order``
    (routing order) described by the rows of ``P`` (see the column names
    above), from the membranes ``v[B, *]`` (each layer's channels-last ``[oh,
    ow, f]`` at ``V_OFF``, updated in place). Spike counts of the layers with
    an ``OUT_OFF`` >= 0 go to ``out[T, B, *]`` (``[f, oh, ow]``), and with
    ``record`` every layer's membrane at the end of each step to ``rec[T, B,
    *]`` (at ``REC_OFF``). Sums are held in ``v``'s integer type.

    ``tables``: ``(segs, dec, weights, biases, perm, route, iperm)``. A
    layer's input counts are channels-last ``[h, w, c]`` at its ``IN_OFF`` of
    one buffer (``iperm``, at ``IN_OFF``: each input's place there, from
    layer order); a layer with ``FED_ONLY`` takes the host's events directly;
    for position ``q`` of the buffer, ``dec[3 q : 3 q + 3]`` is the range of
    ``segs`` rows an event there adds and where its channel's weights start.
    A row of ``segs`` is ``(o0, w, n)``: ``acc[o0 + i] += weights[start + w +
    i] * count`` for ``i < n`` (see simulator._segments). ``biases``: ``[f]``
    at ``B_OFF``. ``perm``: each neuron's index in layer order ``[f, oh, ow]``
    (at ``V_OFF``). ``route``: where each neuron's spikes land in the input
    buffer (-1: dropped by the pooling), destination d's at ``ROUTE_OFF + d
    m`` (m: the layer's neurons). ``modes``: ``(multi, overflow, lo, hi,
    byte_feed)``, ``lo..hi`` the membrane's range (2**bits values: wrapping
    is a mask), ``byte_feed`` whether ``feed`` holds uint8."""
    segs, dec, weights, biases, perm, route, iperm = tables
    multi, overflow, lo, hi, byte_feed = modes
    n_t = feed.shape[0]
    n_layers = P.shape[0]
    in_size = 0
    max_acc = 1
    max_feed = 1
    for layer in range(n_layers):
        in_size += P[layer, C] * P[layer, H] * P[layer, W]
        max_acc = max(max_acc, P[layer, OH] * P[layer, OW] * P[layer, F])
        if P[layer, FEED_OFF] >= 0:
            max_feed = max(max_feed, P[layer, C] * P[layer, H] * P[layer, W])
    in_buf = np.zeros(in_size, v.dtype)  # every layer's input counts, channels-last
    # the positions listed in them, layer l's from IN_OFF + l: one spare slot
    # each, which the branch-free appends write when all positions are listed
    evl = np.zeros(in_size + n_layers, np.int64)
    nev = np.zeros(n_layers, np.int64)
    acc = np.zeros(max_acc, v.dtype)
    idx = np.zeros(max(max_feed, max_acc), np.int64)
    # the counts of what idx lists (the host's events, or spikes)
    cnt = np.zeros(max(max_feed, max_acc), np.int64)
    mk = np.zeros(64 * (max_acc // 64 + 1), np.uint8)
    words = mk.view(np.uint64)
    above = np.zeros(n_layers, np.bool_)  # a membrane at or above threshold
    mask = hi - lo
    for b in range(b0, b1):
        vb = v[b]
        for t in range(n_t):
            for k in range(order.shape[0]):
                layer = order[k]
                c, h, w, f = P[layer, C], P[layer, H], P[layer, W], P[layer, F]
                oh, ow = P[layer, OH], P[layer, OW]
                base = P[layer, IN_OFF]
                ne = nev[layer]
                # the host's events, [c, h, w]: 64 bytes a time as a bit mask
                # (uint8 counts), else compacted branch-free
                fo = P[layer, FEED_OFF]
                n_host = 0
                if fo >= 0:
                    n_in = c * h * w
                    xs = feed[t, b, fo : fo + n_in]
                    whole = n_in - n_in % 64 if byte_feed else 0
                    if whole:
                        xw = xs[:whole].view(np.uint64)
                        for blk in range(whole // 64):
                            bits = _nonzero64(xw, 8 * blk)
                            n_host = _set_bits(bits, 64 * blk, idx, n_host)
                    for i in range(whole, n_in):
                        idx[n_host] = i
                        n_host += xs[i] != 0
                    if P[layer, FED_ONLY]:  # the host's events go straight to the synapses
                        for e in range(n_host):
                            i = idx[e]
                            idx[e] = base + iperm[base + i]
                            cnt[e] = xs[i]
                    else:  # merged with the other sources' events
                        for e in range(n_host):
                            i = idx[e]
                            q = base + iperm[base + i]
                            evl[base + layer + ne] = q  # listed once: when it was empty
                            ne += in_buf[q] == 0
                            in_buf[q] += xs[i]
                        n_host = 0
                leak = P[layer, LEAK] != 0
                m = oh * ow * f
                vo = P[layer, V_OFF]
                vl = vb[vo : vo + m]
                thr, low = P[layer, THR], P[layer, LOW]
                if ne == 0 and n_host == 0 and not leak and t > 0 and not above[layer]:
                    # nothing can change: no spikes (``out`` is zero), same membranes
                    if record:
                        _record(rec[t, b], P[layer, REC_OFF], vl, perm[vo : vo + m])
                    continue
                # convolution: each event adds its weights to the cells it reaches,
                # a segment (one kernel row's run of output cells) at a time
                for e in range(n_host):
                    _scatter(acc, segs, dec, weights, idx[e], cnt[e])
                for e in range(ne):
                    q = evl[base + layer + e]
                    _scatter(acc, segs, dec, weights, q, in_buf[q])
                    in_buf[q] = 0
                nev[layer] = 0
                # neurons: one vectorized pass, then the spiking ones
                al = acc[:m]
                if leak:
                    bias = biases[P[layer, B_OFF] :][:f]
                    for a0 in range(0, m, f):
                        for j in range(f):
                            al[a0 + j] += bias[j]
                top = lo
                if overflow == SATURATE:
                    for i in range(m):
                        x = min(vl[i] + al[i], hi)
                        al[i] = 0
                        top = max(top, x)
                        vl[i] = max(x, low)
                elif overflow == WRAP:
                    for i in range(m):
                        x = ((vl[i] + al[i] - lo) & mask) + lo
                        al[i] = 0
                        top = max(top, x)
                        vl[i] = max(x, low)
                else:
                    for i in range(m):
                        x = vl[i] + al[i]
                        al[i] = 0
                        top = max(top, x)
                        vl[i] = max(x, low)
                if top >= thr:
                    # the neurons at threshold: a byte mask, then a bit mask per
                    # 64 neurons, whose set bits are visited (they are few)
                    for i in range(m):
                        mk[i] = vl[i] >= thr
                    n_blk = (m + 63) // 64
                    mk[m : 64 * n_blk] = 0
                    ns = 0
                    for blk in range(n_blk):
                        bits = _nonzero64(words, 8 * blk)
                        ns = _set_bits(bits, 64 * blk, idx, ns)
                    rtz = P[layer, RTZ] != 0
                    oo = P[layer, OUT_OFF]
                    top = lo  # the others are below threshold
                    for e in range(ns):
                        i = idx[e]
                        x = vl[i]
                        n = x // thr if multi else 1
                        cnt[e] = n
                        x = max(0 if rtz else x - n * thr, low)
                        vl[i] = x
                        top = max(top, x)
                    if oo >= 0:
                        for e in range(ns):
                            out[t, b, oo + perm[vo + idx[e]]] = cnt[e]
                    for d in range(P[layer, N_DEST]):
                        rt = route[P[layer, ROUTE_OFF] + d * m :][:m]
                        dest = P[layer, D0 + 2 * d]
                        ebase, ne = P[dest, IN_OFF] + dest, nev[dest]
                        for e in range(ns):
                            q = rt[idx[e]]
                            if q >= 0:
                                evl[ebase + ne] = q  # listed once: when it was empty
                                ne += in_buf[q] == 0
                                in_buf[q] += cnt[e]
                        nev[dest] = ne
                above[layer] = top >= thr
                if record:
                    _record(rec[t, b], P[layer, REC_OFF], vl, perm[vo : vo + m])


@_jit
def _record(row, r0, vl, perm):  # pragma: no cover - compiled
    """A layer's channels-last membranes into ``row[r0:]`` in layer order."""
    for i in range(vl.shape[0]):
        row[r0 + perm[i]] = vl[i]
