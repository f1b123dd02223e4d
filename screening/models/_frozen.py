"""A fitted additive model as plain data (JSON), scored without scikit-learn.

A batch loads a model only to score it. The fitted :class:`~screening.models.RiskModel`
is scikit-learn estimators (and skops' file format), whose import is about a second
of a batch's start and most of loading a model. What scoring reads of them is
plain: numbers, lists, NumPy arrays. :func:`freeze_scorer` writes those fitted
attributes as JSON; :func:`thaw_scorer` makes a :class:`RiskScoring` of them, whose
parts are the ``*Scoring`` classes the estimators are made of, so it predicts and
explains with the very same code. Nothing in the text is run: it names classes
from :data:`SCORING_CLASSES` only, and values are JSON (no pickle).

Floats are written by ``repr`` (the shortest text that reads back to the same
double), so every number comes back bit for bit; :func:`freeze_scorer` checks that
on the model's typical form before it gives the text. (A model, fitted or frozen,
remembers tables as it scores, some made for other forms at once and so equal only
to a last bit or two; two of them agree to the bit from the same start.) The boosted family's trees
are scikit-learn's: it has no frozen form (``None``), and loads as fitted.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np

from screening.features import DesignScoring, EncoderScoring
from screening.intake import MAIN_HORIZON
from screening.models._additive_scoring import AdditiveHazardScoring, CalibrationScoring
from screening.models._risk_scoring import RiskScoring

#: The classes a frozen scorer may name: each the scoring part of one fitted estimator.
SCORING_CLASSES: dict[str, type] = {
    "RiskScoring": RiskScoring,
    "EncoderScoring": EncoderScoring,
    "DesignScoring": DesignScoring,
    "AdditiveHazardScoring": AdditiveHazardScoring,
    "CalibrationScoring": CalibrationScoring,
}
#: Array types a frozen scorer may hold (object: text, or None).
_DTYPES = frozenset({"float64", "int64", "bool", "object"})
#: Version of the format: a reader refuses others.
FORMAT = 1
#: Weeks absent at entry of the typical forms the round trip is checked on (both queues, every reason horizon).
_CHECK_ENTRIES = (0.0, 4.0, 10.0, 14.0, 30.0, 60.0)


def freeze_scorer(estimator: Any) -> str | None:
    """The fitted attributes scoring reads of an additive model, as JSON text; None for the boosted family.

    Parameters
    ----------
    estimator : RiskModel
        A fitted model.

    Returns
    -------
    str or None

    Raises
    ------
    TypeError
        An attribute of a type the format does not keep (named, with where it sits).
    ValueError
        The text does not give back the same risks and contributions (a defect: an
        attribute the format does not keep exactly).
    """
    if getattr(estimator, "family_", None) != "additive":
        return None
    text = json.dumps({"format": FORMAT, "model": _freeze(estimator, "model")}, separators=(",", ":"))
    scorer = thaw_scorer(text)
    entry = np.asarray(_CHECK_ENTRIES)
    X = np.repeat(np.asarray(estimator.reference_, dtype=np.float64)[None, :], len(entry), axis=0)
    later = [float(h) for h in estimator.horizons_ if h >= MAIN_HORIZON]
    at = np.array([next((h for h in later if h > weeks), np.nan) for weeks in entry])
    # A copy: the model remembers tables as it scores (some at another size, equal to a last bit or so);
    # the two are compared from the same start, and the caller's model is left as it was.
    fitted = copy.deepcopy(estimator).risks_and_contributions(X, entry, explain_at=at)
    frozen = scorer.risks_and_contributions(X, entry, explain_at=at)
    if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(fitted, frozen)):
        raise ValueError("the frozen scorer does not give the fitted model's risks and contributions")
    return text


def thaw_scorer(text: str | bytes) -> RiskScoring:
    """The model :func:`freeze_scorer` wrote, ready to score.

    Raises
    ------
    ValueError
        The text is not a frozen scorer of this format (damaged, or names a class or
        type it may not).
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"not JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a frozen scorer of format {FORMAT}")
    try:
        model = _thaw(document.get("model"), "model")
    except (TypeError, OverflowError, RecursionError) as error:  # a value NumPy cannot make, or nested too deep
        raise ValueError(f"a value cannot be read ({type(error).__name__})") from None
    if not isinstance(model, RiskScoring) or getattr(model, "family_", None) != "additive":
        raise ValueError("the frozen scorer is not an additive risk model")
    return model


