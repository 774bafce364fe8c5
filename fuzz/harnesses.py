"""Fuzz harnesses for lstmprep's C modules and the readers and padding that feed them.

Each harness takes the fuzzer's bytes and checks properties, not just "no crash":

- ``copy_rows``: ``_padcore.copy_rows`` on arguments decoded from the bytes, hostile lengths
  (wrapping sums, negatives, 2**63 - 1) included. It must accept exactly the calls that fit
  together (by Python-int arithmetic, which cannot overflow), then give what a pure-numpy
  reference gives; every other call must raise ValueError or OverflowError.
- ``scan_json`` / ``scan_jsonl``: ``_fastjson.scan`` on the bytes as a document (a JSON array,
  with ``start`` and ``stop_at_end`` decoded from a first byte; or JSON lines, with
  ``start``). The result must be, bit for bit, what the exact path gives (``json``, then
  ``float()``, then the shape rules: :func:`oracle`); a document the oracle refuses must come
  back as not handled, with an offset inside the data.
- ``read``: ``lstmprep.readers.read`` on the bytes written to a .json, .jsonl or .npz file (an
  .npz either raw or built from decoded ``values`` and ``lengths`` members). It may only
  raise an ``LstmprepError`` (anything else is a Python finding, below); a JSON file read
  through the C scanner must give the same sequences as with the scanner switched off;
  what it reads is then padded and checked as in ``pad``.
- ``pad``: ``padding.pad_into`` and ``padding.pad_ragged`` on decoded values, lengths, maxlen,
  sides, dtype and padding value. Either an ``LstmprepError`` (for arguments that do not fit),
  or exactly the reference result.
- ``pad_lists``: ``padding.pad_sequences`` on decoded lists of arrays or of Python numbers
  (ints past int64, floats, NaN, bools, None, text, numpy scalars, ragged features), which
  reach ``_padcore.copy_arrays`` and ``_padcore.fill_lists``: the result (bytes and dtype) or
  the error must be exactly what the general path without ``_padcore`` gives. Then both C
  functions are called directly with an output of a decoded shape and dtype that need not fit:
  they may only raise TypeError, ValueError or OverflowError, or return.

A harness fails (a crash for libFuzzer) on a sanitizer report, a wrong result, or an
exception from C where Python promises none. What the *Python* layer lets through that it
should refuse with an ``LstmprepError`` (hostile lengths reaching ``_padcore`` through
``Ragged``, a numpy error escaping a reader) is a Python finding: printed once per kind
("PYTHON FINDING: ...") and counted, failing the run only with LSTMPREP_FUZZ_STRICT=1, so
that the C modules keep being fuzzed behind it.

Every harness is a function of ``bytes`` that returns normally or raises ``AssertionError``
(a finding), and needs neither atheris nor a sanitizer: ``fuzz/run.py`` drives them with
atheris, and replays a corpus without it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from lstmprep._fastjson import scan

from lstmprep import _padcore, fastjson, padding, readers
from lstmprep.errors import LstmprepError
from lstmprep.ragged import Ragged

#: Whether an error that the Python layer should have caught (a ValueError or OverflowError
#: from _padcore reaching a caller of pad_into, pad_ragged or read) is a finding. Off by
#: default: it is then recorded in FINDINGS and the run goes on.
STRICT = os.environ.get("LSTMPREP_FUZZ_STRICT") == "1"
FINDINGS: dict[str, int] = {}

#: Lengths that break naive arithmetic: sums that wrap around 2**64, products past 2**63.
HOSTILE = [2**63 - 1, 2**62, 2**61, 2**32, -1, -(2**63), 2**63 - 2, 2**31]


class Bytes:
    """The fuzzer's bytes, consumed a piece at a time (zeros once they run out)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        piece = self.data[self.at : self.at + n]
        self.at += len(piece)
        return piece.ljust(n, b"\0")

    def byte(self) -> int:
        return self.take(1)[0]

    def number(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + int.from_bytes(self.take(2), "little") % (high - low + 1)

    def flag(self) -> bool:
        return self.byte() & 1 == 1

    def choice(self, options: list) -> Any:
        return options[self.byte() % len(options)]

    def length(self) -> int:
        """Mostly small; one time in eight a hostile value."""
        b = self.byte()
        return HOSTILE[(b >> 3) % len(HOSTILE)] if b & 7 == 7 else b % 12

    def rest(self) -> bytes:
        piece = self.data[self.at :]
        self.at = len(self.data)
        return piece


def wrapped_sum(lengths: list[int]) -> int:
    """sum(lengths) as int64 arithmetic gives it (wrapping), which a hostile file exploits."""
    return (sum(lengths) + 2**63) % 2**64 - 2**63


# --- copy_rows -------------------------------------------------------------------------------


def reference_copy(out, values, lengths, maxlen, pre_padding, pre_truncating) -> None:
    start = 0
    for i, length in enumerate(lengths):
        kept = min(length, maxlen)
        first = start + (length - kept if pre_truncating else 0)
        at = maxlen - kept if pre_padding else 0
        out[i, at : at + kept] = values[first : first + kept]
        start += length


def copy_rows(data: bytes) -> None:
    b = Bytes(data)
    n = b.number(0, 6)
    lengths = [b.length() for _ in range(n)]
    maxlen = b.choice([0, 1, 2, 3, 5, 8, 2**62, 2**63 - 1, 2**31, 4])
    features = b.number(0, 3)
    dtype = np.dtype(b.choice(["u1", "<i2", "<f4", "<f8"]))
    pre_padding, pre_truncating = b.flag(), b.flag()
    # values: sum(lengths) rows (or the wrapped int64 sum, as a hostile file would give),
    # give or take a row; out: n * maxlen rows, or a row short, or a byte off.
    rows = wrapped_sum(lengths) if b.flag() else sum(lengths)
    rows += b.choice([0, 0, 0, 0, 1, -1])
    rows = rows if 0 <= rows <= 256 else b.number(0, 8)
    values = np.arange(rows * features, dtype=np.float64).astype(dtype).reshape(rows, features)
    cells = n * maxlen
    out_rows = cells if cells <= 512 else b.number(0, 8)
    out = np.full(out_rows * features * dtype.itemsize + b.choice([0, 0, 0, 1]), 0xAB, np.uint8)
    lengths_buffer: bytes | memoryview = np.array(lengths, dtype=np.int64).tobytes()
    if b.flag():  # unaligned
        lengths_buffer = memoryview(b"x" + lengths_buffer)[1:]

    # The contract, in Python ints (which do not overflow): out holds n * maxlen rows, which
    # gives the row size; values holds sum(lengths) rows of that size.
    total = sum(lengths)
    row_bytes = out.nbytes // cells if cells else 0
    fits = (
        all(x >= 0 for x in lengths)
        and total < 2**63
        and cells < 2**63
        and (
            out.nbytes == 0  # no row: nothing to copy, no row size to check values against
            if cells == 0
            else out.nbytes == cells * row_bytes and values.nbytes == total * row_bytes
        )
    )
    try:
        _padcore.copy_rows(out, values, lengths_buffer, maxlen, pre_padding, pre_truncating)
    except (ValueError, OverflowError) as e:
        assert not fits, f"copy_rows refused a call that fits: {e}"
        return
    assert fits, "copy_rows accepted a call that does not fit"
    if row_bytes:
        expected = np.full(out.nbytes, 0xAB, np.uint8)
        reference_copy(
            expected.reshape(n, maxlen, row_bytes),
            np.frombuffer(values.tobytes(), np.uint8).reshape(total, row_bytes),
            lengths,
            maxlen,
            pre_padding,
            pre_truncating,
        )
        np.testing.assert_array_equal(out, expected)


# --- the scanner -----------------------------------------------------------------------------


class Rejected(Exception):
    """The exact path does not give plain numeric sequences for this document."""


def exact_int(token: str) -> float:
    """An integer token as the exact path reads it: json's int, then float()."""
    try:
        return float(int(token))
    except (OverflowError, ValueError):
        raise Rejected from None


def _reject(*_: object) -> None:
    raise Rejected


_DECODER = json.JSONDecoder(parse_int=exact_int, parse_constant=_reject, object_hook=_reject)
_JSON_WS = " \t\n\r"


def _shape(seqs: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """json's value as (values, lengths, univariate), or Rejected by the shape rules."""
    if not isinstance(seqs, list) or not all(isinstance(s, list) for s in seqs):
        raise Rejected
    steps = [t for s in seqs for t in s]
    univariate = not any(isinstance(t, list) for t in steps)
    rows = [[t] if univariate else t for t in steps]
    features = len(rows[0]) if rows and isinstance(rows[0], list) else 1
    for row in rows:
        if not isinstance(row, list) or len(row) != features or not features:
            raise Rejected
        if not all(type(x) is float for x in row):
            raise Rejected
    values = np.array(rows, dtype=np.float64).reshape(-1, features)
    return values, np.array([len(s) for s in seqs], dtype=np.int64), univariate


def oracle(doc: bytes, start: int, jsonl: bool, stop_at_end: bool):
    """What the scanner must give, decided by json: ((values, lengths, univariate), end)."""
    text = doc.decode("latin-1")  # bytes to characters one to one: offsets agree
    try:
        if jsonl:
            seqs = []
            for line in text[start:].split("\n"):
                line = line.strip(" \t\r")
                if line:
                    if "\r" in line:
                        return None
                    seqs.append(_DECODER.decode(line))
            return _shape(seqs), len(doc)
        i = start
        while i < len(text) and text[i] in _JSON_WS:
            i += 1
        seqs, end = _DECODER.raw_decode(text, i)
        if not stop_at_end and text[end:].strip(_JSON_WS):
            return None
        return _shape(seqs), end
    except (Rejected, ValueError, RecursionError):
        return None


def check_scan(doc: bytes, start: int, jsonl: bool, stop_at_end: bool) -> None:
    raw = scan(doc, start, jsonl, stop_at_end)
    expected = oracle(doc, start, jsonl, stop_at_end)
    if raw[0] is None:
        assert expected is None, f"not handled ({raw[1]}), but the exact path reads it"
        assert start <= raw[2] <= len(doc), f"offset {raw[2]} outside [{start}, {len(doc)}]"
        return
    assert expected is not None, "handled, but the exact path does not read it"
    values_bytes, lengths_bytes, features, univariate, end = raw
    (values, lengths, uni), expected_end = expected
    got = np.frombuffer(values_bytes, dtype=np.float64).reshape(-1, features)
    assert got.shape == values.shape, (got.shape, values.shape)
    assert got.tobytes() == values.tobytes(), "values differ from the exact path"
    assert np.frombuffer(lengths_bytes, dtype=np.int64).tolist() == lengths.tolist()
    assert bool(univariate) == uni and end == expected_end


def scan_json(data: bytes) -> None:
    """First byte: stop_at_end (bit 0), start given (bit 1); then start; then the document."""
    b = Bytes(data)
    options = b.byte()
    start_byte = b.byte()
    doc = b.rest()
    start = start_byte % (len(doc) + 1) if options & 2 else 0
    check_scan(doc, start, False, bool(options & 1))


def scan_jsonl(data: bytes) -> None:
    """First byte: start given (bit 1); then start; then the document."""
    b = Bytes(data)
    options = b.byte()
    start_byte = b.byte()
    doc = b.rest()
    start = start_byte % (len(doc) + 1) if options & 2 else 0
    check_scan(doc, start, True, False)


# --- padding ---------------------------------------------------------------------------------

PAD_DTYPES = ["float32", "float64", "int32", "int64", "uint8", "float16", "int8"]


def reference_pad(values, lengths, maxlen, pre_padding, pre_truncating, fill, dtype):
    out = np.empty((len(lengths), maxlen, values.shape[1]), dtype=dtype)
    out[...] = fill
    reference_copy(out, values.astype(dtype), lengths, maxlen, pre_padding, pre_truncating)
    return out


def _python_should_refuse(what: str, lengths: list[int], error: Exception | None) -> None:
    """The Python layer let through what it should refuse with an LstmprepError.

    Each kind (`what` and the error's type and message, digits left out) is printed to
    stderr the first time, with its example, and counted in FINDINGS; in strict mode it
    is an AssertionError.
    """
    detail = f"{type(error).__name__}: {error}" if error else "no error"
    kind = re.sub(r"\d+", "N", f"{what}: {detail}")
    if kind not in FINDINGS:
        example = f", lengths {lengths[:6]}" if lengths else ""
        print(f"\nPYTHON FINDING: {what}{example}: {detail}", file=sys.stderr)
    FINDINGS[kind] = FINDINGS.get(kind, 0) + 1
    if STRICT:
        raise AssertionError(f"{what}: {detail}") from error


def _outcome(call: Callable[[], Any]) -> tuple[Any, Exception | None]:
    try:
        return call(), None
    except Exception as e:  # classified by the caller
        return None, e


def check_padding(values: np.ndarray, lengths: list[int], b: Bytes) -> None:
    """pad_ragged, pad_into: the reference result, or an LstmprepError if it does not fit."""
    fits = all(x >= 0 for x in lengths) and sum(lengths) == len(values)
    maxlen = b.choice([None, 0, 1, 2, 3, 7, 100])
    pre_padding, pre_truncating = b.flag(), b.flag()
    dtype = np.dtype(b.choice(PAD_DTYPES))
    fill = b.choice([0, -1, 7, 0.5, 200])
    small_blocks = b.flag()
    sides: dict[str, Any] = {"padding": "pre" if pre_padding else "post"}
    sides["truncating"] = "pre" if pre_truncating else "post"
    lengths64 = np.array(lengths, dtype=np.int64)
    width = maxlen if maxlen is not None else max(lengths, default=0)
    try:  # a Python int out of the dtype's range (200 in int8) cannot pad: a UsageError
        np.full(1, fill, dtype=dtype)
        fill_ok = True
    except (OverflowError, ValueError):
        fill_ok = False
    with contextlib.ExitStack() as stack:
        if small_blocks:
            stack.enter_context(_patched(padding, "_BLOCK_BYTES", 64))
        ragged, error = _outcome(lambda: Ragged(values, lengths64))
        if fits:
            assert error is None, f"Ragged refused sequences that fit: {error!r}"
        elif error is None:
            _python_should_refuse("Ragged accepted lengths that do not fit", lengths, None)
        elif not isinstance(error, (ValueError, LstmprepError)):
            raise AssertionError(f"Ragged: {error!r}") from error
        # (with maxlen None, hostile lengths would ask pad_ragged for exabytes: not here)
        if ragged is not None and width * len(lengths) <= 2**16:
            result, error = _outcome(
                lambda: padding.pad_ragged(ragged, maxlen, value=fill, dtype=dtype, **sides)
            )
            if fits and fill_ok:
                assert error is None, f"pad_ragged refused data that fits: {error!r}"
                assert result is not None
                expected = reference_pad(values, lengths, width, *_flags(sides), fill, dtype)
                np.testing.assert_array_equal(result.x, expected)
                np.testing.assert_array_equal(result.lengths, np.minimum(lengths64, width))
            elif not isinstance(error, (LstmprepError, MemoryError)):
                what = "pad_ragged did not refuse" + ("" if fill_ok else f" value {fill!r}")
                _python_should_refuse(what, lengths, error)
        if maxlen is None:
            return
        out = np.full((len(lengths), maxlen, values.shape[1]), 99, dtype=dtype)
        kept, error = _outcome(
            lambda: padding.pad_into(out, values, lengths64, value=fill, **sides)
        )
        if fits and fill_ok:
            assert error is None, f"pad_into refused data that fits: {error!r}"
            expected = reference_pad(values, lengths, maxlen, *_flags(sides), fill, dtype)
            np.testing.assert_array_equal(out, expected)
            np.testing.assert_array_equal(kept, np.minimum(lengths64, maxlen))
        elif not isinstance(error, LstmprepError):
            what = "pad_into did not refuse" + ("" if fill_ok else f" value {fill!r}")
            _python_should_refuse(what, lengths, error)


def _flags(sides: dict[str, str]) -> tuple[bool, bool]:
    return sides["padding"] == "pre", sides["truncating"] == "pre"


@contextlib.contextmanager
def _patched(obj: Any, name: str, value: Any):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def pad(data: bytes) -> None:
    b = Bytes(data)
    n = b.number(0, 6)
    lengths = [b.length() for _ in range(n)]
    features = b.number(1, 3)
    rows = wrapped_sum(lengths) if b.flag() else sum(lengths)
    rows += b.choice([0, 0, 0, 1, -1])
    rows = rows if 0 <= rows <= 256 else b.number(0, 8)
    values = (np.arange(rows * features, dtype=np.float64) % 97).reshape(rows, features)
    check_padding(values, lengths, b)


# --- readers ---------------------------------------------------------------------------------

FOLDER = Path(tempfile.mkdtemp(prefix="lstmprep-fuzz-"))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def built_npz(b: Bytes) -> bytes:
    """An .npz of ``values`` and ``lengths`` members, lengths hostile at times."""
    n = b.number(0, 5)
    lengths = [b.length() for _ in range(n)]
    rows = wrapped_sum(lengths) if b.flag() else sum(lengths)
    rows = rows if 0 <= rows <= 64 else b.number(0, 4)
    features = b.number(1, 3)
    values = np.frombuffer(b.take(rows * features * 8), dtype="<f8").reshape(rows, features)
    length_dtype = b.choice(["<i8", "<u8", "<f8", "<i4"])
    with np.errstate(all="ignore"):
        length_array = np.array([x % 2**64 if length_dtype == "<u8" else x for x in lengths])
        length_array = length_array.astype(length_dtype)
    members = {"values.npy": _npy(values), "lengths.npy": _npy(length_array)}
    if b.flag():
        members["y.npy"] = _npy(np.arange(n))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, member in members.items():
            archive.writestr(name, member)
    return buffer.getvalue()


def _read(path: Path):
    """readers.read, None for an LstmprepError; any other error is a Python finding."""
    try:
        return readers.read(path)
    except LstmprepError:
        return None
    except Exception as e:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if "lstmprep" in f.filename]
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        _python_should_refuse(f"read {path.suffix} raised{where}", [], e)
        return None


def read(data: bytes) -> None:
    """First byte: the format (.json, .jsonl, raw .npz, built .npz); then the file."""
    b = Bytes(data)
    kind = b.byte() % 4
    suffix = [".json", ".jsonl", ".npz", ".npz"][kind]
    raw = built_npz(b) if kind == 3 else b.rest()
    path = FOLDER / f"data{suffix}"
    path.write_bytes(raw)
    dataset = _read(path)
    if dataset is None:
        return
    if kind < 2:  # through the C scanner or not, the same sequences
        with _patched(fastjson, "_fastjson", None):  # every reader takes the exact path
            exact = _read(path)
        assert exact is not None, "read with the C scanner, but the exact path refuses it"
        fast, slow = dataset.ragged, exact.ragged
        assert fast.values.shape == slow.values.shape, "shape differs from the exact path"
        assert fast.values.tobytes() == slow.values.tobytes(), "values differ from exact path"
        assert fast.lengths.tolist() == slow.lengths.tolist(), "lengths differ from exact path"
        assert [p.message for p in dataset.problems] == [p.message for p in exact.problems]
    ragged = dataset.ragged
    if ragged.values.dtype.kind == "f" and len(ragged.values) <= 4096:
        check_padding(
            np.ascontiguousarray(ragged.values), [int(x) for x in ragged.lengths], Bytes(data[-8:])
        )


# --- pad_sequences on lists ------------------------------------------------------------------

NUMBERS: list[Any] = [0, 1, -7, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63), 2**64]
NUMBERS += [10**400, 0.5, -0.0, 1e300, float("nan"), float("-inf"), True, None, "x"]
NUMBERS += [np.int64(3), np.float32(1.5), [1.0]]


