"""The C modules defend themselves (issue #8): hostile arguments raise, they never crash.

``_padcore.copy_rows`` is called directly, with arguments no Python caller should pass:
lengths whose int64 sum wraps around to ``len(values)``, negative lengths, ``n * maxlen``
past 2**64, a huge ``maxlen``, rows of zero bytes, buffers of the wrong size. The calls run
in a subprocess, so a crash (SIGSEGV, SIGFPE) fails the tests of the case that crashed and
those after it instead of killing pytest; the subprocess prints each exception's type,
which must be the expected one.

The scanner allocates in proportion to what it has parsed, not to the size of the input:
checked with tracemalloc, which sees the bytearrays it grows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

from lstmprep import fastjson

try:
    from lstmprep import _padcore
except ImportError:  # built without a C compiler
    _padcore = None

needs_padcore = pytest.mark.skipif(_padcore is None, reason="lstmprep._padcore is not built")
needs_scanner = pytest.mark.skipif(not fastjson.AVAILABLE, reason="the C scanner is not built")

I64 = np.int64
BIG = 2**63 - 1

#: name -> (arguments of copy_rows as Python source, the exception it must raise or "None")
HOSTILE: dict[str, tuple[str, str]] = {
    # two lengths of 2**63 - 1 beside small ones: the int64 sum wraps around to 1 row
    "wrap-around lengths": (
        f"np.zeros((3, 2, 1)), np.zeros((1, 1)), np.array([{BIG}, {BIG}, 3], I64), 2, 0, 1",
        "OverflowError",
    ),
    "wrap-around lengths, post truncating": (
        f"np.zeros((3, 2, 1)), np.zeros((1, 1)), np.array([{BIG}, {BIG}, 3], I64), 2, 1, 0",
        "OverflowError",
    ),
    "lengths summing to exactly 2**63": (
        f"np.zeros((2, 1, 1)), np.zeros((1, 1)), np.array([{2**62}, {2**62}], I64), 1, 0, 0",
        "OverflowError",
    ),
    "negative length": (
        "np.zeros((2, 2, 1)), np.zeros((1, 1)), np.array([-1, 2], I64), 2, 0, 0",
        "ValueError",
    ),
    "negative length that balances the sum": (
        "np.zeros((2, 2, 1)), np.zeros((3, 1)), np.array([5, -2], I64), 2, 0, 1",
        "ValueError",
    ),
    "most negative length": (
        f"np.zeros((2, 2, 1)), np.zeros((1, 1)), np.array([{-(2**63)}, 1], I64), 2, 0, 0",
        "ValueError",
    ),
    # 4 * 2**62 wraps to 0: the old code divided out.len by it (SIGFPE)
    "n * maxlen wraps to zero": (
        f"np.zeros(0), np.zeros(0), np.zeros(4, I64), {2**62}, 0, 0",
        "OverflowError",
    ),
    "n * maxlen overflows": (
        f"np.zeros(0), np.zeros(0), np.zeros(3, I64), {2**62}, 0, 0",
        "OverflowError",
    ),
    "maxlen huge": (
        f"np.zeros((1, 1, 1)), np.zeros((1, 1)), np.array([1], I64), {BIG}, 0, 0",
        "ValueError",
    ),
    "maxlen huge with a huge length": (
        f"np.zeros((1, 1, 1)), np.zeros((1, 1)), np.array([{BIG}], I64), {BIG}, 1, 1",
        "ValueError",
    ),
    "negative maxlen": (
        "np.zeros((1, 1, 1)), np.zeros((1, 1)), np.array([1], I64), -1, 0, 0",
        "ValueError",
    ),
    "zero-byte rows with values": (
        "np.zeros((2, 3, 0)), np.zeros((1, 1)), np.array([1, 0], I64), 3, 0, 0",
        "ValueError",
    ),
    "zero-byte rows with huge lengths": (
        f"np.zeros((2, 3, 0)), np.zeros((0, 0)), np.array([{BIG}, {BIG}], I64), 3, 0, 1",
        "OverflowError",
    ),
    "zero-byte rows, nothing to copy": (
        f"np.zeros((2, 3, 0)), np.zeros((0, 0)), np.array([{2**40}, 5], I64), 3, 1, 1",
        "None",
    ),
    "sum(lengths) rows overflow in bytes": (
        f"np.zeros((2, 1, 1)), np.zeros((1, 1)), np.array([{2**61}, {2**61}], I64), 1, 0, 0",
        "OverflowError",
    ),
    "values too short": (
        "np.zeros((2, 2, 1)), np.zeros((3, 1)), np.array([2, 2], I64), 2, 0, 0",
        "ValueError",
    ),
    "values too long": (
        "np.zeros((2, 2, 1)), np.zeros((5, 1)), np.array([2, 2], I64), 2, 0, 0",
        "ValueError",
    ),
    "values of another row size": (
        "np.zeros((2, 2, 2)), np.zeros((4, 1)), np.array([2, 2], I64), 2, 0, 0",
        "ValueError",
    ),
    "out not a whole number of rows": (
        "bytearray(33), np.zeros((4, 1)), np.array([2, 2], I64), 2, 0, 0",
        "ValueError",
    ),
    "out too short for maxlen": (
        "np.zeros((2, 1, 1)), np.zeros((4, 1)), np.array([2, 2], I64), 2, 0, 0",
        "ValueError",
    ),
    "lengths not whole int64s": (
        "np.zeros((1, 1, 1)), np.zeros((1, 1)), b'\\x01' * 9, 1, 0, 0",
        "ValueError",
    ),
    "out and values overlap": (
        "shared, shared[8:], np.array([1], I64), 1, 0, 0",
        "ValueError",
    ),
    "read-only out": (
        "np.zeros((1, 1, 1)).tobytes(), np.zeros((1, 1)), np.array([1], I64), 1, 0, 0",
        "TypeError",
    ),
    "maxlen past Py_ssize_t": (
        f"np.zeros((1, 1, 1)), np.zeros((1, 1)), np.array([1], I64), {2**64}, 0, 0",
        "OverflowError",
    ),
}

#: name -> (a call of copy_arrays or fill_lists as Python source, the exception or "None")
HOSTILE_LISTS: dict[str, tuple[str, str]] = {
    "copy_arrays: out not an array": (
        "_padcore.copy_arrays(bytearray(8), [np.zeros(2)], 0, 0)",
        "TypeError",
    ),
    "copy_arrays: read-only out": (
        "_padcore.copy_arrays(readonly, [np.zeros((1, 1))], 0, 0)",
        "ValueError",
    ),
    "copy_arrays: out not contiguous": (
        "_padcore.copy_arrays(np.zeros((2, 4, 1))[:, ::2], [np.zeros((1, 1))] * 2, 0, 0)",
        "ValueError",
    ),
    "copy_arrays: out of one dimension": (
        "_padcore.copy_arrays(np.zeros(3), [np.zeros(1)] * 3, 0, 0)",
        "ValueError",
    ),
    "copy_arrays: more sequences than rows": (
        "_padcore.copy_arrays(np.zeros((1, 2, 1)), [np.zeros((1, 1))] * 2, 0, 0)",
        "ValueError",
    ),
    "copy_arrays: sequences a generator": (
        "_padcore.copy_arrays(np.zeros((1, 2, 1)), (a for a in [np.zeros((1, 1))]), 0, 0)",
        "TypeError",
    ),
    "copy_arrays: a sequence that is out itself": (
        "_padcore.copy_arrays(shared_out, [shared_out[0]], 1, 1)",
        "ValueError",
    ),
    "copy_arrays: a sequence longer than maxlen, truncated": (
        "_padcore.copy_arrays(np.zeros((1, 2, 3)), [np.ones((5, 3))], 1, 0)",
        "None",
    ),
    "copy_arrays: zero-byte rows": (
        "_padcore.copy_arrays(np.zeros((2, 3, 0)), [np.zeros((9, 0)), np.zeros((1, 0))], 0, 1)",
        "None",
    ),
    "copy_arrays: an array of another dtype": (
        "_padcore.copy_arrays(np.zeros((1, 2, 1)), [np.zeros((1, 1), np.float32)], 0, 0)",
        "(3, 0)",
    ),
    "copy_arrays: a byte-swapped array": (
        "_padcore.copy_arrays(np.zeros((1, 2, 1)), [np.zeros((1, 1), '>f8')], 0, 0)",
        "(3, 0)",
    ),
    "copy_arrays: an array of another sample shape": (
        "_padcore.copy_arrays(np.zeros((1, 2, 2)), [np.zeros((1, 3))], 0, 0)",
        "(3, 0)",
    ),
    "copy_arrays: a list among the arrays": (
        "_padcore.copy_arrays(np.zeros((2, 2, 1)), [np.zeros((1, 1)), [[1.0]]], 0, 0)",
        "(3, 1)",
    ),
    "longest: sequences a generator": ("_padcore.longest(iter([[1]]))", "TypeError"),
    "longest: a 0-d array among the sequences": (
        "_padcore.longest([np.zeros(3), np.float64(1.0), np.zeros(())])",
        "None",
    ),
    "longest: arrays, lists, tuples, empty ones": (
        "_padcore.longest([np.zeros((4, 2)), [1, 2], (), np.zeros(0), (1,) * 9])",
        "9",
    ),
    "fill_lists: out of an unsupported dtype": (
        "_padcore.fill_lists(np.zeros((1, 2), np.int8), [[1]], 0, 0, 0)",
        "TypeError",
    ),
    "fill_lists: byte-swapped out": (
        "_padcore.fill_lists(np.zeros((1, 2), '>i4'), [[1]], 0, 0, 0)",
        "ValueError",
    ),
    "fill_lists: unaligned out": (
        "_padcore.fill_lists(unaligned, [[1.0, 2.0]], 0, 0, 0)",
        "ValueError",
    ),
    "fill_lists: out of four dimensions": (
        "_padcore.fill_lists(np.zeros((1, 2, 1, 1)), [[[1.0]]], 0, 0, 0)",
        "ValueError",
    ),
    "fill_lists: timesteps of no features": (
        "_padcore.fill_lists(np.zeros((1, 2, 0)), [[[]]], 0, 0, 0)",
        "ValueError",
    ),
    "fill_lists: fewer sequences than rows": (
        "_padcore.fill_lists(np.zeros((3, 2)), [[1]], 0, 0, 0)",
        "ValueError",
    ),
    "fill_lists: huge ints and floats into int32": (
        f"_padcore.fill_lists(np.zeros((2, 2), np.int32), [[{2**200}], [1.5]], 0, 0, 0)",
        "(2, 0)",
    ),
    "fill_lists: an int past float64 into float32": (
        f"_padcore.fill_lists(np.zeros((1, 2), np.float32), [[{10**400}]], 0, 0, 0)",
        "(2, 0)",
    ),
    "fill_lists: a timestep with too many features": (
        "_padcore.fill_lists(np.zeros((1, 2, 2)), [[[1.0, 2.0, 3.0]]], 0, 0, 0)",
        "(3, 0)",
    ),
    "fill_lists: bool, None, numpy scalar": (
        "[_padcore.fill_lists(np.zeros((1, 1)), [[v]], 0, 0, 0) for v in (True, None, I64(1))]",
        "[(3, 0), (3, 0), (3, 0)]",
    ),
    "fill_lists: long sequences, maxlen 1, both sides": (
        "_padcore.fill_lists(np.zeros((2, 1)), [list(range(10**5)), (1.5,) * 9], 1, 1, 1)",
        "None",
    ),
}

PRELUDE = """
import numpy as np
from numpy import int64 as I64
from lstmprep import _padcore
shared = bytearray(16)
readonly = np.zeros((1, 2, 1))
readonly.flags.writeable = False
shared_out = np.zeros((1, 4, 2))
unaligned = np.frombuffer(bytearray(17), np.uint8)[1:].view(np.float64).reshape(1, 2)
"""


def run_hostile(
    env: dict[str, str] | None = None, cwd: str | None = None
) -> tuple[dict[str, str], subprocess.CompletedProcess]:
    """Every HOSTILE call of copy_rows in one fresh python: {case: exception type or "None"}.

    Each result is printed (and flushed) as it comes: if the process crashes, the cases
    after the last result have none, and the process's status and stderr say why.
    """
    lines = [PRELUDE, "import sys"]
    for case, (arguments, _) in HOSTILE.items():
        lines.append(
            textwrap.dedent(f"""
            try:
                outcome = str(_padcore.copy_rows({arguments}))
            except Exception as e:
                outcome = type(e).__name__
            print({case!r}, outcome, sep=" -> ", flush=True)
            """)
        )
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )
    outcomes = dict(line.split(" -> ", 1) for line in done.stdout.splitlines() if " -> " in line)
    return outcomes, done


def check_hostile(case: str, outcomes: dict[str, str], done: subprocess.CompletedProcess) -> None:
    assert case in outcomes, (
        f"the subprocess crashed (status {done.returncode}) at or before {case!r}:\n"
        f"{done.stderr[-3000:]}"
    )
    assert outcomes[case] == HOSTILE[case][1], f"{case}: {outcomes[case]}"


@pytest.fixture(scope="module")
def hostile_outcomes():
    return run_hostile()


@needs_padcore
@pytest.mark.parametrize("case", HOSTILE)
def test_copy_rows_refuses_hostile_arguments(case, hostile_outcomes):
    check_hostile(case, *hostile_outcomes)


@needs_padcore
def test_hostile_calls_end_cleanly(hostile_outcomes):
    _, done = hostile_outcomes
    assert done.returncode == 0, f"status {done.returncode}:\n{done.stderr[-3000:]}"


@needs_padcore
def test_hostile_list_calls_in_one_process():
    """copy_arrays and fill_lists: every hostile call raises or declines as it must."""
    lines = [PRELUDE]
    for case, (call, _) in HOSTILE_LISTS.items():
        lines.append(
            f"try:\n    print({case!r}, {call}, sep=' -> ')\n"
            f"except Exception as e:\n    print({case!r}, type(e).__name__, sep=' -> ')"
        )
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"crashed with status {done.returncode}:\n{done.stderr[-3000:]}"
    expected = [f"{case} -> {outcome}" for case, (_, outcome) in HOSTILE_LISTS.items()]
    assert done.stdout.splitlines() == expected


@needs_padcore
def test_copy_rows_messages_name_the_problem():
    with pytest.raises(OverflowError, match=r"lengths overflow.*lengths\[1\]"):
        _padcore.copy_rows(np.zeros((3, 2, 1)), np.zeros((1, 1)), np.array([BIG, BIG, 3]), 2, 0, 1)
    with pytest.raises(ValueError, match=r"lengths\[0\] = -1 is negative"):
        _padcore.copy_rows(np.zeros((2, 2, 1)), np.zeros((1, 1)), np.array([-1, 2]), 2, 0, 0)
    with pytest.raises(OverflowError, match=r"n \* maxlen overflows: 4 sequences"):
        _padcore.copy_rows(np.zeros(0), np.zeros(0), np.zeros(4, I64), 2**62, 0, 0)
    with pytest.raises(ValueError, match="values has 24 bytes, but sum.lengths. = 4 rows"):
        _padcore.copy_rows(np.zeros((2, 2, 1)), np.zeros((3, 1)), np.array([2, 2]), 2, 0, 0)


def reference_copy(out, values, lengths, maxlen, pre_padding, pre_truncating):
    """copy_rows in plain Python: what every accepted call must give."""
    start = 0
    for i, length in enumerate(lengths):
        kept = min(int(length), maxlen)
        first = start + (int(length) - kept if pre_truncating else 0)
        at = maxlen - kept if pre_padding else 0
        out[i, at : at + kept] = values[first : first + kept]
        start += int(length)


@needs_padcore
@pytest.mark.parametrize("pre_padding", [0, 1])
@pytest.mark.parametrize("pre_truncating", [0, 1])
def test_copy_rows_still_copies(pre_padding, pre_truncating):
    lengths = np.array([0, 1, 3, 5, 2], dtype=I64)
    values = np.arange(int(lengths.sum()) * 2, dtype=np.float32).reshape(-1, 2)
    got = np.full((5, 3, 2), -1, dtype=np.float32)
    expected = got.copy()
    _padcore.copy_rows(got, values, lengths, 3, pre_padding, pre_truncating)
    reference_copy(expected, values, lengths, 3, pre_padding, pre_truncating)
    np.testing.assert_array_equal(got, expected)


@needs_padcore
def test_copy_rows_reads_unaligned_lengths():
    lengths = memoryview(b"x" + np.array([1, 2], dtype=I64).tobytes())[1:]
    out = np.zeros((2, 2, 1))
    _padcore.copy_rows(out, np.array([[1.0], [2.0], [3.0]]), lengths, 2, 0, 0)
    assert out[..., 0].tolist() == [[1.0, 0.0], [2.0, 3.0]]


# --- the scanner's memory follows what it parsed -------------------------------------------


def scan_peak(data: bytes, **options) -> tuple[object, int]:
    """The scanner's result for `data` and the peak of what it allocated (tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fastjson.scan_numeric(data, **options)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return result, peak


