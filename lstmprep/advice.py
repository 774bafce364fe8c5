"""The commands lstmprep suggests: each runs as printed, pasted into a shell.

Every suggestion repeats the path as the user gave it (shell-quoted) and the options that
matter for that file (``--labels``, ``--allow-pickle``, and pad's options that differ from
the defaults), so that what worked for ``inspect`` works for ``pad`` and ``train`` too.
Data read on a Dask cluster (``--scheduler``) is inspected and padded there again, into a
Zarr store; what only one process does (``--buckets``, ``window``, ``train``) is suggested
without it.
"""

from __future__ import annotations

import shlex

from .dataset import Dataset
from .options import DEFAULTS, PadOptions, parse_maxlen

#: Where suggested pad commands write: the current folder, which exists.
PADDED = "padded.npz"
#: Where suggested pad commands write on a cluster (``--scheduler``).
PADDED_ZARR = "padded.zarr"
#: Where suggested window commands write.
WINDOWED = "windows.npz"


def command(*words: str) -> str:
    """``lstmprep`` and its arguments as one shell line.

    >>> command("pad", "my data/x.json", "-o", "padded.npz")
    "lstmprep pad 'my data/x.json' -o padded.npz"
    """
    return shlex.join(["lstmprep", *words])


def reading(dataset: Dataset) -> list[str]:
    """The options that read ``dataset`` as it was read: labels, pickles, layout, kind, and the
    table columns chosen."""
    words = ["--labels", dataset.labels_path] if dataset.labels_path else []
    words += dataset.table.words() if dataset.table else []
    words += ["--allow-pickle"] if dataset.allow_pickle else []
    words += ["--channels-first"] if dataset.channels_first else []
    words += [f"--{dataset.layout}"] if dataset.layout else []
    return words + (["--kind", dataset.kind_option] if dataset.kind_option else [])


def padding(options: PadOptions) -> list[str]:
    """Pad's options that differ from the defaults, as command-line words.

    >>> padding(PadOptions(maxlen="p95", value=-1.0))
    ['--maxlen', 'p95', '--value', '-1']
    """
    default = PadOptions()
    words = []
    if parse_maxlen(options.maxlen) != parse_maxlen(default.maxlen):
        words += ["--maxlen", str(options.maxlen)]
    for name in ("padding", "truncating", "dtype"):
        if getattr(options, name) != getattr(default, name):
            words += [f"--{name}", getattr(options, name)]
    if options.value != default.value:
        words += ["--value", f"{options.value:g}"]
    if options.allow_lossy:
        words.append("--allow-lossy")
    if options.buckets is not None:
        words += ["--buckets", str(options.buckets)]
    if options.boundaries is not None:
        words += ["--bucket-boundaries", ",".join(map(str, options.boundaries))]
    return words


def on_cluster(dataset: Dataset) -> list[str]:
    """``--scheduler`` as ``dataset`` was read with it, or nothing."""
    return ["--scheduler", dataset.scheduler] if dataset.scheduler else []


def pad_command(dataset: Dataset, options: PadOptions = DEFAULTS) -> str:
    """The pad command for ``dataset`` with ``options``, writing :data:`PADDED`; on the
    cluster ``dataset`` was read on, :data:`PADDED_ZARR` (length buckets: one process)."""
    cluster = [] if options.bucketed else on_cluster(dataset)
    output = PADDED_ZARR if cluster else PADDED
    words = [*padding(options), *reading(dataset), *cluster]
    return command("pad", *dataset.arguments, "-o", output, *words)


def window_command(dataset: Dataset, length: int, stride: int) -> str:
    """The window command for ``dataset``: the label as target when there are labels, else
    the next value (forecasting), writing :data:`WINDOWED`."""
    target = ["--target", "label"] if dataset.labels is not None else []
    sizes = ["--length", str(length), "--stride", str(stride)]
    return command("window", dataset.path, "-o", WINDOWED, *sizes, *target, *reading(dataset))


def inspect_command(dataset: Dataset) -> str:
    return command("inspect", *dataset.arguments, *reading(dataset), *on_cluster(dataset))


def train_command(path: str, dataset: Dataset | None = None, kind: str | None = None) -> str:
    """Train on ``path`` (pad's output, with ``--kind`` when pad was given one), or on
    ``dataset``'s input read as it was."""
    if dataset is None:
        return command("train", path, *(["--kind", kind] if kind else []))
    return command("train", *dataset.arguments, *reading(dataset))
