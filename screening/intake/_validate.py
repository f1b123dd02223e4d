"""Validation with nothing lost: every form is either valid or refused with its reasons.

The order of work:

1. match the header to the contract (file-level problems stop the run);
2. parse every cell by its field's parse kind (``_parse``), refusing what cannot be read;
3. derive what the contract derives (``sick_weeks`` from the dates, the diagnosis
   group from the ICD-10 code) and refuse what contradicts itself;
4. check the typed forms against the pandera schema (ranges, code lists, patterns,
   required values, unique ``case_id``), all at once and lazily.

Because every cell that failed to parse is set aside before step 4, pandera only
sees typed values. (When pandera coerces a column itself and some cells fail, its
range checks on that column fail as a whole-table error and miss the out-of-range
rows; parsing first means that can never hide a row.)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import difflib
import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from screening._io import table_threads
from screening.intake._icd10 import prepare_codes
from screening.intake._ids import RepeatedIds
from screening.intake._contract import Contract, Field, load_contract
from screening.intake._messages import Language, Localised, accepted_codes, reason_text
from screening.intake._parse import MAX_CELL_CHARACTERS, PARSERS, duplicated_text, plain_text
from screening.intake._privacy import CONTROL_PATTERN, CPR_SEARCH_PATTERN, redact
from screening.intake._table import TEXT_DTYPE, FileError, RawTable

#: Largest gap in weeks allowed between a given ``sick_weeks`` and the one the dates give.
WEEKS_TOLERANCE = 1.0
REFUSED_COLUMNS = ["row", "case_id", "column", "value", "reason", "kind"]


@dataclass
class Validation:
    """The outcome of validating one file.

    Attributes
    ----------
    valid : pandas.DataFrame
        The valid forms, typed, in contract column order; the index is the form's row
        in the file (header = row 1).
    refused : pandas.DataFrame
        One line per reason: ``row, case_id, column, value, reason, kind``. Values and
        ids are redacted (CPR-shaped numbers masked). A form may have several lines.
    rows_read : int
        Forms read from the file (blank rows are not forms).
    blank_rows : int
        Rows with no value at all, skipped.
    ignored_columns : list of str
        Columns in the file that the contract does not know.
    absent_columns : list of str
        The contract's (optional) columns the file does not have: every form leaves them unanswered.
    dialect : dict
        How the file was read (format, encoding, separator).
    notes : dict
        Counts of silent repairs, for the run summary.
    """

    valid: pd.DataFrame
    refused: pd.DataFrame
    rows_read: int
    blank_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    dialect: dict[str, str] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    absent_columns: list[str] = field(default_factory=list)

    @property
    def valid_rows(self) -> int:
        """Number of valid forms."""
        return len(self.valid)

    @property
    def refused_rows(self) -> int:
        """Number of forms refused (each may have several reasons)."""
        return int(self.refused["row"].nunique())

    def refused_by_reason(self) -> dict[tuple[str, str], int]:
        """Forms refused per (column, reason kind)."""
        counts = self.refused.drop_duplicates(["row", "column", "kind"]).value_counts(["column", "kind"])
        return {key: int(count) for key, count in counts.items()}


class _Refusals:
    """Collects refusals column by column, as boolean masks over the forms."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.parts: list[tuple[np.ndarray, str, pd.Series, str, dict[str, object]]] = []
        self.cell_refused: dict[str, np.ndarray] = {}
        self.filled: dict[str, tuple[np.ndarray, pd.Series]] = {}

    def add(self, mask: np.ndarray, column: str, values: pd.Series, kind: str, **params: object) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.refused_cells(column)
        if not mask.any():
            return
        positions = np.flatnonzero(mask)
        shown = values.iloc[positions]
        if column in self.filled:  # a derived value is shown as its text, as if it had been in the file
            filled, derived = self.filled[column]
            replaced = filled[positions]
            if replaced.any():
                shown = shown.astype("str")
                shown.iloc[np.flatnonzero(replaced)] = derived.iloc[positions[replaced]].astype("str").to_numpy()
        self.parts.append((positions, column, shown, kind, params))
        self.cell_refused[column] = self.refused_cells(column) | mask

    def fill(self, mask: np.ndarray, column: str, derived: pd.Series) -> None:
        """Note that the blank cells in ``mask`` now hold ``derived`` (shown as its text when refused later)."""
        self.filled[column] = (mask, derived)

    def excuse(self, mask: np.ndarray, column: str) -> None:
        """Mark cells as accounted for by a refusal elsewhere in the row (no second reason)."""
        self.cell_refused[column] = self.refused_cells(column) | np.asarray(mask, dtype=bool)

    def refused_cells(self, column: str) -> np.ndarray:
        return self.cell_refused.get(column, np.zeros(self.n_rows, dtype=bool))

    def any_row(self) -> np.ndarray:
        refused = np.zeros(self.n_rows, dtype=bool)
        for positions, *_ in self.parts:
            refused[positions] = True
        return refused

    def frame(self, row_numbers: np.ndarray, case_ids: pd.Series, language: Language) -> pd.DataFrame:
        if not self.parts:
            return _empty_refused()
        columns, values, reasons, kinds = [], [], [], []
        for positions, column, shown, kind, params in self.parts:
            per_row = {key: value for key, value in params.items() if isinstance(value, pd.Series)}
            if per_row:  # a reason that quotes each form's own figures
                fixed = {key: value for key, value in params.items() if key not in per_row}
                rows = list(zip(*(value.iloc[positions] for value in per_row.values())))
                said = {row: reason_text(kind, language, **fixed, **dict(zip(per_row, row))) for row in set(rows)}
                reasons.append([said[row] for row in rows])  # figures repeat: each sentence is written once
            else:
                reasons.append([reason_text(kind, language, **params)] * len(positions))
            values.append(shown.astype("str").to_numpy())
            columns.append([column] * len(positions))
            kinds.append([kind] * len(positions))
        positions = np.concatenate([positions for positions, *_ in self.parts])
        refused = pd.DataFrame(
            {
                "row": row_numbers[positions],
                "case_id": case_ids.iloc[positions].to_numpy(),  # one look-up for all the parts
                "column": np.concatenate(columns).astype(object),
                "value": np.concatenate(values),
                "reason": np.concatenate(reasons).astype(object),
                "kind": np.concatenate(kinds).astype(object),
            }
        )
        refused["value"] = redact(refused["value"].fillna(""))
        refused["case_id"] = redact(refused["case_id"].fillna(""))
        return refused


def _empty_refused() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="int64" if name == "row" else "str") for name in REFUSED_COLUMNS})


def match_header(header: list[str], contract: Contract) -> tuple[dict[str, int], list[str]]:
    """Find the contract's columns in a file header.

    Names match after trimming and case-folding. Returns the position of each
    contract column found and the names of the columns ignored (redacted).

    Raises
    ------
    FileError
        A header name appears twice, a required column is missing, or none of a
        group of alternatives (``sick_weeks`` or ``sick_leave_start``) is there;
        the header was read as one column holding several contract names (an
        unrecognised separator); or an unknown name is a contract column the
        file lacks, misspelt or under its Danish label (:func:`_near_names`).
    """
    known = {name.casefold(): name for name in contract.columns}
    positions: dict[str, int] = {}
    seen: dict[str, int] = {}
    twice: list[tuple[str, int, int]] = []
    ignored = []
    for position, name in enumerate(header):
        key = str(name).strip().casefold()
        if key and key in seen:
            twice.append((str(name).strip(), seen[key], position))
            continue
        seen[key] = position
        if key in known:
            positions[known[key]] = position
        else:
            ignored.append(str(name).strip() or f"(blank header, column {position + 1})")
    # Missing columns first: a file whose first row is data has "duplicates" too, but
    # the missing header is what its sender must fix.
    missing = [(name,) for name in contract.required_columns if name not in positions]
    for group in contract.required_one_of.values():
        if not any(name in positions for name in group):
            missing.append(group)
    glued = _glued_header(header, contract)
    if missing and glued is not None:
        raise FileError("one_column_header", header=glued)
    near = _near_names(ignored, [name for name in contract.columns if name not in positions], contract)
    if missing:
        raise FileError("missing_columns", columns=_missing_columns(missing, contract, near))
    if near:  # an answer the file has, under a name a letter off: scored as blank on every form, silently
        raise FileError("misspelt_columns", columns=_near_text(near, contract))
    if twice:
        name, first, second = twice[0]
        shown = redact(pd.Series([name])).iloc[0]
        raise FileError("duplicate_header", name=shown, first=first + 1, second=second + 1)
    return positions, redact(pd.Series(ignored, dtype="str")).tolist()


#: How alike a header name and a contract column must be to be taken for a misspelling of it (difflib's ratio),
#: and by how many characters their lengths may differ at most (``weekly_hours_note`` is a column of its own).
NEAR_NAME, NEAR_LENGTH = 0.8, 2


def _near_names(ignored: list[str], absent: list[str], contract: Contract) -> dict[str, str]:
    """The file's unknown column names that are the name of a column it lacks, misspelt (or that column's
    Danish label), each with that column."""
    if not ignored or not absent:
        return {}
    by_label = {contract.fields[name].label_da.casefold(): name for name in absent}
    names = {name.casefold(): name for name in absent}
    near: dict[str, str] = {}
    for given in ignored:
        key = given.casefold()
        alike = [name for name in names if abs(len(name) - len(key)) <= NEAR_LENGTH]
        found = by_label.get(key) or next(iter(difflib.get_close_matches(key, alike, n=1, cutoff=NEAR_NAME)), None)
        if found is not None:
            near[given] = names.get(found, found)
    return near


