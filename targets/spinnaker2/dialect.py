"""The `spinnaker2` dialect: a network as py-spinnaker2 builds it, placed on PEs.

The last IR level before the artifacts: populations with py-spinnaker2's
neuron models and parameter names (float32 values, as the PEs hold them),
projections with integer weights (connection lists, or a Conv2DProjection's
int8 kernel), and where every neuron sits. `lower-spinnaker2` produces it;
the emitters (:mod:`.emit`), the simulator and the report read it through
:func:`read_network` and never re-derive anything::

    builtin.module {
      spinnaker2.network attributes {dt = 1.000000e-04 : f64, source = "nir", reset = "zero"} {
        %input = spinnaker2.spike_source "input" {shape = array<i64: 1>, copies = 1 : i64} : tensor<1xi1>
        %c = spinnaker2.connections "input->lif"(%input : tensor<1xi1>)
            {connections = dense<[[0, 0, 127, 0]]> : tensor<1x4xi32>} : tensor<1xf32>
        %lif = spinnaker2.population "lif"(%c : tensor<1xf32>) {neuron_model = "lif_no_delay",
            shape = array<i64: 1>, threshold = dense<3.175e+02> : tensor<f32>,
            alpha_decay = dense<9.6e-01> : tensor<f32>, i_offset = dense<0.0> : tensor<f32>,
            v_init = dense<0.0> : tensor<f32>, v_reset = dense<0.0> : tensor<f32>,
            reset = "reset_to_v_reset", record = ["spikes"], max_atoms_per_core = 256 : i64,
            weight_scale = 3.175e+03 : f64, spike_gain = 1 : i64, lag = 1 : i64} : tensor<1xi1>
        spinnaker2.output "output"(%lif : tensor<1xi1>) {shape = array<i64: 1>, reads = "spikes"}
        spinnaker2.placement {pes_per_chip = 152 : i64, chips = 48 : i64, ...,
            populations = ["input", "lif"], pes = [dense<0> : tensor<1xi32>, dense<1> : tensor<1xi32>]}
      }
    }

``spinnaker2.network {dt, source, reset}``
    A graph region (projections may read populations defined below them:
    recurrent projections) of the ops below. ``dt``: seconds per step;
    ``source``/``reset``: how the float network was read (informational).
``spinnaker2.spike_source "name" {shape, copies, start?, role?}``
    A ``spike_list`` population. ``role = "input"`` (default): the graph
    Input ``name`` of NIR ``shape``, ``copies`` spike sources per element
    laid out along the first axis (:func:`~.network.copy_layout`; an event
    count ``c`` fires copies ``0..c-1``). ``role = "bias"``: ``shape = [k]``
    sources firing every step from chip step ``start`` on (a bias into a
    synaptic current). The result carries the spikes (``i1``) of its
    elements x copies neurons.
``spinnaker2.connections "name"(pre) {connections}``
    ``snn.Projection(pre, post, connections)``: ``connections`` is
    ``[n, 4]`` int32 rows ``(pre, post, weight, delay)`` in py-spinnaker2's
    neuron numbering of the source and of the population reading the result
    (the result's size). Delay: extra steps (hardware delay = delay + 1).
``spinnaker2.conv2d "name"(pre) {weights, in_height, in_width, stride_x, stride_y, pool_x, pool_y, pad_top, pad_bottom, pad_left, pad_right}``
    ``snn.Conv2DProjection``: ``weights`` int8 ``(C_in, C_out, kH, kW)``
    (py-spinnaker2's order); the other fields are its ``conv_params``.
``spinnaker2.population "name"(projections...) {...}``
    ``snn.Population(size, neuron_model, params, name, record)``: operands
    are the projections into it; ``shape`` its NIR shape; the parameters as
    0-d (one value) or ``[size]`` float32 tensors under py-spinnaker2's names;
    ``record``; ``max_atoms_per_core``; for nirc: ``weight_scale`` (chip
    units per float unit of the membrane), ``spike_gain`` (float spikes per
    chip spike), ``lag`` (chip steps behind the float network), ``role``
    (``neuron`` or ``relay``). The result carries its spikes.
``spinnaker2.output "name"(population) {shape, reads}``
    A graph Output reading a population's ``spikes`` or ``v`` as NIR ``shape``.
``spinnaker2.placement {...}``
    The machine (``pes_per_chip``, ``chips``), the limits the placement was
    checked against (``neurons_per_pe``, ``memory_per_pe`` and the inputs of
    the memory formula: ``bytes_per_neuron``, ``recorded_steps``,
    ``record_voltages``), ``method``, the partitioner's figures for this
    placement (``traffic``: spike copies per step sent to other PEs, and
    ``baseline_traffic``: index-order slicing's; optional), and per population
    (``populations``, in order) the global PE id of each of its chip neurons
    (``pes``).

The verifiers check the formats (int32 connection rows, int8 kernels),
ranges (weights in [-127, 127] for the no-delay models and ``lif_conv2d``,
[-15, 15] with delays 0..7 for ``lif`` / ``lif_curr_exp``; neuron indices
within their populations), each model's parameters, and the placement: every
neuron placed exactly once on an existing PE, one population per PE, spike
sources and Conv2DProjection populations in index-order slices of one size
(py-spinnaker2's ``set_max_atoms_per_core``), every PE within its neurons and
its data memory (recomputed from the network by the chip's memory formula),
every chip's router within its entries.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    f64,
    i1,
    i64,
)
from xdsl.ir import Block, Dialect, Operation, Region, SSAValue
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

from .network import (
    BIAS,
    INPUT,
    NEURON,
    RELAY,
    RESETS,
    Conv2d,
    Network,
    Output,
    Population,
    Projection,
)
from .spec import SPINNAKER2

NEURON_MODELS = ("lif_no_delay", "lif_curr_exp_no_delay", "lif_conv2d", "lif", "lif_curr_exp")
CURRENT_MODELS = ("lif_curr_exp_no_delay", "lif_curr_exp")
PARAMS = ("threshold", "alpha_decay", "i_offset", "v_init", "v_reset")
CURRENT_PARAMS = ("exc_decay", "inh_decay")
RECORDABLES = ("spikes", "v", "v_last")
CONV_FIELDS = ("in_height", "in_width", "stride_x", "stride_y", "pool_x", "pool_y",
               "pad_top", "pad_bottom", "pad_left", "pad_right")  # fmt: skip


def _ints(attr: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in attr.get_values())


def _int_array(values) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def _label(op: Operation) -> str:
    name = op.properties.get("name")
    return f'{op.name} "{name.data}"' if isinstance(name, StringAttr) else op.name


def _err(op: Operation, message: str) -> VerifyException:
    return VerifyException(f"{_label(op)}: {message}")


def _int(op: Operation, field: str, default: int | None = None) -> int:
    a = op.properties.get(field)
    if a is None:
        if default is None:
            raise _err(op, f"`{field}` is missing")
        return default
    if not isinstance(a, IntegerAttr):
        raise _err(op, f"`{field}` must be an integer")
    return int(a.value.data)


def spikes_type(n: int) -> TensorType:
    return TensorType(i1, [int(n)])


def _size(value: SSAValue) -> int:
    t = value.type
    return int(np.prod(t.get_shape())) if isinstance(t, TensorType) else -1


def _source_size(op: Operation) -> int:
    """Elements a source op's spikes index (an input's elements, a
    population's neurons)."""
    if isinstance(op, SpikeSourceOp):
        return int(np.prod(_ints(op.shape))) * _int(op, "copies", 1)
    if isinstance(op, PopulationOp):
        return op.size
    return -1


