"""Validated intake forms → one numeric column per model input, missing answers kept as NaN.

Roles come from the contract (``data/schemas/``), not from a column list here:

* identifiers, dates and free text are not inputs (a date says when, not who; the
  weeks absent are already in ``sick_weeks``);
* the training outcome columns are not inputs;
* ``sex`` and ``jobcenter`` are fairness-audit attributes and not inputs unless
  named in ``audit_inputs`` (see :data:`AUDIT_ATTRIBUTES` for why);
* an ICD-10 code becomes its WHO chapter (``diagnosis_chapter``); the contract's
  ``diagnosis_group`` stays a separate input, so the chapter refines the group for
  "other" diagnoses without the model having to learn the mapping;
* code lists become categories (their integer position), numbers stay numbers,
  yes/no answers become 1/0.

A blank optional answer is NaN in the output, never a guessed value: the boosted
model routes NaN to its own branch, and :class:`~screening.features.AdditiveBasis`
gives it its own indicator. People who leave "expected return" blank are not the
people who answer "unknown", and both differ from those who answer; imputing a
typical answer would hide that.

A question that does not apply is not a blank. The contract says which answers
make a field not apply (``applies_unless`` in the field's metadata: an unemployed
person has no employer to talk to and no contracted hours), and a model fitted
from now on reads such a field as "not applicable", whatever was written in it:

* a yes/no or code answer gets a level of its own, :data:`NOT_APPLICABLE` (yes/no
  becomes a category: no, yes, not applicable at positions 0, 1, 2);
* a number is held at the training median of the answers that apply, so it
  neither looks blank nor moves the risk: a single column has no level to spare,
  and whether the number applies is the governing answer, itself an input, whose
  own indicator carries the whole effect (a second indicator would repeat it).

The rules a model was fitted with are kept in ``not_applicable_``; a model saved
before they existed has none and encodes as it always did.

Columns the contract does not know are encoded by their dtype (numbers as numbers,
text and categories as learned categories), which keeps the encoder a plain
scikit-learn transformer on any table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from screening.features._encoding import (  # noqa: F401 (names of this module before the split)
    _BOOLEAN, _CATEGORY, _CHAPTER, _FEW_ROWS, _NUMERIC, APPLIES_UNLESS, AUDIT_ATTRIBUTES, NOT_APPLICABLE,
    EncoderScoring, _chapters, _contract_roles, _contract_rules, _distinct_texts, _texts, _to_float,
    applicability_rules, not_applying,
)


def _as_frame(X: object) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=0, ensure_min_features=0)
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _is_numeric(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return True
    if values.dtype == object:
        present = values.dropna()
        return bool(len(present)) and all(
            isinstance(v, (int, float, np.number, bool, np.bool_)) for v in present.iloc[:1000]
        )
    return False


class FormEncoder(EncoderScoring, TransformerMixin, BaseEstimator):
    """Turn validated intake forms into numeric model inputs.

    One output column per input: numbers as float, yes/no as 1/0, code lists as the
    integer position of the answer in the category list (see ``categories_``), the
    ICD-10 code as the integer position of its WHO chapter. A blank answer is NaN.
    Which columns are inputs, and how each is read, comes from the intake-form
    contract; columns it does not know are read by their dtype. An answer to a
    question that does not apply (the contract's ``applies_unless``) is not read as
    blank: see ``not_applicable_`` and the module docstring.

    Parameters
    ----------
    audit_inputs : sequence of str, default ()
        Fairness-audit attributes (:data:`AUDIT_ATTRIBUTES`) to use as model inputs
        after all. By default none is: they stay available for subgroup audits.
    min_frequency : int, default 20
        Learned categories (ICD-10 chapters, unknown text columns) seen fewer times
        than this in ``fit`` are merged into one ``"(other)"`` category, as is any
        category first seen in ``transform``.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit`` (only for a DataFrame).
    input_columns_ : list of str
        Source column of each output column.
    kinds_ : list of str
        How each output column is read: ``numeric``, ``boolean``, ``category`` or
        ``icd10_chapter``.
    categories_ : list of list of str
        Category labels of each categorical output column (empty list otherwise).
    categorical_mask_ : ndarray of bool
        True for the output columns that hold category positions (a yes/no
        question that may not apply is one: no, yes, not applicable).
    not_applicable_ : dict
        Input column -> ``{"unless": {governing column: [answers]}, "code": value}``:
        after those answers the column does not apply and is encoded as ``code``
        (the position of :data:`NOT_APPLICABLE` among its categories, or for a
        number the training median of the answers that apply). Fitted from the
        contract's ``applies_unless`` rules whose governing column is an input
        column too. A model saved before this attribute existed has none.

    Examples
    --------
    >>> import pandas as pd
    >>> forms = pd.DataFrame({"age": pd.array([45, None], dtype="Int64"),
    ...                       "expected_return": pd.Series(["unknown", None], dtype="str")})
    >>> FormEncoder().fit_transform(forms)
    array([[45.,  4.],
           [nan, nan]])
    """

    def __init__(self, *, audit_inputs: Sequence[str] = (), min_frequency: int = 20) -> None:
        self.audit_inputs = audit_inputs
        self.min_frequency = min_frequency

    def fit(self, X: pd.DataFrame, y: object = None) -> FormEncoder:
        """Learn which columns are inputs and their categories.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_forms, n_columns)
            Validated forms (``screening.intake.validate_table(...).valid``).
        y : ignored

        Returns
        -------
        self : FormEncoder
        """
        frame = _as_frame(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        if frame.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={frame.shape}) while a minimum of 1 is required.")
        if frame.shape[1] == 0:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required.")
        unknown_audit = set(self.audit_inputs) - set(AUDIT_ATTRIBUTES)
        if unknown_audit:
            raise ValueError(f"audit_inputs must be among {AUDIT_ATTRIBUTES}, got {sorted(unknown_audit)}")
        roles = _contract_roles()
        rules = {column: unless for column, unless in applicability_rules().items()
                 if column in frame.columns and all(governing in frame.columns for governing in unless)}
        not_applies = not_applying(frame, rules=rules)
        self.not_applicable_: dict[str, dict[str, object]] = {}
        self.input_columns_: list[str] = []
        self.kinds_: list[str] = []
        self.categories_: list[list[str]] = []
        for column in frame.columns:
            values = frame[column]
            kind, fixed = roles.get(str(column), (None, ()))
            if column in AUDIT_ATTRIBUTES:
                if column not in self.audit_inputs:
                    continue
                if kind == "skip":  # free text (jobcenter): categories learned
                    kind = _CATEGORY
            elif kind == "skip":
                continue
            if kind is None:
                kind = _NUMERIC if _is_numeric(values) else _CATEGORY
            if kind == _NUMERIC:
                _to_float(values, str(column))  # fail early on what is not a number
                categories: list[str] = []
            elif kind == _BOOLEAN:
                categories = []
            elif fixed:
                categories = list(fixed)
            else:
                text = _texts(values)
                text = _chapters(text) if kind == _CHAPTER else text
                labels, counts = np.unique(text[~np.equal(text, None)].astype(str), return_counts=True)
                categories = sorted(str(label) for label in labels[counts >= self.min_frequency]) + ["(other)"]
            if column in rules and kind != _CHAPTER:
                categories, code = self._not_applicable_level(values, str(column), kind, categories,
                                                              not_applies[column])
                self.not_applicable_[str(column)] = {
                    "unless": {governing: list(answers) for governing, answers in rules[column].items()},
                    "code": code,
                }
            self.input_columns_.append(str(column))
            self.kinds_.append(kind)
            self.categories_.append(categories)
        if not self.input_columns_:
            raise ValueError("no model input among the columns given")
        self.categorical_mask_ = np.array([
            kind in (_CATEGORY, _CHAPTER) or (kind == _BOOLEAN and column in self.not_applicable_)
            for column, kind in zip(self.input_columns_, self.kinds_)
        ])
        return self

    @staticmethod
    def _not_applicable_level(values: pd.Series, column: str, kind: str, categories: list[str],
                              applies_not: np.ndarray) -> tuple[list[str], float]:
        """The categories of a column that may not apply, and the code of "not applicable"."""
        if kind == _BOOLEAN:  # no, yes, not applicable
            return ["False", "True", NOT_APPLICABLE], 2.0
        if kind == _CATEGORY:
            return [*categories, NOT_APPLICABLE], float(len(categories))
        numbers = _to_float(values, column)[~applies_not]
        numbers = numbers[~np.isnan(numbers)]
        return categories, float(np.median(numbers)) if len(numbers) else float("nan")

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Encode forms.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_forms, n_columns)
            Forms with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_forms, n_inputs), float64
            NaN where an answer is missing.
        """
        check_is_fitted(self)
        frame = _as_frame(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but FormEncoder is expecting {self.n_features_in_} features as input."
            )
        return self.encode_frame(frame)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names: the input names, ``diagnosis_code`` read as ``diagnosis_chapter``."""
        check_is_fitted(self)
        return super().get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags
