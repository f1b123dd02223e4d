"""Validating one form fast, with the table validator's own parsers and checks, and its last word.

:func:`~screening.intake.validate_table` on a one-row table costs tens of
milliseconds, nearly all of it pandas overhead that a batch spreads over a
million forms. :class:`FormValidator` judges a single form this way instead:

1. **Cells.** Each cell is parsed by the table validator's own per-column step
   (the generic checks, then the contract's parser), once per distinct
   ``(column, text)``; the answer is kept, and building the validator parses the
   spellings forms commonly carry (code labels, whole numbers in range,
   decimals, recent dates, every ICD-10 code) in bulk. Free-text cells
   (``case_id``, ``jobcenter``: new in every form) are checked with the same
   patterns as scalar regular expressions when they have no surrounding
   whitespace; anything else goes the table's way.
2. **Across cells.** Weeks absent derived from the dates, the diagnosis group
   taken from the ICD-10 code, as the table validator does.
3. **Schema.** Ranges and code lists checked by the contract's pandera column
   schema, once per distinct ``(column, value)``.

Whenever a step finds anything wrong, or meets something it does not expect, the
form is handed to :func:`~screening.intake.validate_table`, which has the last
word: a refused form is refused with exactly the table's reasons, and a form the
fast path doubted but the table accepts comes back as the table typed it. So the
fast path can only ever decide "valid, and these are its typed values";
``tests/scoring/test_single.py`` proves those equal the batch's, risk for risk.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from screening.intake._cells import cell_text, text_frame
from screening.intake._contract import load_contract
from screening.intake._icd10 import all_codes, normalise_codes
from screening.intake._messages import Language, reason_text
from screening.intake._parse import DATE_FORMATS, MAX_CELL_CHARACTERS
from screening.intake._privacy import CONTROL_PATTERN, CPR_SEARCH_PATTERN, redact
from screening.intake._table import FileError, RawTable
from screening.intake._validate import WEEKS_TOLERANCE, _parse_column, _Refusals, validate_table

#: Distinct values remembered per cache before it is emptied (bounds memory in a long-lived service).
CACHE_LIMIT = 200_000
#: Days back from today whose dates are parsed in advance (and a few ahead).
WARM_DAYS_BACK, WARM_DAYS_AHEAD = 1100, 60
#: Date spellings parsed in advance: every format the contract reads.
_WARM_DATE_FORMATS = tuple(fmt for _pattern, fmt in DATE_FORMATS)
# Scalar forms of the table's patterns. Arrow's RE2 reads \d as ASCII digits: so does re.ASCII.
_CONTROL = re.compile(CONTROL_PATTERN)
_CPR = re.compile(CPR_SEARCH_PATTERN, re.ASCII)
_FAST_TEXT_PARSES = ("identifier", "text")


class RefusedFormError(ValueError):
    """A form that does not meet the intake-form contract; it was not scored.

    Attributes
    ----------
    reasons : list of dict
        One entry per reason: ``column``, ``value`` (redacted), ``reason`` (text in
        the language asked for) and ``kind`` (a stable code, see
        ``screening.intake._messages.REASONS``).
    case_id : str
        The form's ``case_id`` as given (redacted), or ``""``.
    """

    def __init__(self, reasons: list[Mapping[str, Any]], case_id: str = "", *, language: Language = "en") -> None:
        self.reasons = [dict(reason) for reason in reasons]
        self.case_id = case_id
        words = _REFUSED_WORDS.get(language, _REFUSED_WORDS["en"])  # the language the reasons are written in
        described = "; ".join(f"{reason.get('column') or words['form']}: {reason.get('reason')}"
                              for reason in self.reasons)
        super().__init__(words["line"].format(case_id=case_id or words["no_id"], reasons=described))


#: The words of a :class:`RefusedFormError`'s text around its reasons.
_REFUSED_WORDS = {
    "da": {"line": "skema {case_id} afvist: {reasons}", "no_id": "(uden sags-id)", "form": "(skemaet)"},
    "en": {"line": "form {case_id} refused: {reasons}", "no_id": "(no case_id)", "form": "(form)"},
}


@dataclass(frozen=True)
class ValidForm:
    """A form the contract accepts, typed as the table validator types it.

    Attributes
    ----------
    values : dict
        Contract column -> typed value (None when blank), for the fast path.
    frame : pandas.DataFrame or None
        The table validator's one valid row, when it had the last word (the fast
        path doubted the form); None when the fast path decided.
    """

    values: dict[str, object]
    frame: pd.DataFrame | None = None

    @property
    def fast(self) -> bool:
        """Whether the per-value caches decided (no table validation was needed)."""
        return self.frame is None


class _Defer(Exception):
    """The fast path leaves this form to the table validator."""


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def _shown(text: str) -> str:
    """A text from the caller made safe to show (CPR-shaped numbers masked, control characters replaced)."""
    return str(redact(pd.Series([text], dtype="str")).iloc[0])


def _key(value: object) -> object:
    """A hashable, NaN-free cache key for a parsed value (blank is None)."""
    if _blank(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class FormValidator:
    """Validates one form at a time, as :func:`~screening.intake.validate_table` would, in well under a millisecond.

    Thread-safe; building it (about a second) parses the common spellings in bulk.

    Attributes
    ----------
    dtypes : dict of str to dtype
        The dtype of each column of valid forms, as the table validator makes them.
    """

    def __init__(self) -> None:
        self.contract = load_contract()
        self.fields = self.contract.fields
        self.known = {name.casefold(): name for name in self.contract.columns}
        self._exact = {name: name for name in self.contract.columns}  # keys as the contract spells them
        self._lock = threading.Lock()
        self._cells: dict[tuple[str, str], tuple[object, bool]] = {}
        self._valid_values: dict[tuple[str, object], bool] = {}
        self._diagnosis_groups: dict[str, object] = {}
        self.dtypes = self._typed_dtypes()
        self._patterns = {
            name: [re.compile(check.statistics["pattern"]) for check in column.checks if check.name == "str_matches"]
            for name, column in self.contract.schema.columns.items()
        }
        # What the schema asks of each column, read once: blanks allowed, and for free text the checks.
        self._nullable = {name: bool(column.nullable) for name, column in self.contract.schema.columns.items()}
        self._free_text = {name for name in self.contract.columns if self.fields[name].parse in _FAST_TEXT_PARSES}
        self._weeks_of_days: dict[int, float] = {}
        self._warm()

    # ----------------------------------------------------------------- set-up
    def _typed_dtypes(self) -> dict[str, Any]:
        row = {name: None for name in self.contract.columns}
        row.update(case_id="X", age="40", physical_load="1", sick_weeks="1")
        frame = pd.DataFrame([row], dtype="str")
        return dict(validate_table(RawTable(frame=frame, row_numbers=np.array([2]))).valid.dtypes)

    def _common_spellings(self, name: str) -> list[str]:
        spec = self.fields[name]
        if spec.parse in _FAST_TEXT_PARSES:
            return []
        spellings: set[str] = {""}  # a blank cell, as files and forms often carry
        if spec.parse in ("code", "boolean"):
            labels = list(spec.labels) + [str(code) for code in spec.codes]
            if spec.parse == "boolean":
                labels += list(self.contract.boolean_labels)
            for label in labels:
                spellings.update({label, label.upper(), label.capitalize(), label.lower()})
        elif spec.parse == "whole" and spec.minimum is not None and spec.maximum is not None:
            spellings.update(str(value) for value in range(int(spec.minimum), int(spec.maximum) + 1))
        elif spec.parse == "number" and spec.minimum is not None and spec.maximum is not None:
            tenths = np.arange(int(spec.minimum * 10), int(spec.maximum * 10) + 1)
            for value in tenths:
                whole, tenth = divmod(int(value), 10)
                spellings.update({f"{whole}.{tenth}", f"{whole},{tenth}"})
                if tenth == 0:
                    spellings.add(str(whole))
        elif spec.parse == "date":
            today = dt.date.today()
            days = [today + dt.timedelta(days=offset) for offset in range(-WARM_DAYS_BACK, WARM_DAYS_AHEAD)]
            spellings.update(day.strftime(fmt) for day in days for fmt in _WARM_DATE_FORMATS)
            # Midnight date-times as case systems export them (2026-11-16 00:00:00, 2026-11-16T00:00:00).
            spellings.update(f"{day.isoformat()}{sep}00:00:00" for day in days for sep in (" ", "T"))
        elif spec.parse == "icd10":
            # Every code as WHO (M54.5, m54.5), compact (M545) and Danish SKS (DM545) spell it; others are
            # parsed when met.
            for code in all_codes():
                compact = code.replace(".", "")
                spellings.update((code, code.lower(), compact, "D" + compact))
        return sorted(spellings)

    def _warm(self) -> None:
        """Parse and check the spellings forms commonly carry, in bulk: a form's first answers then cost what
        known ones do."""
        for name in self.contract.columns:
            spellings = self._common_spellings(name)
            if spellings:
                self._parse_many(name, spellings)
        codes = list({value for (name, _text), (value, refused) in self._cells.items()
                      if name == "diagnosis_code" and not refused and value is not None})
        groups = normalise_codes(pd.Series(codes, dtype="str"))[2]
        for code, group in zip(codes, groups.tolist()):
            self._diagnosis_groups[code] = _key(group)

    def known_values(self) -> dict[str, list[object]]:
        """The typed values met so far (or parsed in advance) per column, blanks left out."""
        values: dict[str, list[object]] = {name: [] for name in self.contract.columns}
        for (name, _text), (value, refused) in list(self._cells.items()):
            if not refused and value is not None:
                values[name].append(value)
        return {name: list(dict.fromkeys(found)) for name, found in values.items()}

    def _parse_many(self, name: str, texts: list[str]) -> None:
        refusals = _Refusals(len(texts))
        values = _parse_column(pd.Series(texts, dtype="str"), name, self.contract, refusals)
        refused = refusals.refused_cells(name)
        typed = values.tolist()
        for text, value, bad in zip(texts, typed, refused.tolist()):
            self._cells[(name, text)] = (_key(value), bool(bad))
        good = [value for value, bad in zip(values, refused.tolist()) if not bad and not _blank(value)]
        if good:
            self._check_many(name, pd.Series(good, dtype=self.dtypes[name]).drop_duplicates())

    def _check_many(self, name: str, values: pd.Series) -> dict[object, bool]:
        """Whether each value passes the contract's checks of its column (pandera, lazily)."""
        import pandera.pandas as pa

        column = self.contract.schema.columns[name]
        frame = pd.DataFrame({name: values.reset_index(drop=True)})
        failed: set[int] = set()
        try:
            column.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases
            if cases["index"].isna().any():
                failed = set(range(len(frame)))  # a table-level failure: trust none of them
            else:
                failed = set(cases["index"].astype("int64").tolist())
        verdicts = {_key(value): position not in failed for position, value in enumerate(frame[name].tolist())}
        for value, verdict in verdicts.items():
            self._remember(self._valid_values, (name, value), verdict)
        return verdicts

    def _remember(self, cache: dict, key: tuple, value: object) -> None:
        with self._lock:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[key] = value

    # ------------------------------------------------------------------ cells
    def _fast_text(self, name: str, text: str) -> tuple[object, bool]:
        """An identifier or free-text cell without surrounding whitespace, checked as the table does."""
        if text[:1].isspace() or text[-1:].isspace() or not text:
            raise _Defer
        if _CONTROL.search(text) or len(text) > MAX_CELL_CHARACTERS or _CPR.search(text):
            raise _Defer
        return text, False

    def _cell(self, name: str, text: str | None) -> object:
        if text is None:
            return None
        cached = self._cells.get((name, text))
        if cached is None:
            if self.fields[name].parse in _FAST_TEXT_PARSES:
                cached = self._fast_text(name, text)
            elif (trimmed := text.strip(" ")) and trimmed != text and (name, trimmed) in self._cells:
                # The table trims every cell (of any whitespace, spaces among it) before it checks and
                # parses it: " M54.5 " is read exactly as "M54.5" is.
                cached = self._cells[(name, trimmed)]
            else:
                refusals = _Refusals(1)
                value = _parse_column(pd.Series([text], dtype="str"), name, self.contract, refusals).iloc[0]
                cached = (_key(value), bool(refusals.refused_cells(name)[0]))
                self._remember(self._cells, (name, text), cached)
        value, refused = cached
        if refused:
            raise _Defer
        return value

    def _passes_schema(self, name: str, value: object) -> bool:
        if value is None:
            return self._nullable[name]
        if name in self._free_text:  # new in every form: the patterns, scalar
            patterns = self._patterns[name]
            return all(pattern.fullmatch(str(value)) for pattern in patterns) and self._text_length_ok(name, value)
        known = self._valid_values.get((name, value))
        if known is None:
            known = self._check_many(name, pd.Series([value], dtype=self.dtypes[name]))[value]
        return known

    def _text_length_ok(self, name: str, value: object) -> bool:
        for check in self.contract.schema.columns[name].checks:
            if check.name == "str_length":
                stats = check.statistics
                low, high = stats.get("min_value"), stats.get("max_value")
                if (low is not None and len(str(value)) < low) or (high is not None and len(str(value)) > high):
                    return False
            elif check.name not in ("str_matches",):
                raise _Defer  # a check this path does not know: the table decides
        return True

    def _diagnosis_group(self, code: str) -> object:
        group = self._diagnosis_groups.get(code)
        if group is None:
            group = _key(normalise_codes(pd.Series([code], dtype="str"))[2].iloc[0])
            self._remember(self._diagnosis_groups, code, group)
        return group

    # ------------------------------------------------------------------- form
    def _name(self, key: object) -> str | None:
        """The contract column a form's key names (any case, surrounding spaces), or None."""
        name = self._exact.get(key) if isinstance(key, str) else None
        return name if name is not None else self.known.get(str(key).strip().casefold())

    def _texts(self, form: Mapping[str, Any]) -> dict[str, str | None]:
        texts: dict[str, str | None] = dict.fromkeys(self.contract.columns)
        seen: set[str] = set()
        for key, value in form.items():
            name = self._name(key)
            if name is None:
                continue
            if name in seen:
                raise _Defer  # a field named twice: the table says how
            seen.add(name)
            texts[name] = cell_text(value)
        return texts

    def _fast(self, form: Mapping[str, Any]) -> dict[str, object]:
        texts = self._texts(form)
        if all(text is None for text in texts.values()):
            raise _Defer
        values = {name: self._cell(name, text) for name, text in texts.items()}
        start, received = values["sick_leave_start"], values["form_received"]
        if start is not None and received is not None:
            days = (received - start).days
            derived = self._weeks_of_days.get(days)
            if derived is None:  # as the table rounds a column of them
                derived = float(np.round(np.float64(days) / 7, 1))
                self._remember(self._weeks_of_days, days, derived)
            if derived < 0:
                raise _Defer
            given = values["sick_weeks"]
            if given is None:
                values["sick_weeks"] = derived
            elif abs(given - derived) > WEEKS_TOLERANCE:
                raise _Defer
        if values["diagnosis_code"] is not None:
            group = self._diagnosis_group(values["diagnosis_code"])
            if group is not None:
                values["diagnosis_group"] = group
        for name, value in values.items():
            if not self._passes_schema(name, value):
                raise _Defer
        return values

    def validate(self, form: Mapping[str, Any], *, language: Language = "da",
                 ignore_unknown: bool = False) -> ValidForm:
        """Validate one form.

        Parameters
        ----------
        form : mapping
            Field name -> value, names as in the contract (any case); values as
            text or typed (numbers, booleans, dates and date-times). Missing keys
            are blank answers.
        language : {"da", "en"}, default "da"
            Language of the refusal reasons.
        ignore_unknown : bool, default False
            Pass over keys the contract does not know. By default such a key
            refuses the form (reason kind ``unknown_field``, naming the nearest
            contract field): a misspelt ``work_abilty`` would otherwise be a blank
            answer and a different risk. The form's other fields are judged too,
            and their refusals follow (a CPR number as ``case_id`` is told at
            once, not after the misspelling is mended).

        Returns
        -------
        ValidForm

        Raises
        ------
        RefusedFormError
            The form does not meet the contract; ``.reasons`` says why, as a batch would.
        TypeError
            ``form`` is not a mapping.
        """
        if not isinstance(form, Mapping):
            raise TypeError(f"a form is a mapping of field name to value, got {type(form).__name__}")
        if not ignore_unknown:
            unknown = [key for key in form if self._name(key) is None]
            if unknown:  # refused, and for the rest of the form too: every mistake told at once
                refusal = self._unknown_fields(form, unknown, language)
                try:
                    self.validate(form, language=language, ignore_unknown=True)
                except RefusedFormError as other:
                    refusal = RefusedFormError(refusal.reasons + other.reasons, case_id=refusal.case_id,
                                               language=language)
                raise refusal
        try:
            return ValidForm(values=self._fast(form))
        except _Defer:
            return self._validate_as_table(form, language)

    def _unknown_fields(self, form: Mapping[str, Any], unknown: list[object], language: Language) -> RefusedFormError:
        """The refusal of a form with keys the contract does not know: each named, with the nearest field."""
        reasons = []
        for key in unknown:
            name = str(key).strip()
            nearest = difflib.get_close_matches(name.casefold(), self.contract.columns, n=1, cutoff=0.6)
            reason = (reason_text("unknown_field", language, nearest=nearest[0]) if nearest
                      else reason_text("unknown_field_far", language))
            value = cell_text(form[key])
            reasons.append({"column": _shown(name), "value": "" if value is None else _shown(value),
                            "reason": reason, "kind": "unknown_field"})
        case_id = next((form[key] for key in form if str(key).strip().casefold() == "case_id"), None)
        return RefusedFormError(reasons, case_id=_shown(cell_text(case_id) or ""), language=language)

    def _validate_as_table(self, form: Mapping[str, Any], language: Language) -> ValidForm:
        row = {str(key): value for key, value in form.items()}
        named = {str(key).strip().casefold() for key in row}
        for name in self.contract.columns:  # a field left out is a blank answer, not a broken file
            if name.casefold() not in named:
                row[name] = None
        frame = text_frame(pd.DataFrame({key: pd.Series([value], dtype=object) for key, value in row.items()}))
        case_id = redact(pd.Series([str(row.get("case_id") or "")], dtype="str")).iloc[0]
        if frame.isna().all(axis=1).iloc[0]:  # a file skips a blank row; one form is refused like any other
            frame.iloc[0, 0] = ""
        try:
            validation = validate_table(RawTable(frame=frame, row_numbers=np.array([2])), language=language)
        except FileError as error:
            raise RefusedFormError([{"column": "", "value": "", "reason": error.text(language), "kind": "file_error"}],
                                   case_id=case_id, language=language) from None
        if len(validation.valid) == 1:
            valid = validation.valid
            return ValidForm(values={name: _key(valid[name].iloc[0]) for name in valid.columns}, frame=valid)
        reasons = validation.refused[["column", "value", "reason", "kind"]].to_dict("records")
        refused_id = validation.refused["case_id"].iloc[0] if len(validation.refused) else case_id
        raise RefusedFormError(reasons, case_id=str(refused_id), language=language)
