from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.errors import AlertError
from alerts.policy import AlertPolicy, load_policy, save_policy
from monitor.records import Setting


def test_defaults_hold_until_something_is_saved(database):
    with database.session() as session:
        policy = load_policy(session)

    assert policy == AlertPolicy()
    assert policy.group_wait == timedelta(seconds=30)
    assert (policy.stale_after("M"), policy.stale_after("A")) == (2, 2)


def test_a_saved_policy_loads_back(database):
    wanted = AlertPolicy(group_interval_seconds=600, flap_max_changes=5, stale_after_annual=1)
    with database.session() as session:
        save_policy(session, wanted)
    with database.session() as session:
        save_policy(session, wanted)  # saving twice updates, never duplicates
    with database.session() as session:
        assert load_policy(session) == wanted


@pytest.mark.parametrize("fields", [{"flap_window_periods": 0}, {"group_wait_seconds": -1}])
def test_bad_values_are_refused(fields):
    with pytest.raises(AlertError):
        AlertPolicy(**fields)


def test_a_garbled_stored_value_is_reported(database):
    with database.session() as session:
        session.add(Setting(key="alerting.flap_max_changes", value="many"))
    with database.session() as session, pytest.raises(AlertError, match="flap_max_changes"):
        load_policy(session)
