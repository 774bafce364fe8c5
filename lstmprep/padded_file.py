"""The padded file lstmprep pad writes, and reading it back: one owner for the format.

An ``.npz`` with ``x`` ``(N, T, F)`` (token ids: ``(N, T)`` integers), ``lengths`` ``(N,)``
(real timesteps per row, after truncation), ``y`` when there are labels, and ``meta``: a JSON
object (:class:`PadMeta`) saying how the rows were padded, and whether ``x`` holds token ids.
``lstmprep window`` writes the same format (``command: "window"``), with ``source`` ``(N, 2)``:
the series and start step of each window. An ``.npy`` holds ``x`` alone. Both load with
``np.load(path, allow_pickle=False)``.

**Length buckets** (``pad --buckets K`` or ``--bucket-boundaries``): one tensor per bucket,
each padded to its own longest sequence, in members ``x_0``, ``lengths_0``, ``y_0`` and
``index_0`` (each row's position in the input), then ``x_1``, …; ``meta.boundaries`` holds
the boundaries (bucket ``i`` holds lengths in ``[b[i-1], b[i])``). Reading the file back
(:func:`unpad_buckets`) puts the sequences in their original order again.

**Layout, for reading in place.** The archive is written by :class:`NpzWriter`: every member
stored (not compressed), ZIP64, with a fixed timestamp, and written member by member in blocks
of rows, so that writing never needs a whole tensor in memory (the streaming path of
``pad`` fills ``x`` block by block) and the same data always gives the same bytes. Because a
stored member is its ``.npy`` bytes at a known offset in the file, :func:`map_member`
memory-maps it (``np.memmap`` at the local header's offset plus the ``.npy`` header), so
``lstmprep`` reads a tensor larger than memory back without loading it; compressed archives
(``np.savez_compressed``) are read into memory as before.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

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
    #: length buckets: bucket ``i`` (members ``x_i`` …) holds lengths in ``[b[i-1], b[i])``;
    #: ``None`` for one tensor ``x``
    boundaries: tuple[int, ...] | None = None

    @property
    def n_buckets(self) -> int:
        """Tensors in the file: 1, or one per bucket."""
        return 1 if self.boundaries is None else len(self.boundaries) + 1

    def to_json(self) -> str:
        d = asdict(self)
        d["classes"] = None if self.classes is None else list(self.classes)
        if self.boundaries is None:
            del d["boundaries"]  # files without buckets keep their meta as before
        else:
            d["boundaries"] = list(self.boundaries)
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
        bounds = values.get("boundaries")
        if bounds is not None and not (
            isinstance(bounds, list) and all(type(b) is int and b >= 1 for b in bounds)
        ):
            raise UnreadableInput(
                f"member meta says boundaries {bounds!r}, not a list of lengths",
                path=path,
                hint="write the file again with lstmprep pad",
            )
        if bounds is not None:
            values["boundaries"] = tuple(bounds)
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


@dataclass(frozen=True, eq=False)
class Part:
    """One tensor of a padded file: the whole data, or one length bucket."""

    x: np.ndarray
    lengths: np.ndarray
    y: np.ndarray | None = None
    #: each row's position in the input (buckets only)
    index: np.ndarray | None = None


def member_names(bucket: int | None) -> dict[str, str]:
    """The members of one tensor: ``x``, ``lengths``… or ``x_0``, ``lengths_0``…"""
    tail = "" if bucket is None else f"_{bucket}"
    return {k: k + tail for k in ("x", "lengths", "y", "index")}


def write_padded(
    output: Path,
    parts: list[Part],
    meta: PadMeta,
    *,
    inputs: Inputs | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Write atomically: ``.npy`` gets ``x`` alone, ``.npz`` every member (one part, or one
    per bucket when ``meta.boundaries`` is set, then ``extra``).

    The free space is checked first, and nothing is renamed into place if one of ``inputs``
    (:func:`~lstmprep.output.watch_inputs`, taken before reading) changed meanwhile.
    """
    size = sum(a.nbytes for p in parts for a in (p.x, p.lengths, p.y, p.index) if a is not None)
    if output.suffix.lower() == ".npy":
        with atomic_path(output, size=size, inputs=inputs) as tmp, open(tmp, "wb") as f:
            np.save(f, parts[0].x)
        return
    with padded_writer(output, size, inputs) as archive:
        for i, part in enumerate(parts):
            names = member_names(None if meta.boundaries is None else i)
            for key in ("x", "lengths", "y", "index"):
                array = getattr(part, key)
                if array is not None:
                    archive.write(names[key], array)
        for name, array in (extra or {}).items():
            archive.write(name, array)
        archive.write("meta", np.array(meta.to_json()))


