"""Sources and job runs: schedule, runs with counts, rejected rows with reasons, run now,
uploading a file from the browser; operators act, viewers read."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select

from monitor.db import Database
from monitor.progress import store_progress
from monitor.records import AuditEntry, JobRun, Observation, RejectedRow, Source, SourceAlert
from tests.web.dataset import World
from web.background import wait_for_jobs

UPLOAD = (
    "indicator,entity,period,value\n"
    "ind.new_firms,WF-POWER,2023,1101\n"
    "ind.new_firms,NOWHERE,2023,5\n"
)


def _source(database: Database, tmp_path: Path) -> tuple[int, int]:
    started = datetime(2024, 7, 1, 6, 0, tzinfo=UTC)
    with database.session() as session:
        source = Source(name="统计局月报", kind="csv", location=str(tmp_path / "feed.csv"),
                        cron="0 6 * * *")  # fmt: skip
        session.add(source)
        session.flush()
        run = JobRun(job="ingest", source_id=source.id, status="succeeded", started_at=started,
                     finished_at=started + timedelta(seconds=12), rows_read=3, rows_accepted=2,
                     rows_rejected=1, file_name="feed.csv")  # fmt: skip
        session.add(run)
        session.flush()
        session.add(RejectedRow(job_run_id=run.id, row_number=3, raw={"entity": "X"},
                                reason="unknown entity 'X'"))  # fmt: skip
        return source.id, run.id


def test_sources_page_shows_schedule_runs_counts_and_duration(
    as_viewer: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    _source(database, tmp_path)
    page = as_viewer.get("/sources/").get_data(as_text=True)
    assert "统计局月报" in page and "0 6 * * *" in page and "feed.csv" in page
    assert ">12<" in page  # seconds
    assert not re.search(r'action="/sources/\d+/run"', page)  # no run-now for viewers


def test_a_run_lists_its_rejected_rows_with_reasons(
    as_viewer: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    _source_id, run_id = _source(database, tmp_path)
    page = as_viewer.get(f"/sources/runs/{run_id}").get_data(as_text=True)
    assert "unknown entity &#39;X&#39;" in page and "entity=X" in page
    assert as_viewer.get("/sources/runs/999").status_code == 404


def test_viewers_may_not_run_or_upload(
    as_viewer: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    source_id, _run_id = _source(database, tmp_path)
    assert as_viewer.post(f"/sources/{source_id}/run").status_code == 403
    assert as_viewer.post("/sources/upload").status_code == 403
    assert as_viewer.post("/sources/backfill").status_code == 403


def test_run_now_pulls_the_source_file(
    as_operator: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    source_id, _run_id = _source(database, tmp_path)
    (tmp_path / "feed.csv").write_text(UPLOAD, encoding="utf-8")
    response = as_operator.post(f"/sources/{source_id}/run")
    assert response.status_code == 302 and response.location.endswith("/sources/runs/")
    assert wait_for_jobs()
    with database.session() as session:
        newest = session.scalar(
            select(JobRun).where(JobRun.job == "ingest").order_by(JobRun.id.desc())
        )
        assert (newest.rows_read, newest.rows_accepted, newest.rows_rejected) == (2, 1, 1)


def test_upload_ingests_the_file_and_shows_its_run(
    as_operator: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    source_id, _run_id = _source(database, tmp_path)
    with database.session() as session:
        before = session.scalar(select(func.count()).select_from(Observation))
    response = as_operator.post(
        "/sources/upload",
        data={"source": str(source_id), "file": (io.BytesIO(UPLOAD.encode()), "march.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    run_page = as_operator.get(response.location).get_data(as_text=True)
    assert "march.csv" in run_page and "NOWHERE" in run_page
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == before + 1


def test_upload_refuses_other_file_types(
    as_operator: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    source_id, _run_id = _source(database, tmp_path)
    response = as_operator.post(
        "/sources/upload",
        data={"source": str(source_id), "file": (io.BytesIO(b"MZ"), "tool.exe")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "CSV" in response.get_data(as_text=True)


def test_the_runs_page_lists_every_job_with_a_live_progress_bar(
    as_viewer: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    _source(database, tmp_path)
    with database.session() as session:
        running = JobRun(job="backfill", status="running", started_at=datetime.now(UTC))
        session.add(running)
        session.flush()
        running_id = running.id
    store_progress(database, running_id, 0.42, datetime(2026, 3, 1, 4, 30, tzinfo=UTC))

    page = as_viewer.get("/sources/runs/").get_data(as_text=True)
    progress = as_viewer.get(f"/sources/runs/{running_id}/progress").get_json()

    assert "统计局月报" in page and 'value="0.42"' in page and "42%" in page
    assert "12:30" in page  # the estimated end, in Beijing time
    assert (progress["status"], progress["progress"]) == ("running", 0.42)
    only_backfills = as_viewer.get("/sources/runs/?job=backfill").get_data(as_text=True)
    assert f"#{running_id}" in only_backfills and "feed.csv" not in only_backfills
    assert as_viewer.get("/sources/runs/?job=nonsense").status_code == 400


def test_an_operator_starts_a_backfill_and_follows_its_run(
    as_operator: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    _source(database, tmp_path)
    (tmp_path / "feed.csv").write_text(UPLOAD, encoding="utf-8")

    response = as_operator.post("/sources/backfill", data={"first": "2023-01", "last": "2023-12"})
    assert response.status_code == 302 and "/sources/runs/" in response.location
    assert wait_for_jobs()
    page = as_operator.get(response.location).get_data(as_text=True)

    with database.session() as session:
        run = session.scalar(select(JobRun).where(JobRun.job == "backfill"))
        assert (run.status, run.progress, run.rows_accepted) == ("succeeded", 1.0, 1)
    assert f"#{run.id}" in page


def test_a_backfill_with_a_reversed_range_is_refused_with_a_reason(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    response = as_operator.post(
        "/sources/backfill", data={"first": "2024-05", "last": "2024-01"}, follow_redirects=True
    )
    assert "起始期不得晚于截止期" in response.get_data(as_text=True)
    with database.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "backfill"))
            == 0
        )


def test_a_sources_open_source_alert_shows_with_its_colour(
    as_viewer: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    source_id, _run_id = _source(database, tmp_path)
    due = datetime(2024, 7, 2, 22, 0, tzinfo=UTC)
    with database.session() as session:
        session.add(SourceAlert(source_id=source_id, severity="yellow", worst_severity="yellow",
                                status="firing", due_at=due))  # fmt: skip

    page = as_viewer.get("/sources/").get_data(as_text=True)

    assert "sev-yellow" in page and "2024-07-03 06:00" in page


def _source_form(**fields: str) -> dict[str, str]:
    values = {
        "name": "海关月报",
        "kind": "csv",
        "location": "customs.csv",
        "cron": "0 7 * * *",
        "policy": "quarantine",
        "enabled": "y",
        "options": '{"code_map": {"indicators": {"出口额": "ind.exports"}}}',
        "reason": "海关数据接入",
    }
    return values | fields


def test_an_admin_adds_a_source_and_the_audit_log_keeps_why(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    response = as_admin.post("/sources/new", data=_source_form())

    assert response.status_code == 302
    with database.session() as session:
        source = session.scalars(select(Source).where(Source.name == "海关月报")).one()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target_kind == "source")).one()
        assert (source.kind, source.cron, source.enabled) == ("csv", "0 7 * * *", True)
        assert source.options == {"code_map": {"indicators": {"出口额": "ind.exports"}}}
        assert (entry.action, entry.actor, entry.reason) == ("source.add", "ada", "海关数据接入")
        assert entry.before is None and entry.after["cron"] == "0 7 * * *"


def test_an_admin_changes_a_sources_schedule_and_switches_it_off(
    as_admin: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    source_id, _run_id = _source(database, tmp_path)
    form = as_admin.get(f"/sources/{source_id}/edit").get_data(as_text=True)
    assert "0 6 * * *" in form

    response = as_admin.post(
        f"/sources/{source_id}/edit",
        data=_source_form(
            name="ignored", location=str(tmp_path / "feed.csv"), cron="30 8 * * 1", enabled=""
        ),
    )

    assert response.status_code == 302
    with database.session() as session:
        source = session.get_one(Source, source_id)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target_kind == "source")).one()
        assert (source.name, source.cron, source.enabled) == ("统计局月报", "30 8 * * 1", False)
        assert (entry.before["cron"], entry.after["cron"]) == ("0 6 * * *", "30 8 * * 1")


def test_a_bad_source_is_refused_with_the_reason_in_chinese_and_nothing_stored(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    bad_cron = as_admin.post("/sources/new", data=_source_form(cron="every day"))
    bad_json = as_admin.post("/sources/new", data=_source_form(options="{not json"))

    assert bad_cron.status_code == 200
    assert "运行计划 &#39;every day&#39; 无效" in bad_cron.get_data(as_text=True)
    assert "JSON" in bad_json.get_data(as_text=True)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_only_admins_configure_sources(
    as_operator: FlaskClient, database: Database, world: World, tmp_path: Path
) -> None:
    source_id, _run_id = _source(database, tmp_path)
    assert as_operator.get("/sources/new").status_code == 403
    assert as_operator.post("/sources/new", data=_source_form()).status_code == 403
    assert as_operator.post(f"/sources/{source_id}/edit", data=_source_form()).status_code == 403
