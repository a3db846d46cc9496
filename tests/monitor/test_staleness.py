"""Late series and late sources, per frequency and schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from monitor.ingest import ingest_frame
from monitor.records import JobRun, Source
from monitor.sources import add_source
from monitor.staleness import last_fire, late_series, late_sources
from tests.monitor.source_helpers import load_small_catalog

JUNE_15 = datetime(2024, 6, 15, 4, 0, tzinfo=UTC)


@pytest.fixture
def catalogued(database, tmp_path):
    return load_small_catalog(database, tmp_path)


def test_a_series_is_late_once_its_frequency_says_a_value_is_overdue(catalogued):
    frame = pd.DataFrame(
        {
            "indicator": ["GOV_IVA", "GOV_IVA", "GOV_CTRL"],
            "entity": ["SD", "SD-QD", "SD"],
            "period": ["2024-05", "2023-12", "2024Q1"],
            "value": [1, 2, 3],
        }
    )
    ingest_frame(catalogued, frame, source_name="s", now=JUNE_15)
    with catalogued.session() as session:
        late = late_series(session, now=JUNE_15)
    # May is the latest month that ended; December leaves Jan..May (5) missed.
    assert [(item.indicator, item.entity, item.missed) for item in late] == [
        ("GOV_IVA", "SD-QD", 5)
    ]
    assert "no value since 2023-12" in late[0].describe()


def test_last_fire_of_a_cron_in_beijing_time():
    # 06:00 Beijing = 22:00 UTC the day before
    assert last_fire("0 6 * * *", JUNE_15) == datetime(2024, 6, 14, 22, 0, tzinfo=UTC)
    assert last_fire("0 6 1 1 *", JUNE_15) == datetime(2023, 12, 31, 22, 0, tzinfo=UTC)
    assert last_fire("* * * * *", JUNE_15) == JUNE_15


def test_a_scheduled_source_without_a_successful_run_since_its_fire_is_late(catalogued):
    with catalogued.session() as session:
        daily = add_source(session, name="daily", kind="push", cron="0 6 * * *")
        add_source(session, name="manual", kind="push")
        fresh = add_source(session, name="fresh", kind="push", cron="0 6 * * *")
        session.add(
            JobRun(
                job="ingest",
                source_id=fresh.id,
                status="succeeded",
                started_at=datetime(2024, 6, 14, 22, 5, tzinfo=UTC),
            )
        )
        session.add(
            JobRun(
                job="ingest",
                source_id=daily.id,
                status="failed",
                started_at=datetime(2024, 6, 14, 22, 5, tzinfo=UTC),
            )
        )
    with catalogued.session() as session:
        late = late_sources(session, now=JUNE_15)
        assert [item.name for item in late] == ["daily"]
        session.get_one(Source, daily.id).enabled = False
        assert late_sources(session, now=JUNE_15) == []
