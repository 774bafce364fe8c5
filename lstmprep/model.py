"""The Keras model lstmprep trains: a masked LSTM, progress hooks, and the mask check.

``keras.Input((None, features))`` and a boolean mask input → ``Normalization`` →
``LSTM(units)(x, mask=mask)`` → a head chosen from the task; token ids go in as
``keras.Input((None,), int)`` → ``Embedding`` instead of the normalization. The mask is built
from the real lengths, never from the pad value, so a real timestep whose features all equal
the pad value (or a real id 0) is still seen. The *mask check* feeds sequences once padded
in a batch and once alone, unpadded, and compares the predictions: equal predictions prove the
padding was invisible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batches import Batches
from .target import Target
from .tokens import EMBEDDING_DIM, id_dtype

#: Sequences the mask check compares, padded in a batch and alone.
MASK_CHECK_SIZE = 32


#: Batches Keras runs in one call of its compiled step (a loop in the graph): less dispatch
#: per batch (`make bench-big`: about 3% less CPU per epoch on sensors.json, the same losses);
#: progress and the check for a non-finite loss come once a call.
STEPS_PER_EXECUTION = 16

#: Largest difference between the two predictions the mask check accepts.
MASK_TOLERANCE = 1e-4


#: How each task is trained: head activation, loss, and the metric reported beside the loss.
TASKS = {
    "regression": (None, "mse", "mae"),
    "multi-regression": (None, "mse", "mae"),
    "self-supervised": (None, "mse", "mae"),
    "binary": ("sigmoid", "binary_crossentropy", "accuracy"),
    "multiclass": ("softmax", "sparse_categorical_crossentropy", "accuracy"),
}


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
            "max_abs_diff": finite(self.max_abs_diff),
            "checked": self.checked,
            "tolerance": self.tolerance,
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


def build_model(
    keras: Any,
    target: Target,
    units: int,
    features: int,
    normalization: tuple[np.ndarray, np.ndarray] | None = None,
) -> Any:
    """The functional model: sequences and mask in, one head out; compiled for the task.

    ``normalization``: the mean and standard deviation of each feature (values, not ids).
    """
    activation, loss, metric = TASKS[target.task]
    assert target.y is not None
    outputs = len(target.classes) if target.task == "multiclass" else target.y.shape[1]
    mask = keras.Input(shape=(None,), dtype="bool", name="mask")
    if target.vocabulary is not None:  # token ids; the mask comes from the lengths, not id 0
        dtype = id_dtype(target.vocabulary)
        sequences = keras.Input(shape=(None,), dtype=dtype, name="sequences")
        h = keras.layers.Embedding(target.vocabulary, EMBEDDING_DIM, name="embedding")(sequences)
    else:
        assert normalization is not None
        mean, std = normalization
        sequences = keras.Input(shape=(None, features), name="sequences")
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
    model.compile(
        optimizer="adam",
        loss=loss,
        metrics=[metrics[metric]],
        jit_compile=False,
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model


def mask_check(tf: Any, model: Any, batches: Batches, size: int = MASK_CHECK_SIZE) -> MaskCheck:
    """Predict up to ``size`` sequences padded in one batch and each alone, and compare.

    The sequences are spread over the range of lengths, shortest and longest included; only
    they are read (``batches`` may be memory-mapped).
    """
    signature = [
        tf.TensorSpec((None, None, *batches.features), tf.as_dtype(batches.dtype)),
        tf.TensorSpec((None, None), tf.bool),
    ]
    predict = tf.function(lambda x, m: model([x, m], training=False), input_signature=signature)
    ids = batches.ids
    lengths = batches.lengths[ids]
    by_length = ids[np.argsort(lengths, kind="stable")]
    picks = by_length[np.unique(np.linspace(0, len(ids) - 1, size).round().astype(int))]
    x = batches.padded(picks)
    batch = predict(x, batches.mask_of(x, picks)).numpy()
    alone = np.concatenate(
        [
            predict(
                batches.padded(np.array([i]), int(batches.lengths[i])),
                np.ones((1, int(batches.lengths[i])), bool),
            ).numpy()
            for i in picks
        ]
    )
    diff = float(np.max(np.abs(batch - alone))) if batch.size else 0.0
    held = bool(math.isfinite(diff) and diff <= MASK_TOLERANCE)
    return MaskCheck(held, diff, len(picks))


def keras_callback(keras: Any, progress: Progress, steps: int) -> Any:
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


def finite(value: float) -> float | None:
    """A float for JSON: NaN and infinity become ``None`` (null)."""
    return value if math.isfinite(value) else None
