"""What a message says: subject, plain text, HTML and Markdown of a ``Digest``.

A digest of one notice reads like a letter about that alert (its facts, the chart's
key numbers, the playbook, a link); a digest of many (a shock across the firms of a
cluster) lists one line per alert under one headline. All wording lives in
``WORDING`` (zh_CN first, then en); the console has its own Flask-Babel catalogue,
messages sent from the scheduler do not depend on Flask.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.notices import Digest, KeyNumbers, Notice, notice_of
from monitor.records import Alert, AlertEvent, Notification
from monitor.vocabulary import SOURCE_LATE_MODEL, STALE_DATA_MODEL

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
SEVERITY_COLOURS = {"blue": "#1e6fd9", "yellow": "#d4a600", "orange": "#f07c00", "red": "#d7263d"}
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SUBJECT_KINDS = ("opened", "confirmed", "escalated", "resolved", "stale", "settled", "repeated")
#: How the events of a stale-data alert read: its colour says how long data is overdue.
DATA_DELIVERY_KINDS = {
    "opened": "data_missing",
    "escalated": "data_missing",
    "repeated": "data_missing",
    "resolved": "data_resumed",
}
#: How the events of a source alert read.
SOURCE_KINDS = {"opened": "source_late", "escalated": "source_late", "resolved": "source_resumed"}

WORDING: dict[str, dict[str, Any]] = {
    "zh_CN": {
        "html_lang": "zh-CN",
        "colon": "：",
        "aside": "{main}（{note}）",
        "list_sep": "、",
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
        "model": {
            "threshold": "阈值模型",
            "robust_z": "稳健Z分数模型",
            "stage": "阶段变化",
            "stale_data": "数据报送监测",
        },
        "missed_periods": "{count}期未报送",
        "allowance": "允许{count}期",
        "source": {
            "source": "数据源",
            "schedule": "运行计划",
            "due": "应运行时间",
            "last_success": "上次成功",
            "overdue": "逾期",
            "hours": "{count}小时",
            "never": "从未成功",
        },
        "status": {
            "pending": "待确认",
            "firing": "预警中",
            "acknowledged": "已确认",
            "stale": "数据中断",
            "resolved": "已解除",
        },
        "event": {
            "opened": "新预警",
            "confirmed": "预警确认",
            "escalated": "预警升级",
            "deescalated": "预警降级",
            "acknowledged": "已确认",
            "assigned": "已指派",
            "resolved": "预警解除",
            "stale": "数据中断",
            "refreshed": "数据恢复",
            "flapping": "反复波动",
            "settled": "恢复稳定",
            "repeated": "未处理提醒",
            "note": "备注",
        },
        "subject": {
            "opened": "[{severity}预警]",
            "confirmed": "[{severity}预警]",
            "escalated": "[{severity}预警 · 升级]",
            "resolved": "[{severity}预警 · 已解除]",
            "stale": "[{severity}预警 · 数据中断]",
            "data_missing": "[{severity}预警 · 数据未报送]",
            "data_resumed": "[数据恢复报送]",
            "source_late": "[{severity}预警 · 数据源逾期]",
            "source_resumed": "[数据源恢复]",
            "settled": "[{severity}预警 · 恢复稳定]",
            "repeated": "[{severity}预警 · 提醒]",
            "other": "[{severity}预警 · {event}]",
            "group": "[{severity}预警] {count}条",
            "test": "[测试]",
        },
        "headline": {
            "opened": "{entity}的{indicator}出现{severity}预警。",
            "confirmed": "{entity}的{indicator}出现{severity}预警（连续越限，已确认）。",
            "escalated": "{entity}的{indicator}预警升级为{severity}。",
            "resolved": "{entity}的{indicator}{severity}预警已解除。",
            "stale": "{entity}的{indicator}已停止报送数据，{severity}预警无法更新。",
            "data_missing": "{entity}的{indicator}逾期未报送数据（{severity}预警）。",
            "data_resumed": "{entity}的{indicator}已恢复报送数据。",
            "source_late": "数据源“{entity}”应于{due}运行，至今没有成功的采集（{severity}预警）。",
            "source_resumed": "数据源“{entity}”已恢复，最近一次采集成功。",
            "settled": "{entity}的{indicator}预警不再反复波动，当前状态：{status}。",
            "repeated": "{entity}的{indicator}{severity}预警仍未确认处理。",
            "other": "{entity}的{indicator}{severity}预警：{event}。",
            "group": "{scope}：{count}条{level}层级{dimension}维度预警。",
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
            "lasted": "持续",
            "worst": "最高级别",
            "assignee": "负责人",
            "response": "应对记录",
            "recent": "近期数值",
            "cutoffs": "阈值",
            "observed": "本期报告值",
            "playbook": "应对预案",
        },
        "lasted": "{first}至{last}（{count}期）",
        "lasted_short": "持续{count}期，最高级别{worst}",
        "clear": "解除线 {value}",
        "more": "另有{count}条预警，请在控制台查看：{url}",
        "unit": "单位",
        "local_time": "{time}（北京时间）",
        "open_link": "在控制台查看此预警",
        "open_list": "在控制台查看全部",
        "test_note": "这是一条 ClusterWatch 测试消息，用于检查通道“{channel}”能否送达，无需处理。",
    },
    "en": {
        "html_lang": "en",
        "colon": ": ",
        "aside": "{main} ({note})",
        "list_sep": ", ",
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
        "model": {
            "threshold": "threshold model",
            "robust_z": "robust z-score model",
            "stage": "stage change",
            "stale_data": "data delivery check",
        },
        "missed_periods": "{count} periods missed",
        "allowance": "{count} periods allowed",
        "source": {
            "source": "Source",
            "schedule": "Schedule",
            "due": "Due at",
            "last_success": "Last success",
            "overdue": "Overdue",
            "hours": "{count} hours",
            "never": "never",
        },
        "status": {
            "pending": "pending confirmation",
            "firing": "firing",
            "acknowledged": "acknowledged",
            "stale": "no data",
            "resolved": "resolved",
        },
        "event": {
            "opened": "opened",
            "confirmed": "confirmed",
            "escalated": "escalated",
            "deescalated": "de-escalated",
            "acknowledged": "acknowledged",
            "assigned": "assigned",
            "resolved": "resolved",
            "stale": "data stopped",
            "refreshed": "data resumed",
            "flapping": "flapping",
            "settled": "settled",
            "repeated": "reminder",
            "note": "note",
        },
        "subject": {
            "opened": "[{SEVERITY}]",
            "confirmed": "[{SEVERITY}]",
            "escalated": "[{SEVERITY} · escalated]",
            "resolved": "[{SEVERITY} · resolved]",
            "stale": "[{SEVERITY} · no data]",
            "data_missing": "[{SEVERITY} · data overdue]",
            "data_resumed": "[data resumed]",
            "source_late": "[{SEVERITY} · source overdue]",
            "source_resumed": "[source resumed]",
            "settled": "[{SEVERITY} · settled]",
            "repeated": "[{SEVERITY} · reminder]",
            "other": "[{SEVERITY} · {event}]",
            "group": "[{SEVERITY}] {count} warnings",
            "test": "[TEST]",
        },
        "headline": {
            "opened": "{severity_title} warning on {indicator} for {entity}.",
            "confirmed": "{severity_title} warning on {indicator} for {entity} "
            "(confirmed by consecutive breaches).",
            "escalated": "The warning on {indicator} for {entity} escalated to {severity}.",
            "resolved": "The {severity} warning on {indicator} for {entity} is resolved.",
            "stale": "{indicator} for {entity} stopped arriving; "
            "the {severity} warning cannot be updated.",
            "data_missing": "{indicator} for {entity} is overdue ({severity} warning).",
            "data_resumed": "{indicator} for {entity} is arriving again.",
            "source_late": "Source “{entity}” was due to run at {due} and has not run "
            "successfully since ({severity} warning).",
            "source_resumed": "Source “{entity}” is running again: its latest pull succeeded.",
            "settled": "The warning on {indicator} for {entity} stopped flapping; "
            "it is now {status}.",
            "repeated": "The {severity} warning on {indicator} for {entity} "
            "is still unacknowledged.",
            "other": "{severity_title} warning on {indicator} for {entity}: {event}.",
            "group": "{scope}: {count} {level}-level {dimension} warnings.",
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
            "lasted": "Lasted",
            "worst": "Worst colour",
            "assignee": "Assignee",
            "response": "Response",
            "recent": "Recent values",
            "cutoffs": "Cut-offs",
            "observed": "Reported value",
            "playbook": "Playbook",
        },
        "lasted": "{first} to {last} ({count} periods)",
        "lasted_short": "lasted {count} periods, worst {worst}",
        "clear": "clears at {value}",
        "more": "{count} more warnings in the console: {url}",
        "unit": "unit",
        "local_time": "{time} (Beijing time)",
        "open_link": "Open this alert in the console",
        "open_list": "Open them all in the console",
        "test_note": "This is a ClusterWatch test message checking that channel "
        "“{channel}” delivers; no action is needed.",
    },
}


@dataclass(frozen=True)
class AlertMessage:
    """One rendered message: an email's subject and bodies, and a chat robot's Markdown."""

    subject: str
    text: str
    html: str
    markdown: str


def wording_for(locale: str) -> dict[str, Any]:
    """The wording table of ``locale``: English for any ``en*``, otherwise Chinese."""
    return WORDING["en"] if locale.lower().startswith("en") else WORDING["zh_CN"]


def render(digest: Digest, *, markdown_bytes: int | None = None) -> AlertMessage:
    """Every rendering of ``digest`` in its channel's locale."""
    return AlertMessage(
        subject=render_subject(digest),
        text=render_text(digest),
        html=render_html(digest),
        markdown=render_markdown(digest, max_bytes=markdown_bytes),
    )


