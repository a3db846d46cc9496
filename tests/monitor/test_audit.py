"""The audit log: threshold changes recorded with who, when, old -> new and why; restoring."""

from __future__ import annotations

import pytest

from monitor.audit import (
    RESTORE,
    AuditError,
    change_threshold,
    list_entries,
    restore_threshold,
    threshold_setting,
)
from monitor.db import Database
from monitor.errors import NotFound
from monitor.records import Threshold


def _threshold(database: Database) -> int:
    with database.session() as session:
        row = Threshold(
            model="threshold", level="industry", dimension="economic",
            blue=-5, yellow=-10, orange=-15, red=-20, min_periods=1,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def test_a_change_records_actor_old_and_new_setting_and_reason(database: Database) -> None:
    threshold_id = _threshold(database)
    with database.session() as session:
        row = session.get(Threshold, threshold_id)
        change_threshold(session, row, {"blue": -4, "min_periods": 2}, actor="ada", reason="review")
    with database.session() as session:
        [entry] = list_entries(session, target_kind="threshold").items
        assert (entry.actor, entry.reason, entry.target_id) == ("ada", "review", threshold_id)
        assert entry.before["blue"] == -5 and entry.after["blue"] == -4
        assert entry.before["min_periods"] == 1 and entry.after["min_periods"] == 2
        assert entry.at.tzinfo is not None
        assert session.get(Threshold, threshold_id).updated_by == "ada"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_change_without_a_reason_is_refused_and_leaves_the_row(
    database: Database, reason: str
) -> None:
    threshold_id = _threshold(database)
    with database.session() as session:
        row = session.get(Threshold, threshold_id)
        with pytest.raises(AuditError):
            change_threshold(session, row, {"blue": -1}, actor="ada", reason=reason)
        assert row.blue == -5
        assert list_entries(session).total == 0


def test_unknown_fields_are_refused(database: Database) -> None:
    threshold_id = _threshold(database)
    with database.session() as session:
        row = session.get(Threshold, threshold_id)
        with pytest.raises(AuditError):
            change_threshold(session, row, {"level": "government"}, actor="ada", reason="x")


def test_restore_puts_back_the_setting_before_a_change_and_logs_it(database: Database) -> None:
    threshold_id = _threshold(database)
    with database.session() as session:
        row = session.get(Threshold, threshold_id)
        original = threshold_setting(row)
        first = change_threshold(session, row, {"blue": -3}, actor="ada", reason="a")
        change_threshold(session, row, {"red": -30}, actor="ada", reason="b")
        first_id = first.id
    with database.session() as session:
        restore_threshold(session, first_id, actor="bob", reason="undo")
    with database.session() as session:
        assert threshold_setting(session.get(Threshold, threshold_id)) == original
        newest = list_entries(session).items[0]
        assert (newest.action, newest.actor, newest.reason) == (RESTORE, "bob", "undo")
        assert newest.before["red"] == -30 and newest.after["red"] == -20


def test_restoring_an_unknown_entry_is_not_found(database: Database) -> None:
    with database.session() as session, pytest.raises(NotFound):
        restore_threshold(session, 999, actor="ada", reason="x")


def test_entries_page_newest_first(database: Database) -> None:
    threshold_id = _threshold(database)
    with database.session() as session:
        row = session.get(Threshold, threshold_id)
        for blue in (-4, -3, -2):
            change_threshold(session, row, {"blue": blue}, actor="ada", reason=f"to {blue}")
    with database.session() as session:
        page = list_entries(session, per_page=2)
        assert page.total == 3 and page.pages == 2
        assert [entry.reason for entry in page.items] == ["to -2", "to -3"]
        assert [e.reason for e in list_entries(session, per_page=2, page=2).items] == ["to -4"]
