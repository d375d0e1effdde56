"""The `snn` dialect: discrete time, chip-neutral spiking networks.

The level between the faithful `nir` dialect and the chip dialects. Time is a
sequence of steps of width ``dt`` (a property of the graph); neurons carry
decay factors and gains instead of time constants; the reset rule, the spike
comparison and the spike mode are explicit; synapses are dense, convolution
and sum-pooling ops; and every edge that carries the previous step's value
goes through an explicit ``snn.delay``, so that the body of one step is a DAG
(a register in a synchronous circuit). `discretize` produces it from `nir`;
`fold-weights`, `fuse` and `quantize` transform it; the reference interpreter
(:mod:`nirc.interpreter.snn`) runs it, float and integer.

Structure
---------
::

    builtin.module {
      snn.graph attributes {dt = 1.000000e-04 : f64, integrator = "euler", reset = "zero"} {
        %input = snn.input "input" {shape = dense<12> : tensor<1xi64>} : tensor<12xf32>
        %fc1 = snn.dense "fc1"(%input : tensor<12xf32>) {weight = ..., bias = ...} : tensor<38xf32>
        %lif = snn.neuron "lif1.lif"(%fc1, %d : tensor<38xf32>, tensor<38xf32>) {alpha_mem = ..., ...} : tensor<38xf32>
        %rec = snn.dense "lif1.w_rec"(%lif : tensor<38xf32>) {...} : tensor<38xf32>
        %d = snn.delay "lif1.w_rec.delay"(%rec : tensor<38xf32>) {steps = dense<1> : tensor<i64>} : tensor<38xf32>
        snn.output "output"(%lif2 : tensor<7xf32>)
      }
    }

- One top-level ``snn.graph`` (no nesting: `discretize` inlines nested NIR
  graphs). Its properties record how it was made: ``dt``, ``integrator``,
  ``reset`` (the option) and ``source`` (the source profile, absent for the
  plain NIR reading; see :mod:`nirc.profiles`): informational, since the
  neurons carry the semantics. Its region is a graph region: values may be used before they are
  defined, but every cycle must pass through an ``snn.delay`` whose steps are
  all >= 1 (checked by the verifier, naming the nodes of an offending cycle).
- Operands are summed (fan-in), in operand order. Every node op has a unique
  ``name`` (NIR's dotted names survive).
- Values are ``tensor<shape x f32>``: the element type of values is nominal;
  what a value holds (reals, spike counts, integer states) follows from the
  ops. Quantization lives in the ops' attributes.
- Parameters are dense tensor properties, either of the layer's full shape or
  0-d (one value for every element).

Ops
---
``snn.input "name" {shape}``, ``snn.output "name"(...) {scale?}``
    Graph ports. A quantized network's output may carry ``scale`` (state units
    per real unit) when it receives non-spike integer values, so that tools
    can compare it with the float network.
``snn.dense {weight, bias?, in_rank?}``
    ``y[..., o] = sum_k weight[o, k...] x[..., k...] + bias[o]``: the weight is
    ``[out, *in_axes]`` and contracts the last ``in_rank`` (default 1) input
    axes; leading input axes broadcast. ``in_rank > 1`` is a Flatten absorbed
    into the weight (`fold-weights`).
``snn.conv1d`` / ``snn.conv2d {weight, bias?, stride, padding, dilation, groups}``
    PyTorch cross-correlation; ``padding`` is explicit ``[axes, 2]`` (before,
    after) per spatial axis, so 'same' is resolved.
``snn.sum_pool2d {kernel_size, stride, padding, divisor?}``
    Windowed sum with zero padding; ``divisor`` (equal to the window size) makes
    it NIR's AvgPool2d: ``sum / divisor`` (`fold-weights` moves it into the next
    weights).
``snn.reshape``
    A view: same elements, the result type's shape.
``snn.scale {scale}``
    Elementwise product (NIR Scale; `fold-weights` moves it into weights).
``snn.delay {steps}``
    ``y[t] = x[t - steps]`` per element (zeros before). Every feedback edge has
    one with ``steps = 1``; NIR Delay nodes become one with their steps.
``snn.neuron``
    A layer of neurons, see below.
``snn.layer "name"(...) : type { ^bb0(...): ... snn.yield %v : type }``
    A fused layer (`fuse`): synapse ops reading the block arguments (the layer's
    operands, in order), exactly one ``snn.neuron``, optionally one
    ``snn.sum_pool2d`` of its spikes, and ``snn.yield`` of the neuron's or the
    pool's value. It computes exactly what its body computes; the grouping says
    what one core computes. Names inside are unique in the whole graph (a layer
    may share its name with the neuron it holds).

The neuron (float)
------------------
Per step t, with x[t] the summed input (defaults in brackets)::

    synaptic stage (when alpha_syn is present):
        i[t] = alpha_syn * i[t-1] + gain_syn[1] * x[t]
        s    = i[t-1] if current_order == "previous" [default] else i[t]   ("same")
    without it: s = x[t]
    v[t] = alpha_mem * v[t-1] + (gain_mem[1] * s + bias_mem[0])

Spiking neurons (``v_threshold`` present) then compare ``v > thr`` (``compare
= "gt"``, default) or ``v >= thr`` (``"ge"``) and emit ``n`` spikes:
``spikes = "binary"`` (default): ``n = 1`` where the comparison holds;
``"multi"``: ``n = floor(v / thr)`` where it holds (a spike count; thr > 0),
at most ``max_spikes`` when that is given (an integer >= 2: Rockpool's
``max_spikes_per_dt``, Sinabs' ``MaxSpike``, Xylo's 31 per hidden neuron; the
rest of the membrane stays, the reset removes ``n * thr`` only).
Reset (``reset``, default ``"zero"``; `discretize` sets it from its option):

- ``zero``: ``v = v_reset[0]`` where ``n > 0``;
- ``subtract``: ``v -= n * thr``;
- ``subtract_undecayed``: the subtraction happens in the next step, after the
  decay: ``v[t+1] = alpha_mem * v[t] + drive - n[t] * thr`` (snnTorch's Leaky);
- ``zero_refractory``: in the step after a spike the update is replaced by
  ``v = v_reset`` (snnTorch's RLeaky/Synaptic "zero": the whole step is lost).

Then ``v = max(v, v_min)`` where ``v_min`` is given (a lower bound on the
membrane after the reset: Sinabs' ``min_v_mem``, Speck's ``threshold_low``).
The output is ``n`` for spiking neurons, ``v`` otherwise. States start at
``v_init``/``i_init`` (default 0). ``gain_*`` and ``bias_mem`` absorb the
input normalizations of every framework (``dt*r/tau``, Sinabs'
``1 - alpha``, ...). The float update is evaluated exactly in this order, in
float64, skipping a multiplication by exactly 1 and an addition of exactly 0
(``alpha_mem = 0`` gives ``v = drive``), which is what the `nir` interpreter
does: a discretized graph gives bit-identical results.

Quantized forms and the integer semantics
-----------------------------------------
A neuron is *quantized* when it has ``state_bits`` (B) and ``frac_bits`` (F);
then every parameter is an integer tensor and ``scale`` (float, 0-d or per
neuron) says how many state units make one real unit of ``v`` and ``i``.
A dense/conv op is quantized when its weight has an integer element type; it
then has ``shift`` (an i64 >= 0), an integer ``bias`` in output units, and
``scale`` (float, 0-d or per output channel: output units per real unit).
Integer arithmetic is exact (int64) except where stated::

    synapse:   y = (sum_k weight * x) * 2**shift + bias          (inputs must be integers)
    sat(a)   = clip(a, -2**(B-1), 2**(B-1) - 1)
    ms(a, m) = floor((a*m + 2**(F-1)) / 2**F)   (F = 0: a*m)      multiply, round half up
    i = sat(ms(i, alpha_syn) + ms(x, gain_syn))
    v = sat(ms(v, alpha_mem) + ms(s, gain_mem) + bias_mem)
    subtract_undecayed: v = sat(v - n_prev*thr);  zero_refractory: v = v_reset where n_prev > 0
    n: v > thr (or >=); multi: floor(v / thr) (integer division) where it holds,
       at most max_spikes
    reset: zero: v = v_reset where n > 0; subtract: v = sat(v - n*thr)
    v = max(v, v_min)                                    (when v_min is given)

``alpha_*`` and ``gain_*`` are fixed-point multipliers with F fractional bits
(``2**F`` is 1.0; a missing gain is ``2**F``). The synaptic input ``x`` of a
quantized neuron must hold integers (spike counts, integer synapse outputs);
the interpreter refuses anything else, and clips ``x`` to 32 bits before the
multiply (every product then fits in int64). Sum-pools, reshapes and delays are exact on integers. Targets
have their own formats; this one is the chip-neutral reference they are
compared against.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    UnrankedTensorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Block, BlockArgument, Dialect, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    lazy_traits_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import HasParent, IsTerminator, NoTerminator
from xdsl.utils.exceptions import VerifyException

from nirc.dialects.nir import array_to_attr, attr_to_array, shape_of, value_type

__all__ = [
    "SNN",
    "GraphOp",
    "InputOp",
    "OutputOp",
    "DenseOp",
    "Conv1dOp",
    "Conv2dOp",
    "SumPool2dOp",
    "ReshapeOp",
    "ScaleOp",
    "DelayOp",
    "NeuronOp",
    "LayerOp",
    "YieldOp",
    "array_to_attr",
    "attr_to_array",
    "value_type",
]

ValueType = TensorType | UnrankedTensorType
ParamAttr = DenseIntOrFPElementsAttr

RESETS = ("zero", "subtract", "subtract_undecayed", "zero_refractory")
COMPARES = ("gt", "ge")
SPIKE_MODES = ("binary", "multi")
CURRENT_ORDERS = ("previous", "same")

_NODE_FORMAT = "$name (`(` $inputs^ `:` type($inputs) `)`)? attr-dict `:` type($out)"


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------


def _fmt(shape: Sequence[int] | None) -> str:
    return "unknown" if shape is None else "[" + ", ".join(str(int(d)) for d in shape) + "]"


def param(op: Operation, name: str) -> np.ndarray | None:
    """A dense tensor property as a read-only numpy array (None when absent)."""
    attr = op.properties.get(name)
    if attr is None:
        return None
    if not isinstance(attr, DenseIntOrFPElementsAttr):
        raise VerifyException(f'{op.name} "{node_name(op)}": `{name}` must be a dense tensor')
    return attr_to_array(attr)


def int_prop(op: Operation, name: str, default: int | None = None) -> int | None:
    attr = op.properties.get(name)
    if attr is None:
        return default
    if isinstance(attr, IntegerAttr):
        return int(attr.value.data)
    raise VerifyException(f'{op.name} "{node_name(op)}": `{name}` must be an integer')


def str_prop(op: Operation, name: str, default: str) -> str:
    attr = op.properties.get(name)
    return attr.data if isinstance(attr, StringAttr) else default


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def node_name(op: Operation) -> str:
    attr = op.properties.get("name")
    return attr.data if isinstance(attr, StringAttr) else ""


def label(op: Operation) -> str:
    """An op's node name, or its op name when it has none (for diagnostics)."""
    return node_name(op) or op.name


