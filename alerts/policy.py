"""The tunable timings and limits of alerting, kept in the ``settings`` table.

Admins change them from the console (``save_policy``); every job reads them with
``load_policy`` and falls back to the defaults for a key that was never saved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.errors import AlertError
from monitor.records import Setting

KEY_PREFIX = "alerting."


@dataclass(frozen=True)
class AlertPolicy:
    """How alerts are grouped, repeated, judged flapping and judged stale.

    Attributes
    ----------
    group_wait_seconds : int
        How long the first notice of a new group waits for others of the same
        scoring cycle before the group is sent.
    group_interval_seconds : int
        The least time between two messages of one group on one channel (escalations
        are sent at once all the same).
    repeat_interval_seconds : int
        After how long an unacknowledged firing alert is sent again.
    flap_max_changes, flap_window_periods : int
        An alert that changes state more than ``flap_max_changes`` times within its
        series' last ``flap_window_periods`` periods is flapping: its notices are held.
    flap_quiet_periods : int
        A flapping alert settles after this many periods without a state change.
    stale_after_monthly, stale_after_quarterly, stale_after_annual : int
        How many periods of a series may end without a value before its open alert
        turns stale.
    """

    group_wait_seconds: int = 30
    group_interval_seconds: int = 300
    repeat_interval_seconds: int = 3 * 24 * 3600
    flap_max_changes: int = 3
    flap_window_periods: int = 6
    flap_quiet_periods: int = 3
    stale_after_monthly: int = 2
    stale_after_quarterly: int = 2
    stale_after_annual: int = 2

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            minimum = 0 if field.name.endswith("_seconds") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise AlertError(
                    "%(name)s must be a whole number >= %(minimum)s, got %(value)s",
                    name=field.name,
                    minimum=minimum,
                    value=repr(value),
                )

    @property
    def group_wait(self) -> timedelta:
        return timedelta(seconds=self.group_wait_seconds)

    @property
    def group_interval(self) -> timedelta:
        return timedelta(seconds=self.group_interval_seconds)

    @property
    def repeat_interval(self) -> timedelta:
        return timedelta(seconds=self.repeat_interval_seconds)

    def stale_after(self, frequency: str) -> int:
        """Periods of ``frequency`` (M, Q, A) a series may miss before it is stale."""
        return {
            "M": self.stale_after_monthly,
            "Q": self.stale_after_quarterly,
            "A": self.stale_after_annual,
        }.get(frequency, self.stale_after_monthly)


def load_policy(session: Session) -> AlertPolicy:
    """The stored policy; keys never saved keep their defaults."""
    names = {field.name for field in fields(AlertPolicy)}
    rows = session.execute(
        select(Setting.key, Setting.value).where(Setting.key.startswith(KEY_PREFIX))
    )
    values: dict[str, int] = {}
    for key, raw in rows:
        name = key.removeprefix(KEY_PREFIX)
        if name in names:
            try:
                values[name] = int(raw)
            except ValueError:
                raise AlertError(
                    "setting %(key)s is not a whole number: %(value)s", key=key, value=repr(raw)
                ) from None
    return AlertPolicy(**values)


def save_policy(session: Session, policy: AlertPolicy) -> None:
    """Store every value of ``policy`` (inside the caller's transaction)."""
    for name, value in asdict(policy).items():
        key = KEY_PREFIX + name
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=str(value)))
        else:
            row.value = str(value)
    session.flush()
