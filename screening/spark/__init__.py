"""The weekly batch on Apache Spark: the same validation and scoring, for more forms than one machine holds.

``score(forms, model=...)`` takes a Spark DataFrame of forms and gives a
:class:`SparkScore`: ``ranked`` and ``refused`` as Spark DataFrames with the
columns and values of :class:`screening.ScoreResult`, and ``summary``. Every
partition runs the library's own primitive (:func:`screening.scoring.score_chunk`)
through ``mapInArrow``, so Spark and the library cannot disagree on what is valid
or how a form is scored; what is global stays global (ids repeated anywhere are
found by a Spark aggregation, ranks come from one global order).
``score_files(input, model=..., output=...)`` is ``screening spark-score``: a CSV
(any dialect the reader accepts, read by the reader itself in Spark tasks),
``.xlsx`` or Parquet file or folder in, Parquet folders out. ``session()`` gives
the session to run in (``spark-submit``'s, or a local one).

Needs the ``spark`` extra (``pip install 'screening[spark]'``) and Java 17. Only
this package imports PySpark, and importing it is cheap: PySpark loads on first use.
"""

from __future__ import annotations

from screening._lazy import lazy_names

_LAZY = {
    "score": "screening.spark._score",
    "SparkScore": "screening.spark._score",
    "score_files": "screening.spark._files",
    "SparkFileScore": "screening.spark._files",
    "session": "screening.spark._session",
    "SparkTaskError": "screening.spark._session",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

__all__ = ["SparkFileScore", "SparkScore", "SparkTaskError", "score", "score_files", "session"]
