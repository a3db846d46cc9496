"""The stage table of government-level and industry-level entities."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask.testing import FlaskClient

from monitor.db import Database
from monitor.records import Shock
from tests.web.dataset import World

ROW = re.compile(
    r'<span class="code">([A-Z0-9-]+)</span>.*?<span class="badge stage-(\w+)">(.*?)</span>'
    r'</td>\s*<td class="nowrap">(\d{4})</td>',
    re.S,
)


def rows(client: FlaskClient, query: str = "") -> dict[str, tuple[str, str, str]]:
    response = client.get(f"/stages/{query}")
    assert response.status_code == 200
    found = ROW.findall(response.get_data(as_text=True))
    return {code: (stage, text, since) for code, stage, text, since in found}


def test_stages_lists_each_entity_with_stage_and_since(
    as_viewer: FlaskClient, world: World
) -> None:
    assert rows(as_viewer) == {
        "QD": ("absorption", "冲击吸收", "2021"),
        "SD": ("recovery", "冲击恢复", "2022"),
        "QD-HOME": ("preparation", "冲击准备", "2019"),
        "WF-POWER": ("recovery", "冲击恢复", "2021"),
    }


def test_stages_leaves_out_enterprises(as_viewer: FlaskClient, world: World) -> None:
    assert "FIRM-1" not in as_viewer.get("/stages/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("?level=industry", {"QD-HOME", "WF-POWER"}),
        ("?stage=recovery", {"SD", "WF-POWER"}),
        ("?level=government&stage=absorption", {"QD"}),
        ("?stage=adaptation", set()),
    ],
)
def test_stages_filters_by_level_and_stage(
    as_viewer: FlaskClient, world: World, query: str, codes: set[str]
) -> None:
    assert set(rows(as_viewer, query)) == codes


@pytest.mark.parametrize("query", ["?level=enterprise", "?stage=collapse"])
def test_stages_refuses_unknown_filters(as_viewer: FlaskClient, query: str) -> None:
    assert as_viewer.get(f"/stages/{query}").status_code == 400


def test_stages_speaks_english_when_chosen(as_viewer: FlaskClient, world: World) -> None:
    as_viewer.post("/language", data={"locale": "en"})
    page = as_viewer.get("/stages/").get_data(as_text=True)
    assert "Shock absorption" in page and "Weifang power equipment" in page


def test_stages_draws_a_swimlane_per_level_linking_each_entity(
    as_viewer: FlaskClient, world: World
) -> None:
    page = as_viewer.get("/stages/").get_data(as_text=True)
    assert page.count('<table class="swimlanes">') == 2
    assert 'href="/entities/WF-POWER"' in page and 'class="lane stage-recovery"' in page
    filtered = as_viewer.get("/stages/?level=industry").get_data(as_text=True)
    assert filtered.count('<table class="swimlanes">') == 1 and "/entities/SD" not in filtered


def _shock(world: World, code: str, start: date, **values: object) -> Shock:
    fields: dict[str, object] = {
        "indicator_id": world.indicators["firms"],
        "number": 1,
        "cause": "drop",
        "outcome": "recovered",
        "peak": date(start.year - 1, 1, 1),
        "trough": start,
        "latest": start,
        "baseline": 100.0,
        "peak_value": 100.0,
        "trough_value": 80.0,
        "depth": 0.2,
        "absorption_periods": 1,
        **values,
    }
    return Shock(entity_id=world.entities[code], start=start, **fields)


def test_stages_lists_the_latest_shock_of_each_entity_with_its_measures(
    as_viewer: FlaskClient, world: World, database: Database
) -> None:
    with database.session() as session:
        session.add_all(
            [
                _shock(world, "WF-POWER", date(2016, 1, 1), ended=date(2017, 1, 1)),
                _shock(
                    world,
                    "WF-POWER",
                    date(2019, 1, 1),
                    number=2,
                    outcome="ongoing",
                    trough=date(2020, 1, 1),
                    recovery_start=date(2021, 1, 1),
                    absorption_periods=3,
                    resistance=-0.8111,
                ),
                _shock(
                    world,
                    "SD",
                    date(2020, 1, 1),
                    cause="warning",
                    recovered=date(2021, 1, 1),
                    ended=date(2022, 1, 1),
                    recovery_periods=1,
                    recoverability=1.5,
                ),
                _shock(world, "FIRM-1", date(2020, 1, 1)),  # an enterprise: not listed
            ]
        )
    as_viewer.post("/language", data={"locale": "en"})
    page = as_viewer.get("/stages/").get_data(as_text=True)
    table = page.split('id="shocks"', 1)[1].split("</table>", 1)[0]
    rows = [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    ]
    # The shock under way first; each entity's earlier shocks are on its own page.
    assert [row[0] for row in rows] == ["Weifang power equipment", "Shandong"]
    weifang, shandong = rows
    assert weifang[1:7] == ["Performance fell", "2018", "2019", "2020", "2021", "—"]
    assert weifang[8:] == ["3", "—", "-0.8111", "—", "Under way"]
    assert shandong[1] == "Orange or red warning" and shandong[6] == "2022"
    assert shandong[9:] == ["1", "—", "1.5", "Recovered"]
    filtered = as_viewer.get("/stages/?level=government").get_data(as_text=True)
    assert "Weifang power equipment</a></td>" not in filtered.split('id="shocks"', 1)[1]
