"""inspect and pad on a Dask cluster, into Zarr: the same report and tensor as one process.

A LocalCluster of 2 worker processes (one per test module), 8 shards of mixed sizes; then a
real ``dask scheduler`` and ``dask worker`` started as separate processes, driven through the
command line. Skipped when the dask extra is not installed (``make test`` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="needs the dask extra: pip install 'lstmprep[dask]'")
pytest.importorskip("zarr", reason="needs the dask extra: pip install 'lstmprep[dask]'")

import dask.config  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import zarr  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import lstmprep  # noqa: E402
from lstmprep import cluster, inspect, padded_zarr  # noqa: E402
from lstmprep.errors import ClusterError, RefusedData, UsageError  # noqa: E402
from lstmprep.options import PadOptions  # noqa: E402
from lstmprep.pipeline import pad_file  # noqa: E402

SIZES = [5, 40, 13, 1, 27, 8, 60, 3]  # sequences per shard
CLASSES = ["walk", "run", "sit"]
LSTMPREP = str(Path(sys.executable).with_name("lstmprep"))
DASK = str(Path(sys.executable).with_name("dask"))
#: the command line's environment: a scheduler that is gone is given up after 3 s
ENV = {
    **os.environ,
    "COLUMNS": "120",
    "NO_COLOR": "1",
    "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s",
}


def write_shards(folder: Path, fmt: str, seed: int = 0) -> Path:
    """8 shards of ragged 2-feature sequences with class labels, as JSONL or long Parquet."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sequence = 0
    for s, n in enumerate(SIZES):
        lines, rows = [], {"id": [], "t": [], "a": [], "b": [], "label": []}
        for _ in range(n):
            x = rng.normal(size=(int(rng.integers(1, 30)), 2)).round(3)
            label = CLASSES[int(rng.integers(0, 3))]
            lines.append(json.dumps({"sequence": x.tolist(), "label": label}) + "\n")
            for t, (a, b) in enumerate(x):
                for key, v in zip(rows, (sequence, t, a, b, label), strict=True):
                    rows[key].append(v)
            sequence += 1
        if fmt == "jsonl":
            (folder / f"part{s}.jsonl").write_text("".join(lines))
        else:
            pq.write_table(pa.table(rows), folder / f"part{s}.parquet")
    return folder


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address=None,
        ) as local,
        Client(local) as c,
    ):
        yield c


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_report_and_tensor_equal_one_process(client, tmp_path, fmt):
    shards = write_shards(tmp_path / fmt, fmt)
    first = cluster.inspect_shards(shards, client)
    assert first.report == inspect(shards)
    assert first.report.stats.sequences == sum(SIZES)
    assert first.rows == tuple(SIZES)

    options = PadOptions(maxlen="p95")
    summary = cluster.pad_to_zarr(shards, tmp_path / "out.zarr", options, client=client)
    alone = pad_file(shards, tmp_path / "out.npz", options)
    assert summary.meta == alone.meta and summary.shape == alone.shape
    store, npz = padded_zarr.open_padded(tmp_path / "out.zarr"), np.load(tmp_path / "out.npz")
    assert store.x.dtype == npz["x"].dtype
    assert np.array_equal(store.x[:], npz["x"])  # value for value
    assert np.array_equal(store.lengths[:], npz["lengths"])
    assert np.array_equal(padded_zarr.labels_of(store.y), npz["y"])
    mask = np.arange(len(npz["x"])) % 3 == 0  # slices like numpy, for batches
    assert np.array_equal(store.x[mask], npz["x"][mask])
    assert np.array_equal(store.x[[5, 2]], npz["x"][[5, 2]])
    assert np.array_equal(store.parts[0].lengths, npz["lengths"])
    # inspect reads the store back as it reads the .npz (in one process: not a shard)
    assert inspect(tmp_path / "out.zarr").stats.sequences == sum(SIZES)
    with pytest.raises(UsageError, match="pad's output, read in one process"):
        cluster.inspect_shards(tmp_path / "out.zarr", client)
    assert not [p.name for p in tmp_path.iterdir() if "partial" in p.name]
    with pytest.raises(UsageError, match="exists already"):  # kept unless force
        cluster.pad_to_zarr(shards, tmp_path / "out.zarr", options, client=client)


