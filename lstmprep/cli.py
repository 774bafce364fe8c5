"""The command line: parse options, make one library call, show the result, exit with a code.

Exit codes: 0 fine, 1 the data has problems, 2 unreadable input, wrong usage or an output the
machine cannot write, 3 an internal error (a bug in lstmprep), 130 interrupted (Ctrl-C),
143 terminated (SIGTERM), 129 hung up (SIGHUP).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from . import __version__
from .options import PAD_VALUE, Dtype, Kind, Side, Target

app = typer.Typer(
    help="Turn ragged sequence data into the dense (samples, timesteps, features) tensor a "
    "Keras LSTM wants — and explain every shape problem on the way.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _console(stderr: bool = False) -> Console:
    """A console as wide as the terminal (or $COLUMNS). Colour follows Rich: off for NO_COLOR,
    TERM=dumb or a pipe, on for FORCE_COLOR; --no-color turns it off too. Live displays need a
    real terminal: FORCE_COLOR in a pipe gives colour, not redrawn lines."""
    stream = sys.stderr if stderr else sys.stdout
    live = None if stream.isatty() else False
    return Console(stderr=stderr, highlight=False, force_interactive=live)


out = _console()
err = _console(stderr=True)
_state = {"debug": False}

# --- options shared by several commands ----------------------------------------------------------
Inputs = Annotated[
    list[Path],
    typer.Argument(
        metavar="FILE",
        help="Sequence files (.json, .jsonl, .npy, .npz, .ts, .txt, .csv, .tsv, .parquet, "
        ".feather, .arrow), a folder, or a quoted glob ('data/*.npy'): several files are "
        "shards of one dataset, or one sample each.",
        show_default=False,
    ),
]
ChannelsFirst = Annotated[
    bool,
    typer.Option(
        "--channels-first",
        help="Each sample is stored (features, timesteps), as aeon, sktime and PyTorch's "
        "Conv1d keep it: transpose it on read.",
    ),
]
PerSample = Annotated[
    bool, typer.Option("--per-sample", help="Read each file as one sequence (timesteps, features).")
]
Shards = Annotated[
    bool, typer.Option("--shards", help="Read each file as a part of one dataset (many sequences).")
]
Labels = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        metavar="FILE",
        help="Labels, one per sequence (.json/.jsonl/.npy/.txt, .csv: a column or id,label).",
    ),
]
# Tables (.csv, .tsv, .parquet, .feather, .arrow): which column means what.
IdColumn = Annotated[
    str | None,
    typer.Option(
        "--id-column",
        metavar="COL",
        help="Tables: the column naming each row's sequence (guessed: id, sequence_id, …).",
    ),
]
TimeColumn = Annotated[
    str | None,
    typer.Option(
        "--time-column",
        metavar="COL",
        help="Tables: the column ordering a sequence's rows (guessed: t, time, timestamp, …).",
    ),
]
LabelColumn = Annotated[
    str | None,
    typer.Option(
        "--label-column",
        metavar="COL",
        help="Tables: the column holding each sequence's label (guessed: label, target, …).",
    ),
]
FeatureColumns = Annotated[
    str | None,
    typer.Option(
        "--feature-columns",
        metavar="A,B,…",
        help="Tables: the feature columns. Default: every other numeric column.",
    ),
]
SequenceColumn = Annotated[
    str | None,
    typer.Option(
        "--sequence-column",
        metavar="COL",
        help="Parquet/Arrow with one sequence per row: the list column (default: the only one).",
    ),
]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS|local[:N]",
        help="Work on a Dask cluster, one task per shard: a scheduler's address "
        "(tcp://host:8786), or local[:N] for N worker processes here (default: the cores). "
        "pad then writes a .zarr. Needs pip install 'lstmprep[dask]'.",
    ),
]


class Format(str, Enum):
    """What ``inspect`` prints: tables, JSON, GitHub workflow commands or JUnit XML."""

    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


KindOption = Annotated[
    Kind | None,
    typer.Option(
        help="Read the numbers as token ids (for an Embedding) or as values. Default: token "
        "ids when univariate whole numbers from 0 with 20 or more distinct values."
    ),
]
AllowPickle = Annotated[
    bool,
    typer.Option(
        "--allow-pickle", help="Load pickled object arrays. Only for files you trust: it runs code."
    ),
]


def _memory_limit(value: str | None) -> str | None:
    """``--memory-limit``: the budget for this command, as ``$LSTMPREP_MEMORY_LIMIT`` says it."""
    if value is not None:
        from .memory import MEMORY_LIMIT_ENV, parse_size

        try:
            os.environ[MEMORY_LIMIT_ENV] = str(parse_size(value))
        except Exception as e:
            raise typer.BadParameter(str(e)) from None
    return value


MemoryLimit = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        metavar="SIZE",
        callback=_memory_limit,
        help="Memory lstmprep may use (512MB, 2GB); default what is available, or "
        "$LSTMPREP_MEMORY_LIMIT.",
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"lstmprep {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colours (as NO_COLOR=1 or TERM=dumb do).")
    ] = False,
) -> None:
    _state["debug"] = debug
    out.no_color = err.no_color = no_color or os.environ.get("NO_COLOR", "") != ""


def reading(
    files: list[Path],
    *,
    labels: Path | None = None,
    allow_pickle: bool = False,
    channels_first: bool = False,
    per_sample: bool = False,
    shards: bool = False,
    kind: Kind | None = None,
    columns: tuple[str | None, ...] = (),
) -> tuple[Any, Any]:
    """read()'s source and :class:`~lstmprep.readers.ReadOptions` from the command line's
    words (``columns``: the table's, as ``TableOptions.parse`` takes them)."""
    from .errors import UsageError
    from .readers import ReadOptions
    from .readers.tables import TableOptions

    if per_sample and shards:
        raise UsageError("--per-sample and --shards contradict each other", hint="pass one of them")
    layout = "per-sample" if per_sample else "shards" if shards else None
    source = files[0] if len(files) == 1 else files
    table = TableOptions.parse(*columns)
    kind_name = kind.value if kind else None
    return source, ReadOptions(labels, allow_pickle, channels_first, layout, kind_name, table)


def exit_code(error: Exception) -> int:
    """The exit code for one of lstmprep's errors: 1 the data has problems, else 2."""
    from .errors import DataError

    return 1 if isinstance(error, DataError) else 2


def handled(command):
    """Turn lstmprep's errors into a message on stderr and their exit code; never a traceback.

    Refused data also shows its report: the problem table, or with --json the report itself.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import LstmprepError, RefusedData

        try:
            return command(*args, **kwargs)
        except typer.Exit:
            raise
        except LstmprepError as e:
            if _state["debug"]:
                raise
            if isinstance(e, RefusedData) and kwargs.get("as_json"):
                emit_json(e.report.to_dict())
            elif isinstance(e, RefusedData):
                from .render import problems

                err.print(problems(e.report))
            from .render import error

            err.print(error(e))
            raise typer.Exit(exit_code(e)) from None
        except KeyboardInterrupt as e:  # SIGTERM, SIGHUP too: lstmprep.signals.Terminated
            err.print(_escape(getattr(e, "message", "interrupted")), soft_wrap=True)
            raise typer.Exit(getattr(e, "exit_code", 130)) from None
        except MemoryError:  # the checks before allocating missed it: not a bug, not bad data
            if _state["debug"]:
                raise
            err.print(
                "[bold red]error:[/] out of memory: the estimate of the memory needed fell "
                "short on this machine\n  fix: pass a smaller --memory-limit: inspect and pad "
                "then read the data in parts"
            )
            raise typer.Exit(2) from None
        except Exception as e:  # a bug: say so, and never look like bad data (exit 1)
            if _state["debug"]:
                raise
            err.print(
                f"[bold red]internal error:[/] {_escape(type(e).__name__)}: {_escape(str(e))}\n"
                "run again with --debug for the traceback, and please report it"
            )
            raise typer.Exit(3) from None

    return wrapper


@app.command()
@handled
def inspect(
    files: Inputs,
    labels: Labels = None,
    as_json: AsJson = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too, not only on errors.")
    ] = False,
    allow_pickle: AllowPickle = False,
    channels_first: ChannelsFirst = False,
    per_sample: PerSample = False,
    shards: Shards = False,
    kind: KindOption = None,
    id_column: IdColumn = None,
    time_column: TimeColumn = None,
    label_column: LabelColumn = None,
    feature_columns: FeatureColumns = None,
    sequence_column: SequenceColumn = None,
    memory_limit: MemoryLimit = None,
    each: Annotated[
        bool,
        typer.Option(
            "--each",
            help="Check each file as a dataset of its own (pre-commit, a folder of unrelated "
            "files): a report per file, then a total; the exit code is the worst.",
        ),
    ] = False,
    output_format: Annotated[
        Format,
        typer.Option(
            "--format",
            help="text (tables), json (as --json; with --each a list), github (workflow "
            "commands: annotations on the file and line), junit (JUnit XML).",
        ),
    ] = Format.text,
    scheduler: Scheduler = None,
) -> None:
    """Report every shape problem in a sequence file, located and explained.

    \b
    Example: lstmprep inspect sample_data/tokens.npz --labels sample_data/tokens_labels.npy

    Several files, a folder or a glob are one dataset (shards), as pad and train read them;
    --each checks each file alone, and a file that cannot be read is a report of its own.

    Exit 0 when the data can become an LSTM input (warnings allowed unless --strict),
    1 when it has errors, 2 when the file cannot be read (--each: the worst of the files).
    """
    from . import ci, render
    from .errors import TooLarge, UnreadableInput, UsageError
    from .inspection import inspect as inspect_file
    from .inspection import inspect_each, unreadable

    columns = (id_column, time_column, label_column, feature_columns, sequence_column)
    form = output_format.value
    if as_json and output_format not in (Format.text, Format.json):
        raise UsageError(f"--json and --format {form} contradict each other", hint="pass one")
    form = "json" if as_json else form
    if each:
        for flag, given in (
            ("--labels", labels),
            ("--per-sample", per_sample),
            ("--shards", shards),
        ):
            if given:
                raise UsageError(
                    f"{flag} reads several files as one dataset, and --each reads each alone",
                    hint=f"pass one of {flag} and --each",
                )
        if scheduler:
            raise UsageError(
                "--each checks files one by one, and --scheduler reads them as shards of one "
                "dataset",
                hint="pass one of --each and --scheduler",
            )
        _, how = reading(
            files,
            allow_pickle=allow_pickle,
            channels_first=channels_first,
            kind=kind,
            columns=columns,
        )
        reports = inspect_each(files, how, strict=strict)
    else:
        source, how = reading(
            files,
            labels=labels,
            allow_pickle=allow_pickle,
            channels_first=channels_first,
            per_sample=per_sample,
            shards=shards,
            kind=kind,
            columns=columns,
        )
        try:
            if scheduler:
                report = _on_cluster(scheduler, source, how, strict)
            else:
                with render.Steps(err, enabled=form == "text", total=1) as step:
                    step("inspecting")
                    report = inspect_file(source, how, strict=strict, progress=step.bytes)
        except (UnreadableInput, TooLarge) as e:
            if form in ("text", "json"):
                raise
            report = unreadable(e, str(files[0]))  # CI formats: every outcome is a report
        reports = [report]

    if form == "json":
        emit_json([r.to_dict() for r in reports] if each else reports[0].to_dict())
    elif form == "github":
        sys.stdout.write(ci.github(reports))
    elif form == "junit":
        sys.stdout.write(ci.junit(reports))
    elif each:
        render.each(reports, out)
    else:
        render.report(reports[0], out)
    raise typer.Exit(ci.worst_exit_code(reports))


@app.command()
@handled
def pad(
    files: Inputs,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where to write: .npz (x, lengths, y, meta) or .npy (x)."
        ),
    ],
    maxlen: Annotated[
        str | None,
        typer.Option(
            help="Timesteps per row: a number, or pNN, the NNth percentile of the lengths. "
            "Default: the longest sequence."
        ),
    ] = None,
    padding: Annotated[
        Side, typer.Option(help="Pad 'post' (after; cuDNN needs it) or 'pre'.")
    ] = Side.post,
    truncating: Annotated[
        Side,
        typer.Option(help="Cut long sequences at the start ('pre': keep the latest) or 'post'."),
    ] = Side.pre,
    value: Annotated[float, typer.Option(help="The padding value.")] = PAD_VALUE,
    dtype: Annotated[
        Dtype | None,
        typer.Option(
            help="The output's dtype. Default: float32, or int32 for token ids (int64 when an "
            "id needs it)."
        ),
    ] = None,
    allow_lossy: Annotated[
        bool, typer.Option("--allow-lossy", help="Cast even when --dtype changes the values.")
    ] = False,
    buckets: Annotated[
        int | None,
        typer.Option(
            metavar="K",
            help="Write K tensors (x_0, x_1, …), one per length bucket, each padded to its "
            "own longest sequence; boundaries chosen to waste the least padding.",
        ),
    ] = None,
    bucket_boundaries: Annotated[
        str | None,
        typer.Option(
            metavar="B1,B2,…",
            help="Length buckets with these boundaries: bucket i holds lengths in [B(i-1), Bi).",
        ),
    ] = None,
    labels: Labels = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing output file.")
    ] = False,
    allow_pickle: AllowPickle = False,
    channels_first: ChannelsFirst = False,
    per_sample: PerSample = False,
    shards: Shards = False,
    kind: KindOption = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
    id_column: IdColumn = None,
    time_column: TimeColumn = None,
    label_column: LabelColumn = None,
    feature_columns: FeatureColumns = None,
    sequence_column: SequenceColumn = None,
    memory_limit: MemoryLimit = None,
    scheduler: Scheduler = None,
) -> None:
    """Pad sequences into the dense (samples, timesteps, features) tensor.

    \b
    Example: lstmprep pad sample_data/sensors.json -o sensors.npz --maxlen p95

    Data with errors is refused (exit 1) and nothing is written; an existing output is kept
    unless --force; the output is written to a temporary file and renamed into place.
    """
    from . import render
    from .options import PadOptions
    from .pipeline import pad_file

    options = PadOptions(
        maxlen,
        padding.value,
        truncating.value,
        value,
        dtype.value if dtype else None,
        allow_lossy,
        buckets=buckets,
        boundaries=bucket_boundaries,  # type: ignore[arg-type]  # parsed by PadOptions
    )
    source, how = reading(
        files,
        labels=labels,
        allow_pickle=allow_pickle,
        channels_first=channels_first,
        per_sample=per_sample,
        shards=shards,
        kind=kind,
        columns=(id_column, time_column, label_column, feature_columns, sequence_column),
    )
    if scheduler:
        from .cluster import pad_on_cluster

        with render.TaskBars(err, enabled=not (quiet or as_json)) as bars:
            summary = pad_on_cluster(
                source, output, options, scheduler, how, force=force, progress=bars, told=bars.say
            )
        if as_json:
            emit_json(summary.to_dict())
        elif not quiet:
            render.pad_summary(summary, err)
        return
    with render.Steps(err, enabled=not (quiet or as_json)) as step:
        summary = pad_file(
            source, output, options, how, force=force, step=step, progress=step.bytes
        )
    if as_json:
        emit_json(summary.to_dict())
    elif not quiet:
        render.pad_summary(summary, err)


@app.command()
@handled
def window(
    files: Inputs,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where to write: .npz (x, lengths, y, source, meta) or .npy (x)."
        ),
    ],
    length: Annotated[int, typer.Option(metavar="W", help="Timesteps per window.")],
    stride: Annotated[
        int, typer.Option(metavar="S", help="Steps from one window to the next.")
    ] = 1,
    sampling_rate: Annotated[
        int, typer.Option(metavar="R", help="Take every Rth step (as Keras's sampling_rate).")
    ] = 1,
    target: Annotated[
        Target,
        typer.Option(
            help="y: the next --horizon values (forecasting), the series' label, or none."
        ),
    ] = Target.next,
    horizon: Annotated[
        int, typer.Option(metavar="H", help="How many values --target next predicts.")
    ] = 1,
    target_columns: Annotated[
        str | None,
        typer.Option(
            metavar="A,B",
            help="The features --target next predicts (0 is the first). Default: all.",
        ),
    ] = None,
    pad_short: Annotated[
        bool,
        typer.Option(
            "--pad-short", help="Pad a series shorter than one window into one (else skip it)."
        ),
    ] = False,
    labels: Labels = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing output file.")
    ] = False,
    allow_pickle: AllowPickle = False,
    channels_first: ChannelsFirst = False,
    per_sample: PerSample = False,
    shards: Shards = False,
    kind: KindOption = None,
    id_column: IdColumn = None,
    time_column: TimeColumn = None,
    label_column: LabelColumn = None,
    feature_columns: FeatureColumns = None,
    sequence_column: SequenceColumn = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Cut long series into fixed-length training windows, each with its target.

    \b
    Example: lstmprep window sample_data/prices.jsonl -o windows.npz --length 20 --target-columns 0

    Windows never cross from one series into the next; a series shorter than one window is
    reported and skipped, or padded with --pad-short. For one series, x and y are what
    keras.utils.timeseries_dataset_from_array yields. Data with errors is refused (exit 1)
    and nothing is written; an existing output is kept unless --force.
    """
    from . import render
    from .windowing import WindowOptions, window_file

    options = WindowOptions(
        length, stride, sampling_rate, target.value, horizon, target_columns, pad_short
    )
    source, how = reading(
        files,
        labels=labels,
        allow_pickle=allow_pickle,
        channels_first=channels_first,
        per_sample=per_sample,
        shards=shards,
        kind=kind,
        columns=(id_column, time_column, label_column, feature_columns, sequence_column),
    )
    with render.Steps(err, enabled=not (quiet or as_json)) as step:
        summary = window_file(source, output, options, how, force=force, step=step)
    if as_json:
        emit_json(summary.to_dict())
    elif not quiet:
        render.window_summary(summary, err)


@app.command()
@handled
def train(
    files: Inputs,
    labels: Labels = None,
    epochs: Annotated[int, typer.Option(metavar="N", help="Passes over the training data.")] = 5,
    units: Annotated[int, typer.Option(metavar="N", help="Units of the LSTM layer.")] = 32,
    batch_size: Annotated[int, typer.Option(metavar="N", help="Sequences per batch.")] = 32,
    validation_split: Annotated[
        float | None,
        typer.Option(
            metavar="F",
            help="Share of sequences held out for validation, in [0, 1). Default: 0.2, or "
            "none when there are too few sequences to split.",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(metavar="N", help="Make the run repeatable on this machine.")
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option(metavar="MODEL.keras", help="Write the trained model (.keras) here."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing model file.")] = False,
    allow_pickle: AllowPickle = False,
    channels_first: ChannelsFirst = False,
    per_sample: PerSample = False,
    shards: Shards = False,
    kind: KindOption = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show TensorFlow's own log messages.")
    ] = False,
    id_column: IdColumn = None,
    time_column: TimeColumn = None,
    label_column: LabelColumn = None,
    feature_columns: FeatureColumns = None,
    sequence_column: SequenceColumn = None,
    memory_limit: MemoryLimit = None,
) -> None:
    """Train a small masked LSTM on a sequence file and check that padding is invisible to it.

    \b
    Example: lstmprep train sample_data/sensors.json --epochs 5 --save sensors.keras --force

    The input is pad's .npz or any file inspect reads (padded on the fly). The task follows
    the labels: numbers → regression, two classes → binary, more → multiclass, vectors →
    multi-output regression; without labels the model predicts each sequence's last
    timestep. Needs TensorFlow: pip install 'lstmprep[train]'.

    Exit 0 when trained with a finite loss and the mask check held, 1 when the data has
    errors, the loss is not finite or the mask check failed, 2 on unreadable input or a
    wrong option.
    """
    from . import render
    from .errors import UsageError
    from .train import TrainOptions, train_file

    options = TrainOptions(epochs, units, batch_size, validation_split, seed)
    if quiet and verbose:
        raise UsageError("--quiet and --verbose contradict each other", hint="pass one of them")
    source, how = reading(
        files,
        labels=labels,
        allow_pickle=allow_pickle,
        channels_first=channels_first,
        per_sample=per_sample,
        shards=shards,
        kind=kind,
        columns=(id_column, time_column, label_column, feature_columns, sequence_column),
    )
    show = not (quiet or as_json)
    with render.TrainProgress(err, out, bars=show, layers=show) as progress:
        result = train_file(
            source, options, how, save=save, force=force, progress=progress, verbose=verbose
        )
    if as_json:
        emit_json(result.to_dict())
    elif not quiet:
        render.train_result(result, out)
    if result.failure:
        unsaved = ", so the model was not saved" if save is not None else ""
        err.print(f"[bold red]error:[/] {_escape(result.failure)}{unsaved}")
        raise typer.Exit(1)


def _on_cluster(scheduler: str, source: Any, how: Any, strict: bool) -> Any:
    """inspect --scheduler: pass 1 on a Dask cluster, with its progress on stderr."""
    from . import render
    from .cluster import inspect_on_cluster

    with render.TaskBars(err) as bars:
        return inspect_on_cluster(
            source, scheduler, how, strict=strict, progress=bars, told=bars.say
        )


def emit_json(value: Any) -> None:
    """One JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(value, indent=2, allow_nan=False) + "\n")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def main() -> None:
    app()
