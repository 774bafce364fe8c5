"""Reading data a chunk at a time, for data larger than memory: consecutive sequences, each
chunk a :class:`~lstmprep.dataset.Dataset` of its own (see :mod:`lstmprep.checks`).

What streams: JSON lines (blocks of whole lines, read as :func:`.json_reader.read_jsonl` reads
the whole file, compressed files too), ``.npz`` files of ``values`` + ``lengths`` (slices of
the memory-mapped members), long CSV/TSV and Parquet tables (record batches cut between
sequences; unsorted ones by partitions), nested Parquet (record batches), and several files
read as shards, of any format: file by file, each in chunks when its format streams, else
whole; one sample per file in groups of files. What only the whole can decide (the most
common number of features, a table's first text cells, the channels-first signature) is
gathered over the chunks: :meth:`ChunkedRead.widths` says when to read again. A
:class:`ChunkedRead` reads the chunks in order and keeps, beside them, what the whole dataset
needs (each sequence's line, the labels, the notes), so that :meth:`ChunkedRead.outline` is
the dataset :func:`read` would give, without its values. Reading it twice gives the same
chunks (``pad``'s second pass).

A single JSON document cannot be cut into chunks without parsing all of it: it is refused with
the command that converts it to JSON lines (:func:`refuse_json`).
"""

from __future__ import annotations

import itertools
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

from ..dataset import Dataset
from ..errors import TooLarge, UnreadableInput
from ..memory import size_words
from ..ragged import Ragged, check_lengths
from ..report import Problem, ProblemLog
from . import ReadOptions, Source, read_file, read_labels_of
from .files import check_file, compression, compression_notes, expand, opened
from .json_reader import Block, jsonl_block
from .labels import labels_array
from .nested import PartOfWhole
from .numpy_reader import _from_array, _lengths, _npz_member
from .samples import (
    PER_SAMPLE,
    SHARDS,
    all_2d_npy,
    other_width,
    per_sample,
    per_sample_note,
    shard_labels,
    shards_notes,
)
from .tables import TextCells

#: Formats whose files are read in chunks; any other file is read whole (as one shard).
CHUNKED = (".jsonl", ".npz", ".csv", ".tsv", ".parquet")
#: The default size of a chunk's input.
CHUNK_BYTES = 32 << 20


@dataclass(frozen=True)
class Widths:
    """The numbers of features the data read whole has, when its chunks' differ: each file's
    most common width (its JSON lines blocks are read against it) and each file's rows; with
    several files, ``common`` (the width most rows have: a file of another is reported whole).
    """

    files: tuple[int, ...]
    rows: tuple[int, ...]
    common: int
    #: each file: whether it has the channels-first signature (read whole, one error says so)
    transposed: tuple[bool, ...] = ()


@dataclass(frozen=True, eq=False)
class Chunk:
    """Consecutive sequences: ``dataset`` (its reader's problems name global places) starting
    at sequence ``start``, and how far through the input (``done`` of ``total`` bytes)."""

    dataset: Dataset
    start: int
    done: int
    total: int


def streamable(paths: list[Path], reading: ReadOptions) -> str | None:
    """Why these files cannot be read in chunks, or ``None`` when they can."""
    if reading.channels_first:
        return "--channels-first data is read whole"
    if len(paths) == 1 and check_file(paths[0]) not in CHUNKED:
        return f"a {check_file(paths[0])} file is read whole"
    return None


def refuse_json(path: Path, needed: int, budget: int) -> TooLarge:
    """The error for a JSON document too large to read whole: convert it to JSON lines."""
    import shlex

    with opened(path) as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    lines = str(path.with_name(path.name.split(".")[0] + ".jsonl"))
    program = (
        ".labels as $l | .sequences | to_entries[] | {sequence: .value, label: $l[.key]}"
        if head.startswith(b"{")
        else ".[]"
    )
    codec = compression(path)
    if codec is None:
        convert = f"{shlex.join(['jq', '-c', program, str(path)])} > {shlex.quote(lines)}"
    else:  # jq reads plain text: decompress on the way
        unpack = shlex.join(
            [{"bzip2": "bzip2", "xz": "xz", "zstd": "zstd"}.get(codec, "gzip"), "-dc", str(path)]
        )
        convert = f"{unpack} | {shlex.join(['jq', '-c', program])} > {shlex.quote(lines)}"
    return TooLarge(
        f"reading this JSON document needs about {size_words(needed)} of memory, but only "
        f"{size_words(budget)} is available, and one JSON document cannot be read in parts",
        path=str(path),
        hint=f"convert it to JSON lines (a sequence a line), which lstmprep reads in parts: "
        f"`{convert}`",
    )


