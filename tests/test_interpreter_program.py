"""The whole graph as one compiled loop over time (nirc.interpreter.program):
on corpus graphs and generated ones (recurrent, several inputs, fan-in,
delays, probes, every neuron type and `snn` option), the program's outputs
and states equal the numpy step-by-step oracle's bit for bit; what it cannot
run falls back to the chunked schedule."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.parser import Parser

import nirc
from nirc.context import make_context
from nirc.diagnostics import collecting
from nirc.graph import Graph, Node
from nirc.interpreter import Simulation, engine, jit, program
from nirc.interpreter.snn import build_plan

needs_numba = pytest.mark.skipif(not jit.ENABLED, reason="numba not installed (the fast extra)")
pytestmark = needs_numba


@pytest.fixture
def runs(monkeypatch):
    """Counts the program's runs (and makes sure it is switched on)."""
    calls = []
    real = program.Program.run
    monkeypatch.setattr(engine, "PROGRAM", True)
    monkeypatch.setattr(program.Program, "run", lambda self, *a, **k: calls.append(1) or real(
        self, *a, **k))  # fmt: skip
    return calls


def same_as_oracle(sim, x, steps, batch, *, chunk=None, runs=None):
    """The program's run (compiled kernels on) against the step oracle."""
    before = None if runs is None else len(runs)
    a = sim.simulator.run(x, steps, batch, chunk=chunk, jit_mode="on")
    if runs is not None:
        assert len(runs) == before + 1, "the program did not run"
    b = sim.simulator.run(x, steps, batch, mode="step")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == b[key].shape, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    return a


def _neuron_states(sim) -> list[str]:
    return [f"{n}.{s}" for n, p in sim.plan.nodes.items()
            for s in getattr(p.kernel, "states", ())]  # fmt: skip


# --- corpus ---------------------------------------------------------------------------


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("integrator", ["euler", "exact"])
@pytest.mark.parametrize("batch", [1, 3])
def test_braille_equals_the_oracle(corpus, runs, reset, integrator, batch):
    """The issue's graph (recurrent CubaLIF, biases), every state recorded, in
    one call and in chunks."""
    path = corpus / "public" / "paper_braille_bias_zero.nir"
    with collecting():
        probe = nirc.interpreter.prepare(path, dt=1e-4)
        sim = nirc.interpreter.prepare(path, dt=1e-4, reset=reset, integrator=integrator,
                                       record=_neuron_states(probe) + ["lif1.w_rec", "fc1"])  # fmt: skip
    rng = np.random.default_rng(batch)
    x = {"input": rng.random((300, batch, 12)) < 0.15}
    a = same_as_oracle(sim, x, 300, batch, runs=runs)
    same_as_oracle(sim, x, 300, batch, chunk=7, runs=runs)
    assert a["output"].any() and a["lif1.w_rec"].any()


def test_cnn_equals_the_oracle_with_threads(corpus, runs, monkeypatch):
    """The paper CNN, its samples shared among threads, every state recorded."""
    monkeypatch.setenv("NIRC_THREADS", "3")
    path = corpus / "public" / "paper_cnn_sinabs.nir"
    with collecting():
        probe = nirc.interpreter.prepare(path, dt=1.0)
        sim = nirc.interpreter.prepare(path, dt=1.0, record=_neuron_states(probe) + ["3", "7"])
    x = {"input": np.random.default_rng(2).random((25, 5, 2, 34, 34)) < 0.15}
    a = same_as_oracle(sim, x, 25, 5, runs=runs)
    assert a["7"].max() > 1  # pooled counts


def test_the_paper_cnn_read_as_sinabs_sums_exactly_through_its_third_convolution(corpus, runs):
    """Read as Sinabs computed it (multi-spike IAF), the CNN's counts are
    bounded only through the weights' magnitudes; judged by the largest sum
    of |weights| into an output (not fan-in times the largest weight), the
    third convolution's sums are still exact, so all three run as blocks
    fused with their counting layers; outputs and counts equal the oracle's."""
    path = corpus / "public" / "paper_cnn_sinabs.nir"
    with collecting():
        sim = nirc.interpreter.prepare(path, source="sinabs", dt=1.0, record=["6", "7"])
    x = {"input": np.random.default_rng(3).random((30, 3, 2, 34, 34)) < 0.1}
    exact = sim.simulator._exact(x)
    assert exact["0"] and exact["2"] and exact["5"]
    code = program.compile_program(sim.plan, exact, 3).code
    assert np.count_nonzero(code[:, 0] == program.K.OP_CONV_BLOCK) == 3
    a = same_as_oracle(sim, x, 30, 3, runs=runs)
    assert a["6"].max() >= 2 and a["output"].any()


# --- generated graphs -------------------------------------------------------------------


def _rand(rng, *shape, lo=0.5, hi=1.5):
    return rng.uniform(lo, hi, shape)


def _recurrent_net(rng, reset_v: float = 0.0) -> Graph:
    """Two Inputs (one spiking, one real-valued) summed into a LIF with a
    recurrent Linear; per-element delays into a CubaLIF; a Scale into a
    non-spiking LI, whose values (of either sign) a synapse reads; a
    Threshold; an IF and a CubaLI; a self-looping Linear."""
    n = 6
    w = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    nodes = {
        "in_a": Node("in_a", "Input", {"shape": np.array([4])}),
        "in_b": Node("in_b", "Input", {"shape": np.array([4])}),
        "fa": Node("fa", "Affine", {"weight": w(n, 4), "bias": w(n) * 0.1}),
        "fb": Node("fb", "Linear", {"weight": w(n, 4)}),
        "h": Node("h", "LIF", {"tau": _rand(rng, n) * 2e-3, "r": _rand(rng, n) * 3,
                               "v_leak": rng.uniform(-0.1, 0.1, n), "v_threshold": _rand(rng, n),
                               "v_reset": np.full(n, reset_v)}),
        "rec": Node("rec", "Linear", {"weight": w(n, n) * 0.5}),
        "d": Node("d", "Delay", {"delay": np.array([0, 1, 2, 3, 1, 0]) * 1e-3}),
        "o": Node("o", "CubaLIF", {"tau_mem": _rand(rng, n) * 3e-3, "tau_syn": _rand(rng, n) * 2e-3,
                                   "r": _rand(rng, n) * 4, "v_leak": np.zeros(n),
                                   "v_threshold": np.full(n, 0.4), "w_in": _rand(rng, n) * 2}),
        "sc": Node("sc", "Scale", {"scale": rng.uniform(-1, 1, n)}),
        "li": Node("li", "LI", {"tau": np.full(n, 4e-3), "r": np.full(n, 2.0),
                                "v_leak": np.full(n, 0.05)}),
        "th": Node("th", "Threshold", {"threshold": np.full(n, 0.02)}),
        "if": Node("if", "IF", {"r": np.full(n, 300.0), "v_threshold": np.full(n, 0.5)}),
        "cli": Node("cli", "CubaLI", {"tau_mem": np.full(n, 5e-3), "tau_syn": np.full(n, 2e-3),
                                      "r": np.ones(n), "v_leak": np.zeros(n), "w_in": np.ones(n)}),
        "self": Node("self", "Linear", {"weight": w(n, n) * 0.3}),
        "rd": Node("rd", "Affine", {"weight": w(3, n), "bias": w(3)}),
        "out_rd": Node("out_rd", "Output", {"shape": np.array([3])}),
        "out": Node("out", "Output", {"shape": np.array([n])}),
        "out_li": Node("out_li", "Output", {"shape": np.array([n])}),
        "out_if": Node("out_if", "Output", {"shape": np.array([n])}),
        "out_self": Node("out_self", "Output", {"shape": np.array([n])}),
    }  # fmt: skip
    edges = [
        ("in_a", "fa"), ("in_b", "fb"), ("fa", "h"), ("fb", "h"), ("h", "rec"), ("rec", "h"),
        ("h", "d"), ("d", "o"), ("o", "out"), ("h", "sc"), ("sc", "li"), ("li", "out_li"),
        ("li", "th"), ("th", "if"), ("fb", "if"), ("if", "out_if"), ("li", "cli"),
        ("cli", "self"), ("self", "self"), ("self", "out_self"), ("li", "rd"), ("rd", "out_rd"),
    ]  # fmt: skip
    return Graph(nodes, edges, {"dt": 1e-3})


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("reset_v", [0.0, -0.3])
@pytest.mark.parametrize("batch", [1, 4])
def test_generated_recurrent_graph_equals_the_oracle(runs, reset, reset_v, batch):
    rng = np.random.default_rng(11)
    g = _recurrent_net(rng, reset_v)
    record = ["h.v", "o.v", "o.i", "li.v", "cli.v", "cli.i", "rec", "d", "sc", "th", "if.v", "fa"]
    with collecting():
        sim = nirc.interpreter.prepare(g, reset=reset, record=record)
    x = {
        "in_a": rng.random((120, batch, 4)) < 0.3,
        "in_b": rng.standard_normal((120, batch, 4)) * (rng.random((120, batch, 4)) < 0.5),
    }
    a = same_as_oracle(sim, x, 120, batch, runs=runs)
    same_as_oracle(sim, x, 120, batch, chunk=5, runs=runs)
    for key in ("out", "out_if", "h.v", "d", "th", "out_rd"):
        assert a[key].any(), key
    assert (a["li.v"] < 0).any() and (a["li.v"] > 0).any()
    assert not np.array_equal(a["d"], a["h.v"] > 0)  # the delays delay


