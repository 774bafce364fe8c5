"""``train``: fit a small masked LSTM on a data set, the library behind ``lstmprep train``.

The model is ``keras.Input((None, features))`` and a boolean mask input → ``Normalization`` →
``LSTM(units)(x, mask=mask)`` → a head chosen from the labels. The mask is built from the real
lengths, never from the pad value, so a real timestep whose features all equal the pad value
is still seen. After fitting, a *mask check* feeds up to 32 sequences once padded in a batch
and once alone, unpadded, and compares the predictions: equal predictions prove the padding
was invisible to the model.

TensorFlow is imported inside the functions that need it (it takes seconds), so importing
this module is cheap and the rest of lstmprep works without TensorFlow installed.
"""

from __future__ import annotations

import importlib.util
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError, RefusedData, UsageError
from .inspection import diagnose
from .memory import check_pad_memory
from .output import Inputs, atomic_path, check_destination
from .padding import check_cast, pad_ragged, timestep_mask
from .ragged import Ragged
from .readers import Dataset

#: Sequences the mask check compares, padded in a batch and alone.
MASK_CHECK_SIZE = 32
#: Largest difference between the two predictions the mask check accepts.
MASK_TOLERANCE = 1e-4
#: What to install when TensorFlow is missing.
INSTALL_HINT = "pip install 'lstmprep[train]'"
#: How each task is trained: head activation, loss, and the metric reported beside the loss.
TASKS = {
    "regression": (None, "mse", "mae"),
    "multi-regression": (None, "mse", "mae"),
    "self-supervised": (None, "mse", "mae"),
    "binary": ("sigmoid", "binary_crossentropy", "accuracy"),
    "multiclass": ("softmax", "sparse_categorical_crossentropy", "accuracy"),
}


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
    validation_split: float = 0.2
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "units", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, not {value}")
        split = self.validation_split
        if not (isinstance(split, (int, float)) and 0 <= split < 1):
            raise UsageError(
                f"--validation-split must be in [0, 1), not {split}",
                hint="e.g. --validation-split 0.2 keeps a fifth of the sequences for validation",
            )
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise UsageError(f"--seed must be in [0, 2**32), not {self.seed}")


@dataclass(frozen=True)
class Target:
    """What the model learns: the sequences it reads and the value it predicts for each."""

    task: str
    description: str
    inputs: Ragged
    y: np.ndarray
    classes: tuple = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the model: its name, output shape (``None`` = any size) and weights."""

    name: str
    output_shape: tuple[int | None, ...]
    params: int


@dataclass(frozen=True)
class MaskCheck:
    """Padded-batch predictions against the same sequences fed alone, unpadded."""

    held: bool
    max_abs_diff: float
    checked: int
    tolerance: float = MASK_TOLERANCE

    def to_dict(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "max_abs_diff": _finite(self.max_abs_diff),
            "checked": self.checked,
            "tolerance": self.tolerance,
        }


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
    padded_shape: tuple[int, int, int]
    layers: tuple[LayerInfo, ...]
    params: int
    epochs: int
    train_sequences: int
    validation_sequences: int
    history: dict[str, list[float]]
    mask_check: MaskCheck
    notes: tuple[str, ...] = ()
    model: Any = field(default=None, compare=False, repr=False)

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
        return self.loss_finite and self.mask_check.held

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
            "history": {k: [_finite(v) for v in vs] for k, vs in self.history.items()},
            "final": {k: _finite(v) for k, v in self.final.items()},
            "loss_finite": self.loss_finite,
            "mask_check": self.mask_check.to_dict(),
            "notes": list(self.notes),
        }


class Progress:
    """What :func:`train` reports as it goes; subclass it and override what you need."""

    def on_step(self, name: str) -> None:
        """A step starts: "checking the data", "loading TensorFlow" or "checking the mask"."""

    def on_train_begin(self, layers: tuple[LayerInfo, ...], params: int, epochs: int) -> None:
        """The model is built; ``epochs`` epochs are about to run."""

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        """Epoch ``epoch`` (0-based) of ``steps`` batches starts."""

    def on_batch_end(self, epoch: int, step: int) -> None:
        """Batch ``step`` (1-based) of epoch ``epoch`` is done."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Epoch ``epoch`` is done; ``logs`` holds its loss, metric and validation figures."""


