"""Shared test helpers: write small input files, run the CLI with a fixed width and no colour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmprep.cli import app


@pytest.fixture
def write(tmp_path: Path):
    """write(name, value) -> Path: JSON for .json, JSON lines for .jsonl, raw bytes for bytes."""

    def _write(name: str, value: object) -> Path:
        path = tmp_path / name
        if isinstance(value, bytes):
            path.write_bytes(value)
        elif name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(v) + "\n" for v in value))  # type: ignore[attr-defined]
        else:
            path.write_text(json.dumps(value))
        return path

    return _write


class Run:
    def __init__(self) -> None:
        self.runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"})

    def __call__(self, *args: object):
        return self.runner.invoke(app, [str(a) for a in args])

    def json(self, *args: object, code: int | None = None) -> dict:
        result = self(*args, "--json")
        if code is not None:
            assert result.exit_code == code, result.output
        return json.loads(result.stdout)


@pytest.fixture
def run() -> Run:
    return Run()
