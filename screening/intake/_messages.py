"""Why a value or a file was refused, in words a person reads: Danish by default, English on request.

Two catalogues, each ``kind -> (Danish, English)``: :data:`REASONS` for a refused
value, :data:`FILE_ERRORS` for a file refused as a whole. The kinds are stable
codes (files, summaries and tests name them); the texts may improve.

A template's placeholders are filled from the refusal's parameters, each written
the way its language writes it: numbers with a decimal comma in Danish (``3,7``),
a :class:`Localised` value in the chosen language, and ``{field[name]}`` as the
contract's label of that field (``første sygedag``, ``first sick day``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from screening.intake._contract import load_contract
from screening.intake._privacy import mask_cpr

if TYPE_CHECKING:
    from screening.intake._contract import Field

Language = Literal["da", "en"]
#: The languages of every text a person reads (reasons, refusals, pages): Danish first, the default.
LANGUAGES: tuple[str, ...] = get_args(Language)

#: Reason kind -> (Danish, English). Placeholders are filled from the refusal's parameters.
REASONS: dict[str, tuple[str, str]] = {
    "missing_required": ("påkrævet værdi mangler", "required value is missing"),
    "not_a_number": ("ikke et tal", "not a number"),
    "not_finite": ("ikke et endeligt tal", "not a finite number"),
    "not_whole": ("ikke et helt tal", "not a whole number"),
    "out_of_range": ("uden for intervallet {minimum}–{maximum}", "outside the range {minimum}–{maximum}"),
    "below_minimum": ("mindre end {minimum}", "less than {minimum}"),
    "not_a_date": (
        "ikke en dato i et kendt format (2026-11-16, 16-11-2026 eller 16.11.2026)",
        "not a date in a known format (2026-11-16, 16-11-2026 or 16.11.2026)",
    ),
    # The format matched, but there is no such day (30 February, month 13).
    "impossible_date": ("datoen findes ikke ({date})", "the date does not exist ({date})"),
    "implausible_date": ("dato uden for årene 2000–2100", "date outside the years 2000–2100"),
    "not_yes_no": ("ikke ja/nej", "not yes/no"),
    "unknown_code": ("ikke en af: {codes}", "not one of: {codes}"),
    "invalid_icd10": (
        "ikke en gyldig ICD-10-kode (WHO's klassifikation; SKS-præfiks D er tilladt)",
        "not a valid ICD-10 code (WHO classification; Danish SKS prefix D accepted)",
    ),
    "bad_identifier": (
        "skal være 1–64 tegn af A–Z a–z 0–9 _ - . :",
        "must be 1–64 characters of A–Z a–z 0–9 _ - . :",
    ),
    "cpr_shaped": (
        "ligner et CPR-nummer: pseudonymisér før filen sendes",
        "looks like a CPR number: pseudonymise before sending the file",
    ),
    "duplicate_case_id": (
        "{field[case_id]} findes flere gange i filen; ingen af dem scores",
        "the {field[case_id]} appears more than once in the file; none of them is scored",
    ),
    "too_long": ("længere end {maximum} tegn", "longer than {maximum} characters"),
    "control_characters": ("indeholder kontroltegn", "contains control characters"),
    "start_after_received": (
        "{field[sick_leave_start]} ligger efter {field[form_received]}",
        "the {field[sick_leave_start]} is after the {field[form_received]}",
    ),
    "weeks_disagree_with_dates": (
        "passer ikke med datoerne ({derived} uger fra {field[sick_leave_start]} til {field[form_received]})",
        "disagrees with the dates ({derived} weeks from the {field[sick_leave_start]} to the {field[form_received]})",
    ),
    "cannot_derive_weeks": (
        "mangler og kan ikke beregnes: kræver {field[sick_leave_start]} og {field[form_received]}",
        "missing and cannot be derived: needs the {field[sick_leave_start]} and the {field[form_received]}",
    ),
    "absence_shorter_than_form": (
        "kortere end fraværet, da skemaet blev modtaget ({field[sick_weeks]}: {weeks})",
        "shorter than the absence when the form was received ({field[sick_weeks]}: {weeks})",
    ),
    "unbalanced_quote": (
        'et citationstegn (") åbnet i rækken lukkes aldrig; rækken kan ikke læses',
        'a quote (") opened in this row is never closed; the row cannot be read',
    ),
    # One form (score_one): a field name the contract does not have, so its answer would be silently lost.
    "unknown_field": (
        "ukendt felt; mente du {nearest}? (felter med andre navne afvises, så et svar ikke går tabt)",
        "unknown field; did you mean {nearest}? (fields of other names are refused, so no answer is lost)",
    ),
    "unknown_field_far": (
        "ukendt felt: kontrakten har intet felt med det navn eller et navn tæt på",
        "unknown field: the contract has no field of that name or a name close to it",
    ),
    "malformed_row": (
        "rækken har {found} felter, men overskriften har {expected}",
        "the row has {found} fields but the header has {expected}",
    ),
}

#: Reason kind -> (Danish, English) in a few words, without the facts of one refusal: how a summary counts them.
REASON_LABELS: dict[str, tuple[str, str]] = {
    "missing_required": ("mangler", "missing"),
    "not_a_number": ("ikke et tal", "not a number"),
    "not_finite": ("ikke et endeligt tal", "not a finite number"),
    "not_whole": ("ikke et helt tal", "not a whole number"),
    "out_of_range": ("uden for intervallet", "out of range"),
    "below_minimum": ("for lille", "below the minimum"),
    "not_a_date": ("ikke en dato", "not a date"),
    "impossible_date": ("datoen findes ikke", "no such date"),
    "implausible_date": ("dato uden for 2000–2100", "date outside 2000–2100"),
    "not_yes_no": ("ikke ja/nej", "not yes/no"),
    "unknown_code": ("ukendt svar", "unknown answer"),
    "invalid_icd10": ("ikke en gyldig ICD-10-kode", "not a valid ICD-10 code"),
    "bad_identifier": ("ugyldigt id", "invalid id"),
    "cpr_shaped": ("ligner et CPR-nummer", "looks like a CPR number"),
    "duplicate_case_id": ("findes flere gange", "appears more than once"),
    "too_long": ("for lang", "too long"),
    "control_characters": ("kontroltegn", "control characters"),
    "start_after_received": ("efter skemaets modtagelse", "after the form was received"),
    "weeks_disagree_with_dates": ("passer ikke med datoerne", "disagrees with the dates"),
    "cannot_derive_weeks": ("mangler og kan ikke beregnes", "missing, cannot be derived"),
    "absence_shorter_than_form": ("kortere end fraværet ved modtagelsen", "shorter than the absence at receipt"),
    "unbalanced_quote": ("citationstegn lukkes aldrig", "quote never closed"),
    "unknown_field": ("ukendt felt", "unknown field"),
    "unknown_field_far": ("ukendt felt", "unknown field"),
    "malformed_row": ("forkert antal felter", "wrong number of fields"),
}


def reason_label(kind: str, language: Language = "da") -> str:
    """A reason kind in a few words and its code, as a summary counts it: ``findes flere gange (duplicate_case_id)``.

    A kind without a label (none today) is its code alone.
    """
    if kind not in REASON_LABELS:
        return kind
    danish, english = REASON_LABELS[kind]
    return f"{danish if language == 'da' else english} ({kind})"


#: File error kind -> (Danish, English): a file refused as a whole (:class:`~screening.intake.FileError`).
FILE_ERRORS: dict[str, tuple[str, str]] = {
    "no_such_file": ("{path}: filen findes ikke", "{path}: no such file"),
    "is_a_folder": ("{path}: er en mappe, ikke en fil", "{path}: is a folder, not a file"),
    "cannot_read": ("{path}: kan ikke læses ({detail})", "{path}: cannot be read ({detail})"),
    "empty_file": ("filen er tom", "the file is empty"),
    "binary_file": (
        "filen er binær, ikke en teksttabel (CSV, .xlsx eller Parquet forventes)",
        "the file is binary, not a text table (CSV, .xlsx or Parquet expected)",
    ),
    "old_excel": (
        "filen er en gammel Excel-projektmappe (.xls, Excel 97–2003), som ikke læses: gem den som .xlsx eller CSV",
        "the file is an old Excel workbook (.xls, Excel 97–2003), which is not read: save it as .xlsx or CSV",
    ),
    "blank_first_line": (
        "første linje er tom: den skal være en overskriftsrække med kolonnenavne",
        "the first line is blank: expected a header row with column names",
    ),
    "header_not_csv": ("overskriftsrækken kan ikke læses som CSV", "the header row cannot be read as CSV"),
    "one_column_csv": (
        "tabellen kom som én kolonne, hvis navn har {separator} i sig: en CSV med {separator} mellem felterne, "
        "læst som en med komma (MLflow læser kun komma); send CSV med komma, eller JSON",
        "the table came as one column whose name holds {separator}: a CSV with {separator} between fields read as "
        "one with commas (MLflow reads commas only); send comma-separated CSV, or JSON",
    ),
    "bad_separator": (
        "skilletegnet skal være ét tegn, fx ; , | eller tab (skrevet \\t eller tab), ikke {separator}",
        "the separator must be one character, such as ; , | or tab (written \\t or tab), not {separator}",
    ),
    "cannot_decode": ("filen kan ikke afkodes som {encoding}: {detail}", "cannot decode the file as {encoding}: {detail}"),
    "bad_utf16": (
        "filen begynder som UTF-16-tekst, men kan ikke afkodes som UTF-16",
        "the file starts like UTF-16 text but cannot be decoded as UTF-16",
    ),
    "no_sheets": ("projektmappen har ingen ark", "the workbook has no sheets"),
    "unreadable_xlsx": ("ikke en læsbar .xlsx-projektmappe: {detail}", "not a readable .xlsx workbook: {detail}"),
    "empty_sheet": (
        "første ark er tomt: det skal begynde med en overskriftsrække med kolonnenavne",
        "the first sheet is empty: expected a header row with column names",
    ),
    "unreadable_parquet": ("ikke en læsbar Parquet-fil: {detail}", "not a readable Parquet file: {detail}"),
    "unreadable_column_type": (
        "en kolonne af typen {type} kan ikke læses som skemaværdier",
        "a column of type {type} cannot be read as form values",
    ),
    "changed_while_read": (
        "{name} blev ændret, mens den blev læst; kør igen",
        "{name} changed while it was being read; run again",
    ),
    "missing_columns": (
        "påkrævet kolonne mangler: {columns}; overskriftsrækken skal nævne dem ved navn",
        "required column missing: {columns} (the header row must name them)",
    ),
    "misspelt_columns": (
        "ukendt kolonne {columns}: ret overskriften, så svarene i den ikke går tabt",
        "unknown column {columns}: correct the header, so that its answers are not lost",
    ),
    "one_column_header": (
        "overskriftsrækken blev læst som én kolonne ('{header}'): skilletegnet blev ikke genkendt (komma, "
        "semikolon, tabulator og | genkendes; et andet angives med --separator)",
        "the header row was read as one column ('{header}'): its separator was not recognised (comma, semicolon, "
        "tab and | are; give another with --separator)",
    ),
    "duplicate_header": (
        "kolonneoverskriften '{name}' står der to gange (kolonne {first} og {second})",
        "the column header '{name}' appears twice (columns {first} and {second})",
    ),
    # The score command's own files (screening.scoring.score_file).
    "output_is_input": ("--{option} {path} er inputfilen; vælg et andet navn", "--{option} {path} is the input file; choose another name"),
    "output_is_folder": ("--{option} {path} er en mappe; angiv et filnavn", "--{option} {path} is a folder; give a file name"),
    "same_output": ("--{option} og --{other} angiver den samme fil ({path})", "--{option} and --{other} name the same file ({path})"),
    "unusable_model": ("modellen {model} kan ikke bruges: {detail}", "model {model}: {detail}"),
    "output_format": (
        "--output {name}: den rangerede liste skrives som CSV (.csv) eller Excel-projektmappe (.xlsx), ikke {suffix}",
        "--output {name}: the ranked list is written as CSV (.csv) or an Excel workbook (.xlsx), not {suffix}",
    ),
    "report_format": (
        "--report {name}: ugens side skrives som HTML (.html), ikke {suffix}",
        "--report {name}: the week's page is written as HTML (.html), not {suffix}",
    ),
    "rejects_not_csv": (
        "--rejects {name}: afviste rækker skrives som CSV (en .xlsx-liste har dem i sit eget ark); angiv et .csv-navn",
        "--rejects {name}: refused rows are written as CSV (an .xlsx output has them in its own sheet); give a .csv name",
    ),
    "no_jobcenter_column": ("--per jobcenter: filen har ingen jobcenter-kolonne", "--per jobcenter: the file has no jobcenter column"),
    "sheet_too_long": (
        "et Excel-ark rummer højst {maximum} rækker, og arket {sheet} ville få {rows}: skriv en .csv i stedet",
        "an Excel sheet holds at most {maximum} rows and sheet {sheet} would have {rows}: write a .csv instead",
    ),
    "first_pass_died": (
        "processen, der læste filen første gang, stoppede midt i kørslen (oftest: maskinen løb tør for "
        "hukommelse); kør igen med --workers 1 eller en mindre --chunk-rows",
        "the process reading the file a first time stopped mid-run (most often: the machine ran out of memory); "
        "run again with --workers 1 or a smaller --chunk-rows",
    ),
    "worker_died": (
        "en af de {workers} arbejdsprocesser stoppede midt i kørslen (oftest: maskinen løb tør for hukommelse); "
        "kør igen med --workers 1 eller en mindre --chunk-rows",
        "one of the {workers} worker processes stopped mid-run (most often: the machine ran out of memory); "
        "run again with --workers 1 or a smaller --chunk-rows",
    ),
    "cannot_write": ("kan ikke skrive {path}: {detail}", "cannot write {path}: {detail}"),
    "cannot_write_output": ("kan ikke skrive en outputfil: {detail}", "cannot write an output file: {detail}"),
    # The Spark engine's input folders and outputs (screening.spark, `screening spark-score`).
    "empty_folder": ("{path}: mappen har ingen skemafiler", "{path}: the folder has no form files"),
    "different_headers": (
        "filerne i mappen har ikke samme overskriftsrække ({first} og {other})",
        "the files of the folder do not have the same header row ({first} and {other})",
    ),
    "mixed_formats": (
        "mappen blander Parquet med CSV eller .xlsx ({first} og {other}); læg dem i hver sin mappe",
        "the folder mixes Parquet with CSV or .xlsx ({first} and {other}); put them in folders of their own",
    ),
    "output_exists": (
        "--output {path} findes og er ikke en tidligere spark-score-mappe; vælg en ny mappe",
        "--output {path} exists and is not an earlier spark-score folder; choose a new folder",
    ),
}


@dataclass(frozen=True)
class Localised:
    """A parameter of a message that is worded per language (a list of names, a phrase)."""

    da: str
    en: str

    def text(self, language: Language) -> str:
        """The wording in ``language``."""
        return self.da if language == "da" else self.en


def format_number(value: float, language: Language = "da", *, decimals: int | None = None,
                  grouping: bool = False) -> str:
    """A number as the language writes it: ``3,7`` and ``1.234`` in Danish, ``3.7`` and ``1,234`` in English.

    Parameters
    ----------
    value : int or float
    language : {"da", "en"}, default "da"
    decimals : int, optional
        Digits after the decimal mark; by default as few as the value needs (``4.0`` is ``4``).
    grouping : bool, default False
        Group thousands (``1.234.567`` in Danish, ``1,234,567`` in English).

    Returns
    -------
    str
    """
    comma = "," if grouping else ""
    if decimals is not None:
        text = f"{value:{comma}.{decimals}f}"
    elif isinstance(value, numbers.Integral) or float(value).is_integer():
        text = f"{int(value):{comma}d}" if abs(float(value)) < 1e15 else f"{float(value):g}"
    else:
        text = f"{float(value):{comma}.10g}"
    return text.translate(_DANISH_MARKS) if language == "da" else text


_DANISH_MARKS = str.maketrans({",": ".", ".": ","})


class _FieldLabels:
    """``{field[name]}`` in a template: the contract's label of that field in one language."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def __getitem__(self, name: str) -> str:
        fields = load_contract(training=True).fields
        return fields[name].label_in(self.language) if name in fields else name


