"""The `loihi2` dialect: a network as lava-dl's netx chain holds it, placed on cores.

The last IR level before the netx file: every number is in Loihi 2's format
and every neuron sits on a core. `lower-loihi2` produces it from the fused
`snn` level; the emitter (:mod:`.netx`), ``run_lava.py``, the report and the
simulator read it through :func:`read_network` and re-derive nothing::

    builtin.module {
      loihi2.network {dt = 1.000000e+00 : f64, latency = 2 : i64, input_bits = 0 : i64,
          reset_offset = 1 : i64, capacity = {neurons_per_core = 8192 : i64, ...}} {
        %input = loihi2.input "input" {shape = array<i64: 1, 16, 16>} : tensor<1x16x16xi32>
        %conv1 = loihi2.layer "conv1"(%input : tensor<1x16x16xi32>) {kind = "conv",
            weight = dense<...> : tensor<8x1x3x3xi16>, stride = array<i64: 1, 1>,
            padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64,
            i_decay = dense<4096> : tensor<i64>, v_decay = dense<0> : tensor<i64>, v_th = 372 : i64,
            spiking = true,
            scale = dense<1.2e+02> : tensor<f64>, placement = dense<[[0, 2048, 0]]> : tensor<1x3xi64>,
            sources = ["0", "1"]} : tensor<8x16x16xi32>
        %fc = loihi2.layer "fc"(%conv1 : tensor<8x16x16xi32>) {kind = "dense", flatten = true, ...} : tensor<10xi32>
        loihi2.output "output"(%fc : tensor<10xi32>) {shape = array<i64: 10>}
      }
    }

``loihi2.network {dt, latency, input_bits, reset_offset?, capacity}``
    The chain, in netx's order: one ``loihi2.input``, the layers (each reads
    the value before it), then the outputs (each reads the last layer).
    ``latency``: steps between an input column and the last layer's response
    to it (one per layer: each synapse sends what it computed the step
    before; plus the layers' ``lag``). ``input_bits``: 0 for binary input
    spikes, else the payload bits of graded input spikes (netx's
    ``input_message_bits``). ``reset_offset``
    (when present): runs reset every layer's state when its first input
    arrives (netx's ``Network(reset_interval=T + latency, reset_offset)``).
    ``capacity``: the capacity model the placement is checked against (the
    fields of :class:`~nirc.passes.partition.CapacityModel`).
``loihi2.input "name" {shape}``
    The graph Input: spikes (or graded spike counts) of ``shape``.
``loihi2.layer "name"(%prev) {...}``
    One netx layer: a synapse and a group of CUBA neurons.
    - ``kind``: ``dense`` (``weight`` [out, in], in = the flattened input;
      ``flatten`` when the input is [C, H, W]), ``dense_rec`` (also
      ``weight_rec`` [out, out] from the layer's own spikes), or ``conv``
      (``weight`` [out, in/groups, kH, kW], ``stride``, ``padding``,
      ``dilation`` (H, W) and ``groups``, PyTorch's cross-correlation);
    - ``weight``/``weight_rec``: the integer weights as stored in the netx
      file, each in an 8-bit-magnitude range netx keeps exactly ([-256, 254]
      with both signs, [0, 255] excitatory, [-255, 0] inhibitory); a large,
      mostly zero ``weight_rec`` is written as ``weight_rec_coo`` (rows
      ``[target, source, weight]`` of its nonzero weights) instead;
      ``weight_exp``/``num_weight_bits``: the exponent and mantissa bits netx
      derives from them (checked);
    - ``bias`` (13-bit mantissa per neuron, or per channel of a conv),
      ``delay`` (dense only: [out, in] steps 0..62);
    - ``i_decay``, ``v_decay`` (12-bit decays, 0..4096: 0-d, or one per neuron
      of a dense layer or per channel of a conv), ``v_th`` (17-bit threshold
      mantissa), ``spiking`` (false: a readout whose voltage never
      reaches ``v_th``; its voltage is the output);
    - ``scale``: weight units per real unit of the float membrane (0-d or per
      neuron); ``placement``: runs ``[start, count, core]`` over the flat
      neurons, every neuron once; ``sources``: the `snn` nodes it came from;
    - ``lag`` (when present): steps the layer answers later than its float
      layer on top of its synapse's one (a construction of
      :mod:`.replicas` that passes the current through encoders).
``loihi2.output "name"(%last) {shape, select?}``
    A graph Output reading the last layer: its spikes, or its dequantized
    voltage when the layer is a readout. ``select`` (spiking layers built of
    replicas, :mod:`.replicas`): per neuron of the last layer, the element of
    the output its spikes count for (-1: none); the output is the sum.

The verifiers check the chain, every shape, every number format, that the
placement covers every neuron once, and that every core is within the
capacity (:mod:`.resources`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f64,
    i32,
    i64,
)
from xdsl.ir import Block, Dialect, Operation, Region
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import HasParent, NoTerminator
from xdsl.utils.exceptions import VerifyException

from nirc.dialects.nir import array_to_attr, attr_to_array
from nirc.passes.partition import CapacityModel

from .netx import MAX_DELAY, kept_exactly, optimize_weight_bits
from .resources import PlacedLayer, core_loads, runs_to_cores, violations
from .spec import LOIHI2

KINDS = ("dense", "dense_rec", "conv")
_CAPACITY_INTS = ("neurons_per_core", "memory_per_core", "cores_per_chip", "chips")
_CAPACITY_FLOATS = (
    "bytes_per_neuron", "bytes_per_synapse", "bytes_per_shared_weight", "bytes_per_input_axon",
    "bytes_per_source_slice", "bytes_per_recorded", "fixed_bytes",
)  # fmt: skip


def values_type(shape) -> TensorType:
    """The type of a value carrying spikes (or graded spikes) of ``shape``."""
    return TensorType(i32, [int(d) for d in shape])


def _ints(attr) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def _int_array(values) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def _shape(value) -> tuple[int, ...]:
    t = value.type
    return tuple(t.get_shape()) if isinstance(t, TensorType) else ()


def _label(op: Operation) -> str:
    name = op.properties.get("name")
    return f'{op.name} "{name.data}"' if isinstance(name, StringAttr) else op.name


def _err(op: Operation, message: str) -> VerifyException:
    return VerifyException(f"{_label(op)}: {message}")


def _int(attr: IntegerAttr | None, default: int = 0) -> int:
    return default if attr is None else int(attr.value.data)


# --------------------------------------------------------------------------------------
# ops
# --------------------------------------------------------------------------------------


@irdl_op_definition
class NetworkOp(IRDLOperation):
    """A netx chain placed on Loihi 2 cores (see the module docstring)."""

    name = "loihi2.network"
    dt = prop_def(FloatAttr)
    latency = prop_def(IntegerAttr)
    input_bits = prop_def(IntegerAttr)
    reset_offset = opt_prop_def(IntegerAttr)
    capacity = prop_def(DictionaryAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict-with-keyword $body"

    @property
    def block(self) -> Block:
        return self.body.blocks[0]

    def layers(self) -> list[LayerOp]:
        return [op for op in self.block.ops if isinstance(op, LayerOp)]

    def capacity_model(self) -> CapacityModel:
        d = self.capacity.data
        known = set(_CAPACITY_INTS) | set(_CAPACITY_FLOATS)
        stray = sorted(set(d) - known)
        if stray:
            raise _err(self, f"unknown capacity field(s) {', '.join(stray)}; known: "
                       f"{', '.join(sorted(known))}")  # fmt: skip
        values: dict = {}
        for k in _CAPACITY_INTS:
            a = d.get(k)
            if not isinstance(a, IntegerAttr) or int(a.value.data) < 1:
                raise _err(self, f"capacity needs `{k}`, an integer >= 1")
            values[k] = int(a.value.data)
        for k in _CAPACITY_FLOATS:
            a = d.get(k)
            if a is None:
                continue
            if not isinstance(a, FloatAttr) or not float(a.value.data) >= 0:
                raise _err(self, f"capacity `{k}` must be a float >= 0")
            values[k] = float(a.value.data)
        return CapacityModel(target="loihi2", **values)

    def verify_(self) -> None:
        dt = float(self.dt.value.data)
        if not np.isfinite(dt) or dt <= 0:
            raise _err(self, f"dt must be finite and > 0, found {dt}")
        bits = _int(self.input_bits)
        if not 0 <= bits <= 24:
            raise _err(self, f"input_bits must be 0 (binary spikes) or 1..24 (graded), found {bits}")
        ops = list(self.block.ops)
        inputs = [op for op in ops if isinstance(op, InputOp)]
        layers = [op for op in ops if isinstance(op, LayerOp)]
        outputs = [op for op in ops if isinstance(op, OutputOp)]
        if len(inputs) != 1 or not isinstance(ops[0], InputOp):
            raise _err(self, f"a netx chain starts with one loihi2.input, found {len(inputs)}")
        if not layers:
            raise _err(self, "a netx chain needs at least one loihi2.layer")
        if not outputs:
            raise _err(self, "the network has no loihi2.output")
        if ops != [ops[0]] + layers + outputs:
            raise _err(self, "the chain is the input, then the layers, then the outputs")
        prev: Operation = ops[0]
        for layer in layers:
            if len(layer.operands) != 1 or layer.operands[0].owner is not prev:
                raise _err(layer, f"reads {len(layer.operands)} value(s); a netx layer reads "
                           f"exactly the value before it ({_label(prev)})")  # fmt: skip
            prev = layer
        for out in outputs:
            if len(out.operands) != 1 or out.operands[0].owner is not layers[-1]:
                raise _err(out, f"reads something else than the last layer ({_label(layers[-1])}): "
                           "netx's Network has one output port")  # fmt: skip
        if any(not layer.spiking_layer for layer in layers[:-1]):
            bad = next(layer for layer in layers[:-1] if not layer.spiking_layer)
            raise _err(bad, "a non-spiking layer sends no spikes: only the last layer may be a "
                       "readout")  # fmt: skip
        latency = _int(self.latency)
        lags = sum(layer.lag_steps for layer in layers)
        if latency != len(layers) + lags:
            raise _err(self, f"latency is {latency}, but {len(layers)} layers add one step each"
                       + (f" and their lags {lags} more" if lags else ""))  # fmt: skip
        n_last = int(np.prod(_shape(layers[-1].out)))
        for out in outputs:
            if out.select is None:
                continue
            if not layers[-1].spiking_layer:
                raise _err(out, "select belongs to spiking last layers (a readout's voltage is "
                           "the output)")  # fmt: skip
            sel = attr_to_array(out.select)
            if sel.shape != (n_last,) or sel.dtype.kind not in "iu":
                raise _err(out, f"select must be {n_last} integers (one per neuron of the last "
                           f"layer), found {list(sel.shape)} of {sel.dtype}")  # fmt: skip
            size = int(np.prod(_ints(out.shape)))
            if sel.min() < -1 or sel.max() >= size or not np.all(np.isin(np.arange(size), sel)):
                raise _err(out, f"select must name every element 0..{size - 1} of the output "
                           "(or -1), each by at least one neuron")  # fmt: skip
        if self.reset_offset is not None and _int(self.reset_offset) < 0:
            raise _err(self, "reset_offset must be >= 0")
        capacity = self.capacity_model()
        placed = [layer.placed(capacity) for layer in layers]
        bad = violations(core_loads(placed), capacity)
        if bad:
            raise _err(self, "the placement exceeds the capacity: " + "; ".join(bad[:6])
                       + (f"; and {len(bad) - 6} more" if len(bad) > 6 else ""))  # fmt: skip


@irdl_op_definition
class InputOp(IRDLOperation):
    """The graph Input."""

    name = "loihi2.input"
    node_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(DenseArrayBase)
    out = result_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name attr-dict `:` type($out)"

    def verify_(self) -> None:
        shape = _ints(self.shape)
        if len(shape) not in (1, 3) or min(shape) < 1:
            raise _err(self, f"shape must be [N] or [C, H, W] of sizes >= 1, found {list(shape)}")
        if _shape(self.out) != shape:
            raise _err(self, f"result type {self.out.type} does not have the shape {list(shape)}")


@irdl_op_definition
class LayerOp(IRDLOperation):
    """One netx layer (see the module docstring)."""

    name = "loihi2.layer"
    node_name = prop_def(StringAttr, prop_name="name")
    kind = prop_def(StringAttr)
    weight = prop_def(DenseIntOrFPElementsAttr)
    weight_exp = prop_def(IntegerAttr)
    num_weight_bits = prop_def(IntegerAttr)
    weight_rec = opt_prop_def(DenseIntOrFPElementsAttr)
    weight_rec_coo = opt_prop_def(DenseIntOrFPElementsAttr)
    bias = opt_prop_def(DenseIntOrFPElementsAttr)
    delay = opt_prop_def(DenseIntOrFPElementsAttr)
    flatten = opt_prop_def(BoolAttr)
    stride = opt_prop_def(DenseArrayBase)
    padding = opt_prop_def(DenseArrayBase)
    dilation = opt_prop_def(DenseArrayBase)
    groups = opt_prop_def(IntegerAttr)
    i_decay = prop_def(DenseIntOrFPElementsAttr)
    v_decay = prop_def(DenseIntOrFPElementsAttr)
    v_th = prop_def(IntegerAttr)
    spiking = prop_def(BoolAttr)
    scale = prop_def(DenseIntOrFPElementsAttr)
    placement = prop_def(DenseIntOrFPElementsAttr)
    sources = prop_def(ArrayAttr)
    lag = opt_prop_def(IntegerAttr)
    inputs = var_operand_def(TensorType)
    out = result_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict `:` type($out)"

    @property
    def spiking_layer(self) -> bool:
        return bool(self.spiking.value.data)

    @property
    def lag_steps(self) -> int:
        return 0 if self.lag is None else _int(self.lag)

    def rec_matrix(self) -> np.ndarray | None:
        """The recurrent weights [out, out] (int64), from ``weight_rec`` or
        from its sparse form ``weight_rec_coo`` (rows ``[target, source,
        weight]``, each pair once, no zero weight); None without either."""
        if self.weight_rec is not None and self.weight_rec_coo is not None:
            raise _err(self, "weight_rec and weight_rec_coo are two forms of the same weights: "
                       "give one")  # fmt: skip
        if self.weight_rec is not None:
            return attr_to_array(self.weight_rec)
        if self.weight_rec_coo is None:
            return None
        coo = attr_to_array(self.weight_rec_coo)
        n = int(np.prod(_shape(self.out)))
        if coo.dtype.kind not in "iu" or coo.ndim != 2 or coo.shape[1] != 3:
            raise _err(self, f"weight_rec_coo must be integers [nnz, 3] (target, source, weight), "
                       f"found {coo.dtype} {list(coo.shape)}")  # fmt: skip
        rows, cols, vals = (coo[:, i].astype(np.int64) for i in range(3))
        if coo.size and (min(rows.min(), cols.min()) < 0 or max(rows.max(), cols.max()) >= n):
            raise _err(self, f"weight_rec_coo names a neuron outside 0..{n - 1}")
        if np.any(vals == 0) or np.unique(rows * n + cols).size != rows.size:
            raise _err(self, "weight_rec_coo holds each (target, source) pair once, with a "
                       "nonzero weight")  # fmt: skip
        out = np.zeros((n, n), np.int64)
        out[rows, cols] = vals
        return out

    def conv_params(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], int]:
        def pair(attr, label, low):
            if attr is None:
                raise _err(self, f"a conv layer needs `{label}`")
            v = _ints(attr)
            if len(v) != 2 or min(v) < low:
                raise _err(self, f"`{label}` must be 2 integers >= {low} (H, W), found {list(v)}")
            return v

        groups = _int(self.groups, 1)
        if groups < 1:
            raise _err(self, f"groups must be >= 1, found {groups}")
        return (pair(self.stride, "stride", 1), pair(self.padding, "padding", 0),
                pair(self.dilation, "dilation", 1), groups)  # fmt: skip

    def placed(self, capacity: CapacityModel | None = None) -> PlacedLayer:
        """The layer as :mod:`.resources` counts it (placement checked)."""
        shape = _shape(self.out)
        n = int(np.prod(shape))
        runs = attr_to_array(self.placement)
        if runs.ndim != 2 or runs.shape[1] != 3 or runs.dtype.kind not in "iu":
            raise _err(self, "placement must be integer runs [start, count, core] (K x 3)")
        runs = runs.astype(np.int64)
        if runs.size:
            order = np.argsort(runs[:, 0], kind="stable")
            r = runs[order]
            if (r[:, 1] < 1).any():
                raise _err(self, "a placement run has a count < 1")
            if (r[:, 2] < 0).any():
                raise _err(self, f"placement names core {int(r[:, 2].min())}: cores are >= 0")
            ends = r[:, 0] + r[:, 1]
            if r[0, 0] != 0 or (r[1:, 0] != ends[:-1]).any() or ends[-1] != n:
                gap = "overlap or gaps" if r[0, 0] == 0 and ends[-1] == n else \
                    f"cover [{int(r[0, 0])}, {int(ends[-1])})"
                raise _err(self, f"placement runs must cover the {n} neurons exactly once; they "
                           f"{gap}")  # fmt: skip
        elif n:
            raise _err(self, f"placement places none of the {n} neurons")
        if capacity is not None and runs.size and runs[:, 2].max() >= capacity.total_cores:
            raise _err(self, f"placement names core {int(runs[:, 2].max())}, but the machine has "
                       f"{capacity.total_cores} ({capacity.chips} chip(s) x "
                       f"{capacity.cores_per_chip} cores)")  # fmt: skip
        kind = self.kind.data
        weight = attr_to_array(self.weight)
        rec = self.rec_matrix()
        in_shape = _shape(self.operands[0]) if self.operands else ()
        if kind == "conv":
            stride, padding, dilation, groups = self.conv_params()
            return PlacedLayer(self.node_name.data, kind, in_shape, shape, weight,
                               runs_to_cores(runs, n), None, stride, padding, dilation, groups)  # fmt: skip
        return PlacedLayer(self.node_name.data, kind, in_shape, shape,
                           weight.reshape(shape[0], -1), runs_to_cores(runs, n), rec)  # fmt: skip

    def verify_(self) -> None:
        kind = self.kind.data
        if kind not in KINDS:
            raise _err(self, f"kind must be one of {', '.join(KINDS)}, found {kind!r}")
        if self.lag_steps < 0:
            raise _err(self, f"lag must be >= 0 steps, found {self.lag_steps}")
        shape = _shape(self.out)
        in_shape = _shape(self.operands[0]) if len(self.operands) == 1 else None
        w = attr_to_array(self.weight)
        if w.dtype.kind not in "iu":
            raise _err(self, f"weights are integers (as netx stores them), found {w.dtype}")
        if kind == "conv":
            self._verify_conv(w, in_shape, shape)
        else:
            self._verify_dense(w, in_shape, shape)
        self._verify_weights(w)
        spec = LOIHI2
        per = shape[0] if kind == "conv" else int(np.prod(shape))
        for label, attr in (("i_decay", self.i_decay), ("v_decay", self.v_decay)):
            d = attr_to_array(attr)
            lo, hi = spec.decay_range
            if d.dtype.kind not in "iu" or d.shape not in ((), (per,)):
                raise _err(self, f"{label} must be integers, 0-d or one per "
                           f"{'output channel' if kind == 'conv' else 'neuron'} ({per}), found "
                           f"{d.dtype} {list(d.shape)}")  # fmt: skip
            if d.size and (d.min() < lo or d.max() > hi):
                raise _err(self, f"{label} outside its 12-bit decay range [{lo}, {hi}]: found "
                           f"[{int(d.min())}, {int(d.max())}]")  # fmt: skip
        lo, hi = spec.threshold_range
        v_th = _int(self.v_th)
        if not lo <= v_th <= hi:
            raise _err(self, f"v_th = {v_th} is outside its 17-bit threshold mantissa range "
                       f"[{lo}, {hi}]")  # fmt: skip
        if not self.spiking_layer and v_th != hi:
            raise _err(self, f"a readout (spiking = false) has the largest threshold mantissa {hi}, "
                       f"found {v_th}")  # fmt: skip
        if self.bias is not None:
            b = attr_to_array(self.bias)
            lo, hi = spec.bias_range
            want = shape[0] if shape else 0
            if b.dtype.kind not in "iu" or b.shape != (want,):
                raise _err(self, f"bias must be {want} integers (one per "
                           f"{'output channel' if kind == 'conv' else 'neuron'}), found "
                           f"{b.dtype} {list(b.shape)}")  # fmt: skip
            if b.size and (b.min() < lo or b.max() > hi):
                raise _err(self, f"bias mantissa outside its 13-bit range [{lo}, {hi}]: found "
                           f"[{int(b.min())}, {int(b.max())}]")  # fmt: skip
        s = attr_to_array(self.scale)
        n = int(np.prod(shape))
        if s.dtype.kind != "f" or not (s > 0).all() or s.ndim and s.shape != (n,):
            raise _err(self, f"scale must be floats > 0, 0-d or one per neuron ({n})")
        for a in self.sources.data:
            if not isinstance(a, StringAttr):
                raise _err(self, "sources must be strings (node names)")
        self.placed()

    def _verify_dense(self, w, in_shape, shape) -> None:
        for label in ("stride", "padding", "dilation", "groups"):
            if self.properties.get(label) is not None:
                raise _err(self, f"`{label}` belongs to conv layers")
        if len(shape) != 1:
            raise _err(self, f"a dense layer's neurons are [N], found {list(shape)}")
        n_in = int(np.prod(in_shape)) if in_shape else None
        if w.ndim != 2 or w.shape[0] != shape[0] or (n_in is not None and w.shape[1] != n_in):
            raise _err(self, f"weight must be [{shape[0]}, {n_in}] (out, flattened in), found "
                       f"{list(w.shape)}")  # fmt: skip
        flat = self.flatten is not None and bool(self.flatten.value.data)
        if in_shape is not None and len(in_shape) > 1 and not flat:
            raise _err(self, f"reads [{', '.join(map(str, in_shape))}] values: a dense layer "
                       "after a multi-dimensional value needs `flatten`")  # fmt: skip
        if self.kind.data == "dense_rec":
            r = self.rec_matrix()
            if r is None:
                raise _err(self, "a dense_rec layer needs `weight_rec` (or `weight_rec_coo`)")
            if r.dtype.kind not in "iu" or r.shape != (shape[0], shape[0]):
                raise _err(self, f"weight_rec must be integers [{shape[0]}, {shape[0]}], found "
                           f"{r.dtype} {list(r.shape)}")  # fmt: skip
            if self.delay is not None:
                raise _err(self, "a dense_rec layer cannot have delays (netx 0.6.0 reuses the "
                           "input delays for the recurrent weights and drops the exponent)")  # fmt: skip
        elif self.weight_rec is not None or self.weight_rec_coo is not None:
            raise _err(self, "`weight_rec` belongs to dense_rec layers")
        if self.delay is not None:
            d = attr_to_array(self.delay)
            if d.dtype.kind not in "iu" or d.shape != w.shape:
                raise _err(self, f"delay must be integers of the weight's shape {list(w.shape)}, "
                           f"found {d.dtype} {list(d.shape)}")  # fmt: skip
            if d.size and (d.min() < 0 or d.max() > MAX_DELAY):
                raise _err(self, f"delays must be in [0, {MAX_DELAY}] steps, found "
                           f"[{int(d.min())}, {int(d.max())}]")  # fmt: skip

    def _verify_conv(self, w, in_shape, shape) -> None:
        for label in ("weight_rec", "delay", "flatten"):
            if self.properties.get(label) is not None:
                raise _err(self, f"`{label}` belongs to dense layers (netx's conv has none)")
        stride, padding, dilation, groups = self.conv_params()
        if w.ndim != 4 or min(w.shape) < 1:
            raise _err(self, f"a conv weight is [out, in/groups, kH, kW], found {list(w.shape)}")
        if in_shape is not None and len(in_shape) != 3:
            raise _err(self, f"a conv layer reads [C, H, W] values, found {list(in_shape)}")
        if len(shape) != 3 or shape[0] != w.shape[0] or shape[0] % groups:
            raise _err(self, f"a conv layer's neurons are [{w.shape[0]}, H, W] with groups "
                       f"dividing {w.shape[0]}, found {list(shape)}")  # fmt: skip
        if in_shape is None:
            return
        if in_shape[0] != w.shape[1] * groups:
            raise _err(self, f"reads {in_shape[0]} channels, the weight takes {w.shape[1]} x "
                       f"{groups} groups")  # fmt: skip
        out = [shape[0]]
        for ax in range(2):
            k = w.shape[2 + ax]
            out.append((in_shape[1 + ax] + 2 * padding[ax] - dilation[ax] * (k - 1) - 1)
                       // stride[ax] + 1)  # fmt: skip
        if tuple(out) != tuple(shape):
            raise _err(self, f"the convolution of [{', '.join(map(str, in_shape))}] gives "
                       f"{out}, the layer says {list(shape)}")  # fmt: skip

    def _verify_weights(self, w) -> None:
        mats = [w.reshape(w.shape[0], -1)]
        rec = self.rec_matrix() if self.kind.data != "conv" else None
        if rec is not None:
            mats.append(rec)
        allw = np.hstack(mats).astype(np.int64) if self.kind.data != "conv" else mats[0]
        if not allw.any():
            raise _err(self, "every weight is zero (netx cannot load such a layer)")
        hi, lo = int(allw.max()), int(allw.min())
        if lo >= 0:
            rng, mode = (0, 255), "excitatory"
        elif hi <= 0:
            rng, mode = (-255, 0), "inhibitory"
        else:
            rng, mode = (-256, 254), "mixed-sign"
        if lo < rng[0] or hi > rng[1]:
            raise _err(self, f"{mode} weights must lie in [{rng[0]}, {rng[1]}] (8-bit mantissa and "
                       f"sign, kept exactly by netx), found [{lo}, {hi}]")  # fmt: skip
        if self.kind.data == "conv":
            exp, bits = 0, 8
        else:
            if not kept_exactly(w.reshape(w.shape[0], -1), rec):
                raise _err(self, "netx's exponent and lava's per-synapse truncation would not keep "
                           "these weights exactly (all weights <= 0 with zeros and an odd one "
                           "below -128, or one synapse of another sign than the layer)")  # fmt: skip
            opt = optimize_weight_bits(allw)
            exp, bits = opt.weight_exp, opt.num_weight_bits
        got = (_int(self.weight_exp), _int(self.num_weight_bits))
        if got != (exp, bits):
            raise _err(self, f"weight_exp = {got[0]}, num_weight_bits = {got[1]}; netx derives "
                       f"{exp} and {bits} from these weights")  # fmt: skip


@irdl_op_definition
class OutputOp(IRDLOperation):
    """A graph Output reading the last layer."""

    name = "loihi2.output"
    node_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(DenseArrayBase)
    select = opt_prop_def(DenseIntOrFPElementsAttr)
    inputs = var_operand_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict"

    def verify_(self) -> None:
        shape = _ints(self.shape)
        if len(self.operands) == 1 and self.select is None:
            got = _shape(self.operands[0])
            if int(np.prod(shape)) != int(np.prod(got)):
                raise _err(self, f"shape {list(shape)} does not hold the {int(np.prod(got))} "
                           "neurons it reads")  # fmt: skip


LOIHI2_DIALECT = Dialect("loihi2", [NetworkOp, InputOp, LayerOp, OutputOp], [])


# --------------------------------------------------------------------------------------
# building and reading
# --------------------------------------------------------------------------------------


@dataclass
class Layer:
    """A ``loihi2.layer`` as Python objects (the fields of the op)."""

    name: str
    kind: str
    in_shape: tuple[int, ...]
    shape: tuple[int, ...]
    weight: np.ndarray  # int
    i_decay: int | np.ndarray  # one per layer, or per neuron (dense) / channel (conv)
    v_decay: int | np.ndarray
    v_th: int
    spiking: bool
    scale: np.ndarray  # float64, 0-d or per neuron
    placement: np.ndarray  # runs [start, count, core]
    sources: tuple[str, ...] = ()
    weight_rec: np.ndarray | None = None
    bias: np.ndarray | None = None
    delay: np.ndarray | None = None
    flatten: bool = False
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    weight_exp: int = 0
    num_weight_bits: int = 8
    lag: int = 0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def cores(self) -> np.ndarray:
        return runs_to_cores(self.placement, self.size)


@dataclass
class Network:
    """What a `loihi2` module holds."""

    dt: float
    input_name: str
    input_shape: tuple[int, ...]
    layers: list[Layer]
    outputs: list[tuple[str, tuple[int, ...]]]
    input_bits: int = 0
    reset_offset: int | None = 1
    capacity: CapacityModel = field(default_factory=lambda: LOIHI2.capacity)
    output_select: np.ndarray | None = None  # see loihi2.output's `select`

    @property
    def latency(self) -> int:
        return sum(1 + layer.lag for layer in self.layers)

    def offset(self, k: int) -> int:
        """Steps between an input column and layer k's answer to it."""
        return sum(1 + layer.lag for layer in self.layers[: k + 1])