def train(
    dataset: Dataset,
    options: TrainOptions = TrainOptions(),
    *,
    progress: Progress | None = None,
    verbose: bool = False,
    mask: str = "lengths",
) -> TrainResult:
    """Train a masked LSTM on ``dataset`` and check that padding did not change its predictions.

    The data is checked first (:func:`lstmprep.diagnose`): a :class:`RefusedData` error
    (a :class:`DataError`) is raised on any error, before TensorFlow is even imported. The
    sequences are padded as ``lstmprep pad`` does (or as the ``meta`` of pad's ``.npz``
    says), and batches are made of sequences of similar length, each batch cut to its own
    longest sequence.

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
    if mask not in ("lengths", "value", "none"):
        raise UsageError(f"mask must be 'lengths', 'value' or 'none', not {mask!r}")
    progress = progress or Progress()
    require_tensorflow()
    progress.on_step("checking the data")
    report = diagnose(dataset)
    if report.errors:
        raise RefusedData(report, "no training was started")
    target = make_target(dataset)
    reason = check_cast(target.inputs.values, "float32")
    if reason:
        raise DataError(f"the values do not fit float32: {reason}", path=dataset.path)

    padding, value, maxlen = _pad_options(dataset.meta)
    inputs = target.inputs
    longest = maxlen or (int(inputs.lengths.max()) if len(inputs.lengths) else 0)
    check_pad_memory(inputs.n_sequences, longest, inputs.n_features, "float32", dataset.path)
    x, lengths = pad_ragged(target.inputs, maxlen, padding=padding, value=value, dtype="float32")
    masks = _masks(x, lengths, padding, value, mask)
    notes = list(target.notes)
    if dataset.meta:
        steps = x.shape[1]
        notes.append(f"padded as its .npz says: {padding} padding with {value:g}, {steps} steps")
    rng = np.random.default_rng(options.seed)
    train_idx, val_idx = _split(len(lengths), options.validation_split, rng, dataset.path)

    progress.on_step("loading TensorFlow")
    tf, keras = import_keras(verbose)
    with _keras_quiet(keras, verbose):
        if options.seed is not None:
            keras.utils.set_random_seed(options.seed)
            tf.config.experimental.enable_op_determinism()
        model = build_model(keras, target, options.units)
        _, loss, metric = TASKS[target.task]
        layers = tuple(
            LayerInfo(layer.name, tuple(layer.output.shape), int(layer.count_params()))
            for layer in model.layers
        )
        params = int(model.count_params())
        progress.on_train_begin(layers, params, options.epochs)

        batches = _batches(x, masks, target.y, lengths, padding, options.batch_size)
        steps = math.ceil(len(train_idx) / options.batch_size)
        history = model.fit(
            batches(train_idx, rng),
            validation_data=batches(val_idx, None) if len(val_idx) else None,
            epochs=options.epochs,
            verbose=0,
            callbacks=[_keras_callback(keras, progress, steps)],
        ).history
        progress.on_step("checking the mask")
        check = mask_check(tf, model, x, masks, lengths, padding)

    return TrainResult(
        task=target.task,
        target=target.description,
        classes=target.classes,
        loss=loss,
        metric=metric,
        input_shape=(None, x.shape[2]),
        padded_shape=(int(x.shape[0]), int(x.shape[1]), int(x.shape[2])),
        layers=layers,
        params=params,
        epochs=options.epochs,
        train_sequences=len(train_idx),
        validation_sequences=len(val_idx),
        history={k: [float(v) for v in vs] for k, vs in history.items()},
        mask_check=check,
        notes=tuple(notes),
        model=model,
    )


def make_target(dataset: Dataset) -> Target:
    """Choose the task from the labels, or derive a self-supervised target without them.

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
    ragged, labels = dataset.ragged, dataset.labels
    shortest = 1 if labels is not None else 2
    keep = np.flatnonzero(ragged.lengths >= shortest)
    if not len(keep):
        need = "a timestep" if labels is not None else "two timesteps (give labels with --labels)"
        raise DataError(f"no sequence has {need}: there is nothing to train on", path=dataset.path)
    notes = []
    if len(keep) < len(ragged):
        left = len(ragged) - len(keep)
        why = "empty" if labels is not None else "shorter than 2 timesteps"
        notes.append(f"{left} sequence(s) {why} left out")
        ragged = _subset(ragged, keep)

    if labels is None:
        ends = ragged.offsets[1:] - 1
        inputs = Ragged(np.delete(ragged.values, ends, axis=0), ragged.lengths - 1)
        mean, std = _moments(inputs.values)
        y = (ragged.values[ends] - mean) / std
        description = (
            f"no labels: each sequence's last real timestep ({ragged.n_features} features, "
            "standardized), predicted from the timesteps before it"
        )
        return Target("self-supervised", description, inputs, y, notes=tuple(notes))

    labels = labels[keep]
    if labels.ndim == 2:
        if labels.dtype.kind not in "biuf":
            raise DataError(f"2-D labels must be numbers, not {labels.dtype}", path=dataset.path)
        description = f"labels: {labels.shape[1]} numbers per sequence (multi-output regression)"
        y = labels.astype("float32")
        return Target("multi-regression", description, ragged, y, (), tuple(notes))
    if labels.dtype.kind == "f":
        description = "labels: one number per sequence (regression)"
        y = labels.astype("float32")[:, None]
        return Target("regression", description, ragged, y, (), tuple(notes))
    if labels.dtype.kind not in "biuUS":
        raise DataError(f"labels of type {labels.dtype} cannot be learned", path=dataset.path)
    classes, index = np.unique(labels, return_inverse=True)
    names = tuple(c.item() for c in classes)
    mapping = ", ".join(f"{c!r} → {i}" for i, c in enumerate(names[:10]))
    if len(classes) <= 2:
        if len(classes) == 1:
            notes.append(f"every label is {names[0]!r}: there is only one class to learn")
        kinds = "1 class" if len(classes) == 1 else "2 classes"
        description = f"labels: {kinds}, {mapping} (binary)"
        y = index.astype("float32")[:, None]
        return Target("binary", description, ragged, y, names, tuple(notes))
    more = ", …" if len(names) > 10 else ""
    description = f"labels: {len(classes)} classes, {mapping}{more} (multiclass)"
    return Target("multiclass", description, ragged, index.astype("int32"), names, tuple(notes))


