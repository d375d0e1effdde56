"""Populations onto processing elements (PEs) and chips.

The chip network is placed by the generic `partition` pass
(:func:`nirc.passes.partition.place`), which reads a fused `snn` module. The
network nirc runs on SpiNNaker2 has populations the float graph does not
(copies, always-on bias sources, relays), so :func:`placement_module`
renders the chip network itself as a fused `snn` module for the placer: one
``snn.input`` per spike source (of its chip shape: copies included), one
``snn.layer`` per neuron population whose
synapses have the connectivity of its projections (a convolution's or a
dense op's own structure where the projection came from one, else the
connection matrix), every projection through an ``snn.delay`` of its
latency (so recurrent projections form no same-step cycle), outputs as
``snn.output``.

py-spinnaker2 slices a population in index order, ``max_atoms_per_core`` at
a time, and runs one population slice per PE. :func:`place_network` asks the
placer for exactly what it can load: one population per PE
(``capacity.exclusive_cores``) and index-order runs (``contiguous``) for the
populations that cannot be split: spike sources (their spike lists go to one
population) and both ends of a ``Conv2DProjection`` (one convolution over the
whole population). The placement is then used as the placer made it, so
that the traffic figures it computed are those of the network emitted.
Each population's placement reads back as slices: when every PE holds a contiguous
run of ``m`` neurons (the last one fewer) the population is emitted whole
with ``set_max_atoms_per_core(m)``; otherwise it is split into one
sub-population per PE (the neurons that PE holds, which need not be
contiguous) with its projections split to match, so that py-spinnaker2 puts
exactly those neurons together (which physical PE it picks is its mapper's
choice).

:func:`pe_loads` counts what each PE holds (:class:`~nirc.passes.partition.CoreLoad`)
and the router entries of each chip, for the memory check and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from nirc.diagnostics import NircError
from nirc.passes.partition import CapacityModel, CoreLoad

from .network import BIAS, INPUT, Network, Population

DENSE_STAND_IN_LIMIT = 1 << 26  # matrix entries of a connection list rendered as snn.dense


@dataclass
class Slice:
    """The neurons of a population on one PE (global id)."""

    pe: int
    neurons: np.ndarray  # int64, sorted

    @property
    def contiguous(self) -> bool:
        n = self.neurons
        return bool(n.size == 0 or n[-1] - n[0] + 1 == n.size)


@dataclass
class PopulationPlacement:
    name: str
    pes: np.ndarray  # int32 per neuron
    slices: list[Slice]
    max_atoms_per_core: int | None  # index-order slicing reproduces it; None: split

    @property
    def split(self) -> bool:
        return self.max_atoms_per_core is None


@dataclass
class NetworkPlacement:
    """Where every population's neurons sit, what each PE holds, and what the
    placer reported."""

    cores_per_chip: int
    populations: dict[str, PopulationPlacement]
    loads: dict[int, CoreLoad] = field(default_factory=dict)
    memory: dict[int, float] = field(default_factory=dict)
    router: dict[int, int] = field(default_factory=dict)
    method: str = "index-order"
    traffic: float = 0.0  # place()'s figures: spike copies per step sent to other PEs
    baseline_traffic: float = 0.0  # ... with py-spinnaker2's index-order slicing
    notes: list[str] = field(default_factory=list)
    baseline_pes: int = 0

    @property
    def pes_used(self) -> int:
        return len(self.loads)

    @property
    def chips_used(self) -> int:
        return len({pe // self.cores_per_chip for pe in self.loads})


# --------------------------------------------------------------------------------------
# the chip network as a fused snn module
# --------------------------------------------------------------------------------------


def placement_module(net: Network) -> ModuleOp:
    """The chip network as a fused `snn` module (see the module docstring)."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr, value_type

    block = Block()
    values: dict[str, list[SSAValue]] = {}

    def add(op: Operation) -> Operation:
        block.add_op(op)
        return op

    for p in net.populations:
        if p.role not in (INPUT, BIAS):
            continue
        shape = tuple(p.chip_shape)
        op = add(snn.InputOp.create(
            properties={"name": StringAttr(p.name),
                        "shape": array_to_attr(np.array(shape, np.int64))},
            result_types=[value_type(shape)]))  # fmt: skip
        values[p.name] = [op.results[0]]
    layers: dict[str, Operation] = {}
    pending: list[tuple[Operation, int, str]] = []  # (delay op, operand slot, source population)
    for p in net.populations:
        if p.role in (INPUT, BIAS):
            continue
        incoming = net.incoming(p.name)
        arg_specs: list[tuple[str, int, SSAValue | None]] = []
        delays = []
        for pr in incoming:
            pre = net.population(pr.pre)
            latency = 1 + int(pr.delay_of().max(initial=0))
            srcs = values.get(pr.pre) or [None]
            for j, src in enumerate(srcs):
                shape = tuple(pre.chip_shape)
                d = snn.DelayOp.create(
                    operands=[src] if src is not None else [],
                    properties={"name": StringAttr(f"{pr.name}#{j}.latency"),
                                "steps": array_to_attr(np.array(latency, np.int64))},
                    result_types=[value_type(shape)])  # fmt: skip
                if src is None:
                    pending.append((d, 0, pr.pre))
                delays.append(d)
                arg_specs.append((pr.name, j, d.results[0]))
        for d in delays:
            add(d)
        layer = _layer(p, net, arg_specs)
        add(layer)
        layers[p.name] = layer
        values[p.name] = [layer.results[0]]
    for d, _slot, pre in pending:
        d.operands = [values[pre][0]]
    for o in net.outputs:
        add(snn.OutputOp.create(operands=[values[o.population][0]],
                                properties={"name": StringAttr(o.name)}))  # fmt: skip
    graph = snn.GraphOp.create(properties=snn.graph_attrs(net.dt, None, None),
                               regions=[Region(block)])  # fmt: skip
    return ModuleOp([graph])


