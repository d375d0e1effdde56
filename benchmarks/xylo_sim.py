"""Speed of nirc's bit-accurate Xylo simulator against SynSense's xylosim (C++).

The network is what nirc's Xylo mapping produces from a feed-forward NIR graph:
16 inputs -> 4 layers of 250 hidden neurons chained through ``weights_rec``
(48 targets per neuron, within Xylo Audio 2's fan-out of 64, both synapses
used) -> 8 outputs from the last layer. Input: about 20% of the channels carry
1-3 events per step. Activity settles at roughly 13% of hidden neurons spiking
per step, mostly once, with no saturated state: sparse-ish, like a trained net.

Prints steps/s of ``XyloSimulator.run`` (no recording) with the compiled
kernel (numba, the ``fast`` extra) and with the numpy code, and of xylosim's
``XyloLayer.evolve`` (which always records), all on the same configuration and
inputs, measured in turn (so that all see the same machine load; the load
average is printed before and after): the best and the median of ``--repeats``
runs of ``--steps`` steps from a fresh state, wall clock and process CPU time.
The ratios use the best runs. Checks that the output spikes of all three
agree. The compiled kernel's one-off costs are reported apart: compiling it
into an empty cache and loading it from the cache, each in a fresh process.

Run: .venv/bin/python benchmarks/xylo_sim.py [--steps 1000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from timing import cold_and_warm

from nirc.interpreter import jit
from nirc.targets.xylo import VARIANTS, XyloSimulator, XyloSpecification

N_IN, N_HID, N_OUT, LAYERS, FAN_OUT = 16, 1000, 8, 4, 48


def make_network(rng: np.random.Generator) -> XyloSpecification:
    size = N_HID // LAYERS
    w_in = np.zeros((N_IN, N_HID, 2), np.int64)
    w_in[:, :size] = np.where(
        rng.random((N_IN, size, 2)) < 0.5, rng.integers(-50, 100, (N_IN, size, 2)), 0
    )
    w_rec = np.zeros((N_HID, N_HID, 2), np.int64)
    for layer in range(LAYERS - 1):
        nxt = np.arange((layer + 1) * size, (layer + 2) * size)
        for i in range(layer * size, (layer + 1) * size):
            targets = rng.choice(nxt, FAN_OUT, replace=False)
            w = np.clip(np.round(rng.normal(15, 50, FAN_OUT)), -128, 127)
            w_rec[i, targets, rng.integers(0, 2, FAN_OUT)] = w
    w_out = np.zeros((N_HID, N_OUT), np.int64)
    w_out[-size:] = np.where(
        rng.random((size, N_OUT)) < 0.3, rng.integers(-60, 120, (size, N_OUT)), 0
    )
    spec = XyloSpecification(
        weights_in=w_in,
        weights_rec=w_rec,
        weights_out=w_out,
        dash_mem=rng.integers(2, 5, N_HID),
        dash_mem_out=np.full(N_OUT, 3),
        dash_syn=rng.integers(1, 3, N_HID),
        dash_syn_2=rng.integers(2, 4, N_HID),
        dash_syn_out=np.full(N_OUT, 2),
        threshold=rng.integers(6000, 12000, N_HID),
        threshold_out=np.full(N_OUT, 12000),
        bias=np.zeros(N_HID, np.int64),
        bias_out=np.zeros(N_OUT, np.int64),
        weight_shift_in=2,
        weight_shift_rec=2,
        weight_shift_out=2,
    )
    spec.validate(VARIANTS["audio2"])
    return spec


def xylosim_layer(spec: XyloSpecification):
    """xylosim's XyloLayer for ``spec``, plus the synapse lists it points into."""
    from xylosim.v2 import XyloLayer, XyloSynapse

    def synapses(w: np.ndarray) -> list:
        return [
            [
                XyloSynapse(int(post), syn, int(w[pre, post, syn]))
                for syn in range(w.shape[2])
                for post in np.flatnonzero(w[pre, :, syn])
            ]
            for pre in range(w.shape[0])
        ]

    keep = (
        synapses(spec.weights_in),
        synapses(spec.weights_rec),
        synapses(spec.weights_out[:, :, None]),
        [[] for _ in range(spec.n_hidden)],
    )
    layer = XyloLayer(
        *keep,
        spec.threshold.tolist(),
        spec.threshold_out.tolist(),
        False,
        spec.bias.tolist(),
        spec.bias_out.tolist(),
        spec.weight_shift_in,
        spec.weight_shift_rec,
        spec.weight_shift_out,
        spec.dash_mem.tolist(),
        spec.dash_mem_out.tolist(),
        [[int(a), int(b)] for a, b in zip(spec.dash_syn, spec.dash_syn_2)],
        [[int(d)] for d in spec.dash_syn_out],
        "benchmark",
    )
    return layer, keep