#: How a refusal of a whole row (not one field: a quote never closed, too many fields) names its column.
WHOLE_ROW = {"da": "(hele rækken)", "en": "(whole row)"}


def field_label(name: object, language: Language = "da", *, with_name: bool = False) -> str:
    """A column as a person reads it: the contract's label of the field in ``language``, else the name as given.

    With ``with_name``, Danish gives the label and the field's name (``alder (age)``: the name is what the
    files and the contract use) and English the name alone, as the command's summary does. A blank name
    (a refusal of the whole row) is :data:`WHOLE_ROW`.
    """
    text = "" if name is None or name != name else str(name)
    if not text.strip():
        return WHOLE_ROW["da" if language == "da" else "en"]
    spec = load_contract(training=True).fields.get(text)
    if spec is None:
        return text
    if with_name:
        return f"{spec.label_in(language)} ({text})" if language == "da" else text
    return spec.label_in(language)


def _shown(value: object, language: Language) -> object:
    if isinstance(value, Localised):
        return value.text(language)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return format_number(value, language, grouping=True)
    return value


def _filled(template: str, language: Language, params: dict[str, object]) -> str:
    shown = {key: _shown(value, language) for key, value in params.items()}
    return template.format(field=_FieldLabels(language), **shown)


def reason_text(kind: str, language: Language = "da", **params: object) -> str:
    """The sentence for a refusal reason in the chosen language.

    Parameters
    ----------
    kind : str
        A reason kind (a key of ``REASONS``), such as ``"out_of_range"``.
    language : {"da", "en"}, default "da"
    **params
        The facts the sentence names; numbers are written as ``language`` writes them.

    Returns
    -------
    str
    """
    danish, english = REASONS[kind]
    return _filled(danish if language == "da" else english, language, params)