def _layer(p: Population, net: Network, arg_specs) -> Operation:
    """``snn.layer`` holding the synapses of ``p``'s projections and its neuron."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr, value_type

    externals = [v for _, _, v in arg_specs]
    block = Block(arg_types=[v.type for v in externals])
    out_type = value_type(tuple(p.chip_shape))
    synapse_out: list[SSAValue] = []
    by_proj = {pr.name: pr for pr in net.incoming(p.name)}
    for (pname, _j, _v), arg in zip(arg_specs, block.args):
        pr = by_proj[pname]
        ops = _synapse_ops(pr, arg, p, net)
        for op in ops:
            block.add_op(op)
        synapse_out.append(ops[-1].results[0] if ops else arg)
    neuron = snn.NeuronOp.create(
        operands=synapse_out,
        properties={"name": StringAttr(p.name),
                    "alpha_mem": array_to_attr(np.asarray(p.param("alpha_decay", 1.0), np.float64)
                                               .reshape(-1)[:1].reshape(())),
                    "v_threshold": array_to_attr(np.array(1.0))},
        result_types=[out_type])  # fmt: skip
    block.add_op(neuron)
    block.add_op(snn.YieldOp.create(operands=[neuron.results[0]]))
    return snn.LayerOp.create(operands=externals, result_types=[out_type],
                              properties={"name": StringAttr(p.name)},
                              regions=[Region(block)])  # fmt: skip


def _synapse_ops(pr, arg: SSAValue, post: Population, net: Network) -> list[Operation]:
    """Synapse ops with ``pr``'s connectivity, reading ``arg`` (the source's
    shape), producing ``post``'s flat shape; [] for a one-to-one projection."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr, value_type

    pre = net.population(pr.pre)
    n_post = post.size
    w = pr.weights
    if net.is_conv2d(pr):
        g = pr.conv
        ops: list[Operation] = []
        x = arg
        in_shape = (g.in_channels, g.in_height, g.in_width)
        if tuple(pre.chip_shape) != in_shape:
            r = snn.ReshapeOp.create(operands=[x], properties={"name": StringAttr(f"{pr.name}.view")},
                                     result_types=[value_type(in_shape)])  # fmt: skip
            ops.append(r)
            x = r.results[0]
        if g.pool_y > 1 or g.pool_x > 1:
            ph, pw = g.pooled
            pool = snn.SumPool2dOp.create(
                operands=[x],
                properties={"name": StringAttr(f"{pr.name}.pool"),
                            "kernel_size": array_to_attr(np.array([g.pool_y, g.pool_x], np.int64)),
                            "stride": array_to_attr(np.array([g.pool_y, g.pool_x], np.int64)),
                            "padding": array_to_attr(np.zeros(2, np.int64))},
                result_types=[value_type((g.in_channels, ph, pw))])  # fmt: skip
            ops.append(pool)
            x = pool.results[0]
        conv = snn.Conv2dOp.create(
            operands=[x],
            properties={"name": StringAttr(f"{pr.name}.conv"),
                        "weight": array_to_attr(np.asarray(pr.kernel, np.float32)),
                        "stride": array_to_attr(np.array([g.stride_y, g.stride_x], np.int64)),
                        "padding": array_to_attr(np.array([[g.pad_top, g.pad_bottom],
                                                           [g.pad_left, g.pad_right]], np.int64)),
                        "dilation": array_to_attr(np.ones(2, np.int64)),
                        "groups": array_to_attr(np.array(1, np.int64))},
            result_types=[value_type(g.out_shape)])  # fmt: skip
        ops.append(conv)
        if tuple(g.out_shape) != tuple(post.chip_shape):
            r = snn.ReshapeOp.create(operands=[conv.results[0]],
                                     properties={"name": StringAttr(f"{pr.name}.out")},
                                     result_types=[value_type(tuple(post.chip_shape))])  # fmt: skip
            ops.append(r)
        return ops
    n_pre = pre.size
    diag = w.nnz == n_post == n_pre and np.array_equal(w.row, w.col)
    if diag and np.array_equal(np.sort(w.row), np.arange(n_post)):
        if tuple(pre.chip_shape) == tuple(post.chip_shape):
            return []
    if n_post * n_pre > DENSE_STAND_IN_LIMIT:
        raise NircError(
            "a connection list too large to hand to the placer",
            where=f"projection {pr.name}",
            expected=f"at most {DENSE_STAND_IN_LIMIT:,} pre x post pairs",
            found=f"{n_pre:,} x {n_post:,}",
            hint="use --partition index (index-order slicing needs no connectivity)",
        )
    dense = np.zeros((n_post, n_pre), np.float32)
    dense[w.row, w.col] = np.where(w.data != 0, 1.0, 0.0)
    op = snn.DenseOp.create(
        operands=[arg],
        properties={"name": StringAttr(f"{pr.name}.w"),
                    "weight": array_to_attr(dense.reshape((n_post,) + tuple(pre.chip_shape))),
                    "in_rank": snn.int_attr(len(pre.chip_shape))},
        result_types=[value_type((n_post,))])  # fmt: skip
    ops = [op]
    if tuple(post.chip_shape) != (n_post,):
        ops.append(snn.ReshapeOp.create(operands=[op.results[0]],
                                        properties={"name": StringAttr(f"{pr.name}.out")},
                                        result_types=[value_type(tuple(post.chip_shape))]))  # fmt: skip
    return ops


