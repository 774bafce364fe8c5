"""Every check between a dataset and a Keras LSTM, in one list.

``inspect`` runs them all; ``pad`` and ``train`` run the same list and refuse the data when it
reports an error, so neither can refuse what ``inspect`` passed. A check is a function of the
dataset, the log and pad's options; adding one is adding a function to ``CHECKS``.

The log remembers which rows and sequences have been reported (by the reader or an earlier
check), so that no check has to know about another: :meth:`CheckLog.fresh_rows` keeps the
rows nobody has reported yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from . import advice, tokens
from .dataset import Dataset
from .options import (
    DEFAULTS,
    PadOptions,
    bucket_of,
    least_padding_boundaries,
    percentile_length,
)
from .padding import first_loss
from .report import MAX_PLACES, Problem, ProblemLog

#: Padding to the longest sequence that wastes more than this share is worth a warning.
WASTE_LIMIT = 0.5
#: Sequences longer than this (median), and no more of them than FEW_SEQUENCES, are better cut
#: into windows (lstmprep window) of WINDOW_LENGTH steps, every WINDOW_STRIDE steps.
LONG_STEPS, FEW_SEQUENCES, WINDOW_LENGTH, WINDOW_STRIDE = 1000, 100, 100, 50
#: The buckets the length-outlier advice suggests (when they halve the padding at least).
BUCKETS = 4

Place = tuple[int | None, int | None]


class CheckLog(ProblemLog):
    """A problem log that also records which rows and sequences were reported."""

    def __init__(self, dataset: Dataset):
        super().__init__()
        self.extend(dataset.problems)
        self.rows = np.zeros(len(dataset.ragged.values), dtype=bool)
        self.rows[dataset.reported.rows] = True
        self.sequences = np.zeros(len(dataset.ragged), dtype=bool)
        self.sequences[dataset.reported.sequences] = True

    def fresh_rows(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` (over the flat rows) without the rows reported already; now they are."""
        fresh = mask & ~self.rows
        self.rows |= fresh
        return fresh


Check = Callable[[Dataset, CheckLog, PadOptions], None]


def run_checks(dataset: Dataset, options: PadOptions = DEFAULTS) -> list[Problem]:
    """Every problem with ``dataset`` (padded with ``options``), errors first."""
    log = CheckLog(dataset)
    for check in CHECKS:
        check(dataset, log, options)
    problems = sorted(log.problems(), key=lambda p: p.severity != "error")
    return [_with_files(p, dataset) for p in problems] if dataset.file_of is not None else problems


# --- the checks ----------------------------------------------------------------------------------


