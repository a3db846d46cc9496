"""The landing page: heat map of open warnings, colour counts, trend, stages, newest
alerts and data freshness."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from alerts.workflow import resolve
from monitor.db import Database
from monitor.queries import TREND_PERIODS, source_freshness, worst_open_severity
from monitor.records import Alert, JobRun, Source
from tests.web.dataset import World

CELL = re.compile(
    r'<td class="heat-cell heat-(\w+)">\s*<a class="heat-link" data-level="(\w+)" '
    r'data-dimension="(\w+)" href="([^"]+)">.*?</span>(\d+)</a>',
    re.S,
)


def test_home_is_the_dashboard_after_login(as_viewer: FlaskClient) -> None:
    page = as_viewer.get("/").get_data(as_text=True)
    assert 'id="heatmap"' in page and "数据新鲜度" in page


def test_heat_map_cells_take_the_worst_open_colour_and_link_to_the_filtered_list(
    as_viewer: FlaskClient, world: World
) -> None:
    page = as_viewer.get("/").get_data(as_text=True)
    cells = {(level, dimension): (worst, href, int(count)) for worst, level, dimension, href,
             count in CELL.findall(page)}  # fmt: skip
    assert cells, "no coloured heat-map cell"
    for (level, dimension), (_worst, href, count) in cells.items():
        assert f"level={level}" in href and f"dimension={dimension}" in href
        listed = as_viewer.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert f"{count} 条预警" in listed or f"{count} alert" in listed
    # The open acknowledged political alert of the government level is counted.
    assert ("government", "political") in cells


def test_worst_open_severity_picks_the_most_severe_non_zero_colour() -> None:
    assert worst_open_severity({"blue": 3, "yellow": 0, "orange": 1, "red": 0}) == "orange"
    assert worst_open_severity({"blue": 0, "red": 0}) is None


def test_dashboard_lists_newest_open_alerts_with_links_to_their_chart(
    as_viewer: FlaskClient, world: World
) -> None:
    page = as_viewer.get("/").get_data(as_text=True)
    for key in ("firms", "policy", "output", "energy", "rd"):
        assert f'href="/alerts/{world.alerts[key]}#chart-title"' in page


def test_a_source_without_a_good_run_since_its_schedule_is_late(database: Database) -> None:
    now = datetime(2024, 7, 10, 8, 0, tzinfo=UTC)
    with database.session() as session:
        fresh = Source(name="fresh", kind="csv", cron="0 6 * * *")
        stale = Source(name="stale", kind="csv", cron="0 6 * * *")
        never = Source(name="never", kind="csv", cron="0 6 * * *")
        session.add_all([fresh, stale, never])
        session.flush()
        for source, age in ((fresh, timedelta(hours=3)), (stale, timedelta(days=3))):
            session.add(
                JobRun(job="ingest", source_id=source.id, status="succeeded",
                       started_at=now - age, finished_at=now - age)
            )  # fmt: skip
        session.add(JobRun(job="ingest", source_id=fresh.id, status="failed", started_at=now))
    with database.session() as session:
        rows = {row["source"].name: row for row in source_freshness(session, now)}
    assert [rows[name]["late"] for name in ("fresh", "stale", "never")] == [False, True, True]
    assert rows["fresh"]["last_run"].status == "failed"
    assert rows["fresh"]["last_good"] == now - timedelta(hours=3)


def test_trend_shows_the_last_twelve_months_up_to_the_latest_alert_period(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    with database.session() as session:
        latest = session.scalar(select(func.max(Alert.period)))
    page = as_viewer.get("/").get_data(as_text=True)
    table = page[page.index('class="data compact trend"') :]
    months = re.findall(r'<th scope="row">(\d{4}-\d{2})</th>', table[: table.index("</table>")])
    assert len(months) == TREND_PERIODS == 12
    assert months == sorted(months) and months[-1] == f"{latest.year}-{latest.month:02d}"


def test_the_heat_map_follows_an_alert_change_at_once_and_is_not_recounted_otherwise(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    def cells() -> dict[tuple[str, str], int]:
        page = as_viewer.get("/").get_data(as_text=True)
        return {(level, dimension): int(count) for _w, level, dimension, _h, count
                in CELL.findall(page)}  # fmt: skip

    before = cells()
    with database.session() as session:
        alert = session.scalars(
            select(Alert).where(Alert.status != "resolved", Alert.level == "government")
        ).first()
        key = (alert.level, alert.dimension)
        resolve(session, alert, actor="vera", note="handled")
    after = cells()

    assert after.get(key, 0) == before[key] - 1
    assert cells() == after  # unchanged alerts: the kept counts are served again
