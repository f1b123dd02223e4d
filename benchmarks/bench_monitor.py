"""Does the monitoring alarm mean something? False alarms in stable years, detection of a real shift, over seeds.

Goal (issue 16): a stable year raises no alarm in at least 95 % of seeds; a year with a real
shift of 5 percentage points in the 13-week rate is flagged within two months of it in at
least 80 % of seeds.

* One deployed model: fitted (additive family, as ``screening train`` fits it) on
  ``--train-rows`` simulated forms received over the two years before the monitored year.
* For each seed ``s``: a **stable year** (``simulate_year(seed=s)``: twelve months of
  ``--forms-per-month`` forms from the training population) and a **shifted year**
  (``seed=10_000 + s``): from July on, returns are slower, so that the expected 13-week rate
  of the same forms rises by exactly ``--shift`` (5 points) while the forms look the same
  (the hazard of returning divided by a factor, see ``screening.monitoring.simulate_year``).
  That is a change only outcomes can reveal, and the model's calibration-in-the-large moves
  by the full 5 points. Both years are extracted four months after they end, so every
  month can show its 13-week outcome.
* Each year goes through ``monitor(model, forms, by="month", tolerance=--tolerance)``,
  validation included, without subgroups (they do not decide the alarm) and with
  ``--n-boot`` replicates behind each interval.
* Reported: the share of stable years with any flagged month; the share of shifted years
  with July or August flagged; shifted years with a month flagged before July; the model's
  own mean calibration-in-the-large on the stable years (its bias moves the detection rate:
  slower returns make it under-predict, so a model that over-predicts a little needs more
  forms to be caught); each rate with its Wilson 95 % interval.

Power rests on the forms per month: the interval of a month's calibration-in-the-large is
about +-2 * sqrt(0.33 * 0.67 / n), and to lie wholly beyond 3 points when the truth is 5 it
must be narrower than about +-1.5 points, i.e. several thousand forms a month (a region, or
quarters for one jobcenter). The default run keeps the seeds and replicates few to stay
within about ten minutes on a busy 2-core machine; say so when quoting it.

    python benchmarks/bench_monitor.py [--seeds 40] [--forms-per-month 6000] [--n-boot 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time

import numpy as np
from _common import save

from screening.intake import forms_table, validate_table
from screening.models import fit_risk_model
from screening.monitoring import monitor, simulate_year
from screening.synthetic import simulate_cohort

SHIFT_MONTHS = ("2027-07", "2027-08")  # the shift starts in July: flagged "within two months" = July or August


def wilson(successes: int, n: int) -> list[float]:
    if n == 0:
        return [float("nan"), float("nan")]
    z, p = 1.96, successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(centre - half, 3), round(centre + half, 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--forms-per-month", type=int, default=6000)
    parser.add_argument("--shift", type=float, default=0.05)
    parser.add_argument("--tolerance", type=float, default=0.03)
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--save-as", default="monitor", help="results file name under benchmarks/results/")
    args = parser.parse_args()

    started = time.perf_counter()
    training = simulate_cohort(args.train_rows, seed=1, training=True, extraction_date=dt.date(2026, 12, 31)).forms
    model = fit_risk_model(validate_table(forms_table(training), training=True, language="en").valid,
                           family="additive", seed=0)
    train_seconds = time.perf_counter() - started
    print(f"model fitted on {args.train_rows:,} forms in {train_seconds:.0f} s")

    stable_alarms, detected, early_alarms, bias, first_flags, rows = 0, 0, 0, [], [], []
    for seed in range(args.seeds):
        stable = monitor(model, simulate_year(args.forms_per_month, seed=seed).forms, subgroups=(),
                         n_boot=args.n_boot, tolerance=args.tolerance)
        shifted = monitor(model, simulate_year(args.forms_per_month, seed=10_000 + seed, shift_month=7,
                                               slower_by=args.shift).forms,
                          subgroups=(), n_boot=args.n_boot, tolerance=args.tolerance)
        judged = stable.periods[stable.periods["status"].isin(["ok", "flagged"])]
        bias.append(float(judged["calibration_in_the_large"].mean()))
        flagged = shifted.flagged_periods
        stable_alarms += bool(stable.flagged_periods)
        detected += any(period in SHIFT_MONTHS for period in flagged)
        early_alarms += any(period < SHIFT_MONTHS[0] for period in flagged)
        first_flags.append(flagged[0] if flagged else None)
        rows.append({"seed": seed, "stable_flagged": stable.flagged_periods, "shifted_flagged": flagged,
                     "stable_mean_calibration_in_the_large": round(bias[-1], 4),
                     "shifted_july_august_calibration_in_the_large": [
                         round(float(shifted.periods.loc[p, "calibration_in_the_large"]), 4) for p in SHIFT_MONTHS]})
        print(f"seed {seed:>3}: stable flagged {stable.flagged_periods or '-'}; shifted flagged {flagged or '-'} "
              f"({time.perf_counter() - started:.0f} s)")

    n = args.seeds
    result = {
        "command": f"python benchmarks/bench_monitor.py --seeds {n} --forms-per-month {args.forms_per_month} "
                   f"--n-boot {args.n_boot} --shift {args.shift} --tolerance {args.tolerance} "
                   f"--train-rows {args.train_rows}" + (f" --save-as {args.save_as}" if args.save_as != "monitor" else ""),
        "seeds": n, "forms_per_month": args.forms_per_month, "shift": args.shift, "tolerance": args.tolerance,
        "n_boot": args.n_boot, "train_rows": args.train_rows,
        "stable_years_without_alarm": round(1 - stable_alarms / n, 3),
        "stable_years_without_alarm_interval": wilson(n - stable_alarms, n),
        "shifted_years_flagged_within_two_months": round(detected / n, 3),
        "shifted_years_flagged_within_two_months_interval": wilson(detected, n),
        "shifted_years_flagged_before_the_shift": early_alarms,
        "model_mean_calibration_in_the_large_stable": round(float(np.mean(bias)), 4),
        "seconds": round(time.perf_counter() - started, 1), "seconds_training": round(train_seconds, 1),
        "per_seed": rows,
    }
    path = save(args.save_as, result)
    print(f"stable years without an alarm: {result['stable_years_without_alarm']:.0%} "
          f"{result['stable_years_without_alarm_interval']}; shifted years flagged in July or August: "
          f"{result['shifted_years_flagged_within_two_months']:.0%} "
          f"{result['shifted_years_flagged_within_two_months_interval']}; flagged before the shift: {early_alarms}; "
          f"model's own calibration-in-the-large {result['model_mean_calibration_in_the_large_stable']:+.4f}; "
          f"{result['seconds']:.0f} s -> {path}")


if __name__ == "__main__":
    main()
