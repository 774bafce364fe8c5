"""``train``: fit a small masked LSTM on a data set, the library behind ``lstmprep train``.

:func:`train_file` reads, checks (the same checks as ``inspect``), pads as pad's meta says,
fits the model of :mod:`lstmprep.model` on the target of :mod:`lstmprep.target`, runs the
mask check and saves the model. TensorFlow is imported only once training starts
(:mod:`lstmprep.keras_env`), so importing this module is cheap.
"""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from . import advice
from .advice import inspect_command
from .batches import Batches, without_last
from .checks import run_checks
from .dataset import Dataset
from .errors import RefusedData, UsageError
from .inspection import diagnose
from .keras_env import import_keras, keras_quiet, require_tensorflow
from .memory import available_memory, check_embedding_memory, check_pad_memory
from .model import (
    TASKS,
    LayerInfo,
    MaskCheck,
    Progress,
    build_model,
    finite,
    keras_callback,
    mask_check,
)
from .options import bucket_of, checking_options
from .output import Inputs, atomic_path, check_destination, watch_inputs
from .padded_file import MappedPadded, PadMeta, Part, map_padded
from .padding import pad_ragged
from .ragged import Ragged
from .readers import ReadOptions, Source, files_of, read
from .report import ProblemLog, Report
from .target import Target, label_target, subset
from .tokens import EMBEDDING_DIM, id_dtype, vocabulary_size

if TYPE_CHECKING:
    from .padded_zarr import Padded

#: pad's stored tensor, read in place: a memory-mapped .npz or a .zarr store
Stored: TypeAlias = "MappedPadded | Padded"

#: Share of the sequences held out for validation unless told otherwise.
DEFAULT_VALIDATION = 0.2
#: The member of a saved ``.keras`` archive where lstmprep keeps what the model needs.
MODEL_META = "lstmprep.json"


