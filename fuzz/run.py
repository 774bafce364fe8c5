"""Run one fuzz harness of fuzz/harnesses.py: coverage-guided with atheris, or replay files.

    python fuzz/run.py HARNESS [libFuzzer options] [CORPUS_DIR ...]
    python fuzz/run.py HARNESS --replay FILE_OR_DIR ...
    python fuzz/run.py HARNESS --mutate SECONDS FILE_OR_DIR ...

With atheris, libFuzzer's options follow the harness's name (``-max_total_time=60``,
``-runs=N``, ``-dict=...``, corpus folders): see ``make fuzz``. ``--replay`` runs every
file once, without atheris, and fails on the first finding. ``--mutate`` replays, then
for SECONDS feeds random mutations of the files (bit flips, byte changes, insertions,
deletions, interesting integers, splices): a blind fuzzer for where atheris is missing
(it needs no coverage instrumentation, so it also runs modules built by gcc). Each prints
what the Python layer let through (``harnesses.FINDINGS``), if anything.

To fuzz the C modules under sanitizers, import a sanitizer build first (fuzz/build.py's
folder first on PYTHONPATH, its runtime in LD_PRELOAD); ``make fuzz`` does all that. The
harness refuses to run on an unsanitized build unless LSTMPREP_FUZZ_ANY_BUILD=1.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import numpy  # noqa: F401  (imported before atheris instruments imports: not worth tracing)

sys.path.insert(0, str(Path(__file__).resolve().parent))


def check_build() -> None:
    import lstmprep._fastjson
    import lstmprep._padcore

    for module in (lstmprep._padcore, lstmprep._fastjson):
        where = Path(module.__file__ or "")
        print(f"fuzzing {module.__name__} from {where}", file=sys.stderr)
    if "asan" not in os.environ.get("LD_PRELOAD", "") and not os.environ.get(
        "LSTMPREP_FUZZ_ANY_BUILD"
    ):
        sys.exit("no sanitizer runtime in LD_PRELOAD: run through `make fuzz` (see fuzz/README.md)")


def report_findings() -> None:
    import harnesses

    if harnesses.FINDINGS:
        print("\nPython-side findings (inputs the Python layer should have refused):")
        for finding, count in sorted(harnesses.FINDINGS.items()):
            print(f"  {count:6d}x {finding}")
    sys.stdout.flush()


def replay(name: str, paths: list[str]) -> int:
    import harnesses

    harness = harnesses.HARNESSES[name]
    files = [f for p in map(Path, paths) for f in (sorted(p.iterdir()) if p.is_dir() else [p])]
    for i, path in enumerate(files):
        try:
            harness(path.read_bytes())
        except Exception:
            traceback.print_exc()
            print(f"{name}: FINDING on {path} ({i + 1} of {len(files)} files)")
            return 1
    print(f"{name}: replayed {len(files)} files, no finding")
    report_findings()
    return 0


INTERESTING = [b"\x00", b"\xff", b"\x07", b"\x7f", b"\x80", b"-0", b"[", b"]", b",", b"\n", b"e9"]


def mutate(data: bytes, pool: list[bytes], rng) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        at = rng.randint(0, len(out))
        if op == 0 and out:
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif op == 2:
            out[at:at] = rng.choice(INTERESTING)
        elif op == 3 and out:
            del out[at : at + rng.randint(1, 8)]
        elif op == 4:
            other = rng.choice(pool)
            start = rng.randint(0, len(other))
            out[at:] = other[start : start + rng.randint(0, 64)] + out[at:]
        else:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(out[:4096])


def blind(name: str, seconds: float, paths: list[str]) -> int:
    import random
    import time

    import harnesses

    if replay(name, paths):
        return 1
    harness = harnesses.HARNESSES[name]
    files = [f for p in map(Path, paths) for f in (sorted(p.iterdir()) if p.is_dir() else [p])]
    pool = [f.read_bytes() for f in files] or [b""]
    rng = random.Random(int(os.environ.get("LSTMPREP_FUZZ_SEED", "1")))
    deadline, runs = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        data = mutate(rng.choice(pool), pool, rng)
        runs += 1
        try:
            harness(data)
        except Exception:
            traceback.print_exc()
            crash = Path(os.environ.get("LSTMPREP_FUZZ_ARTIFACTS", ".")) / f"crash-{name}-{runs}"
            crash.write_bytes(data)
            print(f"{name}: FINDING after {runs} runs, input written to {crash}")
            return 1
        if rng.random() < 0.01:
            pool.append(data)
    print(f"{name}: Done {runs} runs of blind mutation in {seconds:g} second(s), no finding")
    report_findings()
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    name = sys.argv[1]
    check_build()
    if sys.argv[2:3] == ["--replay"]:
        return replay(name, sys.argv[3:])
    if sys.argv[2:3] == ["--mutate"]:
        return blind(name, float(sys.argv[3]), sys.argv[4:])

    import atexit

    import atheris

    with atheris.instrument_imports(include=["lstmprep"]):
        import harnesses

    harness = harnesses.HARNESSES[name]
    atexit.register(report_findings)
    atheris.Setup([sys.argv[0], *sys.argv[2:]], harness)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
