"""nirc's dialects and passes for xDSL's own tools (``xdsl-opt`` and friends).

Published through the ``xdsl.universe`` entry point (pyproject.toml), so that
after ``pip install nirc``::

    xdsl-opt model.mlir -p fold-weights,fuse
    xdsl-opt model.mlir --print-op-generic

parse, print and transform nirc's IR. The registries are nirc's own
(:data:`nirc.context.DIALECTS`, :func:`nirc.passes.all_passes`), read lazily.
Passes whose names xDSL already uses for its own (``canonicalize``, ``dce``)
are published as ``nir-canonicalize`` and ``nir-dce``; ``nirc opt`` keeps the
short names and stays the front door for ``.nir`` files.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.universe import Universe

from nirc.context import DIALECTS

# nirc pass name -> its name in xDSL's universe, where xDSL has a pass of that name
RENAMED = {"canonicalize": "nir-canonicalize", "dce": "nir-dce"}


def _dialect(module: str, attr: str) -> Callable[[], Dialect]:
    return lambda: getattr(importlib.import_module(module), attr)


def _passes() -> dict[str, Callable[[], type[ModulePass]]]:
    from nirc.passes import all_passes

    out: dict[str, Callable[[], type[ModulePass]]] = {}
    for name, factory in all_passes().items():
        published = RENAMED.get(name, name)

        def renamed(factory=factory, published=published) -> type[ModulePass]:
            cls = factory()
            if cls.name == published:
                return cls
            # xDSL finds a pass by its class's `name`: publish a subclass under the new one
            return type(cls.__name__, (cls,), {"name": published, "__doc__": cls.__doc__})

        out[published] = renamed
    return out


NIRC_UNIVERSE = Universe(
    all_dialects={n: _dialect(m, a) for n, (m, a) in DIALECTS.items() if n != "builtin"},
    all_passes=_passes(),
)

__all__ = ["NIRC_UNIVERSE", "RENAMED"]
