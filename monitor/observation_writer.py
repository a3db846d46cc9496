"""Write one chunk of accepted observations: insert the new, revise the changed, count all.

Runs inside the caller's transaction, so a failure leaves nothing written.

* PostgreSQL: the chunk is COPYed (binary) into a temporary table; one statement joins
  it with the stored observations, copies each value about to be revised to the
  vintages, inserts the new rows, updates the changed ones and returns the counts per
  indicator.
* SQLite: the stored rows the chunk may hit are read in one query through the driver
  and compared in numpy; only the new rows (a plain INSERT) and the changed ones (their
  vintage kept, then an UPDATE) are written, by the driver's ``executemany``. A load
  large for the table drops the index by entity and builds it again in ``finish``.

Unchanged rows are never written: their value, synthetic mark and flag equal the stored.
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import Index
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, DropIndex

from monitor.errors import IngestError
from monitor.records import Observation
from monitor.vintages import keep_vintages

__all__ = ["ChunkRows", "ObservationWriter", "WriteCounts", "observation_writer", "row_keys"]

PG_EPOCH = date(2000, 1, 1).toordinal()
BATCH = "observation_batch"
# One row of PostgreSQL's binary COPY: field count, then (length, big-endian value) pairs.
BINARY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("indicator_size", ">i4"),
        ("indicator_id", ">i4"),
        ("entity_size", ">i4"),
        ("entity_id", ">i4"),
        ("period_size", ">i4"),
        ("period", ">i4"),
        ("value_size", ">i4"),
        ("value", ">f8"),
        ("synthetic_size", ">i4"),
        ("synthetic", "u1"),
        ("flag_size", ">i4"),
        ("flag", ">i2"),
    ]
)
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BINARY_TRAILER = struct.pack(">h", -1)
JULIAN_DAY_OF_ORDINAL_ZERO = 1721424.5  # SQLite's julianday() of the day before 0001-01-01
# The index by entity, which a SQLite load large for the table drops and builds again.
ENTITY_INDEX = next(
    index for index in Observation.__table__.indexes if index.name == "ix_observations_entity_id"
)
# Building that index sorts the whole table; growing it costs about four times as much
# per new row (measured), so a load at least half the table's size builds it afresh.
DEFERRED_INDEX_RATIO = 2
STORED_ROW = np.dtype([("key", "i8"), ("value", "f8"), ("synthetic", "i8"), ("flag", "O")])


@dataclass
class ChunkRows:
    """Accepted rows, unique by key: ids, day ordinals, values, marks and flags."""

    indicator_id: np.ndarray  # int64
    entity_id: np.ndarray  # int64
    ordinal: np.ndarray  # int64 day ordinal of the period
    value: np.ndarray  # float64
    synthetic: np.ndarray  # bool
    flag: np.ndarray  # object: a flag text or None

    def __len__(self) -> int:
        return len(self.indicator_id)


@dataclass
class WriteCounts:
    """What writing one chunk did; ``earliest`` is the first period written per indicator."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    earliest: dict[int, date] = field(default_factory=dict)


class ObservationWriter(Protocol):
    """Writes chunks of accepted rows within one transaction."""

    def write(self, rows: ChunkRows) -> WriteCounts:
        """Store ``rows`` (new and changed ones) and count what happened to each."""
        ...

    def finish(self) -> None:
        """Complete what the writes left for the end of the transaction (call once)."""
        ...


def row_keys(indicator_id: np.ndarray, entity_id: np.ndarray, ordinal: np.ndarray) -> np.ndarray:
    """One int64 per (indicator, day, entity), ordered as the unique index: 15, 20 (up to
    the year 2870) and 28 bits."""
    return (
        (indicator_id.astype(np.int64) << 48)
        | (ordinal.astype(np.int64) << 28)
        | entity_id.astype(np.int64)
    )


def _earliest(indicator_id: np.ndarray, ordinal: np.ndarray) -> dict[int, date]:
    if not len(indicator_id):
        return {}
    firsts = pd.Series(ordinal).groupby(indicator_id).min()
    return {int(i): date.fromordinal(int(day)) for i, day in firsts.items()}


