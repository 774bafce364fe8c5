"""TensorFlow and Keras: found, imported once, and kept quiet.

TensorFlow is imported only here and only when training starts (it takes seconds), so the
rest of lstmprep works, and starts fast, without it.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from .errors import UsageError

#: What to install when TensorFlow is missing.
INSTALL_HINT = "install it with `pip install 'lstmprep[train]'`"


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
        with nullcontext() if verbose else silenced_stderr():
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


@contextmanager
def keras_quiet(keras: Any, verbose: bool) -> Iterator[None]:
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


@contextmanager
def silenced_stderr() -> Iterator[None]:
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
