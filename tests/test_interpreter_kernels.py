"""The interpreter's fast kernels: every way of computing a value gives the same
bits (dense im2col, events, skipped channels, narrow dtypes, any chunking), and
the opt-in float32 mode stays within its stated tolerance."""

from __future__ import annotations

import numpy as np
import pytest

import nirc
from nirc.diagnostics import NircError, collecting
from nirc.graph import Graph, Node
from nirc.interpreter import engine, neurons, ops

RNG = np.random.default_rng(77)


def coarse(*shape):
    """float32 weights on a coarse grid: any sum of a few thousand of them times
    small integers is exact in float64, so every order of addition agrees."""
    return (np.round(RNG.standard_normal(shape) * 64) / 64).astype(np.float32)


def conv_node(kind, w, stride, padding, dilation, groups, bias=None):
    params = {
        "weight": w,
        "stride": np.array(stride),
        "padding": np.array(padding),
        "dilation": np.array(dilation),
        "groups": np.array(groups),
    }
    if bias is not None:
        params["bias"] = bias
    return Node("c", kind, params)


def loop_conv(x, w, b, stride, pad, dilation, groups):
    """Reference: x [N, C, H, W] float64, w [O, C/g, KH, KW]; ``pad`` is (rows,
    cols) of symmetric padding or ((top, bottom), (left, right))."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = (p if isinstance(p, tuple) else (p, p) for p in pad)
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt : pt + h, pl : pl + wd] = x
    oh = (h + pt + pb - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pl + pr - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    og = o // groups
    y = np.zeros((n, o, oh, ow))
    for oc in range(o):
        grp = oc // og
        for ki in range(kh):
            for kj in range(kw):
                r0, c0 = ki * dilation[0], kj * dilation[1]
                win = xp[:, grp * cg : (grp + 1) * cg,
                         r0 : r0 + (oh - 1) * stride[0] + 1 : stride[0],
                         c0 : c0 + (ow - 1) * stride[1] + 1 : stride[1]]  # fmt: skip
                y[:, oc] += np.einsum("nchw,c->nhw", win, w[oc, :, ki, kj].astype(np.float64))
    if b is not None:
        y += b.astype(np.float64)[None, :, None, None]
    return y


CASES = [
    # C, H, W, O, K, stride, pad, dilation, groups
    (5, 9, 8, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (6, 10, 7, 3, (3, 2), (1, 1), (4, 0), (1, 2), 1),  # padding beyond the kernel's reach
    (2, 12, 11, 4, (5, 5), (2, 2), (1, 1), (1, 1), 1),  # the paper CNN's first layer
    (4, 9, 9, 4, (3, 3), (2, 3), (2, 1), (2, 1), 2),
    (3, 8, 8, 3, (2, 2), (1, 1), (0, 0), (1, 1), 3),  # depthwise
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"C{c[0]}k{c[4]}s{c[5]}g{c[8]}")
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.float64])
def test_conv_every_path_gives_the_same_bits(case, dtype):
    c, h, wd, o, k, stride, pad, dil, groups = case
    w, b = coarse(o, c // groups, *k), coarse(o)
    # channels: silent, sparse (events), busy (im2col)
    dens = np.resize([0.0, 0.004, 0.3, 0.02, 0.5], c).reshape(1, c, 1, 1)
    x = RNG.random((40, c, h, wd)) < dens
    if dtype is not np.bool_:
        x = x * RNG.integers(1, 4, x.shape)
    x = x.astype(dtype)
    ref = loop_conv(x.astype(np.float64), w, b, stride, pad, dil, groups)
    node = conv_node("Conv2d", w, stride, pad, dil, groups, b)
    kern = ops.Conv(node, (c, h, wd), ref.shape[1:])
    assert kern.exact_for(3.0)
    kern.SPLIT_MIN_MACS = 0
    for event_macs in (ops.Conv.EVENT_MACS, 0, 10**12):  # as measured, always events, never
        kern.EVENT_MACS = event_macs
        for n in (40, 7, 1):  # blocks and chunks of any size
            got = np.concatenate([kern.apply(x[s : s + n], True) for s in range(0, 40, n)])
            np.testing.assert_array_equal(got, ref)
    kern.BLOCK_BYTES = 1  # one sample per im2col block
    np.testing.assert_array_equal(kern.apply(x, True), ref)
    np.testing.assert_array_equal(kern.apply(x.astype(np.float64), False), ref)  # fixed order
    np.testing.assert_allclose(kern.apply_f32(x), ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_exact_sums_are_judged_by_the_weights_magnitude_and_hold_at_the_edge(seed):
    """A weighted sum of integer inputs up to ``bound`` is exact in any order
    when ``bound`` times the largest sum of |weights| into one output stays
    within float64's integers at the weights' lowest bit; at the largest such
    bound, inputs at +-bound summed forward, backward and sorted all equal the
    sum in exact integer arithmetic, and twice that bound is refused."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((6, 300)).astype(np.float32).astype(np.float64)
    w[:, rng.random(300) < 0.3] = 0.0
    node = Node("d", "Linear", {"weight": w})
    k = ops.Dense(node, (300,), (6,))
    edge = float(np.floor(2.0 ** (53 + k.low_bit) / k.gain / (1 + 2.0**-39)))
    assert k.exact_for(edge) and not k.exact_for(2 * edge)
    scale = 2.0 ** -k.low_bit
    w_int = [[int(v * scale) for v in row] for row in w]  # exact: every weight is on the grid
    for _ in range(20):
        x = rng.choice([-edge, edge, 0.0, float(rng.integers(-edge, edge))], 300)
        x = np.where(np.sign(x) == np.sign(w[0]), x, -x)  # the first output at its largest
        for o in range(6):
            exact = sum(a * int(b) for a, b in zip(w_int[o], x)) / scale
            terms = w[o] * x
            for order in (terms, terms[::-1], np.sort(terms)):
                acc = 0.0
                for term in order:
                    acc += term
                assert acc == exact


