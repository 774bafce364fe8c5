"""Writing results without ever losing a file, and saying plainly why one cannot be written.

Every output is written to a temporary file in the destination's folder and renamed over the
destination only once it is complete, so a crash, Ctrl-C, SIGTERM or SIGKILL at any moment
leaves either no file, the old file, or the whole new file under the destination's name.

The temporary file is named ``.NAME.<host>.<pid>.<random>.partial.SUFFIX``. It is removed on
every error and on Ctrl-C, SIGTERM and SIGHUP (see ``lstmprep.signals``); one left by a writer
that died (SIGKILL, a power cut) is recognised by its name and removed by the next write to the
same destination once that process is gone. A machine fault while writing (disk full, quota,
read-only, permission, name too long, a folder that vanished) is an :class:`OutputError`
(exit 2) naming the file, what happened and the fix, never an internal error. A large output
is compared with the free space before it is written. Inputs that change while lstmprep reads
and uses them are refused before the output is renamed into place (:func:`watch_inputs`).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from . import signals
from .errors import InputChanged, LstmprepError, OutputError, UsageError
from .memory import size_words

#: Room kept beyond the size announced to ``atomic_path`` (headers, zip directory, metadata).
SPACE_MARGIN = 8 << 10
#: The longest file name most file systems take (bytes).
NAME_MAX = 255


def check_destination(
    path: Path, *, force: bool, inputs: Iterable[Path] = (), folder: bool = False
) -> None:
    """Refuse, before any work, an output that would overwrite an input or an existing file,
    or that cannot be created (read-only file system, permission, name too long).
    ``folder``: the output is a folder (a Zarr store), replaced whole with ``force``."""
    try:
        _check_destination(Path(path), force=force, inputs=inputs, folder=folder)
    except OSError as e:
        if isinstance(e, LstmprepError):
            raise
        raise output_error(e, Path(path), creating=True) from None


def _check_destination(path: Path, *, force: bool, inputs: Iterable[Path], folder: bool) -> None:
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
    if path.is_dir() and not folder:
        raise UsageError("the output is a directory", path=str(path), hint="name a file")
    if folder and path.exists() and not path.is_dir():
        raise UsageError(
            "the output is a file, and a Zarr store is a folder", path=str(path), hint="remove it"
        )
    if path.exists() and not force:
        raise UsageError(
            "the output file exists already", path=str(path), hint="pass --force to replace it"
        )
    probe = temp_path(path, "probe")  # can a file be created there? Ask before hours of work.
    with signals.removed_on_signal(probe):
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        finally:
            with suppress(OSError):
                os.unlink(probe)


@contextmanager
def atomic_path(
    path: Path, *, size: int | None = None, inputs: Inputs | None = None
) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it into place on success.

    ``size``: the bytes about to be written, checked against the free space first. ``inputs``:
    files whose change (since :func:`watch_inputs`) refuses the output before the rename.
    Stale temporary files of dead writers to ``path`` are removed first.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    ...     target.exists()
    False
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    if inputs is not None:
        inputs.check()
    remove_leftovers(path)
    if size is not None:
        check_space(path, size)
    tmp = temp_path(path)
    try:
        with signals.writing(tmp, path):
            try:
                yield tmp
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                if inputs is not None:
                    inputs.check()
                os.replace(tmp, path)
                signals.written(path)
            except Exception as e:
                _failed(e, path, lambda: _unlink(tmp), size)  # unlinked before measuring space
    finally:
        _unlink(tmp)


def _failed(
    e: Exception, path: Path, remove: Callable[[], None], size: int | None = None
) -> NoReturn:
    """Re-raise ``e``, the error of writing ``path``: lstmprep's own and a bug's as they are, a
    machine fault (disk full, permission…) as an :class:`OutputError`, once ``remove`` has
    removed the temporary output."""
    cause = _os_error(e)
    if cause is None or isinstance(e, LstmprepError):
        raise e
    signals.check()  # a signal's exception replaced by a cleanup's error wins
    remove()
    raise output_error(cause, path, size) from None


def _unlink(path: Path) -> None:
    with suppress(OSError):
        os.unlink(path)


@contextmanager
def atomic_dir(path: Path, *, inputs: Inputs | None = None) -> Iterator[Path]:
    """:func:`atomic_path` for a folder (a Zarr store): yield a temporary folder's path beside
    ``path`` (the writer creates it), renamed to ``path`` once the block ends without error.

    An existing folder under the name (``--force``) is moved aside, the new one renamed into
    place and the old one removed: only between two renames is neither there. On any error,
    Ctrl-C or signal the temporary folder is removed and ``path`` is left as it was.
    """
    path = Path(path)
    if inputs is not None:
        inputs.check()
    remove_leftovers(path)
    tmp = temp_path(path)
    try:
        with signals.writing(tmp, path):
            try:
                yield tmp
                if inputs is not None:
                    inputs.check()
                if path.exists():
                    old = temp_path(path)
                    os.replace(path, old)
                    os.replace(tmp, path)
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    os.replace(tmp, path)
                signals.written(path)
            except Exception as e:
                _failed(e, path, lambda: shutil.rmtree(tmp, ignore_errors=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- free space ----------------------------------------------------------------------------------


def free_space(folder: Path) -> int | None:
    """Bytes an ordinary user may still write in ``folder``'s file system; None if unknown."""
    try:
        usage = shutil.disk_usage(folder)
    except (OSError, ValueError):
        return None
    return usage.free if usage.total > 0 else None  # some network file systems report 0


