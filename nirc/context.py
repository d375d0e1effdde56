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
from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect

# dialect name -> (module, attribute holding the Dialect)
DIALECTS: dict[str, tuple[str, str]] = {
    "builtin": ("xdsl.dialects.builtin", "Builtin"),
    "nir": ("nirc.dialects.nir", "NIR"),
    "snn": ("nirc.dialects.snn", "SNN"),
    "speck": ("nirc.targets.speck.dialect", "SPECK_DIALECT"),
    "xylo": ("nirc.targets.xylo.dialect", "XYLO_DIALECT"),
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