def test_conv1d_events_and_pads_set_after_construction():
    """The `snn` plans build a conv without padding and set its pads afterwards
    (and may change them: the layout follows)."""
    w = coarse(3, 2, 4)
    x = (RNG.random((30, 2, 13)) < 0.05).astype(np.uint8) * 2
    kern = ops.Conv(conv_node("Conv1d", w, [1], [0], [2], 1), (2, 13), (3, 13))
    kern.SPLIT_MIN_MACS = 0
    for pads in (((0, 0), (3, 3)), ((0, 0), (1, 5))):
        kern.pads = pads
        ref = loop_conv(x[:, :, None, :].astype(np.float64), w[:, :, None, :], None, (1, 1),
                        pads, (1, 2), 1)[:, :, 0]  # fmt: skip
        for event_macs in (0, 10**12):
            kern.EVENT_MACS = event_macs
            np.testing.assert_array_equal(kern.apply(x, True), ref)


def test_events_equal_dense_on_the_paper_cnn(corpus):
    """The second conv of the paper CNN gets sparse spike trains: all its paths agree."""
    with collecting():
        sim = nirc.interpreter.prepare(corpus / "public" / "paper_cnn_sinabs.nir", dt=1.0,
                                       record=["1"])  # fmt: skip
    x = RNG.random((60, 2, 34, 34)) < 0.1
    spikes = sim.run({"input": x})["1"].astype(bool)
    kern = sim.plan.nodes["2"].kernel
    dense = kern._product(spikes, np.float64)
    dense += kern.bias[:, :, None] if kern.bias is not None else 0.0
    kern.SPLIT_MIN_MACS = 0
    for event_macs in (ops.Conv.EVENT_MACS, 0):
        kern.EVENT_MACS = event_macs
        np.testing.assert_array_equal(kern.apply(spikes, True), dense)


def test_sumpool_of_spikes_counts_in_uint8():
    x = RNG.random((5, 3, 8, 8)) < 0.6
    for k, dtype in (((2, 2), np.uint8), ((16, 16), np.float64)):  # 256 cells: float64
        node = Node("p", "SumPool2d", {"kernel_size": np.array(k), "stride": np.array(k),
                                       "padding": np.array([1, 1])})  # fmt: skip
        oh = (8 + 2 - k[0]) // k[0] + 1
        pool = ops.Pool(node, (3, 8, 8), (3, oh, oh))
        got = pool.apply(x)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, pool.apply(x.astype(np.float64)))