class ChunkedRead:
    """The chunks of ``source``, read with ``reading``; ``kind`` is given to every chunk.

    Iterate it for the chunks; then :meth:`outline` is the whole dataset without its values.
    """

    def __init__(
        self,
        source: Source,
        reading: ReadOptions,
        kind: str | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        unsorted: bool = False,
        widths: Widths | None = None,
        scratch: Path | None = None,
    ):
        """``unsorted``: read long tables by partitions (:class:`_Partitions`), for tables
        whose sequences' rows are not together (reading them as they come raised
        :class:`Unsorted`). ``widths``: the whole data's numbers of features, when a first
        reading found that its chunks' differ (:meth:`widths`). ``scratch``: the work files
        of partitions are named as the temporary files of this output, beside it
        (:func:`lstmprep.output.scratch_folder`)."""
        self.unsorted, self.forced, self.scratch = unsorted, widths, scratch
        self.sources = [source] if isinstance(source, (str, Path)) else list(source)
        self.paths, self.several = expand(self.sources)
        self.reading, self.kind, self.chunk_bytes = reading, kind, chunk_bytes
        self.total = sum(p.stat().st_size for p in self.paths)
        self._files: list[_File] = []
        #: one sample per file (read in groups of files, as :func:`.samples.read_files` reads)
        self.per_sample = reading.layout == PER_SAMPLE or (
            self.several and reading.layout is None and all_2d_npy(self.paths)
        )

    def __iter__(self) -> Iterator[Chunk]:
        self._files = []
        self._rows = RowLines()
        if self.per_sample:
            yield from self._samples()
            return
        start = done = 0
        for index, path in enumerate(self.paths):
            file = _File(path)
            self._files.append(file)
            first = start
            if self.forced is not None:
                file.nested.features = self.forced.files[index]
                file.nested.transposed = self.forced.transposed[index]
            read = _last(self._read(path, start, index, file))
            for (dataset, size, block), last in read:
                if last:  # what the whole file says: a table's text cells, its signature
                    dataset = _whole_problems(dataset, file)
                n = len(dataset.ragged)
                file.add(dataset, n, block, last)
                if dataset.value_lines is not None:
                    self._rows.add(dataset.value_lines, dataset.ragged.lengths, start)
                if self.several:
                    dataset = _as_shard(dataset, path, index)
                    dataset = self._other_width(dataset, index, first, last)
                dataset = replace(
                    dataset,
                    kind=self.kind or dataset.kind,
                    lines=None,
                    labels=None,
                    value_lines=None,
                    allow_pickle=self.reading.allow_pickle,
                )
                done += size
                yield Chunk(dataset, start, min(done, self.total), self.total)
                start += n
            done = sum(f.path.stat().st_size for f in self._files)

    def _samples(self) -> Iterator[Chunk]:
        """One sample per file: groups of about a chunk's bytes of files, each read as the
        files are read together (:func:`.samples.per_sample`), their sequences numbered in
        the whole."""
        file = _File(self.paths[0].parent)
        self._files = [file]
        part = file.nested
        part.read = True
        if self.forced is not None:
            part.features, part.transposed = self.forced.files[0], self.forced.transposed[0]
        sizes = [p.stat().st_size for p in self.paths]
        cuts = [0]
        while cuts[-1] < len(sizes):
            end, taken = cuts[-1], 0
            while end < len(sizes) and (taken < self.chunk_bytes or end == cuts[-1]):
                taken += sizes[end]
                end += 1
            cuts.append(end)
        done = 0
        for (a, b), last in _last(zip(cuts, cuts[1:], strict=False)):
            dataset = per_sample(self.paths[a:b], False, a, part)
            if last:
                dataset = _whole_problems(dataset, file)
            file.add(dataset, b - a, None, last)
            done += sum(sizes[a:b])
            dataset = replace(
                dataset,
                kind=self.kind,
                file_of=np.arange(a, b),
                allow_pickle=self.reading.allow_pickle,
            )
            yield Chunk(dataset.shifted(a), a, done, self.total)

    def _shown(self) -> str:
        """The input as the user gave it."""
        shown = str(self.sources[0])
        if len(self.sources) > 1:
            shown = f"{self.sources[0]} and {len(self.sources) - 1} more"
        return shown

    def _other_width(self, dataset: Dataset, index: int, first: int, last: bool) -> Dataset:
        """A chunk of a file whose timesteps have other features than most files': its rows
        unreadable, and after its last chunk the file reported, as reading the files whole
        does (:func:`.samples._shards`)."""
        forced = self.forced
        if forced is None or forced.files[index] == forced.common:
            return dataset
        ragged, rows = dataset.ragged, len(dataset.ragged.values)
        values = np.full((rows, forced.common), np.nan)
        reported = replace(
            dataset.reported, rows=np.union1d(dataset.reported.rows, np.arange(rows))
        )
        problems = dataset.problems
        if last:
            log = ProblemLog()
            log.extend(problems)
            name = self.paths[index].name
            message = other_width(first, name, forced.files[index], forced.common)
            log.add("feature-mismatch", message, first, 0, count=forced.rows[index])
            problems = tuple(log.problems())
        return replace(
            dataset,
            ragged=Ragged(values, ragged.lengths),
            reported=reported,
            problems=problems,
        )

    def widths(self) -> Widths | None:
        """After reading: the whole data's numbers of features when its chunks' differ
        (read again with them), else ``None``."""
        files = self._files
        transposed = tuple(f.nested.signature() for f in files)
        own = [
            1 if t or not f.widths else f.widths.most_common(1)[0][0]
            for f, t in zip(files, transposed, strict=True)
        ]
        rows = Counter[int]()
        for f, width in zip(files, own, strict=True):
            rows[width] += f.rows
        common = rows.most_common(1)[0][0] if rows else 1
        differ = any(
            w != width for f, width in zip(files, own, strict=True) for w in f.chunk_widths
        )
        if not differ and not any(transposed) and (not self.several or len(set(own)) <= 1):
            return None
        return Widths(tuple(own), tuple(f.rows for f in files), common, transposed)

    def _read(
        self, path: Path, start: int, index: int, file: _File
    ) -> Iterator[tuple[Dataset, int, Block | None]]:
        """(a chunk of ``path``, the bytes of the file it took, the JSON lines block read);
        what a table's chunks find for the whole goes to ``file``."""
        suffix = check_file(path)
        if suffix == ".jsonl" and not self.reading.channels_first:
            yield from _jsonl_chunks(path, start, self.chunk_bytes, file.nested)
            return
        parts: Any = None
        if suffix == ".npz":
            parts = _npz_chunks(path, self.reading, self.chunk_bytes)
        elif suffix in (".csv", ".tsv", ".parquet"):
            parts = _table_chunks(
                path,
                self.reading,
                self.chunk_bytes,
                start,
                self.unsorted,
                file.texts,
                self.scratch,
                file.nested,
            )
        if parts is not None:
            for dataset, size in parts:
                yield dataset, size, None
        else:
            whole = read_file(path, self.reading)
            yield whole.shifted(start), path.stat().st_size, None

    def outline(self, lengths: np.ndarray, features: int, kind: str | None) -> Dataset:
        """The dataset the chunks make together, as :func:`read` gives it, without values
        (:func:`lstmprep.checks.outline` puts the merged lengths in): its path, notes,
        labels (the labels file's too), the line of each sequence, the files. ``kind``: as
        the merged data says."""
        files = self._files
        first = files[0]
        if self.per_sample:
            return self._samples_outline(features, kind)
        log = ProblemLog()
        labels = first.labels()
        dtypes = {f.dtype for f in files}
        if self.several:
            labels = shard_labels(self.paths, [f.labels() for f in files], log)
        exact = all(f.exact for f in files) if self.several else first.exact
        lines = np.concatenate([f.line_array() for f in files]) if exact else None
        rows = self._rows if all(f.value_lines for f in files) else None
        dataset = Dataset(
            str(self.paths[0]),
            first.format,
            Ragged(np.empty((0, features)), np.zeros(0, np.int64)),
            labels=labels,
            problems=tuple(log.problems()),
            notes=self._notes(),
            dtype=dtypes.pop() if len(dtypes) == 1 else "mixed",
            lines=lines,
            value_lines=cast(np.ndarray, rows),  # indexed by flat row, as an array is
            table=first.table,
        )
        applied = None
        if self.several:
            applied = SHARDS
            dataset = replace(
                dataset,
                path=self._shown(),
                sources=tuple(map(str, self.sources)),
                files=tuple(map(str, self.paths)),
                file_of=np.repeat(np.arange(len(files)), [f.sequences for f in files]),
            )
        dataset = replace(dataset, layout=self.reading.layout)
        dataset = read_labels_of(dataset, self.reading, applied)
        from ..tokens import with_kind

        return with_kind(replace(dataset, kind=first.reader_kind), self.reading.kind, kind)

    def _samples_outline(self, features: int, kind: str | None) -> Dataset:
        """:meth:`outline` of one sample per file, as :func:`.samples.read_files` reads it."""
        from ..tokens import with_kind

        paths = self.paths
        dataset = Dataset(
            self._shown(),
            paths[0].suffix.lower().lstrip("."),
            Ragged(np.empty((0, features)), np.zeros(0, np.int64)),
            notes=(per_sample_note(len(paths), chosen=bool(self.reading.layout)),),
            files=tuple(map(str, paths)),
            file_of=np.arange(len(paths)),
            layout=self.reading.layout,
            sources=tuple(map(str, self.sources)),
        )
        return with_kind(read_labels_of(dataset, self.reading, PER_SAMPLE), self.reading.kind, kind)

    def _notes(self) -> tuple[str, ...]:
        if not self.several:
            return self._files[0].notes
        paths, notes = [f.path for f in self._files], [f.notes for f in self._files]
        return shards_notes(paths, notes, chosen=bool(self.reading.layout))

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Problems the files make together (labels in some files and not in others)."""
        log = ProblemLog()
        if self.several and not self.per_sample:
            shard_labels(self.paths, [f.labels() for f in self._files], log)
        return tuple(log.problems())


@dataclass(eq=False)
class _File:
    """What the chunks of one file leave for the whole: lines, labels, notes."""

    path: Path
    format: str = ""
    notes: tuple[str, ...] = ()
    dtype: str = "float64"
    reader_kind: str | None = None
    sequences: int = 0
    #: whether the reader gives each sequence's line (JSON lines: one block that is not plainly
    #: numeric makes the whole file take the exact path, which keeps them)
    exact: bool | None = None
    lines: list[np.ndarray] = field(default_factory=list)
    raw_labels: list[Any] = field(default_factory=list)
    label_arrays: list[np.ndarray] = field(default_factory=list)
    any_label: bool = False
    value_lines: bool = True
    table: Any = None
    #: how many readable timesteps have each number of features; the chunks' widths; the rows
    widths: Counter[int] = field(default_factory=Counter)
    chunk_widths: set[int] = field(default_factory=set)
    rows: int = 0
    #: a long table's text cells; a nested table's widths and reading
    texts: TextCells = field(default_factory=TextCells)
    nested: PartOfWhole = field(default_factory=PartOfWhole)

    def add(self, dataset: Dataset, n: int, block: Block | None, last: bool = False) -> None:
        if not self.format:
            self.format, self.notes, self.dtype = dataset.format, dataset.notes, dataset.dtype
            self.reader_kind, self.table = dataset.kind, dataset.table
        self.sequences += n
        ragged = dataset.ragged
        self.rows += len(ragged.values)
        if len(ragged.values):
            self.chunk_widths.add(ragged.n_features)
            if block is None:
                self.widths[ragged.n_features] += len(ragged.values)
        if last and self.nested.read:  # read in parts of a whole: its widths, as read whole
            self.widths = self.nested.widths
            if self.nested.exact:  # one part not plainly numeric: all read on the exact path
                self.notes, self.dtype = self.nested.notes, "float64"
        self.value_lines = self.value_lines and dataset.value_lines is not None
        if block is not None:  # a JSON lines block: lines, and labels as written
            self.exact = bool(self.exact) or block.exact
            self.lines.append(block.lines)
            self.raw_labels += block.labels if block.labels is not None else [None] * n
            self.any_label = self.any_label or block.labels is not None
        else:
            self.exact = (self.exact is not False) and dataset.lines is not None
            if dataset.lines is not None:
                self.lines.append(dataset.lines)
            if dataset.labels is not None:
                self.label_arrays.append(dataset.labels)

    def line_array(self) -> np.ndarray:
        return np.concatenate(self.lines) if self.lines else np.zeros(0, np.int64)

    def labels(self) -> np.ndarray | None:
        if self.any_label:
            return labels_array(self.raw_labels)
        arrays = self.label_arrays
        if len(arrays) <= 1:
            return arrays[0] if arrays else None
        if len({(a.dtype.kind, a.shape[1:]) for a in arrays}) == 1:
            return np.concatenate(arrays)
        return labels_array([v for a in arrays for v in a.tolist()])


def _whole_problems(dataset: Dataset, file: _File) -> Dataset:
    """The last chunk of a file, with the problems only the whole file can tell: a table's
    text cells (:class:`.tables.TextCells`), the channels-first signature of all of it."""
    if not file.texts.counts and not file.nested.transposed:
        return dataset
    log = ProblemLog()
    log.extend(dataset.problems + file.texts.problems())
    if file.nested.transposed:
        file.nested.transposed_problem(log)
    return replace(dataset, problems=tuple(log.problems()))


def _last(items: Iterator[Any]) -> Iterator[tuple[Any, bool]]:
    """Each item, and whether it is the last."""
    previous: Any = None
    for item in items:
        if previous is not None:
            yield previous, False
        previous = item
    if previous is not None:
        yield previous, True


def _as_shard(dataset: Dataset, path: Path, index: int) -> Dataset:
    """A chunk of one of several files: its problems say the file, its sequences' file."""
    problems = tuple(replace(p, message=f"{path.name}: {p.message}") for p in dataset.problems)
    file_of = np.full(len(dataset.ragged), index, dtype=np.int64)
    return replace(dataset, problems=problems, file_of=file_of)


