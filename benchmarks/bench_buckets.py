"""Length buckets on sample_data/sensors.json: padding share, and train's time per epoch.

The anchor is the single padded tensor (``pad`` without buckets), trained in the same process
with the same options; the floor of the padding share is what the least-padding boundaries
reach (exact over the distinct lengths).
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
    rounds = [
        (per_epoch(folder / "single.npz"), per_epoch(folder / "buckets.npz")) for _ in range(2)
    ]
    one = min(r[0] for r in rounds)
    four = min(r[1] for r in rounds)
    print(
        f"train per epoch (median of {EPOCHS - 1}, best of 2): one tensor {one * 1000:.0f} ms, "
        f"4 buckets {four * 1000:.0f} ms, ratio {four / one:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
