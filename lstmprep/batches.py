"""Training batches read from array-likes that slice like numpy: in memory, memory-mapped, zarr.

:class:`Batches` holds the padded data as *parts* — the one padded tensor, or pad's length
buckets — each an ``x`` ``(rows, timesteps[, features])``, its ``lengths`` and ``index`` (the
sequence number of each row), and the targets ``y`` of every sequence, in sequence order. ``x``
is only ever sliced: a batch reads its rows, cut to its longest sequence, so a memory-mapped
``.npz`` member (``padded_file.map_member``), a ``zarr`` array or a plain ndarray all serve, and
the whole tensor is never loaded. A batch never mixes parts (so never mixes length buckets);
within a part, sequences are sorted by length and cut into batches of similar length, and the
order of the batches is shuffled every epoch — nothing is shuffled by copying data.

Pages of a memory-mapped file that are touched count in the process's resident memory — and
touching one row maps far more than the row (the kernel maps whole folios around a fault:
about 1 MB a row on Linux 6.18, so 256 random rows put some 280 MB in RSS). With ``bounded``
(data larger than the memory budget), rows of an ``np.memmap`` are read with ``os.preadv``
from its file into the batch instead: the page cache holds them, the process does not.
"""

from __future__ import annotations

import math
import mmap
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .padded_file import Part
from .padding import timestep_mask

#: Rows are read in blocks of about this many bytes when a pass goes over all of them.
BLOCK_BYTES = 32 << 20


