"""Xylo target: variant limits, the specification format and its checks, and the
bit-accurate simulator, cross-checked spike for spike and state for state
against SynSense's xylosim (skipped when xylosim is not installed)."""

from __future__ import annotations

import sys
import zipfile

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.interpreter import jit
from nirc.targets.xylo import VARIANTS, XyloSimulator, XyloSpecification, get_variant
from nirc.targets.xylo import simulator as xylo_simulator
from nirc.targets.xylo.simulator import HI, LO, _decay, saturating_sum

AUDIO2, AUDIO3, IMU = VARIANTS["audio2"], VARIANTS["audio3"], VARIANTS["imu"]
# both simulators: the numpy code and the compiled kernel (numba, the `fast` extra)
BOTH = [
    pytest.param(False, id="numpy"),
    pytest.param(
        True,
        id="compiled",
        marks=pytest.mark.skipif(not jit.ENABLED, reason="numba is not installed"),
    ),
]
STATE_KEYS = ("spikes_out", "spikes_hidden", "vmem", "isyn", "isyn2", "vmem_out", "isyn_out")


def small_spec(**changes) -> XyloSpecification:
    """A valid 3-input, 4-hidden, 2-output network for the format tests."""
    args = dict(
        weights_in=np.zeros((3, 4, 2), np.int8),
        weights_rec=np.zeros((4, 4, 2), np.int8),
        weights_out=np.zeros((4, 2), np.int8),
        dash_mem=np.full(4, 2),
        dash_mem_out=np.full(2, 2),
        dash_syn=np.full(4, 1),
        dash_syn_2=np.full(4, 3),
        dash_syn_out=np.full(2, 1),
        threshold=np.full(4, 100),
        threshold_out=np.full(2, 100),
        bias=np.zeros(4),
        bias_out=np.zeros(2),
    )
    args.update(changes)
    return XyloSpecification(**args)


def random_events(rng: np.random.Generator, n_t: int, n_in: int, p: float = 0.5, high: int = 20):
    return rng.integers(0, high, (n_t, n_in)) * (rng.random((n_t, n_in)) < p)


# -- variants ----------------------------------------------------------------------


def test_variant_limits_match_targets_md():
    assert (AUDIO2.part, AUDIO3.part, IMU.part) == ("syns61201", "syns65302", "syns63300")
    assert [v.hidden_neurons for v in (AUDIO2, AUDIO3, IMU)] == [1000, 992, 496]
    assert [v.output_neurons for v in (AUDIO2, AUDIO3, IMU)] == [8, 32, 16]
    assert [v.synapses_per_hidden for v in (AUDIO2, AUDIO3, IMU)] == [2, 2, 1]
    assert [v.max_fan_out for v in (AUDIO2, AUDIO3, IMU)] == [64, 1024, 512]
    assert [(v.input_window, v.output_window) for v in (AUDIO2, AUDIO3, IMU)] == [
        (None, None),
        (128, 128),
        (128, 128),
    ]
    for v in VARIANTS.values():
        assert v.input_channels == 16
        assert (v.weight_min, v.weight_max, v.state_min, v.state_max) == (-128, 127, LO, HI)
        assert (v.dash_max, v.max_input_events, v.max_hidden_spikes, v.max_output_spikes) == (
            15,
            15,
            31,
            1,
        )


def test_get_variant_by_name_and_part():
    assert get_variant("audio2") is AUDIO2
    assert get_variant("SYNS63300") is IMU
    with pytest.raises(NircError) as e:
        get_variant("audio4")
    text = str(e.value)
    assert (
        "audio2 (syns61201)" in text and "audio3 (syns65302)" in text and "imu (syns63300)" in text
    )


# -- specification: formats and rules ---------------------------------------------


def test_construction_normalizes_shapes_and_dtypes():
    spec = small_spec(weights_in=np.ones((3, 4), np.int64), weights_rec=np.ones((4, 4, 1)))
    assert spec.weights_in.shape == (3, 4, 2) and spec.weights_in.dtype == np.int8
    assert np.all(spec.weights_in[:, :, 1] == 0)
    assert spec.weights_rec.shape == (4, 4, 2)
    assert spec.dash_mem.dtype == np.uint8 and spec.threshold.dtype == np.int16
    assert spec.bias.dtype == np.int16 and isinstance(spec.weight_shift_in, int)
    assert spec.aliases is None and (spec.n_in, spec.n_hidden, spec.n_out) == (3, 4, 2)


