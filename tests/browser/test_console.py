"""The console in a real browser (Playwright + Debian's chromium): the paths monitoring
staff take every day, with an axe-core check and a screenshot of each page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, log_in, screenshot, serious_violations

CHART_POINTS = """(id) => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  return chart ? chart.getOption().series[0].data.length : 0;
}"""


def assert_accessible(page: Any) -> None:
    found = serious_violations(page)
    assert not found, f"axe-core found serious violations on {page.url}: {found}"


def test_heat_map_shows_and_a_cell_leads_to_the_filtered_list(page: Any) -> None:
    log_in(page, "otto")
    heatmap = page.locator("#heatmap")
    assert heatmap.is_visible()
    assert page.locator("#heatmap .heat-cell.heat-red").count() >= 1
    screenshot(page, "01-dashboard")
    assert_accessible(page)
    page.click('a.heat-link[data-level="government"][data-dimension="political"]')
    page.wait_for_load_state("networkidle")
    assert re.search(r"level=government", page.url) and "dimension=political" in page.url
    assert page.locator("#filter-level").input_value() == "government"
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 1 and "青岛市" in rows.first.inner_text()
    screenshot(page, "02-alert-list")
    assert_accessible(page)


def test_alert_chart_is_drawn_and_the_alert_acknowledged_with_a_note(
    page: Any, live_server: LiveServer
) -> None:
    log_in(page, "otto")
    page.goto(f"/alerts/{live_server.world.alerts['firms']}")
    page.wait_for_selector("#score-chart canvas")
    page.wait_for_function(f"({CHART_POINTS})('score-chart') > 0")
    assert page.evaluate(CHART_POINTS, "score-chart") == 5  # five yearly changes
    assert page.evaluate(CHART_POINTS, "observed-chart") == 6
    screenshot(page, "03-alert-detail")
    assert_accessible(page)
    page.fill("#acknowledge-note", "已联系潍坊市工信局核实")
    page.click("form[action$='/acknowledge'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    body = page.locator("main").inner_text()
    assert "已联系潍坊市工信局核实" in body and "otto" in body
    assert page.locator("form[action$='/acknowledge']").count() == 0


def test_threshold_preview_changes_before_saving_and_the_change_is_audited(
    page: Any, live_server: LiveServer
) -> None:
    log_in(page, "ada")
    threshold_id = live_server.world.thresholds["industry_economic"]
    page.goto(f"/thresholds/{threshold_id}/edit")
    proposed = page.locator("#preview-proposed-total")
    assert proposed.inner_text() == "2"
    screenshot(page, "04-threshold-edit")
    assert_accessible(page)
    page.fill("#min_periods", "2")
    page.wait_for_function("document.getElementById('preview-proposed-total').textContent === '0'")
    assert page.locator("#preview-current-total").inner_text() == "2"
    screenshot(page, "05-threshold-preview")
    page.fill("#threshold-reason", "两期连续才预警，减少孤立波动")
    page.click("#threshold-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/thresholds/")
    page.goto("/thresholds/audit")
    log = page.locator("table.audit-log").inner_text()
    assert "两期连续才预警，减少孤立波动" in log and "ada" in log and "1 → 2" in log
    screenshot(page, "06-audit-log")
    assert_accessible(page)


def test_language_switches_to_english_is_remembered_and_switches_back(page: Any) -> None:
    log_in(page, "vera")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("button[name=locale][value=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").first.inner_text() == "Overview"
    page.goto("/stages/")
    assert page.locator("h1").first.inner_text() == "Resilience stages"
    screenshot(page, "07-stages-en")
    assert_accessible(page)
    page.click("button[name=locale][value=zh_CN]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").first.inner_text() == "韧性阶段"


def test_a_viewer_is_refused_a_threshold_change(page: Any, live_server: LiveServer) -> None:
    log_in(page, "vera")
    page.goto("/thresholds/")
    assert page.locator("a[href$='/edit']").count() == 0
    screenshot(page, "08-thresholds-viewer")
    assert_accessible(page)
    threshold_id = live_server.world.thresholds["industry_economic"]
    response = page.goto(f"/thresholds/{threshold_id}/edit")
    assert response.status == 403
    screenshot(page, "09-threshold-refused")


def test_pages_fit_a_phone_screen(page: Any) -> None:
    log_in(page, "vera")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the phone screen"
    screenshot(page, "10-dashboard-phone")


@pytest.mark.parametrize(
    ("user", "path", "name"),
    [
        ("vera", "/entities/WF-POWER", "11-entity"),
        ("vera", "/stages/", "12-stages"),
        ("otto", "/sources/", "13-sources"),
        ("ada", "/users/", "14-users"),
        ("ada", "/channels/", "15-channels"),
        ("ada", "/thresholds/", "16-thresholds-admin"),
        ("otto", "/episodes/", "17-episodes"),
        ("vera", "/tokens/", "18-tokens"),
        ("otto", "/channels/dead", "19-dead-letters"),
        ("ada", "/alerting/", "20-alerting-rules"),
    ],
)
def test_every_page_renders_without_serious_accessibility_violations(
    page: Any, user: str, path: str, name: str
) -> None:
    log_in(page, user)
    response = page.goto(path)
    assert response.status == 200
    assert page.locator("h1").count() == 1
    screenshot(page, name)
    assert_accessible(page)


def test_tables_are_reachable_with_the_keyboard(page: Any) -> None:
    log_in(page, "otto")
    page.goto("/alerts/")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('table.data') !== null"):
            break
    assert page.evaluate("document.activeElement.closest('table.data') !== null")
