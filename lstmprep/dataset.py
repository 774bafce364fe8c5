"""The dataset: what a reader makes of a file, and what every later step works on.

A :class:`Dataset` is a ragged batch (:class:`~lstmprep.ragged.Ragged`) with its labels, the
problems the reader found, the rows it could not read (already reported, so that no check says
more about them), where each sequence came from, and how the file was read (so that advice can
repeat the options that matter).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .ragged import Ragged
from .report import Problem

if TYPE_CHECKING:
    from .padded_file import PadMeta
    from .readers.tables import TableOptions


def _no_indices() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Reported:
    """What a reader reported already: the checks skip these rows and sequences."""

    #: flat rows of ``ragged.values`` that could not be read (NaN placeholders)
    rows: np.ndarray = field(default_factory=_no_indices)
    #: sequences that are not sequences at all (stored with length 0)
    sequences: np.ndarray = field(default_factory=_no_indices)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A ragged batch read from a file, with labels and what reading it found."""

    #: the file, as the user named it
    path: str
    #: the format it was read as: "json", "jsonl", "npy", "npz", "txt"
    format: str
    ragged: Ragged
    labels: np.ndarray | None = None
    #: problems found while reading (structure and types)
    problems: tuple[Problem, ...] = ()
    #: assumptions the reader made, in plain words
    notes: tuple[str, ...] = ()
    reported: Reported = field(default_factory=Reported)
    #: the element type as stored in the file
    dtype: str = "float64"
    #: how lstmprep pad wrote it, when the file is pad's own output
    meta: PadMeta | None = None
    #: the 1-based line each sequence is on, for formats with one sequence per line
    lines: np.ndarray | None = None
    #: the 1-based line of each flat row of ``ragged.values`` (each timestep), for formats with
    #: one timestep per line or row (a CSV's reader fills it): problems get their lines from it
    value_lines: np.ndarray | None = None
    #: the labels file, as the user named it
    labels_path: str | None = None
    #: whether pickled arrays were allowed when reading
    allow_pickle: bool = False
    #: the paths, folders or globs as the user gave them, when not just ``path``
    sources: tuple[str, ...] = ()
    #: the files read, when there were several (a list, a folder, a glob)
    files: tuple[str, ...] = ()
    #: for each sequence, the index in ``files`` of the file it came from
    file_of: np.ndarray | None = None
    #: each sample was stored (features, timesteps) and transposed on read
    channels_first: bool = False
    #: "shards" or "per-sample" when the user chose how to read several files
    layout: str | None = None

    @property
    def arguments(self) -> tuple[str, ...]:
        """The input as command-line words: what the user gave."""
        return self.sources or (self.path,)

    def file_name(self, sequence: int) -> str | None:
        """The name of the file sequence ``sequence`` came from, when several were read."""
        if self.file_of is not None and 0 <= sequence < len(self.file_of):
            return Path(self.files[self.file_of[sequence]]).name
        return None

    #: "tokens" (ids for an Embedding) or "values"; None: undecided (``tokens.with_kind``)
    kind: str | None = None
    #: the kind as the user forced it (``--kind``), to repeat in suggested commands
    kind_option: str | None = None
    #: the id of each sequence, for formats that name them (a table's id column)
    ids: np.ndarray | None = None
    #: the table columns chosen by options (``--id-column`` …), to repeat in advice
    table: TableOptions | None = None
    #: the ``--scheduler`` it was read on (a Dask cluster), to repeat in advice
    scheduler: str | None = None

    def where(self, sequence: int) -> str:
        """Sequence ``sequence`` in words, with its file and line where they are known."""
        within = []
        name = self.file_name(sequence)
        if name is not None:
            within.append(name)
        if self.lines is not None and 0 <= sequence < len(self.lines):
            within.append(f"line {self.lines[sequence]}")
        if self.ids is not None and 0 <= sequence < len(self.ids):
            name = self.ids[sequence]
            name = name.item() if isinstance(name, np.generic) else name
            within.append(f"id {name!r}")
        return f"sequence {sequence}" + (f" ({', '.join(within)})" if within else "")

    def shifted(self, first: int) -> Dataset:
        """The reader's problems with their sequence numbers counted from ``first`` (a chunk
        read on its own, placed in the whole data)."""
        if not first or not self.problems:
            return self
        problems = tuple(
            replace(
                p,
                places=tuple(
                    replace(q, sequence=None if q.sequence is None else q.sequence + first)
                    for q in p.places
                ),
            )
            for p in self.problems
        )
        return replace(self, problems=problems)

    def part(self, start: int, stop: int) -> Dataset:
        """Sequences ``start`` to ``stop`` as a dataset of their own: a chunk (see
        :mod:`lstmprep.checks`), with no reader problems (they name the whole data's places).

        Labels come along when there is one per sequence (else the part has none).

        >>> data = Dataset("x.json", "json", Ragged.from_sequences([[1], [2, 3], [4]]))
        >>> chunk = data.part(1, 3)
        >>> chunk.ragged.lengths.tolist(), chunk.ragged.values[:, 0].tolist()
        ([2, 1], [2.0, 3.0, 4.0])
        """
        n = len(self.ragged)
        offsets = self.ragged.offsets
        first, last = int(offsets[start]), int(offsets[stop])
        rows, sequences = self.reported.rows, self.reported.sequences
        labels = self.labels
        one_each = labels is not None and labels.ndim >= 1 and len(labels) == n
        slices = {
            k: getattr(self, k)[start:stop]
            for k in ("lines", "ids", "file_of")
            if getattr(self, k) is not None
        }
        return replace(
            self,
            ragged=Ragged(self.ragged.values[first:last], self.ragged.lengths[start:stop]),
            labels=labels[start:stop] if one_each and labels is not None else None,
            problems=(),
            reported=Reported(
                rows[(rows >= first) & (rows < last)] - first,
                sequences[(sequences >= start) & (sequences < stop)] - start,
            ),
            value_lines=None if self.value_lines is None else self.value_lines[first:last],
            **slices,
        )