# --------------------------------------------------------------------------------------
# placing and reading a placement back
# --------------------------------------------------------------------------------------


def whole_populations(net: Network) -> dict[str, str]:
    """The populations py-spinnaker2 can only load in index-order slices of
    ``max_atoms_per_core`` (never split into sub-populations), with the reason."""
    whole: dict[str, str] = {}
    for p in net.populations:
        if p.model == "spike_list":
            whole[p.name] = "a spike source gets its spike lists as one population"
    for pr in net.projections:
        if net.is_conv2d(pr):
            whole.setdefault(pr.pre, "the source of a Conv2DProjection cannot be split")
            whole.setdefault(pr.post, "a Conv2DProjection cannot be split")
    return whole


def place_network(
    net: Network,
    capacity: CapacityModel,
    *,
    activity: dict[str, np.ndarray] | None = None,
    method: str = "auto",
    seed: int = 0,
) -> NetworkPlacement:
    """Place ``net`` with the generic partitioner, as py-spinnaker2 can load it:
    one population per PE (``capacity.exclusive_cores``), spike sources and
    Conv2DProjection populations in index-order slices (``contiguous``). The
    placement is ``place()``'s own, with its traffic figures; the chip's own
    per-PE loads and router entries are counted from it and checked."""
    from nirc.passes.partition import place

    from .rules import check_capacity, check_loadable, check_pe_loads, check_router

    whole = whole_populations(net)
    module = placement_module(net)
    rates = {p.name: a for p in net.populations if (a := (activity or {}).get(p.name)) is not None}
    check_capacity(capacity)

    def placed(how: str):
        result = place(module, capacity, activity=rates or None, method=how, seed=seed,
                       contiguous=list(whole))  # fmt: skip
        for p in net.populations:
            if result.layers[p.name].size != p.size:
                raise NircError("the placer placed a population with the wrong number of neurons",
                                where=p.name, expected=str(p.size),
                                found=str(result.layers[p.name].size))  # fmt: skip
        pops = {p.name: _population_placement(p.name, result.layers[p.name])
                for p in net.populations}  # fmt: skip
        return result, pops

    result, pops = placed(method)
    try:
        check_loadable(pops, whole, "placement")
    except NircError as e:
        if result.method == "index-order":
            raise
        # never expected (place() honours exclusive cores and contiguous runs); if it
        # happens, the vendors' slicing is loadable by construction
        result, pops = placed("index")
        result.notes.append(f"the partitioner's placement is not loadable ({e.message}): "
                            "index order used")  # fmt: skip
        check_loadable(pops, whole, "placement")
    placement = NetworkPlacement(
        cores_per_chip=capacity.cores_per_chip, populations=pops, method=result.method,
        traffic=float(result.traffic), baseline_traffic=float(result.baseline_traffic),
        notes=list(result.notes), baseline_pes=int(result.baseline_cores),
    )  # fmt: skip
    placement.loads, placement.router = pe_loads(net, placement)
    placement.memory = {pe: float(capacity.memory(ld)) for pe, ld in placement.loads.items()}
    chips = {pe // capacity.cores_per_chip for pe in placement.loads}
    if chips and max(chips) >= capacity.chips:
        raise NircError(
            "the network needs more chips than are available",
            where="placement",
            expected=f"at most {capacity.chips} chip(s) of {capacity.cores_per_chip} PEs",
            found=f"PEs on {max(chips) + 1} chips",
            hint="give more chips (--chips), or more neurons per PE (--core-neurons)",
        )
    check_pe_loads(placement.loads, placement.memory, capacity, "placement")
    check_router(placement.router, "placement")
    return placement


def _population_placement(name: str, pes: np.ndarray) -> PopulationPlacement:
    uniq, first = np.unique(pes, return_index=True)
    slices = [Slice(int(pe), np.flatnonzero(pes == pe).astype(np.int64))
              for pe in uniq[np.argsort(first, kind="stable")]]  # fmt: skip
    m: int | None = None
    if all(s.contiguous for s in slices):
        sizes = [s.neurons.size for s in slices]
        starts = [int(s.neurons[0]) for s in slices]
        if starts == sorted(starts) and all(x == sizes[0] for x in sizes[:-1]) \
                and sizes[-1] <= sizes[0]:  # fmt: skip
            m = sizes[0]
    return PopulationPlacement(name, pes, slices, m)


def pe_loads(net: Network, placement: NetworkPlacement) -> tuple[dict[int, CoreLoad], dict[int, int]]:
    """Per PE its :class:`CoreLoad` (the fields as :mod:`nirc.passes.partition`
    defines them), and per chip its router entries: one per (source
    population, source PE) whose spikes reach a PE of that chip or leave it.

    Distinct presynaptic neurons and source slices per PE are counted with
    boolean tables over (receiving PE, source neuron) and (receiving PE,
    source PE), one per source population (a neuron reaching a PE through
    two projections is one synapse row)."""
    cpc = placement.cores_per_chip
    pes_of = {p.name: placement.populations[p.name].pes.astype(np.int64) for p in net.populations}
    used = np.unique(np.concatenate([a for a in pes_of.values()] + [np.zeros(0, np.int64)]))
    index = {int(pe): i for i, pe in enumerate(used)}
    lookup = np.full(int(used.max(initial=0)) + 1, -1, np.int64)
    lookup[used] = np.arange(used.size)
    n = used.size
    neurons = np.zeros(n, np.int64)
    recorded = np.zeros(n, np.int64)
    synapses = np.zeros(n, np.int64)
    shared = np.zeros(n, np.int64)
    for p in net.populations:
        c = np.bincount(lookup[pes_of[p.name]], minlength=n)
        neurons += c
        if p.record:
            recorded += c
    axons: dict[str, np.ndarray] = {}  # source population -> [receiving PE, source neuron]
    sources: dict[str, np.ndarray] = {}  # source population -> [receiving PE, source PE]
    for pr in net.projections:
        pre = net.population(pr.pre)
        w = pr.weights
        keep = w.data != 0
        rows, cols = w.row[keep], w.col[keep]
        tgt = lookup[pes_of[pr.post][rows]]
        if net.is_conv2d(pr):
            per_out = max(1, net.population(pr.post).size // pr.conv.out_channels)
            ch = rows // per_out
            pairs = np.unique(tgt * pr.conv.out_channels + ch)
            per_channel = pr.conv.in_channels * pr.conv.kernel_h * pr.conv.kernel_w
            shared += np.bincount(pairs // pr.conv.out_channels, minlength=n) * per_channel
        else:
            synapses += np.bincount(tgt, minlength=n)
        ax = axons.get(pr.pre)
        if ax is None:
            ax = axons[pr.pre] = np.zeros((n, pre.size), bool)
        ax[tgt, cols] = True
        sp = sources.get(pr.pre)
        if sp is None:
            sp = sources[pr.pre] = np.zeros((n, n), bool)
        sp[tgt, lookup[pes_of[pr.pre][cols]]] = True
    input_axons = sum((a.sum(axis=1) for a in axons.values()), np.zeros(n, np.int64))
    source_slices = sum((a.sum(axis=1) for a in sources.values()), np.zeros(n, np.int64))
    router: dict[int, int] = {}
    chip_of = used // cpc
    for sp in sources.values():
        # a source PE's key is routed on every chip it reaches and on its own
        for s in np.flatnonzero(sp.any(axis=0)):
            chips = set(chip_of[np.flatnonzero(sp[:, s])].tolist()) | {int(chip_of[s])}
            for c in chips:
                router[c] = router.get(c, 0) + 1
    loads = {
        int(pe): CoreLoad(
            neurons=int(neurons[i]), synapses=int(synapses[i]), shared_weights=int(shared[i]),
            input_axons=int(input_axons[i]), source_slices=int(source_slices[i]),
            recorded=int(recorded[i]),
        )
        for pe, i in index.items() if neurons[i]
    }  # fmt: skip
    return loads, dict(sorted(router.items()))


__all__ = [
    "NetworkPlacement",
    "PopulationPlacement",
    "Slice",
    "pe_loads",
    "place_network",
    "placement_module",
]
