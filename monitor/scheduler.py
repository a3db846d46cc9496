"""The APScheduler 3 scheduler: one cron job per enabled source and a delivery job.

Jobs live in the same database (``apscheduler_jobs``), named by text with plain ids.
Deployed, the scheduler is its own process (``clusterwatch scheduler``); the embedded
default runs a background scheduler inside the console's process.

Several scheduler processes may share one database: before a fire runs, the executor
claims it with a row in ``job_fires`` (unique on job and fire time), so each scheduled
fire runs exactly once whichever process wins; on PostgreSQL a session advisory lock
per job also keeps two fires of one job from overlapping across processes.
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError

from monitor.config import Settings
from monitor.db import Database
from monitor.jobs import DELIVER, HOUSEKEEPING, RUN_SOURCE
from monitor.records import JobFire, Source

logger = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
TIMEZONE = "Asia/Shanghai"
DELIVER_JOB_ID = "deliver"
HOUSEKEEPING_JOB_ID = "housekeeping"
HOUSEKEEPING_HOURS = 1
SYNC_JOB_ID = "sync_sources"
SYNC = "monitor.scheduler:sync_sources"
SYNC_SECONDS = 60  # a source added or changed in the console is scheduled within a minute
KEEP_FIRES = timedelta(days=7)  # claimed fires kept (far beyond the misfire grace time)


def source_job_id(source_id: int) -> str:
    return f"source:{source_id}"


def claim_fire(database: Database, job_id: str, fire_time: datetime) -> bool:
    """Claim one scheduled fire of a job; ``False`` if another process already has.

    Claims older than ``KEEP_FIRES`` are pruned as new ones are made.
    """
    try:
        with database.session() as session:
            session.add(JobFire(job_id=job_id, fire_time=fire_time, claimed_by=_me()))
            session.flush()
            session.execute(
                delete(JobFire).where(
                    JobFire.job_id == job_id, JobFire.fire_time < fire_time - KEEP_FIRES
                )
            )
    except IntegrityError:
        return False
    return True


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


@contextmanager
def exclusive(database: Database, job_id: str) -> Iterator[bool]:
    """Whether this process may run ``job_id`` now: on PostgreSQL, a session advisory lock
    held while the job runs (no other process runs it meanwhile); elsewhere always."""
    if database.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(job_id.encode()) - 2**31
    with database.engine.connect() as connection:
        got = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


class ClaimingExecutor(ThreadPoolExecutor):
    """A thread pool that runs only the fires this process claims in the database."""

    def __init__(self, database: Database, max_workers: int = 10) -> None:
        super().__init__(max_workers)
        self.database = database

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        def claimed_run() -> list[Any]:
            mine = [when for when in run_times if claim_fire(self.database, job.id, when)]
            if not mine:
                return []
            with exclusive(self.database, job.id) as free:
                if not free:
                    logger.warning("job %s is running in another process; fire skipped", job.id)
                    return []
                return run_job(job, job._jobstore_alias, mine, self._logger.name)

        def callback(future: Any) -> None:
            error = future.exception()
            if error is not None:
                self._run_job_error(job.id, error, error.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        self._pool.submit(claimed_run).add_done_callback(callback)


def build_scheduler(settings: Settings, database: Database) -> BaseScheduler:
    """A background scheduler whose jobs persist in ``database``; not started.

    The standalone scheduler process runs the same background scheduler and keeps its
    main thread waiting for a signal, so jobs can be synced before anything fires.
    """
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=database.engine)},
        executors={"default": ClaimingExecutor(database, settings.scheduler_workers)},
        job_defaults=JOB_DEFAULTS,
        timezone="UTC",
    )
    scheduler.add_listener(_log_job_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _log_job_problem(event: JobExecutionEvent) -> None:
    if event.exception is not None:
        logger.error("job %s failed: %s", event.job_id, event.exception)
    else:
        logger.warning("job %s missed its run time %s", event.job_id, event.scheduled_run_time)


def sync_jobs(scheduler: BaseScheduler, sources: Iterable[Source], settings: Settings) -> None:
    """Make the job store match the sources: add missing jobs, reschedule changed ones,
    remove jobs of deleted or disabled sources, and keep one delivery job, one
    housekeeping job (stale, stale-data and source alerts, reminders) and one job that
    repeats this sync every minute."""
    wanted: set[str] = set()
    for source in sources:
        if not source.enabled or not source.cron:
            continue
        job_id = source_job_id(source.id)
        wanted.add(job_id)
        trigger = CronTrigger.from_crontab(source.cron, timezone=TIMEZONE)
        job = scheduler.get_job(job_id)
        if job is None:
            scheduler.add_job(
                RUN_SOURCE, trigger, args=[source.id], id=job_id, name=f"source {source.name}"
            )
        elif str(job.trigger) != str(trigger):
            job.reschedule(trigger)
    for job in scheduler.get_jobs():
        if job.id.startswith("source:") and job.id not in wanted:
            job.remove()
    interval = IntervalTrigger(seconds=settings.delivery_interval_seconds)
    delivery = scheduler.get_job(DELIVER_JOB_ID)
    if delivery is None:
        scheduler.add_job(DELIVER, interval, id=DELIVER_JOB_ID, name="deliver notifications")
    elif str(delivery.trigger) != str(interval):
        delivery.reschedule(interval)
    if scheduler.get_job(HOUSEKEEPING_JOB_ID) is None:
        scheduler.add_job(
            HOUSEKEEPING,
            IntervalTrigger(hours=HOUSEKEEPING_HOURS),
            id=HOUSEKEEPING_JOB_ID,
            name="alert housekeeping",
        )
    if scheduler.get_job(SYNC_JOB_ID) is None:
        scheduler.add_job(
            SYNC,
            IntervalTrigger(seconds=SYNC_SECONDS),
            id=SYNC_JOB_ID,
            name="follow source changes",
        )


_running: list[tuple[BaseScheduler, Settings, Database]] = []


def sync_sources() -> None:
    """Scheduled: make the jobs follow the sources again (added, changed, disabled in the
    console or by ``clusterwatch source``). The job store is shared, so the scheduler
    process that runs this fire syncs it for all."""
    for scheduler, settings, database in list(_running):
        with database.session() as session:
            sources = list(session.scalars(select(Source)))
        sync_jobs(scheduler, sources, settings)


def start_scheduler(settings: Settings, database: Database) -> BaseScheduler:
    """Build the scheduler, sync its jobs with the sources and start it."""
    scheduler = build_scheduler(settings, database)
    # Paused start: the job store is reachable for syncing, nothing fires meanwhile.
    scheduler.start(paused=True)
    with database.session() as session:
        sources = list(session.scalars(select(Source)))
    sync_jobs(scheduler, sources, settings)
    logger.info("scheduler started with jobs: %s", [job.id for job in scheduler.get_jobs()])
    _running[:] = [(scheduler, settings, database)]
    scheduler.resume()
    return scheduler
