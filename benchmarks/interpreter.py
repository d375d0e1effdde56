"""Speed of the reference interpreter (`nirc run` / `nirc.simulate`), next to its peers.

Issue #18's cases: the paper's Braille RNN (snnTorch export, dt = 1e-4) at
batch 1, T = 1,000 and 10,000, and the paper's CNN (Sinabs export, N-MNIST
shapes, dt = 1) at batch 32, T = 1,000; inputs are Bernoulli(p) spikes. Rows:

- fast+jit: the default fast path with the `fast` extra: the whole graph as
  one compiled loop over time (:mod:`nirc.interpreter.program`), except a
  tiny graph at many samples per core, which takes the chunked schedule;
- chunked+jit: the chunked schedule with its compiled kernels (what the
  fast path was before the program; still the path of graphs the program
  cannot run, and of ``precision="float32"``);
- fast-numpy: the chunked schedule without numba; step: the numpy oracle;
- norse / snntorch / sinabs: the same NIR file through the frameworks on CPU
  (``--torch-env`` names a virtual environment or site-packages holding
  torch; torch is never a dependency of nirc);
- snn-mlir (NIR -> MLIR -> C, a native binary whose C++ runner is not on
  PyPI): the figure quoted in the issue, measured on this kind of machine,
  printed next to this machine's load.

Each row gives steps/s (a batch of 32 advances 32 samples per step), the
threads the run used (nirc picks them from the load average:
:func:`nirc.interpreter.jit.free_cores`; ``NIRC_THREADS`` fixes them) and the
process's CPU time per sample-step, which, unlike the wall time, the other
processes on a shared machine hardly move. The engines are measured in turn
(medians), so that all see the same load; every run is checked against the
step oracle ("outputs identical").

Then, for each case, the warm loop a user writes (``nirc.simulate`` on the
file, again and again, nothing in between) is measured beside the fast+jit
interleaved figure, and the script says where a difference comes from: the
threads chosen, or the machine's own speed (the CPU time per sample-step
differs, and so does the ``ref`` column's reference loop), or this process's
CPU work (the CPU time differs, the reference loop does not), or waiting for
cores held by other processes (same threads, same CPU time, longer wall
time). The ``ref`` column is :func:`probe`, a fixed loop of float64
additions timed for a few milliseconds before and after each run: on this
shared VM (2026-12-07) it moves between 1.0 and 1.5 ns per 8 in phases of
about a second, with this process idle (a busy SMT sibling on the host; the
VM has no hardware counters to count instructions instead), and the CPU time
of every engine moves with it. One run that day: the warm loop at 21.6
CPU-us per sample-step against 15.2 interleaved, which the script then put
down to OpenBLAS's spinning workers, although the warm loop runs nothing in
between; the reference loop now shows such a difference for what it is.

Why the issue's two figures differed (CNN, batch 32: 1,964 steps/s in this
script, 3,360 in a warm loop), as measured here:

- Threads. They were the CPU count less the rounded 1-minute load average,
  and that average counts the process's own busy threads. A load of 0.5
  already leaves one thread on the 2-core machine, and a process keeping two
  threads busy adds that much to the average within 20 s: this script runs
  for minutes, so all but its first runs got one thread, while a short warm
  loop on a quiet machine got two (the last session measured 1.47x from one
  to two). :func:`nirc.interpreter.jit.free_cores` now leaves the process's
  own share out (the ``own`` column).
- Spinning BLAS threads. After each call, OpenBLAS's worker threads spin for
  a while before they sleep; the numpy and step runs between the fast runs
  leave them spinning into the next fast run, on the cores its threads need.
  With two threads (NIRC_THREADS=2) the fast runs cost 23.4 CPU-us per
  sample-step interleaved against 18.7 in the warm loop, and 20.5 interleaved
  with OPENBLAS_NUM_THREADS=1. The diagnosis line names such a difference in
  CPU time. Measured again (NIRC_THREADS=2, 1,000 steps): a fast run right
  after a 200-step numpy run made 3,800-3,900 steps/s at 14.3 CPU-us, the
  same run 0.2 s later 5,000 at 12.1, as in the warm loop: the workers spin
  for 0.1-0.2 s. So each interleaved run now starts after a pause
  (``--settle``, 0.3 s; 0 measures the spinning as before), which is what
  separates two engines measured in turn in one process, not part of either.

What is left between the two is other processes' load (the ``load`` column).

Where the CNN's time goes (``--profile``: activity and CPU time op by op). On
the benchmark's inputs (p = 0.1) the layers' inputs are 10%, 2.6%, 15.7%,
29% and 4.1% nonzero; the events cause 57,000 float64 additions per
sample-step (24k, 14k, 10k, 10k in the three convolutions and the first
dense layer), each a read-modify-write of an accumulator (sums stay float64:
the weights span 35-41 bits, so float32 or int32 sums would not be exact).
The program took 16-17 CPU-us per sample-step, 10.2-11.3 after the last
session, now 9.2-9.7 on one thread (2026-12-07; --profile: input 0.55, the
three convolutions with their layers 3.4, 1.9 and 1.3, pools 0.4-1.0, the
dense layers 0.7). What moved it (one thread, runs alternating with the
previous version, each change bit-identical to the step oracle):

- a dense layer's sums kept in vector registers over all its events
  (``program_kernels._dense_tile_of``), weights read as float32 where every
  weight is one (exactly widened; half the bytes), the fused layer clearing
  the sums it reads: 10.9-11.2 -> 10.0-10.5;
- a sum pool that alone reads a fused layer counting that layer's spike bits
  (OP_POOL_BITS) instead of a spike event and a table lookup per spike:
  -0.2 to -0.4;
- block convolutions leaving out the rows of outputs the padding makes up
  (4-8% of the additions), so that the accumulator holds only the output's
  rows, with the column margins of neighbouring rows shared (the first
  convolution's 51 -> 37 KB): 10.0 -> 9.3-9.7. The working set matters as
  much as the additions: the L1 cache holds 48 KB.

Tried and not kept (no gain beyond the noise, or slower): events of the
short column phases of a stride-2 kernel taken apart first (a sixth fewer
additions in the first convolution, +0.5 us for the split), four events at
a time for runs of 24, the third convolution's events in a stride order,
input prefetch hints of other distances or levels, a branch-free input scan.
Also not kept, on the Zen 4 below (2026-12-07): the first convolution
computed per output instead of per event (its 2 x 34 x 34 input as one bit
row per channel and input row; each output's 16 channels the sum of ten
rows of a table of 5-tap patterns, in vector registers, then the neurons,
with no accumulator at all). Its table lookups alone cost 6.5-7.7 CPU-us
per sample-step (a prototype with the CNN's weights, one thread), against
4.5-5.2 for the whole event-driven convolution and its neurons: 2,560
dependent table rows per sample-step where the events make 3,466 8-wide
additions. And (same machine, later): the block adds without their multiply
for binary events (each 8-wide add one load, widen, add and store): 12.2-13.9
against 12.6-13.0 CPU-us, within the noise. And (2026-12-08): the events of
an exact convolution added straight into the membranes of its fused IF layer
(no accumulator: half the bytes the 4,096-neuron layers move between L2 and
L1 each step; exact, as every sum is on the weights' grid), a prototype
without the run-time bound on the membranes' growth: 12.77-12.84 against
12.77-13.50 CPU-us per sample-step, one thread, runs alternating; the layer
passes with no events 0.84-1.31 against 1.15-1.99 us, within the machine's
swings. Not worth a padded state layout and a bound checked per run.

Threads: the compiled program's threads take samples in turn
(:func:`nirc.interpreter.jit.share_samples`), so a thread whose core is
busy elsewhere takes fewer; they may then use one core more than the load
leaves idle (``free_cores(pieces=True)``): the CNN at batch 32 with one of
the two cores kept busy by another process made 3,000 steps/s with one
thread, 3,600-4,300 with two. 6,000 steps/s at batch 32 needs 10.4 CPU-us
per sample-step on each of two idle cores; measured 9.6-10.3 with two
threads: 5,860-6,280 steps/s interleaved and 5,690-6,250 in the warm loop
on this shared machine (other processes' load 0.7-1.0), whose run-to-run
spread is 3-5%. Running the numpy engines between fast runs costs the next
fast run 1.5-4% more CPU time (cache and memory state, not spinning
threads: also after a 2 s pause), within that spread.

Machines differ by more than that. All the figures above are from an AMD Zen 5
with AVX-512 (the header line names the CPU and its widest vectors). The
same code on an AMD Zen 2 with AVX2 only (2 cores at 2.25 GHz, 32 KB L1d;
2026-12-07): the CNN at batch 32 3,194 steps/s interleaved and 3,195 in the
warm loop, 19.3 CPU-us per sample-step (Braille 608k-842k steps/s). Its
float64 vectors hold 4 numbers, not 8, and the convolutions' additions are
read-modify-writes of float64 sums, so the CNN takes twice the time there;
the line "dense GEMM bound" (:func:`dense_bound`) gives each machine's
measure of dense arithmetic for the same synapses: 508-562 steps/s on that
one, which the program outruns 5.7-6.3 times. On an AMD Zen 4 (AVX-512 as
two 256-bit halves, 32 KB L1d; 2026-12-07): 4,410-4,776 steps/s, 12.4-13.8
CPU-us per sample-step, 6-8x its dense GEMM bound (617-753 steps/s); there
the neuron passes, not the additions, set the floor: 4.1-4.4 CPU-us per
sample-step with no input events at all, bound by moving the 4,096-neuron
layers' membranes and sums between L2 and a 32 KB L1. A later session on
the same kind of machine: 4,128-4,927 steps/s with a dense GEMM bound of
462-581, so the machine itself varied by a quarter between runs (and the
next: 3,650 interleaved and 4,332 in the warm loop, 16.5 and 14.1 CPU-us,
dense GEMM bound 499, on an idle machine); storing
the block convolutions' weights as float64 instead of float32 (twice the
bytes competing for L1) cost 8-10%. The 6,000 steps/s target was set on
the Zen 5.

The line "floors here" (:func:`floors`) restates that target on the machine
at hand: the program with no input events at all (its neuron passes and
per-op costs), the additions the events cause at the best rate the machine
streams float64 read-modify-writes through L1, the rate the warm loop
achieves, and the rate 6,000 steps/s would need. On the Zen 4 (2026-12-07,
load 0.7-1.1): no events 3.7 CPU-us, 57,014 additions per sample-step,
streaming 0.88 ns per 8, the warm loop 1.27, and the target needs 0.94:
scattered additions of short runs (each event's block on other cache
lines, behind a table load) within 7% of the speed of one long stream.
The program's event loop runs at 1.44x the stream here; replayed alone,
one event at a time, it ran at 2.8-3x (:mod:`nirc.interpreter.program_kernels`,
"What bounds the convolutions").
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__" and "--torch-env" in sys.argv:  # the frameworks' environment
    _env = Path(sys.argv[sys.argv.index("--torch-env") + 1])
    _sites = sorted(_env.glob("lib/python*/site-packages")) or [_env]
    sys.path.append(str(_sites[0]))  # after nirc's own packages

import numpy as np  # noqa: E402
from timing import machine  # noqa: E402

from nirc.interpreter import engine as _engine  # noqa: E402
from nirc.interpreter import jit as _jit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "public"
GRAPHS = {
    "braille": ("paper_braille_bias_zero.nir", 1e-4),  # snnTorch export at dt = 1e-4
    "cnn": ("paper_cnn_sinabs.nir", 1.0),  # Sinabs: time in steps
}
# (graph, batch, steps): issue #18's cases
CASES = [("braille", 1, 1000), ("braille", 1, 10000), ("cnn", 32, 1000)]
TARGETS = {("braille", 1): 300_000, ("cnn", 32): 6_000}
SNN_MLIR = "snn-mlir 1.0 (native C, quoted from issue #18: this kind of machine): 160-275k steps/s"


def _load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextlib.contextmanager
def _schedule(program: bool):
    was = _engine.PROGRAM
    _engine.PROGRAM = program
    try:
        yield
    finally:
        _engine.PROGRAM = was


class Timed:
    """Wall and CPU time, threads and load of one engine's runs."""

    def __init__(self, pieces: bool = False, batch: int | None = None) -> None:
        self.pieces = pieces  # the compiled program's threads (free_cores(pieces=True))
        self.batch = batch  # and no more threads than samples
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.threads: list[int] = []
        self.load: list[float] = []
        self.own: list[float] = []
        self.ref: list[float] = []  # the machine's speed around each run (probe, ns per 8)

    def run(self, fn) -> None:
        self.threads.append(min(_jit.free_cores(self.pieces), self.batch or 1 << 30))
        self.load.append(os.getloadavg()[0])
        self.own.append(_jit.own_load())
        before = probe()
        c, t = _cpu(), time.perf_counter()
        fn()
        self.wall.append(time.perf_counter() - t)
        self.cpu.append(_cpu() - c)
        self.ref.append((before + probe()) / 2)

    def median(self) -> tuple[float, float]:
        return statistics.median(self.wall), statistics.median(self.cpu)

    def thread_text(self) -> str:
        return "/".join(map(str, sorted(set(self.threads))))


