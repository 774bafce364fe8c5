"""The padded Zarr store ``lstmprep pad … -o OUT.zarr --scheduler …`` writes, and reading it back.

One owner for the format, as :mod:`lstmprep.padded_file` is for the ``.npz``. A ``.zarr`` is a
Zarr v3 group (a folder) holding the arrays of pad's ``.npz`` under the same names:

- ``x`` ``(N, T, F)`` (token ids: ``(N, T)`` integers), equal value for value to the ``x`` of the
  ``.npz`` that ``pad`` writes for the same data in one process;
- ``lengths`` ``(N,)``: real timesteps per row, after truncation;
- ``y`` ``(N, …)`` when there are labels (class names as Zarr's variable-length strings);

and in the group's attributes, under ``"lstmprep"``, the :class:`~lstmprep.padded_file.PadMeta`
as a JSON object. ``x`` is chunked along the rows only (a chunk holds whole ``(T, F)`` rows),
``chunk_rows`` rows per chunk (:func:`chunk_rows`: aligned to the shards when their sizes share
a factor), so that each chunk is written by exactly one task. Chunks are compressed with LZ4
(Blosc, level 1): padding compresses to almost nothing, and the rows stay fast to write and read.

:func:`open_padded` gives the arrays without reading them: Zarr arrays slice like numpy
(``x[i:j]`` is an ``np.ndarray``), so training can read batch by batch. numpy, Dask
(``da.from_zarr(path, component="x")``), xarray and tf.data read the store chunk by chunk.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UnreadableInput, UsageError
from .padded_file import PadMeta, Part

if TYPE_CHECKING:
    import numpy as np

SUFFIX = ".zarr"
#: The group attribute that holds the PadMeta.
ATTRIBUTE = "lstmprep"
#: What to install for the Zarr (and Dask) parts.
INSTALL = "install them with `pip install 'lstmprep[dask]'`"
#: About this many bytes of x per chunk: large enough for object storage (one request per
#: chunk), small enough that a worker holds a few at once.
CHUNK_BYTES = 32 << 20


def import_zarr() -> Any:
    """``zarr``, or a usage error (exit 2) saying how to install it."""
    try:
        import zarr
    except ImportError:
        raise UsageError(
            "reading and writing .zarr needs the optional Zarr package, which is not installed",
            hint=INSTALL,
        ) from None
    return zarr


def is_zarr(path: str | Path) -> bool:
    """Whether ``path`` names a Zarr store (by its suffix)."""
    return Path(path).suffix.lower() == SUFFIX


def chunk_rows(shard_rows: list[int], row_bytes: int, target: int | None = None) -> int:
    """Rows of ``x`` per chunk: about ``target`` bytes (:data:`CHUNK_BYTES`), and a divisor
    of every shard's size when the shards share a factor of that order — then no chunk
    straddles two shards and each shard's rows go straight into chunks of their own.

    >>> chunk_rows([1000, 1000, 500], row_bytes=1000, target=100_000)  # gcd 500
    100
    >>> chunk_rows([999, 1000], row_bytes=1000, target=100_000)        # no common factor
    100
    >>> chunk_rows([30, 30], row_bytes=1000, target=100_000)            # small shards: one each
    30
    """
    target = CHUNK_BYTES if target is None else target
    want = max(1, min(target // max(1, row_bytes), sum(shard_rows)))
    common = 0
    for n in shard_rows:
        common = math.gcd(common, n)
    if common and common <= want:
        return common if common * 4 >= want else want
    if common:  # the largest divisor of the common size not above want
        for parts in range(math.ceil(common / want), common + 1):
            if common % parts == 0 and common // parts * 4 >= want:
                return common // parts
    return want


@dataclass(frozen=True)
class Layout:
    """The arrays of a padded store, before anything is written."""

    rows: int
    maxlen: int
    features: int
    dtype: str
    value: float
    chunk_rows: int
    #: token ids: x is (N, T)
    ids: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, self.maxlen) if self.ids else (self.rows, self.maxlen, self.features)

    @property
    def chunks(self) -> tuple[int, ...]:
        return (self.chunk_rows, *self.shape[1:])


def create(
    path: Path, layout: Layout, meta: PadMeta, lengths: np.ndarray, y: np.ndarray | None
) -> None:
    """Create the store at ``path`` (a new folder): ``x`` empty (filled by :class:`Rows`), and
    ``lengths``, ``y`` and the meta written at once (they are one value per row, small)."""
    import numpy as np

    zarr = import_zarr()
    from zarr.codecs import BloscCodec

    root = zarr.open_group(str(path), mode="w-", zarr_format=3)
    root.create_array(
        "x",
        shape=layout.shape,
        chunks=layout.chunks,
        dtype=layout.dtype,
        fill_value=layout.value,
        # LZ4 in Blosc: padding compresses to almost nothing for little CPU (zstd level 1
        # saves 5% more bytes here for 60% more time); any Zarr v3 reader has Blosc
        compressors=BloscCodec(cname="lz4", clevel=1, shuffle="noshuffle"),
        write_data=True,
    )
    root.create_array("lengths", data=np.asarray(lengths, dtype=np.int64))
    if y is not None:
        if y.dtype.kind in "US":
            stored = root.create_array("y", shape=y.shape, dtype=str, chunks=(max(1, len(y)),))
            stored[:] = y.astype(str)
        else:
            root.create_array("y", data=y)
    root.attrs[ATTRIBUTE] = json.loads(meta.to_json())


class Rows:
    """Where :func:`dask.array.store` puts the padded rows: ``x`` of the store at ``path``,
    opened in the worker that writes a block (it pickles as a path).

    A block is written only while the store's group is there: when the driver has given up
    (the scheduler gone, Ctrl-C) and removed the temporary store, a task still running on a
    worker writes nothing rather than leave a stray folder behind.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)

    def __setitem__(self, key: tuple[slice, ...], block: np.ndarray) -> None:
        if not (Path(self.path) / "zarr.json").exists():
            raise FileNotFoundError(f"{self.path} is gone: the pad was stopped")
        zarr = import_zarr()
        # write_empty_chunks: no check that a chunk is all padding (zarr compares it byte by
        # byte with the fill value, ~6 % of the pass's CPU); such a chunk is rare, and written
        x = zarr.open_array(self.path + "/x", mode="r+", config={"write_empty_chunks": True})
        x[key] = block


