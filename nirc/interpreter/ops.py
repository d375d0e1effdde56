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
- Pools add their window's elements in a fixed order (one strided slice per
  kernel position), never through a reduction whose order numpy may choose.

Kernels never write into their input.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nirc.diagnostics import NircError
from nirc.graph import Node
from nirc.shapes import Shape, conv_params, fmt, pool_params

F64 = np.float64
F32 = np.float32


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=F64)


def bit_span(w: np.ndarray) -> int:
    """Bits from the highest to the lowest set bit over all nonzero weights
    (0 for all-zero weights): the width of a fixed-point grid holding them."""
    nz = np.abs(w[np.isfinite(w) & (w != 0)]).astype(F64)
    if nz.size == 0:
        return 0
    mant, exp = np.frexp(nz)  # nz = mant * 2**exp, mant in [0.5, 1)
    ints = (mant * 2.0**53).astype(np.int64)
    low = np.log2((ints & -ints).astype(F64)).astype(np.int64)  # trailing zero bits
    return int(exp.max() - (exp - 53 + low).min())


def exact_sum_possible(span: int, fan_in: int, bound: float | None) -> bool:
    """Whether sums of ``fan_in`` weights (spanning ``span`` bits) times
    integers of magnitude <= ``bound`` are exact in float64."""
    if bound is None or not np.isfinite(bound):
        return False
    if bound == 0:
        return True
    return span + int(np.ceil(np.log2(fan_in * bound + 1))) <= 53


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


class Op:
    """A stateless kernel: ``apply(x[N, *in_shape]) -> y[N, *out_shape]``."""

    stateful = False
    macs_per_sample = 0  # multiply-accumulates per sample, for throughput figures
    weighted = False  # a weighted sum: exactness depends on the input (exact_for)

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        self.name = node.name
        self.in_shape = tuple(in_shape)
        self.out_shape = tuple(out_shape)

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:  # pragma: no cover
        """``exact``: the input is such that ``exact_for`` held (BLAS may be used)."""
        raise NotImplementedError

    def exact_for(self, bound: float | None) -> bool:
        return True


class Identity(Op):
    """Input and Output nodes: the (summed) value passes through."""

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        return x