def check_space(path: Path, size: int) -> None:
    """Refuse, before writing, an output of about ``size`` bytes that cannot fit."""
    folder = path.parent
    free = free_space(folder)
    needed = size + SPACE_MARGIN + size // 1000
    if free is not None and needed > free:
        raise OutputError(
            f"not enough free space: the output needs about {size_words(needed)}, but only "
            f"{size_words(free)} is free in {_folder(folder)}; nothing was written",
            path=str(path),
            hint=f"free {size_words(needed - free)} on {_mount(folder)}, or choose another folder",
            errno=errno.ENOSPC,
        )


# --- OS errors in plain words --------------------------------------------------------------------


def output_error(
    e: OSError, path: Path, size: int | None = None, *, creating: bool = False
) -> OutputError:
    """The OS error ``e``, met while writing ``path`` (``creating``: while checking that it
    can be created), as one plain sentence and its fix."""
    folder = path.parent
    where = _folder(folder)
    code = e.errno if e.errno is not None else _h5_errno(e)
    what, fix = {
        errno.EDQUOT: (
            f"the disk quota on {_mount(folder)} is used up",
            f"delete files of yours on {_mount(folder)}, ask for a larger quota, "
            "or choose another folder",
        ),
        errno.EROFS: (
            f"{where} is on a read-only file system ({_mount(folder)})",
            "choose a folder on a writable file system",
        ),
        errno.EACCES: (
            f"permission denied: files cannot be created in {where}",
            f"choose a folder you may write to, or get write permission on {where}",
        ),
        errno.ENAMETOOLONG: (
            "the file name is too long for this file system",
            "choose a shorter name",
        ),
        errno.EFBIG: (
            "the file is larger than this file system allows",
            "choose a folder on another file system",
        ),
        errno.EIO: (
            f"the device of {where} reported an input/output error",
            "check the disk (dmesg), or choose another folder",
        ),
        errno.EMFILE: (
            "too many files are open",
            "close other programs, or raise the limit (ulimit -n)",
        ),
    }.get(code or 0, (None, None))
    if code == errno.EPERM:
        what, fix = (
            f"the operation is not permitted in {where} ({e.strerror or e})",
            f"choose a folder you may write to, or get write permission on {where}",
        )
    elif code == errno.ENOSPC:
        free = free_space(folder)
        what = f"the disk is full (no space left on {_mount(folder)})"
        fix = f"free space on {_mount(folder)}, or choose another folder"
        needed = None if size is None else size + SPACE_MARGIN + size // 1000
        if needed is not None and free is not None and needed > free:
            what = (
                f"the disk is full: the output needs about {size_words(needed)}, "
                f"only {size_words(free)} is free in {where}"
            )
            short = size_words(needed - free)
            fix = f"free {short} on {_mount(folder)}, or choose another folder"
    elif code in (errno.ENOENT, errno.ENOTDIR):
        if folder.is_dir() and creating:
            what = f"files cannot be created in {where} ({(e.strerror or str(e)).lower()})"
            fix = "choose another folder"
        elif folder.is_dir():
            what = f"a file lstmprep was writing in {where} was removed by another program"
            fix = "run again, with nothing cleaning that folder meanwhile"
        else:
            what = f"the output folder {where} no longer exists (removed while lstmprep worked)"
            fix = f"create it again (mkdir -p {folder}) or choose another folder"
    elif what is None:
        said = e.strerror or str(e) or type(e).__name__
        what = f"the system could not write it: {said[0].lower()}{said[1:]}"
        fix = f"check {where} and the disk it is on, or choose another folder"
    return OutputError(
        f"cannot be written: {what}; nothing was written",
        path=str(path),
        hint=fix,
        errno=code or 0,
    )


