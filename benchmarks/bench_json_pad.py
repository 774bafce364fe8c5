"""End to end, as a user runs it: a ~145 MB JSON file → padded .npz (``--jsonl``: the same
sequences as labelled JSON lines, ``{"sequence": […], "label": 3}`` a line).

The anchor is the script a user writes today: json.load, keras.utils.pad_sequences
(dtype="float32"), np.savez. lstmprep is `pad_file`, the library call behind
`lstmprep pad big.json -o big.npz`, run in the same process on the same file, with its C
modules and without them (as on a machine without a compiler: msgspec parses, garbage
collection paused, numpy pads). Targets: at least 3x faster end to end with C, 2x without.
Rounds in which every contender runs once, best of the rounds (the machine is shared).

Run: python benchmarks/bench_json_pad.py [--sequences 20000] [--keep DIR] [--jsonl]
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

from lstmprep import fastjson, padding
from lstmprep.pipeline import pad_file


def pad_file_without_c(source: Path, output: Path) -> None:
    """pad_file as on a machine without a compiler (what LSTMPREP_NO_C=1 gives)."""
    saved = fastjson._fastjson, padding._padcore
    fastjson._fastjson, padding._padcore = None, None
    try:
        pad_file(source, output, force=True)
    finally:
        fastjson._fastjson, padding._padcore = saved


def make_input(path: Path, sequences: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    lines = path.suffix == ".jsonl"
    with open(path, "w") as f:
        f.write("" if lines else "[")
        for i in range(sequences):
            steps = np.round(rng.normal(size=(int(rng.integers(10, 200)), 8)), 4).tolist()
            if lines:
                f.write(json.dumps({"sequence": steps, "label": int(rng.integers(0, 5))}) + "\n")
            else:
                f.write(("," if i else "") + json.dumps(steps))
        f.write("" if lines else "]")


def anchor(source: Path, output: Path) -> np.ndarray:
    from keras.utils import pad_sequences

    with open(source) as f:
        if source.suffix == ".jsonl":
            items = [json.loads(line) for line in f]
            sequences, y = [i["sequence"] for i in items], np.array([i["label"] for i in items])
        else:
            sequences, y = json.load(f), None
    x = pad_sequences(sequences, padding="post", dtype="float32")
    np.savez(output, x=x) if y is None else np.savez(output, x=x, y=y)
    return x


def timed_rounds(contenders: dict, rounds: int) -> dict[str, float]:
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="folder to keep the input in between runs")
    parser.add_argument("--jsonl", action="store_true", help="labelled JSON lines instead")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="lstmprep-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"big-{args.sequences}.{'jsonl' if args.jsonl else 'json'}"
    if not source.exists():
        print(f"writing {source} …", flush=True)
        make_input(source, args.sequences)
    print(
        f"input: {source.name}, {source.stat().st_size / 1e6:.0f} MB, "
        f"{args.sequences:,} sequences x 10–199 x 8"
    )

    import keras  # noqa: F401  (imported once, outside the timings)

    out_anchor, out_ours, out_no_c = (folder / f"{n}.npz" for n in ("anchor", "ours", "no-c"))
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    seconds = timed_rounds(
        {
            "json + keras pad_sequences + np.savez": lambda: anchor(source, out_anchor),
            "lstmprep pad_file (lstmprep pad)": lambda: pad_file(source, out_ours, force=True),
            "lstmprep pad_file, no C": lambda: pad_file_without_c(source, out_no_c),
        },
        args.repeats,
    )
    x_anchor = np.load(out_anchor)["x"]
    same = all(
        x_anchor.shape == x.shape and np.array_equal(x_anchor, x)
        for x in (np.load(out_ours)["x"], np.load(out_no_c)["x"])
    )
    t_anchor = seconds["json + keras pad_sequences + np.savez"]
    print(f"\nbest of {args.repeats} rounds")
    for name, s in seconds.items():
        print(f"  {name:46} {s:8.2f} s {t_anchor / s:6.1f}x")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ratio = t_anchor / seconds["lstmprep pad_file (lstmprep pad)"]
    ratio_no_c = t_anchor / seconds["lstmprep pad_file, no C"]
    if args.jsonl:  # the targets are the JSON document's (#11); here the figures only
        print(f"  with C {ratio:.1f}x the anchor, without C {ratio_no_c:.1f}x")
    else:
        print(f"  {'PASS' if ratio >= 3 else 'FAIL'}  with C >= 3x the anchor: {ratio:.1f}x")
        print(
            f"  {'PASS' if ratio_no_c >= 2 else 'FAIL'}  without C >= 2x the anchor: "
            f"{ratio_no_c:.1f}x"
        )
    print(f"  {'PASS' if same else 'FAIL'}  same tensor as keras, with C and without")
    if not args.keep:
        for path in (source, out_anchor, out_ours, out_no_c):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
