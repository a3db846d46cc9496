"""Keyset pages of the alert list: every sort walks forward and back without a gap or a
repeat, ties on the sort key included, filters kept; counts stop at a cap; the
dashboard's trend covers the recent months only."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from monitor.db import Database
from monitor.queries import (
    SORTS,
    AlertCursor,
    AlertFilters,
    InvalidFilter,
    alert_trend,
    count_alerts,
    list_alerts,
    newest_open_alerts,
)
from monitor.records import Alert
from monitor.vocabulary import Severity
from tests.web.dataset import World, build_world

EXTRA = 23  # with the world's six: pages of four end on a partial page


@pytest.fixture
def world(any_database: Database, now: datetime) -> World:
    """The test world plus alerts that share opening times, periods and colours."""
    with any_database.session() as session:
        world = build_world(session, now)
        model = session.get(Alert, world.alerts["firms"])
        for number in range(EXTRA):
            session.add(
                Alert(
                    fingerprint=f"paging:{number}",
                    entity_id=model.entity_id,
                    indicator_id=model.indicator_id,
                    model=model.model,
                    level=model.level,
                    dimension=model.dimension,
                    severity=list(Severity)[number % 4].value,
                    worst_severity=list(Severity)[number % 4].value,
                    status="resolved" if number % 3 == 0 else "firing",
                    period=date(2023, 1 + number % 2, 1),
                    last_period=date(2023, 1 + number % 2, 1),
                    value=1.0,
                    threshold=1.0,
                    synthetic=False,
                    opened_at=now - timedelta(days=number % 3),  # ties of eight
                    updated_at=now,
                )
            )
        session.commit()
        return world


def _sort_key(alert: Alert, sort: str) -> tuple:
    column = sort.lstrip("-")
    key = {"opened": alert.opened_at, "period": alert.period}.get(column)
    return (Severity(alert.severity).rank if key is None else key, alert.id)


def _expected(database: Database, sort: str, **filters: str) -> list[int]:
    with database.session() as session:
        alerts = list(session.scalars(select(Alert)))
    if filters.get("status") == "open":
        alerts = [alert for alert in alerts if alert.status != "resolved"]
    ordered = sorted(alerts, key=lambda alert: _sort_key(alert, sort), reverse=sort[0] == "-")
    return [alert.id for alert in ordered]


def _walk(database: Database, filters: AlertFilters) -> tuple[list[list[int]], AlertFilters]:
    """Every page from the first by ``next_cursor``; returns the pages' ids and the
    filters of the last page."""
    pages: list[list[int]] = []
    with database.session() as session:
        while True:
            page = list_alerts(session, filters)
            pages.append([alert.id for alert in page.items])
            assert page.has_prev == (len(pages) > 1)
            if page.next_cursor is None:
                return pages, filters
            filters = replace(filters, after=page.next_cursor, before=None)


@pytest.mark.parametrize("sort", SORTS)
def test_next_pages_continue_exactly_where_the_previous_ended(
    any_database: Database, world: World, sort: str
) -> None:
    pages, _last = _walk(any_database, AlertFilters(sort=sort, per_page=4))
    assert [len(ids) for ids in pages] == [4] * 7 + [1]
    assert [alert_id for ids in pages for alert_id in ids] == _expected(any_database, sort)


@pytest.mark.parametrize("sort", SORTS)
def test_previous_pages_lead_back_to_the_first(
    any_database: Database, world: World, sort: str
) -> None:
    pages, filters = _walk(any_database, AlertFilters(sort=sort, status="open", per_page=3))
    back: list[list[int]] = []
    with any_database.session() as session:
        page = list_alerts(session, filters)
        while page.prev_cursor is not None:
            filters = replace(filters, after=None, before=page.prev_cursor)
            page = list_alerts(session, filters)
            assert page.has_next
            back.append([alert.id for alert in page.items])
    assert back == pages[-2::-1]
    assert [i for ids in pages for i in ids] == _expected(any_database, sort, status="open")


def test_a_deep_cursor_keeps_the_filters_and_starts_after_its_alert(
    any_database: Database, world: World
) -> None:
    expected = _expected(any_database, "-period", status="open")
    with any_database.session() as session:
        middle = session.get(Alert, expected[9])
        cursor = AlertCursor.of(middle, "-period").text()
        args = {"status": "open", "sort": "-period", "after": cursor, "per_page": "5"}
        page = list_alerts(session, AlertFilters.from_mapping(args))
    assert [alert.id for alert in page.items] == expected[10:15]
    assert AlertFilters.from_mapping(args).as_args() == args
    assert page.total == len(expected) and not page.total_capped


def test_list_alerts_reads_one_page_and_never_pages_by_offset(
    any_database: Database, world: World
) -> None:
    statements: list[tuple[str, Any]] = []
    event.listen(
        any_database.engine,
        "before_cursor_execute",
        lambda *args: statements.append((args[2], args[3])),
    )
    with any_database.session() as session:
        for sort in SORTS:
            list_alerts(session, AlertFilters(sort=sort, per_page=4))
    reads = [(text, params) for text, params in statements if "FROM alerts" in text]
    assert reads and all("LIMIT" in text for text, _ in reads if "alerts.id IN" not in text)
    # SQLite's dialect always writes an OFFSET, bound to zero
    assert all("OFFSET" not in text or params[-1] == 0 for text, params in reads)


def test_counts_stop_at_the_cap(any_database: Database, world: World) -> None:
    total = len(_expected(any_database, "-opened"))
    with any_database.session() as session:
        assert count_alerts(session, AlertFilters(), cap=5) == (5, True)
        assert count_alerts(session, AlertFilters(), cap=total) == (total, False)
        page = list_alerts(session, AlertFilters(per_page=2))
    assert (page.total, page.total_capped) == (total, False)


@pytest.mark.parametrize(
    ("args", "sort"),
    [
        ({"after": "yesterday_3"}, "-opened"),
        ({"after": "2024-01-01T00:00:00_3"}, "-opened"),  # no time zone
        ({"after": "2024-01-01_x"}, "-period"),
        ({"after": "2024-01-01_3"}, "-severity"),
        ({"after": "red_3", "before": "red_9"}, "-severity"),
        ({"page": "2"}, "-opened"),
    ],
)
def test_malformed_cursors_are_refused(args: dict[str, str], sort: str) -> None:
    with pytest.raises(InvalidFilter):
        AlertFilters.from_mapping({**args, "sort": sort})


def test_cursor_text_reads_back_to_the_same_position(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        alert = session.get(Alert, world.alerts["policy"])
        for sort in SORTS:
            cursor = AlertCursor.of(alert, sort)
            assert AlertCursor.parse(cursor.text(), sort) == cursor


def test_newest_open_alerts_leave_out_resolved_ones(any_database: Database, world: World) -> None:
    expected = _expected(any_database, "-opened", status="open")[:5]
    with any_database.session() as session:
        assert [alert.id for alert in newest_open_alerts(session, 5)] == expected


def test_trend_counts_the_last_months_up_to_the_latest_period(
    any_database: Database, world: World
) -> None:
    with any_database.session() as session:
        alerts = list(session.scalars(select(Alert)))
        trend = alert_trend(session, periods=3)
    latest = max(alert.period for alert in alerts).replace(day=1)
    assert list(trend) == sorted(trend) and list(trend)[-1] == latest and len(trend) == 3
    for month, row in trend.items():
        raised = [a for a in alerts if a.period.replace(day=1) == month]
        assert sum(row.values()) == len(raised)
        for severity, count in row.items():
            assert count == sum(1 for a in raised if a.worst_severity == severity)
    older = [a for a in alerts if a.period.replace(day=1) < min(trend)]
    assert older  # the range leaves earlier alerts out
