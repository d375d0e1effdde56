"""The numbers of Intel Loihi 2 as nirc uses them.

Sources, and how sure each number is:

- number formats (checked against lava-nc 0.10.0 / lava-dl 0.6.0 running
  here, see TARGETS.md): 8-bit weight mantissas with a per-layer exponent
  (``weight_exp``), 12-bit decays (``du``/``dv``: the state keeps
  ``(4096 - decay) / 4096`` per step), 17-bit threshold mantissa
  (``vth``, compared with ``v`` after a left shift by 6), 13-bit bias
  mantissa (netx stores it as int16, lava shifts it left by ``bias_exp`` = 6),
  24-bit ``u`` (wraps) and ``v`` (saturates);
- chip and systems (public figures: Intel's Loihi 2 technology brief, 2021;
  Intel's Kapoho Point and Hala Point announcements, 2022 and 2024): 128
  neuron cores per chip, up to 8,192 neurons per core, about 120 million
  synapses per chip, 128 KiB of SRAM per core; Kapoho Point boards carry 8
  chips, Hala Point holds 1,152;
- per-core memory: Intel does not publish the exact formula (the synapse
  encodings and the neuron-state layout are proprietary). nirc's model,
  :class:`Loihi2Capacity`, is *nirc's estimate*, stated here so that the
  user can judge and override it (``--core-neurons``,
  ``--core-synapse-memory``, ``--chips``, ``--capacity FILE.json``):

  ========================  ======  ==========================================
  item                      bytes   why
  ========================  ======  ==========================================
  neuron                    8       24-bit u + 24-bit v + a 13-bit bias
  stored synapse            2       8-bit weight mantissa + 8-bit index
                                    (sparse encoding of a dense projection)
  shared conv weight        1       an 8-bit kernel weight, stored once per
                                    output channel on the core
  input axon                4       one axon-map entry per presynaptic neuron
  source slice              8       one routing entry per (layer, core) source
  per core                  1024    neuron-group profiles (decays, threshold,
                                    exponents) and the layer's microcode
  ========================  ======  ==========================================

- energy and latency per operation (:data:`FIGURES`; docs/estimates.md): Intel
  publishes no per-operation figures for Loihi 2 (its technology brief gives
  relative improvements over Loihi). nirc uses **Loihi 1's** figures from Davies
  et al., IEEE Micro 38(1), 2018, Table 2, and says so wherever they appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nirc.passes.partition import CapacityModel
from nirc.targets.estimates import ChipFigures, Figure

_DAVIES_2018 = ("Davies et al., \"Loihi: A Neuromorphic Manycore Processor with On-Chip "
                "Learning\", IEEE Micro 38(1), 2018, Table 2")
_LOIHI1 = "a Loihi 1 figure: Loihi 2's per-operation figures are not published"

FIGURES = ChipFigures(
    chip="loihi2",
    energy={
        "synaptic_events": Figure(23.6e-12, "J", "synaptic_event", "vendor figure",
                                  _DAVIES_2018 + ", energy per synaptic spike op (min)", _LOIHI1),
        "neuron_updates": Figure(52e-12, "J", "neuron_update", "vendor figure",
                                 _DAVIES_2018 + ", energy per neuron update (inactive)",
                                 _LOIHI1 + "; an active neuron costs 81 pJ, so this is the lower "
                                 "of the two"),
        "spikes": Figure(1.7e-12, "J", "spike", "vendor figure",
                         _DAVIES_2018 + ", within-tile spike energy", _LOIHI1),
        "spikes_between_cores": Figure(3.5e-12, "J", "spike_between_cores", "derived",
                                       _DAVIES_2018 + ", energy per tile hop, 3.0 pJ east-west "
                                       "/ 4.0 pJ north-south: their mean",
                                       _LOIHI1 + "; one hop per core-to-core spike (the mesh "
                                       "distance is not modelled: a lower bound)"),
    },
    time={
        "synaptic_events": Figure(3.5e-9, "s", "synaptic_event", "vendor figure",
                                  _DAVIES_2018 + ", time per synaptic spike op (max)", _LOIHI1),
        "neuron_updates": Figure(5.3e-9, "s", "neuron_update", "vendor figure",
                                 _DAVIES_2018 + ", time per neuron update (inactive; active: 8.4 "
                                 "ns)", _LOIHI1),
    },
    step_overhead=Figure(113e-9, "s", "step", "vendor figure",
                         _DAVIES_2018 + ", mesh-wide barrier synchronization, 113 ns for 32 "
                         "tiles (465 ns for 384 tiles)", _LOIHI1),
    latency="per-step work",
    unpriced={"spikes_between_chips": "no chip-to-chip energy per spike is published"},
    sources=(_DAVIES_2018 + " (Loihi 1: synaptic op 23.6 pJ / 3.5 ns, neuron update 52 pJ / "
             "5.3 ns inactive and 81 pJ / 8.4 ns active, within-tile spike 1.7 pJ, tile hop "
             "3.0-4.0 pJ, barrier 113-465 ns); Loihi 2's per-operation figures are not "
             "published, Intel's Loihi 2 brief (2021) gives only relative improvements",),
)

_KI = 1024


@dataclass(frozen=True)
class Loihi2Capacity(CapacityModel):
    """The partitioner's capacity model of Loihi 2 (see the module docstring
    for each number). The memory formula is the linear one of
    :class:`~nirc.passes.partition.CapacityModel` with Loihi 2's costs."""


