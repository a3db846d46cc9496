"""The alerting package's own vocabularies: alert states, event kinds, notice statuses.

Alert states themselves are ``monitor.vocabulary.AlertStatus`` (pending, firing,
acknowledged, stale, resolved); this module adds what the lifecycle and the noise
control record about them.
"""

from __future__ import annotations

from enum import StrEnum

from monitor.vocabulary import AlertStatus

#: The states in which an alert warns (it fired and is neither closed nor stale).
WARNING_STATES: tuple[AlertStatus, ...] = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)


class Event(StrEnum):
    """What an ``AlertEvent`` records."""

    OPENED = "opened"  # a breach opened the alert (firing, or pending confirmation)
    CONFIRMED = "confirmed"  # a pending alert was confirmed and fires
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    STALE = "stale"  # the series stopped arriving
    REFRESHED = "refreshed"  # data arrived again for a stale alert
    FLAPPING = "flapping"  # too many state changes: notices are held
    SETTLED = "settled"  # stopped flapping: notices flow again
    REPEATED = "repeated"  # a reminder of an unacknowledged firing alert
    NOTE = "note"


class Cause(StrEnum):
    """Why a transition happened (``AlertEvent.cause``)."""

    BREACH = "breach"  # the score crossed a cut-off
    UNCONFIRMED = "unconfirmed"  # the breach ended before it was confirmed
    RECOVERED = "recovered"  # the score got back past the clearing level
    STAFF = "staff"  # a person did it
    NO_DATA = "no_data"
    DATA_RESUMED = "data_resumed"
    TOO_MANY_CHANGES = "too_many_changes"
    QUIET = "quiet"
    UNACKNOWLEDGED = "unacknowledged"


class NoticeStatus(StrEnum):
    """What became of one notification (one alert event for one channel).

    ``pending`` waits for its group to be sent (or for a retry); the muted states are
    final and keep the reason in ``Notification.muted_reason``.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    INHIBITED = "inhibited"  # a higher-level alert explains it
    SILENCED = "silenced"  # a silence matched
    HELD = "held"  # the alert was flapping
    SKIPPED = "skipped"  # a resolution of an alert this channel was never told about


MUTED_STATUSES: frozenset[str] = frozenset(
    {NoticeStatus.INHIBITED, NoticeStatus.SILENCED, NoticeStatus.HELD, NoticeStatus.SKIPPED}
)


class ChannelType(StrEnum):
    """Every kind of channel a notification can go to."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    DINGTALK = "dingtalk"
    WECOM = "wecom"
    FEISHU = "feishu"


class Recurrence(StrEnum):
    """How a recurring silence repeats its window."""

    YEARLY = "yearly"
    MONTHLY = "monthly"
    WEEKLY = "weekly"
    FESTIVAL = "festival"  # every year, as far from the Spring Festival as the first window
