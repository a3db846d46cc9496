"""Each scheduled fire runs once, even with two scheduler processes on one database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from monitor.db import Database
from monitor.migrate import upgrade
from monitor.records import JobFire, JobRun
from monitor.scheduler import claim_fire, exclusive

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 6


def test_a_fire_is_claimed_only_once(database: Database) -> None:
    fire = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    assert claim_fire(database, "source:1", fire)
    assert not claim_fire(database, "source:1", fire)
    assert claim_fire(database, "source:2", fire)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(JobFire)) == 2


@pytest.fixture
def postgres() -> Database:
    url = os.environ.get("CLUSTERWATCH_TEST_DATABASE_URL")
    if not url:
        pytest.skip("CLUSTERWATCH_TEST_DATABASE_URL is not set")
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(database)
    return database


def test_a_running_job_is_exclusive_across_connections(postgres: Database) -> None:
    with exclusive(postgres, "source:7") as first:
        with exclusive(postgres, "source:7") as second:
            assert first and not second
    with exclusive(postgres, "source:7") as again:
        assert again


def test_two_scheduler_processes_run_each_fire_exactly_once(postgres: Database) -> None:
    environment = {
        **os.environ,
        "CLUSTERWATCH_DATABASE_URL": postgres.url,
        "CLUSTERWATCH_SECRET_KEY": "test",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "tests.monitor.scheduler_process", postgres.url]
    processes = [
        subprocess.Popen(
            [*command, str(RUN_SECONDS)], env=environment, cwd=ROOT, stdout=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for process in processes:
        assert process.wait(timeout=60) == 0

    with postgres.session() as session:
        runs = list(session.scalars(select(JobRun).where(JobRun.job == "tick")))
        fires = list(session.scalars(select(JobFire).where(JobFire.job_id == "tick")))
    assert len(runs) >= RUN_SECONDS - 2  # one fire a second while both ran
    assert len(runs) <= RUN_SECONDS + 2  # not two runs per fire
    assert len(runs) == len(fires)
    assert len({fire.fire_time for fire in fires}) == len(fires)
    by_process = Counter(run.file_name for run in runs)
    assert sum(by_process.values()) == len(runs)
    postgres.dispose()


def test_old_claims_are_pruned_when_new_fires_are_claimed(database: Database) -> None:
    old = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    assert claim_fire(database, "source:1", old)
    assert claim_fire(database, "source:2", old)
    assert claim_fire(database, "source:1", old + timedelta(days=8))
    with database.session() as session:
        left = session.execute(select(JobFire.job_id, JobFire.fire_time)).all()
    assert sorted((job, when.day) for job, when in left) == [("source:1", 9), ("source:2", 1)]