def file_error_text(kind: str, language: Language = "da", **params: object) -> str:
    """The one line that says why a file was refused as a whole, with no CPR-shaped number in it.

    A ``kind`` not in ``FILE_ERRORS`` is taken as the message itself (as older callers gave it).
    """
    if kind in FILE_ERRORS:
        danish, english = FILE_ERRORS[kind]
        text = _filled(danish if language == "da" else english, language, params)
    else:
        text = kind
    return mask_cpr(" ".join(text.split("\n")).replace("\r", " "))


def accepted_codes(spec: Field) -> Localised:
    """What a code field accepts, for the ``unknown_code`` reason: the codes' names and the codes themselves.

    ``physical_load``: "stillesiddende, let, middel, hård (eller 1–4)"; a field whose
    codes have no name in a language lists the codes.
    """
    codes = list(spec.codes) or list(set(spec.labels.values()))
    whole = all(isinstance(code, numbers.Integral) for code in codes)
    codes = codes if spec.codes else sorted(codes, key=None if whole else str)
    if whole and codes and sorted(codes) == list(range(min(codes), max(codes) + 1)) and len(codes) > 2:
        listed = f"{min(codes)}–{max(codes)}"
    else:
        listed = ", ".join(str(code) for code in codes)

    def worded(language: Language, word: str) -> str:
        names = spec.code_names.get(language)
        if not names:
            return listed
        return f"{', '.join(str(names.get(code, code)) for code in codes)} ({word} {listed})"

    return Localised(da=worded("da", "eller"), en=worded("en", "or"))