# --------------------------------------------------------------------------------------
# ops
# --------------------------------------------------------------------------------------


@irdl_op_definition
class NetworkOp(IRDLOperation):
    """A SpiNNaker2 network (see the module docstring)."""

    name = "spinnaker2.network"
    dt = prop_def(FloatAttr)
    source = opt_prop_def(StringAttr)
    reset = opt_prop_def(StringAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict-with-keyword $body"

    @property
    def block(self) -> Block:
        return self.body.blocks[0]

    def verify_(self) -> None:
        dt = float(self.dt.value.data)
        if not np.isfinite(dt) or dt <= 0:
            raise _err(self, f"dt must be finite and > 0, found {dt}")
        names: set[str] = set()
        placements = []
        for op in self.block.ops:
            if not isinstance(op, SpikeSourceOp | ConnectionsOp | Conv2dOp | PopulationOp
                              | OutputOp | PlacementOp):  # fmt: skip
                raise _err(self, f"may hold spinnaker2 ops only, found {op.name}")
            if isinstance(op, PlacementOp):
                placements.append(op)
                continue
            n = op.properties["name"].data  # type: ignore[union-attr]
            if n in names:
                raise _err(op, f'name "{n}" is used twice')
            names.add(n)
            for v in op.operands:
                owner = v.owner
                if not isinstance(owner, Operation) or owner.parent is not self.block:
                    raise _err(op, "reads a value from outside the network")
            if isinstance(op, ConnectionsOp | Conv2dOp):
                users = {u.operation for u in op.out.uses}
                if len(users) != 1 or not isinstance(next(iter(users)), PopulationOp):
                    raise _err(op, "a projection's synapses go into exactly one population "
                               f"(found {len(users)} reader(s))")  # fmt: skip
        if len(placements) > 1:
            raise _err(self, "holds more than one spinnaker2.placement")
        if placements:
            placements[0].check(self)


@irdl_op_definition
class SpikeSourceOp(IRDLOperation):
    """A ``spike_list`` population: a graph Input, or an always-on bias source."""

    name = "spinnaker2.spike_source"
    source_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(DenseArrayBase)
    copies = opt_prop_def(IntegerAttr)
    start = opt_prop_def(IntegerAttr)
    role = opt_prop_def(StringAttr)
    out = result_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name attr-dict `:` type($out)"

    @property
    def kind(self) -> str:
        return INPUT if self.role is None else self.role.data

    def verify_(self) -> None:
        shape = _ints(self.shape)
        if not shape or any(d < 1 for d in shape):
            raise _err(self, f"shape must be positive, found {list(shape)}")
        if self.kind not in (INPUT, BIAS):
            raise _err(self, f"role must be input or bias, found {self.kind!r}")
        copies = _int(self, "copies", 1)
        if copies < 1:
            raise _err(self, f"copies must be >= 1, found {copies}")
        if self.kind == BIAS and (self.start is None or _int(self, "start") < 0):
            raise _err(self, "a bias source needs `start` >= 0 (the first step it fires)")
        if self.kind == INPUT and self.start is not None:
            raise _err(self, "`start` belongs to bias sources")
        if _size(self.out) != int(np.prod(shape)) * copies:
            raise _err(self, f"the result carries {_size(self.out)} spikes, shape "
                       f"{list(shape)} with {copies} copies has {int(np.prod(shape)) * copies}")  # fmt: skip


@irdl_op_definition
class ConnectionsOp(IRDLOperation):
    """``snn.Projection``: a connection list (see the module docstring)."""

    name = "spinnaker2.connections"
    projection_name = prop_def(StringAttr, prop_name="name")
    connections = prop_def(DenseIntOrFPElementsAttr)
    inputs = var_operand_def(TensorType)
    out = result_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict `:` type($out)"

    def rows(self) -> np.ndarray:
        return attr_to_array(self.connections)

    def verify_(self) -> None:
        if len(self.inputs) != 1:
            raise _err(self, "reads exactly one source (a spike source or a population)")
        rows = self.rows()
        if rows.dtype != np.int32 or rows.ndim != 2 or rows.shape[1] != 4:
            raise _err(self, f"`connections` must be [n, 4] int32 rows (pre, post, weight, delay), "
                       f"found {rows.dtype} of shape {list(rows.shape)}")  # fmt: skip
        n_pre = _source_size(self.inputs[0].owner)  # type: ignore[arg-type]
        n_post = _size(self.out)
        if rows.size:
            for col, label, hi in ((0, "pre", n_pre), (1, "post", n_post)):
                if rows[:, col].min() < 0 or rows[:, col].max() >= hi:
                    bad = int(rows[:, col].max() if rows[:, col].max() >= hi else rows[:, col].min())
                    raise _err(self, f"{label} index {bad} outside 0..{hi - 1}")
            key = rows[:, 0].astype(np.int64) * max(1, n_post) + rows[:, 1]
            if _repeats(key):
                raise _err(self, "a (pre, post) pair is listed twice")
            if rows[:, 3].min() < 0:
                raise _err(self, f"delays must be >= 0, found {int(rows[:, 3].min())}")


def _repeats(key: np.ndarray) -> bool:
    """Whether a value occurs twice: one pass where the keys ascend (as
    nirc writes connection lists), else a sort (numpy 2's ``np.unique``
    hashes: 16 of the 86 s of compiling a 19 M-synapse network)."""
    if key.size < 2 or bool(np.all(key[1:] > key[:-1])):
        return False
    s = np.sort(key)
    return bool(np.any(s[1:] == s[:-1]))


@irdl_op_definition
class Conv2dOp(IRDLOperation):
    """``snn.Conv2DProjection`` (see the module docstring)."""

    name = "spinnaker2.conv2d"
    projection_name = prop_def(StringAttr, prop_name="name")
    weights = prop_def(DenseIntOrFPElementsAttr)
    in_height = prop_def(IntegerAttr)
    in_width = prop_def(IntegerAttr)
    stride_x = prop_def(IntegerAttr)
    stride_y = prop_def(IntegerAttr)
    pool_x = prop_def(IntegerAttr)
    pool_y = prop_def(IntegerAttr)
    pad_top = prop_def(IntegerAttr)
    pad_bottom = prop_def(IntegerAttr)
    pad_left = prop_def(IntegerAttr)
    pad_right = prop_def(IntegerAttr)
    inputs = var_operand_def(TensorType)
    out = result_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict `:` type($out)"

    def geometry(self) -> Conv2d:
        w = attr_to_array(self.weights)
        f = {k: _int(self, k) for k in CONV_FIELDS}
        return Conv2d(in_channels=int(w.shape[0]), out_channels=int(w.shape[1]),
                      kernel_h=int(w.shape[2]), kernel_w=int(w.shape[3]), **f)  # fmt: skip

    def verify_(self) -> None:
        if len(self.inputs) != 1:
            raise _err(self, "reads exactly one source (a spike source or a population)")
        w = attr_to_array(self.weights)
        if w.dtype != np.int8 or w.ndim != 4:
            raise _err(self, f"`weights` must be int8 (C_in, C_out, kH, kW), found {w.dtype} of "
                       f"shape {list(w.shape)}")  # fmt: skip
        if w.size and w.min() < -127:
            raise _err(self, f"weight {int(w.min())} outside [-127, 127]")
        f = {k: _int(self, k) for k in CONV_FIELDS}
        for k in ("in_height", "in_width", "stride_x", "stride_y", "pool_x", "pool_y"):
            if f[k] < 1:
                raise _err(self, f"`{k}` must be >= 1, found {f[k]}")
        for k in ("pad_top", "pad_bottom", "pad_left", "pad_right"):
            if f[k] < 0:
                raise _err(self, f"`{k}` must be >= 0, found {f[k]}")
        if f["in_height"] % f["pool_y"] or f["in_width"] % f["pool_x"]:
            raise _err(self, f"pooling {f['pool_y']}x{f['pool_x']} must divide the input "
                       f"{f['in_height']}x{f['in_width']}")  # fmt: skip
        g = self.geometry()
        n_pre = _source_size(self.inputs[0].owner)  # type: ignore[arg-type]
        if n_pre != g.in_channels * g.in_height * g.in_width:
            raise _err(self, f"the source has {n_pre} neurons; C_in x in_height x in_width is "
                       f"{g.in_channels} x {g.in_height} x {g.in_width}")  # fmt: skip
        c, oh, ow = g.out_shape
        if oh < 1 or ow < 1:
            raise _err(self, "the kernel does not fit the padded (pooled) input")
        if _size(self.out) != c * oh * ow:
            raise _err(self, f"the convolution gives {c} x {oh} x {ow} = {c * oh * ow} neurons; "
                       f"the result carries {_size(self.out)}")  # fmt: skip


@irdl_op_definition
class PopulationOp(IRDLOperation):
    """``snn.Population`` of a neuron model (see the module docstring)."""

    name = "spinnaker2.population"
    population_name = prop_def(StringAttr, prop_name="name")
    neuron_model = prop_def(StringAttr)
    shape = prop_def(DenseArrayBase)
    threshold = prop_def(DenseIntOrFPElementsAttr)
    alpha_decay = prop_def(DenseIntOrFPElementsAttr)
    i_offset = prop_def(DenseIntOrFPElementsAttr)
    v_init = prop_def(DenseIntOrFPElementsAttr)
    v_reset = prop_def(DenseIntOrFPElementsAttr)
    exc_decay = opt_prop_def(DenseIntOrFPElementsAttr)
    inh_decay = opt_prop_def(DenseIntOrFPElementsAttr)
    t_refrac = opt_prop_def(IntegerAttr)
    reset = prop_def(StringAttr)
    record = prop_def(ArrayAttr)
    max_atoms_per_core = prop_def(IntegerAttr)
    weight_scale = prop_def(FloatAttr)
    spike_gain = prop_def(IntegerAttr)
    lag = prop_def(IntegerAttr)
    role = opt_prop_def(StringAttr)
    copies = opt_prop_def(IntegerAttr)
    inputs = var_operand_def(TensorType)
    out = result_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name (`(` $inputs^ `:` type($inputs) `)`)? attr-dict `:` type($out)"

    @property
    def elements(self) -> int:
        return int(np.prod(_ints(self.shape)))

    @property
    def size(self) -> int:
        """Chip neurons: the elements times their copies."""
        return self.elements * _int(self, "copies", 1)

    @property
    def model(self) -> str:
        return self.neuron_model.data

    def verify_(self) -> None:
        model = self.model
        if model not in NEURON_MODELS:
            raise _err(self, f"unknown neuron_model {model!r}; py-spinnaker2 has "
                       f"{', '.join(NEURON_MODELS)} (and spike_list: spinnaker2.spike_source)")  # fmt: skip
        shape = _ints(self.shape)
        if not shape or any(d < 1 for d in shape):
            raise _err(self, f"shape must be positive, found {list(shape)}")
        n = self.size
        if _size(self.out) != n:
            raise _err(self, f"the result carries {_size(self.out)} spikes for {n} neurons")
        role = NEURON if self.role is None else self.role.data
        if role not in (NEURON, RELAY):
            raise _err(self, f"role must be neuron or relay, found {role!r}")
        current = model in CURRENT_MODELS
        for f in PARAMS + CURRENT_PARAMS:
            attr = self.properties.get(f)
            if attr is None:
                if f in CURRENT_PARAMS and current:
                    raise _err(self, f"`{model}` needs `{f}`")
                continue
            if f in CURRENT_PARAMS and not current:
                raise _err(self, f"`{f}` belongs to the current-based models, not `{model}`")
            a = attr_to_array(attr)  # type: ignore[arg-type]
            if a.dtype != np.float32 or a.shape not in ((), (n,)):
                raise _err(self, f"`{f}` must be float32, 0-d or [{n}] (one per neuron), found "
                           f"{a.dtype} of shape {list(a.shape)}")  # fmt: skip
            if not np.all(np.isfinite(a)):
                raise _err(self, f"`{f}` holds non-finite values")
            if f in ("alpha_decay",) + CURRENT_PARAMS and (a.min() < 0 or a.max() > 1):
                raise _err(self, f"`{f}` must be in [0, 1] (a decay factor per step), found "
                           f"values in [{a.min():g}, {a.max():g}]")  # fmt: skip
        if self.t_refrac is not None:
            if not current:
                raise _err(self, f"`t_refrac` belongs to the current-based models, not `{model}`")
            if _int(self, "t_refrac") < 0:
                raise _err(self, "`t_refrac` must be >= 0")
        if self.reset.data not in RESETS:
            raise _err(self, f"reset must be one of {', '.join(RESETS)}, found {self.reset.data!r}")
        for r in self.record.data:
            if not isinstance(r, StringAttr) or r.data not in RECORDABLES:
                raise _err(self, f"record holds {', '.join(RECORDABLES)}, found {r}")
        m = _int(self, "max_atoms_per_core")
        limit = SPINNAKER2.capacity.neurons_per_core
        if not 1 <= m <= limit:
            raise _err(self, f"max_atoms_per_core must be in 1..{limit} (the synapse word's "
                       f"8-bit target index), found {m}")  # fmt: skip
        if not float(self.weight_scale.value.data) > 0:
            raise _err(self, "weight_scale must be > 0")
        if _int(self, "spike_gain") < 1 or _int(self, "lag") < 0 or _int(self, "copies", 1) < 1:
            raise _err(self, "spike_gain and copies must be >= 1 and lag >= 0")
        lo, hi = SPINNAKER2.models[model].weight_range or (0, 0)
        dlo, dhi = SPINNAKER2.models[model].delay_range or (0, 0)
        convs = 0
        for v in self.inputs:
            src = v.owner
            if not isinstance(src, ConnectionsOp | Conv2dOp):
                what = src.name if isinstance(src, Operation) else "a block argument"
                raise _err(self, f"reads {what}: a population's operands are projections")
            if _size(v) != n:
                raise _err(self, f"projection {_label(src)} targets {_size(v)} neurons, the "
                           f"population has {n}")  # fmt: skip
            if isinstance(src, Conv2dOp):
                convs += 1
                w = attr_to_array(src.weights)
                if model != "lif_conv2d":
                    raise _err(self, f"a Conv2DProjection feeds lif_conv2d populations only, "
                               f"not `{model}`")  # fmt: skip
                if w.size and (w.min() < lo or w.max() > hi):
                    raise _err(self, f"{_label(src)}: weights in [{w.min()}, {w.max()}] outside "
                               f"`{model}`'s [{lo}, {hi}]")  # fmt: skip
                continue
            rows = src.rows()
            if rows.size and (rows[:, 2].min() < lo or rows[:, 2].max() > hi):
                raise _err(self, f"{_label(src)}: weights in [{rows[:, 2].min()}, "
                           f"{rows[:, 2].max()}] outside `{model}`'s [{lo}, {hi}]")  # fmt: skip
            if rows.size and (rows[:, 3].min() < dlo or rows[:, 3].max() > dhi):
                raise _err(self, f"{_label(src)}: delays in {rows[:, 3].min()}..{rows[:, 3].max()} "
                           f"outside `{model}`'s {dlo}..{dhi}")  # fmt: skip
        if model == "lif_conv2d" and convs != 1:
            raise _err(self, f"a lif_conv2d population is fed by exactly one Conv2DProjection, "
                       f"found {convs}")  # fmt: skip


@irdl_op_definition
class OutputOp(IRDLOperation):
    """A graph Output: a population's spikes or voltage."""

    name = "spinnaker2.output"
    output_name = prop_def(StringAttr, prop_name="name")
    shape = prop_def(DenseArrayBase)
    reads = prop_def(StringAttr)
    inputs = var_operand_def(TensorType)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name `(` $inputs `:` type($inputs) `)` attr-dict"

    def verify_(self) -> None:
        if len(self.inputs) != 1 or not isinstance(self.inputs[0].owner, PopulationOp):
            raise _err(self, "reads exactly one spinnaker2.population")
        pop = self.inputs[0].owner
        if self.reads.data not in ("spikes", "v"):
            raise _err(self, f"reads spikes or v, found {self.reads.data!r}")
        recorded = {r.data for r in pop.record.data}  # type: ignore[union-attr]
        if self.reads.data not in recorded:
            raise _err(self, f"reads {self.reads.data} of {_label(pop)}, which does not record it")
        shape = _ints(self.shape)
        if int(np.prod(shape)) != pop.elements:
            raise _err(self, f"shape {list(shape)} does not hold the {pop.elements} elements of "
                       f"{_label(pop)}")  # fmt: skip


@irdl_op_definition
class PlacementOp(IRDLOperation):
    """Where every neuron sits (see the module docstring)."""

    name = "spinnaker2.placement"
    pes_per_chip = prop_def(IntegerAttr)
    chips = prop_def(IntegerAttr)
    neurons_per_pe = prop_def(IntegerAttr)
    memory_per_pe = prop_def(FloatAttr)
    bytes_per_neuron = prop_def(FloatAttr)
    recorded_steps = prop_def(IntegerAttr)
    record_voltages = prop_def(IntegerAttr)
    method = prop_def(StringAttr)
    traffic = opt_prop_def(FloatAttr)
    baseline_traffic = opt_prop_def(FloatAttr)
    populations = prop_def(ArrayAttr)
    pes = prop_def(ArrayAttr)

    traits = traits_def(HasParent(NetworkOp))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict"

    def capacity(self):
        return replace(
            SPINNAKER2.capacity,
            cores_per_chip=_int(self, "pes_per_chip"),
            chips=_int(self, "chips"),
            neurons_per_core=_int(self, "neurons_per_pe"),
            memory_per_core=float(self.memory_per_pe.value.data),
            bytes_per_neuron=float(self.bytes_per_neuron.value.data),
            recorded_steps=_int(self, "recorded_steps"),
            record_voltages=bool(_int(self, "record_voltages")),
        )

    def figures(self) -> dict[str, object]:
        """The method and the partitioner's traffic figures (those present)."""
        out: dict[str, object] = {"method": self.method.data}
        for f in ("traffic", "baseline_traffic"):
            a = self.properties.get(f)
            if a is not None:
                out[f] = float(a.value.data)  # type: ignore[attr-defined]
        return out

    def table(self) -> dict[str, np.ndarray]:
        names = [s.data for s in self.populations.data]  # type: ignore[union-attr]
        return {n: attr_to_array(a) for n, a in zip(names, self.pes.data)}  # type: ignore[arg-type]

    def verify_(self) -> None:
        if len(self.populations.data) != len(self.pes.data):
            raise _err(self, f"{len(self.populations.data)} populations but "
                       f"{len(self.pes.data)} PE tables: one per population")  # fmt: skip
        total = _int(self, "pes_per_chip") * _int(self, "chips")
        for n, a in self.table().items():
            if a.dtype != np.int32 or a.ndim != 1:
                raise _err(self, f'"{n}": PE ids must be a 1-D int32 tensor, found {a.dtype}')
            if a.size and (a.min() < 0 or a.max() >= total):
                bad = int(a.max() if a.max() >= total else a.min())
                raise _err(self, f'"{n}": PE {bad} does not exist ({_int(self, "chips")} chip(s) '
                           f'of {_int(self, "pes_per_chip")} PEs: ids 0..{total - 1})')  # fmt: skip

    def check(self, network: NetworkOp) -> None:
        """Every neuron of ``network`` placed once; every PE and chip within
        capacity (by the chip's formulas, recomputed from the network)."""
        from nirc.diagnostics import NircError

        from .placement import NetworkPlacement, _population_placement, pe_loads, whole_populations
        from .rules import check_loadable

        table = self.table()
        sizes = {}
        for op in network.block.ops:
            if isinstance(op, SpikeSourceOp):
                sizes[op.source_name.data] = int(np.prod(_ints(op.shape))) * _int(op, "copies", 1)
            elif isinstance(op, PopulationOp):
                sizes[op.population_name.data] = op.size
        missing = sorted(set(sizes) - set(table))
        extra = sorted(set(table) - set(sizes))
        if missing or extra:
            raise _err(self, "every population is placed once: "
                       + (f"not placed: {', '.join(missing)}" if missing else "")
                       + ("; " if missing and extra else "")
                       + (f"no such population: {', '.join(extra)}" if extra else ""))  # fmt: skip
        for n, size in sizes.items():
            if table[n].size != size:
                raise _err(self, f'"{n}": {table[n].size} PE ids for its {size} neurons '
                           "(each neuron is placed exactly once)")  # fmt: skip
        net = read_network_op(network, with_placement=False)
        cap = self.capacity()
        placement = NetworkPlacement(
            cap.cores_per_chip, {n: _population_placement(n, a) for n, a in table.items()}
        )  # fmt: skip
        try:
            check_loadable(placement.populations, whole_populations(net), "placement")
        except NircError as e:
            raise _err(self, f"{e.message}: found {e.found}; expected {e.expected}") from None
        loads, router = pe_loads(net, placement)
        for pe, ld in loads.items():
            chip, local = divmod(pe, cap.cores_per_chip)
            if ld.neurons > cap.neurons_per_core:
                raise _err(self, f"chip {chip} PE {local} holds {ld.neurons} neurons, more than "
                           f"{cap.neurons_per_core}")  # fmt: skip
            need = cap.memory(ld)
            if need > cap.memory_per_core:
                raise _err(self, f"chip {chip} PE {local} needs {need:,.0f} bytes of data memory "
                           f"for {ld.neurons} neurons, {ld.synapses} synapses, {ld.input_axons} "
                           f"synapse rows, {ld.source_slices} master population table entries "
                           f"and {ld.recorded} recorded neurons; it has {cap.memory_per_core:,.0f}")  # fmt: skip
        for chip, entries in router.items():
            if entries > SPINNAKER2.router_entries:
                raise _err(self, f"chip {chip} needs {entries} router entries, more than "
                           f"{SPINNAKER2.router_entries}")  # fmt: skip


SPINNAKER2_DIALECT = Dialect(
    "spinnaker2",
    [NetworkOp, SpikeSourceOp, ConnectionsOp, Conv2dOp, PopulationOp, OutputOp, PlacementOp],
    [],
)


# --------------------------------------------------------------------------------------
# the network as Python objects, to and from the dialect
# --------------------------------------------------------------------------------------


def _hint(name: str) -> str | None:
    from nirc.passes.discretize import _hint as hint

    return hint(name)


def _f32_attr(value, n: int) -> DenseIntOrFPElementsAttr:
    a = np.asarray(value, np.float32)
    if a.ndim and a.size and np.all(a == a.reshape(-1)[0]):
        a = np.asarray(a.reshape(-1)[0], np.float32)
    return array_to_attr(a.reshape(()) if a.size == 1 and a.ndim else a)


def build_network(net: Network, placement=None, capacity=None) -> ModuleOp:
    """The ``spinnaker2.network`` module of ``net`` (with its placement)."""
    block = Block()
    values: dict[str, SSAValue] = {}
    pending: list[tuple[Operation, str]] = []
    proj_ops: dict[str, list[Operation]] = {}

    for p in net.populations:
        if p.role in (INPUT, BIAS):
            props = {"name": StringAttr(p.name), "shape": _int_array(p.shape),
                     "copies": IntegerAttr(p.copies, i64)}  # fmt: skip
            if p.role == BIAS:
                props["role"] = StringAttr(BIAS)
                props["start"] = IntegerAttr(p.start, i64)
            op = SpikeSourceOp.create(properties=props, result_types=[spikes_type(p.size)])
            op.out.name_hint = _hint(p.name)
            block.add_op(op)
            values[p.name] = op.out
    for p in net.populations:
        if p.role in (INPUT, BIAS):
            continue
        ops = []
        for pr in net.incoming(p.name):
            op = _projection_op(pr, p)
            ops.append(op)
            if pr.pre in values:
                op.operands = [values[pr.pre]]
            else:
                pending.append((op, pr.pre))
            block.add_op(op)
        proj_ops[p.name] = ops
        props = {
            "name": StringAttr(p.name),
            "neuron_model": StringAttr(p.model),
            "shape": _int_array(p.shape),
            "reset": StringAttr(str(p.params.get("reset", "reset_to_v_reset"))),
            "record": ArrayAttr([StringAttr(r) for r in p.record]),
            "max_atoms_per_core": IntegerAttr(p.max_atoms_per_core, i64),
            "weight_scale": FloatAttr(float(p.v_scale), f64),
            "spike_gain": IntegerAttr(p.spike_gain, i64),
            "lag": IntegerAttr(p.lag, i64),
        }
        for f in PARAMS:
            default = {"threshold": np.finfo(np.float32).max, "alpha_decay": 1.0}.get(f, 0.0)
            props[f] = _f32_attr(p.params.get(f, default), p.size)
        if p.model in CURRENT_MODELS:
            for f in CURRENT_PARAMS:
                props[f] = _f32_attr(p.params.get(f, 0.0), p.size)
            props["t_refrac"] = IntegerAttr(int(p.params.get("t_refrac", 0) or 0), i64)
        if p.role == RELAY:
            props["role"] = StringAttr(RELAY)
        if p.copies > 1:
            props["copies"] = IntegerAttr(p.copies, i64)
        op = PopulationOp.create(operands=[o.out for o in ops], properties=props,
                                 result_types=[spikes_type(p.size)])  # fmt: skip
        op.out.name_hint = _hint(p.name)
        block.add_op(op)
        values[p.name] = op.out
    for op, pre in pending:
        op.operands = [values[pre]]
    for o in net.outputs:
        block.add_op(OutputOp.create(
            operands=[values[o.population]],
            properties={"name": StringAttr(o.name), "shape": _int_array(o.shape),
                        "reads": StringAttr(o.reads)}))  # fmt: skip
    if placement is not None and capacity is not None:
        names = [p.name for p in net.populations]
        block.add_op(PlacementOp.create(properties={
            "pes_per_chip": IntegerAttr(capacity.cores_per_chip, i64),
            "chips": IntegerAttr(capacity.chips, i64),
            "neurons_per_pe": IntegerAttr(capacity.neurons_per_core, i64),
            "memory_per_pe": FloatAttr(float(capacity.memory_per_core), f64),
            "bytes_per_neuron": FloatAttr(float(capacity.bytes_per_neuron), f64),
            "recorded_steps": IntegerAttr(int(capacity.recorded_steps), i64),
            "record_voltages": IntegerAttr(int(bool(capacity.record_voltages)), i64),
            "method": StringAttr(placement.method),
            "traffic": FloatAttr(float(placement.traffic), f64),
            "baseline_traffic": FloatAttr(float(placement.baseline_traffic), f64),
            "populations": ArrayAttr([StringAttr(n) for n in names]),
            "pes": ArrayAttr([array_to_attr(placement.populations[n].pes.astype(np.int32))
                              for n in names]),
        }))  # fmt: skip
    props = {"dt": FloatAttr(float(net.dt), f64), "source": StringAttr(net.source),
             "reset": StringAttr(net.reset)}  # fmt: skip
    top = NetworkOp.create(properties=props, regions=[Region(block)])
    return ModuleOp([top])


def _projection_op(pr: Projection, post: Population) -> Operation:
    if pr.conv is not None and post.model == "lif_conv2d":
        g = pr.conv
        k = np.asarray(pr.kernel).astype(np.int8).swapaxes(0, 1).copy()  # (C_in, C_out, kH, kW)
        props = {"name": StringAttr(pr.name), "weights": array_to_attr(k)}
        for f, v in g.conv_params().items():
            props[f] = IntegerAttr(int(v), i64)
        return Conv2dOp.create(properties=props, result_types=[TensorType(f32, [post.size])])
    rows = pr.connection_list().astype(np.int32)
    return ConnectionsOp.create(
        properties={"name": StringAttr(pr.name), "connections": array_to_attr(rows)},
        result_types=[TensorType(f32, [post.size])],
    )


def placement_op(module) -> PlacementOp | None:
    """The ``spinnaker2.placement`` of a ``spinnaker2`` module, or None."""
    top = next((op for op in module.ops if isinstance(op, NetworkOp)), None)
    if top is None:
        return None
    return next((op for op in top.block.ops if isinstance(op, PlacementOp)), None)


def read_network(module) -> tuple[Network, dict[str, np.ndarray] | None, object]:
    """(the :class:`Network`, PE ids by population or None, the capacity of
    the placement or None) of a ``spinnaker2`` module."""
    top = next((op for op in module.ops if isinstance(op, NetworkOp)), None)
    if top is None:
        from nirc.diagnostics import NircError

        raise NircError("not a spinnaker2 module", expected="a module holding spinnaker2.network")
    net = read_network_op(top, with_placement=False)
    place = next((op for op in top.block.ops if isinstance(op, PlacementOp)), None)
    if place is None:
        return net, None, None
    return net, place.table(), place.capacity()


def read_network_op(top: NetworkOp, *, with_placement: bool = False) -> Network:
    from .sparse import Coo

    pops: list[Population] = []
    projections: list[Projection] = []
    outputs: list[Output] = []
    names: dict[SSAValue, str] = {}
    for op in top.block.ops:
        if isinstance(op, SpikeSourceOp):
            role = op.kind
            p = Population(op.source_name.data, "spike_list", _ints(op.shape), role=role,
                           copies=_int(op, "copies", 1),
                           start=_int(op, "start", 0) if role == BIAS else 0)  # fmt: skip
            if role == BIAS:
                p.lag = p.start
            pops.append(p)
            names[op.out] = p.name
        elif isinstance(op, PopulationOp):
            names[op.out] = op.population_name.data
    for op in top.block.ops:
        if isinstance(op, PopulationOp):
            params: dict[str, object] = {}
            for f in PARAMS + CURRENT_PARAMS:
                attr = op.properties.get(f)
                if attr is not None:
                    a = attr_to_array(attr).astype(np.float32)  # type: ignore[arg-type]
                    params[f] = float(a) if a.ndim == 0 else a.copy()
            if op.t_refrac is not None:
                params["t_refrac"] = _int(op, "t_refrac")
            params["reset"] = op.reset.data
            name = op.population_name.data
            p = Population(
                name, op.model, _ints(op.shape), role=NEURON if op.role is None else op.role.data,
                params=params, record=tuple(r.data for r in op.record.data),  # type: ignore[union-attr]
                max_atoms_per_core=_int(op, "max_atoms_per_core"),
                v_scale=float(op.weight_scale.value.data), spike_gain=_int(op, "spike_gain"),
                lag=_int(op, "lag"), copies=_int(op, "copies", 1),
                spiking=float(np.min(attr_to_array(op.threshold))) < np.finfo(np.float32).max,
            )  # fmt: skip
            pops.append(p)
            for v in op.inputs:
                src = v.owner
                pre = names[src.inputs[0]]  # type: ignore[union-attr]
                pre_op = src.inputs[0].owner  # type: ignore[union-attr]
                n_pre = _source_size(pre_op)  # type: ignore[arg-type]
                if isinstance(src, Conv2dOp):
                    g = src.geometry()
                    kernel = attr_to_array(src.weights).swapaxes(0, 1).astype(np.float64)
                    m = g.matrix(kernel)
                    projections.append(Projection(src.projection_name.data, pre, name, m,
                                                  conv=g, kernel=kernel))  # fmt: skip
                    continue
                rows = src.rows().astype(np.int64)
                w = Coo(rows[:, 1], rows[:, 0], rows[:, 2].astype(np.float64), (p.size, n_pre))
                delays = rows[:, 3] if rows.size and rows[:, 3].any() else None
                projections.append(Projection(src.projection_name.data, pre, name, w, delays))
        elif isinstance(op, OutputOp):
            outputs.append(Output(op.output_name.data, names[op.inputs[0]], _ints(op.shape),
                                  op.reads.data))  # fmt: skip
    dt = float(top.dt.value.data)
    src = top.source.data if top.source is not None else "nir"
    reset = top.reset.data if top.reset is not None else "zero"
    return Network(dt, pops, projections, outputs, source=src, reset=reset)


__all__ = [
    "ConnectionsOp",
    "Conv2dOp",
    "NetworkOp",
    "OutputOp",
    "PlacementOp",
    "PopulationOp",
    "SPINNAKER2_DIALECT",
    "SpikeSourceOp",
    "build_network",
    "placement_op",
    "read_network",
    "read_network_op",
]
