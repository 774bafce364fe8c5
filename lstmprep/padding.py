"""Padding: from a ragged batch to the dense ``(samples, timesteps, features)`` array.

``pad_ragged`` pads the project's ``Ragged`` representation with a few vectorised numpy
operations per block of sequences (no Python loop over sequences), into a new array or into
one you provide (e.g. a ``np.memmap``). ``pad_into`` is the same core on raw
``(values, lengths)`` for a block of rows of a larger output, the piece a streaming writer
needs. ``pad_sequences`` is a drop-in for ``keras.utils.pad_sequences`` built on it, and
``check_cast`` says when a dtype would silently change the data.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import struct
from itertools import chain, islice
from typing import NamedTuple

import numpy as np

from lstmprep.errors import UsageError
from lstmprep.options import PAD_VALUE
from lstmprep.ragged import Ragged, check_lengths

try:  # the C row copies; without them the numpy paths below do the same work
    if os.environ.get("LSTMPREP_NO_C") == "1":  # test the paths without C
        raise ImportError("LSTMPREP_NO_C=1")
    from lstmprep import _padcore
except ImportError:  # pragma: no cover - built with the package where a compiler exists
    _padcore = None

# Sequences are padded in blocks of about this many output bytes, which bounds every
# temporary (masks, casts, truncation) whatever the size of the batch.
_BLOCK_BYTES = 16 * 2**20

# Copying one whole timestep (all its features) as a single item is what makes the masked
# copy run at memory speed; these native types copy such items fastest.
_ITEM_TYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64, 16: np.complex128}


class Padded(NamedTuple):
    """A padded batch and how many real timesteps each row kept after truncation."""

    x: np.ndarray
    """``(samples, maxlen, features)``."""
    lengths: np.ndarray
    """``(samples,)`` int64."""


def pad_ragged(
    ragged: Ragged,
    maxlen: int | None = None,
    *,
    padding: str = "post",
    truncating: str = "pre",
    value=PAD_VALUE,
    dtype="float32",
    out: np.ndarray | None = None,
) -> Padded:
    """Pads a ragged batch into a dense ``(samples, maxlen, features)`` array.

    Sequences shorter than `maxlen` are padded with `value`, longer ones are truncated.
    The work is a few vectorised numpy operations per block of rows, with no Python loop
    over sequences, and the only large allocation is the result.

    >>> r = Ragged.from_sequences([[[1, 2]], [[3, 4], [5, 6], [7, 8]]])
    >>> padded = pad_ragged(r, maxlen=2)
    >>> padded.x
    array([[[1., 2.],
            [0., 0.]],
    <BLANKLINE>
           [[5., 6.],
            [7., 8.]]], dtype=float32)
    >>> padded.lengths
    array([1, 2])
    >>> pad_ragged(r, padding="pre", truncating="post", value=-1, dtype="int32").x[0]
    array([[-1, -1],
           [-1, -1],
           [ 1,  2]], dtype=int32)

    Args:
        ragged: The sequences.
        maxlen: Timesteps per row; `None` pads to the longest sequence.
        padding: `"pre"` or `"post"`: pad before or after each sequence.
        truncating: `"pre"` or `"post"`: drop timesteps from the start or the end of
            sequences longer than `maxlen`.
        value: Padding value: a scalar, or one value per feature.
        dtype: Numeric dtype of the result; `None` keeps the dtype of `ragged.values`.
            The timesteps truncation keeps are cast like `ndarray.astype` (see
            `check_cast` to catch losses); those it drops are never cast.
        out: Optional array of shape `(samples, maxlen, features)` and dtype `dtype`
            to fill and return instead of allocating one, e.g. a `np.memmap`.

    Returns:
        A `Padded` tuple `(x, lengths)`: the padded array and the number of real
        timesteps each row holds.
    """
    pre_padding, pre_truncating = _check_sides(padding, truncating)
    lengths = ragged.lengths
    if maxlen is None:
        maxlen = int(lengths.max()) if len(lengths) else 0
    maxlen = _check_maxlen(maxlen)
    dtype = _check_dtype(ragged.values.dtype if dtype is None else dtype)
    if dtype.kind not in "biufc":
        raise UsageError(f"dtype must be a numeric dtype, got {dtype}")
    shape = (len(lengths), maxlen, ragged.n_features)
    fill = _fill_row(value, dtype, ragged.n_features)
    # calloc'd zeros cost nothing to write: a new array padded with zeros skips the fill.
    skip_fill = out is None and not fill.view(np.uint8).any()
    if out is None:
        out = np.zeros(shape, dtype) if skip_fill else np.empty(shape, dtype)
    elif out.shape != shape or out.dtype != dtype:
        raise UsageError(
            f"out has shape {out.shape} and dtype {out.dtype}, "
            f"expected shape {shape} and dtype {dtype}"
        )
    fill_or_none = None if skip_fill else fill
    kept = _pad_blocks(out, ragged.values, lengths, pre_padding, pre_truncating, fill_or_none)
    return Padded(out, kept)


def pad_into(
    out: np.ndarray,
    values: np.ndarray,
    lengths: np.ndarray,
    *,
    padding: str = "post",
    truncating: str = "pre",
    value=PAD_VALUE,
) -> np.ndarray:
    """Pads sequences given as flat `values` and `lengths` into the rows of `out`.

    The core of `pad_ragged`, for filling a large output block by block: pass a slice of
    rows of `out` (of a `np.memmap`, say) and the sequences that go there.

    >>> out = np.empty((3, 2, 1), dtype="float32")
    >>> pad_into(out[:2], np.array([[1.0], [2.0], [3.0]]), np.array([1, 2]))
    array([1, 2])
    >>> pad_into(out[2:], np.array([[4.0], [5.0], [6.0]]), np.array([3]), value=-1)
    array([2])
    >>> out[..., 0]
    array([[1., 0.],
           [2., 3.],
           [5., 6.]], dtype=float32)

    Args:
        out: Array of shape `(len(lengths), maxlen, features)` to fill.
        values: The timesteps of all sequences, one after another:
            `(sum(lengths), features)`.
        lengths: Timesteps of each sequence, `(len(out),)`.
        padding, truncating, value: As for `pad_ragged`.

    Returns:
        The number of real timesteps each row of `out` received, `(len(out),)` int64.
    """
    pre_padding, pre_truncating = _check_sides(padding, truncating)
    values, lengths = np.asarray(values), np.asarray(lengths)
    if out.ndim != 3 or values.ndim != 2 or lengths.ndim != 1:
        raise UsageError(
            f"out must be 3-D, values 2-D and lengths 1-D, got shapes "
            f"{out.shape}, {values.shape} and {lengths.shape}"
        )
    if out.shape[0] != len(lengths) or out.shape[2] != values.shape[1]:
        raise UsageError(
            f"out of shape {out.shape} does not fit {len(lengths)} sequences "
            f"of {values.shape[1]} features"
        )
    try:
        lengths = check_lengths(lengths, len(values))
    except ValueError as e:
        raise UsageError(str(e)) from None
    fill = _fill_row(value, out.dtype, out.shape[2])
    return _pad_blocks(out, values, lengths, pre_padding, pre_truncating, fill)


def pad_sequences(sequences, maxlen=None, dtype=None, padding="pre", truncating="pre", value=0.0):
    """Pads sequences to the same length: a drop-in for `keras.utils.pad_sequences`.

    Same arguments, results and error messages as Keras, faster: a list of arrays is
    copied row by row (one `memcpy` per sequence), a list of lists of Python numbers is
    read number by number straight into the result (both in C, `lstmprep._padcore`;
    without it, the numbers are packed by `struct`, many sequences a call); other numeric
    sequences are stacked with one `np.concatenate` and padded by `pad_ragged`. As in
    Keras, with a `dtype` only the timesteps truncation keeps are cast: a value cut off
    never warns nor changes the result.

    >>> sequence = [[1], [2, 3], [4, 5, 6]]
    >>> pad_sequences(sequence)
    array([[0, 0, 1],
           [0, 2, 3],
           [4, 5, 6]], dtype=int32)
    >>> pad_sequences(sequence, value=-1)
    array([[-1, -1,  1],
           [-1,  2,  3],
           [ 4,  5,  6]], dtype=int32)
    >>> pad_sequences(sequence, padding='post')
    array([[1, 0, 0],
           [2, 3, 0],
           [4, 5, 6]], dtype=int32)
    >>> pad_sequences(sequence, maxlen=2)
    array([[0, 1],
           [2, 3],
           [5, 6]], dtype=int32)
    >>> pad_sequences([[0.5], [1.5, 2.5]])
    array([[0. , 0.5],
           [1.5, 2.5]], dtype=float32)
    >>> pad_sequences([["a"], ["b", "c"]], value="<pad>")
    array([['<pad>', 'a'],
           ['b', 'c']], dtype=object)

    Where it differs from Keras:

    - `dtype=None` (the default) infers the dtype instead of Keras's fixed `"int32"`,
      which silently truncates floats: float data gives float32; integer (and bool) data
      gives int32, or int64 when a value or `value` does not fit int32, or float32 when
      `value` is not a whole number (e.g. `nan`); strings and other objects give
      `object`, as Keras advises for variable-length strings. An explicit `dtype` behaves
      exactly as in Keras.
    - `maxlen=0` gives rows of padding only; Keras's `truncating="pre"` keeps whole
      sequences there (`s[-0:]`) and crashes, and its `truncating="post"` rejects lists
      of vectors.
    - `padding`, `truncating` and `maxlen` are checked before any work (Keras checks
      `padding` and `truncating` only on reaching a non-empty sequence); the errors are
      `lstmprep.errors.UsageError`, a `ValueError` with Keras's message.
    - An empty `sequences` with `maxlen=None` gives an array of shape `(0, 0)` (Keras
      fails taking the maximum of no lengths).
    - A string `value` is accepted with any object dtype (`object`, `"O"`, `"object"`);
      Keras accepts only the `object` class itself.

    Args:
        sequences: List of sequences; each a list or array of timesteps, each timestep a
            scalar or an array of one shape shared by all timesteps.
        maxlen: Optional int, length of all rows; `None` pads to the longest sequence.
        dtype: Type of the output; `None` infers it (see above). To pad variable-length
            strings, use `object`.
        padding: `"pre"` or `"post"`: pad before or after each sequence.
        truncating: `"pre"` or `"post"`: remove values from sequences longer than
            `maxlen`, at the beginning or at the end.
        value: Float or string, padding value.

    Returns:
        NumPy array of shape `(len(sequences), maxlen) + sample_shape`.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    pre_padding, pre_truncating = _check_sides(padding, truncating)
    if maxlen is not None:
        maxlen = _check_maxlen(maxlen)
    if isinstance(sequences, np.ndarray) and sequences.dtype != object and sequences.ndim > 1:
        # Already dense: every sequence is a row.
        lengths = np.full(len(sequences), sequences.shape[1], dtype=np.int64)
        values = sequences.reshape(-1, *sequences.shape[2:])
    else:
        if not isinstance(sequences, (list, tuple, np.ndarray)):
            sequences = list(sequences)
        padded = _pad_in_c(sequences, maxlen, dtype, pre_padding, pre_truncating, value)
        if padded is None and _padcore is None:
            padded = _pack_lists(sequences, maxlen, dtype, pre_padding, pre_truncating, value)
        if padded is not None:
            return padded
        lengths = _lengths(sequences)
        if dtype is not None and maxlen and (lengths > maxlen).any():
            # As Keras: only what truncation keeps is cast (and so checked) to the dtype.
            sequences, lengths = _truncated(sequences, lengths, maxlen, pre_truncating)
        values = _stack(sequences, lengths)
    if maxlen is None:
        maxlen = int(lengths.max()) if len(lengths) else 0

    if dtype is None:
        arrays = [values] if values is not None else _arrays(sequences, lengths)
        out_dtype = _infer_dtype(arrays, value)
        dtype_name = f"{out_dtype} (inferred from the sequences)"
    else:
        out_dtype = _check_dtype(dtype)
        dtype_name = str(dtype)
    if isinstance(value, str) and out_dtype.kind not in "OUS":
        raise ValueError(
            f"`dtype` {dtype_name} is not compatible with `value`'s type: "
            f"{type(value)}\nYou should set `dtype=object` for variable length strings."
        )

    numeric = values is not None and values.dtype.kind in "biufc" and out_dtype.kind in "biufc"
    if not numeric or np.ndim(value) > values.ndim - 1:
        return _pad_loop(sequences, maxlen, out_dtype, pre_padding, pre_truncating, value)
    sample_shape = values.shape[1:]
    fill = np.full(sample_shape, value, dtype=out_dtype)  # broadcasts `value` as Keras does
    ragged = Ragged(values.reshape(len(values), -1), lengths)
    x, _ = pad_ragged(
        ragged,
        maxlen,
        padding="pre" if pre_padding else "post",
        truncating="pre" if pre_truncating else "post",
        value=fill.reshape(-1),
        dtype=out_dtype,
    )
    return x.reshape((len(lengths), maxlen) + sample_shape)


