"""Case ids repeated anywhere in a big file, found from 16 bytes per form instead of the ids themselves.

A file read in chunks must refuse every copy of a repeated ``case_id``, also when
the copies are in different chunks. Keeping every id of a 10,000,000-form file
costs about a gigabyte; a 128-bit fingerprint (two independent 64-bit SipHash
values from :func:`pandas.util.hash_array`) costs 16 bytes. Two different ids share
a fingerprint with probability about n² / 2¹²⁹ (10⁻²⁵ for 10⁷ forms), far below
the rate of undetected hardware errors, so equal fingerprints are taken as equal ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

FINGERPRINT = np.dtype([("high", "<u8"), ("low", "<u8")])
_KEYS = ("screening-case-1", "screening-case-2")  # SipHash keys: 16 characters each


def fingerprints(ids: pd.Series) -> np.ndarray:
    """The 128-bit fingerprint of each id that is not NA (as :func:`comparable_case_ids` gives them)."""
    values = ids.dropna().to_numpy(dtype=object)
    out = np.empty(len(values), dtype=FINGERPRINT)
    if len(values):
        out["high"] = pd.util.hash_array(values, hash_key=_KEYS[0], categorize=False)
        out["low"] = pd.util.hash_array(values, hash_key=_KEYS[1], categorize=False)
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
        # Sorting 64-bit numbers is fast, sorting 128-bit records is not: only the fingerprints whose
        # first half repeats (nearly always just the repeated ids) are compared whole.
        high = np.sort(every["high"])
        repeated_high = high[1:][high[1:] == high[:-1]]
        candidates = every[np.isin(every["high"], repeated_high)]
        unique, counts = np.unique(candidates, return_counts=True)
        return cls(repeated=unique[counts > 1])

    def __len__(self) -> int:
        return len(self.repeated)

    def mask(self, ids: pd.Series) -> np.ndarray:
        """Whether each id (NA: never) is one of the repeated ones."""
        out = np.zeros(len(ids), dtype=bool)
        if not len(self.repeated):
            return out
        present = ids.notna().to_numpy()
        prints = fingerprints(ids)
        at = np.minimum(np.searchsorted(self.repeated, prints), len(self.repeated) - 1)
        out[present] = self.repeated[at] == prints
        return out
