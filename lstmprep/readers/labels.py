"""Labels: one per sequence, from a labels file or from inside the sequence file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UnreadableInput
from .files import check_file, read_bytes, refuse_compressed_arrays
from .json_text import json_lines, load_json
from .numpy_reader import load_npy, npy_header


def read_labels(
    path: str | Path, *, allow_pickle: bool = False, ids: np.ndarray | None = None
) -> np.ndarray:
    """Read one label per sequence from a .json list, a .jsonl file, a .npy array, a .txt file
    (one per line) or a .csv file (one column, or id,label pairs matched to ``ids``, the
    sequences' ids).

    Text files may be compressed (gzip, bzip2, xz, zstd).
    """
    path = Path(path)
    suffix = check_file(path)
    if suffix == ".txt":
        return _text_labels(path)
    if suffix == ".csv":
        return _csv_labels(path, ids)
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
        f"unknown labels file type {suffix!r}",
        path=str(path),
        hint="use .json, .jsonl, .npy, .txt or .csv",
    )


def _text_labels(path: Path) -> np.ndarray:
    """One label per line: numbers when every line is one, else class names."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise UnreadableInput(
            f"not UTF-8 text (byte {e.start})", path=str(path), hint="save it as UTF-8"
        ) from None
    while lines and not lines[-1].strip():
        lines.pop()
    words = [line.strip() for line in lines]
    if "" in words:
        raise UnreadableInput(
            f"line {words.index('') + 1} is empty: one label per line",
            path=str(path),
            hint="write one label on every line",
        )
    return _typed(np.array(words, dtype=str))


def _typed(words: np.ndarray) -> np.ndarray:
    """Text labels as integers or floats when they all are, else as they are."""
    for kind in (np.int64, np.float64):
        try:
            return words.astype(kind)
        except (ValueError, OverflowError):
            continue
    return words


def _csv_labels(path: Path, ids: np.ndarray | None) -> np.ndarray:
    """A .csv of labels: a single column, or an id column and a label column."""
    from .tables import ID_NAMES, LABEL_NAMES, _csv_table, _guess, _labels_array

    table = _csv_table(path, ",")
    names = table.column_names
    if len(names) == 1:
        return _labels_array(table.column(0).combine_chunks())
    id_name = _guess(names, ID_NAMES, set())
    label_name = _guess(names, LABEL_NAMES, {id_name} if id_name else set())
    if len(names) != 2 or id_name is None or label_name is None:
        raise UnreadableInput(
            f"a labels .csv holds one column, or an id and a label column; its columns are {names}",
            path=str(path),
            hint="write one column of labels, or two columns named id,label",
        )
    pairs_ids = table.column(id_name).to_numpy(zero_copy_only=False)
    labels = _labels_array(table.column(label_name).combine_chunks())
    if ids is None:
        return labels
    return _match(path, pairs_ids, labels, ids)


def _match(path: Path, pairs: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The labels of id,label pairs in the order of the sequences' ``ids``."""
    keys = pairs.astype(str)
    wanted = ids.astype(str)
    unique, first = np.unique(keys, return_index=True)
    if len(unique) != len(keys):
        twice = keys[np.setdiff1d(np.arange(len(keys)), first)[0]]
        raise UnreadableInput(
            f"the id {twice!r} has two labels", path=str(path), hint="give each id one label"
        )
    at = np.searchsorted(unique, wanted)
    found = (at < len(unique)) & (unique[np.minimum(at, len(unique) - 1)] == wanted)
    if not found.all():
        missing = wanted[~found]
        raise UnreadableInput(
            f"no label for {len(missing)} of the {len(wanted)} sequences, such as the ids "
            f"{', '.join(repr(m) for m in missing[:3])}",
            path=str(path),
            hint="give every sequence's id a label",
        )
    return labels[first[at]]


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
