"""Output that fits the terminal: every view at 60, 80, 120 and 200 columns, colour switches,
plain lines without a terminal, and the live train progress in a real pseudo-terminal.

Widths are display cells (``rich.cells.cell_len``), not bytes: a box-drawing character is one
cell. The pseudo-terminal test replays the raw output on a small screen model that wraps at
the last column as terminals do, so a line drawn wider than the screen shows as a leftover copy.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import struct
import subprocess
import sys
import termios
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

import lstmprep
from lstmprep import render
from lstmprep.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
WIDTHS = [60, 80, 120, 200]
LONG_NAME = "sensor_readings_of_the_north_hall_machines_exported_2026_11_24_final_v2.json"


def too_wide(text: str, width: int) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > width]


def cli(width: int, *args: object, env: dict | None = None):
    runner = CliRunner(env={"COLUMNS": str(width), "NO_COLOR": "1", "TERM": "xterm", **(env or {})})
    return runner.invoke(app, [str(a) for a in args])


def long_inputs(folder: Path) -> list[Path]:
    """A long file name in deep folders, and problems whose messages hold long unbroken words."""
    deep = folder / ("very_long_folder_name_" * 3) / ("another_long_folder_" * 3)
    deep.mkdir(parents=True)
    ragged = deep / LONG_NAME
    ragged.write_text(json.dumps([[[0.1, 0.2]] * 3] * 30 + [[[0.3, 0.4]] * 200]))
    words = deep / "long_words.json"
    words.write_text(json.dumps([[[0.1, "n/a-" * 40], [0.0, 0.0]], [[0.2]], [], 7]))
    labels = deep / "labels.json"
    labels.write_text(json.dumps({"sequences": [[[0.1]], [[0.2], [0.3]]], "labels": [[1, 2], 3]}))
    return [ragged, words, labels]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    samples = [SAMPLES / "sensors.json", SAMPLES / "prices.jsonl", SAMPLES / "tokens.npz"]
    problems = sorted((SAMPLES / "problems").glob("*.json"))
    return samples + problems + long_inputs(tmp_path_factory.mktemp("long"))


def commands(report: dict) -> list[str]:
    return [c for p in report["problems"] for c in p["message"].split("`")[1::2]]


# --- every view fits -----------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_inspect_fits_and_keeps_codes_and_commands_whole(width, inputs):
    for path in inputs:
        result = cli(width, "inspect", path)
        shown = result.stdout + result.stderr
        assert result.exit_code in (0, 1, 2), shown
        assert too_wide(shown, width) == [], (path.name, shown)
        if result.exit_code == 2:  # unreadable: an error message, no report
            assert "error:" in result.stderr
            continue
        report = cli(width, "inspect", path, "--json").stdout
        lines = shown.splitlines()
        for problem in json.loads(report)["problems"]:
            assert any(problem["code"] in line for line in lines), (problem["code"], shown)
        for command in commands(json.loads(report)):
            if len(command) + 4 <= width:  # a command longer than the screen has to break
                assert any(command in line for line in lines), (command, shown)


@pytest.mark.parametrize("width", WIDTHS)
def test_pad_and_its_errors_fit(width, inputs, tmp_path):
    for i, path in enumerate(inputs):
        result = cli(width, "pad", path, "-o", tmp_path / f"out_{i}.npz")
        shown = result.stdout + result.stderr
        assert too_wide(shown, width) == [], (path.name, shown)
        assert ("wrote" in result.stderr) == (result.exit_code == 0), shown
    refused = cli(width, "pad", SAMPLES / "problems" / "non-numeric.json", "-o", tmp_path / "x.npz")
    assert refused.exit_code == 1 and "non-numeric" in refused.stderr and "fix:" in refused.stderr


def test_problems_are_a_table_when_wide_and_blocks_when_narrow(monkeypatch):
    monkeypatch.chdir(SAMPLES)  # the commands in the messages name the file as given
    report = lstmprep.inspect("sensors.json")
    at = {width: as_text(render.problems(report), width) for width in (60, 120)}
    assert "┃ severity" in at[120] and "severity" not in at[60]
    assert "warning  ragged-length  1 at sequence" in at[60]
    for text in at.values():  # the command on a line of its own, without backticks
        lines = [line for line in text.splitlines() if "lstmprep pad" in line]
        assert lines and all("`" not in line for line in lines)
        assert "lstmprep pad sensors.json -o padded.npz" in lines[0]


def test_histogram_bars_shorten_to_fit():
    report = lstmprep.inspect(SAMPLES / "sensors.json")
    console = Console(file=io.StringIO(), width=60, no_color=True)
    render.report(report, console)
    bars = [line.count("█") for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert 30 <= max(bars) < 40


def as_text(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, no_color=True, highlight=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


# --- train's views -------------------------------------------------------------------------------

LOGS = {"accuracy": 0.8125, "loss": 0.41234, "val_accuracy": 0.75, "val_loss": 0.52}


@pytest.mark.parametrize("width", WIDTHS)
def test_epoch_line_fits_with_the_most_it_can_show(width):
    for logs in (LOGS, {"loss": 12345.678, "mae": 98.7654, "val_loss": 23456.7, "val_mae": 99.1}):
        line = render.epoch_line("10/10", logs, 12.3, width).plain
        assert cell_len(line) <= width and line.startswith("epoch 10/10 ")
        assert "…" not in line, line
    full = render.epoch_line("1/3", LOGS, 2.0, width).plain
    assert ("val_accuracy 0.7500" in full) == (width >= 120), full
    if width >= 80:
        order = [full.index(k) for k in ("loss", "acc", "val_loss", "val_acc")]
        assert order == sorted(order), full
    else:  # each validation figure beside its training one
        assert full == "epoch 1/3 loss 0.412 (val 0.520) acc 0.812 (val 0.750)"


@pytest.mark.parametrize("width", [60, 120])
def test_epoch_bar_fits_its_width(width):
    bar = render.EpochBar("3/20", steps=8)
    bar.done = 5
    (line,) = as_text(bar, width).splitlines()
    assert cell_len(line) < width and line.startswith("epoch 3/20 ━") and " 5/8 " in line


def drive(progress: render.TrainProgress, epochs: int = 2) -> None:
    with progress:
        progress.on_step("loading TensorFlow")
        progress.on_train_begin((), 0, epochs)
        for epoch in range(epochs):
            progress.on_epoch_begin(epoch, 4)
            for step in range(1, 5):
                progress.on_batch_end(epoch, step)
            progress.on_epoch_end(epoch, LOGS)


@pytest.mark.parametrize("width", [60, 200])
def test_without_a_terminal_one_plain_line_per_epoch(width):
    console = Console(file=io.StringIO(), width=width)  # a pipe: not a terminal
    drive(render.TrainProgress(console, console, bars=True, layers=False), epochs=3)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [line.split()[:2] for line in lines] == [["epoch", f"{e}/3"] for e in (1, 2, 3)]
    assert too_wide("\n".join(lines), width) == [] and "\x1b" not in "".join(lines)


def test_quiet_progress_prints_nothing():
    console = Console(file=io.StringIO(), width=80, force_terminal=True)
    drive(render.TrainProgress(console, console, bars=False, layers=False))
    assert console.file.getvalue() == ""  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("keras")
    from lstmprep.train import TrainOptions, train

    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(2 + i % 5, 3)).round(3).tolist() for i in range(16)]
    path = tmp_path_factory.mktemp("train") / LONG_NAME
    path.write_text(json.dumps({"sequences": seqs, "labels": [0, 1] * 8}))
    result = train(lstmprep.read(path), TrainOptions(epochs=1, units=4, seed=0))
    return path, result


@pytest.mark.parametrize("width", WIDTHS)
def test_train_tables_fit(width, trained):
    path, result = trained
    saved = path.parent / ("a_long_model_name_" * 4 + ".keras")
    shown = as_text(render.model_layers(result.layers, result.params), width)
    console = Console(file=io.StringIO(), width=width, no_color=True)
    render.train_result(replace(result, saved=str(saved)), console)
    shown += console.file.getvalue()  # type: ignore[attr-defined]
    assert too_wide(shown, width) == [], shown
    assert "mask check" in shown and "✓ held" in shown


@pytest.mark.parametrize("width", [60, 200])
def test_train_command_fits_and_prints_each_epoch_once(width, trained):
    path, _ = trained
    args = ["train", path, "--epochs", "2", "--units", "4", "--seed", "0"]
    result = cli(width, *args)
    assert result.exit_code == 0, result.output
    assert too_wide(result.stdout + result.stderr, width) == []
    assert [result.stderr.count(f"epoch {e}/2") for e in (1, 2)] == [1, 1], result.stderr


# --- colour --------------------------------------------------------------------------------------

COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7])[;m]")  # a foreground colour


def run_piped(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    return subprocess.run(
        [sys.executable, "-m", "lstmprep", *args],
        env={**clean, "COLUMNS": "100", **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "env, flags, coloured",
    [
        ({}, [], False),  # a pipe
        ({"FORCE_COLOR": "1"}, [], True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, [], False),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, [], False),
        ({"FORCE_COLOR": "1"}, ["--no-color"], False),
    ],
)
def test_colour_switches(env, flags, coloured):
    path = str(SAMPLES / "problems" / "ragged-length.json")
    result = run_piped(*flags, "inspect", path, **env)
    assert result.returncode == 0, result.stderr
    assert "ragged-length" in result.stdout
    assert bool(COLOUR.search(result.stdout)) == coloured, repr(result.stdout[:300])


def test_forced_colour_in_a_pipe_is_not_live():
    code = "from lstmprep import cli; print(cli.err.is_terminal, cli.err.is_interactive)"
    result = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "FORCE_COLOR": "1"}, capture_output=True
    )
    assert result.stdout.split() == [b"True", b"False"]


# --- the live progress in a real pseudo-terminal -------------------------------------------------

CONTROL = re.compile(
    r"\x1b\[([?0-9;]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.|(.)", re.S
)


class Screen:
    """Enough of a terminal to replay Rich's output: text, CR, LF, cursor up, erase line, and
    wrapping at the last column (``wraps`` counts lines drawn wider than the screen)."""

    def __init__(self, width: int):
        self.width, self.rows, self.row, self.col = width, [[]], 0, 0
        self.pending, self.wraps = False, 0

    def feed(self, text: str) -> None:
        for match in CONTROL.finditer(text):
            params, command, char = match.groups()
            if command == "A":
                self.row, self.pending = max(0, self.row - int(params or 1)), False
            elif command == "K":
                line = self.line()
                del line[0 if params == "2" else self.col :]
            elif char == "\r":
                self.col, self.pending = 0, False
            elif char == "\n":
                self.row, self.pending = self.row + 1, False
            elif char is not None and char >= " ":
                self.put(char)

    def put(self, char: str) -> None:
        if self.pending:
            self.row, self.col, self.pending, self.wraps = self.row + 1, 0, False, self.wraps + 1
        line = self.line()
        line.extend(" " * (self.col + 1 - len(line)))
        line[self.col] = char
        self.col += cell_len(char)
        if self.col >= self.width:
            self.col, self.pending = self.width - 1, True

    def line(self) -> list[str]:
        while len(self.rows) <= self.row:
            self.rows.append([])
        return self.rows[self.row]

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.rows]


def run_in_pty(args: list[str], width: int) -> tuple[int, str]:
    """Run ``args`` with a pseudo-terminal ``width`` columns wide as stdin, stdout and stderr."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
    drop = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_INTERACTIVE", "TTY_COMPATIBLE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(TERM="xterm-256color", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("width", [60, 120])
def test_live_progress_redraws_in_place_in_a_real_terminal(width, trained):
    path, _ = trained
    args = ["train", str(path), "--epochs", "2", "--units", "4", "--seed", "0"]
    code, raw = run_in_pty([sys.executable, "-m", "lstmprep", *args], width)
    screen = Screen(width)
    screen.feed(raw)
    lines = screen.lines()
    assert code == 0, "\n".join(lines)
    assert "━" in raw and "\x1b[2K" in raw  # a live bar was drawn and redrawn
    assert [sum(f"epoch {e}/2" in line for line in lines) for e in (1, 2)] == [1, 1], lines
    assert screen.wraps == 0, lines
    live = [line for line in lines if ("━" in line and "epoch" in line) or "TensorFlow…" in line]
    assert live == []  # the live line was cleared
    assert any("mask check" in line for line in lines)
