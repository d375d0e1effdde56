"""The Speck simulator against an independent explicit-loop formulation.

The reference below is written from the chip model (see the simulator's
docstring), one neuron and one synapse at a time, with Python integers; the
simulator must agree with it exactly, spike for spike and state for state.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.interpreter import jit
from nirc.targets.speck import Destination, SpeckLayer, SpeckSimulator
from nirc.targets.speck import simulator as speck_simulator
from nirc.targets.speck.simulator import conv_events

I16 = (-(2**15), 2**15 - 1)
# the simulator's two paths: numpy, and the compiled network when numba is installed
PATHS = (False, True) if jit.ENABLED else (False,)
COMPILED = pytest.mark.skipif(not jit.ENABLED, reason="numba is not installed")


def ref_conv(x, w, stride, padding):
    """x [c][h][w] nested ints, w array [f, c, ky, kx] -> dict[(f, i, j)] -> int."""
    c_n, h, wd = len(x), len(x[0]), len(x[0][0])
    f_n, _, ky_n, kx_n = w.shape
    sx, sy = stride
    px, py = padding
    oh = (h + 2 * py - ky_n) // sy + 1
    ow = (wd + 2 * px - kx_n) // sx + 1
    out = {}
    for f in range(f_n):
        for i in range(oh):
            for j in range(ow):
                acc = 0
                for c in range(c_n):
                    for ky in range(ky_n):
                        for kx in range(kx_n):
                            y = i * sy - py + ky
                            xx = j * sx - px + kx
                            if 0 <= y < h and 0 <= xx < wd:
                                acc += int(x[c][y][xx]) * int(w[f, c, ky, kx])
                out[f, i, j] = acc
    return out, (f_n, oh, ow)


def ref_run(layers, events, spike_mode="multi", overflow="saturate"):
    """Layers must be listed with sources before destinations. Returns
    (spikes, membranes) per layer as int arrays [T, f, h, w]."""
    T = len(events)
    inbox = {0: [np.asarray(e, np.int64).tolist() for e in events]}
    spikes_all, mem_all = {}, {}
    for li, layer in enumerate(layers):
        c, h, w = layer.input_shape
        xs = inbox.get(li) or [[[[0] * w for _ in range(h)] for _ in range(c)] for _ in range(T)]
        f_n, oh, ow = layer.output_shape
        v = {
            (f, i, j): (
                0
                if layer.neurons_initial_value is None
                else int(layer.neurons_initial_value[f, i, j])
            )
            for f in range(f_n)
            for i in range(oh)
            for j in range(ow)
        }
        spikes = np.zeros((T, f_n, oh, ow), np.int64)
        mem = np.zeros((T, f_n, oh, ow), np.int64)
        thr, low = layer.threshold_high, layer.threshold_low
        for t in range(T):
            syn, _ = ref_conv(xs[t], layer.weights, layer.stride, layer.padding)
            for (f, i, j), value in v.items():
                value += syn[f, i, j]
                if layer.leak_enable:
                    value += int(layer.biases[f])
                if overflow == "saturate":
                    value = min(max(value, I16[0]), I16[1])
                elif overflow == "wrap":
                    value = (value + 2**15) % 2**16 - 2**15
                n = 0
                if value >= thr:
                    n = value // thr if spike_mode == "multi" else 1
                    value = 0 if layer.return_to_zero else value - n * thr
                if value < low:
                    value = low
                v[f, i, j] = value
                spikes[t, f, i, j] = n
                mem[t, f, i, j] = value
        spikes_all[li], mem_all[li] = spikes, mem
        for d in layer.destinations:
            p = d.pooling
            ph, pw = oh // p, ow // p
            target = inbox.setdefault(
                d.layer, [[[[0] * pw for _ in range(ph)] for _ in range(f_n)] for _ in range(T)]
            )
            for t in range(T):
                for f in range(f_n):
                    for i in range(ph):
                        for j in range(pw):
                            target[t][f][i][j] += int(
                                spikes[t, f, i * p : (i + 1) * p, j * p : (j + 1) * p].sum()
                            )
    return spikes_all, mem_all


def random_layer(rng, name, input_shape, f, k, *, stride=1, padding=0, dests=(), **kw):
    c = input_shape[0]
    fields = dict(
        weights=rng.integers(-128, 128, (f, c, k, k)).astype(np.int8),
        biases=rng.integers(-128, 128, f).astype(np.int8),
        threshold_high=int(rng.integers(1, 400)),
        threshold_low=-int(rng.integers(1, 3000)),
        return_to_zero=bool(rng.integers(2)),
        leak_enable=bool(rng.integers(2)),
    )
    fields.update(kw)
    return SpeckLayer(
        name, input_shape, stride=stride, padding=padding, destinations=tuple(dests), **fields
    )


def random_events(rng, T, shape, density=0.3, max_count=3):
    counts = rng.integers(1, max_count + 1, (T, *shape))
    return np.where(rng.random((T, *shape)) < density, counts, 0)


def check_against_reference(layers, events, **modes):
    """Both paths of the simulator (numpy; compiled, with numba) against the
    reference, every layer's spikes and membranes."""
    spikes, mem = ref_run(layers, events, **modes)
    for path in PATHS:
        sim = SpeckSimulator(layers, jit=path, **modes).run(events, record=True)
        for i in range(len(layers)):
            assert np.array_equal(sim["spikes"][i], spikes[i]), f"spikes of layer {i} ({path})"
            assert np.array_equal(sim["membrane"][i], mem[i]), f"membrane of layer {i} ({path})"
            assert np.array_equal(sim["state"][i], mem[i][-1])
    return sim, spikes


