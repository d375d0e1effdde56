"""How many memory words a layer takes on a Speck core.

The core addresses its memories with bit fields, so every dimension is rounded
up to a power of two (Speck datasheet section 3.2.4.1; Sinabs'
``DynapcnnLayer.memory_summary``):

- kernel memory = c * 2^(ceil(log2(kx*ky)) + ceil(log2 f))
- neuron memory = f * 2^(ceil(log2 h) + ceil(log2 w)), with h x w the conv
  output (the neurons, before pooling)
- bias memory   = f (one leak word per feature)

Worked example (TARGETS.md): 2x32x32 -> conv3x3(8) -> IF -> pool2 ->
conv3x3/2(16) -> IF -> Linear(10) -> IF. With PyTorch's default padding 0 the
neurons are 8x30x30, 16x7x7 and 10x1x1 (the Linear is a conv with a 7x7
kernel over the 16x7x7 input), giving kernel 256 / 2048 / 16384 and neuron
8192 / 1024 / 10 words. Padding 1 gives 8x32x32, 16x8x8, an 8x8 kernel and the
same figures, because 30 and 32, 7 and 8, 49 and 64 round up alike.
"""

from __future__ import annotations

from typing import NamedTuple

from .layer import SpeckLayer
from .spec import CoreCapacity


def _ceil_log2(n: int) -> int:
    """ceil(log2 n) for n >= 1, exactly (no floating point)."""
    if n < 1:
        raise ValueError(f"ceil_log2 needs a positive integer, got {n}")
    return (n - 1).bit_length()


def kernel_memory(c: int, f: int, kx: int, ky: int) -> int:
    return c * 2 ** (_ceil_log2(kx * ky) + _ceil_log2(f))


def neuron_memory(f: int, h: int, w: int) -> int:
    return f * 2 ** (_ceil_log2(h) + _ceil_log2(w))


def bias_memory(f: int) -> int:
    return f


class LayerMemory(NamedTuple):
    """Words a layer needs in each of a core's three memories."""

    kernel: int
    neuron: int
    bias: int

    def shortfalls(self, core: CoreCapacity) -> tuple[str, ...]:
        """The memories (``kernel``, ``neuron``, ``bias``) this core lacks."""
        out = []
        if self.kernel > core.kernel:
            out.append("kernel")
        if self.neuron > core.neuron:
            out.append("neuron")
        if self.bias > core.bias:
            out.append("bias")
        return tuple(out)

    def fits(self, core: CoreCapacity) -> bool:
        return not self.shortfalls(core)


def layer_memory(layer: SpeckLayer) -> LayerMemory:
    """The memory a layer needs (shapes must be valid: see ``rules``)."""
    c = layer.in_channels
    f, h, w = layer.output_shape
    ky, kx = layer.kernel_size
    return LayerMemory(kernel_memory(c, f, kx, ky), neuron_memory(f, h, w), bias_memory(f))