@contextmanager
def padded_writer(output: Path, size: int, inputs: Inputs | None = None) -> Iterator[NpzWriter]:
    """An :class:`NpzWriter` on a temporary file renamed to ``output`` once complete."""
    with (
        atomic_path(output, size=size, inputs=inputs) as tmp,
        open(tmp, "wb") as f,
        NpzWriter(f) as archive,
    ):
        yield archive


#: The timestamp of every member: the same data gives the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Rows are written in blocks of about this many bytes.
BLOCK_BYTES = 16 << 20


class NpzWriter:
    """A ``.npz`` written member by member, each in blocks: stored, ZIP64, fixed timestamps.

    >>> import io
    >>> buffer = io.BytesIO()
    >>> with NpzWriter(buffer) as archive:
    ...     archive.write("a", np.arange(3))
    ...     with archive.member("b", (2, 2), np.float32) as put:
    ...         put(np.ones((1, 2), np.float32))
    ...         put(np.zeros((1, 2), np.float32))
    >>> loaded = np.load(io.BytesIO(buffer.getvalue()))
    >>> loaded["a"].tolist(), loaded["b"].tolist()
    ([0, 1, 2], [[1.0, 1.0], [0.0, 0.0]])
    """

    def __init__(self, file: IO[bytes]):
        self.archive = zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True)

    def __enter__(self) -> NpzWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.archive.close()

    def write(self, name: str, array: np.ndarray) -> None:
        """A whole array (or memmap), in blocks of rows."""
        with self.member(name, array.shape, array.dtype) as put:
            if array.ndim == 0:
                put(array)
                return
            rows = max(1, BLOCK_BYTES // max(1, array[:1].nbytes))
            for start in range(0, len(array), rows):
                put(array[start : start + rows])

    @contextmanager
    def member(
        self, name: str, shape: tuple[int, ...], dtype: Any
    ) -> Iterator[Callable[[np.ndarray], None]]:
        """Write member ``name`` of ``shape`` and ``dtype``: call ``put(block)`` with its rows,
        in order, until all of them are written."""
        dtype = np.dtype(dtype)
        info = zipfile.ZipInfo(name + ".npy", date_time=_EPOCH)
        info.compress_type = zipfile.ZIP_STORED
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        written = 0
        with self.archive.open(info, "w", force_zip64=True) as f:
            header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
            np.lib.format.write_array_header_1_0(f, {**header, "shape": tuple(shape)})

            def put(block: np.ndarray) -> None:
                nonlocal written
                data = np.ascontiguousarray(block, dtype=dtype)
                plain = data.ndim and data.dtype.kind not in "USVO"
                f.write(data.reshape(-1).view(np.uint8).data if plain else data.tobytes())
                written += data.nbytes

            yield put
            if written != expected:
                raise ValueError(f"member {name}: {written} bytes written, {expected} expected")


def map_member(path: Path, info: zipfile.ZipInfo) -> np.ndarray | None:
    """A stored (uncompressed) numeric ``.npy`` member as a read-only ``np.memmap``, or
    ``None`` when it cannot be mapped (compressed, encrypted, pickled, empty).

    The member's bytes start after its local file header (30 bytes, the name, the extra
    field), and the array's after the ``.npy`` header.
    """
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_length + extra_length
        f.seek(start)
        try:
            version = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read(f)
        except Exception:  # not a plain .npy: the caller reads it the ordinary way
            return None
        offset = f.tell()
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if dtype.hasobject or size == 0 or offset - start + size > info.file_size:
        return None
    order: Any = "F" if fortran else "C"
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)


