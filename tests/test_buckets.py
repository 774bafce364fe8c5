"""Length buckets (pad --buckets / --bucket-boundaries) and the .npz layout lstmprep writes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import lstmprep
from lstmprep.options import bucket_of, least_padding_boundaries
from lstmprep.padded_file import NpzWriter, map_member

SENSORS = Path(__file__).resolve().parent.parent / "sample_data" / "sensors.json"
RNG = np.random.default_rng(7)
LENGTHS = RNG.integers(1, 40, 60)
SEQS = [RNG.standard_normal((n, 2)).round(3).tolist() for n in LENGTHS]
LABELS = [f"c{i % 3}" for i in range(len(SEQS))]


@pytest.fixture
def src(write):
    return write("in.json", {"sequences": SEQS, "labels": LABELS})


def load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_bucket_members_hold_every_sequence_once_in_its_bucket(src, tmp_path, run):
    summary = run.json("pad", src, "-o", tmp_path / "b.npz", "--bucket-boundaries", "10,20", code=0)
    out = load(tmp_path / "b.npz")
    meta = json.loads(str(out["meta"]))
    assert meta["boundaries"] == [10, 20]
    assert sorted(out) == sorted(
        [f"{k}_{i}" for i in range(3) for k in ("x", "lengths", "y", "index")] + ["meta"]
    )
    index = np.concatenate([out[f"index_{i}"] for i in range(3)])
    assert sorted(index.tolist()) == list(range(len(SEQS)))
    bounds = [(0, 10), (10, 20), (20, 10**9)]
    cells = 0
    for i, (lo, hi) in enumerate(bounds):
        x, lengths, rows = out[f"x_{i}"], out[f"lengths_{i}"], out[f"index_{i}"]
        assert ((lengths >= lo) & (lengths < hi)).all() and (np.diff(rows) > 0).all()
        assert x.shape[1] == lengths.max()  # padded to the bucket's own longest
        assert out[f"y_{i}"].tolist() == [LABELS[r] for r in rows]
        for row, r in zip(x, rows, strict=True):  # each row is its sequence, post-padded
            n = LENGTHS[r]
            np.testing.assert_array_equal(row[:n], np.float32(SEQS[r]))
            assert not row[n:].any()
        cells += x.shape[0] * x.shape[1]
    assert summary["padding_share"] == pytest.approx(1 - LENGTHS.sum() / cells, abs=1e-4)
    assert summary["unbucketed_padding_share"] == pytest.approx(
        1 - LENGTHS.sum() / (len(LENGTHS) * LENGTHS.max()), abs=1e-4
    )


@pytest.mark.parametrize("args", [["--buckets", "3"], ["--bucket-boundaries", "5,30"]])
def test_reading_buckets_back_gives_the_sequences_in_order(args, src, tmp_path, run):
    assert run("pad", src, "-o", tmp_path / "b.npz", "--padding", "pre", *args).exit_code == 0
    back = lstmprep.read(tmp_path / "b.npz")
    original = lstmprep.read(src)
    np.testing.assert_array_equal(back.ragged.lengths, original.ragged.lengths)
    np.testing.assert_array_equal(back.ragged.values, original.ragged.values.astype(np.float32))
    assert back.labels.tolist() == LABELS
    assert lstmprep.inspect(tmp_path / "b.npz").ok


def test_sensors_four_buckets_cut_the_padding(tmp_path):
    one = lstmprep.pad_file(SENSORS, tmp_path / "one.npz")
    four = lstmprep.pad_file(SENSORS, tmp_path / "four.npz", lstmprep.PadOptions(buckets=4))
    assert one.padding_share > 0.5 and four.padding_share < 0.18
    assert four.unbucketed_padding_share == one.padding_share


def test_least_padding_boundaries_are_optimal():
    lengths = RNG.integers(1, 30, 200)

    def cells(boundaries):
        buckets = bucket_of(lengths, boundaries)
        return sum(lengths[buckets == i].max(initial=0) * (buckets == i).sum() for i in range(4))

    best = min(
        cells((a, b, c)) for a in range(2, 30) for b in range(a + 1, 30) for c in range(b + 1, 31)
    )
    assert cells(least_padding_boundaries(lengths, 4)) == best


@pytest.mark.parametrize(
    "args, words",
    [
        (["--buckets", "0"], "--buckets must be at least 1"),
        (["--bucket-boundaries", "64,32"], "must increase"),
        (["--bucket-boundaries", "a,b"], "not a list of lengths"),
        (["--buckets", "2", "--bucket-boundaries", "8"], "contradict"),
    ],
)
def test_bad_bucket_options_are_refused(args, words, src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "b.npz", *args)
    assert result.exit_code == 2 and words in result.stderr
    assert not (tmp_path / "b.npz").exists()


def test_buckets_need_npz(src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "b.npy", "--buckets", "2")
    assert result.exit_code == 2 and "b.npz" in result.stderr


def test_length_outlier_suggests_buckets_that_run(write, tmp_path, run, monkeypatch):
    path = write("long.json", [[[1.0]] * n for n in [2] * 40 + [100] * 3])
    report = run.json("inspect", path, code=0)
    (outlier,) = [p for p in report["problems"] if p["code"] == "length-outlier"]
    command = outlier["message"].split("`")[-2]
    assert "--buckets 4" in command
    monkeypatch.chdir(tmp_path)
    words = command.split()[1:]
    assert run(*words).exit_code == 0
    assert json.loads(str(load(tmp_path / "padded.npz")["meta"]))["boundaries"] == [100]


def test_writer_output_loads_with_numpy_and_maps_in_place(tmp_path):
    x = RNG.standard_normal((50, 7, 3)).astype(np.float32)
    path = tmp_path / "w.npz"
    with open(path, "wb") as f, NpzWriter(f) as archive:
        with archive.member("x", x.shape, x.dtype) as put:
            for start in range(0, 50, 16):
                put(x[start : start + 16])
        archive.write("n", np.arange(5))
    np.testing.assert_array_equal(np.load(path, allow_pickle=False)["x"], x)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("x.npy")
        assert info.compress_type == zipfile.ZIP_STORED and info.date_time == (1980, 1, 1, 0, 0, 0)
    mapped = map_member(path, info)
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(mapped, x)


def test_writer_refuses_a_member_cut_short():
    with (
        pytest.raises(ValueError, match="expected"),
        NpzWriter(io.BytesIO()) as archive,
        archive.member("x", (2, 2), np.float32) as put,
    ):
        put(np.ones((1, 2), np.float32))


def test_compressed_members_are_read_not_mapped(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, values=np.ones((4, 2)), lengths=np.array([1, 3]))
    with zipfile.ZipFile(path) as z:
        assert map_member(path, z.getinfo("values.npy")) is None
    assert lstmprep.read(path).ragged.lengths.tolist() == [1, 3]


@pytest.mark.parametrize("limit, code", [("10KB", 2), ("64MB", 0), ("lots", 2)])
def test_memory_limit_takes_sizes(limit, code, src, tmp_path, run, monkeypatch):
    monkeypatch.delenv("LSTMPREP_MEMORY_LIMIT", raising=False)
    # the option sets the environment for the command: undo it after the test
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", "1GB")
    result = run("pad", src, "-o", tmp_path / "m.npz", "--memory-limit", limit, "-q")
    assert result.exit_code == code, result.output
    assert (tmp_path / "m.npz").exists() == (code == 0)
    if limit == "10KB":
        assert "only 10.0 KB is available" in result.stderr
