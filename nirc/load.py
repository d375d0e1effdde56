"""Loading models from whatever the user hands over.

Every command and the Python API go through here, so a `.nir` file, a `.mlir`
module of the `nir` dialect, a :class:`~nirc.graph.Graph` and a ``nir.NIRGraph``
object are all checked the same way: read, validate, infer shapes (with the
repairs of SEMANTICS.md), and only then used.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nirc.diagnostics import NircError
from nirc.graph import Graph

Shapes = dict[str, tuple[int, ...]]


def _is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise NircError("no such file", where=str(path))
    if path.is_dir():
        raise NircError("is a directory, expected a file", where=str(path))


def load_graph(model: Any, inspect: Callable[[Graph], None] | None = None) -> tuple[Graph, Shapes]:
    """Any model -> a validated Graph and the output shape of every node.

    ``inspect`` sees the validated graph as written, before shape inference
    repairs it (``nirc show`` detects the exporter there)."""
    from nirc.validate import infer_shapes, validate

    if _is_path(model):
        path = Path(model)
        _check_exists(path)
        if path.suffix == ".mlir":
            from nirc.convert import export_module

            graph = export_module(parse_mlir(path))
        else:
            from nirc.nirfile import read

            graph = read(path)
    elif isinstance(model, Graph):
        graph = model
    elif type(model).__name__ == "ModuleOp":
        from nirc.convert import export_module

        graph = export_module(model)
    elif type(model).__module__.startswith("nir"):
        from nirc.interop import graph_from_nir

        graph = graph_from_nir(model)
    else:
        raise NircError(
            "cannot load this model",
            expected="a path to a .nir or .mlir file, a nirc Graph, an xDSL module or a nir.NIRGraph",
            found=type(model).__name__,
        )
    validate(graph)
    if inspect is not None:
        inspect(graph)
    shapes = infer_shapes(graph)
    return graph, shapes


def load_module(model: Any):
    """Any model -> a verified `nir` dialect module (a .mlir file is parsed as is)."""
    if _is_path(model) and Path(model).suffix == ".mlir":
        _check_exists(Path(model))
        return parse_mlir(Path(model))
    if type(model).__name__ == "ModuleOp":
        verify(model)
        return model
    from nirc.convert import import_graph

    graph, shapes = load_graph(model)
    module = import_graph(graph, shapes)
    verify(module)
    return module


def parse_failures() -> tuple[type[BaseException], ...]:
    """What xDSL's parser raises on bad text besides ParseError: the attributes'
    own checks run while they are parsed (VerifyException: a `tensor`
    parameter given `i32`; ValueError: an i0 holding 1; OverflowError: an
    index past 64 bits), all the input's doing."""
    from xdsl.utils.exceptions import DiagnosticException, VerifyException

    return (VerifyException, DiagnosticException, ValueError, OverflowError)


def refuse_device(path: Path, expected: str = "a .mlir or .nir file") -> None:
    """A character or block device (``/dev/zero``, a disk) is no IR file: read
    as text it may never end (`nirc opt /dev/zero` read forever). Pipes and
    process substitutions (``<(...)``) end, and are read."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:
        return  # the read says what is wrong
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise NircError(f"`{path}` is a device, not a file", where=str(path), expected=expected)


def read_small_text(path: str | Path, what: str, limit: int = 1 << 20) -> str:
    """A small UTF-8 text file of the user's (a capacity JSON), read with a
    bound: a device or a file past ``limit`` bytes is refused (``--capacity
    /dev/zero`` read forever)."""
    path = Path(path)
    refuse_device(path, expected=f"a {what}")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise NircError(f"cannot read the {what}", where=str(path), found=e.strerror or str(e)) from None
    if len(data) > limit:
        raise NircError(f"the {what} is too large", where=str(path),
                        expected=f"at most {limit:,} bytes", found="more")  # fmt: skip
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NircError(f"the {what} is not UTF-8 text", where=str(path), found=str(e)) from None


def parse_mlir(path: Path):
    """Parse a .mlir file; syntax and verifier errors become NircErrors."""
    from xdsl.utils.exceptions import ParseError

    from nirc.atomic import note_input
    from nirc.context import ir_parser, make_context

    note_input(path)
    refuse_device(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise NircError("not a text file", where=str(path), found=str(e)) from None
    except OSError as e:
        raise NircError("cannot read the file", where=str(path), found=e.strerror or str(e)) from None
    try:
        module = ir_parser(make_context(), text, str(path)).parse_module()
    except ParseError as e:
        raise NircError("cannot parse the IR", where=str(path), found=str(e)) from None
    except parse_failures() as e:
        raise NircError("cannot parse the IR: an attribute is malformed", where=str(path),
                        found=f"{type(e).__name__}: {e}"[:2000]) from None  # fmt: skip
    except RecursionError:
        raise NircError(
            "the IR nests too deeply to parse", where=str(path),
            expected="ops, regions and attributes nested a few hundred levels at most",
        ) from None  # fmt: skip
    verify(module)
    return module


def verify(module) -> None:
    from xdsl.utils.exceptions import DiagnosticException, VerifyException

    try:
        module.verify()
    except (VerifyException, DiagnosticException) as e:
        notes = "\n".join(getattr(e, "__notes__", []) or [])
        raise NircError(
            "the IR does not verify: " + str(e).strip(),
            found=notes[-4000:] if notes else None,
        ) from None
