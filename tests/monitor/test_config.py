"""Settings read from the environment: defaults and clear errors for bad values."""

from __future__ import annotations

import pytest

from monitor.config import scoring_threads
from monitor.errors import ConfigError


def test_scoring_threads_default_to_two_and_follow_the_environment() -> None:
    assert scoring_threads({}) == 2
    assert scoring_threads({"CLUSTERWATCH_SCORE_THREADS": "4"}) == 4


@pytest.mark.parametrize("raw", ["0", "-1", "two"])
def test_scoring_threads_below_one_or_not_a_number_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="CLUSTERWATCH_SCORE_THREADS"):
        scoring_threads({"CLUSTERWATCH_SCORE_THREADS": raw})
