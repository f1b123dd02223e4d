"""Spells as person-periods: the data layout of the piecewise-exponential hazard model.

Time runs in weeks from the first sick day. The weeks up to the last horizon are cut
into periods (:data:`PERIOD_BOUNDS`): one week long up to week 22, so that every
horizon (8, 13, 22) is a period boundary and early weeks, where the chance of
returning changes fastest, are resolved finely; then 2-4 weeks up to week 52, where
it changes slowly and the rows would otherwise cost most.

A form contributes one row per period it was *observed at risk* in:

* from its entry time ``sick_weeks`` (left truncation: a form only says something
  about the weeks after it was received, and nothing about people who returned
  before they were ever asked), so the first row is usually a part-period;
* to the end of the spell, the censoring time, or the last horizon, whichever comes
  first (right censoring: a spell still going on contributes the weeks it was seen
  absent and never an event: an unfinished spell is never counted as a return).

Each row carries its *exposure* (weeks observed in the period) and whether the
spell ended in it. With a hazard that is constant within a period, the likelihood of
the spells is exactly a Poisson likelihood of the events with the log exposure as
offset; part-periods at entry, at censoring and at a horizon are handled exactly,
with no "half a week" convention.

The features of a row describe the period as it was *known in advance* (its start
and end as far as the form's entry allows), never when the spell ended, which would
leak the outcome into the inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Period boundaries in weeks from the first sick day.
PERIOD_BOUNDS: np.ndarray = np.r_[np.arange(0.0, 23.0), [24, 26, 28, 30, 33, 36, 40, 44, 48, 52]].astype(
    np.float64
)
#: Exposure given to a spell that ended at the very moment it was observed (its
#: ``absence_weeks`` equals ``sick_weeks``, both rounded to 0.1 week): half the
#: rounding step, so that such a return still counts, with a finite likelihood.
MIN_EVENT_EXPOSURE = 0.05
#: Names of the two time columns appended to the form inputs of each row.
TIME_FEATURES: tuple[str, str] = ("weeks", "weeks_since_form")


@dataclass(frozen=True)
class PersonPeriods:
    """Person-period rows of a set of forms (one array entry per row).

    Attributes
    ----------
    form : ndarray of int
        Position of the form the row belongs to.
    start, end : ndarray of float
        The period as known in advance: ``max(period start, entry)`` and the period end.
    exposure : ndarray of float
        Weeks observed at risk within the period.
    event : ndarray of float
        1.0 where the spell ended (return to work) within the period.
    weight : ndarray of float
        Sampling weight (1 unless rows without an event were subsampled).
    """

    form: np.ndarray
    start: np.ndarray
    end: np.ndarray
    exposure: np.ndarray
    event: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.form)

    def take(self, rows: np.ndarray) -> PersonPeriods:
        """The rows selected by a boolean mask or positions."""
        return PersonPeriods(*(getattr(self, name)[rows] for name in self.__dataclass_fields__))

    def time_features(self, entry: np.ndarray) -> np.ndarray:
        """``weeks`` (middle of the period) and ``weeks_since_form``, shape (n_rows, 2)."""
        middle = (self.start + self.end) / 2.0
        return np.column_stack([middle, middle - entry[self.form]])


def person_periods(
    entry: np.ndarray,
    exit: np.ndarray,
    event: np.ndarray,
    *,
    bounds: np.ndarray = PERIOD_BOUNDS,
) -> PersonPeriods:
    """Expand spells into person-periods at risk.

    Parameters
    ----------
    entry : ndarray of float
        Weeks absent when the form was received (``sick_weeks``).
    exit : ndarray of float
        Weeks absent at the end of observation (``absence_weeks``).
    event : ndarray of bool
        Whether the spell ended at ``exit`` (``spell_ended``); False = censored.
    bounds : ndarray of float, default PERIOD_BOUNDS

    Returns
    -------
    PersonPeriods
        Forms with ``exit <= entry`` and no event, and forms entered at or after the
        last bound, contribute no row. An event after the last bound is censored there.
    """
    entry = np.asarray(entry, dtype=np.float64)
    last_bound = bounds[-1]
    event = np.asarray(event, dtype=bool) & (np.asarray(exit) <= last_bound)
    exit = np.minimum(np.asarray(exit, dtype=np.float64), last_bound)
    first = np.searchsorted(bounds, entry, side="right") - 1
    last = np.maximum(np.searchsorted(bounds, exit, side="left") - 1, first)
    count = np.where(entry < last_bound, last - first + 1, 0)
    form = np.repeat(np.arange(len(entry)), count)
    offset = np.arange(len(form)) - np.repeat(np.cumsum(count) - count, count)
    period = first[form] + offset
    start = np.maximum(bounds[period], entry[form])
    end = bounds[period + 1]
    exposure = np.minimum(end, exit[form]) - start
    ended = event[form] & (offset == count[form] - 1)
    exposure = np.where(ended, np.maximum(exposure, MIN_EVENT_EXPOSURE), exposure)
    keep = exposure > 0
    return PersonPeriods(
        form=form[keep],
        start=start[keep],
        end=end[keep],
        exposure=exposure[keep],
        event=ended[keep].astype(np.float64),
        weight=np.ones(int(keep.sum())),
    )


def prediction_periods(entry: np.ndarray, horizon: float, *, bounds: np.ndarray = PERIOD_BOUNDS) -> PersonPeriods:
    """The periods from each form's entry to ``horizon`` (no outcome), for prediction."""
    entry = np.asarray(entry, dtype=np.float64)
    return person_periods(entry, np.full(len(entry), float(horizon)), np.zeros(len(entry), dtype=bool), bounds=bounds)


def cumulative_hazards(
    periods: PersonPeriods, rate: np.ndarray, n_forms: int, horizons: Sequence[float]
) -> np.ndarray:
    """Cumulative hazard of return from entry to each horizon, shape (n_forms, n_horizons).

    ``rate`` is the hazard per week of each row. The periods must come from
    :func:`prediction_periods` up to at least the largest horizon. A horizon at or
    before a form's entry gets 0 (so its risk is 1).
    """
    out = np.empty((n_forms, len(horizons)))
    for k, horizon in enumerate(horizons):
        exposed = np.clip(np.minimum(periods.end, horizon) - periods.start, 0.0, None)
        out[:, k] = np.bincount(periods.form, weights=rate * exposed, minlength=n_forms)
    return out


def subsample_without_event(
    periods: PersonPeriods, max_rows: int | None, rng: np.random.Generator
) -> tuple[PersonPeriods, float]:
    """Keep every row with an event and a random share of the others, reweighted.

    The Poisson log-likelihood is a sum over rows, so keeping rows without an event
    with probability ``q`` and weighting them by ``1/q`` leaves its expectation
    unchanged (the estimator stays unbiased; it only gets a little noisier). This is
    what bounds training time and memory on a million forms.

    Returns
    -------
    periods : PersonPeriods
    keep_share : float
        ``q``; 1.0 when nothing was dropped.
    """
    if max_rows is None or len(periods) <= max_rows:
        return periods, 1.0
    events = periods.event > 0
    n_events = int(events.sum())
    share = max(min((max_rows - n_events) / max(len(periods) - n_events, 1), 1.0), 0.05)
    keep = events | (rng.random(len(periods)) < share)
    kept = periods.take(keep)
    weight = np.where(kept.event > 0, 1.0, 1.0 / share)
    return PersonPeriods(kept.form, kept.start, kept.end, kept.exposure, kept.event, weight), share
