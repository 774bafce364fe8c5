"""The result of inspecting a data set: a plain value that the CLI renders or dumps as JSON.

Every problem has a fixed kebab-case ``code``, a ``severity``, a plain-words ``message`` with
the fix, and the place it was found (``sequence`` and ``timestep``, ``None`` where it has none).
A problem that repeats is one entry with a ``count`` and the first few ``places``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]

#: Every problem code, its severity and what it means.
CODES: dict[str, tuple[Severity, str]] = {
    "no-sequences": ("error", "there is nothing to pad"),
    "rank": ("error", "a value is nested deeper or shallower than sequence > timestep > feature"),
    "non-numeric": ("error", "a value is not a number (text, null, true/false, …)"),
    "non-finite": ("error", "a value is NaN, ±Infinity or too large for a float"),
    "feature-mismatch": ("error", "a timestep has a different number of features than the rest"),
    "label-mismatch": ("error", "the labels do not fit the sequences (count, shape or type)"),
    "lossy-cast": ("error", "a value would change when cast to the output dtype (float32)"),
    "too-short": ("error", "no labels and no sequence of two timesteps: nothing to train on"),
    "channels-first": ("error", "samples stored (features, timesteps): read with --channels-first"),
    "bad-token": ("error", "token data holds a value that is not an id (a whole number from 0)"),
    "zero-token": ("error", "id 0 is a real token, but it is also the padding mask_zero masks"),
    "duplicate-time": ("error", "two rows of a table give one sequence the same time"),
    "ragged-length": ("warning", "sequences have different lengths: the data needs padding"),
    "empty-sequence": ("warning", "a sequence has no timesteps (a fully masked row)"),
    "pad-collision": ("warning", "real timesteps equal the pad value and would be masked"),
    "length-outlier": ("warning", "a few long sequences make padding to the longest wasteful"),
    "maybe-channels-first": (
        "warning",
        "more features than timesteps: maybe (features, timesteps)",
    ),
    "long-sequences": ("warning", "few sequences of over 1,000 steps: cut them into windows"),
    "short-series": ("warning", "a series is shorter than one window (lstmprep window)"),
    # only in reports of files checked one by one (inspect --each): a file that cannot be read
    # is a report too, with this one error, so that CI always gets something to parse
    "unreadable": ("error", "the file cannot be read (missing, malformed, unknown format, …)"),
}

#: How many places a grouped problem lists.
MAX_PLACES = 5


@dataclass(frozen=True)
class Place:
    """Where a problem is: 0-based sequence and timestep (``None`` where it has none); the
    file the sequence came from when several were read (its name, and its path as read); and
    the 1-based line and column (in characters) in that file, where the format has them.

    >>> str(Place(1, 2, line=3, column=14))
    'sequence 1, timestep 2 (line 3)'
    >>> Place(1, 2, line=3, column=14).to_dict()
    {'sequence': 1, 'timestep': 2, 'line': 3, 'column': 14}
    """

    sequence: int | None = None
    timestep: int | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.sequence is not None:
            parts.append(f"sequence {self.sequence}")
        if self.timestep is not None:
            parts.append(f"timestep {self.timestep}")
        where = ", ".join(parts)
        if self.line is not None:
            at = f"line {self.line}"
            if not where and self.column is not None:
                at += f", column {self.column}"
            where = f"{where} ({at})" if where else at
        where = where or "whole file"
        return f"{self.file}: {where}" if self.file else where

    def to_dict(self) -> dict[str, Any]:
        """``sequence`` and ``timestep`` always; ``file``, ``line``, ``column``, ``path`` when
        known (older readers of the JSON see what they always saw)."""
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None or k in ("sequence", "timestep")}


@dataclass(frozen=True)
class Problem:
    """One kind of problem, found ``count`` times; ``places`` holds the first few."""

    code: str
    message: str
    places: tuple[Place, ...] = ()
    count: int = 1

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code!r}")

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    @property
    def sequence(self) -> int | None:
        return self.places[0].sequence if self.places else None

    @property
    def timestep(self) -> int | None:
        return self.places[0].timestep if self.places else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "sequence": self.sequence,
            "timestep": self.timestep,
            "count": self.count,
            "places": [p.to_dict() for p in self.places],
        }


class ProblemLog:
    """Collects problems one place at a time and groups them by code, in order of first sight.

    >>> log = ProblemLog()
    >>> for t in range(7):
    ...     log.add("non-numeric", f"'x' at timestep {t} is not a number", sequence=2, timestep=t)
    >>> [(p.code, p.count, len(p.places)) for p in log.problems()]
    [('non-numeric', 7, 5)]
    """

    def __init__(self) -> None:
        self._first: dict[str, str] = {}
        self._places: dict[str, list[Place]] = {}
        self._counts: dict[str, int] = {}

    def add(
        self,
        code: str,
        message: str,
        sequence: int | None = None,
        timestep: int | None = None,
        count: int = 1,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        """Record ``count`` occurrences of ``code`` whose first is at (sequence, timestep),
        on ``line`` and ``column`` of the file where the reader knows them."""
        self._place(code, message, Place(sequence, timestep, line=line, column=column), count)

    def _place(self, code: str, message: str, place: Place, count: int) -> None:
        self._first.setdefault(code, message)
        places = self._places.setdefault(code, [])
        if len(places) < MAX_PLACES:
            places.append(place)
        self._counts[code] = self._counts.get(code, 0) + count

    def add_many(
        self,
        code: str,
        message: str,
        places: Iterable[tuple[int | None, int | None] | Place],
        count: int,
    ) -> None:
        """Record ``count`` occurrences of ``code`` at once; ``places`` are the first of them."""
        for place in places:
            self._place(code, message, place if isinstance(place, Place) else Place(*place), 0)
        self._first.setdefault(code, message)
        self._places.setdefault(code, [])
        self._counts[code] = self._counts.get(code, 0) + count

    def extend(self, problems: Iterable[Problem]) -> None:
        """Take problems already grouped (a reader's) into this log."""
        for p in problems:
            self.add_many(p.code, p.message, p.places, p.count)

    def problems(self) -> list[Problem]:
        return [
            Problem(code, message, tuple(self._places[code]), self._counts[code])
            for code, message in self._first.items()
        ]


@dataclass(frozen=True)
class Stats:
    """What the data looks like, and what padding it to the longest sequence would cost."""

    file: str
    format: str
    sequences: int
    features: int
    total_timesteps: int
    min_length: int
    median_length: float
    p95_length: int
    max_length: int
    dtype: str
    padding_waste: float
    padded_mb: float
    labels: int | None
    label_kind: str | None
    input_shape: tuple[int, ...]
    mask_value: float
    histogram: tuple[tuple[int, int, int], ...] = field(default=())
    #: what a model learns from the labels (lstmprep.target.task_of), None without labels
    task: str | None = None
    #: the class names in index order (natural order), when the labels are classes
    classes: tuple | None = None
    #: "tokens" (ids for an Embedding) or "values"
    kind: str = "values"
    #: token ids: the Embedding's input_dim (largest id + 1), the distinct ids, whether 0 is one
    vocabulary_size: int | None = None
    distinct_ids: int | None = None
    zero_id: bool | None = None
    #: token ids: the Keras layer that takes them
    embedding: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["histogram"] = [{"from": lo, "to": hi, "count": n} for lo, hi, n in self.histogram]
        d["classes"] = None if self.classes is None else list(self.classes)
        return d


@dataclass(frozen=True)
class Report:
    """The outcome of :func:`lstmprep.inspect`: stats, problems and the assumptions made.

    ``ok`` is false when there is an error (or, with ``strict``, a warning). A file that
    could not be read (:func:`lstmprep.inspection.unreadable`) has no ``stats`` and one
    ``unreadable`` error.
    """

    stats: Stats | None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    strict: bool = False
    #: the command to run next, as it can be pasted; None while there are errors
    next_command: str | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not (self.errors or (self.strict and self.warnings))

    @property
    def readable(self) -> bool:
        return "unreadable" not in self.codes()

    @property
    def file(self) -> str:
        """The file (or files) as the user named them."""
        if self.stats is not None:
            return self.stats.file
        return next((pl.path for p in self.problems for pl in p.places if pl.path), "")

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "strict": self.strict,
            "problems": [p.to_dict() for p in self.problems],
            "stats": None if self.stats is None else self.stats.to_dict(),
            "notes": list(self.notes),
            "next_command": self.next_command,
        }
