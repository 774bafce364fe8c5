"""Finding the files to read and getting their bytes: a file, several, a folder or a glob.

A folder stands for the files in it (not its subfolders, not hidden files), a glob (``*``, ``?``,
``[…]``, quoted so that the shell leaves it alone) for the files it matches; both are read in
natural name order (``x2`` before ``x10``). Files given one by one keep the order given.

A file's format comes from its suffix; a compression suffix (``.gz``, ``.bz2``, ``.xz``,
``.zst``) is looked through (``events.jsonl.gz`` is JSON lines). Whether a file is compressed
is decided by its first bytes, so a gzip file named ``events.jsonl`` is still read (with a
note). Decompression streams in chunks against the memory budget, so a small file that
expands without end is refused like any other input too large for the machine.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import lzma
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import TooLarge, UnreadableInput, UsageError
from ..memory import available_memory, size_words

#: compression → (the first bytes of such a file, its file suffix)
CODECS = {
    "gzip": (b"\x1f\x8b", ".gz"),
    "bzip2": (b"BZh", ".bz2"),
    "xz": (b"\xfd7zXZ\x00", ".xz"),
    "zstd": (b"\x28\xb5\x2f\xfd", ".zst"),
}
_SUFFIXES = {suffix: codec for codec, (_, suffix) in CODECS.items()}
_CHUNK = 4 << 20
_GLOB = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")


def check_file(path: Path) -> str:
    """The suffix that names the file's format (inside a compression suffix), lower case,
    once the file is known to exist and to be a file.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "events.JSONL.gz"
    >>> _ = path.write_bytes(gzip.compress(b"[1]"))
    >>> check_file(path)
    '.jsonl'
    """
    if not path.exists():
        raise UnreadableInput("no such file", path=str(path))
    if path.is_dir() and path.suffix.lower() != ".zarr":  # a Zarr store is a folder
        raise UnreadableInput("is a directory, not a file", path=str(path))
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in _SUFFIXES:
        return suffixes[-2]
    return path.suffix.lower()


def natural_key(path: Path) -> list:
    """Sort key for names with numbers in them: ``x2`` before ``x10``.

    >>> sorted(["x10.npy", "x2.npy", "x1.npy"], key=lambda p: natural_key(Path(p)))
    ['x1.npy', 'x2.npy', 'x10.npy']
    """
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in _DIGITS.split(str(path))]


def expand(sources: Sequence[str | Path], one_format: bool = True) -> tuple[list[Path], bool]:
    """The files that ``sources`` name, and whether they are several datasets' worth of files.

    "Several" means more than one source, or a folder, or a glob (even when it finds one file):
    those are read as shards or one sample per file (:mod:`.samples`), so they must share one
    format unless ``one_format`` is false.
    """
    if not sources:
        raise UnreadableInput("no input file given", hint="name a file, a folder or a glob")
    files: list[Path] = []
    several = len(sources) > 1
    for source in sources:
        path = Path(source)
        if path.is_dir() and path.suffix.lower() != ".zarr":
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
    if several and one_format:
        _one_format(files)
    return files, several


def _one_format(files: list[Path]) -> None:
    by_suffix: dict[str, list[Path]] = {}
    for f in files:
        by_suffix.setdefault(check_file(f), []).append(f)
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


def compression(path: Path) -> str | None:
    """The compression the file's first bytes show, or ``None`` (a Zarr store: a folder)."""
    if path.is_dir():
        return None
    with open(path, "rb") as f:
        head = f.read(6)
    return next((codec for codec, (magic, _) in CODECS.items() if head.startswith(magic)), None)


def compression_notes(path: Path) -> tuple[str, ...]:
    """A note when the first bytes and the name disagree about compression."""
    found, named = compression(path), _SUFFIXES.get(path.suffix.lower())
    if found and found != named:
        return (f"{path.name} is {found}-compressed (its first bytes say so): read as such",)
    if named and not found:
        return (f"{path.name} is not {named}-compressed despite its name: read as it is",)
    return ()


def refuse_compressed_arrays(path: Path) -> None:
    """Binary formats are read as they are (memory-mapped, or by pyarrow): a file compressed
    as a whole is refused, with the fix."""
    codec = compression(path)
    if codec:
        raise UnreadableInput(
            f"the file is {codec}-compressed: .npy, .npz, .parquet, .feather and .arrow files "
            "are read as they are (their own compression is fine: np.savez_compressed, Parquet's "
            "codecs)",
            path=str(path),
            hint="decompress it first, or compress inside the format",
        )


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when its first bytes show a compression.

    Raises :class:`UnreadableInput` where a compressed stream is truncated or corrupt
    (saying after how much), and :class:`TooLarge` when the decompressed data would not fit
    the memory budget.
    """
    codec = compression(path)
    if codec is None:
        return path.read_bytes()
    budget = available_memory()
    chunks, total = [], 0
    try:
        with _decompressed(path, codec) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if budget is not None and 2 * total > budget:  # the chunks, then joined
                    raise TooLarge(
                        f"decompressing {path.name} ({codec}) gives more than "
                        f"{size_words(total)}, and reading it needs about twice that, but only "
                        f"{size_words(budget)} of memory is available",
                        path=str(path),
                        hint="decompress a smaller part of the data, or use a machine with "
                        "more memory",
                    )
                chunks.append(chunk)
    except (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError) as e:
        ends = isinstance(e, EOFError) or "end" in str(e).lower() or "truncat" in str(e).lower()
        what = "ends early" if ends else f"is corrupt ({e})"
        raise UnreadableInput(
            f"the {codec} stream {what} after {size_words(total)} of decompressed data",
            path=str(path),
            hint=f"the file was cut short or damaged: copy or compress it again ({codec} -t "
            "tests a file)"
            if codec != "zstd"
            else "the file was cut short or damaged: copy or compress it again",
        ) from None
    return b"".join(chunks)


@contextmanager
def opened(path: Path) -> Iterator[Any]:
    """The file as a binary stream, decompressed when its first bytes show a compression:
    ``read(n)`` and ``readline()`` as a file's (for reading a file larger than memory)."""
    codec = compression(path)
    if codec is None:
        with open(path, "rb") as f:
            yield f
    else:
        with _decompressed(path, codec) as f:
            yield f


@contextmanager
def _decompressed(path: Path, codec: str) -> Iterator[Any]:
    """A binary stream of the decompressed data: ``read(n)`` as a file's."""
    if codec == "gzip":
        with gzip.open(path, "rb") as f:
            yield f
    elif codec == "bzip2":
        with bz2.open(path, "rb") as f:
            yield f
    elif codec == "xz":
        with lzma.open(path, "rb") as f:
            yield f
    else:
        try:
            import pyarrow as pa
        except ImportError:  # pragma: no cover - pyarrow is a dependency
            raise UsageError(
                "reading zstd needs pyarrow", hint="install it with `pip install pyarrow`"
            ) from None
        with pa.input_stream(str(path), compression="zstd") as f:
            yield f
