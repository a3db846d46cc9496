"""Badges and vocabulary names follow each request's language, from one process-wide cache."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from web.badges import severity_badge, stage_badge, status_badge, synthetic_badge
from web.labels import label


def test_names_follow_each_requests_language_from_the_same_cache(app: Flask) -> None:
    for _ in range(2):  # the second round answers from the cache
        with app.test_request_context(headers={"Cookie": "clusterwatch_locale=en"}):
            assert label("severity", "red") == "Red warning"
            assert str(severity_badge("red")) == '<span class="badge sev-red">Red warning</span>'
        with app.test_request_context():
            assert label("severity", "red") == "红色预警"
            badge = str(stage_badge("recovery"))
            assert badge == '<span class="badge stage-recovery">冲击恢复</span>'


def test_a_forced_locale_is_seen_by_names_asked_inside_it(app: Flask) -> None:
    with app.test_request_context():
        assert label("status", "firing") != "Firing"
        with force_locale("en"):
            assert str(status_badge("firing")) == '<span class="badge status-firing">Firing</span>'


def test_unknown_values_are_shown_as_they_are_and_escaped(app: Flask) -> None:
    with app.test_request_context():
        assert label("model", "my_model") == "my_model"
        assert str(status_badge("<b>")) == ('<span class="badge status-&lt;b&gt;">&lt;b&gt;</span>')
        assert str(severity_badge(None)) == ""


def test_synthetic_data_is_marked_with_an_explanation(app: Flask) -> None:
    with app.test_request_context(headers={"Cookie": "clusterwatch_locale=en"}):
        assert str(synthetic_badge(False)) == ""
        assert str(synthetic_badge(True)) == (
            '<span class="badge synthetic" title="Synthetic demo data, not real statistics">'
            "Synthetic data</span>"
        )