def _capacity_attr(capacity: CapacityModel) -> DictionaryAttr:
    d: dict = {k: IntegerAttr(int(getattr(capacity, k)), i64) for k in _CAPACITY_INTS}
    for k in _CAPACITY_FLOATS:
        d[k] = FloatAttr(float(getattr(capacity, k)), f64)
    return DictionaryAttr(d)


def _decay_attr(d) -> DenseIntOrFPElementsAttr:
    a = np.asarray(d, np.int64)
    return array_to_attr(np.array(a.reshape(-1)[0]) if a.size == 1 else a.reshape(-1))


def _decay_value(attr) -> int | np.ndarray:
    a = attr_to_array(attr).astype(np.int64)
    return int(a.reshape(-1)[0]) if a.ndim == 0 else a.copy()


SPARSE_FROM = 4096  # recurrent weight matrices this large and mostly zero are stored as COO


def _weights_attr(a: np.ndarray) -> DenseIntOrFPElementsAttr:
    return array_to_attr(np.ascontiguousarray(np.asarray(a, np.int16)))


def build_network(net: Network, *, verify: bool = True) -> ModuleOp:
    """A `loihi2` module holding ``net`` (verified unless ``verify`` is False)."""
    block = Block()
    inp = InputOp.create(
        properties={"name": StringAttr(net.input_name), "shape": _int_array(net.input_shape)},
        result_types=[values_type(net.input_shape)],
    )
    inp.out.name_hint = "input"
    block.add_op(inp)
    prev = inp.out
    for layer in net.layers:
        props: dict = {
            "name": StringAttr(layer.name),
            "kind": StringAttr(layer.kind),
            "weight": _weights_attr(layer.weight),
            "weight_exp": IntegerAttr(int(layer.weight_exp), i64),
            "num_weight_bits": IntegerAttr(int(layer.num_weight_bits), i64),
            "i_decay": _decay_attr(layer.i_decay),
            "v_decay": _decay_attr(layer.v_decay),
            "v_th": IntegerAttr(int(layer.v_th), i64),
            "spiking": IntegerAttr.from_bool(bool(layer.spiking)),
            "scale": array_to_attr(np.asarray(layer.scale, np.float64)),
            "placement": array_to_attr(np.asarray(layer.placement, np.int64).reshape(-1, 3)),
            "sources": ArrayAttr([StringAttr(s) for s in layer.sources]),
        }
        if layer.weight_rec is not None:
            rec = np.asarray(layer.weight_rec)
            if rec.size > SPARSE_FROM and np.count_nonzero(rec) * 4 < rec.size:
                target, source = np.nonzero(rec)
                props["weight_rec_coo"] = array_to_attr(
                    np.stack([target, source, rec[target, source]], axis=1).astype(np.int32))
            else:
                props["weight_rec"] = _weights_attr(rec)
        if layer.bias is not None:
            props["bias"] = _weights_attr(layer.bias)
        if layer.delay is not None:
            props["delay"] = array_to_attr(np.asarray(layer.delay, np.int8))
        if layer.kind == "conv":
            props["stride"] = _int_array(layer.stride)
            props["padding"] = _int_array(layer.padding)
            props["dilation"] = _int_array(layer.dilation)
            props["groups"] = IntegerAttr(int(layer.groups), i64)
        elif layer.flatten:
            props["flatten"] = IntegerAttr.from_bool(True)
        if layer.lag:
            props["lag"] = IntegerAttr(int(layer.lag), i64)
        op = LayerOp.create(operands=[prev], properties=props,
                            result_types=[values_type(layer.shape)])  # fmt: skip
        op.out.name_hint = _hint(layer.name)
        block.add_op(op)
        prev = op.out
    for name, shape in net.outputs:
        props = {"name": StringAttr(name), "shape": _int_array(shape)}
        if net.output_select is not None:
            props["select"] = array_to_attr(np.asarray(net.output_select, np.int32))
        block.add_op(OutputOp.create(operands=[prev], properties=props))
    props = {
        "dt": FloatAttr(float(net.dt), f64),
        "latency": IntegerAttr(net.latency, i64),
        "input_bits": IntegerAttr(int(net.input_bits), i64),
        "capacity": _capacity_attr(net.capacity),
    }
    if net.reset_offset is not None:
        props["reset_offset"] = IntegerAttr(int(net.reset_offset), i64)
    module = ModuleOp([NetworkOp.create(properties=props, regions=[Region(block)])])
    if verify:
        module.verify()
    return module


