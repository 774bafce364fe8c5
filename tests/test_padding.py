"""Padding: pad_ragged's invariants, and pad_sequences against Keras itself."""

from __future__ import annotations

import os
import re
import shutil
import warnings

import numpy as np
import pytest

from lstmprep import padding
from lstmprep.errors import UsageError
from lstmprep.padding import Padded, check_cast, pad_into, pad_ragged, pad_sequences
from lstmprep.ragged import Ragged

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def keras_pad(*args, **kwargs):
    """Keras's own pad_sequences: the anchor. Only the tests that call it need Keras."""
    keras = pytest.importorskip("keras")
    return keras.utils.pad_sequences(*args, **kwargs)


SIDES = [(p, t) for p in ("pre", "post") for t in ("pre", "post")]


def random_ragged(rng, n=40, features=3, longest=9, dtype=np.float32) -> Ragged:
    lengths = rng.integers(0, longest + 1, n)
    values = rng.normal(size=(int(lengths.sum()), features)).astype(dtype)
    return Ragged(values, lengths)


def reference_pad(ragged, maxlen, padding, truncating, value):
    """The obvious per-sequence loop: what pad_ragged must produce."""
    x = np.full((len(ragged), maxlen, ragged.n_features), value, dtype=ragged.values.dtype)
    for i, s in enumerate(ragged):
        s = s[max(0, len(s) - maxlen) :] if truncating == "pre" else s[:maxlen]
        if len(s):
            if padding == "pre":
                x[i, maxlen - len(s) :] = s
            else:
                x[i, : len(s)] = s
    return x


# --- pad_ragged ----------------------------------------------------------------------------