@pytest.mark.parametrize("seed", range(6))
def test_single_layer_random(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.choice([1, 2, 3, 5]))
    stride = (int(rng.choice([1, 2])), int(rng.choice([1, 2])))
    padding = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    shape = (int(rng.integers(1, 4)), int(rng.integers(5, 9)), int(rng.integers(5, 9)))
    layer = random_layer(
        rng, "l", shape, int(rng.integers(1, 4)), k, stride=stride, padding=padding
    )
    init = rng.integers(-100, 100, layer.output_shape).astype(np.int16)
    layer.neurons_initial_value = init
    sim, spikes = check_against_reference([layer], random_events(rng, 10, shape))
    assert np.array_equal(sim["output"], spikes[0])


@pytest.mark.parametrize("spike_mode", ["multi", "single"])
@pytest.mark.parametrize("return_to_zero", [False, True])
def test_reset_and_spike_modes(spike_mode, return_to_zero):
    rng = np.random.default_rng(11)
    layer = random_layer(
        rng,
        "l",
        (2, 6, 6),
        3,
        3,
        padding=1,
        threshold_high=40,  # low threshold: several spikes per step are common
        return_to_zero=return_to_zero,
    )
    sim, spikes = check_against_reference(
        [layer], random_events(rng, 12, (2, 6, 6)), spike_mode=spike_mode
    )
    counts = sim["output"]
    if spike_mode == "single":
        assert counts.max() == 1
    else:
        assert counts.max() > 1


def test_subtract_keeps_remainder_and_zero_reset_drops_it():
    w = np.full((1, 1, 1, 1), 25, np.int8)
    events = np.array([1, 1, 1, 1, 0, 0]).reshape(6, 1, 1, 1)
    base = dict(name="n", input_shape=(1, 1, 1), weights=w, threshold_high=10, threshold_low=-5)
    sub = SpeckSimulator([SpeckLayer(**base)]).run(events, record=True)
    assert sub["output"][:, 0, 0, 0].tolist() == [2, 3, 2, 3, 0, 0]  # 25, 30, 35, 40 -> /10
    assert sub["membrane"][0][:, 0, 0, 0].tolist() == [5, 0, 5, 0, 0, 0]
    rtz = SpeckSimulator([SpeckLayer(**base, return_to_zero=True)]).run(events, record=True)
    assert rtz["output"][:, 0, 0, 0].tolist() == [2, 2, 2, 2, 0, 0]
    assert rtz["membrane"][0][:, 0, 0, 0].tolist() == [0] * 6
    single = SpeckSimulator([SpeckLayer(**base)], spike_mode="single").run(events, record=True)
    assert single["output"][:, 0, 0, 0].tolist() == [1, 1, 1, 1, 1, 1]
    assert single["membrane"][0][:, 0, 0, 0].tolist() == [15, 30, 45, 60, 50, 40]


