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
  sends to (with uint8 events, added as the scan finds them);
- each event adds its weights to the output cells it reaches, channels-last.
  Where the runs are whole vectors and add little beyond the kernel, as
  fixed blocks (:func:`.simulator._blocks`, the float program's layout:
  one packed table entry per event, then one run of ``cols * f`` elements
  per kernel row into an accumulator of the output's rows with column
  margins, taps past the kernel zero; no run lengths to mispredict: the
  paper CNN 25.3 -> 19.7 CPU-us per sample-step on an AVX2 machine). Elsewhere by segments: one
  kernel row reaches a run of consecutive cells, all their features one
  contiguous slice of the outputs, the weights laid out so that the slice's
  weights are contiguous too (:func:`.simulator._segments`). Either way
  16-element vector adds (:func:`_lanes_of`; other lengths a loop),
  tabulated per input position, so that no event needs a division;
- the neurons of a layer are one pass over its membranes in their own
  integer type (:func:`_integrate_of`), which also finds the largest; only
  when that reaches the threshold are the spiking neurons picked out (a bit
  per neuron, one compare per 16) and each visited once: reset, counted and
  routed;
- a layer without input and leak, with every membrane below threshold, is
  left alone: nothing in it can change;
- sums are int32 (twice the vector width of int64) when the run's numbers
  provably fit (see simulator._CompiledNetwork), else int64; a layer of
  blocks whose sums fit int16 in the run accumulates in int16 (half the
  bytes per event: the paper CNN 14.8 -> 13.6 CPU-us per sample-step), its
  loops compiled apart for each type (:func:`_scan_blocks`,
  :func:`_list_blocks`, :func:`_block_neurons`);
- no inlined function with array arguments runs per spike: numba counts
  references to them atomically (a fused spike loop calling one ran 40 %
  slower than this one).

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

# the program's compare of 64 bytes into a bit mask and its LLVM helpers (a
# splat, a counted loop); numba caches this module's machine code by this
# file's stamp: touch it when those change
from nirc.interpreter.program_kernels import _I64, _close_loop, _nonzero64, _open_loop, _splat

# cached in the per-user directory (jit.njit); no cache where none is writable
_jit = _config.njit()
_inline = _config.njit(inline="always")

U0, U1, U16 = np.uint64(0), np.uint64(1), np.uint64(16)

# columns of the per-layer parameter table ``P`` (see simulator._CompiledNetwork)
C, H, W, F, OH, OW, KY, KX = 0, 1, 2, 3, 4, 5, 6, 7
THR, LOW, RTZ, LEAK = 8, 9, 10, 11
B_OFF, V_OFF, IN_OFF, FEED_OFF, OUT_OFF, REC_OFF = 12, 13, 14, 15, 16, 17
N_DEST, D0, P0, D1, P1, ROUTE_OFF, FED_ONLY = 18, 19, 20, 21, 22, 23, 24
# a layer of fixed blocks (BLK_RUN > 0; simulator._blocks): the run's length,
# the accumulator's row stride, the blocks' weights, output cell (0, 0) and size
# and where in ``tabs`` its table in layer order ``[c, h, w]`` is (for the
# host's events: no permutation)
# (BLK_NARROW: its sums are int16 in this run, see simulator._CompiledNetwork)
BLK_RUN, BLK_RS, BLK_W, BLK_BASE, BLK_TOTAL, BLK_HOST, BLK_NARROW = 25, 26, 27, 28, 29, 30, 31
N_PARAMS = 32
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


def _lanes_of(times_n: bool, lanes: int = LANES):
    """An intrinsic ``add(acc, ao, w, wo, n)``: ``acc[ao : ao+lanes] += w[wo :
    wo+lanes]`` (times ``n`` when ``times_n``) as one vector load, (multiply,)
    add and store, integers of the arrays' one type (exact in any order). The
    loop vectorizer would check ``acc`` and ``w`` for overlap at run time and
    keep scalar remainder loops: on runs of 16-48 elements those cost more
    than the additions (the paper CNN: 13.4 -> 11.6 CPU-us per sample-step)."""

    @intrinsic
    def add(typingctx, acc, ao, w, wo, n):  # pragma: no cover - compiled
        def codegen(context, builder, signature, args):
            acc_v, ao_v, w_v, wo_v, n_v = args
            ty = context.get_value_type(signature.args[0].dtype)
            vt = ir.VectorType(ty, lanes)
            a = context.make_array(signature.args[0])(context, builder, acc_v)
            b = context.make_array(signature.args[2])(context, builder, w_v)
            ap = builder.bitcast(builder.gep(a.data, [ao_v]), vt.as_pointer())
            wv = builder.load(builder.bitcast(builder.gep(b.data, [wo_v]), vt.as_pointer()), align=4)
            if times_n:
                nv = context.cast(builder, n_v, signature.args[4], signature.args[0].dtype)
                wv = builder.mul(wv, _splat(builder, nv, vt))
            builder.store(builder.add(builder.load(ap, align=4), wv), ap, align=4)
            return context.get_dummy_value()

        return types.void(acc, ao, w, wo, n), codegen

    return add


