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

    def __post_init__(self) -> None:
        parse_maxlen(self.maxlen)
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
