"""lstmprep: ragged sequence data → the dense tensor a Keras LSTM wants, every problem explained."""

__version__ = "0.1.0"

from .diagnose import diagnose, inspect
from .errors import DataError, LstmprepError, UnreadableInput, UsageError
from .padding import Padded, check_cast, pad_into, pad_ragged, pad_sequences
from .pipeline import PadOptions, PadSummary, pad_file
from .ragged import Ragged
from .readers import Dataset, read, read_labels
from .report import CODES, Place, Problem, Report, Stats
from .train import TrainOptions, TrainResult
from .train import train as train_model

__all__ = [
    "CODES",
    "DataError",
    "Dataset",
    "LstmprepError",
    "PadOptions",
    "PadSummary",
    "Padded",
    "Place",
    "Problem",
    "Ragged",
    "Report",
    "Stats",
    "TrainOptions",
    "TrainResult",
    "UnreadableInput",
    "UsageError",
    "__version__",
    "check_cast",
    "diagnose",
    "inspect",
    "pad_file",
    "pad_into",
    "pad_ragged",
    "pad_sequences",
    "read",
    "read_labels",
    "train_model",
]
