"""Source profiles (nirc/profiles.py) against the frameworks' own runs.

tests/data/profiles/ holds, for 17 small networks, the file each framework's
exporter wrote, the input, and what the framework computed (written by
tests/frameworks/make_fixtures.py, which runs the real frameworks; see its
README). With its profile, every fixture must be reproduced exactly (spikes,
spike counts) and to 1e-4 (voltages, currents, as the sidecar defines them);
the plain `nir` reading is recorded too, so the difference stays visible.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from nirc.cli import main
from nirc.diagnostics import NircError, collecting
from nirc.interpreter import simulate
from nirc.nirfile import read
from nirc.profiles import PROFILES, detect, get_profile, resolve_options

DATA = Path(__file__).parent / "data" / "profiles"
CASES = sorted(p.stem for p in DATA.glob("*.json"))
TOL = 1e-4

# The plain NIR reading (SEMANTICS.md, at the framework's dt, reset to zero)
# reproduces only snnTorch's Leaky with reset "zero" (a lazily applied reset
# to zero is NIR's reset to zero). Everything else differs:
# - snnTorch subtract: the subtraction is not decayed and lands a step later;
#   RLeaky/(R)Synaptic zero: the whole step after a spike is lost, Synaptic's
#   membrane reads the current of the same step, the recurrent bias counts
#   from t = 0;
# - Norse: taus 1000x too small (to_nir's default dt), neurons start at
#   v_leak, LIFCell's input jumps into the current;
# - Sinabs and Rockpool: spike counts, >=, subtraction; exact decays, Sinabs'
#   input normalization, Rockpool's current order and gains;
# - rockpool_lif_rec: the exporter dropped the recurrent weights (no reading
#   of the file can reproduce it).
PLAIN_REPRODUCES = {"snntorch_leaky_zero"}


@cache
def fixture(case: str) -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((DATA / f"{case}.json").read_text())
    with np.load(DATA / f"{case}.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return meta, arrays


def reset_of(meta: dict) -> str | None:
    """The reset the framework ran with, as a --reset choice (None: the
    profile's only one)."""
    mechanism = meta["reset"]["mechanism"]
    return mechanism if mechanism in ("zero", "subtract") else None


def probes(meta: dict, arrays: dict) -> dict[str, str]:
    """fixture key -> nirc probe. snnTorch's recorded `mem` is the membrane
    before its own step's reset: `v_pre`."""
    out = {}
    before_reset = "BEFORE" in meta["v_means"]
    for key in arrays:
        kind, _, node = key.partition(".")
        if kind == "spk":
            out[key] = node
        elif kind == "v":
            out[key] = f"{node}.v_pre" if before_reset else f"{node}.v"
        elif kind == "i":
            out[key] = f"{node}.i"
    return out


def run(case: str, source: str, **options) -> dict[str, np.ndarray]:
    meta, arrays = fixture(case)
    record = list(probes(meta, arrays).values()) if source != "nir" else []
    if source == "nir":
        record = [k[4:] for k in arrays if k.startswith("spk.")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate(DATA / f"{case}.nir", arrays["input"], source=source, record=record,
                        **options)  # fmt: skip


def norse_current_scale(case: str) -> dict[str, np.ndarray]:
    """Norse's state.i is the current after this step's decay; the `snn` neuron
    holds it after the input jump, before the decay: i_norse = alpha_syn * i."""
    from nirc.dialects import snn
    from nirc.interpreter.snn import discretized, load_module

    meta, _ = fixture(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = discretized(load_module(DATA / f"{case}.nir"), dt=meta["dt"], source="norse")
    return {
        op.node_name.data: snn.param(op, "alpha_syn")
        for op in snn.flat_ops(snn.top_graph(module))
        if isinstance(op, snn.NeuronOp) and op.has_synapse_stage
    }


def reproduces(case: str, out: dict[str, np.ndarray]) -> bool:
    meta, arrays = fixture(case)
    ok = np.allclose(out["output"], arrays["output"], rtol=0, atol=TOL)
    for key in arrays:
        if key.startswith("spk."):
            ok = ok and np.array_equal(out[key[4:]], arrays[key])
    return bool(ok)


@pytest.mark.parametrize("case", CASES)
def test_profile_reproduces_the_framework(case):
    meta, arrays = fixture(case)
    out = run(case, meta["profile"], dt=meta["dt"], reset=reset_of(meta))
    if not meta["expect_match"]:
        assert case == "rockpool_lif_rec"
        # The exporter wrote no recurrent weights: the file is a feed-forward
        # LIF layer, while Rockpool ran it with w_rec. Nothing can reproduce it.
        assert "w_rec" in meta["framework_neurons"]["1_LIFTorch"]
        assert not any(
            s == t or s.endswith("LIFTorch") and t.endswith("LIFTorch")
            for s, t in read(DATA / f"{case}.nir").edges
        ), "the file should have no recurrent edge"
        assert not np.array_equal(out["output"], arrays["output"])
        return
    voltage_output = "voltage" in meta["output"]["what"]
    if voltage_output:
        np.testing.assert_allclose(out["output"], arrays["output"], rtol=0, atol=TOL)
    else:
        np.testing.assert_array_equal(out["output"], arrays["output"], err_msg="output")
    scale = norse_current_scale(case) if meta["framework"] == "norse" else {}
    for key, probe in probes(meta, arrays).items():
        got = out[probe]
        if key.startswith("spk."):
            np.testing.assert_array_equal(got, arrays[key], err_msg=key)
            continue
        if key.startswith("i.") and key[2:] in scale:
            got = got * scale[key[2:]]
        np.testing.assert_allclose(got, arrays[key], rtol=0, atol=TOL, err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_plain_reading_differs(case):
    """What `nirc run --dt <the framework's dt>` (no --source) gives: the set of
    fixtures it reproduces is pinned, so the difference stays visible."""
    meta, _ = fixture(case)
    out = run(case, "nir", dt=meta["dt"])
    assert reproduces(case, out) == (case in PLAIN_REPRODUCES)


@pytest.mark.parametrize("case", CASES)
def test_profile_defaults_find_the_framework_step(case):
    """Without --dt and --reset, the profile's own conventions: snnTorch's 1e-4,
    Sinabs' 1 step, Rockpool's dt solved from r, Norse's default 1e-3; the
    framework's default reset (snnTorch: subtract)."""
    from nirc.dialects import snn
    from nirc.interpreter.snn import discretized, load_module

    meta, _ = fixture(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = discretized(
            load_module(DATA / f"{case}.nir"), integrator=None, reset=None, source=meta["profile"]
        )
    graph = snn.top_graph(module)
    assert graph.dt_value == pytest.approx(meta["dt"], rel=1e-9)
    assert snn.graph_source(graph) == meta["profile"]
    if reset_of(meta) in (None, "subtract"):
        out = run(case, meta["profile"])
        if meta["expect_match"]:
            assert reproduces(case, out)


@pytest.mark.parametrize("case", CASES)
def test_detection_names_the_framework(case):
    meta, _ = fixture(case)
    candidates = detect(read(DATA / f"{case}.nir"))
    assert candidates and candidates[0].profile == meta["profile"], candidates
    assert candidates[0].evidence


def test_detection_of_a_plain_file_finds_nothing():
    from nirc.graph import Graph, Node

    g = Graph(
        {
            "input": Node("input", "Input", {"shape": np.array([2])}),
            "lif": Node(
                "lif",
                "LIF",
                {
                    "tau": np.array([0.02, 0.03]),
                    "r": np.array([2.0, 3.0]),
                    "v_leak": np.zeros(2),
                    "v_threshold": np.ones(2),
                },
            ),  # fmt: skip
            "output": Node("output", "Output", {"shape": np.array([2])}),
        },
        [("input", "lif"), ("lif", "output")],
    )
    assert detect(g) == []


def test_show_reports_the_likely_source_without_applying_it(capsys):
    assert main(["show", str(DATA / "rockpool_lif.nir")]) == 0
    out = capsys.readouterr().out
    assert "likely source: rockpool (Rockpool 3.1)" in out
    assert "not applied: pass --source rockpool" in out
    assert "r == tau*exp(-dt/tau)/dt with one dt = 0.001 s" in out
    assert "`0_LinearTorch`" in out


def test_run_with_source_on_the_command_line(tmp_path, capsys):
    meta, arrays = fixture("sinabs_conv")
    x = tmp_path / "x.npz"
    np.savez(x, input=arrays["input"])
    y = tmp_path / "y.npz"
    code = main(["run", str(DATA / "sinabs_conv.nir"), "--source", "sinabs", "--input", str(x),
                 "-o", str(y), "--record", "1.v"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "source sinabs, exact, reset subtract" in out
    with np.load(y) as z:
        np.testing.assert_array_equal(z["output"], arrays["output"])
        np.testing.assert_allclose(z["1.v"], arrays["v.1"], rtol=0, atol=TOL)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--source", "rockpool", "--reset", "zero"], "Rockpool 3.1 has no `zero` reset"),
        (["--source", "sinabs", "--integrator", "euler"], "Sinabs 3.1 integrates with `exact`"),
    ],
)
def test_run_refuses_what_the_framework_does_not_do(argv, message, capsys):
    case = "rockpool_lif" if "rockpool" in argv else "sinabs_iaf"
    code = main(["run", str(DATA / f"{case}.nir"), "--input", "random:T=5", *argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_opt_source_reaches_discretize(capsys):
    path = str(DATA / "snntorch_rleaky_zero.nir")
    assert main(["opt", path, "--source", "snntorch", "-p", "discretize{reset=zero}"]) == 0
    out = capsys.readouterr().out
    assert 'source = "snntorch"' in out and 'reset = "zero_refractory"' in out
    assert 'snn.dense "rlif.w_rec"(%rlif.lif.delay' in out
    code = main(["opt", path, "--source", "norse", "-p", "discretize{source=sinabs}"])
    assert code == 2
    assert "two source profiles given" in capsys.readouterr().err


def test_profile_through_fold_and_fuse_is_exact(capsys):
    """Every later pass sees the profile: the fused network computes the same."""
    path = str(DATA / "snntorch_rsynaptic_zero.nir")
    code = main(["opt", path, "--source", "snntorch", "-p", "discretize{reset=zero},fold-weights,"
                 "fuse", "--check-equivalence", "--seeds", "2", "--steps", "100"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "agreement: 1.0" in err


def test_options_resolution():
    assert resolve_options("snntorch", None, None)[1:] == ("euler", "subtract")
    assert resolve_options("nir", None, None)[1:] == ("euler", "zero")
    assert resolve_options(None, "exact", "subtract")[1:] == ("exact", "subtract")
    assert resolve_options("rockpool", None, None)[1:] == ("exact", "subtract")
    with pytest.raises(NircError, match="unknown source profile"):
        get_profile("lava")
    assert set(PROFILES) == {"nir", "snntorch", "norse", "sinabs", "rockpool"}


def test_v_pre_is_the_membrane_before_the_reset():
    _, arrays = fixture("sinabs_iaf")
    out = simulate(DATA / "sinabs_iaf.nir", arrays["input"], source="sinabs",
                   record=["1", "1.v", "1.v_pre"])  # fmt: skip
    n = out["1"]
    assert n.max() > 1  # several spikes in a step: v_pre - v is n thresholds
    thr = np.asarray(read(DATA / "sinabs_iaf.nir").nodes["1"].params["v_threshold"])
    np.testing.assert_allclose(out["1.v_pre"] - n * thr, out["1.v"], rtol=0, atol=1e-12)


def test_exporter_shapes_are_repaired_with_warnings():
    """Rockpool's Input [1, 4] / Output [1, 1, n] and Norse's 0-d parameters
    load with a repair (and are refused under --strict)."""
    from nirc.load import load_graph

    with collecting() as sink:
        _, shapes = load_graph(DATA / "rockpool_lif.nir")
    assert shapes["input"] == (4,) and shapes["output"] == (3,)
    assert any("batch axis" in w.message for w in sink.warnings)
    with collecting() as sink:
        graph, _ = load_graph(DATA / "norse_lifcell_defaults.nir")
    assert graph.nodes["1"].params["tau_mem"].shape == (3,)
    assert any("scalar (0-d) parameters" in w.message for w in sink.warnings)
    for case in ("rockpool_lif", "norse_lifcell_defaults"):
        with collecting(strict=True), pytest.raises(NircError, match="refused under --strict"):
            load_graph(DATA / f"{case}.nir")


def _speck_vs_sinabs(case: str, source: str) -> tuple[float, float, dict]:
    """Compile for Speck with a profile, run the chip simulation on the
    fixture's input: (exact, within +-1) agreement with Sinabs' own counts."""
    from nirc.targets import compile as compile_for

    _, arrays = fixture(case)
    with collecting():
        result = compile_for(DATA / f"{case}.nir", target="speck", source=source)
    from nirc.targets import get_target

    chip = get_target("speck").simulate(result, {"input": arrays["input"]})["output"]
    ref = arrays["output"]
    return float(np.mean(chip == ref)), float(np.mean(np.abs(chip - ref) <= 1)), result.report


def test_sinabs_cnn_compiled_for_speck_keeps_its_profile():
    """A subtractive, multi-spike Sinabs CNN on Speck (a multi-spike,
    subtractive chip): the profile survives lowering and the chip agrees with
    Sinabs within one spike everywhere (docs/profiles.md has the figures);
    the plain reading (single spikes, reset to zero) does not."""
    from nirc.targets import TARGETS

    if "speck" not in TARGETS:
        pytest.skip("the Speck target is not registered")
    exact, within1, report = _speck_vs_sinabs("sinabs_conv", "sinabs")
    options = report["options"]
    assert (options["source"], options["reset"], options["spike_mode"]) == (
        "sinabs",
        "subtract",
        "multi",
    )
    assert report["agreement"]["calibration"]["agreement"] == 1.0
    assert within1 == 1.0 and exact >= 0.95
    plain_exact, plain_within1, plain = _speck_vs_sinabs("sinabs_conv", "nir")
    assert plain["options"]["spike_mode"] == "single"
    assert plain_within1 < within1 and plain_exact < exact