def check_no_sequences(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    ragged = dataset.ragged
    if ragged.n_sequences == 0 or not ragged.lengths.any():
        what = "no sequences" if ragged.n_sequences == 0 else "only empty sequences"
        log.add("no-sequences", f"the file holds {what}: there is nothing to pad or train on")


def check_non_finite(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    values = dataset.ragged.values
    bad = log.fresh_rows(~np.isfinite(values).all(axis=1))
    rows = np.flatnonzero(bad)
    if not len(rows):
        return
    count = int(np.count_nonzero(~np.isfinite(values[rows])))
    places = locate(dataset, rows[:MAX_PLACES])
    first = values[rows[0]][~np.isfinite(values[rows[0]])][0]
    log.add_many(
        "non-finite",
        f"{_at(dataset, places[0])} holds {first}: one NaN or Infinity makes the loss NaN — "
        "fill or drop these values before training",
        places,
        count,
    )


def check_cast(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    """Values that ``--dtype`` (float32 unless told) would change: too large, fractions…"""
    if options.allow_lossy:
        return
    values = dataset.ragged.values
    kept = np.flatnonzero(~log.rows)
    dtype = tokens.output_dtype(dataset, options)
    loss = first_loss(values if len(kept) == len(values) else values[kept], dtype)
    if loss is None:
        return
    (row, column), problem = loss
    row = int(kept[row])
    place = locate(dataset, np.array([row]))[0]
    wider = ("int64" if dataset.kind == "tokens" else "float64") if dtype[-2:] != "64" else None
    fix = f"pad with --dtype {wider}, " if wider and "too large" in problem else ""
    log.fresh_rows(np.arange(len(values)) == row)
    log.add(
        "lossy-cast",
        f"{_at(dataset, place)}, feature {column} is {float(values[row, column])!r}: it "
        f"{problem} — {fix}scale the values, or pass --allow-lossy to cast anyway",
        *place,
    )


def check_tokens(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    """Token ids: one whole number from 0 per timestep, 0 free for padding, an id to pad with."""
    if dataset.kind != "tokens":
        return
    values = dataset.ragged.values
    as_values = advice.inspect_command(replace(dataset, kind_option="values"))
    if values.shape[1] != 1:
        log.add(
            "bad-token",
            f"token ids are one number per timestep, but these timesteps have {values.shape[1]} "
            f"features: read them as numbers, `{as_values}`",
        )
        return
    if not tokens.is_id(np.array(options.value)):
        log.add(
            "bad-token",
            f"--value {options.value:g} cannot pad token ids (an Embedding takes ids from 0): "
            f"pad with 0, or with an id no sequence uses: "
            f"`{advice.pad_command(dataset, _with(options, value=tokens.free_id(values)))}`",
        )
    column = values[:, 0]
    bad = np.flatnonzero(log.fresh_rows(~tokens.is_id(column)))
    if len(bad):
        first = column[bad[0]]
        why = (
            "negative"
            if first < 0
            else "not a whole number"
            if first != np.trunc(first)
            else "2**53 or more: float64 holds whole numbers exactly only below 2**53, so "
            "lstmprep takes no larger ids"
        )
        places = locate(dataset, bad[:MAX_PLACES])
        log.add_many(
            "bad-token",
            f"{_at(dataset, places[0])} is {tokens.id_text(first)}, which is {why}: token ids are "
            f"whole numbers from 0 — fix the ids, or read the data as numbers, `{as_values}`",
            places,
            len(bad),
        )
    if options.value != 0:
        return
    zeros = np.flatnonzero((column == 0) & ~log.rows)
    if len(zeros):
        places = locate(dataset, zeros[:MAX_PLACES])
        other = advice.pad_command(dataset, _with(options, value=tokens.free_id(values)))
        log.add_many(
            "zero-token",
            f"{_at(dataset, places[0])} is id 0, a real token, but 0 is the padding too, which "
            "Embedding(mask_zero=True) masks: shift every id up by one (ids + 1), or pad with an "
            f"id no sequence uses and mask from the lengths (lstmprep train does): `{other}`",
            places,
            len(zeros),
        )


def check_lengths(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    lengths = dataset.ragged.lengths
    usable = lengths[~log.sequences]
    empty = np.flatnonzero((lengths == 0) & ~log.sequences)
    if len(empty) and len(empty) < len(lengths):
        log.add_many(
            "empty-sequence",
            f"sequence {empty[0]} has no timesteps: a fully masked row breaks cuDNN LSTM kernels "
            "and teaches nothing — drop empty sequences",
            [(int(s), None) for s in empty[:MAX_PLACES]],
            len(empty),
        )
    if not len(usable) or usable.min() == usable.max() or dataset.meta is not None:
        return  # one length, or pad's own output: padded already
    longest = int(np.argmax(lengths))
    log.add(
        "ragged-length",
        f"lengths range from {usable.min()} to {usable.max()} timesteps: pad them to one "
        f"length with `{advice.pad_command(dataset, options)}`",
        longest,
    )
    if options.maxlen is not None or options.bucketed:
        return  # the user chose the length (or the buckets) already
    waste = 1 - lengths.sum() / (len(lengths) * usable.max())
    if waste <= WASTE_LIMIT:
        return
    p95 = percentile_length(usable, 95)
    fixes = []
    if p95 < usable.max():
        waste95 = 1 - np.minimum(lengths, p95).sum() / (len(lengths) * p95)
        cut = int(np.count_nonzero(lengths > p95))
        shorter = advice.pad_command(dataset, _with(options, maxlen="p95"))
        fixes.append(
            f"--maxlen p95 ({p95}) would waste {waste95:.0%} and truncate {cut} sequences: "
            f"`{shorter}`"
        )
    bucketed = bucket_waste(lengths, BUCKETS)
    if bucketed <= waste / 2:
        buckets = advice.pad_command(dataset, _with(options, buckets=BUCKETS))
        fixes.append(
            f"{BUCKETS} length buckets would waste {bucketed:.0%} and truncate nothing: `{buckets}`"
        )
    if fixes:
        log.add(
            "length-outlier",
            f"padding to the longest ({usable.max()}) makes {waste:.0%} of the tensor padding; "
            + " or ".join(fixes),
            longest,
        )


def check_long_sequences(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    """A few very long sequences: an LSTM learns poorly over them, windows give it samples."""
    lengths = dataset.ragged.lengths[~log.sequences]
    if not len(lengths) or len(lengths) > FEW_SEQUENCES:
        return
    median = float(np.median(lengths))
    if median <= LONG_STEPS:
        return
    window = advice.window_command(dataset, WINDOW_LENGTH, WINDOW_STRIDE)
    log.add(
        "long-sequences",
        f"{len(lengths)} sequence(s) of {median:,.0f} steps (median): an LSTM learns poorly "
        f"over more than {LONG_STEPS:,} steps, and {len(lengths)} is few samples — cut them "
        f"into windows of {WINDOW_LENGTH} steps: `{window}`",
        int(np.argmax(dataset.ragged.lengths)),
    )


def bucket_waste(lengths: np.ndarray, k: int) -> float:
    """The padding share of ``pad --buckets k`` on these lengths.

    >>> round(bucket_waste(np.array([1, 1, 10, 10]), 2), 2)
    0.0
    """
    boundaries = least_padding_boundaries(lengths, k)
    buckets = bucket_of(lengths, boundaries)
    widths = np.zeros(len(boundaries) + 1, dtype=np.int64)
    np.maximum.at(widths, buckets, lengths)
    cells = int(widths[buckets].sum())
    return float(1 - lengths.sum() / cells) if cells else 0.0


def check_pad_collision(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    values = dataset.ragged.values
    ids = dataset.kind == "tokens"
    if not values.shape[1] or (ids and options.value == 0):  # zero-token says it for ids
        return
    hits = (values == options.value).all(axis=1) & ~log.rows
    count = int(np.count_nonzero(hits))
    if not count:
        return
    places = locate(dataset, np.flatnonzero(hits)[:MAX_PLACES])
    free = tokens.free_id(values) if ids else free_value(values)
    other = advice.pad_command(dataset, _with(options, value=free))
    log.add_many(
        "pad-collision",
        f"{_at(dataset, places[0])} is a real timestep whose features are all {options.value:g}: "
        f"Masking(mask_value={options.value:g}) would drop it as padding — mask from the "
        f"lengths (lstmprep train does) or pad with another value: `{other}`",
        places,
        count,
    )


def check_labels(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    labels, n = dataset.labels, dataset.ragged.n_sequences
    if labels is None:
        return
    if labels.ndim == 0 or len(labels) != n:
        count = 1 if labels.ndim == 0 else len(labels)
        log.add(
            "label-mismatch",
            f"{count} labels for {n} sequences: give exactly one label per sequence",
        )
    elif labels.ndim > 2:
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
    elif labels.ndim == 2 and labels.dtype.kind not in "biuf":
        log.add(
            "label-mismatch",
            f"labels are {labels.shape[1]} {labels.dtype} values per sequence: a vector label "
            "must be numbers (for one class name per sequence, give one label per sequence)",
        )
    elif labels.dtype.kind not in "biufUS":
        log.add(
            "label-mismatch",
            f"labels of type {labels.dtype} cannot be learned: give numbers or class names",
        )
    elif labels.dtype.kind == "f" and not np.isfinite(labels).all():
        bad = np.flatnonzero(~np.isfinite(labels).reshape(len(labels), -1).all(axis=1))
        log.add(
            "non-finite",
            f"the label of sequence {bad[0]} is {labels[bad[0]]}: a NaN label makes the loss NaN",
            int(bad[0]),
            count=len(bad),
        )


def check_trainable(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    """Without labels, train predicts each sequence's last timestep: it needs two."""
    lengths = dataset.ragged.lengths
    if dataset.labels is not None or not lengths.any() or (lengths >= 2).any():
        return
    log.add(
        "too-short",
        "no sequence has two timesteps and there are no labels: lstmprep train would learn to "
        "predict each sequence's last timestep from the ones before, which needs two — give "
        "labels with --labels FILE",
    )


def check_layout(dataset: Dataset, log: CheckLog, options: PadOptions) -> None:
    """Sequences all of one length with more features than timesteps: maybe transposed."""
    lengths, features = dataset.ragged.lengths, dataset.ragged.n_features
    if dataset.channels_first or dataset.meta is not None or not len(lengths):
        return
    length = int(lengths[0])
    if not 2 <= length < features or (lengths != length).any():
        return
    log.add(
        "maybe-channels-first",
        f"every sequence is {length} timesteps of {features} features — more features than "
        f"timesteps: if each sample is stored (features, timesteps), as aeon, sktime and "
        f"PyTorch's Conv1d keep them, it is {features} timesteps of {length} features; read "
        "it so with --channels-first",
    )


CHECKS: list[Check] = [
    check_no_sequences,
    check_layout,
    check_non_finite,
    check_tokens,
    check_cast,
    check_lengths,
    check_long_sequences,
    check_pad_collision,
    check_labels,
    check_trainable,
]


# --- helpers -------------------------------------------------------------------------------------


def locate(dataset: Dataset, rows: np.ndarray) -> list[Place]:
    """(sequence, timestep) of each flat row."""
    offsets = dataset.ragged.offsets
    sequences = np.searchsorted(offsets, rows, side="right") - 1
    return [(int(s), int(r - offsets[s])) for s, r in zip(sequences, rows, strict=True)]


def _with_files(problem: Problem, dataset: Dataset) -> Problem:
    """Each place with the name of the file its sequence came from."""
    from dataclasses import replace

    places = tuple(
        replace(p, file=dataset.file_name(p.sequence)) if p.sequence is not None else p
        for p in problem.places
    )
    return replace(problem, places=places)


def free_value(values: np.ndarray) -> float:
    """A pad value no real timestep can equal: below every value in the data."""
    finite = values[np.isfinite(values)]
    return float(math.floor(finite.min()) - 1) if finite.size else -1.0


def _at(dataset: Dataset, place: Place) -> str:
    sequence, timestep = place
    return f"{dataset.where(sequence or 0)}, timestep {timestep}"


def _with(options: PadOptions, **changes: object) -> PadOptions:
    return replace(options, **changes)  # type: ignore[arg-type]


def _plain_label(v: object) -> bool:
    return isinstance(v, (int, float, str)) and not isinstance(v, bool)