def test_threshold_is_inclusive():
    w = np.full((1, 1, 1, 1), 10, np.int8)
    layer = SpeckLayer("n", (1, 1, 1), w, threshold_high=10, threshold_low=-1)
    out = SpeckSimulator([layer]).run(np.ones((1, 1, 1, 1), int))["output"]
    assert out.item() == 1


def test_threshold_low_clamps():
    rng = np.random.default_rng(3)
    layer = random_layer(
        rng,
        "l",
        (2, 5, 5),
        2,
        3,
        weights=-np.abs(rng.integers(1, 128, (2, 2, 3, 3))).astype(np.int8),
        threshold_low=-300,
        leak_enable=False,
    )
    sim, _ = check_against_reference([layer], random_events(rng, 10, (2, 5, 5), density=0.8))
    assert sim["membrane"][0].min() == -300
    # hand-checked: -100 per step, clamped at -250
    w = np.full((1, 1, 1, 1), -100, np.int8)
    one = SpeckLayer("n", (1, 1, 1), w, threshold_high=5, threshold_low=-250)
    mem = SpeckSimulator([one]).run(np.ones((4, 1, 1, 1), int), record=True)["membrane"][0]
    assert mem[:, 0, 0, 0].tolist() == [-100, -200, -250, -250]


def test_bias_is_added_every_step():
    w = np.zeros((2, 1, 1, 1), np.int8)
    layer = SpeckLayer(
        "n",
        (1, 1, 1),
        w,
        biases=np.array([3, -1]),
        leak_enable=True,
        threshold_high=10,
        threshold_low=-4,
    )
    res = SpeckSimulator([layer]).run(np.zeros((8, 1, 1, 1), int), record=True)
    assert res["output"][:, 0, 0, 0].tolist() == [0, 0, 0, 1, 0, 0, 1, 0]
    assert res["membrane"][0][:, 0, 0, 0].tolist() == [3, 6, 9, 2, 5, 8, 1, 4]
    assert res["membrane"][0][:, 1, 0, 0].tolist() == [-1, -2, -3, -4, -4, -4, -4, -4]
    off = SpeckSimulator(
        [
            SpeckLayer(
                "n", (1, 1, 1), w, biases=np.array([3, -1]), threshold_high=10, threshold_low=-4
            )
        ]
    )
    assert not off.run(np.zeros((8, 1, 1, 1), int), record=True)["membrane"][0].any()


def test_pooling_two_destinations_and_merge():
    rng = np.random.default_rng(5)
    layers = [
        random_layer(
            rng,
            "a",
            (2, 8, 8),
            4,
            3,
            padding=1,
            threshold_high=60,
            dests=(Destination(1, pooling=2), Destination(2, pooling=1)),
        ),
        random_layer(
            rng,
            "b",
            (4, 4, 4),
            3,
            3,
            padding=1,
            threshold_high=50,
            dests=(Destination(3, pooling=1),),
        ),
        random_layer(
            rng,
            "c",
            (4, 8, 8),
            3,
            3,
            stride=2,
            padding=1,
            threshold_high=50,
            dests=(Destination(3, pooling=1),),
        ),
        random_layer(rng, "d", (3, 4, 4), 5, 4, threshold_high=30),
    ]
    sim, spikes = check_against_reference(layers, random_events(rng, 10, (2, 8, 8), density=0.5))
    assert sim["spikes"][0].sum() > 0 and sim["spikes"][1].sum() > 0 and sim["spikes"][2].sum() > 0
    assert list(sim["outputs"]) == [3]
    # pooled by 4: layer a's 8x8 map becomes 2x2
    layers[0].destinations = (Destination(1, pooling=4), Destination(2, pooling=1))
    layers[1].input_shape = (4, 2, 2)
    layers[1].padding = (1, 1)
    layers[1].weights = layers[1].weights[:, :, :1, :1].copy()  # 1x1 kernel, pad 1 -> 4x4
    check_against_reference(layers, random_events(rng, 6, (2, 8, 8), density=0.5))


@pytest.mark.parametrize("overflow", ["saturate", "wrap", "none"])
def test_overflow_modes(overflow):
    w = np.full((1, 2, 3, 3), 127, np.int8)
    layer = SpeckLayer("n", (2, 3, 3), w, padding=1, threshold_high=32000, threshold_low=-32768)
    events = np.full((4, 2, 3, 3), 20)
    sim, _ = check_against_reference([layer], events, overflow=overflow)
    peak = 127 * 20 * 2 * 9  # one step into the centre neuron: 45720
    assert peak > 2**15
    first = sim["membrane"][0][0, 0, 1, 1] + 32000 * sim["spikes"][0][0, 0, 1, 1]
    assert first == {"saturate": 32767, "wrap": peak - 2**16, "none": peak}[overflow]


