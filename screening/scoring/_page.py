"""The weekly page: one self-contained HTML file a consultant opens in a browser on Monday.

In this order:

1. the header: the week in numbers and, right under the title, how many forms
   were refused, linked to their section;
2. "Ring til disse i denne uge": the forms marked for contact this week
   (``contact_this_week``), per jobcenter, with risk, priority, reasons and the
   blank answers worth asking about in the call (``questions``, when the ranked
   list has them);
3. the early queue (forms received before 13 weeks of absence): the full ranked
   list with risk bars, sortable by any column and filterable by jobcenter
   (forms without one under "(uden jobcenter)");
4. the late queue ("Allerede sygemeldt i 13 uger eller mere"), apart: each risk
   is about the next horizon not yet reached and says so ("risiko for over 22
   uger"), never "100 %";
5. the refused forms, each field named in words (the contract's labels), with
   the validator's reasons;
6. the early queue's risk distribution, the drift panel (whatever the drift
   table holds, marked by its ``warning`` and ``level``), and the model's facts
   (version, training data, validation figures, intended use) written into the
   page: nothing links to a file beside it, so the page can be mailed.

Safe to open and to copy from:

* self-contained: inline CSS and JavaScript, an SVG chart, no fonts, images or
  scripts from anywhere; a Content-Security-Policy forbids every network request
  and runs only the page's own script (pinned by its SHA-256);
* every text from a file is HTML-escaped and shown as it is (the spreadsheet
  guard belongs to the CSV files, not to a page read by people);
* the same result gives the same bytes (no clock, no randomness).

A week of a million forms would make a page no browser opens: the lists show the
first :data:`MAX_ROWS` forms in working order (the first ranks of each jobcenter
when ranked per jobcenter, up to the same total), and say where the full list is.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from screening.intake import MAIN_HORIZON, field_label
from screening.scoring._rank import EARLY, PRIORITY_THRESHOLDS
from screening.scoring._types import QUESTION_PREFIX

MAX_ROWS = 5000
MAX_REFUSED = 5000
HISTOGRAM_BINS = 20  # 5 % wide

_M = MAIN_HORIZON
TEXT: dict[str, dict[str, str]] = {
    "da": {
        "lang": "da",
        "title": "Ugens screening af nye sygemeldte",
        "advice": "Listen er et råd til konsulenten, ikke en afgørelse.",
        "numbers": "{read} skemaer læst · {scored} scoret · {refused} afvist",
        "queues": f"{{early}} sygemeldt under {_M} uger · {{late}} allerede sygemeldt i {_M} uger eller mere",
        "contacts": "{contacts} markeret til kontakt i denne uge",
        "refused_link_one": "1 skema er afvist og ikke scoret: se afsnittet »Afviste skemaer«",
        "refused_link_many": "{count} skemaer er afvist og ikke scoret: se afsnittet »Afviste skemaer«",
        "input": "Fil",
        "received": "skemaer modtaget {first}–{last}",
        "calls": "Ring til disse i denne uge",
        "calls_hint": f"De første {{capacity}} i køen af sygemeldte under {_M} uger{{per}} er markeret til kontakt. "
                      "Årsagerne forklarer risikoen (↑ øger den, ↓ mindsker den).",
        "questions_hint": "»Spørg til« er blanke svar på skemaet, der er værd at få med i samtalen.",
        "calls_per": " i hvert jobcenter",
        "calls_shown": "Viser {shown} af {total} markerede; alle står i {output}.",
        "no_capacity": "Der er ikke angivet, hvor mange der kan ringes til i denne uge (kapacitet), så ingen er "
                       "markeret. Ring først til dem øverst i listen nedenfor.",
        "no_calls": "Ingen skemaer er markeret til kontakt i denne uge.",
        "to_call": "{count} at ringe til",
        "questions": "Spørg til",
        "early": f"Sygemeldt under {_M} uger: prioriteret liste",
        "early_hint": "Alle scorede skemaer i denne kø, i den rækkefølge der skal ringes. Klik på en "
                      "kolonneoverskrift for at sortere. ↑ øger risikoen, ↓ mindsker den.",
        "late": f"Allerede sygemeldt i {_M} uger eller mere",
        "late_hint": f"Skemaet kom efter {_M} ugers sygefravær. De følger den almindelige opfølgning "
                     "(revurdering ved uge 22) og tager ingen kontaktplads. Risikoen gælder den næste grænse, "
                     "de endnu ikke har passeret, og årsagerne forklarer den.",
        "no_early": f"Ingen skemaer kom før {_M} ugers sygefravær.",
        "no_late": f"Ingen skemaer kom efter {_M} ugers sygefravær.",
        "shown": "Viser de første {shown} af {total}; hele listen står i {output}.",
        "no_scored": "Ingen skemaer blev scoret.",
        "filter": "Jobcenter", "all": "Alle", "no_jobcenter": "(uden jobcenter)",
        "rank": "Nr.", "case_id": "Sags-id", "jobcenter": "Jobcenter", "risk": f"Risiko for over {_M} uger",
        "late_risk": "Risiko", "horizon_risk": "risiko for over {weeks} uger",
        "no_horizon": "ingen risiko beregnet: sygemeldt i 52 uger eller mere",
        "priority": "Prioritet", "contact": "Kontakt denne uge", "reasons": "Årsager",
        "high": "høj", "medium": "mellem", "low": "lav", "none": "–", "yes": "ja", "no": "nej",
        "refused": "Afviste skemaer",
        "refused_hint": "Disse skemaer er ikke scoret og står ikke i listerne ovenfor. Ret dem i sagssystemet, "
                        "og send dem igen.",
        "refused_shown": "Viser de første {shown} af {total} afvisninger; alle står i {output}.",
        "no_refused": "Ingen skemaer blev afvist.",
        "row": "Række", "column": "Felt", "value": "Værdi", "reason": "Årsag",
        "distribution": "Ugens risikofordeling",
        "distribution_hint": f"Skemaer sygemeldt under {_M} uger efter risiko for fravær over {_M} uger. "
                             "Stregerne er grænserne for mellem ({medium}) og høj ({high}) prioritet.",
        "axis": f"risiko for fravær over {_M} uger",
        "drift": "Ændringer i forhold til træningsdata",
        "drift_hint": "Ugens skemaer sammenlignet felt for felt med dem, modellen er trænet på. Et felt markeret "
                      "⚠ adskiller sig mere, end ugens antal skemaer kan forklare: læs listen med ekstra omhu.",
        "no_drift": "Modellen har ingen gemt reference for træningsdata, så ændringer kan ikke måles.",
        "input_field": "Felt", "psi": "PSI", "p_value": "p-værdi", "p_adjusted": "p-værdi (korrigeret)",
        "n": "Skemaer", "level": "Vurdering", "blank_share_now": "Tomme nu",
        "blank_share_training": "Tomme i træning",
        "stable": "ingen sikker ændring", "moderate": "moderat ændring", "shift": "tydelig ændring", "no forms": "ingen skemaer",
        "not in file": "ikke i ugens fil",
        "model_section": "Om modellen",
        "model": "Model", "checksum": "Kontrolsum", "family": "Modeltype", "trained": "Trænet",
        "period": "Træningsperiode", "period_value": "skemaer modtaget {first} – {last}",
        "training_data": "Træningsdata",
        "training_size": "{valid} skemaer: de {train} ældste til at lære og kalibrere, de {test} nyeste holdt "
                         "ude til validering",
        "training_size_plain": "{valid} skemaer",
        "validation": "Validering",
        "validation_on": f"på {{forms}} nyeste skemaer, risiko for over {_M} uger",
        "auc": "AUC (evne til at rangere: 0,5 er tilfældigt, 1 er perfekt)",
        "brier": "Brier-score (lavere er bedre)",
        "ece": "Kalibreringsfejl, ECE (forskel på forudsagt og observeret risiko)",
        "calibration_slope": "Kalibreringshældning (1 er ideelt)",
        "mean_vs_observed": "Gennemsnitlig forudsagt risiko / observeret andel",
        "recall_at_capacity": "Andel af de langvarigt sygemeldte, der var blandt de markerede",
        "precision_at_capacity": "Andel af de markerede, der blev langvarigt sygemeldt",
        "no_validation": "Ingen valideringstal er gemt med modellen.",
        "use": "Tilsigtet brug",
        "use_text": "Beslutningsstøtte til jobcentrets fastholdelseskonsulent: ugens skemaer rangeres efter "
                    f"sandsynligheden for, at fraværet varer mere end {_M} uger fra første sygedag, så de, der "
                    "mest har brug for tidlig kontakt, ringes op først. Modellen rådgiver; den afgør intet. Den må "
                    "ikke bruges til at tildele, nægte eller nedsætte ydelser, til sanktioner eller til at vurdere "
                    "nogens troværdighed. Alle på listen kan stadig kontaktes.",
        "limits": "Begrænsninger",
        "limits_text": "Svarene er personens egne, og modellen er kun kontrolleret på de data, den er trænet og "
                       "valideret på. Et jobcenter med en anden befolkning bør tjekke kalibreringen på egne "
                       "skemaer; "
                       "ændringspanelet ovenfor advarer, når ugens skemaer afviger fra træningsdata.",
        "card": "Modelkort",
        "card_text": "Det fulde modelkort (på engelsk) er filen {card} i modelmappen.",
        "additive": "additiv (årsagerne er modellens egne led)",
        "boosted": "boostede beslutningstræer (årsagerne er skønnede bidrag)",
    },
    "en": {
        "lang": "en",
        "title": "This week's screening of newly sick-listed workers",
        "advice": "The list advises the consultant; it decides nothing.",
        "numbers": "{read} forms read · {scored} scored · {refused} refused",
        "queues": f"{{early}} off sick under {_M} weeks · {{late}} already off sick {_M} weeks or more",
        "contacts": "{contacts} marked for contact this week",
        "refused_link_one": "1 form was refused and not scored: see “Refused forms”",
        "refused_link_many": "{count} forms were refused and not scored: see “Refused forms”",
        "input": "File",
        "received": "forms received {first} – {last}",
        "calls": "Call these this week",
        "calls_hint": f"The first {{capacity}} of the queue of those off sick under {_M} weeks{{per}} are marked "
                      "for contact. The reasons explain the risk (↑ raises it, ↓ lowers it).",
        "questions_hint": "“Ask about” lists blank answers on the form worth covering in the call.",
        "calls_per": " in each jobcenter",
        "calls_shown": "Showing {shown} of {total} marked forms; all of them are in {output}.",
        "no_capacity": "No capacity was given for this week's calls, so no form is marked. Call those at the top "
                       "of the list below first.",
        "no_calls": "No form is marked for contact this week.",
        "to_call": "{count} to call",
        "questions": "Ask about",
        "early": f"Off sick under {_M} weeks: ranked list",
        "early_hint": "Every scored form in this queue, in the order to call. Click a column heading to sort. "
                      "↑ raises the risk, ↓ lowers it.",
        "late": f"Already off sick {_M} weeks or more",
        "late_hint": f"The form arrived after {_M} weeks of absence. They follow the standard follow-up "
                     "(reassessment at week 22) and take no contact slot. The risk is about the next horizon they "
                     "have not reached, and the reasons explain it.",
        "no_early": f"No form arrived before {_M} weeks of absence.",
        "no_late": f"No form arrived after {_M} weeks of absence.",
        "shown": "Showing the first {shown} of {total}; the full list is in {output}.",
        "no_scored": "No form was scored.",
        "filter": "Jobcenter", "all": "All", "no_jobcenter": "(no jobcenter)",
        "rank": "Rank", "case_id": "Case id", "jobcenter": "Jobcenter", "risk": f"Risk of over {_M} weeks",
        "late_risk": "Risk", "horizon_risk": "risk of over {weeks} weeks",
        "no_horizon": "no risk: off sick 52 weeks or more",
        "priority": "Priority", "contact": "Contact this week", "reasons": "Reasons",
        "high": "high", "medium": "medium", "low": "low", "none": "–", "yes": "yes", "no": "no",
        "refused": "Refused forms",
        "refused_hint": "These forms were not scored and are not in the lists above. Correct them in the case "
                        "system and send them again.",
        "refused_shown": "Showing the first {shown} of {total} refusals; all of them are in {output}.",
        "no_refused": "No form was refused.",
        "row": "Row", "column": "Field", "value": "Value", "reason": "Reason",
        "distribution": "This week's risk distribution",
        "distribution_hint": f"Forms off sick under {_M} weeks by their risk of an absence over {_M} weeks. The "
                             "lines are the bounds of medium ({medium}) and high ({high}) priority.",
        "axis": f"risk of an absence over {_M} weeks",
        "drift": "Drift against the training data",
        "drift_hint": "This week's forms compared field by field with those the model learnt from. A field marked ⚠ "
                      "differs more than the week's number of forms explains: read the list with extra care.",
        "no_drift": "The model has no stored reference of its training data, so drift cannot be measured.",
        "input_field": "Field", "psi": "PSI", "p_value": "p-value", "p_adjusted": "p-value (adjusted)",
        "n": "Forms", "level": "Reading", "blank_share_now": "Blank now", "blank_share_training": "Blank in training",
        "stable": "no clear change", "moderate": "moderate shift", "shift": "clear shift", "no forms": "no forms",
        "not in file": "not in this week's file",
        "model_section": "About the model",
        "model": "Model", "checksum": "Checksum", "family": "Model type", "trained": "Trained",
        "period": "Training period", "period_value": "forms received {first} – {last}",
        "training_data": "Training data",
        "training_size": "{valid} forms: the {train} oldest to learn and calibrate, the {test} newest held out "
                         "for validation",
        "training_size_plain": "{valid} forms",
        "validation": "Validation",
        "validation_on": f"on the {{forms}} newest forms, risk of over {_M} weeks",
        "auc": "AUC (ranking: 0.5 is chance, 1 is perfect)",
        "brier": "Brier score (lower is better)",
        "ece": "Calibration error, ECE (predicted against observed risk)",
        "calibration_slope": "Calibration slope (1 is ideal)",
        "mean_vs_observed": "Mean predicted risk / observed share",
        "recall_at_capacity": "Share of the long absences that were among the marked forms",
        "precision_at_capacity": "Share of the marked forms that became long absences",
        "no_validation": "No validation figures are stored with the model.",
        "use": "Intended use",
        "use_text": "Decision support for a jobcenter's job-retention consultant: the week's forms are ranked by "
                    f"the probability that the absence lasts more than {_M} weeks from the first sick day, so those "
                    "most likely to need early contact are called first. The model advises; it decides nothing. It "
                    "must not be used to grant, refuse or reduce benefits, to sanction, or to judge anyone's "
                    "credibility. Everyone on the list can still be called.",
        "limits": "Limits",
        "limits_text": "The answers are the person's own, and the model has been checked only on the data it was "
                       "trained and validated on. A jobcenter with another population should check calibration on "
                       "its own forms; the drift panel above warns when this week's forms differ from the training "
                       "data.",
        "card": "Model card",
        "card_text": "The full model card is the file {card} in the model directory.",
        "additive": "additive (the reasons are the model's own terms)",
        "boosted": "boosted trees (the reasons are estimated contributions)",
    },
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header,section,footer{max-width:1200px;margin:0 auto;padding:10px 20px}
header{background:#fff;border-bottom:1px solid #d8dde3;max-width:none;padding:12px max(20px,calc(50% - 600px))}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1.1em 0 .4em}
header p{margin:.3em 0}p.hint{color:#4a5663;margin:.2em 0 .6em}
a.refused-link{color:#a12a1d;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}
th,td{border-bottom:1px solid #e3e7eb;padding:5px 7px;text-align:left;vertical-align:top}
th{background:#eef1f4;position:sticky;top:0;z-index:1}
table.sortable thead th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
tr.group th{background:#dfe7ef;position:static;font-size:1.02em}
#calls{border-left:4px solid #2a6fb0}
td.id,td.risk .pct,.badge,td.num{white-space:nowrap}td.jobcenter,td.value{overflow-wrap:anywhere}
td.risk{white-space:nowrap}.horizon{display:block;color:#4a5663;font-size:.85em;white-space:normal}
.bar{background:#e3e7eb;width:90px;height:10px;display:inline-block;margin-right:6px;vertical-align:middle}
.bar span{display:block;height:10px;background:#2a6fb0}
.high .bar span{background:#b03a2e}.medium .bar span{background:#c98a1a}
.badge{border-radius:3px;padding:1px 6px;font-size:.85em}
.badge.high{background:#f6d5d1;color:#7d2218}.badge.medium{background:#f8e6c4;color:#6b4a0c}
.badge.low{background:#dde9f3;color:#1e4b72}.badge.none{background:#eceff2;color:#4a5663}
.refused td{background:#fff6f5}.warn{color:#a12a1d;font-weight:600}
td.reasons,td.questions{min-width:240px;max-width:520px}.num{text-align:right;font-variant-numeric:tabular-nums}
table.facts th{position:static;width:32%;font-weight:600;background:#f3f5f7}
svg{max-width:100%;height:auto}svg text{font-size:11px;fill:#4a5663}
footer{color:#4a5663;font-size:.9em;padding-bottom:30px}
@media (max-width:900px){td.reasons,td.questions{min-width:180px}.bar{width:50px}}
"""

