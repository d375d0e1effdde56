"""The target-specific flags `nirc compile` and `nirc eval` share: placement
on the many-core chips (Loihi 2, SpiNNaker2), and each of those targets' own
options. One definition, so that what a compile can be told, an evaluation of
the same chip can be told too (a model placed on two chips compiles with
``--chips 2``; its accuracy on them is measured with the same flag), and the
diagnostics that name these flags are true in both commands.
"""

from __future__ import annotations

import argparse
from typing import Any

# the flags only some targets read: argparse attribute -> (flag, CompileOptions.extra key)
TARGET_FLAGS = {
    "core_neurons": ("--core-neurons", "capacity"),
    "core_synapse_memory": ("--core-synapse-memory", "capacity"),
    "chips": ("--chips", "capacity"),
    "capacity": ("--capacity", "capacity_file"),
    "partition": ("--partition", "partition"),
    "delays": ("--delays", "delays"),
    "record_steps": ("--record-steps", "record_steps"),
    "weight_scale": ("--weight-scale", "weight_scale"),
    "search": ("--search", "search"),
    "replicas": ("--replicas", "replicas"),
}
# and with the one every target that calibrates reads
FLAGS = {**TARGET_FLAGS, "calib_samples": ("--calib-samples", "calib_samples")}
COUNTS = ("core_neurons", "core_synapse_memory", "chips", "calib_samples", "record_steps")
PLACEMENT = ("capacity", "capacity_file", "partition")  # extra keys set whether given or not


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The placement, SpiNNaker2 and Loihi 2 groups of flags."""
    group = parser.add_argument_group(
        "placement (many-core targets: loihi2, spinnaker2)",
        "override the target's capacity model (`nirc targets NAME` shows it)",
    )
    group.add_argument("--core-neurons", type=int, metavar="N", help="neurons per core")
    group.add_argument("--core-synapse-memory", type=int, metavar="BYTES",
                       help="memory per core for the synapse-memory formula")  # fmt: skip
    group.add_argument("--chips", type=int, metavar="N", help="chips available")
    group.add_argument("--capacity", metavar="FILE.json",
                       help="capacity model fields by name (e.g. {\"neurons_per_core\": 1024})")  # fmt: skip
    group.add_argument("--partition", choices=["auto", "index"],
                       help="auto: the hypergraph partitioner, kept when it beats index order "
                       "(default); index: the vendors' index-order slicing")  # fmt: skip
    s2 = parser.add_argument_group("spinnaker2", "options of the SpiNNaker2 target (`nirc targets "
                                   "spinnaker2`); the defaults are its own")  # fmt: skip
    s2.add_argument("--delays", choices=["auto", "model", "relay"],
                    help="where the float network needs more delay than the projections' "
                    "latency: auto (default): relay populations (int8 weights), the delayed "
                    "population models (lif, lif_curr_exp: up to 7 steps, 4-bit weights) "
                    "only where 4 bits hold the weights exactly or the relays do not fit; "
                    "model: the delayed models up to 7 steps, relays beyond; relay: relay "
                    "populations only")  # fmt: skip
    s2.add_argument("--calib-samples", type=int, metavar="N",
                    help="samples of a labelled --calibrate data set the quantizer simulates "
                    "(default 256; the other targets that calibrate read it too)")  # fmt: skip
    s2.add_argument("--record-steps", type=int, metavar="N",
                    help="the run length each PE's recording memory is sized for (default: the "
                    "calibration inputs' length plus the latency)")  # fmt: skip
    s2.add_argument("--weight-scale", type=float, metavar="S",
                    help="one weight scale (chip units per float unit) for every population "
                    "instead of the search")  # fmt: skip
    l2 = parser.add_argument_group("loihi2", "options of the Loihi 2 target (`nirc targets "
                                   "loihi2`, docs/loihi2.md); the defaults are its own")  # fmt: skip
    l2.add_argument("--search", choices=["fast", "full", "quick"],
                    help="the scale search: fast (default with --calibrate: a threshold per "
                    "approximated layer, layer by layer, on 256 samples), full (every scale, "
                    "clip, gain and replica count judged end to end, on up to 1024 samples; "
                    "slower), quick (default on random spikes)")  # fmt: skip
    l2.add_argument("--replicas", metavar="auto|none|N",
                    help="dense layers whose neurons send spike counts or reset by "
                    "subtraction: auto (default: built of up to 4 replicas per neuron, with "
                    "relays or current encoders, where the search finds it closer to the float "
                    "network), none (Loihi's neuron as it is), or N replicas")  # fmt: skip


def check(args: argparse.Namespace) -> None:
    """Refuse values no target could use, before any work."""
    from nirc.diagnostics import NircError

    for attr in COUNTS:
        flag, value = FLAGS[attr][0], getattr(args, attr)
        if value is not None and value < 1:
            raise NircError(f"{flag} must be >= 1", found=str(value))
        if value is not None and value >= 2**63:  # the IR's and numpy's int64
            raise NircError(f"{flag} must be below 2**63", found=str(value))
    if args.weight_scale is not None and not 0 < args.weight_scale < float("inf"):
        raise NircError("--weight-scale must be a finite number > 0", found=str(args.weight_scale),
                        hint="leave it out to let the quantizer choose a scale per population")  # fmt: skip


def given(args: argparse.Namespace) -> list[str]:
    """The flags of these groups given on the command line."""
    return [flag for attr, (flag, _) in FLAGS.items() if getattr(args, attr) is not None]


def warn_unread(args: argparse.Namespace, chosen: list[str]) -> None:
    """A warning for each given flag none of the ``chosen`` targets reads (a
    Loihi 2 search setting on a Xylo compile), naming the targets that do."""
    from nirc.targets import warn_unread as warn_option

    for attr, (flag, key) in TARGET_FLAGS.items():
        if getattr(args, attr, None) is not None:
            warn_option(flag, key, chosen)


def extra(args: argparse.Namespace) -> dict[str, Any]:
    """The CompileOptions ``extra`` fields these flags set: the capacity
    overrides and the partitioner always (None: the target's own), the other
    targets' options only when given (their defaults are the targets')."""
    given = {key: getattr(args, attr) for attr, (_, key) in FLAGS.items()
             if key not in PLACEMENT and getattr(args, attr) is not None}  # fmt: skip
    return {
        "capacity": {
            "neurons_per_core": args.core_neurons,
            "memory_per_core": args.core_synapse_memory,
            "chips": args.chips,
        },
        "capacity_file": args.capacity,
        "partition": args.partition or "auto",
        **given,
    }
