"""Target-independent passes: one ``ModulePass`` per module, registered by name.

:data:`PASSES` maps each pass's command-line spelling (as used by
``nirc opt -p``) to a factory returning the pass class; factories import
lazily so that start-up does not load every pass. Add a pass with one line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.passes import ModulePass


def _lazy(module: str, cls: str) -> Callable[[], type[ModulePass]]:
    def factory() -> type[ModulePass]:
        return getattr(importlib.import_module(module), cls)

    return factory


PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "nir-infer-shapes": _lazy("nirc.passes.nir_infer_shapes", "NirInferShapesPass"),
    "canonicalize": _lazy("nirc.passes.canonicalize", "CanonicalizePass"),
    "dce": _lazy("nirc.passes.dce", "DeadNodeEliminationPass"),
    "inline-subgraphs": _lazy("nirc.passes.inline_subgraphs", "InlineSubgraphsPass"),
    "discretize": _lazy("nirc.passes.discretize", "DiscretizePass"),
    "fold-weights": _lazy("nirc.passes.fold_weights", "FoldWeightsPass"),
    "fuse": _lazy("nirc.passes.fuse", "FusePass"),
    "quantize": _lazy("nirc.passes.quantize", "QuantizePass"),
    "partition": _lazy("nirc.passes.partition", "PartitionPass"),
}


def all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """:data:`PASSES` and the passes chip targets contribute
    (``nirc.targets.TARGET_PASSES``), for ``nirc opt -p``."""
    from nirc.targets import TARGET_PASSES

    return {**PASSES, **TARGET_PASSES}


def get_pass(name: str) -> type[ModulePass]:
    """The pass class registered as ``name``; a NircError naming the known passes
    otherwise."""
    known = all_passes()
    factory = known.get(name)
    if factory is None:
        from nirc.diagnostics import NircError, closest

        near = closest(name, list(known))
        raise NircError(
            f"unknown pass `{name}`",
            expected=f"one of {', '.join(sorted(known))}",
            found=name,
            hint=f"did you mean `{near}`?" if near else None,
        )
    return factory()
