"""Tables: CSV/TSV, Parquet and Feather/Arrow IPC files, read with pyarrow.

Two layouts:

- **long**, one row per timestep: an id column says which sequence a row belongs to, a time
  column orders the rows of a sequence (they may come in any order; ISO timestamps too), an
  optional label column holds one label per sequence, and the features are every other numeric
  column unless named. Sequences keep the order in which their ids first appear.
- **nested** (Parquet, Arrow), one row per sequence: a list column holds the sequence, as
  ``list<list<number>>`` (timesteps of features) or ``list<number>`` (one feature).

Without options, the id, time and label columns are guessed from common names
(:data:`ID_NAMES`, :data:`TIME_NAMES`, :data:`LABEL_NAMES`) and the guess is noted. Rows are
grouped into sequences with one sort of packed integer keys, never a loop per row or per group.
pyarrow is imported inside the functions, so that ``lstmprep --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..dataset import Dataset, Reported
from ..errors import UnreadableInput, UsageError
from ..memory import check_memory
from ..ragged import Ragged
from ..report import MAX_PLACES, Problem, ProblemLog
from .files import compression, read_bytes
from .labels import labels_array
from .nested import PartOfWhole, from_python

if TYPE_CHECKING:
    import pyarrow as pa

#: Column names taken for the sequence id, the time and the label, in order of preference
#: (compared without case).
ID_NAMES = (
    "id", "sequence_id", "seq_id", "series_id", "series", "sample_id", "sample", "sequence",
    "session_id", "session", "group_id", "group", "unit_id", "unit", "device_id", "user_id",
    "subject_id", "subject", "patient_id", "case_id", "track_id", "trajectory_id", "entity_id",
)  # fmt: skip
TIME_NAMES = (
    "t", "time", "timestamp", "step", "timestep", "time_step", "time_idx", "datetime", "date",
    "ts", "tick", "frame", "position", "pos", "order", "index",
)  # fmt: skip
LABEL_NAMES = ("label", "labels", "target", "y", "class")

_NUMBER = re.compile(
    r"\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|infinity|nan)\s*", re.I
)
#: the same, for pyarrow's whole-cell matches
_CELL_NUMBER = f"^{_NUMBER.pattern}$"


@dataclass(frozen=True)
class TableOptions:
    """Which columns of a table mean what; ``None`` leaves it to the guess from names.

    >>> TableOptions(id_column="run", feature_columns=("a", "b")).words()
    ['--id-column', 'run', '--feature-columns', 'a,b']
    """

    id_column: str | None = None
    time_column: str | None = None
    label_column: str | None = None
    feature_columns: tuple[str, ...] | None = None
    sequence_column: str | None = None

    @classmethod
    def parse(
        cls,
        id_column: str | None = None,
        time_column: str | None = None,
        label_column: str | None = None,
        feature_columns: str | None = None,
        sequence_column: str | None = None,
    ) -> TableOptions | None:
        """From the command line's words (``A,B,…`` for the features); ``None`` if none given."""
        features = None
        if feature_columns is not None:
            features = tuple(name.strip() for name in feature_columns.split(","))
            if not all(features):
                raise UsageError(
                    f"--feature-columns {feature_columns!r} has an empty name",
                    hint="name the columns separated by commas: --feature-columns a,b,c",
                )
        options = cls(id_column, time_column, label_column, features, sequence_column)
        return options if options.given() else None

    def given(self) -> bool:
        return any(value is not None for value in vars(self).values())

    def words(self) -> list[str]:
        """The options as command-line words, to repeat in suggested commands."""
        words: list[str] = []
        for name, value in vars(self).items():
            if value is not None:
                flag = "--" + name.replace("_", "-")
                words += [flag, ",".join(value) if isinstance(value, tuple) else value]
        return words


# --- the readers (file suffix → reader, in readers.READERS) --------------------------------------


def read_csv(path: Path, allow_pickle: bool = False, table: TableOptions | None = None) -> Dataset:
    """A comma-separated file with a header line, in long layout."""
    return _from_table(path, "csv", _csv_table(path, ","), table, _line)


def read_tsv(path: Path, allow_pickle: bool = False, table: TableOptions | None = None) -> Dataset:
    """A tab-separated file with a header line, in long layout."""
    return _from_table(path, "tsv", _csv_table(path, "\t"), table, _line)


def read_parquet(
    path: Path, allow_pickle: bool = False, table: TableOptions | None = None
) -> Dataset:
    """A Parquet file, in long or nested layout."""
    import pyarrow.parquet as pq

    check_memory(3 * path.stat().st_size, "reading the Parquet file", str(path))
    try:
        with pq.ParquetFile(path, memory_map=True) as file:  # read_table imports pandas
            data = file.read()
    except (OSError, ValueError) as e:  # ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise _unreadable(path, "Parquet", e) from None
    return _from_table(path, "parquet", data, table, _row)