def _default_capacity() -> Loihi2Capacity:
    return Loihi2Capacity(
        target="loihi2",
        neurons_per_core=8192,
        memory_per_core=128 * _KI,
        cores_per_chip=128,
        chips=1,
        bytes_per_neuron=8.0,
        bytes_per_synapse=2.0,
        bytes_per_shared_weight=1.0,
        bytes_per_input_axon=4.0,
        bytes_per_source_slice=8.0,
        bytes_per_recorded=0.0,
        fixed_bytes=1024.0,
        core_hop_cost=1.0,
        chip_hop_cost=10.0,
        sources=(
            ("neurons_per_core", "Intel Loihi 2 technology brief (2021): up to 8,192 per core"),
            ("memory_per_core", "128 KiB SRAM per neuron core (public figure)"),
            ("cores_per_chip", "Intel Loihi 2 technology brief (2021): 128 neuron cores"),
            ("chips", "one chip by default; Kapoho Point: 8, Hala Point: 1,152 (--chips)"),
            ("bytes_per_*", "nirc's estimate: the exact formula is proprietary "
             "(see nirc.targets.loihi2.spec)"),
        ),
    )


@dataclass(frozen=True)
class Loihi2Spec:
    """Every number format and size of Loihi 2 nirc checks.

    Widths are in bits, two's complement for signed values. ``*_range``
    properties give inclusive value ranges."""

    name: str = "loihi2"
    title: str = "Intel Loihi 2 (lava-dl netx, lava fixed_pt)"
    weight_bits: int = 8  # weight mantissa, signed
    weight_exp_range: tuple[int, int] = (-8, 7)  # per-layer weight exponent
    decay_bits: int = 12  # du, dv in 0..4096 (4096 = the whole state decays)
    decay_unit: int = 4096
    threshold_bits: int = 17  # vth mantissa, unsigned: 0 .. 2^17 - 1
    threshold_shift: int = 6  # v is compared with vth << 6
    bias_bits: int = 13  # bias mantissa, signed
    bias_exp: int = 6  # netx's bias exponent: bias_mant << 6 enters v
    state_bits: int = 24  # u (wraps) and v (saturates)
    activation_shift: int = 6  # a synapse's sum enters u shifted left by 6
    max_delay: int = 62  # netx clamps larger delays to 62
    cores_per_chip: int = 128
    neurons_per_core: int = 8192
    memory_per_core: int = 128 * _KI
    chips_per_board: int = 8  # Kapoho Point
    max_chips: int = 1152  # Hala Point
    synapses_per_chip: int = 120_000_000  # public figure, not enforced
    capacity: Loihi2Capacity = field(default_factory=_default_capacity)
    figures: ChipFigures = FIGURES  # published figures, with their sources

    @property
    def weight_range(self) -> tuple[int, int]:
        return -(1 << (self.weight_bits - 1)), (1 << (self.weight_bits - 1)) - 1

    @property
    def bias_range(self) -> tuple[int, int]:
        return -(1 << (self.bias_bits - 1)), (1 << (self.bias_bits - 1)) - 1

    @property
    def threshold_range(self) -> tuple[int, int]:
        return 0, (1 << self.threshold_bits) - 1

    @property
    def decay_range(self) -> tuple[int, int]:
        return 0, self.decay_unit

    @property
    def state_range(self) -> tuple[int, int]:
        """The range v saturates into (lava clips to +-(2^23 - 1))."""
        return -((1 << (self.state_bits - 1)) - 1), (1 << (self.state_bits - 1)) - 1


LOIHI2 = Loihi2Spec()

__all__ = ["LOIHI2", "Loihi2Capacity", "Loihi2Spec"]
