"""Hostile input: every bad file gets a clear error or row rejections, never half a write."""

from __future__ import annotations

import os
import string
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from monitor.connectors.push import push_observations
from monitor.errors import IngestError
from monitor.ingest import ingest_file
from monitor.records import Entity, JobRun, Observation, RejectedRow
from tests.monitor.source_helpers import load_small_catalog, stored

# The full-size case of the issue: CLUSTERWATCH_BIG_FILE_MB=200 (minutes, not seconds).
BIG_FILE_MB = float(os.environ.get("CLUSTERWATCH_BIG_FILE_MB", "12"))
BIG_FILE_PEAK_MB = 40  # traced Python memory while streaming, whatever the file's size
FIRMS = 4_000


@pytest.fixture
def catalogued(database, tmp_path):
    return load_small_catalog(database, tmp_path)


def count(database, table) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(table))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"indicator,entity,period,value\n", "no data rows below the header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        ("indicator,entity,period,value\n".encode("utf-16-le"), "binary content"),
        (b"indicator,entity,period,value\nGOV_IVA,SD,2024-03,1\xe9\n", "not UTF-8"),
        (b"indicator|entity|period|value\nGOV_IVA|SD|2024-03|1\n", "header not recognised"),
        (b"a,b\n1,2\n", "header not recognised"),
    ],
)
def test_an_unusable_file_is_a_clear_error_and_a_failed_run(catalogued, tmp_path, content, message):
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        ingest_file(catalogued, path, source_name="s")
    with catalogued.session() as session:
        run = session.scalars(select(JobRun)).one()
    assert run.status == "failed" and message.split()[0] in run.error
    assert count(catalogued, Observation) == 0


def test_chinese_dates_full_width_digits_and_thousands_separators(catalogued, tmp_path):
    path = tmp_path / "cn.csv"
    path.write_text(
        "指标,主体,期间,数值\n"
        'GOV_IVA,SD,２０２４年３月,"12,345"\n'
        "GOV_IVA,SD,2024-04,１２３\n"
        "GOV_CTRL,SD,2024年一季度,1 234.5\n"
        'GOV_GDP,SD,2023年,"1,2"\n',
        encoding="utf-8",
    )
    report = ingest_file(catalogued, path, source_name="s")
    assert report.read == report.accepted + report.rejected == 4
    assert report.rejected_rows[0]["reason"] == "non-numeric value: '1,2'"
    values = sorted(stored(catalogued).values())
    assert values == [123.0, 1234.5, 12345.0]


def test_a_decoding_error_deep_in_the_file_leaves_nothing_written(catalogued, tmp_path):
    good = "".join(f"GOV_IVA,SD,{1900 + i // 12}-{i % 12 + 1:02d},{i}\n" for i in range(3000))
    path = tmp_path / "late.csv"
    path.write_bytes(
        b"indicator,entity,period,value\n" + good.encode() + b"GOV_IVA,SD,2199-01,\xff\n"
    )
    with pytest.raises(IngestError, match="not valid utf-8-sig text after line"):
        ingest_file(catalogued, path, source_name="s", chunk_rows=500)
    assert count(catalogued, Observation) == 0
    assert count(catalogued, RejectedRow) == 0


def test_duplicates_across_chunks_are_rejected_like_within_one(catalogued, tmp_path):
    path = tmp_path / "dupes.csv"
    rows = [f"GOV_IVA,SD,2020-{month:02d},{month}" for month in range(1, 13)]
    path.write_text("indicator,entity,period,value\n" + "\n".join(rows + rows[:2]) + "\n")
    report = ingest_file(catalogued, path, source_name="s", chunk_rows=5)
    assert (report.read, report.accepted, report.rejected) == (14, 12, 2)
    assert report.rejected_rows[0]["reason"] == "duplicate in the file: first given at row 2"


