"""The numba kernel behind :mod:`nirc.interpreter.program`: a whole graph's
step as one compiled loop over time (see there for the program's layout and
why its arithmetic equals the step oracle's bit for bit).

The kernel interprets a short list of coarse instructions (``code``, one row
per op: an input, a synapse, a layer of neurons, a pool, a delay...) once per
step and sample; an op's loop covers a whole layer, so the dispatch costs a
few nanoseconds per op and step. Values live in one float64 buffer per sample
(``val``); spikes and other sparse values also travel as event lists
(``evi``: layer-order index, ``evv``: value, ``ecnt``: how many) from their
producer to the synapses that read them; states persist in ``st[B, ...]``
between calls. Samples are independent: threads may run :func:`run_program` on
disjoint ranges of samples at once.

Loop shapes follow :mod:`nirc.interpreter.jit_kernels` (measured there):
weight segments added as slices (numba vectorizes those, not flat indexing),
the neuron update of a layer branch-free over the layer with layer-wide
parameters in registers. Measured here, on the paper CNN's layers (CPU time
per sample and step, one thread):

- Events leave a byte mask 64 bytes at a time: one compare of 64 bytes
  into a mask register (:func:`_nonzero64`), then one trailing-zero count
  per event (:func:`_byte_events`). A test per 8-byte word mispredicted on
  a third of the words and cost 2-3.7 us per 4,096 neurons; a multiply
  gathering each word's 8 bytes into 8 bits cost 0.8 us, and 3% more of
  the CNN than the compare.
- A convolution's additions run at 0.15-0.25 ns each; what limits them is
  the cost per weight segment (about 4 ns), not the arithmetic. Tried and
  not kept: lookup tables of the first layer's 5-input patterns (1.5x
  slower), one segment per event in a per-row-sum layout (the reduction
  cost more than it saved).
- An exact convolution adds runs of one length for every event
  (:func:`_conv_block`: zero taps past the kernel, a padded accumulator)
  through 8-wide loads and stores (:func:`_emit_add8`), where the vectorized
  segment loop keeps 4-wide and scalar remainders behind run-time checks,
  and leaves out the rows of a stride phase past the kernel: the paper CNN at batch 32 went from 19.2 to 16.2
  CPU-us per sample-step (one thread, medians of 21 runs alternating with
  the segments). An addition still costs about 2x a long streaming ``acc +=
  w * x`` (0.4-0.5 ns per 8 here): the per-event loads and loop ends take
  the rest. Also tried, slower: the runs' exact lengths per column phase
  (mispredicted loop ends), no margin rows (a row count per input row),
  clearing the margins apart from the interior.
- Then (CPU-us per sample-step, one thread, the CNN at batch 32, T = 1,000,
  medians of runs alternating with the previous version): one packed int64
  per event instead of four dependent table loads (:func:`_conv_block`) and
  the runs unrolled (now :func:`_add_pair`), 64-byte aligned weights and
  accumulator: 16.2 -> 14.7; the spikes of a fused layer as bits straight
  from its 8-wide compares (:func:`_layer_bits`) instead of a byte per
  neuron gathered again: 14.7 -> 12.9; the next step's input row prefetched
  (the inputs are ``[T, B, n]``: a page per step, which the hardware
  prefetcher does not follow): 12.9 -> 12.3; events in storage order for
  readers whose tables are permuted instead: 12.3 -> 11.8; a 64-byte
  compare for the event masks (:func:`_nonzero64`): 12.2 -> 11.9; the run
  length a constant of the event loop: 11.8 -> 11.4; two events at a time,
  half the list apart (:func:`_block_events`): 11.6 -> 10.5 (with the run
  a variable instead, 11.0-11.3).
- Then (2026-12-07, same measure, one thread): a dense layer's sums in
  vector registers over all its events (:func:`_dense_tile_of`: no load and
  store of the sums per event), weights read as float32 where every weight
  is one (dense and block convolutions: half the bytes, widened exactly),
  the fused layer clearing the sums it reads (:func:`_layer8`) and only the
  margins apart: 10.9-11.2 -> 10.0-10.5; a pool counting its layer's spike
  bits (:func:`_pool_bits`): -0.2 to -0.4; the blocks leaving out rows past
  the output, so that the accumulator holds only the output's rows, with
  shared column margins (the first convolution's 51 -> 37 KB): -> 9.2-9.7.
- Networks read as Sinabs computed them (multi-spike IAF; 2026-12-07, the
  digits CNN of ../shared/tasks at batch 32, CPU-us per sample-step): the
  count floor(v / thr) as one division and llvm.floor
  (:func:`_floor_quotient`; the scalar ``np.floor`` call and the division's
  zero test kept the neuron loop scalar, 10 ns per neuron) and pools whose
  windows stay inside the input a row at a time (4 ns a tap before): 48.7
  -> 20.3; their counts bounded, so that the synapses after them are exact
  blocks (``SnnNeuron.count_bound``): -> 13.7. Then (random inputs, p =
  0.1, medians of runs alternating with the previous version) a
  multi-spike layer fused with the synapse that feeds it (OP_LAYER
  counting, :func:`_count_rows`: no dense sums written and read again by a
  neuron op, events from the compares' bytes): the digits CNN 11.0 -> 8.6,
  the paper CNN read as Sinabs 37 -> 32.5; exactness judged by the largest
  sum of |weights| into one output times the input bound, instead of the
  fan-in times the largest weight (:func:`~nirc.interpreter.ops.exact_sum_possible`),
  proves the paper CNN's third convolution exact after two counting layers
  (blocks, events in any order): -> 22-24 (13.6 read plainly, one spike per
  step; its dense layers still keep the oracle's order there).
- What bounds the convolutions: their recorded events replayed alone
  through the one-event-at-a-time loop cost 0.73-0.79 ns per 8-wide add
  (conv1: 3,466 adds of 8 per sample-step in 2.6-2.9 us) against 0.26 ns
  for the same number streaming through L1. Shuffling the events or an
  8 KB accumulator hardly changed that; six consecutive events on disjoint
  lines of an L1-resident band cut it by 18-31%, two events interleaved
  (half the list apart) by 8-20%: part of it is each block's
  read-modify-writes waiting for the previous event's stores to the same
  lines, the rest the per-run loads and loop ends of short runs.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from nirc.interpreter import jit as _config

_inline = _config.njit(inline="always")

# The instruction set: one row of int64 per op, the opcode first (its fields
# are unpacked at the top of the op's function below). Defined here, in the
# kernel's own file: numba's cache notices edits of this file only, and would
# keep stale values of constants defined elsewhere.
OP_INPUT = 1  # an Input's values: dense and/or events
OP_SUM = 2  # fan-in: sources (values, or the previous step's) added in order
OP_COMPACT = 3  # events of a dense value, in layer order
OP_DENSE = 4  # Affine / Linear from events
OP_CONV = 5  # a convolution from events, channels-last
OP_POOL = 6  # sum / average pool of a dense value
OP_POOL_EVENTS = 7  # sum pool counted from spike events
OP_SCALE = 8
OP_THRESHOLD = 9
OP_NEURON = 10  # any neuron layer, one neuron at a time (flags F_*, reset R_*)
OP_LAYER = 11  # a spiking layer fed by one synapse's fresh sums, vectorized
OP_DELAY = 12
OP_SAVE = 13  # a feedback source's value, kept for the next step
OP_RECORD = 14  # a value into the recorded outputs
OP_CONV_BLOCK = 15  # an exact convolution from events, fixed blocks into a padded accumulator
OP_POOL_BITS = 16  # a sum pool of the spike bits a fused layer just left in `zc`
# OP_NEURON's flags
F_SYN, F_SAME, F_D_ZERO, F_FIRES, F_GE, F_MULTI, F_CAP, F_RESET_MUL, F_VMIN = (
    1, 2, 4, 8, 16, 32, 64, 128, 256,
)  # fmt: skip
F_UNIFORM = 512  # parameters are layer-wide (one value each): the vectorized loop
# OP_NEURON's resets: to a value, subtract (every neuron: v -= n*thr; or where
# it spiked), snnTorch's undecayed subtraction and refractory zero
R_ZERO, R_SUB_ALWAYS, R_SUB_WHERE, R_SUB_UNDECAYED, R_ZERO_REFRACTORY = 0, 1, 2, 3, 4
# OP_LAYER's mode: reset by subtraction (else to a value), spike where v >=
# thr (else >), multi-spike counts floor(v / thr) (else one spike), capped
L_SUB, L_GE, L_MULTI, L_CAP = 1, 2, 4, 8

U1 = np.uint64(1)


_VT = ir.VectorType(ir.DoubleType(), 8)
_I64 = ir.IntType(64)


def _load8(context, builder, arr_ty, arr, off):
    """``arr[off : off+8]`` as 8 float64: one 8-wide load, widened when the
    array holds float32 (exactly: every float32 is a float64)."""
    data = context.make_array(arr_ty)(context, builder, arr).data
    if arr_ty.dtype == types.float32:
        ft = ir.VectorType(ir.FloatType(), 8)
        p = builder.bitcast(builder.gep(data, [off]), ft.as_pointer())
        return builder.fpext(builder.load(p, align=4), _VT)
    return builder.load(builder.bitcast(builder.gep(data, [off]), _VT.as_pointer()), align=8)


def _splat(builder, x, vt=_VT):
    """``x`` in every lane of the vector type ``vt`` (an integer truncated or
    sign-extended to its elements). Also the Speck kernel's."""
    ty = vt.element
    if isinstance(ty, ir.IntType) and x.type.width > ty.width:
        x = builder.trunc(x, ty)
    elif isinstance(ty, ir.IntType) and x.type.width < ty.width:
        x = builder.sext(x, ty)
    undef = ir.Constant(vt, ir.Undefined)
    lane = builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vt.count), [0] * vt.count)
    return builder.shuffle_vector(lane, undef, zeros)