def read_arrow(
    path: Path, allow_pickle: bool = False, table: TableOptions | None = None
) -> Dataset:
    """A Feather (v1 or v2) or Arrow IPC file or stream, in long or nested layout."""
    import pyarrow as pa
    import pyarrow.feather as feather

    check_memory(2 * path.stat().st_size, "reading the Arrow file", str(path))
    try:
        data = feather.read_table(path)
    except (OSError, ValueError) as e:
        try:
            with pa.memory_map(str(path)) as source:
                data = pa.ipc.open_stream(source).read_all()
        except (OSError, ValueError):
            raise _unreadable(path, "Feather/Arrow IPC", e) from None
    return _from_table(path, "arrow", data, table, _row)


TABLE_READERS: dict[str, Callable[..., Dataset]] = {
    ".csv": read_csv,
    ".tsv": read_tsv,
    ".parquet": read_parquet,
    ".feather": read_arrow,
    ".arrow": read_arrow,
}


def check_options(suffix: str, table: TableOptions | None) -> None:
    """Column options only make sense for tables: refuse them for other files."""
    if table is not None and table.given() and suffix not in TABLE_READERS:
        raise UsageError(
            f"{' '.join(table.words()[::2])} name table columns, but {suffix or 'this'} files "
            "have none",
            hint=f"use them with {', '.join(TABLE_READERS)} files",
        )


# --- CSV -----------------------------------------------------------------------------------------


def _line(row: int) -> str:
    return f"line {row + 2}"  # the header is line 1


def _row(row: int) -> str:
    return f"row {row}"


_DELIMITERS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "bars"}