class Batches:
    """Batches of ``((x, mask), y)`` from ``parts``, never across two parts.

    >>> part = Part(np.arange(12.0).reshape(4, 3, 1), np.array([1, 3, 2, 3]))
    >>> b = Batches([part], np.arange(4.0), padding="post", batch_size=2)
    >>> [g.tolist() for g in b.groups(np.arange(4))]
    [[0, 2], [1, 3]]
    >>> (x, mask), y = b.batch(np.array([0, 2]))
    >>> x[..., 0].tolist(), mask.tolist(), y.tolist()
    ([[0.0, 1.0], [6.0, 7.0]], [[True, False], [True, True]], [0.0, 2.0])
    """

    def __init__(
        self,
        parts: Sequence[Part],
        y: Any,
        *,
        padding: str = "post",
        batch_size: int = 32,
        mask: str = "lengths",
        value: float = 0.0,
        bounded: bool = False,
        ids: np.ndarray | None = None,
        buckets: np.ndarray | None = None,
    ) -> None:
        # lengths and index are one number a sequence: in memory (zarr arrays have no len())
        self.parts = [_in_memory(p) for p in parts]
        self.y = np.asarray(y)
        self.padding, self.batch_size, self.mask, self.value = padding, batch_size, mask, value
        n = sum(len(p.lengths) for p in self.parts)
        #: for each sequence: its length, its part and its row in that part
        self.lengths = np.zeros(n, dtype=np.int64)
        self.part = np.zeros(n, dtype=np.int64)
        self.row = np.zeros(n, dtype=np.int64)
        for k, p in enumerate(self.parts):
            rows = np.arange(len(p.lengths))
            index = rows if p.index is None else np.asarray(p.index, dtype=np.int64)
            self.lengths[index] = np.asarray(p.lengths)
            self.part[index] = k
            self.row[index] = rows
        #: the group of each sequence a batch stays in: its part, or ``buckets``
        self.bucket = self.part if buckets is None else np.asarray(buckets)
        #: the sequences that take part (the others are not read)
        self.ids = np.arange(n) if ids is None else np.asarray(ids, dtype=np.int64)
        first = self.parts[0].x
        self.dtype = np.dtype(first.dtype)
        self.features = tuple(first.shape[2:])
        self.bounded = bounded

    def __len__(self) -> int:
        return len(self.lengths)

    def groups(self, ids: np.ndarray) -> list[np.ndarray]:
        """``ids`` cut into batches: by part (or bucket), then by length, ``batch_size`` each,
        cut from the longest down, so that a part's one smaller batch holds its shortest
        sequences: of all the ways to cut them, the fewest batches and the fewest timesteps
        (the sum of each batch's longest) the LSTM steps through.

        >>> b = Batches([Part(np.zeros((5, 5)), np.array([1, 2, 3, 4, 5]))], np.zeros(5),
        ...             batch_size=2)
        >>> [g.tolist() for g in b.groups(np.arange(5))]  # steps 1 + 3 + 5, not 2 + 4 + 5
        [[0], [1, 2], [3, 4]]
        """
        out = []
        buckets = self.bucket[ids]
        kinds = np.unique(buckets)
        for k in kinds:
            inside = ids if len(kinds) == 1 else ids[buckets == k]
            order = inside[np.argsort(self.lengths[inside], kind="stable")]
            first = len(order) % self.batch_size  # the smaller batch, if any: the shortest
            out += [order[:first]] if first else []
            out += [
                order[i : i + self.batch_size] for i in range(first, len(order), self.batch_size)
            ]
        return out

    def batch(self, group: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """One batch: its rows of ``x`` cut to the longest of them, the mask, the targets."""
        steps = max(1, int(self.lengths[group].max()))
        part = self.parts[int(self.part[group[0]])]
        if (self.part[group] != self.part[group[0]]).any() or part.x.shape[1] < steps:
            x = self.padded(group, steps)
        else:
            x = self._take(part.x, self.row[group], self._cut(part.x.shape[1], steps))
        return (x, self.mask_of(x, group)), self.y[group]

    def padded(self, ids: np.ndarray, steps: int | None = None) -> np.ndarray:
        """Rows ``ids`` padded to ``steps`` (their longest), from whichever parts hold them."""
        steps = max(1, int(self.lengths[ids].max())) if steps is None else steps
        out = np.full((len(ids), steps, *self.features), self.value, dtype=self.dtype)
        for k in np.unique(self.part[ids]):
            where = np.flatnonzero(self.part[ids] == k)
            x = self.parts[k].x
            width = min(steps, x.shape[1])
            block = self._take(x, self.row[ids[where]], self._cut(x.shape[1], width))
            out[where, self._cut(steps, width)] = block
        return out

    def mask_of(self, x: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The mask of rows ``ids`` padded as ``x`` is: from the lengths (or as ``mask`` says)."""
        if self.mask == "value":
            return ~(x == self.value).reshape(*x.shape[:2], -1).all(axis=2)
        if self.mask == "none":
            return np.ones(x.shape[:2], dtype=bool)
        return timestep_mask(self.lengths[ids], x.shape[1], self.padding)

    def _cut(self, width: int, steps: int) -> slice:
        return slice(None, steps) if self.padding == "post" else slice(width - steps, None)

    def _take(self, x: Any, rows: np.ndarray, cut: slice) -> np.ndarray:
        return take(x, rows, cut, bounded=self.bounded)

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every sequence's real timesteps, a block of rows at a time: ``(values, lengths,
        ids)``, ``values`` ``(timesteps, features...)`` as ``x``'s dtype, ``ids`` the sequences."""
        for p in self.parts:
            x, lengths = p.x, np.asarray(p.lengths)
            width = x.shape[1]
            rows = max(1, BLOCK_BYTES // max(1, math.prod(x.shape[1:]) * self.dtype.itemsize))
            for start in range(0, len(lengths), rows):
                block = read_rows(x, start, start + rows, bounded=self.bounded)
                within = lengths[start : start + rows]
                if p.index is None:
                    ids = np.arange(start, start + len(within))
                else:
                    ids = np.asarray(p.index[start : start + rows])
                yield block[timestep_mask(within, width, self.padding)], within, ids

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each feature over the real timesteps (float64,
        merged block by block); a constant feature's deviation is 1."""
        count, mean, m2 = 0, np.zeros(self.features), np.zeros(self.features)
        for values, _, _ in self.blocks():
            if not len(values):
                continue
            n, mu = len(values), values.mean(axis=0, dtype=np.float64)
            delta = mu - mean
            total = count + n
            m2 = m2 + ((values - mu) ** 2).sum(axis=0) + delta**2 * count * n / total
            mean = mean + delta * n / total
            count = total
        std = np.sqrt(m2 / count) if count else np.ones(self.features)
        return mean, np.where(std > 1e-7, std, 1.0)

    def dataset(self, ids: np.ndarray, rng: np.random.Generator | None) -> Any:
        """A ``tf.data.Dataset`` of the batches of ``ids``; ``rng`` shuffles their order every
        epoch (each new iteration), ``None`` keeps it."""
        import tensorflow as tf

        groups = self.groups(ids)

        def generate() -> Iterator:
            for g in rng.permutation(len(groups)) if rng is not None else range(len(groups)):
                yield self.batch(groups[g])

        signature = (
            (
                tf.TensorSpec((None, None, *self.features), tf.as_dtype(self.dtype)),
                tf.TensorSpec((None, None), tf.bool),
            ),
            tf.TensorSpec((None, *self.y.shape[1:]), tf.as_dtype(self.y.dtype)),
        )
        data = tf.data.Dataset.from_generator(generate, output_signature=signature)
        data = data.apply(tf.data.experimental.assert_cardinality(len(groups)))
        return data.prefetch(tf.data.AUTOTUNE)  # the next batches are read while one trains


def _in_memory(part: Part) -> Part:
    index = None if part.index is None else np.asarray(part.index)
    return Part(part.x, np.asarray(part.lengths), part.y, index)


def take(x: Any, rows: np.ndarray, cut: slice, *, bounded: bool = False) -> np.ndarray:
    """``x[rows, cut]`` of an array-like: numpy's indexing, zarr's ``oindex``, or (``bounded``,
    an ``np.memmap``) one ``preadv`` per row from its file, which leaves no pages mapped.

    >>> take(np.arange(12).reshape(3, 4), np.array([2, 0]), slice(1, 3)).tolist()
    [[9, 10], [1, 2]]
    """
    where = _in_file(x) if bounded else None
    if where is None:
        return np.asarray(x.oindex[rows, cut] if hasattr(x, "oindex") else x[rows, cut])
    path, position = where
    start, stop, _ = cut.indices(x.shape[1])
    out = np.empty((len(rows), max(0, stop - start), *x.shape[2:]), dtype=x.dtype)
    position += start * x.strides[1]
    size, stride = (out[0].nbytes if len(out) else 0), x.strides[0]
    cells = out.reshape(-1).view(np.uint8).data
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        for i, row in enumerate(rows.tolist()):
            at = position + row * stride
            if os.preadv(fd, [cells[i * size : (i + 1) * size]], at) != size:  # a short read
                _pread_into(fd, out[i], at)
    return out


def read_rows(x: Any, start: int, stop: int, *, bounded: bool = False) -> np.ndarray:
    """``x[start:stop]`` as an ndarray; ``bounded``: read from an ``np.memmap``'s file."""
    where = _in_file(x) if bounded else None
    if where is None:
        return np.asarray(x[start:stop])
    path, position = where
    stop = min(stop, x.shape[0])
    stride = x.strides[0]
    buffer = np.empty((max(0, stop - start), stride // x.dtype.itemsize), dtype=x.dtype)
    with open(path, "rb", buffering=0) as f:
        _pread_into(f.fileno(), buffer, position + start * stride)
    per_row = math.prod(x.shape[1:])
    return buffer[:, :per_row].reshape(len(buffer), *x.shape[1:])


def _pread_into(fd: int, out: np.ndarray, position: int) -> None:
    view = out.reshape(-1).view(np.uint8).data
    while len(view):
        got = os.preadv(fd, [view], position)
        if got <= 0:
            raise OSError(f"the file ended {len(view)} bytes early")
        view, position = view[got:], position + got


def _in_file(x: Any) -> tuple[str, int] | None:
    """The file of an ``np.memmap`` (or a view of one) and where its first element is, when
    each row's cells lie together in it (C order within a row); otherwise ``None``."""
    mapped = getattr(x, "_mmap", None)
    path = getattr(x, "filename", None)
    if not isinstance(mapped, mmap.mmap) or path is None or not isinstance(x, np.ndarray):
        return None
    inner = x.dtype.itemsize
    for n, stride in zip(x.shape[:0:-1], x.strides[:0:-1], strict=True):
        if stride != inner:
            return None
        inner *= n
    if x.strides[0] < inner or x.strides[0] % x.dtype.itemsize:
        return None
    begins = np.frombuffer(mapped, dtype=np.uint8).ctypes.data  # where the mapping starts
    offset = int(getattr(x, "offset", 0))
    aligned = offset - offset % mmap.ALLOCATIONGRANULARITY  # the file offset mapped there
    return path, x.ctypes.data - begins + aligned


def without_last(
    parts: Sequence[Part], padding: str, bounded: bool = False
) -> tuple[list[Part], np.ndarray]:
    """Each sequence without its last real timestep, and those last timesteps (in sequence
    order): the inputs and targets of self-supervised training, read a block at a time.

    The parts are views (``x[:, :-1]``, whether the padding comes before or after), so nothing
    is copied; sequences of one timestep or none keep none.

    >>> x = np.array([[[1.0], [2.0], [0.0]], [[3.0], [4.0], [5.0]]])
    >>> inputs, last = without_last([Part(x, np.array([2, 3]))], "post")
    >>> inputs[0].x.shape, inputs[0].lengths.tolist(), last[:, 0].tolist()
    ((2, 2, 1), [1, 2], [2.0, 5.0])
    """
    parts = [_in_memory(p) for p in parts]
    n = sum(len(p.lengths) for p in parts)
    first = parts[0].x
    last = np.zeros((n, *first.shape[2:]), dtype=first.dtype)
    out = []
    for p in parts:
        x, lengths = p.x, np.asarray(p.lengths)
        width = x.shape[1]
        index = np.arange(len(lengths)) if p.index is None else np.asarray(p.index)
        rows = max(1, BLOCK_BYTES // max(1, math.prod(x.shape[1:]) * first.dtype.itemsize))
        for start in range(0, len(lengths), rows):
            within = lengths[start : start + rows]
            step = (
                np.maximum(within - 1, 0) if padding == "post" else np.full(len(within), width - 1)
            )
            block = read_rows(x, start, start + rows, bounded=bounded)
            last[index[start : start + rows]] = block[np.arange(len(within)), step]
        view = x[:, :-1] if isinstance(x, np.ndarray) else FirstColumns(x, width - 1)
        out.append(Part(view, np.maximum(lengths - 1, 0), None, p.index))
    return out, last


class FirstColumns:
    """The first ``width`` timesteps of every row of an array-like, read lazily: ``x[:, :w]``
    for arrays whose slices are copies (zarr), where numpy's would be a view.

    >>> v = FirstColumns(np.arange(12).reshape(3, 4), 2)
    >>> v.shape, v[1:].tolist(), v[np.array([2]), 1:].tolist()
    ((3, 2), [[4, 5], [8, 9]], [[9]])
    """

    def __init__(self, x: Any, width: int) -> None:
        self.x, self.width = x, width
        self.shape = (x.shape[0], width, *x.shape[2:])
        self.dtype, self.ndim = x.dtype, x.ndim

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            rows, cut = key
            start, stop, _ = cut.indices(self.width)
            return take(self.x, rows, slice(start, stop))
        return np.asarray(self.x[key])[:, : self.width]
