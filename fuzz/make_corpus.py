"""Write the seed corpus, fuzz/corpus/<harness>/<name>: one file per case worth keeping.

    python fuzz/make_corpus.py

The bytes follow each harness's decoding (fuzz/harnesses.py: ``Bytes``). Crashers found by
``make fuzz`` are added beside these (named ``crash-<sha1>`` by libFuzzer) and stay.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

CORPUS = Path(__file__).resolve().parent / "corpus"

#: byte that decodes to each hostile length in ``Bytes.length`` (b & 7 == 7, index b >> 3)
WRAP = 7  # 2**63 - 1
TWO_62 = 7 + (1 << 3)  # 2**62
MINUS_ONE = 7 + (4 << 3)  # -1


def u16(v: int) -> bytes:
    return v.to_bytes(2, "little")


def copy_rows_case(
    lengths: list[int],
    maxlen_index: int,
    features: int,
    dtype_index: int = 3,
    pre: tuple[int, int] = (0, 1),
    wrapped: int = 0,
    adjust_index: int = 0,
    tail: bytes = b"",
) -> bytes:
    """Fields in the order copy_rows decodes them (maxlen_index into its maxlen choices)."""
    return (
        u16(len(lengths))
        + bytes(lengths)
        + bytes([maxlen_index])
        + u16(features)
        + bytes([dtype_index, *pre, wrapped, adjust_index])
        + tail
    )


def pad_case(lengths: list[int], features: int, wrapped: int, tail: bytes = b"") -> bytes:
    return u16(len(lengths)) + bytes(lengths) + u16(features) + bytes([wrapped, 0]) + tail


def npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


JSON_DOCS = {
    "plain": b"[[1, 2, 3], [4.5], []]",
    "features": b"[[[0.1, 2.0], [0.3, 4.0]], [[0.5, 6.0]]]",
    "minus-zero": b"[[-0, -0.0, -0e0, 0, -0E+0]]",
    "big-integers": b"[[1" + b"0" * 309 + b", 9007199254740993, 12345678901234567890]]",
    "tricky-floats": b"[[1e400, 5e-324, 2.2250738585072011e-308, 0.30000000000000004]]",
    "slow-path": b"[[0." + b"1" * 200 + b"]]",
    "whitespace": b" \t\r\n[ [ 1 ,\t2 ] ,\n[] ]\r\n",
    "not-handled": b'[[1, "2"]]',
    "bad-number": b"[[01, 1.e5, -]]",
    "deep": b"[[[[1]]]]",
    # found by fuzzing: the oracle took len() of a bare number after list timesteps
    "mixed-timesteps": b"[[1, [2]]]",
}

JSONL_DOCS = {
    "plain": b"[1, 2]\n[3]\n\n[]\n",
    "features": b"[[1.5, -2], [3, 4e2]]\r\n[[5, 6]]\n",
    "minus-zero": b"[-0]\n[-0.0]\n",
    "break-inside": b"[1,\n2]\n",
    "two-on-a-line": b"[1] [2]\n",
}


def main() -> None:
    seeds: dict[str, dict[str, bytes]] = {
        h: {} for h in ("copy_rows", "scan_json", "scan_jsonl", "read", "pad")
    }

    # issue #8: two lengths of 2**63 - 1 beside a small one: the int64 sum wraps to 1 row
    seeds["copy_rows"]["wrap-around-lengths"] = copy_rows_case([WRAP, WRAP, 3], 2, 1, wrapped=1)
    seeds["copy_rows"]["wrap-around-post"] = copy_rows_case(
        [3, WRAP, WRAP], 2, 2, pre=(1, 0), wrapped=1
    )
    seeds["copy_rows"]["negative-length"] = copy_rows_case([MINUS_ONE, 3], 3, 1, wrapped=1)
    seeds["copy_rows"]["sum-2-63"] = copy_rows_case([TWO_62, TWO_62], 1, 1, wrapped=1)
    # 4 sequences of maxlen 2**62: n * maxlen wraps to 0 (the old code divided by it)
    seeds["copy_rows"]["n-maxlen-wraps"] = copy_rows_case([0, 0, 0, 0], 6, 1)
    seeds["copy_rows"]["maxlen-huge"] = copy_rows_case([1], 7, 1)
    seeds["copy_rows"]["zero-byte-rows"] = copy_rows_case([2, 0, 1], 3, 0)
    seeds["copy_rows"]["plain"] = copy_rows_case([3, 0, 5, 1], 2, 2, dtype_index=2)
    seeds["copy_rows"]["pre-pre"] = copy_rows_case([4, 1, 2], 3, 3, pre=(1, 1))
    seeds["copy_rows"]["values-short"] = copy_rows_case([2, 2], 2, 1, adjust_index=5)

    for name, doc in JSON_DOCS.items():
        seeds["scan_json"][name] = b"\0\0" + doc
    obj = b'{"sequences": [[[1, 2]], [[3, 4], [5, 6]]], "labels": [1, 0]}'
    seeds["scan_json"]["stop-at-end"] = bytes([3, obj.index(b"[")]) + obj
    seeds["scan_json"]["start-inside"] = bytes([2, 5]) + b"[[1]] [[2, 3]]"
    for name, doc in JSONL_DOCS.items():
        seeds["scan_jsonl"][name] = b"\0\0" + doc
    seeds["scan_jsonl"]["start"] = bytes([2, 9]) + b'garbage"\n[1]\n[2, 3]\n'

    seeds["read"]["json"] = b"\0" + JSON_DOCS["features"]
    seeds["read"]["json-object"] = (
        b"\0" + json.dumps({"sequences": [[1, 2, 3], [4]], "labels": [0, 1]}).encode()
    )
    seeds["read"]["json-minus-zero"] = b"\0" + JSON_DOCS["minus-zero"]
    seeds["read"]["json-big-integer"] = b"\0" + JSON_DOCS["big-integers"]
    seeds["read"]["json-exact-path"] = b'\0[[1, null, 2], [[3], 4], [true, "x"]]'
    seeds["read"]["jsonl"] = b"\1" + JSONL_DOCS["features"]
    seeds["read"]["jsonl-objects"] = b'\1{"sequence": [1, 2], "label": 1}\n{"sequence": [3]}\n'
    seeds["read"]["npz-dense"] = b"\2" + npz(x=np.arange(12.0).reshape(2, 3, 2), y=np.array([0, 1]))
    seeds["read"]["npz-ragged"] = b"\2" + npz(
        values=np.arange(8.0).reshape(4, 2), lengths=np.array([3, 1])
    )
    # issue #8 through a file: values of 1 row, lengths [2**63 - 1, 2**63 - 1, 3]
    seeds["read"]["npz-wrap-around-raw"] = b"\2" + npz(
        values=np.zeros((1, 1)), lengths=np.array([2**63 - 1, 2**63 - 1, 3], dtype=np.int64)
    )
    # the same, built by the harness: n, lengths, wrapped, features, 8 bytes of values, dtype
    seeds["read"]["npz-wrap-around"] = (
        b"\3" + u16(3) + bytes([WRAP, WRAP, 3, 1]) + u16(1) + b"\0" * 8 + b"\0\0"
    )
    seeds["read"]["npz-negative"] = b"\3" + u16(2) + bytes([MINUS_ONE, 3, 1]) + u16(1) + b"\0" * 17

    seeds["pad"]["wrap-around-lengths"] = pad_case([WRAP, WRAP, 3], 1, 1, b"\1\0\1")
    seeds["pad"]["negative-length"] = pad_case([MINUS_ONE, 3], 1, 1, b"\2\1\1")
    seeds["pad"]["plain"] = pad_case([3, 0, 5], 2, 0, b"\3\1\0\0\1")
    seeds["pad"]["value-out-of-range"] = pad_case([2, 1], 1, 0, b"\2\0\0\6\4")

    # pad_lists: decoded field by field (fuzz/harnesses.py: decoded_sequences, pad_lists);
    # random bytes reach every kind of sequence, number and option
    rng = np.random.default_rng(11)
    seeds["pad_lists"] = {f"random-{i}": rng.bytes(int(rng.integers(8, 200))) for i in range(8)}
    # bare ints, 3 lists of common numbers, dtype None, maxlen 2
    seeds["pad_lists"]["token-ids"] = (
        b"\0"
        + u16(3)
        + b"".join(bytes([4, 2, 1]) + b"".join(u16(v) for v in (5, 150, 60, 7)) for _ in range(3))
    )

    for harness, cases in seeds.items():
        folder = CORPUS / harness
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in cases.items():
            (folder / name).write_bytes(data)
        print(f"{folder}: {len(cases)} seeds")


if __name__ == "__main__":
    main()
