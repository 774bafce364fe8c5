"""NumPy files: ``.npy`` arrays and ``.npz`` archives, checked before anything is allocated.

Headers are read and checked first (shape, dtype, pickles, size against the memory budget);
pickled object arrays are loaded only with ``allow_pickle``.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..dataset import Dataset, Reported
from ..errors import TooLarge, UnreadableInput
from ..memory import check_memory, size_words
from ..padded_file import PadMeta, map_member, unpad, unpad_buckets
from ..ragged import Ragged, check_lengths
from ..report import ProblemLog
from .nested import from_python

PICKLE_HINT = "pass --allow-pickle only for files you trust: unpickling can run code"


def read_npy(path: Path, allow_pickle: bool = False, channels_first: bool = False) -> Dataset:
    """A 2-D ``(samples, timesteps)`` array (univariate), a dense 3-D one, or pickled sequences.

    ``channels_first``: a 3-D array is ``(samples, features, timesteps)``.
    """
    with open(path, "rb") as f:
        dtype = npy_header(f, path.stat().st_size, str(path), allow_pickle, mapped=True)
    if dtype.hasobject:
        array = load_npy(path, allow_pickle=True)
        sequences = list(array.reshape(-1)) if array.ndim else [array[()]]
        return from_python(path, "npy", sequences, None, channels_first=channels_first)
    array = load_npy(path, mmap_mode="r")
    if channels_first and array.ndim == 3:
        array = array.transpose(0, 2, 1)
    return _from_array(path, "npy", array)


def load_npy(path: Path, **kwargs: Any) -> np.ndarray:
    """``np.load`` of a file whose header was checked; its failures as UnreadableInput."""
    try:
        return np.load(path, **kwargs)
    except MemoryError:
        raise
    except Exception as e:  # bad bytes (or a failing pickle) raise many kinds
        raise UnreadableInput(
            f"not a valid .npy file ({type(e).__name__}: {e})",
            path=str(path),
            hint="write it with np.save",
        ) from None


def read_npz(path: Path, allow_pickle: bool = False, channels_first: bool = False) -> Dataset:
    """pad's output (``x``, ``lengths``, ``y``), ``values`` + ``lengths``, or np.savez(*seqs).

    ``channels_first``: each of np.savez(*seqs) is ``(features, timesteps)``, a dense ``x``
    ``(samples, features, timesteps)``; the other layouts are timesteps-first by definition.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, NotImplementedError) as e:
        raise UnreadableInput(
            f"not a valid .npz (zip) archive: {e}", path=str(path), hint="write it with np.savez"
        ) from None
    with archive:
        members = {name.removesuffix(".npy"): archive.getinfo(name) for name in archive.namelist()}
        arrays = {
            name: _npz_member(archive, info, path, allow_pickle) for name, info in members.items()
        }
    if not arrays:
        raise UnreadableInput("the archive holds no arrays", path=str(path))
    labels = arrays.get("y", arrays.get("labels"))
    if "x" in arrays or "x_0" in arrays:
        if channels_first and "lengths" not in arrays and arrays.get("x", np.empty(0)).ndim == 3:
            arrays["x"] = arrays["x"].transpose(0, 2, 1)
        return _from_padded(path, arrays, labels)
    if "values" in arrays and "lengths" in arrays:
        values, lengths = arrays["values"], _lengths(arrays["lengths"], path)
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        hint = "values is (total_timesteps, features), lengths one count per sequence"
        if values.ndim != 2:
            raise UnreadableInput(
                f"values has shape {values.shape}: it must be 2-D (total_timesteps, features)",
                path=str(path),
                hint=hint,
            )
        try:
            lengths = check_lengths(lengths, len(values))
        except ValueError as e:
            raise UnreadableInput(
                f"values {values.shape} and lengths {lengths.shape} do not fit together: {e}",
                path=str(path),
                hint=hint,
            ) from None
        return replace(_from_array(path, "npz", values, lengths), labels=labels)
    numbered = sorted((int(m[4:]), m) for m in arrays if re.fullmatch(r"arr_\d+", m))
    if numbered:
        sequences = [arrays[name] for _, name in numbered]
        return from_python(path, "npz", sequences, labels, channels_first=channels_first)
    raise UnreadableInput(
        f"no sequences among the arrays {sorted(arrays)}",
        path=str(path),
        hint="expected x (+ lengths, y), values + lengths, or arr_0, arr_1, … from np.savez(*seqs)",
    )


