"""Fixtures for the model tests."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from tests.models.panels import frame_of

MakeFrame = Callable[..., pd.DataFrame]


@pytest.fixture
def make_frame() -> MakeFrame:
    """Build a panel from values: ``make_frame([1, 2, 3], frequency="A")``."""
    return frame_of
