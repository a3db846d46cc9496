"""Ingesting observation files and frames: forms, rejections, upserts, failures."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

import monitor.ingest as ingest_module
from monitor.catalog import load_catalog
from monitor.errors import IngestError
from monitor.ingest import RejectReason, ingest_file, ingest_frame
from monitor.records import Entity, Indicator, JobRun, Observation, RejectedRow, Source
from monitor.vocabulary import SourceKind

CATALOG = """\
entities:
  - {code: SD, name_zh: 山东省, name_en: Shandong, level: government, kind: province}
  - {code: SD-QD, name_zh: 青岛市, name_en: Qingdao, level: government, kind: city, parent: SD}
  - {code: F1, name_zh: 甲公司, name_en: Jia Co, level: enterprise, kind: firm, region: SD-QD}
  - {code: F2, name_zh: 乙公司, name_en: Yi Co, level: enterprise, kind: firm, region: SD-QD}
indicators:
  - {code: GOV_IVA, name_zh: 工业增加值指数, name_en: Value added, dimension: economic,
     level: government, unit: index, frequency: M, direction: down, transform: yoy}
  - {code: GOV_CTRL, name_zh: 管制清单占比, name_en: Control lists, dimension: political,
     level: government, unit: "‰", frequency: Q, direction: up}
  - {code: ENT_REV, name_zh: 营业收入, name_en: Revenue, dimension: economic,
     level: enterprise, unit: 万元, frequency: M, direction: down}
