"""Rich views of lstmprep's results, for people. The CLI's ``--json`` is the machine view."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from .model import LayerInfo
from .model import Progress as TrainHooks
from .report import Report
from .train import TrainResult

if TYPE_CHECKING:
    from .pipeline import PadSummary

STYLE = {"error": "bold red", "warning": "yellow"}


def report(rep: Report, console: Console) -> None:
    """Print an inspect report: summary, length histogram, problems, notes and the next step."""
    console.print(summary(rep))
    if rep.stats.histogram:
        console.print(histogram(rep))
    if rep.problems:
        console.print(problems(rep))
    for note in rep.notes:
        console.print(Text(f"note: {note}", style="dim"))
    console.print(next_step(rep))


def summary(rep: Report) -> Table:
    s = rep.stats
    table = Table(
        title=f"{Path(s.file).name} ({s.format})", show_header=False, title_justify="left"
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("sequences", f"{s.sequences:,}")
    table.add_row("features", str(s.features))
    table.add_row(
        "length",
        f"min {s.min_length}, median {s.median_length:g}, p95 {s.p95_length}, max {s.max_length}",
    )
    table.add_row("timesteps", f"{s.total_timesteps:,} ({s.dtype})")
    table.add_row(
        "padded to longest",
        f"{s.sequences:,} x {s.max_length} x {s.features} float32 = {s.padded_mb:,.1f} MB, "
        f"{s.padding_waste:.0%} padding",
    )
    if s.labels is not None:
        table.add_row("labels", f"{s.labels:,} ({s.label_kind})")
    table.add_row(
        "keras",
        f"keras.Input(shape=({s.input_shape[0]}, {s.input_shape[1]})), "
        f"Masking(mask_value={s.mask_value:g})",
    )
    return table


def histogram(rep: Report, width: int = 40) -> Table:
    table = Table(title="lengths", show_header=False, box=None, title_justify="left")
    table.add_column(justify="right")
    table.add_column()
    table.add_column(justify="right")
    most = max(n for _, _, n in rep.stats.histogram) or 1
    for lo, hi, n in rep.stats.histogram:
        label = str(lo) if lo == hi else f"{lo}-{hi}"
        bar = "█" * round(width * n / most) or ("▏" if n else "")
        table.add_row(label, Text(bar, style="cyan"), f"{n:,}")
    return table


def problems(rep: Report) -> Table:
    table = Table(title="problems", title_justify="left", expand=False)
    table.add_column("severity")
    table.add_column("code")
    table.add_column("count", justify="right")
    table.add_column("where")
    table.add_column("what and how to fix it", overflow="fold")
    for p in rep.problems:
        where = "; ".join(str(place) for place in p.places) or "whole file"
        table.add_row(
            Text(p.severity, style=STYLE[p.severity]), p.code, f"{p.count:,}", where, p.message
        )
    return table


def next_step(rep: Report) -> Group:
    if rep.next_command is None:
        text = Text(
            f"✗ {len(rep.errors)} kind(s) of error: fix them, then inspect again.",
            style="bold red",
        )
    elif "ragged-length" in rep.codes():
        text = Text(f"next: {rep.next_command}", style="bold green")
    else:
        text = Text(f"✓ ready: {rep.next_command}", style="bold green")
    return Group(text)


def pad_summary(summary: PadSummary, console: Console) -> None:
    """What pad wrote, in a few lines, and its warnings."""
    n, t, f = summary.shape
    lines = [
        f"wrote {summary.output}: x {n:,} x {t} x {f} {summary.dtype}, "
        f"{summary.padding_share:.0%} padding, {summary.bytes / 1e6:,.1f} MB",
    ]
    if summary.truncated_sequences:
        lines.append(
            f"truncated {summary.truncated_sequences:,} sequences to {summary.maxlen} timesteps "
            f"({summary.dropped_timesteps:,} timesteps dropped, {summary.meta.truncating})"
        )
    if not summary.output.lower().endswith(".npz"):
        lines.append("lengths and labels are not saved in .npy: write .npz to keep them")
    for line in lines:
        console.print(line)
    for p in summary.warnings:
        if p.code != "ragged-length":  # padding is the answer to that one
            console.print(Text(f"warning: {p.code}: {p.message}", style="yellow"))
    if summary.next_command:
        console.print(Text(f"next: {summary.next_command}", style="bold green"))


class Steps:
    """A progress bar on ``console`` for work longer than about a second; a step per phase.

    Shown only when ``enabled`` and the console is a terminal; call the object with a phase's
    name as each phase starts.
    """

    def __init__(
        self, console: Console, *, enabled: bool = True, total: int = 4, delay: float = 1.0
    ):
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("starting", total=total)
        self.started = False
        show = enabled and console.is_terminal
        self.timer = threading.Timer(delay, self._start) if show else None

    def _start(self) -> None:
        self.started = True
        self.progress.start()

    def __call__(self, name: str) -> None:
        done = self.progress.tasks[0].description != "starting"
        self.progress.update(self.task, description=name, advance=1 if done else 0)

    def __enter__(self) -> Steps:
        if self.timer:
            self.timer.daemon = True
            self.timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.timer:
            self.timer.cancel()
        if self.started:
            self.progress.stop()


# --- train ---------------------------------------------------------------------------------------

LOSS_NAMES = {
    "mse": "mean squared error",
    "binary_crossentropy": "binary cross-entropy",
    "sparse_categorical_crossentropy": "categorical cross-entropy",
}


def model_layers(layers: tuple[LayerInfo, ...], params: int) -> Table:
    """The model's layers, their output shapes and weights (``None``: any size)."""
    table = Table(title=f"model: {params:,} parameters", title_justify="left")
    table.add_column("layer")
    table.add_column("output shape")
    table.add_column("params", justify="right")
    for layer in layers:
        shape = "(" + ", ".join(str(d) for d in layer.output_shape) + ")"
        table.add_row(layer.name, shape, f"{layer.params:,}")
    return table