@pytest.mark.parametrize("padding,truncating", SIDES)
@pytest.mark.parametrize("maxlen", [None, 1, 4, 12])
def test_pad_ragged_places_every_timestep(padding, truncating, maxlen):
    ragged = random_ragged(np.random.default_rng(1))
    x, kept = pad_ragged(ragged, maxlen, padding=padding, truncating=truncating, value=-7)
    width = int(ragged.lengths.max()) if maxlen is None else maxlen
    assert x.shape == (40, width, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(kept, np.minimum(ragged.lengths, width))
    assert kept.dtype == np.int64
    for i, s in enumerate(ragged):
        real = s[len(s) - kept[i] :] if truncating == "pre" else s[: kept[i]]
        where = slice(width - kept[i], width) if padding == "pre" else slice(0, kept[i])
        np.testing.assert_array_equal(x[i, where], real)  # in order, the right end kept
        pad = np.ones(width, bool)
        pad[where] = False
        assert (x[i, pad] == -7).all()


@pytest.mark.parametrize("features", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("padding,truncating", SIDES)
def test_pad_ragged_copies_bytes_exactly(features, padding, truncating):
    """NaN payloads and -0.0 survive: timesteps are moved as raw items, never computed on."""
    rng = np.random.default_rng(features)
    lengths = rng.integers(0, 7, 30)
    bits = rng.integers(0, 2**32, (int(lengths.sum()), features), dtype=np.uint32)
    ragged = Ragged(bits.view(np.float32), lengths)
    x, _ = pad_ragged(ragged, 4, padding=padding, truncating=truncating, value=-0.0)
    expected = reference_pad(ragged, 4, padding, truncating, -0.0)
    np.testing.assert_array_equal(x.view(np.uint32), expected.view(np.uint32))


def test_pad_ragged_blocks_give_the_same_result(monkeypatch):
    import lstmprep.padding as padding

    ragged = random_ragged(np.random.default_rng(2), n=300, longest=20)
    whole = pad_ragged(ragged, 15, padding="pre", value=3.0).x
    monkeypatch.setattr(padding, "_BLOCK_BYTES", 1000)  # ~4 rows per block
    np.testing.assert_array_equal(pad_ragged(ragged, 15, padding="pre", value=3.0).x, whole)
    np.testing.assert_array_equal(whole, reference_pad(ragged, 15, "pre", "pre", 3.0))


def test_pad_ragged_into_memmap(tmp_path):
    ragged = random_ragged(np.random.default_rng(3))
    path = tmp_path / "x.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(40, 6, 3))
    out[:] = 99  # stale contents must all be overwritten
    padded = pad_ragged(ragged, 6, padding="pre", out=out)
    assert padded.x is out
    out.flush()
    del out, padded
    np.testing.assert_array_equal(np.load(path), reference_pad(ragged, 6, "pre", "pre", 0.0))


def test_pad_into_fills_row_ranges_like_one_call():
    ragged = random_ragged(np.random.default_rng(4), n=10)
    out = np.full((10, 5, 3), np.nan, dtype=np.float64)
    offsets = ragged.offsets
    for start, stop in [(0, 3), (3, 4), (4, 10)]:
        chunk = ragged.values[offsets[start] : offsets[stop]]
        kept = pad_into(out[start:stop], chunk, ragged.lengths[start:stop], value=-1)
        np.testing.assert_array_equal(kept, np.minimum(ragged.lengths[start:stop], 5))
    expected = pad_ragged(ragged, 5, value=-1, dtype="float64").x
    np.testing.assert_array_equal(out, expected)


def test_pad_into_non_contiguous_arrays():
    ragged = random_ragged(np.random.default_rng(5), n=12)
    values = np.asfortranarray(ragged.values.astype(np.float64))
    big = np.zeros((12, 4, 6), dtype=np.float32)
    out = big[:, :, ::2]  # strided: the generic (non item-view) path
    assert not out.flags.c_contiguous and not values.flags.c_contiguous
    pad_into(out, values, ragged.lengths, padding="pre", truncating="post", value=2)
    np.testing.assert_array_equal(out, reference_pad(ragged, 4, "pre", "post", 2.0))
    assert (big[:, :, 1::2] == 0).all()


@pytest.mark.parametrize("dtype", ["int32", "float64", ">f4", "float16", "uint8"])
def test_pad_ragged_casts_like_astype(dtype):
    ragged = Ragged(np.array([[1.7], [-2.2], [250.0]]), np.array([2, 1]))
    x, _ = pad_ragged(ragged, padding="pre", dtype=dtype)
    assert x.dtype == np.dtype(dtype)
    expected = np.array([[[1.7], [-2.2]], [[0.0], [250.0]]]).astype(dtype)
    np.testing.assert_array_equal(x, expected)


def test_pad_ragged_dtype_none_keeps_the_values_dtype():
    ragged = Ragged(np.array([[1], [2], [3]], dtype=np.int16), np.array([1, 2]))
    x, _ = pad_ragged(ragged, dtype=None, value=-1)
    assert x.dtype == np.int16
    np.testing.assert_array_equal(x[..., 0], [[1, -1], [2, 3]])


def test_pad_ragged_value_per_feature():
    ragged = Ragged(np.array([[1.0, 2.0]]), np.array([1, 0]))
    x, _ = pad_ragged(ragged, 2, value=[8, 9])
    np.testing.assert_array_equal(x, [[[1, 2], [8, 9]], [[8, 9], [8, 9]]])


@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_ragged_maxlen_zero(truncating):
    ragged = random_ragged(np.random.default_rng(6), n=5)
    padded = pad_ragged(ragged, 0, truncating=truncating)
    assert padded.x.shape == (5, 0, 3)
    np.testing.assert_array_equal(padded.lengths, np.zeros(5))


def test_pad_ragged_no_sequences():
    padded = pad_ragged(Ragged(np.empty((0, 2)), np.empty(0, dtype=np.int64)))
    assert padded.x.shape == (0, 0, 2) and padded.lengths.shape == (0,)


def test_pad_ragged_returns_a_padded_tuple():
    padded = pad_ragged(Ragged(np.ones((3, 1)), np.array([3])))
    assert isinstance(padded, Padded)
    x, lengths = padded
    assert x is padded.x and lengths is padded.lengths


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"padding": "middle"}, 'Padding type "middle"'),
        ({"truncating": "both"}, 'Truncating type "both"'),
        ({"maxlen": -1}, "maxlen .* got -1"),
        ({"maxlen": 2.5}, "maxlen .* got 2.5"),
        ({"dtype": "object"}, "dtype .* object"),
        ({"dtype": "no-such-type"}, "dtype 'no-such-type'"),
        ({"value": "pad"}, "value 'pad'"),
        ({"value": [1, 2, 3]}, r"value \[1, 2, 3\]"),
        ({"out": np.zeros((2, 3, 1), np.float32)}, r"out has shape \(2, 3, 1\)"),
        ({"out": np.zeros((2, 3, 2), np.float64)}, "dtype float64, expected .* float32"),
    ],
)
def test_pad_ragged_bad_arguments(kwargs, message):
    ragged = Ragged(np.ones((4, 2)), np.array([3, 1]))
    with pytest.raises(UsageError, match=message) as caught:
        pad_ragged(ragged, **kwargs)
    assert isinstance(caught.value, ValueError)


#: Lengths whose int64 sum wraps around to 2: (2**63 - 1) * 2 + 4 = 2**64 + 2.
WRAP = [2**63 - 1, 2**63 - 1, 4]


