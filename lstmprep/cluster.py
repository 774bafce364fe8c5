"""Many shards on many machines: ``inspect`` and ``pad`` on a Dask cluster, into Zarr.

The same two passes as one process, with the shards as the unit of work:

- **Pass 1** (:func:`inspect_shards`): each worker summarises its shards (lengths, labels,
  problems with places naming the shard, the file's sha256); the summaries meet on the driver,
  which merges them into the one :class:`~lstmprep.report.Report` that ``inspect`` gives for the
  same files in one process (same codes, counts, stats, percentile ``maxlen``, class order).
  What crosses the network is one value per sequence (lengths, labels), never the timesteps.
- **Pass 2** (:func:`padded_array`): each worker reads its shard again and pads it to the
  global ``maxlen``: one block of a lazy :mod:`dask.array` ``(N, T, F)``, in input order.
  :func:`pad_to_zarr` writes it into a Zarr store (:mod:`lstmprep.padded_zarr`) whose chunks
  along N never straddle two writers (Dask's ``rechunk`` gathers the rows of a chunk that
  spans two shards into one task), under a temporary name renamed into place when complete.

A worker that dies mid-run costs only its tasks: Dask runs them again elsewhere, and since a
task always writes the same bytes to the same chunks, the store is complete and identical. A
scheduler that goes away ends the run with :class:`~lstmprep.errors.ClusterError` (exit 2) and
the temporary store removed.

The Dask parts are an optional extra (``pip install 'lstmprep[dask]'``); everything here
imports Dask inside its functions, so ``lstmprep --help`` stays fast.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, advice, tokens
from .dataset import Dataset
from .errors import ClusterError, LstmprepError, RefusedData, UsageError
from .inspection import diagnose
from .options import DEFAULTS, PadOptions, checking_options
from .output import atomic_dir, check_destination, watch_inputs
from .padded_file import PadMeta, sha256, source_meta
from .padded_zarr import INSTALL, Layout, Rows, chunk_rows, create, is_zarr
from .padding import pad_ragged
from .pipeline import PadSummary
from .readers import Source, files_of, read, read_shard
from .report import Report
from .target import classes_of, task_of

#: ``--scheduler local`` or ``local:N``: a LocalCluster of N worker processes on this machine.
LOCAL = "local"

#: progress(phase, done, total): called as tasks finish ("pass 1", "pass 2")
Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def import_dask() -> tuple[Any, Any]:
    """``(dask, distributed)``, or a usage error (exit 2) saying how to install them."""
    try:
        import dask
        import dask.array  # noqa: F401
        import distributed
        import zarr  # noqa: F401
    except ImportError as e:
        raise UsageError(
            f"--scheduler needs the optional Dask packages (dask, distributed, zarr), and "
            f"{e.name or 'one of them'} is not installed",
            hint=INSTALL,
        ) from None
    return dask, distributed


# --- the cluster ---------------------------------------------------------------------------------


def parse_scheduler(scheduler: str) -> tuple[str, int | None]:
    """``("local", N or None)`` for ``local[:N]``, else ``("address", None)``.

    >>> parse_scheduler("local"), parse_scheduler("local:2"), parse_scheduler("tcp://h:8786")
    (('local', None), ('local', 2), ('tcp://h:8786', None))
    """
    if scheduler == LOCAL:
        return LOCAL, None
    if scheduler.startswith(LOCAL + ":"):
        count = scheduler[len(LOCAL) + 1 :]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(
                f"--scheduler {scheduler}: after 'local:' comes a number of workers",
                hint="pass --scheduler local:2, or local for one worker per core",
            )
        return LOCAL, int(count)
    if not scheduler.strip():
        raise UsageError("--scheduler is empty", hint="pass local, local:N or a scheduler address")
    return scheduler, None


@contextmanager
def connect(scheduler: str) -> Iterator[Any]:
    """A :class:`distributed.Client` on ``scheduler``: ``local[:N]`` starts a LocalCluster of
    N worker processes (one thread each; N defaults to the cores), anything else is the
    address of a running scheduler (``tcp://host:8786``). Closed (and the local cluster
    stopped) on the way out."""
    _, distributed = import_dask()
    where, workers = parse_scheduler(scheduler)
    if where == LOCAL:
        cluster = distributed.LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:  # waits distributed.comm.timeouts.connect (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT)
        client = distributed.Client(where)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterError(
            f"no Dask scheduler answers at {where} ({type(e).__name__}: {e})",
            hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
            "or pass --scheduler local",
        ) from None
    try:
        yield client
    finally:
        client.close()


def describe(client: Any) -> str:
    """The scheduler and its workers in words, with the dashboard's link when it has one."""
    info = client.scheduler_info()
    workers = len(info.get("workers", {}))
    text = f"Dask scheduler {info.get('address', '?')}, {workers} worker(s)"
    shown = "dashboard" in info.get("services", {}) and importlib.util.find_spec("bokeh")
    link = client.dashboard_link if shown else None
    return text + (f", dashboard {link}" if link else "")


