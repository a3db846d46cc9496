"""The stage table of government-level and industry-level entities."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

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