@pytest.mark.parametrize(
    "args,message",
    [
        ((np.zeros((2, 3)), np.ones((2, 1)), [1, 1]), "out must be 3-D"),
        ((np.zeros((3, 3, 1)), np.ones((2, 1)), [1, 1]), "does not fit 2 sequences"),
        ((np.zeros((2, 3, 1)), np.ones((2, 1)), [3, -1]), r"lengths\[1\] is -1: .* negative"),
        ((np.zeros((2, 3, 1)), np.ones((2, 1)), [1, 2]), "add up to 3 but values has 2"),
        ((np.zeros((2, 3, 1)), np.ones((2, 1)), [1.0, 1.0]), "must be integers, got float64"),
        ((np.zeros((2, 3, 1)), np.ones((2, 1)), [[1, 1]]), "out must be 3-D, values 2-D"),
        # int64 sums that wrap around to len(values): each length larger than the values
        ((np.zeros((3, 3, 1)), np.ones((2, 1)), WRAP), r"lengths\[0\] is 9223372036854775807"),
        ((np.zeros((3, 3, 1)), np.ones((2, 1)), np.array(WRAP, np.uint64)), "more than the 2"),
    ],
)
def test_pad_into_bad_arguments(args, message):
    with pytest.raises(UsageError, match=message):
        pad_into(*args)


def test_wrapping_lengths_never_make_a_ragged_batch():
    assert int(np.array(WRAP).sum()) == 2  # what numpy's int64 sum says
    with pytest.raises(ValueError, match="more than the 2 rows"):
        Ragged(np.ones((2, 1)), np.array(WRAP))


def test_exact_sum_beyond_int64():
    """Lengths each within the values whose sum passes 2**63 are added exactly."""
    from lstmprep.ragged import check_lengths

    rows = 2**62
    lengths = np.array([rows, rows, 0])  # sums to 2**63: int64 would wrap to a negative
    with pytest.raises(ValueError, match=f"add up to {2**63} but values has {rows}"):
        check_lengths(lengths, rows)


# --- pad_sequences against Keras -----------------------------------------------------------

INTS = [[1], [1, 2], [1, 2, 3]]
FLOATS = [[1.2], [1.2, 2.3], [1.2, 2.3, 3.4]]
STRINGS = [["1"], ["1", "2"], ["1", "2", "3"]]
VECTORS = [[[1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]]

# Keras's own test cases (keras/src/utils/sequence_utils_test.py): input, kwargs, expected.
KERAS_CASES = [
    (INTS, {"maxlen": 3, "padding": "pre"}, [[0, 0, 1], [0, 1, 2], [1, 2, 3]]),
    (INTS, {"maxlen": 3, "padding": "post"}, [[1, 0, 0], [1, 2, 0], [1, 2, 3]]),
    (INTS, {"maxlen": 2, "truncating": "pre"}, [[0, 1], [1, 2], [2, 3]]),
    (INTS, {"maxlen": 2, "truncating": "post"}, [[0, 1], [1, 2], [1, 2]]),
    (INTS, {"maxlen": 3, "value": 1}, [[1, 1, 1], [1, 1, 2], [1, 2, 3]]),
    (
        FLOATS,
        {"maxlen": 3, "padding": "pre", "dtype": "float32"},
        [[0, 0, 1.2], [0, 1.2, 2.3], [1.2, 2.3, 3.4]],
    ),
    (
        FLOATS,
        {"maxlen": 3, "padding": "post", "dtype": "float32"},
        [[1.2, 0, 0], [1.2, 2.3, 0], [1.2, 2.3, 3.4]],
    ),
    (
        FLOATS,
        {"maxlen": 2, "truncating": "pre", "dtype": "float32"},
        [[0, 1.2], [1.2, 2.3], [2.3, 3.4]],
    ),
    (
        FLOATS,
        {"maxlen": 2, "truncating": "post", "dtype": "float32"},
        [[0, 1.2], [1.2, 2.3], [1.2, 2.3]],
    ),
    (
        FLOATS,
        {"maxlen": 3, "value": 1, "dtype": "float32"},
        [[1, 1, 1.2], [1, 1.2, 2.3], [1.2, 2.3, 3.4]],
    ),
    (
        STRINGS,
        {"maxlen": 3, "padding": "pre", "value": "pad", "dtype": object},
        [["pad", "pad", "1"], ["pad", "1", "2"], ["1", "2", "3"]],
    ),
    (
        STRINGS,
        {"maxlen": 3, "padding": "post", "value": "pad", "dtype": "<U3"},
        [["1", "pad", "pad"], ["1", "2", "pad"], ["1", "2", "3"]],
    ),
    (
        STRINGS,
        {"maxlen": 2, "value": "pad", "dtype": object},
        [["pad", "1"], ["1", "2"], ["2", "3"]],
    ),
    (
        STRINGS,
        {"maxlen": 2, "truncating": "post", "value": "pad", "dtype": "<U3"},
        [["pad", "1"], ["1", "2"], ["1", "2"]],
    ),
    (
        VECTORS,
        {"maxlen": 3, "padding": "pre"},
        [[[0, 0], [0, 0], [1, 1]], [[0, 0], [2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]],
    ),
    (
        VECTORS,
        {"maxlen": 3, "padding": "post"},
        [[[1, 1], [0, 0], [0, 0]], [[2, 1], [2, 2], [0, 0]], [[3, 1], [3, 2], [3, 3]]],
    ),
    (
        VECTORS,
        {"maxlen": 2, "truncating": "pre"},
        [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 2], [3, 3]]],
    ),
    (
        VECTORS,
        {"maxlen": 2, "truncating": "post"},
        [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2]]],
    ),
    (
        VECTORS,
        {"maxlen": 3, "value": 1},
        [[[1, 1], [1, 1], [1, 1]], [[1, 1], [2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]],
    ),
]


