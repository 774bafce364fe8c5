"""Python nested lists → :class:`~lstmprep.ragged.Ragged`, with every problem located.

This is the exact (slower) path behind the JSON, JSON-lines and pickled-array readers: it walks
data that may hold anything — text, nulls, booleans, lists nested too deep, timesteps with
different numbers of features — and records each problem at its sequence and timestep. Rows it
cannot read become NaN rows whose indices it returns, so later checks skip what was already said.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import Dataset, Reported
from ..ragged import Ragged
from ..report import ProblemLog

_NUMBER_TYPES = {int, float}


class Converted:
    """The outcome of :func:`from_nested`: the batch and what the walk already reported."""

    def __init__(
        self,
        ragged: Ragged,
        bad_rows: np.ndarray,
        broken: np.ndarray,
        widths: Counter[int] | None = None,
    ):
        self.ragged = ragged
        #: flat row indices that are NaN because they could not be read
        self.bad_rows = bad_rows
        #: sequence indices that are not sequences at all (stored with length 0)
        self.broken = broken
        #: how many readable timesteps have each number of features
        self.widths = widths if widths is not None else Counter()


@dataclass
class PartOfWhole:
    """One part of data whose reader walks all of it at once (:func:`from_nested`) — a record
    batch of a nested table, a group of one-sample files — read on its own: what the whole
    needs, gathered part by part, and (known once the whole was read) what to read it as."""

    #: the whole's number of features, when its parts' differ: each timestep is read against it
    features: int | None = None
    #: the whole has the channels-first signature: every part is reported unreadable
    transposed: bool = False
    #: how many readable timesteps have each number of features
    widths: Counter[int] = field(default_factory=Counter)
    #: each part's (timesteps, features) of each sequence; None: a sequence is not a plain array
    shapes: list[np.ndarray | None] = field(default_factory=list)
    #: a part took the exact path (a nested table), and its notes; whether any part was read
    exact: bool = False
    notes: tuple[str, ...] = ()
    read: bool = False

    def counted(self, lengths: np.ndarray, width: int) -> None:
        """Count a part of sequences of ``lengths`` timesteps of ``width`` features each."""
        if len(lengths):
            self.widths[width] += int(lengths.sum())
        shapes = np.stack([lengths, np.full(len(lengths), width)], axis=1)
        self.shapes.append(shapes if lengths.all() else None)

    def signature(self) -> bool:
        """Whether the whole has the channels-first signature (:func:`from_nested`)."""
        if not self.shapes or any(s is None for s in self.shapes):
            return False
        return transposed_signature(np.concatenate(self.shapes))  # type: ignore[arg-type]

    def transposed_problem(self, log: ProblemLog) -> None:
        """The whole's ``channels-first`` problem, as :func:`from_nested` of all of it says."""
        log.add("channels-first", transposed_message(np.concatenate(self.shapes)))  # type: ignore[arg-type]


def from_nested(
    sequences: Sequence[Any],
    log: ProblemLog,
    where: Callable[[int], str] = lambda i: f"sequence {i}",
    channels_first: bool = False,
    plain: bool = False,
    features: int | None = None,
    part: PartOfWhole | None = None,
) -> Converted:
    """Convert a list of sequences; each a list of timesteps, each a list of numbers or a number.

    ``where(i)`` names sequence ``i`` in messages (a JSON-lines reader says which line).
    ``channels_first``: each sequence is a list of features, each a list of timesteps.
    Without it, sequences that all have one length while their widths vary are the signature
    of that layout: one ``channels-first`` error says so instead of a mismatch per sequence.

    ``plain``: the caller knows that every value inside is a list, an int or a float (JSON
    text made of brackets, commas and numbers only), which spares checking each number's type.

    ``features``: the number of features every timestep must have (a part of larger data,
    whose most common width was counted over all of it); by default, this data's most common.
    ``part``: the sequences are a part of larger data (:class:`PartOfWhole`): the signature of
    channels-first data is the whole's, not the part's.

    >>> log = ProblemLog()
    >>> c = from_nested([[[1, 2], [3, 4]], [[5, "x"]], [[6, 7, 8]]], log)
    >>> c.ragged.lengths, c.bad_rows
    (array([2, 1, 1]), array([2, 3]))
    >>> [(p.code, p.sequence, p.timestep) for p in log.problems()]
    [('non-numeric', 1, 0), ('feature-mismatch', 2, 0)]
    """
    items: list[np.ndarray | list[tuple[float, ...] | None]] = []
    widths: Counter[int] = Counter()
    broken = []
    for i, seq in enumerate(sequences):
        item = _convert(seq, i, log, where, plain)
        if item is None:
            broken.append(i)
            item = []
        elif channels_first and _is_2d(seq):
            item = _transpose(item)
        if isinstance(item, np.ndarray):
            if len(item):
                widths[item.shape[1]] += len(item)
        else:
            widths.update(len(row) for row in item if row)
        items.append(item)

    if part is not None:
        part.widths.update(widths)
        part.shapes.append(_shapes(items))
        if part.transposed:
            return _transposed_rows(items)  # type: ignore[arg-type]  # all arrays: the whole's
        features = part.features if features is None else features
    elif not channels_first and _transposed_signature(items):
        return _refuse_transposed(items, log)  # type: ignore[arg-type]  # all arrays, just checked
    if features is None:
        features = widths.most_common(1)[0][0] if widths else 1
    parts, bad_rows, offset = [], [], 0
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            if len(item) and item.shape[1] != features:
                log.add(
                    "feature-mismatch",
                    f"{where(i)} has {item.shape[1]} features in every timestep; the rest of the "
                    f"data has {features}: give every timestep the same features",
                    i,
                    0,
                    count=len(item),
                )
                bad_rows.append(np.arange(offset, offset + len(item)))
                item = np.full((len(item), features), np.nan)
            parts.append(item.reshape(len(item), features))
        else:
            block = np.full((len(item), features), np.nan)
            for t, row in enumerate(item):
                if row is not None and len(row) == features:
                    block[t] = row
                    continue
                if row is not None:
                    log.add(
                        "feature-mismatch",
                        f"{where(i)}, timestep {t} has {len(row)} features; the rest of the data "
                        f"has {features}: give every timestep the same features",
                        i,
                        t,
                    )
                bad_rows.append(np.array([offset + t]))
            parts.append(block)
        offset += len(parts[-1])

    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    values = np.concatenate(parts) if parts else np.empty((0, features))
    bad = np.concatenate(bad_rows) if bad_rows else np.empty(0, dtype=np.int64)
    return Converted(Ragged(values, lengths), bad, np.array(broken, dtype=np.int64), widths)


