"""The SpiNNaker2 machine and its limits, as numbers the rest of nirc reads.

Sources (see TARGETS.md, "SpiNNaker2"): py-spinnaker2's network model and
population types (read in a public copy of ``s2_nir.py`` and the NIR paper's
scripts), NESTML's SpiNNaker2 templates (the LIF app's memory regions and the
16-bit synapse word), Manchester's SpiNNaker2 machine model (152 application
processing elements (PEs) a chip, 128 KiB SRAM each: 32 KiB instruction and
96 KiB data; a router of 16,384 entries; boards of 48 chips).

The per-PE memory formula (:class:`SpiNNaker2Capacity`) is *modelled* from
those descriptions, not measured on a board: every term is a field here, and
``--core-neurons``, ``--core-synapse-memory`` and ``--capacity FILE.json``
override the numbers.

Energy and latency (:data:`FIGURES`, docs/estimates.md): py-spinnaker2 runs
the network in real time, one step per timer tick (1 ms by default, whatever
the model's ``dt``), so the latency is steps x 1 ms. The one per-operation
energy nirc uses, about 10 pJ per synaptic event, is an approximate figure from the SpiNNaker2 papers (Mayr et
al. 2019; Hoeppner et al. 2021) that nirc could not re-check against their
tables; neuron updates and routed spikes are reported unpriced.

Importing this module is cheap (it imports only the capacity model's
dataclasses): the partitioner reads ``SPINNAKER2.capacity`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nirc.passes.partition import CapacityModel, CoreLoad
from nirc.targets.estimates import ChipFigures, Figure

_MAYR_2019 = ("Mayr, Hoeppner, Furber, \"SpiNNaker 2: A 10 Million Core Processor System for "
              "Brain Simulation and Machine Learning\", arXiv:1911.02385 (2019)")
_HOEPPNER_2021 = ("Hoeppner et al., \"The SpiNNaker 2 Processing Element Architecture for "
                  "Hybrid Digital Neuromorphic Computing\", arXiv:2103.08392 (2021)")

FIGURES = ChipFigures(
    chip="spinnaker2",
    energy={
        "synaptic_events": Figure(10e-12, "J", "synaptic_event", "approximate",
                                  _MAYR_2019 + "; " + _HOEPPNER_2021,
                                  "about 10 pJ per synaptic event on the 22 nm FDSOI PE, an "
                                  "order of magnitude as these papers state it; not re-checked "
                                  "against their tables, and the ARM core's per-neuron work is "
                                  "not in it"),
    },
    latency="real-time",
    step_time=Figure(1e-3, "s", "step", "software default",
                     "py-spinnaker2's hardware timer tick (sys_tick_in_s, 1 ms unless "
                     "run_spinnaker2.py --sys-tick says otherwise)",
                     "the machine steps on this tick whatever the model's dt"),
    unpriced={
        "neuron_updates": "no energy per neuron update of the PE's software LIF is published",
        "spikes_between_cores": "no energy per NoC packet is published in the sources cited",
        "spikes_between_chips": "no energy per chip-to-chip packet is published in the sources "
                                "cited",
    },
    sources=(_MAYR_2019 + " and " + _HOEPPNER_2021 + ": about 10 pJ per synaptic event "
             "(approximate, not re-checked); latency = steps x 1 ms: py-spinnaker2 runs in real "
             "time on its 1 ms timer tick by default, whatever the model's dt",),
)

WORD = 4  # bytes: the Cortex-M4F's 32-bit word

# The regions the LIF app keeps in a PE's data memory (routing table, master
# population table, synapse rows, neuron parameters and state, recordings)
# get about 67 KB of the 96 KiB; the rest holds the stack, the heap of the
# runtime and the ring of received spike packets.
REGION_BYTES = 67 * 1024


@dataclass(frozen=True)
class SpiNNaker2Capacity(CapacityModel):
    """The partitioner's capacity model with the LIF app's memory regions.

    Per PE, in bytes (:meth:`memory`):

    - ``fixed_bytes``: the data specification header, global parameters,
      the routing-target table and the log pointers;
    - ``bytes_per_neuron``: neuron parameters and state (``lif_no_delay``:
      threshold, alpha_decay, i_offset, v_reset, v and the input
      accumulator: 6 words; a network with other models uses the largest of
      its models, see :meth:`SpiNNaker2Spec.capacity_for`);
    - ``bytes_per_synapse``: one 16-bit synapse word per stored synapse
      (weight | [delay | exc/inh |] 8-bit target index);
    - ``bytes_per_input_axon``: a synapse row per presynaptic neuron that
      reaches the PE: a one-word header plus the half word a row of an odd
      length pads to;
    - ``bytes_per_source_slice``: a master population table entry (key, mask,
      row address and length) per (population, PE) source;
    - ``bytes_per_shared_weight``: ``lif_conv2d`` keeps its int8 kernel
      once per PE (read by the MLA);
    - recordings, which are not linear in the neurons: spikes cost
      ``(n + 31) // 32 + 2`` words per recorded step, voltages ``n + 1`` words
      per recorded step (they stay in the PE until the run ends);
      ``recorded_steps`` is the length of the recorded run and
      ``record_voltages`` whether the recorded neurons record ``v`` too.

    ``exclusive_cores`` is always true: a PE holds one population's slice.
    """

    recorded_steps: int = 1000
    record_voltages: bool = False
    # py-spinnaker2's mapper runs one population slice per PE: the partitioner
    # places that way (a capacity file cannot turn it off, see rules.check_capacity)
    exclusive_cores: bool = True

    def recording_bytes(self, recorded: int, *, voltages: bool | None = None) -> int:
        """Bytes of the recordings of ``recorded`` neurons over
        ``recorded_steps`` steps (spikes, and voltages when asked)."""
        if recorded <= 0 or self.recorded_steps <= 0:
            return 0
        words = (recorded + 31) // 32 + 2
        if self.record_voltages if voltages is None else voltages:
            words += recorded + 1
        return WORD * words * self.recorded_steps

    def memory(self, load: CoreLoad) -> float:
        linear = (
            self.fixed_bytes
            + self.bytes_per_neuron * load.neurons
            + self.bytes_per_synapse * load.synapses
            + self.bytes_per_shared_weight * load.shared_weights
            + self.bytes_per_input_axon * load.input_axons
            + self.bytes_per_source_slice * load.source_slices
        )
        return linear + self.recording_bytes(load.recorded)


@dataclass(frozen=True)
class PopulationModel:
    """One py-spinnaker2 population type, as nirc uses it.

    ``state_words`` are the words of parameters and state per neuron;
    ``max_atoms_per_core`` the default slice size written for it;
    ``weight_range`` / ``delay_range`` the integer ranges of its synapses
    (``None``: it receives no synapses); ``verified`` says whether nirc's
    simulator of the model was checked against the vendor's output
    (otherwise it is modelled from the model's description).
    """

    name: str
    state_words: int
    max_atoms_per_core: int
    weight_range: tuple[int, int] | None
    delay_range: tuple[int, int] | None
    verified: bool
    summary: str


# The 8-bit target index of the 16-bit synapse word bounds a PE to 256
# neurons; 256 is also what public lif_conv2d scripts use (the paper CNN
# scripts use 128 for its larger layers), and for lif_no_delay it keeps the
# per-tick neuron loop (~50 cycles a neuron) far inside a 1 ms tick at the
# PE's 150 MHz while leaving memory as the binding limit for dense layers.
# (Public lif_no_delay scripts use 16 or 10 for tiny networks only.)
POPULATION_MODELS: dict[str, PopulationModel] = {
    m.name: m
    for m in (
        PopulationModel(
            "spike_list", 2, 256, None, None, True,
            "input: a list of spike steps per neuron",
        ),
        PopulationModel(
            "lif_no_delay", 6, 256, (-127, 127), (0, 0), True,
            "LIF/IF, int8 weights, no synaptic delay: verified against the paper trace",
        ),
        PopulationModel(
            "lif_curr_exp_no_delay", 12, 256, (-127, 127), (0, 0), False,
            "current-based LIF, int8 weights: modelled from its description",
        ),
        PopulationModel(
            "lif_conv2d", 6, 128, (-127, 127), (0, 0), False,
            "LIF/IF fed by a Conv2DProjection (MLA): modelled from its description",
        ),
        PopulationModel(
            "lif", 14, 256, (-15, 15), (0, 7), False,
            "LIF with delays: 4-bit weights, delays 0..7: modelled from its description",
        ),
        PopulationModel(
            "lif_curr_exp", 28, 256, (-15, 15), (0, 7), False,
            "current-based LIF with delays: modelled from its description",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class SpiNNaker2Spec:
    """The SpiNNaker2 machine (see the module docstring)."""

    name: str = "spinnaker2"
    pes_per_chip: int = 152  # application processing elements
    system_cores_per_chip: int = 2
    chips_per_board: int = 48
    pe_sram_bytes: int = 128 * 1024
    pe_instruction_bytes: int = 32 * 1024
    pe_data_bytes: int = 96 * 1024
    region_bytes: int = REGION_BYTES
    router_entries: int = 16_384  # per chip
    chip_links: int = 6
    dram_bytes_per_chip: int = 1 << 30  # LPDDR4
    clock_hz: int = 150_000_000  # the PE clock py-spinnaker2 runs at by default
    max_delay: int = 7  # `lif`/`lif_curr_exp`: 3-bit delay (hardware delay = delay + 1)
    models: dict[str, PopulationModel] = field(default_factory=lambda: dict(POPULATION_MODELS))
    figures: ChipFigures = FIGURES  # published figures, with their sources
    capacity: SpiNNaker2Capacity = field(
        default_factory=lambda: SpiNNaker2Capacity(
            target="spinnaker2",
            neurons_per_core=256,
            memory_per_core=REGION_BYTES,
            cores_per_chip=152,
            chips=48,
            bytes_per_neuron=6 * WORD,
            bytes_per_synapse=2,
            bytes_per_shared_weight=1,
            bytes_per_input_axon=WORD + 2,
            bytes_per_source_slice=3 * WORD,
            fixed_bytes=64 * WORD,
            place_inputs=True,
            core_hop_cost=1.0,
            chip_hop_cost=10.0,
            sources=(
                ("cores_per_chip", "152 application PEs per chip (SpiNNaker2 machine model)"),
                ("chips", "one board of 48 chips"),
                ("memory_per_core", "about 67 KB of the 96 KiB data SRAM hold the LIF app's "
                 "regions (NESTML's SpiNNaker2 templates)"),
                ("neurons_per_core", "256: the 8-bit target index of the synapse word"),
                ("bytes_per_synapse", "a 16-bit synapse word"),
                ("recording", "spikes (n + 31)/32 + 2 words, voltages n + 1 words per step"),
                ("exclusive_cores", "py-spinnaker2's mapper runs one population slice per PE"),
            ),
        )
    )

    def __hash__(self) -> int:  # the models dict makes the default hash fail
        return hash(self.name)

    def capacity_for(
        self, models: set[str] | frozenset[str], *, recorded_steps: int, record_voltages: bool
    ) -> SpiNNaker2Capacity:
        """The capacity model for a network using ``models``: the per-neuron
        cost of its largest model, the recorded run's length."""
        words = max((self.models[m].state_words for m in models), default=6)
        return replace(
            self.capacity,
            bytes_per_neuron=words * WORD,
            recorded_steps=recorded_steps,
            record_voltages=record_voltages,
        )

    def describe(self) -> str:
        c = self.capacity
        return (
            f"SpiNNaker2: {self.pes_per_chip} PEs/chip, {self.chips_per_board} chips/board, "
            f"{self.pe_data_bytes // 1024} KiB data SRAM per PE ({c.memory_per_core} B for the "
            f"LIF app's regions), {c.neurons_per_core} neurons/PE, router "
            f"{self.router_entries} entries/chip"
        )


SPINNAKER2 = SpiNNaker2Spec()

__all__ = ["POPULATION_MODELS", "PopulationModel", "SPINNAKER2", "SpiNNaker2Capacity",
           "SpiNNaker2Spec", "WORD"]  # fmt: skip
