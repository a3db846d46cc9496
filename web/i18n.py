"""Languages and display formats: zh_CN by default, English on request, Beijing time."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, request, session
from flask_babel import format_decimal, get_locale
from flask_login import current_user

from monitor.vocabulary import Frequency
from web.catalogue import ConsoleBabel, catalogue_names, translate, translate_plural
from web.labels import label, request_names

DEFAULT_LOCALE = "zh_CN"
SUPPORTED_LOCALES = ("zh_CN", "en")
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
DISPLAY_TIMEZONE = "Asia/Shanghai"
DISPLAY_ZONE = ZoneInfo(DISPLAY_TIMEZONE)
FOUR_PLACES = Decimal("0.0001")
LOCALE_COOKIE = "clusterwatch_locale"
SESSION_KEY = "locale"


def select_locale() -> str:
    """This browser's latest choice, else the user's saved one, else the cookie, else zh_CN."""
    for candidate in (
        session.get(SESSION_KEY),
        getattr(current_user, "locale", None),
        request.cookies.get(LOCALE_COOKIE),
    ):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return DEFAULT_LOCALE


def current_locale() -> str:
    """This request's language as the console names it: ``zh_CN`` or ``en``."""
    locale = get_locale()
    return DEFAULT_LOCALE if locale is None else catalogue_names(locale)[0]


def local_time(moment: datetime | None) -> str:
    """An aware UTC time shown in Beijing time (digits only: the same in every locale)."""
    return "" if moment is None else moment.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%d %H:%M")


def period_label(period: date | str | None, frequency: str | None = None) -> str:
    """A period as people write it: 2024-03 (monthly), 2024Q2 (quarterly), 2024 (annual)."""
    if period is None:
        return ""
    day = date.fromisoformat(period) if isinstance(period, str) else period
    if frequency == Frequency.ANNUAL:
        return f"{day.year}"
    if frequency == Frequency.QUARTERLY:
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    if frequency == Frequency.MONTHLY:
        return f"{day.year}-{day.month:02d}"
    return day.isoformat()


def number(value: float | None) -> str:
    """A value with grouping and at most four decimals, in the current locale.

    Both console locales write numbers alike (comma groups of three, a point, a
    hyphen-minus), so finite values are formatted here, rounded half to even from
    their shortest decimal form as Babel does; only NaN and infinities go to Babel.
    """
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if not math.isfinite(value):
        return format_decimal(value, format="#,##0.####")
    text = f"{Decimal(repr(value)).quantize(FOUR_PLACES, ROUND_HALF_EVEN):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def change_value(value: object) -> str:
    """A recorded setting value for the audit log: numbers in the locale, directions named."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return label("direction", str(value))
    return number(value)


def _template_helpers() -> dict[str, Any]:
    names = request_names()
    return {
        "label": names,
        "choices": names.choices,
        "current_locale": current_locale(),
        "language_names": LANGUAGE_NAMES,
        "html_lang": "zh-CN" if current_locale() == "zh_CN" else "en",
        "inf": math.inf,
    }


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", DISPLAY_TIMEZONE)
    ConsoleBabel(app, locale_selector=select_locale)
    # Templates call _() a few hundred times a page: straight to the request's catalogue.
    app.jinja_env.install_gettext_callables(
        gettext=translate, ngettext=translate_plural, newstyle=True
    )
    app.context_processor(_template_helpers)
    app.jinja_env.filters.update(
        local_time=local_time, period=period_label, number=number, change_value=change_value
    )