def build_message(
    source: Notification | tuple[Alert, AlertEvent], *, base_url: str, locale: str
) -> AlertMessage:
    """Render the notice of one alert event in ``locale`` (a preview, or one notification)."""
    if isinstance(source, Notification):
        alert, event = source.alert, source.event
    else:
        alert, event = source
    notice = notice_of(alert, event)
    digest = Digest(
        channel_name="",
        channel_kind="email",
        locale=locale,
        group_key=f"{alert.level}|{alert.dimension}|entity:{alert.entity_id}",
        scope_code=notice.entity_code,
        scope_names=notice.entity_names,
        notices=(notice,),
        base_url=base_url,
    )
    return render(digest)


# -- the words of one notice ---------------------------------------------------------


def _word(words: dict[str, Any], table: str, code: str) -> str:
    """A code's word in ``table``, or the code itself when the table lacks it."""
    return str(words[table].get(code, code))


def _names(words: dict[str, Any], notice: Notice, locale: str) -> dict[str, str]:
    severity = _word(words, "severity", notice.severity)
    return {
        "entity": notice.entity_name(locale),
        "indicator": notice.indicator_name(locale),
        "severity": severity,
        "SEVERITY": severity.upper(),
        "severity_title": severity.capitalize(),
        "event": _word(words, "event", notice.event),
        "status": _word(words, "status", notice.status),
        "due": _local_label(words, notice, "due_at"),
    }


