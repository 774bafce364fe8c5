"""``pad_file``: read → check → pad → write, the library behind ``lstmprep pad``.

Every option is checked before any work starts; data with errors is refused with its report;
the output is written atomically and never over the input or an existing file (unless
``force``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, advice, tokens
from .errors import RefusedData, UsageError
from .inspection import diagnose
from .memory import check_memory, check_pad_memory
from .options import DEFAULTS, PadOptions, bucket_of
from .output import check_destination, watch_inputs
from .padded_file import SUFFIXES, HashInBackground, PadMeta, Part, source_meta, write_padded
from .padding import pad_ragged
from .ragged import Ragged
from .readers import ReadOptions, Source, files_of, read
from .report import Problem
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
    **changes: Any,
) -> PadSummary:
    """Pad the sequences in ``source`` and write them to ``output`` (.npz or .npy).

    ``source`` is what :func:`~lstmprep.readers.read` reads (a file, several, a folder, a
    glob), read with the :class:`~lstmprep.readers.ReadOptions` ``reading`` and ``changes``
    to them (``labels=…``, ``channels_first=…``) as it says.

    Token ids (``kind``, or as the data says: :mod:`lstmprep.tokens`) stay whole numbers,
    int32 unless an id needs int64 (or ``options.dtype`` says otherwise), shaped ``(N, T)``.

    ``step(name)`` is called as each phase starts (reading, checking, padding, writing).
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

    step("reading")
    inputs = watch_inputs(reading.inputs(files))  # refused before the rename if they change
    digest = HashInBackground(files)  # beside the reading
    try:
        dataset = read(source, reading)
        step("checking")
        report = diagnose(dataset, options=options)
        if report.errors:
            raise RefusedData(report, "nothing was written", advice.inspect_command(dataset))
    except BaseException:
        digest.cancel()
        raise

    step("padding")
    ragged = dataset.ragged
    maxlen = options.resolve_maxlen(ragged.lengths)
    dtype = tokens.output_dtype(dataset, options)
    kept = np.minimum(ragged.lengths, maxlen)
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
    if options.bucketed:
        check_memory(
            cells * ragged.n_features * np.dtype(dtype).itemsize,
            f"padding into {len(widths)} buckets of {dtype}",
            dataset.path,
        )
    else:
        check_pad_memory(len(kept), maxlen, ragged.n_features, dtype, dataset.path)
    ids = dataset.kind == "tokens"
    parts = [
        _pad_part(ragged, dataset.labels, m, w, options, dtype, ids)
        for m, w in zip(members, widths, strict=True)
    ]
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
        vocabulary=tokens.vocabulary_size(ragged.values, options.value) if ids else None,
        boundaries=boundaries if options.bucketed else None,
    )

    step("writing")
    write_padded(output, parts, meta, inputs=inputs)
    real, single = int(kept.sum()), len(kept) * maxlen
    shapes = tuple(tuple(int(n) for n in p.x.shape) for p in parts)
    return PadSummary(
        output=str(output),
        shape=(len(kept), maxlen) if ids else (len(kept), maxlen, ragged.n_features),
        dtype=str(np.dtype(dtype)),
        maxlen=maxlen,
        truncated_sequences=int(np.count_nonzero(ragged.lengths > kept)),
        dropped_timesteps=int(ragged.lengths.sum() - real),
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
    )


def _pad_part(
    ragged: Ragged,
    labels: np.ndarray | None,
    index: np.ndarray | None,
    width: int,
    options: PadOptions,
    dtype: str,
    ids: bool,
) -> Part:
    """The rows ``index`` (all, when None) padded to ``width`` timesteps; token ids as the
    ``(N, T)`` an Embedding takes."""
    rows = ragged if index is None else subset(ragged, index)
    x, kept = pad_ragged(
        rows,
        width,
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=dtype,
    )
    y = None if labels is None else (labels if index is None else labels[index])
    return Part(x[:, :, 0] if ids else x, kept, y, index)


def _share(real: int, cells: int) -> float:
    return round(float(1 - real / cells), 4) if cells else 0.0
