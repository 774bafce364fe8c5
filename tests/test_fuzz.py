"""Property-based tests: the readers on random input, the padding core on random ragged data.

Whatever the bytes, reading and inspecting a file either works or raises one of lstmprep's own
errors (an ``LstmprepError``): never a ``ValueError`` from deep inside numpy, never a crash.
And ``pad_ragged`` keeps its invariants on any ragged batch: the shape, the lengths kept,
where the padding goes, and every kept value in its place and order.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from bad_inputs import _npy_header
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lstmprep
from lstmprep import padding
from lstmprep.errors import LstmprepError
from lstmprep.options import PadOptions
from lstmprep.padding import pad_ragged
from lstmprep.pipeline import pad_file
from lstmprep.ragged import Ragged
from lstmprep.readers import read_labels

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def read_everything(path: Path, *, labels: bool = False) -> None:
    """inspect the file (read + every check), pad it when it has no errors; as labels too."""
    try:
        report = lstmprep.inspect(path)
    except LstmprepError:
        report = None
    if report is not None and not report.errors:
        out = path.with_name("padded.npz")
        out.unlink(missing_ok=True)
        with contextlib.suppress(LstmprepError):
            pad_file(path, out, PadOptions(maxlen="p90"))
    if labels:
        with contextlib.suppress(LstmprepError):
            read_labels(path)


# --- random JSON ---------------------------------------------------------------------------------

#: Stands for an integer with more digits than ``int()`` converts (json.dumps cannot write it).
HUGE = "<huge integer>"


def dumps(value: object) -> str:
    return json.dumps(value).replace(json.dumps(HUGE), "-" + "9" * 5000)


numbers = (
    st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, -0.0, 1e308, 5e-324, 2**63, -(2**63) - 1, 10**400, HUGE])
)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=4)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=20,
)
timestep = (
    numbers | st.lists(numbers, max_size=4) | st.lists(numbers | anything, max_size=4) | anything
)
sequence = st.lists(numbers, max_size=6) | st.lists(timestep, max_size=6) | anything
sequences = st.lists(sequence, max_size=6)
documents = (
    sequences
    | st.fixed_dictionaries(
        {"sequences": sequences}, optional={"labels": anything | st.lists(scalars)}
    )
    | anything
)


@FUZZ
@given(document=documents)
def test_random_json_raises_only_lstmprep_errors(document, folder):
    path = folder / "data.json"
    path.write_text(dumps(document))
    read_everything(path, labels=True)


@FUZZ
@given(
    lines=st.lists(
        sequence | st.fixed_dictionaries({"sequence": sequence}, optional={"label": scalars}),
        max_size=5,
    )
)
def test_random_jsonl_raises_only_lstmprep_errors(lines, folder):
    path = folder / "data.jsonl"
    path.write_text("".join(dumps(line) + "\n" for line in lines))
    read_everything(path, labels=True)


@FUZZ
@given(depth=st.integers(0, 3000), inner=sequences, suffix=st.sampled_from([".json", ".jsonl"]))
def test_deep_json_raises_only_lstmprep_errors(depth, inner, suffix, folder):
    path = folder / f"deep{suffix}"
    path.write_text("[" * depth + dumps(inner) + "]" * depth)
    read_everything(path)


json_text = st.text(alphabet='[]{},:"0123456789.-+eE nultrfasNIiy\n\\', max_size=80)


@FUZZ
@given(text=json_text, suffix=st.sampled_from([".json", ".jsonl"]))
def test_random_json_text_raises_only_lstmprep_errors(text, suffix, folder):
    path = folder / f"text{suffix}"
    path.write_text(text)
    read_everything(path, labels=True)


@FUZZ
@given(document=sequences, data=st.data())
def test_mangled_json_raises_only_lstmprep_errors(document, data, folder):
    """Valid sequence JSON with a few bytes cut, replaced or inserted."""
    raw = bytearray(dumps(document).encode())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["cut", "replace", "insert"]))
        byte = data.draw(st.sampled_from(list(b'[]{},:"0-.eEn \n\xff\x00')))
        if action == "cut":
            del raw[at : at + data.draw(st.integers(1, 5))]
        elif action == "replace" and at < len(raw):
            raw[at] = byte
        else:
            raw.insert(at, byte)
    path = folder / "mangled.json"
    path.write_bytes(bytes(raw))
    read_everything(path)


@FUZZ
@given(
    raw=st.binary(max_size=200), suffix=st.sampled_from([".json", ".jsonl", ".npy", ".npz", ".ts"])
)
def test_random_bytes_raise_only_lstmprep_errors(raw, suffix, folder):
    path = folder / f"bytes{suffix}"
    path.write_bytes(raw)
    read_everything(path, labels=suffix != ".npz")


# --- random .ts (UEA/UCR) text --------------------------------------------------------------------

ts_header = st.lists(
    st.sampled_from(
        [
            "@problemName X",
            "@univariate true",
            "@univariate false",
            "@dimensions 2",
            "@dimensions 0",
            "@classLabel true a b",
            "@classLabel false",
            "@classLabel true",
            "@targetLabel true",
            "@timeStamps false",
            "@missing true",
            "@seriesLength 3",
            "@odd tag",
            "# a comment",
        ]
    ),
    max_size=6,
)
ts_body = st.text(alphabet="0123456789.,:?-+eE ab\n\t@#%xnaNinf", max_size=200)


@FUZZ
@given(header=ts_header, data_line=st.booleans(), body=ts_body)
def test_random_ts_raises_only_lstmprep_errors(header, data_line, body, folder):
    path = folder / "data.ts"
    path.write_text("\n".join([*header, *(["@data"] if data_line else [])]) + "\n" + body)
    read_everything(path)


# --- random .npy headers and bytes ---------------------------------------------------------------

GOOD_DESCRS = ["<f8", "<f4", "<f2", ">f8", "<i8", "|i1", "|u1", "|b1", "<i2", ">u4", "<c16"]
ODD_DESCRS = [
    "<U3",
    "<U0",
    "|S2",
    "|S0",
    "|V4",
    "|V0",
    "|O",
    "<M8[D]",
    "<m8[s]",
    "<q99",
    "",
    "f8",
    "float64",
    [("a", "<f8"), ("b", "<i4")],
    [("a", "<f8", (2,))],
    [],
    "<f8 ",
    "<f0",
]
descrs = st.sampled_from(GOOD_DESCRS) | st.sampled_from(ODD_DESCRS) | st.text(max_size=5)
small_dims = st.lists(st.integers(0, 5), max_size=4)
odd_dims = st.lists(
    st.integers(0, 5)
    | st.integers(-3, -1)
    | st.just(True)
    | st.sampled_from([2**31, 2**63, 10**30]),
    max_size=4,
)
odd_shapes = st.sampled_from(["[2, 2]", "3", "(2.5,)", "None", "(1, 'a')"])


def sometimes(draw, odds: int) -> bool:
    """True once in ``odds`` draws."""
    return draw(st.integers(0, odds - 1)) == 0


@st.composite
def npy_files(draw) -> bytes:
    """A .npy file: mostly a valid header with one thing wrong, and some bytes after it."""
    descr = draw(st.sampled_from(GOOD_DESCRS)) if draw(st.booleans()) else draw(descrs)
    shape = tuple(draw(small_dims if draw(st.booleans()) else odd_dims))
    shape_text = draw(odd_shapes) if sometimes(draw, 10) else repr(shape)
    fortran = (
        draw(st.sampled_from(["0", "None"])) if sometimes(draw, 10) else repr(draw(st.booleans()))
    )
    entries = [f"'descr': {descr!r}", f"'fortran_order': {fortran}", f"'shape': {shape_text}"]
    entries = draw(st.permutations(entries))
    if sometimes(draw, 10):
        entries = entries[: draw(st.integers(0, 2))]
    if sometimes(draw, 10):
        entries.append("'extra': 1")
    header = "{" + ", ".join(entries) + ", }"
    if sometimes(draw, 10):
        header = draw(st.text(max_size=40))
    version = (
        (1, 0) if draw(st.booleans()) else draw(st.sampled_from([(2, 0), (3, 0), (0, 0), (4, 1)]))
    )
    data = _npy_header(header.encode("utf-8", "replace"), version)
    try:  # usually the right number of bytes for the header's shape and dtype
        size = math.prod(shape) * np.dtype(descr).itemsize
    except (TypeError, ValueError, OverflowError, SyntaxError):  # numpy parses "1," with ast
        size = None
    if size is not None and 0 <= size <= 4096 and not sometimes(draw, 3):
        data += draw(st.binary(min_size=size, max_size=size))
    else:
        data += draw(st.binary(max_size=64))
    if sometimes(draw, 8):
        data = data[: draw(st.integers(0, len(data)))]
    return data


def npz(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@settings(FUZZ, max_examples=400)
@given(data=npy_files())
def test_random_npy_raises_only_lstmprep_errors(data, folder):
    path = folder / "data.npy"
    path.write_bytes(data)
    read_everything(path, labels=True)


@FUZZ
@given(
    member=npy_files(),
    name=st.sampled_from(["x", "values", "lengths", "arr_0", "y", "meta"]),
    others=st.dictionaries(
        st.sampled_from(["x", "values", "lengths", "arr_0", "arr_1", "y", "meta"]),
        st.sampled_from(
            [
                np.zeros((2, 3, 1)),
                np.ones((4, 2)),
                np.array([2, 2]),
                np.arange(3),
                np.array([1.5, -1]),
                np.array("{}"),
            ]
        ),
        max_size=3,
    ),
    compression=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
)
def test_random_npz_raises_only_lstmprep_errors(member, name, others, compression, folder):
    members = {}
    for other, array in others.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        members[f"{other}.npy"] = buffer.getvalue()
    members[f"{name}.npy"] = member
    path = folder / "data.npz"
    path.write_bytes(npz(members, compression))
    read_everything(path)


# --- pad_ragged ----------------------------------------------------------------------------------


@st.composite
def ragged_batches(draw) -> tuple[Ragged, str]:
    """A ragged batch of distinct, ordered values, and a dtype that holds them exactly."""
    lengths = np.array(draw(st.lists(st.integers(0, 12), max_size=10)), dtype=np.int64)
    features = draw(st.integers(1, 4))
    dtype = draw(
        st.sampled_from(["float64", "float32", "float16", "int64", "int32", "int16", "uint8"])
    )
    total = int(lengths.sum())
    values = np.arange(1, total * features + 1, dtype=np.float64).reshape(total, features)
    if np.dtype(dtype).kind == "f" and draw(st.booleans()):
        values = values / 8 - draw(st.integers(0, 100))  # fractions and negatives, still exact
    if dtype == "uint8":
        values %= 256
    source = draw(st.sampled_from(["float64", "float32", dtype]))
    return Ragged(values.astype(source), lengths), dtype


@settings(max_examples=300, deadline=None)
@given(
    batch=ragged_batches(),
    maxlen=st.none() | st.integers(0, 15),
    padding_side=st.sampled_from(["pre", "post"]),
    truncating=st.sampled_from(["pre", "post"]),
    value=st.sampled_from([0, -1, 7, 0.5, float("nan")]),
    out=st.booleans(),
    small_blocks=st.booleans(),
)
def test_pad_ragged_invariants(batch, maxlen, padding_side, truncating, value, out, small_blocks):
    ragged, dtype = batch
    kind = np.dtype(dtype).kind
    assume(kind == "f" or float(value).is_integer())
    assume(not (dtype == "uint8" and value == -1))
    n, features = ragged.n_sequences, ragged.n_features
    width = (int(ragged.lengths.max()) if n else 0) if maxlen is None else maxlen
    given_out = np.full((n, width, features), 99, dtype=dtype) if out else None

    with mock.patch.object(padding, "_BLOCK_BYTES", 64 if small_blocks else padding._BLOCK_BYTES):
        x, kept = pad_ragged(
            ragged,
            maxlen,
            padding=padding_side,
            truncating=truncating,
            value=value,
            dtype=dtype,
            out=given_out,
        )

    assert x.shape == (n, width, features) and x.dtype == np.dtype(dtype)
    if out:
        assert x is given_out
    np.testing.assert_array_equal(kept, np.minimum(ragged.lengths, width))
    assert kept.dtype == np.int64
    fill = np.array(value).astype(dtype)
    for i, sequence in enumerate(ragged):
        k = int(kept[i])
        real = sequence[len(sequence) - k :] if truncating == "pre" else sequence[:k]
        pad = width - k
        where_real = slice(pad, None) if padding_side == "pre" else slice(0, k)
        where_pad = slice(0, pad) if padding_side == "pre" else slice(k, None)
        # the kept timesteps, in order, cast as astype casts them
        np.testing.assert_array_equal(x[i, where_real], real.astype(dtype))
        # and padding everywhere else
        np.testing.assert_array_equal(x[i, where_pad], np.broadcast_to(fill, (pad, features)))


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 6), max_size=6),
    features=st.integers(1, 3),
    value=st.lists(st.integers(-5, 5), min_size=1, max_size=1)
    | st.lists(st.integers(-5, 5), min_size=3, max_size=3),
)
def test_pad_ragged_value_per_feature(lengths, features, value):
    """One padding value per feature fills each feature's own value; else a UsageError."""
    lengths_array = np.array(lengths, dtype=np.int64)
    total = int(lengths_array.sum())
    ragged = Ragged(
        np.arange(total * features, dtype=np.float64).reshape(total, features), lengths_array
    )
    fill = value[0] if len(value) == 1 else value
    if len(value) not in (1, features):
        with pytest.raises(LstmprepError):
            pad_ragged(ragged, 7, value=fill)
        return
    x, kept = pad_ragged(ragged, 7, value=fill, dtype="float64")
    for i, k in enumerate(kept):
        np.testing.assert_array_equal(
            x[i, k:], np.broadcast_to(np.array(fill, dtype=float), (7 - k, features))
        )


