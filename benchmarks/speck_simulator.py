"""Speed of the Speck simulator (``nirc.targets.speck.SpeckSimulator``).

Two networks, random int8 weights, random input events:
- the worked example of TARGETS.md (2x32x32 input, 3 cores), 1000 steps;
- a DVS-sized network (2x128x128 input, 5 cores, the largest maps Speck takes),
  300 steps.

Prints the median wall time of ``run`` and the time per step, for sparse
(DVS-like, 2 % of pixels per step) and dense (30 %) input.

Run: .venv/bin/python benchmarks/speck_simulator.py
"""

from __future__ import annotations

import numpy as np
from timing import median_time

from nirc.targets.speck import Destination, SpeckLayer, SpeckSimulator, place


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


def main() -> None:
    rng = np.random.default_rng(0)
    for name, layers, steps in (
        ("worked example", worked_example(rng), 1000),
        ("DVS 128x128, 5 cores", dvs_network(rng), 300),
    ):
        sim = SpeckSimulator(layers, place(layers))
        for density in (0.02, 0.3):
            shape = (steps, *layers[0].input_shape)
            events = (rng.random(shape) < density).astype(np.int64)
            t = median_time(lambda sim=sim, events=events: sim.run(events), repeats=3)
            print(
                f"{name:<22} T={steps:<5} input density {density:4.0%}: "
                f"{t:6.3f} s  ({1e3 * t / steps:.2f} ms/step)"
            )


if __name__ == "__main__":
    main()
