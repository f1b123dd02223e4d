"""Regenerate the screenshots of the weekly page in the docs: ``docs/screenshots/page-1400.png`` and ``page-800.png``.

The page of a simulated week as a consultant opens it on Monday: 300 forms, 1 % with a defect
the validator refuses, a fifth of them received after week 13 (the late queue), five contact
slots per jobcenter, scored by the model kept with the tests. Rendered in headless Chromium
(Debian's ``chromium``) at 1400 and 800 CSS pixels wide; the top of the page is captured.

Usage, from the repository root::

    .venv/bin/python scripts/screenshots.py [--model DIR] [--out docs/screenshots] [--html week.html]

The same model and seeds give the same page (its bytes); the PNG files may differ by a
few pixels between Chromium versions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the browser driver lives with the tests

from screening.scoring import load_model, render_page  # noqa: E402
from screening.synthetic import simulate_cohort  # noqa: E402
from tests.scoring._chromium import Chromium, find_chromium  # noqa: E402

#: Window widths (CSS pixels) and the height of the page captured at each.
SHOTS = {1400: 1500, 800: 1700}
LATE_WEEKS = ("13", "14.5", "17", "20", "21.9", "26", "30", "39", "45", "52")


def simulated_week(rows: int = 300, *, seed: int = 47, invalid_share: float = 0.01,
                   late_share: float = 0.2) -> pd.DataFrame:
    """Simulated forms as a file holds them, ``late_share`` of them received after week 13.

    The simulator's forms mostly arrive in the first weeks of absence; the late ones are
    given weeks past 13 (and no first sick day, so that the dates cannot disagree).
    """
    forms = simulate_cohort(rows, seed=seed, invalid_share=invalid_share).forms.copy()
    rng = np.random.default_rng(seed)
    late = rng.permutation(rows)[: round(late_share * rows)]
    forms.loc[late, "sick_weeks"] = rng.choice(LATE_WEEKS, len(late))
    forms.loc[late, "sick_leave_start"] = None
    return forms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "tests/data/model_0_1_0/model"), help="model directory")
    parser.add_argument("--out", default=str(ROOT / "docs/screenshots"), help="folder of the PNG files")
    parser.add_argument("--html", help="also keep the page here")
    args = parser.parse_args(argv)
    executable = find_chromium()
    if executable is None:
        print("screenshots: Chromium is not installed (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    model = load_model(args.model, single_forms=False)
    result = model.score(simulated_week(), capacity=5, per="jobcenter")
    page = render_page(result, model=model, input_name="uge47.csv", output_name="uge47_ranked.csv",
                       rejects_name="uge47_ranked_refused.csv")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        html = Path(args.html) if args.html else Path(folder) / "week.html"
        html.write_text(page, encoding="utf-8")
        browser = Chromium(executable)
        try:
            browser.open(html.as_uri(), width=min(SHOTS), height=900)
            for width, height in SHOTS.items():
                browser.resize(width, 900)
                shot = browser.screenshot(out / f"page-{width}.png", height=height)
                print(f"wrote {shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}")
            errors = browser.console_errors()
        finally:
            browser.close()
    if errors:
        print(f"screenshots: the page logged errors: {errors}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
