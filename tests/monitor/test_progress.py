"""A running job's progress reaches the console while the job's transaction is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from monitor.db import Database
from monitor.jobs import recent_runs, run_progress
from monitor.pipeline import score_indicators
from monitor.progress import Tracker, estimate_end, store_progress
from monitor.records import JobRun, Source
from monitor.vocabulary import RunStatus

STARTED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _running_run(database: Database) -> int:
    with database.session() as session:
        source = Source(name="upload", kind="file", location="")
        session.add(source)
        session.flush()
        run = JobRun(
            job="ingest",
            source_id=source.id,
            status=RunStatus.RUNNING,
            started_at=STARTED,
            progress=0.0,
        )
        session.add(run)
        session.flush()
        return run.id


def test_the_end_is_estimated_from_the_pace_so_far() -> None:
    now = STARTED + timedelta(minutes=10)
    assert estimate_end(STARTED, 0.25, now) == now + timedelta(minutes=30)
    assert estimate_end(STARTED, 1.0, now) == now
    assert estimate_end(STARTED, 0.0, now) is None


def test_progress_is_visible_while_a_sqlite_write_transaction_is_open(database: Database) -> None:
    run_id = _running_run(database)
    eta = STARTED + timedelta(minutes=5)
    with database.engine.begin() as ingest:  # holds SQLite's write lock, like a long ingest
        ingest.execute(insert(Source).values(name="other", kind="file", location=""))
        store_progress(database, run_id, 0.4, eta)

        seen = run_progress(database, run_id)

    assert (seen["progress"], seen["eta"]) == (0.4, eta.isoformat())
    assert recent_runs(database)[0]["progress"] == 0.4


def test_progress_is_stored_on_the_run_on_every_backend(any_database: Database) -> None:
    run_id = _running_run(any_database)
    eta = STARTED + timedelta(minutes=2)

    store_progress(any_database, run_id, 0.75, eta)

    seen = run_progress(any_database, run_id)
    assert (seen["progress"], seen["eta"]) == (0.75, eta.isoformat())


def test_a_finished_run_shows_its_own_progress_not_the_live_one(database: Database) -> None:
    run_id = _running_run(database)
    store_progress(database, run_id, 0.5, None)
    with database.session() as session:
        run = session.get_one(JobRun, run_id)
        run.status, run.progress, run.eta = RunStatus.SUCCEEDED, 1.0, None

    assert run_progress(database, run_id)["progress"] == 1.0


def test_tracking_passes_every_fraction_on_and_stores_them_sparingly(database: Database) -> None:
    run_id = _running_run(database)
    seen: list[float] = []
    report = Tracker(database, run_id, STARTED, seen.append, interval=3600)

    for fraction in (0.1, 0.2, 0.3):
        report(fraction)
    stored_early = run_progress(database, run_id)["progress"]
    report(1.0)

    assert seen == [0.1, 0.2, 0.3, 1.0]
    assert stored_early == 0.1  # the first update is stored, the next wait for the interval
    assert run_progress(database, run_id)["progress"] == 1.0


def test_a_scoring_cycle_reports_its_progress_and_ends_at_one(database: Database) -> None:
    seen: list[float] = []

    report = score_indicators(database, progress=seen.append)

    assert seen[-1] == 1.0 and seen == sorted(seen)
    with database.session() as session:
        run = session.get_one(JobRun, report.job_run_id)
        assert (run.status, run.progress, run.eta) == ("succeeded", 1.0, None)
