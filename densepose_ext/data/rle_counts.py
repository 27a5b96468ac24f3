"""COCO compressed RLE `counts` strings checked without decoding the masks: alphabet, complete numbers, run lengths.

pycocotools decodes a string cut short as a smaller mask and a string with characters outside its alphabet as
garbage; the checks here refuse both by name. All strings are decoded at once with numpy (one pass per step over
the concatenated characters), so the 100k+ masks of DensePose-COCO check in well under a second.

Encoding (pycocotools maskApi.c rleToString): each count is written in 5-bit groups, least significant first, as
characters 48 + group, with 0x20 set on every group but the last and 0x10 of the last the sign; from the third
count on, a count is stored as its difference to the count two places before it.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

_ALPHABET = re.compile(r"[0-o]*")  # characters 48 ('0') .. 111 ('o')


# Characters decoded per numpy pass: bounds the memory (a few int64 arrays of this length) on large files.
CHUNK_CHARS = 1 << 21


def rle_string_problems(strings: Sequence, pixels: int) -> list:
    """For each string (str or bytes): None when it decodes to non-negative run lengths summing to `pixels`, else
    what is wrong (expected ..., found ...)."""
    problems: list = []
    chunk: list = []
    size = 0
    for text in strings:
        chunk.append(text)
        size += len(text)
        if size >= CHUNK_CHARS:
            problems += _chunk_problems(chunk, pixels)
            chunk, size = [], 0
    return problems + _chunk_problems(chunk, pixels)


def _chunk_problems(strings: Sequence, pixels: int) -> list:
    problems: list = [None] * len(strings)
    ok = []
    for s, text in enumerate(strings):
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        if not _ALPHABET.fullmatch(text):
            bad = next(c for c in text if not "0" <= c <= "o")
            problems[s] = f"characters of the COCO RLE alphabet '0'..'o' only, found {bad!r}"
        elif text and ord(text[-1]) - 48 & 0x20:
            problems[s] = "a string ending with a complete number, found one cut inside a number"
        else:
            ok.append((s, text))
    if not ok:
        return problems
    lengths = np.array([len(t) for _, t in ok])
    v = np.frombuffer("".join(t for _, t in ok).encode("ascii"), np.uint8).astype(np.int64) - 48
    string_of_char = np.repeat(np.arange(len(ok)), lengths)
    ends = np.flatnonzero((v & 0x20) == 0)  # last character of each number
    starts = np.concatenate([[0], ends[:-1] + 1])
    number_of_char = np.repeat(np.arange(len(ends)), ends - starts + 1)
    k = np.arange(len(v)) - starts[number_of_char]  # 5-bit group index within its number
    x = np.add.reduceat((v & 0x1F) << (5 * k), starts) if len(ends) else np.zeros(0, np.int64)
    negative = (v[ends] & 0x10) != 0
    x[negative] -= np.int64(1) << (5 * (k[ends[negative]] + 1))
    string_of_number = string_of_char[ends]
    first = np.searchsorted(string_of_number, np.arange(len(ok)))  # first number of each string
    m = np.arange(len(ends)) - first[string_of_number]  # index of each number within its string
    counts = x.copy()
    for chain in (m >= 1) & (m % 2 == 1), (m >= 2) & (m % 2 == 0):  # count m = x[m] + count m - 2, per parity
        running = np.cumsum(np.where(chain, x, 0))
        before = np.concatenate([[0], running])[first]  # running total before each string
        counts[chain] = running[chain] - before[string_of_number[chain]]
    totals = np.bincount(string_of_number, weights=counts, minlength=len(ok))
    negative_run = np.bincount(string_of_number, weights=counts < 0, minlength=len(ok)) > 0
    for j, (s, _) in enumerate(ok):
        if negative_run[j]:
            problems[s] = "non-negative run lengths, found a negative one"
        elif totals[j] != pixels:
            problems[s] = f"run lengths covering {pixels} pixels, found {int(totals[j])} (a string cut short?)"
    return problems
