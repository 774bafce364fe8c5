"""The outputs the README shows are what the commands print, so that the docs cannot drift.

A block of output in the README follows a marker ``<!-- output: COMMAND -->``; the command runs
from the repository's root at 80 columns without colour, and its stdout must equal the block
(trailing spaces aside). ``pre-commit run`` blocks are checked by tests/test_precommit.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmprep.cli import app

ROOT = Path(__file__).parent.parent
MARKER = re.compile(r"<!-- output: (.+?) -->\n```[a-z]*\n(.*?)```", re.S)


def shown_outputs() -> list[tuple[str, str]]:
    """(command, output) of each marked block of the README."""
    return MARKER.findall((ROOT / "README.md").read_text())


def test_the_readme_shows_outputs():
    commands = [c for c, _ in shown_outputs()]
    assert any("--format github" in c for c in commands)
    assert any("--format junit" in c for c in commands)
    assert any(c.startswith("pre-commit run") for c in commands)


@pytest.mark.parametrize(
    "command, expected",
    [(c, o) for c, o in shown_outputs() if c.startswith("lstmprep ")],
    ids=lambda v: v if v.startswith("lstmprep") else "",
)
def test_readme_output_matches_the_command(command, expected, monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"})
    result = runner.invoke(app, shlex.split(command)[1:])
    assert _lines(result.stdout) == _lines(expected), result.stdout


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]