def assert_same(ours, theirs):
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("sequences,kwargs,expected", KERAS_CASES)
def test_keras_documented_cases(sequences, kwargs, expected):
    ours = pad_sequences(sequences, **kwargs)
    assert_same(ours, keras_pad(sequences, **kwargs))
    if ours.dtype.kind in "OU":
        assert ours.tolist() == expected
    else:
        np.testing.assert_allclose(ours, np.array(expected, dtype=ours.dtype))


@pytest.mark.parametrize(
    "sequences,kwargs",
    [
        ([np.arange(3), np.arange(5)], {}),  # numpy arrays
        (np.arange(12).reshape(3, 4), {"maxlen": 2}),  # an already dense array
        (np.arange(12.0).reshape(2, 3, 2), {"maxlen": 4, "dtype": "float32"}),
        ([[], [1, 2], []], {}),  # empty sequences
        ([[], []], {}),  # nothing but empty sequences
        ([], {"maxlen": 3}),
        ([[True, False], [True]], {}),
        ([[[[1, 2], [3, 4]]], []], {"padding": "post"}),  # each timestep a 2x2 matrix
        ([[[1, 2]], [[3, 4], [5, 6]]], {"value": [9, 8]}),  # a value per feature
        ([[1.9, -1.9], [2.5]], {"dtype": "int32"}),  # Keras truncates, and so do we
        ([[1, 2]], {"maxlen": 3, "value": 1.5, "dtype": "int64"}),
        ([[1, 2]], {"maxlen": 3, "value": 7, "dtype": "float16"}),
        ([[1, 2], [3]], {"dtype": object}),
        ([[1, 2], [3]], {"dtype": "<U2", "value": "x"}),
        ([["ab", "c"], ["d"]], {"dtype": object}),
        ([[b"ab", b"c"], [b"d"]], {"dtype": "S2", "value": "-"}),
        ([[[1, 2]], [[1], [2, 3], [4, 5]]], {"maxlen": 2}),  # ragged only where truncated
        ([[1, 2], [3]], {"maxlen": 5, "padding": "post", "value": None, "dtype": "float32"}),
        ([[1, 2], [3]], {"maxlen": 0, "truncating": "post"}),
        ([[1], [2, 3]], {"value": [7, 8]}),  # a value per timestep, even
        ([[[1, 2]], [[3, 4], [5, 6]]], {"value": [[9, 8], [7, 6]], "padding": "post"}),
    ],
)
def test_same_as_keras(sequences, kwargs):
    assert_same(pad_sequences(sequences, **kwargs), keras_pad(sequences, **kwargs))


def keras_message(call) -> str:
    with pytest.raises(ValueError) as caught:
        call(keras_pad)
    return str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda pad: pad(5),
        lambda pad: pad([[1], 5]),
        lambda pad: pad([[1, 2], [3]], padding="middle"),
        lambda pad: pad([[1, 2], [3]], truncating="both"),
        lambda pad: pad([[1, 2], [3]], truncating="both", padding="middle"),
        lambda pad: pad(STRINGS, maxlen=2, truncating="post", value="pad", dtype="int32"),
        lambda pad: pad(INTS, value="pad", dtype=np.float32),
        lambda pad: pad([[[1, 2]], [[1, 2, 3]]]),
        lambda pad: pad([[1, 2], [[1, 2]]]),
        lambda pad: pad([[1, 2], [[1, 2]]], dtype="float32", truncating="post", padding="post"),
        lambda pad: pad([[[1, 2], [1]]]),
        lambda pad: pad([np.ones((2, 3)), np.ones((1, 4))], maxlen=1),
    ],
)
def test_same_errors_as_keras(call):
    message = keras_message(call)
    with pytest.raises(ValueError) as caught:
        call(pad_sequences)
    assert caught.value.args[0] == message


