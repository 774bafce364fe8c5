"""Build lstmprep's C modules with sanitizers, next to a copy of the package, for fuzzing.

    python fuzz/build.py OUT_DIR [--cc clang|gcc] [--coverage]

Writes OUT_DIR/lstmprep/: the package's Python files copied as they are, and _padcore and
_fastjson compiled with AddressSanitizer + UndefinedBehaviorSanitizer (every UB report
fatal), plus libFuzzer's coverage instrumentation (``-fsanitize=fuzzer-no-link``) when the
compiler is clang. Put OUT_DIR first on PYTHONPATH and preload the sanitizer runtime
(:func:`runtime`) to import that build instead of the installed one.

Prints one line: the compiler used, or why nothing was built (exit status 2).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lstmprep"
MODULES = ("_padcore", "_fastjson")
SANITIZE = "address,undefined"


def compiler(preferred: str | None = None) -> str | None:
    """clang when it is there (it can also instrument for coverage), else gcc, else None."""
    for cc in [preferred] if preferred else ["clang", "gcc"]:
        if cc and shutil.which(cc) and _sanitizers_link(cc):
            return cc
    return None


def _sanitizers_link(cc: str) -> bool:
    """Whether `cc` can build a program with ASan + UBSan (its runtime libraries installed)."""
    try:
        result = subprocess.run(
            [cc, f"-fsanitize={SANITIZE}", "-x", "c", "-", "-o", "/dev/null"],
            input=b"int main(void) { return 0; }\n",
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def runtime(cc: str) -> str | None:
    """The shared ASan runtime to LD_PRELOAD into python for modules built by `cc`."""
    name = "libclang_rt.asan-x86_64.so" if cc == "clang" else "libasan.so"
    path = subprocess.run(
        [cc, f"-print-file-name={name}"], capture_output=True, text=True
    ).stdout.strip()
    return path if path and Path(path).is_file() else None


def flags(cc: str, coverage: bool) -> list[str]:
    sanitize = SANITIZE + (",fuzzer-no-link" if coverage and cc == "clang" else "")
    return [
        "-shared",
        "-fPIC",
        "-g",
        "-O1",
        "-fno-omit-frame-pointer",
        f"-fsanitize={sanitize}",
        "-fno-sanitize-recover=all",  # any UB is a crash, not a message to miss
        "-Wall",
        "-Wextra",
        "-Werror=implicit-function-declaration",
        f"-I{sysconfig.get_paths()['include']}",
        f"-I{numpy.get_include()}",  # _padcore uses numpy's C API
    ]


def build(out: Path, cc: str, coverage: bool) -> None:
    target = out / "lstmprep"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("*.so", "*.c", "__pycache__"))
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for module in MODULES:
        subprocess.run(
            [
                cc,
                *flags(cc, coverage),
                str(PACKAGE / f"{module}.c"),
                "-o",
                str(target / f"{module}{suffix}"),
            ],
            check=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cc", choices=["clang", "gcc"])
    parser.add_argument("--coverage", action="store_true", help="clang's -fsanitize=fuzzer-no-link")
    args = parser.parse_args()
    cc = compiler(args.cc)
    if cc is None:
        print(
            f"no C compiler here can build with -fsanitize={SANITIZE} "
            f"(tried {args.cc or 'clang, gcc'}): install clang, or gcc with libasan and libubsan"
        )
        return 2
    build(args.out, cc, args.coverage)
    print(f"{cc} {runtime(cc) or ''}".strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
