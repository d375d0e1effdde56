"""`nirc eval`: task accuracy of a trained network, in float and on the chips.

    nirc eval model.nir --data test.npz
    nirc eval model.nir --data test.npz --target speck --source sinabs --calibrate train.npz
    nirc eval model.nir --data test.npz --target speck,xylo --json out.json --plot out.png
    nirc eval model.nir --data test.npz --target xylo --workers 4
    nirc eval model.nir --data test.npz --target spinnaker2,loihi2 --chips 2

Prints the accuracy of the float reference and of each chip's bit-accurate
simulation, their prediction agreement, the confusion matrices, the samples
where chip and float differ, the output spikes per sample and the time taken
(see :mod:`nirc.evaluation`), and the chips side by side: accuracy, energy
and latency per inference, estimates from each chip's
simulated activity and published per-operation figures, not measurements
(docs/estimates.md). ``--json`` and ``--plot`` are written atomically, never
over an input.
"""

from __future__ import annotations

import argparse
import sys

from nirc.commands import chip_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nirc.evaluation import READOUTS

    parser.add_argument("model", help="a .nir file, or a .mlir module of the `nir` or `snn` dialect")
    parser.add_argument("--data", "-d", required=True, metavar="DATA.npz",
                        help="labelled samples: `spikes` [N, T, *shape] (or one array per Input "
                        "name) and `labels` [N] (class indices)")  # fmt: skip
    parser.add_argument("--target", "-t", metavar="CHIP[,CHIP...]",
                        help="also compile for these chips, run their bit-accurate "
                        "simulations and estimate their energy and latency per inference "
                        "(speck, xylo, loihi2, spinnaker2; `all`: every chip, and why a "
                        "chip cannot run the network)")  # fmt: skip
    parser.add_argument("--source", default="nir", metavar="FRAMEWORK[:OPTIONS]",
                        help="read the file as the framework that exported it computed it "
                        "(nir, snntorch, norse, sinabs, rockpool; options such as "
                        "rockpool:max_spikes=31,max_spikes_out=1; docs/profiles.md)")  # fmt: skip
    parser.add_argument("--dt", type=float, help="seconds per time step (default: the graph's "
                        "metadata, the profile's convention, or the target's)")  # fmt: skip
    parser.add_argument("--reset", choices=["zero", "subtract"],
                        help="the reset the model was trained with (default: the profile's)")
    parser.add_argument("--integrator", choices=["euler", "exact"],
                        help="the plain reading's integrator (a --source fixes its own)")
    parser.add_argument("--calibrate", metavar="TRAIN.npz",
                        help="choose the chips' quantization on these samples (the same layout "
                        "as --data; calibrate on training data, measure on test data)")  # fmt: skip
    parser.add_argument("--limit", type=int, metavar="N", help="evaluate the first N samples only")
    parser.add_argument("--readout", choices=READOUTS, default="counts",
                        help="how a prediction is read from the outputs (argmax, ties to the "
                        "lowest index): spike counts (default), the largest or the last "
                        "membrane, the first spike")  # fmt: skip
    parser.add_argument("--pad-steps", default="auto", metavar="N|auto",
                        help="silent steps appended to the chips' runs so that outputs lagging "
                        "the float network are counted (auto: each target's latency)")  # fmt: skip
    parser.add_argument("--allow-approximate", action="store_true",
                        help="let the targets approximate what they cannot express (e.g. drop "
                        "a leak on Speck); the accuracy shows what it costs")  # fmt: skip
    parser.add_argument("--no-costs", action="store_true",
                        help="do not measure what each approximation of a chip costs (by "
                        "default, with labels, the float network runs once per approximation)")  # fmt: skip
    parser.add_argument("--variant", metavar="NAME", help="chip variant (xylo: audio2, audio3, imu)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random calibration inputs")
    parser.add_argument("--json", metavar="OUT.json", help="write every figure as JSON")
    parser.add_argument("--plot", metavar="OUT.png",
                        help="draw the accuracies and confusion matrices (needs matplotlib: "
                        "pip install 'nirc[plot]')")  # fmt: skip
    parser.add_argument("--workers", type=int, metavar="N",
                        help="split the samples over N local processes (Dask: pip install "
                        "'nirc[dask]'); the same results as one process")  # fmt: skip
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on an existing Dask cluster (tcp://host:8786)")
    parser.add_argument("--chunk", type=int, metavar="N",
                        help="samples per vectorized run (default 256)")
    parser.add_argument("--progress", action="store_true",
                        help="draw a progress bar on stderr even when it is not a terminal")
    parser.add_argument("--strict", action="store_true", help="refuse to repair imperfect files")
    chip_options.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from nirc.atomic import check_output_file
    from nirc.evaluation import evaluate, progress_bar, target_names

    chip_options.check(args)
    chips = target_names(args.target)
    if chips:
        chip_options.warn_unread(args, chips)
    for path in (args.json, args.plot):
        if path:
            check_output_file(path)  # before the work: a bad output path fails fast
    if args.plot:
        _matplotlib()
    show = args.progress or bool(getattr(sys.stderr, "isatty", lambda: False)())
    result = evaluate(
        args.model,
        args.data,
        args.target,
        source=args.source,
        dt=args.dt,
        reset=args.reset,
        integrator=args.integrator,
        calibrate=args.calibrate,
        limit=args.limit,
        readout=args.readout,
        pad_steps=args.pad_steps,
        allow_approximate=args.allow_approximate,
        variant=args.variant,
        seed=args.seed,
        strict=args.strict,
        chunk=args.chunk,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=progress_bar() if show else None,
        costs=not args.no_costs,
        compile_options=chip_options.extra(args),
    )
    for line in result.lines():
        print(line)
    written = []
    if args.json:
        write_json(args.json, result)
        written.append(args.json)
    if args.plot:
        write_plot(args.plot, result)
        written.append(args.plot)
    if written:
        print(f"wrote {', '.join(written)}")
    return 0


def write_json(path: str, result) -> None:
    import json

    from nirc.atomic import write_text

    write_text(path, json.dumps(result.to_dict(), indent=1, allow_nan=False) + "\n")


def _matplotlib():
    """matplotlib's pyplot (the Agg backend), or a NircError saying how to get it."""
    from nirc.diagnostics import NircError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NircError(
            "--plot needs matplotlib",
            found="no module `matplotlib`",
            hint="pip install 'nirc[plot]'",
        ) from None
    return plt


def write_plot(path: str, result) -> None:
    """Accuracies side by side, and each run's confusion matrix."""
    from nirc.atomic import atomic_path

    plt = _matplotlib()
    runs = [result.reference] + list(result.runs.values())
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(4 * (len(runs) + 1), 3.6))
    names = ["float" if r.name == "float" else r.name for r in runs]
    accs = [100 * (r.accuracy or 0.0) for r in runs]
    axes[0].bar(names, accs, color=["#555"] + ["#1f77b4"] * (len(runs) - 1))
    axes[0].set_ylim(max(0.0, min(accs) - 10), 100)
    axes[0].set_ylabel("accuracy (%)" if result.labels is not None else "no labels")
    for i, a in enumerate(accs):
        axes[0].text(i, a, f"{a:.2f}", ha="center", va="bottom", fontsize=8)
    for ax, run, name in zip(axes[1:], runs, names):
        m = run.confusion(result.classes)
        if m is None:
            ax.set_axis_off()
            continue
        ax.imshow(m, cmap="Blues")
        ax.set_title(name + ("" if run.name == "float" else f" (agree {100 * run.agreement:.1f}%)"),
                     fontsize=9)  # fmt: skip
        ax.set_xlabel("prediction")
        ax.set_ylabel("label")
    fig.suptitle(f"{result.model} on {result.data}: {result.samples} samples", fontsize=10)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
