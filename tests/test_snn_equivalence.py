"""The `snn` level computes what the `nir` level computes.

- `discretize`: the `snn` interpreter on the discretized module gives results
  bit-identical to the `nir` interpreter (outputs and recorded states) on every
  corpus graph, both integrators and both reset modes.
- `fold-weights` reassociates float products (``(W x) g`` -> ``(W g) x``): on the
  corpus the spikes stay identical (checked here), real-valued outputs agree to
  1e-12 relative.
- `fuse` and `inline-subgraphs` are exact: identical results.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CORPUS, corpus_files

import nirc
from nirc.context import make_context
from nirc.diagnostics import collecting
from nirc.interpreter import Simulation, prepare
from nirc.interpreter.io import RandomSpec, random_inputs
from nirc.interpreter.snn import build_plan, discretized, load_module

PRIMITIVES = corpus_files("nir-1.0.8")
PUBLIC = [
    p for p in corpus_files("public") if p.values[0] is None or "broken" not in p.values[0].name
]
MODES = [("euler", "zero"), ("euler", "subtract"), ("exact", "zero"), ("exact", "subtract")]


def _dt(path) -> float | None:
    name = path.name
    if name == "nested_recurrent.nir":
        return None  # from the graph's metadata
    if "cnn" in name:
        return 1.0
    return 1e-4 if "paper" in name or "braille" in name else 1e-3


def _inputs(plan, path, steps: int, seed: int):
    """Spikes that make every corpus graph spike: the small primitive graphs get
    inputs scaled up (their weights and gains are O(1) at dt = 1e-4)."""
    x = random_inputs(plan.inputs, RandomSpec(p=0.3, T=steps, B=2, seed=seed))
    scale = 1.0 if ("braille" in path.name or "cnn" in path.name) else 100.0
    return {k: v * scale for k, v in x.items()}


def _neuron_probes(plan) -> list[str]:
    out = []
    for name, node in plan.nodes.items():
        if node.type in ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"):
            out.append(f"{name}.v")
            if node.type.startswith("Cuba"):
                out.append(f"{name}.i")
    return out


def _pipeline(module, spec: str):
    from nirc.opt import build_pipeline

    build_pipeline(spec).apply(make_context(), module)
    module.verify()
    return module


@pytest.mark.parametrize("integrator,reset", MODES)
@pytest.mark.parametrize("path", PRIMITIVES + PUBLIC)
def test_discretize_is_bit_identical(path, integrator, reset):
    steps = 60 if "cnn" in path.name else 150
    with collecting():
        ref = prepare(path, dt=_dt(path), integrator=integrator, reset=reset)
        probes = _neuron_probes(ref.plan)
        ref = prepare(path, dt=_dt(path), integrator=integrator, reset=reset, record=probes)
        snn = prepare(
            path, dt=_dt(path), integrator=integrator, reset=reset, record=probes, level="snn"
        )
    x = _inputs(ref.plan, path, steps, seed=3)
    a, b = ref.run(x), snn.run(x)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=f"{path.name}: {k}")


@pytest.mark.parametrize("integrator,reset", MODES)
@pytest.mark.parametrize("path", PRIMITIVES + PUBLIC)
def test_fold_weights_and_fuse_keep_spikes(path, integrator, reset):
    steps = 60 if "cnn" in path.name else 150
    with collecting():
        ref = prepare(path, dt=_dt(path), integrator=integrator, reset=reset)
        module = discretized(load_module(path), dt=_dt(path), integrator=integrator, reset=reset)
    folded = _pipeline(module.clone(), "fold-weights")
    fused = _pipeline(folded.clone(), "fuse,canonicalize,dce")
    x = _inputs(ref.plan, path, steps, seed=4)
    a = ref.run(x)
    b = Simulation(build_plan(folded)).run(x)
    c = Simulation(build_plan(fused)).run(x)
    for k in a:
        spikes = np.all((a[k] == 0) | (a[k] == 1))
        if spikes:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{path.name}: {k}")
        else:
            np.testing.assert_allclose(b[k], a[k], rtol=1e-12, atol=1e-12 * np.abs(a[k]).max())
        np.testing.assert_array_equal(b[k], c[k], err_msg=f"fuse changed {path.name}: {k}")


def test_corpus_graphs_actually_spike(corpus):
    """The inputs above exercise the spike path of every spiking corpus graph."""
    for path in sorted((corpus / "nir-1.0.8").glob("*.nir")):
        g = nirc.read(path)
        if not any(n.type in ("IF", "LIF", "CubaLIF", "Threshold") for _, n in nirc.graph.walk(g)):
            continue
        with collecting():
            sim = prepare(path, dt=_dt(path))
        out = sim.run(_inputs(sim.plan, path, 150, seed=3))
        assert sum(float(v.sum()) for v in out.values()) > 0, path.name


def test_inline_subgraphs_is_exact(corpus):
    path = corpus / "nir-1.0.8" / "nested_recurrent.nir"
    module = load_module(path)
    flat = _pipeline(module.clone(), "inline-subgraphs")
    assert "rnn.lif" in [
        op.properties["name"].data
        for op in next(iter(flat.ops)).block.ops
        if "name" in op.properties
    ]
    with collecting():
        a = prepare(module, record=["rnn.lif.v"])
        b = prepare(flat, record=["rnn.lif.v"])
    x = _inputs(a.plan, path, 200, seed=1)
    ra, rb = a.run(x), b.run(x)
    for k in ra:
        np.testing.assert_array_equal(ra[k], rb[k])


def test_paper_lif_at_the_snn_level(corpus):
    """The NIR paper's LIF spikes at 460, 510, 710, 760 at the snn level too."""
    x = np.loadtxt(corpus / "paper-lif" / "lif_exact.csv", delimiter=",")[:, :1]
    out = nirc.simulate(corpus / "public" / "paper_lif_norse.nir", {"input": x}, dt=1e-4,
                        level="snn")  # fmt: skip
    assert np.nonzero(out["output"][:, 0])[0].tolist() == [460, 510, 710, 760]


def test_step_mode_equals_fast_mode_for_fused_snn(corpus):
    path = corpus / "public" / "paper_braille_bias_zero.nir"
    module = discretized(load_module(path), dt=1e-4, reset="subtract")
    _pipeline(module, "fold-weights,fuse")
    sim = Simulation(build_plan(module, record=["lif1.lif.v", "lif1.lif.i"]))
    x = random_inputs(sim.plan.inputs, RandomSpec(p=0.2, T=120, B=3, seed=2))
    a = sim.run(x)
    b = sim.run(x, mode="step")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert a["output"].sum() > 0


def test_corpus_present_or_skipped():
    # the parametrized tests above skip with a message when the corpus is absent
    assert CORPUS.name == "corpus"
