"""window: windows and targets equal Keras's, never cross series, trace back; bad input refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lstmprep
from lstmprep import WindowOptions

RNG = np.random.default_rng(14)
SERIES = RNG.standard_normal((97, 3)).astype(np.float32)


def keras_windows(data, targets, length, stride=1, rate=1):
    """x and y of keras.utils.timeseries_dataset_from_array, iterated into numpy."""
    keras = pytest.importorskip("keras")
    dataset = keras.utils.timeseries_dataset_from_array(
        data, targets, length, sequence_stride=stride, sampling_rate=rate, batch_size=1000
    )
    batches = list(dataset.as_numpy_iterator())
    if targets is None:
        return np.concatenate(batches), None
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def next_targets(data, length, rate, horizon, columns):
    """What --target next means, as Keras's targets array: targets[i] belongs to window i."""
    wanted = data[:, list(columns)] if columns else data
    first = length * rate
    if horizon == 1:
        return wanted[first:]
    count = len(data) - first - (horizon - 1) * rate
    return np.stack([wanted[first + i : first + i + horizon * rate : rate] for i in range(count)])


@pytest.mark.parametrize(
    "length, stride, rate, horizon, columns",
    [(8, 1, 1, 1, None), (5, 3, 2, 1, (1,)), (10, 4, 3, 3, (2, 0)), (1, 1, 1, 2, None)],
)
def test_one_series_equals_keras(length, stride, rate, horizon, columns):
    targets = next_targets(SERIES, length, rate, horizon, columns)
    want_x, want_y = keras_windows(SERIES, targets, length, stride, rate)
    got = lstmprep.windows(
        SERIES,
        length,
        stride=stride,
        sampling_rate=rate,
        horizon=horizon,
        target_columns=columns,
    )
    np.testing.assert_array_equal(got.x, want_x)
    np.testing.assert_array_equal(got.y, want_y)
    assert got.source[:, 1].tolist() == list(range(0, stride * len(want_x), stride))
    assert np.shares_memory(got.x, SERIES)  # a view until written


def test_target_none_and_label_equal_keras():
    want_x, _ = keras_windows(SERIES, None, 12, 5, 2)
    got = lstmprep.windows(SERIES, 12, stride=5, sampling_rate=2, target="none")
    np.testing.assert_array_equal(got.x, want_x)
    assert got.y is None
    labelled = lstmprep.windows(SERIES, 12, stride=5, target="label", labels=["up"])
    assert labelled.y.tolist() == ["up"] * len(labelled)


def test_windows_never_cross_series_and_trace_back():
    sequences = [RNG.standard_normal((n, 2)).astype(np.float32) for n in (30, 4, 0, 17, 11)]
    ragged = lstmprep.Ragged.from_sequences(sequences, dtype=np.float32)
    got = lstmprep.windows(ragged, 6, stride=2, horizon=2)
    for i, series in enumerate(sequences):
        mine = got.source[:, 0] == i
        if len(series) < 6 + 2:
            assert not mine.any()
            continue
        want_x, want_y = keras_windows(series, next_targets(series, 6, 1, 2, None), 6, 2)
        np.testing.assert_array_equal(got.x[mine], want_x)
        np.testing.assert_array_equal(got.y[mine], want_y)
    for (series, start), window in zip(got.source, got.x, strict=True):
        np.testing.assert_array_equal(window, sequences[series][start : start + 6])
    assert got.skipped.tolist() == [1, 2]


def test_short_series_are_padded_with_their_real_length():
    ragged = lstmprep.Ragged.from_sequences([[1, 2, 3, 4, 5, 6], [7, 8, 9], [10]])
    got = lstmprep.windows(ragged, 4, pad_short=True)
    assert got.x[..., 0].tolist() == [
        [1, 2, 3, 4],
        [2, 3, 4, 5],
        [7, 8, 0, 0],  # its last step is the target
    ]
    assert got.y[:, 0].tolist() == [5, 6, 9]
    assert got.lengths.tolist() == [4, 4, 2]
    assert got.source.tolist() == [[0, 0], [0, 1], [1, 0]]
    assert got.padded.tolist() == [1] and got.skipped.tolist() == [2]  # one step: no target


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"length": 0}, "--length must be"),
        ({"length": 3, "stride": -1}, "--stride must be"),
        ({"length": 3, "horizon": 0}, "--horizon must be"),
        ({"length": 3, "target": "label", "horizon": 2}, "--horizon 2 counts"),
        ({"length": 3, "target": "none", "target_columns": "0"}, "--target-columns chooses"),
        ({"length": 3, "target_columns": "a"}, "distinct feature indices"),
    ],
)
def test_bad_options_are_usage_errors(kwargs, words):
    with pytest.raises(lstmprep.UsageError, match=words):
        WindowOptions(**kwargs)


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def prices(write):
    sequences = [RNG.normal(100, 5, (n, 2)).round(3).tolist() for n in (40, 25, 8, 60)]
    return write("prices.jsonl", [{"sequence": s, "label": i % 2} for i, s in enumerate(sequences)])


