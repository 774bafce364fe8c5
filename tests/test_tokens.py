"""Token ids: told from values (and --kind to say otherwise), checked (bad-token, zero-token),
padded as (N, T) integers, read from .txt, and trained through an Embedding that learns."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

import lstmprep
from lstmprep.options import PadOptions
from lstmprep.pipeline import pad_file

SAMPLES = Path(__file__).parent.parent / "sample_data"
IDS = [list(range(1, 21)), [4, 9, 7], [13, 2]]  # univariate, whole, from 1, 20 distinct


def _samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# --- detection and the override ------------------------------------------------------------------


def test_token_ids_are_detected_and_described():
    report = lstmprep.inspect(SAMPLES / "tokens.npz", labels=SAMPLES / "tokens_labels.npy")
    s = report.stats
    assert report.ok and s.kind == "tokens"
    assert (s.vocabulary_size, s.distinct_ids, s.zero_id) == (91, 90, False)
    assert s.embedding == "Embedding(input_dim=91, output_dim=32, mask_zero=True)"
    assert s.input_shape == (39,)
    assert any("--kind values" in note for note in report.notes)


@pytest.mark.parametrize(
    "data",
    [
        [[1.5, 2, 3] + list(range(4, 30))],  # a fraction
        [list(range(-1, 30))],  # a negative number
        [list(range(1, 19))],  # too few distinct values
        [[[i, i] for i in range(1, 30)]],  # two features
        [[2**31] + list(range(1, 30))],  # too large for ids unless told
    ],
    ids=["fraction", "negative", "few", "features", "large"],
)
def test_other_numbers_are_values(data, write):
    report = lstmprep.inspect(write("data.json", data))
    assert report.stats.kind == "values" and report.stats.vocabulary_size is None
    assert not report.errors


def test_kind_overrides_the_rule(write, run):
    values = run.json("inspect", SAMPLES / "tokens.npz", "--kind", "values", code=0)
    assert values["stats"]["kind"] == "values" and values["stats"]["embedding"] is None
    few = write("few.json", [[3, 1, 2], [4]])
    forced = run.json("inspect", few, "--kind", "tokens", code=0)
    assert forced["stats"]["kind"] == "tokens" and forced["stats"]["vocabulary_size"] == 5
    assert "--kind tokens" in forced["next_command"]


def test_suggested_commands_repeat_the_kind(write, tmp_path, run, monkeypatch):
    monkeypatch.chdir(tmp_path)
    few = write("few.json", [[3, 1, 2], [0, 4]])
    report = run.json("inspect", few, "--kind", "tokens", code=1)
    (zero,) = [p for p in report["problems"] if p["code"] == "zero-token"]
    assert "--value 5 --kind tokens`" in zero["message"]
    summary = run.json("pad", few, "-o", "p.npz", "--value", "5", "--kind", "tokens", code=0)
    assert summary["next_command"] == "lstmprep train p.npz --kind tokens"


# --- the zero-id collision -----------------------------------------------------------------------


def test_zero_as_a_real_id_is_an_error_with_its_fixes(write, tmp_path, run):
    path = write("ids.json", [list(range(1, 21)), [4, 0, 7, 0]])
    report = lstmprep.inspect(path)
    (problem,) = report.errors
    assert (problem.code, problem.sequence, problem.timestep, problem.count) == (
        "zero-token",
        1,
        1,
        2,
    )
    assert "ids + 1" in problem.message and "--value 21" in problem.message
    assert report.stats.zero_id and "mask_zero" not in (report.stats.embedding or "")
    assert run("pad", path, "-o", tmp_path / "refused.npz").exit_code == 1
    assert not (tmp_path / "refused.npz").exists()
    # the fix: pad with an id no sequence uses; the ids stay as they were
    out = tmp_path / "p.npz"
    assert run("pad", path, "-o", out, "--value", "21").exit_code == 0
    with np.load(out) as padded:
        assert padded["x"][1].tolist() == [4, 0, 7, 0] + [21] * 16
        assert json.loads(str(padded["meta"]))["vocabulary"] == 22
    assert lstmprep.inspect(out).ok  # checked with the pad value its meta records
    # or: they were never ids
    assert lstmprep.inspect(path, kind="values").ok


# --- integer output ------------------------------------------------------------------------------


def test_pad_keeps_ids_whole_and_shaped_for_an_embedding(tmp_path):
    source = SAMPLES / "tokens.npz"
    summary = pad_file(source, tmp_path / "p.npz", labels=SAMPLES / "tokens_labels.npy")
    assert summary.shape == (200, 39) and summary.dtype == "int32"
    assert (summary.meta.kind, summary.meta.vocabulary) == ("tokens", 91)
    with np.load(tmp_path / "p.npz") as padded, np.load(source) as original:
        x, lengths = padded["x"], padded["lengths"]
        assert x.dtype == np.int32 and x.shape == (200, 39)
        for i in (0, 137):
            assert x[i, : lengths[i]].tolist() == original[f"arr_{i}"].tolist()
            assert not x[i, lengths[i] :].any()
    again = lstmprep.read(tmp_path / "p.npz")  # pad's output reads back as the same ids
    assert again.kind == "tokens" and again.ragged.values[:5, 0].tolist() == [
        float(v) for v in np.load(source)["arr_0"][:5]
    ]


def test_ids_that_need_int64_get_it_exactly(tmp_path):
    big = 2**40 + 1  # beyond int32 and float32, exact in float64
    path = tmp_path / "big.npz"
    np.savez(path, values=np.array([big, 7, 2**53 - 1], dtype=np.int64), lengths=np.array([2, 1]))
    summary = pad_file(path, tmp_path / "p.npz", kind="tokens")
    assert summary.dtype == "int64"
    with np.load(tmp_path / "p.npz") as padded:
        assert padded["x"].tolist() == [[big, 7], [2**53 - 1, 0]]


def test_an_explicit_dtype_is_kept_and_checked(tmp_path, write):
    path = write("ids.json", IDS)
    summary = pad_file(path, tmp_path / "f.npz", PadOptions(dtype="float32"))
    assert summary.shape == (3, 20) and summary.dtype == "float32"
    report = lstmprep.inspect(write("wide.json", [list(range(1, 20)) + [300]]))
    assert report.ok
    with pytest.raises(lstmprep.DataError) as refused:
        pad_file(path.parent / "wide.json", tmp_path / "i8.npz", PadOptions(dtype="int8"))
    (problem,) = refused.value.report.errors  # type: ignore[attr-defined]
    assert problem.code == "lossy-cast" and "300" in problem.message and "int8" in problem.message


# --- bad token data ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, words",
    [(-3, "is -3, which is negative"), (2.5, "is 2.5, which is not a whole"), (2**64, "2**53")],
)
def test_values_that_are_not_ids_are_located(value, words, write, run):
    path = write("ids.json", [[1, 2, 3], [4, value, 6]])
    result = run("inspect", path, "--kind", "tokens")
    assert result.exit_code == 1
    assert "bad-token" in result.stdout and "sequence 1, timestep 1" in result.stdout
    assert words in result.stdout and "--kind values" in result.stdout
    assert run("pad", path, "-o", path.with_suffix(".npz"), "--kind", "tokens").exit_code == 1


def test_features_and_negative_pad_values_are_not_ids(write, tmp_path, run):
    pairs = write("pairs.json", [[[1, 2], [3, 4]]])
    report = lstmprep.inspect(pairs, kind="tokens")
    assert [p.code for p in report.errors] == ["bad-token"] and "2 features" in report.errors[
        0
    ].message
    ids = write("ids.json", IDS)
    result = run("pad", ids, "-o", tmp_path / "p.npz", "--value", "-1")
    assert result.exit_code == 1 and "--value -1 cannot pad token ids" in result.stderr


# --- the .txt reader -----------------------------------------------------------------------------


def test_text_file_of_ids(write):
    path = write("ids.txt", b"3 1 4 1 5\r\n\n9\t2  6\n")
    data = lstmprep.read(path)
    assert data.kind == "tokens" and data.format == "txt"
    assert data.ragged.lengths.tolist() == [5, 0, 3]
    assert data.ragged.values[:, 0].tolist() == [3, 1, 4, 1, 5, 9, 2, 6]


def test_text_words_that_are_not_ids_are_located_by_line_and_column(write, run):
    path = write("ids.txt", b"3 1 4\n1 5 hello 9\n2 6.5\n" + b"7 " + b"9" * 400 + b"\n")
    result = run("inspect", path, "--json")
    assert result.exit_code == 1
    found = {p["code"]: p for p in json.loads(result.stdout)["problems"]}
    assert found["non-numeric"]["message"].startswith('line 2, column 5: "hello"')
    assert found["bad-token"]["message"].startswith('line 3, column 3: "6.5"')
    assert "line 4, column 3" in found["non-finite"]["message"]


def test_huge_text_ids_are_refused_with_their_line(write):
    report = lstmprep.inspect(write("ids.txt", b"1 2\n3 18446744073709551616\n"))
    (problem,) = report.errors
    assert problem.code == "bad-token" and "sequence 1 (line 2), timestep 1" in problem.message


# --- the Embedding model -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """A quick version of sample_data/reviews.txt: 300 reviews whose markers say the label."""
    pytest.importorskip("keras")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    folder = tmp_path_factory.mktemp("reviews")
    ids, labels = _samples().review_ids(np.random.default_rng(7), 300, vocabulary=500)
    (folder / "r.txt").write_text("".join(" ".join(map(str, r)) + "\n" for r in ids))
    (folder / "r.json").write_text(json.dumps(labels))
    return folder / "r.txt", folder / "r.json"


def test_train_builds_an_embedding_that_learns_which_tokens_occur(reviews, tmp_path):
    text, labels = reviews
    options = lstmprep.TrainOptions(epochs=6, units=16, seed=0)
    result = lstmprep.train_file(text, options, labels=labels, save=tmp_path / "m.keras")
    assert result.ok, result.failure
    assert [layer.name for layer in result.layers] == [
        "sequences",
        "embedding",
        "mask",
        "lstm",
        "head",
    ]
    assert result.layers[1].params == 500 * 32 and result.input_shape == (None,)
    val = json.loads(labels.read_text())  # chance: always the more common label
    chance = max(val.count("positive"), val.count("negative")) / len(val)
    assert result.final["val_accuracy"] > chance + 0.2
    # the saved model takes pad's (N, T) ids as they are
    keras = pytest.importorskip("keras")
    pad_file(text, tmp_path / "p.npz", labels=labels)
    with np.load(tmp_path / "p.npz") as padded:
        x, lengths = padded["x"], padded["lengths"]
    model = keras.models.load_model(tmp_path / "m.keras")
    mask = lstmprep.timestep_mask(lengths, x.shape[1], "post")
    scores = model.predict([x[:8], mask[:8]], verbose=0)
    assert scores.shape == (8, 1) and np.isfinite(scores).all()


def test_a_vocabulary_too_large_for_memory_is_refused_with_its_size(write, run, monkeypatch):
    pytest.importorskip("keras")
    path = write("ids.txt", b"1 2 3\n4 100000000 6\n")
    labels = write("labels.json", [0, 1])
    monkeypatch.setenv("LSTMPREP_MEMORY_LIMIT", str(10**8))
    result = run("train", path, "--labels", labels)
    assert result.exit_code == 2
    assert "Embedding of 100,000,001 ids" in result.stderr and "GB" in result.stderr