def test_fan_in_of_spikes_is_a_sum_not_an_or():
    """Spikes travel as bool; two of them summed into one node must give 2."""
    eye = np.eye(3, dtype=np.float32) * 5
    nodes = {
        "in": Node("in", "Input", {"shape": np.array([3])}),
        "a": Node("a", "Linear", {"weight": eye}),
        "b": Node("b", "Linear", {"weight": eye}),
        "za": Node("za", "IF", {"r": np.ones(3), "v_threshold": np.ones(3)}),
        "zb": Node("zb", "IF", {"r": np.ones(3), "v_threshold": np.ones(3)}),
        "w": Node("w", "Linear", {"weight": np.eye(3, dtype=np.float32)}),
        "out": Node("out", "Output", {"shape": np.array([3])}),
        "sum": Node("sum", "Output", {"shape": np.array([3])}),
    }
    edges = [("in", "a"), ("in", "b"), ("a", "za"), ("b", "zb"), ("za", "w"), ("zb", "w"),
             ("w", "out"), ("za", "sum"), ("zb", "sum")]  # fmt: skip
    g = Graph(nodes, edges, {"dt": 1.0})
    x = np.zeros((4, 3))
    x[1] = [1, 0, 1]
    for mode in ("fast", "step"):
        res = nirc.simulate(g, x, mode=mode)
        assert res["out"][1].tolist() == [2, 0, 2]
        assert res["sum"][1].tolist() == [2, 0, 2]


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("size", [(2, 3, 4), (4, 64, 64)])  # small and masked-multiply paths
def test_membrane_loop_is_the_literal_update(reset, size):
    batch, tc = 2, 9
    shape = size
    v0 = RNG.standard_normal((batch,) + shape)
    w = RNG.standard_normal((tc, batch) + shape)
    d = RNG.uniform(0.5, 1.0, shape)
    thr = RNG.uniform(0.2, 1.0, shape)
    v_reset = np.where(RNG.random(shape) < 0.5, 0.0, -0.25) if reset == "zero" else 0.0
    for v_rst in (0.0, v_reset) if reset == "zero" else (0.0,):
        v = v0.copy()
        rv = np.empty_like(w)
        z = neurons._membrane_loop(v, d, w, thr, reset, v_rst, rv)
        assert z.dtype == np.bool_
        ref_v = v0.copy()
        for t in range(tc):
            ref_v = d * ref_v + w[t]
            spk = ref_v > thr
            if reset == "zero":
                ref_v = np.where(spk, v_rst, ref_v)
            else:
                ref_v = np.where(spk, ref_v - thr, ref_v)
            np.testing.assert_array_equal(z[t], spk)
            np.testing.assert_array_equal(rv[t], ref_v)
        np.testing.assert_array_equal(v, ref_v)


def test_chunk_steps_bounds(corpus):
    with collecting():
        sim = nirc.interpreter.prepare(corpus / "public" / "paper_cnn_sinabs.nir", dt=1.0)
    for batch in (1, 32, 4096):
        tc = engine.chunk_steps(sim.plan, batch, 1000)
        assert 1 <= tc <= engine.MAX_CHUNK
    assert engine.chunk_steps(sim.plan, 1, 3) == 3


# --- the float32 mode ------------------------------------------------------------


def test_float32_mode_is_opt_in_and_close(corpus):
    """float32 synapses reassociate sums: outputs may differ in rare spikes.
    Stated tolerance: at least 99.9% of output entries identical (measured on
    these inputs: identical for Braille, 16 of 320,000 CNN spikes at batch 32)."""
    cases = [
        ("paper_cnn_sinabs.nir", 1.0, (100, 4, 2, 34, 34)),
        ("paper_braille_bias_zero.nir", 1e-4, (300, 4, 12)),
    ]
    for file, dt, shape in cases:
        x = RNG.random(shape) < 0.1
        with collecting():
            exact = nirc.simulate(corpus / "public" / file, x, dt=dt)
            fast32 = nirc.simulate(corpus / "public" / file, x, dt=dt, precision="float32")
        for k in exact:
            assert exact[k].dtype == fast32[k].dtype == np.float64
            assert np.mean(exact[k] == fast32[k]) >= 0.999, (file, k)
    with pytest.raises(NircError, match="precision"):
        nirc.simulate(corpus / "public" / cases[0][0], np.zeros(cases[0][2]), dt=1.0,
                      precision="float16")  # fmt: skip


