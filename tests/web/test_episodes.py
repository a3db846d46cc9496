"""Shock episodes dated by staff: who may date them, and the backtest scoring against them."""

from __future__ import annotations

import re
from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import select

from monitor.db import Database
from monitor.demo.load import DEMO_SOURCE
from monitor.episodes import add_episode
from monitor.records import Entity, Episode, Shock, Threshold
from tests.web.dataset import World
from tests.web.test_threshold_preview import CURRENT
from tests.web.test_thresholds import VALID_DOWN
from web.backtest import evaluate, prepare

NEW_EPISODE = {
    "entity": "WF-POWER",
    "dimension": "economic",
    "start": "2022-01-01",
    "end": "",
    "label": "2022 年订单骤降",
}
SOURCE = re.compile(r'id="preview-episode-source" data-source="(\w+)"')


def _threshold(database: Database, world: World) -> Threshold:
    return database.sessions().get(Threshold, world.thresholds["industry_economic"])


def _date(database: Database, code: str, start: date, dimension: str | None = "economic") -> None:
    with database.session() as session:
        entity = session.scalar(select(Entity).where(Entity.code == code))
        add_episode(session, entity_id=entity.id, start=start, end=None, label="test",
                    author="otto", dimension=dimension)  # fmt: skip


def _detected_shock(database: Database, world: World, start: date) -> None:
    with database.session() as session:
        session.add(
            Shock(entity_id=world.entities["WF-POWER"], indicator_id=world.indicators["firms"],
                  number=1, cause="drop", outcome="ongoing", start=start, peak=start,
                  trough=start, latest=start, baseline=900, peak_value=840, trough_value=737,
                  absorption_periods=1)
        )  # fmt: skip


def test_dated_episodes_replace_the_detected_shocks_in_the_backtest(
    database: Database, world: World
) -> None:
    _detected_shock(database, world, date(2019, 1, 1))
    detected = prepare(database.sessions(), _threshold(database, world))
    assert detected.source == "detected"
    _date(database, "WF-POWER", date(2022, 1, 1))
    replay = prepare(database.sessions(), _threshold(database, world))
    assert replay.source == "dated"
    # Against a shock in 2022: 2020 signals (hit), 2021 does not (miss), 2018 signals with
    # no shock in 2019-2020 (false alarm), 2019 is quiet.
    assert evaluate(replay, CURRENT).signals == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert evaluate(detected, CURRENT).signals != evaluate(replay, CURRENT).signals


def test_an_episode_dated_for_a_province_covers_its_cities_clusters(
    database: Database, world: World
) -> None:
    with database.session() as session:
        city = Entity(code="WF", name_zh="潍坊市", name_en="Weifang", level="government",
                      kind="city", parent_id=world.entities["SD"])  # fmt: skip
        session.add(city)
        session.flush()
        session.get(Entity, world.entities["WF-POWER"]).region_id = city.id
    _date(database, "SD", date(2022, 1, 1))
    replay = prepare(database.sessions(), _threshold(database, world))
    assert evaluate(replay, CURRENT).signals == {"A": 1, "B": 1, "C": 1, "D": 1}


def test_an_episode_of_another_dimension_is_not_a_reference(
    database: Database, world: World
) -> None:
    _date(database, "WF-POWER", date(2022, 1, 1), dimension="trade")
    replay = prepare(database.sessions(), _threshold(database, world))
    assert replay.source is None and evaluate(replay, CURRENT).signals is None


def test_the_preview_says_which_episodes_it_scores_against(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    url = f"/thresholds/{world.thresholds['industry_economic']}/preview"
    assert SOURCE.search(as_admin.post(url, data=VALID_DOWN).get_data(as_text=True)) is None
    _detected_shock(database, world, date(2022, 1, 1))
    page = as_admin.post(url, data=VALID_DOWN).get_data(as_text=True)
    assert SOURCE.search(page).group(1) == "detected"
    _date(database, "WF-POWER", date(2021, 1, 1))
    page = as_admin.post(url, data=VALID_DOWN).get_data(as_text=True)
    assert SOURCE.search(page).group(1) == "dated" and "工作人员为该层级和维度标注" in page


def test_operators_date_and_remove_episodes(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    response = as_operator.post("/episodes/", data=NEW_EPISODE)
    assert response.status_code == 302
    with database.session() as session:
        episode = session.scalars(select(Episode)).one()
        assert (episode.entity_id, episode.dimension, episode.start, episode.end) == (
            world.entities["WF-POWER"], "economic", date(2022, 1, 1), None
        )  # fmt: skip
        assert (episode.author, episode.label) == ("otto", "2022 年订单骤降")
        episode_id = episode.id
    assert "2022 年订单骤降" in as_operator.get("/episodes/").get_data(as_text=True)
    assert as_operator.post(f"/episodes/{episode_id}/delete").status_code == 302
    with database.session() as session:
        assert session.scalars(select(Episode)).all() == []


def test_a_bad_episode_is_explained_and_not_stored(
    as_operator: FlaskClient, database: Database
) -> None:
    unknown = as_operator.post("/episodes/", data={**NEW_EPISODE, "entity": "NOWHERE"})
    assert unknown.status_code == 400 and "NOWHERE" in unknown.get_data(as_text=True)
    backwards = as_operator.post("/episodes/", data={**NEW_EPISODE, "end": "2021-06-01"})
    assert backwards.status_code == 400 and "结束日期早于开始日期" in backwards.get_data(
        as_text=True
    )
    blank = as_operator.post("/episodes/", data={**NEW_EPISODE, "label": "   "})
    assert blank.status_code == 400 and "请为该冲击事件填写名称" in blank.get_data(as_text=True)
    with database.session() as session:
        assert session.scalars(select(Episode)).all() == []


def test_viewers_see_episodes_but_cannot_change_them(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    _date(database, "WF-POWER", date(2022, 1, 1))
    page = as_viewer.get("/episodes/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "潍坊动力装备集群" in text and 'action="/episodes/"' not in text
    assert as_viewer.post("/episodes/", data=NEW_EPISODE).status_code == 403
    episode_id = database.sessions().scalars(select(Episode.id)).one()
    assert as_viewer.post(f"/episodes/{episode_id}/delete").status_code == 403


def test_episodes_dated_by_the_demo_are_marked_as_synthetic(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    _date(database, "WF-POWER", date(2022, 1, 1))
    assert 'class="badge synthetic"' not in as_viewer.get("/episodes/").get_data(as_text=True)
    with database.session() as session:
        entity = session.scalar(select(Entity).where(Entity.code == "WF-POWER"))
        add_episode(session, entity_id=entity.id, start=date(2020, 2, 1), end=None,
                    label="2020 年疫情冲击", author=DEMO_SOURCE, dimension=None)  # fmt: skip
    text = as_viewer.get("/episodes/").get_data(as_text=True)
    assert text.count('class="badge synthetic"') == 1
