"""Speed of the reference interpreter (`nirc run` / `nirc.simulate`).

For the paper's CNN (Sinabs export, N-MNIST shapes) and Braille RNN (snnTorch
export), at batch 1 and 32 and T = 1000 steps of Bernoulli(p) input spikes:

- fast: the default schedule (synapses over whole chunks of time at once),
  with the compiled kernels of the `fast` extra when numba is installed
  (labelled fast+jit; then fast-numpy is the same schedule without them);
- step: the same graph evaluated one step at a time with plain numpy kernels
  (the oracle);
- both in the default exact mode (`float64`) and in the opt-in `float32` mode
  (weighted sums in float32: faster, not exact; the summary gives its output
  agreement with float64);
- norse / snntorch: the same NIR graph through nirtorch on CPU, when those
  packages are importable (torch is never a dependency of nirc; install them
  in a separate environment to get these rows).

Figures are medians over repeats, fast and step measured alternately so that
both see the same machine load; ratios are computed from the same run. The
machine's load average is printed before and after: on a shared machine the
figures move by 2x with it.
"steps/s" counts simulated time steps (a batch of 32 advances 32 samples per
step). "MAC/s" counts the multiply-accumulates of the synapses as a dense
simulator does them; "SynOp/s" counts only those driven by nonzero inputs
(spike-driven synaptic events), measured on the run's own activity.

    python benchmarks/interpreter.py            # everything
    python benchmarks/interpreter.py --quick    # fewer repeats, T = 300
    python benchmarks/interpreter.py --blas-threads 1 --precisions float64
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

if __name__ == "__main__" and "--blas-threads" in sys.argv:  # before numpy starts BLAS
    _n = sys.argv[sys.argv.index("--blas-threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np  # noqa: E402
from timing import median_time  # noqa: E402

from nirc.interpreter import jit as _jit  # noqa: E402

JIT = _jit.ENABLED  # numba installed (the `fast` extra) and not NIRC_JIT=0

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "public"
GRAPHS = {
    "cnn": ("paper_cnn_sinabs.nir", 1.0),  # Sinabs: time in steps
    "braille": ("paper_braille_bias_zero.nir", 1e-4),  # snnTorch export at dt = 1e-4
}


def _interleaved(runs: dict, repeats: int, few: set, few_repeats: int) -> dict[str, float]:
    """Median times of several runs measured in turn, so that all see the
    same machine load (shared machines drift by 2x within minutes); the runs
    named in ``few`` (the slow oracle) get ``few_repeats`` repeats."""
    for fn in runs.values():
        fn()  # warm up (allocations, BLAS threads, compiled kernels)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(repeats):
        for key, fn in runs.items():
            if key in few and r >= few_repeats:
                continue
            t = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def _synops_per_step(path, sim, inputs) -> float:
    """Event-driven synaptic operations per step and sample, on this input:
    each synapse's multiply-accumulates times the fraction of nonzero inputs."""
    from nirc.interpreter import prepare

    plan = sim.plan
    weighted = [n for n, p in plan.nodes.items() if p.kernel.macs_per_sample]
    sources = sorted({q for n in weighted for q in plan.nodes[n].preds})
    res = prepare(path, dt=plan.dt, record=sources).run(inputs)
    total = 0.0
    for name in weighted:
        node = plan.nodes[name]
        frac = np.mean([np.count_nonzero(res[p]) / res[p].size for p in node.preds])
        total += node.kernel.macs_per_sample * frac
    return total


def bench_nirc(
    name: str,
    batch: int,
    steps: int,
    p: float,
    repeats: int,
    step_repeats: int,
    precision: str = "float64",
):
    from nirc.diagnostics import collecting
    from nirc.interpreter import prepare
    from nirc.interpreter.io import RandomSpec, random_inputs

    file, dt = GRAPHS[name]
    with collecting():
        sim = prepare(CORPUS / file, dt=dt, precision=precision)
        inputs = random_inputs(sim.plan.inputs, RandomSpec(p=p, T=steps, B=batch, seed=0))
        runs = {"fast": lambda: sim.run(inputs, jit="on")}
        if JIT:  # the same fast path without the compiled kernels
            runs["fast-numpy"] = lambda: sim.run(inputs, jit="off")
        runs["step"] = lambda: sim.run(inputs, mode="step")
        times = _interleaved(runs, repeats, {"step"}, step_repeats)
        outputs = sim.run(inputs, jit="on")
        same = all(
            np.array_equal(a, b)
            for other in (sim.run(inputs, mode="step"), sim.run(inputs, jit="off"))
            for a, b in zip(outputs.values(), other.values())
        )
        synops = _synops_per_step(CORPUS / file, sim, inputs)
    macs = sim.plan.synaptic_macs_per_step()
    rows = []
    for mode, t in times.items():
        sps = steps / t
        label = "fast+jit" if mode == "fast" and JIT else mode
        rows.append((name, batch, precision, label, sps, sps * batch * macs, sps * batch * synops))
    return rows, times["fast"], times["step"], same, inputs, outputs


