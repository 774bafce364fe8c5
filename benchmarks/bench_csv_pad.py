"""End to end, as a user runs it: a long-format CSV (one row per timestep) → padded .npz.

The input: 2,050,000 rows (100,000 sequences of 1–40 steps; columns id, t, 8 float features,
label; rows shuffled; ~160 MB). lstmprep is the whole `lstmprep pad long.csv -o x.npz` process
(interpreter start and imports included). The anchors, in the same run:

- the script a user writes today, its work timed without its imports: pandas `read_csv`,
  `sort_values(["id", "t"])`, `[g[features].to_numpy() for _, g in df.groupby("id")]`,
  `keras.utils.pad_sequences(dtype="float32")`, `np.savez` (skipped, and said so, when pandas
  or keras is not installed);
- `pyarrow.csv.read_csv` alone on the file, and `pyarrow.parquet.read_table` alone on the same
  data as Parquet;
- the physical floors: reading the file's bytes (from the page cache); and the least a whole
  process can do for the job: start Python, import numpy and pyarrow, ``read_csv``, write as
  many bytes as lstmprep's output and ``fsync`` them; for Parquet, ``read_table`` and writing
  the values' float64 bytes once into fresh memory (placing the rows in order writes them once).

lstmprep's modules are byte-compiled first, as ``pip install`` does: an editable install run
under ``PYTHONDONTWRITEBYTECODE=1`` would otherwise compile them at every start (about 0.1 s).

Targets: ≥ 10x faster than the script; within 2x of pyarrow reading the CSV; for Parquet, within
2x of `read_table` alone.

Run: python benchmarks/bench_csv_pad.py [--sequences 100000] [--keep DIR] [--no-script]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

FEATURES = [f"f{i}" for i in range(8)]


def make_table(sequences: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 41, sequences)
    n = int(lengths.sum())
    ids = np.repeat(np.arange(sequences), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    t = np.arange(n) - starts
    order = rng.permutation(n)
    columns = {"id": ids[order], "t": t[order]}
    for name in FEATURES:
        columns[name] = np.round(rng.normal(size=n), 5)
    columns["label"] = np.repeat(rng.integers(0, 5, sequences), lengths)[order]
    return pa.table(columns)


def script(source: Path, output: Path) -> None:
    """What a user writes today (imports done outside the timing)."""
    import pandas as pd
    from keras.utils import pad_sequences

    df = pd.read_csv(source)
    df = df.sort_values(["id", "t"])
    sequences = [g[FEATURES].to_numpy() for _, g in df.groupby("id")]
    x = pad_sequences(sequences, padding="post", dtype="float32")
    np.savez(output, x=x)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of(repeats: int, fn) -> float:
    return min(timed(fn) for _ in range(repeats))


def lstmprep_pad(source: Path, output: Path) -> None:
    lstmprep = Path(sys.executable).with_name("lstmprep")
    command = [str(lstmprep), "pad", str(source), "-o", str(output), "--force", "--quiet"]
    subprocess.run(command, check=True)


FLOOR = """
import os, sys
import numpy as np, pyarrow.csv as pcsv
pcsv.read_csv(sys.argv[1])
with open(sys.argv[2], "wb") as f:
    f.write(np.zeros(int(sys.argv[3]), np.uint8).data)
    f.flush()
    os.fsync(f.fileno())
