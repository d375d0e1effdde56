"""What a framework's file leaves out: source options, the exporters' quirks,
and the `snn` neuron's spike cap and membrane bound that carry them.

- ``--source NAME:key=value,...`` (nirc/profiles.py): Rockpool's and Sinabs'
  spike caps, Sinabs' min_v_mem; Rockpool's Xylo caps read from its
  conventions.
- snnTorch's Leaky(beta=1) exported as tau = r = inf: the limit, an IF.
- Norse's IAFCell: its IF adds its input per step.
- ``snn.neuron`` ``max_spikes`` / ``v_min``: float and integer semantics.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import nirc
from nirc.diagnostics import NircError, collecting
from nirc.graph import Graph, Node
from nirc.interpreter import NircWarning, prepare, simulate
from nirc.profiles import get_profile, parse_source

TASKS = Path(__file__).resolve().parents[2] / "shared" / "tasks"
NETS = Path(__file__).parent / "data" / "tasks"


def _tasks() -> Path:
    if not (TASKS / "digits16_test.npz").exists():
        pytest.skip(f"task data not found at {TASKS} (expected ../shared/tasks next to the repo)")
    return TASKS


# --------------------------------------------------------------------------------------
# --source NAME:options
# --------------------------------------------------------------------------------------


def test_source_specs_parse_to_a_canonical_spelling():
    spec = parse_source(" Rockpool:max_spikes_out=none, max_spikes=7 ")
    assert spec.profile.name == "rockpool"
    assert spec.text == "rockpool:max_spikes=7,max_spikes_out=none"
    assert parse_source("sinabs:min_v_mem=-0.5").get("min_v_mem") == -0.5
    assert parse_source("snntorch").text == "snntorch"
    assert get_profile("rockpool:max_spikes=3").name == "rockpool"


@pytest.mark.parametrize(
    "source, message, expected",
    [
        ("snntorch:max_spikes=2", "--source snntorch takes no option `max_spikes`",
         "snntorch:key=value with key in: no options"),
        ("rockpool:min_v_mem=-1", "--source rockpool takes no option `min_v_mem`",
         "rockpool:key=value with key in: max_spikes, max_spikes_out"),
        ("rockpool:max_spikes=0", "bad value for `max_spikes` in --source",
         "an integer >= 1, or none"),
        ("rockpool:max_spikes", "bad value for `max_spikes` in --source",
         "an integer >= 1, or none"),
        ("sinabs:min_v_mem=inf", "bad value for `min_v_mem` in --source",
         "a finite number, or none"),
        ("rockpol", "unknown source profile", "nir or snntorch or norse or sinabs or rockpool"),
    ],
)  # fmt: skip
def test_bad_source_options(source, message, expected):
    with pytest.raises(NircError) as e:
        parse_source(source)
    assert message in e.value.message
    assert e.value.expected == expected


# --------------------------------------------------------------------------------------
# snnTorch beta = 1: tau = r = inf
# --------------------------------------------------------------------------------------


def _graph(tau: np.ndarray, r: np.ndarray) -> Graph:
    w = np.array([[0.6, 0.3], [0.2, 0.7]], np.float32)
    return Graph(
        {
            "input": Node("input", "Input", {"shape": np.array([2])}),
            "fc": Node("fc", "Linear", {"weight": w}),
            "lif": Node("lif", "LIF", {"tau": tau, "r": r, "v_leak": np.zeros(2),
                                       "v_threshold": np.ones(2), "v_reset": np.zeros(2)}),  # fmt: skip
            "output": Node("output", "Output", {"shape": np.array([2])}),
        },
        [("input", "fc"), ("fc", "lif"), ("lif", "output")],
    )


def _if_reference(x: np.ndarray, subtract: bool) -> np.ndarray:
    """v += W x per step, spike when v > 1, then reset to zero, or (snnTorch's
    subtraction) subtract the threshold in the next step: v += W x - z[t-1]."""
    w = np.array([[0.6, 0.3], [0.2, 0.7]], np.float32).astype(np.float64)  # the file's
    v, last = np.zeros(2), np.zeros(2)
    out = []
    for xt in x:
        v = v + w @ xt
        if subtract:
            v = v - last
        z = v > 1.0
        if not subtract:
            v = np.where(z, 0.0, v)
        last = z.astype(float)
        out.append(last)
    return np.array(out)


def test_infinite_time_constants_are_an_if_in_every_reading():
    g = _graph(np.array([np.inf, np.inf]), np.array([np.inf, np.inf]))
    x = (np.random.default_rng(0).random((40, 2)) < 0.5).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy warning escapes
        with collecting() as sink:
            plain = simulate(g, x)["output"]  # no dt needed: the limit does not use it
            snn = simulate(g, x, level="snn")["output"]
            torch = simulate(g, x, source="snntorch")["output"]
    assert np.array_equal(plain, _if_reference(x, subtract=False))
    assert np.array_equal(snn, plain)
    assert np.array_equal(torch, _if_reference(x, subtract=True))  # snnTorch subtracts
    notes = {w.message for w in sink.warnings if w.kind == "repair"}
    assert any("tau = r = inf in 2 of 2 neurons: read as the limit r/tau = 1/dt" in n
               for n in notes)  # fmt: skip


def test_lone_infinities_stay_errors():
    g = _graph(np.array([np.inf, 1e-3]), np.array([1.0, 10.0]))
    with pytest.raises(NircError, match="`tau` holds an infinite value"):
        simulate(g, np.zeros((3, 2)), dt=1e-4)


def test_strict_refuses_the_limit():
    g = _graph(np.array([np.inf, np.inf]), np.array([np.inf, np.inf]))
    with pytest.raises(NircError, match="refused under --strict"):
        simulate(g, np.zeros((3, 2)), strict=True)


# --------------------------------------------------------------------------------------
# the task networks: Rockpool's caps, Sinabs' min_v_mem, the committed networks
# --------------------------------------------------------------------------------------


def _float_counts(model, data: str, n: int, **options) -> np.ndarray:
    x = np.moveaxis(np.load(TASKS / f"{data}_test.npz")["spikes"][:n], 1, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NircWarning)
        sim = prepare(model, **options)
    shape = next(iter(sim.plan.inputs.values()))
    return sim.run(x.reshape(x.shape[:2] + tuple(shape)))["output"].sum(axis=0)


def test_rockpool_xylo_caps_reproduce_rockpool():
    t = _tasks()
    want = np.load(t / "rockpool_lif_kws_outputs.npz")["float_counts"][:80]
    assert np.array_equal(_float_counts(t / "rockpool_lif_kws.nir", "kws8", 80,
                                        source="rockpool"), want)  # fmt: skip
    uncapped = _float_counts(t / "rockpool_lif_kws.nir", "kws8", 80,
                             source="rockpool:max_spikes=none,max_spikes_out=none")  # fmt: skip
    assert not np.array_equal(uncapped, want)  # the caps are what made the difference


def test_sinabs_min_v_mem_reproduces_sinabs():
    t = _tasks()
    want = np.load(t / "sinabs_cnn_digits_outputs.npz")["float_counts"][:60]
    got = _float_counts(t / "sinabs_cnn_digits.nir", "digits16", 60,
                        source="sinabs:min_v_mem=-1")  # fmt: skip
    assert np.array_equal(got, want)


@pytest.mark.parametrize("case", sorted(p.stem for p in NETS.glob("*.json")))
def test_committed_task_networks_read_as_their_framework_ran_them(case):
    """Each network tests/tasks/make_task_networks.py trained and exported:
    nirc's reading with the recorded --source gives the framework's counts."""
    _tasks()
    meta = json.loads((NETS / f"{case}.json").read_text())
    want = np.load(NETS / f"{case}_outputs.npz")["float_counts"][:40]
    got = _float_counts(NETS / f"{case}.nir", meta["data"], 40, **meta["nirc_reading"])
    assert np.array_equal(got, want)


# --------------------------------------------------------------------------------------
# snn.neuron: max_spikes and v_min
# --------------------------------------------------------------------------------------


def _neuron_module(props: str, quantized: bool = False):
    from xdsl.parser import Parser

    from nirc.context import make_context

    t = "i64" if quantized else "f64"
    one = "100" if quantized else "1.0"
    extra = (", scale = dense<100.0> : tensor<f64>, frac_bits = 0 : i64, state_bits = 16 : i64"
             if quantized else "")  # fmt: skip
    text = f"""builtin.module {{
      snn.graph attributes {{dt = 1.0 : f64}} {{
        %in = snn.input "input" {{shape = dense<1> : tensor<1xi64>}} : tensor<1xf32>
        %n = snn.neuron "n"(%in : tensor<1xf32>) {{alpha_mem = dense<{1 if quantized else 1.0}> : tensor<{t}>, v_threshold = dense<{one}> : tensor<{t}>, spikes = "multi", reset = "subtract", {props}{extra}}} : tensor<1xf32>
        snn.output "output"(%n : tensor<1xf32>)
      }}
    }}"""
    return Parser(make_context(), text).parse_module()


@pytest.mark.parametrize("quantized", [False, True])
def test_spike_cap_and_membrane_bound(quantized):
    """v += x; n = min(floor(v), 3) where v > 1; v -= n; v = max(v, -1), per step."""
    unit = 100 if quantized else 1.0
    props = ("max_spikes = 3 : i64, v_min = dense<-100> : tensor<i64>" if quantized
             else "max_spikes = 3 : i64, v_min = dense<-1.0> : tensor<f64>")  # fmt: skip
    module = _neuron_module(props, quantized)
    x = np.array([7.5, 0.0, -5.0, 0.5, 2.2]) * unit
    x = np.round(x) if quantized else x  # integers in state units
    want_n, want_v, v = [], [], 0.0
    for xt in x / unit:
        v += xt
        n = min(np.floor(v), 3) if v > 1 else 0
        v = max(v - n, -1.0)
        want_n.append(n)
        want_v.append(v)
    sim = prepare(module, record=["n.v"])
    for mode in ("fast", "step"):
        got = sim.run(x[:, None], mode=mode)
        assert got["output"].ravel().tolist() == want_n
        assert np.allclose(got["n.v"].ravel() / unit, want_v)


def test_capped_spike_counts_bound_exact_sums():
    """A capped multi-spike layer's counts have a static bound: the synapse
    after it sums exactly (the fast kernels) in every mode, same numbers."""
    t = _tasks()
    x = np.moveaxis(np.load(t / "digits16_test.npz")["spikes"][:4], 1, 0)
    sim = prepare(t / "sinabs_cnn_digits.nir", source="sinabs:max_spikes=3")
    assert np.array_equal(sim.run(x)["output"], sim.run(x, mode="step")["output"])


def test_evaluate_accepts_a_source_with_options():
    t = _tasks()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NircWarning)
        r = nirc.evaluate(t / "sinabs_cnn_digits.nir", t / "digits16_test.npz",
                          source="sinabs:min_v_mem=-1", limit=20)  # fmt: skip
    want = np.load(t / "sinabs_cnn_digits_outputs.npz")["float_pred"][:20]
    assert r.source == "sinabs:min_v_mem=-1"
    assert r.reference.predictions.tolist() == want.tolist()