def test_float32_dense_within_float32_rounding():
    w, b = coarse(5, 7).astype(np.float32) / 3, coarse(5)
    node = Node("a", "Affine", {"weight": w, "bias": b})
    dense = ops.Dense(node, (7,), (5,))
    x = RNG.standard_normal((11, 7))
    ref = x @ w.astype(np.float64).T + b
    np.testing.assert_allclose(dense.apply_f32(x), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(dense.apply(x.astype(np.uint8) > 0, True),
                                  (x.astype(np.uint8) > 0) @ w.astype(np.float64).T + b)  # fmt: skip


def test_cli_precision_float32(corpus, tmp_path, capsys):
    from nirc.cli import main

    outs = {}
    for precision in ("float64", "float32"):
        out = tmp_path / f"{precision}.npz"
        code = main(["run", str(corpus / "public" / "paper_cnn_sinabs.nir"), "--dt", "1",
                     "--input", "random:p=0.1,T=30,B=2", "-o", str(out),
                     "--precision", precision])  # fmt: skip
        stdout, err = capsys.readouterr()
        assert code == 0, err
        assert ("float32 synapses" in stdout) == (precision == "float32")
        with np.load(out) as res:
            outs[precision] = res["output"]
    assert np.mean(outs["float64"] == outs["float32"]) >= 0.999
    assert main(["run", str(corpus / "public" / "paper_cnn_sinabs.nir"), "--dt", "1",
                 "--input", "random:T=3", "--precision", "float16"]) != 0  # fmt: skip
    capsys.readouterr()


# --- the compiled kernels (numba, the `fast` extra) ------------------------------------
jit = pytest.importorskip("nirc.interpreter.jit")
needs_numba = pytest.mark.skipif(not jit.ENABLED, reason="numba not installed (the fast extra)")


@needs_numba
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"C{c[0]}k{c[4]}s{c[5]}g{c[8]}")
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.float64])
def test_compiled_conv_events_give_the_same_bits(case, dtype):
    """Every stride, padding, dilation and group layout: the spike-driven compiled
    kernel equals the explicit-loop convolution bit for bit."""
    c, h, wd, o, k, stride, pad, dil, groups = case
    w, b = coarse(o, c // groups, *k), coarse(o)
    x = RNG.random((25, c, h, wd)) < 0.2
    if dtype is not np.bool_:
        x = x * RNG.integers(1, 4, x.shape)
    x = x.astype(dtype)
    ref = loop_conv(x.astype(np.float64), w, b, stride, pad, dil, groups)
    kern = ops.Conv(conv_node("Conv2d", w, stride, pad, dil, groups, b), (c, h, wd), ref.shape[1:])
    kern.JIT_EVENT_MACS = kern.JIT_CELL_MACS = kern.JIT_OUT_MACS = 0  # always the kernel
    got = kern._jit_events(x)
    assert got is not None
    np.testing.assert_array_equal(got, ref)
    kern.JIT_EVENT_MACS = 10**9  # never: im2col and BLAS, same bits
    assert kern._jit_events(x) is None
    np.testing.assert_array_equal(kern.apply(x, True), ref)


@needs_numba
def test_compiled_dense_events_give_the_same_bits():
    w = coarse(7, 30)
    node = Node("d", "Affine", {"weight": w, "bias": coarse(7)})
    kern = ops.Dense(node, (30,), (7,))
    x = (RNG.random((50, 30)) < 0.05).astype(np.uint8) * RNG.integers(1, 4, (50, 30)).astype(
        np.uint8
    )
    ref = x.astype(np.float64) @ w.astype(np.float64).T + node.params["bias"].astype(np.float64)
    got = kern._jit_events(x)
    assert got is not None  # 5% nonzero: sparse enough
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(kern.apply(x, True), ref)
    assert kern._jit_events(np.ones((4, 30), np.uint8)) is None  # dense input: BLAS


@needs_numba
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("uniform", [False, True])
def test_compiled_membrane_loop_equals_numpy(reset, uniform, monkeypatch):
    """Per-neuron and uniform parameters: states and spikes bit for bit."""
    shape, batch, tc = (3, 5, 7), 2, 11
    w = RNG.standard_normal((tc, batch) + shape)
    if uniform:
        d, thr, v_rst = 1.0, 0.5, 0.0
    else:
        d, thr = RNG.uniform(0.5, 1.0, shape), RNG.uniform(0.2, 1.0, shape)
        v_rst = np.where(RNG.random(shape) < 0.5, 0.0, -0.25)
    v0 = RNG.standard_normal((batch,) + shape)
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(jit, "ENABLED", enabled)
        v, rv = v0.copy(), np.empty_like(w)
        z = neurons._membrane_loop(v, d, w, thr, reset, v_rst, rv).copy()
        runs.append((z, rv, v))
    assert runs[0][0].any() and not runs[0][0].all()
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@needs_numba
def test_compiled_and_numpy_runs_of_the_paper_cnn_agree(corpus, monkeypatch):
    """The whole network, states included, with and without the compiled kernels."""
    path = corpus / "public" / "paper_cnn_sinabs.nir"
    x = RNG.random((40, 2, 2, 34, 34)) < 0.1
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(jit, "ENABLED", enabled)
        with collecting():
            runs.append(
                nirc.simulate(
                    path,
                    {"input": x},
                    dt=1.0,
                    record=["1.v", "3", "10.v"],
                    jit="on" if enabled else "off",
                )
            )
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])
    assert runs[0]["3"].any()  # a test on silent layers would prove nothing


