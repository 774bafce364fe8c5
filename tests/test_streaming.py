"""Data larger than the memory budget: a tiny ``--memory-limit`` forces the chunked path on
small files, whose output and report must be the in-memory path's, byte for byte."""

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

import lstmprep
from lstmprep import streaming

#: a budget that makes every test file stream, in chunks of 4 KB
TINY = "16KB"


@pytest.fixture(autouse=True)
def no_limit(monkeypatch):
    """No budget unless a test gives one (``--memory-limit`` sets it for the process)."""
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", "")


def unlimited() -> None:
    os.environ["LSTMPREP_MEMORY_LIMIT"] = ""


def sequences(n: int, seed: int = 0, features: int = 3) -> list[list[list[float]]]:
    rng = np.random.default_rng(seed)
    return [
        np.round(rng.normal(size=(int(rng.integers(1, 30)), features)), 3).tolist()
        for _ in range(n)
    ]


def lines(path: Path, items: list) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def pad_both(run, tmp_path: Path, source: object, *options: object, suffix: str = ".npz"):
    """(in-memory output bytes, streamed output bytes, the two --json summaries)"""
    outputs, summaries = [], []
    for limit in (None, TINY):
        unlimited()
        out = tmp_path / f"out-{limit}{suffix}"
        args = ["pad", source, "-o", out, *options]
        if limit:
            args += ["--memory-limit", limit]
        summary = run.json(*args, code=0)
        outputs.append(out.read_bytes())
        summaries.append(summary)
    assert [s["streamed"] for s in summaries] == [False, True]
    return outputs, summaries


@pytest.mark.parametrize(
    "options",
    [
        (),
        ("--maxlen", "p95", "--padding", "pre", "--truncating", "post", "--value", "-1"),
        ("--buckets", "3"),
        ("--dtype", "float16", "--maxlen", "12"),
    ],
    ids=["default", "p95-pre-post", "buckets", "float16"],
)
def test_pad_jsonl_streamed_is_byte_identical(options, run, tmp_path):
    labelled = [{"sequence": s, "label": f"c{i % 3}"} for i, s in enumerate(sequences(400))]
    source = lines(tmp_path / "data.jsonl", labelled)
    assert source.stat().st_size > 16 * (4 << 10)  # many chunks
    (memory, streamed), summaries = pad_both(run, tmp_path, source, *options)
    assert memory == streamed
    for s in summaries:
        s.pop("streamed"), s.pop("output"), s.pop("next_command")
    assert summaries[0] == summaries[1]


def test_npy_output_and_npz_values_lengths_input(run, tmp_path):
    seqs = sequences(300, seed=1)
    values = np.concatenate([np.array(s) for s in seqs]).astype(np.float32)
    lengths = np.array([len(s) for s in seqs])
    source = tmp_path / "values.npz"
    np.savez(source, values=values, lengths=lengths, y=np.arange(300) % 2)
    (memory, streamed), _ = pad_both(run, tmp_path, source, suffix=".npy")
    assert memory == streamed
    (memory, streamed), _ = pad_both(run, tmp_path, source)
    assert memory == streamed


def test_labels_file_and_npy_labels(run, tmp_path):
    source = lines(tmp_path / "data.jsonl", sequences(300, seed=7))
    labels = tmp_path / "labels.npy"
    np.save(labels, np.arange(300) % 4)
    (memory, streamed), summaries = pad_both(run, tmp_path, source, "--labels", labels)
    assert memory == streamed and summaries[1]["labels"]


def test_token_ids_kind_decided_over_all_chunks(run, tmp_path):
    """The first chunk has too few distinct ids to be read as ids, the whole data has enough:
    the pass runs again with the whole data's kind, as the in-memory path decides it."""
    rng = np.random.default_rng(2)
    first = [[int(v) for v in rng.integers(1, 4, 20)] for _ in range(300)]
    later = [[int(v) for v in rng.integers(1, 500, 20)] for _ in range(300)]
    source = lines(tmp_path / "ids.jsonl", first + later)
    (memory, streamed), summaries = pad_both(run, tmp_path, source)
    assert memory == streamed
    assert summaries[1]["meta"]["kind"] == "tokens" and summaries[1]["dtype"] == "int32"