def known_shape(value: SSAValue, chip: str) -> tuple[int, ...]:
    """A value's static shape; lowering to ``chip`` refuses an unknown one at
    the op that produces it."""
    from nirc.diagnostics import NircError

    s = shape_of(value.type)
    if s is None:
        where = label(value.owner) if isinstance(value.owner, Operation) else str(value.name_hint)
        raise NircError(f"lowering to {chip} needs known shapes", where=where,
                        hint="run shape inference (`nir-infer-shapes`) before lowering")  # fmt: skip
    return tuple(int(d) for d in s)


def is_int(a: np.ndarray | None) -> bool:
    return a is not None and a.dtype.kind in "iu"


def _err(op: Operation, message: str) -> VerifyException:
    return VerifyException(f'{op.name} "{node_name(op)}": {message}')


def _check_attributes(op: Operation) -> None:
    stray = sorted(k for k in op.attributes if "." not in k)
    if stray:
        fields = sorted(k for k in op.get_irdl_definition().properties if k != "name")  # type: ignore[attr-defined]
        raise _err(op, f"unknown field(s) {', '.join(stray)}; {op.name} has {', '.join(fields)}")


def _summed_shape(op: Operation) -> tuple[int, ...] | None:
    shape = None
    for i, v in enumerate(op.operands):
        s = shape_of(v.type)
        if s is None:
            continue
        if shape is None:
            shape = s
        elif s != shape:
            raise _err(
                op,
                f"inputs of different shapes cannot be summed: input 0 is {_fmt(shape)}, "
                f"input {i} is {_fmt(s)}",
            )
    return shape


