"""The one place scoring talks to the fitted :class:`~screening.models.RiskModel`.

Forms are encoded once (``RiskModel.encode``) and then predicted and explained
from the encoded inputs (``RiskModel.risks_and_contributions``), in chunks of
:data:`CHUNK_FORMS` forms, which bounds memory whatever the batch size. For the
additive family one pass per chunk gives both the risks at every horizon and the
contributions at each form's reason horizon. The model's frame-level methods
(``predict_risk``, ``contributions``) each encode the forms again; working from
the encoded inputs saves that, which is most of the cost of scoring a single form.
Only public names of the models stage are used here;
``tests/scoring/test_engine.py`` proves the results equal ``predict_risk`` and
``contributions`` exactly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening._io import table_threads
from screening.intake import MAIN_HORIZON

#: Forms predicted and explained at a time by the additive family (~40 MB of arrays per chunk).
CHUNK_FORMS = 32768
#: At most this many at a time by the boosted family: its attribution predicts ~500 hybrid forms per form.
BOOSTED_CHUNK_FORMS = 4096
#: From this many forms on, BLAS runs on one thread while they are scored (see :func:`_blas_on_one_thread`).
BLAS_ONE_THREAD_FROM = 1024
_BLAS_LOCK = threading.Lock()
_blas_state: dict[str, object] = {"users": 0, "limiter": None}


@dataclass(frozen=True)
class Scored:
    """Risks and contributions of a set of forms.

    Attributes
    ----------
    risks : ndarray of shape (n, n_horizons)
        In the order of ``horizons``.
    horizons : tuple of int
    contributions : ndarray of shape (n, n_groups)
        At each form's ``reason_horizon``.
    groups : list of str
        Contribution groups (columns of ``contributions``).
    reason_horizon : ndarray of float
        The horizon the reasons explain: 13 weeks, or for a form already absent
        that long, the next horizon it has not reached (NaN past the last).
    """

    risks: np.ndarray
    horizons: tuple[int, ...]
    contributions: np.ndarray
    groups: list[str]
    reason_horizon: np.ndarray


def horizons_of(estimator: object) -> tuple[int, ...]:
    """The model's horizons as whole weeks."""
    return tuple(int(h) for h in estimator.horizons_)


def model_frame(estimator: object, forms: pd.DataFrame) -> pd.DataFrame:
    """Valid forms with exactly the columns the model's encoder was fitted on (``RiskModel.input_frame``)."""
    return estimator.input_frame(forms)


def encode(estimator: object, forms: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Encoded model inputs and the weeks absent at entry of each form (``RiskModel.encode``)."""
    return estimator.encode(forms)


def risks_encoded(estimator: object, X: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """Risks at every horizon of encoded forms (``RiskModel.risks_encoded``), for forms made up by scoring
    (the reasons' typical form with one answer changed)."""
    return estimator.risks_encoded(X, entry)


def reason_horizons(entry: np.ndarray, horizons: tuple[int, ...], main: int = MAIN_HORIZON) -> np.ndarray:
    """For each form, the first horizon from ``main`` on that it has not reached yet (NaN if none)."""
    later = np.asarray([h for h in horizons if h >= main], dtype=np.float64)
    out = np.full(len(entry), np.nan)
    for horizon in later[::-1]:
        out[entry < horizon] = horizon
    return out


@contextmanager
def _blas_on_one_thread() -> Iterator[None]:
    """OpenBLAS on one thread while the block runs (process-wide, like any BLAS setting).

    The chunks are already spread over threads (:func:`~screening._io.table_threads`); OpenBLAS would start
    threads of its own for every product of more than a few hundred rows, which on
    this 2-core machine made scoring twice as slow. Overlapping calls (threads
    scoring at once) share one limit, and the last one out restores the setting.
    """
    with _BLAS_LOCK:
        if _blas_state["users"] == 0:
            from screening.models import threadpool_controller

            _blas_state["limiter"] = threadpool_controller().limit(limits=1, user_api="blas")
        _blas_state["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_state["users"] -= 1
            if _blas_state["users"] == 0:
                _blas_state["limiter"].restore_original_limits()
                _blas_state["limiter"] = None


def score_encoded(estimator: object, X: np.ndarray, entry: np.ndarray) -> Scored:
    """Risks at every horizon and contributions at each form's reason horizon, chunk by chunk.

    Chunks are spread over :func:`~screening._io.table_threads` threads (NumPy releases the GIL in the
    heavy steps); each chunk's result lands in its own rows, so the output does not
    depend on the threads.
    """
    horizons = horizons_of(estimator)
    if MAIN_HORIZON not in horizons:
        raise ValueError(f"the model predicts {horizons} weeks; scoring needs the {MAIN_HORIZON}-week horizon")
    groups = list(estimator.contribution_groups_)
    n = len(X)
    risks = np.empty((n, len(horizons)))
    contributions = np.zeros((n, len(groups)))
    reason_horizon = reason_horizons(entry, horizons)
    additive = estimator.family_ == "additive"
    size = CHUNK_FORMS if additive else min(CHUNK_FORMS, BOOSTED_CHUNK_FORMS)
    chunks = [slice(start, min(start + size, n)) for start in range(0, n, size)]

    def work(chunk: slice) -> None:
        risks[chunk], contributions[chunk] = estimator.risks_and_contributions(X[chunk], entry[chunk],
                                                                               explain_at=reason_horizon[chunk])

    with _blas_on_one_thread() if additive and n >= BLAS_ONE_THREAD_FROM else nullcontext():
        # The boosted family predicts with OpenMP threads of its own (and limits them per call, process-wide).
        threads = table_threads()
        if threads > 1 and len(chunks) > 1 and additive:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(work, chunks))
        else:
            for chunk in chunks:
                work(chunk)
    return Scored(risks=risks, horizons=horizons, contributions=contributions, groups=groups,
                  reason_horizon=reason_horizon)


#: Weeks absent at entry of the forms :func:`prepare` scores: both queues, every reason horizon, none left.
_PREPARE_ENTRIES = (0.0, 4.0, 10.0, 14.0, 30.0, 60.0)


def prepare(estimator: object) -> None:
    """Do a model's one-off work of scoring now: score its typical form (``reference_``) at a few entries.

    The first table a model scores also lays out its periods for every entry and
    remembers its reference terms per horizon (about 0.15 s of a first chunk's
    model and reasons, 0.03 s here). Worker processes forked afterwards share that
    instead of each doing it on its first chunk. Scores nothing anyone sees. The
    additive family only: the boosted family remembers nothing of the kind, and
    explaining a form costs it about 0.15 s.
    """
    if estimator.family_ != "additive":
        return
    entry = np.asarray(_PREPARE_ENTRIES)
    X = np.repeat(np.asarray(estimator.reference_, dtype=np.float64)[None, :], len(entry), axis=0)
    score_encoded(estimator, X, entry)


def score_forms(estimator: object, forms: pd.DataFrame) -> Scored:
    """Encode valid forms and score them."""
    X, entry = encode(estimator, forms)
    return score_encoded(estimator, X, entry)
