"""The interpreter on real and corpus graphs: the paper's LIF, recurrent
networks (nested and flat forms), the previous-step rule of feedback edges."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import nirc
from nirc.diagnostics import collecting
from nirc.graph import Graph, Node
from nirc.topology import feedback_edges, flatten, topological_order


def both(model, x, **kw):
    """Run fast and step-by-step; they must agree bit for bit."""
    with collecting():
        fast = nirc.simulate(model, x, **kw)
        step = nirc.simulate(model, x, mode="step", **kw)
    for k in fast:
        np.testing.assert_array_equal(fast[k], step[k], err_msg=f"fast != step for {k}")
    return fast


# --- a literal interpreter: SEMANTICS.md read word by word ----------------------


def literal_run(graph: Graph, inputs: dict, dt: float, integrator="euler", reset="zero"):
    """Per step, every node in topological order; feedback edges read the
    previous step. Literal formulas, no folding, no batching over time."""
    flat = flatten(graph)
    fb = feedback_edges(flat)
    order = topological_order(flat, fb)
    steps = next(iter(inputs.values())).shape[0]
    prev: dict[str, np.ndarray] = {}
    state: dict[str, dict] = {n: {} for n in flat.nodes}
    outs = {n: [] for n, v in flat.nodes.items() if v.type == "Output"}
    vs = {n: [] for n in flat.nodes}

    def coef(tau):
        if integrator == "exact":
            return np.exp(-dt / tau), 1 - np.exp(-dt / tau)
        return 1 - dt / tau, dt / tau

    def f(a):
        return np.asarray(a, dtype=np.float64)

    for t in range(steps):
        cur: dict[str, np.ndarray] = {}
        for name in order:
            node = flat.nodes[name]
            p = node.params
            srcs = [(s, (s, d) in fb) for s, d in flat.edges if d == name]
            x = None
            for s, is_fb in srcs:
                val = prev.get(s) if is_fb else cur[s]
                if val is None:
                    val = np.zeros_like(cur.get(s, np.zeros(1)))
                x = val if x is None else x + val
            st = state[name]
            if node.type == "Input":
                y = f(inputs[name][t])
            elif node.type == "Output":
                y = x
            elif node.type == "Affine":
                y = f(p["weight"]) @ x + f(p["bias"])
            elif node.type == "Linear":
                y = f(p["weight"]) @ x
            elif node.type in ("LIF", "CubaLIF"):
                v = st.get("v", np.zeros_like(x))
                if node.type == "LIF":
                    d, g = coef(f(p["tau"]))
                    v = d * v + g * (f(p["v_leak"]) + f(p["r"]) * x)
                else:
                    i = st.get("i", np.zeros_like(x))
                    dm, gm = coef(f(p["tau_mem"]))
                    ds, gs = coef(f(p["tau_syn"]))
                    v = dm * v + gm * (f(p["v_leak"]) + f(p["r"]) * i)
                    st["i"] = ds * i + gs * f(p.get("w_in", 1.0)) * x
                z = (v > f(p["v_threshold"])).astype(float)
                vr = f(p.get("v_reset", np.zeros_like(v)))
                v = np.where(z > 0, vr, v) if reset == "zero" else v - z * f(p["v_threshold"])
                st["v"] = v
                vs[name].append(v)
                y = z
            else:
                raise NotImplementedError(node.type)
            cur[name] = y
            if name in outs:
                outs[name].append(y)
        prev = cur
    return {k: np.array(v) for k, v in outs.items()}, {k: np.array(v) for k, v in vs.items() if v}


# --- the paper's LIF ----------------------------------------------------------


def test_paper_lif_spikes_and_voltage(corpus):
    x = np.loadtxt(corpus / "paper-lif" / "lif_exact.csv", delimiter=",")[:, :1]
    norse = np.loadtxt(corpus / "paper-lif" / "lif_norse.csv", delimiter=",")
    res = both(corpus / "public" / "paper_lif_norse.nir", {"input": x}, dt=1e-4, record=["1.v"])
    assert res["output"].shape == (1000, 1)
    assert np.nonzero(res["output"][:, 0])[0].tolist() == [460, 510, 710, 760]
    assert np.abs(res["1.v"][:, 0] - norse[:, 1]).max() < 1e-5
    assert np.nonzero(norse[:, 2])[0].tolist() == [460, 510, 710, 760]


def test_paper_lif_exact_integrator_is_close(corpus):
    x = np.loadtxt(corpus / "paper-lif" / "lif_exact.csv", delimiter=",")[:, :1]
    res = both(corpus / "public" / "paper_lif_norse.nir", {"input": x}, dt=1e-4,
               integrator="exact")  # fmt: skip
    assert np.nonzero(res["output"][:, 0])[0].tolist() == [460, 510, 710, 760]


# --- recurrent graphs -----------------------------------------------------------


def _braille_nested(flat_graph: Graph) -> Graph:
    """The paper Braille network with its recurrent layer as a nested graph
    `lif1` holding `lif` and `w_rec` (same dotted names once flattened)."""
    g = copy.deepcopy(flat_graph)
    lif = g.nodes.pop("lif1.lif")
    rec = g.nodes.pop("lif1.w_rec")
    n = int(lif.params["tau_mem"].shape[0])
    inner = Graph(
        {
            "input": Node("input", "Input", {"shape": np.array([n])}),
            "lif": Node("lif", lif.type, lif.params),
            "w_rec": Node("w_rec", rec.type, rec.params),
            "output": Node("output", "Output", {"shape": np.array([n])}),
        },
        [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    nodes = {}
    for name, node in g.nodes.items():
        nodes[name] = node
        if name == "fc1":
            nodes["lif1"] = Node("lif1", "NIRGraph", graph=inner)
    edges = []
    for s, t in g.edges:
        if "lif1." in s and "lif1." in t:
            continue
        edges.append((s.replace("lif1.lif", "lif1"), t.replace("lif1.lif", "lif1")))
    return Graph(nodes, edges, g.metadata)


@pytest.mark.parametrize("integrator", ["euler", "exact"])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_braille_nested_equals_flat_and_literal(corpus, integrator, reset):
    flat = nirc.read(corpus / "public" / "paper_braille_bias_zero.nir")
    nested = _braille_nested(flat)
    assert any(n.type == "NIRGraph" for n in nested.nodes.values())
    rng = np.random.default_rng(7)
    x = (rng.random((300, 12)) < 0.2).astype(float)
    kw = dict(dt=1e-4, integrator=integrator, reset=reset, record=["lif1.lif.v", "lif1.lif.i"])
    a = both(flat, {"input": x}, **kw)
    b = both(nested, {"input": x}, **kw)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert 0 < a["output"].sum() < a["output"].size
    outs, vs = literal_run(flat, {"input": x}, 1e-4, integrator, reset)
    np.testing.assert_array_equal(a["output"], outs["output"])
    np.testing.assert_allclose(a["lif1.lif.v"], vs["lif1.lif"], rtol=1e-9, atol=1e-9)


def test_braille_files_batch(corpus):
    rng = np.random.default_rng(3)
    x = (rng.random((200, 4, 12)) < 0.2).astype(float)
    for name in ("paper_braille_bias_zero.nir", "paper_braille_nobias_subtract.nir",
                 "nirtorch_braille.nir"):  # fmt: skip
        res = both(corpus / "public" / name, {"input": x}, dt=1e-4)
        assert res["output"].shape == (200, 4, 7)
        for b in range(4):  # batch entries are independent runs
            one = both(corpus / "public" / name, {"input": x[:, b]}, dt=1e-4)
            np.testing.assert_array_equal(res["output"][:, b], one["output"])


def test_nested_recurrent_equals_its_flat_form(corpus):
    nested = nirc.read(corpus / "nir-1.0.8" / "nested_recurrent.nir")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 3)) * 30
    a = both(nested, {"input": x}, record=["rnn.lif.v", "rnn.w_rec"])  # dt from metadata
    b = both(flatten(nested), {"input": x}, record=["rnn.lif.v", "rnn.w_rec"])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert a["rnn.w_rec"].any()


def test_fanin_flat_recurrent_previous_step_rule(corpus):
    g = nirc.read(corpus / "nir-1.0.8" / "fanin_flat_recurrent.nir")
    rng = np.random.default_rng(9)
    xa = (rng.random((400, 4)) < 0.3) * 30.0
    xb = (rng.random((400, 4)) < 0.3) * 30.0
    res = both(g, {"in_a": xa, "in_b": xb}, dt=1e-3, record=["lif.v", "rec"])
    w = g.nodes["rec"].params["weight"].astype(np.float64)
    p = {k: v.astype(np.float64) for k, v in g.nodes["lif"].params.items()}
    v = np.zeros(4)
    z = np.zeros(4)
    for t in range(400):
        x = xa[t] + xb[t] + w @ z  # the recurrent Linear reads the previous step's spikes
        v = v + 1e-3 / p["tau"] * (p["v_leak"] - v + p["r"] * x)
        z = (v > p["v_threshold"]).astype(float)
        v = np.where(z > 0, p["v_reset"], v)
        np.testing.assert_array_equal(res["out"][t], z, err_msg=f"step {t}")
        np.testing.assert_allclose(res["rec"][t], w @ z, rtol=1e-12, atol=1e-12)
    assert res["out"].sum() > 10


def test_self_loop_reads_previous_step():
    # a Linear feeding itself: y[t] = W (x[t] + y[t-1])
    w = np.array([[0.5, 0.25], [-0.5, 1.0]], np.float32)
    g = Graph(
        {
            "in": Node("in", "Input", {"shape": np.array([2])}),
            "a": Node("a", "Linear", {"weight": w}),
            "out": Node("out", "Output", {"shape": np.array([2])}),
        },
        [("in", "a"), ("a", "a"), ("a", "out")],
    )
    x = np.random.default_rng(0).standard_normal((20, 2))
    y = both(g, {"in": x})["out"]
    prev = np.zeros(2)
    for t in range(20):
        prev = w.astype(float) @ (x[t] + prev)
        np.testing.assert_allclose(y[t], prev, rtol=1e-12)


def test_two_node_loop_with_delay_inside():
    # in -> a -> d(Delay 2 steps) -> a ; the feedback edge adds one more step
    g = Graph(
        {
            "in": Node("in", "Input", {"shape": np.array([1])}),
            "a": Node("a", "Scale", {"scale": np.array([0.5])}),
            "d": Node("d", "Delay", {"delay": np.array([2e-3])}),
            "out": Node("out", "Output", {"shape": np.array([1])}),
        },
        [("in", "a"), ("a", "d"), ("d", "a"), ("a", "out")],
    )
    assert feedback_edges(g) == {("d", "a")}
    x = np.zeros((12, 1))
    x[0] = 8.0
    y = both(g, {"in": x}, dt=1e-3)["out"][:, 0]
    # a[t] = 0.5 * (x[t] + a[t - 3]): the delay's 2 steps, then the feedback's 1
    assert y.tolist() == [4, 0, 0, 2, 0, 0, 1, 0, 0, 0.5, 0, 0]


def test_cnn_runs_fast_equals_step(corpus):
    rng = np.random.default_rng(11)
    x = rng.random((40, 2, 2, 34, 34)) < 0.1
    res = both(corpus / "public" / "paper_cnn_sinabs.nir", {"input": x}, dt=1.0,
               record=["1", "9", "12.v"])  # fmt: skip
    assert res["output"].shape == (40, 2, 10)
    assert res["1"].sum() > 0 and res["output"].sum() > 0


def test_rockpool_output_shape_repair(corpus):
    x = np.zeros((5, 1))
    with collecting() as sink:
        res = nirc.simulate(corpus / "public" / "paper_lif_rockpool.nir", {"input": x}, dt=1e-3)
    assert res["output"].shape == (5, 1)
    assert sink.repairs
