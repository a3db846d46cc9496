"""One province-scale monthly cycle, stage by stage, on SQLite or PostgreSQL.

Usage, from the repository root in the project's environment::

    python -m bench.cycle --database-url URL --reset [--enterprises 10000,100000]
                          [--months 36] [--out FILE]

For each enterprise count E the database is emptied (``--reset`` is required: every
table of the database is dropped) and migrated, then each stage runs in its own
process, so the peak memory reported is that stage's alone:

``setup``         16 cities, 40 clusters, E firms, 6 monthly enterprise indicators, the
                  thresholds of both models and two notification channels;
``ingest``        E x 6 x ``--months`` rows through ``monitor.ingest.ingest_frame``, in
                  frames of ``--ingest-months`` months (the first load);
``ingest-again``  the very same rows again: nothing may change;
``load-bulk``     instead of the two above (``--history bulk``): the history written
                  straight through ``monitor.bulk`` - for sizes where ingestion is too slow;
``backfill``      the first scoring over the whole history (not part of a cycle);
``cycle``         month ``--months + 1`` arrives (1 % of firms in a deep fall): its rows
                  are ingested and scored - scores, colour decisions, alerts, outbox.

Each stage prints one JSON line; the parent prints a table and writes the JSON file.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, MetaData, func, inspect, select, text

from bench.common import machine, peak_rss_mb, print_table, write_json
from monitor.bulk import bulk_insert
from monitor.db import Database
from monitor.ingest import ingest_frame
from monitor.migrate import upgrade
from monitor.pipeline import score_indicators
from monitor.records import (
    Alert,
    Base,
    Channel,
    Entity,
    Indicator,
    Notification,
    Observation,
    Score,
    Threshold,
    utc_now,
)

FIRST_MONTH = date(2022, 1, 1)
CITIES = 16
CLUSTERS = 40
SHOCKED_SHARE = 0.01
#: code, dimension, threshold-model cut-offs on the year-on-year change (direction down)
INDICATORS = (
    ("ENT_REVENUE", "economic", (-10.0, -20.0, -30.0, -45.0)),
    ("ENT_PROFIT", "economic", (-10.0, -20.0, -30.0, -45.0)),
    ("ENT_EXPORTS", "trade", (-12.0, -22.0, -32.0, -48.0)),
    ("ENT_ENERGY", "environmental", (-12.0, -22.0, -32.0, -48.0)),
    ("ENT_RD", "technology", (-15.0, -25.0, -35.0, -50.0)),
    ("ENT_STAFF", "political", (-10.0, -20.0, -30.0, -45.0)),
)
STAGES = ("setup", "ingest", "ingest-again", "load-bulk", "backfill", "cycle")
HISTORY_STAGES = {"ingest": ("ingest", "ingest-again"), "bulk": ("load-bulk",)}


def month(number: int) -> date:
    """The first day of month ``number`` (0 = the first month of the data)."""
    return (pd.Timestamp(FIRST_MONTH) + pd.DateOffset(months=number)).date()


def month_frame(enterprises: int, number: int, months: int) -> pd.DataFrame:
    """The long rows of one month: every firm, every indicator, deterministic values."""
    firms = np.arange(enterprises)
    base = np.random.default_rng(1).uniform(50, 500, (len(INDICATORS), enterprises))
    noise = np.random.default_rng(100 + number).normal(0, 0.03, base.shape)
    season = 1 + 0.05 * np.sin(2 * np.pi * number / 12)
    values = base * np.exp(0.004 * number + noise) * season
    if number >= months:  # the new month: a few firms fall deeply
        shocked = np.random.default_rng(7).random(enterprises) < SHOCKED_SHARE
        values[:, shocked] *= 0.55
    codes = np.array([f"E{f:07d}" for f in firms], dtype=object)
    return pd.DataFrame(
        {
            "indicator": np.repeat([code for code, _, _ in INDICATORS], enterprises),
            "entity": np.tile(codes, len(INDICATORS)),
            "period": month(number).isoformat()[:7],
            "value": values.ravel().round(4),
        }
    )


def reset(database: Database) -> None:
    """Drop every table of the database, migrate it from scratch, match the records.

    Columns the working tree's records declare but no migration creates yet (work in
    progress of other changes) are added, so the code under test can run.
    """
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.drop_all(connection)
    upgrade(database)
    with database.engine.begin() as connection:
        Base.metadata.create_all(connection)  # tables no migration creates yet
        inspector = inspect(connection)
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(connection.dialect)
                    connection.execute(
                        text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
                    )


def load_bulk(database: Database, enterprises: int, months: int) -> dict[str, Any]:
    """The history written straight into ``observations``, a month per statement.

    PostgreSQL gets one ``COPY`` of pandas-written text per month, and - when the role
    may (a superuser, as on a benchmark machine) - without the foreign-key triggers:
    the generated rows refer to the entities and indicators just created. SQLite gets
    one ``executemany`` per month. This stage only prepares a history to score.
    """
    with database.session() as session:
        entity_ids = dict(session.execute(select(Entity.code, Entity.id)).all())
        indicator_ids = dict(session.execute(select(Indicator.code, Indicator.id)).all())
    columns = ("indicator_id", "entity_id", "period", "value", "synthetic", "updated_at")
    stamp = utc_now()
    rows = 0
    seconds = 0.0
    for number in range(months):
        frame = month_frame(enterprises, number, months)
        start = time.perf_counter()
        table = pd.DataFrame(
            {
                "indicator_id": frame["indicator"].map(indicator_ids).to_numpy(),
                "entity_id": frame["entity"].map(entity_ids).to_numpy(),
                "period": month(number).isoformat(),
                "value": frame["value"].to_numpy(),
                "synthetic": True,
                "updated_at": stamp,
            },
            columns=list(columns),
        )
        with database.session() as session:
            rows += _write_history(session.connection(), table, columns)
        seconds += time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def _write_history(connection: Connection, table: pd.DataFrame, columns: tuple[str, ...]) -> int:
    names = ", ".join(columns)
    if connection.dialect.name != "postgresql":
        table = table.assign(updated_at=table["updated_at"].dt.to_pydatetime())
        values = zip(*(table[c].tolist() for c in columns), strict=True)
        return bulk_insert(connection, Observation.__table__, columns, values)
    superuser = connection.execute(text("SHOW is_superuser")).scalar() == "on"
    if superuser:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
    buffer = io.StringIO()
    table.assign(synthetic="t").to_csv(buffer, sep="\t", header=False, index=False)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY observations ({names}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
    return len(table)


def setup(database: Database, enterprises: int) -> dict[str, Any]:
    with database.session() as session:
        cities = [
            Entity(
                code=f"C{c:02d}",
                name_zh=f"城市{c}",
                name_en=f"City {c}",
                level="government",
                kind="city",
            )
            for c in range(CITIES)
        ]
        clusters = [
            Entity(
                code=f"K{k:02d}",
                name_zh=f"集群{k}",
                name_en=f"Cluster {k}",
                level="industry",
                kind="cluster",
            )
            for k in range(CLUSTERS)
        ]
        session.add_all([*cities, *clusters])
        thresholded: set[str] = set()
        for code, dimension, cutoffs in INDICATORS:
            session.add(
                Indicator(
                    code=code,
                    name_zh=code,
                    name_en=code,
                    dimension=dimension,
                    level="enterprise",
                    frequency="M",
                    direction="down",
                    transform="yoy",
                )
            )
            if dimension in thresholded:
                continue  # one row per level x dimension and model
            thresholded.add(dimension)
            blue, yellow, orange, red = cutoffs
            session.add(
                Threshold(
                    model="threshold",
                    level="enterprise",
                    dimension=dimension,
                    blue=blue,
                    yellow=yellow,
                    orange=orange,
                    red=red,
                )
            )
            session.add(
                Threshold(
                    model="robust_z",
                    level="enterprise",
                    dimension=dimension,
                    direction="up",
                    blue=3.5,
                    yellow=4.5,
                    orange=6.0,
                    red=8.0,
                )
            )
        session.add(Channel(name="ops", kind="email", target="ops@example.org"))
        session.add(Channel(name="hook", kind="webhook", target="http://127.0.0.1:9/hook"))
        session.flush()
        city_ids = [c.id for c in cities]
        cluster_ids = [k.id for k in clusters]
        rows = (
            (
                f"E{f:07d}",
                f"企业{f}",
                f"Firm {f}",
                "enterprise",
                "firm",
                city_ids[f % CITIES],
                cluster_ids[f % CLUSTERS],
                True,
            )
            for f in range(enterprises)
        )
        columns = (
            "code",
            "name_zh",
            "name_en",
            "level",
            "kind",
            "region_id",
            "cluster_id",
            "synthetic",
        )
        written = bulk_insert(session.connection(), Entity.__table__, columns, rows)
    return {"rows": written}


def ingest(database: Database, enterprises: int, months: int, step: int) -> dict[str, Any]:
    totals = {"rows": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    seconds = 0.0
    for first in range(0, months, step):
        frame = pd.concat(
            [month_frame(enterprises, n, months) for n in range(first, min(months, first + step))]
        )
        start = time.perf_counter()
        report = ingest_frame(database, frame, source_name="bench", synthetic=True)
        seconds += time.perf_counter() - start
        totals["rows"] += report.read
        for key in ("inserted", "updated", "unchanged", "rejected"):
            totals[key] += getattr(report, key)
    return {**totals, "seconds": seconds, "rows_per_s": totals["rows"] / seconds}


def backfill(database: Database) -> dict[str, Any]:
    start = time.perf_counter()
    report = score_indicators(database, notify=False)
    return {"seconds": time.perf_counter() - start, **report.as_dict()}


#: The parts of a cycle timed on their own (``--parts``): where each is looked up.
CYCLE_PARTS = {
    "read panels": ("monitor.pipeline", "observation_panel"),
    "models + colour decisions": ("monitor.pipeline", "_decisions"),
    "decision state from stored scores": ("monitor.pipeline", "stored_state"),
    "score writes": ("monitor.pipeline", "write_score_rows"),
    "stale score deletes": ("monitor.pipeline", "_delete_scores"),
    "last scored periods": ("monitor.pipeline", "last_scored"),
    "alerts and outbox": ("monitor.pipeline", "advance_alerts"),
    "composites": ("monitor.pipeline", "update_composites"),
    "stages": ("monitor.pipeline", "update_stages"),
    "derived indicators": ("monitor.pipeline", "update_derived"),
}


@contextmanager
def timed_parts() -> Iterator[dict[str, float]]:
    """Wall seconds spent in each of :data:`CYCLE_PARTS` while the block runs."""
    spent = dict.fromkeys(CYCLE_PARTS, 0.0)
    originals = []
    for part, (module_name, name) in CYCLE_PARTS.items():
        module = importlib.import_module(module_name)
        original = getattr(module, name)
        originals.append((module, name, original))
        setattr(module, name, _timing(original, part, spent))
    try:
        yield spent
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def _timing(function: Any, part: str, spent: dict[str, float]) -> Any:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[part] += time.perf_counter() - start

    return timed


def cycle(
    database: Database, enterprises: int, months: int, parts: bool = False, threads: int = 2
) -> dict[str, Any]:
    if parts:
        with timed_parts() as spent:
            result = cycle(database, enterprises, months, threads=threads)
        # "models + colour decisions" includes reading the decision state: report it alone.
        spent["models + colour decisions"] -= spent["decision state from stored scores"]
        return {**result, "parts": {k: round(v, 3) for k, v in spent.items()}}
    frame = month_frame(enterprises, months, months)
    start = time.perf_counter()
    ingested = ingest_frame(database, frame, source_name="bench", synthetic=True)
    ingest_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = score_indicators(database, changed=ingested.changed, threads=threads)
    score_seconds = time.perf_counter() - start
    with database.session() as session:
        open_alerts = session.scalar(
            select(func.count()).select_from(Alert).where(Alert.status != "resolved")
        )
        outbox = session.scalar(select(func.count()).select_from(Notification))
        scores = session.scalar(select(func.count()).select_from(Score))
    return {
        "rows": ingested.read,
        "ingest_seconds": ingest_seconds,
        "score_seconds": score_seconds,
        "seconds": ingest_seconds + score_seconds,
        "open_alerts": open_alerts,
        "outbox_rows": outbox,
        "stored_scores": scores,
        **report.as_dict(),
    }


def run_stage(args: argparse.Namespace) -> None:
    database = Database(args.database_url)
    enterprises = int(args.enterprises)
    start = time.perf_counter()
    if args.stage == "setup":
        reset(database)
        result = setup(database, enterprises)
    elif args.stage == "load-bulk":
        result = load_bulk(database, enterprises, args.months)
    elif args.stage in ("ingest", "ingest-again"):
        result = ingest(database, enterprises, args.months, args.ingest_months)
    elif args.stage == "backfill":
        result = backfill(database)
    else:
        result = cycle(database, enterprises, args.months, parts=args.parts, threads=args.threads)
    result.setdefault("seconds", time.perf_counter() - start)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps({"stage": args.stage, "enterprises": enterprises, **result}, default=str))


def run_all(args: argparse.Namespace) -> None:
    if not args.reset:
        raise SystemExit("--reset is required: every table of the database is dropped")
    results = []
    for enterprises in args.enterprises.split(","):
        history = HISTORY_STAGES[args.history]
        for stage in ("setup", *history, "backfill", "cycle"):
            command = [
                sys.executable, "-m", "bench.cycle", "--stage", stage,
                "--database-url", args.database_url, "--enterprises", enterprises,
                "--months", str(args.months), "--ingest-months", str(args.ingest_months),
                "--threads", str(args.threads),
            ]  # fmt: skip
            if args.parts:
                command.append("--parts")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                raise SystemExit(f"stage {stage} failed for {enterprises} enterprises")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(result), flush=True)
            results.append(result)
    dialect = Database(args.database_url).engine.dialect.name
    print_table(
        ("database", "enterprises", "stage", "rows", "seconds", "rows/s", "peak MiB"),
        [
            (dialect, r["enterprises"], r["stage"], r.get("rows", ""), r["seconds"],
             r.get("rows_per_s", ""), r["peak_rss_mb"])
            for r in results
        ],
    )  # fmt: skip
    parted = [r for r in results if "parts" in r]
    if parted:
        print()
        print_table(
            ("part", *(f"{r['enterprises']} firms" for r in parted)),
            [(part, *(r["parts"][part] for r in parted)) for part in CYCLE_PARTS],
        )
    write_json(
        args.out,
        {"benchmark": "cycle", "database": dialect, "machine": machine(), "results": results},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--enterprises", default="10000,100000")
    parser.add_argument("--months", type=int, default=36, help="months of history")
    parser.add_argument("--ingest-months", type=int, default=6, help="months per ingested frame")
    parser.add_argument(
        "--history",
        choices=sorted(HISTORY_STAGES),
        default="ingest",
        help="load the history through ingestion (timed twice) or straight through COPY",
    )
    parser.add_argument("--reset", action="store_true", help="allow dropping every table")
    parser.add_argument(
        "--parts", action="store_true", help="also time the parts of the cycle's scoring"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="indicators the cycle scores at once (PostgreSQL)"
    )
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.stage:
        run_stage(args)
    else:
        run_all(args)


if __name__ == "__main__":
    main()
