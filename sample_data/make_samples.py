"""Write every file in sample_data/ (run `make samples`); the output is the same on every run.

- seed_*.json: the three examples of the document lstmprep grew from
- sensors.json: 300 machines x 5 sensor channels, 20–160 timesteps each, a fault label each
  (the fault is in the order of the vibration readings: rising, not settling)
- prices.jsonl: one ticker per line with next-day return as the label (regression)
- tokens.npz: token-id sequences as np.savez(*seqs) writes them, with class labels
- reviews.txt: tokenized "reviews", one per line, ids separated by spaces; reviews_labels.json
  says positive or negative, which only a few marker ids among the noise tell
- problems/<code>.json: one small file per problem code that `lstmprep inspect` reports
- visits.csv: a long table, one row per hourly reading of 60 patients (rows shuffled), read
  with --id-column patient --time-column hour --label-column outcome
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, allow_nan=True) + "\n")


def seed_examples() -> None:
    # Example 1: inconsistent timestep lengths (3, 2, 4), two features
    write_json(
        HERE / "seed_inconsistent.json",
        [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10]], [[11, 12], [13, 14], [15, 16], [17, 18]]],
    )
    # Example 2: variable lengths that need padding, with the seed's targets
    write_json(
        HERE / "seed_padding.json",
        {
            "sequences": [
                [[1, 2], [3, 4], [5, 6]],
                [[7, 8], [9, 10]],
                [[11, 12], [13, 14], [15, 16]],
            ],
            "labels": [1, 2, 3],
        },
    )
    # Example 3: plain lists rather than arrays — fine for lstmprep, which builds the arrays
    write_json(
        HERE / "seed_lists.json",
        [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10]], [[11, 12], [13, 14], [15, 16]]],
    )


def sensors(rng: np.random.Generator) -> None:
    """Temperature, humidity and vibration (3 axes) of machines, with a fault label each.

    A healthy machine's vibration settles after start-up; a faulty one's builds up. Both run
    at the same average level, so no single timestep and no average tells them apart: only the
    order does, under noise larger than the trend, so a small LSTM learns it over a few epochs.
    Temperature follows a slow cycle and humidity is noise: neither says anything of the fault.
    """
    sequences, labels = [], []
    for _ in range(300):
        n = int(rng.integers(20, 121)) if rng.random() > 0.03 else int(rng.integers(140, 161))
        fault = int(rng.random() < 0.4)
        t = np.arange(n)
        cycle = 2 * np.pi * t / rng.uniform(60, 120) + rng.uniform(0, 2 * np.pi)
        temperature = 40 + 5 * np.sin(cycle) + rng.normal(0, 0.5, n)
        humidity = 30 + rng.normal(0, 2, n)
        trend = (1 if fault else -1) * (t / max(n - 1, 1) - 0.5)
        vibration = trend[:, None] + rng.normal(0, 1.5, (n, 3))
        steps = np.column_stack([temperature, humidity, vibration])
        sequences.append(np.round(steps, 3).tolist())
        labels.append(fault)
    write_json(HERE / "sensors.json", {"sequences": sequences, "labels": labels})


def prices(rng: np.random.Generator) -> None:
    """Daily close and volume per ticker; the label is the next day's return."""
    lines = []
    for i in range(120):
        n = int(rng.integers(30, 90))
        returns = rng.normal(0.0005, 0.02, n + 1)
        close = 100 * np.exp(np.cumsum(returns[:-1]))
        volume = rng.lognormal(12, 0.3, n) / 1e6
        sequence = np.round(np.column_stack([close, volume]), 4).tolist()
        lines.append(
            json.dumps(
                {"ticker": f"T{i:03d}", "sequence": sequence, "label": round(float(returns[-1]), 5)}
            )
        )
    (HERE / "prices.jsonl").write_text("\n".join(lines) + "\n")


def tokens(rng: np.random.Generator) -> None:
    """Token ids (one feature) of short event logs, three classes of log."""
    sequences, labels = [], []
    for _ in range(200):
        kind = int(rng.integers(0, 3))
        n = int(rng.integers(5, 40))
        ids = rng.integers(1 + 30 * kind, 31 + 30 * kind, n).astype(np.int32)
        sequences.append(ids)
        labels.append(kind)
    np.savez(HERE / "tokens.npz", *sequences)
    np.save(HERE / "tokens_labels.npy", np.array(labels, dtype=np.int64))


