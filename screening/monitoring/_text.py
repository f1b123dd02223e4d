"""Words of the monitoring summary and page, in Danish (default) and English; periods as each language names them."""

from __future__ import annotations

import re

from screening.intake import format_number

MONTHS = {
    "da": ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}

TEXT: dict[str, dict[str, str]] = {
    "da": {
        "lang": "da",
        "title": "Overvågning af risikomodellen efter idriftsættelse",
        "subtitle": "Holder modellens risici stadig, nu hvor udfaldene kendes? Pr. {by} for modtagelse af skemaet, "
                    "risiko for fravær over {horizon} uger.",
        "by_month": "måned", "by_quarter": "kvartal",
        "verdict_retrain": "Genoptræning anbefales",
        "verdict_ok": "Ingen genoptræning nødvendig",
        "advice_retrain": "I {flagged} af {evaluable} perioder, der kan vurderes ({periods}), lå modellens "
                          "gennemsnitlige risiko {direction} den observerede andel med mere end tolerancen på "
                          "{tolerance} procentpoint, og hele 95 %-intervallet lå uden for tolerancen: det er ikke "
                          "tilfældig variation. Første markerede periode: {first}. Træn modellen igen på nye skemaer, "
                          "og lad promoveringsvagten afgøre, om den nye model må tage over.",
        "advice_ok": "I alle {evaluable} perioder, der kan vurderes, rører 95 %-intervallet for forskellen mellem "
                     "gennemsnitlig risiko og observeret andel tolerancen på {tolerance} procentpoint eller ligger "
                     "inden for den. Intet tyder på, at modellen er kommet ud af kalibrering.",
        "advice_pending": "{pending} af perioderne kan endnu ikke vurderes: deres skemaer kan ikke have nået {horizon} "
                          "uger, da udtrækket blev taget ({extraction}), eller de er for få.",
        "above": "over", "below": "under", "above_and_below": "over eller under",
        "subgroups_flagged": "Undergrupper, der i en enkelt periode afviger ud over tolerancen: {count} (se "
                             "tabellen over undergrupper). Med mange undergrupper kan en enkelt markering skyldes tilfældigheder; "
                             "de afgør ikke anbefalingen.",
        "facts": "Udtræk og model",
        "data": "Udtræk", "data_value": "{read} skemaer læst · {valid} gyldige · {refused} afvist · "
                                        "{undated} uden dato",
        "extraction": "Udtrukket", "model": "Model", "registered": "Registreret som",
        "tolerance": "Tolerance", "tolerance_value": "{tolerance} procentpoint på forskellen mellem gennemsnitlig "
                                                     "risiko og observeret andel",
        "bootstrap": "Usikkerhed", "bootstrap_value": "95 %-intervaller fra {n_boot} bootstrap-gentagelser over "
                                                      "skemaer",
        "trend": "Udviklingen pr. periode",
        "trend_hint": "Øverst: observeret andel med langt fravær (punkter med 95 %-interval) og modellens "
                      "gennemsnitlige risiko (linje). Nederst: forskellen, risiko minus observeret, med 95 %-interval; "
                      "det grå bånd er tolerancen. En periode markeres (rød), når hele intervallet ligger uden for "
                      "båndet.",
        "axis_rate": "andel over {horizon} uger",
        "axis_gap": "risiko − observeret",
        "periods": "Perioderne",
        "periods_hint": "Kun skemaer, der kunne nå {horizon} uger før udtrækket, tæller; skemaer afbrudt af andet "
                        "end udtrækket vægtes (IPCW). »Effektive skemaer« er antallet, tallene reelt hviler på.",
        "period": "Periode", "forms": "Skemaer", "effective": "Effektive skemaer ved {h} uger",
        "observed": "Observeret andel", "mean_risk": "Gns. risiko", "citl": "Risiko − observeret",
        "slope": "Kalibreringshældning", "auc": "AUC", "precision": "Præcision ved kapacitet",
        "status": "Status", "flagged": "markeret", "ok": "ok", "not_evaluable": "kan ikke vurderes endnu",
        "no_forms": "ingen skemaer", "over": "risici for høje", "under": "risici for lave",
        "subgroups": "Markerede undergrupper",
        "subgroups_hint": "Undergrupper (køn, aldersgruppe, diagnosegruppe, jobcenter) i en periode, hvis "
                          "95 %-interval for risiko minus observeret ligger helt uden for tolerancen. Grupper med "
                          "færre end {min_group} effektive skemaer vises ikke ({suppressed} gruppe-perioder "
                          "skjult).",
        "no_subgroups": "Ingen undergruppe er markeret.",
        "attribute": "Egenskab", "group": "Gruppe",
        "sex": "køn", "age_band": "aldersgruppe", "diagnosis_group": "diagnosegruppe", "jobcenter": "jobcenter",
        "validated": "Hvad modellen blev valideret til",
        "validated_hint": "Tallene gemt med modellen, målt på de nyeste skemaer, den ikke lærte af.",
        "validated_none": "Modellen har ingen gemte valideringstal for {horizon} uger.",
        "validated_forms": "Skemaer", "validated_gap": "Kalibreringsafstand |risiko − observeret|",
        "use": "Hvad værktøjet er til, og hvad det ikke er til",
        "use_text": "Modellen rangerer nye sygemeldte efter sandsynligheden for langt fravær, så jobcentrets "
                    "konsulent kan ringe til dem, der mest har brug for tidlig kontakt, først. Den rådgiver; den "
                    "afgør intet. Den må ikke bruges til at tildele, nægte eller nedsætte ydelser, til sanktioner "
                    "eller til at vurdere nogens troværdighed. Denne side er til dem, der fører tilsyn med værktøjet "
                    "(EU's AI-forordning, art. 72: overvågning efter markedsføring): den viser, om risiciene stadig "
                    "passer med virkeligheden, for hvem og siden hvornår. Den indeholder kun antal og andele; "
                    "ingen enkeltpersoner.",
        "footer": "Kun antal og andele; undergrupper under mindstestørrelsen er skjult.",
    },
    "en": {
        "lang": "en",
        "title": "Watching the risk model after deployment",
        "subtitle": "Do the model's risks still hold now that the outcomes are known? Per {by} of form receipt, "
                    "risk of an absence over {horizon} weeks.",
        "by_month": "month", "by_quarter": "quarter",
        "verdict_retrain": "Retraining advised",
        "verdict_ok": "No retraining needed",
        "advice_retrain": "In {flagged} of {evaluable} periods that can be judged ({periods}), the model's mean risk "
                          "was {direction} the observed rate by more than the tolerance of {tolerance} percentage "
                          "points, with the whole 95 % interval beyond it: not chance. First flagged period: {first}. "
                          "Retrain the model on recent forms and let the promotion guard decide whether the new "
                          "model may take over.",
        "advice_ok": "In all {evaluable} periods that can be judged, the 95 % interval of the difference between "
                     "mean risk and observed rate reaches into the tolerance of {tolerance} percentage points. "
                     "Nothing says the model has drifted out of calibration.",
        "advice_pending": "{pending} of the periods cannot be judged yet: their forms cannot have reached {horizon} weeks "
                          "when the extract was taken ({extraction}), or they are too few.",
        "above": "above", "below": "below", "above_and_below": "above or below",
        "subgroups_flagged": "Subgroups that differ beyond the tolerance in a single period: {count} (see the subgroup "
                             "table). "
                             "With many subgroups one flag can be chance; they do not decide the advice.",
        "facts": "Extract and model",
        "data": "Extract", "data_value": "{read} forms read · {valid} valid · {refused} refused · {undated} undated",
        "extraction": "Extracted", "model": "Model", "registered": "Registered as",
        "tolerance": "Tolerance", "tolerance_value": "{tolerance} percentage points on the difference between mean "
                                                     "risk and observed rate",
        "bootstrap": "Uncertainty", "bootstrap_value": "95 % intervals from {n_boot} bootstrap replicates over forms",
        "trend": "The trend per period",
        "trend_hint": "Top: observed rate of long absence (points with 95 % interval) and the model's mean risk "
                      "(line). Bottom: the difference, risk minus observed, with its 95 % interval; the grey band is "
                      "the tolerance. A period is flagged (red) when its whole interval lies outside the band.",
        "axis_rate": "share over {horizon} weeks",
        "axis_gap": "risk − observed",
        "periods": "The periods",
        "periods_hint": "Only forms that could reach {horizon} weeks before the extract count; forms cut short by "
                        "anything else are weighted (IPCW). “Effective forms” is how many the figures really rest on.",
        "period": "Period", "forms": "Forms", "effective": "Effective forms at {h} weeks",
        "observed": "Observed rate", "mean_risk": "Mean risk", "citl": "Risk − observed",
        "slope": "Calibration slope", "auc": "AUC", "precision": "Precision at capacity",
        "status": "Status", "flagged": "flagged", "ok": "ok", "not_evaluable": "cannot be judged yet",
        "no_forms": "no forms", "over": "risks too high", "under": "risks too low",
        "subgroups": "Flagged subgroups",
        "subgroups_hint": "Subgroups (sex, age band, diagnosis group, jobcenter) in a period whose 95 % interval of "
                          "risk minus observed lies wholly outside the tolerance. Groups with fewer than {min_group} "
                          "effective forms are not shown ({suppressed} group-periods suppressed).",
        "no_subgroups": "No subgroup is flagged.",
        "attribute": "Attribute", "group": "Group",
        "sex": "sex", "age_band": "age band", "diagnosis_group": "diagnosis group", "jobcenter": "jobcenter",
        "validated": "What the model was validated at",
        "validated_hint": "The figures stored with the model, measured on the newest forms it did not learn from.",
        "validated_none": "The model has no stored validation figures at {horizon} weeks.",
        "validated_forms": "Forms", "validated_gap": "Calibration gap |risk − observed|",
        "use": "What the tool is for, and what it is not for",
        "use_text": "The model ranks newly sick-listed workers by the probability of a long absence, so that the "
                    "jobcenter's consultant calls those most likely to need early contact first. It advises; it "
                    "decides nothing. It must not be used to grant, refuse or reduce benefits, to sanction, or to "
                    "judge anyone's credibility. This page is for those who oversee the tool (EU AI Act, Art. 72: "
                    "post-market monitoring): whether the risks still match what happens, for whom, and since when. "
                    "It holds counts and rates only; no person.",
        "footer": "Counts and rates only; subgroups below the minimum size are suppressed.",
    },
}


def period_name(label: str, language: str) -> str:
    """``2027-07`` as "juli 2027" / "July 2027", ``2027-Q3`` as "3. kvt. 2027" / "Q3 2027"."""
    month = re.fullmatch(r"(\d{4})-(\d{2})", label)
    if month:
        return f"{MONTHS[language][int(month.group(2)) - 1]} {month.group(1)}"
    quarter = re.fullmatch(r"(\d{4})-Q(\d)", label)
    if quarter:
        return f"{quarter.group(2)}. kvt. {quarter.group(1)}" if language == "da" else \
            f"Q{quarter.group(2)} {quarter.group(1)}"
    return label


def points(value: float, language: str, *, signed: bool = False) -> str:
    """A difference of rates in percentage points: ``+4,2`` (Danish) / ``+4.2``."""
    text = format_number(abs(value) * 100, language, decimals=1)
    return (("+" if value >= 0 else "−") + text) if signed else text


def percent(value: float, language: str) -> str:
    return f"{format_number(value * 100, language, decimals=1)} %"