def _local_label(words: dict[str, Any], notice: Notice, name: str) -> str:
    """A time kept in the notice's labels (ISO text), in Beijing time; empty if absent."""
    stamp = notice.labels.get(name, "")
    return words["local_time"].format(time=_local(datetime.fromisoformat(stamp))) if stamp else ""


def _kind(notice: Notice) -> str:
    if notice.model == SOURCE_LATE_MODEL:
        return SOURCE_KINDS.get(notice.event, "other")
    if notice.model == STALE_DATA_MODEL and notice.event in DATA_DELIVERY_KINDS:
        return DATA_DELIVERY_KINDS[notice.event]
    return notice.event if notice.event in SUBJECT_KINDS else "other"


def _figures(words: dict[str, Any], notice: Notice) -> tuple[str, str]:
    """The value and the threshold of ``notice`` as the message writes them."""
    if notice.model == STALE_DATA_MODEL:  # periods missed against the periods allowed
        return (
            words["missed_periods"].format(count=_count(notice.value)),
            words["allowance"].format(count=_count(notice.threshold)),
        )
    return _quantity(notice.value, notice.unit), _quantity(notice.threshold, notice.unit)


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def render_subject(digest: Digest) -> str:
    """The subject line (also a robot message's title)."""
    locale, words = digest.locale, wording_for(digest.locale)
    prefix = f"{words['subject']['test']} " if digest.test else ""
    if len(digest.notices) == 1:
        notice = digest.notices[0]
        names = _names(words, notice, locale)
        if notice.model == SOURCE_LATE_MODEL:
            return f"{prefix}{words['subject'][_kind(notice)].format(**names)} {names['entity']}"
        return (
            f"{prefix}{words['subject'][_kind(notice)].format(**names)} {names['entity']} · "
            f"{names['indicator']} — {_word(words, 'dimension', notice.dimension)}"
        )
    severity = _word(words, "severity", digest.worst_severity)
    head = words["subject"]["group"].format(
        severity=severity, SEVERITY=severity.upper(), count=len(digest.notices)
    )
    return (
        f"{prefix}{head} · {_word(words, 'level', digest.level)} · "
        f"{_word(words, 'dimension', digest.dimension)} — {digest.scope_name(locale)}"
    )