def test_train_reads_the_store_batch_by_batch(client, tmp_path, monkeypatch):
    pytest.importorskip("tensorflow", reason="needs the train extra")
    from lstmprep import train as training

    shards = write_shards(tmp_path / "s", "parquet", seed=3)
    cluster.pad_to_zarr(shards, tmp_path / "out.zarr", client=client)
    pad_file(shards, tmp_path / "out.npz")
    tiny = training.TrainOptions(epochs=1, units=4, batch_size=8, seed=0)
    on_npz = training.train_file(tmp_path / "out.npz", tiny)

    def never(*args, **kwargs):
        raise AssertionError("the store was read whole")

    monkeypatch.setattr(training, "read", never)  # only the batch path may read it
    on_zarr = training.train_file(tmp_path / "out.zarr", tiny)
    assert on_zarr.ok and on_zarr.history == on_npz.history


def test_lazy_array_and_chunks_never_shared(client, tmp_path, monkeypatch):
    import dask.bag

    shards = write_shards(tmp_path / "s", "jsonl", seed=3)
    paths = dask.bag.from_sequence(sorted(map(str, shards.iterdir())), npartitions=2)
    report, x = lstmprep.pad_shards(paths, client)
    assert x.chunks[0] == tuple(SIZES)  # one block per shard, lazily
    npz = pad_file(shards, tmp_path / "one.npz") and np.load(tmp_path / "one.npz")
    assert report.codes() == ["ragged-length"]
    assert np.array_equal(x[40:50].compute(), npz["x"][40:50])
    assert client.run(_scratch) == {w: [] for w in client.run(_scratch)}  # one block a shard
    how = cluster.padding_of(cluster.inspect_shards(shards, client), PadOptions())
    # small chunks: a chunk straddling two shards is still written by one task only
    monkeypatch.setattr(padded_zarr, "CHUNK_BYTES", 7 * how.maxlen * 2 * 4)
    _, blocks = lstmprep.pad_shards(paths, client)  # shards of several blocks: kept meanwhile
    assert np.array_equal(blocks.compute(), npz["x"]) and any(client.run(_scratch).values())
    lstmprep.release_shards(paths, client)
    assert not any(client.run(_scratch).values())
    cluster.pad_to_zarr(shards, tmp_path / "o.zarr", client=client)
    store = zarr.open_group(str(tmp_path / "o.zarr"), mode="r")
    assert store["x"].chunks[0] == 7
    chunks = list((tmp_path / "o.zarr" / "x" / "c").iterdir())
    assert len(chunks) == -(-sum(SIZES) // 7)  # every chunk written, whole
    assert np.array_equal(store["x"][:], npz["x"])


def test_bad_shards_located(client, tmp_path, run):
    shards = write_shards(tmp_path / "bad", "jsonl")
    lines = (shards / "part4.jsonl").read_text().splitlines()
    broken = json.loads(lines[2])
    broken["sequence"][1][0] = "x"  # text where a number goes
    lines[2] = json.dumps(broken)
    (shards / "part4.jsonl").write_text("\n".join(lines) + "\n")
    (shards / "part6.jsonl").write_text('{"sequence": [[1, NaN]], "label": "run"}\n')

    first = cluster.inspect_shards(shards, client)
    assert first.report == inspect(shards)
    places = {p.code: p.places[0] for p in first.report.problems}
    assert places["non-numeric"].file == "part4.jsonl" and places["non-numeric"].line == 3
    assert places["non-finite"].file == "part6.jsonl"
    with pytest.raises(RefusedData):
        cluster.pad_to_zarr(shards, tmp_path / "out.zarr", client=client)
    assert list(tmp_path.glob("*.zarr")) == [] and not list(tmp_path.glob(".*partial*"))


def test_killed_worker_is_recovered(client, tmp_path, monkeypatch):
    shards = write_shards(tmp_path / "k", "parquet", seed=5)
    monkeypatch.setattr(padded_zarr, "CHUNK_BYTES", 5 * 29 * 2 * 4)  # many chunk writes
    before = set(client.run(os.getpid).values())
    killed = []

    def kill_one(phase: str, done: int, total: int) -> None:
        if phase == "pass 2" and done == 1 and not killed:
            pid = sorted(before)[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    cluster.pad_to_zarr(shards, tmp_path / "out.zarr", client=client, progress=kill_one)
    assert killed
    pad_file(shards, tmp_path / "out.npz")
    store, npz = padded_zarr.open_padded(tmp_path / "out.zarr"), np.load(tmp_path / "out.npz")
    assert np.array_equal(store.x[:], npz["x"]) and np.array_equal(store.lengths[:], npz["lengths"])
    client.wait_for_workers(2, timeout=30)
    assert set(client.run(os.getpid).values()) != before  # the nanny started a new worker


def test_a_worker_that_cannot_write_is_not_a_lost_scheduler(client):
    def fail() -> None:  # as a worker that does not see the output's folder
        raise PermissionError(13, "Permission denied", "/elsewhere/out.zarr")

    with pytest.raises(ClusterError, match="could not read or write a file: PermissionError"):
        cluster._run(client, [client.submit(fail, pure=False)], "pass 2", lambda *a: None)


def _malloc_trim() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_workers_allocate_as_one_process(monkeypatch):
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_ set, which makes glibc map every array
    past 128 KB afresh (~60 % more CPU for the two passes here): `local` starts them without
    it, and leaves Dask's setting as it was for everything else."""
    # as in a fresh `lstmprep` process (an earlier LocalCluster here left it in os.environ)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = dask.config.get(cluster.SPAWN_ENVIRON)
    assert "MALLOC_TRIM_THRESHOLD_" in before  # what Dask does by default
    with cluster.connect("local:1") as c:
        assert list(c.run(_malloc_trim).values()) == [None]
    assert dask.config.get(cluster.SPAWN_ENVIRON) == before


# --- a real scheduler, in processes of its own ---------------------------------------------------


@pytest.fixture
def scheduler(tmp_path, tmp_path_factory):
    """``dask scheduler`` and one ``dask worker`` (2 processes), as separate processes, the
    workers in a folder of their own."""
    info = tmp_path / "s.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    common = ["--no-dashboard", "--host", "127.0.0.1"]
    boss = subprocess.Popen(
        [DASK, "scheduler", "--port", "0", "--scheduler-file", str(info), *common], **quiet
    )
    worker = subprocess.Popen(
        [DASK, "worker", "--scheduler-file", str(info), "--nworkers", "2", "--nthreads", "1"]
        + common,
        cwd=tmp_path_factory.mktemp("elsewhere"),
        **quiet,
    )
    try:
        address = None
        for _ in range(300):
            if info.exists() and info.stat().st_size:
                address = json.loads(info.read_text())["address"]
                with Client(address, timeout=30) as c:
                    c.wait_for_workers(2, timeout=30)
                break
            time.sleep(0.1)
        assert address, "the scheduler did not start"
        yield address, boss
    finally:
        for process in (worker, boss):
            process.kill()
            process.wait()


def test_commands_against_a_real_scheduler(scheduler, tmp_path, monkeypatch):
    address, boss = scheduler
    monkeypatch.chdir(tmp_path)
    shards = write_shards(tmp_path / "p", "parquet", seed=7)

    def lstmprep(*args: object) -> subprocess.CompletedProcess:
        words = [LSTMPREP, *map(str, args)]  # paths relative to tmp_path, not the workers'
        return subprocess.run(
            words, capture_output=True, text=True, env=ENV, timeout=120, cwd=tmp_path
        )

    def scratch() -> list[str]:
        def kept(dask_worker) -> list[str]:
            return [p.name for p in Path(dask_worker.local_directory).glob("lstmprep/*")]

        with Client(address, timeout=30) as c:
            return [name for names in c.run(kept).values() for name in names]

    on_cluster = lstmprep("inspect", "p", "--scheduler", address, "--json")
    assert on_cluster.returncode == 0, on_cluster.stderr
    # one process's report, but for the suggested commands: pad again on the cluster
    alone = json.dumps(inspect("p").to_dict()).replace(
        "-o padded.npz", f"-o padded.zarr --scheduler {address}"
    )
    assert json.loads(on_cluster.stdout) == json.loads(alone)
    assert f"--scheduler {address}" in json.loads(on_cluster.stdout)["next_command"]

    out = tmp_path / "out.zarr"
    done = lstmprep("pad", "p", "-o", "out.zarr", "--scheduler", address, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["shape"] == [sum(SIZES), 29, 2]
    assert json.loads(done.stdout)["next_command"] == "lstmprep train out.zarr"
    assert scratch() == []  # the workers keep nothing of the shards once done
    pad_file(shards, tmp_path / "one.npz")
    x = np.load(tmp_path / "one.npz")["x"]
    assert np.array_equal(zarr.open_array(str(out / "x"), mode="r")[:], x)

    bad = write_shards(tmp_path / "bad", "jsonl", seed=7)
    (bad / "part3.jsonl").write_text('{"sequence": [[1, NaN]], "label": "run"}\n')
    refused = lstmprep("pad", "bad", "-o", "bad.zarr", "--scheduler", address)
    assert refused.returncode == 1, refused.stderr
    lines = [line.strip() for line in refused.stderr.splitlines()]
    assert f"lstmprep inspect bad --scheduler {address}" in lines, refused.stderr
    assert not (tmp_path / "bad.zarr").exists() and scratch() == []
    shutil.rmtree(bad)

    # the scheduler killed in the middle of pass 2 of a --force run: exit 2, the old store
    # kept as it was, and no temporary store left beside it
    def slow_pass_2() -> None:  # runs in each worker: every row block padded takes a second
        import lstmprep.cluster

        pad = lstmprep.cluster.pad_rows

        def slow(*args, **kwargs):
            time.sleep(1)
            return pad(*args, **kwargs)

        lstmprep.cluster.pad_rows = slow

    with Client(address, timeout=30) as c:
        c.run(slow_pass_2)
    words = [LSTMPREP, "pad", str(shards), "-o", str(out), "--scheduler", address, "--force"]
    pad = subprocess.Popen(words, stderr=subprocess.PIPE, text=True, env=ENV)
    for _ in range(400):  # until pass 2 has begun: the temporary store is there
        if [p for p in tmp_path.iterdir() if "partial" in p.name]:
            break
        time.sleep(0.05)
    boss.kill()
    _, stderr = pad.communicate(timeout=120)
    assert pad.returncode == 2, stderr
    assert "the Dask scheduler went away" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.npz", "out.zarr", "p", "s.json"]
    assert np.array_equal(zarr.open_array(str(out / "x"), mode="r")[:], x)


def _jsonl(path: Path, sequences: list, labels: list | None = None) -> None:
    rows = [
        {"sequence": s, "label": y} if labels else s
        for s, y in zip(sequences, labels or sequences, strict=True)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def scenario(folder: Path, name: str) -> tuple[object, dict]:
    """Shards that take each branch of the merge: (source, reading options)."""
    rng = np.random.default_rng(11)
    folder.mkdir()
    if name == "tokens":  # found to be token ids on the whole (20+ distinct), not per shard
        for i in range(3):
            ids = [rng.permutation(np.arange(1 + 10 * i, 11 + 10 * i))[:6] for _ in range(4)]
            lines = [" ".join(map(str, line)) for line in ids]
            (folder / f"t{i}.txt").write_text("\n".join(lines) + "\n")
        return folder, {}
    if name == "labels-file":
        _jsonl(folder / "a.jsonl", [[[1, 2], [3, 4]], [[5, 6]]])
        _jsonl(folder / "b.jsonl", [[[0, 1]], [[2, 2], [3, 3], [4, 4]]])
        labels = folder.parent / "labels.json"
        labels.write_text(json.dumps([[1, 0], [0, 1], [0, 1], [1, 0]]))  # one-hot
        return folder, {"labels": str(labels)}
    if name == "mixed":  # a shard of other features, a shard without labels
        _jsonl(folder / "a.jsonl", [[[1, 2], [3, 4]], [[5, 6]]], ["x", "y"])
        _jsonl(folder / "b.jsonl", [[[1, 2, 3]]], ["x"])
        _jsonl(folder / "c.jsonl", [[[7, 0], [0, 0]]])
        return folder, {}
    if name == "csv":
        for i in range(2):
            rows = ["id,t,a,label"] + [
                f"{i}{k},{t},{t * 0.5 + k},{k % 2}" for k in range(3) for t in range(k + 1)
            ]
            (folder / f"p{i}.csv").write_text("\n".join(rows) + "\n")
        return folder, {}
    path = folder / "one.parquet"  # one file: not shards
    pq.write_table(pa.table({"id": [1, 1, 2], "t": [0, 1, 0], "v": [0.5, np.nan, 2.0]}), path)
    return path, {}


@pytest.mark.parametrize("name", ["tokens", "labels-file", "mixed", "csv", "single"])
def test_every_reading_merges_as_one_process(client, tmp_path, name):
    from lstmprep.readers import ReadOptions

    source, options = scenario(tmp_path / "in", name)
    reading = ReadOptions(**options)
    first = cluster.inspect_shards(source, client, reading)
    on_cluster, alone = first.report.to_dict(), inspect(source, reading).to_dict()
    assert json.dumps(on_cluster, indent=1) == json.dumps(alone, indent=1)
    if name == "tokens":
        assert first.dataset.kind == "tokens"
        cluster.pad_to_zarr(source, tmp_path / "t.zarr", client=client, reading=reading)
        pad_file(source, tmp_path / "t.npz", reading=reading)
        x = np.load(tmp_path / "t.npz")["x"]
        assert x.dtype == np.int32 and x.ndim == 2
        assert np.array_equal(zarr.open_array(str(tmp_path / "t.zarr" / "x"))[:], x)


def test_interrupted_pad_leaves_nothing(client, tmp_path, monkeypatch):
    shards = write_shards(tmp_path / "i", "parquet", seed=9)
    monkeypatch.setattr(padded_zarr, "CHUNK_BYTES", 5 * 29 * 2 * 4)  # many chunk writes

    def interrupt(phase: str, done: int, total: int) -> None:
        if phase == "pass 2" and done == 1:
            raise KeyboardInterrupt  # Ctrl-C while the workers write

    with pytest.raises(KeyboardInterrupt):
        cluster.pad_to_zarr(shards, tmp_path / "out.zarr", client=client, progress=interrupt)
    time.sleep(0.5)  # a write still running would show up now
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i"]
    assert not any(client.run(_scratch).values())  # nor what the workers kept


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "shuffled"])
def test_tiny_worker_budget_reads_shards_in_chunks(client, tmp_path, monkeypatch, fmt):
    """A budget far below a shard's size: the workers read their shards in chunks, keep them
    chunk by chunk and pad them in row blocks; the report and x are still one process's.
    ``shuffled``: long Parquet shards whose sequences' rows are scattered (read by partitions)."""
    from lstmprep.readers import ReadOptions

    shards = write_shards(tmp_path / fmt, "jsonl" if fmt == "jsonl" else "parquet", seed=13)
    if fmt == "shuffled":
        rng = np.random.default_rng(0)
        for shard in shards.iterdir():
            table = pq.read_table(shard)
            pq.write_table(table.take(rng.permutation(len(table))), shard, row_group_size=20)
    options = PadOptions(maxlen="p95")
    alone = inspect(shards)
    pad_file(shards, tmp_path / "one.npz", options)  # in memory (the budget is not set yet)
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", "8KB")  # as --memory-limit: every worker's
    monkeypatch.setattr(padded_zarr, "CHUNK_BYTES", 5 * 29 * 2 * 4)  # row blocks of ~5 rows
    biggest = str(max(shards.iterdir(), key=lambda p: p.stat().st_size))
    sizes = client.run(cluster._chunk_bytes, biggest, ReadOptions(), cluster._limit())
    assert set(sizes.values()) == {4096}  # read in 4 KB chunks on every worker

    assert cluster.inspect_shards(shards, client).report == alone
    totals = {}
    before = client.run(_scratch)
    cluster.pad_to_zarr(
        shards,
        tmp_path / "out.zarr",
        options,
        client=client,
        progress=lambda phase, done, total: totals.update({phase: total}),
    )
    assert totals["pass 2"] > len(SIZES)  # more chunk writes than shards
    assert client.run(_scratch) == before  # what the workers kept is removed
    store, npz = padded_zarr.open_padded(tmp_path / "out.zarr"), np.load(tmp_path / "one.npz")
    assert np.array_equal(store.x[:], npz["x"]) and np.array_equal(store.lengths[:], npz["lengths"])
    assert np.array_equal(padded_zarr.labels_of(store.y), npz["y"])
    for name in ("csv", "mixed", "tokens"):  # the other branches, read in chunks too
        source, _ = scenario(tmp_path / name, name)
        monkeypatch.delenv("LSTMPREP_MEMORY_LIMIT")
        expected = json.dumps(inspect(source).to_dict())
        monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", "100")
        assert json.dumps(cluster.inspect_shards(source, client).report.to_dict()) == expected


def _scratch(dask_worker) -> list[str]:
    """(on a worker) What lstmprep keeps in its scratch folder."""
    return sorted(p.name for p in (Path(dask_worker.local_directory) / "lstmprep").glob("*"))
