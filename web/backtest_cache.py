"""A small in-process cache of the score panels the backtest preview replays.

Loading a level x dimension's stored scores is the slow part of a preview (a quarter
of a million rows for the firms' monthly revenue); replaying a setting over them takes
milliseconds. Each console process keeps the few most recently used replays (panels,
their episode masks and the proposed cut-offs, see ``web.backtest``), keyed by what
they were read for, the episodes' version and the *data version*: the newest job run
and the newest finish time of any run. Scores are written by job runs (scoring cycles,
the demo's backfill), so a run that finishes changes the version and the next preview
reads the panels again; while a run is still going, previews show the scores as of its
start.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.records import JobRun

Value = TypeVar("Value")
EXTENSION = "clusterwatch_backtest_cache"
DEFAULT_SIZE = 16


class BoundedCache(Generic[Value]):
    """A thread-safe least-recently-used map holding at most ``size`` values."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], Value]) -> Value:
        """The cached value of ``key``, or ``load()``'s, kept for next time."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = load()  # outside the lock: two first requests may both load, never block
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._values)


def data_version(session: Session) -> tuple[object, ...]:
    """What changes whenever stored scores may have changed: the newest run and finish."""
    return tuple(session.execute(select(func.max(JobRun.id), func.max(JobRun.finished_at))).one())


def panel_cache(app: Flask | None = None) -> BoundedCache:
    """The application's panel cache, made on first use."""
    target = app or current_app
    cache = target.extensions.get(EXTENSION)
    if cache is None:
        cache = target.extensions.setdefault(EXTENSION, BoundedCache())
    return cache
