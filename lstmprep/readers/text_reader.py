"""Token-id text: one sequence per line, its ids separated by spaces (or tabs).

What a tokenizer writes with ``" ".join(map(str, ids))``. Every word must be a whole number;
anything else is reported at its line and column. A blank line is an empty sequence; the
newline at the end of the file is not a line. The data is token ids unless ``--kind values``
says otherwise.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import numpy as np

from ..dataset import Dataset, Reported
from ..errors import UnreadableInput
from ..memory import check_memory
from ..ragged import Ragged
from ..report import ProblemLog
from .files import read_bytes

#: A line of ids every one of which fits an int64: parsed in one go.
_PLAIN = re.compile(r"[ \t]*(?:-?[0-9]{1,18}(?:[ \t]+|$))*")
_WORD = re.compile(r"[^ \t]+")


def read_txt(path: Path, allow_pickle: bool = False, channels_first: bool = False) -> Dataset:
    """One sequence of space-separated token ids per line.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ids.txt")
    >>> _ = open(path, "w").write("4 17 9\\n\\n12 x 3\\n")
    >>> data = read_txt(Path(path))
    >>> data.ragged.lengths.tolist(), data.ragged[0][:, 0].tolist(), data.kind
    ([3, 0, 3], [4.0, 17.0, 9.0], 'tokens')
    >>> [p.message for p in data.problems]
    ['line 3, column 4: "x" is not a token id (a whole number)']
    """
    data = read_bytes(path)
    # the ids as int64, their float64 copy, and the per-line arrays on the way
    check_memory(len(data) * 12, f"reading {len(data):,} bytes of token ids", str(path))
    text = _decode(data, str(path))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    log = ProblemLog()
    parts: list[np.ndarray] = []
    bad_rows: list[int] = []
    offset = 0
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if _PLAIN.fullmatch(line):
            ids = np.array(line.split(), dtype=np.int64).astype(np.float64)
        else:
            ids = _located(line, number, len(parts), log, offset, bad_rows)
        parts.append(ids)
        offset += len(ids)
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    values = np.concatenate(parts) if parts else np.empty(0)
    return Dataset(
        str(path),
        "txt",
        Ragged(values.reshape(-1, 1), lengths),
        problems=tuple(log.problems()),
        reported=Reported(rows=np.array(bad_rows, dtype=np.int64)),
        dtype="int64",
        lines=np.arange(1, len(parts) + 1, dtype=np.int64),
        kind="tokens",
    )


def _located(
    line: str, number: int, sequence: int, log: ProblemLog, offset: int, bad_rows: list[int]
) -> np.ndarray:
    """The ids of a line that is not plain, each word that is not a whole number reported."""
    ids = []
    for t, word in enumerate(_WORD.finditer(line)):
        place = f"line {number}, column {word.start() + 1}"
        try:
            ids.append(float(int(word[0])))
            continue
        except ValueError:
            log.add(
                "bad-token" if _is_number(word[0]) else "non-numeric",
                f'{place}: "{_short(word[0])}" is not a token id (a whole number)',
                sequence,
                t,
            )
        except OverflowError:
            log.add(
                "non-finite", f"{place}: {_short(word[0])} is too large for a float", sequence, t
            )
        ids.append(np.nan)
        bad_rows.append(offset + t)
    return np.array(ids, dtype=np.float64)


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UnreadableInput(
            f"not UTF-8 text: line {line} holds the byte {data[e.start]:#04x}",
            path=path,
            hint="write the ids as plain text, one sequence per line",
        ) from None


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _short(word: str) -> str:
    return word if len(word) <= 20 else word[:17] + "..."
