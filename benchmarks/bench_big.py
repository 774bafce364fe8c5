"""Data larger than the memory budget (#12): ``lstmprep pad`` on a 3 GB JSON lines file, and
on the same data as a long CSV and as Parquet shards, with a 512 MB budget.

Each run is a child process (``lstmprep pad …``); its peak RSS is the child's own
(``resource.getrusage(RUSAGE_CHILDREN)`` in a wrapper process that runs nothing else). The
anchor is lstmprep's in-memory path on the same file, with no budget (this machine has the
memory for it): the streamed output must be byte-identical to it, its peak at most 1 GiB,
and its throughput at least 70% of the in-memory path's.

The inputs are generated once (400,000 sequences of 10–199 timesteps × 8 features, seeded)
and cached in ``benchmarks/data/`` (git-ignored, about 9 GB with the CSV and the shards; only
the formats not skipped are written); ``--scale`` multiplies the sequences (``--scale 10``:
30 GB of JSON lines). ``--gzip`` writes the JSON lines gzip-compressed while generating
(``big.jsonl.gz``, level 1; compact JSON by msgspec, the same numbers as ``json.dumps``'s
lines, which take three times as long to write); the plain file is never written. Several
scales (``--scale 1,10``) run in turn in one run, each input removed after its run with
``--clean``. ``--buckets K`` pads into K length buckets (a smaller output). The run is
stopped (the child killed, its temporary files removed by pad) when the disk's free space
falls below ``--min-free`` GB.

Run: python benchmarks/bench_big.py [--scale 1[,10]] [--gzip] [--buckets K]
     [--skip csv,parquet,memory] [--clean] [--min-free 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
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


def lines(values: np.ndarray, lengths: np.ndarray, compact: bool) -> bytes:
    """One JSON array of arrays a sequence, a line each (``compact``: by msgspec, no spaces)."""
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    rows = (values[offsets[i] : offsets[i + 1]].tolist() for i in range(len(lengths)))
    if compact:
        import msgspec

        encode = msgspec.json.Encoder().encode
        return b"".join(encode(row) + b"\n" for row in rows)
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def generate(
    folder: Path, sequences: int, formats: set[str], gz: bool = False, min_free: float = 0
) -> dict[str, Path]:
    """The JSON lines file (``gz``: gzip-compressed as it is written), the long CSV and the
    Parquet shards of the same data, those of ``formats`` (each cached: ``NAME.done`` holds
    its sequences, timesteps and uncompressed bytes). Stops when the disk's free space falls
    below ``min_free`` bytes."""
    import gzip
    from concurrent.futures import Future, ThreadPoolExecutor
    from contextlib import ExitStack

    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    paths = {
        "jsonl": folder / ("big.jsonl.gz" if gz else "big.jsonl"),
        "csv": folder / "big.csv",
        "parquet": folder / "shards",
    }
    old = (folder / "complete").exists()  # all three, plain (the cache of earlier runs)
    todo = {
        name
        for name in formats
        if not (old and not (gz and name == "jsonl")) and not done_file(paths[name]).exists()
    }
    if not todo:
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    temp = {name: paths[name].with_name(paths[name].name + ".tmp") for name in todo}
    print(f"generating {sequences:,} sequences as {', '.join(sorted(todo))} into {folder} …")
    start = time.perf_counter()
    names = ["id", "t"] + [f"f{k}" for k in range(FEATURES)]
    schema = pa.schema(
        [("id", pa.int64()), ("t", pa.int64())] + [(n, pa.float64()) for n in names[2:]]
    )
    written = timesteps = 0
    with ExitStack() as stack:
        text = table = None
        if "jsonl" in todo:
            if gz:
                text = stack.enter_context(gzip.open(temp["jsonl"], "wb", compresslevel=1))
            else:
                text = stack.enter_context(open(temp["jsonl"], "wb"))
            writer = stack.enter_context(ThreadPoolExecutor(1))  # compresses beside the next
            pending: Future | None = None
        if "csv" in todo:
            table = stack.enter_context(pcsv.CSVWriter(temp["csv"], schema))
        if "parquet" in todo:
            shutil.rmtree(temp["parquet"], ignore_errors=True)
            temp["parquet"].mkdir()
        first = 0
        for block in range(0, (sequences + BLOCK - 1) // BLOCK):
            if shutil.disk_usage(folder).free < min_free:
                for path in temp.values():
                    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
                raise SystemExit(f"stopped: less than {min_free / 1e9:.0f} GB free on the disk")
            n = min(BLOCK, sequences - first)
            lengths, values = block_data(block, n)
            timesteps += int(lengths.sum())
            if text is not None:
                data = lines(values, lengths, compact=gz)
                written += len(data)
                if pending is not None:
                    pending.result()
                pending = writer.submit(text.write, data)
            if table is None and "parquet" not in todo:
                first += n
                continue
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            ids = np.repeat(np.arange(first, first + n), lengths)
            steps = np.arange(len(values)) - np.repeat(offsets[:-1], lengths)
            columns = [pa.array(ids), pa.array(steps)] + [
                pa.array(values[:, k]) for k in range(FEATURES)
            ]
            batch = pa.RecordBatch.from_arrays(columns, schema=schema)
            if table is not None:
                table.write_batch(batch)
            if "parquet" in todo:
                part = temp["parquet"] / f"part-{block:04d}.parquet"
                pq.write_table(pa.Table.from_batches([batch]), part)
            first += n
        if text is not None and pending is not None:
            pending.result()
    for name in todo:
        if paths[name].is_dir():
            shutil.rmtree(paths[name])
        temp[name].rename(paths[name])
        about = {"sequences": sequences, "timesteps": timesteps}
        if name == "jsonl":
            about["bytes"] = written
        done_file(paths[name]).write_text(json.dumps(about))
    print(f"  generated in {time.perf_counter() - start:.0f} s", flush=True)
    return paths


def done_file(path: Path) -> Path:
    return path.with_name(path.name + ".done")


def run(args: list[str], budget: str | None, min_free: float = 0, folder: Path = DATA) -> dict:
    """``lstmprep ARGS`` in a child process: its exit code, peak RSS and seconds. The child
    is killed when the disk's free space falls below ``min_free`` bytes."""
    env = dict(os.environ)
    env.pop("LSTMPREP_MEMORY_LIMIT", None)
    if budget:
        env["LSTMPREP_MEMORY_LIMIT"] = budget
    command = [sys.executable, "-m", "lstmprep", *args]
    wrapper = subprocess.Popen(
        [sys.executable, "-c", _WRAP, *command],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the wrapper and its child: one group to stop
    )
    least = shutil.disk_usage(folder).free
    while wrapper.poll() is None:
        time.sleep(2)
        least = min(least, shutil.disk_usage(folder).free)
        if least < min_free:
            os.killpg(wrapper.pid, signal.SIGTERM)
            wrapper.wait()
            raise SystemExit(f"stopped: less than {min_free / 1e9:.0f} GB free on the disk")
    assert wrapper.stdout is not None
    result = json.loads(wrapper.stdout.read().strip().splitlines()[-1])
    result["least_free"] = least
    return result