def _check_layer_param(op: Operation, field: str, shape: tuple[int, ...] | None) -> None:
    """A per-element parameter: 0-d or the layer's shape, finite."""
    a = param(op, field)
    if a is None:
        return
    if a.ndim and shape is not None and a.shape != shape:
        raise _err(
            op,
            f"`{field}` has shape {_fmt(a.shape)}; expected the layer's shape {_fmt(shape)} "
            "or a 0-d tensor (one value for every neuron)",
        )
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise _err(op, f"`{field}` holds non-finite values")


# --------------------------------------------------------------------------------------
# flat view across layer bodies
# --------------------------------------------------------------------------------------


def producer(value: SSAValue) -> Operation | None:
    """The op computing ``value``, looking through fused layers: a layer's block
    argument is the layer's operand, a layer's result is what its body yields."""
    while True:
        if isinstance(value, BlockArgument):
            owner = value.block.parent_op()
            if isinstance(owner, LayerOp):
                value = owner.operands[value.index]
                continue
            return None
        op = value.owner
        if isinstance(op, LayerOp):
            value = op.yield_op().operands[0]
            continue
        return op  # type: ignore[return-value]


def consumers(value: SSAValue) -> list[tuple[Operation, int]]:
    """(op, operand index) of every use of ``value``, looking through layers."""
    out: list[tuple[Operation, int]] = []
    todo = [value]
    while todo:
        v = todo.pop()
        for use in list(v.uses):
            user = use.operation
            if isinstance(user, LayerOp):
                todo.append(user.body.blocks[0].args[use.index])
            elif isinstance(user, YieldOp):
                layer = user.parent_op()
                assert isinstance(layer, LayerOp)
                todo.append(layer.out)
            else:
                out.append((user, use.index))
    return out


def flat_ops(graph: GraphOp) -> Iterator[Operation]:
    """Every computing op of the graph in block order, layer bodies inlined
    (no layer or yield ops)."""
    for op in graph.block.ops:
        if isinstance(op, LayerOp):
            yield from (o for o in op.body.blocks[0].ops if not isinstance(o, YieldOp))
        else:
            yield op


def flat_inputs(op: Operation) -> list[Operation]:
    """Producers of ``op``'s operands (through layers), in operand order."""
    out = []
    for v in op.operands:
        p = producer(v)
        if p is not None:
            out.append(p)
    return out


def top_graph(module: ModuleOp) -> GraphOp:
    from nirc.diagnostics import NircError

    tops = [op for op in module.ops if isinstance(op, GraphOp)]
    if len(tops) != 1:
        raise NircError(
            "expected a module with one snn.graph",
            found=f"{len(tops)} snn.graph op(s)",
            hint="run `discretize` on a `nir` module first",
        )
    return tops[0]


def is_snn_module(module: Any) -> bool:
    return isinstance(module, ModuleOp) and any(isinstance(op, GraphOp) for op in module.ops)


# --------------------------------------------------------------------------------------
# structure ops
# --------------------------------------------------------------------------------------


