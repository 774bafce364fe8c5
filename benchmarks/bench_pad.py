"""Padding speed and memory: lstmprep against Keras, TensorFlow and a plain copy.

Input (fixed seed): 200,000 float32 sequences of 1-99 timesteps x 4 features, padded
"post" to the longest. Each contender is timed in this process, best of a few repeats:

- keras.utils.pad_sequences on the list of per-sequence arrays (the anchor),
- tf.RaggedTensor.from_row_lengths(values, lengths).to_tensor(),
- lstmprep.padding.pad_sequences on the same list,
- lstmprep.padding.pad_ragged on the Ragged batch,
- the floor: a plain copy of an array the size of the output.

Targets for pad_ragged: >= 15x faster than Keras, faster than the TF ragged tensor, within
3x of the copy floor, and peak extra memory (tracemalloc) <= 1.3 x (input + output) bytes.
The script is a report: it prints PASS/FAIL per target and always exits 0.

Run: python benchmarks/bench_pad.py [--sequences 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from lstmprep.padding import pad_ragged, pad_sequences
from lstmprep.ragged import Ragged

FEATURES = 4


def make_input(sequences: int, seed: int = 0) -> tuple[list[np.ndarray], Ragged]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 100, sequences).astype(np.int64)
    values = rng.standard_normal((int(lengths.sum()), FEATURES), dtype=np.float32)
    ragged = Ragged(values, lengths)
    return np.split(values, ragged.offsets[1:-1]), ragged


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        del result
    return min(times)


def peak_memory(fn) -> int:
    """Peak bytes allocated while `fn` runs (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import tensorflow as tf
    from keras.utils import pad_sequences as keras_pad

    sequences, ragged = make_input(args.sequences)
    values, lengths = ragged.values, ragged.lengths
    print(
        f"input: {len(sequences):,} float32 sequences of {lengths.min()}-{lengths.max()} "
        f"timesteps x {FEATURES} features ({values.nbytes / 1e6:.0f} MB), padding 'post'"
    )

    expected = keras_pad(sequences, padding="post", dtype="float32")
    ours_list = pad_sequences(sequences, padding="post")
    ours_ragged = pad_ragged(ragged).x
    same = all(
        a.dtype == expected.dtype and np.array_equal(a, expected) for a in (ours_list, ours_ragged)
    )
    print(f"outputs equal to Keras's (shape {expected.shape}, {expected.dtype}): {verdict(same)}")
    out_like = np.ones_like(expected)
    del expected, ours_list, ours_ragged

    contenders = {
        "keras.utils.pad_sequences (anchor)": lambda: keras_pad(
            sequences, padding="post", dtype="float32"
        ),
        "tf.RaggedTensor ... .to_tensor()": lambda: tf.RaggedTensor.from_row_lengths(
            values, lengths
        ).to_tensor(),
        "lstmprep pad_sequences(list)": lambda: pad_sequences(sequences, padding="post"),
        "lstmprep pad_ragged(ragged)": lambda: pad_ragged(ragged),
        "floor: out_like.copy()": out_like.copy,
    }
    seconds = {name: best_of(args.repeats, fn) for name, fn in contenders.items()}
    keras_s, tf_s, list_s, ragged_s, floor_s = seconds.values()

    print(f"\nbest of {args.repeats}, seconds")
    print(f"{'':36} {'seconds':>8} {'vs keras':>9} {'vs tf':>7} {'x floor':>8}")
    for name, s in seconds.items():
        print(f"{name:36} {s:8.3f} {keras_s / s:8.1f}x {tf_s / s:6.2f}x {s / floor_s:7.2f}x")

    in_out = values.nbytes + lengths.nbytes + out_like.nbytes
    ragged_peak = peak_memory(lambda: pad_ragged(ragged))
    list_peak = peak_memory(lambda: pad_sequences(sequences, padding="post"))
    print(f"\npeak traced memory, MB (input + output = {in_out / 1e6:.0f} MB)")
    for name, peak in [("pad_ragged", ragged_peak), ("pad_sequences", list_peak)]:
        print(f"  {name:14} {peak / 1e6:6.0f}  = {peak / in_out:.2f} x (input + output)")

    print("\ntargets for pad_ragged")
    checks = [
        (">= 15x faster than keras", keras_s / ragged_s >= 15, f"{keras_s / ragged_s:.1f}x"),
        ("faster than tf ragged to_tensor", ragged_s < tf_s, f"{tf_s / ragged_s:.1f}x"),
        ("within 3x of the copy floor", ragged_s <= 3 * floor_s, f"{ragged_s / floor_s:.2f}x"),
        (
            "peak memory <= 1.3 x (input + output)",
            ragged_peak <= 1.3 * in_out,
            f"{ragged_peak / in_out:.2f}x",
        ),
        ("outputs equal keras", same, ""),
    ]
    for label, ok, got in checks:
        print(f"  {verdict(ok)}  {label:40} {got}")
    print(
        f"  info  the copy floor itself is {keras_s / floor_s:.1f}x faster than keras here: "
        f"15x needs pad_ragged <= {keras_s / 15:.3f} s = {keras_s / 15 / floor_s:.2f}x the floor"
    )
    print(
        f"  info  pad_sequences on the list is {keras_s / list_s:.1f}x faster than keras "
        f"(no target; np.concatenate of the {len(sequences):,} arrays dominates)"
    )


if __name__ == "__main__":
    main()