MB = 2**20
SPACE = 200 * MB


@needs_scanner
@pytest.mark.parametrize(
    "data, options",
    [
        (b" " * SPACE, {}),  # no array at all
        (b"\n" * SPACE, {"jsonl": True}),  # no line with a sequence
        (b"[[1, 2, 3]]" + b" " * SPACE, {}),  # three numbers
        (b'{"sequences": [[1.5], [2]], "labels": "' + b"x" * SPACE + b'"}', {"stop_at_end": True}),
    ],
    ids=["whitespace", "blank lines", "three numbers", "stop_at_end"],
)
def test_scanner_does_not_allocate_for_the_size_of_the_input(data, options):
    start = data.index(b"[") if b"sequences" in data else 0
    result, peak = scan_peak(data, start=start, **options)
    assert result is None or result.values.size <= 3
    assert peak < MB, f"{peak / MB:.0f} MB allocated to scan {len(data) / MB:.0f} MB"


@needs_scanner
def test_scanner_memory_grows_with_the_numbers_parsed():
    """10,000 numbers then 100 MB of whitespace: a few times 80 kB, not 50 MB."""
    numbers = json.dumps([list(range(10_000))]).encode()
    result, peak = scan_peak(numbers + b"\n" * (100 * MB))
    assert result is not None and result.values.size == 10_000
    assert peak < 8 * 10_000 * 8, f"{peak / MB:.1f} MB allocated for 80 kB of values"
