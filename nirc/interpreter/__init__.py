"""The reference interpreter: what a NIR graph computes, in numpy.

    >>> out = nirc.simulate("model.nir", {"input": x}, dt=1e-4, record=["lif1.v"])
    >>> out["output"].shape, out["lif1.v"].shape     # [T, *shape] or [T, B, *shape]

It implements SEMANTICS.md exactly: state in float64, synaptic sums of spikes
computed exactly (float64 sums of the file's float32 weights), feedback edges
carrying the previous step's value. It is fast: neurons and batch are
vectorized, and synapses whose input is known for a chunk of steps run over
all of them in one matrix product (see :mod:`nirc.interpreter.plan`); with
the ``fast`` extra, a whole graph runs as one compiled loop over time
(:mod:`nirc.interpreter.program`). ``mode="step"`` evaluates one step at a
time in numpy instead and gives identical results (it is the oracle the fast
paths are tested against).
``precision="float32"`` (opt-in, never the default) computes weighted sums in
float32: faster, but reassociated, so a spike may rarely differ.

Later IR levels (the `snn` dialect, chip dialects) plug in here as other plan
builders behind the same :func:`simulate`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from nirc.interpreter.engine import PRECISIONS, Simulator, chunk_steps
from nirc.interpreter.io import (
    RandomSpec,
    is_random_spec,
    load_npz,
    normalize,
    parse_random,
    random_inputs,
)
from nirc.interpreter.plan import Plan, compile_plan, resolve_dt

__all__ = [
    "simulate",
    "NircWarning",
    "prepare",
    "Simulation",
    "Simulator",
    "Plan",
    "compile_plan",
    "resolve_dt",
    "chunk_steps",
]


class Simulation:
    """A graph compiled for simulation with fixed options; run it on any inputs.

    ``precision``: ``"float64"`` (the default: exact synaptic sums, the
    reference) or ``"float32"`` (opt-in: weighted sums in float32, faster but
    reassociated, so spikes may rarely differ from the default)."""

    def __init__(self, plan: Plan, precision: str = "float64") -> None:
        if precision not in PRECISIONS:
            from nirc.diagnostics import NircError

            raise NircError(
                "unknown precision", expected="float64 or float32", found=str(precision)
            )
        self.plan = plan
        self.precision = precision
        self.simulator = Simulator(plan)

    @property
    def dt(self) -> float | None:
        return self.plan.dt

    def run(
        self,
        inputs: Any = None,
        *,
        steps: int | None = None,
        batch: int | None = None,
        mode: str = "fast",
        progress: Callable[[int], None] | None = None,
        jit: str = "auto",
    ) -> dict[str, np.ndarray]:
        """Simulate. ``inputs``: ``{input_name: array}``, one array when the graph
        has one Input, a path to an .npz of such arrays, or a
        ``"random:p=0.1,T=1000,B=1,seed=0"`` spec. Returns
        ``{output_or_probe: array}`` shaped ``[T, *shape]``, or
        ``[T, B, *shape]`` when the inputs have a batch axis or ``batch`` is
        given. ``steps`` defaults to the inputs' length (more steps read zero
        input). ``jit``: ``"auto"``, ``"on"`` or ``"off"``, the compiled kernels
        of the ``fast`` extra (same results; see :meth:`Simulator.run`)."""
        plan = self.plan
        if isinstance(inputs, str) and is_random_spec(inputs):
            spec = parse_random(inputs)
            inputs = random_inputs(plan.inputs, spec, batch)
        elif isinstance(inputs, RandomSpec):
            inputs = random_inputs(plan.inputs, inputs, batch)
        elif isinstance(inputs, (str, os.PathLike)):
            from nirc.nirdata import is_nirdata, read_inputs

            inputs = (
                read_inputs(inputs, plan.inputs, plan.dt) if is_nirdata(inputs)
                else load_npz(inputs)
            )  # fmt: skip
        arrays, length, b, batched = normalize(inputs, plan.inputs, batch=batch)
        if steps is None:
            steps = length
        if int(steps) < 1:
            from nirc.diagnostics import NircError

            raise NircError(
                "nothing to simulate: zero steps",
                expected="inputs with T >= 1 steps, or steps >= 1",
                found=f"T = {length}" if steps is None else f"steps = {steps}",
            )
        results = self.simulator.run(
            arrays,
            int(steps),
            b,
            mode=mode,
            progress=progress,
            precision=self.precision,
            jit_mode=jit,
        )
        if not batched:
            results = {k: v[:, 0] for k, v in results.items()}
        return results


def prepare(
    model: Any,
    *,
    dt: float | None = None,
    integrator: str | None = None,
    reset: str | None = None,
    record: Iterable[str] | str = (),
    strict: bool = False,
    level: str = "nir",
    precision: str = "float64",
    source: str = "nir",
) -> Simulation:
    """Load ``model`` (a path to a .nir or .mlir file, a :class:`nirc.graph.Graph`,
    an xDSL module of the `nir` or `snn` dialect or a ``nir.NIRGraph``), check it,
    and build its simulation plan. ``record`` lists probes: ``node`` (its output)
    or ``node.state`` (``v``, ``i``; at the `snn` level also ``v_pre``, the
    membrane before the step's reset). ``level="snn"`` discretizes a `nir` model
    first and runs the `snn` interpreter (:mod:`nirc.interpreter.snn`); an `snn`
    module always runs at that level. ``source`` (``snntorch``, ``norse``,
    ``sinabs``, ``rockpool``; default ``nir``, the plain reading) simulates the
    file as that framework computed it (:mod:`nirc.profiles`), at the `snn`
    level; ``integrator``/``reset`` left as None take the profile's (plain
    reading: euler, zero). ``precision="float32"`` computes weighted
    sums in float32 (see :class:`Simulation`)."""
    from nirc import diagnostics

    outer = diagnostics.current_sink()
    sim, found = _prepare(
        model, outer.strict, dt=dt, integrator=integrator, reset=reset, record=record,
        strict=strict, level=level, precision=precision, source=source,
    )  # fmt: skip
    _report(found, stacklevel=3)
    return sim


def _prepare(model: Any, outer_strict: bool, *, strict: bool, precision: str, **options: Any):
    """:func:`prepare`'s work: (the Simulation, the warnings it collected)."""
    from nirc import diagnostics
    from nirc.load import load_graph

    level = options.pop("level")
    with diagnostics.collecting(strict=strict or outer_strict) as sink:
        plan = _snn_plan(model, level, **options)
        if plan is None:
            graph, shapes = load_graph(model)
            plan = compile_plan(
                graph,
                shapes,
                dt=options["dt"],
                integrator=options["integrator"] or "euler",
                reset=options["reset"] or "zero",
                record=options["record"],
            )
    return Simulation(plan, precision), list(sink.warnings)


