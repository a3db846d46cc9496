from __future__ import annotations

from datetime import date

from alerts.messages import build_message, render, render_markdown
from alerts.notices import digest_of, notice_of
from alerts.playbooks import set_playbook
from monitor.records import AlertEvent, Channel, Observation, Score, Threshold

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


def test_resolved_notice_carries_duration_and_worst_colour(database, seed_alert, now):
    with database.session() as session:
        alert, _opened = seed_alert(session, severity="orange")
        alert.worst_severity = "red"
        alert.status = "resolved"
        alert.last_period = date(2024, 7, 1)  # the last month it warned
        alert.resolved_period = date(2024, 8, 1)  # the first month back to normal
        alert.resolved_at = now
        resolved = AlertEvent(
            alert=alert, kind="resolved", at=now, period=date(2024, 8, 1), from_severity="orange"
        )
        session.add(resolved)
        session.flush()
        zh = build_message((alert, resolved), base_url=BASE, locale="zh_CN")
        en = build_message((alert, resolved), base_url=BASE, locale="en")

    assert "持续：2024年5月至2024年7月（3期）" in zh.text
    assert "最高级别：红色" in zh.text
    assert "Lasted: May 2024 to Jul 2024 (3 periods)" in en.text
    assert "Worst colour: red" in en.text
    assert "Worst colour" in en.html and "Worst colour" in en.markdown


def test_message_carries_the_charts_key_numbers_and_the_playbook(database, seed_alert, now):
    with database.session() as session:
        alert, event = seed_alert(session)
        session.add(
            Threshold(
                model="threshold",
                level="government",
                dimension="economic",
                blue=0.0,
                yellow=-1.0,
                orange=-2.0,
                red=-3.0,
                clear=0.5,
            )
        )
        for month, score in ((3, 0.4), (4, -1.5), (5, -3.2)):
            session.add(
                Score(
                    indicator_id=alert.indicator_id,
                    entity_id=alert.entity_id,
                    model="threshold",
                    period=date(2024, month, 1),
                    score=score,
                )
            )
        session.add(
            Observation(
                indicator_id=alert.indicator_id,
                entity_id=alert.entity_id,
                period=date(2024, 5, 1),
                value=812.5,
            )
        )
        set_playbook(
            session,
            dimension="economic",
            level="government",
            text_zh="联系市工信局，核查重点企业开工率。",
            text_en="Call the city industry bureau; check key firms' utilisation.",
            actor="admin",
        )
        message = build_message((alert, event), base_url=BASE, locale="zh_CN")
        english = build_message((alert, event), base_url=BASE, locale="en")

    assert "近期数值：2024年3月 0.4% · 2024年4月 -1.5% · 2024年5月 -3.2%" in message.text
    assert "阈值：蓝色 0% · 黄色 -1% · 橙色 -2% · 红色 -3%（解除线 0.5%）" in message.text
    assert "本期报告值：812.5%" in message.text
    assert "应对预案：\n联系市工信局，核查重点企业开工率。" in message.text
    assert "联系市工信局" in message.html and "联系市工信局" in message.markdown
    assert "Playbook: \nCall the city industry bureau" in english.text


def _group(database, seed_alert, count: int, locale: str = "zh_CN"):
    with database.session() as session:
        channel = Channel(kind="email", target="ops@example.cn", name="ops", locale=locale)
        session.add(channel)
        notices = []
        for number in range(count):
            alert, event = seed_alert(
                session,
                level="enterprise",
                entity_code=f"firm-{number:03d}",
                entity_name_zh=f"企业{number}",
                entity_name_en=f"Firm {number}",
                severity="red" if number == 0 else "yellow",
            )
            notices.append(notice_of(alert, event, session=session))
        return digest_of(
            session,
            notices,
            channel=channel,
            group_key="enterprise|economic|entity:0",
            base_url=BASE,
        )


def test_a_group_message_lists_every_alert_under_one_headline(database, seed_alert):
    digest = _group(database, seed_alert, 12)

    message = render(digest)

    assert message.subject.startswith("[红色预警] 12条 · 企业 · 经济 — ")
    assert "12条企业层级经济维度预警" in message.text
    assert message.text.count("http://console.example/alerts/") == 13  # 12 alerts + the list
    assert "1. [红色] 企业0 · 工业增加值同比 · 2024年5月 · -3.2%（越过阈值 -2%） · 新预警" in (
        message.text
    )
    assert message.html.count("<li>") == 12


def test_a_long_group_is_cut_to_the_robots_size_with_a_pointer_to_the_rest(database, seed_alert):
    digest = _group(database, seed_alert, 40)

    markdown = render_markdown(digest, max_bytes=4096)

    assert len(markdown.encode("utf-8")) <= 4096
    assert "另有" in markdown and "条预警，请在控制台查看" in markdown
    assert "企业0" in markdown  # the worst (red) comes first
