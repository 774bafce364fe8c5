"""Readers: one module per file format, each turning a file into a :class:`Dataset`.

A reader raises :class:`~lstmprep.errors.UnreadableInput` when the file cannot be read at all
(missing, malformed, unsafe) and otherwise records what is wrong with the data as problems, so
that ``inspect`` can report all of them at once. Adding a format is adding one module and one
line to ``READERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from ..dataset import Dataset
from ..errors import UnreadableInput, UsageError
from .files import check_file, compression_notes, expand, refuse_compressed_arrays
from .json_reader import read_json, read_jsonl
from .labels import one_per_sequence, read_labels
from .numpy_reader import read_npy, read_npz
from .samples import PER_SAMPLE, SHARDS, labels_by_file, read_files
from .ts_reader import read_ts

#: file suffix → reader(path, allow_pickle, channels_first=…)
READERS: dict[str, Callable[..., Dataset]] = {
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".npy": read_npy,
    ".npz": read_npz,
    ".ts": read_ts,
}

__all__ = ["READERS", "Dataset", "Source", "files_of", "read", "read_labels"]

#: What to read: a path (a file, a folder, a glob) or several.
Source = str | Path | Sequence[str | Path]


def files_of(source: Source, *, one_format: bool = True) -> list[Path]:
    """The files ``source`` names, found as :func:`read` finds them (``one_format=False``: a
    folder or glob may mix formats, for files read one by one)."""
    sources = [source] if isinstance(source, (str, Path)) else list(source)
    return expand(sources, one_format=one_format)[0]


def read(
    source: Source,
    *,
    labels: str | Path | None = None,
    allow_pickle: bool = False,
    channels_first: bool = False,
    layout: str | None = None,
) -> Dataset:
    """Read sequences from a file (.json, .jsonl, .npy, .npz, .ts), several, a folder or a glob.

    Several files are shards of one dataset or one sample per file (:mod:`.samples`);
    ``layout`` ("shards" or "per-sample") says which instead of the rule. ``channels_first``:
    each sample is stored (features, timesteps) and is transposed on read. ``labels``: a
    labels file (for one sample per file, also a CSV of file name, label).

    Text formats may be compressed (gzip, bzip2, xz, zstd): ``data.jsonl.gz``.

    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "two.json")
    >>> _ = open(path, "w").write(json.dumps({"sequences": [[1, 2, 3], [4]], "labels": [0, 1]}))
    >>> data = read(path)
    >>> data.format, data.ragged.lengths, data.ragged.n_features, data.labels
    ('json', array([3, 1]), 1, array([0, 1]))
    """
    if layout not in (None, SHARDS, PER_SAMPLE):
        raise UsageError(f"layout must be {SHARDS!r} or {PER_SAMPLE!r}, not {layout!r}")
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
        reader = READERS[check_file(path)]
        if reader in (read_npy, read_npz):
            refuse_compressed_arrays(path)
        dataset = reader(path, allow_pickle, channels_first=channels_first)
        return replace(dataset, notes=compression_notes(path) + dataset.notes)

    applied = None
    if several or layout == PER_SAMPLE:
        dataset, applied = read_files(paths, read_one, layout=layout, channels_first=channels_first)
        shown = (
            str(sources[0]) if len(sources) == 1 else f"{sources[0]} and {len(sources) - 1} more"
        )
        dataset = replace(dataset, path=shown, sources=tuple(map(str, sources)))
    else:
        dataset = replace(read_one(paths[0]), layout=layout)
    dataset = replace(dataset, allow_pickle=allow_pickle, channels_first=channels_first)
    if labels is not None:
        if applied == PER_SAMPLE and Path(labels).suffix.lower() == ".csv":
            values, notes = labels_by_file(Path(labels), dataset)
            dataset = replace(dataset, labels=values, notes=dataset.notes + notes)
        else:
            dataset = replace(dataset, labels=read_labels(labels, allow_pickle=allow_pickle))
        dataset = replace(dataset, labels_path=str(labels))
    if dataset.labels is not None:
        values, notes = one_per_sequence(dataset.labels)
        dataset = replace(dataset, labels=values, notes=dataset.notes + notes)
    return dataset
