"""Every bad input in the corpus, through every command: a clean refusal, nothing written.

For each case of ``bad_inputs.make_corpus`` and each of ``inspect``, ``pad`` and ``train``:
exit 1 (the data has problems) or 2 (unreadable, or wrong usage) as the case says, a message
naming the file and the place, no traceback, no output file (nor temporary file) written, an
existing output kept, and every input byte for byte as it was — the malicious pickles never run.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import BUILDERS, MARKER, Case, make_corpus
from typer.testing import CliRunner

from lstmprep.cli import app

# Wide enough that no message is wrapped inside a table cell, so its words can be searched.
ENV = {"COLUMNS": "1000", "NO_COLOR": "1", "TERM": "dumb"}

#: What the issue asks the corpus to hold, by case name.
REQUIRED = [
    "empty-json",
    "truncated-json",
    "malformed-json",
    "top-level-number",
    "top-level-string",
    "deep-json",
    "not-utf8-json",
    "random-npy",
    "truncated-npy",
    "huge-shape-npy",
    "pickle-npy",
    "pickle-npz",
    "not-zip-npz",
    "complex-npy",
    "string-npy",
    "unknown-extension",
    "directory",
    "missing-file",
    "jsonl-bad-line",
    "nan-json",
    "infinity-json",
    "1e400-json",
    "null-value",
    "string-value",
    "label-count",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Case]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, {case.name: case for case in make_corpus(folder)}


def snapshot(folder: Path, case: Case) -> dict[str, object]:
    """Every entry under ``folder`` with its size and mtime; the case's inputs with a hash."""
    state: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        info = path.stat()
        state[str(path.relative_to(folder))] = (path.is_dir(), info.st_size, info.st_mtime_ns)
    for path in [case.path, *(Path(a) for a in case.args if Path(a).is_absolute())]:
        if path.is_file():
            state[f"sha256 {path.name}"] = digest(path)
    return state


def digest(path: Path) -> str:
    """The file's sha256 (of its ends only when over 64 MB: the sparse 100 GB file)."""
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        if path.stat().st_size <= 64 << 20:
            sha.update(f.read())
        else:
            sha.update(f.read(1 << 20))
            f.seek(-(1 << 20), 2)
            sha.update(f.read())
    return sha.hexdigest()


def invoke(args: list[str], env: dict[str, str] | None = None):
    return CliRunner(env={**ENV, **(env or {})}).invoke(app, args)


def command_line(command: str, case: Case, out: Path) -> list[str]:
    path = str(case.path)
    if command == "inspect":
        return ["inspect", path, *case.args]
    if command.startswith("pad"):
        force = ["--force"] if command == "pad --force" else []
        return ["pad", path, "-o", str(out / "padded.npz"), *force, *case.args]
    if command == "window":
        return ["window", path, "-o", str(out / "windows.npz"), "--length", "1", *case.args]
    return ["train", path, "--save", str(out / "model.keras"), "--epochs", "1", *case.args]


def test_corpus_covers_the_issue(corpus):
    _, cases = corpus
    assert set(REQUIRED) <= set(cases)
    assert list(cases) == list(BUILDERS)
    for case in cases.values():
        assert case.codes <= {1, 2} and case.codes, case.name
        assert case.words, case.name


def test_the_pickles_are_live(tmp_path):
    """The corpus's pickles really run code when loaded: the tests that they never do mean it."""
    cases = {case.name: case for case in make_corpus(tmp_path)}
    marker = tmp_path / MARKER
    np.load(cases["pickle-npy"].path, allow_pickle=True)
    assert marker.exists()
    marker.unlink()
    np.load(cases["pickle-npz"].path, allow_pickle=True)["evil"]
    assert marker.exists()


