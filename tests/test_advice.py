"""Advice you can paste, and commands that agree.

Every command lstmprep suggests (inspect's next step, pad's next step, the commands inside
problem messages) and every ``--help`` example is run as printed, from a folder where the
sample data sits under a name with a space, and must succeed. And for every file — the sample
data, the problem samples, the bad-input corpus, random data sets — ``inspect`` exiting 0
means ``pad`` and ``train`` succeed, and ``pad`` or ``train`` refusing means ``inspect``
reported an error.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import make_corpus
from typer.testing import CliRunner

from lstmprep.cli import app

SAMPLES = Path(__file__).parent.parent / "sample_data"
ENV = {"COLUMNS": "1000", "NO_COLOR": "1", "TERM": "dumb"}
#: Backticked commands inside problem messages.
QUOTED = re.compile(r"`(lstmprep [^`]+)`")
#: Training is cut to one epoch to keep the suite fast; nothing else is changed.
QUICK = ["--epochs", "1"]


def cli(words: list[str], env: dict[str, str] | None = None):
    return CliRunner(env={**ENV, **(env or {})}).invoke(app, words)


def pasted(command: str) -> list[str]:
    """A suggested command as the shell would split it, without the program's name."""
    words = shlex.split(command)
    assert words[0] == "lstmprep", command
    return words[1:] + (QUICK if words[1] == "train" else [])


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """The sample data under a folder whose name needs quoting; the test runs from tmp_path."""
    folder = tmp_path / "my data"
    shutil.copytree(SAMPLES, folder, ignore=shutil.ignore_patterns("*.py"))
    monkeypatch.chdir(tmp_path)
    return folder


SAMPLE_RUNS = [
    ("sensors.json",),
    ("prices.jsonl",),
    ("seed_lists.json",),
    ("seed_padding.json",),
    ("tokens.npz", "--labels", "tokens_labels.npy"),
    ("reviews.txt", "--labels", "reviews_labels.json"),
    ("problems/bad-token.txt",),
    ("visits.csv", "--id-column", "patient", "--time-column", "hour", "--label-column", "outcome"),
    *[(f"problems/{p.name}",) for p in sorted((SAMPLES / "problems").glob("*.json"))],
]


@pytest.mark.parametrize("words", SAMPLE_RUNS, ids=lambda w: " ".join(w[::2]))
def test_every_suggested_command_runs(words, data_dir):
    path = str(Path("my data") / words[0])
    args = [path] + [
        str(Path("my data") / w) if w.endswith((".npy", ".json")) else w for w in words[1:]
    ]
    result = cli(["inspect", *args, "--json"])
    report = json.loads(result.stdout)
    suggestions = [c for p in report["problems"] for c in QUOTED.findall(p["message"])]
    if report["next_command"]:
        suggestions.append(report["next_command"])
        assert "'my data/" in report["next_command"]  # the path as given, quoted
        for option in ("--labels", "--kind"):
            if option in words:
                assert option in report["next_command"]
    else:
        assert result.exit_code == 1
    followed = set()  # pad's next step is the same command each time: train it once
    for command in dict.fromkeys(suggestions):
        run = cli(pasted(command))
        assert run.exit_code == 0, f"{command}\n{run.output}"
        for follow in set(re.findall(r"next:\s+(lstmprep .+)", run.stderr)) - followed:
            assert cli(pasted(follow)).exit_code == 0, follow
            followed.add(follow)
        Path("padded.npz").unlink(missing_ok=True)


