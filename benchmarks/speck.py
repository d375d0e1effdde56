"""Speck target: compile time of the paper CNN and agreement with the float network.

    python benchmarks/speck.py [--seeds 3] [--batch 8] [--steps 300] [--rate 0.05] [--repeat 5]

Compile time (examples/nmnist_cnn.nir, the NIR paper's Sinabs N-MNIST CNN):

- start-up: ``nirc --version`` in a fresh process (Python, nirc's CLI);
- whole command: ``nirc compile ... --target speck -o DIR`` in a fresh process;
- in process: :func:`nirc.targets.compile` once everything is imported (the
  compiler's own work: read, passes, lowering with the quantization search,
  emitting), best and median of ``--repeat`` runs, with a breakdown.

Agreement: the per-output spike-count agreement within +-1
(:func:`nirc.metrics.spike_count_agreement`) between the float `snn` network
(the reference interpreter) and the Speck simulation of the compiled cores,
on fresh Bernoulli inputs (``rate``, ``steps``, ``batch`` samples per seed,
seeds 100.., never the calibration seed), for the plain reading with reset to
zero and by subtraction and for ``--source sinabs`` (what Sinabs computed:
multi-spike, ``>=``, subtraction). For context, the same figure between the
float network and itself with relative Gaussian noise of 1e-3 and 1e-5 on its
weights (int8 rounding is about 1e-2): how chaotic the network is on these
inputs, i.e. what no 8-bit implementation can beat. A small conv network
(tests/test_speck_compile.py) is measured the same way.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "nmnist_cnn.nir"
NIRC = [sys.executable, "-m", "nirc.cli"]


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def compile_times(repeat: int) -> None:
    from nirc.targets import compile as compile_model

    startup = min(_wall(NIRC + ["--version"]) for _ in range(3))
    with tempfile.TemporaryDirectory() as tmp:
        whole = [
            _wall(NIRC + ["compile", str(MODEL), "--target", "speck", "-o", f"{tmp}/o{i}"])
            for i in range(3)
        ]
    compile_model(MODEL, "speck")  # imports, caches
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        compile_model(MODEL, "speck")
        runs.append(time.perf_counter() - start)
    print("compile time, paper CNN (examples/nmnist_cnn.nir) -> speck:")
    print(f"  start-up (nirc --version)          {startup:6.3f} s")
    print(f"  whole command (nirc compile -o)    {min(whole):6.3f} s best, "
          f"{statistics.median(whole):.3f} s median")  # fmt: skip
    print(f"  whole command minus start-up       {min(whole) - startup:6.3f} s")
    print(f"  in process (warm)                  {min(runs):6.3f} s best, "
          f"{statistics.median(runs):.3f} s median of {repeat}")  # fmt: skip
    _breakdown()


def _breakdown() -> None:
    """Time of each stage of one in-process compile."""
    import nirc.targets.speck.lower as lower
    import nirc.targets.speck.quantize as quantize
    from nirc.targets.speck.target import SpeckTarget

    stages: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - start

        return wrapper

    saved = (quantize.float_reference, quantize.quantize_network, lower.extract)
    quantize.float_reference = timed("float reference (calibration)", saved[0])
    quantize.quantize_network = timed("quantization search", saved[1])
    lower.extract = timed("core layers + IR rules", saved[2])
    try:
        target = SpeckTarget()
        start = time.perf_counter()
        target.compile(MODEL)
        total = time.perf_counter() - start
    finally:
        quantize.float_reference, quantize.quantize_network, lower.extract = saved
    rest = total - sum(stages.values())
    for name, t in stages.items():
        print(f"    {name:<32} {t:6.3f} s")
    print(f"    {'read, passes, placement, emit':<32} {rest:6.3f} s")


def _noisy(module, rel: float, seed: int = 0):
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr

    m = module.clone()
    rng = np.random.default_rng(seed)
    for op in snn.flat_ops(snn.top_graph(m)):
        if isinstance(op, snn.SYNAPSE_OPS):
            w = snn.param(op, "weight").astype(np.float64)
            op.properties["weight"] = array_to_attr(w * (1 + rel * rng.standard_normal(w.shape)))
    return m


def agreement(model, options: dict, args, noise: tuple[float, ...] = ()) -> dict[str, float]:
    from nirc.metrics import outputs_agreement
    from nirc.targets import get_target
    from nirc.targets.base import CompileOptions
    from nirc.targets.speck.quantize import calibration_inputs, float_reference

    target = get_target("speck")
    module, lowering, float_module = target.lower(model, CompileOptions(**options))
    noisy = {rel: _noisy(float_module, rel) for rel in noise}
    chip, float_noise = [], {rel: [] for rel in noise}
    spikes = []
    for seed in range(100, 100 + args.seeds):
        x = calibration_inputs(
            float_module, None, steps=args.steps, rate=args.rate, batch=args.batch, seed=seed
        )
        ref = float_reference(float_module, x, [])
        ref = {k: ref[k] for k in lowering.network.outputs}
        spikes.append(np.mean([v.sum(axis=0).mean() for v in ref.values()]))
        chip.append(outputs_agreement(ref, target.simulate(module, x))[0])
        for rel, m in noisy.items():
            other = float_reference(m, x, [])
            float_noise[rel].append(outputs_agreement(ref, {k: other[k] for k in ref})[0])
    out = {
        "chip": float(np.mean(chip)),
        "calibration": lowering.quantization.agreement,
        "spikes": float(np.mean(spikes)),
    }
    out.update({f"float, noise {rel:g}": float(np.mean(v)) for rel, v in float_noise.items()})
    return out


def agreements(args) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_speck_compile import chain, conv, flatten, if_, linear, pool

    small = chain((1, 8, 8), (6,), conv("c", 1, 4, 3, scale=1.0), if_("n1", (4, 6, 6), thr=2.0),
                  pool("p", 2), flatten(), linear("fc", 36, 6, seed=3, scale=1.0),
                  if_("n2", (6,), thr=2.0))  # fmt: skip
    print(
        f"\nagreement: per-output spike-count agreement within +-1, float snn vs Speck "
        f"simulation, T = {args.steps}, rate {args.rate}, {args.seeds} seeds x {args.batch} "
        "samples (fresh inputs)"
    )
    rows = [
        ("paper CNN, plain reading, reset zero", MODEL, {}, (1e-3, 1e-5)),
        ("paper CNN, plain reading, reset subtract", MODEL, {"reset": "subtract"}, (1e-3, 1e-5)),
        ("paper CNN, --source sinabs", MODEL, {"source": "sinabs"}, (1e-3, 1e-5)),
        ("small conv network, reset zero", small, {}, ()),
    ]
    for label, model, options, noise in rows:
        start = time.perf_counter()
        a = agreement(model, options, args, noise)
        extra = ", ".join(f"{k}: {v:.3f}" for k, v in a.items() if k.startswith("float"))
        print(
            f"  {label:<42} chip {a['chip']:.3f} (calibration {a['calibration']:.3f}; "
            f"{a['spikes']:.1f} spikes per output neuron)"
            + (f"; {extra}" if extra else "")
            + f"  [{time.perf_counter() - start:.1f} s]"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rate", type=float, default=0.05)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--skip-time", action="store_true")
    args = p.parse_args()
    if not args.skip_time:
        compile_times(args.repeat)
    agreements(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
