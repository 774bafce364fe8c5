"""train on pad's own .npz read in place: the batch source over array-likes, the same results
as the in-memory path, bounded reads, the bucket rule, checks by blocks, a budget below the data.

The batch-source tests need no TensorFlow; the training ones use a 4-unit model, 1 epoch, on
60 short sequences.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lstmprep
from lstmprep import batches as batches_module
from lstmprep.batches import Batches, read_rows, take, without_last
from lstmprep.errors import RefusedData
from lstmprep.padded_file import NpzWriter, Part, map_padded
from lstmprep.train import TrainOptions, train_file

RNG = np.random.default_rng(3)
LENGTHS = RNG.integers(1, 30, 60)
SEQS = [RNG.standard_normal((n, 2)).round(3).tolist() for n in LENGTHS]
LABELS = [f"c{i % 2}" for i in range(len(SEQS))]
TINY = TrainOptions(epochs=1, units=4, batch_size=8, seed=0)


class Counting:
    """An array-like that slices like numpy and records how many rows each read returned; it
    refuses to be turned into an array whole."""

    def __init__(self, array: np.ndarray) -> None:
        self.array, self.reads = array, []
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, key):
        out = self.array[key]
        self.reads.append(len(out))
        return out

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole array was materialised")


def padded_parts(lengths, buckets=None, width=None):
    """Rows whose every real value is the row's sequence number + 1 (padding 0)."""
    groups = [np.arange(len(lengths))] if buckets is None else buckets
    parts = []
    for index in groups:
        w = width or int(lengths[index].max())
        x = np.zeros((len(index), w, 2), np.float32)
        for row, i in enumerate(index):
            x[row, : lengths[i]] = i + 1
        parts.append(Part(x, lengths[index], None, None if buckets is None else index))
    return parts


def test_batches_read_rows_only_and_never_mix_buckets(monkeypatch):
    lengths = np.array([3, 1, 5, 2, 4, 6, 1, 2, 3])
    buckets = [np.array([1, 3, 6, 7]), np.array([0, 2, 4, 5, 8])]
    parts = padded_parts(lengths, buckets)
    counted = [Part(Counting(p.x), p.lengths, None, p.index) for p in parts]
    monkeypatch.setattr(batches_module, "BLOCK_BYTES", 16)  # blocks of a row
    source = Batches(counted, np.arange(9.0), padding="post", batch_size=2)
    groups = source.groups(np.arange(9))
    assert sorted(np.concatenate(groups).tolist()) == list(range(9))
    for group in groups:
        assert len(set(source.part[group].tolist())) == 1  # one bucket per batch
        assert (np.diff(lengths[group]) >= 0).all()  # sorted by length
        (x, mask), y = source.batch(group)
        assert x.shape[1] == lengths[group].max()
        assert (x[..., 0] == np.where(mask, group[:, None] + 1, 0)).all()
        assert y.tolist() == group.tolist()
    mean, std = source.moments()
    real = np.repeat(np.arange(1, 10), lengths).astype(float)
    np.testing.assert_allclose(mean, [real.mean()] * 2)
    np.testing.assert_allclose(std, [real.std()] * 2)
    x = source.padded(np.array([0, 1, 5]))  # across buckets: the mask check's batch
    assert x.shape == (3, 6, 2) and x[:, :, 0].tolist()[1] == [2, 0, 0, 0, 0, 0]
    reads = [n for p in counted for n in p.x.reads]
    assert max(reads) <= 2  # a batch or a block at a time, never the whole tensor


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_without_last_and_bounded_reads_of_a_memmap(padding, tmp_path):
    lengths = np.array([3, 1, 2])
    x = np.zeros((3, 3, 2), np.float32)
    for i, n in enumerate(lengths):
        cells = slice(None, n) if padding == "post" else slice(3 - n, None)
        x[i, cells] = np.arange(n)[:, None] + 10 * i
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    parts, last = without_last([Part(mapped, lengths)], padding, bounded=True)
    assert parts[0].lengths.tolist() == [2, 0, 1] and last[:, 0].tolist() == [2, 10, 21]
    view, rows = parts[0].x, np.array([2, 0])
    for cut in (slice(None, 1), slice(1, None)):
        assert np.array_equal(take(view, rows, cut, bounded=True), view[rows, cut])
    assert np.array_equal(read_rows(view, 1, 9, bounded=True), view[1:])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mapped")
    source = folder / "in.json"
    source.write_text(json.dumps({"sequences": SEQS, "labels": LABELS}))
    for name, options in (("one", {}), ("buckets", {"buckets": 3})):
        lstmprep.pad_file(source, folder / f"{name}.npz", lstmprep.PadOptions(**options))
        with np.load(folder / f"{name}.npz") as f:  # the same file compressed: read into memory
            np.savez_compressed(folder / f"{name}_compressed.npz", **{k: f[k] for k in f.files})
    return folder


