"""Shape rules for every NIR primitive: the one place they are written down.

Used by the file validator, the `nir` dialect verifiers, `nir-infer-shapes` and
the interpreter. Shapes are per sample (no batch axis), as tuples of ints.

Conv output size follows PyTorch per spatial axis with that axis's own kernel
size, and ``groups`` divides the input channels (nir 1.0.8 gets both wrong for
non-square kernels and grouped convolutions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nirc.diagnostics import NircError
from nirc.graph import Node

Shape = tuple[int, ...]


def fmt(shape: Shape | None) -> str:
    return "unknown" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


def _int_tuple(value, n: int, where: str, fieldname: str, minimum: int) -> tuple[int, ...]:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" and not (
        arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
    ):
        raise NircError(
            f"`{fieldname}` must hold integers",
            where=where,
            expected=f"{n} integer(s)",
            found=f"{arr.dtype} {arr.tolist() if arr.size < 10 else arr.shape}",
        )
    flat = [int(v) for v in arr.reshape(-1)]
    if len(flat) == 1:
        flat = flat * n
    if len(flat) != n:
        raise NircError(
            f"`{fieldname}` has the wrong number of entries",
            where=where,
            expected=f"1 or {n} integer(s)",
            found=f"{len(flat)}: {flat}",
        )
    if any(v < minimum or v > MAX_WINDOW for v in flat):
        raise NircError(
            f"`{fieldname}` out of range",
            where=where,
            expected=f"every entry in {minimum}..{MAX_WINDOW}",
            found=str(flat),
        )
    return tuple(flat)


# strides, kernels, paddings, dilations and groups beyond this exceed any input
# nirc can hold (a value has at most 2**32 elements) and would overflow int32 tables
MAX_WINDOW = 2**31 - 1


@dataclass(frozen=True)
class ConvParams:
    """A convolution's parameters, normalized to one entry per spatial axis.

    ``pads`` holds (before, after) per axis after resolving 'same'/'valid'."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int
    in_channels: int  # weight.shape[1] * groups
    out_channels: int


def conv_params(node: Node, where: str | None = None) -> ConvParams:
    where = where or node.name
    nd = 1 if node.type == "Conv1d" else 2
    w = node.params["weight"]
    if not isinstance(w, np.ndarray) or w.ndim != nd + 2:
        raise NircError(
            f"{node.type} weight has the wrong rank",
            where=f"{where}.weight",
            expected=f"{nd + 2}-D [out_channels, in_channels/groups, {'k' if nd == 1 else 'kh, kw'}]",
            found=f"shape {fmt(getattr(w, 'shape', None))}",
        )
    kernel = tuple(int(k) for k in w.shape[2:])
    if min(kernel) < 1 or w.shape[0] < 1 or w.shape[1] < 1:
        raise NircError(
            f"{node.type} weight has an empty axis", where=f"{where}.weight", found=fmt(w.shape)
        )
    stride = _int_tuple(node.params["stride"], nd, f"{where}.stride", "stride", 1)
    dilation = _int_tuple(node.params["dilation"], nd, f"{where}.dilation", "dilation", 1)
    groups = _int_tuple(node.params["groups"], 1, f"{where}.groups", "groups", 1)[0]
    out_ch = int(w.shape[0])
    if out_ch % groups:
        raise NircError(
            "groups must divide the output channels",
            where=f"{where}.groups",
            expected=f"a divisor of out_channels={out_ch}",
            found=str(groups),
        )
    pad = node.params["padding"]
    if isinstance(pad, np.ndarray) and pad.dtype.kind in "SUO":
        pad = pad.reshape(-1)[0] if pad.size == 1 else str(pad)
        pad = pad.decode() if isinstance(pad, bytes) else str(pad)
    if isinstance(pad, str):
        if pad == "valid":
            pads = tuple((0, 0) for _ in range(nd))
        elif pad == "same":
            if any(s != 1 for s in stride):
                raise NircError(
                    "padding 'same' needs stride 1 (as in PyTorch)",
                    where=f"{where}.padding",
                    expected="stride 1",
                    found=f"stride {list(stride)}",
                )
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            pads = tuple(pads)
        else:
            raise NircError(
                "unknown padding mode",
                where=f"{where}.padding",
                expected="an integer, a pair, 'same' or 'valid'",
                found=repr(pad),
            )
    else:
        p = _int_tuple(pad, nd, f"{where}.padding", "padding", 0)
        pads = tuple((v, v) for v in p)
    return ConvParams(kernel, stride, pads, dilation, groups, int(w.shape[1]) * groups, out_ch)