@pytest.mark.parametrize("command", ["inspect", "pad", "pad --force", "window", "train"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_bad_input(name, command, corpus, tmp_path, monkeypatch):
    folder, cases = corpus
    case = cases[name]
    out = tmp_path / "out"
    out.mkdir()
    old = out / ("model.keras" if command == "train" else "padded.npz")
    if command == "pad --force":
        old.write_bytes(b"the old output")
    monkeypatch.chdir(out)  # anything written to the working directory shows up too
    before = snapshot(folder, case)

    result = invoke(command_line(command, case, out), case.env)

    shown = result.stderr + (result.stdout if command == "inspect" else "")
    assert result.exit_code in case.codes, f"exit {result.exit_code}:\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for word in (case.file_name, *case.words):
        assert word.lower() in shown.lower(), f"{word!r} not in:\n{shown}"
    if command == "pad --force":
        assert [p.name for p in out.iterdir()] == [old.name]
        assert old.read_bytes() == b"the old output"
    else:
        assert list(out.iterdir()) == []
    assert snapshot(folder, case) == before
    assert not (folder / MARKER).exists()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_inspect_json_is_a_report_or_nothing(name, corpus):
    """stdout carries data only: the report as JSON when the data has problems, else nothing."""
    _, cases = corpus
    case = cases[name]
    result = invoke(["inspect", str(case.path), *case.args, "--json"], case.env)
    assert result.exit_code in case.codes
    if result.exit_code == 1:
        report = json.loads(result.stdout)
        assert report["ok"] is False and report["problems"]
        assert Path(report["stats"]["file"]).name == case.file_name
    else:
        assert result.stdout == ""


def test_pad_refuses_an_output_too_large_for_memory(corpus, tmp_path):
    """Checked against the memory really available, before anything is allocated."""
    source = tmp_path / "small.json"
    source.write_text("[[[1, 2], [3, 4]], [[5, 6]]]")
    result = invoke(["pad", str(source), "-o", str(tmp_path / "out.npz"), "--maxlen", "10" * 6])
    assert result.exit_code == 2, result.output
    assert "small.json" in result.stderr
    assert "(2, 101010101010, 2)" in result.stderr and "TB of memory" in result.stderr
    assert "--maxlen" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.json"]


def test_pad_memory_limit_can_be_set(tmp_path):
    # a .npy is read whole (memory-mapped) and padded in memory: refused when the tensor does
    # not fit (a JSON document is refused earlier, with the conversion: tests/test_streaming.py)
    source = tmp_path / "small.npy"
    np.save(source, np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], dtype=np.float64))
    out = tmp_path / "out.npz"
    result = invoke(["pad", str(source), "-o", str(out)], {"LSTMPREP_MEMORY_LIMIT": "15"})
    assert result.exit_code == 2, result.output
    assert "(2, 2, 2) of float32 needs about 32 bytes of memory" in result.stderr
    assert not out.exists()
    assert (
        invoke(["pad", str(source), "-o", str(out)], {"LSTMPREP_MEMORY_LIMIT": "32"}).exit_code == 0
    )
    assert out.exists()


def test_out_of_memory_is_not_an_internal_error(tmp_path, monkeypatch):
    """Should a MemoryError get past the checks, it is exit 2 with one message, not a bug report."""

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(sys.modules["lstmprep.inspection"], "read", no_memory)
    source = tmp_path / "small.json"
    source.write_text("[[[1, 2]]]")
    result = invoke(["inspect", str(source)])
    assert result.exit_code == 2, result.output
    assert "out of memory" in result.stderr and "Traceback" not in result.output


LENGTH_CASES = [name for name in BUILDERS if "lengths" in name or "length-" in name]


@pytest.mark.parametrize("name", LENGTH_CASES)
def test_python_api_refuses_bad_lengths(name, corpus, tmp_path):
    """The library refuses what the CLI refuses: read, inspect, pad_file, train."""
    import lstmprep
    from lstmprep.errors import UnreadableInput

    _, cases = corpus
    case = cases[name]
    allow = "--allow-pickle" in case.args
    calls = [
        lambda: lstmprep.read(case.path, allow_pickle=allow),
        lambda: lstmprep.inspect(case.path, allow_pickle=allow),
        lambda: lstmprep.pad_file(case.path, tmp_path / "out.npz", allow_pickle=allow),
    ]
    for call in calls:
        with pytest.raises(UnreadableInput):
            call()
    assert not (tmp_path / "out.npz").exists()


def test_wrapping_lengths_reach_no_copy(tmp_path):
    """The arrays of the crafted file, handed straight to the padding core, are refused."""
    import lstmprep

    values, lengths = np.ones((2, 2)), np.array([2**63 - 1, 2**63 - 1, 4])
    out = np.zeros((3, 3, 2))
    with pytest.raises(ValueError, match="more than the 2 rows"):
        lstmprep.pad_into(out, values, lengths)
    with pytest.raises(ValueError, match="more than the 2 rows"):
        lstmprep.pad_ragged(lstmprep.Ragged(values, lengths), 3)
    assert not out.any()


def test_train_refuses_before_importing_tensorflow(tmp_path):
    """In a fresh process, where nothing has imported TensorFlow yet: every refusal comes first."""
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from pathlib import Path
from bad_inputs import make_corpus
from typer.testing import CliRunner
from lstmprep.cli import app
cases = make_corpus(Path({str(tmp_path)!r}))
for case in cases:
    args = ["train", str(case.path), "--epochs", "1", *case.args]
    result = CliRunner(env={{**{ENV!r}, **case.env}}).invoke(app, args)
    assert result.exit_code in case.codes, (case.name, result.exit_code, result.output)
    loaded = [m for m in ("tensorflow", "keras") if m in sys.modules]
    assert not loaded, f"train imported {{loaded}} before refusing {{case.name}}"
print("refused", len(cases))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("refused ")


def test_fuzz_findings_in_the_readers_are_refused_cleanly():
    """Crashers the fuzzer found (fuzz/corpus): each an lstmprep error, never another."""
    import lstmprep
    from lstmprep.errors import UsageError

    corpus = Path(__file__).parent.parent / "fuzz" / "corpus"
    zipped = corpus / "read" / "zip-member-name-not-utf8"
    if zipped.exists():
        import shutil
        import tempfile

        target = Path(tempfile.mkdtemp()) / "odd_names.npz"
        shutil.copy(zipped, target)
        with pytest.raises(lstmprep.LstmprepError):
            lstmprep.read(target)
    with pytest.raises(UsageError, match="cannot pad"):
        lstmprep.pad_ragged(
            lstmprep.Ragged(np.ones((2, 1)), np.array([2])), value=200, dtype="int8"
        )
