"""Data larger than memory: when lstmprep reads in chunks, and the pass that checks them.

**When.** ``inspect`` and ``pad`` read the whole input into memory when the work fits the
memory budget (:func:`lstmprep.memory.work_budget`: ``--memory-limit`` /
``$LSTMPREP_MEMORY_LIMIT``, else a share of the memory available). When the estimate of that
work (:func:`in_memory_need`: a multiple of the input's size) does not fit and the input can
be read in chunks (:mod:`lstmprep.readers.chunked`), they stream instead:

- **pass 1** (:func:`first_pass`) reads chunk after chunk, runs the row checks on each
  (:func:`lstmprep.checks.scan`), keeps only their small summaries, merged, and forgets the
  values; the checks of the whole run on the merged lengths and labels. Memory grows with the
  number of sequences, not with their timesteps. The report is the one the in-memory path gives.
- **pass 2** (``pad`` only, :func:`lstmprep.pipeline.pad_file`) takes the chunks again and
  writes their padded rows straight into the output, member by member: from the values pass 1
  kept on disk (:class:`Spill`: text is parsed once), or, for a ``.npz`` of values + lengths,
  from the archive again.

A JSON document too large for the budget is refused with the command that converts it to JSON
lines (it cannot be cut into chunks without parsing all of it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import checks, tokens
from .dataset import Dataset
from .errors import UnreadableInput
from .memory import work_budget
from .options import DEFAULTS, PadOptions
from .ragged import Ragged
from .readers import ReadOptions, Source, files_of
from .readers.chunked import Chunk, ChunkedRead, Unsorted, refuse_json, streamable
from .readers.files import check_file, compression, opened
from .report import ProblemLog, Report

#: The in-memory work per byte of input, by format: the bytes read, the values (float64),
#: the padded output (measured: 2.9 GB of JSON lines padded with a peak of 5.6 GB)
WORK_PER_BYTE = {
    ".json": 2.0, ".jsonl": 2.0, ".npz": 2.5, ".npy": 2.5, ".txt": 12.0, ".csv": 3.0, ".tsv": 3.0,
    ".parquet": 4.0,
}  # fmt: skip
#: for a compressed file, per byte of the file
COMPRESSED_WORK_PER_BYTE = 10.0
#: JSON lines of objects (``{"sequence": […], "label": …}``) are read by ``json``, not by the C
#: scanner, with a Python object per number: this many times the work of plain numeric lines
#: (measured: 18x the file's size for short sequences, against 2x)
OBJECT_LINES_MORE = 10.0
#: A chunk's input is about this share of the budget (its values and its padded rows are a
#: few times as large), within these limits.
CHUNK_SHARE, CHUNK_MIN, CHUNK_MAX = 1 / 16, 4 << 10, 64 << 20

#: ``progress(phase, done, total)``: bytes of input read in this pass so far
Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def in_memory_need(paths: list[Path]) -> int:
    """About how many bytes reading ``paths`` whole and padding them takes."""
    need = 0.0
    for path in paths:
        kind = check_file(path)
        factor = COMPRESSED_WORK_PER_BYTE if compression(path) else WORK_PER_BYTE.get(kind, 3.0)
        if kind == ".jsonl" and _object_lines(path):
            factor *= OBJECT_LINES_MORE
        need += path.stat().st_size * factor
    return int(need)


def _object_lines(path: Path) -> bool:
    """Whether a JSON lines file's first line is an object (read by ``json``, not in C)."""
    try:
        with opened(path) as f:
            return f.read(256).lstrip().startswith(b"{")
    except (OSError, EOFError, ValueError):  # unreadable: the read says so, in its place
        return False


def plan(source: Source, reading: ReadOptions) -> int | None:
    """The chunk size to read ``source`` in, or ``None`` to read it whole (it fits the
    budget, or it cannot be read in chunks: then the in-memory path refuses what does not fit).
    A single JSON document too large for the budget is refused here, with the fix."""
    budget = work_budget()
    if budget is None:
        return None
    paths = files_of(source)
    need = in_memory_need(paths)
    if need <= budget:
        return None
    if len(paths) == 1 and check_file(paths[0]) == ".json":
        raise refuse_json(paths[0], need, budget)
    if streamable(paths, reading) is not None:
        return None
    return chunk_size(budget)


def chunk_size(budget: int) -> int:
    """The input bytes of one chunk read with a memory budget of ``budget`` bytes."""
    return int(min(CHUNK_MAX, max(CHUNK_MIN, budget * CHUNK_SHARE)))


@dataclass(frozen=True, eq=False)
class Checked:
    """The first pass: the merged summary, the whole dataset without its values (its lengths,
    labels, lines, files…), and how to read the chunks again."""

    summary: checks.Summary
    dataset: Dataset
    chunk_bytes: int
    spill: Spill | None = None

    def chunks(self, reading: ReadOptions, source: Source) -> Iterable[Chunk]:
        """The same chunks again (pass 2): from the spill, or read as the first pass read
        them."""
        if self.spill is not None:
            return self.spill
        return ChunkedRead(source, reading, self.dataset.kind, self.chunk_bytes)

    def report(
        self,
        options: PadOptions = DEFAULTS,
        *,
        strict: bool = False,
        locate: bool | None = None,
    ) -> Report:
        from .inspection import report_of

        return report_of(self.summary, self.dataset, strict=strict, options=options, locate=locate)


