"""Why a value was refused, in words a consultant reads: Danish by default, English on request."""

from __future__ import annotations

from typing import Literal, get_args

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
        "case_id findes flere gange i filen; ingen af dem scores",
        "case_id appears more than once in the file; none of them is scored",
    ),
    "too_long": ("længere end {maximum} tegn", "longer than {maximum} characters"),
    "control_characters": ("indeholder kontroltegn", "contains control characters"),
    "start_after_received": (
        "sygemeldingen starter efter skemaet blev modtaget",
        "sick leave starts after the form was received",
    ),
    "weeks_disagree_with_dates": (
        "passer ikke med datoerne ({derived} uger fra sick_leave_start til form_received)",
        "disagrees with the dates ({derived} weeks from sick_leave_start to form_received)",
    ),
    "cannot_derive_weeks": (
        "mangler og kan ikke beregnes: kræver sick_leave_start og form_received",
        "missing and cannot be derived: needs sick_leave_start and form_received",
    ),
    "absence_shorter_than_form": (
        "kortere end sick_weeks da skemaet blev modtaget",
        "shorter than sick_weeks when the form was received",
    ),
    "unbalanced_quote": (
        'et citationstegn (") åbnet i rækken lukkes aldrig; rækken kan ikke læses',
        'a quote (") opened in this row is never closed; the row cannot be read',
    ),
    "malformed_row": (
        "rækken har {found} felter, men overskriften har {expected}",
        "the row has {found} fields but the header has {expected}",
    ),
}


def reason_text(kind: str, language: Language = "da", **params: object) -> str:
    """The sentence for a refusal reason in the chosen language."""
    danish, english = REASONS[kind]
    template = danish if language == "da" else english
    return template.format(**params) if params else template
