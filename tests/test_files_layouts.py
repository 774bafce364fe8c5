"""Reading what people have: .ts files, several files, folders, globs, channels-first samples,
and labels whose shape or type decides the task."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

import lstmprep
from lstmprep.errors import UnreadableInput

DATA = Path(__file__).parent / "data"


# --- .ts -----------------------------------------------------------------------------------------


def test_ts_multivariate_unequal_lengths_and_classes():
    """Written to the format's description: dimensions become features, the label is last."""
    data = lstmprep.read(DATA / "vowels_small.ts")
    assert data.format == "ts"
    assert data.ragged.lengths.tolist() == [3, 2, 4, 3]
    assert data.ragged[0].tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert data.ragged[1].tolist() == [[0.5, -1.5], [0.25, 2.5]]
    assert data.labels.tolist() == ["1", "10", "2", "10"]
    assert data.lines.tolist() == [12, 13, 14, 15]
    report = lstmprep.inspect(DATA / "vowels_small.ts")
    assert report.ok and report.stats.task == "multiclass"
    assert report.stats.classes == ("1", "2", "10")  # natural order, not "1", "10", "2"


def test_ts_missing_values_are_located_by_line_and_column(run):
    report = run.json("inspect", DATA / "missing.ts", code=1)
    (problem,) = report["problems"][:1]
    assert problem["code"] == "non-finite" and problem["count"] == 2
    assert "line 10, column 5" in problem["message"]
    assert [(p["sequence"], p["timestep"]) for p in problem["places"]] == [(1, 1), (2, 3)]


def test_ts_regression_targets(tmp_path, run):
    data = lstmprep.read(DATA / "target.ts")
    assert data.labels.dtype == np.float64 and data.labels.tolist() == [0.5, 1.25, -2.0]
    out = tmp_path / "t.npz"
    assert run("pad", DATA / "target.ts", "-o", out).exit_code == 0
    assert np.load(out)["y"].tolist() == [0.5, 1.25, -2.0]


def test_ts_pads_with_its_classes(tmp_path, run):
    out = tmp_path / "v.npz"
    summary = run.json("pad", DATA / "vowels_small.ts", "-o", out, code=0)
    assert summary["shape"] == [4, 4, 2]
    assert summary["meta"]["classes"] == ["1", "2", "10"]


# --- several files, folders, globs ---------------------------------------------------------------


@pytest.fixture
def samples(tmp_path) -> Path:
    """A folder of 12 per-sample arrays (T, 3), named so that plain sorting would misorder them."""
    folder = tmp_path / "samples"
    folder.mkdir()
    for i in range(1, 13):
        np.save(folder / f"x{i}.npy", np.full((i, 3), float(i)))
    (tmp_path / "labels.csv").write_text(
        "file,label\n" + "".join(f"x{i},{'walk' if i % 2 else 'run'}\n" for i in range(12, 0, -1))
    )
    return folder


def test_folder_of_samples_is_one_sequence_per_file_in_natural_order(samples):
    data = lstmprep.read(samples, labels=samples.parent / "labels.csv")
    assert data.ragged.lengths.tolist() == list(range(1, 13))  # x2 before x10
    assert data.ragged[9][0].tolist() == [10.0, 10.0, 10.0]
    assert data.labels.tolist()[:3] == ["walk", "run", "walk"]
    assert data.notes[0].startswith("12 files, one sequence each")
    assert "--shards" in data.notes[0]
    assert data.where(9) == "sequence 9 (x10.npy)"


def test_folder_glob_and_file_list_read_the_same(samples, run):
    files = sorted(samples.iterdir())
    for source in (samples, str(samples / "x*.npy"), files):
        data = lstmprep.read(source)
        assert sorted(data.ragged.lengths.tolist()) == list(range(1, 13))
    listed = run.json("inspect", *files, code=0)
    globbed = run.json("inspect", samples / "x*.npy", code=0)
    assert listed["stats"]["sequences"] == globbed["stats"]["sequences"] == 12


def test_pad_a_folder_with_labels_by_file_name(samples, tmp_path, run):
    out = tmp_path / "p.npz"
    labels = samples.parent / "labels.csv"
    summary = run.json("pad", samples, "-o", out, "--labels", labels, code=0)
    assert summary["shape"] == [12, 12, 3]
    assert summary["meta"]["source"]["files"] == "12"
    assert summary["meta"]["classes"] == ["run", "walk"]
    padded = np.load(out)
    assert padded["lengths"].tolist() == list(range(1, 13))
    assert padded["y"].tolist()[:2] == ["walk", "run"]  # x1, x2: by name, not by row


def test_shards_concatenate_and_problems_name_their_file(tmp_path, run):
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "part2.json").write_text(json.dumps([[[1, 2]], [[3, 4], [5, 6]]]))
    (folder / "part10.json").write_text(json.dumps([[[7, 8], [9, "x"]]]))
    report = run.json("inspect", str(folder / "part*.json"), code=1)
    assert report["stats"]["sequences"] == 3
    (problem,) = report["problems"][:1]
    assert problem["code"] == "non-numeric"
    path = str(folder / "part10.json")  # the line and column within that file
    place = {"sequence": 2, "timestep": 1, "file": "part10.json", "line": 1, "column": 11}
    assert problem["places"] == [{**place, "path": path}]
    assert "part10.json" in problem["message"]
    assert (
        "3 files" not in " ".join(report["notes"])
        and "2 files read as shards" in report["notes"][0]
    )


