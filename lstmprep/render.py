"""Rich views of lstmprep's results, for people. The CLI's ``--json`` is the machine view."""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.measure import Measurement
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from .errors import LstmprepError
from .model import LayerInfo
from .model import Progress as TrainHooks
from .report import Report
from .tokens import id_dtype
from .train import TrainResult

if TYPE_CHECKING:
    from .pipeline import PadSummary
    from .windowing import WindowSummary

STYLE = {"error": "bold red", "warning": "yellow"}


def report(rep: Report, console: Console) -> None:
    """Print an inspect report: summary, length histogram, problems, notes and the next step.

    Every part fits ``console.width``: long values wrap inside their cells, the histogram's bars
    shorten, and problems become blocks where their table would squeeze the messages.
    """
    if rep.stats is None:  # a file that cannot be read (inspect --each)
        console.print(problems(rep))
        console.print(next_step(rep))
        return
    console.print(summary(rep))
    if rep.stats.histogram:
        bars = console.width - 24  # room left by the bins, the counts and the gaps
        console.print(histogram(rep, width=max(10, min(40, bars))))
    if rep.problems:
        console.print(problems(rep))
    for note in rep.notes:
        console.print(Text(f"note: {note}", style="dim"))
    console.print(next_step(rep))


def summary(rep: Report) -> Table:
    s = rep.stats
    assert s is not None
    table = Table(
        title=f"{Path(s.file).name} ({s.format})", show_header=False, title_justify="left"
    )
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("sequences", f"{s.sequences:,}")
    table.add_row("features", str(s.features))
    table.add_row(
        "length",
        f"min {s.min_length}, median {s.median_length:g}, p95 {s.p95_length}, max {s.max_length}",
    )
    table.add_row("timesteps", f"{s.total_timesteps:,} ({s.dtype})")
    ids = s.vocabulary_size is not None
    shape = f"{s.max_length}" if ids else f"{s.max_length} x {s.features}"
    dtype = id_dtype(s.vocabulary_size or 0) if ids else "float32"
    table.add_row(
        "padded to longest",
        f"{s.sequences:,} x {shape} {dtype} = {s.padded_mb:,.1f} MB, {s.padding_waste:.0%} padding",
    )
    if ids:
        zero = ", 0 among them" if s.zero_id else ""
        table.add_row(
            "token ids",
            f"vocabulary size {s.vocabulary_size:,} (largest id + 1), "
            f"{s.distinct_ids:,} distinct{zero}",
        )
    if s.labels is not None:
        kinds = "" if s.classes is None else f", {len(s.classes)} classes"
        table.add_row("labels", f"{s.labels:,} ({s.task or s.label_kind}{kinds})")
    shape = ", ".join(map(str, s.input_shape)) + ("," if len(s.input_shape) == 1 else "")
    layer = s.embedding if ids else f"Masking(mask_value={s.mask_value:g})"
    table.add_row("keras", f"keras.Input(shape=({shape})), {layer}")
    return table


def histogram(rep: Report, width: int = 40) -> Table:
    """A bar per length bin; ``width`` is the longest bar's length."""
    table = Table(title="lengths", show_header=False, box=None, title_justify="left")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    bins = rep.stats.histogram if rep.stats else ()
    most = max((n for _, _, n in bins), default=0) or 1
    for lo, hi, n in bins:
        label = str(lo) if lo == hi else f"{lo}-{hi}"
        bar = "█" * round(width * n / most) or ("▏" if n else "")
        table.add_row(label, Text(bar, style="cyan"), f"{n:,}")
    return table


def problems(rep: Report, title: str = "problems") -> Problems:
    return Problems(rep, title)