def conv_output_shape(node: Node, in_shape: Shape, where: str | None = None) -> Shape:
    where = where or node.name
    cp = conv_params(node, where)
    nd = len(cp.kernel)
    if len(in_shape) != nd + 1:
        raise NircError(
            f"{node.type} input has the wrong rank",
            where=where,
            expected=f"[channels, {'length' if nd == 1 else 'height, width'}]",
            found=fmt(in_shape),
        )
    if in_shape[0] != cp.in_channels:
        raise NircError(
            f"{node.type} input channels disagree with its weight",
            where=where,
            expected=f"{cp.in_channels} channels (weight.shape[1]={cp.in_channels // cp.groups}"
            f" x groups={cp.groups})",
            found=f"input shape {fmt(in_shape)}",
        )
    out = [cp.out_channels]
    for ax in range(nd):
        size = in_shape[1 + ax] + sum(cp.pads[ax]) - cp.dilation[ax] * (cp.kernel[ax] - 1) - 1
        o = size // cp.stride[ax] + 1
        if size < 0 or o < 1:
            raise NircError(
                f"{node.type} kernel does not fit its input on axis {ax}",
                where=where,
                expected=f"input size + padding >= dilated kernel {cp.dilation[ax] * (cp.kernel[ax] - 1) + 1}",
                found=f"input {fmt(in_shape)}, padding {cp.pads[ax]}",
            )
        out.append(o)
    return tuple(out)


@dataclass(frozen=True)
class PoolParams:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]


def pool_params(node: Node, where: str | None = None) -> PoolParams:
    where = where or node.name
    k = _int_tuple(node.params["kernel_size"], 2, f"{where}.kernel_size", "kernel_size", 1)
    s = _int_tuple(node.params["stride"], 2, f"{where}.stride", "stride", 1)
    p = _int_tuple(node.params["padding"], 2, f"{where}.padding", "padding", 0)
    return PoolParams(k, s, p)  # type: ignore[arg-type]


