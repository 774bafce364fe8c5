"""Nothing lost: a real ``lstmprep`` process killed (SIGKILL) or interrupted (Ctrl-C) mid-work.

SIGKILL at any moment must leave the destination absent, the old file, or the complete new
file — never a partial one. Ctrl-C (SIGINT) must exit 130 with one line on stderr, no
traceback and no output (not even a temporary file).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

OLD = b"the old output, which must survive or be replaced whole"


def start(*args: str | Path, cwd: Path) -> subprocess.Popen:
    """``python -m lstmprep ARGS`` with Ctrl-C's default handling, whatever the parent's."""
    return subprocess.Popen(
        [sys.executable, "-m", "lstmprep", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(process: subprocess.Popen, condition: Callable[[], bool], timeout: float = 60) -> bool:
    """Poll ``condition`` until it holds (True) or the process ends (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.001)
    raise AssertionError("timed out")


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".partial" in p.name]


def has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux /proc)."""
    target = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in fds)
    except OSError:
        return False


def members(path: Path) -> dict[str, int]:
    """The members of a complete zip (.npz, .keras) and their CRCs; raises if it is damaged."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {info.filename: info.CRC for info in archive.infolist()}


# --- pad -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An input whose padded output takes a moment to write, and that output, complete."""
    folder = tmp_path_factory.mktemp("kill")
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, 4000)
    lengths[0] = 1000  # 4000 x 1000 x 8 float32: 128 MB to write
    values = rng.standard_normal((int(lengths.sum()), 8)).astype(np.float32)
    source = folder / "big.npz"
    np.savez(source, values=values, lengths=lengths)
    reference = folder / "reference.npz"
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "lstmprep", "pad", source, "-o", reference, "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {"source": source, "members": members(reference), "seconds": time.monotonic() - began}


def check_destination(dest: Path, big: dict, old: bytes | None) -> str:
    """The destination is absent, the old file or the complete new one: which."""
    if not dest.exists():
        assert old is None, "the old file was lost"
        return "absent"
    if old is not None and dest.read_bytes() == old:
        return "old"
    assert members(dest) == big["members"], "a partial or different output"
    return "new"


@pytest.mark.parametrize("when", ["write+0", "write+0.1", "written"])
@pytest.mark.parametrize("existing", [False, True], ids=["no-old-file", "old-file"])
def test_sigkill_during_pad_write(when, existing, big, tmp_path):
    dest = tmp_path / "padded.npz"
    if existing:
        dest.write_bytes(OLD)
    process = start("pad", big["source"], "-o", dest, "--force", "-q", cwd=tmp_path)
    if when == "written":  # right after the rename: the process may still be closing
        wait_for(process, lambda: dest.exists() and dest.stat().st_size != len(OLD))
    else:
        wait_for(process, lambda: bool(partials(tmp_path)))
        time.sleep(float(when.removeprefix("write+")))
    process.kill()
    process.communicate()
    check_destination(dest, big, OLD if existing else None)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8])
def test_sigkill_at_any_moment(fraction, big, tmp_path):
    """Killed at a point of the whole run (start-up, reading, padding, writing, renaming)."""
    dest = tmp_path / "padded.npz"
    dest.write_bytes(OLD)
    process = start("pad", big["source"], "-o", dest, "--force", "-q", cwd=tmp_path)
    time.sleep(big["seconds"] * fraction)
    process.kill()
    process.communicate()
    check_destination(dest, big, OLD)


def interrupt(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr.decode()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_ctrl_c_while_reading(big, tmp_path):
    dest = tmp_path / "padded.npz"
    for _ in range(3):  # reading is quick: try again if the poll missed it
        process = start("pad", big["source"], "-o", dest, cwd=tmp_path)
        pid = process.pid
        if wait_for(process, lambda pid=pid: has_open(pid, big["source"])):
            break
        process.communicate()
        dest.unlink(missing_ok=True)
    else:
        pytest.fail("never caught pad reading its input")
    code, stderr = interrupt(process)
    assert (code, stderr.strip()) == (130, "interrupted"), stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("existing", [False, True], ids=["no-old-file", "old-file"])
def test_ctrl_c_while_writing(existing, big, tmp_path):
    dest = tmp_path / "padded.npz"
    if existing:
        dest.write_bytes(OLD)
    process = start("pad", big["source"], "-o", dest, "--force", cwd=tmp_path)
    assert wait_for(process, lambda: bool(partials(tmp_path))), "never wrote"
    time.sleep(0.02)
    code, stderr = interrupt(process)
    assert code == 130, stderr
    assert stderr.strip() == "interrupted" and "Traceback" not in stderr
    assert [p.name for p in tmp_path.iterdir()] == (["padded.npz"] if existing else [])
    if existing:
        assert dest.read_bytes() == OLD


# --- train --save --------------------------------------------------------------------------------


def test_sigkill_during_train_save(small, tmp_path):
    """Killed as soon as the model starts being written: the old file or the complete new one."""
    dest = tmp_path / "model.keras"
    dest.write_bytes(OLD)
    args = ("train", small, "--save", dest, "--force", "--epochs", "1", "--seed", "0", "--quiet")
    process = start(*args, cwd=tmp_path)
    began = wait_for(process, lambda: len(list(tmp_path.iterdir())) > 1, timeout=300)
    process.kill()
    _, stderr = process.communicate()
    assert began, f"train wrote nothing (exit {process.returncode}): {stderr.decode()}"
    if dest.read_bytes() != OLD:
        members(dest)  # a complete zip, not a partial one
