"""Several files as one dataset: shards of one dataset, or one sample per file.

The rule: a folder, a glob or a list of files that are all 2-D ``.npy`` arrays is one sample
``(timesteps, features)`` per file; anything else is shards, each read by its format's reader
and concatenated in order. ``layout`` ("shards" or "per-sample") overrides the rule, and a note
says which reading was applied and how to choose the other. Every sequence remembers its file
(:attr:`Dataset.file_of`), so that every problem names it.

Labels for one sample per file can be a CSV that maps each file's name (or its name without
the extension) to its label.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..dataset import Dataset, Reported
from ..errors import UnreadableInput
from ..ragged import Ragged
from ..report import ProblemLog
from .files import read_bytes
from .json_text import decode, load_json
from .labels import labels_array
from .nested import PartOfWhole, from_nested
from .numpy_reader import load_npy, npy_header

SHARDS, PER_SAMPLE = "shards", "per-sample"
#: formats that can hold one sample per file
SAMPLE_SUFFIXES = (".npy", ".json")


def read_files(
    paths: list[Path],
    read_one: Callable[[Path], Dataset],
    *,
    layout: str | None = None,
    channels_first: bool = False,
) -> tuple[Dataset, str]:
    """Read ``paths`` as one dataset: shards (each with ``read_one``) or one sample per file.

    Returns the dataset and the reading applied, :data:`SHARDS` or :data:`PER_SAMPLE`.
    """
    chosen = layout or (PER_SAMPLE if all_2d_npy(paths) else SHARDS)
    if chosen == SHARDS:
        parts = [read_one(p) for p in paths]
        notes = shards_notes(paths, [part.notes for part in parts], chosen=bool(layout))
        return replace(_shards(paths, parts), notes=notes, layout=layout), chosen
    dataset = per_sample(paths, channels_first)
    note = per_sample_note(len(paths), chosen=bool(layout))
    return replace(dataset, notes=(note, *dataset.notes), layout=layout), chosen


def per_sample_note(files: int, chosen: bool) -> str:
    """The note of ``files`` files read one sample per file (``chosen``: as the user asked)."""
    how = "every file is one 2-D (timesteps, features) array"
    other = f"pass --{SHARDS} if each holds many univariate sequences"
    said = f"{_files(files)}, one sequence each"
    return f"{said} (as you chose)" if chosen else f"{said}: {how} — {other}"


def shards_notes(paths: list[Path], notes: list[tuple[str, ...]], chosen: bool) -> tuple[str, ...]:
    """The notes of files read as shards of one dataset: which reading was applied
    (``chosen``: the user asked for it) and how to choose the other, then each file's
    ``notes`` named by its file (three at most, and how many more)."""
    said = f"{_files(len(paths))} read as shards of one dataset"
    how = f"in name order — pass --{PER_SAMPLE} if each file is one sequence"
    named = [f"{path.name}: {n}" for path, some in zip(paths, notes, strict=True) for n in some]
    if len(named) > 3:
        named = named[:3] + [f"… and {len(named) - 3} more notes like these"]
    return (f"{said} (as you chose)" if chosen else f"{said}: {how}", *named)


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def all_2d_npy(paths: list[Path]) -> bool:
    """Whether every file is a numeric 2-D ``.npy`` array (only the headers are read)."""
    for path in paths:
        if path.suffix.lower() != ".npy":
            return False
        with open(path, "rb") as f:
            dtype = npy_header(f, path.stat().st_size, str(path), True)  # pickles are not loaded
        if dtype.kind not in "iufb" or load_npy(path, mmap_mode="r").ndim != 2:
            return False
    return True


def per_sample(
    paths: list[Path], channels_first: bool, first: int = 0, part: PartOfWhole | None = None
) -> Dataset:
    """One sequence per file: a ``.npy`` array or a ``.json`` list of timesteps.

    ``first``, ``part``: these files are a part of more, from sequence ``first`` on (read in
    chunks: their problems say the whole's sequence numbers, their places are their own)."""
    log = ProblemLog()
    samples: list = []
    broken = []
    for i, path in enumerate(paths):
        sample = _sample(path)
        if sample is None or (isinstance(sample, np.ndarray) and sample.ndim not in (1, 2)):
            shape = f"a {sample.ndim}-D array {sample.shape}" if sample is not None else "empty"
            log.add(
                "rank",
                f"sequence {first + i} ({path.name}) is {shape}: a file of one sample holds one "
                f"(timesteps, features) array — pass --{SHARDS} if each file holds many",
                i,
            )
            broken.append(i)
            sample = []
        samples.append(sample)
    converted = from_nested(
        samples, log, lambda i: f"sequence {first + i} ({paths[i].name})", channels_first, part=part
    )
    return Dataset(
        str(paths[0].parent),
        paths[0].suffix.lower().lstrip("."),
        converted.ragged,
        problems=tuple(log.problems()),
        reported=Reported(
            converted.bad_rows, np.union1d(converted.broken, np.array(broken, np.int64))
        ),
        files=tuple(map(str, paths)),
        file_of=np.arange(len(paths)),
    )


def _sample(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".npy":
        with open(path, "rb") as f:
            npy_header(f, path.stat().st_size, str(path), False)
        return load_npy(path)
    if suffix == ".json":
        return load_json(read_bytes(path), str(path))
    raise UnreadableInput(
        f"one sample per file reads {' and '.join(SAMPLE_SUFFIXES)} files",
        path=str(path),
        hint=f"pass --{SHARDS} to read each file as a dataset of its own",
    )


def _shards(paths: list[Path], parts: list[Dataset]) -> Dataset:
    """The shards concatenated; a shard whose timesteps have other features is reported."""
    rows = Counter[int]()
    for part in parts:
        rows[part.ragged.n_features] += len(part.ragged.values)
    width = rows.most_common(1)[0][0]
    log = ProblemLog()
    values, bad_rows, bad_sequences, lengths = [], [], [], []
    row = sequence = 0
    for path, part in zip(paths, parts, strict=True):
        ragged, name = part.ragged, path.name
        for p in part.problems:
            places = [replace(q, sequence=_shift(q.sequence, sequence)) for q in p.places]
            log.add_many(p.code, f"{name}: {p.message}", places, p.count)
        bad_rows.append(part.reported.rows + row)
        bad_sequences.append(part.reported.sequences + sequence)
        part_values = ragged.values
        if ragged.n_features != width:
            log.add(
                "feature-mismatch",
                other_width(sequence, name, ragged.n_features, width),
                sequence,
                0,
                count=len(part_values),
            )
            part_values = np.full((len(part_values), width), np.nan)
            bad_rows.append(np.arange(row, row + len(part_values)))
        values.append(part_values)
        lengths.append(ragged.lengths)
        row += len(part_values)
        sequence += len(ragged)
    has_lines = all(part.lines is not None for part in parts)
    has_value_lines = all(part.value_lines is not None for part in parts)
    dtypes = {part.dtype for part in parts}
    return Dataset(
        str(paths[0].parent),
        parts[0].format,
        Ragged(np.concatenate(values), np.concatenate(lengths)),
        labels=shard_labels(paths, [part.labels for part in parts], log),
        problems=tuple(log.problems()),
        reported=Reported(np.concatenate(bad_rows), np.concatenate(bad_sequences)),
        dtype=dtypes.pop() if len(dtypes) == 1 else "mixed",
        lines=np.concatenate([part.lines for part in parts]) if has_lines else None,
        value_lines=(
            np.concatenate([part.value_lines for part in parts]) if has_value_lines else None
        ),
        files=tuple(map(str, paths)),
        file_of=np.repeat(np.arange(len(parts)), [len(part.ragged) for part in parts]),
    )


def other_width(sequence: int, name: str, features: int, width: int) -> str:
    """The message for a shard whose timesteps have ``features``, the others ``width``."""
    return (
        f"sequence {sequence} ({name}): the timesteps of {name} have {features} features; the "
        f"other files have {width}: give every file the same features"
    )


def _shift(sequence: int | None, offset: int) -> int | None:
    return None if sequence is None else sequence + offset


def shard_labels(
    paths: list[Path], labels: list[np.ndarray | None], log: ProblemLog
) -> np.ndarray | None:
    """The shards' labels, one file's after the other's; a ``label-mismatch`` in ``log`` when
    some files hold labels and some do not."""
    have = [part is not None for part in labels]
    if not any(have):
        return None
    if not all(have):
        with_, without = (
            [p.name for p, h in zip(paths, have, strict=True) if h is flag][:3]
            for flag in (True, False)
        )
        log.add(
            "label-mismatch",
            f"some files hold labels ({', '.join(with_)}) and some do not "
            f"({', '.join(without)}): give labels in every file, or in one --labels file",
        )
        return None
    if len({(a.dtype.kind, a.shape[1:]) for a in labels}) == 1:  # type: ignore[union-attr]
        return np.concatenate(labels)  # type: ignore[arg-type]
    return labels_array([v for a in labels for v in a.tolist()])  # type: ignore[union-attr]


def labels_by_file(path: Path, dataset: Dataset) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels from a CSV of ``file,label`` rows (a header row is optional), in file order.

    A file is matched by its name or its name without the extension; a file without a label
    makes the labels file unusable (UnreadableInput, naming the files).
    """
    text = decode(read_bytes(path), str(path))
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    files = [Path(f) for f in dataset.files]
    known = {f.name for f in files} | {f.stem for f in files}
    if rows and rows[0][0].strip() not in known:
        rows = rows[1:]  # a header
    if not rows or any(len(r) < 2 for r in rows):
        line = next((i for i, r in enumerate(rows, 1) if len(r) < 2), 1)
        raise UnreadableInput(
            f"expected rows of file name, label (row {line} is not)",
            path=str(path),
            hint="write one row per file: sample_0001.npy,walking",
        )
    mapping = {r[0].strip(): r[1].strip() for r in rows}
    found = [mapping.get(f.name, mapping.get(f.stem)) for f in files]
    missing = [f.name for f, label in zip(files, found, strict=True) if label is None]
    if missing:
        raise UnreadableInput(
            f"no label for {len(missing)} of the {len(files)} files: "
            f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}",
            path=str(path),
            hint="give every file a row: its name (or name without extension), its label",
        )
    values = labels_array([_number(v) for v in found])
    unused = len(mapping) - len({f for f in mapping if f in known})
    notes = (f"{path.name}: {unused} labels name no file read and were left out",) if unused else ()
    return values, notes


def _number(text: str | None) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)  # type: ignore[arg-type]
        except ValueError:
            pass
    return text or ""


__all__ = ["PER_SAMPLE", "SHARDS", "labels_by_file", "read_files"]
