"""The framework guides cannot rot: every `nirc` command in their shell blocks
runs on the shipped examples and must succeed; their Python blocks must parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from nirc.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs" / "frameworks").glob("*.md"))
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.S)


def _blocks(page: Path, kind: str) -> list[str]:
    return [body for k, body in BLOCK.findall(page.read_text()) if k == kind]


def test_every_framework_has_a_guide() -> None:
    assert {p.stem for p in PAGES} == {"snntorch", "norse", "sinabs", "rockpool", "lava-dl"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_guide_commands_run(page: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    commands = [line.strip() for body in _blocks(page, "sh") for line in body.splitlines()
                if line.strip().startswith("nirc ")]  # fmt: skip
    assert commands, f"{page.name} shows no nirc command"
    for line in commands:
        code = main(shlex.split(line)[1:])
        err = capsys.readouterr().err
        assert code == 0, f"{page.name}: `{line}` exited {code}\n{err[-2000:]}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_guide_python_parses(page: Path) -> None:
    for body in _blocks(page, "python"):
        compile(body, str(page), "exec")
