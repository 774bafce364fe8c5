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
        if self.lengths.ndim != 1:
            raise ValueError(f"lengths must be 1-D, got shape {self.lengths.shape}")
        total = int(self.lengths.sum()) if len(self.lengths) else 0
        if total != len(self.values):
            raise ValueError(f"lengths add up to {total} but values has {len(self.values)} rows")

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