_add_lanes = _lanes_of(False)
_add_lanes_n = _lanes_of(True)
_add_8 = _lanes_of(False, 8)
_add_8_n = _lanes_of(True, 8)


@_inline
def _add_run(acc, ao, weights, wo, n, run):  # pragma: no cover - compiled
    """``acc[ao : ao+run] += weights[wo : wo+run] * n``, ``run`` a multiple
    of 8: 16 elements a vector add, then 8 (the same branches for every event
    of a layer)."""
    j = U0
    if n == 1:
        while j + U16 <= run:
            _add_lanes(acc, ao + j, weights, wo + j, n)
            j += U16
        if j < run:
            _add_8(acc, ao + j, weights, wo + j, n)
    else:
        while j + U16 <= run:
            _add_lanes_n(acc, ao + j, weights, wo + j, n)
            j += U16
        if j < run:
            _add_8_n(acc, ao + j, weights, wo + j, n)


@_inline
def _block(acc, tabs, weights, q, n, w0, run, rstride):  # pragma: no cover - compiled
    """Add ``n`` events at input position ``q`` of a layer of fixed blocks:
    one packed entry (accumulator offset, weight offset, rows), then a run of
    ``run`` elements per row, one accumulator row apart (rows upward); ``w0``,
    ``run`` and ``rstride`` uint64 (numba mixes uint64 and int64 as floats)."""
    ent = tabs[q]
    ao = np.uint64(ent & 0xFFFFFFFF)
    wo = np.uint64(w0 + ((ent >> 32) & 0xFFFFFF))
    for _ in range(ent >> 56):
        _add_run(acc, ao, weights, wo, n, run)
        ao -= rstride
        wo += run


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


@_inline
def _add_bias(al, bias, f):  # pragma: no cover - compiled
    """A feature's bias to each of its cells, channels-last."""
    for a0 in range(0, al.shape[0], f):
        for j in range(f):
            al[a0 + j] += bias[j]


def _integrate_of(wrap: bool):
    """An intrinsic ``step(vl, al, n, hi, lo, low, top)``: :func:`_integrate`
    (saturating, or wrapping when ``wrap``; ``hi - lo`` then the mask) on the
    first ``16 * (n // 16)`` neurons, in the membranes' integer type (the sums
    ``al`` that or narrower: widened), 16 at a time; returns the largest of
    ``top`` and the sums. numba widens int32 arithmetic to int64, whose min
    and max AVX2 lacks (a compare and a blend each): the loop ran at a cycle
    per neuron."""

    @intrinsic
    def step(typingctx, vl, al, n, hi, lo, low, top):  # pragma: no cover - compiled
        def codegen(context, builder, signature, args):
            vl_v, al_v, n_v, hi_v, lo_v, low_v, top_v = args
            sa = signature.args
            ty = context.get_value_type(sa[0].dtype)
            vt = ir.VectorType(ty, LANES)
            aty = context.get_value_type(sa[1].dtype)  # the sums: as wide, or int16
            avt = ir.VectorType(aty, LANES)
            vd = context.make_array(sa[0])(context, builder, vl_v).data
            ad = context.make_array(sa[1])(context, builder, al_v).data
            his, los, lows = _splat(builder, hi_v, vt), _splat(builder, lo_v, vt), _splat(builder, low_v, vt)
            start = _splat(builder, top_v, vt)
            turns = builder.sdiv(n_v, ir.Constant(_I64, LANES))
            loop = _open_loop(builder, turns, "integrate")
            i, pre = loop[0], loop[1]
            tv = builder.phi(vt)
            off = builder.mul(i, ir.Constant(_I64, LANES))
            pv = builder.bitcast(builder.gep(vd, [off]), vt.as_pointer())
            pa = builder.bitcast(builder.gep(ad, [off]), avt.as_pointer())
            a = builder.load(pa, align=2)
            if aty.width < ty.width:
                a = builder.sext(a, vt)
            x = builder.add(builder.load(pv, align=4), a)
            if wrap:
                x = builder.add(builder.and_(builder.sub(x, los), builder.sub(his, los)), los)
            else:
                x = builder.select(builder.icmp_signed(">", x, his), his, x)
            tv2 = builder.select(builder.icmp_signed(">", x, tv), x, tv)
            builder.store(builder.select(builder.icmp_signed("<", x, lows), lows, x), pv, align=4)
            builder.store(ir.Constant(avt, [0] * LANES), pa, align=2)
            last = _close_loop(builder, loop, turns)
            tv.add_incoming(start, pre)
            tv.add_incoming(tv2, last)
            fin = builder.phi(vt)
            fin.add_incoming(start, pre)
            fin.add_incoming(tv2, last)
            best = builder.extract_element(fin, ir.Constant(ir.IntType(32), 0))
            for q in range(1, LANES):
                e = builder.extract_element(fin, ir.Constant(ir.IntType(32), q))
                best = builder.select(builder.icmp_signed(">", e, best), e, best)
            return builder.sext(best, _I64) if ty.width < 64 else best

        return types.int64(vl, al, n, hi, lo, low, top), codegen

    return step