@pytest.mark.parametrize("method", ["dense", "scatter", "auto"])
@pytest.mark.parametrize(
    "stride, padding, kernel", [((1, 1), (0, 0), 3), ((2, 1), (1, 2), 3), ((4, 2), (3, 0), 5)]
)
def test_conv_events_matches_reference(method, stride, padding, kernel):
    rng = np.random.default_rng(9)
    x = rng.integers(0, 4, (4, 2, 9, 8)) * (rng.random((4, 2, 9, 8)) < 0.3)
    x[2] = 0  # a step without events
    w = rng.integers(-128, 128, (3, 2, kernel, kernel)).astype(np.int8)
    got = conv_events(x, w, stride, padding, method=method)
    for t in range(4):
        ref, shape = ref_conv(x[t].tolist(), w, stride, padding)
        assert got.shape[1:] == shape
        assert all(got[t][k] == v for k, v in ref.items())


def test_conv_events_integer_path_for_huge_counts():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 4, (3, 2, 7, 6))
    w = rng.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    got = conv_events(x, w, (2, 1), (1, 2))
    # counts so large that float64 could round: the int64 path must stay exact
    big = x * (2**45)
    assert np.array_equal(conv_events(big, w, (2, 1), (1, 2), method="dense"), got * (2**45))


@pytest.mark.parametrize("spike_mode", ["multi", "single"])
def test_steps_without_input(spike_mode):
    """Sparse in time, and initial membranes above threshold: the first step
    must still fire, later silent steps change nothing (or fire again in
    single mode, which checks every step)."""
    rng = np.random.default_rng(4)
    layer = random_layer(rng, "l", (2, 5, 5), 3, 3, padding=1, threshold_high=50)
    layer.leak_enable = False
    layer.neurons_initial_value = rng.integers(-100, 200, layer.output_shape).astype(np.int16)
    events = random_events(rng, 12, (2, 5, 5), density=0.4)
    events[1:5] = 0
    events[8:] = 0
    sim, spikes = check_against_reference([layer], events, spike_mode=spike_mode)
    assert spikes[0][0].sum() > 0


def test_inputs_by_layer_and_validation():
    rng = np.random.default_rng(2)
    layer = random_layer(rng, "l", (1, 4, 4), 2, 3, padding=1)
    sim = SpeckSimulator([layer], placement=(4,))
    events = random_events(rng, 5, (1, 4, 4))
    a = sim.run(events)["output"]
    b = sim.run({0: events.astype(float)})["output"]
    assert np.array_equal(a, b)
    with pytest.raises(NircError, match="wrong shape"):
        sim.run(np.zeros((5, 2, 4, 4), int))
    with pytest.raises(NircError, match="non-negative"):
        sim.run(-np.ones((5, 1, 4, 4), int))
    with pytest.raises(NircError, match="integer"):
        sim.run(np.full((5, 1, 4, 4), 0.5))
    with pytest.raises(NircError, match="spike mode"):
        SpeckSimulator([layer], spike_mode="burst")


def test_simulator_checks_the_network():
    layer = SpeckLayer("n", (1, 4, 4), np.ones((1, 1, 3, 3), np.int8), stride=3)
    with pytest.raises(NircError, match="stride"):
        SpeckSimulator([layer])


def test_routing_cycle_is_rejected():
    w = np.ones((1, 1, 1, 1), np.int8)
    a = SpeckLayer("a", (1, 2, 2), w, threshold_low=-1, destinations=(Destination(1),))
    b = SpeckLayer("b", (1, 2, 2), w, threshold_low=-1, destinations=(Destination(0),))
    with pytest.raises(NircError, match="feed-forward"):
        SpeckSimulator([a, b])


