"""Speed of the Speck simulator (``nirc.targets.speck.SpeckSimulator``) against
the float interpreter on the same CNN.

Two trained CNNs, each compiled for Speck (``nirc.targets.compile``) and run
by the Speck simulator (the chip's integer model), next to the float
interpreter (``nirc.prepare(...).run``, what ``nirc.simulate`` runs) on the
NIR graph it was compiled from, same inputs, at batch 1 and 32:

- the NIR paper's CNN (examples/nmnist_cnn.nir, N-MNIST shapes, plain reading,
  one step per time unit) on Bernoulli(p) input spikes, as
  benchmarks/interpreter.py drives it;
- Sinabs' digits CNN (../shared/tasks/sinabs_cnn_digits.nir, ``--source
  sinabs``) on the digits16 test set's own spikes, samples played one after
  another in each batch row.

Rows: the Speck simulator compiled (numba, the ``fast`` extra) and in numpy
(no numba, or ``jit=False``: the code before it was compiled), the float
interpreter with its compiled kernels (``jit="on"``, its fast path). Runs are
measured in turn, so that all see the same machine load (printed before and
after; on this shared 2-core machine figures move by 2x with it): best and
median of ``--repeats`` (numpy: fewer), steps/s (a batch of 32 advances 32
samples a step), and the ratio of the best runs to the float fast path. Both
compiled paths use one core more than the load leaves idle, up to the CPU
count (their threads take samples in turn, so a thread on a busy core only
takes fewer; ``NIRC_THREADS`` overrides). The compiled network's one-off
costs are reported apart: compiling into an empty cache and loading from the
cache, in fresh processes.

Then the two synthetic networks this benchmark always had (the worked
example of TARGETS.md, 1000 steps, and a DVS-sized 2x128x128 network, 300
steps), random int8 weights, sparse (2 %) and dense (30 %) input: ms per step,
compiled and numpy.

    .venv/bin/python benchmarks/speck_simulator.py [--steps 1000] [--p 0.1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from timing import cold_and_warm, machine

from nirc.interpreter import jit
from nirc.targets.speck import Destination, SpeckLayer, SpeckSimulator, place

ROOT = Path(__file__).resolve().parents[1]
TASKS = ROOT.parent / "shared" / "tasks"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def interleaved(runs: dict, repeats: int, few: dict[str, int]) -> dict[str, list[float]]:
    """Wall times of the runs, measured in turn ``repeats`` times after one
    untimed call each; a run named in ``few`` gets that many repeats only."""
    for fn in runs.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(repeats):
        for key, fn in runs.items():
            if r >= few.get(key, repeats):
                continue
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return times


# -- the trained CNNs ---------------------------------------------------------------


def cnn_inputs(name: str, shape: tuple, steps: int, batch: int, p: float) -> np.ndarray:
    """``[T, B, *shape]`` uint8 input spikes for one of the CNNs."""
    if name == "digits":
        data = np.load(TASKS / "digits16_test.npz")["spikes"]  # [N, 50, 1, 16, 16]
        per_row = -(-steps // data.shape[1])
        rows = [np.concatenate([data[(b * per_row + i) % len(data)] for i in range(per_row)])
                for b in range(batch)]  # fmt: skip
        return np.stack(rows, axis=1)[:steps].astype(np.uint8)
    rng = np.random.default_rng(0)
    return (rng.random((steps, batch) + tuple(shape)) < p).astype(np.uint8)


def bench_cnns(args) -> None:
    from nirc.interpreter import prepare
    from nirc.targets import compile as compile_model
    from nirc.targets.speck.dialect import read_chip

    cnns = [("paper CNN", ROOT / "examples" / "nmnist_cnn.nir", "nir", f"Bernoulli p={args.p}")]
    if (TASKS / "sinabs_cnn_digits.nir").exists():
        cnns.append(("digits", TASKS / "sinabs_cnn_digits.nir", "sinabs", "digits16 test spikes"))
    print(f"T = {args.steps}; best and median of {args.repeats} runs (Speck numpy: "
          f"{args.numpy_repeats}); steps/s; {jit.free_cores(pieces=True)} thread(s) for the "
          "compiled paths (free_cores(pieces=True): samples taken in turn)")  # fmt: skip
    print(f"{'CNN':<10}{'B':>3}  {'engine':<22}{'best':>10}{'median':>10}  {'vs float jit':>12}"
          f"  output spikes")  # fmt: skip
    for name, path, source, what in cnns:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            compiled = compile_model(path, target="speck", source=source)
            compile_s = time.perf_counter() - start
            reference = prepare(path, source=source, dt=1.0)
        net = read_chip(compiled.module)
        (in_name, inp), = net.inputs.items()  # fmt: skip
        print(f"{name}: {path.name} ({source}), {len(net.layers)} cores, {what}; "
              f"compiled for Speck in {compile_s:.1f} s")  # fmt: skip
        for batch in (1, 32):
            x = cnn_inputs(name, tuple(inp.shape), args.steps, batch, args.p)
            events = x.reshape(x.shape[:2] + tuple(inp.events))
            sims = {
                "speck compiled": SpeckSimulator(net.layers, net.cores,
                                                 spike_mode=net.spike_mode, jit=True),
                "speck numpy": SpeckSimulator(net.layers, net.cores,
                                              spike_mode=net.spike_mode, jit=False),
            }  # fmt: skip
            outputs: dict[str, int] = {}

            def speck(key, sim, events=events, outputs=outputs):
                def go():
                    outputs[key] = int(sim.run({0: events})["output"].sum())

                return go

            def floating(x=x, reference=reference, outputs=outputs):
                out = reference.run(x, jit="on")
                outputs["float jit"] = int(sum(v.sum() for v in out.values()))

            runs = {k: speck(k, s) for k, s in sims.items()}
            runs["float jit"] = floating
            if not jit.ENABLED:
                del runs["speck compiled"], runs["float jit"]
            times = interleaved(runs, args.repeats, {"speck numpy": args.numpy_repeats})
            best = {k: min(v) for k, v in times.items()}
            for key, ts in times.items():
                ratio = f"{best['float jit'] / best[key]:11.2f}x" if "float jit" in best else ""
                print(f"{name:<10}{batch:>3}  {key:<22}{args.steps / best[key]:10.0f}"
                      f"{args.steps / statistics.median(ts):10.0f}  {ratio:>12}  "
                      f"{outputs[key]}")  # fmt: skip
    print(f"load average after: {load()}")


# -- one-off cost of the compiled network ------------------------------------------------

_ONE_OFF = """
import time
import numpy as np
from nirc.targets.speck import SpeckLayer, SpeckSimulator
from nirc.targets.speck.simulator import compiled_kernels
layer = SpeckLayer("l", (2, 8, 8), np.ones((4, 2, 3, 3), np.int8), threshold_high=5)
sim = SpeckSimulator([layer], jit=True)
t1 = time.perf_counter()
compiled_kernels()
t2 = time.perf_counter()
sim.run(np.ones((4, 2, 8, 8), np.uint8))
t3 = time.perf_counter()
print(t2 - t1, t3 - t2)
"""


def one_off_costs() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(import numba and the kernels' module, first run) in seconds, in a
    fresh process with an empty cache (compiling), then with that cache."""
    return cold_and_warm(_ONE_OFF)


