"""Tables: CSV/TSV, Parquet and Feather/Arrow, long and nested, compared with pandas/pyarrow."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from lstmprep import read
from lstmprep.errors import UnreadableInput, UsageError
from lstmprep.readers import TableOptions


def long_frame(seed: int = 0, sequences: int = 30, step: int = 3) -> pd.DataFrame:
    """Shuffled long-format rows: string ids, integer times ``step`` apart (1: consecutive, which
    is grouped without a sort), 3 features, a class label."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, sequences)
    ids = np.repeat([f"s{i}" for i in rng.permutation(sequences)], lengths)
    t = np.concatenate(
        [rng.permutation(np.arange(0, step * n, step)) + rng.integers(-5, 5) for n in lengths]
    )
    frame = pd.DataFrame({"id": ids, "t": t})
    for name in ("a", "b", "c"):
        frame[name] = rng.normal(size=len(ids)).round(3)
    frame["label"] = np.repeat(rng.choice(["up", "down", "flat"], sequences), lengths)
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def pandas_sequences(frame: pd.DataFrame, features=("a", "b", "c")):
    """What pandas makes of it: sequences in order of first appearance, rows ordered by t."""
    order = pd.unique(frame["id"])
    groups = {k: g.sort_values("t", kind="stable") for k, g in frame.groupby("id", sort=False)}
    return [groups[k][list(features)].to_numpy() for k in order], order


@pytest.mark.parametrize("step", [1, 3])
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".feather", ".arrow"])
def test_long_format_matches_pandas(tmp_path, suffix, step):
    frame = long_frame(step=step)
    path = tmp_path / f"long{suffix}"
    if suffix in (".csv", ".tsv"):
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        frame.to_parquet(path, row_group_size=37)  # several row groups, several chunks
    else:
        feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), path)
    data = read(path)
    expected, ids = pandas_sequences(frame)
    assert list(data.ids) == list(ids)
    assert [len(s) for s in expected] == data.ragged.lengths.tolist()
    np.testing.assert_array_equal(data.ragged.values, np.concatenate(expected))
    first = frame.groupby("id", sort=False)["label"].first()
    assert data.labels.tolist() == first[ids].tolist()
    assert data.problems == ()
    assert any("guessed" in note for note in data.notes)