def _near_text(near: dict[str, str], contract: Contract) -> Localised:
    """``'work_abilty' (mente du work_ability, arbejdsevne?)``, the file's names redacted."""
    shown = redact(pd.Series(list(near), dtype="str")).tolist()

    def one(language: Language, question: str, given: str, original: str, name: str) -> str:
        label = contract.fields[name].label_da
        if original.strip().casefold() == label.casefold():  # the Danish label itself: say which code it must be
            return (f"'{given}' (feltets danske navn; overskriften skal bruge koden {name})" if language == "da"
                    else f"'{given}' (the field's Danish label; the header must use the code {name})")
        return f"'{given}' ({question} {name}" + (f", {label}" if language == "da" else "") + "?)"

    def worded(language: Language, question: str) -> str:
        return ", ".join(one(language, question, given, original, name)
                         for given, original, name in zip(shown, near, near.values()))

    return Localised(da=worded("da", "mente du"), en=worded("en", "did you mean"))


def _glued_header(header: list[object], contract: Contract) -> str | None:
    """The header, if it was read as one column holding two or more of the contract's names (its fields joined
    by a separator that was not recognised), shortened and redacted; None otherwise."""
    names = [str(name) for name in header if str(name).strip()]
    if len(names) != 1:
        return None
    key = names[0].casefold()
    if sum(name.casefold() in key for name in contract.columns) < 2:
        return None
    text = names[0] if len(names[0]) <= 60 else names[0][:57] + "..."
    return redact(pd.Series([text], dtype="str")).iloc[0]


def _missing_columns(groups: list[tuple[str, ...]], contract: Contract,
                     near: dict[str, str] | None = None) -> Localised:
    """The missing columns by the names the header must use; in Danish each with its label (``age (alder)``);
    then the file's names that look like a misspelling of one of the contract's (``near``)."""
    def named(language: Language, word: str) -> str:
        def one(name: str) -> str:
            return f"{name} ({contract.fields[name].label_da})" if language == "da" else name
        return ", ".join(f" {word} ".join(one(name) for name in group) for group in groups)

    if not near:
        return Localised(da=named("da", "eller"), en=named("en", "or"))
    like = _near_text(near, contract)
    return Localised(da=f"{named('da', 'eller')}; filen har {like.da}",
                     en=f"{named('en', 'or')}; the file has {like.en}")


@dataclass
class _Column:
    """One column of typed forms, kept as its distinct values and each form's code.

    The form at position ``i`` holds ``distinct[codes[i]]`` (missing where the code is
    -1); without ``codes``, ``distinct`` holds one value per form. Checks run once per
    distinct value, and values per form are only built where they are needed.
    """

    distinct: pd.Series
    codes: np.ndarray | None = None

    @functools.cached_property
    def values(self) -> pd.Series:
        """The value of every form (index 0..n-1)."""
        return self.distinct if self.codes is None else self.take(None)

    def take(self, positions: np.ndarray | None) -> pd.Series:
        """The values of the forms at ``positions`` (all when None), as a new series."""
        if self.codes is None:
            return pd.Series(self.distinct.array.take(positions if positions is not None else np.arange(len(self.distinct))))
        codes = self.codes if positions is None else self.codes[positions]
        return pd.Series(self.distinct.array.take(codes, allow_fill=True))

    def missing(self) -> np.ndarray:
        """Which forms have no value."""
        if self.codes is None:
            return self.distinct.isna().to_numpy()
        return np.append(self.distinct.isna().to_numpy(), True)[self.codes]


#: Refusals any cell can get before its field's own parsing, in the order they are tried.
_GENERIC_KINDS = ("control_characters", "too_long", "cpr_shaped")


