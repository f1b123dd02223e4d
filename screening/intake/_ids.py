"""Case ids repeated anywhere in a big file, found from 16 bytes per form instead of the ids themselves.

A file read in chunks must refuse every copy of a repeated ``case_id``, also when
the copies are in different chunks. Keeping every id of a 10,000,000-form file
costs about a gigabyte; a 128-bit fingerprint costs 16 bytes.

- An id of at most 15 bytes (UTF-8), as nearly every case id is, is its own
  fingerprint: its bytes and its length, scrambled by a fixed one-to-one mixing so
  that the first 64 bits are spread evenly. Equal fingerprints are equal ids, exactly.
- A longer id is fingerprinted by two independent 64-bit SipHash values
  (:func:`pandas.util.hash_array`), 120 bits of which are kept and marked so that
  they never equal a short id's. Two different long ids share a fingerprint with
  probability about n² / 2¹²¹ (10⁻²³ for 10⁷ forms), far below the rate of
  undetected hardware errors, so equal fingerprints are taken as equal ids.

Both are computed from the Arrow column's buffers with NumPy: only ids longer
than 15 bytes become Python strings, for SipHash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

FINGERPRINT = np.dtype([("high", "<u8"), ("low", "<u8")])
_KEYS = ("screening-case-1", "screening-case-2")  # SipHash keys: 16 characters each
#: Longest id (in UTF-8 bytes) that is its own fingerprint: 15 bytes and a byte for the length.
SHORT_ID_BYTES = 15
_LENGTH_SHIFT = np.uint64(56)  # the length sits in the top byte of the second word
_LONG_MARK = np.uint64(0xFF << 56)  # ... which for a long id is 0xFF, a length no short id has
_BELOW_MARK = np.uint64((1 << 56) - 1)
_FIRST_BYTES = np.array([(1 << 8 * count) - 1 for count in range(8)] + [2**64 - 1], dtype=np.uint64)
_ROUND_KEYS = tuple(np.uint64(key) for key in (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03, 0x8CB92BA72F3D8DD7))


def _mix(word: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every bit of the result depends on every bit of ``word``."""
    word = word ^ (word >> np.uint64(30))
    word *= np.uint64(0xBF58476D1CE4E5B9)
    word ^= word >> np.uint64(27)
    word *= np.uint64(0x94D049BB133111EB)
    word ^= word >> np.uint64(31)
    return word


def _present_text(ids: pd.Series) -> pa.LargeStringArray:
    """The ids that are not NA, as one Arrow array (no copy of an Arrow-backed column's bytes but the nulls')."""
    column = pa.array(ids, type=pa.large_string(), from_pandas=True)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.drop_null() if column.null_count else column


def fingerprints(ids: pd.Series) -> np.ndarray:
    """The 128-bit fingerprint of each id that is not NA (as :func:`comparable_case_ids` gives them)."""
    column = _present_text(ids)
    n = len(column)
    out = np.empty(n, dtype=FINGERPRINT)
    if not n:
        return out
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64, count=column.offset + n + 1)[column.offset:]
    lengths = np.diff(offsets)
    # The ids' bytes back to back, with room to read 16 bytes from the start of the last one.
    padded = np.zeros(int(offsets[-1] - offsets[0]) + 16, dtype=np.uint8)
    if column.buffers()[2] is not None:
        padded[:-16] = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    at_every_byte = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))  # unaligned reads
    starts = offsets[:-1] - offsets[0]
    high = at_every_byte[starts] & _FIRST_BYTES[np.clip(lengths, 0, 8)]
    low = at_every_byte[starts + 8] & _FIRST_BYTES[np.clip(lengths - 8, 0, 7)]
    low |= lengths.astype(np.uint64) << _LENGTH_SHIFT
    long = np.flatnonzero(lengths > SHORT_ID_BYTES)
    if len(long):
        values = column.take(pa.array(long)).to_numpy(zero_copy_only=False)
        high[long] = pd.util.hash_array(values, hash_key=_KEYS[0], categorize=False)
        low[long] = (pd.util.hash_array(values, hash_key=_KEYS[1], categorize=False) & _BELOW_MARK) | _LONG_MARK
    # Three Feistel rounds: one-to-one whatever _mix is, and both halves end up depending on every byte.
    low ^= _mix(high ^ _ROUND_KEYS[0])
    high ^= _mix(low ^ _ROUND_KEYS[1])
    low ^= _mix(high ^ _ROUND_KEYS[2])
    out["high"], out["low"] = high, low
    return out