class Dense(Op):
    """Affine (``W x + b``) and Linear (``W x``).

    A 2-D weight acts on the last axis; a weight with more axes broadcasts its
    leading axes like numpy's matmul."""

    weighted = True

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        super().__init__(node, in_shape, out_shape)
        w = f64(node.params["weight"])
        self.weight = w
        b = node.params.get("bias") if node.type == "Affine" else None
        self.bias = None if b is None else f64(b)
        self.matrix = w.ndim == 2
        self.fan_in = int(w.shape[-1])
        self.span = bit_span(w)
        if self.matrix:
            self.weight_t = np.ascontiguousarray(w.T)  # [in, out]
            lead = int(np.prod(in_shape[:-1], dtype=np.int64)) if len(in_shape) > 1 else 1
            self.macs_per_sample = lead * w.shape[0] * w.shape[1]
        else:
            self.macs_per_sample = int(np.prod(w.shape, dtype=np.int64))
            pad = (w.ndim - 2) - (len(in_shape) - 1)
            self.x_shape = (1,) * max(pad, 0) + tuple(in_shape) + (1,)

    def exact_for(self, bound: float | None) -> bool:
        return exact_sum_possible(self.span, self.fan_in, bound)

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        n = x.shape[0]
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
    counts): they are converted while padding. Conv1d runs as a Conv2d of height 1.

    ``exact`` (sums exact, see :func:`exact_for`): the product is one BLAS call,
    in float64 (or float32 with :meth:`apply_f32`). Otherwise the columns are
    summed input by input in a fixed order (:func:`fixed_order_matmul`)."""

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
        self.span = bit_span(w)
        self._layout_key = None
        self._scratch: dict = {}

    def exact_for(self, bound: float | None) -> bool:
        return exact_sum_possible(self.span, self.rows, bound)

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

    def _buffer(self, name: str, shape, dtype, zero: bool = False) -> np.ndarray:
        key = (name, shape, np.dtype(dtype).str)
        buf = self._scratch.get(key)
        if buf is None:
            if len(self._scratch) > 16:
                self._scratch.clear()
            buf = np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
            self._scratch[key] = buf
        return buf

    def _fill(self, x: np.ndarray, dtype) -> np.ndarray:
        """The padded, phase-split input ``[N, C, P, length]`` (a kept buffer whose
        padding stays zero: only the image's own cells are written)."""
        n = x.shape[0]
        c, h, w = self.in2d
        x = x.reshape(n, c, h, w)
        if x.dtype == np.bool_:
            x = x.view(np.uint8)
        (pt, _), (pl, _) = self.pads
        sh, sw = self.stride
        hp, wp, hq, wq, plane, span, length, phases = self._lay
        nph = sh * sw
        buf = self._buffer("in", (n, c, nph, length), dtype, zero=True)
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
                dst[:, :, i0 : i0 + ni, j0 : j0 + nj] = x[
                    :, :, y0 : y0 + sh * (ni - 1) + 1 : sh, x0 : x0 + sw * (nj - 1) + 1 : sw
                ]
        return buf

    def _product(self, x: np.ndarray, dtype) -> np.ndarray:
        """``y = conv(x)`` with every product summed by BLAS in ``dtype``."""
        hp, wp, hq, wq, plane, span, length, phases = self._layout()
        n = x.shape[0]
        buf = self._fill(x, dtype)
        size = np.dtype(dtype).itemsize
        g, cg, og, rows = self.groups, self.cg, self.og, self.rows
        _, oh, ow = self.out2d
        nb = max(1, min(n, self.BLOCK_BYTES // (size * rows * span)))
        cols = self._buffer("cols", (rows, nb, span), dtype)
        prod = self._buffer("prod", (og, nb, span), dtype)
        # one strided view per phase: [Cg, KY, KX, N, span] -> rows of im2col
        st = buf.strides
        views = []
        for i in range(g):
            r0 = 0
            for ph, ny, nx, off, sy, sx in phases:
                base = buf[0, i * cg, ph, off:]
                v = np.lib.stride_tricks.as_strided(
                    base,
                    shape=(cg, ny, nx, n, span),
                    strides=(st[1], sy * size, sx * size, st[0], size),
                    writeable=False,
                )
                views.append((i, r0, r0 + cg * ny * nx, v))
                r0 += cg * ny * nx
        wm = self._w64 if dtype == F64 else self._w32
        y = np.empty((n, g * og, oh, ow), F64)
        for s in range(0, n, nb):
            m = min(nb, n - s)
            block = cols[:, :m]
            for i, a, b, v in views:
                block[a:b].reshape(v.shape[:3] + (m, span))[...] = v[:, :, :, s : s + m]
                if b == rows:  # a group's column matrix is complete
                    flat = block.reshape(rows, m * span) if m == nb else None
                    if flat is None:
                        flat = np.ascontiguousarray(block).reshape(rows, m * span)
                        res = np.dot(wm[i], flat)
                    else:
                        res = np.dot(wm[i], flat, out=prod.reshape(og, nb * span))
                    res = res.reshape(og, m, oh, wq)[:, :, :, :ow]
                    y[s : s + m, i * og : (i + 1) * og] = res.transpose(1, 0, 2, 3)
        if self.bias is not None:
            y += self.bias[:, :, None]
        return y.reshape((n,) + self.out_shape)

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        if exact:
            return self._product(x, F64)
        return self._fixed_order(x)

    def apply_f32(self, x: np.ndarray) -> np.ndarray:
        """The float32 mode: the products summed by BLAS in float32 (reassociated)."""
        return self._product(x, F32)

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

    def __init__(self, node: Node, in_shape: Shape, out_shape: Shape) -> None:
        super().__init__(node, in_shape, out_shape)
        pp = pool_params(node)
        self.kernel, self.stride, self.padding = pp.kernel, pp.stride, pp.padding
        self.average = node.type == "AvgPool2d"
        self.macs_per_sample = int(np.prod(out_shape)) * pp.kernel[0] * pp.kernel[1]

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        n = x.shape[0]
        c, h, w = self.in_shape
        ph, pw = self.padding
        if ph or pw:
            xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), F64)
            xp[:, :, ph : ph + h, pw : pw + w] = x
        else:
            xp = x
        kh, kw = self.kernel
        sh, sw = self.stride
        _, oh, ow = self.out_shape
        y = None
        for i in range(kh):
            for j in range(kw):
                part = xp[:, :, i : i + (oh - 1) * sh + 1 : sh, j : j + (ow - 1) * sw + 1 : sw]
                if y is None:
                    y = np.array(part, dtype=F64)
                else:
                    y += part
        if self.average:
            y /= kh * kw
        return y


class Delay:
    """``y[t] = x[t - d]`` with ``d = round(delay / dt)`` steps per element,
    zeros before the first input. Keeps the last ``max(d)`` inputs between
    calls, so a run in chunks equals a run step by step."""

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
        if not np.all(np.isfinite(delay)) or np.any(delay < 0):
            raise NircError(
                "Delay must be finite and >= 0",
                where=f"{node.name}.delay",
                found=str(delay.tolist() if delay.size < 10 else fmt(delay.shape)),
            )
        steps = np.rint(delay / dt).astype(np.int64)
        self.steps = np.broadcast_to(steps, self.out_shape).reshape(-1)
        self.depth = int(self.steps.max()) if self.steps.size else 0
        self.uniform = bool(self.steps.size == 0 or np.all(self.steps == self.steps[0]))
        self.history: np.ndarray | None = None

    def reset(self, batch: int) -> None:
        self.history = np.zeros((self.depth, batch) + self.out_shape, F64)

    def run(self, x: np.ndarray) -> np.ndarray:
        """``x[Tc, B, *shape] -> y[Tc, B, *shape]``."""
        if self.depth == 0:
            return x
        tc, b = x.shape[:2]
        hist = np.concatenate([self.history, x], axis=0)  # [D + Tc, B, ...]
        self.history = hist[tc:].copy()
        if self.uniform:
            d = int(self.steps[0])
            return hist[self.depth - d : self.depth - d + tc].copy()
        flat = hist.reshape(self.depth + tc, b, -1)
        idx = self.depth + np.arange(tc)[:, None] - self.steps[None, :]  # [Tc, n]
        y = np.take_along_axis(flat, np.broadcast_to(idx[:, None, :], (tc, b, idx.shape[1])), 0)
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
