"""Numpy kernels for the stateless nodes and Delay (synapses, pools, reshapes).

Every kernel maps ``x`` of shape ``[N, *in_shape]`` to ``[N, *out_shape]``,
where ``N`` is any number of samples: the batch of one step, or the batch of
every step of a chunk of time at once. The arithmetic of one sample never
depends on ``N``, so evaluating all steps at once gives bit for bit the values
of evaluating step by step:

- Weighted sums (Affine, Linear, Conv) are float64. When the input holds
  integers of known bound (spikes, spike counts) and the weights' bits leave
  room (``exact_for``), every partial sum is exact, so any order of addition
  gives the same result and BLAS does the work (its order does change with
  ``N``). Otherwise (real-valued inputs) the sum runs in a fixed order, input
  by input (:func:`fixed_order_matmul`), slower but reproducible.
- Because exact sums may be split and reordered at will, a convolution on
  exact inputs looks at each input channel's activity in the call (see
  :meth:`Conv._split`): silent channels are skipped, sparse ones scattered
  event by event, busy ones go through im2col and BLAS. Which way a channel
  goes depends on ``N`` and on the data, never the result.
- Pools add their window's elements in a fixed order (one strided slice per
  kernel position), never through a reduction whose order numpy may choose;
  pools of spikes count in uint8.
- Spikes may arrive as bool and spike counts as uint8 (kernels with
  ``narrow_inputs``); they are converted where a product needs float64.
- ``apply_f32`` (Affine, Linear, Conv) is the opt-in float32 mode: BLAS in
  float32, reassociated, so not exact and not independent of ``N``.

Kernels never write into their input.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nirc.diagnostics import NircError
from nirc.graph import Node
from nirc.interpreter import jit
from nirc.shapes import Shape, conv_params, delay_steps, pool_params

F64 = np.float64
F32 = np.float32
CONV_PIECE = 64  # samples per piece the threads of a spike-driven convolution take


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=F64)


def lowest_bit(w: np.ndarray) -> int:
    """The exponent of the lowest set bit over all nonzero finite weights (0
    for none): every weight is an integer times ``2**lowest_bit``."""
    nz = np.abs(w[np.isfinite(w) & (w != 0)]).astype(F64)
    if nz.size == 0:
        return 0
    mant, exp = np.frexp(nz)  # nz = mant * 2**exp, mant in [0.5, 1)
    ints = (mant * 2.0**53).astype(np.int64)
    low = np.log2((ints & -ints).astype(F64)).astype(np.int64)  # trailing zero bits
    return int((exp - 53 + low).min())


def exact_sum_possible(low: int, gain: float, bound: float | None) -> bool:
    """Whether sums of weights (integers times ``2**low``, at most ``gain`` in
    |weight| summed over one output's inputs) times integers of magnitude <=
    ``bound`` are exact in float64, in any order: every product and every
    partial sum is then an integer times ``2**low`` of magnitude at most
    ``bound * gain``, which float64 holds exactly below ``2**(53 + low)``.
    (Checked with a margin for the rounding of ``bound * gain`` itself.)"""
    if bound is None or not np.isfinite(bound) or not np.isfinite(gain):
        return False
    if bound == 0 or gain == 0:
        return True
    top = bound * gain * (1.0 + 2.0**-40)
    if not np.isfinite(top):
        return False
    # past float64's exponent range the grid limit exceeds every finite value
    return 53 + low > 1023 or top <= math.ldexp(1.0, 53 + low)


def abs_row_sum(w: np.ndarray, axes) -> float:
    """The largest sum of |weights| into one output (``axes``: the inputs'; inf
    when it overflows)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.abs(w).sum(axis=axes).max(initial=0.0))


def largest_abs(a: np.ndarray | None) -> float:
    """The largest |value| of ``a`` (0 for None or none)."""
    if a is None:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.max(np.abs(a), initial=0.0))