def _open_loop(builder, turns, name):
    """Start a loop of ``turns`` (i64; none when <= 0) with the builder in its
    body; returns ``(i, pre, done)`` for :func:`_close_loop`. With it, the
    hand-written loops of the intrinsics here and in the Speck kernel."""
    pre = builder.block
    body = builder.append_basic_block(f"{name}.body")
    done = builder.append_basic_block(f"{name}.done")
    builder.cbranch(builder.icmp_signed(">", turns, ir.Constant(_I64, 0)), body, done)
    builder.position_at_end(body)
    return builder.phi(_I64), pre, done


def _close_loop(builder, loop, turns):
    """End the body of :func:`_open_loop`'s ``loop``; the builder continues
    after the loop. Returns the body's last block (for phis)."""
    i, pre, done = loop
    nxt = builder.add(i, ir.Constant(_I64, 1))
    last = builder.block
    builder.cbranch(builder.icmp_signed("<", nxt, turns), i.parent, done)
    i.add_incoming(ir.Constant(_I64, 0), pre)
    i.add_incoming(nxt, last)
    builder.position_at_end(done)
    return last


def _emit_add8(context, builder, acc_ty, acc, ao, w_ty, w, wo, fvv):
    """``acc[ao:ao+8] += w[wo:wo+8] * fvv`` (``fvv``: the factor in every lane;
    ``acc_ty``, ``w_ty``: the arrays' numba types) as one 8-wide load,
    multiply, add and store (``w`` float64, or float32 widened). Separate
    multiply and add, as the scalar code does (no contraction). The loop
    vectorizer would check ``acc`` and ``w`` for overlap at run time and keep
    scalar and 4-wide remainder loops: on runs of 16-48 elements those cost
    more than the additions."""
    a = context.make_array(acc_ty)(context, builder, acc)
    ap = builder.bitcast(builder.gep(a.data, [ao]), _VT.as_pointer())
    prod = builder.fmul(_load8(context, builder, w_ty, w, wo), fvv)
    builder.store(builder.fadd(builder.load(ap, align=8), prod), ap, align=8)


RUNS = (8, 16, 24, 32, 40, 48, 64)  # run lengths with straight-line code in _add_pair


@intrinsic
def _add_pair(typingctx, acc, ao, bo, w, wa, wb, fa, fb, ra, rb, rstride, run):  # pragma: no cover
    """Two events' blocks of a block convolution: ``ra`` rows of the first, each
    ``acc[ao : ao+run] += w[wa : wa+run] * fa`` (8-wide, :func:`_emit_add8`),
    then ``ao -= rstride`` and ``wa += run``; ``rb`` rows of the second
    (``bo``, ``wb``, ``fb``) likewise, the rows of both interleaved while
    both have one (two independent chains of loads and stores). ``run`` is
    a multiple of 8; for the lengths in ``RUNS`` one switch per pair picks
    loops whose adds are straight-line code (no loop control per 8), else
    8 at a time in a loop. In place of seven copies of the event loop
    compiled with the run a constant (each a second of the kernel's first
    compile)."""

    def codegen(context, builder, signature, args):
        acc_v, ao_v, bo_v, w_v, wa_v, wb_v, fa_v, fb_v, ra_v, rb_v, rs_v, run_v = args
        sa = signature.args
        fav, fbv = _splat(builder, fa_v), _splat(builder, fb_v)
        both = builder.select(builder.icmp_signed("<", ra_v, rb_v), ra_v, rb_v)
        only_a, only_b = builder.sub(ra_v, both), builder.sub(rb_v, both)
        done = builder.append_basic_block("pair.done")
        other = builder.append_basic_block("pair.any")
        sw = builder.switch(run_v, other)

        def add_row(o0, w0, fv, r, offsets):
            """Row ``r`` of a block from ``o0`` / ``w0``: the 8 elements at
            each of ``offsets`` (i64 values) into the row."""
            a0 = builder.sub(o0, builder.mul(r, rs_v))
            wo = builder.add(w0, builder.mul(r, run_v))
            for dq in offsets:
                _emit_add8(context, builder, sa[0], acc_v, builder.add(a0, dq), sa[3], w_v,
                           builder.add(wo, dq), fv)  # fmt: skip

        def rows(turns, first, blocks, width, name):
            """``turns`` rows from row ``first`` of each of ``blocks`` ((o0, w0,
            fv) triples), interleaved."""
            loop = _open_loop(builder, turns, name)
            r = builder.add(loop[0], first)
            if width is None:
                eights = builder.sdiv(run_v, ir.Constant(_I64, 8))
                inner = _open_loop(builder, eights, name + ".q")
                offsets = [builder.mul(inner[0], ir.Constant(_I64, 8))]
            else:
                offsets = [ir.Constant(_I64, q) for q in range(0, width, 8)]
            for o0, w0, fv in blocks:
                add_row(o0, w0, fv, r, offsets)
            if width is None:
                _close_loop(builder, inner, eights)
            _close_loop(builder, loop, turns)

        zero = ir.Constant(_I64, 0)
        a, b = (ao_v, wa_v, fav), (bo_v, wb_v, fbv)
        for width in [*RUNS, None]:
            name = f"pair.{width or 'n'}"
            if width is None:
                builder.position_at_end(other)
            else:
                blk = builder.append_basic_block(name)
                sw.add_case(ir.Constant(_I64, width), blk)
                builder.position_at_end(blk)
            rows(both, zero, [a, b], width, name + ".ab")
            rows(only_a, both, [a], width, name + ".a")
            rows(only_b, both, [b], width, name + ".b")
            builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return types.void(acc, ao, bo, w, wa, wb, fa, fb, ra, rb, rstride, run), codegen


