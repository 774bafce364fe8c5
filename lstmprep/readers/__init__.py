"""Readers: one module per file format, each turning a file into a :class:`Dataset`.

A reader raises :class:`~lstmprep.errors.UnreadableInput` when the file cannot be read at all
(missing, malformed, unsafe) and otherwise records what is wrong with the data as problems, so
that ``inspect`` can report all of them at once. Adding a format is adding one module and one
line to ``READERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..dataset import Dataset
from ..errors import UnreadableInput
from .files import check_file
from .json_reader import read_json, read_jsonl
from .labels import one_per_sequence, read_labels
from .numpy_reader import read_npy, read_npz
from .tables import TABLE_READERS, TableOptions, check_options

#: file suffix → reader(path, allow_pickle), tables' readers also take (…, table)
READERS: dict[str, Callable[..., Dataset]] = {
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".npy": read_npy,
    ".npz": read_npz,
    **TABLE_READERS,  # .csv .tsv .parquet .feather .arrow
}

__all__ = ["READERS", "Dataset", "TableOptions", "read", "read_labels"]


def read(
    path: str | Path,
    *,
    labels: str | Path | None = None,
    allow_pickle: bool = False,
    table: TableOptions | None = None,
) -> Dataset:
    """Read a sequence file (.json, .jsonl, .npy, .npz, .csv, .tsv, .parquet, .feather,
    .arrow), and labels from ``labels`` if given. ``table`` names a table's columns.

    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "two.json")
    >>> _ = open(path, "w").write(json.dumps({"sequences": [[1, 2, 3], [4]], "labels": [0, 1]}))
    >>> data = read(path)
    >>> data.format, data.ragged.lengths, data.ragged.n_features, data.labels
    ('json', array([3, 1]), 1, array([0, 1]))
    """
    path = Path(path)
    reader = READERS.get(check_file(path))
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise UnreadableInput(
            f"unknown file type {path.suffix or '(no extension)'!r}",
            path=str(path),
            hint=f"lstmprep reads {known}",
        )
    check_options(path.suffix.lower(), table)
    dataset = reader(path, allow_pickle, table) if table else reader(path, allow_pickle)
    dataset = replace(dataset, allow_pickle=allow_pickle)
    if labels is not None:
        dataset = replace(
            dataset,
            labels=read_labels(labels, allow_pickle=allow_pickle, ids=dataset.ids),
            labels_path=str(labels),
        )
    if dataset.labels is not None:
        values, notes = one_per_sequence(dataset.labels)
        dataset = replace(dataset, labels=values, notes=dataset.notes + notes)
    return dataset
