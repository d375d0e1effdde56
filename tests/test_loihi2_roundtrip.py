"""Round trips through Intel's lava: models compiled by nirc, run by lava.

tests/loihi2/make_lava_fixtures.py compiled each model with ``nirc compile
--target loihi2``, ran the emitted ``run_lava.py`` in lava (lava-nc 0.10,
lava-dl 0.6, ``Loihi2SimCfg(select_tag='fixed_pt')``) on ``inputs.npz`` and
kept lava's ``lava_outputs.npz`` with the compiled ``model.net`` and
``model.mlir``. ``nirc run --target loihi2`` on either file must give lava's
outputs exactly: the paper's LIF neuron, the Rockpool KWS network (graded
input spikes; as compiled before the replica constructions), the Sinabs
digits CNN (pools folded into convs), a conv network with both pool
foldings, a recurrent (dense_rec) layer, and three small models built of
replicas (``counts``: Rockpool-style ladders and an integrator with
encoders; ``rsynaptic``: snnTorch-style recurrent integrators;
``integrator``: Sinabs-style counts of IF neurons).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nirc.targets import get_target

DATA = Path(__file__).resolve().parent / "data" / "loihi2"
CASES = sorted(p.name for p in DATA.glob("roundtrip_*"))


def test_round_trips_are_there():
    assert {"roundtrip_paper_lif", "roundtrip_kws", "roundtrip_digits", "roundtrip_conv",
            "roundtrip_recurrent", "roundtrip_counts", "roundtrip_rsynaptic",
            "roundtrip_integrator"} <= set(CASES)  # fmt: skip


def test_round_trips_cover_the_replica_constructions():
    """The small models compiled with replicas hold what the constructions
    write into netx: ladder replicas with relays, integrators with encoders
    (one step late, outputs selected), a recurrent one with a bias neuron."""
    from nirc.targets.loihi2.dialect import read_network

    target = get_target("loihi2")
    counts = read_network(target.load(DATA / "roundtrip_counts" / "model.mlir"))
    rsyn = read_network(target.load(DATA / "roundtrip_rsynaptic" / "model.mlir"))
    assert [layer.kind for layer in counts.layers] == ["dense_rec", "dense_rec"]
    assert counts.output_select is not None and counts.latency == 3
    hidden = counts.layers[0]
    assert np.any(hidden.bias == hidden.v_th - 1)  # relays
    assert rsyn.layers[0].weight_rec is not None and rsyn.layers[0].lag == 1


@pytest.mark.parametrize("case", CASES)
def test_nirc_computes_what_lava_computed(case):
    folder = DATA / case
    target = get_target("loihi2")
    lava = np.load(folder / "lava_outputs.npz")
    with np.load(folder / "inputs.npz") as data:
        inputs = {k: data[k] for k in data.files}
    compiled = target.load(folder / "model.mlir")
    got = target.simulate(compiled, inputs)
    assert set(got) == set(lava.files)
    for name in lava.files:
        np.testing.assert_array_equal(got[name], lava[name], err_msg=f"{case}: {name}")
    assert any(lava[name].any() for name in lava.files), "the fixture has no output activity"
    # the netx file alone (no IR) runs the same: its last layer's spikes, which
    # the IR selects (replicas) and aligns (lags) into the outputs
    from nirc.targets.loihi2.dialect import read_network
    from nirc.targets.loihi2.quantize import select_outputs

    net = read_network(compiled)
    lag = sum(layer.lag for layer in net.layers)
    x = next(iter(inputs.values()))
    x = np.concatenate([x, np.zeros((lag,) + x.shape[1:], x.dtype)])
    raw = target.simulate(target.load(folder / "model.net"), {"input": x})["output"][lag:]
    first = lava[lava.files[0]]
    got = select_outputs(raw.reshape(raw.shape[:2] + (-1,)), net.output_select)
    np.testing.assert_array_equal(got.reshape(first.shape), first)


def test_run_lava_script_matches_the_one_lava_ran():
    """The script nirc emits for these IR files is the one the fixtures ran
    (re-emitted from the IR: same bytes as at compile time)."""
    from nirc.targets.loihi2.dialect import read_network
    from nirc.targets.loihi2.run_lava import run_lava_script

    net = read_network(get_target("loihi2").load(DATA / "roundtrip_kws" / "model.mlir"))
    text = run_lava_script(net, "rockpool_lif_kws.nir")
    assert "INPUT_BITS = 8" in text and "LATENCY = 2" in text and "STREAM = True" in text
