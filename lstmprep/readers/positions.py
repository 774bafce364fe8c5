"""Where a problem is in its file: the line and column of a (sequence, timestep).

Readers record what costs nothing while reading: the line of each sequence for the formats
with one a line (JSON lines, ``.ts``, token-id text: :attr:`Dataset.lines`), the line of each
timestep for those with one a row (CSV/TSV: :attr:`Dataset.value_lines`), and the exact line
and column of the problems they find themselves (``.ts`` values). Everything else is located
here, after the checks, for the few places a report lists (at most five per problem): the
JSON text is read again and walked only as far as the last of them, and a line's text only is
scanned for a timestep's column. Files without lines (``.npy``, ``.npz``, Parquet) keep
sequence and timestep alone.

Columns are 1-based and count characters, as editors and GitHub's annotations do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..dataset import Dataset
from ..errors import LstmprepError
from ..report import Place, Problem
from .files import opened, read_bytes

#: a JSON string; an array of numbers or of arrays of numbers (a sequence or a timestep of
#: plain numbers: skipped whole, in C, written so that it never backtracks); a bracket or brace
_TOKEN = re.compile(
    rb'"(?:[^"\\]|\\.)*"'
    rb'|\[[^\[\]{}"]*(?:\[[^\[\]{}"]*\][^\[\]{}"]*)*\]'
    rb"|[\[\]{}]"
)
#: JSON (and JSON lines) files up to this size have their warnings located too; in larger
#: ones only errors are, and warnings up to the last error (walking takes ~1 s per 100 MB)
WARNINGS_UP_TO = 16 << 20
_SPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"

Key = tuple[int | None, int, int | None]  # (file index, sequence in that file, timestep)


def locate(dataset: Dataset, problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` with each place's file (when several were read), line and column."""
    problems = list(problems)
    keys = {
        (key, p.severity)
        for p in problems
        for place in p.places
        if place.line is None and (key := _key(dataset, place)) is not None
    }
    wanted = {key for key, _ in keys}
    if dataset.format in ("json", "jsonl") and _size(dataset) > WARNINGS_UP_TO:
        # the walk goes as far as the last error: warnings on the way cost nothing more
        errors = [_order(key) for key, severity in keys if severity == "error"]
        wanted = {key for key in wanted if errors and _order(key)[:2] <= max(errors)[:2]}
    found = _positions(dataset, sorted(wanted, key=_order))
    return [
        replace(p, places=tuple(_placed(dataset, place, found) for place in p.places))
        for p in problems
    ]


def _order(key: Key) -> tuple[int, int, int]:
    return key[0] or 0, key[1], key[2] or 0


def _size(dataset: Dataset) -> int:
    try:
        return sum(Path(f).stat().st_size for f in dataset.files or (dataset.path,))
    except OSError:
        return 0


def _placed(dataset: Dataset, place: Place, found: dict[Key, tuple[int, int | None]]) -> Place:
    if place.sequence is None or not 0 <= place.sequence < len(dataset.ragged):
        return place
    if dataset.file_of is not None:
        index = int(dataset.file_of[place.sequence])
        path = dataset.files[index]
        place = replace(place, file=Path(path).name, path=path)
    if place.line is None:
        key = _key(dataset, place)
        if key is not None and key in found:
            line, column = found[key]
            place = replace(place, line=line, column=column)
    return place


def _key(dataset: Dataset, place: Place) -> Key | None:
    """The place as (file, sequence within that file, timestep), ``None`` where unknown."""
    sequence, timestep = place.sequence, place.timestep
    if sequence is None or not 0 <= sequence < len(dataset.ragged):
        return None
    if timestep is not None and not 0 <= timestep < dataset.ragged.lengths[sequence]:
        timestep = None
    if dataset.channels_first:
        timestep = None  # a timestep is a column of the stored sample: point at the sample
    if dataset.file_of is None:
        return None, sequence, timestep
    index = int(dataset.file_of[sequence])
    first = int(np.searchsorted(dataset.file_of, index))  # the file's first sequence
    return index, sequence - first, timestep


