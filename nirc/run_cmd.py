"""`nirc run`: simulate a graph with the reference interpreter.

    nirc run model.nir --input x.npz --dt 1e-4 -o out.npz --record lif1.v,fc2
    nirc run model.nir --input random:p=0.1,T=1000,B=4,seed=0 --plot out.png

Prints a short summary (steps, spikes and rates per output, time taken); shows
a progress bar on a terminal when a run takes more than a couple of seconds.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from nirc.commands import chip_options
from nirc.diagnostics import NircError
from nirc.profiles import SOURCES

PROGRESS_AFTER_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", help="a .nir file, or a .mlir module of the `nir` or `snn` dialect"
    )
    parser.add_argument("--level", choices=["nir", "snn"], default="nir",
                        help="simulate the nir graph (default) or its discretized snn form "
                        "(an snn module always runs at the snn level)")  # fmt: skip
    parser.add_argument(
        "--input",
        "-i",
        metavar="SPEC",
        help="an .npz with one array per Input node ([T, *shape] or [T, B, *shape]), a NIRData "
        "file (nir.write_data: per Input node, time-gridded or event data), or "
        "random:p=0.1,T=1000,B=1,seed=0 for Bernoulli spikes",
    )
    parser.add_argument("--dt", type=float, help="seconds per step (default: graph metadata, "
                        "else inferred from r == tau/dt with a warning)")  # fmt: skip
    parser.add_argument("--integrator", choices=["euler", "exact"],
                        help="forward Euler (default) or the exact zero-order-hold solution "
                        "(a --source profile integrates as its framework does)")  # fmt: skip
    parser.add_argument("--reset", choices=["zero", "subtract"],
                        help="after a spike: v = v_reset (default) or v -= v_threshold; with "
                        "--source, the framework's reset (default: its default, e.g. "
                        "snnTorch's subtract)")  # fmt: skip
    parser.add_argument("--source", default="nir", metavar="FRAMEWORK[:KEY=VALUE,...]",
                        help="simulate the file as the framework that exported it computed it "
                        f"({', '.join(SOURCES)}, with options such as rockpool:max_spikes=31; "
                        "docs/profiles.md; runs at the snn level); default nir, the plain "
                        "reading. `nirc show` says which one a file most likely came from")  # fmt: skip
    parser.add_argument("--steps", type=int, help="number of steps (default: the input's length)")
    parser.add_argument("--batch", type=int, help="batch size for random inputs, or to repeat "
                        "an unbatched input")  # fmt: skip
    parser.add_argument("--record", metavar="NODE[.STATE],...", default="",
                        help="also save these: a node's output (`fc2`) or state (`lif1.v`, `lif1.i`; at "
                        "the snn level also `lif1.v_pre`, v before the step's reset)")  # fmt: skip
    parser.add_argument("-o", "--output", metavar="OUT.npz",
                        help="write outputs and probes here (.npz, or NIRData for .nird/.nirdata)")  # fmt: skip
    parser.add_argument("--output-format", choices=["npz", "nirdata"],
                        help="the -o file's format (default: from its name, else npz)")  # fmt: skip
    parser.add_argument("--spike-format", choices=["events", "grid"], default="events",
                        help="NIRData spikes as EventData (default) or TimeGriddedData")  # fmt: skip
    parser.add_argument("--plot", metavar="OUT.png", help="draw a spike raster and the recorded "
                        "voltages (needs matplotlib: pip install 'nirc[plot]')")  # fmt: skip
    parser.add_argument("--seed", type=int, help="seed for random inputs (overrides seed=)")
    parser.add_argument("--mode", choices=["fast", "step"], default="fast",
                        help="`step` evaluates one step at a time (the slow oracle)")  # fmt: skip
    parser.add_argument("--precision", choices=["float64", "float32"], default="float64",
                        help="float32: weighted sums in float32, faster but not exact (a spike "
                        "may rarely differ); float64 (default) is the exact reference")  # fmt: skip
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto",
                        help="compiled neuron loops and spike-driven synapses (needs numba: pip "
                        "install 'nirc[fast]'; same results): auto (default) uses them on runs "
                        "long enough to repay loading them, about 0.5 s")  # fmt: skip
    parser.add_argument("--strict", action="store_true",
                        help="refuse to repair imperfect files")  # fmt: skip
    parser.add_argument("--target", metavar="CHIP",
                        help="compile for this chip (e.g. speck) and run its bit-accurate "
                        "simulation instead; a .mlir of the chip's dialect runs as it is")  # fmt: skip
    parser.add_argument("--allow-approximate", action="store_true",
                        help="with --target: accept lossy conversions (e.g. drop a LIF's leak)")  # fmt: skip
    chip_options.add_arguments(parser)


class Progress:
    """A bar on stderr, only on a terminal and only once a run is slow."""

    def __init__(self, total: int, stream=None) -> None:
        self.total = max(1, total)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.shown = False
        self.last = 0.0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < PROGRESS_AFTER_S or (now - self.last < 0.1 and done < self.total):
            return
        self.last = now
        self.shown = True
        width = 30
        frac = done / self.total
        rate = done / max(now - self.start, 1e-9)
        bar = "#" * int(width * frac) + "." * (width - int(width * frac))
        self.stream.write(
            f"\r[{bar}] {100 * frac:5.1f}%  {done}/{self.total} steps  {rate:,.0f} steps/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _inputs(args, sim):
    from nirc.interpreter.io import is_random_spec, load_run_inputs, parse_random, random_inputs

    spec = args.input
    if spec is None:
        expected = ", ".join(
            f"`{n}` [T, {', '.join(map(str, s))}]" for n, s in sim.plan.inputs.items()
        )
        raise NircError(
            "no input given",
            expected=f"--input x.npz with arrays {expected}, or --input random:p=0.1,T=1000",
        )
    if is_random_spec(spec):
        r = parse_random(spec)
        if args.seed is not None:
            r.seed = args.seed
        if r.B is not None and args.batch is not None and r.B != args.batch:
            raise NircError(
                "two batch sizes given", where="--input", found=f"B={r.B} and --batch {args.batch}"
            )
        _check_size(sim, r.T, r.B or args.batch or 1, drawn=True)
        return random_inputs(sim.plan.inputs, r, args.batch), None
    from nirc.nirdata import is_nirdata, read_inputs

    if is_nirdata(spec):
        return read_inputs(spec, sim.plan.inputs, sim.dt), args.batch
    return load_run_inputs(spec, sim.plan.inputs), args.batch


def _check_size(sim, steps: int, batch: int, drawn: bool) -> None:
    """Refuse a run whose outputs and recordings (a float64 each per sample and
    step), and random inputs when ``drawn`` (a float32 draw and its spikes),
    cannot fit this machine's memory, before any is allocated."""
    from nirc.interpreter.io import check_memory, elements

    plan = sim.plan
    outs = elements(plan.outputs)
    probes = elements({p.key: plan.nodes[p.node].out_shape for p in plan.probes})
    ins = elements(plan.inputs) if drawn else 0
    found = f"{batch:,} samples x {steps:,} steps x ({outs:,} outputs"
    found += f", {probes:,} recorded values" if probes else ""
    found += f", {ins:,} random inputs)" if drawn else ")"
    check_memory(float(steps) * batch * ((outs + probes) * 8 + ins * 5), "the run", found,
                 "fewer steps or samples (--input random:T=...,B=..., --steps, --batch), or "
                 "record less")  # fmt: skip


