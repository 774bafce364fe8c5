"""SIGTERM and SIGHUP handled like Ctrl-C: the partial file removed, one line, exit 143 / 129.

CI systems cancel a job with SIGTERM; a closed terminal sends SIGHUP. ``install`` (called by
``lstmprep.__main__`` before anything else is imported) makes both raise :class:`Terminated`, a
``KeyboardInterrupt``, in the main thread, so every ``finally`` runs as for Ctrl-C. The handler
also removes, itself, the temporary files being written at that moment (registered by
``output.atomic_path`` through :func:`writing`): even if the exception is delayed by C code or
lost in a cleanup, no partial file stays behind. A second signal while the first one is being
handled is ignored, so it cannot cut the cleanup short.

Signals the parent set to be ignored (``nohup`` ignores SIGHUP) stay ignored. Only the command
line installs handlers; the library alone never changes a process's signal handling.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

#: The signals handled, with the exit code each ends with (128 + the signal's number).
HANDLED = {"SIGTERM": 143, "SIGHUP": 129}
COMMANDS = ("pad", "train", "inspect")


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM or SIGHUP arrives; ``message`` is for people."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum
        self.message = message


#: temporary file → (destination, whether the destination existed when the write began)
_writing: dict[Path, tuple[Path, bool]] = {}
#: other files to remove on a signal (check_destination's probe)
_remove: set[Path] = set()
_written: list[Path] = []
_received: list[Terminated] = []


def install() -> None:
    """Handle SIGTERM and SIGHUP (those not ignored) from now on; main thread only."""
    for name in HANDLED:
        number = getattr(signal, name, None)
        if number is None:  # not on this platform (SIGHUP on Windows)
            continue
        if signal.getsignal(number) is signal.SIG_IGN:
            continue
        signal.signal(number, _handle)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _received:  # already ending: let the cleanup finish
        return
    removed, writes = [], list(_writing.items())
    for tmp in [*_remove, *_writing]:
        try:
            if tmp.is_dir():  # a temporary Zarr store
                shutil.rmtree(tmp)
            else:
                os.unlink(tmp)
            removed.append(tmp)
        except OSError:
            pass
    error = Terminated(signum, _describe(signum, writes, removed))
    _received.append(error)
    raise error


def _describe(signum: int, writes: list[tuple[Path, tuple[Path, bool]]], removed: list) -> str:
    name = signal.Signals(signum).name
    who = next((f"lstmprep {a}" for a in sys.argv[1:] if a in COMMANDS), "lstmprep")
    text = f"{who} stopped by {name}"
    if writes:
        tmp, (dest, existed) = writes[-1]
        text += f" while writing {dest}"
        if tmp in removed:
            kept = f"{dest} is untouched" if existed else f"{dest} was not created"
            text += f": the partial file was removed and {kept}"
        return text
    if _written:
        return text + f" after writing {', '.join(map(str, _written))} (complete)"
    return text + ": nothing was written"


@contextmanager
def writing(tmp: Path, destination: Path) -> Iterator[None]:
    """Register ``tmp`` (being written for ``destination``) for removal on a signal."""
    _writing[tmp] = (destination, destination.exists())
    try:
        yield
    finally:
        _writing.pop(tmp, None)


@contextmanager
def removed_on_signal(path: Path) -> Iterator[None]:
    """Register ``path``, a file of lstmprep's own, for removal on a signal (no message)."""
    _remove.add(path)
    try:
        yield
    finally:
        _remove.discard(path)


def written(destination: Path) -> None:
    """Note that ``destination`` was renamed into place, whole (for the signal's message)."""
    _written.append(destination)


def pending() -> Terminated | None:
    """The exception of the signal received, if one was."""
    return _received[0] if _received else None


def check() -> None:
    """Raise again the signal's exception if one arrived (for cleanups that replaced it)."""
    if _received:
        raise _received[0]
