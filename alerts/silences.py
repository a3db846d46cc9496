"""Silences: staff mute the notices of matching alerts for a while, with a reason.

A silence matches on level, dimension, region, cluster, entity and indicator (each an
allowed list; empty allows all, but at least one must be given). It is active from
``starts_at`` to ``ends_at``, or, when recurring, in the same window every year,
month or week (in Asia/Shanghai time: a plant's annual shutdown) until
``repeat_until``. A ``festival`` window follows the Spring Festival, whose Gregorian
date moves from year to year: each year's window starts as many days before or after
that year's festival as the first one did, at the same time of day. Muted alerts stay
in the console; their notices are recorded as ``silenced`` with the silence named.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.errors import AlertError
from alerts.scopes import AlertScope
from alerts.spring_festival import nearest_festival_year, spring_festival
from alerts.states import Recurrence
from monitor.records import Silence, utc_now

LOCAL_TIME = ZoneInfo("Asia/Shanghai")
#: The longest window each recurrence can repeat without overlapping itself.
LONGEST_WINDOW = {
    Recurrence.WEEKLY: timedelta(days=7),
    Recurrence.MONTHLY: timedelta(days=28),
    Recurrence.YEARLY: timedelta(days=365),
    Recurrence.FESTIVAL: timedelta(days=350),  # festivals can be 354 days apart
}


class SilenceState(StrEnum):
    PENDING = "pending"  # its (next) window has not begun
    ACTIVE = "active"
    EXPIRED = "expired"


def create_silence(
    session: Session,
    *,
    author: str,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    levels: Iterable[str] = (),
    dimensions: Iterable[str] = (),
    region_ids: Iterable[int] = (),
    cluster_ids: Iterable[int] = (),
    entity_ids: Iterable[int] = (),
    indicator_ids: Iterable[int] = (),
    recurrence: str | None = None,
    repeat_until: datetime | None = None,
    now: datetime | None = None,
) -> Silence:
    """Add a silence after checking it; ``AlertError`` says what is wrong."""
    now = now or utc_now()
    if not author.strip():
        raise AlertError("a silence needs an author")
    if not reason.strip():
        raise AlertError("a silence needs a reason")
    for moment in (starts_at, ends_at, repeat_until):
        if moment is not None and moment.tzinfo is None:
            raise AlertError("silence times must carry a time zone")
    if ends_at <= starts_at:
        raise AlertError("a silence must end after it starts")
    silence = Silence(
        levels=list(levels),
        dimensions=list(dimensions),
        region_ids=list(region_ids),
        cluster_ids=list(cluster_ids),
        entity_ids=list(entity_ids),
        indicator_ids=list(indicator_ids),
        starts_at=starts_at,
        ends_at=ends_at,
        recurrence=recurrence or None,
        repeat_until=repeat_until,
        author=author.strip(),
        reason=reason.strip(),
        created_at=now,
    )
    if not any(_matchers(silence)):
        raise AlertError("a silence needs at least one matcher; it would mute everything")
    if recurrence:
        if recurrence not in set(Recurrence):
            raise AlertError("unknown recurrence %(recurrence)s", recurrence=repr(recurrence))
        if ends_at - starts_at > LONGEST_WINDOW[Recurrence(recurrence)]:
            raise AlertError(
                "a %(recurrence)s window cannot last longer than its period", recurrence=recurrence
            )
        if recurrence == Recurrence.FESTIVAL:
            nearest_festival_year(starts_at.astimezone(LOCAL_TIME).date())  # a known year
    elif ends_at <= now:
        raise AlertError("this silence would already be over")
    session.add(silence)
    session.flush()
    return silence


def expire_silence(
    session: Session, silence: Silence, *, actor: str, now: datetime | None = None
) -> None:
    """End ``silence`` now, recording who ended it."""
    if silence.expired_at is not None:
        raise AlertError("silence %(id)s is already expired", id=silence.id)
    silence.expired_at = now or utc_now()
    silence.expired_by = actor


def _matchers(silence: Silence) -> tuple[list[object], ...]:
    return (
        silence.levels,
        silence.dimensions,
        silence.region_ids,
        silence.cluster_ids,
        silence.entity_ids,
        silence.indicator_ids,
    )


def silence_matches(silence: Silence, scope: AlertScope) -> bool:
    """Whether every matcher of ``silence`` allows the alert of ``scope``."""
    checks = (
        (silence.levels, {scope.level}),
        (silence.dimensions, {scope.dimension}),
        (silence.region_ids, scope.region_ids),
        (silence.cluster_ids, scope.cluster_ids),
        (silence.entity_ids, {scope.entity_id}),
        (silence.indicator_ids, {scope.indicator_id}),
    )
    return all(not allowed or not set(allowed).isdisjoint(facts) for allowed, facts in checks)


def _shift_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def occurrence(silence: Silence, number: int) -> tuple[datetime, datetime]:
    """Window ``number`` (0 = the first) of ``silence``, in UTC."""
    length = silence.ends_at - silence.starts_at
    first = silence.starts_at.astimezone(LOCAL_TIME)
    recurrence = silence.recurrence
    if recurrence == Recurrence.WEEKLY:
        start = first + timedelta(weeks=number)
    elif recurrence == Recurrence.MONTHLY:
        start = _shift_months(first, number)
    elif recurrence == Recurrence.YEARLY:
        start = _shift_months(first, 12 * number)
    elif recurrence == Recurrence.FESTIVAL:
        year = nearest_festival_year(first.date())
        start = first + (spring_festival(year + number) - spring_festival(year))
    else:
        start = first
    return start.astimezone(UTC), (start + length).astimezone(UTC)


def _nearest_number(silence: Silence, now: datetime) -> int:
    """The number of the latest window that starts at or before ``now`` (roughly)."""
    first = silence.starts_at.astimezone(LOCAL_TIME)
    local = now.astimezone(LOCAL_TIME)
    if silence.recurrence == Recurrence.WEEKLY:
        return (now - silence.starts_at) // timedelta(weeks=1)
    months = (local.year - first.year) * 12 + local.month - first.month
    if silence.recurrence == Recurrence.MONTHLY:
        return months
    return local.year - first.year


def window_at(silence: Silence, now: datetime) -> tuple[datetime, datetime] | None:
    """The current window of ``silence`` when one contains ``now``, else None."""
    if silence.expired_at is not None and silence.expired_at <= now:
        return None
    if not silence.recurrence:
        inside = silence.starts_at <= now < silence.ends_at
        return (silence.starts_at, silence.ends_at) if inside else None
    guess = _nearest_number(silence, now)
    for number in (guess + 1, guess, guess - 1):
        if number < 0:
            continue
        try:
            start, end = occurrence(silence, number)
        except AlertError:  # a festival beyond the known years
            continue
        if silence.repeat_until is not None and start > silence.repeat_until:
            continue
        if start <= now < end:
            return start, end
    return None


def next_window(silence: Silence, now: datetime) -> tuple[datetime, datetime] | None:
    """The window that contains ``now`` or comes next; None when none is left."""
    current = window_at(silence, now)
    if current is not None:
        return current
    if silence.expired_at is not None and silence.expired_at <= now:
        return None
    if not silence.recurrence:
        return (silence.starts_at, silence.ends_at) if now < silence.starts_at else None
    number = max(_nearest_number(silence, now), 0)
    for candidate in range(number, number + 3):
        try:
            start, end = occurrence(silence, candidate)
        except AlertError:  # a festival beyond the known years
            return None
        if silence.repeat_until is not None and start > silence.repeat_until:
            return None
        if start > now:
            return start, end
    return None


def silence_state(silence: Silence, now: datetime) -> SilenceState:
    """Whether ``silence`` mutes now, will mute later, or is over."""
    if window_at(silence, now) is not None:
        return SilenceState.ACTIVE
    if next_window(silence, now) is not None:
        return SilenceState.PENDING
    return SilenceState.EXPIRED


def active_silences(session: Session, now: datetime) -> list[Silence]:
    """The silences muting at ``now``."""
    candidates = session.scalars(
        select(Silence)
        .where(
            or_(Silence.expired_at.is_(None), Silence.expired_at > now),
            Silence.starts_at <= now,
            or_(Silence.recurrence.is_not(None), Silence.ends_at > now),
        )
        .order_by(Silence.id)
    )
    return [silence for silence in candidates if window_at(silence, now) is not None]


def matching_silence(silences: Sequence[Silence], scope: AlertScope) -> Silence | None:
    """The first of ``silences`` (already known active) that matches ``scope``."""
    return next((s for s in silences if silence_matches(s, scope)), None)


def list_silences(
    session: Session, now: datetime, *, include_expired: bool = False
) -> list[tuple[Silence, SilenceState]]:
    """Every silence with its state at ``now``, newest first (expired ones on request)."""
    rows = session.scalars(select(Silence).order_by(Silence.id.desc()))
    listed = [(silence, silence_state(silence, now)) for silence in rows]
    return [pair for pair in listed if include_expired or pair[1] != SilenceState.EXPIRED]