def review_ids(
    rng: np.random.Generator, n: int, vocabulary: int = 2000, markers: int = 6
) -> tuple[list[np.ndarray], list[str]]:
    """``n`` tokenized reviews and their sentiment; ids from 1 (0 is left for padding).

    Most ids are noise, drawn with a Zipf-like frequency. A few marker ids, scattered over
    the vocabulary, carry the sentiment: a review holds two to four markers of its own
    sentiment and sometimes one of the other. Nothing about the size of an id says anything,
    so only a model that tells ids apart (an Embedding) learns the task.
    """
    chosen = rng.choice(np.arange(1, vocabulary), 2 * markers, replace=False)
    good, bad = chosen[:markers], chosen[markers:]
    noise = np.setdiff1d(np.arange(1, vocabulary), chosen)
    weights = 1 / np.arange(1, len(noise) + 1)
    noise = noise[rng.permutation(len(noise))]  # frequent ids anywhere in the vocabulary
    reviews, labels = [], []
    for _ in range(n):
        positive = rng.random() < 0.5
        own, other = (good, bad) if positive else (bad, good)
        words = list(rng.choice(noise, int(rng.integers(8, 60)), p=weights / weights.sum()))
        signs = list(rng.choice(own, int(rng.integers(2, 5))))
        signs += list(rng.choice(other, 1)) if rng.random() < 0.3 else []
        for sign in signs:
            words.insert(int(rng.integers(0, len(words) + 1)), sign)
        reviews.append(np.array(words, dtype=np.int64))
        labels.append("positive" if positive else "negative")
    return reviews, labels


def reviews(rng: np.random.Generator) -> None:
    """Text classification: sample_data/reviews.txt and reviews_labels.json."""
    ids, labels = review_ids(rng, 600)
    lines = [" ".join(map(str, review)) for review in ids]
    (HERE / "reviews.txt").write_text("\n".join(lines) + "\n")
    write_json(HERE / "reviews_labels.json", labels)


def problems() -> None:
    """The smallest file that shows each problem code."""
    ok = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [0.7, 0.8]]]
    files = {
        "feature-mismatch": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [0.7]]],
        "non-numeric": [[[0.1, 0.2], [0.3, "n/a"]], [[0.5, None], [0.7, 0.8]]],
        "non-finite": [[[0.1, float("nan")], [0.3, 0.4]], [[0.5, 0.6], [float("inf"), 0.8]]],
        "rank": [[[0.1, [0.2, 0.3]], [0.4, 0.5]], 7],
        "label-mismatch": {"sequences": ok, "labels": [0, 1, 1]},
        "no-sequences": [],
        "ragged-length": [[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8]]],
        "empty-sequence": [[[0.1, 0.2], [0.3, 0.4]], []],
        "pad-collision": [
            [[0.1, 0.2], [0.0, 0.0], [0.5, 0.6]],
            [[0.7, 0.8], [0.9, 1.0], [1.1, 1.2]],
        ],
        "length-outlier": [[[0.1, 0.2]] * 3 for _ in range(30)] + [[[0.3, 0.4]] * 200],
        "lossy-cast": [[[0.1, 1e300], [0.3, 0.4]], [[0.5, 0.6], [0.7, 0.8]]],
        "too-short": [[[0.1, 0.2]], [[0.3, 0.4]]],
        "long-sequences": np.round(1.5 + np.sin(np.arange(1200) / 20 + np.c_[0:2]), 3).tolist(),
        "zero-token": [[5, 0, 17, 3, 9, 12, 1, 20, 6, 10], [4, 8, 15, 16, 23, 42, 7, 11, 2, 19]],
    }
    for code, value in files.items():
        write_json(HERE / "problems" / f"{code}.json", value)
    # token ids from a .txt file: a negative id is not one
    (HERE / "problems" / "bad-token.txt").write_text("5 12 7\n3 -1 9\n")


def visits() -> None:
    """A long-format table: columns patient, hour, heart_rate, temperature, outcome."""
    rng = np.random.default_rng(7)
    rows = []
    for patient in range(60):
        outcome = ["home", "ward", "icu"][int(rng.integers(0, 3))]
        for hour in range(int(rng.integers(3, 13))):
            rate = 70 + 10 * rng.standard_normal() + 8 * hour * (outcome == "icu")
            temp = 36.8 + 0.4 * rng.standard_normal()
            rows.append(f"p{patient:03d},{hour},{rate:.1f},{temp:.2f},{outcome}")
    order = rng.permutation(len(rows))
    lines = ["patient,hour,heart_rate,temperature,outcome", *(rows[i] for i in order)]
    (HERE / "visits.csv").write_text("\n".join(lines) + "\n")


def main() -> None:
    rng = np.random.default_rng(20261124)
    seed_examples()
    sensors(rng)
    prices(rng)
    tokens(rng)
    reviews(rng)
    problems()
    visits()


if __name__ == "__main__":
    main()