def test_inputs_shorter_than_the_run_and_shared_by_the_batch(runs):
    """Steps past the inputs' end read zeros; an input without a batch axis is
    every sample's."""
    rng = np.random.default_rng(3)
    with collecting():
        sim = nirc.interpreter.prepare(_recurrent_net(rng), record=["h.v", "o.i"])
    a = sim.run({"in_a": rng.random((50, 4)) < 0.3, "in_b": rng.standard_normal((50, 4))},
                steps=80, batch=3, jit="on")  # fmt: skip
    b = sim.run({"in_a": rng.random((50, 4)) < 0.3, "in_b": rng.standard_normal((50, 4))},
                steps=80, batch=3, mode="step")  # fmt: skip
    assert len(runs) == 1
    assert a["h.v"].shape == (80, 3, 6)
    np.testing.assert_array_equal(a["h.v"][:, 0], a["h.v"][:, 2])
    assert not np.array_equal(a["h.v"], b["h.v"])  # other inputs: other states
    x = {"in_a": rng.random((50, 4)) < 0.3, "in_b": rng.standard_normal((50, 4))}
    c = sim.run(x, steps=80, batch=3, jit="on")
    d = sim.run(x, steps=80, batch=3, mode="step")
    for key in c:
        np.testing.assert_array_equal(c[key], d[key], err_msg=key)


def _conv_net(rng) -> Graph:
    """Conv2d (stride, padding, bias) -> IF, read by an AvgPool (padding,
    overlapping windows) -> Conv2d -> LIF, and by a SumPool (stride 1) ->
    grouped, dilated Conv2d over its counts -> IF -> Flatten -> Affine -> IF."""
    w = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)  # noqa: E731
    nodes = {
        "in": Node("in", "Input", {"shape": np.array([2, 9, 8])}),
        "c1": Node("c1", "Conv2d", {"weight": w(4, 2, 3, 3), "bias": w(4), "stride": np.array([2, 1]),
                                    "padding": np.array([1, 0]), "dilation": np.array([1, 1]),
                                    "groups": np.array(1)}),
        "n1": Node("n1", "IF", {"r": np.full((4, 5, 6), 1e3), "v_threshold": np.full((4, 5, 6), 0.6)}),
        "ap": Node("ap", "AvgPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([1, 2]),
                                       "padding": np.array([1, 1])}),
        "sp": Node("sp", "SumPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([1, 1]),
                                       "padding": np.array([0, 0])}),
        "c2": Node("c2", "Conv2d", {"weight": w(3, 4, 2, 2), "bias": w(3), "stride": np.array([1, 1]),
                                    "padding": np.array([0, 0]), "dilation": np.array([1, 1]),
                                    "groups": np.array(1)}),
        "n2": Node("n2", "LIF", {"tau": np.full((3, 5, 3), 2e-3), "r": np.full((3, 5, 3), 2.0),
                                 "v_leak": np.zeros((3, 5, 3)), "v_threshold": np.full((3, 5, 3), 0.3),
                                 "v_reset": np.zeros((3, 5, 3))}),
        "g": Node("g", "Conv2d", {"weight": w(4, 2, 2, 2), "bias": np.zeros(4, np.float32),
                                  "stride": np.array([1, 1]),
                                  "padding": np.array([0, 0]), "dilation": np.array([2, 2]),
                                  "groups": np.array(2)}),
        "n3": Node("n3", "IF", {"r": np.full((4, 2, 3), 1e3), "v_threshold": np.full((4, 2, 3), 0.2)}),
        "f": Node("f", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        "fc": Node("fc", "Affine", {"weight": w(5, 24), "bias": w(5)}),
        "n4": Node("n4", "IF", {"r": np.full(5, 1e3), "v_threshold": np.full(5, 0.5)}),
        "out": Node("out", "Output", {"shape": np.array([5])}),
        "out2": Node("out2", "Output", {"shape": np.array([3, 5, 3])}),
    }  # fmt: skip
    edges = [("in", "c1"), ("c1", "n1"), ("n1", "ap"), ("ap", "c2"), ("c2", "n2"), ("n2", "out2"),
             ("n1", "sp"), ("sp", "g"), ("g", "n3"), ("n3", "f"), ("f", "fc"), ("fc", "n4"),
             ("n4", "out")]  # fmt: skip
    return Graph(nodes, edges, {"dt": 1e-3})


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("counts", [False, True])
def test_generated_conv_graph_equals_the_oracle(runs, batch, counts):
    """Pools with padding and overlapping windows, a grouped dilated conv over
    counts, a reshape into a dense layer; inputs as spikes or as counts."""
    rng = np.random.default_rng(5)
    with collecting():
        sim = nirc.interpreter.prepare(_conv_net(rng), record=["n1.v", "ap", "sp", "n2.v", "n3"])
    shape = (60, batch, 2, 9, 8)
    x = rng.random(shape) < 0.3
    if counts:
        x = (x * rng.integers(1, 4, shape)).astype(np.uint8)
    a = same_as_oracle(sim, {"in": x}, 60, batch, runs=runs)
    for key in ("out", "out2", "n3", "sp"):
        assert a[key].any(), key


def test_real_valued_inputs_keep_the_oracles_order(runs):
    """Inputs that are not integers: sums are not exact, so every synapse adds
    in the oracle's order (events in layer order)."""
    rng = np.random.default_rng(8)
    with collecting():
        sim = nirc.interpreter.prepare(_conv_net(rng), record=["n1.v", "n2.v"])
    x = rng.standard_normal((40, 2, 2, 9, 8)) * (rng.random((40, 2, 2, 9, 8)) < 0.4)
    exact = sim.simulator._exact({"in": x})
    assert not exact["c1"]
    same_as_oracle(sim, {"in": x}, 40, 2, runs=runs)


# --- the snn level --------------------------------------------------------------------


