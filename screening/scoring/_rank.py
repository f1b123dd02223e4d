"""The order a consultant works in: two queues, priority bands, a total ranking, and this week's contacts.

Two queues
----------
Early contact is the point of the tool, so the week's forms are split by how long
the person had been absent when the form arrived (``sick_weeks``):

* ``early``: not yet 13 weeks. Ranked by the 13-week risk; only these forms take
  this week's contact slots (``capacity``, per jobcenter with ``per``).
* ``late``: 13 weeks or more. Their 13-week risk is 1 by definition and cannot
  move; they follow the standard follow-up (visitation at week 8, reassessment
  at week 22). They are listed apart, ranked by the risk of passing the next
  horizon they have not reached (22, then 52 weeks), never shown as "100 %". A
  form received at 52 weeks has no horizon left: no risk, no priority, last.

The ranked list's ``queue`` says which queue a form is in, ``horizon`` the weeks
its ``risk`` is about (13 in the early queue) and its reasons explain that risk.

Priority bands
--------------
On ``risk`` (a calibrated probability), with fixed thresholds so that "high"
means the same thing every week and in every jobcenter (capacity, not the band,
adapts to the week's mix):

* ``high``   risk ≥ 0.50: passing the horizon is more likely than not;
* ``medium`` 0.25 ≤ risk < 0.50: around or above the usual risk (about one form
  in three passes 13 weeks, so 0.25 is three quarters of the average);
* ``low``    risk < 0.25.

Bands are decided on the risk as written (4 decimals), so ``0.5000`` is high.

Order and ties
--------------
Forms are sorted by, in turn:

1. the jobcenter, with ``per="jobcenter"`` (name order, forms without one last);
2. the queue: ``early`` before ``late``;
3. ``risk`` (4 decimals), highest first;
4. ``risk_22`` (to the week-22 reassessment), highest first: among equal risks,
   the absence more likely to go on longer comes first;
5. ``risk_52``, highest first;
6. ``case_id`` in character-code order (unique in a file), so the order is total
   and the same on every run and machine.

Risks equal to 4 decimals are ties: differences below what is written are noise.
``rank`` restarts at 1 in each queue (and each jobcenter with ``per``). With a
capacity ``K``, the first ``K`` forms of the early queue (of each jobcenter with
``per``) are marked ``contact_this_week``; the late queue is never marked.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Lower bounds of the priority bands on the risk a form is ranked by (13 weeks in the early queue).
PRIORITY_THRESHOLDS: dict[str, float] = {"high": 0.50, "medium": 0.25}
PRIORITIES: tuple[str, str, str] = ("high", "medium", "low")
#: Risks are written and ranked with this many decimals.
RISK_DECIMALS = 4
RISK_SCALE = 10**RISK_DECIMALS
PER_CHOICES: tuple[str, ...] = ("jobcenter",)
#: The queues, in working order.
QUEUES: tuple[str, str] = ("early", "late")
EARLY, LATE = QUEUES


def risk_units(risk: np.ndarray) -> np.ndarray:
    """Risks in units of the last written decimal (0 .. 10,000), as int64; -1 where there is no risk (NaN)."""
    risk = np.asarray(risk, dtype=np.float64)
    return np.where(np.isnan(risk), -1, np.rint(np.nan_to_num(risk) * RISK_SCALE)).astype(np.int64)


def priority_codes(risk: np.ndarray) -> np.ndarray:
    """Index into :data:`PRIORITIES` of each risk (0 high, 1 medium, 2 low; -1 where there is no risk)."""
    units = risk_units(risk)
    high = int(round(PRIORITY_THRESHOLDS["high"] * RISK_SCALE))
    medium = int(round(PRIORITY_THRESHOLDS["medium"] * RISK_SCALE))
    return np.where(units < 0, -1, np.where(units >= high, 0, np.where(units >= medium, 1, 2))).astype(np.int8)


def queue_codes(entry: np.ndarray, main: int) -> np.ndarray:
    """Index into :data:`QUEUES` of each form: 0 (early) before ``main`` weeks absent, 1 (late) from then on."""
    return (np.asarray(entry, dtype=np.float64) >= main).astype(np.int8)


#: Horizons that order forms after the 13-week risk, in turn.
TIE_BREAK_HORIZONS = (22, 52)


def sort_keys(horizons: tuple[int, ...], per: str | None) -> list[tuple[str, str, str]]:
    """Arrow sort keys of the working order, on the ranked list's column names.

    Every sort of forms into working order uses these: within a chunk
    (:func:`rank_order`) and when sorted chunks are merged (``_batch``).
    """
    keys = [("jobcenter", "ascending", "at_end")] if per == "jobcenter" else []
    keys.append(("queue", "ascending", "at_end"))
    keys.append(("risk", "descending", "at_end"))
    keys += [(f"risk_{h}", "descending", "at_end") for h in TIE_BREAK_HORIZONS if h in horizons]
    keys.append(("case_id", "ascending", "at_end"))
    return keys


def group_ranks(*sorted_groups: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Rank within each run of rows equal in every one of ``sorted_groups`` (nulls one group), rows in working order.

    Returns the ranks and, for each row, whether it starts a new group.
    """
    n = len(sorted_groups[0])
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
        for groups in sorted_groups:
            codes = pc.dictionary_encode(groups, null_encoding="encode").indices.to_numpy(zero_copy_only=False)
            starts[1:] |= codes[1:] != codes[:-1]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    return (np.arange(n) - group_start + 1).astype(np.int64), starts


