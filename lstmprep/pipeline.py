"""``pad_file``: read → check → pad → write, the library behind ``lstmprep pad``.

Every option is checked before any work starts; data with errors is refused with its report;
the output is written atomically and never over the input or an existing file (unless
``force``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, advice, checks, streaming, tokens
from .dataset import Dataset
from .errors import RefusedData, UnreadableInput, UsageError
from .inspection import report_of
from .memory import check_memory, check_pad_memory
from .options import DEFAULTS, PadOptions, bucket_of
from .output import Inputs, atomic_path, check_destination, temp_path, watch_inputs
from .padded_file import (
    SUFFIXES,
    HashInBackground,
    PadMeta,
    member_names,
    padded_writer,
    source_meta,
)
from .padding import pad_ragged
from .ragged import Ragged
from .readers import ReadOptions, Source, files_of, read
from .readers.chunked import Chunk
from .report import Problem, Report
from .target import classes_of, subset, task_of


@dataclass(frozen=True)
class PadSummary:
    """What ``pad_file`` wrote."""

    output: str
    #: (N, T, F), or (N, T) for token ids
    shape: tuple[int, ...]
    dtype: str
    maxlen: int
    truncated_sequences: int
    dropped_timesteps: int
    padding_share: float
    bytes: int
    labels: bool
    warnings: tuple[Problem, ...]
    meta: PadMeta
    #: the command to run next (train on the output), as it can be pasted
    next_command: str | None = None
    #: the padding share of one tensor padded to ``maxlen`` (what buckets save is the
    #: difference with ``padding_share``)
    unbucketed_padding_share: float | None = None
    #: the shape of each bucket's tensor, when the output has buckets
    buckets: tuple[tuple[int, ...], ...] | None = None
    #: whether the input was read in chunks, twice (larger than the memory budget)
    streamed: bool = False

    def to_dict(self) -> dict[str, Any]:
        warnings = [p.to_dict() for p in self.warnings]
        meta = json.loads(self.meta.to_json())
        buckets = None if self.buckets is None else [list(b) for b in self.buckets]
        return {
            **asdict(self),
            "shape": list(self.shape),
            "warnings": warnings,
            "meta": meta,
            "buckets": buckets,
        }


def pad_file(
    source: Source,
    output: str | Path,
    options: PadOptions = DEFAULTS,
    reading: ReadOptions | None = None,
    *,
    force: bool = False,
    step: Callable[[str], None] = lambda name: None,
    progress: streaming.Progress = lambda phase, done, total: None,
    **changes: Any,
) -> PadSummary:
    """Pad the sequences in ``source`` and write them to ``output`` (.npz or .npy).

    ``source`` is what :func:`~lstmprep.readers.read` reads (a file, several, a folder, a
    glob), read with the :class:`~lstmprep.readers.ReadOptions` ``reading`` and ``changes``
    to them (``labels=…``, ``channels_first=…``) as it says.

    Token ids (``kind``, or as the data says: :mod:`lstmprep.tokens`) stay whole numbers,
    int32 unless an id needs int64 (or ``options.dtype`` says otherwise), shaped ``(N, T)``.

    ``step(name)`` is called as each phase starts (reading, checking, padding, writing).
    Input larger than the memory budget is read twice, in chunks (:mod:`lstmprep.streaming`):
    ``progress(phase, done, total)`` says how many of the input's bytes each pass has read.
    Raises :class:`RefusedData` (exit 1) when the data has errors, with the report.

    >>> import json, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> src = os.path.join(folder, "in.json")
    >>> _ = open(src, "w").write(json.dumps([[[1, 2], [3, 4]], [[5, 6]]]))
    >>> summary = pad_file(src, os.path.join(folder, "out.npz"))
    >>> summary.shape, summary.padding_share
    ((2, 2, 2), 0.25)
    >>> np.load(os.path.join(folder, "out.npz"))["x"][1].tolist()
    [[5.0, 6.0], [0.0, 0.0]]
    """
    output = Path(output)
    if output.suffix.lower() == ".zarr":
        raise UsageError(
            "a .zarr store is written on a Dask cluster: pass --scheduler",
            path=str(output),
            hint="pass --scheduler local (worker processes on this machine), or write .npz",
        )
    if output.suffix.lower() not in SUFFIXES:
        raise UsageError(
            f"the output must end in .npz or .npy, not {output.suffix or '(nothing)'!r}",
            path=str(output),
        )
    if options.bucketed and output.suffix.lower() == ".npy":
        raise UsageError(
            "length buckets are several tensors: they need an .npz output, not .npy",
            path=str(output),
            hint=f"write {output.with_suffix('.npz').name}",
        )
    reading = ReadOptions.of(reading, **changes)
    files = files_of(source)
    check_destination(output, force=force, inputs=reading.inputs(files))

    chunk_bytes = streaming.plan(source, reading)
    step("reading")
    inputs = watch_inputs(reading.inputs(files))  # refused before the rename if they change
    digest = HashInBackground(files)  # beside the reading
    checked, spill = None, None
    try:
        if chunk_bytes is not None:  # larger than the budget: pass 1, the checks in chunks
            if any(f.suffix.lower() != ".npz" for f in files):  # text: parsed once, not twice
                spill = streaming.Spill(temp_path(output))
            checked = streaming.first_pass(
                source, reading, chunk_bytes, options, progress, spill, output
            )
        if checked is not None:
            dataset, summary = checked.dataset, checked.summary
            report = checked.report(options)
        else:
            dataset = read(source, reading)
            step("checking")
            summary = checks.scan(dataset, options)
            report = report_of(summary, dataset, options=options)
        if report.errors:
            raise RefusedData(report, "nothing was written", advice.inspect_command(dataset))
    except BaseException:
        digest.cancel()
        if spill is not None:
            spill.close()
        raise
    try:
        return _pad(
            source,
            output,
            options,
            reading,
            files,
            dataset,
            summary,
            report,
            checked,
            digest,
            inputs,
            step,
            progress,
        )
    finally:
        if spill is not None:
            spill.close()


def _pad(
    source: Source,
    output: Path,
    options: PadOptions,
    reading: ReadOptions,
    files: list[Path],
    dataset: Dataset,
    summary: checks.Summary,
    report: Report,
    checked: streaming.Checked | None,
    digest: HashInBackground,
    inputs: Inputs,
    step: Callable[[str], None],
    progress: streaming.Progress,
) -> PadSummary:
    """Pad the checked ``dataset`` into ``output``: in memory, or (``checked``) chunk by chunk."""
    step("padding")
    ragged = dataset.ragged
    lengths, features = ragged.lengths, summary.facts.features
    maxlen = options.resolve_maxlen(lengths)
    ids = dataset.kind == "tokens"
    vocabulary = summary.facts.vocabulary_size(options.value) if ids else None
    dtype = options.dtype or (tokens.id_dtype(vocabulary or 0) if ids else "float32")
    kept = np.minimum(lengths, maxlen)
    boundaries = options.resolve_boundaries(kept)
    members: list[np.ndarray | None]
    if options.bucketed:
        buckets = bucket_of(kept, boundaries)
        members = [np.flatnonzero(buckets == i) for i in range(len(boundaries) + 1)]
        widths = [int(kept[m].max(initial=0)) for m in members]
    else:  # one tensor, as wide as maxlen even when every row is shorter
        members, widths = [None], [maxlen]
    cells = sum(
        (len(kept) if m is None else len(m)) * w for m, w in zip(members, widths, strict=True)
    )
    classify = task_of(dataset.labels) in ("binary", "multiclass")
    meta = PadMeta(
        maxlen=maxlen,
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=dtype,
        source=source_meta(dataset, files, digest),
        labels=None if reading.labels is None else Path(reading.labels).name,
        classes=classes_of(dataset.labels) if classify and dataset.labels is not None else None,
        lstmprep=__version__,
        channels_first=dataset.channels_first,
        kind=dataset.kind,
        vocabulary=vocabulary,
        boundaries=boundaries if options.bucketed else None,
    )
    if checked is not None:  # pass 2: the chunks again, padded straight into the output
        chunks: Iterable[Chunk] = checked.chunks(reading, source)
    else:  # in memory: padded into the output block by block, as pass 2 does
        if options.bucketed:
            check_memory(
                cells * features * np.dtype(dtype).itemsize,
                f"padding into {len(widths)} buckets of {dtype}",
                dataset.path,
            )
        else:
            check_pad_memory(len(kept), maxlen, features, dtype, dataset.path)
        chunks = _blocks(dataset, maxlen * features * np.dtype(dtype).itemsize)
        progress = lambda phase, done, total: None  # noqa: E731
    step("writing")
    shapes = _write_chunks(
        output,
        chunks,
        members,
        widths,
        kept,
        dtype,
        options,
        dataset,
        meta,
        inputs,
        progress,
    )
    real, single = int(kept.sum()), len(kept) * maxlen
    return PadSummary(
        output=str(output),
        shape=(len(kept), maxlen) if ids else (len(kept), maxlen, features),
        dtype=str(np.dtype(dtype)),
        maxlen=maxlen,
        truncated_sequences=int(np.count_nonzero(lengths > kept)),
        dropped_timesteps=int(lengths.sum() - real),
        padding_share=_share(real, cells),
        bytes=output.stat().st_size,
        labels=dataset.labels is not None,
        warnings=report.warnings,
        meta=meta,
        next_command=advice.train_command(str(output), kind=dataset.kind_option)
        if output.suffix.lower() == ".npz"
        else None,
        unbucketed_padding_share=_share(real, single),
        buckets=shapes if options.bucketed else None,
        streamed=checked is not None,
    )


def _write_chunks(
    output: Path,
    chunks: Iterable[Chunk],
    members: list[np.ndarray | None],
    widths: list[int],
    kept: np.ndarray,
    dtype: str,
    options: PadOptions,
    dataset: Dataset,
    meta: PadMeta,
    inputs: Inputs,
    progress: streaming.Progress,
) -> tuple[tuple[int, ...], ...]:
    """Each tensor (the one, or each bucket's) written member by member, its rows padded
    chunk by chunk: as pass 2 reads the input again, or block by block from memory
    (:func:`_blocks`); the bytes :func:`~lstmprep.padded_file.write_padded` writes.
    Returns the tensors' shapes."""
    ids = dataset.kind == "tokens"
    features = dataset.ragged.n_features
    lengths, labels = dataset.ragged.lengths, dataset.labels
    shapes = [
        (len(kept) if m is None else len(m), w) + (() if ids else (features,))
        for m, w in zip(members, widths, strict=True)
    ]
    itemsize = np.dtype(dtype).itemsize
    size = sum(int(np.prod(shape)) * itemsize for shape in shapes) + 16 * len(kept)
    npy = output.suffix.lower() == ".npy"
    passes = len(members)

    def rows(index: np.ndarray | None, width: int, put: Callable[[np.ndarray], None], k: int):
        for chunk in chunks:
            ragged = chunk.dataset.ragged
            start, stop = chunk.start, chunk.start + len(ragged)
            if not np.array_equal(ragged.lengths, lengths[start:stop]):
                raise UnreadableInput(
                    f"sequences {start} to {stop - 1} changed between the two readings",
                    path=dataset.path,
                    hint="pad the data when nothing writes to it",
                )
            if index is not None:  # sorted: the chunk's members are one slice of it
                first, last = np.searchsorted(index, (start, stop))
                ragged = subset(ragged, index[first:last] - start)
            x, _ = _padded(ragged, width, options, dtype)
            put(x[:, :, 0] if ids else x)
            bucket = f" (bucket {k + 1} of {passes})" if passes > 1 else ""
            progress(f"pass 2: writing the rows{bucket}", chunk.done, chunk.total)

    if npy:
        with atomic_path(output, size=size, inputs=inputs) as tmp, open(tmp, "wb") as f:
            np.lib.format.write_array_header_1_0(
                f,
                {
                    "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                    "fortran_order": False,
                    "shape": shapes[0],
                },
            )

            def write(block: np.ndarray) -> None:
                f.write(np.ascontiguousarray(block).data)

            rows(None, widths[0], write, 0)
        return tuple(shapes)
    with padded_writer(output, size, inputs) as archive:
        for k, (index, width) in enumerate(zip(members, widths, strict=True)):
            names = member_names(None if meta.boundaries is None else k)
            with archive.member(names["x"], shapes[k], dtype) as put:
                rows(index, width, put, k)
            archive.write(names["lengths"], kept if index is None else kept[index])
            if labels is not None:
                archive.write(names["y"], labels if index is None else labels[index])
            if index is not None:
                archive.write(names["index"], index)
        archive.write("meta", np.array(meta.to_json()))
    return tuple(shapes)


#: The data in memory is padded into the output this many bytes of rows at a time: the
#: tensor is never whole in memory (fresh memory is slow to touch), and a block stays in cache.
BLOCK_BYTES = 4 << 20


def _blocks(dataset: Dataset, row_bytes: int) -> list[Chunk]:
    """The data in memory as chunks of about :data:`BLOCK_BYTES` of padded rows each."""
    n = len(dataset.ragged)
    step = max(1, BLOCK_BYTES // max(1, row_bytes))
    return [
        Chunk(dataset.part(start, min(n, start + step)), start, min(n, start + step), n)
        for start in range(0, n, step)
    ]


def _padded(
    ragged: Ragged, width: int, options: PadOptions, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """``pad_ragged`` with pad's options: the tensor and each row's kept length."""
    return pad_ragged(
        ragged,
        width,
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=dtype,
    )


def _share(real: int, cells: int) -> float:
    return round(float(1 - real / cells), 4) if cells else 0.0