SCRIPT = """
(function(){
  var errors=[];window.addEventListener('error',function(e){errors.push(String(e.message));
    document.body.setAttribute('data-errors',JSON.stringify(errors));});
  function sortable(table){
    var body=table.tBodies[0],heads=table.tHead.rows[0].cells;
    function key(row,i,numeric){var v=row.cells[i].getAttribute('data-sort');if(v===null)v=row.cells[i].textContent;
      return numeric?parseFloat(v):v;}
    function sortBy(i,dir){var numeric=heads[i].getAttribute('data-type')==='num';
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=key(a,i,numeric),y=key(b,i,numeric);
        var c=numeric?(x-y):(x<y?-1:(x>y?1:0));if(c===0){return parseInt(a.getAttribute('data-order'))-
        parseInt(b.getAttribute('data-order'));}return dir==='ascending'?c:-c;});
      for(var j=0;j<heads.length;j++)heads[j].removeAttribute('aria-sort');heads[i].setAttribute('aria-sort',dir);
      var fragment=document.createDocumentFragment();rows.forEach(function(r){fragment.appendChild(r);});
      body.appendChild(fragment);}
    for(var i=0;i<heads.length;i++){(function(i){heads[i].addEventListener('click',function(){
      var now=heads[i].getAttribute('aria-sort');
      sortBy(i,now==='ascending'?'descending':
        (now==='descending'?'ascending':heads[i].getAttribute('data-first')||'ascending'));
    });})(i);}
    return sortBy;}
  var sorters={};
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'),function(t){sorters[t.id]=sortable(t);});
  var filter=document.getElementById('jobcenter-filter');
  if(filter){filter.addEventListener('change',function(){var v=filter.value;
    Array.prototype.forEach.call(document.querySelectorAll('table.filterable tbody tr'),function(r){
      r.hidden=(v!=='all'&&r.getAttribute('data-jobcenter')!==v);});});}
  window.screeningPage={sorters:sorters,errors:errors};
  document.body.setAttribute('data-ready','1');
})();
"""