def test_cli_writes_windows_like_the_library(run, prices, tmp_path):
    out = tmp_path / "w.npz"
    summary = run.json("window", prices, "-o", out, "--length", 10, "--target-columns", "0", code=0)
    data = np.load(out, allow_pickle=False)
    expected = lstmprep.windows(lstmprep.read(prices), 10, target_columns="0")
    np.testing.assert_array_equal(data["x"], expected.x)
    np.testing.assert_array_equal(data["y"], expected.y)
    np.testing.assert_array_equal(data["source"], expected.source)
    assert summary["shape"] == [30 + 15 + 50, 10, 2] and summary["y_shape"] == [95, 1]
    (short,) = summary["warnings"]
    assert (short["code"], short["count"], short["sequence"]) == ("short-series", 1, 2)
    assert "--pad-short" in short["message"]
    assert summary["meta"]["command"] == "window" and summary["meta"]["window"]["length"] == 10
    assert summary["next_command"] == f"lstmprep train {out}"


def test_cli_label_target_keeps_class_names(run, prices, tmp_path):
    summary = run.json("window", prices, "-o", tmp_path / "w.npz", "--length", 20, "--target",
                       "label", code=0)  # fmt: skip
    assert summary["meta"]["classes"] == [0, 1]
    y = np.load(tmp_path / "w.npz")["y"]
    assert y.tolist() == [0] * 21 + [1] * 6 + [1] * 41


def test_train_fits_on_window_output(run, prices, tmp_path):
    pytest.importorskip("keras")
    out = tmp_path / "w.npz"
    assert run("window", prices, "-o", out, "--length", 6, "--horizon", 2, "--stride", 3,
               "--pad-short").exit_code == 0  # fmt: skip
    result = run.json("train", out, "--epochs", "1", code=0)
    assert result["task"] == "multi-regression" and result["padded_shape"][1:] == [6, 2]


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["--length", "0"], 2, "--length must be"),
        (["--length", "5", "--stride", "0"], 2, "--stride must be"),
        (["--length", "5", "--horizon", "0"], 2, "--horizon must be"),
        (["--length", "5", "--target-columns", "0,2"], 2, "names feature 2, but the series have 2"),
        (["--length", "5", "--target", "label"], 2, "needs labels"),
        (["--length", "500"], 1, "the longest has 4 steps, a window needs 501"),
    ],
)
def test_cli_refuses_bad_input(run, write, tmp_path, args, code, words):
    path = write("d.json", [[[1, 2], [3, 4], [5, 6], [7, 8]]])
    result = run("window", path, "-o", tmp_path / "w.npz", *args)
    assert result.exit_code == code, result.output
    assert words in result.stderr.replace("\n", " ")
    assert not (tmp_path / "w.npz").exists()


def test_cli_locates_nan_and_writes_nothing(run, write, tmp_path):
    path = write("d.json", [[[1, 2], [3, 4], [5, 6]], [[1, 2], [3, float("nan")], [5, 6]]])
    report = run.json("window", path, "-o", tmp_path / "w.npz", "--length", 2, code=1)
    (nan,) = [p for p in report["problems"] if p["code"] == "non-finite"]
    assert (nan["sequence"], nan["timestep"]) == (1, 1)
    assert not (tmp_path / "w.npz").exists()


def test_cli_refuses_output_over_the_memory_budget(write, tmp_path):
    from typer.testing import CliRunner

    from lstmprep.cli import app

    path = write("d.json", [[t + 0.5 for t in range(300)], [t + 0.5 for t in range(200)]])
    env = {"LSTMPREP_MEMORY_LIMIT": "100000", "COLUMNS": "200", "NO_COLOR": "1"}
    result = CliRunner(env=env).invoke(
        app, ["window", str(path), "-o", str(tmp_path / "w.npz"), "--length", "100"]
    )
    assert result.exit_code == 2
    message = result.stderr.replace("\n", " ")
    assert "300 windows of shape (100, 1) (float32) needs about 117.2 KB of memory" in message
    assert "--stride" in message
    assert not (tmp_path / "w.npz").exists()


def test_cli_keeps_an_existing_output(run, prices, tmp_path):
    out = tmp_path / "w.npz"
    out.write_bytes(b"mine")
    assert run("window", prices, "-o", out, "--length", 5).exit_code == 2
    assert out.read_bytes() == b"mine"
    assert run("window", prices, "-o", out, "--length", 5, "--force").exit_code == 0


def test_inspect_suggests_windows_for_few_long_sequences(write):
    long = write("long.json", np.round(1.5 + np.sin(np.arange(2500) / 9), 3)[None].tolist())
    report = lstmprep.inspect(long)
    (problem,) = report.problems
    assert problem.code == "long-sequences" and problem.severity == "warning"
    assert report.next_command == f"lstmprep window {long} -o windows.npz --length 100 --stride 50"
    many = write("many.json", [[0.5] * 1100] * 101)
    assert "long-sequences" not in lstmprep.inspect(many).codes()


def test_windows_npz_reads_back_with_its_meta(run, prices, tmp_path):
    out = tmp_path / "w.npz"
    run("window", prices, "-o", out, "--length", 7, "--horizon", 3)
    data = lstmprep.read(out)
    assert data.meta.command == "window" and data.meta.window["horizon"] == 3
    assert data.labels.shape == (len(data.ragged), 3 * 2)  # (N, horizon, C) as vectors
    assert json.loads(str(np.load(out)["meta"]))["command"] == "window"
