"""inspect: every problem code, the exit codes, and the CLI's --json equal to the library's."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

import lstmprep
from lstmprep import CODES

OK = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [0.7, 0.8]]]

# (data, code expected, where the first one is: (sequence, timestep))
CASES = {
    "feature-mismatch": ([[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [0.7]]], (1, 1)),
    "non-numeric": ([[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [0.7, "n/a"]]], (1, 1)),
    "rank": ([[[0.1, 0.2], [0.3, 0.4]], [[0.5, [0.6, 0.7]]]], (1, 0)),
    "label-mismatch": ({"sequences": OK, "labels": [0, 1, 1]}, (None, None)),
    "no-sequences": ([], (None, None)),
    "ragged-length": ([[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8]]], (0, None)),
    "empty-sequence": ([[[0.1, 0.2], [0.3, 0.4]], []], (1, None)),
    "pad-collision": ([[[0.1, 0.2], [0.0, 0.0]], [[0.7, 0.8], [0.9, 1.0]]], (0, 1)),
    "length-outlier": ([[[0.1, 0.2]] * 3] * 30 + [[[0.3, 0.4]] * 200], (30, None)),
    "lossy-cast": ([[[0.1, 0.2], [0.3, 0.4]], [[0.5, 1e300], [0.7, 0.8]]], (1, 0)),
    "too-short": ([[[0.1, 0.2]], [[0.3, 0.4]]], (None, None)),
    # three samples stored (features, timesteps): 2 "timesteps" each, 3 to 5 "features"
    "channels-first": (
        [[[1, 2, 3], [4, 5, 6]], [[1, 2, 3, 4]] * 2, [[1, 2, 3, 4, 5]] * 2],
        (None, None),
    ),
    "maybe-channels-first": ([[[0.1, 0.2, 0.3, 0.4, 0.5]] * 2] * 2, (None, None)),
    "long-sequences": ([[[0.5, 1.5]] * 1001] * 3 + [[[0.5, 1.5]] * 1002], (3, None)),
    "zero-token": ([list(range(1, 21)), [4, 0, 7]], (1, 1)),
}


def test_every_code_has_a_case():
    # short-series is window's own warning (tests/test_windows.py); non-finite has its own
    # tests below; bad-token needs --kind tokens (tests/test_tokens.py); duplicate-time needs
    # a table (tests/test_tables.py); unreadable: tests/test_ci.py (inspect --each)
    codes = {"non-finite", "short-series", "bad-token", "duplicate-time", "unreadable"}
    assert set(CASES) | codes == set(CODES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_problem_code(code, write):
    data, place = CASES[code]
    report = lstmprep.inspect(write("data.json", data))
    problem = next(p for p in report.problems if p.code == code)
    assert problem.severity == CODES[code][0]
    assert (problem.sequence, problem.timestep) == place
    assert problem.message
    assert report.ok == (problem.severity == "warning" and not report.errors)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_literals(literal, write):
    path = write("data.json", b"[[[1, 2], [3, %s]], [[5, 6]]]" % literal.encode())
    report = lstmprep.inspect(path)
    assert [(p.code, p.sequence, p.timestep) for p in report.errors] == [("non-finite", 0, 1)]


@pytest.mark.parametrize(
    "value, words",
    [(None, "null"), (True, "true"), ("7", 'text "7"'), ({"a": 1}, "object")],
)
def test_non_numeric_values_are_named(value, words, write):
    report = lstmprep.inspect(write("data.json", [[[1, 2], [3, value]]]))
    (problem,) = report.errors
    assert problem.code == "non-numeric" and words in problem.message
    assert (problem.sequence, problem.timestep) == (0, 1)


def test_scalar_instead_of_sequence_is_rank(write):
    report = lstmprep.inspect(write("data.json", [1, 2, 3]))
    assert {p.code for p in report.errors} >= {"rank"}
    assert "[[1, 2, 3]]" in report.errors[0].message


def test_repeated_problem_is_grouped(write):
    path = write("data.json", b"[[" + b",".join([b"[NaN]"] * 1000) + b"]]")
    report = lstmprep.inspect(path)
    (problem,) = report.errors
    assert problem.count == 1000 and len(problem.places) == 5
    assert [p.timestep for p in problem.places] == [0, 1, 2, 3, 4]


def test_stats(write):
    report = lstmprep.inspect(
        write("data.json", {"sequences": [[[1, 2]] * 3, [[3, 4]]], "labels": [0.5, 1.5]})
    )
    s = report.stats
    assert (s.sequences, s.features, s.min_length, s.max_length, s.total_timesteps) == (
        2,
        2,
        1,
        3,
        4,
    )
    assert s.input_shape == (3, 2) and s.padding_waste == pytest.approx(1 / 3, abs=1e-4)
    assert s.labels == 2 and s.label_kind == "regression"
    assert sum(n for _, _, n in s.histogram) == 2


def test_mask_value_avoids_real_zero_timesteps(write):
    report = lstmprep.inspect(write("data.json", [[[0, 0], [-2.5, 3]]]))
    assert report.stats.mask_value == -4.0
    assert "pad-collision" in report.codes()


def test_next_command_pads_with_the_mask_value_it_shows(write, tmp_path, run, monkeypatch):
    """The Keras row says Masking(mask_value=-4): the next command pads with -4 too."""
    report = lstmprep.inspect(write("data.json", [[[0, 0], [-2.5, 3]], [[1, 1]]]))
    monkeypatch.chdir(tmp_path)
    assert run(*shlex.split(report.next_command)[1:]).exit_code == 0
    assert report.stats.mask_value == -4 and (np.load("padded.npz")["x"][1, 1] == -4).all()


# --- formats -------------------------------------------------------------------------------------


def test_jsonl_with_labels_names_lines(write):
    path = write(
        "data.jsonl",
        [{"sequence": [[1, 2]], "label": 1}, {"sequence": [[3, "x"]], "label": 0}],
    )
    data = lstmprep.read(path)
    assert data.labels.tolist() == [1, 0]
    report = lstmprep.diagnose(data)
    assert "line 2" in report.errors[0].message


def test_jsonl_bare_lists(write):
    data = lstmprep.read(write("data.jsonl", [[[1, 2], [3, 4]], [[5, 6]]]))
    assert data.ragged.lengths.tolist() == [2, 1] and data.labels is None


def test_univariate_bare_numbers(write):
    data = lstmprep.read(write("data.json", [[1, 2, 3], [4, 5]]))
    assert data.ragged.n_features == 1 and data.ragged.values[:, 0].tolist() == [1, 2, 3, 4, 5]


def test_npy_2d_is_univariate_and_says_so(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(12.0).reshape(3, 4))
    report = lstmprep.inspect(tmp_path / "a.npy")
    assert report.stats.input_shape == (4, 1) and report.ok
    assert any("univariate" in n for n in report.notes)


def test_npy_3d_is_dense_and_says_what_was_assumed(tmp_path):
    x = np.ones((3, 4, 2), dtype=np.float32)
    x[0, 3] = 0
    np.save(tmp_path / "a.npy", x)
    report = lstmprep.inspect(tmp_path / "a.npy")
    assert report.stats.input_shape == (4, 2) and report.stats.dtype == "float32"
    assert any("dense" in n and "1 sequences end in an all-zero" in n for n in report.notes)


def test_npy_object_needs_allow_pickle(tmp_path, run):
    seqs = np.empty(2, dtype=object)
    seqs[:] = [np.ones((3, 2)), np.ones((1, 2))]
    np.save(tmp_path / "a.npy", seqs, allow_pickle=True)
    with pytest.raises(lstmprep.UnreadableInput, match="allow-pickle"):
        lstmprep.read(tmp_path / "a.npy")
    assert lstmprep.read(tmp_path / "a.npy", allow_pickle=True).ragged.lengths.tolist() == [3, 1]
    result = run("inspect", tmp_path / "a.npy")
    assert result.exit_code == 2 and "--allow-pickle" in result.stderr


def test_npz_savez_sequences_in_numeric_order(tmp_path):
    seqs = [np.full((i + 1, 2), i, dtype=np.float32) for i in range(12)]
    np.savez(tmp_path / "a.npz", *seqs)
    data = lstmprep.read(tmp_path / "a.npz")
    assert data.ragged.lengths.tolist() == list(range(1, 13))
    assert data.ragged[10][0].tolist() == [10, 10]


def test_npz_values_and_lengths(tmp_path):
    np.savez(tmp_path / "a.npz", values=np.arange(10.0).reshape(5, 2), lengths=[2, 3], y=[0, 1])
    data = lstmprep.read(tmp_path / "a.npz")
    assert data.ragged.lengths.tolist() == [2, 3] and data.labels.tolist() == [0, 1]


def test_labels_file(write):
    path = write("data.json", OK)
    assert lstmprep.read(path, labels=write("y.json", [3, 4])).labels.tolist() == [3, 4]
    report = lstmprep.inspect(path, labels=write("y3.json", [3, 4, 5]))
    assert report.codes() == ["label-mismatch"]


def test_read_options_value_and_keywords_agree(write, tmp_path):
    path, labels = write("data.json", OK), write("y.json", [3, 4])
    how = lstmprep.ReadOptions(labels=labels)
    assert (
        lstmprep.read(path, how).labels.tolist()
        == lstmprep.read(path, labels=labels).labels.tolist()
    )
    assert lstmprep.inspect(path, how) == lstmprep.inspect(path, labels=labels)
    # a keyword changes the value it is given with
    assert lstmprep.inspect(path, how, labels=write("y3.json", [3, 4, 5])).codes() == [
        "label-mismatch"
    ]
    summary = lstmprep.pad_file(path, tmp_path / "p.npz", reading=how)
    assert np.load(tmp_path / "p.npz")["y"].tolist() == [3, 4] and summary.labels
    with pytest.raises(TypeError, match="lables"):
        lstmprep.read(path, lables=labels)


def test_labels_of_mixed_types(write):
    report = lstmprep.inspect(write("d.json", {"sequences": OK, "labels": [1, None]}))
    assert [(p.code, p.sequence) for p in report.errors] == [("label-mismatch", 1)]


# --- the command ---------------------------------------------------------------------------------


def test_cli_json_equals_library_report(write, run):
    path = write("data.json", CASES["non-numeric"][0])
    assert run.json("inspect", path, code=1) == lstmprep.inspect(path).to_dict()


@pytest.mark.parametrize(
    "data, args, code",
    [
        (OK, [], 0),
        (CASES["ragged-length"][0], [], 0),
        (CASES["ragged-length"][0], ["--strict"], 1),
        (CASES["non-numeric"][0], [], 1),
    ],
)
def test_exit_codes(data, args, code, write, run):
    result = run("inspect", write("data.json", data), *args)
    assert result.exit_code == code, result.output
    assert json.loads(run("inspect", write("d.json", data), *args, "--json").stdout)["ok"] == (
        code == 0
    )


def test_tables_name_the_problem_and_next_step(write, run):
    path = write("data.json", CASES["ragged-length"][0])
    result = run("inspect", path)
    assert result.exit_code == 0
    assert "ragged-length" in result.stdout
    assert f"next:\n  lstmprep pad {path} -o padded.npz" in result.stdout


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("bad.json", b"[[[1, 2],\n [3, 4]]", "line 2, column"),
        ("bad.json", b"", "empty"),
        ("bad.json", b'"text"', "top level is a string"),
        ("bad.xyz", b"[]", "unknown file type"),
        ("bad.json", b"[[\xff]]", "not UTF-8"),
        ("bad.jsonl", b"[[1]]\n[[2]\n", "line 2"),
    ],
)
def test_unreadable_input_exit_2(name, content, words, write, run):
    result = run("inspect", write(name, content))
    assert result.exit_code == 2
    assert words in result.stderr and name in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_exit_2(tmp_path, run):
    result = run("inspect", tmp_path / "nope.json")
    assert result.exit_code == 2 and "no such file" in result.stderr


@pytest.mark.parametrize("name", ["bom.json", "bom.jsonl"])
def test_utf8_byte_order_mark_is_read(name, write):
    text = (
        "[[[1, 2], [3, 4]], [[5, 6]]]" if name.endswith(".json") else "[[1, 2], [3, 4]]\n[[5, 6]]\n"
    )
    data = lstmprep.read(write(name, b"\xef\xbb\xbf" + text.encode()))
    assert data.ragged.lengths.tolist() == [2, 1] and data.ragged.values[2].tolist() == [5, 6]
