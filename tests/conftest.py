"""Shared test helpers: write small input files, run the CLI with a fixed width and no colour."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
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


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small ragged regression data set (.npz values + lengths + y) for train's process tests."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip("needs TensorFlow (the train extra)")
    folder = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 12, 64)
    values = rng.standard_normal((int(lengths.sum()), 3))
    source = folder / "small.npz"
    np.savez(source, values=values, lengths=lengths, y=rng.standard_normal(64))
    return source
