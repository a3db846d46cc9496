"""Validation of wide panels: rows are periods, columns are entities, values are floats.

Every public entry point of ``models`` passes its input through :func:`as_panel`, so a
bad frame fails here with a clear :class:`~models.errors.InvalidInput` rather than deep
inside numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import (
    infer_dtype,
    is_complex_dtype,
    is_numeric_dtype,
    is_object_dtype,
)

from models.errors import InvalidInput

#: Period frequencies (the indicator's ``frequency``) and the pandas offset of a period start.
PERIOD_OFFSETS: dict[str, str] = {"M": "MS", "Q": "QS-JAN", "A": "YS-JAN"}
#: How many periods make a year, per frequency: the lag of a year-on-year change.
PERIODS_PER_YEAR: dict[str, int] = {"M": 12, "Q": 4, "A": 1}

# What pandas infers for an object column that can safely become float64.
_NUMERIC_OBJECT_KINDS = frozenset(
    {"empty", "integer", "floating", "mixed-integer-float", "decimal"}
)


def check_index(frame: object, *, name: str = "panel") -> pd.DataFrame:
    """Check that ``frame`` is a DataFrame on sorted, unique period dates; return it.

    A Series is accepted as a one-entity panel.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise InvalidInput(
            f"{name} must have a DatetimeIndex of period start dates, got {type(index).__name__}"
        )
    if index.hasnans:
        raise InvalidInput(f"{name} has missing dates (NaT) in its index")
    if not index.is_monotonic_increasing:
        raise InvalidInput(f"{name} periods must be sorted in increasing order")
    if not index.is_unique:
        raise InvalidInput(f"{name} has repeated periods")
    if not frame.columns.is_unique:
        raise InvalidInput(f"{name} has repeated entity columns")
    return frame


def as_panel(frame: object, *, name: str = "panel") -> pd.DataFrame:
    """Validate a wide panel and return a float64 copy of it.

    Missing values (NaN, None, ``pd.NA``) become NaN, and so do infinities: a model
    treats a non-finite value as "no observation". Non-numeric columns are refused.
    """
    frame = check_index(frame, name=name)
    _check_numeric(frame, name)
    values = frame.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    values[np.isinf(values)] = np.nan
    return pd.DataFrame(values, index=frame.index, columns=frame.columns, copy=False)


def check_regular(index: pd.Index, frequency: str, *, name: str = "panel") -> None:
    """Check that ``index`` is a complete run of consecutive period starts.

    Positional lags and windows are calendar lags only on such an index; the caller
    reindexes to the full period range and leaves gaps as NaN.
    """
    if len(index) == 0:
        return
    offset = PERIOD_OFFSETS[frequency]
    expected = pd.date_range(index[0], periods=len(index), freq=offset)
    first_ok = expected[0] == index[0]
    if not first_ok or not (expected == index).all():
        raise InvalidInput(
            f"{name} periods must be consecutive {frequency} period start dates "
            f"(reindex to the complete period range, leaving gaps as NaN)"
        )


def _check_numeric(frame: pd.DataFrame, name: str) -> None:
    dtypes = frame.dtypes
    distinct = set(dtypes)
    if all(isinstance(dtype, np.dtype) and dtype.kind in "biuf" for dtype in distinct):
        return  # plain numpy numbers (the usual float64 panel): nothing to look at per column
    bad: list[object] = []
    for dtype in distinct:  # a handful of distinct dtypes, however many columns
        labels = dtypes.index[(dtypes == dtype).to_numpy()]
        if is_object_dtype(dtype):
            bad.extend(
                label
                for label in labels
                if infer_dtype(frame[label], skipna=True) not in _NUMERIC_OBJECT_KINDS
            )
        elif is_complex_dtype(dtype) or not is_numeric_dtype(dtype):
            bad.extend(labels)
    if bad:
        shown = ", ".join(repr(label) for label in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InvalidInput(f"{name} has non-numeric columns: {shown}{more}")