def pool_output_shape(node: Node, in_shape: Shape, where: str | None = None) -> Shape:
    where = where or node.name
    pp = pool_params(node, where)
    if len(in_shape) != 3:
        raise NircError(
            f"{node.type} input must be [channels, height, width]",
            where=where,
            expected="a 3-D input",
            found=fmt(in_shape),
        )
    out = [in_shape[0]]
    for ax in range(2):
        size = in_shape[1 + ax] + 2 * pp.padding[ax] - pp.kernel[ax]
        if size < 0:
            raise NircError(
                f"{node.type} kernel larger than its padded input on axis {ax}",
                where=where,
                expected=f"padded input >= kernel {pp.kernel[ax]}",
                found=f"input {fmt(in_shape)}, padding {pp.padding[ax]}",
            )
        out.append(size // pp.stride[ax] + 1)
    return tuple(out)


def flatten_output_shape(node: Node, in_shape: Shape, where: str | None = None) -> Shape:
    where = where or node.name
    nd = len(in_shape)
    start = int(np.asarray(node.params["start_dim"]).reshape(-1)[0])
    end = int(np.asarray(node.params["end_dim"]).reshape(-1)[0])
    s = start + nd if start < 0 else start
    e = end + nd if end < 0 else end
    if not (0 <= s < max(nd, 1)) or not (0 <= e < max(nd, 1)) or s > e:
        raise NircError(
            "Flatten dims out of range for its input",
            where=where,
            expected=f"0 <= start_dim <= end_dim < {nd} (negative counts from the end)",
            found=f"start_dim={start}, end_dim={end}, input {fmt(in_shape)}",
        )
    if nd == 0:
        return (1,)
    return tuple(in_shape[:s]) + (math.prod(in_shape[s : e + 1]),) + tuple(in_shape[e + 1 :])


def neuron_shape(node: Node) -> Shape | None:
    """The layer shape a neuron/elementwise node's parameters imply."""
    for key in ("tau", "tau_mem", "v_threshold", "r", "scale", "threshold", "delay"):
        v = node.params.get(key)
        if isinstance(v, np.ndarray):
            return tuple(int(d) for d in v.shape)
    return None


def implied_input_shape(node: Node) -> Shape | None:
    """The input shape a node's own parameters fix, where they do."""
    t = node.type
    if t in ("Affine", "Linear"):
        w = node.params["weight"]
        return (int(w.shape[-1]),) if isinstance(w, np.ndarray) and w.ndim >= 1 else None
    if t in ("Conv1d", "Conv2d"):
        ish = node.params.get("input_shape")
        w = node.params["weight"]
        if isinstance(ish, np.ndarray) and isinstance(w, np.ndarray) and w.ndim >= 2:
            groups = int(np.asarray(node.params["groups"]).reshape(-1)[0])
            return (int(w.shape[1]) * groups,) + tuple(int(v) for v in ish.reshape(-1))
        return None
    if t == "Flatten":
        it = node.params.get("input_type")
        return tuple(int(v) for v in it.reshape(-1)) if isinstance(it, np.ndarray) else None
    if t in ("Input",):
        return tuple(int(v) for v in node.params["shape"].reshape(-1))
    if t == "Output":
        return tuple(int(v) for v in node.params["shape"].reshape(-1))
    if t in ("Scale", "Threshold", "Delay") or t in ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"):
        return neuron_shape(node)
    return None


def output_shape(node: Node, in_shape: Shape | None, where: str | None = None) -> Shape | None:
    """The output shape of ``node`` given its (summed) input shape.

    Returns None when it cannot be known yet (missing input shape)."""
    t = node.type
    where = where or node.name
    if t == "Input":
        return tuple(int(v) for v in node.params["shape"].reshape(-1))
    if t == "Output":
        return in_shape if in_shape is not None else implied_input_shape(node)
    if t in ("Affine", "Linear"):
        w = node.params["weight"]
        if in_shape is not None and len(in_shape) >= 1 and in_shape[-1] != w.shape[-1]:
            raise NircError(
                f"{t} input size disagrees with its weight",
                where=where,
                expected=f"last input axis {w.shape[-1]} (weight is {fmt(w.shape)})",
                found=f"input shape {fmt(in_shape)}",
            )
        if w.ndim == 2:
            return (
                (int(w.shape[0]),)
                if in_shape is None or len(in_shape) <= 1
                else tuple(in_shape[:-1]) + (int(w.shape[0]),)
            )
        return tuple(int(d) for d in w.shape[:-1])
    if t in ("Conv1d", "Conv2d"):
        if in_shape is None:
            in_shape = implied_input_shape(node)
        return conv_output_shape(node, in_shape, where) if in_shape is not None else None
    if t in ("SumPool2d", "AvgPool2d"):
        return pool_output_shape(node, in_shape, where) if in_shape is not None else None
    if t == "Flatten":
        if in_shape is None:
            in_shape = implied_input_shape(node)
        return flatten_output_shape(node, in_shape, where) if in_shape is not None else None
    # elementwise: Scale, Threshold, Delay, neurons
    return neuron_shape(node) or in_shape


MAX_DELAY_STEPS = 2**31 - 1


def delay_steps(delay: np.ndarray, dt: float, where: str) -> np.ndarray:
    """A NIR Delay's ``round(delay / dt)`` steps per element (int64), refusing
    delays that are not finite, negative or beyond :data:`MAX_DELAY_STEPS`."""
    d = np.asarray(delay, np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise NircError(
            "Delay must be finite and >= 0",
            where=where,
            found=str(d.tolist() if d.size < 10 else fmt(d.shape)),
        )
    steps = np.rint(d / dt)
    if steps.size and not float(steps.max()) <= MAX_DELAY_STEPS:
        raise NircError(
            "Delay too long",
            where=where,
            expected=f"at most {MAX_DELAY_STEPS:,} steps of {dt:g} s",
            found=f"{float(d.max()):g} s = {float(steps.max()):.4g} steps",
        )
    return steps.astype(np.int64)

