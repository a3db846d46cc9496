"""The compiled kernels may be called from several threads at once (console, scheduler, Dask)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from models import RobustZDetector, to_levels
from tests.models.panels import random_panel


def test_threads_scoring_at_the_same_time_get_what_one_thread_gets():
    panel = random_panel(n_periods=120, n_entities=3000, seed=2)

    def score(_: int) -> np.ndarray:
        z = RobustZDetector(transform="yoy").fit(panel).score(panel)
        return to_levels(z, (1.0, 2.0, 3.0, 4.0), "both", min_periods=2).to_numpy()

    expected = score(0)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(score, range(16)))
    for codes in results:
        np.testing.assert_array_equal(codes, expected)