#: The dtypes `_padcore.fill_lists` writes Python numbers into.
_LIST_DTYPES = {np.dtype(t) for t in (np.int32, np.int64, np.float32, np.float64)}


def _pad_in_c(sequences, maxlen, dtype, pre_padding, pre_truncating, value):
    """`pad_sequences` of a list of arrays or of lists of numbers in C, or None.

    None (the caller then takes the general path) without the C module, for other inputs,
    and for whatever the C functions leave to it: arrays of another dtype or shape, numbers
    of another type, or (with an explicit dtype) a number the dtype would change.
    """
    if _padcore is None or not isinstance(sequences, (list, tuple)) or isinstance(value, str):
        return None
    longest = _padcore.longest(sequences)
    maxlen = longest if maxlen is None else maxlen
    if not longest or maxlen == 0:  # maxlen 0 still checks every sequence: the general path
        return None
    first = next(s for s in sequences if len(s))  # one there is: longest > 0
    if isinstance(first, np.ndarray):
        if first.ndim == 0 or first.dtype.kind not in "biufc":
            return None
        out_dtype = _infer_dtype([first[:0]], value) if dtype is None else _check_dtype(dtype)
        if out_dtype != first.dtype:  # a cast: the general path
            return None
        out = _new_output((len(sequences), maxlen, *first.shape[1:]), value, out_dtype)
        if out is None or _padcore.copy_arrays(out, sequences, pre_padding, pre_truncating):
            return None
        return out
    if type(first) not in (list, tuple) or (found := _list_shape(first, dtype, value)) is None:
        return None
    sample_shape, out_dtype = found
    # dtype=None: start from what `value` allows (int32, int64 or float32), move to int64
    # when an int does not fit int32, to float32 on meeting a float (see `_infer_dtype`).
    infer = dtype is None
    while out_dtype in _LIST_DTYPES:
        out = _new_output((len(sequences), maxlen, *sample_shape), value, out_dtype)
        if out is None:
            return None
        result = _padcore.fill_lists(out, sequences, pre_padding, pre_truncating, infer)
        if result is None:
            return out
        del out  # before the next try allocates its own
        reason = result[0]
        if infer and reason == 1 and out_dtype.kind == "i":
            out_dtype = np.dtype(np.float32)
        elif infer and reason == 2 and out_dtype == np.int32:
            out_dtype = np.dtype(np.int64)
        else:
            return None
    return None