def _dense_tile_of(nv: int):
    """An intrinsic ``tile(out, o0, w, w0, n_out, evi, evv, eoff, ne)``: the
    ``8 * nv`` outputs ``out[o0 : o0 + 8*nv]`` of a dense synapse from its
    ``ne`` events (event ``e`` reads the weights ``w[w0 + evi[eoff+e]*n_out :]``,
    float64 or float32), summed in ``nv`` vector registers: per event and
    register one 8-wide multiply and add, in the events' order from +0.0 (the
    scalar loop's sums, bit for bit), then stored once. The sums never leave
    the registers (numba keeps no loop-carried vectors in registers, hence
    the hand-written loop): the paper CNN's 128 -> 256 layer went from 0.9
    to 0.5 CPU-us per sample-step."""

    @intrinsic
    def tile(typingctx, out, o0, w, w0, n_out, evi, evv, eoff, ne):  # pragma: no cover - compiled
        def codegen(context, builder, signature, args):
            out_v, o0_v, w_v, w0_v, nout_v, evi_v, evv_v, eoff_v, ne_v = args
            sa = signature.args
            outd = context.make_array(sa[0])(context, builder, out_v).data
            evid = context.make_array(sa[5])(context, builder, evi_v).data
            evvd = context.make_array(sa[6])(context, builder, evv_v).data
            zero = ir.Constant(_VT, [0.0] * 8)
            loop = _open_loop(builder, ne_v, "tile")
            i, pre = loop[0], loop[1]
            sums = [builder.phi(_VT) for _ in range(nv)]
            at = builder.add(eoff_v, i)
            fv = _splat(builder, builder.load(builder.gep(evvd, [at])))
            base = builder.add(w0_v, builder.mul(builder.load(builder.gep(evid, [at])), nout_v))
            new = [
                builder.fadd(s, builder.fmul(_load8(context, builder, sa[2], w_v,
                                                    builder.add(base, ir.Constant(_I64, 8 * q))), fv))
                for q, s in enumerate(sums)
            ]  # fmt: skip
            last = _close_loop(builder, loop, ne_v)
            for s, n in zip(sums, new):
                s.add_incoming(zero, pre)
                s.add_incoming(n, last)
            final = [builder.phi(_VT) for _ in range(nv)]
            for q, (f, n) in enumerate(zip(final, new)):
                f.add_incoming(zero, pre)
                f.add_incoming(n, last)
                p = builder.gep(outd, [builder.add(o0_v, ir.Constant(_I64, 8 * q))])
                builder.store(f, builder.bitcast(p, _VT.as_pointer()), align=8)
            return context.get_dummy_value()

        return types.void(out, o0, w, w0, n_out, evi, evv, eoff, ne), codegen

    return tile


_dense_tile16 = _dense_tile_of(16)  # 128 outputs: half of the 32 vector registers
_dense_tile4 = _dense_tile_of(4)
_dense_tile1 = _dense_tile_of(1)


@intrinsic
def _layer8(typingctx, v, vo, a, ao, b, bo, has_bias, d, cc, kk, thr, r, sub):  # pragma: no cover
    """Eight neurons of :func:`_layer_rows`'s uniform update at once:
    ``x = v*d + ((a (+ b))*cc + kk)``, spike where ``x > thr``, ``v = x - thr``
    (``sub``) or ``r`` where it spiked, else ``x``; returns the spikes as the
    low 8 bits of an int (bit i: neuron ``vo + i``), and clears the eight sums
    ``a[ao : ao+8]`` (read: their lines are in L1; a separate pass over the
    accumulator cost 0.15-0.2 us more per 4,096 neurons). The compare gives a
    mask register directly (no byte per neuron to store and gather again);
    separate multiplies and adds, as the scalar code (no contraction)."""

    def codegen(context, builder, signature, args):
        v_v, vo_v, a_v, ao_v, b_v, bo_v, hb, d_v, c_v, k_v, t_v, r_v, s_v = args

        def ptr(arr, ty, off):
            data = context.make_array(ty)(context, builder, arr).data
            return builder.bitcast(builder.gep(data, [off]), _VT.as_pointer())

        vp = ptr(v_v, signature.args[0], vo_v)
        vv = builder.load(vp, align=8)
        ap = ptr(a_v, signature.args[2], ao_v)
        av = builder.load(ap, align=8)
        bv = builder.load(ptr(b_v, signature.args[4], bo_v), align=8)
        builder.store(ir.Constant(_VT, [0.0] * 8), ap, align=8)
        # booleans are i1 values in numba's data model
        sums = builder.select(context.cast(builder, hb, signature.args[6], types.boolean),
                              builder.fadd(av, bv), av)  # fmt: skip
        drive = builder.fadd(builder.fmul(sums, _splat(builder, c_v)), _splat(builder, k_v))
        x = builder.fadd(builder.fmul(vv, _splat(builder, d_v)), drive)
        tv = _splat(builder, t_v)
        z = builder.fcmp_ordered(">", x, tv)
        is_sub = context.cast(builder, s_v, signature.args[12], types.boolean)
        y = builder.select(is_sub, builder.fsub(x, tv), _splat(builder, r_v))
        builder.store(builder.select(z, y, x), vp, align=8)
        bits = builder.bitcast(z, ir.IntType(8))
        return builder.zext(bits, ir.IntType(64))

    sig = types.int64(v, vo, a, ao, b, bo, has_bias, d, cc, kk, thr, r, sub)
    return sig, codegen


@intrinsic
def _floor_quotient(typingctx, a, b):  # pragma: no cover - compiled
    """``floor(a / b)`` of float64s as one IEEE division and LLVM's
    ``llvm.floor``: the numbers of ``np.floor(a / b)``, without numba's
    division-by-zero test of ``/`` (``b`` is a multi-spike threshold, > 0 by
    the `snn.neuron` verifier) and without the call of its scalar
    ``np.floor``: the two kept the multi-spike neuron loop scalar, 10 ns per
    neuron; vectorized, under 1 (Sinabs networks: every layer)."""

    def codegen(context, builder, signature, args):
        floor = builder.module.declare_intrinsic("llvm.floor", [ir.DoubleType()])
        return builder.call(floor, [builder.fdiv(args[0], args[1])])

    return types.float64(types.float64, types.float64), codegen


