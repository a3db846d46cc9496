"""The entity page: indicators by dimension with colour and small chart, stage timeline,
shocks, open and past alerts."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.web.dataset import World
from web.entities import SPARK_HEIGHT, sparkline


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
