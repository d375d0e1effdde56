"""The `snn.neuron` semantics, read literally: every option of the float neuron
(the ones the source profiles will set) and the integer rules of quantized
neurons (rounding half up, saturation), against step-by-step references."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.parser import Parser

from nirc.context import make_context
from nirc.diagnostics import NircError
from nirc.interpreter import Simulation
from nirc.interpreter.snn import build_plan

N = 3


def _module(attrs: str, *, n: int = N, dense: str | None = None):
    syn = ""
    src = "%in"
    if dense is not None:
        syn = f'    %w = snn.dense "w"(%in : tensor<{n}xf32>) {{{dense}}} : tensor<{n}xf32>\n'
        src = "%w"
    text = (
        "builtin.module {\n"
        "  snn.graph attributes {dt = 1.0e-03 : f64} {\n"
        f'    %in = snn.input "input" {{shape = dense<{n}> : tensor<1xi64>}} : tensor<{n}xf32>\n'
        + syn
        + f'    %n = snn.neuron "n"({src} : tensor<{n}xf32>) {{{attrs}}} : tensor<{n}xf32>\n'
        f'    snn.output "output"(%n : tensor<{n}xf32>)\n'
        "  }\n}\n"
    )
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


def _run(module, x, record=("n.v",)):
    sim = Simulation(build_plan(module, record=list(record)))
    fast = sim.run({"input": x})
    step = sim.run({"input": x}, mode="step")
    for k in fast:
        np.testing.assert_array_equal(fast[k], step[k], err_msg=f"fast != step for {k}")
    return fast


def _literal(x, *, alpha=0.9, gain=1.0, bias=0.0, alpha_syn=None, gain_syn=1.0, thr=1.0,
             v_reset=0.0, reset="zero", compare="gt", spikes="binary", order="previous",
             v_init=0.0, i_init=0.0):  # fmt: skip
    """The neuron update of the `snn` dialect docstring, one step at a time."""
    v = np.full(x.shape[1:], v_init, float)
    i = np.full(x.shape[1:], i_init, float)
    last = np.zeros(x.shape[1:])
    out, vs = [], []
    for t in range(x.shape[0]):
        if alpha_syn is not None:
            i_prev = i.copy()
            i = alpha_syn * i + gain_syn * x[t]
            s = i if order == "same" else i_prev
        else:
            s = x[t]
        v = alpha * v + (gain * s + bias)
        if thr is None:
            out.append(v.copy())
            vs.append(v.copy())
            continue
        if reset == "subtract_undecayed":
            v = v - last * thr
        elif reset == "zero_refractory":
            v = np.where(last > 0, v_reset, v)
        hit = v >= thr if compare == "ge" else v > thr
        n = np.where(hit, np.floor(v / thr), 0.0) if spikes == "multi" else hit.astype(float)
        if reset == "zero":
            v = np.where(n > 0, v_reset, v)
        elif reset == "subtract":
            v = v - n * thr
        last = n
        out.append(n)
        vs.append(v.copy())
    return np.array(out), np.array(vs)


def _x(steps=200, seed=0, scale=0.6):
    rng = np.random.default_rng(seed)
    return (rng.random((steps, N)) < 0.4) * scale + rng.standard_normal((steps, N)) * 0.05


CASES = {
    "zero": (dict(reset="zero"), 'reset = "zero"'),
    "zero, v_reset": (dict(reset="zero", v_reset=-0.2), 'reset = "zero", v_reset = dense<-0.2> : tensor<f64>'),
    "subtract": (dict(reset="subtract"), 'reset = "subtract"'),
    "subtract_undecayed": (dict(reset="subtract_undecayed"), 'reset = "subtract_undecayed"'),
    "zero_refractory": (dict(reset="zero_refractory"), 'reset = "zero_refractory"'),
    "ge": (dict(compare="ge"), 'reset = "zero", compare = "ge"'),
    "multi": (dict(spikes="multi", reset="subtract", compare="ge", thr=0.3),
              'reset = "subtract", compare = "ge", spikes = "multi"'),
    "v_init": (dict(v_init=0.5), 'reset = "zero", v_init = dense<0.5> : tensor<f64>'),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_float_options_match_the_literal_update(case):
    opts, attrs = CASES[case]
    thr = opts.pop("thr", 1.0)
    module = _module(
        f"alpha_mem = dense<0.9> : tensor<f64>, gain_mem = dense<0.5> : tensor<f64>, "
        f"bias_mem = dense<0.02> : tensor<f64>, v_threshold = dense<{thr}> : tensor<f64>, {attrs}"
    )
    x = _x()
    res = _run(module, x)
    z, v = _literal(x, gain=0.5, bias=0.02, thr=thr, **opts)
    np.testing.assert_array_equal(res["output"], z)
    np.testing.assert_allclose(res["n.v"], v, rtol=1e-12, atol=1e-12)
    assert z.sum() > 0


@pytest.mark.parametrize("order", ["previous", "same"])
def test_synaptic_stage_and_current_order(order):
    module = _module(
        "alpha_mem = dense<0.8> : tensor<f64>, gain_mem = dense<0.7> : tensor<f64>, "
        "alpha_syn = dense<0.5> : tensor<f64>, gain_syn = dense<1.5> : tensor<f64>, "
        f'v_threshold = dense<1.0> : tensor<f64>, reset = "zero", current_order = "{order}", '
        "i_init = dense<0.25> : tensor<f64>"
    )
    x = _x(seed=1)
    res = _run(module, x, record=("n.v", "n.i"))
    z, v = _literal(x, alpha=0.8, gain=0.7, alpha_syn=0.5, gain_syn=1.5, order=order, i_init=0.25)
    np.testing.assert_array_equal(res["output"], z)
    np.testing.assert_allclose(res["n.v"], v, rtol=1e-12, atol=1e-12)


def test_memoryless_neuron_is_a_threshold():
    module = _module("alpha_mem = dense<0.0> : tensor<f64>, v_threshold = dense<0.3> : tensor<f64>")
    x = _x(seed=2)
    res = _run(module, x)
    np.testing.assert_array_equal(res["output"], (x > 0.3).astype(float))


def test_snntorch_leaky_subtract_reading():
    """snnTorch's Leaky with reset by subtraction: mem = beta*mem + I - spk_prev*thr."""
    beta, thr = 0.9, 1.0
    module = _module(
        f"alpha_mem = dense<{beta}> : tensor<f64>, v_threshold = dense<{thr}> : tensor<f64>, "
        'reset = "subtract_undecayed"'
    )
    x = _x(seed=3)
    res = _run(module, x)
    mem = np.zeros(N)
    spk = np.zeros(N)
    for t in range(len(x)):
        mem = beta * mem + x[t] - spk * thr
        spk = (mem - thr > 0).astype(float)
        np.testing.assert_array_equal(res["output"][t], spk)