@intrinsic
def _prefetch(typingctx, arr, off):  # pragma: no cover - compiled
    """Ask for the cache line of ``arr[off]`` ahead of its use (LLVM's
    prefetch: read, keep in all levels); changes no value."""

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        p = builder.bitcast(builder.gep(a.data, [args[1]]), i8p)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        builder.call(fn, [p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, off), codegen


@_inline
def _copy(dst, src):  # pragma: no cover - compiled
    """``dst[:] = src`` as a loop: numba's array assignment checks for overlap
    and may copy through a temporary (an allocation per op and step)."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@intrinsic
def _nonzero64(typingctx, x, off):  # pragma: no cover - compiled
    """The 64 bytes ``x[off:off+64]`` as one bit each, set where the byte is
    nonzero (bit i: byte ``off + i``): one compare into a mask register."""

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        vt = ir.VectorType(ir.IntType(8), 64)
        p = builder.bitcast(builder.gep(a.data, [args[1]]), vt.as_pointer())
        ne = builder.icmp_unsigned("!=", builder.load(p, align=1), ir.Constant(vt, [0] * 64))
        return builder.bitcast(ne, ir.IntType(64))

    return types.uint64(x, off), codegen


@_inline
def _byte_events(x, n, perm, ip, evi, evv, eoff, vals, v0):  # pragma: no cover - compiled
    """The nonzero bytes of ``x[:n]`` as events ``(index, value)`` in index order
    (through ``perm`` when >= 0), 64 bytes at a time: one bit mask per 64, then
    a trailing-zero count per event. An event's value is ``vals[v0 + j]``
    (``x`` itself, or a multi-spike layer's counts). ``n`` is a multiple of
    64. Returns how many."""
    ne = 0
    for blk in range(n // 64):
        mask = _nonzero64(x, blk * 64)
        while mask != np.uint64(0):
            j = blk * 64 + np.int64(trailing_zeros(mask))
            mask &= mask - U1
            evi[eoff + ne] = j if perm < 0 else ip[perm + j]
            evv[eoff + ne] = vals[v0 + j]
            ne += 1
    return ne


@_inline
def _input(c, t, t_data, b, xf, xn, ip, val, evi, evv, ecnt):  # pragma: no cover - compiled
    """One Input's values of step ``t``: dense into ``val`` and/or as an
    ordered event list (zeros past the end of the data)."""
    narrow, col, n, dst, slot, eoff = c[1], c[2], c[3], c[4], c[5], c[6]
    if t >= t_data:
        if dst >= 0:
            val[dst : dst + n] = 0.0
        if slot >= 0:
            ecnt[slot] = 0
        return
    if narrow:
        row = xn[t, b, col : col + n]
        if t + 1 < t_data:  # the next step's row, a page away ([T, B, n]): 3-5% of the CNN
            nxt = xn[t + 1, b, col : col + n]
            for q in range(0, n, 64):
                _prefetch(nxt, q)
        if dst >= 0:
            out = val[dst : dst + n]
            for j in range(n):
                out[j] = row[j]
        if slot >= 0:
            whole = n - n % 64
            ne = _byte_events(row, whole, -1, ip, evi, evv, eoff, row, 0) if whole else 0
            ecnt[slot] = _events_from(row, whole, n, ne, evi, evv, eoff)  # the rest
    else:
        rowf = xf[t, b, col : col + n]
        if dst >= 0:
            _copy(val[dst : dst + n], rowf)
        if slot >= 0:
            ecnt[slot] = _events_from(rowf, 0, n, 0, evi, evv, eoff)


@_config.njit()
def _sum(c, ip, val, s):  # pragma: no cover - compiled
    """``dst = src0 + src1 + ...`` in the listed order (sources in ``val`` or,
    for feedback edges, the previous step's value kept in the state ``s``)."""
    dst, n, k, lst = c[1], c[2], c[3], c[4]
    out = val[dst : dst + n]
    if k == 0:
        out[:] = 0.0
        return
    for q in range(k):
        kind, off = ip[lst + 2 * q], ip[lst + 2 * q + 1]
        src = val[off : off + n] if kind == 0 else s[off : off + n]
        if q == 0:
            _copy(out, src)
        else:
            for j in range(n):
                out[j] = out[j] + src[j]


@_inline
def _events_from(x, j0, n, ne, evi, evv, eoff):  # pragma: no cover - compiled
    """Append the nonzero ``x[j0:n]`` after the ``ne`` events at ``eoff``, in
    index order, branch-free (every element written, the count advanced by
    the test); returns the new count."""
    for j in range(j0, n):
        evi[eoff + ne] = j
        evv[eoff + ne] = x[j]
        ne += x[j] != 0
    return ne


@_config.njit()
def _compact(c, val, evi, evv, ecnt):  # pragma: no cover - compiled
    """Events of a dense value, in layer order."""
    src, n, slot, eoff = c[1], c[2], c[3], c[4]
    ecnt[slot] = _events_from(val[src : src + n], 0, n, 0, evi, evv, eoff)


@_config.njit()
def _dense_from(out, w, w0, k_in, n_out, lead, evi, evv, eoff, ne):  # pragma: no cover - compiled
    """``out = W x`` from the events of ``x`` (``w`` float64, or float32 when
    the builder found every weight a float32: half the bytes to read, the same
    sums), each event's weight row times its value added in the events'
    order: 128, 32 and 8 outputs at a time in vector registers when the weight
    is a matrix (:func:`_dense_tile_of`), the rest in a loop. A function of
    its own, like :func:`_pool_bits` (inlined, the two took the kernel's
    first compile from 43 s to 53 s, for no speed)."""
    o = 0
    if lead == 1:
        while o + 128 <= n_out:
            _dense_tile16(out, o, w, w0 + o, n_out, evi, evv, eoff, ne)
            o += 128
        while o + 32 <= n_out:
            _dense_tile4(out, o, w, w0 + o, n_out, evi, evv, eoff, ne)
            o += 32
        while o + 8 <= n_out:
            _dense_tile1(out, o, w, w0 + o, n_out, evi, evv, eoff, ne)
            o += 8
        if o == n_out:
            return
    out[o:] = 0.0
    for e in range(ne):
        idx = evi[eoff + e]
        fv = evv[eoff + e]
        if lead == 1:
            r = idx
            base = 0
        else:
            row = idx // k_in
            r = idx - row * k_in
            base = row * n_out
        wr = w[w0 + r * n_out : w0 + (r + 1) * n_out]
        a = out[base : base + n_out]
        for j in range(o, n_out):
            a[j] += np.float64(wr[j]) * fv


@_inline
def _dense(c, fp, val, evi, evv, ecnt):  # pragma: no cover - compiled
    """``y = W x (+ b)`` from the events of ``x``: each adds its weight row
    times its value, in the events' order (layer order unless the sums are
    exact, when any order gives the same). ``f32``: the weights are float32,
    two to a slot of ``fp`` (``w0`` counts float32s)."""
    slot, eoff, k_in, n_out, lead, w0, dst, bias, f32 = (
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )  # fmt: skip
    out = val[dst : dst + lead * n_out]
    if f32:
        _dense_from(out, fp.view(np.float32), w0, k_in, n_out, lead, evi, evv, eoff, ecnt[slot])
    else:
        _dense_from(out, fp, w0, k_in, n_out, lead, evi, evv, eoff, ecnt[slot])
    if bias >= 0:
        bv = fp[bias : bias + n_out]
        for q in range(lead):
            a = out[q * n_out : (q + 1) * n_out]
            for j in range(n_out):
                a[j] = a[j] + bv[j]


@_config.njit()
def _conv(c, fp, ip, val, evi, evv, ecnt, acc):  # pragma: no cover - compiled
    """A convolution from its input's events, accumulated channels-last into
    ``acc`` (``[cells, O]``) by tabulated weight segments (see
    :func:`nirc.interpreter.jit.conv_segments`); then either left there for
    the fused neuron layer (``dst < 0``) or written to ``val`` in layer order
    with the bias, and ``acc`` cleared. Each output receives one addition per
    event, in the events' order: layer order (channel, row, column) is the
    fixed (channel, ky, kx) order of the oracle."""
    slot, eoff, hw, start, segs, w0, wstride, chan, gbase, n_o, cells, bias, dst = (
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]
    )  # fmt: skip
    for e in range(ecnt[slot]):
        idx = evi[eoff + e]
        fv = evv[eoff + e]
        ch = ip[chan + idx]
        pos = idx - ch * hw
        wb = w0 + ch * wstride
        ob = ip[gbase + ch]
        for q in range(ip[start + pos], ip[start + pos + 1]):
            o0 = ip[segs + 3 * q] + ob
            wq = ip[segs + 3 * q + 1] + wb
            nn = ip[segs + 3 * q + 2]
            a = acc[o0 : o0 + nn]
            w = fp[wq : wq + nn]
            for j in range(nn):
                a[j] += w[j] * fv
    if dst < 0:
        return
    for o in range(n_o):
        out = val[dst + o * cells : dst + (o + 1) * cells]
        if bias >= 0:
            bo = fp[bias + o]
            for p in range(cells):
                out[p] = acc[p * n_o + o] + bo
                acc[p * n_o + o] = 0.0
        else:
            for p in range(cells):
                out[p] = acc[p * n_o + o]
                acc[p * n_o + o] = 0.0


@_inline
def _block_events(acc, fp, ip, evi, evv, ne, eoff, tab, w0, rstride, run):  # pragma: no cover
    """:func:`_conv_block`'s loop over its ``ne`` events, two at a time,
    ``ne / 2`` apart in the list (far apart in the layer, so rarely on the
    same accumulator lines), their rows interleaved (:func:`_add_pair`):
    two independent chains of loads and stores."""
    half = (ne + 1) // 2
    for i in range(half):
        pa = ip[tab + evi[eoff + i]]
        fa = evv[eoff + i]
        aa = pa & 0xFFFFFFFF
        wa = w0 + ((pa >> 32) & 0xFFFFFF)
        ra = pa >> 56
        if i + half < ne:
            pb = ip[tab + evi[eoff + i + half]]
            fb = evv[eoff + i + half]
        else:  # an odd count: the last event alone
            pb = np.int64(0)
            fb = 0.0
        ab = pb & 0xFFFFFFFF
        wb = w0 + ((pb >> 32) & 0xFFFFFF)
        rb = pb >> 56
        _add_pair(acc, aa, ab, fp, wa, wb, fa, fb, ra, rb, rstride, run)


@_inline
def _conv_block(c, fp, ip, val, evi, evv, ecnt, acc):  # pragma: no cover - compiled
    """An exact convolution (one group, no dilation, output channels a multiple
    of 8) from its input's events, into a padded channels-last accumulator
    (rows and columns of margin take every event's reach): each event adds
    a block of its (channel, stride phase)'s weights, runs of ``run``
    elements one accumulator row apart, 8 at a time (:func:`_add_pair`:
    straight-line adds for runs of 8-48 and 64 elements), two events at once
    (:func:`_block_events`). The
    runs all have one length (taps past the kernel have zero weights): with
    the lengths of the kernel's columns at each stride phase (the x of
    consecutive events alternates phases), the mispredicted loop ends cost
    more than the additions saved; the rows of a phase (the same for a whole
    input row of events) leave those out: 10% of the CNN's time. An event's
    block (accumulator and weight offsets, rows) is one packed int64 of
    ``tab`` (:func:`nirc.interpreter.program.pack_block`). The weights are
    float32 (the builder takes blocks only then), two to a slot of ``fp``
    (``w0`` counts float32s), widened as they are loaded: half the bytes.
    Sums are exact, so their order (and the zero products) cannot change
    them. Then, like :func:`_conv`, either left for the fused layer (``dst <
    0``, which reads the interior, clearing it, and clears the margins) or
    written to ``val`` in layer order with the bias, and cleared."""
    slot, eoff, tab, w0, run, rstride, geo, bias, dst = (
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )  # fmt: skip
    ne = ecnt[slot]
    w32 = fp.view(np.float32)
    _block_events(acc, w32, ip, evi, evv, ne, eoff, tab, w0, rstride, run)
    if dst < 0:
        return
    n_rows, rlen, rs, base, total, n_o = (
        ip[geo], ip[geo + 1], ip[geo + 2], ip[geo + 3], ip[geo + 4], ip[geo + 5]
    )  # fmt: skip
    per_row = rlen // n_o
    cells = n_rows * per_row
    for r in range(n_rows):
        a = acc[base + r * rs : base + r * rs + rlen]
        for p in range(per_row):
            at = dst + r * per_row + p
            for o in range(n_o):
                if bias >= 0:
                    val[at + o * cells] = a[p * n_o + o] + fp[bias + o]
                else:
                    val[at + o * cells] = a[p * n_o + o]
    acc[:total] = 0.0


@_config.njit()
def _pool(c, val):  # pragma: no cover - compiled
    """Sum or average pool over windows with zero padding, each window added
    in (ky, kx) order starting from its first tap, like the numpy kernel."""
    src, dst, ch, h, w, kh, kw, sh, sw, ph, pw, oh, ow, average = (
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14]
    )  # fmt: skip
    div = np.float64(kh * kw)
    if ph == 0 and pw == 0 and (oh - 1) * sh + kh <= h and (ow - 1) * sw + kw <= w:
        # no window reaches past the input: each output's taps added in the
        # same (ky, kx) order, a row of outputs at a time (no test per tap:
        # 4 ns a tap -> a vectorized loop)
        for cc in range(ch):
            for oy in range(oh):
                o = val[dst + (cc * oh + oy) * ow : dst + (cc * oh + oy + 1) * ow]
                for i in range(kh):
                    r0 = src + (cc * h + oy * sh + i) * w
                    for j in range(kw):
                        row = val[r0 + j : r0 + j + (ow - 1) * sw + 1]
                        if i == 0 and j == 0:
                            for ox in range(ow):
                                o[ox] = row[ox * sw]
                        else:
                            for ox in range(ow):
                                o[ox] = o[ox] + row[ox * sw]
                if average:
                    for ox in range(ow):
                        o[ox] = o[ox] / div
        return
    for cc in range(ch):
        for oy in range(oh):
            for ox in range(ow):
                s = 0.0
                for i in range(kh):
                    y = oy * sh + i - ph
                    for j in range(kw):
                        x = ox * sw + j - pw
                        v = 0.0
                        if 0 <= y < h and 0 <= x < w:
                            v = val[src + (cc * h + y) * w + x]
                        s = v if i == 0 and j == 0 else s + v
                if average:
                    s = s / div
                val[dst + (cc * oh + oy) * ow + ox] = s


@_config.njit()
def _pool_events(c, ip, val, evi, evv, ecnt):  # pragma: no cover - compiled
    """A sum pool of spikes (non-overlapping windows) from their events: each
    adds one to its window's count; the counts also leave as events (in the
    order their windows were first reached). Only the counts of the last step
    are cleared."""
    slot, eoff, cell, dst, n_out, oslot, ooff = c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    out = val[dst : dst + n_out]
    if oslot >= 0:
        for e in range(ecnt[oslot]):
            out[evi[ooff + e]] = 0.0
    else:
        out[:] = 0.0
    ne = 0
    for e in range(ecnt[slot]):
        q = ip[cell + evi[eoff + e]]
        if q >= 0:
            if oslot >= 0:  # a window reached for the first time: branch-free append
                evi[ooff + ne] = q
                ne += out[q] == 0.0
            out[q] += evv[eoff + e]
    if oslot >= 0:
        for e in range(ne):
            evv[ooff + e] = out[evi[ooff + e]]
        ecnt[oslot] = ne


@_config.njit()
def _pool_bits(c, ip, val, evi, evv, ecnt, zc):  # pragma: no cover - compiled
    """A sum pool (windows ``kh`` x ``kw``, as far apart, no padding) of the
    spikes the fused layer before it left as bits in ``zc`` (channels last:
    ``c8`` bytes per cell, ``w`` cells per row): each window's counts of 8
    channels at a time as the 8 bytes of one int64, the sum of its cells'
    spike bytes spread to a bit per byte (``spread``: a table of 256), no
    carries (a count is at most ``kh*kw`` < 256); the counts, one byte each in
    ``zc`` from ``cnt``, then leave as events in storage (window, channel)
    order, the index mapped through ``perm`` (the pool's layer order), the
    value the count; and into ``val`` (layer order) when ``dst >= 0``. In
    place of a spike event per neuron and a table lookup per spike
    (:func:`_pool_events`)."""
    w, c8, kh, kw, ph, pw, cnt, n, spread, perm, slot, eoff, dst = (
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13]
    )  # fmt: skip
    n64 = (n + 63) // 64 * 64
    counts = zc[cnt : cnt + n64]
    words = counts.view(np.uint64)
    q = 0
    tab = ip[spread : spread + 256]
    uc, uw = np.uint64(c8), np.uint64(w * c8)  # a cell, a row: unsigned (below)
    for py in range(ph):
        for px in range(pw):
            first = (py * kh * w + px * kw) * c8
            for g in range(c8):
                at = first + g
                if kh == 2 and kw == 2:  # the common window, unrolled: 0.5 -> 0.34 us per 1,024
                    # unsigned indices: numba checks a signed one for a negative
                    # value to wrap, twice per load (the CNN: -0.24 to -0.5 us)
                    u = np.uint64(at)
                    s = np.uint64(tab[zc[u]]) + np.uint64(tab[zc[u + uc]])
                    s += np.uint64(tab[zc[u + uw]]) + np.uint64(tab[zc[u + uw + uc]])
                else:
                    s = np.uint64(0)
                    for dy in range(kh):
                        for dx in range(kw):
                            s += np.uint64(tab[zc[at + (dy * w + dx) * c8]])
                words[q] = s
                q += 1
    for j in range(n, n64):  # bytes past the counts: no events
        counts[j] = 0
    if slot >= 0:
        ecnt[slot] = _byte_events(counts, n64, perm, ip, evi, evv, eoff, counts, 0)
    if dst >= 0:
        for j in range(n):
            val[dst + ip[perm + j]] = counts[j]


