"""``inspect``: every check that stands between a data set and a Keras LSTM, as one report.

Each check is one function of the dataset that records problems in a log; adding a check is
adding a function to ``CHECKS``. The readers have already recorded structural problems
(non-numeric values, wrong nesting, feature mismatches); these checks look at the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .readers import Dataset, read
from .report import MAX_PLACES, ProblemLog, Report, Stats

#: Padding to the longest sequence that wastes more than this share is worth a warning.
WASTE_LIMIT = 0.5
#: Padding value lstmprep pads with by default, and the mask value Keras's Masking uses.
PAD_VALUE = 0.0


def inspect(
    source: str | Path | Dataset,
    *,
    labels: str | Path | None = None,
    allow_pickle: bool = False,
    strict: bool = False,
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
        else read(source, labels=labels, allow_pickle=allow_pickle)
    )
    return diagnose(dataset, strict=strict)


def diagnose(dataset: Dataset, *, strict: bool = False) -> Report:
    """Run every check on an already-read dataset."""
    log = ProblemLog()
    log.extend(dataset.problems)
    for check in CHECKS:
        check(dataset, log)
    problems = sorted(log.problems(), key=lambda p: p.severity != "error")
    collides = any(p.code == "pad-collision" for p in problems)
    return Report(stats(dataset, collides), tuple(problems), dataset.notes, strict)


# --- the checks ----------------------------------------------------------------------------------


def check_no_sequences(dataset: Dataset, log: ProblemLog) -> None:
    ragged = dataset.ragged
    if ragged.n_sequences == 0 or not ragged.lengths.any():
        what = "no sequences" if ragged.n_sequences == 0 else "only empty sequences"
        log.add("no-sequences", f"the file holds {what}: there is nothing to pad or train on")


def check_non_finite(dataset: Dataset, log: ProblemLog) -> None:
    values = dataset.ragged.values
    bad = ~np.isfinite(values)
    if len(dataset.bad_rows):
        bad[dataset.bad_rows] = False
    count = int(np.count_nonzero(bad))
    if not count:
        return
    rows = np.flatnonzero(bad.any(axis=1))[:MAX_PLACES]
    places = _locate(dataset, rows)
    first = values[rows[0]][bad[rows[0]]][0]
    log.add_many(
        "non-finite",
        f"sequence {places[0][0]}, timestep {places[0][1]} holds {first}: one NaN or Infinity "
        "makes the loss NaN — fill or drop these values before training",
        places,
        count,
    )


def check_lengths(dataset: Dataset, log: ProblemLog) -> None:
    lengths = dataset.ragged.lengths
    usable = np.delete(lengths, dataset.broken)
    empty = np.flatnonzero(lengths == 0)
    empty = np.setdiff1d(empty, dataset.broken)
    if len(empty) and len(empty) < len(lengths):
        log.add_many(
            "empty-sequence",
            f"sequence {empty[0]} has no timesteps: a fully masked row breaks cuDNN LSTM kernels "
            "and teaches nothing — drop empty sequences",
            [(int(s), None) for s in empty[:MAX_PLACES]],
            len(empty),
        )
    if len(usable) and usable.min() != usable.max():
        longest = int(np.argmax(lengths))
        log.add(
            "ragged-length",
            f"lengths range from {usable.min()} to {usable.max()} timesteps: pad them to one "
            f"length with `lstmprep pad {Path(dataset.path).name} -o padded.npz`",
            longest,
        )
        waste = 1 - lengths.sum() / (len(lengths) * usable.max())
        p95 = _percentile_length(usable, 95)
        if waste > WASTE_LIMIT and p95 < usable.max():
            waste95 = 1 - np.minimum(lengths, p95).sum() / (len(lengths) * p95)
            cut = int(np.count_nonzero(lengths > p95))
            log.add(
                "length-outlier",
                f"padding to the longest ({usable.max()}) makes {waste:.0%} of the tensor padding; "
                f"--maxlen p95 ({p95}) would waste {waste95:.0%} and truncate {cut} sequences",
                longest,
            )


def check_pad_collision(dataset: Dataset, log: ProblemLog) -> None:
    values = dataset.ragged.values
    if not values.shape[1]:
        return
    hits = (values == PAD_VALUE).all(axis=1)
    if len(dataset.bad_rows):
        hits[dataset.bad_rows] = False
    count = int(np.count_nonzero(hits))
    if not count:
        return
    places = _locate(dataset, np.flatnonzero(hits)[:MAX_PLACES])
    log.add_many(
        "pad-collision",
        f"sequence {places[0][0]}, timestep {places[0][1]} is a real timestep whose features are "
        f"all {PAD_VALUE}: Masking(mask_value={PAD_VALUE}) would drop it as padding — mask from "
        f"the lengths (lstmprep train does) or pad with --value {_free_value(values)}",
        places,
        count,
    )


def check_labels(dataset: Dataset, log: ProblemLog) -> None:
    labels, n = dataset.labels, dataset.ragged.n_sequences
    if labels is None:
        return
    if labels.ndim == 0 or len(labels) != n:
        count = 1 if labels.ndim == 0 else len(labels)
        log.add(
            "label-mismatch",
            f"{count} labels for {n} sequences: give exactly one label per sequence",
        )
        return
    if labels.ndim > 2:
        log.add(
            "label-mismatch",
            f"labels have shape {labels.shape}: one number, class or vector per sequence is needed",
        )
    elif labels.dtype == object:
        odd = next((i for i, v in enumerate(labels) if not _plain_label(v)), 0)
        log.add(
            "label-mismatch",
            f"label {odd} is {labels[odd]!r}: labels must all be numbers, or all class names, "
            "or all vectors of one length",
            odd,
        )
    elif labels.dtype.kind in "fc" and not np.isfinite(labels).all():
        bad = np.flatnonzero(~np.isfinite(labels).reshape(len(labels), -1).all(axis=1))
        log.add(
            "non-finite",
            f"the label of sequence {bad[0]} is {labels[bad[0]]}: a NaN label makes the loss NaN",
            int(bad[0]),
            count=len(bad),
        )


CHECKS: list[Callable[[Dataset, ProblemLog], None]] = [
    check_no_sequences,
    check_non_finite,
    check_lengths,
    check_pad_collision,
    check_labels,
]


# --- stats ---------------------------------------------------------------------------------------


def stats(dataset: Dataset, collides: bool = False) -> Stats:
    """Lengths, sizes and the Keras arguments that fit the data padded to its longest sequence.

    ``collides``: real timesteps equal the pad value, so the mask value must be another.
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
        p95_length=_percentile_length(lengths, 95) if n else 0,
        max_length=longest,
        dtype=dataset.dtype,
        padding_waste=round(float(1 - lengths.sum() / cells), 4) if cells else 0.0,
        padded_mb=round(cells * features * 4 / 1e6, 3),
        labels=None if labels is None else (1 if labels.ndim == 0 else len(labels)),
        label_kind=None if labels is None else label_kind(labels),
        input_shape=(longest, features),
        mask_value=_free_value(ragged.values) if collides else PAD_VALUE,
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


def _plain_label(v: object) -> bool:
    return isinstance(v, (int, float, str)) and not isinstance(v, bool)


def _percentile_length(lengths: np.ndarray, q: float) -> int:
    return int(math.ceil(np.percentile(lengths, q))) if len(lengths) else 0


def _locate(dataset: Dataset, rows: np.ndarray) -> list[tuple[int | None, int | None]]:
    """(sequence, timestep) of each flat row."""
    offsets = dataset.ragged.offsets
    sequences = np.searchsorted(offsets, rows, side="right") - 1
    return [(int(s), int(r - offsets[s])) for s, r in zip(sequences, rows, strict=True)]


def _free_value(values: np.ndarray) -> float:
    """A pad value no real timestep can equal: below every value in the data."""
    finite = values[np.isfinite(values)]
    return float(math.floor(finite.min()) - 1) if finite.size else -1.0