SETTLE = 0.3  # seconds between interleaved runs (--settle): the previous engine's BLAS workers sleep


def _interleaved(runs: dict, repeats: int, few: set, few_repeats: int, batch: int,
                 settle: float = SETTLE) -> dict[str, Timed]:
    """Several engines measured in turn, so that all see the same machine load
    (shared machines drift by 2x within minutes); those named in ``few`` (the
    slow oracle) get ``few_repeats`` repeats. Each run starts ``settle``
    seconds after the previous one ended (see the module doc)."""
    for fn in runs.values():
        fn()  # warm up (allocations, compiled kernels)
    out = {k: Timed(k == "fast+jit", batch) for k in runs}
    for r in range(repeats):
        for key, fn in runs.items():
            if key in few and r >= few_repeats:
                continue
            time.sleep(settle)
            out[key].run(fn)
    return out


def bench_nirc(name: str, batch: int, steps: int, p: float, repeats: int, step_repeats: int,
               settle: float = SETTLE):
    from nirc.diagnostics import collecting
    from nirc.interpreter import prepare
    from nirc.interpreter.io import RandomSpec, random_inputs

    file, dt = GRAPHS[name]
    with collecting():
        sim = prepare(CORPUS / file, dt=dt)
    inputs = random_inputs(sim.plan.inputs, RandomSpec(p=p, T=steps, B=batch, seed=0))

    def on(program: bool):
        def run():
            with _schedule(program):
                return sim.run(inputs, jit="on")

        return run

    runs = {}
    if _jit.ENABLED:
        runs = {"fast+jit": on(True), "chunked+jit": on(False)}
    runs["fast-numpy"] = lambda: sim.run(inputs, jit="off")
    runs["step"] = lambda: sim.run(inputs, mode="step")
    times = _interleaved(runs, repeats, {"step"}, step_repeats, batch, settle)
    oracle = sim.run(inputs, mode="step")
    same = {
        k: all(np.array_equal(a, oracle[n]) for n, a in fn().items())
        for k, fn in runs.items()
        if k != "step"
    }
    return times, same, inputs