@_config.njit()
def _neuron(c, t, b, fp, val, evi, evv, ecnt, s, rec):  # pragma: no cover - compiled
    """A layer of neurons of any kind (the `snn` neuron's options; NIR's
    neurons are special cases), performing the float64 operations of
    :mod:`nirc.interpreter.neurons` / :mod:`.snn` in their order; then the
    records and the output's events. The oracle skips a multiplication by a
    parameter that is exactly 1.0 and an addition of one that is exactly 0.0;
    here every multiplication is made (``x * 1.0`` is ``x``, bit for bit) and
    a skipped addition adds -0.0 instead (``x + -0.0`` is ``x``, signed zeros
    included), which leaves fewer branches. Its input, output and state
    regions always exist (the builder gives unused ones scratch space)."""
    m, src, out0, slot, eoff, flags, p0, sv, si, sl, rv, ri, rp, mode, pre0 = (
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13],
        c[14], c[15],
    )  # fmt: skip
    x = val[src : src + m]
    out = val[out0 : out0 + m]
    pre = val[pre0 : pre0 + m]
    v, i, last = s[sv : sv + m], s[si : si + m], s[sl : sl + m]
    if (flags & F_UNIFORM) != 0:  # the division of multi-spike counts in its own loop
        if (flags & F_MULTI) != 0:
            _uniform_neurons(fp, p0, x, i, v, out, flags, mode, True)
        else:
            _uniform_neurons(fp, p0, x, i, v, out, flags, mode, False)
    else:
        _each_neuron(fp, p0, m, x, i, v, last, out, pre, flags, mode)
    rt = rec[t, b]
    if rv >= 0:
        _copy(rt[rv : rv + m], v)
    if ri >= 0:
        _copy(rt[ri : ri + m], i)
    if rp >= 0:
        _copy(rt[rp : rp + m], pre)
    if slot >= 0:
        ecnt[slot] = _events_from(out, 0, m, 0, evi, evv, eoff)


