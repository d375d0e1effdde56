"""How far can any quantization get? The spike-count metric on perturbed float networks.

    python benchmarks/fidelity.py [--quick] [--seeds 3] [--batch 16] [--steps 300] [--only cnn|braille]

Three issues set targets on the *per-output spike-count agreement within +-1*
(:func:`nirc.metrics.spike_count_agreement`: for every output neuron and
batch element, the spike total over T steps of the float reference and of
the quantized network; the fraction whose totals differ by at most 1):
Speck >= 0.95 on paper_cnn_sinabs.nir (T = 300, p = 0.05), Xylo >= 0.90 on
the Braille files (dt 1e-4, T = 300, p = 0.1), the generic ``quantize`` pass
>= 0.95 (there: the step agreement, :func:`nirc.metrics.step_agreement`).
This script measures how the float networks themselves behave under those
metrics, next to the chips.

Configurations (the float network is the fused `snn` module the target
compiles, i.e. what ``nirc compile`` measures against; a line checks that
``nirc.simulate(file, dt=..., reset=..., source=...)`` gives the same outputs):

- paper_cnn_sinabs.nir for Speck: the plain reading (reset to zero),
  ``--reset subtract``, ``--source sinabs``; inputs Bernoulli p = 0.05;
- paper_braille_nobias_subtract.nir (reset subtract) and
  paper_braille_bias_zero.nir (reset zero) for Xylo at dt 1e-4; p = 0.1.

For each, on fresh inputs (seeds 100.., ``--batch`` samples each; never the
calibration seed 0), the float network is compared with:

(a) itself with multiplicative Gaussian noise ``W * (1 + rel * N(0, 1))`` on
    every weight matrix, rel = 1e-5 .. 1e-2 (a fresh noise draw per input seed);
(b) itself with every weight matrix rounded to an 8-bit max-abs grid
    (``round(W * 127 / max|W|) * max|W| / 127``), float otherwise;
(c) Braille: itself with every decay (alpha_mem, alpha_syn) replaced by Xylo's
    ``1 - 2**-dash``, ``dash = round(log2(tau / dt))`` (the nearest
    representable decay here), nothing else changed; and (b) + (c) together;
(d) the compiled chip, simulated: :class:`~nirc.targets.speck.SpeckTarget` /
    :class:`~nirc.targets.xylo.target.XyloTarget` (``lower`` then
    ``simulate``), calibrated as ``nirc compile`` does by default (Speck) or
    on p = 0.1 inputs (Xylo: ``--calib-rate 0.1``);
(e) Braille: the generic ``quantize`` pass (8-bit weights, 16-bit states,
    its default calibration), run by the reference interpreter.

Columns: the count agreement exactly, within +-1 (the issues' metric; with
the range over seeds), +-2 and +-max(1, 10% of the float count); the step
agreement (spike for spike); the mean |count difference|; the mean spike
count per output neuron of the compared network (the float network's is in
the header, with its spread: an agreement over neurons that spike 0 or 1
times means little).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "public"
NOISE = (1e-5, 1e-4, 1e-3, 1e-2)


@dataclass
class Config:
    label: str
    file: str
    target: str  # speck or xylo
    options: dict = field(default_factory=dict)  # CompileOptions fields
    rate: float = 0.05
    braille: bool = False


CONFIGS = [
    Config("paper CNN, plain reading, reset zero", "paper_cnn_sinabs.nir", "speck"),
    Config("paper CNN, plain reading, --reset subtract", "paper_cnn_sinabs.nir", "speck",
           {"reset": "subtract"}),
    Config("paper CNN, --source sinabs", "paper_cnn_sinabs.nir", "speck", {"source": "sinabs"}),
    Config("Braille nobias_subtract, dt 1e-4, reset subtract", "paper_braille_nobias_subtract.nir",
           "xylo", {"dt": 1e-4, "reset": "subtract"}, rate=0.1, braille=True),
    Config("Braille bias_zero, dt 1e-4, reset zero", "paper_braille_bias_zero.nir", "xylo",
           {"dt": 1e-4, "reset": "zero"}, rate=0.1, braille=True),
]  # fmt: skip


# --------------------------------------------------------------------------------------
# perturbed float networks (each a clone of the fused float `snn` module)
# --------------------------------------------------------------------------------------


def _weights(module):
    from nirc.dialects import snn

    return [op for op in snn.flat_ops(snn.top_graph(module)) if isinstance(op, snn.SYNAPSE_OPS)]


# Perturbed weights keep the file's dtype (float32 here): the interpreter sums
# float32 weights times spike counts exactly, in any order (fast, BLAS), but
# float64 weights in a fixed order, input by input (several times slower).
# The rounding to float32 (relative 6e-8) is far below the smallest noise.


def noisy(module, rel: float, seed: int):
    """Every weight ``W * (1 + rel * N(0, 1))``."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr

    m = module.clone()
    rng = np.random.default_rng(seed)
    for op in _weights(m):
        w0 = snn.param(op, "weight")
        w = w0.astype(np.float64) * (1 + rel * rng.standard_normal(w0.shape))
        op.properties["weight"] = array_to_attr(w.astype(w0.dtype))  # keep the dtype (above)
    return m


