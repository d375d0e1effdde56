"""The samna-layout JSON: field layout, axis orders, determinism, round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nirc.diagnostics import NircError
from nirc.targets.speck import (
    Destination,
    SpeckLayer,
    format_resource_report,
    from_samna_json,
    place,
    resource_report,
    to_samna_json,
)


def network() -> list[SpeckLayer]:
    """A -> (B pooled by 2, C) ; B, C -> D (merge). Non-square maps, distinct
    strides and paddings per axis, non-symmetric kernels."""
    rng = np.random.default_rng(7)

    def w(*shape):
        return rng.integers(-128, 128, shape).astype(np.int8)

    return [
        SpeckLayer(
            "a",
            (2, 8, 12),
            w(4, 2, 3, 3),
            biases=np.array([1, -2, 3, -4], np.int8),
            leak_enable=True,
            padding=(1, 1),
            threshold_high=100,
            threshold_low=-50,
            destinations=(Destination(1, 2), Destination(2, 1)),
            neurons_initial_value=rng.integers(-50, 100, (4, 8, 12)).astype(np.int16),
            scale=12.5,
            sources=("conv_a", "if_a"),
        ),
        SpeckLayer(
            "b",
            (4, 4, 6),
            w(3, 4, 3, 3),
            padding=(1, 1),
            threshold_high=7,
            return_to_zero=True,
            destinations=(Destination(3),),
        ),
        SpeckLayer(
            "c",
            (4, 8, 12),
            w(3, 4, 3, 3),
            stride=(2, 2),
            padding=(1, 1),
            threshold_high=9,
            destinations=(Destination(3),),
        ),
        SpeckLayer(
            "d", (3, 4, 6), w(5, 3, 4, 6)[:, :, :4, :4].copy(), stride=(2, 1), padding=(0, 1)
        ),
    ]


PLACEMENT = (3, 0, 5, 8)


def test_layout_has_nine_cores_and_top_level_sections():
    doc = json.loads(to_samna_json(network(), PLACEMENT))
    assert set(doc) == {"cnn_layers", "dvs_layer", "readout", "nirc"}
    assert len(doc["cnn_layers"]) == 9
    used = {3, 0, 5, 8}
    for k, entry in enumerate(doc["cnn_layers"]):
        assert set(entry["dimensions"]) == {
            "input_shape",
            "output_shape",
            "padding",
            "stride",
            "kernel_size",
        }
        assert len(entry["destinations"]) == 2
        for key in (
            "weights",
            "biases",
            "leak_enable",
            "return_to_zero",
            "threshold_high",
            "threshold_low",
            "monitor_enable",
            "neurons_initial_value",
        ):
            assert key in entry
        if k not in used:
            assert entry["weights"] == [] and not entry["monitor_enable"]
            assert not any(d["enable"] for d in entry["destinations"])
    assert doc["dvs_layer"]["pass_sensor_events"] is False
    assert not any(d["enable"] for d in doc["dvs_layer"]["destinations"])


def test_dimensions_and_scalars():
    layers = network()
    core_a = json.loads(to_samna_json(layers, PLACEMENT))["cnn_layers"][3]
    dim = core_a["dimensions"]
    assert dim["input_shape"] == {"size": {"x": 12, "y": 8}, "feature_count": 2}
    assert dim["output_shape"] == {"size": {"x": 12, "y": 8}, "feature_count": 4}
    assert dim["kernel_size"] == 3
    assert core_a["biases"] == [1, -2, 3, -4]
    assert core_a["leak_enable"] is True and core_a["return_to_zero"] is False
    assert (core_a["threshold_high"], core_a["threshold_low"]) == (100, -50)
    core_d = json.loads(to_samna_json(layers, PLACEMENT))["cnn_layers"][8]
    assert core_d["dimensions"]["stride"] == {"x": 2, "y": 1}
    assert core_d["dimensions"]["padding"] == {"x": 0, "y": 1}
    assert core_d["dimensions"]["output_shape"]["size"] == {"x": 2, "y": 3}


def test_weights_are_f_c_kx_ky():
    layers = network()
    w = layers[0].weights  # [f, c, ky, kx]
    assert not np.array_equal(w, w.transpose(0, 1, 3, 2))  # really non-symmetric
    cfg = np.array(json.loads(to_samna_json(layers, PLACEMENT))["cnn_layers"][3]["weights"])
    assert cfg.shape == (4, 2, 3, 3)
    for f, c, ky, kx in [(0, 0, 0, 1), (1, 1, 2, 0), (3, 0, 1, 2)]:
        assert cfg[f, c, kx, ky] == w[f, c, ky, kx]


def test_neurons_initial_value_is_f_w_h():
    layers = network()
    v = layers[0].neurons_initial_value  # [f, h, w] = [4, 8, 12]
    cfg = np.array(
        json.loads(to_samna_json(layers, PLACEMENT))["cnn_layers"][3]["neurons_initial_value"]
    )
    assert cfg.shape == (4, 12, 8)
    assert np.array_equal(cfg, v.transpose(0, 2, 1))
    zeros = json.loads(to_samna_json(layers, PLACEMENT))["cnn_layers"][0]["neurons_initial_value"]
    assert np.array(zeros).shape == (3, 6, 4)


def test_destinations_name_cores_and_monitor_marks_outputs():
    doc = json.loads(to_samna_json(network(), PLACEMENT))
    cores = doc["cnn_layers"]
    assert cores[3]["destinations"] == [
        {"layer": 0, "enable": True, "pooling": 2},
        {"layer": 5, "enable": True, "pooling": 1},
    ]
    assert cores[0]["destinations"][0] == {"layer": 8, "enable": True, "pooling": 1}
    assert cores[0]["destinations"][1]["enable"] is False
    assert [k for k in range(9) if cores[k]["monitor_enable"]] == [8]
    doc = json.loads(to_samna_json(network(), PLACEMENT, monitor=[1]))
    assert [k for k in range(9) if doc["cnn_layers"][k]["monitor_enable"]] == [0, 8]
    assert doc["nirc"]["input_cores"] == [3] and doc["nirc"]["output_cores"] == [8]


def test_dvs_input():
    doc = json.loads(to_samna_json(network(), PLACEMENT, dvs=True))
    dvs = doc["dvs_layer"]
    assert dvs["pass_sensor_events"] is True
    assert dvs["destinations"][0] == {"layer": 3, "enable": True}
    assert dvs["merge"] is False  # two channels: on and off
    assert dvs["pooling"] == {"x": 1, "y": 1}
    assert dvs["cut"] == {"x": 11, "y": 7}  # ROI: the top-left 12 x 8 pixels
    one = SpeckLayer("in", (1, 64, 64), np.ones((2, 1, 3, 3), np.int8), stride=2)
    dvs = json.loads(to_samna_json([one], (0,), dvs=True))["dvs_layer"]
    assert dvs["merge"] is True
    assert dvs["pooling"] == {"x": 2, "y": 2} and dvs["cut"] == {"x": 63, "y": 63}
    three = SpeckLayer("rgb", (3, 8, 8), np.ones((2, 3, 3, 3), np.int8))
    with pytest.raises(NircError) as e:
        to_samna_json([three], (0,), dvs=True)
    assert e.value.where == "rgb" and "(3, 8, 8)" in e.value.found


def test_json_is_deterministic():
    a = to_samna_json(network(), PLACEMENT)
    b = to_samna_json(network(), PLACEMENT)
    assert a == b
    # the same values in other integer dtypes give the same bytes
    layers = network()
    for layer in layers:
        layer.weights = layer.weights.astype(np.int64)
        layer.biases = layer.biases.astype(np.int32)
    assert to_samna_json(layers, PLACEMENT) == a
    assert a.endswith("\n") and "NaN" not in a
    doc = json.loads(a)
    assert list(doc) == sorted(doc)
    assert list(doc["cnn_layers"][0]) == sorted(doc["cnn_layers"][0])


def test_round_trip():
    layers = network()
    text = to_samna_json(layers, PLACEMENT, dvs=True)
    back = from_samna_json(text)
    assert back.placement == PLACEMENT and back.dvs is True
    assert len(back.layers) == len(layers)
    for a, b in zip(layers, back.layers):
        assert (a.name, a.sources, a.input_shape, a.stride, a.padding) == (
            b.name,
            b.sources,
            b.input_shape,
            b.stride,
            b.padding,
        )
        assert np.array_equal(a.weights, b.weights) and b.weights.dtype == np.int8
        assert np.array_equal(a.biases, b.biases)
        assert np.array_equal(a.initial_state(), b.initial_state())
        assert (a.threshold_high, a.threshold_low, a.return_to_zero, a.leak_enable) == (
            b.threshold_high,
            b.threshold_low,
            b.return_to_zero,
            b.leak_enable,
        )
        assert a.destinations == b.destinations
        assert a.scale == b.scale
    assert to_samna_json(back.layers, back.placement, dvs=True) == text


def test_reader_without_nirc_block():
    doc = json.loads(to_samna_json(network(), PLACEMENT))
    del doc["nirc"]
    back = from_samna_json(json.dumps(doc))
    assert back.placement == (0, 3, 5, 8)  # core order
    assert [layer.name for layer in back.layers] == ["core0", "core3", "core5", "core8"]
    assert back.layers[1].destinations == (Destination(0, 2), Destination(2, 1))


def test_reader_rejects_other_json():
    with pytest.raises(NircError):
        from_samna_json('{"layers": []}')


def test_emitter_checks_the_rules():
    layers = network()
    layers[3].weights = layers[3].weights.astype(float) + 0.5
    with pytest.raises(NircError, match="weights must be int8"):
        to_samna_json(layers, PLACEMENT)


def test_placement_must_be_distinct_cores():
    with pytest.raises(NircError):
        to_samna_json(network(), (0, 0, 1, 2))
    with pytest.raises(NircError):
        to_samna_json(network(), (0, 1, 2))


def test_resource_report():
    layers = network()
    placement = place(layers)
    report = resource_report(layers, placement)
    assert report["cores_used"] == 4 and report["cores_total"] == 9
    by_core = {e["core"]: e for e in report["cores"]}
    a = by_core[placement[0]]
    assert a["layer"] == 0 and a["name"] == "a" and a["scale"] == 12.5
    # a: c=2, f=4, 3x3 -> 2 * 2^(4+2) = 128 kernel words; 4 * 16 * 16 neurons
    assert a["kernel"] == {"used": 128, "capacity": 16384, "utilization": 0.8}
    assert a["neuron"]["used"] == 4 * 8 * 16
    assert a["bias"]["used"] == 4
    free = [e for e in report["cores"] if e["layer"] is None]
    assert len(free) == 5 and all(e["kernel"]["used"] == 0 for e in free)
    assert report["total"]["bias"]["used"] == 4 + 3 + 3 + 5
    text = format_resource_report(report)
    assert text.splitlines()[0].split() == ["core", "layer", "kernel", "neuron", "bias"]
    assert "128/16384 (0.8%)" in text