def save_results(args, results, dt, nodes: set[str], batched: bool) -> None:
    """``-o``: an .npz, or NIRData for ``--output-format nirdata`` or an ``.nird``
    / ``.nirdata`` name (see :mod:`nirc.nirdata`)."""
    from nirc.interpreter.io import save_npz

    fmt = args.output_format or (
        "nirdata" if str(args.output).endswith((".nird", ".nirdata")) else "npz"
    )
    if fmt == "npz":
        save_npz(args.output, results)
        return
    from nirc.nirdata import write_outputs

    if dt is None:
        raise NircError("NIRData records dt: the simulation has none", where="-o",
                        hint="pass --dt")  # fmt: skip
    write_outputs(args.output, results, dt, nodes=nodes, spikes=args.spike_format,
                  batched=batched)  # fmt: skip


def _fmt_shape(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _fmt_rate(hz: float) -> str:
    """1,234 / 56.7 / 0.0488: whole numbers from 100 up, else 3 significant digits."""
    return f"{hz:,.0f}" if hz >= 100 else f"{hz:.3g}"


def compile_apart(steps: int, elapsed: float, compiled: float) -> str:
    """A compile inside a run's time (a first run on this machine, or after
    an upgrade), said apart with the speed without it: a first run's 18 s
    compile made 20,000 steps of the Braille RNN look like 1,000 steps/s."""
    from nirc.interpreter.jit import COMPILE_APART_S

    if compiled < COMPILE_APART_S or compiled < 0.2 * elapsed or elapsed <= compiled:
        return ""
    return (f" ({compiled:.1f} s of it compiling the kernels for this machine, once: "
            f"{steps / (elapsed - compiled):,.0f} steps/s without)")


def summarize(
    results, sim, steps: int, batched: bool, elapsed: float, source: str = "nir",
    compiled: float = 0.0,
) -> list[str]:  # fmt: skip
    """The run's summary lines; ``compiled``: seconds of ``elapsed`` spent
    compiling kernels, reported apart from the speed when they matter
    (:func:`compile_apart`)."""
    plan = sim.plan
    dt = plan.dt
    lines = []
    when = f"dt = {dt:g} s ({plan.dt_source}), " if dt is not None else ""
    lines.append(
        f"simulated {steps} steps ({when}"
        + (f"source {source}, " if source != "nir" else "")
        + f"{plan.integrator}, reset {plan.reset}"
        + (
            f", {sim.precision} synapses"
            if getattr(sim, "precision", "float64") != "float64"
            else ""
        )
        + (f", batch {next(iter(results.values())).shape[1]}" if batched and results else "")
        + f") in {elapsed:.3f} s: {steps / max(elapsed, 1e-9):,.0f} steps/s"
        + compile_apart(steps, elapsed, compiled)
    )
    for key, arr in results.items():
        kind = "output" if key in plan.outputs else "probe"
        lines.append(value_line(kind, key, arr, batched, dt))
    return lines


def value_line(kind: str, key: str, arr: np.ndarray, batched: bool, dt: float | None) -> str:
    """One recorded value ``[T, (B,) ...]``: its spike count and rate when it
    holds spikes (or counts) only, else its range (a membrane readout; NaN
    and inf, as a float32 readout past its range gives, printed as such)."""
    per_step = arr.reshape(arr.shape[0], -1)
    counts = arr.dtype.kind in "biu" and (arr.size == 0 or arr.min() >= 0)  # a chip's counts
    is_spikes = arr.size > 0 and (counts or bool(np.all((arr == 0) | (arr == 1))))
    if is_spikes:
        count = int(per_step.sum())
        neurons = per_step.shape[1] // (arr.shape[1] if batched else 1)
        rate = count / max(per_step.size, 1)
        hz = f", {_fmt_rate(rate / dt)} Hz" if dt else ""
        return (f"  {kind} {key} {_fmt_shape(arr.shape[1:])}: {count} spikes over {neurons} "
                f"neurons, {rate:.4f} per neuron per step{hz}")  # fmt: skip
    if arr.size == 0:
        return f"  {kind} {key} {_fmt_shape(arr.shape[1:])}: no values"
    with np.errstate(invalid="ignore", over="ignore"):
        mean = arr.astype(np.float64).mean()
    return (f"  {kind} {key} {_fmt_shape(arr.shape[1:])}: min {arr.min():.4g}, "
            f"max {arr.max():.4g}, mean {mean:.4g}")  # fmt: skip


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NircError(
            "--plot needs matplotlib, which is not installed",
            hint="pip install 'nirc[plot]' (or pip install matplotlib), or drop --plot",
        ) from None
    return plt


def plot(path: str, results, sim, batched: bool) -> None:
    """Spike raster of every spiking output/probe, traces of the others (sample 0)."""
    from nirc.atomic import atomic_path

    plt = _pyplot()

    spikes, traces = {}, {}
    for key, arr in results.items():
        a = arr[:, 0] if batched else arr
        a = a.reshape(a.shape[0], -1)
        if a.size and np.all((a == 0) | (a == 1)):
            spikes[key] = a
        else:
            traces[key] = a
    rows = len(spikes) + len(traces)
    fig, axes = plt.subplots(max(rows, 1), 1, figsize=(10, 2.2 * max(rows, 1)), sharex=True,
                             squeeze=False)  # fmt: skip
    dt = sim.plan.dt
    scale, unit = (dt, "s") if dt else (1, "step")
    for ax, (key, a) in zip(axes[:, 0], list(spikes.items()) + list(traces.items())):
        t = np.arange(a.shape[0]) * scale
        if key in spikes:
            ts, ns = np.nonzero(a)
            ax.scatter(t[ts], ns, s=2, marker="|", color="black")
            ax.set_ylabel(f"{key}\nneuron")
        else:
            shown = a[:, : min(a.shape[1], 8)]
            ax.plot(t, shown, linewidth=0.8)
            ax.set_ylabel(key)
    axes[-1, 0].set_xlabel(f"time ({unit})")
    if batched:
        first = next(iter(results.values()))
        fig.suptitle(f"sample 0 of a batch of {first.shape[1]}")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def run(args) -> int:
    from nirc.interpreter import prepare

    if args.seed is not None and args.seed < 0:
        raise NircError("--seed must be >= 0", found=str(args.seed))
    if args.target:
        from nirc.commands.run_target import run_target

        return run_target(args)
    chip_flags = chip_options.given(args)
    if chip_flags:
        raise NircError(f"{', '.join(chip_flags)} apply to a chip's compile, not to the reference "
                        "interpreter", hint="add --target CHIP, or drop them")  # fmt: skip
    if args.steps is not None and args.steps < 1:
        raise NircError("--steps must be >= 1", found=str(args.steps))
    if args.batch is not None and args.batch < 1:
        raise NircError("--batch must be >= 1", found=str(args.batch))
    if args.plot:
        _pyplot()  # fail before a long run, not after
    sim = prepare(
        args.model,
        dt=args.dt,
        integrator=args.integrator,
        reset=args.reset,
        record=args.record,
        strict=args.strict,
        level=args.level,
        precision=args.precision,
        source=args.source,
    )
    inputs, batch = _inputs(args, sim)
    from nirc.interpreter.io import normalize

    arrays, length, b, batched = normalize(inputs, sim.plan.inputs, batch=batch, where="--input")
    steps = args.steps if args.steps is not None else length
    if steps < 1:
        raise NircError("nothing to simulate: the input has zero steps", where="--input")
    _check_size(sim, steps, b, drawn=False)
    progress = Progress(steps)
    from nirc.interpreter import jit

    clock = jit.stopwatch()
    try:
        results = sim.simulator.run(
            arrays,
            steps,
            b,
            mode=args.mode,
            progress=progress,
            precision=sim.precision,
            jit_mode=getattr(args, "jit", "auto"),
        )
    finally:
        progress.close()
    elapsed, compiled = clock()
    if not batched:
        results = {k: v[:, 0] for k, v in results.items()}
    if args.output:
        save_results(args, results, sim.dt, set(sim.plan.graph.nodes), batched)
    if args.plot:
        plot(args.plot, results, sim, batched)
    for line in summarize(results, sim, steps, batched, elapsed, source=args.source,
                          compiled=compiled):  # fmt: skip
        print(line)
    if args.source == "nir" and sim.plan.graph.nodes:
        from nirc.profiles import hint

        note = hint(sim.plan.graph)  # informs only: a profile is never applied unasked
        if note:
            print(f"note: {note}", file=sys.stderr)
    if args.output:
        print(f"wrote {args.output}: " + ", ".join(
            f"{k} {_fmt_shape(v.shape)}" for k, v in results.items()))  # fmt: skip
    if args.plot:
        print(f"wrote {args.plot}")
    return 0
