"""The `partition` pass: exact loads and traffic, capacity, determinism, refusals.

Every figure the partitioner computes (per-core loads, traffic, fan-out) is
checked against a brute-force oracle that builds each op's 0/1 connectivity
matrix by explicit loops and composes them along the IR; property tests run
random small networks through random capacities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, f32
from xdsl.ir import Block, Region

from nirc.diagnostics import NircError, collecting
from nirc.dialects import snn
from nirc.dialects.nir import array_to_attr
from nirc.passes.fuse import fuse
from nirc.passes.partition import (
    CapacityModel,
    CoreLoad,
    Placement,
    attach,
    index_order,
    measure_activity,
    place,
    read_placement,
)

# --------------------------------------------------------------------------------------
# building small fused snn modules
# --------------------------------------------------------------------------------------


class Builder:
    """Top-level snn ops in order; :meth:`module` wraps them in a graph and fuses."""

    def __init__(self) -> None:
        self.ops: list = []

    def _add(self, cls, name, operands, out_shape, **props):
        p = {"name": StringAttr(name)}
        for k, v in props.items():
            p[k] = array_to_attr(v) if isinstance(v, np.ndarray) else v
        op = cls.create(
            operands=list(operands), result_types=[TensorType(f32, list(out_shape))], properties=p
        )
        op.results[0].name_hint = name
        self.ops.append(op)
        return op.results[0]

    def input(self, name, shape):
        return self._add(snn.InputOp, name, [], shape, shape=np.array(shape, np.int64))

    def conv(self, name, x, weight, stride=1, pad=1, groups=1):
        _, h, w = shape(x)
        k = weight.shape[2]
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        return self._add(
            snn.Conv2dOp, name, [x], (weight.shape[0], ho, wo),
            weight=weight.astype(np.float32), stride=np.array([stride] * 2, np.int64),
            padding=np.full((2, 2), pad, np.int64), dilation=np.ones(2, np.int64),
            groups=np.array(groups, np.int64),
        )  # fmt: skip

    def neuron(self, name, *xs):
        return self._add(
            snn.NeuronOp, name, xs, shape(xs[0]), alpha_mem=np.array(0.9),
            v_threshold=np.array(1.0), reset=StringAttr("subtract"),
        )  # fmt: skip

    def pool(self, name, x, k=2):
        c, h, w = shape(x)
        return self._add(
            snn.SumPool2dOp, name, [x], (c, h // k, w // k),
            kernel_size=np.array([k, k], np.int64), stride=np.array([k, k], np.int64),
            padding=np.zeros(2, np.int64),
        )  # fmt: skip

    def reshape(self, name, x, out):
        return self._add(snn.ReshapeOp, name, [x], out)

    def dense(self, name, x, weight):
        return self._add(snn.DenseOp, name, [x], (weight.shape[0],), weight=weight.astype(np.float32))

    def delay(self, name, x):
        return self._add(snn.DelayOp, name, [x], shape(x), steps=np.array(1, np.int64))

    def output(self, name, x):
        self.ops.append(snn.OutputOp.create(operands=[x], properties={"name": StringAttr(name)}))

    def module(self, fused: bool = True) -> ModuleOp:
        graph = snn.GraphOp.create(
            properties=snn.graph_attrs(1.0, "euler", "zero"), regions=[Region(Block(self.ops))]
        )
        module = ModuleOp([graph])
        if fused:
            fuse(module)
        module.verify()
        return module


def shape(x) -> tuple[int, ...]:
    return tuple(x.type.get_shape())


def sparse(rng, rows, cols, density):
    w = rng.normal(0, 1, (rows, cols))
    w[rng.random((rows, cols)) >= density] = 0.0
    return w


def conv_net(rng, *, channels=2, size=6, convs=((4, 3, 1, 1, 1),), pool=True, hidden=5,
             recurrent=0.0, out=3) -> ModuleOp:  # fmt: skip
    """input [channels, size, size] -> conv layers (cout, k, stride, pad, groups), the
    last one pooled -> flatten -> dense hidden (recurrent with that density) -> out."""
    b = Builder()
    x = b.input("in", (channels, size, size))
    cin = channels
    for i, (cout, k, stride, pad, groups) in enumerate(convs):
        w = rng.normal(0, 1, (cout, cin // groups, k, k))
        w[:, :, 0, 0] *= rng.random() < 0.7  # sometimes an unused kernel offset
        x = b.neuron(f"c{i}", b.conv(f"conv{i}", x, w, stride, pad, groups))
        if pool and i == len(convs) - 1 and shape(x)[1] >= 2 and shape(x)[2] >= 2:
            x = b.pool(f"p{i}", x)
        cin = cout
    flat = int(np.prod(shape(x)))
    x = b.reshape("flat", x, (flat,))
    fc = b.dense("fc", x, sparse(rng, hidden, flat, 0.6))
    h = b.neuron("h", fc)
    if recurrent:
        d = b.delay("rec.delay", b.dense("rec", h, sparse(rng, hidden, hidden, recurrent)))
        h.owner.operands = [fc, d]
    y = b.neuron("y", b.dense("fc_out", h, sparse(rng, out, hidden, 0.8)))
    b.output("out", y)
    return b.module()


def rnn(rng, n_in=6, n=20, density=0.2, n_out=3) -> ModuleOp:
    b = Builder()
    x = b.input("in", (n_in,))
    fc = b.dense("w_in", x, sparse(rng, n, n_in, 0.5))
    h = b.neuron("h", fc)
    d = b.delay("rec.delay", b.dense("rec", h, sparse(rng, n, n, density)))
    h.owner.operands = [fc, d]
    y = b.neuron("y", b.dense("w_out", h, sparse(rng, n_out, n, 0.7)))
    b.output("out", y)
    return b.module()


# --------------------------------------------------------------------------------------
# the oracle: explicit connectivity matrices
# --------------------------------------------------------------------------------------


def op_matrix(op) -> np.ndarray:
    """[out elements, in elements] 0/1 connectivity of one op (module docstring
    of nirc.passes.partition_network: a kernel offset counts when any weight of
    the group at that offset is nonzero)."""
    in_shape = tuple(op.operands[0].type.get_shape())
    out_shape = tuple(op.results[0].type.get_shape())
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    if isinstance(op, snn.DelayOp | snn.ScaleOp | snn.ReshapeOp):
        return np.eye(n_out, n_in, dtype=bool)
    m = np.zeros((n_out, n_in), bool)
    if isinstance(op, snn.DenseOp):
        w = snn.param(op, "weight")
        return (w.reshape(w.shape[0], -1) != 0)
    if isinstance(op, snn.SumPool2dOp):
        (kh, kw), (sh, sw), (ph, pw) = op.window()
        c, h, w = in_shape
        _, ho, wo = out_shape
        for ch in range(c):
            for oy in range(ho):
                for ox in range(wo):
                    for ky in range(kh):
                        for kx in range(kw):
                            iy, ix = oy * sh - ph + ky, ox * sw - pw + kx
                            if 0 <= iy < h and 0 <= ix < w:
                                m[(ch * ho + oy) * wo + ox, (ch * h + iy) * w + ix] = True
        return m
    assert isinstance(op, snn.Conv2dOp)
    w = snn.param(op, "weight")
    stride, pads, dil, groups = op.conv_params()
    cout, cin_g, kh, kw = w.shape
    cin, h, wd = in_shape
    _, ho, wo = out_shape
    cout_g = cout // groups
    for o in range(cout):
        g = o // cout_g
        for ky in range(kh):
            for kx in range(kw):
                if not (w[g * cout_g : (g + 1) * cout_g, :, ky, kx] != 0).any():
                    continue
                for oy in range(ho):
                    for ox in range(wo):
                        iy = oy * stride[0] - pads[0][0] + ky * dil[0]
                        ix = ox * stride[1] - pads[1][0] + kx * dil[1]
                        if not (0 <= iy < h and 0 <= ix < wd):
                            continue
                        for ci in range(g * cin_g, (g + 1) * cin_g):
                            m[(o * ho + oy) * wo + ox, (ci * h + iy) * wd + ix] = True
    return m


class Oracle:
    """Reach matrices target x source for every pair of populations, by
    composing op matrices along the IR."""

    def __init__(self, module: ModuleOp, place_inputs: bool) -> None:
        graph = snn.top_graph(module)
        self.pops: dict[str, tuple[int, bool]] = {}  # name -> (size, is_input)
        self.ops = {}
        for op in snn.flat_ops(graph):
            if isinstance(op, snn.NeuronOp):
                parent = op.parent_op()
                name = snn.node_name(parent if isinstance(parent, snn.LayerOp) else op)
                self.pops[name] = (int(np.prod(op.out_shape())), False)
                self.ops[id(op)] = name
            elif isinstance(op, snn.InputOp):
                self.pops[op.node_name.data] = (int(np.prod(op.declared_shape())), True)
                self.ops[id(op)] = op.node_name.data
        self.placed = [n for n, (_, inp) in self.pops.items() if place_inputs or not inp]
        self.reach: dict[tuple[str, str], np.ndarray] = {}  # (target, source) -> [t, s]
        self.storage: dict[str, dict] = {}
        self.recorded: set[str] = set()
        for op in snn.flat_ops(graph):
            if isinstance(op, snn.NeuronOp):
                t = self.ops[id(op)]
                for v in op.operands:
                    for s, m in self._value(v).items():
                        key = (t, s)
                        self.reach[key] = self.reach.get(key, False) | m
                self.storage[t] = self._storage(op)
            if isinstance(op, snn.OutputOp):
                for v in op.operands:
                    self.recorded |= set(self._value(v))

    def _value(self, v) -> dict[str, np.ndarray]:
        p = snn.producer(v)
        if id(p) in self.ops:
            n = self.pops[self.ops[id(p)]][0]
            return {self.ops[id(p)]: np.eye(n, dtype=bool)}
        m = op_matrix(p)
        out: dict[str, np.ndarray] = {}
        for w in p.operands:
            for s, a in self._value(w).items():
                r = (m.astype(np.float32) @ a.astype(np.float32)) > 0  # exact: counts < 2**24
                out[s] = out.get(s, False) | r
        return out

    def _storage(self, neuron) -> dict:
        """Per neuron: stored synapses and fan-in; conv (channel per neuron, weights
        per channel) pairs. The generated networks put weights right before the
        neuron, or reach it through delays only."""
        n = int(np.prod(neuron.out_shape()))
        syn = np.zeros(n, np.int64)
        convs = []
        for v in neuron.operands:
            p = snn.producer(v)
            while isinstance(p, snn.DelayOp):
                p = snn.producer(p.operands[0])
            if isinstance(p, snn.DenseOp):
                w = snn.param(p, "weight")
                syn += (w.reshape(w.shape[0], -1) != 0).sum(axis=1)
            elif isinstance(p, snn.Conv2dOp):
                w = snn.param(p, "weight")
                _, _, _, groups = p.conv_params()
                c = w.shape[0]
                convs.append((np.repeat(np.arange(c), n // c), w.shape[1] * w.shape[2] * w.shape[3]))
            else:  # weightless: one synapse per connection
                for _, m in self._value(v).items():
                    syn += m.sum(axis=1)
        return {"synapses": syn, "convs": convs}

    def loads(self, placement: Placement, capacity: CapacityModel) -> dict[int, CoreLoad]:
        cores = sorted({int(c) for n in self.placed for c in placement.layers[n]})
        out = {}
        for c in cores:
            neurons = synapses = shared = recorded = 0
            axons: set = set()
            slices: set = set()
            for t in self.placed:
                on = placement.layers[t] == c
                if not on.any():
                    continue
                neurons += int(on.sum())
                if t in self.recorded:
                    recorded += int(on.sum())
                st_ = self.storage.get(t)
                if st_ is not None:
                    synapses += int(st_["synapses"][on].sum())
                    for channel, per in st_["convs"]:
                        shared += len(set(channel[on].tolist())) * per
                for (tt, s), m in self.reach.items():
                    if tt != t:
                        continue
                    js = np.flatnonzero(m[on].any(axis=0))
                    axons |= {(s, int(j)) for j in js}
                    if s in self.placed:
                        slices |= {(s, int(placement.layers[s][j])) for j in js}
                    elif len(js):
                        slices.add((s, -1))
            out[c] = CoreLoad(neurons, synapses, shared, len(axons), len(slices), recorded)
        return out

    def traffic(self, placement: Placement, capacity: CapacityModel, rates=None) -> float:
        cpc = capacity.cores_per_chip
        total = 0.0
        for s, (n, _) in self.pops.items():
            dest = [set() for _ in range(n)]
            for (t, ss), m in self.reach.items():
                if ss != s:
                    continue
                for j in range(n):
                    dest[j] |= {int(c) for c in placement.layers[t][m[:, j]]}
            rate = np.ones(n) if rates is None else rates[s]
            for j in range(n):
                if s in self.placed:
                    own = int(placement.layers[s][j])
                    cost = sum(
                        capacity.core_hop_cost if c // cpc == own // cpc else capacity.chip_hop_cost
                        for c in dest[j] if c != own
                    )  # fmt: skip
                else:
                    cost = capacity.core_hop_cost * len(dest[j])
                total += rate[j] * cost
        return total


def check_placement(module, placement: Placement, capacity: CapacityModel, rates=None) -> None:
    """Every neuron placed once, every core within capacity, the loads and the
    traffic those of the oracle."""
    oracle = Oracle(module, capacity.place_inputs)
    assert sorted(placement.layers) == sorted(oracle.placed)
    for name in oracle.placed:
        a = placement.layers[name]
        assert a.dtype == np.int32 and a.shape == (oracle.pops[name][0],)
        assert (a >= 0).all() and (a < capacity.total_cores).all()
    loads = oracle.loads(placement, capacity)
    assert loads == placement.cores
    for c, ld in loads.items():
        assert ld.neurons <= capacity.neurons_per_core
        assert capacity.memory(ld) <= capacity.memory_per_core
        assert placement.memory[c] == pytest.approx(capacity.memory(ld))
    if capacity.exclusive_cores:
        assert all(len(v) == 1 for v in placement.populations_on().values())
    assert placement.traffic == pytest.approx(oracle.traffic(placement, capacity, rates))


def cap(**kw) -> CapacityModel:
    base = dict(target="test", neurons_per_core=16, memory_per_core=10**9, cores_per_chip=4,
                chips=64)  # fmt: skip
    base.update(kw)
    return CapacityModel(**base)


MEMORY = dict(bytes_per_neuron=3, bytes_per_synapse=2, bytes_per_shared_weight=1,
              bytes_per_input_axon=4, bytes_per_source_slice=8, bytes_per_recorded=1,
              fixed_bytes=16)  # fmt: skip


# --------------------------------------------------------------------------------------
# exactness on fixed networks
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("inputs", [False, True])
@pytest.mark.parametrize("exclusive", [False, True])
def test_conv_network_loads_and_traffic_are_exact(inputs, exclusive):
    rng = np.random.default_rng(3)
    module = conv_net(rng, convs=((4, 3, 1, 1, 1), (6, 3, 2, 1, 2)), recurrent=0.4)
    capacity = cap(neurons_per_core=24, memory_per_core=900, place_inputs=inputs,
                   exclusive_cores=exclusive, **MEMORY)  # fmt: skip
    p = place(module, capacity)
    check_placement(module, p, capacity)
    base = index_order(module, capacity)
    check_placement(module, base, capacity)
    assert base.method == "index-order" and base.traffic == base.baseline_traffic
    assert p.baseline_traffic == pytest.approx(base.traffic)
    assert p.baseline_cores == base.cores_used


def test_recurrent_network_with_activity_is_exact():
    rng = np.random.default_rng(5)
    module = rnn(rng, n=30, density=0.15)
    capacity = cap(neurons_per_core=8, cores_per_chip=3, chip_hop_cost=7.0, **MEMORY,
                   memory_per_core=2000)  # fmt: skip
    rates = {"in": rng.random(6), "h": rng.random(30) * 0.3, "y": rng.random(3)}
    p = place(module, capacity, activity=rates)
    check_placement(module, p, capacity, rates)
    assert p.chips_used >= 2  # the chip hop weight is exercised


def test_the_index_order_baseline_slices_as_large_as_memory_allows():
    rng = np.random.default_rng(1)
    module = rnn(rng, n=40, density=0.25)
    capacity = cap(neurons_per_core=64, memory_per_core=700, **MEMORY)
    base = index_order(module, capacity)
    h = base.layers["h"]
    sizes = np.bincount(h)[np.unique(h)]
    # consecutive slices of one size (the last one shorter)
    assert (sizes[:-1] == sizes[0]).all() and sizes[-1] <= sizes[0]
    assert (np.diff(h) >= 0).all()
    # one more neuron per slice would not fit somewhere
    s = int(sizes[0])
    oracle = Oracle(module, False)
    bigger = Placement(**{**base.__dict__, "layers": {**base.layers, "h": (np.arange(40) // (s + 1)).astype(np.int32) + 100}})
    assert any(not capacity.fits(ld) for ld in oracle.loads(bigger, capacity).values())


# --------------------------------------------------------------------------------------
# properties over random networks and capacities
# --------------------------------------------------------------------------------------


@st.composite
def networks(draw):
    """Parameters of a random network (built in the test: small reprs)."""
    seed = draw(st.integers(0, 2**16))
    if draw(st.booleans()):
        return ("rnn", seed, dict(n_in=draw(st.integers(1, 6)), n=draw(st.integers(2, 24)),
                                  density=draw(st.floats(0.05, 1.0)), n_out=draw(st.integers(1, 4))))  # fmt: skip
    channels = draw(st.integers(1, 3))
    cout = draw(st.integers(1, 4)) * channels
    k = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, channels]))
    convs = ((cout, k, draw(st.integers(1, 2)), draw(st.integers(0, 1)), groups),)
    return ("conv", seed, dict(channels=channels, size=draw(st.integers(3, 7)), convs=convs,
                               pool=draw(st.booleans()), hidden=draw(st.integers(1, 8)),
                               recurrent=draw(st.sampled_from([0.0, 0.3, 1.0])),
                               out=draw(st.integers(1, 3))))  # fmt: skip


def build(spec) -> ModuleOp:
    kind, seed, kw = spec
    rng = np.random.default_rng(seed)
    return rnn(rng, **kw) if kind == "rnn" else conv_net(rng, **kw)


@st.composite
def capacities(draw):
    memory = draw(st.booleans())
    return cap(
        neurons_per_core=draw(st.integers(1, 40)),
        cores_per_chip=draw(st.integers(1, 12)),
        chips=draw(st.integers(1, 40)),
        memory_per_core=draw(st.integers(40, 3000)) if memory else 10**9,
        place_inputs=draw(st.booleans()),
        exclusive_cores=draw(st.booleans()),
        chip_hop_cost=draw(st.sampled_from([1.0, 4.0, 10.0])),
        **(MEMORY if memory else {}),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), capacities(), st.integers(0, 3), st.booleans())
def test_random_networks_fit_and_are_never_worse(spec, capacity, seed, runs):
    module = build(spec)
    contiguous = ["h"] if runs else []
    try:
        p = place(module, capacity, seed=seed, contiguous=contiguous)
    except NircError as e:
        # refused only with the table of needs (or a fan-out/fan-in limit)
        assert "does not fit" in e.message
        assert "population" in (e.found or "")
        return
    check_placement(module, p, capacity)
    assert p.cores_used <= p.baseline_cores or p.baseline_cores > capacity.total_cores
    assert p.traffic <= p.baseline_traffic or p.baseline_cores > capacity.total_cores
    assert p.method in ("index-order", "mt-kahypar")
    if runs:  # every core holds one run of consecutive "h" neurons
        cores = p.layers["h"]
        firsts = cores[np.r_[0, np.flatnonzero(np.diff(cores)) + 1]]
        assert len(set(firsts.tolist())) == len(firsts)
    again = place(module, capacity, seed=seed, contiguous=contiguous)
    assert all((again.layers[k] == v).all() for k, v in p.layers.items())


# --------------------------------------------------------------------------------------
# the partitioner's gains, determinism, fallbacks
# --------------------------------------------------------------------------------------


def test_conv_layers_are_placed_in_spatial_tiles_with_less_traffic():
    rng = np.random.default_rng(0)
    module = conv_net(rng, channels=2, size=16, convs=((8, 3, 1, 1, 1), (8, 3, 1, 1, 1)),
                      hidden=10)  # fmt: skip
    capacity = cap(neurons_per_core=128, cores_per_chip=16, chips=4)
    p = place(module, capacity)
    assert p.method == "mt-kahypar"
    assert p.traffic <= 0.7 * p.baseline_traffic
    assert p.cores_used <= p.baseline_cores
    check_placement(module, p, capacity)


def test_placement_is_deterministic_and_prints_identically():
    from nirc.context import make_context
    from nirc.passes.partition import PartitionPass

    def run() -> str:
        module = conv_net(np.random.default_rng(7), size=8, convs=((6, 3, 1, 1, 1),))
        PartitionPass(core_neurons=32, cores_per_chip=4, chips=8, report=False).apply(
            make_context(), module
        )
        return str(module)

    assert run() == run()


def test_placement_is_the_same_in_another_process():
    """Mt-KaHyPar runs sequentially (one thread, seeded): a fresh process,
    with its own memory layout, places the network identically."""
    pytest.importorskip("mtkahypar")
    import subprocess
    import sys

    probe = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1])\n"
        "from test_partition import conv_net\n"
        "from nirc.context import make_context\n"
        "from nirc.passes.partition import PartitionPass\n"
        "m = conv_net(np.random.default_rng(7), size=12, convs=((6, 3, 1, 1, 1), (8, 3, 1, 1, 1)))\n"
        "PartitionPass(core_neurons=64, cores_per_chip=8, chips=8, report=False).apply(make_context(), m)\n"
        "print(m)\n"
    )
    here = str(Path(__file__).parent)
    runs = [subprocess.run([sys.executable, "-c", probe, here], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]  # fmt: skip
    assert 'method = "mt-kahypar"' in runs[0] and runs[0] == runs[1]


def test_without_mtkahypar_index_order_with_a_warning(monkeypatch):
    import nirc.passes.partition_hypergraph as hyper

    monkeypatch.setattr(hyper, "mtkahypar_available", lambda: False)
    module = conv_net(np.random.default_rng(0), size=8)
    with collecting() as sink:
        p = place(module, cap(neurons_per_core=16))
    assert p.method == "index-order"
    assert any("pip install 'nirc[partition]'" in w.message for w in sink.warnings)


def test_measured_activity_weights_the_traffic():
    module = conv_net(np.random.default_rng(2), size=6)
    inputs = {"in": (np.random.default_rng(0).random((20, 2, 2, 6, 6)) < 0.3).astype(np.float32)}
    rates = measure_activity(module, inputs)
    assert set(rates) == {"in", "c0", "h", "y"}
    assert rates["c0"].shape == (4, 6, 6) and rates["in"].mean() == pytest.approx(
        inputs["in"].mean()
    )
    capacity = cap(neurons_per_core=16)
    p = place(module, capacity, activity=rates)
    check_placement(module, p, capacity, {k: v.reshape(-1) for k, v in rates.items()})


# --------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------


def test_a_model_too_big_for_the_machine_is_refused_with_a_table():
    module = rnn(np.random.default_rng(0), n=40)
    with pytest.raises(NircError) as e:
        place(module, cap(neurons_per_core=4, cores_per_chip=3, chips=2))
    err = e.value
    assert err.message == "the model does not fit test: it needs 11 cores, the machine has 6 (2 chip(s) x 3)"
    table = err.found
    assert "population" in table and "memory/core needed" in table
    assert "h" in table and "        40         4      10" in table
    assert "--chips 4" in err.hint and "--core-neurons" in err.hint


def test_a_neuron_too_big_for_a_core_is_refused_naming_the_population():
    module = rnn(np.random.default_rng(0), n=40, density=1.0)
    with pytest.raises(NircError) as e:
        place(module, cap(memory_per_core=100, **MEMORY))
    assert "not even one neuron of" in e.value.message
    assert e.value.where and "h" in e.value.where.split(", ")
    assert "KiB" in e.value.found and "--core-synapse-memory" in e.value.hint


def test_fan_in_and_fan_out_limits():
    module = rnn(np.random.default_rng(0), n=20, density=1.0)
    with pytest.raises(NircError) as e:
        place(module, cap(max_fan_in=10))
    assert e.value.where == "h" and "at most 10 synapses onto one neuron" in e.value.expected
    assert "receives 2" in e.value.found  # 20 recurrent + input synapses
    with pytest.raises(NircError) as e:
        place(module, cap(neurons_per_core=2, max_fan_out=3), method="index")
    assert "reach more cores than it may send to" in e.value.message
    assert "at most 3 destination cores per neuron" in e.value.expected


def test_bad_activity_and_method():
    module = rnn(np.random.default_rng(0))
    with pytest.raises(NircError) as e:
        place(module, cap(), activity={"h": np.ones(3)})
    assert e.value.where == "activity[h]" and "20 finite spike rates" in e.value.expected
    with pytest.raises(NircError) as e:
        place(module, cap(), activity={"nope": np.ones(3)})
    assert "activity names no population" in e.value.message
    with pytest.raises(NircError) as e:
        place(module, cap(), method="metis")
    assert "unknown placement method" in e.value.message


def test_an_unfused_module_is_refused():
    b = Builder()
    x = b.input("in", (3,))
    y = b.neuron("n", b.dense("w", x, np.ones((2, 3))))
    b.output("out", y)
    with pytest.raises(NircError) as e:
        place(b.module(fused=False), cap())
    assert "needs a fused snn module" in e.value.message and "run `fuse` first" in e.value.hint


# --------------------------------------------------------------------------------------
# the IR
# --------------------------------------------------------------------------------------


def placed_module(**kw):
    module = conv_net(np.random.default_rng(4), size=6)
    capacity = cap(neurons_per_core=16, **kw)
    p = place(module, capacity)
    attach(module, p)
    return module, p


def test_ir_round_trip_print_parse_verify():
    from xdsl.parser import Parser

    from nirc.context import make_context

    module, p = placed_module(place_inputs=True)
    module.verify()
    text = str(module)
    assert "placement.map" in text and "placement.population \"c0\"" in text
    again = Parser(make_context(), text).parse_module()
    again.verify()
    assert str(again) == text
    q = read_placement(again)
    assert q.cores == p.cores and q.memory == p.memory and q.method == p.method
    assert q.traffic == p.traffic and q.baseline_traffic == p.baseline_traffic
    assert all((q.layers[k] == v).all() for k, v in p.layers.items()) and q.inputs_placed


def _verify_error(module) -> str:
    from xdsl.utils.exceptions import VerifyException

    with pytest.raises(VerifyException) as e:
        module.verify()
    return str(e.value)


def _population(module, name):
    from nirc.dialects import placement as pl

    m = next(op for op in module.ops if isinstance(op, pl.MapOp))
    return m, next(op for op in m.populations() if op.population.data == name)


def test_verifier_finds_a_missing_neuron():
    module, _ = placed_module()
    m, pop = _population(module, "h")
    m.block.erase_op(pop)
    msg = _verify_error(module)
    assert 'snn.neuron "h" is not placed' in msg or "the core table says" in msg


def test_verifier_finds_a_wrong_array_size():
    module, p = placed_module()
    _, pop = _population(module, "y")
    pop.properties["cores"] = array_to_attr(np.zeros(2, np.int32) + p.layers["y"][0])
    msg = _verify_error(module)
    assert "the core table says" in msg or 'places 2 neurons; snn.neuron "y" has 3' in msg


def test_verifier_finds_a_core_over_capacity():
    from xdsl.dialects.builtin import IntegerAttr, i64

    module, p = placed_module()
    m, _ = _population(module, "h")
    m.properties["neurons_per_core"] = IntegerAttr(1, i64)
    assert "holds" in _verify_error(module) and "at most 1 fit a core" in _verify_error(module)


def test_verifier_finds_a_neuron_on_a_core_outside_the_table():
    module, p = placed_module()
    _, pop = _population(module, "y")
    a = np.array(p.layers["y"])
    a[0] = 255
    pop.properties["cores"] = array_to_attr(a)
    assert "neuron 0 is on core 255, which is not in the core table" in _verify_error(module)


# --------------------------------------------------------------------------------------
# the pass through `nirc opt`
# --------------------------------------------------------------------------------------


def test_the_pass_through_nirc_opt(tmp_path, capsys):
    from nirc.cli import main

    module = conv_net(np.random.default_rng(6), size=6)
    src = tmp_path / "model.mlir"
    src.write_text(str(module))
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, **{"in": (np.random.default_rng(0).random((30, 2, 2, 6, 6)) < 0.2)})
    rates = tmp_path / "rates.npz"
    np.savez(rates, **{k: v for k, v in measure_activity(module, {"in": np.load(inputs)["in"].astype(np.float32)}).items()})
    outs = []
    for option in (f"calibrate={inputs}", f"activity={rates}"):
        out = tmp_path / "placed.mlir"
        code = main(["opt", str(src), "-p", f"partition{{core_neurons=16 cores_per_chip=4 chips=4 {option}}}",
                     "-o", str(out)])  # fmt: skip
        assert code == 0
        err = capsys.readouterr().err
        assert "placement on generic" in err and "core chip  neurons" in err
        outs.append(out.read_text())
    assert outs[0] == outs[1]  # the calibration run measures the same rates
    from xdsl.parser import Parser

    from nirc.context import make_context

    placed = Parser(make_context(), outs[0]).parse_module()
    placed.verify()
    p = read_placement(placed)
    capacity = cap(neurons_per_core=16, cores_per_chip=4, chips=4)
    rate = {k: v.reshape(-1) for k, v in np.load(rates).items()}
    check_placement(placed, p, capacity, rate)
    # a bad option value is a diagnostic, not a traceback
    code = main(["opt", str(src), "-p", "partition{core_neurons=0 cores_per_chip=4}"])
    assert code == 2
    assert "`core_neurons` must be an integer >= 1" in capsys.readouterr().err


def test_contiguous_populations_get_index_order_slices():
    module = conv_net(np.random.default_rng(3), size=8, convs=((4, 3, 1, 1, 1),))
    capacity = cap(neurons_per_core=32, place_inputs=True)
    p = place(module, capacity, contiguous=["c0", "in"])
    check_placement(module, p, capacity)
    for name in ("c0", "in"):
        cores = p.layers[name]
        starts = np.flatnonzero(np.diff(cores)) + 1
        runs = np.split(cores, starts)
        assert len({int(r[0]) for r in runs}) == len(runs)  # each core one run
    with pytest.raises(NircError) as e:
        place(module, capacity, contiguous=["nope"])
    assert "`contiguous` names no placed population" in e.value.message


def test_a_network_without_neurons_places_nothing():
    b = Builder()
    b.output("out", b.input("in", (3,)))
    module = b.module()
    p = place(module, cap())
    assert p.layers == {} and p.cores_used == 0 and p.traffic == 0.0
    attach(module, p)
    module.verify()
    q = place(module, cap(place_inputs=True))
    assert q.layers["in"].tolist() == [0, 0, 0] and q.cores == {0: CoreLoad(neurons=3, recorded=3)}


@pytest.mark.parametrize("lead", [(), (3,)])
@pytest.mark.parametrize("density", [1.0, 0.3, 0.02])
@pytest.mark.parametrize("limit", [None, 0])
def test_dense_backward_step_reaches_what_the_weights_connect(lead, density, limit, monkeypatch):
    """A dense layer's backward step (grouped by lead and bin, a full matrix
    without a table, or every pair when the table would be too large) gives
    exactly the (input, bin) pairs some output of that bin reads a nonzero
    weight from; fails with a group's rows not united, or the lead dropped."""
    from nirc.passes import partition_network as pn

    if limit is not None:
        monkeypatch.setattr(pn, "GROUP_TABLE_LIMIT", limit)
    rng = np.random.default_rng(int(density * 100) + len(lead))
    out, width, bins = 23, 17, 4
    w = rng.normal(size=(out, width)) * (rng.random((out, width)) < density)
    w[5] = 0.0  # an output that reads nothing
    rows = pn.DenseRows.of(w)
    assert rows.full == bool(np.all(w != 0))
    out_shape, in_shape = (*lead, out), (*lead, width)
    target_bins = rng.integers(0, bins, int(np.prod(out_shape)))
    target_bins[rng.random(target_bins.size) < 0.3] = -1  # not in any bin
    keep = target_bins >= 0
    p = pn.pairs_of_bins(out_shape, np.where(keep, target_bins, 0))
    flat, b = pn._explicit(p, out_shape)
    chosen = keep[flat]
    p = pn._from_flat(flat[chosen], b[chosen], out_shape)
    got = pn.Adjoints._back_dense(rows, p, in_shape, out_shape, bins)
    flat_in, b_in = pn._explicit(got, in_shape)
    want = set()
    n_lead = int(np.prod(lead)) if lead else 1
    for f in np.flatnonzero(keep):
        ld, o = divmod(int(f), out)
        assert ld < n_lead
        want |= {(ld * width + int(k), int(target_bins[f])) for k in np.flatnonzero(w[o])}
    assert set(zip(flat_in.tolist(), b_in.tolist())) == want
    assert np.all(np.diff(flat_in * bins + b_in) > 0)  # ascending: no pair twice


