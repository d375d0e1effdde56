"""Quantization quality: spike agreement of the quantized network with the float one.

    python benchmarks/quantize.py [--seeds 5] [--steps 300] [--rate 0.1] [--bits 8] [--state-bits 16]

For the two corpus models of the issue (paper_braille_bias_zero.nir at dt =
1e-4, paper_cnn_sinabs.nir at dt = 1), the pipeline ``discretize, fold-weights,
fuse, quantize`` is run with nirc's scale search (per layer and per channel)
and with plain max-abs per-layer scaling; each quantized network is simulated
on held-out random spike inputs (Bernoulli ``rate``, ``steps`` steps, seeds
0..seeds-1, never the calibration seed) next to the float `snn` network, and
the fraction of equal output entries is printed, with the time the pass took.
For context it also prints the agreement of the float network with relative
Gaussian noise of 1e-4 and 1e-3 on its weights (how chaotic the network is:
no approximation can do much better) and of a network that never spikes
(1 - the output spike rate: the floor below which a result means nothing).
Needs the corpus at ../shared/corpus.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "public"
MODELS = (("paper_braille_bias_zero.nir", 1e-4), ("paper_cnn_sinabs.nir", 1.0))


def held_out_agreement(float_module, quantized, *, seeds: int, steps: int, rate: float) -> float:
    from nirc.interpreter.io import RandomSpec, random_inputs
    from nirc.interpreter.snn import build_plan
    from nirc.passes.quantize import _output_agreement, run_module

    plan = build_plan(float_module)
    total = 0.0
    for seed in range(seeds):
        x = random_inputs(plan.inputs, RandomSpec(p=rate, T=steps, B=1, seed=seed))
        ref = run_module(float_module, x)
        got = run_module(quantized, x)
        total += _output_agreement(quantized, got, ref)
    return total / seeds


def noisy(module, rel: float, seed: int = 0):
    """The float network with relative Gaussian noise on every weight."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr

    out = module.clone()
    rng = np.random.default_rng(seed)
    for op in snn.flat_ops(snn.top_graph(out)):
        if isinstance(op, snn.SYNAPSE_OPS):
            w = snn.param(op, "weight").astype(np.float64)
            op.properties["weight"] = array_to_attr(w * (1 + rel * rng.standard_normal(w.shape)))
    return out


def silent_agreement(float_module, *, seeds: int, steps: int, rate: float) -> float:
    """What a network that never spikes scores: 1 - the float output's spike rate."""
    from nirc.interpreter.io import RandomSpec, random_inputs
    from nirc.interpreter.snn import build_plan
    from nirc.passes.quantize import run_module

    plan = build_plan(float_module)
    total = 0.0
    for seed in range(seeds):
        x = random_inputs(plan.inputs, RandomSpec(p=rate, T=steps, B=1, seed=seed))
        ref = run_module(float_module, x)
        total += float(np.mean([np.mean(v == 0) for v in ref.values()]))
    return total / seeds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--state-bits", type=int, default=16)
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    from nirc.context import make_context
    from nirc.diagnostics import collecting
    from nirc.interpreter.snn import discretized, load_module
    from nirc.passes.fold_weights import fold_weights
    from nirc.passes.fuse import fuse
    from nirc.passes.quantize import QuantizePass

    variants = (
        ("max-abs, per layer", dict(method="maxabs")),
        ("search, per layer", dict(granularity="layer")),
        ("search, per channel", dict(granularity="channel")),
    )
    print(
        f"{args.bits}-bit weights, {args.state_bits}-bit states; held-out inputs: "
        f"rate {args.rate}, T = {args.steps}, seeds 0..{args.seeds - 1}"
    )
    for name, dt in MODELS:
        with collecting():
            base = discretized(load_module(CORPUS / name), dt=dt)
        fold_weights(base)
        fuse(base)
        for label, options in variants:
            q = base.clone()
            start = time.perf_counter()
            QuantizePass(bits=args.bits, state_bits=args.state_bits, report=False, **options).apply(
                make_context(), q
            )
            took = time.perf_counter() - start
            a = held_out_agreement(base, q, seeds=args.seeds, steps=args.steps, rate=args.rate)
            print(f"{name:32s} {label:22s} agreement {a:.4f}   (quantize took {took:5.1f} s)")
        # context: how sensitive the float network is, and what silence scores
        kw = dict(seeds=args.seeds, steps=args.steps, rate=args.rate)
        for rel in (1e-4, 1e-3):
            a = held_out_agreement(base, noisy(base, rel), **kw)
            print(f"{name:32s} {f'float, {rel:g} weight noise':22s} agreement {a:.4f}")
        print(f"{name:32s} {'never spiking':22s} agreement {silent_agreement(base, **kw):.4f}")
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    sys.exit(main())