def test_iso_timestamps_order_the_rows(tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text(
        "series,timestamp,x\n"
        "b,2024-01-02T00:00:00,2\nb,2024-01-01T00:00:00,1\n"
        "a,2024-03-01 10:00:00,5\na,2024-02-28 23:59:59,4\nb,2024-01-03T00:00:00,3\n"
    )
    data = read(path)
    assert data.ids.tolist() == ["b", "a"]
    assert data.ragged.values[:, 0].tolist() == [1, 2, 3, 4, 5]


def test_options_choose_the_columns(tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text(
        "patient,hour,hr,temp,note,outcome\n1,2,80,37,x,0\n1,1,70,36,y,0\n2,1,90,38,z,1\n"
    )
    options = TableOptions.parse("patient", "hour", "outcome", "temp,hr")
    data = read(path, table=options)
    assert data.ragged.values.tolist() == [[36, 70], [37, 80], [38, 90]]
    assert data.labels.tolist() == [0, 1] and data.table == options


def test_no_id_column_names_the_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("patient,hour,hr\n1,2,80\n")
    with pytest.raises(UnreadableInput, match="'patient', 'hour', 'hr'") as error:
        read(path)
    assert "--id-column" in error.value.hint


def test_an_option_naming_a_missing_column(run, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,t,hr\n1,2,80\n")
    result = run("inspect", path, "--time-column", "hour")
    assert result.exit_code == 2
    assert "no column 'hour'" in result.stderr and "'id', 't', 'hr'" in result.stderr


def test_table_options_are_refused_for_other_formats(write):
    path = write("x.json", [[1, 2]])
    with pytest.raises(UsageError, match="--id-column"):
        read(path, table=TableOptions(id_column="id"))


def test_duplicate_times_and_changing_labels_are_located(run, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,t,v,label\na,1,1,x\na,2,2,x\nb,1,3,y\na,2,4,x\nb,2,5,z\n")
    report = run.json("inspect", path, code=1)
    problems = {p["code"]: p for p in report["problems"]}
    assert "line 3 and line 5" in problems["duplicate-time"]["message"]
    assert problems["duplicate-time"]["places"] == [{"sequence": 0, "timestep": 2, "line": 5}]
    label = problems["label-mismatch"]["message"]
    assert "'y'" in label and "'z' at line 6" in label and "(id 'b')" in label


def test_text_and_empty_cells_are_located(run, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,t,a,b\n1,1,1.5,2\n1,2,n/a,3\n2,1,4,\n2,2,5,6\n")
    report = run.json("inspect", path, code=1)
    (problem,) = [p for p in report["problems"] if p["code"] == "non-numeric"]
    assert "line 3, column 'a' holds the text 'n/a'" in problem["message"]
    assert problem["count"] == 2
    assert problem["places"] == [
        {"sequence": 0, "timestep": 1, "line": 3},  # the file's lines, header included
        {"sequence": 1, "timestep": 0, "line": 4},
    ]


def test_nan_text_is_a_non_finite_value(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,t,a\n1,1,nan\n1,2,inf\n")
    assert np.isnan(read(path).ragged.values[0, 0])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,2,3\n4,5,6\n", ["line 1 holds numbers", "header"]),
        ("id;t;a\n1;1;2\n", ["semicolons"]),
        ("id\tt\ta\n1\t1\t2\n", ["tabs", ".tsv"]),
        ("", ["empty"]),
        ("id,t,a\n1,1,2\n1,2,3\n2,1", ["line 4 has 2 fields", "truncated"]),
    ],
)
def test_unreadable_csv(tmp_path, text, words):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(UnreadableInput) as error:
        read(path)
    for word in words:
        assert word in str(error.value)


def test_nested_parquet_list_of_lists(tmp_path):
    seqs = [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]], [[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]]
    table = pa.table({"name": ["a", "b", "c"], "seq": seqs, "label": [0, 1, 0]})
    pq.write_table(table, tmp_path / "n.parquet")
    data = read(tmp_path / "n.parquet")
    assert data.ragged.lengths.tolist() == [2, 1, 3]
    np.testing.assert_array_equal(data.ragged.values, np.concatenate([np.array(s) for s in seqs]))
    assert data.labels.tolist() == [0, 1, 0]


def test_nested_univariate_and_irregular(tmp_path):
    pq.write_table(pa.table({"x": [[1, 2, 3], [4]]}), tmp_path / "u.parquet")
    data = read(tmp_path / "u.parquet")
    assert data.ragged.values[:, 0].tolist() == [1, 2, 3, 4] and data.ragged.n_features == 1
    feather.write_feather(pa.table({"x": [[[1.0, 2.0]], [[3.0], None]]}), tmp_path / "bad.feather")
    codes = [p.code for p in read(tmp_path / "bad.feather").problems]
    assert codes, "ragged widths and a null timestep are located by the exact path"


def test_labels_from_txt_and_csv(tmp_path, write):
    seqs = write("s.json", [[1, 2], [3], [4, 5]])
    (tmp_path / "l.txt").write_text("10\n2\n1\n")
    assert read(seqs, labels=tmp_path / "l.txt").labels.tolist() == [10, 2, 1]
    (tmp_path / "l.csv").write_text("label\ncat\ndog\ncat\n")
    assert read(seqs, labels=tmp_path / "l.csv").labels.tolist() == ["cat", "dog", "cat"]


def test_id_label_pairs_follow_the_sequences_ids(tmp_path):
    frame = long_frame().drop(columns="label")
    frame.to_csv(tmp_path / "x.csv", index=False)
    ids = pd.unique(frame["id"])
    pairs = pd.DataFrame({"id": ids[::-1], "label": [f"L{i}" for i in ids[::-1]]})
    pairs.to_csv(tmp_path / "labels.csv", index=False)
    data = read(tmp_path / "x.csv", labels=tmp_path / "labels.csv")
    assert data.labels.tolist() == [f"L{i}" for i in ids]
    pairs.iloc[1:].to_csv(tmp_path / "fewer.csv", index=False)
    with pytest.raises(UnreadableInput, match="no label for 1 of the 30"):
        read(tmp_path / "x.csv", labels=tmp_path / "fewer.csv")


def test_pad_repeats_the_table_options_and_trains_the_same(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "v.csv"
    path.write_text("patient,hour,hr,outcome\n1,2,80,0\n1,1,70,0\n2,1,90,1\n2,2,95,1\n2,3,99,1\n")
    report = run.json("inspect", path, "--id-column", "patient", "--time-column", "hour")
    words = shlex.split(report["next_command"])
    assert words[words.index("--id-column") + 1] == "patient"
    assert words[words.index("--time-column") + 1] == "hour"
    result = run(*words[1:])
    assert result.exit_code == 0, result.output
    padded = np.load(tmp_path / "padded.npz")
    assert padded["x"][:, :, 0].tolist() == [[70, 80, 0], [90, 95, 99]]
    assert json.loads(str(padded["meta"]))["classes"] is None  # outcome is a numeric label


def test_integer_labels_and_a_label_that_changes(run, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,t,v,label\nb,1,1,7\na,0,2,3\nb,0,3,7\na,1,4,5\n")
    data = read(path)
    assert data.labels.tolist() == [7, 3]  # the first row's label, in order of first appearance
    label = {p.code: p for p in data.problems}["label-mismatch"].message
    assert "changes from 3 (at line 3) to 5 at line 5" in label and "(id 'a')" in label


@pytest.mark.parametrize(
    "ids",
    [
        np.random.default_rng(0).integers(-50, 50, 500),  # compact: the lookup table
        np.random.default_rng(1).integers(-100, 100, 300).astype(np.int8),
        np.random.default_rng(2).integers(0, 2**40, 300),  # sparse: Arrow's dictionary
        np.array([2**63 + 5, 3, 2**63 + 5], dtype=np.uint64),
        np.array([7]),
    ],
)
def test_integer_ids_numbered_by_first_appearance_as_pandas(ids):
    from lstmprep.readers.tables import _id_codes

    codes, names = _id_codes(pa.array(ids))
    expected_codes, expected_names = pd.factorize(ids)
    assert codes.tolist() == expected_codes.tolist()
    assert names.dtype == ids.dtype and names.tolist() == expected_names.tolist()
