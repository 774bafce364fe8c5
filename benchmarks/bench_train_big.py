"""``train`` on pad's output larger than the memory budget: peak RSS and seconds per epoch.

A padded ``.npz`` of about ``--gb`` GB (sequences of 10–199 × 8 float32, binary labels, as
``lstmprep pad`` writes it: ``NpzWriter``, stored members, ``PadMeta``) is written once; then,
each in a child process of its own (peak RSS from ``resource.getrusage(RUSAGE_CHILDREN)`` of a
process that only waits for it):

- the memory-mapped path (``lstmprep.train_file``, as ``lstmprep train`` runs it) with
  ``LSTMPREP_MEMORY_LIMIT`` at ``--budget``;
- the anchor, the in-memory path on the same file (``lstmprep.read`` loads and unpads it, then
  ``lstmprep.train`` pads it again), with no budget;
- the floor: the same training on a file of 1,000 sequences (TensorFlow and the model alone).

    python benchmarks/bench_train_big.py               # 2 GB, 512 MB budget
    python benchmarks/bench_train_big.py --gb 0.25 --budget 64MB
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STEPS, FEATURES = 199, 8
#: Options of every run: a small model and large batches, so that reading counts.
EPOCHS, UNITS, BATCH = 2, 8, 256


def write_padded(path: Path, n: int, seed: int = 0) -> None:
    """``n`` sequences of 10–199 × 8 float32 padded after, labels "a"/"b", as pad writes them."""
    import lstmprep
    from lstmprep.padded_file import NpzWriter, PadMeta

    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, STEPS + 1, size=n)
    labels = np.empty(n, dtype="<U1")
    block = 4096
    with open(path, "wb") as f, NpzWriter(f) as archive:
        with archive.member("x", (n, STEPS, FEATURES), np.float32) as put:
            for start in range(0, n, block):
                within = lengths[start : start + block]
                x = rng.normal(size=(len(within), STEPS, FEATURES)).astype(np.float32)
                x[np.arange(STEPS)[None, :] >= within[:, None]] = 0.0
                sign = np.where(x[:, :5, 0].sum(axis=1) > 0, "b", "a")  # learnable from the start
                labels[start : start + len(within)] = sign
                put(x)
        archive.write("lengths", lengths.astype(np.int64))
        archive.write("y", labels)
        meta = PadMeta(
            maxlen=STEPS, classes=("a", "b"), kind="values", lstmprep=lstmprep.__version__
        )
        archive.write("meta", np.array(meta.to_json()))


def worker(path: str, mode: str) -> None:
    """One training run; prints seconds per epoch (and of the whole run) as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import lstmprep
    from lstmprep.model import Progress

    class Clock(Progress):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.start = 0.0

        def on_epoch_begin(self, epoch: int, steps: int) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
            self.times.append(time.perf_counter() - self.start)

    clock = Clock()
    options = lstmprep.TrainOptions(epochs=EPOCHS, units=UNITS, batch_size=BATCH, seed=0)
    began = time.perf_counter()
    if mode == "memory":  # the anchor: read into memory, padded again
        result = lstmprep.train_model(lstmprep.read(path), options, progress=clock)
    else:
        result = lstmprep.train_file(path, options, progress=clock)
    assert result.ok, result.failure
    print(
        json.dumps(
            {
                "epochs": clock.times,
                "total": time.perf_counter() - began,
                "loss": result.history["loss"][-1],
                "val_accuracy": result.history.get("val_accuracy", [None])[-1],
            }
        )
    )


def measure(path: str, mode: str, budget: str | None) -> None:
    """Run :func:`worker` in a child and print its result with the child's peak RSS."""
    env = dict(os.environ)
    env.pop("LSTMPREP_MEMORY_LIMIT", None)
    if budget:
        env["LSTMPREP_MEMORY_LIMIT"] = budget
    done = subprocess.run(
        [sys.executable, __file__, "--worker", path, mode],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"{mode} run failed ({done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_rss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps(result))


def run(path: Path, mode: str, budget: str | None) -> dict:
    """:func:`measure` in a process of its own, so that RUSAGE_CHILDREN is this run's alone."""
    args = [sys.executable, __file__, "--measure", str(path), mode, budget or ""]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--budget", default="512MB")
    parser.add_argument("--folder", default=None)
    parser.add_argument("--worker", nargs=2)
    parser.add_argument("--measure", nargs=3)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    if args.measure:
        measure(args.measure[0], args.measure[1], args.measure[2] or None)
        return 0

    from lstmprep.memory import parse_size, size_words

    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench_train_big_"))
    folder.mkdir(parents=True, exist_ok=True)
    big, tiny = folder / "big.npz", folder / "tiny.npz"
    n = int(args.gb * 2**30 / (STEPS * FEATURES * 4))
    began = time.perf_counter()
    if not big.exists() or big.stat().st_size < n * STEPS * FEATURES * 4:
        write_padded(big, n)
    write_padded(tiny, 1000)
    size = big.stat().st_size
    print(
        f"{big}: {n:,} sequences of 10–{STEPS} × {FEATURES}, {size_words(size)} "
        f"(written in {time.perf_counter() - began:.0f} s); budget {args.budget} "
        f"({size / parse_size(args.budget):.1f}× smaller than the file); "
        f"{EPOCHS} epochs, --units {UNITS} --batch-size {BATCH}"
    )
    floor = run(tiny, "mapped", args.budget)
    mapped = run(big, "mapped", args.budget)
    memory = run(big, "memory", None)
    mb = 2**20
    print(f"{'run':<44} {'peak RSS':>10} {'s/epoch':>9} {'whole run':>10}")
    for name, r in (
        ("floor: 1,000 sequences (TensorFlow + model)", floor),
        (f"memory-mapped, budget {args.budget}", mapped),
        ("anchor: in memory (read + pad), no budget", memory),
    ):
        epoch = r["epochs"][-1]
        print(f"{name:<44} {r['peak_rss'] / mb:>7,.0f} MB {epoch:>9.1f} {r['total']:>8.1f} s")
    over = (mapped["peak_rss"] - floor["peak_rss"]) / mb
    print(
        f"mapped: {over:,.0f} MB above the floor for a {size / mb:,.0f} MB file "
        f"(budget {parse_size(args.budget) / mb:,.0f} MB: "
        f"{'PASS' if over <= parse_size(args.budget) / mb else 'FAIL'}); "
        f"s/epoch {mapped['epochs'][-1] / memory['epochs'][-1]:.2f}× the in-memory path; "
        f"peak RSS {mapped['peak_rss'] / memory['peak_rss']:.2f}× the in-memory path's"
    )
    same = abs(mapped["loss"] - memory["loss"]) <= 1e-6 * max(1.0, abs(memory["loss"]))
    print(f"same final loss both ways: {'yes' if same else 'NO'} ({mapped['loss']:.6f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
