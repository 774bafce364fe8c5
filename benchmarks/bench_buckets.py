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
    def __init__(self) -> None:
        self.starts: list[float] = []
        self.times: list[float] = []

    def on_epoch_begin(self, epoch: int, steps: int) -> None:
        self.starts.append(time.perf_counter())

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.times.append(time.perf_counter() - self.starts[-1])


def per_epoch(path: Path) -> float:
    clock = Clock()
    result = lstmprep.train_file(path, lstmprep.TrainOptions(epochs=EPOCHS, seed=0), progress=clock)
    assert result.ok, result.failure
    return float(np.median(clock.times[1:]))  # the first epoch traces the graph


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
    one, four, memory = (min(r[i] for r in rounds) for i in range(3))
    print(f"train per epoch (median of {EPOCHS - 1}, best of {ROUNDS}):")
    print(f"  one tensor, memory-mapped .npz   {one * 1000:6.0f} ms")
    print(f"  4 buckets, memory-mapped .npz    {four * 1000:6.0f} ms  {four / one:.2f}x one tensor")
    print(f"  one tensor, in memory (the JSON) {memory * 1000:6.0f} ms  {memory / one:.2f}x")
    verdict = "PASS" if four <= one else "FAIL"
    print(f"target: buckets no slower per epoch than the single tensor: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
