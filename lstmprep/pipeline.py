"""``pad_file``: read → check → pad → write, the library behind ``lstmprep pad``.

Every option is checked before any work starts; data with errors is refused with its report;
the output is written atomically and never over the input or an existing file (unless
``force``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import DataError, RefusedData, UsageError
from .inspection import diagnose
from .memory import check_pad_memory
from .output import atomic_path, check_destination, watch_inputs
from .padding import check_cast, pad_ragged
from .readers import read
from .report import Problem

SIDES = ("pre", "post")
OUTPUT_SUFFIXES = (".npz", ".npy")


@dataclass(frozen=True)
class PadOptions:
    """How to pad. ``maxlen`` is a length, ``"pNN"`` (a percentile of the lengths) or None."""

    maxlen: int | str | None = None
    padding: str = "post"
    truncating: str = "pre"
    value: float = 0.0
    dtype: str = "float32"
    allow_lossy: bool = False

    def __post_init__(self) -> None:
        parse_maxlen(self.maxlen)
        for name in ("padding", "truncating"):
            if getattr(self, name) not in SIDES:
                raise UsageError(f"--{name} must be 'pre' or 'post', not {getattr(self, name)!r}")
        try:
            kind: str = np.dtype(self.dtype).kind
        except TypeError:
            kind = "?"
        if kind not in "iuf":
            raise UsageError(
                f"--dtype {self.dtype!r} is not a numeric dtype",
                hint="use float32 (the default), float16, float64, int32 or int64",
            )
        if not math.isfinite(self.value):
            raise UsageError(f"--value must be a finite number, not {self.value}")

    def resolve_maxlen(self, lengths: np.ndarray) -> int:
        """The number of timesteps per row for these lengths."""
        kind, number = parse_maxlen(self.maxlen)
        if kind == "longest":
            return int(lengths.max()) if len(lengths) else 0
        if kind == "percentile":
            return int(math.ceil(np.percentile(lengths, number))) if len(lengths) else 0
        return int(number)


def parse_maxlen(maxlen: int | str | None) -> tuple[str, float]:
    """``("longest", 0)``, ``("fixed", N)`` or ``("percentile", NN)``; a UsageError otherwise.

    >>> parse_maxlen("p95"), parse_maxlen("120"), parse_maxlen(None)
    (('percentile', 95.0), ('fixed', 120), ('longest', 0))
    """
    if maxlen is None:
        return ("longest", 0)
    text = str(maxlen).strip().lower()
    if re.fullmatch(r"\d+", text) and int(text) >= 1:
        return ("fixed", int(text))
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", text)
    if match and 0 < float(match[1]) <= 100:
        return ("percentile", float(match[1]))
    raise UsageError(
        f"--maxlen {maxlen!r} is neither a length of at least 1 nor a percentile p1…p100",
        hint="e.g. --maxlen 120 or --maxlen p95",
    )


@dataclass(frozen=True)
class PadSummary:
    """What ``pad_file`` wrote."""

    output: str
    shape: tuple[int, int, int]
    dtype: str
    maxlen: int
    truncated_sequences: int
    dropped_timesteps: int
    padding_share: float
    bytes: int
    labels: bool
    warnings: tuple[Problem, ...]
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        warnings = [p.to_dict() for p in self.warnings]
        return {**asdict(self), "shape": list(self.shape), "warnings": warnings}


def pad_file(
    source: str | Path,
    output: str | Path,
    options: PadOptions = PadOptions(),
    *,
    labels: str | Path | None = None,
    force: bool = False,
    allow_pickle: bool = False,
    step: Callable[[str], None] = lambda name: None,
) -> PadSummary:
    """Pad the sequences in ``source`` and write them to ``output`` (.npz or .npy).

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
    source, output = Path(source), Path(output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UsageError(
            f"the output must end in .npz or .npy, not {output.suffix or '(nothing)'!r}",
            path=str(output),
        )
    check_destination(output, force=force, inputs=[source] + ([Path(labels)] if labels else []))

    step("reading")
    inputs = watch_inputs([source, labels])  # refused before the rename if they change
    dataset = read(source, labels=labels, allow_pickle=allow_pickle)
    step("checking")
    report = diagnose(dataset)
    if report.errors:
        raise RefusedData(report, "nothing was written")
    ragged = dataset.ragged
    reason = check_cast(ragged.values, options.dtype)
    if reason and not options.allow_lossy:
        raise DataError(
            f"--dtype {options.dtype} would change the data: {reason}",
            path=str(source),
            hint="keep the default float32, or pass --allow-lossy to cast anyway",
        )

    step("padding")
    maxlen = options.resolve_maxlen(ragged.lengths)
    check_pad_memory(ragged.n_sequences, maxlen, ragged.n_features, options.dtype, str(source))
    x, kept = pad_ragged(
        ragged,
        maxlen,
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=options.dtype,
    )
    meta = {
        "lstmprep": __version__,
        "source": {"file": source.name, "sha256": sha256(source)},
        "maxlen": maxlen,
        "padding": options.padding,
        "truncating": options.truncating,
        "value": options.value,
        "dtype": options.dtype,
        "labels": None if labels is None else Path(labels).name,
    }

    step("writing")
    arrays: dict[str, Any] = {"x": x, "lengths": kept}
    if dataset.labels is not None:
        arrays["y"] = dataset.labels
    arrays["meta"] = np.array(json.dumps(meta))
    size = sum(a.nbytes for a in arrays.values())  # checked against the free space first
    with atomic_path(output, size=size, inputs=inputs) as tmp, open(tmp, "wb") as f:
        if output.suffix.lower() == ".npy":
            np.save(f, x)
        else:
            np.savez(f, **arrays)
    cells = x.shape[0] * x.shape[1]
    return PadSummary(
        output=str(output),
        shape=(int(x.shape[0]), int(x.shape[1]), int(x.shape[2])),
        dtype=str(x.dtype),
        maxlen=maxlen,
        truncated_sequences=int(np.count_nonzero(ragged.lengths > kept)),
        dropped_timesteps=int(ragged.lengths.sum() - kept.sum()),
        padding_share=round(float(1 - kept.sum() / cells), 4) if cells else 0.0,
        bytes=output.stat().st_size,
        labels=dataset.labels is not None,
        warnings=report.warnings,
        meta=meta,
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
