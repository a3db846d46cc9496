"""Bulk writing of ingested chunks: exact counts, vintages, exact values, distinct keys."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event, func, insert, select, text

from monitor.ingest import ingest_file, ingest_frame
from monitor.observation_writer import row_keys
from monitor.records import Entity, Indicator, Observation, ObservationVintage
from tests.monitor.source_helpers import flags, load_small_catalog, stored

FIRST = datetime(2024, 4, 10, tzinfo=UTC)
SECOND = datetime(2024, 5, 10, tzinfo=UTC)
MONTHS = [f"{year}-{month:02d}" for year in (2022, 2023) for month in range(1, 13)]


@pytest.fixture
def catalogued(any_database, tmp_path):
    return load_small_catalog(any_database, tmp_path)


def history_frame() -> pd.DataFrame:
    """Two government series (one flagged provisional) and one firm, 24 months each."""
    size = len(MONTHS)
    return pd.DataFrame(
        {
            "indicator": ["GOV_IVA"] * 2 * size + ["ENT_REV"] * size,
            "entity": ["SD"] * size + ["SD-QD"] * size + ["F1"] * size,
            "period": MONTHS * 3,
            "value": np.arange(3 * size, dtype=float) + 0.25,
            "flag": (["provisional"] * size) + [""] * 2 * size,
        }
    )


def vintage_values(database) -> list[float]:
    with database.session() as session:
        return sorted(session.scalars(select(ObservationVintage.value)))


def test_one_chunk_of_new_revised_and_unchanged_rows_is_counted_and_kept_exactly(catalogued):
    first = history_frame()
    ingest_frame(catalogued, first, source_name="s", now=FIRST)
    second = first.copy()
    second.loc[5, "value"] += 1.0  # GOV_IVA SD 2022-06: a revised value
    second.loc[30, "flag"] = "estimated"  # GOV_IVA SD-QD 2022-07: a flag alone
    second.loc[60, "value"] = -3.5  # ENT_REV F1 2023-01: a revised value
    new = pd.DataFrame(
        {
            "indicator": ["GOV_IVA", "ENT_REV"],
            "entity": ["SD", "F1"],
            "period": ["2024-01", "2024-01"],
            "value": [7.0, 8.0],
            "flag": ["", "p"],
        }
    )
    report = ingest_frame(
        catalogued, pd.concat([second, new], ignore_index=True), source_name="s", now=SECOND
    )

    assert (report.inserted, report.updated, report.unchanged) == (2, 3, len(first) - 3)
    assert report.read == report.accepted == len(first) + 2
    with catalogued.session() as session:
        ids = dict(session.execute(select(Indicator.code, Indicator.id)).all())
    assert report.changed == {
        ids["GOV_IVA"]: date(2022, 6, 1),
        ids["ENT_REV"]: date(2023, 1, 1),
    }
    assert vintage_values(catalogued) == sorted(first.loc[[5, 30, 60], "value"].tolist())
    values = stored(catalogued)
    assert values[("GOV_IVA", "SD", date(2022, 6, 1))] == first.loc[5, "value"] + 1.0
    assert values[("ENT_REV", "F1", date(2023, 1, 1))] == -3.5
    assert values[("ENT_REV", "F1", date(2024, 1, 1))] == 8.0
    marks = flags(catalogued)
    assert marks[("GOV_IVA", "SD-QD", date(2022, 7, 1))] == "estimated"
    assert marks[("GOV_IVA", "SD", date(2022, 7, 1))] == "provisional"
    assert marks[("ENT_REV", "F1", date(2024, 1, 1))] == "provisional"
    assert marks[("GOV_IVA", "SD", date(2024, 1, 1))] is None
    with catalogued.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == len(first) + 2


def test_a_first_load_and_a_new_month_alone_count_every_row_as_new(catalogued):
    frame = history_frame()
    first = ingest_frame(catalogued, frame, source_name="s", now=FIRST)
    month = pd.DataFrame(
        {
            "indicator": ["GOV_IVA", "GOV_IVA", "ENT_REV"],
            "entity": ["SD", "SD-QD", "F1"],
            "period": "2024-01",
            "value": [1.5, 2.5, 3.5],
            "flag": ["", "estimated", ""],
        }
    )
    added = ingest_frame(catalogued, month, source_name="s", now=SECOND)
    with catalogued.session() as session:
        ids = dict(session.execute(select(Indicator.code, Indicator.id)).all())
    assert (first.inserted, first.updated, first.unchanged) == (len(frame), 0, 0)
    assert first.changed == {ids["GOV_IVA"]: date(2022, 1, 1), ids["ENT_REV"]: date(2022, 1, 1)}
    assert (added.inserted, added.updated, added.unchanged) == (3, 0, 0)
    assert added.changed == {ids["GOV_IVA"]: date(2024, 1, 1), ids["ENT_REV"]: date(2024, 1, 1)}
    assert vintage_values(catalogued) == []
    values, marks = stored(catalogued), flags(catalogued)
    assert values[("GOV_IVA", "SD-QD", date(2024, 1, 1))] == 2.5
    assert marks[("GOV_IVA", "SD-QD", date(2024, 1, 1))] == "estimated"
    assert marks[("GOV_IVA", "SD", date(2024, 1, 1))] is None
    assert len(values) == len(frame) + 3


def test_the_same_rows_again_write_nothing(catalogued):
    frame = history_frame()
    first = ingest_frame(catalogued, frame, source_name="s", now=FIRST)
    again = ingest_frame(catalogued, frame, source_name="s", now=SECOND)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(frame))
    assert again.changed == {}
    assert vintage_values(catalogued) == []
    with catalogued.session() as session:
        runs = set(session.scalars(select(Observation.job_run_id)))
        stamps = set(session.scalars(select(Observation.updated_at)))
    assert runs == {first.job_run_id}
    assert stamps == {FIRST}


def test_values_are_stored_to_the_last_bit(catalogued):
    awkward = [0.1 + 0.2, 1e-300, -123456789.12345679, 2.0**-1074, 1.7976931348623157e308]
    frame = pd.DataFrame(
        {
            "indicator": "ENT_REV",
            "entity": "F1",
            "period": MONTHS[: len(awkward)],
            "value": awkward,
        }
    )
    ingest_frame(catalogued, frame, source_name="s")
    values = stored(catalogued)
    assert [values[("ENT_REV", "F1", date.fromisoformat(m + "-01"))] for m in frame["period"]] == (
        awkward
    )
    assert ingest_frame(catalogued, frame, source_name="s").unchanged == len(awkward)


def _wait_for_a_blocked_writer(database, timeout: float = 30.0) -> None:
    """Return once some other session of the database waits for a lock."""
    deadline = time.monotonic() + timeout
    with database.engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the ingest never waited for the other transaction's row")


@pytest.mark.parametrize(
    "stored_before",
    [False, True],
    ids=["nothing-stored-in-reach", "a-stored-row-in-reach"],
)
def test_a_key_another_transaction_stores_meanwhile_is_revised_not_refused(
    catalogued, stored_before
):
    """Both insert paths fall back to the upsert: the chunk's reach holds no stored row
    (inserted as it stands) or one (joined with the stored rows first)."""
    if catalogued.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time in: the race needs PostgreSQL")
    with catalogued.session() as session:
        indicator = session.scalar(select(Indicator.id).where(Indicator.code == "ENT_REV"))
        entity = session.scalar(select(Entity.id).where(Entity.code == "F1"))
    frame = pd.DataFrame(
        {"indicator": "ENT_REV", "entity": "F1", "period": MONTHS[:3], "value": [5.0, 6.0, 7.0]}
    )
    if stored_before:  # 2022-03 already stored with the value the frame brings
        ingest_frame(catalogued, frame.iloc[2:], source_name="s", now=FIRST)
    reports = []
    with catalogued.engine.connect() as other:
        other.execute(
            insert(Observation).values(
                indicator_id=indicator, entity_id=entity, period=date(2022, 1, 1),
                value=1.0, synthetic=False, updated_at=FIRST,
            )
        )  # fmt: skip
        ingesting = threading.Thread(
            target=lambda: reports.append(
                ingest_frame(catalogued, frame, source_name="s", now=SECOND)
            )
        )
        ingesting.start()
        _wait_for_a_blocked_writer(catalogued)  # its INSERT waits for the key
        other.commit()
        ingesting.join(timeout=60)
    (report,) = reports
    expected = (1, 1, 1) if stored_before else (2, 1, 0)
    assert (report.inserted, report.updated, report.unchanged) == expected
    assert vintage_values(catalogued) == [1.0]
    values = stored(catalogued)
    assert [values[("ENT_REV", "F1", date(2022, month, 1))] for month in (1, 2, 3)] == [
        5.0, 6.0, 7.0,
    ]  # fmt: skip


def test_row_keys_stay_distinct_and_in_the_unique_index_order_for_millions_of_entities():
    indicator = np.array([1, 1, 1, 2, 2], dtype=np.int64)
    entity = np.array([5, 2**21 + 5, 2**27, 5, 5], dtype=np.int64)
    ordinal = np.array([date(2024, 1, 1).toordinal()] * 4 + [date(2870, 1, 1).toordinal()])
    keys = row_keys(indicator, entity, ordinal)
    assert len(set(keys.tolist())) == len(keys)
    by_tuple = sorted(range(5), key=lambda i: (indicator[i], ordinal[i], entity[i]))
    assert np.argsort(keys).tolist() == by_tuple


# ---------------------------------------------------------------- SQLite's entity index

ENTITY_INDEX = "ix_observations_entity_id"


@pytest.fixture
def sqlite_catalogued(database, tmp_path):
    return load_small_catalog(database, tmp_path)


def index_statements(database) -> list[str]:
    """Every DROP or CREATE INDEX statement the database runs from now on."""
    statements: list[str] = []

    def keep(_conn, _cursor, statement, *_args) -> None:
        if "INDEX" in statement.upper():
            statements.append(" ".join(statement.split()))

    event.listen(database.engine, "before_cursor_execute", keep)
    return statements


def entity_index_serves_an_entity(database) -> bool:
    with database.session() as session:
        names = session.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND name = :name"),
            {"name": ENTITY_INDEX},
        ).all()
        plan = session.execute(
            text("EXPLAIN QUERY PLAN SELECT value FROM observations WHERE entity_id = 1")
        ).all()
    return names == [ENTITY_INDEX] and any(ENTITY_INDEX in str(row) for row in plan)


def test_a_sqlite_first_load_builds_the_entity_index_afresh_before_it_commits(
    sqlite_catalogued,
):
    statements = index_statements(sqlite_catalogued)
    frame = history_frame()
    report = ingest_frame(sqlite_catalogued, frame, source_name="s", now=FIRST)
    assert report.inserted == len(frame)
    assert [s.split(" ON ")[0] for s in statements] == [
        f"DROP INDEX {ENTITY_INDEX}",
        f"CREATE INDEX {ENTITY_INDEX}",
    ]
    assert entity_index_serves_an_entity(sqlite_catalogued)
    assert len(stored(sqlite_catalogued)) == len(frame)
    with sqlite_catalogued.session() as session:
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_a_sqlite_load_small_for_its_table_grows_the_entity_index_in_place(sqlite_catalogued):
    ingest_frame(sqlite_catalogued, history_frame(), source_name="s", now=FIRST)
    statements = index_statements(sqlite_catalogued)
    month = pd.DataFrame(
        {"indicator": "GOV_IVA", "entity": ["SD", "SD-QD"], "period": "2024-01", "value": 1.0}
    )
    assert ingest_frame(sqlite_catalogued, month, source_name="s", now=SECOND).inserted == 2
    assert statements == []
    assert entity_index_serves_an_entity(sqlite_catalogued)


def test_a_failed_sqlite_load_keeps_the_entity_index_it_had_dropped(
    sqlite_catalogued, tmp_path, monkeypatch
):
    import monitor.ingest as ingest_module

    real_write = ingest_module._write_chunk
    written = []

    def failing_after_first_chunk(writer, rows):
        if written:
            raise RuntimeError("disk full")
        written.append(real_write(writer, rows))
        return written[-1]

    monkeypatch.setattr(ingest_module, "_write_chunk", failing_after_first_chunk)
    statements = index_statements(sqlite_catalogued)
    path = tmp_path / "rows.csv"
    history_frame().drop(columns="flag").to_csv(path, index=False)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(sqlite_catalogued, path, source_name="s", chunk_rows=10)
    assert statements == [f"DROP INDEX {ENTITY_INDEX}"]
    assert entity_index_serves_an_entity(sqlite_catalogued)
    with sqlite_catalogued.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == 0