def _blank(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _e(text: object) -> str:
    """A value from a file, HTML-escaped and otherwise as it is (blank for a missing value)."""
    return html.escape("" if _blank(text) else str(text), quote=True)


def _number(value: float, language: str, decimals: int = 1) -> str:
    text = f"{value:,.{decimals}f}"
    if language == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _count(value: int, language: str) -> str:
    return _number(value, language, 0)


def _percent(risk: float, language: str) -> str:
    """A share as a percentage with one decimal; a risk that would read "100,0 %" reads "> 99,9 %"."""
    if risk * 100 >= 99.95:
        return f"> {_number(99.9, language)} %"
    return f"{_number(risk * 100, language)} %"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def model_facts(model: Any) -> dict[str, Any]:
    """What the page tells about a model, from its ``metadata.json`` (no drift reference, nothing personal).

    Parameters
    ----------
    model : ScreeningModel or mapping
        A loaded model, or its metadata.

    Returns
    -------
    dict
        ``version``, ``family``, ``created``, ``data`` (training file counts and,
        if stored, form dates), ``evaluation`` (``metrics`` and ``forms``), and
        ``card`` (the model card's file name when the model directory has one);
        each only when known.
    """
    metadata = getattr(model, "metadata", model) or {}
    facts: dict[str, Any] = {key: metadata[key] for key in ("version", "family", "created") if key in metadata}
    data = metadata.get("data") or {}
    kept = ("rows_read", "rows_valid", "train_forms", "test_forms", "first_form_date", "last_form_date")
    if any(key in data for key in kept):
        facts["data"] = {key: data[key] for key in kept if key in data}
    evaluation = metadata.get("evaluation") or {}
    if evaluation.get("metrics"):
        notes = evaluation.get("notes") or {}
        facts["evaluation"] = {"metrics": {key: value for key, value in evaluation["metrics"].items()
                                           if isinstance(value, (int, float))},
                               "forms": notes.get("forms"), "horizon": notes.get("horizon")}
    card = getattr(model, "card_path", None)
    if card is not None:
        facts["card"] = card.name
    return facts


@dataclass
class PageContent:
    """What the page shows: the first rows of the ranked list and of the refusals, counts of all, the model's facts.

    A batch too big to hold in memory keeps only these (see ``_file``);
    :meth:`of` takes them from a :class:`~screening.scoring.ScoreResult`.
    """

    summary: dict[str, Any]
    drift: pd.DataFrame | None
    ranked_head: pd.DataFrame
    ranked_rows: int
    groups: int
    refused_head: pd.DataFrame
    refused_lines: int
    refused_forms: int
    risk_counts: np.ndarray
    model: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, result: Any, *, model: Any = None) -> PageContent:
        """The page's content of a :class:`~screening.scoring.ScoreResult` (``model``: its facts on the page)."""
        ranked, refused = result.ranked, result.refused
        groups = ranked["jobcenter"].nunique(dropna=False) if "jobcenter" in ranked else 1
        early = _queue_mask(ranked, EARLY)
        counts = np.histogram(ranked.loc[early, "risk"].to_numpy(dtype=np.float64), bins=HISTOGRAM_BINS,
                              range=(0.0, 1.0))[0]
        return cls(summary=result.summary, drift=result.drift, ranked_head=ranked, ranked_rows=len(ranked),
                   groups=int(groups), refused_head=refused.head(MAX_REFUSED), refused_lines=len(refused),
                   refused_forms=int(refused["row"].nunique()) if len(refused) else 0, risk_counts=counts,
                   model=model_facts(model) if model is not None else {})