class Sliced:
    """A Zarr array that slices like a numpy array: ``a[i:j]``, ``a[[3, 1]]``, a boolean mask,
    ``np.asarray(a)``; only the chunks a slice touches are read."""

    def __init__(self, array: Any):
        self.array = array
        self.shape: tuple[int, ...] = tuple(array.shape)
        self.dtype = array.dtype
        self.ndim = len(self.shape)
        self.chunks: tuple[int, ...] = tuple(array.chunks)

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        import numpy as np

        keys = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, (list, np.ndarray)) for k in keys):  # masks and index lists
            keys = tuple(_orthogonal(k) if isinstance(k, (list, np.ndarray)) else k for k in keys)
            return self.array.oindex[keys]
        return self.array[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        import numpy as np

        values = self.array[...]
        return values if dtype is None else np.asarray(values, dtype=dtype)


def _orthogonal(key: Any) -> Any:
    """A mask or an index list as zarr's ``oindex`` takes it: integer positions."""
    import numpy as np

    key = np.asarray(key)
    return np.flatnonzero(key) if key.dtype == bool else key


@dataclass(frozen=True)
class Padded:
    """A padded store, opened: ``x``, ``lengths`` and ``y`` slice like numpy arrays
    (:class:`Sliced`) and are read only where sliced (``x[i:j]`` reads the chunks of rows i
    to j). ``parts`` and ``labels`` as pad's memory-mapped ``.npz`` gives them, for training
    batch by batch."""

    path: str
    x: Any
    lengths: Any
    y: Any
    meta: PadMeta

    @property
    def parts(self) -> list[Part]:
        """One part: ``x`` read where sliced, ``lengths`` and ``y`` in memory."""
        import numpy as np

        return [Part(self.x, np.asarray(self.lengths[...]), self.labels)]

    @property
    def labels(self) -> np.ndarray | None:
        return labels_of(self.y)

    @property
    def n_sequences(self) -> int:
        return int(self.x.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.x.nbytes)


def open_padded(path: str | Path) -> Padded:
    """Open a padded ``.zarr`` without reading its arrays.

    Raises :class:`UnreadableInput` when the folder is not a Zarr store lstmprep wrote.
    """
    zarr = import_zarr()
    where = str(path)
    try:
        root = zarr.open_group(where, mode="r")
        attrs = dict(root.attrs)
        members = set(root.array_keys())
    except (FileNotFoundError, ValueError, KeyError, OSError) as e:
        raise UnreadableInput(
            f"not a Zarr store ({type(e).__name__}: {e})",
            path=where,
            hint="give a .zarr folder written by lstmprep pad",
        ) from None
    if ATTRIBUTE not in attrs or not {"x", "lengths"} <= members:
        raise UnreadableInput(
            f"a Zarr store without lstmprep's arrays and meta (it holds {sorted(members)})",
            path=where,
            hint="give a .zarr folder written by lstmprep pad",
        )
    meta = PadMeta.from_json(json.dumps(attrs[ATTRIBUTE]), where)
    y = Sliced(root["y"]) if "y" in members else None
    return Padded(where, Sliced(root["x"]), Sliced(root["lengths"]), y, meta)


def labels_of(y: Any) -> np.ndarray | None:
    """``y`` read into memory as pad's ``.npz`` holds it (class names as numpy strings)."""
    import numpy as np

    if y is None:
        return None
    values = np.asarray(y[...])  # a Sliced or a Zarr array
    return np.array(values.tolist(), dtype=str) if values.dtype.kind in "OT" else values