"""


@pytest.fixture
def catalogued(any_database, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    with any_database.session() as session:
        load_catalog(session, path)
    return any_database


def write(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def stored(database) -> dict[tuple[str, str, date], float]:
    with database.session() as session:
        rows = session.execute(
            select(
                Indicator.code, Observation.entity_id, Observation.period, Observation.value
            ).join(Indicator, Indicator.id == Observation.indicator_id)
        ).all()
        codes = dict(session.execute(select(Entity.id, Entity.code)).all())
    return {(ind, codes[ent], period): value for ind, ent, period, value in rows}


def observation_count(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Observation))


def runs(database) -> list[JobRun]:
    with database.session() as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


LONG = """\
indicator,entity,period,value
GOV_IVA,SD,2024-01,101.5
GOV_IVA,SD,2024-02,102
GOV_IVA,SD-QD,2024年3月,99.25
GOV_CTRL,SD,2024Q1,1.2
ENT_REV,F1,2024-01,"1,234.5"
"""


def test_it_ingests_a_long_file(catalogued, tmp_path, now):
    report = ingest_file(catalogued, write(tmp_path, LONG), source_name="stats office", now=now)
    assert (report.read, report.accepted, report.rejected) == (5, 5, 0)
    assert (report.inserted, report.updated, report.unchanged) == (5, 0, 0)
    assert stored(catalogued) == {
        ("GOV_IVA", "SD", date(2024, 1, 1)): 101.5,
        ("GOV_IVA", "SD", date(2024, 2, 1)): 102.0,
        ("GOV_IVA", "SD-QD", date(2024, 3, 1)): 99.25,
        ("GOV_CTRL", "SD", date(2024, 1, 1)): 1.2,
        ("ENT_REV", "F1", date(2024, 1, 1)): 1234.5,
    }
    (run,) = runs(catalogued)
    assert (run.job, run.status, run.file_name, run.error) == (
        "ingest",
        "succeeded",
        "data.csv",
        None,
    )
    assert (run.rows_read, run.rows_accepted, run.rows_inserted) == (5, 5, 5)
    assert run.started_at == now and run.finished_at == now
    with catalogued.session() as session:
        source = session.scalars(select(Source)).one()
        assert (source.name, source.kind, source.id) == ("stats office", "csv", run.source_id)
        ids = dict(session.execute(select(Indicator.code, Indicator.id)).all())
    assert report.changed == {
        ids["GOV_IVA"]: date(2024, 1, 1),
        ids["GOV_CTRL"]: date(2024, 1, 1),
        ids["ENT_REV"]: date(2024, 1, 1),
    }


def test_it_reads_chinese_headers_a_bom_and_columns_in_any_order(catalogued, tmp_path):
    text = "\ufeff数值,期间,主体,指标,备注\n101.5,2024-01,SD,GOV_IVA,初值\n"
    report = ingest_file(catalogued, write(tmp_path, text), source_name="s")
    assert report.accepted == 1
    assert stored(catalogued) == {("GOV_IVA", "SD", date(2024, 1, 1)): 101.5}


def test_it_reads_a_gb18030_file(catalogued, tmp_path):
    text = "指标,主体,期间,数值\nGOV_IVA,SD,2024年1月,100\n"
    report = ingest_file(catalogued, write(tmp_path, text, encoding="gb18030"), source_name="s")
    assert report.accepted == 1


def test_it_ingests_a_file_wide_by_period(catalogued, tmp_path):
    text = (
        "indicator,entity,2024-01,2024-02,2024-03\n"
        "GOV_IVA,SD,100,101,102\n"
        "GOV_IVA,SD-QD,99,,98\n"
        "ENT_REV,F1,10,abc,12\n"
    )
    report = ingest_file(catalogued, write(tmp_path, text), source_name="s")
    # the empty cell is no value at all; "abc" is a rejected row
    assert (report.read, report.accepted, report.rejected) == (8, 7, 1)
    assert report.rejected_rows == [
        {
            "row": 4,
            "reason": "non-numeric value: 'abc'",
            "raw": {"indicator": "ENT_REV", "entity": "F1", "period": "2024-02", "value": "abc"},
        }
    ]
    assert stored(catalogued)[("GOV_IVA", "SD-QD", date(2024, 3, 1))] == 98.0


def test_it_ingests_a_file_wide_by_indicator(catalogued, tmp_path):
    text = "entity,period,GOV_IVA,ENT_REV,NOT_AN_INDICATOR\nSD,2024-01,100,,7\nF1,2024-01,,55,\n"
    report = ingest_file(catalogued, write(tmp_path, text), source_name="s")
    assert (report.read, report.accepted, report.rejected) == (3, 2, 1)
    assert report.rejected_rows[0]["reason"] == "unknown indicator: 'NOT_AN_INDICATOR'"
    assert stored(catalogued) == {
        ("GOV_IVA", "SD", date(2024, 1, 1)): 100.0,
        ("ENT_REV", "F1", date(2024, 1, 1)): 55.0,
    }


BAD_ROWS = """\
indicator,entity,period,value
GOV_IVA,SD,2024-01,100
NOPE,SD,2024-01,1
GOV_IVA,NOBODY,2024-01,1
GOV_IVA,SD,2024-13,1
GOV_CTRL,SD,2024-02,1
GOV_IVA,SD,2024-02,n/a
GOV_IVA,SD,2024-03,
GOV_IVA,SD,2024-04,12abc
GOV_IVA,SD,2024-01,101
GOV_IVA,F1,2024-01,1
GOV_IVA,SD,2024-05,1,extra
ENT_REV,F2,2024-01,5
"""


def test_each_bad_row_is_rejected_with_its_reason_and_the_rest_committed(catalogued, tmp_path):
    report = ingest_file(catalogued, write(tmp_path, BAD_ROWS), source_name="s")
    assert report.read == report.accepted + report.rejected == 12
    assert report.accepted == 2
    reasons = {row["row"]: row["reason"] for row in report.rejected_rows}
    assert reasons[3] == "unknown indicator: 'NOPE'"
    assert reasons[4] == "unknown entity: 'NOBODY'"
    assert reasons[5].startswith("unparseable period: ")
    assert reasons[6].startswith("period not valid for the indicator's frequency: ")
    assert reasons[7] == reasons[8] == "missing value"
    assert reasons[9] == "non-numeric value: '12abc'"
    assert reasons[10] == "duplicate in the file: first given at row 2"
    assert reasons[11].startswith("indicator level differs from entity level: ")
    assert reasons[12] == "malformed row: 5 fields, but the header has 4"
    categories = {reason.split(":")[0] for reason in reasons.values()}
    assert categories == {str(reason) for reason in RejectReason}
    assert stored(catalogued) == {
        ("GOV_IVA", "SD", date(2024, 1, 1)): 100.0,
        ("ENT_REV", "F2", date(2024, 1, 1)): 5.0,
    }
    with catalogued.session() as session:
        kept = session.scalars(select(RejectedRow).order_by(RejectedRow.row_number)).all()
        assert [(r.row_number, r.reason) for r in kept] == sorted(reasons.items())
        assert {r.job_run_id for r in kept} == {report.job_run_id}
        assert kept[0].raw == {
            "indicator": "NOPE",
            "entity": "SD",
            "period": "2024-01",
            "value": "1",
        }
        run = session.get(JobRun, report.job_run_id)
        assert (run.status, run.rows_read, run.rows_rejected) == ("succeeded", 12, 10)


def test_ingesting_the_same_file_twice_changes_nothing(catalogued, tmp_path):
    path = write(tmp_path, LONG)
    first = ingest_file(catalogued, path, source_name="s")
    count = observation_count(catalogued)
    second = ingest_file(catalogued, path, source_name="s")
    assert second.unchanged == second.accepted == first.accepted
    assert second.inserted == second.updated == 0
    assert second.changed == {}
    assert observation_count(catalogued) == count


def test_a_changed_value_is_counted_as_updated(catalogued, tmp_path):
    ingest_file(catalogued, write(tmp_path, LONG), source_name="s")
    revised = LONG.replace("GOV_IVA,SD,2024-02,102", "GOV_IVA,SD,2024-02,103.5")
    revised += "GOV_IVA,SD,2024-04,104\n"
    report = ingest_file(catalogued, write(tmp_path, revised), source_name="s")
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 4)
    with catalogued.session() as session:
        iva = session.scalar(select(Indicator.id).where(Indicator.code == "GOV_IVA"))
        value = session.scalar(
            select(Observation.value).where(
                Observation.indicator_id == iva, Observation.period == date(2024, 2, 1)
            )
        )
        writer = session.scalar(
            select(Observation.job_run_id).where(Observation.period == date(2024, 2, 1))
        )
    assert value == 103.5 and writer == report.job_run_id
    assert report.changed == {iva: date(2024, 2, 1)}


def test_report_as_dict_is_json_ready(catalogued, tmp_path):
    report = ingest_file(catalogued, write(tmp_path, BAD_ROWS), source_name="s")
    data = json.loads(json.dumps(report.as_dict(), ensure_ascii=False))
    for key in ("read", "accepted", "rejected", "inserted", "updated", "unchanged"):
        assert data[key] == getattr(report, key)
    assert data["rejected_rows"][0] == {
        "row": 3,
        "reason": "unknown indicator: 'NOPE'",
        "raw": {"indicator": "NOPE", "entity": "SD", "period": "2024-01", "value": "1"},
    }


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"indicator,entity,period,value\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (bytes(range(128, 256)) * 8, "not UTF-8"),
        (b"name,age\nli,3\n", "header not recognised"),
        (
            b"indicator,entity,2024-01,colour\nGOV_IVA,SD,1,red\n",
            "neither known fields nor periods",
        ),
        (b"indicator,entity,period,value,value\n", "appear twice"),
    ],
)
def test_an_unusable_file_raises_and_records_a_failed_run(catalogued, tmp_path, content, fragment):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=fragment):
        ingest_file(catalogued, path, source_name="s")
    (run,) = runs(catalogued)
    assert run.status == "failed" and fragment in run.error
    assert run.file_name == "upload.csv" and run.finished_at is not None
    assert observation_count(catalogued) == 0


def test_a_missing_file_raises_and_records_a_failed_run(catalogued, tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(catalogued, tmp_path / "absent.csv", source_name="s")
    (run,) = runs(catalogued)
    assert run.status == "failed" and "no such file" in run.error


def test_a_failure_while_writing_leaves_nothing_half_done(catalogued, tmp_path, monkeypatch):
    written = []
    real_write = ingest_module._write_chunk

    def failing_after_first_chunk(writer, rows):
        if written:
            raise RuntimeError("disk full")
        written.append(rows)
        return real_write(writer, rows)

    monkeypatch.setattr(ingest_module, "_write_chunk", failing_after_first_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        path = write(tmp_path, BAD_ROWS + LONG)
        ingest_file(catalogued, path, source_name="s", chunk_rows=2)
    assert len(written) == 1
    assert observation_count(catalogued) == 0
    (run,) = runs(catalogued)
    assert run.status == "failed" and "disk full" in run.error
    with catalogued.session() as session:
        assert session.scalar(select(func.count()).select_from(RejectedRow)) == 0


def test_ingest_frame_takes_numbers_and_a_synthetic_column(catalogued):
    frame = pd.DataFrame(
        {
            "indicator": ["GOV_IVA", "GOV_IVA", "ENT_REV"],
            "entity": ["SD", "SD-QD", "F1"],
            "period": ["2024-01", date(2024, 1, 1), "2024-01"],
            "value": [100.0, 99.5, float("nan")],
            "synthetic": [True, False, True],
        }
    )
    report = ingest_frame(catalogued, frame, source_name="demo", source_kind=SourceKind.DEMO)
    assert (report.accepted, report.rejected) == (2, 1)
    assert (
        report.rejected_rows[0]["row"] == 4 and report.rejected_rows[0]["reason"] == "missing value"
    )
    with catalogued.session() as session:
        flags = dict(session.execute(select(Observation.value, Observation.synthetic)).all())
        assert session.scalars(select(Source.kind)).one() == "demo"
    assert flags == {100.0: True, 99.5: False}


def test_ingest_frame_marks_rows_synthetic_when_asked(catalogued):
    frame = pd.DataFrame(
        {"indicator": ["GOV_IVA"], "entity": ["SD"], "period": ["2024-01"], "value": ["1"]}
    )
    ingest_frame(catalogued, frame, source_name="s", synthetic=True)
    with catalogued.session() as session:
        assert session.scalars(select(Observation.synthetic)).one() is True


def test_a_flag_change_alone_counts_as_an_update(catalogued):
    frame = pd.DataFrame(
        {"indicator": ["GOV_IVA"], "entity": ["SD"], "period": ["2024-01"], "value": [1.0]}
    )
    ingest_frame(catalogued, frame, source_name="s", synthetic=True)
    report = ingest_frame(catalogued, frame, source_name="s", synthetic=False)
    assert report.updated == 1


def test_ingest_frame_without_the_needed_columns_raises(catalogued):
    with pytest.raises(IngestError, match="lacks columns period, value"):
        ingest_frame(
            catalogued, pd.DataFrame({"indicator": ["X"], "entity": ["Y"]}), source_name="s"
        )
    (run,) = runs(catalogued)
    assert run.status == "failed"


def test_a_large_frame_is_ingested_and_compared_in_bulk(catalogued):
    months = [f"{year}-{month:02d}" for year in range(2000, 2024) for month in range(1, 13)]
    frame = pd.DataFrame(
        {
            "indicator": "ENT_REV",
            "entity": ["F1", "F2"] * len(months),
            "period": [month for month in months for _ in range(2)],
            "value": [float(i) for i in range(2 * len(months))],
        }
    )
    first = ingest_frame(catalogued, frame, source_name="s")
    assert first.inserted == len(frame)
    frame.loc[frame.index[::3], "value"] += 0.5
    second = ingest_frame(catalogued, frame, source_name="s")
    assert second.updated == len(frame[::3])
    assert second.unchanged == len(frame) - second.updated
    assert observation_count(catalogued) == len(frame)
    assert sum(stored(catalogued).values()) == pytest.approx(frame["value"].sum())


def test_spreadsheet_trailing_columns_and_short_rows_are_read(catalogued, tmp_path):
    text = (
        "indicator,entity,period,value,,\n"
        "GOV_IVA,SD,2024-01,100,,\n"
        "GOV_IVA,SD,2024-02\n"
        "GOV_IVA,SD,2024-03,101,,note\n"
    )
    report = ingest_file(catalogued, write(tmp_path, text), source_name="s")
    assert report.accepted == 1
    assert [(row["row"], row["reason"]) for row in report.rejected_rows] == [
        (3, "missing value"),
        (4, "malformed row: 6 fields, but the header has 4"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,234.5", 1234.5), ("22 042", 22042.0), ("22\u2009042", 22042.0), ("１２３", 123.0),
     (" -7 ", -7.0), ("1e3", 1000.0)],
)  # fmt: skip
def test_numbers_are_read_with_their_usual_decorations(catalogued, tmp_path, text, expected):
    frame = pd.DataFrame(
        {"indicator": ["GOV_IVA"], "entity": ["SD"], "period": ["2024-01"], "value": [text]}
    )
    assert ingest_frame(catalogued, frame, source_name="s").accepted == 1
    assert stored(catalogued) == {("GOV_IVA", "SD", date(2024, 1, 1)): expected}


@pytest.mark.parametrize("text", ["1,5", "12abc", "inf", "1.2.3"])
def test_ambiguous_or_broken_numbers_are_rejected(catalogued, text):
    frame = pd.DataFrame(
        {"indicator": ["GOV_IVA"], "entity": ["SD"], "period": ["2024-01"], "value": [text]}
    )
    report = ingest_frame(catalogued, frame, source_name="s")
    assert report.rejected_rows[0]["reason"] == f"non-numeric value: {text!r}"
