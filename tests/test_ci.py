"""CI: inspect --each, --format github|junit, lines and columns from the readers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmprep
from lstmprep import ci

PROBLEMS = Path(__file__).parent.parent / "sample_data" / "problems"

#: problem sample → each annotation's (command, line, col, title) as GitHub gets them
ANNOTATIONS = {
    "empty-sequence": [
        ("warning", 1, 28, "empty-sequence"),
        ("warning", 1, 2, "ragged-length"),
    ],
    "feature-mismatch": [("error", 1, 41, "feature-mismatch")],
    "label-mismatch": [("error", None, None, "label-mismatch")],
    "length-outlier": [
        ("warning", 1, 1142, "ragged-length"),
        ("warning", 1, 1142, "length-outlier"),
    ],
    "lossy-cast": [("error", 1, 3, "lossy-cast")],
    "no-sequences": [("error", None, None, "no-sequences")],
    "non-finite": [("error", 1, 3, "non-finite"), ("error", 1, 41, "non-finite")],
    "non-numeric": [("error", 1, 15, "non-numeric"), ("error", 1, 31, "non-numeric")],
    "pad-collision": [("warning", 1, 15, "pad-collision")],
    "ragged-length": [("warning", 1, 2, "ragged-length")],
    "rank": [("error", 1, 3, "rank"), ("error", 1, 35, "rank")],
    "too-short": [("error", None, None, "too-short")],
    "long-sequences": [("warning", 1, 2, "long-sequences")],
    "zero-token": [("error", 1, 6, "zero-token")],
    "bad-token": [("error", 2, 3, "bad-token")],
}
#: the sample's file name
FILES = {p.stem: p.name for p in PROBLEMS.iterdir()}


def test_every_problem_sample_has_its_annotations():
    assert set(ANNOTATIONS) == set(FILES)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command: its name, properties and message (escapes left as they are)."""
    assert line.startswith("::"), line
    head, message = line[2:].split("::", 1)
    name, _, props = head.partition(" ")
    return name, dict(p.split("=", 1) for p in props.split(",")), message


@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_github_annotations_of_each_problem_sample(name, run, monkeypatch):
    monkeypatch.chdir(PROBLEMS.parent.parent)
    path = f"sample_data/problems/{FILES[name]}"
    result = run("inspect", path, "--format", "github")
    report = lstmprep.inspect(path)
    assert result.exit_code == (0 if report.ok else 1)
    *commands, summary = result.stdout.splitlines()
    got = []
    for line in commands:
        command, props, message = parse_command(line)
        assert props["file"] == path
        got.append((command, _int(props.get("line")), _int(props.get("col")), props["title"]))
    expected = [(c, line, col, f"lstmprep {code}") for c, line, col, code in ANNOTATIONS[name]]
    assert got == expected
    firsts = [parse_command(line)[2] for line in commands]
    for problem in report.problems:  # each problem's first annotation carries its message
        assert any(m.startswith(problem.message.replace("%", "%25")) for m in firsts)
    errors = sum(p.count for p in report.errors)
    assert summary.startswith("lstmprep inspect: 1 file, ") and f"{errors} error" in summary


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def test_github_exact_lines(run, monkeypatch):
    monkeypatch.chdir(PROBLEMS.parent.parent)
    result = run("inspect", "sample_data/problems/non-numeric.json", "--format", "github")
    assert result.stdout == (
        "::error file=sample_data/problems/non-numeric.json,line=1,col=15,title=lstmprep "
        'non-numeric::sequence 0, timestep 1 holds the text "n/a", which is not a number (2 in '
        "all)\n"
        "::error file=sample_data/problems/non-numeric.json,line=1,col=31,title=lstmprep "
        "non-numeric::sequence 1, timestep 0: a value is not a number (text, null, true/false, "
        "…) (as at sequence 0, timestep 1)\n"
        "lstmprep inspect: 1 file, 1 failed: 2 errors, 0 warnings (exit 1)\n"
    )