def test_cluster_advice_runs_as_printed(data_dir):
    """inspect --scheduler suggests pad on the same cluster into a .zarr, whose own next step
    (train the store) runs too; the cheapest cluster: one local worker."""
    pytest.importorskip("distributed", reason="needs the dask extra")
    shards = data_dir / "shards"
    shards.mkdir()
    rng = np.random.default_rng(0)
    for s in range(2):
        rows = [
            {"sequence": rng.normal(size=(int(n), 2)).round(2).tolist(), "label": int(n) % 2}
            for n in rng.integers(1, 9, size=6)
        ]
        (shards / f"part{s}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    inspected = cli(["inspect", "my data/shards", "--scheduler", "local:1", "--json"])
    report = json.loads(inspected.stdout)
    suggested = [c for p in report["problems"] for c in QUOTED.findall(p["message"])]
    assert report["next_command"] == (
        "lstmprep pad 'my data/shards' -o padded.zarr --scheduler local:1"
    )
    for command in dict.fromkeys([*suggested, report["next_command"]]):
        run = cli(pasted(command))
        assert run.exit_code == 0, f"{command}\n{run.output}"
        (follow,) = re.findall(r"next:\s+(lstmprep .+)", run.stderr)
        assert follow.strip() == "lstmprep train padded.zarr"
        assert cli(pasted(follow)).exit_code == 0, follow
        shutil.rmtree("padded.zarr")


def test_cluster_advice_keeps_the_scheduler_where_it_can():
    from dataclasses import replace

    from lstmprep import advice, read
    from lstmprep.options import PadOptions

    on = replace(read(SAMPLES / "sensors.json"), scheduler="tcp://h:8786")
    assert advice.pad_command(on, PadOptions(maxlen="p95")).endswith(
        "-o padded.zarr --maxlen p95 --scheduler tcp://h:8786"
    )
    assert advice.inspect_command(on).endswith("--scheduler tcp://h:8786")
    # what a cluster does not do is suggested in one process
    assert "--scheduler" not in advice.pad_command(on, PadOptions(buckets=4))
    assert "--scheduler" not in advice.window_command(on, 10, 5)
    assert "--scheduler" not in advice.train_command(on.path, on)


def test_advice_already_followed_is_not_repeated(data_dir):
    path = str(data_dir / "problems" / "pad-collision.json")
    first = cli(["pad", path, "-o", "a.npz", "--json"])
    (collision,) = [w for w in json.loads(first.stdout)["warnings"] if w["code"] == "pad-collision"]
    other = shlex.split(QUOTED.search(collision["message"])[1])
    value = other[other.index("--value") + 1]
    again = json.loads(cli(["pad", path, "-o", "b.npz", "--value", value, "--json"]).stdout)
    assert "pad-collision" not in [w["code"] for w in again["warnings"]]

    long = str(data_dir / "problems" / "length-outlier.json")
    chosen = json.loads(cli(["pad", long, "-o", "c.npz", "--maxlen", "p95", "--json"]).stdout)
    assert "length-outlier" not in [w["code"] for w in chosen["warnings"]]


def help_examples() -> list[str]:
    examples = []
    for command in ("inspect", "pad", "window", "train"):
        text = cli([command, "--help"]).stdout
        examples += re.findall(r"Example: (lstmprep .+)", text)
    return examples


def test_every_command_has_a_help_example():
    assert len(help_examples()) == 4


@pytest.mark.parametrize("example", help_examples())
def test_help_examples_run_as_printed(example, tmp_path, monkeypatch):
    shutil.copytree(SAMPLES, tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    result = cli(pasted(example))
    assert result.exit_code == 0, f"{example}\n{result.output}"


def test_a_pasted_command_runs_in_a_real_shell(data_dir):
    report = json.loads(cli(["inspect", "my data/sensors.json", "--json"]).stdout)
    lstmprep = Path(sys.executable).with_name("lstmprep")
    line = report["next_command"].replace("lstmprep", shlex.quote(str(lstmprep)), 1)
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert np.load("padded.npz")["x"].ndim == 3


def test_a_command_broken_to_fit_a_narrow_terminal_pastes_as_printed(data_dir):
    """The next step printed 40 columns wide, copied line by line into bash as it shows."""
    shown = cli(["inspect", "my data/sensors.json"], env={"COLUMNS": "40"}).stdout
    lines = shown[shown.index("next:") :].splitlines()[1:]
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines), shown
    assert all(line.endswith("\\") for line in lines[:-1]), shown
    lstmprep = shlex.quote(str(Path(sys.executable).with_name("lstmprep")))
    pasted = "\n".join(lines).replace("lstmprep", lstmprep, 1)
    done = subprocess.run(["bash", "-c", pasted], capture_output=True, text=True)
    assert done.returncode == 0, (pasted, done.stderr)
    report = json.loads(cli(["inspect", "my data/sensors.json", "--json"]).stdout)
    assert np.load("padded.npz")["x"].shape[0] == report["stats"]["sequences"]


# --- agreement ---------------------------------------------------------------------------------


def verdicts(path: Path, out: Path, args: tuple[str, ...] = (), env=None) -> tuple[int, int, int]:
    """Exit codes of inspect, pad and train (one epoch) on one file."""
    inspected = cli(["inspect", str(path), *args], env).exit_code
    padded = cli(["pad", str(path), "-o", str(out / "p.npz"), "--force", *args], env).exit_code
    trained = cli(["train", str(path), *QUICK, "--quiet", *args], env).exit_code
    return inspected, padded, trained


def agree(codes: tuple[int, int, int], name: str) -> None:
    inspected, padded, trained = codes
    if inspected == 0:
        assert (padded, trained) == (0, 0), f"{name}: inspect passed, pad/train gave {codes}"
    if padded or trained:
        assert inspected != 0, f"{name}: pad/train refused {codes}, inspect passed"


def test_commands_agree_on_the_corpus(tmp_path):
    (tmp_path / "corpus").mkdir()
    for case in make_corpus(tmp_path / "corpus"):
        agree(verdicts(case.path, tmp_path, case.args, case.env), case.name)


@pytest.mark.parametrize("words", SAMPLE_RUNS, ids=lambda w: " ".join(w[::2]))
def test_commands_agree_on_the_samples(words, tmp_path):
    args = tuple(str(SAMPLES / w) if w.endswith((".npy", ".json")) else w for w in words[1:])
    agree(verdicts(SAMPLES / words[0], tmp_path, args), words[0])


def random_dataset(rng: np.random.Generator) -> dict | list:
    """Small sequences with the odd bad value, empty sequence, short one, or labels."""
    features = int(rng.integers(1, 3))
    sequences = []
    for _ in range(int(rng.integers(1, 7))):
        length = int(rng.choice([0, 1, 1, 2, 3, 5]))
        seq = rng.normal(size=(length, features)).round(2).tolist()
        if seq and rng.random() < 0.15:
            seq[0][0] = rng.choice(["x", None, 0.0, 1e300])
        sequences.append(seq)
    if rng.random() < 0.5:
        return sequences
    labels = rng.integers(0, 2, size=len(sequences) + int(rng.random() < 0.1)).tolist()
    return {"sequences": sequences, "labels": labels}


@pytest.mark.parametrize("seed", range(8))
def test_commands_agree_on_random_data(seed, tmp_path):
    path = tmp_path / "random.json"
    path.write_text(json.dumps(random_dataset(np.random.default_rng(seed))))
    agree(verdicts(path, tmp_path), path.read_text())
