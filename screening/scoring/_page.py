"""The weekly page: one self-contained HTML file a consultant opens in a browser.

In this order: the week in numbers; the refused forms (first, so nobody falls
through the cracks); the ranked list with risk bars, priority and reasons,
sortable by any column and filterable by jobcenter; the week's risk distribution;
drift against the training data; the model's version and card.

Safe to open and to copy from:

* self-contained: inline CSS and JavaScript, an SVG chart, no fonts, images or
  scripts from anywhere; a Content-Security-Policy forbids every network request
  and runs only the page's own script (pinned by its SHA-256);
* every text from a file is HTML-escaped, and text a spreadsheet would run as a
  formula (``=``, ``+``, ``-``, ``@`` ...) gets a leading apostrophe, as in the CSV;
* the same result gives the same bytes (no clock, no randomness).

A week of a million forms would make a page no browser opens: the list shows the
first :data:`MAX_ROWS` forms in working order (all of them per jobcenter when
ranked per jobcenter, up to the same total), and says where the full list is.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from screening._io import FORMULA_STARTS
from screening.features import PSI_WARNING
from screening.scoring._rank import PRIORITY_THRESHOLDS

MAX_ROWS = 5000
MAX_REFUSED = 5000
HISTOGRAM_BINS = 20  # 5 % wide

TEXT: dict[str, dict[str, str]] = {
    "da": {
        "lang": "da",
        "title": "Ugens screening af nye sygemeldte",
        "advice": "Listen er et råd til konsulenten, ikke en afgørelse.",
        "numbers": "{read} skemaer læst · {scored} scoret · {refused} afvist",
        "refused": "Afviste skemaer",
        "refused_hint": "Disse skemaer er ikke scoret. Ret dem i sagssystemet, og send dem igen.",
        "refused_shown": "Viser de første {shown} af {total} afvisninger; alle står i {output}.",
        "no_refused": "Ingen skemaer blev afvist.",
        "row": "Række", "case_id": "Sags-id", "column": "Felt", "value": "Værdi", "reason": "Årsag",
        "ranked": "Prioriteret liste",
        "ranked_hint": "Ring først til dem øverst. Klik på en kolonneoverskrift for at sortere. "
                       "↑ øger risikoen, ↓ mindsker den.",
        "filter": "Jobcenter", "all": "Alle",
        "rank": "Nr.", "jobcenter": "Jobcenter", "risk": "Risiko for over 13 uger", "priority": "Prioritet",
        "contact": "Kontakt denne uge", "reasons": "Årsager",
        "high": "høj", "medium": "mellem", "low": "lav", "yes": "ja", "no": "nej",
        "shown": "Viser de første {shown} af {total} scorede skemaer; hele listen står i {output}.",
        "no_scored": "Ingen skemaer blev scoret.",
        "distribution": "Ugens risikofordeling",
        "distribution_hint": "Antal skemaer efter risiko for fravær over 13 uger. Stregerne er grænserne "
                             "for mellem ({medium}) og høj ({high}) prioritet.",
        "axis": "risiko for fravær over 13 uger",
        "forms": "skemaer",
        "drift": "Ændringer i forhold til træningsdata",
        "drift_hint": "Populationsstabilitetsindeks (PSI) for hvert felt. Over {warning} adskiller ugens "
                      "skemaer sig tydeligt fra dem, modellen er trænet på: se listen efter med ekstra omhu.",
        "no_drift": "Modellen har ingen gemt reference for træningsdata, så ændringer kan ikke måles.",
        "psi": "PSI", "level": "Vurdering", "blank_now": "Tomme nu", "blank_training": "Tomme i træning",
        "stable": "stabil", "moderate": "moderat ændring", "shift": "tydelig ændring", "no forms": "ingen skemaer",
        "model": "Model", "checksum": "kontrolsum", "card": "modelkort", "no_card": "intet modelkort",
        "input": "Fil",
    },
    "en": {
        "lang": "en",
        "title": "This week's screening of newly sick-listed workers",
        "advice": "The list advises the consultant; it decides nothing.",
        "numbers": "{read} forms read · {scored} scored · {refused} refused",
        "refused": "Refused forms",
        "refused_hint": "These forms were not scored. Correct them in the case system and send them again.",
        "refused_shown": "Showing the first {shown} of {total} refusals; all of them are in {output}.",
        "no_refused": "No form was refused.",
        "row": "Row", "case_id": "Case id", "column": "Field", "value": "Value", "reason": "Reason",
        "ranked": "Ranked list",
        "ranked_hint": "Call those at the top first. Click a column heading to sort. "
                       "↑ raises the risk, ↓ lowers it.",
        "filter": "Jobcenter", "all": "All",
        "rank": "Rank", "jobcenter": "Jobcenter", "risk": "Risk of over 13 weeks", "priority": "Priority",
        "contact": "Contact this week", "reasons": "Reasons",
        "high": "high", "medium": "medium", "low": "low", "yes": "yes", "no": "no",
        "shown": "Showing the first {shown} of {total} scored forms; the full list is in {output}.",
        "no_scored": "No form was scored.",
        "distribution": "This week's risk distribution",
        "distribution_hint": "Forms by their risk of an absence over 13 weeks. The lines are the bounds of "
                             "medium ({medium}) and high ({high}) priority.",
        "axis": "risk of an absence over 13 weeks",
        "forms": "forms",
        "drift": "Drift against the training data",
        "drift_hint": "Population stability index (PSI) of each field. Above {warning} this week's forms differ "
                      "clearly from those the model learnt from: read the list with extra care.",
        "no_drift": "The model has no stored reference of its training data, so drift cannot be measured.",
        "psi": "PSI", "level": "Reading", "blank_now": "Blank now", "blank_training": "Blank in training",
        "stable": "stable", "moderate": "moderate shift", "shift": "clear shift", "no forms": "no forms",
        "model": "Model", "checksum": "checksum", "card": "model card", "no_card": "no model card",
        "input": "File",
    },
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header,section,footer{max-width:1200px;margin:0 auto;padding:12px 20px}
header{background:#fff;border-bottom:1px solid #d8dde3}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1em 0 .4em}
p.hint{color:#4a5663;margin:.2em 0 .6em}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}
th,td{border-bottom:1px solid #e3e7eb;padding:5px 7px;text-align:left;vertical-align:top}
th{background:#eef1f4;position:sticky;top:0}
#ranked th{cursor:pointer;user-select:none}#ranked th[aria-sort=ascending]::after{content:" ▲"}
#ranked th[aria-sort=descending]::after{content:" ▼"}
.bar{background:#e3e7eb;width:110px;height:10px;display:inline-block;margin-right:6px;vertical-align:middle}
.bar span{display:block;height:10px;background:#2a6fb0}
.high .bar span{background:#b03a2e}.medium .bar span{background:#c98a1a}
.badge{border-radius:3px;padding:1px 6px;font-size:.85em;white-space:nowrap}
.badge.high{background:#f6d5d1;color:#7d2218}.badge.medium{background:#f8e6c4;color:#6b4a0c}
.badge.low{background:#dde9f3;color:#1e4b72}
.refused td{background:#fff6f5}.warn{color:#a12a1d;font-weight:600}
td.reasons{max-width:520px}.num{text-align:right;font-variant-numeric:tabular-nums}
svg text{font-size:11px;fill:#4a5663}footer{color:#4a5663;font-size:.9em;padding-bottom:30px}
"""