@_config.njit()
def _uniform_neurons(fp, p0, x, i, v, out, flags, mode, multi):  # pragma: no cover
    """:func:`_neuron` for layer-wide parameters (``fp[p0:p0+9]``) and the
    resets that do not read the last step's spikes (to a value, subtract):
    every option a select on a value, every load unconditional, three arrays
    written, and the multi-spike division compiled in only when ``multi``
    (a constant of each call site; a select cannot skip a division): the
    loop vectorizes. On the Braille network's 38 neurons: 23 ns a step,
    against 270 ns one neuron at a time and 470 ns with the division in."""
    syn = (flags & F_SYN) != 0
    same = (flags & F_SAME) != 0
    d_zero = (flags & F_D_ZERO) != 0
    fires = (flags & F_FIRES) != 0
    ge = (flags & F_GE) != 0
    has_cap = (flags & F_CAP) != 0
    reset_mul = (flags & F_RESET_MUL) != 0
    has_vmin = (flags & F_VMIN) != 0
    to_value = mode == R_ZERO
    sub_all = mode == R_SUB_ALWAYS
    sub_where = mode == R_SUB_WHERE
    cs, ds, cm, km, dd, thr, vr, vmin, cap = (
        fp[p0], fp[p0 + 1], fp[p0 + 2], fp[p0 + 3], fp[p0 + 4], fp[p0 + 5], fp[p0 + 6],
        fp[p0 + 7], fp[p0 + 8],
    )  # fmt: skip
    for j in range(x.shape[0]):
        xj, i_old, vj = x[j], i[j], v[j]
        i_new = i_old * ds + xj * cs
        i[j] = i_new if syn else i_old
        drive = (i_new if same else i_old) if syn else xj
        w = drive * cm + km
        vv = w if d_zero else vj * dd + w
        z = vv >= thr if ge else vv > thr
        if multi:
            n = _floor_quotient(vv, thr) if z else 0.0
        else:
            n = 1.0 if z else 0.0
        n = cap if has_cap and n > cap else n
        zeroed = (vv * 0.0 if reset_mul else vr) if z else vv
        r = zeroed if to_value else vv
        r = vv - n * thr if sub_all else r
        r = (vv - thr if z else vv) if sub_where else r
        r = vmin if has_vmin and r < vmin else r
        r = r if fires else vv
        v[j] = r
        out[j] = n if fires else r


@_config.njit()
def _each_neuron(fp, p0, m, x, i, v, last, out, pre, flags, mode):  # pragma: no cover
    """:func:`_neuron` one neuron at a time, for per-neuron parameters and
    every option. (The same loop written branch-free, with per-neuron
    parameters, reads and writes too many arrays for the vectorizer's
    run-time alias checks: it stayed scalar and was 1.3x slower.)"""
    syn = (flags & F_SYN) != 0
    same = (flags & F_SAME) != 0
    d_zero = (flags & F_D_ZERO) != 0
    fires = (flags & F_FIRES) != 0
    ge = (flags & F_GE) != 0
    multi = (flags & F_MULTI) != 0
    has_cap = (flags & F_CAP) != 0
    reset_mul = (flags & F_RESET_MUL) != 0
    has_vmin = (flags & F_VMIN) != 0
    cs, ds, cm, km = (
        fp[p0 : p0 + m], fp[p0 + m : p0 + 2 * m], fp[p0 + 2 * m : p0 + 3 * m],
        fp[p0 + 3 * m : p0 + 4 * m],
    )  # fmt: skip
    dd, th, vr, vmin = (
        fp[p0 + 4 * m : p0 + 5 * m], fp[p0 + 5 * m : p0 + 6 * m], fp[p0 + 6 * m : p0 + 7 * m],
        fp[p0 + 7 * m : p0 + 8 * m],
    )  # fmt: skip
    cap = fp[p0 + 8 * m]
    for j in range(m):
        if syn:
            i_old = i[j]
            i_new = i_old * ds[j] + x[j] * cs[j]
            i[j] = i_new
            drive = i_new if same else i_old
        else:
            drive = x[j]
        w = drive * cm[j] + km[j]
        vv = w if d_zero else v[j] * dd[j] + w
        if not fires:
            v[j] = vv
            out[j] = vv
            continue
        thr = th[j]
        if mode == R_SUB_UNDECAYED:
            vv = vv - last[j] * thr
        elif mode == R_ZERO_REFRACTORY and last[j] > 0:
            vv = vr[j]
        z = vv >= thr if ge else vv > thr
        if multi:
            n = _floor_quotient(vv, thr) if z else 0.0
            if has_cap and n > cap:
                n = cap
        else:
            n = 1.0 if z else 0.0
        pre[j] = vv
        if mode == R_ZERO:
            if z:
                vv = vv * 0.0 if reset_mul else vr[j]
        elif mode == R_SUB_ALWAYS:
            vv = vv - n * thr
        elif mode == R_SUB_WHERE and z:
            vv = vv - thr
        if has_vmin and vv < vmin[j]:
            vv = vmin[j]
        v[j] = vv
        last[j] = n
        out[j] = n


