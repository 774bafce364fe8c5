"""``.ts``: the UEA/UCR time series archive's text format, as aeon and sktime read and write it.

A header of ``@`` lines (``@problemName``, ``@univariate``, ``@dimensions``, ``@equalLength``,
``@classLabel true a b c`` or ``@targetLabel true``, …; ``#`` or ``%`` starts a comment), then
``@data`` and one case per line: its dimensions separated by ``:``, the values of each by
``,``, ``?`` for a missing value, and the class label (or regression target) as the last field.
Cases may have different lengths; within a case every dimension has the same length. Each dimension
becomes a feature: a case of D dimensions and T values is a sequence of T timesteps × D features.

Problems name the line and the column (1-based, in characters) of the value. Class labels are
kept as written (aeon's loader lower-cases them).
"""

from __future__ import annotations

import numpy as np

from ..dataset import Dataset, Reported
from ..errors import UnreadableInput
from ..ragged import Ragged
from ..report import ProblemLog
from .files import read_bytes
from .json_text import decode
from .labels import labels_array

_FLAGS = ("timestamps", "missing", "univariate", "equallength", "classlabel", "targetlabel")
_COMMENT = ("#", "%")


class _Header:
    def __init__(self) -> None:
        self.flags: dict[str, bool] = {}
        self.name = ""
        self.dimensions: int | None = None
        self.classes: tuple[str, ...] | None = None
        self.ignored: list[str] = []


def read_ts(path, allow_pickle: bool = False, channels_first: bool = False) -> Dataset:
    """A ``.ts`` file: one case per line after ``@data``, labels from the last field."""
    name = str(path)
    text = decode(read_bytes(path), name)
    lines = text.splitlines()
    header, start = _header(lines, name)
    labelled = header.flags.get("classlabel", False) or header.flags.get("targetlabel", False)
    expected = header.dimensions or (1 if header.flags.get("univariate") else None)

    log = ProblemLog()
    sequences: list[np.ndarray] = []
    labels: list[object] = []
    numbers: list[int] = []
    bad_rows: list[int] = []
    broken: list[int] = []
    row = 0
    for lineno in range(start + 1, len(lines) + 1):
        line = lines[lineno - 1]
        if not line.strip() or line.lstrip().startswith(_COMMENT):
            continue
        i = len(sequences)
        fields = line.split(":")
        if labelled:
            labels.append(_label(fields.pop().strip(), header, lineno, i, log))
        if expected is None:
            expected = len(fields) or 1  # a line with only a label is reported below
        read = _case(fields, expected, lineno, i, log)
        if read is None:
            broken.append(i)
            read = np.empty((0, expected)), []
        case, bad = read
        bad_rows.extend(row + t for t in bad)
        sequences.append(case)
        numbers.append(lineno)
        row += len(case)

    width = expected or 1
    values = np.concatenate(sequences) if sequences else np.empty((0, width))
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    notes = [_describe(header, width)]
    if channels_first:
        notes.append("--channels-first changes nothing for .ts: its lines say which are dimensions")
    return Dataset(
        name,
        "ts",
        Ragged(values.reshape(-1, width), lengths),
        labels=labels_array(labels) if labelled else None,
        problems=tuple(log.problems()),
        notes=tuple(notes + [f"ignored {tag}" for tag in header.ignored]),
        reported=Reported(np.array(bad_rows, np.int64), np.array(broken, np.int64)),
        lines=np.array(numbers, dtype=np.int64),
    )


def _header(lines: list[str], path: str) -> tuple[_Header, int]:
    """The header, and the line number of ``@data``."""
    header = _Header()
    if not any(line.strip() for line in lines):
        raise UnreadableInput("the file is empty", path=path)
    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith(_COMMENT):
            continue
        if not text.startswith("@"):
            raise UnreadableInput(
                f"line {lineno}, column 1: data before the @data line",
                path=path,
                line=lineno,
                column=1,
                hint="a .ts file starts with its @ header lines, then @data, then one case a line",
            )
        if not text[1:].strip():
            raise _broken(lineno, "an @ with no tag after it", path)
        tag, *words = text[1:].split()
        tag = tag.lower()
        if tag == "data":
            _consistent(header, lineno, path)
            return header, lineno
        if tag in _FLAGS:
            header.flags[tag] = _flag(tag, words, lineno, path)
            if tag == "classlabel" and header.flags[tag]:
                if not words[1:]:
                    raise _broken(lineno, "@classLabel true names no classes", path)
                header.classes = tuple(words[1:])
        elif tag in ("dimension", "dimensions", "serieslength"):
            if len(words) != 1 or not words[0].isdigit() or int(words[0]) < 1:
                raise _broken(lineno, f"@{tag} needs a positive whole number, not {words}", path)
            if tag != "serieslength":
                header.dimensions = int(words[0])
        elif tag == "problemname":
            header.name = " ".join(words)
        else:
            header.ignored.append(f"@{tag} (line {lineno})")
    raise UnreadableInput(
        "no @data line: the header never ends",
        path=path,
        hint="a .ts file's header ends with a line @data; the cases follow it",
    )