def test_github_escapes_properties_and_data(tmp_path, run):
    """GitHub's runner: %, CR, LF escaped in the message; also : and , in the properties."""
    odd = tmp_path / "a,b: 100%.json"
    odd.write_text('[[[1, 2], [3, "x"]]]')
    (line, _) = run("inspect", odd, "--format", "github").stdout.splitlines()
    name = str(odd).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert line.startswith(f"::error file={name},line=1,col=11,title=lstmprep non-numeric::")
    report = ci.github([lstmprep.inspect(odd)])
    assert "\n" not in report.splitlines()[0] and "a,b" not in report.splitlines()[0]


def test_lines_and_columns_in_pretty_json_and_object_layout(write):
    text = (
        '{\n  "labels": [0, "a"],\n  "sequences": [\n    [[1, 2], [3, 4]],\n'
        '    [[5, 6],\n     [7, "x"]]\n  ]\n}\n'
    )
    report = lstmprep.inspect(write("pretty.json", text.encode()))
    (place,) = report.errors[0].places
    assert (place.sequence, place.timestep, place.line, place.column) == (1, 1, 6, 6)


def test_lines_and_columns_in_json_lines(write):
    rows = [
        {"sequence": [[1, 2], [3, 4]], "label": 0},
        {"label": 1, "sequence": [[5, 6], [7, None]]},
    ]
    report = lstmprep.inspect(write("data.jsonl", rows))
    (place,) = report.errors[0].places
    line = json.dumps(rows[1])
    assert (place.line, place.column) == (2, line.index("[7, null]") + 1)


def test_lines_and_columns_in_ts(tmp_path):
    report = lstmprep.inspect(Path(__file__).parent / "data" / "missing.ts")
    places = [(p.sequence, p.timestep, p.line, p.column) for p in report.errors[0].places]
    assert places == [(1, 1, 10, 5), (2, 3, 11, 13)]


def test_json_output_emits_lines_only_when_known(tmp_path, run):
    import numpy as np

    np.save(tmp_path / "x.npy", np.array([[1.0, np.nan], [2.0, 3.0]]))
    report = run.json("inspect", tmp_path / "x.npy", code=1)
    assert report["problems"][0]["places"] == [{"sequence": 0, "timestep": 1}]


# --- JUnit ---------------------------------------------------------------------------------------


