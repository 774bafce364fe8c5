"""Pad's options, checked once: the choices, the defaults and the ``--maxlen`` rule.

Imported by the CLI to declare its options, so it imports nothing heavy (numpy only inside
the functions that need it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    import numpy as np

    from .padded_file import PadMeta

#: The value lstmprep pads with unless told otherwise (and Keras's Masking default).
PAD_VALUE = 0.0


class Side(str, Enum):
    """Where ``--padding`` adds and ``--truncating`` cuts timesteps."""

    pre = "pre"
    post = "post"


class Dtype(str, Enum):
    """The output dtypes ``pad`` writes."""

    float32 = "float32"
    float16 = "float16"
    float64 = "float64"
    int8 = "int8"
    int16 = "int16"
    int32 = "int32"
    int64 = "int64"
    uint8 = "uint8"


class Target(str, Enum):
    """What ``lstmprep window`` gives each window as its target."""

    next = "next"
    label = "label"
    none = "none"


class Kind(str, Enum):
    """What the numbers are (``--kind``): token ids for an Embedding, or values."""

    tokens = "tokens"
    values = "values"


@dataclass(frozen=True)
class PadOptions:
    """How to pad. ``maxlen`` is a length, ``"pNN"`` (a percentile of the lengths) or None.

    ``dtype`` None: float32 for values, int32 for token ids (int64 when an id needs it).

    >>> PadOptions(maxlen="p95", padding="pre").maxlen
    'p95'
    >>> PadOptions(padding="middle")
    Traceback (most recent call last):
    ...
    lstmprep.errors.UsageError: --padding must be 'pre' or 'post', not 'middle'
    """

    maxlen: int | str | None = None
    padding: str = "post"
    truncating: str = "pre"
    value: float = PAD_VALUE
    dtype: str | None = None
    allow_lossy: bool = False
    #: ``--buckets K``: K length buckets, boundaries chosen to waste the least padding
    buckets: int | None = None
    #: ``--bucket-boundaries 32,64,128``: bucket i holds lengths in [b[i-1], b[i])
    boundaries: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        parse_maxlen(self.maxlen)
        if self.buckets is not None and self.boundaries is not None:
            raise UsageError(
                "--buckets and --bucket-boundaries contradict each other",
                hint="pass one of them",
            )
        if self.buckets is not None and not (isinstance(self.buckets, int) and self.buckets >= 1):
            raise UsageError(f"--buckets must be at least 1, not {self.buckets}")
        if isinstance(self.boundaries, str):
            object.__setattr__(self, "boundaries", parse_boundaries(self.boundaries))
        elif self.boundaries is not None:
            object.__setattr__(
                self, "boundaries", parse_boundaries(",".join(map(str, self.boundaries)))
            )
        for name in ("padding", "truncating"):
            side = getattr(self, name)
            side = side.value if isinstance(side, Side) else side
            if side not in ("pre", "post"):
                raise UsageError(f"--{name} must be 'pre' or 'post', not {side!r}")
            object.__setattr__(self, name, side)
        dtype = self.dtype.value if isinstance(self.dtype, Dtype) else self.dtype
        if dtype is not None and dtype not in {d.value for d in Dtype}:
            raise UsageError(
                f"--dtype {dtype!r} is not a numeric dtype lstmprep writes",
                hint="use " + ", ".join(d.value for d in Dtype),
            )
        object.__setattr__(self, "dtype", dtype)
        if not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
            raise UsageError(f"--value must be a finite number, not {self.value}")

    def resolve_maxlen(self, lengths: np.ndarray) -> int:
        """The number of timesteps per row for these lengths."""
        kind, number = parse_maxlen(self.maxlen)
        if kind == "longest":
            return int(lengths.max()) if len(lengths) else 0
        if kind == "percentile":
            return percentile_length(lengths, number)
        return int(number)

    @property
    def bucketed(self) -> bool:
        """Whether the output is one tensor per length bucket."""
        return self.buckets is not None or self.boundaries is not None

    def resolve_boundaries(self, lengths: np.ndarray) -> tuple[int, ...]:
        """The bucket boundaries for these (kept) lengths: ``()`` for one tensor."""
        if self.boundaries is not None:
            return self.boundaries
        if self.buckets is not None:
            return least_padding_boundaries(lengths, self.buckets)
        return ()


def parse_boundaries(text: str) -> tuple[int, ...]:
    """``--bucket-boundaries``: increasing lengths of at least 1, comma-separated.

    >>> parse_boundaries("32, 64,128")
    (32, 64, 128)
    """
    words = [w.strip() for w in str(text).split(",")]
    if not all(re.fullmatch(r"\d+", w) and int(w) >= 1 for w in words):
        raise UsageError(
            f"--bucket-boundaries {text!r} is not a list of lengths",
            hint="e.g. --bucket-boundaries 32,64,128",
        )
    numbers = tuple(int(w) for w in words)
    if any(b >= a for a, b in zip(numbers[1:], numbers, strict=False)):
        raise UsageError(
            f"--bucket-boundaries {text!r} must increase",
            hint="e.g. --bucket-boundaries 32,64,128",
        )
    return numbers


def bucket_of(lengths: np.ndarray, boundaries: tuple[int, ...]) -> np.ndarray:
    """The bucket of each length: bucket ``i`` holds lengths in ``[b[i-1], b[i])``, as
    ``tf.data.experimental.bucket_by_sequence_length`` splits them.

    >>> import numpy as np
    >>> bucket_of(np.array([1, 31, 32, 64, 500]), (32, 64, 128)).tolist()
    [0, 0, 1, 2, 3]
    """
    import numpy as np

    return np.searchsorted(np.asarray(boundaries, dtype=np.int64), lengths, side="right")


def least_padding_boundaries(lengths: np.ndarray, k: int) -> tuple[int, ...]:
    """At most ``k`` buckets whose padding (each bucket padded to its longest) is the least
    possible: an exact dynamic programme over the distinct lengths (``O(k · m²)`` numpy
    work for ``m`` distinct lengths). Quantile boundaries waste more: on
    ``sample_data/sensors.json``, 20.6% against 17.4% with 4 buckets.

    >>> import numpy as np
    >>> least_padding_boundaries(np.array([1, 1, 2, 9, 10, 10]), 2)
    (9,)
    """
    import numpy as np

    values, counts = np.unique(np.asarray(lengths), return_counts=True)
    m = len(values)
    if m <= 1 or k <= 1:
        return ()
    upto = np.concatenate([[0], np.cumsum(counts)])  # sequences with a length below values[e]
    cost = (upto[1:] * values).astype(np.float64)  # one bucket for values[: e + 1]
    cuts = []  # cuts[j][e]: where the last bucket starts in the best (j + 2)-bucket cover
    for _ in range(min(k, m) - 1):
        best, start = cost.copy(), np.zeros(m, dtype=np.int64)
        for e in range(1, m):
            candidates = cost[:e] + (upto[e + 1] - upto[1 : e + 1]) * float(values[e])
            s = int(np.argmin(candidates))
            if candidates[s] < best[e]:
                best[e], start[e] = candidates[s], s + 1
        cuts.append(start)
        cost = best
    boundaries, e = [], m - 1
    for start in reversed(cuts):
        if start[e] > 0:
            boundaries.append(int(values[start[e]]))
            e = int(start[e]) - 1
    return tuple(sorted(boundaries))


def parse_maxlen(maxlen: int | str | None) -> tuple[str, float]:
    """``("longest", 0)``, ``("fixed", N)`` or ``("percentile", NN)``; a UsageError otherwise.

    >>> parse_maxlen("p95"), parse_maxlen("120"), parse_maxlen(None)
    (('percentile', 95.0), ('fixed', 120), ('longest', 0))
    """
    if maxlen is None:
        return ("longest", 0)
    text = str(maxlen).strip().lower()
    if re.fullmatch(r"\d+", text) and int(text) >= 1:
        return ("fixed", int(text))
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", text)
    if match and 0 < float(match[1]) <= 100:
        return ("percentile", float(match[1]))
    raise UsageError(
        f"--maxlen {maxlen!r} is neither a length of at least 1 nor a percentile p1…p100",
        hint="e.g. --maxlen 120 or --maxlen p95",
    )


def percentile_length(lengths: np.ndarray, q: float) -> int:
    """The ``q``-th percentile of the lengths, rounded up: what ``--maxlen pQ`` pads to.

    >>> import numpy as np
    >>> percentile_length(np.arange(1, 101), 95)
    96
    """
    import numpy as np

    return int(math.ceil(np.percentile(lengths, q))) if len(lengths) else 0


#: The defaults, as one value.
DEFAULTS = PadOptions()


def checking_options(meta: PadMeta | None) -> PadOptions:
    """The options to check pad's own output with: its pad value, as its meta says."""
    return PadOptions(value=meta.value) if meta is not None else DEFAULTS
