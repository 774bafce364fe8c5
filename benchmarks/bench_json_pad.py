"""End to end, as a user runs it: a ~145 MB JSON file → padded .npz.

The anchor is the script a user writes today: json.load, keras.utils.pad_sequences
(dtype="float32"), np.savez. lstmprep is `pad_file`, the library call behind
`lstmprep pad big.json -o big.npz`, run in the same process on the same file.
Target: lstmprep at least 3x faster end to end.

Run: python benchmarks/bench_json_pad.py [--sequences 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from lstmprep.pipeline import pad_file


def make_input(path: Path, sequences: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("[")
        for i in range(sequences):
            steps = np.round(rng.normal(size=(int(rng.integers(10, 200)), 8)), 4)
            f.write(("," if i else "") + json.dumps(steps.tolist()))
        f.write("]")


def anchor(source: Path, output: Path) -> np.ndarray:
    from keras.utils import pad_sequences

    with open(source) as f:
        sequences = json.load(f)
    x = pad_sequences(sequences, padding="post", dtype="float32")
    np.savez(output, x=x)
    return x


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="folder to keep the input in between runs")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="lstmprep-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"big-{args.sequences}.json"
    if not source.exists():
        print(f"writing {source} …", flush=True)
        make_input(source, args.sequences)
    print(
        f"input: {source.name}, {source.stat().st_size / 1e6:.0f} MB, "
        f"{args.sequences:,} sequences x 10–199 x 8"
    )

    import keras  # noqa: F401  (imported once, outside the timings)

    out_anchor, out_ours = folder / "anchor.npz", folder / "lstmprep.npz"
    t_anchor = best_of(args.repeats, lambda: anchor(source, out_anchor))
    t_ours = best_of(args.repeats, lambda: pad_file(source, out_ours, force=True))
    x_anchor = np.load(out_anchor)["x"]
    x_ours = np.load(out_ours)["x"]
    same = x_anchor.shape == x_ours.shape and np.array_equal(x_anchor, x_ours)

    ratio = t_anchor / t_ours
    print()
    print(f"{'json.load + keras pad_sequences + np.savez':<46} {t_anchor:8.2f} s")
    print(f"{'lstmprep pad_file (lstmprep pad)':<46} {t_ours:8.2f} s")
    print(f"{'speed-up':<46} {ratio:8.1f} x   target >= 3x: {'PASS' if ratio >= 3 else 'FAIL'}")
    print(f"{'same tensor as keras':<46} {'yes' if same else 'NO'}")
    if not args.keep:
        for path in (source, out_anchor, out_ours):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
