"""Encoding forms with a fitted encoder, without scikit-learn: what scoring needs of
:class:`~screening.features.FormEncoder` (see ``_encoder`` for how it is fitted and why).

The fitted encoder is :class:`EncoderScoring` with scikit-learn's estimator contract
added; a model loaded only to score (``screening.models.thaw_scorer``) holds an
:class:`EncoderScoring` with the same fitted attributes, and encodes the same numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from screening.features._columns import answer_codes
from screening.intake import load_contract, normalise_codes

#: Attributes kept for fairness audits. They are not model inputs by default:
#: ``sex`` because ranking people for help by their sex needs a justification the
#: small effect in the literature does not give (and a consultant cannot act on it);
#: ``jobcenter`` because a site effect describes local practice, not the person, and
#: ranking is done within a jobcenter, where a site effect changes nobody's rank.
#: Both are passed to :func:`screening.models.evaluate` as subgroups instead.
AUDIT_ATTRIBUTES: tuple[str, ...] = ("sex", "jobcenter")

#: Up to this many forms, distinct answers are found with a dictionary (the few forms of a scoring call).
_FEW_ROWS = 64
_NOT_INPUT_PARSES = frozenset({"identifier", "date", "text"})
#: The level of an answer to a question that does not apply (see the contract's ``applies_unless``).
NOT_APPLICABLE = "(not applicable)"
#: The metadata key of a field's applicability rule in the contract: ``{governing field: [answers]}``.
APPLIES_UNLESS = "applies_unless"
_NUMERIC = "numeric"
_BOOLEAN = "boolean"
_CATEGORY = "category"
_CHAPTER = "icd10_chapter"


def _contract_roles() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Role (kind, fixed categories) of each contract column; kind "skip" = not an input."""
    intake = load_contract()
    training = load_contract(training=True)
    roles: dict[str, tuple[str, tuple[str, ...]]] = {}
    for name, spec in training.fields.items():
        if name not in intake.fields or spec.parse in _NOT_INPUT_PARSES:
            roles[name] = ("skip", ())
        elif spec.parse == "icd10":
            roles[name] = (_CHAPTER, ())
        elif spec.parse == "boolean":
            roles[name] = (_BOOLEAN, ())
        elif spec.parse == "code" and spec.codes:
            roles[name] = (_CATEGORY, tuple(str(code) for code in spec.codes))
        else:
            roles[name] = (_NUMERIC, ())
    return roles


def applicability_rules() -> dict[str, dict[str, tuple[str, ...]]]:
    """The contract's rules for questions that do not apply to everyone.

    Returns
    -------
    dict
        Field -> {governing field -> the answers to it after which the field does
        not apply}; only fields with an ``applies_unless`` rule. A new dict each call.
    """
    return {field: dict(unless) for field, unless in _contract_rules().items()}


@functools.cache
def _contract_rules() -> dict[str, dict[str, tuple[str, ...]]]:
    """:func:`applicability_rules`, read once (the contract is loaded once too); not to be changed."""
    rules: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, spec in load_contract().fields.items():
        rule = spec.options.get(APPLIES_UNLESS)
        if rule:
            rules[name] = {str(governing): tuple(str(answer) for answer in answers)
                           for governing, answers in dict(rule).items()}
    return rules