_saturate16 = _integrate_of(False)
_wrap16 = _integrate_of(True)


@intrinsic
def _at_threshold(typingctx, vl, n, thr, half):  # pragma: no cover - compiled
    """Bit i of ``half`` (uint16, 16 neurons each) set where ``vl[i] >=
    thr``, for the first ``16 * (n // 16)`` neurons: one compare in the
    membranes' type per 16 (numba's would widen int32 to int64)."""

    def codegen(context, builder, signature, args):
        vl_v, n_v, thr_v, half_v = args
        sa = signature.args
        ty = context.get_value_type(sa[0].dtype)
        vt = ir.VectorType(ty, LANES)
        vd = context.make_array(sa[0])(context, builder, vl_v).data
        hd = context.make_array(sa[3])(context, builder, half_v).data
        ts = _splat(builder, thr_v, vt)
        turns = builder.sdiv(n_v, ir.Constant(_I64, LANES))
        loop = _open_loop(builder, turns, "mask")
        i = loop[0]
        pv = builder.bitcast(builder.gep(vd, [builder.mul(i, ir.Constant(_I64, LANES))]), vt.as_pointer())
        ge = builder.icmp_signed(">=", builder.load(pv, align=4), ts)
        builder.store(builder.bitcast(ge, ir.IntType(LANES)), builder.gep(hd, [i]))
        _close_loop(builder, loop, turns)
        return context.get_dummy_value()

    return types.void(vl, n, thr, half), codegen


@_inline
def _integrate(vl, al, overflow, lo, hi, low, mask, top):  # pragma: no cover - compiled
    """``vl += al`` with the overflow mode, clamped below at ``low``, ``al``
    cleared; returns the largest of ``top`` and the sums (before the clamp).
    16 neurons at a time in the arrays' type (:func:`_integrate_of`), the
    rest one by one. (Also setting the bits of the neurons at threshold here
    saved no time: that pass runs only when some neuron is.)"""
    n = vl.shape[0]
    whole = n - n % LANES
    if overflow == SATURATE:
        top = _saturate16(vl, al, n, hi, lo, low, top)
        for i in range(whole, n):
            x = min(vl[i] + al[i], hi)
            al[i] = 0
            top = max(top, x)
            vl[i] = max(x, low)
    elif overflow == WRAP:
        top = _wrap16(vl, al, n, hi, lo, low, top)
        for i in range(whole, n):
            x = ((vl[i] + al[i] - lo) & mask) + lo
            al[i] = 0
            top = max(top, x)
            vl[i] = max(x, low)
    else:
        for i in range(n):
            x = vl[i] + al[i]
            al[i] = 0
            top = max(top, x)
            vl[i] = max(x, low)
    return top


