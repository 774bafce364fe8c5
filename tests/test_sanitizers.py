"""A short run of the fuzz harnesses on the C modules built with ASan + UBSan.

``make fuzz`` is the long run; this is the habit kept on every ``make test``. The fixture
builds ``_padcore`` and ``_fastjson`` with ``-fsanitize=address,undefined`` (fuzz/build.py)
into a temporary copy of the package, and each harness of fuzz/harnesses.py then runs in
a subprocess with that build first on PYTHONPATH and the sanitizer runtime preloaded:

- with clang and atheris installed (``make fuzz`` installs atheris into the venv): atheris,
  coverage-guided (the modules also built with ``-fsanitize=fuzzer-no-link``);
- otherwise (gcc, or no atheris): the corpus replayed, then blind mutations of it.

Each harness runs LSTMPREP_FUZZ_SECONDS (default 10) seconds from fuzz/corpus/<harness>,
two at a time (LSTMPREP_FUZZ_CC=gcc or clang picks the compiler);
any sanitizer report, crash or failed property fails the test with the tool's output.
Where no compiler here can build with the sanitizers, the tests are skipped and say why.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_c_hardening import HOSTILE, HOSTILE_LISTS, PRELUDE, check_hostile, run_hostile

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
SECONDS = float(os.environ.get("LSTMPREP_FUZZ_SECONDS", "10"))
HARNESSES = ["copy_rows", "scan_json", "scan_jsonl", "read", "pad", "pad_lists"]


def _load_build_module():
    spec = importlib.util.spec_from_file_location("fuzz_build", FUZZ / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory) -> tuple[dict[str, str], bool, Path]:
    """(environment importing the sanitizer build, whether atheris drives it, its folder)."""
    build = _load_build_module()
    cc = build.compiler(os.environ.get("LSTMPREP_FUZZ_CC"))  # clang, else gcc; or the one named
    if cc is None:
        pytest.skip(
            "no C compiler here builds with -fsanitize=address,undefined (install clang, or "
            "gcc with libasan and libubsan): the short sanitizer fuzz run is skipped"
        )
    atheris = importlib.util.find_spec("atheris")
    coverage = cc == "clang" and atheris is not None
    out = tmp_path_factory.mktemp("sanitized")
    build.build(out, cc, coverage)
    if coverage:
        assert atheris is not None and atheris.submodule_search_locations
        runtime = str(Path(atheris.submodule_search_locations[0]).parent / "asan_with_fuzzer.so")
    else:
        runtime = build.runtime(cc)
    if runtime is None or not Path(runtime).is_file():
        pytest.skip(f"{cc} builds with ASan but its shared runtime to preload is missing")
    env = {
        **os.environ,
        "PYTHONPATH": str(out),
        "PYTHONMALLOC": "malloc",  # else pymalloc hides overflows of small buffers from ASan
        "LD_PRELOAD": runtime,
        # Python keeps memory to the end by design; huge numpy requests must fail softly
        "ASAN_OPTIONS": "detect_leaks=0:allocator_may_return_null=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    }
    print(f"\nsanitizer build: {cc}, {'atheris' if coverage else 'blind mutation'}, {runtime}")
    return env, coverage, out


CANARY = """
import ctypes
buffer = bytearray(8)
ctypes.memmove((ctypes.c_char * 8).from_buffer(buffer), bytes(64), 64)  # 56 bytes too many
print("overflow not detected")
"""


def test_the_sanitizer_is_live(sanitized):
    """The harnesses' environment catches a heap overflow, even of a small Python buffer."""
    env, _, out = sanitized
    done = subprocess.run(
        [sys.executable, "-c", CANARY], env=env, capture_output=True, text=True, cwd=out
    )
    assert done.returncode != 0 and "overflow not detected" not in done.stdout
    assert "AddressSanitizer: heap-buffer-overflow" in done.stderr, done.stderr[-3000:]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_copy_rows_under_sanitizers(case, hostile_sanitized):
    """Every hostile call of test_c_hardening raises its exception in the ASan/UBSan build."""
    check_hostile(case, *hostile_sanitized)


