"""``windows``: cut long series into fixed-length training windows, each with its target.

The library behind ``lstmprep window``. A window is ``length`` timesteps of one series, taken
every ``sampling_rate`` steps, starting every ``stride`` steps; windows never cross from one
series into the next. The target of a window is the ``horizon`` values after it (``next``,
forecasting: the steps ``length``, ``length + 1``, … of the window's own sampling grid), the
series' label (``label``) or nothing (``none``). For one series, ``x`` and ``y`` are what
``keras.utils.timeseries_dataset_from_array(data, data[length * sampling_rate:], length,
sequence_stride=stride, sampling_rate=sampling_rate)`` yields.

Windows are views of the input (``sliding_window_view``) until they are written or gathered:
when the windows' starts are evenly spaced (always, for one series) ``x`` stays a view, and
writing it streams; otherwise one vectorized gather makes ``x``, the output's size. A series
too short for one window is reported, and skipped or (``pad_short``) padded to ``length``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import __version__, advice
from .dataset import Dataset
from .errors import DataError, RefusedData, UsageError
from .inspection import diagnose
from .memory import check_memory
from .options import PAD_VALUE
from .output import check_destination, watch_inputs
from .padded_file import SUFFIXES, PadMeta, Part, source_meta, write_padded
from .ragged import Ragged
from .readers import ReadOptions, Source, files_of, read
from .report import MAX_PLACES, Problem, ProblemLog
from .target import classes_of, task_of

#: What a window's target can be.
TARGETS = ("next", "label", "none")
#: The output's dtype (the one Keras layers compute in).
DTYPE = "float32"
#: Warnings about the input that windowing answers (a pad command would be the wrong advice).
ANSWERED = ("ragged-length", "length-outlier", "long-sequences")


@dataclass(frozen=True)
class WindowOptions:
    """How to cut windows; every value is checked on construction (a :class:`UsageError`).

    >>> WindowOptions(length=64, stride=8).span, WindowOptions(length=3, sampling_rate=2).needed
    (64, 7)
    >>> WindowOptions(length=0)
    Traceback (most recent call last):
    ...
    lstmprep.errors.UsageError: --length must be a whole number of at least 1, not 0
    """

    length: int
    stride: int = 1
    sampling_rate: int = 1
    target: str = "next"
    horizon: int = 1
    #: the features ``next`` predicts (indices, or "0,2"); None: all of them
    target_columns: tuple[int, ...] | str | None = None
    pad_short: bool = False

    def __post_init__(self) -> None:
        for name in ("length", "stride", "sampling_rate", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                option = "--" + name.replace("_", "-")
                raise UsageError(f"{option} must be a whole number of at least 1, not {value!r}")
            object.__setattr__(self, name, int(value))
        target = self.target.value if isinstance(self.target, Enum) else self.target
        if target not in TARGETS:
            raise UsageError(f"--target must be one of {', '.join(TARGETS)}, not {target!r}")
        object.__setattr__(self, "target", target)
        if target != "next" and self.horizon != 1:
            raise UsageError(
                f"--horizon {self.horizon} counts the values --target next predicts, "
                f"not --target {target}",
                hint="drop --horizon, or use --target next",
            )
        if self.target_columns is not None:
            columns = parse_columns(self.target_columns)
            if target != "next":
                raise UsageError(
                    f"--target-columns chooses the features --target next predicts, "
                    f"not --target {target}",
                    hint="drop --target-columns, or use --target next",
                )
            object.__setattr__(self, "target_columns", columns)

    @property
    def span(self) -> int:
        """Raw steps from a window's first timestep to its last, both included."""
        return (self.length - 1) * self.sampling_rate + 1

    @property
    def needed(self) -> int:
        """Raw steps a series needs for one whole window (and its ``next`` targets)."""
        extra = self.horizon * self.sampling_rate if self.target == "next" else 0
        return self.span + extra

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        columns = self.target_columns
        d["target_columns"] = None if columns is None else list(parse_columns(columns))
        return d