@dataclass(frozen=True)
class RepeatedIds:
    """The ids that occur more than once in a file, by fingerprint.

    Pass it to :func:`~screening.intake.validate_table` as ``duplicate_case_ids``
    when validating the file a chunk at a time.

    Attributes
    ----------
    repeated : ndarray of FINGERPRINT
        Sorted fingerprints of the repeated ids.
    """

    repeated: np.ndarray

    @classmethod
    def of(cls, parts: Iterable[np.ndarray]) -> RepeatedIds:
        """From the fingerprints of every chunk of the file."""
        every = np.concatenate([np.empty(0, dtype=FINGERPRINT), *parts])
        if len(every) < 2:
            return cls(repeated=every[:0])
        # Sorting 64-bit numbers is fast, sorting 128-bit records is not: the first halves are sorted to find those
        # that repeat, and only the records with such a first half (nearly always the repeated ids) are sorted whole.
        high = np.sort(every["high"])
        repeated_high = _distinct_of_sorted(high[1:][high[1:] == high[:-1]])
        del high
        candidates = every[_positions_in(every["high"], repeated_high) >= 0]
        del every
        candidates = candidates[np.argsort(candidates["high"])]
        high, low = candidates["high"], candidates["low"]
        if np.any((high[1:] == high[:-1]) & (low[1:] != low[:-1])):  # different ids share a first half
            candidates = candidates[np.lexsort((low, high))]
        return cls(repeated=_distinct_of_sorted(candidates[1:][candidates[1:] == candidates[:-1]]))

    def __len__(self) -> int:
        return len(self.repeated)

    def mask(self, ids: pd.Series) -> np.ndarray:
        """Whether each id (NA: never) is one of the repeated ones."""
        out = np.zeros(len(ids), dtype=bool)
        if len(self.repeated):
            out[np.flatnonzero(ids.notna().to_numpy())] = self.contains(fingerprints(ids))
        return out

    def contains(self, prints: np.ndarray) -> np.ndarray:
        """Whether each fingerprint (:func:`fingerprints`) is that of one of the repeated ids."""
        out = np.zeros(len(prints), dtype=bool)
        if not len(self.repeated) or not len(prints):
            return out
        high = np.ascontiguousarray(self.repeated["high"])  # sorted: the records are sorted by (high, low)
        distinct_high = _distinct_of_sorted(high)
        if len(distinct_high) == len(high):  # one record per first half (as good as always): the second half tells
            at = _positions_in(prints["high"], high)
            candidates = np.flatnonzero(at >= 0)
            found = self.repeated["low"][at[candidates]] == prints["low"][candidates]
        else:  # two repeated ids share a first half: compare whole records
            candidates = np.flatnonzero(_positions_in(prints["high"], distinct_high) >= 0)
            whole = np.minimum(np.searchsorted(self.repeated, prints[candidates]), len(self.repeated) - 1)
            found = self.repeated[whole] == prints[candidates]
        out[candidates[found]] = True
        return out


def _distinct_of_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array, in one pass."""
    return values[np.append(True, values[1:] != values[:-1])] if len(values) else values


def _positions_in(values: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Where each of the well-mixed 64-bit ``values`` is in ``distinct`` (sorted, no repeats); -1 where it is not.

    A bit table on the top bits rules out nearly every value at once; the rest are
    looked up by binary search, in their sorted order (the searches then walk
    ``distinct`` instead of jumping about it).
    """
    at = np.full(len(values), -1, dtype=np.intp)
    if not len(distinct):
        return at
    bits = min(24, max(12, (16 * len(distinct)).bit_length()))  # at most 1/16 of the table set, at most 16 MB
    shift = np.uint64(64 - bits)
    table = np.zeros(1 << bits, dtype=bool)
    table[distinct >> shift] = True
    maybe = np.flatnonzero(table[values >> shift])
    wanted = values[maybe]
    order = np.argsort(wanted)
    where = np.empty(len(maybe), dtype=np.intp)
    where[order] = np.minimum(np.searchsorted(distinct, wanted[order]), len(distinct) - 1)
    hit = distinct[where] == wanted
    at[maybe[hit]] = where[hit]
    return at
