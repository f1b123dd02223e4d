"""Reasons a consultant reads: the three factors that raise a person's risk most and the three that lower it most.

Faithful to the model
---------------------
The factors are the model's own contributions (:meth:`RiskModel.contributions`):
one value per input group on the ``-log`` cumulative-hazard scale, relative to
the typical training form, positive when the group raises the risk of a long
absence. For the additive family they are exact (the terms of the model); for
the boosted family they are baseline Shapley values, the sum exact and the split
between groups an estimate (see the model's docstring). A group is named only
when its effect is at least :data:`MIN_EFFECT` (the cumulative hazard moves by
about 5 %, some 2 percentage points of risk for a typical form): smaller effects
are noise to a reader. Ties are broken by the group's position in the model.

What is written
---------------
Each group is described by the person's own answer ("forventer at være væk i mere
end 13 uger", "hårdt fysisk arbejde med en diagnose i ryg, muskler eller led"),
prefixed ``↑`` when it raises the risk and ``↓`` when it lowers it, joined by
``"; "``. A form received after 13 weeks of absence is in the late queue (see
``_rank``): its reasons explain its risk at the next horizon (22, then 52 weeks),
which is what orders that queue, and the weeks absent, which put it there, are
not named.

Everything is vectorised: each group's phrases are a small list and each person
holds a code into it, the top groups are found with one ``argsort`` over a matrix
of a dozen columns, and the text is assembled by Arrow from the codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.features import answer_codes
from screening.intake import LANGUAGES, Language, load_contract

#: Smallest contribution (``-log`` cumulative hazard) that is named as a reason.
MIN_EFFECT = 0.05
#: Reasons of each direction, at most.
TOP = 3
ARROWS = {"up": "↑", "down": "↓"}
SEPARATOR = "; "
#: Model input group -> the form column that describes it, where the names differ.
GROUP_SOURCES: dict[str, str] = {"weeks_absent": "sick_weeks", "diagnosis": "diagnosis_group"}
WEEKS_GROUP = "weeks_absent"

_MISSING = None
# Phrases: column -> answer -> (Danish, English). ``None`` is a blank answer.
PHRASES: dict[str, dict[object, tuple[str, str]]] = {
    "expected_return": {
        "within_4_weeks": ("forventer at være tilbage inden for 4 uger", "expects to be back within 4 weeks"),
        "4_to_8_weeks": ("forventer at være tilbage om 4–8 uger", "expects to be back in 4–8 weeks"),
        "8_to_13_weeks": ("forventer at være tilbage om 8–13 uger", "expects to be back in 8–13 weeks"),
        "over_13_weeks": ("forventer at være væk i mere end 13 uger", "expects to be off more than 13 weeks"),
        "unknown": ("ved ikke, hvornår vedkommende kan vende tilbage", "does not know when they can return"),
        _MISSING: ("har ikke svaret på, hvornår vedkommende regner med at vende tilbage",
                   "did not say when they expect to return"),
    },
    "diagnosis_group": {
        "musculoskeletal": ("diagnose i ryg, muskler eller led", "back, muscle or joint diagnosis"),
        "mental": ("psykisk diagnose", "mental health diagnosis"),
        "cancer": ("kræftdiagnose", "cancer diagnosis"),
        "injury": ("skade eller ulykke", "injury"),
        "cardiovascular": ("hjerte-kar-sygdom", "heart or circulation diagnosis"),
        "respiratory": ("sygdom i luftvejene", "respiratory diagnosis"),
        "pregnancy": ("graviditetsrelateret fravær", "pregnancy-related absence"),
        "other": ("anden diagnose", "other diagnosis"),
        _MISSING: ("ingen diagnose oplyst", "no diagnosis given"),
    },
    "physical_load": {
        1: ("stillesiddende arbejde", "sedentary job"),
        2: ("let fysisk arbejde", "light physical job"),
        3: ("middel fysisk arbejde", "moderately physical job"),
        4: ("hårdt fysisk arbejde", "heavy physical job"),
        _MISSING: ("fysisk belastning ikke oplyst", "physical load not given"),
    },
    "employment_status": {
        "employed": ("i job", "employed"),
        "unemployed": ("ledig", "unemployed"),
        "self_employed": ("selvstændig", "self-employed"),
        _MISSING: ("beskæftigelse ikke oplyst", "employment status not given"),
    },
    "partial_sick_leave": {
        True: ("delvist sygemeldt (arbejder stadig nogle timer)", "partly sick-listed (still working some hours)"),
        False: ("fuldt sygemeldt", "fully sick-listed"),
        _MISSING: ("ikke oplyst om delvis sygemelding", "not stated whether partly sick-listed"),
    },
    "employer_contact": {
        True: ("har talt med arbejdsgiveren om at vende tilbage", "has talked with the employer about returning"),
        False: ("har ikke talt med arbejdsgiveren", "has not talked with the employer"),
        _MISSING: ("ikke oplyst om kontakt med arbejdsgiveren", "contact with the employer not stated"),
    },
    "treatment": {
        "none": ("ingen aktuel behandling", "no current treatment"),
        "gp": ("behandles hos egen læge", "treated by own doctor"),
        "specialist": ("behandles hos speciallæge", "treated by a specialist"),
        "hospital": ("i behandling på sygehus", "in hospital treatment"),
        "waiting_list": ("venter på behandling", "on a waiting list for treatment"),
        _MISSING: ("behandling ikke oplyst", "treatment not stated"),
    },
    "sex": {
        "F": ("kvinde", "woman"),
        "M": ("mand", "man"),
        "X": ("andet køn", "other sex"),
        _MISSING: ("køn ikke oplyst", "sex not given"),
    },
}
#: Diagnosis as the second half of "physical load with diagnosis".
WITH_DIAGNOSIS: dict[object, tuple[str, str]] = {
    "musculoskeletal": ("med en diagnose i ryg, muskler eller led", "with a back, muscle or joint diagnosis"),
    "mental": ("med en psykisk diagnose", "with a mental health diagnosis"),
    "cancer": ("med en kræftdiagnose", "with a cancer diagnosis"),
    "injury": ("efter en skade eller ulykke", "after an injury"),
    "cardiovascular": ("med en hjerte-kar-sygdom", "with a heart or circulation diagnosis"),
    "respiratory": ("med en sygdom i luftvejene", "with a respiratory diagnosis"),
    "pregnancy": ("under graviditet", "during pregnancy"),
    "other": ("med en anden diagnose", "with another diagnosis"),
    _MISSING: ("uden oplyst diagnose", "with no diagnosis given"),
}
#: Numbers described by a range: column -> (upper bounds, phrases per range, phrase when blank).
#: A value belongs to the first range whose bound it is below.
RANGES: dict[str, tuple[tuple[float, ...], tuple[tuple[str, str], ...], tuple[str, str]]] = {
    "sick_weeks": (
        (2, 4, 8, 13, np.inf),
        (("sygemeldt under 2 uger, da skemaet kom", "off sick under 2 weeks when the form arrived"),
         ("sygemeldt 2–4 uger, da skemaet kom", "off sick 2–4 weeks when the form arrived"),
         ("sygemeldt 4–8 uger, da skemaet kom", "off sick 4–8 weeks when the form arrived"),
         ("sygemeldt 8–13 uger, da skemaet kom", "off sick 8–13 weeks when the form arrived"),
         ("sygemeldt 13 uger eller mere, da skemaet kom", "off sick 13 weeks or more when the form arrived")),
        ("antal uger sygemeldt ikke oplyst", "weeks off sick not given"),
    ),
    "weekly_hours": (
        (20, 30, 37, np.inf),
        (("deltid under 20 timer om ugen", "part-time, under 20 hours a week"),
         ("deltid 20–29 timer om ugen", "part-time, 20–29 hours a week"),
         ("30–36 timer om ugen", "30–36 hours a week"),
         ("fuld tid (37 timer om ugen eller mere)", "full-time (37 hours a week or more)")),
        ("arbejdstid ikke oplyst", "working hours not given"),
    ),
    "prior_sick_weeks_12m": (
        (1, 5, 13, np.inf),
        (("intet sygefravær i året før", "no sick leave in the year before"),
         ("1–4 ugers sygefravær i året før", "1–4 weeks of sick leave in the year before"),
         ("5–12 ugers sygefravær i året før", "5–12 weeks of sick leave in the year before"),
         ("mere end 12 ugers sygefravær i året før", "more than 12 weeks of sick leave in the year before")),
        ("tidligere sygefravær ikke oplyst", "earlier sick leave not stated"),
    ),
}
#: Whole numbers described by their value: column -> (template, phrase when blank). Range from the contract.
VALUES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "age": (("{value} år gammel", "aged {value}"), ("alder ikke oplyst", "age not given")),
    "work_ability": (
        ("vurderer sin arbejdsevne til {value} af 10", "rates own work ability {value} of 10"),
        ("har ikke vurderet sin arbejdsevne", "did not rate their work ability"),
    ),
}
_JOIN = {"da": " og ", "en": " and "}


def _language_index(language: Language) -> int:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return LANGUAGES.index(language)


@dataclass(frozen=True)
class _Described:
    """One group described for every form: a code per form into a list of phrases."""

    codes: np.ndarray  # int32, one per form
    phrases: list[str]


def _source(group: str) -> str:
    return GROUP_SOURCES.get(group, group)


def _categorical(values: pd.Series, table: dict[object, tuple[str, str]], lang: int) -> _Described:
    answers = [key for key in table if key is not _MISSING]
    codes = answer_codes(values, answers).astype(np.int32)
    codes[codes < 0] = len(answers)  # blank (or, defensively, an answer without a phrase)
    phrases = [table[answer][lang] for answer in answers] + [table[_MISSING][lang]]
    return _Described(codes, phrases)


def _ranged(values: pd.Series, spec: tuple, lang: int) -> _Described:
    bounds, texts, blank = spec
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    codes = np.searchsorted(np.asarray(bounds[:-1], dtype=np.float64), numbers, side="right").astype(np.int32)
    codes[np.isnan(numbers)] = len(texts)
    return _Described(codes, [text[lang] for text in texts] + [blank[lang]])


def _valued(column: str, values: pd.Series, lang: int) -> _Described:
    spec = load_contract().fields[column]
    (template, blank) = VALUES[column]
    low, high = int(spec.minimum), int(spec.maximum)
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    inside = ~np.isnan(numbers) & (numbers >= low) & (numbers <= high)
    codes = np.full(len(values), high - low + 1, dtype=np.int32)
    codes[inside] = numbers[inside].astype(np.int32) - low
    phrases = [template[lang].format(value=value) for value in range(low, high + 1)] + [blank[lang]]
    return _Described(codes, phrases)


def _generic(column: str, values: pd.Series, lang: int) -> _Described:
    """A group with no phrase table (an input added later): its name and the answer, as given."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    codes = codes.astype(np.int32)
    codes[codes < 0] = len(uniques)
    blank = "ikke oplyst" if lang == 0 else "not given"
    phrases = [f"{column}: {value}" for value in uniques.tolist()] + [f"{column}: {blank}"]
    return _Described(codes, phrases)


