"""Incremental scoring: a new month gives exactly what a full recompute gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from models.levels import to_levels
from monitor import pipeline
from monitor.db import Database
from monitor.pipeline import score_indicators
from monitor.records import Alert, AlertEvent, Entity, Indicator, Score, Threshold
from monitor.state import breaches, continue_levels
from tests.monitor.panel_world import FIRMS, NOW, PERIODS, store_months

CUTOFFS_DOWN = (0.0, -5.0, -10.0, -20.0)


def _load(database: Database, months: int) -> tuple[int, int]:
    """Create the catalogue (once) and store the first ``months`` months."""
    with database.session() as session:
        indicator = session.scalar(select(Indicator))
        if indicator is None:
            indicator = Indicator(
                code="REV",
                name_zh="营业收入",
                name_en="Revenue",
                dimension="economic",
                level="enterprise",
                frequency="M",
                direction="down",
                transform="yoy",
            )
            session.add(indicator)
            session.add_all(
                Entity(
                    code=f"F{i}",
                    name_zh=f"企业{i}",
                    name_en=f"Firm {i}",
                    level="enterprise",
                    kind="firm",
                )
                for i in range(FIRMS)
            )
            common = {"level": "enterprise", "dimension": "economic", "min_periods": 2}
            session.add(Threshold(model="threshold", clear=2.0, **common, **_cut(CUTOFFS_DOWN)))
            session.add(
                Threshold(
                    model="robust_z", direction="up", clear=2.5, **common, **_cut((3, 4, 5, 6))
                )
            )
        session.flush()
        firms = list(session.scalars(select(Entity.id).order_by(Entity.id)))
        stored = store_months(session, indicator.id, firms, months)
        return indicator.id, stored


def _cut(values: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(("blue", "yellow", "orange", "red"), values, strict=True))


def _snapshot(database: Database) -> tuple[list[tuple], list[tuple], list[tuple]]:
    with database.session() as session:
        scores = session.execute(
            select(
                Score.entity_id, Score.model, Score.period, Score.score, Score.severity
            ).order_by(Score.entity_id, Score.model, Score.period)
        ).all()
        alerts = session.execute(
            select(
                Alert.entity_id,
                Alert.model,
                Alert.period,
                Alert.status,
                Alert.severity,
                Alert.worst_severity,
                Alert.last_period,
                Alert.resolved_period,
                Alert.value,
                Alert.threshold,
                Alert.flapping,
            ).order_by(Alert.entity_id, Alert.model, Alert.period)
        ).all()
        events = session.execute(
            select(
                Alert.entity_id,
                Alert.model,
                AlertEvent.period,
                AlertEvent.kind,
                AlertEvent.to_status,
                AlertEvent.to_severity,
                AlertEvent.cause,
            )
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .order_by(Alert.entity_id, Alert.model, AlertEvent.id)
        ).all()
    return [tuple(r) for r in scores], [tuple(r) for r in alerts], [tuple(r) for r in events]


def test_month_by_month_scoring_equals_a_full_backfill(
    database: Database, sqlite_twin: Database, small_chunks: None
) -> None:
    database_pair = sqlite_twin
    _load(database, len(PERIODS))
    score_indicators(database, notify=False, now=NOW)
    full = _snapshot(database)

    indicator_id, _ = _load(database_pair, 36)
    score_indicators(database_pair, notify=False, now=NOW)
    for months in range(37, len(PERIODS) + 1):
        _load(database_pair, months)
        changed = {indicator_id: PERIODS[months - 1].date()}
        score_indicators(database_pair, changed=changed, notify=False, now=NOW)
    stepped = _snapshot(database_pair)

    assert len(full[0]) > 1000 and len(full[1]) > 5  # a real history, real alerts
    assert {row[4] for row in full[0]} >= {None, "blue", "red"}
    assert stepped == full


def test_a_new_month_reads_only_the_trailing_window(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    indicator_id, _ = _load(database, 47)
    score_indicators(database, notify=False, now=NOW)
    _load(database, 48)
    reads: list[object] = []
    original = pipeline.observation_panel

    def recording(*args: object, **kwargs: object) -> pd.DataFrame:
        panel = original(*args, **kwargs)
        reads.append(panel.index.min())
        return panel

    monkeypatch.setattr(pipeline, "observation_panel", recording)
    score_indicators(database, changed={indicator_id: PERIODS[-1].date()}, now=NOW)

    # robust z: 24 periods of window + 12 of year-on-year lag before 6 of context.
    assert reads and min(reads) == PERIODS[-1] - pd.DateOffset(months=6 + 24 + 12)


@pytest.mark.parametrize("direction", ["up", "down", "both"])
@pytest.mark.parametrize("min_periods", [1, 2, 4])
def test_resumed_levels_equal_levels_of_the_whole_series(direction: str, min_periods: int) -> None:
    rng = np.random.default_rng(min_periods)
    scores = rng.normal(0, 4, (60, 40))
    scores[rng.random(scores.shape) < 0.15] = np.nan
    cutoffs = {"up": (1, 3, 5, 7), "down": (-1, -3, -5, -7), "both": (1, 3, 5, 7)}[direction]
    clear = {"up": -1.0, "down": 1.0, "both": 0.5}[direction]
    frame = pd.DataFrame(scores, index=pd.date_range("2019-01-01", periods=60, freq="MS"))
    whole = to_levels(frame, cutoffs, direction, clear=clear, min_periods=min_periods)

    for split in (1, 17, 45):
        before = whole.to_numpy()[split - 1]
        runs = _trailing_breaches(scores[:split], cutoffs[0], direction)
        resumed = continue_levels(
            frame.iloc[split:],
            before,
            runs,
            cutoffs,
            direction,
            clear=clear,
            min_periods=min_periods,
            frequency="M",
        )
        pd.testing.assert_frame_equal(resumed, whole.iloc[split:])


def _trailing_breaches(scores: np.ndarray, blue: float, direction: str) -> np.ndarray:
    runs = np.zeros(scores.shape[1], dtype=np.int64)
    for col in range(scores.shape[1]):
        observed = scores[:, col][~np.isnan(scores[:, col])]
        for hit in breaches(observed[::-1], blue, direction):
            if not hit:
                break
            runs[col] += 1
    return runs


def test_a_new_month_replaces_no_stored_score_and_a_revision_does(database: Database) -> None:
    from sqlalchemy import event

    indicator_id, _ = _load(database, 47)
    score_indicators(database, notify=False, now=NOW)
    _load(database, 48)
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        score_indicators(database, changed={indicator_id: PERIODS[-1].date()}, now=NOW)
        new_month = [s for s in statements if s.startswith("DELETE FROM scores")]
        statements.clear()
        score_indicators(database, changed={indicator_id: PERIODS[-3].date()}, now=NOW)
        revision = [s for s in statements if s.startswith("DELETE FROM scores")]
    finally:
        event.remove(database.engine, "before_cursor_execute", record)

    assert new_month == []  # nothing is stored after the last scored month
    assert len(revision) == 2  # a revised month: each model's later scores are replaced