@pytest.fixture(scope="module")
def hostile_sanitized(sanitized):
    env, _, out = sanitized
    outcomes, done = run_hostile(
        env,
        cwd=str(out),  # not the source tree: `python -c` puts it first on sys.path
    )
    module = subprocess.run(
        [sys.executable, "-c", "import lstmprep._padcore as m; print(m.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=out,
    )
    assert module.stdout.startswith(str(out)), f"not the sanitizer build: {module.stdout}"
    return outcomes, done


def test_hostile_list_calls_under_sanitizers(sanitized):
    """copy_arrays and fill_lists: each hostile call of test_c_hardening, under ASan/UBSan."""
    env, _, out = sanitized
    lines = [PRELUDE, "print(_padcore.__file__)"]
    for case, (call, _) in HOSTILE_LISTS.items():
        lines.append(
            f"try:\n    print({case!r}, {call}, sep=' -> ')\n"
            f"except Exception as e:\n    print({case!r}, type(e).__name__, sep=' -> ')"
        )
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out,
    )
    assert done.returncode == 0, f"status {done.returncode}:\n{done.stderr[-5000:]}"
    printed = done.stdout.splitlines()
    assert printed[0].startswith(str(out)), f"not the sanitizer build: {printed[0]}"
    assert printed[1:] == [f"{case} -> {outcome}" for case, (_, outcome) in HOSTILE_LISTS.items()]


@pytest.fixture(scope="module")
def fuzz_runs(sanitized, tmp_path_factory):
    """Every harness's run, started at once two at a time (two cores), as futures."""
    env, coverage, out = sanitized
    pool = ThreadPoolExecutor(max_workers=2)
    runs = {
        harness: pool.submit(fuzz, harness, env, coverage, tmp_path_factory.mktemp(harness))
        for harness in HARNESSES
    }
    yield runs
    pool.shutdown(wait=True)


def fuzz(harness: str, env: dict[str, str], coverage: bool, folder: Path):
    """One harness for SECONDS under the sanitizers: (process, folder)."""
    corpus = folder / "corpus"
    shutil.copytree(FUZZ / "corpus" / harness, corpus)  # new inputs stay out of the repo
    run = [sys.executable, str(FUZZ / "run.py"), harness]
    if coverage:
        found = folder / "found"
        found.mkdir()
        command = [
            *run,
            f"-max_total_time={SECONDS:g}",
            "-timeout=30",
            "-rss_limit_mb=4096",
            f"-artifact_prefix={folder}/",
            str(found),
            str(corpus),
        ]
    else:
        command = [*run, "--mutate", f"{SECONDS:g}", str(corpus)]
    done = subprocess.run(
        command,
        env={**env, "LSTMPREP_FUZZ_ARTIFACTS": str(folder)},
        capture_output=True,
        text=True,
        timeout=SECONDS + 300,
        cwd=folder,
    )
    return done, folder


@pytest.mark.parametrize("harness", HARNESSES)
def test_fuzz_harness_under_sanitizers(sanitized, fuzz_runs, harness):
    _, _, out = sanitized
    done, folder = fuzz_runs[harness].result()
    output = done.stdout + done.stderr
    crashers = sorted(p.name for p in folder.glob("crash-*"))
    assert done.returncode == 0, (
        f"{harness} failed under the sanitizers (status {done.returncode}); inputs kept in "
        f"{folder}: {crashers}; add them to fuzz/corpus/{harness}/ once fixed\n{output[-8000:]}"
    )
    assert f"from {out}" in output, "the harness did not import the sanitizer build"
    summary = [line for line in output.splitlines() if line.startswith(("Done", f"{harness}:"))]
    assert any("Done" in line for line in summary), output[-3000:]
    print(f"{harness}: {' | '.join(summary)}")
