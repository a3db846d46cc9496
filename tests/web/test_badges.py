"""Badges and vocabulary names follow each request's language, from one process-wide cache."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from web.badges import request_badges
from web.labels import label


def test_names_follow_each_requests_language_from_the_same_cache(app: Flask) -> None:
    for _ in range(2):  # the second round answers from the cache
        with app.test_request_context(headers={"Cookie": "clusterwatch_locale=en"}):
            assert label("severity", "red") == "Red warning"
            red = str(request_badges().severity("red"))
            assert red == '<span class="badge sev-red">Red warning</span>'
        with app.test_request_context():
            assert label("severity", "red") == "红色预警"
            badge = str(request_badges().stage("recovery"))
            assert badge == '<span class="badge stage-recovery">冲击恢复</span>'


def test_a_forced_locale_is_seen_by_names_asked_inside_it(app: Flask) -> None:
    with app.test_request_context():
        assert label("status", "firing") != "Firing"
        with force_locale("en"):
            firing = str(request_badges().status("firing"))
            assert firing == '<span class="badge status-firing">Firing</span>'


def test_unknown_values_are_shown_as_they_are_and_escaped(app: Flask) -> None:
    with app.test_request_context():
        assert label("model", "my_model") == "my_model"
        bold = str(request_badges().status("<b>"))
        assert bold == '<span class="badge status-&lt;b&gt;">&lt;b&gt;</span>'
        assert str(request_badges().severity(None)) == ""


def test_synthetic_data_is_marked_with_an_explanation(app: Flask) -> None:
    with app.test_request_context(headers={"Cookie": "clusterwatch_locale=en"}):
        assert str(request_badges().synthetic(False)) == ""
        assert str(request_badges().synthetic(True)) == (
            '<span class="badge synthetic" title="Synthetic demo data, not real statistics">'
            "Synthetic data</span>"
        )
