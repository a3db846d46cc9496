"""The response workflow: acknowledge with an assignee, assign, note, resolve, summarise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.errors import AlertError
from alerts.playbooks import list_playbooks, playbook_for, set_playbook
from alerts.workflow import acknowledge, add_note, assign, resolution_summary, resolve


def test_acknowledging_names_the_assignee_and_keeps_the_response_note(database, seed_alert, now):
    with database.session() as session:
        alert, _opened = seed_alert(session)
        event = acknowledge(
            session, alert, actor="王科长", assignee="李工", note="已联系市工信局", now=now
        )

    assert (alert.status, alert.assignee, alert.response_note) == (
        "acknowledged",
        "李工",
        "已联系市工信局",
    )
    assert (alert.acknowledged_by, alert.acknowledged_at) == ("王科长", now)
    assert (event.kind, event.actor, event.cause, event.to_status) == (
        "acknowledged",
        "王科长",
        "staff",
        "acknowledged",
    )


def test_the_acknowledger_is_the_assignee_by_default(database, seed_alert, now):
    with database.session() as session:
        alert, _opened = seed_alert(session)
        acknowledge(session, alert, actor="analyst", now=now)

    assert alert.assignee == "analyst"


def test_only_a_firing_alert_can_be_acknowledged(database, seed_alert, now):
    with database.session() as session:
        alert, _opened = seed_alert(session)
        alert.status = "pending"
        with pytest.raises(AlertError, match="only a firing alert"):
            acknowledge(session, alert, actor="analyst", now=now)


def test_assign_and_notes_record_the_response(database, seed_alert, now):
    with database.session() as session:
        alert, _opened = seed_alert(session)
        handed = assign(session, alert, assignee="张三", actor="王科长", now=now)
        noted = add_note(session, alert, actor="张三", note="企业复工率回升", now=now)
        with pytest.raises(AlertError):
            add_note(session, alert, actor="张三", note=" ")

    assert alert.assignee == "张三"
    assert (handed.kind, handed.note) == ("assigned", "assigned to 张三")
    assert (noted.kind, alert.response_note) == ("note", "企业复工率回升")


def test_the_resolution_summary_tells_the_whole_story(database, seed_alert, now):
    with database.session() as session:
        alert, _opened = seed_alert(session, severity="yellow")
        alert.worst_severity = "red"
        session.add_all(
            [
                type(_opened)(alert=alert, kind="escalated", at=now, to_severity="orange"),
                type(_opened)(alert=alert, kind="escalated", at=now, to_severity="red"),
            ]
        )
        acknowledge(
            session,
            alert,
            actor="a",
            assignee="b",
            note="排查中",
            now=alert.opened_at + timedelta(hours=2),
        )
        resolve(
            session,
            alert,
            actor="b",
            note="订单恢复，风险解除",
            now=alert.opened_at + timedelta(hours=30),
        )
        session.flush()
        summary = resolution_summary(alert)
        with pytest.raises(AlertError, match="already resolved"):
            resolve(session, alert, actor="b")

    assert summary.status == "resolved"
    assert (summary.worst_severity, summary.escalations) == ("red", 2)
    assert (summary.assignee, summary.response_note) == ("b", "排查中")
    assert (summary.resolved_by, summary.resolution_note) == ("b", "订单恢复，风险解除")
    assert (summary.time_to_acknowledge, summary.time_to_resolve) == (2.0, 30.0)


def test_playbooks_are_per_dimension_and_level_and_attach_to_alerts(database, seed_alert):
    with database.session() as session:
        alert, _opened = seed_alert(session, level="government", dimension="economic")
        set_playbook(session, dimension="economic", level="government", text_zh="旧", actor="a")
        set_playbook(
            session,
            dimension="economic",
            level="government",
            text_zh="新预案",
            text_en="New playbook",
            actor="admin",
        )
        set_playbook(session, dimension="trade", level="government", text_zh="贸易", actor="a")
        attached = playbook_for(session, alert)
        with pytest.raises(AlertError):
            set_playbook(session, dimension="weather", level="government", text_zh="x", actor="a")
        with pytest.raises(AlertError, match="needs a text"):
            set_playbook(session, dimension="trade", level="industry", text_zh=" ", actor="a")
        count = len(list_playbooks(session))

    assert (attached.text("zh_CN"), attached.text("en"), attached.updated_by) == (
        "新预案",
        "New playbook",
        "admin",
    )
    assert count == 2
