"""The alert list, the alert page and its chart data, acknowledging and resolving."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from monitor.db import Database
from monitor.records import Alert, AlertEvent, Observation
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import ALERT_SPECS, World

ROW_LINK = re.compile(r'<td><a href="/alerts/(\d+)">#\d+</a></td>')


def listed(client: FlaskClient, query: str = "") -> list[int]:
    response = client.get(f"/alerts/{query}")
    assert response.status_code == 200
    return [int(found) for found in ROW_LINK.findall(response.get_data(as_text=True))]


def test_list_shows_alerts_of_every_dimension_and_level(
    as_viewer: FlaskClient, world: World
) -> None:
    page = as_viewer.get("/alerts/").get_data(as_text=True)
    assert listed(as_viewer) == sorted(world.alerts.values(), reverse=True)
    for text in ("政治", "经济", "贸易", "环境", "技术", "政府", "产业", "企业"):
        assert text in page
    assert "潍坊动力装备集群" in page and "红色预警" in page


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("?level=government", {"policy", "output"}),
        ("?dimension=environmental", {"energy"}),
        ("?severity=orange", {"output", "rd"}),
        ("?status=acknowledged", {"policy"}),
        ("?status=open", {"firms", "policy", "output", "energy", "rd"}),
        ("?model=robust_z", {"output"}),
        ("?entity=%E9%9D%92%E5%B2%9B", {"policy", "exports", "energy"}),  # 青岛
        ("?entity=FIRM-1", {"rd"}),
        ("?level=industry&severity=yellow&status=firing", {"firms", "energy"}),
    ],
)
def test_list_filters_by_query_string(
    as_viewer: FlaskClient, world: World, query: str, keys: set[str]
) -> None:
    assert set(listed(as_viewer, query)) == {world.alerts[key] for key in keys}


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="/alerts/([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def test_list_pages_follow_cursor_links_and_keep_the_filters(
    as_viewer: FlaskClient, world: World
) -> None:
    newest_first = sorted(world.alerts.values(), reverse=True)
    first = as_viewer.get("/alerts/?per_page=4").get_data(as_text=True)
    assert listed(as_viewer, "?per_page=4") == newest_first[:4]
    assert _link(first, "prev") is None
    following = _link(first, "next")
    assert following is not None and "per_page=4" in following and "after=" in following
    assert listed(as_viewer, following) == newest_first[4:]
    second = as_viewer.get(f"/alerts/{following}").get_data(as_text=True)
    assert _link(second, "next") is None
    assert listed(as_viewer, _link(second, "prev")) == newest_first[:4]
    filtered = as_viewer.get("/alerts/?status=open&per_page=2").get_data(as_text=True)
    assert "status=open" in _link(filtered, "next")


def test_list_refuses_page_numbers_and_malformed_cursors(as_viewer: FlaskClient) -> None:
    assert as_viewer.get("/alerts/?page=2").status_code == 400
    assert as_viewer.get("/alerts/?after=tomorrow_3").status_code == 400


def test_list_refuses_an_unknown_filter_value(as_viewer: FlaskClient) -> None:
    response = as_viewer.get("/alerts/?severity=purple")
    assert response.status_code == 400
    assert "请求无效" in response.get_data(as_text=True)


def test_list_marks_synthetic_alerts(as_viewer: FlaskClient) -> None:
    page = as_viewer.get("/alerts/?entity=FIRM-1").get_data(as_text=True)
    assert "合成数据" in page
    assert "合成数据" not in as_viewer.get("/alerts/?entity=WF-POWER").get_data(as_text=True)


def test_detail_marks_a_series_with_synthetic_observations(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    url = f"/alerts/{world.alerts['firms']}"
    assert "合成数据" not in as_viewer.get(url).get_data(as_text=True)
    assert as_viewer.get(f"{url}/chart.json").get_json()["synthetic"] is False
    with database.session() as session:
        session.scalars(select(Observation)).first().synthetic = True
    assert "合成数据" in as_viewer.get(url).get_data(as_text=True)
    assert as_viewer.get(f"{url}/chart.json").get_json()["synthetic"] is True


def test_list_links_to_a_summary_of_open_alerts_by_level_and_dimension(
    as_viewer: FlaskClient,
) -> None:
    assert 'href="/alerts/summary"' in as_viewer.get("/alerts/").get_data(as_text=True)
    page = as_viewer.get("/alerts/summary").get_data(as_text=True)
    link = "/alerts/?level=government&amp;dimension=political&amp;severity=red&amp;status=open"
    assert f'href="{link}"' in page


def test_detail_shows_the_alert_its_thresholds_and_events(
    as_viewer: FlaskClient, world: World
) -> None:
    page = as_viewer.get(f"/alerts/{world.alerts['policy']}").get_data(as_text=True)
    assert "政策风险指数" in page and "青岛市" in page
    assert "called the city office" in page  # the acknowledgement note in the events
    assert "2024-05" in page  # monthly period
    assert f'data-chart-url="/alerts/{world.alerts["policy"]}/chart.json"' in page
    assert "vendor/echarts/echarts.min.js" in page
    assert "越高越危险" in page  # the threshold row's direction


def test_detail_of_a_missing_alert_is_404(as_viewer: FlaskClient) -> None:
    response = as_viewer.get("/alerts/9999")
    assert response.status_code == 404
    assert "未找到" in response.get_data(as_text=True)


def test_chart_json_has_scores_threshold_lines_and_fired_point(
    as_viewer: FlaskClient, world: World
) -> None:
    chart = as_viewer.get(f"/alerts/{world.alerts['firms']}/chart.json").get_json()
    assert chart["model"] == "threshold"
    assert chart["score"]["points"][0] == ["2018-01-01", -5.22]
    assert len(chart["score"]["points"]) == 5
    assert [(line["severity"], line["value"], line["color"]) for line in chart["lines"]] == [
        ("blue", -5.0, "#1e6fd9"),
        ("yellow", -10.0, "#e6b800"),
        ("orange", -15.0, "#f08c00"),
        ("red", -20.0, "#d62828"),
    ]
    assert chart["fired"] == [
        {
            "period": "2020-01-01",
            "value": -12.26,
            "severity": "yellow",
            "color": "#e6b800",
            "label": "黄色预警",
        }
    ]
    assert chart["observed"]["points"][0] == ["2017-01-01", 900.0]
    assert chart["observed"]["name"] == "新进入企业数"


def test_chart_json_of_robust_z_mirrors_cut_offs_for_both_directions(
    as_viewer: FlaskClient, world: World
) -> None:
    chart = as_viewer.get(f"/alerts/{world.alerts['output']}/chart.json").get_json()
    assert chart["direction"] == "both"
    assert sorted(line["value"] for line in chart["lines"]) == [-5, -4, -3, -2, 2, 3, 4, 5]
    assert chart["score"]["title"] == "稳健 Z 分数"
    # no stored score at the opening period: the alert's own value marks the point
    assert chart["fired"][0]["period"] == "2024-04-01"
    assert chart["fired"][0]["value"] == -4.4


def test_acknowledge_with_csrf_token_changes_status_and_writes_event(
    csrf_app: Flask, database: Database, world: World
) -> None:
    client = csrf_app.test_client()
    log_in(client, "otto")
    url = f"/alerts/{world.alerts['firms']}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    response = client.post(
        f"{url}/acknowledge", data={"csrf_token": token, "note": "phoned the cluster office"}
    )
    assert response.status_code == 302 and response.location == url
    assert "预警已确认" in client.get(url).get_data(as_text=True)
    with database.session() as session:
        alert = session.get(Alert, world.alerts["firms"])
        assert (alert.status, alert.acknowledged_by) == ("acknowledged", "otto")
        assert alert.response_note == "phoned the cluster office"
        event = session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id.desc())
        ).first()
        assert (event.kind, event.actor) == ("acknowledged", "otto")


def test_acknowledge_without_csrf_token_is_refused(
    csrf_app: Flask, database: Database, world: World
) -> None:
    client = csrf_app.test_client()
    log_in(client, "otto")
    response = client.post(f"/alerts/{world.alerts['firms']}/acknowledge", data={"note": "x"})
    assert response.status_code == 400
    with database.session() as session:
        assert session.get(Alert, world.alerts["firms"]).status == "firing"


def test_resolve_closes_the_alert_with_its_note(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    url = f"/alerts/{world.alerts['policy']}"
    response = as_operator.post(f"{url}/resolve", data={"note": "policy clarified"})
    assert response.location == url
    page = as_operator.get(url).get_data(as_text=True)
    assert "预警已解除" in page and "policy clarified" in page
    assert 'action="/alerts/' not in page.split("应对措施</h2>")[1]  # no forms left
    with database.session() as session:
        alert = session.get(Alert, world.alerts["policy"])
        assert (alert.status, alert.resolved_by) == ("resolved", "otto")
        assert alert.resolution_note == "policy clarified"


def test_acknowledging_an_acknowledged_alert_is_refused_with_a_message(
    as_operator: FlaskClient, world: World
) -> None:
    url = f"/alerts/{world.alerts['policy']}"
    as_operator.post(f"{url}/acknowledge", data={})
    assert "只有预警中的预警可以确认" in as_operator.get(url).get_data(as_text=True)


def test_resolving_a_resolved_alert_is_refused_with_a_message(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    url = f"/alerts/{world.alerts['exports']}"
    as_operator.post(f"{url}/resolve", data={"note": "again"})
    assert "该预警已解除" in as_operator.get(url).get_data(as_text=True)
    with database.session() as session:
        assert session.get(Alert, world.alerts["exports"]).resolution_note is None


def test_an_overlong_note_is_refused(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    url = f"/alerts/{world.alerts['firms']}"
    as_operator.post(f"{url}/acknowledge", data={"note": "x" * 2001})
    assert "说明过长" in as_operator.get(url).get_data(as_text=True)
    with database.session() as session:
        assert session.get(Alert, world.alerts["firms"]).status == "firing"


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_a_viewer_may_not_respond_to_alerts(
    as_viewer: FlaskClient, database: Database, world: World, action: str
) -> None:
    url = f"/alerts/{world.alerts['firms']}"
    assert as_viewer.post(f"{url}/{action}", data={}).status_code == 403
    page = as_viewer.get(url).get_data(as_text=True)
    assert "/acknowledge" not in page and "/resolve" not in page
    with database.session() as session:
        assert session.get(Alert, world.alerts["firms"]).status == "firing"


def test_alert_list_has_all_specified_alerts(as_viewer: FlaskClient) -> None:
    assert len(listed(as_viewer)) == len(ALERT_SPECS)
