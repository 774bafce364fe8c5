"""Many shards on a Dask cluster: 16 Parquet shards (2 GB in all) → a padded .zarr.

The input: 16 long-format Parquet shards (one row per timestep: id, t, 8 float features, a
class label), each as many sequences of 50–150 steps, ~2 GB on disk. In the same run, each as
a user runs it (a whole `lstmprep` process, interpreter start and imports included):

- the anchor, one process: `lstmprep pad shards/ -o one.npz` (today's path);
- `lstmprep pad shards/ -o out.zarr --scheduler local:2`: a LocalCluster of 2 worker processes
  (this machine has 2 cores), pass 1 and pass 2 on the workers, cluster start-up included;
- the physical floor: reading the shards' bytes (from the page cache), and
  `pyarrow.parquet.read_table` of every shard in one process.

Peak RSS: of the one process (its rusage), and of each process of the cluster run (the driver,
each worker: sampled every 50 ms with psutil). The two tensors are compared value for value.

Target (issue #13): local:2 at least 1.6x faster than one process, peak RSS per worker bounded
(at most 1 GiB, as in the beyond-memory issue).

The cluster run gets `--memory-limit 512MB` (as the beyond-memory issue's target): each worker
reads a shard larger than its budget in chunks. `--compare SRC` also runs the cluster command
with lstmprep imported from SRC (a checkout of another commit, e.g. `git worktree add`), in the
same run, for before/after figures.

Run: python benchmarks/bench_dask.py [--gb 2] [--shards 16] [--keep DIR] [--memory-limit 512MB]
[--compare SRC]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = [f"f{i}" for i in range(8)]
LSTMPREP = str(Path(sys.executable).with_name("lstmprep"))
#: bytes a row takes in these Parquet files (measured: 8 random float32, id, t, label)
ROW_BYTES = 34


def make_shards(folder: Path, gb: float, shards: int, seed: int = 0) -> None:
    """``shards`` Parquet files of about ``gb`` GB in all, each as many sequences of 50–150
    steps (so that Zarr chunks align with shards: see README, Many shards on a cluster)."""
    rng = np.random.default_rng(seed)
    sequences = int(gb * 1e9 / ROW_BYTES / shards / 100)  # as many in every shard
    first = 0
    for s in range(shards):
        lengths = rng.integers(50, 151, sequences)
        n = int(lengths.sum())
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        columns = {
            "id": np.repeat(np.arange(first, first + len(lengths)), lengths),
            "t": np.arange(n) - starts,
        }
        for name in FEATURES:
            columns[name] = rng.normal(size=n).astype(np.float32)
        columns["label"] = np.repeat(rng.integers(0, 5, len(lengths)), lengths)
        pq.write_table(pa.table(columns), folder / f"part{s:02d}.parquet")
        first += len(lengths)


def run(words: list[str], source: Path | None = None) -> tuple[float, float, dict[str, int]]:
    """Run a command: its wall time, the CPU time of all its processes (user + system), and
    the peak RSS of each of them. ``source``: import lstmprep from there."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve())
    with tempfile.TemporaryFile("w+") as log:  # not a pipe: a full pipe would stall it
        peaks: dict[str, int] = {}
        start = time.perf_counter()
        process = subprocess.Popen(words, stdout=subprocess.DEVNULL, stderr=log, text=True, env=env)
        done = threading.Event()

        def sample() -> None:
            root = psutil.Process(process.pid)
            while not done.is_set():
                try:
                    family = [root, *root.children(recursive=True)]
                except psutil.Error:
                    break
                for p in family:
                    try:
                        rss = p.memory_info().rss
                        name = _role(p, root)
                    except psutil.Error:
                        continue
                    peaks[name] = max(peaks.get(name, 0), rss)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        if os.waitstatus_to_exitcode(status):
            log.seek(0)
            raise SystemExit(f"{' '.join(words)} failed:\n{log.read()}")
    peaks["process (rusage)"] = usage.ru_maxrss * 1024
    return elapsed, usage.ru_utime + usage.ru_stime, peaks


def _role(p: psutil.Process, root: psutil.Process) -> str:
    if p.pid == root.pid:
        return "driver"
    line = " ".join(p.cmdline())
    kind = "worker" if "spawn_main" in line or "multiprocessing" in line else "helper"
    return f"{kind} {p.pid}"


def read_floor(folder: Path) -> tuple[float, float]:
    files = sorted(folder.glob("*.parquet"))
    start = time.perf_counter()
    for f in files:
        with open(f, "rb") as h:
            while h.read(16 << 20):
                pass
    raw = time.perf_counter() - start
    start = time.perf_counter()
    for f in files:
        pq.read_table(f)
    return raw, time.perf_counter() - start


