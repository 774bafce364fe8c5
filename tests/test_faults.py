"""Faults of the machine while writing: disk full, read-only, forbidden, name too long, a folder
that vanished, inputs that change while read, leftovers of dead writers.

Each ends with exit 2, one message naming the file, what happened and the fix — never exit 3 —
and the folder holds no temporary file afterwards. Real faults where this machine allows them
(a small tmpfs that fills up, a read-only tmpfs: root only, skipped otherwise), and the same
errors injected at the write call everywhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstmprep import output, padded_file
from lstmprep.errors import InputChanged, OutputError
from lstmprep.output import atomic_path, temp_path, watch_inputs
from lstmprep.pipeline import pad_file
from lstmprep.train import save_model


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def make_input(folder: Path, n: int = 2000, longest: int = 100, name: str = "in.npz") -> Path:
    """A ragged input; padded, n x longest x 4 float32 (2000 x 100: 3.2 MB)."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, longest, n)
    lengths[0] = longest
    values = rng.standard_normal((int(lengths.sum()), 4)).astype(np.float32)
    path = folder / name
    np.savez(path, values=values, lengths=lengths)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    return make_input(tmp_path / "src")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    return make_input(tmp_path / "src", n=8, longest=4, name="tiny.npz")


def mount_tmpfs(folder: Path, options: str) -> None:
    folder.mkdir(exist_ok=True)
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mount not permitted here: {done.stderr.strip()}")


@pytest.fixture
def small_fs(tmp_path: Path):
    """mount(options) -> a folder on a fresh tmpfs, unmounted afterwards."""
    mounted: list[Path] = []

    def mount(options: str = "size=1m", name: str = "fs") -> Path:
        folder = tmp_path / name
        mount_tmpfs(folder, options)
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fails_cleanly(result, code: int = 2) -> str:
    """The CLI exited ``code`` with an error message, a fix and no traceback; the message."""
    assert result.exit_code == code, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    assert text.startswith("error: ") and "fix: " in text, text
    assert "internal error" not in text and "Traceback" not in text, text
    return text


# --- a disk that fills up ------------------------------------------------------------------------


def test_full_disk_is_refused_before_writing(small_fs, source, run):
    folder = small_fs("size=1m")
    dest = folder / "out.npz"
    text = fails_cleanly(run("pad", source, "-o", dest))
    assert f"{dest}: not enough free space: the output needs about 3.1 MB" in text, text
    assert "but only 1.0 MB is free" in text and "nothing was written" in text, text
    assert f"fix: free 2.1 MB on {folder}, or choose another folder" in text, text
    assert listing(folder) == []


def test_disk_that_fills_during_the_write(small_fs, source, run, monkeypatch):
    """The free space looked fine (another program filled the disk meanwhile): real ENOSPC."""
    folder = small_fs("size=1m")
    monkeypatch.setattr(output, "free_space", lambda folder: None)
    dest = folder / "out.npz"
    text = fails_cleanly(run("pad", source, "-o", dest))
    assert f"{dest}: cannot be written: the disk is full (no space left on {folder})" in text
    assert f"fix: free space on {folder}, or choose another folder" in text
    assert listing(folder) == []  # the partial file, 1 MB, was removed


def test_full_disk_names_both_sizes_when_it_fills_during_the_write(small_fs, source, run):
    folder = small_fs("size=1m")
    real, calls = output.free_space, []

    def free_space(folder):  # the check before writing sees room, the message the truth
        calls.append(folder)
        return 10**9 if len(calls) == 1 else real(folder)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(output, "free_space", free_space)
        text = fails_cleanly(run("pad", source, "-o", folder / "out.npz"))
    assert "the disk is full: the output needs about 3.1 MB, only 1.0 MB is free" in text, text
    assert "fix: free 2.1 MB on" in text
    assert listing(folder) == []


def test_a_small_output_still_fits_a_small_disk(small_fs, tiny, run):
    folder = small_fs("size=1m")
    result = run("pad", tiny, "-o", folder / "out.npz", "-q")
    assert result.exit_code == 0, result.output
    assert listing(folder) == ["out.npz"]