def _report(found: list, stacklevel: int) -> None:
    """Hand the warnings of preparing a model to whoever collects them (else
    show them, at the caller ``stacklevel`` frames up: a script, a notebook)."""
    from nirc import diagnostics

    outer = diagnostics.current_sink()
    outer.warnings.extend(found)
    if outer is diagnostics._SINKS[0]:
        for w in found:
            warnings.warn(w.render(), NircWarning, stacklevel=stacklevel)


def _snn_plan(model: Any, level: str, **options: Any) -> Plan | None:
    """The `snn` level's plan when asked for or when ``model`` is an `snn` module
    (the dispatch hook of :mod:`nirc.interpreter.snn`); None for the `nir` level."""
    from nirc.interpreter import snn

    if level not in ("nir", "snn"):
        from nirc.diagnostics import NircError

        raise NircError("unknown level", expected="nir or snn", found=str(level))
    if isinstance(model, (str, os.PathLike)) and str(model).endswith(".mlir"):
        model = snn.load_module(model)  # parse once, whatever the dialect
    if level == "snn" or options.get("source", "nir") != "nir" or snn.is_snn_model(model):
        return snn.snn_plan_for(model, **options)
    return None


class NircWarning(UserWarning):
    """A repair or inference made while loading a model for simulation."""