def _utc(session: Session, stamp: datetime) -> datetime:
    """``stamp`` as the observations' time stamp column binds it: aware, in UTC."""
    column_type = Observation.__table__.c.updated_at.type
    return column_type.process_bind_param(stamp, session.get_bind().dialect)  # type: ignore[attr-defined]


def _flag_codes(flags: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each row's flag as 0 (none) or a 1-based position in the returned list of flags."""
    codes, uniques = pd.factorize(pd.Series(flags, dtype=object), use_na_sentinel=True)
    return codes + 1, [str(flag) for flag in uniques]


class _PostgresWriter:
    """COPY into a temporary table, then one set-based statement per chunk."""

    def __init__(self, session: Session, run_id: int, stamp: datetime) -> None:
        self.session = session
        self.params = {"run": run_id, "stamp": _utc(session, stamp)}
        self.created = False

    def write(self, rows: ChunkRows) -> WriteCounts:
        if not len(rows):
            return WriteCounts()
        cursor = self.session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        flag_codes, flags = _flag_codes(rows.flag)
        with cursor:
            if self.created:
                cursor.execute(f"TRUNCATE {BATCH}")
            else:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE IF NOT EXISTS {BATCH} (indicator_id integer, "
                    "entity_id integer, period date, value double precision, "
                    "synthetic boolean, flag smallint) ON COMMIT DROP"
                )
                self.created = True
            with cursor.copy(f"COPY {BATCH} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(_binary_copy(rows, flag_codes))
            cursor.execute(f"ANALYZE {BATCH}")
            counted = _merge(cursor, {**_reach(rows), **self.params, "flags": flags}, rows)
        counts = WriteCounts()
        for indicator, inserted, updated, unchanged, first in counted:
            counts.inserted += inserted
            counts.updated += updated
            counts.unchanged += unchanged
            if first is not None:
                counts.earliest[int(indicator)] = first
        return counts

    def finish(self) -> None:
        """Nothing is left: each chunk is merged whole."""


def _merge(cursor: Any, params: dict[str, Any], rows: ChunkRows) -> list[tuple[Any, ...]]:
    """Merge the staged chunk into the observations; the counts per indicator.

    A chunk with no stored row in its reach (a first load, a new month) is inserted as it
    stands, without joining the stored rows. Otherwise new rows go in by a plain INSERT,
    which costs half an ``ON CONFLICT`` one. Should another transaction have stored one
    of those keys meanwhile, that INSERT fails alone (a savepoint) and the upsert merges
    the chunk instead.
    """
    cursor.execute("SAVEPOINT observation_merge")
    try:
        cursor.execute(_STORED_IN_REACH, params)
        if cursor.fetchone()[0]:
            cursor.execute(_MERGE, params)
            counted = cursor.fetchall()
        else:
            cursor.execute(_INSERT_ALL, params)
            counted = _all_new(rows)
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT observation_merge")
        cursor.execute(_UPSERT, params)
        counted = cursor.fetchall()
    cursor.execute("RELEASE SAVEPOINT observation_merge")
    return counted


def _all_new(rows: ChunkRows) -> list[tuple[Any, ...]]:
    """The per-indicator counts of a chunk whose rows are all new, as ``_COUNTS`` gives."""
    ordinals = pd.Series(rows.ordinal).groupby(rows.indicator_id).agg(["size", "min"])
    return [
        (int(indicator), int(size), 0, 0, date.fromordinal(int(first)))
        for indicator, size, first in ordinals.itertuples()
    ]


def _reach(rows: ChunkRows) -> dict[str, Any]:
    """Bounds of the chunk's keys: a large chunk reads the stored rows in that range in
    one pass (a hash join) instead of probing the unique index once per row."""
    return {
        "indicators": sorted(set(rows.indicator_id.tolist())),
        "first": date.fromordinal(int(rows.ordinal.min())),
        "last": date.fromordinal(int(rows.ordinal.max())),
        "lowest": int(rows.entity_id.min()),
        "highest": int(rows.entity_id.max()),
    }


def _binary_copy(rows: ChunkRows, flag_codes: np.ndarray) -> bytes:
    body = np.empty(len(rows), dtype=BINARY_ROW)
    body["fields"] = 6
    for name, size in (
        ("indicator_size", 4),
        ("entity_size", 4),
        ("period_size", 4),
        ("value_size", 8),
        ("synthetic_size", 1),
        ("flag_size", 2),
    ):
        body[name] = size
    body["indicator_id"] = rows.indicator_id
    body["entity_id"] = rows.entity_id
    body["period"] = rows.ordinal - PG_EPOCH
    body["value"] = rows.value
    body["synthetic"] = rows.synthetic
    body["flag"] = flag_codes
    return BINARY_HEADER + body.tobytes() + BINARY_TRAILER


_CHANGED = ", ".join(
    f"{name} = EXCLUDED.{name}"
    for name in ("value", "synthetic", "job_run_id", "updated_at", "flag")
)
# Every sub-statement sees the observations as they were before it: the vintages get
# the values being replaced. Keys are unique within a chunk (duplicates are rejected).
_STAGED = f"""
WITH staged AS (
    SELECT b.indicator_id, b.entity_id, b.period, b.value, b.synthetic,
           (%(flags)s::varchar[])[b.flag] AS flag,
           o.id AS old_id, o.value AS old_value, o.flag AS old_flag,
           o.updated_at AS old_updated_at, o.job_run_id AS old_run,
           (o.id IS NOT NULL AND o.value = b.value AND o.synthetic = b.synthetic
            AND o.flag IS NOT DISTINCT FROM (%(flags)s::varchar[])[b.flag]) AS same
    FROM {BATCH} b
    LEFT JOIN observations o ON o.indicator_id = b.indicator_id
        AND o.entity_id = b.entity_id AND o.period = b.period
        AND o.indicator_id = ANY(%(indicators)s) AND o.period BETWEEN %(first)s AND %(last)s
        AND o.entity_id BETWEEN %(lowest)s AND %(highest)s
), kept AS (
    INSERT INTO observation_vintages (indicator_id, entity_id, period, value, flag,
                                      retrieved_at, job_run_id, superseded_at)
    SELECT indicator_id, entity_id, period, old_value, old_flag, old_updated_at, old_run,
           %(stamp)s
    FROM staged WHERE old_id IS NOT NULL AND NOT same
)"""
_INSERTED = """INSERT INTO observations (indicator_id, entity_id, period, value, synthetic,
                              job_run_id, updated_at, flag)
    SELECT indicator_id, entity_id, period, value, synthetic, %(run)s, %(stamp)s, flag
    FROM staged"""  # in key order, as the chunk was copied
_COUNTS = """
SELECT indicator_id,
       count(*) FILTER (WHERE old_id IS NULL),
       count(*) FILTER (WHERE old_id IS NOT NULL AND NOT same),
       count(*) FILTER (WHERE same),
       min(period) FILTER (WHERE NOT same)
FROM staged GROUP BY indicator_id
"""
# Whether any stored row lies in the chunk's reach (the unique index, first hit ends it).
_STORED_IN_REACH = """
SELECT EXISTS (
    SELECT 1 FROM observations o
    WHERE o.indicator_id = ANY(%(indicators)s) AND o.period BETWEEN %(first)s AND %(last)s
      AND o.entity_id BETWEEN %(lowest)s AND %(highest)s
)"""
# A chunk of new rows only, in key order as it was copied.
_INSERT_ALL = f"""INSERT INTO observations (indicator_id, entity_id, period, value, synthetic,
                          job_run_id, updated_at, flag)
SELECT indicator_id, entity_id, period, value, synthetic, %(run)s, %(stamp)s,
       (%(flags)s::varchar[])[flag]
FROM {BATCH}"""
# The new rows inserted, the changed ones updated by id.
_MERGE = f"""{_STAGED}, inserted AS (
    {_INSERTED} WHERE old_id IS NULL
), revised AS (
    UPDATE observations o SET value = s.value, synthetic = s.synthetic,
        job_run_id = %(run)s, updated_at = %(stamp)s, flag = s.flag
    FROM staged s WHERE o.id = s.old_id AND NOT s.same
){_COUNTS}"""
# The same, for keys another transaction may have stored since they were read.
_UPSERT = f"""{_STAGED}, written AS (
    {_INSERTED} WHERE NOT same
    ON CONFLICT (indicator_id, entity_id, period) DO UPDATE SET {_CHANGED}
){_COUNTS}"""


class _SqliteWriter:
    """Compare with the stored rows in numpy; write the new and the changed ones only."""

    def __init__(self, session: Session, run_id: int, stamp: datetime) -> None:
        self.session = session
        self.run_id = run_id
        self.superseded_at = stamp
        dialect = session.get_bind().dialect
        stamp_type = Observation.__table__.c.updated_at.type
        processor = stamp_type.dialect_impl(dialect).bind_processor(dialect)
        bound = _utc(session, stamp)
        self.stamp = processor(bound) if processor else bound
        self.deferred: Index | None = None
        self.decided = False

    def write(self, rows: ChunkRows) -> WriteCounts:
        if not len(rows):
            return WriteCounts()
        keys = row_keys(rows.indicator_id, rows.entity_id, rows.ordinal)
        stored = self._stored(rows)
        stored_keys = stored["key"]
        at = np.searchsorted(stored_keys, keys).clip(0, max(len(stored_keys) - 1, 0))
        found = stored_keys[at] == keys if len(stored_keys) else np.zeros(len(keys), bool)
        same = found.copy()
        if found.any():
            hit = at[found]
            same[found] = (
                (stored["value"][hit] == rows.value[found])
                & (stored["synthetic"][hit] == rows.synthetic[found])
                & (stored["flag"][hit] == rows.flag[found])
            )
        new, revised = ~found, found & ~same
        written = ~same
        counts = WriteCounts(
            inserted=int(new.sum()),
            updated=int(revised.sum()),
            unchanged=int(same.sum()),
            earliest=_earliest(rows.indicator_id[written], rows.ordinal[written]),
        )
        if new.any():
            if not self.decided:
                self.deferred = self._defer_entity_index(counts.inserted)
                self.decided = True
            self._insert(rows, _in_insert_order(rows, new))
        if revised.any():
            periods = _iso_days(rows.ordinal[revised])
            keep_vintages(
                self.session,
                pd.DataFrame(
                    {
                        "i": rows.indicator_id[revised],
                        "e": rows.entity_id[revised],
                        "period": [date.fromisoformat(day) for day in periods],
                    }
                ),
                superseded_at=self.superseded_at,
            )
            self._executemany(_UPDATE, self._revisions(rows, revised))
        return counts

    def finish(self) -> None:
        """Build the entity index again if the first chunk dropped it."""
        if self.deferred is not None:
            self.session.execute(CreateIndex(self.deferred))
            self.deferred = None

    def _defer_entity_index(self, inserting: int) -> Index | None:
        """Drop the entity index until ``finish`` when this load is large for the table.

        Rows arrive period by period, so each chunk touches every page of an index by
        entity; sorting the whole table once costs less while the table holds at most
        ``DEFERRED_INDEX_RATIO`` times the first chunk's new rows. The drop runs inside
        the ingest's transaction (opened here if no write has opened it yet), so a
        failure rolls it back with everything else.
        """
        index = ENTITY_INDEX
        driver = self.session.connection().connection.driver_connection  # type: ignore[union-attr]
        cursor = driver.cursor()
        try:
            exists = cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?",
                (index.name,),
            ).fetchone()[0]
            stored = cursor.execute("SELECT coalesce(max(id), 0) FROM observations").fetchone()[0]
            if not exists or stored > DEFERRED_INDEX_RATIO * inserting:
                return None
            if not driver.in_transaction:
                cursor.execute("BEGIN")
        finally:
            cursor.close()
        self.session.execute(DropIndex(index))
        return index

    def _insert(self, rows: ChunkRows, positions: np.ndarray) -> None:
        """Insert the rows at ``positions`` (in that order), one statement per synthetic
        mark and flag: those, the run and the stamp are written into the statement, so a
        row binds only its key and value (each bound value costs the driver as much as a
        step of the table's B-tree)."""
        flag_codes, flags = _flag_codes(rows.flag[positions])
        groups = flag_codes * 2 + rows.synthetic[positions]
        for group in np.unique(groups).tolist():
            chosen = positions[groups == group]
            flag = flags[group // 2 - 1] if group >= 2 else None
            sql = (
                f"{_INSERT_HEAD} VALUES (?, ?, ?, ?, {group % 2}, {int(self.run_id)}, "
                f"{_sql_text(self.stamp)}, {_sql_text(flag)})"
            )
            keys_and_values = (
                rows.indicator_id[chosen].tolist(),
                rows.entity_id[chosen].tolist(),
                _iso_days(rows.ordinal[chosen]),
                rows.value[chosen].tolist(),
            )
            self._executemany(sql, zip(*keys_and_values, strict=True))

    def _executemany(self, sql: str, rows: Iterable[Any]) -> None:
        """The driver's own loop over plain tuples (no per-row work in SQLAlchemy)."""
        cursor = self.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _stored(self, rows: ChunkRows) -> np.ndarray:
        """Key (sorted), value, synthetic mark and flag of the stored rows in reach.

        One index range per indicator over the chunk's periods (the entities go as one
        JSON list, not thousands of bound names); the key is computed by SQLite (a date
        is stored as its ISO text), which halves what crosses into Python.
        """
        indicators = sorted(set(rows.indicator_id.tolist()))
        marks = ", ".join("?" for _ in indicators)
        first, last = _iso_days(np.array([rows.ordinal.min(), rows.ordinal.max()]))
        sql = (
            "SELECT (indicator_id << 48) | "
            f"(CAST(julianday(period) - {JULIAN_DAY_OF_ORDINAL_ZERO} AS INTEGER) << 28) | "
            "entity_id, "
            "value, synthetic, flag FROM observations "
            f"WHERE indicator_id IN ({marks}) "
            "AND entity_id IN (SELECT value FROM json_each(?)) AND period BETWEEN ? AND ?"
        )
        entities = json.dumps(np.unique(rows.entity_id).tolist())
        params = (*indicators, entities, first, last)
        cursor = self.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            found = np.array(cursor.execute(sql, params).fetchall(), dtype=STORED_ROW)
        finally:
            cursor.close()
        return found[np.argsort(found["key"], kind="stable")]

    def _revisions(self, rows: ChunkRows, mask: np.ndarray) -> Iterable[Any]:
        """The UPDATE's tuples of the rows ``mask`` selects: what is written, then the key."""
        columns = (
            rows.value[mask].tolist(),
            rows.synthetic[mask].astype(np.int64).tolist(),
            itertools.repeat(self.run_id),
            itertools.repeat(self.stamp),
            rows.flag[mask].tolist(),
            rows.indicator_id[mask].tolist(),
            rows.entity_id[mask].tolist(),
            _iso_days(rows.ordinal[mask]),
        )
        return zip(*columns, strict=False)  # the repeated constants never run out


def _in_insert_order(rows: ChunkRows, mask: np.ndarray) -> np.ndarray:
    """Positions of the masked rows ordered by indicator, entity and period.

    Inserted in this order, the entity index grows entity by entity in one pass per
    indicator and the key index at the end of each indicator's months, so SQLite meets
    each index page a few times instead of once per month of the chunk; an indicator's
    rows still lie together in the table, as the next comparison reads them.
    """
    at = np.flatnonzero(mask)
    return at[np.lexsort((rows.ordinal[at], rows.entity_id[at], rows.indicator_id[at]))]


def _sql_text(text: str | None) -> str:
    """``text`` as an SQL literal (quotes doubled), or NULL."""
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def _iso_days(ordinals: np.ndarray) -> list[str]:
    """ISO dates (how SQLite stores a date) of day ordinals, converted once per day."""
    codes, days = pd.factorize(ordinals)
    texts = np.array([date.fromordinal(int(day)).isoformat() for day in days], dtype=object)
    return texts[codes].tolist()


_INSERT_HEAD = (
    "INSERT INTO observations (indicator_id, entity_id, period, value, synthetic, "
    "job_run_id, updated_at, flag)"
)
_UPDATE = (
    "UPDATE observations SET value = ?, synthetic = ?, job_run_id = ?, updated_at = ?, "
    "flag = ? WHERE indicator_id = ? AND entity_id = ? AND period = ?"
)


def observation_writer(session: Session, run_id: int, stamp: datetime) -> ObservationWriter:
    """The writer for the session's database; rows are stamped with ``run_id`` and ``stamp``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return _PostgresWriter(session, run_id, stamp)
    if name == "sqlite":
        return _SqliteWriter(session, run_id, stamp)
    raise IngestError(f"cannot bulk-write observations with {name}")
