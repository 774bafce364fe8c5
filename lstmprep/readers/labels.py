"""Labels: one per sequence, from a labels file or from inside the sequence file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UnreadableInput
from .files import check_file, read_bytes, refuse_compressed_arrays
from .json_text import json_lines, load_json
from .numpy_reader import load_npy, npy_header


def read_labels(path: str | Path, *, allow_pickle: bool = False) -> np.ndarray:
    """Read one label per sequence from a .json list, a .jsonl file or a .npy array.

    Text files may be compressed (gzip, bzip2, xz, zstd).
    """
    path = Path(path)
    suffix = check_file(path)
    if suffix == ".npy":
        refuse_compressed_arrays(path)
        with open(path, "rb") as f:
            npy_header(f, path.stat().st_size, str(path), allow_pickle)
        return load_npy(path, allow_pickle=allow_pickle)
    if suffix == ".json":
        value = load_json(read_bytes(path), str(path))
        if isinstance(value, dict) and "labels" in value:
            value = value["labels"]
        if not isinstance(value, list):
            raise UnreadableInput(
                "expected a JSON list of labels", path=str(path), hint="write [0, 1, …]"
            )
        return labels_array(value)
    if suffix == ".jsonl":
        return labels_array([value for _, value in json_lines(path)])
    raise UnreadableInput(
        f"unknown labels file type {suffix!r}", path=str(path), hint="use .json, .jsonl or .npy"
    )


def labels_array(labels: list) -> np.ndarray:
    """Labels as an array; mixed types or shapes stay an object array for the checks to name."""
    try:
        array = np.asarray(labels)
    except (ValueError, OverflowError):
        array = np.empty(len(labels), dtype=object)
        array[:] = labels
    if array.dtype.kind in "US" and any(not isinstance(v, str) for v in labels):
        array = np.empty(len(labels), dtype=object)
        array[:] = labels
    return array


def one_per_sequence(labels: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels as the model will take them, with a note for each reading that was a choice.

    An ``(N, 1)`` column is ``N`` labels; one-hot rows are the index of their class; floats
    that are all whole numbers, with few distinct values, stay regression targets (noted).

    >>> labels, notes = one_per_sequence(np.array([[3], [1]]))
    >>> labels, notes
    (array([3, 1]), ('labels of shape (2, 1) read as one label per sequence',))
    >>> one_per_sequence(np.array([[0, 1, 0], [1, 0, 0]]))[0]
    array([1, 0])
    """
    notes: list[str] = []
    if labels.ndim == 2 and labels.shape[1] == 1:
        notes.append(f"labels of shape {labels.shape} read as one label per sequence")
        labels = labels[:, 0]
    elif _one_hot(labels):
        notes.append(
            f"labels of shape {labels.shape} are one-hot rows: read as {labels.shape[1]} "
            f"classes, 0 to {labels.shape[1] - 1}"
        )
        labels = labels.argmax(axis=1)
    if labels.ndim == 1 and labels.dtype.kind == "f" and len(labels):
        finite = labels[np.isfinite(labels)]
        distinct = len(np.unique(finite))
        if (
            len(finite)
            and (finite == np.round(finite)).all()
            and distinct <= min(20, len(labels) - 1)
        ):
            notes.append(
                f"labels are floats that are all whole numbers ({distinct} distinct values): "
                "read as regression targets — for classes, give them as integers or names "
                "(e.g. np.save('labels.npy', y.astype(int)))"
            )
    return labels, tuple(notes)


def _one_hot(labels: np.ndarray) -> bool:
    """Rows of 0s and a single 1: each row names its class."""
    if (
        labels.ndim != 2
        or labels.shape[1] < 2
        or labels.dtype.kind not in "biuf"
        or not len(labels)
    ):
        return False
    return bool(((labels == 0) | (labels == 1)).all() and (labels.sum(axis=1) == 1).all())