def _os_error(e: BaseException) -> OSError | None:
    """``e`` or the OSError that caused it (libraries wrap them), else None."""
    seen = 0
    cause: BaseException | None = e
    while cause is not None and seen < 8:
        if isinstance(cause, OSError):
            return cause
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


def _h5_errno(e: OSError) -> int | None:
    """h5py's OSErrors carry the errno only in their text: ``errno = 28``."""
    match = re.search(r"errno = (\d+)", str(e))
    return int(match[1]) if match else None


def _folder(folder: Path) -> str:
    return str(folder) if str(folder) not in ("", ".") else "the current folder"


def _mount(folder: Path) -> str:
    """The mount point of ``folder``'s file system, for messages."""
    try:
        point = folder.resolve()
        while not os.path.ismount(point) and point != point.parent:
            point = point.parent
        return str(point)
    except OSError:
        return _folder(folder)


# --- temporary files and the leftovers of dead writers -------------------------------------------

_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def temp_path(path: Path, kind: str = "partial") -> Path:
    """``.NAME.<host>.<pid>.<random>.partial.SUFFIX`` beside ``path`` (``.probe.``: the empty
    file ``check_destination`` creates and removes at once)."""
    tail = f"{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.{kind}{path.suffix}"
    return path.with_name(_prefix(path) + tail)


