"""Fixtures shared with the scoring tests: training forms validated once per session."""

from tests.scoring.conftest import training_forms  # noqa: F401 (a pytest fixture, used by name)
