"""A bit-exact simulation of lava's fixed-point Loihi 2 models, over a batch.

What lava 0.10.0 computes in ``Loihi2SimCfg(select_tag='fixed_pt')`` for a
netx network (facts in TARGETS.md, checked against the corpus fixtures and
the ones made by ``tests/loihi2/make_lava_fixtures.py``), step ``tau = 1, 2,
...``:

- Input: lava's ``RingBuffer`` sends column ``tau - 1`` at step ``tau``.
  Without input message bits a synapse reads spikes (``x != 0``); with them
  (graded input) it reads the integers.
- Dense (lava's ``PyDenseModelBitAcc``): at step ``tau`` it sends what it
  computed at ``tau - 1`` (zero at the first step), then computes
  ``a = W s`` (int64 sum; int32 with graded input) shifted by the layer's
  ``weight_exp`` (right shifts round down). DelayDense: each synapse's
  contribution arrives ``delay`` steps later still, shifted per delay value.
- Conv (``PyConvModelFixed``): the same one-step pipeline, PyTorch's
  cross-correlation of the netx weights, no exponent, wrapped to 24 bits.
- dense_rec: a second Dense from the layer's own spikes, summed with the
  first at the neuron's port.
- The neuron (``PyLifModelBitAcc``), in this order: ``u = sign(y) (|y| >>
  12)`` with ``y = u (4096 - iDecay)``; ``u += a << 6`` (int32), wrapped once
  into ``(-2**23, 2**23]``; ``v = clip(sign(z) (|z| >> 12) + u + (bias_mant <<
  6), -(2**23 - 1), 2**23 - 1)`` with ``z = v (4096 - vDecay)``; a spike where
  ``v > vThMant << 6``; ``v = 0`` where it spiked. ``bias_mant`` is the
  stored bias as int16.
- With ``reset_interval`` (netx's ``Network(reset_interval=R,
  reset_offset=o)``: lava's ``LIFReset``), layer ``k`` (0 = the first synapse
  layer) zeroes ``u`` and ``v`` before its update at every step ``tau`` with
  ``tau % R == (o + 1 + k) % R``.

States are recorded at the end of each step, as lava's monitors see them.
The synapses of a layer are computed for all steps at once (one matrix
product or convolution); the neuron loop runs step by step over the batch, in
numpy or, with numba installed (the ``fast`` extra), compiled with the same
integer operations (identical results; ``NIRC_JIT=0`` turns it off).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nirc.interpreter.jit import over_samples

from .netx import LavaLayer

I64 = np.int64
I32 = np.int32
UV_LIMIT = 1 << 23  # u wraps into (-2**23, 2**23], v saturates at +-(2**23 - 1)


def wrap32(a: np.ndarray) -> np.ndarray:
    """int64 values as lava's int32 arithmetic leaves them (two's complement)."""
    return (np.asarray(a, I64) + (1 << 31)) % (1 << 32) - (1 << 31)


def wrap24(a: np.ndarray) -> np.ndarray:
    """lava's ``signed_clamp(x, 24)`` (the conv synapse's output)."""
    return (np.asarray(a, I64) + (1 << 23)) % (1 << 24) - (1 << 23)


def shift(a: np.ndarray, exp: int) -> np.ndarray:
    """A synapse's sum scaled by its weight exponent (right shifts round down)."""
    return np.left_shift(a, exp) if exp > 0 else np.right_shift(a, -exp)


def _delayed(a: np.ndarray, steps: int) -> np.ndarray:
    """``a`` ([T, ...]) delivered ``steps`` later (zeros before)."""
    out = np.zeros_like(a)
    if steps < a.shape[0]:
        out[steps:] = a[: a.shape[0] - steps]
    return out


# --------------------------------------------------------------------------------------
# synapses over all steps
# --------------------------------------------------------------------------------------


def _row_bound(w: np.ndarray) -> float:
    """The largest sum of |weights| onto one output."""
    return float(np.abs(w).reshape(w.shape[0], -1).sum(1).max(initial=0))


