"""The `placement` dialect: where every neuron of a network sits, checked.

The `partition` pass records its result as one ``placement.map`` op at module
level, next to the ``snn.graph`` it places; target lowerings read it (and
keep it next to their own ops) instead of recomputing it::

    builtin.module {
      snn.graph attributes {...} { ... }
      placement.map attributes {target = "loihi2", cores_per_chip = 128 : i64,
          chips = 1 : i64, neurons_per_core = 8192 : i64,
          memory_per_core = 1.310720e+05 : f64, method = "mt-kahypar",
          traffic = 1.2e+03 : f64, baseline_traffic = 4.0e+03 : f64,
          core_ids = dense<[0, 1]> : tensor<2xi32>,
          core_loads = dense<[[4096, 0, 288, 2312, 1, 0], [4106, 2560, 2304, 4352, 2, 10]]> : tensor<2x6xi64>,
          core_memory = dense<[5.1e+04, 6.0e+04]> : tensor<2xf64>} {
        placement.population "conv1" {cores = dense<...> : tensor<4096xi32>}
        placement.population "fc" {cores = dense<1> : tensor<10xi32>}
      }
    }

- ``placement.population "name" {cores}``: one per placed population (every
  ``snn.neuron``, named by its layer; every ``snn.input`` when
  ``inputs_placed``): the *global core id* (``chip * cores_per_chip + core``)
  of each neuron, in the flat (C) order of the population's shape.
- ``placement.map``: the machine it was made for (``target``,
  ``cores_per_chip``, ``chips``) and the limits it was checked against
  (``neurons_per_core``, ``memory_per_core``); ``method`` (the partitioner that
  won, ``index-order`` when the vendors' slicing was as good), ``traffic`` and
  ``baseline_traffic`` (the weighted spike copies per step of this placement
  and of index-order slicing; see :mod:`nirc.passes.partition`); and the core
  table: ``core_ids`` (sorted), ``core_loads`` (one row per core: neurons,
  synapses, shared weights, input axons, source slices, recorded neurons; see
  :class:`nirc.passes.partition.CoreLoad`) and ``core_memory`` (bytes, by the
  target's memory formula) of every used core.

The verifier checks that every core id is on the machine, every core of the
table is within ``neurons_per_core`` and ``memory_per_core``, the populations
put exactly the table's neuron counts on each core and no neuron on a core
outside it, and, when the module holds an ``snn.graph``, that every neuron of
it is placed exactly once: one population per ``snn.neuron`` (and per
``snn.input`` when ``inputs_placed``), of its size, and no other.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Block, Dialect
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    lazy_traits_def,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.traits import HasParent, NoTerminator
from xdsl.utils.exceptions import VerifyException

__all__ = ["LOAD_COLUMNS", "PLACEMENT", "MapOp", "PopulationOp"]

LOAD_COLUMNS = ("neurons", "synapses", "shared_weights", "input_axons", "source_slices", "recorded")


def _array(op: IRDLOperation, field: str, kinds: str) -> np.ndarray:
    from nirc.dialects.nir import attr_to_array

    attr = op.properties.get(field)
    if not isinstance(attr, DenseIntOrFPElementsAttr):
        raise VerifyException(f"{op.name}: `{field}` must be a dense tensor")
    a = attr_to_array(attr)
    if a.ndim != 1 or a.dtype.kind not in kinds:
        want = "integers" if kinds == "iu" else "numbers"
        raise VerifyException(
            f"{op.name}: `{field}` must be a 1-D tensor of {want}, found shape "
            f"{list(a.shape)} of {a.dtype}"
        )
    return a


@irdl_op_definition
class PopulationOp(IRDLOperation):
    """The global core id of every neuron of one population (flat order)."""

    name = "placement.population"
    population = prop_def(StringAttr, prop_name="name")
    cores = prop_def(DenseIntOrFPElementsAttr)

    traits = lazy_traits_def(lambda: (HasParent(MapOp),))
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$name attr-dict"

    def core_array(self) -> np.ndarray:
        return _array(self, "cores", "iu")

    def verify_(self) -> None:
        label = f'placement.population "{self.population.data}"'
        if not self.population.data:
            raise VerifyException("placement.population: the population needs a name")
        from nirc.dialects.nir import attr_to_array

        a = attr_to_array(self.cores)
        if a.ndim != 1 or a.dtype != np.int32:
            raise VerifyException(
                f"{label}: `cores` must be a 1-D tensor of i32 (one core id per neuron), "
                f"found shape {list(a.shape)} of {a.dtype}"
            )
        if a.size and a.min() < 0:
            raise VerifyException(f"{label}: core ids must be >= 0, found {int(a.min())}")


@irdl_op_definition
class MapOp(IRDLOperation):
    """A placement of a network onto a machine's cores (see the module docstring)."""

    name = "placement.map"
    target = prop_def(StringAttr)
    cores_per_chip = prop_def(IntegerAttr)
    chips = prop_def(IntegerAttr)
    neurons_per_core = prop_def(IntegerAttr)
    memory_per_core = opt_prop_def(FloatAttr)
    method = prop_def(StringAttr)
    traffic = prop_def(FloatAttr)
    baseline_traffic = prop_def(FloatAttr)
    core_ids = prop_def(DenseIntOrFPElementsAttr)
    core_loads = prop_def(DenseIntOrFPElementsAttr)
    core_memory = prop_def(DenseIntOrFPElementsAttr)
    inputs_placed = opt_prop_def(UnitAttr)
    body = region_def("single_block")

    traits = traits_def(NoTerminator())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "attr-dict-with-keyword $body"

    @property
    def block(self) -> Block:
        if not self.body.blocks:
            self.body.add_block(Block())
        return self.body.blocks[0]

    def populations(self) -> list[PopulationOp]:
        return [op for op in self.block.ops if isinstance(op, PopulationOp)]

    def verify_(self) -> None:
        parent = self.parent_op()
        if parent is not None and not isinstance(parent, ModuleOp):
            raise VerifyException("placement.map must sit directly in a builtin.module")
        for op in self.block.ops:
            if not isinstance(op, PopulationOp):
                raise VerifyException(
                    f"placement.map may only hold placement.population ops, found {op.name}"
                )
        cpc = int(self.cores_per_chip.value.data)
        chips = int(self.chips.value.data)
        per_core = int(self.neurons_per_core.value.data)
        memory = (
            float(self.memory_per_core.value.data) if self.memory_per_core is not None else np.inf
        )
        for label, v, low in (("cores_per_chip", cpc, 1), ("chips", chips, 1),
                              ("neurons_per_core", per_core, 1)):  # fmt: skip
            if v < low:
                raise VerifyException(f"placement.map: `{label}` must be >= {low}, found {v}")
        for label, attr in (("memory_per_core", self.memory_per_core), ("traffic", self.traffic),
                            ("baseline_traffic", self.baseline_traffic)):  # fmt: skip
            if attr is None:
                continue
            v = float(attr.value.data)
            if not np.isfinite(v) or v < 0:
                raise VerifyException(f"placement.map: `{label}` must be finite and >= 0, found {v}")
        ids = _array(self, "core_ids", "iu").astype(np.int64)
        mem = _array(self, "core_memory", "iuf").astype(np.float64)
        from nirc.dialects.nir import attr_to_array

        loads = attr_to_array(self.core_loads)
        if loads.dtype.kind not in "iu" or loads.shape != (len(ids), len(LOAD_COLUMNS)):
            raise VerifyException(
                f"placement.map: `core_loads` must be a {len(ids)}x{len(LOAD_COLUMNS)} integer "
                f"tensor (a row per core: {', '.join(LOAD_COLUMNS)}), found shape "
                f"{list(loads.shape)} of {loads.dtype}"
            )
        if len(mem) != len(ids):
            raise VerifyException(
                f"placement.map: `core_memory` has {len(mem)} entries for {len(ids)} cores"
            )
        if loads.size and loads.min() < 0:
            raise VerifyException("placement.map: `core_loads` must be >= 0")
        neurons = loads[:, 0].astype(np.int64)
        if len(ids) > 1 and (np.diff(ids) <= 0).any():
            raise VerifyException("placement.map: `core_ids` must be strictly increasing")
        total = cpc * chips
        if len(ids) and (ids.min() < 0 or ids.max() >= total):
            bad = int(ids[(ids < 0) | (ids >= total)][0])
            raise VerifyException(
                f"placement.map: core {bad} is not on the machine ({chips} chip(s) x {cpc} "
                f"cores: ids 0..{total - 1})"
            )
        for i in range(len(ids)):
            where = f"core {ids[i]} (chip {ids[i] // cpc}, core {ids[i] % cpc})"
            if neurons[i] > per_core:
                raise VerifyException(
                    f"placement.map: {where} holds {neurons[i]} neurons; at most "
                    f"{per_core} fit a core"
                )
            if not np.isfinite(mem[i]) or mem[i] > memory:
                raise VerifyException(
                    f"placement.map: {where} needs {mem[i]:g} bytes; a core has {memory:g}"
                )
        counts = np.zeros(len(ids), np.int64)
        names: set[str] = set()
        sizes: dict[str, int] = {}
        for pop in self.populations():
            name = pop.population.data
            if name in names:
                raise VerifyException(f'placement.map: population "{name}" is placed twice')
            names.add(name)
            a = pop.core_array().astype(np.int64)
            sizes[name] = int(a.size)
            at = np.searchsorted(ids, a)
            ok = np.zeros(a.size, bool)
            if len(ids):
                ok = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == a)
            if not ok.all():
                j = int(np.flatnonzero(~ok)[0])
                raise VerifyException(
                    f'placement.map: population "{name}": neuron {j} is on core {a[j]}, '
                    "which is not in the core table"
                )
            counts += np.bincount(at, minlength=len(ids))
        diff = np.flatnonzero(counts != neurons)
        if len(diff):
            i = int(diff[0])
            raise VerifyException(
                f"placement.map: core {ids[i]}: the populations place {counts[i]} neurons "
                f"on it, the core table says {neurons[i]}"
            )
        self._check_graph(sizes)

    def _check_graph(self, sizes: dict[str, int]) -> None:
        """Every neuron of a sibling snn.graph placed exactly once."""
        module = self.parent_op()
        if module is None:
            return
        from nirc.dialects import snn

        graphs = [op for op in module.ops if isinstance(op, snn.GraphOp)]
        if len(graphs) != 1:
            return
        want: dict[str, tuple[str, int]] = {}
        for op in snn.flat_ops(graphs[0]):
            if isinstance(op, snn.NeuronOp):
                parent = op.parent_op()
                name = snn.node_name(parent if isinstance(parent, snn.LayerOp) else op)
                shape = snn.shape_of(op.out.type)
            elif isinstance(op, snn.InputOp) and self.inputs_placed is not None:
                name, shape = snn.node_name(op), op.declared_shape()
            else:
                continue
            n = int(np.prod(shape, dtype=np.int64)) if shape is not None else -1
            want[name] = (op.name, n)
        for name, (kind, n) in want.items():
            if name not in sizes:
                raise VerifyException(
                    f'placement.map: {kind} "{name}" is not placed (no placement.population '
                    "of that name)"
                )
            if n >= 0 and sizes[name] != n:
                raise VerifyException(
                    f'placement.map: population "{name}" places {sizes[name]} neurons; '
                    f"{kind} \"{name}\" has {n}"
                )
        extra = sorted(set(sizes) - set(want))
        if extra:
            raise VerifyException(
                f'placement.map: population "{extra[0]}" names no snn.neuron'
                + (" or placed snn.input" if self.inputs_placed is not None else "")
                + " of the graph"
            )


PLACEMENT = Dialect("placement", [MapOp, PopulationOp], [])
