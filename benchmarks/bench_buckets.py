"""Length buckets on sample_data/sensors.json: padding share, and train's time per epoch.

The anchor is the single padded tensor (``pad`` without buckets), trained in the same process
with the same options; the floor of the padding share is what the least-padding boundaries
reach (exact over the distinct lengths). Both ``.npz`` files are trained as ``lstmprep train``
trains them, memory-mapped; the source JSON itself (read and padded in memory) is timed too, to
show that reading the batches from the mapped file costs nothing per epoch. The three are
timed in turn, round after round, so that the load of the machine touches each alike.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import lstmprep
from lstmprep.model import Progress

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


def per_epoch(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds per epoch, the medians of all epochs but the first (it traces)."""
    clock = Clock()
    result = lstmprep.train_file(path, lstmprep.TrainOptions(epochs=EPOCHS, seed=0), progress=clock)
    assert result.ok, result.failure
    wall, cpu = np.median(np.array(clock.times[1:]), axis=0)
    return float(wall), float(cpu)


def work(path: Path) -> tuple[int, int, int]:
    """What an epoch feeds the LSTM (the same split and batches as ``train``, seed 0):
    batches, sequential steps (the sum of each batch's longest sequence) and cells."""
    from lstmprep.batches import Batches
    from lstmprep.padded_file import map_padded
    from lstmprep.train import split

    padded = map_padded(path)
    assert padded is not None
    source = Batches(padded.parts, np.zeros(padded.n_sequences))
    train, validation, _ = split(len(source), None, np.random.default_rng(0), str(path))
    groups = source.groups(train) + source.groups(validation)
    longest = [int(source.lengths[g].max()) for g in groups]
    cells = sum(len(g) * n for g, n in zip(groups, longest, strict=True))
    return len(groups), sum(longest), cells


def main() -> int:
    folder = Path(tempfile.mkdtemp())
    single = lstmprep.pad_file(SOURCE, folder / "single.npz")
    bucketed = lstmprep.pad_file(SOURCE, folder / "buckets.npz", lstmprep.PadOptions(buckets=4))
    print(
        f"padding share: one tensor {single.padding_share:.1%}, 4 buckets "
        f"{bucketed.padding_share:.1%} (boundaries {bucketed.meta.boundaries})"
    )
    paths = (folder / "single.npz", folder / "buckets.npz", SOURCE)
    rounds = [tuple(per_epoch(path) for path in paths) for _ in range(ROUNDS)]
    best = [[min(r[i][k] for r in rounds) for k in (0, 1)] for i in range(3)]
    (one, one_cpu), (four, four_cpu), (memory, memory_cpu) = best
    print(f"train per epoch (median of {EPOCHS - 1}, best of {ROUNDS}): wall, CPU (all threads)")
    print(f"  one tensor, memory-mapped .npz   {one * 1000:6.0f} ms {one_cpu * 1000:6.0f} ms")
    print(
        f"  4 buckets, memory-mapped .npz    {four * 1000:6.0f} ms {four_cpu * 1000:6.0f} ms"
        f"  {four / one:.2f}x, {four_cpu / one_cpu:.2f}x one tensor"
    )
    print(
        f"  one tensor, in memory (the JSON) {memory * 1000:6.0f} ms {memory_cpu * 1000:6.0f} ms"
        f"  {memory / one:.2f}x, {memory_cpu / one_cpu:.2f}x"
    )
    for name, path in (("one tensor", paths[0]), ("4 buckets", paths[1])):
        batches, steps, cells = work(path)
        print(
            f"  {name}: {batches} batches an epoch (training + validation), {steps:,} LSTM "
            f"steps (each batch's longest), {cells:,} cells fed"
        )
    for what, a, b in (("wall", four, one), ("CPU", four_cpu, one_cpu)):
        verdict = "PASS" if a <= b else "FAIL"
        print(f"target: buckets no slower per epoch than the single tensor ({what}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
