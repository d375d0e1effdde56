"""Compile time and peak memory of calibrated compiles at N-MNIST scale.

``nirc compile examples/nmnist_cnn.nir --source sinabs --target CHIP
--calibrate data.npz`` for Speck, Loihi 2 and SpiNNaker2, each in a process of
its own (its wall time and the peak resident memory it reports, its
``ru_maxrss``), on a labelled data set of the network's input shape ([N, T, 2, 34,
34] spikes, Bernoulli ``--p``, random labels, seeded: the shape and rate of
N-MNIST, not its pictures). The chips draw their calibration samples from it
(Speck 128, Loihi 2 and SpiNNaker2 256). There is no vendor peer that
calibrates; the figures of earlier versions, measured the same way on this
kind of machine (2 vCPUs, AMD Zen 4), are printed beside them. The machine's
speed swings by a third within minutes (see benchmarks/interpreter.py), so
compare versions by alternating runs, not across days.

The kernels are compiled once in a warm-up compile on a few samples first.

Run: .venv/bin/python benchmarks/calibrated_compile.py [--steps 100] [--samples 300]
     [--targets speck,loihi2,spinnaker2] [--p 0.05]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "nmnist_cnn.nir"
# the compile in a process of its own that reports its peak resident memory last
CHILD = ("import resource, sys\nfrom nirc.cli import main\nrc = main(sys.argv[1:])\n"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(rc)")

# (chip, steps) -> (seconds, GiB) at the start of the twelfth session (2026-12-07),
# before the chips' loops shared their samples among the cores and the searches
# stopped keeping every candidate's spikes
EARLIER = {
    ("speck", 100): (18.7, 2.0), ("speck", 300): (65.0, 5.5),
    ("loihi2", 100): (28.4, 1.3), ("loihi2", 300): (92.0, 3.5),
    ("spinnaker2", 100): (63.0, 2.5), ("spinnaker2", 300): (200.0, 6.1),
}  # fmt: skip


def load() -> str:
    a, b, c = os.getloadavg()
    return f"load {a:.2f} / {b:.2f} / {c:.2f} on {os.cpu_count()} cores"


def data(path: Path, samples: int, steps: int, p: float) -> None:
    rng = np.random.default_rng(0)
    spikes = (rng.random((samples, steps, 2, 34, 34)) < p).astype(np.uint8)
    np.savez(path, spikes=spikes, labels=rng.integers(0, 10, samples))


def compile_once(chip: str, calib: Path, out: Path) -> tuple[float, float]:
    """(wall seconds, peak GiB) of one ``nirc compile`` process."""
    start = time.perf_counter()
    cmd = [sys.executable, "-c", CHILD, "compile", str(MODEL), "--source", "sinabs", "--target",
           chip, "--calibrate", str(calib), "-o", str(out)]  # fmt: skip
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, int(done.stdout.strip().splitlines()[-1]) / 2**20  # ru_maxrss: KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--targets", default="speck,loihi2,spinnaker2")
    ap.add_argument("--p", type=float, default=0.05)
    a = ap.parse_args()
    chips = [c.strip() for c in a.targets.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="nirc-calib-bench-") as tmp:
        tmp = Path(tmp)
        small, calib = tmp / "small.npz", tmp / "calib.npz"
        data(small, 8, 20, a.p)
        data(calib, a.samples, a.steps, a.p)
        for chip in chips:  # the kernels compiled and cached before anything is timed
            compile_once(chip, small, tmp / "warm")
        print(f"calibrated compiles of {MODEL.name} (--source sinabs) on {a.samples} samples x "
              f"{a.steps} steps of [2, 34, 34] spikes, p = {a.p:g}; {load()}")  # fmt: skip
        print(f"  {'chip':<12}{'wall':>9}{'peak':>10}   earlier (2026-12-07, same data)")
        for chip in chips:
            wall, gib = compile_once(chip, calib, tmp / chip)
            old = EARLIER.get((chip, a.steps))
            was = f"{old[0]:.1f} s, {old[1]:.1f} GiB" if old else "-"
            print(f"  {chip:<12}{wall:>7.1f} s{gib:>6.2f} GiB   {was}")
        print(f"  ({load()})")


if __name__ == "__main__":
    main()