def _headline(digest: Digest) -> str:
    words, locale = wording_for(digest.locale), digest.locale
    if len(digest.notices) == 1:
        notice = digest.notices[0]
        return str(words["headline"][_kind(notice)].format(**_names(words, notice, locale)))
    return str(
        words["headline"]["group"].format(
            scope=digest.scope_name(locale),
            count=len(digest.notices),
            level=_word(words, "level", digest.level),
            dimension=_word(words, "dimension", digest.dimension),
        )
    )


def _fields(words: dict[str, Any], notice: Notice, locale: str) -> list[tuple[str, str]]:
    if notice.model == SOURCE_LATE_MODEL:
        return _source_fields(words, notice)
    labels, aside = words["labels"], words["aside"]
    facts = [
        _word(words, "dimension", notice.dimension),
        _word(words, "frequency", notice.frequency),
    ]
    if notice.unit:
        facts.append(f"{words['unit']} {notice.unit}")
    value, threshold = _figures(words, notice)
    fields = [
        (
            labels["entity"],
            aside.format(
                main=notice.entity_name(locale), note=_word(words, "level", notice.entity_level)
            ),
        ),
        (
            labels["indicator"],
            aside.format(main=notice.indicator_name(locale), note=" · ".join(facts)),
        ),
        (
            labels["period"],
            _period(words, notice.event_period or notice.first_period, notice.frequency),
        ),
        (labels["value"], value),
        (labels["threshold"], threshold),
        (labels["model"], _word(words, "model", notice.model)),
        (labels["event"], _word(words, "event", notice.event)),
        (labels["status"], _word(words, "status", notice.status)),
        (labels["opened_at"], words["local_time"].format(time=_local(notice.opened_at))),
    ]
    if notice.event_at != notice.opened_at:
        fields.append(
            (labels["event_at"], words["local_time"].format(time=_local(notice.event_at)))
        )
    if notice.resolved_period is not None:
        fields.append((labels["lasted"], _lasted(words, notice)))
        fields.append((labels["worst"], _word(words, "severity", notice.worst_severity)))
    if notice.assignee:
        fields.append((labels["assignee"], notice.assignee))
    if notice.response_note:
        fields.append((labels["response"], notice.response_note))
    fields += _key_number_fields(words, notice)
    return fields


