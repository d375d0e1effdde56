"""Xylo aliases: a hidden neuron whose fan-out exceeds the variant's limit keeps
its first targets and hands the rest to a chain of alias neurons, which count
its spikes in the same step (lower.split_fan_out). The compiled network must
compute what the same network computes without a fan-out limit, and match
xylosim."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from test_xylo_compile import affine, cuba, network

from nirc.diagnostics import NircError
from nirc.graph import Graph, Node
from nirc.targets import compile as compile_for
from nirc.targets import get_target
from nirc.targets.xylo import VARIANTS, XyloSimulator, XyloSpecification
from nirc.targets.xylo.dialect import read_network

FAST = {"calib_steps": 40, "calib_batch": 1}


def _events(seed: int, n_t: int, n_in: int, batch: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n_t, batch, n_in)) < 0.2) * rng.integers(1, 3, (n_t, batch, n_in))


def _rows_targets(sp: XyloSpecification) -> np.ndarray:
    return np.count_nonzero(np.any(sp.weights_rec != 0, axis=2), axis=1)


@pytest.fixture(scope="module")
def two_layer(tmp_path_factory):
    """16 -> 100 -> 100 -> 8: every lif0 neuron feeds 100 > 64 lif1 neurons."""
    g = network(16, [100, 100, 8])
    out = tmp_path_factory.mktemp("alias")
    with_aliases = compile_for(g, "xylo", out=out, **FAST)
    unlimited = compile_for(g, "xylo", variant="audio3", **FAST)  # fan-out limit 1024
    return with_aliases, unlimited, out


def test_fan_out_is_split_onto_alias_neurons(two_layer):
    r, wide, out = two_layer
    xn = read_network(r.module)
    sp = xn.specification
    assert xn.hidden_layers == [("lif0", 100), ("lif0.alias", 100), ("lif1", 100)]
    sp.validate(VARIANTS["audio2"])
    fan = _rows_targets(sp)
    # the split is made on the float weights (64 + 36); a few round to 0 in int8
    assert fan.max() == 64 and (fan[:100] <= 64).all() and (fan[100:200] <= 36).all()
    assert fan[:100].min() > 36 and fan[100:200].min() > 0
    # one alias per lif0 neuron, right after lif0 (climbing indices), none elsewhere
    assert sp.aliases == [[100 + i] for i in range(100)] + [[] for _ in range(200)]
    # alias neurons receive nothing and can never reach their threshold on their own
    assert not sp.weights_in[:, 100:200].any() and not sp.weights_rec[:, 100:200].any()
    assert not sp.bias[100:200].any() and (sp.threshold[100:200] == 32767).all()
    assert not sp.weights_out[100:200].any()
    # source row + alias row hold exactly the weights of the unlimited network's row
    wsp = read_network(wide.module).specification
    assert (
        r.report["quantization"]["target_threshold"]
        == wide.report["quantization"]["target_threshold"]
    )
    merged = sp.weights_rec[:100, 200:] + sp.weights_rec[100:200, 200:]
    np.testing.assert_array_equal(merged, wsp.weights_rec[:100, 100:])
    assert not (
        sp.weights_rec[:100, 200:].astype(bool) & sp.weights_rec[100:200, 200:].astype(bool)
    ).any()
    # the report counts them
    res = r.report["resources"]
    assert res["alias_neurons"] == {"used": 100, "layers": {"lif0": 100}}
    assert res["max_fan_out"] == {"used": 64, "limit": 64}
    assert wide.report["resources"]["alias_neurons"]["used"] == 0
    assert "alias neurons: 100, 100 for lif0" in (out / "report.txt").read_text()
    assert "(100 alias neurons)" in r.summary[0]
    assert (
        json.loads((out / "report.json").read_text())["resources"]["alias_neurons"]["used"] == 100
    )
    # spec.npz: Rockpool's aliases as the -1-padded int32 table, read back as lists
    z = np.load(out / "spec.npz")
    assert z["aliases"].dtype == np.int32 and z["aliases"].shape == (300, 1)
    assert (z["aliases"][:100, 0] == np.arange(100, 200)).all() and (z["aliases"][100:] == -1).all()
    assert XyloSpecification.from_npz(out / "spec.npz").aliases == sp.aliases
    # the model.mlir carries them too
    again = get_target("xylo").load(out / "model.mlir")
    assert read_network(again).specification.aliases == sp.aliases


def test_aliased_network_computes_the_unlimited_one(two_layer):
    r, wide, _ = two_layer
    x = {"in": _events(3, 150, 16)}
    target = get_target("xylo")
    a = target.simulate(r.module, x, probes=True)
    b = target.simulate(wide.module, x, probes=True)
    assert a["lif1.spikes"].sum() > 0 and a["out"].sum() > 0
    np.testing.assert_array_equal(a["out"], b["out"])
    for layer in ("lif0", "lif1"):
        for state in ("spikes", "vmem", "isyn"):
            np.testing.assert_array_equal(a[f"{layer}.{state}"], b[f"{layer}.{state}"])
    # an alias spikes exactly when (and as often as) its source does, never on its own
    np.testing.assert_array_equal(a["lif0.alias.spikes"], a["lif0.spikes"])
    assert not a["lif0.alias.vmem"].any()


def test_aliased_network_matches_xylosim(two_layer):
    pytest.importorskip("xylosim", reason="xylosim is not installed")
    from test_xylo_sim import XylosimReference, assert_identical

    sp = read_network(two_layer[0].module).specification
    events = _events(4, 150, 16, batch=1)[:, 0].astype(np.int64)
    got = XyloSimulator(sp).run(events, record=True)
    assert got["spikes_hidden"][:, 100:200].sum() > 0
    assert_identical(XylosimReference(sp).run(events), got)


def test_alias_chains_climb_and_equal_the_unlimited_network(monkeypatch):
    # lif0 feeds 200 lif1 neurons: 200 = 64 + 64 + 64 + 8, three aliases in a chain each
    wide = dataclasses.replace(VARIANTS["audio2"], name="wide", max_fan_out=1024)
    monkeypatch.setitem(VARIANTS, "wide", wide)
    g = network(16, [20, 200, 8])
    r = compile_for(g, "xylo", **FAST)
    w = compile_for(g, "xylo", variant="wide", **FAST)
    sp = read_network(r.module).specification
    assert read_network(r.module).hidden_layers == [("lif0", 20), ("lif0.alias", 60), ("lif1", 200)]
    assert r.report["resources"]["alias_neurons"]["used"] == 60
    fan = _rows_targets(sp)
    assert fan.max() == 64 and (fan[:20] <= 64).all()
    wfan = _rows_targets(read_network(w.module).specification)
    for i in range(20):
        chain, k = [i], i
        while sp.aliases[k]:
            k = sp.aliases[k][0]
            chain.append(k)
        assert len(chain) == 4 and chain == sorted(chain), chain  # xylosim passes counts up only
        assert fan[chain].sum() == wfan[i] and fan[chain[-1]] <= 8
    x = {"in": _events(5, 120, 16)}
    a = get_target("xylo").simulate(r.module, x, probes=True)
    b = get_target("xylo").simulate(w.module, x, probes=True)
    assert a["lif1.spikes"].sum() > 0
    np.testing.assert_array_equal(a["out"], b["out"])
    np.testing.assert_array_equal(a["lif1.spikes"], b["lif1.spikes"])
    pytest.importorskip("xylosim", reason="xylosim is not installed")
    from test_xylo_sim import XylosimReference, assert_identical

    ev = x["in"][:, 0].astype(np.int64)
    assert_identical(XylosimReference(sp).run(ev), XyloSimulator(sp).run(ev, record=True))


def test_alias_blocks_keep_the_input_and_output_windows(monkeypatch):
    # a windowed variant with a small fan-out limit: two input-fed layers A (60), B (50)
    # feed C (100). Aliases right after A would push B out of the first 128; aliases at
    # the end would push C out of the last 128.
    tight = dataclasses.replace(VARIANTS["audio3"], name="tight", max_fan_out=40)
    monkeypatch.setitem(VARIANTS, "tight", tight)
    nodes = [Node("in", "Input", {"shape": np.array([8])}), affine("fa", 60, 8),
             cuba("A", 60), affine("fb", 50, 8), cuba("B", 50), affine("fca", 100, 60, 0.2),
             affine("fcb", 100, 50, 0.2), cuba("C", 100), affine("fo", 8, 100, 0.3),
             cuba("O", 8), Node("out", "Output", {"shape": np.array([8])})]  # fmt: skip
    edges = [("in", "fa"), ("fa", "A"), ("in", "fb"), ("fb", "B"), ("A", "fca"),
             ("B", "fcb"), ("fca", "C"), ("fcb", "C"), ("C", "fo"), ("fo", "O"),
             ("O", "out")]  # fmt: skip
    g = Graph({n.name: n for n in nodes}, edges, {"dt": 1e-3})
    r = compile_for(g, "xylo", variant="tight", **FAST)
    xn = read_network(r.module)
    assert xn.hidden_layers == [("A", 60), ("B", 50), ("A.alias", 120), ("B.alias", 100),
                                ("C", 100)]  # fmt: skip
    sp = xn.specification
    sp.validate(tight)  # windows, fan-out 40, one alias per neuron
    assert np.flatnonzero(np.any(sp.weights_in != 0, axis=(0, 2))).max() < 128
    assert np.flatnonzero(np.any(sp.weights_out != 0, axis=1)).min() >= sp.n_hidden - 128
    assert _rows_targets(sp).max() == 40
    wide = dataclasses.replace(tight, name="tight-wide", max_fan_out=1024)
    monkeypatch.setitem(VARIANTS, "tight-wide", wide)
    w = compile_for(g, "xylo", variant="tight-wide", **FAST)
    x = {"in": _events(6, 100, 8)}
    a = get_target("xylo").simulate(r.module, x, probes=True)
    b = get_target("xylo").simulate(w.module, x, probes=True)
    assert a["C.spikes"].sum() > 0
    np.testing.assert_array_equal(a["C.spikes"], b["C.spikes"])
    np.testing.assert_array_equal(a["out"], b["out"])


def test_aliases_that_do_not_fit_are_refused():
    with pytest.raises(NircError) as e:
        compile_for(network(4, [300, 600, 3]), "xylo", **FAST)
    err = e.value
    assert err.where == "lif0 (hidden neuron 0)"
    assert "no room for alias neurons" in err.message
    assert (
        "at most 64 hidden targets" in err.expected and "2700 free hidden neurons" in err.expected
    )
    assert err.found == "600 targets; 100 free hidden neurons (900 of 1000 used)"
