"""Checking in chunks: any split of the data into consecutive chunks, scanned one by one and
merged, gives the report of the data checked whole in memory (codes, messages, places,
counts, stats)."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmprep
from lstmprep import checks, tokens
from lstmprep.dataset import Dataset, Reported
from lstmprep.inspection import diagnose, report_of
from lstmprep.options import PadOptions
from lstmprep.ragged import Ragged

#: values that make every row check speak: NaN, infinities, the pad value, too large for
#: float32 or int8, fractions, negative, whole numbers (token ids)
POOL = [0.0, 1.0, 2.5, -3.0, 7.0, 300.0, 1e39, np.nan, np.inf, -np.inf, 12.0, 19.0]


def chunked(dataset: Dataset, cuts: list[int], options: PadOptions, locate=None):
    """The report of ``dataset`` checked in chunks split at ``cuts``."""
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(dataset.ragged))), len(dataset.ragged)]
    parts = [dataset.part(a, b) for a, b in zip(bounds, bounds[1:], strict=False)] or [
        dataset.part(0, 0)
    ]
    # the reader's problems name global places: they travel with the first chunk
    parts[0] = replace(parts[0], problems=dataset.problems)
    summaries = [checks.scan(p, options, a) for p, a in zip(parts, bounds, strict=False)]
    summaries = [pickle.loads(pickle.dumps(s)) for s in summaries]  # picklable, for workers
    merged = checks.merge(summaries)
    template = (
        parts[0]
        if parts[0].labels is not None or dataset.labels is None
        else replace(parts[0], labels=dataset.labels)
    )
    whole = checks.outline(merged, template)
    return report_of(merged, whole, options=options, locate=locate)


@st.composite
def datasets(draw):
    n = draw(st.integers(0, 9))
    features = draw(st.sampled_from([1, 1, 2, 3]))
    ints = draw(st.booleans())  # whole numbers from 0: token ids when 20 or more distinct
    lengths = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    total = sum(lengths)
    if ints:
        values = draw(st.lists(st.integers(0, 40).map(float), min_size=total, max_size=total))
    else:
        values = draw(
            st.lists(st.sampled_from(POOL), min_size=total * features, max_size=total * features)
        )
    shape = (total, 1 if ints else features)
    ragged = Ragged(np.array(values, dtype=np.float64).reshape(shape), np.array(lengths))
    rows = draw(st.lists(st.integers(0, max(total - 1, 0)), max_size=3)) if total else []
    broken = [i for i, length in enumerate(lengths) if length == 0 and draw(st.booleans())]
    values_with_nan = ragged.values.copy()
    values_with_nan[rows] = np.nan  # rows a reader could not read are NaN
    ragged = Ragged(values_with_nan, ragged.lengths)
    label_kind = draw(st.sampled_from(["none", "int", "float", "str", "wrong-count"]))
    labels = {
        "none": None,
        "int": np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64),
        "float": np.array(
            draw(st.lists(st.sampled_from([0.5, 1.0, np.nan]), min_size=n, max_size=n))
        ),
        "str": np.array(
            draw(st.lists(st.sampled_from(["a", "b10", "b9"]), min_size=n, max_size=n))
        ),
        "wrong-count": np.arange(n + 1),
    }[label_kind]
    dataset = Dataset(
        "data.json",
        "json",
        ragged,
        labels=labels,
        reported=Reported(np.unique(np.array(rows, dtype=np.int64)), np.array(broken, np.int64)),
        lines=np.arange(1, n + 1) if draw(st.booleans()) else None,
        file_of=None,
    )
    kind = draw(st.sampled_from([None, None, "tokens", "values"]))
    dataset = tokens.with_kind(dataset, kind)
    options = PadOptions(
        value=draw(st.sampled_from([0.0, 1.0, -1.5])),
        maxlen=draw(st.sampled_from([None, "p95", 3])),
        dtype=draw(st.sampled_from([None, None, "int8", "float16", "int32"])),
        allow_lossy=draw(st.booleans()),
    )
    cuts = draw(st.lists(st.integers(0, n), max_size=4))
    return dataset, options, cuts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_any_chunks_give_the_in_memory_report(case):
    dataset, options, cuts = case
    whole = diagnose(dataset, options=options, locate=False)
    parts = chunked(dataset, cuts, options, locate=False)
    assert parts.to_dict() == whole.to_dict()
    assert parts == whole


def test_chunks_of_a_file_with_every_problem(write):
    """A JSON lines file the reader finds problems in (text, nested values, mismatched
    features), with the row checks' problems too, located in the file: one chunk per line."""
    lines = [
        [[0.5, 1.5], [0.0, 0.0], [2.0, "n/a"]],
        [[1.0, 2.0], [np.inf, 1.0]],
        [],
        [[1.0, 2.0, 3.0]],
        [[1e300, 1.0], [0.0, 0.0], [1.0, [2.0]]],
        [[-4.5, 2.0]] * 9,
    ]
    text = "".join(json.dumps(x).replace("Infinity", "1e999") + "\n" for x in lines)
    path = write("data.jsonl", text.encode())
    dataset = lstmprep.read(path)
    whole = diagnose(dataset, locate=True)
    assert {"non-numeric", "rank", "feature-mismatch", "non-finite", "lossy-cast"} <= set(
        whole.codes()
    )
    for cuts in ([1, 2, 3, 4, 5], [3], []):
        assert chunked(dataset, cuts, PadOptions(), locate=True) == whole


def test_merge_refuses_chunks_out_of_order():
    data = Dataset("x.json", "json", Ragged.from_sequences([[1], [2], [3]]))
    first, last = checks.scan(data.part(0, 1)), checks.scan(data.part(2, 3), start=2)
    try:
        first.merge(last)
    except ValueError as e:
        assert "sequence 2, not 1" in str(e)
    else:
        raise AssertionError("merged chunks with a gap")