def _run(client: Any, futures: list[Any], phase: str, progress: Progress) -> list[Any]:
    """The futures' results in order, calling ``progress`` as each finishes; a lost
    scheduler becomes :class:`ClusterError`, an lstmprep error from a worker is raised as it
    is."""
    _, distributed = import_dask()
    total, done = len(futures), 0
    progress(phase, 0, total)
    try:
        for future in distributed.as_completed(futures):
            if future.status == "error":
                future.result()  # raises the worker's exception here
            done += 1
            progress(phase, done, total)
        return client.gather(futures)
    except LstmprepError:
        raise
    except (OSError, TimeoutError, distributed.client.FutureCancelledError) as e:
        raise _gone(client, e) from None
    except Exception as e:
        if client.status not in ("running", "connecting"):
            raise _gone(client, e) from None
        raise


def _gone(client: Any, error: BaseException) -> ClusterError:
    return ClusterError(
        f"the Dask scheduler went away during the work ({type(error).__name__})",
        hint="nothing was written; start the scheduler again and run the command again",
    )


# --- reading options -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """How to read the shards: :func:`~lstmprep.readers.read`'s options, picklable."""

    labels: str | None = None
    allow_pickle: bool = False
    channels_first: bool = False
    kind: str | None = None
    table: Any = None
    #: "shards" when the user said so (--shards); one sequence per file is not read here
    layout: str | None = None

    def shard_options(self) -> dict[str, Any]:
        return dict(
            allow_pickle=self.allow_pickle, channels_first=self.channels_first, table=self.table
        )

    def read_options(self) -> dict[str, Any]:
        return dict(
            labels=self.labels,
            layout=self.layout,
            kind=self.kind,
            **self.shard_options(),
        )


# --- pass 1 --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ShardSummary:
    """Pass 1 of one shard, made on a worker and sent to the driver."""

    path: str
    sha256: str
    sequences: int
    #: what the merge needs of the shard (see :func:`merge`)
    part: Any


def summarize_shard(path: str, reading: Reading) -> ShardSummary:
    """(on a worker) Pass 1 of one shard."""
    dataset = read_shard(Path(path), **reading.shard_options())
    return ShardSummary(path, sha256(Path(path)), len(dataset.ragged), dataset)


@dataclass(frozen=True, eq=False)
class Pass1:
    """What pass 1 found, merged on the driver: the report, and what pass 2 needs."""

    report: Report
    #: the shards, as read
    files: tuple[str, ...]
    #: sequences per shard, in order
    rows: tuple[int, ...]
    #: every sequence's length, in order
    lengths: np.ndarray
    labels: np.ndarray | None
    #: the merged dataset (its ``ragged`` may be empty: pass 1 keeps no timesteps)
    dataset: Dataset
    sha256: dict[str, str]


def merge(
    sources: Sequence[str | Path],
    summaries: list[ShardSummary],
    reading: Reading,
    options: PadOptions | None,
    strict: bool,
) -> Pass1:
    """(on the driver) The shards' summaries merged into the report of the whole dataset."""
    if reading.layout not in (None, "shards"):
        raise UsageError(
            "one sequence per file (--per-sample) is not read on a cluster: its unit of work "
            "is a shard of many sequences",
            hint="pass --shards, or run without --scheduler",
        )
    parts = {s.path: s.part for s in summaries}
    dataset = read(list(sources), shards=parts, **reading.read_options())
    if len(dataset.ragged) != sum(s.sequences for s in summaries):
        raise UsageError(
            "these files are read as one sequence per file (every one a 2-D .npy), which is "
            "not read on a cluster",
            hint="pass --shards if each file holds many sequences, or run without --scheduler",
        )
    checking = checking_options(dataset.meta) if options is None else options
    report = diagnose(dataset, strict=strict, options=checking, locate=options is None or None)
    return Pass1(
        report,
        tuple(s.path for s in summaries),
        tuple(s.sequences for s in summaries),
        dataset.ragged.lengths,
        dataset.labels,
        dataset,
        {s.path: s.sha256 for s in summaries},
    )


