"""Writing results without ever losing a file.

Every output is written to a temporary file in the destination's folder and renamed over the
destination only once it is complete, so a crash, Ctrl-C or SIGKILL at any moment leaves either
no file, the old file, or the whole new file under the destination's name.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UsageError


def check_destination(path: Path, *, force: bool, inputs: Iterable[Path] = ()) -> None:
    """Refuse, before any work, an output that would overwrite an input or an existing file."""
    for source in inputs:
        if source.exists() and path.exists() and path.resolve() == source.resolve():
            raise UsageError(
                "the output is the input file: lstmprep never writes over its input",
                path=str(path),
                hint="choose another output name",
            )
    if not path.parent.is_dir():
        raise UsageError(
            f"the output folder {str(path.parent)!r} does not exist",
            path=str(path),
            hint=f"create it first: mkdir -p {path.parent}",
        )
    if path.is_dir():
        raise UsageError("the output is a directory", path=str(path), hint="name a file")
    if path.exists() and not force:
        raise UsageError(
            "the output file exists already", path=str(path), hint="pass --force to replace it"
        )


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it into place on success.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    ...     target.exists()
    False
    >>> target.read_text()
    'done'
    """
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.partial{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