def test_real_leftover_space_is_freed_first(small_fs, source, run):
    """A 900 KB leftover of a dead writer fills the disk: removed, then the output fits."""
    folder = small_fs("size=1m")
    leftover = folder / f".out.{output._HOST}.{dead_pid()}.0badcafe.partial.npz"
    leftover.write_bytes(b"\0" * 900_000)
    tiny = make_input(source.parent, n=200, longest=100, name="small.npz")  # ~320 KB
    result = run("pad", tiny, "-o", folder / "out.npz", "-q")
    assert result.exit_code == 0, result.output
    assert listing(folder) == ["out.npz"]


# --- read-only, forbidden, name too long, a folder that vanished ---------------------------------


def test_read_only_file_system(small_fs, tiny, run):
    folder = small_fs("size=1m,ro")
    dest = folder / "out.npz"
    text = fails_cleanly(run("pad", tiny, "-o", dest))
    assert f"{dest}: cannot be written: {folder} is on a read-only file system" in text, text
    assert "fix: choose a folder on a writable file system" in text
    assert listing(folder) == []


def test_remounted_read_only_after_the_check(small_fs, source, tmp_path):
    """The file system turns read-only between the check before reading and the write."""
    folder = small_fs("size=10m")

    def remount(step: str) -> None:
        if step == "writing":
            done = subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=False)
            if done.returncode:
                pytest.skip("remount not permitted")

    with pytest.raises(OutputError) as caught:
        pad_file(source, folder / "out.npz", step=remount)
    assert caught.value.errno == errno.EROFS
    assert "read-only file system" in str(caught.value)
    assert listing(folder) == []


def test_train_save_on_a_read_only_file_system_is_refused_before_training(small_fs, tiny, run):
    folder = small_fs("size=1m,ro")
    dest = folder / "model.keras"
    text = fails_cleanly(run("train", tiny, "--save", dest, "--epochs", "1"))
    assert f"{dest}: cannot be written: {folder} is on a read-only file system" in text, text
    assert listing(folder) == []


def test_name_too_long(tmp_path, tiny, run):
    dest = tmp_path / ("a" * 300 + ".npz")
    text = fails_cleanly(run("pad", tiny, "-o", dest))
    assert "cannot be written: the file name is too long for this file system" in text, text
    assert "fix: choose a shorter name" in text
    assert listing(tmp_path) == ["src"]


def test_a_long_name_that_fits_gets_a_short_temporary_name(tmp_path, tiny, run):
    dest = tmp_path / ("b" * 250 + ".npz")
    assert len(temp_path(dest).name.encode()) <= 255
    result = run("pad", tiny, "-o", dest, "-q")
    assert result.exit_code == 0, result.output
    assert listing(tmp_path) == sorted([dest.name, "src"])


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_folder_where_files_cannot_be_created(tiny, run):
    text = fails_cleanly(run("pad", tiny, "-o", "/proc/out.npz"))
    assert "/proc/out.npz: cannot be written: files cannot be created in /proc (no such" in text
    assert "fix: choose another folder" in text


def test_the_output_folder_vanishes_while_padding(tmp_path, source):
    folder = tmp_path / "out"
    folder.mkdir()

    def remove(step: str) -> None:
        if step == "writing":
            folder.rmdir()

    with pytest.raises(OutputError) as caught:
        pad_file(source, folder / "out.npz", step=remove)
    message = str(caught.value)
    assert f"the output folder {folder} no longer exists" in message, message
    assert f"fix: create it again (mkdir -p {folder}) or choose another folder" in message
    assert not folder.exists()


# The same errors injected at the write call: they run everywhere (no root, no mount).
FAULTS = [
    (errno.ENOSPC, "the disk is full (no space left on", "free space on"),
    (errno.EDQUOT, "the disk quota on", "ask for a larger quota"),
    (errno.EROFS, "is on a read-only file system", "choose a folder on a writable file system"),
    (errno.EACCES, "permission denied: files cannot be created in", "get write permission on"),
    (errno.EPERM, "the operation is not permitted in", "get write permission on"),
    (errno.ENAMETOOLONG, "the file name is too long", "choose a shorter name"),
    (errno.EFBIG, "the file is larger than this file system allows", "another file system"),
    (errno.EIO, "reported an input/output error", "check the disk"),
    (errno.EMFILE, "too many files are open", "ulimit -n"),
    (errno.ENOENT, "was removed by another program", "run again"),
    (errno.ENXIO, "the system could not write it: no such device or address", "choose another"),
]


