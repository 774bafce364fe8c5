"""Finding the files to read: a file, several, a folder or a glob; a file's suffix names its format.

A folder stands for the files in it (not its subfolders, not hidden files), a glob (``*``, ``?``,
``[…]``, quoted so that the shell leaves it alone) for the files it matches; both are read in
natural name order (``x2`` before ``x10``). Files given one by one keep the order given.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import UnreadableInput

_GLOB = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")


def check_file(path: Path) -> str:
    """The file's suffix, lower case, once it is known to be a file."""
    if not path.exists():
        raise UnreadableInput("no such file", path=str(path))
    if path.is_dir():
        raise UnreadableInput("is a directory, not a file", path=str(path))
    return path.suffix.lower()


def natural_key(path: Path) -> list:
    """Sort key for names with numbers in them: ``x2`` before ``x10``.

    >>> sorted(["x10.npy", "x2.npy", "x1.npy"], key=lambda p: natural_key(Path(p)))
    ['x1.npy', 'x2.npy', 'x10.npy']
    """
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(str(path))]


def expand(sources: Sequence[str | Path]) -> tuple[list[Path], bool]:
    """The files that ``sources`` name, and whether they are several datasets' worth of files.

    "Several" means more than one source, or a folder, or a glob (even when it finds one file):
    those are read as shards or one sample per file (:mod:`.samples`).
    """
    if not sources:
        raise UnreadableInput("no input file given", hint="name a file, a folder or a glob")
    files: list[Path] = []
    several = len(sources) > 1
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
            if not found:
                raise UnreadableInput(
                    "the directory holds no files", path=str(source), hint="name a data file"
                )
            files += sorted(found, key=natural_key)
            several = True
        elif not path.exists() and _GLOB.search(str(source)):
            matches = [Path(m) for m in glob.glob(str(source)) if Path(m).is_file()]
            if not matches:
                raise UnreadableInput(
                    "no file matches this pattern",
                    path=str(source),
                    hint="check the folder and the pattern (quoted, e.g. 'data/*.npy')",
                )
            files += sorted(matches, key=natural_key)
            several = True
        else:
            check_file(path)
            files.append(path)
    if several:
        _one_format(files)
    return files, several


def _one_format(files: list[Path]) -> None:
    by_suffix: dict[str, list[Path]] = {}
    for f in files:
        by_suffix.setdefault(f.suffix.lower(), []).append(f)
    if len(by_suffix) > 1:
        kinds = "; ".join(
            f"{suffix or '(no extension)'}: {', '.join(p.name for p in paths[:3])}"
            + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
            for suffix, paths in by_suffix.items()
        )
        raise UnreadableInput(
            f"the files mix formats ({kinds})",
            path=str(Path(files[0]).parent),
            hint="give files of one format, e.g. a glob such as 'folder/*.npy'",
        )
