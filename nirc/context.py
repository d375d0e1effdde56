"""The xDSL context nirc parses with: builtin plus nirc's own dialects.

Dialects are registered lazily (by name -> factory) so that parsing a `nir`
module never imports the `snn` or target dialects. A new dialect is one line in
:data:`DIALECTS`.

:func:`make_context` also installs a cache on the constraint xDSL's parser
rebuilds for every ``dense<...>`` literal (see :func:`_cache_dense_type_constraint`);
it makes parsing IR full of small parameter tensors several times faster.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect

# dialect name -> (module, attribute holding the Dialect)
DIALECTS: dict[str, tuple[str, str]] = {
    "builtin": ("xdsl.dialects.builtin", "Builtin"),
    "nir": ("nirc.dialects.nir", "NIR"),
    "snn": ("nirc.dialects.snn", "SNN"),
    "placement": ("nirc.dialects.placement", "PLACEMENT"),
    "speck": ("nirc.targets.speck.dialect", "SPECK_DIALECT"),
    "xylo": ("nirc.targets.xylo.dialect", "XYLO_DIALECT"),
    "loihi2": ("nirc.targets.loihi2.dialect", "LOIHI2_DIALECT"),
    "spinnaker2": ("nirc.targets.spinnaker2.dialect", "SPINNAKER2_DIALECT"),
}


def _factory(module: str, attr: str) -> Callable[[], Dialect]:
    return lambda: getattr(importlib.import_module(module), attr)


def make_context(*, allow_unregistered: bool = False) -> Context:
    """A fresh context knowing builtin and every nirc dialect (loaded on first use)."""
    _cache_dense_type_constraint()
    ctx = Context(allow_unregistered=allow_unregistered)
    for name, (module, attr) in DIALECTS.items():
        ctx.register_dialect(name, _factory(module, attr))
    ctx.load_registered_dialect("builtin")
    return ctx


_CACHED = False


def _cache_dense_type_constraint() -> None:
    """Memoize ``base(...)`` in xDSL's attribute parser.

    ``AttrParser._parse_dense_literal_type`` calls ``base(RankedStructure[...])``
    for every ``dense<>`` literal, converting the same generic type annotation to
    a constraint each time (~0.4 ms). The result depends only on the (hashable)
    annotation, so caching it is safe.
    """
    global _CACHED
    if _CACHED:
        return
    import functools

    from xdsl.parser import attribute_parser

    original = attribute_parser.base

    @functools.cache
    def cached(irdl):  # type: ignore[no-untyped-def]
        return original(irdl)

    def base(irdl):  # type: ignore[no-untyped-def]
        try:
            return cached(irdl)
        except TypeError:  # unhashable annotation: build it as xDSL does
            return original(irdl)

    attribute_parser.base = base  # type: ignore[assignment]
    _CACHED = True


# a string literal as xDSL's lexer takes it, with single-character alternatives
# (linear time), or a comment; group 1 is empty when the literal is not closed
_LITERAL_OR_COMMENT = re.compile(r'//[^\n]*|"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*("?)')


def _check_string_literals(text: str, name: str) -> None:
    """A ParseError for a string literal left open on its line (or holding an
    escape MLIR does not know) before xDSL 0.74's lexer sees it: its pattern
    nests a repeat inside a repeat, ``"(?:[^"\\...]+|...)*"``, and on such a
    literal it backtracks for hours (a 50-character line hung `nirc opt`)."""
    from xdsl.utils.exceptions import ParseError
    from xdsl.utils.lexer import Input, Span

    for m in _LITERAL_OR_COMMENT.finditer(text):
        if m.group(0).startswith('"') and not m.group(1):
            raise ParseError(Span(m.start(), m.end(), Input(text, name)),
                             "string literal not closed on its line, or with an escape MLIR "
                             "does not know (\\n, \\t, \\\", \\\\ or two hex digits)")  # fmt: skip


def ir_parser(ctx: Context, text: str, name: str = "<unknown>"):
    """xDSL's parser, reading back every string nirc prints.

    xDSL 0.74 prints a string's non-ASCII characters as escaped UTF-8 bytes
    (``"caf\\C3\\A9"``) but lexes an escaped non-ASCII literal as bytes, so a
    node named ``café`` would not parse back into the ``StringAttr`` it was;
    this parser takes such a literal as the string it encodes whenever it is
    valid UTF-8."""
    from xdsl.parser import Parser
    from xdsl.utils.mlir_lexer import MLIRTokenKind, StringLiteral

    _check_string_literals(text, name)

    class _Parser(Parser):
        def parse_optional_str_literal(self) -> str | None:
            text = super().parse_optional_str_literal()
            if text is not None or self._current_token.kind != MLIRTokenKind.BYTES_LIT:
                return text
            try:
                decoded = StringLiteral.from_span(self._current_token.span).bytes_contents.decode()
            except UnicodeDecodeError:
                return None
            self._consume_token(MLIRTokenKind.BYTES_LIT)
            return decoded

    return _Parser(ctx, text, name)