def int8_grid(module, bits: int = 8):
    """Every weight matrix rounded to its max-abs grid of ``bits`` bits, in float."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr

    m = module.clone()
    top = 2 ** (bits - 1) - 1
    for op in _weights(m):
        w0 = snn.param(op, "weight")
        w = w0.astype(np.float64)
        big = float(np.max(np.abs(w), initial=0.0))
        if big > 0:
            q = np.rint(w * top / big) * big / top
            op.properties["weight"] = array_to_attr(q.astype(w0.dtype))  # keep the dtype (above)
    return m


def xylo_decays(module):
    """Every decay replaced by Xylo's ``1 - 2**-round(log2(tau / dt))`` (dash
    0..15; alpha = 1, no leak, kept), nothing else changed."""
    from nirc.dialects import snn
    from nirc.dialects.nir import array_to_attr
    from nirc.targets.xylo.lower import tau_steps

    m = module.clone()
    g = snn.top_graph(m)
    integrator = g.integrator.data if g.integrator is not None else "euler"
    for op in snn.flat_ops(g):
        if not isinstance(op, snn.NeuronOp):
            continue
        for name in ("alpha_mem", "alpha_syn"):
            a = snn.param(op, name)
            if a is None:
                continue
            a = a.astype(np.float64)
            with np.errstate(divide="ignore"):
                raw = np.log2(tau_steps(a, integrator))
            dash = np.clip(np.round(np.where(np.isfinite(raw), raw, 15.0)), 0, 15)
            op.properties[name] = array_to_attr(np.where(a >= 1, a, 1.0 - 2.0**-dash))
    return m


def generic_quantize(module):
    """The generic ``quantize`` pass (8-bit weights, 16-bit states, defaults)."""
    from nirc.context import make_context
    from nirc.passes import get_pass

    m = module.clone()
    get_pass("quantize")(bits=8, state_bits=16, report=False).apply(make_context(), m)
    return m


# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------

COLUMNS = ("exact", "+-1", "+-2", "+-10%", "steps", "|d|", "count")


def figures(ref: dict, got: dict) -> dict[str, float]:
    """Agreement figures over every output (all output neurons x batch)."""
    from nirc.metrics import spike_counts, step_agreement

    r = np.concatenate([spike_counts(ref[k]).reshape(-1) for k in ref])
    g = np.concatenate([spike_counts(np.asarray(got[k], np.float64)).reshape(-1) for k in ref])
    d = np.abs(r - g)
    steps = np.mean([step_agreement(ref[k], np.asarray(got[k], ref[k].dtype)) for k in ref])
    return {
        "exact": float(np.mean(d == 0)),
        "+-1": float(np.mean(d <= 1)),
        "+-2": float(np.mean(d <= 2)),
        "+-10%": float(np.mean(d <= np.maximum(1.0, 0.1 * r))),
        "steps": float(steps),
        "|d|": float(d.mean()),
        "count": float(g.mean()),
    }


def _check_metric(ref: dict, got: dict) -> None:
    """The +-1 column is nirc.metrics.outputs_agreement (the targets' figure)."""
    from nirc.metrics import outputs_agreement

    a, _ = outputs_agreement(ref, {k: np.asarray(got[k], ref[k].dtype) for k in ref})
    assert abs(a - figures(ref, got)["+-1"]) < 1e-12, (a, figures(ref, got)["+-1"])


# --------------------------------------------------------------------------------------
# one configuration
# --------------------------------------------------------------------------------------


def _compile(cfg: Config):
    """(float `snn` module, simulate(inputs) -> chip outputs, note)."""
    from nirc.targets.base import CompileOptions

    path = str(CORPUS / cfg.file)
    if cfg.target == "speck":
        from nirc.targets.speck.target import SpeckTarget

        t = SpeckTarget()
        chip, lowering, float_module = t.lower(path, CompileOptions(**cfg.options))
        note = f"calibration 2 x 100 steps, p = 0.05, seed 0: agreement " \
               f"{lowering.quantization.agreement:.3f}"  # fmt: skip
        return float_module, (lambda x: t.simulate(chip, x)), note
    from nirc.targets.xylo.target import XyloTarget

    t = XyloTarget()
    opts = CompileOptions(**cfg.options, extra={"calib_rate": cfg.rate})
    chip, _, quant, float_module, _ = t.lower(path, opts)
    note = f"calibration {quant.calibration}: agreement {quant.agreement:.3f}"
    return float_module, (lambda x: t.simulate(chip, x)), note


def _simulate_check(cfg: Config, float_module, x: dict, ref: dict) -> str:
    """Whether nirc.simulate on the file with the configuration's reading gives
    the target's float module's outputs: "yes", "NO", or the error it raised."""
    try:
        return "yes" if _simulate_same(cfg, x, ref) else "NO"
    except Exception as e:  # a report line, not a crash: the rest still measures
        return f"failed ({type(e).__name__}: {str(e).splitlines()[0][:100]})"


def _simulate_same(cfg: Config, x: dict, ref: dict) -> bool:
    import warnings

    import nirc

    o = cfg.options
    kw = {"dt": o.get("dt", 1.0), "reset": o.get("reset"), "source": o.get("source", "nir")}
    if kw["source"] != "nir":
        kw.pop("dt")  # the profile's own dt convention (what the target does)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = nirc.simulate(str(CORPUS / cfg.file), x, **kw)
    return all(np.array_equal(out[k], ref[k]) for k in ref)


def run_config(cfg: Config, args) -> None:
    from nirc.interpreter.snn import calibration_inputs, run_snn

    start = time.perf_counter()
    float_module, chip, note = _compile(cfg)
    rows: dict[str, list[dict]] = {}
    ref_counts = []
    same = ""

    def add(label: str, ref: dict, got: dict) -> None:
        _check_metric(ref, got)
        rows.setdefault(label, []).append(figures(ref, got))

    def run(module, x):
        return {k: v for k, v in run_snn(module, x).items()}

    fixed = {"int8": int8_grid(float_module)}
    if cfg.braille:
        fixed["decays"] = xylo_decays(float_module)
        fixed["decays+int8"] = int8_grid(fixed["decays"])
        fixed["quantize"] = generic_quantize(float_module)
    for s in range(args.seeds):
        seed = 100 + s
        x = calibration_inputs(
            float_module, None, steps=args.steps, rate=cfg.rate, batch=args.batch, seed=seed
        )
        ref = run(float_module, x)
        ref = {k: ref[k] for k in sorted(ref)}
        if s == 0:
            same = _simulate_check(cfg, float_module, x, ref)
        ref_counts.append(np.concatenate([v.sum(axis=0).reshape(-1) for v in ref.values()]))
        for rel in NOISE:
            add(f"(a) float, weight noise {rel:g}", ref, run(noisy(float_module, rel, seed), x))
        add("(b) float, weights on 8-bit max-abs grids", ref, run(fixed["int8"], x))
        if cfg.braille:
            add("(c) float, decays 1 - 2**-dash (Xylo's)", ref, run(fixed["decays"], x))
            add("(b)+(c) float, 8-bit grids and Xylo decays", ref, run(fixed["decays+int8"], x))
        add(f"(d) chip: {cfg.target} simulation", ref, chip(x))
        if cfg.braille:
            add("(e) generic quantize pass, 8/16 bits", ref, run(fixed["quantize"], x))
    counts = np.concatenate(ref_counts)
    n_out = counts.size // (args.seeds * args.batch)
    print(f"\n{cfg.label}  [{cfg.file}, {cfg.target}]")
    print(f"  float outputs: {n_out} neurons x {args.batch} samples x {args.seeds} seeds; "
          f"spikes per neuron over T = {args.steps}: mean {counts.mean():.2f}, median "
          f"{np.median(counts):.0f}, max {counts.max():.0f}, {np.mean(counts == 0):.0%} zero, "
          f"{np.mean(counts <= 1):.0%} <= 1")  # fmt: skip
    print(f"  chip {note}; nirc.simulate(file, ...) == the target's float network: "
          f"{same}")  # fmt: skip
    head = f"  {'float network vs':<46}" + "".join(f"{c:>8}" for c in COLUMNS[:1])
    head += f"{'+-1 (min..max)':>22}" + "".join(f"{c:>8}" for c in COLUMNS[2:])
    print(head)
    for label, per_seed in rows.items():
        mean = {c: float(np.mean([f[c] for f in per_seed])) for c in COLUMNS}
        lo = min(f["+-1"] for f in per_seed)
        hi = max(f["+-1"] for f in per_seed)
        line = f"  {label:<46}{mean['exact']:8.3f}"
        line += f"{mean['+-1']:10.3f} ({lo:.3f}..{hi:.3f})"
        line += f"{mean['+-2']:8.3f}{mean['+-10%']:8.3f}{mean['steps']:8.4f}{mean['|d|']:8.2f}"
        line += f"{mean['count']:8.2f}"
        print(line)
    print(f"  [{time.perf_counter() - start:.1f} s]")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 seed x 8 samples")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--only", choices=("cnn", "braille"))
    args = p.parse_args()
    if args.quick:
        args.seeds, args.batch = 1, 8
    print(
        f"fidelity: float network vs perturbed copies and the chips, fresh Bernoulli inputs, "
        f"T = {args.steps}, seeds 100..{99 + args.seeds} x {args.batch} samples; "
        "columns: count agreement exact / +-1 / +-2 / +-max(1, 10%), step agreement, "
        "mean |count difference|, mean count per output neuron"
    )
    for cfg in CONFIGS:
        if args.only and (cfg.braille != (args.only == "braille")):
            continue
        run_config(cfg, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
