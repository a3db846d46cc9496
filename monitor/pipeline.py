"""The scoring cycle: observations → scores → colours → alerts (+ outbox) → stages.

Each indicator is scored in its own transaction, so its scores, alert changes and
notification rows commit together or not at all. Scores are written from the first
period that is new or whose data changed; alerts advance only through periods not
processed before, so a second run over the same data changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from alerts.lifecycle import AlertCounts, Decisions, advance_alerts, synthetic_entity_ids
from monitor.db import Database
from monitor.panels import observation_panel
from monitor.records import Channel, Indicator, JobRun, Score, Threshold, utc_now
from monitor.scoring import MODELS, decide, pick_threshold
from monitor.stages import update_stages
from monitor.vocabulary import RunStatus

logger = logging.getLogger(__name__)

SCORE_CHUNK = 5_000


@dataclass
class ScoreReport:
    """What one scoring cycle did."""

    job_run_id: int | None = None
    indicators: int = 0
    scores_written: int = 0
    stages_written: int = 0
    alerts: AlertCounts = field(default_factory=AlertCounts)

    def as_dict(self) -> dict[str, int | None]:
        return {
            "job_run_id": self.job_run_id,
            "indicators": self.indicators,
            "scores_written": self.scores_written,
            "stages_written": self.stages_written,
            "alerts_opened": self.alerts.opened,
            "alerts_escalated": self.alerts.escalated,
            "alerts_deescalated": self.alerts.deescalated,
            "alerts_resolved": self.alerts.resolved,
            "notifications": self.alerts.notifications,
        }


def score_indicators(
    database: Database,
    *,
    changed: Mapping[int, date] | None = None,
    notify: bool = True,
    now: datetime | None = None,
) -> ScoreReport:
    """Score the indicators in ``changed`` (id → earliest changed period), or all of them.

    With ``notify`` the events of each indicator's latest period go to the outbox;
    older periods replayed here are history and notify nobody.
    """
    now = now or utc_now()
    report = ScoreReport()
    with database.session() as session:
        run = JobRun(job="score", status=RunStatus.RUNNING, started_at=now)
        session.add(run)
        session.flush()
        report.job_run_id = run.id
        query = select(Indicator.id).order_by(Indicator.id)
        if changed is not None:
            query = query.where(Indicator.id.in_(list(changed)))
        indicator_ids = list(session.scalars(query))
    try:
        for indicator_id in indicator_ids:
            since = changed.get(indicator_id) if changed is not None else None
            with database.session() as session:
                written, counts = _score_one(session, indicator_id, since, notify, now)
            report.indicators += 1
            report.scores_written += written
            report.alerts.add(counts)
        with database.session() as session:
            report.stages_written = update_stages(session, changed)
    except Exception as exc:
        _finish(database, report, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(database, report)
    logger.info("scoring run %s done: %s", report.job_run_id, report.as_dict())
    return report


def _finish(database: Database, report: ScoreReport, error: str | None = None) -> None:
    with database.session() as session:
        run = session.get_one(JobRun, report.job_run_id)
        run.finished_at = utc_now()
        run.status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
        run.error = error
        run.rows_read = report.scores_written


def _score_one(
    session: Session, indicator_id: int, since: date | None, notify: bool, now: datetime
) -> tuple[int, AlertCounts]:
    indicator = session.get_one(Indicator, indicator_id)
    counts = AlertCounts()
    panel = observation_panel(session, indicator.id, indicator.frequency)
    if panel.empty:
        return 0, counts
    thresholds = list(
        session.scalars(
            select(Threshold).where(
                Threshold.level == indicator.level, Threshold.dimension == indicator.dimension
            )
        )
    )
    channels = list(session.scalars(select(Channel).where(Channel.enabled)))
    synthetic = synthetic_entity_ids(session, [int(c) for c in panel.columns])
    latest = panel.index[-1].date()
    written = 0
    for model in MODELS:
        threshold = pick_threshold(thresholds, indicator, model)
        if threshold is None:
            logger.warning("indicator %s: no %s threshold, not scored", indicator.code, model)
            continue
        decisions = decide(panel, indicator, model, threshold)
        done = session.scalar(
            select(func.max(Score.period)).where(
                Score.indicator_id == indicator.id, Score.model == model
            )
        )
        write_from = _first_index_after(decisions.periods, done)
        if since is not None:
            write_from = min(write_from, _first_index_at(decisions.periods, since))
        written += _write_scores(session, indicator.id, model, decisions, write_from)
        counts.add(
            advance_alerts(
                session,
                indicator=indicator,
                model=model,
                decisions=decisions,
                start=_first_index_after(decisions.periods, done),
                notify_from=latest if notify else None,
                channels=channels,
                synthetic_entities=synthetic,
                now=now,
            )
        )
    return written, counts


def _first_index_after(periods: pd.DatetimeIndex, done: date | None) -> int:
    if done is None:
        return 0
    return int(periods.searchsorted(pd.Timestamp(done), side="right"))


def _first_index_at(periods: pd.DatetimeIndex, since: date) -> int:
    return int(periods.searchsorted(pd.Timestamp(since), side="left"))


def _write_scores(
    session: Session, indicator_id: int, model: str, decisions: Decisions, start: int
) -> int:
    """Replace the stored scores of periods ``start ..`` with ``decisions``."""
    if start >= len(decisions.periods):
        return 0
    first = decisions.periods[start].date()
    session.execute(
        delete(Score).where(
            Score.indicator_id == indicator_id, Score.model == model, Score.period >= first
        )
    )
    scores = decisions.scores[start:]
    codes = decisions.codes[start:]
    rows_idx, cols_idx = (~pd.isna(scores)).nonzero()
    severity_names = (None, "blue", "yellow", "orange", "red")
    periods = [p.date() for p in decisions.periods[start:]]
    rows = [
        {
            "indicator_id": indicator_id,
            "entity_id": int(decisions.entity_ids[c]),
            "model": model,
            "period": periods[r],
            "score": float(scores[r, c]),
            "severity": severity_names[int(codes[r, c])],
        }
        for r, c in zip(rows_idx.tolist(), cols_idx.tolist(), strict=True)
    ]
    for offset in range(0, len(rows), SCORE_CHUNK):
        session.execute(insert(Score), rows[offset : offset + SCORE_CHUNK])
    return len(rows)