def bench_torch(name: str, batch: int, steps: int, inputs, repeats: int):
    """The same NIR file through nirtorch (Norse or snnTorch) on CPU, 2 threads,
    one step per call as their executors run; rows only for what imports."""
    try:
        import nir
        import torch
    except ImportError:
        return []
    torch.set_num_threads(2)
    file, dt = GRAPHS[name]
    graph = nir.read(str(CORPUS / file))
    x = torch.from_numpy(np.asarray(inputs["input"], dtype=np.float32))
    rows = []
    for lib in ("norse", "snntorch"):
        try:
            if lib == "norse":
                import norse.torch as norse

                module = norse.from_nir(graph, dt=dt)
            else:
                from snntorch.import_nir import import_from_nir

                with contextlib.redirect_stdout(io.StringIO()):  # it prints as it goes
                    module = import_from_nir(graph)
        except Exception as e:  # not installed, or cannot import this graph
            print(
                f"  ({lib} {name}: no module: {type(e).__name__}: {str(e)[:80]})", file=sys.stderr
            )
            continue

        def go(module=module):
            with torch.no_grad():
                state = None
                for t in range(steps):
                    _, state = module(x[t], state)

        try:
            elapsed = median_time(go, repeats, warm_up=True)
        except Exception as e:
            print(f"  ({lib} {name} batch {batch}: fails: {type(e).__name__}: {str(e)[:80]})",
                  file=sys.stderr)  # fmt: skip
            continue
        rows.append((name, batch, "float32", lib, steps / elapsed, float("nan"), float("nan")))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="T = 300, fewer repeats")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--p", type=float, default=0.1, help="input spike probability per step")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--graphs", default="braille,cnn")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--precisions", default="float64,float32",
                    help="float64 (exact, the default mode) and/or float32 (opt-in)")  # fmt: skip
    ap.add_argument("--blas-threads", help="threads for numpy's BLAS (default: its own choice)")
    args = ap.parse_args(argv)
    steps = 300 if args.quick else args.steps
    repeats = 2 if args.quick else args.repeats
    step_repeats = 1 if args.quick else max(1, (args.repeats + 1) // 2)
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    try:
        import torch

        extra = f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        extra = ", torch not installed (no Norse/snnTorch rows)"
    jit = "numba " + __import__("numba").__version__ if JIT else "no numba (no fast+jit rows)"
    print(f"numpy {np.__version__}, {jit}, {os.cpu_count()} CPUs, load {_load()}, "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}{extra}")  # fmt: skip
    print(f"T = {steps}, input Bernoulli p = {args.p}, median of {repeats} (step: {step_repeats})")
    header = (
        f"{'graph':8s} {'batch':>5s} {'precision':9s} {'engine':9s} {'steps/s':>12s} "
        f"{'MAC/s':>10s} {'SynOp/s':>10s}"
    )
    print(header)
    print("-" * len(header))
    summary = []
    for name in args.graphs.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            reference = None
            for precision in args.precisions.split(","):
                rows, fast, step, same, inputs, outputs = bench_nirc(
                    name, batch, steps, args.p, repeats, step_repeats, precision
                )
                if precision == "float64":
                    reference = outputs
                    rows += bench_torch(name, batch, steps, inputs, max(1, repeats // 2))
                for g, b, prec, mode, sps, macs, syn in rows:
                    print(f"{g:8s} {b:5d} {prec:9s} {mode:9s} {sps:12,.0f} {_si(macs):>10s} "
                          f"{_si(syn):>10s}")  # fmt: skip
                agree = None
                if precision != "float64" and reference is not None:
                    agree = _agreement(reference, outputs)
                summary.append((name, batch, precision, step / fast, same, agree))
    print()
    for name, batch, precision, ratio, same, agree in summary:
        line = (f"{name} batch {batch} {precision}: fast / step = {ratio:.1f}x, "
                f"outputs {'identical' if same else 'DIFFERENT'}")  # fmt: skip
        if agree is not None:
            line += f"; output agreement with float64: {agree}"
        print(line)
    print(f"load at the end: {_load()}")
    return 0


def _load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _agreement(ref: dict, got: dict) -> str:
    """Fraction of output entries equal to the float64 run's, and how many differ."""
    total = sum(a.size for a in ref.values())
    differ = sum(int(np.count_nonzero(ref[k] != got[k])) for k in ref)
    return f"{1 - differ / max(total, 1):.6f} ({differ} of {total} entries differ)"


def _si(v: float) -> str:
    if not np.isfinite(v):
        return "-"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{v / scale:.2f}{unit}"
    return f"{v:.0f}"


if __name__ == "__main__":
    sys.exit(main())