def test_string_value_error_names_the_inferred_dtype():
    with pytest.raises(ValueError, match=r"^`dtype` int32 \(inferred from the sequences\) is not"):
        pad_sequences(INTS, value="pad")


def keras_dtype_for(sequences, value):
    """What dtype=None must infer, for the random cases below."""
    data = [np.asarray(s) for s in sequences if len(s)]
    if any(a.dtype.kind == "f" for a in data) or float(value) != int(value):
        return "float32"
    return "int32"


def random_case(rng):
    n = int(rng.integers(1, 7))
    sample_shape = [(), (1,), (3,), (2, 2)][rng.integers(4)]
    lengths = rng.integers(0, 7, n)
    floats = rng.random() < 0.5
    sequences = []
    for length in lengths:
        if floats:
            s = np.round(rng.normal(size=(length, *sample_shape)) * 10, 1)
        else:
            s = rng.integers(-50, 50, (length, *sample_shape))
        sequences.append(s.tolist() if rng.random() < 0.5 else s)
    kwargs = {
        "padding": ["pre", "post"][rng.integers(2)],
        "truncating": ["pre", "post"][rng.integers(2)],
        "value": [0.0, -1, 3, 0.5][rng.integers(4)],
    }
    maxlen = [None, 1, 3, 9][rng.integers(4)]
    if maxlen is not None or rng.random() < 0.5:
        kwargs["maxlen"] = maxlen
    dtype = [None, None, "int32", "float32", "float64", "int64", "float16"][rng.integers(7)]
    if dtype is not None:
        kwargs["dtype"] = dtype
    return sequences, kwargs


@pytest.mark.parametrize("seed", range(300))
def test_random_cases_same_as_keras(seed):
    sequences, kwargs = random_case(np.random.default_rng(seed))
    ours = pad_sequences(sequences, **kwargs)
    if "dtype" not in kwargs:
        kwargs["dtype"] = keras_dtype_for(sequences, kwargs["value"])
    assert_same(ours, keras_pad(sequences, **kwargs))


# --- the C paths of pad_sequences: lists of arrays, lists of Python numbers -----------------

needs_padcore = pytest.mark.skipif(padding._padcore is None, reason="_padcore is not built")


def outcome(call):
    """(result, None) or (None, "ExceptionType: message")."""
    try:
        return call(), None
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"


def awkward_case(rng):
    """Inputs that test where the C paths stop: odd numbers, types, shapes and dtypes."""
    n = int(rng.integers(0, 6))
    numbers = [0, 1, -7, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**64, 2**24 + 1]
    numbers += [0.5, -0.0, 1e300, float("nan"), float("inf"), True, None, "x", np.int64(3)]
    weights = np.array([20, 20, 20, 2, 2, 2, 2, 1, 2, 10, 2, 2, 2, 2, 1, 1, 1, 1], float)
    pool = [numbers[i] for i in rng.choice(len(numbers), 40, p=weights / weights.sum())]
    features = [0, 0, 2, 3][rng.integers(4)]
    plain_ints = rng.random() < 0.4
    sequences: list = []
    for _ in range(n):
        length = int(rng.integers(0, 6))
        kind = rng.integers(10)
        if kind == 0:  # an array
            dtype = ["float32", "int32", "float64", "int64", "int8"][rng.integers(5)]
            shape = (length,) if features == 0 else (length, features)
            a = rng.integers(-9, 9, shape).astype(dtype)
            sequences.append(a if rng.random() < 0.8 else a[::-1])
            continue

        def number():
            return int(rng.integers(-99, 99)) if plain_ints else pool[rng.integers(len(pool))]

        if features == 0:
            seq = [number() for _ in range(length)]
        else:
            width = features if rng.random() < 0.9 else features + 1
            seq = [[number() for _ in range(width)] for _ in range(length)]
        sequences.append(tuple(seq) if kind == 1 else seq)
    if rng.random() < 0.2:
        sequences = tuple(sequences)
    kwargs = {
        "padding": ["pre", "post"][rng.integers(2)],
        "truncating": ["pre", "post"][rng.integers(2)],
        "value": [0.0, -1, 2**40, 0.5, float("nan")][rng.integers(5)],
        "maxlen": [None, 0, 2, 4][rng.integers(4)],
        "dtype": [None, None, "int32", "int64", "float32", "float64", "int8"][rng.integers(7)],
    }
    return sequences, kwargs


