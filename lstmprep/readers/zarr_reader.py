"""lstmprep pad's ``.zarr`` output (:mod:`lstmprep.padded_zarr`), read back as a dataset.

The padding is cut away again as ``lengths`` and the meta say, one chunk of rows at a time,
so that only the real timesteps are ever held in memory (as for pad's ``.npz``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..dataset import Dataset
from ..padded_file import unpad
from ..padded_zarr import labels_of, open_padded
from .numpy_reader import _from_array, _lengths


def read_zarr(path: Path, allow_pickle: bool = False, channels_first: bool = False) -> Dataset:
    """A padded Zarr store: its sequences without the padding, its labels and its meta."""
    padded = open_padded(path)
    lengths = _lengths(np.asarray(padded.lengths[...]), path)
    x = padded.x
    if lengths.shape != x.shape[:1]:
        unpad(np.empty((x.shape[0], x.shape[1], 0)), lengths, padded.meta, str(path))  # says why
    step = max(1, x.chunks[0])
    values, kept = [], []
    for start in range(0, max(len(lengths), 1), step):
        block = np.asarray(x[start : start + step])
        if block.ndim == 2:  # token ids: (N, T)
            block = block[:, :, None]
        v, n = unpad(block, lengths[start : start + step], padded.meta, str(path))
        values.append(v)
        kept.append(n)
    dataset = _from_array(path, "zarr", np.concatenate(values), np.concatenate(kept))
    return replace(dataset, labels=labels_of(padded.y), meta=padded.meta, kind=padded.meta.kind)
