"""A compressed input, as a user runs it: the ~145 MB JSON benchmark file gzipped (-6) → .npz.

The anchor is what the data costs anyway: decompressing it alone (`gzip -dc > /dev/null`)
plus padding the uncompressed file (`pad_file`, the library call behind `lstmprep pad`).
lstmprep pads the .gz directly, in one pass, never writing the decompressed text to disk.
Target: within 1.5x of the anchor.

Run: python benchmarks/bench_compressed.py [--sequences 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_json_pad import best_of, make_input  # noqa: E402

from lstmprep.pipeline import pad_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="folder to keep the inputs in between runs")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="lstmprep-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"big-{args.sequences}.json"
    packed = Path(f"{source}.gz")
    if not source.exists():
        print(f"writing {source} …", flush=True)
        make_input(source, args.sequences)
    if not packed.exists():
        subprocess.run(["gzip", "-6", "-k", "-f", str(source)], check=True)
    mb = source.stat().st_size / 1e6
    print(f"input: {source.name}, {mb:.0f} MB; gzip -6: {packed.stat().st_size / 1e6:.0f} MB")

    def gunzip() -> None:
        with open("/dev/null", "wb") as sink:
            subprocess.run(["gzip", "-dc", str(packed)], stdout=sink, check=True)

    plain_out, packed_out = folder / "plain.npz", folder / "packed.npz"
    t_gunzip = best_of(args.repeats, gunzip)
    t_plain = best_of(args.repeats, lambda: pad_file(source, plain_out, force=True))
    t_packed = best_of(args.repeats, lambda: pad_file(packed, packed_out, force=True))
    same = np.array_equal(np.load(plain_out)["x"], np.load(packed_out)["x"])
    anchor = t_gunzip + t_plain
    ratio = t_packed / anchor
    print()
    print(f"{'gzip -dc > /dev/null':<44} {t_gunzip:8.2f} s")
    print(f"{'pad_file on the plain file':<44} {t_plain:8.2f} s")
    print(f"{'anchor: the two added':<44} {anchor:8.2f} s")
    print(f"{'pad_file on the .gz':<44} {t_packed:8.2f} s")
    verdict = "PASS" if ratio <= 1.5 else "FAIL"
    print(f"{'.gz time / anchor':<44} {ratio:8.2f} x   target <= 1.5x: {verdict}")
    print(f"{'same tensor as from the plain file':<44} {'yes' if same else 'NO'}")
    if not args.keep:
        for path in (source, packed, plain_out, packed_out):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