def warm_loop(name: str, inputs, repeats: int, batch: int) -> Timed:
    """``nirc.simulate`` on the file, repeated with nothing in between (default
    options: the plan is kept while the file is unchanged, the compiled
    kernels are used once loaded)."""
    import nirc
    from nirc.diagnostics import collecting

    file, dt = GRAPHS[name]
    with collecting():
        for _ in range(2):
            nirc.simulate(CORPUS / file, inputs, dt=dt)  # warm up
        t = Timed(True, batch)
        for _ in range(repeats):
            t.run(lambda: nirc.simulate(CORPUS / file, inputs, dt=dt))
    return t


def bench_torch(name: str, batch: int, steps: int, inputs, repeats: int) -> list[tuple]:
    """The same NIR file through the frameworks on CPU (2 threads): Norse and
    snnTorch through their NIR importers one step per call, as their
    executors run; Sinabs (the CNN's own framework) on the whole sequence at
    once. Rows only for what imports and runs."""
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
    for lib in ("norse", "snntorch", "sinabs"):
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # some print as they go
                if lib == "norse":
                    import norse.torch as norse

                    module = norse.from_nir(graph, dt=dt)
                elif lib == "snntorch":
                    from snntorch.import_nir import import_from_nir

                    module = import_from_nir(graph)
                else:
                    if name != "cnn":
                        continue
                    import sinabs

                    module = sinabs.from_nir(graph, batch_size=batch)
        except Exception as e:  # not installed, or cannot import this graph
            print(f"  ({lib} {name}: no module: {type(e).__name__}: {str(e)[:80]})", file=sys.stderr)
            continue

        if lib == "sinabs":  # batch and time in one axis, batch-major
            xs = x.transpose(0, 1).reshape((batch * steps,) + tuple(x.shape[2:])).contiguous()

            def go(module=module, xs=xs):
                import sinabs

                sinabs.reset_states(module)
                with torch.no_grad():
                    module(xs)
        else:

            def go(module=module):
                with torch.no_grad():
                    state = None
                    for t in range(steps):
                        _, state = module(x[t], state)

        t = Timed()
        try:
            go()
            for _ in range(repeats):
                t.run(go)
        except Exception as e:
            print(f"  ({lib} {name} batch {batch}: fails: {type(e).__name__}: {str(e)[:80]})",
                  file=sys.stderr)  # fmt: skip
            continue
        rows.append((lib, t))
    return rows


