"""Finding the file to read: it must exist and be a file; its suffix names its format."""

from __future__ import annotations

from pathlib import Path

from ..errors import UnreadableInput


def check_file(path: Path) -> str:
    """The file's suffix, lower case, once it is known to be a file."""
    if not path.exists():
        raise UnreadableInput("no such file", path=str(path))
    if path.is_dir():
        raise UnreadableInput("is a directory, not a file", path=str(path))
    return path.suffix.lower()
