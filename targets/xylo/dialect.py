"""The `xylo` dialect: a network as one Xylo chip runs it.

The last IR level before Rockpool's specification: one ``xylo.network`` op
holding the integer network in exactly the fields of the specification
(:class:`~.specification.XyloSpecification`), plus how the graph's ports and
layers sit on it::

    builtin.module {
      xylo.network {variant = "audio2", dt = 1.000000e-04 : f64,
          weights_in = dense<...> : tensor<12x40x2xi8>, weights_rec = dense<...> : tensor<40x40x2xi8>,
          weights_out = dense<...> : tensor<40x7xi8>, weight_shift_in = 3 : i64, ...,
          dash_mem = dense<3> : tensor<40xi8>, ..., threshold = dense<...> : tensor<40xi16>, ...,
          input_names = ["input"], input_shapes = [array<i64: 12>],
          output_names = ["output"], output_shapes = [array<i64: 7>],
          hidden_layers = ["lif1.lif"], hidden_sizes = array<i64: 40>,
          output_layers = ["lif2"]}
    }

- Weights are int8 (``weights_in`` (Nin, Nhid, 2), ``weights_rec`` (Nhid,
  Nhid, 2): the last axis is the hidden neuron's synapse 1 or 2;
  ``weights_out`` (Nhid, Nout)), each matrix with its left shift
  ``weight_shift_*``; dashes are i8 (0..15), thresholds and biases i16;
  ``aliases`` (optional) is an i32 table (Nhid, K), -1 padded.
- Input channels are the graph's Inputs flattened and concatenated in order
  (``input_names`` / ``input_shapes``); output neurons likewise for the
  Outputs; hidden layers occupy consecutive blocks of the hidden population
  (``hidden_layers`` / ``hidden_sizes``, for reports and probes).

The verifier checks every rule of the variant (sizes, number formats, dash
range, synapses per neuron, fan-out, input/output windows, one alias per
neuron) through :meth:`XyloSpecification.validate`, and that the ports and
layers cover the populations exactly. The emitter (:mod:`.target`) and the
simulator read the network with :func:`read_network`; nothing is re-derived.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    f64,
    i64,
)
from xdsl.ir import Dialect
from xdsl.irdl import IRDLOperation, ParsePropInAttrDict, irdl_op_definition, opt_prop_def, prop_def
from xdsl.utils.exceptions import VerifyException

from nirc.diagnostics import NircError
from nirc.dialects.nir import array_to_attr, attr_to_array

from .spec import XyloSpec, get_variant
from .specification import ARRAY_DTYPES, KEYS, XyloSpecification

_INT_FIELDS = ("weight_shift_in", "weight_shift_rec", "weight_shift_out")
_STORED = {  # property dtype in the IR (dashes as i8: xDSL prints signless types best)
    **ARRAY_DTYPES,
    **{k: np.int8 for k in ("dash_mem", "dash_mem_out", "dash_syn", "dash_syn_2", "dash_syn_out")},
}


@irdl_op_definition
class NetworkOp(IRDLOperation):
    """One Xylo chip's network (see the module docstring)."""

    name = "xylo.network"
    variant = prop_def(StringAttr)
    dt = prop_def(FloatAttr)
    weights_in = prop_def(DenseIntOrFPElementsAttr)
    weights_rec = prop_def(DenseIntOrFPElementsAttr)
    weights_out = prop_def(DenseIntOrFPElementsAttr)
    weight_shift_in = prop_def(IntegerAttr)
    weight_shift_rec = prop_def(IntegerAttr)
    weight_shift_out = prop_def(IntegerAttr)
    dash_mem = prop_def(DenseIntOrFPElementsAttr)
    dash_mem_out = prop_def(DenseIntOrFPElementsAttr)
    dash_syn = prop_def(DenseIntOrFPElementsAttr)
    dash_syn_2 = prop_def(DenseIntOrFPElementsAttr)
    dash_syn_out = prop_def(DenseIntOrFPElementsAttr)
    threshold = prop_def(DenseIntOrFPElementsAttr)
    threshold_out = prop_def(DenseIntOrFPElementsAttr)
    bias = prop_def(DenseIntOrFPElementsAttr)
    bias_out = prop_def(DenseIntOrFPElementsAttr)
    aliases = opt_prop_def(DenseIntOrFPElementsAttr)
    input_names = prop_def(ArrayAttr)
    input_shapes = prop_def(ArrayAttr)
    output_names = prop_def(ArrayAttr)
    output_shapes = prop_def(ArrayAttr)
    hidden_layers = prop_def(ArrayAttr)
    hidden_sizes = prop_def(DenseArrayBase)
    output_layers = prop_def(ArrayAttr)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict"

    def spec(self) -> XyloSpec:
        return get_variant(self.variant.data)

    def specification(self) -> XyloSpecification:
        d = {k: attr_to_array(getattr(self, k)) for k in _STORED}
        for k in _INT_FIELDS:
            d[k] = int(getattr(self, k).value.data)
        d["dt"] = float(self.dt.value.data)
        d["aliases"] = None if self.aliases is None else attr_to_array(self.aliases)
        return XyloSpecification(**d)

    def verify_(self) -> None:
        try:
            spec = self.spec()
            sp = self.specification()
            sp.validate(spec)
        except NircError as e:
            raise VerifyException(f"xylo.network: {e.render()}") from None
        for what, names, shapes, total in (
            ("inputs", self.input_names, self.input_shapes, sp.n_in),
            ("outputs", self.output_names, self.output_shapes, sp.n_out),
        ):
            if len(names.data) != len(shapes.data):
                raise VerifyException(f"xylo.network: {len(names.data)} {what} names but "
                                      f"{len(shapes.data)} shapes")  # fmt: skip
            n = sum(int(np.prod(_ints(s))) for s in shapes.data)
            if n != total:
                raise VerifyException(f"xylo.network: the {what} cover {n} channels/neurons, the "
                                      f"network has {total}")  # fmt: skip
        sizes = _ints(self.hidden_sizes)
        if len(sizes) != len(self.hidden_layers.data) or sum(sizes) != sp.n_hidden:
            raise VerifyException(
                f"xylo.network: hidden_layers/hidden_sizes ({sum(sizes)} neurons in "
                f"{len(self.hidden_layers.data)} layers) must cover the {sp.n_hidden} hidden neurons"
            )


