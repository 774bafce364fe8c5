"""Rich views of lstmprep's results, for people. The CLI's ``--json`` is the machine view."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .report import Report

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
    table = Table(title=f"{Path(s.file).name} ({s.format})", show_header=False, title_justify="left")
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
    s = rep.stats
    name = Path(s.file).name
    if rep.errors:
        text = Text(
            f"✗ {len(rep.errors)} kind(s) of error: fix them, then run `lstmprep inspect {name}` "
            "again.",
            style="bold red",
        )
    elif "ragged-length" in rep.codes():
        maxlen = " --maxlen p95" if "length-outlier" in rep.codes() else ""
        text = Text(f"next: lstmprep pad {name} -o padded.npz{maxlen}", style="bold green")
    else:
        text = Text(f"✓ ready: lstmprep train {name}", style="bold green")
    return Group(text)
