"""Panels for the model tests: small hand-made ones and random ones with gaps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

FREQ_OFFSETS = {"M": "MS", "Q": "QS", "A": "YS"}


def frame_of(
    values: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
    *,
    frequency: str = "M",
    start: str = "2020-01-01",
    columns: Sequence[object] | None = None,
) -> pd.DataFrame:
    """A panel on consecutive period starts: one column ``firm`` for a flat list."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if columns is None:
        columns = ["firm"] if array.shape[1] == 1 else [f"e{i}" for i in range(array.shape[1])]
    index = pd.date_range(start, periods=len(array), freq=FREQ_OFFSETS[frequency])
    return pd.DataFrame(array, index=index, columns=list(columns))


def random_panel(
    n_periods: int = 60, n_entities: int = 25, *, seed: int = 0, frequency: str = "M"
) -> pd.DataFrame:
    """Positive random walks with about 10 % missing values, some flat stretches."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.03, (n_periods, n_entities))
    values = 100.0 * np.exp(np.cumsum(steps, axis=0))
    values[:, :3] = np.round(values[:, :3] / 10.0) * 10.0  # coarse: ties, zero MADs
    values[rng.random(values.shape) < 0.1] = np.nan
    return frame_of(values, frequency=frequency)