def compile_cost(fresh: bool) -> str:
    """What a new process pays once before its first compiled run of a small
    graph (numba's import, the kernel from the per-user cache, the graph's
    program), and what the next run costs; ``fresh``: with an empty cache,
    so that the kernel is compiled."""
    code = (
        "import time, numpy as np; from nirc.diagnostics import collecting; "
        "from nirc.interpreter import prepare; "
        f"s = prepare(r'{CORPUS / GRAPHS['braille'][0]}', dt=1e-4); x = np.zeros((1000, 12)); "
        "t = time.perf_counter(); s.run(x, jit='on'); a = time.perf_counter() - t; "
        "t = time.perf_counter(); s.run(x, jit='on'); b = time.perf_counter() - t; "
        "print(f'{a:.2f} s (then {b * 1e3:.1f} ms per run of 1,000 steps)')"
    )
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as empty:
        if fresh:
            env["NIRC_CACHE_DIR"] = empty
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        return f"failed: {out.stderr.strip().splitlines()[-1][:100]}"
    return out.stdout.strip()


def _op_groups(code: np.ndarray, kernels) -> list[tuple[int, str]]:
    """The program's ops cut where the accumulator is clean: a convolution
    whose sums only its spiking layer reads (no output of its own) runs with
    that layer. Returns (end row, label) per group."""
    names = {getattr(kernels, k): k[3:].lower() for k in dir(kernels) if k.startswith("OP_")}
    groups, label = [], []
    for row, c in enumerate(code):
        kind = names.get(int(c[0]), "?")
        label.append(kind)
        if (kind == "conv" and c[13] < 0) or (kind == "conv_block" and c[9] < 0):
            continue  # fused: its layer follows
        size = {"input": c[3], "layer": c[1], "dense": c[4], "pool_events": c[5], "neuron": c[1]}
        groups.append((row + 1, "+".join(label) + (f" ({size[kind]})" if kind in size else "")))
        label = []
    return groups