def _freeze(value: Any, where: str) -> Any:
    """One value as JSON-ready data, types kept (tuples, dicts with any keys, NumPy scalars and arrays)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.generic):
        return {"scalar": value.dtype.str, "value": value.item()}
    if type(value) is list:
        return [_freeze(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if type(value) is tuple:
        return {"tuple": [_freeze(item, f"{where}[{i}]") for i, item in enumerate(value)]}
    if type(value) is dict:
        return {"dict": [[_freeze(key, where), _freeze(item, f"{where}[{key!r}]")] for key, item in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.name not in _DTYPES:
            raise TypeError(f"{where}: arrays of {value.dtype} cannot be frozen")
        data = value.ravel().tolist()
        if value.dtype == object and not all(item is None or type(item) is str for item in data):
            raise TypeError(f"{where}: an object array of other things than text cannot be frozen")
        return {"array": value.dtype.name, "shape": list(value.shape), "data": data}
    scoring = next((cls for cls in type(value).__mro__ if cls in SCORING_CLASSES.values()), None)
    if scoring is None:
        raise TypeError(f"{where}: a {type(value).__name__} cannot be frozen")
    return {"object": scoring.__name__,
            "state": {name: _freeze(item, f"{where}.{name}") for name, item in vars(value).items()}}


def _thaw(data: Any, where: str) -> Any:
    """The value :func:`_freeze` gave ``data`` for."""
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [_thaw(item, where) for item in data]
    if type(data) is not dict or len(data) not in (1, 2, 3):
        raise ValueError(f"{where}: not a frozen value")
    if "tuple" in data:
        return tuple(_thaw(item, where) for item in _list(data["tuple"], where))
    if "dict" in data:
        pairs = [_list(pair, where) for pair in _list(data["dict"], where)]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"{where}: not a frozen dict")
        return {_hashable(_thaw(key, where), where): _thaw(item, where) for key, item in pairs}
    if "scalar" in data:
        try:
            dtype = np.dtype(str(data["scalar"]))
        except TypeError:
            raise ValueError(f"{where}: not a NumPy type") from None
        if dtype.name not in _DTYPES - {"object"}:
            raise ValueError(f"{where}: NumPy scalars of {dtype} are not read")
        return dtype.type(data["value"])
    if "array" in data:
        name = data["array"]
        if name not in _DTYPES:
            raise ValueError(f"{where}: arrays of {name!r} are not read")
        shape = tuple(int(size) for size in _list(data.get("shape"), where))
        items = _list(data.get("data"), where)
        if name == "object" and not all(item is None or type(item) is str for item in items):
            raise ValueError(f"{where}: an object array holds only text")
        array = np.array(items, dtype=name) if items else np.empty(0, dtype=name)
        if array.ndim != 1 or array.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{where}: the array's data does not fit its shape")
        return array.reshape(shape)
    if "object" in data:
        cls = SCORING_CLASSES.get(data["object"])
        state = data.get("state")
        if cls is None or type(state) is not dict:
            raise ValueError(f"{where}: names no scoring class ({str(data['object'])[:40]!r})")
        thawed = object.__new__(cls)
        thawed.__dict__.update({str(name): _thaw(item, f"{where}.{name}") for name, item in state.items()})
        return thawed
    raise ValueError(f"{where}: not a frozen value")


def _list(data: Any, where: str) -> list:
    if type(data) is not list:
        raise ValueError(f"{where}: a list was expected")
    return data


def _hashable(key: Any, where: str) -> Any:
    try:
        hash(key)
    except TypeError:
        raise ValueError(f"{where}: a dict key must be a plain value") from None
    return key