def fixed_order_matmul(x: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """``x[M, K] @ wt[K, N]`` adding the K products in order, for every row the
    same way whatever M (inputs that are zero in every row are skipped: adding
    their +-0.0 products changes nothing)."""
    m, n = x.shape[0], wt.shape[1]
    y = np.zeros((m, n), F64)
    tmp = np.empty((m, n), F64)
    for k in np.flatnonzero(np.any(x != 0, axis=0)):
        np.multiply(x[:, k, None], wt[k], out=tmp)
        y += tmp
    return y


def reuse(pool: list, shape: tuple, dtype) -> np.ndarray:
    """An uninitialized array from ``pool`` that nothing references any more (the
    pool's is its only reference: CPython's reference count says so, views
    included), else a new one, kept in the pool (at most 3).

    Kernels return their outputs in such arrays: a large fresh array costs a
    page fault per 4 KiB page on first touch, which on a virtual machine takes
    as long as the arithmetic that fills it."""
    for buf in pool:
        # references: the pool, `buf`, getrefcount's argument
        if buf.shape == shape and buf.dtype == dtype and sys.getrefcount(buf) <= 3:
            return buf
    buf = np.empty(shape, dtype)
    pool.append(buf)
    if len(pool) > 3:
        del pool[0]
    return buf


class Op:
    """A stateless kernel: ``apply(x[N, *in_shape]) -> y[N, *out_shape]``."""

    stateful = False
    macs_per_sample = 0  # multiply-accumulates per sample, for throughput figures
    weighted = False  # a weighted sum: exactness depends on the input (exact_for)
    narrow_inputs = False  # takes bool / uint8 inputs (spikes, counts) as they are

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        self.name = node.name
        self.in_shape = tuple(in_shape)
        self.out_shape = tuple(out_shape)

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:  # pragma: no cover
        """``exact``: the input is such that ``exact_for`` held (BLAS may be used)."""
        raise NotImplementedError

    def exact_for(self, bound: float | None) -> bool:
        return True

    def apply_in_blocks(self, x: np.ndarray, dtype, exact: bool = False,
                        block: int = 1 << 22) -> np.ndarray:  # fmt: skip
        """:meth:`apply` over ``x`` a block of samples at a time (at most
        ``block`` output values each, at least one sample) into one array of
        ``dtype``: the chip simulators' convolutions over every step and
        sample at once, whose float64 results are a temporary (the Speck
        quantizer's N-MNIST calibration held 0.4 GiB of them)."""
        n = x.shape[0]
        per = max(1, block // max(1, int(np.prod(self.out_shape))))
        if n <= per:
            return self.apply(x, exact=exact).reshape((n,) + self.out_shape).astype(dtype)
        out = np.empty((n,) + self.out_shape, dtype)
        for a in range(0, n, per):
            out[a : a + per] = self.apply(x[a : a + per], exact=exact).reshape((-1,) + self.out_shape)
        return out


class Identity(Op):
    """Input and Output nodes: the (summed) value passes through."""

    narrow_inputs = True

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        return x


class Dense(Op):
    """Affine (``W x + b``) and Linear (``W x``).

    A 2-D weight acts on the last axis; a weight with more axes broadcasts its
    leading axes like numpy's matmul."""

    weighted = True
    narrow_inputs = True  # spikes and counts: converted for BLAS

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        super().__init__(node, in_shape, out_shape)
        w = f64(node.params["weight"])
        self.weight = w
        b = node.params.get("bias") if node.type == "Affine" else None
        self.bias = None if b is None else f64(b)
        self.matrix = w.ndim == 2
        self.fan_in = int(w.shape[-1])
        self.low_bit = lowest_bit(w)
        self.gain = abs_row_sum(w, -1)  # see exact_sum_possible
        self.bias_bound = largest_abs(self.bias)
        self._w32 = None
        self._outputs: list = []  # see reuse()
        if self.matrix:
            self.weight_t = np.ascontiguousarray(w.T)  # [in, out]
            lead = int(np.prod(in_shape[:-1], dtype=np.int64)) if len(in_shape) > 1 else 1
            self.macs_per_sample = lead * w.shape[0] * w.shape[1]
        else:
            self.macs_per_sample = int(np.prod(w.shape, dtype=np.int64))
            pad = (w.ndim - 2) - (len(in_shape) - 1)
            self.x_shape = (1,) * max(pad, 0) + tuple(in_shape) + (1,)

    def exact_for(self, bound: float | None) -> bool:
        return exact_sum_possible(self.low_bit, self.gain, bound)

    JIT_EVENT_MACS = 4  # a compiled spike-driven addition, in dense multiply-accumulates

    def _jit_events(self, x2: np.ndarray) -> np.ndarray | None:
        """``x2 @ W.T`` (+ bias) by the compiled spike-driven kernel, when the
        input is sparse enough to beat BLAS; else None."""
        xs = jit.narrow(np.ascontiguousarray(x2))
        out_n = self.weight_t.shape[1]
        if np.count_nonzero(xs) * self.JIT_EVENT_MACS >= xs.size:
            return None
        y = reuse(self._outputs, (xs.shape[0], out_n), F64)  # no page faults, see reuse()
        y[...] = 0.0
        jit.kernels().dense_scatter(xs, self.weight_t, y)
        if self.bias is not None:
            y += self.bias
        return y

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        n = x.shape[0]
        if exact and self.matrix and jit.ENABLED and x.dtype in (np.bool_, np.uint8):
            y = self._jit_events(x.reshape(-1, self.fan_in))
            if y is not None:
                return y.reshape((n,) + self.out_shape)
        x = x if x.dtype == F64 else x.astype(F64)
        if self.matrix:
            x2 = x.reshape(-1, self.fan_in)
            # np.dot: less call overhead than matmul on the small products of a step
            y = np.dot(x2, self.weight_t) if exact else fixed_order_matmul(x2, self.weight_t)
            y = y.reshape((n,) + self.out_shape)
        else:
            xe = x.reshape((n,) + self.x_shape)
            if exact:
                y = np.matmul(self.weight, xe)[..., 0]
            else:  # fixed order: one input at a time
                y = self.weight[..., 0] * xe[..., 0, 0][..., None]
                for k in range(1, self.fan_in):
                    y = y + self.weight[..., k] * xe[..., k, 0][..., None]
            y = np.ascontiguousarray(np.broadcast_to(y, (n,) + self.out_shape))
        if self.bias is not None:
            y += self.bias
        return y

    def apply_f32(self, x: np.ndarray) -> np.ndarray:
        """The float32 mode: products summed by BLAS in float32, then float64
        (the bias is added in float64)."""
        if self._w32 is None:
            self._w32 = (self.weight_t if self.matrix else self.weight).astype(F32)
        n = x.shape[0]
        x = x.astype(F32)
        if self.matrix:
            y = np.dot(x.reshape(-1, self.fan_in), self._w32).astype(F64)
            y = y.reshape((n,) + self.out_shape)
        else:
            y = np.matmul(self._w32, x.reshape((n,) + self.x_shape))[..., 0].astype(F64)
            y = np.ascontiguousarray(np.broadcast_to(y, (n,) + self.out_shape))
        if self.bias is not None:
            y += self.bias
        return y


class Scale(Op):
    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        super().__init__(node, in_shape, out_shape)
        self.scale = f64(node.params["scale"])

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        return x * self.scale


class Threshold(Op):
    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        super().__init__(node, in_shape, out_shape)
        self.threshold = f64(node.params["threshold"])

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        return np.greater(x, self.threshold).astype(F64)


class Flatten(Op):
    narrow_inputs = True

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        return x.reshape((x.shape[0],) + self.out_shape)


class Conv(Op):
    """Conv1d/Conv2d as PyTorch computes them (cross-correlation): im2col and
    one matrix product per block of samples and group.

    The padded input is split into its ``stride`` phases (``xp[py::sh, px::sw]``;
    one phase for stride 1), each laid out per sample as rows of equal width, so
    that every kernel tap reads one contiguous run per sample and channel: im2col
    is a few long copies, whatever the stride. Outputs are computed for every
    column of a phase's row and the extra columns dropped. Samples are processed
    in blocks whose column matrix stays in cache, and scratch buffers are kept
    between calls. The input may be bool or small integers (spikes, spike
    counts): they are converted while copying. Conv1d runs as a Conv2d of height 1.

    ``exact`` (sums exact, see :func:`exact_for`): the sum may be split and
    reordered freely, so each call first counts every input channel's nonzeros
    (:meth:`_split`): silent channels are skipped, the sparsest (stride 1) are
    scattered event by event (:meth:`_scatter`), the others go through im2col
    and BLAS in float64 (or float32 with :meth:`apply_f32`). Otherwise the
    columns are summed input by input in a fixed order
    (:func:`fixed_order_matmul`)."""

    BLOCK_BYTES = 512 << 10  # one block's column matrix: stays in the L2 cache
    weighted = True
    narrow_inputs = True  # bool / integer inputs are converted while padding

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        super().__init__(node, in_shape, out_shape)
        cp = conv_params(node)
        w = f64(node.params["weight"])
        b = node.params.get("bias")
        self.bias = None if b is None or not np.any(b) else f64(b).reshape(-1, 1)
        if node.type == "Conv1d":
            w = w[:, :, None, :]
            self.kernel = (1, cp.kernel[0])
            self.stride = (1, cp.stride[0])
            self.pads = ((0, 0), cp.pads[0])
            self.dilation = (1, cp.dilation[0])
            self.in2d = (in_shape[0], 1, in_shape[1])
            self.out2d = (out_shape[0], 1, out_shape[1])
        else:
            self.kernel, self.stride = cp.kernel, cp.stride
            self.pads, self.dilation = cp.pads, cp.dilation
            self.in2d, self.out2d = tuple(in_shape), tuple(out_shape)
        # an axis with one output position never applies its stride (which may be
        # as large as the file says: 2**63 - 1); 1 computes the same
        self.stride = tuple(1 if o == 1 else s for s, o in zip(self.stride, self.out2d[1:]))
        self.groups = g = cp.groups
        out_ch, cg, kh, kw = w.shape
        self.cg, self.og = cg, out_ch // g
        self.weight4 = w  # [O, Cg, KH, KW]
        # per group [Og, Cg*KH*KW], columns ordered (channel, kh, kw) like im2col's rows
        self.wmat = [
            np.ascontiguousarray(w[i * self.og : (i + 1) * self.og].reshape(self.og, -1))
            for i in range(g)
        ]
        _, oh, ow = self.out2d
        self.positions = oh * ow
        self.rows = cg * kh * kw
        self.macs_per_sample = out_ch * self.positions * self.rows
        self.low_bit = lowest_bit(w)
        self.gain = abs_row_sum(w, (1, 2, 3))  # see exact_sum_possible
        self.bias_bound = largest_abs(self.bias)
        self._layout_key = None
        self._scratch: dict = {}
        self._outputs: list = []  # see reuse()

    def exact_for(self, bound: float | None) -> bool:
        return exact_sum_possible(self.low_bit, self.gain, bound)

    # --- the phase layout -------------------------------------------------------
    def _layout(self):
        """Geometry for the current pads (snn plans set ``pads`` after construction)."""
        key = (self.pads, self.stride, self.dilation, self.kernel)
        if self._layout_key == key:
            return self._lay
        c, h, w = self.in2d
        (pt, pb), (pl, pr) = self.pads
        kh, kw = self.kernel
        dh, dw = self.dilation
        sh, sw = self.stride
        _, oh, ow = self.out2d
        hp, wp = h + pt + pb, w + pl + pr
        hq, wq = -(-hp // sh), -(-wp // sw)
        plane = hq * wq
        span = oh * wq  # output columns computed per sample (ow of every wq kept)
        # each phase: the taps that read it, as arithmetic progressions of ky and kx
        phases = []
        order = []  # im2col row order: per phase, (channel, ky, kx)
        for py in range(sh):
            kys = [ky for ky in range(kh) if (ky * dh) % sh == py]
            if not kys:
                continue
            for px in range(sw):
                kxs = [kx for kx in range(kw) if (kx * dw) % sw == px]
                if not kxs:
                    continue
                off = ((kys[0] * dh) // sh) * wq + (kxs[0] * dw) // sw
                sy = ((kys[1] * dh) // sh - (kys[0] * dh) // sh) * wq if len(kys) > 1 else 0
                sx = (kxs[1] * dw) // sw - (kxs[0] * dw) // sw if len(kxs) > 1 else 0
                phases.append((py * sw + px, len(kys), len(kxs), off, sy, sx))
                order.append((kys, kxs))
        last = max(
            ((kh - 1) * dh // sh) * wq + (kw - 1) * dw // sw,
            max(off + (ny - 1) * sy + (nx - 1) * sx for _, ny, nx, off, sy, sx in phases),
        )
        length = max(plane, last + span)  # per (sample, channel, phase), with slack
        # the weights, columns in im2col's row order: per phase, (channel, ky, kx)
        w = self.weight4
        wrows = np.concatenate(
            [w[:, :, kys][:, :, :, kxs].reshape(w.shape[0], -1) for kys, kxs in order], axis=1
        )
        og = self.og
        self._w64 = [np.ascontiguousarray(wrows[i * og : (i + 1) * og]) for i in range(self.groups)]
        self._w32 = [m.astype(F32) for m in self._w64]
        self._lay = (hp, wp, hq, wq, plane, span, length, phases)
        self._layout_key = key
        self._scratch.clear()
        return self._lay

    # --- choosing the work: silent, sparse and busy input channels --------------
    # A cost model in dense multiply-accumulates (about 0.1 ns each), measured on
    # the development machine (a 2-core VM) with the paper CNN's layers: a column
    # element costs about 3 (the im2col copy), an im2col block about 150k (the
    # call overhead of its copy, product and output), a scattered element about
    # 70 (its index, value and np.add.at), a cell of the padded output about 18.
    # A split must promise to save 30% to be taken: the model is rough, and the
    # results are the same either way. Calls smaller than SPLIT_MIN_MACS (one
    # step of a small batch) skip the analysis.
    IM2COL_MACS = 3
    BLOCK_MACS = 150_000
    EVENT_MACS = 70
    EVENT_CELL_MACS = 18
    SPLIT_GAIN = 0.7
    SPLIT_MIN_MACS = 4 << 20
    EVENT_BLOCK = 1 << 16  # scattered elements per np.add.at call (a cache-sized block)

    def _dense_cost(self, n: int, channels: np.ndarray) -> np.ndarray:
        """Modelled cost of im2col and BLAS over ``n`` samples of ``channels``
        channels (an array of channel counts)."""
        kh, kw = self.kernel
        span = self._lay[5]
        rows = np.maximum(channels * kh * kw, 1)
        nb_full = max(1, self.BLOCK_BYTES // (8 * self.rows * span))
        nb = np.clip(nb_full * self.rows // rows, 1, n)
        per_col = n * rows * span * (self.og * self.groups + self.IM2COL_MACS)
        return per_col + -(-n // nb) * self.BLOCK_MACS

    def _split(self, n: int, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(busy, sparse) input channels for a call on ``n`` samples whose channels
        hold ``counts`` nonzeros: silent channels are skipped, sparse ones
        scattered as events (stride 1 only), busy ones go through im2col; or all
        channels through im2col when the model sees no clear gain."""
        self._layout()
        c, h, w = self.in2d
        order = np.argsort(counts, kind="stable")
        live = order[counts[order] > 0]
        full = float(self._dense_cost(n, np.array(c)))
        # the sparsest m live channels as events (m = 0 .. live), the others dense
        m = np.arange(live.size + 1)
        cost = self._dense_cost(n, live.size - m).astype(np.float64)
        cost[-1] = 0.0 if live.size else cost[-1]
        cost += n * c * h * w  # copying the channels used
        if self.stride == (1, 1):
            kh, kw = self.kernel
            hq, wq = self._event_geometry()[:2]
            per_event = self.og * kh * kw * self.EVENT_MACS
            fixed = n * self.og * self.groups * hq * wq * self.EVENT_CELL_MACS
            cost[1:] += np.cumsum(counts[live].astype(np.float64)) * per_event + fixed
        else:
            cost = cost[:1]
        best = int(np.argmin(cost))
        if cost[best] >= self.SPLIT_GAIN * full:
            return np.arange(c), order[:0]
        return np.sort(live[best:]), np.sort(live[:best])

    # a spike-driven addition (compiled, see nirc.interpreter.jit) costs about
    # this many dense multiply-accumulates; scanning an input cell about 2,
    # writing an output cell (out of the channels-last buffer, and the bias)
    # about 30 (fitted to the paper CNN's three layers at 2-30% input activity,
    # against im2col and BLAS at 10-19 MAC/ns: within 25% on the two large ones)
    JIT_EVENT_MACS = 3
    JIT_CELL_MACS = 2
    JIT_OUT_MACS = 30

    def _jit_events(self, x: np.ndarray) -> np.ndarray | None:
        """All of ``x``'s nonzero inputs scattered by the compiled kernel, when
        the cost model prefers that to im2col and BLAS; else None."""
        n = x.shape[0]
        c, h, w = self.in2d
        xs = jit.narrow(np.ascontiguousarray(x.reshape(n, c, h, w)))
        nnz = np.count_nonzero(xs)
        kh, kw = self.kernel
        sh, sw = self.stride
        _, oh, ow = self.out2d
        adds = nnz * self.og * kh * kw / (sh * sw)
        cost = (
            self.JIT_EVENT_MACS * adds
            + self.JIT_CELL_MACS * n * c * h * w
            + self.JIT_OUT_MACS * n * self.groups * self.og * oh * ow
        )
        self._layout()
        if cost >= float(self._dense_cost(n, np.array(c))):
            return None
        y = reuse(self._outputs, (n, self.groups * self.og, oh * ow), F64)
        scatter, flat, tables = jit.kernels().conv_scatter, xs.reshape(n, -1), self.jit_segments()
        # samples are independent: a thread per idle core takes them in turn, in
        # pieces of CONV_PIECE (a sample here is one step of one layer)
        jit.over_samples(lambda b0, b1: scatter(flat[b0:b1], tables, y[b0:b1]), (), n,
                         jit.SHARE_SAMPLE_STEPS // CONV_PIECE)  # fmt: skip
        return self._finish(y.reshape(n, -1, oh, ow))

    def jit_tables(self):
        """What the compiled kernels (:mod:`nirc.interpreter.jit`) take for this
        convolution: ((C, H, W), rows, cols, run weights, input channels per
        group, bias per output channel or empty); see :func:`~nirc.interpreter.jit.conv_tables`."""
        key = (self.pads, self.stride, self.dilation)
        if getattr(self, "_jit_key", None) != key:
            _, oh, ow = self.out2d
            rows, cols, wr = jit.conv_tables(
                self.in2d,
                self.kernel,
                (oh, ow),
                self.stride,
                self.pads,
                self.dilation,
                self.weight4,
            )
            bias = np.empty(0, F64) if self.bias is None else np.ascontiguousarray(self.bias[:, 0])
            self._jit = (tuple(self.in2d), rows, cols, wr, self.cg, bias)
            self._jit_key = key
        return self._jit

    def jit_segments(self) -> tuple:
        """What the fused, channels-last kernel takes for this convolution:
        (input cells per channel, ``start``, ``segs`` of
        :func:`~nirc.interpreter.jit.conv_segments`, the channels-last run
        weights flat, their stride per input channel, input channels per
        group, output channels per group, output channels)."""
        _, rows, cols, wr, cg, _ = self.jit_tables()
        if getattr(self, "_jit_seg_of", None) is not wr:
            wcl = jit.channels_last(wr)
            n_o = self.groups * self.og
            start, segs = jit.conv_segments(rows, cols, wcl, n_o)
            c, h, w = self.in2d
            self._jit_seg = (h * w, start, segs, wcl.reshape(-1), wcl[0].size, cg, self.og, n_o)
            self._jit_seg_of = wr
        return self._jit_seg

    def _compute(self, x: np.ndarray, dtype) -> np.ndarray:
        n = x.shape[0]
        c, h, w = self.in2d
        if jit.ENABLED:
            y = self._jit_events(x)
            if y is not None:
                return y
        if self.groups == 1 and n * self.macs_per_sample >= self.SPLIT_MIN_MACS:
            xc = x.reshape(n, c, h * w)
            if xc.size < 1 << 16:  # one call beats one per channel
                counts = np.count_nonzero(xc, axis=(0, 2))
            else:
                counts = np.array([np.count_nonzero(xc[:, i]) for i in range(c)], np.int64)
            busy, sparse = self._split(n, counts)
            if sparse.size:
                # the output inside a margin that takes every event's reach
                hq, wq, r0, c0 = self._event_geometry()[:4]
                _, oh, ow = self.out2d
                padded = reuse(self._outputs, (n, self.og, hq, wq), F64)
                y = padded[:, :, r0 : r0 + oh, c0 : c0 + ow]
                if busy.size:
                    self._product(x, dtype, busy, out=y)
                else:
                    y[...] = 0.0
                self._scatter(x, sparse, padded)
                return self._finish(y)
            if busy.size < c:
                if busy.size:
                    return self._finish(self._product(x, dtype, busy))
                y = reuse(self._outputs, (n,) + self.out2d, F64)
                y[...] = 0.0
                return self._finish(y)
        return self._finish(self._product(x, dtype))

    def _finish(self, y: np.ndarray) -> np.ndarray:
        if self.bias is not None:
            y += self.bias[:, :, None]
        return y.reshape((y.shape[0],) + self.out_shape)

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        """``exact``: the sums are exact whatever their order, so silent channels
        are skipped, sparse ones scattered and the rest summed by BLAS; else
        every column is summed in a fixed order (:meth:`_fixed_order`)."""
        if not exact:
            return self._fixed_order(x)
        return self._compute(x, F64)

    def apply_f32(self, x: np.ndarray) -> np.ndarray:
        """The float32 mode: BLAS sums in float32 (reassociated); sparse channels
        are still scattered in float64."""
        return self._compute(x, F32)

    # --- dense: im2col and BLAS -----------------------------------------------------
    def _work(self, n: int, bufdtype, dtype):
        """Scratch for ``n`` samples, kept between calls (the step-by-step path
        calls with the same ``n`` every step): the padded input buffer (whose
        padding stays zero: only the image's cells are ever written), the copies
        that fill it, one strided view per phase and group giving im2col's rows,
        and the column and product blocks. A subset of ``k`` channels (one group)
        uses the first ``k`` channels of each."""
        key = (n, np.dtype(bufdtype).str, np.dtype(dtype).str)
        work = self._scratch.get(key)
        if work is not None:
            return work
        if len(self._scratch) >= 12:
            self._scratch.clear()
        c, h, w = self.in2d
        (pt, _), (pl, _) = self.pads
        sh, sw = self.stride
        hp, wp, hq, wq, plane, span, length, phases = self._lay
        buf = np.zeros((n, c, sh * sw, length), bufdtype)
        fills = []  # (destination view, source slices)
        for py in range(sh):
            i0 = max(0, -(-(pt - py) // sh))  # first phase row inside the image
            y0 = py + sh * i0 - pt
            if y0 >= h:
                continue
            ni = min(hq - i0, -(-(h - y0) // sh))
            for px in range(sw):
                j0 = max(0, -(-(pl - px) // sw))
                x0 = px + sw * j0 - pl
                if x0 >= w:
                    continue
                nj = min(wq - j0, -(-(w - x0) // sw))
                dst = buf[:, :, py * sw + px, :plane].reshape(n, c, hq, wq)
                src = (
                    slice(None),
                    slice(None),
                    slice(y0, y0 + sh * (ni - 1) + 1, sh),
                    slice(x0, x0 + sw * (nj - 1) + 1, sw),
                )
                fills.append((dst[:, :, i0 : i0 + ni, j0 : j0 + nj], src))
        size, st = buf.itemsize, buf.strides
        g, cg = self.groups, self.cg
        views = []  # per group and phase: [Cg, KY, KX, N, span] view
        for i in range(g):
            for ph, ny, nx, off, sy, sx in phases:
                v = np.lib.stride_tricks.as_strided(
                    buf[0, i * cg, ph, off:],
                    shape=(cg, ny, nx, n, span),
                    strides=(st[1], sy * size, sx * size, st[0], size),
                    writeable=False,
                )
                views.append((i, v))
        nb = max(1, min(n, self.BLOCK_BYTES // (np.dtype(dtype).itemsize * self.rows * span)))
        cols = np.empty(self.rows * nb * span, dtype)
        work = (fills, views, cols, nb)
        self._scratch[key] = work
        return work

    def _product(
        self,
        x: np.ndarray,
        dtype,
        channels: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``sum_c W[:, c] * x[c]`` over ``channels`` (default: all; a subset needs
        one group) by im2col and BLAS in ``dtype``, without the bias, into ``out``
        (``[N, O, OH, OW]``, default a new array).

        Bool and uint8 inputs (spikes, counts) are padded as uint8 and converted
        by im2col's copy; anything else is padded in ``dtype``."""
        hp, wp, hq, wq, plane, span, length, phases = self._layout()
        n = x.shape[0]
        c, h, w = self.in2d
        x = x.reshape(n, c, h, w)
        if x.dtype == np.bool_:
            x = x.view(np.uint8)
        wm = self._w64 if dtype == F64 else self._w32
        cg = self.cg
        if channels is not None:
            x = x[:, channels]
            wm = [np.ascontiguousarray(wm[0][:, self._rows_of(channels)])]
            cg = channels.size
        rows = cg * self.kernel[0] * self.kernel[1]
        bufdtype = np.uint8 if x.dtype == np.uint8 else dtype
        fills, views, colsbuf, nb = self._work(n, bufdtype, dtype)
        for dst, src in fills:
            dst[:, : x.shape[1]] = x[src]
        nb = max(1, min(n, nb * self.rows // rows))  # fewer rows: more samples per block
        cols = colsbuf[: rows * nb * span].reshape(rows, nb, span)
        og = self.og
        prod = self._prod_buffer(og * nb * span, dtype).reshape(og, nb * span)
        _, oh, ow = self.out2d
        if out is None:
            out = reuse(self._outputs, (n, self.groups * og, oh, ow), F64)
        y = out
        for s in range(0, n, nb):
            m = min(nb, n - s)
            block = cols[:, :m]
            a = 0
            for i, v in views:
                v = v[:cg, :, :, s : s + m]
                b = a + v.shape[0] * v.shape[1] * v.shape[2]
                block[a:b].reshape(v.shape)[...] = v
                a = b
                if b == rows:  # a group's column matrix is complete
                    if m == nb:
                        res = np.dot(wm[i], cols.reshape(rows, nb * span), out=prod)
                    else:  # the last, shorter block
                        res = np.dot(wm[i], np.ascontiguousarray(block).reshape(rows, m * span))
                    res = res.reshape(og, m, oh, wq)[:, :, :, :ow]
                    y[s : s + m, i * og : (i + 1) * og] = res.transpose(1, 0, 2, 3)
                    a = 0
        return y

    def _prod_buffer(self, size: int, dtype) -> np.ndarray:
        return self._temp("prod", size, dtype)

    def _temp(self, name: str, size: int, dtype) -> np.ndarray:
        """A kept scratch vector of at least ``size`` elements (grows as needed)."""
        key = (name, np.dtype(dtype).str)
        buf = self._scratch.get(key)
        if buf is None or buf.size < size:
            buf = self._scratch[key] = np.empty(size, dtype)
        return buf[:size]

    def _rows_of(self, channels: np.ndarray) -> np.ndarray:
        """The im2col rows (and weight columns) of these channels (one group)."""
        idx = []
        r0 = 0
        for _, ny, nx, _, _, _ in self._lay[7]:
            t = ny * nx
            idx.append((r0 + channels[:, None] * t + np.arange(t)[None, :]).reshape(-1))
            r0 += self.cg * t
        return np.concatenate(idx)

    # --- events: sparse channels, stride 1 ------------------------------------
    def _event_geometry(self):
        """(Hq, Wq, row0, col0, table, offsets, base) of the scatter."""
        key = (self.pads, self.dilation, self.kernel)
        if getattr(self, "_event_key", None) == key:
            return self._event_geo
        c, h, w = self.in2d
        (pt, _), (pl, _) = self.pads
        kh, kw = self.kernel
        dh, dw = self.dilation
        _, oh, ow = self.out2d
        cg, og = self.cg, self.og
        # scatter coordinates: input row y, tap ky -> q = y + (kh-1)*dh - ky*dh, and
        # output row oy = q - ((kh-1)*dh - pt); make room for both ranges
        q0y, q0x = (kh - 1) * dh - pt, (kw - 1) * dw - pl
        lo_y, lo_x = min(0, q0y), min(0, q0x)
        hq = max(h + (kh - 1) * dh, q0y + oh) - lo_y
        wq = max(w + (kw - 1) * dw, q0x + ow) - lo_x
        ky, kx = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
        tap = (-ky * dh * wq - kx * dw).reshape(-1)
        table = np.empty((c, og * kh * kw), F64)
        offsets = np.empty((c, og * kh * kw), np.intp)
        for ch in range(c):
            gi = ch // cg
            table[ch] = self.weight4[gi * og : (gi + 1) * og, ch - gi * cg].reshape(-1)
            outs = (gi * og + np.arange(og)) * hq * wq
            offsets[ch] = (outs[:, None] + tap[None, :]).reshape(-1)
        base = ((kh - 1) * dh - lo_y) * wq + (kw - 1) * dw - lo_x
        self._event_geo = (hq, wq, q0y - lo_y, q0x - lo_x, table, offsets, base)
        self._event_key = key
        return self._event_geo

    def _scatter(self, x: np.ndarray, channels: np.ndarray, padded: np.ndarray) -> None:
        """Stride 1: add into ``padded`` (the output ``[N, O, Hq, Wq]`` inside a
        margin that takes every reach, see :meth:`_event_geometry`) what the
        nonzero inputs of ``channels`` give: each adds its weights times its
        value into the cells it reaches (``np.add.at``, in float64). With exact
        sums this equals the matrix product bit for bit."""
        hq, wq, r0, c0, table, offsets, base = self._event_geometry()
        n = x.shape[0]
        c, h, w = self.in2d
        cells = self.og * self.groups * hq * wq
        xs = x.reshape(n, c, h * w)[:, channels]  # [N, channels, H*W]
        per = channels.size * h * w
        xf = xs.reshape(n, per)
        table, offsets = table[channels], offsets[channels]
        fan = table.shape[1]
        nnz = np.count_nonzero(xf)
        nb = max(1, min(n, int(self.EVENT_BLOCK * n / max(1, nnz * fan))))
        flat_out = padded.reshape(-1)
        for s in range(0, n, nb):
            m = min(nb, n - s)
            flat = np.flatnonzero(xf[s : s + m])
            if flat.size == 0:
                continue
            sample, rest = np.divmod(flat, per)
            ch, rest = np.divmod(rest, h * w)
            row, col = np.divmod(rest, w)
            start = (sample + s) * cells + row * wq + col + base
            e = flat.size
            idx = self._temp("idx", e * fan, np.intp).reshape(e, fan)
            np.add(start[:, None], np.take(offsets, ch, axis=0), out=idx)
            vals = self._temp("vals", e * fan, F64).reshape(e, fan)
            np.take(table, ch, axis=0, out=vals)
            if x.dtype != np.bool_:
                vals *= xf[s : s + m].reshape(-1)[flat][:, None]
            np.add.at(flat_out, idx.reshape(-1), vals.reshape(-1))

    def _fixed_order(self, x: np.ndarray) -> np.ndarray:
        """Real-valued inputs: every column summed input by input, in (channel, ky,
        kx) order, the same way for every sample."""
        n = x.shape[0]
        c, h, w = self.in2d
        x = x.reshape(n, c, h, w)
        (pt, pb), (pl, pr) = self.pads
        kh, kw = self.kernel
        dh, dw = self.dilation
        sh, sw = self.stride
        _, oh, ow = self.out2d
        g, cg, og = self.groups, self.cg, self.og
        xp = np.zeros((n, c, h + pt + pb, w + pl + pr), F64)
        xp[:, :, pt : pt + h, pl : pl + w] = x
        win = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
        win = win[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
        # [G, Cg, KH, KW, N, OH, OW]
        taps = win.reshape(n, g, cg, oh, ow, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4)
        nb = max(1, min(n, self.BLOCK_BYTES // (8 * self.rows * oh * ow)))
        y = np.empty((n, g * og, oh, ow), F64)
        for s in range(0, n, nb):
            m = min(nb, n - s)
            for i in range(g):
                block = np.ascontiguousarray(taps[i, :, :, :, s : s + m])
                res = fixed_order_matmul(block.reshape(self.rows, -1).T, self.wmat[i].T).T
                y[s : s + m, i * og : (i + 1) * og] = res.reshape(og, m, oh, ow).transpose(
                    1, 0, 2, 3
                )
        if self.bias is not None:
            y += self.bias[:, :, None]
        return y.reshape((n,) + self.out_shape)


class Pool(Op):
    """SumPool2d and AvgPool2d (zero padding; AvgPool divides by the full
    window, padding included, like PyTorch's count_include_pad=True)."""

    narrow_inputs = True  # spikes: summed as uint8

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        super().__init__(node, in_shape, out_shape)
        pp = pool_params(node)
        self.kernel, self.stride, self.padding = pp.kernel, pp.stride, pp.padding
        self.average = node.type == "AvgPool2d"
        self._outputs: list = []  # see reuse() (the fused kernels write here)
        self.macs_per_sample = int(np.prod(out_shape)) * pp.kernel[0] * pp.kernel[1]

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        n = x.shape[0]
        c, h, w = self.in_shape
        ph, pw = self.padding
        kh, kw = self.kernel
        # sums of spikes are small integers: add them as uint8 (8x less memory
        # traffic, exact); anything else in float64
        narrow = x.dtype == np.bool_ and not self.average and kh * kw <= 255
        dtype = np.uint8 if narrow else F64
        if narrow:
            x = x.view(np.uint8)
        x = x.reshape(n, c, h, w)
        if ph or pw:
            xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype)
            xp[:, :, ph : ph + h, pw : pw + w] = x
        else:
            xp = x
        sh, sw = self.stride
        _, oh, ow = self.out_shape
        y = None
        for i in range(kh):
            for j in range(kw):
                part = xp[:, :, i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw]
                if y is None:
                    y = np.array(part, dtype=dtype)
                else:
                    y += part
        if self.average:
            y /= kh * kw
        return y


class Delay:
    """``y[t] = x[t - d]`` with ``d = round(delay / dt)`` steps per element,
    zeros before the first input. Keeps the last ``max(d)`` inputs between
    calls (fewer while fewer have arrived: a delay longer than the run costs
    nothing), so a run in chunks equals a run step by step."""

    stateful = True
    macs_per_sample = 0
    weighted = False

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape, dt: float | None) -> None:
        self.name = node.name
        self.in_shape = self.out_shape = tuple(out_shape)
        delay = f64(node.params["delay"])
        if dt is None:
            raise NircError(
                "Delay needs the time step to turn its delay into steps",
                where=node.name,
                hint="pass --dt (seconds per step)",
            )
        steps = delay_steps(delay, dt, f"{node.name}.delay")
        self.steps = np.broadcast_to(steps, self.out_shape).reshape(-1)
        self.depth = int(self.steps.max()) if self.steps.size else 0
        self.uniform = bool(self.steps.size == 0 or np.all(self.steps == self.steps[0]))
        self.history: np.ndarray | None = None

    def reset(self, batch: int) -> None:
        # the inputs seen so far, at most the last `depth` of them (zeros before)
        self.history = np.zeros((0, batch) + self.out_shape, F64)

    def run(self, x: np.ndarray) -> np.ndarray:
        """``x[Tc, B, *shape] -> y[Tc, B, *shape]``."""
        if self.depth == 0:
            return x
        tc, b = x.shape[:2]
        assert self.history is not None
        kept = self.history.shape[0]
        hist = np.concatenate([self.history, x.astype(F64, copy=False)], axis=0)
        self.history = hist[max(0, kept + tc - self.depth) :].copy()
        # output step t reads input step t - d: row kept + t - d of `hist`, zero when < 0
        if self.uniform:
            start = kept - int(self.steps[0])
            y = np.zeros((tc,) + hist.shape[1:], F64)
            lo = max(0, -start)
            if lo < tc:
                y[lo:] = hist[start + lo : start + tc]
            return y
        flat = hist.reshape(kept + tc, b, -1)
        idx = kept + np.arange(tc)[:, None] - self.steps[None, :]  # [Tc, n]
        y = np.take_along_axis(
            flat, np.broadcast_to(np.maximum(idx, 0)[:, None, :], (tc, b, idx.shape[1])), 0
        )
        y[np.broadcast_to((idx < 0)[:, None, :], y.shape)] = 0.0
        return y.reshape(x.shape)


OPS: dict[str, type[Op]] = {
    "Input": Identity,
    "Output": Identity,
    "Affine": Dense,
    "Linear": Dense,
    "Scale": Scale,
    "Threshold": Threshold,
    "Flatten": Flatten,
    "Conv1d": Conv,
    "Conv2d": Conv,
    "SumPool2d": Pool,
    "AvgPool2d": Pool,
}