def dense_drive(layer: LavaLayer, x: np.ndarray, graded: bool, jit: bool | None = None
                ) -> np.ndarray:
    """The activation each neuron receives at each step from the
    feed-forward synapse: ``x`` [T, B, n_in] (what arrives at the synapse at
    each step) -> int64 [T, B, n_out]. The int32 wraps of lava's arrays are
    applied only when the sums can reach them. With the compiled kernels and
    no delays, only the nonzero inputs are visited."""
    t, b = x.shape[:2]
    x_max = float(np.abs(x).max(initial=0)) if x.size else 0.0
    bound = x_max * _row_bound(layer.weights)
    dtype = np.float32 if bound < (1 << 24) else np.float64
    flat = x.reshape(t * b, -1).astype(dtype)
    if layer.delays is None:
        groups = [(0, layer.weights)]
    else:
        groups = [(int(k), np.where(layer.delays == k, layer.weights, 0))
                  for k in np.unique(layer.delays)]  # fmt: skip
    wraps = bound * 2.0 ** max(layer.weight_exp, 0) >= (1 << 30)
    k = compiled_kernels() if jit in (None, True) and layer.delays is None else None
    if k is not None:
        xs = np.ascontiguousarray(x.reshape(t * b, -1))
        if xs.dtype == np.bool_:
            xs = xs.view(np.uint8)
        acc = np.zeros((t * b, layer.size), I64)
        k.dense_events(xs, np.ascontiguousarray(layer.weights.T, I64), acc)
        if graded and wraps:
            acc = wrap32(acc)
        total = _delayed(shift(acc, layer.weight_exp).reshape(t, b, -1), 1)
        return wrap32(total) if wraps else total
    total = np.zeros((t, b, layer.size), I64)
    for k, w in groups:
        acc = np.rint(flat @ w.T.astype(dtype)).astype(I64).reshape(t, b, -1)
        if graded and wraps:
            acc = wrap32(acc)
        total += _delayed(shift(acc, layer.weight_exp), 1 + k)
    return wrap32(total) if wraps else total


def _exact_dtype(x_max: float, w: np.ndarray) -> type:
    """float32 when every partial sum of ``x @ w`` (|x| <= ``x_max``) is an
    integer below 2**24 (exact in float32), else float64 (exact below 2**53)."""
    bound = x_max * float(np.abs(w).reshape(w.shape[0], -1).sum(1).max(initial=0))
    return np.float32 if bound < (1 << 24) else np.float64