# --- JSON lines ----------------------------------------------------------------------------------


def _jsonl_chunks(
    path: Path, start: int, chunk_bytes: int, part: PartOfWhole | None = None
) -> Iterator[tuple[Dataset, int, Block]]:
    """Blocks of about ``chunk_bytes`` of whole lines, each read as the whole file is; with
    the bytes of the file each took (compressed files: all at the end). ``part`` gathers
    what the whole file needs (:meth:`ChunkedRead.widths`)."""
    part = part or PartOfWhole()
    part.read = True
    notes = compression_notes(path)
    line, carry = 1, b""
    compressed = compression(path) is not None
    with opened(path) as f:
        while True:
            block = f.read(chunk_bytes)
            data = carry + block if carry else block
            if block:
                cut = data.rfind(b"\n") + 1
                if not cut:  # one line longer than a chunk: read on
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            elif not data:
                return
            else:
                carry = b""
            read = jsonl_block(path, data, line, start, part=part)
            dataset = replace(read.dataset, notes=notes + read.dataset.notes)
            yield dataset, 0 if compressed and block else len(data), read
            line += data.count(b"\n")
            start += len(dataset.ragged)
            if not block:
                return


# --- .npz of values + lengths --------------------------------------------------------------------


def _npz_chunks(
    path: Path, reading: ReadOptions, chunk_bytes: int
) -> list[tuple[Dataset, int]] | None:
    """Slices of a stored ``values`` + ``lengths`` archive (memory-mapped), or ``None`` for
    any other archive (read whole, which also says what is wrong with it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n.removesuffix(".npy"): archive.getinfo(n) for n in archive.namelist()}
            if "values" not in names or "lengths" not in names or "x" in names or "x_0" in names:
                return None
            arrays = {
                k: _npz_member(archive, info, path, reading.allow_pickle)
                for k, info in names.items()
                if k in ("values", "lengths", "y", "labels")
            }
        values = arrays["values"]
        if not isinstance(values, np.memmap) or values.dtype.kind not in "iuf":
            return None
        values = values.reshape(-1, 1) if values.ndim == 1 else values
        lengths = check_lengths(_lengths(arrays["lengths"], path), len(values))
    except (zipfile.BadZipFile, OSError, UnreadableInput, ValueError):
        return None
    if values.ndim != 2 or not values.shape[1]:
        return None
    labels = arrays.get("y", arrays.get("labels"))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    rows = max(1, chunk_bytes // (values.shape[1] * 8))
    cuts = [0]
    while cuts[-1] < len(lengths):
        end = int(np.searchsorted(offsets, offsets[cuts[-1]] + rows, side="right")) - 1
        cuts.append(min(len(lengths), max(cuts[-1] + 1, end)))
    chunks = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        part = _from_array(path, "npz", values[offsets[a] : offsets[b]], lengths[a:b])
        size = int((offsets[b] - offsets[a]) * values.shape[1] * values.itemsize)
        chunks.append((replace(part, labels=labels if a == 0 else None), size))
    return chunks or None


class RowLines:
    """The line of each flat row (timestep) of a CSV table read in chunks, kept small: a
    sequence whose rows are consecutive lines in time order keeps its first line only; the
    others keep every line. Indexed by global flat row, as ``Dataset.value_lines`` is."""

    def __init__(self) -> None:
        self._starts: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._explicit: dict[int, np.ndarray] = {}
        self._index: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, value_lines: np.ndarray, lengths: np.ndarray, first: int) -> None:
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        starts = value_lines[np.minimum(offsets[:-1], max(len(value_lines) - 1, 0))]
        within = np.arange(len(value_lines)) - np.repeat(offsets[:-1], lengths)
        odd = np.flatnonzero(value_lines != np.repeat(starts, lengths) + within)
        for s in np.unique(np.searchsorted(offsets, odd, side="right") - 1):
            self._explicit[first + int(s)] = value_lines[offsets[s] : offsets[s + 1]].copy()
        self._starts.append(starts if len(value_lines) else np.zeros(len(lengths), np.int64))
        self._lengths.append(lengths)
        self._index = None

    def __getitem__(self, row: int) -> int:
        if self._index is None:
            lengths = np.concatenate(self._lengths)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            self._index = (np.concatenate(self._starts), offsets)
        starts, offsets = self._index
        s = int(np.searchsorted(offsets, row, side="right") - 1)
        if s in self._explicit:
            return int(self._explicit[s][row - offsets[s]])
        return int(starts[s] + row - offsets[s])


# --- tables: CSV/TSV, Parquet --------------------------------------------------------------------


class Unsorted(Exception):
    """A long table whose sequences' rows are not together: read it again by partitions."""