def _shard_paths(source: Source | Any) -> tuple[list[str], list[str | Path]]:
    """The shard files of ``source`` (a path, several, a folder, a glob, or a
    :class:`dask.bag.Bag` of paths), and the sources as the user gave them."""
    if type(source).__module__.startswith("dask.bag"):
        source = [str(p) for p in source.compute()]
    sources = [source] if isinstance(source, (str, Path)) else list(source)
    return [str(p) for p in files_of(sources)], sources


def inspect_shards(
    source: Source | Any,
    client: Any,
    *,
    reading: Reading = Reading(),
    strict: bool = False,
    options: PadOptions | None = None,
    progress: Progress = _no_progress,
) -> Pass1:
    """Pass 1 on the cluster: each shard summarised on a worker, the summaries merged here.

    ``source``: a file, several, a folder, a glob, or a :class:`dask.bag.Bag` of paths; each
    file is a shard. ``options``: pad's options to check against (None: inspect's).
    ``.report`` is what :func:`lstmprep.inspect` reports for the same files in one process.
    """
    files, sources = _shard_paths(source)
    futures = client.map(summarize_shard, files, reading=reading, pure=False)
    summaries = _run(client, futures, "pass 1", progress)
    return merge(sources, summaries, reading, options, strict)


def inspect_on_cluster(
    source: Source | Any,
    scheduler: str,
    *,
    reading: Reading = Reading(),
    strict: bool = False,
    progress: Progress = _no_progress,
    told: Callable[[str], None] = lambda text: None,
) -> Report:
    """``lstmprep inspect --scheduler``: :func:`inspect_shards` on a fresh connection."""
    with connect(scheduler) as client:
        told(describe(client))
        return inspect_shards(
            source, client, reading=reading, strict=strict, progress=progress
        ).report


# --- pass 2 --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Padding:
    """What every shard is padded with (from pass 1 and pad's options)."""

    maxlen: int
    padding: str
    truncating: str
    value: float
    dtype: str
    ids: bool


def pad_shard(path: str, reading: Reading, how: Padding) -> np.ndarray:
    """(on a worker) One shard read again and padded: ``(n, T, F)`` (token ids ``(n, T)``)."""
    dataset = read_shard(Path(path), **reading.shard_options())
    x, _ = pad_ragged(
        dataset.ragged,
        how.maxlen,
        padding=how.padding,
        truncating=how.truncating,
        value=how.value,
        dtype=how.dtype,
    )
    return x[:, :, 0] if how.ids else x


def padding_of(first: Pass1, options: PadOptions) -> Padding:
    dataset = replace(first.dataset, ragged=first.dataset.ragged)
    return Padding(
        maxlen=options.resolve_maxlen(first.lengths),
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=tokens.output_dtype(dataset, options),
        ids=dataset.kind == "tokens",
    )


def padded_array(first: Pass1, how: Padding, reading: Reading = Reading()) -> Any:
    """Pass 2, lazily: the padded tensor as a :mod:`dask.array`, one block per shard (in
    input order), each block padded on a worker when computed."""
    dask, _ = import_dask()
    import dask.array as da

    features = first.dataset.ragged.n_features
    blocks = []
    for path, rows in zip(first.files, first.rows, strict=True):
        shape = (rows, how.maxlen) if how.ids else (rows, how.maxlen, features)
        task = dask.delayed(pad_shard, pure=True)(path, reading, how)
        blocks.append(da.from_delayed(task, shape=shape, dtype=how.dtype))
    return da.concatenate(blocks, axis=0)


def write_blocks(x: Any, path: Path, rows: int) -> list[Any]:
    """The delayed writes of ``x`` into the store at ``path``, one per chunk of ``rows`` rows
    (so that no two tasks ever write one chunk)."""
    dask, _ = import_dask()
    aligned = x.rechunk({0: rows})
    writes = []
    start = 0
    for block, size in zip(aligned.to_delayed().ravel(), aligned.chunks[0], strict=True):
        region = (slice(start, start + size),)
        writes.append(dask.delayed(_write)(Rows(path), region, block))
        start += size
    return writes


def _write(target: Rows, region: tuple[slice, ...], block: np.ndarray) -> int:
    target[region] = block
    return len(block)