def test_block_attachment_table_equals_sorted_pairs(monkeypatch):
    """A block's attachment (spike weight of its hyperedges reaching each
    core) from the (edge, core) table equals the one from sorted distinct
    pairs, sums included, bit for bit; fails with an edge counted once per
    pin on a core instead of once."""
    from nirc.passes import partition_hypergraph as ph

    rng = np.random.default_rng(3)
    nodes, edges = 60, 40
    sizes = rng.integers(1, 25, edges)
    ptr = np.concatenate([[0], np.cumsum(sizes)])
    pins = np.concatenate([rng.choice(nodes, s, replace=False) for s in sizes])
    hg = ph.Hypergraph(nodes, ptr, pins, rng.random(edges) * 3.7, np.zeros(edges, np.int64))
    order = np.argsort(pins, kind="stable")
    node_ptr = np.zeros(nodes + 1, np.int64)
    np.cumsum(np.bincount(pins, minlength=nodes), out=node_ptr[1:])
    node_edges = np.repeat(np.arange(edges), sizes)[order]
    block_core = rng.integers(0, 7, nodes)
    table = [ph._attachment(b, hg, node_ptr, node_edges, block_core) for b in range(nodes)]
    monkeypatch.setattr(ph, "ATTACH_TABLE_LIMIT", 0)
    pairs = [ph._attachment(b, hg, node_ptr, node_edges, block_core) for b in range(nodes)]
    assert table == pairs and sum(len(t) for t in table) > nodes
    for b in range(nodes):  # each edge once per core it reaches
        mine = node_edges[node_ptr[b] : node_ptr[b + 1]]
        want = {}
        for e in mine.tolist():
            for c in sorted(set(block_core[pins[ptr[e] : ptr[e + 1]]].tolist())):
                want[c] = want.get(c, 0.0) + hg.weight[e]
        assert table[b].keys() == want.keys()
        assert all(abs(table[b][c] - want[c]) < 1e-9 for c in want)
