"""nirc: an MLIR-style compiler for neuromorphic hardware, on xDSL.

Python API (imports are lazy so that `nirc --help` starts fast):

- ``nirc.read(path)`` / ``nirc.write(path, graph)``: NIR files <-> :class:`nirc.graph.Graph`
- ``nirc.import_graph(graph)`` / ``nirc.export_module(module)``: Graph <-> `nir` dialect
- ``nirc.from_nir(nir_graph)`` / ``nirc.to_nir(module_or_graph)``: interop with ``nir.NIRGraph``
- ``nirc.simulate(graph_or_path_or_module, inputs, dt=...)``: the reference interpreter
- ``nirc.compile(graph_or_path, target="speck", out="out/")``: lower to a chip, write artifacts
- ``nirc.evaluate(model, "test.npz", target="speck")``: task accuracy, float and on chips
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "read": ("nirc.nirfile", "read"),
    "write": ("nirc.nirfile", "write"),
    "Graph": ("nirc.graph", "Graph"),
    "Node": ("nirc.graph", "Node"),
    "NircError": ("nirc.diagnostics", "NircError"),
    "import_graph": ("nirc.convert", "import_graph"),
    "export_module": ("nirc.convert", "export_module"),
    "from_nir": ("nirc.interop", "from_nir"),
    "to_nir": ("nirc.interop", "to_nir"),
    "simulate": ("nirc.interpreter", "simulate"),
    "compile": ("nirc.targets", "compile"),
    "evaluate": ("nirc.evaluation", "evaluate"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'nirc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