@pytest.mark.parametrize(
    ("code", "said", "fix"), FAULTS, ids=[errno.errorcode[f[0]] for f in FAULTS]
)
@pytest.mark.parametrize("when", ["write", "fsync"])
def test_os_errors_while_writing(code, said, fix, when, tmp_path, tiny, run, monkeypatch):
    dest = tmp_path / "out.npz"
    if when == "write":

        def failing_write(self, name, array):
            self.archive.fp.write(b"PK half an archive")
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(padded_file.NpzWriter, "write", failing_write)
    else:  # errors of network file systems often come only at fsync

        def failing_fsync(fd):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(output.os, "fsync", failing_fsync)
    text = fails_cleanly(run("pad", tiny, "-o", dest))
    assert text.startswith(f"error: {dest}: cannot be written: "), text
    assert said in text and fix in text, text
    assert "nothing was written" in text
    assert listing(tmp_path) == ["src"]


def test_an_os_error_wrapped_by_a_library_is_found(tmp_path):
    dest = tmp_path / "model.keras"

    class Model:
        def save(self, path):
            Path(path).write_bytes(b"half a model")
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError as e:
                raise RuntimeError("saving failed") from e

    class Result:
        model = Model()
        task, classes, padding = "binary", (0, 1), "post"

    with pytest.raises(OutputError) as caught:
        save_model(Result(), dest)  # type: ignore[arg-type]
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, OSError)
    assert listing(tmp_path) == []


def test_other_errors_are_not_disguised(tmp_path):
    with pytest.raises(ZeroDivisionError), atomic_path(tmp_path / "out.npy") as tmp:
        tmp.write_bytes(b"x")
        _ = 1 / 0
    assert listing(tmp_path) == []


# --- leftovers of writers that died --------------------------------------------------------------


