"""The monitoring page: one self-contained HTML file for the people who oversee the tool.

In this order: the verdict (is a retrain advised, and why) with the extract and the
model; the trend per period (observed rate against mean risk, and their difference
with its 95 % interval against the tolerance band); the periods table; the flagged
subgroups; what the model was validated at; what the tool is for and not for.

As the weekly page (``screening.scoring``): inline CSS and SVG, nothing fetched, a
Content-Security-Policy that forbids every request (and, the page having no script,
every script); every text from a file HTML-escaped; the same result gives the same
bytes; Danish by default, English on request. Counts and rates only.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from screening.intake import format_number
from screening.monitoring._text import TEXT, percent, period_name, points

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header,section,footer{max-width:1200px;margin:0 auto;padding:10px 20px}
header{background:#fff;border-bottom:1px solid #d8dde3;max-width:none;padding:12px max(20px,calc(50% - 600px))}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1.1em 0 .4em}p.hint{color:#4a5663;margin:.2em 0 .6em}
#verdict{border-left:6px solid #2a7a3b;background:#eef7f0;padding:8px 14px;margin:10px 0}
#verdict.retrain{border-color:#b03a2e;background:#fbeeec}#verdict strong{font-size:1.15em}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.92em}
th,td{border-bottom:1px solid #e3e7eb;padding:5px 7px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.period{white-space:nowrap}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.flagged td{background:#fbeeec}tr.flagged td.status{color:#a12a1d;font-weight:600}
tr.not_evaluable td,tr.no_forms td{color:#6b7580}
table.facts th{width:32%;font-weight:600;background:#f3f5f7}
.interval{color:#4a5663;font-size:.85em}
svg{max-width:100%;height:auto;background:#fff}svg text{font-size:11px;fill:#4a5663}
footer{color:#4a5663;font-size:.9em;padding-bottom:30px}
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _interval(low: object, high: object, language: str, *, as_points: bool = False) -> str:
    if not (_finite(low) and _finite(high)):
        return ""
    if as_points:
        text = f"{points(float(low), language, signed=True)} – {points(float(high), language, signed=True)}"
    else:
        text = f"{percent(float(low), language)} – {percent(float(high), language)}"
    return f'<br><span class="interval">[{html.escape(text)}]</span>'


def _rate_cell(row: Any, name: str, language: str) -> str:
    value = row.get(name)
    if not _finite(value):
        return '<td class="num">–</td>'
    return (f'<td class="num">{html.escape(percent(float(value), language))}'
            f'{_interval(row.get(f"{name}_low"), row.get(f"{name}_high"), language)}</td>')


def _points_cell(row: Any, name: str, language: str) -> str:
    value = row.get(name)
    if not _finite(value):
        return '<td class="num">–</td>'
    return (f'<td class="num">{html.escape(points(float(value), language, signed=True))}'
            f'{_interval(row.get(f"{name}_low"), row.get(f"{name}_high"), language, as_points=True)}</td>')


def _number_cell(row: Any, name: str, language: str, decimals: int) -> str:
    value = row.get(name)
    if not _finite(value):
        return '<td class="num">–</td>'
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    interval = (f'<br><span class="interval">[{format_number(float(low), language, decimals=decimals)} – '
                f'{format_number(float(high), language, decimals=decimals)}]</span>'
                if _finite(low) and _finite(high) else "")
    return f'<td class="num">{format_number(float(value), language, decimals=decimals)}{interval}</td>'


def _count(value: object, language: str) -> str:
    return format_number(int(value), language, grouping=True) if _finite(value) else "–"


def _header(result: Any, t: dict[str, str], language: str) -> str:
    facts = result.facts
    by = t[f"by_{facts['by']}"]
    verdict = t["verdict_retrain"] if result.retrain_advised else t["verdict_ok"]
    return (f"<header><h1>{html.escape(t['title'])}</h1>"
            f'<p class="hint">{html.escape(t["subtitle"].format(by=by, horizon=facts["horizon"]))}</p>'
            f'<div id="verdict" class="{"retrain" if result.retrain_advised else "ok"}">'
            f"<p><strong>{html.escape(verdict)}</strong></p><p id=\"advice\">{html.escape(result.advice(language))}</p>"
            "</div></header>")


def _facts_section(result: Any, t: dict[str, str], language: str) -> str:
    facts = result.facts
    data, model = facts["data"], facts["model"]
    rows = [(t["data"], t["data_value"].format(read=_count(data["rows_read"], language),
                                               valid=_count(data["rows_valid"], language),
                                               refused=_count(data["rows_refused"], language),
                                               undated=_count(data["undated"], language))
             + (f" · {data['file']}" if data.get("file") else "")),
            (t["extraction"], str(facts["extraction_date"])),
            (t["model"], " · ".join(str(x) for x in (model.get("version"), model.get("family"), model.get("uri"))
                                    if x))]
    registered = result.tracking.get("registered_name")
    if registered:
        rows.append((t["registered"], f"{registered} {result.tracking.get('registered_version', '')}".strip()))
    rows.append((t["tolerance"], t["tolerance_value"].format(tolerance=points(facts["tolerance"], language))))
    rows.append((t["bootstrap"], t["bootstrap_value"].format(n_boot=facts["n_boot"])))
    body = "".join(f"<tr><th>{html.escape(name)}</th><td>{_e(value)}</td></tr>" for name, value in rows)
    return (f'<section id="facts-section"><h2>{html.escape(t["facts"])}</h2>'
            f'<table class="facts" id="facts"><tbody>{body}</tbody></table></section>')


def _scale(low: float, high: float, top: float, bottom: float):
    span = high - low if high > low else 1.0
    return lambda value: bottom - (value - low) / span * (bottom - top)


def _charts(result: Any, t: dict[str, str], language: str) -> str:
    periods = result.periods
    n = len(periods)
    width, left, right = 900, 60, 20
    step = (width - left - right) / max(n, 1)
    x = [left + step * (k + 0.5) for k in range(n)]
    horizon = result.facts["horizon"]
    tolerance = result.facts["tolerance"]
    evaluable = periods["status"].isin(["flagged", "ok"]).to_numpy()
    flagged = (periods["status"] == "flagged").to_numpy()

    def values(name: str) -> np.ndarray:
        return periods[name].to_numpy(dtype=np.float64) if name in periods else np.full(n, np.nan)

    labels = "".join(
        f'<text x="{x[k]:.1f}" y="{{y}}" text-anchor="middle">{html.escape(_short(str(p), language))}</text>'
        for k, p in enumerate(periods.index))
    # The rates: observed (points with interval) and mean risk (line).
    observed, low, high, mean = values("observed_rate"), values("observed_rate_low"), values("observed_rate_high"), \
        values("mean_risk")
    finite = np.concatenate([a[np.isfinite(a)] for a in (low, high, mean, observed)])
    top_rate = float(min(1.0, max(finite.max(initial=0.1) * 1.15, 0.1)))
    bottom_rate = 0.0  # rates from zero: a difference of a few points looks as large as it is
    height, top, bottom = 260, 12, 230
    y = _scale(bottom_rate, top_rate, top, bottom)
    parts = [f'<svg id="trend-rates" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{html.escape(t["axis_rate"].format(horizon=horizon))}</title>']
    for tick in np.linspace(bottom_rate, top_rate, 5):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e3e7eb"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f"{html.escape(percent(float(tick), language))}</text>")
    line = " ".join(f"{x[k]:.1f},{y(mean[k]):.1f}" for k in range(n) if evaluable[k] and np.isfinite(mean[k]))
    if line:
        parts.append(f'<polyline points="{line}" fill="none" stroke="#2a6fb0" stroke-width="2"/>')
    for k in range(n):
        if not (evaluable[k] and np.isfinite(observed[k])):
            continue
        colour = "#b03a2e" if flagged[k] else "#1d2733"
        if np.isfinite(low[k]) and np.isfinite(high[k]):
            parts.append(f'<line x1="{x[k]:.1f}" x2="{x[k]:.1f}" y1="{y(low[k]):.1f}" y2="{y(high[k]):.1f}" '
                         f'stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<circle class="{"flagged" if flagged[k] else "ok"}" cx="{x[k]:.1f}" cy="{y(observed[k]):.1f}" '
                     f'r="4" fill="{colour}"><title>{html.escape(period_name(str(periods.index[k]), language))}: '
                     f"{html.escape(t['observed'])} {html.escape(percent(observed[k], language))}, "
                     f"{html.escape(t['mean_risk'])} {html.escape(percent(mean[k], language))}</title></circle>")
    parts.append(labels.replace("{y}", str(height - 12)) + "</svg>")
    # The difference, risk - observed, against the tolerance band.
    citl, c_low, c_high = values("calibration_in_the_large"), values("calibration_in_the_large_low"), \
        values("calibration_in_the_large_high")
    finite = np.concatenate([a[np.isfinite(a)] for a in (c_low, c_high)])
    reach = float(max(np.abs(finite).max(initial=0.0), tolerance) * 1.2 + 0.005)
    y = _scale(-reach, reach, top, bottom)
    parts.append(f'<svg id="trend-gap" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                 f'xmlns="http://www.w3.org/2000/svg"><title>{html.escape(t["axis_gap"])}</title>')
    parts.append(f'<rect id="tolerance-band" x="{left}" y="{y(tolerance):.1f}" width="{width - left - right}" '
                 f'height="{y(-tolerance) - y(tolerance):.1f}" fill="#e3e7eb"/>'
                 f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#4a5663"/>')
    for tick in (-tolerance, 0.0, tolerance):
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f"{html.escape(points(tick, language, signed=True))}</text>")
    for k in range(n):
        if not (evaluable[k] and np.isfinite(citl[k])):
            continue
        colour = "#b03a2e" if flagged[k] else "#1d2733"
        if np.isfinite(c_low[k]) and np.isfinite(c_high[k]):
            parts.append(f'<line x1="{x[k]:.1f}" x2="{x[k]:.1f}" y1="{y(c_low[k]):.1f}" y2="{y(c_high[k]):.1f}" '
                         f'stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<circle class="{"flagged" if flagged[k] else "ok"}" cx="{x[k]:.1f}" cy="{y(citl[k]):.1f}" '
                     f'r="4" fill="{colour}"><title>{html.escape(period_name(str(periods.index[k]), language))}: '
                     f"{html.escape(points(citl[k], language, signed=True))}</title></circle>")
    parts.append(labels.replace("{y}", str(height - 12)) + "</svg>")
    return (f'<section id="trend-section"><h2>{html.escape(t["trend"])}</h2>'
            f'<p class="hint">{html.escape(t["trend_hint"])}</p>{"".join(parts)}</section>')


def _short(label: str, language: str) -> str:
    """A period on an axis: ``07/27`` for a month, ``K3 27``/``Q3 27`` for a quarter."""
    if "-Q" in label:
        return f"{'K' if language == 'da' else 'Q'}{label[-1]} {label[2:4]}"
    return f"{label[5:7]}/{label[2:4]}" if len(label) == 7 else label


def _periods_section(result: Any, t: dict[str, str], language: str) -> str:
    horizon = result.facts["horizon"]
    heads = [t["period"], t["forms"], t["effective"].format(h=horizon), t["observed"], t["mean_risk"], t["citl"],
             t["slope"], t["auc"], t["precision"], t["status"]]
    parts = [f'<section id="periods-section"><h2>{html.escape(t["periods"])}</h2>'
             f'<p class="hint">{html.escape(t["periods_hint"].format(horizon=horizon))}</p>'
             '<table id="periods"><thead><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in heads)
             + "</tr></thead><tbody>"]
    for period, row in result.periods.iterrows():
        status = str(row["status"])
        words = t.get(status, status)
        if status in ("flagged", "ok") and row.get("direction") and status == "flagged":
            words = f"{words}: {t[str(row['direction'])]}"
        reason = row.get("reason")
        title = f' title="{_e(reason)}"' if isinstance(reason, str) and reason else ""
        parts.append(
            f'<tr class="{status}" data-period="{_e(period)}"><td class="period">{_e(period_name(str(period), language))}</td>'
            f'<td class="num">{_count(row["forms"], language)}</td>'
            f'<td class="num">{format_number(float(row[f"effective_forms_{horizon}"]), language, decimals=0, grouping=True)}'
            "</td>"
            + _rate_cell(row, "observed_rate", language) + _rate_cell(row, "mean_risk", language)
            + _points_cell(row, "calibration_in_the_large", language)
            + _number_cell(row, "calibration_slope", language, 2) + _number_cell(row, "auc", language, 3)
            + _rate_cell(row, "precision_at_capacity", language)
            + f'<td class="status"{title}>{html.escape(words)}</td></tr>')
    parts.append("</tbody></table></section>")
    return "".join(parts)


def _subgroups_section(result: Any, t: dict[str, str], language: str) -> str:
    flagged = result.flagged_subgroups
    hint = t["subgroups_hint"].format(min_group=result.facts["min_group"],
                                      suppressed=_count(result.facts.get("subgroups_suppressed", 0), language))
    parts = [f'<section id="subgroups-section"><h2>{html.escape(t["subgroups"])}</h2>'
             f'<p class="hint">{html.escape(hint)}</p>']
    if not len(flagged):
        parts.append(f'<p id="no-subgroups">{html.escape(t["no_subgroups"])}</p></section>')
        return "".join(parts)
    heads = [t["period"], t["attribute"], t["group"], t["forms"], t["observed"], t["mean_risk"], t["citl"], t["auc"]]
    parts.append('<table id="subgroups"><thead><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in heads)
                 + "</tr></thead><tbody>")
    for (period, attribute, group), row in flagged.iterrows():
        parts.append(
            f'<tr class="flagged"><td class="period">{_e(period_name(str(period), language))}</td><td>{_e(t.get(attribute, attribute))}'
            f"</td><td>{_e(group)}</td>"
            f'<td class="num">{format_number(float(row["effective_forms"]), language, decimals=0, grouping=True)}</td>'
            + _rate_cell(row, "observed_rate", language) + _rate_cell(row, "mean_risk", language)
            + _points_cell(row, "calibration_in_the_large", language) + _number_cell(row, "auc", language, 3)
            + "</tr>")
    parts.append("</tbody></table></section>")
    return "".join(parts)


def _validated_section(result: Any, t: dict[str, str], language: str) -> str:
    validated = result.facts.get("validated_at") or {}
    head = f'<section id="validated-section"><h2>{html.escape(t["validated"])}</h2>'
    metrics = validated.get("metrics") or {}
    if not metrics:
        return head + f'<p>{html.escape(t["validated_none"].format(horizon=result.facts["horizon"]))}</p></section>'
    intervals = validated.get("intervals") or {}
    row = {**metrics, **{f"{k}_low": v[0] for k, v in intervals.items()},
           **{f"{k}_high": v[1] for k, v in intervals.items()}}
    rows = []
    if validated.get("forms"):
        rows.append((t["validated_forms"], f'<td class="num">{_count(validated["forms"], language)}</td>'))
    for key, label, cell in (("observed_rate", t["observed"], _rate_cell), ("mean_risk", t["mean_risk"], _rate_cell),
                             ("calibration_gap", t["validated_gap"], _points_cell)):
        if key in metrics:
            rows.append((label, cell(row, key, language)))
    if "calibration_slope" in metrics:
        rows.append((t["slope"], _number_cell(row, "calibration_slope", language, 2)))
    if "auc" in metrics:
        rows.append((t["auc"], _number_cell(row, "auc", language, 3)))
    if "precision_at_capacity" in metrics:
        rows.append((t["precision"], _rate_cell(row, "precision_at_capacity", language)))
    body = "".join(f"<tr><th>{html.escape(name)}</th>{cell}</tr>" for name, cell in rows)
    return (head + f'<p class="hint">{html.escape(t["validated_hint"])}</p>'
            f'<table class="facts" id="validated"><tbody>{body}</tbody></table></section>')


def render_monitoring_page(result: Any, *, language: str = "da") -> str:
    """The monitoring page of a :class:`~screening.monitoring.MonitoringResult` as one HTML document.

    Parameters
    ----------
    result : MonitoringResult
    language : {"da", "en"}, default "da"

    Returns
    -------
    str
        The page; the same result gives the same text.
    """
    if language not in TEXT:
        raise ValueError(f"language must be one of {sorted(TEXT)}, got {language!r}")
    t = TEXT[language]
    body = [
        "<!DOCTYPE html>",
        f'<html lang="{t["lang"]}"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(POLICY, quote=True)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(t['title'])} · {_e(result.facts['model'].get('version'))}</title>"
        f"<style>{STYLE}</style></head><body>",
        _header(result, t, language),
        _facts_section(result, t, language),
        _charts(result, t, language),
        _periods_section(result, t, language),
        _subgroups_section(result, t, language),
        _validated_section(result, t, language),
        f'<section id="use-section"><h2>{html.escape(t["use"])}</h2><p>{html.escape(t["use_text"])}</p></section>',
        f'<footer><p>{html.escape(t["footer"])}</p></footer></body></html>',
    ]
    return "\n".join(body) + "\n"


def write_monitoring_page(result: Any, path: Any, *, language: str = "da") -> Any:
    """Write :func:`render_monitoring_page` to ``path`` (UTF-8, replaced whole); returns the path."""
    from pathlib import Path

    from screening._io import atomic_path

    page = render_monitoring_page(result, language=language)
    with atomic_path(path) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return Path(path)
