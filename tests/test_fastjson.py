"""lstmprep.fastjson: the numeric JSON scanner gives what json.loads gives, or None.

Results are compared bit for bit with the exact path, ``json.loads`` then ``float()`` of
each number: :func:`exact_number` of every token (``float(token)``, except that an integer
token is json's int: ``-0`` is ``0.0``, and one too large for a float is not handled). What
it accepts is compared with what ``json`` accepts plus the shape rules (:func:`oracle`).
"""

from __future__ import annotations

import json
import math
import mmap
import os
import shutil
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmprep
from lstmprep import fastjson
from lstmprep.fastjson import NotHandled, NumericScan, scan_numeric, scan_numeric_or_reason
from lstmprep.readers import json_reader

needs_c = pytest.mark.skipif(not fastjson.AVAILABLE, reason="the C scanner is not built")


@pytest.fixture
def scan():
    if not fastjson.AVAILABLE:
        pytest.skip("the C scanner is not built")
    return scan_numeric


class Rejected(Exception):
    pass


def exact_int(token: str) -> float:
    """What the exact path makes of an integer token: json's int, then float()."""
    try:
        return float(int(token))
    except (OverflowError, ValueError):  # too large for a float, or for int(): not handled
        raise Rejected(token) from None


def exact_number(token: str) -> float:
    """float() of what json.loads gives for a number token."""
    return float(token) if any(c in token for c in ".eE") else exact_int(token)


def reference(doc: str | bytes, jsonl: bool = False):
    """(values, lengths, univariate) the slow way: json.loads, then float() of every number."""
    text = doc.decode() if isinstance(doc, bytes) else doc
    if jsonl:
        lines = [line for line in text.split("\n") if line.strip()]
        seqs = [json.loads(line, parse_int=exact_int) for line in lines]
    else:
        seqs = json.loads(text, parse_int=exact_int)
    steps = [t for s in seqs for t in s]
    univariate = not any(isinstance(t, list) for t in steps)
    features = 1 if univariate else len(steps[0])
    flat = [x for t in steps for x in ([t] if univariate else t)]
    values = np.array(flat, dtype=np.float64).reshape(-1, features)
    return values, np.array([len(s) for s in seqs], dtype=np.int64), univariate


def assert_same(result: NumericScan | None, expected) -> None:
    assert isinstance(result, NumericScan), result
    values, lengths, univariate = expected
    assert result.values.dtype == np.float64 and result.lengths.dtype == np.int64
    assert result.values.shape == values.shape
    np.testing.assert_array_equal(result.values.view(np.uint64), values.view(np.uint64))
    np.testing.assert_array_equal(result.lengths, lengths)
    assert result.univariate is univariate


def b(text: str) -> bytes:
    return text.encode()


# --- documents it handles ---------------------------------------------------------------

VALID = [
    "[]",
    "[[]]",
    "[[], [], []]",
    "[[1]]",
    "[[1, 2, 3], [4], [], [5, 6]]",
    "[[[1]]]",
    "[[[1, 2], [3, 4]], [[5, 6]]]",
    "[[], [[1, 2, 3]], [], [[4, 5, 6], [7, 8, 9]], []]",
    "[[0, -0, 0.0, -0.0, 1e5, 1E+5, 1e-5, 12.5e-3, 0e0, -0E-0, 10, 100.25]]",
    "[[123456789012345678901234567890, -1.5e300, 1e400, -1e400, 1e-400, 5e-324]]",
    "[[0.1, 0.2, 0.30000000000000004, 9007199254740993, 1.7976931348623157e308]]",
    " \t\r\n[ \r\n[ [ 1 ,\t2 ] , [3,4]\r\n ] ,\n[] ]\r\n\t ",
    "[[[1,2,3,4,5,6,7,8]],[[9,10,11,12,13,14,15,16],[17,18,19,20,21,22,23,24]]]",
    json.dumps([[[0.1, -2.5], [3e-7, 4]], [[5, 6]]], indent=2),
    json.dumps([[1, 2], [3]], indent="\t"),
    json.dumps([[[1.0], [2.0]]], separators=(",", ":")),
]


@pytest.mark.parametrize("doc", VALID)
def test_handled_documents_match_json(scan, doc):
    assert_same(scan(b(doc)), reference(doc))


