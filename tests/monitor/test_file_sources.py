"""File sources: encodings, delimiters, titles above the header, Excel, flags, policy."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from monitor.connectors.codemap import CodeMap
from monitor.errors import IngestError
from monitor.ingest import FAIL, ingest_file
from monitor.records import JobRun, Observation, RejectedRow
from tests.monitor.source_helpers import flags, load_small_catalog, stored

MARCH = date(2024, 3, 1)


@pytest.fixture
def catalogued(any_database, tmp_path):
    return load_small_catalog(any_database, tmp_path)


def write(tmp_path: Path, text: str, encoding: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("gbk", "\t"),
        ("gb18030", ";"),
        ("utf-16", ","),
    ],
)
def test_it_reads_csv_in_each_encoding_and_delimiter(catalogued, tmp_path, encoding, delimiter):
    rows = [
        ["指标", "主体", "期间", "数值"],
        ["GOV_IVA", "SD", "2024年3月", "1,234.5"],
        ["GOV_CTRL", "SD-QD", "2024Q1", "２.５"],
    ]
    text = "\n".join(delimiter.join(row) for row in rows) + "\n"
    if delimiter == ",":
        text = text.replace("1,234.5", '"1,234.5"')
    report = ingest_file(catalogued, write(tmp_path, text, encoding), source_name="s")
    assert (report.read, report.accepted, report.rejected) == (2, 2, 0)
    assert stored(catalogued) == {
        ("GOV_IVA", "SD", MARCH): 1234.5,
        ("GOV_CTRL", "SD-QD", date(2024, 1, 1)): 2.5,
    }


def test_a_title_above_the_header_is_skipped(catalogued, tmp_path):
    text = "山东省统计局 2024年数据,,,\n,,,\nindicator,entity,period,value\nGOV_IVA,SD,2024-03,5\n"
    report = ingest_file(catalogued, write(tmp_path, text, "utf-8"), source_name="s")
    assert report.accepted == 1
    assert stored(catalogued) == {("GOV_IVA", "SD", MARCH): 5.0}


def test_source_flags_are_kept_and_a_missing_flag_is_never_stored(catalogued, tmp_path):
    text = (
        "indicator,entity,period,value,flag\n"
        "GOV_IVA,SD,2024-01,1,初步\n"
        "GOV_IVA,SD,2024-02,2,E\n"
        "GOV_IVA,SD,2024-03,0,missing\n"
        "GOV_IVA,SD,2024-04,4,\n"
        "GOV_IVA,SD,2024-05,5,weird\n"
    )
    report = ingest_file(catalogued, write(tmp_path, text, "utf-8"), source_name="s")
    assert report.read == report.accepted + report.rejected == 5
    reasons = {row["row"]: row["reason"] for row in report.rejected_rows}
    assert reasons[4] == "missing value"
    assert reasons[6] == "malformed row: unknown observation flag 'weird'"
    assert flags(catalogued) == {
        ("GOV_IVA", "SD", date(2024, 1, 1)): "provisional",
        ("GOV_IVA", "SD", date(2024, 2, 1)): "estimated",
        ("GOV_IVA", "SD", date(2024, 4, 1)): None,
    }


def test_the_code_map_turns_source_codes_and_chinese_names_into_ours(catalogued, tmp_path):
    text = "指标,主体,期间,数值\n工业增加值,山东省,2024-03,7\nA01,青岛,2024-03,8\n"
    code_map = CodeMap(
        indicators={"工业增加值": "GOV_IVA", "A01": "GOV_IVA"},
        entities={"山东省": "SD", "青岛": "SD-QD"},
    )
    report = ingest_file(
        catalogued, write(tmp_path, text, "utf-8"), source_name="s", code_map=code_map
    )
    assert report.accepted == 2
    assert stored(catalogued) == {
        ("GOV_IVA", "SD", MARCH): 7.0,
        ("GOV_IVA", "SD-QD", MARCH): 8.0,
    }


def test_the_fail_policy_rejects_the_whole_file_and_writes_nothing(catalogued, tmp_path):
    text = "indicator,entity,period,value\nGOV_IVA,SD,2024-03,1\nGOV_IVA,SD,2024-04,abc\n"
    with pytest.raises(IngestError, match="policy is to fail"):
        ingest_file(catalogued, write(tmp_path, text, "utf-8"), source_name="s", policy=FAIL)
    with catalogued.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == 0
        assert session.scalar(select(func.count()).select_from(RejectedRow)) == 0
        run = session.scalars(select(JobRun)).one()
        assert run.status == "failed"
        assert "row 3" in run.error


def test_an_excel_workbook_is_read_sheet_by_sheet(catalogued, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(["2024年山东省工业数据"])
    sheet.merge_cells("A1:D1")
    sheet.append(["指标", "主体", "期间", "数值"])
    sheet.append(["GOV_IVA", "SD", "2024年3月", 10.5])
    sheet.append(["GOV_IVA", "SD-QD", "2024-03", "#DIV/0!"])
    sheet.append(["GOV_IVA", "F1", "2024-03", 3])
    wide = book.create_sheet("宽表")
    wide.append(["主体", "期间", "GOV_IVA", "GOV_CTRL"])
    wide.append(["SD-QD", "2024-01", 1.25, 7])
    book.create_sheet("说明").append(["本表仅供参考"])
    path = tmp_path / "data.xlsx"
    book.save(path)

    report = ingest_file(catalogued, path, source_name="s")
    assert report.read == report.accepted + report.rejected == 5
    reasons = {(row["raw"]["sheet"], row["row"]): row["reason"] for row in report.rejected_rows}
    assert reasons[("数据", 4)] == "non-numeric value: '#DIV/0!' is a spreadsheet error"
    assert reasons[("数据", 5)].startswith("indicator level differs")
    assert stored(catalogued) == {
        ("GOV_IVA", "SD", MARCH): 10.5,
        ("GOV_IVA", "SD-QD", date(2024, 1, 1)): 1.25,
        ("GOV_CTRL", "SD-QD", date(2024, 1, 1)): 7.0,
    }


def test_merged_header_cells_and_formula_cached_values(catalogued, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["指标代码", "主体代码", "2024-01", "2024-02"])
    sheet.append(["GOV_IVA", "SD", 1, 2])
    sheet.append(["GOV_IVA", "SD-QD", "=1+1", None])
    sheet.merge_cells("A2:A3")
    path = tmp_path / "wide.xlsx"
    book.save(path)
    # openpyxl writes no cached value for the formula: it reads as empty, so is skipped
    report = ingest_file(catalogued, path, source_name="s")
    assert report.accepted == 2
    assert stored(catalogued) == {
        ("GOV_IVA", "SD", date(2024, 1, 1)): 1.0,
        ("GOV_IVA", "SD", date(2024, 2, 1)): 2.0,
    }


def test_a_workbook_without_any_recognised_sheet_is_refused(catalogued, tmp_path):
    book = Workbook()
    book.active.append(["hello", "world"])
    path = tmp_path / "notes.xlsx"
    book.save(path)
    with pytest.raises(IngestError, match="header not recognised"):
        ingest_file(catalogued, path, source_name="s")


def test_a_broken_workbook_is_a_clear_error(catalogued, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(IngestError, match="not a readable .xlsx workbook"):
        ingest_file(catalogued, path, source_name="s")
