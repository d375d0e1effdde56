"""Checking that a pipeline preserves meaning: simulate before and after.

:func:`check_equivalence` runs the reference interpreter on two modules (any
level: `nir` or `snn`, float or quantized) on the same random spike inputs and
measures the fraction of equal output entries. It is what ``nirc opt
--check-equivalence`` prints.

- A `nir` module is simulated with the ``dt``, integrator, reset and source
  profile of the other side when that side is an `snn` module (what
  `discretize` recorded), else with ``dt`` (or the graph's metadata).
- Spike outputs (integer counts) compare exactly. Real-valued outputs (the
  membrane of a non-spiking readout) compare within :data:`FLOAT_TOLERANCE`
  of the reference output's largest magnitude: an exact rewrite may reassociate
  float sums (a folded weight, a fused layer), which changes the last bits and
  nothing else. The outputs of a quantized network that carry a ``scale``
  (integer values of non-spiking neurons) are divided by it and count as equal
  within 1% of the reference output's largest magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nirc.diagnostics import NircError

FLOAT_TOLERANCE = 1e-9  # relative: float64 reassociation moves ~1e-16 per operation


@dataclass
class Equivalence:
    agreement: float
    per_output: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        a = self.agreement
        if a == 1.0:
            return "1.0"
        t = f"{a:.4f}"
        return t if t != "1.0000" else f"{a:.7f}"


def _simulation(module, *, dt, integrator, reset, source="nir"):
    from nirc.dialects.snn import is_snn_module
    from nirc.interpreter import Simulation, prepare
    from nirc.interpreter.snn import build_plan

    if is_snn_module(module):
        return Simulation(build_plan(module)), True
    return prepare(module, dt=dt, integrator=integrator, reset=reset, source=source), False


def _output_scales(module) -> dict[str, np.ndarray]:
    from nirc.dialects import snn

    if not snn.is_snn_module(module):
        return {}
    out = {}
    for op in snn.top_graph(module).output_ops():
        s = snn.param(op, "scale")
        if s is not None:
            out[op.node_name.data] = s.astype(np.float64)
    return out


def check_equivalence(
    before, after, *, seeds: int = 5, steps: int = 300, rate: float = 0.1, dt: float | None = None
) -> Equivalence:
    from nirc.dialects.snn import graph_source, is_snn_module, top_graph
    from nirc.interpreter.io import RandomSpec, random_inputs
    from nirc.metrics import step_agreement

    if seeds < 1 or steps < 1 or not 0.0 <= rate <= 1.0:
        raise NircError(
            "bad --check-equivalence settings",
            expected="--seeds >= 1, --steps >= 1, 0 <= --rate <= 1",
            found=f"seeds {seeds}, steps {steps}, rate {rate}",
        )
    integrator, reset, source = "euler", "zero", "nir"
    for m in (after, before):
        if is_snn_module(m):
            g = top_graph(m)
            source = graph_source(g)
            dt = g.dt_value if dt is None else dt
            integrator = g.integrator.data if g.integrator is not None else integrator
            reset = g.reset.data if g.reset is not None else reset
            break
    sim_a, _ = _simulation(before, dt=dt, integrator=integrator, reset=reset, source=source)
    sim_b, _ = _simulation(after, dt=dt, integrator=integrator, reset=reset, source=source)
    if dict(sim_a.plan.inputs) != dict(sim_b.plan.inputs):
        raise NircError(
            "the pipeline changed the graph's inputs",
            expected=f"{sim_a.plan.inputs}",
            found=f"{sim_b.plan.inputs}",
        )
    if set(sim_a.plan.outputs) != set(sim_b.plan.outputs):
        raise NircError(
            "the pipeline changed the graph's outputs",
            expected=", ".join(sim_a.plan.outputs),
            found=", ".join(sim_b.plan.outputs),
        )
    scales = _output_scales(after)
    equal = dict.fromkeys(sim_a.plan.outputs, 0.0)
    kinds: dict[str, str] = {}
    sizes = dict.fromkeys(sim_a.plan.outputs, 0)
    for seed in range(seeds):
        x = random_inputs(sim_a.plan.inputs, RandomSpec(p=rate, T=steps, B=None, seed=seed))
        ra = sim_a.run(x)
        rb = sim_b.run(x)
        for name in equal:
            a, b = np.asarray(ra[name]), np.asarray(rb[name])
            if name in scales or not a.size or np.array_equal(a, np.round(a)):
                agree = step_agreement(a, b, scales.get(name))
            else:
                kinds[name] = "float"
                tol = FLOAT_TOLERANCE * max(float(np.max(np.abs(a))), 1e-300)
                agree = float(np.mean(np.abs(b - a) <= tol))
            equal[name] += agree * a.size
            sizes[name] += a.size
    total = sum(sizes.values())
    result = Equivalence(sum(equal.values()) / total if total else 1.0)
    result.per_output = {n: equal[n] / sizes[n] if sizes[n] else 1.0 for n in equal}
    result.lines.append(
        f"check-equivalence: {seeds} random input(s), {steps} steps, rate {rate:g}"
        + (f", dt {dt:g} s, {integrator}, reset {reset}" if dt is not None else "")
    )
    for name, a in result.per_output.items():
        how = (
            "dequantized, 1% tolerance" if name in scales
            else f"real-valued, {FLOAT_TOLERANCE:g} relative tolerance" if name in kinds
            else "exact"
        )  # fmt: skip
        result.lines.append(f"  output {name}: {a:.6f} of entries equal ({how})")
    return result
