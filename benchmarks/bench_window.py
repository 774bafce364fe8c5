"""Windowing speed and memory: lstmprep.windows against keras.utils.timeseries_dataset_from_array.

Input (fixed seed): one float32 series of 10,000,000 steps x 8 features; windows of 64 steps,
stride 1, target the next step (Keras: targets=data[64:]). That is 9,999,936 windows, 20.5 GB
of output: more than this machine holds, so both sides are iterated into numpy batch by batch
(256 windows), as a training loop takes them, and the batches are dropped:

- the anchor: timeseries_dataset_from_array(...).as_numpy_iterator(),
- lstmprep: windows(...) (views), each batch made contiguous with np.ascontiguousarray,
- the floor: copying the same bytes, batch by batch, from one contiguous buffer to another.

Keras takes about 100 s per million steps here, so by default it runs on the first
--anchor-steps (1,000,000) of the same series and its time is scaled to the whole series
(its cost is linear in the windows); --anchor-steps 10000000 times it on all of it (~20 min).

Memory: the whole output of a --whole-steps (300,000) series is made in each of two child
processes — Keras's batches concatenated, lstmprep's windows made contiguous — and their peak
RSS above the input is compared with the output's size.

Targets: >= 10x faster than Keras, peak memory <= 1.3 x the output's size, outputs equal.
The script is a report: it prints PASS/FAIL per target and always exits 0.

Run: python benchmarks/bench_window.py [--steps 10000000] [--anchor-steps 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from lstmprep.windowing import windows

FEATURES, LENGTH, BATCH = 8, 64, 256


def make_series(steps: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((steps, FEATURES), dtype=np.float32)


def keras_dataset(data: np.ndarray, batch: int = BATCH):
    import keras

    return keras.utils.timeseries_dataset_from_array(
        data, data[LENGTH:], LENGTH, batch_size=batch
    ).as_numpy_iterator()


def keras_batches(data: np.ndarray) -> int:
    count = 0
    for x, _ in keras_dataset(data):
        count += len(x)
    return count


def lstmprep_batches(data: np.ndarray) -> int:
    w = windows(data, LENGTH)
    for i in range(0, len(w), BATCH):
        np.ascontiguousarray(w.x[i : i + BATCH])
        np.ascontiguousarray(w.y[i : i + BATCH])
    return len(w)


def floor_batches(n: int) -> None:
    """The same bytes as lstmprep's batches, copied from a fresh contiguous source each time."""
    block = make_series(BATCH * LENGTH + BATCH)  # one batch of x and y
    target = np.empty_like(block)
    for _ in range(0, n, BATCH):
        np.copyto(target, block)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


# --- peak memory, each in a child process ---------------------------------------------------------


def high_water() -> int:
    """This process's peak RSS in bytes (VmHWM: unlike ru_maxrss, not inherited at fork)."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def child(which: str, steps: int) -> None:
    """Make the whole output in this process; print the peak RSS before and after, and its size."""
    if which == "keras":
        import keras  # noqa: F401  (its runtime is not the output's memory)
    data = make_series(steps)
    before = high_water()
    if which == "keras":
        x = np.concatenate([b[0] for b in keras_dataset(data, 4096)])
    else:
        x = np.ascontiguousarray(windows(data, LENGTH).x)
    print(before, high_water(), x.nbytes)


def peak_rss(which: str, steps: int) -> tuple[int, int, int]:
    """(peak RSS, peak RSS once the input was made, output bytes) of a child making the output."""
    script = f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import bench_window"
    code = f"{script}; bench_window.child({which!r}, {steps})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, peak, nbytes = (int(v) for v in done.stdout.split())
    return peak, before, nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10_000_000)
    parser.add_argument("--anchor-steps", type=int, default=1_000_000)
    parser.add_argument("--whole-steps", type=int, default=300_000)
    args = parser.parse_args()

    data = make_series(args.steps)
    anchor_steps = min(args.anchor_steps, args.steps)
    n = args.steps - LENGTH
    print(
        f"input: one float32 series of {args.steps:,} steps x {FEATURES} features "
        f"({data.nbytes / 1e6:,.0f} MB); windows of {LENGTH}, stride 1, target the next step: "
        f"{n:,} windows, {n * (LENGTH + 1) * FEATURES * 4 / 1e9:,.1f} GB of x and y"
    )

    small = data[:5_000]
    want = [np.concatenate(part) for part in zip(*keras_dataset(small), strict=True)]
    got = windows(small, LENGTH)
    same = np.array_equal(got.x, want[0]) and np.array_equal(got.y, want[1])
    print(f"windows and targets equal Keras's (on the first 5,000 steps): {same}")

    ours = timed(lstmprep_batches, data)
    floor = timed(floor_batches, n)
    anchor = timed(keras_batches, data[:anchor_steps])
    scale = (n / (anchor_steps - LENGTH)) if anchor_steps < args.steps else 1.0
    anchor_all = anchor * scale
    how = f"(on {anchor_steps:,} steps x {scale:.1f})" if scale != 1 else ""

    print(f"\niterated into numpy batches of {BATCH} windows, seconds")
    print(f"{'':56} {'seconds':>9} {'vs keras':>9} {'x floor':>8}")
    rows = [
        (f"keras timeseries_dataset_from_array {how}", anchor_all),
        ("lstmprep windows + ascontiguousarray", ours),
        ("floor: copying the same bytes", floor),
    ]
    for name, s in rows:
        print(f"{name:56} {s:9.2f} {anchor_all / s:8.1f}x {s / floor:7.2f}x")

    print(f"\npeak RSS making the whole output of {args.whole_steps:,} steps (child processes)")
    extra = {}
    for which in ("keras", "lstmprep"):
        peak, before, nbytes = peak_rss(which, args.whole_steps)
        extra[which] = (peak - before) / nbytes
        print(
            f"  {which:9} peak {peak / 1e6:7,.0f} MB, {(peak - before) / 1e6:7,.0f} MB above the "
            f"input = {extra[which]:.2f} x the output ({nbytes / 1e6:,.0f} MB)"
        )

    print("\ntargets")
    checks = [
        (">= 10x faster than keras", anchor_all / ours >= 10, f"{anchor_all / ours:.1f}x"),
        ("peak memory <= 1.3 x the output", extra["lstmprep"] <= 1.3, f"{extra['lstmprep']:.2f}x"),
        ("outputs equal keras", same, ""),
    ]
    for label, ok, value in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {label:40} {value}")


if __name__ == "__main__":
    main()