def test_junit_report_of_the_problem_samples(run, monkeypatch):
    monkeypatch.chdir(PROBLEMS.parent.parent)
    result = run("inspect", "--each", "sample_data/problems", "--format", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    names = sorted(FILES.values())  # natural order: no digits in these names
    assert [c.get("name") for c in cases] == [f"sample_data/problems/{n}" for n in names]
    failed = {Path(c.get("name")).stem for c in cases if c.find("failure") is not None}
    assert failed == {n for n, a in ANNOTATIONS.items() if any(x[0] == "error" for x in a)}
    assert suite.get("tests") == str(len(FILES)) and suite.get("failures") == str(len(failed))
    assert suite.get("errors") == "0"
    stems = [Path(n).stem for n in names]
    (failure,) = cases[stems.index("non-numeric")].findall("failure")
    assert failure.get("type") == "non-numeric"
    assert (
        failure.get("message")
        == 'sequence 0, timestep 1 holds the text "n/a", which is not a number'
    )
    assert failure.text.splitlines()[1] == (
        "at: sequence 0, timestep 1 (line 1, column 15); sequence 1, timestep 0 (line 1, column 31)"
    )
    out = cases[stems.index("ragged-length")].find("system-out")
    assert out.text.startswith("warning ragged-length: lengths range from 1 to 3 timesteps")


def test_junit_unreadable_file_is_an_error_case(tmp_path, run):
    (tmp_path / "broken.json").write_text("[[[1, 2],\n  [3, 4]")
    result = run("inspect", tmp_path / "broken.json", "--format", "junit")
    assert result.exit_code == 2
    case = ET.fromstring(result.stdout).find("testsuite/testcase")
    error = case.find("error")
    assert error.get("type") == "unreadable" and "not valid JSON" in error.get("message")
    assert error.text.splitlines()[-1] == "at: line 2, column 9"
    assert ET.fromstring(result.stdout).find("testsuite").get("errors") == "1"


# --- several files, each on its own --------------------------------------------------------------


def test_each_exit_code_is_the_worst(tmp_path, run):
    good = tmp_path / "good.json"
    good.write_text("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")
    warned = tmp_path / "warned.json"
    warned.write_text("[[[1, 2], [3, 4]], [[5, 6]]]")
    bad = tmp_path / "bad.json"
    bad.write_text('[[[1, 2], [3, "x"]]]')
    broken = tmp_path / "broken.jsonl"
    broken.write_text("[[1, 2]]\n[[3, 4]\n")
    assert run("inspect", "--each", good, warned).exit_code == 0
    assert run("inspect", "--each", good, warned, "--strict").exit_code == 1
    assert run("inspect", "--each", good, bad, warned).exit_code == 1
    assert run("inspect", "--each", bad, broken, good).exit_code == 2
    assert run("inspect", "--each", good, tmp_path / "missing.json").exit_code == 2


def test_each_json_is_a_list_with_unreadable_reports(tmp_path, run):
    (tmp_path / "a.json").write_text("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")
    (tmp_path / "b.jsonl").write_text("[[1, 2], [3, 4]]\n[[5, 6], [7, 8]\n")
    (tmp_path / "c.npy").write_bytes(b"not numpy")
    result = run("inspect", "--each", tmp_path, "--json")  # a folder may mix formats here
    assert result.exit_code == 2
    reports = json.loads(result.stdout)
    assert [Path(r["stats"]["file"]).name if r["stats"] else None for r in reports] == [
        "a.json",
        None,
        None,
    ]
    assert [r["ok"] for r in reports] == [True, False, False]
    (problem,) = reports[1]["problems"]
    assert problem["code"] == "unreadable" and "not valid JSON" in problem["message"]
    assert problem["places"] == [
        {
            "sequence": None,
            "timestep": None,
            "line": 2,
            "column": 16,
            "path": str(tmp_path / "b.jsonl"),
        }
    ]
    assert reports[2]["problems"][0]["places"][0]["path"] == str(tmp_path / "c.npy")


def test_each_text_has_a_table_and_a_total(tmp_path, run):
    (tmp_path / "a.json").write_text("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")
    (tmp_path / "b.json").write_text('[[[1, 2], [3, "x"]]]')
    result = run("inspect", "--each", tmp_path / "a.json", tmp_path / "b.json")
    assert result.exit_code == 1
    assert "non-numeric" in result.stdout and "files" in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "lstmprep inspect: 2 files, 1 failed: 1 error, 0 warnings (exit 1)"
    )


def test_several_files_without_each_are_one_dataset(tmp_path, run):
    (tmp_path / "a.json").write_text("[[[1, 2], [3, 4]]]")
    (tmp_path / "b.json").write_text("[[[5, 6], [7, 8], [9, 10]]]")
    report = run.json("inspect", tmp_path / "a.json", tmp_path / "b.json", code=0)
    assert report["stats"]["sequences"] == 2
    each = run.json("inspect", "--each", tmp_path / "a.json", tmp_path / "b.json", code=0)
    assert [r["stats"]["sequences"] for r in each] == [1, 1]


@pytest.mark.parametrize(
    "args",
    [["--json", "--format", "github"], ["--each", "--labels", "x.npy"], ["--each", "--shards"]],
)
def test_contradictions_are_usage_errors(args, run):
    result = run("inspect", PROBLEMS / "ragged-length.json", *args)
    assert result.exit_code == 2 and "--" in result.stderr


