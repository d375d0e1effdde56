"""The limits of Speck / DYNAP-CNN, as numbers the rest of nirc can read.

Sources (see TARGETS.md): Sinabs' ``backend.dynapcnn`` (memory formulas, core
capacities, quantization precisions), the samna configuration reference and the
Speck Dev Kit datasheet (SynSense, Aug 2023: per-layer limits, 9 cores, kernel
8-bit words, neuron 16-bit words, 1 Ki leak words per core).

Energy and latency (:data:`FIGURES`, see :mod:`nirc.targets.estimates` and
docs/estimates.md): the one per-chip figure nirc can cite is the processor's
resting power measured by Yao et al. (Nature Communications 15, 4464, 2024);
the energy per synaptic operation and the per-event processing time are not
published there, so those counts are reported unpriced and the energy is a
lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nirc.targets.estimates import ChipFigures, Figure

_YAO_2024 = ("Yao et al., \"Spike-based dynamic computing with asynchronous sensing-computing "
             "neuromorphic chip\", Nature Communications 15, 4464 (2024), abstract and Fig. 2")

FIGURES = ChipFigures(
    chip="speck",
    energy={},
    power=Figure(0.42e-3, "W", "second", "measured by the vendor's co-authors", _YAO_2024,
                 "the processor's resting power, drawn whether or not events arrive; the "
                 "paper's whole system ran at 0.70 mW on its real-time task (sensor and that "
                 "network's activity included), a figure that does not transfer to other "
                 "networks"),
    latency="real-time",
    unpriced={
        "synaptic_events": "no energy per synaptic operation is published in the sources cited",
        "neuron_updates": "no energy per neuron update is published in the sources cited",
        "spikes_between_cores": "no energy per routed event is published in the sources cited",
    },
    sources=(_YAO_2024 + ": resting power 0.42 mW (measured); latency = steps x dt: the "
             "asynchronous cores keep pace with the event stream (per-event processing time "
             "not published, not added)",),
)


@dataclass(frozen=True)
class CoreCapacity:
    """Memory of one DYNAP-CNN core, in words."""

    kernel: int
    neuron: int
    bias: int


_KI = 1024


def _default_cores() -> tuple[CoreCapacity, ...]:
    small_kernel = CoreCapacity(kernel=16 * _KI, neuron=64 * _KI, bias=_KI)  # cores 0-2
    balanced = CoreCapacity(kernel=32 * _KI, neuron=32 * _KI, bias=_KI)  # cores 3-4
    big_kernel = CoreCapacity(kernel=64 * _KI, neuron=16 * _KI, bias=_KI)  # cores 5-6
    small = CoreCapacity(kernel=16 * _KI, neuron=16 * _KI, bias=_KI)  # cores 7-8
    return (small_kernel,) * 3 + (balanced,) * 2 + (big_kernel,) * 2 + (small,) * 2


def _signed_range(bits: int) -> tuple[int, int]:
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


@dataclass(frozen=True)
class SpeckSpec:
    """Every limit a Speck core layer must respect.

    Sizes are inclusive maxima. ``cores[i]`` is the capacity of core ``i``; the
    core count is ``len(cores)``. Integer formats are given in bits (two's
    complement); the ``*_range`` properties give the inclusive value ranges.
    """

    name: str = "speck"
    max_input_size: int = 128  # input feature map, x and y
    max_output_size: int = 64  # conv output (neuron) feature map, x and y
    max_channels: int = 1024  # input channels and output features
    max_kernel_size: int = 16  # square kernels only
    strides: tuple[int, ...] = (1, 2, 4, 8)  # per axis, x and y independent
    max_padding: int = 7  # per axis, 0..7
    poolings: tuple[int, ...] = (1, 2, 4)  # sum pooling, stride = kernel
    max_destinations: int = 2
    weight_bits: int = 8
    bias_bits: int = 8
    state_bits: int = 16  # membrane potential and neurons_initial_value
    threshold_bits: int = 16  # threshold_high and threshold_low
    cores: tuple[CoreCapacity, ...] = field(default_factory=_default_cores)
    figures: ChipFigures = FIGURES  # published per-operation figures, with their sources

    @property
    def num_cores(self) -> int:
        return len(self.cores)

    @property
    def weight_range(self) -> tuple[int, int]:
        return _signed_range(self.weight_bits)

    @property
    def bias_range(self) -> tuple[int, int]:
        return _signed_range(self.bias_bits)

    @property
    def state_range(self) -> tuple[int, int]:
        return _signed_range(self.state_bits)

    @property
    def threshold_range(self) -> tuple[int, int]:
        return _signed_range(self.threshold_bits)


SPECK = SpeckSpec()