def _queue_mask(ranked: pd.DataFrame, queue: str) -> np.ndarray:
    """Rows of ``ranked`` in ``queue`` (a list without queues is all early)."""
    if "queue" not in ranked.columns:
        return np.full(len(ranked), queue == EARLY)
    return (ranked["queue"].astype(object) == queue).to_numpy(dtype=bool)


def rows_shown_per_group(rows: int, groups: int, per: str | None) -> int | None:
    """With ``per="jobcenter"``, how many forms of each jobcenter's queue the page shows (None: the first MAX_ROWS).

    Ranks restart in each queue of each jobcenter: the page keeps as many ranks of each, up to MAX_ROWS in all.
    """
    if rows <= MAX_ROWS or per != "jobcenter":
        return None
    return max(MAX_ROWS // max(2 * groups, 1), 1)


def _shown_rows(content: PageContent, per: str | None) -> pd.DataFrame:
    ranked = content.ranked_head
    if content.ranked_rows <= MAX_ROWS:
        return ranked
    per_group = rows_shown_per_group(content.ranked_rows, content.groups, per)
    if per_group is not None and "jobcenter" in ranked:
        return ranked[ranked["rank"] <= per_group]
    return ranked.head(MAX_ROWS)


def _jobcenter_key(value: object) -> str:
    """The filter's value for a jobcenter (``none`` for a form without one); never collides with ``all``."""
    return "none" if _blank(value) else "jc:" + str(value)


def _risk_cell(risk: object, priority: str, language: str, t: dict[str, str], *, horizon: object = None,
               late: bool = False) -> str:
    if _blank(risk):
        return f'<td class="risk" data-sort="-1"><span class="horizon">{html.escape(t["no_horizon"])}</span></td>'
    value = float(risk)
    label = ""
    if late and not _blank(horizon):
        label = f'<span class="horizon">{html.escape(t["horizon_risk"].format(weeks=int(horizon)))}</span>'
    percent = html.escape(_percent(value, language))
    return (f'<td class="risk {priority}" data-sort="{value:.4f}"><span class="bar"><span style="width:'
            f'{value * 100:.1f}%"></span></span><span class="pct">{percent}</span>{label}</td>')


def _priority_cell(priority: str, t: dict[str, str]) -> str:
    order = {"high": 0, "medium": 1, "low": 2}
    name = priority if priority in order else "none"
    return (f'<td data-sort="{order.get(priority, 3)}"><span class="badge {name}">'
            f"{html.escape(t.get(name, priority))}</span></td>")


def _lines(text: object, css: str) -> str:
    """Reasons or questions (joined by ``"; "``) one to a line; the questions' prefix is the column's heading."""
    text = "" if _blank(text) else str(text)
    for prefix in QUESTION_PREFIX.values():
        text = text.removeprefix(prefix)
    parts = [part for part in text.split("; ") if part]
    return f'<td class="{css}">{"<br>".join(_e(part) for part in parts)}</td>'


def _priority(row: Any) -> str:
    value = getattr(row, "priority", None)
    return "" if _blank(value) else str(value)


def _calls_section(content: PageContent, t: dict[str, str], language: str, *, output_name: str) -> str:
    summary = content.summary
    parts = [f'<section id="calls-section"><h2>{html.escape(t["calls"])}</h2>']
    ranked = content.ranked_head
    capacity = summary.get("capacity")
    if content.ranked_rows == 0:
        parts.append(f'<p class="hint">{html.escape(t["no_scored"])}</p></section>')
        return "".join(parts)
    if capacity is None or "contact_this_week" not in ranked.columns:
        parts.append(f'<p class="hint">{html.escape(t["no_capacity"])}</p></section>')
        return "".join(parts)
    per = t["calls_per"] if summary.get("per") == "jobcenter" else ""
    with_questions = "questions" in ranked.columns
    hint = t["calls_hint"].format(capacity=_count(capacity, language), per=per)
    hint += " " + t["questions_hint"] if with_questions else ""
    parts.append(f'<p class="hint">{html.escape(hint)}</p>')
    marked = ranked[ranked["contact_this_week"].fillna(False).astype(bool).to_numpy()]
    if len(marked) == 0:
        parts.append(f'<p class="hint">{html.escape(t["no_calls"])}</p></section>')
        return "".join(parts)
    total = summary.get("contacts")
    if isinstance(total, int) and total > len(marked):
        note = t["calls_shown"].format(shown=_count(len(marked), language), total=_count(total, language),
                                       output=output_name or "CSV")
        parts.append(f'<p class="hint warn">{html.escape(note)}</p>')
    heads = ["rank", "case_id", "risk", "priority", "reasons"] + (["questions"] if with_questions else [])
    parts.append('<table id="calls"><thead><tr>')
    parts += [f'<th data-key="{name}">{html.escape(t[name])}</th>' for name in heads]
    parts.append("</tr></thead><tbody>")
    if "jobcenter" in marked.columns:
        keys = marked["jobcenter"].astype(object)
        names = sorted({str(name) for name in keys if not _blank(name)})
        groups = [(name, marked[(keys == name).to_numpy()]) for name in names]
        without = marked[keys.map(_blank).to_numpy(dtype=bool)]
        if len(without):
            groups.append((None, without))
    else:
        groups = [(False, marked)]
    for name, rows in groups:
        key = _jobcenter_key(name)
        if name is not False:
            title = f'{t["no_jobcenter"] if name is None else name} · ' \
                    f'{t["to_call"].format(count=_count(len(rows), language))}'
            parts.append(f'<tr class="group" data-jobcenter="{_e(key)}"><th colspan="{len(heads)}">'
                         f"{html.escape(title)}</th></tr>")
        for row in rows.itertuples(index=False):
            priority = _priority(row)
            cells = [f'<td class="num">{int(row.rank)}</td>', f'<td class="id">{_e(row.case_id)}</td>',
                     _risk_cell(row.risk, priority, language, t), _priority_cell(priority, t),
                     _lines(row.reasons, "reasons")]
            if with_questions:
                cells.append(_lines(row.questions, "questions"))
            jobcenter = f' data-jobcenter="{_e(key)}"' if name is not False else ""
            parts.append(f'<tr class="call"{jobcenter}>{"".join(cells)}</tr>')
    parts.append("</tbody></table></section>")
    return "".join(parts)


def _queue_table(rows: pd.DataFrame, table_id: str, t: dict[str, str], language: str, *, late: bool,
                 with_jobcenter: bool, with_contact: bool, first_order: int) -> str:
    heads = [("rank", "num", "ascending"), ("case_id", "text", "ascending")]
    if with_jobcenter:
        heads.append(("jobcenter", "text", "ascending"))
    heads += [("late_risk" if late else "risk", "num", "descending"), ("priority", "num", "ascending")]
    if with_contact:
        heads.append(("contact", "text", "descending"))
    heads.append(("reasons", "text", "ascending"))
    parts = [f'<table id="{table_id}" class="sortable filterable"><thead><tr>']
    parts += [f'<th data-key="{"risk" if name == "late_risk" else name}" data-type="{kind}" data-first="{first}">'
              f"{html.escape(t[name])}</th>" for name, kind, first in heads]
    parts.append("</tr></thead><tbody>")
    contact = rows["contact_this_week"] if with_contact else None
    for offset, row in enumerate(rows.itertuples(index=False)):
        priority = _priority(row)
        cells = [f'<td class="num" data-sort="{int(row.rank)}">{int(row.rank)}</td>',
                 f'<td class="id">{_e(row.case_id)}</td>']
        jobcenter = getattr(row, "jobcenter", None)
        if with_jobcenter:
            cells.append(f'<td class="jobcenter">{_e(jobcenter)}</td>')
        cells.append(_risk_cell(row.risk, priority, language, t, horizon=getattr(row, "horizon", None), late=late))
        cells.append(_priority_cell(priority, t))
        if with_contact:
            marked = contact.iloc[offset]
            cells.append(f"<td>{'' if _blank(marked) else html.escape(t['yes' if bool(marked) else 'no'])}</td>")
        cells.append(_lines(row.reasons, "reasons"))
        attribute = f' data-jobcenter="{_e(_jobcenter_key(jobcenter))}"' if with_jobcenter else ""
        parts.append(f'<tr data-order="{first_order + offset}"{attribute}>{"".join(cells)}</tr>')
    parts.append("</tbody></table>")
    return "".join(parts)


def _queue_totals(content: PageContent) -> dict[str, int]:
    counts = content.summary.get("queue_counts")
    if counts:
        return {name: int(value) for name, value in counts.items()}
    early = int(_queue_mask(content.ranked_head, EARLY).sum())
    return {"early": early, "late": content.ranked_rows - early}


def _queue_sections(content: PageContent, t: dict[str, str], language: str, *, per: str | None,
                    output_name: str) -> str:
    ranked = content.ranked_head
    shown = _shown_rows(content, per)
    with_jobcenter = "jobcenter" in ranked.columns
    with_contact = content.summary.get("capacity") is not None and "contact_this_week" in ranked.columns
    totals = _queue_totals(content)
    early_mask = _queue_mask(shown, EARLY)
    queues = (("early", shown[early_mask], False), ("late", shown[~early_mask], True))
    parts = []
    order = 0
    for queue, rows, late in queues:
        parts.append(f'<section id="{queue}-section"><h2>{html.escape(t[queue])}</h2>')
        if late:
            parts.append(f'<p class="hint">{html.escape(t["late_hint"])}</p>')
        if content.ranked_rows == 0:
            parts.append(f'<p class="hint">{html.escape(t["no_scored"])}</p></section>')
            continue
        if not late:
            parts.append(f'<p class="hint">{html.escape(t["early_hint"])}</p>')
            if with_jobcenter:
                parts.append(_jobcenter_filter(shown, t))
        total = totals.get(queue, len(rows))
        if total == 0:
            parts.append(f'<p class="hint">{html.escape(t["no_late" if late else "no_early"])}</p></section>')
            continue
        if len(rows) < total:
            note = t["shown"].format(shown=_count(len(rows), language), total=_count(total, language),
                                     output=output_name or "CSV")
            parts.append(f'<p class="hint warn">{html.escape(note)}</p>')
        parts.append(_queue_table(rows, "ranked" if queue == "early" else "late", t, language, late=late,
                                  with_jobcenter=with_jobcenter, with_contact=with_contact and not late,
                                  first_order=order))
        parts.append("</section>")
        order += len(rows)
    return "".join(parts)


def _jobcenter_filter(shown: pd.DataFrame, t: dict[str, str]) -> str:
    values = shown["jobcenter"].astype(object)
    names = sorted({str(name) for name in values if not _blank(name)})
    options = [f'<option value="all">{html.escape(t["all"])}</option>']
    options += [f'<option value="{_e(_jobcenter_key(name))}">{_e(name)}</option>' for name in names]
    if values.map(_blank).any():
        options.append(f'<option value="none">{html.escape(t["no_jobcenter"])}</option>')
    return (f'<p><label for="jobcenter-filter">{html.escape(t["filter"])}: </label>'
            f'<select id="jobcenter-filter">{"".join(options)}</select></p>')


def _refused_section(content: PageContent, t: dict[str, str], language: str, rejects_name: str) -> str:
    refused = content.refused_head
    parts = [f'<section id="refused-section"><h2>{html.escape(t["refused"])} '
             f'({_count(content.refused_forms, language)})</h2>']
    if content.refused_lines == 0:
        parts.append(f'<p class="hint">{html.escape(t["no_refused"])}</p></section>')
        return "".join(parts)
    parts.append(f'<p class="hint">{html.escape(t["refused_hint"])}</p>')
    if content.refused_lines > MAX_REFUSED:
        note = t["refused_shown"].format(shown=_count(MAX_REFUSED, language),
                                         total=_count(content.refused_lines, language),
                                         output=rejects_name or "CSV")
        parts.append(f'<p class="hint warn">{html.escape(note)}</p>')
    parts.append('<table id="refused" class="refused"><thead><tr>')
    parts += [f"<th>{html.escape(t[name])}</th>" for name in ("row", "case_id", "column", "value", "reason")]
    parts.append("</tr></thead><tbody>")
    for row in refused.head(MAX_REFUSED).itertuples(index=False):
        column = _capitalised(field_label(row.column, language))  # a whole row: "(hele rækken)"
        parts.append(f'<tr><td class="num">{int(row.row)}</td><td class="id">{_e(row.case_id)}</td>'
                     f'<td>{_e(column)}</td><td class="value">{_e(row.value)}</td><td>{_e(row.reason)}</td></tr>')
    parts.append("</tbody></table></section>")
    return "".join(parts)


def _histogram(counts: np.ndarray, t: dict[str, str], language: str) -> str:
    width, height, left, bottom = 640, 220, 48, 30
    plot_w, plot_h = width - left - 28, height - bottom - 10
    top = max(int(counts.max()) if len(counts) else 0, 1)
    bar_w = plot_w / HISTOGRAM_BINS
    parts = [f'<svg id="distribution" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{html.escape(t["distribution"])}</title>']
    for k, count in enumerate(counts):
        h = plot_h * count / top
        x = left + k * bar_w
        parts.append(f'<rect x="{x + 1:.1f}" y="{10 + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                     f'fill="#2a6fb0"><title>{k * 5}–{(k + 1) * 5} %: {_count(int(count), language)}</title></rect>')
    for threshold, colour in ((PRIORITY_THRESHOLDS["medium"], "#c98a1a"), (PRIORITY_THRESHOLDS["high"], "#b03a2e")):
        x = left + plot_w * threshold
        parts.append(f'<line x1="{x:.1f}" y1="10" x2="{x:.1f}" y2="{10 + plot_h}" stroke="{colour}" '
                     'stroke-width="2" stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{left}" y1="{10 + plot_h}" x2="{left + plot_w}" y2="{10 + plot_h}" stroke="#4a5663"/>')
    for tick in range(0, 101, 25):
        x = left + plot_w * tick / 100
        parts.append(f'<text x="{x:.1f}" y="{10 + plot_h + 14}" text-anchor="middle">{tick} %</text>')
    parts.append(f'<text x="{left - 6}" y="16" text-anchor="end">{_count(top, language)}</text>')
    parts.append(f'<text x="{left - 6}" y="{10 + plot_h}" text-anchor="end">0</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 2}" text-anchor="middle">'
                 f'{html.escape(t["axis"])}</text></svg>')
    return "".join(parts)


def _distribution_section(counts: np.ndarray, t: dict[str, str], language: str) -> str:
    hint = t["distribution_hint"].format(medium=_percent(PRIORITY_THRESHOLDS["medium"], language),
                                         high=_percent(PRIORITY_THRESHOLDS["high"], language))
    return (f'<section id="distribution-section"><h2>{html.escape(t["distribution"])}</h2>'
            f'<p class="hint">{html.escape(hint)}</p>{_histogram(counts, t, language)}</section>')


#: Drift columns the page shows, in order, and how (the rest of a scalar kind is shown as it is).
_DRIFT_SHOWN = {"input": "field", "psi": "number", "p_adjusted": "p", "n": "count", "level": "level",
                "blank_share_now": "share", "blank_share_training": "share"}
_DRIFT_HIDDEN = {"warning", "labels", "shares_training", "shares_now", "p_value"}


def _drift_cell(kind: str, value: object, row: Any, t: dict[str, str], language: str) -> str:
    if kind == "level":
        text = "" if _blank(value) else html.escape(t.get(str(value), str(value)))
        return f'<td><span class="warn">⚠ {text}</span></td>' if bool(getattr(row, "warning", False)) else \
            f"<td>{text}</td>"
    if kind == "field":
        return f"<td>{_e(_capitalised(field_label(value, language)))}</td>"
    if _blank(value):
        return '<td class="num">–</td>'
    if kind == "number":
        return f'<td class="num">{_number(float(value), language, 3)}</td>'
    if kind == "p":
        return f'<td class="num">{_number(float(value), language, 3)}</td>'
    if kind == "count":
        return f'<td class="num">{_count(int(value), language)}</td>'
    if kind == "share":
        return f'<td class="num">{html.escape(_percent(float(value), language))}</td>'
    if isinstance(value, (float, np.floating)):
        return f'<td class="num">{_number(float(value), language, 3)}</td>'
    return f"<td>{_e(value)}</td>"


def _drift_section(drift: pd.DataFrame | None, t: dict[str, str], language: str) -> str:
    parts = [f'<section id="drift-section"><h2>{html.escape(t["drift"])}</h2>']
    if drift is None or len(drift) == 0:
        parts.append(f'<p class="hint">{html.escape(t["no_drift"])}</p></section>')
        return "".join(parts)
    first = drift.iloc[0]
    columns = [(name, kind) for name, kind in _DRIFT_SHOWN.items() if name in drift.columns]
    columns += [(name, "other") for name in drift.columns if name not in _DRIFT_SHOWN and name not in
                _DRIFT_HIDDEN and not isinstance(first[name], (list, tuple, dict, np.ndarray))]
    parts.append(f'<p class="hint">{html.escape(t["drift_hint"])}</p><table id="drift"><thead><tr>')
    parts += [f"<th>{html.escape(t.get('input_field' if name == 'input' else name, name))}</th>"
              for name, _ in columns]
    parts.append("</tr></thead><tbody>")
    for row in drift.itertuples(index=False):
        warning = bool(getattr(row, "warning", False))
        cells = "".join(_drift_cell(kind, getattr(row, name), row, t, language) for name, kind in columns)
        parts.append(f'<tr class="{"warning" if warning else ""}">{cells}</tr>')
    parts.append("</tbody></table></section>")
    return "".join(parts)


def _date(text: object, language: str) -> str:
    value = str(text)[:10]
    if language == "da" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return f"{value[8:10]}.{value[5:7]}.{value[:4]}"
    return value


def _model_section(content: PageContent, t: dict[str, str], language: str) -> str:
    facts, summary = content.model, content.summary
    rows: list[tuple[str, str]] = [(t["model"], _e(facts.get("version") or summary.get("model_version", ""))),
                                   (t["checksum"], _e(str(summary.get("model_checksum", ""))[:12]))]
    family = facts.get("family") or summary.get("model_family")
    if family:
        rows.append((t["family"], html.escape(t.get(str(family), str(family)))))
    if facts.get("created"):
        rows.append((t["trained"], _e(_date(facts["created"], language))))
    data = facts.get("data") or {}
    if data.get("first_form_date") and data.get("last_form_date"):
        rows.append((t["period"], html.escape(t["period_value"].format(
            first=_date(data["first_form_date"], language), last=_date(data["last_form_date"], language)))))
    if "rows_valid" in data:
        counts = {key: _count(int(data[key]), language) for key in ("rows_valid", "train_forms", "test_forms")
                  if key in data}
        template = "training_size" if len(counts) == 3 else "training_size_plain"
        rows.append((t["training_data"], html.escape(t[template].format(
            valid=counts["rows_valid"], train=counts.get("train_forms"), test=counts.get("test_forms")))))
    evaluation = facts.get("evaluation") or {}
    metrics = evaluation.get("metrics") or {}
    if metrics:
        forms = evaluation.get("forms")
        on = t["validation_on"].format(forms=_count(int(forms), language)) if forms else ""
        rows.append((t["validation"], html.escape(on)))
        for key, decimals in (("auc", 3), ("brier", 3), ("ece", 3), ("calibration_slope", 2)):
            if key in metrics:
                rows.append((t[key], _number(float(metrics[key]), language, decimals)))
        if "mean_risk" in metrics and "observed_rate" in metrics:
            rows.append((t["mean_vs_observed"], html.escape(f"{_percent(float(metrics['mean_risk']), language)} / "
                                                            f"{_percent(float(metrics['observed_rate']), language)}")))
        for key in ("recall_at_capacity", "precision_at_capacity"):
            if key in metrics:
                rows.append((t[key], html.escape(_percent(float(metrics[key]), language))))
    else:
        rows.append((t["validation"], html.escape(t["no_validation"])))
    rows.append((t["use"], html.escape(t["use_text"])))
    rows.append((t["limits"], html.escape(t["limits_text"])))
    if facts.get("card"):
        rows.append((t["card"], html.escape(t["card_text"].format(card=facts["card"]))))
    body = "".join(f"<tr><th>{html.escape(name)}</th><td>{value}</td></tr>" for name, value in rows)
    return (f'<section id="model-section"><h2>{html.escape(t["model_section"])}</h2>'
            f'<table id="model-facts" class="facts"><tbody>{body}</tbody></table></section>')


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _header(content: PageContent, t: dict[str, str], language: str, input_name: str) -> str:
    summary = content.summary
    numbers = t["numbers"].format(read=_count(summary.get("rows_read", 0), language),
                                  scored=_count(summary.get("scored", 0), language),
                                  refused=_count(summary.get("refused", 0), language))
    refused = int(summary.get("refused", content.refused_forms) or 0)
    if refused:
        text = t["refused_link_one"] if refused == 1 else t["refused_link_many"].format(count=_count(refused, language))
        refused_line = (f'<p><a id="refused-link" class="refused-link" href="#refused-section">'
                        f"{html.escape(text)}</a></p>")
    else:
        refused_line = f'<p id="refused-link">{html.escape(t["no_refused"])}</p>'
    totals = _queue_totals(content)
    queues = [t["queues"].format(early=_count(totals.get("early", 0), language),
                                 late=_count(totals.get("late", 0), language))]
    if summary.get("contacts") is not None:
        queues.append(t["contacts"].format(contacts=_count(int(summary["contacts"]), language)))
    facts = [f"{t['input']}: {input_name}"] if input_name else []
    if summary.get("forms_received"):  # which week this is, from the forms themselves (the same page every run)
        first, last = (_date(day, language) for day in summary["forms_received"])
        facts.append(t["received"].format(first=first, last=last))
    file_line = f'<p class="hint" id="week">{_e(" · ".join(facts))}</p>' if facts else ""
    return (f"<header><h1>{html.escape(t['title'])}</h1>{refused_line}"
            f"<p>{html.escape(numbers)}</p><p>{html.escape(' · '.join(queues))}</p>{file_line}"
            f'<p class="hint">{html.escape(t["advice"])}</p></header>')


def render_page(
    result: Any,
    *,
    model: Any = None,
    language: str = "da",
    input_name: str = "",
    output_name: str = "",
    rejects_name: str = "",
) -> str:
    """The weekly page of a :class:`~screening.scoring.ScoreResult` as one HTML document.

    Parameters
    ----------
    result : ScoreResult or PageContent
    model : ScreeningModel, optional
        The model that scored ``result``: its facts (training data, validation
        figures) are written into the page. Ignored for a ``PageContent``, which
        carries them.
    language : {"da", "en"}, default "da"
    input_name, output_name, rejects_name : str
        File names shown on the page (the forms read, the full ranked CSV, all refused rows).

    Returns
    -------
    str
        The page; the same result gives the same text.
    """
    if language not in TEXT:
        raise ValueError(f"language must be one of {sorted(TEXT)}, got {language!r}")
    t = TEXT[language]
    content = result if isinstance(result, PageContent) else PageContent.of(result, model=model)
    summary = content.summary
    version = content.model.get("version") or summary.get("model_version", "")
    checksum = str(summary.get("model_checksum", ""))[:12]
    policy = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_digest(SCRIPT)}'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    body = [
        "<!DOCTYPE html>",
        f'<html lang="{t["lang"]}"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy, quote=True)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(t['title'])} · {_e(version)}</title><style>{STYLE}</style></head><body>",
        _header(content, t, language, input_name),
        _calls_section(content, t, language, output_name=output_name),
        _queue_sections(content, t, language, per=summary.get("per"), output_name=output_name),
        _refused_section(content, t, language, rejects_name),
        _distribution_section(content.risk_counts, t, language),
        _drift_section(content.drift, t, language),
        _model_section(content, t, language),
        f'<footer><p id="model">{html.escape(t["model"])} {_e(version)} · {html.escape(t["checksum"].lower())} '
        f"{_e(checksum)}</p>"
        f'<script type="application/json" id="summary">{_json_for_html(_stable(summary))}</script></footer>',
        f"<script>{SCRIPT}</script></body></html>",
    ]
    return "\n".join(body) + "\n"


def _stable(summary: dict[str, Any]) -> dict[str, Any]:
    """The run summary without what differs between runs of the same file (the time taken)."""
    return {key: value for key, value in summary.items() if key not in ("seconds", "seconds_by_step")}


def _json_for_html(data: dict[str, Any]) -> str:
    """JSON safe inside a script element (no ``</script>``, no HTML-significant characters)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