def _describe_column(column: str, forms: pd.DataFrame, lang: int) -> _Described:
    if column not in forms.columns:
        return _Described(np.zeros(len(forms), dtype=np.int32), [column])
    values = forms[column]
    if column in PHRASES:
        return _categorical(values, PHRASES[column], lang)
    if column in RANGES:
        return _ranged(values, RANGES[column], lang)
    if column in VALUES:
        return _valued(column, values, lang)
    return _generic(column, values, lang)


def _describe_group(group: str, forms: pd.DataFrame, lang: int) -> _Described:
    parts = group.split(" x ")
    if len(parts) == 1:
        return _describe_column(_source(group), forms, lang)
    sources = [_source(part) for part in parts]
    if sorted(sources) == ["diagnosis_group", "physical_load"]:
        load = _describe_column("physical_load", forms, lang)
        diagnosis = _categorical(forms["diagnosis_group"], WITH_DIAGNOSIS, lang) if "diagnosis_group" in forms else \
            _Described(np.zeros(len(forms), dtype=np.int32), [WITH_DIAGNOSIS[_MISSING][lang]])
        first, second, glue = load, diagnosis, " "
    else:
        first, second = (_describe_column(source, forms, lang) for source in sources[:2])
        glue = _JOIN[LANGUAGES[lang]]
    codes = first.codes * len(second.phrases) + second.codes
    phrases = [f"{a}{glue}{b}" for a in first.phrases for b in second.phrases]
    return _Described(codes.astype(np.int32), phrases)


