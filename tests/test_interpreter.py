"""The reference interpreter, primitive by primitive, against values computed
here independently (explicit loops, the literal formulas of SEMANTICS.md)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import nirc
from nirc.diagnostics import NircError, collecting
from nirc.graph import Graph, Node


def chain(*nodes: Node, in_shape, out_shape, metadata=None) -> Graph:
    """Input `in` -> nodes... -> Output `out`."""
    allnodes = [Node("in", "Input", {"shape": np.array(in_shape)})]
    allnodes += list(nodes)
    allnodes.append(Node("out", "Output", {"shape": np.array(out_shape)}))
    names = [n.name for n in allnodes]
    return Graph(
        {n.name: n for n in allnodes},
        list(zip(names[:-1], names[1:])),
        dict(metadata or {}),
    )


def run(graph, x, both=True, **kw):
    """Simulate in both modes; they must agree bit for bit."""
    out = nirc.simulate(graph, x, **kw)
    if both:
        ref = nirc.simulate(graph, x, mode="step", **kw)
        assert out.keys() == ref.keys()
        for k in out:
            np.testing.assert_array_equal(out[k], ref[k], err_msg=f"fast != step for {k}")
    return out


RNG = np.random.default_rng(1234)


def f32(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def spikes(*shape, p=0.3):
    return (RNG.random(shape) < p).astype(np.float64)


# --- stateless nodes ---------------------------------------------------------


def test_affine_linear_scale_threshold():
    w, b = f32(3, 4), f32(3)
    x = RNG.standard_normal((5, 4))
    g = chain(Node("a", "Affine", {"weight": w, "bias": b}), in_shape=[4], out_shape=[3])
    y = run(g, x, both=False)["out"]
    ref = np.array([[sum(float(w[i, j]) * x[t, j] for j in range(4)) + float(b[i])
                     for i in range(3)] for t in range(5)])  # fmt: skip
    np.testing.assert_allclose(y, ref, rtol=1e-13)

    g = chain(Node("l", "Linear", {"weight": w}), in_shape=[4], out_shape=[3])
    xs = spikes(6, 4)
    y = run(g, xs)["out"]
    # spikes times float32 weights: the float64 sum is exact
    exact = np.array([[math.fsum(float(w[i, j]) for j in range(4) if xs[t, j]) for i in range(3)]
                      for t in range(6)])  # fmt: skip
    np.testing.assert_array_equal(y, exact)

    s = f32(4)
    g = chain(Node("s", "Scale", {"scale": s}), in_shape=[4], out_shape=[4])
    np.testing.assert_array_equal(run(g, x)["out"], x * s.astype(np.float64))

    th = np.array([0.0, 0.5, -1.0, 2.0], np.float32)
    g = chain(Node("t", "Threshold", {"threshold": th}), in_shape=[4], out_shape=[4])
    np.testing.assert_array_equal(run(g, x)["out"], (x > th).astype(float))


def test_affine_on_a_matrix_input():
    w, b = f32(3, 4), f32(3)
    x = RNG.standard_normal((2, 5, 4))
    g = chain(Node("a", "Affine", {"weight": w, "bias": b}), in_shape=[5, 4], out_shape=[5, 3])
    y = run(g, x)["out"]
    np.testing.assert_allclose(y, x @ w.T.astype(float) + b, rtol=1e-13)


def test_flatten():
    x = RNG.standard_normal((3, 2, 3, 4))
    node = Node("f", "Flatten", {"start_dim": np.array(1), "end_dim": np.array(-1)})
    g = chain(node, in_shape=[2, 3, 4], out_shape=[2, 12])
    np.testing.assert_array_equal(run(g, x)["out"], x.reshape(3, 2, 12))


# --- convolutions and pools, against explicit loops ----------------------------


def ref_conv(x, w, b, stride, pads, dilation, groups):
    """x [C, H, W], w [O, C/groups, KH, KW]; pads ((top, bottom), (left, right))."""
    c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (pt, pb), (pl, pr) = pads
    sh, sw = stride
    dh, dw = dilation
    xp = np.zeros((c, h + pt + pb, wd + pl + pr))
    xp[:, pt : pt + h, pl : pl + wd] = x
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((o, oh, ow))
    for oc in range(o):
        grp = oc // og
        for i in range(oh):
            for j in range(ow):
                acc = 0.0 if b is None else float(b[oc])
                for ci in range(cg):
                    for ki in range(kh):
                        for kj in range(kw):
                            acc += (
                                float(w[oc, ci, ki, kj])
                                * xp[grp * cg + ci, i * sh + ki * dh, j * sw + kj * dw]
                            )
                y[oc, i, j] = acc
    return y


CONV_CASES = [
    # (C, H, W, O, KH, KW, stride, padding, dilation, groups)
    (2, 7, 6, 4, 3, 2, (1, 1), 1, (1, 1), 1),  # non-square kernel
    (4, 8, 7, 6, 3, 3, (2, 1), (1, 2), (1, 1), 2),  # stride, pair padding, groups
    (3, 9, 9, 3, 3, 2, (1, 1), "same", (2, 1), 3),  # 'same' with dilation, depthwise
    (2, 6, 8, 4, 2, 4, (1, 1), "same", (1, 1), 1),  # 'same' with even kernels: uneven pads
    (2, 6, 6, 2, 3, 3, (2, 2), "valid", (1, 1), 1),
    (4, 10, 9, 4, 2, 3, (3, 2), 0, (2, 2), 2),
]


def _pads(padding, kernel, dilation):
    if padding == "same":
        tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in tot)
    if padding == "valid":
        return ((0, 0), (0, 0))
    p = (padding, padding) if isinstance(padding, int) else padding
    return ((p[0], p[0]), (p[1], p[1]))


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c[:6])))
def test_conv2d_against_loops(case):
    c, h, wd, o, kh, kw, stride, padding, dilation, groups = case
    w = f32(o, c // groups, kh, kw)
    b = f32(o)
    pads = _pads(padding, (kh, kw), dilation)
    x = RNG.standard_normal((3, c, h, wd))
    refs = np.stack([ref_conv(x[t], w, b, stride, pads, dilation, groups) for t in range(3)])
    pad_param = np.array(padding) if not isinstance(padding, str) else padding
    node = Node(
        "conv",
        "Conv2d",
        {
            "weight": w,
            "stride": np.array(stride),
            "padding": pad_param,
            "dilation": np.array(dilation),
            "groups": np.array(groups),
            "bias": b,
        },
    )
    g = chain(node, in_shape=[c, h, wd], out_shape=list(refs.shape[1:]))
    y = run(g, x, both=False)["out"]
    np.testing.assert_allclose(y, refs, rtol=1e-12, atol=1e-12)
    # spike inputs: exact, and both modes identical
    xs = spikes(4, c, h, wd)
    refs = np.stack([ref_conv(xs[t], w, b, stride, pads, dilation, groups) for t in range(4)])
    np.testing.assert_allclose(run(g, xs)["out"], refs, rtol=1e-12, atol=1e-12)


def test_conv1d_against_loops():
    w, b = f32(4, 1, 3), f32(4)
    x = RNG.standard_normal((3, 2, 11))
    node = Node(
        "conv",
        "Conv1d",
        {
            "weight": w,
            "stride": np.array([2]),
            "padding": np.array([2]),
            "dilation": np.array([2]),
            "groups": np.array(2),
            "bias": b,
        },
    )
    refs = np.stack(
        [ref_conv(x[t][:, None, :], w[:, :, None, :], b, (1, 2), ((0, 0), (2, 2)), (1, 2), 2)[:, 0]
         for t in range(3)]
    )  # fmt: skip
    g = chain(node, in_shape=[2, 11], out_shape=list(refs.shape[1:]))
    np.testing.assert_allclose(run(g, x, both=False)["out"], refs, rtol=1e-12, atol=1e-12)


def ref_pool(x, k, s, p, average):
    c, h, w = x.shape
    xp = np.zeros((c, h + 2 * p[0], w + 2 * p[1]))
    xp[:, p[0] : p[0] + h, p[1] : p[1] + w] = x
    oh = (h + 2 * p[0] - k[0]) // s[0] + 1
    ow = (w + 2 * p[1] - k[1]) // s[1] + 1
    y = np.zeros((c, oh, ow))
    for ch, i, j in itertools.product(range(c), range(oh), range(ow)):
        win = xp[ch, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]]
        y[ch, i, j] = win.sum() / (k[0] * k[1]) if average else win.sum()
    return y


@pytest.mark.parametrize("kind", ["SumPool2d", "AvgPool2d"])
@pytest.mark.parametrize(
    "k,s,p", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 1)), ((2, 3), (2, 1), (1, 0))]
)
def test_pools_against_loops(kind, k, s, p):
    x = RNG.standard_normal((3, 2, 7, 6))
    refs = np.stack([ref_pool(x[t], k, s, p, kind == "AvgPool2d") for t in range(3)])
    node = Node(
        "pool", kind, {"kernel_size": np.array(k), "stride": np.array(s), "padding": np.array(p)}
    )
    g = chain(node, in_shape=[2, 7, 6], out_shape=list(refs.shape[1:]))
    np.testing.assert_allclose(run(g, x)["out"], refs, rtol=1e-14, atol=1e-14)


def test_delay_rounds_to_steps_per_element():
    dt = 1e-3
    delay = np.array([0.0, 1e-3, 2.4e-3, 2.6e-3])  # 0, 1, 2, 3 steps
    x = RNG.standard_normal((8, 4))
    g = chain(Node("d", "Delay", {"delay": delay}), in_shape=[4], out_shape=[4])
    y = run(g, x, dt=dt)["out"]
    for i, d in enumerate([0, 1, 2, 3]):
        np.testing.assert_array_equal(y[d:, i], x[: 8 - d, i])
        np.testing.assert_array_equal(y[:d, i], 0.0)
    # chunks smaller than the delay: the history carries over
    sim = nirc.interpreter.prepare(g, dt=dt)
    res = sim.simulator.run({"in": x[:, None]}, 8, 1, chunk=2)
    np.testing.assert_array_equal(res["out"][:, 0], y)


# --- neurons: the literal formulas of SEMANTICS.md ------------------------------


def literal(kind, p, x, dt, integrator="euler", reset="zero"):
    """Step-by-step literal reading of SEMANTICS.md; returns (out, v, i)."""
    n = x.shape[1]
    v = np.zeros(n)
    cur = np.zeros(n)
    outs, vs, cs = [], [], []

    def coef(tau):
        if integrator == "exact":
            return np.exp(-dt / tau), 1 - np.exp(-dt / tau)
        return 1 - dt / tau, dt / tau

    for t in range(x.shape[0]):
        xt = x[t]
        if kind in ("I", "IF"):
            v = v + dt * p["r"] * xt
        elif kind in ("LI", "LIF"):
            d, g = coef(p["tau"])
            v = d * v + g * (p["v_leak"] + p["r"] * xt)
        else:
            dm, gm = coef(p["tau_mem"])
            ds, gs = coef(p["tau_syn"])
            v = dm * v + gm * (p["v_leak"] + p["r"] * cur)
            cur = ds * cur + gs * (p["w_in"] * xt)
        if kind in ("IF", "LIF", "CubaLIF"):
            z = (v > p["v_threshold"]).astype(float)
            if reset == "zero":
                v = np.where(z > 0, p["v_reset"], v)
            else:
                v = v - z * p["v_threshold"]
            outs.append(z)
        else:
            outs.append(v)
        vs.append(v)
        cs.append(cur)
    return np.array(outs), np.array(vs), np.array(cs)


def neuron_params(kind, n=5):
    p = {"r": RNG.uniform(0.5, 2.0, n)}
    if kind in ("LI", "LIF"):
        p["tau"] = RNG.uniform(2e-3, 2e-2, n)
        p["v_leak"] = RNG.uniform(-0.2, 0.2, n)
    if kind in ("CubaLI", "CubaLIF"):
        p["tau_mem"] = RNG.uniform(2e-3, 2e-2, n)
        p["tau_syn"] = RNG.uniform(1e-3, 1e-2, n)
        p["v_leak"] = RNG.uniform(-0.2, 0.2, n)
        p["w_in"] = RNG.uniform(0.5, 3.0, n)
    if kind in ("IF", "LIF", "CubaLIF"):
        p["v_threshold"] = RNG.uniform(0.2, 0.6, n)
        p["v_reset"] = RNG.uniform(-0.1, 0.1, n)
    return p


@pytest.mark.parametrize("integrator", ["euler", "exact"])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("kind", ["I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"])
def test_neuron_against_literal_formulas(kind, integrator, reset):
    dt, n, steps = 1e-3, 5, 60
    p = neuron_params(kind, n)
    x = RNG.uniform(-5, 30, (steps, n)) * (RNG.random((steps, n)) < 0.5)
    if kind in ("I", "IF"):
        x *= 20  # no tau: dt * r * x must still reach threshold
    g = chain(Node("nrn", kind, dict(p)), in_shape=[n], out_shape=[n])
    rec = ["nrn.v"] + (["nrn.i"] if kind.startswith("Cuba") else [])
    res = run(g, x, dt=dt, integrator=integrator, reset=reset, record=rec)
    out, v, cur = literal(kind, p, x, dt, integrator, reset)
    if kind in ("IF", "LIF", "CubaLIF"):
        assert out.sum() > 3, "the test should make neurons spike"
        np.testing.assert_array_equal(res["out"], out)
    else:
        np.testing.assert_allclose(res["out"], out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res["nrn.v"], v, rtol=1e-10, atol=1e-12)
    if kind.startswith("Cuba"):
        np.testing.assert_allclose(res["nrn.i"], cur, rtol=1e-10, atol=1e-12)


def test_lif_hand_computed():
    # tau = 10 ms, dt = 1 ms: a = 0.1; r = 1; threshold 0.25
    p = {
        "tau": np.array([0.01]),
        "r": np.array([1.0]),
        "v_leak": np.array([0.0]),
        "v_threshold": np.array([0.25]),
        "v_reset": np.array([0.0]),
    }
    g = chain(Node("lif", "LIF", p), in_shape=[1], out_shape=[1])
    x = np.array([[1.0], [1.0], [1.0], [0.0]])
    res = run(g, x, dt=1e-3, record=["lif.v"])
    # v: 0.1, 0.19, 0.271 -> spike -> 0, then 0
    np.testing.assert_allclose(res["lif.v"][:, 0], [0.1, 0.19, 0.0, 0.0], rtol=1e-15)
    np.testing.assert_array_equal(res["out"][:, 0], [0, 0, 1, 0])
    res = run(g, x, dt=1e-3, record=["lif.v"], reset="subtract")
    np.testing.assert_allclose(res["lif.v"][:, 0], [0.1, 0.19, 0.021, 0.0189], rtol=1e-13)


def test_cubalif_membrane_uses_previous_current():
    p = {
        "tau_syn": np.array([0.002]),
        "tau_mem": np.array([0.004]),
        "r": np.array([2.0]),
        "v_leak": np.array([0.0]),
        "v_threshold": np.array([10.0]),
        "v_reset": np.array([0.0]),
        "w_in": np.array([1.0]),
    }
    g = chain(Node("c", "CubaLIF", p), in_shape=[1], out_shape=[1])
    res = run(g, np.array([[1.0], [0.0], [0.0]]), dt=1e-3, record=["c.v", "c.i"])
    # a_syn = 0.5, a_mem = 0.25: i = 0.5, 0.25, 0.125; v = 0, 0.25*2*0.5, ...
    np.testing.assert_allclose(res["c.i"][:, 0], [0.5, 0.25, 0.125])
    np.testing.assert_allclose(res["c.v"][:, 0], [0.0, 0.25, 0.1875 + 0.125])


def test_if_without_tau_needs_dt():
    p = {"r": np.ones(3, np.float32), "v_threshold": np.ones(3, np.float32)}
    g = chain(Node("if", "IF", p), in_shape=[3], out_shape=[3])
    with pytest.raises(NircError, match="time step") as e:
        nirc.simulate(g, np.ones((2, 3)))
    # in the API's terms (its `dt` argument); the CLI names its --dt (test_reliability)
    assert "pass dt" in str(e.value) and "--dt" not in str(e.value)
    y = nirc.simulate(g, np.full((3, 3), 0.6), dt=1.0)["out"]
    np.testing.assert_array_equal(y[:, 0], [0, 1, 0])


# --- dt precedence ------------------------------------------------------------


def _snn_lif(r_scale=10.0, metadata=None):
    p = {
        "tau": np.full(2, 1e-3),
        "r": np.full(2, r_scale),
        "v_leak": np.zeros(2),
        "v_threshold": np.ones(2),
        "v_reset": np.zeros(2),
    }
    return chain(Node("lif", "LIF", p), in_shape=[2], out_shape=[2], metadata=metadata)


def test_dt_precedence():
    x = np.ones((3, 2))
    with collecting() as sink:
        sim = nirc.interpreter.prepare(_snn_lif())  # r = tau/dt with dt = 1e-4
    assert sim.dt == pytest.approx(1e-4) and sim.plan.dt_source == "inferred"
    (w,) = [w for w in sink.warnings if w.kind == "inference"]
    assert "1e-04" in w.message or "0.0001" in w.message
    assert "lif" in w.message
    sim = nirc.interpreter.prepare(_snn_lif(metadata={"dt": np.float64(2e-4)}))
    assert sim.dt == 2e-4 and sim.plan.dt_source == "metadata"
    sim = nirc.interpreter.prepare(_snn_lif(metadata={"dt": np.float64(2e-4)}), dt=5e-4)
    assert sim.dt == 5e-4 and sim.plan.dt_source == "argument"
    with pytest.raises(NircError, match="time step"):
        nirc.simulate(_snn_lif(r_scale=1.0), x)  # r == 1: no convention to infer from
    g = _snn_lif()
    g.nodes["lif"].params["r"] = np.array([10.0, 20.0])  # inconsistent
    with pytest.raises(NircError, match="disagree"):
        nirc.simulate(g, x)
    with pytest.raises(NircError, match="dt"):
        nirc.simulate(_snn_lif(), x, dt=-1.0)


def test_stateless_graph_needs_no_dt():
    g = chain(Node("s", "Scale", {"scale": np.full(2, 2.0)}), in_shape=[2], out_shape=[2])
    np.testing.assert_array_equal(nirc.simulate(g, np.ones((2, 2)))["out"], 2.0)


# --- inputs, outputs, batch --------------------------------------------------


def test_input_diagnostics():
    g = chain(Node("s", "Scale", {"scale": np.full(2, 2.0)}), in_shape=[2], out_shape=[2])
    with pytest.raises(NircError) as e:
        nirc.simulate(g, {"inp": np.ones((3, 2))})
    msg = str(e.value)
    assert "`in`: [T, 2]" in msg and "unknown ['inp']" in msg and "missing ['in']" in msg
    with pytest.raises(NircError, match=r"wrong shape") as e:
        nirc.simulate(g, {"in": np.ones((3, 3))})
    assert "[T, 2] or [T, B, 2]" in str(e.value)


def test_batch_and_steps():
    g = chain(Node("s", "Scale", {"scale": np.full(2, 2.0)}), in_shape=[2], out_shape=[2])
    xb = RNG.standard_normal((4, 3, 2))
    y = nirc.simulate(g, xb)["out"]
    assert y.shape == (4, 3, 2)
    np.testing.assert_array_equal(y, 2 * xb)
    y = nirc.simulate(g, xb[:, 0], steps=6)["out"]
    assert y.shape == (6, 2) and not y[4:].any()
    y = nirc.simulate(g, xb[:, 0], batch=2)["out"]
    assert y.shape == (4, 2, 2)
    y = nirc.simulate(g, "random:p=0.5,T=7,B=3,seed=1")["out"]
    assert y.shape == (7, 3, 2) and set(np.unique(y)) <= {0.0, 2.0}


def test_record_diagnostics():
    g = _snn_lif(metadata={"dt": 1e-4})
    with pytest.raises(NircError, match="no state `i`"):
        nirc.simulate(g, np.ones((2, 2)), record=["lif.i"])
    with pytest.raises(NircError, match="did you mean `lif`"):
        nirc.simulate(g, np.ones((2, 2)), record=["lifx"])
    res = nirc.simulate(g, np.ones((2, 2)), record="lif,lif.v")
    assert set(res) == {"out", "lif", "lif.v"}


# --- what simulate accepts ------------------------------------------------------


def test_simulate_accepts_module_path_and_nir_objects(tmp_path):
    w, b = f32(3, 4), f32(3)
    p = neuron_params("LIF", 3)
    g = chain(
        Node("a", "Affine", {"weight": w, "bias": b}),
        Node("lif", "LIF", p),
        in_shape=[4],
        out_shape=[3],
    )
    x = spikes(30, 4, p=0.5) * 40
    ref = nirc.simulate(g, x, dt=1e-3, record=["lif.v"])
    assert ref["out"].any()

    from nirc.convert import import_graph

    module = import_graph(g)
    got = nirc.simulate(module, x, dt=1e-3, record=["lif.v"])
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])

    nirc.write(tmp_path / "m.nir", g)
    np.savez(tmp_path / "x.npz", **{"in": x})
    got = nirc.simulate(tmp_path / "m.nir", tmp_path / "x.npz", dt=1e-3)
    np.testing.assert_array_equal(got["out"], ref["out"])

    nir = pytest.importorskip("nir")
    from nirc.interop import to_nir

    got = nirc.simulate(to_nir(g), x, dt=1e-3)
    assert isinstance(to_nir(g), nir.NIRGraph)
    np.testing.assert_array_equal(got["out"], ref["out"])


def test_warnings_reach_python_callers():
    from nirc.interpreter import NircWarning

    with pytest.warns(NircWarning, match="inferred dt"):
        nirc.simulate(_snn_lif(), np.ones((2, 2)))
    with collecting() as sink, __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        nirc.simulate(_snn_lif(), np.ones((2, 2)))  # collected: no Python warning
    assert any(w.kind == "inference" for w in sink.warnings)


def test_input_files_that_are_not_npz_archives(tmp_path):
    from nirc.interpreter.io import load_npz

    with pytest.raises(NircError, match="the input path is a directory, expected an .npz file"):
        load_npz(tmp_path)
    with pytest.raises(NircError, match="no such input file"):
        load_npz(tmp_path / "missing.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(NircError, match="the input file holds a single array") as e:
        load_npz(tmp_path / "one.npy")
    assert "one array per Input node" in str(e.value.expected)
