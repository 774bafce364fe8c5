"""The one internal shape of a batch of variable-length sequences.

A ragged batch is its timesteps stacked into one 2-D array ``values`` of shape
``(total_timesteps, features)`` plus one length per sequence — the layout of
``tf.RaggedTensor.from_row_lengths`` and of Arrow list arrays. Every reader
produces it; diagnosis and padding consume it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Ragged:
    """Variable-length sequences as flat ``values`` plus ``lengths``.

    Sequence ``i`` is ``values[offsets[i]:offsets[i + 1]]``.

    >>> r = Ragged.from_sequences([[[1, 2], [3, 4], [5, 6]], [[7, 8]]])
    >>> r.lengths
    array([3, 1])
    >>> r.values.shape, r.n_features
    ((4, 2), 2)
    >>> r[1]
    array([[7., 8.]])
    """

    values: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        if self.values.ndim != 2:
            raise ValueError(
                f"values must be 2-D (timesteps, features), got shape {self.values.shape}"
            )
        object.__setattr__(self, "lengths", check_lengths(self.lengths, len(self.values)))

    @classmethod
    def from_sequences(cls, sequences, dtype=np.float64) -> Ragged:
        """Stack well-formed sequences, each array-like of shape ``(timesteps, features)``."""
        arrays = [np.asarray(s, dtype=dtype) for s in sequences]
        arrays = [a.reshape(-1, 1) if a.ndim == 1 else a for a in arrays]
        lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
        features = next((a.shape[1] for a in arrays if len(a)), 1)
        values = np.concatenate(arrays) if arrays else np.empty((0, features), dtype=dtype)
        return cls(values.reshape(-1, features), lengths)

    @property
    def offsets(self) -> np.ndarray:
        """Start of each sequence in ``values``, plus the end: shape ``(n + 1,)``."""
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        return offsets

    @property
    def n_sequences(self) -> int:
        return len(self.lengths)

    @property
    def n_features(self) -> int:
        return self.values.shape[1]

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.lengths[:i].sum())
        return self.values[start : start + int(self.lengths[i])]

    def __iter__(self) -> Iterator[np.ndarray]:
        offsets = self.offsets
        for start, end in zip(offsets[:-1], offsets[1:], strict=True):
            yield self.values[start:end]


def check_lengths(lengths: np.ndarray, rows: int) -> np.ndarray:
    """``lengths`` as int64, after proving they split ``rows`` values into sequences.

    Every length must be a non-negative integer no larger than ``rows``, and their sum —
    computed exactly, never wrapping around as an int64 sum can — must equal ``rows``.
    Raises ``ValueError`` naming the first bad length.

    >>> check_lengths(np.array([2, 0, 1]), 3)
    array([2, 0, 1])
    >>> check_lengths(np.array([2**63 - 1, 2**63 - 1, 4]), 2)
    Traceback (most recent call last):
    ...
    ValueError: lengths[0] is 9223372036854775807, more than the 2 rows of values
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D, got shape {lengths.shape}")
    if len(lengths) == 0:
        if rows:
            raise ValueError(f"lengths add up to 0 but values has {rows} rows")
        return np.zeros(0, dtype=np.int64)
    if lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be integers, got {lengths.dtype}")
    if lengths.dtype.kind == "i" and lengths.min() < 0:
        first = int(np.argmax(lengths < 0))
        raise ValueError(f"lengths[{first}] is {lengths[first]}: a length cannot be negative")
    if lengths.max() > rows:
        first = int(np.argmax(lengths > rows))
        raise ValueError(
            f"lengths[{first}] is {lengths[first]}, more than the {rows} rows of values"
        )
    lengths = lengths.astype(np.int64, copy=False)
    # Every length is at most `rows`, so no partial sum passes len * rows: below 2**63 the
    # int64 sum is exact; beyond it (only crafted input gets there) add Python integers.
    total = int(lengths.sum()) if len(lengths) * rows < 2**63 else sum(map(int, lengths))
    if total != rows:
        raise ValueError(f"lengths add up to {total} but values has {rows} rows")
    return lengths
