"""Watching a deployed model: realised performance per period as outcomes arrive, and an alarm that means something.

``monitor(model, extract)`` scores every form of a training-contract extract with the
model that was (or is) in use and evaluates it per month or quarter of form receipt
(:func:`screening.models.evaluate`: only forms whose follow-up reaches the horizon,
IPCW, bootstrap intervals, subgroups with a minimum size). A period is flagged when
the 95 % interval of its calibration-in-the-large lies wholly beyond the tolerance
(default 3 percentage points); the :class:`MonitoringResult` says whether a retrain
is advised and why, and can be logged to MLflow linked to the model version.
``render_monitoring_page`` / ``write_monitoring_page`` write the page for the people
who oversee the tool (Danish by default). ``simulate_year`` makes a simulated year of
forms, stable or shifted half-way, to test all of it on.

Counts and rates only: nothing from a single form leaves this package.
"""

from __future__ import annotations

from screening._lazy import lazy_names

_LAZY = {
    "monitor": "screening.monitoring._monitor",
    "MonitoringResult": "screening.monitoring._monitor",
    "TOLERANCE": "screening.monitoring._monitor",
    "PERIODS": "screening.monitoring._monitor",
    "render_monitoring_page": "screening.monitoring._page",
    "write_monitoring_page": "screening.monitoring._page",
    "format_monitoring_summary": "screening.monitoring._summary",
    "simulate_year": "screening.monitoring._simulate",
    "SimulatedYear": "screening.monitoring._simulate",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

__all__ = [
    "PERIODS",
    "TOLERANCE",
    "MonitoringResult",
    "SimulatedYear",
    "format_monitoring_summary",
    "monitor",
    "render_monitoring_page",
    "simulate_year",
    "write_monitoring_page",
]
