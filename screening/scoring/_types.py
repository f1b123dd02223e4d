"""What scoring returns: light dataclasses, importable without pandas or scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: `import screening` stays light
    import pandas as pd

Priority = Literal["high", "medium", "low"]
#: What the questions cell starts with, per language.
QUESTION_PREFIX = {"da": "Spørg til: ", "en": "Ask about: "}


@dataclass(frozen=True)
class Reason:
    """One factor that raised or lowered a person's risk.

    Attributes
    ----------
    direction : {"up", "down"}
        ``up`` raises the risk of a long absence, ``down`` lowers it.
    group : str
        The model's input group (``expected_return``, ``diagnosis x physical_load``, ...).
    text : str
        The phrase a consultant reads, in the language asked for.
    effect : float
        The factor's contribution (``-log`` cumulative hazard scale, see
        :meth:`screening.models.RiskModel.contributions`): the group's, with its
        interactions and the answers that do not apply because of it.
    """

    direction: Literal["up", "down"]
    group: str
    text: str
    effect: float

    def __str__(self) -> str:
        return f"{'↑' if self.direction == 'up' else '↓'} {self.text}"


@dataclass(frozen=True)
class Score:
    """The screening result for one form.

    Attributes
    ----------
    case_id : str
    queue : {"early", "late"}
        ``early`` when the form arrived before 13 weeks of absence (it may take a
        contact slot), ``late`` from then on (see ``screening.scoring._rank``).
    horizon : int or None
        The weeks ``risk`` is about: 13 in the early queue; in the late queue the
        next horizon not reached (22, then 52); None at 52 weeks or more.
    risk : float or None
        Probability that the absence lasts more than ``horizon`` weeks from the
        first sick day, given the weeks absent so far (4 decimals).
    risks : dict of int to float
        The risk at every horizon the model knows (8, 13, 22, 52 weeks); 1 at the
        horizons already passed.
    priority : {"high", "medium", "low"} or None
        From :data:`screening.scoring.PRIORITY_THRESHOLDS` on ``risk``.
    reasons : tuple of Reason
        Up to three factors raising the risk, then up to three lowering it.
    model_version : str
    questions : tuple of str
        Up to three blank answers worth asking for, the one that could move the
        risk most first, named by the contract's field labels in the language
        asked for (``"egen forventning om tilbagevenden"``).
    """

    case_id: str
    risk: float | None
    risks: dict[int, float]
    priority: Priority | None
    reasons: tuple[Reason, ...]
    model_version: str
    queue: Literal["early", "late"] = "early"
    horizon: int | None = 13
    questions: tuple[str, ...] = ()

    @property
    def reasons_text(self) -> str:
        """The reasons as the batch writes them: ``"↑ ...; ↑ ...; ↓ ..."``."""
        return "; ".join(str(reason) for reason in self.reasons)

    def questions_text(self, *, language: Literal["da", "en"] = "da") -> str:
        """The questions as the batch writes them: ``"Spørg til: ...; ..."``, or ``""``."""
        if not self.questions:
            return ""
        return QUESTION_PREFIX[language] + "; ".join(self.questions)


@dataclass
class ScoreResult:
    """The outcome of scoring a table of forms.

    Attributes
    ----------
    ranked : pandas.DataFrame
        One row per scored form in the order the consultant should work, with the
        columns of the contract's "What the weekly batch writes": ``rank``,
        ``case_id``, ``jobcenter`` (when the forms have that column), ``queue``
        (``early``: not yet absent 13 weeks; ``late``: already past them),
        ``horizon`` (the weeks ``risk`` is about: 13 in the early queue, the next
        horizon not yet reached in the late one), ``risk`` (at that horizon),
        ``risk_8``, ``risk_22``, ``risk_52``, ``priority``,
        ``contact_this_week`` (NA unless a capacity was given), ``reasons``,
        ``questions`` (blank answers worth asking for), ``model_version``. Risks
        have 4 decimals.
    refused : pandas.DataFrame
        One line per reason a form was refused: ``row, case_id, column, value,
        reason, kind`` (values redacted).
    summary : dict
        Counts and facts of the run, no personal data: ``rows_read``, ``scored``,
        ``refused``, ``refused_by_reason``, ``priority_counts``, ``contacts``,
        ``model_version``, ``model_checksum``, ``seconds``, ...
    drift : pandas.DataFrame or None
        Population stability of each input against the training data
        (:func:`screening.scoring.population_stability`); None when the model has
        no drift reference.
    """

    ranked: pd.DataFrame
    refused: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    drift: pd.DataFrame | None = None