def _weights_in_with(index, value):
    w = np.full((3, 4, 2), 5)
    w[index] = value
    return w


@pytest.mark.parametrize(
    "field, value, where, found",
    [
        ("weights_in", _weights_in_with((1, 2, 1), 200), "weights_in[1, 2, 1]", "200"),
        ("threshold", np.array([1, 2, 40000, 4]), "threshold[2]", "40000"),
        ("bias_out", np.array([0.0, 2.5]), "bias_out[1]", "2.5"),
        ("dash_syn", np.array([1, 2, 3, -1]), "dash_syn[3]", "-1"),
    ],
)
def test_number_format_errors_name_field_index_limit_and_value(field, value, where, found):
    with pytest.raises(NircError) as e:
        small_spec(**{field: value})
    assert e.value.where == where
    assert e.value.found == found
    assert e.value.expected  # the limit


def _violation(spec: XyloSpecification, variant) -> NircError:
    with pytest.raises(NircError) as e:
        spec.validate(variant)
    return e.value


def test_validate_sizes():
    big = XyloSpecification.random(AUDIO2, 2, 500, 2, np.random.default_rng(0), rec_density=0.0)
    big.validate(AUDIO2)
    err = _violation(big, IMU)
    assert err.where == "weights_rec" and "496" in err.expected and "500" in err.found
    wide = small_spec(
        weights_out=np.zeros((4, 20)),
        **{k: np.ones(20) for k in ("dash_mem_out", "dash_syn_out", "threshold_out", "bias_out")},
    )
    err = _violation(wide, AUDIO2)
    assert err.where == "weights_out" and "8" in err.expected and "20" in err.found


def test_validate_dash_and_shift_ranges():
    err = _violation(small_spec(dash_mem=np.array([1, 16, 2, 3])), AUDIO2)
    assert (err.where, err.found) == ("dash_mem[1]", "16") and "15" in err.expected
    err = _violation(small_spec(weight_shift_rec=16), AUDIO2)
    assert (err.where, err.found) == ("weight_shift_rec", "16")
    w = np.zeros((4, 4, 2))
    w[2, 3, 0] = 127
    err = _violation(small_spec(weights_rec=w, weight_shift_rec=9), AUDIO2)
    assert err.where == "weights_rec << weight_shift_rec[2, 3, 0]" and err.found == str(127 << 9)
    small_spec(weights_rec=-w - 1, weight_shift_rec=8).validate(AUDIO2)  # -128 << 8 fits


def test_validate_windows_synapses_fan_out_aliases():
    rng = np.random.default_rng(1)
    spec = XyloSpecification.random(AUDIO3, 4, 300, 4, rng)
    spec.validate(AUDIO3)
    spec.weights_in[2, 200, 0] = 7
    err = _violation(spec, AUDIO3)
    assert err.where == "weights_in[2, 200, 0]" and "0..127" in err.expected
    spec.validate(AUDIO2)  # Audio 2 has no input window
    spec.weights_in[2, 200, 0] = 0
    spec.weights_out[5, 1] = -3
    err = _violation(spec, AUDIO3)
    assert err.where == "weights_out[5, 1]" and "172..299" in err.expected

    imu = XyloSpecification.random(IMU, 4, 100, 4, rng)
    imu.validate(IMU)
    imu.weights_rec[7, 9, 1] = 1
    err = _violation(imu, IMU)
    assert err.where == "weights_rec[7, 9, 1]" and "synapse 2" in err.message

    fan = XyloSpecification.random(AUDIO2, 4, 100, 4, rng, rec_density=0.0)
    fan.weights_rec[42, :70, 0] = 1
    err = _violation(fan, AUDIO2)
    assert err.where == "weights_rec[42]" and "64" in err.expected and "70" in err.found
    fan.validate(AUDIO3)

    al = small_spec(aliases=[[], [2, 3], [], []])
    err = _violation(al, AUDIO2)
    assert err.where == "aliases[1]" and "[2, 3]" in err.found
    err = _violation(small_spec(aliases=[[], [9], [], []]), AUDIO2)
    assert err.where == "aliases[1]" and err.found == "9"
    with pytest.raises(NircError, match="one list per hidden neuron"):
        small_spec(aliases=[[], []])
    with pytest.raises(NircError) as e:
        small_spec(dt=0.0).validate(AUDIO2)
    assert e.value.where == "dt"


