"""lstmprep's exceptions: each says what went wrong, where, and what to do about it.

The command line maps each type to its exit code (``lstmprep.cli.EXIT_CODES``): the data has
problems (1), or the input cannot be read, is too large, or the call is wrong (2).
"""

from __future__ import annotations

from typing import Any


class LstmprepError(Exception):
    """Base class: a message for people, a place and a fix."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        hint: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint
        #: the 1-based line and column in ``path`` where the problem is, when known
        self.line = line
        self.column = column

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text}\n  fix: {self.hint}" if self.hint else text


class UnreadableInput(LstmprepError):
    """The input file is missing, of an unknown format, malformed or unsafe to load."""


class TooLarge(LstmprepError):
    """The work needs more memory than this machine has available."""


class UsageError(LstmprepError, ValueError):
    """A bad argument or a bad combination of arguments (a ``ValueError`` for library callers)."""


class DataError(LstmprepError):
    """The data was read but cannot become an LSTM input as it is."""


class RefusedData(DataError):
    """The data has errors, so the work was not done; ``report`` (an inspect Report) says which."""

    def __init__(self, report: Any, consequence: str, inspect_command: str):
        codes = ", ".join(p.code for p in report.errors)
        super().__init__(
            f"{len(report.errors)} kind(s) of error in the data ({codes}): {consequence}",
            path=report.file,
            hint=f"run `{inspect_command}` and fix them",
        )
        self.report = report


class OutputError(LstmprepError, OSError):
    """The output cannot be written: disk full, quota, read-only, permission, name, folder gone.

    A fault of the machine, neither of the data nor of lstmprep (so exit 2, never 3). Also an
    ``OSError`` (``errno`` kept) for library callers; the temporary file is already removed.
    """

    def __init__(
        self, message: str, *, path: str | None = None, hint: str | None = None, errno: int = 0
    ):
        super().__init__(message, path=path, hint=hint)
        self.errno = errno


class InputChanged(UnreadableInput):
    """An input file changed (size, time or identity) while lstmprep read and used it."""


class ClusterError(LstmprepError):
    """The Dask scheduler cannot be reached, or went away during the work (exit 2)."""