def test_worked_example_runs_fast():
    rng = np.random.default_rng(0)

    def w(*shape):
        return rng.integers(-20, 40, shape).astype(np.int8)

    layers = [
        SpeckLayer(
            "conv1",
            (2, 32, 32),
            w(8, 2, 3, 3),
            threshold_high=50,
            destinations=(Destination(1, 2),),
        ),
        SpeckLayer(
            "conv2",
            (8, 15, 15),
            w(16, 8, 3, 3),
            stride=2,
            threshold_high=50,
            destinations=(Destination(2),),
        ),
        SpeckLayer("fc", (16, 7, 7), w(10, 16, 7, 7), threshold_high=50),
    ]
    events = random_events(rng, 200, (2, 32, 32), density=0.05, max_count=1)
    out = SpeckSimulator(layers, (0, 1, 2)).run(events)["output"]
    assert out.shape == (200, 10, 1, 1) and out.sum() > 0


# -- the compiled network ------------------------------------------------------------


def random_network(rng, **kw) -> list[SpeckLayer]:
    """Three layers: a sends to b directly and to c pooled by 2 (where the
    host's events may merge with them); b and c are outputs."""
    return [
        random_layer(rng, "a", (2, 9, 9), 6, 3, padding=1, threshold_high=int(rng.integers(20, 90)),
                     dests=(Destination(1), Destination(2, 2)), **kw),
        random_layer(rng, "b", (6, 9, 9), 6, 3, stride=2, padding=1, **kw),
        random_layer(rng, "c", (6, 4, 4), 4, 2, stride=1, padding=0, **kw),
    ]  # fmt: skip


@COMPILED
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "modes",
    [
        {},
        {"spike_mode": "single"},
        {"overflow": "wrap"},
        {"overflow": "none", "spike_mode": "single"},
    ],
)
def test_compiled_batch_equals_numpy_batch(seed, modes):
    """Batches through the compiled network and the numpy code: every layer's
    spikes, membranes and final state, with the host feeding two layers,
    several spikes per step, leaks, initial membranes and silent steps."""
    rng = np.random.default_rng(seed)
    layers = random_network(rng)
    layers[0].neurons_initial_value = rng.integers(-200, 600, layers[0].output_shape)
    x = np.stack([random_events(rng, 12, (2, 9, 9), 0.4, 4) for _ in range(3)], axis=1)
    x[3:6] = 0
    feeds = {0: x, 2: np.stack([random_events(rng, 12, (6, 4, 4), 0.2) for _ in range(3)], 1)}
    fast = SpeckSimulator(layers, jit=True, **modes).run(feeds, record=True)
    slow = SpeckSimulator(layers, jit=False, **modes).run(feeds, record=True)
    for key in ("spikes", "membrane", "state"):
        for i in slow[key]:
            a, b = fast[key][i], slow[key][i]
            assert a.dtype == b.dtype and np.array_equal(a, b), (key, i)
    assert fast["spikes"][2].sum() > 0 and fast["spikes"][0].max() > (modes == {})


@COMPILED
@pytest.mark.parametrize("modes", [{}, {"overflow": "none"}])
def test_compiled_vector_adds_equal_numpy(modes):
    """Layers of 16 and 8 features (runs of whole 16-element vectors, and of
    8 features over one or two columns: vectors and the loop), events of one
    spike and of several, int32 sums and (``overflow="none"``) int64: the
    compiled network's vector adds give the numpy code's numbers."""
    rng = np.random.default_rng(7)
    layers = [
        random_layer(rng, "a", (2, 9, 9), 16, 3, padding=1, threshold_high=60,
                     dests=(Destination(1), Destination(2, 2))),
        random_layer(rng, "b", (16, 9, 9), 8, 3, stride=2, padding=1, threshold_high=90),
        random_layer(rng, "c", (16, 4, 4), 16, 2, threshold_high=70),
    ]  # fmt: skip
    x = np.stack([random_events(rng, 15, (2, 9, 9), 0.3, 3) for _ in range(2)], axis=1)
    fast = SpeckSimulator(layers, jit=True, **modes).run({0: x}, record=True)
    slow = SpeckSimulator(layers, jit=False, **modes).run({0: x}, record=True)
    for key in ("spikes", "membrane", "state"):
        for i in slow[key]:
            assert np.array_equal(fast[key][i], slow[key][i]), (key, i)
    assert all(fast["spikes"][i].sum() > 0 for i in range(3))
    assert fast["spikes"][0].max() > 1  # several spikes: pooled counts above one