@_inline
def _layer(c, t, b, fp, ip, val, evi, evv, ecnt, s, rec, acc, zc):  # pragma: no cover - compiled
    """A spiking layer fed by one synapse's fresh sums (a convolution's
    channels-last ``acc``, cleared here, or a dense output in ``val``):
    ``v = d*v + ((sum + bias)*c + k)``, spike where ``v > thr``, reset (a
    select, so that the loop is branch-free and vectorizes), all neurons at
    once in storage order (clearing the accumulator in the same pass); then
    the spikes leave as events (:func:`_byte_events`), their index mapped by
    ``eperm`` (storage -> layer index) or, when -1, the storage index (the
    readers' tables are permuted instead), and, when asked, as dense values
    in layer order (``perm``); recorded states are written in layer order. A
    padded accumulator (:func:`_conv_block`, ``geo`` >= 0: rows, elements per
    row, row stride, first element, size in ``ip``) is read row by row and
    then cleared whole; with layer-wide parameters, 8 neurons at a time
    (:func:`_layer_bits`). A multi-spike layer (``mode``: L_MULTI) counts
    instead (:func:`_count_rows`): its counts wait in ``acc`` past the sums
    (from ``c0``) for the events' values and the dense output, then are
    cleared.
    Multiplying by 1 and adding 0 change nothing here (a sum starts at +0.0
    and is never -0.0), so the same loop serves every parameter value."""
    m, from_acc, src, bias, uniform, p0, mode, sv, perm, slot, eoff, dst, rv, geo, eperm = (
        c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14],
        c[15],
    )  # fmt: skip
    multi = (mode & L_MULTI) != 0
    if geo >= 0 and uniform and not multi:  # spikes as bits straight from the compares
        _layer_bits(c, t, b, fp, ip, val, evi, evv, ecnt, s, rec, acc, zc)
        return
    # one call site of _layer_rows (each inlined copy cost about a second of
    # the kernel's first compile): a padded accumulator row by row, else the
    # whole layer at once from the accumulator (left zero for the next
    # convolution) or from ``val``
    n_rows, rlen, rs, base, total = 1, m, 0, src, 0
    if geo >= 0:
        n_rows, rlen, rs, base, total = ip[geo], ip[geo + 1], ip[geo + 2], ip[geo + 3], ip[geo + 4]
    elif from_acc:
        base = 0
    buf = acc if geo >= 0 or from_acc else val
    clr = from_acc and geo < 0
    c0 = total if geo >= 0 else (m if from_acc else 0)  # the counts, in ``acc``
    for r in range(n_rows):
        if multi:
            _count_rows(fp, s, buf, base + r * rs, r * rlen, rlen, bias, uniform, p0, mode, sv, m,
                        zc, acc, c0)  # fmt: skip
        else:
            _layer_rows(fp, s, buf, base + r * rs, r * rlen, rlen, bias, uniform, p0, mode, sv, m,
                        zc, clr)  # fmt: skip
    if geo >= 0:
        acc[:total] = 0.0
    elif clr and multi:
        acc[:m] = 0.0
    v = s[sv : sv + m]
    if slot >= 0:
        whole = m + (-m) % 64
        zc[m:whole] = 0
        if multi:
            ecnt[slot] = _byte_events(zc, whole, eperm, ip, evi, evv, eoff, acc, c0)
        else:
            ecnt[slot] = _byte_events(zc, whole, eperm, ip, evi, evv, eoff, zc, 0)
    if dst >= 0:
        if multi:
            for j in range(m):
                val[dst + (j if perm < 0 else ip[perm + j])] = acc[c0 + j]
        elif perm < 0:
            for j in range(m):
                val[dst + j] = zc[j]
        else:
            for j in range(m):
                val[dst + ip[perm + j]] = zc[j]
    if multi:
        acc[c0 : c0 + m] = 0.0
    if rv >= 0:
        rt = rec[t, b]
        if perm < 0:
            for j in range(m):
                rt[rv + j] = v[j]
        else:
            for j in range(m):
                rt[rv + ip[perm + j]] = v[j]


@_inline
def _clear_margins(acc, n_rows, rlen, rs, base, total):  # pragma: no cover - compiled
    """Zero a padded accumulator's margins (its interior, ``n_rows`` rows of
    ``rlen`` from ``base``, ``rs`` apart, is cleared as it is read)."""
    acc[:base] = 0.0
    for r in range(n_rows - 1):
        acc[base + r * rs + rlen : base + (r + 1) * rs] = 0.0
    acc[base + (n_rows - 1) * rs + rlen : total] = 0.0


@_inline
def _layer_bits(c, t, b, fp, ip, val, evi, evv, ecnt, s, rec, acc, zc):  # pragma: no cover
    """:func:`_layer` for a padded accumulator and layer-wide parameters: the
    neurons 8 at a time (:func:`_layer8`, rows of ``rlen``, a multiple of 8),
    their spikes stored as bits, 8 per byte of ``zc`` (bit ``j % 8`` of byte
    ``j // 8`` for neuron ``j`` in storage order), which are read 64 at a
    time for the events: no byte per neuron written and gathered again."""
    m, bias, p0, sub, sv, perm, slot, eoff, dst, rv, geo, eperm = (
        c[1], c[4], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15]
    )  # fmt: skip
    n_rows, rlen, rs, base, total = ip[geo], ip[geo + 1], ip[geo + 2], ip[geo + 3], ip[geo + 4]
    cc, kk, d, thr, r = fp[p0], fp[p0 + 1], fp[p0 + 2], fp[p0 + 3], fp[p0 + 4]
    is_sub = (sub & L_SUB) != 0
    has_bias = bias >= 0
    bo = bias if has_bias else 0
    bw = fp if has_bias else acc  # read (and not used) when there is no bias
    nbytes = m // 8
    whole = (nbytes + 7) // 8  # 64-bit words
    for q in range(nbytes, whole * 8):
        zc[q] = 0
    for row in range(n_rows):
        at = base + row * rs
        j0 = row * rlen
        for j in range(0, rlen, 8):
            bits = _layer8(s, sv + j0 + j, acc, at + j, bw, (bo + j0 + j) if has_bias else at + j,
                           has_bias, d, cc, kk, thr, r, is_sub)
            zc[(j0 + j) >> 3] = bits
    _clear_margins(acc, n_rows, rlen, rs, base, total)
    words = zc[: whole * 8].view(np.uint64)
    if slot >= 0:
        ne = 0
        for blk in range(whole):
            mask = words[blk]
            while mask != np.uint64(0):
                j = blk * 64 + np.int64(trailing_zeros(mask))
                mask &= mask - U1
                evi[eoff + ne] = j if eperm < 0 else ip[eperm + j]
                evv[eoff + ne] = 1.0
                ne += 1
        ecnt[slot] = ne
    if dst >= 0:
        for j in range(m):
            val[dst + ip[perm + j]] = np.float64((zc[j >> 3] >> (j & 7)) & 1)
    if rv >= 0:
        rt = rec[t, b]
        for j in range(m):
            rt[rv + ip[perm + j]] = s[sv + j]


@_inline
def _per_neuron(fp, q, n, m):  # pragma: no cover - compiled
    """A fused layer's per-neuron (c, k, d, thr, v_reset) for ``n`` neurons
    from ``q``: five columns of ``m`` in ``fp``."""
    return (
        fp[q : q + n], fp[q + m : q + m + n], fp[q + 2 * m : q + 2 * m + n],
        fp[q + 3 * m : q + 3 * m + n], fp[q + 4 * m : q + 4 * m + n],
    )  # fmt: skip


@_inline
def _layer_rows(fp, s, buf, a0, j0, n, bias, uniform, p0, sub, sv, m, zc, clr):  # pragma: no cover
    """:func:`_layer`'s update of the neurons ``j0 .. j0+n-1`` (storage order)
    of a layer of ``m`` from the sums ``buf[a0 : a0+n]``, clearing those when
    ``clr``."""
    v = s[sv + j0 : sv + j0 + n]
    a = buf[a0 : a0 + n]
    zs = zc[j0 : j0 + n]
    is_sub = (sub & L_SUB) != 0
    if uniform:
        cc, kk, d, thr, r = fp[p0], fp[p0 + 1], fp[p0 + 2], fp[p0 + 3], fp[p0 + 4]
        if bias >= 0:
            bf = fp[bias + j0 : bias + j0 + n]
            for j in range(n):
                x = v[j] * d + ((a[j] + bf[j]) * cc + kk)
                z = x > thr
                zs[j] = z
                y = x - thr if is_sub else r
                v[j] = y if z else x
            if clr:
                a[:] = 0.0
        elif clr:  # cleared in the same pass
            for j in range(n):
                x = v[j] * d + (a[j] * cc + kk)
                a[j] = 0.0
                z = x > thr
                zs[j] = z
                y = x - thr if is_sub else r
                v[j] = y if z else x
        else:
            for j in range(n):
                x = v[j] * d + (a[j] * cc + kk)
                z = x > thr
                zs[j] = z
                y = x - thr if is_sub else r
                v[j] = y if z else x
    else:
        pc, pk, pd, pt, pr = _per_neuron(fp, p0 + j0, n, m)
        for j in range(n):
            bj = fp[bias + j0 + j] if bias >= 0 else 0.0
            x = v[j] * pd[j] + ((a[j] + bj) * pc[j] + pk[j])
            z = x > pt[j]
            zs[j] = z
            y = x - pt[j] if is_sub else pr[j]
            v[j] = y if z else x
        if clr:
            a[:] = 0.0


