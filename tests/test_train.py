"""train: every task, --save, --json, refusals before training, usage errors, no TensorFlow,
and the mask check — holding on real all-zero timesteps, failing when the mask is wrong.

Tiny models (4 units, 1–2 epochs, 16 short sequences) keep the whole file fast; TensorFlow's
import is paid once.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import lstmprep
from lstmprep import cli
from lstmprep.options import PadOptions
from lstmprep.pipeline import pad_file
from lstmprep.target import make_target
from lstmprep.train import TrainOptions, check_model_path, train

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
train_lib = importlib.import_module("lstmprep.train")  # the module, whatever lstmprep exports

TINY = TrainOptions(epochs=1, units=4, validation_split=0, seed=0)
TINY_ARGS = ["--epochs", "1", "--units", "4", "--validation-split", "0", "--seed", "0"]


def sequences(n: int = 16, features: int = 2) -> list:
    """Lengths 2–6; the middle timestep of each is all zeros, i.e. equal to the pad value."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        s = rng.normal(size=(2 + i % 5, features)).round(3)
        s[len(s) // 2] = 0.0
        out.append(s.tolist())
    return out


LABELS = {
    "regression": (np.random.default_rng(1).normal(size=16).tolist(), 1),
    "binary": (["no", "yes"] * 8, 1),
    "multiclass": ([5, 7, 9, 7] * 4, 3),
    "multi-regression": (np.random.default_rng(2).normal(size=(16, 3)).tolist(), 3),
    "self-supervised": (None, 2),
}


@pytest.fixture
def run():
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"})
    return lambda *args: runner.invoke(cli.app, ["train", *map(str, args)])


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if TensorFlow is loaded: the command must stop before that."""

    def refuse(verbose=False):
        raise AssertionError("TensorFlow was loaded")

    monkeypatch.setattr(train_lib, "import_keras", refuse)


def data_file(tmp_path, labels=None, seqs=None):
    value = {"sequences": sequences() if seqs is None else seqs}
    if labels is not None:
        value["labels"] = labels
    path = tmp_path / "data.json"
    path.write_text(json.dumps(value))
    return path


# --- tasks (binary and self-supervised are trained by the command tests below) ------------------


@pytest.mark.parametrize("task", ["regression", "multiclass", "multi-regression"])
def test_task_from_labels(task, tmp_path):
    labels, outputs = LABELS[task]
    dataset = lstmprep.read(data_file(tmp_path, labels))
    assert "pad-collision" in lstmprep.diagnose(dataset).codes()  # real all-zero timesteps
    result = train(dataset, TINY)
    assert result.task == task
    assert result.layers[-1].output_shape == (None, outputs)
    assert result.input_shape == (None, 2)
    assert len(result.history["loss"]) == 1 and result.loss_finite
    assert result.mask_check.held and result.mask_check.checked == 16
    assert result.mask_check.max_abs_diff <= 1e-4
    assert result.ok


def test_classes_are_mapped_in_order():
    r = lstmprep.Ragged.from_sequences([[[1.0]], [[2.0]], [[3.0]]])
    target = make_target(lstmprep.Dataset("d.json", "json", r, labels=np.array(["b", "a", "b"])))
    assert (target.task, target.classes, target.y[:, 0].tolist()) == (
        "binary",
        ("a", "b"),
        [1, 0, 1],
    )
    target = make_target(lstmprep.Dataset("d.json", "json", r, labels=np.array([10, 30, 20])))
    assert (target.task, target.classes, target.y.tolist()) == (
        "multiclass",
        (10, 20, 30),
        [0, 2, 1],
    )


def test_self_supervised_target_is_the_last_timestep():
    r = lstmprep.Ragged.from_sequences([[[1.0], [3.0], [9.0]], [[5.0], [7.0]], [[4.0]]])
    target = make_target(lstmprep.Dataset("d.json", "json", r))
    assert target.inputs.lengths.tolist() == [2, 1] and target.inputs.values[:, 0].tolist() == [
        1,
        3,
        5,
    ]
    mean, std = 3.0, np.std([1, 3, 5])
    assert target.y[:, 0] == pytest.approx([(9 - mean) / std, (7 - mean) / std])
    assert "last real timestep" in target.description
    assert target.notes == ("1 sequence(s) shorter than 2 timesteps left out",)


def test_padded_npz_is_trained_as_pad_wrote_it(tmp_path):
    source = data_file(tmp_path, LABELS["binary"][0])
    padded = tmp_path / "padded.npz"
    pad_file(source, padded, PadOptions(padding="pre", value=-1.0))
    result = train(lstmprep.read(padded), TINY)
    assert result.task == "binary" and result.padded_shape == (16, 6, 2)
    assert any("pre padding with -1" in note for note in result.notes)
    assert result.mask_check.held


# --- the command ---------------------------------------------------------------------------------


def test_binary_json(tmp_path, run):
    path = data_file(tmp_path, LABELS["binary"][0])
    args = ["--epochs", "2", "--units", "4", "--validation-split", "0.25", "--seed", "3"]
    result = run(path, *args, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["history"]["loss"]) == 2 and len(doc["history"]["val_accuracy"]) == 2
    assert doc["task"] == "binary" and doc["classes"] == ["no", "yes"]
    assert doc["layers"][-1]["output_shape"] == [None, 1]
    assert doc["mask_check"]["held"] and doc["mask_check"]["checked"] == 16
    assert doc["final"]["loss"] == doc["history"]["loss"][-1]
    assert (doc["train_sequences"], doc["validation_sequences"]) == (12, 4)
    assert {"params", "input_shape", "target", "saved", "ok"} <= set(doc)


def test_self_supervised_tables_and_save(tmp_path, run):
    model_file = tmp_path / "model.keras"
    result = run(data_file(tmp_path), *TINY_ARGS, "--save", model_file)
    assert result.exit_code == 0, result.output
    for words in ("trained: self-supervised", "no labels: each sequence's last real timestep"):
        assert words in result.stdout
    for words in ("lstm", "head", "parameters", "mean squared error", "mae", "✓ held"):
        assert words in result.stdout
    assert "keras.Input(shape=(None, 2))" in result.stdout and str(model_file) in result.stdout
    model = keras.models.load_model(model_file)
    x = np.array(sequences()[4], dtype="float32")[None]
    assert model([x, np.ones(x.shape[:2], bool)]).shape == (1, 2)
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_save_refuses_an_existing_file(tmp_path, run, no_training):
    model_file = tmp_path / "model.keras"
    model_file.write_text("keep me")
    result = run(data_file(tmp_path), "--save", model_file)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert model_file.read_text() == "keep me"
    assert check_model_path(model_file, force=True) == model_file


@pytest.mark.parametrize(
    "args, words",
    [
        (["--epochs", "0"], "--epochs"),
        (["--units", "0"], "--units"),
        (["--batch-size", "0"], "--batch-size"),
        (["--validation-split", "1"], "--validation-split"),
        (["--validation-split", "-0.1"], "--validation-split"),
        (["--validation-split", "0.01"], "leaves 0 for validation"),
        (["--seed", "-1"], "--seed"),
        (["--save", "model.h5"], ".keras"),
        (["--save", "missing/model.keras"], "does not exist"),
        (["--quiet", "--verbose"], "contradict"),
        (["--epochs", "many"], "--epochs"),
    ],
)
def test_usage_errors_exit_2_before_training(args, words, tmp_path, run, no_training, monkeypatch):
    path = data_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = run(path, *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr and "Traceback" not in result.output


def test_unreadable_input_exits_2(tmp_path, run, no_training):
    result = run(tmp_path / "missing.json")
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_nan_is_refused_before_training(tmp_path, run, no_training):
    seqs = sequences()
    seqs[3][1][0] = float("nan")
    result = run(data_file(tmp_path, seqs=seqs), "--json")
    assert result.exit_code == 1
    assert "no training was started" in result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert [p["code"] for p in problems if p["severity"] == "error"] == ["non-finite"]


def test_label_count_mismatch_is_refused(tmp_path, run, no_training):
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps([0, 1, 0]))
    result = run(data_file(tmp_path), "--labels", labels)
    assert result.exit_code == 1 and "label-mismatch" in result.output


def test_nothing_to_learn_is_refused(tmp_path, run, no_training):
    result = run(data_file(tmp_path, seqs=[[[1.0, 2.0]], [[3.0, 4.0]]]))
    assert result.exit_code == 1 and "two timesteps" in result.stderr


def test_non_finite_loss_exits_1(tmp_path, run):
    result = run(data_file(tmp_path, [3e38] * 16), *TINY_ARGS, "--json")
    assert result.exit_code == 1 and "not finite" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["loss_finite"] is False and doc["ok"] is False


def test_missing_tensorflow_names_the_extra(tmp_path, run, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    result = run(data_file(tmp_path))
    assert result.exit_code == 2
    assert "TensorFlow" in result.stderr and "pip install 'lstmprep[train]'" in result.stderr
    with pytest.raises(lstmprep.UsageError, match="TensorFlow"):
        train_lib.import_keras()


# --- the mask check can fail ---------------------------------------------------------------------


def test_mask_check_fails_when_masking_by_value(tmp_path, run, monkeypatch):
    """Masking by the pad value drops the real all-zero timesteps: the check must catch it."""
    monkeypatch.setattr(train_lib, "train", functools.partial(train_lib.train, mask="value"))
    result = run(data_file(tmp_path, LABELS["regression"][0]), *TINY_ARGS, "--json")
    assert result.exit_code == 1 and "mask check failed" in result.stderr
    check = json.loads(result.stdout)["mask_check"]
    assert check["held"] is False and check["max_abs_diff"] > 1e-4


def test_readme_saved_model_example_runs(tmp_path, monkeypatch):
    """The README's example of loading a saved model and predicting, run as written."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("<!-- example: saved-model")[1].split("```python\n")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    source = Path(__file__).parent.parent / "sample_data" / "sensors.json"
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"})
    assert runner.invoke(cli.app, ["pad", str(source), "-o", "padded.npz"]).exit_code == 0
    args = ["train", "padded.npz", "--epochs", "1", "--save", "sensors.keras", "--quiet"]
    trained = runner.invoke(cli.app, args)
    assert trained.exit_code == 0, trained.output
    about = lstmprep.model_meta("sensors.keras")
    assert about["task"] == "binary" and about["classes"] == [0, 1]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert set(namespace["predicted"].tolist()) <= {0, 1}
    assert len(namespace["predicted"]) == len(np.load("padded.npz")["x"])


def test_tiny_data_trains_on_everything_and_says_so(tmp_path, run):
    """The seed's own three sequences: the default split would leave nothing to validate."""
    path = tmp_path / "seed.json"
    path.write_text(json.dumps([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10]], [[1, 1], [2, 2]]]))
    result = json.loads(run(path, "--epochs", "1", "--units", "4", "--json").stdout)
    assert result["ok"] and result["validation_sequences"] == 0
    assert result["train_sequences"] == 3
    assert any("none is held out for validation" in note for note in result["notes"])
    explicit = run(path, "--epochs", "1", "--validation-split", "0.2")
    assert explicit.exit_code == 2 and "--validation-split 0.2 of 3 sequences" in explicit.stderr
