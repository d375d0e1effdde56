"""What a chip target is, and the pieces every target shares.

A target is one package under ``targets/`` and one line in
:data:`nirc.targets.TARGETS`. It subclasses :class:`Target` and provides:

- ``name``, ``description`` and ``spec`` (the object holding the chip's
  limits, which generic passes and ``nirc targets`` read);
- :meth:`Target.compile`: a model (path, graph or module) and
  :class:`CompileOptions` -> a :class:`CompileResult` holding the final IR of
  the target dialect, the artifact files (name -> text), a report and a short
  summary; :meth:`CompileResult.write` puts the files in place atomically;
- :meth:`Target.simulate`: the chip's bit-accurate simulation of a compiled
  module on inputs keyed by Input name, outputs keyed by Output name;
- :meth:`Target.limits`: the chip's limits as ``(what, value)`` rows.

Nothing here names a chip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nirc.diagnostics import NircError


@dataclass(frozen=True)
class CompileOptions:
    """Options every target understands (a target may ignore some).

    - ``dt``: seconds per time step for `discretize` (``None``: the target's
      default, then the graph's metadata);
    - ``reset``: ``zero`` or ``subtract``, the reset the model was trained with
      (``None``: the source profile's default, reset to zero for ``nir``);
    - ``source``: the framework profile the file is read with (``nir`` is the
      plain reading; see :mod:`nirc.profiles`);
    - ``allow_approximate``: accept lossy conversions the target can measure
      (e.g. dropping a leak), reporting the measured agreement;
    - ``calibrate``: an .npz of inputs (``[T, B, *shape]`` per Input) to
      choose quantization scales on; ``None``: seeded random spikes;
    - ``seed``: seed of the random calibration and check inputs;
    - ``strict``: refuse to repair imperfect input files;
    - ``extra``: target-specific options by name.
    """

    dt: float | None = None
    reset: str | None = None
    source: str = "nir"
    allow_approximate: bool = False
    calibrate: str | None = None
    seed: int = 0
    strict: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise NircError("the seed must be an integer >= 0 (numpy's generators take no other)",
                            where="seed", found=repr(self.seed))  # fmt: skip


@dataclass
class CompileResult:
    """What :meth:`Target.compile` returns.

    ``module`` is the final IR (the target dialect); ``artifacts`` maps file
    names to their text (deterministic: the same input and options give the
    same bytes); ``report`` is the machine-readable report (also among the
    artifacts); ``summary`` holds the lines a command prints."""

    target: str
    module: Any
    artifacts: dict[str, str]
    report: dict[str, Any]
    summary: list[str]

    def write(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write the artifacts into ``out_dir`` (see :func:`write_artifacts`)."""
        return write_artifacts(out_dir, self.artifacts)


class Target:
    """Base of the chip targets (see the module docstring)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # the top-level op of the target dialect (e.g. ``speck.chip``): how `load`
    # recognises an already compiled module
    top_op: ClassVar[type | None] = None
    spec: Any = None
    # the target-specific keys of CompileOptions.extra it reads (beyond the
    # calibration settings every target reads): `nirc compile` says when a
    # flag given for another target has no effect here
    reads: ClassVar[frozenset[str]] = frozenset()

    def compile(self, model: Any, options: CompileOptions | None = None) -> CompileResult:
        raise NotImplementedError

    def load(self, model: Any) -> Any | None:
        """The compiled module when ``model`` already is one (an IR file or
        module of the target dialect), else None."""
        if self.top_op is None:
            return None
        if isinstance(model, (str, os.PathLike)):
            path = Path(model)
            if path.suffix != ".mlir" or not path.exists():
                return None
            # only parse files that mention the target dialect: a .mlir of the
            # nir or snn dialect is a model to compile, not a compiled module
            if self.top_op.name not in path.read_text(encoding="utf-8", errors="replace"):
                return None
            from nirc.load import parse_mlir

            model = parse_mlir(path)
        ops = getattr(model, "ops", None)
        if ops is not None and any(isinstance(op, self.top_op) for op in ops):
            return model
        return None

    def simulate(
        self, compiled: Any, inputs: Mapping[str, np.ndarray], **options: Any
    ) -> dict[str, np.ndarray]:
        """Simulate a compiled module (or :class:`CompileResult`) on
        ``{input name: [T, B, *shape]}``; returns ``{output name: [T, B, *shape]}``
        spike counts."""
        raise NotImplementedError

    def limits(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def estimate(self, compiled: Any, inputs: Mapping[str, np.ndarray], *, label: str = "",
                 max_samples: int = 64) -> dict:  # fmt: skip
        """The report's ``estimates`` section: the compiled module run on the
        first ``max_samples`` samples of ``inputs`` (``{input: [T, B, *shape]}``,
        described by ``label``), its activity counted and priced with the
        chip's published figures (:mod:`nirc.targets.estimates`, which also
        defines the sections every target's report shares)."""
        raise NotImplementedError

    def time_step(self, compiled: Any) -> float | None:
        """Seconds per step of a compiled module (None when it does not say)."""
        module = compiled.module if isinstance(compiled, CompileResult) else compiled
        for op in getattr(module, "ops", ()):
            dt = op.properties.get("dt") if hasattr(op, "properties") else None
            if dt is not None and hasattr(dt, "value"):
                return float(dt.value.data)
        return None


class Unplaceable(Exception):
    """A target's placement refused a network (``error``), which held
    ``built``: the layers built of several chip neurons per float neuron
    (Loihi 2's replicas, SpiNNaker2's copies). The target catches it to
    build the network again without them."""

    def __init__(self, error: NircError, built: list[str]) -> None:
        super().__init__(error.message)
        self.error, self.built = error, built


def load_fused(model: Any, options: CompileOptions):
    """Any model (a path, a graph, a ``nir.NIRGraph``, a `nir` or `snn` module)
    -> a verified, fused float `snn` module: inline-subgraphs, discretize with
    the options' ``dt``, ``reset`` and ``source`` (a `nir` model), fold-weights,
    fuse. A module the caller passes is cloned: compilation rewrites it."""
    from nirc import load
    from nirc.context import make_context
    from nirc.dialects.snn import is_snn_module, top_graph
    from nirc.passes import get_pass

    o = options
    module = load.load_module(model.clone() if type(model).__name__ == "ModuleOp" else model)
    ctx = make_context()
    if not is_snn_module(module):
        get_pass("inline-subgraphs")().apply(ctx, module)
        # a source profile is passed only when asked for (the plain reading is the default)
        profile = {"source": o.source} if o.source and o.source != "nir" else {}
        get_pass("discretize")(dt=o.dt, reset=o.reset, **profile).apply(ctx, module)
    elif o.dt is not None and float(o.dt) != top_graph(module).dt_value:
        have = top_graph(module).dt_value
        raise NircError("an snn module has its own time step", expected=f"no --dt, or --dt {have:g}",
                        found=f"--dt {o.dt:g}")  # fmt: skip
    get_pass("fold-weights")().apply(ctx, module)
    get_pass("fuse")().apply(ctx, module)
    load.verify(module)
    return module


def neuron_variants(module: Any, edits: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``(what, float module)`` for each ``(what, edit)``: a clone of the float
    `snn` module with ``edit(op)`` applied to every neuron op, and ``all of
    them`` together when there are several (what ``nirc eval`` prices as each
    approximation's cost, from a target's ``float_approximations``)."""
    from nirc.dialects import snn

    def variant(fns) -> Any:
        m = module.clone()
        for op in snn.flat_ops(snn.top_graph(m)):
            if isinstance(op, snn.NeuronOp):
                for fn in fns:
                    fn(op)
        return m

    out = [(label, variant([fn])) for label, fn in edits]
    if len(edits) > 1:
        out.append(("all of them", variant([fn for _, fn in edits])))
    return out


def grouped_notes(notes: list[tuple[str, str]]) -> list[str]:
    """Approximations as the report and the warning say them: each once,
    with the layers or populations it applies to, in the order first met: a deep
    network's five counting layers get one note, not five."""
    where: dict[str, list[str]] = {}
    for name, text in notes:
        names = where.setdefault(text, [])
        if name not in names:
            names.append(name)
    return [f"{text} ({', '.join(names)})" for text, names in where.items()]


def of_samples(fraction: float, samples: int) -> str:
    """``fraction`` of ``samples`` as a count, for figures measured on a few
    samples (random calibration: 2), where a percentage alone hides that one
    sample of two decided it."""
    return f"{round(fraction * samples)} of {samples} sample{'s' if samples != 1 else ''}"


def agreement_summary(report: Mapping[str, Any], note: str = "") -> list[str]:
    """The compile summary's last lines, the same for every target: the
    measured agreement (calibration, fresh inputs, how often the float outputs
    spike, then ``note``) and the approximations."""
    ag = report["agreement"]
    lines = [
        "  agreement (spike counts within +-1 vs the float network): "
        f"{ag['calibration']['agreement']:.4f} on the calibration inputs"
        + (f", {ag['check']['agreement']:.4f} on fresh inputs" if "check" in ag else "")
        + f" ({ag['calibration']['reference_spikes_per_output_neuron']:.3g} float spikes per "
        f"output neuron{'; ' + note if note else ''})"
    ]
    if report["approximations"]:
        lines.append("  approximated: " + "; ".join(report["approximations"]))
    return lines


def write_artifacts(out_dir: str | os.PathLike, files: Mapping[str, str | bytes]) -> list[Path]:
    """Write ``files`` (name -> content) into the directory ``out_dir``, so that
    a failure never leaves a half-written output.

    Every file is first written into a fresh temporary directory on the same
    file system as ``out_dir``. When ``out_dir`` does not exist, that
    directory is created beside it and renamed onto it (one atomic step);
    otherwise it is created inside ``out_dir`` (a mount point included) and
    each file replaces its namesake with an atomic rename, leaving other files
    in ``out_dir`` alone. A file that is one of the command's inputs (see
    :mod:`nirc.atomic`) is never replaced.
    """
    from nirc.atomic import check_not_input

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NircError(
            "the output path exists and is not a directory",
            where=str(out),
            expected="a directory (created if missing)",
            hint="choose another -o",
        )
    for name in files:
        check_not_input(out / name)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        where = out if out.is_dir() else parent
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name or 'out'}.", suffix=".tmp", dir=where))
    except OSError as e:
        raise NircError(
            "cannot create the output directory", where=str(out), found=e.strerror or str(e)
        ) from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        for name, content in sorted(files.items()):
            path = tmp / name
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(content)
            os.chmod(path, 0o666 & ~umask)
        if not out.exists():
            os.chmod(tmp, 0o777 & ~umask)
            os.rename(tmp, out)
        else:
            for name in sorted(files):
                os.replace(tmp / name, out / name)
            tmp.rmdir()
    except BaseException as e:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        if isinstance(e, OSError):
            raise NircError(
                "cannot write the output", where=str(out), found=e.strerror or str(e)
            ) from None
        raise
    return [out / name for name in sorted(files)]


__all__ = ["CompileOptions", "CompileResult", "Target", "Unplaceable", "write_artifacts"]
