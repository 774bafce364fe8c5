"""Data larger than the memory budget (#12): ``lstmprep pad`` on a 3 GB JSON lines file, and
on the same data as a long CSV and as Parquet shards, with a 512 MB budget.

Each run is a child process (``lstmprep pad …``); its peak RSS is the child's own
(``resource.getrusage(RUSAGE_CHILDREN)`` in a wrapper process that runs nothing else). The
anchor is lstmprep's in-memory path on the same file, with no budget (this machine has the
memory for it): the streamed output must be byte-identical to it, its peak at most 1 GiB,
and its throughput at least 70% of the in-memory path's.

The inputs are generated once (400,000 sequences of 10–199 timesteps × 8 features, seeded)
and cached in ``benchmarks/data/`` (git-ignored, about 9 GB with the CSV and the shards);
``--scale`` multiplies the sequences (``--scale 10``: 30 GB, if the disk has room).

Run: python benchmarks/bench_big.py [--scale 1] [--skip CSV,parquet,memory] [--clean]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
SEQUENCES, FEATURES, BLOCK, SHARD = 400_000, 8, 10_000, 10_000
BUDGET = "512MB"
GIB = 1 << 30

#: the wrapper: runs the command and prints its exit code and peak RSS (bytes) as JSON
_WRAP = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "seconds = time.perf_counter() - start\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
    "print(json.dumps({'code': code, 'peak': peak, 'seconds': seconds}))\n"
)


def block_data(block: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1000 + block)
    lengths = rng.integers(10, 200, size=n)
    values = np.round(rng.normal(size=(int(lengths.sum()), FEATURES)), 4)
    return lengths, values


def generate(folder: Path, sequences: int) -> dict[str, Path]:
    """The JSON lines file, the long CSV and the Parquet shards of the same data (cached)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    jsonl, csv, shards = folder / "big.jsonl", folder / "big.csv", folder / "shards"
    done = folder / "complete"
    if done.exists():
        return {"jsonl": jsonl, "csv": csv, "parquet": shards}
    folder.mkdir(parents=True, exist_ok=True)
    shards.mkdir(exist_ok=True)
    print(f"generating {sequences:,} sequences into {folder} (once) …", flush=True)
    start = time.perf_counter()
    names = ["id", "t"] + [f"f{k}" for k in range(FEATURES)]
    schema = pa.schema(
        [("id", pa.int64()), ("t", pa.int64())] + [(n, pa.float64()) for n in names[2:]]
    )
    with open(jsonl, "w") as text, pcsv.CSVWriter(csv, schema) as table:
        first = 0
        for block in range(0, (sequences + BLOCK - 1) // BLOCK):
            n = min(BLOCK, sequences - first)
            lengths, values = block_data(block, n)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            text.write(
                "".join(
                    json.dumps(values[offsets[i] : offsets[i + 1]].tolist()) + "\n"
                    for i in range(n)
                )
            )
            ids = np.repeat(np.arange(first, first + n), lengths)
            steps = np.arange(len(values)) - np.repeat(offsets[:-1], lengths)
            columns = [pa.array(ids), pa.array(steps)] + [
                pa.array(values[:, k]) for k in range(FEATURES)
            ]
            batch = pa.RecordBatch.from_arrays(columns, schema=schema)
            table.write_batch(batch)
            pq.write_table(pa.Table.from_batches([batch]), shards / f"part-{block:04d}.parquet")
            first += n
    done.write_text("ok")
    print(f"  generated in {time.perf_counter() - start:.0f} s", flush=True)
    return {"jsonl": jsonl, "csv": csv, "parquet": shards}


def run(args: list[str], budget: str | None) -> dict:
    env = dict(os.environ)
    env.pop("LSTMPREP_MEMORY_LIMIT", None)
    if budget:
        env["LSTMPREP_MEMORY_LIMIT"] = budget
    command = [sys.executable, "-m", "lstmprep", *args]
    out = subprocess.run(
        [sys.executable, "-c", _WRAP, *command], env=env, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def members_equal(a: Path, b: Path) -> bool:
    """The tensors (x, lengths) of two padded files are equal (their meta names the source)."""
    with np.load(a) as left, np.load(b) as right:
        return all(np.array_equal(left[k], right[k]) for k in ("x", "lengths"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--skip", default="", help="comma-separated: csv, parquet, memory")
    parser.add_argument("--clean", action="store_true", help="remove the generated inputs after")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    folder = DATA if args.scale == 1 else DATA / f"x{args.scale}"
    inputs = generate(folder, SEQUENCES * args.scale)
    size = inputs["jsonl"].stat().st_size
    print(
        f"input: {inputs['jsonl'].name} {size / 1e9:.2f} GB, {SEQUENCES * args.scale:,} sequences"
    )
    out = folder / "out"
    out.mkdir(exist_ok=True)
    failed = False

    def verdict(ok: bool) -> str:
        nonlocal failed
        failed = failed or not ok
        return "PASS" if ok else "FAIL"

    streamed = run(
        ["pad", str(inputs["jsonl"]), "-o", str(out / "stream.npz"), "--force", "--quiet"], BUDGET
    )
    assert streamed["code"] == 0, streamed
    print(
        f"  JSON lines, budget {BUDGET}: {streamed['seconds']:.1f} s "
        f"({size / 1e6 / streamed['seconds']:.0f} MB/s), peak RSS {streamed['peak'] / GIB:.2f} GiB "
        f"(target ≤ 1 GiB: {verdict(streamed['peak'] <= GIB)})",
        flush=True,
    )
    if "memory" not in skip:
        whole = run(
            ["pad", str(inputs["jsonl"]), "-o", str(out / "memory.npz"), "--force", "--quiet"], None
        )
        assert whole["code"] == 0, whole
        ratio = whole["seconds"] / streamed["seconds"]
        same = (
            (out / "stream.npz").read_bytes() == (out / "memory.npz").read_bytes()
            if size < 8 * GIB
            else members_equal(out / "stream.npz", out / "memory.npz")
        )
        print(
            f"  JSON lines, in memory (anchor): {whole['seconds']:.1f} s, peak RSS "
            f"{whole['peak'] / GIB:.2f} GiB; streamed throughput {ratio:.0%} of it "
            f"(target ≥ 70%: {verdict(ratio >= 0.7)}); output byte-identical: {verdict(same)}",
            flush=True,
        )
        (out / "memory.npz").unlink()
    for name in ("parquet", "csv"):
        if name in skip:
            continue
        source = inputs[name]
        target = out / f"{name}.npz"
        result = run(["pad", str(source), "-o", str(target), "--force", "--quiet"], BUDGET)
        if result["code"] != 0:
            print(f"  {name}, budget {BUDGET}: refused (exit {result['code']}): not streamed")
            failed = True
            continue
        same = members_equal(target, out / "stream.npz")
        print(
            f"  {name}, budget {BUDGET}: {result['seconds']:.1f} s, peak RSS "
            f"{result['peak'] / GIB:.2f} GiB ({verdict(result['peak'] <= GIB)}); x and lengths "
            f"equal to the JSON lines output: {verdict(same)}",
            flush=True,
        )
        if "memory" not in skip:
            anchor = out / f"{name}-memory.npz"
            whole = run(["pad", str(source), "-o", str(anchor), "--force", "--quiet"], None)
            assert whole["code"] == 0, whole
            ratio = whole["seconds"] / result["seconds"]
            same = anchor.read_bytes() == target.read_bytes()
            print(
                f"  {name}, in memory (anchor): {whole['seconds']:.1f} s, peak RSS "
                f"{whole['peak'] / GIB:.2f} GiB; streamed throughput {ratio:.0%} of it "
                f"({verdict(ratio >= 0.7)}); output byte-identical: {verdict(same)}",
                flush=True,
            )
            anchor.unlink()
        target.unlink()
    (out / "stream.npz").unlink()
    if args.clean:
        shutil.rmtree(folder)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
