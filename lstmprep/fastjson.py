"""Read strictly numeric JSON sequences at C speed, or say it cannot and let ``json`` do it.

Most inputs are one big array of sequences of timesteps of numbers::

    [[[0.1, 2.0], [0.3, 4.0]], [[0.5, 6.0]]]

For those, ``json.loads`` spends its time building one Python float per number.
:func:`scan_numeric` reads such text straight into the flat ``values`` + ``lengths``
layout of :class:`~lstmprep.ragged.Ragged`, without a Python object per number. It
handles only the plain, well-formed case and returns ``None`` for anything else
(strings, ``null``, ``NaN``, ragged feature counts, syntax errors, …): the caller then
takes the exact path, ``json.loads`` plus a walk that reports every problem with its
place. :func:`scan_numeric_or_reason` says why a document was not handled.

Numbers follow the JSON grammar and become exactly what the exact path gives
(``json.loads``, then ``float()``), bit for bit: ``float(token)`` for a float token, so
``1e400`` is ``inf``, ``-0.0`` and ``-0e0`` keep their sign, denormals and 17+ digit
mantissas round correctly; ``float(int(token))`` for an integer token, so ``-0`` is
``0.0``, and an integer too large for a float (``float(int)`` raises ``OverflowError``) is
not handled here. Memory grows with the numbers parsed, not with the size of the data.

The work is done by the C extension ``lstmprep._fastjson``, an optional part of the
build. Where it could not be built (no C compiler at install time), :data:`AVAILABLE` is
False and :func:`scan_numeric` returns ``None``, so callers take the exact path. (A numpy
fallback was tried and dropped: ``np.fromstring`` alone takes half as long as
``json.loads`` on the same file, and checking the grammar in whole-array numpy operations
needs several bytes of memory per input byte; it came out ~5x slower than ``json.loads``.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ragged import Ragged

try:
    if os.environ.get("LSTMPREP_NO_C") == "1":  # test the paths without C
        raise ImportError("LSTMPREP_NO_C=1")
    from . import _fastjson  # type: ignore[attr-defined, unused-ignore]
except ImportError:  # built without a C compiler: every document takes the exact path
    _fastjson = None

AVAILABLE: bool = _fastjson is not None
"""Whether the C scanner was built; without it :func:`scan_numeric` always returns ``None``."""

Buffer = Any  # bytes, bytearray, memoryview, mmap: anything with the buffer protocol


@dataclass(frozen=True, eq=False)
class NumericScan:
    """The sequences of a numeric JSON document, as ragged ``values`` plus ``lengths``.

    Attributes:
        values: float64 array of shape ``(total_timesteps, features)``, every timestep of
            every sequence stacked. Writable, and made without copying the scanner's
            output.
        lengths: int64 array, the number of timesteps of each sequence.
        univariate: True when timesteps were bare numbers (``[[1, 2, 3]]``), read as one
            feature; False when they were lists (``[[[1], [2], [3]]]``). A document with
            no timestep at all counts as univariate, with one feature, as in
            :meth:`Ragged.from_sequences`.
        end: the offset just past the top-level array's closing ``]`` (in jsonl mode,
            the length of the data).

    Example:

    >>> scan = scan_numeric(b"[[[1, 2], [3, 4]], [[5, 6]]]")
    >>> scan.values
    array([[1., 2.],
           [3., 4.],
           [5., 6.]])
    >>> scan.lengths
    array([2, 1])
    >>> scan.univariate, scan.end
    (False, 28)
    >>> scan.to_ragged()[1]
    array([[5., 6.]])
    """

    values: np.ndarray
    lengths: np.ndarray
    univariate: bool
    end: int

    @property
    def n_features(self) -> int:
        """Numbers per timestep."""
        return self.values.shape[1]

    def to_ragged(self) -> Ragged:
        """The sequences as a :class:`~lstmprep.ragged.Ragged` (no copy)."""
        return Ragged(self.values, self.lengths)


@dataclass(frozen=True)
class NotHandled:
    """Why :func:`scan_numeric_or_reason` left a document to the exact path, and where.

    ``offset`` is a byte offset into the data (not into ``data[start:]``). The exact path
    gives the user-facing message; this is for debugging the fast path.

    >>> scan_numeric_or_reason(b'[[1, "2"]]')
    NotHandled(reason='a string where a number was expected', offset=5)
    """

    reason: str
    offset: int

    def __str__(self) -> str:
        return f"{self.reason} (byte {self.offset})"


def scan_numeric(
    data: Buffer,
    *,
    start: int = 0,
    jsonl: bool = False,
    stop_at_end: bool = False,
) -> NumericScan | None:
    """Scan a strictly numeric JSON array of sequences, or return ``None``.

    Accepted: optional whitespace, then ``[``, zero or more sequences separated by
    commas, ``]``, then only whitespace to the end of the data. A sequence is ``[`` zero
    or more timesteps ``]``. Timesteps are either all lists of the same count (>= 1) of
    numbers, or all bare numbers. Anything else gives ``None``: strings, ``true``,
    ``false``, ``null``, ``NaN``, objects, deeper nesting, mixed bare and list
    timesteps, different feature counts, ``[]`` as a timestep, trailing or missing
    commas, numbers outside the JSON grammar (``01``, ``.5``, ``5.``, ``+1``, ``1e``).

    Args:
        data: the document's bytes: ``bytes``, ``bytearray``, ``memoryview``, ``mmap``
            or any other C-contiguous buffer. ``str`` is refused with ``TypeError``.
        start: where in ``data`` the array starts (leading whitespace allowed), e.g.
            just after ``{"sequences": `` in a larger document.
        jsonl: JSON lines: no outer brackets, one sequence per line, blank lines
            allowed; a line break inside a sequence gives ``None``.
        stop_at_end: stop after the top-level array instead of requiring the end of
            the data; ``end`` of the result says where it stopped. Not with ``jsonl``.

    Returns:
        A :class:`NumericScan`, or ``None`` when the document is not handled here (and
        always when the C scanner is not built).

    Raises:
        TypeError: ``data`` does not support the buffer protocol.
        ValueError: ``start`` is outside the data, or ``jsonl`` with ``stop_at_end``.

    Example:

    >>> scan_numeric(b"[[1, 2, 3], [4.5]]").values.ravel()
    array([1. , 2. , 3. , 4.5])
    >>> scan_numeric(b'[[1, 2, 3], [4, "five"]]') is None
    True
    >>> scan = scan_numeric(b"[[1.5, -2], [3, 4e2]]\\n[]\\n", jsonl=True)
    >>> scan.values.tolist(), scan.lengths.tolist(), scan.univariate
    ([[1.5, -2.0], [3.0, 400.0]], [2, 0], False)
    >>> doc = b'{"sequences": [[[1], [2]]], "labels": [0]}'
    >>> scan = scan_numeric(doc, start=14, stop_at_end=True)
    >>> scan.lengths, doc[scan.end:]
    (array([2]), b', "labels": [0]}')
    """
    result = scan_numeric_or_reason(data, start=start, jsonl=jsonl, stop_at_end=stop_at_end)
    return result if isinstance(result, NumericScan) else None


def scan_numeric_or_reason(
    data: Buffer,
    *,
    start: int = 0,
    jsonl: bool = False,
    stop_at_end: bool = False,
) -> NumericScan | NotHandled:
    """Like :func:`scan_numeric`, but a :class:`NotHandled` instead of ``None``.

    >>> scan_numeric_or_reason(b"[[[1, 2], [3]]]")
    NotHandled(reason='timesteps with different numbers of features', offset=10)
    >>> print(scan_numeric_or_reason(b"[[01]]"))
    expected ',' or ']' after a timestep (byte 3)
    """
    if _fastjson is None:
        memoryview(data)  # the same TypeError for a non-buffer as with the scanner
        if jsonl and stop_at_end:
            raise ValueError("stop_at_end applies to a JSON array, not to jsonl")
        return NotHandled("the C scanner lstmprep._fastjson is not built", start)
    raw = _fastjson.scan(data, start, jsonl, stop_at_end)
    if raw[0] is None:
        return NotHandled(raw[1], raw[2])
    values, lengths, features, univariate, end = raw
    return NumericScan(
        np.frombuffer(values, dtype=np.float64).reshape(-1, features),
        np.frombuffer(lengths, dtype=np.int64),
        bool(univariate),
        int(end),
    )


if _fastjson is None:  # the examples above need the scanner: skip them, don't fail them
    import re

    for _documented in (NumericScan, NotHandled, scan_numeric, scan_numeric_or_reason):
        _documented.__doc__ = re.sub(
            r"^(\s*>>> .*)$", r"\1  # doctest: +SKIP", _documented.__doc__ or "", flags=re.M
        )
