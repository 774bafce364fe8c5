"""The target: what the model learns, chosen from the labels (no TensorFlow here).

Float labels give regression, two classes (numbers or names) binary classification, more
classes multiclass, vector labels multi-output regression; without labels, each sequence's
last timestep is predicted from the ones before it. ``pad`` records the same classes in its
meta that ``train`` learns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .dataset import Dataset
from .errors import DataError
from .ragged import Ragged
from .tokens import vocabulary_size


@dataclass(frozen=True)
class Target:
    """What the model learns: the sequences it reads and the value it predicts for each."""

    task: str
    description: str
    #: the sequences the model reads (``None`` from :func:`label_target`: the caller has them)
    inputs: Ragged | None
    #: what it predicts for each; ``None`` from :func:`label_target` when self-supervised
    y: np.ndarray | None
    classes: tuple = ()
    notes: tuple[str, ...] = ()
    #: token ids: the Embedding's input_dim (ids and pad id below it); None: the inputs are values
    vocabulary: int | None = None
    #: the dataset's sequences that take part (indices), in order
    keep: np.ndarray | None = None


def make_target(dataset: Dataset) -> Target:
    """Choose the task from the labels, or derive a self-supervised target without them.

    The task does not depend on the kind of inputs: token ids (``dataset.kind``) are read
    the same way, and the target says their vocabulary, the pad id included.

    Float labels give regression, two classes (numbers or names) binary classification,
    more classes multiclass, 2-D labels multi-output regression. Without labels, the model
    predicts each sequence's last real timestep (standardized) from the timesteps before it.
    Sequences that cannot take part (empty ones; with no labels, those shorter than two
    timesteps) are left out, and a note says so.

    >>> r = Ragged.from_sequences([[[1.0], [2.0]], [[3.0]]])
    >>> t = make_target(Dataset("d.json", "json", r, labels=np.array(["no", "yes"])))
    >>> t.task, t.classes, t.y.tolist()
    ('binary', ('no', 'yes'), [[0.0], [1.0]])
    >>> t = make_target(Dataset("d.json", "json", r))
    >>> t.task, t.inputs.lengths.tolist(), t.y.tolist()
    ('self-supervised', [1], [[1.0]])
    """
    target = _make_target(dataset)
    if dataset.kind != "tokens":
        return target
    pad = dataset.meta.value if dataset.meta else 0.0
    return replace(target, vocabulary=vocabulary_size(dataset.ragged.values, pad))


def _make_target(dataset: Dataset) -> Target:
    ragged = dataset.ragged
    target = label_target(dataset.labels, ragged.lengths, ragged.n_features, dataset.path)
    keep = target.keep
    if keep is not None and len(keep) < len(ragged):
        ragged = subset(ragged, keep)
    if target.task != "self-supervised":
        return replace(target, inputs=ragged)
    ends = ragged.offsets[1:] - 1
    inputs = Ragged(np.delete(ragged.values, ends, axis=0), ragged.lengths - 1)
    mean, std = moments(inputs.values)
    return replace(target, inputs=inputs, y=(ragged.values[ends] - mean) / std)


def label_target(
    labels: np.ndarray | None, lengths: np.ndarray, features: int, path: str
) -> Target:
    """The task, targets, classes and the sequences that take part, from the labels and the
    lengths alone: what :func:`make_target` decides, for data that is not in memory.

    Without labels the task is self-supervised and ``y`` is ``None``: the last timesteps are
    the caller's to read. ``inputs`` is ``None``.

    >>> t = label_target(np.array([0.5, 1.5, 2.5]), np.array([2, 0, 3]), 1, "d.npz")
    >>> t.task, t.keep.tolist(), t.y[:, 0].tolist(), t.notes
    ('regression', [0, 2], [0.5, 2.5], ('1 sequence(s) empty left out',))
    """
    shortest = 1 if labels is not None else 2
    keep = np.flatnonzero(lengths >= shortest)
    if not len(keep):
        need = "a timestep" if labels is not None else "two timesteps (give labels with --labels)"
        raise DataError(f"no sequence has {need}: there is nothing to train on", path=path)
    notes = []
    if len(keep) < len(lengths):
        left = len(lengths) - len(keep)
        why = "empty" if labels is not None else "shorter than 2 timesteps"
        notes.append(f"{left} sequence(s) {why} left out")

    if labels is None:
        description = (
            f"no labels: each sequence's last real timestep ({features} features, "
            "standardized), predicted from the timesteps before it"
        )
        return Target("self-supervised", description, None, None, notes=tuple(notes), keep=keep)

    labels = labels[keep]
    task = task_of(labels)
    if task == "multi-regression":
        description = f"labels: {labels.shape[1]} numbers per sequence (multi-output regression)"
        y = labels.astype("float32")
        return Target(task, description, None, y, (), tuple(notes), keep=keep)
    if task == "regression":
        description = "labels: one number per sequence (regression)"
        y = labels.astype("float32")[:, None]
        return Target(task, description, None, y, (), tuple(notes), keep=keep)
    if task not in ("binary", "multiclass"):  # the checks refuse these labels first
        raise DataError(f"labels of type {labels.dtype} cannot be learned", path=path)
    names = classes_of(labels)
    unique, inverse = np.unique(labels, return_inverse=True)
    rank = {name: i for i, name in enumerate(names)}
    index = np.array([rank[u.item()] for u in unique], dtype=np.int64)[inverse.reshape(-1)]
    mapping = ", ".join(f"{c!r} → {i}" for i, c in enumerate(names[:10]))
    if task == "binary":
        if len(names) == 1:
            notes.append(f"every label is {names[0]!r}: there is only one class to learn")
        kinds = "1 class" if len(names) == 1 else "2 classes"
        description = f"labels: {kinds}, {mapping} (binary)"
        y = index.astype("float32")[:, None]
        return Target(task, description, None, y, names, tuple(notes), keep=keep)
    more = ", …" if len(names) > 10 else ""
    description = f"labels: {len(names)} classes, {mapping}{more} (multiclass)"
    return Target(task, description, None, index.astype("int32"), names, tuple(notes), keep=keep)


def task_of(labels: np.ndarray | None) -> str:
    """What a model learns from these labels.

    >>> task_of(np.array([0.5, 1.5])), task_of(np.array(["a", "b", "c"])), task_of(None)
    ('regression', 'multiclass', 'self-supervised')
    """
    if labels is None:
        return "self-supervised"
    if labels.ndim == 2 and labels.dtype.kind in "biuf":
        return "multi-regression"
    if labels.ndim != 1:
        return "unknown"
    if labels.dtype.kind == "f":
        return "regression"
    if labels.dtype.kind in "biuUS":
        return "binary" if len(np.unique(labels)) <= 2 else "multiclass"
    return "unknown"


def classes_of(labels: np.ndarray) -> tuple:
    """The distinct labels in natural order: numbers by value, names with "2" before "10".

    >>> classes_of(np.array(["10", "2", "1", "2"]))
    ('1', '2', '10')
    >>> classes_of(np.array([3, 1, 3]))
    (1, 3)
    """
    names = [c.item() for c in np.unique(labels)]
    if labels.dtype.kind in "US":
        names.sort(key=_natural_key)
    return tuple(names)


def _natural_key(name: str | bytes) -> list:
    text = name.decode("latin1") if isinstance(name, bytes) else name
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(text)]


_DIGITS = re.compile(r"(\d+)")


def subset(ragged: Ragged, keep: np.ndarray) -> Ragged:
    kept = np.zeros(len(ragged), dtype=bool)
    kept[keep] = True
    return Ragged(ragged.values[np.repeat(kept, ragged.lengths)], ragged.lengths[keep])


def moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each feature (a constant feature's deviation is 1)."""
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    return mean, np.where(std > 1e-7, std, 1.0)