@pytest.mark.parametrize(
    "doc",
    [
        "[[1, 2]]\n[[3, 4]]\n",
        "[[1, 2]]\n[[3, 4]]",
        "\n\n[1]\r\n  \r\n[2, 3]\r\n",
        "[]\n[]\n",
        "",
        "\n \t\r\n",
        "  [ [1.5 , 2 ] ] \t \n[ ]",
        "[1e400]\n[-0]\n[5e-324]\n",
    ],
)
def test_jsonl_documents_match_json(scan, doc):
    assert_same(scan(b(doc), jsonl=True), reference(doc, jsonl=True))


def test_univariate_and_empty_documents(scan):
    assert scan(b"[[1, 2], [3]]").univariate
    assert not scan(b"[[[1], [2]], [[3]]]").univariate
    nothing = scan(b"[[], []]")
    assert nothing.values.shape == (0, 1) and nothing.univariate
    assert nothing.lengths.tolist() == [0, 0]
    empty = scan(b"[]")
    assert empty.values.shape == (0, 1) and empty.lengths.shape == (0,)


def test_end_offset(scan):
    assert scan(b"[[1]]").end == 5
    assert scan(b"  [[1]]  \n").end == 7  # just past the closing bracket
    assert scan(b"[[1]]\n[[2]]\n", jsonl=True).end == 12


def test_start_and_stop_at_end(scan):
    doc = b'{"sequences": [[[1, 2]], [[3, 4], [5, 6]]], "labels": [1, 0]}'
    start = doc.index(b"[")
    result = scan(doc, start=start, stop_at_end=True)
    assert_same(result, reference(doc[start : result.end]))
    assert doc[result.end :] == b', "labels": [1, 0]}'
    assert scan(doc, start=start) is None  # without stop_at_end the rest must be whitespace
    assert scan(doc, start=start - 1, stop_at_end=True).end == result.end  # leading space
    assert scan(b"xx[[1]]", start=2).lengths.tolist() == [1]
    assert scan(b"[[1]] [[2, 3]]", start=5, stop_at_end=True).lengths.tolist() == [2]
    assert scan(b"[[1]]", start=5) is None  # nothing left to scan
    jsonl = b'garbage"\n[1]\n[2, 3]\n'
    assert scan(jsonl, start=jsonl.index(b"\n"), jsonl=True).lengths.tolist() == [1, 2]


def test_stop_at_end_ignores_anything_after(scan):
    result = scan(b'[[1]]"not json at all', stop_at_end=True)
    assert result.end == 5 and result.values.tolist() == [[1.0]]


def test_values_are_writable_views_of_the_scanner_output(scan):
    result = scan(b"[[[1, 2], [3, 4]]]")
    assert result.values.flags.writeable and not result.values.flags.owndata
    result.values[0, 0] = 7.0
    assert result.to_ragged()[0].tolist() == [[7.0, 2.0], [3.0, 4.0]]
    assert result.n_features == 2


@pytest.mark.parametrize(
    "wrap", [bytes, bytearray, memoryview, lambda d: memoryview(b"xx" + d)[2:]]
)
def test_buffer_types(scan, wrap):
    assert scan(wrap(b"[[1, 2], [3]]")).values.ravel().tolist() == [1.0, 2.0, 3.0]


def test_mmap(scan, tmp_path):
    doc = json.dumps([[[i, -i / 3] for i in range(n)] for n in range(50)]).encode()
    path = tmp_path / "seqs.json"
    path.write_bytes(doc)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        result = scan(m)
        assert_same(result, reference(doc))
        del result  # release the buffer before the mmap closes


def test_large_document_grows_buffers(scan):
    rng = np.random.default_rng(7)
    seqs = [rng.normal(size=(int(rng.integers(0, 60)), 3)).tolist() for _ in range(400)]
    seqs[200][:2] = [[1.0000000000000000000000001, 5e-324, 1e-320]] * 2  # slow-path numbers
    doc = json.dumps(seqs)
    assert len(doc) > 1 << 16  # scanned without the GIL
    assert_same(scan(b(doc)), reference(doc))


def test_threads_scan_concurrently(scan):
    doc = json.dumps([[[0.1 * i, 1.0000000000000000000000001]] * 50 for i in range(400)])
    expected = reference(doc)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(scan(b(doc)))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for result in results:
        assert_same(result, expected)


