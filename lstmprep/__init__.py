"""lstmprep: ragged sequence data → the dense tensor a Keras LSTM wants, every problem explained.

The names below are imported on first use, so that ``lstmprep --help`` starts without numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name → the module that defines it (and its name there, where it differs)
_EXPORTS = {
    "diagnose": ".inspection",
    "inspect": ".inspection",
    "inspect_each": ".inspection",
    "DataError": ".errors",
    "LstmprepError": ".errors",
    "UnreadableInput": ".errors",
    "UsageError": ".errors",
    "TooLarge": ".errors",
    "Padded": ".padding",
    "check_cast": ".padding",
    "pad_into": ".padding",
    "pad_ragged": ".padding",
    "pad_sequences": ".padding",
    "timestep_mask": ".padding",
    "PadOptions": ".options",
    "PadMeta": ".padded_file",
    "inspect_shards": ".cluster",
    "pad_shards": ".cluster",
    "pad_to_zarr": ".cluster",
    "release_shards": ".cluster",
    "open_padded": ".padded_zarr",
    "PadSummary": ".pipeline",
    "pad_file": ".pipeline",
    "Ragged": ".ragged",
    "Dataset": ".dataset",
    "read": ".readers",
    "read_labels": ".readers",
    "ReadOptions": ".readers",
    "TableOptions": ".readers",
    "CODES": ".report",
    "Place": ".report",
    "Problem": ".report",
    "Report": ".report",
    "Stats": ".report",
    "TrainOptions": ".train",
    "TrainResult": ".train",
    "model_meta": ".train",
    "train_file": ".train",
    "train_model": ".train:train",
    "WindowOptions": ".windowing",
    "WindowSummary": ".windowing",
    "Windows": ".windowing",
    "window_file": ".windowing",
    "windows": ".windowing",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lstmprep' has no attribute {name!r}")
    module, _, attribute = _EXPORTS[name].partition(":")
    value = getattr(importlib.import_module(module, __name__), attribute or name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .cluster import inspect_shards, pad_shards, pad_to_zarr, release_shards  # noqa: F401
    from .dataset import Dataset  # noqa: F401
    from .errors import DataError, LstmprepError, TooLarge, UnreadableInput, UsageError  # noqa: F401
    from .inspection import diagnose, inspect, inspect_each  # noqa: F401
    from .options import PadOptions  # noqa: F401
    from .padded_file import PadMeta  # noqa: F401
    from .padded_zarr import open_padded  # noqa: F401
    from .padding import (  # noqa: F401
        Padded,
        check_cast,
        pad_into,
        pad_ragged,
        pad_sequences,
        timestep_mask,
    )
    from .pipeline import PadSummary, pad_file  # noqa: F401
    from .ragged import Ragged  # noqa: F401
    from .readers import ReadOptions, TableOptions, read, read_labels  # noqa: F401
    from .report import CODES, Place, Problem, Report, Stats  # noqa: F401
    from .train import TrainOptions, TrainResult, model_meta, train_file  # noqa: F401
    from .train import train as train_model  # noqa: F401
    from .windowing import WindowOptions, Windows, WindowSummary, window_file, windows  # noqa: F401
