"""Speck's rules for a core layer and for a network of them.

Every violation is a :class:`~nirc.diagnostics.NircError` naming the layer
(its name and source nodes), the limit and the value found. The limits come
from :class:`~nirc.targets.speck.spec.SpeckSpec`; where they come from is
written there.

The IR-level rules (only IF neurons; one threshold per layer) are checked by
the lowering with :func:`check_neuron_kind` and :func:`check_uniform`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nirc.diagnostics import NircError, warn

from .layer import SpeckLayer
from .spec import SPECK, SpeckSpec


def _fmt_set(values: Sequence[int]) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


def _where(layer: SpeckLayer, index: int | None) -> str:
    return f"layer {index} {layer.label}" if index is not None else layer.label


def _integer_problem(array: np.ndarray, lo: int, hi: int) -> str | None:
    """Why ``array`` is not a set of integers in [lo, hi], or None."""
    if array.size == 0:
        return None
    if array.dtype.kind not in "iub":
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
            return f"dtype {array.dtype}"
        if not np.all(array == np.round(array)):
            return f"non-integer values (dtype {array.dtype})"
    amin, amax = array.min(), array.max()
    if amin < lo or amax > hi:
        return f"values from {int(amin)} to {int(amax)}"
    return None


def layer_violations(
    layer: SpeckLayer, spec: SpeckSpec = SPECK, index: int | None = None
) -> list[NircError]:
    """All the rules ``layer`` breaks, in a fixed order (empty if none)."""
    where = _where(layer, index)
    errs: list[NircError] = []

    def err(message, expected, found, hint=None):
        errs.append(NircError(message, where=where, expected=expected, found=found, hint=hint))

    # -- structure: later checks need sane shapes --------------------------
    w = layer.weights
    if w.ndim != 4:
        err(
            "weights must be a 4-D [f, c, ky, kx] array",
            expected="4 dimensions",
            found=f"shape {tuple(w.shape)}",
        )
        return errs
    if len(layer.input_shape) != 3 or min(layer.input_shape) < 1:
        err(
            "input shape must be (channels, height, width), all positive",
            expected="(c, h, w)",
            found=str(tuple(layer.input_shape)),
        )
        return errs
    f, c, ky, kx = (int(s) for s in w.shape)
    if f < 1:
        err("a layer needs at least one output feature", expected="f >= 1", found=f"f = {f}")
        return errs
    if c != layer.in_channels:
        err(
            "weights do not match the input channels",
            expected=f"weights [f, {layer.in_channels}, ky, kx]",
            found=f"weights {list(w.shape)}",
        )
        return errs

    # -- kernel ------------------------------------------------------------
    if ky != kx:
        err(
            "Speck kernels must be square",
            expected="kx == ky",
            found=f"{ky}x{kx} kernel",
            hint="a Linear layer becomes a conv whose kernel covers its input: "
            "pool the input to a square feature map first",
        )
    if max(ky, kx) > spec.max_kernel_size or min(ky, kx) < 1:
        err(
            "kernel size out of range",
            expected=f"1..{spec.max_kernel_size}",
            found=f"{ky}x{kx}",
            hint="a Linear layer's kernel covers its whole input: pool the input to at "
            f"most {spec.max_kernel_size}x{spec.max_kernel_size} first",
        )

    # -- stride and padding --------------------------------------------------
    for axis, s in zip("xy", layer.stride):
        if s not in spec.strides:
            err(
                f"stride {axis} not supported",
                expected=f"one of {_fmt_set(spec.strides)}",
                found=str(s),
            )
    for axis, p in zip("xy", layer.padding):
        if not 0 <= p <= spec.max_padding:
            err(
                f"padding {axis} out of range",
                expected=f"0..{spec.max_padding}",
                found=str(p),
            )

    # -- channels and feature map sizes -------------------------------------
    if c > spec.max_channels:
        err(
            "too many input channels",
            expected=f"at most {spec.max_channels}",
            found=str(c),
        )
    if f > spec.max_channels:
        err(
            "too many output features",
            expected=f"at most {spec.max_channels}",
            found=str(f),
        )
    _, h, wd = layer.input_shape
    if h > spec.max_input_size or wd > spec.max_input_size:
        err(
            "input feature map too large",
            expected=f"at most {spec.max_input_size}x{spec.max_input_size}",
            found=f"{h}x{wd} (h x w)",
            hint="pool or crop the input (the DVS layer can sum-pool by 2 or 4)",
        )
    _, oh, ow = layer.output_shape
    if oh < 1 or ow < 1:
        err(
            "kernel larger than the padded input",
            expected="an output of at least 1x1",
            found=f"{ky}x{kx} kernel over {h}x{wd} input with padding {layer.padding}",
        )
    elif oh > spec.max_output_size or ow > spec.max_output_size:
        err(
            "output feature map too large",
            expected=f"at most {spec.max_output_size}x{spec.max_output_size}",
            found=f"{oh}x{ow} (h x w)",
            hint="use a larger stride, or pool the input",
        )

    # -- routing -------------------------------------------------------------
    if len(layer.destinations) > spec.max_destinations:
        err(
            "too many destinations",
            expected=f"at most {spec.max_destinations}",
            found=str(len(layer.destinations)),
            hint="a core can send to two cores; insert a relay layer to fan out further",
        )
    for d in layer.destinations:
        if d.pooling not in spec.poolings:
            err(
                f"pooling towards layer {d.layer} not supported",
                expected=f"one of {_fmt_set(spec.poolings)} (stride = kernel)",
                found=str(d.pooling),
            )

    # -- number formats --------------------------------------------------------
    lo, hi = spec.weight_range
    why = _integer_problem(w, lo, hi)
    if why:
        err(
            f"weights must be int{spec.weight_bits}",
            expected=f"integers in {lo}..{hi}",
            found=why,
            hint="quantize the layer before lowering to speck",
        )
    b = layer.biases
    if b.shape != (f,):
        err("biases must have one value per feature", expected=f"shape ({f},)", found=str(b.shape))
    else:
        lo, hi = spec.bias_range
        why = _integer_problem(b, lo, hi)
        if why:
            err(
                f"biases must be int{spec.bias_bits}",
                expected=f"integers in {lo}..{hi}",
                found=why,
                hint="quantize the layer before lowering to speck",
            )
    lo, hi = spec.threshold_range
    for what, value in (
        ("threshold_high", layer.threshold_high),
        ("threshold_low", layer.threshold_low),
    ):
        if not lo <= value <= hi:
            err(
                f"{what} must be int{spec.threshold_bits}",
                expected=f"{lo}..{hi}",
                found=str(value),
            )
    if layer.threshold_high < 1:
        err(
            "threshold_high must be positive",
            expected="at least 1",
            found=str(layer.threshold_high),
        )
    if layer.threshold_low >= layer.threshold_high:
        err(
            "threshold_low must be below threshold_high",
            expected=f"threshold_low < {layer.threshold_high}",
            found=f"threshold_low = {layer.threshold_low}",
        )
    if layer.threshold_low == 0:
        # Speck Dev Kit datasheet, 3.2.4.6.3: a known chip bug.
        err(
            "threshold_low = 0 does not work on current Speck chips (known hardware bug)",
            expected="threshold_low != 0",
            found="0",
            hint="use -1 instead",
        )
    if layer.neurons_initial_value is not None:
        v = layer.neurons_initial_value
        if v.shape != layer.output_shape:
            err(
                "neurons_initial_value must have the neuron shape [f, h, w]",
                expected=str(layer.output_shape),
                found=str(tuple(v.shape)),
            )
        else:
            lo, hi = spec.state_range
            why = _integer_problem(v, lo, hi)
            if why:
                err(
                    f"neurons_initial_value must be int{spec.state_bits}",
                    expected=f"integers in {lo}..{hi}",
                    found=why,
                )
    return errs


def check_layer(
    layer: SpeckLayer, spec: SpeckSpec = SPECK, index: int | None = None, *, warnings: bool = True
) -> None:
    """Raise the first rule ``layer`` breaks; with ``warnings``, warn about
    biases the chip would ignore (nonzero biases with ``leak_enable`` off)."""
    errs = layer_violations(layer, spec, index)
    if errs:
        raise errs[0]
    if warnings and not layer.leak_enable and layer.biases.size and np.any(layer.biases != 0):
        warn(
            "nonzero biases with leak_enable off: the chip ignores them",
            where=_where(layer, index),
        )


def check_network(
    layers: Sequence[SpeckLayer], spec: SpeckSpec = SPECK, *, warnings: bool = True
) -> None:
    """Check every layer, then the routing between them: destinations name
    existing layers, and what a layer sends (after pooling) has exactly the
    shape its destination expects."""
    if not layers:
        raise NircError(
            "a Speck network needs at least one layer", expected="1 or more layers", found="0"
        )
    for i, layer in enumerate(layers):
        check_layer(layer, spec, i, warnings=warnings)
    for i, layer in enumerate(layers):
        for d in layer.destinations:
            where = _where(layer, i)
            if not 0 <= d.layer < len(layers):
                raise NircError(
                    "destination is not a layer of the network",
                    where=where,
                    expected=f"a layer index in 0..{len(layers) - 1}",
                    found=str(d.layer),
                )
            if d.layer == i:
                raise NircError(
                    "a layer cannot send its spikes to itself",
                    where=where,
                    expected="another layer",
                    found=f"destination {d.layer}",
                )
            target = layers[d.layer]
            sent = layer.pooled_shape(d.pooling)
            if sent != target.input_shape:
                raise NircError(
                    f"sends spikes of shape {sent} to layer {d.layer} {target.label}, "
                    "which expects another shape",
                    where=where,
                    expected=f"{target.input_shape} (c, h, w)",
                    found=f"{sent} = neurons {layer.output_shape} pooled by {d.pooling}",
                )


def check_neuron_kind(name: str, kind: str) -> None:
    """Speck cores run integrate-and-fire neurons only (no leak but the bias)."""
    if kind.upper() not in ("IF", "IAF"):
        raise NircError(
            f"{kind} neurons cannot run on Speck",
            where=name,
            expected="IF (integrate-and-fire) neurons",
            found=kind,
            hint="Speck has no membrane decay; retrain with IF neurons (a constant leak "
            "can be expressed as a negative bias)",
        )


def check_uniform(name: str, array, what: str):
    """Return the single value of ``array``; raise if its elements differ.

    Speck has one ``threshold_high`` and one ``threshold_low`` per core, so a
    per-neuron parameter must be the same everywhere to be deployable.
    """
    a = np.asarray(array)
    if a.size == 0:
        raise NircError(f"{what} is empty", where=name, expected="one value", found="no values")
    first = a.flat[0]
    if not np.all(a == first):
        distinct = np.unique(a)
        raise NircError(
            f"{what} differs between neurons; a Speck core has one value per layer",
            where=name,
            expected="the same value for every neuron",
            found=f"{distinct.size} distinct values from {distinct.min()} to {distinct.max()}",
            hint=f"retrain or fold the per-neuron {what} into the weights",
        )
    return first.item()
