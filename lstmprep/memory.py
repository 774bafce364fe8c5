"""How much memory there is, and refusing work that would not fit before allocating it."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .errors import TooLarge

#: Environment variable: the memory (bytes) lstmprep may use, instead of what is available.
MEMORY_LIMIT_ENV = "LSTMPREP_MEMORY_LIMIT"


def available_memory() -> int | None:
    """Bytes of memory lstmprep can use: ``$LSTMPREP_MEMORY_LIMIT``, else what the system has
    available (``MemAvailable``, within a cgroup's limit); ``None`` when it cannot tell."""
    limit = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if limit.isdigit():
        return int(limit)
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


def check_memory(needed: int, what: str, path: str, hint: str | None = None) -> None:
    """Refuse, before allocating, work that needs more memory than is available."""
    available = available_memory()
    if available is not None and needed > available:
        raise TooLarge(
            f"{what} needs about {size_words(needed)} of memory, but only "
            f"{size_words(available)} is available",
            path=path,
            hint=hint
            or "use a smaller part of the data, or a machine with more memory "
            "(lstmprep does not stream data yet)",
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
