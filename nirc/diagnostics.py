"""Diagnostics: the errors and warnings nirc shows to the person holding a model.

Every user-facing problem is a :class:`NircError` that names *where* (a path inside
the NIR file such as ``/node/nodes/lif1/tau``, or an IR node name), *what was
expected* and *what was found*, and optionally *how to fix it*. The CLI prints it
and exits with code 2; it never shows a Python traceback.

Warnings (repairs of imperfect files, inferred ``dt``...) go through
:func:`warn`, which records them in the active :class:`DiagnosticSink` (so the
CLI can print them and ``nirc show`` can list the repairs) and, under
``strict`` mode, turns them into errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field


class NircError(Exception):
    """A problem with the user's input, reported without a traceback.

    ``where`` is a path inside the file (``/node/nodes/fc1/weight``) or a node
    name; ``expected``/``found`` describe the mismatch; ``hint`` says how to fix
    it. ``exit_code`` is what the CLI returns (2 for bad input).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.where = where
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        parts = [head]
        if self.expected is not None:
            parts.append(f"  expected: {self.expected}")
        if self.found is not None:
            parts.append(f"  found:    {self.found}")
        if self.hint is not None:
            parts.append(f"  hint:     {self.hint}")
        return "\n".join(parts)


class StrictModeError(NircError):
    """A repair that ``--strict`` forbids."""


class TimeStepUnknown(NircError):
    """No time step for a graph whose neurons need one: neither the caller nor
    the graph gives it, and it cannot be inferred. Raised where the step is
    resolved (the interpreter's plan, the `discretize` pass), in the terms of
    that caller: ``source`` and ``dt`` are format strings for one framework
    and one time step as the caller spells them (the Python API's
    ``"source='{}'"`` and ``"dt={}"``, a pass option's, a flag's); a command
    with a ``--dt`` flag shows :meth:`as_flag` instead.

    ``likely`` is the framework the file most likely came from
    (:func:`nirc.profiles.likely_source`: its ``--source`` name, the
    framework, the first piece of evidence, whether that evidence is weak),
    or None. Each framework has its own time step convention, so the hint
    names that framework's reading before a bare time step."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        dt: str,
        likely: tuple[str, str, str, bool] | None = None,
        where: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.likely = likely
        super().__init__(message, where=where, expected=expected, found=found,
                         hint=self.advice(source, dt))  # fmt: skip

    def advice(self, source: str, dt: str) -> str:
        """How to give the step, with ``source`` and ``dt`` spelled as above."""
        if self.likely is None:
            return (f"pass {dt.format('SECONDS')} (Sinabs files count time in steps: "
                    f"{dt.format(1)}, or {source.format('sinabs')})")  # fmt: skip
        name, framework, evidence, weak = self.likely
        how = (f"may have been exported by {framework} (weak evidence: " if weak
               else f"looks exported by {framework} (")  # fmt: skip
        return (f"this file {how}{evidence}): {source.format(name)} reads it, time step "
                f"included, as {framework} did (`nirc show` gives the evidence); else pass "
                f"{dt.format('SECONDS')}")  # fmt: skip

    def as_flag(self) -> NircError:
        """The same error in the terms of a command's ``--dt`` and ``--source``."""
        return NircError(
            self.message,
            expected="--dt SECONDS, or `dt` in the graph's metadata",
            found=self.found,
            hint=self.advice("--source {}", "--dt {}"),
        )


@dataclass
class Warning_:
    message: str
    where: str | None = None
    kind: str = "warning"  # "repair", "inference" or "warning"

    def render(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass
class DiagnosticSink:
    """Collects warnings; ``strict`` turns repairs into errors."""

    strict: bool = False
    warnings: list[Warning_] = field(default_factory=list)

    @property
    def repairs(self) -> list[Warning_]:
        return [w for w in self.warnings if w.kind == "repair"]


_SINKS: list[DiagnosticSink] = [DiagnosticSink()]


def current_sink() -> DiagnosticSink:
    return _SINKS[-1]


@contextlib.contextmanager
def collecting(strict: bool = False) -> Iterator[DiagnosticSink]:
    """Collect the warnings raised inside the block into a fresh sink."""
    sink = DiagnosticSink(strict=strict)
    _SINKS.append(sink)
    try:
        yield sink
    finally:
        _SINKS.pop()


def warn(message: str, *, where: str | None = None, kind: str = "warning") -> None:
    """Record a warning. Under strict mode, a ``repair`` becomes an error."""
    sink = current_sink()
    if sink.strict and kind == "repair":
        raise StrictModeError(
            message + " (refused under --strict)",
            where=where,
            hint="fix the file, or drop --strict to let nirc repair it",
        )
    sink.warnings.append(Warning_(message, where, kind))


def closest(name: str, candidates: list[str]) -> str | None:
    """The candidate most similar to ``name`` (for 'did you mean' hints)."""
    import difflib

    best = difflib.get_close_matches(name, candidates, n=1, cutoff=0.3)
    if best:
        return best[0]
    # a dotted name often differs only by a suffix: 'lif' vs 'lif1'
    pref = [c for c in candidates if c.startswith(name) or name.startswith(c)]
    return pref[0] if pref else None