def phrase_table(groups: Sequence[str], forms: pd.DataFrame, language: Language = "da") -> tuple[np.ndarray, list[str]]:
    """Each form's phrase for each group.

    Returns
    -------
    codes : ndarray of int32, shape (n_forms, n_groups)
        Index into ``phrases`` of the phrase describing the form's answer for each group.
    phrases : list of str
    """
    lang = _language_index(language)
    codes = np.empty((len(forms), len(groups)), dtype=np.int32)
    phrases: list[str] = []
    for k, group in enumerate(groups):
        described = _describe_group(group, forms, lang)
        codes[:, k] = described.codes + len(phrases)
        phrases.extend(described.phrases)
    return codes, phrases


@dataclass(frozen=True)
class Selection:
    """The groups chosen as reasons, per form.

    Attributes
    ----------
    up, down : ndarray of int, shape (n_forms, TOP)
        Column index of the group (in the contributions' columns) of each reason,
        largest effect first; -1 where there is no reason in that slot.
    """

    up: np.ndarray
    down: np.ndarray


def select(
    contributions: np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    already_absent: np.ndarray | None = None,
    top: int = TOP,
    min_effect: float = MIN_EFFECT,
) -> Selection:
    """The ``top`` groups raising and lowering each form's risk most (vectorised).

    For a form already absent past the 13-week horizon, the weeks absent are what
    the first reason says, so that group is not named again.
    """
    values = np.asarray(contributions, dtype=np.float64)
    if groups is not None and already_absent is not None and WEEKS_GROUP in groups and np.any(already_absent):
        values = values.copy()
        values[np.asarray(already_absent, dtype=bool), list(groups).index(WEEKS_GROUP)] = 0.0
    n, width = values.shape
    top = min(top, width)
    up = np.full((n, top), -1, dtype=np.int64)
    down = np.full((n, top), -1, dtype=np.int64)
    # The largest effects one at a time: argmax and argmin give the first (earliest) group among equal
    # effects, as a stable sort would; three passes over the rows cost far less than sorting every row.
    for start in range(0, n, SELECT_CHUNK):
        block = values[start : start + SELECT_CHUNK]
        rows = np.arange(len(block))
        for slots, pick, reached, spent in ((up, np.argmax, lambda v: v >= min_effect, -np.inf),
                                            (down, np.argmin, lambda v: v <= -min_effect, np.inf)):
            work = block.copy()
            for slot in range(top):
                chosen = pick(work, axis=1)
                effect = work[rows, chosen]
                slots[start + rows, slot] = np.where(reached(effect), chosen, -1)
                work[rows, chosen] = spent
    return Selection(up=up, down=down)