def _many_firms(database) -> list[str]:
    codes = [f"BIG{i:05d}" for i in range(FIRMS)]
    with database.session() as session:
        region = session.scalar(select(Entity.id).where(Entity.code == "SD-QD"))
        session.execute(
            insert(Entity),
            [
                {
                    "code": code,
                    "name_zh": code,
                    "name_en": code,
                    "level": "enterprise",
                    "kind": "firm",
                    "region_id": region,
                }
                for code in codes
            ],
        )
    return codes


def _big_file(path: Path, codes: list[str], size: float) -> int:
    """Write valid ENT_REV rows until the file has ``size`` bytes; returns the row count."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("indicator,entity,period,value\n")
        month = 0
        while out.tell() < size:
            period = f"{1900 + month // 12}-{month % 12 + 1:02d}"
            out.write(
                "".join(f"ENT_REV,{code},{period},{rows + i}.25\n" for i, code in enumerate(codes))
            )
            rows += len(codes)
            month += 1
    return rows


def test_a_big_file_is_streamed_in_bounded_memory(catalogued, tmp_path):
    codes = _many_firms(catalogued)
    path = tmp_path / "big.csv"
    rows = _big_file(path, codes, BIG_FILE_MB * 1024 * 1024)
    seen: list[float] = []
    tracemalloc.start()
    try:
        report = ingest_file(
            catalogued, path, source_name="big", chunk_rows=20_000, progress=seen.append
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (report.read, report.accepted, report.rejected) == (rows, rows, 0)
    assert count(catalogued, Observation) == rows
    assert peak < BIG_FILE_PEAK_MB * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == -(-rows // 20_000)


CELLS = st.one_of(
    st.sampled_from(
        [
            "GOV_IVA",
            "GOV_CTRL",
            "SD",
            "SD-QD",
            "F1",
            "2024-03",
            "2024Q1",
            "1",
            "",
            "n/a",
            "1,234",
            "１２",
            "#DIV/0!",
            '"',
            "\n",
            ";",
            "\t",
            "\x00",
        ]
    ),
    st.text(alphabet=string.printable + "指标期间数值年月季度，", max_size=12),
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=6), min_size=0, max_size=25)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=ROWS,
    header=st.sampled_from(
        [
            "indicator,entity,period,value",
            "指标;主体;期间;数值",
            "entity,period,GOV_IVA",
            "indicator,entity,2024-01",
        ]
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_hostile_csv_always_reads_as_accepted_plus_rejected(
    catalogued, tmp_path, rows, header, encoding
):
    delimiter = ";" if ";" in header else ","
    text = header + "\n" + "\n".join(delimiter.join(row) for row in rows)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    before = count(catalogued, Observation)
    try:
        report = ingest_file(catalogued, path, source_name="fuzz")
    except IngestError:
        assert count(catalogued, Observation) == before
        return
    assert report.read == report.accepted + report.rejected
    assert report.accepted == report.inserted + report.updated + report.unchanged
    assert count(catalogued, Observation) == before + report.inserted


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
ITEMS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "indicator": st.sampled_from(["GOV_IVA", "GOV_CTRL", "X"]) | JSON,
            "entity": st.sampled_from(["SD", "F1"]) | JSON,
            "period": st.sampled_from(["2024-03", "2024Q1", "2024年3月"]) | JSON,
            "value": st.floats(allow_nan=True, allow_infinity=True) | JSON,
            "flag": st.sampled_from(["provisional", "E", "m", "?"]) | JSON,
        },
    )
    | JSON,
    max_size=15,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=ITEMS)
def test_hostile_json_always_reads_as_accepted_plus_rejected(catalogued, items):
    before = count(catalogued, Observation)
    try:
        report = push_observations(catalogued, {"source": "fuzz", "observations": items}, "op")
    except IngestError:
        assert not items
        return
    assert report.read == len(items) == report.accepted + report.rejected
    assert count(catalogued, Observation) == before + report.inserted
