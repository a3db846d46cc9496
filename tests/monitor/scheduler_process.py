"""A scheduler process for the exactly-once test: ``python -m tests.monitor.scheduler_process
URL SECONDS`` runs a scheduler on URL with a job firing every second, for SECONDS."""

from __future__ import annotations

import os
import sys
import time

from apscheduler.triggers.cron import CronTrigger

from monitor.config import Settings
from monitor.db import database_for
from monitor.records import JobRun
from monitor.scheduler import build_scheduler

TICK_JOB = "tick"


def tick() -> None:
    """The job: one job run per execution, stamped with the process that ran it."""
    settings = Settings.from_env()
    with database_for(settings.database_url).session() as session:
        session.add(JobRun(job=TICK_JOB, status="succeeded", file_name=str(os.getpid())))


def main(url: str, seconds: float) -> None:
    settings = Settings.from_env(
        {"CLUSTERWATCH_DATABASE_URL": url, "CLUSTERWATCH_SECRET_KEY": "test"}
    )
    scheduler = build_scheduler(settings, database_for(url))
    scheduler.start(paused=True)
    scheduler.add_job(
        "tests.monitor.scheduler_process:tick",
        CronTrigger(second="*"),
        id=TICK_JOB,
        replace_existing=True,
        misfire_grace_time=30,
    )
    print("ready", flush=True)
    scheduler.resume()
    time.sleep(seconds)
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
