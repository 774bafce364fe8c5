"""The paths without the C modules: LSTMPREP_NO_C, msgspec with json's results, plain JSON.

`make test` runs the padding, reader and fastjson tests a second time with LSTMPREP_NO_C=1,
as on a machine without a compiler; these tests check what that path adds of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lstmprep import fastjson
from lstmprep.readers import read
from lstmprep.readers.json_text import load_json

CHECK = (
    "from lstmprep import fastjson, padding; print(fastjson.AVAILABLE, padding._padcore is None)"
)


def test_lstmprep_no_c_turns_both_modules_off():
    env = {**os.environ, "LSTMPREP_NO_C": "1"}
    done = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["False", "True"], done.stderr


TRICKY = [
    "[1e400, -1e400, -0, -0.0, 5e-324, 2.2250738585072011e-308, 0.1, 1.7976931348623157e308]",
    "[123456789012345678901234567890, 18446744073709551616, -9223372036854775809]",
    "[1" + "0" * 5000 + "]",  # json's parse_int fallback: a float
    '{"a": 1, "a": [2]}',
    '["\\ud800", "\\u00e9", "\\n"]',
    "[NaN, Infinity, -Infinity]",
    "[12345678901234567.5e-3, 9007199254740993, 0.30000000000000004]",
    "[true, false, null, {}, []]",
]


@pytest.mark.parametrize("text", TRICKY)
def test_load_json_gives_what_json_gives(text):
    expected = json.loads(text, parse_int=lambda t: int(t) if len(t) < 4000 else float(t))
    assert repr(load_json(text.encode(), "x.json")) == repr(expected)


def test_load_json_floats_bit_for_bit():
    rng = np.random.default_rng(5)
    floats = np.concatenate([rng.normal(size=500) * 10.0 ** rng.integers(-300, 300, 500)])
    text = "[" + ", ".join(f"{x:.{rng.integers(1, 18)}e}" for x in floats) + "]"
    assert np.array(load_json(text, "x.json")).tobytes() == np.array(json.loads(text)).tobytes()


PLAIN = [
    [[[1, 2.5], [3e2, -0.0]], [], [[1e400, 9007199254740993]]],
    [[1, 2, 3], [4.5], []],
    [[[1, 2], [3]], [[4, 5]]],  # features differ: the exact walk reports it
    [[1, [2]], [[3, 4]]],  # bare numbers and lists mixed
    [[[[1]]]],  # too deep
]


@pytest.mark.parametrize("value", PLAIN)
@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_plain_json_without_the_scanner_reads_as_with_it(value, suffix, write, monkeypatch):
    path = write(f"data{suffix}", value)
    fast = read(path)
    monkeypatch.setattr(fastjson, "_fastjson", None)
    exact = read(path)
    assert fast.ragged.values.tobytes() == exact.ragged.values.tobytes()
    assert fast.ragged.values.shape == exact.ragged.values.shape
    assert fast.ragged.lengths.tolist() == exact.ragged.lengths.tolist()
    assert [p.message for p in fast.problems] == [p.message for p in exact.problems]
