"""Readers: one function per file format, each turning a file into a :class:`Dataset`.

A reader raises :class:`~lstmprep.errors.UnreadableInput` when the file cannot be read at all
(missing, malformed, unsafe) and otherwise records what is wrong with the data as problems, so
that ``inspect`` can report all of them at once. Adding a format is adding one function to
``READERS``.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import UnreadableInput
from .fastjson import NumericScan, scan_numeric
from .memory import check_memory, size_words
from .nested import from_nested
from .padding import timestep_mask
from .ragged import Ragged, check_lengths
from .report import Problem, ProblemLog

PICKLE_HINT = "pass --allow-pickle only for files you trust: unpickling can run code"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A ragged batch read from a file, with labels and what reading it found."""

    path: str
    format: str
    ragged: Ragged
    labels: np.ndarray | None = None
    #: problems found while reading (structure and types)
    problems: tuple[Problem, ...] = ()
    #: assumptions the reader made, in plain words
    notes: tuple[str, ...] = ()
    #: flat rows that could not be read (NaN in ``ragged.values``), already reported
    bad_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: sequences that are not sequences at all (length 0), already reported
    broken: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: the element type as stored in the file
    dtype: str = "float64"
    #: pad's options when the file is lstmprep's own output
    meta: dict[str, Any] | None = None


def read(
    path: str | Path, *, labels: str | Path | None = None, allow_pickle: bool = False
) -> Dataset:
    """Read a sequence file (.json, .jsonl, .npy, .npz), and labels from ``labels`` if given.

    >>> import json, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "two.json")
    >>> _ = open(path, "w").write(json.dumps({"sequences": [[1, 2, 3], [4]], "labels": [0, 1]}))
    >>> data = read(path)
    >>> data.format, data.ragged.lengths, data.ragged.n_features, data.labels
    ('json', array([3, 1]), 1, array([0, 1]))
    """
    path = Path(path)
    reader = READERS.get(_check_file(path))
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise UnreadableInput(
            f"unknown file type {path.suffix or '(no extension)'!r}",
            path=str(path),
            hint=f"lstmprep reads {known}",
        )
    dataset = reader(path, allow_pickle)
    if labels is not None:
        dataset = replace(dataset, labels=read_labels(labels, allow_pickle=allow_pickle))
    return dataset


def read_labels(path: str | Path, *, allow_pickle: bool = False) -> np.ndarray:
    """Read one label per sequence from a .json list, a .jsonl file or a .npy array."""
    path = Path(path)
    suffix = _check_file(path)
    if suffix == ".npy":
        with open(path, "rb") as f:
            _npy_header(f, path.stat().st_size, str(path), allow_pickle)
        return _load_npy(path, allow_pickle=allow_pickle)
    if suffix == ".json":
        value = _load_json(path.read_bytes(), str(path))
        if isinstance(value, dict) and "labels" in value:
            value = value["labels"]
        if not isinstance(value, list):
            raise UnreadableInput(
                "expected a JSON list of labels", path=str(path), hint="write [0, 1, …]"
            )
        return _labels_array(value)
    if suffix == ".jsonl":
        return _labels_array([value for _, value in _json_lines(path)])
    raise UnreadableInput(
        f"unknown labels file type {suffix!r}", path=str(path), hint="use .json, .jsonl or .npy"
    )


# --- JSON ------------------------------------------------------------------------------------


def read_json(path: Path, allow_pickle: bool = False) -> Dataset:
    """``[seq, …]`` or ``{"sequences": [seq, …], "labels": […]}``; a seq: a list of timesteps."""
    data = path.read_bytes()
    fast = _scan(data)
    if fast is not None:
        return _from_scan(path, "json", fast)
    fast_object = _scan_object(data, str(path))
    if fast_object is not None:
        return fast_object
    value = _load_json(data, str(path))
    labels = None
    if isinstance(value, dict) and "sequences" in value:
        labels = value.get("labels")
        value = value["sequences"]
    if not isinstance(value, list):
        raise UnreadableInput(
            f"the top level is {_kind(value)}, not a list of sequences",
            path=str(path),
            hint='write [[t1, t2, …], …] or {"sequences": [...], "labels": [...]}',
        )
    return _from_python(path, "json", value, None if labels is None else _labels_array(labels))


