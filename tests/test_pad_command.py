"""pad: each option, each refusal, the files it writes, and nothing written when it refuses."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import lstmprep

SEQS = [[[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0]], [[9.0, 10.0], [11.0, 12.0]]]


@pytest.fixture
def src(write):
    return write("in.json", {"sequences": SEQS, "labels": [0, 1, 0]})


def load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def test_defaults_post_padding_float32_lengths_labels_meta(src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "out.npz")
    assert result.exit_code == 0, result.output
    out = load(tmp_path / "out.npz")
    assert out["x"].dtype == np.float32 and out["x"].shape == (3, 3, 2)
    assert out["x"][1].tolist() == [[7, 8], [0, 0], [0, 0]]
    assert out["lengths"].tolist() == [3, 1, 2] and out["y"].tolist() == [0, 1, 0]
    meta = json.loads(str(out["meta"]))
    assert meta["source"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (meta["padding"], meta["truncating"], meta["maxlen"]) == ("post", "pre", 3)
    assert meta["lstmprep"] == lstmprep.__version__
    assert "wrote" in result.stderr and result.stdout == ""


def test_same_tensor_as_keras(src, tmp_path, run):
    keras = pytest.importorskip("keras")
    run("pad", src, "-o", tmp_path / "out.npz")
    expected = keras.utils.pad_sequences(SEQS, padding="post", dtype="float32")
    np.testing.assert_array_equal(load(tmp_path / "out.npz")["x"], expected)


@pytest.mark.parametrize(
    "args, row1, lengths",
    [
        (["--padding", "pre"], [[0, 0], [0, 0], [7, 8]], [3, 1, 2]),
        (["--maxlen", "2"], [[7, 8], [0, 0]], [2, 1, 2]),
        (["--maxlen", "2", "--truncating", "post"], [[7, 8], [0, 0]], [2, 1, 2]),
        (["--value", "-1"], [[7, 8], [-1, -1], [-1, -1]], [3, 1, 2]),
        (["--maxlen", "p50"], [[7, 8], [0, 0]], [2, 1, 2]),
    ],
)
def test_options(args, row1, lengths, src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "out.npz", *args)
    assert result.exit_code == 0, result.output
    out = load(tmp_path / "out.npz")
    assert out["x"][1].tolist() == row1 and out["lengths"].tolist() == lengths


@pytest.mark.parametrize("truncating, first", [("pre", [3.0, 4.0]), ("post", [1.5, 2.0])])
def test_truncating_keeps_the_chosen_end(truncating, first, src, tmp_path, run):
    run("pad", src, "-o", tmp_path / "out.npz", "--maxlen", "2", "--truncating", truncating)
    assert load(tmp_path / "out.npz")["x"][0][0].tolist() == first


def test_json_summary(src, tmp_path, run):
    summary = run.json("pad", src, "-o", tmp_path / "out.npz", "--maxlen", "2", code=0)
    assert summary["shape"] == [3, 2, 2] and summary["truncated_sequences"] == 1
    assert summary["dropped_timesteps"] == 1 and summary["labels"] is True
    assert summary["padding_share"] == pytest.approx(1 / 6, abs=1e-4)


def test_quiet_prints_nothing(src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "out.npz", "--quiet")
    assert result.exit_code == 0 and result.output == ""


def test_npy_output_is_x_alone(src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "out.npy")
    assert result.exit_code == 0 and "not saved" in result.stderr
    assert np.load(tmp_path / "out.npy").shape == (3, 3, 2)


def test_labels_file(write, tmp_path, run):
    path = write("seqs.json", SEQS)
    labels = write("y.json", [2.5, 3.5, 4.5])
    assert run("pad", path, "-o", tmp_path / "out.npz", "--labels", labels).exit_code == 0
    assert load(tmp_path / "out.npz")["y"].tolist() == [2.5, 3.5, 4.5]


def test_round_trip_through_inspect_with_pre_padding(src, tmp_path, run):
    run("pad", src, "-o", tmp_path / "out.npz", "--padding", "pre", "--value", "-1")
    data = lstmprep.read(tmp_path / "out.npz")
    assert data.ragged.lengths.tolist() == [3, 1, 2]
    assert data.ragged.values.tolist() == [step for seq in SEQS for step in seq]
    assert data.labels.tolist() == [0, 1, 0]


def test_dtype_int_is_refused_when_it_loses_fractions(src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "out.npz", "--dtype", "int32")
    assert result.exit_code == 1 and "1.5" in result.stderr and "--allow-lossy" in result.stderr
    assert not (tmp_path / "out.npz").exists()
    result = run("pad", src, "-o", tmp_path / "out.npz", "--dtype", "int32", "--allow-lossy")
    assert result.exit_code == 0 and load(tmp_path / "out.npz")["x"].dtype == np.int32


def test_dtype_int_is_fine_for_whole_numbers(write, tmp_path, run):
    path = write("ids.json", [[1, 2, 3], [4]])
    assert run("pad", path, "-o", tmp_path / "out.npz", "--dtype", "int32").exit_code == 0
    assert load(tmp_path / "out.npz")["x"][:, :, 0].tolist() == [[1, 2, 3], [4, 0, 0]]


def test_float16_out_of_range_is_refused(write, tmp_path, run):
    path = write("big.json", [[[1e6]]])
    result = run("pad", path, "-o", tmp_path / "out.npz", "--dtype", "float16")
    assert result.exit_code == 1 and "float16" in result.stderr


def test_data_with_errors_is_refused_with_the_problem_table(write, tmp_path, run):
    path = write("bad.json", [[[1, 2]], [[3, None]]])
    result = run("pad", path, "-o", tmp_path / "out.npz")
    assert result.exit_code == 1
    assert "non-numeric" in result.stderr and "sequence 1" in result.stderr
    assert list(tmp_path.glob("out*")) == []
    report = run.json("pad", path, "-o", tmp_path / "out.npz", code=1)
    assert report == lstmprep.inspect(path).to_dict()


def test_warnings_are_printed_and_the_work_goes_on(write, tmp_path, run):
    path = write("z.json", [[[0, 0], [1, 1]], [[2, 2]]])
    result = run("pad", path, "-o", tmp_path / "out.npz")
    assert result.exit_code == 0 and "pad-collision" in result.stderr


def test_existing_output_is_kept_unless_force(src, tmp_path, run):
    out = tmp_path / "out.npz"
    out.write_bytes(b"old")
    result = run("pad", src, "-o", out)
    assert result.exit_code == 2 and "--force" in result.stderr and out.read_bytes() == b"old"
    assert run("pad", src, "-o", out, "--force").exit_code == 0
    assert load(out)["x"].shape == (3, 3, 2)


def test_output_equal_to_input_is_refused_even_with_force(tmp_path, run):
    np.save(tmp_path / "a.npy", np.ones((2, 3), dtype=np.float32))
    before = (tmp_path / "a.npy").read_bytes()
    result = run("pad", tmp_path / "a.npy", "-o", tmp_path / "a.npy", "--force")
    assert result.exit_code == 2 and "input" in result.stderr
    assert (tmp_path / "a.npy").read_bytes() == before


def test_missing_output_folder_is_a_usage_error(src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "no" / "out.npz")
    assert result.exit_code == 2 and "mkdir" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--maxlen", "0"],
        ["--maxlen", "-3"],
        ["--maxlen", "p0"],
        ["--maxlen", "p101"],
        ["--maxlen", "ten"],
        ["--padding", "middle"],
        ["--truncating", "both"],
        ["--dtype", "str"],
        ["--dtype", "nonsense"],
        ["--value", "nan"],
    ],
)
def test_usage_errors_exit_2_before_any_work(args, tmp_path, run, monkeypatch):
    import lstmprep.pipeline

    def never(*a, **k):
        raise AssertionError("the input was read")

    monkeypatch.setattr(lstmprep.pipeline, "read", never)
    result = run("pad", tmp_path / "in.json", "-o", tmp_path / "out.npz", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_output_suffix_must_be_npz_or_npy(src, tmp_path, run):
    result = run("pad", src, "-o", tmp_path / "out.csv")
    assert result.exit_code == 2 and ".npz or .npy" in result.stderr


@pytest.mark.parametrize(
    "terminal, enabled, shown", [(True, True, True), (False, True, False), (True, False, False)]
)
def test_progress_only_on_a_terminal_and_not_quiet(terminal, enabled, shown):
    import io
    import time

    from rich.console import Console

    from lstmprep.render import Steps

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=terminal, width=80)
    with Steps(console, enabled=enabled, delay=0.01) as step:
        step("reading")
        time.sleep(0.3)
        step("padding")
        time.sleep(0.3)
    assert ("padding" in stream.getvalue()) == shown
