"""Reasons a consultant reads, and the questions worth asking: what moves this person's risk, in words.

Each scored form gets up to three ``↑`` reasons (they raise the risk of a long
absence), up to three ``↓`` reasons (they lower it), and up to three questions
("Spørg til: ...") whose blank answers would move the risk most.

From the model's contributions to factors
-----------------------------------------
The model explains each form by its contributions (:meth:`RiskModel.contributions`):
one value per input group on the ``-log`` cumulative-hazard scale, relative to the
typical training form, positive when the group raises the risk. For the additive
family they are exact (the terms of the model); for the boosted family they are
baseline Shapley values. A reason is a *factor*, one answer of the form:

* A main effect and its interactions are one factor (the sum of their
  contributions): "physical load" and "physical load x diagnosis" are one
  factor of physical load. Its phrase names both parts ("stillesiddende arbejde
  med en diagnose i ryg, muskler eller led") when the interaction drives it
  (its share is larger than the main effect's, or the two point different
  ways), else only the main effect ("stillesiddende arbejde"). An interaction
  joins the part its phrase starts with (:data:`INTERACTION_HOME`), or its first.
* A blank answer is never a reason: it is not a risk factor but something not
  yet known. Its factor (with any interaction whose other part it is) becomes a
  candidate question instead.
* A question that does not apply (the contract's ``applies_unless``: an
  unemployed person has no employer to talk to) is neither a reason nor a
  question. Its contribution is the answer's that made it not apply, and is
  added to that factor ("ledig").

When a factor is named
----------------------
A factor is named only if it moves the risk the form is ranked by (the 13-week
risk in the early queue, the next horizon's in the late queue) by at least
:data:`MIN_EFFECT_PP` percentage points. With the form's cumulative hazard
``Λ`` to that horizon (risk ``= exp(-Λ)``) and the factor's contribution ``c``,
the form without the factor would have ``Λ' = Λ·exp(c)``, so the factor moves
the risk by ``exp(-Λ) - exp(-Λ·exp(c))``. A contribution of 0.05 is about
2 points at a risk of 0.33 and 0.5 points at 0.9: a threshold on ``c`` named
trifles for some and hid real effects for others.

And only in the direction the answer itself points. Each factor's contribution
is compared with the answer's *own effect*: the typical form with only this
answer changed to the form's (with the interaction's other part as the form's,
when the phrase names both). When the two point different ways (or the answer
is the typical one, own effect 0), the sign comes from the form's other
answers, through interactions or the weighting of the weeks, and a phrase
naming the answer would say the opposite of what it does: the factor is not
named. So "↑ forventer at være tilbage inden for 4 uger" cannot appear.

The three largest effects of each direction are named, ties broken by the
factor's position in the model. A form received after 13 weeks of absence is in
the late queue (see ``_rank``): its weeks absent, which put it there, are not named.

Questions worth asking
----------------------
For each blank answer that applies, the spread of the risk over the answers it
could have: the typical form is given each possible answer in turn (each code,
yes and no, each whole number of the contract's range) and the spread of its
``-log Λ`` is carried over to this form's ``Λ``, giving how many percentage
points knowing the answer could move this person's risk. The (at most)
:data:`TOP_QUESTIONS` largest spreads of at least :data:`MIN_EFFECT_PP` points
are listed, named by the contract's field labels: "Spørg til: egen forventning
om tilbagevenden; arbejdsevne".

Cost
----
Everything per form is vectorised: each factor's phrases are a small list and
each form holds a code into it, the top factors are found with a few ``argmax``
passes over a matrix of a dozen columns, and the text is assembled by Arrow, once
per distinct combination of phrases (a cell is then taken for each form). The
model is asked about the typical form with one answer changed, once per distinct
answer (a few hundred per model, remembered with the model), never per form.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.features import answer_codes
from screening.intake import LANGUAGES, Language, load_contract
from screening.scoring import _engine
from screening.scoring._types import QUESTION_PREFIX

#: A factor is named when it moves the risk the form is ranked by at least this many percentage points.
MIN_EFFECT_PP = 2.0
#: Reasons of each direction, at most.
TOP = 3
#: Questions worth asking, at most.
TOP_QUESTIONS = 3
ARROWS = {"up": "↑", "down": "↓"}
SEPARATOR = "; "
#: Model input group -> the form column that describes it, where the names differ.
GROUP_SOURCES: dict[str, str] = {"weeks_absent": "sick_weeks", "diagnosis": "diagnosis_group"}
WEEKS_GROUP = "weeks_absent"
#: An interaction joins the factor of the part its phrase starts with; otherwise its first part's.
INTERACTION_HOME: dict[frozenset[str], str] = {frozenset({"diagnosis", "physical_load"}): "physical_load"}

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


def _categorical(values: pd.Series, table: dict[object, tuple[str, str]], lang: int,
                 found: dict[tuple, np.ndarray] | None = None) -> _Described:
    """``found``: the codes already made for these forms, by column and answers (filled here; never changed)."""
    answers = [key for key in table if key is not _MISSING]
    key = (values.name, tuple((type(answer), answer) for answer in answers))
    codes = None if found is None else found.get(key)
    if codes is None:
        codes = answer_codes(values, answers).astype(np.int32)
        codes[codes < 0] = len(answers)  # blank (or, defensively, an answer without a phrase)
        if found is not None:
            found[key] = codes
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


def _describe_column(column: str, forms: pd.DataFrame, lang: int,
                     found: dict[tuple, np.ndarray] | None = None) -> _Described:
    if column not in forms.columns:
        return _Described(np.zeros(len(forms), dtype=np.int32), [column])
    values = forms[column]
    if column in PHRASES:
        return _categorical(values, PHRASES[column], lang, found)
    if column in RANGES:
        return _ranged(values, RANGES[column], lang)
    if column in VALUES:
        return _valued(column, values, lang)
    return _generic(column, values, lang)


def _describe_group(group: str, forms: pd.DataFrame, lang: int,
                    found: dict[tuple, np.ndarray] | None = None) -> _Described:
    """``found``: answer codes looked up before for these forms (see :func:`_categorical`)."""
    parts = group.split(" x ")
    if len(parts) == 1:
        return _describe_column(_source(group), forms, lang, found)
    sources = [_source(part) for part in parts]
    if sorted(sources) == ["diagnosis_group", "physical_load"]:
        load = _describe_column("physical_load", forms, lang, found)
        diagnosis = _categorical(forms["diagnosis_group"], WITH_DIAGNOSIS, lang, found) \
            if "diagnosis_group" in forms else \
            _Described(np.zeros(len(forms), dtype=np.int32), [WITH_DIAGNOSIS[_MISSING][lang]])
        first, second, glue = load, diagnosis, " "
    else:
        first, second = (_describe_column(source, forms, lang, found) for source in sources[:2])
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
    by_group, phrases = _phrase_rows(groups, forms, _language_index(language))
    return np.ascontiguousarray(by_group.T), phrases


def _phrase_rows(groups: Sequence[str], forms: pd.DataFrame, lang: int) -> tuple[np.ndarray, list[str]]:
    """:func:`phrase_table` with a row per group (shape (n_groups, n_forms)); a column's answers are looked up
    once however many groups describe it."""
    by_group = np.empty((len(groups), len(forms)), dtype=np.int32)
    phrases: list[str] = []
    found: dict[tuple, np.ndarray] = {}
    for k, group in enumerate(groups):
        described = _describe_group(group, forms, lang, found)
        np.add(described.codes, len(phrases), out=by_group[k])
        phrases.extend(described.phrases)
    return by_group, phrases



# --- factors: main effects with their interactions, blank and not-applicable answers -------------


@dataclass(frozen=True)
class Plan:
    """How a model's contribution groups make factors (one per main effect), from the group names alone.

    Attributes
    ----------
    groups : tuple of str
        The model's contribution groups.
    factors : tuple of str
        One per main group, named by it, in the model's order (an interaction
        whose parts are not main groups is a factor of its own).
    sources : tuple of str
        The form column each factor describes.
    main : tuple of int
        The group of each factor's main effect.
    home : tuple of int
        The factor each group joins (an interaction: :data:`INTERACTION_HOME`).
    partners : tuple of tuple of int
        For each interaction, the factors of its other parts.
    """

    groups: tuple[str, ...]
    factors: tuple[str, ...]
    sources: tuple[str, ...]
    main: tuple[int, ...]
    home: tuple[int, ...]
    partners: tuple[tuple[int, ...], ...]


@functools.lru_cache(maxsize=64)
def plan_of(groups: tuple[str, ...]) -> Plan:
    """The factors of a model's contribution groups (see :class:`Plan`)."""
    mains = [group for group in groups if " x " not in group]
    factors, main = list(mains), [groups.index(group) for group in mains]
    home, partners = [0] * len(groups), [()] * len(groups)
    for k, group in enumerate(groups):
        parts = group.split(" x ")
        if len(parts) == 1:
            home[k] = factors.index(group)
            continue
        first = INTERACTION_HOME.get(frozenset(parts), parts[0])
        if first in mains:
            home[k] = factors.index(first)
            partners[k] = tuple(factors.index(part) for part in parts if part != first and part in mains)
        else:
            factors.append(group)
            main.append(k)
            home[k] = len(factors) - 1
    sources = tuple(_source(factor.split(" x ")[0]) for factor in factors)
    return Plan(tuple(groups), tuple(factors), sources, tuple(main), tuple(home), tuple(partners))


