"""Revised values keep their vintages; scoring sees the latest; as-of queries see the past."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from monitor.ingest import ingest_frame
from monitor.vintages import as_of, as_of_panel, history
from tests.monitor.source_helpers import load_small_catalog, stored

MARCH = date(2024, 3, 1)
FIRST = datetime(2024, 4, 10, tzinfo=UTC)
SECOND = datetime(2024, 5, 10, tzinfo=UTC)
THIRD = datetime(2024, 6, 10, tzinfo=UTC)


@pytest.fixture
def catalogued(any_database, tmp_path):
    return load_small_catalog(any_database, tmp_path)


def frame(value: float | str, flag: str = "") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": ["GOV_IVA", "GOV_IVA"],
            "entity": ["SD", "SD-QD"],
            "period": ["2024-03", "2024-03"],
            "value": [value, 50.0],
            "flag": [flag, ""],
        }
    )


def test_a_revision_keeps_the_earlier_value_and_scoring_sees_the_latest(catalogued):
    first = ingest_frame(catalogued, frame(100.0, "provisional"), source_name="s", now=FIRST)
    second = ingest_frame(catalogued, frame(101.0), source_name="s", now=SECOND)
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 1)
    assert stored(catalogued)[("GOV_IVA", "SD", MARCH)] == 101.0
    with catalogued.session() as session:
        versions = history(session, "GOV_IVA", "SD", MARCH)
    assert [(v["value"], v["flag"], v["job_run_id"]) for v in versions] == [
        (100.0, "provisional", first.job_run_id),
        (101.0, None, second.job_run_id),
    ]
    assert versions[0]["retrieved_at"] == FIRST
    assert versions[0]["superseded_at"] == SECOND


def test_as_of_answers_with_the_value_known_at_each_moment(catalogued):
    ingest_frame(catalogued, frame(100.0), source_name="s", now=FIRST)
    ingest_frame(catalogued, frame(101.0), source_name="s", now=SECOND)
    ingest_frame(catalogued, frame(102.0), source_name="s", now=THIRD)
    with catalogued.session() as session:
        known = [
            as_of(session, "GOV_IVA", "SD", MARCH, when)
            for when in (
                datetime(2024, 4, 1, tzinfo=UTC),
                FIRST,
                datetime(2024, 5, 1, tzinfo=UTC),
                SECOND,
                datetime(2024, 6, 1, tzinfo=UTC),
                THIRD,
            )
        ]
        panel = as_of_panel(session, datetime(2024, 5, 20, tzinfo=UTC))
    assert known == [None, 100.0, 100.0, 101.0, 101.0, 102.0]
    assert sorted(panel["value"].tolist()) == [50.0, 101.0]


def test_an_unchanged_value_adds_no_vintage(catalogued):
    ingest_frame(catalogued, frame(100.0), source_name="s", now=FIRST)
    again = ingest_frame(catalogued, frame(100.0), source_name="s", now=SECOND)
    assert again.unchanged == 2
    with catalogued.session() as session:
        assert len(history(session, "GOV_IVA", "SD", MARCH)) == 1
        assert as_of(session, "GOV_IVA", "SD", MARCH, THIRD) == 100.0


def test_a_missing_value_never_replaces_a_stored_one_with_zero(catalogued):
    ingest_frame(catalogued, frame(100.0), source_name="s", now=FIRST)
    report = ingest_frame(catalogued, frame("", "missing"), source_name="s", now=SECOND)
    assert report.rejected_rows[0]["reason"] == "missing value"
    assert stored(catalogued)[("GOV_IVA", "SD", MARCH)] == 100.0