def measure(runs: dict, repeats: int) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU seconds of each ``(reset, run)`` of ``runs``, measured in
    turn ``repeats`` times (after one untimed call each)."""
    for reset, run in runs.values():
        reset()
        run()
    times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in runs}
    for _ in range(repeats):
        for key, (reset, run) in runs.items():
            reset()
            w0, c0 = time.perf_counter(), time.process_time()
            run()
            times[key][0].append(time.perf_counter() - w0)
            times[key][1].append(time.process_time() - c0)
    return times


_ONE_OFF = """
import time
t0 = time.perf_counter()
import numpy as np
from nirc.targets.xylo import VARIANTS, XyloSimulator, XyloSpecification
from nirc.targets.xylo.simulator import compiled_kernels
spec = XyloSpecification.random(VARIANTS["audio2"], 16, 50, 4, np.random.default_rng(0))
sim = XyloSimulator(spec, jit=True)
t1 = time.perf_counter()
compiled_kernels()
t2 = time.perf_counter()
sim.run(np.ones((10, 16), int))
t3 = time.perf_counter()
print(t2 - t1, t3 - t2)
"""


def one_off_costs() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(import numba and the kernels' module, first run) in seconds, in a
    fresh process with an empty cache (compiling), then with that cache."""
    return cold_and_warm(_ONE_OFF)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    steps = args.steps
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")  # fmt: skip
    rng = np.random.default_rng(0)
    spec = make_network(rng)
    events = (rng.random((steps, N_IN)) < 0.2) * rng.integers(1, 4, (steps, N_IN))

    numpy_sim = XyloSimulator(spec, jit=False)
    rec = numpy_sim.run(events, record=True)
    numpy_sim.reset()
    active = (rec["spikes_hidden"] > 0).sum(axis=1).mean()
    per_active = rec["spikes_hidden"].sum() / max(1, (rec["spikes_hidden"] > 0).sum())
    print(
        f"network: {N_IN} inputs, {N_HID} hidden ({LAYERS} layers, fan-out {FAN_OUT}), "
        f"{N_OUT} outputs; {steps} steps per run, {args.repeats} runs each, in turn"
    )
    print(
        f"activity: {active:.0f} hidden neurons spike per step ({active / N_HID:.0%}), "
        f"{per_active:.2f} spikes each; {int(rec['spikes_out'].sum())} output spikes"
    )

    outputs: dict[str, np.ndarray] = {}
    runs = {}

    def add(key, reset, run):
        runs[key] = (reset, lambda: outputs.__setitem__(key, run()))

    if jit.ENABLED:
        fast = XyloSimulator(spec, jit=True)
        add("nirc compiled", fast.reset, lambda: fast.run(events)["spikes_out"])
    add("nirc numpy", numpy_sim.reset, lambda: numpy_sim.run(events)["spikes_out"])
    try:
        layer, _keep = xylosim_layer(spec)
        events_list = events.tolist()
        add("xylosim", layer.reset_all, lambda: np.array(layer.evolve(events_list)))
    except ImportError:
        print("xylosim is not installed: no comparison")
    times = measure(runs, args.repeats)

    best = {k: (min(w), min(c)) for k, (w, c) in times.items()}
    print(f"{'':<16}{'best wall':>12}{'median':>10}{'best CPU':>12}   steps/s")
    for key, (wall, cpu) in times.items():
        print(f"{key:<16}{steps / min(wall):12.0f}{steps / statistics.median(wall):10.0f}"
              f"{steps / min(cpu):12.0f}")  # fmt: skip
    if "xylosim" in best:
        for key in ("nirc compiled", "nirc numpy"):
            if key in best:
                w, c = best["xylosim"][0] / best[key][0], best["xylosim"][1] / best[key][1]
                print(f"ratio {key} / xylosim: {w:.2f}x wall, {c:.2f}x CPU")
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if jit.ENABLED:
        (imp_c, first_c), (imp_w, first_w) = one_off_costs()
        print(f"compiled kernel, one-off per process: import numba + kernels {imp_c:.2f} s, "
              f"compile {first_c:.2f} s (empty cache); import {imp_w:.2f} s, load "
              f"{first_w:.2f} s (cached, every later process)")  # fmt: skip
    ref = outputs.get("xylosim", rec["spikes_out"])
    same = all(np.array_equal(out, ref) for out in outputs.values())
    print(f"output spikes identical: {same}")
    if not same:
        raise SystemExit("nirc and xylosim disagree")


if __name__ == "__main__":
    main()