# --- random tables -------------------------------------------------------------------------------

cells = st.sampled_from(["", "1", "2", "-0.5", "nan", "inf", "x", "1e400", "2024-01-01", '"a,b"'])
csv_rows = st.lists(st.lists(cells, min_size=1, max_size=5), max_size=8)


@FUZZ
@given(
    header=st.lists(st.sampled_from(["id", "t", "a", "b", "label", "1", ""]), max_size=5),
    rows=csv_rows,
    tail=st.sampled_from(["", "\n", "1,", '"']),
)
def test_random_csv_raises_only_lstmprep_errors(header, rows, tail, folder):
    path = folder / "data.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + tail)
    read_everything(path, labels=True)


@FUZZ
@given(
    ids=st.lists(st.integers(0, 3) | st.none(), min_size=1, max_size=8),
    data=st.data(),
)
def test_random_parquet_raises_only_lstmprep_errors(ids, data, folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(ids)
    values = st.floats(allow_nan=True, allow_infinity=True) | st.none()
    lists = st.lists(st.lists(values, max_size=3) | st.none(), max_size=4) | st.none()
    columns = {
        "id": ids,
        "t": data.draw(st.lists(st.integers(-2, 2) | st.none(), min_size=n, max_size=n)),
        "a": data.draw(st.lists(values, min_size=n, max_size=n)),
        "label": data.draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n, max_size=n)),
    }
    if data.draw(st.booleans()):
        columns["seq"] = data.draw(st.lists(lists, min_size=n, max_size=n))
    path = folder / "data.parquet"
    pq.write_table(pa.table(columns), path)
    read_everything(path)
