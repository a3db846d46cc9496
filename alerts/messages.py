"""What a notification says: subject, plain text, HTML and the webhook JSON of one alert event.

All wording lives in ``WORDING`` (zh_CN first, then en); the console has its own
Flask-Babel catalogue, messages sent from the scheduler do not depend on Flask.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.records import Alert, AlertEvent, Notification

PAYLOAD_VERSION = "1"
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
SEVERITY_COLOURS = {"blue": "#1e6fd9", "yellow": "#d4a600", "orange": "#f07c00", "red": "#d7263d"}
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

WORDING: dict[str, dict[str, Any]] = {
    "zh_CN": {
        "html_lang": "zh-CN",
        "colon": "：",
        "aside": "{main}（{note}）",
        "severity": {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"},
        "level": {"government": "政府", "industry": "产业", "enterprise": "企业"},
        "dimension": {
            "political": "政治",
            "economic": "经济",
            "trade": "贸易",
            "environmental": "环境",
            "technology": "技术",
        },
        "frequency": {"M": "月度", "Q": "季度", "A": "年度"},
        "period": {"M": "{year}年{month}月", "Q": "{year}年第{quarter}季度", "A": "{year}年"},
        "model": {"threshold": "阈值模型", "robust_z": "稳健Z分数模型"},
        "status": {"firing": "预警中", "acknowledged": "已确认", "resolved": "已解除"},
        "event": {
            "opened": "新预警",
            "escalated": "预警升级",
            "deescalated": "预警降级",
            "acknowledged": "已确认",
            "resolved": "预警解除",
            "note": "备注",
        },
        "subject": {
            "opened": "[{severity}预警]",
            "escalated": "[{severity}预警 · 升级]",
            "resolved": "[{severity}预警 · 已解除]",
            "other": "[{severity}预警 · {event}]",
        },
        "headline": {
            "opened": "{entity}的{indicator}出现{severity}预警。",
            "escalated": "{entity}的{indicator}预警升级为{severity}。",
            "resolved": "{entity}的{indicator}{severity}预警已解除。",
            "other": "{entity}的{indicator}{severity}预警：{event}。",
        },
        "labels": {
            "entity": "主体",
            "indicator": "指标",
            "period": "期间",
            "value": "数值",
            "threshold": "越过阈值",
            "model": "模型",
            "event": "事件",
            "status": "状态",
            "opened_at": "首次预警时间",
            "event_at": "事件时间",
            "link": "详情",
        },
        "unit": "单位",
        "local_time": "{time}（北京时间）",
        "open_link": "在控制台查看此预警",
    },
    "en": {
        "html_lang": "en",
        "colon": ": ",
        "aside": "{main} ({note})",
        "severity": {"blue": "blue", "yellow": "yellow", "orange": "orange", "red": "red"},
        "level": {"government": "government", "industry": "industry", "enterprise": "enterprise"},
        "dimension": {
            "political": "political",
            "economic": "economic",
            "trade": "trade",
            "environmental": "environmental",
            "technology": "technology",
        },
        "frequency": {"M": "monthly", "Q": "quarterly", "A": "annual"},
        "period": {"M": "{month_name} {year}", "Q": "{year} Q{quarter}", "A": "{year}"},
        "model": {"threshold": "threshold model", "robust_z": "robust z-score model"},
        "status": {"firing": "firing", "acknowledged": "acknowledged", "resolved": "resolved"},
        "event": {
            "opened": "opened",
            "escalated": "escalated",
            "deescalated": "de-escalated",
            "acknowledged": "acknowledged",
            "resolved": "resolved",
            "note": "note",
        },
        "subject": {
            "opened": "[{SEVERITY}]",
            "escalated": "[{SEVERITY} · escalated]",
            "resolved": "[{SEVERITY} · resolved]",
            "other": "[{SEVERITY} · {event}]",
        },
        "headline": {
            "opened": "{severity_title} warning on {indicator} for {entity}.",
            "escalated": "The warning on {indicator} for {entity} escalated to {severity}.",
            "resolved": "The {severity} warning on {indicator} for {entity} is resolved.",
            "other": "{severity_title} warning on {indicator} for {entity}: {event}.",
        },
        "labels": {
            "entity": "Entity",
            "indicator": "Indicator",
            "period": "Period",
            "value": "Value",
            "threshold": "Threshold crossed",
            "model": "Model",
            "event": "Event",
            "status": "Status",
            "opened_at": "Opened at",
            "event_at": "Event at",
            "link": "Details",
        },
        "unit": "unit",
        "local_time": "{time} (Beijing time)",
        "open_link": "Open this alert in the console",
    },
}


@dataclass(frozen=True)
class AlertMessage:
    """One rendered notice: an email's subject and bodies, and the webhook's JSON payload."""

    subject: str
    text: str
    html: str
    payload: dict[str, Any]


def wording_for(locale: str) -> dict[str, Any]:
    """The wording table of ``locale``: English for any ``en*``, otherwise Chinese."""
    return WORDING["en"] if locale.lower().startswith("en") else WORDING["zh_CN"]


def build_message(
    source: Notification | tuple[Alert, AlertEvent], *, base_url: str, locale: str
) -> AlertMessage:
    """Render the notice of one alert event in ``locale``.

    ``source`` is a queued notification, or an (alert, event) pair for a preview; a
    pair has no idempotency key, so its payload carries ``None`` there.
    """
    if isinstance(source, Notification):
        alert, event, key = source.alert, source.event, source.idempotency_key
    else:
        (alert, event), key = source, None
    words = wording_for(locale)
    url = f"{base_url.rstrip('/')}/alerts/{alert.id}"
    severity = _event_severity(alert, event)
    names = {
        "entity": alert.entity.name(locale),
        "indicator": alert.indicator.name(locale),
        "severity": _word(words, "severity", severity),
        "SEVERITY": _word(words, "severity", severity).upper(),
        "severity_title": _word(words, "severity", severity).capitalize(),
        "event": _word(words, "event", event.kind),
    }
    subject_kind = event.kind if event.kind in words["subject"] else "other"
    subject = (
        f"{words['subject'][subject_kind].format(**names)} {names['entity']} · "
        f"{names['indicator']} — {_word(words, 'dimension', alert.dimension)}"
    )
    headline = words["headline"][subject_kind].format(**names)
    fields = _fields(words, alert, event, locale=locale)
    return AlertMessage(
        subject=subject,
        text=_text(words, headline, fields, url),
        html=_html(words, subject, headline, fields, url, colour=SEVERITY_COLOURS.get(severity)),
        payload=build_payload(alert, event, idempotency_key=key, url=url),
    )


def build_payload(
    alert: Alert, event: AlertEvent, *, idempotency_key: str | None, url: str
) -> dict[str, Any]:
    """The webhook JSON body (version 1) of one alert event."""
    entity, indicator = alert.entity, alert.indicator
    return {
        "version": PAYLOAD_VERSION,
        "idempotency_key": idempotency_key,
        "event": event.kind,
        "alert": {
            "id": alert.id,
            "fingerprint": alert.fingerprint,
            "status": alert.status,
            "severity": alert.severity,
            "worst_severity": alert.worst_severity,
            "model": alert.model,
            "level": alert.level,
            "dimension": alert.dimension,
            "period": alert.period.isoformat(),
            "value": alert.value,
            "threshold": alert.threshold,
            "opened_at": _iso_utc(alert.opened_at),
            "url": url,
            "entity": {
                "code": entity.code,
                "name_zh": entity.name_zh,
                "name_en": entity.name_en,
                "level": entity.level,
            },
            "indicator": {
                "code": indicator.code,
                "name_zh": indicator.name_zh,
                "name_en": indicator.name_en,
                "dimension": indicator.dimension,
                "frequency": indicator.frequency,
                "unit": indicator.unit,
            },
        },
    }


def _event_severity(alert: Alert, event: AlertEvent) -> str:
    """The colour the event is about: what it moved to, or (resolved) what it left."""
    return event.to_severity or event.from_severity or alert.severity


def _fields(
    words: dict[str, Any], alert: Alert, event: AlertEvent, *, locale: str
) -> list[tuple[str, str]]:
    entity, indicator = alert.entity, alert.indicator
    labels, aside = words["labels"], words["aside"]
    indicator_facts = [
        _word(words, "dimension", indicator.dimension),
        _word(words, "frequency", indicator.frequency),
    ]
    if indicator.unit:
        indicator_facts.append(f"{words['unit']} {indicator.unit}")
    value = event.value if event.value is not None else alert.value
    opened_at = words["local_time"].format(time=_local(alert.opened_at))
    fields = [
        (
            labels["entity"],
            aside.format(main=entity.name(locale), note=_word(words, "level", entity.level)),
        ),
        (
            labels["indicator"],
            aside.format(main=indicator.name(locale), note=" · ".join(indicator_facts)),
        ),
        (labels["period"], _period(words, event.period or alert.period, indicator.frequency)),
        (labels["value"], _quantity(value, indicator.unit)),
        (labels["threshold"], _quantity(alert.threshold, indicator.unit)),
        (labels["model"], _word(words, "model", alert.model)),
        (labels["event"], _word(words, "event", event.kind)),
        (labels["status"], _word(words, "status", alert.status)),
        (labels["opened_at"], opened_at),
    ]
    if event.at is not None and event.at != alert.opened_at:
        fields.append((labels["event_at"], words["local_time"].format(time=_local(event.at))))
    return fields


def _text(words: dict[str, Any], headline: str, fields: list[tuple[str, str]], url: str) -> str:
    lines = [headline, ""]
    lines += [f"{label}{words['colon']}{value}" for label, value in fields]
    lines.append(f"{words['labels']['link']}{words['colon']}{url}")
    return "\n".join(lines) + "\n"


def _html(
    words: dict[str, Any],
    subject: str,
    headline: str,
    fields: list[tuple[str, str]],
    url: str,
    *,
    colour: str | None,
) -> str:
    e = html.escape
    rows = "\n".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th>'
        f"<td>{e(value)}</td></tr>"
        for label, value in fields
    )
    border = f"border-left:6px solid {colour};padding-left:8px" if colour else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{words["html_lang"]}"><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>\n"
        '<body style="font-family:sans-serif">\n'
        f'<p style="{border}"><strong>{e(headline)}</strong></p>\n'
        f"<table>\n{rows}\n</table>\n"
        f'<p><a href="{e(url, quote=True)}">{e(words["open_link"])}</a></p>\n'
        "</body></html>\n"
    )


def _word(words: dict[str, Any], table: str, code: str) -> str:
    """A code's word in ``table``, or the code itself when the table lacks it."""
    return str(words[table].get(code, code))


def _period(words: dict[str, Any], period: date, frequency: str) -> str:
    template = words["period"].get(frequency)
    if template is None:
        return period.isoformat()
    return template.format(
        year=period.year,
        month=period.month,
        quarter=(period.month - 1) // 3 + 1,
        month_name=EN_MONTHS[period.month - 1],
    )


def _quantity(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    number = f"{value:,.4f}".rstrip("0").rstrip(".")
    if number in {"-0", ""}:
        number = "0"
    if not unit:
        return number
    return f"{number}{unit}" if unit in {"%", "‰"} else f"{number} {unit}"


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
