"""A simulated year of forms with outcomes, stable or with a shift half-way: what monitoring is tested on.

Each month's forms are one :func:`screening.synthetic.simulate_cohort` (its own seed,
received over that month), so months differ only by chance until the shift. From
``shift_month`` on, two things can change, each on purpose and documented:

* **more mental diagnoses** (``mental_share``): the month's forms are drawn from a
  larger simulated cohort, mental diagnoses and the rest in the asked proportion.
  Everything that goes with a mental diagnosis in the simulator (age, sex, answers,
  duration) comes with it: a change the model *can* see on the forms.
* **slower returns** (``slower_by``): the hazard of returning to work is divided by
  a factor ``m`` > 1 for every form of the month, chosen so that the expected
  13-week rate (the mean true risk of the forms still undecided at 13 weeks) rises
  by exactly ``slower_by``. In the simulator's proportional-hazards model a form's
  remaining duration is redrawn consistently: with ``H(t) = (t / scale) ** shape``,
  ``H(T') - H(s) = m (H(T) - H(s))`` keeps each person's rank and moves their true
  risk from ``S`` to ``S ** (1 / m)``. A change the model *cannot* see: the same
  answers now mean a longer absence.

The whole year is then extracted on one day (``extraction_date``, by default four
months after the year ends, so every form can show its 13-week outcome): spells
still going on then are censored there, and ``absence_weeks`` / ``spell_ended`` are
written as the simulator writes them. Only the "frailty" family has the
proportional-hazards form this needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from screening.intake import MAIN_HORIZON

#: Default extraction: this many days after the last day of the year.
FOLLOW_UP_DAYS = 120


@dataclass(frozen=True)
class SimulatedYear:
    """A simulated monitoring extract and what was done to it.

    Attributes
    ----------
    forms : pandas.DataFrame
        Raw forms (text, as a file holds them) with ``absence_weeks`` and
        ``spell_ended`` as extracted on ``extraction_date``.
    months : pandas.DataFrame
        One row per month (``month`` as ``YYYY-MM``): ``forms``, ``shifted``,
        ``mental_share`` (realised), ``hazard_divisor`` (1 = returns as before) and
        ``expected_rate`` / ``expected_rate_before`` (mean true 13-week risk of the
        forms still undecided at 13 weeks, with and without the slower returns).
    extraction_date : datetime.date
    """

    forms: pd.DataFrame
    months: pd.DataFrame
    extraction_date: dt.date


def _month_starts(start: dt.date, months: int) -> list[dt.date]:
    first = dt.date(start.year, start.month, 1)
    return [dt.date(first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1, 1)
            for k in range(months + 1)]


def _hazard_divisor(risk: np.ndarray, slower_by: float) -> float:
    """The ``m`` >= 1 with mean(risk ** (1 / m)) = mean(risk) + slower_by (bisection)."""
    risk = np.clip(risk, 1e-12, 1.0)
    target = float(risk.mean()) + slower_by
    if slower_by <= 0:
        return 1.0
    if target >= 1.0:
        raise ValueError(f"slower_by={slower_by} would put the 13-week rate at or above 100 %")
    low, high = 1.0, 2.0
    while float((risk ** (1.0 / high)).mean()) < target:
        high *= 2.0
    for _ in range(80):
        middle = 0.5 * (low + high)
        if float((risk ** (1.0 / middle)).mean()) < target:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def _outcome_text(weeks: np.ndarray, ended: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """``absence_weeks`` and ``spell_ended`` as the simulator writes them (ended: rounded up to 0.1 week)."""
    tenths = np.where(ended, np.ceil(weeks * 10 - 1e-9), np.rint(weeks * 10)).astype(np.int64)
    return (pd.Series([f"{k / 10:.1f}" for k in tenths], dtype="str"),
            pd.Series(np.where(ended, "ja", "nej"), dtype="str"))


def simulate_year(
    forms_per_month: int,
    *,
    seed: int = 0,
    start: dt.date = dt.date(2027, 1, 1),
    months: int = 12,
    shift_month: int | None = None,
    slower_by: float = 0.0,
    mental_share: float | None = None,
    extraction_date: dt.date | None = None,
    messy: bool = True,
) -> SimulatedYear:
    """Simulate a year (``months`` months) of forms with outcomes, shifted from ``shift_month`` on.

    Parameters
    ----------
    forms_per_month : int
        Forms received in each month.
    seed : int, default 0
        Seed; month ``k`` uses ``seed * 1000 + k``.
    start : datetime.date, default 2027-01-01
        The first month (its first day is used).
    months : int, default 12
    shift_month : int, optional
        Month number (1 = the first month) from which the shift applies; None = a
        stable year.
    slower_by : float, default 0
        Rise of the expected 13-week rate from slower returns, in risk points (0.05
        = 5 percentage points), that the forms do not show.
    mental_share : float, optional
        Share of mental diagnoses in the shifted months (the simulator's own is
        about 0.30); None = unchanged.
    extraction_date : datetime.date, optional
        Day the year is extracted; default :data:`FOLLOW_UP_DAYS` days after it ends.
        An earlier day (a monthly pull during the year) keeps the forms received by
        then, with their outcomes as known that day: the same people as a later pull.
    messy : bool, default True
        Spell the forms as real files do (see ``simulate_cohort``).

    Returns
    -------
    SimulatedYear
    """
    from screening.synthetic import WEIBULL_SCALE, WEIBULL_SHAPE, simulate_cohort

    if forms_per_month < 1 or months < 1:
        raise ValueError("forms_per_month and months must be at least 1")
    if mental_share is not None and not 0 < mental_share < 1:
        raise ValueError(f"mental_share must be between 0 and 1, got {mental_share}")
    starts = _month_starts(start, months)
    extraction = extraction_date or starts[-1] + dt.timedelta(days=FOLLOW_UP_DAYS - 1)
    if extraction < starts[0]:
        raise ValueError(f"extraction_date {extraction} is before the first month ({starts[0]})")
    parts, facts = [], []
    for k in range(months):
        shifted = shift_month is not None and k + 1 >= shift_month
        month_end = starts[k + 1] - dt.timedelta(days=1)
        n = forms_per_month
        oversample = 1.0
        if shifted and mental_share is not None:
            oversample = max(mental_share / 0.25, (1 - mental_share) / 0.6, 1.0)  # the simulator's share is ~0.30
        cohort = simulate_cohort(int(np.ceil(n * oversample)) + 50, seed=seed * 1000 + k, training=True,
                                 messy=messy, extraction_date=month_end,
                                 window_days=(starts[k + 1] - starts[k]).days, family="frailty")
        rows = np.arange(len(cohort.forms))
        if shifted and mental_share is not None:
            rng = np.random.default_rng([seed, k, 7])
            mental = (cohort.latent["diagnosis_group"] == "mental").to_numpy()
            take = round(n * mental_share)
            rows = np.concatenate([rng.choice(np.flatnonzero(mental), take, replace=False),
                                   rng.choice(np.flatnonzero(~mental), n - take, replace=False)])
            rows.sort()
        else:
            rows = rows[:n]
        forms = cohort.forms.iloc[rows].reset_index(drop=True)
        latent = cohort.latent.iloc[rows].reset_index(drop=True)
        risk = cohort.true_risk[f"risk_{MAIN_HORIZON}"].to_numpy(dtype=np.float64)[rows]
        sick = latent["sick_weeks"].to_numpy(dtype=np.float64)
        undecided = sick < MAIN_HORIZON
        divisor = _hazard_divisor(risk[undecided], slower_by) if shifted and slower_by > 0 else 1.0
        duration = latent["duration_weeks"].to_numpy(dtype=np.float64)
        if divisor != 1.0:  # H(T') - H(s) = m (H(T) - H(s)): the remaining hazard divided by m
            h_s = (sick / WEIBULL_SCALE) ** WEIBULL_SHAPE
            h_t = (duration / WEIBULL_SCALE) ** WEIBULL_SHAPE
            duration = WEIBULL_SCALE * (h_s + divisor * (h_t - h_s)) ** (1.0 / WEIBULL_SHAPE)
        censor = latent["censor_weeks"].to_numpy(dtype=np.float64) + (extraction - month_end).days / 7.0
        ended = duration <= censor
        forms["absence_weeks"], forms["spell_ended"] = _outcome_text(np.minimum(duration, censor), ended)
        forms["case_id"] = pd.Series([f"Y{seed}-M{k + 1:02d}-{i:06d}" for i in range(1, n + 1)], dtype="str")
        # An extract taken within the year holds the forms received by then (the same people as a later one).
        received = latent["form_received"].to_numpy(dtype="datetime64[D]") <= np.datetime64(extraction, "D")
        parts.append(forms[received])
        facts.append({
            "month": f"{starts[k]:%Y-%m}", "forms": int(received.sum()), "shifted": shifted,
            "mental_share": float((latent["diagnosis_group"] == "mental").mean()),
            "hazard_divisor": divisor,
            "expected_rate": float((risk[undecided] ** (1.0 / divisor)).mean()),
            "expected_rate_before": float(risk[undecided].mean()),
        })
    return SimulatedYear(forms=pd.concat(parts, ignore_index=True), months=pd.DataFrame(facts),
                         extraction_date=extraction)