@_config.njit()
def _count_rows(fp, s, buf, a0, j0, n, bias, uniform, p0, mode, sv, m, zc, cnt, c0):  # pragma: no cover
    """:func:`_layer_rows` for a multi-spike layer: neuron ``j`` emits
    ``floor(v / thr)`` spikes where ``v > thr`` (``v >= thr`` with L_GE; at
    most ``cap`` with L_CAP), left in ``cnt[c0 + j]`` (and a nonzero byte in
    ``zc``), and its reset subtracts that many thresholds (L_SUB) or sets
    ``v_reset``: the operations of :func:`_uniform_neurons`, as one select
    each. ``bias`` is always a region (zeros when the synapse has none:
    adding +0.0 to a sum that is never -0.0 changes nothing); ``fp[p0 +
    5]`` (per neuron: ``fp[p0 + 5*m]``) is the cap."""
    v = s[sv + j0 : sv + j0 + n]
    a = buf[a0 : a0 + n]
    bf = fp[bias + j0 : bias + j0 + n]
    zs = zc[j0 : j0 + n]
    q = cnt[c0 + j0 : c0 + j0 + n]
    is_sub = (mode & L_SUB) != 0
    ge = (mode & L_GE) != 0
    has_cap = (mode & L_CAP) != 0
    if uniform:
        cc, kk, d, thr, r, cap = fp[p0], fp[p0 + 1], fp[p0 + 2], fp[p0 + 3], fp[p0 + 4], fp[p0 + 5]
        for j in range(n):
            x = v[j] * d + ((a[j] + bf[j]) * cc + kk)
            z = x >= thr if ge else x > thr
            k = _floor_quotient(x, thr) if z else 0.0
            k = cap if has_cap and k > cap else k
            y = x - k * thr if is_sub else r
            v[j] = y if z else x
            zs[j] = z
            q[j] = k
    else:
        pc, pk, pd, pt, pr = _per_neuron(fp, p0 + j0, n, m)
        cap = fp[p0 + 5 * m]
        for j in range(n):
            x = v[j] * pd[j] + ((a[j] + bf[j]) * pc[j] + pk[j])
            thr = pt[j]
            z = x >= thr if ge else x > thr
            k = _floor_quotient(x, thr) if z else 0.0
            k = cap if has_cap and k > cap else k
            y = x - k * thr if is_sub else pr[j]
            v[j] = y if z else x
            zs[j] = z
            q[j] = k


@_config.njit()
def _delay(c, t, ip, val, s):  # pragma: no cover - compiled
    """``y[t] = x[t - d]`` per element (zeros before), from a ring of the last
    ``depth`` inputs kept in the state."""
    src, dst, n, steps, ring, depth = c[1], c[2], c[3], c[4], c[5], c[6]
    here = t % depth
    for j in range(n):
        d = ip[steps + j]
        if d == 0:
            val[dst + j] = val[src + j]
        elif t >= d:
            val[dst + j] = s[ring + ((here - d) % depth) * n + j]
        else:
            val[dst + j] = 0.0
    _copy(s[ring + here * n : ring + (here + 1) * n], val[src : src + n])


@_config.njit()
def run_program(code, fp, ip, sizes, xf, xn, t0, t1, t_data, st, rec, b0, b1):  # pragma: no cover
    """Steps ``t0 .. t1-1`` of samples ``b0 .. b1-1``, one sample after the
    other. ``sizes``: the per-sample scratch (values, events, event lists,
    accumulator, spike mask). It holds no lock (``nogil``): threads may run
    disjoint sample ranges of the same arrays at once.

    The loop over a sample's steps and ops is written here, not in a helper
    inlined by numba: numba's inliner copies a callee block by block, each
    copy with the whole function's scope, and the 646 blocks of that helper
    took 20 of the kernel's 50 s first compile (then 31-34 s; as a compiled
    function of its own, the scratch arrays' provenance was lost to LLVM and
    the CNN ran 1.8% slower). For the same reason each inlined helper has
    one call site where it can (:func:`_layer_rows`), and the block adds
    are one intrinsic (:func:`_add_pair`) rather than seven compiled
    copies of the event loop: 19-20 s. It grew again with the fused
    counting layers (25.6-30.1 s, 2026-12-07); the ops no fast path of the
    paper CNN or of its Sinabs reading spends its time in (the general
    neuron op, sums, delays, dense pools, pools of events, compaction, the
    unblocked convolution, the counting rows, called once per row) are now
    compiled functions of their own, called, not inlined: 17.1-21.9 s, the
    CNN plainly and read as Sinabs unchanged, the Braille RNN (two general
    neuron ops a step) a few percent slower at 0.58-0.64 CPU-us per step."""
    val = np.zeros(sizes[0])
    evi = np.zeros(sizes[1], np.int64)
    evv = np.zeros(sizes[1])
    ecnt = np.zeros(sizes[2], np.int64)
    raw = np.zeros(sizes[3] + 8)  # the accumulator 64-byte aligned (whole cache lines per 8-wide add)
    skew = (-raw.ctypes.data % 64) // 8
    acc = raw[skew : skew + sizes[3]]
    zc = np.zeros(sizes[4], np.uint8)
    for b in range(b0, b1):  # each sample's steps: every op of ``code`` in order, each step
        val[:] = 0.0
        ecnt[:] = 0
        s = st[b]
        for t in range(t0, t1):
            for k in range(code.shape[0]):
                c = code[k]
                op = c[0]
                if op == OP_INPUT:
                    _input(c, t, t_data, b, xf, xn, ip, val, evi, evv, ecnt)
                elif op == OP_SUM:
                    _sum(c, ip, val, s)
                elif op == OP_COMPACT:
                    _compact(c, val, evi, evv, ecnt)
                elif op == OP_DENSE:
                    _dense(c, fp, val, evi, evv, ecnt)
                elif op == OP_CONV:
                    _conv(c, fp, ip, val, evi, evv, ecnt, acc)
                elif op == OP_CONV_BLOCK:
                    _conv_block(c, fp, ip, val, evi, evv, ecnt, acc)
                elif op == OP_POOL:
                    _pool(c, val)
                elif op == OP_POOL_EVENTS:
                    _pool_events(c, ip, val, evi, evv, ecnt)
                elif op == OP_POOL_BITS:
                    _pool_bits(c, ip, val, evi, evv, ecnt, zc)
                elif op == OP_SCALE:
                    src, dst, n, so = c[1], c[2], c[3], c[4]
                    for j in range(n):
                        val[dst + j] = val[src + j] * fp[so + j]
                elif op == OP_THRESHOLD:
                    src, dst, n, so = c[1], c[2], c[3], c[4]
                    for j in range(n):
                        val[dst + j] = 1.0 if val[src + j] > fp[so + j] else 0.0
                elif op == OP_NEURON:
                    _neuron(c, t, b, fp, val, evi, evv, ecnt, s, rec)
                elif op == OP_LAYER:
                    _layer(c, t, b, fp, ip, val, evi, evv, ecnt, s, rec, acc, zc)
                elif op == OP_DELAY:
                    _delay(c, t, ip, val, s)
                elif op == OP_SAVE:
                    src, dst, n = c[1], c[2], c[3]
                    _copy(s[dst : dst + n], val[src : src + n])
                elif op == OP_RECORD:
                    src, dst, n = c[1], c[2], c[3]
                    _copy(rec[t, b, dst : dst + n], val[src : src + n])