def history(path):
    result = train_file(path, TINY)
    assert result.ok
    return result.history, result.mask_check.held


@pytest.fixture(scope="module")
def mapped_buckets(files):
    """The history of training on the bucketed file, memory-mapped (two tests compare it)."""
    return history(files / "buckets.npz")


@pytest.mark.parametrize("name", ["one", "buckets"])
def test_mapped_npz_trains_as_the_in_memory_path(name, files, mapped_buckets):
    """Memory-mapped (stored .npz) and in memory (the same arrays compressed, read whole and
    padded again) give the same batches, hence the very same losses with the same seed."""
    assert map_padded(files / f"{name}.npz") is not None
    assert map_padded(files / f"{name}_compressed.npz") is None
    mapped = mapped_buckets if name == "buckets" else history(files / f"{name}.npz")
    assert mapped == history(files / f"{name}_compressed.npz")
    if name == "one":  # and as training on the source itself
        assert mapped == history(files / "in.json")


def test_a_budget_below_the_tensor_trains_it(files, mapped_buckets, monkeypatch):
    expected = mapped_buckets
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", "4KB")  # the in-memory path refuses this
    with pytest.raises(lstmprep.TooLarge):
        train_file(files / "buckets_compressed.npz", TINY)
    assert history(files / "buckets.npz") == expected


@pytest.mark.parametrize("name", ["one", "buckets"])
def test_checks_by_blocks_refuse_as_inspect_does(name, files, tmp_path, monkeypatch):
    """A NaN in pad's output: refused before training, at the place inspect gives."""
    with np.load(files / f"{name}.npz") as f:
        arrays = {k: f[k] for k in f.files}
    key = "x" if name == "one" else "x_1"
    row = 4
    sequence = row if name == "one" else int(arrays["index_1"][row])
    arrays[key][row, 1, 0] = np.nan
    bad = tmp_path / "bad.npz"
    with open(bad, "wb") as f, NpzWriter(f) as archive:
        for k, v in arrays.items():
            archive.write(k, v)
    monkeypatch.setattr(batches_module, "BLOCK_BYTES", 64)  # many blocks
    with pytest.raises(RefusedData) as refused:
        train_file(bad, TINY)
    problems = refused.value.report.errors
    assert [p.code for p in problems] == ["non-finite"]
    assert (problems[0].sequence, problems[0].timestep) == (sequence, 1)
    assert f"sequence {sequence}, timestep 1" in problems[0].message
    expected = lstmprep.inspect(Path(bad)).errors
    assert [(p.code, p.message, p.places) for p in problems] == [
        (p.code, p.message, p.places) for p in expected
    ]


def test_zarr_arrays_give_the_same_batches():
    """The Dask/Zarr output (#13) slices like numpy: its batches are the ndarray's."""
    zarr = pytest.importorskip("zarr")
    lengths = np.array([3, 1, 5, 2, 4, 6, 1, 2, 3])
    (part,) = padded_parts(lengths, width=7)
    z = zarr.create_array(store={}, shape=part.x.shape, chunks=(2, 7, 2), dtype="float32")
    z[:] = part.x
    for padding in ("post", "pre"):
        x = part.x if padding == "post" else part.x[:, ::-1].copy()
        z[:] = x
        plain, chunked = (without_last([Part(a, lengths)], padding) for a in (x, z))
        assert np.array_equal(plain[1], chunked[1])
        a, b = (
            Batches(p[0], np.arange(9.0), padding=padding, batch_size=4) for p in (plain, chunked)
        )
        for group in a.groups(np.arange(9)):
            (xa, ma), _ = a.batch(group)
            (xb, mb), _ = b.batch(group)
            assert np.array_equal(xa, xb) and np.array_equal(ma, mb)
        np.testing.assert_array_equal(a.moments()[0], b.moments()[0])