def _is_2d(seq: Any) -> bool:
    """Whether a sequence is given as a list of lists (not bare numbers, one feature)."""
    if isinstance(seq, np.ndarray):
        return seq.ndim == 2
    return bool(len(seq)) and isinstance(seq[0], (list, tuple, np.ndarray))


def _transpose(item: np.ndarray | list) -> np.ndarray | list:
    """A (features, timesteps) sequence as (timesteps, features), when its rows are whole."""
    if isinstance(item, np.ndarray):
        return np.ascontiguousarray(item.T)
    if item and all(row is not None for row in item) and len({len(r) for r in item}) == 1:
        return np.array(item, dtype=np.float64).T.copy()
    return item  # its problems are reported already, at (sequence, row)


def _shapes(items: list) -> np.ndarray | None:
    """Each sequence's (timesteps, features) when all are non-empty arrays, else None."""
    if not all(isinstance(it, np.ndarray) and len(it) for it in items):
        return None
    return np.array([it.shape for it in items], dtype=np.int64).reshape(-1, 2)


def transposed_signature(shapes: np.ndarray) -> bool:
    """Whole sequences (``shapes``: each one's timesteps and features), all of one length,
    whose widths vary: (features, timesteps) samples."""
    if len(shapes) < 2 or len(np.unique(shapes[:, 0])) != 1:
        return False
    widths = Counter(shapes[:, 1].tolist())
    return len(widths) >= 3 or (len(widths) == 2 and max(widths.values()) * 2 <= len(shapes))


def _transposed_signature(items: list) -> bool:
    shapes = _shapes(items)
    return shapes is not None and transposed_signature(shapes)


def transposed_message(shapes: np.ndarray) -> str:
    return (
        f"every sequence has {shapes[0, 0]} timesteps while their features range from "
        f"{shapes[:, 1].min()} to {shapes[:, 1].max()}: the samples look stored (features, "
        "timesteps), as aeon, sktime and PyTorch's Conv1d keep them — read them with "
        "--channels-first"
    )


def _refuse_transposed(items: list[np.ndarray], log: ProblemLog) -> Converted:
    """One error for the whole batch, whose rows become placeholders, all reported already."""
    log.add("channels-first", transposed_message(_shapes(items)))  # type: ignore[arg-type]
    return _transposed_rows(items)


def _transposed_rows(items: list[np.ndarray]) -> Converted:
    """Every row a placeholder, reported already (the channels-first error says why)."""
    rows = [np.full((len(it), 1), np.nan) for it in items]
    lengths = np.array([len(it) for it in items], dtype=np.int64)
    values = np.concatenate(rows) if rows else np.empty((0, 1))
    return Converted(Ragged(values, lengths), np.arange(len(values)), np.empty(0, np.int64))


