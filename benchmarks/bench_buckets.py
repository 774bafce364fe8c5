"""Length buckets on sample_data/sensors.json: padding share, and train's time per epoch.

The anchor is the single padded tensor (``pad`` without buckets), trained in the same process
with the same options; the floor of the padding share is what the least-padding boundaries
reach (exact over the distinct lengths). Both ``.npz`` files are trained as ``lstmprep train``
trains them, memory-mapped; the source JSON itself (read and padded in memory) is timed too, to
show that reading the batches from the mapped file costs nothing per epoch. The three are
timed in turn, round after round, so that the load of the machine touches each alike. So is
the single tensor as Keras trains ``pad_sequences``' output (``model.fit(x)``: every batch at
the tensor's full width), the anchor outside lstmprep.

On this small data an epoch's time follows the timesteps the LSTM steps through one after the
other (the sum of each batch's longest sequence; a step costs about the same at 3 rows as at
32). So the benchmark also counts them: for lstmprep's batches, for the least any batching of
the buckets can have (batches of at most ``batch_size``, never across buckets: cutting each
bucket's sorted sequences from the longest down is the least, and is what ``train`` does), for
the least over any 4 boundaries, and for ``tf.data.Dataset.bucket_by_sequence_length`` (its
batches are filled in the shuffled order, one partial batch a bucket; the mean of 20 shuffles).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

import lstmprep
from lstmprep.batches import Batches
from lstmprep.model import Progress
from lstmprep.options import bucket_of

SOURCE = Path(__file__).resolve().parent.parent / "sample_data" / "sensors.json"
EPOCHS = 6
ROUNDS = 3


class Clock(Progress):
    """Each epoch's wall time and the process's CPU time (all threads): on a shared machine
    the CPU time moves less with the other work."""

    def __init__(self) -> None:
        self.starts: list[tuple[float, float]] = []
        self.times: list[tuple[float, float]] = []

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        self.starts.append((time.perf_counter(), time.process_time()))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        wall, cpu = self.starts[-1]
        self.times.append((time.perf_counter() - wall, time.process_time() - cpu))


def per_epoch(path: Path, whole_width: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds per epoch, the medians of all epochs but the first (it traces).
    ``whole_width``: every batch padded to the tensor's full width, as ``model.fit(x)`` feeds
    a padded tensor."""
    clock = Clock()
    with mock.patch.object(Batches, "batch", full_width) if whole_width else _nothing():
        options = lstmprep.TrainOptions(epochs=EPOCHS, seed=0)
        result = lstmprep.train_file(path, options, progress=clock)
    assert result.ok, result.failure
    wall, cpu = np.median(np.array(clock.times[1:]), axis=0)
    return float(wall), float(cpu)


