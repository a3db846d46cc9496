"""The scoring cycle: derived indicators → scores → colours → alerts (+ outbox) →
composite indices → stages.

Each indicator is scored in its own transaction, so its scores, alert changes and
notification rows commit together or not at all. Scores are written from the first
period that is new or whose data changed; alerts advance only through periods not
processed before, so a second run over the same data changes nothing.

Every model of ``monitor.scoring.MODELS`` with a threshold row for an indicator scores
it. A windowed model's new period reads only its trailing window; a recursive one
(EWMA, CUSUM, an ensemble with them) reads the indicator's whole history on every run.
The peer comparison compares each firm with its cluster's other firms in the same
period: an indicator it scores is read in chunks of whole clusters (``monitor.chunks``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from alerts.lifecycle import AlertCounts, Decisions, advance_alerts, synthetic_entity_ids
from alerts.policy import load_policy
from models.levels import crossed_cutoff
from monitor.chunks import Chunk, chunk_groups, entity_chunks
from monitor.composites import update_composites
from monitor.config import scoring_threads
from monitor.db import Database
from monitor.derived import update_derived
from monitor.panels import observation_panel
from monitor.progress import Progress, Tracker
from monitor.records import Channel, Indicator, JobRun, Observation, Score, Threshold, utc_now
from monitor.score_writes import score_rows, write_score_rows
from monitor.scoring import (
    MODELS,
    Groups,
    confirmation,
    decide,
    effective_direction,
    grouped,
    model_history,
    model_scores,
    pick_threshold,
)
from monitor.stages import update_stages
from monitor.state import continue_levels, shift_period, stored_recent, stored_state
from monitor.synthetic_alerts import mark_synthetic_alerts, next_alert_id
from monitor.vocabulary import Level, RunStatus

if TYPE_CHECKING:
    from monitor.executors import DaskExecutor

logger = logging.getLogger(__name__)
_Result = TypeVar("_Result")
_SKIPPED = object()  # a call not begun because another had failed


@dataclass
class ScoreReport:
    """What one scoring cycle did."""

    job_run_id: int | None = None
    indicators: int = 0
    scores_written: int = 0
    stages_written: int = 0
    composites_written: int = 0
    alerts: AlertCounts = field(default_factory=AlertCounts)

    def as_dict(self) -> dict[str, int | None]:
        return {
            "job_run_id": self.job_run_id,
            "indicators": self.indicators,
            "scores_written": self.scores_written,
            "stages_written": self.stages_written,
            "composites_written": self.composites_written,
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
    executor: DaskExecutor | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> ScoreReport:
    """Score the indicators in ``changed`` (id → earliest changed period), or all of them.

    With ``notify`` the events of each indicator's latest period go to the outbox;
    older periods replayed here are history and notify nobody. With an ``executor``
    the enterprise indicators are scored on it, partitioned by city. On PostgreSQL
    ``threads`` indicators are scored at once, each in its own transaction (while one
    waits for the database another computes; default ``CLUSTERWATCH_SCORE_THREADS``,
    2); SQLite takes one writer at a time, so there it is always one. The run's
    progress (indicators done, then composites and stages) is stored on its job run
    for the console and passed to ``progress`` (a command-line bar).
    """
    now = now or utc_now()
    report = ScoreReport()
    with database.session() as session:
        run = JobRun(job="score", status=RunStatus.RUNNING, started_at=now)
        session.add(run)
        session.flush()
        report.job_run_id = run.id
        first_new_alert = next_alert_id(session)
        derived = update_derived(session, changed, job_run_id=run.id, now=now)
        if changed is not None:
            changed = {**changed, **{k: min(v, changed.get(k, v)) for k, v in derived.items()}}
        query = select(Indicator.id, Indicator.level).order_by(Indicator.id)
        if changed is not None:
            query = query.where(Indicator.id.in_(list(changed)))
        indicators = session.execute(query).all()
    advance = Tracker(database, run.id, now, progress)
    steps = len(indicators) + 2  # each indicator, then composites, then stages

    def score(indicator_id: int, level: str) -> tuple[int, AlertCounts]:
        since = changed.get(indicator_id) if changed is not None else None
        if executor is not None and level == Level.ENTERPRISE:
            return executor.score_indicator(database, indicator_id, since, notify, now)
        with database.session() as session:
            return score_one(session, indicator_id, since, notify, now)

    if database.engine.dialect.name != "postgresql":
        threads = 1
    elif threads is None:
        threads = scoring_threads()
    try:
        for done, (written, counts) in enumerate(_in_threads(score, indicators, threads)):
            report.indicators += 1
            report.scores_written += written
            report.alerts.add(counts)
            advance((done + 1) / steps)
        # Composites first: an orange or red composite warning can start a shock.
        with database.session() as session:
            report.composites_written = update_composites(session, changed)
        advance((steps - 1) / steps)
        with database.session() as session:
            report.stages_written = update_stages(session, changed, now=now, notify=notify)
        with database.session() as session:
            mark_synthetic_alerts(session, first_new_alert)
    except Exception as exc:
        _finish(database, report, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(database, report)  # stores progress 1.0 with the outcome
    if progress is not None:
        progress(1.0)
    logger.info("scoring run %s done: %s", report.job_run_id, report.as_dict())
    return report


def _in_threads(
    function: Callable[..., _Result], arguments: Sequence[Sequence[Any]], threads: int
) -> Iterator[_Result]:
    """``function(*a)`` for each ``a`` in order, up to ``threads`` at once; after a
    failure no call begins, and the first failure is raised."""
    if threads <= 1:
        for item in arguments:
            yield function(*item)
        return
    failed = threading.Event()

    def call(item: Sequence[Any]) -> Any:
        if failed.is_set():
            return _SKIPPED
        try:
            return function(*item)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(call, item) for item in arguments]
        for future in futures:
            result = future.result()
            if result is not _SKIPPED:
                yield result


def _finish(database: Database, report: ScoreReport, error: str | None = None) -> None:
    with database.session() as session:
        run = session.get_one(JobRun, report.job_run_id)
        run.finished_at = utc_now()
        run.status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
        run.error = error
        run.rows_read = report.scores_written
        run.eta = None
        if not error:
            run.progress = 1.0


#: Entities scored together: bounds the observations held in memory at once (a chunk's
#: panel of 100,000 firms x 48 months is 38 MB). Fewer, larger chunks matter on
#: PostgreSQL: a chunk's read of a large table is one scan of it.
CHUNK_ENTITIES = 100_000


@dataclass(frozen=True)
class _Plan:
    """One model of one indicator: its threshold, its last scored period, what to read."""

    model: str
    threshold: Threshold
    done: date | None
    context_from: date | None  # first period decided (None: the whole history)
    read_from: date | None  # first observation the models need for it


def last_scored(
    session: Session, indicator_id: int, models: Iterable[str] = MODELS
) -> dict[str, date | None]:
    """The last period each of ``models`` has scores for, of one indicator.

    One index lookup a model (the index leads with indicator, model, period).
    """
    return {
        model: session.scalar(
            select(func.max(Score.period)).where(
                Score.indicator_id == indicator_id, Score.model == model
            )
        )
        for model in models
    }


def _plan(
    indicator: Indicator,
    model: str,
    threshold: Threshold,
    since: date | None,
    done: date | None,
    context: int,
) -> _Plan:
    if done is None:
        return _Plan(model, threshold, None, None, None)
    resume = shift_period(done, 1, indicator.frequency)
    if since is not None:
        resume = min(resume, since)
    context_from = shift_period(resume, -context, indicator.frequency)
    history = model_history(indicator, model, threshold)
    if history is None:  # a recursive model: every run reads the whole history
        return _Plan(model, threshold, done, context_from, None)
    read_from = shift_period(context_from, -history, indicator.frequency)
    return _Plan(model, threshold, done, context_from, read_from)


def score_one(
    session: Session,
    indicator_id: int,
    since: date | None,
    notify: bool,
    now: datetime,
    within: Select[Any] | None = None,
    done: Mapping[str, date | None] | None = None,
    chunk_entities: int = CHUNK_ENTITIES,
) -> tuple[int, AlertCounts]:
    """Score one indicator, chunk of entities by chunk, reading only what is needed.

    Each model with a threshold row for the indicator scores it. A model never run
    before reads the whole history; afterwards a run reads the trailing window its
    model needs (all of it for a recursive model, see
    :func:`monitor.scoring.model_history`) plus the lifecycle's context, and resumes the
    colour decision from the state kept in the stored scores (:mod:`monitor.state`).
    ``within`` limits the run to one partition of the entities; partitions running at
    the same time pass ``done`` (see :func:`last_scored`) read before any of them began.
    When a grouped model (the peer comparison) scores the indicator, every chunk holds
    whole groups, each firm with its cluster (:func:`monitor.chunks.entity_chunks`).
    """
    indicator = session.get_one(Indicator, indicator_id)
    counts = AlertCounts()
    thresholds = list(
        session.scalars(
            select(Threshold).where(
                Threshold.level == indicator.level, Threshold.dimension == indicator.dimension
            )
        )
    )
    picked = {model: pick_threshold(thresholds, indicator, model) for model in MODELS}
    chosen = {model: threshold for model, threshold in picked.items() if threshold is not None}
    if not chosen:
        logger.warning("indicator %s: no threshold row of any model, not scored", indicator.code)
    done = last_scored(session, indicator.id, chosen) if done is None else done
    # The lifecycle looks back over the flapping memory and the last normal period.
    policy = load_policy(session)
    context = max(policy.flap_window_periods, policy.flap_quiet_periods, 1)
    plans = [
        _plan(indicator, model, threshold, since, done.get(model), context)
        for model, threshold in chosen.items()
    ]
    bounds = select(func.min(Observation.entity_id), func.max(Observation.entity_id)).where(
        Observation.indicator_id == indicator.id
    )
    if within is not None:
        bounds = bounds.where(Observation.entity_id.in_(within))
    first, last = session.execute(bounds).one()
    latest = session.scalar(
        select(func.max(Observation.period)).where(Observation.indicator_id == indicator.id)
    )
    if not plans or first is None:
        return 0, counts
    channels = list(session.scalars(select(Channel).where(Channel.enabled)))
    reads = [plan.read_from for plan in plans]
    read_from = None if None in reads else min(r for r in reads if r is not None)
    written = 0
    by_group = any(grouped(plan.model) for plan in plans)
    chunks = entity_chunks(
        session, indicator.level, first, last, chunk_entities, within=within, by_group=by_group
    )
    for chunk in chunks:
        panel = observation_panel(
            session,
            indicator.id,
            indicator.frequency,
            since=read_from,
            entity_range=chunk.entity_range,
            within=chunk.within,
        )
        if panel.empty:
            continue
        groups = chunk_groups(session, chunk, indicator.level) if by_group else None
        synthetic = synthetic_entity_ids(session, [int(c) for c in panel.columns])
        decided = []
        rows = []
        for plan in plans:
            decisions = _decisions(session, panel, indicator, plan, chunk, groups)
            if decisions is None:
                continue
            start = _first_index_after(decisions.periods, plan.done)
            write_from = start
            if since is not None:
                write_from = min(write_from, _first_index_at(decisions.periods, since))
            if write_from < len(decisions.periods):
                rewrite_from = decisions.periods[write_from].date()
                _delete_scores(session, indicator.id, plan, rewrite_from, chunk)
                rows.append(score_rows(indicator.id, plan.model, decisions, write_from))
            decided.append((plan, decisions, start))
        if rows:  # every model's scores of the chunk in one statement
            written += write_score_rows(session.connection(), pd.concat(rows, ignore_index=True))
        for plan, decisions, start in decided:
            counts.add(
                advance_alerts(
                    session,
                    indicator=indicator,
                    model=plan.model,
                    decisions=decisions,
                    start=start,
                    notify_from=latest if notify else None,
                    channels=channels,
                    synthetic_entities=synthetic,
                    now=now,
                    threshold=plan.threshold,
                )
            )
    return written, counts


def _decisions(
    session: Session,
    panel: pd.DataFrame,
    indicator: Indicator,
    plan: _Plan,
    chunk: Chunk,
    groups: Groups | None,
) -> Decisions | None:
    """The plan's decisions: over the whole panel, or from its context on, resumed."""
    if plan.context_from is None:
        return decide(panel, indicator, plan.model, plan.threshold, groups)
    scores = model_scores(panel, indicator, plan.model, plan.threshold, groups)
    scores = scores.loc[scores.index >= pd.Timestamp(plan.context_from)]
    if scores.empty:
        return None
    threshold = plan.threshold
    direction = effective_direction(indicator, threshold)
    min_periods, of_last = confirmation(threshold)
    where = {
        "indicator_id": indicator.id,
        "model": plan.model,
        "before": scores.index[0].date(),
        "frequency": indicator.frequency,
        "entity_range": chunk.entity_range,
        "blue": threshold.blue,
        "direction": direction,
        "within": chunk.within,
    }
    recent = None
    if of_last is None:
        state = stored_state(session, min_periods=min_periods, **where)
        codes_before, runs_before = state.for_columns(scores.columns)
    else:
        flags = stored_recent(session, clear=threshold.clear, of_last=of_last, **where)
        codes_before, recent = flags.for_columns(scores.columns)
        runs_before = np.zeros(len(codes_before), dtype=np.int64)
    codes = continue_levels(
        scores,
        codes_before,
        runs_before,
        threshold.cutoffs(),
        direction,
        clear=threshold.clear,
        min_periods=min_periods,
        frequency=indicator.frequency,
        of_last=of_last,
        recent=recent,
    )
    crossed = crossed_cutoff(codes, threshold.cutoffs(), direction)
    return Decisions(
        periods=pd.DatetimeIndex(scores.index),
        entity_ids=np.asarray(scores.columns, dtype=np.int64),
        scores=scores.to_numpy(dtype="float64"),
        codes=codes.to_numpy(dtype="int8"),
        crossed=crossed.to_numpy(dtype="float64"),
    )


def _first_index_after(periods: pd.DatetimeIndex, done: date | None) -> int:
    if done is None:
        return 0
    return int(periods.searchsorted(pd.Timestamp(done), side="right"))


def _first_index_at(periods: pd.DatetimeIndex, since: date) -> int:
    return int(periods.searchsorted(pd.Timestamp(since), side="left"))


def _delete_scores(
    session: Session, indicator_id: int, plan: _Plan, first: date, chunk: Chunk
) -> None:
    """Delete the chunk's stored scores of ``plan``'s model from period ``first`` on.

    Nothing is stored after the model's last scored period (``plan.done``): a new
    period has nothing to replace and costs no statement.
    """
    if plan.done is None or first > plan.done:
        return
    stale = delete(Score).where(
        Score.indicator_id == indicator_id,
        Score.model == plan.model,
        Score.entity_id.between(*chunk.entity_range),
        Score.period >= first,
    )
    if chunk.within is not None:
        stale = stale.where(Score.entity_id.in_(chunk.within))
    session.execute(stale)