def _npz_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, allow_pickle: bool):
    name = f"{path}:{info.filename}"
    if info.flag_bits & 0x1:
        raise UnreadableInput(
            f"member {info.filename} is encrypted", path=str(path), hint="write it with np.savez"
        )
    try:
        with archive.open(info) as f:
            dtype = npy_header(f, info.file_size, name, allow_pickle, mapped=True)
        mapped = None if dtype.hasobject else map_member(path, info)
        if mapped is not None:  # stored, as lstmprep pad writes: read in place, not loaded
            return mapped
        with archive.open(info) as f:
            npy_header(f, info.file_size, name, allow_pickle)
        with archive.open(info) as f:
            return np.lib.format.read_array(f, allow_pickle=allow_pickle)
    except (UnreadableInput, TooLarge, MemoryError):  # TooLarge: the budget, not the bytes
        raise
    except Exception as e:  # corrupt or truncated zip data, odd compression, bad .npy bytes…
        raise UnreadableInput(
            f"member {info.filename} cannot be read ({type(e).__name__}: {e})",
            path=str(path),
            hint="write the archive again with np.savez",
        ) from None


def npy_header(
    f: IO[bytes], size: int, name: str, allow_pickle: bool, *, mapped: bool = False
) -> np.dtype:
    """Check a .npy header before anything is allocated; return the dtype.

    ``mapped``: the data will be memory-mapped rather than read into memory.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unknown .npy format version {version[0]}.{version[1]}")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read_header(f)
    except Exception as e:  # numpy's header parser raises many kinds on bad bytes
        raise UnreadableInput(
            f"not a valid .npy file ({type(e).__name__}: {e})",
            path=name,
            hint="write it with np.save",
        ) from None
    if any(isinstance(n, bool) or n < 0 for n in shape) or (
        math.prod(max(n, 1) for n in shape) * max(dtype.itemsize, 1) >= 2**63
    ):
        raise UnreadableInput(
            f"not a valid .npy file: the header's shape {shape} is not the shape of an array",
            path=name,
            hint="write the file again with np.save",
        )
    if dtype.hasobject:
        if not allow_pickle:
            raise UnreadableInput(
                "the array holds pickled Python objects (dtype=object), which are not loaded "
                "by default",
                path=name,
                hint=f"save numeric arrays (np.savez(*seqs) for ragged data), or {PICKLE_HINT}",
            )
        return dtype
    needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    available = size - f.tell()
    if needed > available:
        raise UnreadableInput(
            f"the header says shape {shape} of {dtype} ({size_words(needed)}) but only "
            f"{size_words(available)} follow: the file is truncated or corrupt",
            path=name,
            hint="write the file again with np.save",
        )
    # Reading holds the array (unless memory-mapped), a float64 copy of anything that is not
    # floats already, and a byte per value for the checks' masks.
    count = needed // dtype.itemsize if dtype.itemsize else int(np.prod(shape, dtype=object))
    per_value = (0 if mapped else dtype.itemsize) + (0 if dtype.kind == "f" else 8) + 1
    check_memory(count * per_value, f"reading shape {shape} of {dtype}", name)
    return dtype


def _lengths(lengths: np.ndarray, path: Path) -> np.ndarray:
    """``lengths`` as int64 (whole floats too), or UnreadableInput naming the first bad one.

    Whether they fit the values is :func:`~lstmprep.ragged.check_lengths`' to say.
    """
    hint = "lengths holds one count of timesteps per sequence"
    flat = lengths.reshape(-1)
    if lengths.dtype.kind == "f" and flat.size:
        whole = np.isfinite(flat) & (flat == np.trunc(flat)) & (np.abs(flat) < 2**62)
        if not whole.all():
            first = int(np.argmin(whole))
            raise UnreadableInput(
                f"lengths[{first}] is {flat[first]}, not a whole number", path=str(path), hint=hint
            )
    elif lengths.dtype.kind not in "iub" and flat.size:
        raise UnreadableInput(
            f"lengths are {lengths.dtype}, not whole numbers", path=str(path), hint=hint
        )
    if lengths.dtype.kind == "u" and flat.size and flat.max() >= 2**63:
        raise UnreadableInput(f"lengths go up to {flat.max()}", path=str(path), hint=hint)
    return lengths.astype(np.int64) if flat.size else np.zeros(lengths.shape, np.int64)


def _from_array(
    path: Path, fmt: str, array: np.ndarray, lengths: np.ndarray | None = None
) -> Dataset:
    """A numeric array: (samples, timesteps) univariate, or (samples, timesteps, features)."""
    notes: list[str] = []
    log = ProblemLog()
    dtype, shape = str(array.dtype), array.shape
    if array.dtype.kind not in "iufb":
        log.add(
            "non-numeric",
            f"the array's values are {array.dtype} ({_dtype_words(array.dtype)}), not real numbers",
        )
        array = np.broadcast_to(np.nan, array.shape)
    if lengths is None:
        if array.ndim == 2:
            notes.append(
                f"2-D array {array.shape} read as {array.shape[0]} univariate sequences "
                f"of {array.shape[1]} timesteps (1 feature); if it is one sample of "
                f"{array.shape[0]} timesteps × {array.shape[1]} features, read it with "
                "--per-sample (or read its folder: one sample per file)"
            )
            array = array[:, :, None]
        if array.ndim != 3:
            log.add(
                "rank",
                f"a {array.ndim}-D array of shape {array.shape}: sequences need 2-D "
                "(samples, timesteps) or 3-D (samples, timesteps, features)",
            )
            array = np.empty((0, 0, 1))
        elif array.shape[2]:
            notes.append(_dense_note(array))
        lengths = np.full(array.shape[0], array.shape[1], dtype=np.int64)
        array = array.reshape(array.shape[0] * array.shape[1], array.shape[2])
    if array.shape[1] == 0:
        log.add(
            "rank",
            f"the timesteps have no features (an array of shape {shape}): every timestep "
            "needs at least one number",
        )
        array = np.full((len(array), 1), np.nan)
    values = array if array.dtype.kind == "f" else array.astype(np.float64)
    problems = tuple(log.problems())
    return Dataset(
        str(path),
        fmt,
        Ragged(values, lengths),
        problems=problems,
        notes=tuple(notes),
        # every row of an array that is not numbers was reported already
        reported=Reported(rows=np.arange(len(values) if problems else 0)),
        dtype=dtype,
    )


def _from_padded(path: Path, arrays: dict[str, np.ndarray], labels: np.ndarray | None) -> Dataset:
    """lstmprep pad's own output: the padding cut away again, as its ``lengths`` and meta say."""
    meta = PadMeta.from_json(str(arrays["meta"]), str(path)) if "meta" in arrays else None
    if meta is not None and meta.boundaries is not None:
        values, lengths, y = unpad_buckets(arrays, meta, str(path))
        labels = labels if y is None else y
        dataset = _from_array(path, "npz", values, lengths)
        return replace(dataset, labels=labels, meta=meta, kind=meta.kind)
    if "x" not in arrays:
        raise UnreadableInput(
            "the archive has bucket members (x_0, …) but its meta names no buckets",
            path=str(path),
            hint="write the file again with lstmprep pad",
        )
    x = arrays["x"]
    if meta and meta.command == "window" and labels is not None and labels.ndim == 3:
        labels = labels.reshape(len(labels), -1)  # (N, horizon, C): one vector per window
    kind = meta.kind if meta else None
    if "lengths" in arrays and x.ndim == 2:  # token ids: (N, T)
        x = x[:, :, None]
    if "lengths" not in arrays or x.ndim != 3:
        return replace(_from_array(path, "npz", x), labels=labels, meta=meta, kind=kind)
    values, lengths = unpad(x, _lengths(arrays["lengths"], path), meta, str(path))
    dataset = _from_array(path, "npz", values, lengths)
    return replace(dataset, labels=labels, meta=meta, kind=kind)


def _dense_note(array: np.ndarray) -> str:
    note = (
        f"read as dense: all {array.shape[0]} sequences are {array.shape[1]} timesteps long "
        "(padding can only be told by value, so none was assumed)"
    )
    if array.shape[1] and array.shape[0]:
        ends = int((np.asarray(array[:, -1, :]) == 0).all(axis=1).sum())
        if ends:
            note += (
                f"; {ends} sequences end in an all-zero timestep — if that is padding, keep the "
                "real lengths beside the array (lstmprep pad writes them)"
            )
    return note


def _dtype_words(dtype: np.dtype) -> str:
    return {"U": "text", "S": "bytes", "c": "complex numbers", "M": "dates", "m": "durations"}.get(
        dtype.kind, "records"
    )