XYLO_DIALECT = Dialect("xylo", [NetworkOp], [])


def _ints(attr) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def _names(attr: ArrayAttr) -> list[str]:
    return [a.data for a in attr.data]


@dataclass
class XyloNetwork:
    """What a `xylo` module holds, as Python objects."""

    variant: str
    specification: XyloSpecification
    inputs: list[tuple[str, tuple[int, ...]]]
    outputs: list[tuple[str, tuple[int, ...]]]
    hidden_layers: list[tuple[str, int]]
    output_layers: list[str]

    @property
    def dt(self) -> float:
        return self.specification.dt


def build_network(
    sp: XyloSpecification,
    variant: str,
    inputs: list[tuple[str, tuple[int, ...]]],
    outputs: list[tuple[str, tuple[int, ...]]],
    hidden_layers: list[tuple[str, int]],
    output_layers: list[str],
) -> ModuleOp:
    """A `xylo` module holding ``sp`` (verified)."""
    props = {k: array_to_attr(np.asarray(getattr(sp, k)).astype(v)) for k, v in _STORED.items()}
    for k in _INT_FIELDS:
        props[k] = IntegerAttr(int(getattr(sp, k)), i64)
    props["dt"] = FloatAttr(float(sp.dt), f64)
    props["variant"] = StringAttr(variant)
    if sp.aliases is not None and any(sp.aliases):
        props["aliases"] = array_to_attr(sp._npz_members()["aliases"])
    props["input_names"] = ArrayAttr([StringAttr(n) for n, _ in inputs])
    props["input_shapes"] = ArrayAttr([DenseArrayBase.from_list(i64, list(s)) for _, s in inputs])
    props["output_names"] = ArrayAttr([StringAttr(n) for n, _ in outputs])
    props["output_shapes"] = ArrayAttr([DenseArrayBase.from_list(i64, list(s)) for _, s in outputs])
    props["hidden_layers"] = ArrayAttr([StringAttr(n) for n, _ in hidden_layers])
    props["hidden_sizes"] = DenseArrayBase.from_list(i64, [n for _, n in hidden_layers])
    props["output_layers"] = ArrayAttr([StringAttr(n) for n in output_layers])
    op = NetworkOp.create(properties=props)
    module = ModuleOp([op])
    module.verify()
    return module


def network_op(module) -> NetworkOp:
    ops = [op for op in module.ops if isinstance(op, NetworkOp)]
    if len(ops) != 1:
        raise NircError("not a `xylo` module", expected="one xylo.network op",
                        found=f"{len(ops)} xylo.network ops")  # fmt: skip
    return ops[0]


def is_xylo_module(module) -> bool:
    return isinstance(module, ModuleOp) and any(isinstance(op, NetworkOp) for op in module.ops)


def read_network(module) -> XyloNetwork:
    """The network a `xylo` module holds (the inverse of :func:`build_network`)."""
    op = network_op(module)
    return XyloNetwork(
        variant=op.variant.data,
        specification=op.specification(),
        inputs=list(zip(_names(op.input_names), [_ints(s) for s in op.input_shapes.data])),
        outputs=list(zip(_names(op.output_names), [_ints(s) for s in op.output_shapes.data])),
        hidden_layers=list(zip(_names(op.hidden_layers), _ints(op.hidden_sizes))),
        output_layers=_names(op.output_layers),
    )


__all__ = ["KEYS", "XYLO_DIALECT", "NetworkOp", "XyloNetwork", "build_network",
           "is_xylo_module", "network_op", "read_network"]  # fmt: skip
