"""Every check between a dataset and a Keras LSTM, in one list — run on the data in chunks.

``inspect`` runs them all; ``pad`` and ``train`` run the same list and refuse the data when it
reports an error, so neither can refuse what ``inspect`` passed.

The data may come in **chunks** (consecutive sequences, each a :class:`Dataset`, read a part
at a time when the whole does not fit in memory, or by Dask workers): :func:`scan` looks at one
chunk's rows and returns a small :class:`Summary` — the lengths and labels, each row check's
first places (with global sequence numbers) and counts, and the facts about the values the
messages need (the smallest finite value, the largest token id, the distinct ids…).
Summaries :meth:`~Summary.merge` in sequence order (associatively), and :func:`finish` runs
the checks of the whole data (lengths, layout, labels…) on the merged lengths and labels and
words every message. Data in memory is one chunk: :func:`run_checks` is ``finish(scan(...))``,
so there is one implementation of each check, and the chunked report equals the in-memory one.

A check is a :class:`Check`: an optional ``scan`` of a chunk's rows, which records what it
found (:class:`Found`), and a ``report`` on the whole data, which adds the problems. Adding a
check is adding one to ``CHECKS`` (+ a code in :data:`lstmprep.report.CODES`). Within a chunk,
:class:`CheckLog` remembers which rows have been reported (by the reader or an earlier check),
so that no check has to know about another: :meth:`CheckLog.fresh_rows` keeps the rows nobody
has reported yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import reduce

import numpy as np

from . import advice, tokens
from .dataset import Dataset, Reported
from .options import (
    DEFAULTS,
    PadOptions,
    bucket_of,
    least_padding_boundaries,
    percentile_length,
)
from .padding import ranked_loss
from .ragged import Ragged
from .report import CODES, MAX_PLACES, Problem, ProblemLog

#: Padding to the longest sequence that wastes more than this share is worth a warning.
WASTE_LIMIT = 0.5
#: Sequences longer than this (median), and no more of them than FEW_SEQUENCES, are better cut
#: into windows (lstmprep window) of WINDOW_LENGTH steps, every WINDOW_STRIDE steps.
LONG_STEPS, FEW_SEQUENCES, WINDOW_LENGTH, WINDOW_STRIDE = 1000, 100, 100, 50
#: The buckets the length-outlier advice suggests (when they halve the padding at least).
BUCKETS = 4

Place = tuple[int | None, int | None]


# --- what a chunk's scan finds, and merging it ---------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What a row check found in a chunk (or in several, merged): the first places (global
    sequence numbers), how many in all, and ``first``, the facts of the first one that its
    message needs.

    A finding with a ``rank`` is one place only (the first lossy cast): merged, the one of the
    lowest rank wins, then the earlier.
    """

    places: tuple[Place, ...]
    count: int
    first: tuple = ()
    rank: int | None = None

    def merge(self, later: Found) -> Found:
        if self.rank is not None and later.rank is not None:
            return self if self.rank <= later.rank else later
        places = (self.places + later.places)[:MAX_PLACES]
        return Found(places, self.count + later.count, self.first)