@needs_padcore
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("seed", range(200))
def test_c_paths_give_what_the_general_path_gives(seed, monkeypatch):
    """With or without _padcore: the same array, dtype included, or the same error."""
    sequences, kwargs = awkward_case(np.random.default_rng(seed))
    fast, fast_error = outcome(lambda: pad_sequences(sequences, **kwargs))
    monkeypatch.setattr(padding, "_padcore", None)
    slow, slow_error = outcome(lambda: pad_sequences(sequences, **kwargs))
    assert fast_error == slow_error
    if slow is not None:
        assert (fast.dtype, fast.shape) == (slow.dtype, slow.shape)
        if slow.dtype == object:
            assert repr(fast.tolist()) == repr(slow.tolist())
        else:
            assert fast.tobytes() == slow.tobytes()  # NaN and -0.0 bit for bit


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("seed", range(300))
def test_python_path_gives_what_the_general_path_gives(seed, monkeypatch):
    """Without _padcore, lists of numbers are packed with struct: the same array, dtype
    included, or the same error, as the general path."""
    sequences, kwargs = awkward_case(np.random.default_rng(seed))
    monkeypatch.setattr(padding, "_padcore", None)
    fast, fast_error = outcome(lambda: pad_sequences(sequences, **kwargs))
    monkeypatch.setattr(padding, "_pack_lists", lambda *args: None)
    slow, slow_error = outcome(lambda: pad_sequences(sequences, **kwargs))
    assert fast_error == slow_error
    if slow is not None:
        assert (fast.dtype, fast.shape) == (slow.dtype, slow.shape)
        if slow.dtype == object:
            assert repr(fast.tolist()) == repr(slow.tolist())
        else:
            assert fast.tobytes() == slow.tobytes()  # NaN and -0.0 bit for bit


@needs_padcore
@pytest.mark.parametrize(
    "sequences,kwargs",
    [
        ([[1, 2, 3], [4]], {}),
        (([5, 6], (7,)), {"maxlen": 1}),
        ([[1, 2**40]], {}),  # int64
        ([[[0.5, 1.0], [2.0, 3.0]], [[4.0, 5.0]]], {"padding": "post"}),
        ([[1, 2], [3.5]], {"maxlen": 1, "truncating": "post"}),  # a dropped float: float32
        ([[1, 2], [3]], {"dtype": "float64", "value": -1}),
        ([np.zeros((3, 4), np.float32), np.ones((1, 4), np.float32)], {}),
        ([np.arange(3, dtype=np.int32), np.arange(0)], {"value": 7}),
        ([np.zeros(3)], {"dtype": "float64"}),
    ],
)
def test_common_inputs_take_a_c_path(sequences, kwargs):
    args = {"maxlen": None, "dtype": None, "padding": "pre", "truncating": "pre", "value": 0.0}
    args.update(kwargs)
    sides = (args["padding"] == "pre", args["truncating"] == "pre")
    x = padding._pad_in_c(sequences, args["maxlen"], args["dtype"], *sides, args["value"])
    assert x is not None
    assert_same(x, pad_sequences(sequences, **kwargs))