def _hint(name: str) -> str | None:
    import re

    return name if re.fullmatch(r"[A-Za-z_][\w$.-]*", name) and not re.fullmatch(r".*_\d+", name) \
        else None  # fmt: skip


def network_op(module) -> NetworkOp:
    from nirc.diagnostics import NircError

    ops = [op for op in getattr(module, "ops", []) if isinstance(op, NetworkOp)]
    if len(ops) != 1:
        raise NircError("not a `loihi2` module", expected="one loihi2.network op",
                        found=f"{len(ops)} loihi2.network ops")  # fmt: skip
    return ops[0]


def is_loihi2_module(module) -> bool:
    return isinstance(module, ModuleOp) and any(isinstance(op, NetworkOp) for op in module.ops)


def read_network(module) -> Network:
    """The network a `loihi2` module holds (the inverse of :func:`build_network`)."""
    op = network_op(module)
    inp = next(o for o in op.block.ops if isinstance(o, InputOp))
    layers = []
    for lo in op.layers():
        def opt(attr):
            return None if attr is None else attr_to_array(attr).astype(np.int64)

        conv = lo.kind.data == "conv"
        stride, padding, dilation, groups = lo.conv_params() if conv else ((1, 1), (0, 0), (1, 1), 1)
        layers.append(Layer(
            name=lo.node_name.data,
            kind=lo.kind.data,
            in_shape=_shape(lo.operands[0]),
            shape=_shape(lo.out),
            weight=attr_to_array(lo.weight).astype(np.int64),
            i_decay=_decay_value(lo.i_decay),
            v_decay=_decay_value(lo.v_decay),
            v_th=_int(lo.v_th),
            spiking=lo.spiking_layer,
            scale=attr_to_array(lo.scale).astype(np.float64),
            placement=attr_to_array(lo.placement).astype(np.int64).reshape(-1, 3),
            sources=tuple(a.data for a in lo.sources.data),
            weight_rec=lo.rec_matrix(),
            bias=opt(lo.bias),
            delay=opt(lo.delay),
            flatten=lo.flatten is not None and bool(lo.flatten.value.data),
            stride=stride, padding=padding, dilation=dilation, groups=groups,
            weight_exp=_int(lo.weight_exp),
            num_weight_bits=_int(lo.num_weight_bits),
            lag=lo.lag_steps,
        ))  # fmt: skip
    outs = [o for o in op.block.ops if isinstance(o, OutputOp)]
    outputs = [(o.node_name.data, _ints(o.shape)) for o in outs]
    select = next((attr_to_array(o.select).astype(np.int64) for o in outs if o.select is not None),
                  None)  # fmt: skip
    return Network(
        dt=float(op.dt.value.data),
        input_name=inp.node_name.data,
        input_shape=_ints(inp.shape),
        layers=layers,
        outputs=outputs,
        input_bits=_int(op.input_bits),
        reset_offset=None if op.reset_offset is None else _int(op.reset_offset),
        capacity=op.capacity_model(),
        output_select=select,
    )


__all__ = [
    "LOIHI2_DIALECT",
    "InputOp",
    "Layer",
    "LayerOp",
    "Network",
    "NetworkOp",
    "OutputOp",
    "build_network",
    "is_loihi2_module",
    "network_op",
    "read_network",
    "values_type",
]
