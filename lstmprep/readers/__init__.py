"""Readers: one module per file format, each turning a file into a :class:`Dataset`.

A reader raises :class:`~lstmprep.errors.UnreadableInput` when the file cannot be read at all
(missing, malformed, unsafe) and otherwise records what is wrong with the data as problems, so
that ``inspect`` can report all of them at once. Adding a format is adding one module and one
line to ``READERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..dataset import Dataset
from ..errors import UnreadableInput, UsageError
from ..tokens import KINDS, with_kind
from .files import check_file, compression_notes, expand, refuse_compressed_arrays
from .json_reader import read_json, read_jsonl
from .labels import one_per_sequence, read_labels
from .numpy_reader import read_npy, read_npz
from .samples import PER_SAMPLE, SHARDS, labels_by_file, read_files
from .tables import TABLE_READERS, TableOptions, check_options
from .text_reader import read_txt
from .ts_reader import read_ts

#: file suffix → reader(path, allow_pickle, …): tables take ``table``, the others
#: ``channels_first``
READERS: dict[str, Callable[..., Dataset]] = {
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".npy": read_npy,
    ".npz": read_npz,
    ".ts": read_ts,
    ".txt": read_txt,
    **TABLE_READERS,  # .csv .tsv .parquet .feather .arrow
}

#: Formats read as they are (memory-mapped or by pyarrow): never compressed as a whole file.
BINARY = (".npy", ".npz", ".parquet", ".feather", ".arrow")

__all__ = [
    "READERS",
    "Dataset",
    "ReadOptions",
    "Source",
    "TableOptions",
    "files_of",
    "read",
    "read_labels",
]

#: What to read: a path (a file, a folder, a glob) or several.
Source = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class ReadOptions:
    """How to read a source: the options inspect, pad, window and train share (see
    :func:`read`). The library's commands take one of these as ``reading``, or its fields as
    keywords (``labels=…``), or both: :meth:`of`."""

    labels: str | Path | None = None
    allow_pickle: bool = False
    channels_first: bool = False
    layout: str | None = None
    kind: str | None = None
    table: TableOptions | None = None

    @classmethod
    def of(cls, reading: ReadOptions | None = None, **changes: Any) -> ReadOptions:
        """``reading`` (or the defaults) with ``changes``; an unknown name is a TypeError."""
        return replace(reading or cls(), **changes)

    def inputs(self, files: list[Path]) -> list[Path]:
        """The data ``files`` and the labels file: everything read, to watch and to protect."""
        return files + ([Path(self.labels)] if self.labels is not None else [])


def files_of(source: Source, *, one_format: bool = True) -> list[Path]:
    """The files ``source`` names, found as :func:`read` finds them (``one_format=False``: a
    folder or glob may mix formats, for files read one by one)."""
    sources = [source] if isinstance(source, (str, Path)) else list(source)
    return expand(sources, one_format=one_format)[0]


def read(source: Source, reading: ReadOptions | None = None, **changes: Any) -> Dataset:
    """Read sequences from a file (.json, .jsonl, .npy, .npz, .ts, .txt, .csv, .tsv, .parquet,
    .feather, .arrow), several, a folder or a glob, with the :class:`ReadOptions` ``reading``
    and ``changes`` to them (``read(path, labels="y.npy")``). ``table`` names a table's columns.

    Several files are shards of one dataset or one sample per file (:mod:`.samples`);
    ``layout`` ("shards" or "per-sample") says which instead of the rule. ``channels_first``:
    each sample is stored (features, timesteps) and is transposed on read. ``labels``: a
    labels file (for one sample per file, also a CSV of file name, label).

    Text formats may be compressed (gzip, bzip2, xz, zstd): ``data.jsonl.gz``.
    ``kind`` ("tokens" or "values") says what the numbers are; by default the reader or the
    data decides (:mod:`lstmprep.tokens`).

    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "two.json")
    >>> _ = open(path, "w").write(json.dumps({"sequences": [[1, 2, 3], [4]], "labels": [0, 1]}))
    >>> data = read(path)
    >>> data.format, data.ragged.lengths, data.ragged.n_features, data.labels
    ('json', array([3, 1]), 1, array([0, 1]))
    """
    reading = ReadOptions.of(reading, **changes)
    channels_first, allow_pickle = reading.channels_first, reading.allow_pickle
    if reading.kind not in (None, *KINDS):
        raise UsageError(f"--kind must be 'tokens' or 'values', not {reading.kind!r}")
    if reading.layout not in (None, SHARDS, PER_SAMPLE):
        raise UsageError(f"layout must be {SHARDS!r} or {PER_SAMPLE!r}, not {reading.layout!r}")
    sources = [source] if isinstance(source, (str, Path)) else list(source)
    paths, several = expand(sources)
    for path in paths:
        if check_file(path) not in READERS:
            known = ", ".join(sorted(READERS))
            raise UnreadableInput(
                f"unknown file type {path.suffix or '(no extension)'!r}",
                path=str(path),
                hint=f"lstmprep reads {known}",
            )

    def read_one(path: Path) -> Dataset:
        suffix = check_file(path)
        reader = READERS[suffix]
        check_options(suffix, reading.table)
        if suffix in BINARY:
            refuse_compressed_arrays(path)
        if suffix in TABLE_READERS:
            if channels_first:
                raise UsageError(
                    "--channels-first does not apply to a table: its rows are timesteps",
                    path=str(path),
                )
            dataset = reader(path, allow_pickle, reading.table)
        else:
            dataset = reader(path, allow_pickle, channels_first=channels_first)
        return replace(dataset, notes=compression_notes(path) + dataset.notes)

    applied = None
    if several or reading.layout == PER_SAMPLE:
        dataset, applied = read_files(
            paths, read_one, layout=reading.layout, channels_first=channels_first
        )
        shown = (
            str(sources[0]) if len(sources) == 1 else f"{sources[0]} and {len(sources) - 1} more"
        )
        dataset = replace(dataset, path=shown, sources=tuple(map(str, sources)))
    else:
        dataset = replace(read_one(paths[0]), layout=reading.layout)
    dataset = replace(dataset, allow_pickle=allow_pickle, channels_first=channels_first)
    if reading.labels is not None:
        if applied == PER_SAMPLE and Path(reading.labels).suffix.lower() == ".csv":
            values, notes = labels_by_file(Path(reading.labels), dataset)
            dataset = replace(dataset, labels=values, notes=dataset.notes + notes)
        else:
            dataset = replace(
                dataset,
                labels=read_labels(reading.labels, allow_pickle=allow_pickle, ids=dataset.ids),
            )
        dataset = replace(dataset, labels_path=str(reading.labels))
    if dataset.labels is not None:
        values, notes = one_per_sequence(dataset.labels)
        dataset = replace(dataset, labels=values, notes=dataset.notes + notes)
    return with_kind(dataset, reading.kind)
