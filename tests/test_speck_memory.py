"""Speck memory formulas, checked on the worked example of TARGETS.md."""

from __future__ import annotations

import numpy as np
import pytest

from nirc.targets.speck import (
    Destination,
    SpeckLayer,
    bias_memory,
    kernel_memory,
    layer_memory,
    linear_as_conv_weights,
    neuron_memory,
)


def worked_example(padding: int) -> list[SpeckLayer]:
    """2x32x32 -> conv3x3(8) -> IF -> pool2 -> conv3x3/2(16) -> IF -> Linear(10) -> IF."""
    side0 = 32 + 2 * padding - 2  # conv 3x3 output: 30 (pad 0) or 32 (pad 1)
    side1 = side0 // 2  # after pool 2: 15 or 16
    side2 = (side1 + 2 * padding - 3) // 2 + 1  # conv 3x3 stride 2: 7 or 8
    dense = np.ones((10, 16 * side2 * side2), np.int8)
    return [
        SpeckLayer(
            "conv1",
            (2, 32, 32),
            np.ones((8, 2, 3, 3), np.int8),
            padding=padding,
            destinations=[Destination(1, pooling=2)],
            sources=("conv1", "if1", "pool1"),
        ),
        SpeckLayer(
            "conv2",
            (8, side1, side1),
            np.ones((16, 8, 3, 3), np.int8),
            stride=2,
            padding=padding,
            destinations=[Destination(2)],
        ),
        SpeckLayer("fc", (16, side2, side2), linear_as_conv_weights(dense, (16, side2, side2))),
    ]


@pytest.mark.parametrize("padding", [0, 1])
def test_worked_example_memory(padding):
    layers = worked_example(padding)
    mem = [layer_memory(layer) for layer in layers]
    assert [m.kernel for m in mem] == [256, 2048, 16384]
    assert [m.neuron for m in mem] == [8192, 1024, 10]
    assert [m.bias for m in mem] == [8, 16, 10]


def test_worked_example_shapes_with_pytorch_default_padding():
    layers = worked_example(0)
    assert [layer.output_shape for layer in layers] == [(8, 30, 30), (16, 7, 7), (10, 1, 1)]
    assert layers[0].pooled_shape(2) == (8, 15, 15)
    assert layers[2].kernel_size == (7, 7)  # the linear layer's kernel covers 16x7x7


def test_formulas_round_up_to_powers_of_two():
    assert kernel_memory(c=1, f=1, kx=1, ky=1) == 1
    assert kernel_memory(c=3, f=5, kx=3, ky=3) == 3 * 2 ** (4 + 3)
    assert kernel_memory(c=16, f=32, kx=3, ky=3) == 8 * 1024  # Sinabs' docs example
    assert neuron_memory(f=32, h=64, w=64) == 128 * 1024  # too big for any core
    assert neuron_memory(f=2, h=5, w=9) == 2 * 8 * 16
    assert bias_memory(7) == 7


def test_linear_as_conv_keeps_flatten_order():
    dense = np.arange(2 * 3 * 2 * 2).reshape(2, 12)
    w = linear_as_conv_weights(dense, (3, 2, 2))
    x = np.arange(12).reshape(3, 2, 2)
    assert np.array_equal((w * x).sum(axis=(1, 2, 3)), dense @ x.reshape(-1))