def from_python(
    path: Path,
    fmt: str,
    sequences: list,
    labels: np.ndarray | None,
    where: Callable[[int], str] = lambda i: f"sequence {i}",
    channels_first: bool = False,
    plain: bool = False,
    part: PartOfWhole | None = None,
) -> Dataset:
    """A reader's dataset from Python lists: every problem located with ``where(i)``;
    ``part``: as :func:`from_nested`."""
    log = ProblemLog()
    converted = from_nested(sequences, log, where, channels_first, plain, part=part)
    return Dataset(
        str(path),
        fmt,
        converted.ragged,
        labels,
        tuple(log.problems()),
        reported=Reported(converted.bad_rows, converted.broken),
    )


def _convert(
    seq: Any, i: int, log: ProblemLog, where: Callable[[int], str], plain: bool = False
) -> np.ndarray | list[tuple[float, ...] | None] | None:
    """One sequence as a float array (fast path) or as rows, ``None`` for a bad row."""
    if isinstance(seq, np.ndarray) and seq.dtype.kind in "iufb" and seq.ndim in (1, 2):
        return _as_2d(seq.astype(np.float64))
    if isinstance(seq, np.ndarray):
        seq = seq.tolist()
    if isinstance(seq, tuple):
        seq = list(seq)
    if not isinstance(seq, list):
        if _is_number(seq):
            log.add(
                "rank",
                f"{where(i)} is a single number, not a list of timesteps: "
                "a file holding one univariate sequence must wrap it in a list, [[1, 2, 3]]",
                i,
            )
        else:
            log.add("non-numeric", f"{where(i)} is {_show(seq)}, not a list of timesteps", i)
        return None
    fast = _plain(seq) if plain else None
    if fast is None:
        fast = _fast(seq)
    if fast is not None:
        return fast
    return [_row(step, i, t, log, where) for t, step in enumerate(seq)]


def _fast(seq: list) -> np.ndarray | None:
    """The whole sequence as one array when it is plainly numbers; else ``None``."""
    step_types = set(map(type, seq))
    if step_types <= {list}:
        if not set(map(type, chain.from_iterable(seq))) <= _NUMBER_TYPES:
            return None
    elif not step_types <= _NUMBER_TYPES:
        return None
    try:
        array = np.array(seq, dtype=np.float64)
    except (ValueError, OverflowError):
        return None
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] == 0):
        return None
    return _as_2d(array)


def _plain(seq: list) -> np.ndarray | None:
    """`_fast` for a sequence known to hold only lists, ints and floats: no type checks.

    One ``np.fromiter`` pass (``float()`` of each number, as the exact path) when the
    timesteps are all numbers or all lists of one length; ``None`` for anything else
    (deeper lists, different lengths, an int too large for a float).
    """
    steps = set(map(type, seq))
    try:
        if steps <= _NUMBER_TYPES:
            return np.fromiter(seq, np.float64, count=len(seq)).reshape(-1, 1)
        if steps == {list}:
            widths = set(map(len, seq))
            if len(widths) == 1 and (width := widths.pop()) > 0:
                flat = np.fromiter(chain.from_iterable(seq), np.float64, count=len(seq) * width)
                return flat.reshape(-1, width)
    except (TypeError, ValueError, OverflowError):  # a list where a number was expected
        pass
    return None


def _row(
    step: Any, i: int, t: int, log: ProblemLog, where: Callable[[int], str]
) -> tuple[float, ...] | None:
    place = f"{where(i)}, timestep {t}"
    values = step.tolist() if isinstance(step, np.ndarray) else step
    if _is_number(values):
        values = [values]
    elif not isinstance(values, (list, tuple)):
        log.add("non-numeric", f"{place} is {_show(step)}, not a number or a list of numbers", i, t)
        return None
    for v in values:
        if isinstance(v, (list, tuple, dict, np.ndarray)) and not isinstance(v, str):
            if isinstance(v, dict):
                log.add("non-numeric", f"{place} holds {_show(v)}, not a number", i, t)
            else:
                log.add(
                    "rank",
                    f"{place} holds a list inside its list of features: a timestep must be "
                    "a flat list of numbers (flatten it, or make the inner values features)",
                    i,
                    t,
                )
            return None
        if not _is_number(v):
            log.add("non-numeric", f"{place} holds {_show(v)}, which is not a number", i, t)
            return None
    try:
        return tuple(float(v) for v in values)
    except OverflowError:
        log.add("non-finite", f"{place} holds a number too large for a float", i, t)
        return None


def _as_2d(array: np.ndarray) -> np.ndarray:
    return array.reshape(-1, 1) if array.ndim == 1 else array


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_)
    )


def _show(v: Any) -> str:
    """A value as JSON would call it."""
    if v is None:
        return "null"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, str):
        text = v if len(v) <= 20 else v[:17] + "..."
        return f'the text "{text}"'
    if isinstance(v, bytes):
        return f"the bytes {v[:20]!r}"
    if isinstance(v, dict):
        return "an object {...}"
    return f"a {type(v).__name__}"
