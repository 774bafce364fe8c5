"""Many shards on many machines: ``inspect`` and ``pad`` on a Dask cluster, into Zarr.

The same two passes as one process, with the shards as the unit of work:

- **Pass 1** (:func:`inspect_shards`): each worker summarises its shards (lengths, labels,
  problems with places naming the shard, the file's sha256); the summaries meet on the driver,
  which merges them into the one :class:`~lstmprep.report.Report` that ``inspect`` gives for the
  same files in one process (same codes, counts, stats, percentile ``maxlen``, class order).
  What crosses the network is one value per sequence (lengths, labels), never the timesteps.
  A shard larger than the worker's budget (:func:`worker_budget`) is read in chunks
  (:mod:`lstmprep.readers.chunked`, as one process streams) and kept on the worker's disk
  chunk by chunk: a worker's memory does not grow with its shard.
- **Pass 2** (:func:`padded_array`): the shards padded to the global ``maxlen`` in row blocks
  (a Zarr chunk's worth at most, never two shards) of a lazy :mod:`dask.array` ``(N, T, F)``,
  in input order, each from the timesteps its worker kept (or read again).
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
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, advice, checks, tokens
from .dataset import Dataset, Reported
from .errors import ClusterError, LstmprepError, RefusedData, UsageError
from .inspection import report_of
from .options import DEFAULTS, PadOptions, checking_options
from .output import atomic_dir, check_destination, watch_inputs
from .padded_file import PadMeta, sha256, source_meta
from .padded_zarr import INSTALL, Layout, Rows, chunk_rows, create, is_zarr
from .padding import pad_ragged
from .pipeline import PadSummary
from .ragged import Ragged
from .readers import ReadOptions, Source, read_file, read_labels_of
from .readers.chunked import Chunk, ChunkedRead, Unsorted
from .readers.files import expand
from .readers.samples import PER_SAMPLE, SHARDS, all_2d_npy, shard_labels, shards_notes
from .report import ProblemLog, Report
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


#: the environment Dask's nannies start their worker processes with
SPAWN_ENVIRON = "distributed.nanny.pre-spawn-environ"


def _spawn_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """The workers' environment for ``local``: Dask's, without its ``MALLOC_TRIM_THRESHOLD_``.

    Setting it switches off glibc's dynamic mmap threshold: every array past 128 KB is then
    mapped afresh and unmapped when freed, so each chunk read and each block padded touches
    new pages again — on this kind of machine, ~60 % more CPU for the two passes than the
    same work with glibc's defaults (those of one process, and of ``lstmprep`` itself). A
    worker's peak stays set by its budget. The variable in this process's environment (the
    user's, or put there by an earlier Dask cluster in this process) still reaches them."""
    return {k: v for k, v in environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}


@contextmanager
def connect(scheduler: str) -> Iterator[Any]:
    """A :class:`distributed.Client` on ``scheduler``: ``local[:N]`` starts a LocalCluster of
    N worker processes (one thread each; N defaults to the cores), anything else is the
    address of a running scheduler (``tcp://host:8786``). Closed (and the local cluster
    stopped) on the way out."""
    dask, distributed = import_dask()
    where, workers = parse_scheduler(scheduler)
    if where == LOCAL:
        with dask.config.set({SPAWN_ENVIRON: _spawn_environ(dask.config.get(SPAWN_ENVIRON))}):
            cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # a free port (None: 8787, maybe taken)
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
    log = logging.getLogger("distributed.client")
    level = log.level
    log.setLevel(logging.CRITICAL)  # a lost scheduler: the ClusterError says it, once
    try:
        yield client
    finally:
        client.close()
        log.setLevel(level)


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
    is, a worker's failure to read or write a file (:class:`OSError`) is a ClusterError."""
    _, distributed = import_dask()
    total, done = len(futures), 0
    progress(phase, 0, total)
    try:
        for future in distributed.as_completed(futures):
            if future.status == "error":
                error = future.exception()
                if isinstance(error, OSError) and not isinstance(error, LstmprepError):
                    raise _worker_failed(error)
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


def _stop(client: Any, futures: list[Any], wait: float = 30.0) -> None:
    """Cancel ``futures`` and wait (at most ``wait`` seconds) until none of their tasks still
    runs on a worker, so that nothing writes into a store about to be removed. Without a
    scheduler there is nothing to ask: the writes check that the store is still there."""
    import time

    keys = {f.key for f in futures}
    try:
        client.cancel(futures)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            running = {k for tasks in client.run(_executing).values() for k in tasks}
            if not keys & running:
                return
            time.sleep(0.1)
    except Exception:
        return


def _executing(dask_worker: Any) -> list[Any]:
    """(on each worker) The keys of the tasks it is running now."""
    return [task.key for task in dask_worker.state.executing]


def _worker_failed(error: OSError) -> ClusterError:
    return ClusterError(
        f"a Dask worker could not read or write a file: {type(error).__name__}: {error}",
        hint="the workers must see the shards and the output's folder at the same paths as "
        "this machine (a shared file system)",
    )


def _gone(client: Any, error: BaseException) -> ClusterError:
    return ClusterError(
        f"the Dask scheduler went away during the work ({type(error).__name__})",
        hint="nothing was written; start the scheduler again and run the command again",
    )


# --- pass 1 --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ShardSummary:
    """Pass 1 of one shard, made on a worker and sent to the driver: no timesteps, only what
    is proportional to its number of sequences."""

    path: str
    sha256: str
    #: the shard as its reader read it, without its values (format, notes, problems with
    #: places in the shard, labels, lines, dtype); ``ragged`` is empty
    part: Dataset
    lengths: np.ndarray
    features: int
    rows: int
    #: :func:`lstmprep.checks.scan` of the shard read as each kind it may be ("values",
    #: "tokens"), its sequences numbered from 0 and its problems left to the merge
    scans: dict[str, checks.Summary]
    #: the worker that read it, which keeps its timesteps for pass 2 (:func:`_kept`)
    worker: str | None = None


def worker_budget(limit: int | None) -> int | None:
    """(on a worker) The memory one task of this worker may take: ``limit`` (the driver's
    ``--memory-limit`` / ``$LSTMPREP_MEMORY_LIMIT``) or, as one process decides it, a safe
    share of what the worker may use (its Dask memory limit, its own
    ``$LSTMPREP_MEMORY_LIMIT``, else the memory available) — divided among its threads, which
    run tasks side by side. ``None``: it cannot tell."""
    from .memory import SAFE_SHARE, work_budget

    budget, threads = limit, 1
    try:
        from distributed import get_worker

        worker = get_worker()
        threads = max(1, int(worker.state.nthreads))
        dask_limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
    except (ImportError, ValueError):
        dask_limit = None
    if budget is None:
        budget = work_budget()
        if dask_limit:
            share = int(dask_limit * SAFE_SHARE)
            budget = share if budget is None else min(budget, share)
    return None if budget is None else budget // threads


def _chunk_bytes(path: str, reading: ReadOptions, limit: int | None) -> int | None:
    """(on a worker) The chunk size to read shard ``path`` in, or None to read it whole (it
    fits this worker's budget, or its format is read whole): as one process decides
    (:func:`lstmprep.streaming.plan`), with the worker's budget."""
    from .readers.chunked import streamable
    from .streaming import chunk_size, in_memory_need

    budget = worker_budget(limit)
    paths = [Path(path)]
    if budget is None or in_memory_need(paths) <= budget or streamable(paths, reading):
        return None
    return chunk_size(budget)


def summarize_shard(
    path: str,
    index: int,
    reading: ReadOptions,
    options: PadOptions | None,
    several: bool,
    keep: str | None = None,
    limit: int | None = None,
) -> ShardSummary:
    """(on a worker) Pass 1 of shard ``index`` of the files (``several``: read as shards of
    one dataset): read it, and scan it checking against ``options`` (None: inspect's).

    A shard larger than the worker's budget (:func:`worker_budget` of ``limit``) is read in
    chunks (:mod:`lstmprep.readers.chunked`, as one process streams), each scanned and
    forgotten: the worker's memory does not grow with the shard's timesteps.

    With the kind left to the data, a shard is scanned as values, and also as token ids when
    it may be ids (one feature): which one the whole data is, only the merge can tell.
    ``keep``: keep the timesteps on this worker for pass 2 under this tag, written chunk by
    chunk.
    """
    chunk_bytes = _chunk_bytes(path, reading, limit)
    if chunk_bytes is not None:
        summary = _summarize_chunks(path, index, reading, options, several, keep, chunk_bytes)
        if summary is not None:
            return summary
    part = read_file(Path(path), reading)
    chunk = Chunk(part, 0, 0, 0)
    scanner = _Scanner(path, index, reading, options, several, keep)
    scanner.add(chunk)
    empty = Ragged(np.empty((0, part.ragged.n_features)), np.zeros(0, dtype=np.int64))
    # value_lines kept: a CSV's line of each timestep
    return scanner.summary(replace(part, ragged=empty))


class _Scanner:
    """(on a worker) Pass 1 of one shard, chunk after chunk: the scans (one per kind it may
    be), the reader's problems, the lengths, and its timesteps kept for pass 2."""

    def __init__(
        self,
        path: str,
        index: int,
        reading: ReadOptions,
        options: PadOptions | None,
        several: bool,
        keep: str | None,
    ):
        self.path, self.index, self.reading, self.several = path, index, reading, several
        self.options, self.keep = options, keep
        self.scans: dict[str, checks.Summary] = {}
        self.kinds: tuple[str, ...] = ()
        self.lengths: list[np.ndarray] = []
        self.log = ProblemLog()
        self.features: int | None = None
        self.keeper: _Keeper | None = None

    def add(self, chunk: Chunk) -> None:
        from .streaming import same_features

        part = chunk.dataset
        ragged = part.ragged
        if not self.kinds:  # the first chunk: what every chunk is scanned as
            self.options = self.options or (
                DEFAULTS if self.several else checking_options(part.meta)
            )
            kind = self.reading.kind or (None if self.several else part.kind)
            kinds = (kind,) if kind else ("values", "tokens")
            self.kinds = tuple(
                k for k in kinds if k == "values" or ragged.n_features == 1 or len(kinds) == 1
            )
            if self.keep is not None:
                dtype = _kept_dtype(ragged, kind, self.options)
                self.keeper = _Keeper.start(self.path, self.reading, self.keep, dtype)
        self.features = same_features(chunk, self.features)
        self.log.extend(part.problems)
        scanned = replace(
            part,
            problems=(),  # the merge places them, as the reader of several files does
            ids=None if self.several else part.ids,  # shards keep no table ids (as read())
            value_lines=None,
            file_of=np.full(len(ragged), self.index, dtype=np.int64) if self.several else None,
        )
        assert self.options is not None
        for k in self.kinds:
            s = checks.scan(replace(scanned, kind=k), self.options, chunk.start)
            self.scans[k] = self.scans[k].merge(s) if k in self.scans else s
        self.lengths.append(ragged.lengths)
        if self.keeper is not None:
            self.keeper.add(ragged)

    def summary(self, part: Dataset) -> ShardSummary:
        """The shard's summary; ``part``: the shard as read, without its values."""
        lengths = np.concatenate(self.lengths)
        scans = self.scans
        if part.lines is not None:  # a line per sequence, as the whole file's reader gives
            scans = {
                k: replace(s, columns={**s.columns, "lines": part.lines}) for k, s in scans.items()
            }
        return ShardSummary(
            self.path,
            sha256(Path(self.path)),
            part,
            lengths,
            part.ragged.n_features,
            int(lengths.sum()),
            scans,
            self.keeper.finish(lengths) if self.keeper is not None else None,
        )


def _shard_chunks(
    path: str, reading: ReadOptions, chunk_bytes: int, unsorted: bool = False
) -> ChunkedRead:
    """A shard's chunks, without the labels file and the kind (the whole data's: the merge
    applies them); ``unsorted``: a long table read by partitions (else it may raise
    :class:`Unsorted`)."""
    return ChunkedRead(path, replace(reading, labels=None, kind=None), None, chunk_bytes, unsorted)


def _summarize_chunks(
    path: str,
    index: int,
    reading: ReadOptions,
    options: PadOptions | None,
    several: bool,
    keep: str | None,
    chunk_bytes: int,
) -> ShardSummary | None:
    """Pass 1 of a shard read in chunks (None: it has none, read it whole)."""
    for unsorted in (False, True):  # a long table's sequences not together: by partitions
        # the labels file and the kind are the whole data's: the merge applies them
        read = _shard_chunks(path, reading, chunk_bytes, unsorted)
        scanner = _Scanner(path, index, reading, options, several, keep)
        reader_kind = None
        try:
            for chunk in read:
                if not scanner.kinds:
                    reader_kind = chunk.dataset.kind
                scanner.add(chunk)
        except Unsorted:
            continue
        break
    if not scanner.kinds:
        return None
    lengths = np.concatenate(scanner.lengths)
    outline = read.outline(lengths, scanner.features or 0, "values")
    problems = tuple(scanner.log.problems())
    return scanner.summary(replace(outline, kind=reader_kind, kind_option=None, problems=problems))


# Pass 2 reads each shard's timesteps from where the worker that read it in pass 1 kept them:
# in the worker's own scratch folder (Dask's local directory, removed with the worker), written
# chunk by chunk, memory-mapped by pass 2's row blocks, which run on that worker when they can.
# A shard's file changed since (size, time), another worker, a worker restarted: the shard is
# read again (in chunks) and kept on this worker.


def _kept(path: str, reading: ReadOptions, tag: str = "") -> Path | None:
    """Where this worker keeps shard ``path``'s timesteps under ``tag`` (pass 1's: the run's;
    pass 2's: the dtype they are kept as), as ``SHARD-VERSION.TAG`` (None: not on a worker):
    SHARD names the file and how it is read, VERSION its size and time."""
    try:
        from distributed import get_worker

        folder = Path(get_worker().local_directory) / "lstmprep"
    except (ImportError, ValueError):
        return None
    info = os.stat(path)
    version = _digest(f"{info.st_size}|{info.st_mtime_ns}")
    return folder / f"{_shard_key(path, reading)}-{version}.{tag}"


def _shard_key(path: str, reading: ReadOptions) -> str:
    return _digest(f"{os.path.abspath(path)}|{reading!r}")


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _kept_dtype(ragged: Ragged, kind: str | None, options: PadOptions) -> str:
    """The dtype to keep a shard's values in: pad's output dtype when it is known already
    (values, not token ids, whose dtype depends on every id) — casting now or when padding
    gives the same numbers — else as read."""
    values = kind == "values" or (kind is None and ragged.n_features > 1)
    return options.dtype or "float32" if values else str(ragged.values.dtype)


#: the files of one kept shard: its values (raw, appended chunk by chunk), and its index
#: (lengths, and an empty array of the values' dtype and features), written last
_VALUES, _INDEX = ".values", ".index.npz"


class _Keeper:
    """A shard's timesteps written to this worker's scratch folder chunk by chunk."""

    def __init__(self, where: Path, dtype: str):
        self.where, self.dtype = where, np.dtype(dtype)
        self.features: int | None = None
        where.parent.mkdir(exist_ok=True)
        self.file = open(f"{where}{_VALUES}.partial", "wb")  # noqa: SIM115 - finish() closes

    @classmethod
    def start(cls, path: str, reading: ReadOptions, tag: str, dtype: str) -> _Keeper | None:
        where = _kept(path, reading, tag)
        try:
            return None if where is None else cls(where, dtype)
        except OSError:
            return None

    def add(self, ragged: Ragged) -> None:
        if self.file.closed:
            return
        self.features = ragged.n_features
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # as pad casts (--allow-lossy)
                ragged.values.astype(self.dtype, copy=False).tofile(self.file)
        except OSError:  # a full scratch disk: pass 2 reads the shard again
            self.file.close()

    def finish(self, lengths: np.ndarray) -> str | None:
        """The worker's address, once all is written (None: not kept)."""
        from distributed import get_worker

        written = not self.file.closed
        self.file.close()
        values = f"{self.where}{_VALUES}"
        try:
            if not written:
                raise OSError
            os.replace(f"{values}.partial", values)
            form = np.empty((0, self.features or 0), self.dtype)
            with open(f"{self.where}{_INDEX}.partial", "wb") as f:
                np.savez(f, lengths=lengths, form=form)
            os.replace(f"{self.where}{_INDEX}.partial", f"{self.where}{_INDEX}")
        except OSError:
            for name in (f"{values}.partial", values, f"{self.where}{_INDEX}.partial"):
                with suppress(OSError):
                    os.unlink(name)
            return None
        return str(get_worker().address)


def _take(path: str, reading: ReadOptions, tag: str | None) -> Ragged | None:
    """The shard's timesteps as kept on this worker under ``tag`` (memory-mapped), or None."""
    where = None if tag is None else _kept(path, reading, tag)
    if where is None:
        return None
    try:
        with np.load(f"{where}{_INDEX}") as index:
            lengths, form = index["lengths"], index["form"]
        rows = int(lengths.sum())
        if not rows:
            return Ragged(np.empty((0, form.shape[1]), form.dtype), lengths)
        values = np.memmap(f"{where}{_VALUES}", form.dtype, "r", shape=(rows, form.shape[1]))
    except (OSError, ValueError, KeyError):
        return None
    return Ragged(values, lengths)


def _drop(files: list[str], reading: ReadOptions, dask_worker: Any) -> None:
    """(on each worker, by ``client.run``) Remove what pass 1 or 2 kept of ``files`` (absolute
    paths), of any version, under any tag; the folder too once empty."""
    folder = Path(dask_worker.local_directory) / "lstmprep"
    for path in files:
        for kept in folder.glob(f"{_shard_key(path, reading)}-*"):
            with suppress(OSError):
                kept.unlink()
    with suppress(OSError):
        folder.rmdir()


def release_shards(source: Source | Any, client: Any, reading: ReadOptions | None = None) -> None:
    """Remove what the workers keep of the shards of ``source`` (read with ``reading``) in
    their scratch folders, for :func:`pad_shards`'s array: once it is computed (or stored)
    as far as needed. Computing it again after reads the shards again. Without this they
    stay until the workers stop. :func:`pad_to_zarr` releases its own."""
    files, _, _ = _shard_paths(source)
    _release(client, files, reading or ReadOptions())


def _release(client: Any, files: list[str], reading: ReadOptions) -> None:
    client.run(_drop, [os.path.abspath(f) for f in files], reading)


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
    #: the whole dataset without its values (:func:`lstmprep.checks.outline`)
    dataset: Dataset
    #: what the checks learnt of all the values (token ids, the smallest value…)
    facts: checks.Facts
    sha256: dict[str, str]
    #: the worker that keeps each shard's timesteps for pass 2 (None: read again)
    workers: tuple[str | None, ...] = ()
    #: the tag they keep them under
    kept: str | None = None


def merge(
    sources: Sequence[str | Path],
    several: bool,
    shards: list[ShardSummary],
    reading: ReadOptions,
    options: PadOptions | None,
    strict: bool,
    scheduler: str | None = None,
) -> Pass1:
    """(on the driver) The shards' summaries merged into the report of the whole dataset,
    as :func:`lstmprep.readers.read` of the same files and :func:`lstmprep.inspect` give it:
    the shards concatenated in order (reader problems named by their file, a shard of other
    features reported), the labels file, the kind decided on the whole. ``options``: pad's
    (places located only for errors), or None: inspect's (every place located).
    ``scheduler``: the ``--scheduler`` that suggested commands repeat (None: one process's)."""
    locate = None if options is not None else True
    if options is None:
        meta = None if several else shards[0].part.meta
        options = checking_options(meta)
    paths = [Path(s.path) for s in shards]
    # the width most rows have; a shard of another width is reported, its rows unreadable
    widths = Counter[int]()
    for shard in shards:
        widths[shard.features] += shard.rows
    width = widths.most_common(1)[0][0]
    log = ProblemLog()
    start = 0
    for shard in shards:
        name = Path(shard.path).name
        for p in shard.part.problems:
            places = [replace(q, sequence=_shift(q.sequence, start)) for q in p.places]
            message = f"{name}: {p.message}" if several else p.message
            log.add_many(p.code, message, places, p.count)
        if shard.features != width:
            log.add(
                "feature-mismatch",
                f"sequence {start} ({name}): the timesteps of {name} have {shard.features} "
                f"features; the other files have {width}: give every file the same features",
                start,
                0,
                count=shard.rows,
            )
        start += len(shard.lengths)
    parts = [s.part for s in shards]
    labels = shard_labels(paths, [p.labels for p in parts], log) if several else parts[0].labels
    first = parts[0]
    dtypes = {p.dtype for p in parts}
    if several:
        notes = shards_notes(paths, [p.notes for p in parts], chosen=bool(reading.layout))
        shown = (
            str(sources[0]) if len(sources) == 1 else f"{sources[0]} and {len(sources) - 1} more"
        )
        template = Dataset(
            shown,
            first.format,
            first.ragged,
            notes=notes,
            dtype=dtypes.pop() if len(dtypes) == 1 else "mixed",
            files=tuple(map(str, paths)),
            layout=reading.layout,
            sources=tuple(map(str, sources)),
        )
    else:
        template = replace(first, layout=reading.layout)
    applied = SHARDS if several else None
    template = read_labels_of(replace(template, labels=labels), reading, applied)

    kind = reading.kind or (None if several else first.kind)
    scans = [_as_read(s, width, k, options) for s in shards for k in [kind or "values"]]
    merged = checks.merge(_numbered(scans, shards))
    if kind is None:  # the data decides, on all of it
        kind = merged.facts.kind()
        if kind == "tokens":
            scans = [_as_read(s, width, kind, options) for s in shards]
            merged = checks.merge(_numbered(scans, shards))
            template = replace(template, notes=template.notes + (tokens.DETECTED,))
    merged = replace(merged, problems=tuple(log.problems()), labels=None)
    template = replace(template, kind=kind, kind_option=reading.kind, scheduler=scheduler)
    whole = checks.outline(merged, template)
    lines = [s.part.value_lines for s in shards]
    if all(v is not None for v in lines):  # a table's line of each timestep, for the places
        whole = replace(whole, value_lines=_ValueLines(lines, [s.rows for s in shards]))  # type: ignore[arg-type]
    report = report_of(merged, whole, strict=strict, options=options, locate=locate)
    return Pass1(
        report,
        tuple(s.path for s in shards),
        tuple(len(s.lengths) for s in shards),
        merged.lengths,
        whole.labels,
        whole,
        merged.facts,
        {s.path: s.sha256 for s in shards},
        tuple(s.worker for s in shards),
    )


class _ValueLines:
    """The line of each timestep of the shards one after the other, indexed by flat row as
    :attr:`Dataset.value_lines` is: each shard's are an array (read whole) or a
    :class:`~lstmprep.readers.chunked.RowLines` (read in chunks)."""

    def __init__(self, parts: list[Any], rows: list[int]):
        self.parts, self.offsets = parts, np.cumsum([0, *rows])

    def __getitem__(self, row: int) -> int:
        shard = int(np.searchsorted(self.offsets, row, side="right")) - 1
        return int(self.parts[shard][row - int(self.offsets[shard])])


def _as_read(shard: ShardSummary, width: int, kind: str, options: PadOptions) -> checks.Summary:
    """The shard's scan as the whole is read: as ``kind``, its rows unreadable when its
    features are not the others' (scanned here: it holds only NaN, an error case)."""
    if shard.features == width and kind in shard.scans:
        return shard.scans[kind]
    lengths = shard.lengths
    unread = Dataset(
        shard.path,
        shard.part.format,
        Ragged(np.full((shard.rows, width), np.nan), lengths),
        reported=Reported(rows=np.arange(shard.rows)),
        kind=kind,
        lines=shard.part.lines,
        file_of=next(iter(shard.scans.values())).columns.get("file_of"),
    )
    return checks.scan(unread, options)


def _numbered(scans: list[checks.Summary], shards: list[ShardSummary]) -> list[checks.Summary]:
    """The shards' scans with their sequences numbered as in the whole (they were scanned
    from 0 each, not knowing how many sequences came before)."""
    numbered, start = [], 0
    for summary in scans:
        numbered.append(_shifted(summary, start))
        start += len(summary.lengths)
    return numbered


def _shifted(summary: checks.Summary, offset: int) -> checks.Summary:
    found = {
        name: replace(f, places=tuple((_shift(s, offset), t) for s, t in f.places))
        for name, f in summary.found.items()
    }
    return replace(
        summary, start=summary.start + offset, reported=summary.reported + offset, found=found
    )


def _shift(sequence: int | None, offset: int) -> int | None:
    return None if sequence is None else sequence + offset


def _limit() -> int | None:
    """The driver's ``--memory-limit`` / ``$LSTMPREP_MEMORY_LIMIT`` in bytes, the budget of
    every worker's tasks (None: each worker takes a safe share of its own memory)."""
    from .memory import MEMORY_LIMIT_ENV, parse_size

    text = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    return parse_size(text, MEMORY_LIMIT_ENV) if text else None


def _shard_paths(source: Source | Any) -> tuple[list[str], list[str | Path], bool]:
    """The shard files of ``source`` (a path, several, a folder, a glob, or a
    :class:`dask.bag.Bag` of paths), the sources as the user gave them, and whether they are
    several files' worth (read as shards) as :func:`lstmprep.readers.read` decides."""
    if type(source).__module__.startswith("dask.bag"):
        bag: Any = source
        source = [str(p) for p in bag.compute()]
    sources = [source] if isinstance(source, (str, Path)) else list(source)
    files, several = expand(sources)
    return [str(p) for p in files], sources, several


def inspect_shards(
    source: Source | Any,
    client: Any,
    reading: ReadOptions | None = None,
    *,
    strict: bool = False,
    options: PadOptions | None = None,
    progress: Progress = _no_progress,
    keep: str | None = None,
    scheduler: str | None = None,
) -> Pass1:
    """Pass 1 on the cluster: each shard summarised on a worker, the summaries merged here.

    ``source``: a file, several, a folder, a glob, or a :class:`dask.bag.Bag` of paths; each
    file is a shard. ``options``: pad's options to check against (None: inspect's).
    ``.report`` is what :func:`lstmprep.inspect` reports for the same files in one process.
    ``keep``: the workers keep each shard's timesteps for pass 2 (:func:`pad_rows`) under this
    tag (one per run), so that it need not read the shards again. ``scheduler``: the
    ``--scheduler`` that the report's suggested commands repeat (None: as one process
    suggests them, so that the report equals one process's).
    """
    reading = reading or ReadOptions()
    files, sources, several = _shard_paths(source)
    stores = [f for f in files if is_zarr(f)]
    if stores:
        raise UsageError(
            "a padded Zarr store is pad's output, read in one process, not shards for a cluster",
            path=stores[0],
            hint=f"run `{advice.command('inspect', stores[0])}`",
        )
    if reading.layout == PER_SAMPLE or (
        several and not reading.layout and all_2d_npy([Path(f) for f in files])
    ):
        raise UsageError(
            "one sequence per file is not read on a cluster: its unit of work is a shard of "
            "many sequences",
            hint="pass --shards if each file holds many sequences, or run without --scheduler",
        )
    futures = client.map(
        summarize_shard,
        [os.path.abspath(f) for f in files],  # workers may run in other folders
        range(len(files)),
        reading=reading,
        options=options,
        several=several,
        keep=keep,
        limit=_limit(),
        pure=False,
    )
    shards = _run(client, futures, "pass 1", progress)
    shards = [replace(s, path=f) for s, f in zip(shards, files, strict=True)]  # as given
    merged = merge(sources, several, shards, reading, options, strict, scheduler)
    return replace(merged, kept=keep)


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


def pad_rows(
    path: str,
    reading: ReadOptions,
    how: Padding,
    first: int,
    last: int,
    limit: int | None = None,
    kept: str | None = None,
    whole: bool = False,
) -> np.ndarray:
    """(on a worker) Sequences ``first``–``last`` of one shard padded: ``(n, T, F)`` (token ids
    ``(n, T)``), from the timesteps kept on this worker (by pass 1 under the tag ``kept``, or
    now: the shard read again in chunks and kept, for the shard's other row blocks).
    ``whole``: the block is the whole shard, padded as read when it fits the budget."""
    ragged = _take(path, reading, kept)
    if ragged is None:
        ragged = _take(path, reading, how.dtype)
    if ragged is None and whole and _chunk_bytes(path, reading, limit) is None:
        ragged = read_file(Path(path), reading).ragged  # no other block to keep it for
    if ragged is None:
        ragged = _keep_again(path, reading, how, limit)
    if ragged is None:  # not on a worker, or no room in its scratch folder
        ragged = read_file(Path(path), reading).ragged
    offsets = ragged.offsets
    rows = Ragged(ragged.values[offsets[first] : offsets[last]], ragged.lengths[first:last])
    x, _ = pad_ragged(
        rows,
        how.maxlen,
        padding=how.padding,
        truncating=how.truncating,
        value=how.value,
        dtype=how.dtype,
    )
    return x[:, :, 0] if how.ids else x


#: one shard kept at a time by the threads of one worker
_KEEPING = threading.Lock()


def _keep_again(path: str, reading: ReadOptions, how: Padding, limit: int | None) -> Ragged | None:
    """(on a worker) Read the shard again, in chunks when it does not fit the budget, and keep
    its timesteps on this worker (as ``how.dtype``, the cast padding makes); None: no room."""
    with _KEEPING:
        ragged = _take(path, reading, how.dtype)  # another thread kept it meanwhile
        if ragged is not None:
            return ragged
        keeper = _Keeper.start(path, reading, how.dtype, how.dtype)
        if keeper is None:
            return None
        chunk_bytes = _chunk_bytes(path, reading, limit)
        lengths: list[np.ndarray] = []
        parts: Any = [Chunk(read_file(Path(path), reading), 0, 0, 0)]
        if chunk_bytes is not None:
            parts = _shard_chunks(path, reading, chunk_bytes)
        try:
            for chunk in parts:
                keeper.add(chunk.dataset.ragged)
                lengths.append(chunk.dataset.ragged.lengths)
        except Unsorted:  # a long table's sequences not together: again, by partitions
            assert chunk_bytes is not None  # only a read in chunks raises it
            keeper = _Keeper.start(path, reading, how.dtype, how.dtype)
            if keeper is None:
                return None
            lengths = []
            for chunk in _shard_chunks(path, reading, chunk_bytes, unsorted=True):
                keeper.add(chunk.dataset.ragged)
                lengths.append(chunk.dataset.ragged.lengths)
        if not lengths:  # no chunk: an empty shard
            ragged = read_file(Path(path), reading).ragged
            keeper.add(ragged)
            lengths.append(ragged.lengths)
        if keeper.finish(np.concatenate(lengths)) is None:
            return None
        return _take(path, reading, how.dtype)


def padding_of(first: Pass1, options: PadOptions) -> Padding:
    """How pass 2 pads every shard: pad's options resolved on the whole data (the maxlen of
    all the lengths, the dtype of all the token ids)."""
    ids = first.dataset.kind == "tokens"
    dtype = options.dtype or (
        tokens.id_dtype(first.facts.vocabulary_size(options.value)) if ids else "float32"
    )
    return Padding(
        maxlen=options.resolve_maxlen(first.lengths),
        padding=options.padding,
        truncating=options.truncating,
        value=options.value,
        dtype=dtype,
        ids=ids,
    )


def padded_array(
    first: Pass1,
    how: Padding,
    reading: ReadOptions | None = None,
    rows: int | None = None,
) -> Any:
    """Pass 2, lazily: the padded tensor as a :mod:`dask.array` in input order, in blocks of
    at most ``rows`` rows (default: a Zarr chunk's worth, :data:`padded_zarr.CHUNK_BYTES`)
    that never span two shards and are cut at multiples of ``rows`` (so that they fill
    Zarr chunks of ``rows`` rows); each block padded on a worker when computed, on the worker
    that kept its shard's timesteps in pass 1 when it can."""
    dask, _ = import_dask()
    import dask.array as da

    from . import padded_zarr

    features = first.dataset.ragged.n_features
    reading = reading or ReadOptions()
    if rows is None:
        row_bytes = how.maxlen * features * np.dtype(how.dtype).itemsize
        rows = max(1, padded_zarr.CHUNK_BYTES // max(1, row_bytes))
    limit = _limit()
    blocks = []
    start = 0
    for path, count, worker in zip(first.files, first.rows, first.workers, strict=True):
        # where pass 1 kept the shard's timesteps, when that worker is still there
        where = {"workers": [worker], "allow_other_workers": True} if worker else {}
        cuts = [start, *range((start // rows + 1) * rows, start + count, rows), start + count]
        for a, b in zip(cuts, cuts[1:], strict=False):
            shape = (b - a, how.maxlen) if how.ids else (b - a, how.maxlen, features)
            with dask.annotate(**where):
                task = dask.delayed(pad_rows, pure=True)(
                    os.path.abspath(path),
                    reading,
                    how,
                    a - start,
                    b - start,
                    limit,
                    first.kept,
                    whole=(a, b) == (start, start + count),
                )
                blocks.append(da.from_delayed(task, shape=shape, dtype=how.dtype))
        start += count
    return da.concatenate(blocks, axis=0)


def pad_shards(
    source: Source | Any,
    client: Any,
    options: PadOptions = DEFAULTS,
    reading: ReadOptions | None = None,
    *,
    progress: Progress = _no_progress,
) -> tuple[Report, Any]:
    """Both passes, the second lazily: pad's report of the shards (pass 1, done now on the
    cluster) and the padded tensor as a :mod:`dask.array` (pass 2: row blocks of a Zarr
    chunk's worth at most, each within one shard, padded on a worker when computed). Data with
    errors is refused (:class:`RefusedData`).

    ``x[i:j].compute()``, ``x.to_zarr(…)``, ``da.store`` or any Dask computation reads the
    shards again where they run (in chunks past the worker's budget). A shard of several
    blocks is kept in the worker's scratch folder for its other blocks, until
    :func:`release_shards` (or the worker stops); a shard of one block is padded as read
    and leaves nothing behind.
    """
    first = inspect_shards(source, client, reading, options=options, progress=progress)
    if first.report.errors:
        inspect = advice.inspect_command(first.dataset)
        raise RefusedData(first.report, "nothing was padded", inspect)
    return first.report, padded_array(first, padding_of(first, options), reading)


def write_blocks(x: Any, path: Path, rows: int) -> list[Any]:
    """The delayed writes of ``x`` into the store at ``path``, one per chunk of ``rows`` rows
    (so that no two tasks ever write one chunk)."""
    dask, _ = import_dask()
    aligned = x.rechunk({0: rows})
    writes = []
    start = 0
    blocks = aligned.to_delayed(optimize_graph=False).ravel()  # keeps the workers annotated
    for block, size in zip(blocks, aligned.chunks[0], strict=True):
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
    reading: ReadOptions | None = None,
    force: bool = False,
    progress: Progress = _no_progress,
    scheduler: str | None = None,
) -> PadSummary:
    """Pad the shards of ``source`` on the cluster into the Zarr store ``output``.

    Pass 1 (:func:`inspect_shards`), then pass 2 (:func:`padded_array`) written chunk by
    chunk. Data with errors is refused (:class:`RefusedData`, exit 1) before anything is
    written; the store appears under its name only once complete. What the workers kept of
    the shards is removed when it returns or fails. ``scheduler``: the ``--scheduler`` that
    suggested commands repeat.
    """
    output = Path(output)
    _check_output(output, options)
    reading = reading or ReadOptions()
    files, _, _ = _shard_paths(source)
    inputs_list = reading.inputs([Path(f) for f in files])
    check_destination(output, force=force, inputs=inputs_list, folder=True)
    inputs = watch_inputs(inputs_list)

    try:
        return _pad_to_zarr(
            source, output, options, client, reading, progress, files, inputs, scheduler
        )
    finally:  # done or failed: what the workers kept (they cannot be told once it is gone)
        with suppress(Exception):  # (a shard removed meanwhile is no reason to keep the rest)
            _release(client, files, reading)


def _check_output(output: Path, options: PadOptions) -> None:
    """A usage error unless pad on a cluster can write ``output`` with ``options``."""
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


def _pad_to_zarr(
    source: Source | Any,
    output: Path,
    options: PadOptions,
    client: Any,
    reading: ReadOptions,
    progress: Progress,
    files: list[str],
    inputs: Any,
    scheduler: str | None,
) -> PadSummary:
    import uuid

    keep = uuid.uuid4().hex  # this run's: what another run kept is not taken
    first = inspect_shards(
        source, client, reading, options=options, progress=progress, keep=keep, scheduler=scheduler
    )
    dataset, report = first.dataset, first.report
    labels = Path(reading.labels) if reading.labels else None
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
        vocabulary=first.facts.vocabulary_size(options.value) if how.ids else None,
    )
    x = padded_array(first, how, reading, layout.chunk_rows)
    with atomic_dir(output, inputs=inputs) as tmp:
        tmp = Path(os.path.abspath(tmp))  # the workers may run in other folders
        create(tmp, layout, meta, kept, first.labels)
        writes = client.compute(write_blocks(x, tmp, layout.chunk_rows))
        try:
            _run(client, writes, "pass 2", progress)
        except BaseException:  # Ctrl-C, a signal, an error: no write after the store is gone
            _stop(client, writes)
            raise
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
    reading: ReadOptions | None = None,
    *,
    force: bool = False,
    progress: Progress = _no_progress,
    told: Callable[[str], None] = lambda text: None,
) -> PadSummary:
    """``lstmprep pad --scheduler``: :func:`pad_to_zarr` on a fresh connection."""
    _check_output(Path(output), options)  # before starting or reaching a cluster
    if not force:
        check_destination(Path(output), force=False, folder=True)
    with connect(scheduler) as client:
        told(describe(client))
        return pad_to_zarr(
            source,
            output,
            options,
            client=client,
            reading=reading,
            force=force,
            progress=progress,
            scheduler=scheduler,
        )


def inspect_on_cluster(
    source: Source | Any,
    scheduler: str,
    reading: ReadOptions | None = None,
    *,
    strict: bool = False,
    progress: Progress = _no_progress,
    told: Callable[[str], None] = lambda text: None,
) -> Report:
    """``lstmprep inspect --scheduler``: :func:`inspect_shards` on a fresh connection."""
    with connect(scheduler) as client:
        told(describe(client))
        first = inspect_shards(
            source, client, reading, strict=strict, progress=progress, scheduler=scheduler
        )
        return first.report


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
