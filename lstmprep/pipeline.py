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
from .memory import check_pad_memory
from .options import DEFAULTS, PadOptions
from .output import check_destination, watch_inputs
from .padded_file import SUFFIXES, PadMeta, source_meta, write_padded
from .padding import pad_ragged
from .readers import Source, TableOptions, files_of, read
from .report import Problem
from .target import classes_of, task_of


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

    def to_dict(self) -> dict[str, Any]:
        warnings = [p.to_dict() for p in self.warnings]
        meta = json.loads(self.meta.to_json())
        return {**asdict(self), "shape": list(self.shape), "warnings": warnings, "meta": meta}


def pad_file(
    source: Source,
    output: str | Path,
    options: PadOptions = DEFAULTS,
    *,
    labels: str | Path | None = None,
    force: bool = False,
    allow_pickle: bool = False,
    channels_first: bool = False,
    layout: str | None = None,
    kind: str | None = None,
    step: Callable[[str], None] = lambda name: None,
    table: TableOptions | None = None,
) -> PadSummary:
    """Pad the sequences in ``source`` and write them to ``output`` (.npz or .npy).

    ``source`` is what :func:`~lstmprep.readers.read` reads (a file, several, a folder, a
    glob), read with ``channels_first`` and ``layout`` as it says.

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
    files = files_of(source)
    check_destination(output, force=force, inputs=files + ([Path(labels)] if labels else []))

    step("reading")
    inputs = watch_inputs([*files, labels])  # refused before the rename if they change
    dataset = read(
        source,
        labels=labels,
        allow_pickle=allow_pickle,
        channels_first=channels_first,
        layout=layout,
        kind=kind,
        table=table,
    )
    step("checking")
    report = diagnose(dataset, options=options)
    if report.errors:
        raise RefusedData(report, "nothing was written", advice.inspect_command(dataset))

    step("padding")
    ragged = dataset.ragged
    maxlen = options.resolve_maxlen(ragged.lengths)
    dtype = tokens.output_dtype(dataset, options)
    check_pad_memory(ragged.n_sequences, maxlen, ragged.n_features, dtype, dataset.path)
    x, kept = pad_ragged(
        ragged,
        maxlen,
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=dtype,
    )
    ids = dataset.kind == "tokens"
    if ids:
        x = x[:, :, 0]  # the (N, T) an Embedding takes
    classify = task_of(dataset.labels) in ("binary", "multiclass")
    meta = PadMeta(
        maxlen=maxlen,
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=dtype,
        source=source_meta(dataset, files),
        labels=None if labels is None else Path(labels).name,
        classes=classes_of(dataset.labels) if classify and dataset.labels is not None else None,
        lstmprep=__version__,
        channels_first=dataset.channels_first,
        kind=dataset.kind,
        vocabulary=tokens.vocabulary_size(ragged.values, options.value) if ids else None,
    )

    step("writing")
    write_padded(output, x, kept, dataset.labels, meta, inputs=inputs)
    cells = x.shape[0] * x.shape[1]
    return PadSummary(
        output=str(output),
        shape=tuple(int(n) for n in x.shape),
        dtype=str(x.dtype),
        maxlen=maxlen,
        truncated_sequences=int(np.count_nonzero(ragged.lengths > kept)),
        dropped_timesteps=int(ragged.lengths.sum() - kept.sum()),
        padding_share=round(float(1 - kept.sum() / cells), 4) if cells else 0.0,
        bytes=output.stat().st_size,
        labels=dataset.labels is not None,
        warnings=report.warnings,
        meta=meta,
        next_command=advice.train_command(str(output), kind=dataset.kind_option)
        if output.suffix.lower() == ".npz"
        else None,
    )