@dataclass(frozen=True)
class Facts:
    """What the messages and stats need to know about all the values, merged chunk by chunk.

    ``ids`` are the distinct token ids (univariate data only; for data not read as ids, the
    smallest :data:`tokens.MIN_DISTINCT` of them, enough to tell ids from values).
    """

    rows: int = 0
    features: int = 1
    #: the smallest finite value (for a pad value below every value), None when there is none
    finite_min: float | None = None
    #: the largest token id (whole numbers from 0), -1 when there is none
    max_id: float = -1.0
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    zero: bool = False
    #: the rows the reader could read: how many, whether all are ids, their largest value
    readable: int = 0
    all_ids: bool = True
    readable_max: float = -math.inf

    @classmethod
    def of(cls, chunk: Dataset, skip: np.ndarray) -> Facts:
        values = chunk.ragged.values
        lowest = values.min() if values.size else None
        if lowest is not None and not np.isfinite(lowest):  # a NaN or -inf: look closer
            finite = values[np.isfinite(values)]
            lowest = finite.min() if finite.size else None
        facts = cls(
            rows=len(values),
            features=values.shape[1],
            finite_min=None if lowest is None else float(lowest),
        )
        if values.shape[1] != 1:
            if chunk.kind != "tokens":
                return facts
            ids = values[tokens.is_id(values)]  # token ids with several features: an error
            return replace(facts, max_id=float(ids.max()) if ids.size else -1.0)
        column = values[:, 0]
        is_id = tokens.is_id(column)
        ids = column[is_id]
        unique = tokens.unique(ids)
        readable = column[~skip]
        return replace(
            facts,
            max_id=float(ids.max()) if ids.size else -1.0,
            ids=unique if chunk.kind == "tokens" else unique[: tokens.MIN_DISTINCT],
            zero=bool((column == 0).any()),
            readable=len(readable),
            all_ids=bool(is_id[~skip].all()),
            readable_max=float(readable.max()) if readable.size else -math.inf,
        )

    def merge(self, later: Facts) -> Facts:
        mins = [m for m in (self.finite_min, later.finite_min) if m is not None]
        ids = np.union1d(self.ids, later.ids)
        return Facts(
            rows=self.rows + later.rows,
            features=self.features if self.rows or not later.rows else later.features,
            finite_min=min(mins) if mins else None,
            max_id=max(self.max_id, later.max_id),
            ids=ids,
            zero=self.zero or later.zero,
            readable=self.readable + later.readable,
            all_ids=self.all_ids and later.all_ids,
            readable_max=max(self.readable_max, later.readable_max),
        )

    def kind(self) -> str:
        """``"tokens"`` or ``"values"``: :func:`tokens.detect`'s rule on the merged facts."""
        return tokens.detect_from(
            self.features, self.readable, self.all_ids, self.readable_max, len(self.ids)
        )

    def free_value(self) -> float:
        """A pad value no real timestep can equal: below every value in the data."""
        return float(math.floor(self.finite_min) - 1) if self.finite_min is not None else -1.0

    def vocabulary_size(self, pad_value: float = 0.0) -> int:
        """``input_dim`` for an Embedding of these ids padded with ``pad_value``."""
        largest = self.max_id
        if tokens.is_id(np.array(pad_value)):
            largest = max(largest, float(pad_value))
        return int(largest) + 1

    def free_id(self) -> int:
        """An id no sequence uses, to pad with: one past the largest."""
        return self.vocabulary_size(-1)


@dataclass(frozen=True, eq=False)
class Summary:
    """What :func:`scan` keeps of a chunk (or of consecutive chunks, merged): small, picklable,
    its size proportional to the number of sequences."""

    #: the global number of the first sequence
    start: int
    lengths: np.ndarray
    #: the chunks' labels, when the chunks carry them (None: the labels come from elsewhere)
    labels: tuple[np.ndarray, ...] | None
    #: sequences the reader reported already (global numbers)
    reported: np.ndarray
    #: the readers' problems (global places), grouped
    problems: tuple[Problem, ...]
    #: each row check's findings, by name
    found: dict[str, Found]
    facts: Facts
    #: per-sequence arrays the chunks carry (``lines``, ``ids``, ``file_of``), concatenated
    columns: dict[str, np.ndarray]

    @property
    def end(self) -> int:
        return self.start + len(self.lengths)

    def merge(self, later: Summary) -> Summary:
        """This summary followed by ``later``, the chunk(s) right after it."""
        if later.start != self.end:
            raise ValueError(
                f"chunks merge in order: the next starts at sequence {later.start}, not {self.end}"
            )
        log = ProblemLog()
        log.extend(self.problems)
        log.extend(later.problems)
        found = dict(self.found)
        for name, f in later.found.items():
            found[name] = found[name].merge(f) if name in found else f
        labels = None
        if self.labels is not None or later.labels is not None:
            labels = (self.labels or ()) + (later.labels or ())
        columns = {
            k: np.concatenate([self.columns[k], later.columns[k]])
            for k in self.columns
            if k in later.columns
        }
        return Summary(
            self.start,
            np.concatenate([self.lengths, later.lengths]),
            labels,
            np.concatenate([self.reported, later.reported]),
            tuple(log.problems()),
            found,
            self.facts.merge(later.facts),
            columns,
        )