def rank_order(
    queue: np.ndarray,
    risk: np.ndarray,
    risk_22: np.ndarray | None,
    risk_52: np.ndarray | None,
    case_ids: pa.Array,
    *,
    groups: pa.Array | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The working order of forms, and each form's rank in it.

    Parameters
    ----------
    queue : ndarray of int
        Index into :data:`QUEUES` of each form.
    risk : ndarray
        The risk each form is ranked by (13 weeks in the early queue; NaN: none).
    risk_22, risk_52 : ndarray or None
        Tie-breaking risks (None when the model lacks them).
    case_ids : pyarrow.Array of str
        Unique per form.
    groups : pyarrow.Array of str, optional
        Rank within these groups (jobcenter); nulls form the last group.

    Returns
    -------
    order : ndarray of int64
        Positions of the forms in working order.
    rank : ndarray of int64
        Rank (1 = first) of the form at each position of ``order``, restarting per queue and group.
    """
    columns: dict[str, object] = {} if groups is None else {"jobcenter": groups}
    queues = pa.array(np.asarray(QUEUES, dtype=object)[np.asarray(queue, dtype=np.int64)], pa.string())
    columns["queue"] = queues
    horizons = []
    for horizon, values in ((13, risk), (22, risk_22), (52, risk_52)):
        if values is not None:
            units = risk_units(values)
            columns["risk" if horizon == 13 else f"risk_{horizon}"] = pa.array(units, mask=units < 0)
            horizons.append(horizon)
    columns["case_id"] = case_ids
    keys = sort_keys(tuple(horizons), "jobcenter" if groups is not None else None)
    order = pc.sort_indices(pa.table(columns), sort_keys=keys).to_numpy()
    if len(order) == 0:
        return order, np.arange(1, len(order) + 1, dtype=np.int64)
    take = pa.array(order)
    sorted_groups = [queues.take(take)] if groups is None else [groups.take(take), queues.take(take)]
    return order, group_ranks(*sorted_groups)[0]


def contact_marks(rank: np.ndarray, capacity: int | None, early: np.ndarray | None = None) -> np.ndarray | None:
    """Whether each ranked form is among the first ``capacity`` of the early queue (None without a capacity).

    ``early`` says which forms are in the early queue (all of them when not given).
    """
    if capacity is None:
        return None
    if capacity < 0:
        raise ValueError(f"capacity must be 0 or more, got {capacity}")
    marks = rank <= capacity
    return marks if early is None else marks & np.asarray(early, dtype=bool)
