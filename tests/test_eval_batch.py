"""Batched runs give the numbers of sample-by-sample runs, for the float
interpreter and for every chip simulator, and a Dask run the numbers of one
process: `nirc eval` vectorizes over samples and splits them over workers, and
neither may change a single spike."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from test_eval import small_data, tasks, two_layers  # the small network and data

from nirc.evaluation import evaluate
from nirc.interpreter import NircWarning, prepare
from nirc.targets import compile as compile_for
from nirc.targets import get_target
from nirc.targets.speck import SpeckSimulator
from nirc.targets.speck.dialect import read_chip
from nirc.targets.xylo.simulator import XyloSimulator
from nirc.targets.xylo.spec import AUDIO2
from nirc.targets.xylo.specification import XyloSpecification

pytestmark = pytest.mark.filterwarnings("ignore::nirc.interpreter.NircWarning")


def one_by_one(run, x: np.ndarray):
    """``run`` on each sample of ``x`` ``[T, B, ...]`` alone, stacked on axis 1."""
    outs = [run(x[:, b : b + 1]) for b in range(x.shape[1])]
    return {k: np.concatenate([o[k] for o in outs], axis=1) for k in outs[0]}


def test_float_batch_equals_samples_with_caps_and_bounds():
    """An snn network with a spike cap and a membrane bound (Sinabs-style
    multi-spike neurons): batched = one sample at a time, outputs and states."""
    t = tasks()
    x = np.moveaxis(np.load(t / "digits16_test.npz")["spikes"][:5], 1, 0)
    sim = prepare(t / "sinabs_cnn_digits.nir", source="sinabs:min_v_mem=-1,max_spikes=2",
                  record=["1.v", "4.v_pre"])  # fmt: skip
    batch = sim.run(x)
    alone = one_by_one(sim.run, x)
    assert batch.keys() == alone.keys()
    for k in batch:
        assert np.array_equal(batch[k], alone[k]), k
    assert batch["output"].max() <= 2


def test_speck_batch_equals_samples():
    t = tasks()
    x = np.moveaxis(np.load(t / "digits16_test.npz")["spikes"][:6], 1, 0)
    result = compile_for(t / "sinabs_cnn_digits.nir", target="speck", source="sinabs")
    speck = get_target("speck")
    batch = speck.simulate(result.module, {"input": x}, membranes=True)
    alone = one_by_one(lambda a: speck.simulate(result.module, {"input": a}, membranes=True), x)
    for k in batch:
        assert np.array_equal(batch[k], alone[k]), k
    # and the simulator's own batch axis against its single-sample form, all layers
    net = read_chip(result.module)
    sim = SpeckSimulator(net.layers, net.cores, spike_mode=net.spike_mode)
    many = sim.run({0: x.astype(np.int64)}, record=True)
    for b in range(x.shape[1]):
        one = sim.run({0: x[:, b].astype(np.int64)}, record=True)
        for i in range(len(net.layers)):
            assert np.array_equal(many["spikes"][i][:, b], one["spikes"][i])
            assert np.array_equal(many["membrane"][i][:, b], one["membrane"][i])


@pytest.mark.parametrize("seed", [0, 1])
def test_xylo_batch_equals_samples_with_saturation_and_aliases(seed, monkeypatch):
    """A random specification whose currents saturate and whose neurons have
    aliases: every state of every step, batch against samples."""
    saturating = []
    replay = XyloSimulator._batch_saturate

    def spy(self, *args):
        saturating.append(1)
        return replay(self, *args)

    monkeypatch.setattr(XyloSimulator, "_batch_saturate", spy)
    rng = np.random.default_rng(seed)
    sp = XyloSpecification.random(AUDIO2, 16, 40, 6, rng, in_density=0.8, rec_density=0.3,
                                  threshold_range=(1, 600), alias_fraction=0.2,
                                  weight_shifts=(6, 5, 4))  # fmt: skip
    x = rng.integers(0, 16, (40, 5, 16))
    sim = XyloSimulator(sp, jit=False)  # the numpy path's replay of the saturation order
    batch = sim.run_batch(x, record=True)
    for b in range(x.shape[1]):
        sim.reset()
        one = sim.run(x[:, b], record=True)
        for k in one:
            assert np.array_equal(batch[k][:, b], one[k]), k
    assert batch["spikes_hidden"].max() > 1  # multi-spike neurons were exercised
    assert saturating  # and the ordered replay of states that may saturate


def test_xylo_target_batch_equals_samples():
    t = tasks()
    x = np.moveaxis(np.load(t / "kws8_test.npz")["spikes"][:5], 1, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NircWarning)
        result = compile_for(t / "rockpool_lif_kws.nir", target="xylo", source="rockpool")
    xylo = get_target("xylo")
    batch = xylo.simulate(result.module, {"input": x}, probes=True, membranes=True)
    alone = one_by_one(
        lambda a: xylo.simulate(result.module, {"input": a}, probes=True, membranes=True), x
    )
    for k in batch:
        assert np.array_equal(batch[k], alone[k]), k


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="Dask is not installed (pip install 'nirc[dask]')")  # fmt: skip
def test_dask_workers_give_the_single_process_numbers():
    d = small_data(n=30)
    one = evaluate(two_layers(), d, "speck,xylo", chunk=8)
    many = evaluate(two_layers(), d, "speck,xylo", chunk=8, workers=2)
    assert many.workers == 2
    for a, b in [(one.reference, many.reference)] + [
        (one.runs[k], many.runs[k]) for k in one.runs
    ]:
        assert np.array_equal(a.scores, b.scores)
        assert np.array_equal(a.output_spikes, b.output_spikes)