def build_model(keras: Any, target: Target, units: int) -> Any:
    """The functional model: sequences and mask in, one head out; compiled for the task."""
    features = target.inputs.n_features
    activation, loss, metric = TASKS[target.task]
    outputs = len(target.classes) if target.task == "multiclass" else target.y.shape[1]
    mean, std = _moments(target.inputs.values)
    sequences = keras.Input(shape=(None, features), name="sequences")
    mask = keras.Input(shape=(None,), dtype="bool", name="mask")
    h = keras.layers.Normalization(mean=mean, variance=std**2, name="normalize")(sequences)
    h = keras.layers.LSTM(units, name="lstm")(h, mask=mask)
    head = keras.layers.Dense(outputs, activation=activation, name="head")(h)
    model = keras.Model([sequences, mask], head, name="lstmprep")
    metrics = {
        "mae": keras.metrics.MeanAbsoluteError(name="mae"),
        "accuracy": keras.metrics.BinaryAccuracy(name="accuracy")
        if target.task == "binary"
        else keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
    }
    model.compile(optimizer="adam", loss=loss, metrics=[metrics[metric]], jit_compile=False)
    return model


def mask_check(
    tf: Any,
    model: Any,
    x: np.ndarray,
    masks: np.ndarray,
    lengths: np.ndarray,
    padding: str,
    size: int = MASK_CHECK_SIZE,
) -> MaskCheck:
    """Predict up to ``size`` sequences padded in one batch and each alone, and compare.

    The sequences are spread over the range of lengths, shortest and longest included.
    """
    signature = [
        tf.TensorSpec((None, None, x.shape[2]), tf.float32),
        tf.TensorSpec((None, None), tf.bool),
    ]
    predict = tf.function(lambda x, m: model([x, m], training=False), input_signature=signature)
    by_length = np.argsort(lengths, kind="stable")
    picks = by_length[np.unique(np.linspace(0, len(lengths) - 1, size).round().astype(int))]
    batch = predict(x[picks], masks[picks]).numpy()
    alone = np.concatenate(
        [
            predict(
                _real_steps(x[i], lengths[i], padding)[None], np.ones((1, lengths[i]), bool)
            ).numpy()
            for i in picks
        ]
    )
    diff = float(np.max(np.abs(batch - alone))) if batch.size else 0.0
    held = bool(math.isfinite(diff) and diff <= MASK_TOLERANCE)
    return MaskCheck(held, diff, len(picks))


def save_model(
    result: TrainResult, path: str | Path, *, force: bool = False, inputs: Inputs | None = None
) -> Path:
    """Write the trained model to ``path`` (``.keras``) atomically; refuse to overwrite, or
    when one of ``inputs`` (``output.watch_inputs`` before reading) changed since.

    Returns the path written.
    """
    path = Path(path)
    check_model_path(path, force=force)
    with atomic_path(path, inputs=inputs) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Keras's own, about numpy 2
        result.model.save(tmp)
    return path


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


def require_tensorflow() -> None:
    """Raise a :class:`UsageError` naming the ``train`` extra when TensorFlow is missing."""
    try:
        found = importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise UsageError("training needs TensorFlow, which is not installed", hint=INSTALL_HINT)


def import_keras(verbose: bool = False) -> tuple[Any, Any]:
    """Import TensorFlow and Keras (it takes seconds); hide their log noise unless ``verbose``.

    Returns ``(tensorflow, keras)``.
    """
    if not verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    try:
        with nullcontext() if verbose else _silenced_stderr():
            import keras
            import tensorflow as tf
    except ImportError as e:
        raise UsageError(
            f"training needs TensorFlow, which cannot be imported ({e})", hint=INSTALL_HINT
        ) from None
    if not verbose:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
        tf.get_logger().setLevel("ERROR")
    return tf, keras


