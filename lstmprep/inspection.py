"""``inspect``: read a file, run every check (:mod:`lstmprep.checks`), and describe the data.

The result is a :class:`~lstmprep.report.Report` value: the problems, the stats (lengths,
sizes, the Keras arguments that fit) and the command to run next.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import advice
from .checks import free_value, run_checks
from .dataset import Dataset
from .options import DEFAULTS, PadOptions, percentile_length
from .readers import TableOptions, read
from .report import Report, Stats


def inspect(
    source: str | Path | Dataset,
    *,
    labels: str | Path | None = None,
    allow_pickle: bool = False,
    strict: bool = False,
    table: TableOptions | None = None,
) -> Report:
    """Read a sequence file (or take a :class:`Dataset`) and report every problem found.

    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "seed.json")
    >>> _ = open(path, "w").write(json.dumps([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10]]]))
    >>> report = inspect(path)
    >>> report.ok, report.codes(), report.stats.input_shape
    (True, ['ragged-length'], (3, 2))
    """
    dataset = (
        source
        if isinstance(source, Dataset)
        else read(source, labels=labels, allow_pickle=allow_pickle, table=table)
    )
    return diagnose(dataset, strict=strict)


def diagnose(dataset: Dataset, *, strict: bool = False, options: PadOptions = DEFAULTS) -> Report:
    """Run every check on an already-read dataset, to be padded with ``options``."""
    problems = run_checks(dataset, options)
    collides = any(p.code == "pad-collision" for p in problems)
    report = Report(stats(dataset, options.value, collides), tuple(problems), dataset.notes, strict)
    return replace(report, next_command=next_command(dataset, report))


def next_command(dataset: Dataset, report: Report) -> str | None:
    """What to run next: pad when the lengths differ, else train; None while there are errors."""
    if report.errors:
        return None
    codes = report.codes()
    if "ragged-length" in codes:
        maxlen = "p95" if "length-outlier" in codes else None
        return advice.pad_command(dataset, PadOptions(maxlen=maxlen))
    return advice.train_command(dataset.path, dataset)


# --- stats ---------------------------------------------------------------------------------------


def stats(dataset: Dataset, value: float = PadOptions.value, collides: bool = False) -> Stats:
    """Lengths, sizes and the Keras arguments that fit the data padded to its longest sequence.

    ``collides``: real timesteps equal the pad ``value``, so the mask value must be another.
    """
    ragged = dataset.ragged
    lengths = ragged.lengths
    n, features = ragged.n_sequences, ragged.n_features
    longest = int(lengths.max()) if n else 0
    cells = n * longest
    labels = dataset.labels
    return Stats(
        file=dataset.path,
        format=dataset.format,
        sequences=n,
        features=features,
        total_timesteps=int(lengths.sum()),
        min_length=int(lengths.min()) if n else 0,
        median_length=float(np.median(lengths)) if n else 0.0,
        p95_length=percentile_length(lengths, 95),
        max_length=longest,
        dtype=dataset.dtype,
        padding_waste=round(float(1 - lengths.sum() / cells), 4) if cells else 0.0,
        padded_mb=round(cells * features * 4 / 1e6, 3),
        labels=None if labels is None else (1 if labels.ndim == 0 else len(labels)),
        label_kind=None if labels is None else label_kind(labels),
        input_shape=(longest, features),
        mask_value=free_value(ragged.values) if collides else value,
        histogram=histogram(lengths),
    )


def label_kind(labels: np.ndarray) -> str:
    """What a model would do with these labels: regression, binary, multiclass, or vectors."""
    if labels.ndim == 2:
        return "vector"
    if labels.dtype.kind in "USbiu":
        return "binary" if len(np.unique(labels)) <= 2 else "multiclass"
    if labels.dtype.kind == "f":
        return "regression"
    return "unknown"


def histogram(lengths: np.ndarray, bins: int = 10) -> tuple[tuple[int, int, int], ...]:
    """Length counts in up to ``bins`` integer ranges, each ``(from, to, count)`` inclusive.

    >>> histogram(np.array([1, 2, 2, 3, 10]), bins=3)
    ((1, 4, 4), (5, 8, 0), (9, 12, 1))
    """
    if not len(lengths):
        return ()
    lo, hi = int(lengths.min()), int(lengths.max())
    width = max(1, math.ceil((hi - lo + 1) / bins))
    edges = np.arange(lo, hi + width + 1, width)
    counts, _ = np.histogram(lengths, bins=edges)
    return tuple(
        (int(a), int(a) + width - 1, int(c)) for a, c in zip(edges[:-1], counts, strict=True)
    )