@dataclass(frozen=True)
class TrainOptions:
    """How to train; every value is checked on construction (a :class:`UsageError` if wrong).

    >>> TrainOptions(epochs=0)
    Traceback (most recent call last):
    ...
    lstmprep.errors.UsageError: --epochs must be at least 1, not 0
    """

    epochs: int = 5
    units: int = 32
    batch_size: int = 32
    #: share held out for validation; ``None``: a fifth, or none when the data is tiny
    validation_split: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "units", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, not {value}")
        split = self.validation_split
        if split is not None and not (isinstance(split, (int, float)) and 0 <= split < 1):
            raise UsageError(
                f"--validation-split must be in [0, 1), not {split}",
                hint="e.g. --validation-split 0.2 keeps a fifth of the sequences for validation",
            )
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise UsageError(f"--seed must be in [0, 2**32), not {self.seed}")


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`train`: what was trained, how it went, and the mask check.

    ``ok`` is true when every loss is finite and the mask check held. ``model`` is the
    trained Keras model (left out of comparisons and of :meth:`to_dict`).
    """

    task: str
    target: str
    classes: tuple
    loss: str
    metric: str
    input_shape: tuple[int | None, ...]
    #: (N, T, F), or (N, T) for token ids
    padded_shape: tuple[int, ...]
    layers: tuple[LayerInfo, ...]
    params: int
    epochs: int
    train_sequences: int
    validation_sequences: int
    history: dict[str, list[float]]
    mask_check: MaskCheck
    notes: tuple[str, ...] = ()
    model: Any = field(default=None, compare=False, repr=False)
    #: where the padding goes in each row ("post" or "pre"), as the model was fed
    padding: str = "post"
    #: where the model was saved, if it was
    saved: str | None = None

    @property
    def final(self) -> dict[str, float]:
        """Each figure of the last epoch: loss, metric, and their validation values."""
        return {name: values[-1] for name, values in self.history.items() if values}

    @property
    def loss_finite(self) -> bool:
        return all(math.isfinite(v) for v in self.history.get("loss", [])) and bool(
            self.history.get("loss")
        )

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def failure(self) -> str | None:
        """Why training failed, in words; ``None`` when it went well."""
        if not self.loss_finite:
            return "the loss is not finite (NaN or infinity)"
        if not self.mask_check.held:
            return (
                "the mask check failed: padding changed the predictions by up to "
                f"{self.mask_check.max_abs_diff:.2g}"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "task": self.task,
            "target": self.target,
            "classes": list(self.classes),
            "loss": self.loss,
            "metric": self.metric,
            "input_shape": list(self.input_shape),
            "padded_shape": list(self.padded_shape),
            "layers": [
                {"name": x.name, "output_shape": list(x.output_shape), "params": x.params}
                for x in self.layers
            ],
            "params": self.params,
            "epochs": self.epochs,
            "train_sequences": self.train_sequences,
            "validation_sequences": self.validation_sequences,
            "history": {k: [finite(v) for v in vs] for k, vs in self.history.items()},
            "final": {k: finite(v) for k, v in self.final.items()},
            "loss_finite": self.loss_finite,
            "mask_check": self.mask_check.to_dict(),
            "notes": list(self.notes),
            "failure": self.failure,
            "saved": self.saved,
        }


def train(
    dataset: Dataset,
    options: TrainOptions = TrainOptions(),
    *,
    progress: Progress | None = None,
    verbose: bool = False,
    mask: str = "lengths",
) -> TrainResult:
    """Train a masked LSTM on ``dataset`` and check that padding did not change its predictions.

    The data is checked first, with the same checks as ``inspect``: a :class:`RefusedData`
    error (a :class:`DataError`) is raised on any error, before TensorFlow is even imported.
    The sequences are padded as ``lstmprep pad`` does (or as the meta of pad's ``.npz``
    says), and batches are made of sequences of similar length, each batch cut to its own
    longest sequence (:class:`~lstmprep.batches.Batches`).

    Args:
        dataset: The sequences and (optional) labels, from :func:`lstmprep.read`.
        options: Epochs, units, batch size, validation split and seed.
        progress: Optional :class:`Progress` told about the model, epochs and batches.
        verbose: Let TensorFlow's own log messages and warnings through.
        mask: ``"lengths"`` (the default and the right one) masks every padded timestep and
            nothing else. ``"value"`` masks timesteps whose features all equal the pad value
            (as ``keras.layers.Masking`` does) and ``"none"`` masks nothing: both are wrong
            for some data and exist to show the mask check catching them.

    Returns:
        A :class:`TrainResult`; its ``model`` is the trained Keras model.
    """
    _check_mask(mask)
    progress = progress or Progress()
    require_tensorflow()
    progress.on_step("checking the data")
    report = diagnose(dataset, options=checking_options(dataset.meta))
    if report.errors:
        raise RefusedData(report, "no training was started", inspect_command(dataset))
    ragged = dataset.ragged
    target = label_target(dataset.labels, ragged.lengths, ragged.n_features, dataset.path)
    assert target.keep is not None
    kept = ragged if len(target.keep) == len(ragged) else subset(ragged, target.keep)

    meta = dataset.meta or PadMeta()
    maxlen = meta.maxlen if dataset.meta else None
    longest = maxlen or (int(kept.lengths.max()) if len(kept.lengths) else 0)
    vocabulary = None
    if dataset.kind == "tokens":
        vocabulary = vocabulary_size(ragged.values, meta.value)
    dtype = "float32" if vocabulary is None else id_dtype(vocabulary)
    check_pad_memory(kept.n_sequences, longest, kept.n_features, dtype, dataset.path)
    if vocabulary is not None:
        check_embedding_memory(vocabulary, EMBEDDING_DIM, dataset.path)
    x, lengths = pad_ragged(kept, maxlen, padding=meta.padding, value=meta.value, dtype=dtype)
    if vocabulary is not None:
        x = x[:, :, 0]  # the (N, T) ids an Embedding takes
    buckets = None
    if meta.boundaries is not None:  # pad's length buckets, read into memory
        buckets = bucket_of(kept.lengths, meta.boundaries)
    return _fit(
        [Part(x, lengths)],
        replace(target, vocabulary=vocabulary, keep=np.arange(len(lengths))),
        meta,
        options,
        dataset.path,
        dataset.meta is not None,
        progress=progress,
        verbose=verbose,
        mask=mask,
        buckets=buckets,
    )


def train_mapped(
    padded: Stored,
    path: str,
    options: TrainOptions = TrainOptions(),
    *,
    progress: Progress | None = None,
    verbose: bool = False,
    mask: str = "lengths",
) -> TrainResult:
    """:func:`train` on pad's own ``.npz`` read in place (:func:`~lstmprep.padded_file.map_padded`):
    the tensors stay memory-mapped, so an output larger than memory trains in bounded memory.

    The checks run a block of rows at a time (:func:`check_blocks`); the batches, the moments
    of the normalization and the mask check read only the rows they need.
    """
    _check_mask(mask)
    progress = progress or Progress()
    require_tensorflow()
    progress.on_step("checking the data")
    meta = padded.meta
    budget = available_memory()
    bounded = budget is not None and padded.nbytes > budget // 2
    source = Batches(padded.parts, np.zeros(0), padding=meta.padding, bounded=bounded)
    check_blocks(source, padded, path)
    features = source.features[0] if source.features else 1
    target = label_target(padded.labels, source.lengths, features, path)
    vocabulary = None
    if meta.kind == "tokens":
        vocabulary = meta.vocabulary or max(
            vocabulary_size(values.reshape(-1, 1).astype(np.float64), meta.value)
            for values, _, _ in source.blocks()
        )
        check_embedding_memory(vocabulary, EMBEDDING_DIM, path)
    return _fit(
        padded.parts,
        replace(target, vocabulary=vocabulary),
        meta,
        options,
        path,
        True,
        progress=progress,
        verbose=verbose,
        mask=mask,
        bounded=bounded,
    )


def check_blocks(source: Batches, padded: Stored, path: str) -> None:
    """Run inspect's checks on pad's memory-mapped output a block of rows at a time, and
    raise :class:`RefusedData` on an error.

    The values' checks (non-finite, lossy-cast, bad-token…) see each block with the other
    sequences empty, so that their places keep the file's sequence numbers; the checks of the
    lengths and labels see them all, with stand-in values.
    """
    meta = padded.meta
    n = len(source)
    options = checking_options(meta)
    short = np.minimum(source.lengths, 2)
    stand_in = 2.0 if options.value == 1 else 1.0
    features = source.features[0] if source.features else 1
    whole = Dataset(
        path,
        "npz",
        Ragged(np.full((int(short.sum()), features), stand_in), short),
        labels=padded.labels,
        meta=meta,
        kind=meta.kind,
    )
    log = ProblemLog()
    log.extend(
        p
        for p in run_checks(whole, options)
        if p.severity == "error" and all(place.timestep is None for place in p.places)
    )
    for values, lengths, ids in source.blocks():
        values = values.reshape(len(values), -1)
        if values.dtype.kind != "f":
            values = values.astype(np.float64)
        order = np.argsort(ids, kind="stable")
        if (order != np.arange(len(order))).any():  # a bucket's rows: put them in sequence order
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[order]
            lengths = lengths[order]
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            values = values[np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))]
            ids = ids[order]
        every = np.zeros(n, dtype=np.int64)
        every[ids] = lengths
        block = Dataset(path, "npz", Ragged(values, every), meta=meta, kind=meta.kind)
        log.extend(
            p
            for p in run_checks(block, options)
            if p.severity == "error" and any(place.timestep is not None for place in p.places)
        )
    problems = tuple(log.problems())
    if problems:
        report = Report(None, problems)
        command = advice.inspect_command(whole)
        raise RefusedData(report, "no training was started", command)


def _check_mask(mask: str) -> None:
    if mask not in ("lengths", "value", "none"):
        raise UsageError(f"mask must be 'lengths', 'value' or 'none', not {mask!r}")


def _fit(
    parts: list[Part],
    target: Target,
    meta: PadMeta,
    options: TrainOptions,
    path: str,
    from_npz: bool,
    *,
    progress: Progress,
    verbose: bool,
    mask: str,
    buckets: np.ndarray | None = None,
    bounded: bool = False,
) -> TrainResult:
    """Fit the model on the padded ``parts`` (in memory or mapped) and run the mask check."""
    padding, value = meta.padding, meta.value
    keep = target.keep
    assert keep is not None
    n = sum(p.x.shape[0] for p in parts)
    notes = list(target.notes)
    if from_npz:
        steps = max(p.x.shape[1] for p in parts)
        suffix = Path(path).suffix.lower() or ".npz"  # a padded .npz, or a .zarr store
        notes.append(
            f"padded as its {suffix} says: {padding} padding with {value:g}, {steps} steps"
        )
    if meta.boundaries is not None:
        notes.append(f"batches kept within its {meta.n_buckets} length buckets")
    normalization = None
    if target.task == "self-supervised":
        parts, last = without_last(parts, padding, bounded)
    source = Batches(
        parts,
        np.zeros(0),
        padding=padding,
        batch_size=options.batch_size,
        mask=mask,
        value=value,
        bounded=bounded,
        ids=keep,
        buckets=buckets,
    )
    if target.vocabulary is None:
        normalization = source.moments()
    if target.task == "self-supervised":
        mean, std = normalization or (0.0, 1.0)
        y = ((last[keep] - mean) / std).astype("float32")
        target = replace(target, y=y.reshape(len(keep), -1))
    assert target.y is not None
    source.y = np.zeros((n, *target.y.shape[1:]), dtype=target.y.dtype)
    source.y[keep] = target.y
    rng = np.random.default_rng(options.seed)
    train_at, val_at, note = split(len(keep), options.validation_split, rng, path)
    notes += [note] if note else []
    train_ids, val_ids = keep[train_at], keep[val_at]

    progress.on_step("loading TensorFlow")
    tf, keras = import_keras(verbose)
    with keras_quiet(keras, verbose):
        if options.seed is not None:
            keras.utils.set_random_seed(options.seed)
            tf.config.experimental.enable_op_determinism()
        features = source.features[0] if source.features else 1
        model = build_model(keras, target, options.units, features, normalization)
        _, loss, metric = TASKS[target.task]
        layers = tuple(
            LayerInfo(layer.name, tuple(layer.output.shape), int(layer.count_params()))
            for layer in model.layers
        )
        params = int(model.count_params())
        progress.on_train_begin(layers, params, options.epochs)
        steps = math.ceil(len(train_ids) / options.batch_size)
        history = model.fit(
            source.dataset(train_ids, rng),
            validation_data=source.dataset(val_ids, None) if len(val_ids) else None,
            epochs=options.epochs,
            verbose=0,
            callbacks=[keras_callback(keras, progress, steps)],
        ).history
        progress.on_step("checking the mask")
        check = mask_check(tf, model, source)

    widest = max(p.x.shape[1] for p in parts)
    return TrainResult(
        task=target.task,
        target=target.description,
        classes=target.classes,
        loss=loss,
        metric=metric,
        input_shape=(None, *source.features),
        padded_shape=(len(keep), widest, *source.features),
        layers=layers,
        params=params,
        epochs=options.epochs,
        train_sequences=len(train_ids),
        validation_sequences=len(val_ids),
        history={k: [float(v) for v in vs] for k, vs in history.items()},
        mask_check=check,
        notes=tuple(notes),
        model=model,
        padding=padding,
    )


def train_file(
    source: Source,
    options: TrainOptions = TrainOptions(),
    reading: ReadOptions | None = None,
    *,
    save: str | Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
    verbose: bool = False,
    **changes: Any,
) -> TrainResult:
    """Read ``source``, train on it and, when training went well, save the model to ``save``.

    ``source``, ``reading`` and ``changes`` are :func:`~lstmprep.readers.read`'s.

    The library behind ``lstmprep train``: ``save`` is checked before any work, and written
    only when :attr:`TrainResult.ok`; :attr:`TrainResult.failure` says why not.
    """
    reading = ReadOptions.of(reading, **changes)
    files = files_of(source)
    if save is not None:
        check_model_path(save, force=force, inputs=reading.inputs(files))
    inputs = watch_inputs(reading.inputs(files))  # no model is saved of a file that changed
    padded: Stored | None = None
    plain = reading.labels is None and not (reading.channels_first or reading.layout)
    suffix = files[0].suffix.lower() if len(files) == 1 else None
    if plain and reading.table is None and suffix == ".npz":
        padded = map_padded(files[0])
    elif plain and suffix == ".zarr":  # pad --scheduler's store, read chunk by chunk
        from .padded_zarr import open_padded

        padded = open_padded(files[0])
    if padded is not None and reading.kind in (None, padded.meta.kind):
        path = str(source) if isinstance(source, (str, Path)) else str(files[0])
        result = train_mapped(padded, path, options, progress=progress, verbose=verbose)
    else:  # any other file, read into memory
        result = train(read(source, reading), options, progress=progress, verbose=verbose)
    if save is not None and result.ok:
        saved = save_model(result, save, force=force, inputs=inputs)
        result = replace(result, saved=str(saved))
    return result


def save_model(
    result: TrainResult, path: str | Path, *, force: bool = False, inputs: Inputs | None = None
) -> Path:
    """Write the trained model to ``path`` (``.keras``) atomically; refuse to overwrite, or
    when one of ``inputs`` (``output.watch_inputs`` before reading) changed since.

    The archive also holds ``lstmprep.json`` (:func:`model_meta` reads it): the class names
    in the order of the model's outputs, the task, and the padding the model was fed.
    Returns the path written.
    """
    path = Path(path)
    check_model_path(path, force=force)
    about = {"task": result.task, "classes": list(result.classes), "padding": result.padding}
    with atomic_path(path, inputs=inputs) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Keras's own, about numpy 2
        result.model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(MODEL_META, json.dumps(about))
    return path


def model_meta(path: str | Path) -> dict[str, Any]:
    """What :func:`save_model` kept beside the model: ``task``, ``classes``, ``padding``."""
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(MODEL_META))


def check_model_path(path: str | Path, *, force: bool, inputs: Sequence[Path] = ()) -> Path:
    """Refuse, before any work, a model file name that is not ``.keras`` or would overwrite."""
    path = Path(path)
    if path.suffix != ".keras":
        raise UsageError(
            f"the model file must end in .keras, not {path.suffix or '(nothing)'!r}",
            path=str(path),
            hint=f"e.g. --save {path.with_suffix('.keras').name}",
        )
    check_destination(path, force=force, inputs=inputs)
    return path


def split(
    n: int, share: float | None, rng: np.random.Generator, path: str
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Training and validation indices, and a note when validation had to be skipped.

    A random ``share`` of the ``n`` sequences validates. With the default share (``None``,
    a fifth) on data too small to split, every sequence trains and no validation is run; an
    explicit share that cannot be met is an error.

    >>> rng = np.random.default_rng(0)
    >>> [len(part) for part in split(10, None, rng, "d.json")[:2]]
    [8, 2]
    >>> split(3, None, rng, "d.json")[2]
    'only 3 sequences: all of them train, none is held out for validation'
    """
    n_val = int(n * (DEFAULT_VALIDATION if share is None else share))
    order = rng.permutation(n)
    if (share is None or share) and not 0 < n_val < n:
        if share is None:
            note = f"only {n} sequences: all of them train, none is held out for validation"
            return order, order[:0], note
        raise UsageError(
            f"--validation-split {share:g} of {n} sequences leaves {n_val} for validation "
            f"and {n - n_val} for training",
            path=path,
            hint="use --validation-split 0 or more sequences",
        )
    return order[n_val:], order[:n_val], None