def decoded_sequences(b: Bytes) -> tuple[list | tuple, int]:
    """A list (or tuple) of arrays or lists of numbers, and the feature count (0: bare)."""
    features = b.choice([0, 0, 1, 2, 3])
    sequences: list[Any] = []
    for _ in range(b.number(0, 6)):
        length = b.length() % 12
        kind = b.byte() % 8
        if kind == 0:  # an array, maybe of another dtype, shape or layout
            shape = (length,) if features == 0 else (length, features + (b.byte() % 7 == 6))
            a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) % 7
            a = a.astype(b.choice(["float32", "float64", "int32", "int64", "<f8", ">f8"]))
            sequences.append(a[::-1] if b.byte() % 5 == 4 else a)
            continue
        common = b.flag()

        def number(common: bool = common) -> Any:
            return b.number(-99, 99) if common else b.choice(NUMBERS)

        if features == 0:
            seq: Any = [number() for _ in range(length)]
        else:
            width = features + (b.byte() % 9 == 8)
            seq = [[number() for _ in range(width)] for _ in range(length)]
        sequences.append(tuple(seq) if kind == 1 else seq)
    return (tuple(sequences) if b.byte() % 6 == 5 else sequences), features


def _pad_outcome(sequences: Any, kwargs: dict[str, Any]) -> tuple[Any, str | None]:
    try:
        with np.errstate(all="ignore"):
            return padding.pad_sequences(sequences, **kwargs), None
    except Exception as e:  # compared between the two paths
        return None, f"{type(e).__name__}: {e}"