SCRIPT = """
(function(){
  var errors=[];window.addEventListener('error',function(e){errors.push(String(e.message));
    document.body.setAttribute('data-errors',JSON.stringify(errors));});
  var table=document.getElementById('ranked');if(!table)return;
  var body=table.tBodies[0],heads=table.tHead.rows[0].cells;
  function key(row,i,numeric){var v=row.cells[i].getAttribute('data-sort');if(v===null)v=row.cells[i].textContent;
    return numeric?parseFloat(v):v;}
  function sortBy(i,dir){var numeric=heads[i].getAttribute('data-type')==='num';
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=key(a,i,numeric),y=key(b,i,numeric);
      var c=numeric?(x-y):(x<y?-1:(x>y?1:0));if(c===0){c=parseInt(a.getAttribute('data-order'))-
      parseInt(b.getAttribute('data-order'));return c;}return dir==='ascending'?c:-c;});
    for(var j=0;j<heads.length;j++)heads[j].removeAttribute('aria-sort');heads[i].setAttribute('aria-sort',dir);
    var fragment=document.createDocumentFragment();rows.forEach(function(r){fragment.appendChild(r);});
    body.appendChild(fragment);}
  for(var i=0;i<heads.length;i++){(function(i){heads[i].addEventListener('click',function(){
    var now=heads[i].getAttribute('aria-sort');
    sortBy(i,now==='ascending'?'descending':(now==='descending'?'ascending':heads[i].getAttribute('data-first')||'ascending'));
  });})(i);}
  var filter=document.getElementById('jobcenter-filter');
  if(filter){filter.addEventListener('change',function(){var v=filter.value;
    Array.prototype.forEach.call(body.rows,function(r){
      r.hidden=(v!=='*'&&r.getAttribute('data-jobcenter')!==v);});});}
  window.screeningPage={sortBy:sortBy,errors:errors};
  document.body.setAttribute('data-ready','1');
})();
"""


