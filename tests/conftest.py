"""Shared test fixtures: where the NIR corpus lives.

The corpus is not part of the repository: it sits at ``../shared/corpus``
relative to the project root. Tests that need it are skipped (with a message
saying so) when it is missing, never silently passed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
_MISSING = f"NIR corpus not found at {CORPUS} (expected ../shared/corpus next to the repo)"


def corpus_files(subdir: str, pattern: str = "*.nir") -> list:
    """pytest params for the corpus files ``subdir/pattern``, ids = file names;
    a single skipped param when the corpus is missing."""
    folder = CORPUS / subdir
    files = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=_MISSING), id="no-corpus")]
    return [pytest.param(f, id=f.name) for f in files]


@pytest.fixture
def corpus() -> Path:
    """The corpus root (skips the test when it is missing)."""
    if not CORPUS.is_dir():
        pytest.skip(_MISSING)
    return CORPUS
