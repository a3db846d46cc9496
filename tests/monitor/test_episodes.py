"""Staff-dated shock episodes: checked when stored, expanded to the entities they cover."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from monitor.db import Database
from monitor.episodes import EpisodeError, add_episode, reference_episodes, remove_episode
from monitor.errors import NotFound
from monitor.records import Entity


def _entities(session: Session) -> dict[str, int]:
    """A province with a city, a cluster, two firms in the city (one in the cluster), and
    a firm of another province."""

    def entity(code: str, level: str, kind: str, **links: int) -> Entity:
        row = Entity(code=code, name_zh=code, name_en=code, level=level, kind=kind, **links)
        session.add(row)
        session.flush()
        return row

    province = entity("SD", "government", "province")
    city = entity("SD-WF", "government", "city", parent_id=province.id)
    cluster = entity("WF-POWER", "industry", "cluster", region_id=city.id)
    inside = entity("F1", "enterprise", "firm", region_id=city.id, cluster_id=cluster.id)
    outside = entity("F2", "enterprise", "firm", region_id=city.id)
    elsewhere = entity("F3", "enterprise", "firm")
    rows = (province, city, cluster, inside, outside, elsewhere)
    return {row.code: row.id for row in rows}


def _covered(session: Session, level: str, dimension: str = "economic") -> set[tuple[int, str]]:
    return {
        (reference.entity, str(reference.start.date()))
        for reference in reference_episodes(session, level, dimension)
    }


def test_a_province_episode_covers_its_cities_clusters_and_firms(
    any_database: Database,
) -> None:
    with any_database.session() as session:
        ids = _entities(session)
        add_episode(session, entity_id=ids["SD"], start=date(2020, 2, 1), end=None,
                    label="疫情", author="otto")  # fmt: skip
        assert _covered(session, "enterprise") == {
            (ids["F1"], "2020-02-01"),
            (ids["F2"], "2020-02-01"),
        }
        assert _covered(session, "industry") == {(ids["WF-POWER"], "2020-02-01")}
        assert _covered(session, "government") == {
            (ids["SD"], "2020-02-01"), (ids["SD-WF"], "2020-02-01")
        }  # fmt: skip


def test_a_cluster_episode_covers_only_its_own_firms(database: Database) -> None:
    with database.session() as session:
        ids = _entities(session)
        add_episode(session, entity_id=ids["WF-POWER"], start=date(2022, 5, 1),
                    end=date(2022, 12, 1), label="订单下滑", author="otto")  # fmt: skip
        (reference,) = reference_episodes(session, "enterprise", "economic")
        assert reference.entity == ids["F1"] and reference.end == pd.Timestamp("2022-12-01")


def test_an_episode_of_one_dimension_is_no_reference_for_another(database: Database) -> None:
    with database.session() as session:
        ids = _entities(session)
        add_episode(session, entity_id=ids["F3"], start=date(2021, 1, 1), end=None,
                    label="出口管制", author="otto", dimension="trade")  # fmt: skip
        assert _covered(session, "enterprise", "trade") == {(ids["F3"], "2021-01-01")}
        assert _covered(session, "enterprise", "economic") == set()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end": date(2019, 1, 1)}, "ends"),
        ({"label": "  "}, "label"),
        ({"dimension": "weather"}, "dimension"),
    ],
)
def test_a_bad_episode_is_refused(database: Database, changes: dict, message: str) -> None:
    with database.session() as session:
        ids = _entities(session)
        given = {"entity_id": ids["SD"], "start": date(2020, 1, 1), "end": None,
                 "label": "x", "author": "otto", **changes}  # fmt: skip
        with pytest.raises(EpisodeError, match=message):
            add_episode(session, **given)


def test_unknown_entities_and_episodes_are_not_found(database: Database) -> None:
    with database.session() as session:
        with pytest.raises(NotFound):
            add_episode(session, entity_id=999, start=date(2020, 1, 1), end=None,
                        label="x", author="otto")  # fmt: skip
        with pytest.raises(NotFound):
            remove_episode(session, 999)
