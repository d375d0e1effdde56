"""Every Speck rule has a diagnostic that names the layer, the limit and the value."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nirc.diagnostics import NircError, collecting
from nirc.targets.speck import (
    Destination,
    SpeckLayer,
    check_layer,
    check_network,
    check_neuron_kind,
    check_uniform,
    layer_violations,
)


def base(**changes) -> SpeckLayer:
    fields = dict(
        name="conv1",
        sources=("conv1", "if1"),
        input_shape=(2, 16, 16),
        weights=np.ones((4, 2, 3, 3), np.int8),
        biases=np.zeros(4, np.int8),
        padding=(1, 1),
        threshold_high=10,
        threshold_low=-10,
    )
    fields.update(changes)
    return SpeckLayer(**fields)


def test_base_layer_is_valid():
    check_layer(base())
    assert layer_violations(base()) == []


# (changes, message fragment, expected fragment, found fragment)
CASES = {
    "weights not 4-D": (dict(weights=np.ones((4, 18), np.int8)), "4-D", "4 dimensions", "(4, 18)"),
    "no features": (
        dict(weights=np.ones((0, 2, 3, 3), np.int8), biases=np.zeros(0)),
        "at least one output feature",
        "f >= 1",
        "f = 0",
    ),
    "channel mismatch": (
        dict(weights=np.ones((4, 3, 3, 3), np.int8)),
        "input channels",
        "[f, 2, ky, kx]",
        "[4, 3, 3, 3]",
    ),
    "non-square kernel": (
        dict(weights=np.ones((4, 2, 3, 5), np.int8)),
        "square",
        "kx == ky",
        "3x5",
    ),
    "kernel too large": (
        dict(input_shape=(2, 20, 20), weights=np.ones((4, 2, 17, 17), np.int8), padding=0),
        "kernel size",
        "1..16",
        "17x17",
    ),
    "stride": (dict(stride=(3, 1)), "stride x", "{1, 2, 4, 8}", "3"),
    "stride y": (dict(stride=(1, 16)), "stride y", "{1, 2, 4, 8}", "16"),
    "padding": (dict(padding=(1, 8)), "padding y", "0..7", "8"),
    "input channels": (
        dict(input_shape=(1025, 2, 2), weights=np.ones((1, 1025, 1, 1), np.int8), padding=0),
        "input channels",
        "1024",
        "1025",
    ),
    "output features": (
        dict(weights=np.ones((1025, 2, 1, 1), np.int8), biases=np.zeros(1025, np.int8), padding=0),
        "output features",
        "1024",
        "1025",
    ),
    "input size": (
        dict(input_shape=(2, 129, 100), stride=2),
        "input feature map too large",
        "128x128",
        "129x100",
    ),
    "output size": (
        dict(input_shape=(2, 66, 66)),
        "output feature map too large",
        "64x64",
        "66x66",
    ),
    "kernel larger than input": (
        dict(input_shape=(2, 2, 2), weights=np.ones((4, 2, 5, 5), np.int8), padding=0),
        "kernel larger",
        "1x1",
        "5x5 kernel over 2x2",
    ),
    "pooling": (
        dict(destinations=(Destination(1, pooling=3),)),
        "pooling towards layer 1",
        "{1, 2, 4}",
        "3",
    ),
    "destinations": (
        dict(destinations=(Destination(1), Destination(2), Destination(3))),
        "too many destinations",
        "at most 2",
        "3",
    ),
    "weights range": (
        dict(weights=np.full((4, 2, 3, 3), 128, np.int16)),
        "weights must be int8",
        "-128..127",
        "128 to 128",
    ),
    "weights not integer": (
        dict(weights=np.full((4, 2, 3, 3), 0.5)),
        "weights must be int8",
        "integers",
        "non-integer",
    ),
    "biases range": (
        dict(biases=np.array([0, -129, 0, 0])),
        "biases must be int8",
        "-128..127",
        "-129 to 0",
    ),
    "biases shape": (dict(biases=np.zeros(3, np.int8)), "one value per feature", "(4,)", "(3,)"),
    "threshold_high range": (
        dict(threshold_high=40000),
        "threshold_high must be int16",
        "-32768..32767",
        "40000",
    ),
    "threshold_low range": (
        dict(threshold_low=-40000),
        "threshold_low must be int16",
        "-32768..32767",
        "-40000",
    ),
    "threshold_high positive": (
        dict(threshold_high=0, threshold_low=-5),
        "threshold_high must be positive",
        "at least 1",
        "0",
    ),
    "threshold order": (
        dict(threshold_high=10, threshold_low=10),
        "threshold_low must be below threshold_high",
        "< 10",
        "10",
    ),
    "threshold_low zero": (dict(threshold_low=0), "hardware bug", "!= 0", "0"),
    "initial state shape": (
        dict(neurons_initial_value=np.zeros((4, 16, 15), np.int16)),
        "neuron shape",
        "(4, 16, 16)",
        "(4, 16, 15)",
    ),
    "initial state range": (
        dict(neurons_initial_value=np.full((4, 16, 16), 40000)),
        "neurons_initial_value must be int16",
        "-32768..32767",
        "40000",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_diagnostic(case):
    changes, message, expected, found = CASES[case]
    layer = base(**changes)
    errs = layer_violations(layer)
    assert errs, f"{case}: no violation reported"
    hits = [e for e in errs if message in e.message]
    assert hits, f"{case}: {[e.message for e in errs]}"
    e = hits[0]
    assert e.where == "conv1 (if1)"
    assert expected in e.expected, e.render()
    assert found in e.found, e.render()
    with pytest.raises(NircError):
        check_layer(layer)


def test_index_appears_in_where():
    (e,) = layer_violations(base(stride=(3, 1)), index=4)
    assert e.where == "layer 4 conv1 (if1)"
    assert "layer 4 conv1 (if1): stride x not supported" in e.render()


def test_first_error_is_raised():
    with pytest.raises(NircError) as e:
        check_layer(base(stride=(3, 1), padding=(9, 9)))
    assert "stride" in e.value.message


def test_ignored_biases_warn():
    with collecting() as sink:
        check_layer(base(biases=np.array([1, 0, 0, 0])))
    assert any("leak_enable" in w.message for w in sink.warnings)
    with collecting() as sink:
        check_layer(base(biases=np.array([1, 0, 0, 0]), leak_enable=True))
    assert not sink.warnings


def two_layers(**second) -> list[SpeckLayer]:
    first = base(destinations=(Destination(1, pooling=2),))
    fields = dict(
        name="conv2", sources=(), input_shape=(4, 8, 8), weights=np.ones((3, 4, 3, 3)), biases=None
    )
    fields.update(second)
    return [first, base(**fields)]


def test_network_ok():
    check_network(two_layers())


def test_network_destination_out_of_range():
    layers = two_layers()
    layers[0] = dataclasses.replace(layers[0], destinations=(Destination(5),))
    with pytest.raises(NircError) as e:
        check_network(layers)
    assert e.value.where == "layer 0 conv1 (if1)"
    assert "0..1" in e.value.expected and e.value.found == "5"


def test_network_self_destination():
    layers = two_layers()
    layers[1] = dataclasses.replace(layers[1], destinations=(Destination(1),))
    with pytest.raises(NircError) as e:
        check_network(layers)
    assert "itself" in e.value.message and e.value.where == "layer 1 conv2"


def test_network_shape_mismatch():
    with pytest.raises(NircError) as e:
        check_network(two_layers(input_shape=(4, 16, 16)))
    assert "(4, 8, 8)" in e.value.message
    assert e.value.expected.startswith("(4, 16, 16)")
    assert "pooled by 2" in e.value.found


def test_network_reports_layer_rules_with_index():
    with pytest.raises(NircError) as e:
        check_network(two_layers(stride=(5, 1)))
    assert e.value.where == "layer 1 conv2"


def test_empty_network():
    with pytest.raises(NircError):
        check_network([])


def test_check_uniform():
    assert check_uniform("lif1", np.full((3, 4), 2.5), "v_threshold") == 2.5
    with pytest.raises(NircError) as e:
        check_uniform("lif1", np.array([1.0, 1.0, 2.0]), "v_threshold")
    assert e.value.where == "lif1"
    assert "v_threshold differs" in e.value.message
    assert "2 distinct values from 1.0 to 2.0" in e.value.found


def test_check_neuron_kind():
    check_neuron_kind("if1", "IF")
    with pytest.raises(NircError) as e:
        check_neuron_kind("lif1", "LIF")
    assert e.value.where == "lif1" and "IF" in e.value.expected
