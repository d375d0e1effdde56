"""Every Python package in the source tree is declared in pyproject.toml.

The distribution maps top-level folders onto `nirc.*` with an explicit package
list; a folder missing from it would be absent from a non-editable install.
"""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {
    "nirc": "nirc",
    "dialects": "nirc.dialects",
    "passes": "nirc.passes",
    "targets": "nirc.targets",
}


def test_every_package_is_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    found = set()
    for top, name in MAPPING.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join([name, *rel]))
    assert found - declared == set(), (
        f"add these to [tool.setuptools] packages: {sorted(found - declared)}"
    )
    for name, folder in config["package-dir"].items():
        assert (ROOT / folder).is_dir(), f"package-dir {name} -> {folder} does not exist"
