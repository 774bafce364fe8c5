"""``inspect``: read a file, run every check (:mod:`lstmprep.checks`), and describe the data.

The result is a :class:`~lstmprep.report.Report` value: the problems, the stats (lengths,
sizes, the Keras arguments that fit) and the command to run next.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import advice, checks, tokens
from .checks import WINDOW_LENGTH, WINDOW_STRIDE
from .dataset import Dataset
from .errors import LstmprepError
from .options import DEFAULTS, PadOptions, checking_options, percentile_length
from .readers import ReadOptions, Source, files_of, positions, read
from .report import Place, Problem, Report, Stats
from .target import classes_of, task_of


def inspect(
    source: Source | Dataset,
    reading: ReadOptions | None = None,
    *,
    strict: bool = False,
    progress: Callable[[str, int, int], None] = lambda phase, done, total: None,
    **changes: Any,
) -> Report:
    """Read sequences (or take a :class:`Dataset`) and report every problem found.

    ``source``, ``reading`` and ``changes`` are :func:`~lstmprep.read`'s: a file, several, a
    folder, a glob, read with :class:`~lstmprep.readers.ReadOptions` (``labels=…``).

    Input larger than the memory budget is read in chunks (:mod:`lstmprep.streaming`), with
    the same report; ``progress(phase, done, total)`` then says how many bytes are read.

    ``kind``: "tokens" or "values" (see :mod:`lstmprep.tokens`); by default the data decides.

    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "seed.json")
    >>> _ = open(path, "w").write(json.dumps([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10]]]))
    >>> report = inspect(path)
    >>> report.ok, report.codes(), report.stats.input_shape
    (True, ['ragged-length'], (3, 2))
    """
    reading = ReadOptions.of(reading, **changes)
    if not isinstance(source, Dataset):  # larger than the memory budget: read in chunks
        from .streaming import inspect_stream

        streamed = inspect_stream(source, reading, strict=strict, progress=progress)
        if streamed is not None:
            return streamed
    dataset = (
        tokens.with_kind(source, reading.kind)
        if isinstance(source, Dataset)
        else read(source, reading)
    )
    return diagnose(dataset, strict=strict, options=checking_options(dataset.meta), locate=True)


def inspect_each(
    sources: Source,
    reading: ReadOptions | None = None,
    *,
    strict: bool = False,
    **changes: Any,
) -> list[Report]:
    """Inspect each file on its own: one report per file, in order.

    Folders and globs stand for their files (in natural order, formats may mix); each file is
    read and checked as a dataset of its own — unlike :func:`inspect`, which reads several
    files as shards of one dataset. A file that cannot be read is a report too, with one
    ``unreadable`` error (:func:`unreadable`), and the others are still checked.

    >>> import json, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "a.json"), "w").write("[[[1], [2]], [[3], [4]]]")
    >>> _ = open(os.path.join(folder, "b.json"), "w").write("[[[1], [2]], [[3], [4]]")
    >>> [(os.path.basename(r.file), r.ok, r.codes()) for r in inspect_each(folder)]
    [('a.json', True, []), ('b.json', False, ['unreadable'])]
    """
    reading = ReadOptions.of(reading, **changes)
    reports = []
    for source in [sources] if isinstance(sources, (str, Path)) else list(sources):
        try:
            paths = files_of(source, one_format=False)
        except LstmprepError as e:
            reports.append(unreadable(e, str(source)))
            continue
        for path in paths:
            try:
                dataset = read(path, reading)
            except (LstmprepError, RecursionError) as e:
                reports.append(unreadable(e, str(path)))
                continue
            options = checking_options(dataset.meta)
            reports.append(diagnose(dataset, strict=strict, options=options, locate=True))
    return reports


def unreadable(error: LstmprepError | RecursionError, path: str) -> Report:
    """The report of a file that cannot be read: no stats, one ``unreadable`` error at the
    file (and the line and column, where the reader knew them)."""
    if isinstance(error, LstmprepError):
        message = error.message + (f"; fix: {error.hint}" if error.hint else "")
        line, column = error.line, error.column
        path = error.path or path
    else:
        message, line, column = "nested too deeply to be read", None, None
    place = Place(line=line, column=column, path=path)
    return Report(None, (Problem("unreadable", message, (place,)),))


def diagnose(
    dataset: Dataset,
    *,
    strict: bool = False,
    options: PadOptions = DEFAULTS,
    locate: bool | None = None,
) -> Report:
    """Run every check on an already-read dataset, to be padded with ``options``.

    ``locate``: give each place its line and column in the file (:mod:`.readers.positions`;
    for JSON that reads the file again, as far as the last place). By default only when
    there are errors, so that data which passes costs nothing more.
    """
    summary = checks.scan(dataset, options)
    return report_of(summary, dataset, strict=strict, options=options, locate=locate)


def report_of(
    summary: checks.Summary,
    dataset: Dataset,
    *,
    strict: bool = False,
    options: PadOptions = DEFAULTS,
    locate: bool | None = None,
) -> Report:
    """The report of data checked in chunks (:func:`lstmprep.checks.scan`, merged):
    ``dataset`` is the whole data in memory, or its outline (:func:`lstmprep.checks.outline`).
    """
    problems = checks.finish(summary, dataset, options)
    if locate or (locate is None and any(p.severity == "error" for p in problems)):
        problems = positions.locate(dataset, problems)
    collides = any(p.code in ("pad-collision", "zero-token") for p in problems)
    described = stats(dataset, options.value, collides, summary.facts)
    report = Report(described, tuple(problems), dataset.notes, strict)
    return replace(report, next_command=next_command(dataset, report))


def next_command(dataset: Dataset, report: Report) -> str | None:
    """What to run next: window when sequences are few and long, pad when the lengths differ,
    else train; None while there are errors."""
    if report.errors or report.stats is None:
        return None
    codes = report.codes()
    if "long-sequences" in codes:
        return advice.window_command(dataset, WINDOW_LENGTH, WINDOW_STRIDE)
    if "ragged-length" in codes:
        maxlen = "p95" if "length-outlier" in codes else None
        value = report.stats.mask_value  # another than 0 when real timesteps are all 0
        return advice.pad_command(dataset, PadOptions(maxlen=maxlen, value=value))
    return advice.train_command(dataset.path, dataset)


# --- stats ---------------------------------------------------------------------------------------


def stats(
    dataset: Dataset,
    value: float = PadOptions.value,
    collides: bool = False,
    facts: checks.Facts | None = None,
) -> Stats:
    """Lengths, sizes and the Keras arguments that fit the data padded to its longest sequence.

    ``collides``: real timesteps equal the pad ``value``, so the mask value must be another.
    ``facts``: what the checks learnt of the values (by default, learnt from ``dataset``).
    """
    if facts is None:
        facts = checks.scan(dataset).facts
    ragged = dataset.ragged
    lengths = ragged.lengths
    n, features = ragged.n_sequences, facts.features
    longest = int(lengths.max()) if n else 0
    cells = n * longest
    labels = dataset.labels
    ids: dict = {"kind": "tokens"} if dataset.kind == "tokens" else {}
    if dataset.kind == "tokens" and features == 1:
        vocabulary = facts.vocabulary_size(value)
        mask_zero = value == 0 and not collides
        ids = dict(
            kind="tokens",
            vocabulary_size=vocabulary,
            distinct_ids=len(facts.ids),
            zero_id=facts.zero,
            embedding=tokens.embedding(vocabulary, mask_zero),
            input_shape=(longest,),
            mask_value=float(facts.free_id()) if collides else value,
        )
    itemsize = 8 if tokens.id_dtype(ids.get("vocabulary_size", 0)) == "int64" else 4
    described = Stats(
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
        padded_mb=round(cells * features * itemsize / 1e6, 3),
        labels=None if labels is None else (1 if labels.ndim == 0 else len(labels)),
        label_kind=None if labels is None else label_kind(labels),
        input_shape=(longest, features),
        mask_value=facts.free_value() if collides else value,
        histogram=histogram(lengths),
        task=None if labels is None else task_of(labels),
        classes=classes(labels),
    )
    return replace(described, **ids)


def classes(labels: np.ndarray | None) -> tuple | None:
    """The class names in index order, when the labels are classes."""
    if labels is None or task_of(labels) not in ("binary", "multiclass"):
        return None
    return classes_of(labels)


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