def _lif_net(reset_v: float) -> Graph:
    """Input -> Conv (bias) -> LIF (per-neuron parameters) -> Flatten -> Affine -> IF:
    every term of the fused synapse + neuron loop (gain, leak, decay, bias)."""
    shape = (3, 6, 6)
    rnd = lambda *s: RNG.uniform(0.5, 1.5, s)  # noqa: E731
    nodes = {
        "in": Node("in", "Input", {"shape": np.array([2, 6, 6])}),
        "conv": conv_node("Conv2d", coarse(3, 2, 3, 3), [1, 1], [1, 1], [1, 1], 1, coarse(3)),
        "lif": Node("lif", "LIF", {"tau": rnd(*shape) * 1e-3, "r": rnd(*shape),
                                   "v_leak": RNG.uniform(-0.1, 0.1, shape),
                                   "v_threshold": rnd(*shape), "v_reset": np.full(shape, reset_v)}),
        "flat": Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        "fc": Node("fc", "Affine", {"weight": coarse(5, 108), "bias": coarse(5)}),
        "if": Node("if", "IF", {"r": np.full(5, 900.0), "v_threshold": np.full(5, 1.5)}),
        "out": Node("out", "Output", {"shape": np.array([5])}),
    }  # fmt: skip
    nodes["conv"] = Node("conv", "Conv2d", nodes["conv"].params)  # named as its edges say
    edges = [("in", "conv"), ("conv", "lif"), ("lif", "flat"), ("flat", "fc"), ("fc", "if"),
             ("if", "out")]  # fmt: skip
    return Graph(nodes, edges, {"dt": 1e-3})


SCHEDULES = pytest.mark.parametrize("program", [False, True], ids=["chunked", "program"])


@needs_numba
@SCHEDULES
@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_fused_synapse_and_neurons_equal_numpy(reset, program, monkeypatch):
    """Conv + LIF and Affine + IF run as one compiled loop each (chunked), or
    the whole graph as one (program): outputs and recorded states equal the
    numpy kernels' bit for bit, in chunks of any size."""
    monkeypatch.setattr(engine, "PROGRAM", program)
    g = _lif_net(-0.2)
    x = (RNG.random((50, 3, 2, 6, 6)) < 0.3).astype(np.uint8)
    with collecting():
        sim = nirc.interpreter.prepare(g, reset=reset, record=["lif.v", "lif", "if.v"])
    exact = engine.exact_sums(sim.plan, {"in": 1.0})
    assert engine.fusable(sim.plan, exact, set(), set()) == {"conv": ("lif", None),
                                                             "fc": ("if", None)}  # fmt: skip
    runs = []
    for enabled, chunk in ((True, None), (True, 7), (False, None)):
        monkeypatch.setattr(jit, "ENABLED", enabled)
        arrays = {"in": x}
        runs.append(sim.simulator.run(arrays, 50, 3, chunk=chunk, jit_mode="on"))
    assert runs[0]["lif"].any() and runs[0]["out"].any()
    for other in runs[1:]:
        for key in runs[0]:
            np.testing.assert_array_equal(runs[0][key], other[key])


