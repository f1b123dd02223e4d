"""Does the drift warning mean something? False alarms and detection over many simulated weeks.

Goal (issue 11, part 4): a week drawn from the training population warns in at most 5 % of
weeks, whatever its size (25, 50, 100, 300 forms), and a clearly shifted week warns.

* The reference: bins and shares frozen from ``--training-rows`` simulated training forms
  (seed 1), as ``screening train`` stores them with a model.
* Weeks from the training population: for each seed ``1000 + i`` one simulated cohort (the
  simulator's scoring settings, validated as ``screening score`` validates them) gives
  ``--weeks-per-seed`` disjoint weeks of every size, so weeks differ by seed and by slice.
* Shifted weeks: from the rest of the same cohort (forms not in those slices), forms
  resampled without replacement so that a mental diagnosis is ``--mental-share`` of the
  week instead of the training share; everything that goes with a mental diagnosis in the
  simulator (age, sex, work situation, ...) shifts with it, as it would in a real jobcenter.
* Large files: weeks of ``--large-rows`` forms, from the training population and with a
  small real shift (mental share raised by 4 points): the PSI floor keeps the warning for
  changes large enough to matter.
* The test's own calibration, without the noise of a few hundred weeks: for each week size,
  the sum over inputs of the chance that an input's seeded Monte Carlo p-value falls below
  Holm's first threshold (``FALSE_ALARM_RATE / inputs``) when the week is drawn from the
  training shares, estimated from ``--calibration-draws`` fresh multinomial weeks per input.
  The sum bounds the week-level false-alarm rate of the test from above (before the PSI
  floor, which only lowers it).

Each rate is reported with its Wilson 95 % interval; the old rule (any input's PSI above
0.25) is reported beside the new one on the same weeks.

    python benchmarks/bench_drift.py [--weeks 400] [--weeks-per-seed 3] [--training-rows 30000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd
from _common import save

from screening.features import (
    FALSE_ALARM_RATE,
    PSI_WARNING,
    drift_counts,
    drift_reference,
    drift_p_value,
    stability_of_counts,
)
from screening.intake import RawTable, validate_table
from screening.synthetic import simulate_cohort

SIZES = (25, 50, 100, 300)
SHIFTED_SIZES = (25, 50, 100, 300)
WEEK_SEED, LARGE_SEED = 1000, 9000
POOL_ROWS = 2_000  # forms per seed for the shifted weeks (about 580 mental diagnoses)
MENTAL = "mental"


def valid_forms(rows: int, *, seed: int, training: bool = False) -> pd.DataFrame:
    """Simulated forms as the validator passes them on (the scoring path unless ``training``)."""
    cohort = simulate_cohort(rows, seed=seed, training=training)
    return validate_table(RawTable(cohort.forms, np.arange(2, rows + 2)), training=training).valid


def wilson(hits: int, total: int, z: float = 1.959964) -> list[float]:
    """Wilson score 95 % interval of a proportion."""
    if total == 0:
        return [float("nan"), float("nan")]
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def rate(hits: int, total: int) -> dict[str, object]:
    return {"weeks": total, "warned": hits, "rate": round(hits / total, 4), "ci95": wilson(hits, total)}


def judge(reference: dict, week: pd.DataFrame) -> pd.DataFrame:
    return stability_of_counts(reference, drift_counts(reference, week))


def shifted_week(pool: pd.DataFrame, size: int, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """``size`` forms of ``pool`` with ``share`` of them mental diagnoses (drawn without replacement)."""
    mental = np.flatnonzero((pool["diagnosis_group"] == MENTAL).fillna(False).to_numpy(dtype=bool))
    others = np.setdiff1d(np.arange(len(pool)), mental)
    n_mental = int(round(share * size))
    rows = np.concatenate([rng.choice(mental, n_mental, replace=False),
                           rng.choice(others, size - n_mental, replace=False)])
    return pool.iloc[rng.permutation(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=400, help="seeds; shifted weeks per size")
    parser.add_argument("--weeks-per-seed", type=int, default=3,
                        help="weeks of each size from the training population per seed")
    parser.add_argument("--calibration-draws", type=int, default=100_000)
    parser.add_argument("--training-rows", type=int, default=30_000)
    parser.add_argument("--mental-share", type=float, default=0.60)
    parser.add_argument("--large-rows", type=int, default=20_000)
    parser.add_argument("--large-weeks", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()

    training = valid_forms(args.training_rows, seed=1, training=True)
    reference = drift_reference(training)
    training_mental = float((training["diagnosis_group"] == MENTAL).fillna(False).mean())
    inputs = len(reference["inputs"])
    print(f"reference: {args.training_rows:,} training forms, {inputs} inputs, "
          f"mental diagnoses {training_mental:.1%}")

    # Weeks from the training population, and shifted weeks (mental diagnoses raised) from the same seeds.
    null_new = dict.fromkeys(SIZES, 0)
    null_old = dict.fromkeys(SIZES, 0)
    null_inputs: dict[int, dict[str, int]] = {size: {} for size in SIZES}
    hits = {size: [0, 0, 0] for size in SHIFTED_SIZES}  # any warning, diagnosis_group warns, old rule
    seconds_judging: list[float] = []
    for i in range(args.weeks):
        cohort = valid_forms(sum(SIZES) * args.weeks_per_seed + POOL_ROWS, seed=WEEK_SEED + i)
        offset = 0
        for size in [size for size in SIZES for _ in range(args.weeks_per_seed)]:
            week = cohort.iloc[offset:offset + size]
            offset += size
            tick = time.perf_counter()
            drift = judge(reference, week)
            seconds_judging.append(time.perf_counter() - tick)
            null_new[size] += bool(drift["warning"].any())
            null_old[size] += bool((drift["psi"] > PSI_WARNING).any())
            for name in drift.loc[drift["warning"], "input"]:
                null_inputs[size][name] = null_inputs[size].get(name, 0) + 1
        pool = cohort.iloc[offset:]
        rng = np.random.default_rng(WEEK_SEED + i)
        for size in SHIFTED_SIZES:
            drift = judge(reference, shifted_week(pool, size, args.mental_share, rng)).set_index("input")
            hits[size][0] += bool(drift["warning"].any())
            hits[size][1] += bool(drift.loc["diagnosis_group", "warning"])
            hits[size][2] += bool((drift["psi"] > PSI_WARNING).any())
    null_weeks = args.weeks * args.weeks_per_seed
    training_population = {
        str(size): {"new_rule": rate(null_new[size], null_weeks),
                    "old_rule_psi_above_0.25": rate(null_old[size], null_weeks),
                    "warned_inputs": dict(sorted(null_inputs[size].items()))}
        for size in SIZES}
    for size in SIZES:
        new, old = training_population[str(size)]["new_rule"], training_population[str(size)]["old_rule_psi_above_0.25"]
        print(f"training population, {size:>3} forms: warned {new['rate']:.1%} of {null_weeks} weeks "
              f"(95 % CI {new['ci95'][0]:.1%}–{new['ci95'][1]:.1%}); old rule {old['rate']:.1%}")
    shifted: dict[str, object] = {}
    for size in SHIFTED_SIZES:
        shifted[str(size)] = {"any_warning": rate(hits[size][0], args.weeks),
                              "diagnosis_group_warns": rate(hits[size][1], args.weeks),
                              "old_rule_psi_above_0.25": rate(hits[size][2], args.weeks)}
        found = shifted[str(size)]["diagnosis_group_warns"]
        print(f"mental {args.mental_share:.0%} instead of {training_mental:.0%}, {size:>3} forms: "
              f"diagnosis_group warned in {found['rate']:.1%} of {args.weeks} weeks "
              f"(95 % CI {found['ci95'][0]:.1%}–{found['ci95'][1]:.1%}); any input "
              f"{shifted[str(size)]['any_warning']['rate']:.1%}")

    # Large files: the PSI floor.
    large = {"training_population": [0, 0], "mental_plus_4_points": [0, 0]}
    large_psi: list[float] = []
    for i in range(args.large_weeks):
        pool = valid_forms(args.large_rows * 2, seed=LARGE_SEED + i)
        rng = np.random.default_rng(LARGE_SEED + i)
        same = judge(reference, pool.iloc[:args.large_rows])
        large["training_population"][0] += bool(same["warning"].any())
        large["training_population"][1] += bool((same["p_adjusted"] <= 0.05).any())
        week = shifted_week(pool, args.large_rows, training_mental + 0.04, rng)
        drift = judge(reference, week).set_index("input")
        large["mental_plus_4_points"][0] += bool(drift.loc["diagnosis_group", "warning"])
        large["mental_plus_4_points"][1] += bool(drift.loc["diagnosis_group", "p_adjusted"] <= 0.05)
        large_psi.append(float(drift.loc["diagnosis_group", "psi"]))
    large_files = {name: {"warned": rate(warned, args.large_weeks), "significant": rate(significant, args.large_weeks)}
                   for name, (warned, significant) in large.items()}
    large_files["rows"] = args.large_rows
    large_files["mental_plus_4_points_median_psi"] = round(float(np.median(large_psi)), 4)
    print(f"{args.large_rows:,} forms, mental +4 points: significant in "
          f"{large_files['mental_plus_4_points']['significant']['rate']:.0%}, warned in "
          f"{large_files['mental_plus_4_points']['warned']['rate']:.0%} (median PSI "
          f"{large_files['mental_plus_4_points_median_psi']:.3f}); from the training population warned in "
          f"{large_files['training_population']['warned']['rate']:.0%}")

    # The seeded test's calibration: sum over inputs of P(p-value <= Holm's first threshold).
    threshold = FALSE_ALARM_RATE / inputs
    calibration = {}
    for size in SIZES:
        bound = 0.0
        for k, (name, spec) in enumerate(reference["inputs"].items()):
            shares = np.asarray(spec["shares"], dtype=np.float64)  # the training population itself
            draws = np.random.default_rng([77, size, k]).multinomial(size, shares / shares.sum(),
                                                                      size=args.calibration_draws)
            bound += float(np.mean(drift_p_value(name, spec["shares"], draws) <= threshold))
        calibration[str(size)] = round(bound, 4)
    print("test calibration (sum over inputs of the chance of p <= 5 %/" f"{inputs}, "
          f"{args.calibration_draws:,} draws each): "
          + ", ".join(f"{size} forms {calibration[str(size)]:.2%}" for size in SIZES))

    total = time.perf_counter() - started
    result = {
        "training_rows": args.training_rows,
        "inputs": inputs,
        "training_mental_share": round(training_mental, 4),
        "mental_share_shifted": args.mental_share,
        "training_population_weeks_per_size": null_weeks,
        "shifted_weeks_per_size": args.weeks,
        "seeds": {"training": 1, "weeks": f"{WEEK_SEED}..{WEEK_SEED + args.weeks - 1}",
                  "large_files": f"{LARGE_SEED}..{LARGE_SEED + args.large_weeks - 1}"},
        "training_population": training_population,
        "shifted_mental": shifted,
        "large_files": large_files,
        "test_calibration_union_bound": calibration,
        "calibration_draws_per_input": args.calibration_draws,
        "seconds_per_week_judged_median": round(float(np.median(seconds_judging)), 4),
        "seconds_per_week_judged_max": round(float(np.max(seconds_judging)), 4),
        "seconds_total": round(total, 1),
    }
    print(f"judging a week: median {result['seconds_per_week_judged_median'] * 1000:.1f} ms "
          f"(first of a size, drawing the null: {result['seconds_per_week_judged_max'] * 1000:.0f} ms); "
          f"total {total:.0f} s")
    print(f"wrote {save('drift', result)}")


if __name__ == "__main__":
    main()
