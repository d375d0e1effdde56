"""`nirc compile`: lower a model to a chip and write its deployment artifacts.

    nirc compile model.nir --target speck -o out/
    nirc compile model.nir --target speck --reset subtract --calibrate inputs.npz -o out/

Everything is computed before anything is written; the files then appear
atomically (see :func:`nirc.targets.base.write_artifacts`): a failure never
leaves a half-written output directory. Prints a short summary (cores used,
memory, quantization, measured agreement). The same input and options give
byte-identical files.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nirc.targets import TARGETS

    parser.add_argument(
        "model", help="a .nir file, or a .mlir module of the `nir` or `snn` dialect"
    )
    parser.add_argument("--target", "-t", required=True, metavar="CHIP",
                        help=f"the chip: {', '.join(TARGETS)} (`nirc targets` lists their limits)")  # fmt: skip
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="write the artifacts into this directory (created if missing)")  # fmt: skip
    parser.add_argument("--dt", type=float, help="seconds per time step (default: the graph's "
                        "metadata, else the target's: 1 step for Speck)")  # fmt: skip
    parser.add_argument("--reset", choices=["zero", "subtract"],
                        help="the reset the model was trained with (NIR cannot record it): "
                        "v = v_reset (default) or v -= v_threshold; with --source, the "
                        "framework's default")  # fmt: skip
    parser.add_argument("--source", default="nir", metavar="FRAMEWORK",
                        help="read the file as the framework that exported it computed it "
                        "(nir, snntorch, norse, sinabs, rockpool; default nir, the plain reading)")  # fmt: skip
    parser.add_argument("--allow-approximate", action="store_true",
                        help="accept lossy conversions (e.g. drop a LIF's leak) and report the "
                        "measured agreement")  # fmt: skip
    parser.add_argument("--calibrate", metavar="INPUTS.npz",
                        help="data to choose quantization scales on: nirc's inputs (arrays [T, B, *shape] "
                        "per Input) or a labelled data set (`spikes` [N, T, *shape] and `labels`, "
                        "as nirc eval reads; the report then gives accuracies); default: random "
                        "spikes")  # fmt: skip
    parser.add_argument("--calib-steps", type=int, default=100, metavar="T",
                        help="steps of random calibration spikes (default 100)")  # fmt: skip
    parser.add_argument("--calib-batch", type=int, default=2, metavar="B",
                        help="samples of random calibration spikes (default 2)")  # fmt: skip
    parser.add_argument("--calib-rate", type=float, default=0.05, metavar="P",
                        help="spike probability of random calibration inputs (default 0.05)")  # fmt: skip
    parser.add_argument("--check-steps", type=int, default=0, metavar="T",
                        help="also measure the agreement on fresh random inputs of T steps")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    parser.add_argument("--variant", metavar="NAME",
                        help="chip variant, for targets that have several (xylo: audio2 (default), "
                        "audio3, imu)")  # fmt: skip
    parser.add_argument("--strict", action="store_true", help="refuse to repair imperfect files")
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
                    "latency: auto (default) or model: the delayed population models (lif, "
                    "lif_curr_exp) up to 7 steps, relay populations beyond; relay: relay "
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


# the flags only some targets read, and the CompileOptions.extra key each sets
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
    "variant": ("--variant", "variant"),
}


def _unread_flags(args: argparse.Namespace, target: str) -> None:
    """A warning for each given flag the chosen target does not read (a
    Loihi 2 search setting on a Xylo compile), naming the targets that do."""
    from nirc.targets import warn_unread

    for attr, (flag, key) in TARGET_FLAGS.items():
        if getattr(args, attr, None) is not None:
            warn_unread(flag, key, [target])


def run(args: argparse.Namespace) -> int:
    from nirc.diagnostics import NircError
    from nirc.targets import get_target
    from nirc.targets.base import CompileOptions

    for flag, value in (("--calib-steps", args.calib_steps), ("--calib-batch", args.calib_batch)):
        if value < 1:
            raise NircError(f"{flag} must be >= 1", found=str(value))
    if not 0.0 <= args.calib_rate <= 1.0:
        raise NircError("--calib-rate must be in [0, 1]", found=str(args.calib_rate))
    for flag, value in (("--core-neurons", args.core_neurons),
                        ("--core-synapse-memory", args.core_synapse_memory),
                        ("--chips", args.chips)):  # fmt: skip
        if value is not None and value < 1:
            raise NircError(f"{flag} must be >= 1", found=str(value))
    if args.seed < 0:
        raise NircError("--seed must be >= 0", found=str(args.seed))
    if args.check_steps < 0:
        raise NircError("--check-steps must be >= 0", found=str(args.check_steps))
    for flag, value in (("--calib-samples", args.calib_samples),
                        ("--record-steps", args.record_steps)):  # fmt: skip
        if value is not None and value < 1:
            raise NircError(f"{flag} must be >= 1", found=str(value))
    if args.weight_scale is not None and not 0 < args.weight_scale < float("inf"):
        raise NircError("--weight-scale must be a finite number > 0", found=str(args.weight_scale),
                        hint="leave it out to let the quantizer choose a scale per population")  # fmt: skip
    target = get_target(args.target)
    _unread_flags(args, args.target)
    options = CompileOptions(
        dt=args.dt,
        reset=args.reset,
        source=args.source,
        allow_approximate=args.allow_approximate,
        calibrate=args.calibrate,
        seed=args.seed,
        strict=args.strict,
        extra={
            "calib_steps": args.calib_steps,
            "calib_batch": args.calib_batch,
            "calib_rate": args.calib_rate,
            "check_steps": args.check_steps,
            **({"variant": args.variant} if args.variant else {}),
            "capacity": {
                "neurons_per_core": args.core_neurons,
                "memory_per_core": args.core_synapse_memory,
                "chips": args.chips,
            },
            "capacity_file": args.capacity,
            "partition": args.partition or "auto",
            # the spinnaker2 group: only what was given (the target's defaults otherwise)
            **{key: value for key, value in (("delays", args.delays),
                                             ("calib_samples", args.calib_samples),
                                             ("record_steps", args.record_steps),
                                             ("weight_scale", args.weight_scale))
               if value is not None},
            # the loihi2 group: only what was given
            **{key: value for key, value in (("search", args.search), ("replicas", args.replicas))
               if value is not None},
        },
    )
    result = target.compile(args.model, options)
    for line in result.summary:
        print(line)
    if args.output:
        paths = result.write(args.output)
        print(f"wrote {', '.join(str(p) for p in paths)}")
    else:
        print("(no -o given: nothing written)")
    return 0