@dataclass(frozen=True, eq=False)
class MappedPadded:
    """pad's own stored ``.npz`` with its tensors memory-mapped (:func:`map_padded`)."""

    meta: PadMeta
    #: one part, or one per bucket: ``x`` a read-only ``np.memmap``; ``lengths``, ``y`` and
    #: ``index`` in memory (one value per sequence)
    parts: list[Part]
    #: the labels of every sequence in sequence order (``y``), or ``None``
    labels: np.ndarray | None

    @property
    def n_sequences(self) -> int:
        return sum(len(p.lengths) for p in self.parts)

    @property
    def nbytes(self) -> int:
        return sum(p.x.nbytes for p in self.parts)


def map_padded(path: Path) -> MappedPadded | None:
    """pad's own ``.npz`` (one tensor or length buckets), its ``x`` members memory-mapped.

    ``None`` when the file is anything else — no ``meta``, a compressed or odd member, shapes
    that do not fit — so that the caller reads it the ordinary way (``lstmprep.read``), which
    explains what is wrong. A ``meta`` that is not pad's raises :class:`UnreadableInput`.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {n.removesuffix(".npy"): archive.getinfo(n) for n in archive.namelist()}
            if "meta" not in infos or infos["meta"].file_size > 1 << 20:
                return None
            with archive.open(infos["meta"]) as f:
                text = np.lib.format.read_array(f, allow_pickle=False)
    except Exception:  # not a zip, a bad member…: lstmprep.read says what is wrong
        return None
    if text.dtype.kind != "U" or text.ndim != 0:
        return None
    meta = PadMeta.from_json(str(text), str(path))
    if meta.kind is None:
        return None
    parts = []
    for i in range(meta.n_buckets):
        names = member_names(None if meta.boundaries is None else i)
        arrays = {}
        for key, name in names.items():
            info = infos.get(name)
            mapped = None if info is None else map_member(path, info)
            if info is not None and mapped is None:
                return None
            arrays[key] = mapped
        part = _mapped_part(arrays, meta)
        if part is None:
            return None
        parts.append(part)
    index: list[np.ndarray] = [p.index for p in parts if p.index is not None]
    if meta.boundaries is not None:
        order = np.concatenate(index) if index else np.empty(0, np.int64)
        if len(index) != len(parts) or not np.array_equal(np.sort(order), np.arange(len(order))):
            return None
    ys = [p.y for p in parts if p.y is not None]
    labels = None
    if ys and len(ys) == len(parts):
        labels = np.concatenate(ys) if len(ys) > 1 else ys[0]
        if meta.boundaries is not None:
            labels = labels[np.argsort(np.concatenate(index), kind="stable")]
        if meta.command == "window" and labels is not None and labels.ndim == 3:
            labels = labels.reshape(len(labels), -1)  # (N, horizon, C): one vector per window
    elif ys:
        return None
    return MappedPadded(meta, parts, labels)


def _mapped_part(arrays: dict[str, Any], meta: PadMeta) -> Part | None:
    """One tensor's members, checked to fit together as pad writes them; ``None`` if not."""
    x, lengths, y, index = (arrays[k] for k in ("x", "lengths", "y", "index"))
    if x is None or lengths is None or x.dtype.kind not in "iuf":
        return None
    if x.ndim != (2 if meta.kind == "tokens" else 3) or (x.ndim == 3 and not x.shape[2]):
        return None
    n = len(x)
    lengths = np.array(lengths)
    if lengths.shape != (n,) or lengths.dtype.kind not in "iu":
        return None
    lengths = lengths.astype(np.int64)
    if n and not 0 <= lengths.min() <= lengths.max() <= x.shape[1]:
        return None
    if index is not None:
        index = np.array(index)
        if index.shape != (n,) or index.dtype.kind not in "iu":
            return None
        index = index.astype(np.int64)
    if y is not None:
        y = np.array(y)
        if y.ndim == 0 or len(y) != n:
            return None
    return Part(x, lengths, y, index)


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