def members_equal(a: Path, b: Path) -> bool:
    """The tensors (x, lengths…) of two padded files are equal (their meta names the source)."""
    with np.load(a) as left, np.load(b) as right:
        keys = [k for k in left.files if k != "meta"]
        return keys == [k for k in right.files if k != "meta"] and all(
            np.array_equal(left[k], right[k]) for k in keys
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1", help="the sequences ×, or several: 1,10")
    parser.add_argument("--skip", default="", help="comma-separated: csv, parquet, memory")
    parser.add_argument("--gzip", action="store_true", help="JSON lines gzip-compressed")
    parser.add_argument("--buckets", type=int, default=0, help="pad --buckets K")
    parser.add_argument("--clean", action="store_true", help="remove the generated inputs after")
    parser.add_argument("--min-free", type=float, default=8, help="stop below this many GB free")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    options = ["--buckets", str(args.buckets)] if args.buckets else []
    failed = False
    peaks = {}
    for scale in map(int, args.scale.split(",")):
        ok, peaks[scale] = run_scale(scale, skip, args.gzip, options, args.clean, args.min_free)
        failed = failed or not ok
    if len(peaks) > 1:
        first = min(peaks)
        print(
            "peak RSS by scale: "
            + ", ".join(
                f"{k}×: {peak / GIB:.2f} GiB ({peak / peaks[first]:.2f}× the {first}×'s)"
                for k, peak in peaks.items()
            )
        )
    return 1 if failed else 0


def run_scale(
    scale: int, skip: set[str], gz: bool, options: list[str], clean: bool, min_free_gb: float
) -> tuple[bool, int]:
    """The runs on the data of one scale: whether they passed, and the streamed peak RSS."""
    folder = DATA if scale == 1 else DATA / f"x{scale}"
    formats = {"jsonl", "csv", "parquet"} - skip
    min_free = min_free_gb * 1e9
    inputs = generate(folder, SEQUENCES * scale, formats, gz, min_free)
    source = inputs["jsonl"]
    size = source.stat().st_size
    about = json.loads(done_file(source).read_text()) if done_file(source).exists() else {}
    plain = about.get("bytes", size)
    print(
        f"input: {source.name} {size / 1e9:.2f} GB"
        + (f" ({plain / 1e9:.2f} GB uncompressed)" if plain != size else "")
        + f", {SEQUENCES * scale:,} sequences"
        + (f", {about['timesteps']:,} timesteps" if "timesteps" in about else "")
        + (f"; pad {' '.join(options)}" if options else ""),
        flush=True,
    )
    out = folder / "out"
    out.mkdir(exist_ok=True)
    failed = False

    def verdict(ok: bool) -> str:
        nonlocal failed
        failed = failed or not ok
        return "PASS" if ok else "FAIL"

    def pad(path: Path, target: Path, budget: str | None) -> dict:
        command = ["pad", str(path), "-o", str(target), "--force", "--quiet", *options]
        try:
            return run(command, budget, min_free, folder)
        except SystemExit:
            shutil.rmtree(out)  # pad's temporary files too
            raise

    streamed = pad(source, out / "stream.npz", BUDGET)
    assert streamed["code"] == 0, streamed
    written = (out / "stream.npz").stat().st_size
    print(
        f"  JSON lines, budget {BUDGET}: {streamed['seconds']:.1f} s "
        f"({plain / 1e6 / streamed['seconds']:.0f} MB/s of JSON), peak RSS "
        f"{streamed['peak'] / GIB:.2f} GiB (target ≤ 1 GiB: {verdict(streamed['peak'] <= GIB)}); "
        f"output {written / 1e9:.2f} GB; least free on the disk "
        f"{streamed['least_free'] / 1e9:.1f} GB",
        flush=True,
    )
    if "memory" not in skip:
        whole = pad(source, out / "memory.npz", None)
        assert whole["code"] == 0, whole
        ratio = whole["seconds"] / streamed["seconds"]
        same = (
            (out / "stream.npz").read_bytes() == (out / "memory.npz").read_bytes()
            if written < 8 * GIB
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
        result = pad(source, target, BUDGET)
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
            whole = pad(source, anchor, None)
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
    if clean:
        for name in formats:
            path = inputs[name]
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            done_file(path).unlink(missing_ok=True)
        shutil.rmtree(folder if scale != 1 else out)
    return not failed, streamed["peak"]


if __name__ == "__main__":
    sys.exit(main())