def read_jsonl(path: Path, allow_pickle: bool = False) -> Dataset:
    """One sequence per line: a list of timesteps, or ``{"sequence": [...], "label": …}``."""
    data = path.read_bytes()
    fast = _scan(data, jsonl=True)
    if fast is not None:
        return _from_scan(path, "jsonl", fast)
    lines, sequences, labels = [], [], []
    for lineno, value in _json_lines(path, data):
        if isinstance(value, dict):
            if "sequence" not in value:
                raise UnreadableInput(
                    f'line {lineno}: an object with no "sequence" key',
                    path=str(path),
                    hint='write {"sequence": [...], "label": …} or a bare list on each line',
                )
            labels.append(value.get("label"))
            value = value["sequence"]
        else:
            labels.append(None)
        lines.append(lineno)
        sequences.append(value)
    have = [label is not None for label in labels]
    label_array = _labels_array(labels) if any(have) else None
    return _from_python(path, "jsonl", sequences, label_array, lambda i: f"line {lines[i]}")


def _json_lines(path: Path, data: bytes | None = None):
    """(line number, parsed value) for each non-blank line."""
    text = _decode(path.read_bytes() if data is None else data, str(path))
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield lineno, _load_json(line, str(path), lineno=lineno)


def _load_json(data: bytes | str, path: str, lineno: int | None = None) -> Any:
    text = data if isinstance(data, str) else _decode(data, path)
    if not text.strip():
        raise UnreadableInput(
            "the file is empty" if lineno is None else f"line {lineno} is empty", path=path
        )
    try:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer too long for int(): read it as the float it overflows
            return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as e:
        line = e.lineno if lineno is None else lineno
        raise UnreadableInput(
            f"not valid JSON: {e.msg} at line {line}, column {e.colno}",
            path=path,
            hint="fix the JSON at that place (a trailing comma, a missing bracket, a quote…)",
        ) from None
    except RecursionError:
        line, column = _too_deep(text)
        raise UnreadableInput(
            f"nested too deeply to be sequence data: more than {_MAX_DEPTH} levels at "
            f"line {line if lineno is None else lineno}, column {column}",
            path=path,
            hint="sequences nest three levels: [sequence [timestep [feature, …]]]",
        ) from None