def full_width(
    self: Batches, group: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """A batch as Keras feeds a padded tensor: its rows at the tensor's full width."""
    x = self.padded(group, max(p.x.shape[1] for p in self.parts))
    return (x, self.mask_of(x, group)), self.y[group]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def splits(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, Batches]:
    """The lengths, the training and validation sequences as ``train`` draws them (seed 0),
    and the batch source of ``path``."""
    from lstmprep.padded_file import map_padded
    from lstmprep.train import split

    padded = map_padded(path)
    assert padded is not None
    source = Batches(padded.parts, np.zeros(padded.n_sequences))
    train, validation, _ = split(len(source), None, np.random.default_rng(0), str(path))
    return source.lengths, train, validation, source


def work(path: Path) -> tuple[int, int, int]:
    """What an epoch feeds the LSTM (the same split and batches as ``train``, seed 0):
    batches, sequential steps (the sum of each batch's longest sequence) and cells."""
    lengths, train, validation, source = splits(path)
    groups = source.groups(train) + source.groups(validation)
    longest = [int(lengths[g].max()) for g in groups]
    cells = sum(len(g) * n for g, n in zip(groups, longest, strict=True))
    return len(groups), sum(longest), cells


def least_steps(lengths: np.ndarray, boundaries: tuple[int, ...], size: int = 32) -> int:
    """The fewest LSTM steps any batching of ``lengths`` can take in batches of at most
    ``size`` that never mix the buckets: each bucket's sorted lengths cut from the longest
    down (the longest must lead some batch; the next ``size - 1`` longest cost nothing more
    in it)."""
    total = 0
    for k in np.unique(bucket_of(lengths, boundaries)):
        inside = np.sort(lengths[bucket_of(lengths, boundaries) == k])[::-1]
        total += int(inside[::size].sum())
    return total


def least_any(lengths_sets: list[np.ndarray], k: int, size: int = 32) -> tuple[int, tuple]:
    """The fewest LSTM steps over any ``k`` buckets (boundaries at distinct lengths, every
    bucket holding a sequence) of all ``lengths_sets`` together (training and validation
    share the boundaries): a dynamic programme over the distinct lengths."""
    distinct = np.unique(np.concatenate(lengths_sets))
    m = len(distinct)

    def cost(a: int, b: int) -> int:  # a bucket of the distinct lengths [a, b)
        low, high = distinct[a], distinct[b - 1]
        return sum(
            int(np.sort(s[(s >= low) & (s <= high)])[::-1][::size].sum()) for s in lengths_sets
        )

    table = {(a, b): cost(a, b) for a in range(m) for b in range(a + 1, m + 1)}
    best = {b: (table[0, b], ()) for b in range(1, m + 1)}  # one bucket over [0, b)
    for _ in range(k - 1):
        best = {
            b: min(
                (best[a][0] + table[a, b], (*best[a][1], int(distinct[a])))
                for a in range(1, b)
                if a in best
            )
            for b in range(2, m + 1)
            if any(a in best for a in range(1, b))
        }
    return best[m]


def tf_data_steps(lengths: np.ndarray, ids: np.ndarray, boundaries: tuple, size: int = 32) -> float:
    """The mean LSTM steps of ``bucket_by_sequence_length`` over 20 shuffles of ``ids``:
    each bucket's batches filled in the shuffled order, padded to their longest, the rest of
    each bucket one partial batch at the end (``drop_remainder=False``)."""
    rng = np.random.default_rng(0)
    totals = []
    for _ in range(20):
        order = rng.permutation(ids)
        buckets = bucket_of(lengths[order], boundaries)
        total = 0
        for k in np.unique(buckets):
            inside = lengths[order][buckets == k]
            total += sum(int(inside[i : i + size].max()) for i in range(0, len(inside), size))
        totals.append(total)
    return float(np.mean(totals))


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        return measure(Path(name))


def measure(folder: Path) -> int:
    single = lstmprep.pad_file(SOURCE, folder / "single.npz")
    bucketed = lstmprep.pad_file(SOURCE, folder / "buckets.npz", lstmprep.PadOptions(buckets=4))
    boundaries = bucketed.meta.boundaries
    assert boundaries is not None
    print(
        f"padding share: one tensor {single.padding_share:.1%}, 4 buckets "
        f"{bucketed.padding_share:.1%} (boundaries {boundaries}, the least-padding ones)"
    )
    paths = (folder / "single.npz", folder / "buckets.npz", SOURCE, folder / "single.npz")
    names = (
        "one tensor, memory-mapped .npz",
        "4 buckets, memory-mapped .npz",
        "one tensor, in memory (the JSON)",
        "one tensor at full width (Keras)",
    )
    rounds = []
    for _ in range(ROUNDS):  # the variants in turn, round after round
        rounds.append([per_epoch(path, whole_width=i == 3) for i, path in enumerate(paths)])
    times = np.array(rounds)  # (round, variant, wall/CPU)
    best, median = times.min(axis=0), np.median(times, axis=0)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"train per epoch (median of {EPOCHS - 1} epochs; best and median of {ROUNDS} rounds; "
        f"load average {load}): wall, CPU (all threads)"
    )
    one = best[0]
    for i, name in enumerate(names):
        ratio = "" if i == 0 else f"  {best[i][0] / one[0]:.2f}x, {best[i][1] / one[1]:.2f}x"
        print(
            f"  {name:34s} best {best[i][0] * 1000:4.0f} / {best[i][1] * 1000:4.0f} ms, "
            f"median {median[i][0] * 1000:4.0f} / {median[i][1] * 1000:4.0f} ms{ratio}"
        )
    lengths, train, validation, _ = splits(folder / "single.npz")
    width = int(lengths.max())
    for name, path in (("one tensor", paths[0]), ("4 buckets", paths[1])):
        batches, steps, cells = work(path)
        print(
            f"  {name}: {batches} batches an epoch (training + validation), {steps:,} LSTM "
            f"steps (each batch's longest), {cells:,} cells fed"
        )
    keras = sum(-(-len(ids) // 32) for ids in (train, validation))
    print(f"  one tensor at full width (Keras): {keras} batches, {keras * width:,} steps")
    sets = [lengths[train], lengths[validation]]
    least = sum(least_steps(s, boundaries) for s in sets)
    least_one = sum(least_steps(s, ()) for s in sets)
    anywhere, where = least_any(sets, 4)
    tf_data = sum(tf_data_steps(lengths, ids, boundaries) for ids in (train, validation))
    print(
        f"least LSTM steps an epoch: one tensor {least_one:,}; pad's 4 buckets {least:,} "
        f"({least / least_one:.2f}x); any 4 buckets {anywhere:,} (boundaries {where}); "
        f"tf.data bucket_by_sequence_length, pad's boundaries: {tf_data:,.0f} (mean of 20 "
        f"shuffles)"
    )
    for what, k in (("wall", 0), ("CPU", 1)):
        verdict = "PASS" if best[1][k] <= best[0][k] else "FAIL"
        print(f"target: buckets no slower per epoch than the single tensor ({what}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
