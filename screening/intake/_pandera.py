"""pandera without its pandas-on-Spark type hints: imported first of all by ``screening.intake``.

pandera imports ``pyspark.pandas`` as it is imported whenever PySpark is installed, for type
hints of pandas-on-Spark frames, which this project never uses. With the ``spark`` extra
installed that added 0.3 s to every command and printed PySpark's warning about pandas 3
twice on each (pyspark 4.3, pandera 0.35). The Spark engine (``screening.spark``) works on
Spark DataFrames through Arrow, never pandas-on-Spark, so pandera is imported here with that
one module hidden; it is importable again right after, for anyone who wants it.
"""

from __future__ import annotations

import sys

_HIDDEN = "pyspark.pandas"


def import_pandera() -> None:
    """Import ``pandera.pandas`` with ``pyspark.pandas`` hidden (nothing to do once either is imported)."""
    if "pandera" in sys.modules or _HIDDEN in sys.modules:
        return
    sys.modules[_HIDDEN] = None  # type: ignore[assignment]  # importing it now raises ImportError
    try:
        import pandera.pandas  # noqa: F401
    finally:
        if _HIDDEN in sys.modules and sys.modules[_HIDDEN] is None:
            del sys.modules[_HIDDEN]


import_pandera()
