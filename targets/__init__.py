"""Chip targets: one package per chip, registered here by name.

:data:`TARGETS` maps a target's name (``nirc compile --target NAME``) to a
lazy factory of its :class:`~nirc.targets.base.Target`; :data:`TARGET_PASSES`
maps the names of the passes a target contributes (usable from ``nirc opt
-p``) to lazy factories of their classes. Adding a chip is one folder and a
line in each.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _lazy(module: str, attr: str) -> Callable[[], Any]:
    def factory() -> Any:
        return getattr(importlib.import_module(module), attr)

    return factory


def _lazy_instance(module: str, cls: str) -> Callable[[], Any]:
    def factory() -> Any:
        return getattr(importlib.import_module(module), cls)()

    return factory


TARGETS: dict[str, Callable[[], Any]] = {
    "speck": _lazy_instance("nirc.targets.speck.target", "SpeckTarget"),
    "xylo": _lazy_instance("nirc.targets.xylo.target", "XyloTarget"),
    "loihi2": _lazy_instance("nirc.targets.loihi2.target", "Loihi2Target"),
    "spinnaker2": _lazy_instance("nirc.targets.spinnaker2.target", "SpiNNaker2Target"),
}

TARGET_PASSES: dict[str, Callable[[], Any]] = {
    "lower-speck": _lazy("nirc.targets.speck.lower", "LowerSpeckPass"),
    "lower-loihi2": _lazy("nirc.targets.loihi2.lower", "LowerLoihi2Pass"),
    "lower-spinnaker2": _lazy("nirc.targets.spinnaker2.lower", "LowerSpiNNaker2Pass"),
}


def asks_for_all(target) -> bool:
    """Whether ``--target`` (a name, or a list of names) is ``all``: every
    chip, a chip that cannot run the network named with its reason instead
    of ending the command (`nirc compile`, `nirc eval`)."""
    names = [target] if isinstance(target, str) else list(target or ())
    return [str(n).strip() for n in names] == ["all"]


def chip_of(module) -> str | None:
    """The chip a compiled module is for (what `nirc compile` writes as
    model.mlir, or `nirc opt -p lower-CHIP`): the dialect of its top-level
    ops, when they are all one registered target's; else None."""
    names = {op.name.split(".")[0] for op in getattr(module, "ops", ())}
    return next(iter(names)) if len(names) == 1 and names <= set(TARGETS) else None


def get_target(name: str):
    """The target registered as ``name``; a NircError naming the known ones
    otherwise."""
    factory = TARGETS.get(name)
    if factory is None:
        from nirc.diagnostics import NircError, closest

        near = closest(name, list(TARGETS))
        raise NircError(
            f"unknown target `{name}`",
            expected=f"one of {', '.join(sorted(TARGETS))}",
            found=name,
            hint=f"did you mean `{near}`?" if near else "`nirc targets` lists them",
        )
    return factory()


def warn_unread(option: str, key: str, chosen: list[str]) -> None:
    """Warn that ``option`` (the CompileOptions.extra ``key`` it sets) has no
    effect when none of the ``chosen`` targets reads it (``Target.reads``),
    naming the targets that do: `nirc compile` and `nirc eval` drop it."""
    if any(key in get_target(name).reads for name in chosen):
        return
    from nirc.diagnostics import warn

    readers = [name for name in TARGETS if key in get_target(name).reads]
    verb = "reads" if len(readers) == 1 else "read"
    warn(f"{option} has no effect on {', '.join(chosen)}: only {' and '.join(readers)} {verb} it",
         kind="warning")  # fmt: skip


def compile(model: Any, target: str = "speck", out: str | None = None, **options: Any):
    """Compile ``model`` (a path, a :class:`nirc.graph.Graph`, a ``nir.NIRGraph``
    or a module) for ``target``; ``options`` are the fields of
    :class:`~nirc.targets.base.CompileOptions` (unknown names go to ``extra``).
    Writes the artifacts into ``out`` when given. Returns the
    :class:`~nirc.targets.base.CompileResult`."""
    from nirc.targets.base import CompileOptions

    known = set(CompileOptions.__dataclass_fields__) - {"extra"}
    extra = {k: v for k, v in options.items() if k not in known}
    opts = CompileOptions(**{k: v for k, v in options.items() if k in known}, extra=extra)
    result = get_target(target).compile(model, opts)
    if out is not None:
        result.write(out)
    return result


__all__ = ["TARGETS", "TARGET_PASSES", "compile", "get_target", "warn_unread"]