"""


def floor_process(source: Path, output: Path, size: int) -> None:
    subprocess.run([sys.executable, "-c", FLOOR, str(source), str(output), str(size)], check=True)


def compile_lstmprep() -> None:
    import compileall

    import lstmprep

    compileall.compile_dir(Path(lstmprep.__file__).parent, quiet=1)


def read_bytes(path: Path) -> None:
    with open(path, "rb") as f:
        while f.readinto(BUFFER):
            pass


BUFFER = bytearray(1 << 24)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder to keep the inputs in between runs")
    parser.add_argument("--no-script", action="store_true", help="skip the pandas script")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="lstmprep-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / f"long-{args.sequences}.csv"
    parquet = csv.with_suffix(".parquet")
    if not (csv.exists() and parquet.exists()):
        print(f"writing {csv} and {parquet.name} …", flush=True)
        table = make_table(args.sequences)
        pcsv.write_csv(table, csv)
        pq.write_table(table, parquet)
    rows = pq.read_metadata(parquet).num_rows
    print(
        f"input: {csv.name}, {csv.stat().st_size / 1e6:.0f} MB, {rows:,} rows, "
        f"{args.sequences:,} sequences of 1–40 x 8; "
        f"{parquet.name} {parquet.stat().st_size / 1e6:.0f} MB"
    )
    out = folder / "x.npz"
    compile_lstmprep()
    results: list[tuple[str, float]] = []

    def show(name: str, seconds: float) -> float:
        results.append((name, seconds))
        print(f"  {name:<58} {seconds:7.2f} s", flush=True)
        return seconds

    t_bytes = show("floor: read the CSV's bytes", best_of(args.repeats, lambda: read_bytes(csv)))
    t_arrow = show("pyarrow.csv.read_csv alone", best_of(args.repeats, lambda: pcsv.read_csv(csv)))
    t_pq = show(
        "pyarrow.parquet.read_table alone", best_of(args.repeats, lambda: pq.read_table(parquet))
    )
    t_ours = show(
        "lstmprep pad long.csv -o x.npz (whole process)",
        best_of(args.repeats, lambda: lstmprep_pad(csv, out)),
    )
    x_ours = np.load(out)["x"]
    floor = folder / "floor.bin"
    t_floor = show(
        "floor: a process: imports, read_csv, write + fsync the bytes",
        best_of(args.repeats, lambda: floor_process(csv, floor, out.stat().st_size)),
    )
    floor.unlink()
    t_ours_pq = show(
        "lstmprep pad long.parquet -o x.npz (whole process)",
        best_of(args.repeats, lambda: lstmprep_pad(parquet, out)),
    )
    same_pq = np.array_equal(np.load(out)["x"], x_ours)

    from lstmprep import read

    t_read_csv = show(
        "lstmprep.read(long.csv) (in process)", best_of(args.repeats, lambda: read(csv))
    )
    t_read_pq = show(
        "lstmprep.read(long.parquet) (in process)", best_of(args.repeats, lambda: read(parquet))
    )
    features = len(FEATURES) * rows * 8
    t_pq_floor = show(
        "floor: read_table + writing the float64 values once (fresh)",
        best_of(
            args.repeats, lambda: (pq.read_table(parquet), np.empty(features, np.uint8).fill(1))
        ),
    )

    t_script = None
    if args.no_script:
        print("  the pandas script: skipped (--no-script)")
    else:
        try:
            import keras  # noqa: F401  (imported once, outside the timings)
            import pandas  # noqa: F401
        except ImportError as e:
            print(f"  the pandas script: skipped, {e.name} is not installed")
        else:
            anchor_out = folder / "anchor.npz"
            t_script = show(
                "pandas + groupby + keras pad_sequences + np.savez",
                timed(lambda: script(csv, anchor_out)),
            )
            # the script's groupby sorts the ids; lstmprep keeps their order of first appearance
            first = pq.read_table(parquet, columns=["id"]).column("id").unique().to_numpy()
            x_script = np.load(anchor_out)["x"][np.searchsorted(np.sort(first), first)]
            same = np.array_equal(x_script, x_ours)
            print(f"  {'same tensor as the script (ids in one order)':<58} {verdict(same)}")
            anchor_out.unlink(missing_ok=True)
    print(f"  {'same tensor from Parquet as from CSV':<58} {'yes' if same_pq else 'NO'}")

    print()
    if t_script is not None:
        speedup = t_script / t_ours
        print(
            f"  speed-up over the script: {speedup:6.1f}x   target >= 10x: {verdict(speedup >= 10)}"
        )
    csv_ratio = t_ours / t_arrow
    print(
        f"  lstmprep pad / pyarrow read_csv: {csv_ratio:5.2f}x   "
        f"target <= 2x: {verdict(csv_ratio <= 2)}"
    )
    print(f"  lstmprep pad / the whole-process floor: {t_ours / t_floor:5.2f}x")
    print(f"  the whole-process floor / pyarrow read_csv: {t_floor / t_arrow:5.2f}x")
    print(f"  lstmprep.read(csv) / pyarrow read_csv: {t_read_csv / t_arrow:5.2f}x")
    pq_ratio = t_read_pq / t_pq
    print(
        f"  lstmprep.read(parquet) / read_table: {pq_ratio:5.2f}x   "
        f"target <= 2x: {verdict(pq_ratio <= 2)}"
    )
    print(f"  lstmprep.read(parquet) / its floor: {t_read_pq / t_pq_floor:5.2f}x")
    print(f"  lstmprep pad parquet (whole process) / read_table: {t_ours_pq / t_pq:5.2f}x")
    print(f"  pyarrow read_csv / reading the bytes (floor): {t_arrow / t_bytes:5.2f}x")
    if not args.keep:
        for path in (csv, parquet, out):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
