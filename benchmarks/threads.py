"""Thread counts under CPU contention: the numpy (BLAS) and compiled paths of the
interpreter on the paper CNN, with 1 thread, with every core, and with nirc's
choice (:func:`nirc.interpreter.jit.free_cores`: the cores the load average
leaves free, one more for the compiled program, whose threads take samples
in turn), on a quiet machine and with busy processes competing.

    python benchmarks/threads.py [--steps 200] [--batch 16] [--hogs 2]

Prints steps/s per setting and the load average; nirc's choice should be
within noise of the better of the two fixed settings in every row.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CNN = ROOT / "examples" / "nmnist_cnn.nir"


def _hog(stop) -> None:
    x = 0
    while not stop.is_set():
        x += 1


def _rate(x, jit: str, threads: str | None) -> float:
    import nirc

    if threads is None:
        os.environ.pop("NIRC_THREADS", None)
    else:
        os.environ["NIRC_THREADS"] = threads
    start = time.perf_counter()
    nirc.simulate(CNN, x, dt=1.0, jit=jit)
    return x["input"].shape[0] / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--hogs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    import nirc
    from nirc.interpreter import jit as jit_mod

    rng = np.random.default_rng(0)
    x = {"input": rng.random((args.steps, args.batch, 2, 34, 34)) < 0.1}
    nirc.simulate(CNN, x, dt=1.0, jit="on")  # compile and warm up
    cores = os.cpu_count()
    print(f"paper CNN, batch {args.batch}, {args.steps} steps, {cores} cores; steps/s")
    print(f"{'load':<22} {'path':<9} {'1 thread':>9} {f'{cores} threads':>10} {'nirc':>9}  "
          "(nirc chose)")  # fmt: skip
    for label, hogs in (("quiet", 0), (f"{args.hogs} busy processes", args.hogs)):
        stop = mp.Event()
        procs = [mp.Process(target=_hog, args=(stop,), daemon=True) for _ in range(hogs)]
        for p in procs:
            p.start()
        if hogs:
            time.sleep(65)  # let the one-minute load average see them
        try:
            for path in ("numpy", "compiled"):
                jit = "off" if path == "numpy" else "on"
                one = _rate(x, jit, "1")
                many = _rate(x, jit, str(cores))
                auto = _rate(x, jit, None)
                chose = jit_mod.free_cores(pieces=path == "compiled")
                print(f"{label + f' (load {os.getloadavg()[0]:.1f})':<22} {path:<9} {one:>9.0f} "
                      f"{many:>10.0f} {auto:>9.0f}  ({chose})")  # fmt: skip
        finally:
            stop.set()
            for p in procs:
                p.join()


if __name__ == "__main__":
    main()