#: Rows selected at a time (bounds the copies :func:`select` makes).
SELECT_CHUNK = 65_536


#: Forms whose reasons are assembled at a time (bounds the memory of the text columns).
TEXT_CHUNK = 131_072


def reasons_text(
    selection: Selection,
    codes: np.ndarray,
    phrases: list[str],
    *,
    language: Language = "da",
) -> pa.ChunkedArray:
    """The reasons cell of every form, assembled by Arrow from phrase codes, chunk by chunk.

    Each slot (three up, three down) holds the phrase, ``"; "`` + the phrase when an
    earlier slot of the row holds one, or ``""``; the slots are concatenated without
    separator. (Arrow 25's ``binary_join_element_wise`` with
    ``null_handling="skip"`` drops rows on some inputs, so no nulls are joined.)
    """
    _language_index(language)
    n = len(codes)
    slot_phrases: list[tuple[np.ndarray, list[str]]] = []
    for direction, chosen in (("up", selection.up), ("down", selection.down)):
        texts = [f"{ARROWS[direction]} {phrase}" for phrase in phrases]
        slot_phrases += [(chosen[:, slot], texts) for slot in range(chosen.shape[1])]
    chunks = []
    for start in range(0, n, TEXT_CHUNK):
        rows = np.arange(start, min(start + TEXT_CHUNK, n))
        earlier = np.zeros(len(rows), dtype=bool)
        pieces = []
        for column, texts in slot_phrases:
            # vocabulary: 0 = nothing, 1..k = first reason of the row, k+1..2k = a later one
            vocabulary = pa.array(["", *texts, *(f"{SEPARATOR}{text}" for text in texts)], pa.string())
            chosen = column[rows]
            present = chosen >= 0
            phrase = codes[rows, np.where(present, chosen, 0)].astype(np.int64)
            index = np.where(present, 1 + phrase + np.where(earlier, len(texts), 0), 0)
            pieces.append(vocabulary.take(pa.array(index.astype(np.int32))))
            earlier |= present
        joined = pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]
        if len(joined) != len(rows):  # pragma: no cover - a row must never go missing silently
            raise RuntimeError(f"reasons assembled for {len(joined)} of {len(rows)} forms")
        chunks.append(joined)
    return pa.chunked_array(chunks, pa.string())


