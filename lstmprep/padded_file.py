"""The padded file lstmprep pad writes, and reading it back: one owner for the format.

An ``.npz`` with ``x`` ``(N, T, F)`` (token ids: ``(N, T)`` integers), ``lengths`` ``(N,)``
(real timesteps per row, after truncation), ``y`` when there are labels, and ``meta``: a JSON
object (:class:`PadMeta`) saying how the rows were padded, and whether ``x`` holds token ids.
``lstmprep window`` writes the same format (``command: "window"``), with ``source`` ``(N, 2)``:
the series and start step of each window. An ``.npy`` holds ``x`` alone. Both load with
``np.load(path, allow_pickle=False)``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .errors import UnreadableInput
from .options import PAD_VALUE
from .output import Inputs, atomic_path
from .padding import timestep_mask

#: The members of a padded .npz, in the order they are written.
MEMBERS = ("x", "lengths", "y", "source", "meta")
SUFFIXES = (".npz", ".npy")


@dataclass(frozen=True)
class PadMeta:
    """How a padded file was made: pad's options, its source, and the label classes.

    >>> meta = PadMeta(maxlen=3, padding="pre", classes=("no", "yes"))
    >>> PadMeta.from_json(meta.to_json(), "x.npz") == meta
    True
    """

    maxlen: int = 0
    padding: str = "post"
    truncating: str = "pre"
    value: float = PAD_VALUE
    dtype: str = "float32"
    #: the source file's name and sha256 (several files: also how many, and the sha256 of
    #: their list of "sha256  name" lines)
    source: dict[str, str] | None = None
    #: the labels file's name, when labels came from one
    labels: str | None = None
    #: class names in the order of their indices, when the labels are classes
    classes: tuple | None = None
    #: the lstmprep version that wrote the file
    lstmprep: str = ""
    #: each sample of the source was (features, timesteps) and was transposed on read
    channels_first: bool = False
    #: the command that wrote the file: "pad" or "window"
    command: str = "pad"
    #: for windows, how they were cut (:class:`lstmprep.windowing.WindowOptions` as a dict)
    window: dict | None = None
    #: "tokens" (x is (N, T) ids) or "values"; None in files from before lstmprep knew ids
    kind: str | None = None
    #: token ids: the Embedding's input_dim, the pad id included
    vocabulary: int | None = None

    def to_json(self) -> str:
        d = asdict(self)
        d["classes"] = None if self.classes is None else list(self.classes)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str, path: str) -> PadMeta:
        """Read a ``meta`` member; keys it does not know are ignored, missing ones default."""
        try:
            d = json.loads(text)
        except (ValueError, RecursionError):
            d = None
        if not isinstance(d, dict):
            raise UnreadableInput(
                "member meta is not the JSON object lstmprep pad writes",
                path=path,
                hint="write the file again with lstmprep pad, or drop the meta member",
            )
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        if isinstance(values.get("classes"), list):
            values["classes"] = tuple(values["classes"])
        meta = cls(**values)
        if (
            meta.padding not in ("pre", "post")
            or not isinstance(meta.value, (int, float))
            or meta.kind not in (None, "tokens", "values")
        ):
            raise UnreadableInput(
                f"member meta says padding {meta.padding!r} with value {meta.value!r} "
                f"({meta.kind or 'values'})",
                path=path,
                hint="write the file again with lstmprep pad",
            )
        return meta


def write_padded(
    output: Path,
    x: np.ndarray,
    lengths: np.ndarray,
    y: np.ndarray | None,
    meta: PadMeta,
    *,
    inputs: Inputs | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Write atomically: ``.npy`` gets ``x`` alone, ``.npz`` every member (and ``extra``).

    The free space is checked first, and nothing is renamed into place if one of ``inputs``
    (:func:`~lstmprep.output.watch_inputs`, taken before reading) changed meanwhile.
    """
    arrays: dict[str, Any] = {"x": x}
    if output.suffix.lower() != ".npy":
        arrays["lengths"] = lengths
        if y is not None:
            arrays["y"] = y
        arrays.update(extra or {})
        arrays["meta"] = np.array(meta.to_json())
    size = sum(a.nbytes for a in arrays.values())
    with atomic_path(output, size=size, inputs=inputs) as tmp, open(tmp, "wb") as f:
        if output.suffix.lower() == ".npy":
            np.save(f, x)
        else:
            np.savez(f, **arrays)


def unpad(
    x: np.ndarray, lengths: np.ndarray, meta: PadMeta | None, path: str
) -> tuple[np.ndarray, np.ndarray]:
    """The real timesteps of each row of ``x``, stacked: ``(values, lengths)``.

    >>> x = np.array([[[1.0], [0.0]], [[2.0], [3.0]]])
    >>> values, lengths = unpad(x, np.array([1, 2]), None, "p.npz")
    >>> values[:, 0].tolist(), lengths.tolist()
    ([1.0, 2.0, 3.0], [1, 2])
    """
    if lengths.shape != x.shape[:1] or (
        len(lengths) and not 0 <= lengths.min() <= lengths.max() <= x.shape[1]
    ):
        longest, shortest = (lengths.max(), lengths.min()) if lengths.size else (0, 0)
        raise UnreadableInput(
            f"lengths {lengths.shape} (from {shortest} to {longest}) do not fit x {x.shape}: "
            f"one length per row of x, each from 0 to its {x.shape[1]} timesteps",
            path=path,
            hint="write the file again with lstmprep pad",
        )
    padding = meta.padding if meta else "post"
    return x[timestep_mask(lengths, x.shape[1], padding)], lengths


def source_meta(dataset: Dataset, files: list[Path]) -> dict[str, str]:
    """The source's name and sha256; for several files, the sha256 of their names and hashes."""
    if len(files) == 1 and not dataset.files:
        return {"file": files[0].name, "sha256": sha256(files[0])}
    listing = "".join(f"{sha256(f)}  {f.name}\n" for f in files)
    return {
        "file": dataset.path,
        "sha256": hashlib.sha256(listing.encode()).hexdigest(),
        "files": str(len(files)),
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