def _parse_int(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:  # more digits than int() converts: far too large for a float anyway
        return float(text)


#: Depth reported for JSON too deep to parse (sequence data nests three levels).
_MAX_DEPTH = 100
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _too_deep(text: str) -> tuple[int, int]:
    """(line, column) where ``text`` first nests deeper than ``_MAX_DEPTH``."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                start = token.start()
                return text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
        elif char in "]}":
            depth -= 1
    return 1, 1


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UnreadableInput(
            f"not UTF-8 text: byte {e.start} (line {line}) is 0x{data[e.start]:02x}",
            path=path,
            hint="save the file as UTF-8 JSON",
        ) from None


_OBJECT_START = re.compile(rb'\s*\{\s*"sequences"\s*:\s*')


def _scan(data: bytes, jsonl: bool = False) -> NumericScan | None:
    """The C scanner's result for plainly numeric text, or ``None`` to take the exact path."""
    return scan_numeric(data, start=3 if data.startswith(codecs.BOM_UTF8) else 0, jsonl=jsonl)


def _scan_object(data: bytes, path: str) -> Dataset | None:
    """``{"sequences": <numeric>, …}``: the sequences scanned in C, the small rest by ``json``."""
    start = _OBJECT_START.match(data)
    if start is None:
        return None
    scan = scan_numeric(data, start=start.end(), stop_at_end=True)
    if scan is None:
        return None
    rest = data[scan.end :].strip()
    if rest == b"}":
        others: dict = {}
    elif rest.startswith(b","):
        try:
            others = json.loads(b"{" + rest[1:])
        except (ValueError, RecursionError):
            return None  # the exact path says where the JSON is wrong
    else:
        return None
    labels = others.get("labels")
    dataset = _from_scan(Path(path), "json", scan)
    return _with_labels(dataset, None if labels is None else _labels_array(labels))


def _from_scan(path: Path, fmt: str, scan: NumericScan) -> Dataset:
    notes = ("timesteps are bare numbers: read as 1 feature",) if scan.univariate else ()
    return Dataset(str(path), fmt, Ragged(scan.values, scan.lengths), notes=notes)


def _from_python(
    path: Path,
    fmt: str,
    sequences: list,
    labels: np.ndarray | None,
    where: Callable[[int], str] = lambda i: f"sequence {i}",
) -> Dataset:
    log = ProblemLog()
    converted = from_nested(sequences, log, where)
    return Dataset(
        str(path),
        fmt,
        converted.ragged,
        labels,
        tuple(log.problems()),
        bad_rows=converted.bad_rows,
        broken=converted.broken,
    )


def _labels_array(labels: list) -> np.ndarray:
    """Labels as an array; mixed types or shapes stay an object array for the checks to name."""
    try:
        array = np.asarray(labels)
    except (ValueError, OverflowError):
        array = np.empty(len(labels), dtype=object)
        array[:] = labels
    if array.dtype.kind in "US" and any(not isinstance(v, str) for v in labels):
        array = np.empty(len(labels), dtype=object)
        array[:] = labels
    return array


# --- NumPy ---------------------------------------------------------------------------------------


def read_npy(path: Path, allow_pickle: bool = False) -> Dataset:
    """A 2-D ``(samples, timesteps)`` array (univariate), a dense 3-D one, or pickled sequences."""
    with open(path, "rb") as f:
        dtype = _npy_header(f, path.stat().st_size, str(path), allow_pickle, mapped=True)
    if dtype.hasobject:
        array = _load_npy(path, allow_pickle=True)
        return _from_python(
            path, "npy", list(array.reshape(-1)) if array.ndim else [array[()]], None
        )
    return _from_array(path, "npy", _load_npy(path, mmap_mode="r"))


def _load_npy(path: Path, **kwargs: Any) -> np.ndarray:
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


def read_npz(path: Path, allow_pickle: bool = False) -> Dataset:
    """pad's output (``x``, ``lengths``, ``y``), ``values`` + ``lengths``, or np.savez(*seqs)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
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
    if "x" in arrays:
        return _from_padded(path, arrays)
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
        return _with_labels(_from_array(path, "npz", values, lengths), labels)
    numbered = sorted((int(m[4:]), m) for m in arrays if re.fullmatch(r"arr_\d+", m))
    if numbered:
        sequences = [arrays[name] for _, name in numbered]
        return _with_labels(_from_python(path, "npz", sequences, None), labels)
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
            _npy_header(f, info.file_size, name, allow_pickle)
        with archive.open(info) as f:
            return np.lib.format.read_array(f, allow_pickle=allow_pickle)
    except (UnreadableInput, MemoryError):
        raise
    except Exception as e:  # corrupt or truncated zip data, odd compression, bad .npy bytes…
        raise UnreadableInput(
            f"member {info.filename} cannot be read ({type(e).__name__}: {e})",
            path=str(path),
            hint="write the archive again with np.savez",
        ) from None


def _npy_header(
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
                f"of {array.shape[1]} timesteps (1 feature)"
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
        bad_rows=np.arange(len(values) if problems else 0),
        dtype=dtype,
    )


def _from_padded(path: Path, arrays: dict[str, np.ndarray]) -> Dataset:
    """lstmprep pad's own output: cut the padding away again using ``lengths`` and ``meta``."""
    x = arrays["x"]
    meta = _meta(arrays["meta"], path) if "meta" in arrays else {}
    labels = arrays.get("y", arrays.get("labels"))
    if "lengths" not in arrays or x.ndim != 3:
        dataset = _from_array(path, "npz", x)
        return _with_labels(replace(dataset, meta=meta or None), labels)
    lengths = _lengths(arrays["lengths"], path)
    if lengths.shape != x.shape[:1] or (
        len(lengths) and not 0 <= lengths.min() <= lengths.max() <= x.shape[1]
    ):
        longest, shortest = (lengths.max(), lengths.min()) if len(lengths) else (0, 0)
        raise UnreadableInput(
            f"lengths {lengths.shape} (from {shortest} to {longest}) do not fit x {x.shape}: "
            f"one length per row of x, each from 0 to its {x.shape[1]} timesteps",
            path=str(path),
            hint="write the file again with lstmprep pad",
        )
    mask = timestep_mask(lengths, x.shape[1], "pre" if meta.get("padding") == "pre" else "post")
    dataset = _from_array(path, "npz", x[mask], lengths)
    return _with_labels(replace(dataset, meta=meta or None), labels)


def _meta(array: np.ndarray, path: Path) -> dict[str, Any]:
    """pad's ``meta`` member: a JSON object in a string."""
    try:
        meta = json.loads(str(array))
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict):
        raise UnreadableInput(
            "member meta is not the JSON object lstmprep pad writes",
            path=str(path),
            hint="write the file again with lstmprep pad, or drop the meta member",
        )
    return meta


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


def _with_labels(dataset: Dataset, labels: np.ndarray | None) -> Dataset:
    return dataset if labels is None else replace(dataset, labels=labels)


# --- helpers -------------------------------------------------------------------------------------


def _check_file(path: Path) -> str:
    if not path.exists():
        raise UnreadableInput("no such file", path=str(path))
    if path.is_dir():
        raise UnreadableInput("is a directory, not a file", path=str(path))
    return path.suffix.lower()


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return 'an object without a "sequences" key'
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _dtype_words(dtype: np.dtype) -> str:
    return {"U": "text", "S": "bytes", "c": "complex numbers", "M": "dates", "m": "durations"}.get(
        dtype.kind, "records"
    )


READERS: dict[str, Callable[[Path, bool], Dataset]] = {
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".npy": read_npy,
    ".npz": read_npz,
}