def _snn_module(attrs: str, n: int = 5, synapse: bool = True):
    src = "%w" if synapse else "%in"
    text = (
        "builtin.module {\n"
        "  snn.graph attributes {dt = 1.0e-03 : f64} {\n"
        f'    %in = snn.input "input" {{shape = dense<{n}> : tensor<1xi64>}} : tensor<{n}xf32>\n'
        f'    %w = snn.dense "w"(%in : tensor<{n}xf32>) {{weight = dense<[[0.5, -0.25, 1.0, 0.75, '
        f"0.125], [1.5, 0.5, -0.5, 0.25, 1.0], [0.25, 0.75, 0.5, -1.0, 0.5], [1.0, 1.0, 0.25, 0.5, "
        f"-0.5], [0.5, 0.25, 1.25, 0.5, 0.75]]> : tensor<{n}x{n}xf32>}} : tensor<{n}xf32>\n"
        f'    %n = snn.neuron "n"({src} : tensor<{n}xf32>) {{{attrs}}} : tensor<{n}xf32>\n'
        f'    %n2 = snn.neuron "n2"(%in, %n : tensor<{n}xf32>, tensor<{n}xf32>) {{{attrs}}} : '
        f"tensor<{n}xf32>\n"
        f'    snn.output "output"(%n2 : tensor<{n}xf32>)\n'
        "  }\n}\n"
    )
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


SNN_CASES = {
    "zero": 'reset = "zero"',
    "zero, v_reset": 'reset = "zero", v_reset = dense<-0.2> : tensor<f64>',
    "subtract": 'reset = "subtract"',
    "subtract_undecayed": 'reset = "subtract_undecayed"',
    "zero_refractory": 'reset = "zero_refractory", v_reset = dense<0.1> : tensor<f64>',
    "ge": 'reset = "zero", compare = "ge"',
    "multi": 'reset = "subtract", compare = "ge", spikes = "multi"',
    "multi, capped, v_min": 'reset = "subtract", compare = "ge", spikes = "multi", '
    "max_spikes = 2 : i64, v_min = dense<-0.5> : tensor<f64>",
    "v_init": 'reset = "zero", v_init = dense<0.5> : tensor<f64>',
    "synaptic, previous": 'reset = "zero", alpha_syn = dense<0.5> : tensor<f64>, '
    "gain_syn = dense<1.5> : tensor<f64>, i_init = dense<0.25> : tensor<f64>",
    "synaptic, same": 'reset = "subtract", alpha_syn = dense<0.5> : tensor<f64>, '
    'current_order = "same"',
    "memoryless": 'reset = "zero", alpha_mem = dense<0.0> : tensor<f64>',
}


@pytest.mark.parametrize("case", list(SNN_CASES))
def test_snn_neuron_options_equal_the_oracle(runs, case):
    """Every float option of `snn.neuron` (reset flavours, >=, multi-spike
    counts with and without a cap, v_min, initial states, the synaptic stage
    in both orders, alpha_mem = 0), one neuron layer fed by a synapse and one
    by a fan-in of two."""
    attrs = SNN_CASES[case]
    if "alpha_mem" not in attrs:
        attrs += ", alpha_mem = dense<0.9> : tensor<f64>"
    module = _snn_module(
        "gain_mem = dense<0.5> : tensor<f64>, bias_mem = dense<0.02> : tensor<f64>, "
        f"v_threshold = dense<0.6> : tensor<f64>, {attrs}"
    )
    states = ["n.v", "n.v_pre", "n2.v"] + (["n.i", "n2.i"] if "alpha_syn" in attrs else [])
    sim = Simulation(build_plan(module, record=states + ["n"]))
    rng = np.random.default_rng(len(case))
    x = {"input": (rng.random((150, 2, 5)) < 0.5) * rng.uniform(0.5, 2.5, (150, 2, 5))}
    a = same_as_oracle(sim, x, 150, 2, runs=runs)
    assert a["n"].any() and a["output"].any()
    if "multi" in case:
        assert a["n"].max() >= 2
    if "capped" in case:
        assert a["n"].max() == 2 and a["n.v"].min() >= -0.5


def test_quantized_neurons_fall_back_to_the_chunked_schedule(runs):
    """What the program does not run (integer neurons) runs as before."""
    module = _snn_module(
        "alpha_mem = dense<13> : tensor<i64>, gain_mem = dense<24> : tensor<i64>, "
        'v_threshold = dense<100> : tensor<i32>, reset = "subtract", '
        "scale = dense<10.0> : tensor<f64>, frac_bits = 4 : i64, state_bits = 16 : i64",
        synapse=False,
    )
    sim = Simulation(build_plan(module, record=["n.v"]))
    assert not program.supported(sim.plan)
    x = {"input": (np.random.default_rng(0).random((60, 2, 5)) < 0.5) * 3.0}
    a = sim.simulator.run(x, 60, 2, jit_mode="on")
    b = sim.simulator.run(x, 60, 2, mode="step")
    assert runs == []
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


# --- running it -----------------------------------------------------------------------


def test_progress_is_reported_and_the_state_is_kept(corpus, runs, monkeypatch):
    monkeypatch.setattr(program, "PROGRESS_CHUNK", 64)
    with collecting():
        sim = nirc.interpreter.prepare(corpus / "public" / "paper_braille_bias_zero.nir", dt=1e-4)
    x = np.random.default_rng(1).random((300, 12)) < 0.2
    seen: list[int] = []
    a = sim.run(x, jit="on", progress=seen.append)
    assert seen == [64, 128, 192, 256, 300]
    b = sim.run(x, mode="step")
    np.testing.assert_array_equal(a["output"], b["output"])
    k = sim.plan.nodes["lif2"].kernel
    sim.run(x, mode="step")
    v_oracle = k.v.copy()
    sim.run(x, jit="on")
    np.testing.assert_array_equal(k.v, v_oracle)  # the last state, written back


def test_auto_mode_loads_the_kernels_once_short_runs_add_up(corpus, runs, monkeypatch):
    """``jit="auto"`` skips the compiled kernels for one short run, but not
    once this process has spent longer than loading them takes."""
    with collecting():
        sim = nirc.interpreter.prepare(corpus / "public" / "paper_braille_bias_zero.nir", dt=1e-4)
    monkeypatch.setattr(jit, "loaded", lambda: False)
    monkeypatch.setattr(jit, "program_loaded", lambda: False)
    monkeypatch.setattr(engine, "_UNCOMPILED", [0.0])
    monkeypatch.setattr(engine, "JIT_LOAD_SECONDS", 1e-9)
    x = np.random.default_rng(1).random((50, 12)) < 0.2
    a = sim.run(x)
    assert runs == [] and engine._UNCOMPILED[0] > 0
    b = sim.run(x)
    assert runs == [1]
    np.testing.assert_array_equal(a["output"], b["output"])


def test_simulate_reuses_a_files_plan_and_sees_changes(tmp_path, corpus, runs, monkeypatch):
    """``nirc.simulate`` on a path keeps the prepared plan while the file's
    bytes are unchanged (warnings included), and reads it again when they change."""
    import shutil

    import nirc.interpreter as interpreter

    prepared = []
    real = interpreter._prepare
    monkeypatch.setattr(interpreter, "_prepare", lambda *a, **k: prepared.append(1) or real(*a, **k))

    path = tmp_path / "net.nir"
    shutil.copy(corpus / "public" / "paper_braille_bias_zero.nir", path)
    x = np.random.default_rng(1).random((80, 12)) < 0.3
    with collecting() as first:
        a = nirc.simulate(path, x, jit="on")
    with collecting() as second:
        b = nirc.simulate(path, x, jit="on")
    np.testing.assert_array_equal(a["output"], b["output"])
    assert [w.render() for w in first.warnings] == [w.render() for w in second.warnings]
    assert "inferred dt" in first.warnings[0].render()  # every time
    assert len(prepared) == 1
    graph = nirc.read(path)
    graph.nodes["fc2"].params["weight"] = graph.nodes["fc2"].params["weight"] * 4
    nirc.write(path, graph)
    with collecting():
        c = nirc.simulate(path, x, jit="on")
        d = nirc.simulate(path, x, mode="step")
    np.testing.assert_array_equal(c["output"], d["output"])
    assert not np.array_equal(a["output"], c["output"])
    assert len(prepared) == 2