@contextmanager
def scratch_folder(beside: Path | None) -> Iterator[Path]:
    """A temporary folder of lstmprep's own (work files too large for memory), named as the
    temporary files written for ``beside`` are, in its folder (without one: for
    ``lstmprep-scratch`` in the system's temporary folder), so that the one a killed run left
    is removed by the next run's :func:`remove_leftovers`. Removed at the end and on a signal.
    """
    import tempfile

    base = Path(beside) if beside is not None else Path(tempfile.gettempdir()) / "lstmprep-scratch"
    remove_leftovers(base)
    folder = temp_path(base)
    folder.mkdir()
    try:
        with signals.removed_on_signal(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _prefix(path: Path) -> str:
    """``.NAME.``, NAME shortened so that a temporary file's name stays within NAME_MAX."""
    room = NAME_MAX - 2 - 64 - len(".partial.") - len(os.fsencode(path.suffix))
    stem = os.fsencode(path.stem)
    if len(stem) > room:
        stem = stem[: max(room, 16)].decode("utf-8", "ignore").encode("utf-8")
    return "." + os.fsdecode(stem) + "."


def _leftover_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(
        re.escape(_prefix(path))
        + r"(?:(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.)?[0-9a-f]{8}\.(?:partial|probe)"
        + re.escape(path.suffix)
    )


def remove_leftovers(path: Path) -> list[Path]:
    """Remove the temporary files that dead writers left for ``path``; return them.

    A leftover of a live process (or one whose writer cannot be checked: another host, an older
    lstmprep that did not name its process) is kept, and a note says so.
    """
    pattern = _leftover_pattern(path)
    removed = []
    try:
        entries = [e for e in os.scandir(path.parent) if pattern.fullmatch(e.name)]
    except OSError:
        return []
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        assert match is not None
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        size = size_words(info.st_size)
        host, pid = match["host"], match["pid"]
        if host is None:
            note(
                f"kept {entry.name} ({size}) beside {path.name}: a temporary file of an older "
                "lstmprep, which may still be writing it; delete it if none is"
            )
        elif host != _HOST:
            note(
                f"kept {entry.name} ({size}) beside {path.name}: it is written by process {pid} "
                f"on host {host}, which lstmprep cannot check from here; delete it if that "
                "process is gone"
            )
        elif int(pid) == os.getpid():
            continue  # this process writes it (another thread)
        elif process_alive(int(pid), since=info.st_mtime):
            note(
                f"kept {entry.name} ({size}) beside {path.name}: process {pid} is still writing it"
            )
        else:
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)  # a temporary Zarr store (a folder)
                else:
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue  # another lstmprep removed it meanwhile
            except OSError as e:
                note(f"could not remove {entry.name}, left by a dead lstmprep: {e.strerror}")
                continue
            removed.append(Path(entry.path))
            note(f"removed {entry.name} ({size}), left by lstmprep process {pid}, now gone")
    return removed


def process_alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` of this host may be alive (and have existed at ``since``).

    A process started after ``since`` (the leftover's last change) has only reused the
    number of the one that wrote it. In doubt: alive.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    started = _process_start(pid)
    return not (since is not None and started is not None and started > since + 2)


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from Linux's /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def note(text: str) -> None:
    """A note on stderr (replace this function to send notes elsewhere)."""
    sys.stderr.write(f"note: {text}\n")


# --- inputs that change while they are read ------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The inputs' identity, size and modification time when :func:`watch_inputs` looked."""

    stats: tuple[tuple[Path, os.stat_result], ...]

    def check(self) -> None:
        """Raise :class:`InputChanged` when an input is no longer the file that was read."""
        for path, before in self.stats:
            change: str | None = "it was removed or renamed"
            with suppress(OSError):
                change = _change(before, os.stat(path))
            if change:
                raise InputChanged(
                    f"the file changed while lstmprep read it ({change}); nothing was written",
                    path=str(path),
                    hint="run again once whatever writes it has finished, or work on a copy",
                )


def watch_inputs(paths: Iterable[str | Path | None]) -> Inputs:
    """Note the inputs' size and modification time now, before reading them.

    Inputs that cannot be read are left to the readers, which say why; files that are not
    regular files (pipes, devices) are not watched.
    """
    stats = []
    for path in paths:
        if path is None:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue
        if os.path.isfile(path):
            stats.append((Path(path), info))
    return Inputs(tuple(stats))


def _change(before: os.stat_result, after: os.stat_result) -> str | None:
    if (before.st_dev, before.st_ino) != (after.st_dev, after.st_ino):
        return "it was replaced by another file"
    if before.st_size != after.st_size:
        old, new = size_words(before.st_size), size_words(after.st_size)
        if old == new:
            old, new = f"{before.st_size:,} bytes", f"{after.st_size:,} bytes"
        return f"its size went from {old} to {new}"
    if before.st_mtime_ns != after.st_mtime_ns:
        when = time.strftime("%H:%M:%S", time.localtime(after.st_mtime))
        return f"it was modified at {when}"
    return None