def correlate(x: np.ndarray, weight: np.ndarray, out_shape, stride, padding, dilation,
              groups: int, *, integers: bool = True) -> np.ndarray:
    """PyTorch's cross-correlation of ``x`` [N, C, H, W] with ``weight`` [out,
    in/groups, kH, kW] -> [N, *out_shape], as one matrix product per group
    over the kernel's patches (BLAS), in chunks of samples. Exact on integers:
    float32 when every sum stays below 2**24, else float64 (always float64
    when ``integers`` is False)."""
    n, c, h, w = x.shape
    co, ho, wo = out_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    cg, og = c // groups, co // groups
    kh, kw = weight.shape[2:]
    x_max = float(np.abs(x).max(initial=0)) if x.size else 0.0
    dtype = _exact_dtype(x_max, np.asarray(weight)) if integers else np.float64
    wf = np.asarray(weight, dtype).reshape(co, -1)
    out = np.empty((n, co, ho, wo), dtype)
    per = max(1, (1 << 24) // max(1, ho * wo * cg * kh * kw))
    for start in range(0, n, per):
        xb = x[start : start + per]
        m = xb.shape[0]
        xs = np.zeros((m, c, h + 2 * ph, w + 2 * pw), dtype)
        xs[:, :, ph : ph + h, pw : pw + w] = xb
        st = xs.strides
        for gi in range(groups):
            view = np.lib.stride_tricks.as_strided(
                xs[:, gi * cg :],
                shape=(m, ho, wo, cg, kh, kw),
                strides=(st[0], st[2] * sh, st[3] * sw, st[1], st[2] * dh, st[3] * dw),
                writeable=False,
            )
            cols = view.reshape(m * ho * wo, cg * kh * kw)
            res = cols @ wf[gi * og : (gi + 1) * og].T
            out[start : start + m, gi * og : (gi + 1) * og] = res.reshape(m, ho, wo, og).transpose(0, 3, 1, 2)
    return out


def conv_drive(layer: LavaLayer, x: np.ndarray, jit: bool | None = None) -> np.ndarray:
    """The conv synapse's activations: ``x`` [T, B, C, H, W] -> int64 [T, B,
    C_out*H_out*W_out] (C order), wrapped to 24 bits, one step late. With the
    compiled kernels, only the nonzero inputs are visited (spikes are sparse);
    the same integers either way."""
    t, b = x.shape[:2]
    k = compiled_kernels() if jit in (None, True) else None
    if k is not None:
        xs = np.ascontiguousarray(x.reshape((t * b,) + tuple(layer.in_shape)))
        if xs.dtype == np.bool_:
            xs = xs.view(np.uint8)
        co, ho, wo = layer.shape
        cl = np.zeros((t * b, ho, wo, co), I64)
        (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
        k.conv_events(xs, np.ascontiguousarray(np.asarray(layer.weights, I64).transpose(1, 2, 3, 0)),
                      sh, sw, ph, pw, dh, dw, int(layer.groups), cl)  # fmt: skip
        acc = np.ascontiguousarray(cl.transpose(0, 3, 1, 2))
        x_max = float(xs.max(initial=0))
        if x_max * _row_bound(layer.weights) >= (1 << 23):
            acc = wrap24(acc)
        return _delayed(acc.reshape(t, b, -1), 1)
    out = correlate(x.reshape((t * b,) + tuple(layer.in_shape)), layer.weights, layer.shape, layer.stride, layer.padding, layer.dilation,
                    layer.groups)  # fmt: skip
    a = wrap24(np.rint(out).astype(I64)).reshape(t, b, -1)
    return _delayed(a, 1)


# --------------------------------------------------------------------------------------
# the neuron loop
# --------------------------------------------------------------------------------------


def _decay(x: np.ndarray, d: int) -> np.ndarray:
    y = x * (4096 - d)
    return np.sign(y) * (np.abs(y) >> 12)


def neuron_loop_numpy(
    a: np.ndarray,
    w_rec: np.ndarray | None,
    exp: int,
    i_decay: int | np.ndarray,
    v_decay: int | np.ndarray,
    v_th: int,
    bias: np.ndarray,
    resets: np.ndarray,
    record: bool,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """lava's LIF over ``a`` [T, B, n] (int64 activations, already wrapped to
    int32; decays one per layer or one per neuron): spikes (uint8), and with
    ``record`` u and v (int32), each [T, B, n]."""
    t_steps, b, n = a.shape
    u = np.zeros((b, n), I64)
    v = np.zeros((b, n), I64)
    s = np.zeros((b, n), bool)
    spikes = np.zeros((t_steps, b, n), np.uint8)
    us = np.zeros((t_steps, b, n), I32) if record else None
    vs = np.zeros((t_steps, b, n), I32) if record else None
    eff_bias = wrap32(np.asarray(bias, I64) << 6)
    thr = int(v_th) << 6
    wr = None if w_rec is None else w_rec.T.astype(np.float64)
    for t in range(t_steps):
        if resets[t]:
            u[...] = 0
            v[...] = 0
        drive = a[t]
        if wr is not None:
            rec = shift(np.rint(s.astype(np.float64) @ wr).astype(I64), exp)
            drive = wrap32(drive + wrap32(rec))
        u = wrap32(_decay(u, i_decay) + wrap32(drive << 6))
        u = np.where(u > UV_LIMIT, u - 2 * UV_LIMIT, u)
        u = np.where(u <= -UV_LIMIT, u + 2 * UV_LIMIT, u)
        v = np.clip(_decay(v, v_decay) + u + eff_bias, -(UV_LIMIT - 1), UV_LIMIT - 1)
        s = v > thr
        v[s] = 0
        spikes[t] = s
        if record:
            us[t] = u
            vs[t] = v
    return spikes, us, vs


_KERNELS = "nirc.targets.loihi2.kernels"


def compiled_kernels():
    """The numba kernels (:mod:`.kernels`), or None without numba or with
    ``NIRC_JIT=0``. Compiled code is cached where the interpreter caches its
    own (:func:`nirc.interpreter.jit.njit`)."""
    from nirc.interpreter import jit

    return jit.module(_KERNELS)


def _full(value, n: int) -> np.ndarray:
    """A per-layer or per-neuron value as a new, writable int64 [n]
    (:func:`nirc.interpreter.jit.full`)."""
    from nirc.interpreter.jit import full

    return full(value, n, I64)


def _by_source(w_rec: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recurrent weights [target, source] as compressed columns: per source
    neuron the start of its run, then the targets and weights of its nonzero
    weights (empty arrays without a recurrent synapse)."""
    if w_rec is None:
        return np.zeros(0, I64), np.zeros(0, I64), np.zeros(0, I64)
    w = np.asarray(w_rec, I64)
    source, target = np.nonzero(w.T)
    start = np.zeros(w.shape[1] + 1, I64)
    np.cumsum(np.bincount(source, minlength=w.shape[1]), out=start[1:])
    return start, target.astype(I64), np.ascontiguousarray(w.T[source, target])


def neuron_loop(a, w_rec, exp, i_decay, v_decay, v_th, bias, resets, record, *, jit=None):
    """:func:`neuron_loop_numpy`, compiled when numba is there (``jit`` None:
    when available; True/False force it)."""
    k = compiled_kernels() if jit in (None, True) else None
    if k is None:
        if jit:
            raise RuntimeError("numba is not available (or NIRC_JIT=0)")
        return neuron_loop_numpy(a, w_rec, exp, i_decay, v_decay, v_th, bias, resets, record)
    t_steps, b, n = a.shape
    spikes = np.zeros((t_steps, b, n), np.uint8)
    us = np.zeros((t_steps, b, n) if record else (0, b, n), I32)
    vs = np.zeros((t_steps, b, n) if record else (0, b, n), I32)
    start, target, weight = _by_source(w_rec)
    over_samples(k.lif_loop, (np.ascontiguousarray(a, I64), start, target, weight, int(exp),
                              _full(i_decay, n), _full(v_decay, n), int(v_th), _full(bias, n),
                              np.ascontiguousarray(resets, np.uint8), spikes, us, vs,
                              bool(record)), b, t_steps)  # fmt: skip
    return spikes, (us if record else None), (vs if record else None)


# --------------------------------------------------------------------------------------
# the network
# --------------------------------------------------------------------------------------


def reset_steps(k: int, steps: int, interval: int | None, offset: int) -> np.ndarray:
    """Where layer ``k`` zeroes its state (0-based step index ``t`` = lava's
    ``tau - 1``), for netx's ``Network(reset_interval, reset_offset)``."""
    mask = np.zeros(steps, np.uint8)
    if interval:
        tau = np.arange(1, steps + 1)
        mask[tau % interval == (offset + 1 + k) % interval] = 1
    return mask


def _dense_lif(k, layer: LavaLayer, x: np.ndarray, graded: bool, bias, resets, record: bool):
    """A dense layer without delays through the fused compiled kernel
    (synapse and neurons in one pass: no [T, B, n] activations)."""
    t_steps, b, _ = x.shape
    n = layer.size
    xs = np.ascontiguousarray(x)
    if xs.dtype == np.bool_:
        xs = xs.view(np.uint8)
    spikes = np.zeros((t_steps, b, n), np.uint8)
    us = np.zeros((t_steps, b, n) if record else (0, b, n), I32)
    vs = np.zeros((t_steps, b, n) if record else (0, b, n), I32)
    start, target, weight = _by_source(layer.weights_rec)
    over_samples(k.dense_lif_loop, (xs, np.ascontiguousarray(np.asarray(layer.weights, I64).T),
                                    int(layer.weight_exp), bool(graded), start, target, weight,
                                    _full(layer.i_decay, n), _full(layer.v_decay, n),
                                    int(layer.v_th), _full(bias, n),
                                    np.ascontiguousarray(resets, np.uint8), spikes, us, vs,
                                    bool(record)), b, t_steps)  # fmt: skip
    return spikes, (us if record else None), (vs if record else None)


def _conv_lif(k, layer: LavaLayer, x: np.ndarray, bias, resets, record: bool):
    """A conv layer through the fused compiled kernel (no [T, B, n] activations)."""
    t_steps, b = x.shape[:2]
    n = layer.size
    xs = np.ascontiguousarray(x)
    if xs.dtype == np.bool_:
        xs = xs.view(np.uint8)
    shape = (t_steps, b) + tuple(layer.shape)
    spikes = np.zeros(shape, np.uint8)
    us = np.zeros(shape if record else (0, b) + tuple(layer.shape), I32)
    vs = np.zeros(shape if record else (0, b) + tuple(layer.shape), I32)
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    wt = np.ascontiguousarray(np.asarray(layer.weights, I64).transpose(1, 2, 3, 0))
    over_samples(k.conv_lif_loop, (xs, wt, sh, sw, ph, pw, dh, dw, int(layer.groups),
                                   _full(layer.i_decay, n), _full(layer.v_decay, n),
                                   int(layer.v_th), _full(bias, n),
                                   np.ascontiguousarray(resets, np.uint8), spikes, us, vs,
                                   bool(record)), b, t_steps)  # fmt: skip
    flat = (t_steps, b, n)
    return (spikes.reshape(flat), us.reshape(flat) if record else None,
            vs.reshape(flat) if record else None)  # fmt: skip


def simulate_layer(
    layer: LavaLayer,
    spikes: np.ndarray,
    *,
    graded: bool,
    resets: np.ndarray,
    record: bool = False,
    jit: bool | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """One layer over all steps: ``spikes`` [T, B, n_in] arriving at its
    synapse (integers when ``graded``) -> its spikes (uint8) and, with
    ``record``, u and v (int32), each [T, B, n]."""
    t_steps, b = spikes.shape[:2]
    bias = layer.bias_mant if layer.bias_mant is not None else np.zeros(1, I64)
    k = compiled_kernels() if jit in (None, True) else None
    if k is not None and layer.kind != "conv" and layer.delays is None:
        return _dense_lif(k, layer, spikes.reshape(t_steps, b, -1), graded, bias, resets, record)
    if k is not None and layer.kind == "conv":
        return _conv_lif(k, layer, spikes.reshape((t_steps, b) + tuple(layer.in_shape)), bias,
                         resets, record)  # fmt: skip
    if layer.kind == "conv":
        a = conv_drive(layer, spikes.reshape((t_steps, b) + tuple(layer.in_shape)), jit)
    else:
        a = dense_drive(layer, spikes.reshape(t_steps, b, -1), graded, jit)
    return neuron_loop(a, layer.weights_rec, layer.weight_exp, layer.i_decay, layer.v_decay,
                       layer.v_th, bias, resets, record, jit=jit)  # fmt: skip


def sweep_thresholds(layer: LavaLayer, spikes: np.ndarray, v_ths, *, graded: bool,
                     resets: np.ndarray, window: tuple[int, int], jit: bool | None = None
                     ) -> np.ndarray:  # fmt: skip
    """The layer's spike counts [K, B, n] in steps ``window[0] <= t <
    window[1]`` for each threshold mantissa of ``v_ths`` (the layer as it is
    otherwise): with the compiled kernels, the synapse's sums and u are
    computed once for all thresholds (a layer without a recurrent synapse or
    delays); else one run per threshold."""
    from dataclasses import replace

    t_steps, b = spikes.shape[:2]
    ths = np.asarray(v_ths, I64).reshape(-1)
    counts = np.zeros((ths.size, b, layer.size), np.int32)
    k = compiled_kernels() if jit in (None, True) else None
    bias = layer.bias_mant if layer.bias_mant is not None else np.zeros(1, I64)
    n = layer.size
    common = (_full(layer.i_decay, n), _full(layer.v_decay, n), ths,
              _full(bias, n),
              np.ascontiguousarray(resets, np.uint8), int(window[0]), int(window[1]), counts)
    if k is not None and layer.weights_rec is None and layer.delays is None:
        if layer.kind == "conv":
            xs = np.ascontiguousarray(spikes.reshape((t_steps, b) + tuple(layer.in_shape)))
            (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
            wt = np.ascontiguousarray(np.asarray(layer.weights, I64).transpose(1, 2, 3, 0))
            over_samples(k.conv_lif_sweep, (xs.view(np.uint8) if xs.dtype == np.bool_ else xs,
                                            wt, sh, sw, ph, pw, dh, dw, int(layer.groups),
                                            *common), b, t_steps)  # fmt: skip
        else:
            xs = np.ascontiguousarray(spikes.reshape(t_steps, b, -1))
            over_samples(k.dense_lif_sweep, (xs.view(np.uint8) if xs.dtype == np.bool_ else xs,
                                             np.ascontiguousarray(np.asarray(layer.weights, I64).T),
                                             int(layer.weight_exp), bool(graded), *common),
                         b, t_steps)  # fmt: skip
        return counts
    for j, th in enumerate(ths):
        s, _, _ = simulate_layer(replace(layer, v_th=int(th)), spikes, graded=graded,
                                 resets=resets, jit=jit)  # fmt: skip
        counts[j] = s[window[0] : window[1]].sum(axis=0)
    return counts


class Loihi2Simulator:
    """lava's fixed-point simulation of a chain of netx layers (see the module
    docstring). ``input_bits`` > 0: graded input spikes (netx's
    ``input_message_bits``); ``reset_interval``/``reset_offset``: netx's
    per-layer state resets."""

    def __init__(
        self,
        layers: list[LavaLayer],
        *,
        input_bits: int = 0,
        reset_interval: int | None = None,
        reset_offset: int = 0,
    ) -> None:
        self.layers = layers
        self.input_bits = int(input_bits)
        self.reset_interval = reset_interval
        self.reset_offset = int(reset_offset)

    def run(
        self, x: np.ndarray, *, record: Iterable[int] = (), jit: bool | None = None
    ) -> dict[str, np.ndarray]:
        """Run ``x`` [T, B, *input_shape] (column ``t`` is sent at lava step
        ``t + 1``) for T steps. Returns ``s<k>`` (uint8 spikes) of every layer
        and ``u<k>``/``v<k>`` (int32) of the layers in ``record``, each [T, B,
        *shape of layer k]."""
        x = np.asarray(x)
        t_steps, b = x.shape[:2]
        wanted = set(record)
        spikes = x.reshape(t_steps, b, -1)
        if not self.input_bits:
            spikes = spikes != 0
        out: dict[str, np.ndarray] = {}
        for k, layer in enumerate(self.layers):
            resets = reset_steps(k, t_steps, self.reset_interval, self.reset_offset)
            s, u, v = simulate_layer(layer, spikes, graded=k == 0 and self.input_bits > 0,
                                     resets=resets, record=k in wanted, jit=jit)  # fmt: skip
            shape = (t_steps, b) + tuple(layer.shape)
            out[f"s{k}"] = s.reshape(shape)
            if k in wanted:
                out[f"u{k}"] = u.reshape(shape)
                out[f"v{k}"] = v.reshape(shape)
            spikes = s
        return out


__all__ = ["Loihi2Simulator", "conv_drive", "correlate", "dense_drive", "neuron_loop", "reset_steps",
           "simulate_layer", "sweep_thresholds"]
