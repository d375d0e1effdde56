"""The `speck` dialect: a network as the cores of a Speck chip compute it.

The last IR level before the samna configuration: every value is integer
(int8 weights and biases, int16 thresholds), every layer sits on a numbered
core, and routing is explicit. `lower-speck` produces it from the fused `snn`
level; the emitter (:mod:`.config`) and the simulator (:mod:`.simulator`)
read it through :func:`read_chip` and never re-derive anything.

::

    builtin.module {
      speck.chip {dt = 1.000000e+00 : f64, spike_mode = "single"} {
        %input = speck.input "input" {shape = array<i64: 2, 34, 34>} : tensor<2x34x34xi32>
        %c0 = speck.core "1"(%input : tensor<2x34x34xi32>) {core = 0 : i64,
            input_shape = array<i64: 2, 34, 34>, weights = dense<...> : tensor<16x2x5x5xi8>,
            biases = dense<0> : tensor<16xi8>, stride = array<i64: 2, 2>,
            padding = array<i64: 1, 1>, threshold_high = 93 : i64,
            threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false,
            monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 1>,
            scale = 92.6 : f64, sources = ["0", "1"]} : tensor<16x16x16xi32>
        ...
        speck.output "output"(%c4 : tensor<10x1x1xi32>) {shape = array<i64: 10>}
      }
    }

``speck.chip {dt, spike_mode}``
    The chip: a single-block region of ``speck.input``, ``speck.core`` and
    ``speck.output`` ops, feed-forward (every operand is defined above its
    user). ``dt`` is the seconds per time step the network was discretized
    with (one step = one slow-clock tick, the unit in which biases leak);
    ``spike_mode`` is how a time-stepped simulation counts spikes per step
    (``single``: at most one, ``multi``: ``floor(v / threshold_high)``; see
    :mod:`.simulator`), chosen to match the source network's neurons.
``speck.input "name" {shape}``
    Events from the host for the graph Input ``name`` (its NIR ``shape``; the
    value has the chip's ``(c, h, w)`` form: a 1-D input of n is ``(n, 1, 1)``).
``speck.core "name"(events...) {...}``
    One core: conv -> integrate-and-fire -> routing. Its operands are the
    events it receives (summed: a merge); its result is its neurons' spikes
    ``(f, h, w)``, before pooling. Properties, as samna names them: ``core``
    (0..8), ``input_shape`` ``(c, h, w)``, ``weights`` int8 ``[f, c, ky, kx]``
    (PyTorch's order; the emitter swaps the last two), ``biases`` int8
    ``[f]``, ``stride`` and ``padding`` ``(x, y)``, ``threshold_high`` and
    ``threshold_low`` (int16 values), ``return_to_zero`` (else subtract),
    ``leak_enable`` (add the biases every step), ``monitor_enable`` (spikes go
    to the host), ``destinations`` (core numbers, at most 2) with ``pooling``
    (sum-pooling on the way to each, 1, 2 or 4), optional
    ``neurons_initial_value`` int16 ``[f, h, w]``; for the report ``scale``
    (integer units per float unit of the membrane) and ``sources`` (the node
    names the core was built from).
``speck.output "name"(spikes) {shape, pooling?}``
    Monitored spikes of one core, sum-pooled by ``pooling`` on the host
    (monitored events are not pooled on chip) and read as the graph Output
    ``name`` of NIR shape ``shape``.

The verifiers check every rule that can be seen in the IR: each core against
the chip's limits (:func:`~.rules.layer_violations`), distinct core numbers,
and routing: a core lists a destination exactly when that core reads its
result, and what it sends (pooled) has the destination's ``input_shape``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
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

from .layer import Destination, SpeckLayer
from .spec import SPECK

SPIKE_MODES = ("single", "multi")


def events_type(shape) -> TensorType:
    """The type of a value carrying events (spike counts) of ``shape``."""
    return TensorType(i32, [int(d) for d in shape])


def _ints(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def _int_array(values) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def _shape(value) -> tuple[int, ...]:
    t = value.type
    return tuple(t.get_shape()) if isinstance(t, TensorType) else ()


def _bool(value: bool) -> BoolAttr:
    return IntegerAttr.from_bool(bool(value))


def _label(op: Operation) -> str:
    name = op.properties.get("name")
    return f'{op.name} "{name.data}"' if isinstance(name, StringAttr) else op.name


def _err(op: Operation, message: str) -> VerifyException:
    return VerifyException(f"{_label(op)}: {message}")


# --------------------------------------------------------------------------------------
# ops
# --------------------------------------------------------------------------------------


@irdl_op_definition
class ChipOp(IRDLOperation):
    """A Speck chip: inputs, cores and outputs (see the module docstring)."""

    name = "speck.chip"
    dt = prop_def(FloatAttr)
    spike_mode = prop_def(StringAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict-with-keyword $body"

    @property
    def block(self) -> Block:
        return self.body.blocks[0]

    def cores(self) -> list[CoreOp]:
        return [op for op in self.block.ops if isinstance(op, CoreOp)]

    def verify_(self) -> None:
        if self.spike_mode.data not in SPIKE_MODES:
            raise _err(self, f"spike_mode must be one of {', '.join(SPIKE_MODES)}, found "
                       f"{self.spike_mode.data!r}")  # fmt: skip
        dt = float(self.dt.value.data)
        if not np.isfinite(dt) or dt <= 0:
            raise _err(self, f"dt must be finite and > 0, found {dt}")
        seen: set[Operation] = set()
        by_core: dict[int, CoreOp] = {}
        names: set[str] = set()
        for op in self.block.ops:
            if not isinstance(op, InputOp | CoreOp | OutputOp):
                raise _err(
                    self, f"may hold speck.input, speck.core and speck.output only, found {op.name}"
                )
            for v in op.operands:
                if v.owner not in seen:
                    raise _err(op, "reads a value defined below it or outside the chip: routing is "
                               "feed-forward, every source comes before its destinations")  # fmt: skip
            seen.add(op)
            n = op.properties["name"].data  # type: ignore[union-attr]
            if n in names:
                raise _err(op, f'name "{n}" is used twice')
            names.add(n)
            if isinstance(op, CoreOp):
                k = op.core_index
                if k in by_core:
                    raise _err(op, f"core {k} is already used by {_label(by_core[k])}")
                by_core[k] = op
        # routing: destinations <-> operands
        for op in self.block.ops:
            if not isinstance(op, CoreOp):
                continue
            for d, p in zip(op.destination_cores, op.pooling_factors):
                target = by_core.get(d)
                if target is None:
                    raise _err(op, f"destination core {d} holds no layer")
                if op.out not in target.operands:
                    raise _err(op, f"lists core {d} ({_label(target)}) as a destination, but that "
                               "core does not read this core's spikes")  # fmt: skip
                f, h, w = _shape(op.out)
                sent = (f, h // p, w // p)
                if sent != target.input_dims:
                    raise _err(op, f"sends {list(sent)} (its neurons {[f, h, w]} pooled by {p}) "
                               f"to core {d}, whose input_shape is {list(target.input_dims)}")  # fmt: skip
            for v in op.operands:
                src = v.owner
                if isinstance(src, CoreOp):
                    if op.core_index not in src.destination_cores:
                        raise _err(op, f"reads the spikes of {_label(src)}, which does not list "
                                   f"core {op.core_index} among its destinations")  # fmt: skip
                elif isinstance(src, InputOp):
                    if _shape(v) != op.input_dims:
                        raise _err(op, f"reads input events of shape {list(_shape(v))}; its "
                                   f"input_shape is {list(op.input_dims)}")  # fmt: skip
            if len(set(op.operands)) != len(op.operands):
                raise _err(op, "reads the same events twice")


@irdl_op_definition
class InputOp(IRDLOperation):
    """Events from the host for one graph Input."""

    name = "speck.input"
    input_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(DenseArrayBase)
    out = result_def(TensorType)

    traits = traits_def(HasParent(ChipOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name attr-dict `:` type($out)"

    def verify_(self) -> None:
        shape = _ints(self.shape)
        if any(d < 1 for d in shape):
            raise _err(self, f"shape must be positive, found {list(shape)}")
        chip = _shape(self.out)
        if len(chip) != 3 or int(np.prod(chip)) != int(np.prod(shape)):
            raise _err(self, f"the events must be (c, h, w) with the input's {int(np.prod(shape))} "
                       f"elements, found {list(chip)}")  # fmt: skip


@irdl_op_definition
class CoreOp(IRDLOperation):
    """One core: conv -> integrate-and-fire neurons -> destinations."""

    name = "speck.core"
    layer_name = prop_def(StringAttr, prop_name="name")
    core = prop_def(IntegerAttr)
    input_shape = prop_def(DenseArrayBase)
    weights = prop_def(DenseIntOrFPElementsAttr)
    biases = prop_def(DenseIntOrFPElementsAttr)
    stride = prop_def(DenseArrayBase)
    padding = prop_def(DenseArrayBase)
    threshold_high = prop_def(IntegerAttr)
    threshold_low = prop_def(IntegerAttr)
    return_to_zero = prop_def(IntegerAttr)
    leak_enable = prop_def(IntegerAttr)
    monitor_enable = prop_def(IntegerAttr)
    destinations = prop_def(DenseArrayBase)
    pooling = prop_def(DenseArrayBase)
    neurons_initial_value = opt_prop_def(DenseIntOrFPElementsAttr)
    scale = opt_prop_def(FloatAttr)
    sources = opt_prop_def(ArrayAttr)
    inputs = var_operand_def(TensorType)
    out = result_def(TensorType)

    traits = traits_def(HasParent(ChipOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict `:` type($out)"

    @property
    def core_index(self) -> int:
        return int(self.core.value.data)

    @property
    def input_dims(self) -> tuple[int, ...]:
        return _ints(self.input_shape)

    @property
    def destination_cores(self) -> tuple[int, ...]:
        return _ints(self.destinations)

    @property
    def pooling_factors(self) -> tuple[int, ...]:
        return _ints(self.pooling)

    def layer(self, layer_of_core: dict[int, int] | None = None) -> SpeckLayer:
        """This core as a :class:`SpeckLayer`; destinations are layer indices
        through ``layer_of_core`` (core numbers when it is None)."""
        m = layer_of_core or {}
        init = self.neurons_initial_value
        return SpeckLayer(
            name=self.layer_name.data,
            input_shape=self.input_dims,  # type: ignore[arg-type]
            weights=attr_to_array(self.weights),
            biases=attr_to_array(self.biases),
            stride=self.stride_xy,
            padding=self.padding_xy,
            threshold_high=int(self.threshold_high.value.data),
            threshold_low=int(self.threshold_low.value.data),
            return_to_zero=bool(self.return_to_zero.value.data),
            leak_enable=bool(self.leak_enable.value.data),
            destinations=tuple(
                Destination(m.get(d, d), p)
                for d, p in zip(self.destination_cores, self.pooling_factors)
            ),
            neurons_initial_value=None if init is None else attr_to_array(init),
            scale=None if self.scale is None else float(self.scale.value.data),
            sources=() if self.sources is None else tuple(s.data for s in self.sources.data),  # type: ignore[union-attr]
        )

    @property
    def stride_xy(self) -> tuple[int, int]:
        s = _ints(self.stride)
        return (s + (1, 1))[:2] if len(s) != 2 else s  # type: ignore[return-value]

    @property
    def padding_xy(self) -> tuple[int, int]:
        p = _ints(self.padding)
        return (p + (0, 0))[:2] if len(p) != 2 else p  # type: ignore[return-value]

    def verify_(self) -> None:
        from .rules import layer_violations

        for label, attr in (("stride", self.stride), ("padding", self.padding)):
            if len(_ints(attr)) != 2:
                raise _err(self, f"`{label}` holds (x, y): 2 integers, found {list(_ints(attr))}")
        if len(self.input_dims) != 3:
            raise _err(self, f"`input_shape` is (c, h, w), found {list(self.input_dims)}")
        if len(self.destination_cores) != len(self.pooling_factors):
            raise _err(self, f"{len(self.destination_cores)} destinations but "
                       f"{len(self.pooling_factors)} pooling factors: one per destination")  # fmt: skip
        k = self.core_index
        if not 0 <= k < SPECK.num_cores:
            raise _err(self, f"core {k} does not exist: Speck has cores 0..{SPECK.num_cores - 1}")
        for label in ("weights", "biases", "neurons_initial_value"):
            attr = self.properties.get(label)
            if attr is not None and attr_to_array(attr).dtype.kind not in "iu":  # type: ignore[arg-type]
                raise _err(self, f"`{label}` must hold integers, found {attr.get_element_type()}")  # type: ignore[union-attr]
        for label in ("return_to_zero", "leak_enable", "monitor_enable"):
            attr = self.properties[label]
            if not isinstance(attr, IntegerAttr) or attr.type.width.data != 1:  # type: ignore[attr-defined]
                raise _err(self, f"`{label}` must be true or false")
        if k in self.destination_cores:
            raise _err(self, "a core cannot send its spikes to itself")
        layer = self.layer()
        errors = layer_violations(layer, SPECK)
        if errors:
            e = errors[0]
            detail = "; ".join(x for x in (f"expected {e.expected}" if e.expected else "",
                                           f"found {e.found}" if e.found else "") if x)  # fmt: skip
            raise _err(self, e.message + (f" ({detail})" if detail else ""))
        if _shape(self.out) != layer.output_shape:
            raise _err(self, f"the result has shape {list(_shape(self.out))}; the core computes "
                       f"{list(layer.output_shape)} (features, height, width)")  # fmt: skip


@irdl_op_definition
class OutputOp(IRDLOperation):
    """A graph Output: a core's monitored spikes, pooled on the host."""

    name = "speck.output"
    output_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(DenseArrayBase)
    pooling = opt_prop_def(IntegerAttr)
    inputs = var_operand_def(TensorType)

    traits = traits_def(HasParent(ChipOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict"

    @property
    def pooling_factor(self) -> int:
        return 1 if self.pooling is None else int(self.pooling.value.data)

    def verify_(self) -> None:
        if len(self.inputs) != 1 or not isinstance(self.inputs[0].owner, CoreOp):
            raise _err(self, "reads the spikes of exactly one speck.core")
        core = self.inputs[0].owner
        if not core.monitor_enable.value.data:
            raise _err(self, f"reads {_label(core)}, whose monitor_enable is off")
        p = self.pooling_factor
        if p < 1:
            raise _err(self, f"pooling must be >= 1, found {p}")
        f, h, w = _shape(self.inputs[0])
        n = f * (h // p) * (w // p)
        shape = _ints(self.shape)
        if int(np.prod(shape)) != n:
            raise _err(self, f"shape {list(shape)} does not hold the {n} pooled outputs of "
                       f"{_label(core)} ({[f, h, w]} pooled by {p})")  # fmt: skip


SPECK_DIALECT = Dialect("speck", [ChipOp, InputOp, CoreOp, OutputOp], [])


# --------------------------------------------------------------------------------------
# the network as Python objects, to and from the dialect
# --------------------------------------------------------------------------------------


@dataclass
class ChipInput:
    """A graph Input: its NIR ``shape``, the chip's ``(c, h, w)`` events and
    the layers that receive them."""

    shape: tuple[int, ...]
    events: tuple[int, int, int]
    layers: tuple[int, ...]


@dataclass
class ChipOutput:
    """A graph Output: the ``layer`` whose spikes it reads, pooled by
    ``pooling``, as NIR ``shape``."""

    layer: int
    shape: tuple[int, ...]
    pooling: int = 1


@dataclass
class ChipNetwork:
    """What a ``speck.chip`` holds: layers (destinations are layer indices), the
    core of each, the graph's inputs and outputs, ``dt`` and the spike mode."""

    layers: list[SpeckLayer]
    cores: tuple[int, ...]
    inputs: dict[str, ChipInput]
    outputs: dict[str, ChipOutput]
    dt: float = 1.0
    spike_mode: str = "single"
    monitor: tuple[int, ...] = field(default=())

    def monitored(self) -> tuple[int, ...]:
        """Layers whose spikes go to the host: those Outputs read, those without
        destinations (as samna's emitter does) and any listed in ``monitor``."""
        ends = {i for i, layer in enumerate(self.layers) if not layer.destinations}
        return tuple(sorted(set(self.monitor) | ends | {o.layer for o in self.outputs.values()}))


def build_chip(net: ChipNetwork) -> ModuleOp:
    """The ``speck`` module of a network (layers in routing order)."""
    block = Block()
    values: dict[tuple[str, object], object] = {}
    monitored = set(net.monitored())
    receives: dict[int, list] = {i: [] for i in range(len(net.layers))}
    for name, inp in net.inputs.items():
        op = InputOp.create(
            properties={"name": StringAttr(name), "shape": _int_array(inp.shape)},
            result_types=[events_type(inp.events)],
        )
        op.out.name_hint = _hint(name)
        block.add_op(op)
        for i in inp.layers:
            receives[i].append(op.out)
    for i, layer in enumerate(net.layers):
        props = {
            "name": StringAttr(layer.name),
            "core": IntegerAttr(int(net.cores[i]), i64),
            "input_shape": _int_array(layer.input_shape),
            "weights": array_to_attr(np.asarray(layer.weights).astype(np.int8)),
            "biases": array_to_attr(np.asarray(layer.biases).astype(np.int8)),
            "stride": _int_array(layer.stride),
            "padding": _int_array(layer.padding),
            "threshold_high": IntegerAttr(layer.threshold_high, i64),
            "threshold_low": IntegerAttr(layer.threshold_low, i64),
            "return_to_zero": _bool(layer.return_to_zero),
            "leak_enable": _bool(layer.leak_enable),
            "monitor_enable": _bool(i in monitored),
            "destinations": _int_array([net.cores[d.layer] for d in layer.destinations]),
            "pooling": _int_array([d.pooling for d in layer.destinations]),
        }
        if layer.neurons_initial_value is not None:
            props["neurons_initial_value"] = array_to_attr(
                np.asarray(layer.neurons_initial_value).astype(np.int16)
            )
        if layer.scale is not None:
            props["scale"] = FloatAttr(float(layer.scale), f64)
        if layer.sources:
            props["sources"] = ArrayAttr([StringAttr(s) for s in layer.sources])
        op = CoreOp.create(
            operands=receives[i],
            properties=props,
            result_types=[events_type(layer.output_shape)],
        )
        op.out.name_hint = f"c{net.cores[i]}"
        block.add_op(op)
        for d in layer.destinations:
            receives[d.layer].append(op.out)
        values[("layer", i)] = op.out
    for name, out in net.outputs.items():
        props = {"name": StringAttr(name), "shape": _int_array(out.shape)}
        if out.pooling != 1:
            props["pooling"] = IntegerAttr(out.pooling, i64)
        block.add_op(OutputOp.create(operands=[values[("layer", out.layer)]], properties=props))
    chip = ChipOp.create(
        properties={"dt": FloatAttr(float(net.dt), f64), "spike_mode": StringAttr(net.spike_mode)},
        regions=[Region(block)],
    )
    return ModuleOp([chip])


def chip_op(module: ModuleOp) -> ChipOp:
    from nirc.diagnostics import NircError

    chips = [op for op in module.ops if isinstance(op, ChipOp)]
    if len(chips) != 1:
        raise NircError(
            "expected a module with one speck.chip",
            found=f"{len(chips)} speck.chip op(s)",
            hint="compile with `nirc compile --target speck` (or the `lower-speck` pass)",
        )
    return chips[0]


def is_speck_module(module) -> bool:
    return isinstance(module, ModuleOp) and any(isinstance(op, ChipOp) for op in module.ops)


def read_chip(module: ModuleOp) -> ChipNetwork:
    """The network a ``speck`` module holds (the inverse of :func:`build_chip`)."""
    chip = chip_op(module)
    cores = chip.cores()
    layer_of_core = {c.core_index: i for i, c in enumerate(cores)}
    index_of = {c: i for i, c in enumerate(cores)}
    layers = [c.layer(layer_of_core) for c in cores]
    inputs: dict[str, ChipInput] = {}
    outputs: dict[str, ChipOutput] = {}
    for op in chip.block.ops:
        if isinstance(op, InputOp):
            users = sorted({index_of[u.operation] for u in op.out.uses if u.operation in index_of})
            inputs[op.input_name.data] = ChipInput(
                _ints(op.shape),
                _shape(op.out),
                tuple(users),  # type: ignore[arg-type]
            )
        elif isinstance(op, OutputOp):
            outputs[op.output_name.data] = ChipOutput(
                index_of[op.inputs[0].owner], _ints(op.shape), op.pooling_factor
            )
    monitor = tuple(i for i, c in enumerate(cores) if c.monitor_enable.value.data)
    return ChipNetwork(
        layers=layers,
        cores=tuple(c.core_index for c in cores),
        inputs=inputs,
        outputs=outputs,
        dt=float(chip.dt.value.data),
        spike_mode=chip.spike_mode.data,
        monitor=monitor,
    )


def _hint(name: str) -> str | None:
    import re

    return (
        name
        if re.fullmatch(r"[A-Za-z_][\w.$-]*", name) and not re.fullmatch(r".*_\d+", name)
        else None
    )


__all__ = [
    "SPECK_DIALECT",
    "ChipInput",
    "ChipNetwork",
    "ChipOp",
    "ChipOutput",
    "CoreOp",
    "InputOp",
    "OutputOp",
    "build_chip",
    "chip_op",
    "events_type",
    "is_speck_module",
    "read_chip",
]