class Spill:
    """The values pass 1 read, kept on disk for pass 2, so that text is parsed once: beside the
    output, named as its temporary files are (a killed run's is removed by the next run).

    Stored as float32 when the output is float32 values (the cast pad makes anyway), else as
    float64 (exact)."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "w+b")  # noqa: SIM115 - closed by close()
        self.parts: list[tuple[Chunk, np.ndarray]] = []
        self.dtype = np.dtype(np.float64)

    def start(self, dtype: str) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.parts.clear()
        self.dtype = np.dtype(dtype)

    def add(self, chunk: Chunk) -> None:
        values = chunk.dataset.ragged.values
        with np.errstate(over="ignore", invalid="ignore"):  # as pad casts (--allow-lossy)
            values.astype(self.dtype, copy=False).tofile(self.file)
        empty = Ragged(np.empty((0, values.shape[1])), np.empty(0, np.int64))
        light = replace(chunk, dataset=replace(chunk.dataset, ragged=empty))  # not the values
        self.parts.append((light, chunk.dataset.ragged.lengths))

    def __iter__(self) -> Iterator[Chunk]:
        """The chunks again, their values read back from the spill."""
        self.file.flush()
        self.file.seek(0)
        for chunk, lengths in self.parts:
            features = chunk.dataset.ragged.n_features
            rows = int(lengths.sum())
            values = np.fromfile(self.file, self.dtype, count=rows * features)
            ragged = Ragged(values.reshape(rows, features), lengths)
            yield replace(chunk, dataset=replace(chunk.dataset, ragged=ragged))

    def close(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def first_pass(
    source: Source,
    reading: ReadOptions,
    chunk_bytes: int,
    options: PadOptions = DEFAULTS,
    progress: Progress = _no_progress,
    spill: Spill | None = None,
    scratch: Path | None = None,
) -> Checked | None:
    """Pass 1: every chunk read and scanned, the summaries merged; ``None`` when there is no
    chunk (an empty file: the in-memory path says what it holds).

    Without ``--kind``, the first chunk's kind is taken for all of them, and checked against
    the whole data's at the end: when they differ (rare: e.g. the first chunk's whole numbers
    are too few distinct ones to be ids, the whole data's are not), the pass runs again.
    So it does when the chunks' numbers of features differ: again with the whole data's
    (:meth:`ChunkedRead.widths`), which reports each timestep of another, as reading it whole
    does.

    ``spill``: keep the values there for pass 2. ``scratch``: the output, beside which work
    files (an unsorted table's partitions) are written, named as its temporary files.
    """
    kind, unsorted, widths = reading.kind, False, None
    for _ in range(4):
        chunks = ChunkedRead(source, reading, kind, chunk_bytes, unsorted, widths, scratch)
        try:
            summary, kind = _scan_chunks(chunks, kind, options, progress, spill)
        except Unsorted:  # a long table's sequences are not together: read it by partitions
            if unsorted:  # pragma: no cover - partitions are sorted
                raise
            kind, unsorted = reading.kind, True
            continue
        if summary is None:
            return None
        if widths is None and (widths := chunks.widths()) is not None:
            kind = reading.kind
            continue
        detected = summary.facts.kind()
        outline = chunks.outline(summary.lengths, summary.facts.features, detected)
        if outline.kind != kind and reading.kind is None:
            kind = outline.kind
            continue
        log = ProblemLog()
        log.extend(summary.problems)
        log.extend(chunks.problems)
        summary = replace(summary, problems=tuple(log.problems()))
        return Checked(summary, checks.outline(summary, outline), chunk_bytes, spill)
    raise AssertionError("the kind or the features changed twice")  # pragma: no cover


def _scan_chunks(
    chunks: ChunkedRead,
    kind: str | None,
    options: PadOptions,
    progress: Progress,
    spill: Spill | None,
) -> tuple[checks.Summary | None, str | None]:
    """Every chunk scanned (and spilled), the summaries merged; the kind they were read as
    (without one: the first chunk's)."""
    summary: checks.Summary | None = None
    for chunk in chunks:
        dataset = chunk.dataset
        if dataset.kind is None:
            kind = _first_kind(dataset)
            dataset = replace(dataset, kind=kind)
        if spill is not None:
            if summary is None:
                floats = dataset.kind != "tokens" and options.dtype in (None, "float32")
                spill.start("float32" if floats else "float64")
            spill.add(replace(chunk, dataset=dataset))
        scanned = checks.scan(dataset, options, chunk.start)
        summary = scanned if summary is None else summary.merge(scanned)
        progress("pass 1: lengths, labels, problems", chunk.done, chunk.total)
    return summary, kind


def _first_kind(dataset: Dataset) -> str:
    skip = np.zeros(len(dataset.ragged.values), dtype=bool)
    skip[dataset.reported.rows] = True
    return tokens.detect(dataset.ragged, skip)


def same_features(chunk: Chunk, features: int | None) -> int | None:
    """The features of the chunks so far (a Dask worker's chunks); a chunk with other
    features cannot be read in parts there."""
    ragged = chunk.dataset.ragged
    if not len(ragged.values):
        return features
    if features is not None and ragged.n_features != features:
        raise UnreadableInput(
            f"sequence {chunk.start} on has {ragged.n_features} features per timestep, the "
            f"sequences before it {features}: data read in parts needs one number of features",
            path=chunk.dataset.path,
            hint="give every timestep the same features, or pass a larger --memory-limit to "
            "read the data whole and have every such timestep reported",
        )
    return ragged.n_features


def inspect_stream(
    source: Source,
    reading: ReadOptions,
    *,
    strict: bool = False,
    progress: Progress = _no_progress,
) -> Report | None:
    """``inspect`` in chunks, when the data does not fit the budget; ``None`` otherwise."""
    chunk_bytes = plan(source, reading)
    if chunk_bytes is None:
        return None
    checked = first_pass(source, reading, chunk_bytes, progress=progress)
    return None if checked is None else checked.report(strict=strict, locate=True)