def test_shape_mismatch_is_a_diagnostic():
    with pytest.raises(NircError) as e:
        small_spec(weights_in=np.zeros((3, 5, 2)))
    assert e.value.where == "weights_in" and "(Nin, 4, 2)" in e.value.expected
    with pytest.raises(NircError) as e:
        small_spec(threshold=np.zeros(3))
    assert e.value.where == "threshold" and "(4,)" in e.value.expected


@pytest.mark.parametrize("variant", ["audio2", "audio3", "imu"])
def test_random_specifications_are_valid(variant):
    spec = VARIANTS[variant]
    XyloSpecification.random(
        spec,
        16,
        spec.hidden_neurons,
        spec.output_neurons,
        np.random.default_rng(3),
        alias_fraction=0.1,
    ).validate(spec)


# -- specification: npz and dict -----------------------------------------------------


def _assert_same(a: XyloSpecification, b: XyloSpecification) -> None:
    for k, v in a.to_dict().items():
        w = b.to_dict()[k]
        if isinstance(v, np.ndarray):
            assert v.dtype == w.dtype and np.array_equal(v, w), k
        else:
            assert v == w, k


@pytest.mark.parametrize("aliases", [None, "lists", "empty"])
def test_npz_round_trip_and_determinism(tmp_path, aliases):
    rng = np.random.default_rng(7)
    spec = XyloSpecification.random(AUDIO2, 5, 40, 3, rng, alias_fraction=0.2, dt=2e-3)
    if aliases is None:
        spec.aliases = None
    elif aliases == "empty":
        spec.aliases = [[] for _ in range(40)]
    spec.to_npz(tmp_path / "a.npz")
    copy = XyloSpecification.from_npz(tmp_path / "a.npz")
    _assert_same(spec, copy)
    assert copy.aliases == spec.aliases
    # an equal specification built separately gives identical bytes
    XyloSpecification.from_dict(copy.to_dict()).to_npz(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert z["weights_rec"].dtype == np.int8 and z["weights_rec"].shape == (40, 40, 2)
        assert z["threshold"].dtype == np.int16 and z["dash_syn_2"].dtype == np.uint8
        assert float(z["dt"]) == 2e-3
        assert ("aliases" in z.files) == (aliases is not None)
        if aliases == "lists":
            assert z["aliases"].dtype == np.int32 and z["aliases"].shape == (40, 1)


def test_npz_write_is_atomic_and_read_errors_are_diagnostics(tmp_path):
    bad = small_spec()
    bad.dash_mem = np.array([1, 99, 1, 1])  # edited after construction
    with pytest.raises(NircError):
        bad.to_npz(tmp_path / "bad.npz")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NircError, match="no such file"):
        XyloSpecification.from_npz(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(NircError, match="not a readable"):
        XyloSpecification.from_npz(tmp_path / "junk.npz")
    with zipfile.ZipFile(tmp_path / "partial.npz", "w") as zf:
        zf.writestr("dt.npy", b"")
    with pytest.raises(NircError):
        XyloSpecification.from_npz(tmp_path / "partial.npz")
    np.savez(tmp_path / "short.npz", weights_in=np.zeros((2, 3, 2)), weights_out=np.zeros((3, 1)))
    with pytest.raises(NircError, match="missing key"):
        XyloSpecification.from_npz(tmp_path / "short.npz")


def test_from_dict_accepts_rockpool_mapper_output():
    d = small_spec().to_dict()
    d.update(
        mapped_graph=object(),
        weights_in=np.ones((3, 2)),  # one synapse, input expansion neurons 0..1 only
        weights_out=np.full((1, 2), 3),  # output expansion neuron: the last hidden one
        weights_rec=np.zeros((4, 4)),
    )
    del d["bias"], d["dash_syn_2"]
    spec = XyloSpecification.from_dict(d)
    assert spec.weights_in.shape == (3, 4, 2) and spec.weights_in[:, :2, 0].all()
    assert not spec.weights_in[:, 2:].any()
    assert spec.weights_out.shape == (4, 2) and spec.weights_out[3].tolist() == [3, 3]
    assert not spec.bias.any() and not spec.dash_syn_2.any()
    with pytest.raises(NircError, match="unknown key"):
        XyloSpecification.from_dict({**small_spec().to_dict(), "weight_shift": 1})


# -- simulator: pieces ---------------------------------------------------------------


def test_decay_is_arithmetic_shift_with_sign_rule():
    x = np.arange(-40000, 40000, 7)
    for d in range(16):
        want = x >> d
        want = np.where((want == 0) & (x != 0), np.sign(x), want)
        assert np.array_equal(_decay(x.astype(float), np.full(x.shape, 2.0**-d)), want)


def naive_saturating(x0: np.ndarray, inc: np.ndarray) -> np.ndarray:
    x = x0.copy()
    for row in inc:
        x = np.clip(x + row, LO, HI)
    return x


@pytest.mark.parametrize("seed", range(4))
def test_saturating_sum_matches_sequential_clamping(seed):
    rng = np.random.default_rng(seed)
    for rows in (0, 1, 2, 3, 7, 64):
        inc = rng.integers(-40000, 40000, (rows, 300)) * (rng.random((rows, 300)) < 0.6)
        x0 = rng.integers(LO, HI + 1, 300)
        assert np.array_equal(saturating_sum(x0, inc), naive_saturating(x0, inc))


def test_input_checks_and_event_cap():
    rng = np.random.default_rng(0)
    spec = XyloSpecification.random(AUDIO2, 4, 30, 2, rng)
    sim = XyloSimulator(spec)
    with pytest.raises(NircError) as e:
        sim.run(np.zeros((5, 3)))
    assert "(T, 4)" in e.value.expected
    events = np.zeros((5, 4), int)
    events[3, 1] = -2
    with pytest.raises(NircError) as e:
        sim.run(events)
    assert e.value.where == "input_events[3, 1]"
    with pytest.raises(NircError):
        sim.run(np.full((5, 4), 0.5))
    a = XyloSimulator(spec).run(np.full((20, 4), 15), record=True)
    b = XyloSimulator(spec).run(np.full((20, 4), 200.0), record=True)
    for k in STATE_KEYS:
        assert np.array_equal(a[k], b[k]), k
    assert a["spikes_out"].shape == (20, 2) and a["spikes_out"].dtype == np.uint8
    assert a["vmem"].shape == (20, 30) and a["vmem"].dtype == np.int16
    assert set(XyloSimulator(spec).run(np.zeros((2, 4), int))) == {"spikes_out"}


# -- simulator against xylosim -------------------------------------------------------


class XylosimReference:
    """xylosim's XyloLayer built from a specification, as Rockpool builds it.

    XyloLayer keeps pointers into the synapse lists: they live on this object."""

    def __init__(self, spec: XyloSpecification) -> None:
        from xylosim.v2 import XyloLayer, XyloSynapse

        def synapses(w: np.ndarray) -> list:
            rows = []
            for pre in range(w.shape[0]):
                row = []
                for syn in range(w.shape[2]):
                    for post in np.flatnonzero(w[pre, :, syn]):
                        row.append(XyloSynapse(int(post), syn, int(w[pre, post, syn])))
                rows.append(row)
            return rows

        self.synapses_in = synapses(spec.weights_in)
        self.synapses_rec = synapses(spec.weights_rec)
        self.synapses_out = synapses(spec.weights_out[:, :, None])
        n_hid = spec.n_hidden
        self.aliases = spec.aliases if spec.aliases is not None else [[] for _ in range(n_hid)]
        self.layer = XyloLayer(
            self.synapses_in,
            self.synapses_rec,
            self.synapses_out,
            self.aliases,
            spec.threshold.tolist(),
            spec.threshold_out.tolist(),
            bool(spec.bias.any() or spec.bias_out.any()),
            spec.bias.tolist(),
            spec.bias_out.tolist(),
            spec.weight_shift_in,
            spec.weight_shift_rec,
            spec.weight_shift_out,
            spec.dash_mem.tolist(),
            spec.dash_mem_out.tolist(),
            [[int(a), int(b)] for a, b in zip(spec.dash_syn, spec.dash_syn_2)],
            [[int(d)] for d in spec.dash_syn_out],
            "reference",
        )
        self.sizes = (spec.n_hidden, spec.n_out)

    def run(self, events: np.ndarray) -> dict[str, np.ndarray]:
        lay = self.layer
        n_t = len(events)
        n_hid, n_out = self.sizes

        def states(rec, n):  # xylosim records (neuron, time)
            return np.array(rec, dtype=np.int64).reshape(n, n_t).T

        return {
            "spikes_out": np.array(lay.evolve(np.asarray(events).tolist())).reshape(n_t, n_out),
            "spikes_hidden": np.array(lay.rec_recurrent_spikes).reshape(n_t, n_hid),
            "vmem": states(lay.rec_v_mem, n_hid),
            "isyn": states(lay.rec_i_syn, n_hid),
            "isyn2": states(lay.rec_i_syn2, n_hid),
            "vmem_out": states(lay.rec_v_mem_out, n_out),
            "isyn_out": states(lay.rec_i_syn_out, n_out),
        }


@pytest.fixture(scope="module")
def xylosim_available():
    pytest.importorskip(
        "xylosim", reason="xylosim (SynSense's C++ Xylo simulator) is not installed"
    )


def assert_identical(ref: dict, got: dict) -> None:
    for k in STATE_KEYS:
        a, b = ref[k], got[k]
        assert a.shape == b.shape, k
        if not np.array_equal(a, b):
            t, i = np.argwhere(a != b)[0]
            raise AssertionError(
                f"{k} differs first at step {t}, neuron {i}: xylosim {a[t, i]}, nirc {b[t, i]}"
            )


CASES = {
    # many events per step: the 15-event cap, saturation in every order, up to 31 spikes
    "heavy-0": dict(seed=0),
    "heavy-1": dict(seed=1, dash_range=(0, 3)),
    "strong-shifts": dict(
        seed=2, weight_shifts=(8, 8, 8), threshold_range=(1, 30000), rec_density=0.3
    ),
    "aliases": dict(seed=3, alias_fraction=0.4),
    "alias-chains": dict(seed=4, n_in=3, n_hid=9, n_out=2, alias_fraction=1.0, T=300),
    "thresholds<=0": dict(seed=5, threshold_range=(-40, 200), rec_density=0.2),
    "audio3": dict(seed=6, variant=AUDIO3, n_hid=300, n_out=32, alias_fraction=0.1),
    "imu": dict(seed=7, variant=IMU, n_hid=200, n_out=16),
    "sparse-activity": dict(seed=8, p=0.1, high=3, threshold_range=(2000, 8000), dash_range=(2, 6)),
    "1000-hidden": dict(seed=9, n_hid=1000, rec_density=0.03, T=150, alias_fraction=0.05),
}


@pytest.mark.parametrize("compiled", BOTH)
@pytest.mark.parametrize("case", list(CASES))
def test_matches_xylosim(xylosim_available, case, compiled):
    kw = dict(CASES[case])
    seed, variant = kw.pop("seed"), kw.pop("variant", AUDIO2)
    n_in, n_hid, n_out = kw.pop("n_in", 16), kw.pop("n_hid", 100), kw.pop("n_out", 8)
    n_t, p, high = kw.pop("T", 200), kw.pop("p", 0.5), kw.pop("high", 20)
    rng = np.random.default_rng(seed)
    spec = XyloSpecification.random(variant, n_in, n_hid, n_out, rng, **kw)
    spec.validate(variant)
    events = random_events(rng, n_t, n_in, p, high)
    assert_identical(
        XylosimReference(spec).run(events),
        XyloSimulator(spec, jit=compiled).run(events, record=True),
    )


@pytest.mark.parametrize("compiled", BOTH)
def test_membrane_wrap_at_dash_zero_matches_xylosim(xylosim_available, compiled):
    # V = -32768 with dash_mem = 0: xylosim's -decay(V) = 32768 wraps to -32768
    w_in = np.zeros((3, 4, 2))
    w_in[0] = -128
    w_in[1] = 127
    spec = small_spec(
        weights_in=w_in,
        dash_mem=np.zeros(4),
        dash_syn=np.array([0, 4, 8, 15]),
        dash_syn_2=np.array([15, 8, 4, 0]),
        weight_shift_in=8,
        threshold=np.array([1, 0, -5, 30000]),
    )
    events = np.zeros((30, 3), int)
    events[:10, 0] = 15
    events[20:, 1] = 3
    assert_identical(
        XylosimReference(spec).run(events),
        XyloSimulator(spec, jit=compiled).run(events, record=True),
    )


@pytest.mark.parametrize("compiled", BOTH)
def test_state_persists_across_runs_and_reset_matches_xylosim(xylosim_available, compiled):
    rng = np.random.default_rng(11)
    spec = XyloSpecification.random(AUDIO2, 16, 80, 8, rng, alias_fraction=0.2)
    ref, sim = XylosimReference(spec), XyloSimulator(spec, jit=compiled)
    for i in range(3):
        events = random_events(rng, 40, 16)
        assert_identical(ref.run(events), sim.run(events, record=True))
        if i == 1:
            ref.layer.reset_all()
            sim.reset()


# -- the compiled kernel and the numpy code ------------------------------------------


@pytest.mark.skipif(not jit.ENABLED, reason="numba is not installed")
@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_batch_equals_numpy_batch_with_saturation_and_aliases(seed, monkeypatch):
    """Every state of every step, the compiled kernel against the numpy code's
    batch path (its own ordered replay of the states that may saturate)."""
    replayed = []
    replay = XyloSimulator._batch_saturate
    monkeypatch.setattr(XyloSimulator, "_batch_saturate",
                        lambda self, *a: replayed.append(1) or replay(self, *a))  # fmt: skip
    rng = np.random.default_rng(seed)
    sp = XyloSpecification.random(AUDIO2, 16, 40, 6, rng, in_density=0.8, rec_density=0.3,
                                  threshold_range=(-20, 600), alias_fraction=0.2,
                                  weight_shifts=(6, 5, 4))  # fmt: skip
    x = rng.integers(0, 20, (40, 5, 16))
    fast = XyloSimulator(sp, jit=True).run_batch(x, record=True)
    slow = XyloSimulator(sp, jit=False).run_batch(x, record=True)
    assert fast.keys() == slow.keys()
    for k in fast:
        assert fast[k].dtype == slow[k].dtype and np.array_equal(fast[k], slow[k]), k
    assert fast["spikes_hidden"].max() == 31 and replayed


def test_compiled_on_request_without_numba_is_a_diagnostic(monkeypatch):
    monkeypatch.setattr(jit, "ENABLED", False)
    spec = XyloSpecification.random(AUDIO2, 4, 10, 2, np.random.default_rng(0))
    with pytest.raises(NircError) as e:
        XyloSimulator(spec, jit=True).run(np.ones((3, 4), int))
    assert "needs numba" in str(e.value) and e.value.where == "XyloSimulator(jit=True)"
    assert "nirc[fast]" in e.value.expected and e.value.found == "numba missing or NIRC_JIT=0"
    # the default falls back to numpy, with the same numbers
    assert XyloSimulator(spec).run(np.ones((3, 4), int))["spikes_out"].shape == (3, 2)


@pytest.mark.skipif(not jit.ENABLED, reason="numba is not installed")
def test_default_loads_numba_only_for_runs_that_repay_it(monkeypatch):
    """Loading numba costs more than a short run: the default leaves it alone
    until a run is long enough, then keeps using it."""
    monkeypatch.delitem(sys.modules, xylo_simulator._KERNELS, raising=False)
    sim = XyloSimulator(XyloSpecification.random(AUDIO2, 4, 10, 2, np.random.default_rng(0)))
    long = xylo_simulator.JIT_MIN_SAMPLE_STEPS
    assert sim._compiled(long - 1) is None and xylo_simulator._KERNELS not in sys.modules
    assert sim._compiled(long) is not None and sim._compiled(1) is not None
    assert XyloSimulator(sim.specification, jit=False)._compiled(long) is None


@pytest.mark.skipif(not jit.ENABLED, reason="numba is not installed")
def test_compiled_batch_shared_among_threads(monkeypatch):
    rng = np.random.default_rng(3)
    sp = XyloSpecification.random(AUDIO2, 16, 60, 8, rng, alias_fraction=0.2)
    x = rng.integers(0, 6, (30, 5, 16))
    monkeypatch.setenv("NIRC_THREADS", "1")
    one = XyloSimulator(sp, jit=True).run_batch(x, record=True)
    monkeypatch.setenv("NIRC_THREADS", "3")  # samples 0-1, 2-3, 4
    three = XyloSimulator(sp, jit=True).run_batch(x, record=True)
    for k in one:
        assert np.array_equal(one[k], three[k]), k
    assert one["spikes_hidden"].any()