# --- helpers -------------------------------------------------------------------------------------


def _pad_options(meta: dict[str, Any] | None) -> tuple[str, float, int | None]:
    """(padding, value, maxlen): pad's defaults, or what the ``meta`` of pad's .npz says."""
    meta = meta or {}
    padding = "pre" if meta.get("padding") == "pre" else "post"
    maxlen = meta.get("maxlen") if isinstance(meta.get("maxlen"), int) else None
    return padding, float(meta.get("value", 0.0)), maxlen


def _split(
    n: int, share: float, rng: np.random.Generator, path: str
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation indices: a random ``share`` of the ``n`` sequences validates."""
    n_val = int(n * share)
    if share and not 0 < n_val < n:
        raise UsageError(
            f"--validation-split {share:g} of {n} sequences leaves {n_val} for validation "
            f"and {n - n_val} for training",
            path=path,
            hint="use --validation-split 0 or more sequences",
        )
    order = rng.permutation(n)
    return order[n_val:], order[:n_val]


@contextmanager
def _keras_quiet(keras: Any, verbose: bool) -> Iterator[None]:
    """Keep Keras's messages off stdout and, unless ``verbose``, hide its warnings."""
    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()  # its messages go to the (silenced) log
    try:
        with warnings.catch_warnings():
            if not verbose:
                warnings.simplefilter("ignore")
            yield
    finally:
        if interactive:
            keras.config.enable_interactive_logging()


def _masks(x: np.ndarray, lengths: np.ndarray, padding: str, value: float, how: str) -> np.ndarray:
    """``(samples, timesteps)``: true on real timesteps (with ``how="lengths"``)."""
    if how == "value":
        return ~(x == value).all(axis=2)
    if how == "none":
        return np.ones(x.shape[:2], dtype=bool)
    return timestep_mask(lengths, x.shape[1], padding)


def _batches(x, masks, y, lengths, padding, batch_size):
    """``batches(indices, rng)``: a tf.data input of batches of similar length.

    Sorting by length and cutting each batch to its own longest sequence skips most of the
    padding; ``rng`` (when given) shuffles the order of the batches every epoch.
    """
    import tensorflow as tf

    def batches(indices: np.ndarray, rng: np.random.Generator | None):
        order = indices[np.argsort(lengths[indices], kind="stable")]
        groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

        def generate() -> Iterator:
            for g in rng.permutation(len(groups)) if rng is not None else range(len(groups)):
                group = groups[g]
                steps = max(1, int(lengths[group].max()))
                cut = slice(None, steps) if padding == "post" else slice(x.shape[1] - steps, None)
                yield (x[group, cut], masks[group, cut]), y[group]

        signature = (
            (
                tf.TensorSpec((None, None, x.shape[2]), tf.float32),
                tf.TensorSpec((None, None), tf.bool),
            ),
            tf.TensorSpec((None, *y.shape[1:]), tf.as_dtype(y.dtype)),
        )
        data = tf.data.Dataset.from_generator(generate, output_signature=signature)
        return data.apply(tf.data.experimental.assert_cardinality(len(groups)))

    return batches


def _keras_callback(keras: Any, progress: Progress, steps: int) -> Any:
    """Forward Keras's epochs and batches to ``progress``; stop at a non-finite loss."""

    class Forward(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            progress.on_epoch_begin(epoch, steps)

        def on_train_batch_end(self, batch, logs=None):
            if logs and not math.isfinite(float(logs.get("loss", 0.0))):
                self.model.stop_training = True
            progress.on_batch_end(self.epoch, batch + 1)

        def on_epoch_end(self, epoch, logs=None):
            progress.on_epoch_end(epoch, {k: float(v) for k, v in (logs or {}).items()})

    return Forward()


def _real_steps(row: np.ndarray, length: int, padding: str) -> np.ndarray:
    return row[:length] if padding == "post" else row[len(row) - length :]


def _subset(ragged: Ragged, keep: np.ndarray) -> Ragged:
    kept = np.zeros(len(ragged), dtype=bool)
    kept[keep] = True
    return Ragged(ragged.values[np.repeat(kept, ragged.lengths)], ragged.lengths[keep])


def _moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each feature (a constant feature's deviation is 1)."""
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    return mean, np.where(std > 1e-7, std, 1.0)


def _finite(value: float) -> float | None:
    """A float for JSON: NaN and infinity become ``None`` (null)."""
    return value if math.isfinite(value) else None


@contextmanager
def _silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ logs print before any setting."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