@COMPILED
def test_compiled_int64_path_for_counts_beyond_int32():
    """Host counts so large that a step's input overflows int32: the compiled
    network switches to int64 sums (with overflow="none", the membrane is
    unbounded and the numbers agree with the reference; with saturation too)."""
    w = np.full((2, 1, 2, 2), 127, np.int8)
    layer = SpeckLayer("n", (1, 3, 3), w, threshold_high=30000, threshold_low=-30000)
    events = np.zeros((3, 1, 3, 3), np.int64)
    events[0] = 5_000_000  # 4 * 127 * 5e6 = 2.5e9 > 2**31 into each neuron
    for overflow in ("none", "saturate"):
        check_against_reference([layer], events, overflow=overflow)
    big = SpeckSimulator([layer], jit=True, overflow="none").run(events)
    assert big["output"][0, 0, 0, 0] == 4 * 127 * 5_000_000 // 30000


@COMPILED
def test_compiled_samples_shared_among_threads(monkeypatch):
    rng = np.random.default_rng(7)
    layers = random_network(rng)
    x = np.stack([random_events(rng, 10, (2, 9, 9), 0.3) for _ in range(5)], axis=1)
    one = SpeckSimulator(layers, jit=True).run(x, record=True)
    monkeypatch.setenv("NIRC_THREADS", "3")  # three threads, samples 0-1, 2-3, 4
    three = SpeckSimulator(layers, jit=True).run(x, record=True)
    for key in ("spikes", "membrane", "state"):
        for i in one[key]:
            assert np.array_equal(one[key][i], three[key][i]), (key, i)


@COMPILED
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.float64])
def test_compiled_takes_any_event_dtype(dtype):
    rng = np.random.default_rng(1)
    layers = random_network(rng)
    x = random_events(rng, 8, (2, 9, 9), 0.3, max_count=1)
    want = SpeckSimulator(layers, jit=False).run(x.astype(np.int64))["outputs"]
    got = SpeckSimulator(layers, jit=True).run(x.astype(dtype))["outputs"]
    assert list(got) == list(want) == [1, 2]
    for i in want:
        assert got[i].dtype == want[i].dtype and np.array_equal(got[i], want[i])


@COMPILED
def test_compiled_counts_that_fit_a_byte_run_as_bytes(monkeypatch):
    """int64 counts of at most 255 reach the kernel as bytes (the byte scan,
    and no second compiled variant of the kernel); a count of 256 keeps them
    int64. Both give the numpy code's numbers."""
    k = speck_simulator.compiled_kernels()
    seen = []
    real = k.run_network

    def spy(*args):
        seen.append(args[3].dtype)
        return real(*args)

    monkeypatch.setattr(k, "run_network", spy)
    monkeypatch.setenv("NIRC_THREADS", "1")
    rng = np.random.default_rng(3)
    layers = random_network(rng)
    small = random_events(rng, 8, (2, 9, 9), 0.3).astype(np.int64)
    small[0, 0, 0, 0] = 255
    large = small.copy()
    large[1, 1, 4, 4] = 256
    for x in (small, large):
        fast = SpeckSimulator(layers, jit=True, overflow="none").run(x, record=True)
        slow = SpeckSimulator(layers, jit=False, overflow="none").run(x, record=True)
        for key in ("spikes", "membrane"):
            for i in slow[key]:
                assert np.array_equal(fast[key][i], slow[key][i]), (key, i)
    assert seen == [np.uint8, np.int64]


def test_compiled_on_request_without_numba_is_a_diagnostic(monkeypatch):
    monkeypatch.setattr(jit, "ENABLED", False)
    layer = SpeckLayer("n", (1, 2, 2), np.ones((1, 1, 1, 1), np.int8), threshold_low=-1)
    with pytest.raises(NircError) as e:
        SpeckSimulator([layer], jit=True).run(np.ones((3, 1, 2, 2), int))
    assert "needs numba" in str(e.value) and e.value.where == "SpeckSimulator(jit=True)"
    assert "nirc[fast]" in e.value.expected and e.value.found == "numba missing or NIRC_JIT=0"
    out = SpeckSimulator([layer]).run(np.ones((3, 1, 2, 2), int))["output"]  # numpy instead
    assert out.sum() == 12


