"""Position of each answer in a list of answers, fast on a million forms (Arrow's hash look-up)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def answer_codes(values: pd.Series, answers: Sequence[object]) -> np.ndarray:
    """Index of each value in ``answers`` (compared as the column's type), -1 when blank or not there.

    Yes/no columns compare with ``True``/``False``; whole-number columns (physical
    load) with numbers; text columns with text.
    """
    if pd.api.types.is_bool_dtype(values.dtype) or values.dtype == "boolean":
        floats = values.astype("boolean").to_numpy(dtype=np.float64, na_value=np.nan)
        codes = np.full(len(values), -1, dtype=np.int64)
        for position, answer in enumerate(answers):
            if isinstance(answer, (bool, np.bool_)):
                codes[floats == float(answer)] = position
        return codes
    if pd.api.types.is_numeric_dtype(values.dtype):
        array = pa.array(values.to_numpy(dtype=np.float64, na_value=np.nan), from_pandas=True)
        numbers = [float(answer) for answer in answers if not isinstance(answer, (bool, np.bool_, str))]
        lookup = pa.array(numbers, pa.float64())
        positions = [k for k, answer in enumerate(answers) if not isinstance(answer, (bool, np.bool_, str))]
    else:
        array = pa.array(values, pa.string(), from_pandas=True)
        texts = [str(answer) for answer in answers if isinstance(answer, str)]
        lookup = pa.array(texts, pa.string())
        positions = [k for k, answer in enumerate(answers) if isinstance(answer, str)]
    found = pc.index_in(array, value_set=lookup)
    local = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    mapping = np.asarray([*positions, -1], dtype=np.int64)
    return mapping[np.where(local < 0, len(positions), local)]