def _consistent(header: _Header, lineno: int, path: str) -> None:
    if header.flags.get("timestamps"):
        raise UnreadableInput(
            "@timeStamps true: cases given as (time, value) pairs are not read by lstmprep",
            path=path,
            hint="write the file without timestamps (aeon/sktime: write_to_tsfile)",
        )
    if header.flags.get("univariate") and (header.dimensions or 1) != 1:
        raise _broken(lineno, f"@univariate true but @dimensions {header.dimensions}", path)
    if "classlabel" not in header.flags and "targetlabel" not in header.flags:
        raise _broken(
            lineno,
            "neither @classLabel nor @targetLabel says whether the last field is a label",
            path,
        )


def _flag(tag: str, words: list[str], lineno: int, path: str) -> bool:
    if not words or words[0].lower() not in ("true", "false"):
        said = repr(words[0]) if words else "nothing"
        raise _broken(lineno, f"@{tag} must be followed by true or false, not {said}", path)
    return words[0].lower() == "true"


def _broken(lineno: int, what: str, path: str) -> UnreadableInput:
    return UnreadableInput(
        f"broken header at line {lineno}: {what}",
        path=path,
        line=lineno,
        hint="see the header lines of the UEA/UCR .ts format "
        "(@problemName, @univariate, @dimensions, @classLabel true a b c, @data)",
    )


def _label(text: str, header: _Header, lineno: int, i: int, log: ProblemLog) -> object:
    if header.classes is not None:
        if text not in header.classes:
            log.add(
                "label-mismatch",
                f"sequence {i} (line {lineno}): class {text!r} is not one of the classes "
                f"@classLabel declares ({', '.join(header.classes[:10])}): fix the label or "
                "the header",
                i,
                line=lineno,
            )
        return text
    if header.flags.get("targetlabel"):
        try:
            return float(text)
        except ValueError:
            log.add(
                "label-mismatch",
                f"sequence {i} (line {lineno}): the target {text!r} is not a number "
                "(@targetLabel true)",
                i,
                line=lineno,
            )
            return text
    return text


def _case(
    fields: list[str], expected: int, lineno: int, i: int, log: ProblemLog
) -> tuple[np.ndarray, list[int]] | None:
    """One case as (timesteps, dimensions), with the timesteps it could not read; or None."""
    where = f"sequence {i} (line {lineno})"
    if len(fields) != expected:
        log.add(
            "feature-mismatch",
            f"{where} has {len(fields)} dimensions; the file has {expected}: every case needs "
            "the same dimensions (the last field is the label when @classLabel is true)",
            i,
            count=1,
            line=lineno,
        )
        return None
    columns, bad = [], set()
    start = 1
    for d, field in enumerate(fields):
        parts = field.split(",") if field.strip() else []
        try:
            column = np.array(parts, dtype=np.float64)
        except ValueError:
            column = np.array(
                [_value(p, lineno, start, parts, k, d, i, log) for k, p in enumerate(parts)]
            )
            bad.update(np.flatnonzero(np.isnan(column)).tolist())
        columns.append(column)
        start += len(field) + 1
    if len({len(c) for c in columns}) > 1:
        counts = ", ".join(str(len(c)) for c in columns[:6]) + (", …" if len(columns) > 6 else "")
        log.add(
            "feature-mismatch",
            f"{where}: its dimensions have different lengths ({counts}): "
            "within a case every dimension needs one value per timestep",
            i,
            line=lineno,
        )
        return None
    return np.stack(columns, axis=1).reshape(-1, expected), sorted(bad)


def _value(
    text: str, lineno: int, start: int, parts: list[str], k: int, d: int, i: int, log: ProblemLog
) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    column = start + sum(len(p) + 1 for p in parts[:k]) + len(text) - len(text.lstrip())
    place = f"line {lineno}, column {column}: sequence {i}, timestep {k}, dimension {d}"
    if text.strip() == "?":
        log.add(
            "non-finite",
            f"{place} is ?, a missing value: one NaN makes the loss NaN — fill or drop "
            "missing values before training",
            i,
            k,
            line=lineno,
            column=column,
        )
    else:
        shown = text.strip()[:20]
        log.add(
            "non-numeric",
            f'{place} holds the text "{shown}", which is not a number',
            i,
            k,
            line=lineno,
            column=column,
        )
    return float("nan")


def _describe(header: _Header, width: int) -> str:
    name = f' "{header.name}"' if header.name else ""
    what = f"{width} dimension{'s' if width != 1 else ''} read as features"
    if header.classes is not None:
        what += f", {len(header.classes)} classes declared"
    elif header.flags.get("targetlabel"):
        what += ", regression targets"
    return f".ts problem{name}: {what}"
