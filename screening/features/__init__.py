"""From validated intake forms to model inputs.

:class:`FormEncoder` reads forms into one numeric column per input (blank answers
stay NaN); :class:`AdditiveBasis` expands those into the grouped spline and
indicator design of the interpretable model. Both follow scikit-learn's estimator
contract.

Drift of the inputs: ``drift_reference`` freezes the training forms' bins (stored
with a model), ``population_stability`` compares a week's forms with them (PSI per
input, and a warning only when the difference is larger than the week's size
explains, at a week-level false-alarm rate of :data:`FALSE_ALARM_RATE`, and PSI is
at least :data:`PSI_MODERATE`); ``drift_counts`` and ``stability_of_counts`` do the
same chunk by chunk, ``pool_counts`` adds up chunks or weeks; ``drift_p_value`` is
the test of one input. ``answer_codes`` is the fast look-up of each answer's
position in a list of answers.

``EncoderScoring`` and ``DesignScoring`` are what scoring needs of the two (the
fitted estimators are made of them), without scikit-learn. ``applicability_rules``
and ``not_applying`` say which questions do not apply to
a form (the contract's ``applies_unless``), as the encoder reads them.

Importing this package is cheap: each name's module is imported on first use, so
scoring, which needs the drift and answer look-ups and the applicability of
questions, never imports scikit-learn (only ``FormEncoder`` and ``AdditiveBasis`` do).
"""

from __future__ import annotations

from screening._lazy import lazy_names

_LAZY = {
    "AUDIT_ATTRIBUTES": "screening.features._encoding",
    "applicability_rules": "screening.features._encoding",
    "not_applying": "screening.features._encoding",
    "FormEncoder": "screening.features._encoder",
    "AdditiveBasis": "screening.features._basis",
    "DesignScoring": "screening.features._design",
    "EncoderScoring": "screening.features._encoding",
    "answer_codes": "screening.features._columns",
    "FALSE_ALARM_RATE": "screening.features._drift",
    "NOT_IN_FILE": "screening.features._drift",
    "PSI_MODERATE": "screening.features._drift",
    "PSI_WARNING": "screening.features._drift",
    "drift_counts": "screening.features._drift",
    "drift_p_value": "screening.features._drift",
    "drift_reference": "screening.features._drift",
    "pool_counts": "screening.features._drift",
    "population_stability": "screening.features._drift",
    "stability_of_counts": "screening.features._drift",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "AUDIT_ATTRIBUTES",
    "FALSE_ALARM_RATE",
    "NOT_IN_FILE",
    "PSI_MODERATE",
    "PSI_WARNING",
    "AdditiveBasis",
    "DesignScoring",
    "EncoderScoring",
    "FormEncoder",
    "answer_codes",
    "applicability_rules",
    "drift_counts",
    "drift_p_value",
    "drift_reference",
    "not_applying",
    "pool_counts",
    "population_stability",
    "stability_of_counts",
]