@irdl_op_definition
class GraphOp(IRDLOperation):
    """A discrete-time network: one graph region, every cycle through a delay."""

    name = "snn.graph"

    dt = prop_def(FloatAttr)
    integrator = opt_prop_def(StringAttr)
    reset = opt_prop_def(StringAttr)
    source = opt_prop_def(StringAttr)
    metadata = opt_prop_def(DictionaryAttr)
    body = region_def()

    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict-with-keyword $body"

    @property
    def block(self) -> Block:
        if not self.body.blocks:
            self.body.add_block(Block())
        return self.body.blocks[0]

    @property
    def dt_value(self) -> float:
        return float(self.dt.value.data)

    def input_ops(self) -> list[InputOp]:
        return [op for op in self.block.ops if isinstance(op, InputOp)]

    def output_ops(self) -> list[OutputOp]:
        return [op for op in self.block.ops if isinstance(op, OutputOp)]

    def verify_(self) -> None:
        parent = self.parent_op()
        if parent is not None and not isinstance(parent, ModuleOp):
            raise VerifyException("snn.graph must sit directly in a builtin.module")
        _check_attributes(self)
        dt = self.dt_value
        if not np.isfinite(dt) or dt <= 0:
            raise VerifyException(f"snn.graph: dt must be finite and > 0, found {dt}")
        if len(self.body.blocks) > 1 or self.block.args:
            raise VerifyException("snn.graph: the graph region has one block without arguments")
        names: dict[str, Operation] = {}
        top: set[Operation] = set(self.block.ops)
        for op in self.block.ops:
            if not isinstance(op, _NodeOp | InputOp | OutputOp | LayerOp):
                raise VerifyException(f"snn.graph: may only hold snn node ops, found {op.name}")
            for v in op.operands:
                owner = v.owner
                if not (isinstance(owner, Operation) and owner in top):
                    raise _err(op, "an operand must be a value of the same snn.graph")
            inner = (
                [o for o in op.body.blocks[0].ops if not isinstance(o, YieldOp)]
                if isinstance(op, LayerOp)
                else [op]
            )
            for o in inner:
                n = node_name(o)
                if n in names:
                    raise _err(o, f'node name "{n}" is used twice; names must be unique')
                names[n] = o
        for op in self.block.ops:
            if isinstance(op, LayerOp):
                n = node_name(op)
                other = names.get(n)
                if other is not None and other.parent_op() is not op:
                    raise _err(op, f'node name "{n}" is used twice; names must be unique')
        _check_acyclic(list(self.block.ops), "snn.graph")


def _breaks_cycle(op: Operation) -> bool:
    if not isinstance(op, DelayOp):
        return False
    steps = param(op, "steps")
    return steps is not None and steps.size > 0 and bool((steps >= 1).all())


def _check_acyclic(ops: list[Operation], where: str) -> None:
    """Same-step edges (all but those into a delay of >= 1 step) must form a DAG."""
    members = set(ops)
    indeg = dict.fromkeys(ops, 0)
    succ: dict[Operation, list[Operation]] = {op: [] for op in ops}
    for op in ops:
        if _breaks_cycle(op):
            continue
        for v in op.operands:
            src = v.owner
            if isinstance(src, Operation) and src in members:
                succ[src].append(op)
                indeg[op] += 1
    ready = [op for op in ops if indeg[op] == 0]
    seen = 0
    while ready:
        op = ready.pop()
        seen += 1
        for t in succ[op]:
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    if seen != len(ops):
        stuck = [node_name(op) or op.name for op in ops if indeg[op] > 0]
        raise VerifyException(
            f"{where}: a cycle without a delay: the values of one step would depend on "
            f"themselves (nodes on or after the cycle: {', '.join(stuck[:8])}); put an "
            "snn.delay with steps >= 1 on the feedback edge"
        )