@functools.cache
def _stream_kernel():
    """The reference loop ``acc += w * x`` (numba's, else numpy's ufunc),
    built and warmed once."""
    if _jit.ENABLED:
        import numba

        @numba.njit(cache=False)
        def stream(acc, w, f, reps):  # pragma: no cover - compiled
            for _ in range(reps):
                for j in range(acc.shape[0]):
                    acc[j] += w[j] * f
    else:

        def stream(acc, w, f, reps):
            for _ in range(reps):
                acc += w * f

    stream(np.zeros(8), np.ones(8), 1.0, 1)
    return stream


def _stream_ns(reps: int, tries: int) -> float:
    """Nanoseconds per 8 float64 read-modify-writes at best of ``tries``:
    ``reps`` passes of the reference loop over arrays that stay in the L1
    cache, timed in this thread's CPU time."""
    stream, acc, w, best = _stream_kernel(), np.zeros(2048), np.ones(2048), np.inf
    for _ in range(tries):
        t = time.thread_time()
        stream(acc, w, 1.0, reps)
        best = min(best, time.thread_time() - t)
    return best / (reps * acc.size / 8) * 1e9


def _rmw_floor() -> float:
    """The best rate this machine streams float64 read-modify-writes through
    L1, ns per 8 (best of 7: single runs here spread over 0.82-1.29)."""
    return _stream_ns(4000, 7)


def probe() -> float:
    """The machine's speed right now, as the same reference loop in a few
    milliseconds (ns per 8, best of 5): on a shared host a busy SMT sibling
    or a lower clock slows every instruction of this process, so its CPU
    time per sample-step rises with no change in its work; this tells that
    apart (:func:`_diagnose`)."""
    return _stream_ns(300, 5)


def _synapse_work(name: str, batch: int, steps: int, p: float):
    """The graph's plan, random inputs, and what each synapse has to do on
    them: rows ``(node, kernel, source, nonzero inputs per sample-step, input
    size, density, float64 additions per sample-step)`` (each nonzero input
    adds its weights to every output it reaches)."""
    from nirc.diagnostics import collecting
    from nirc.interpreter import prepare
    from nirc.interpreter.io import RandomSpec, random_inputs
    from nirc.interpreter.ops import Conv, Dense

    file, dt = GRAPHS[name]
    with collecting():
        plan = prepare(CORPUS / file, dt=dt).plan
    weighted = [n for n in plan.order if isinstance(plan.nodes[n].kernel, (Conv, Dense))]
    feeds = sorted({plan.nodes[n].preds[0] for n in weighted})
    with collecting():
        rec = prepare(CORPUS / file, dt=dt, record=feeds)
    inputs = random_inputs(plan.inputs, RandomSpec(p=p, T=steps, B=batch, seed=0))
    with _schedule(True):
        seen = rec.run(inputs, jit="on")
    seen.update(inputs)
    rows = []
    for n in weighted:
        k = plan.nodes[n].kernel
        src = plan.nodes[n].preds[0]
        x = seen[src].reshape(steps * batch, -1)
        nnz = np.count_nonzero(x, axis=0)
        if isinstance(k, Conv):  # per input cell: the elements its segments reach
            hw, start, segs, *_ = k.jit_segments()
            reach = np.add.reduceat(segs.reshape(-1, 3)[:, 2], start[:-1]) * (start[1:] > start[:-1])
            adds = float(np.sum(nnz.reshape(-1, hw) * reach[None, :]))
        else:
            adds = float(nnz.sum()) * k.weight_t.shape[1]
        rows.append((n, k, src, nnz.sum() / (steps * batch), x.shape[1], nnz.sum() / x.size,
                     adds / (steps * batch)))  # fmt: skip
    return plan, inputs, rows


