"""Xylo target figures: compile time, fidelity on the Braille models, simulator speed.

1. Compile time of paper_braille_nobias_subtract.nir (dt 1e-4, reset
   subtract, default calibration: 2 x 100 steps, p = 0.05): median of 5
   in-process compiles after start-up, and one `nirc compile` process
   (start-up included).
2. Fidelity: per-output spike-count agreement within +-1 between the float
   reference and the Xylo simulation on fresh random inputs (B = 16 samples,
   T = 300, p = 0.1, seed 1), for nirc's quantization (per-neuron scales,
   searched on 8 x 300-step calibration inputs at p = 0.1, seed 0) and for
   naive max-abs quantization (one scale 127 / max|w|, shifts 0). Both
   Braille files, each with the reset it was trained with.
3. Simulator speed against xylosim: :mod:`benchmarks.xylo_sim` (1000 hidden
   neurons, 1000 steps).

Run: .venv/bin/python benchmarks/xylo.py [--skip-sim]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import median_time

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "public"
BRAILLE = [
    ("paper_braille_nobias_subtract.nir", "subtract"),
    ("paper_braille_bias_zero.nir", "zero"),
]

# (file, reset of the float reference, relay neurons)
FIDELITY = [
    ("paper_braille_nobias_subtract.nir", "subtract", False),
    ("paper_braille_nobias_subtract.nir", "subtract", True),
    ("paper_braille_bias_zero.nir", "zero", False),
    ("paper_braille_bias_zero.nir", "subtract", False),
]


def compile_time() -> None:
    from nirc.targets import compile as compile_for

    path = str(CORPUS / BRAILLE[0][0])
    compile_for(path, "xylo", dt=1e-4, reset="subtract")  # warm imports
    t = median_time(lambda: compile_for(path, "xylo", dt=1e-4, reset="subtract"), 5)
    print(f"compile {BRAILLE[0][0]}: {t * 1000:.0f} ms median in-process")
    nirc = Path(sys.executable).parent / "nirc"
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        subprocess.run([str(nirc), "compile", path, "--target", "xylo", "--dt", "1e-4",
                        "--reset", "subtract", "-o", f"{d}/out"], check=True,
                       capture_output=True)  # fmt: skip
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([str(nirc), "--help"], check=True, capture_output=True)
        startup = time.perf_counter() - t0
    print(f"  `nirc compile` process: {total:.2f} s wall ({startup:.2f} s of it start-up: "
          f"`nirc --help`)")  # fmt: skip


def fidelity() -> None:
    from nirc.interpreter.io import RandomSpec, random_inputs
    from nirc.interpreter.snn import build_plan
    from nirc.targets.base import CompileOptions
    from nirc.targets.xylo import quantize as q
    from nirc.targets.xylo.spec import AUDIO2
    from nirc.targets.xylo.target import XyloTarget, float_reference

    for name, reset, relays in FIDELITY:
        extra = {"calib_steps": 300, "calib_batch": 8, "calib_rate": 0.1, "relays": relays}
        opts = CompileOptions(dt=1e-4, reset=reset, extra=extra)
        _, net, quant, module, _ = XyloTarget().lower(str(CORPUS / name), opts)
        fresh = random_inputs(build_plan(module).inputs, RandomSpec(p=0.1, T=300, B=16, seed=1))
        ref = float_reference(module, fresh)
        ev = q.input_events(net, fresh)
        ours = q.score(ref, q.chip_outputs(net, quant.specification, ev))
        naive = q.score(ref, q.chip_outputs(net, q.max_abs(net, AUDIO2), ev))
        counts = sum(float(v.sum()) for v in ref.values()) / (16 * net.n_out)
        print(f"{name} (reset {reset}{', relays' if relays else ''}): agreement {ours[0]:.3f} (mean |count error| "
              f"{ours[1]:.2f}) vs max-abs {naive[0]:.3f} ({naive[1]:.2f}); float reference "
              f"{counts:.1f} spikes per output neuron; target threshold {quant.target:g}")  # fmt: skip


def main() -> None:
    compile_time()
    fidelity()
    if "--skip-sim" not in sys.argv:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import xylo_sim

        xylo_sim.main()


if __name__ == "__main__":
    main()
