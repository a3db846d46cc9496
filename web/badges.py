"""The coloured badges of the console (warning level, status, stage, synthetic data).

Plain functions rather than template macros: a page of alerts draws a few hundred, and a
Jinja macro call costs several times a function call. Each request's templates get the
badges of its catalogue, built once per locale for the process.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from markupsafe import Markup, escape

from web.labels import VocabularyNames, request_names

NO_BADGE = Markup("")


def _badge(css_class: str, text: str, title: str | None = None) -> Markup:
    hint = f' title="{escape(title)}"' if title else ""
    return Markup(f'<span class="badge {escape(css_class)}"{hint}>{escape(text)}</span>')


class Badges:
    """The badges drawn with one catalogue's names; known values are drawn once."""

    def __init__(self, names: VocabularyNames) -> None:
        self._names = names
        self._drawn: dict[tuple[str, str], Markup] = {}

    def _vocabulary_badge(self, kind: str, prefix: str, value: str) -> Markup:
        badge = self._drawn.get((kind, value))
        if badge is None:
            badge = _badge(f"{prefix}-{value}", self._names(kind, value))
            if self._names.knows(kind, value):  # unknown values are not kept
                self._drawn[kind, value] = badge
        return badge

    def severity(self, value: str | None) -> Markup:
        """A warning colour (blue, yellow, orange, red) by its name; nothing for no colour."""
        return self._vocabulary_badge("severity", "sev", value) if value else NO_BADGE

    def status(self, value: str) -> Markup:
        """An alert status by its name."""
        return self._vocabulary_badge("status", "status", value)

    def stage(self, value: str) -> Markup:
        """A resilience stage by its name."""
        return self._vocabulary_badge("stage", "stage", value)

    def synthetic(self, flag: bool) -> Markup:
        """The mark of synthetic demo data; nothing for real data."""
        if not flag:
            return NO_BADGE
        return _badge(
            "synthetic", self._names("badge", "synthetic"), self._names("badge", "synthetic_hint")
        )


_BADGES: dict[VocabularyNames, Badges] = {}


def request_badges() -> Badges:
    """The badges in this request's language (call only inside a request)."""
    names = request_names()
    badges = _BADGES.get(names)
    if badges is None:
        badges = _BADGES[names] = Badges(names)
    return badges


def _template_badges() -> dict[str, Any]:
    badges = request_badges()
    return {
        "severity_badge": badges.severity,
        "status_badge": badges.status,
        "stage_badge": badges.stage,
        "synthetic_badge": badges.synthetic,
    }


def init_app(app: Flask) -> None:
    app.context_processor(_template_badges)
