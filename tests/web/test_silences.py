"""Silences in the console: listing, creating with matchers by code, refusals, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from alerts.silences import create_silence
from monitor.db import Database
from monitor.records import Silence, utc_now
from tests.web.conftest import log_in
from tests.web.dataset import World

SPRING_FESTIVAL = {
    "levels": ["industry"],
    "dimensions": ["economic"],
    "clusters": "WF-POWER",
    "indicators": "ind.new_firms",
    "starts_at": "2027-02-05T00:00",
    "ends_at": "2027-02-12T00:00",
    "recurrence": "yearly",
    "repeat_until": "2030-03-01T00:00",
    "reason": "春节停产，新进入企业数按惯例回落",
}


def _silences(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Silence)) or 0


def _active_silence(database: Database, world: World) -> int:
    now = utc_now()
    with database.session() as session:
        silence = create_silence(
            session,
            author="ada",
            reason="青岛家电集群年度检修",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
            entity_ids=[world.entities["QD-HOME"]],
        )
        return silence.id


def test_an_operator_creates_a_yearly_spring_festival_silence(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    response = as_operator.post("/silences/", data=SPRING_FESTIVAL)
    assert response.status_code == 302 and response.location == "/silences/"
    with database.session() as session:
        silence = session.scalars(select(Silence)).one()
        assert silence.cluster_ids == [world.entities["WF-POWER"]]
        assert silence.indicator_ids == [world.indicators["firms"]]
        assert (silence.levels, silence.dimensions) == (["industry"], ["economic"])
        # typed in Beijing time, stored in UTC
        assert silence.starts_at == datetime(2027, 2, 4, 16, 0, tzinfo=UTC)
        assert silence.repeat_until == datetime(2030, 2, 28, 16, 0, tzinfo=UTC)
        assert (silence.recurrence, silence.author) == ("yearly", "otto")
    page = as_operator.get("/silences/").get_data(as_text=True)
    for shown in ("春节停产", "每年", "2027-02-05 00:00", "2027-02-12 00:00", "待生效", "WF-POWER"):
        assert shown in page


def test_a_spring_festival_silence_can_move_with_the_festival(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    response = as_operator.post("/silences/", data={**SPRING_FESTIVAL, "recurrence": "festival"})

    assert response.status_code == 302
    with database.session() as session:
        assert session.scalars(select(Silence.recurrence)).one() == "festival"
    page = as_operator.get("/silences/").get_data(as_text=True)
    assert "2027-02-05 00:00" in page and "2027-02-12 00:00" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reason": "   "}, "请说明静默这些预警的原因"),
        ({"entities": "QD-HOME, NO-SUCH-FIRM"}, "未知代码：NO-SUCH-FIRM"),
        ({"regions": "WF-POWER"}, "未知代码：WF-POWER"),  # a cluster is not a region
        ({"indicators": "ind.nothing"}, "未知代码：ind.nothing"),
        ({"ends_at": "2027-02-01T00:00"}, "静默的结束时间必须晚于开始时间"),
    ],
)
def test_it_refuses_a_silence_with_bad_input(
    as_operator: FlaskClient,
    database: Database,
    world: World,
    changes: dict[str, Any],
    message: str,
) -> None:
    response = as_operator.post("/silences/", data={**SPRING_FESTIVAL, **changes})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _silences(database) == 0


def test_a_silence_without_any_matcher_is_refused(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    matchers = ("levels", "dimensions", "clusters", "indicators")
    data = {key: value for key, value in SPRING_FESTIVAL.items() if key not in matchers}
    response = as_admin.post("/silences/", data=data)
    assert response.status_code == 400 and "静默至少需要一个匹配条件" in response.get_data(
        as_text=True
    )
    assert _silences(database) == 0


def test_a_viewer_reads_silences_but_may_not_create_or_expire(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    silence_id = _active_silence(database, world)
    page = as_viewer.get("/silences/").get_data(as_text=True)
    assert "青岛家电集群年度检修" in page and "生效中" in page
    assert "新建静默" not in page and "立即终止" not in page
    assert as_viewer.post("/silences/", data=SPRING_FESTIVAL).status_code == 403
    assert as_viewer.post(f"/silences/{silence_id}/expire").status_code == 403
    assert _silences(database) == 1


def test_expire_now_ends_an_active_silence(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    silence_id = _active_silence(database, world)
    response = as_operator.post(f"/silences/{silence_id}/expire", follow_redirects=True)
    assert "静默已终止" in response.get_data(as_text=True)
    with database.session() as session:
        silence = session.get(Silence, silence_id)
        assert silence.expired_by == "otto" and silence.expired_at is not None
    assert "青岛家电集群年度检修" not in as_operator.get("/silences/").get_data(as_text=True)
    listed = as_operator.get("/silences/?expired=1").get_data(as_text=True)
    assert "青岛家电集群年度检修" in listed and "已失效" in listed and "由 otto 终止" in listed
    again = as_operator.post(f"/silences/{silence_id}/expire", follow_redirects=True)
    assert "该静默已失效" in again.get_data(as_text=True)


def test_creating_a_silence_needs_the_csrf_token(
    csrf_app: Flask, database: Database, world: World
) -> None:
    client = csrf_app.test_client()
    log_in(client, "otto")
    assert client.post("/silences/", data=SPRING_FESTIVAL).status_code == 400
    assert _silences(database) == 0
