"""Enterprise scoring partitioned by city on Dask gives the single-process results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from monitor.db import Database
from monitor.executors import DaskExecutor, city_partitions, city_scope, executor_from_env
from monitor.migrate import upgrade
from monitor.pipeline import score_indicators
from monitor.records import (
    Alert,
    AlertEvent,
    Channel,
    Entity,
    Indicator,
    Notification,
    Observation,
    Score,
    Threshold,
)

distributed = pytest.importorskip("distributed")

NOW = datetime(2024, 7, 1, tzinfo=UTC)
PERIODS = pd.date_range("2020-01-01", periods=40, freq="MS")
FIRMS = 18


def _cluster_of(firm: int) -> int | None:
    """Firm i's cluster: K0 (in city 0) or K1 (in city 1), or none; the firms of each
    cluster lie in both cities."""
    return firm % 3 if firm % 3 < 2 else None


def _catalogue(database: Database, months: int) -> dict[int, object]:
    """Two cities, two clusters, 18 firms (two without a city, six without a cluster),
    two enterprise indicators, threshold, robust z and peer comparison rows."""
    with database.session() as session:
        if session.scalar(select(func.count()).select_from(Entity)) == 0:
            cities = [
                Entity(code=f"C{c}", name_zh=f"市{c}", name_en=f"City {c}", level="government",
                       kind="city")
                for c in range(2)
            ]  # fmt: skip
            session.add_all(cities)
            session.flush()
            clusters = [
                Entity(code=f"K{c}", name_zh=f"集群{c}", name_en=f"Cluster {c}", level="industry",
                       kind="cluster", region_id=cities[c].id)
                for c in range(2)
            ]  # fmt: skip
            session.add_all(clusters)
            session.flush()
            session.add_all(
                Entity(code=f"F{i}", name_zh=f"企业{i}", name_en=f"Firm {i}", level="enterprise",
                       kind="firm", region_id=cities[i % 2].id if i < FIRMS - 2 else None,
                       cluster_id=None if _cluster_of(i) is None else clusters[_cluster_of(i)].id)
                for i in range(FIRMS)
            )  # fmt: skip
            for code in ("REV", "EXP"):
                session.add(
                    Indicator(code=code, name_zh=code, name_en=code, dimension="economic",
                              level="enterprise", frequency="M", direction="down",
                              transform="yoy")
                )  # fmt: skip
            common = {"level": "enterprise", "dimension": "economic", "min_periods": 2}
            session.add(Threshold(model="threshold", blue=-5.0, yellow=-10.0, orange=-20.0,
                                  red=-30.0, clear=-2.0, **common))  # fmt: skip
            session.add(Threshold(model="robust_z", direction="up", blue=3.0, yellow=4.0,
                                  orange=5.0, red=6.0, **common))  # fmt: skip
            session.add(Threshold(model="peers", direction="up", blue=1.5, yellow=2.5,
                                  orange=3.5, red=5.0, params={"min_peers": 2},
                                  **common))  # fmt: skip
            session.add(Channel(name="ops", kind="email", target="ops@example.org"))
        session.flush()
        firms = list(session.scalars(select(Entity.id).where(Entity.kind == "firm")))
        indicators = list(session.scalars(select(Indicator.id).order_by(Indicator.id)))
        stored = len(set(session.scalars(select(Observation.period))))
        rng = np.random.default_rng(3)
        walk = np.cumsum(rng.normal(0.003, 0.05, (len(indicators), len(PERIODS), FIRMS)), axis=1)
        values = 100 * np.exp(walk)
        values[:, 30:34, ::4] *= 0.6
        values[rng.random(values.shape) < 0.05] = np.nan
        rows = [
            {"indicator_id": ind, "entity_id": firm, "period": PERIODS[t].date(),
             "value": float(values[i, t, f]), "updated_at": NOW}
            for i, ind in enumerate(indicators)
            for t in range(stored, months)
            for f, firm in enumerate(firms)
            if not np.isnan(values[i, t, f])
        ]  # fmt: skip
        if rows:
            session.execute(insert(Observation), rows)
        return dict.fromkeys(indicators, PERIODS[months - 1].date())


def _snapshot(database: Database) -> tuple[list[tuple], ...]:
    with database.session() as session:
        scores = session.execute(
            select(Score.indicator_id, Score.entity_id, Score.model, Score.period, Score.score,
                   Score.severity).order_by(Score.indicator_id, Score.entity_id, Score.model,
                                            Score.period)
        ).all()  # fmt: skip
        alerts = session.execute(
            select(Alert.indicator_id, Alert.entity_id, Alert.model, Alert.period, Alert.status,
                   Alert.severity, Alert.worst_severity, Alert.last_period, Alert.value)
            .order_by(Alert.indicator_id, Alert.entity_id, Alert.model, Alert.period)
        ).all()  # fmt: skip
        events = session.execute(
            select(Alert.indicator_id, Alert.entity_id, Alert.model, AlertEvent.period,
                   AlertEvent.kind, AlertEvent.to_status, AlertEvent.to_severity)
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .order_by(Alert.indicator_id, Alert.entity_id, Alert.model, AlertEvent.id)
        ).all()  # fmt: skip
        notified = session.execute(
            select(Alert.indicator_id, Alert.entity_id, Alert.model, AlertEvent.kind)
            .select_from(Notification)
            .join(AlertEvent, Notification.event_id == AlertEvent.id)
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .order_by(Alert.indicator_id, Alert.entity_id, Alert.model, AlertEvent.kind)
        ).all()  # fmt: skip
    return tuple([tuple(r) for r in rows] for rows in (scores, alerts, events, notified))


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'dask.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


def test_city_partitions_cover_every_firm_once(database: Database) -> None:
    _catalogue(database, 20)
    with database.session() as session:
        cities = list(session.scalars(select(Entity.id).where(Entity.kind == "city")))
        firms = list(session.scalars(select(Entity.id).where(Entity.kind == "firm")))
        partitions = {
            region: set(session.scalars(city_scope(region))) for region in city_partitions(database)
        }

    assert list(partitions) == [*sorted(cities), None]
    assert sorted(id for members in partitions.values() for id in members) == sorted(firms)


def test_a_firm_is_in_its_clusters_city_partition_so_a_cluster_is_never_split(
    database: Database,
) -> None:
    _catalogue(database, 20)
    with database.session() as session:
        cities = sorted(session.scalars(select(Entity.id).where(Entity.kind == "city")))
        firms = list(session.scalars(select(Entity.id).where(Entity.kind == "firm")))
        partitions = [set(session.scalars(city_scope(region))) for region in [*cities, None]]

    def firms_where(keep: Callable[[int], bool]) -> set[int]:
        return {firms[i] for i in range(FIRMS) if keep(i)}

    # A clustered firm goes with its cluster (firm i of cluster i % 3 lies in city i % 2),
    # a firm without one with its own city; firm 17 has neither a cluster nor a city.
    loose = [i for i in range(FIRMS) if _cluster_of(i) is None]
    assert loose == [2, 5, 8, 11, 14, 17]
    assert partitions == [
        firms_where(lambda i: _cluster_of(i) == 0 or (i in loose[:-1] and i % 2 == 0)),
        firms_where(lambda i: _cluster_of(i) == 1 or (i in loose[:-1] and i % 2 == 1)),
        {firms[17]},
    ]


def test_dask_partitioned_scoring_equals_the_single_process_path(
    database: Database, twin: Database, client: object
) -> None:
    _catalogue(database, 36)
    score_indicators(database, now=NOW)
    changed = _catalogue(database, len(PERIODS))
    score_indicators(database, changed=changed, now=NOW)
    local = _snapshot(database)

    executor = DaskExecutor(client=client)
    _catalogue(twin, 36)
    score_indicators(twin, now=NOW, executor=executor)
    changed = _catalogue(twin, len(PERIODS))
    report = score_indicators(twin, changed=changed, now=NOW, executor=executor)
    on_dask = _snapshot(twin)

    assert report.indicators == 2 and report.scores_written > 0
    assert len(local[0]) > 1000 and len(local[1]) > 3 and local[3]  # scores, alerts, outbox
    assert any(row[2] == "peers" for row in local[1])  # peer comparison alerts too
    assert on_dask == local


def test_executor_setting_chooses_local_or_rejects_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLUSTERWATCH_EXECUTOR", "local")
    assert executor_from_env() is None
    with pytest.raises(ValueError, match="unknown executor"):
        executor_from_env("spark")