def pad_lists(data: bytes) -> None:
    b = Bytes(data)
    sequences, features = decoded_sequences(b)
    kwargs: dict[str, Any] = {
        "maxlen": b.choice([None, 0, 1, 2, 5, 300]),
        "dtype": b.choice([None, None, "int32", "int64", "float32", "float64", "int8"]),
        "padding": b.choice(["pre", "post"]),
        "truncating": b.choice(["pre", "post"]),
        "value": b.choice([0.0, -1, 2**40, 0.5, float("nan")]),
    }
    fast, fast_error = _pad_outcome(sequences, kwargs)
    with _patched(padding, "_padcore", None):
        slow, slow_error = _pad_outcome(sequences, kwargs)
    assert fast_error == slow_error, f"with C: {fast_error}; without: {slow_error}"
    if slow is not None:
        assert (fast.dtype, fast.shape) == (slow.dtype, slow.shape), (fast.dtype, slow.dtype)
        if slow.dtype == object:
            assert repr(fast.tolist()) == repr(slow.tolist()), "object results differ"
        elif fast.tobytes() != slow.tobytes():
            # The general path casts whole stacked sequences, dropped timesteps included
            # (a -inf beside 2**63 - 1 makes it float64 first); Keras casts only what it keeps.
            # With an explicit dtype, Keras's own loop is the judge.
            assert kwargs["dtype"] is not None, "results differ from the general path"
            maxlen = kwargs["maxlen"]
            if maxlen is None:
                maxlen = max((len(x) for x in sequences), default=0)
            with np.errstate(all="ignore"):
                keras = padding._pad_loop(
                    sequences,
                    maxlen,
                    np.dtype(kwargs["dtype"]),
                    kwargs["padding"] == "pre",
                    kwargs["truncating"] == "pre",
                    kwargs["value"],
                )
            assert fast.tobytes() == keras.tobytes(), "results differ from Keras's loop"

    # The C functions on an output that need not fit the sequences.
    rows = len(sequences) + b.choice([0, 0, 0, 1, -1])
    shape = (max(rows, 0), b.choice([0, 1, 3, 12])) + ((b.choice([0, 1, 2, 3]),) * b.flag())
    dtype = b.choice(["float64", "float32", "int32", "int64", "int8", ">f8"])
    out = np.full(shape, 7, dtype=dtype)
    if b.flag():
        out = out[::-1] if b.flag() else out.T
    sides = b.flag(), b.flag()
    for call in (
        lambda: _padcore.longest(sequences),
        lambda: _padcore.copy_arrays(out, sequences, *sides),
        lambda: _padcore.fill_lists(out, sequences, *sides, b.flag()),
    ):
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            call()


HARNESSES: dict[str, Callable[[bytes], None]] = {
    "copy_rows": copy_rows,
    "scan_json": scan_json,
    "scan_jsonl": scan_jsonl,
    "read": read,
    "pad": pad,
    "pad_lists": pad_lists,
}
