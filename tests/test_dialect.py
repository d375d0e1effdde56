"""The `nir` dialect: op definitions match NIR's fields, custom and generic syntax
round-trip through print and parse (bit for bit, including floats xDSL's own
printer gets wrong), verifiers reject what NIR forbids, and the edge-order
helpers keep a graph's edge order through rewrites."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import corpus_files
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp
from xdsl.irdl import OptPropertyDef
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from nirc.context import make_context
from nirc.dialects.nir import (
    NIR,
    NODE_OPS,
    OP_BY_NIR_TYPE,
    GraphOp,
    array_to_attr,
    attr_to_array,
)
from nirc.graph import NODE_FIELDS, NODE_TYPES


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def render(module: ModuleOp, generic: bool = False) -> str:
    buf = io.StringIO()
    Printer(stream=buf, print_generic_format=generic).print_op(module)
    return buf.getvalue()


def assert_text_roundtrip(module: ModuleOp) -> None:
    custom = render(module)
    again = parse(custom)
    again.verify()
    assert render(again) == custom
    generic = parse(render(module, generic=True))
    generic.verify()
    assert render(generic) == custom


# --------------------------------------------------------------------------------------
# definitions


def test_one_op_per_nir_type():
    assert set(OP_BY_NIR_TYPE) == set(NODE_TYPES)
    assert {op.name for op in NIR.operations} == {
        "nir.graph", "nir.input", "nir.output", "nir.affine", "nir.linear", "nir.scale",
        "nir.conv1d", "nir.conv2d", "nir.sum_pool2d", "nir.avg_pool2d", "nir.flatten",
        "nir.delay", "nir.threshold", "nir.i", "nir.li", "nir.if", "nir.lif",
        "nir.cuba_li", "nir.cuba_lif",
    }  # fmt: skip


@pytest.mark.parametrize("op", NODE_OPS, ids=lambda op: op.name)
def test_properties_are_nir_fields(op):
    required, optional = NODE_FIELDS[op.NIR_TYPE]
    props = op.get_irdl_definition().properties
    assert set(props) == {"name", "metadata", *required, *optional}
    for field in optional:
        assert isinstance(props[field], OptPropertyDef)
    for field in required:
        assert not isinstance(props[field], OptPropertyDef)


# --------------------------------------------------------------------------------------
# syntax


@pytest.mark.parametrize("path", corpus_files("nir-1.0.8") + corpus_files("public"))
def test_corpus_print_parse_roundtrip(path):
    from nirc.convert import import_graph
    from nirc.diagnostics import NircError, collecting
    from nirc.nirfile import read
    from nirc.validate import infer_shapes, validate

    with collecting():
        try:
            graph = read(path)
            validate(graph)
            module = import_graph(graph, infer_shapes(graph))
        except NircError as e:
            pytest.skip(f"{path.name} does not validate: {e.message}")
    module.verify()
    assert_text_roundtrip(module)


GRAPH = """
builtin.module {
  nir.graph "top \\"quoted\\"" attributes {metadata = {dt = dense<1.000000e-04> : tensor<f64>}} {
    %in = nir.input "in" {shape = dense<2> : tensor<1xi64>} : VT
    %sub = nir.graph "sub" -> VT {
      %x = nir.input "x"(%late : VT) {shape = dense<2> : tensor<1xi64>} : VT
      nir.output "y"(%x : VT) {shape = dense<2> : tensor<1xi64>}
    }
    %late = nir.scale "late"(%in, %sub : VT, VT) {scale = dense<2.000000e+00> : tensor<2xf32>} : VT
    nir.graph "empty" {
    }
    nir.output "out"(%sub : VT) {shape = dense<2> : tensor<1xi64>}
  }
}
"""


def test_forward_references_cycles_and_empty_graphs_roundtrip():
    module = parse(GRAPH.replace("VT", "tensor<2xf32>"))
    module.verify()
    assert_text_roundtrip(module)
    top = next(iter(module.ops))
    assert isinstance(top, GraphOp) and top.graph_name.data == 'top "quoted"'


def test_unranked_values_print_as_star():
    module = parse(GRAPH.replace("VT", "tensor<*xf32>"))
    module.verify()
    assert "tensor<*xf32>" in render(module)
    assert_text_roundtrip(module)


_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
           np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from(_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
    )
)
def test_dense_text_roundtrip_is_bit_exact(a):
    """Any array (NaN payloads, infinities, -0.0, subnormals, extreme integers)
    survives attribute -> text -> attribute unchanged."""
    attr = array_to_attr(a)
    back = Parser(make_context(), str(attr)).parse_attribute()
    assert isinstance(back, DenseIntOrFPElementsAttr)
    b = attr_to_array(back)
    assert b.dtype == a.dtype and b.shape == a.shape
    assert b.tobytes() == a.tobytes()


@pytest.mark.parametrize(
    "values",
    [
        np.array([0.0, -0.0], np.float32),  # equal values, not a splat
        np.array([123456792.0, 1.0], np.float32),  # xDSL prints an integer hex literal
        np.array([np.nan, 1.0], np.float64),
        np.full(3, np.inf, np.float32),
    ],
    ids=["signed-zeros", "integral-f32", "nan", "inf-splat"],
)
def test_dense_printer_fixes(values):
    attr = array_to_attr(values)
    back = attr_to_array(Parser(make_context(), str(attr)).parse_attribute())
    assert back.tobytes() == values.tobytes()


def test_big_tensors_print_as_hex():
    attr = array_to_attr(np.arange(101, dtype=np.float32))
    assert str(attr).startswith('dense<"0x')
    assert (
        str(array_to_attr(np.zeros(1000, np.float32))) == "dense<0.000000e+00> : tensor<1000xf32>"
    )


# --------------------------------------------------------------------------------------
# verifiers (every message is checked in tests/filecheck/dialects/nir/invalid.mlir)


def _node(op_text: str, in_type: str = "tensor<3xf32>", in_shape: str = "dense<3> : tensor<1xi64>"):
    return f"""