def _compiled(plan, batch: int):
    from nirc.interpreter.program import compile_program

    return compile_program(plan, _engine.exact_sums(plan, {n: 1.0 for n in plan.inputs}), batch)


def _program_us(prog, inputs, batch: int, steps: int, end: int | None = None) -> float:
    """CPU-us per sample-step of the compiled program ``prog`` (its first
    ``end`` ops), on the calling thread, best of 5."""
    kernels = _jit.program_kernels()
    code = np.ascontiguousarray(prog.code[:end])
    xf, xn, t_data = prog._input_arrays(inputs, batch, code)
    best = np.inf
    for _ in range(5):
        st = np.zeros((batch, max(prog.n_state, 1)))
        out = np.zeros((steps, batch, max(prog.rec_size, 1)))
        t = time.thread_time()
        kernels.run_program(code, prog.fp, prog.ip, prog.sizes, xf, xn, 0, steps, t_data, st, out,
                            0, batch)  # fmt: skip
        best = min(best, time.thread_time() - t)
    return best / steps / batch * 1e6


def profile(name: str, batch: int, steps: int, p: float) -> None:
    """Where the time of one compiled run goes, op by op (CPU time of the
    calling thread per sample-step, as the difference between prefixes of the
    program), next to what each synapse has to do: its input's activity
    (nonzero elements per sample-step) and the float64 additions that events
    cause."""
    plan, inputs, rows = _synapse_work(name, batch, steps, p)
    print(f"{name}, batch {batch}, T = {steps}: synapses (activity: nonzero inputs per sample-step)")
    for n, k, src, active, size, density, adds in rows:
        print(f"  {n:>6s} {type(k).__name__:6s} in {src:>6s}: {active:8.1f} of "
              f"{size:5d} ({density:6.1%}), {adds:9,.0f} additions")  # fmt: skip
    total = sum(r[-1] for r in rows)
    floor = _rmw_floor()
    print(f"  all synapses: {total:,.0f} additions per sample-step; at the best read-modify-write "
          f"rate measured here ({floor:.2f} ns per 8) at least {total / 8 * floor / 1e3:.2f} us")  # fmt: skip
    prog = _compiled(plan, batch)
    print("  ops (CPU-us per sample-step, one thread)")
    prev = 0.0
    for end, label in _op_groups(prog.code, _jit.program_kernels()):
        us = _program_us(prog, inputs, batch, steps, end)
        print(f"    {label:32s} {us - prev:6.2f}  (cumulative {us:6.2f})")
        prev = us
    print(f"  load {_load()}")


def floors(name: str, batch: int, steps: int, p: float) -> tuple[float, float, float]:
    """What bounds this program's design on this machine, measured apart:
    the whole program with no input events at all (every layer's neuron
    pass, nothing to add: CPU-us per sample-step, one thread), the float64
    read-modify-writes the input events cause (8-wide, per sample-step), and
    the best rate at which this machine streams such additions through L1
    (:func:`_rmw_floor`, ns per 8)."""
    plan, inputs, rows = _synapse_work(name, batch, steps, p)
    quiet = {k: np.zeros_like(v) for k, v in inputs.items()}
    quiet_us = _program_us(_compiled(plan, batch), quiet, batch, steps)
    return quiet_us, sum(r[-1] for r in rows) / 8, _rmw_floor()


def dense_bound(name: str, batch: int, seconds: float = 2.0) -> float:
    """Steps/s of the graph's synapses as dense float64 matrix products (numpy's
    BLAS, its own threads), the operands built beforehand: per step each
    convolution one im2col product ``[B oh ow, c kh kw] x [c kh kw, f]`` and
    each dense layer ``[B, in] x [in, out]``. No im2col, neurons or pools, so
    no such dense formulation on this machine can be faster. Issue #18 set
    its 6,000 steps/s beside "a dense GEMM formulation limited to about
    3,900" on the machine it was filed on, without saying how that was
    measured; this bound is printed so that a run on another machine shows
    where the sparse program stands against dense arithmetic there.
    (2026-12-07, AMD Zen 2 with AVX2, 2 cores: 508-562 steps/s at batch 32.)"""
    from nirc.interpreter import prepare
    from nirc.interpreter.ops import Conv, Dense

    file, dt = GRAPHS[name]
    rng = np.random.default_rng(0)
    products = []
    for node in prepare(CORPUS / file, dt=dt).plan.nodes.values():
        k = node.kernel
        if isinstance(k, Conv):
            f, cg, kh, kw = k.weight4.shape
            _, oh, ow = k.out2d
            products.append((rng.random((batch * oh * ow, cg * kh * kw)),
                             np.ascontiguousarray(k.weight4.reshape(f, -1).T)))  # fmt: skip
        elif isinstance(k, Dense) and k.matrix:
            products.append((rng.random((batch, k.fan_in)), k.weight_t))
    outs = [np.empty((a.shape[0], b.shape[1])) for a, b in products]
    for (a, b), o in zip(products, outs):  # warm: BLAS threads started
        np.matmul(a, b, out=o)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for (a, b), o in zip(products, outs):
            np.matmul(a, b, out=o)
        steps += 1
    return steps / (time.perf_counter() - start)


