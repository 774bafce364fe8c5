"""Compressed inputs: every text format read through gzip, bzip2, xz and zstd, the same as plain.

A file is read as compressed when its first bytes say so, whatever its name; the format comes
from the suffix inside the compression suffix. Broken streams and decompression bombs are
refused with exit 2 and nothing written.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import lstmprep
from lstmprep.errors import TooLarge, UnreadableInput


def zstd(data: bytes) -> bytes:
    return pa.compress(data, codec="zstd", asbytes=True)


COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress, ".zst": zstd}
SEQS = [[[1.5, 2.0], [3.0, 4.0]], [[5.0, 6.0]], [[7.0, "n/a"], [9.0, 10.0], [0.0, 0.0]]]
TEXTS = {
    ".json": json.dumps({"sequences": SEQS, "labels": ["a", "b", "a"]}).encode(),
    ".jsonl": b"".join(json.dumps(s).encode() + b"\n" for s in SEQS),
    # plainly numeric, so the C scanner reads it
    "-numeric.json": json.dumps([[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]]).encode(),
}


def same(a: lstmprep.Dataset, b: lstmprep.Dataset) -> None:
    np.testing.assert_array_equal(a.ragged.values, b.ragged.values)
    np.testing.assert_array_equal(a.ragged.lengths, b.ragged.lengths)
    assert [p.to_dict() for p in a.problems] == [p.to_dict() for p in b.problems]
    assert (a.labels is None) == (b.labels is None)
    if a.labels is not None:
        np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("codec", sorted(COMPRESS))
@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_each_codec_and_format_reads_as_plain(codec, kind, tmp_path):
    suffix = ".json" if kind.endswith(".json") else kind
    plain = tmp_path / f"data{suffix}"
    plain.write_bytes(TEXTS[kind])
    packed = tmp_path / f"data{suffix}{codec}"
    packed.write_bytes(COMPRESS[codec](TEXTS[kind]))
    same(lstmprep.read(packed), lstmprep.read(plain))
    assert lstmprep.read(packed).notes == lstmprep.read(plain).notes
    report = lstmprep.inspect(packed)
    assert report.stats.file == str(packed) and report.codes() == lstmprep.inspect(plain).codes()


@pytest.mark.parametrize("codec", sorted(COMPRESS))
def test_compressed_ts(codec, tmp_path):
    text = b"@problemName t\n@univariate true\n@classLabel true a b\n@data\n1,2,3:a\n4,5:b\n"
    plain, packed = tmp_path / "d.ts", tmp_path / f"d.ts{codec}"
    plain.write_bytes(text)
    packed.write_bytes(COMPRESS[codec](text))
    same(lstmprep.read(packed), lstmprep.read(plain))


@pytest.mark.parametrize("codec", sorted(COMPRESS))
def test_compressed_labels(codec, tmp_path):
    plain = tmp_path / "seqs.json"
    plain.write_text(json.dumps([[1, 2], [3]]))
    labels = tmp_path / f"labels.jsonl{codec}"
    labels.write_bytes(COMPRESS[codec](b'"yes"\n"no"\n'))
    assert lstmprep.read(plain, labels=labels).labels.tolist() == ["yes", "no"]


def test_compressed_file_under_a_plain_name_is_read_with_a_note(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(gzip.compress(TEXTS[".jsonl"]))
    data = lstmprep.read(path)
    assert data.ragged.lengths.tolist() == [2, 1, 3]
    assert "data.jsonl is gzip-compressed (its first bytes say so): read as such" in data.notes


def test_a_gz_name_on_plain_text_is_read_as_it_is(tmp_path):
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(TEXTS[".jsonl"])
    data = lstmprep.read(path)
    assert data.ragged.lengths.tolist() == [2, 1, 3]
    assert any("not gzip-compressed despite its name" in note for note in data.notes)


def test_problem_places_are_the_same_as_plain(tmp_path):
    path = tmp_path / "data.jsonl.xz"
    path.write_bytes(lzma.compress(TEXTS[".jsonl"]))
    (problem,) = lstmprep.inspect(path).errors
    assert problem.code == "non-numeric" and "line 3" in problem.message


@pytest.mark.parametrize("codec", sorted(COMPRESS))
def test_truncated_stream_says_where_it_broke(codec, tmp_path):
    data = b"".join(json.dumps(s).encode() + b"\n" for s in SEQS * 20000)
    packed = COMPRESS[codec](data)
    path = tmp_path / f"data.jsonl{codec}"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(UnreadableInput, match="stream (ends early|is corrupt) after") as caught:
        lstmprep.read(path)
    assert str(path) in str(caught.value)


def test_corrupt_stream(tmp_path):
    packed = bytearray(gzip.compress(TEXTS[".jsonl"] * 100))
    packed[20:40] = b"\x00" * 20
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(UnreadableInput, match="gzip stream"):
        lstmprep.read(path)


def test_decompression_bomb_is_stopped_by_the_memory_budget(tmp_path, monkeypatch):
    path = tmp_path / "bomb.json.gz"
    path.write_bytes(gzip.compress(b" " * (64 << 20)))  # 64 MB of spaces in ~64 KB
    assert path.stat().st_size < 1 << 20
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", str(16 << 20))
    with pytest.raises(TooLarge, match="decompressing bomb.json.gz"):
        lstmprep.read(path)


def test_compressed_arrays_are_refused_with_the_fix(tmp_path):
    path = tmp_path / "x.npy.gz"
    buffer = tmp_path / "x.npy"
    np.save(buffer, np.ones((2, 3)))
    path.write_bytes(gzip.compress(buffer.read_bytes()))
    with pytest.raises(UnreadableInput, match="gzip-compressed: .npy, .npz, .parquet"):
        lstmprep.read(path)


def test_pad_on_a_compressed_file_equals_pad_on_the_plain_one(tmp_path, run):
    plain = tmp_path / "data.json"
    plain.write_bytes(TEXTS["-numeric.json"])
    packed = Path(str(plain) + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert run("pad", plain, "-o", tmp_path / "a.npz").exit_code == 0
    assert run("pad", packed, "-o", tmp_path / "b.npz").exit_code == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(a["x"], b["x"])


@pytest.mark.parametrize("codec", sorted(COMPRESS))
@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_compressed_tables_read_as_plain(codec, suffix, tmp_path):
    text = "id,t,a\n1,1,0.5\n1,2,1.5\n2,1,2.5\n".replace(",", "\t" if suffix == ".tsv" else ",")
    plain, packed = tmp_path / f"d{suffix}", tmp_path / f"d{suffix}{codec}"
    plain.write_text(text)
    packed.write_bytes(COMPRESS[codec](text.encode()))
    same(lstmprep.read(packed), lstmprep.read(plain))