@COMPILED
def test_default_loads_numba_only_for_runs_that_repay_it(monkeypatch):
    monkeypatch.delitem(sys.modules, speck_simulator._KERNELS, raising=False)
    layer = SpeckLayer("n", (1, 2, 2), np.ones((1, 1, 1, 1), np.int8), threshold_low=-1)
    sim = SpeckSimulator([layer])
    long = speck_simulator.JIT_MIN_SAMPLE_STEPS
    assert sim._compiled(long - 1) is None and speck_simulator._KERNELS not in sys.modules
    assert sim._compiled(long) is not None and sim._compiled(1) is not None
    assert SpeckSimulator([layer], jit=False)._compiled(long) is None


@COMPILED
def test_compiled_full_event_list_next_to_a_busy_one():
    """Pooling sends several spikes to one position of a layer that has one
    (its event list is full after the first) while the next layer's list
    holds events already: the lists must not overlap."""
    one = np.ones((1, 1, 1, 1), np.int8)
    layers = [
        SpeckLayer("s", (1, 1, 1), one, threshold_low=-1, destinations=(Destination(3),)),
        SpeckLayer("a", (1, 2, 2), np.full((1, 1, 1, 1), 50, np.int8), threshold_low=-1,
                   destinations=(Destination(2, 2),)),
        SpeckLayer("b", (1, 1, 1), np.ones((2, 1, 1, 1), np.int8), threshold_low=-1),
        SpeckLayer("c", (1, 1, 1), np.full((3, 1, 1, 1), 7, np.int8), threshold_low=-1),
    ]  # fmt: skip
    x = np.ones((5, 1, 1, 1), np.int64)
    feeds = {0: x, 1: np.ones((5, 1, 2, 2), np.int64)}
    fast = SpeckSimulator(layers, jit=True).run(feeds, record=True)
    slow = SpeckSimulator(layers, jit=False).run(feeds, record=True)
    for i in range(4):
        assert np.array_equal(fast["spikes"][i], slow["spikes"][i]), i
        assert np.array_equal(fast["membrane"][i], slow["membrane"][i]), i
    assert (fast["spikes"][2] == 200).all() and (fast["spikes"][3] == 7).all()


def test_blocks_are_chosen_where_they_add_little():
    """A layer takes fixed blocks when its runs are whole 8-element vectors
    and they add at most 1.5x the segments' elements; not when the kernel
    covers its input (4x: each event reaches one output cell), nor for 6
    features over 3 columns (runs of 18)."""
    rng = np.random.default_rng(3)
    paper = random_layer(rng, "p", (2, 34, 34), 16, 5, stride=2, padding=1)
    whole = random_layer(rng, "w", (8, 4, 4), 32, 4)
    odd = random_layer(rng, "o", (2, 9, 9), 6, 3, padding=1)
    for layer, takes in ((paper, True), (whole, False), (odd, False)):
        _, segs, _ = speck_simulator._segments(layer)
        blocks = speck_simulator._blocks(layer, int(segs[:, 2].sum()))
        assert (blocks is not None) == takes, layer.name
    tab, weights, run, rstride, base, total = speck_simulator._blocks(paper, 1 << 40)
    assert run == 3 * 16 and rstride == 18 * 16 and tab.shape == (34 * 34 * 2,)
    # every kernel weight is in the blocks once, the taps past the kernel are zeros
    assert np.count_nonzero(weights) == np.count_nonzero(paper.weights)
    assert weights.sum() == np.asarray(paper.weights, np.int64).sum()