builtin.module {{
  nir.graph {{
    %in = nir.input "input" {{shape = {in_shape}}} : {in_type}
    {op_text}
  }}
}}"""


@pytest.mark.parametrize(
    "op_text, message",
    [
        (
            '%1 = nir.lif "l"(%in : tensor<3xf32>) {tau = dense<-1.0> : tensor<3xf32>, '
            "r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<3xf32>, "
            "v_threshold = dense<1.0> : tensor<3xf32>} : tensor<3xf32>",
            "time constant `tau` must be > 0",
        ),
        (
            '%1 = nir.cuba_lif "l"(%in : tensor<3xf32>) {tau_syn = dense<1.0> : tensor<3xf32>, '
            "tau_mem = dense<1.0> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, "
            "v_leak = dense<0.0> : tensor<3xf32>, v_threshold = dense<1.0> : tensor<2xf32>} "
            ": tensor<3xf32>",
            "`v_threshold` does not have the layer's shape",
        ),
        (
            '%1 = nir.linear "w"(%in : tensor<3xf32>) {weight = dense<1.0> : tensor<2x4xf32>} '
            ": tensor<*xf32>",
            "Linear input size disagrees with its weight",
        ),
        (
            '%1 = nir.scale "s"(%in : tensor<3xf32>) {scale = dense<"0x0000807F0000803F0000803F"> '
            ": tensor<3xf32>} : tensor<3xf32>",
            "`scale` holds non-finite values",
        ),
    ],
    ids=["tau", "neuron-shapes", "linear", "finite"],
)
def test_verifier_messages(op_text, message):
    module = parse(_node(op_text))
    with pytest.raises(VerifyException) as e:
        module.verify()
    assert message in str(e.value)


def test_w_in_may_be_scalar():
    module = parse(_node(
        '%1 = nir.cuba_li "l"(%in : tensor<3xf32>) {tau_syn = dense<1.0> : tensor<3xf32>, '
        "tau_mem = dense<1.0> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, "
        "v_leak = dense<0.0> : tensor<3xf32>, w_in = dense<2.0> : tensor<1xf32>} : tensor<3xf32>"
    ))  # fmt: skip
    module.verify()


def test_grouped_non_square_conv():
    """Output size per axis with its own kernel size; channels = in/groups."""
    op = (
        '%1 = nir.conv2d "c"(%in : tensor<4x7x9xf32>) {weight = dense<1.0> : '
        "tensor<6x2x3x5xf32>, stride = dense<[2, 1]> : tensor<2xi64>, padding = dense<[1, 2]> "
        ": tensor<2xi64>, dilation = dense<1> : tensor<2xi64>, groups = dense<2> : tensor<i64>, "
        "bias = dense<0.0> : tensor<6xf32>} : tensor<6x4x9xf32>"
    )
    parse(_node(op, "tensor<4x7x9xf32>", "dense<[4, 7, 9]> : tensor<3xi64>")).verify()
    with pytest.raises(VerifyException, match=r"computes \[6, 4, 9\]"):
        parse(
            _node(op.replace(": tensor<6x4x9xf32>", ": tensor<6x4x7xf32>"), "tensor<4x7x9xf32>",
                  "dense<[4, 7, 9]> : tensor<3xi64>")
        ).verify()  # fmt: skip


# --------------------------------------------------------------------------------------
# edge order helpers


def test_set_edge_order_keeps_relative_order_and_drops_identity():
    module = parse(_node(
        '%a = nir.scale "a"(%in : tensor<3xf32>) {scale = dense<2.0> : tensor<3xf32>} : tensor<3xf32>\n'
        '    %b = nir.scale "b"(%in, %a : tensor<3xf32>, tensor<3xf32>) {scale = dense<2.0> : tensor<3xf32>} : tensor<3xf32>'
    ))  # fmt: skip
    top = next(iter(module.ops))
    assert isinstance(top, GraphOp)
    slots = top.edge_slots()
    assert [(op.properties["name"].data, i) for op, i in slots] == [("a", 0), ("b", 0), ("b", 1)]
    top.set_edge_order([slots[2], slots[0], slots[1]])
    assert top.edge_permutation() == [2, 0, 1]
    assert top.edge_slots_in_file_order() == [slots[2], slots[0], slots[1]]
    module.verify()
    top.set_edge_order(slots)
    assert top.edge_order is None
