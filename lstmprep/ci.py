"""Reports in the languages of CI systems: GitHub workflow commands and JUnit XML.

``inspect --format github`` prints one workflow command per problem place, which GitHub
Actions shows as an annotation on the file and line; ``inspect --format junit`` writes a
JUnit XML report (one test case per file, a ``<failure>`` per error), which GitLab, Jenkins,
Azure and most CI systems display as test results. Both take a list of reports, one per
dataset (``inspect --each``: one per file), and neither imports anything heavy.
"""

from __future__ import annotations

from collections.abc import Sequence

from .report import CODES, Place, Problem, Report


def exit_code(report: Report) -> int:
    """The exit code of one report: 0 fine, 1 the data has problems, 2 unreadable."""
    if not report.readable:
        return 2
    return 0 if report.ok else 1


def worst_exit_code(reports: Sequence[Report]) -> int:
    """One exit code for several reports: the worst of theirs."""
    return max((exit_code(r) for r in reports), default=0)


def summary(reports: Sequence[Report]) -> str:
    """One line: how many files, errors and warnings, and the exit code.

    Errors and warnings count the places found (a problem repeated 7 times counts 7).
    """
    errors = sum(p.count for r in reports for p in r.errors)
    warnings = sum(p.count for r in reports for p in r.warnings)
    failed = sum(1 for r in reports if exit_code(r))
    files = _plural(len(reports), "file")
    verdict = f"{failed} failed" if failed else "all passed"
    return (
        f"lstmprep inspect: {files}, {verdict}: {_plural(errors, 'error')}, "
        f"{_plural(warnings, 'warning')} (exit {worst_exit_code(reports)})"
    )


# --- GitHub Actions ------------------------------------------------------------------------------


def github(reports: Sequence[Report]) -> str:
    """Workflow commands, one per place of each problem, then the summary line.

    ``::error file=PATH,line=N,col=M,title=lstmprep CODE::MESSAGE`` (``::warning`` for a
    warning), with the line and column where the format has them and the file alone where
    not. Values are escaped as GitHub's runner expects: ``%``, CR and LF in the message;
    also ``:`` and ``,`` in the properties.

    >>> place = Place(1, 2, line=3, column=14)
    >>> problem = Problem("non-numeric", "sequence 1, timestep 2: 50% is text", (place,))
    >>> report = Report(None, (problem,))
    >>> print(github([report]).splitlines()[0])
    ::error line=3,col=14,title=lstmprep non-numeric::sequence 1, timestep 2: 50%25 is text
    """
    lines = [
        command for r in reports for problem in r.problems for command in _commands(r, problem)
    ]
    return "\n".join([*lines, summary(reports)]) + "\n"


def _commands(report: Report, problem: Problem) -> list[str]:
    places = problem.places or (Place(),)
    first = _words(places[0])
    commands = []
    for k, place in enumerate(places):
        if k == 0:
            message = problem.message
            if problem.count > len(places):
                message += f" ({problem.count} in all; the first {len(places)} are annotated)"
            elif problem.count > 1:
                message += f" ({problem.count} in all)"
        else:
            message = f"{_words(place)}: {CODES[problem.code][1]} (as at {first})"
        properties = {
            "file": place.path or report.file or None,
            "line": place.line,
            "col": place.column,
            "title": f"lstmprep {problem.code}",
        }
        shown = ",".join(f"{k}={_property(v)}" for k, v in properties.items() if v is not None)
        commands.append(f"::{problem.severity} {shown}::{_data(message)}")
    return commands


def _words(place: Place) -> str:
    parts = [f"sequence {place.sequence}"] if place.sequence is not None else []
    if place.timestep is not None:
        parts.append(f"timestep {place.timestep}")
    return ", ".join(parts) or "the whole file"


def _data(text: object) -> str:
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: object) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


# --- JUnit XML -----------------------------------------------------------------------------------


def junit(reports: Sequence[Report]) -> str:
    """A JUnit XML report: one ``<testcase>`` per report (per file with ``--each``), a
    ``<failure>`` per error (``<error>`` for a file that cannot be read), the warnings and
    notes in its ``<system-out>``.

    >>> import xml.etree.ElementTree as ET
    >>> report = Report(None, (Problem("unreadable", "no such file", (Place(path="x.json"),)),))
    >>> case = ET.fromstring(junit([report])).find("testsuite/testcase")
    >>> case.get("name"), case.find("error").get("type")
    ('x.json', 'unreadable')
    """
    import xml.etree.ElementTree as ET

    failures = sum(1 for r in reports if exit_code(r) == 1)
    errors = sum(1 for r in reports if exit_code(r) == 2)
    counts = {"tests": str(len(reports)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", {"name": "lstmprep inspect", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "lstmprep inspect", **counts, "skipped": "0"})
    for report in reports:
        case = ET.SubElement(
            suite, "testcase", {"classname": "lstmprep.inspect", "name": report.file}
        )
        out = []
        for problem in report.problems:
            text = f"{problem.message}\nat: {_places(problem)}"
            if problem.severity == "error":
                tag = "error" if problem.code == "unreadable" else "failure"
                element = ET.SubElement(
                    case, tag, {"type": problem.code, "message": problem.message}
                )
                element.text = text
            else:
                out.append(f"warning {problem.code}: {text}")
        if report.strict and report.warnings:
            failure = ET.SubElement(case, "failure", {"type": "strict"})
            failure.set("message", "--strict: warnings count as failures")
        out += [f"note: {note}" for note in report.notes]
        if out:
            ET.SubElement(case, "system-out").text = "\n".join(out)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _places(problem: Problem) -> str:
    shown = "; ".join(_located(place) for place in problem.places)
    more = problem.count - len(problem.places)
    return (shown or "the whole file") + (f"; and {more} more" if more > 0 else "")


def _located(place: Place) -> str:
    at = [f"line {place.line}"] if place.line is not None else []
    if place.column is not None:
        at.append(f"column {place.column}")
    file = f"{place.file}: " if place.file else ""
    if place.sequence is None and at:
        return file + ", ".join(at)
    return file + _words(place) + (f" ({', '.join(at)})" if at else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
