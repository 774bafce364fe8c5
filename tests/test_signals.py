"""SIGTERM and SIGHUP sent to real ``lstmprep`` processes, and what SIGKILL leaves behind.

SIGTERM (how CI cancels a job) and SIGHUP (a closed terminal) are handled like Ctrl-C: one
line saying what was interrupted, exit 143 / 129, no traceback, the partial file removed and
the destination untouched. A process killed with SIGKILL cannot clean up: the next ``pad`` to
the same destination removes its leftover.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_kill import partials, wait_for

from lstmprep import output

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

OLD = b"the old output, which must survive"
CODES = {"SIGTERM": 143, "SIGHUP": 129}


def start(*args: str | Path, cwd: Path, ignore_hup: bool = False) -> subprocess.Popen:
    """``python -m lstmprep ARGS`` with default signal handling (or SIGHUP ignored: nohup)."""

    def reset() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN if ignore_hup else signal.SIG_DFL)

    return subprocess.Popen(
        [sys.executable, "-m", "lstmprep", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TF_CPP_MIN_LOG_LEVEL": "3"},
        preexec_fn=reset,
    )


def send(process: subprocess.Popen, name: str) -> tuple[int, str]:
    process.send_signal(getattr(signal, name))
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr.decode()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An input whose padded output (3000 x 1000 x 8 float32: 96 MB) takes a moment to write."""
    folder = tmp_path_factory.mktemp("signals")
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, 3000)
    lengths[0] = 1000
    values = rng.standard_normal((int(lengths.sum()), 8)).astype(np.float32)
    source = folder / "big.npz"
    np.savez(source, values=values, lengths=lengths)
    return source


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("existing", [False, True], ids=["no-old-file", "old-file"])
def test_signal_while_writing(name, existing, big, tmp_path):
    dest = tmp_path / "padded.npz"
    if existing:
        dest.write_bytes(OLD)
    process = start("pad", big, "-o", dest, "--force", cwd=tmp_path)
    assert wait_for(process, lambda: bool(partials(tmp_path))), "never wrote"
    time.sleep(0.02)
    code, stderr = send(process, name)
    kept = f"{dest} is untouched" if existing else f"{dest} was not created"
    expected = (
        f"lstmprep pad stopped by {name} while writing {dest}: "
        f"the partial file was removed and {kept}"
    )
    assert (code, stderr.strip()) == (CODES[name], expected), stderr
    assert listing(tmp_path) == (["padded.npz"] if existing else [])
    if existing:
        assert dest.read_bytes() == OLD


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_sigterm_while_reading(big, tmp_path):
    dest = tmp_path / "padded.npz"
    for _ in range(3):  # reading is quick: try again if the poll missed it
        process = start("pad", big, "-o", dest, cwd=tmp_path)
        pid = process.pid
        if wait_for(process, lambda pid=pid: has_open(pid, big)):
            break
        process.communicate()
        dest.unlink(missing_ok=True)
    else:
        pytest.fail("never caught pad reading its input")
    code, stderr = send(process, "SIGTERM")
    assert (code, stderr.strip()) == (143, "lstmprep pad stopped by SIGTERM: nothing was written")
    assert listing(tmp_path) == []


def has_open(pid: int, path: Path) -> bool:
    target = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in fds)
    except OSError:
        return False


def test_a_second_sigterm_does_not_cut_the_cleanup_short(big, tmp_path):
    dest = tmp_path / "padded.npz"
    process = start("pad", big, "-o", dest, cwd=tmp_path)
    assert wait_for(process, lambda: bool(partials(tmp_path))), "never wrote"
    for _ in range(5):
        process.send_signal(signal.SIGTERM)
    code, stderr = send(process, "SIGTERM")
    assert code == 143 and len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    assert listing(tmp_path) == []


def test_sighup_ignored_by_nohup_stays_ignored(big, tmp_path):
    dest = tmp_path / "padded.npz"
    process = start("pad", big, "-o", dest, "-q", cwd=tmp_path, ignore_hup=True)
    assert wait_for(process, lambda: bool(partials(tmp_path))), "never wrote"
    code, stderr = send(process, "SIGHUP")
    assert (code, stderr) == (0, "")
    assert listing(tmp_path) == ["padded.npz"]
    with zipfile.ZipFile(dest) as archive:
        assert archive.testzip() is None


def test_sigkill_leftover_is_removed_by_the_next_pad(big, tmp_path):
    dest = tmp_path / "padded.npz"
    process = start("pad", big, "-o", dest, cwd=tmp_path)
    assert wait_for(process, lambda: bool(partials(tmp_path))), "never wrote"
    time.sleep(0.05)
    process.kill()
    process.communicate()
    [leftover] = partials(tmp_path)
    assert leftover.name.startswith(f".padded.{output._HOST}.{process.pid}.")

    again = subprocess.run(
        [sys.executable, "-m", "lstmprep", "pad", big, "-o", dest, "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert f"note: removed {leftover.name} (" in again.stderr
    assert f"left by lstmprep process {process.pid}, now gone" in again.stderr
    assert listing(tmp_path) == ["padded.npz"]


# --- train ---------------------------------------------------------------------------------------


def test_sigterm_during_training(small, tmp_path):
    """TensorFlow loaded, training: the model is not saved, the old file stays."""
    dest = tmp_path / "model.keras"
    dest.write_bytes(OLD)
    args = ("train", small, "--save", dest, "--force", "--epochs", "1000", "--units", "4")
    process = start(*args, cwd=tmp_path)
    assert process.stdout is not None
    line = process.stdout.readline()  # the first line of output: training has begun
    assert line, process.communicate()[1].decode()
    code, stderr = send(process, "SIGTERM")
    assert (code, stderr.strip()) == (
        143,
        "lstmprep train stopped by SIGTERM: nothing was written",
    ), stderr
    assert listing(tmp_path) == ["model.keras"] and dest.read_bytes() == OLD


def test_sigterm_while_saving_the_model(small, tmp_path):
    dest = tmp_path / "model.keras"
    dest.write_bytes(OLD)
    args = ("train", small, "--save", dest, "--force", "--epochs", "1", "--quiet")
    process = start(*args, cwd=tmp_path)
    began = wait_for(process, lambda: bool(partials(tmp_path)), timeout=300)
    code, stderr = send(process, "SIGTERM")
    assert began, f"train wrote nothing (exit {code}): {stderr}"
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1, stderr
    assert partials(tmp_path) == []
    if code == 143:  # in time: the old file is untouched
        message = stderr.strip()  # (train --quiet writes an empty line first: rich's Progress)
        assert message.startswith(f"lstmprep train stopped by SIGTERM while writing {dest}")
        assert dest.read_bytes() == OLD
    else:  # the save was already complete
        assert code == 0, stderr
        with zipfile.ZipFile(dest) as archive:
            assert archive.testzip() is None
