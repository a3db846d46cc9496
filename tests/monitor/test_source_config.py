"""Sources configured from a deployment file and by admins; the watched folder."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.connectors.base import SourceSpec
from monitor.connectors.folder import pull_folder
from monitor.jobs import backfill, recent_runs, rejected_rows, run_now, run_progress
from monitor.sources import SourceError, add_source, get_source, load_sources, update_source
from tests.monitor.source_helpers import load_small_catalog, stored

SOURCES = """\
sources:
  - name: stats-monthly
    kind: csv
    location: {csv}
    cron: "0 6 * * *"
    policy: quarantine
    options:
      code_map:
        indicators: {{工业增加值: GOV_IVA}}
        entities: {{山东省: SD}}
  - name: inbox
    kind: folder
    location: {folder}
    enabled: false
"""


@pytest.fixture
def catalogued(database, tmp_path):
    return load_small_catalog(database, tmp_path)


def test_a_sources_file_adds_then_updates_sources(catalogued, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(csv=tmp_path / "a.csv", folder=tmp_path), encoding="utf-8")
    with catalogued.session() as session:
        assert load_sources(session, path) == (["stats-monthly", "inbox"], [])
    path.write_text(path.read_text().replace("quarantine", "fail"), encoding="utf-8")
    with catalogued.session() as session:
        assert load_sources(session, path) == ([], ["stats-monthly", "inbox"])
        source = get_source(session, "stats-monthly")
        assert (source.policy, source.cron, source.enabled) == ("fail", "0 6 * * *", True)
        assert source.options["code_map"]["entities"] == {"山东省": "SD"}
        assert not get_source(session, "inbox").enabled


def test_a_bad_entry_in_a_sources_file_changes_nothing(catalogued, tmp_path):
    path = tmp_path / "sources.yaml"
    text = SOURCES.format(csv=tmp_path / "a.csv", folder=tmp_path) + (
        "  - name: broken\n    kind: csv\n    location: x.csv\n    cron: every day\n"
    )
    path.write_text(text, encoding="utf-8")
    with catalogued.session() as session, pytest.raises(SourceError, match="broken"):
        load_sources(session, path)
    with catalogued.session() as session, pytest.raises(Exception, match="no source"):
        get_source(session, "stats-monthly")


def test_secrets_are_refused_in_source_options(catalogued):
    with catalogued.session() as session, pytest.raises(SourceError, match="secret"):
        add_source(session, name="api", kind="http_json", options={"api_key": "abc"})


def test_run_now_uses_the_code_map_and_records_the_run(catalogued, tmp_path):
    csv = tmp_path / "a.csv"
    csv.write_text("指标,主体,期间,数值\n工业增加值,山东省,2024-03,7\nX,SD,2024-03,1\n")
    with catalogued.session() as session:
        add_source(
            session,
            name="stats",
            kind="csv",
            location=str(csv),
            options={
                "code_map": {"indicators": {"工业增加值": "GOV_IVA"}, "entities": {"山东省": "SD"}}
            },
        )
        update_source(session, "stats", enabled=False)
    seen: list[float] = []
    report, _score = run_now(catalogued, "stats", progress=seen.append)
    assert report is not None and report.accepted == 1
    assert seen and seen[-1] == 1.0
    assert stored(catalogued) == {("GOV_IVA", "SD", date(2024, 3, 1)): 7.0}
    [run] = [run for run in recent_runs(catalogued, source="stats") if run["job"] == "ingest"]
    assert (run["read"], run["accepted"], run["rejected"], run["progress"]) == (2, 1, 1, 1.0)
    assert run["seconds"] is not None
    assert run_progress(catalogued, run["id"])["status"] == "succeeded"
    assert rejected_rows(catalogued, run["id"])[0]["reason"] == "unknown indicator: 'X'"


def test_the_watched_folder_ingests_and_archives_each_file_with_its_outcome(catalogued, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.csv").write_text("indicator,entity,period,value\nGOV_IVA,SD,2024-03,1\n")
    (inbox / "mixed.csv").write_text(
        "indicator,entity,period,value\nGOV_IVA,SD,2024-04,2\nGOV_IVA,SD,2024-05,x\n"
    )
    (inbox / "empty.csv").write_text("")
    (inbox / ".hidden.csv").write_text("ignored")
    with catalogued.session() as session:
        source = add_source(session, name="inbox", kind="folder", location=str(inbox))
        spec = SourceSpec.of(source)
    reports = pull_folder(catalogued, spec)
    assert sorted(report.file_name for report in reports) == ["good.csv", "mixed.csv"]
    archive = inbox / "archive"
    assert (archive / "succeeded" / "good.csv").exists()
    assert (archive / "partial" / "mixed.csv").exists()
    assert (archive / "failed" / "empty.csv").exists()
    failed = json.loads((archive / "failed" / "empty.csv.report.json").read_text())
    assert "the file is empty" in failed["error"]
    partial = json.loads((archive / "partial" / "mixed.csv.report.json").read_text())
    assert (partial["accepted"], partial["rejected"]) == (1, 1)
    assert sorted(path.name for path in inbox.iterdir()) == [".hidden.csv", "archive"]
    assert pull_folder(catalogued, spec) == []  # nothing waits any more


def test_backfill_pulls_the_range_and_rescores_it(catalogued, tmp_path):
    csv = tmp_path / "range.csv"
    csv.write_text(
        "indicator,entity,period,value\n"
        + "".join(f"GOV_IVA,SD,2023-{month:02d},{100 + month}\n" for month in range(1, 13))
    )
    with catalogued.session() as session:
        add_source(session, name="stats", kind="csv", location=str(csv))
    steps: list[float] = []
    report = backfill(catalogued, date(2023, 1, 1), date(2023, 12, 1), progress=steps.append)
    assert report.pulled == {"stats": 12}
    assert report.score is not None and report.score.job_run_id
    assert steps[-1] == 1.0


def test_a_backfill_is_a_job_run_with_its_progress_and_outcome(catalogued, tmp_path):
    csv = tmp_path / "range.csv"
    csv.write_text("indicator,entity,period,value\nGOV_IVA,SD,2023-01,101\n")
    with catalogued.session() as session:
        add_source(session, name="stats", kind="csv", location=str(csv))
        add_source(session, name="gone", kind="csv", location=str(tmp_path / "missing.csv"))

    backfill(catalogued, date(2023, 1, 1), date(2023, 12, 1))

    (run,) = [r for r in recent_runs(catalogued) if r["job"] == "backfill"]
    assert (run["status"], run["read"]) == ("failed", 1)
    assert run["progress"] == 1.0  # the other source was pulled and the range rescored
    assert run["error"].startswith("gone: ")
    assert run["finished_at"] is not None and run["eta"] is None


def test_the_command_line_loads_sources_runs_one_and_backfills(catalogued, tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTERWATCH_DATABASE_URL", catalogued.url)
    monkeypatch.setenv("CLUSTERWATCH_SECRET_KEY", "test")
    csv = tmp_path / "a.csv"
    csv.write_text("指标,主体,期间,数值\n工业增加值,山东省,2024-03,7\n")
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(csv=csv, folder=tmp_path), encoding="utf-8")
    runner = CliRunner()
    loaded = runner.invoke(main, ["source", "load", str(path)])
    assert loaded.exit_code == 0, loaded.output
    ran = runner.invoke(main, ["source", "run", "stats-monthly", "--progress"])
    assert ran.exit_code == 0, ran.output
    assert stored(catalogued) == {("GOV_IVA", "SD", date(2024, 3, 1)): 7.0}
    history = runner.invoke(main, ["source", "runs", "stats-monthly"])
    assert "read 1 accepted 1 rejected 0" in history.output
    filled = runner.invoke(main, ["backfill", "--from", "2024-01", "--to", "2024-06"])
    assert filled.exit_code == 0, filled.output
    assert json.loads(filled.output)["pulled"] == {"stats-monthly": 1}
    wrong = runner.invoke(main, ["backfill", "--from", "2024-13", "--to", "2024-06"])
    assert wrong.exit_code != 0
