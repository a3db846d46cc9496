"""Bulk inserts (COPY on PostgreSQL, executemany on SQLite) and the fast panel reader."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from monitor import bulk
from monitor.bulk import bulk_insert
from monitor.db import Database
from monitor.panels import observation_panel
from monitor.records import Entity, Indicator, JobRun, Observation, Source

NOW = datetime(2024, 7, 1, tzinfo=UTC)


def test_awkward_texts_and_nulls_survive_the_round_trip(any_database: Database) -> None:
    awkward = ["tab\there", "line\nbreak", "back\\slash \\N", "引号\"'", "", None]
    counts = ("rows_read", "rows_accepted", "rows_rejected", "rows_inserted", "rows_updated",
              "rows_unchanged")  # fmt: skip
    columns = ("job", "status", "started_at", "file_name", *counts)
    rows = [
        ("ingest", "succeeded", NOW, text, *[i] * len(counts)) for i, text in enumerate(awkward)
    ]
    flags = [(f"S{i}", "csv", "-", i % 2 == 0, NOW) for i in range(4)]
    with any_database.session() as session:
        written = bulk_insert(session.connection(), JobRun.__table__, columns, rows)
        source_columns = ("name", "kind", "location", "enabled", "created_at")
        bulk_insert(session.connection(), Source.__table__, source_columns, flags)

    with any_database.session() as session:
        stored = session.execute(
            select(JobRun.file_name, JobRun.rows_read, JobRun.started_at).order_by(JobRun.rows_read)
        ).all()
        enabled = session.execute(select(Source.name, Source.enabled).order_by(Source.name)).all()
    assert written == len(awkward)
    assert [(r[0], r[1]) for r in stored] == [(text, i) for i, text in enumerate(awkward)]
    assert {r[2] for r in stored} == {NOW}
    assert [tuple(r) for r in enabled] == [(name, flag) for name, _, _, flag, _ in flags]


def test_rows_beyond_one_chunk_are_all_written(
    any_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CHUNK", 7)
    rows = ((f"E{i}", f"企业{i}", f"Firm {i}", "enterprise", "firm", False) for i in range(50))
    columns = ("code", "name_zh", "name_en", "level", "kind", "synthetic")
    with any_database.session() as session:
        written = bulk_insert(session.connection(), Entity.__table__, columns, rows)

    with any_database.session() as session:
        codes = set(session.scalars(select(Entity.code)))
    assert written == 50 and codes == {f"E{i}" for i in range(50)}


def test_panel_reader_returns_the_stored_values_on_a_gapless_range(
    any_database: Database,
) -> None:
    with any_database.session() as session:
        firms = [
            Entity(code=f"F{i}", name_zh="企业", name_en="Firm", level="enterprise", kind="firm")
            for i in range(3)
        ]
        indicator = Indicator(code="REV", name_zh="收入", name_en="Revenue",
                              dimension="economic", level="enterprise", frequency="M",
                              direction="down")  # fmt: skip
        session.add_all([*firms, indicator])
        session.flush()
        values = {
            (firms[0].id, date(2023, 1, 1)): 1.5,
            (firms[0].id, date(2023, 4, 1)): -2.25,  # February and March missing
            (firms[2].id, date(2023, 2, 1)): 1e-300,
        }
        session.add_all(
            Observation(indicator_id=indicator.id, entity_id=e, period=p, value=v, updated_at=NOW)
            for (e, p), v in values.items()
        )
        session.flush()
        panel = observation_panel(session, indicator.id, "M")
        recent = observation_panel(session, indicator.id, "M", since=date(2023, 2, 1))
        chunk = observation_panel(
            session, indicator.id, "M", entity_range=(firms[1].id, firms[2].id)
        )

    assert [p.date() for p in panel.index] == [date(2023, m, 1) for m in (1, 2, 3, 4)]
    assert sorted(panel.columns) == [firms[0].id, firms[2].id]
    for (entity, period), value in values.items():
        assert panel.at[datetime(period.year, period.month, 1), entity] == value
    assert int(panel.notna().sum().sum()) == len(values)
    assert recent.index[0].date() == date(2023, 2, 1)
    assert list(chunk.columns) == [firms[2].id]
