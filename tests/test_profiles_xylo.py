"""Source profiles through the Xylo compiler: recurrent nets trained in
Rockpool and snnTorch, compiled for Xylo with their profile.

Two fixtures of tests/data/profiles/ have Xylo's network shape (12 inputs ->
a recurrent hidden layer of 32 -> a non-recurrent readout of 7 fed only by
the hidden layer; T = 300 steps of Bernoulli p = 0.1 spikes, B = 2; see
tests/frameworks/README.md):

- ``rockpool_xylo``: LinearTorch -> LIFTorch(has_rec=True) -> LinearTorch ->
  LIFTorch, SynNet's time constants (decays 1 - 2**-dash). Rockpool's exporter
  drops w_rec; the fixture script writes it back as a Linear on a cycle.
- ``snntorch_rsynaptic_xylo``: Linear -> RSynaptic (subtract) -> Linear ->
  Synaptic (subtract), exported by snnTorch.

Checked here: the profile reproduces the framework exactly; the Xylo
compiler's report carries its agreement figure (float `snn` reference of the
profile vs the Xylo simulation, output spike counts within +-1); the Xylo
simulation, run on the fixture's own input, agrees with what the framework
recorded. The figures are in docs/profiles.md ("Through the Xylo compiler").
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from test_profiles import fixture, probes  # the fixtures' reader and probe names

from nirc.cli import main
from nirc.diagnostics import NircError, collecting
from nirc.interpreter import simulate
from nirc.metrics import outputs_agreement, spike_count_agreement
from nirc.nirfile import read
from nirc.targets import TARGETS, get_target
from nirc.targets import compile as compile_for

DATA = Path(__file__).parent / "data" / "profiles"
CASES = {"rockpool_xylo": "rockpool", "snntorch_rsynaptic_xylo": "snntorch"}
HIDDEN = {"rockpool_xylo": "1_LIFTorch", "snntorch_rsynaptic_xylo": "rlif.lif"}
READOUT = {"rockpool_xylo": "3_LIFTorch", "snntorch_rsynaptic_xylo": "out"}
TOL = 1e-4  # voltages and currents (observed: at most 1e-6, float32 rounding)

# Compile options: the fixtures' input rate for calibration and for the check
# on fresh inputs. At the CLI's default --calib-rate 0.05 the Rockpool readout
# is silent (0.07 spikes per neuron in 300 steps), so the check reads 1.0 and
# says nothing.
OPTIONS = {"calib_rate": 0.1, "check_steps": 300}

# Agreement floors: per-output spike-count agreement within +-1 over the 7
# outputs x 2 batch elements (one pair is 1/14 = 0.071). Measured (seed 0,
# calib_rate 0.1, 2 x 100 calibration steps, 2 x 300 check steps):
#
#   case                     calibration  check (fresh)  chip vs framework
#   rockpool_xylo            1.000        0.714          0.500 (exact 0.214; 376 vs 390 spikes)
#   snntorch_rsynaptic_xylo  1.000        0.857          0.786 (exact 0.357; 241 vs 252 spikes)
#
# Floors are the measured figures minus two pairs (0.143). The Rockpool net's
# decays are exact on Xylo; what is left is int8 weight quantization, which
# moves a threshold crossing now and then (the first hidden spike missed is
# at step 10: v = 1.011 x threshold in Rockpool), and the recurrent layer
# spreads such a difference over the 300 steps (spike counts up to 87).
FLOOR = {
    "rockpool_xylo": {"calibration": 0.85, "check": 0.57, "framework": 0.35},
    "snntorch_rsynaptic_xylo": {"calibration": 0.85, "check": 0.71, "framework": 0.64},
}

pytestmark = pytest.mark.skipif("xylo" not in TARGETS, reason="the Xylo target is not registered")


@cache
def compiled(case: str, source: str):
    with collecting():
        return compile_for(DATA / f"{case}.nir", target="xylo", source=source, **OPTIONS)


def compiled_options(case: str):
    from nirc.targets.base import CompileOptions

    return CompileOptions(source=CASES[case], extra=dict(OPTIONS))


@cache
def chip_output(case: str, source: str) -> np.ndarray:
    _, arrays = fixture(case)
    return get_target("xylo").simulate(compiled(case, source), {"input": arrays["input"]})["output"]


@pytest.mark.parametrize("case", CASES)
def test_fixture_has_xylos_shape_and_activity(case):
    """12 inputs -> recurrent hidden 32 -> non-recurrent readout 7; the hidden
    layer spikes in 2-20% of its neuron-steps on p = 0.1 input."""
    meta, arrays = fixture(case)
    assert meta["profile"] == CASES[case] and meta["expect_match"]
    assert (meta["T"], meta["B"]) == (300, 2)
    x = arrays["input"]
    assert x.shape == (300, 2, 12) and 0.08 < x.mean() < 0.12
    hidden, readout = HIDDEN[case], READOUT[case]
    edges = read(DATA / f"{case}.nir").edges
    # the hidden layer is on a cycle through one weight node, the readout on none
    back = [b for a, b in edges if a == hidden and (b, hidden) in edges]
    assert len(back) == 1, edges
    assert not any(a == readout and (b, readout) in edges for a, b in edges)
    assert arrays[f"spk.{hidden}"].shape[2:] == (32,)
    assert arrays["output"].shape == (300, 2, 7)
    rate = float((arrays[f"spk.{hidden}"] > 0).mean())
    assert 0.02 <= rate <= 0.2, rate
    assert np.all(arrays["output"].sum(axis=0).max(axis=1) > 0)  # each sample's readout spikes


@pytest.mark.parametrize("case", CASES)
def test_profile_reproduces_the_framework_exactly(case):
    """With its profile (no --dt, no --reset: the profile's own conventions),
    nirc computes what the framework recorded: every spike, and the states to
    float32 rounding."""
    meta, arrays = fixture(case)
    keys = probes(meta, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = simulate(DATA / f"{case}.nir", arrays["input"], source=CASES[case],
                       record=list(keys.values()))  # fmt: skip
    np.testing.assert_array_equal(out["output"], arrays["output"])
    assert set(keys) >= {
        f"{k}.{h}" for k in ("v", "i", "spk") for h in (HIDDEN[case], READOUT[case])
    }
    for key, probe in keys.items():
        if key.startswith("spk."):
            np.testing.assert_array_equal(out[probe], arrays[key], err_msg=key)
        else:
            np.testing.assert_allclose(out[probe], arrays[key], rtol=0, atol=TOL, err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_plain_reading_does_not_reproduce_it(case):
    """Without --source the float network computes something else."""
    meta, arrays = fixture(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = simulate(DATA / f"{case}.nir", arrays["input"], dt=meta["dt"])
    assert spike_count_agreement(arrays["output"], out["output"]) < 0.8


@pytest.mark.parametrize("case", CASES)
def test_xylo_compile_with_the_profile_reports_its_agreement(case):
    """The report names the profile and measures the chip against the float
    network of that profile, which is exactly the framework's computation."""
    from nirc.targets.xylo.target import XyloTarget, float_reference

    meta, arrays = fixture(case)
    result = compiled(case, CASES[case])
    report = result.report
    assert report["options"]["source"] == CASES[case]
    assert report["options"]["reset"] == "subtract"
    assert report["options"]["dt"] == pytest.approx(meta["dt"], rel=1e-6)
    res = report["resources"]
    assert (res["input_channels"]["used"], res["hidden_neurons"]["used"],
            res["output_neurons"]["used"]) == (12, 32, 7)  # fmt: skip
    assert [p["recurrent"] for p in res["hidden_layers"]] == [True]
    ag = report["agreement"]
    assert "spike-count agreement within +-1" in ag["metric"]
    assert ag["calibration"]["inputs"].endswith("p = 0.1, seed 0")
    assert ag["check"]["inputs"].startswith("2 x 300 steps")
    assert ag["calibration"]["agreement"] >= FLOOR[case]["calibration"], ag
    assert ag["check"]["agreement"] >= FLOOR[case]["check"], ag
    assert "agreement (spike counts within +-1 vs the float network)" in "\n".join(result.summary)
    # the reference the figures are measured against (the fused float `snn`
    # network of the profile) is the framework's own output on its input
    with collecting():
        module = XyloTarget().lower(DATA / f"{case}.nir", compiled_options(case))[3]
    ref = float_reference(module, {"input": arrays["input"]})
    np.testing.assert_array_equal(ref["output"], arrays["output"])


@pytest.mark.parametrize("case", CASES)
def test_xylo_simulation_agrees_with_the_framework(case):
    """The compiled chip, run on the fixture's own input, against the spike
    counts the framework recorded (per output neuron and batch element,
    within +-1)."""
    _, arrays = fixture(case)
    ref = arrays["output"]
    chip = chip_output(case, CASES[case])
    assert chip.shape == ref.shape
    assert np.all(chip >= 0) and np.all(chip == np.round(chip))
    agreement, per = outputs_agreement({"output": ref}, {"output": chip})
    assert per == {"output": agreement}
    assert agreement >= FLOOR[case]["framework"], (ref.sum(0), chip.sum(0))
    # the totals are close: no layer is lost or saturated on the chip
    assert abs(chip.sum() - ref.sum()) <= 0.1 * ref.sum()
    # and it is a real comparison: the counts are not all within one
    assert spike_count_agreement(ref, chip, tolerance=0) < 1.0


def test_snntorch_plain_reading_gives_the_same_chip_but_the_wrong_reference():
    """Xylo expresses neither snnTorch's undecayed subtraction nor a reset to
    zero, so both readings emit the same specification here; only the profile
    measures it against what snnTorch computed (the plain reading's float
    network agrees with snnTorch to 0.714 within +-1)."""
    case = "snntorch_rsynaptic_xylo"
    profile = compiled(case, "snntorch")
    plain = compiled(case, "nir")
    assert profile.artifacts["spec.npz"] == plain.artifacts["spec.npz"]
    assert plain.report["options"]["reset"] == "zero"
    notes = " ".join(profile.report["approximations"])
    assert "subtract_undecayed" in notes
    assert "one step earlier on the chip" not in notes  # the recurrent latency is exact
    assert "one step earlier on the chip" in " ".join(plain.report["approximations"])
    # measured on fresh inputs: 0.857 (profile) vs 0.714 (plain)
    assert (profile.report["agreement"]["check"]["agreement"]
            > plain.report["agreement"]["check"]["agreement"])  # fmt: skip


def test_rockpool_plain_reading_is_refused():
    """Read plainly, Rockpool's r = tau*exp(-dt/tau)/dt gives dt = tau/r = 2 ms
    and a membrane time constant below it; Xylo refuses. The profile recovers
    dt = 1 ms and exact decays 1 - 2**-dash."""
    with collecting(), pytest.raises(NircError, match="time constant not above dt"):
        compile_for(DATA / "rockpool_xylo.nir", target="xylo", source="nir", **OPTIONS)
    assert "approximated by 1 - 2**-" not in " ".join(
        compiled("rockpool_xylo", "rockpool").report["approximations"]
    )


def test_cli_compile_then_run_on_the_fixture_input(tmp_path, capsys):
    """`nirc compile --target xylo --source rockpool` then `nirc run --target
    xylo` on the written model gives the same chip output as the Python API."""
    case = "rockpool_xylo"
    _, arrays = fixture(case)
    out = tmp_path / "out"
    argv = ["compile", str(DATA / f"{case}.nir"), "--target", "xylo", "--source", "rockpool",
            "--calib-rate", "0.1", "--check-steps", "300", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["options"]["source"] == "rockpool"
    assert report["agreement"] == compiled(case, "rockpool").report["agreement"]
    x = tmp_path / "x.npz"
    np.savez(x, input=arrays["input"])
    y = tmp_path / "y.npz"
    assert main(["run", str(out / "model.mlir"), "--target", "xylo", "--input", str(x),
                 "-o", str(y)]) == 0  # fmt: skip
    with np.load(y) as z:
        np.testing.assert_array_equal(z["output"], chip_output(case, "rockpool"))


def test_the_report_says_when_the_float_outputs_hardly_spike():
    """At nirc compile's default input rate (0.05) Rockpool's readout is almost
    silent: a perfect agreement would mean nothing, and the report says so."""
    with collecting() as sink:
        quiet = compile_for(DATA / "rockpool_xylo.nir", target="xylo", source="rockpool",
                            check_steps=100)  # fmt: skip
    cal = quiet.report["agreement"]["calibration"]
    assert cal["reference_spikes_per_output_neuron"] < 1.0
    assert any("hardly spike" in w.message for w in sink.warnings)
    with collecting() as sink:
        busy = compile_for(DATA / "rockpool_xylo.nir", target="xylo", source="rockpool",
                           **OPTIONS)  # calibrated at p = 0.1: the readout spikes  # fmt: skip
    assert busy.report["agreement"]["check"]["reference_spikes_per_output_neuron"] >= 1.0
    assert not any("hardly spike" in w.message for w in sink.warnings)
