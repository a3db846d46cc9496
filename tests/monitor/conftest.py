"""Fixtures shared by the pipeline tests: small scoring chunks, a second database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor import pipeline
from monitor.db import Database
from monitor.migrate import upgrade


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 5 firms, so a test's few dozen firms are scored in several pieces."""
    defaults = list(pipeline.score_one.__defaults__ or ())
    defaults[-1] = 5
    monkeypatch.setattr(pipeline.score_one, "__defaults__", tuple(defaults))


@pytest.fixture
def sqlite_twin(tmp_path: Path) -> Iterator[Database]:
    """Another freshly migrated SQLite database, to compare two ways of scoring."""
    twin = Database(f"sqlite:///{tmp_path / 'twin.db'}")
    upgrade(twin)
    yield twin
    twin.dispose()
