"""One Speck core layer: conv (or linear-as-conv) -> IAF neurons -> sum pooling.

This is the chip-level description that the lowering from the ``snn`` dialect
produces and that the rule checker, the placer, the samna emitter and the
bit-accurate simulator consume. Arrays use PyTorch's axis order
(``[f, c, ky, kx]`` weights, ``[f, h, w]`` neuron state); the samna emitter does
the transposes samna wants.

A linear layer ``y = W x`` over an input of shape ``(c, h, w)`` is a
convolution whose kernel covers the whole input: weights
``W.reshape(f, c, h, w)``, no padding, stride 1, output ``(f, 1, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Destination:
    """Where a core sends its spikes: ``layer`` is an index into the network's
    layer list (not a core number); ``pooling`` is the sum-pooling kernel and
    stride applied on the way (1 = none)."""

    layer: int
    pooling: int = 1


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(eq=False)
class SpeckLayer:
    """A layer as one Speck core computes it.

    - ``name``: a readable name; ``sources``: the IR/NIR node names the layer
      was built from (conv, neuron, pool), for diagnostics.
    - ``input_shape``: ``(c, h, w)`` of the events the core receives.
    - ``weights``: integer ``[f, c, ky, kx]`` (int8 range), PyTorch order.
    - ``biases``: integer ``[f]`` (int8 range); added to every neuron of a
      feature on each slow-clock tick when ``leak_enable`` is set.
    - ``stride``, ``padding``: ``(x, y)``, as samna's ``dimensions``.
    - ``threshold_high``: firing threshold; ``threshold_low``: the membrane's
      lower bound (int16 each).
    - ``return_to_zero``: reset to 0 after a spike; ``False`` = subtract
      ``threshold_high``.
    - ``destinations``: at most two targets, each with its own pooling.
    - ``neurons_initial_value``: integer ``[f, h, w]`` membrane at start
      (``None`` = zeros).
    - ``scale``: the quantization scale (integer units per float unit) the
      lowering used, kept for the report; ``None`` if not known.
    """

    name: str
    input_shape: tuple[int, int, int]
    weights: np.ndarray
    biases: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    threshold_high: int = 1
    threshold_low: int = -(2**15)
    return_to_zero: bool = False
    leak_enable: bool = False
    destinations: tuple[Destination, ...] = ()
    neurons_initial_value: np.ndarray | None = None
    scale: float | None = None
    sources: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self.input_shape = tuple(int(s) for s in self.input_shape)  # type: ignore[assignment]
        self.weights = np.asarray(self.weights)
        if self.biases is None:
            self.biases = np.zeros(self.weights.shape[0] if self.weights.ndim else 0, np.int8)
        self.biases = np.asarray(self.biases)
        self.stride = _pair(self.stride)
        self.padding = _pair(self.padding)
        self.threshold_high = int(self.threshold_high)
        self.threshold_low = int(self.threshold_low)
        self.return_to_zero = bool(self.return_to_zero)
        self.leak_enable = bool(self.leak_enable)
        self.destinations = tuple(
            d if isinstance(d, Destination) else Destination(*d) for d in self.destinations
        )
        if self.neurons_initial_value is not None:
            self.neurons_initial_value = np.asarray(self.neurons_initial_value)
        self.sources = tuple(self.sources)

    # -- derived shapes ---------------------------------------------------

    @property
    def label(self) -> str:
        """The name with its source nodes, for diagnostics."""
        extra = [s for s in self.sources if s != self.name]
        return f"{self.name} ({', '.join(extra)})" if extra else self.name

    @property
    def in_channels(self) -> int:
        return self.input_shape[0]

    @property
    def out_features(self) -> int:
        return int(self.weights.shape[0])

    @property
    def kernel_size(self) -> tuple[int, int]:
        """``(ky, kx)`` from the weights."""
        return int(self.weights.shape[2]), int(self.weights.shape[3])

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(f, h, w)`` of the neurons (the conv output, before pooling)."""
        _, h, w = self.input_shape
        ky, kx = self.kernel_size
        sx, sy = self.stride
        px, py = self.padding
        return self.out_features, _conv_out(h, ky, sy, py), _conv_out(w, kx, sx, px)

    def pooled_shape(self, pooling: int) -> tuple[int, int, int]:
        """Shape of the events sent to a destination with this pooling."""
        f, h, w = self.output_shape
        return f, h // pooling, w // pooling

    def initial_state(self) -> np.ndarray:
        """``neurons_initial_value`` as int64 ``[f, h, w]`` (zeros if unset)."""
        if self.neurons_initial_value is None:
            return np.zeros(self.output_shape, np.int64)
        return np.asarray(self.neurons_initial_value, np.int64).reshape(self.output_shape)


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def linear_as_conv_weights(weight: np.ndarray, input_shape: tuple[int, int, int]) -> np.ndarray:
    """Reshape a dense ``[f, c*h*w]`` weight (inputs flattened in C order, as
    PyTorch's Flatten does) into the ``[f, c, h, w]`` kernel of the equivalent
    convolution."""
    weight = np.asarray(weight)
    c, h, w = input_shape
    return weight.reshape(weight.shape[0], c, h, w)