def simulate(
    model: Any,
    inputs: Any = None,
    *,
    dt: float | None = None,
    integrator: str | None = None,
    reset: str | None = None,
    steps: int | None = None,
    batch: int | None = None,
    record: Iterable[str] | str = (),
    strict: bool = False,
    mode: str = "fast",
    level: str = "nir",
    precision: str = "float64",
    source: str = "nir",
    jit: str = "auto",
) -> dict[str, np.ndarray]:
    """Simulate ``model`` on ``inputs`` and return every Output (and probe).

    ``dt`` (seconds per step) follows SEMANTICS.md's precedence when omitted:
    graph metadata, then the ``r == tau/dt`` convention (with a warning);
    ``integrator`` is ``"euler"`` or ``"exact"``; ``reset`` is ``"zero"`` or
    ``"subtract"`` (defaults: the source profile's, plain reading euler and
    zero); ``source`` simulates the file as the framework that exported it
    computed it (``"snntorch"``, ``"norse"``, ``"sinabs"``, ``"rockpool"``; see
    :mod:`nirc.profiles`); ``mode="step"`` runs the step-by-step oracle;
    ``precision="float32"`` trades exactness for speed (opt-in, see
    :class:`Simulation`). See :meth:`Simulation.run` for ``inputs``, ``steps``,
    ``batch`` and ``jit``. A file's prepared simulation is kept while its
    bytes and these options stay the same (see :func:`_cached_simulation`), so
    calling this in a loop costs no more than :meth:`Simulation.run`."""
    if isinstance(record, str):
        record = [r for r in record.split(",") if r.strip()]
    options = dict(
        dt=dt, integrator=integrator, reset=reset, record=tuple(record), strict=strict,
        level=level, precision=precision, source=source,
    )  # fmt: skip
    cached = _cached_simulation(model, options)
    if cached is None:
        sim = prepare(model, **options)
        return sim.run(inputs, steps=steps, batch=batch, mode=mode, jit=jit)
    sim, lock = cached
    try:
        return sim.run(inputs, steps=steps, batch=batch, mode=mode, jit=jit)
    finally:
        lock.release()


# nirc.simulate on a file: the prepared simulation of the last few (file bytes,
# options), so that a loop of short runs (streaming samples one by one) does not
# read and check the file each time (about 3 ms for the Braille network, longer
# than simulating 1,000 of its steps)
SIMULATIONS_KEPT = 8
_SIMULATIONS: dict = {}


def _cached_simulation(model: Any, options: dict):
    """(Simulation, its lock, held) for ``model`` when it is a file: kept
    while the file's bytes (a digest) and the options are the same, its
    warnings reported again at each use; None for other models, or when the
    kept one is in use by another thread."""
    import hashlib
    import threading

    from nirc import diagnostics
    from nirc.atomic import note_input

    if not isinstance(model, (str, os.PathLike)):
        return None
    try:
        with open(model, "rb") as f:
            digest = hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    except OSError:
        return None  # prepare() says what is wrong
    outer = diagnostics.current_sink()
    key = (os.path.realpath(model), digest, outer.strict) + tuple(options.values())
    entry = _SIMULATIONS.get(key)
    if entry is None:
        opts = dict(options)
        sim, found = _prepare(
            model, outer.strict, strict=opts.pop("strict"), precision=opts.pop("precision"), **opts
        )
        entry = (sim, found, threading.Lock())
        if len(_SIMULATIONS) >= SIMULATIONS_KEPT:
            _SIMULATIONS.pop(next(iter(_SIMULATIONS)))
        _SIMULATIONS[key] = entry
    else:
        note_input(model)
    sim, found, lock = entry
    if not lock.acquire(blocking=False):
        return None
    _report(found, stacklevel=4)  # simulate()'s caller
    return sim, lock