@COMPILED
@pytest.mark.parametrize("overflow", ["saturate", "wrap", "none"])
@pytest.mark.parametrize("feed", [np.uint8, np.int64])
@pytest.mark.parametrize("leak", [True, False])
def test_compiled_blocks_equal_numpy(overflow, feed, leak):
    """Layers of fixed blocks against the numpy code, every layer's spikes
    and membranes: a stride-2 5 x 5 layer of 16 features that only the host
    feeds (uint8 events are added as the scan finds them, over an input
    that is not a multiple of 64 bytes; int64 ones, with a count past 255,
    through the event list), counts above one, with and without leak (then
    silent steps are skipped), a low threshold; an 8-feature layer (runs of
    16 + 8) fed by it pooled (counts up to 4) and by the host; int32 sums
    (the first layer's int16 where they fit: not with the count of 300),
    and int64 with ``overflow="none"``."""
    rng = np.random.default_rng(11)
    layers = [
        random_layer(rng, "a", (2, 15, 15), 16, 5, stride=2, padding=1, threshold_high=70,
                     leak_enable=leak, dests=(Destination(1, 2),)),
        random_layer(rng, "b", (16, 3, 3), 8, 3, padding=1, threshold_high=90, leak_enable=True),
    ]  # fmt: skip
    x = np.stack([random_events(rng, 14, (2, 15, 15), 0.3, 3) for _ in range(3)], axis=1)
    x[4:6] = 0
    y = np.stack([random_events(rng, 14, (16, 3, 3), 0.2) for _ in range(3)], 1)
    feeds = {0: x.astype(feed), 1: y.astype(feed)}  # one type: uint8 events stay bytes
    if feed is np.int64:
        feeds[0][2, 1, 0, 7, 7] = 300  # past a byte: the int64 path (else taken as bytes)
    fast_sim = SpeckSimulator(layers, jit=True, overflow=overflow)
    fast = fast_sim.run(feeds, record=True)
    slow = SpeckSimulator(layers, jit=False, overflow=overflow).run(feeds, record=True)
    k = speck_simulator.compiled_kernels()
    net = fast_sim._compiled_network
    assert (net.P[:, k.BLK_RUN] == (48, 24)).all()
    # the first layer's sums fit int16 (its counts are at most 3); the second's
    # not (multi mode: up to 32767 // 90 spikes from each of 4 pooled neurons)
    host = float(max(feeds[0].max(), feeds[1].max()))
    assert net._narrow(fast_sim, [0, 1], host) == [feed is np.uint8, False]
    for key in ("spikes", "membrane", "state"):
        for i in slow[key]:
            assert np.array_equal(fast[key][i], slow[key][i]), (key, i)
    assert all(fast["spikes"][i].sum() > 0 for i in range(2))
    assert fast["spikes"][0].max() > 1


@COMPILED
def test_compiled_two_destinations_in_one_layer():
    """A layer sending its spikes twice to one layer of blocks (both
    destinations one event list: each spike counted twice)."""
    rng = np.random.default_rng(5)
    layers = [
        SpeckLayer("a", (1, 6, 6), rng.integers(-50, 100, (16, 1, 3, 3)).astype(np.int8),
                   padding=(1, 1), threshold_high=40, destinations=(Destination(1), Destination(1))),
        SpeckLayer("b", (16, 6, 6), rng.integers(-50, 100, (8, 16, 3, 3)).astype(np.int8),
                   padding=(1, 1), threshold_high=200),
    ]  # fmt: skip
    x = (rng.random((12, 2, 1, 6, 6)) < 0.4).astype(np.uint8)
    fast = SpeckSimulator(layers, jit=True).run({0: x}, record=True)
    slow = SpeckSimulator(layers, jit=False).run({0: x}, record=True)
    for key in ("spikes", "membrane"):
        for i in range(2):
            assert np.array_equal(fast[key][i], slow[key][i]), (key, i)
    assert fast["spikes"][1].sum() > 0


@pytest.mark.parametrize("block", [1 << 22, 2 * 3 * 9 * 8])  # all at once; 2 samples a block
def test_convolve_in_blocks_of_samples_equals_conv_events(monkeypatch, block):
    """convolve's fast path sums a block of samples at a time (its float64
    sums of all N at once doubled the Speck quantizer's peak memory): the
    same integers as conv_events, block by block, the last block short."""
    from nirc.targets.speck import simulator

    monkeypatch.setattr(simulator, "CONV_BLOCK", block)
    rng = np.random.default_rng(5)
    x = (rng.integers(0, 3, (7, 2, 9, 8)) * (rng.random((7, 2, 9, 8)) < 0.3)).astype(np.uint8)
    w = rng.integers(-128, 128, (3, 2, 3, 3)).astype(np.int8)
    calls = []
    kernel = simulator.interpreter_conv(w, (1, 1), (1, 1), x.shape[1:])
    apply = kernel.apply
    monkeypatch.setattr(kernel, "apply", lambda a, **k: calls.append(len(a)) or apply(a, **k))
    got = simulator.convolve(x, w, (1, 1), (1, 1), np.int32, kernel=kernel)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, simulator.conv_events(x, w, (1, 1), (1, 1)))
    assert calls == ([7] if block == 1 << 22 else [2, 2, 2, 1])
