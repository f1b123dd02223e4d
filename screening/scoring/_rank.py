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


def positions(order: np.ndarray) -> np.ndarray:
    """The position of each row in ``order`` (a permutation): its inverse."""
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    return position


def _key_codes(values: pa.Array | pa.ChunkedArray, order: str, placement: str) -> tuple[np.ndarray, int] | None:
    """Codes in ``[0, count)`` that order a sort key's column as Arrow's sort does (equal values, equal codes),
    and ``count``; None for a type not coded here.

    Text is numbered through its dictionary (distinct values sorted once). Numbers
    are numbered by value: risks written to :data:`RISK_DECIMALS` decimals (and
    integers of a narrow range) directly, any other numbers by their distinct
    values. Arrow's places are kept: NaN after every number, nulls at the end or
    the start.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) \
            or pa.types.is_large_binary(kind):
        encoded = pc.dictionary_encode(values, null_encoding="encode")
        dictionary = encoded.dictionary
        ranks = positions(pc.array_sort_indices(dictionary, order=order, null_placement=placement).to_numpy())
        return ranks[encoded.indices.to_numpy(zero_copy_only=False)], max(len(dictionary), 1)
    if not (pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
        return None
    null = values.is_null().to_numpy(zero_copy_only=False) if values.null_count else None
    number = (pc.fill_null(values, False if pa.types.is_boolean(kind) else 0) if values.null_count else values
              ).to_numpy(zero_copy_only=False)
    if number.dtype == bool:
        number = number.view(np.uint8)
    nan = np.isnan(number) if pa.types.is_floating(kind) else None
    if nan is not None and not nan.any():
        nan = None
    missing = nan if null is None else null if nan is None else nan | null
    if missing is not None:
        if missing.all():
            return _place_missing(np.zeros(len(number), dtype=np.int64), 1, nan, null, placement), 3
        number = np.where(missing, number[np.argmin(missing)], number)  # a value present: numbered, then replaced
    if pa.types.is_floating(kind):  # risks written to four decimals: their units order them exactly
        with np.errstate(over="ignore", invalid="ignore"):  # huge numbers are not risks: numbered below
            units = np.rint(number * RISK_SCALE)
            if not (np.array_equal(units / RISK_SCALE, number) and -2**52 < units.min() and units.max() < 2**52):
                units = None
    else:
        units = number if number.dtype == np.uint64 else number.astype(np.int64)
    low, high = (units.min(), units.max()) if units is not None else (0, 0)
    if units is not None and int(high) - int(low) <= 4 * len(number) + 1024:
        count = int(high) - int(low) + 1
        codes = (high - units if order == "descending" else units - low).astype(np.int64)
    else:  # any other numbers: numbered by their distinct values
        distinct, codes = np.unique(number, return_inverse=True)
        count = len(distinct)
        if order == "descending":
            codes = count - 1 - codes
    if missing is None:
        return codes, count
    return _place_missing(codes, count, nan, null, placement), count + 2


def _place_missing(codes: np.ndarray, count: int, nan: np.ndarray | None, null: np.ndarray | None,
                   placement: str) -> np.ndarray:
    """Codes of values, NaN and nulls together (``count + 2`` codes): NaN just after the values, nulls at the end,
    or nulls first and NaN just before the values, as Arrow places them."""
    if placement == "at_end":
        if nan is not None:
            codes[nan] = count
        if null is not None:
            codes[null] = count + 1
        return codes
    codes = codes + 2
    if nan is not None:
        codes[nan] = 1
    if null is not None:
        codes[null] = 0
    return codes


#: Packed keys stay below this (in int64); past it the codes so far are renumbered densely first.
_PACKED_LIMIT = 1 << 62


def _packed_key(table: pa.Table, keys: list[tuple[str, str, str]]) -> np.ndarray | None:
    """One int64 per row that orders the rows as ``keys`` do (equal keys, equal numbers); None if a key's type
    is not coded (:func:`_key_codes`)."""
    packed, radix = np.zeros(table.num_rows, dtype=np.int64), 1
    for name, order, placement in keys:
        coded = _key_codes(table.column(name), order, placement)
        if coded is None:
            return None
        codes, count = coded
        if radix * count >= _PACKED_LIMIT:
            distinct, packed = np.unique(packed, return_inverse=True)
            radix = len(distinct)
        packed *= count
        packed += codes
        radix *= count
    return packed


def _stable_argsort(packed: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative int64 keys: NumPy's merge of presorted runs when the keys come in a few
    sorted runs (sorted runs being merged), else a radix sort of 16 bits at a time."""
    if len(packed) < 2 or np.count_nonzero(packed[1:] < packed[:-1]) < 64:
        return np.argsort(packed, kind="stable")
    order = None
    for shift in range(0, int(packed.max()).bit_length(), 16):
        digit = ((packed >> shift) & 0xFFFF).astype(np.uint16)
        order = np.argsort(digit, kind="stable") if order is None else order[np.argsort(digit[order], kind="stable")]
    return order


