"""How much memory there is, and refusing work that would not fit before allocating it."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from .errors import TooLarge, UsageError

#: Environment variable: the memory lstmprep may use (bytes, or a size such as ``512MB``),
#: instead of what is available. ``--memory-limit`` sets it for one command.
MEMORY_LIMIT_ENV = "LSTMPREP_MEMORY_LIMIT"

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str, what: str = "--memory-limit") -> int:
    """A size in bytes: a number with an optional unit (K, M, G, T; KB, KiB… all binary).

    >>> parse_size("512MB"), parse_size("2g"), parse_size("1500")
    (536870912, 2147483648, 1500)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if match is None or (match[2] == "" and str(text).strip().lower().endswith("ib")):
        raise UsageError(f"{what} {text!r} is not a size", hint=f"e.g. {what} 512MB or {what} 2GB")
    size = int(float(match[1]) * _UNITS[match[2]])
    if size < 1:
        raise UsageError(f"{what} must be at least 1 byte, not {text!r}")
    return size


def available_memory() -> int | None:
    """Bytes of memory lstmprep can use: ``$LSTMPREP_MEMORY_LIMIT``, else what the system has
    available (``MemAvailable``, within a cgroup's limit); ``None`` when it cannot tell."""
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if limit:
        return parse_size(limit, MEMORY_LIMIT_ENV)
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        cgroup = Path("/sys/fs/cgroup")
        maximum = (cgroup / "memory.max").read_text().strip()
        if maximum.isdigit():
            used = int((cgroup / "memory.current").read_text())
            available = min(available, max(0, int(maximum) - used))
    except (OSError, ValueError):
        pass
    return available


#: Without a limit set, lstmprep works in memory while the work fits this share of what is
#: available (the rest is the system's, other programs', and the estimate's error).
SAFE_SHARE = 0.5


def work_budget() -> int | None:
    """The memory one command's in-memory work may take: ``$LSTMPREP_MEMORY_LIMIT`` when set,
    else :data:`SAFE_SHARE` of the memory available; ``None`` when it cannot tell."""
    if os.environ.get(MEMORY_LIMIT_ENV, "").strip():
        return available_memory()
    available = available_memory()
    return None if available is None else int(available * SAFE_SHARE)


def check_memory(needed: int, what: str, path: str, hint: str | None = None) -> None:
    """Refuse, before allocating, work that needs more memory than is available."""
    available = available_memory()
    if available is not None and needed > available:
        raise TooLarge(
            f"{what} needs about {size_words(needed)} of memory, but only "
            f"{size_words(available)} is available",
            path=path,
            hint=hint
            or "use a smaller part of the data, a machine with more memory, or a larger "
            "--memory-limit",
        )


def size_words(n: int) -> str:
    """A byte count for people.

    >>> size_words(512), size_words(3 * 2**30)
    ('512 bytes', '3.0 GB')
    """
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"  # pragma: no cover


def check_pad_memory(n: int, maxlen: int, features: int, dtype: str, path: str) -> None:
    """Refuse, before allocating, a padded tensor larger than the memory available."""
    shape = (n, maxlen, features)
    check_memory(
        math.prod(shape) * np.dtype(dtype).itemsize,
        f"padding to shape {shape} of {dtype}",
        path,
        hint="pad to fewer timesteps (--maxlen p95, --maxlen N), or pad part of the data",
    )


def check_embedding_memory(vocabulary: int, dim: int, path: str) -> None:
    """Refuse an Embedding whose weights, gradient and Adam's two slots would not fit."""
    check_memory(
        vocabulary * dim * 4 * 4,
        f"an Embedding of {vocabulary:,} ids (the largest id + 1) x {dim} float32 "
        "(weights, gradient and the optimizer's two slots)",
        path,
        hint="number the ids densely from 1 (e.g. keep the most frequent ids and map the rest "
        "to one id), so that the largest id is small",
    )
