"""The order a consultant works in: priority bands, a total ranking, and this week's contacts.

Priority bands
--------------
On the 13-week risk (a calibrated probability), with fixed thresholds so that
"high" means the same thing every week and in every jobcenter (capacity, not the
band, adapts to the week's mix):

* ``high``   risk ≥ 0.50: a long absence is more likely than not;
* ``medium`` 0.25 ≤ risk < 0.50: around or above the usual risk (about one form
  in three passes 13 weeks, so 0.25 is three quarters of the average);
* ``low``    risk < 0.25.

Bands are decided on the risk as written (4 decimals), so ``0.5000`` is high.

Order and ties
--------------
Forms are sorted by, in turn:

1. ``risk`` (13 weeks, 4 decimals), highest first;
2. ``risk_22`` (to the week-22 reassessment), highest first: among equal 13-week
   risks, the absence more likely to go on longer comes first. This is what
   orders the forms already absent 13 weeks or more, whose 13-week risk is 1;
3. ``risk_52``, highest first;
4. ``case_id`` in character-code order (unique in a file), so the order is total
   and the same on every run and machine.

Risks equal to 4 decimals are ties: differences below what is written are noise.
With ``per="jobcenter"`` the forms are grouped by jobcenter (name order, forms
without one last) and ranked within each; ``rank`` restarts at 1 per group.
With a capacity ``K``, the first ``K`` forms (of each jobcenter with ``per``)
are marked ``contact_this_week``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Lower bounds of the priority bands on the 13-week risk.
PRIORITY_THRESHOLDS: dict[str, float] = {"high": 0.50, "medium": 0.25}
PRIORITIES: tuple[str, str, str] = ("high", "medium", "low")
#: Risks are written and ranked with this many decimals.
RISK_DECIMALS = 4
RISK_SCALE = 10**RISK_DECIMALS
PER_CHOICES: tuple[str, ...] = ("jobcenter",)


def risk_units(risk: np.ndarray) -> np.ndarray:
    """Risks in units of the last written decimal (0 .. 10,000), as int64."""
    return np.rint(np.asarray(risk, dtype=np.float64) * RISK_SCALE).astype(np.int64)


def priority_codes(risk_13: np.ndarray) -> np.ndarray:
    """Index into :data:`PRIORITIES` of each 13-week risk (0 high, 1 medium, 2 low)."""
    units = risk_units(risk_13)
    high = int(round(PRIORITY_THRESHOLDS["high"] * RISK_SCALE))
    medium = int(round(PRIORITY_THRESHOLDS["medium"] * RISK_SCALE))
    return np.where(units >= high, 0, np.where(units >= medium, 1, 2)).astype(np.int8)


#: Horizons that order forms after the 13-week risk, in turn.
TIE_BREAK_HORIZONS = (22, 52)


def sort_keys(horizons: tuple[int, ...], per: str | None) -> list[tuple[str, str, str]]:
    """Arrow sort keys of the working order, on the ranked list's column names.

    Every sort of forms into working order uses these: within a chunk
    (:func:`rank_order`) and when sorted chunks are merged (``_batch``).
    """
    keys = [("jobcenter", "ascending", "at_end")] if per == "jobcenter" else []
    keys.append(("risk", "descending", "at_end"))
    keys += [(f"risk_{h}", "descending", "at_end") for h in TIE_BREAK_HORIZONS if h in horizons]
    keys.append(("case_id", "ascending", "at_end"))
    return keys


def group_ranks(sorted_groups: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Rank within each run of equal groups (nulls one group) of rows already in working order.

    Returns the ranks and, for each row, whether it starts a new group.
    """
    n = len(sorted_groups)
    codes = pc.dictionary_encode(sorted_groups, null_encoding="encode").indices.to_numpy(zero_copy_only=False)
    starts = np.r_[True, codes[1:] != codes[:-1]] if n else np.zeros(0, dtype=bool)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    return (np.arange(n) - group_start + 1).astype(np.int64), starts


def rank_order(
    risk_13: np.ndarray,
    risk_22: np.ndarray | None,
    risk_52: np.ndarray | None,
    case_ids: pa.Array,
    *,
    groups: pa.Array | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The working order of forms, and each form's rank in it.

    Parameters
    ----------
    risk_13, risk_22, risk_52 : ndarray
        Risks per form (``risk_22``/``risk_52`` may be None when the model lacks them).
    case_ids : pyarrow.Array of str
        Unique per form.
    groups : pyarrow.Array of str, optional
        Rank within these groups (jobcenter); nulls form the last group.

    Returns
    -------
    order : ndarray of int64
        Positions of the forms in working order.
    rank : ndarray of int64
        Rank (1 = first) of the form at each position of ``order``, restarting per group.
    """
    columns: dict[str, object] = {} if groups is None else {"jobcenter": groups}
    horizons = []
    for horizon, values in ((13, risk_13), (22, risk_22), (52, risk_52)):
        if values is not None:
            columns["risk" if horizon == 13 else f"risk_{horizon}"] = pa.array(risk_units(values))
            horizons.append(horizon)
    columns["case_id"] = case_ids
    keys = sort_keys(tuple(horizons), "jobcenter" if groups is not None else None)
    order = pc.sort_indices(pa.table(columns), sort_keys=keys).to_numpy()
    if groups is None or len(order) == 0:
        return order, np.arange(1, len(order) + 1, dtype=np.int64)
    return order, group_ranks(groups.take(pa.array(order)))[0]


def contact_marks(rank: np.ndarray, capacity: int | None) -> np.ndarray | None:
    """Whether each ranked form is among the first ``capacity`` (None without a capacity)."""
    if capacity is None:
        return None
    if capacity < 0:
        raise ValueError(f"capacity must be 0 or more, got {capacity}")
    return rank <= capacity
