"""The scripting commands end to end: catalog load, ingest, alerts, stages, series, users.

Each runs through Click on SQLite and on PostgreSQL, and its JSON is checked field by
field against the shapes the README promises.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from monitor.cli import main
from monitor.db import Database
from monitor.records import User

CATALOG = """\
entities:
  - {code: SD, name_zh: 山东省, name_en: Shandong, level: government, kind: province}
  - {code: C1, name_zh: 集群, name_en: Cluster, level: industry, kind: cluster, region: SD}
indicators:
  - {code: OUT, name_zh: 产出, name_en: Output, dimension: economic, level: government,
     unit: "", frequency: M, direction: down, core: true}
  - {code: EMIS, name_zh: 排放, name_en: Emissions, dimension: environmental,
     level: industry, unit: t, frequency: Q, direction: up}
thresholds:
  - {model: threshold, level: government, dimension: economic,
     blue: 90, yellow: 80, orange: 70, red: 60}
  - {model: threshold, level: industry, dimension: environmental,
     blue: 10, yellow: 20, orange: 30, red: 40}
"""

#: Output steady at 100 for 30 months, then down to 65 (orange); emissions jump to 45 (red).
GOOD_ROWS = [f"OUT,SD,{2020 + m // 12}-{m % 12 + 1:02d},{100 if m < 30 else 65}" for m in range(36)]
GOOD_ROWS += [f"EMIS,C1,{2020 + q // 4}Q{q % 4 + 1},{5 if q < 11 else 45}" for q in range(12)]
BAD_ROWS = {
    "OUT,XX,2022-12,1": "unknown entity",
    "OUT,SD,2022-13,1": "unparseable period",
    "OUT,SD,2019-01,abc": "non-numeric value",
    "OUT,SD,2020-01,100": "duplicate in the file",
}
ALERT_FIELDS = {
    "id",
    "entity",
    "indicator",
    "model",
    "severity",
    "status",
    "period",
    "value",
    "threshold",
    "opened_at",
}


def _run(database: Database, *args: str) -> Result:
    result = CliRunner().invoke(main, list(args), env={"CLUSTERWATCH_DATABASE_URL": database.url})
    assert result.exit_code == 0, result.output
    return result


def _json(database: Database, *args: str) -> Any:
    return json.loads(_run(database, *args, "--json").output)


@pytest.fixture
def values_file(tmp_path: Path) -> Path:
    path = tmp_path / "values.csv"
    path.write_text("\n".join(["indicator,entity,period,value", *GOOD_ROWS, *BAD_ROWS]) + "\n")
    return path


@pytest.fixture
def catalogued(any_database: Database, tmp_path: Path) -> Database:
    """The small catalog, loaded by the command."""
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(CATALOG, encoding="utf-8")
    report = _run(any_database, "catalog", "load", str(catalog)).output
    assert "entities: 2 created" in report and "thresholds: 2 created" in report
    return any_database


@pytest.fixture
def loaded(catalogued: Database, values_file: Path) -> Database:
    """The values ingested (and scored) by the command."""
    _run(catalogued, "ingest", str(values_file), "--source", "stats")
    return catalogued


def test_ingest_json_counts_every_row_and_gives_each_rejection_its_reason(
    catalogued: Database, values_file: Path
) -> None:
    first = _json(catalogued, "ingest", str(values_file), "--source", "stats")
    again = _json(catalogued, "ingest", str(values_file), "--source", "stats")

    good, bad = len(GOOD_ROWS), len(BAD_ROWS)
    assert {k: first[k] for k in ("read", "accepted", "rejected")} == {
        "read": good + bad,
        "accepted": good,
        "rejected": bad,
    }
    assert (first["inserted"], first["updated"], first["unchanged"]) == (good, 0, 0)
    reasons = {
        ",".join(row["raw"][k] for k in ("indicator", "entity", "period", "value")): row["reason"]
        for row in first["rejected_rows"]
    }
    assert set(reasons) == set(BAD_ROWS)
    assert all(reasons[row].startswith(reason) for row, reason in BAD_ROWS.items())
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, good)
    assert again["rejected"] == bad


def test_alerts_json_has_the_documented_fields_and_filters(loaded: Database) -> None:
    every = _json(loaded, "alerts")
    industry = _json(loaded, "alerts", "--level", "industry")
    economic = _json(loaded, "alerts", "--dimension", "economic", "--status", "firing")
    resolved = _json(loaded, "alerts", "--status", "resolved")

    assert every and all(ALERT_FIELDS <= set(alert) for alert in every)
    for alert in every:
        assert {"code", "name", "level"} <= set(alert["entity"])
        assert {"code", "dimension", "frequency"} <= set(alert["indicator"])
        assert alert["severity"] in {"blue", "yellow", "orange", "red"}
        assert alert["status"] in {"firing", "acknowledged", "resolved"}
        assert date.fromisoformat(alert["period"]).day == 1
    (emissions,) = industry
    assert emissions["entity"] == emissions["entity"] | {"code": "C1", "level": "industry"}
    assert emissions["indicator"]["code"] == "EMIS"
    assert (emissions["indicator"]["dimension"], emissions["indicator"]["frequency"]) == (
        "environmental",
        "Q",
    )
    assert (emissions["model"], emissions["severity"]) == ("threshold", "red")
    assert (emissions["period"], emissions["value"], emissions["threshold"]) == (
        "2022-10-01",
        45.0,
        40.0,
    )
    assert economic and {a["entity"]["code"] for a in economic} == {"SD"}
    assert {a["indicator"]["dimension"] for a in economic} == {"economic"}
    assert resolved == []


def test_stages_json_gives_each_entity_its_stage_and_since(loaded: Database) -> None:
    (row,) = _json(loaded, "stages")

    assert row["entity"] == row["entity"] | {"code": "SD", "level": "government"}
    assert row["stage"] in {"preparation", "absorption", "adaptation", "recovery"}
    assert row["stage"] != "preparation"  # the fall to 65 is a shock
    assert date(2022, 7, 1) <= date.fromisoformat(row["since"]) <= date(2022, 12, 1)


def test_series_json_gives_each_period_as_its_first_day_with_its_value(loaded: Database) -> None:
    rows = _json(loaded, "series", "--indicator", "EMIS", "--entity", "C1")

    assert [row["period"] for row in rows[:3]] == ["2020-01-01", "2020-04-01", "2020-07-01"]
    assert [row["value"] for row in rows] == [5.0] * 11 + [45.0]


def test_user_create_makes_a_console_user_with_its_role(any_database: Database) -> None:
    _run(any_database, "user", "create", "ann", "--role", "operator")

    with any_database.session() as session:
        user = session.scalars(select(User).where(User.username == "ann")).one()
    assert user.role == "operator"