def _list_shape(first, dtype, value) -> tuple[tuple[int, ...], np.dtype] | None:
    """For lists of Python numbers: the sample shape as Keras finds it (from the whole first
    non-empty sequence) and the dtype to start from — ``dtype``, or with None what ``value``
    allows (int32, int64 or float32); None when only the general path takes them."""
    try:
        sample_shape = np.asarray(first).shape[1:]
    except (TypeError, ValueError, OverflowError):
        return None  # the general path raises Keras's error
    if len(sample_shape) > 1 or 0 in sample_shape:
        return None
    start = _infer_dtype([np.zeros(0, np.int64)], value) if dtype is None else _check_dtype(dtype)
    return sample_shape, start


def _new_output(shape: tuple[int, ...], value, dtype: np.dtype) -> np.ndarray | None:
    """`np.full(shape, value, dtype)`, zeros left to calloc; None if `value` does not fit."""
    try:
        fill = np.full(shape[2:], value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        return None  # the general path raises Keras's error
    if not fill.reshape(-1).view(np.uint8).any():
        return np.zeros(shape, dtype)
    out = np.empty(shape, dtype)
    out[...] = fill
    return out


def _truncated(sequences, lengths: np.ndarray, maxlen: int, pre_truncating: bool):
    """The sequences cut to `maxlen` as Keras cuts them (`s[-maxlen:]`, `s[:maxlen]`)."""
    if not isinstance(sequences, np.ndarray) or sequences.dtype == object:
        first = next(s for s in sequences if len(s))  # Keras takes its sample shape whole
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            np.asarray(first)  # (the error, if any, comes again below, as Keras's)
    cut = [
        (s[-maxlen:] if pre_truncating else s[:maxlen]) if k > maxlen else s
        for s, k in zip(sequences, lengths.tolist(), strict=True)
    ]
    return cut, np.minimum(lengths, maxlen)


#: struct's native codes of the dtypes `_pack_lists` writes (as numpy casts: C casts).
_STRUCT_CODES = {np.dtype(np.int32): "i", np.dtype(np.int64): "q"}
_STRUCT_CODES |= {np.dtype(np.float32): "f", np.dtype(np.float64): "d"}

#: numbers packed per struct call: a tuple of this many references at a time
_PACK_NUMBERS = 1 << 16


def _pack_lists(sequences, maxlen, dtype, pre_padding, pre_truncating, value):
    """`pad_sequences` of lists of Python numbers without the C module, or None.

    The kept numbers of a run of sequences are packed by one `struct.Struct.pack_into`
    call into one flat array (C loops over the numbers: no numpy array per sequence, no
    Python call per number), with garbage collection paused; `_pad_blocks` then places
    them. None (the caller then takes the general path) for other inputs, and for anything
    struct refuses: a number out of range, a float where an int goes, text. With
    `dtype=None` every number is packed, those truncation drops too, to infer the dtype as
    the general path does; with a dtype, only those truncation keeps, as Keras casts them.
    """
    if not isinstance(sequences, (list, tuple)) or isinstance(value, str) or not sequences:
        return None
    if struct.calcsize("i") != 4 or struct.calcsize("q") != 8:
        return None  # pragma: no cover - a platform where native ints differ
    if not set(map(type, sequences)) <= {list, tuple}:
        return None
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    longest = int(lengths.max())
    maxlen = longest if maxlen is None else maxlen
    if not longest or maxlen == 0:
        return None
    found = _list_shape(sequences[int(np.argmax(lengths > 0))], dtype, value)
    if found is None:
        return None
    sample_shape, out_dtype = found
    infer = dtype is None
    if (
        out_dtype not in _STRUCT_CODES
        or _new_output((1, 1, *sample_shape), value, out_dtype) is None
    ):
        return None
    enabled = gc.isenabled()
    gc.disable()  # millions of numbers, thousands of lists and tuples: no collection meanwhile
    try:
        cut = None  # with a dtype, as Keras, only what truncation keeps is cast
        if not infer and longest > maxlen:
            cut = (maxlen, pre_truncating)
            lengths = np.minimum(lengths, maxlen)
        while True:
            values, failed = _pack(sequences, lengths, sample_shape, out_dtype, cut)
            if values is not None and infer and out_dtype.kind == "f" and _huge(values):
                return None  # perhaps an int beyond int64: the general path infers object
            if values is not None:
                break
            if not infer:
                return None
            # what the general path infers from the sequence that did not fit
            try:
                kind = np.asarray(sequences[failed]).dtype.kind
            except (TypeError, ValueError, OverflowError):
                return None
            if kind == "f" and out_dtype.kind == "i":
                out_dtype = np.dtype(np.float32)
            elif kind in "iu" and out_dtype == np.int32:
                out_dtype = np.dtype(np.int64)
            else:
                return None
    finally:
        if enabled:
            gc.enable()
    out = _new_output((len(lengths), maxlen, *sample_shape), value, out_dtype)
    if out is None:  # pragma: no cover - `value` fitted one timestep above
        return None
    rows = out.reshape(len(out), maxlen, values.shape[1])  # padding filled in already
    _pad_blocks(rows, values, lengths, pre_padding, pre_truncating, None)
    return out


def _pack(sequences, lengths, sample_shape, dtype, cut) -> tuple[np.ndarray | None, int]:
    """Every number of `sequences` in one ``(timesteps, features)`` array of `dtype`, or
    ``(None, i)``: sequence i holds what struct refuses (or a timestep of another width).

    `cut`: None, or ``(maxlen, pre_truncating)`` to pack only the timesteps truncation keeps
    (`lengths` are then the kept lengths); the others are not touched.
    """
    features = sample_shape[0] if sample_shape else 0
    width, code = max(features, 1), _STRUCT_CODES[dtype]
    values = np.empty((int(lengths.sum()), width), dtype)
    target = values.data.cast("B")
    per_step = width * dtype.itemsize
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    step = max(1, _PACK_NUMBERS // width)  # timesteps per call
    # runs of sequences of about `step` timesteps each: [begin, end) in sequence numbers
    cuts = np.searchsorted(offsets, np.arange(0, offsets[-1] + step, step), side="right")
    bounds = np.unique(np.concatenate(([0], np.minimum(cuts, len(lengths)), [len(lengths)])))
    bounds = bounds.tolist()
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        run = sequences[begin:end]
        if cut is not None:
            run = [_kept(s, *cut) for s in run]
        count = int(offsets[end] - offsets[begin])
        if not count:
            continue
        try:
            if features:
                steps = list(chain.from_iterable(run))
                # every timestep a list or tuple of `features` numbers: with the count that
                # struct checks, the longest being `features` makes each one `features` long
                if not set(map(type, steps)) <= {list, tuple} or max(map(len, steps)) != features:
                    raise ValueError
                numbers = chain.from_iterable(steps)
            else:
                numbers = chain.from_iterable(run)
            struct.Struct(f"{count * width}{code}").pack_into(
                target, int(offsets[begin]) * per_step, *numbers
            )
        except (struct.error, TypeError, ValueError, OverflowError):
            if cut is not None:  # the iterators are spent; the caller does not ask which
                return None, begin
            return None, begin + _first_refused(run, features, code)
    return values, -1


def _kept(sequence, maxlen: int, pre_truncating: bool):
    """An iterator over the timesteps of a list or tuple that truncation keeps."""
    if len(sequence) <= maxlen:
        return sequence
    if not pre_truncating:
        return islice(sequence, maxlen)
    steps = iter(sequence)
    steps.__setstate__(len(sequence) - maxlen)  # skips the others without touching them
    return steps


def _first_refused(run, features: int, code: str) -> int:
    """Which sequence of `run` struct refuses (the first; 0 if none does on its own)."""
    for i, s in enumerate(run):
        try:
            steps = list(s)
            if features and any(type(t) not in (list, tuple) or len(t) != features for t in steps):
                return i
            numbers = list(chain.from_iterable(steps)) if features else steps
            struct.pack(f"{len(numbers)}{code}", *numbers)
        except (struct.error, TypeError, ValueError, OverflowError):
            return i
    return 0


def _huge(numbers: np.ndarray) -> bool:
    """Whether floats hold a magnitude of 2**63 or more, which an int beyond int64 (kept as an
    object by the general path's inference) becomes; real floats that large only take the
    general path."""
    flat = numbers.reshape(-1)
    return bool(len(flat)) and not (
        np.fmax.reduce(flat) < 2.0**63 and np.fmin.reduce(flat) > -(2.0**63)
    )


def timestep_mask(lengths: np.ndarray, maxlen: int, padding: str = "post") -> np.ndarray:
    """``(samples, maxlen)`` booleans: True where a padded row holds a real timestep.

    >>> timestep_mask(np.array([1, 3, 5]), 3, padding="pre").astype(int)
    array([[0, 0, 1],
           [1, 1, 1],
           [1, 1, 1]])
    """
    kept = np.minimum(lengths, maxlen)
    steps = np.arange(maxlen)
    return steps >= (maxlen - kept)[:, None] if padding == "pre" else steps < kept[:, None]


def check_cast(values: np.ndarray, dtype) -> str | None:
    """Says why casting `values` to `dtype` would lose information, or `None` if it would not.

    Catches what `astype` does silently: fractions dropped or NaN/infinity garbled by an
    integer dtype, values outside an integer dtype's range, and finite values too large for
    a smaller float dtype (which become infinity). Rounding to a float's precision is not
    reported. A few vectorised passes over `values`.

    >>> check_cast(np.array([1.0, 2.0]), "int32") is None
    True
    >>> check_cast(np.array([[1.0, 2.5]]), "int32")
    'values[0, 1] = 2.5 is not a whole number; int32 would drop the fraction'
    >>> check_cast(np.array([300.0]), "int8")
    'values[0] = 300.0 is outside the range of int8 (-128 to 127)'
    >>> check_cast(np.array([70000.0]), "float16")
    'values[0] = 70000.0 is too large for float16 (largest 65504.0) and would become inf'

    Args:
        values: Numeric (bool, integer or float) array.
        dtype: The numeric dtype to cast to.

    Returns:
        A reason in plain words, naming the first offending value, or `None`.
    """
    loss = first_loss(values, dtype)
    if loss is None:
        return None
    index, problem = loss
    return f"values[{', '.join(map(str, index))}] = {np.asarray(values)[index].item()!r} {problem}"


def first_loss(values: np.ndarray, dtype) -> tuple[tuple[int, ...], str] | None:
    """Where casting `values` to `dtype` first loses information, and how; `None` if nowhere.

    The core of `check_cast`: the index of the first offending value and the problem in words.

    >>> first_loss(np.array([[1.0, 2.5]]), "int32")
    ((0, 1), 'is not a whole number; int32 would drop the fraction')
    """
    loss = ranked_loss(values, dtype)
    return None if loss is None else loss[:2]


def ranked_loss(values: np.ndarray, dtype) -> tuple[tuple[int, ...], str, int] | None:
    """`first_loss` with the rank of its kind of loss: kinds are looked for in turn (not a
    number, then fractions, then out of range), so over parts of `values` the first loss is
    the one of the lowest rank, then the earliest.

    >>> ranked_loss(np.array([300.0, 2.5]), "int8")
    ((1,), 'is not a whole number; int8 would drop the fraction', 1)
    """
    values = np.asarray(values)
    target = _check_dtype(dtype)
    if values.dtype.kind not in "biuf" or target.kind not in "biuf":
        raise UsageError(
            f"check_cast compares real numbers, got values of {values.dtype} and dtype {target}"
        )
    if values.size == 0 or values.dtype.kind == "b":
        return None
    if target.kind == "b":
        bad = (values != 0) & (values != 1)
        return (
            _loss(values, bad, "is not 0 or 1; bool would make it True", 0) if bad.any() else None
        )
    lo, hi = values.min(), values.max()  # quick exits; NaN fails them and gets a full look
    if target.kind == "f":
        largest = float(np.finfo(target).max)
        if (values.dtype.kind == "f" and target.itemsize >= values.dtype.itemsize) or (
            -largest <= lo and hi <= largest
        ):
            return None
        bad = (values > largest) | (values < -largest)
        if values.dtype.kind == "f":
            bad &= np.isfinite(values)
        if bad.any():
            return _loss(
                values,
                bad,
                f"is too large for {target} (largest {largest}) and would become inf",
                2,
            )
        return None
    info = np.iinfo(target)
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            return _loss(values, bad, f"cannot be stored in {target}", 0)
        bad = values != np.trunc(values)
        if bad.any():
            return _loss(values, bad, f"is not a whole number; {target} would drop the fraction", 1)
    # `>= max + 1` rather than `> max`: max + 1 is a power of two, exact even as a float.
    if info.min <= lo and hi < info.max + 1:
        return None
    bad = (values < info.min) | (values >= info.max + 1)
    return _loss(values, bad, f"is outside the range of {target} ({info.min} to {info.max})", 2)


def _loss(
    values: np.ndarray, bad: np.ndarray, problem: str, rank: int
) -> tuple[tuple[int, ...], str, int]:
    where = np.unravel_index(int(np.argmax(bad)), values.shape)
    return tuple(int(i) for i in where), problem, rank


def _check_sides(padding: str, truncating: str) -> tuple[bool, bool]:
    """Checks `padding` and `truncating`; returns whether each is "pre"."""
    if truncating not in ("pre", "post"):
        raise UsageError(
            f'Truncating type "{truncating}" not understood', hint='use "pre" or "post"'
        )
    if padding not in ("pre", "post"):
        raise UsageError(f'Padding type "{padding}" not understood', hint='use "pre" or "post"')
    return padding == "pre", truncating == "pre"


def _check_maxlen(maxlen) -> int:
    try:
        checked = operator.index(maxlen)
    except TypeError:
        checked = -1
    if checked < 0:
        raise UsageError(f"maxlen must be a non-negative integer or None, got {maxlen!r}")
    return checked


def _check_dtype(dtype) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError as e:
        raise UsageError(f"dtype {dtype!r} is not a numpy dtype") from e


def _fill_row(value, dtype: np.dtype, features: int) -> np.ndarray:
    """The padding of one timestep: `value` cast (as `np.full` does) to `(features,)`."""
    row = np.empty(features, dtype)
    try:
        np.copyto(row, value, casting="unsafe")
    except (TypeError, ValueError, OverflowError) as e:
        raise UsageError(
            f"value {value!r} cannot pad {features} features of dtype {dtype}",
            hint="pass a number, or one number per feature",
        ) from e
    return row


def _pad_blocks(out, values, lengths, pre_padding, pre_truncating, fill) -> np.ndarray:
    """Pads block after block of rows (bounding temporaries); `fill=None` skips the fill."""
    n, maxlen = out.shape[:2]
    row_bytes = maxlen * out.shape[2] * out.itemsize
    step = max(1, _BLOCK_BYTES // max(1, row_bytes))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    kept = np.empty(n, dtype=np.int64)
    for start in range(0, n, step):
        stop = min(n, start + step)
        kept[start:stop] = _pad_block(
            out[start:stop],
            values[offsets[start] : offsets[stop]],
            lengths[start:stop],
            pre_padding,
            pre_truncating,
            fill,
        )
    return kept


def _pad_block(out, values, lengths, pre_padding, pre_truncating, fill) -> np.ndarray:
    """Pads one block: one memcpy per sequence in C, or one boolean mask in numpy."""
    maxlen = out.shape[1]
    target = _as_items(out)
    if fill is not None:
        target[...] = fill if target is out else _as_items(fill)
    kept = np.minimum(lengths, maxlen)
    if maxlen == 0 or len(values) == 0:
        return kept
    values = np.ascontiguousarray(values)
    c_copy = _padcore is not None and out.flags.c_contiguous and out.flags.writeable
    if (lengths > maxlen).any() and (values.dtype != out.dtype or not c_copy):
        # what truncation drops is never cast: it could warn, or fail a check, for nothing
        values = _select_rows(values, _rows_kept(lengths, kept, pre_truncating))
        lengths = kept
    if c_copy and _padcore is not None:
        source = np.ascontiguousarray(values, dtype=out.dtype)
        lengths64 = np.ascontiguousarray(lengths, dtype=np.int64)
        _padcore.copy_rows(out, source, lengths64, maxlen, pre_padding, pre_truncating)
        return kept
    source = np.ascontiguousarray(values, dtype=out.dtype)
    where = timestep_mask(kept, maxlen, "pre" if pre_padding else "post")
    # Row-major order of `where` is the order of `values`: one masked copy places them all.
    target[where] = source if target is out else _as_items(source)
    return kept


def _rows_kept(lengths: np.ndarray, kept: np.ndarray, pre_truncating: bool) -> np.ndarray:
    """Boolean mask over the timesteps of all sequences: those that survive truncation.

    Each sequence is a run of timesteps to keep and a run to drop (in the order given by
    `pre_truncating`), so the mask is alternating flags repeated by the run lengths.
    """
    runs = np.empty((len(lengths), 2), dtype=np.int64)
    runs[:, 0 if pre_truncating else 1] = lengths - kept
    runs[:, 1 if pre_truncating else 0] = kept
    flags = np.array([False, True] if pre_truncating else [True, False])
    return np.repeat(np.tile(flags, len(lengths)), runs.ravel())


def _select_rows(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`values[mask]` for C-contiguous 2-D `values`, moving whole timesteps at once."""
    items = _as_items(values)
    if items is values:
        return values[mask]
    return items[mask].view(values.dtype).reshape(-1, values.shape[1])


def _as_items(a: np.ndarray) -> np.ndarray:
    """Views `a` with each timestep's features as one item, when its memory allows."""
    row_bytes = a.shape[-1] * a.itemsize
    if not a.flags.c_contiguous or row_bytes == 0:
        return a
    item = _ITEM_TYPES.get(row_bytes, np.dtype((np.void, row_bytes)))
    return a.view(item)[..., 0]


def _lengths(sequences) -> np.ndarray:
    try:
        return np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    except TypeError:
        pass
    for x in sequences:
        try:
            len(x)
        except TypeError as e:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {str(x)}"
            ) from e
    raise AssertionError("unreachable")  # pragma: no cover


def _nonempty(sequences, lengths: np.ndarray) -> list:
    if lengths.all():
        return sequences
    return [sequences[i] for i in np.flatnonzero(lengths)]


def _stack(sequences, lengths: np.ndarray) -> np.ndarray | None:
    """The non-empty sequences in one array, or None if they don't stack into one."""
    nonempty = _nonempty(sequences, lengths)
    if not len(nonempty):
        return None
    try:
        return np.concatenate(nonempty)
    except (TypeError, ValueError):  # timesteps of different shapes, strings, objects
        return None


def _arrays(sequences, lengths: np.ndarray) -> list[np.ndarray]:
    """Each non-empty sequence that numpy can make an array of (to infer a dtype)."""
    arrays = []
    for s in _nonempty(sequences, lengths):
        with contextlib.suppress(TypeError, ValueError):  # a later error says why
            arrays.append(np.asarray(s))
    return arrays


def _infer_dtype(arrays: list[np.ndarray], value) -> np.dtype:
    """The dtype `pad_sequences(dtype=None)` gives: see its docstring."""
    kinds = {a.dtype.kind for a in arrays}
    if not kinds <= set("biufc"):
        return np.dtype(object)
    if "c" in kinds:
        return np.dtype(np.complex64)
    if "f" in kinds:
        return np.dtype(np.float32)
    fill = np.asarray(value)
    fill = fill if fill.dtype.kind in "biuf" else np.zeros(())  # a string fails later
    for candidate in (np.int32, np.int64):
        if all(check_cast(a, candidate) is None for a in [*arrays, fill]):
            return np.dtype(candidate)
    return np.dtype(np.float32)


def _pad_loop(sequences, maxlen, dtype, pre_padding, pre_truncating, value) -> np.ndarray:
    """Keras's own loop, for strings, objects and sequences numpy can't stack."""
    sample_shape = ()
    for x in sequences:
        if len(x):
            sample_shape = np.asarray(x).shape[1:]
            break
    x = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        keep = maxlen or len(s)  # maxlen 0 keeps nothing, but the shape is still checked
        trunc = np.asarray(s[-keep:] if pre_truncating else s[:keep], dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} "
                f"is different from expected shape {sample_shape}"
            )
        if maxlen == 0:
            continue
        if pre_padding:
            x[idx, -len(trunc) :] = trunc
        else:
            x[idx, : len(trunc)] = trunc
    return x
