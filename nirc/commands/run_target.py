"""`nirc run --target CHIP`: compile for a chip, then run its bit-accurate simulation.

    nirc run model.nir --target speck --input random:p=0.05,T=300,B=4 -o out.npz
    nirc run out/model.mlir --target speck --input x.npz -o out.npz

The model is compiled in memory with the run's ``--dt``, ``--reset``,
``--allow-approximate``, ``--strict`` and the placement and target flags of
`nirc compile` (nothing is written), or taken as it
is when it is already IR of the chip's dialect (a ``model.mlir`` written by
``nirc compile``). Outputs are keyed by the graph's Output names, like a float
run, and hold spike counts per step: ``[T, *shape]``, or ``[T, B, *shape]``
for batched inputs.
"""

from __future__ import annotations

import argparse

import numpy as np

from nirc.commands import chip_options
from nirc.diagnostics import NircError, warn


def _refuse_float_only(args: argparse.Namespace, target=None) -> None:
    used = []
    if args.record and not getattr(target, "records", False):
        used.append("--record")
    if args.plot:
        used.append("--plot")
    if args.mode != "fast":
        used.append("--mode")
    if getattr(args, "level", "nir") != "nir":
        used.append("--level")
    if args.integrator not in (None, "euler"):
        used.append("--integrator")
    if used:
        raise NircError(
            f"{', '.join(used)} apply to the reference interpreter, not to a chip simulation",
            where="--target",
            hint="drop them, or drop --target to simulate the float network",
        )


def run_target(args: argparse.Namespace) -> int:
    from nirc.interpreter.io import (
        check_memory,
        elements,
        is_random_spec,
        load_run_inputs,
        normalize,
        parse_random,
        random_inputs,
    )
    from nirc.targets import get_target
    from nirc.targets.base import CompileOptions

    target = get_target(args.target)
    _refuse_float_only(args, target)
    if args.steps is not None and args.steps < 1:
        raise NircError("--steps must be >= 1", found=str(args.steps))
    if args.batch is not None and args.batch < 1:
        raise NircError("--batch must be >= 1", found=str(args.batch))
    chip_options.check(args)
    compiled = target.load(args.model)
    if compiled is None:
        chip_options.warn_unread(args, [args.target])
        options = CompileOptions(
            dt=args.dt,
            reset=args.reset,
            source=getattr(args, "source", None) or "nir",
            allow_approximate=args.allow_approximate,
            strict=args.strict,
            seed=0,
            extra=chip_options.extra(args),
        )
        compiled = target.compile(args.model, options).module
    elif chip_options.given(args):
        warn(f"{', '.join(chip_options.given(args))}: no effect on a module already compiled "
             f"for {args.target} (its placement and quantization are in it)", kind="warning")  # fmt: skip
    shapes = target.input_shapes(compiled)
    ins = elements(shapes)
    spec = args.input
    if spec is None:
        expected = ", ".join(f"`{n}` [T, {', '.join(map(str, s))}]" for n, s in shapes.items())
        raise NircError(
            "no input given",
            expected=f"--input x.npz with arrays {expected}, or --input random:p=0.05,T=300",
        )
    batch = args.batch
    if is_random_spec(spec):
        r = parse_random(spec)
        if args.seed is not None:
            r.seed = args.seed
        if r.B is not None and batch is not None and r.B != batch:
            raise NircError(
                "two batch sizes given", where="--input", found=f"B={r.B} and --batch {batch}"
            )
        check_memory(float(r.T) * (r.B or batch or 1) * ins * 13, "the run",
                     f"{r.B or batch or 1:,} samples x {r.T:,} steps x {ins:,} random inputs, drawn "
                     "and as the chip's simulator reads them", "fewer steps or samples")  # fmt: skip
        inputs = random_inputs(shapes, r, batch)
        batch = None
    else:
        from nirc.nirdata import is_nirdata, read_inputs

        dt = args.dt if args.dt is not None else target.time_step(compiled)
        inputs = read_inputs(spec, shapes, dt) if is_nirdata(spec) else load_run_inputs(spec, shapes)
    arrays, length, b, batched = normalize(inputs, shapes, batch=batch, where="--input")
    steps = args.steps if args.steps is not None else length
    if steps < 1:
        raise NircError("nothing to simulate: the input has zero steps", where="--input")
    check_memory(float(steps) * b * ins * 8, "the run", f"{b:,} samples x {steps:,} steps x {ins:,} "
                 "inputs as the chip's simulator reads them", "fewer steps or samples (--steps)")  # fmt: skip
    arrays = {k: _fit(np.asarray(v), steps) for k, v in arrays.items()}
    from nirc.interpreter import jit

    clock = jit.stopwatch()
    # a target with ``records = True`` takes --record (its probes, e.g. hidden states)
    probes = {"record": args.record} if args.record else {}
    results = target.simulate(compiled, arrays, **probes)
    elapsed, compiled_s = clock()
    if not batched:
        results = {k: v[:, 0] for k, v in results.items()}
    if args.output:
        from nirc.run_cmd import save_results

        # probes are `layer.state`; everything else is an Output's name
        nodes = {k.rpartition(".")[0] if "." in k else k for k in results}
        dt = args.dt if args.dt is not None else target.time_step(compiled)
        save_results(args, results, dt, nodes, batched)
    from nirc.run_cmd import compile_apart, value_line

    print(
        f"simulated {steps} steps on {target.name} (bit-accurate"
        + (f", batch {b}" if batched else "")
        + f") in {elapsed:.3f} s: {steps / max(elapsed, 1e-9):,.0f} steps/s"
        + compile_apart(steps, elapsed, compiled_s)
    )

    for key, arr in results.items():
        kind = "probe" if "." in key else "output"  # probes are `layer.state`
        print(value_line(kind, key, np.asarray(arr), batched, None))
    if args.output:
        print(f"wrote {args.output}: " + ", ".join(
            f"{k} [{', '.join(map(str, v.shape))}]" for k, v in results.items()))  # fmt: skip
    return 0


def _fit(a: np.ndarray, steps: int) -> np.ndarray:
    """``a`` cut or zero-padded to ``steps`` steps."""
    if a.shape[0] >= steps:
        return a[:steps]
    pad = np.zeros((steps - a.shape[0],) + a.shape[1:], a.dtype)
    return np.concatenate([a, pad])
