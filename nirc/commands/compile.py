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
from pathlib import Path

from nirc.commands import chip_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nirc.targets import TARGETS

    parser.add_argument(
        "model", help="a .nir file, or a .mlir module of the `nir` or `snn` dialect"
    )
    parser.add_argument("--target", "-t", required=True, metavar="CHIP",
                        help=f"the chip: {', '.join(TARGETS)} (`nirc targets` lists their limits); "
                        "`all`: every chip, each into DIR/CHIP, and why a chip cannot run the network")  # fmt: skip
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
    chip_options.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from nirc.diagnostics import NircError, TimeStepUnknown
    from nirc.targets import TARGETS, asks_for_all, get_target, warn_unread
    from nirc.targets.base import CompileOptions

    for flag, value in (("--calib-steps", args.calib_steps), ("--calib-batch", args.calib_batch)):
        if value < 1:
            raise NircError(f"{flag} must be >= 1", found=str(value))
    if not 0.0 <= args.calib_rate <= 1.0:
        raise NircError("--calib-rate must be in [0, 1]", found=str(args.calib_rate))
    if args.seed < 0:
        raise NircError("--seed must be >= 0", found=str(args.seed))
    if args.check_steps < 0:
        raise NircError("--check-steps must be >= 0", found=str(args.check_steps))
    chip_options.check(args)
    every = asks_for_all(args.target)
    target = None if every else get_target(args.target)  # an unknown name: the list of chips
    names = sorted(TARGETS) if every else [args.target]
    chip_options.warn_unread(args, names)
    if args.variant is not None:
        warn_unread("--variant", "variant", names)
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
            **chip_options.extra(args),
        },
    )
    if target is not None:
        _compile_one(target, args.model, options, args.output)
        return 0
    unfit: dict[str, str] = {}
    for name in names:  # `all`: each chip into its own directory; a chip that cannot, named
        try:
            out = None if args.output is None else str(Path(args.output) / name)
            _compile_one(get_target(name), args.model, options, out)
        except TimeStepUnknown:
            raise  # not a chip's limit: the file needs --dt (or --source) for every chip
        except NircError as e:
            unfit[name] = e.render().splitlines()[0]
            print(f"{name}: cannot run this network: {unfit[name]}")
    if len(unfit) == len(names):
        raise NircError("no chip can run this network", expected=f"one of {', '.join(names)}",
                        found="; ".join(f"{n}: {why}" for n, why in unfit.items()))  # fmt: skip
    return 0


def _compile_one(target, model, options, output: str | None) -> None:
    result = target.compile(model, options)
    for line in result.summary:
        print(line)
    if output:
        paths = result.write(output)
        print(f"wrote {', '.join(str(p) for p in paths)}")
    else:
        print("(no -o given: nothing written)")
