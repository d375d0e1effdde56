"""The `nirc` command line.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; this file only wires them up and turns every
:class:`~nirc.diagnostics.NircError` into a message and exit code 2 (never a
traceback). Modules are imported lazily so `nirc --help` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys
import warnings

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "show": ("nirc.commands.show", "print a readable summary of a NIR graph"),
    "import": ("nirc.commands.import_", "read a .nir file and print its `nir` dialect IR"),
    "export": ("nirc.commands.export", "write a .mlir module of the `nir` dialect as a .nir file"),
    "opt": ("nirc.opt", "run passes over a .nir or .mlir file (an xdsl-opt-style driver)"),
    "run": ("nirc.run_cmd", "simulate a graph with the reference interpreter"),
    "compile": ("nirc.commands.compile", "compile a model for a chip and write its artifacts"),
    "eval": ("nirc.commands.eval", "task accuracy on labelled data, in float and on the chips"),
    "targets": ("nirc.commands.targets", "list the chips nirc compiles for, with their limits"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nirc",
        description="nirc: compile NIR graphs (spiking neural networks) for neuromorphic chips.",
    )
    parser.add_argument("--version", action="version", version="nirc " + _version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if only is None or only == name:
            importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _version() -> str:
    from nirc import __version__

    return __version__


def _print_warnings(sink) -> None:
    for w in sink.warnings:
        print(f"warning: {w.render()}", file=sys.stderr)


# characters a file's names may hold that a terminal would act on: C0/C1 controls
# (but newline, tab, carriage return) and the bidirectional-text overrides
_UNSAFE = {
    c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
    for c in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F,
              *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    if c not in (0x09, 0x0A, 0x0D)
}  # fmt: skip


class _TerminalSafe:
    """A text stream that shows control characters and bidi overrides escaped
    (``\x1b``, ``\u202e``): names from a file cannot drive the user's terminal."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text.translate(_UNSAFE))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _TerminalSafe(out), _TerminalSafe(err)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


# errors of the operating system about the user's files and machine, not nirc's bugs
_ENVIRONMENT = {
    errno.ENAMETOOLONG, errno.ELOOP, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT,
    errno.EROFS, errno.EIO, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EMFILE,
    errno.ENFILE, errno.ETXTBSY, errno.EFBIG, errno.ENXIO, errno.ENODEV,
}  # fmt: skip


def _in_command_terms(e, args: argparse.Namespace):
    """``e`` as the command's user can act on it: a missing time step names the
    command's ``--dt`` (the interpreter and the `discretize` pass name their
    own ``dt``), except in an `opt` pipeline's pass, whose option it is."""
    from nirc.diagnostics import TimeStepUnknown

    in_pipeline = args.command == "opt" and e.where == "discretize"
    if isinstance(e, TimeStepUnknown) and hasattr(args, "dt") and not in_pipeline:
        return e.as_flag()
    return e


def _printable_streams() -> None:
    """Text the terminal's encoding cannot hold (a node named ``café`` on an
    ASCII or cp1252 console) is printed escaped (``caf\\xe9``) instead of
    raising UnicodeEncodeError, an internal error of `show` and `run`."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def _main(argv: list[str] | None) -> int:
    from nirc.atomic import guarding_inputs
    from nirc.diagnostics import NircError, collecting

    argv = list(sys.argv[1:] if argv is None else argv)
    _printable_streams()
    # only import the chosen command's module (fast start-up)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or usage error (2)
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    from nirc.interpreter import jit

    # a first run's compile is not silent on a terminal, and its time is counted
    jit.announce_compiles(sys.stderr if getattr(sys.stderr, "isatty", lambda: False)() else None)
    strict = bool(getattr(args, "strict", False))
    with collecting(strict=strict) as sink, guarding_inputs(), warnings.catch_warnings():
        # numpy's floating-point warnings are not the user's business: what they
        # signal is refused with a diagnostic or documented (NIRC_TRACEBACK shows them)
        if not os.environ.get("NIRC_TRACEBACK"):
            warnings.filterwarnings("ignore", message=r".* encountered in ", category=RuntimeWarning)
        try:
            code = importlib.import_module(args._module).run(args)
        except NircError as e:
            _print_warnings(sink)
            print(f"error: {_in_command_terms(e, args).render()}", file=sys.stderr)
            return e.exit_code
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except RecursionError:
            _print_warnings(sink)
            print(
                "error: the input nests too deeply to process (ops, regions, attributes or "
                "metadata within each other)",
                file=sys.stderr,
            )
            return 2
        except MemoryError:
            _print_warnings(sink)
            print("error: out of memory while processing the input", file=sys.stderr)
            return 2
        except Exception as e:  # a bug in nirc: say so plainly, still no traceback
            _print_warnings(sink)
            if isinstance(e, OSError) and e.errno in _ENVIRONMENT:
                # the machine's answer about a path (too long a name, no permission,
                # a full disk): the user's to fix, and no bug of nirc's
                where = os.fsdecode(e.filename) if e.filename is not None else None
                found = f"{errno.errorcode.get(e.errno, e.errno)}: {e.strerror}"
                print(f"error: {NircError('the system refused a file operation', where=where, found=found).render()}",
                      file=sys.stderr)  # fmt: skip
                return 2
            print(
                f"internal error: {type(e).__name__}: {e}\n"
                "  this is a bug in nirc; rerun with NIRC_TRACEBACK=1 to see where",
                file=sys.stderr,
            )
            if os.environ.get("NIRC_TRACEBACK"):
                raise
            return 3
        _print_warnings(sink)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