@pytest.mark.skipif(padding._padcore is not None, reason="built")
@pytest.mark.skipif(os.environ.get("LSTMPREP_NO_C") == "1", reason="LSTMPREP_NO_C=1")
def test_padcore_is_built():
    """Where a C compiler is present, the install must have built lstmprep._padcore."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: numpy does all the work")
    pytest.fail("lstmprep._padcore did not build: reinstall with pip -v and read why")


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "float64"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_number_lists_same_as_keras(dtype, truncating):
    """Numbers at the edges of each dtype, read straight into the output as numpy reads them."""
    ints = [0, -1, 2**24 + 1, 2**31 - 1, -(2**31), 2**53 + 1, 2**62 + 2**9 + 1]
    floats = [0.1, -0.0, 1e-45, 3.4028235e38, 1e300, float("inf"), 16777217.0]
    cases = [ints[:4], ints[4:5], [7]] if dtype == "int32" else [ints, [ints[-1]], []]
    if dtype == "int64":
        cases.append([-(2**63), 2**63 - 1])
    if dtype[0] == "f":
        cases += [floats, [floats[1], 3], [[float("nan")]][0]]
    sequences = cases * 3
    ours = pad_sequences(sequences, maxlen=5, dtype=dtype, truncating=truncating, value=-2)
    with np.errstate(over="ignore"):
        theirs = keras_pad(sequences, maxlen=5, dtype=dtype, truncating=truncating, value=-2)
    assert_same(ours, theirs)
    nested = [[[x, x] for x in case] for case in cases]
    ours = pad_sequences(nested, dtype=dtype, truncating=truncating, padding="post")
    with np.errstate(over="ignore"):
        theirs = keras_pad(nested, dtype=dtype, truncating=truncating, padding="post")
    assert_same(ours, theirs)


TRUNCATED_AWAY = [  # what truncation drops would warn, or change a kept value, if it were cast
    ([[float("nan"), 1.0, 2.0], [3.0]], {"maxlen": 2, "dtype": "int32"}),
    ([np.array([np.inf, 1.0, 2.0]), np.array([3.0])], {"maxlen": 2, "dtype": "int32"}),
    ([[1.0, 2.0, 1e20], [3.0]], {"maxlen": 2, "dtype": "int64", "truncating": "post"}),
    ([[1e6, 1.0], [3.0]], {"maxlen": 1, "dtype": "float16"}),
    ([[[1e6, 0.0], [1.0, 2.0]], [[3.0, 4.0]]], {"maxlen": 1, "dtype": "float16"}),
    ([[2**63, 2**53 + 1], [5]], {"maxlen": 1, "dtype": "int64"}),  # uint64 + int64: float64
    ([[2**53 + 1, 2**63], [5]], {"maxlen": 1, "dtype": "int64", "truncating": "post"}),
]


@pytest.mark.parametrize("with_c", [True, False])
@pytest.mark.parametrize("sequences,kwargs", TRUNCATED_AWAY)
def test_truncated_away_timesteps_are_never_cast(sequences, kwargs, with_c, monkeypatch):
    """With an explicit dtype Keras casts only what truncation keeps: the same values, and no
    warning from a value that is cut off."""
    if not with_c:
        monkeypatch.setattr(padding, "_padcore", None)
    theirs = keras_pad(sequences, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = pad_sequences(sequences, **kwargs)
    assert_same(ours, theirs)


@pytest.mark.parametrize("with_c", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_huge_ints_into_a_float_dtype_as_keras(dtype, with_c, monkeypatch):
    if not with_c:
        monkeypatch.setattr(padding, "_padcore", None)
    sequences = [[2**70, 1, -(2**64)], [0.5, True]]
    assert_same(pad_sequences(sequences, dtype=dtype), keras_pad(sequences, dtype=dtype))


@pytest.mark.parametrize("with_c", [True, False])
def test_pad_ragged_casts_only_what_truncation_keeps(with_c, monkeypatch):
    if not with_c:
        monkeypatch.setattr(padding, "_padcore", None)
    lengths = np.array([3, 2])
    pre = Ragged(np.array([[np.nan], [1.0], [2.0], [1e10], [3.0]]), lengths)
    post = Ragged(np.array([[1.0], [np.nan], [2.0], [3.0], [1e10]]), lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = pad_ragged(pre, maxlen=1, dtype="int32").x
        y = pad_ragged(post, maxlen=1, dtype="int32", truncating="post").x
    assert x[:, 0, 0].tolist() == [2, 3] and y[:, 0, 0].tolist() == [1, 3]


def test_arrays_copied_row_by_row_same_as_keras():
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(int(k), 2, 3)).astype(np.float32) for k in rng.integers(0, 9, 50)]
    for padding_side, truncating in SIDES:
        kwargs = {"maxlen": 5, "padding": padding_side, "truncating": truncating, "value": -1.5}
        assert_same(pad_sequences(arrays, **kwargs), keras_pad(arrays, dtype="float32", **kwargs))


def test_an_array_that_is_a_view_of_another_is_copied_exactly():
    base = np.arange(24, dtype=np.float32).reshape(6, 4)
    sequences = [base[1:3], base[2:6], base[:0]]
    assert_same(pad_sequences(sequences), keras_pad(sequences, dtype="float32"))


# --- where pad_sequences differs from Keras ------------------------------------------------


@pytest.mark.parametrize(
    "sequences,dtype",
    [
        ([[1, 2], [3]], "int32"),
        ([np.array([1, 2], dtype=np.int8)], "int32"),
        ([np.array([1, 2], dtype=np.uint16)], "int32"),
        ([[True], [False, True]], "int32"),
        ([[1, 2], [0.5]], "float32"),
        ([np.array([1.0, 2.0])], "float32"),
        ([np.array([1.0], dtype=np.float16)], "float32"),
        ([[2**40], [1]], "int64"),
        ([[], []], "int32"),
        ([["a", "b"], ["c"]], "object"),
        ([[b"a"], [b"b"]], "object"),
        ([[1 + 2j]], "complex64"),
    ],
)
def test_dtype_none_infers(sequences, dtype):
    x = pad_sequences(sequences)
    assert x.dtype == np.dtype(dtype)


def test_dtype_none_keeps_float_data():
    x = pad_sequences([[0.25, 1.5], [2.75]], padding="post")
    np.testing.assert_array_equal(x, np.array([[0.25, 1.5], [2.75, 0]], dtype=np.float32))


def test_big_ints_are_not_wrapped():
    x = pad_sequences([np.array([3_000_000_000, 1])])
    assert x.dtype == np.int64 and x[0, 0] == 3_000_000_000


@pytest.mark.parametrize("value", [np.nan, 0.5, -1.5])
def test_a_fractional_value_makes_int_data_float(value):
    x = pad_sequences([[1, 2], [3]], value=value)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, np.array([[1, 2], [value, 3]], dtype=np.float32))


def test_dtype_none_strings_are_objects():
    x = pad_sequences([["a", "bb"], ["ccc"]], value="<pad>", padding="post")
    assert x.dtype == object
    assert x.tolist() == [["a", "bb"], ["ccc", "<pad>"]]


@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("sequences", [INTS, VECTORS, [np.ones((2, 3)), np.ones((1, 3))]])
def test_maxlen_zero_gives_rows_of_padding(sequences, truncating):
    x = pad_sequences(sequences, maxlen=0, truncating=truncating)
    assert x.shape == (len(sequences), 0) + np.asarray(sequences[-1]).shape[1:]


@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_maxlen_zero_string_sequences(truncating):
    assert pad_sequences(STRINGS, maxlen=0, dtype=object, truncating=truncating).shape == (3, 0)
    vectors = [[["a", "b"]], [["c", "d"], ["e", "f"]]]
    x = pad_sequences(vectors, maxlen=0, dtype=object, truncating=truncating)
    assert x.shape == (2, 0, 2)


def test_maxlen_zero_still_checks_shapes():
    with pytest.raises(ValueError, match="sequence at position 1"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]], maxlen=0, dtype=object)


def test_no_sequences_and_no_maxlen():
    x = pad_sequences([])
    assert x.shape == (0, 0) and x.dtype == np.int32


@pytest.mark.parametrize("dtype", ["O", "object", np.object_])
def test_a_string_value_with_any_object_dtype(dtype):
    assert pad_sequences([["a"]], maxlen=2, value="-", dtype=dtype).tolist() == [["-", "a"]]


def test_arguments_are_checked_before_any_work():
    with pytest.raises(UsageError, match='Padding type "middle" not understood'):
        pad_sequences([[], []], padding="middle")
    with pytest.raises(UsageError, match="maxlen must be a non-negative integer or None, got -2"):
        pad_sequences([[1]], maxlen=-2)


def test_generic_sized_iterables():
    sequences = {0: None, 1: None}.keys()  # sized, iterable, not indexable: sequences of ...
    with pytest.raises(ValueError, match="Found non-iterable: 0"):
        pad_sequences(sequences)
    ranges = [range(3), range(1)]
    assert_same(pad_sequences(ranges), keras_pad(ranges))


# --- check_cast ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values,dtype,reason",
    [
        ([1.0, -2.0, 1e9], "int32", None),
        ([1.0, 2.5], "int32", r"values\[1\] = 2.5 is not a whole number; int32"),
        ([[1.0, 2.0], [3.0, -0.1]], "int64", r"values\[1, 1\] = -0.1 is not a whole number"),
        ([1.0, np.nan], "int32", r"values\[1\] = nan cannot be stored in int32"),
        ([np.inf], "int64", "inf cannot be stored in int64"),
        ([2.0**31], "int32", r"2147483648.0 is outside the range of int32 \(-2147483648 to"),
        ([-(2.0**31)], "int32", None),
        ([2.0**63], "int64", "outside the range of int64"),
        ([-1.0], "uint8", "outside the range of uint8"),
        ([255.0], "uint8", None),
        ([300], "int8", r"values\[0\] = 300 is outside the range of int8"),
        ([-129], "int8", "outside the range of int8"),
        ([70000.0], "float16", r"too large for float16 \(largest 65504.0\) and would become inf"),
        ([-65504.0, 65504.0, np.inf, -np.inf, np.nan], "float16", None),
        ([-70000.0], "float16", "too large for float16"),
        ([np.nan, 70000.0], "float16", r"values\[1\] = 70000.0 is too large"),
        (np.array([2**63 - 1, 0], dtype=np.uint64), "int64", None),
        (np.array([0, 2**63], dtype=np.uint64), "int64", r"values\[1\] = 9223372036854775808 is"),
        (np.array([-(2**63), 2**63 - 1]), "int64", None),
        (np.array([-1, 5], dtype=np.int8), "uint64", r"values\[0\] = -1 is outside"),
        ([70000], "float16", "too large for float16"),
        ([1e39], "float32", "too large for float32"),
        (np.array([70000.0], dtype=np.float32), "float64", None),
        ([2.0], "bool", "is not 0 or 1"),
        ([0.0, 1.0], "bool", None),
        ([True, False], "int8", None),
        ([], "int8", None),
    ],
)
def test_check_cast(values, dtype, reason):
    result = check_cast(np.asarray(values), dtype)
    if reason is None:
        assert result is None
    else:
        assert result is not None and re.search(reason, result), result


def test_check_cast_rejects_non_numbers():
    with pytest.raises(UsageError, match="real numbers"):
        check_cast(np.array(["a"]), "int32")