def _neutral(text: object) -> str:
    """A value from a file, harmless in a spreadsheet (formula starts get an apostrophe)."""
    text = "" if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA else str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _e(text: object) -> str:
    return html.escape(_neutral(text), quote=True)


def _number(value: float, language: str, decimals: int = 1) -> str:
    text = f"{value:,.{decimals}f}"
    if language == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _count(value: int, language: str) -> str:
    return _number(value, language, 0)


def _percent(risk: float, language: str) -> str:
    return f"{_number(risk * 100, language)} %"


@dataclass
class PageContent:
    """What the page shows: the first rows of the ranked list and of the refusals, and counts of all.

    A batch too big to hold in memory keeps only these (see ``_batch``);
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

    @classmethod
    def of(cls, result: Any) -> PageContent:
        ranked, refused = result.ranked, result.refused
        groups = ranked["jobcenter"].nunique(dropna=False) if "jobcenter" in ranked else 1
        counts = np.histogram(ranked["risk"].to_numpy(dtype=np.float64), bins=HISTOGRAM_BINS, range=(0.0, 1.0))[0]
        return cls(summary=result.summary, drift=result.drift, ranked_head=ranked, ranked_rows=len(ranked),
                   groups=int(groups), refused_head=refused.head(MAX_REFUSED), refused_lines=len(refused),
                   refused_forms=int(refused["row"].nunique()) if len(refused) else 0, risk_counts=counts)


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
        parts.append(f'<tr><td class="num">{int(row.row)}</td><td>{_e(row.case_id)}</td><td>{_e(row.column)}</td>'
                     f"<td>{_e(row.value)}</td><td>{_e(row.reason)}</td></tr>")
    parts.append("</tbody></table></section>")
    return "".join(parts)


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


def _ranked_section(content: PageContent, t: dict[str, str], language: str, *, per: str | None,
                    output_name: str) -> str:
    ranked = content.ranked_head
    parts = [f'<section id="ranked-section"><h2>{html.escape(t["ranked"])}</h2>']
    if content.ranked_rows == 0:
        parts.append(f'<p class="hint">{html.escape(t["no_scored"])}</p></section>')
        return "".join(parts)
    parts.append(f'<p class="hint">{html.escape(t["ranked_hint"])}</p>')
    shown = _shown_rows(content, per)
    with_jobcenter = "jobcenter" in ranked.columns
    if len(shown) < content.ranked_rows:
        note = t["shown"].format(shown=_count(len(shown), language), total=_count(content.ranked_rows, language),
                                 output=output_name or "CSV")
        parts.append(f'<p class="hint">{html.escape(note)}</p>')
    if with_jobcenter:
        names = sorted({str(name) for name in shown["jobcenter"].dropna().unique()})
        options = "".join(f'<option value="{_e(name)}">{_e(name)}</option>' for name in names)
        parts.append(f'<p><label for="jobcenter-filter">{html.escape(t["filter"])}: </label>'
                     f'<select id="jobcenter-filter"><option value="*">{html.escape(t["all"])}</option>'
                     f"{options}</select></p>")
    heads = [("rank", "num", "ascending"), ("case_id", "text", "ascending")]
    if with_jobcenter:
        heads.append(("jobcenter", "text", "ascending"))
    heads += [("risk", "num", "descending"), ("priority", "num", "ascending"), ("contact", "text", "descending"),
              ("reasons", "text", "ascending")]
    parts.append('<table id="ranked"><thead><tr>')
    parts += [f'<th data-key="{name}" data-type="{kind}" data-first="{first}">{html.escape(t[name])}</th>'
              for name, kind, first in heads]
    parts.append("</tr></thead><tbody>")
    priority_order = {"high": 0, "medium": 1, "low": 2}
    contact = shown["contact_this_week"]
    for order, row in enumerate(shown.itertuples(index=False)):
        risk = float(row.risk)
        priority = str(row.priority)
        jobcenter = getattr(row, "jobcenter", None) if with_jobcenter else None
        marked = contact.iloc[order]
        contact_text = "" if marked is pd.NA or pd.isna(marked) else t["yes" if bool(marked) else "no"]
        cells = [f'<td class="num" data-sort="{int(row.rank)}">{int(row.rank)}</td>', f"<td>{_e(row.case_id)}</td>"]
        if with_jobcenter:
            cells.append(f"<td>{_e(jobcenter)}</td>")
        cells.append(f'<td class="{priority}" data-sort="{risk:.4f}"><span class="bar"><span style="width:'
                     f'{risk * 100:.1f}%"></span></span>{_percent(risk, language)}</td>')
        cells.append(f'<td data-sort="{priority_order.get(priority, 3)}"><span class="badge {priority}">'
                     f"{html.escape(t.get(priority, priority))}</span></td>")
        cells.append(f"<td>{html.escape(contact_text)}</td>")
        cells.append(f'<td class="reasons">{"<br>".join(_e(reason) for reason in str(row.reasons).split("; ") if reason)}</td>')
        jobcenter_attribute = f' data-jobcenter="{_e(jobcenter)}"' if with_jobcenter else ""
        parts.append(f'<tr data-order="{order}"{jobcenter_attribute}>{"".join(cells)}</tr>')
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


def _drift_section(drift: pd.DataFrame | None, t: dict[str, str], language: str) -> str:
    parts = [f'<section id="drift-section"><h2>{html.escape(t["drift"])}</h2>']
    if drift is None or len(drift) == 0:
        parts.append(f'<p class="hint">{html.escape(t["no_drift"])}</p></section>')
        return "".join(parts)
    hint = t["drift_hint"].format(warning=_number(PSI_WARNING, language, 2))
    parts.append(f'<p class="hint">{html.escape(hint)}</p><table id="drift"><thead><tr>')
    parts += [f"<th>{html.escape(t[name])}</th>" for name in ("column", "psi", "level", "blank_now", "blank_training")]
    parts.append("</tr></thead><tbody>")
    for row in drift.itertuples(index=False):
        value = "–" if pd.isna(row.psi) else _number(float(row.psi), language, 3)
        level = html.escape(t.get(row.level, row.level))
        marker = f'<span class="warn">⚠ {level}</span>' if row.warning else level
        parts.append(f'<tr class="{"warning" if row.warning else ""}"><td>{_e(row.input)}</td>'
                     f'<td class="num">{value}</td><td>{marker}</td>'
                     f'<td class="num">{_percent(float(row.blank_share_now), language)}</td>'
                     f'<td class="num">{_percent(float(row.blank_share_training), language)}</td></tr>')
    parts.append("</tbody></table></section>")
    return "".join(parts)


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_page(
    result: Any,
    *,
    language: str = "da",
    card_href: str | None = None,
    input_name: str = "",
    output_name: str = "",
    rejects_name: str = "",
) -> str:
    """The weekly page of a :class:`~screening.scoring.ScoreResult` as one HTML document.

    Parameters
    ----------
    result : ScoreResult or PageContent
    language : {"da", "en"}, default "da"
    card_href : str, optional
        Link to the model card (a relative path beside the page, or a ``file:`` URL).
    input_name, output_name, rejects_name : str
        File names shown on the page (the forms read, the full ranked CSV, all refused rows).
    """
    if language not in TEXT:
        raise ValueError(f"language must be one of {sorted(TEXT)}, got {language!r}")
    t = TEXT[language]
    content = result if isinstance(result, PageContent) else PageContent.of(result)
    summary = content.summary
    numbers = t["numbers"].format(read=_count(summary.get("rows_read", 0), language),
                                  scored=_count(summary.get("scored", 0), language),
                                  refused=_count(summary.get("refused", 0), language))
    version = summary.get("model_version", "")
    checksum = str(summary.get("model_checksum", ""))[:12]
    card = (f'<a href="{html.escape(card_href, quote=True)}">{html.escape(t["card"])}</a>' if card_href
            else html.escape(t["no_card"]))
    policy = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_digest(SCRIPT)}'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    file_line = f'<p class="hint">{html.escape(t["input"])}: {_e(input_name)}</p>' if input_name else ""
    body = [
        "<!DOCTYPE html>",
        f'<html lang="{t["lang"]}"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy, quote=True)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(t['title'])} · {_e(version)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{html.escape(t['title'])}</h1><p>{html.escape(numbers)}</p>{file_line}"
        f'<p class="hint">{html.escape(t["advice"])}</p></header>',
        _refused_section(content, t, language, rejects_name),
        _ranked_section(content, t, language, per=summary.get("per"), output_name=output_name),
        _distribution_section(content.risk_counts, t, language),
        _drift_section(content.drift, t, language),
        f'<footer><p id="model">{html.escape(t["model"])} {_e(version)} · {html.escape(t["checksum"])} '
        f"{_e(checksum)} · {card}</p>"
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
