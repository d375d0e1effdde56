"""Loihi 2: nirc's netx reader and simulator against lava's fixed-point model.

Bit-exact, step for step (spikes, u and v of every layer), on the four
fixtures of ../shared/corpus/loihi2-lava/ and on the ones
tests/loihi2/make_lava_fixtures.py made with lava (tests/data/loihi2/: conv
layers, dense_rec, delays, graded input, netx's resets, a long run, random
networks), with the numpy kernels and the compiled ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.targets.loihi2.netx import (
    LavaLayer,
    NetxLayer,
    NetxNetwork,
    NetxNeuron,
    kept_exactly,
    lava_layers,
    optimize_weight_bits,
    read_netx,
    synapse_weights,
    write_netx,
)
from nirc.targets.loihi2.simulator import Loihi2Simulator

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "loihi2-lava"
DATA = Path(__file__).resolve().parent / "data" / "loihi2"
JITS = [False, True]


def corpus_fixture(name: str) -> tuple[Path, Path]:
    net, exp = CORPUS / f"{name}.net", CORPUS / f"{name}_expected.npz"
    if not net.exists():
        pytest.skip(f"corpus fixture {net} not found (../shared/corpus)")
    return net, exp


@pytest.mark.parametrize("jit", JITS, ids=["numpy", "jit"])
@pytest.mark.parametrize("name", ["basic", "edge", "delay", "readout"])
def test_corpus_fixtures_bit_exact(name, jit):
    net_path, exp_path = corpus_fixture(name)
    exp = np.load(exp_path)
    layers = lava_layers(read_netx(net_path))
    x = exp["input"].T[:, None, :]  # (n_in, T) -> [T, 1, n_in]
    res = Loihi2Simulator(layers).run(x, record=range(len(layers)), jit=jit)
    for k, layer in enumerate(layers):
        for state in "suv":
            got = res[f"{state}{k}"][:, 0].reshape(x.shape[0], -1).T.astype(np.int64)
            np.testing.assert_array_equal(got, exp[f"{state}{k}"], err_msg=f"{name} {state}{k}")
        # what netx and lava resolved from the file
        np.testing.assert_array_equal(layer.weights, exp[f"weights{k}"])
        assert layer.weight_exp == int(exp[f"weight_exp{k}"])
        assert layer.num_weight_bits == int(exp[f"num_weight_bits{k}"])
        assert layer.i_decay - 1 == int(exp[f"du{k}"]) and layer.v_decay == int(exp[f"dv{k}"])
        assert layer.v_th == int(exp[f"vth{k}"])
        bias = layer.bias_mant if layer.bias_mant is not None else np.zeros(layer.size, np.int64)
        np.testing.assert_array_equal(np.broadcast_to(bias, exp[f"bias_mant{k}"].shape),
                                      exp[f"bias_mant{k}"])  # fmt: skip


def lava_fixtures() -> list:
    files = sorted(DATA.glob("*_expected.npz"))
    return [pytest.param(f, id=f.name.removesuffix("_expected.npz")) for f in files]


@pytest.mark.parametrize("jit", JITS, ids=["numpy", "jit"])
@pytest.mark.parametrize("expected", lava_fixtures())
def test_lava_fixtures_bit_exact(expected, jit):
    exp = np.load(expected)
    name = expected.name.removesuffix("_expected.npz")
    net = read_netx(DATA / f"{name}.net")
    x = exp["input"][:, None]  # [T, 1, *shape]
    interval = int(exp["reset_interval"]) or None
    sim = Loihi2Simulator(lava_layers(net), input_bits=int(exp["input_bits"]),
                          reset_interval=interval, reset_offset=int(exp["reset_offset"]))  # fmt: skip
    res = sim.run(x, record=range(len(net.layers)), jit=jit)
    for k in range(len(net.layers)):
        for state in "suv":
            got = res[f"{state}{k}"][:, 0].reshape(x.shape[0], -1).astype(np.int64)
            np.testing.assert_array_equal(got, exp[f"{state}{k}"], err_msg=f"{name} {state}{k}")


def test_lava_fixtures_cover_the_issue():
    names = {f.name.removesuffix("_expected.npz") for f in DATA.glob("*_expected.npz")}
    assert {"conv", "dense_rec", "delays", "graded", "graded_conv", "reset", "long"} <= names
    assert {"replicas", "rsynaptic", "integrator"} <= names  # nirc's replica constructions
    assert sum(n.startswith("random") for n in names) >= 3
    assert np.load(DATA / "long_expected.npz")["input"].shape[0] >= 2000


# --------------------------------------------------------------------------------------
# the file format
# --------------------------------------------------------------------------------------


def small_network() -> NetxNetwork:
    rng = np.random.default_rng(0)
    return NetxNetwork((2, 5, 5), [
        NetxLayer("conv", (2, 5, 5), (3, 3, 3), rng.integers(-50, 50, (3, 2, 3, 3)).astype(np.float32),
                  NetxNeuron(4096, 100, 80), bias=np.array([1, 0, -2], np.float32),
                  stride=(2, 2), padding=(1, 1)),
        NetxLayer("dense_rec", (3, 3, 3), (4,), rng.integers(-90, 90, (4, 27)).astype(np.float32),
                  NetxNeuron(np.array([100, 200, 300, 400]), 512, 60),
                  weight_rec=rng.integers(-9, 9, (4, 4)).astype(np.float32), flatten=True),
        NetxLayer("dense", (4,), (2,), rng.integers(0, 200, (2, 4)).astype(np.float32),
                  NetxNeuron(2048, 256, 30), delay=np.array([[0, 1, 2, 3], [4, 5, 6, 7]], np.float32)),
    ])  # fmt: skip


def test_write_is_deterministic_and_reads_back(tmp_path):
    net = small_network()
    a, b = write_netx(net), write_netx(small_network())
    assert a == b  # byte for byte (no HDF5 timestamps)
    path = tmp_path / "model.net"
    path.write_bytes(a)
    back = read_netx(path)
    assert back.input_shape == (2, 5, 5)
    assert [layer.kind for layer in back.layers] == ["conv", "dense_rec", "dense"]
    assert back.layers[1].flatten and not back.layers[2].flatten
    for got, want in zip(back.layers, net.layers):
        np.testing.assert_array_equal(got.weight, want.weight)
        assert got.shape == want.shape and got.stride == want.stride
    np.testing.assert_array_equal(back.layers[1].neuron.i_decay, [100, 200, 300, 400])
    np.testing.assert_array_equal(back.layers[2].delay, net.layers[2].delay)
    np.testing.assert_array_equal(back.layers[1].weight_rec, net.layers[1].weight_rec)


def test_written_layout_is_what_netx_reads(tmp_path):
    import h5py

    path = tmp_path / "model.net"
    write_netx(small_network(), path)
    with h5py.File(path) as f:
        types = [f["layer"][str(i)]["type"][0] for i in range(len(f["layer"]))]
        assert types == [b"input", b"conv", b"flatten", b"dense_rec", b"dense"]
        conv = f["layer/1"]
        assert list(conv["shape"][()]) == [3, 3, 3] and list(conv["stride"][()]) == [2, 2]
        assert conv["weight"].dtype == np.float32 and conv["weight"].shape == (3, 2, 3, 3)
        assert set(conv["neuron"]) == {"type", "iDecay", "vDecay", "vThMant", "refDelay",
                                       "gradedSpike"}  # fmt: skip
        assert "messageBits" not in conv["neuron"]  # netx fails at run time with it
        assert "neuron" not in f["layer/0"] and set(f["layer/0"]) == {"type", "shape"}


def netx_file(tmp_path, mutate) -> Path:
    import h5py

    path = tmp_path / "bad.net"
    write_netx(small_network(), path)
    with h5py.File(path, "r+") as f:
        mutate(f)
    return path


def _replace(group, key, value):
    del group[key]
    group.create_dataset(key, data=value)


MUTATIONS = {
    "pool layer": (lambda f: _replace(f["layer/1"], "type", np.array([b"pool"], "S10")),
                   "netx layer type `pool` is not loadable by lava-dl 0.6.0"),
    "input neuron": (lambda f: f["layer/0"].create_group("neuron"),
                     "an input layer with a neuron group: lava builds an Input block"),
    "messageBits": (lambda f: f["layer/1/neuron"].create_dataset("messageBits", data=np.int64(8)),
                    "a neuron group with `messageBits`: netx fails on it at run time"),
    "numbering": (lambda f: f["layer"].move("4", "7"), "netx layers must be numbered 0..n-1"),
    "no threshold": (lambda f: f["layer/1/neuron"].__delitem__("vThMant"),
                     "the neuron group lacks `vThMant`"),
    "conv shape": (lambda f: _replace(f["layer/1"], "shape", np.array([3, 4, 4])),
                   "the conv layer's shape differs from its output"),
    "delay shape": (lambda f: _replace(f["layer/4"], "delay", np.array([1.0, 2.0, 3.0])),
                    "delays of an invalid shape"),
    "rec delay": (lambda f: f["layer/3"].create_dataset("delay", data=np.float32(1)),
                  "delays on a dense_rec layer: netx 0.6.0 reuses the input delay matrix"),
    "no flatten": (lambda f: _replace(f["layer/2"], "type", np.array([b"dense"], "S10")),
                   "a netx layer lacks `weight`"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_reader_refuses(tmp_path, case):
    import re

    mutate, message = MUTATIONS[case]
    with pytest.raises(NircError, match=re.escape(message)):
        read_netx(netx_file(tmp_path, mutate))


def test_reader_refuses_non_netx(tmp_path):
    p = tmp_path / "x.net"
    p.write_text("hello")
    with pytest.raises(NircError, match="not an HDF5 file"):
        read_netx(p)


# --------------------------------------------------------------------------------------
# netx's weight handling
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lo, hi", [(-256, 254), (0, 255), (-255, -1), (-3, 3), (-127, 0)])
def test_weights_in_nircs_ranges_are_kept_exactly(lo, hi):
    """Integer weights in the ranges nirc emits: netx's mantissa and exponent
    and lava's clip and truncation give back exactly the stored weights."""
    rng = np.random.default_rng(lo + 1000)
    w = rng.integers(lo, hi + 1, (6, 9))
    w[0, :2] = lo, hi
    assert kept_exactly(w)
    opt = optimize_weight_bits(w)
    np.testing.assert_array_equal(synapse_weights(opt.weights, opt.num_weight_bits),
                                  w << -opt.weight_exp)  # fmt: skip