@_jit
def _scan_blocks(acc, tabs, weights, xs, ht, w0, run, rsu):  # pragma: no cover - compiled
    """The host's uint8 events ``xs`` (layer order) of a layer of blocks, each
    added as the scan finds it (64 bytes a compare; the table from ``ht``);
    returns how many. A function of its own, compiled for each type of sums."""
    n_in = xs.shape[0]
    whole = n_in - n_in % 64
    xw = xs[:whole].view(np.uint64)
    n = 0
    for blk in range(whole // 64):
        bits = _nonzero64(xw, 8 * blk)
        while bits != U0:
            i = 64 * blk + np.int64(trailing_zeros(bits))
            bits &= bits - U1
            _block(acc, tabs, weights, ht + i, xs[i], w0, run, rsu)
            n += 1
    for i in range(whole, n_in):
        if xs[i] != 0:
            _block(acc, tabs, weights, ht + i, xs[i], w0, run, rsu)
            n += 1
    return n


@_jit
def _list_blocks(acc, tabs, weights, idx, cnt, n_host, evl, e0, ne, in_buf, w0, run, rsu):  # pragma: no cover
    """A layer of blocks' listed events: ``n_host`` of the host's (positions
    ``idx``, counts ``cnt``), then the ``ne`` positions of ``evl[e0:]``
    (counts in ``in_buf``, cleared)."""
    for e in range(n_host):
        _block(acc, tabs, weights, idx[e], cnt[e], w0, run, rsu)
    for e in range(ne):
        q = evl[e0 + e]
        _block(acc, tabs, weights, q, in_buf[q], w0, run, rsu)
        in_buf[q] = 0


@_jit
def _block_neurons(vl, acc, bias, f, leak, geo, lim):  # pragma: no cover - compiled
    """The neurons of a layer of blocks, row by row from its accumulator
    (``geo``: cell (0, 0), row stride, rows, a row's elements, size), the
    margins cleared after; ``lim``: overflow mode and limits for
    :func:`_integrate`. Returns the largest sum."""
    a0, rs, oh, rlen, total = geo
    overflow, lo, hi, low, mask = lim
    top = lo
    for r in range(oh):
        al = acc[a0 + r * rs : a0 + r * rs + rlen]
        if leak:
            _add_bias(al, bias, f)
        top = _integrate(vl[r * rlen : (r + 1) * rlen], al, overflow, lo, hi, low, mask, top)
    acc[:a0] = 0
    for r in range(oh):
        end = a0 + (r + 1) * rs if r < oh - 1 else total
        acc[a0 + r * rs + rlen : end] = 0
    return top


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

    ``tables``: ``(segs, dec, weights, biases, perm, route, iperm, tabs)``. A
    layer's input counts are channels-last ``[h, w, c]`` at its ``IN_OFF`` of
    one buffer (``iperm``, at ``IN_OFF``: each input's place there, from
    layer order); a layer with ``FED_ONLY`` takes the host's events directly;
    for position ``q`` of the buffer, ``dec[3 q : 3 q + 3]`` is the range of
    ``segs`` rows an event there adds and where its channel's weights start.
    A row of ``segs`` is ``(o0, w, n)``: ``acc[o0 + i] += weights[start + w +
    i] * count`` for ``i < n`` (see simulator._segments). A layer with
    ``BLK_RUN > 0`` takes blocks instead: ``tabs[q]`` packs the accumulator
    offset, the weight offset (from ``BLK_W``) and the rows of position
    ``q``'s block; ``tabs[BLK_HOST + i]`` the same for the host's input ``i``
    in layer order; its accumulator's cell ``(oy, ox)`` is ``BLK_BASE +
    oy BLK_RS + ox f`` (see simulator._blocks). ``biases``: ``[f]``
    at ``B_OFF``. ``perm``: each neuron's index in layer order ``[f, oh, ow]``
    (at ``V_OFF``). ``route``: where each neuron's spikes land in the input
    buffer (-1: dropped by the pooling), destination d's at ``ROUTE_OFF + d
    m`` (m: the layer's neurons). ``modes``: ``(multi, overflow, lo, hi,
    byte_feed)``, ``lo..hi`` the membrane's range (2**bits values: wrapping
    is a mask), ``byte_feed`` whether ``feed`` holds uint8."""
    segs, dec, weights, biases, perm, route, iperm, tabs, w16 = tables
    multi, overflow, lo, hi, byte_feed = modes
    n_t = feed.shape[0]
    n_layers = P.shape[0]
    in_size = 0
    max_acc = 1
    max_acc16 = 1
    max_feed = 1
    for layer in range(n_layers):
        in_size += P[layer, C] * P[layer, H] * P[layer, W]
        max_acc = max(max_acc, P[layer, OH] * P[layer, OW] * P[layer, F], P[layer, BLK_TOTAL])
        if P[layer, BLK_NARROW]:
            max_acc16 = max(max_acc16, P[layer, BLK_TOTAL])
        if P[layer, FEED_OFF] >= 0:
            max_feed = max(max_feed, P[layer, C] * P[layer, H] * P[layer, W])
    in_buf = np.zeros(in_size, v.dtype)  # every layer's input counts, channels-last
    # the positions listed in them, layer l's from IN_OFF + l: one spare slot
    # each, which the branch-free appends write when all positions are listed
    evl = np.zeros(in_size + n_layers, np.int64)
    nev = np.zeros(n_layers, np.int64)
    acc = np.zeros(max_acc, v.dtype)
    acc16 = np.zeros(max_acc16, np.int16)  # the sums of the layers of narrow blocks
    idx = np.zeros(max(max_feed, max_acc), np.int64)
    # the counts of what idx lists (the host's events, or spikes)
    cnt = np.zeros(max(max_feed, max_acc), np.int64)
    words = np.zeros(max_acc // 64 + 1, np.uint64)  # a bit per neuron at threshold
    halves = words.view(np.uint16)
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
                run = np.uint64(P[layer, BLK_RUN])
                w0, rsu = np.uint64(P[layer, BLK_W]), np.uint64(P[layer, BLK_RS])
                narrow = P[layer, BLK_NARROW] != 0
                scanned = fo >= 0 and run and P[layer, FED_ONLY] and byte_feed
                if scanned:
                    # a layer of blocks that only the host feeds: each event's
                    # block added as the scan finds it (its table in input order)
                    xs = feed[t, b, fo : fo + c * h * w]
                    ht = P[layer, BLK_HOST]
                    if narrow:
                        n_host = _scan_blocks(acc16, tabs, w16, xs, ht, w0, run, rsu)
                    else:
                        n_host = _scan_blocks(acc, tabs, weights, xs, ht, w0, run, rsu)
                    fo = -1  # done
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
                # a segment (one kernel row's run of output cells) or a block row at a time
                if run:
                    n_list = 0 if scanned else n_host
                    e0 = base + layer
                    if narrow:
                        _list_blocks(acc16, tabs, w16, idx, cnt, n_list, evl, e0, ne, in_buf, w0,
                                     run, rsu)  # fmt: skip
                    else:
                        _list_blocks(acc, tabs, weights, idx, cnt, n_list, evl, e0, ne, in_buf, w0,
                                     run, rsu)  # fmt: skip
                else:
                    for e in range(n_host):
                        _scatter(acc, segs, dec, weights, idx[e], cnt[e])
                    for e in range(ne):
                        q = evl[base + layer + e]
                        _scatter(acc, segs, dec, weights, q, in_buf[q])
                        in_buf[q] = 0
                nev[layer] = 0
                # neurons: one vectorized pass (a block layer's: row by row, its
                # margins cleared after), then the spiking ones
                bias = biases[P[layer, B_OFF] :][:f]
                if run:
                    geo = (P[layer, BLK_BASE], P[layer, BLK_RS], oh, ow * f, P[layer, BLK_TOTAL])
                    lim = (overflow, lo, hi, low, mask)
                    if narrow:
                        top = _block_neurons(vl, acc16, bias, f, leak, geo, lim)
                    else:
                        top = _block_neurons(vl, acc, bias, f, leak, geo, lim)
                else:
                    al = acc[:m]
                    if leak:
                        _add_bias(al, bias, f)
                    top = _integrate(vl, al, overflow, lo, hi, low, mask, lo)
                if top >= thr:
                    # the neurons at threshold: a bit each (one compare per 16),
                    # whose set bits are visited 64 at a time (they are few)
                    n_blk = (m + 63) // 64
                    words[n_blk - 1] = 0
                    _at_threshold(vl, m, thr, halves)
                    for i in range(m - m % LANES, m):
                        words[i >> 6] |= np.uint64(vl[i] >= thr) << np.uint64(i & 63)
                    # each spiking neuron in one visit: reset, output, routing
                    # (at most two destinations, their list lengths in registers;
                    # one list when both are the same layer)
                    rtz = P[layer, RTZ] != 0
                    oo = P[layer, OUT_OFF]
                    n_dest, r0 = P[layer, N_DEST], P[layer, ROUTE_OFF]
                    d0, d1 = P[layer, D0], P[layer, D1] if n_dest > 1 else -1
                    e0 = P[d0, IN_OFF] + d0 if n_dest > 0 else 0
                    e1 = P[d1, IN_OFF] + d1 if n_dest > 1 else 0
                    ne0 = nev[d0] if n_dest > 0 else 0
                    ne1 = nev[d1] if n_dest > 1 else 0
                    same = d1 == d0
                    top = lo  # the others are below threshold
                    for blk in range(n_blk):
                        bits = words[blk]
                        while bits != U0:
                            i = 64 * blk + np.int64(trailing_zeros(bits))
                            bits &= bits - U1
                            x = vl[i]
                            n = x // thr if multi else 1
                            x = max(0 if rtz else x - n * thr, low)
                            vl[i] = x
                            top = max(top, x)
                            if oo >= 0:
                                out[t, b, oo + perm[vo + i]] = n
                            # (written out: an inlined function's array arguments
                            # cost atomic reference counts per spike)
                            if n_dest > 0:
                                q = route[r0 + i]
                                if q >= 0:
                                    evl[e0 + ne0] = q  # listed once: when it was empty
                                    ne0 += in_buf[q] == 0
                                    in_buf[q] += n
                            if n_dest > 1:
                                q = route[r0 + m + i]
                                if q >= 0 and same:
                                    evl[e0 + ne0] = q
                                    ne0 += in_buf[q] == 0
                                    in_buf[q] += n
                                elif q >= 0:
                                    evl[e1 + ne1] = q
                                    ne1 += in_buf[q] == 0
                                    in_buf[q] += n
                    if n_dest > 0:
                        nev[d0] = ne0
                    if n_dest > 1 and not same:
                        nev[d1] = ne1
                above[layer] = top >= thr
                if record:
                    _record(rec[t, b], P[layer, REC_OFF], vl, perm[vo : vo + m])


@_jit
def _record(row, r0, vl, perm):  # pragma: no cover - compiled
    """A layer's channels-last membranes into ``row[r0:]`` in layer order."""
    for i in range(vl.shape[0]):
        row[r0 + perm[i]] = vl[i]


