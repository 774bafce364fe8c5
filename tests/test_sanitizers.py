"""A short run of the fuzz harnesses on the C modules built with ASan + UBSan.

``make fuzz`` is the long run; this is the habit kept on every ``make test``. The fixture
builds ``_padcore`` and ``_fastjson`` with ``-fsanitize=address,undefined`` (fuzz/build.py)
into a temporary copy of the package, and each harness of fuzz/harnesses.py then runs in
a subprocess with that build first on PYTHONPATH and the sanitizer runtime preloaded:

- with clang and atheris installed (``make fuzz`` installs atheris into the venv): atheris,
  coverage-guided (the modules also built with ``-fsanitize=fuzzer-no-link``);
- otherwise (gcc, or no atheris): the corpus replayed, then blind mutations of it.

Each harness runs LSTMPREP_FUZZ_SECONDS (default 10) seconds from fuzz/corpus/<harness>;
any sanitizer report, crash or failed property fails the test with the tool's output.
Where no compiler here can build with the sanitizers, the tests are skipped and say why.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_c_hardening import HOSTILE, HOSTILE_LISTS, PRELUDE

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
    cc = build.compiler()
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


def test_hostile_copy_rows_under_sanitizers(sanitized):
    """Every hostile call of test_c_hardening raises its exception in the ASan/UBSan build."""
    env, _, out = sanitized
    lines = [PRELUDE, "print(_padcore.__file__)"]
    for case, (arguments, _) in HOSTILE.items():
        lines.append(
            f"try:\n    print({case!r}, _padcore.copy_rows({arguments}), sep=' -> ')\n"
            f"except Exception as e:\n    print({case!r}, type(e).__name__, sep=' -> ')"
        )
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(lines)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out,  # not the source tree: `python -c` puts the working folder first on sys.path
    )
    assert done.returncode == 0, f"status {done.returncode}:\n{done.stderr[-5000:]}"
    printed = done.stdout.splitlines()
    assert printed[0].startswith(str(out)), f"not the sanitizer build: {printed[0]}"
    assert printed[1:] == [f"{case} -> {expected}" for case, (_, expected) in HOSTILE.items()]


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


@pytest.mark.parametrize("harness", HARNESSES)
def test_fuzz_harness_under_sanitizers(sanitized, harness, tmp_path):
    env, coverage, out = sanitized
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "corpus" / harness, corpus)  # new inputs stay out of the repo
    run = [sys.executable, str(FUZZ / "run.py"), harness]
    if coverage:
        found = tmp_path / "found"
        found.mkdir()
        command = [
            *run,
            f"-max_total_time={SECONDS:g}",
            "-timeout=30",
            "-rss_limit_mb=4096",
            f"-artifact_prefix={tmp_path}/",
            str(found),
            str(corpus),
        ]
    else:
        command = [*run, "--mutate", f"{SECONDS:g}", str(corpus)]
    done = subprocess.run(
        command,
        env={**env, "LSTMPREP_FUZZ_ARTIFACTS": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=SECONDS + 300,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    crashers = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert done.returncode == 0, (
        f"{harness} failed under the sanitizers (status {done.returncode}); inputs kept: "
        f"{crashers}; add them to fuzz/corpus/{harness}/ once fixed\n{output[-8000:]}"
    )
    assert f"from {out}" in output, "the harness did not import the sanitizer build"
    summary = [line for line in output.splitlines() if line.startswith(("Done", f"{harness}:"))]
    assert any("Done" in line for line in summary), output[-3000:]
    print(f"{harness}: {' | '.join(summary)}")
