"""Answers the console keeps between requests while the alerts stay as they were.

Every change of an alert writes an event, so the newest alert and event ids name the
alerts' state, and two index lookups tell whether a kept answer still holds. Ids are
handed out before commit: a transaction that commits after a later one leaves the newest
ids as they were, so a kept answer is also given up after ``MAX_AGE_S`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import TypeVar

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.queries import DEFAULT_PER_PAGE, SORTS, AlertFilters, count_alerts
from monitor.records import Alert, AlertEvent

MAX_AGE_S = 30.0
MAX_ENTRIES = 512
EXTENSION = "clusterwatch_kept_answers"

Answer = TypeVar("Answer")
Version = tuple[int | None, int | None]


def alerts_version(session: Session) -> Version:
    """The newest alert id and the newest alert event id."""
    newest = (select(func.max(column)).scalar_subquery() for column in (Alert.id, AlertEvent.id))
    alert_id, event_id = session.execute(select(*newest)).one()
    return alert_id, event_id


class KeptAnswers:
    """A bounded, thread-safe store of answers, each valid for one alerts version."""

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[Hashable, tuple[Version, float, object]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Version, compute: Callable[[], Answer]) -> Answer:
        """The answer kept under ``key`` for ``version``, else ``compute()``'s, then kept."""
        now = self._clock()
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == version and now - kept[1] < self._max_age_s:
                self._entries.move_to_end(key)
                return kept[2]  # type: ignore[return-value]
        answer = compute()
        with self._lock:
            self._entries[key] = (version, now, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return answer


def kept_answers() -> KeptAnswers:
    """This console's store (one per application)."""
    store = current_app.extensions.get(EXTENSION)
    if store is None:
        store = current_app.extensions.setdefault(EXTENSION, KeptAnswers())
    return store


def kept_alert_count(session: Session, filters: AlertFilters) -> tuple[int, bool]:
    """``count_alerts`` for ``filters``, kept while the alerts stay as they were: paging
    and re-sorting a list does not count its alerts again."""
    counted = replace(filters, sort=SORTS[0], after=None, before=None, per_page=DEFAULT_PER_PAGE)
    return kept_answers().get(
        ("alert count", counted), alerts_version(session), lambda: count_alerts(session, filters)
    )