#: Fewer rows than this are sorted by Arrow alone (quicker than packing their keys).
_ARROW_SORT_ROWS = 1024


def sort_indices(table: pa.Table, keys: list[tuple[str, str, str]]) -> np.ndarray:
    """The positions of the rows of ``table`` in the order of ``keys``: what ``pyarrow.compute.sort_indices``
    gives (a stable sort), found faster for the working order's keys.

    Every key but the last is turned into numbers and packed into one integer per
    row (:func:`_packed_key`), sorted in NumPy; the last key (``case_id``, unique)
    only orders rows that tie on all the others, in Arrow. Any other key type, and
    a few rows: Arrow's own sort.
    """
    n = table.num_rows
    if n < _ARROW_SORT_ROWS or len(keys) < 2:
        return pc.sort_indices(table, sort_keys=keys).to_numpy().astype(np.int64, copy=False)
    *leading, (last, last_order, last_placement) = keys
    packed = _packed_key(table, leading)
    if packed is None:
        return pc.sort_indices(table, sort_keys=keys).to_numpy().astype(np.int64, copy=False)
    order = _stable_argsort(packed)
    ordered = packed[order]
    tied = ordered[1:] == ordered[:-1]
    if tied.any():  # rows equal on every leading key: the last key orders them, within each run of equal rows
        member = np.zeros(n, dtype=bool)
        member[1:] = tied
        member[:-1] |= tied
        at = np.flatnonzero(member)
        ties = pa.table({"packed": ordered[at], "last": table.column(last).take(pa.array(order[at]))})
        within = pc.sort_indices(ties, sort_keys=[("packed", "ascending", "at_end"),
                                                  ("last", last_order, last_placement)]).to_numpy()
        order[at] = order[at][within]
    return order


def working_order(
    queue: np.ndarray,
    risk: np.ndarray,
    risk_22: np.ndarray | None,
    risk_52: np.ndarray | None,
    case_ids: pa.Array,
    *,
    groups: pa.Array | None = None,
) -> np.ndarray:
    """Positions of forms in working order (the arguments as :func:`rank_order`'s)."""
    columns: dict[str, object] = {} if groups is None else {"jobcenter": groups}
    columns["queue"] = pa.array(QUEUES, pa.string()).take(pa.array(np.asarray(queue, dtype=np.int64)))
    horizons = []
    for horizon, values in ((13, risk), (22, risk_22), (52, risk_52)):
        if values is not None:
            units = risk_units(values)
            columns["risk" if horizon == 13 else f"risk_{horizon}"] = pa.array(units, mask=units < 0)
            horizons.append(horizon)
    columns["case_id"] = case_ids
    keys = sort_keys(tuple(horizons), "jobcenter" if groups is not None else None)
    return sort_indices(pa.table(columns), keys)


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
    order = working_order(queue, risk, risk_22, risk_52, case_ids, groups=groups)
    if len(order) == 0:
        return order, np.arange(1, len(order) + 1, dtype=np.int64)
    take = pa.array(order)
    queues = pa.array(QUEUES, pa.string()).take(pa.array(np.asarray(queue, dtype=np.int64)[order]))
    sorted_groups = [queues] if groups is None else [groups.take(take), queues]
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