@_jit
def candidate_counts(current, v0, thr, bias, has_bias, hw, low, hi, rtz, multi, ref, counts, eq,
                     spikes, keep, b0, b1):  # pragma: no cover - compiled
    """The Speck quantizer's candidates of one layer, scored without their
    spikes (:func:`~.quantize.candidate_scores`): for samples ``b0 .. b1-1``,
    scale ``k`` (``current`` [T, B, K, n], the convolution at that scale,
    channel-major: neuron ``i`` is in channel ``i // hw``) and threshold
    variant ``j`` (``thr`` [K, J], initial membranes ``v0`` [K, J, n]), the
    neurons' spike counts over the run into ``counts`` [B, K, J, n] and how
    many of their steps spike as ``ref`` [T, B, n] does into ``eq`` [B, K,
    J]; with ``keep`` (one candidate), its spikes into ``spikes`` [T, B, n].
    The integers of :func:`~.simulator.integrate_and_fire` (saturating):
    input and bias added, the membrane capped at ``hi``, ``floor(v / thr)``
    spikes at most (``multi``) or one where ``v >= thr``, reset to zero
    (``rtz``) or by the spikes' thresholds, then the floor ``low`` [K]."""
    t_steps = current.shape[0]
    k_n, j_n = thr.shape
    n = current.shape[3]
    v = np.empty(n, np.int64)
    for b in range(b0, b1):
        for k in range(k_n):
            for j in range(j_n):
                th = np.int64(thr[k, j])
                floor = np.int64(low[k])
                for i in range(n):
                    v[i] = v0[k, j, i]
                c = counts[b, k, j]
                same = 0
                for t in range(t_steps):
                    cur = current[t, b, k]
                    r = ref[t, b]
                    for i in range(n):
                        x = v[i] + cur[i]
                        if has_bias:
                            x += bias[k, i // hw]
                        if x > hi:
                            x = hi
                        if multi:
                            s = x // th
                            if s < 0:
                                s = 0
                        else:
                            s = np.int64(1) if x >= th else np.int64(0)
                        if s > 0:
                            x = 0 if rtz else x - s * th
                        if x < floor:
                            x = floor
                        v[i] = x
                        c[i] += s
                        same += s == r[i]
                        if keep:
                            spikes[t, b, i] = s
                eq[b, k, j] = same
