"""The `nir` dialect: one op per NIR primitive, faithful to the file.

Structure
---------
A module holds one top-level ``nir.graph``; a graph op holds a *graph region*
(one block, no terminator). SSA values are edges: an op's operands are the
edges into it, in edge order, and are summed (fan-in). Values may be used
before they are defined, so recurrent cycles are ordinary IR::

    builtin.module {
      nir.graph attributes {metadata = {dt = dense<1.000000e-04> : tensor<f64>}} {
        %input = nir.input "input" {shape = dense<12> : tensor<1xi64>} : tensor<12xf32>
        %fc1 = nir.affine "fc1"(%input : tensor<12xf32>) {weight = dense<...> : tensor<38x12xf32>, bias = dense<...> : tensor<38xf32>} : tensor<38xf32>
        %lif = nir.cuba_lif "lif1.lif"(%fc1, %rec : tensor<38xf32>, tensor<38xf32>) {tau_syn = ..., ...} : tensor<38xf32>
        %rec = nir.affine "lif1.w_rec"(%lif : tensor<38xf32>) {...} : tensor<38xf32>
        nir.output "output"(%lif : tensor<38xf32>) {shape = dense<38> : tensor<1xi64>}
      }
    }

Conventions
-----------
- Every node op has a ``name`` property: the NIR node name, verbatim (it may
  contain dots). Block order is the file's node order.
- NIR fields are properties with NIR's field names. Arrays keep the file's
  element type and rank (``tensor<38xf64>``, ``tensor<i64>`` for a scalar) as
  ``DenseIntOrFPElementsAttr`` built from raw bytes; Conv ``padding`` may be a
  string (``"same"``/``"valid"``). Node metadata is the optional ``metadata``
  property (a dictionary of strings, dense arrays and nested dictionaries).
- Results are ``tensor<...xf32>`` once shapes are known, ``tensor<*xf32>``
  before ``nir-infer-shapes``.
- ``nir.input`` / ``nir.output`` keep the *declared* ``shape`` from the file
  verbatim (files are imperfect: see SEMANTICS.md); the value's type is the
  shape the graph actually computes. ``nir-infer-shapes`` reconciles the two
  (a repair, with a warning).
- A nested NIR graph is a ``nir.graph "name"`` op inside its parent's region.
  It has one result per inner ``nir.output`` op, in the block order of those
  ops. The edges into it are the operands of its inner ``nir.input`` ops (ops
  of a nested graph may use values of the enclosing region only there).
  Spelling on export: an edge from/to a nested graph is written as the
  subgraph's name when it has a single Output/Input, ``sub.port`` otherwise.
- Edge order. A graph's edges, in *canonical* order, are: for each op in block
  order, for each operand in order, the edge (operand's source, op) -- where a
  nested graph op contributes the operands of its inner ``nir.input`` ops, in
  their block order. When the file's edge order differs (it decides which
  edges are feedback edges), the graph op carries ``edge_order``, an i64
  tensor with ``file_edges[k] == canonical_edges[edge_order[k]]``; it is absent
  when the orders agree. Passes that change edges keep it right through
  :meth:`GraphOp.edge_slots_in_file_order` / :meth:`GraphOp.set_edge_order`.
- ``nir.graph`` properties: ``name`` (absent at top level), ``metadata`` (the
  graph's metadata), ``node_metadata`` (a nested graph node's own metadata),
  ``edge_order``, ``edge_spelling`` (the file's exact edge names, kept only
  when they differ from the canonical spelling above).

Custom syntax (``assembly_format``)::

    %r = nir.<op> "name"(%a, %b : type(%a), type(%b)) {field = ..., ...} : result-type
    nir.output "name"(%v : type(%v)) {shape = ...}
    %o1, %o2 = nir.graph "sub" -> tensor<4xf32>, tensor<2xf32> attributes {...} { ... }

Text round trip is bit exact: :func:`_print_dense_exactly` replaces xDSL's
dense printer, which misprints some floats (NaN payloads, mixed-sign zero
splats, integral f32 values >= 1e5 that it writes as integer hex literals the
parser then reads as integers) and unpacks every element to Python objects
before deciding to print hex.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
    UnrankedTensorType,
    f16,
    f32,
    f64,
    i1,
)
from xdsl.ir import Attribute, Block, Dialect, Operation
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
    var_result_def,
)
from xdsl.irdl.declarative_assembly_format import (
    AttributeVariable,
    CustomDirective,
    ParsingState,
    PrintingState,
    irdl_custom_directive,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, NoTerminator
from xdsl.utils.exceptions import VerifyException

from nirc.diagnostics import NircError
from nirc.graph import NODE_FIELDS, TIME_CONSTANT_FIELDS, Node

# --------------------------------------------------------------------------------------
# numpy <-> attribute codec (raw bytes, never Python lists)
# --------------------------------------------------------------------------------------

_ELEMENT_BY_DTYPE: dict[np.dtype, Attribute] = {
    np.dtype(np.float16): f16,
    np.dtype(np.float32): f32,
    np.dtype(np.float64): f64,
    np.dtype(np.int8): IntegerType(8),
    np.dtype(np.int16): IntegerType(16),
    np.dtype(np.int32): IntegerType(32),
    np.dtype(np.int64): IntegerType(64),
    np.dtype(np.uint8): IntegerType(8, Signedness.UNSIGNED),
    np.dtype(np.uint16): IntegerType(16, Signedness.UNSIGNED),
    np.dtype(np.uint32): IntegerType(32, Signedness.UNSIGNED),
    np.dtype(np.uint64): IntegerType(64, Signedness.UNSIGNED),
    np.dtype(np.bool_): i1,
}
_DTYPE_BY_ELEMENT: dict[Attribute, np.dtype] = {v: k for k, v in _ELEMENT_BY_DTYPE.items()}

ValueType = TensorType | UnrankedTensorType


def array_to_attr(value: Any, where: str = "") -> DenseIntOrFPElementsAttr:
    """A numpy array (any rank, numeric or bool dtype) as a dense attribute, from its
    raw bytes. Big-endian arrays are stored in native byte order."""
    a = np.asarray(value)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("="))
    element = _ELEMENT_BY_DTYPE.get(a.dtype)
    if element is None:
        raise NircError(
            "unsupported array element type",
            where=where or None,
            expected="float16/32/64, (u)int8..64 or bool",
            found=str(a.dtype),
        )
    if element == i1:  # xDSL's canonical i1 `true` is 0xff
        data = (a.astype(np.uint8) * np.uint8(255)).tobytes()
    else:
        data = a.tobytes()  # C order whatever the memory layout
    return DenseIntOrFPElementsAttr(TensorType(element, a.shape), BytesAttr(data))


def attr_to_array(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """The inverse of :func:`array_to_attr`: a read-only view of the bytes (copy it
    before editing)."""
    element = attr.get_element_type()
    shape = tuple(attr.get_shape())
    if element == i1:
        return (np.frombuffer(attr.data.data, np.uint8) != 0).reshape(shape)
    dtype = _DTYPE_BY_ELEMENT.get(element)
    if dtype is None:
        raise NircError("unsupported element type in a nir attribute", found=str(element))
    data = attr.data.data
    want = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if len(data) != want:  # a hex blob edited by hand
        raise NircError(
            "a dense attribute's bytes do not fill its type",
            expected=f"{want} bytes for tensor<{''.join(f'{d}x' for d in shape)}{element}>",
            found=f"{len(data)} bytes",
        )
    return np.frombuffer(data, dtype).reshape(shape)


def param_to_attr(value: Any, where: str = "") -> Attribute:
    """A NIR field value (array or string) as an attribute."""
    if isinstance(value, str):
        return StringAttr(value)
    return array_to_attr(value, where)


def attr_to_param(attr: Attribute) -> Any:
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DenseIntOrFPElementsAttr):
        return attr_to_array(attr)
    raise NircError("unsupported attribute for a NIR field", found=str(attr))


def metadata_to_attr(metadata: dict[str, Any], where: str = "metadata") -> DictionaryAttr:
    """Metadata (strings, arrays, nested dicts) as a DictionaryAttr. Arrays of
    strings become an ArrayAttr of StringAttr (flattened)."""
    out: dict[str, Attribute] = {}
    for key, value in metadata.items():
        if isinstance(value, dict):
            out[key] = metadata_to_attr(value, f"{where}/{key}")
        elif isinstance(value, str):
            out[key] = StringAttr(value)
        elif isinstance(value, bytes):
            out[key] = StringAttr(value.decode("utf-8", "surrogateescape"))
        else:
            a = np.asarray(value)
            if a.dtype.kind in "USO":
                items = [v.decode() if isinstance(v, bytes) else str(v) for v in a.reshape(-1)]
                out[key] = ArrayAttr([StringAttr(s) for s in items])
            else:
                out[key] = array_to_attr(a, f"{where}/{key}")
    return DictionaryAttr(out)


def attr_to_metadata(attr: DictionaryAttr | None) -> dict[str, Any]:
    if attr is None:
        return {}
    out: dict[str, Any] = {}
    for key, value in attr.data.items():
        if isinstance(value, DictionaryAttr):
            out[key] = attr_to_metadata(value)
        elif isinstance(value, StringAttr):
            out[key] = value.data
        elif isinstance(value, DenseIntOrFPElementsAttr):
            out[key] = attr_to_array(value)
        elif isinstance(value, ArrayAttr):
            out[key] = np.array(
                [v.data if isinstance(v, StringAttr) else str(v) for v in value.data],
                dtype=object,
            )
        else:
            raise NircError("unsupported metadata value", where=f"metadata/{key}", found=str(value))
    return out


def shape_of(type_: Attribute) -> tuple[int, ...] | None:
    """The static shape of a value type, None when unranked."""
    if isinstance(type_, TensorType):
        return tuple(type_.get_shape())
    return None


def value_type(shape: Sequence[int] | None) -> TensorType | UnrankedTensorType:
    """``tensor<shape x f32>``, or ``tensor<*xf32>`` when the shape is unknown."""
    if shape is None:
        return UnrankedTensorType(f32)
    return TensorType(f32, [int(d) for d in shape])


# --------------------------------------------------------------------------------------
# exact dense printing (see the module docstring)
# --------------------------------------------------------------------------------------


def _decimal_round_trips(value: float, element: Attribute) -> bool:
    """Whether xDSL's decimal spelling of ``value`` parses back to the same value.
    Mirrors ``Printer.print_float``: it falls back to an integer-looking hex
    literal (which the dense parser misreads) in the cases rejected here."""
    if not math.isfinite(value):
        return False
    text = f"{value:.5e}"
    if element.unpack(element.pack([float(text)]), 1)[0] == value:  # type: ignore[attr-defined]
        return True
    if isinstance(element, Float32Type):
        return "." in f"{value:.9g}"
    if isinstance(element, Float64Type):
        return "." in f"{value:.17g}"
    return True  # other widths print repr(value), which round-trips


def _print_dense_exactly(self: DenseIntOrFPElementsAttr, printer) -> None:
    data = self.data.data
    element = self.get_element_type()
    size = element.compile_time_size  # type: ignore[attr-defined]
    count = len(data) // size if size else 0
    printer.print_string("dense")
    with printer.in_angle_brackets():
        if count == 0:
            return
        is_float = isinstance(element, Float16Type | Float32Type | Float64Type)
        if data[:size] * count == data:  # splat, bit for bit
            if is_float:
                v = element.unpack(data[:size], 1)[0]  # type: ignore[attr-defined]
                if not _decimal_round_trips(v, element):
                    printer.print_string(f'"0x{data[:size].hex().upper()}"')
                    return
            self._print_one_elem(_first(self), printer)
            return
        if count > 100:
            printer.print_string(f'"0x{data.hex().upper()}"')
            return
        values = self.get_values()
        if is_float and not all(_decimal_round_trips(v, element) for v in values):
            printer.print_string(f'"0x{data.hex().upper()}"')
            return
        shape = self.get_shape() if self.shape_is_complete else (count,)
        self._print_dense_list(values, shape, printer)


def _first(attr: DenseIntOrFPElementsAttr):
    element = attr.get_element_type()
    size = element.compile_time_size  # type: ignore[attr-defined]
    return element.unpack(attr.data.data[:size], 1)[0]  # type: ignore[attr-defined]


if getattr(DenseIntOrFPElementsAttr.print_without_type, "__name__", "") != "_print_dense_exactly":
    DenseIntOrFPElementsAttr.print_without_type = _print_dense_exactly  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------
# verification helpers
# --------------------------------------------------------------------------------------


def _error(op: Operation, label: str, e: NircError) -> VerifyException:
    where = e.where if e.where and e.where != label else None
    text = f'{op.name} "{label}": '
    if where:
        text += f"{where}: "
    text += e.message
    if e.expected is not None:
        text += f"; expected {e.expected}"
    if e.found is not None:
        text += f"; found {e.found}"
    return VerifyException(text)


def _check_attributes(op: Operation, label: str) -> None:
    """NIR fields are properties; an unprefixed attribute is most likely a misspelt
    field, which would otherwise be dropped silently. Dialect-prefixed attributes
    (``snn.dt``) are left to their dialects."""
    stray = sorted(k for k in op.attributes if "." not in k)
    if stray:
        fields = sorted(k for k in op.get_irdl_definition().properties if k != "name")  # type: ignore[attr-defined]
        raise VerifyException(
            f'{op.name} "{label}": unknown field(s) {", ".join(stray)}; '
            f"{op.name} has {', '.join(fields)}"
        )


def _operand_shape(op: Operation, label: str) -> tuple[int, ...] | None:
    """The shape of the summed input: every ranked operand must agree."""
    shape: tuple[int, ...] | None = None
    for i, operand in enumerate(op.operands):
        s = shape_of(operand.type)
        if s is None:
            continue
        if shape is None:
            shape = s
        elif s != shape:
            raise NircError(
                "inputs of different shapes cannot be summed",
                where=label,
                expected=f"every input of shape {_fmt(shape)}",
                found=f"input {i} of shape {_fmt(s)}",
            )
    return shape


def _fmt(shape: Sequence[int] | None) -> str:
    from nirc.shapes import fmt

    return fmt(tuple(shape) if shape is not None else None)


def _check_finite(node: Node, label: str) -> None:
    from nirc.profiles import finite_except_limits  # tau = r = inf: an exporter's IF limit

    for field, value in node.params.items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            finite = finite_except_limits(node, field, value)
            if not finite.all():
                bad = value[~finite].reshape(-1)[0]
                raise NircError(
                    f"`{field}` holds non-finite values",
                    where=label,
                    expected="finite numbers",
                    found=f"{bad} among {value.size} values",
                )


def _check_shape_attr(attr: DenseIntOrFPElementsAttr, label: str) -> tuple[int, ...]:
    a = attr_to_array(attr)
    if a.ndim > 1 or a.dtype.kind not in "iu" or (a < 0).any():
        raise NircError(
            "`shape` must be a list of non-negative integers",
            where=label,
            expected="a 1-D integer tensor",
            found=f"{a.dtype} of shape {_fmt(a.shape)}",
        )
    return tuple(int(v) for v in a.reshape(-1))


# --------------------------------------------------------------------------------------
# ops
# --------------------------------------------------------------------------------------

_NODE_FORMAT = "$name (`(` $inputs^ `:` type($inputs) `)`)? attr-dict `:` type($out)"


@irdl_custom_directive
class OptionalName(CustomDirective):
    """An optional string literal (a graph's name). The stock optional attribute
    directive would read the region's ``{`` as a dictionary attribute."""

    name: AttributeVariable

    def parse(self, parser: Parser, state: ParsingState) -> None:
        text = parser.parse_optional_str_literal()
        if text is not None:
            self.name.set(state, StringAttr(text))

    def print(self, printer: Printer, state: PrintingState, op: IRDLOperation) -> None:
        attr = op.properties.get(self.name.name)
        if isinstance(attr, StringAttr):
            state.print_whitespace(printer)
            printer.print_string_literal(attr.data)


@irdl_op_definition
class GraphOp(IRDLOperation):
    """A NIR graph: top level (unnamed, in a module) or a nested NIRGraph node.

    One result per inner ``nir.output`` op, in their block order."""

    name = "nir.graph"

    graph_name = opt_prop_def(StringAttr, prop_name="name")
    metadata = opt_prop_def(DictionaryAttr)
    node_metadata = opt_prop_def(DictionaryAttr)
    edge_order = opt_prop_def(DenseIntOrFPElementsAttr)
    edge_spelling = opt_prop_def(ArrayAttr)
    outs = var_result_def(ValueType)
    body = region_def()

    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    custom_directives = (OptionalName,)
    assembly_format = (
        "custom<OptionalName>($name) (`->` type($outs)^)? attr-dict-with-keyword $body"
    )

    # -- structure ------------------------------------------------------------------

    @property
    def block(self) -> Block:
        """The graph's block. An empty graph prints as ``{}``, which parses back as
        a region without blocks: the block is created on first access."""
        if not self.body.blocks:
            self.body.add_block(Block())
        return self.body.blocks[0]

    @property
    def label(self) -> str:
        return self.graph_name.data if self.graph_name is not None else "<top>"

    def nodes(self) -> Iterator[Operation]:
        return iter(self.block.ops)

    def input_ops(self) -> list[InputOp]:
        return [op for op in self.block.ops if isinstance(op, InputOp)]

    def output_ops(self) -> list[OutputOp]:
        return [op for op in self.block.ops if isinstance(op, OutputOp)]

    def is_top_level(self) -> bool:
        return not isinstance(self.parent_op(), GraphOp)

    # -- edges ----------------------------------------------------------------------

    def edge_slots(self) -> list[tuple[Operation, int]]:
        """This graph's edges in canonical order, as (target op, operand index)."""
        slots: list[tuple[Operation, int]] = []
        for op in self.block.ops:
            if isinstance(op, GraphOp):
                for inner in op.block.ops:
                    if isinstance(inner, InputOp):
                        slots.extend((inner, i) for i in range(len(inner.operands)))
            elif not isinstance(op, InputOp):
                slots.extend((op, i) for i in range(len(op.operands)))
        return slots

    def edge_permutation(self) -> list[int] | None:
        if self.edge_order is None:
            return None
        return [int(v) for v in attr_to_array(self.edge_order).reshape(-1)]

    def edge_slots_in_file_order(self) -> list[tuple[Operation, int]]:
        slots = self.edge_slots()
        perm = self.edge_permutation()
        if perm is None or len(perm) != len(slots):
            return slots
        return [slots[i] for i in perm]

    def set_edge_order(self, slots_in_file_order: Sequence[tuple[Operation, int]]) -> None:
        """Record the file order of this graph's edges. Slots no longer present are
        dropped; present slots missing from the list keep their canonical place at
        the end. Removes ``edge_order`` when it is the identity, and
        ``edge_spelling`` when it no longer lists the same number of edges."""
        canonical = self.edge_slots()
        index = {slot: i for i, slot in enumerate(canonical)}
        order = [index.pop(s) for s in slots_in_file_order if s in index]
        order.extend(sorted(index.values()))
        if order == list(range(len(order))):
            self.properties.pop("edge_order", None)
        else:
            self.properties["edge_order"] = array_to_attr(np.asarray(order, np.int64))
        spelling = self.edge_spelling
        if spelling is not None and len(spelling.data) != len(order):
            self.properties.pop("edge_spelling", None)

    # -- verification ---------------------------------------------------------------

    def verify_(self) -> None:
        parent = self.parent_op()
        label = self.label
        nested = isinstance(parent, GraphOp)
        if parent is not None and not isinstance(parent, GraphOp | ModuleOp):
            raise VerifyException(
                f"nir.graph must sit in a builtin.module or a nir.graph, not in {parent.name}"
            )
        if nested and self.graph_name is None:
            raise VerifyException("a nested nir.graph needs a name (its NIR node name)")
        _check_attributes(self, label)
        if len(self.body.blocks) > 1:
            raise VerifyException(f'nir.graph "{label}": the graph region has a single block')
        block = self.block
        if block.args:
            raise VerifyException(f'nir.graph "{label}": the graph region takes no arguments')
        names: dict[str, Operation] = {}
        outputs: list[OutputOp] = []
        for op in block.ops:
            if not isinstance(op, NodeOp | InputOp | OutputOp | GraphOp):
                raise VerifyException(
                    f'nir.graph "{label}": may only hold nir ops, found {op.name}'
                )
            n = node_name(op)
            if n in names:
                raise VerifyException(
                    f'nir.graph "{label}": node name "{n}" is used twice; NIR node names '
                    "must be unique within a graph"
                )
            names[n] = op
            if isinstance(op, OutputOp):
                outputs.append(op)
            if isinstance(op, InputOp):
                for v in op.operands:
                    owner = v.owner
                    ok = nested and isinstance(owner, Operation) and owner.parent is self.parent
                    if not ok:
                        where = (
                            "a top-level nir.input takes no operands"
                            if not nested
                            else "the operands of a nested nir.input must be values of the "
                            "enclosing graph"
                        )
                        raise VerifyException(f'nir.input "{n}": {where}')
            else:
                for v in op.operands:
                    owner = v.owner
                    if not (isinstance(owner, Operation) and owner.parent is block):
                        raise VerifyException(
                            f'{op.name} "{n}": an edge must come from a node of the same '
                            "graph (edges into a nested graph go through its nir.input ops)"
                        )
        if nested:
            if len(self.outs) != len(outputs):
                raise VerifyException(
                    f'nir.graph "{label}": has {len(self.outs)} results but '
                    f"{len(outputs)} nir.output ops; a nested graph has one result per "
                    "nir.output, in block order"
                )
            for res, out in zip(self.outs, outputs):
                want = shape_of(res.type)
                for v in out.operands:
                    got = shape_of(v.type)
                    if want is not None and got is not None and want != got:
                        raise VerifyException(
                            f'nir.graph "{label}": result for output "{node_name(out)}" '
                            f"has shape {_fmt(want)} but the output receives {_fmt(got)}"
                        )
        elif self.outs:
            raise VerifyException("a top-level nir.graph has no results")
        if self.edge_order is not None:
            a = attr_to_array(self.edge_order)
            n_edges = len(self.edge_slots())
            if (
                a.ndim != 1
                or a.dtype != np.int64
                or len(a) != n_edges
                or not np.array_equal(np.sort(a), np.arange(n_edges))
            ):
                raise VerifyException(
                    f'nir.graph "{label}": edge_order must be a permutation of the '
                    f"{n_edges} edges (an i64 tensor<{n_edges}xi64>), found {a.dtype} of "
                    f"shape {_fmt(a.shape)}"
                )
        if self.edge_spelling is not None:
            for pair in self.edge_spelling.data:
                if not (
                    isinstance(pair, ArrayAttr)
                    and len(pair.data) == 2
                    and all(isinstance(s, StringAttr) for s in pair.data)
                ):
                    raise VerifyException(
                        f'nir.graph "{label}": edge_spelling holds pairs of strings'
                    )


class NodeOp(IRDLOperation):
    """Base of the ops for NIR's computing primitives (not registered itself).

    Subclasses set ``NIR_TYPE`` and declare one property per NIR field."""

    NIR_TYPE: ClassVar[str] = ""

    node_name = prop_def(StringAttr, prop_name="name")
    metadata = opt_prop_def(DictionaryAttr)
    inputs = var_operand_def(ValueType)
    out = result_def(ValueType)

    traits = traits_def(HasParent(GraphOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _NODE_FORMAT

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        required, optional = NODE_FIELDS[cls.NIR_TYPE]
        return required + optional

    def to_node(self) -> Node:
        """This op as a :class:`~nirc.graph.Node` (arrays are read-only views)."""
        params = {}
        for f in self.fields():
            attr = self.properties.get(f)
            if attr is not None:
                params[f] = attr_to_param(attr)
        return Node(
            self.node_name.data,
            self.NIR_TYPE,
            params,
            attr_to_metadata(self.metadata),
        )

    def param(self, field: str) -> Any:
        attr = self.properties.get(field)
        return None if attr is None else attr_to_param(attr)

    def verify_(self) -> None:
        label = self.node_name.data
        _check_attributes(self, label)
        try:
            node = self.to_node()
            _check_finite(node, label)
            self.verify_params(node, label)
            in_shape = _operand_shape(self, label)
            self.verify_input(node, in_shape, label)
            expected = self.infer_shape(node, in_shape, label)
        except NircError as e:
            raise _error(self, label, e) from None
        got = shape_of(self.out.type)
        if got is not None and expected is not None and got != expected:
            raise VerifyException(
                f'{self.name} "{label}": result type says shape {_fmt(got)} but the '
                f"node computes {_fmt(expected)}"
            )

    # hooks for subclasses -----------------------------------------------------------

    def verify_params(self, node: Node, label: str) -> None:
        pass

    def verify_input(self, node: Node, in_shape: tuple[int, ...] | None, label: str) -> None:
        pass

    def infer_shape(
        self, node: Node, in_shape: tuple[int, ...] | None, label: str
    ) -> tuple[int, ...] | None:
        """The output shape for a summed input of ``in_shape`` (None: unknown)."""
        from nirc.shapes import output_shape

        return output_shape(node, in_shape, label)


class _ElementwiseOp(NodeOp):
    """Scale, Threshold, Delay and the neurons: the input has the layer's shape."""

    def verify_input(self, node: Node, in_shape: tuple[int, ...] | None, label: str) -> None:
        from nirc.shapes import neuron_shape

        layer = neuron_shape(node)
        if in_shape is not None and layer is not None and in_shape != layer:
            raise NircError(
                f"{node.type} input disagrees with its parameters' shape",
                where=label,
                expected=f"input of shape {_fmt(layer)}",
                found=f"input of shape {_fmt(in_shape)}",
            )


class _NeuronOp(_ElementwiseOp):
    def verify_params(self, node: Node, label: str) -> None:
        from nirc.shapes import neuron_shape

        layer = neuron_shape(node)
        ref = next(
            k
            for k in ("tau", "tau_mem", "v_threshold", "r")
            if isinstance(node.params.get(k), np.ndarray)
        )
        for field, value in node.params.items():
            if not isinstance(value, np.ndarray):
                raise NircError(f"`{field}` must be an array", where=label, found=repr(value))
            if value.dtype.kind not in "fiu":
                raise NircError(f"`{field}` must hold numbers", where=label, found=str(value.dtype))
            if field == "w_in" and value.size == 1:
                continue  # the one parameter NIR broadcasts
            if value.shape != layer:
                raise NircError(
                    f"`{field}` does not have the layer's shape (NIR does not broadcast "
                    "neuron parameters, except w_in)",
                    where=label,
                    expected=f"shape {_fmt(layer)} like `{ref}`",
                    found=f"shape {_fmt(value.shape)}",
                )
            if field in TIME_CONSTANT_FIELDS and not (value > 0).all():
                raise NircError(
                    f"time constant `{field}` must be > 0",
                    where=label,
                    expected="every entry > 0 (seconds)",
                    found=f"{value[~(value > 0)].reshape(-1)[0]}",
                )


def _int_scalar(node: Node, field: str, label: str) -> int:
    v = node.params[field]
    a = np.asarray(v)
    if not isinstance(v, np.ndarray) or a.dtype.kind not in "iu" or a.size != 1:
        raise NircError(
            f"`{field}` must be one integer",
            where=label,
            expected="an integer scalar",
            found=f"{a.dtype} of shape {_fmt(a.shape)}",
        )
    return int(a.reshape(-1)[0])


class _DenseOp(NodeOp):
    def verify_params(self, node: Node, label: str) -> None:
        w = node.params["weight"]
        if not isinstance(w, np.ndarray) or w.ndim < 2 or w.dtype.kind != "f":
            raise NircError(
                f"{node.type} weight must be a float matrix [out, in]",
                where=label,
                expected="a float array of rank >= 2",
                found=f"shape {_fmt(getattr(w, 'shape', None))}",
            )
        b = node.params.get("bias")
        if b is not None:
            try:
                np.broadcast_shapes(b.shape, w.shape[:-1])
            except ValueError:
                raise NircError(
                    "Affine bias does not match the weight's output size",
                    where=label,
                    expected=f"shape {_fmt(w.shape[:-1])}",
                    found=f"shape {_fmt(b.shape)}",
                ) from None


class _ConvOp(NodeOp):
    def verify_params(self, node: Node, label: str) -> None:
        from nirc.shapes import conv_params

        cp = conv_params(node, label)
        b = node.params["bias"]
        if not isinstance(b, np.ndarray) or not (b.size == 1 or b.shape == (cp.out_channels,)):
            raise NircError(
                f"{node.type} bias must have one entry per output channel",
                where=label,
                expected=f"shape [{cp.out_channels}] (or a scalar)",
                found=f"shape {_fmt(getattr(b, 'shape', None))}",
            )
        ish = node.params.get("input_shape")
        if ish is not None and (
            not isinstance(ish, np.ndarray)
            or ish.dtype.kind not in "iu"
            or ish.size != len(cp.kernel)
        ):
            raise NircError(
                "`input_shape` must list the spatial input size",
                where=label,
                expected=f"{len(cp.kernel)} integer(s)",
                found=f"{getattr(ish, 'dtype', type(ish))} of shape {_fmt(np.shape(ish))}",
            )

    def verify_input(self, node: Node, in_shape: tuple[int, ...] | None, label: str) -> None:
        ish = node.params.get("input_shape")
        if in_shape is not None and isinstance(ish, np.ndarray):
            spatial = tuple(int(v) for v in ish.reshape(-1))
            if tuple(in_shape[1:]) != spatial:
                raise NircError(
                    f"{node.type} input disagrees with its `input_shape`",
                    where=label,
                    expected=f"spatial size {_fmt(spatial)}",
                    found=f"input of shape {_fmt(in_shape)}",
                )


class _PoolOp(NodeOp):
    def verify_params(self, node: Node, label: str) -> None:
        from nirc.shapes import pool_params

        pool_params(node, label)


# -- the ops ---------------------------------------------------------------------------

ParamAttr = DenseIntOrFPElementsAttr


@irdl_op_definition
class AffineOp(_DenseOp):
    """y = W x + b (W is [out, in])."""

    name = "nir.affine"
    NIR_TYPE: ClassVar[str] = "Affine"
    weight = prop_def(ParamAttr)
    bias = prop_def(ParamAttr)


@irdl_op_definition
class LinearOp(_DenseOp):
    """y = W x (W is [out, in])."""

    name = "nir.linear"
    NIR_TYPE: ClassVar[str] = "Linear"
    weight = prop_def(ParamAttr)


@irdl_op_definition
class ScaleOp(_ElementwiseOp):
    """y = scale * x, elementwise."""

    name = "nir.scale"
    NIR_TYPE: ClassVar[str] = "Scale"
    scale = prop_def(ParamAttr)


@irdl_op_definition
class Conv1dOp(_ConvOp):
    """PyTorch-style 1-D cross-correlation; input [channels, length]."""

    name = "nir.conv1d"
    NIR_TYPE: ClassVar[str] = "Conv1d"
    weight = prop_def(ParamAttr)
    stride = prop_def(ParamAttr)
    padding = prop_def(ParamAttr | StringAttr)
    dilation = prop_def(ParamAttr)
    groups = prop_def(ParamAttr)
    bias = prop_def(ParamAttr)
    input_shape = opt_prop_def(ParamAttr)


@irdl_op_definition
class Conv2dOp(_ConvOp):
    """PyTorch-style 2-D cross-correlation; input [channels, height, width]."""

    name = "nir.conv2d"
    NIR_TYPE: ClassVar[str] = "Conv2d"
    weight = prop_def(ParamAttr)
    stride = prop_def(ParamAttr)
    padding = prop_def(ParamAttr | StringAttr)
    dilation = prop_def(ParamAttr)
    groups = prop_def(ParamAttr)
    bias = prop_def(ParamAttr)
    input_shape = opt_prop_def(ParamAttr)


@irdl_op_definition
class SumPool2dOp(_PoolOp):
    """Windowed sum with zero padding."""

    name = "nir.sum_pool2d"
    NIR_TYPE: ClassVar[str] = "SumPool2d"
    kernel_size = prop_def(ParamAttr)
    stride = prop_def(ParamAttr)
    padding = prop_def(ParamAttr)


@irdl_op_definition
class AvgPool2dOp(_PoolOp):
    """Windowed mean, padding counted in the divisor."""

    name = "nir.avg_pool2d"
    NIR_TYPE: ClassVar[str] = "AvgPool2d"
    kernel_size = prop_def(ParamAttr)
    stride = prop_def(ParamAttr)
    padding = prop_def(ParamAttr)


@irdl_op_definition
class FlattenOp(NodeOp):
    """Reshape: merge the per-sample axes start_dim..end_dim."""

    name = "nir.flatten"
    NIR_TYPE: ClassVar[str] = "Flatten"
    start_dim = prop_def(ParamAttr)
    end_dim = prop_def(ParamAttr)
    input_type = opt_prop_def(ParamAttr)

    def verify_params(self, node: Node, label: str) -> None:
        _int_scalar(node, "start_dim", label)
        _int_scalar(node, "end_dim", label)

    def verify_input(self, node: Node, in_shape: tuple[int, ...] | None, label: str) -> None:
        it = node.params.get("input_type")
        if in_shape is not None and isinstance(it, np.ndarray):
            declared = tuple(int(v) for v in it.reshape(-1))
            if declared != tuple(in_shape):
                raise NircError(
                    "Flatten input disagrees with its `input_type`",
                    where=label,
                    expected=f"input of shape {_fmt(declared)}",
                    found=f"input of shape {_fmt(in_shape)}",
                )


@irdl_op_definition
class DelayOp(_ElementwiseOp):
    """y[t] = x[t - delay] (delay in seconds, per element)."""

    name = "nir.delay"
    NIR_TYPE: ClassVar[str] = "Delay"
    delay = prop_def(ParamAttr)

    def verify_params(self, node: Node, label: str) -> None:
        d = node.params["delay"]
        if (np.asarray(d) < 0).any():
            raise NircError(
                "`delay` must be >= 0",
                where=label,
                expected="delays >= 0 (seconds)",
                found=str(np.asarray(d)[np.asarray(d) < 0].reshape(-1)[0]),
            )


@irdl_op_definition
class ThresholdOp(_ElementwiseOp):
    """y = 1.0 where x > threshold, else 0.0."""

    name = "nir.threshold"
    NIR_TYPE: ClassVar[str] = "Threshold"
    threshold = prop_def(ParamAttr)


@irdl_op_definition
class IOp(_NeuronOp):
    """Integrator: v += dt * r * x; output v."""

    name = "nir.i"
    NIR_TYPE: ClassVar[str] = "I"
    r = prop_def(ParamAttr)


@irdl_op_definition
class LIOp(_NeuronOp):
    """Leaky integrator; output v."""

    name = "nir.li"
    NIR_TYPE: ClassVar[str] = "LI"
    tau = prop_def(ParamAttr)
    r = prop_def(ParamAttr)
    v_leak = prop_def(ParamAttr)


@irdl_op_definition
class IFOp(_NeuronOp):
    """Integrate-and-fire; output spikes."""

    name = "nir.if"
    NIR_TYPE: ClassVar[str] = "IF"
    r = prop_def(ParamAttr)
    v_threshold = prop_def(ParamAttr)
    v_reset = opt_prop_def(ParamAttr)


@irdl_op_definition
class LIFOp(_NeuronOp):
    """Leaky integrate-and-fire; output spikes."""

    name = "nir.lif"
    NIR_TYPE: ClassVar[str] = "LIF"
    tau = prop_def(ParamAttr)
    r = prop_def(ParamAttr)
    v_leak = prop_def(ParamAttr)
    v_threshold = prop_def(ParamAttr)
    v_reset = opt_prop_def(ParamAttr)


@irdl_op_definition
class CubaLIOp(_NeuronOp):
    """Current-based leaky integrator; output v."""

    name = "nir.cuba_li"
    NIR_TYPE: ClassVar[str] = "CubaLI"
    tau_syn = prop_def(ParamAttr)
    tau_mem = prop_def(ParamAttr)
    r = prop_def(ParamAttr)
    v_leak = prop_def(ParamAttr)
    w_in = opt_prop_def(ParamAttr)


@irdl_op_definition
class CubaLIFOp(_NeuronOp):
    """Current-based LIF; output spikes."""

    name = "nir.cuba_lif"
    NIR_TYPE: ClassVar[str] = "CubaLIF"
    tau_syn = prop_def(ParamAttr)
    tau_mem = prop_def(ParamAttr)
    r = prop_def(ParamAttr)
    v_leak = prop_def(ParamAttr)
    v_threshold = prop_def(ParamAttr)
    v_reset = opt_prop_def(ParamAttr)
    w_in = opt_prop_def(ParamAttr)


@irdl_op_definition
class InputOp(IRDLOperation):
    """A graph input. ``shape`` is the declared shape, kept verbatim; the result's
    type is the shape the graph computes with. In a nested graph, the operands
    are the values of the enclosing graph that feed this input."""

    name = "nir.input"
    NIR_TYPE: ClassVar[str] = "Input"
    node_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(ParamAttr)
    metadata = opt_prop_def(DictionaryAttr)
    inputs = var_operand_def(ValueType)
    out = result_def(ValueType)

    traits = traits_def(HasParent(GraphOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = _NODE_FORMAT

    def declared_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in attr_to_array(self.shape).reshape(-1))

    def verify_(self) -> None:
        label = self.node_name.data
        _check_attributes(self, label)
        try:
            _check_shape_attr(self.shape, label)
            _operand_shape(self, label)
        except NircError as e:
            raise _error(self, label, e) from None


@irdl_op_definition
class OutputOp(IRDLOperation):
    """A graph output: its operands are the edges into it. ``shape`` is the declared
    shape, kept verbatim."""

    name = "nir.output"
    NIR_TYPE: ClassVar[str] = "Output"
    node_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(ParamAttr)
    metadata = opt_prop_def(DictionaryAttr)
    inputs = var_operand_def(ValueType)

    traits = traits_def(HasParent(GraphOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name (`(` $inputs^ `:` type($inputs) `)`)? attr-dict"

    def declared_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in attr_to_array(self.shape).reshape(-1))

    def verify_(self) -> None:
        label = self.node_name.data
        _check_attributes(self, label)
        try:
            _check_shape_attr(self.shape, label)
            _operand_shape(self, label)
        except NircError as e:
            raise _error(self, label, e) from None


NODE_OPS: tuple[type[NodeOp], ...] = (
    AffineOp,
    LinearOp,
    ScaleOp,
    Conv1dOp,
    Conv2dOp,
    SumPool2dOp,
    AvgPool2dOp,
    FlattenOp,
    DelayOp,
    ThresholdOp,
    IOp,
    LIOp,
    IFOp,
    LIFOp,
    CubaLIOp,
    CubaLIFOp,
)

OP_BY_NIR_TYPE: dict[str, type[Operation]] = {op.NIR_TYPE: op for op in NODE_OPS} | {
    "Input": InputOp,
    "Output": OutputOp,
    "NIRGraph": GraphOp,
}


def node_name(op: Operation) -> str:
    """The NIR node name of a nir op (a nested graph's name)."""
    attr = op.properties.get("name")
    return attr.data if isinstance(attr, StringAttr) else ""


def nir_type(op: Operation) -> str:
    if isinstance(op, GraphOp):
        return "NIRGraph"
    return getattr(type(op), "NIR_TYPE", "")


NIR = Dialect("nir", [GraphOp, InputOp, OutputOp, *NODE_OPS], [])
