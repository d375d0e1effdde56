"""The Xylo variants and their limits (see TARGETS.md, "Xylo").

One frozen :class:`XyloSpec` per chip variant. Generic passes and the
specification checker read every number they need from here; nothing else in
nirc hard-codes a Xylo limit.

Numbers marked *TARGETS.md* are the table there; the rest are the number formats
of xylosim's bit-accurate model (int8 weights, int16 states, 4-bit dashes, the
event caps of its evolve loop).

Energy and latency (:data:`FIGURES`, see :mod:`nirc.targets.estimates` and
docs/estimates.md): SynSense publishes no per-operation energies for Xylo;
what is published is the measured power of whole applications. nirc prices an
inference as that dynamic inference power times the inference's duration
(Xylo runs in real time, one step per ``dt``), and reports the synaptic
events and neuron updates unpriced.
"""

from __future__ import annotations

from dataclasses import dataclass

from nirc.diagnostics import NircError, closest
from nirc.targets.estimates import ChipFigures, Figure

_BOS_MUIR_2024 = ("Bos & Muir, \"Micro-power spoken keyword spotting on Xylo Audio 2\", "
                  "arXiv:2406.15112 (2024), abstract")
_BOS_MUIR_2022 = ("Bos & Muir, \"Sub-mW Neuromorphic SNN audio processing applications with "
                  "Rockpool and Xylo\", arXiv:2208.12991 (2022), abstract")

FIGURES = ChipFigures(
    chip="xylo",
    energy={},
    power=Figure(291e-6, "W", "second", "measured by the vendor", _BOS_MUIR_2024,
                 "dynamic inference power of the Aloha keyword-spotting network on Xylo Audio "
                 "2 (6.6 uJ per inference there); another network's activity changes it (the "
                 "2022 paper measured < 100 uW for an ambient-audio network), and nirc uses "
                 "the same figure for Audio 3 and IMU, for which none is published"),
    latency="real-time",
    unpriced={
        "synaptic_events": "no energy per synaptic operation is published for Xylo",
        "neuron_updates": "no energy per neuron update is published for Xylo",
    },
    sources=(_BOS_MUIR_2024 + ": 291 uW dynamic inference power, 6.6 uJ/inference (measured)",
             _BOS_MUIR_2022 + ": < 100 uW inference power, 100 ms latency on an ambient-audio "
             "task (measured; not used in the estimate)",
             "latency = steps x dt: Xylo processes one time step per dt in real time"),
)


@dataclass(frozen=True)
class XyloSpec:
    """The limits of one Xylo variant.

    Windows: ``input_window`` is how many of the *first* hidden neurons input
    weights may target, ``output_window`` how many of the *last* hidden neurons
    output weights may come from; ``None`` means the whole hidden population.
    """

    name: str  # nirc's short name: "audio2"
    part: str  # SynSense part number: "syns61201"
    title: str  # "Xylo Audio 2"
    input_channels: int
    hidden_neurons: int
    output_neurons: int
    synapses_per_hidden: int  # current states per hidden neuron
    max_fan_out: int  # distinct recurrent targets per hidden neuron
    input_window: int | None
    output_window: int | None
    weight_bits: int = 8
    state_bits: int = 16  # synaptic current, membrane, threshold, bias
    dash_max: int = 15  # dashes are 4-bit right shifts, 0..dash_max
    weight_shift_max: int = 15  # global left shift of a weight matrix (4-bit field)
    max_input_events: int = 15  # per input channel per time step
    max_hidden_spikes: int = 31  # per hidden neuron per time step
    max_output_spikes: int = 1  # per output neuron per time step
    max_alias_targets: int = 1  # alias targets per hidden neuron
    figures: ChipFigures = FIGURES  # published figures, with their sources

    @property
    def weight_min(self) -> int:
        return -(1 << (self.weight_bits - 1))

    @property
    def weight_max(self) -> int:
        return (1 << (self.weight_bits - 1)) - 1

    @property
    def state_min(self) -> int:
        return -(1 << (self.state_bits - 1))

    @property
    def state_max(self) -> int:
        return (1 << (self.state_bits - 1)) - 1

    def describe(self) -> str:
        """One line for `nirc targets`."""
        win_in = "all" if self.input_window is None else f"first {self.input_window}"
        win_out = "all" if self.output_window is None else f"last {self.output_window}"
        return (
            f"{self.title} ({self.part}): {self.input_channels} inputs, "
            f"{self.hidden_neurons} hidden, {self.output_neurons} outputs, "
            f"{self.synapses_per_hidden} synapse(s)/neuron, fan-out {self.max_fan_out}, "
            f"inputs to {win_in} hidden, outputs from {win_out} hidden"
        )


AUDIO2 = XyloSpec(
    name="audio2",
    part="syns61201",
    title="Xylo Audio 2",
    input_channels=16,
    hidden_neurons=1000,
    output_neurons=8,
    synapses_per_hidden=2,
    max_fan_out=64,
    input_window=None,
    output_window=None,
)

AUDIO3 = XyloSpec(
    name="audio3",
    part="syns65302",
    title="Xylo Audio 3",
    input_channels=16,
    hidden_neurons=992,
    output_neurons=32,
    synapses_per_hidden=2,
    max_fan_out=1024,
    input_window=128,
    output_window=128,
)

IMU = XyloSpec(
    name="imu",
    part="syns63300",
    title="Xylo IMU",
    input_channels=16,
    hidden_neurons=496,
    output_neurons=16,
    synapses_per_hidden=1,
    max_fan_out=512,
    input_window=128,
    output_window=128,
)

VARIANTS: dict[str, XyloSpec] = {v.name: v for v in (AUDIO2, AUDIO3, IMU)}


def get_variant(name: str) -> XyloSpec:
    """The variant called ``name`` (short name such as ``audio2``, or part number
    such as ``syns61201``, case-insensitive)."""
    key = name.strip().lower()
    if key in VARIANTS:
        return VARIANTS[key]
    for v in VARIANTS.values():
        if v.part == key:
            return v
    valid = [f"{v.name} ({v.part})" for v in VARIANTS.values()]
    guess = closest(key, list(VARIANTS) + [v.part for v in VARIANTS.values()])
    hint = f"did you mean '{guess}'?" if guess else None
    raise NircError(
        f"unknown Xylo variant '{name}'",
        where="--variant",
        expected="one of " + ", ".join(valid),
        found=repr(name),
        hint=hint,
    )