def _positions(dataset: Dataset, keys: list[Key]) -> dict[Key, tuple[int, int | None]]:
    """(line, column) of each key that the format can place; a file that cannot be read again
    (changed or gone meanwhile) just leaves its places without lines."""
    if not keys:
        return {}
    if dataset.value_lines is not None:
        return _from_value_lines(dataset, keys)
    if dataset.format not in ("json", "jsonl", "ts", "txt"):
        return {}
    one_each = dataset.file_of is not None and len(dataset.files) == len(dataset.ragged)
    if dataset.format == "json" and one_each:
        return {}  # possibly one sample per file, whose top level is its timesteps: not walked
    found: dict[Key, tuple[int, int | None]] = {}
    by_file: dict[int | None, list[Key]] = {}
    for key in keys:
        by_file.setdefault(key[0], []).append(key)
    for index, group in by_file.items():
        path = Path(dataset.path if index is None else dataset.files[index])
        try:
            if dataset.format == "json":
                found.update(_in_json(read_bytes(path), group))
            else:
                found.update(_in_lines(dataset, path, group))
        except (LstmprepError, OSError, EOFError, ValueError):
            continue
    return found


def _from_value_lines(dataset: Dataset, keys: list[Key]) -> dict[Key, tuple[int, int | None]]:
    lines, offsets = dataset.value_lines, dataset.ragged.offsets
    assert lines is not None
    found: dict[Key, tuple[int, int | None]] = {}
    starts = _file_starts(dataset)
    for key in keys:
        index, sequence, timestep = key
        sequence += starts.get(index, 0)
        if dataset.ragged.lengths[sequence]:
            found[key] = (int(lines[offsets[sequence] + (timestep or 0)]), None)
    return found


def _file_starts(dataset: Dataset) -> dict[int | None, int]:
    if dataset.file_of is None:
        return {None: 0}
    firsts = np.searchsorted(dataset.file_of, np.arange(len(dataset.files)))
    return {i: int(first) for i, first in enumerate(firsts)}


def _in_lines(dataset: Dataset, path: Path, keys: list[Key]) -> dict[Key, tuple[int, int | None]]:
    """JSON lines and ``.ts``: the sequence's line is known; the timestep's column is found in
    that line's text. The file is read line by line, only as far as the last line wanted (a
    file larger than memory too)."""
    starts = _file_starts(dataset)
    # JSON lines read by the C scanner keep no line numbers: count the non-blank lines
    counted = dataset.lines is None
    wanted: dict[Key, int] = {}
    if not counted:
        assert dataset.lines is not None
        for key in keys:
            wanted[key] = int(dataset.lines[key[1] + starts.get(key[0], 0)])
    sequences = {key[1] for key in keys}
    last_sequence = max(sequences)
    texts: dict[int, bytes] = {}
    by_sequence: dict[int, int] = {}
    numbers = set(wanted.values())
    last = max(numbers, default=0)
    nonblank = 0
    with opened(path) as f:
        for number, raw in enumerate(iter(f.readline, b""), start=1):
            text = raw[:-1] if raw.endswith(b"\n") else raw
            if counted:
                if not text.strip():
                    continue
                if nonblank in sequences:
                    by_sequence[nonblank] = number
                    texts[number] = text
                nonblank += 1
                if nonblank > last_sequence:
                    break
            else:
                if number in numbers:
                    texts[number] = text
                if number >= last:
                    break
    if counted:
        wanted = {key: by_sequence[key[1]] for key in keys if key[1] in by_sequence}
    found: dict[Key, tuple[int, int | None]] = {}
    for key, line in wanted.items():
        if line not in texts:
            continue
        text = texts[line]
        if line == 1 and text.startswith(_BOM):
            text = text[3:]
        timestep = key[2]
        at = (
            _ts_value(text, timestep)
            if dataset.format == "ts"
            else _word(text, timestep)
            if dataset.format == "txt"
            else _json_line(text, timestep)
        )
        found[key] = (line, None if at is None else _column(text, at))
    return found


def _json_line(text: bytes, timestep: int | None) -> int | None:
    """Offset in a JSON line of its sequence (a list, or an object's ``"sequence"``) or of
    one of its timesteps."""
    at: int | None = _skip(text, 0)
    if at is not None and text[at : at + 1] == b"{":
        at = _value_of(text, at, b"sequence")
    if at is None or timestep is None:
        return at
    return _element(text, at, timestep)