def reasons_of_one(
    effects: np.ndarray,
    groups: Sequence[str],
    forms: pd.DataFrame,
    *,
    already_absent: bool = False,
    language: Language = "da",
) -> list[tuple[str, str, str, float]]:
    """The reasons of one form as ``(direction, group, text, effect)``, in the batch's order.

    ``already_absent``: the form is past the 13-week horizon (the weeks absent are not named).
    """
    codes, phrases = phrase_table(groups, forms, language)
    selection = select(effects[None, :], groups=groups, already_absent=np.array([already_absent]))
    out: list[tuple[str, str, str, float]] = []
    for direction, chosen in (("up", selection.up[0]), ("down", selection.down[0])):
        for column in chosen:
            if column >= 0:
                out.append((direction, groups[column], phrases[codes[0, column]], float(effects[column])))
    return out


# --- one form at a time (score_one): the same tables, read with scalar look-ups ------------------


def _is_blank(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def _one_column(column: str, values: dict[str, object], lang: int) -> str:
    if column not in values:
        return column
    value = values[column]
    if column in PHRASES:
        table = PHRASES[column]
        if _is_blank(value):
            return table[_MISSING][lang]
        if isinstance(value, (bool, np.bool_)):
            key: object = bool(value)
        elif isinstance(value, (int, np.integer)):
            key = int(value)
        else:
            key = str(value)
        match = [answer for answer in table if answer is not _MISSING and answer == key
                 and isinstance(answer, bool) == isinstance(key, bool)]
        return table[match[0]][lang] if match else table[_MISSING][lang]
    if column in RANGES:
        bounds, texts, blank = RANGES[column]
        if _is_blank(value):
            return blank[lang]
        return texts[int(np.searchsorted(np.asarray(bounds[:-1], dtype=np.float64), float(value), side="right"))][lang]
    if column in VALUES:
        spec = load_contract().fields[column]
        template, blank = VALUES[column]
        if _is_blank(value) or not spec.minimum <= float(value) <= spec.maximum:
            return blank[lang]
        return template[lang].format(value=int(value))
    blank_word = "ikke oplyst" if lang == 0 else "not given"
    return f"{column}: {blank_word}" if _is_blank(value) else f"{column}: {value}"


def describe_one(group: str, values: dict[str, object], language: Language = "da") -> str:
    """The phrase for one form's answer to one group (as :func:`phrase_table` gives it)."""
    lang = _language_index(language)
    parts = group.split(" x ")
    if len(parts) == 1:
        return _one_column(_source(group), values, lang)
    sources = [_source(part) for part in parts]
    if sorted(sources) == ["diagnosis_group", "physical_load"]:
        diagnosis = values.get("diagnosis_group")
        with_diagnosis = WITH_DIAGNOSIS.get(None if _is_blank(diagnosis) else str(diagnosis), WITH_DIAGNOSIS[_MISSING])
        return f"{_one_column('physical_load', values, lang)} {with_diagnosis[lang]}"
    first, second = (_one_column(source, values, lang) for source in sources[:2])
    return f"{first}{_JOIN[LANGUAGES[lang]]}{second}"


def reasons_from_values(
    effects: np.ndarray,
    groups: Sequence[str],
    values: dict[str, object],
    *,
    already_absent: bool = False,
    language: Language = "da",
) -> list[tuple[str, str, str, float]]:
    """:func:`reasons_of_one` for a form given as a dict of typed values (no pandas)."""
    selection = select(np.asarray(effects, dtype=np.float64)[None, :], groups=groups,
                       already_absent=np.array([already_absent]))
    out: list[tuple[str, str, str, float]] = []
    for direction, chosen in (("up", selection.up[0]), ("down", selection.down[0])):
        for column in chosen:
            if column >= 0:
                out.append((direction, groups[column], describe_one(groups[column], values, language),
                            float(effects[column])))
    return out