def train_result(result: TrainResult, console: Console) -> None:
    """The final table of a training run and its verdict."""
    table = Table(title=f"trained: {result.task}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    final = result.final
    table.add_row("target", result.target)
    table.add_row(
        "sequences", f"{result.train_sequences:,} train, {result.validation_sequences:,} validation"
    )
    table.add_row("epochs", f"{len(result.history.get('loss', []))} of {result.epochs}")
    for name in ("loss", result.metric):
        figure = _figure(final.get(name))
        if "val_" + name in final:
            figure += f"   validation {_figure(final['val_' + name])}"
        if name == "loss":
            figure += f"   ({LOSS_NAMES.get(result.loss, result.loss)})"
        table.add_row(name, figure)
    check = result.mask_check
    mark = ("✓ held", "green") if check.held else ("✗ failed", "bold red")
    table.add_row(
        "mask check",
        Text.assemble(
            mark,
            f": {check.checked} sequences padded in a batch and fed alone differ by at most "
            f"{check.max_abs_diff:.1e} (tolerance {check.tolerance:g})",
        ),
    )
    n, t, f = result.padded_shape
    table.add_row(
        "keras",
        f"keras.Input(shape=({result.input_shape[0]}, {result.input_shape[1]})) and a mask from "
        f"the lengths; padded {n:,} x {t} x {f}",
    )
    if result.saved is not None:
        table.add_row("saved", result.saved)
    console.print(table)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


class TrainProgress(TrainHooks):
    """Show a training run: a status line per step and a bar per epoch (on ``console``), and
    the model's layers (on ``tables``). Use as a context manager."""

    def __init__(self, console: Console, tables: Console, *, bars: bool, layers: bool):
        self.console, self.tables = console, tables
        self.bars, self.layers = bars and console.is_terminal, layers
        self.status = console.status("") if self.bars else None
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[figures]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task: TaskID | None = None
        self.epochs = 0

    def on_step(self, name: str) -> None:
        if self.status is not None:
            self.progress.stop()
            self.status.update(f"{name}…")
            self.status.start()

    def on_train_begin(self, layers: tuple[LayerInfo, ...], params: int, epochs: int) -> None:
        if self.status is not None:
            self.status.stop()
        if self.layers:
            self.tables.print(model_layers(layers, params))
        self.epochs = epochs

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        if self.bars:
            self.progress.start()
            self.task = self.progress.add_task(
                "", total=steps, epoch=f"{epoch + 1}/{self.epochs}", figures=""
            )

    def on_batch_end(self, epoch: int, step: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=step)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.task is not None:
            figures = "  ".join(f"{k} {v:.4f}" for k, v in logs.items())
            self.progress.update(self.task, figures=figures)

    def __enter__(self) -> TrainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()
        if self.status is not None:
            self.status.stop()
