"""Live progress of a running job (fraction done and estimated end), for the console.

A long ingest, scoring cycle or backfill reports its progress while its own
transaction is open. On PostgreSQL the progress is written to the job run's row in a
separate short transaction. On SQLite that row cannot be written meanwhile (the open
transaction holds the database's write lock), so progress goes to a small side
database next to the main file (``<file>-progress``), which the console reads for the
runs still marked running; an in-memory SQLite database keeps it in the process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from monitor.db import Database
from monitor.records import JobRun, utc_now

Progress = Callable[[float], None]

#: Seconds between two stored updates of one run (the command-line bar sees every one).
STORE_INTERVAL = 1.0

_side_metadata = MetaData()
_side_table = Table(
    "run_progress",
    _side_metadata,
    Column("run_id", Integer, primary_key=True),
    Column("fraction", Float, nullable=False),
    Column("eta", String(40)),
)
_side_engines: dict[str, Engine] = {}
_in_process: dict[tuple[str, int], tuple[float, datetime | None]] = {}
_lock = threading.Lock()


def estimate_end(started: datetime, fraction: float, now: datetime) -> datetime | None:
    """When a job started at ``started`` and ``fraction`` done should end, at its pace."""
    if fraction <= 0:
        return None
    elapsed = (now - started).total_seconds()
    return now + timedelta(seconds=elapsed * (1 - fraction) / fraction)


def store_progress(database: Database, run_id: int, fraction: float, eta: datetime | None) -> None:
    """Record where run ``run_id`` stands, without waiting for the run's transaction."""
    fraction = min(max(float(fraction), 0.0), 1.0)
    if database.dialect != "sqlite":
        with database.engine.begin() as connection:
            connection.execute(
                update(JobRun.__table__)
                .where(JobRun.__table__.c.id == run_id)
                .values(progress=fraction, eta=eta)
            )
        return
    side = _side_engine(database)
    if side is None:
        with _lock:
            _in_process[(database.url, run_id)] = (fraction, eta)
        return
    stamp = eta.isoformat() if eta is not None else None
    statement = sqlite_insert(_side_table).values(run_id=run_id, fraction=fraction, eta=stamp)
    with side.begin() as connection:
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["run_id"], set_={"fraction": fraction, "eta": stamp}
            )
        )


def live_progress(
    database: Database, run_ids: Iterable[int]
) -> dict[int, tuple[float, datetime | None]]:
    """The latest progress stored aside for ``run_ids`` (SQLite); empty elsewhere."""
    ids = list(run_ids)
    if database.dialect != "sqlite" or not ids:
        return {}
    side = _side_engine(database)
    if side is None:
        with _lock:
            return {
                i: _in_process[(database.url, i)] for i in ids if (database.url, i) in _in_process
            }
    with side.connect() as connection:
        rows = connection.execute(select(_side_table).where(_side_table.c.run_id.in_(ids))).all()
    return {
        row.run_id: (row.fraction, datetime.fromisoformat(row.eta) if row.eta else None)
        for row in rows
    }


class Tracker:
    """A progress callback that passes each fraction to ``progress`` (a command-line bar)
    and stores it, with the estimated end, at most every ``interval`` seconds.

    ``fraction`` is the latest fraction reported, stored or not.
    """

    def __init__(
        self,
        database: Database,
        run_id: int,
        started: datetime,
        progress: Progress | None = None,
        *,
        interval: float = STORE_INTERVAL,
    ) -> None:
        self.database, self.run_id, self.started = database, run_id, started
        self.progress, self.interval = progress, interval
        self.fraction = 0.0
        self._stored_at = float("-inf")

    def __call__(self, fraction: float) -> None:
        self.fraction = fraction
        if self.progress is not None:
            self.progress(fraction)
        moment = time.monotonic()
        if fraction <= 0 or (fraction < 1 and moment - self._stored_at < self.interval):
            return
        self._stored_at = moment
        eta = estimate_end(self.started, fraction, utc_now())
        store_progress(self.database, self.run_id, fraction, eta)


def _side_engine(database: Database) -> Engine | None:
    """The side database of a SQLite file (created on first use); None in memory."""
    path = database.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    with _lock:
        engine = _side_engines.get(path)
        if engine is None:
            engine = create_engine(f"sqlite:///{path}-progress")
            _side_metadata.create_all(engine)
            _side_engines[path] = engine
        return engine