def not_applying(
    forms: pd.DataFrame | Mapping[str, object],
    *,
    rules: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> dict[str, np.ndarray | bool]:
    """Which forms' questions do not apply, by the answers that govern them.

    Parameters
    ----------
    forms : pandas.DataFrame or mapping
        Validated forms, or one form as a mapping of typed values.
    rules : mapping, optional
        Field -> {governing field -> answers}; the contract's
        (:func:`applicability_rules`) by default.

    Returns
    -------
    dict
        Field -> a boolean array (one per form), or a bool for one form. A
        field whose governing field the forms lack is left out; a blank
        governing answer leaves the field applicable.
    """
    rules = _contract_rules() if rules is None else rules
    out: dict[str, np.ndarray | bool] = {}
    for field, unless in rules.items():
        if isinstance(forms, pd.DataFrame):
            if not all(governing in forms.columns for governing in unless):
                continue
            hit = np.zeros(len(forms), dtype=bool)
            for governing, answers in unless.items():
                hit |= answer_codes(forms[governing], [str(answer) for answer in answers]) >= 0
            out[field] = hit
        else:
            if not all(governing in forms for governing in unless):
                continue
            out[field] = any(forms[governing] is not None and str(forms[governing]) in answers
                             for governing, answers in unless.items())
    return out


def _to_float(values: pd.Series, column: str) -> np.ndarray:
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):  # fast path: numbers, nullable numbers, yes/no
        array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        if isinstance(dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if pd.api.types.is_complex_dtype(dtype):
            raise ValueError(f"Complex data not supported (column {column!r})")
        try:
            out = pd.to_numeric(values, errors="raise")
        except (TypeError, ValueError) as error:
            raise TypeError(f"column {column!r}: argument must be a string or a number ({error})") from None
        if pd.api.types.is_complex_dtype(getattr(out, "dtype", None)):
            raise ValueError(f"Complex data not supported (column {column!r})")
        array = pd.Series(out).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(array).any():
        raise ValueError(f"Input contains infinity (column {column!r}).")
    return array


_CHAPTER_CACHE: dict[str, str | None] = {}


def _chapters(codes: np.ndarray) -> np.ndarray:
    """WHO chapter of each ICD-10 code (None where missing or invalid), cached per code."""
    new = [code for code in set(codes[codes != None].tolist()) if code not in _CHAPTER_CACHE]  # noqa: E711
    if new:
        chapters = normalise_codes(pd.Series(new, dtype="str"))[1]
        _CHAPTER_CACHE.update(zip(new, chapters.astype(object).where(chapters.notna(), None)))
    return np.array([None if code is None else _CHAPTER_CACHE[code] for code in codes.tolist()], dtype=object)


def _texts(values: pd.Series) -> np.ndarray:
    """Text of each value as an object array, None where missing."""
    if values.dtype == "str":
        return values.to_numpy(dtype=object, na_value=None)
    raw = values.to_numpy(dtype=object)
    missing = pd.isna(raw)
    out = np.array([None if gap else str(value) for value, gap in zip(raw.tolist(), missing.tolist())], dtype=object)
    return out


def _distinct_texts(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Position of each value's text among the distinct texts (-1 where missing), and those
    texts in order of first appearance (an object array)."""
    if len(values) <= _FEW_ROWS:  # a few forms: a dictionary beats pandas' set-up
        seen: dict[str, int] = {}
        positions = [-1 if text is None else seen.setdefault(text, len(seen)) for text in _texts(values).tolist()]
        return np.array(positions, dtype=np.intp), np.array(list(seen), dtype=object)
    if values.dtype != "str":
        values = _texts(values)  # text as ``str(value)``: 1 and 1.0 are different answers
    positions, texts = pd.factorize(values)  # Arrow's dictionary encoding for Arrow-backed text
    return positions, np.asarray(texts, dtype=object)

class EncoderScoring:
    """A fitted :class:`~screening.features.FormEncoder`'s encoding of forms (its attributes are documented there)."""

    #: The contract's ``applies_unless`` rules (:func:`applicability_rules`), for the stages after this one.
    applicability_rules = staticmethod(applicability_rules)
    #: Which forms' questions do not apply (:func:`not_applying`), for the stages after this one.
    not_applying = staticmethod(not_applying)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Encode forms: a DataFrame with the columns seen in ``fit`` (see :meth:`FormEncoder.transform`)."""
        return self.encode_frame(X)

    def encode_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode a DataFrame of forms whose columns were checked; NaN where an answer is missing."""
        out = np.empty((len(frame), len(self.input_columns_)), dtype=np.float64)
        rules = getattr(self, "not_applicable_", {})  # a model saved before the rules: none
        not_applies = not_applying(frame, rules={column: rule["unless"] for column, rule in rules.items()})
        for j, (column, kind, categories) in enumerate(zip(self.input_columns_, self.kinds_, self.categories_)):
            values = frame[column] if column in frame.columns else frame.iloc[:, int(column[1:])]
            if column in not_applies:  # an answer written anyway is not read: the question does not apply
                out[:, j] = self._encode(values, column, kind, [c for c in categories if c != NOT_APPLICABLE])
                out[not_applies[column], j] = rules[column]["code"]
            else:
                out[:, j] = self._encode(values, column, kind, categories)
        return out

    @staticmethod
    def _encode(values: pd.Series, column: str, kind: str, categories: list[str]) -> np.ndarray:
        if kind in (_NUMERIC, _BOOLEAN):
            return _to_float(values, column)
        # Forms carry a handful of distinct answers: each is looked up once, then spread to its rows.
        positions, texts = _distinct_texts(values)
        if kind == _CHAPTER:
            texts = _chapters(texts)
        position = {label: float(i) for i, label in enumerate(categories)}
        other = float(len(categories) - 1) if categories and categories[-1] == "(other)" else None
        table = np.full(len(texts) + 1, np.nan)  # the last entry is for missing answers (position -1)
        for j, text in enumerate(texts.tolist()):
            if text is None:  # an ICD-10 code without a chapter: as blank
                continue
            code = position.get(text, other)
            if code is None:
                raise ValueError(f"{column}: {text!r} is not in the contract's code list; validate forms first")
            table[j] = code
        return table[positions]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names: the input names, ``diagnosis_code`` read as ``diagnosis_chapter``."""
        names = [
            column.replace("_code", "_chapter") if kind == _CHAPTER else column
            for column, kind in zip(self.input_columns_, self.kinds_)
        ]
        return np.asarray(names, dtype=object)
