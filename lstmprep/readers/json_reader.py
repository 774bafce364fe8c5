"""JSON and JSON lines: a list of sequences, or one sequence per line.

Plainly numeric text goes through the C scanner (:mod:`lstmprep.fastjson`) straight into the
ragged layout; anything else takes the exact path, ``json`` plus :mod:`.nested`, which locates
every problem.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import Dataset, Reported
from ..errors import UnreadableInput
from ..fastjson import NumericScan, scan_numeric
from ..ragged import Ragged
from ..report import ProblemLog
from .files import read_bytes
from .json_text import gc_paused, json_lines, load_json
from .labels import labels_array
from .nested import PartOfWhole, from_nested, from_python


def read_json(path: Path, allow_pickle: bool = False, channels_first: bool = False) -> Dataset:
    """``[seq, …]`` or ``{"sequences": [seq, …], "labels": […]}``; a seq: a list of timesteps.

    ``channels_first``: a seq is a list of features, each a list of timesteps.
    """
    data = read_bytes(path)
    fast = _scan(data)
    if fast is not None:
        return _from_scan(path, "json", fast, channels_first)
    fast_object = _scan_object(data, str(path), channels_first)
    if fast_object is not None:
        return fast_object
    value = load_json(data, str(path))
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
    label_array = None if labels is None else labels_array(labels)
    plain = labels is None and _plain(data)
    return from_python(path, "json", value, label_array, channels_first=channels_first, plain=plain)


def read_jsonl(path: Path, allow_pickle: bool = False, channels_first: bool = False) -> Dataset:
    """One sequence per line: a list of timesteps, or ``{"sequence": [...], "label": …}``."""
    block = jsonl_block(path, read_bytes(path), channels_first=channels_first)
    labels = block.labels
    dataset = block.dataset
    if labels is not None and any(label is not None for label in labels):
        dataset = replace(dataset, labels=labels_array(labels))
    return replace(dataset, lines=block.lines if block.exact else None)


@dataclass(frozen=True, eq=False)
class Block:
    """Consecutive lines of a JSON lines file, read: the sequences (problems named with their
    lines and global sequence numbers), each one's label as written (``None`` for a bare list;
    ``labels`` is None when no line is an object), the line of each sequence, and whether the
    exact path read them (whose messages name lines)."""

    dataset: Dataset
    labels: list | None
    lines: np.ndarray
    exact: bool


def jsonl_block(
    path: Path,
    data: bytes,
    first_line: int = 1,
    first_sequence: int = 0,
    channels_first: bool = False,
    part: PartOfWhole | None = None,
) -> Block:
    """Read ``data``, whole lines of a JSON lines file from line ``first_line`` on, whose
    first sequence is sequence ``first_sequence`` of the file.

    ``part``: the block is a part of the file (:class:`.nested.PartOfWhole`): what the whole
    needs is counted there, and once it is known (the blocks' widths differ, all of it has the
    channels-first signature) each block is read as reading the whole file reads it."""
    fast, labels = _scan(data, jsonl=True), None
    if fast is None:
        fast, labels = _scan_lines_of_objects(data)
    if fast is not None and part is not None:
        width = fast.values.shape[1]
        if part.transposed or part.features not in (None, width):
            fast = None  # read as the whole is, on the exact path
        else:
            part.counted(fast.lengths, width)
    if fast is not None:
        dataset = _from_scan(path, "jsonl", fast, channels_first)
        found = _sequence_lines(data, len(dataset.ragged), first_line)
        have = labels is not None and any(label is not None for label in labels)
        return Block(dataset.shifted(first_sequence), labels if have else None, found, False)
    lines, sequences, labels = [], [], []
    with gc_paused():  # millions of lists: no collection while they are built
        for lineno, value in json_lines(path, data, first_line):
            if isinstance(value, dict):
                if "sequence" not in value:
                    raise UnreadableInput(
                        f'line {lineno}: an object with no "sequence" key',
                        path=str(path),
                        line=lineno,
                        hint='write {"sequence": [...], "label": …} or a bare list on each line',
                    )
                labels.append(value.get("label"))
                value = value["sequence"]
            else:
                labels.append(None)
            lines.append(lineno)
            sequences.append(value)
    where = lambda i: f"line {lines[i]}"  # noqa: E731
    log = ProblemLog()
    converted = from_nested(sequences, log, where, channels_first, _plain(data), part=part)
    dataset = Dataset(
        str(path),
        "jsonl",
        converted.ragged,
        problems=tuple(log.problems()),
        reported=Reported(converted.bad_rows, converted.broken),
    )
    have = any(label is not None for label in labels)
    line_numbers = np.array(lines, dtype=np.int64)
    shifted = dataset.shifted(first_sequence)
    return Block(shifted, labels if have else None, line_numbers, True)


def _sequence_lines(data: bytes, n: int, first_line: int) -> np.ndarray:
    """The line of each of the ``n`` sequences in ``data``: one per non-blank line."""
    newlines = data.count(b"\n")
    total = newlines + (1 if data and not data.endswith(b"\n") else 0)
    if total == n:
        return np.arange(first_line, first_line + n, dtype=np.int64)
    found = [i for i, line in enumerate(data.split(b"\n"), start=first_line) if line.strip()]
    return np.array(found[:n], dtype=np.int64)


_OBJECT_START = re.compile(rb'\s*\{\s*"sequences"\s*:\s*')


_PLAIN_BYTES = b"[],0123456789.eE+- \t\r\n"


def _plain(data: bytes) -> bool:
    """Whether the text holds only brackets, commas, numbers and whitespace.

    Parsed as JSON, such text holds nothing but lists, ints and floats (no text, null,
    true/false, NaN or objects), which `from_python(plain=True)` relies on.
    """
    return not data.translate(None, _PLAIN_BYTES)


def _scan(data: bytes, jsonl: bool = False) -> NumericScan | None:
    """The C scanner's result for plainly numeric text, or ``None`` to take the exact path."""
    return scan_numeric(data, start=3 if data.startswith(codecs.BOM_UTF8) else 0, jsonl=jsonl)


