"""Padding speed and memory on every input a user has, each beside its anchor.

Three inputs (fixed seed), each padded by its anchor and by lstmprep in this process:

1. a list of arrays: 200,000 float32 arrays of 1-99 timesteps x 4 features, "post" padded
   to the longest (the README's first row);
2. token ids: 100,000 lists of 5-399 Python ints, maxlen 200 (Keras's defaults otherwise);
3. nested lists as `json.load` gives them: 20,000 lists of 10-199 timesteps of 8 floats,
   "post" padded.

The anchor is keras.utils.pad_sequences (dtype "int32" for the token ids, "float32"
otherwise: what lstmprep's dtype=None infers); for the arrays also
tf.RaggedTensor.from_row_lengths(...).to_tensor() and lstmprep's own pad_ragged on the
ragged batch. The floor is writing a fresh array of the output's size once
(np.full: allocation and page faults included). lstmprep's pad_sequences runs with its C
module and without it (as on a machine without a compiler). Timings: rounds in which every
contender runs once, best of the rounds (the machine is shared: its load moves the figures).
Peak memory: tracemalloc's peak while one call runs (numpy reports its buffers to it).

Targets (printed PASS/FAIL; the script always exits 0): arrays within 1.2x the floor and
peak memory <= output + 10%; token ids and nested lists >= 3x Keras, with the C module and
without it; every result equal to Keras's, dtype included.

What bounds each path, measured beside it: for the arrays, reading the input's bytes once
(`values.sum()`: the copy must read them, the floor does not); for Python numbers without C,
merely iterating over the numbers (`deque(chain(...), maxlen=0)`: no conversion at all) and
converting them alone, from one flat list, with `np.fromiter` (the fastest C loop over Python
numbers measured; the no-C path packs them with `struct`, which is faster on lists of lists).

Run: python benchmarks/bench_pad.py [--scale 1.0] [--rounds 5] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import time
import tracemalloc
from collections.abc import Callable, Iterator
from itertools import chain

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from lstmprep import padding
from lstmprep.padding import pad_ragged, pad_sequences
from lstmprep.ragged import Ragged


@contextlib.contextmanager
def without_c() -> Iterator[None]:
    """lstmprep.padding as on a machine without a compiler (what LSTMPREP_NO_C=1 gives)."""
    saved, padding._padcore = padding._padcore, None
    try:
        yield
    finally:
        padding._padcore = saved


def no_c(fn: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        with without_c():
            return fn()

    return call


def arrays_input(n: int, rng) -> tuple[list[np.ndarray], Ragged]:
    lengths = rng.integers(1, 100, n).astype(np.int64)
    values = rng.standard_normal((int(lengths.sum()), 4), dtype=np.float32)
    ragged = Ragged(values, lengths)
    return np.split(values, ragged.offsets[1:-1]), ragged


def token_input(n: int, rng) -> list[list[int]]:
    return [rng.integers(1, 30_000, int(k)).tolist() for k in rng.integers(5, 400, n)]


def nested_input(n: int, rng) -> list[list[list[float]]]:
    return [np.round(rng.normal(size=(int(k), 8)), 4).tolist() for k in rng.integers(10, 200, n)]


def iterate_only(numbers) -> None:
    """Touches every number once, converting none: the least any Python-level path costs."""
    collections.deque(numbers, maxlen=0)


def convert_only(numbers: list, dtype) -> np.ndarray:
    """The numbers, already in one flat list, converted by `np.fromiter` alone (no
    truncation, checks or padding): the fastest C loop over Python numbers measured here
    (`struct`, `array.fromlist` and `np.array` take longer on a flat list)."""
    return np.fromiter(numbers, dtype, len(numbers))


#: the clock: wall time, or with --clock cpu this process's CPU time (all its threads), which
#: moves less with the load of a shared machine
CLOCK = time.perf_counter


def timed_rounds(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = CLOCK()
            result = fn()
            best[name] = min(best[name], CLOCK() - start)
            del result
    return best


def peak_memory(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    title: str,
    contenders: dict[str, Callable[[], object]],
    anchor: str,
    floor: str,
    memory: list[str],
    rounds: int,
) -> dict[str, float]:
    seconds = timed_rounds(contenders, rounds)
    peaks = {name: peak_memory(contenders[name]) for name in memory}
    print(f"\n{title}  (best of {rounds} rounds)")
    print(f"  {'':40} {'seconds':>8} {'vs keras':>9} {'x floor':>8} {'peak MB':>8}")
    for name, s in seconds.items():
        peak = f"{peaks[name] / 1e6:8.0f}" if name in peaks else ""
        print(f"  {name:40} {s:8.3f} {seconds[anchor] / s:8.2f}x {s / seconds[floor]:7.2f}x {peak}")
    return {**seconds, **{f"peak {name}": float(p) for name, p in peaks.items()}}


def no_c_targets(what: str, s: dict[str, float]) -> list[tuple[str, bool, str]]:
    keras = s["keras.utils.pad_sequences (anchor)"]
    ratio, no_c_ratio = (
        keras / s["lstmprep pad_sequences"],
        keras / s["lstmprep pad_sequences, no C"],
    )
    bound = keras / min(v for k, v in s.items() if k.startswith("bound: iterating"))
    return [
        (f"{what}: >= 3x keras", ratio >= 3, f"{ratio:.1f}x"),
        (
            f"{what}, no C: >= 3x keras",
            no_c_ratio >= 3,
            f"{no_c_ratio:.1f}x (merely iterating the numbers: {bound:.1f}x)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="input sizes times this")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: this process's CPU time (steadier on a loaded machine; sums threads)",
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    import tensorflow as tf
    from keras.utils import pad_sequences as keras_pad

    rng = np.random.default_rng(0)
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"clock: {args.clock} time")
    targets: list[tuple[str, bool, str]] = []

    # 1. a list of arrays ---------------------------------------------------------------
    arrays, ragged = arrays_input(int(200_000 * args.scale), rng)
    expected = keras_pad(arrays, padding="post", dtype="float32")
    shape, out_bytes = expected.shape, expected.nbytes
    equal = same(pad_sequences(arrays, padding="post"), expected)
    with without_c():
        equal &= same(pad_sequences(arrays, padding="post"), expected)
    equal &= same(pad_ragged(ragged).x, expected)
    del expected
    values, lengths = ragged.values, ragged.lengths
    s = report(
        f"1. list of {len(arrays):,} float32 arrays of 1-99 x 4, padding 'post' -> {shape}",
        {
            "keras.utils.pad_sequences (anchor)": lambda: keras_pad(
                arrays, padding="post", dtype="float32"
            ),
            "tf.RaggedTensor ... .to_tensor()": lambda: tf.RaggedTensor.from_row_lengths(
                values, lengths
            ).to_tensor(),
            "floor: np.full(output shape)": lambda: np.full(shape, 1.0, np.float32),
            "bound: reading the input once (sum)": lambda: values.sum(),
            "lstmprep pad_sequences": lambda: pad_sequences(arrays, padding="post"),
            "lstmprep pad_sequences, no C": no_c(lambda: pad_sequences(arrays, padding="post")),
            "lstmprep pad_ragged (ragged input)": lambda: pad_ragged(ragged),
        },
        "keras.utils.pad_sequences (anchor)",
        "floor: np.full(output shape)",
        ["keras.utils.pad_sequences (anchor)", "lstmprep pad_sequences"],
        args.rounds,
    )
    ours, floor = s["lstmprep pad_sequences"], s["floor: np.full(output shape)"]
    read = s["bound: reading the input once (sum)"]
    targets += [
        (
            "arrays: within 1.2x the floor",
            ours <= 1.2 * floor,
            f"{ours / floor:.2f}x (floor + reading the input: {(floor + read) / floor:.2f}x)",
        ),
        (
            "arrays: peak memory <= output + 10%",
            s["peak lstmprep pad_sequences"] <= 1.1 * out_bytes,
            f"{s['peak lstmprep pad_sequences'] / out_bytes:.2f}x the output",
        ),
        ("arrays: equal to keras", equal, ""),
    ]

    # 2. token ids ----------------------------------------------------------------------
    tokens = token_input(int(100_000 * args.scale), rng)
    expected = keras_pad(tokens, maxlen=200)
    equal = same(pad_sequences(tokens, maxlen=200), expected)
    equal &= same(pad_sequences(tokens, maxlen=200, dtype="int32"), expected)
    with without_c():
        equal &= same(pad_sequences(tokens, maxlen=200), expected)
    shape = expected.shape
    del expected
    kept_tokens = [t[-200:] for t in tokens]
    flat_tokens = list(chain.from_iterable(kept_tokens))
    s = report(
        f"2. {len(tokens):,} lists of 5-399 Python ints (token ids), maxlen 200 -> {shape}",
        {
            "keras.utils.pad_sequences (anchor)": lambda: keras_pad(tokens, maxlen=200),
            "floor: np.full(output shape)": lambda: np.full(shape, 1, np.int32),
            "lstmprep pad_sequences": lambda: pad_sequences(tokens, maxlen=200),
            "lstmprep pad_sequences, no C": no_c(lambda: pad_sequences(tokens, maxlen=200)),
            "bound: iterating the kept ints only": lambda: iterate_only(
                chain.from_iterable(kept_tokens)
            ),
            "bound: converting the kept ints only": lambda: convert_only(flat_tokens, np.int32),
        },
        "keras.utils.pad_sequences (anchor)",
        "floor: np.full(output shape)",
        ["keras.utils.pad_sequences (anchor)", "lstmprep pad_sequences"],
        args.rounds,
    )
    targets += no_c_targets("token ids", s)
    targets += [("token ids: equal to keras (int32)", equal, "")]

    # 3. nested lists of floats ---------------------------------------------------------
    nested = nested_input(int(20_000 * args.scale), rng)
    expected = keras_pad(nested, padding="post", dtype="float32")
    equal = same(pad_sequences(nested, padding="post"), expected)
    with without_c():
        equal &= same(pad_sequences(nested, padding="post"), expected)
    shape = expected.shape
    del expected
    flat_floats = list(chain.from_iterable(chain.from_iterable(nested)))
    s = report(
        f"3. {len(nested):,} nested lists of 10-199 x 8 floats (json.load's) -> {shape}",
        {
            "keras.utils.pad_sequences (anchor)": lambda: keras_pad(
                nested, padding="post", dtype="float32"
            ),
            "floor: np.full(output shape)": lambda: np.full(shape, 1.0, np.float32),
            "lstmprep pad_sequences": lambda: pad_sequences(nested, padding="post"),
            "lstmprep pad_sequences, no C": no_c(lambda: pad_sequences(nested, padding="post")),
            "bound: iterating the floats only": lambda: iterate_only(
                chain.from_iterable(chain.from_iterable(nested))
            ),
            "bound: converting the floats only": lambda: convert_only(flat_floats, np.float32),
        },
        "keras.utils.pad_sequences (anchor)",
        "floor: np.full(output shape)",
        ["keras.utils.pad_sequences (anchor)", "lstmprep pad_sequences"],
        args.rounds,
    )
    targets += no_c_targets("nested lists", s)
    targets += [("nested lists: equal to keras (float32)", equal, "")]

    print(f"\nload average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("targets")
    for label, ok, got in targets:
        print(f"  {verdict(ok)}  {label:42} {got}")


if __name__ == "__main__":
    main()
