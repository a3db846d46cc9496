"""Jobs follow the sources, persist in the database and never duplicate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import select

from monitor.config import Settings
from monitor.db import Database
from monitor.records import Source
from monitor.scheduler import (
    DELIVER_JOB_ID,
    HOUSEKEEPING_JOB_ID,
    SYNC_JOB_ID,
    build_scheduler,
    source_job_id,
    start_scheduler,
    sync_jobs,
    sync_sources,
)
from monitor.sources import SourceError, add_source


@pytest.fixture
def settings(database: Database) -> Settings:
    return Settings.from_env(
        {"CLUSTERWATCH_DATABASE_URL": database.url, "CLUSTERWATCH_SECRET_KEY": "test"}
    )


@pytest.fixture
def scheduler(settings: Settings, database: Database) -> Iterator[BaseScheduler]:
    running = build_scheduler(settings, database)
    running.start(paused=True)
    yield running
    running.shutdown(wait=False)


def _sources(database: Database) -> list[Source]:
    with database.session() as session:
        return list(session.scalars(select(Source)))


def test_each_scheduled_source_gets_one_job_and_delivery_runs(
    scheduler: BaseScheduler, database: Database, settings: Settings
) -> None:
    with database.session() as session:
        daily = add_source(session, name="daily", kind="csv", location="a.csv", cron="0 6 * * *")
        add_source(session, name="manual", kind="csv", location="b.csv")

    sync_jobs(scheduler, _sources(database), settings)
    sync_jobs(scheduler, _sources(database), settings)

    ids = sorted(job.id for job in scheduler.get_jobs())
    assert ids == sorted(
        [source_job_id(daily.id), DELIVER_JOB_ID, HOUSEKEEPING_JOB_ID, SYNC_JOB_ID]
    )


def test_changed_schedule_is_rescheduled_and_disabled_source_removed(
    scheduler: BaseScheduler, database: Database, settings: Settings
) -> None:
    with database.session() as session:
        source = add_source(session, name="s", kind="csv", location="a.csv", cron="0 6 * * *")
    sync_jobs(scheduler, _sources(database), settings)
    with database.session() as session:
        session.get_one(Source, source.id).cron = "30 7 * * 1"
    sync_jobs(scheduler, _sources(database), settings)
    job = scheduler.get_job(source_job_id(source.id))
    assert job is not None and "minute='30'" in str(job.trigger)

    with database.session() as session:
        session.get_one(Source, source.id).enabled = False
    sync_jobs(scheduler, _sources(database), settings)
    assert scheduler.get_job(source_job_id(source.id)) is None


def test_jobs_persist_across_scheduler_restarts(database: Database, settings: Settings) -> None:
    with database.session() as session:
        source = add_source(session, name="s", kind="csv", location="a.csv", cron="0 6 * * *")
    first = build_scheduler(settings, database)
    first.start(paused=True)
    sync_jobs(first, _sources(database), settings)
    first.shutdown(wait=False)

    second = build_scheduler(settings, database)
    second.start(paused=True)
    try:
        assert second.get_job(source_job_id(source.id)) is not None
        sync_jobs(second, _sources(database), settings)
        assert len(second.get_jobs()) == 4
    finally:
        second.shutdown(wait=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "kind": "csv", "location": "a.csv"}, "needs a name"),
        ({"name": "x", "kind": "ftp", "location": "a.csv"}, "unknown source kind"),
        ({"name": "x", "kind": "csv"}, "needs the file"),
        ({"name": "x", "kind": "csv", "location": "a", "cron": "every day"}, "invalid cron"),
    ],
)
def test_bad_source_definitions_are_refused(
    database: Database, kwargs: dict[str, str], message: str
) -> None:
    with database.session() as session, pytest.raises(SourceError, match=message):
        add_source(session, **kwargs)


def test_a_source_added_after_start_is_scheduled_by_the_sync_job(
    database: Database, settings: Settings
) -> None:
    scheduler = start_scheduler(settings, database)
    try:
        scheduler.pause()
        with database.session() as session:
            source = add_source(
                session, name="late", kind="csv", location="a.csv", cron="0 6 * * *"
            )

        sync_sources()

        assert scheduler.get_job(source_job_id(source.id)) is not None
    finally:
        scheduler.shutdown(wait=False)
