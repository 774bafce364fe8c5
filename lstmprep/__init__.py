"""lstmprep: ragged sequence data → the dense tensor a Keras LSTM wants, every problem explained."""

__version__ = "0.1.0"

from .diagnose import diagnose, inspect
from .errors import DataError, LstmprepError, UnreadableInput, UsageError
from .ragged import Ragged
from .readers import Dataset, read, read_labels
from .report import CODES, Place, Problem, Report, Stats

__all__ = [
    "CODES",
    "DataError",
    "Dataset",
    "LstmprepError",
    "Place",
    "Problem",
    "Ragged",
    "Report",
    "Stats",
    "UnreadableInput",
    "UsageError",
    "__version__",
    "diagnose",
    "inspect",
    "read",
    "read_labels",
]