def _source_fields(words: dict[str, Any], notice: Notice) -> list[tuple[str, str]]:
    """What a source alert's message lists: the source, its schedule, when it was due."""
    names, labels = words["source"], words["labels"]
    hours = "–" if notice.value is None else f"{notice.value:g}"
    return [
        (names["source"], notice.entity_name("zh")),
        (names["schedule"], notice.indicator_name("zh")),
        (names["due"], _local_label(words, notice, "due_at")),
        (names["last_success"], _local_label(words, notice, "last_success") or names["never"]),
        (names["overdue"], names["hours"].format(count=hours)),
        (labels["status"], _word(words, "status", notice.status)),
    ]


def _lasted(words: dict[str, Any], notice: Notice) -> str:
    last = notice.last_period
    return str(
        words["lasted"].format(
            first=_period(words, notice.first_period, notice.frequency),
            last=_period(words, last, notice.frequency),
            count=notice.periods_lasted,
        )
    )


def _key_number_fields(words: dict[str, Any], notice: Notice) -> list[tuple[str, str]]:
    numbers: KeyNumbers | None = notice.key_numbers
    if numbers is None:
        return []
    labels = words["labels"]
    fields: list[tuple[str, str]] = []
    if numbers.recent:
        fields.append(
            (
                labels["recent"],
                " · ".join(
                    f"{_period(words, period, notice.frequency)} "
                    f"{_quantity(value, numbers.score_unit)}"
                    for period, value in numbers.recent
                ),
            )
        )
    if numbers.cutoffs is not None:
        cut = " · ".join(
            f"{_word(words, 'severity', colour)} {_quantity(value, numbers.score_unit)}"
            for colour, value in zip(
                ("blue", "yellow", "orange", "red"), numbers.cutoffs, strict=True
            )
        )
        if numbers.clear is not None:
            clear = words["clear"].format(value=_quantity(numbers.clear, numbers.score_unit))
            cut = words["aside"].format(main=cut, note=clear)
        fields.append((labels["cutoffs"], cut))
    if numbers.observed is not None:
        fields.append((labels["observed"], _quantity(numbers.observed, numbers.observed_unit)))
    return fields


def _item(words: dict[str, Any], notice: Notice, locale: str) -> str:
    """One line of a group message about ``notice``."""
    period = _period(words, notice.event_period or notice.first_period, notice.frequency)
    value, threshold = _figures(words, notice)
    figure = words["aside"].format(main=value, note=f"{words['labels']['threshold']} {threshold}")
    parts = [
        f"[{_word(words, 'severity', notice.severity)}] {notice.entity_name(locale)}",
        notice.indicator_name(locale),
        period,
        figure,
        _word(words, "event", notice.event),
    ]
    if notice.resolved_period is not None:
        parts.append(
            words["lasted_short"].format(
                count=notice.periods_lasted,
                worst=_word(words, "severity", notice.worst_severity),
            )
        )
    return " · ".join(parts)


def _playbooks(digest: Digest) -> list[str]:
    texts: list[str] = []
    for notice in digest.notices:
        text = notice.playbook_text(digest.locale)
        if text and text not in texts:
            texts.append(text)
    return texts


# -- renderings ---------------------------------------------------------------------


def render_text(digest: Digest) -> str:
    """The plain-text body (email, Feishu)."""
    words, locale = wording_for(digest.locale), digest.locale
    colon, labels = words["colon"], words["labels"]
    lines = [_headline(digest)]
    if digest.test:
        lines.append(words["test_note"].format(channel=digest.channel_name))
    lines.append("")
    if len(digest.notices) == 1:
        notice = digest.notices[0]
        lines += [f"{label}{colon}{value}" for label, value in _fields(words, notice, locale)]
        lines.append(f"{labels['link']}{colon}{digest.alert_url(notice)}")
    else:
        for number, notice in enumerate(digest.notices, start=1):
            lines.append(f"{number}. {_item(words, notice, locale)}")
            lines.append(f"   {digest.alert_url(notice)}")
        lines.append("")
        lines.append(f"{words['open_list']}{colon}{digest.list_url}")
    for text in _playbooks(digest):
        lines += ["", f"{labels['playbook']}{colon}", text]
    return "\n".join(lines) + "\n"