def dead_pid() -> int:
    """A process id that no process has now."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_pid():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def leftover(folder: Path, host: str, pid: int | str, stem: str = "out") -> Path:
    path = folder / f".{stem}.{host}.{pid}.0123abcd.partial.npz"
    path.write_bytes(b"\0" * 1000)
    return path


def test_name_of_the_temporary_file_carries_host_and_pid(tmp_path):
    name = temp_path(tmp_path / "out.npz").name
    assert name.startswith(f".out.{output._HOST}.{os.getpid()}.") and name.endswith(".partial.npz")


def test_leftover_of_a_dead_writer_is_removed(tmp_path, tiny, run):
    stale = leftover(tmp_path, output._HOST, dead_pid())
    result = run("pad", tiny, "-o", tmp_path / "out.npz")
    assert result.exit_code == 0, result.output
    assert f"note: removed {stale.name} (1000 bytes), left by lstmprep process" in result.output
    assert listing(tmp_path) == ["out.npz", "src"]


def test_leftover_of_a_live_writer_is_kept(tmp_path, tiny, run, live_pid):
    live = leftover(tmp_path, output._HOST, live_pid)
    result = run("pad", tiny, "-o", tmp_path / "out.npz")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"note: kept {live.name} (1000 bytes) beside out.npz: process {live_pid} is" in text
    assert live.exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_leftover_whose_pid_was_reused_is_removed(tmp_path, tiny, run, live_pid):
    """The live process started after the leftover last changed: it is not its writer."""
    stale = leftover(tmp_path, output._HOST, live_pid)
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    result = run("pad", tiny, "-o", tmp_path / "out.npz", "-q")
    assert result.exit_code == 0, result.output
    assert not stale.exists()


def test_leftover_from_another_host_is_kept_with_a_note(tmp_path, tiny, run):
    other = leftover(tmp_path, "buildhost-7", 4242)
    result = run("pad", tiny, "-o", tmp_path / "out.npz")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        f"note: kept {other.name} (1000 bytes) beside out.npz: it is written by process 4242 "
        "on host buildhost-7, which lstmprep cannot check from here" in text
    ), text
    assert other.exists()


def test_leftover_of_an_older_lstmprep_is_kept_with_a_note(tmp_path, tiny, run):
    old = tmp_path / ".out.89abcdef.partial.npz"
    old.write_bytes(b"\0" * 10)
    result = run("pad", tiny, "-o", tmp_path / "out.npz")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"note: kept {old.name} (10 bytes) beside out.npz: a temporary file of an older" in text
    assert old.exists()


def test_leftovers_for_other_destinations_are_not_touched(tmp_path, tiny, run):
    pid = dead_pid()
    others = [
        leftover(tmp_path, output._HOST, pid, stem="out2"),
        leftover(tmp_path, output._HOST, pid, stem="out.b"),
        tmp_path / f".out.{output._HOST}.{pid}.0123abcd.partial.npy",  # another suffix
        tmp_path / "out.partial.npz",
    ]
    for path in others[2:]:
        path.write_bytes(b"x")
    result = run("pad", tiny, "-o", tmp_path / "out.npz")
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output
    assert all(p.exists() for p in others)


def test_leftovers_of_train_save_are_removed_too(tmp_path):
    stale = tmp_path / f".model.{output._HOST}.{dead_pid()}.0123abcd.partial.keras"
    stale.write_bytes(b"half a model")

    class Model:
        def save(self, path):
            Path(path).write_bytes(b"a model")

    class Result:
        model = Model()
        task, classes, padding = "binary", (0, 1), "post"

    save_model(Result(), tmp_path / "model.keras")  # type: ignore[arg-type]
    assert listing(tmp_path) == ["model.keras"]


# --- inputs that change while they are read ------------------------------------------------------


def test_input_appended_to_during_the_read(tmp_path, write):
    source = write("in.jsonl", [[1, 2], [3, 4, 5]])

    def append(step: str) -> None:
        if step == "checking":  # the read is done; someone still writes the file
            with open(source, "a") as f:
                f.write("[6, 7]\n")

    with pytest.raises(InputChanged) as caught:
        pad_file(source, tmp_path / "out.npz", step=append)
    message = str(caught.value)
    assert message.startswith(f"{source}: the file changed while lstmprep read it (its size")
    assert "nothing was written" in message and "fix: run again once" in message
    assert listing(tmp_path) == ["in.jsonl"]


def test_input_changed_exits_2_on_the_command_line(tmp_path, write, run, monkeypatch):
    from lstmprep import pipeline

    source = write("in.json", [[1, 2], [3, 4, 5]])
    real_read = pipeline.read

    def read_then_append(*args, **kwargs):
        dataset = real_read(*args, **kwargs)
        with open(source, "a") as f:
            f.write(" ")
        return dataset

    monkeypatch.setattr(pipeline, "read", read_then_append)
    text = fails_cleanly(run("pad", source, "-o", tmp_path / "out.npz"))
    assert text.startswith(f"error: {source}: the file changed while lstmprep read it"), text
    assert "(its size went from 19 bytes to 20 bytes); nothing was written" in text, text
    assert listing(tmp_path) == ["in.json"]


def test_input_rewritten_with_the_same_size(tmp_path, write):
    source = write("in.json", [[1, 2]])
    inputs = watch_inputs([source, None])
    later = time.time() + 5
    os.utime(source, (later, later))
    with pytest.raises(InputChanged, match=r"it was modified at"):
        inputs.check()


def test_input_replaced_or_removed(tmp_path, write):
    source = write("in.json", [[1, 2]])
    inputs = watch_inputs([source])
    other = write("other.json", [[3, 4]])
    os.replace(other, source)
    with pytest.raises(InputChanged, match="it was replaced by another file"):
        inputs.check()
    source.unlink()
    with pytest.raises(InputChanged, match="it was removed or renamed"):
        inputs.check()


def test_labels_are_watched_too(tmp_path, write):
    source = write("in.json", [[1, 2], [3]])
    labels = write("labels.json", [0, 1])

    def append(step: str) -> None:
        if step == "padding":
            with open(labels, "a") as f:
                f.write("\n")

    with pytest.raises(InputChanged, match="labels.json: the file changed"):
        pad_file(source, tmp_path / "out.npz", labels=labels, step=append)
    assert listing(tmp_path) == ["in.json", "labels.json"]


def test_train_save_refuses_a_changed_input(tmp_path, write):
    source = write("in.json", [[1, 2]])
    inputs = watch_inputs([source])
    source.write_text("[[1, 2, 3]]")

    class Result:
        task, classes, padding = "regression", (), "post"
        model = None  # never reached

    with pytest.raises(InputChanged):
        save_model(Result(), tmp_path / "model.keras", inputs=inputs)  # type: ignore[arg-type]
    assert listing(tmp_path) == ["in.json"]


def test_an_unchanged_input_is_fine(tmp_path, write):
    source = write("in.json", [[1, 2], [3]])
    pad_file(source, tmp_path / "out.npz")
    assert listing(tmp_path) == ["in.json", "out.npz"]
