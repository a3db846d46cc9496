"""The coloured badges of the console (warning level, status, stage, synthetic data).

Plain functions rather than template macros: a page of alerts draws a few hundred, and a
Jinja macro call costs several times a function call.
"""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup, escape

from web.labels import label


def _badge(css_class: str, text: str, title: str | None = None) -> Markup:
    hint = f' title="{escape(title)}"' if title else ""
    return Markup(f'<span class="badge {escape(css_class)}"{hint}>{escape(text)}</span>')


def severity_badge(value: str | None) -> Markup:
    """A warning colour (blue, yellow, orange, red) by its name; nothing for no colour."""
    return _badge(f"sev-{value}", label("severity", value)) if value else Markup("")


def status_badge(value: str) -> Markup:
    """An alert status by its name."""
    return _badge(f"status-{value}", label("status", value))


def stage_badge(value: str) -> Markup:
    """A resilience stage by its name."""
    return _badge(f"stage-{value}", label("stage", value))


def synthetic_badge(flag: bool) -> Markup:
    """The mark of synthetic demo data; nothing for real data."""
    if not flag:
        return Markup("")
    return _badge("synthetic", label("badge", "synthetic"), label("badge", "synthetic_hint"))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        severity_badge=severity_badge,
        status_badge=status_badge,
        stage_badge=stage_badge,
        synthetic_badge=synthetic_badge,
    )