def same_tensor(npz: Path, store: Path) -> bool:
    import zarr

    x = _npz_x(npz)
    z = zarr.open_array(str(store / "x"), mode="r")
    if x.shape != z.shape or x.dtype != z.dtype:
        return False
    step = z.chunks[0] * 4
    return all(np.array_equal(x[i : i + step], z[i : i + step]) for i in range(0, x.shape[0], step))


def _npz_x(path: Path) -> np.ndarray:
    import zipfile

    from lstmprep.padded_file import map_member

    with zipfile.ZipFile(path) as archive:
        mapped = map_member(path, archive.getinfo("x.npy"))
    assert mapped is not None
    return mapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the shards in this folder")
    parser.add_argument("--memory-limit", default="512MB", help="for the cluster run")
    parser.add_argument("--compare", type=Path, help="also the cluster run of lstmprep from SRC")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    shards = args.keep or work / "shards"
    try:
        if not (shards.is_dir() and len(list(shards.glob("*.parquet"))) == args.shards):
            shards.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            make_shards(shards, args.gb, args.shards)
            print(f"wrote {args.shards} shards in {time.perf_counter() - t:.0f} s")
        size = sum(f.stat().st_size for f in shards.glob("*.parquet"))
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in shards.glob("*.parquet"))
        print(f"input: {args.shards} Parquet shards, {size / 1e9:.2f} GB, {rows:,} rows")
        raw, arrow = read_floor(shards)  # also warms the page cache for both runs
        load = os.getloadavg()[0]

        one, one_cpu, one_peaks = run([LSTMPREP, "pad", str(shards), "-o", str(work / "one.npz")])
        out = work / "out.zarr"
        cluster = [LSTMPREP, "pad", str(shards), "-o", str(out), "--scheduler", "local:2"]
        cluster += ["--memory-limit", args.memory_limit]
        other = None
        if args.compare:
            other = run([*cluster, "--force"], args.compare)
            other_equal = same_tensor(work / "one.npz", out)
            shutil.rmtree(out)
        many, many_cpu, many_peaks = run(cluster)
        equal = same_tensor(work / "one.npz", out)
        npz_gb = (work / "one.npz").stat().st_size / 1e9
        zarr_gb = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e9

        print()
        print(f"load average before: {load:.1f} on {os.cpu_count()} cores")
        print(f"{'':44} {'seconds':>8} {'vs one process':>15} {'CPU s':>7}")
        print(f"{'one process: lstmprep pad → .npz':44} {one:8.1f} {1.0:14.2f}x {one_cpu:7.1f}")
        print(
            f"{'local:2: lstmprep pad --scheduler → .zarr':44} {many:8.1f} {one / many:14.2f}x "
            f"{many_cpu:7.1f}"
        )
        if other is not None:
            label = f"… with lstmprep of {args.compare}"
            print(f"{label[:44]:44} {other[0]:8.1f} {one / other[0]:14.2f}x {other[1]:7.1f}")
        print(f"{'floor: read the bytes (page cache)':44} {raw:8.1f} {one / raw:14.2f}x")
        print(f"{'floor: pyarrow read_table, one process':44} {arrow:8.1f} {one / arrow:14.2f}x")
        print()
        sizes = f".npz {npz_gb:.2f} GB, .zarr {zarr_gb:.2f} GB (LZ4)"
        print(f"outputs: {sizes}; x equal: {equal}")
        print(f"peak RSS, one process: {one_peaks['process (rusage)'] / 2**30:.2f} GiB")
        workers = {k: v for k, v in many_peaks.items() if k.startswith("worker")}
        print(
            f"peak RSS, local:2: driver {many_peaks.get('driver', 0) / 2**30:.2f} GiB; workers "
            + ", ".join(f"{v / 2**30:.2f}" for v in workers.values())
            + " GiB (sampled every 50 ms)"
        )
        if other is not None:
            peaks = {k: v for k, v in other[2].items() if k.startswith("worker")}
            print(
                f"peak RSS, local:2 with lstmprep of {args.compare}: driver "
                f"{other[2].get('driver', 0) / 2**30:.2f} GiB; workers "
                + ", ".join(f"{v / 2**30:.2f}" for v in peaks.values())
                + f" GiB; x equal: {other_equal}"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        print(
            f"target ≥ 1.6x: {'met' if one / many >= 1.6 else 'NOT met'} ({one / many:.2f}x); "
            f"worker ≤ 1 GiB: {'met' if max(workers.values(), default=0) <= 2**30 else 'NOT met'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