# --- documents it leaves to the exact path -----------------------------------------------

NOT_HANDLED = [
    # not numbers
    '[["1"]]',
    "[[true]]",
    "[[false]]",
    "[[null]]",
    "[[NaN]]",
    "[[Infinity]]",
    "[[-Infinity]]",
    "[[[1, NaN]]]",
    '[[{"x": 1}]]',
    "{}",
    '{"sequences": [[1]]}',
    # shape
    "[[[[1]]]]",
    "[[[1, [2]]]]",
    "[[1, [2]]]",
    "[[[1], 2]]",
    "[[1], [[2]]]",
    "[[[1]], [2]]",
    "[[[1, 2], [3]]]",
    "[[[1, 2]], [[3]]]",
    "[[[1]], [[2, 3]]]",
    "[[[]]]",
    "[[[1], []]]",
    "[1]",
    "[[1], 2]",
    "1",
    "",
    "   ",
    "[",
    "[[1]",
    "[[1, 2]",
    "[[[1, 2]]",
    # commas
    "[[1,]]",
    "[[1],]",
    "[[[1,]]]",
    "[[[1],]]",
    "[,[1]]",
    "[[,1]]",
    "[[1,,2]]",
    "[[1 2]]",
    "[[1][2]]",
    "[[[1][2]]]",
    "[[[1] [2]]]",
    # numbers outside the JSON grammar
    "[[01]]",
    "[[-01]]",
    "[[00]]",
    "[[.5]]",
    "[[5.]]",
    "[[-.5]]",
    "[[+1]]",
    "[[1e]]",
    "[[1e+]]",
    "[[1E-]]",
    "[[--1]]",
    "[[-]]",
    "[[1.5.5]]",
    "[[1e5e5]]",
    "[[1e5.5]]",
    "[[1.e5]]",
    "[[0x10]]",
    "[[1_000]]",
    "[[1-2]]",
    "[[e5]]",
    "[[- 1]]",
    # around the document
    "[[1]] x",
    "[[1]][]",
    "[[1]],",
    "[[1]]]",
    "[[1]]\x00",
    "\ufeff[[1]]",
    "\u00a0[[1]]",
    "\f[[1]]",
    "[[1]\f]",
    "[[1]]\v",
    "[[1\u2028]]",
]


@pytest.mark.parametrize("doc", NOT_HANDLED)
def test_not_handled(scan, doc):
    assert scan(b(doc)) is None


@pytest.mark.parametrize(
    "doc",
    [
        "[1,\n2]",
        "[1\n]",
        "[[1]\n]",
        "[1]\n[2] [3]\n",
        "[1] [2]",
        "[1][2]",
        "[1],\n[2]",
        "[1]\n,[2]",
        "1\n",
        "[1]\n2\n",
        "[1]\n{}\n",
        "[1,\r2]",
        "[1]\r[2]",
        "[1]]\n",
        "]\n[1]",
        "[[1]]\n[2]\n",
        "[[1, 2]]\n[[3]]\n",
        "[1]\nx",
        "[[[1]]]\n",
        "[1",
        '["a"]',
    ],
)
def test_jsonl_not_handled(scan, doc):
    assert scan(b(doc), jsonl=True) is None


@needs_c
def test_reason_and_offset():
    doc = b'[[1, 2], [3, "four"]]'
    reason = scan_numeric_or_reason(doc)
    assert isinstance(reason, NotHandled)
    assert reason.offset == doc.index(b'"') and "string" in reason.reason
    assert str(reason).endswith(f"(byte {reason.offset})")
    start = scan_numeric_or_reason(b"[[1, 2]]  x")
    assert start.offset == 10 and "after" in start.reason


@pytest.mark.parametrize("built", [True, False])
def test_bad_arguments(built, monkeypatch):
    if built and not fastjson.AVAILABLE:
        pytest.skip("the C scanner is not built")
    if not built:
        monkeypatch.setattr(fastjson, "_fastjson", None)
    for not_a_buffer in ("[[1]]", None, 12, [[1.0]]):
        with pytest.raises(TypeError):
            scan_numeric(not_a_buffer)
    with pytest.raises(ValueError):
        scan_numeric(b"[[1]]", jsonl=True, stop_at_end=True)
    if built:
        with pytest.raises(ValueError):
            scan_numeric(b"[[1]]", start=6)
        with pytest.raises(ValueError):
            scan_numeric(b"[[1]]", start=-1)


