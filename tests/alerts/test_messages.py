from __future__ import annotations

import json
from datetime import date

from alerts.messages import build_message
from alerts.outbox import enqueue
from monitor.records import AlertEvent, Channel

BASE = "http://console.example/"


def test_chinese_subject_names_colour_entity_indicator_and_dimension(database, seed_alert):
    with database.session() as session:
        alert, event = seed_alert(session)
        message = build_message((alert, event), base_url=BASE, locale="zh_CN")

    assert message.subject == "[红色预警] 潍坊市 · 工业增加值同比 — 经济"


def test_english_subject_names_colour_entity_indicator_and_dimension(database, seed_alert):
    with database.session() as session:
        alert, event = seed_alert(session)
        message = build_message((alert, event), base_url=BASE, locale="en")

    assert message.subject == "[RED] Weifang · Industrial value added YoY — economic"


def test_text_body_lists_the_facts_of_the_alert(database, seed_alert):
    with database.session() as session:
        alert, event = seed_alert(session)
        zh = build_message((alert, event), base_url=BASE, locale="zh_CN").text
        en = build_message((alert, event), base_url=BASE, locale="en").text

    assert "主体：潍坊市（政府）" in zh
    assert "指标：工业增加值同比（经济 · 月度 · 单位 %）" in zh
    assert "期间：2024年5月" in zh
    assert "数值：-3.2%" in zh
    assert "越过阈值：-2%" in zh
    assert "模型：阈值模型" in zh
    assert "事件：新预警" in zh
    assert "状态：预警中" in zh
    assert "首次预警时间：2024-07-01 15:55（北京时间）" in zh  # 07:55 UTC
    assert f"详情：http://console.example/alerts/{alert.id}" in zh
    assert "Entity: Weifang (government)" in en
    assert "Indicator: Industrial value added YoY (economic · monthly · unit %)" in en
    assert "Period: May 2024" in en
    assert "Threshold crossed: -2%" in en
    assert "Opened at: 2024-07-01 15:55 (Beijing time)" in en
    assert f"Details: http://console.example/alerts/{alert.id}" in en


def test_html_body_escapes_names(database, seed_alert):
    with database.session() as session:
        alert, event = seed_alert(
            session, entity_code="evil", entity_name_zh="<b>甲&乙</b>", entity_name_en="<i>A&B</i>"
        )
        message = build_message((alert, event), base_url=BASE, locale="en")

    assert "<i>" not in message.html
    assert "&lt;i&gt;A&amp;B&lt;/i&gt;" in message.html
    assert f'<a href="http://console.example/alerts/{alert.id}">' in message.html


def test_escalation_and_resolution_have_their_own_subjects(database, seed_alert, now):
    with database.session() as session:
        alert, _opened = seed_alert(session, severity="yellow")
        escalated = AlertEvent(
            alert=alert,
            kind="escalated",
            at=now,
            period=date(2024, 6, 1),
            from_severity="yellow",
            to_severity="orange",
        )
        resolved = AlertEvent(alert=alert, kind="resolved", at=now, from_severity="orange")
        session.add_all([escalated, resolved])
        session.flush()
        up_zh = build_message((alert, escalated), base_url=BASE, locale="zh_CN")
        up_en = build_message((alert, escalated), base_url=BASE, locale="en")
        done_zh = build_message((alert, resolved), base_url=BASE, locale="zh_CN")

    assert up_zh.subject.startswith("[橙色预警 · 升级] ")
    assert up_en.subject.startswith("[ORANGE · escalated] ")
    assert "Period: Jun 2024" in up_en.text
    assert done_zh.subject.startswith("[橙色预警 · 已解除] ")


def test_payload_carries_the_documented_fields(database, seed_alert):
    with database.session() as session:
        channel = Channel(kind="webhook", target="http://h.example/x", name="x")
        session.add(channel)
        alert, event = seed_alert(session)
        (notification,) = enqueue(session, alert, event, [channel])
        payload = build_message(notification, base_url=BASE, locale="zh_CN").payload

    assert payload == {
        "version": "1",
        "idempotency_key": notification.idempotency_key,
        "event": "opened",
        "alert": {
            "id": alert.id,
            "fingerprint": alert.fingerprint,
            "status": "firing",
            "severity": "red",
            "worst_severity": "red",
            "model": "threshold",
            "level": "government",
            "dimension": "economic",
            "period": "2024-05-01",
            "value": -3.2,
            "threshold": -2.0,
            "opened_at": "2024-07-01T07:55:00Z",
            "url": f"http://console.example/alerts/{alert.id}",
            "entity": {
                "code": "weifang",
                "name_zh": "潍坊市",
                "name_en": "Weifang",
                "level": "government",
            },
            "indicator": {
                "code": "industrial_va_yoy",
                "name_zh": "工业增加值同比",
                "name_en": "Industrial value added YoY",
                "dimension": "economic",
                "frequency": "M",
                "unit": "%",
            },
        },
    }
    assert json.loads(json.dumps(payload)) == payload


def test_preview_payload_has_no_idempotency_key(database, seed_alert):
    with database.session() as session:
        alert, event = seed_alert(session)
        payload = build_message((alert, event), base_url=BASE, locale="en").payload

    assert payload["idempotency_key"] is None