def broken_lines(tmp_path: Path) -> Path:
    """Every kind of problem, spread over many chunks: the reader's and the checks'."""
    items: list = sequences(200, seed=3)
    items[5][0][1] = "n/a"  # non-numeric
    items[40][1] = [1.0, [2.0], 3.0]  # rank
    items[77].append([1.0, 2.0])  # feature-mismatch
    items[120][0][2] = 1e300  # lossy-cast
    items[150] = []  # empty-sequence
    items[160][1] = [0.0, 0.0, 0.0]  # pad-collision
    items[199][0][0] = 1e400  # non-finite (read as inf)
    text = "".join(json.dumps(x).replace("1e+400", "1e400") + "\n" for x in items)
    path = tmp_path / "broken.jsonl"
    path.write_text(text.replace("Infinity", "1e400"))
    return path


def test_inspect_streamed_report_equals_in_memory(run, tmp_path, monkeypatch):
    source = broken_lines(tmp_path)
    memory = run.json("inspect", source, code=1)
    streamed = run.json("inspect", source, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory
    codes = {p["code"] for p in memory["problems"]}
    assert {"non-numeric", "rank", "feature-mismatch", "lossy-cast", "empty-sequence"} <= codes
    # the library: the same Report value
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", TINY)
    assert lstmprep.inspect(source).to_dict() == memory


def test_pad_says_it_streamed(run, tmp_path):
    source = lines(tmp_path / "data.jsonl", sequences(300, seed=3))
    said = [
        run("pad", source, "-o", tmp_path / f"{n}.npz", *limit).stderr
        for n, limit in (("memory", ()), ("streamed", ("--memory-limit", TINY)))
    ]
    assert ["streamed:" in s for s in said] == [False, True]


def test_pad_refuses_streamed_errors_and_writes_nothing(run, tmp_path):
    source = broken_lines(tmp_path)
    out = tmp_path / "out.npz"
    memory = run("pad", source, "-o", out)
    streamed = run("pad", source, "-o", out, "--memory-limit", TINY)
    unlimited()
    assert memory.exit_code == streamed.exit_code == 1
    assert streamed.output == memory.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jsonl"]


def test_shards_stream_file_by_file(run, tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(3):
        lines(folder / f"part-{k}.jsonl", sequences(120, seed=10 + k))
    (memory, streamed), _ = pad_both(run, tmp_path, folder)
    assert memory == streamed
    # labels in some files and not in others: the same report either way
    lines(folder / "part-3.jsonl", [{"sequence": s, "label": 1} for s in sequences(50, seed=9)])
    streamed = run.json("inspect", folder, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == run.json("inspect", folder, code=1)


def test_json_document_too_large_is_refused_with_the_conversion(run, tmp_path):
    seqs = sequences(300, seed=4)
    source = tmp_path / "data.json"
    source.write_text(json.dumps({"sequences": seqs, "labels": [i % 2 for i in range(300)]}))
    result = run("pad", source, "-o", tmp_path / "out.npz", "--memory-limit", TINY)
    assert result.exit_code == 2
    assert "jq -c" in result.output and "data.jsonl" in result.output
    if shutil.which("jq"):  # the command runs as printed: its lines, pasted into bash
        fix = result.output[result.output.index("fix:") :].splitlines()[1:]
        command = "\n".join(fix[: next(i for i, s in enumerate(fix) if "data.jsonl" in s) + 1])
        subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)
        whole = lstmprep.read(source)
        converted = lstmprep.read(tmp_path / "data.jsonl")
        assert np.array_equal(whole.ragged.values, converted.ragged.values)
        assert np.array_equal(whole.labels, converted.labels)


def test_plan_streams_only_what_does_not_fit(tmp_path, monkeypatch):
    source = lines(tmp_path / "d.jsonl", sequences(50))
    reading = lstmprep.ReadOptions()
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", "1GB")
    assert streaming.plan(source, reading) is None
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", "1KB")
    assert streaming.plan(source, reading) == streaming.CHUNK_MIN
    dense = tmp_path / "d.npy"
    np.save(dense, np.zeros((50, 4, 2)))
    assert streaming.plan(dense, reading) is None  # read whole (memory-mapped), or refused


def test_lines_of_objects_are_planned_as_json_reads_them(tmp_path, monkeypatch):
    """Objects take the exact path (a Python object per number): a budget that bare lists
    fit in whole streams the same sequences written as objects."""
    items = sequences(300)
    bare = lines(tmp_path / "bare.jsonl", items)
    objects = lines(tmp_path / "objects.jsonl", [{"sequence": s, "label": 1} for s in items])
    budget = 3 * objects.stat().st_size  # bare lists need 2x, objects about 20x
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", str(budget))
    reading = lstmprep.ReadOptions()
    assert streaming.plan(bare, reading) is None
    assert streaming.plan(objects, reading) is not None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigkill_during_the_second_pass_leaves_no_partial_output(tmp_path):
    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 300, 3000)
    lengths[0] = 2000  # 3000 x 2000 x 8 float32: 192 MB written in pass 2
    source = tmp_path / "big.npz"
    np.savez(source, values=rng.standard_normal((int(lengths.sum()), 8)), lengths=lengths)
    dest = tmp_path / "padded.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "lstmprep", "pad", source, "-o", dest, "-q"],
        env={**os.environ, "LSTMPREP_MEMORY_LIMIT": "16MB"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not any(".partial" in p.name for p in tmp_path.iterdir()):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not dest.exists()


def long_table(tmp_path: Path, suffix: str) -> Path:
    """A long table: each sequence's rows together, its times shuffled; a text cell, a
    duplicate time, a class label per sequence."""
    rng = np.random.default_rng(6)
    rows = []
    for i in range(150):
        times = rng.permutation(int(rng.integers(2, 12)))
        rows += [[f"s{i}", int(t), *np.round(rng.normal(size=2), 3), f"c{i % 2}"] for t in times]
    rows[30][2] = "n/a"
    rows[400][1] = rows[401][1] = 99  # one sequence at time 99 twice
    path = tmp_path / f"long{suffix}"
    header = ["id", "t", "a", "b", "label"]
    if suffix == ".csv":
        path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [r for r in rows if r[2] != "n/a"]
        columns = list(zip(*rows, strict=True))
        table = pa.table({n: list(c) for n, c in zip(header, columns, strict=True)})
        pq.write_table(table, path, row_group_size=100)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_tables_stream_in_record_batches(suffix, run, tmp_path):
    source = long_table(tmp_path, suffix)
    memory = run.json("inspect", source, code=1)
    streamed = run.json("inspect", source, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory
    assert "duplicate-time" in {p["code"] for p in memory["problems"]}
    fixed = tmp_path / f"fixed{suffix}"
    if suffix == ".csv":
        fixed.write_text(source.read_text().replace("n/a", "0.5").replace(",99,", ",98,", 1))
    else:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = pq.read_table(source)
        t = table.column("t")
        first = int(np.flatnonzero(t.to_numpy() == 99)[0])
        times = t.to_numpy().copy()
        times[first] = 98
        table = table.set_column(1, "t", pc.cast(times, t.type))
        pq.write_table(table, fixed, row_group_size=100)
    (memory_bytes, streamed_bytes), _ = pad_both(run, tmp_path, fixed)
    assert memory_bytes == streamed_bytes


def shuffled_table(tmp_path: Path, suffix: str, problems: bool) -> Path:
    """A long table whose rows are shuffled: each sequence's rows anywhere in the file, its
    times in any order (float times, some sequences with gaps); with ``problems``, a text
    cell, a duplicate time and a label that changes."""
    rng = np.random.default_rng(8)
    rows = []
    for i in range(300):
        times = np.cumsum(rng.integers(1, 3, int(rng.integers(1, 15)))) * 0.5
        rows += [[i * 7 % 1000, float(t), *np.round(rng.normal(size=2), 3), i % 3] for t in times]
    rows = [rows[k] for k in rng.permutation(len(rows))]
    if problems:  # text cells in several parts, the first in the file in the second column
        rows[700][2], rows[1500][2], rows[50][3] = "n/a", "", "?"
        twin = next(k for k in range(900, len(rows)) if rows[k][0] == rows[300][0])
        rows[twin][1] = rows[300][1]  # one sequence at one time twice
        rows[twin][4] = 9  # its label changes
    path = tmp_path / f"shuffled{suffix}"
    header = ["id", "time", "a", "b", "label"]
    if suffix == ".csv":
        path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = [r for r in rows if not isinstance(r[2], str) and not isinstance(r[3], str)]
        columns = list(zip(*rows, strict=True))
        table = pa.table({n: list(c) for n, c in zip(header, columns, strict=True)})
        pq.write_table(table, path, row_group_size=200)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_unsorted_long_tables_stream_by_partitions(suffix, run, tmp_path, monkeypatch):
    """Rows of a sequence scattered over the file: read in parts by sequence ranges, with
    the in-memory path's report (places, lines, rows) and output."""
    from lstmprep.readers import chunked

    parts = []
    split = chunked._Partitions._split
    monkeypatch.setattr(
        chunked._Partitions, "_split", lambda self, *a: parts.append(split(self, *a)) or parts[-1]
    )
    source = shuffled_table(tmp_path, suffix, problems=True)
    memory = run.json("inspect", source, code=1)
    streamed = run.json("inspect", source, "--memory-limit", TINY, code=1)
    unlimited()
    assert {"duplicate-time", "label-mismatch"} <= {p["code"] for p in memory["problems"]}
    if suffix == ".csv":  # text cells in several parts: their places in file order
        (text,) = [p for p in memory["problems"] if p["code"] == "non-numeric"]
        assert text["count"] == 3 and "(2 such cells in 'a')" in text["message"]
        lines = [p["line"] for p in text["places"]]
        assert lines[:2] == sorted(lines[:2]) and lines != sorted(lines)  # 'a', then 'b'
    assert streamed == memory
    clean = shuffled_table(tmp_path / "..", suffix, problems=False)
    (memory_bytes, streamed_bytes), summaries = pad_both(run, tmp_path, clean)
    assert memory_bytes == streamed_bytes
    assert summaries[0]["shape"][0] == 300
    assert len(parts) == 2 and len(parts[0]) > 5  # inspect and pad, each in several parts


def test_unsorted_table_refusals_name_the_in_memory_places(run, tmp_path):
    """An empty id in several record batches, a time that is not one: refused as the whole
    file's reader refuses them (the first place in the file, the count over all of it)."""
    rows = shuffled_table(tmp_path, ".csv", problems=False).read_text().splitlines()
    rows = rows + rows[1:]  # several blocks of text
    for k in (40, 4000):
        rows[k] = "," + rows[k].split(",", 1)[1]
    for k in (30, 3000):  # the first cell after the id: the time
        rows[k] = rows[k].replace(".", "x", 1)
    source = tmp_path / "refused.csv"
    for fix in (False, True):
        if fix:
            rows[40] = "1" + rows[40]
            rows[4000] = "1" + rows[4000]
        source.write_text("\n".join(rows) + "\n")
        memory = run("pad", source, "-o", tmp_path / "out.npz")
        streamed = run("pad", source, "-o", tmp_path / "out.npz", "--memory-limit", TINY)
        unlimited()
        assert memory.exit_code == streamed.exit_code == 2
        assert streamed.output == memory.output
        assert ("empty (2" in memory.output) != fix and ("time column" in memory.output) == fix


def mixed_widths(tmp_path: Path) -> Path:
    """Sequences of 3 features, a run of 2-feature ones long enough to fill chunks of their
    own, and single timesteps of the other widths in both."""
    items: list = sequences(300, seed=11)
    items[100:170] = sequences(70, seed=12, features=2)
    items[20][1] = [1.0, 2.0]
    items[130][2] = [1.0, 2.0, 3.0]
    items[200][0][1] = "x"
    return lines(tmp_path / "mixed.jsonl", items)


def test_chunks_of_other_features_are_reported_as_in_memory(run, tmp_path):
    """A chunk whose sequences mostly have other features: each timestep that differs from
    the whole data's most common width is reported, as reading it whole does; pad refuses it
    with the same message."""
    source = mixed_widths(tmp_path)
    memory = run.json("inspect", source, code=1)
    streamed = run.json("inspect", source, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory
    (mismatch,) = [p for p in memory["problems"] if p["code"] == "feature-mismatch"]
    assert mismatch["count"] > 70 and "line 21, timestep 1 has 2 features" in mismatch["message"]
    out = tmp_path / "out.npz"
    refused = [run("pad", source, "-o", out, *limit) for limit in ((), ("--memory-limit", TINY))]
    unlimited()
    assert refused[0].exit_code == refused[1].exit_code == 1
    assert refused[0].output == refused[1].output and not out.exists()


def test_shards_of_other_features_are_reported_as_in_memory(run, tmp_path):
    """Several files: a file whose timesteps mostly have other features is reported whole
    (as reading the files whole does), a file of mixed widths timestep by timestep."""
    folder = tmp_path / "shards"
    folder.mkdir()
    lines(folder / "a.jsonl", sequences(120, seed=13))
    lines(folder / "b.jsonl", sequences(60, seed=14, features=2))
    mixed_widths(folder).rename(folder / "c.jsonl")
    memory = run.json("inspect", folder, code=1)
    streamed = run.json("inspect", folder, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory
    (mismatch,) = [p for p in memory["problems"] if p["code"] == "feature-mismatch"]
    assert "the timesteps of b.jsonl have 2 features" in mismatch["message"]


def test_text_cells_in_many_chunks_are_reported_as_in_memory(run, tmp_path):
    """A sorted long table whose text cells are in several chunks and columns: one
    ``non-numeric`` problem with the whole table's message, count and first places (column
    by column, each in file order), however the table was cut; in a folder of tables too."""
    rng = np.random.default_rng(9)
    rows = ["id,t,a,b"]
    for i in range(800):
        rows += [f"s{i},{t},{rng.normal():.3f},{rng.normal():.3f}" for t in range(10)]
    texts = {20: 3, 2000: 2, 3000: 2, 4000: 2, 5000: 3, 6000: 2, 7000: 2, 7500: 2}
    for k, column in texts.items():
        cells = rows[k].split(",")
        cells[column] = "?" if k % 2000 else ""
        rows[k] = ",".join(cells)
    source = tmp_path / "texts.csv"
    source.write_text("\n".join(rows) + "\n")
    assert source.stat().st_size > 2 * (1 << 16)  # several blocks of text, several chunks
    memory = run.json("inspect", source, code=1)
    streamed = run.json("inspect", source, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory
    (text,) = [p for p in memory["problems"] if p["code"] == "non-numeric"]
    assert text["count"] == 8 and "(6 such cells in 'a')" in text["message"]
    assert [p["line"] for p in text["places"]] == [2001, 3001, 4001, 6001, 7001]
    folder = tmp_path / "tables"
    folder.mkdir()
    source.rename(folder / "1.csv")
    (folder / "2.csv").write_text("\n".join(rows[:1] + rows[::-1][:4000]) + "\n")
    memory = run.json("inspect", folder, code=1)
    streamed = run.json("inspect", folder, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigkill_while_partitioning_leaves_work_files_the_next_run_removes(run, tmp_path):
    """An unsorted table's partitions are written beside the output, named as its temporary
    files: a run killed meanwhile leaves them, and the next run to that output removes them."""
    rng = np.random.default_rng(10)
    ids = rng.integers(0, 2000, 60_000)
    text = "id,a,b\n" + "".join(
        f"{i},{v:.3f},{v:.2f}\n" for i, v in zip(ids, rng.normal(size=len(ids)), strict=True)
    )
    source = tmp_path / "shuffled.csv"
    source.write_text(text)
    dest = tmp_path / "padded.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "lstmprep", "pad", source, "-o", dest, "-q"],
        env={**os.environ, "LSTMPREP_MEMORY_LIMIT": TINY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60

    def work() -> list[Path]:
        return [p for p in tmp_path.iterdir() if p.is_dir() and ".partial" in p.name]

    while not any(any(p.iterdir()) for p in work()):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    (left,) = work()
    assert not dest.exists() and left.name.startswith(".padded.")
    result = run("pad", source, "-o", dest)
    assert result.exit_code == 0 and f"removed {left.name}" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["padded.npz", "shuffled.csv"]


def test_nested_parquet_streams_in_record_batches(run, tmp_path):
    """One sequence per row in a list column: read a record batch at a time, with the
    in-memory path's output and report (rows not plainly numeric anywhere: all of it as the
    exact path reads it, its widths counted over the whole file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lstmprep.readers.chunked import ChunkedRead

    seqs = sequences(400, seed=15)
    labels = [f"c{i % 3}" for i in range(400)]
    clean = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"sequence": seqs, "label": labels}), clean, row_group_size=50)
    assert len(list(ChunkedRead(clean, lstmprep.ReadOptions(), None, 4 << 10))) > 5
    (memory, streamed), _ = pad_both(run, tmp_path, clean)
    assert memory == streamed
    bad: list = [list(s) for s in seqs]
    bad[10] = None
    bad[150][2] = [1.0, 2.0]
    bad[300][0] = [1.0, None, 2.0]
    bad[200:260] = [[row[:2] for row in s] for s in bad[200:260]]
    broken = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"sequence": bad, "label": labels}), broken, row_group_size=50)
    memory_report = run.json("inspect", broken, code=1)
    streamed_report = run.json("inspect", broken, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed_report == memory_report
    assert {"non-numeric", "feature-mismatch"} <= {p["code"] for p in memory_report["problems"]}


def test_one_sample_per_file_streams_in_groups_of_files(run, tmp_path):
    """A folder of one-sample files: read a group of files at a time, numbered in the whole,
    with the in-memory path's output, report and labels (a CSV of file, label)."""
    from lstmprep.readers.chunked import ChunkedRead

    folder = tmp_path / "samples"
    folder.mkdir()
    for i, s in enumerate(sequences(120, seed=16)):
        np.save(folder / f"s{i:03d}.npy", np.array(s))
    labels = tmp_path / "labels.csv"
    labels.write_text("".join(f"s{i:03d}.npy,c{i % 3}\n" for i in range(120)))
    assert len(list(ChunkedRead(folder, lstmprep.ReadOptions(), None, 4 << 10))) > 5
    (memory, streamed), summaries = pad_both(run, tmp_path, folder, "--labels", labels)
    assert memory == streamed and summaries[1]["labels"]
    # a 3-D sample, a run of samples of 2 features (a chunk of their own), one of 4
    np.save(folder / "s005.npy", np.zeros((2, 2, 2)))
    for i, s in enumerate(sequences(30, seed=17, features=2)):
        np.save(folder / f"s{60 + i:03d}.npy", np.array(s))
    np.save(folder / "s100.npy", np.ones((3, 4)))
    memory_report = run.json("inspect", folder, "--per-sample", code=1)
    streamed_report = run.json("inspect", folder, "--per-sample", "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed_report == memory_report
    assert {"rank", "feature-mismatch"} <= {p["code"] for p in memory_report["problems"]}


def test_channels_first_samples_are_recognised_over_all_files(run, tmp_path):
    """Samples stored (features, timesteps): the signature (one length, widths that vary) is
    the whole folder's (the whole file's), not a group's (a block's)."""
    folder = tmp_path / "transposed"
    folder.mkdir()
    rng = np.random.default_rng(18)
    for i in range(80):
        np.save(folder / f"s{i:02d}.npy", rng.normal(size=(3, int(rng.integers(5, 40)))))
    memory = run.json("inspect", folder, code=1)
    streamed = run.json("inspect", folder, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory
    assert [p["code"] for p in memory["problems"]] == ["channels-first"]
    # the same samples as JSON lines: the whole file's signature, not a block's
    samples = [np.round(np.load(p), 3).tolist() for p in sorted(folder.iterdir())]
    source = lines(tmp_path / "transposed.jsonl", samples)
    memory = run.json("inspect", source, code=1)
    streamed = run.json("inspect", source, "--memory-limit", TINY, code=1)
    unlimited()
    assert streamed == memory
    assert [p["code"] for p in memory["problems"]] == ["channels-first"]