def pad_to_zarr(
    source: Source | Any,
    output: str | Path,
    options: PadOptions = DEFAULTS,
    *,
    client: Any,
    reading: Reading = Reading(),
    force: bool = False,
    progress: Progress = _no_progress,
) -> PadSummary:
    """Pad the shards of ``source`` on the cluster into the Zarr store ``output``.

    Pass 1 (:func:`inspect_shards`), then pass 2 (:func:`padded_array`) written chunk by
    chunk. Data with errors is refused (:class:`RefusedData`, exit 1) before anything is
    written; the store appears under its name only once complete.
    """
    output = Path(output)
    if not is_zarr(output):
        raise UsageError(
            f"with --scheduler the output is a Zarr store, ending in .zarr, not "
            f"{output.suffix or '(nothing)'!r}",
            path=str(output),
            hint=f"write {output.with_suffix('.zarr').name}",
        )
    if options.bucketed:
        raise UsageError(
            "length buckets are not written to .zarr",
            path=str(output),
            hint="drop --buckets, or pad without --scheduler into an .npz",
        )
    files, sources = _shard_paths(source)
    labels = Path(reading.labels) if reading.labels else None
    inputs_list = [Path(f) for f in files] + ([labels] if labels else [])
    check_destination(output, force=force, inputs=inputs_list, folder=True)
    inputs = watch_inputs(inputs_list)

    first = inspect_shards(source, client, reading=reading, options=options, progress=progress)
    dataset, report = first.dataset, first.report
    dataset = replace(dataset, sources=tuple(map(str, sources)))
    if report.errors:
        raise RefusedData(report, "nothing was written", advice.inspect_command(dataset))

    how = padding_of(first, options)
    kept = np.minimum(first.lengths, how.maxlen)
    features = dataset.ragged.n_features
    itemsize = np.dtype(how.dtype).itemsize
    layout = Layout(
        rows=len(kept),
        maxlen=how.maxlen,
        features=features,
        dtype=how.dtype,
        value=how.value,
        chunk_rows=chunk_rows(list(first.rows), max(1, how.maxlen * features * itemsize)),
        ids=how.ids,
    )
    classify = task_of(first.labels) in ("binary", "multiclass")
    meta = PadMeta(
        maxlen=how.maxlen,
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=how.dtype,
        source=source_meta(dataset, [Path(f) for f in files], lambda p: first.sha256[str(p)]),
        labels=None if labels is None else labels.name,
        classes=classes_of(first.labels) if classify and first.labels is not None else None,
        lstmprep=__version__,
        channels_first=dataset.channels_first,
        kind=dataset.kind,
        vocabulary=tokens.vocabulary_size(dataset.ragged.values, options.value)
        if how.ids
        else None,
    )
    x = padded_array(first, how, reading)
    with atomic_dir(output, inputs=inputs) as tmp:
        create(tmp, layout, meta, kept, first.labels)
        writes = write_blocks(x, tmp, layout.chunk_rows)
        _run(client, client.compute(writes), "pass 2", progress)
    real, cells = int(kept.sum()), len(kept) * how.maxlen
    share = round(float(1 - real / cells), 4) if cells else 0.0
    return PadSummary(
        output=str(output),
        shape=layout.shape,
        dtype=str(np.dtype(how.dtype)),
        maxlen=how.maxlen,
        truncated_sequences=int(np.count_nonzero(first.lengths > kept)),
        dropped_timesteps=int(first.lengths.sum() - real),
        padding_share=share,
        bytes=_size(output),
        labels=first.labels is not None,
        warnings=report.warnings,
        meta=meta,
        next_command=advice.train_command(str(output), kind=dataset.kind_option),
        unbucketed_padding_share=share,
    )


def pad_on_cluster(
    source: Source | Any,
    output: str | Path,
    options: PadOptions,
    scheduler: str,
    *,
    reading: Reading = Reading(),
    force: bool = False,
    progress: Progress = _no_progress,
    told: Callable[[str], None] = lambda text: None,
) -> PadSummary:
    """``lstmprep pad --scheduler``: :func:`pad_to_zarr` on a fresh connection."""
    if not force:  # before starting or reaching a cluster
        check_destination(Path(output), force=False, folder=True)
    with connect(scheduler) as client:
        told(describe(client))
        return pad_to_zarr(
            source, output, options, client=client, reading=reading, force=force, progress=progress
        )


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