def merge(summaries: Iterable[Summary]) -> Summary:
    """Consecutive chunks' summaries, merged in order."""
    return reduce(Summary.merge, summaries)


class CheckLog:
    """The rows of a chunk reported already (by the reader or an earlier check)."""

    def __init__(self, chunk: Dataset):
        self.rows = np.zeros(len(chunk.ragged.values), dtype=bool)
        self.rows[chunk.reported.rows] = True

    def fresh_rows(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` (over the flat rows) without the rows reported already; now they are."""
        fresh = mask & ~self.rows
        self.rows |= fresh
        return fresh


#: the per-sequence arrays of a Dataset that a summary carries through
_COLUMNS = ("lines", "ids", "file_of")


def scan(chunk: Dataset, options: PadOptions = DEFAULTS, start: int = 0) -> Summary:
    """Run every row check on one chunk whose first sequence is sequence ``start`` of the data.

    The chunk's reader problems must name global places already; its ``reported`` rows and
    sequences are its own.
    """
    log = CheckLog(chunk)
    facts = Facts.of(chunk, log.rows.copy())
    found: dict[str, Found] = {}
    for check in CHECKS:
        if check.scan is not None:
            check.scan(chunk, log, options, _Finder(chunk, start, found))
    return Summary(
        start,
        chunk.ragged.lengths,
        None if chunk.labels is None else (chunk.labels,),
        chunk.reported.sequences.astype(np.int64) + start,
        chunk.problems,
        found,
        facts,
        {k: getattr(chunk, k) for k in _COLUMNS if getattr(chunk, k) is not None},
    )


class _Finder:
    """Records a row check's findings in a chunk, its rows turned into global places."""

    def __init__(self, chunk: Dataset, start: int, found: dict[str, Found]):
        self.chunk, self.start, self.found = chunk, start, found

    def __call__(
        self, name: str, rows: np.ndarray, count: int, first: tuple = (), rank: int | None = None
    ) -> None:
        if count:
            places = tuple(
                (int(s or 0) + self.start, t) for s, t in locate(self.chunk, rows[:MAX_PLACES])
            )
            self.found[name] = Found(places, count, first, rank)


Finder = Callable[..., None]


@dataclass(frozen=True, eq=False)
class Whole:
    """The whole data, as the checks of the whole see it: the dataset (its ``ragged`` holds the
    merged lengths, and the values only when the data is in memory), the problem log with the
    sequences reported already, the merged findings and facts."""

    dataset: Dataset
    log: ProblemLog
    reported: np.ndarray
    found: dict[str, Found]
    facts: Facts

    @property
    def lengths(self) -> np.ndarray:
        return self.dataset.ragged.lengths


def finish(summary: Summary, dataset: Dataset, options: PadOptions = DEFAULTS) -> list[Problem]:
    """Every problem with the data summed up in ``summary``, errors first.

    ``dataset``: the whole data in memory, or a dataset like it whose ragged holds the merged
    lengths (:func:`outline`).
    """
    log = ProblemLog()
    # the readers' problems in the order of their codes: the same however the data was cut
    order = list(CODES)
    log.extend(sorted(summary.problems, key=lambda p: order.index(p.code)))
    reported = np.zeros(len(summary.lengths), dtype=bool)
    reported[summary.reported - summary.start] = True
    whole = Whole(dataset, log, reported, summary.found, summary.facts)
    for check in CHECKS:
        check.report(whole, options)
    problems = sorted(log.problems(), key=lambda p: p.severity != "error")
    return [_with_files(p, dataset) for p in problems] if dataset.file_of is not None else problems


def outline(summary: Summary, template: Dataset) -> Dataset:
    """The dataset the chunks make together, without its values: ``template`` (the first
    chunk, or how the data was read) with the merged lengths, labels and per-sequence arrays.

    Its ``ragged.values`` is a read-only placeholder of the right shape that holds no memory:
    only the checks of the whole (which never look at values) and advice use it. The template's
    ``value_lines`` are kept (they must be the whole data's).
    """
    total = int(summary.lengths.sum())
    placeholder = np.broadcast_to(
        np.full((1, summary.facts.features), np.nan), (total, summary.facts.features)
    )
    labels = template.labels
    if summary.labels is not None:
        labels = np.concatenate(summary.labels) if summary.labels else None
    return replace(
        template,
        ragged=Ragged(placeholder, summary.lengths),
        labels=labels,
        problems=(),
        reported=Reported(np.empty(0, np.int64), summary.reported - summary.start),
        lines=summary.columns.get("lines", template.lines),
        ids=summary.columns.get("ids", template.ids),
        file_of=summary.columns.get("file_of", template.file_of),
    )


def run_checks(dataset: Dataset, options: PadOptions = DEFAULTS) -> list[Problem]:
    """Every problem with ``dataset`` (padded with ``options``), errors first: the data in
    memory is one chunk."""
    return finish(scan(dataset, options), dataset, options)


# --- the checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """``scan(chunk, log, options, find)`` looks at a chunk's rows and calls ``find(name, rows,
    count, first)`` with what it found; ``report(whole, options)`` adds the problems."""

    report: Callable[[Whole, PadOptions], None]
    scan: Callable[[Dataset, CheckLog, PadOptions, Finder], None] | None = None


def check_no_sequences(whole: Whole, options: PadOptions) -> None:
    lengths = whole.lengths
    if len(lengths) == 0 or not lengths.any():
        what = "no sequences" if len(lengths) == 0 else "only empty sequences"
        whole.log.add("no-sequences", f"the file holds {what}: there is nothing to pad or train on")


def scan_non_finite(chunk: Dataset, log: CheckLog, options: PadOptions, find: Finder) -> None:
    values = chunk.ragged.values
    if not values.size or np.isfinite(values.min()) and np.isfinite(values.max()):
        return  # every value finite (the usual case), said by two quick passes
    rows = np.flatnonzero(log.fresh_rows(~np.isfinite(values).all(axis=1)))
    if len(rows):
        count = int(np.count_nonzero(~np.isfinite(values[rows])))
        first = values[rows[0]][~np.isfinite(values[rows[0]])][0]
        find("non-finite", rows, count, (first,))


def check_non_finite(whole: Whole, options: PadOptions) -> None:
    found = whole.found.get("non-finite")
    if found is None:
        return
    (first,) = found.first
    whole.log.add_many(
        "non-finite",
        f"{_at(whole.dataset, found.places[0])} holds {first}: one NaN or Infinity makes the loss "
        "NaN — fill or drop these values before training",
        found.places,
        found.count,
    )


def scan_cast(chunk: Dataset, log: CheckLog, options: PadOptions, find: Finder) -> None:
    """Values that ``--dtype`` (float32 unless told) would change: too large, fractions…"""
    if options.allow_lossy:
        return
    values = chunk.ragged.values
    kept = np.flatnonzero(~log.rows)
    # token ids' own dtype holds every id of the chunk, so the chunk's dtype is as good as
    # the whole data's: rows that are not ids were reported already
    dtype = tokens.output_dtype(chunk, options)
    loss = ranked_loss(values if len(kept) == len(values) else values[kept], dtype)
    if loss is not None:
        (row, column), problem, rank = loss
        row = int(kept[row])
        first = (column, float(values[row, column]), problem, dtype)
        find("lossy-cast", np.array([row]), 1, first, rank)


def check_cast(whole: Whole, options: PadOptions) -> None:
    found = whole.found.get("lossy-cast")
    if found is None:
        return
    column, value, problem, dtype = found.first
    kind = whole.dataset.kind
    wider = ("int64" if kind == "tokens" else "float64") if dtype[-2:] != "64" else None
    fix = f"pad with --dtype {wider}, " if wider and "too large" in problem else ""
    place = found.places[0]
    whole.log.add(
        "lossy-cast",
        f"{_at(whole.dataset, place)}, feature {column} is {value!r}: it {problem} — {fix}scale "
        "the values, or pass --allow-lossy to cast anyway",
        *place,
    )


def scan_tokens(chunk: Dataset, log: CheckLog, options: PadOptions, find: Finder) -> None:
    values = chunk.ragged.values
    if chunk.kind != "tokens" or values.shape[1] != 1:
        return
    column = values[:, 0]
    bad = np.flatnonzero(log.fresh_rows(~tokens.is_id(column)))
    if len(bad):
        find("bad-token", bad, len(bad), (float(column[bad[0]]),))
    if options.value == 0:
        zeros = np.flatnonzero((column == 0) & ~log.rows)
        find("zero-token", zeros, len(zeros))


def check_tokens(whole: Whole, options: PadOptions) -> None:
    """Token ids: one whole number from 0 per timestep, 0 free for padding, an id to pad with."""
    dataset, log = whole.dataset, whole.log
    if dataset.kind != "tokens":
        return
    as_values = advice.inspect_command(replace(dataset, kind_option="values"))
    features = whole.facts.features
    if features != 1:
        log.add(
            "bad-token",
            f"token ids are one number per timestep, but these timesteps have {features} "
            f"features: read them as numbers, `{as_values}`",
        )
        return
    free = _with(options, value=whole.facts.free_id())
    if not tokens.is_id(np.array(options.value)):
        log.add(
            "bad-token",
            f"--value {options.value:g} cannot pad token ids (an Embedding takes ids from 0): "
            f"pad with 0, or with an id no sequence uses: `{advice.pad_command(dataset, free)}`",
        )
    bad = whole.found.get("bad-token")
    if bad is not None:
        (first,) = bad.first
        why = (
            "negative"
            if first < 0
            else "not a whole number"
            if first != np.trunc(first)
            else "2**53 or more: float64 holds whole numbers exactly only below 2**53, so "
            "lstmprep takes no larger ids"
        )
        log.add_many(
            "bad-token",
            f"{_at(dataset, bad.places[0])} is {tokens.id_text(first)}, which is {why}: token ids "
            f"are whole numbers from 0 — fix the ids, or read the data as numbers, `{as_values}`",
            bad.places,
            bad.count,
        )
    zeros = whole.found.get("zero-token")
    if zeros is not None:
        log.add_many(
            "zero-token",
            f"{_at(dataset, zeros.places[0])} is id 0, a real token, but 0 is the padding too, "
            "which Embedding(mask_zero=True) masks: shift every id up by one (ids + 1), or pad "
            "with an id no sequence uses and mask from the lengths (lstmprep train does): "
            f"`{advice.pad_command(dataset, free)}`",
            zeros.places,
            zeros.count,
        )


def check_lengths(whole: Whole, options: PadOptions) -> None:
    dataset, log, lengths = whole.dataset, whole.log, whole.lengths
    usable = lengths[~whole.reported]
    empty = np.flatnonzero((lengths == 0) & ~whole.reported)
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


def check_long_sequences(whole: Whole, options: PadOptions) -> None:
    """A few very long sequences: an LSTM learns poorly over them, windows give it samples."""
    lengths = whole.lengths[~whole.reported]
    if not len(lengths) or len(lengths) > FEW_SEQUENCES:
        return
    median = float(np.median(lengths))
    if median <= LONG_STEPS:
        return
    window = advice.window_command(whole.dataset, WINDOW_LENGTH, WINDOW_STRIDE)
    whole.log.add(
        "long-sequences",
        f"{len(lengths)} sequence(s) of {median:,.0f} steps (median): an LSTM learns poorly "
        f"over more than {LONG_STEPS:,} steps, and {len(lengths)} is few samples — cut them "
        f"into windows of {WINDOW_LENGTH} steps: `{window}`",
        int(np.argmax(whole.lengths)),
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


def scan_pad_collision(chunk: Dataset, log: CheckLog, options: PadOptions, find: Finder) -> None:
    values = chunk.ragged.values
    if not values.shape[1] or (chunk.kind == "tokens" and options.value == 0):
        return  # zero-token says it for ids
    # only rows whose first feature is the pad value can be all pad values: look at them alone
    rows = np.flatnonzero(values[:, 0] == options.value)
    rows = rows[(values[rows] == options.value).all(axis=1) & ~log.rows[rows]]
    find("pad-collision", rows, len(rows))


def check_pad_collision(whole: Whole, options: PadOptions) -> None:
    found = whole.found.get("pad-collision")
    if found is None:
        return
    facts = whole.facts
    free = facts.free_id() if whole.dataset.kind == "tokens" else facts.free_value()
    other = advice.pad_command(whole.dataset, _with(options, value=free))
    whole.log.add_many(
        "pad-collision",
        f"{_at(whole.dataset, found.places[0])} is a real timestep whose features are all "
        f"{options.value:g}: Masking(mask_value={options.value:g}) would drop it as padding — "
        f"mask from the lengths (lstmprep train does) or pad with another value: `{other}`",
        found.places,
        found.count,
    )


def check_labels(whole: Whole, options: PadOptions) -> None:
    log, labels, n = whole.log, whole.dataset.labels, len(whole.lengths)
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


def check_trainable(whole: Whole, options: PadOptions) -> None:
    """Without labels, train predicts each sequence's last timestep: it needs two."""
    lengths = whole.lengths
    if whole.dataset.labels is not None or not lengths.any() or (lengths >= 2).any():
        return
    whole.log.add(
        "too-short",
        "no sequence has two timesteps and there are no labels: lstmprep train would learn to "
        "predict each sequence's last timestep from the ones before, which needs two — give "
        "labels with --labels FILE",
    )


def check_layout(whole: Whole, options: PadOptions) -> None:
    """Sequences all of one length with more features than timesteps: maybe transposed."""
    dataset, lengths, features = whole.dataset, whole.lengths, whole.facts.features
    if dataset.channels_first or dataset.meta is not None or not len(lengths):
        return
    length = int(lengths[0])
    if not 2 <= length < features or (lengths != length).any():
        return
    whole.log.add(
        "maybe-channels-first",
        f"every sequence is {length} timesteps of {features} features — more features than "
        f"timesteps: if each sample is stored (features, timesteps), as aeon, sktime and "
        f"PyTorch's Conv1d keep them, it is {features} timesteps of {length} features; read "
        "it so with --channels-first",
    )


CHECKS: list[Check] = [
    Check(check_no_sequences),
    Check(check_layout),
    Check(check_non_finite, scan_non_finite),
    Check(check_tokens, scan_tokens),
    Check(check_cast, scan_cast),
    Check(check_lengths),
    Check(check_long_sequences),
    Check(check_pad_collision, scan_pad_collision),
    Check(check_labels),
    Check(check_trainable),
]


# --- helpers -------------------------------------------------------------------------------------


def locate(dataset: Dataset, rows: np.ndarray) -> list[Place]:
    """(sequence, timestep) of each flat row."""
    offsets = dataset.ragged.offsets
    sequences = np.searchsorted(offsets, rows, side="right") - 1
    return [(int(s), int(r - offsets[s])) for s, r in zip(sequences, rows, strict=True)]


def _with_files(problem: Problem, dataset: Dataset) -> Problem:
    """Each place with the name of the file its sequence came from."""
    places = tuple(
        replace(p, file=dataset.file_name(p.sequence)) if p.sequence is not None else p
        for p in problem.places
    )
    return replace(problem, places=places)


def _at(dataset: Dataset, place: Place) -> str:
    sequence, timestep = place
    return f"{dataset.where(sequence or 0)}, timestep {timestep}"


def _with(options: PadOptions, **changes: object) -> PadOptions:
    return replace(options, **changes)  # type: ignore[arg-type]


def _plain_label(v: object) -> bool:
    return isinstance(v, (int, float, str)) and not isinstance(v, bool)
