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

    Samples are processed in blocks whose column matrix stays in cache; Conv1d
    runs as a Conv2d of height 1."""

    BLOCK_BYTES = 256 << 10  # one block's column matrix: stays in the L2 cache
    weighted = True

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

    def exact_for(self, bound: float | None) -> bool:
        return exact_sum_possible(self.span, self.rows, bound)

    def apply(self, x: np.ndarray, exact: bool = False) -> np.ndarray:
        n = x.shape[0]
        c, h, w = self.in2d
        x = x.reshape(n, c, h, w)
        (pt, pb), (pl, pr) = self.pads
        kh, kw = self.kernel
        dh, dw = self.dilation
        sh, sw = self.stride
        _, oh, ow = self.out2d
        g, cg, og = self.groups, self.cg, self.og
        hp, wp = h + pt + pb, w + pl + pr
        if sh == 1 and sw == 1:
            # Rows of the padded image laid end to end: the window of kernel tap
            # (ky, kx) is one contiguous run, and im2col is a few long copies. The
            # output is computed for every padded column; the last kw-1 are dropped.
            row = hp * wp + (kw - 1) * dw  # slack so the last run stays in its row
            span = oh * wp
            buf = np.zeros((n, c, row), F64)
            buf[:, :, : hp * wp].reshape(n, c, hp, wp)[:, :, pt : pt + h, pl : pl + w] = x
            st = buf.strides
            taps = np.lib.stride_tricks.as_strided(
                buf,
                shape=(g, cg, kh, kw, n, span),
                strides=(cg * st[1], st[1], dh * wp * 8, dw * 8, st[0], 8),
                writeable=False,
            )
            cols_per = span
        else:
            if pt or pb or pl or pr:
                xp = np.zeros((n, c, hp, wp), F64)
                xp[:, :, pt : pt + h, pl : pl + w] = x
            else:
                xp = x
            win = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
            win = win[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
            # [G, Cg, KH, KW, N, OH, OW]
            taps = win.reshape(n, g, cg, oh, ow, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4)
            cols_per = oh * ow
        nb = max(1, min(n, self.BLOCK_BYTES // (8 * self.rows * cols_per)))
        cols = np.empty((cg, kh, kw, nb) + taps.shape[5:], F64)
        cols2d = cols.reshape(self.rows, nb * cols_per)
        prod = np.empty((og, nb * cols_per), F64)
        y = np.empty((n, g * og, oh, ow), F64)
        for s in range(0, n, nb):
            m = min(nb, n - s)
            for i in range(g):
                part = taps[i, :, :, :, s : s + m]
                if m == nb:
                    np.copyto(cols, part)
                    block = cols2d
                else:  # the last, shorter block
                    block = np.ascontiguousarray(part).reshape(self.rows, m * cols_per)
                if not exact:
                    res = fixed_order_matmul(block.T, self.wmat[i].T).T
                elif m == nb:
                    res = np.dot(self.wmat[i], block, out=prod)
                else:
                    res = np.dot(self.wmat[i], block)
                res = res.reshape(og, m, oh, -1)[:, :, :, :ow]
                y[s : s + m, i * og : (i + 1) * og] = res.transpose(1, 0, 2, 3)
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
