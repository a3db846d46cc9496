"""The alert lifecycle on hand-made colour decisions: pending, firing, flapping, stale."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from alerts.lifecycle import Decisions, advance_alerts
from alerts.policy import AlertPolicy
from alerts.staleness import mark_stale, periods_missed
from alerts.workflow import acknowledge
from models.levels import crossed_cutoff, to_levels
from monitor.records import Alert, AlertEvent, Channel, Notification, Observation, Threshold

CUTOFFS = (0.0, -5.0, -10.0, -20.0)  # a year-on-year change: lower is riskier
START = date(2024, 1, 1)


def _threshold(min_periods: int = 1, clear: float | None = None) -> Threshold:
    blue, yellow, orange, red = CUTOFFS
    return Threshold(
        model="threshold",
        level="government",
        dimension="economic",
        blue=blue,
        yellow=yellow,
        orange=orange,
        red=red,
        clear=clear,
        min_periods=min_periods,
    )


def _decisions(entity_ids: list[int], series: list[list[float]], threshold: Threshold) -> Decisions:
    periods = pd.date_range(START, periods=len(series[0]), freq="MS")
    scores = pd.DataFrame(np.array(series, dtype=float).T, index=periods, columns=entity_ids)
    codes = to_levels(
        scores, CUTOFFS, "down", clear=threshold.clear, min_periods=threshold.min_periods
    )
    return Decisions(
        periods=periods,
        entity_ids=np.array(entity_ids),
        scores=scores.to_numpy(),
        codes=codes.to_numpy(),
        crossed=crossed_cutoff(codes, CUTOFFS, "down").to_numpy(),
    )


class Cycle:
    """Run the scoring cycle month by month, as the scheduler would."""

    def __init__(self, database, world, *, threshold: Threshold, policy=None) -> None:
        self.database = database
        self.world = world
        self.threshold = threshold
        self.policy = policy or AlertPolicy()
        with database.session() as session:
            session.add(Channel(kind="email", target="ops@example.cn", name="ops"))

    def run(self, series: list[list[float]], entities=None, *, now=None) -> None:
        entities = entities or [self.world.weifang]
        ids = [entity.id for entity in entities]
        full = _decisions(ids, series, self.threshold)
        for t in range(len(full.periods)):
            with self.database.session() as session:
                advance_alerts(
                    session,
                    indicator=session.merge(self.world.indicators["iva"]),
                    model="threshold",
                    decisions=Decisions(
                        periods=full.periods[: t + 1],
                        entity_ids=full.entity_ids,
                        scores=full.scores[: t + 1],
                        codes=full.codes[: t + 1],
                        crossed=full.crossed[: t + 1],
                    ),
                    start=t,
                    notify_from=full.periods[t].date(),
                    channels=list(session.scalars(select(Channel))),
                    synthetic_entities=set(),
                    now=now or datetime(2024, 1, 1, tzinfo=UTC),
                    threshold=self.threshold,
                    policy=self.policy,
                )


def _alerts(database) -> list[Alert]:
    with database.session() as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.id)))
        for alert in alerts:
            _ = [(e.kind, e.cause) for e in alert.events]
        return alerts


def _notified(database) -> list[tuple[str, str]]:
    with database.session() as session:
        rows = session.execute(
            select(AlertEvent.kind, Notification.status)
            .join(Notification, Notification.event_id == AlertEvent.id)
            .order_by(Notification.id)
        )
        return [tuple(row) for row in rows]


def test_a_breach_awaiting_confirmation_is_pending_and_notifies_nobody(database, world):
    cycle = Cycle(database, world, threshold=_threshold(min_periods=2))

    cycle.run([[1.0, -6.0]])

    (alert,) = _alerts(database)
    (opened,) = alert.events
    assert (alert.status, alert.severity, alert.threshold) == ("pending", "yellow", -5.0)
    assert (opened.kind, opened.to_status, opened.cause) == ("opened", "pending", "breach")
    assert _notified(database) == []


def test_a_confirmed_breach_promotes_the_pending_alert_and_notifies(database, world):
    cycle = Cycle(database, world, threshold=_threshold(min_periods=2))

    cycle.run([[1.0, -6.0, -12.0]])

    (alert,) = _alerts(database)
    assert (alert.status, alert.severity, alert.period) == ("firing", "orange", date(2024, 2, 1))
    assert [(e.kind, e.from_status, e.to_status) for e in alert.events] == [
        ("opened", None, "pending"),
        ("confirmed", "pending", "firing"),
    ]
    assert _notified(database) == [("confirmed", "pending")]


def test_a_breach_that_ends_before_confirmation_closes_quietly(database, world):
    cycle = Cycle(database, world, threshold=_threshold(min_periods=3))

    cycle.run([[1.0, -6.0, -7.0, 2.0]])

    (alert,) = _alerts(database)
    assert alert.status == "resolved"
    assert [(e.kind, e.cause) for e in alert.events] == [
        ("opened", "breach"),
        ("resolved", "unconfirmed"),
    ]
    assert _notified(database) == []


def test_colour_changes_are_escalations_of_one_alert_not_new_alerts(database, world):
    cycle = Cycle(database, world, threshold=_threshold())

    cycle.run([[-6.0, -12.0, -25.0, -12.0, 3.0]])

    (alert,) = _alerts(database)
    assert [(e.kind, e.to_severity) for e in alert.events] == [
        ("opened", "yellow"),
        ("escalated", "orange"),
        ("escalated", "red"),
        ("deescalated", "orange"),
        ("resolved", None),
    ]
    assert (alert.worst_severity, alert.resolved_period) == ("red", date(2024, 5, 1))
    assert alert.flapping is False
    notified = Counter(kind for kind, _status in _notified(database))
    assert notified == {"opened": 1, "escalated": 2, "resolved": 1}


def test_a_firing_alert_recovers_only_past_the_clearing_level(database, world):
    cycle = Cycle(database, world, threshold=_threshold(clear=2.0))

    # yellow, then back above the blue cut-off (0) but short of the clearing level (2)
    cycle.run([[-6.0, 1.0, 1.5, 3.0]])

    (alert,) = _alerts(database)
    assert [(e.kind, e.period.month, e.to_severity) for e in alert.events] == [
        ("opened", 1, "yellow"),
        ("deescalated", 2, "blue"),
        ("resolved", 4, None),
    ]
    assert (alert.status, alert.resolved_period) == ("resolved", date(2024, 4, 1))
    assert (alert.events[-1].cause, alert.events[-1].actor) == ("recovered", None)


def test_a_flapping_series_is_held_then_tells_once_when_it_settles(database, world):
    policy = AlertPolicy(flap_max_changes=3, flap_window_periods=6, flap_quiet_periods=3)
    cycle = Cycle(database, world, threshold=_threshold(), policy=policy)

    # breach, recover, breach, recover, breach, recover, then three quiet months
    cycle.run([[-6.0, 1.0, -6.0, 1.0, -6.0, 1.0, 1.0, 1.0, 1.0]])

    alerts = _alerts(database)
    assert len(alerts) == 3
    flags = [
        (e.kind, e.period.month)
        for a in alerts
        for e in a.events
        if e.kind in {"flapping", "settled"}
    ]
    assert flags == [("flapping", 4), ("settled", 9)]
    assert _notified(database) == [
        ("opened", "pending"),
        ("resolved", "pending"),
        ("opened", "pending"),
        ("resolved", "held"),  # the fourth change in six months: flapping
        ("opened", "held"),
        ("resolved", "held"),
        ("settled", "pending"),  # quiet for three months: one notice of where it stands
    ]
    assert not any(alert.flapping for alert in alerts)


def test_an_alert_opened_while_its_series_flaps_is_marked_flapping(database, world):
    policy = AlertPolicy(flap_max_changes=2, flap_window_periods=6, flap_quiet_periods=3)
    cycle = Cycle(database, world, threshold=_threshold(), policy=policy)

    cycle.run([[-6.0, 1.0, -6.0, 1.0, -6.0]])

    alerts = _alerts(database)
    assert [alert.status for alert in alerts] == ["resolved", "resolved", "firing"]
    assert alerts[-1].flapping is True


def _observe(session, world, period: date) -> None:
    session.add(
        Observation(
            indicator_id=world.indicators["iva"].id,
            entity_id=world.weifang.id,
            period=period,
            value=100.0,
        )
    )


def test_an_overdue_series_turns_its_alert_stale_and_tells(database, world):
    cycle = Cycle(database, world, threshold=_threshold())
    cycle.run([[-1.0, -6.0, -6.0]])  # January .. March
    with database.session() as session:
        for month in (1, 2, 3):
            _observe(session, world, date(2024, month, 1))

    with database.session() as session:
        early = mark_stale(session, now=datetime(2024, 5, 20, tzinfo=UTC))  # April missed
    with database.session() as session:
        late = mark_stale(session, now=datetime(2024, 6, 2, tzinfo=UTC))  # April, May missed

    (alert,) = _alerts(database)
    stale = alert.events[-1]
    assert early == []
    assert len(late) == 1
    assert (alert.status, alert.stale_since) == ("stale", datetime(2024, 6, 2, tzinfo=UTC))
    assert (stale.kind, stale.from_status, stale.cause) == ("stale", "firing", "no_data")
    assert stale.note == "no value since 2024-03; 2 periods missed"
    assert _notified(database)[-1] == ("stale", "pending")


def test_data_arriving_again_restores_a_stale_alerts_state(database, world, now):
    cycle = Cycle(database, world, threshold=_threshold())
    cycle.run([[-1.0, -6.0, -6.0]])
    with database.session() as session:
        _observe(session, world, date(2024, 3, 1))
        alert = session.scalars(select(Alert)).one()
        acknowledge(session, alert, actor="analyst", now=now)
    with database.session() as session:
        mark_stale(session, now=datetime(2024, 6, 2, tzinfo=UTC))

    cycle.run([[-1.0, -6.0, -6.0, -6.0, -6.0, -12.0]])  # April .. June arrive late

    (alert,) = _alerts(database)
    kinds = [(e.kind, e.from_status, e.to_status) for e in alert.events]
    assert ("refreshed", "stale", "acknowledged") in kinds
    assert (alert.status, alert.severity, alert.stale_since) == ("acknowledged", "orange", None)


@pytest.mark.parametrize(
    ("latest", "frequency", "today", "missed"),
    [
        (date(2024, 3, 1), "M", date(2024, 4, 30), 0),
        (date(2024, 3, 1), "M", date(2024, 6, 1), 2),
        (date(2024, 1, 1), "Q", date(2024, 7, 10), 1),
        (date(2024, 1, 1), "Q", date(2024, 10, 1), 2),
        (date(2022, 1, 1), "A", date(2024, 2, 1), 1),
        (date(2024, 5, 1), "M", date(2024, 5, 3), 0),
    ],
)
def test_periods_missed_counts_periods_ended_without_a_value(latest, frequency, today, missed):
    assert periods_missed(latest, frequency, today) == missed