def _scan_lines_of_objects(data: bytes) -> tuple[NumericScan | None, list | None]:
    """Lines of ``{"sequence": <numeric>, "label": …}`` (other keys ignored): the sequences
    scanned in C, the labels parsed by msgspec, a line at a time as the exact path reads them.
    ``(None, None)`` for anything else (a line that is not one such object, text, null, NaN in
    a sequence, a byte beyond ASCII, a line break other than ``\\n`` and ``\\r\\n``…): the
    exact path reads it, and says what is wrong where."""
    if data[:256].lstrip()[:1] != b"{" or not data.isascii():  # msgspec passes bad UTF-8
        return None, None
    if any(c in data for c in _OTHER_BREAKS) or data.count(b"\r") != data.count(b"\r\n"):
        return None, None  # str.splitlines, which the exact path uses, breaks lines there too
    import msgspec

    decode = _line_decoder().decode
    try:
        items = [decode(line) for line in data.split(b"\n") if line.strip()]
    except (msgspec.MsgspecError, RecursionError):
        return None, None
    scan = _scan(b"\n".join(item.sequence for item in items), jsonl=True) if items else None
    if scan is None or len(scan.lengths) != len(items):
        return None, None
    return scan, [item.label for item in items]


#: ASCII that ``str.splitlines`` breaks a line at, besides ``\\n`` and ``\\r``
_OTHER_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")


@functools.cache
def _line_decoder() -> Any:
    """msgspec's decoder of a line ``{"sequence": …, "label": …}``, the sequence left as text."""
    import msgspec

    line = msgspec.defstruct("Line", [("sequence", msgspec.Raw), ("label", Any, None)])
    return msgspec.json.Decoder(line)


def _scan_object(data: bytes, path: str, channels_first: bool = False) -> Dataset | None:
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
    dataset = _from_scan(Path(path), "json", scan, channels_first)
    return dataset if labels is None else replace(dataset, labels=labels_array(labels))


def _from_scan(path: Path, fmt: str, scan: NumericScan, channels_first: bool = False) -> Dataset:
    notes = ("timesteps are bare numbers: read as 1 feature",) if scan.univariate else ()
    ragged = Ragged(scan.values, scan.lengths)
    if channels_first and not scan.univariate:  # each sequence's rows are its features
        dataset = from_python(path, fmt, list(ragged), None, channels_first=True)
        return replace(dataset, notes=notes)
    return Dataset(str(path), fmt, ragged, notes=notes)


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