@functools.lru_cache(maxsize=64)
def _governing(plan: Plan) -> tuple[int, ...]:
    """For each factor, the factor whose answer can make it not apply (-1: none), from the contract."""
    from screening.features import applicability_rules

    rules = applicability_rules()
    out = []
    for source in plan.sources:
        governing = [plan.sources.index(column) for column in rules.get(source, {}) if column in plan.sources]
        out.append(governing[0] if governing else -1)
    return tuple(out)


def answer_state(plan: Plan, forms: pd.DataFrame | Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """Which factors' answers are blank, and which do not apply, for each form.

    Parameters
    ----------
    plan : Plan
    forms : pandas.DataFrame or mapping
        Validated forms, or one form as a mapping of typed values.

    Returns
    -------
    blank, not_applicable : ndarray of bool, shape (n_forms, n_factors)
        A question that does not apply is not blank. A factor whose column the
        forms lack is neither.
    """
    from screening.features import not_applying

    one = not isinstance(forms, pd.DataFrame)
    n = 1 if one else len(forms)
    blank = np.zeros((n, len(plan.factors)), dtype=bool)
    inapplicable = np.zeros_like(blank)
    applies_not = not_applying(forms)
    for f, source in enumerate(plan.sources):
        if source in applies_not:
            inapplicable[:, f] = applies_not[source]
        if one:
            blank[0, f] = source in forms and _is_blank(forms[source])
        elif source in forms.columns:
            blank[:, f] = forms[source].isna().to_numpy(dtype=bool)
    return blank & ~inapplicable, inapplicable


@dataclass(frozen=True, eq=False)
class Factors:
    """Each form's contributions summed into factors.

    Attributes
    ----------
    values : ndarray, shape (n_forms, n_factors)
        The factor's contribution (``-log`` cumulative hazard): its main effect,
        the interactions that join it, and the answers that do not apply because
        of it; 0 for a question that does not apply.
    joined : dict of int to ndarray
        For each factor that interactions join: their sum on each form.
    lead : dict of int to ndarray of int
        For each factor that interactions join: the group of the largest one on
        each form (-1: none joined).
    both_parts : ndarray of bool, shape (n_forms, n_factors)
        Whether the factor's phrase names its (leading) interaction: the
        interactions' share is larger than the main effect's, or the signs differ.
    blank, not_applicable : ndarray of bool, shape (n_forms, n_factors)
        From :func:`answer_state`.
    """

    values: np.ndarray
    joined: dict[int, np.ndarray]
    lead: dict[int, np.ndarray]
    both_parts: np.ndarray
    blank: np.ndarray
    not_applicable: np.ndarray

    def phrased_group(self, plan: Plan, rows: np.ndarray, factor: int) -> np.ndarray:
        """The group each form's phrase of ``factor`` describes: the main effect, or the leading interaction."""
        main = np.full(len(rows), plan.main[factor], dtype=np.int64)
        if factor not in self.lead:
            return main
        return np.where(self.both_parts[rows, factor], self.lead[factor][rows], main)


def merge(contributions: np.ndarray, plan: Plan, blank: np.ndarray, not_applicable: np.ndarray) -> Factors:
    """Sum each form's contributions into factors (see the module docstring).

    An interaction joins its home factor, unless one of its other parts is blank
    or does not apply on that form: then it joins that part (the effect is the
    unknown answer's). A factor that does not apply passes its sum to the factor
    that governs it.
    """
    values = np.asarray(contributions, dtype=np.float64)
    n = len(values)
    main = list(plan.main)
    if main and main == list(range(main[0], main[0] + len(main))):  # the main effects side by side: a slice
        summed = values[:, main[0] : main[0] + len(main)].copy()
    else:
        summed = values[:, main]  # a copy
    joined: dict[int, np.ndarray] = {}
    lead: dict[int, np.ndarray] = {}
    lead_size: dict[int, np.ndarray] = {}
    mains = set(plan.main)
    # Masked in place (``where=``): the forms an interaction does not go to keep their sums as they were.
    for k in range(len(plan.groups)):
        if k in mains:
            continue
        home = plan.home[k]
        column = values[:, k]
        target = np.full(n, home, dtype=np.int64)
        for partner in reversed(plan.partners[k]):  # the first unknown part takes it
            target = np.where(blank[:, partner] | not_applicable[:, partner], partner, target)
        for to in np.flatnonzero(np.bincount(target, minlength=len(plan.factors))).tolist():  # a handful
            np.add(summed[:, to], column, out=summed[:, to], where=target == to)
        at_home = target == home
        if home not in joined:
            joined[home], lead[home], lead_size[home] = np.zeros(n), np.full(n, -1, np.int64), np.zeros(n)
        np.add(joined[home], column, out=joined[home], where=at_home)
        size = np.abs(column)
        larger = at_home & (size > lead_size[home])
        np.copyto(lead[home], k, where=larger)
        np.copyto(lead_size[home], size, where=larger)
    for f in np.flatnonzero(not_applicable.any(axis=0)).tolist():
        moved, governing = not_applicable[:, f], _governing(plan)[f]
        if governing >= 0:
            np.add(summed[:, governing], summed[:, f], out=summed[:, governing], where=moved)
        np.copyto(summed[:, f], 0.0, where=moved)
        if f in joined:
            np.copyto(joined[f], 0.0, where=moved)
            np.copyto(lead[f], -1, where=moved)
    both = np.zeros(summed.shape, dtype=bool)
    for f, interactions in joined.items():
        main = summed[:, f] - interactions  # with what was added for answers that do not apply
        driven = (np.abs(interactions) > np.abs(main)) | (np.sign(interactions) != np.sign(main))
        both[:, f] = (lead[f] >= 0) & (interactions != 0) & driven
    return Factors(summed, joined, lead, both, blank, not_applicable)


# --- the model's own word on single answers: the typical form with one answer changed ---------------

#: Hybrid forms whose value is remembered per model at most (then forgotten, to bound memory).
EFFECTS_MEMORY = 200_000
_EFFECTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_EFFECTS_LOCK = threading.Lock()


class AnswerEffects:
    """``-log Λ`` of the typical form with some of a form's answers, remembered per model.

    Built once per fitted model (:func:`answer_effects`). Only the model's public
    surface is used: ``reference_`` (the typical form, encoded), the encoder's
    source column of each input, and the model's risks through ``_engine.risks_encoded``.
    """

    def __init__(self, estimator: object) -> None:
        encoder = estimator.encoder_
        contract = load_contract()
        self._estimator = weakref.ref(estimator)  # kept by the model, not keeping it (see :func:`answer_effects`)
        self.reference = np.asarray(estimator.reference_, dtype=np.float64)
        self.sources = [str(source) for source in encoder.input_columns_]
        # An input belongs to the form column it is read from, or to the column the contract groups it under
        # (the ICD-10 code's chapter refines the diagnosis group).
        self._owner = [
            str(contract.fields[source].options.get("group_column") or source) if source in contract.fields
            else source for source in self.sources
        ]
        self.entry_column = self.sources.index("sick_weeks")
        self._kinds = list(encoder.kinds_)
        self._categories = [list(categories) for categories in encoder.categories_]
        self._not_applicable = dict(getattr(encoder, "not_applicable_", {}))
        self.horizons = [float(h) for h in estimator.horizons_]
        self._candidates: dict[int, np.ndarray] = {}
        self._columns: dict[str, list[int]] = {}
        self._spreads: dict[tuple, tuple[float, float]] = {}
        self._memo: dict[tuple, dict[float, float]] = {}
        self._lock = threading.Lock()

    def columns(self, source: str) -> list[int]:
        """Inputs read from a form column (or grouped under it by the contract)."""
        found = self._columns.get(source)
        if found is None:
            found = self._columns[source] = [j for j, owner in enumerate(self._owner) if owner == source]
        return list(found)

    def answer_column(self, source: str) -> int:
        """The input holding a form column's own answer (-1: none)."""
        return self.sources.index(source) if source in self.sources else -1

    def reference_entry(self, horizon: np.ndarray) -> np.ndarray:
        """The typical form's weeks absent at entry, just before ``horizon`` if it is typically absent longer."""
        return np.minimum(self.reference[self.entry_column], np.nextafter(horizon, 0))

    def reference_entry_at(self, horizon: float) -> float:
        """:meth:`reference_entry` of one horizon."""
        return float(min(self.reference[self.entry_column], np.nextafter(horizon, 0)))

    def value(self, hybrid: np.ndarray, entry: float, horizon: float) -> float:
        """:meth:`values` of one encoded form."""
        found = self._memo.get((entry, hybrid.tobytes()))
        if found is None:
            return float(self.values(hybrid[None, :], np.array([entry]), horizon)[0])
        return found[horizon]

    def candidates(self, column: int) -> np.ndarray:
        """Every answer an input could have (encoded): each code, yes and no, each whole number of the range."""
        found = self._candidates.get(column)
        if found is not None:
            return found
        kind, categories, source = self._kinds[column], self._categories[column], self.sources[column]
        inapplicable = self._not_applicable.get(source, {}).get("code")
        spec = load_contract().fields.get(source)
        if kind == "boolean":
            found = np.array([0.0, 1.0])
        elif categories:
            found = np.array([float(i) for i in range(len(categories)) if float(i) != inapplicable])
        elif spec is None or spec.minimum is None or spec.maximum is None:
            found = np.zeros(0)
        else:
            found = np.arange(np.ceil(spec.minimum), np.floor(spec.maximum) + 1.0)
        self._candidates[column] = found
        return found

    def spread(self, column: int, columns: list[int], blank: np.ndarray, horizon: float) -> tuple[float, float]:
        """How far below and above the blank answer's ``-log Λ`` the possible answers of input ``column`` take
        the typical form (its inputs ``columns`` as the form's, ``blank``), at ``horizon``."""
        key = (column, tuple(columns), blank.tobytes(), horizon)
        found = self._spreads.get(key)
        if found is None:
            base = self.reference.copy()
            base[columns] = blank
            hybrids = np.repeat(base[None, :], len(self.candidates(column)) + 1, axis=0)
            hybrids[1:, column] = self.candidates(column)
            start = np.full(len(hybrids), self.reference_entry(np.array(horizon)))
            value = self.values(hybrids, start, horizon)
            found = (float(np.nanmin(value[1:]) - value[0]), float(np.nanmax(value[1:]) - value[0]))
            with self._lock:
                if len(self._spreads) >= EFFECTS_MEMORY:
                    self._spreads.clear()
                self._spreads[key] = found
        return found

    def values(self, hybrids: np.ndarray, entry: np.ndarray, horizon: float) -> np.ndarray:
        """``-log Λ`` from ``entry`` to ``horizon`` of encoded forms (one model call for those not seen before).

        The model is asked for every horizon it knows at once, as scoring asks it
        (so no table of the model's is made for a horizon alone), and all are kept.
        """
        keys = [(float(e), row.tobytes()) for row, e in zip(hybrids, entry.tolist())]
        found = [self._memo.get(key) for key in keys]
        todo = [i for i, value in enumerate(found) if value is None]
        if todo:
            risk = _engine.risks_encoded(self._estimator(), hybrids[todo], entry[todo])
            with np.errstate(divide="ignore", invalid="ignore"):
                made = -np.log(-np.log(risk))
            with self._lock:
                if len(self._memo) + len(todo) > EFFECTS_MEMORY:
                    self._memo.clear()
                for i, value in zip(todo, made):
                    self._memo[keys[i]] = found[i] = dict(zip(self.horizons, value.tolist()))
        return np.array([value[horizon] for value in found], dtype=np.float64)


def answer_effects(estimator: object) -> AnswerEffects:
    """The :class:`AnswerEffects` of a fitted model (made on first use, kept as long as the model)."""
    with _EFFECTS_LOCK:
        effects = _EFFECTS.get(estimator)
        if effects is None:
            effects = _EFFECTS[estimator] = AnswerEffects(estimator)
        return effects


#: Up to this many values, distinct ones are found with a dictionary (a form or a few: pandas' set-up costs more).
_FEW = 64


def _factorize(values: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Code of each value among the distinct ones in order of first appearance (NaN one of them), how many
    there are, and those values."""
    if len(values) > _FEW:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return codes.astype(np.int64), len(uniques), np.asarray(uniques)
    seen: dict[object, int] = {}
    firsts: list[object] = []
    codes = []
    for value in values.tolist():
        code = seen.setdefault("nan" if value != value else value, len(seen))
        if code == len(firsts):
            firsts.append(value)
        codes.append(code)
    return np.asarray(codes, dtype=np.int64), len(seen), np.asarray(firsts, dtype=values.dtype)


def _distinct(values: np.ndarray) -> list:
    """The distinct values of an array, in order (a set for a few, a sort for many)."""
    return sorted(set(values.tolist())) if len(values) <= _FEW else np.unique(values).tolist()


def _first_of(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct key, and each row's distinct key (hash-based, no sort)."""
    codes = _factorize(key)[0]
    if not len(codes):
        return np.zeros(0, dtype=np.int64), codes
    # Codes are numbered in order of first appearance: a row holds a new one where it passes all before it.
    seen = np.maximum.accumulate(np.r_[-1, codes[:-1]])
    return np.flatnonzero(codes > seen), codes


class _Codes:
    """Each input of a batch of encoded forms as the code of its value among the batch's distinct values
    (NaN one of them), made once per input and batch; the horizon too."""

    def __init__(self, X: np.ndarray, horizon: np.ndarray) -> None:
        self.X = X
        self.horizon, self.horizons, self.horizon_values = _factorize(horizon)
        self._columns: dict[int, tuple[np.ndarray, int, np.ndarray]] = {}

    def column(self, j: int) -> tuple[np.ndarray, int, np.ndarray]:
        """Codes of input ``j``, how many distinct values, and those values."""
        found = self._columns.get(j)
        if found is None:
            found = self._columns[j] = _factorize(self.X[:, j])
        return found


def _hybrid_values(effects: AnswerEffects, codes: _Codes, entry: np.ndarray, horizon: np.ndarray,
                   rows: np.ndarray | None, columns: list[int], taken: list[np.ndarray | None], *,
                   weeks: bool) -> np.ndarray:
    """``-log Λ`` of the typical form given, for each of ``rows`` (None: every form), the form's inputs in
    ``columns`` (for the k-th, on the rows where ``taken[k]``, all when None); the form's weeks absent too
    when ``weeks``.

    The model is asked once per distinct hybrid form, found by a key made of the inputs' codes.
    """
    if rows is not None and len(rows) <= _FEW:  # a form or a few: each hybrid looked up on its own
        out = np.full(len(rows), np.nan)
        for i, row in enumerate(rows.tolist()):
            at = float(horizon[row])
            if at == at:
                hybrid = effects.reference.copy()
                for j, where in zip(columns, taken):
                    if where is None or where[i]:
                        hybrid[j] = codes.X[row, j]
                start = float(entry[row]) if weeks else effects.reference_entry_at(at)
                out[i] = effects.value(hybrid, start, at)
        return out
    every = rows is None  # all forms of the batch: no gathering
    key, bound, numbered = (codes.horizon if every else codes.horizon[rows]), codes.horizons, True
    for j, where in zip(columns, taken):
        column, count, _ = codes.column(j)
        column = column if every else column[rows]
        part = column if where is None else np.where(where, column, count)  # count: the typical answer
        key, bound = key * (count + 1) + part, bound * (count + 1)
        if bound > 2**40:  # keep the key exact: renumber it (it no longer spells the codes)
            key, bound, _ = _factorize(key)
            numbered = False
    if numbered and bound <= DENSE_KEYS:
        return _dense_hybrid_values(effects, codes, key, bound, columns, weeks=weeks)
    first, inverse = _first_of(key)
    chosen = first if every else rows[first]
    reference = effects.reference
    hybrids = np.repeat(reference[None, :], len(first), axis=0)
    for j, where in zip(columns, taken):
        values = codes.X[chosen, j]
        hybrids[:, j] = values if where is None else np.where(where[first], values, reference[j])
    at = horizon[chosen]
    start = entry[chosen] if weeks else effects.reference_entry(at)
    out = np.full(len(first), np.nan)
    for value in np.unique(at[~np.isnan(at)]).tolist():
        some = at == value
        out[some] = effects.values(hybrids[some], start[some], value)
    return out[inverse]


#: Keys of hybrid forms up to this many are looked up in a table (no second hashing of every form).
DENSE_KEYS = 1 << 22


def _dense_hybrid_values(effects: AnswerEffects, codes: _Codes, key: np.ndarray, bound: int, columns: list[int],
                         *, weeks: bool) -> np.ndarray:
    """:func:`_hybrid_values` from a key that numbers every combination of horizon and input codes: the hybrid
    forms are rebuilt from the distinct values themselves, evaluated once, and looked up by key."""
    present = np.flatnonzero(np.bincount(key, minlength=bound))
    reference = effects.reference
    hybrids = np.repeat(reference[None, :], len(present), axis=0)
    rest = present
    for j in reversed(columns):
        _, count, values = codes.column(j)
        rest, part = np.divmod(rest, count + 1)
        hybrids[:, j] = np.r_[values.astype(np.float64), reference[j]][part]  # code ``count``: the typical
    at = codes.horizon_values.astype(np.float64)[rest]
    start = hybrids[:, effects.entry_column] if weeks else effects.reference_entry(at)
    table = np.full(bound, np.nan)
    for value in _distinct(at[~np.isnan(at)]):
        some = at == value
        table[present[some]] = effects.values(hybrids[some], start[some], value)
    return table[key]


def own_effects(effects: AnswerEffects, plan: Plan, factors: Factors, X: np.ndarray, entry: np.ndarray,
                horizon: np.ndarray, named: np.ndarray, *, codes: _Codes | None = None) -> np.ndarray:
    """The effect of each factor's answer on its own, where ``named`` (elsewhere 0).

    The typical form with only the factor's answer changed to the form's (and
    the answers that do not apply because of it), minus the typical form; for a
    phrase that names an interaction, both in the context of the form's answer
    to the interaction's other part.
    """
    named = np.asfortranarray(named)  # a factor's forms are one column: contiguous
    out = np.zeros(named.shape, order="F")
    both = factors.both_parts
    governing = _governing(plan)
    codes = _Codes(X, horizon) if codes is None else codes
    many = len(named) > _FEW  # then every form is looked up (cheaper than gathering the named ones)
    typical = np.full(len(named), np.nan)  # the typical form itself, at each form's horizon
    for code, value in enumerate(codes.horizon_values.tolist()):
        if value == value:
            typical[codes.horizon == code] = effects.value(effects.reference, effects.reference_entry_at(value), value)
    for f in np.flatnonzero(named.any(axis=0)).tolist():
        source = plan.sources[f]
        rows = np.flatnonzero(named[:, f]) if not many or f in factors.lead else None
        weeks = plan.factors[f] == WEEKS_GROUP
        columns = effects.columns(source)
        taken: list[np.ndarray | None] = [None] * len(columns)
        for g in (g for g, by in enumerate(governing) if by == f):  # the answers that do not apply because of it
            extra = effects.columns(plan.sources[g])
            columns = columns + extra
            taken += [factors.not_applicable[:, g] if many else factors.not_applicable[rows, g]] * len(extra)
        if many:
            alone = _hybrid_values(effects, codes, entry, horizon, None, columns, taken, weeks=weeks) - typical
            out[:, f] = np.where(named[:, f], alone, 0.0)
            if rows is None:  # no interaction joins this factor
                continue
            taken = [None if where is None else where[rows] for where in taken]
        else:
            out[rows, f] = _hybrid_values(effects, codes, entry, horizon, rows, columns, taken, weeks=weeks) \
                - typical[rows]
        in_context = both[rows, f]
        if in_context.any():
            sub = rows[in_context]
            partner_columns = list(dict.fromkeys(
                j for k in sorted(set(factors.lead[f][sub].tolist()))
                for p in plan.partners[k] for j in effects.columns(plan.sources[p])))
            sub_taken = [None if where is None else where[in_context] for where in taken]
            with_partner = _hybrid_values(effects, codes, entry, horizon, sub, columns + partner_columns,
                                          sub_taken + [None] * len(partner_columns), weeks=weeks)
            partner = _hybrid_values(effects, codes, entry, horizon, sub, partner_columns,
                                     [None] * len(partner_columns), weeks=False)
            out[sub, f] = with_partner - partner
    np.copyto(out, 0.0, where=~np.isfinite(out))  # np.nan_to_num(nan=0, posinf=0, neginf=0), in place
    return out


def risk_moved(values: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """Percentage points a factor of contribution ``values`` moves a risk (``exp(-Λ) - exp(-Λ·exp(c))``).

    Parameters
    ----------
    values : ndarray, shape (n_forms, n_factors)
        Contributions on the ``-log`` cumulative-hazard scale.
    risk : ndarray, shape (n_forms,)
        The risk the form is ranked by (``exp(-Λ)``); NaN: no risk left (0 points).
    """
    risk = np.asarray(risk, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cumulative = -np.log(risk)
        moved = 100.0 * (risk - np.exp(-cumulative * np.exp(values)))
    return np.nan_to_num(moved, nan=0.0)


def question_spreads(effects: AnswerEffects, plan: Plan, factors: Factors, X: np.ndarray, entry: np.ndarray,
                     horizon: np.ndarray, risk: np.ndarray, *, codes: _Codes | None = None) -> np.ndarray:
    """Percentage points the possible answers of each blank answer spread the form's risk over (0 elsewhere).

    The typical form (with the form's blank answer) is given each possible answer
    (:meth:`AnswerEffects.candidates`); the range of its ``-log Λ`` around the
    blank's is carried over to the form's ``Λ``.
    """
    out = np.zeros(factors.blank.shape)
    risk = np.asarray(risk, dtype=np.float64)
    codes = _Codes(X, horizon) if codes is None else codes
    for f in np.flatnonzero(factors.blank.any(axis=0)).tolist():
        source, rows = plan.sources[f], np.flatnonzero(factors.blank[:, f] & ~np.isnan(risk))
        column = effects.answer_column(source)
        if not len(rows) or column < 0 or plan.factors[f] == WEEKS_GROUP:
            continue
        if not len(effects.candidates(column)):
            continue
        columns = effects.columns(source)
        if len(rows) <= _FEW:
            first, inverse = np.arange(len(rows)), np.arange(len(rows))
        else:
            key, bound = codes.horizon[rows], codes.horizons
            for j in columns:  # the blank's inputs (a diagnosis: its group and chapter), a few distinct ones
                codes_j, count, _ = codes.column(j)
                key, bound = key * count + codes_j[rows], bound * count
            first, inverse = _first_of(key)
        low, high = np.zeros(len(first)), np.zeros(len(first))
        for u, row in enumerate(rows[first].tolist()):
            low[u], high[u] = effects.spread(column, columns, X[row, columns], float(horizon[row]))
        r = risk[rows]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cumulative = -np.log(r)
            highest, lowest = np.exp(-cumulative * np.exp(-high[inverse])), np.exp(-cumulative * np.exp(-low[inverse]))
            spread = 100.0 * (highest - lowest)
        out[rows, f] = np.nan_to_num(spread, nan=0.0)
    return out


# --- choosing reasons and questions -----------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The factors chosen as reasons, per form.

    Attributes
    ----------
    up, down : ndarray of int, shape (n_forms, TOP)
        Column index of the factor of each reason, largest effect first; -1
        where there is no reason in that slot.
    """

    up: np.ndarray
    down: np.ndarray


#: Rows selected at a time (bounds the copies :func:`select` makes).
SELECT_CHUNK = 65_536


def _top(values: np.ndarray, top: int, at_least: float | np.ndarray, pick=np.argmax,
         spent: float = -np.inf) -> np.ndarray:
    """The ``top`` largest (``pick``) entries of each row reaching ``at_least`` (one bound, or one per row),
    earliest first among equals."""
    n, width = values.shape
    top = min(top, width)
    out = np.full((n, top), -1, dtype=np.int64)
    bound = np.broadcast_to(np.asarray(at_least, dtype=np.float64), (n,))
    if n <= _FEW:  # a form or a few: the stable sort itself
        sign = -1.0 if pick is np.argmax else 1.0
        for i, (row, limit) in enumerate(zip(values.tolist(), bound.tolist())):
            ranked = sorted(range(width), key=lambda k: (sign * row[k], k))[:top]
            out[i] = [k if (row[k] >= limit if sign < 0 else row[k] <= limit) else -1 for k in ranked]
        return out
    # One at a time: argmax gives the first (earliest) column among equal values, as a stable sort would;
    # three passes over the rows cost far less than sorting every row.
    for start in range(0, n, SELECT_CHUNK):
        work = values[start : start + SELECT_CHUNK].copy()
        rows = np.arange(len(work))
        limit = bound[start : start + SELECT_CHUNK]
        for slot in range(top):
            chosen = pick(work, axis=1)
            effect = work[rows, chosen]
            reached = effect >= limit if pick is np.argmax else effect <= limit
            out[start + rows, slot] = np.where(reached, chosen, -1)
            work[rows, chosen] = spent
    return out


def select(
    values: np.ndarray,
    *,
    risk: np.ndarray,
    named: np.ndarray | None = None,
    groups: Sequence[str] | None = None,
    already_absent: np.ndarray | None = None,
    top: int = TOP,
    min_effect_pp: float = MIN_EFFECT_PP,
) -> Selection:
    """The ``top`` factors raising and lowering each form's risk most (vectorised).

    Parameters
    ----------
    values : ndarray, shape (n_forms, n_factors)
        Contributions (``-log`` cumulative hazard) of each factor.
    risk : ndarray, shape (n_forms,)
        The risk each form is ranked by; a factor is named when it moves it by
        at least ``min_effect_pp`` percentage points (:func:`risk_moved`).
    named : ndarray of bool, shape (n_forms, n_factors), optional
        Factors that may be named at all (answered, applicable, in the direction
        of the answer's own effect); all by default.
    groups : sequence of str, optional
        The factors' names, to find the weeks absent.
    already_absent : ndarray of bool, optional
        Forms past the 13-week horizon: the weeks absent are what put them in
        their queue, so they are not named again.
    """
    values = np.asarray(values, dtype=np.float64)
    if groups is not None and already_absent is not None and WEEKS_GROUP in groups and np.any(already_absent):
        allowed = np.ones(values.shape, dtype=bool) if named is None else np.array(named, dtype=bool)
        allowed[np.asarray(already_absent, dtype=bool), list(groups).index(WEEKS_GROUP)] = False
        named = allowed
    return _select(values, *effect_bounds(risk, min_effect_pp), named=named, top=top)


def _select(values: np.ndarray, raising: np.ndarray, lowering: np.ndarray, *, named: np.ndarray | None,
            top: int) -> Selection:
    """:func:`select` with the bounds of :func:`effect_bounds` already found."""
    if named is not None:
        values = np.where(named, values, 0.0)
    return Selection(up=_top(values, top, raising), down=_top(values, top, lowering, pick=np.argmin, spent=np.inf))


def effect_bounds(risk: np.ndarray, min_effect_pp: float = MIN_EFFECT_PP) -> tuple[np.ndarray, np.ndarray]:
    """The smallest contribution that raises, and the largest that lowers, each risk by ``min_effect_pp`` points.

    From ``exp(-Λ) - exp(-Λ·exp(c)) >= t``: ``c >= log(-log(exp(-Λ) - t) / Λ)``, and
    likewise downwards; ``+inf`` (``-inf``) where the risk cannot move that far.
    Comparing a contribution with these is comparing the points it moves the
    risk (:func:`risk_moved`) with ``min_effect_pp``, without a power per factor.
    """
    risk = np.asarray(risk, dtype=np.float64)
    step = min_effect_pp / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cumulative = -np.log(risk)
        raising = np.log(-np.log(risk - step) / cumulative)
        lowering = np.log(-np.log(risk + step) / cumulative)
    raising = np.where(np.isnan(raising) | (risk - step <= 0), np.inf, raising)
    lowering = np.where(np.isnan(lowering) | (risk + step >= 1), -np.inf, lowering)
    return raising, lowering


@dataclass(frozen=True)
class Explanation:
    """What the consultant reads about each form, as codes (text is assembled from them).

    Attributes
    ----------
    plan : Plan
    factors : Factors
    selection : Selection
        Reasons: factor columns, largest first (-1: none).
    questions : ndarray of int, shape (n_forms, TOP_QUESTIONS)
        Factor columns of the questions worth asking, largest spread first (-1: none).
    """

    plan: Plan
    factors: Factors
    selection: Selection
    questions: np.ndarray


def explain(
    estimator: object,
    X: np.ndarray,
    entry: np.ndarray,
    contributions: np.ndarray,
    groups: Sequence[str],
    forms: pd.DataFrame | Mapping[str, object],
    *,
    risk: np.ndarray,
    horizon: np.ndarray,
    already_absent: np.ndarray,
    min_effect_pp: float = MIN_EFFECT_PP,
) -> Explanation:
    """Reasons and questions of scored forms (see the module docstring).

    Parameters
    ----------
    estimator : RiskModel
        The fitted model that scored the forms.
    X, entry : ndarray
        The forms as the model encodes them (``RiskModel.encode``).
    contributions : ndarray, shape (n_forms, n_groups)
        At each form's ``horizon``; columns ``groups``.
    groups : sequence of str
    forms : pandas.DataFrame or mapping
        The validated forms (one form: a mapping of typed values).
    risk : ndarray
        Each form's exact risk at ``horizon``, the one it is ranked by.
    horizon : ndarray
        The horizon each form is explained at (NaN: none left).
    already_absent : ndarray of bool
        Forms in the late queue.
    min_effect_pp : float, default MIN_EFFECT_PP
    """
    plan = plan_of(tuple(groups))
    blank, inapplicable = answer_state(plan, forms)
    factors = merge(contributions, plan, blank, inapplicable)
    risk = np.asarray(risk, dtype=np.float64)
    raising, lowering = effect_bounds(risk, min_effect_pp)
    absent = np.asarray(already_absent, dtype=bool)
    values = factors.values
    candidate = ~blank & ~inapplicable & ((values >= raising[:, None]) | (values <= lowering[:, None]))
    if WEEKS_GROUP in plan.factors:
        candidate[absent, plan.factors.index(WEEKS_GROUP)] = False
    horizon = np.asarray(horizon, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    entry = np.asarray(entry, dtype=np.float64)
    effects = answer_effects(estimator)
    codes = _Codes(X, horizon)
    own = own_effects(effects, plan, factors, X, entry, horizon, candidate, codes=codes)
    named = candidate & (own * values > 0)  # the same sign, and the answer alone moves the risk at all
    selection = _select(values, raising, lowering, named=named, top=TOP)
    questions = np.full((len(values), min(TOP_QUESTIONS, len(plan.factors))), -1, dtype=np.int64)
    if blank.any():
        spreads = question_spreads(effects, plan, factors, X, entry, horizon, risk, codes=codes)
        asked = np.flatnonzero((spreads >= min_effect_pp).any(axis=1))
        questions[asked] = _top(spreads[asked], TOP_QUESTIONS, min_effect_pp)
    return Explanation(plan, factors, selection, questions)


# --- text -------------------------------------------------------------------------------------------

#: Forms whose text is assembled at a time (bounds the memory of the text columns).
TEXT_CHUNK = 131_072


def _joined_slots(slots: list[np.ndarray], texts: list[str], n: int, *, first_prefix: str = "",
                  order: np.ndarray | None = None) -> pa.ChunkedArray:
    """One cell per form from codes into ``texts`` (-1: nothing), joined by ``"; "``, in ``order`` (the forms'
    own when None).

    A cell depends only on its row's codes: each distinct combination is assembled once
    (:func:`_assembled`) and the cells are taken from those.
    """
    if n <= _FEW or not slots:
        rows = np.arange(n) if order is None else np.asarray(order, dtype=np.int64)
        return _assembled([column[rows] for column in slots], texts, n, first_prefix=first_prefix)
    key, bound = np.zeros(n, dtype=np.int64), 1
    for column in slots:  # codes -1 .. len(texts) - 1: a digit of base len(texts) + 1
        key = key * (len(texts) + 1) + (column + 1)
        bound *= len(texts) + 1
        if bound > 2**40:  # keep the key exact: renumber it
            key, uniques = pd.factorize(key)
            bound = len(uniques)
    combination, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype=np.int64)
    first[combination[::-1]] = np.arange(n - 1, -1, -1)  # a form of each combination
    distinct = _assembled([column[first] for column in slots], texts, len(first), first_prefix=first_prefix)
    distinct = distinct.combine_chunks() if distinct.num_chunks != 1 else distinct.chunk(0)
    taken = combination if order is None else combination[order]
    return pa.chunked_array([distinct.take(pa.array(taken[start : start + TEXT_CHUNK]))
                             for start in range(0, n, TEXT_CHUNK)], pa.string())


def _assembled(slots: list[np.ndarray], texts: list[str], n: int, *, first_prefix: str = "") -> pa.ChunkedArray:
    """:func:`_joined_slots` of every row, assembled by Arrow.

    Each slot holds the text, ``"; "`` + the text when an earlier slot of the row
    holds one, or ``""``; the slots are concatenated without separator. (Arrow 25's
    ``binary_join_element_wise`` with ``null_handling="skip"`` drops rows on some
    inputs, so no nulls are joined.)
    """
    vocabulary = pa.array(["", *(f"{first_prefix}{text}" for text in texts), *(f"{SEPARATOR}{text}" for text in texts)],
                          pa.string())
    chunks = []
    for start in range(0, n, TEXT_CHUNK):
        rows = np.arange(start, min(start + TEXT_CHUNK, n))
        earlier = np.zeros(len(rows), dtype=bool)
        pieces = []
        for column in slots:
            chosen = column[rows]
            present = chosen >= 0
            index = np.where(present, 1 + np.where(present, chosen, 0) + np.where(earlier, len(texts), 0), 0)
            pieces.append(vocabulary.take(pa.array(index.astype(np.int32))))
            earlier |= present
        if not pieces:
            pieces = [pa.array([""] * len(rows), pa.string())]
        joined = pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]
        if len(joined) != len(rows):  # pragma: no cover - a row must never go missing silently
            raise RuntimeError(f"text assembled for {len(joined)} of {len(rows)} forms")
        chunks.append(joined)
    return pa.chunked_array(chunks, pa.string())


def factor_phrases(plan: Plan, forms: pd.DataFrame, factors: Factors,
                   language: Language = "da") -> tuple[np.ndarray, list[str]]:
    """Each form's phrase for each factor: its main effect's, or its leading interaction's where the
    phrase names both parts (:attr:`Factors.both_parts`).

    Returns
    -------
    codes : ndarray of int32, shape (n_forms, n_factors)
        Index into ``phrases``.
    phrases : list of str
    """
    by_group, phrases = _phrase_rows(plan.groups, forms, _language_index(language))
    out = by_group[list(plan.main)].T  # a factor's codes side by side in memory
    for f, lead in factors.lead.items():
        rows = np.flatnonzero(factors.both_parts[:, f])
        out[rows, f] = by_group[lead[rows], rows]
    return out, phrases


def chosen_phrases(selection: Selection, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The phrase code of each reason slot (-1: none), up and down, from factor columns and phrase codes."""
    rows = np.arange(len(codes))[:, None]
    out = []
    for chosen in (selection.up, selection.down):
        present = chosen >= 0
        phrase = codes[rows, np.where(present, chosen, 0)] if codes.shape[1] else np.zeros(chosen.shape, np.int64)
        out.append(np.where(present, phrase, -1))
    return out[0], out[1]


def reasons_text(up: np.ndarray, down: np.ndarray, phrases: list[str], *,
                 language: Language = "da", order: np.ndarray | None = None) -> pa.ChunkedArray:
    """The reasons cell of every form: ``"↑ ...; ↑ ...; ↓ ..."`` from each slot's phrase code (-1: none);
    in ``order`` when given (positions of the forms of ``up`` and ``down``)."""
    _language_index(language)
    texts = [f"{ARROWS['up']} {phrase}" for phrase in phrases] + [f"{ARROWS['down']} {phrase}" for phrase in phrases]
    slots = [up[:, slot] for slot in range(up.shape[1])]
    slots += [np.where(down[:, slot] >= 0, len(phrases) + down[:, slot], -1) for slot in range(down.shape[1])]
    return _joined_slots(slots, texts, len(up), order=order)


def question_labels(plan: Plan, language: Language = "da") -> list[str]:
    """Each factor's question, named by the contract's label for its form column."""
    _language_index(language)
    fields = load_contract().fields
    labels = []
    for source in plan.sources:
        spec = fields.get(source)
        labels.append(spec.label_in(language) if spec is not None else source)
    return labels


def questions_text(questions: np.ndarray, labels: list[str], *, language: Language = "da",
                   order: np.ndarray | None = None) -> pa.ChunkedArray:
    """The questions cell of every form: ``"Spørg til: a; b"``, or ``""``; in ``order`` when given."""
    return _joined_slots([questions[:, slot] for slot in range(questions.shape[1])], labels, len(questions),
                         first_prefix=QUESTION_PREFIX[LANGUAGES[_language_index(language)]], order=order)


def reason_factors(explanation: Explanation, codes: np.ndarray, phrases: list[str], risk: np.ndarray,
                   order: np.ndarray) -> pa.Array:
    """Each form's reasons as JSON text a case system parses, in the working ``order``.

    A list, in the order of the reasons cell (``↑`` reasons first, then ``↓``, each
    largest first), of ``{"factor": <contract field>, "direction": "up"|"down",
    "points": <percentage points the factor moves the risk the form is ranked by,
    signed, 1 decimal>, "text": <the phrase of the reasons cell>}``; ``[]`` when
    no factor is named.

    Parameters
    ----------
    explanation : Explanation
    codes, phrases
        The forms' phrase codes per factor (:func:`factor_phrases`).
    risk : ndarray
        Each form's exact risk at its horizon, in the forms' own order.
    order : ndarray of int
    """
    plan, factors, selection = explanation.plan, explanation.factors, explanation.selection
    points = np.round(risk_moved(factors.values, risk), 1)
    records = []
    for row in np.asarray(order, dtype=np.int64).tolist():
        named = []
        for direction, chosen in (("up", selection.up[row]), ("down", selection.down[row])):
            for f in chosen.tolist():
                if f >= 0:
                    named.append({"factor": plan.sources[f], "direction": direction,
                                  "points": float(points[row, f]) + 0.0, "text": phrases[codes[row, f]]})
        records.append(json.dumps(named, ensure_ascii=False))
    return pa.array(records, pa.string())


#: Forms explained at a time by :func:`explain_chunk` (its steps hold several arrays of forms x factors: at
#: 250,000 forms at once they took about 200 MB more than the model's step).
EXPLAIN_BLOCK = 65_536


def explain_chunk(
    estimator: object,
    X: np.ndarray,
    entry: np.ndarray,
    contributions: np.ndarray,
    groups: Sequence[str],
    forms: pd.DataFrame,
    *,
    risk: np.ndarray,
    horizon: np.ndarray,
    already_absent: np.ndarray,
    order: np.ndarray,
    language: Language = "da",
    structured: bool = False,
) -> tuple[pa.ChunkedArray, pa.ChunkedArray, pa.Array | None]:
    """The ``reasons`` and ``questions`` cells of a chunk of scored forms, in the working ``order``, and with
    ``structured`` the same reasons as JSON (:func:`reason_factors`; None otherwise).

    Everything but ``order`` is in the forms' own order (see :func:`explain`). Without
    ``structured``, the forms are explained :data:`EXPLAIN_BLOCK` at a time (a form's
    reasons depend on its own row alone), and their cells assembled once at the end;
    with it, all at once (the JSON needs each form's explanation whole).
    """
    if structured:
        explanation = explain(estimator, X, entry, contributions, groups, forms, risk=risk, horizon=horizon,
                              already_absent=already_absent)
        plan = explanation.plan
        codes, phrases = factor_phrases(plan, forms, explanation.factors, language)
        up, down = chosen_phrases(explanation.selection, codes)
        factors = reason_factors(explanation, codes, phrases, risk, order)
        asked = explanation.questions
    else:
        plan, factors, phrases = plan_of(tuple(groups)), None, None
        ups, downs, questions = [], [], []
        for start in range(0, max(len(X), 1), EXPLAIN_BLOCK):  # one block at least: no forms, no cells
            rows = slice(start, start + EXPLAIN_BLOCK)
            block = forms.iloc[rows]
            explanation = explain(estimator, X[rows], entry[rows], contributions[rows], groups, block,
                                  risk=risk[rows], horizon=horizon[rows], already_absent=already_absent[rows])
            codes, block_phrases = factor_phrases(plan, block, explanation.factors, language)
            phrases = block_phrases if phrases is None else phrases
            if block_phrases != phrases:  # pragma: no cover - a group's phrases are a fixed list, whatever the answers
                raise RuntimeError("the phrases of the reasons differ from one block of forms to the next")
            up, down = chosen_phrases(explanation.selection, codes)
            ups.append(up)
            downs.append(down)
            questions.append(explanation.questions)
            del explanation, codes
        up, down, asked = np.concatenate(ups), np.concatenate(downs), np.concatenate(questions)
    reasons = reasons_text(up, down, phrases, language=language, order=order)
    questions = questions_text(asked, question_labels(plan, language), language=language, order=order)
    return reasons, questions, factors


def explain_one(
    estimator: object,
    X: np.ndarray,
    entry: float,
    contributions: np.ndarray,
    groups: Sequence[str],
    form: Mapping[str, object] | pd.DataFrame,
    *,
    risk: float,
    horizon: float,
    already_absent: bool,
    language: Language = "da",
) -> tuple[list[tuple[str, str, str, float]], tuple[str, ...]]:
    """One form's reasons as ``(direction, group, text, effect)`` and its questions, as the batch gives them.

    ``form`` is the form's typed values (or a one-row frame of it); ``group`` is
    the group the phrase describes (the interaction when it names both parts),
    ``effect`` the factor's contribution.
    """
    if not isinstance(form, pd.DataFrame):
        return _explain_values(estimator, np.asarray(X, dtype=np.float64).reshape(-1), float(entry),
                               np.asarray(contributions, dtype=np.float64).reshape(-1).tolist(), groups, form,
                               risk=float(risk), horizon=float(horizon), already_absent=bool(already_absent),
                               language=language)
    explanation = explain(estimator, np.asarray(X, dtype=np.float64).reshape(1, -1), np.array([float(entry)]),
                          np.asarray(contributions, dtype=np.float64).reshape(1, -1), groups, form,
                          risk=np.array([risk], dtype=np.float64), horizon=np.array([horizon], dtype=np.float64),
                          already_absent=np.array([already_absent]))
    plan, factors = explanation.plan, explanation.factors
    reasons: list[tuple[str, str, str, float]] = []
    for direction, chosen in (("up", explanation.selection.up[0]), ("down", explanation.selection.down[0])):
        for f in chosen.tolist():
            if f < 0:
                continue
            group = plan.groups[int(factors.phrased_group(plan, np.array([0]), f)[0])]
            if isinstance(form, pd.DataFrame):
                codes, phrases = phrase_table([group], form, language)
                text = phrases[codes[0, 0]]
            else:
                text = describe_one(group, form, language)
            reasons.append((direction, group, text, float(factors.values[0, f])))
    labels = question_labels(plan, language)
    questions = tuple(labels[f] for f in explanation.questions[0].tolist() if f >= 0)
    return reasons, questions


# --- one form at a time (score_one): the same steps, on Python floats ------------------------------
#
# :func:`explain` on arrays of one row spends nearly all its time in NumPy's per-call overhead. These are
# its steps for one form's typed values, operation for operation in the same order: sums, products and
# comparisons of Python floats are the float64 ones, and logarithms and exponentials go through NumPy's
# own (``math``'s differ from them in the last bit), so the result is :func:`explain`'s for the same form
# to the last bit (``tests/scoring/test_single.py`` holds it so).


def _log(value: float) -> float:
    return float(np.log(value))


def _exp(value: float) -> float:
    return float(np.exp(value))


def _finite_or_zero(value: float) -> float:
    """``np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)`` of one float."""
    return value if math.isfinite(value) else 0.0


def _sign(value: float) -> float:
    """``np.sign`` of one float (NaN for NaN, so that it differs from every sign)."""
    return float("nan") if math.isnan(value) else float((value > 0.0) - (value < 0.0))


@functools.lru_cache(maxsize=64)
def _single_plan(groups: tuple[str, ...], language: Language) -> tuple[Plan, tuple[int, ...], tuple[int, ...],
                                                                       list[str], int]:
    """A model's plan, governing factors, interactions (non-main groups), question labels and the weeks'
    factor (-1: none), made once per model and language."""
    plan = plan_of(groups)
    mains = set(plan.main)
    weeks = plan.factors.index(WEEKS_GROUP) if WEEKS_GROUP in plan.factors else -1
    return (plan, _governing(plan), tuple(k for k in range(len(plan.groups)) if k not in mains),
            question_labels(plan, language), weeks)


@functools.lru_cache(maxsize=64)
def _governed(plan: Plan) -> tuple[tuple[int, ...], ...]:
    """For each factor, the factors whose answers do not apply because of it (:func:`_governing` turned round)."""
    governing = _governing(plan)
    return tuple(tuple(g for g, by in enumerate(governing) if by == f) for f in range(len(plan.factors)))


def _single_bounds(risk: float, min_effect_pp: float = MIN_EFFECT_PP) -> tuple[float, float]:
    """:func:`effect_bounds` of one risk."""
    step = min_effect_pp / 100.0
    if 0.0 < risk - step and risk + step < 1.0:  # every logarithm of a positive number (the common case)
        cumulative = -_log(risk)
        return _log(-_log(risk - step) / cumulative), _log(-_log(risk + step) / cumulative)
    with np.errstate(divide="ignore", invalid="ignore"):  # NumPy scalars: a division by 0 is inf or NaN
        cumulative = -np.log(np.float64(risk))
        raising = float(np.log(-np.log(np.float64(risk - step)) / cumulative))
        lowering = float(np.log(-np.log(np.float64(risk + step)) / cumulative))
    if math.isnan(raising) or risk - step <= 0:
        raising = float("inf")
    if math.isnan(lowering) or risk + step >= 1:
        lowering = float("-inf")
    return raising, lowering


def _single_top(row: list[float], top: int, limit: float, *, largest: bool = True) -> list[int]:
    """:func:`_top` of one row."""
    sign = -1.0 if largest else 1.0
    ranked = sorted(range(len(row)), key=lambda k: (sign * row[k], k))[: min(top, len(row))]
    return [k if (row[k] >= limit if largest else row[k] <= limit) else -1 for k in ranked]


def _explain_values(
    estimator: object, x: np.ndarray, entry: float, contributions: list[float], groups: Sequence[str],
    form: Mapping[str, object], *, risk: float, horizon: float, already_absent: bool, language: Language,
) -> tuple[list[tuple[str, str, str, float]], tuple[str, ...]]:
    """:func:`explain_one` of one form's typed values: :func:`explain`'s steps on Python floats."""
    _language_index(language)
    plan, governing, interactions, labels, weeks_factor = _single_plan(tuple(groups), language)
    n_factors = len(plan.factors)
    # answer_state
    from screening.features import not_applying

    applies_not = not_applying(form)
    inapplicable = [bool(applies_not.get(source, False)) for source in plan.sources]
    blank = [source in form and _is_blank(form[source]) and not skip
             for source, skip in zip(plan.sources, inapplicable)]
    # merge
    summed = [contributions[k] for k in plan.main]
    joined: dict[int, float] = {}
    lead: dict[int, int] = {}
    lead_size: dict[int, float] = {}
    for k in interactions:
        home = target = plan.home[k]
        for partner in reversed(plan.partners[k]):  # the first unknown part takes it
            if blank[partner] or inapplicable[partner]:
                target = partner
        value = contributions[k]
        summed[target] += value
        if home not in joined:
            joined[home], lead[home], lead_size[home] = 0.0, -1, 0.0
        if target == home:
            joined[home] += value
            if abs(value) > lead_size[home]:
                lead[home], lead_size[home] = k, abs(value)
    for f in range(n_factors):
        if inapplicable[f]:
            if governing[f] >= 0:
                summed[governing[f]] += summed[f]
            summed[f] = 0.0
            if f in joined:
                joined[f], lead[f] = 0.0, -1
    both = [False] * n_factors
    for f, together in joined.items():
        main = summed[f] - together
        driven = abs(together) > abs(main) or _sign(together) != _sign(main)
        both[f] = lead[f] >= 0 and together != 0 and driven
    # which factors may be named
    raising, lowering = _single_bounds(risk)
    candidate = [not blank[f] and not inapplicable[f] and (summed[f] >= raising or summed[f] <= lowering)
                 for f in range(n_factors)]
    if already_absent and weeks_factor >= 0:
        candidate[weeks_factor] = False
    effects = answer_effects(estimator)
    own = _single_own_effects(effects, plan, governing, inapplicable, both, lead, x, entry, horizon, candidate)
    values = [value if chosen and own[f] * value > 0 else 0.0
              for f, (value, chosen) in enumerate(zip(summed, candidate))]
    up = _single_top(values, TOP, raising)
    down = _single_top(values, TOP, lowering, largest=False)
    questions: list[int] = []
    if any(blank):
        spreads = _single_spreads(effects, plan, blank, x, horizon, risk)
        if any(spread >= MIN_EFFECT_PP for spread in spreads):
            questions = _single_top(spreads, TOP_QUESTIONS, MIN_EFFECT_PP)
    reasons: list[tuple[str, str, str, float]] = []
    for direction, chosen in (("up", up), ("down", down)):
        for f in chosen:
            if f >= 0:
                group = plan.groups[lead[f] if f in lead and both[f] else plan.main[f]]
                reasons.append((direction, group, _described(group, form, language), summed[f]))
    return reasons, tuple(labels[f] for f in questions if f >= 0)


#: Combinations of the values of one form column's inputs asked about in advance at most (:func:`prepare_one_form`).
SINGLE_COMBINATIONS = 20_000


def prepare_one_form(estimator: object, values: Sequence[Sequence[float]], *, blank: Sequence[float],
                     horizons: Sequence[float]) -> None:
    """Ask the model now what :func:`explain_one` asks it about a form's answers one at a time.

    For each form column, the typical form with each combination of the values its inputs take (from the
    typical form's weeks absent; for the weeks absent themselves, from each value), and the spread of the
    column's answers where it is blank, at each horizon. One model call for all of them, as a batch asks
    (:meth:`AnswerEffects.values` remembers every horizon of each).

    Parameters
    ----------
    estimator : RiskModel
    values : sequence of sequence of float
        For each encoded input, the values forms give it (NaN: blank).
    blank : sequence of float
        For each encoded input, its value for a blank answer.
    horizons : sequence of float
        The horizons forms are explained at.
    """
    effects = answer_effects(estimator)
    hybrids, starts = [], []
    for source in dict.fromkeys(effects._owner):
        columns = effects.columns(source)
        combinations: list[tuple] = [()]
        for j in columns:
            combinations = [(*done, value) for done in combinations for value in dict.fromkeys(values[j])]
        if len(combinations) > SINGLE_COMBINATIONS:
            continue
        rows = np.repeat(effects.reference[None, :], len(combinations), axis=0)
        rows[:, columns] = np.array(combinations, dtype=np.float64)
        if effects.entry_column in columns:  # the weeks absent: from the form's own
            known = ~np.isnan(rows[:, effects.entry_column])
            hybrids.append(rows[known])
            starts.append(rows[known, effects.entry_column])
        else:
            for start in dict.fromkeys(effects.reference_entry_at(float(h)) for h in horizons):
                hybrids.append(rows)
                starts.append(np.full(len(rows), start))
    if hybrids:
        effects.values(np.concatenate(hybrids), np.concatenate(starts), float(horizons[0]))
    for source in dict.fromkeys(effects._owner):
        column, columns = effects.answer_column(source), effects.columns(source)
        if column >= 0 and len(effects.candidates(column)):
            for horizon in horizons:
                effects.spread(column, columns, np.array([blank[j] for j in columns], dtype=np.float64),
                               float(horizon))


def _single_hybrid(effects: AnswerEffects, x: np.ndarray, start: float, horizon: float, columns: list[int],
                   taken: list[bool | None]) -> float:
    """:func:`_hybrid_values` of one form, from ``start`` weeks (the form's entry for the weeks absent, else
    the typical form's)."""
    if math.isnan(horizon):
        return float("nan")
    hybrid = effects.reference.copy()
    for j, where in zip(columns, taken):
        if where is None or where:
            hybrid[j] = x[j]
    return effects.value(hybrid, start, horizon)


def _single_own_effects(effects: AnswerEffects, plan: Plan, governing: tuple[int, ...], inapplicable: list[bool],
                        both: list[bool], lead: dict[int, int], x: np.ndarray, entry: float, horizon: float,
                        named: list[bool]) -> list[float]:
    """:func:`own_effects` of one form."""
    out = [0.0] * len(named)
    if not any(named):
        return out
    governed = _governed(plan)
    explained = not math.isnan(horizon)
    typical_start = effects.reference_entry_at(horizon) if explained else float("nan")
    typical = effects.value(effects.reference, typical_start, horizon) if explained else float("nan")
    for f in (f for f, chosen in enumerate(named) if chosen):
        start = entry if plan.factors[f] == WEEKS_GROUP else typical_start
        columns = effects.columns(plan.sources[f])
        taken: list[bool | None] = [None] * len(columns)
        for g in governed[f]:  # the answers that do not apply because of it
            extra = effects.columns(plan.sources[g])
            columns = columns + extra
            taken += [inapplicable[g]] * len(extra)
        if both[f]:
            partner_columns = list(dict.fromkeys(j for p in plan.partners[lead[f]]
                                                 for j in effects.columns(plan.sources[p])))
            with_partner = _single_hybrid(effects, x, start, horizon, columns + partner_columns,
                                          taken + [None] * len(partner_columns))
            partner = _single_hybrid(effects, x, typical_start, horizon, partner_columns,
                                     [None] * len(partner_columns))
            out[f] = with_partner - partner
        else:
            out[f] = _single_hybrid(effects, x, start, horizon, columns, taken) - typical
    return [_finite_or_zero(value) for value in out]


def _single_spreads(effects: AnswerEffects, plan: Plan, blank: list[bool], x: np.ndarray, horizon: float,
                    risk: float) -> list[float]:
    """:func:`question_spreads` of one form."""
    out = [0.0] * len(blank)
    if math.isnan(risk):
        return out
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cumulative = -_log(risk)
    for f in (f for f, unknown in enumerate(blank) if unknown):
        source = plan.sources[f]
        column = effects.answer_column(source)
        if column < 0 or plan.factors[f] == WEEKS_GROUP or not len(effects.candidates(column)):
            continue
        columns = effects.columns(source)
        low, high = effects.spread(column, columns, x[columns], horizon)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            highest, lowest = _exp(-cumulative * _exp(-high)), _exp(-cumulative * _exp(-low))
        spread = 100.0 * (highest - lowest)
        out[f] = 0.0 if math.isnan(spread) else spread  # ``np.nan_to_num(nan=0.0)``: a spread of risks is finite
    return out


# --- one form at a time (score_one): the same tables, read with scalar look-ups ------------------


def _is_blank(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


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


_ABSENT = object()
_DESCRIBED: dict[tuple, str] = {}


@functools.lru_cache(maxsize=256)
def _described_columns(group: str) -> tuple[str, ...]:
    """The form columns :func:`describe_one` reads for ``group``."""
    sources = [_source(part) for part in group.split(" x ")]
    return ("physical_load", "diagnosis_group") if sorted(sources) == ["diagnosis_group", "physical_load"] \
        else tuple(sources[:2])


def _described(group: str, values: Mapping[str, object], language: Language) -> str:
    """:func:`describe_one`, remembered per group, language and the answers it reads (of their types:
    ``True`` and ``1`` are told apart)."""
    answers = tuple((answer, type(answer)) for answer in (values.get(column, _ABSENT)
                                                        for column in _described_columns(group)))
    key = (group, language, answers)
    try:
        found = _DESCRIBED.get(key)
    except TypeError:  # an answer that cannot be a key
        return describe_one(group, values, language)
    if found is None:
        found = describe_one(group, values, language)
        if not any(isinstance(answer, float) and math.isnan(answer) for answer, _ in answers):  # NaN: never found again
            if len(_DESCRIBED) >= EFFECTS_MEMORY:
                _DESCRIBED.clear()
            _DESCRIBED[key] = found
    return found


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

