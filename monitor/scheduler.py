"""The APScheduler 3 scheduler: one cron job per enabled source and a delivery job.

Jobs live in the same database (``apscheduler_jobs``), named by text with plain ids.
Deployed, the scheduler is its own process (``clusterwatch scheduler``, one replica);
the embedded default runs a background scheduler inside the console's process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from monitor.config import Settings
from monitor.db import Database
from monitor.jobs import DELIVER, RUN_SOURCE
from monitor.records import Source

logger = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
TIMEZONE = "Asia/Shanghai"
DELIVER_JOB_ID = "deliver"


def source_job_id(source_id: int) -> str:
    return f"source:{source_id}"


def build_scheduler(settings: Settings, database: Database) -> BaseScheduler:
    """A background scheduler whose jobs persist in ``database``; not started.

    The standalone scheduler process runs the same background scheduler and keeps its
    main thread waiting for a signal, so jobs can be synced before anything fires.
    """
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=database.engine)},
        executors={"default": ThreadPoolExecutor(settings.scheduler_workers)},
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
    remove jobs of deleted or disabled sources, and keep one delivery job."""
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


def start_scheduler(settings: Settings, database: Database) -> BaseScheduler:
    """Build the scheduler, sync its jobs with the sources and start it."""
    scheduler = build_scheduler(settings, database)
    # Paused start: the job store is reachable for syncing, nothing fires meanwhile.
    scheduler.start(paused=True)
    with database.session() as session:
        sources = list(session.scalars(select(Source)))
    sync_jobs(scheduler, sources, settings)
    logger.info("scheduler started with jobs: %s", [job.id for job in scheduler.get_jobs()])
    scheduler.resume()
    return scheduler
