"""Speed of nirc's bit-accurate Xylo simulator against SynSense's xylosim (C++).

The network is what nirc's Xylo mapping produces from a feed-forward NIR graph:
16 inputs -> 4 layers of 250 hidden neurons chained through ``weights_rec``
(48 targets per neuron, within Xylo Audio 2's fan-out of 64, both synapses
used) -> 8 outputs from the last layer. Input: about 20% of the channels carry
1-3 events per step. Activity settles at roughly 13% of hidden neurons spiking
per step, mostly once, with no saturated state: sparse-ish, like a trained net.

Prints steps/s (medians of 5 runs of 1000 steps, fresh state each run) of
``XyloSimulator.run`` (no recording) and of xylosim's ``XyloLayer.evolve``
(which always records), their ratio, and checks the output spikes agree. Times
are wall clock and process CPU time; on a shared machine CPU time is the
steadier of the two. Run: .venv/bin/python benchmarks/xylo_sim.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from nirc.targets.xylo import VARIANTS, XyloSimulator, XyloSpecification

N_IN, N_HID, N_OUT, LAYERS, FAN_OUT = 16, 1000, 8, 4, 48
STEPS, REPEATS = 1000, 5


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


def measure(reset, run) -> tuple[float, float]:
    """Median wall and CPU seconds of ``run()`` after ``reset()``."""
    wall, cpu = [], []
    for _ in range(REPEATS):
        reset()
        w0, c0 = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    rng = np.random.default_rng(0)
    spec = make_network(rng)
    events = (rng.random((STEPS, N_IN)) < 0.2) * rng.integers(1, 4, (STEPS, N_IN))

    sim = XyloSimulator(spec)
    rec = sim.run(events, record=True)
    active = (rec["spikes_hidden"] > 0).sum(axis=1).mean()
    per_active = rec["spikes_hidden"].sum() / max(1, (rec["spikes_hidden"] > 0).sum())
    print(
        f"network: {N_IN} inputs, {N_HID} hidden ({LAYERS} layers, fan-out {FAN_OUT}), "
        f"{N_OUT} outputs; {STEPS} steps"
    )
    print(
        f"activity: {active:.0f} hidden neurons spike per step ({active / N_HID:.0%}), "
        f"{per_active:.2f} spikes each; {int(rec['spikes_out'].sum())} output spikes"
    )

    nirc_wall, nirc_cpu = measure(sim.reset, lambda: sim.run(events))
    print(f"nirc XyloSimulator: {STEPS / nirc_wall:8.0f} steps/s wall, {STEPS / nirc_cpu:8.0f} CPU")

    try:
        layer, _keep = xylosim_layer(spec)
    except ImportError:
        print("xylosim is not installed: no comparison")
        return
    events_list = events.tolist()
    out: list = []
    xs_wall, xs_cpu = measure(
        layer.reset_all, lambda: out.append(np.array(layer.evolve(events_list)))
    )
    print(f"xylosim XyloLayer:  {STEPS / xs_wall:8.0f} steps/s wall, {STEPS / xs_cpu:8.0f} CPU")
    print(f"ratio nirc / xylosim: {xs_wall / nirc_wall:.2f}x wall, {xs_cpu / nirc_cpu:.2f}x CPU")
    same = np.array_equal(out[-1], rec["spikes_out"])
    print(f"output spikes identical: {same}")
    if not same:
        raise SystemExit("nirc and xylosim disagree")


if __name__ == "__main__":
    main()