def test_layout_overrides(samples, tmp_path, run):
    shards = lstmprep.read(samples, layout="shards")  # each 2-D array: univariate sequences
    assert shards.ragged.n_sequences == sum(range(1, 13)) and shards.ragged.n_features == 1
    result = run("inspect", samples, "--per-sample", "--shards")
    assert result.exit_code == 2 and "contradict" in result.stderr


def test_a_single_per_sample_file_names_both_readings(tmp_path):
    path = tmp_path / "sample_0001.npy"
    np.save(path, np.arange(240.0).reshape(20, 12))
    data = lstmprep.read(path)
    assert data.ragged.n_sequences == 20
    assert any("one sample of 20 timesteps × 12 features" in n for n in data.notes)
    assert any("--per-sample" in n for n in data.notes)
    one = lstmprep.read(path, layout="per-sample")
    assert one.ragged.lengths.tolist() == [20] and one.ragged.n_features == 12


def test_suggested_commands_repeat_the_inputs_and_layout(samples, tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = run.json("inspect", "samples/x*.npy", "--labels", "labels.csv", code=0)
    command = report["next_command"]
    assert command.startswith("lstmprep pad 'samples/x*.npy' -o padded.npz")
    assert run(*shlex.split(command)[1:]).exit_code == 0
    shards = run.json("inspect", "samples", "--shards", code=0)
    assert shards["next_command"] == "lstmprep train samples --shards"


# --- channels first ------------------------------------------------------------------------------


def test_dense_channels_first_warns_and_the_flag_transposes(tmp_path, run):
    x = np.random.default_rng(0).normal(size=(8, 6, 100)).astype("float32")  # aeon's (n, c, t)
    path = tmp_path / "motions.npy"
    np.save(path, x)
    report = run.json("inspect", path, code=0)
    assert [p["code"] for p in report["problems"]] == ["maybe-channels-first"]
    assert "100 timesteps of 6 features" in report["problems"][0]["message"]
    assert "--channels-first" in report["problems"][0]["message"]
    out = tmp_path / "m.npz"
    assert run("pad", path, "-o", out, "--channels-first").exit_code == 0
    padded = np.load(out)
    np.testing.assert_array_equal(padded["x"], x.transpose(0, 2, 1))
    assert json.loads(str(padded["meta"]))["channels_first"] is True


@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_ragged_channels_first_is_one_error_and_the_flag_reads_it(fmt, tmp_path, run):
    rng = np.random.default_rng(0)
    samples = [rng.normal(size=(12, t)) for t in (7, 20, 29, 13, 7)]  # (features, timesteps)
    path = tmp_path / f"vowels.{fmt}"
    if fmt == "npz":
        np.savez(path, *samples)
    else:
        path.write_text(json.dumps([s.tolist() for s in samples]))
    report = run.json("inspect", path, code=1)
    assert [(p["code"], p["count"]) for p in report["problems"]] == [("channels-first", 1)]
    data = lstmprep.read(path, channels_first=True)
    assert data.ragged.lengths.tolist() == [7, 20, 29, 13, 7]
    np.testing.assert_array_equal(data.ragged[2], samples[2].T)
    assert lstmprep.inspect(path, channels_first=True).ok


def test_per_sample_channels_first_folder(tmp_path):
    folder = tmp_path / "cf"
    folder.mkdir()
    for i, t in enumerate((5, 9, 14)):
        np.save(folder / f"s{i}.npy", np.ones((4, t)) * i)
    report = lstmprep.inspect(folder)
    assert report.codes() == ["channels-first"]
    data = lstmprep.read(folder, channels_first=True)
    assert data.ragged.lengths.tolist() == [5, 9, 14] and data.ragged.n_features == 4


# --- labels --------------------------------------------------------------------------------------


def test_one_hot_labels_are_classes(write):
    seqs = [[[1.0], [2.0]], [[3.0]], [[4.0], [5.0]]]
    path = write("d.json", {"sequences": seqs, "labels": [[0, 0, 1], [1, 0, 0], [0, 1, 0]]})
    report = lstmprep.inspect(path)
    assert report.stats.task == "multiclass" and report.stats.classes == (0, 1, 2)
    assert any("one-hot" in n for n in report.notes)
    assert lstmprep.read(path).labels.tolist() == [2, 0, 1]


def test_whole_float_labels_say_the_task_assumed(write, run):
    seqs = [[[1.0], [2.0]]] * 6
    path = write("d.json", {"sequences": seqs, "labels": [0.0, 1.0, 2.0, 1.0, 0.0, 2.0]})
    report = lstmprep.inspect(path)
    assert report.stats.task == "regression" and report.stats.classes is None
    assert any("regression" in n and "integers" in n for n in report.notes)
    shown = run("inspect", path).stdout
    assert "6 (regression)" in shown


def test_stats_count_the_classes(write, run):
    seqs = [[[float(i)], [1.0]] for i in range(9)]
    path = write("d.json", {"sequences": seqs, "labels": [str(i) for i in range(1, 10)]})
    assert "9 (multiclass, 9 classes)" in run("inspect", path).stdout


def test_bad_layout_in_the_api(samples):
    with pytest.raises(ValueError, match="layout"):
        lstmprep.read(samples, layout="columns")
    with pytest.raises(UnreadableInput, match="no file matches"):
        lstmprep.read(str(samples / "*.json"))