def parse_columns(columns: str | int | tuple | list) -> tuple[int, ...]:
    """``"0,2"`` (or a sequence of indices) as a tuple of feature indices.

    >>> parse_columns("0, 2"), parse_columns([1])
    ((0, 2), (1,))
    """
    words = columns.split(",") if isinstance(columns, str) else list(np.atleast_1d(columns))
    try:
        indices = tuple(int(str(w).strip()) for w in words)
    except ValueError:
        indices = ()
    if not indices or min(indices) < 0 or len(set(indices)) < len(indices):
        raise UsageError(
            f"--target-columns {columns!r} is not a list of distinct feature indices",
            hint="e.g. --target-columns 0 or --target-columns 0,2 (0 is the first feature)",
        )
    return indices


@dataclass(frozen=True, eq=False)
class Windows:
    """Windows cut from a batch of series, and where each came from.

    ``x`` is ``(N, length, F)`` float32 (a view of the input when it can be), ``y`` the
    targets (``(N, C)`` for ``next`` with horizon 1, ``(N, horizon, C)`` above, one label per
    window for ``label``, ``None`` for ``none``), ``source`` ``(N, 2)``: the series and the
    step (in that series) each window starts at, ``lengths`` the real timesteps of each
    window (``length`` unless padded). ``skipped`` and ``padded`` list the series too short for
    one window.
    """

    x: np.ndarray
    y: np.ndarray | None
    source: np.ndarray
    lengths: np.ndarray
    options: WindowOptions
    skipped: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    padded: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self.x)


def windows(
    data: Any,
    length: int,
    *,
    stride: int = 1,
    sampling_rate: int = 1,
    target: str = "next",
    horizon: int = 1,
    target_columns: str | tuple[int, ...] | None = None,
    pad_short: bool = False,
    labels: Any = None,
) -> Windows:
    """Cut ``data`` into windows of ``length`` timesteps, with their targets.

    ``data``: one series (an array ``(steps,)`` or ``(steps, features)``), a :class:`Ragged`
    batch, or a :class:`Dataset` (whose labels ``target="label"`` uses unless ``labels`` is
    given). The values are not checked: ``lstmprep window`` (:func:`window_file`) runs every
    check of ``inspect`` first.

    >>> w = windows(np.arange(6.0), 3)
    >>> w.x[..., 0].tolist(), w.y.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]], [[3.0], [4.0], [5.0]])
    >>> w.source.tolist()
    [[0, 0], [0, 1], [0, 2]]
    >>> r = Ragged.from_sequences([[1, 2, 3, 4], [5, 6], [7, 8, 9]])
    >>> w = windows(r, 2, target="label", labels=np.array(["a", "b", "c"]), stride=2)
    >>> w.x[..., 0].tolist(), w.y.tolist()
    ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], ['a', 'a', 'b', 'c'])
    >>> w.source.tolist()
    [[0, 0], [0, 2], [1, 0], [2, 0]]
    """
    options = WindowOptions(
        length, stride, sampling_rate, target, horizon, target_columns, pad_short
    )
    if isinstance(data, Dataset):
        labels = data.labels if labels is None else labels
        data = data.ragged
    if not isinstance(data, Ragged):
        array = np.asarray(data)
        if array.ndim not in (1, 2):
            raise UsageError(
                f"one series is an array (steps,) or (steps, features), not shape {array.shape}",
                hint="pass a Ragged batch (lstmprep.read) for many series",
            )
        array = array.reshape(len(array), -1)
        data = Ragged(array, np.array([len(array)]))
    return cut(data, options, None if labels is None else np.asarray(labels))


