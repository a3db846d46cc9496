"""The entity page: indicators by dimension with colour and small chart, stage timeline,
shocks, open and past alerts."""

from __future__ import annotations

import re
from datetime import date

from flask.testing import FlaskClient

from monitor.db import Database
from monitor.records import Observation, Shock
from monitor.stages import StageConfig, save_stage_config
from tests.web.dataset import WEIFANG_NEW_FIRMS, World
from web.entities import SPARK_HEIGHT, sparkline, stage_runs


def _cells(page: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of the table with ``table_id``."""
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_entity_page_shows_its_indicator_colour_chart_stages_and_alerts(
    as_viewer: FlaskClient, world: World
) -> None:
    response = as_viewer.get("/entities/WF-POWER")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "潍坊动力装备集群" in page and "新进入企业数" in page
    assert 'id="indicator-ind.new_firms"' in page and "<polyline" in page
    assert 'class="timeline"' in page and "stage-recovery" in page
    assert f'href="/alerts/{world.alerts["firms"]}"' in page


def test_an_unknown_entity_is_404(as_viewer: FlaskClient) -> None:
    assert as_viewer.get("/entities/NOPE").status_code == 404


def test_alert_page_links_to_its_entity(as_viewer: FlaskClient, world: World) -> None:
    page = as_viewer.get(f"/alerts/{world.alerts['firms']}").get_data(as_text=True)
    assert 'href="/entities/WF-POWER"' in page
    assert 'href="/entities/WF-POWER#indicator-ind.new_firms"' in page


def test_sparkline_spans_the_box_and_skips_gaps() -> None:
    points = [("2020", 1.0), ("2021", None), ("2022", 3.0)]
    coordinates = [pair.split(",") for pair in sparkline(points).split()]
    assert [float(x) for x, _y in coordinates] == [0.0, 160.0]
    assert float(coordinates[0][1]) == SPARK_HEIGHT - 2 and float(coordinates[1][1]) == 2.0
    assert sparkline([("2020", 1.0)]) == ""


def test_entity_page_lists_stage_changes_newest_first(as_viewer: FlaskClient, world: World) -> None:
    page = as_viewer.get("/entities/WF-POWER").get_data(as_text=True)
    # Weifang's power-equipment cluster entered recovery in 2021 and is in it still.
    assert _cells(page, "stage-changes") == [
        ["冲击恢复", "2021", "2022", "2"],
        ["冲击适应", "2020", "2020", "1"],
        ["冲击吸收", "2019", "2019", "1"],
    ]


def test_entity_page_shows_each_shock_with_its_measures(
    as_viewer: FlaskClient, world: World, database: Database
) -> None:
    with database.session() as session:
        session.add(
            Shock(
                entity_id=world.entities["WF-POWER"],
                indicator_id=world.indicators["firms"],
                number=1,
                cause="drop",
                outcome="ongoing",
                start=date(2019, 1, 1),
                peak=date(2017, 1, 1),
                trough=date(2020, 1, 1),
                recovery_start=date(2021, 1, 1),
                latest=date(2022, 1, 1),
                baseline=900.0,
                peak_value=900.0,
                trough_value=737.0,
                depth=163 / 900,
                absorption_periods=3,
                reference_entity_id=world.entities["SD"],
                reference_indicator_id=world.indicators["firms"],
                resistance=-0.8111,
                recoverability=1.9579,
            )
        )
    as_viewer.post("/language", data={"locale": "en"})
    page = as_viewer.get("/entities/WF-POWER").get_data(as_text=True)
    [row] = _cells(page, "shocks")
    assert row[:7] == ["1", "Performance fell", "2017", "2019", "2020", "2021", "—"]
    assert row[8:] == ["3", "—", "-0.8111", "1.9579", "Under way"]
    assert row[7].startswith("18.1")
    assert "Shandong" in page.split('id="shocks"', 1)[1]  # the measures' reference


def test_a_cluster_page_shows_its_life_cycle_and_recommended_policy(
    as_viewer: FlaskClient, world: World, database: Database
) -> None:
    config = StageConfig(
        performance={"industry": ("ind.export_complexity",)}, entry_indicators=("ind.new_firms",)
    )
    with database.session() as session:
        save_stage_config(session, config)
        for offset, year in enumerate(WEIFANG_NEW_FIRMS):
            session.add(
                Observation(
                    indicator_id=world.indicators["exports"],
                    entity_id=world.entities["WF-POWER"],
                    period=date(year, 1, 1),
                    value=100.0 * 1.1**offset,
                )
            )
    page = as_viewer.get("/entities/WF-POWER").get_data(as_text=True)
    rows = _cells(page, "lifecycle")
    # 2022: entries grew (-12.26 % + 29.58 % + 6.81 %) / 3 = 8.04 % a year, below the
    # 10 % of a surge; output 10 % a year, above the 8 % of fast growth: growth.
    assert rows[0][:3] == ["2022", "成长期", "供给型与环境型政策"]
    assert rows[0][3].startswith("8.04") and rows[0][4].startswith("10")
    assert [row[0] for row in rows] == ["2022", "2021", "2020", "2019", "2018"]
    assert 'id="lifecycle"' not in as_viewer.get("/entities/SD").get_data(as_text=True)


def test_stage_runs_collapse_consecutive_periods_of_one_stage() -> None:
    history = [
        {"period": p, "stage": s, "indicator": {"frequency": "M"}}
        for p, s in [
            ("2020-01-01", "preparation"),
            ("2020-02-01", "absorption"),
            ("2020-03-01", "absorption"),
            ("2020-04-01", "recovery"),
        ]
    ]
    assert [(r["stage"], r["first"], r["last"], r["periods"]) for r in stage_runs(history)] == [
        ("recovery", "2020-04-01", "2020-04-01", 1),
        ("absorption", "2020-02-01", "2020-03-01", 2),
        ("preparation", "2020-01-01", "2020-01-01", 1),
    ]
    assert stage_runs([]) == []