@needs_numba
@SCHEDULES
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"C{c[0]}k{c[4]}s{c[5]}g{c[8]}")
@pytest.mark.parametrize("batch", [1, 3])
def test_fused_conv_every_layout_equals_numpy(case, batch, program, monkeypatch):
    """Every stride, padding, dilation and group layout through the fused,
    channels-last loop (its per-position segment tables), with per-neuron
    thresholds and count inputs: spikes and membrane states equal the numpy
    kernels' bit for bit."""
    monkeypatch.setattr(engine, "PROGRAM", program)
    c, h, wd, o, k, stride, pad, dil, groups = case
    w, b = coarse(o, c // groups, *k), coarse(o)
    x = (RNG.random((30, batch, c, h, wd)) < 0.2) * RNG.integers(1, 4, (30, batch, c, h, wd))
    shape = loop_conv(x[0].astype(np.float64), w, b, stride, pad, dil, groups).shape[1:]
    nodes = {
        "in": Node("in", "Input", {"shape": np.array([c, h, wd])}),
        "conv": Node("conv", "Conv2d", conv_node("Conv2d", w, stride, pad, dil, groups, b).params),
        "if": Node("if", "IF", {"r": np.full(shape, 1.0),
                                "v_threshold": 0.5 + RNG.integers(0, 4, shape) / 4}),
        "out": Node("out", "Output", {"shape": np.array(shape)}),
    }  # fmt: skip
    g = Graph(nodes, [("in", "conv"), ("conv", "if"), ("if", "out")], {"dt": 1.0})
    with collecting():
        sim = nirc.interpreter.prepare(g, record=["if.v"])
    assert engine.fusable(sim.plan, engine.exact_sums(sim.plan, {"in": 3.0}), set(), {"if"}) == {
        "conv": ("if", None)
    }
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(jit, "ENABLED", enabled)
        runs.append(sim.simulator.run({"in": x.astype(np.uint8)}, 30, batch, jit_mode="on"))
    assert runs[0]["out"].any() and not runs[0]["out"].all()
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def _pooled_net() -> Graph:
    """Input -> Conv -> IF -> SumPool 2x2 -> Flatten -> Affine -> IF: the pool
    runs inside the conv's fused loop when nothing records the IF's spikes."""
    nodes = {
        "in": Node("in", "Input", {"shape": np.array([2, 9, 9])}),
        "conv": Node("conv", "Conv2d", conv_node("Conv2d", coarse(4, 2, 3, 3), [1, 1], [1, 1],
                                                 [1, 1], 1, np.zeros(4, np.float32)).params),
        "if1": Node("if1", "IF", {"r": np.full((4, 9, 9), 1.0), "v_threshold": np.full((4, 9, 9), 0.7)}),
        "pool": Node("pool", "SumPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
                                           "padding": np.array([0, 0])}),
        "flat": Node("flat", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        "fc": Node("fc", "Affine", {"weight": coarse(5, 64), "bias": coarse(5)}),
        "if2": Node("if2", "IF", {"r": np.full(5, 1.0), "v_threshold": np.full(5, 1.5)}),
        "out": Node("out", "Output", {"shape": np.array([5])}),
    }  # fmt: skip
    edges = [("in", "conv"), ("conv", "if1"), ("if1", "pool"), ("pool", "flat"), ("flat", "fc"),
             ("fc", "if2"), ("if2", "out")]  # fmt: skip
    return Graph(nodes, edges, {"dt": 1.0})


@needs_numba
@pytest.mark.parametrize("record", [["if1.v", "pool"], ["if1.v"], ["if1"]])
def test_fused_pool_equals_numpy(record, monkeypatch):
    """The pool fused into the conv's loop (odd sizes: the last row and column
    of neurons fall outside every 2x2 window) gives the numpy kernels' counts,
    states and outputs; recording the pool or the spikes keeps it separate."""
    monkeypatch.setattr(engine, "PROGRAM", False)  # the chunked schedule's fused pool
    x = (RNG.random((40, 2, 2, 9, 9)) < 0.3).astype(np.uint8)
    with collecting():
        sim = nirc.interpreter.prepare(_pooled_net(), record=record)
    exact = engine.exact_sums(sim.plan, {"in": 1.0})
    recorded = {p.node for p in sim.plan.probes if p.state is None}
    states = {p.node for p in sim.plan.probes if p.state is not None}
    fused = engine.fusable(sim.plan, exact, recorded, states)
    assert fused["conv"] == ("if1", None if {"if1", "pool"} & recorded else "pool")
    pools = []  # the pool each fused call ran
    real = engine._fused

    def spy(syn, neuron, pool, *args):
        pools.append(None if pool is None else pool.name)
        return real(syn, neuron, pool, *args)

    monkeypatch.setattr(engine, "_fused", spy)
    runs = []
    for enabled, chunk in ((True, None), (True, 3), (False, None)):
        monkeypatch.setattr(jit, "ENABLED", enabled)
        runs.append(sim.simulator.run({"in": x}, 40, 2, chunk=chunk, jit_mode="on"))
    assert ("pool" in pools) == (fused["conv"][1] == "pool")
    assert runs[0]["out"].any()
    for other in runs[1:]:
        for key in runs[0]:
            np.testing.assert_array_equal(runs[0][key], other[key])


@needs_numba
def test_two_stage_pipeline_gives_the_same_run(corpus, monkeypatch):
    """At batch 1 the paper CNN runs as two pipeline stages on two threads, one
    chunk apart; outputs and states equal the numpy kernels' run."""
    monkeypatch.setattr(engine, "PROGRAM", False)  # the chunked schedule's pipeline
    with collecting():
        sim = nirc.interpreter.prepare(corpus / "public" / "paper_cnn_sinabs.nir", dt=1.0,
                                       record=["1.v", "3.v", "10"])  # fmt: skip
    exact = engine.exact_sums(sim.plan, {"input": 1.0})
    split = engine._pipeline_split(sim.plan, engine.fusable(sim.plan, exact, {"10"}, {"1", "3"}))
    assert 0 < split < len(sim.plan.segments)
    stages = []
    real = engine._pipeline_split
    monkeypatch.setattr(engine, "_pipeline_split", lambda *a: stages.append(real(*a)) or real(*a))
    x = {"input": RNG.random((60, 1, 2, 34, 34)) < 0.1}
    a = sim.simulator.run(x, 60, 1, chunk=8, jit_mode="on")
    assert stages and stages[0] > 0  # the run was pipelined
    monkeypatch.setattr(jit, "ENABLED", False)
    b = sim.simulator.run(x, 60, 1, chunk=8, jit_mode="off")
    assert a["10"].any()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


from conftest import corpus_files  # noqa: E402

CORPUS_GRAPHS = corpus_files("nir-1.0.8") + corpus_files("public")


@needs_numba
@SCHEDULES
@pytest.mark.parametrize("path", CORPUS_GRAPHS)
def test_compiled_path_equals_the_oracle_on_every_corpus_graph(path, program, monkeypatch):
    """Every corpus graph the interpreter can run: the fast path with the
    compiled kernels forced on (chunked: fusion, events, pipeline; or the
    whole graph as one program) equals the plain numpy step-by-step oracle,
    outputs and every neuron's state."""
    from nirc.diagnostics import NircError

    monkeypatch.setattr(engine, "PROGRAM", program)
    try:
        with collecting():
            probe = nirc.interpreter.prepare(path, dt=1e-4)
    except NircError as e:
        pytest.skip(f"not runnable: {e}")
    record = [f"{n}.v" for n, p in probe.plan.nodes.items() if isinstance(p.kernel, neurons.Neuron)]
    with collecting():
        sim = nirc.interpreter.prepare(path, dt=1e-4, record=record)
    rng = np.random.default_rng(11)
    x = {n: rng.random((24, 2) + tuple(s)) < 0.3 for n, s in sim.plan.inputs.items()}
    a = sim.simulator.run(x, 24, 2, chunk=5, jit_mode="on")
    b = sim.simulator.run(x, 24, 2, mode="step")
    c = sim.simulator.run({n: v[:, :1] for n, v in x.items()}, 24, 1, chunk=5, jit_mode="on")
    d = sim.simulator.run({n: v[:, :1] for n, v in x.items()}, 24, 1, mode="step")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        np.testing.assert_array_equal(c[key], d[key], err_msg=key)


def test_bad_jit_mode_is_refused(corpus):
    with collecting():
        sim = nirc.interpreter.prepare(corpus / "public" / "paper_cnn_sinabs.nir", dt=1.0)
    with pytest.raises(ValueError, match="jit_mode must be one of"):
        sim.run({"input": np.zeros((2, 2, 34, 34))}, jit="fast")