def cut(ragged: Ragged, options: WindowOptions, labels: np.ndarray | None = None) -> Windows:
    """The windows of every series of ``ragged`` (see :func:`windows`)."""
    W, S, R, H = options.length, options.stride, options.sampling_rate, options.horizon
    columns = target_columns(options, ragged.n_features)
    if options.target == "label" and (labels is None or len(labels) != len(ragged)):
        have = "no labels" if labels is None else f"{len(labels)} labels"
        raise UsageError(
            f"--target label needs one label per series; there are {have} for {len(ragged)} series",
            hint="give labels (--labels FILE), or use --target next or none",
        )
    values = ragged.values.astype(DTYPE, copy=False)
    lengths, offsets = ragged.lengths, ragged.offsets[:-1]
    counts, short, padded, real = plan(lengths, options)

    # every whole window: evenly spaced starts in each series, no Python loop per window
    series = np.repeat(np.arange(len(lengths)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    local = (np.arange(len(series)) - first) * S
    starts = offsets[series] + local
    x = pick(strided(values, W, R), starts)
    y = None
    if options.target == "next":
        wanted = values if columns is None else values[:, list(columns)]
        y = pick(strided(wanted, H, R), starts + W * R)
    elif options.target == "label":
        assert labels is not None
        y = labels[series]
    window_lengths = np.full(len(series), W, dtype=np.int64)
    source = np.column_stack([series, local]).astype(np.int64)

    if len(padded):
        # series shorter than one window: one window each, its real steps then padding
        steps = np.arange(W)
        rows = offsets[padded][:, None] + steps * R
        real_step = steps < real[:, None]
        short_x = np.full((len(padded), W, values.shape[1]), PAD_VALUE, dtype=DTYPE)
        short_x[real_step] = values[rows[real_step]]
        short_y = None
        if options.target == "next":
            ahead = offsets[padded][:, None] + (real[:, None] + np.arange(H)) * R
            short_y = wanted[ahead]
        elif options.target == "label":
            assert labels is not None
            short_y = labels[padded]
        order = np.argsort(np.concatenate([series, padded]), kind="stable")
        x = np.concatenate([x, short_x])[order]
        if y is not None and short_y is not None:
            y = np.concatenate([y, short_y])[order]
        window_lengths = np.concatenate([window_lengths, real])[order]
        source = np.concatenate([source, np.column_stack([padded, 0 * padded])])[order]
    if options.target == "next" and H == 1 and y is not None:
        y = y[:, 0, :]
    skipped = np.setdiff1d(short, padded)
    return Windows(x, y, source, window_lengths, options, skipped, padded)


def plan(
    lengths: np.ndarray, options: WindowOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows per series, the series too short for one, those of them padded (with
    ``pad_short``) and the real timesteps of their one window. No data is touched.

    >>> counts, short, padded, real = plan(np.array([5, 2, 0]), WindowOptions(3, pad_short=True))
    >>> counts.tolist(), short.tolist(), padded.tolist(), real.tolist()
    ([2, 0, 0], [1, 2], [1], [1])
    """
    need = options.needed
    counts = np.where(lengths >= need, (lengths - need) // options.stride + 1, 0)
    short = np.flatnonzero(lengths < need)
    padded = real = np.empty(0, dtype=np.int64)
    if options.pad_short and len(short):
        sampled = np.where(lengths[short] > 0, (lengths[short] - 1) // options.sampling_rate + 1, 0)
        real = sampled - (options.horizon if options.target == "next" else 0)
        padded, real = short[real >= 1], real[real >= 1]
    return counts, short, padded.astype(np.int64), real.astype(np.int64)


def target_columns(options: WindowOptions, features: int) -> tuple[int, ...] | None:
    """The features ``next`` predicts, checked against the data's ``features``."""
    if options.target_columns is None:
        return None
    columns = parse_columns(options.target_columns)
    if max(columns) >= features:
        missing = [c for c in columns if c >= features]
        raise UsageError(
            f"--target-columns names feature {missing[0]}, but the series have {features} "
            f"feature(s), numbered 0 to {features - 1}",
            hint=f"choose among 0…{features - 1}, or drop --target-columns to predict them all",
        )
    return columns


def strided(values: np.ndarray, k: int, rate: int) -> np.ndarray:
    """A view ``(starts, k, F)``: row ``i`` is ``values[i], values[i + rate], …`` (k of them).

    >>> strided(np.arange(5.0)[:, None], 2, 2)[..., 0].tolist()
    [[0.0, 2.0], [1.0, 3.0], [2.0, 4.0]]
    """
    span = (k - 1) * rate + 1
    if len(values) < span:
        return np.empty((0, k, values.shape[1]), values.dtype)
    return sliding_window_view(values, span, axis=0)[:, :, ::rate].swapaxes(1, 2)


def pick(view: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``view[starts]``: still a view when the starts are evenly spaced, else one gather."""
    if len(starts) == 0:
        return view[:0]
    step = int(starts[1] - starts[0]) if len(starts) > 1 else 1
    if step > 0 and (len(starts) < 3 or (np.diff(starts) == step).all()):
        return view[int(starts[0]) : int(starts[-1]) + 1 : step]
    return view[starts]


def short_problem(dataset: Dataset, windows: Windows) -> Problem | None:
    """The ``short-series`` warning: series too short for one window, skipped or padded."""
    options = windows.options
    short = np.union1d(windows.skipped, windows.padded)
    if not len(short):
        return None
    lengths = dataset.ragged.lengths
    first = int(short[0])
    need = f"{options.needed} steps"
    if options.target == "next" or options.sampling_rate > 1:
        need += f" (--length {options.length}"
        need += f", --sampling-rate {options.sampling_rate}" if options.sampling_rate > 1 else ""
        need += f", --horizon {options.horizon}" if options.target == "next" else ""
        need += ")"
    done = []
    if len(windows.padded):
        done.append(f"{len(windows.padded)} padded to {options.length} timesteps (--pad-short)")
    if len(windows.skipped):
        why = " (too short even to pad: a window needs a step and its targets)"
        done.append(f"{len(windows.skipped)} skipped" + (why if options.pad_short else ""))
    fix = (
        "" if options.pad_short else " — pass --pad-short to pad them, or choose a smaller --length"
    )
    log = ProblemLog()
    log.add_many(
        "short-series",
        f"{len(short)} series are shorter than one window, which needs {need}; "
        f"{dataset.where(first)} has {lengths[first]}: {' and '.join(done)}{fix}",
        [(int(s), None) for s in short[:MAX_PLACES]],
        len(short),
    )
    return log.problems()[0]


# --- lstmprep window ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowSummary:
    """What :func:`window_file` wrote."""

    output: str
    shape: tuple[int, int, int]
    y_shape: tuple[int, ...] | None
    dtype: str
    windows: int
    series: int
    skipped_series: int
    padded_series: int
    bytes: int
    warnings: tuple[Problem, ...]
    meta: PadMeta
    #: the command to run next (train on the output), as it can be pasted
    next_command: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["y_shape"] = None if self.y_shape is None else list(self.y_shape)
        d["warnings"] = [p.to_dict() for p in self.warnings]
        d["meta"] = json.loads(self.meta.to_json())
        return d


def window_file(
    source: Source,
    output: str | Path,
    options: WindowOptions,
    reading: ReadOptions | None = None,
    *,
    force: bool = False,
    step: Any = lambda name: None,
    **changes: Any,
) -> WindowSummary:
    """Cut the series in ``source`` into windows and write them to ``output`` (.npz or .npy).

    ``source``, ``reading`` and ``changes`` are :func:`~lstmprep.readers.read`'s.

    The ``.npz`` holds ``x``, ``lengths``, ``y`` (unless ``--target none``), ``source`` and
    ``meta`` (:class:`PadMeta` with ``command="window"``). Data with errors is refused
    (:class:`RefusedData`, exit 1), as pad refuses it; so is a file with no window at all.

    >>> import json, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> src = os.path.join(folder, "in.json")
    >>> _ = open(src, "w").write(json.dumps([[1, 2, 3, 4, 5], [6, 7, 8]]))
    >>> summary = window_file(src, os.path.join(folder, "w.npz"), WindowOptions(length=2))
    >>> summary.shape, summary.y_shape
    ((4, 2, 1), (4, 1))
    >>> np.load(os.path.join(folder, "w.npz"))["source"].tolist()
    [[0, 0], [0, 1], [0, 2], [1, 0]]
    """
    output = Path(output)
    if output.suffix.lower() not in SUFFIXES:
        raise UsageError(
            f"the output must end in .npz or .npy, not {output.suffix or '(nothing)'!r}",
            path=str(output),
        )
    reading = ReadOptions.of(reading, **changes)
    files = files_of(source)
    check_destination(output, force=force, inputs=reading.inputs(files))
    inputs = watch_inputs(reading.inputs(files))
    step("reading")
    dataset = read(source, reading)
    target_columns(options, dataset.ragged.n_features)
    if options.target == "label" and dataset.labels is None:
        raise UsageError(
            "--target label needs labels, and the file has none",
            path=dataset.path,
            hint="give them with --labels FILE, or use --target next (forecasting) or none",
        )
    step("checking")
    report = diagnose(dataset)
    if report.errors:
        raise RefusedData(report, "nothing was written", advice.inspect_command(dataset))

    step("cutting")
    counts, _, padded, _ = plan(dataset.ragged.lengths, options)
    n = int(counts.sum()) + len(padded)
    if n == 0:
        longest = int(dataset.ragged.lengths.max())
        raise DataError(
            f"no series is long enough for one window: the longest has {longest} steps, a "
            f"window needs {options.needed}",
            path=dataset.path,
            hint="choose a smaller --length (or --horizon, --sampling-rate), or pass --pad-short",
        )
    gathered = np.count_nonzero(counts) > 1 or len(padded)
    if gathered:  # one series stays a view and is written in chunks
        shape = (n, options.length, dataset.ragged.n_features)
        check_memory(
            int(np.prod(shape)) * np.dtype(DTYPE).itemsize * (2 if len(padded) else 1),
            f"{n:,} windows of shape {shape[1:]} ({DTYPE})",
            str(source),
            hint="use a larger --stride, a smaller --length, or part of the data",
        )
    cut_windows = cut(dataset.ragged, options, dataset.labels)
    warnings = [p for p in report.warnings if p.code not in ANSWERED]
    if not len(padded):
        warnings = [p for p in warnings if p.code != "pad-collision"]  # nothing is padded
    short = short_problem(dataset, cut_windows)
    warnings += [short] if short else []

    y = cut_windows.y
    classify = options.target == "label" and task_of(dataset.labels) in ("binary", "multiclass")
    meta = PadMeta(
        maxlen=options.length,
        padding="post",
        truncating="pre",
        value=PAD_VALUE,
        dtype=DTYPE,
        source=source_meta(dataset, files),
        labels=None if reading.labels is None else Path(reading.labels).name,
        classes=classes_of(dataset.labels) if classify and dataset.labels is not None else None,
        lstmprep=__version__,
        command="window",
        window=options.to_dict(),
    )
    step("writing")
    write_padded(
        output,
        [Part(cut_windows.x, cut_windows.lengths, y)],
        meta,
        inputs=inputs,
        extra={"source": cut_windows.source},
    )
    x = cut_windows.x
    return WindowSummary(
        output=str(output),
        shape=(int(x.shape[0]), int(x.shape[1]), int(x.shape[2])),
        y_shape=None if y is None else tuple(int(d) for d in y.shape),
        dtype=str(x.dtype),
        windows=len(x),
        series=len(dataset.ragged),
        skipped_series=len(cut_windows.skipped),
        padded_series=len(cut_windows.padded),
        bytes=output.stat().st_size,
        warnings=tuple(warnings),
        meta=meta,
        next_command=advice.train_command(str(output)) if output.suffix.lower() == ".npz" else None,
    )
