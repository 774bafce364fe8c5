"""JSON text: decoded and parsed with errors that name the line and column.

Shared by the JSON readers and the labels reader. Parsing is msgspec's (a few times faster
than ``json``, and it gives the same values wherever it succeeds), with garbage collection
paused while the Python objects are built; whatever msgspec refuses (``NaN``, ``1e400``,
lone surrogates, syntax errors, integers beyond 64 bits…) is parsed again by ``json``,
which defines the result and locates the errors.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import UnreadableInput
from .files import read_bytes


def json_lines(path: Path, data: bytes | None = None, first_line: int = 1):
    """(line number, parsed value) for each non-blank line (``data``: the file's text from
    line ``first_line`` on)."""
    text = decode(read_bytes(path) if data is None else data, str(path))
    for lineno, line in enumerate(text.splitlines(), start=first_line):
        if line.strip():
            yield lineno, load_json(line, str(path), lineno=lineno)


def load_json(data: bytes | str, path: str, lineno: int | None = None) -> Any:
    text = data if isinstance(data, str) else decode(data, path)
    if not text.strip():
        raise UnreadableInput(
            "the file is empty" if lineno is None else f"line {lineno} is empty", path=path
        )
    fast = _fast_loads(text)
    if fast is not _REFUSED:
        return fast
    try:
        try:
            with gc_paused():
                return json.loads(text)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer too long for int(): read it as the float it overflows
            return json.loads(text, parse_int=parse_int)
    except json.JSONDecodeError as e:
        line = e.lineno if lineno is None else lineno
        raise UnreadableInput(
            f"not valid JSON: {e.msg} at line {line}, column {e.colno}",
            path=path,
            line=line,
            column=e.colno,
            hint="fix the JSON at that place (a trailing comma, a missing bracket, a quote…)",
        ) from None
    except RecursionError:
        line, column = too_deep(text)
        raise UnreadableInput(
            f"nested too deeply to be sequence data: more than {MAX_DEPTH} levels at "
            f"line {line if lineno is None else lineno}, column {column}",
            path=path,
            line=line if lineno is None else lineno,
            column=column,
            hint="sequences nest three levels: [sequence [timestep [feature, …]]]",
        ) from None


_REFUSED = object()


def _fast_loads(text: str) -> Any:
    """msgspec's parse of `text`, or `_REFUSED` (then ``json`` decides)."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - a dependency; json does the same, slower
        return _REFUSED
    try:
        with gc_paused():
            return msgspec.json.decode(text)
    except (msgspec.MsgspecError, RecursionError):
        return _REFUSED


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection inside: building millions of lists would trigger it often."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_int(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:  # more digits than int() converts: far too large for a float anyway
        return float(text)


#: Depth reported for JSON too deep to parse (sequence data nests three levels).
MAX_DEPTH = 100
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def too_deep(text: str) -> tuple[int, int]:
    """(line, column) where ``text`` first nests deeper than ``MAX_DEPTH``."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                start = token.start()
                return text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
        elif char in "]}":
            depth -= 1
    return 1, 1


def decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UnreadableInput(
            f"not UTF-8 text: byte {e.start} (line {line}) is 0x{data[e.start]:02x}",
            path=path,
            line=line,
            hint="save the file as UTF-8 JSON",
        ) from None
