"""The pre-commit hook (.pre-commit-hooks.yaml) runs in a real git repository and blocks a
commit of broken data.

To stay fast and offline, the repository's config is a ``repo: local`` hook built from the
published hook's own fields (id, name, entry, files, pass_filenames), with ``language: system``
and this environment's ``lstmprep`` first on PATH: what runs is the published definition.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # comes with pre-commit (the dev extra)

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent
PRE_COMMIT = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")
pytestmark = pytest.mark.skipif(
    PRE_COMMIT is None or shutil.which("git") is None, reason="needs pre-commit and git"
)


def published_hook() -> dict:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return hook


def test_manifest_is_valid_and_as_documented():
    done = subprocess.run(
        [PRE_COMMIT, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    hook = published_hook()
    assert hook["id"] == "lstmprep-inspect"
    assert hook["entry"] == "lstmprep inspect --each"
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    assert hook["files"] == r"\.(json|jsonl|npy|npz|csv|parquet|ts)$"


class Repo:
    """A temporary git repository with the hook installed."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PRE_COMMIT_HOME": str(folder.parent / "pre-commit-cache"),
            "GIT_AUTHOR_NAME": "test",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test",
            "GIT_COMMITTER_EMAIL": "test@example.com",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "COLUMNS": "80",
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
        folder.mkdir()
        self("git", "init", "-q")
        fields = ("id", "name", "entry", "files", "pass_filenames")
        hook = {**{k: published_hook()[k] for k in fields}, "language": "system"}
        config = {"repos": [{"repo": "local", "hooks": [hook]}]}
        (folder / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
        self("git", "add", ".pre-commit-config.yaml")
        self(PRE_COMMIT, "install")

    def __call__(self, *words: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            words, cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=120
        )

    def add(self, source: Path, name: str) -> None:
        (self.folder / "data").mkdir(exist_ok=True)
        shutil.copy(source, self.folder / "data" / name)
        self("git", "add", f"data/{name}")


def test_commit_of_broken_data_fails_and_good_data_passes(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.add(ROOT / "sample_data" / "problems" / "non-numeric.json", "non-numeric.json")
    (repo.folder / "notes.txt").write_text("not data: the hook's files pattern skips it")
    repo("git", "add", "notes.txt")
    failed = repo("git", "commit", "-q", "-m", "broken data")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    shown = failed.stdout + failed.stderr
    assert "lstmprep inspect" in shown and "Failed" in shown and "- exit code: 1" in shown
    assert "non-numeric" in shown and "notes.txt" not in shown
    assert repo("git", "log").returncode != 0  # nothing was committed

    repo("git", "rm", "-q", "--cached", "data/non-numeric.json")
    repo.add(ROOT / "sample_data" / "sensors.json", "sensors.json")
    passed = repo("git", "commit", "-q", "-m", "good data")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout + passed.stderr


def test_readme_shows_the_hooks_real_output(tmp_path):
    """The README's pre-commit block is what `pre-commit run` prints on the broken sample."""
    from test_readme import shown_outputs

    command, expected = next((c, o) for c, o in shown_outputs() if c.startswith("pre-commit run"))
    repo = Repo(tmp_path / "repo")
    repo.add(ROOT / "sample_data" / "problems" / "non-numeric.json", "non-numeric.json")
    done = repo(*command.split())
    assert done.returncode == 1
    assert _lines(done.stdout) == _lines(expected)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]