def test_lava_zeroes_nonpositive_layers_with_zeros_and_odd_weights():
    """All weights <= 0 with a zero: netx calls the layer mixed (no shift below
    -128, one bit less), lava's Dense inhibitory, and its truncation by -1
    bits zeroes every weight (the random0 fixture, checked with lava)."""
    w = np.array([[-201, 0, -4], [-3, -17, 0]])
    assert not kept_exactly(w)
    opt = optimize_weight_bits(w)
    assert not synapse_weights(opt.weights, opt.num_weight_bits).any()
    assert kept_exactly(2 * np.round(w / 2))  # even weights leave room for the truncation
    assert not kept_exactly(np.array([[-128, 0, -4]]))  # netx's -256 is lava's -255


def test_dense_rec_sign_modes_per_synapse():
    """netx optimizes the input and recurrent weights together; lava clips and
    truncates each synapse with its own sign mode."""
    ff = np.array([[201, 3], [0, 7]])  # excitatory alone
    rec = np.array([[0, -5], [9, 0]])  # mixed: the concatenation is mixed
    assert not kept_exactly(ff, rec)
    assert kept_exactly(2 * np.round(ff / 2), 2 * np.round(rec / 2))


def test_all_zero_weights_refused():
    with pytest.raises(NircError, match="every weight of the layer is zero"):
        optimize_weight_bits(np.zeros((2, 3)))