def _table_chunks(
    path: Path,
    reading: ReadOptions,
    chunk_bytes: int,
    start: int,
    unsorted: bool = False,
    texts: TextCells | None = None,
    scratch: Path | None = None,
    nested: PartOfWhole | None = None,
) -> Iterator[tuple[Dataset, int]] | None:
    """Record batches of a long table, cut between sequences (``None``: read it whole —
    nested tables, compressed CSV). A sequence's rows must be together (in any time order):
    an id met again after other ids raises :class:`Unsorted`; read it again with
    ``unsorted`` (:class:`_Partitions`). The text cells go to ``texts``: their problem is
    the whole table's (:meth:`.tables.TextCells.problems`, once every chunk is read)."""
    import pyarrow as pa

    from .tables import (
        ID_NAMES,
        NULLS,
        TIME_NAMES,
        TableOptions,
        _from_table,
        _guess,
        _is_list,
        _line,
        _no_nulls,
        _row,
        _unreadable,
        broken_row,
        check_header,
    )

    suffix = check_file(path)
    options = reading.table or TableOptions()
    broken: list[Any] = []  # CSV rows with another number of fields than the header
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            file = pq.ParquetFile(path, memory_map=True)
            schema = file.schema_arrow
            row_bytes = 8 * max(1, len(schema))
            batches: Iterator[Any] = file.iter_batches(batch_size=max(1, chunk_bytes // row_bytes))
            where, fmt = _row, "parquet"
        else:
            import pyarrow.csv as pcsv

            if compression(path) is not None:
                return None
            delimiter = "," if suffix == ".csv" else "\t"
            with open(path, "rb") as f:
                check_header(path, f.read(1 << 16), delimiter)

            def invalid(row: Any) -> str:
                broken.append(row)
                return "error"

            reader = pcsv.open_csv(
                path,
                # small blocks: the reader reads ahead several of them
                read_options=pcsv.ReadOptions(
                    block_size=max(1 << 16, chunk_bytes // 16), use_threads=False
                ),
                parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=invalid),
                convert_options=pcsv.ConvertOptions(null_values=NULLS, strings_can_be_null=True),
            )
            schema, batches = reader.schema, iter(reader)
            where, fmt = _line, suffix.lstrip(".")
    except (OSError, ValueError) as e:  # ArrowInvalid is a ValueError
        if broken:
            raise broken_row(path, broken[0]) from None
        raise _unreadable(path, "Parquet" if suffix == ".parquet" else "CSV", e) from None
    texts = texts or TextCells()
    texts.where = where
    names = schema.names
    lists = [n for n in names if _is_list(schema.field(n).type)]
    if options.sequence_column is not None or lists:
        if suffix != ".parquet":  # pragma: no cover - CSV has no list columns
            return None
        return _nested_chunks(path, file, options, lists, start, chunk_bytes, nested)
    taken = {n for n in (options.time_column, options.label_column) if n}
    id_column = options.id_column or _guess(names, ID_NAMES, taken)
    if id_column is None or id_column not in names:
        return None  # the reader of the whole file says what is wrong
    size = path.stat().st_size
    total_rows = file.metadata.num_rows if suffix == ".parquet" else None

    def failed(e: Exception) -> Exception:
        if isinstance(e, UnreadableInput):
            return e
        if broken:
            return broken_row(path, broken[0])
        return _unreadable(path, "Parquet" if suffix == ".parquet" else "CSV", e)

    if unsorted:
        time_column = options.time_column or _guess(
            names,
            TIME_NAMES,
            {n for n in (options.id_column, options.label_column) if n} | {id_column},
        )
        route = _Partitions(
            path, fmt, reading, id_column, time_column, where, chunk_bytes, failed, texts, scratch
        )
        return route.chunks(batches, start)

    def chunks() -> Iterator[tuple[Dataset, int]]:
        pending: list[Any] = []
        first_row, sequence = 0, start
        seen: set[Any] = set()
        per_row = size / total_rows if total_rows else None
        try:
            for batch in batches:
                if per_row is None and batch.num_rows:  # a CSV batch is a block of text
                    per_row = min(size, max(1 << 16, chunk_bytes // 16)) / batch.num_rows
                pending.append(batch)
                if sum(b.num_rows for b in pending) * (per_row or 0) < chunk_bytes:
                    continue  # a chunk's worth of input first
                table = pa.Table.from_batches(pending)
                ids = table.column(id_column).to_numpy(zero_copy_only=False)
                other = np.flatnonzero(ids != ids[-1]) if len(ids) else np.empty(0, np.int64)
                if not len(other):
                    continue  # one sequence so far: read on
                cut = int(other[-1]) + 1
                pending = [b for b in table.slice(cut).to_batches() if b.num_rows]
                part = table.slice(0, cut)
                dataset = chunk(part, ids[:cut], first_row, sequence, seen, pending)
                yield dataset, int(cut * (per_row or 0))
                first_row += cut
                sequence += len(dataset.ragged)
            if pending:
                table = pa.Table.from_batches(pending)
                ids = table.column(id_column).to_numpy(zero_copy_only=False)
                yield chunk(table, ids, first_row, sequence, seen, []), size
        except (OSError, ValueError) as e:
            raise failed(e) from None

    def chunk(
        table: Any, ids: np.ndarray, first_row: int, sequence: int, seen: set, rest: list[Any]
    ) -> Dataset:
        """``rest``: the batches read after ``table`` and not yet taken."""
        column = table.column(id_column).combine_chunks()

        def empty() -> int:  # in the whole file: the rest read too
            later = itertools.chain(rest, batches)
            return int(column.null_count) + sum(b.column(id_column).null_count for b in later)

        _no_nulls(column, id_column, path, lambda row: where(row + first_row), empty)
        # every id begins a run of equal ids: the runs' first ids are all the ids, fewer
        firsts = ids[np.flatnonzero(ids[1:] != ids[:-1]) + 1] if len(ids) else ids
        met = set(firsts.tolist()) | set(ids[:1].tolist())
        again = met & seen
        if again:
            raise Unsorted(str(path))
        seen |= met
        dataset = _from_table(path, fmt, table, reading.table, where, first_row, sequence, texts)
        return dataset.shifted(sequence)

    return chunks()


def _nested_chunks(
    path: Path,
    file: Any,
    options: Any,
    lists: list[str],
    start: int,
    chunk_bytes: int,
    nested: PartOfWhole | None,
) -> Iterator[tuple[Dataset, int]]:
    """Record batches of a nested Parquet file (one sequence per row), each read as the
    whole file is (:func:`.tables._nested`); ``nested`` gathers what the whole needs."""
    from .tables import _check_columns, _nested, _unreadable

    nested = nested or PartOfWhole()
    nested.read = True
    meta = file.metadata
    rows = meta.num_rows
    stored = sum(meta.row_group(k).total_byte_size for k in range(meta.num_row_groups))
    per_row = max(1.0, stored / max(rows, 1))
    size = path.stat().st_size
    first = start
    import pyarrow as pa

    try:
        for k, batch in enumerate(file.iter_batches(batch_size=max(1, int(chunk_bytes / per_row)))):
            table = pa.Table.from_batches([batch])
            if k == 0:
                _check_columns(path, table.column_names, options)
            row = first - start
            dataset = _nested(path, "parquet", table, options, lists, row, nested)
            if nested.exact and not nested.notes:
                nested.notes = dataset.notes
            first += len(dataset.ragged)
            yield dataset.shifted(first - len(dataset.ragged)), int(size * batch.num_rows / rows)
    except (OSError, ValueError) as e:  # ArrowInvalid is a ValueError
        raise _unreadable(path, "Parquet", e) from None


class _Partitions:
    """An unsorted long table (a sequence's rows anywhere in the file, its times in any order)
    read in bounded memory, as chunks of consecutive sequences that read as the whole table
    does: sequences are numbered in order of first appearance, as :func:`.tables._long` numbers
    them.

    1. The record batches are written to a temporary Arrow file with each row's sequence
       number and row number; each sequence's rows are counted (memory: the ids).
    2. Sequences are cut into ranges of about ``chunk_bytes`` of input; that file is split
       into one file per range, each row kept in file order.
    3. Each range is read whole, as a table of its own (its rows numbered as in the file, for
       the places), and given as one chunk.
    """

    def __init__(
        self,
        path: Path,
        fmt: str,
        reading: ReadOptions,
        id_column: str,
        time_column: str | None,
        where: Any,
        chunk_bytes: int,
        failed: Any,
        texts: TextCells,
        scratch: Path | None = None,
    ):
        self.path, self.fmt, self.reading = path, fmt, reading
        self.id_column, self.time_column, self.where = id_column, time_column, where
        self.chunk_bytes, self.failed = chunk_bytes, failed
        #: where the partitions' text cells go, for the whole table's problem
        self.texts = texts
        #: the work files are named as this output's temporary files, beside it
        self.scratch = scratch

    def chunks(self, batches: Iterator[Any], start: int) -> Iterator[tuple[Dataset, int]]:
        from ..output import scratch_folder

        with scratch_folder(self.scratch) as folder:
            try:
                counts = self._number(batches, Path(folder) / "rows.arrow")
                if counts is None:
                    return
                cuts = self._split(Path(folder), counts)
            except (OSError, ValueError) as e:  # ArrowInvalid is a ValueError
                raise self.failed(e) from None
            size, total = self.path.stat().st_size, int(counts.sum())
            for k, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
                yield (
                    self._part(Path(folder) / f"part-{k}.arrow", start + a),
                    int(size * counts[a:b].sum() / total),
                )

    def _number(self, batches: Iterator[Any], rows_path: Path) -> np.ndarray | None:
        """Pass over the input: each row's sequence and row number, into ``rows_path``; the
        rows of each sequence (``None``: no row)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from .tables import _no_nulls

        known: Any = None  # the ids met, in order of first appearance
        counts = np.zeros(0, np.int64)
        first_row = 0
        writer: Any = None
        with pa.OSFile(str(rows_path), "wb") as sink:
            pending: list[Any] = []
            for batch in itertools.chain(batches, [None]):
                if batch is not None:
                    pending.append(batch)
                    if sum(b.nbytes for b in pending) < self.chunk_bytes:
                        continue
                if not pending:
                    break
                table = pa.Table.from_batches(pending).combine_chunks()
                pending = []
                if not table.num_rows:
                    continue
                n = table.num_rows

                def at(row: int, first: int = first_row) -> str:
                    return cast(str, self.where(row + first))

                ids = table.column(self.id_column).combine_chunks()

                def empty(ids: Any = ids) -> int:  # in the whole file: the rest read too
                    return int(ids.null_count) + sum(
                        b.column(self.id_column).null_count for b in batches
                    )

                ids = _no_nulls(ids, self.id_column, self.path, at, empty)
                if known is None:
                    known = pc.unique(ids)
                else:
                    new = ids.filter(pc.is_null(pc.index_in(ids, value_set=known)))
                    if len(new):
                        known = pa.concat_arrays([known, pc.unique(new)])
                codes = pc.index_in(ids, value_set=known).to_numpy().astype(np.int64)
                counts = np.concatenate([counts, np.zeros(len(known) - len(counts), np.int64)])
                counts += np.bincount(codes, minlength=len(known))
                table = table.append_column("__seq", pa.array(codes))
                table = table.append_column("__row", pa.array(np.arange(first_row, first_row + n)))
                if writer is None:
                    writer = pa.ipc.new_file(sink, table.schema)
                writer.write_table(table)
                first_row += n
            if writer is None:
                return None
            writer.close()
        return counts

    def _split(self, folder: Path, counts: np.ndarray) -> list[int]:
        """The rows file split into files of consecutive sequences (in file order within
        each); the first sequence of each, and the end. Checks the time column, in file
        order, as the whole file's reader does."""
        import pyarrow as pa

        from .tables import _times

        total = int(counts.sum())
        per_row = self.path.stat().st_size / total
        rows = max(1, int(self.chunk_bytes / per_row), total // 256)  # at most ~256 files
        offsets = np.concatenate([[0], np.cumsum(counts)])
        cuts = [0]
        while cuts[-1] < len(counts):
            end = int(np.searchsorted(offsets, offsets[cuts[-1]] + rows, side="right")) - 1
            cuts.append(min(len(counts), max(cuts[-1] + 1, end)))
        part_of = np.repeat(np.arange(len(cuts) - 1), np.diff(cuts))
        rows_path = folder / "rows.arrow"
        with pa.OSFile(str(rows_path), "rb") as source:
            reader = pa.ipc.open_file(source)
            sinks = [pa.OSFile(str(folder / f"part-{k}.arrow"), "wb") for k in range(len(cuts) - 1)]
            writers = [pa.ipc.new_file(s, reader.schema) for s in sinks]
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                numbers = batch.column("__row").to_numpy()

                def at(row: int, numbers: np.ndarray = numbers) -> str:
                    return cast(str, self.where(int(numbers[row])))

                if self.time_column is not None:
                    _times(batch.column(self.time_column), self.time_column, self.path, at)
                part = part_of[batch.column("__seq").to_numpy()]
                order = np.argsort(part, kind="stable")
                bounds = np.searchsorted(part[order], np.arange(len(writers) + 1))
                for k in np.flatnonzero(np.diff(bounds)):
                    writers[k].write_batch(batch.take(order[bounds[k] : bounds[k + 1]]))
            for writer, sink in zip(writers, sinks, strict=True):
                writer.close()
                sink.close()
        rows_path.unlink()
        return cuts

    def _part(self, part: Path, first: int) -> Dataset:
        """One file of consecutive sequences, read as a table of its own."""
        import pyarrow as pa

        from .tables import _from_table

        with pa.OSFile(str(part), "rb") as source:
            table = pa.ipc.open_file(source).read_all()
        part.unlink()
        numbers = table.column("__row").to_numpy()
        table = table.drop_columns(["__seq", "__row"])
        reading = self.reading.table
        dataset = _from_table(
            self.path, self.fmt, table, reading, self.where, numbers, first, self.texts
        )
        return dataset.shifted(first)
