"""nirc's dialects and passes in xDSL's own tools, through the `xdsl.universe`
entry point (nirc/universe.py); the lit suite runs xdsl-opt itself."""

from __future__ import annotations

from xdsl.universe import Universe

from nirc.context import DIALECTS
from nirc.passes import all_passes
from nirc.universe import NIRC_UNIVERSE, RENAMED


def test_every_dialect_and_pass_is_published() -> None:
    assert set(NIRC_UNIVERSE.all_dialects) == set(DIALECTS) - {"builtin"}
    assert set(NIRC_UNIVERSE.all_passes) == {RENAMED.get(n, n) for n in all_passes()}
    for name, factory in NIRC_UNIVERSE.all_passes.items():
        assert factory().name == name  # xDSL looks a pass up by its class's name
    for name, factory in NIRC_UNIVERSE.all_dialects.items():
        assert factory().name == name


def test_xdsl_finds_nirc_through_the_entry_point() -> None:
    # raises on any clash of names with xDSL's own dialects and passes
    multiverse = Universe.get_multiverse()
    assert {"nir", "snn"} <= set(multiverse.all_dialects)
    assert {"fold-weights", "fuse", "discretize", "nir-canonicalize"} <= set(multiverse.all_passes)
    assert multiverse.all_passes["canonicalize"]().__module__.startswith("xdsl")
