"""The SpiNNaker2 simulator's compiled paths compute exactly what its numpy
loop (the step-by-step oracle) computes: spikes and voltages bit for bit.

The compiled paths sum dense projections from their sources' spike events a
step at a time (in int32 when the weights fit int16, else float32), run the
batch in sample ranges on several threads, and hand spikes on as events;
each of these is exercised here against ``NIRC_JIT=0``'s numpy loop on
networks small enough to be quick (the size thresholds are lowered)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

import nirc.targets.spinnaker2.simulator as sim  # noqa: E402
from nirc.interpreter import jit  # noqa: E402
from nirc.targets.spinnaker2.network import (  # noqa: E402
    BIAS,
    INPUT,
    Conv2d,
    Network,
    Output,
    Population,
    Projection,
)
from nirc.targets.spinnaker2.sparse import Coo  # noqa: E402

RNG = np.random.default_rng(3)


def lif(name, n, model="lif_no_delay", **params):
    p = {"threshold": 40.0, "alpha_decay": 0.9, "i_offset": 0.25, "v_init": 0.5, "v_reset": -1.0,
         "reset": "reset_to_v_reset", **params}  # fmt: skip
    if model.startswith("lif_curr_exp"):
        p.setdefault("exc_decay", 0.75)
        p.setdefault("inh_decay", 0.75)
        p.setdefault("t_refrac", 0)
    return Population(name, model, (n,) if isinstance(n, int) else n, params=p)


def weights(post, pre, density=0.3, top=60):
    w = RNG.normal(0, top / 2, (post, pre)) * (RNG.random((post, pre)) < density)
    return Coo.from_dense(np.clip(np.rint(w), -top, top))


def network() -> Network:
    """Two inputs; a plain, a current-based (refractory) and a delayed
    population; two dense projections into one population, one with
    per-synapse delays; a conv projection (precomputed) next to a dense one;
    a bias source; weights beyond int16 on one projection (summed in float32);
    subtractive reset with per-neuron thresholds. Weights are integers, as on
    the chip (sums of integers are exact in any order)."""
    pops = [
        Population("in", "spike_list", (2, 6, 6), role=INPUT),
        Population("aux", "spike_list", (30,), role=INPUT),
        Population("bias", "spike_list", (2,), role=BIAS, start=3),
        lif("a", 90),
        lif("b", 70, "lif_curr_exp_no_delay", t_refrac=2),
        lif("c", 60, "lif", reset="reset_by_subtraction",
            threshold=RNG.uniform(20, 60, 60).astype(np.float32)),
        lif("d", (3, 6, 6), "lif_conv2d"),
        lif("e", 40),
    ]  # fmt: skip
    delayed = weights(60, 90, top=15)
    g = Conv2d(2, 6, 6, 3, 3, 3, pad_top=1, pad_bottom=1, pad_left=1, pad_right=1)
    kernel = RNG.integers(-20, 21, (3, 2, 3, 3)).astype(np.float64)
    projs = [
        Projection("in->a", "in", "a", weights(90, 72)),
        Projection("aux->a", "aux", "a", weights(90, 30, top=127)),
        Projection("a->b", "a", "b", weights(70, 90)),
        Projection("bias->b", "bias", "b", weights(70, 2, 1.0, top=5)),
        Projection("a->c", "a", "c", delayed, delays=RNG.integers(0, 8, delayed.nnz)),
        Projection("b->c", "b", "c", weights(60, 70, top=15)),
        Projection("in->d", "in", "d", g.matrix(kernel), conv=g, kernel=kernel),
        Projection("d->e", "d", "e", weights(40, 108, 0.02, top=40000)),
        Projection("c->e", "c", "e", weights(40, 60)),
    ]
    return Network(1.0, pops, projs, [Output("out", "e", (40,))])


def inputs(steps, batch, counts=False):
    x = (RNG.random((steps, batch, 2, 6, 6)) < 0.15).astype(np.uint8)
    if counts:  # Simulator.run takes event counts as they are
        x[RNG.random(x.shape) < 0.05] = 2
    return {"in": x, "aux": (RNG.random((steps, batch, 30)) < 0.1).astype(np.uint8)}


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setattr(sim, "JIT_ELEMENTS", 0)
    monkeypatch.setattr(sim, "PARALLEL_WORK", 0)


@pytest.mark.parametrize("batch, threads, counts", [(1, "1", False), (5, "1", True),
                                                    (5, "2", False), (7, "3", True)])  # fmt: skip
def test_compiled_equals_numpy_loop(small_thresholds, monkeypatch, batch, threads, counts):
    net = network()
    x = inputs(50, batch, counts)
    record = ("a", "b", "c", "d", "e")
    monkeypatch.setenv("NIRC_THREADS", threads)
    with jit.disabled():
        want_s, want_v = sim.Simulator(net).run(x, 60, record_v=record)
    got_s, got_v = sim.Simulator(net).run(x, 60, record_v=record)
    for name in want_s:
        assert got_s[name].dtype == np.uint8
        np.testing.assert_array_equal(got_s[name], want_s[name], err_msg=name)
    for name in record:
        np.testing.assert_array_equal(got_v[name], want_v[name], err_msg=name)
    assert all(want_s[n].any() for n in record), "a population never spikes: a weak test"


def test_events_are_the_spikes(small_thresholds, monkeypatch):
    """The events a compiled population hands on, and those made from spike
    arrays, list exactly the spikes (counts repeated), sample-major."""
    assert sim._jit() is not None  # numba's cache where nirc keeps its kernels
    from nirc.targets.spinnaker2 import kernels

    monkeypatch.setenv("NIRC_THREADS", "2")
    x = inputs(20, 3, counts=True)["in"].reshape(20, 3, -1)
    ptr, idx = sim._by_samples(lambda b0, b1: kernels.events_of(x, True, b0, b1), 3, x.size)
    for b in range(3):
        for t in range(20):
            r = b * 20 + t
            got = np.bincount(idx[ptr[r] : ptr[r + 1]], minlength=x.shape[2])
            np.testing.assert_array_equal(got, x[t, b])


def test_int16_and_float_weight_paths():
    """Integer weights within int16 are summed in int32, others in float32
    (test_compiled_equals_numpy_loop runs both against the numpy loop)."""
    assert sim._jit() is not None
    a = sim._Synapses(Projection("p", "in", "a", weights(5, 4)), Population("in", "spike_list", (4,)),
                      lif("a", 5))  # fmt: skip
    a.coo = (a.projection.weights.col, a.projection.weights.row, a.projection.weights.data)
    s = sim.Simulator(Network(1.0, [a.pre, a.post], [a.projection], []))
    w, acc = s._stacked([a])
    assert w.dtype == np.int16 and acc.dtype == np.int32
    np.testing.assert_array_equal(w, a.projection.weights.to_dense().T)
    a.coo = (a.coo[0], a.coo[1], a.coo[2] + 0.5)
    w, acc = sim.Simulator(Network(1.0, [a.pre, a.post], [a.projection], []))._stacked([a])
    assert w.dtype == np.float32 and acc.dtype == np.float32


def _conv_net(g: Conv2d, kernel: np.ndarray, as_conv: bool) -> Network:
    pops = [Population("in", "spike_list", (g.in_channels, g.in_height, g.in_width), role=INPUT),
            lif("d", g.out_shape, "lif_conv2d" if as_conv else "lif_no_delay", threshold=30.0)]  # fmt: skip
    pr = (Projection("in->d", "in", "d", g.matrix(kernel), conv=g, kernel=kernel) if as_conv
          else Projection("in->d", "in", "d", g.matrix(kernel)))  # fmt: skip
    return Network(1.0, pops, [pr], [Output("out", "d", g.out_shape)])


@pytest.mark.parametrize("p", [0.02, 0.6])  # spike-driven and im2col sums
def test_convolutions_equal_their_matrices(p):
    """A convolution (sum-pooled input, stride, uneven padding; input counts
    above one) gives what its synapses as a matrix give, bit for bit, sparse
    input or dense."""
    g = Conv2d(3, 9, 8, 5, 3, 2, stride_y=2, stride_x=1, pool_y=2, pool_x=2,
               pad_top=0, pad_bottom=1, pad_left=1, pad_right=0)  # fmt: skip
    kernel = RNG.integers(-20, 21, (5, 3, 3, 2)).astype(np.float64)
    x = (RNG.random((30, 4, 3, 9, 8)) < p).astype(np.uint8)
    x[RNG.random(x.shape) < p / 4] = 3
    want_s, want_v = sim.Simulator(_conv_net(g, kernel, False)).run({"in": x}, 32, record_v=("d",))
    got_s, got_v = sim.Simulator(_conv_net(g, kernel, True)).run({"in": x}, 32, record_v=("d",))
    np.testing.assert_array_equal(got_v["d"], want_v["d"])
    np.testing.assert_array_equal(got_s["d"], want_s["d"])
    assert 0 < want_s["d"].mean() < 0.9, "the population is silent or saturated: a weak test"


def test_a_batch_runs_in_blocks_of_samples(small_thresholds, monkeypatch):
    """A batch too large for one block of samples gives, block by block, what
    one run of the whole batch gives (spikes of every population, voltages)."""
    net = network()
    x = inputs(40, 7, counts=True)
    record = ("a", "c", "d", "e")
    whole_s, whole_v = sim.Simulator(net).run(x, 45, record_v=record)
    monkeypatch.setattr(sim, "SAMPLE_BLOCK", 45 * 108 * 3)  # three samples of the largest
    calls = []
    block = sim.Simulator._run_block
    monkeypatch.setattr(sim.Simulator, "_run_block",
                        lambda self, *a: calls.append(a[0]["in"].shape[1]) or block(self, *a))  # fmt: skip
    got_s, got_v = sim.Simulator(net).run(x, 45, record_v=record)
    assert calls == [3, 3, 1]
    assert got_s.keys() == whole_s.keys() and got_v.keys() == whole_v.keys()
    for name in whole_s:
        np.testing.assert_array_equal(got_s[name], whole_s[name], err_msg=name)
    for name in record:
        np.testing.assert_array_equal(got_v[name], whole_v[name], err_msg=name)


def test_given_populations_are_taken_as_they_are_in_blocks(small_thresholds, monkeypatch):
    """Upstream spikes passed as ``given`` (the calibration search holds them
    while it tries a downstream population's scales): a run in blocks of
    samples returns those arrays themselves, not copies, and gives the
    populations downstream what a run without blocks gives from the same
    spikes; a recorded population is simulated even when given."""
    net = network()
    x = inputs(40, 7, counts=True)
    whole_s, _ = sim.Simulator(net).run(x, 45)
    given = {k: whole_s[k].copy() for k in ("in", "aux", "bias", "a", "b", "d")}
    given["b"][:, :, :5] ^= 1  # b changed: c and e follow it, not the full run
    want_s, want_v = sim.Simulator(net).run(x, 45, record_v=("e", "a"), given=given)
    monkeypatch.setattr(sim, "SAMPLE_BLOCK", 45 * 108 * 3)  # three samples of the largest
    got_s, got_v = sim.Simulator(net).run(x, 45, record_v=("e", "a"), given=given)
    assert got_s["b"] is given["b"] and got_s["d"] is given["d"]
    assert got_s["a"] is not given["a"]  # recorded: simulated
    np.testing.assert_array_equal(got_s["a"], whole_s["a"])
    assert got_s.keys() == want_s.keys()
    for name in want_s:
        np.testing.assert_array_equal(got_s[name], want_s[name], err_msg=name)
    np.testing.assert_array_equal(got_v["e"], want_v["e"])
    assert not np.array_equal(got_s["c"], whole_s["c"]), "b's change did not reach c: a weak test"


@pytest.mark.parametrize("batch, threads, delay", [(1, "1", 0), (6, "2", 0), (5, "2", 2)])
def test_compiled_lateral_copies_equal_numpy_loop(small_thresholds, monkeypatch, batch, threads,
                                                   delay):  # fmt: skip
    """A multi-spike population built as copies whose lateral synapses hand
    each copy its element's weight times the other copies' spikes (quantize):
    compiled with the lateral sums inside the neuron loop, the spikes and
    voltages are the numpy loop's, bit for bit; weights and decay chosen
    inexact in float32, so that any other order of the float32 operations
    would show (and with a delay on the lateral synapses, which the loop
    honours)."""
    from nirc.targets.spinnaker2.simulator import _prepare

    k, shape = 4, (2, 3, 3)
    n = 2 * 3 * 3
    pop = lif("p", shape, alpha_decay=np.float32(0.8731), threshold=np.float32(3.3),
              reset="reset_by_subtraction", v_init=0.0)  # fmt: skip
    pop.copies = k
    lay = pop.layout()  # [elements, copies]
    w_el = RNG.uniform(0.9, 3.1, n).astype(np.float32)  # one lateral weight per element
    rows, cols, vals = [], [], []
    for e in range(n):
        for a in range(k):
            for b in range(k):
                if a != b:
                    rows.append(lay[e, a])
                    cols.append(lay[e, b])
                    vals.append(float(w_el[e]))
    lateral = Projection("p->p", "p", "p", Coo(np.array(rows), np.array(cols), np.array(vals),
                                                (n * k, n * k)),
                         delays=np.full(len(rows), delay, np.int64))  # fmt: skip
    inp = Population("in", "spike_list", (12,), role=INPUT)
    feed = Projection("in->p", "in", "p", weights(n * k, 12, 0.5, top=9))
    net = Network(1.0, [inp, pop], [feed, lateral], [Output("out", "p", (n * k,))])
    syn = [s for s in _prepare(lateral, pop, pop)]
    assert len(syn) == 1 and syn[0].lateral is not None  # taken as lateral copies
    x = {"in": (RNG.random((40, batch, 12)) < 0.4).astype(np.uint8)}
    monkeypatch.setenv("NIRC_THREADS", threads)
    with jit.disabled():
        want_s, want_v = sim.Simulator(net).run(x, 45, record_v=("p",))

    def numpy_loop(*args, **kw):
        raise AssertionError("the lateral copies ran in the numpy loop")

    monkeypatch.setattr(sim.Simulator, "_loop", numpy_loop)
    got_s, got_v = sim.Simulator(net).run(x, 45, record_v=("p",))
    np.testing.assert_array_equal(got_s["p"], want_s["p"])
    np.testing.assert_array_equal(got_v["p"], want_v["p"])
    several = want_s["p"][:, :, lay].sum(axis=3)
    assert several.max() >= 2 and want_s["p"].any()  # copies fired together: lateral sums ran


@pytest.mark.parametrize("block", [1 << 30, 4000])  # one block of samples, or several
def test_run_keeps_only_the_populations_asked_for(monkeypatch, block):
    """``keep``: the spikes of those populations only (the calibration search
    scores a candidate by its outputs), the same arrays as a full run's;
    given populations pass through as given."""
    monkeypatch.setattr(sim, "SAMPLE_BLOCK", block)
    net = network()
    x = inputs(30, 5)
    full_s, full_v = sim.Simulator(net).run(x, 35, record_v=("c",))
    got_s, got_v = sim.Simulator(net).run(x, 35, record_v=("c",), keep={"e", "b"})
    assert set(got_s) == {"e", "b"}
    for name in got_s:
        np.testing.assert_array_equal(got_s[name], full_s[name], err_msg=name)
    np.testing.assert_array_equal(got_v["c"], full_v["c"])
    given = {"a": full_s["a"]}
    got_s, _ = sim.Simulator(net).run(x, 35, given=given, keep={"a", "e"})
    assert set(got_s) == {"a", "e"} and got_s["a"] is given["a"]
    np.testing.assert_array_equal(got_s["e"], full_s["e"])