def render_html(digest: Digest) -> str:
    """The HTML body of an email."""
    words, locale, e = wording_for(digest.locale), digest.locale, html.escape
    subject, headline = render_subject(digest), _headline(digest)
    colour = SEVERITY_COLOURS.get(digest.worst_severity)
    border = f"border-left:6px solid {colour};padding-left:8px" if colour else ""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{words["html_lang"]}"><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>",
        '<body style="font-family:sans-serif">',
        f'<p style="{border}"><strong>{e(headline)}</strong></p>',
    ]
    if digest.test:
        parts.append(f"<p><em>{e(words['test_note'].format(channel=digest.channel_name))}</em></p>")
    if len(digest.notices) == 1:
        notice = digest.notices[0]
        rows = "\n".join(
            f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th>'
            f"<td>{e(value)}</td></tr>"
            for label, value in _fields(words, notice, locale)
        )
        parts.append(f"<table>\n{rows}\n</table>")
        link = e(digest.alert_url(notice), quote=True)
        parts.append(f'<p><a href="{link}">{e(words["open_link"])}</a></p>')
    else:
        items = "\n".join(
            f'<li><a href="{e(digest.alert_url(n), quote=True)}">{e(_item(words, n, locale))}</a>'
            "</li>"
            for n in digest.notices
        )
        parts.append(f"<ol>\n{items}\n</ol>")
        parts.append(
            f'<p><a href="{e(digest.list_url, quote=True)}">{e(words["open_list"])}</a></p>'
        )
    for text in _playbooks(digest):
        parts.append(f"<h4>{e(words['labels']['playbook'])}</h4>")
        parts.append(f'<p style="white-space:pre-wrap">{e(text)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_markdown(digest: Digest, *, max_bytes: int | None = None) -> str:
    """A chat robot's Markdown; a long group is cut to ``max_bytes`` (UTF-8) with a pointer."""
    words, locale = wording_for(digest.locale), digest.locale
    colon = words["colon"]
    head = [f"### {render_subject(digest)}", "", f"**{_headline(digest)}**", ""]
    if digest.test:
        head += [words["test_note"].format(channel=digest.channel_name), ""]
    tail: list[str] = []
    for text in _playbooks(digest):
        tail += ["", f"> **{words['labels']['playbook']}**{colon}{text}"]
    if len(digest.notices) == 1:
        notice = digest.notices[0]
        body = [f"- {label}{colon}{value}" for label, value in _fields(words, notice, locale)]
        body += ["", f"[{words['open_link']}]({digest.alert_url(notice)})"]
        return _fit("\n".join(head + body + tail), max_bytes)
    items = [
        f"- {_item(words, notice, locale)} [↗]({digest.alert_url(notice)})"
        for notice in digest.notices
    ]
    link = ["", f"[{words['open_list']}]({digest.list_url})"]
    if max_bytes is None:
        return "\n".join(head + items + link + tail)
    fixed = len("\n".join(head + link + tail).encode("utf-8")) + 200
    kept: list[str] = []
    used = fixed
    for item in items:
        size = len(item.encode("utf-8")) + 1
        if used + size > max_bytes:
            break
        kept.append(item)
        used += size
    if len(kept) < len(items):
        more = words["more"].format(count=len(items) - len(kept), url=digest.list_url)
        kept.append(f"- {more}")
    return _fit("\n".join(head + kept + link + tail), max_bytes)


def _fit(text: str, max_bytes: int | None) -> str:
    """``text`` cut to ``max_bytes`` of UTF-8 without splitting a character."""
    if max_bytes is None:
        return text
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[: max_bytes - 3].decode("utf-8", "ignore") + "…"


# -- small formats --------------------------------------------------------------------


def _period(words: dict[str, Any], period: date, frequency: str) -> str:
    template = words["period"].get(frequency)
    if template is None:
        return period.isoformat()
    return str(
        template.format(
            year=period.year,
            month=period.month,
            quarter=(period.month - 1) // 3 + 1,
            month_name=EN_MONTHS[period.month - 1],
        )
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