def test_github_single_unreadable_file_is_an_annotation(tmp_path, run):
    broken = tmp_path / "broken.json"
    broken.write_text("[[[1, 2],\n  [3 4]]]")
    result = run("inspect", broken, "--format", "github")
    assert result.exit_code == 2
    (line, summary) = result.stdout.splitlines()
    command, props, message = parse_command(line)
    assert (command, props["line"], props["col"]) == ("error", "2", "6")
    assert message.startswith("not valid JSON: Expecting ',' delimiter at line 2, column 6")
    assert summary.endswith("(exit 2)")


def test_every_bad_input_is_a_report_in_each_ci_format(tmp_path, run):
    """The bad-input corpus, checked in one --each run: a report per file, never a traceback,
    each file's exit code the one inspect gives it alone."""
    from bad_inputs import make_corpus

    cases = [c for c in make_corpus(tmp_path) if not c.args and not c.env and c.path.is_file()]
    paths = [c.path for c in cases]
    reports = json.loads(run("inspect", "--each", *paths, "--json").stdout)
    assert len(reports) == len(cases)
    for case, report in zip(cases, reports, strict=True):
        alone = run("inspect", case.path).exit_code
        code = 2 if report["problems"] and report["problems"][0]["code"] == "unreadable" else 1
        assert alone == (code if not report["ok"] else 0), case.name
    github = run("inspect", "--each", *paths, "--format", "github")
    assert github.exit_code == max(run("inspect", p).exit_code for p in paths)
    *commands, summary = github.stdout.splitlines()
    assert all(c.startswith(("::error ", "::warning ")) for c in commands)
    assert summary.startswith(f"lstmprep inspect: {len(cases)} files")
    junit = ET.fromstring(run("inspect", "--each", *paths, "--format", "junit").stdout)
    assert len(junit.findall("testsuite/testcase")) == len(cases)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lengths=st.lists(st.integers(1, 4), min_size=1, max_size=6),
    where=st.tuples(st.integers(0, 5), st.integers(0, 3)),
    indent=st.sampled_from([None, 1, 4]),
    wrapped=st.booleans(),
    suffix=st.sampled_from([".json", ".jsonl"]),
)
def test_located_places_point_at_their_timestep(lengths, where, indent, wrapped, suffix, tmp_path):
    """Whatever the layout and spacing, (line, column) is where the timestep's text starts."""
    data = [[[float(i), float(t)] for t in range(n)] for i, n in enumerate(lengths)]
    s, t = where[0] % len(data), where[1] % len(data[where[0] % len(data)])
    data[s][t] = [1.0, "x"]
    path = tmp_path / f"data{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"sequences": data} if wrapped else data, indent=indent))
    else:
        rows = [{"sequence": q} if wrapped else q for q in data]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    problem = next(p for p in lstmprep.inspect(path).errors if p.code == "non-numeric")
    (place,) = problem.places
    assert (place.sequence, place.timestep) == (s, t)
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    offset = sum(map(len, lines[: place.line - 1])) + place.column - 1
    assert json.JSONDecoder().raw_decode(text, offset)[0] == [1.0, "x"]


def test_lines_in_csv_follow_the_rows_through_sorting(tmp_path, run):
    """A table's rows are grouped by id and sorted by time; places keep their file lines."""
    path = tmp_path / "t.csv"
    path.write_text("id,t,a,b\n1,0,0.5,1\n1,1,0.6,x\n2,0,0.7,2\n2,1,0.1,3\n1,2,0.2,NaN\n")
    commands = run("inspect", path, "--format", "github").stdout.splitlines()[:-1]
    got = [
        (parse_command(c)[0], parse_command(c)[1].get("line"), parse_command(c)[1]["title"])
        for c in commands
    ]
    assert got == [
        ("error", "3", "lstmprep non-numeric"),
        ("error", "6", "lstmprep non-finite"),
        ("warning", "2", "lstmprep ragged-length"),
    ]