def _ts_value(text: bytes, timestep: int | None) -> int | None:
    """Offset in a ``.ts`` case line of its first dimension's value at ``timestep``."""
    if timestep is None:
        return _skip(text, 0)
    first = text.split(b":", 1)[0]
    at = 0
    for _ in range(timestep):
        comma = first.find(b",", at)
        if comma < 0:
            return None
        at = comma + 1
    return _skip(text, at)


def _word(text: bytes, timestep: int | None) -> int | None:
    """Offset in a line of token ids of the id at ``timestep``."""
    words = re.finditer(rb"[^ \t\r]+", text)
    return next((w.start() for k, w in enumerate(words) if k == (timestep or 0)), None)


def _in_json(data: bytes, keys: list[Key]) -> dict[Key, tuple[int, int | None]]:
    """One walk through the document, as far as the last sequence asked for."""
    start = 3 if data.startswith(_BOM) else 0
    top = _skip(data, start)
    if data[top : top + 1] == b"{":
        found_top = _value_of(data, top, b"sequences")
        if found_top is None:
            return {}
        top = found_top
    if data[top : top + 1] != b"[":
        return {}
    found: dict[Key, tuple[int, int | None]] = {}
    resume = (top + 1, 0)
    for key in keys:  # sorted by sequence: the walk goes on from the last one found
        _, sequence, timestep = key
        if sequence < resume[1]:
            resume = (top + 1, 0)
        at = _element(data, resume[0], sequence - resume[1], counted_from_start=False)
        if at is None:
            continue
        resume = (at, sequence)
        place = at if timestep is None else _element(data, at, timestep)
        if place is not None:
            found[key] = (data.count(b"\n", 0, place) + 1, _column(data, place))
    return found


def _element(data: bytes, at: int, k: int, counted_from_start: bool = True) -> int | None:
    """Offset of element ``k`` of the array opened at ``data[at]``; with
    ``counted_from_start=False``, of the element ``k`` after the one at ``at`` (or, just after
    the ``[``, element ``k``).

    >>> text = b'[[1, 2], {"a": "]"}, 3, [[4]]]'
    >>> [text[_element(text, 0, k) :][:3] for k in range(4)]
    [b'[1,', b'{"a', b'3, ', b'[[4']
    """
    if counted_from_start:
        if data[at : at + 1] != b"[":
            return None
        at += 1
    index, depth, pos = 0, 0, at
    for token in _TOKEN.finditer(data, at):
        if depth == 0:
            commas = data.count(b",", pos, token.start())
            if index + commas >= k:
                return _after_commas(data, pos, k - index)
            index += commas
        char = token.group()[:1]
        if token.end() - token.start() == 1 and char in b"[{":
            depth += 1
        elif char in b"]}":
            if depth == 0:
                return None  # the array ends before element k
            depth -= 1
        pos = token.end()
    return None


def _after_commas(data: bytes, pos: int, n: int) -> int:
    for _ in range(n):
        pos = data.index(b",", pos) + 1
    return _skip(data, pos)


def _value_of(data: bytes, at: int, key: bytes) -> int | None:
    """Offset of the value of ``key`` in the object opened at ``data[at]``."""
    depth = 0
    wanted = b'"' + key + b'"'
    for token in _TOKEN.finditer(data, at + 1):
        text = token.group()
        if depth == 0 and text == wanted:
            colon = _skip(data, token.end())
            if data[colon : colon + 1] == b":":
                return _skip(data, colon + 1)
        if len(text) == 1 and text in b"[{":
            depth += 1
        elif text[:1] in b"]}":
            if depth == 0:
                return None
            depth -= 1
    return None


def _skip(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] in _SPACE:
        pos += 1
    return pos


def _column(data: bytes, offset: int) -> int:
    """The 1-based column, in characters, of the byte at ``offset``."""
    begin = data.rfind(b"\n", 0, offset) + 1
    if begin == 0 and data.startswith(_BOM):
        begin = 3
    return len(data[begin:offset].decode("utf-8", "replace")) + 1