def test_without_the_c_scanner_everything_takes_the_exact_path(monkeypatch):
    monkeypatch.setattr(fastjson, "_fastjson", None)
    assert scan_numeric(b"[[1, 2]]") is None
    assert "not built" in scan_numeric_or_reason(b"[[1, 2]]").reason


@pytest.mark.skipif(fastjson.AVAILABLE, reason="built")
@pytest.mark.skipif(os.environ.get("LSTMPREP_NO_C") == "1", reason="LSTMPREP_NO_C=1")
def test_c_scanner_is_built():
    """Where a C compiler is present, the install must have built the scanner."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: the exact path does all the work")
    pytest.fail("lstmprep._fastjson did not build: reinstall with pip -v and read why")


# --- numbers: bit for bit what json.loads then float() gives ------------------------------

TRICKY = [
    "0",
    "-0",
    "-0.0",
    "0e-999",
    "-0e999999999999999999999",
    "0.1",
    "0.30000000000000004",
    "1e23",
    "8.98846567431158e307",
    "9007199254740992",
    "9007199254740993",
    "9007199254740995",
    "9007199254740992.5",
    "90071992547409930e-1",
    "18014398509481985",
    "1.7976931348623157e308",
    "1.7976931348623158e308",
    "1.7976931348623159e308",
    "1e309",
    "1e99999999999999999999",
    "-1e400",
    "2.2250738585072011e-308",
    "2.2250738585072012e-308",
    "2.2250738585072014e-308",
    "4.9e-324",
    "5e-324",
    "2.4703282292062327e-324",
    "2.4703282292062328e-324",
    "1e-400",
    "123456789012345678901234567890e-10",
    "1234567890123456789",
    "12345678901234567890",
    "0.000000000000000000000000000001",
    "7.038531e-26",
    "89255.0e-22",
    "1448997445238699",
    "0.8216181435011584",
    "-1.303157231604361",
    "1.2345678901234567e-05",
    "9999999999999999999e-21",
    "1e22",
    "1e-22",
    "123e30",
    "9007199254740993e22",
    "2.22507385850720113605740979670913197593481954635164564e-308",
    "0." + "1" * 400,
    "1" + "0" * 308,
    "1" + "0" * 330 + ".0",
    str(int(1.7976931348623157e308)),  # the largest float, as an integer
    str(2**1024 - 2**970 - 1),  # rounds down to it
    "-" + str(2**1024 - 2**970 - 1),
    "0." + "0" * 400 + "1e400",
    "100000000000000000000000000000000000000000e-40",
    "1." + "0" * 30 + "1",
]


@needs_c
def test_tricky_numbers_are_what_json_then_float_give():
    doc = ("[[" + ", ".join(TRICKY) + "]]").encode()
    got = scan_numeric(doc).values.ravel()
    expected = np.array([exact_number(t) for t in TRICKY])
    for token, x, y in zip(TRICKY, got, expected, strict=True):
        assert x.tobytes() == y.tobytes(), (token, x, y)


@needs_c
def test_integer_minus_zero_is_zero_as_json_gives_it():
    """json.loads("-0") is the int 0 (float 0.0); "-0.0" and "-0e0" are floats, -0.0."""
    tokens = ["-0", "-0.0", "-0e0", "-0E+0", "0", "-0.000", "-0e-5"]
    values = scan_numeric(("[[" + ", ".join(tokens) + "]]").encode()).values.ravel()
    signs = [math.copysign(1.0, x) for x in values]
    assert signs == [math.copysign(1.0, float(json.loads(t))) for t in tokens]
    assert signs == [1.0, -1.0, -1.0, -1.0, 1.0, -1.0, -1.0]


@needs_c
@pytest.mark.parametrize("token", [str(2**1024 - 2**970), "-" + "1" + "0" * 330, "9" * 5000])
def test_integers_too_large_for_a_float_take_the_exact_path(token):
    """float(int) raises OverflowError on the exact path, so the scanner leaves them to it."""
    result = scan_numeric_or_reason(f"[[1, {token}, 2]]".encode())
    assert isinstance(result, NotHandled)
    assert result.reason == "an integer too large for a float" and result.offset == 5
    # as a float token, the same digits are simply float(token): infinity
    assert np.isinf(scan_numeric(f"[[{token}.0]]".encode()).values).all()


def _number_token(data) -> str:
    """A JSON number token built from random parts, often near a rounding boundary."""
    kind = data.draw(st.sampled_from(["repr", "digits", "g"]))
    if kind == "repr":
        return repr(data.draw(st.floats(allow_nan=False, allow_infinity=False)))
    if kind == "g":
        x = data.draw(st.floats(allow_nan=False, allow_infinity=False))
        return f"{x:.{data.draw(st.integers(15, 20))}g}"
    digits = data.draw(st.text("0123456789", min_size=1, max_size=25))
    digits = digits.lstrip("0") or "0"
    point = data.draw(st.integers(0, len(digits)))
    token = digits[:point] or "0"
    if point < len(digits):
        token += "." + digits[point:]
    if data.draw(st.booleans()):
        exponent = data.draw(st.integers(-350, 350))
        plus = "+" if exponent >= 0 and data.draw(st.booleans()) else ""
        token += data.draw(st.sampled_from(["e", "E"])) + plus + str(exponent)
    return data.draw(st.sampled_from(["", "-"])) + token


@needs_c
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_number_tokens_are_what_json_then_float_give(data):
    tokens = [_number_token(data) for _ in range(data.draw(st.integers(1, 40)))]
    doc = ("[[" + ",".join(tokens) + "]]").encode()
    expected = np.array([exact_number(t) for t in tokens]).view(np.uint64)
    got = scan_numeric(doc).values.ravel().view(np.uint64)
    np.testing.assert_array_equal(got, expected)


# --- properties -------------------------------------------------------------------------

numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**30), 10**30)


@st.composite
def documents(draw):
    """Random sequences: all bare numbers, or all lists of the same count."""
    features = draw(st.none() | st.integers(1, 4))
    step = numbers if features is None else st.lists(numbers, min_size=features, max_size=features)
    return draw(st.lists(st.lists(step, max_size=6), max_size=6))


LAYOUTS = st.sampled_from(
    [
        {},
        {"separators": (",", ":")},
        {"separators": (" , ", " : ")},
        {"indent": 0},
        {"indent": 2},
        {"indent": "\t"},
        {"indent": "\r\n"},
        {"indent": " \t"},
    ]
)


@needs_c
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seqs=documents(), layout=LAYOUTS, pad=st.sampled_from(["", " ", "\n", "\r\n\t "]))
def test_property_json_dumps_scans_like_json_loads(seqs, layout, pad):
    doc = pad + json.dumps(seqs, **layout) + pad
    assert_same(scan_numeric(b(doc)), reference(doc))


@needs_c
@settings(max_examples=80, deadline=None)
@given(
    seqs=documents(),
    newline=st.sampled_from(["\n", "\r\n"]),
    blanks=st.lists(st.sampled_from(["", " ", "\t", "\r"]), max_size=3),
)
def test_property_jsonl_scans_like_json_loads(seqs, newline, blanks):
    lines = [json.dumps(s) for s in seqs]
    doc = "".join(line + newline + newline.join(blanks) for line in lines)
    assert_same(scan_numeric(b(doc), jsonl=True), reference(doc, jsonl=True))


@needs_c
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seqs=documents().filter(lambda seqs: all(seqs)),
    labels=st.lists(st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3)), min_size=1),
    extra=st.booleans(),
)
def test_property_lines_of_objects_read_like_the_exact_path(
    seqs, labels, extra, tmp_path, monkeypatch
):
    """``{"sequence": …, "label": …}`` lines: sequences scanned in C, labels by msgspec; the
    same dataset and report as ``json`` and the exact walk give."""
    items = []
    for i, seq in enumerate(seqs):
        item = {"id": {"k": [i, "x"]}} if extra else {}
        item["sequence"] = seq
        if labels[i % len(labels)] is not None:
            item["label"] = labels[i % len(labels)]
        items.append(json.dumps(item))
    path = tmp_path / "objects.jsonl"
    path.write_text("\n".join(items) + "\n")
    bare = "".join(json.dumps(seq) + "\n" for seq in seqs).encode()
    taken = json_reader._scan_lines_of_objects(path.read_bytes())[0] is not None
    assert taken == (bool(seqs) and scan_numeric(bare, jsonl=True) is not None)  # as bare lines
    fast = lstmprep.read(path)
    report = lstmprep.inspect(path).to_dict()
    with monkeypatch.context() as m:  # undone before the next example
        m.setattr(json_reader, "_scan_lines_of_objects", lambda data: (None, None))
        exact = lstmprep.read(path)
        exact_report = lstmprep.inspect(path).to_dict()
    assert np.array_equal(fast.ragged.values, exact.ragged.values)
    assert fast.ragged.values.tobytes() == exact.ragged.values.tobytes()
    assert fast.ragged.lengths.tolist() == exact.ragged.lengths.tolist()
    assert (fast.labels is None) == (exact.labels is None)
    if fast.labels is not None:
        assert fast.labels.tolist() == exact.labels.tolist()
    assert [(p["code"], p["count"]) for p in report["problems"]] == [
        (p["code"], p["count"]) for p in exact_report["problems"]
    ]


def _reject(*_):
    raise Rejected


_DECODER = json.JSONDecoder(parse_int=exact_int, parse_constant=_reject, object_hook=_reject)
_JSON_WS = " \t\n\r"


def _shape(seqs) -> tuple[np.ndarray, np.ndarray, bool]:
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
        if not all(type(x) is float for x in row):  # parse_int=exact_int: numbers are floats
            raise Rejected
    values = np.array(rows, dtype=np.float64).reshape(-1, features)
    return values, np.array([len(s) for s in seqs], dtype=np.int64), univariate


def oracle(doc: bytes, start: int, jsonl: bool, stop_at_end: bool):
    """What the scanner must give, decided by json: ((values, lengths, univariate), end) or None.

    latin-1 maps bytes to characters one to one, so offsets agree; non-ASCII characters
    are JSON only inside strings, which the shape rules reject anyway.
    """
    text = doc.decode("latin-1")
    try:
        if jsonl:
            seqs = []
            for line in text[start:].split("\n"):
                line = line.strip(" \t\r")  # around a sequence; inside it only " \t"
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


json_bytes = st.text(alphabet='[],0123456789.eE+- \n\r\t"ntf{}:', max_size=60).map(b)


@needs_c
@settings(max_examples=500, deadline=None)
@given(
    doc=st.binary(max_size=60) | json_bytes | documents().map(lambda s: b(json.dumps(s))),
    jsonl=st.booleans(),
    stop_at_end=st.booleans(),
    data=st.data(),
)
def test_property_accepts_exactly_what_json_and_the_shape_rules_accept(
    doc, jsonl, stop_at_end, data
):
    if len(doc) and data.draw(st.booleans()):  # damage a document in one place
        i = data.draw(st.integers(0, len(doc) - 1))
        doc = doc[:i] + data.draw(st.binary(max_size=2)) + doc[i + 1 :]
    start = data.draw(st.integers(0, len(doc)))
    stop_at_end = stop_at_end and not jsonl
    result = scan_numeric_or_reason(doc, start=start, jsonl=jsonl, stop_at_end=stop_at_end)
    expected = oracle(doc, start, jsonl, stop_at_end)
    if expected is None:
        assert isinstance(result, NotHandled), (doc, result)
        assert start <= result.offset <= len(doc)
    else:
        assert isinstance(result, NumericScan), (doc, result)
        assert_same(result, expected[0])
        assert result.end == expected[1]


# --- no leaks ---------------------------------------------------------------------------


@needs_c
def test_c_scanner_does_not_leak():
    good = b(json.dumps([[[0.1, 2.0, 1e-320]] * 30] * 40))
    slow = b("[[" + ",".join(["0." + "1" * 300] * 20) + "]]")
    failing = good[:-10] + b'"x"]]'

    scanner = fastjson._fastjson
    assert scanner is not None

    def run() -> None:
        for doc in (good, slow, failing):
            for _ in range(50):
                scanner.scan(doc)

    run()  # warm up caches and free lists
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 10_000
