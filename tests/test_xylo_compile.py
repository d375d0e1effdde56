"""The Xylo target: compile (mapping, rules, quantization, artifacts) and the
compiled networks against SynSense's xylosim, step for step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.targets import compile as compile_for
from nirc.targets import get_target
from nirc.targets.xylo.dialect import read_network
from nirc.targets.xylo.specification import KEYS, XyloSpecification

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "public"
BRAILLE = {
    "nobias_subtract": (CORPUS / "paper_braille_nobias_subtract.nir", "subtract"),
    "bias_zero": (CORPUS / "paper_braille_bias_zero.nir", "zero"),
}
RNG = np.random.default_rng(7)


def corpus(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus file {path} not found (../shared/corpus)")
    return path


def cuba(name: str, n: int, tau_mem=8e-3, tau_syn=4e-3, thr=1.0) -> Node:
    dt = 1e-3
    return Node(name, "CubaLIF", {
        "tau_mem": np.full(n, tau_mem), "tau_syn": np.full(n, tau_syn),
        "r": np.full(n, tau_mem / dt), "w_in": np.full(n, tau_syn / dt),
        "v_leak": np.zeros(n), "v_threshold": np.full(n, thr)})  # fmt: skip


def affine(name: str, n_out: int, n_in: int, scale=0.5) -> Node:
    w = (RNG.standard_normal((n_out, n_in)) * scale).astype(np.float32)
    return Node(name, "Affine", {"weight": w, "bias": np.zeros(n_out, np.float32)})


def network(n_in: int, sizes: list[int], rec: set[int] = frozenset(), out_rec=False,
            last: list[Node] = ()) -> Graph:  # fmt: skip
    """Input -> (Affine -> CubaLIF) per size -> Output; layers in ``rec`` get a
    recurrent Affine; ``out_rec`` makes the last layer recurrent."""
    nodes = [Node("in", "Input", {"shape": np.array([n_in])})]
    edges = []
    prev, width = "in", n_in
    for k, n in enumerate(sizes):
        nodes += [affine(f"fc{k}", n, width), cuba(f"lif{k}", n)]
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        if k in rec or (out_rec and k == len(sizes) - 1):
            nodes.append(affine(f"rec{k}", n, n, 0.1))
            edges += [(f"lif{k}", f"rec{k}"), (f"rec{k}", f"lif{k}")]
        prev, width = f"lif{k}", n
    for node in last:
        nodes.append(node)
        edges.append((prev, node.name))
        prev = node.name
    nodes.append(Node("out", "Output", {"shape": np.array([width])}))
    edges.append((prev, "out"))
    return Graph({n.name: n for n in nodes}, edges, {"dt": 1e-3})


LI = Node("li", "LI", {"tau": np.full(3, 8e-3), "r": np.full(3, 8.0), "v_leak": np.zeros(3)})
FAST = {"calib_steps": 40, "calib_batch": 1}


def test_multi_layer_mapping_blocks_and_artifacts(tmp_path):
    g = network(6, [10, 12, 5], rec={0, 1})
    r = compile_for(g, "xylo", out=tmp_path / "out", relays=True, **FAST)
    xn = read_network(r.module)
    sp = xn.specification
    # recurrent layers with the current of the previous step get relays (one step later)
    assert (sp.n_in, sp.n_hidden, sp.n_out) == (6, 44, 5)
    assert xn.hidden_layers == [("lif0", 10), ("lif1", 12), ("lif0.relay", 10),
                                ("lif1.relay", 12)]  # fmt: skip
    assert xn.output_layers == ["lif2"]
    # block structure: inputs only into lif0, lif0 -> lif1 off-diagonal, no weights back
    assert not sp.weights_in[:, 10:].any() and sp.weights_in[:, :10].any()
    assert sp.weights_rec[:10, 10:22].any() and not sp.weights_rec[10:22, :10].any()
    assert not sp.weights_out[:10].any() and sp.weights_out[10:22].any()
    # recurrent weights leave from the relays, which each source neuron drives one to one
    assert not sp.weights_rec[:10, :10].any() and sp.weights_rec[22:32, :10].any()
    assert sp.weights_rec[32:44, 10:22].any()
    assert (np.diagonal(sp.weights_rec[:22, 22:44, 0]) == 8).all()
    assert (np.diagonal(sp.weights_rec[22:44, 22:44, 1]) == -4).all()
    # without relays (the default), the recurrent weights sit on the diagonal blocks
    r2 = compile_for(g, "xylo", **FAST)
    sp2 = read_network(r2.module).specification
    assert sp2.n_hidden == 22 and sp2.weights_rec[:10, :10].any()
    assert sp2.weights_rec[10:, 10:].any()
    # dashes: tau/dt = 8 and 4 are exact powers of two
    assert set(sp.dash_mem[:22]) == {3} and set(sp.dash_syn[:22]) == {2}
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["model.mlir", "report.json", "report.txt", "spec.npz"]
    z = np.load(tmp_path / "out" / "spec.npz")
    assert set(z.files) == set(KEYS) - {"aliases"}
    assert z["weights_in"].shape == (6, 44, 2) and z["weights_in"].dtype == np.int8
    assert z["threshold"].dtype == np.int16 and z["dash_mem"].dtype == np.uint8
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["resources"]["hidden_neurons"] == {"used": 44, "limit": 1000}
    assert {e["layer"] for e in report["layer_errors"]} == {"lif0", "lif1", "lif2"}
    # the .mlir parses back to the same network, and runs the same
    target = get_target("xylo")
    again = target.load(tmp_path / "out" / "model.mlir")
    x = {"in": (RNG.random((50, 2, 6)) < 0.3)}
    a, b = target.simulate(r.module, x), target.simulate(again, x)
    np.testing.assert_array_equal(a["out"], b["out"])
    assert a["out"].shape == (50, 2, 5)
    probes = target.simulate(r.module, x, probes=True)
    assert probes["lif1.vmem"].shape == (50, 2, 12)


def test_compile_is_deterministic():
    g = network(4, [8, 3], rec={0})
    a = compile_for(g, "xylo", **FAST).artifacts
    b = compile_for(g, "xylo", **FAST).artifacts
    assert a == b


def test_input_counts_above_what_xylo_delivers_are_warned(tmp_path):
    """Xylo delivers at most 15 events per input channel and step: inputs
    with more are clipped on the chip, not in the float network. The compile
    says so with the figures of its calibration inputs (and of the data nirc
    eval passes as max_input_events), a run of the chip for its inputs;
    counts within the limit say nothing."""
    from nirc import diagnostics

    g = network(4, [8, 3], rec={0})
    rng = np.random.default_rng(3)
    x = rng.integers(0, 16, (40, 2, 4))
    x[5, 1, 2] = 40
    np.savez(tmp_path / "calib.npz", **{"in": x})

    def warnings(**kw) -> list[str]:
        with diagnostics.collecting() as sink:
            r = compile_for(g, "xylo", calibrate=str(tmp_path / "calib.npz"), **kw)
        return [w.message for w in sink.warnings if "per channel and step" in w.message], r

    (text,), r = warnings()
    assert "the calibration inputs at `in` (1 of 320 counts, up to 40)" in text
    (text,), _ = warnings(max_input_events=99)
    assert "the evaluated data (up to 99)" in text
    with diagnostics.collecting() as sink:
        get_target("xylo").simulate(r.module, {"in": x})
    assert [w for w in sink.warnings if "Xylo delivers 15 of each" in w.message]
    with diagnostics.collecting() as sink:
        get_target("xylo").simulate(r.module, {"in": np.minimum(x, 15)})
    assert not [w for w in sink.warnings if "per channel and step" in w.message]
    np.savez(tmp_path / "calib.npz", **{"in": np.minimum(x, 15)})
    assert warnings(max_input_events=15)[0] == []


def _rule(graph, **kw) -> NircError:
    with pytest.raises(NircError) as e:
        compile_for(graph, "xylo", **FAST, **kw)
    return e.value


@pytest.mark.parametrize(
    "make, kw, where, words",
    [
        (lambda: network(20, [4, 3]), {}, "in [20]", "at most 16 input channels"),
        (lambda: network(4, [497, 3]), {"variant": "imu"}, "lif0 (497)", "at most 496 hidden"),
        (lambda: network(4, [5, 9]), {}, "lif1 (9)", "at most 8 output"),
        # 300 x 9 alias neurons would be needed for lif0's fan-out of 600, 100 are free
        (lambda: network(4, [300, 600, 3]), {}, "lif0 (hidden neuron",
         "at most 64 hidden targets"),
        (lambda: network(4, [130, 3]), {"variant": "audio3"}, "lif0 (hidden neuron 129)",
         "0..127"),
        (lambda: network(4, [100, 200, 3]), {"variant": "audio3"}, "lif1 (hidden neuron 100)",
         "last 128"),
        (lambda: network(4, [3]), {}, "lif0", "fed by Input"),
        (lambda: network(4, [5, 3], out_rec=True), {}, "lif1", "non-recurrent"),
        (lambda: network(4, [5, 3], last=[LI]), {}, "li", "receive only from weights"),
        (lambda: network(4, [5], last=[affine("fc", 3, 5), LI]), {}, "li", "LIF, CubaLIF or IF"),
    ],
    ids=["inputs", "hidden", "outputs", "fan-out", "input-window", "output-window",
         "output-from-input", "recurrent-output", "neuron-without-weights", "non-spiking"],
)  # fmt: skip
def test_rule_diagnostics_name_node_and_limit(make, kw, where, words):
    e = _rule(make(), **kw)
    text = e.render()
    assert where in (e.where or ""), text
    assert words in text, text


def test_tau_not_above_dt_is_refused():
    g = network(4, [5, 3])
    g.nodes["lif0"] = cuba("lif0", 5, tau_mem=8e-3, tau_syn=0.9e-3)
    g.nodes["lif0"].params["w_in"] = np.full(5, 0.9)
    e = _rule(g)
    assert "lif0" in (e.where or "") and "tau > dt" in e.render()


def test_approximations_are_reported():
    g = network(4, [5, 3])
    g.nodes["lif0"] = cuba("lif0", 5, tau_mem=6e-3)  # tau/dt = 6: dash 3 is 1 - 1/8, not 5/6
    r = compile_for(g, "xylo", **FAST)
    notes = r.report["approximations"]
    assert any("lif0: membrane decay" in n for n in notes), notes


def test_relays_need_a_second_synapse():
    with pytest.raises(NircError, match="second synapse"):
        compile_for(network(4, [5, 3], rec={0}), "xylo", variant="imu", relays=True, **FAST)


def test_relay_repeats_spike_counts_one_step_later():
    g = network(6, [10, 5], rec={0})
    r = compile_for(g, "xylo", relays=True, **FAST)
    x = {"in": (RNG.random((200, 1, 6)) < 0.5) * 15}
    y = get_target("xylo").simulate(r.module, x, probes=True)
    a, b = y["lif0.spikes"][:, 0], y["lif0.relay.spikes"][:, 0]
    assert a.sum() > 0
    np.testing.assert_array_equal(b[1:], a[:-1])


def test_variant_is_checked():
    with pytest.raises(NircError, match="unknown Xylo variant"):
        compile_for(network(4, [5, 3]), "xylo", variant="audio9", **FAST)


# -- the Braille models ----------------------------------------------------------------


@pytest.fixture(scope="module", params=list(BRAILLE))
def braille(request):
    path, reset = BRAILLE[request.param]
    return compile_for(str(corpus(path)), "xylo", dt=1e-4, reset=reset, check_steps=300,
                       calib_rate=0.1)  # fmt: skip


def test_braille_compiles_and_reports_agreement(braille):
    r = braille.report
    assert r["resources"]["hidden_neurons"]["used"] in (38, 40)
    assert r["resources"]["output_neurons"]["used"] == 7
    ag = r["agreement"]
    print(f"\n{r['model']}: calibration {ag['calibration']['agreement']:.3f} "
          f"(max-abs {ag['calibration']['max_abs_agreement']:.3f}), fresh T=300 p=0.1 "
          f"{ag['check']['agreement']:.3f} (max-abs {ag['check']['max_abs_agreement']:.3f})")  # fmt: skip
    qd = r["quantization"]
    assert qd["mean_count_error"] <= qd["max_abs_baseline"]["mean_count_error"]


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_braille_matches_xylosim_step_for_step(braille, seed):
    pytest.importorskip("xylosim", reason="xylosim is not installed")
    from test_xylo_sim import XylosimReference, assert_identical

    from nirc.targets.xylo import XyloSimulator

    sp: XyloSpecification = read_network(braille.module).specification
    rng = np.random.default_rng(seed)
    if seed == 0:  # like the random test inputs
        events = (rng.random((300, sp.n_in)) < 0.1).astype(np.int64)
    else:  # dense bursts up to the 15-event cap and beyond: saturation, multi-spikes
        events = rng.integers(0, 20, (300, sp.n_in)) * (rng.random((300, sp.n_in)) < 0.3)
    ref = XylosimReference(sp).run(events)
    got = XyloSimulator(sp).run(events, record=True)
    assert_identical(ref, got)
    assert np.any(got["vmem"]) and np.any(got["isyn"])
    if seed == 0:
        assert got["spikes_hidden"].sum() > 0 and got["spikes_out"].sum() > 0


def test_cli_compile_and_run(tmp_path, capsys):
    from nirc.cli import main

    g = network(4, [6, 3], rec={0})
    from nirc.nirfile import write

    model = tmp_path / "m.nir"
    write(model, g)
    out = tmp_path / "out"
    assert main(["compile", str(model), "--target", "xylo", "--variant", "audio3",
                 "--calib-steps", "30", "-o", str(out)]) == 0  # fmt: skip
    assert json.loads((out / "report.json").read_text())["options"]["variant"] == "audio3"
    x = tmp_path / "x.npz"
    np.savez(x, **{"in": (RNG.random((40, 4)) < 0.3).astype(np.float32)})
    for src in (model, out / "model.mlir"):
        y = tmp_path / "y.npz"
        assert main(["run", str(src), "--target", "xylo", "--input", str(x), "-o", str(y)]) == 0
        assert np.load(y)["out"].shape == (40, 3)
    assert "bit-accurate" in capsys.readouterr().out
    y = tmp_path / "y.npz"
    assert main(["run", str(out / "model.mlir"), "--target", "xylo", "--input", str(x),
                 "--record", "lif0.vmem", "-o", str(y)]) == 0  # fmt: skip
    z = np.load(y)
    assert sorted(z.files) == ["lif0.vmem", "out"] and z["lif0.vmem"].shape == (40, 6)
    with pytest.raises(NircError, match="names no hidden layer"):
        get_target("xylo").simulate(read_network_module(out), {"in": np.zeros((5, 1, 4))},
                                    record="nope")  # fmt: skip


def read_network_module(out: Path):
    return get_target("xylo").load(out / "model.mlir")


def test_lif_and_if_map_with_stated_approximations():
    n = 5
    lif = Node("lif", "LIF", {"tau": np.full(n, 8e-3), "r": np.full(n, 8.0),
                              "v_leak": np.zeros(n), "v_threshold": np.full(n, 1.0)})  # fmt: skip
    if_ = Node("if", "IF", {"r": np.full(3, 1e3), "v_threshold": np.full(3, 1.0)})
    nodes = [Node("in", "Input", {"shape": np.array([4])}), affine("fc0", n, 4), lif,
             affine("fc1", 3, n), if_, Node("out", "Output", {"shape": np.array([3])})]  # fmt: skip
    names = [x.name for x in nodes]
    g = Graph({x.name: x for x in nodes}, list(zip(names[:-1], names[1:])), {"dt": 1e-3})
    r = compile_for(g, "xylo", **FAST)
    notes = " ".join(r.report["approximations"])
    assert "lif: no synaptic stage" in notes and "if: no membrane leak (IF)" in notes
    sp = read_network(r.module).specification
    assert sp.dash_mem[0] == 3 and sp.dash_syn[0] == 1 and sp.dash_mem_out[0] == 15