def _csv_table(path: Path, delimiter: str) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    check_memory(3 * path.stat().st_size, "reading the table", str(path))
    source: Any = path
    if compression(path):  # decompressed in memory, as every text format (files.read_bytes)
        data = read_bytes(path)
        source, head = pa.BufferReader(data), data[: 1 << 16]
    else:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    check_header(path, head, delimiter)
    bad_rows: list[Any] = []

    def invalid(row: Any) -> str:
        bad_rows.append(row)
        return "error"

    try:
        return pcsv.read_csv(
            source,
            parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=invalid),
            convert_options=pcsv.ConvertOptions(null_values=NULLS, strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as e:
        if bad_rows and bad_rows[0].number is None:  # read in parallel: read again for the line
            with contextlib.suppress(pa.ArrowInvalid, UnicodeDecodeError, OSError):
                if isinstance(source, pa.BufferReader):
                    source.seek(0)
                pcsv.read_csv(
                    source,
                    read_options=pcsv.ReadOptions(use_threads=False),
                    parse_options=pcsv.ParseOptions(
                        delimiter=delimiter, invalid_row_handler=invalid
                    ),
                )
            bad_rows.sort(key=lambda row: row.number is None)
        if bad_rows:
            raise broken_row(path, bad_rows[0]) from None
        raise _unreadable(path, "CSV", e) from None


def broken_row(path: Path, row: Any) -> UnreadableInput:
    """The error for a CSV row with too many or too few fields (pyarrow's ``InvalidRow``)."""
    where = f"line {row.number}" if row.number is not None else "a row"
    return UnreadableInput(
        f"{where} has {row.actual_columns} fields where the header has "
        f"{row.expected_columns} ({row.text[:60]!r}): the file is truncated or a row is broken",
        path=str(path),
        hint="write the file again, every row with one field per column",
    )


#: what pyarrow takes for a missing cell
NULLS = ["", "NA", "N/A", "null", "NULL", "None"]


def check_header(path: Path, head: bytes, delimiter: str) -> None:
    """Refuse a CSV/TSV file whose first line is not a header of ``delimiter``-separated
    column names (``head``: its first bytes)."""
    header = head.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    if not head.strip():
        raise UnreadableInput(
            "the file is empty",
            path=str(path),
            hint="write a header line, then one row per timestep",
        )
    text = header.decode("utf-8", errors="replace")
    if delimiter not in text:
        found = max(_DELIMITERS, key=text.count)
        if text.count(found):
            fix = {
                "\t": "it is tab-separated: name it .tsv",
                ",": "it is comma-separated: name it .csv",
            }.get(found, f"write it with {_DELIMITERS[delimiter]} (pandas: df.to_csv(path))")
            raise UnreadableInput(
                f"the header line has no {_DELIMITERS[delimiter]} but {text.count(found)} "
                f"{_DELIMITERS[found]}: {text[:80]!r}",
                path=str(path),
                hint=fix,
            )
    fields = text.split(delimiter)
    if all(_NUMBER.fullmatch(field) for field in fields):
        example = delimiter.join(["id", "t", *(f"f{i}" for i in range(1, len(fields) - 1))])
        raise UnreadableInput(
            f"line 1 holds numbers ({text[:60]!r}), not column names: lstmprep needs a header "
            "line naming the columns",
            path=str(path),
            hint=f"add a header line such as {example!r} (an id, a time and the features)",
        )


def _unreadable(path: Path, kind: str, error: Exception) -> UnreadableInput:
    message = str(error).removeprefix("CSV parse error: ").splitlines()[0][:200]
    return UnreadableInput(
        f"not a valid {kind} file ({message})", path=str(path), hint=f"write it again as {kind}"
    )


# --- a table → a dataset -------------------------------------------------------------------------


def _from_table(
    path: Path,
    fmt: str,
    data: pa.Table,
    options: TableOptions | None,
    where: Callable[[int], str],
    first_row: int | np.ndarray = 0,
    first_sequence: int = 0,
    texts: TextCells | None = None,
) -> Dataset:
    """``data``: the table's rows from row ``first_row`` on (a chunk of a larger table), or
    the rows numbered in ``first_row`` (an array: a partition of an unsorted table); its
    first sequence is ``first_sequence`` of the whole. ``texts``: where the text cells of a
    part go, for the whole table's ``non-numeric`` problem (:class:`TextCells`)."""
    options = options or TableOptions()
    names = data.column_names
    _check_columns(path, names, options)
    lists = [n for n in names if _is_list(data.schema.field(n).type)]
    if options.sequence_column is not None or lists:
        return _nested(path, fmt, data, options, lists)
    return _long(path, fmt, data, options, where, first_row, first_sequence, texts)


def _check_columns(path: Path, names: list[str], options: TableOptions) -> None:
    """Every column named once; every column the options name there."""
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UnreadableInput(
            f"the column names {twice} appear twice", path=str(path), hint="name every column once"
        )
    named = [options.id_column, options.time_column, options.label_column]
    named += [options.sequence_column, *(options.feature_columns or ())]
    for name in named:
        if name is not None and name not in names:
            raise UsageError(
                f"there is no column {name!r}; the columns are {_list(names)}",
                path=str(path),
                hint="name one of these columns (names are case-sensitive)",
            )


def _non_numeric(at: str, name: str, first: str | None, count: int) -> str:
    what = "is empty" if first is None else f"holds the text {first!r}, which is not a number"
    return (
        f"{at}, column {name!r} {what}: every feature must be a number ({count} such cells "
        f"in {name!r})"
    )


class TextCells:
    """The text cells of a table read in parts (chunks of rows, or partitions of an unsorted
    table, in any order): each feature column's first cell in the file, its count and the
    places of its first cells in file order; then the ``non-numeric`` problem reading the
    table whole reports (column by column, each in file order)."""

    def __init__(self) -> None:
        #: the feature columns, in the table's order
        self.columns: list[str] = []
        #: by column: (file row, text) of its first cell, its count, its first places by row
        self.first: dict[str, tuple[int, str | None]] = {}
        self.counts: dict[str, int] = {}
        self.places: dict[str, list[tuple[int, int, int | None]]] = {}
        #: names a file row in messages
        self.where: Callable[[int], str] = _row

    def add(
        self,
        name: str,
        rows: np.ndarray,
        cells: list[str | None],
        at: list[tuple[int, int | None]],
    ) -> None:
        """``rows``: the file rows of a part's text cells in ``name`` (ascending), ``cells``
        their texts, ``at``: the global places of the first of them."""
        if name not in self.first or rows[0] < self.first[name][0]:
            self.first[name] = (int(rows[0]), cells[0])
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        places = self.places.setdefault(name, [])
        places += [(int(r), s, t) for r, (s, t) in zip(rows, at, strict=False)]
        places.sort()
        del places[MAX_PLACES:]

    def problems(self) -> tuple[Problem, ...]:
        """The whole table's ``non-numeric`` problem (none without text cells)."""
        log = ProblemLog()
        message = None
        for name in self.columns:
            if name not in self.counts:
                continue
            row, text = self.first[name]
            message = message or _non_numeric(self.where(row), name, text, self.counts[name])
            places = [(s, t) for _, s, t in self.places[name]]
            log.add_many("non-numeric", message, places, self.counts[name])
        return tuple(log.problems())


def _guess(names: list[str], candidates: tuple[str, ...], taken: set[str]) -> str | None:
    lower = {n.lower(): n for n in reversed(names) if n not in taken}
    return next((lower[c] for c in candidates if c in lower), None)


def _list(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names[:30]) + (" …" if len(names) > 30 else "")


def _long(
    path: Path,
    fmt: str,
    data: pa.Table,
    options: TableOptions,
    where: Callable[[int], str],
    first_row: int | np.ndarray = 0,
    first_sequence: int = 0,
    texts: TextCells | None = None,
) -> Dataset:
    lines = where is _line
    named = where
    numbered = first_row if isinstance(first_row, np.ndarray) else None
    offset = 0 if isinstance(first_row, np.ndarray) else first_row
    if numbered is not None:
        where = lambda row: named(int(numbered[row]))  # noqa: E731
    elif offset:
        where = lambda row: named(row + offset)  # noqa: E731
    names = data.column_names
    said: list[str] = []

    def choose(given: str | None, candidates: tuple[str, ...], what: str) -> str | None:
        if given is not None:
            return given
        taken = {options.id_column, options.time_column, options.label_column}
        guess = _guess(names, candidates, {n for n in taken if n} | set(chosen))
        if guess is not None:
            said.append(f"{what} {guess!r}")
        return guess

    chosen: list[str] = []
    id_column = choose(options.id_column, ID_NAMES, "id")
    if id_column is None:
        raise UnreadableInput(
            f"no column says which sequence a row belongs to; the columns are {_list(names)}",
            path=str(path),
            hint="name it with --id-column COL (guessed only from names such as "
            f"{', '.join(ID_NAMES[:6])}, …)",
        )
    chosen.append(id_column)
    time_column = choose(options.time_column, TIME_NAMES, "time")
    if time_column is not None:
        chosen.append(time_column)
    label_column = choose(options.label_column, LABEL_NAMES, "label")
    if label_column is not None:
        chosen.append(label_column)
    if options.feature_columns is not None:
        features = list(options.feature_columns)
        clash = [n for n in features if n in chosen]
        if clash:
            raise UsageError(
                f"--feature-columns names {clash[0]!r}, which is the id, time or label column",
                path=str(path),
                hint="leave it out of --feature-columns, or choose another with --id-column, "
                "--time-column or --label-column",
            )
    else:
        features = [n for n in names if n not in chosen and _featurelike(data.column(n))]
    how = "named" if options.feature_columns is not None else "every other numeric column"
    notes = [f"long format, one row per timestep; features {_list(features)} ({how})"]
    if said:
        notes.append(
            f"columns guessed from their names: {', '.join(said)} (choose others with "
            "--id-column, --time-column, --label-column)"
        )
    if time_column is None:
        notes.append(
            "no time column: the rows of each sequence are taken in file order (order them "
            "with --time-column COL)"
        )
    skipped = [n for n in names if n not in chosen and n not in features]
    if skipped and options.feature_columns is None:
        notes.append(f"columns {_list(skipped)} are not numbers: not used as features")
    if not features:
        raise UnreadableInput(
            f"no numeric column is left for the features; the columns are {_list(names)}",
            path=str(path),
            hint="name them with --feature-columns A,B,…",
        )

    n = data.num_rows
    ids = _no_nulls(data.column(id_column).combine_chunks(), id_column, path, where)
    codes, names_of_ids = _id_codes(ids)
    lengths = np.bincount(codes, minlength=len(names_of_ids)).astype(np.int64)
    times = None
    if time_column is not None:
        times = _times(data.column(time_column).combine_chunks(), time_column, path, where)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # file row → sorted row, made when needed
    inverse: list[np.ndarray] = []
    consecutive = _positions(codes, times, offsets[:-1], lengths)
    if consecutive is None:
        order = _order(codes, times, len(names_of_ids))
    else:  # no sort needed, and no time can repeat
        order = _inverse(consecutive)
        inverse.append(consecutive)

    def positions() -> np.ndarray:
        if not inverse:
            inverse.append(_inverse(order))
        return inverse[0]

    def sorted_rows(rows: np.ndarray) -> np.ndarray:
        return positions()[rows]

    def place(rows: np.ndarray) -> list[tuple[int | None, int | None]]:
        at = sorted_rows(rows)
        seqs = np.searchsorted(offsets, at, side="right") - 1
        return [(int(s), int(r - offsets[s])) for s, r in zip(seqs, at, strict=True)]

    log = ProblemLog()
    reported: list[np.ndarray] = []
    values, dtype = _features(data, features, order, positions, n)

    if texts is not None:
        texts.columns = texts.columns or features
    for j, name in enumerate(features):
        bad = _not_numbers(data.column(name))
        if bad is None:
            continue
        rows, cells = bad
        if texts is not None:  # a part: the whole table's problem is made at the end
            in_file = numbered[rows] if numbered is not None else rows + offset
            at = [(int(s or 0) + first_sequence, t) for s, t in place(rows[:MAX_PLACES])]
            texts.add(name, in_file, cells, at)
        else:
            log.add_many(
                "non-numeric",
                _non_numeric(where(int(rows[0])), name, cells[0], len(rows)),
                place(rows[:MAX_PLACES]),
                len(rows),
            )
        values[sorted_rows(rows), j] = np.nan
        reported.append(sorted_rows(rows))

    if times is not None and n > 1 and consecutive is None:
        codes_sorted, times_sorted = codes[order], times[order]
        same = (codes_sorted[1:] == codes_sorted[:-1]) & (times_sorted[1:] == times_sorted[:-1])
        if same.any():
            second = np.flatnonzero(same) + 1
            rows = order[second]
            earlier, again = int(order[second[0] - 1]), int(rows[0])
            log.add_many(
                "duplicate-time",
                f"{where(earlier)} and {where(again)} are both sequence "
                f"{_py(names_of_ids[codes[again]])!r} at time "
                f"{data.column(time_column)[again].as_py()!r}: keep one row per time of a "
                "sequence (drop or average the duplicates)",
                place(rows[:MAX_PLACES]),
                len(rows),
            )

    labels = None
    if label_column is not None:
        labels = _long_labels(
            data.column(label_column).combine_chunks(),
            label_column,
            order,
            offsets,
            codes,
            sorted_rows,
            names_of_ids,
            log,
            where,
            place,
            first_sequence,
        )

    return Dataset(
        str(path),
        fmt,
        Ragged(values, lengths),
        labels=labels,
        problems=tuple(log.problems()),
        notes=tuple(notes),
        reported=Reported(rows=np.concatenate(reported) if reported else np.empty(0, np.int64)),
        dtype=dtype,
        ids=names_of_ids,
        table=options if options.given() else None,
        # CSV/TSV: each timestep's line (file row + 2: the header is line 1), for problem places
        value_lines=(order + offset if numbered is None else numbered[order]) + 2
        if lines
        else None,
    )


#: Arrow's fixed-width number types as numpy dtypes
_NUMPY_TYPES = {
    "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
    "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
    "halffloat": np.float16, "float": np.float32, "double": np.float64,
}  # fmt: skip


def _numpy(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Arrow numbers as numpy, straight from the buffers when there are no nulls.

    (``to_numpy`` imports pandas where it is installed, a third of a second at start-up.)
    """
    dtype = _NUMPY_TYPES.get(str(column.type))
    chunks = column.chunks if hasattr(column, "chunks") else [column]
    if dtype is None or column.null_count:
        return column.to_numpy()  # nulls become NaN; other types as Arrow converts them
    arrays = [
        np.frombuffer(c.buffers()[1], dtype=dtype)[c.offset : c.offset + len(c)] for c in chunks
    ]
    if len(arrays) == 1:
        return arrays[0]
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)


def _numpy_chunks(column: pa.Array | pa.ChunkedArray) -> list[np.ndarray]:
    """Arrow numbers as numpy, chunk by chunk (no copy) when there are no nulls."""
    dtype = _NUMPY_TYPES.get(str(column.type))
    if dtype is None or column.null_count or not getattr(column, "num_chunks", 0):
        return [_numpy(column)]
    return [_numpy(c) for c in column.chunks]


def _values(column: pa.Array) -> np.ndarray:
    """Ids or names as numpy: numbers as numbers, anything else as Python objects."""
    if str(column.type) in _NUMPY_TYPES and not column.null_count:
        return _numpy(column)
    values = np.empty(len(column), dtype=object)
    values[:] = column.to_pylist()
    return values


def _id_codes(ids: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each row's sequence number (ids numbered in order of first appearance), and the ids in
    that order. Integers of a compact range are looked up in a table (a few numpy passes);
    other ids are dictionary-encoded by Arrow.

    >>> import pyarrow as pa
    >>> codes, names = _id_codes(pa.array([7, 3, 7, 5, 3]))
    >>> codes.tolist(), names.tolist()
    ([0, 1, 0, 2, 1], [7, 3, 5])
    """
    import pyarrow as pa

    n = len(ids)
    if pa.types.is_integer(ids.type) and str(ids.type) in _NUMPY_TYPES and n and not ids.null_count:
        values = _numpy(ids)
        low, high = int(values.min()), int(values.max())
        if high - low < 4 * n + 1024 and high < 2**63:
            key = values.astype(np.int64, copy=False)
            key = key - low if low else key
            first = np.full(high - low + 1, n, dtype=np.int64)  # each id's first row
            np.minimum.at(first, key, np.arange(n))
            seen = np.flatnonzero(first < n)
            seen = seen[np.argsort(first[seen])]  # the ids by first appearance
            number = np.empty(len(first), dtype=np.int64)
            number[seen] = np.arange(len(seen))
            return number[key], (seen + low).astype(values.dtype)
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(ids)
    return _numpy(encoded.indices).astype(np.int64), _values(encoded.dictionary)


def _inverse(order: np.ndarray) -> np.ndarray:
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return inverse


def _featurelike(column: pa.ChunkedArray) -> bool:
    """A numeric column, or text that is mostly numbers (its text cells are then reported)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return True
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        import pyarrow.compute as pc  # only here: its import takes a tenth of a second

        valid = column.drop_null()
        if not len(valid):
            return False
        numbers = pc.sum(pc.match_substring_regex(valid, _CELL_NUMBER, ignore_case=True))
        return bool((numbers.as_py() or 0) * 2 >= len(valid))
    return pa.types.is_null(kind)


def _not_numbers(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str | None]] | None:
    """File rows of the cells that are empty or text, and the first few cells' text."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        import pyarrow.compute as pc

        good = pc.match_substring_regex(column, _CELL_NUMBER, ignore_case=True)
        mask = ~good.to_numpy(zero_copy_only=False).astype(bool, copy=False)
        mask |= column.is_null().to_numpy(zero_copy_only=False)
    elif column.null_count or not (
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    ):
        mask = column.is_null().to_numpy(zero_copy_only=False)
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)):
            mask = np.ones(len(column), dtype=bool)  # booleans, dates, nested…
    else:
        return None
    rows = np.flatnonzero(mask)
    if not len(rows):
        return None
    first = column[int(rows[0])].as_py()
    return rows, [None if first is None else str(first)]


