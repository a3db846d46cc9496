"""Answers kept between requests: valid for one alerts version, for a limited time, and
bounded in number; the alert list's count follows a change of the alerts at once."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

import web.kept_answers
from alerts.workflow import resolve
from monitor.db import Database
from monitor.records import Alert
from tests.web.dataset import World
from web.kept_answers import KeptAnswers, alerts_version

COUNT = re.compile(r'<p class="result-count">\D*(\d+)')


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counted(answers: list[int]):
    def compute() -> int:
        answers.append(len(answers) + 1)
        return answers[-1]

    return compute


def test_an_answer_is_kept_while_the_alerts_version_holds() -> None:
    kept, computed = KeptAnswers(), []
    assert kept.get("k", (1, 1), counted(computed)) == 1
    assert kept.get("k", (1, 1), counted(computed)) == 1
    assert computed == [1]


def test_a_new_alerts_version_computes_the_answer_again() -> None:
    kept, computed = KeptAnswers(), []
    kept.get("k", (1, 1), counted(computed))
    assert kept.get("k", (1, 2), counted(computed)) == 2
    assert kept.get("k", (1, 2), counted(computed)) == 2


def test_an_answer_past_its_age_is_computed_again_even_in_the_same_version() -> None:
    clock, computed = Clock(), []
    kept = KeptAnswers(max_age_s=30.0, clock=clock)
    kept.get("k", (1, 1), counted(computed))
    clock.now += 29.0
    assert kept.get("k", (1, 1), counted(computed)) == 1
    clock.now += 2.0
    assert kept.get("k", (1, 1), counted(computed)) == 2


def test_the_least_recently_used_answer_is_dropped_when_full() -> None:
    kept, computed = KeptAnswers(max_entries=2), []
    kept.get("a", (1, 1), counted(computed))
    kept.get("b", (1, 1), counted(computed))
    kept.get("a", (1, 1), counted(computed))  # a used last: b goes first
    kept.get("c", (1, 1), counted(computed))
    assert kept.get("a", (1, 1), counted(computed)) == 1
    assert kept.get("b", (1, 1), counted(computed)) == 4


def test_the_alerts_version_moves_with_every_change_of_an_alert(
    database: Database, world: World
) -> None:
    with database.session() as session:
        before = alerts_version(session)
        alert = session.scalars(select(Alert).where(Alert.status != "resolved")).first()
        resolve(session, alert, actor="vera", note="handled")
    with database.session() as session:
        assert alerts_version(session) != before


def test_the_alert_count_is_kept_across_pages_and_follows_a_change_at_once(
    as_viewer: FlaskClient, database: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts: list[object] = []
    count_alerts = web.kept_answers.count_alerts

    def counting(session, filters):
        counts.append(filters)
        return count_alerts(session, filters)

    monkeypatch.setattr(web.kept_answers, "count_alerts", counting)

    def shown(query: str) -> int:
        page = as_viewer.get(f"/alerts/?status=open{query}").get_data(as_text=True)
        return int(COUNT.search(page).group(1))

    before = shown("")
    assert shown("&sort=-severity") == before
    assert shown("&per_page=2") == before
    assert len(counts) == 1  # another sort or page size: the same count, kept
    with database.session() as session:
        alert = session.scalars(select(Alert).where(Alert.status != "resolved")).first()
        resolve(session, alert, actor="vera", note="handled")
    assert shown("") == before - 1
    assert len(counts) == 2
