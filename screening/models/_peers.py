"""Two plain peers: what a careful analyst without survival methods would fit.

Both predict "absent more than ``horizon`` weeks" as a yes/no label from the form's
answers, trained on the forms whose label is known: ended spells, and censored ones
already past the horizon. Censored spells that were still short when the data were
extracted are dropped. That is the plain way, and it is biased: the spells dropped
are the ones still going on, so long absences are under-represented among recent
forms. The benchmarks compare the risk model against these two to show it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

#: The form answers the peers use (the risk model's inputs, read the plain way).
PEER_NUMBERS: tuple[str, ...] = (
    "sick_weeks", "age", "physical_load", "weekly_hours", "prior_sick_weeks_12m", "work_ability",
    "partial_sick_leave", "employer_contact",
)
PEER_CATEGORIES: tuple[str, ...] = ("diagnosis_group", "employment_status", "expected_return", "treatment")


def plain_inputs(forms: pd.DataFrame) -> pd.DataFrame:
    """The peers' inputs: numbers as float (NaN for blank), categories as str (NaN for blank)."""
    numbers = {name: forms[name].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
               for name in PEER_NUMBERS}
    categories = {name: forms[name].astype(object).where(forms[name].notna(), np.nan) for name in PEER_CATEGORIES}
    return pd.DataFrame({**numbers, **categories}, index=forms.index)


def as_category(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast text columns to ``category`` (HistGradientBoosting only sees those as categorical)."""
    return frame.astype({name: "category" for name in PEER_CATEGORIES if name in frame})


def known_label(forms: pd.DataFrame, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """``absence_weeks > horizon`` and whether it is known (ended, or censored past the horizon)."""
    weeks = forms["absence_weeks"].to_numpy(dtype=np.float64)
    ended = forms["spell_ended"].astype("boolean").to_numpy(dtype=bool, na_value=False)
    return weeks > horizon, ended | (weeks > horizon)


def fit_plain_peers(forms: pd.DataFrame, *, horizon: float = 13, seed: int = 0) -> dict[str, Pipeline]:
    """Fit the two plain peers on the forms whose label at ``horizon`` is known.

    Parameters
    ----------
    forms : pandas.DataFrame
        Validated training forms.
    horizon : float, default 13
    seed : int, default 0

    Returns
    -------
    dict
        ``"logistic"``: imputation (median, with missing indicators), scaling,
        one-hot encoding and ``LogisticRegression``; ``"boosted"``: an uncalibrated
        ``HistGradientBoostingClassifier``. Each takes ``plain_inputs(forms)``.
    """
    label, known = known_label(forms, horizon)
    X = plain_inputs(forms)[known]
    y = label[known]
    logistic = Pipeline([
        ("columns", ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
             list(PEER_NUMBERS)),
            ("categories", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                         OneHotEncoder(handle_unknown="ignore")), list(PEER_CATEGORIES)),
        ])),
        ("model", LogisticRegression(max_iter=2000)),
    ])
    boosted = Pipeline([
        ("categories", FunctionTransformer(as_category)),
        ("model", HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)),
    ])
    return {"logistic": logistic.fit(X, y), "boosted": boosted.fit(X, y)}