def each(reports: list[Report], console: Console) -> None:
    """Reports of files checked one by one (``inspect --each``): the problems of each file
    that has any, then a table with a row per file, then the total."""
    from .ci import exit_code, summary

    for rep in reports:
        if rep.problems:
            console.print(problems(rep, title=rep.file))
    table = Table(title="files", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("result", no_wrap=True)
    table.add_column("sequences", justify="right", no_wrap=True)
    table.add_column("problems", overflow="fold")
    for rep in reports:
        code = exit_code(rep)
        result = ("unreadable", "bold red") if code == 2 else ("failed", "bold red")
        if code == 0:
            result = ("ok, warnings", "yellow") if rep.warnings else ("ok", "green")
        found = ", ".join(p.code + (f" ×{p.count:,}" if p.count > 1 else "") for p in rep.problems)
        sequences = f"{rep.stats.sequences:,}" if rep.stats else "—"
        table.add_row(rep.file, Text(*result), sequences, found or "—")
    console.print(table)
    console.print(Text(summary(reports), style="bold"))


class Problems:
    """The problems of a report: a table where it fits the width it is printed at, else a block
    per problem (severity, code, count and places on one line, then the message)."""

    #: The message column's narrowest width in the table; commands need their own length.
    MESSAGE_WIDTH = 36
    #: The "where" column's narrowest width in the table.
    WHERE_WIDTH = 16

    def __init__(self, rep: Report, title: str = "problems"):
        self.title = title
        self.rows = [
            (p.severity, p.code, f"{p.count:,}", _where(p.places), p.message) for p in rep.problems
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= self.table_width():
            yield self.table()
        else:
            yield Text(self.title, style="italic")
            for severity, code, count, where, message in self.rows:
                yield Text.assemble(
                    (severity, STYLE[severity]), "  ", (code, "bold"), f"  {count} at {where}"
                )
                yield _message(message, indent=2)

    def message_width(self) -> int:
        commands = [cell_len(c) + 2 for *_, m in self.rows for c in _commands(m)]
        return max([self.MESSAGE_WIDTH, *commands])

    def table_width(self) -> int:
        """The narrowest width at which the table keeps codes whole and commands on one line."""
        columns = list(zip(HEADS, *self.rows, strict=True))
        fixed = [max(map(cell_len, column)) for column in columns[:3]]
        where = min(max(map(cell_len, columns[3][1:]), default=0), self.WHERE_WIDTH)
        return sum(fixed) + where + self.message_width() + 5 * 3 + 1  # borders and padding

    def table(self) -> Table:
        table = Table(title=self.title, title_justify="left")
        table.add_column(HEADS[0], no_wrap=True)
        table.add_column(HEADS[1], no_wrap=True)
        table.add_column(HEADS[2], justify="right", no_wrap=True)
        table.add_column(HEADS[3], overflow="fold")
        table.add_column(HEADS[4], min_width=self.message_width(), overflow="fold")
        for severity, code, count, where, message in self.rows:
            table.add_row(
                Text(severity, style=STYLE[severity]), code, count, where, _message(message)
            )
        return table


HEADS = ("severity", "code", "count", "where", "what and how to fix it")


def _where(places: Iterable[object]) -> str:
    return "; ".join(str(place) for place in places) or "whole file"


def _commands(message: str) -> list[str]:
    """The commands in a message: the parts between backticks."""
    parts = message.split("`")
    return parts[1::2] if len(parts) % 2 else []


class Command:
    """A shell command on lines of its own, ``indent`` columns in. One longer than the width
    breaks between words with a backslash at the line's end (a word longer than a line breaks
    too, its continuation at the line's start), so that it still pastes as one command.

    >>> import io
    >>> console = Console(width=30, file=io.StringIO())
    >>> console.print(Command("lstmprep pad data.json -o padded.npz --maxlen p95"))
    >>> print(console.file.getvalue(), end="")
    lstmprep pad data.json -o \\
      padded.npz --maxlen p95
    """

    def __init__(self, command: str, indent: int = 0):
        self.command, self.indent = command, indent

    def lines(self, width: int) -> list[str]:
        lines = [" " * self.indent]
        words = _shell_words(self.command)
        for k, (word, quote) in enumerate(words):
            end = 0 if k == len(words) - 1 else 2  # room for " \\" unless it is the last word
            fresh = not lines[-1].strip()
            joined = lines[-1] + ("" if fresh else " ") + quote(word)
            if cell_len(joined) + end <= width:
                lines[-1] = joined
                continue
            if not fresh:
                lines[-1] += " \\"
                lines.append(" " * (self.indent + 2))
                if cell_len(lines[-1] + quote(word)) + end <= width:
                    lines[-1] += quote(word)
                    continue
            while word:  # too long for any line: pieces, each quoted (the shell joins them)
                size = len(word)
                while size > 1 and cell_len(lines[-1] + quote(word[:size])) + 1 > width:
                    size -= 1
                lines[-1] += quote(word[:size])
                word = word[size:]
                if word:
                    lines[-1] += "\\"
                    lines.append("")
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            yield Text(line, style="bold", no_wrap=True, overflow="ignore", end="\n")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = self.indent + cell_len(self.command)
        return Measurement(min(longest, max(options.max_width, 1)), longest)


def _shell_words(command: str) -> list[tuple[str, Callable[[str], str]]]:
    """The words of a shell command, each with how to write it back: quoted, or as it is for
    the operators (``|``, ``>``…)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return [(w, str if set(w) <= set("();<>|&") else shlex.quote) for w in lexer]


def _message(message: str, lead: Text | None = None, indent: int = 0) -> Group:
    """A message that wraps to any width, ``indent`` columns in, each `command` in it whole on
    lines of its own (without the backticks, so that it pastes as it is)."""
    parts = message.split("`") if _commands(message) else [message]
    first = Text.assemble(lead or "", parts[0].strip())
    lines: list[Text | Padding | Command] = [first] if first.plain else []
    for i, part in enumerate(parts[1:], 1):
        if i % 2:
            lines.append(Command(part, indent + 2))
        elif part.strip():
            lines.append(Text(part.strip()))
    if indent:  # the text, not the commands: a line that ends in a backslash has no padding
        lines = [
            Padding(line, (0, 0, 0, indent)) if isinstance(line, Text) else line for line in lines
        ]
    return Group(*lines)


def error(e: LstmprepError) -> Group:
    """An error for stderr: what is wrong and where, then the fix, its commands on lines of
    their own so that they paste as they are."""
    lines: list[Text | Group] = [
        Text.assemble(("error: ", "bold red"), f"{e.path}: {e.message}" if e.path else e.message)
    ]
    if e.hint:
        lines.append(_message(e.hint, Text("fix: "), indent=2))
    return Group(*lines)


def next_step(rep: Report) -> Group:
    """The verdict, and the command to run next on a line of its own."""
    if rep.next_command is None:
        text = f"✗ {len(rep.errors)} kind(s) of error: fix them, then inspect again."
        return Group(Text(text, style="bold red"))
    lead = "next:" if "ragged-length" in rep.codes() else "✓ ready:"
    return _message(f"`{rep.next_command}`", Text(lead, style="bold green"))


def pad_summary(summary: PadSummary, console: Console) -> None:
    """What pad wrote, in a few lines, and its warnings."""
    n, *rest = summary.shape
    lines = [
        f"wrote {summary.output}: x {n:,} x {' x '.join(map(str, rest))} {summary.dtype}, "
        f"{summary.padding_share:.0%} padding, {summary.bytes / 1e6:,.1f} MB",
    ]
    if summary.buckets is not None:
        widths = ", ".join(str(b[1]) for b in summary.buckets)
        lines[0] = (
            f"wrote {summary.output}: {n:,} sequences"
            f"{''.join(f' x {d}' for d in rest[1:])} {summary.dtype} in "
            f"{len(summary.buckets)} buckets of {widths} timesteps, {summary.bytes / 1e6:,.1f} MB"
        )
        lines.append(
            f"padding: {summary.unbucketed_padding_share:.0%} in one tensor, "
            f"{summary.padding_share:.0%} in buckets"
        )
    if summary.truncated_sequences:
        lines.append(
            f"truncated {summary.truncated_sequences:,} sequences to {summary.maxlen} timesteps "
            f"({summary.dropped_timesteps:,} timesteps dropped, {summary.meta.truncating})"
        )
    if summary.output.lower().endswith(".npy"):
        lines.append("lengths and labels are not saved in .npy: write .npz to keep them")
    if summary.streamed:
        lines.append("streamed: read in chunks, twice, as the data would not fit the memory budget")
    for line in lines:
        console.print(line)
    for p in summary.warnings:
        if p.code != "ragged-length":  # padding is the answer to that one
            lead = Text(f"warning: {p.code}: ", style="yellow")
            console.print(_message(p.message, lead))
    if summary.next_command:
        console.print(_message(f"`{summary.next_command}`", Text("next:", style="bold green")))


def window_summary(summary: WindowSummary, console: Console) -> None:
    """What window wrote, in a few lines, and its warnings."""
    n, t, f = summary.shape
    y = "" if summary.y_shape is None else ", y " + " x ".join(f"{d:,}" for d in summary.y_shape)
    console.print(
        f"wrote {summary.output}: x {n:,} x {t} x {f} {summary.dtype}{y}, "
        f"{n:,} windows from {summary.series:,} series, {summary.bytes / 1e6:,.1f} MB"
    )
    if not summary.output.lower().endswith(".npz"):
        console.print("targets and sources are not saved in .npy: write .npz to keep them")
    for p in summary.warnings:
        console.print(_message(p.message, Text(f"warning: {p.code}: ", style="yellow")))
    if summary.next_command:
        console.print(_message(f"`{summary.next_command}`", Text("next:", style="bold green")))


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
            TextColumn("{task.fields[detail]}"),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("starting", total=total, detail="")
        self.passes: dict[str, tuple[Any, float]] = {}
        self.started = False
        show = enabled and console.is_terminal
        self.timer = threading.Timer(delay, self._start) if show else None

    def _start(self) -> None:
        self.started = True
        self.progress.start()

    def __call__(self, name: str) -> None:
        done = self.progress.tasks[0].description != "starting"
        self.progress.update(self.task, description=name, advance=1 if done else 0)

    def bytes(self, phase: str, done: int, total: int) -> None:
        """A bar per pass over the input (data read in chunks): bytes read, rate, time left."""
        for other, (task, _) in self.passes.items():
            if other != phase:
                self.progress.update(task, visible=False)
        if phase not in self.passes:
            task = self.progress.add_task(f"  {phase}", total=max(total, 1), detail="")
            self.passes[phase] = (task, time.monotonic())
        task, start = self.passes[phase]
        elapsed = time.monotonic() - start
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f", {(total - done) / rate:,.0f} s left" if rate and total > done else ""
        detail = f"{done / 1e6:,.0f} of {total / 1e6:,.0f} MB, {rate / 1e6:,.0f} MB/s{left}"
        self.progress.update(task, completed=done, detail=detail)

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


class TaskBars:
    """Progress of Dask tasks (``lstmprep.cluster.Progress``): a bar per pass, advanced as
    the workers finish their tasks; shown when ``enabled`` and the console is a terminal."""

    def __init__(self, console: Console, *, enabled: bool = True):
        self.console = console
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} tasks"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not (enabled and console.is_terminal),
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)

    def say(self, text: str) -> None:
        """A line about the cluster (its scheduler, workers and dashboard)."""
        if self.enabled:
            self.console.print(text, highlight=False, soft_wrap=True)

    def __enter__(self) -> TaskBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
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
    n, *rest = result.padded_shape
    shape = ", ".join(map(str, result.input_shape)) + ("," if len(result.input_shape) == 1 else "")
    table.add_row(
        "keras",
        f"keras.Input(shape=({shape})) and a mask from the lengths; padded {n:,} x "
        f"{' x '.join(map(str, rest))}",
    )
    if result.saved is not None:
        table.add_row("saved", result.saved)
    console.print(table)
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


#: Shorter names for an epoch's figures at narrow widths.
SHORT_NAMES = {"accuracy": "acc", "val_accuracy": "val_acc"}


def epoch_line(epoch: str, logs: dict[str, float], seconds: float, width: int) -> Text:
    """``epoch 2/5  loss 0.4530  accuracy 0.8125  val_loss …  3.1s`` in the widest form that fits
    ``width``: then shorter names, then three decimals (or three significant digits) with each
    validation figure beside its training one, ``loss 0.453 (val 0.512)``. The result table
    shows them all in full."""
    names = sorted(logs, key=lambda k: (k.startswith("val_"), k.removeprefix("val_") != "loss"))
    head, clock = f"epoch {epoch}", f"{seconds:.1f}s"
    full = [f"{k} {logs[k]:.4f}" for k in names]
    short = [f"{SHORT_NAMES.get(k, k)} {logs[k]:.4f}" for k in names]

    def paired(form: str) -> list[str]:
        return [
            f"{SHORT_NAMES.get(k, k)} {logs[k]:{form}}"
            + (f" (val {logs['val_' + k]:{form}})" if "val_" + k in logs else "")
            for k in names
            if not k.startswith("val_")
        ]

    forms = [
        "  ".join([head, *full, clock]),
        "  ".join([head, *short, clock]),
        " ".join([head, *paired(".3f")]),
    ]
    line = next((f for f in forms if cell_len(f) <= width), " ".join([head, *paired(".3g")]))
    return Text(line, no_wrap=True, overflow="ellipsis")


class EpochBar:
    """The live line of the running epoch, ``epoch 2/5 ━━━━━━━━━━━━ 3/8 1.2s``, its bar as long
    as the width it is drawn at allows (at most 40)."""

    def __init__(self, epoch: str, steps: int):
        self.epoch, self.steps, self.done = epoch, steps, 0
        self.started = time.monotonic()

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        left, right = f"epoch {self.epoch} ", f" {self.done}/{self.steps} {self.seconds():.1f}s"
        room = min(40, options.max_width - 1 - cell_len(left) - cell_len(right))
        filled = round(room * self.done / max(self.steps, 1))
        bar = Text.assemble(("━" * filled, "bar.complete"), ("━" * (room - filled), "bar.back"))
        yield Text.assemble(left, bar, right, no_wrap=True, overflow="ellipsis")


class TrainProgress(TrainHooks):
    """Show a training run on ``console`` and the model's layers on ``tables``. Use as a
    context manager.

    With ``bars``, each epoch ends with one line of its figures. On an interactive terminal a
    live line (a spinner per step, a bar per epoch) is redrawn in place above it and cleared
    when done; elsewhere (pipes, CI logs, ``TERM=dumb``) the epochs' lines are all there is.
    """

    def __init__(self, console: Console, tables: Console, *, bars: bool, layers: bool):
        self.console, self.tables = console, tables
        self.lines, self.layers = bars, layers
        live = bars and console.is_interactive
        self.live = Live(console=console, transient=True, refresh_per_second=8) if live else None
        self.bar: EpochBar | None = None
        self.epochs = 0

    def _show(self, renderable: Spinner | EpochBar) -> None:
        if self.live is not None:
            self.live.update(renderable, refresh=True)
            self.live.start()

    def on_step(self, name: str) -> None:
        self._show(Spinner("dots", f"{name}…"))

    def on_train_begin(self, layers: tuple[LayerInfo, ...], params: int, epochs: int) -> None:
        if self.live is not None:
            self.live.stop()  # the table goes to another stream: no live line under it
        if self.layers:
            self.tables.print(model_layers(layers, params))
        self.epochs = epochs

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        self.bar = EpochBar(f"{epoch + 1}/{self.epochs}", steps)
        self._show(self.bar)

    def on_batch_end(self, epoch: int, step: int) -> None:
        if self.bar is not None:
            self.bar.done = step

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.lines and self.bar is not None:
            self.console.print(
                epoch_line(self.bar.epoch, logs, self.bar.seconds(), self.console.width)
            )

    def __enter__(self) -> TrainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