def _distinct_text(text: pd.Series, identifier: bool) -> tuple[np.ndarray | None, pd.Series]:
    """The column's distinct texts (``str``, missing left out) and each form's code (-1 = missing)."""
    if identifier:  # ids are (meant to be) all distinct: nothing to gain from factorising
        return None, text.reset_index(drop=True).astype("str")
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        # Arrow's hashing directly on the column: what pandas.factorize does, less the conversions.
        column = text.array.__arrow_array__()
        if isinstance(column, pyarrow.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return codes, pd.Series(ArrowStringArray(encoded.dictionary, dtype=TEXT_DTYPE))
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    return codes, pd.Series(uniques, dtype="str")


def _exact_generic_kinds(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Trimmed values, the generic refusal of each (0 = none, else 1 + position in ``_GENERIC_KINDS``) and which are blank."""
    stripped = values.str.strip()
    length = stripped.str.len().fillna(0).to_numpy()
    kind_of = np.zeros(len(values), dtype=np.int8)  # the first that applies is the reason
    kind_of[stripped.str.contains(CONTROL_PATTERN, regex=True).fillna(False).to_numpy(dtype=bool)] = 1
    kind_of[(length > MAX_CELL_CHARACTERS) & (kind_of == 0)] = 2
    # In any column: even "0000000000" in a number field is a sign that personal data is misplaced.
    cpr = stripped.str.contains(CPR_SEARCH_PATTERN, regex=True).fillna(False).to_numpy(dtype=bool)
    kind_of[cpr & (kind_of == 0)] = 3
    return stripped, kind_of, length == 0


def _generic_kinds(uniques: pd.Series) -> tuple[pyarrow.Array, np.ndarray, pd.Series, np.ndarray, np.ndarray]:
    """The generic refusal of each distinct text and which are blank, checked by bytes first.

    Only the texts that might fail a check or change when trimmed (``rest``) go
    through the exact checks, one by one; ``trimmed`` are their trimmed texts. The
    others are plain: they trim to themselves and pass. Returns the texts as one
    Arrow array, ``rest``, ``trimmed``, the refusal kinds and the blank mask.
    """
    column = uniques.array.__arrow_array__()
    column = column.combine_chunks() if isinstance(column, pyarrow.ChunkedArray) else column
    if not pyarrow.types.is_large_string(column.type):
        column = column.cast(pyarrow.large_string())
    plain = plain_text(column)
    rest = np.flatnonzero(~plain & uniques.notna().to_numpy())
    kind_of, blank = np.zeros(len(uniques), dtype=np.int8), ~plain
    if not len(rest):
        return column, rest, uniques.iloc[:0], kind_of, blank
    trimmed, kind_of[rest], blank[rest] = _exact_generic_kinds(uniques.iloc[rest])
    return column, rest, trimmed, kind_of, blank


def _identifier_values(uniques: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Trimmed ids (missing where blank or refused) and their generic refusals.

    The ids are (nearly) all distinct, so the column is rebuilt only where an id
    changes: a new validity bitmap over the same bytes, and trimmed texts put in.
    """
    column, rest, trimmed, kind_of, blank = _generic_kinds(uniques)
    usable = ~blank[rest] & (kind_of[rest] == 0)
    if usable.all() and not len(rest):
        return uniques.rename(None), kind_of
    if not usable.all():  # refused or blank: missing
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        valid[rest[~usable]] = False
        column = pyarrow.LargeStringArray.from_buffers(
            len(column), column.buffers()[1], column.buffers()[2],
            null_count=int((~valid).sum()), offset=column.offset,
            null_bitmap=pyarrow.py_buffer(np.packbits(np.append(np.zeros(column.offset, bool), valid), bitorder="little")),
        )
    trimmed = trimmed.to_numpy(dtype=object)
    changed = usable & (trimmed != uniques.iloc[rest].to_numpy(dtype=object))
    if changed.any():
        mask = np.zeros(len(uniques), dtype=bool)
        mask[rest[changed]] = True
        column = pc.replace_with_mask(column, pyarrow.array(mask), pyarrow.array(trimmed[changed], column.type))
    return pd.Series(ArrowStringArray(column, dtype=TEXT_DTYPE)), kind_of


def _parse_distinct(text: pd.Series, name: str, contract: Contract, refusals: _Refusals,
                    encoded: tuple[np.ndarray | None, pd.Series] | None = None) -> _Column:
    spec = contract.fields[name]
    identifier = spec.parse == "identifier"
    codes, uniques = encoded or _distinct_text(text, identifier)
    # Generic refusals, decided per distinct value and spread to the forms by their codes.
    kinds = list(_GENERIC_KINDS)
    if identifier:  # parse_text: the trimmed text, nothing else to refuse
        distinct, kind_of = _identifier_values(uniques)
    else:
        _, rest, trimmed, kind_of, blank = _generic_kinds(uniques)
        stripped = uniques
        if len(rest):
            stripped = uniques.copy()
            stripped.iloc[rest] = trimmed.to_numpy()
        usable = ~blank & (kind_of == 0)
        parsed, failures = PARSERS[spec.parse](stripped[usable], spec, contract)
        distinct = parsed.reindex(uniques.index)
        for kind in pd.unique(failures[failures != None]):  # noqa: E711 (elementwise)
            if kind not in kinds:
                kinds.append(kind)
            kind_of[np.flatnonzero(usable)[failures == kind]] = kinds.index(kind) + 1
    refused_kinds = pd.unique(kind_of[kind_of > 0])
    # Each form's refusal, only for a column with some (most columns of most chunks have none).
    form_kinds = None if not len(refused_kinds) else kind_of if codes is None else np.append(kind_of, 0)[codes]
    for number in refused_kinds:
        kind = kinds[number - 1]
        params = _reason_params(kind, spec)
        if kind == "impossible_date":  # the date as written: digits and separators only, never a CPR number
            params["date"] = text.str.strip()
        refusals.add(form_kinds == number, name, text, kind, **params)
    return _Column(distinct, codes)


def _parse_column(text: pd.Series, name: str, contract: Contract, refusals: _Refusals) -> pd.Series:
    return _parse_distinct(text, name, contract, refusals).values


def _reason_params(kind: str, spec: Field) -> dict[str, object]:
    """The facts a reason names (numbers stay numbers: each language writes them its own way)."""
    if kind == "too_long":
        return {"maximum": MAX_CELL_CHARACTERS}
    if kind == "unknown_code":
        return {"codes": accepted_codes(spec)}
    if kind == "out_of_range":
        return {"minimum": spec.minimum, "maximum": spec.maximum}
    if kind == "below_minimum":
        return {"minimum": spec.minimum}
    return {}


def _derive_sick_weeks(columns: dict[str, _Column], text: pd.DataFrame, refusals: _Refusals) -> None:
    """Check ``sick_weeks`` against the dates, and fill it from them where blank."""
    start, received = columns["sick_leave_start"].values, columns["form_received"].values
    derived = ((received - start).dt.days / 7).round(1)
    after = (derived < 0).fillna(False).to_numpy(dtype=bool)
    refusals.add(after, "sick_leave_start", text["sick_leave_start"], "start_after_received")
    given = columns["sick_weeks"].values
    dates_unusable = refusals.refused_cells("sick_leave_start") | refusals.refused_cells("form_received")
    disagree = ((given - derived).abs() > WEEKS_TOLERANCE).fillna(False).to_numpy(dtype=bool) & ~after
    if disagree.any():
        refusals.add(disagree, "sick_weeks", text["sick_weeks"], "weeks_disagree_with_dates", derived=derived)
    fill = given.isna().to_numpy() & derived.notna().to_numpy() & ~after
    if fill.any():
        weeks = given.to_numpy(dtype="float64", copy=True)
        weeks[fill] = derived.to_numpy(dtype="float64")[fill]
        columns["sick_weeks"] = _Column(pd.Series(weeks))
        refusals.fill(fill, "sick_weeks", derived)
    missing = columns["sick_weeks"].missing() & ~refusals.refused_cells("sick_weeks")
    refusals.excuse(missing & dates_unusable, "sick_weeks")  # the refused date already says why
    refusals.add(missing & ~dates_unusable, "sick_weeks", text["sick_weeks"], "cannot_derive_weeks")


def _codes(column: _Column) -> np.ndarray:
    return np.arange(len(column.distinct)) if column.codes is None else column.codes


def _derive_diagnosis_group(columns: dict[str, _Column], notes: dict[str, int]) -> None:
    """The group of a valid ICD-10 code replaces the group given; counted where they differ."""
    from screening.intake._icd10 import normalise_codes

    code, given = columns["diagnosis_code"], columns["diagnosis_group"]
    # Once per distinct normalised code (every spelling of a code gives the same), spread to the spellings.
    spelled_as, normalised = pd.factorize(code.distinct)
    _, _, group_of_code = normalise_codes(pd.Series(normalised, dtype="str"))[:3]
    from_code = pd.Series(group_of_code.array.take(spelled_as, allow_fill=True))
    code_codes, given_codes = _codes(code), _codes(given)
    has_code = np.append(from_code.notna().to_numpy(), False)[code_codes]
    has_given = np.append(given.distinct.notna().to_numpy(), False)[given_codes]
    # Groups compared as numbers: both lists of distinct groups factorised together.
    numbers, _ = pd.factorize(pd.concat([from_code, given.distinct], ignore_index=True))
    both = np.flatnonzero(has_code & has_given)
    conflict = numbers[code_codes[both]] != numbers[len(from_code) + given_codes[both]]
    notes["diagnosis_group_taken_from_code"] = int(conflict.sum())
    groups = pd.Series(np.concatenate([from_code.to_numpy(dtype=object), given.distinct.to_numpy(dtype=object)]), dtype="str")
    columns["diagnosis_group"] = _Column(
        groups, np.where(has_code, code_codes, np.where(given_codes >= 0, len(from_code) + given_codes, -1))
    )


_CHECK_KINDS = {
    "not_nullable": "missing_required",
    "field_uniqueness": "duplicate_case_id",
    "str_matches": "bad_identifier",
    "in_range": "out_of_range",
    "greater_than_or_equal_to": "below_minimum",
    "isin": "unknown_code",
    "str_length": "too_long",
}


@functools.cache
def _schema_without_uniqueness(training: bool) -> pa.DataFrameSchema:
    """The contract's schema with ``case_id`` uniqueness left to a file-wide list of duplicates."""
    return load_contract(training=training).schema.update_column("case_id", unique=False)


def prepare_validation(*, training: bool = False) -> None:
    """Do now, once per process, what the first :func:`validate_table` would do first (about 0.3 s).

    The contract and its schemas are read, pandera registers its pandas backends
    (importing its checks), and the ICD-10 classification is loaded. Worker
    processes forked afterwards share all of it instead of each doing it again
    on its first chunk.
    """
    load_contract(training=True)  # refusals are worded from the training contract's fields
    contract = load_contract(training=training)
    no_forms = pd.DataFrame({name: pd.Series([], dtype=TEXT_DTYPE) for name in contract.columns})
    for duplicates in (None, RepeatedIds.of([])):  # both schemas: a table alone, a chunk of a file
        validate_table(RawTable(no_forms, np.zeros(0, dtype=np.int64)), training=training,
                       duplicate_case_ids=duplicates)
    prepare_codes()


#: (schema, column dtypes) pairs already checked; the schemas are cached, so their ids are stable.
_DTYPES_CHECKED: set[tuple[object, ...]] = set()


def _check_dtypes(columns: dict[str, _Column], schema: pa.DataFrameSchema) -> None:
    """The typed forms have the schema's columns and dtypes (pandera on no rows, once per schema and dtypes)."""
    key = (id(schema), tuple((name, column.distinct.dtype) for name, column in columns.items()))
    if key in _DTYPES_CHECKED:
        return
    try:
        schema.validate(pd.DataFrame({name: column.distinct.iloc[:0] for name, column in columns.items()}), lazy=True)
    except pa.errors.SchemaErrors as errors:
        # Parsing gave every column its schema dtype, so this is a defect of ours, not of the file.
        raise RuntimeError(f"schema check failed on the whole table: {errors.failure_cases.head(3).to_dict('records')}") from None
    _DTYPES_CHECKED.add(key)


def _failing(check: pa.Check, column: _Column, present: np.ndarray) -> np.ndarray:
    """Where a pandera check fails among the forms ``present``, run once per distinct value."""
    if column.codes is None:
        fails = np.zeros(len(present), dtype=bool)
        if present.any():
            fails[present] = ~_check_output(check, column.distinct if present.all() else column.distinct[present])
        return fails
    distinct = column.distinct.notna().to_numpy()
    fails = np.zeros(len(distinct) + 1, dtype=bool)  # the last one: missing (code -1)
    if distinct.any():
        fails[:-1][distinct] = ~_check_output(check, column.distinct[distinct])
    if not fails.any():  # spread to the forms only when some value fails
        return np.zeros(len(present), dtype=bool)
    return fails[column.codes] & present


def _check_output(check: pa.Check, values: pd.Series) -> np.ndarray:
    output = check(values).check_output
    return np.asarray(output, dtype=bool) if np.ndim(output) else np.full(len(values), bool(output))


def _duplicated(values: pd.Series, present: np.ndarray) -> np.ndarray:
    """Every copy of a value present more than once (missing values are no duplicates)."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        column = values.array.__arrow_array__()
        return duplicated_text(column.combine_chunks() if isinstance(column, pyarrow.ChunkedArray) else column, present)
    duplicated = np.zeros(len(values), dtype=bool)
    duplicated[present] = values[present].duplicated(keep=False).to_numpy(dtype=bool)
    return duplicated


def _schema_refusals(columns: dict[str, _Column], text: pd.DataFrame, contract: Contract, refusals: _Refusals,
                     schema: pa.DataFrameSchema) -> None:
    """Refuse what the pandera schema refuses, as its lazy validation would report it.

    The checks run here, column by column in schema order (required, unique, then the
    column's checks, as pandera reports them), each on the cells not yet refused; the
    first failure of a cell is its reason.
    """
    _check_dtypes(columns, schema)
    for name, column in schema.columns.items():
        parsed = columns[name]
        missing = parsed.missing()
        present = ~missing & ~refusals.refused_cells(name)
        if not column.nullable:
            _add_schema_refusal(refusals, missing, name, text, contract, "not_nullable")
        if column.unique:
            _add_schema_refusal(refusals, _duplicated(parsed.values, present), name, text, contract, "field_uniqueness")
        for check in column.checks:
            _add_schema_refusal(refusals, _failing(check, parsed, present), name, text, contract, check.name)


def _add_schema_refusal(refusals: _Refusals, mask: np.ndarray, column: str, text: pd.DataFrame, contract: Contract,
                        check_name: str) -> None:
    if not mask.any():
        return
    kind = _CHECK_KINDS.get(check_name)
    if kind is None:
        raise RuntimeError(f"unexpected schema check {check_name!r} on {column}")
    refusals.add(mask, column, text[column], kind, **_reason_params(kind, contract.fields[column]))


def _text_columns(raw: RawTable, contract: Contract
                  ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str], list[str], list[int]]:
    """The contract's columns as text (absent ones blank), without blank rows; with row numbers, the blank mask,
    the file's columns the contract does not know (their names, redacted), the contract's columns the file does
    not have, and the positions of the file's columns the contract does not know."""
    positions, ignored = match_header(list(raw.frame.columns), contract)
    used = set(positions.values())
    outside = [position for position in range(raw.frame.shape[1]) if position not in used]
    absent = [name for name in contract.columns if name not in positions]
    if not raw.frame.shape[1]:
        blank = np.ones(len(raw.frame), dtype=bool)
    elif not all(raw.frame.iloc[:, position].hasnans for position in range(raw.frame.shape[1])):
        blank = np.zeros(len(raw.frame), dtype=bool)  # a column without a blank cell: no blank row
    else:
        blank = raw.frame.isna().all(axis=1).to_numpy()
    kept = pd.RangeIndex(int((~blank).sum()))

    def column(name: str) -> pd.Series:
        if name not in positions:
            return pd.Series(pd.NA, index=kept, dtype="str")
        cells = raw.frame.iloc[:, positions[name]]
        return (cells[~blank] if blank.any() else cells).reset_index(drop=True)

    text = pd.DataFrame({name: column(name) for name in contract.columns})
    return text, raw.row_numbers[~blank], blank, ignored, absent, outside


def _cpr_outside_contract(raw: RawTable, outside: list[int]) -> int:
    """Forms with a CPR-shaped number in the file's columns at ``outside`` (those the contract does not have:
    read by nothing, written nowhere), a sign that the file was not pseudonymised; counted, never shown."""
    found = np.zeros(len(raw.frame), dtype=bool)
    for position in outside:
        cells = raw.frame.iloc[:, position]
        found |= cells.str.contains(CPR_SEARCH_PATTERN, regex=True).fillna(False).to_numpy(dtype=bool)
    return int(found.sum())


#: Tables from this many forms on are worked on by :func:`~screening._io.table_threads` threads.
PARALLEL_ROWS = 100_000


@contextlib.contextmanager
def _workers(n_rows: int):
    """A pool of threads for a big table, else one that runs each task at once."""
    threads = table_threads()
    if n_rows < PARALLEL_ROWS or threads < 2:
        yield _InPlace()
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        yield pool


class _InPlace:
    @staticmethod
    def map(function, *items):
        return map(function, *items)


def comparable_case_ids(raw: RawTable, *, training: bool = False) -> pd.Series:
    """Each form's ``case_id`` as validation compares ids for uniqueness (NA where the id is refused or blank).

    A file read in chunks (:class:`~screening.intake.ChunkedTable`) is checked for
    ids repeated across chunks by collecting these over the whole file first and
    passing the repeated ones to :func:`validate_table` as ``duplicate_case_ids``;
    the outcome is then the same as validating the file in one piece.

    Raises
    ------
    FileError
        The header lacks a required column or names one twice.
    """
    return case_ids_with_rows(raw, training=training)[0]


def _in_order(refused: pd.DataFrame) -> pd.DataFrame:
    """Refused lines in the order every validation gives them: by row, then column, then reason kind."""
    refused = refused.sort_values(["row", "column", "kind"], kind="stable").reset_index(drop=True)
    refused["row"] = refused["row"].astype("int64")
    return refused


def case_ids_with_rows(raw: RawTable, *, training: bool = False) -> tuple[pd.Series, np.ndarray]:
    """:func:`comparable_case_ids`, and the row number of each id (the rows of the table without its blank ones)."""
    contract = load_contract(training=training)
    text, row_numbers, *_ = _text_columns(raw, contract)
    refusals = _Refusals(len(text))
    ids = _parse_column(text["case_id"], "case_id", contract, refusals)
    return ids.mask(refusals.refused_cells("case_id")), np.asarray(row_numbers, dtype=np.int64)


def refuse_repeated(validation: Validation, raw: RawTable, rows: np.ndarray, *, training: bool = False,
                    language: Language = "da") -> tuple[Validation, np.ndarray]:
    """A chunk's validation made before the file's repeated ids were known, completed with them.

    ``validation`` is :func:`validate_table` of ``raw`` with ``duplicate_case_ids=RepeatedIds.of([])``
    (ids left to a file-wide list that is not known yet); ``rows`` are the row numbers of the
    chunk's forms whose ``case_id`` turned out to be repeated in the file (as the first pass
    finds them, from :func:`comparable_case_ids`). The outcome is what :func:`validate_table`
    with the file's repeated ids gives, so a chunk can be validated, and scored, while the
    rest of the file is still being read: the repeated ids are decided before the contract's
    own checks, so each of those forms gets the refusal ``duplicate_case_id`` in place of
    any other of its ``case_id`` (its other cells are judged on their own, as before).

    Parameters
    ----------
    validation : Validation
        The chunk's validation without the file's repeated ids.
    raw : RawTable
        The chunk as read.
    rows : numpy.ndarray of int
        Row numbers (the file's, header = 1) of the chunk's forms whose ids repeat in the file.
    training : bool, default False
        As ``validation`` was made.
    language : {"da", "en"}, default "da"
        Language of the refusal reasons, as ``validation``'s.

    Returns
    -------
    Validation
        The completed validation.
    numpy.ndarray of bool
        For each form of ``validation.valid``, whether it is now refused.
    """
    rows = np.asarray(rows, dtype=np.int64)
    dropped = np.isin(validation.valid.index.to_numpy(dtype=np.int64), rows)
    if not len(rows):
        return validation, dropped
    positions, _ = match_header(list(raw.frame.columns), load_contract(training=training))
    at = np.flatnonzero(np.isin(raw.row_numbers, rows))
    ids = raw.frame.iloc[at, positions["case_id"]].reset_index(drop=True)  # as validate_table shows them
    refusals = _Refusals(len(at))
    refusals.add(np.ones(len(at), dtype=bool), "case_id", ids, "duplicate_case_id")
    before = validation.refused
    others = before[~(before["row"].isin(rows) & (before["column"] == "case_id"))]
    refused = _in_order(pd.concat([others, refusals.frame(raw.row_numbers[at], ids, language)], ignore_index=True))
    return dataclasses.replace(validation, valid=validation.valid[~dropped], refused=refused), dropped


def validate_table(
    raw: RawTable,
    *,
    training: bool = False,
    language: Language = "da",
    duplicate_case_ids: pd.Series | RepeatedIds | None = None,
) -> Validation:
    """Validate a table read by :func:`read_table` against the intake-form contract.

    Parameters
    ----------
    raw : RawTable
        The table as read.
    training : bool, default False
        Also require and check the outcome columns of the training extension.
    language : {"da", "en"}, default "da"
        Language of the refusal reasons.
    duplicate_case_ids : pandas.Series of str or RepeatedIds, optional
        The ids (as :func:`comparable_case_ids` gives them) that occur more than
        once in the whole file this table is a chunk of, or their fingerprints
        (``_ids.RepeatedIds``). Forms with these ids are refused as duplicates;
        without it, ids are compared within the table.

    Returns
    -------
    Validation
        Valid forms and refused rows; ``rows_read == len(valid) + refused_rows``.

    Raises
    ------
    FileError
        The header lacks a required column or names one twice.
    """
    contract = load_contract(training=training)
    text, row_numbers, blank, ignored, absent, outside = _text_columns(raw, contract)
    n_rows = len(text)
    refusals = _Refusals(n_rows)
    cells = {name: text[name] for name in contract.columns}
    identifier = [contract.fields[name].parse == "identifier" for name in contract.columns]
    with _workers(n_rows) as workers:  # Arrow's kernels let go of the GIL: columns encoded side by side
        encoded = workers.map(_distinct_text, cells.values(), identifier)
        columns = {name: _parse_distinct(cells[name], name, contract, refusals, codes) for name, codes in zip(cells, encoded)}
    notes: dict[str, int] = {}
    if outside:
        notes["cpr_outside_contract"] = _cpr_outside_contract(raw, outside)
    _derive_sick_weeks(columns, text, refusals)
    _derive_diagnosis_group(columns, notes)
    if training:
        absence, weeks = columns["absence_weeks"].values, columns["sick_weeks"].values
        shorter = (absence < weeks - WEEKS_TOLERANCE).fillna(False).to_numpy(dtype=bool)
        refusals.add(shorter, "absence_weeks", text["absence_weeks"], "absence_shorter_than_form", weeks=weeks)
    # Cells refused so far are accounted for; the schema's checks see only the rest.
    schema = contract.schema
    if duplicate_case_ids is not None:  # the file-wide duplicates, decided before the other checks, as pandera does
        schema = _schema_without_uniqueness(training)
        case_id = columns["case_id"].values.mask(refusals.refused_cells("case_id"))
        if isinstance(duplicate_case_ids, RepeatedIds):
            repeated = duplicate_case_ids.mask(case_id)
        else:
            repeated = case_id.isin(pd.Index(duplicate_case_ids.dropna())).to_numpy(dtype=bool)
        refusals.add(repeated & case_id.notna().to_numpy(), "case_id", text["case_id"], "duplicate_case_id")
    _schema_refusals(columns, text, contract, refusals, schema)
    case_ids = text["case_id"]
    refused = refusals.frame(row_numbers, case_ids, language)
    if raw.malformed:
        malformed = pd.DataFrame(
            {
                "row": [number for number, _, _ in raw.malformed],
                "case_id": "",
                "column": "",
                "value": "",
                "reason": [reason_text("malformed_row" if found >= 0 else "unbalanced_quote", language, found=found, expected=expected)
                           for _, found, expected in raw.malformed],
                "kind": ["malformed_row" if found >= 0 else "unbalanced_quote" for _, found, _ in raw.malformed],
            }
        )
        refused = pd.concat([refused, malformed], ignore_index=True) if len(refused) else malformed
    refused = _in_order(refused)
    kept = np.flatnonzero(~refusals.any_row())
    with _workers(n_rows) as workers:
        valid = pd.DataFrame(dict(zip(columns, workers.map(_Column.take, columns.values(), [kept] * len(columns)))))
    valid.index = pd.Index(row_numbers[kept], name="row")
    return Validation(
        valid=valid,
        refused=refused,
        rows_read=n_rows + len(raw.malformed),
        blank_rows=int(blank.sum()),
        ignored_columns=ignored,
        dialect=raw.dialect,
        notes=notes,
        absent_columns=absent,
    )
