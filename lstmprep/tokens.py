"""Token ids: telling them from values, their vocabulary, and the integer dtype they pad to.

Token ids are what a tokenizer makes of text: one whole number per timestep, an index into an
``Embedding``. A data set is read as token ids (its ``kind`` is ``"tokens"``) when

- its reader says so (a ``.txt`` file of ids, pad's output of token ids), or
- it is univariate, every value a whole number from 0 to below 2**31, with at least
  :data:`MIN_DISTINCT` distinct values;

``--kind tokens|values`` overrides both. Inside, ids are float64 like every value: float64
holds every whole number below 2**53 exactly, so ids from 2**53 on are refused, with their
place, never rounded.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .dataset import Dataset
from .errors import UsageError
from .options import PadOptions
from .ragged import Ragged

#: The kinds of data: token ids for an Embedding, or values (numbers) for the LSTM itself.
KINDS = ("tokens", "values")
#: The fewest distinct values that make univariate whole numbers token ids by themselves.
MIN_DISTINCT = 20
#: Whole numbers from here on are not taken for token ids unless ``--kind tokens`` says so.
AUTO_LIMIT = 2**31
#: Ids from here on are refused: float64 holds every whole number below it exactly.
EXACT_LIMIT = 2**53
#: The size of each id's vector in the Embedding lstmprep suggests and trains.
EMBEDDING_DIM = 32


def is_id(values: np.ndarray) -> np.ndarray:
    """Which values are token ids: whole numbers from 0 to below :data:`EXACT_LIMIT`.

    >>> is_id(np.array([0.0, 7.0, -1.0, 2.5, np.nan, 2.0**53])).tolist()
    [True, True, False, False, False, False]
    """
    with np.errstate(invalid="ignore", over="ignore"):  # the limit overflows a float16
        return (values >= 0) & (values < EXACT_LIMIT) & (values == np.trunc(values))


def detect(ragged: Ragged, skip: np.ndarray | None = None) -> str:
    """``"tokens"`` when the data looks like token ids (see the module's rule), else ``"values"``.

    ``skip``: rows (a boolean mask) a reader could not read, left out of the decision.

    >>> detect(Ragged.from_sequences([list(range(1, 25)), [3, 4]]))
    'tokens'
    >>> detect(Ragged.from_sequences([[1, 2, 3], [3, 4]])), detect(Ragged.from_sequences([[0.5]]))
    ('values', 'values')
    """
    if ragged.n_features != 1:
        return "values"
    column = ragged.values[:, 0] if skip is None else ragged.values[~skip, 0]
    if not column.size or not is_id(column).all():
        return "values"
    return detect_from(1, column.size, True, float(column.max()), distinct(column))


def detect_from(features: int, count: int, all_ids: bool, largest: float, n_distinct: int) -> str:
    """The rule of :func:`detect`, on what it looks at: the features, how many values there
    are, whether all are ids, the largest and how many distinct ones.

    >>> detect_from(1, 30, True, 29.0, 30), detect_from(1, 30, True, 2.0**40, 30)
    ('tokens', 'values')
    """
    if features != 1 or not count or not all_ids or largest >= AUTO_LIMIT:
        return "values"
    return "tokens" if n_distinct >= MIN_DISTINCT else "values"


def distinct(ids: np.ndarray) -> int:
    """How many distinct ids there are (``ids``: token ids as floats)."""
    return len(unique(ids))


def unique(ids: np.ndarray) -> np.ndarray:
    """The distinct ids, in order, as int64 (``ids``: token ids as floats).

    >>> unique(np.array([3.0, 1.0, 3.0])).tolist()
    [1, 3]
    """
    if not ids.size:
        return np.empty(0, np.int64)
    if float(ids.max()) < 4 * ids.size + 2**20:  # a count per possible id is cheaper than a sort
        return np.flatnonzero(np.bincount(ids.astype(np.int64)))
    return np.unique(ids.astype(np.int64))


#: The note when the data was found to be token ids.
DETECTED = (
    "read as token ids (one whole number from 0 per timestep, "
    f"{MIN_DISTINCT} or more distinct): pass --kind values to read them as numbers"
)


def with_kind(dataset: Dataset, kind: str | None = None, detected: str | None = None) -> Dataset:
    """``dataset`` with its kind decided: ``kind`` if given, else its reader's, else detected
    (``detected``: what :func:`detect` said of the data, read in chunks).

    ``kind`` is also kept as the option to repeat in suggested commands.
    """
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind must be 'tokens' or 'values', not {kind!r}")
    chosen = kind or dataset.kind
    notes = dataset.notes
    if chosen is None:
        if detected is None:
            skip = np.zeros(len(dataset.ragged.values), dtype=bool)
            skip[dataset.reported.rows] = True
            detected = detect(dataset.ragged, skip)
        chosen = detected
        if chosen == "tokens":
            notes += (DETECTED,)
    return replace(dataset, kind=chosen, kind_option=kind or dataset.kind_option, notes=notes)


def vocabulary_size(values: np.ndarray, pad_value: float = 0.0) -> int:
    """``input_dim`` for an Embedding of these ids padded with ``pad_value``: largest + 1.

    >>> vocabulary_size(np.array([[3.0], [9.0]])), vocabulary_size(np.array([[3.0]]), 10)
    (10, 11)
    """
    ids = values[is_id(values)]
    largest = float(ids.max()) if ids.size else -1.0
    if is_id(np.array(pad_value)):
        largest = max(largest, float(pad_value))
    return int(largest) + 1


def id_dtype(vocabulary: int) -> str:
    """The integer dtype pad writes ids in: int32, or int64 when an id needs it.

    >>> id_dtype(50_000), id_dtype(2**31 + 1)
    ('int32', 'int64')
    """
    return "int32" if vocabulary <= 2**31 else "int64"


def free_id(values: np.ndarray) -> int:
    """An id no sequence uses, to pad with: one past the largest."""
    return vocabulary_size(values, -1)


def embedding(vocabulary: int, mask_zero: bool) -> str:
    """The Keras layer that takes these ids, as code.

    >>> embedding(5000, True)
    'Embedding(input_dim=5000, output_dim=32, mask_zero=True)'
    """
    mask = ", mask_zero=True" if mask_zero else ""
    return f"Embedding(input_dim={vocabulary}, output_dim={EMBEDDING_DIM}{mask})"


def id_text(value: float) -> str:
    """A value as a message shows it: whole numbers without a point.

    >>> id_text(-3.0), id_text(2.5), id_text(1e20)
    ('-3', '2.5', '100000000000000000000')
    """
    if np.isfinite(value) and value == np.trunc(value):
        return str(int(value))
    return repr(float(value))


def output_dtype(dataset: Dataset, options: PadOptions) -> str:
    """The dtype pad writes: ``--dtype`` if given, else float32, or the ids' integer dtype."""
    if options.dtype is not None:
        return options.dtype
    if dataset.kind != "tokens":
        return "float32"
    return id_dtype(vocabulary_size(dataset.ragged.values, options.value))
