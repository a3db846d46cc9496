"""The scoring cycle on a small hand-built catalogue, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from alerts.workflow import resolve
from monitor import pipeline
from monitor.db import Database
from monitor.pipeline import score_indicators
from monitor.records import (
    Alert,
    AlertEvent,
    Channel,
    Entity,
    Indicator,
    JobRun,
    Notification,
    Observation,
    Score,
    StageRecord,
    Threshold,
)
from monitor.vocabulary import RunStatus

NOW = datetime(2024, 7, 1, tzinfo=UTC)
PERIODS = pd.date_range("2019-01-01", "2023-12-01", freq="MS")


def _level_series(shock_at: int | None, depth: float, recover: bool = True) -> np.ndarray:
    """A gently growing monthly series with an optional V-shaped fall."""
    values = 100 * 1.004 ** np.arange(len(PERIODS))
    if shock_at is not None:
        fall = np.zeros(len(PERIODS))
        fall[shock_at : shock_at + 4] = np.linspace(depth / 4, depth, 4)
        tail = np.linspace(depth, 0, 8) if recover else np.full(8, depth)
        fall[shock_at + 4 : shock_at + 12] = tail
        if not recover:
            fall[shock_at + 12 :] = depth
        values = values * (1 - fall)
    return values


@pytest.fixture
def catalogue(any_database: Database) -> Database:
    """A province, a cluster and three firms; one monthly indicator per level."""
    return _build_catalogue(any_database)


def _build_catalogue(database: Database) -> Database:
    with database.session() as session:
        province = Entity(
            code="SD", name_zh="山东", name_en="Shandong", level="government", kind="province"
        )
        cluster = Entity(
            code="C1", name_zh="集群", name_en="Cluster", level="industry", kind="cluster"
        )
        session.add_all([province, cluster])
        session.flush()
        firms = [
            Entity(
                code=f"F{i}",
                name_zh=f"企业{i}",
                name_en=f"Firm {i}",
                level="enterprise",
                kind="firm",
                region_id=province.id,
                cluster_id=cluster.id,
                synthetic=True,
            )
            for i in range(3)
        ]
        session.add_all(firms)
        indicators = [
            Indicator(
                code="IVA",
                name_zh="工业增加值",
                name_en="Industrial value added",
                dimension="economic",
                level="government",
                frequency="M",
                direction="down",
                transform="yoy",
                core=True,
            ),
            Indicator(
                code="OUT",
                name_zh="集群产值",
                name_en="Cluster output",
                dimension="economic",
                level="industry",
                frequency="M",
                direction="down",
                transform="yoy",
                core=True,
            ),
            Indicator(
                code="REV",
                name_zh="营业收入",
                name_en="Revenue",
                dimension="economic",
                level="enterprise",
                frequency="M",
                direction="down",
                transform="yoy",
            ),
        ]
        session.add_all(indicators)
        for level in ("government", "industry", "enterprise"):
            session.add(
                Threshold(
                    model="threshold",
                    level=level,
                    dimension="economic",
                    blue=0.0,
                    yellow=-5.0,
                    orange=-10.0,
                    red=-20.0,
                )
            )
            session.add(
                Threshold(
                    model="robust_z",
                    level=level,
                    dimension="economic",
                    direction="up",
                    blue=3.5,
                    yellow=4.5,
                    orange=6.0,
                    red=8.0,
                )
            )
        session.add(Channel(name="ops", kind="email", target="ops@example.org"))
        session.add(Channel(name="hook", kind="webhook", target="http://127.0.0.1:9/hook"))
        session.flush()
        series = {
            ("IVA", "SD"): _level_series(shock_at=14, depth=0.25),
            ("OUT", "C1"): _level_series(shock_at=48, depth=0.30, recover=False),
            ("REV", "F0"): _level_series(shock_at=40, depth=0.40),
            ("REV", "F1"): _level_series(shock_at=None, depth=0),
            ("REV", "F2"): _level_series(shock_at=None, depth=0),
        }
        ids = {e.code: e.id for e in [province, cluster, *firms]}
        ind = {i.code: i.id for i in indicators}
        rows = [
            {
                "indicator_id": ind[i],
                "entity_id": ids[e],
                "period": p.date(),
                "value": float(v),
                "synthetic": True,
                "updated_at": NOW,
            }
            for (i, e), values in series.items()
            for p, v in zip(PERIODS, values, strict=True)
        ]
        session.execute(insert(Observation), rows)
    return database


def _count(database: Database, record: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(record)) or 0


def test_first_run_raises_alerts_scores_and_stages(catalogue: Database) -> None:
    report = score_indicators(catalogue, now=NOW)

    assert report.alerts.opened > 0
    assert _count(catalogue, Score) == report.scores_written > 0
    with catalogue.session() as session:
        levels = set(session.scalars(select(Alert.level).distinct()))
        staged = set(session.scalars(select(StageRecord.stage).distinct()))
        quiet_firms = session.scalar(
            select(func.count())
            .select_from(Alert)
            .join(Entity)
            .where(Entity.code.in_(["F1", "F2"]), Alert.model == "threshold")
        )
    assert levels == {"government", "industry", "enterprise"}
    assert quiet_firms == 0
    assert "absorption" in staged and "preparation" in staged


def test_second_run_creates_no_duplicate_alert_or_notification(catalogue: Database) -> None:
    score_indicators(catalogue, now=NOW)
    counts = [_count(catalogue, r) for r in (Alert, AlertEvent, Notification, Score)]

    again = score_indicators(catalogue, now=NOW)

    assert again.alerts.opened == again.alerts.notifications == again.scores_written == 0
    assert [_count(catalogue, r) for r in (Alert, AlertEvent, Notification, Score)] == counts


def test_alert_resolves_itself_when_the_series_recovers(catalogue: Database) -> None:
    score_indicators(catalogue, now=NOW)
    with catalogue.session() as session:
        alert = session.scalars(
            select(Alert)
            .join(Entity)
            .where(Entity.code == "SD", Alert.model == "threshold")
            .order_by(Alert.id)
        ).first()
        assert alert is not None
        kinds = [e.kind for e in alert.events]
    assert alert.status == "resolved" and alert.resolved_by is None
    assert kinds[0] == "opened" and kinds[-1] == "resolved"
    assert "escalated" in kinds
    assert alert.worst_severity in {"orange", "red"}


def test_only_latest_period_events_are_notified(catalogue: Database) -> None:
    score_indicators(catalogue, now=NOW)
    with catalogue.session() as session:
        periods = set(session.scalars(select(AlertEvent.period).join(Notification).distinct()))
    assert periods <= {PERIODS[-1].date()}


def test_new_month_advances_open_alerts_and_notifies_once(catalogue: Database) -> None:
    score_indicators(catalogue, now=NOW)
    with catalogue.session() as session:
        cluster_alert = session.scalars(
            select(Alert)
            .join(Entity)
            .where(Entity.code == "C1", Alert.model == "threshold", Alert.status == "firing")
        ).one()
        output_id = cluster_alert.indicator_id
        last = session.scalar(
            select(Observation.value).where(
                Observation.indicator_id == output_id, Observation.period == date(2023, 12, 1)
            )
        )
        # January 2024 back at last year's level: the cluster alert resolves.
        session.add(
            Observation(
                indicator_id=output_id,
                entity_id=cluster_alert.entity_id,
                period=date(2024, 1, 1),
                value=last / 0.7,
                updated_at=NOW,
            )
        )
    notifications_before = _count(catalogue, Notification)

    report = score_indicators(catalogue, changed={output_id: date(2024, 1, 1)}, now=NOW)

    assert report.alerts.resolved >= 1
    with catalogue.session() as session:
        refreshed = session.get_one(Alert, cluster_alert.id)
        assert refreshed.status == "resolved"
        assert refreshed.resolved_period == date(2024, 1, 1)
    with catalogue.session() as session:
        notified = session.scalars(
            select(AlertEvent.kind).join(Notification).where(AlertEvent.period == date(2024, 1, 1))
        ).all()
    assert len(notified) == 2 * report.alerts.resolved  # email + webhook for each
    assert _count(catalogue, Notification) == notifications_before + len(notified)
    assert set(notified) == {"resolved"}


def test_staff_resolution_is_not_reopened_during_the_same_breach(catalogue: Database) -> None:
    score_indicators(catalogue, now=NOW)
    with catalogue.session() as session:
        alert = session.scalars(
            select(Alert).where(Alert.status == "firing", Alert.model == "threshold")
        ).first()
        assert alert is not None
        resolve(session, alert, actor="analyst", note="known cause", now=NOW)
        indicator_id, entity_id = alert.indicator_id, alert.entity_id
        last = session.scalar(
            select(func.max(Observation.period)).where(Observation.indicator_id == indicator_id)
        )
        value = session.scalar(
            select(Observation.value).where(
                Observation.indicator_id == indicator_id,
                Observation.entity_id == entity_id,
                Observation.period == last,
            )
        )
        nxt = (pd.Timestamp(last) + pd.offsets.MonthBegin(1)).date()
        session.add(
            Observation(
                indicator_id=indicator_id,
                entity_id=entity_id,
                period=nxt,
                value=value,
                updated_at=NOW,
            )
        )

    score_indicators(catalogue, changed={indicator_id: nxt}, now=NOW)

    with catalogue.session() as session:
        open_now = session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(
                Alert.indicator_id == indicator_id,
                Alert.entity_id == entity_id,
                Alert.model == "threshold",
                Alert.status != "resolved",
            )
        )
    assert open_now == 0


def test_breaches_awaiting_confirmation_show_as_pending_then_confirmed(
    catalogue: Database,
) -> None:
    with catalogue.session() as session:
        for threshold in session.scalars(select(Threshold).where(Threshold.model == "threshold")):
            threshold.min_periods = 3

    report = score_indicators(catalogue, now=NOW)

    assert report.alerts.pending > 0
    assert report.alerts.confirmed > 0
    with catalogue.session() as session:
        alert = session.scalars(
            select(Alert)
            .join(Entity)
            .where(Entity.code == "SD", Alert.model == "threshold")
            .order_by(Alert.id)
        ).first()
        assert alert is not None
        kinds = [(e.kind, e.to_status) for e in alert.events]
        notified_pending = session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(AlertEvent, Notification.event_id == AlertEvent.id)
            .where(AlertEvent.to_status == "pending")
        )
    assert kinds[:2] == [("opened", "pending"), ("confirmed", "firing")]
    assert notified_pending == 0


def _stored(database: Database) -> tuple[list[tuple], ...]:
    """Scores, alerts, events and notices by entity code, without the generated ids."""
    with database.session() as session:
        scores = session.execute(
            select(Entity.code, Score.indicator_id, Score.model, Score.period, Score.score,
                   Score.severity)
            .join(Entity, Entity.id == Score.entity_id)
            .order_by(Entity.code, Score.indicator_id, Score.model, Score.period)
        ).all()  # fmt: skip
        alerts = session.execute(
            select(Entity.code, Alert.model, Alert.period, Alert.status, Alert.severity,
                   Alert.last_period, Alert.value)
            .join(Entity, Entity.id == Alert.entity_id)
            .order_by(Entity.code, Alert.model, Alert.period)
        ).all()  # fmt: skip
        events = session.execute(
            select(Entity.code, Alert.model, AlertEvent.period, AlertEvent.kind)
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .join(Entity, Entity.id == Alert.entity_id)
            .order_by(Entity.code, Alert.model, AlertEvent.period, AlertEvent.kind)
        ).all()  # fmt: skip
        notices = session.execute(
            select(Entity.code, Alert.model, Notification.channel_id, Notification.status)
            .join(Alert, Notification.alert_id == Alert.id)
            .join(Entity, Entity.id == Alert.entity_id)
            .order_by(Entity.code, Alert.model, Notification.channel_id)
        ).all()  # fmt: skip
    return tuple([tuple(row) for row in rows] for rows in (scores, alerts, events, notices))


def _postgresql_only(database: Database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite scores one indicator at a time")


def test_indicators_scored_at_once_store_what_one_at_a_time_stores(
    catalogue: Database, sqlite_twin: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgresql_only(catalogue)
    alone = score_indicators(_build_catalogue(sqlite_twin), now=NOW)
    all_three = threading.Barrier(3, timeout=30)  # broken unless the three overlap
    score_one = pipeline.score_one

    def meeting_the_others(*args: object) -> tuple[int, object]:
        all_three.wait()
        return score_one(*args)

    monkeypatch.setattr(pipeline, "score_one", meeting_the_others)
    together = score_indicators(catalogue, now=NOW, threads=3)

    assert together.scores_written == alone.scores_written > 0
    assert together.alerts.opened == alone.alerts.opened > 0
    assert together.alerts.notifications == alone.alerts.notifications
    assert _stored(catalogue) == _stored(sqlite_twin)


def test_a_failing_indicator_fails_the_run_and_cancels_the_rest(
    catalogue: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgresql_only(catalogue)
    with catalogue.session() as session:
        first = session.scalar(select(func.min(Indicator.id)))
    started: list[int] = []
    score_one = pipeline.score_one

    def failing_first(session: object, indicator_id: int, *args: object) -> tuple[int, object]:
        started.append(indicator_id)
        if indicator_id == first:
            time.sleep(0.5)  # the second thread has begun its own by now
            raise RuntimeError("the database went away")
        time.sleep(2)
        return score_one(session, indicator_id, *args)

    monkeypatch.setattr(pipeline, "score_one", failing_first)
    with pytest.raises(RuntimeError, match="went away"):
        score_indicators(catalogue, now=NOW, threads=2)

    assert len(started) == 2  # the third indicator never began
    with catalogue.session() as session:
        run = session.scalars(select(JobRun).where(JobRun.job == "score")).one()
    assert run.status == RunStatus.FAILED and "went away" in (run.error or "")