def _row(label: str, steps: int, batch: int, t: Timed, same: bool | None = None) -> str:
    wall, cpu = t.median()
    mark = "" if same is None else ("  identical" if same else "  DIFFERENT")
    return (
        f"  {label:13s} {steps / wall:12,.0f}  {t.thread_text():>7s}  "
        f"{cpu / steps / batch * 1e6:10.2f}  {statistics.median(t.load):5.1f}  "
        f"{statistics.median(t.own):4.1f}  {statistics.median(t.ref):5.2f}{mark}"
    )


def _diagnose(a: Timed, b: Timed, steps: int, batch: int) -> str:
    """Why two measurements of the same run differ (see the module doc): the
    threads, the machine's speed around the runs (:func:`probe`), or this
    process's own CPU work."""
    (wa, ca), (wb, cb) = a.median(), b.median()
    ratio = wb / wa
    if 0.87 < ratio < 1.15:
        return "the same within 15%"
    if a.thread_text() != b.thread_text():
        return (f"different threads: {a.thread_text()} vs {b.thread_text()} (chosen from the "
                "load average; NIRC_THREADS fixes them)")  # fmt: skip
    if abs(ca - cb) <= 0.15 * max(ca, cb):
        return "same threads and CPU work: waiting for cores held by other processes (the load)"
    us = f"{ca / steps / batch * 1e6:.2f} vs {cb / steps / batch * 1e6:.2f} CPU-us per sample-step"
    ra, rb = statistics.median(a.ref), statistics.median(b.ref)
    if (rb / ra - 1) * (cb / ca - 1) > 0 and abs(rb / ra - 1) >= 0.5 * abs(cb / ca - 1):
        return (f"different CPU time: {us}, and the machine's own speed moved with it: the "
                f"reference loop ran at {ra:.2f} vs {rb:.2f} ns per 8 around the runs (the "
                "same instructions slower or faster: a busy SMT sibling or the clock of the "
                "shared host, nothing this process did)")  # fmt: skip
    if ca > cb:
        return (f"different CPU time: {us}, at the same machine speed (reference loop {ra:.2f} "
                f"vs {rb:.2f} ns per 8): other threads of this process busy during the "
                "interleaved runs (OpenBLAS's workers spin for a while after the numpy runs in "
                "between; OPENBLAS_NUM_THREADS=1 stops that)")  # fmt: skip
    return (f"different CPU time: {us}, at the same machine speed (reference loop {ra:.2f} vs "
            f"{rb:.2f} ns per 8) and threads: the warm loop did more work per run than the "
            "interleaved runs (nirc.simulate's own per-call work)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, runs of at most 1,000 steps")
    ap.add_argument("--p", type=float, default=0.1, help="input spike probability per step")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cases", default=",".join(f"{g}:{b}:{s}" for g, b, s in CASES),
                    help="graph:batch:steps, comma-separated")  # fmt: skip
    ap.add_argument("--torch-env", help="a virtual environment (or site-packages) with torch and "
                    "the frameworks, for their rows")  # fmt: skip
    ap.add_argument("--compile", action="store_true",
                    help="also time compiling the kernel into an empty cache (~20 s)")  # fmt: skip
    ap.add_argument("--settle", type=float, default=SETTLE,
                    help="seconds of pause before each interleaved run (0: none)")  # fmt: skip
    ap.add_argument("--profile", action="store_true",
                    help="where the CNN's time goes, op by op, and its activity (then exit)")  # fmt: skip
    args = ap.parse_args(argv)
    if args.profile:
        if not _jit.ENABLED:
            print("--profile needs numba (the fast extra)", file=sys.stderr)
            return 2
        profile("cnn", 32, 300 if args.quick else 1000, args.p)
        return 0
    repeats = 2 if args.quick else args.repeats
    step_repeats = 1 if args.quick else max(1, (args.repeats + 1) // 2)
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    try:
        import torch

        extra = f", torch {torch.__version__}"
    except ImportError:
        extra = ", torch not importable (no framework rows; see --torch-env)"
    numba = "numba " + __import__("numba").__version__ if _jit.ENABLED else "no numba"
    print(f"numpy {np.__version__}, {numba}, {machine()}, NIRC_THREADS="
          f"{os.environ.get('NIRC_THREADS', 'unset')}, load {_load()}{extra}")  # fmt: skip
    if _jit.ENABLED:
        print(f"first compiled run in a new process (Braille, T = 1,000): {compile_cost(False)}")
        if args.compile:
            print(f"the same with an empty kernel cache (compiling): {compile_cost(True)}")
    print(f"input Bernoulli p = {args.p}; medians of {repeats} (step: {step_repeats}), each run "
          f"{args.settle:g} s after the previous (--settle); CPU-us: "
          "process CPU time per sample-step; load: the 1-minute load average, own: this "
          "process's share of it (jit.own_load; free_cores leaves it out); ref: the machine's "
          "speed around the runs, ns per 8 float64 additions of a fixed reference loop (probe: "
          "higher is slower; a shared host's SMT sibling moves it)")  # fmt: skip
    print(f"  {'engine':13s} {'steps/s':>12s}  {'threads':>7s}  {'CPU-us':>10s}  {'load':>5s}  "
          f"{'own':>4s}  {'ref':>5s}")  # fmt: skip
    cases = []
    for case in args.cases.split(","):
        parts = case.split(":")
        if len(parts) != 3 or parts[0] not in GRAPHS or not all(p.isdigit() for p in parts[1:]):
            ap.error(f"--cases: {case!r} is not GRAPH:BATCH:STEPS (GRAPH one of {', '.join(GRAPHS)})")
        cases.append((parts[0], int(parts[1]), int(parts[2])))
    verdicts = []
    for name, batch, steps in cases:
        if args.quick:
            steps = min(steps, 1000)
        print(f"{name}, batch {batch}, T = {steps}")
        times, same, inputs = bench_nirc(name, batch, steps, args.p, repeats, step_repeats,
                                         max(0.0, args.settle))
        for key, t in times.items():
            print(_row(key, steps, batch, t, same.get(key)))
        for lib, t in bench_torch(name, batch, steps, inputs, max(1, repeats // 2)):
            print(_row(lib, steps, batch, t))
        if name == "braille" and batch == 1:
            print(f"  {SNN_MLIR} (load here {_load()})")
        if "fast+jit" not in times:
            continue
        loop = warm_loop(name, inputs if batch > 1 else {k: v[:, 0] for k, v in inputs.items()},
                         repeats, batch)  # fmt: skip
        print(_row("warm loop", steps, batch, loop))
        print(f"  warm loop vs fast+jit interleaved: "
              f"{_diagnose(times['fast+jit'], loop, steps, batch)}")  # fmt: skip
        bound = dense_bound(name, batch) if name == "cnn" else None
        if bound:
            print(f"  {'dense GEMM bound':20s} {bound:10,.0f} steps/s: the synapses alone as float64 "
                  f"BLAS products, nothing else (load {_load()})")  # fmt: skip
        target = TARGETS.get((name, batch))
        if bound and _jit.ENABLED:
            quiet, adds8, rate = floors(name, batch, min(steps, 300), args.p)
            took = (loop.median()[1] / (steps * batch) * 1e6 - quiet) / adds8 * 1e3
            line = (f"  {'floors here':20s} the program with no input events {quiet:.2f} CPU-us per "
                    f"sample-step; the events' {adds8 * 8:,.0f} additions {adds8 * rate / 1e3:.2f} at "
                    f"the best rate this machine streams them ({rate:.2f} ns per 8; the warm loop's "
                    f"{took:.2f})")  # fmt: skip
            if target:
                cores = os.cpu_count() or 1
                budget = cores * 1e6 / (target * batch)
                left = (budget - quiet) / adds8 * 1e3
                line += (f"; {target:,} steps/s on {cores} idle cores allows {budget:.2f}, so "
                         f"{left:.2f} ns per 8 ({left / rate:.2f}x the streaming rate)")  # fmt: skip
            print(line + f" (load {_load()})")
        if target:
            for label, t in (("interleaved", times["fast+jit"]), ("warm loop", loop)):
                sps = steps / t.median()[0]
                past = f"; {sps / bound:.1f}x this machine's dense GEMM bound" if bound else ""
                verdicts.append(f"{name} b={batch} T={steps} {label}: {sps:,.0f} steps/s, target "
                                f">= {target:,}: {'met' if sps >= target else 'NOT met'} "
                                f"(threads {t.thread_text()}, load {statistics.median(t.load):.1f}){past}")  # fmt: skip
    print()
    for v in verdicts:
        print(v)
    print(f"load at the end: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