def source_meta(
    dataset: Dataset, files: list[Path], digest: Callable[[Path], str] | None = None
) -> dict[str, str]:
    """The source's name and sha256; for several files, the sha256 of their names and hashes.

    ``digest`` gives a file's sha256 (:func:`sha256`, or a :class:`HashInBackground`).
    """
    digest = digest or sha256
    if len(files) == 1 and not dataset.files:
        return {"file": files[0].name, "sha256": digest(files[0])}
    listing = "".join(f"{digest(f)}  {f.name}\n" for f in files)
    return {
        "file": dataset.path,
        "sha256": hashlib.sha256(listing.encode()).hexdigest(),
        "files": str(len(files)),
    }


class HashInBackground:
    """The files' sha256, computed on a thread beside reading them (hashlib lets go of the GIL).

    Call it as :func:`source_meta`'s ``digest``: it waits for the thread (and hashes itself a
    file the thread could not read, to raise the error where it did before). ``cancel()`` stops
    the thread (when the padding fails). The thread reads into one buffer: it allocates nothing
    while it runs.
    """

    def __init__(self, files: list[Path]) -> None:
        import threading

        self._done: dict[Path, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(list(files),), daemon=True)
        self._thread.start()

    def _work(self, files: list[Path]) -> None:
        for path in files:
            try:
                digest = sha256(path, self._stop)
            except OSError:
                return
            if self._stop.is_set():
                return
            self._done[path] = digest

    def __call__(self, path: Path) -> str:
        self._thread.join()
        return self._done.get(path) or sha256(path)

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join()


def sha256(path: Path, stop: Any = None) -> str:
    """The file's sha256 (``stop``: a ``threading.Event`` that ends the reading early)."""
    digest = hashlib.sha256()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with open(path, "rb") as f:
        while (size := f.readinto(buffer)) and not (stop is not None and stop.is_set()):
            digest.update(view[:size])
    return digest.hexdigest()


def unpad_buckets(
    arrays: dict[str, np.ndarray], meta: PadMeta, path: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The sequences of a bucketed file in their original order: ``(values, lengths, y)``.

    >>> meta = PadMeta(boundaries=(2,))
    >>> arrays = {"x_0": np.array([[[1.0]]]), "lengths_0": np.array([1]),
    ...           "index_0": np.array([1]), "x_1": np.array([[[2.0], [3.0]]]),
    ...           "lengths_1": np.array([2]), "index_1": np.array([0])}
    >>> values, lengths, y = unpad_buckets(arrays, meta, "b.npz")
    >>> values[:, 0].tolist(), lengths.tolist(), y
    ([2.0, 3.0, 1.0], [2, 1], None)
    """
    hint = "write the file again with lstmprep pad"
    parts = []
    for i in range(meta.n_buckets):
        names = member_names(i)
        missing = [names[k] for k in ("x", "lengths", "index") if names[k] not in arrays]
        if not missing and arrays[names["x"]].ndim == 2:  # token ids: (N, T)
            arrays[names["x"]] = arrays[names["x"]][:, :, None]
        if missing or arrays[names["x"]].ndim != 3:
            raise UnreadableInput(
                f"bucket {i} of {meta.n_buckets} has no 3-D {names['x']} with its "
                f"{names['lengths']} and {names['index']}",
                path=path,
                hint=hint,
            )
        x = arrays[names["x"]]
        values, lengths = unpad(x, arrays[names["lengths"]].astype(np.int64), meta, path)
        parts.append((values, lengths, arrays[names["index"]], arrays.get(names["y"])))
    index = np.concatenate([p[2] for p in parts]).astype(np.int64)
    n = len(index)
    if n and not np.array_equal(np.sort(index), np.arange(n)):
        raise UnreadableInput(
            f"the index members do not number the {n} sequences 0 to {n - 1} once each",
            path=path,
            hint=hint,
        )
    values = np.concatenate([p[0] for p in parts])
    lengths_by_bucket = np.concatenate([p[1] for p in parts])
    order = np.argsort(index, kind="stable")  # bucket row of each original position
    starts = np.concatenate([[0], np.cumsum(lengths_by_bucket)[:-1]]).astype(np.int64)
    lengths = lengths_by_bucket[order]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    rows = np.repeat(starts[order] - offsets, lengths) + np.arange(int(lengths.sum()))
    ys = [p[3] for p in parts if p[3] is not None]
    y: np.ndarray | None = None
    if ys and len(ys) == len(parts):
        y = np.concatenate(ys)[order]
    return values[rows], lengths, y
