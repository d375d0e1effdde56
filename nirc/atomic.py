"""Safe file output: never a half-written file, never a destroyed input or device.

Every file nirc writes goes through :func:`atomic_path`:

- a regular file is written to a temporary file beside its target (on the
  same file system), then renamed onto it: a failure (bad input found late,
  disk full, Ctrl-C) leaves no partial output and removes the temporary file;
  a symbolic link is followed, so the link stays and its target is replaced;
- a device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a named pipe) is
  written *through*: the finished bytes are copied into it, it is never
  renamed over (which would replace ``/dev/null`` with a regular file);
- an output that is the same file as one of the command's inputs (same path,
  or the same file through links) is refused before anything is written, as
  are an existing directory and a missing parent directory; every failure is a
  :class:`~nirc.diagnostics.NircError` (exit code 2), not a traceback.

Inputs are known through :func:`note_input`, which the readers call for each
file they open; it records only inside :func:`guarding_inputs` (the CLI wraps
every command in it), so library users writing over a file they read earlier
are not second-guessed.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from nirc.diagnostics import NircError

_INPUTS: contextvars.ContextVar[dict[tuple[int, int], str] | None] = contextvars.ContextVar(
    "nirc_inputs", default=None
)


@contextlib.contextmanager
def guarding_inputs() -> Iterator[None]:
    """Within this block, outputs may not overwrite a file noted as an input."""
    token = _INPUTS.set({})
    try:
        yield
    finally:
        _INPUTS.reset(token)


def note_input(path: str | os.PathLike) -> None:
    """Record that the current command reads ``path`` (see :func:`guarding_inputs`)."""
    seen = _INPUTS.get()
    if seen is None:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode):
        seen[(st.st_dev, st.st_ino)] = str(path)


def check_not_input(target: str | os.PathLike) -> None:
    """A NircError when ``target`` is (through links) a file noted as an input."""
    seen = _INPUTS.get()
    if not seen:
        return
    try:
        st = os.stat(target)
    except OSError:
        return
    source = seen.get((st.st_dev, st.st_ino))
    if source is not None:
        raise NircError(
            "the output would overwrite an input of this command",
            where=str(target),
            expected="an output path that is not one of the inputs",
            found=f"the same file as the input {source}",
            hint="choose another -o",
        )


def is_special(path: Path) -> bool:
    """A device, FIFO, socket or a path under /dev or /proc: written through."""
    text = str(path)
    if text.startswith(("/dev/", "/proc/")):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _os_error(target: Path, e: OSError, doing: str = "cannot write the output") -> NircError:
    return NircError(doing, where=str(target), found=e.strerror or str(e))


def check_output_file(target: str | os.PathLike) -> Path:
    """Check that ``target`` can be written as a file; returns the path to
    write (a symbolic link's target, so that the link survives)."""
    path = Path(target)
    if str(path) == "":
        raise NircError("an empty output path", expected="a file name")
    check_not_input(path)
    if path.is_dir():
        raise NircError(
            "the output path is a directory",
            where=str(path),
            expected="a file name",
            hint=f"write into it, e.g. -o {path / 'out'}",
        )
    if path.is_symlink() and not is_special(path):
        path = Path(os.path.realpath(path))
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise NircError(
            "the output's directory does not exist",
            where=str(path),
            expected=f"an existing directory {parent}",
            hint="create it first, or choose another -o",
        )
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path to write; on success its content becomes
    ``target`` (see the module docstring), on failure it is removed."""
    path = check_output_file(target)
    special = is_special(path)
    directory = (
        Path(tempfile.gettempdir()) if special else (path.parent if str(path.parent) else Path("."))
    )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=directory)
    except OSError as e:
        raise _os_error(path, e, "cannot create the output") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if special:
            # append: a FIFO or device takes it as is, and /dev/stdout redirected
            # to a file is not truncated under the command's own printed lines
            with open(tmp_path, "rb") as src, open(path, "ab") as dst:
                shutil.copyfileobj(src, dst)
            tmp_path.unlink()
            return
        # mkstemp creates the file 0600; give the result the permissions a plain
        # open() would (0666 less the umask), keeping an existing file's mode
        umask = os.umask(0)
        os.umask(umask)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(e, OSError):
            raise _os_error(path, e) from None
        raise


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