@pytest.mark.parametrize("value", [7, np.arange(5), np.arange(5, dtype=np.int32)])
def test_kernel_parameters_are_new_writable_int64(value):
    """Per-neuron values reach the compiled kernels as new, writable int64
    arrays, whatever the layer holds (a read-only one, such as a layer-sized
    array through ``broadcast_to``, made numba compile a kernel once more)."""
    from nirc.targets.loihi2.simulator import _full

    a = _full(value, 5)
    assert a.dtype == np.int64 and a.shape == (5,) and a.flags.writeable and a.flags.c_contiguous
    assert not np.shares_memory(a, value)
    assert np.array_equal(a, np.broadcast_to(value, (5,)))


CONV_GEOMETRIES = [  # (C, H, W, Co, kernel, stride, padding, dilation, groups)
    (2, 9, 8, 8, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (3, 11, 10, 6, (5, 3), (2, 1), (2, 0), (1, 1), 3),  # grouped, uneven stride and padding
    (4, 10, 10, 8, (3, 3), (2, 2), (1, 2), (2, 1), 2),  # dilated
    (1, 16, 16, 8, (6, 6), (1, 1), (0, 0), (1, 1), 1),  # the digits CNN's second layer's kernel
]


@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=lambda g: f"C{g[0]}k{g[4]}s{g[5]}g{g[8]}")
def test_compiled_convolutions_equal_numpys(geometry):
    """The compiled conv paths (the fused synapse-and-neuron loop, the drive
    alone and the threshold sweep; each event adds the taps its cell's table
    lists) give numpy's integers, bit for bit, over strides, padding,
    dilation and groups."""
    from nirc.targets.loihi2.simulator import simulate_layer, sweep_thresholds

    c, h, w, co, (kh, kw), (sh, sw), (ph, pw), (dh, dw), groups = geometry
    rng = np.random.default_rng(c * 7 + kh)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    layer = LavaLayer("conv", (c, h, w), (co, ho, wo),
                      rng.integers(-128, 128, (co, c // groups, kh, kw)).astype(np.int64),
                      bias_mant=rng.integers(-50, 50, co * ho * wo).astype(np.int64),
                      i_decay=1024, v_decay=512, v_th=300, stride=(sh, sw), padding=(ph, pw),
                      dilation=(dh, dw), groups=groups)  # fmt: skip
    x = rng.random((30, 3, c * h * w)) < 0.3
    resets = np.zeros(30, bool)
    resets[17] = True
    got = simulate_layer(layer, x, graded=False, resets=resets, record=True, jit=True)
    want = simulate_layer(layer, x, graded=False, resets=resets, record=True, jit=False)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert want[0].any() and not want[0].all()
    ths = [150, 300, 900]
    sweep = sweep_thresholds(layer, x, ths, graded=False, resets=resets, window=(5, 30), jit=True)
    one = sweep_thresholds(layer, x, ths, graded=False, resets=resets, window=(5, 30), jit=False)
    np.testing.assert_array_equal(sweep, one)


def test_samples_shared_among_threads_equal_numpys(monkeypatch):
    """The compiled loops run a range of samples each, taken in turn by two
    threads (:func:`nirc.interpreter.jit.over_samples`): the integers are numpy's, bit for bit, for
    conv and dense layers (recurrent, with delays: the neuron loop) and the
    threshold sweeps."""
    from nirc.interpreter import jit
    from nirc.targets.loihi2.simulator import simulate_layer, sweep_thresholds

    shared = []
    real = jit.share_samples

    def spy(run, args, batch, parts, steps):
        shared.append((batch, parts))
        real(run, args, batch, parts, steps)

    monkeypatch.setattr(jit, "share_samples", spy)
    monkeypatch.setenv("NIRC_THREADS", "2")
    rng = np.random.default_rng(11)
    conv = LavaLayer("conv", (2, 9, 8), (8, 9, 8), rng.integers(-128, 128, (8, 2, 3, 3)),
                     bias_mant=rng.integers(-50, 50, 8 * 9 * 8), i_decay=1024, v_decay=512,
                     v_th=300, padding=(1, 1))  # fmt: skip
    rec = LavaLayer("dense_rec", (20,), (12,), rng.integers(-90, 120, (12, 20)),
                    weights_rec=rng.integers(-60, 60, (12, 12)), i_decay=700, v_decay=300,
                    v_th=200)  # fmt: skip
    delayed = LavaLayer("dense", (20,), (12,), rng.integers(-90, 120, (12, 20)),
                        delays=rng.integers(0, 4, (12, 20)), i_decay=700, v_decay=300, v_th=200)
    resets = np.zeros(30, bool)
    resets[17] = True
    for layer in (conv, rec, delayed):
        x = rng.random((30, 70, int(np.prod(layer.in_shape)))) < 0.3  # 70 samples: pieces of 34
        shared.clear()
        got = simulate_layer(layer, x, graded=False, resets=resets, record=True, jit=True)
        assert shared == [(70, 2)], layer.kind
        want = simulate_layer(layer, x, graded=False, resets=resets, record=True, jit=False)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
        assert want[0].any() and not want[0].all()
        if layer.weights_rec is None and layer.delays is None:
            ths = [150, 300, 900]
            sweep = sweep_thresholds(layer, x, ths, graded=False, resets=resets, window=(5, 30))
            one = sweep_thresholds(layer, x, ths, graded=False, resets=resets, window=(5, 30),
                                   jit=False)  # fmt: skip
            np.testing.assert_array_equal(sweep, one)
    dense = LavaLayer("dense", (20,), (12,), rng.integers(-90, 120, (12, 20)), i_decay=700,
                      v_decay=300, v_th=200)  # fmt: skip
    x = rng.random((30, 70, 20)) < 0.3
    shared.clear()
    sweep = sweep_thresholds(dense, x, [100, 200], graded=False, resets=resets, window=(0, 30))
    assert shared == [(70, 2)]
    np.testing.assert_array_equal(sweep, sweep_thresholds(dense, x, [100, 200], graded=False,
                                                          resets=resets, window=(0, 30), jit=False))