@irdl_op_definition
class InputOp(IRDLOperation):
    """A graph input of the declared ``shape``."""

    name = "snn.input"
    node_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(ParamAttr)
    inputs = var_operand_def(ValueType)
    out = result_def(ValueType)

    traits = traits_def(HasParent(GraphOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _NODE_FORMAT

    def declared_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in attr_to_array(self.shape).reshape(-1))

    def verify_(self) -> None:
        _check_attributes(self)
        if self.inputs:
            raise _err(self, "an snn.input takes no operands")
        a = attr_to_array(self.shape)
        if a.ndim != 1 or a.dtype.kind not in "iu" or (a < 0).any():
            raise _err(self, "`shape` must be a 1-D tensor of non-negative integers")
        got = shape_of(self.out.type)
        if got is not None and got != self.declared_shape():
            raise _err(self, f"result has shape {_fmt(got)} but `shape` says {_fmt(a)}")


@irdl_op_definition
class OutputOp(IRDLOperation):
    """A graph output (its operands are summed)."""

    name = "snn.output"
    node_name = prop_def(StringAttr, prop_name="name")
    scale = opt_prop_def(ParamAttr)
    inputs = var_operand_def(ValueType)

    traits = traits_def(HasParent(GraphOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name (`(` $inputs^ `:` type($inputs) `)`)? attr-dict"

    def verify_(self) -> None:
        _check_attributes(self)
        shape = _summed_shape(self)
        _check_layer_param(self, "scale", shape)
        s = param(self, "scale")
        if s is not None and (s.dtype.kind != "f" or not (s > 0).all()):
            raise _err(self, "`scale` must hold floats > 0")


class _NodeOp(IRDLOperation):
    """Base of the computing ops (not registered itself)."""

    node_name = prop_def(StringAttr, prop_name="name")
    inputs = var_operand_def(ValueType)
    out = result_def(ValueType)

    traits = lazy_traits_def(lambda: (HasParent(GraphOp, LayerOp),))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _NODE_FORMAT

    def in_shape(self) -> tuple[int, ...] | None:
        return _summed_shape(self)

    def out_shape(self) -> tuple[int, ...] | None:
        return shape_of(self.out.type)

    def verify_(self) -> None:
        _check_attributes(self)
        # a neuron without inputs is legal NIR (its bias and leak still move it);
        # every other op computes from its inputs
        if not self.inputs and not isinstance(self, NeuronOp):
            raise _err(self, "needs at least one input")
        in_shape = _summed_shape(self)
        expected = self.verify_node(in_shape)
        got = self.out_shape()
        if expected is not None and got is not None and tuple(expected) != got:
            raise _err(
                self,
                f"result type says shape {_fmt(got)} but the op computes {_fmt(expected)} "
                f"from its input of shape {_fmt(in_shape)}",
            )

    def verify_node(self, in_shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
        """Check parameters; return the output shape for ``in_shape`` (None: unknown)."""
        return in_shape


# --------------------------------------------------------------------------------------
# synapses
# --------------------------------------------------------------------------------------


def _check_quantized_synapse(op: Operation, weight: np.ndarray, out_channels: int) -> None:
    bias = param(op, "bias")
    shift = int_prop(op, "shift")
    scale = param(op, "scale")
    if weight.dtype.kind in "iu":
        if shift is None or shift < 0 or shift > 31:
            raise _err(op, "a quantized weight (integer) needs `shift`, an integer in 0..31")
        if scale is None or scale.dtype.kind != "f" or not (scale > 0).all():
            raise _err(
                op, "a quantized weight needs `scale` (floats > 0: output units per real unit)"
            )
        if scale.ndim and scale.shape != (out_channels,):
            raise _err(
                op,
                f"`scale` has shape {_fmt(scale.shape)}; expected 0-d or one per output "
                f"channel [{out_channels}]",
            )
        if bias is not None and bias.dtype.kind not in "iu":
            raise _err(op, "a quantized weight needs an integer `bias` (in output units)")
    else:
        if weight.dtype.kind != "f":
            raise _err(op, f"`weight` must be float or integer, found {weight.dtype}")
        if not np.isfinite(weight).all():
            raise _err(op, "`weight` holds non-finite values")
        if shift is not None or scale is not None:
            raise _err(op, "`shift` and `scale` belong to quantized (integer) weights only")
        if bias is not None and (bias.dtype.kind != "f" or not np.isfinite(bias).all()):
            raise _err(op, "`bias` must hold finite floats like the weight")
    if bias is not None and bias.shape not in ((out_channels,), ()):
        raise _err(op, f"`bias` has shape {_fmt(bias.shape)}; expected [{out_channels}]")


@irdl_op_definition
class DenseOp(_NodeOp):
    """y[..., o] = sum_k W[o, k...] x[..., k...] + b[o] over the last ``in_rank`` axes."""

    name = "snn.dense"
    weight = prop_def(ParamAttr)
    bias = opt_prop_def(ParamAttr)
    in_rank = opt_prop_def(IntegerAttr)
    shift = opt_prop_def(IntegerAttr)
    scale = opt_prop_def(ParamAttr)

    @property
    def contracted(self) -> int:
        return int_prop(self, "in_rank", 1) or 1

    def verify_node(self, in_shape):
        w = attr_to_array(self.weight)
        r = self.contracted
        if r < 1 or w.ndim != r + 1:
            raise _err(
                self,
                f"`weight` has shape {_fmt(w.shape)}; expected [out, *in_axes] with "
                f"in_rank = {r} input axes",
            )
        _check_quantized_synapse(self, w, int(w.shape[0]))
        if in_shape is None:
            return None
        if len(in_shape) < r or tuple(in_shape[len(in_shape) - r :]) != tuple(w.shape[1:]):
            raise _err(
                self,
                f"input of shape {_fmt(in_shape)} does not end with the weight's input "
                f"axes {_fmt(w.shape[1:])}",
            )
        return tuple(in_shape[: len(in_shape) - r]) + (int(w.shape[0]),)


class _ConvOp(_NodeOp):
    weight = prop_def(ParamAttr)
    bias = opt_prop_def(ParamAttr)
    stride = prop_def(ParamAttr)
    padding = prop_def(ParamAttr)
    dilation = prop_def(ParamAttr)
    groups = prop_def(ParamAttr)
    shift = opt_prop_def(IntegerAttr)
    scale = opt_prop_def(ParamAttr)

    SPATIAL: ClassVar[int] = 2

    def conv_params(
        self,
    ) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...], tuple[int, ...], int]:
        """(stride, pads, dilation, groups), checked."""
        nd = self.SPATIAL
        stride = attr_to_array(self.stride)
        pads = attr_to_array(self.padding)
        dil = attr_to_array(self.dilation)
        groups = attr_to_array(self.groups)
        for label, a, shape, low in (
            ("stride", stride, (nd,), 1),
            ("padding", pads, (nd, 2), 0),
            ("dilation", dil, (nd,), 1),
            ("groups", groups, (), 1),
        ):
            if a.dtype.kind not in "iu" or a.shape != shape or (a < low).any():
                raise _err(
                    self,
                    f"`{label}` must be integers >= {low} of shape {_fmt(shape)}, found "
                    f"{a.dtype} of shape {_fmt(a.shape)}",
                )
        return (
            tuple(int(v) for v in stride),
            tuple((int(a), int(b)) for a, b in pads),
            tuple(int(v) for v in dil),
            int(groups),
        )

    def verify_node(self, in_shape):
        nd = self.SPATIAL
        w = attr_to_array(self.weight)
        if w.ndim != nd + 2 or min(w.shape) < 1:
            raise _err(
                self,
                f"`weight` must be {nd + 2}-D [out, in/groups, *kernel], found {_fmt(w.shape)}",
            )
        stride, pads, dil, groups = self.conv_params()
        out_ch = int(w.shape[0])
        if out_ch % groups:
            raise _err(self, f"groups = {groups} must divide the {out_ch} output channels")
        _check_quantized_synapse(self, w, out_ch)
        if in_shape is None:
            return None
        if len(in_shape) != nd + 1 or in_shape[0] != w.shape[1] * groups:
            raise _err(
                self,
                f"input of shape {_fmt(in_shape)}; expected [{w.shape[1] * groups}, "
                f"{'length' if nd == 1 else 'height, width'}] (weight.shape[1] x groups channels)",
            )
        out = [out_ch]
        for ax in range(nd):
            size = in_shape[1 + ax] + sum(pads[ax]) - dil[ax] * (w.shape[2 + ax] - 1) - 1
            if size < 0:
                raise _err(self, f"the kernel does not fit the padded input on axis {ax}")
            out.append(size // stride[ax] + 1)
        return tuple(out)


@irdl_op_definition
class Conv1dOp(_ConvOp):
    """1-D cross-correlation; input [channels, length]."""

    name = "snn.conv1d"
    SPATIAL: ClassVar[int] = 1


@irdl_op_definition
class Conv2dOp(_ConvOp):
    """2-D cross-correlation; input [channels, height, width]."""

    name = "snn.conv2d"
    SPATIAL: ClassVar[int] = 2


@irdl_op_definition
class SumPool2dOp(_NodeOp):
    """Windowed sum (zero padding); with ``divisor``, a windowed mean."""

    name = "snn.sum_pool2d"
    kernel_size = prop_def(ParamAttr)
    stride = prop_def(ParamAttr)
    padding = prop_def(ParamAttr)
    divisor = opt_prop_def(IntegerAttr)

    def window(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        out = []
        for label, low in (("kernel_size", 1), ("stride", 1), ("padding", 0)):
            a = param(self, label)
            assert a is not None
            if a.dtype.kind not in "iu" or a.shape != (2,) or (a < low).any():
                raise _err(
                    self, f"`{label}` must be 2 integers >= {low}, found {_fmt(a.shape)} {a.dtype}"
                )
            out.append((int(a[0]), int(a[1])))
        return out[0], out[1], out[2]  # type: ignore[return-value]

    def verify_node(self, in_shape):
        (kh, kw), (sh, sw), (ph, pw) = self.window()
        d = int_prop(self, "divisor")
        if d is not None and d != kh * kw:
            raise _err(
                self, f"`divisor` must be the window size {kh * kw} (an average pool), found {d}"
            )
        if in_shape is None:
            return None
        if len(in_shape) != 3:
            raise _err(self, f"input must be [channels, height, width], found {_fmt(in_shape)}")
        out = [in_shape[0]]
        for size, k, s, p in ((in_shape[1], kh, sh, ph), (in_shape[2], kw, sw, pw)):
            if size + 2 * p < k:
                raise _err(self, "the window is larger than the padded input")
            out.append((size + 2 * p - k) // s + 1)
        return tuple(out)


@irdl_op_definition
class ReshapeOp(_NodeOp):
    """A view: the same elements in the result type's shape."""

    name = "snn.reshape"

    def verify_node(self, in_shape):
        out = self.out_shape()
        if in_shape is not None and out is not None and int(np.prod(in_shape)) != int(np.prod(out)):
            raise _err(self, f"cannot view {_fmt(in_shape)} as {_fmt(out)}: sizes differ")
        return out


@irdl_op_definition
class ScaleOp(_NodeOp):
    """y = scale * x, elementwise."""

    name = "snn.scale"
    scale = prop_def(ParamAttr)

    def verify_node(self, in_shape):
        _check_layer_param(self, "scale", in_shape)
        return in_shape


@irdl_op_definition
class DelayOp(_NodeOp):
    """y[t] = x[t - steps] per element, zeros before the first input."""

    name = "snn.delay"
    steps = prop_def(ParamAttr)

    def verify_node(self, in_shape):
        s = attr_to_array(self.steps)
        if s.dtype.kind not in "iu" or (s < 0).any():
            raise _err(self, "`steps` must hold integers >= 0")
        _check_layer_param(self, "steps", in_shape)
        return in_shape

    def uniform_steps(self) -> int | None:
        s = attr_to_array(self.steps)
        if s.size and (s == s.reshape(-1)[0]).all():
            return int(s.reshape(-1)[0])
        return None


# --------------------------------------------------------------------------------------
# neurons
# --------------------------------------------------------------------------------------

NEURON_PARAMS = (
    "alpha_mem",
    "gain_mem",
    "bias_mem",
    "alpha_syn",
    "gain_syn",
    "v_threshold",
    "v_reset",
    "v_init",
    "i_init",
    "v_min",
)
MULTIPLIERS = ("alpha_mem", "gain_mem", "alpha_syn", "gain_syn")
STATE_VALUES = ("bias_mem", "v_threshold", "v_reset", "v_init", "i_init", "v_min")


@irdl_op_definition
class NeuronOp(_NodeOp):
    """A layer of leaky integrators, optionally with a synaptic current stage and
    a spike rule (see the module docstring for the exact update)."""

    name = "snn.neuron"
    alpha_mem = prop_def(ParamAttr)
    gain_mem = opt_prop_def(ParamAttr)
    bias_mem = opt_prop_def(ParamAttr)
    alpha_syn = opt_prop_def(ParamAttr)
    gain_syn = opt_prop_def(ParamAttr)
    v_threshold = opt_prop_def(ParamAttr)
    v_reset = opt_prop_def(ParamAttr)
    v_init = opt_prop_def(ParamAttr)
    i_init = opt_prop_def(ParamAttr)
    v_min = opt_prop_def(ParamAttr)
    reset = opt_prop_def(StringAttr)
    compare = opt_prop_def(StringAttr)
    spikes = opt_prop_def(StringAttr)
    max_spikes = opt_prop_def(IntegerAttr)
    current_order = opt_prop_def(StringAttr)
    scale = opt_prop_def(ParamAttr)
    frac_bits = opt_prop_def(IntegerAttr)
    state_bits = opt_prop_def(IntegerAttr)

    # -- semantics accessors (defaults of the module docstring) --------------------

    @property
    def spiking(self) -> bool:
        return self.v_threshold is not None

    @property
    def has_synapse_stage(self) -> bool:
        return self.alpha_syn is not None

    @property
    def quantized(self) -> bool:
        return self.state_bits is not None

    def reset_mode(self) -> str:
        return str_prop(self, "reset", "zero")

    def compare_mode(self) -> str:
        return str_prop(self, "compare", "gt")

    def spike_mode(self) -> str:
        return str_prop(self, "spikes", "binary")

    def order(self) -> str:
        return str_prop(self, "current_order", "previous")

    def spike_cap(self) -> int | None:
        """The most spikes one neuron emits per step: 1 for binary neurons,
        ``max_spikes`` (None: unbounded) for multi-spike ones, None for
        non-spiking neurons."""
        if not self.spiking:
            return None
        if self.spike_mode() == "binary":
            return 1
        return int_prop(self, "max_spikes")

    def verify_node(self, in_shape):
        shape = self.out_shape() or in_shape
        for f in NEURON_PARAMS + ("scale",):
            _check_layer_param(self, f, shape)
        for f, allowed in (
            ("reset", RESETS),
            ("compare", COMPARES),
            ("spikes", SPIKE_MODES),
            ("current_order", CURRENT_ORDERS),
        ):
            value = self.properties.get(f)
            if value is not None and (
                not isinstance(value, StringAttr) or value.data not in allowed
            ):
                raise _err(self, f"`{f}` must be one of {', '.join(allowed)}, found {value}")
        if not self.has_synapse_stage:
            for f in ("gain_syn", "i_init"):
                if self.properties.get(f) is not None:
                    raise _err(self, f"`{f}` needs a synaptic stage (`alpha_syn`)")
            if self.properties.get("current_order") is not None:
                raise _err(self, "`current_order` needs a synaptic stage (`alpha_syn`)")
        if not self.spiking:
            for f in ("v_reset", "reset", "compare", "spikes", "max_spikes", "v_min"):
                if self.properties.get(f) is not None:
                    raise _err(self, f"`{f}` needs a spiking neuron (`v_threshold`)")
        if self.properties.get("max_spikes") is not None:
            cap = int_prop(self, "max_spikes")
            if self.spike_mode() != "multi":
                raise _err(
                    self,
                    "`max_spikes` caps multi-spike neurons (`spikes = \"multi\"`); binary "
                    "neurons emit at most one spike per step already",
                )
            if cap is None or cap < 2:
                raise _err(
                    self,
                    f"`max_spikes` must be an integer >= 2, found {cap} (a cap of 1 is "
                    '`spikes = "binary"`)',
                )
        thr = param(self, "v_threshold")
        if self.spike_mode() == "multi" and thr is not None and not (thr > 0).all():
            raise _err(
                self, "multi-spike neurons need v_threshold > 0 (spike count = floor(v / thr))"
            )
        present = {f: param(self, f) for f in NEURON_PARAMS}
        if self.quantized:
            bits = int_prop(self, "state_bits")
            frac = int_prop(self, "frac_bits")
            if bits is None or not 2 <= bits <= 32:
                raise _err(self, "`state_bits` must be an integer in 2..32")
            if frac is None or not 0 <= frac <= 30:
                raise _err(self, "a quantized neuron needs `frac_bits`, an integer in 0..30")
            s = param(self, "scale")
            if s is None or s.dtype.kind != "f" or not (s > 0).all():
                raise _err(
                    self, "a quantized neuron needs `scale` (floats > 0: state units per real unit)"
                )
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            for f, a in present.items():
                if a is None:
                    continue
                if a.dtype.kind not in "iu":
                    raise _err(
                        self,
                        f"`{f}` of a quantized neuron must be an integer tensor, found {a.dtype}",
                    )
                if f in STATE_VALUES and a.size and (a.min() < lo or a.max() > hi):
                    raise _err(
                        self,
                        f"`{f}` does not fit in {bits}-bit state: found values in "
                        f"[{a.min()}, {a.max()}], the state holds [{lo}, {hi}]",
                    )
                if f in MULTIPLIERS and a.size and np.abs(a.astype(np.float64)).max() >= 2.0**31:
                    raise _err(self, f"`{f}` must fit in 32 bits")
        else:
            for f in ("scale", "frac_bits", "state_bits"):
                if self.properties.get(f) is not None:
                    raise _err(self, f"`{f}` belongs to quantized neurons (with `state_bits`) only")
            for f, a in present.items():
                if a is not None and a.dtype.kind != "f":
                    raise _err(self, f"`{f}` of a float neuron must hold floats, found {a.dtype}")
        return shape if in_shape is None else in_shape


# --------------------------------------------------------------------------------------
# fused layers
# --------------------------------------------------------------------------------------

SYNAPSE_OPS: tuple[type[Operation], ...] = ()  # filled below


@irdl_op_definition
class LayerOp(IRDLOperation):
    """A fused layer: synapses + one neuron (+ one sum-pool), the unit of a core."""

    name = "snn.layer"
    node_name = prop_def(StringAttr, prop_name="name")
    inputs = var_operand_def(ValueType)
    out = result_def(ValueType)
    body = region_def("single_block")

    traits = traits_def(HasParent(GraphOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict `:` type($out) $body"

    def yield_op(self) -> YieldOp:
        last = self.body.blocks[0].last_op
        assert isinstance(last, YieldOp)
        return last

    def neuron(self) -> NeuronOp:
        return next(op for op in self.body.blocks[0].ops if isinstance(op, NeuronOp))

    def verify_(self) -> None:
        _check_attributes(self)
        block = self.body.blocks[0]
        if len(block.args) != len(self.inputs):
            raise _err(
                self, f"the body takes {len(block.args)} arguments for {len(self.inputs)} operands"
            )
        for i, (arg, v) in enumerate(zip(block.args, self.inputs)):
            if arg.type != v.type:
                raise _err(self, f"body argument {i} has type {arg.type}, operand {i} has {v.type}")
        ops = list(block.ops)
        if not ops or not isinstance(ops[-1], YieldOp):
            raise _err(self, "the body must end with snn.yield")
        neurons = [op for op in ops if isinstance(op, NeuronOp)]
        if len(neurons) != 1:
            raise _err(self, f"a layer holds exactly one snn.neuron, found {len(neurons)}")
        neuron = neurons[0]
        pools = [op for op in ops if isinstance(op, SumPool2dOp)]
        inner = set(ops)
        args = set(block.args)
        for op in ops[:-1]:
            if isinstance(op, NeuronOp):
                continue
            if isinstance(op, SumPool2dOp):
                if op.properties.get("divisor") is not None:
                    raise _err(self, "a layer pools spikes with a sum-pool (no `divisor`)")
                if [producer_op(v) for v in op.operands] != [neuron]:
                    raise _err(self, "the pool of a layer reads the layer's neuron only")
                continue
            if not isinstance(op, DenseOp | Conv1dOp | Conv2dOp):
                raise _err(self, f"a layer holds synapses, one neuron and a pool, not {op.name}")
            for v in op.operands:
                if v not in args:
                    raise _err(op, "a layer's synapse reads the layer's arguments only")
        for v in neuron.operands:
            src = producer_op(v)
            if not (v in args or isinstance(src, DenseOp | Conv1dOp | Conv2dOp) and src in inner):
                raise _err(neuron, "a layer's neuron reads its synapses or the layer's arguments")
        if len(pools) > 1:
            raise _err(self, "a layer holds at most one pool")
        y = ops[-1]
        want = pools[0] if pools else neuron
        if len(y.operands) != 1 or producer_op(y.operands[0]) is not want:
            raise _err(
                self, "snn.yield must return the neuron's value, or the pool's when there is one"
            )
        if y.operands[0].type != self.out.type:
            raise _err(
                self,
                f"the layer's type {self.out.type} differs from the yielded {y.operands[0].type}",
            )


def producer_op(value: SSAValue) -> Operation | None:
    owner = value.owner
    return owner if isinstance(owner, Operation) else None


@irdl_op_definition
class YieldOp(IRDLOperation):
    """The value of a fused layer."""

    name = "snn.yield"
    inputs = var_operand_def(ValueType)

    traits = traits_def(IsTerminator(), HasParent(LayerOp))
    assembly_format = "$inputs `:` type($inputs) attr-dict"


SYNAPSE_OPS = (DenseOp, Conv1dOp, Conv2dOp)
WEIGHT_OPS = SYNAPSE_OPS

SNN = Dialect(
    "snn",
    [
        GraphOp,
        InputOp,
        OutputOp,
        DenseOp,
        Conv1dOp,
        Conv2dOp,
        SumPool2dOp,
        ReshapeOp,
        ScaleOp,
        DelayOp,
        NeuronOp,
        LayerOp,
        YieldOp,
    ],
    [],
)


def graph_attrs(
    dt: float, integrator: str | None, reset: str | None, source: str | None = None
) -> dict[str, Attribute]:
    props: dict[str, Attribute] = {"dt": FloatAttr(float(dt), f64)}
    if integrator is not None:
        props["integrator"] = StringAttr(integrator)
    if reset is not None:
        props["reset"] = StringAttr(reset)
    if source is not None and source != "nir":
        props["source"] = StringAttr(source)
    return props


def graph_source(graph: GraphOp) -> str:
    """The source profile `discretize` applied (``nir``: the plain reading)."""
    return graph.source.data if graph.source is not None else "nir"