def test_free_cores_leaves_out_this_process_own_load(monkeypatch):
    """The load average counts this process's own busy threads: a loop of runs
    on both cores of a 2-core machine must not see itself as other work."""
    import resource
    import time

    monkeypatch.delenv("NIRC_THREADS", raising=False)
    monkeypatch.setattr(jit.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(jit.os, "getloadavg", lambda: (2.1, 2.0, 1.5))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    monkeypatch.setattr(jit, "_OWN", [cpu, time.monotonic(), 2.0])  # two busy threads
    assert jit.free_cores() == 2
    monkeypatch.setattr(jit, "_OWN", [cpu, time.monotonic(), 0.0])  # other processes' load
    assert jit.free_cores() == 1
    assert jit.free_cores(pieces=True) == 2  # one more for threads that never wait
    monkeypatch.setattr(jit.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert jit.free_cores() == jit.free_cores(pieces=True) == 2  # never more than the cores
    level = jit.own_load()
    assert 0.0 <= level < 0.5  # decays: this test has been idle, not two busy threads


def test_tiny_graphs_at_large_batches_take_the_chunked_schedule(corpus, runs, monkeypatch):
    """Many samples per core of a tiny graph: the chunked schedule (one numpy
    call per layer for the whole batch) is faster, and gives the same bits."""
    with collecting():
        sim = nirc.interpreter.prepare(corpus / "public" / "paper_braille_bias_zero.nir", dt=1e-4)
    x = {"input": np.random.default_rng(4).random((40, 60, 12)) < 0.2}
    monkeypatch.setenv("NIRC_THREADS", "1")
    a = sim.simulator.run(x, 40, 60, jit_mode="on")
    assert runs == []
    monkeypatch.setenv("NIRC_THREADS", "4")
    b = same_as_oracle(sim, x, 40, 60, runs=runs)
    np.testing.assert_array_equal(a["output"], b["output"])


# --- exact convolutions as fixed blocks (OP_CONV_BLOCK) ---------------------------------


def _block_net(rng) -> Graph:
    """Convolutions that run as fixed blocks (exact sums, one group, 8 or 16
    output channels): stride (2, 1) with padding into an IF (fused; the last
    input row reaches past the last output row); a sum
    pool into a (2, 3) kernel of stride (1, 2) over counts into a LIF
    (fused); one whose sums, bias added, are an output; a Conv1d into an IF,
    flattened into a Linear."""
    w = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)  # noqa: E731

    def conv(name, o, c, k, stride, pad, bias=True):
        return Node(name, "Conv2d", {
            "weight": w(o, c, *k), "stride": np.array(stride), "padding": np.array(pad),
            "dilation": np.array([1, 1]), "groups": np.array(1),
            "bias": w(o) if bias else np.zeros(o, np.float32),
        })  # fmt: skip

    def if_(name, shape, thr):
        return Node(name, "IF", {"r": np.full(shape, 1e3), "v_threshold": np.full(shape, thr)})

    nodes = {
        "in": Node("in", "Input", {"shape": np.array([2, 10, 8])}),
        "c1": conv("c1", 8, 2, (3, 3), [2, 1], [1, 0], bias=False),
        "n1": if_("n1", (8, 5, 6), 0.6),
        "sp": Node("sp", "SumPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
                                       "padding": np.array([0, 0])}),
        "c2": conv("c2", 16, 8, (2, 3), [1, 2], [0, 1]),
        "n2": Node("n2", "LIF", {"tau": np.full((16, 1, 2), 2e-3), "r": np.full((16, 1, 2), 2.0),
                                 "v_leak": np.zeros((16, 1, 2)), "v_threshold": np.full((16, 1, 2), 0.3),
                                 "v_reset": np.zeros((16, 1, 2))}),
        "c3": conv("c3", 8, 8, (3, 2), [1, 1], [1, 1]),
        "in1": Node("in1", "Input", {"shape": np.array([3, 10])}),
        "c4": Node("c4", "Conv1d", {"weight": w(8, 3, 3), "bias": w(8), "stride": np.array([2]),
                                    "padding": np.array([1]), "dilation": np.array([1]),
                                    "groups": np.array(1)}),
        "n4": if_("n4", (8, 5), 0.4),
        "f": Node("f", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        "fc": Node("fc", "Linear", {"weight": w(4, 40)}),
        "n5": if_("n5", (4,), 0.5),
        "out": Node("out", "Output", {"shape": np.array([4])}),
        "out2": Node("out2", "Output", {"shape": np.array([16, 1, 2])}),
        "out3": Node("out3", "Output", {"shape": np.array([8, 5, 7])}),
    }  # fmt: skip
    edges = [("in", "c1"), ("c1", "n1"), ("n1", "sp"), ("sp", "c2"), ("c2", "n2"), ("n2", "out2"),
             ("n1", "c3"), ("c3", "out3"), ("in1", "c4"), ("c4", "n4"), ("n4", "f"), ("f", "fc"),
             ("fc", "n5"), ("n5", "out")]  # fmt: skip
    return Graph(nodes, edges, {"dt": 1e-3})


@pytest.mark.parametrize(("batch", "reset"), [(1, "zero"), (3, "zero"), (3, "subtract")])
def test_block_convolutions_equal_the_oracle(runs, batch, reset):
    """Strides, paddings and kernels of several shapes, fused and unfused,
    1-D, over spikes and pooled counts, resets to zero and by subtraction: the
    blocks (zero taps past the kernel, the additions in another order) and
    the fused layers' 8-wide update give the oracle's sums and states bit for
    bit; every convolution ran as blocks."""
    rng = np.random.default_rng(11)
    with collecting():
        sim = nirc.interpreter.prepare(_block_net(rng), reset=reset,
                                       record=["n1.v", "sp", "n2.v", "n4.v"])  # fmt: skip
    x = {"in": rng.random((40, batch, 2, 10, 8)) < 0.3, "in1": rng.random((40, batch, 3, 10)) < 0.3}
    a = same_as_oracle(sim, x, 40, batch, runs=runs)
    for key in ("out", "out2", "out3", "sp", "n4.v"):
        assert a[key].any(), key
    assert a["sp"].max() > 1  # counts
    exact = engine.exact_sums(sim.plan, {"in": 1.0, "in1": 1.0})
    ops = program.compile_program(sim.plan, exact, batch).code[:, 0]
    k = jit.program_kernels()
    assert np.count_nonzero(ops == k.OP_CONV_BLOCK) == 4
    assert not np.any(ops == k.OP_CONV)


@pytest.mark.parametrize(("o", "kw"), [(8, kw) for kw in range(1, 9)] + [(16, 5)])
def test_every_run_length_equals_the_oracle(runs, o, kw):
    """The block adds (program_kernels._add_pair) have straight-line code for
    each run length in RUNS and a loop for any other: a Conv2d of ``o``
    output channels and kernel width ``kw`` (stride 1: runs of ``kw * o``,
    8 to 64, and 56 and 80 through the loop), fused into an IF and alone
    (its sums an output), gives the oracle's sums and spikes bit for bit."""
    rng = np.random.default_rng(kw)
    w = (rng.standard_normal((o, 3, 3, kw)) * 0.5).astype(np.float32)
    shape = (3, 7, 9)
    fused = (o, 7, 9 + 2 * (kw // 2) - kw + 1)
    alone = (o, 5, 9 - kw + 1)
    nodes = {
        "in": Node("in", "Input", {"shape": np.array(shape)}),
        "c": Node("c", "Conv2d", {"weight": w, "bias": np.zeros(o, np.float32),
                                  "stride": np.array([1, 1]), "padding": np.array([1, kw // 2]),
                                  "dilation": np.array([1, 1]), "groups": np.array(1)}),
        "n": Node("n", "IF", {"r": np.full(fused, 1e3), "v_threshold": np.full(fused, 0.7)}),
        "d": Node("d", "Conv2d", {"weight": w, "bias": (rng.standard_normal(o)).astype(np.float32),
                                  "stride": np.array([1, 1]), "padding": np.array([0, 0]),
                                  "dilation": np.array([1, 1]), "groups": np.array(1)}),
        "out": Node("out", "Output", {"shape": np.array(fused)}),
        "out2": Node("out2", "Output", {"shape": np.array(alone)}),
    }  # fmt: skip
    edges = [("in", "c"), ("c", "n"), ("n", "out"), ("in", "d"), ("d", "out2")]
    with collecting():
        sim = nirc.interpreter.prepare(Graph(nodes, edges, {"dt": 1e-3}), record=["n.v"])
    x = {"in": rng.random((30, 2) + shape) < 0.3}
    a = same_as_oracle(sim, x, 30, 2, runs=runs)
    assert a["out"].any() and a["out2"].any()
    exact = engine.exact_sums(sim.plan, {"in": 1.0})
    code = program.compile_program(sim.plan, exact, 2).code
    k = jit.program_kernels()
    blocks = code[code[:, 0] == k.OP_CONV_BLOCK]
    assert len(blocks) == 2 and set(blocks[:, 5]) == {kw * o}  # field 5: the run


def test_block_tables_are_packed_and_aligned():
    """An event's block is one int64 (accumulator offset, weight offset, rows);
    the weight and table pools start on a 64-byte boundary (whole cache
    lines per 8-wide load)."""
    rng = np.random.default_rng(11)
    with collecting():
        sim = nirc.interpreter.prepare(_block_net(rng))
    k = sim.plan.nodes["c1"].kernel
    b = program.conv_blocks(k)
    idx = np.arange(b.tab.size)
    ch, pos = np.divmod(idx, b.hw)
    assert np.array_equal(b.tab & 0xFFFFFFFF, b.tab_a[pos])
    assert np.array_equal((b.tab >> 32) & 0xFFFFFF, ch * b.wstride + b.tab_w[pos])
    assert np.array_equal(b.tab >> 56, b.tab_r[pos])
    # blocks add only to output rows (rows the padding makes up are left out),
    # and the accumulator is the output's rows, their margins shared
    rows = b.rstride
    top, last = b.tab_a // rows, (b.tab_a - (b.tab_r - 1) * rows) // rows
    some = b.tab_r > 0
    assert top[some].max() == b.out_rows - 1 and last[some].min() == 0
    (pt, _), _ = k.pads
    sh, kh = k.stride[0], k.weight4.shape[2]
    py = (np.arange(b.hw) // k.in2d[2] + pt) % sh
    assert np.all(b.tab_r <= -((py - kh) // sh)) and b.tab_r.sum() < (-((py - kh) // sh)).sum()
    assert b.total <= (b.out_rows * b.rstride + b.run)
    exact = engine.exact_sums(sim.plan, {"in": 1.0, "in1": 1.0})
    prog = program.compile_program(sim.plan, exact, 1)
    assert prog.fp.ctypes.data % 64 == 0 and prog.ip.ctypes.data % 64 == 0


def test_block_tables_that_do_not_fit_their_bits_take_the_segments(monkeypatch):
    """A convolution whose accumulator or weights outgrow the packed fields
    (here 2**24 weights: 4,096 x 4,096 channels, never allocated) is no block
    convolution; with block_fits false, every convolution of the block graph
    runs as segments."""
    from types import SimpleNamespace

    def conv(c, o, hw):
        return SimpleNamespace(in2d=(c, hw, hw), out2d=(o, hw, hw), pads=((0, 0), (0, 0)),
                               stride=(1, 1), weight4=np.broadcast_to(0.0, (o, c, 1, 1)))  # fmt: skip

    assert program.block_fits(conv(4095, 4096, 4))
    assert not program.block_fits(conv(4096, 4096, 4))  # weights: 2**24
    assert not program.block_fits(conv(8, 8, 2**15))  # accumulator: 2**33 elements
    monkeypatch.setattr(program, "block_fits", lambda k: False)
    with collecting():
        sim = nirc.interpreter.prepare(_block_net(np.random.default_rng(11)))
    exact = engine.exact_sums(sim.plan, {"in": 1.0, "in1": 1.0})
    ops = program.compile_program(sim.plan, exact, 1).code[:, 0]
    k = jit.program_kernels()
    assert not np.any(ops == k.OP_CONV_BLOCK) and np.count_nonzero(ops == k.OP_CONV) == 4


def test_fused_spikes_keep_their_storage_index_for_table_readers():
    """A fused layer read only by a block convolution and a pool of events
    (n1) sends storage (channels-last) indices, the readers' tables permuted
    instead; one read through a Flatten by a Linear (n4) sends layer indices,
    which the weight rows need."""
    with collecting():
        sim = nirc.interpreter.prepare(_block_net(np.random.default_rng(11)))
    exact = engine.exact_sums(sim.plan, {"in": 1.0, "in1": 1.0})
    code = program.compile_program(sim.plan, exact, 1).code
    k = jit.program_kernels()
    layers = {int(c[1]): c for c in code if c[0] == k.OP_LAYER and c[14] >= 0}
    n1, n4 = layers[8 * 5 * 6], layers[8 * 5]
    assert n1[15] == -1 and n1[9] >= 0  # storage-order events; states still mapped
    assert n4[15] == n4[9] >= 0  # layer-order events


def test_convolutions_that_blocks_do_not_fit_keep_their_segments(runs, monkeypatch):
    """Not exact (real-valued inputs), grouped, dilated, or output channels
    not a multiple of 8: the segment op (OP_CONV) runs them; with blocks
    switched off, the segments give the oracle's sums on the block graph."""
    rng = np.random.default_rng(5)
    with collecting():
        sim = nirc.interpreter.prepare(_conv_net(rng))
    exact = engine.exact_sums(sim.plan, {"in": 1.0})
    ops = program.compile_program(sim.plan, exact, 1).code[:, 0]
    k = jit.program_kernels()
    assert not np.any(ops == k.OP_CONV_BLOCK)
    with collecting():
        real = nirc.interpreter.prepare(_block_net(np.random.default_rng(11)))
    ops = program.compile_program(real.plan, {}, 1).code[:, 0]  # nothing exact
    assert not np.any(ops == k.OP_CONV_BLOCK) and np.count_nonzero(ops == k.OP_CONV) == 4
    monkeypatch.setattr(program, "BLOCKS", False)
    x = {"in": rng.random((20, 2, 2, 10, 8)) < 0.3, "in1": rng.random((20, 2, 3, 10)) < 0.3}
    same_as_oracle(real, x, 20, 2, runs=runs)


# --- weights read as float32, dense sums in registers, samples shared by threads ----------


def test_float32_weights_are_recognized_and_packed_two_to_a_slot():
    w = np.array([[0.1, -2.5], [3e38, 0.0]], np.float32).astype(np.float64)
    assert program.float32_weights(w)
    assert not program.float32_weights(w + 1e-12)  # a float64 of more bits
    assert not program.float32_weights(np.array([1e300]))  # beyond float32's range
    assert not program.float32_weights(np.array([np.nan]))
    p = program.packed32(np.arange(5.0))
    assert p.dtype == np.float64 and p.size == 3  # 5 float32s and one of padding
    np.testing.assert_array_equal(p.view(np.float32), [0, 1, 2, 3, 4, 0])


def _dense_net(rng, width: int, as_float32: bool) -> Graph:
    """Spikes into Linear/Affine layers whose widths take every path of the
    dense op: 128-, 32- and 8-wide register tiles and the scalar rest (300 =
    2*128 + 32 + 8 + 4), a single tile (8), the rest alone (5), and a matrix
    on an input of two dimensions (rows of events: no tiles)."""
    cast = (lambda a: a.astype(np.float32)) if as_float32 else (lambda a: a)  # noqa: E731
    w = lambda *s: cast(rng.standard_normal(s) * 0.4)  # noqa: E731

    def if_(shape):
        return Node("", "IF", {"r": np.full(shape, 1e3), "v_threshold": np.full(shape, 0.8)})

    nodes = {
        "in": Node("in", "Input", {"shape": np.array([24])}),
        "a": Node("a", "Affine", {"weight": w(width, 24), "bias": w(width)}),
        "na": if_((width,)),
        "b": Node("b", "Linear", {"weight": w(8, width)}),
        "nb": if_((8,)),
        "c": Node("c", "Linear", {"weight": w(5, width)}),
        "in3": Node("in3", "Input", {"shape": np.array([3, 6])}),
        "d": Node("d", "Linear", {"weight": w(4, 6)}),
        "out_a": Node("out_a", "Output", {"shape": np.array([width])}),
        "out_b": Node("out_b", "Output", {"shape": np.array([8])}),
        "out_c": Node("out_c", "Output", {"shape": np.array([5])}),
        "out_d": Node("out_d", "Output", {"shape": np.array([3, 4])}),
    }  # fmt: skip
    nodes["na"].name, nodes["nb"].name = "na", "nb"
    edges = [("in", "a"), ("a", "na"), ("na", "b"), ("b", "nb"), ("nb", "out_b"), ("na", "c"),
             ("c", "out_c"), ("na", "out_a"), ("in3", "d"), ("d", "out_d")]  # fmt: skip
    return Graph(nodes, edges, {"dt": 1e-3})


@pytest.mark.parametrize("as_float32", [True, False])
@pytest.mark.parametrize("width", [300, 40])
def test_dense_tiles_and_float32_weights_equal_the_oracle(runs, as_float32, width):
    """Sums of a dense layer kept in vector registers, weights read as float32
    where every weight is one: the oracle's bits (the order of the additions
    is the events' order, exact or not), whatever the width."""
    rng = np.random.default_rng(width)
    with collecting():
        sim = nirc.interpreter.prepare(_dense_net(rng, width, as_float32), record=["na.v", "a"])
    x = {"in": rng.random((30, 3, 24)) < 0.4, "in3": rng.standard_normal((30, 3, 3, 6))}
    a = same_as_oracle(sim, x, 30, 3, runs=runs)
    for key in ("out_a", "out_b", "out_c", "out_d"):
        assert a[key].any(), key
    code = program.compile_program(sim.plan, {}, 3).code
    dense = code[code[:, 0] == jit.program_kernels().OP_DENSE]
    assert len(dense) == 4 and np.all(dense[:, 9] == int(as_float32))


def test_block_convolutions_need_float32_weights(monkeypatch):
    """Blocks read their weights as float32: a convolution whose weights are
    wider (exact sums all the same) runs as segments, bit for bit."""
    rng = np.random.default_rng(11)
    g = _block_net(rng)
    g.nodes["c1"].params["weight"] = g.nodes["c1"].params["weight"].astype(np.float64) + 2.0**-30
    with collecting():
        sim = nirc.interpreter.prepare(g)
    exact = engine.exact_sums(sim.plan, {"in": 1.0, "in1": 1.0})
    assert exact["c1"]
    ops = program.compile_program(sim.plan, exact, 1).code[:, 0]
    k = jit.program_kernels()
    assert np.count_nonzero(ops == k.OP_CONV_BLOCK) == 3 and np.count_nonzero(ops == k.OP_CONV) == 1


def test_threads_take_pieces_of_samples_until_none_are_left(monkeypatch):
    """Every sample runs once, in pieces of the given size, whichever thread
    takes them; a slow thread takes fewer."""
    import threading
    import time

    taken: list[tuple[int, int, str]] = []

    def run(*args):
        b0, b1 = args[-2:]
        name = threading.current_thread().name
        taken.append((b0, b1, name))
        time.sleep(0.02 if name == threading.main_thread().name else 0.002)

    jit.share_samples(run, ("x",), 23, 3, jit.SHARE_SAMPLE_STEPS // 2)  # 2 a piece
    pieces = sorted((b0, b1) for b0, b1, _ in taken)
    assert pieces == [(b, min(23, b + 2)) for b in range(0, 23, 2)]
    by_thread: dict[str, int] = {}
    for _, _, name in taken:
        by_thread[name] = by_thread.get(name, 0) + 1
    assert by_thread[threading.main_thread().name] < max(by_thread.values())


def test_samples_shared_from_a_sample_thread_run_there():
    """share_samples called from one of the pool's threads runs every piece
    in that thread: waiting for the pool's other pieces there would wait for
    itself (the pool has one thread per core beside the caller)."""
    import threading

    taken: list[str] = []

    def run(*args):
        taken.append(threading.current_thread().name)

    def nested() -> None:
        jit.share_samples(run, (), 9, 2, jit.SHARE_SAMPLE_STEPS // 3)  # 3 a piece

    jit._executor().submit(nested).result(timeout=30)
    assert len(taken) == 3 and len(set(taken)) == 1 and taken[0].startswith("nirc-samples")


def _pool_bits_net(rng) -> Graph:
    """A fused layer read by a sum pool alone (windows 2 x 3 over 11 x 9 cells,
    the last row and column in no window): its pool counts the layer's spike
    bits (OP_POOL_BITS); a layer read by a pool and an output keeps the
    pool of events; 16 and 8 channels."""
    w = lambda *s: (rng.standard_normal(s) * 0.6).astype(np.float32)  # noqa: E731

    def conv(o, c):
        return Node("", "Conv2d", {"weight": w(o, c, 3, 3), "stride": np.array([1, 1]),
                                   "padding": np.array([1, 1]), "dilation": np.array([1, 1]),
                                   "groups": np.array(1), "bias": w(o) * 0.2})  # fmt: skip

    def pool(k):
        return Node("", "SumPool2d", {"kernel_size": np.array(k), "stride": np.array(k),
                                      "padding": np.array([0, 0])})  # fmt: skip

    def if_(shape, thr):
        return Node("", "IF", {"r": np.full(shape, 1e3), "v_threshold": np.full(shape, thr)})

    nodes = {
        "in": Node("in", "Input", {"shape": np.array([2, 11, 9])}),
        "c1": conv(16, 2), "n1": if_((16, 11, 9), 0.5), "sp1": pool([2, 3]),
        "c2": conv(8, 16), "n2": if_((8, 5, 3), 0.7), "sp2": pool([2, 2]),
        "f": Node("f", "Flatten", {"start_dim": np.array(0), "end_dim": np.array(-1)}),
        "fc": Node("fc", "Linear", {"weight": w(6, 16)}), "n3": if_((6,), 0.4),
        "out": Node("out", "Output", {"shape": np.array([6])}),
        "out2": Node("out2", "Output", {"shape": np.array([8, 5, 3])}),
    }  # fmt: skip
    for name, node in nodes.items():
        node.name = name
    edges = [("in", "c1"), ("c1", "n1"), ("n1", "sp1"), ("sp1", "c2"), ("c2", "n2"),
             ("n2", "sp2"), ("n2", "out2"), ("sp2", "f"), ("f", "fc"), ("fc", "n3"),
             ("n3", "out")]  # fmt: skip
    return Graph(nodes, edges, {"dt": 1e-3})


@pytest.mark.parametrize(("record", "uniform", "real"),
                         [([], True, False), (["sp1", "n1.v"], True, False), ([], False, False),
                          ([], True, True)])  # fmt: skip
def test_pools_of_spike_bits_equal_the_oracle(runs, record, uniform, real):
    """A pool counted from its layer's spike bits: the oracle's counts, states
    and outputs, whether its counts are also recorded (written in layer
    order) or only sent on as events. A layer of per-neuron thresholds, or
    after a convolution that is no block (real-valued inputs: sums not
    exact), leaves a byte per neuron, not bits: its pool keeps the event
    path."""
    rng = np.random.default_rng(3)
    g = _pool_bits_net(rng)
    if not uniform:
        g.nodes["n1"].params["v_threshold"] = rng.uniform(0.3, 0.7, (16, 11, 9))
    with collecting():
        sim = nirc.interpreter.prepare(g, record=record)
    x = {"in": rng.random((40, 3, 2, 11, 9)) < 0.3}
    if real:
        x = {"in": x["in"] * rng.uniform(0.5, 2.0, x["in"].shape)}
    a = same_as_oracle(sim, x, 40, 3, runs=runs)
    assert a["out"].any() and a["out2"].any()
    if record:
        assert a["sp1"].max() > 1
    exact = engine.exact_sums(sim.plan, {"in": None if real else 1.0})
    code = program.compile_program(sim.plan, exact, 3).code
    k = jit.program_kernels()
    bits = code[code[:, 0] == k.OP_POOL_BITS]
    fused = uniform and not real
    assert len(bits) == int(fused)
    assert np.count_nonzero(code[:, 0] == k.OP_POOL_EVENTS) == 2 - int(fused)
    if fused:
        assert (bits[0, 13] >= 0) == bool(record)  # counts into `val` only when read


# --- one compiled kernel per process --------------------------------------------------


def test_one_kernel_for_read_only_and_writable_inputs(corpus, runs, monkeypatch):
    """numba compiles a kernel once per mix of read-only and writable array
    arguments (about 30 s each): a batch-1 input (a broadcast, read-only), a
    user's read-only array and writable float and bool inputs all reach the
    program as read-only views, so one compiled kernel serves them all; the
    caller's arrays keep their flags."""
    monkeypatch.setenv("NIRC_THREADS", "1")
    path = corpus / "public" / "paper_braille_bias_zero.nir"
    with collecting():
        sim = nirc.interpreter.prepare(path, dt=1e-4)
    rng = np.random.default_rng(0)
    frozen = rng.random((20, 2, 12)) < 0.2
    frozen.flags.writeable = False
    inputs = [rng.random((20, 12)) < 0.2, frozen, (rng.random((20, 2, 12)) < 0.2) * 0.5,
              rng.random((20, 3, 12)) < 0.2]  # fmt: skip
    for x in inputs:
        same_as_oracle(sim, {"input": x}, 20, 1 if x.ndim == 2 else x.shape[1], runs=runs)
    assert inputs[2].flags.writeable and not inputs[1].flags.writeable
    kernel = jit.program_kernels().run_program
    assert len(kernel.signatures) == 1, kernel.signatures


@pytest.mark.parametrize("value", [0.5, np.arange(6.0), np.arange(6.0).reshape(2, 3)])
def test_full_parameters_are_new_writable_arrays(value):
    """The neuron kernels' parameters: always a fresh, writable, contiguous
    float64 array (a read-only one would make numba compile them again)."""
    a = jit.full(value, 6)
    assert a.shape == (6,) and a.dtype == np.float64 and a.flags.writeable and a.flags.c_contiguous
    assert not np.shares_memory(a, value)
    assert np.array_equal(a, np.broadcast_to(np.asarray(value, float).reshape(-1), (6,)))


def test_pools_without_padding_keep_the_oracles_order(runs):
    """Sum and average pools whose windows stay inside the input (strided,
    overlapping, non-square, rows and columns left over) over real values,
    whose sums depend on their order: each window's taps added as the oracle
    adds them, a row of outputs at a time."""
    rng = np.random.default_rng(11)
    nodes = {
        "in": Node("in", "Input", {"shape": np.array([3, 7, 10])}),
        "ap": Node("ap", "AvgPool2d", {"kernel_size": np.array([2, 3]), "stride": np.array([2, 3]),
                                       "padding": np.array([0, 0])}),
        "sp": Node("sp", "SumPool2d", {"kernel_size": np.array([3, 2]), "stride": np.array([1, 2]),
                                       "padding": np.array([0, 0])}),
        "o1": Node("o1", "Output", {"shape": np.array([3, 3, 3])}),
        "o2": Node("o2", "Output", {"shape": np.array([3, 5, 5])}),
    }  # fmt: skip
    graph = Graph(nodes, [("in", "ap"), ("ap", "o1"), ("in", "sp"), ("sp", "o2")], {"dt": 1e-3})
    with collecting():
        sim = nirc.interpreter.prepare(graph)
    x = rng.standard_normal((30, 2, 3, 7, 10)) * 10.0 ** rng.integers(-8, 8, (30, 2, 3, 7, 10))
    a = same_as_oracle(sim, {"in": x}, 30, 2, runs=runs)
    assert a["o1"].any() and a["o2"].any()



@pytest.mark.parametrize("seed", range(6))
def test_the_count_bound_of_multi_spike_layers_holds(seed):
    """What lets the synapses after an uncapped multi-spike layer (a Sinabs
    network) sum exactly in any order: its counts never exceed
    ``count_bound`` of its input's magnitude. Random layers (thresholds from
    0.05, decays 0 to 1, gains and biases of both signs, initial and reset
    membranes, reset to a value or by subtraction, > and >=) driven at their
    bound, at its negative and in between, for 300 steps."""
    rng = np.random.default_rng(seed)
    for _ in range(8):
        reset = rng.choice(["zero", "subtract"])
        compare = rng.choice(["ge", "gt"])
        thr, d = rng.uniform(0.05, 3.0), float(rng.choice([0.0, 1.0, rng.uniform(0, 1)]))
        cm, km = rng.uniform(-2, 2), rng.uniform(-1, 1)
        attrs = (f"alpha_mem = dense<{d!r}> : tensor<f64>, gain_mem = dense<{cm!r}> : tensor<f64>, "
                 f"bias_mem = dense<{km!r}> : tensor<f64>, v_threshold = dense<{thr!r}> : "
                 f"tensor<f64>, v_init = dense<{rng.uniform(-1, 3)!r}> : tensor<f64>, "
                 f"v_reset = dense<{rng.uniform(-1, 1)!r}> : tensor<f64>, reset = \"{reset}\", "
                 f'compare = "{compare}", spikes = "multi"')  # fmt: skip
        k = build_plan(_snn_module(attrs)).nodes["n"].kernel
        drive = float(rng.choice([0.1, 1.0, 30.0]))
        bound = k.count_bound(drive)
        assert bound is not None and bound >= 1
        x = rng.choice([-drive, drive, 0.0], (300, 4, 5)) * rng.choice([1.0, rng.random()], (300, 4, 5))
        k.reset(4)
        counts = k.run(x, {})
        assert counts.max() <= bound, (attrs, drive, counts.max(), bound)
    # what it cannot bound: no input bound, a synaptic stage, a reset of one threshold
    assert k.count_bound(None) is None
    syn = build_plan(_snn_module('alpha_mem = dense<0.9> : tensor<f64>, v_threshold = dense<0.5> : '
                                 'tensor<f64>, reset = "subtract", '
                                 'spikes = "multi", alpha_syn = dense<0.5> : tensor<f64>')
                     ).nodes["n"].kernel  # fmt: skip
    assert syn.count_bound(1.0) is None


def test_synapses_after_a_multi_spike_layer_sum_exactly_and_equal_the_oracle(runs):
    """A Sinabs CNN read as Sinabs (multi-spike IAF, subtractive reset): the
    convolution after the first layer is exact (its input counts bounded), so
    it runs as blocks; every output equals the step oracle's."""
    from nirc.interpreter import prepare
    from nirc.interpreter.io import RandomSpec, random_inputs

    rng = np.random.default_rng(4)
    with collecting():
        sim = prepare(_conv_net(rng), source="sinabs", dt=1.0, record=["n1", "n3"])
    x = random_inputs(sim.plan.inputs, RandomSpec(p=0.4, T=40, B=3, seed=1))
    exact = sim.simulator._exact(x)
    assert exact["c1"] and exact["g"]  # after n1's counts
    a = same_as_oracle(sim, x, 40, 3, runs=runs)
    assert a["n1"].max() >= 2 and a["n3"].any()


def test_a_pool_of_bounded_counts_runs_from_their_events(runs):
    """A sum pool of a multi-spike layer whose reader sums exactly adds the
    counts as events (OP_POOL_EVENTS; any order is exact), as a pool of
    binary spikes does; the outputs equal the oracle's."""
    from nirc.interpreter.io import RandomSpec, random_inputs

    rng = np.random.default_rng(6)
    w = lambda *s: (rng.standard_normal(s) * 0.6).astype(np.float32)  # noqa: E731
    conv = lambda n, o, i: Node(n, "Conv2d", {"weight": w(o, i, 3, 3), "bias": w(o),  # noqa: E731
                                            "stride": np.array([1, 1]), "padding": np.array([1, 1]),
                                            "dilation": np.array([1, 1]), "groups": np.array(1)})  # fmt: skip
    nodes = {
        "in": Node("in", "Input", {"shape": np.array([2, 8, 8])}),
        "c1": conv("c1", 8, 2), "n1": Node("n1", "IF", {"r": np.ones((8, 8, 8)),
                                                   "v_threshold": np.full((8, 8, 8), 0.5)}),
        "sp": Node("sp", "SumPool2d", {"kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
                                       "padding": np.array([0, 0])}),
        "c2": conv("c2", 8, 8), "n2": Node("n2", "IF", {"r": np.ones((8, 4, 4)),
                                                   "v_threshold": np.full((8, 4, 4), 1.0)}),
        "out": Node("out", "Output", {"shape": np.array([8, 4, 4])}),
    }  # fmt: skip
    edges = [("in", "c1"), ("c1", "n1"), ("n1", "sp"), ("sp", "c2"), ("c2", "n2"), ("n2", "out")]
    with collecting():
        sim = nirc.interpreter.prepare(Graph(nodes, edges), source="sinabs", dt=1.0, record=["sp"])
    x = random_inputs(sim.plan.inputs, RandomSpec(p=0.3, T=40, B=2, seed=2))
    prog = program.compile_program(sim.plan, sim.simulator._exact(x), 2)
    assert program.K.OP_POOL_EVENTS in prog.code[:, 0]
    a = same_as_oracle(sim, x, 40, 2, runs=runs)
    assert a["sp"].max() >= 3 and a["out"].any()


def _literal(a: np.ndarray) -> str:
    return np.array2string(a, separator=", ", threshold=1 << 30, floatmode="unique").replace("\n", "")


def _multi_spike_module(rng, neuron: str, per_neuron: bool) -> str:
    """Conv2d -> multi-spike layer -> SumPool2d -> Conv2d -> multi-spike
    layer, and a second input through a Dense synapse into a third: the three
    ways OP_LAYER is fed (a block convolution's padded accumulator, a
    convolution's segments, a dense synapse's output)."""
    # weights in eighths, thresholds in quarters: membranes land on the threshold
    w = lambda *s: (np.round(rng.standard_normal(s) * 5) / 8).astype(np.float32)  # noqa: E731

    def conv(name: str, src: str, cin: int, h: int) -> str:
        return (f'    %{name} = snn.conv2d "{name}"(%{src} : tensor<{cin}x{h}x{h}xf32>) '
                f"{{weight = dense<{_literal(w(8, cin, 3, 3))}> : tensor<8x{cin}x3x3xf32>, "
                f"bias = dense<{_literal(w(8))}> : tensor<8xf32>, stride = dense<1> : tensor<2xi64>, "
                "padding = dense<1> : tensor<2x2xi64>, dilation = dense<1> : tensor<2xi64>, "
                f"groups = dense<1> : tensor<i64>}} : tensor<8x{h}x{h}xf32>\n")  # fmt: skip

    def layer(name: str, src: str, shape: tuple[int, ...]) -> str:
        ty = "x".join(map(str, shape))
        thr = "dense<0.75> : tensor<f64>"
        if per_neuron:
            thr = f"dense<{_literal(rng.integers(2, 5, shape) / 4)}> : tensor<{ty}xf64>"
        return (f'    %{name} = snn.neuron "{name}"(%{src} : tensor<{ty}xf32>) {{v_threshold = {thr}, '
                f"{neuron}}} : tensor<{ty}xf32>\n")  # fmt: skip

    return (
        "builtin.module {\n  snn.graph attributes {dt = 1.0 : f64} {\n"
        '    %in = snn.input "in" {shape = dense<[2, 8, 8]> : tensor<3xi64>} : tensor<2x8x8xf32>\n'
        '    %in2 = snn.input "in2" {shape = dense<6> : tensor<1xi64>} : tensor<6xf32>\n'
        + conv("c1", "in", 2, 8) + layer("n1", "c1", (8, 8, 8))
        + '    %p = snn.sum_pool2d "p"(%n1 : tensor<8x8x8xf32>) {kernel_size = dense<2> : '
        "tensor<2xi64>, stride = dense<2> : tensor<2xi64>, padding = dense<0> : tensor<2xi64>} : "
        "tensor<8x4x4xf32>\n"
        + conv("c2", "p", 8, 4) + layer("n2", "c2", (8, 4, 4))
        + f'    %d = snn.dense "d"(%in2 : tensor<6xf32>) {{weight = dense<{_literal(w(16, 6))}> : '
        f"tensor<16x6xf32>, bias = dense<{_literal(w(16))}> : tensor<16xf32>}} : tensor<16xf32>\n"
        + layer("n3", "d", (16,))
        + '    snn.output "out"(%n2 : tensor<8x4x4xf32>)\n'
        '    snn.output "out3"(%n3 : tensor<16xf32>)\n  }\n}\n'
    )  # fmt: skip


MULTI_SPIKE_LAYERS = {
    "sinabs": 'alpha_mem = dense<1.0> : tensor<f64>, reset = "subtract", compare = "ge", '
    'spikes = "multi"',
    "leaky, reset to a value, >": 'alpha_mem = dense<0.8> : tensor<f64>, reset = "zero", '
    'v_reset = dense<-0.1> : tensor<f64>, spikes = "multi"',
    "capped": 'alpha_mem = dense<1.0> : tensor<f64>, reset = "subtract", compare = "ge", '
    'spikes = "multi", max_spikes = 2 : i64',
    "gain and bias": 'gain_mem = dense<0.5> : tensor<f64>, bias_mem = dense<0.05> : tensor<f64>, '
    'alpha_mem = dense<0.95> : tensor<f64>, reset = "subtract", spikes = "multi"',
}


@pytest.mark.parametrize("per_neuron", [False, True])
@pytest.mark.parametrize("real", [False, True])
@pytest.mark.parametrize("case", list(MULTI_SPIKE_LAYERS))
def test_fused_multi_spike_layers_equal_the_oracle(runs, case, real, per_neuron):
    """Multi-spike layers (Sinabs' IAF and the `snn` options around it) run
    fused with the synapse that feeds them (OP_LAYER counting, not a
    convolution's dense output and a neuron op): after a block convolution,
    after one adding in the oracle's order (real-valued inputs: not exact),
    after a dense synapse; their counts leave as events with values for the
    next convolution and densely for the pool. Outputs, counts and membranes
    equal the step oracle's."""
    rng = np.random.default_rng(len(case) + 7 * real + 3 * per_neuron)
    text = _multi_spike_module(rng, MULTI_SPIKE_LAYERS[case], per_neuron)
    module = Parser(make_context(), text).parse_module()
    module.verify()
    sim = Simulation(build_plan(module, record=["n1", "n1.v", "n2.v", "n3.v", "p"]))
    x1 = rng.random((60, 2, 2, 8, 8)) < 0.3
    x1 = x1 * rng.uniform(0.5, 2.0, x1.shape) if real else x1
    x = {"in": x1, "in2": (rng.random((60, 2, 6)) < 0.5) * rng.uniform(0.5, 2.5, (60, 2, 6))}
    prog = program.compile_program(sim.plan, sim.simulator._exact(x), 2)
    layers = prog.code[prog.code[:, 0] == program.K.OP_LAYER]
    assert len(layers) == 3 and np.all(layers[:, 7] & program.K.L_MULTI), "not fused"
    a = same_as_oracle(sim, x, 60, 2, runs=runs)
    assert a["n1"].max() >= 2 and a["out"].any() and a["out3"].max() >= 2
    if not real:  # the pool adds the first layer's counts as events
        assert program.K.OP_POOL_EVENTS in prog.code[:, 0]
    if case == "capped":
        assert a["n1"].max() == 2