def _features(
    data: pa.Table,
    features: list[str],
    order: np.ndarray,
    positions: Callable[[], np.ndarray],
    n: int,
) -> tuple[np.ndarray, str]:
    """The feature columns as one ``(rows, features)`` array in sequence order; the source dtype.

    ``positions()`` gives each file row's place in sequence order. The columns are stacked a
    block of rows at a time (in the cache; Arrow's chunks when the columns share them), and
    each block's rows written to their places: one pass over the output, no copy in file order.
    """
    import pyarrow as pa

    columns: list[list[np.ndarray]] = []  # each column's chunks
    for name in features:
        column = data.column(name)
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            chunks = _numpy_chunks(column)  # nulls become NaN (the cells are reported)
        elif pa.types.is_decimal(kind):
            chunks = [_numpy(column.cast(pa.float64()))]
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            import pyarrow.compute as pc  # only here: its import takes a tenth of a second

            good = pc.match_substring_regex(column, _CELL_NUMBER, ignore_case=True)
            clean = pc.if_else(good, column, pa.scalar(None, kind))
            chunks = [_numpy(pc.cast(pc.utf8_trim_whitespace(clean), pa.float64()))]
        else:
            chunks = [np.full(n, np.nan)]
        columns.append(chunks)
    dtypes = [c[0].dtype if c else np.dtype(np.float64) for c in columns]
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    floating = dtype if dtype.kind == "f" else np.dtype(np.float64)
    stacked = np.empty((n, len(columns)), dtype=floating)
    sizes = [len(c) for c in columns[0]] if columns else []
    if any([len(c) for c in chunks] != sizes for chunks in columns):
        columns = [[np.concatenate(c)] if len(c) != 1 else c for c in columns]
        sizes = [n]
    if (
        not n
        or not columns
        or (order[0] == 0 and order[-1] == n - 1 and (np.diff(order) == 1).all())
    ):
        for j, chunks in enumerate(columns):  # in order already
            stacked[:, j] = np.concatenate(chunks) if len(chunks) != 1 else chunks[0]
        return stacked, str(dtype)
    places = positions()
    step = max(1, (1 << 20) // (len(columns) * floating.itemsize))  # ≤ 1 MB blocks
    block = np.empty((min(step, max(sizes)), len(columns)), dtype=floating)
    # a row as one opaque item: numpy then moves each row in one copy, twice as fast
    row = np.dtype((np.void, len(columns) * floating.itemsize))
    rows_out, rows_in = stacked.view(row).reshape(n), block.view(row).reshape(len(block))
    first = 0  # the file row of the chunk
    for k, size in enumerate(sizes):
        for start in range(0, size, step):
            end = min(size, start + step)
            for j, chunks in enumerate(columns):
                block[: end - start, j] = chunks[k][start:end]
            rows_out[places[first + start : first + end]] = rows_in[: end - start]
        first += size
    return stacked, str(dtype)


def _no_nulls(
    column: pa.Array,
    name: str,
    path: Path,
    where: Callable[[int], str],
    count: Callable[[], int] | None = None,
) -> pa.Array:
    """``column`` when it has no empty cell; ``count``: how many the whole column has (when
    ``column`` is a part of it)."""
    if column.null_count:
        row = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
        empty = column.null_count if count is None else count()
        raise UnreadableInput(
            f"{where(row)}: the {name!r} column is empty ({empty} rows): every row needs one",
            path=str(path),
            hint=f"fill in or drop the rows without {name!r}",
        )
    return column


def _times(column: pa.Array, name: str, path: Path, where: Callable[[int], str]) -> np.ndarray:
    """The time column as int64 (integers, dates, timestamps) or float64 numbers."""
    import pyarrow as pa

    column = _no_nulls(column, name, path, where)
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        import pyarrow.compute as pc

        try:
            column = pc.cast(column, pa.timestamp("ns"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            number = pc.match_substring_regex(column, _CELL_NUMBER, ignore_case=True)
            row = int(np.argmin(number.to_numpy(zero_copy_only=False)))
            raise UnreadableInput(
                f"{where(row)}: the time column {name!r} holds {column[row].as_py()!r}, which is "
                "neither a number nor an ISO date or timestamp",
                path=str(path),
                hint="write times as numbers or as ISO timestamps (2024-05-01T12:00:00)",
            ) from None
        kind = column.type
    if pa.types.is_floating(kind):
        times = _numpy(column)
        if not np.isfinite(times).all():
            row = int(np.argmin(np.isfinite(times)))
            raise UnreadableInput(
                f"{where(row)}: the time column {name!r} holds {times[row]}",
                path=str(path),
                hint="every row needs a finite time",
            )
        return times
    if pa.types.is_integer(kind):
        return _numpy(column).astype(np.int64, copy=False)
    if pa.types.is_temporal(kind):
        return _numpy(column.cast(pa.int64() if kind.bit_width == 64 else pa.int32()))
    raise UnreadableInput(
        f"the time column {name!r} holds {kind} values, not numbers or timestamps",
        path=str(path),
        hint="choose another with --time-column COL",
    )


def _positions(
    codes: np.ndarray, times: np.ndarray | None, starts: np.ndarray, lengths: np.ndarray
) -> np.ndarray | None:
    """Each row's place in sequence order, without a sort, when the integer times of every
    sequence are consecutive (0, 1, 2, … from any start, in any row order); else ``None``."""
    if times is None or times.dtype.kind != "i" or not len(codes):
        return None
    low = np.full(len(lengths), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(low, codes, times)
    # two arrays of n rows in all, computed in place (fresh memory is slow to touch)
    step = low[codes]
    np.subtract(times, step, out=step)  # ≥ 0
    places = lengths[codes]
    if (step >= places).any():
        return None
    np.take(starts, codes, out=places)
    places += step
    hit = np.zeros(len(codes), dtype=bool)
    hit[places] = True
    return places if hit.all() else None  # n rows on n places: each once, no time twice


def _order(codes: np.ndarray, times: np.ndarray | None, groups: int) -> np.ndarray:
    """Row order: by sequence (codes in order of first appearance), then by time; stable.

    Integer times are packed with the sequence and the row number into one int64 key, so one
    plain sort does it (several times faster than a two-key ``lexsort``).
    """
    n = len(codes)
    bits = max(int(n).bit_length(), 1)
    if times is None:
        key = codes
    elif times.dtype.kind == "i":
        low = int(times.min()) if n else 0
        span = (int(times.max()) - low + 1) if n else 1
        if groups * span >= 2 ** (62 - bits):
            return np.lexsort((times, codes))
        key = codes * span + (times - low)
    else:
        return np.lexsort((times, codes))
    if n and (key[1:] >= key[:-1]).all():
        return np.arange(n)
    if groups >= 2 ** (62 - bits):
        return np.argsort(key, kind="stable")
    packed = np.sort((key << bits) | np.arange(n))
    return packed & ((1 << bits) - 1)


def _long_labels(
    column: pa.Array,
    name: str,
    order: np.ndarray,
    offsets: np.ndarray,
    sequence: np.ndarray,
    sorted_rows: Callable[[np.ndarray], np.ndarray],
    ids: np.ndarray,
    log: ProblemLog,
    where: Callable[[int], str],
    place: Callable[[np.ndarray], list[tuple[int | None, int | None]]],
    first_sequence: int = 0,
) -> np.ndarray:
    """One label per sequence, from its first row; a label that changes is a problem.

    ``sequence``: each file row's sequence; ``sorted_rows(rows)``: file rows' places in
    sequence order. The rows are compared in file order (no copy of the column in sequence
    order), and only the rows whose label changes are placed.
    """
    import pyarrow as pa

    starts = offsets[:-1]
    if pa.types.is_integer(column.type) and not column.null_count:  # the numbers are the codes
        codes = _numpy(column)
        first = codes[order[starts]]
        labels = first
    else:
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(column, null_encoding="encode")
        codes = _numpy(encoded.indices)
        first = codes[order[starts]]
        named = _values(encoded.dictionary)[first]  # no pa.array(numpy): it imports pandas
        labels = named if named.dtype != object else labels_array(named.tolist())
    changed = np.flatnonzero(codes != first[sequence])
    if len(changed):
        changed = np.sort(sorted_rows(changed))
        row = int(order[changed[0]])
        seq = int(np.searchsorted(offsets, changed[0], side="right") - 1)
        was = column[int(order[starts[seq]])].as_py()
        now = column[row].as_py()
        sequences = np.unique(np.searchsorted(offsets, changed, side="right") - 1)
        log.add_many(
            "label-mismatch",
            f"the label of sequence {seq + first_sequence} (id {_py(ids[seq])!r}) changes from "
            f"{was!r} (at {where(int(order[starts[seq]]))}) to {now!r} at {where(row)}: give "
            f"every row of a sequence the same {name!r} ({len(sequences)} sequences change)",
            place(order[changed[:MAX_PLACES]]),
            len(sequences),
        )
    return labels


def _labels_array(values: pa.Array) -> np.ndarray:
    """Arrow values as labels: numbers, or class names as text."""
    named = _values(values)
    return named if named.dtype != object else labels_array(named.tolist())


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# --- nested layout: one row per sequence ---------------------------------------------------------


def _is_list(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def _nested(
    path: Path,
    fmt: str,
    data: pa.Table,
    options: TableOptions,
    lists: list[str],
    first_row: int = 0,
    part: PartOfWhole | None = None,
) -> Dataset:
    """``data``: the rows from row ``first_row`` on; ``part``: it is a part of the table."""
    import pyarrow.compute as pc

    names = data.column_names
    name = options.sequence_column
    if name is None:
        if len(lists) > 1:
            raise UnreadableInput(
                f"several list columns could hold the sequences: {_list(lists)}",
                path=str(path),
                hint="choose one with --sequence-column COL",
            )
        name = lists[0]
    if not _is_list(data.schema.field(name).type):
        raise UsageError(
            f"the column {name!r} holds {data.schema.field(name).type}, not lists",
            path=str(path),
            hint="--sequence-column names a column of lists (one sequence per row)",
        )
    taken = {name}
    label_column = options.label_column or _guess(names, LABEL_NAMES, taken)
    notes = [f"nested format: one sequence per row, from the list column {name!r}"]
    if label_column is not None and options.label_column is None:
        notes.append(f"labels from the column {label_column!r} (guessed from its name)")
    labels = None
    if label_column is not None:
        labels = _labels_array(data.column(label_column).combine_chunks())
    column = data.column(name).combine_chunks()
    ids = None
    id_column = options.id_column or _guess(names, ID_NAMES, taken | {label_column or ""})
    if id_column is not None:
        ids = _values(data.column(id_column).combine_chunks())

    unused = [n for n in names if n not in {name, label_column, id_column}]
    if unused:
        notes.append(f"columns {_list(unused)} are not used (labels: --label-column COL)")
    regular = _regular(column)
    if (
        regular is not None
        and part is not None
        and (part.transposed or part.features not in (None, regular[0].shape[1]))
    ):
        regular = None  # read as the whole is
    if regular is None:  # nulls, ragged widths or non-numbers: the exact path locates them
        where = (lambda i: _row(i + first_row)) if first_row else _row
        dataset = from_python(path, fmt, column.to_pylist(), labels, where, part=part)
        if part is not None:
            part.exact = True
        return _with(dataset, notes=tuple(notes), ids=ids, table=options)
    values, dtype = regular
    lengths = _numpy(pc.list_value_length(column)).astype(np.int64)
    if part is not None:
        part.counted(lengths, values.shape[1])
    if values.shape[1] == 1 and not _is_list(column.type.value_type):
        notes.append("timesteps are bare numbers: read as 1 feature")
    return Dataset(
        str(path),
        fmt,
        Ragged(values, lengths),
        labels=labels,
        notes=tuple(notes),
        dtype=dtype,
        ids=ids,
        table=options if options.given() else None,
    )


def _regular(column: pa.Array) -> tuple[np.ndarray, str] | None:
    """``(values, dtype)`` when every sequence, timestep and value is there and numeric."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        return None
    inner = column.flatten()
    kind = inner.type
    if _is_list(kind):
        if inner.null_count:
            return None
        widths = _numpy(pc.list_value_length(inner))
        if len(widths) and (widths.min() != widths.max() or widths[0] == 0):
            return None
        numbers = inner.flatten()
        features = int(widths[0]) if len(widths) else 1
    else:
        numbers, features = inner, 1
    kind = numbers.type
    if numbers.null_count or not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return None
    array = _numpy(numbers)
    values = array if array.dtype.kind == "f" else array.astype(np.float64)
    return values.reshape(-1, features), str(array.dtype)


def _with(dataset: Dataset, **changes: Any) -> Dataset:
    from dataclasses import replace

    if changes.get("table") is not None and not changes["table"].given():
        changes["table"] = None
    return replace(dataset, **changes)