def test_sinabs_iaf_multi_spike_reading():
    """Sinabs' IAF: v += I; n = floor(v/thr) if v >= thr; v -= n*thr."""
    module = _module(
        "alpha_mem = dense<1.0> : tensor<f64>, v_threshold = dense<0.5> : tensor<f64>, "
        'reset = "subtract", compare = "ge", spikes = "multi"'
    )
    x = np.abs(_x(seed=4, scale=1.7))
    res = _run(module, x)
    v = np.zeros(N)
    for t in range(len(x)):
        v = v + x[t]
        n = np.where(v >= 0.5, np.floor(v / 0.5), 0)
        v = v - n * 0.5
        np.testing.assert_array_equal(res["output"][t], n)
    assert res["output"].max() >= 2


# --- integers -------------------------------------------------------------------------


def _ms(a, m, f):
    return (a * m + (1 << (f - 1))) >> f if f else a * m


def test_integer_neuron_rounds_half_up_and_saturates():
    """v = sat(ms(v, alpha) + ms(x, gain) + bias), then spike and reset, in int64."""
    frac, bits = 4, 8
    module = _module(
        "alpha_mem = dense<13> : tensor<i64>, gain_mem = dense<24> : tensor<i64>, "
        "bias_mem = dense<-1> : tensor<i32>, v_threshold = dense<100> : tensor<i32>, "
        'reset = "subtract", scale = dense<10.0> : tensor<f64>, '
        f"frac_bits = {frac} : i64, state_bits = {bits} : i64"
    )
    rng = np.random.default_rng(5)
    x = rng.integers(-60, 90, size=(300, N)).astype(float)
    res = _run(module, x)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = np.zeros(N, np.int64)
    saturated = False
    for t in range(len(x)):
        raw = _ms(v, 13, frac) + _ms(x[t].astype(np.int64), 24, frac) - 1
        saturated |= bool(np.any((raw < lo) | (raw > hi)))
        v = np.clip(raw, lo, hi)
        z = v > 100
        v = np.clip(v - z * 100, lo, hi)
        np.testing.assert_array_equal(res["output"][t], z.astype(float), err_msg=f"step {t}")
        np.testing.assert_array_equal(res["n.v"][t], v, err_msg=f"step {t}")
    assert saturated and res["output"].sum() > 0


def test_rounding_of_the_fixed_point_multiply():
    # 0.5 * 3 = 1.5 -> 2 (half up); 0.5 * -3 = -1.5 -> -1 (half up, towards +inf)
    module = _module(
        "alpha_mem = dense<0> : tensor<i64>, gain_mem = dense<8> : tensor<i64>, "
        "scale = dense<1.0> : tensor<f64>, frac_bits = 4 : i64, state_bits = 16 : i64",
        n=2,
    )
    res = Simulation(build_plan(module, record=["n.v"])).run({"input": np.array([[3.0, -3.0]])})
    assert res["n.v"][0].tolist() == [2.0, -1.0]


def test_integer_synapse_shift_and_bias():
    """y = (W x) * 2**shift + bias, exactly."""
    module = _module(
        "alpha_mem = dense<0> : tensor<i64>, scale = dense<1.0> : tensor<f64>, "
        "frac_bits = 0 : i64, state_bits = 32 : i64",
        dense="weight = dense<[[1, -2, 3], [127, -128, 0], [0, 0, 5]]> : tensor<3x3xi8>, "
        "bias = dense<[7, 0, -7]> : tensor<3xi32>, shift = 4 : i64, scale = dense<1.0> : tensor<f64>",
    )
    x = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 1.0]])
    res = _run(module, x)
    w = np.array([[1, -2, 3], [127, -128, 0], [0, 0, 5]])
    expected = (x @ w.T) * 16 + np.array([7, 0, -7])
    np.testing.assert_array_equal(res["output"], expected)


def test_quantized_neuron_refuses_non_integer_inputs():
    module = _module(
        "alpha_mem = dense<0> : tensor<i64>, scale = dense<1.0> : tensor<f64>, "
        "frac_bits = 0 : i64, state_bits = 16 : i64"
    )
    with pytest.raises(NircError, match="non-integer input"):
        Simulation(build_plan(module)).run({"input": np.full((2, N), 0.5)})