# -- synthetic networks ------------------------------------------------------------------


def weights(rng, *shape):
    return rng.integers(-40, 41, shape).astype(np.int8)


def worked_example(rng) -> list[SpeckLayer]:
    return [
        SpeckLayer(
            "conv1",
            (2, 32, 32),
            weights(rng, 8, 2, 3, 3),
            threshold_high=100,
            destinations=(Destination(1, 2),),
        ),
        SpeckLayer(
            "conv2",
            (8, 15, 15),
            weights(rng, 16, 8, 3, 3),
            stride=2,
            threshold_high=100,
            destinations=(Destination(2),),
        ),
        SpeckLayer("fc", (16, 7, 7), weights(rng, 10, 16, 7, 7), threshold_high=100),
    ]


def dvs_network(rng) -> list[SpeckLayer]:
    return [
        SpeckLayer(
            "conv1",
            (2, 128, 128),
            weights(rng, 8, 2, 3, 3),
            stride=2,
            padding=1,
            threshold_high=100,
            destinations=(Destination(1, 2),),
        ),
        SpeckLayer(
            "conv2",
            (8, 32, 32),
            weights(rng, 16, 8, 3, 3),
            padding=1,
            threshold_high=100,
            destinations=(Destination(2, 2),),
        ),
        SpeckLayer(
            "conv3",
            (16, 16, 16),
            weights(rng, 32, 16, 3, 3),
            padding=1,
            threshold_high=100,
            destinations=(Destination(3, 2),),
        ),
        SpeckLayer(
            "conv4",
            (32, 8, 8),
            weights(rng, 64, 32, 3, 3),
            padding=1,
            threshold_high=100,
            destinations=(Destination(4, 2),),
        ),
        SpeckLayer("fc", (64, 4, 4), weights(rng, 10, 64, 4, 4), threshold_high=100),
    ]


def bench_synthetic() -> None:
    rng = np.random.default_rng(0)
    print("\nsynthetic networks, random int8 weights (ms per step, best of 3):")
    for name, layers, steps in (
        ("worked example", worked_example(rng), 1000),
        ("DVS 128x128, 5 cores", dvs_network(rng), 300),
    ):
        paths = {"numpy": False, "compiled": True} if jit.ENABLED else {"numpy": False}
        sims = {k: SpeckSimulator(layers, place(layers), jit=v) for k, v in paths.items()}
        for density in (0.02, 0.3):
            shape = (steps, *layers[0].input_shape)
            events = (rng.random(shape) < density).astype(np.uint8)
            runs = {k: (lambda s=s, e=events: s.run(e)) for k, s in sims.items()}
            times = interleaved(runs, 3, {})
            cells = "  ".join(f"{k} {1e3 * min(t) / steps:7.3f}" for k, t in times.items())
            print(f"  {name:<22} T={steps:<5} input density {density:4.0%}: {cells}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--p", type=float, default=0.1, help="input spike probability (paper CNN)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--numpy-repeats", type=int, default=2)
    p.add_argument("--skip-synthetic", action="store_true")
    args = p.parse_args()
    print(f"load average before: {load()} ({machine()})")
    bench_cnns(args)
    if jit.ENABLED:
        (imp_c, first_c), (imp_w, first_w) = one_off_costs()
        print(f"compiled network, one-off per process: import numba + kernels {imp_c:.2f} s, "
              f"compile {first_c:.2f} s (empty cache); import {imp_w:.2f} s, load "
              f"{first_w:.2f} s (cached, every later process)")  # fmt: skip
    if not args.skip_synthetic:
        bench_synthetic()


if __name__ == "__main__":
    main()
