"""Where enterprise scoring runs: in this process, or partitioned by city on Dask.

A province holds millions of enterprise series; one machine scores them in chunks (see
``monitor.pipeline``), several machines through Dask distributed: each enterprise
indicator is split into one partition per city and the partitions run as Dask tasks.
A firm belongs to the partition of its cluster's city (``region_id`` of its cluster),
a firm without a cluster to that of its own city; firms with no city that way form one
more partition. A cluster's firms are thus never split, even when some of them lie in
another city, which the peer comparison needs: it scores a firm against the other
firms of its cluster in the same period. Every task opens its own connection to the
shared database and scores, writes and advances the alerts of its firms in one
transaction, exactly as the single-process path does for a chunk: a series' decisions
depend on no series outside its cluster, so the results are identical.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Subquery, and_, case, or_, select
from sqlalchemy.orm import aliased

from alerts.lifecycle import AlertCounts
from monitor.db import Database, database_for
from monitor.records import Entity

EXECUTORS = ("local", "dask")
COUNT_FIELDS = tuple(f.name for f in fields(AlertCounts) if f.name != "events")


def _home_cities() -> Subquery:
    """Each enterprise's ``id`` with its partition's ``city``: its cluster's, else its own
    (as :func:`city_scope` chooses them)."""
    cluster = aliased(Entity)
    city = case((Entity.cluster_id.is_(None), Entity.region_id), else_=cluster.region_id)
    return (
        select(Entity.id, city.label("city"))
        .outerjoin(cluster, Entity.cluster_id == cluster.id)
        .where(Entity.level == "enterprise")
        .subquery()
    )


def city_scope(region_id: int | None) -> Select[Any]:
    """The ids of the enterprises of one city's partition (``None``: those of no city).

    A firm with a cluster counts in its cluster's city, so a cluster is never split.
    Written without a join, so each side reads its index (``region_id``, ``cluster_id``).
    """

    def in_city(column: Any) -> Any:
        return column.is_(None) if region_id is None else column == region_id

    clusters = select(Entity.id).where(Entity.level == "industry", in_city(Entity.region_id))
    return select(Entity.id).where(
        Entity.level == "enterprise",
        or_(
            and_(Entity.cluster_id.is_(None), in_city(Entity.region_id)),
            Entity.cluster_id.in_(clusters),
        ),
    )


def city_partitions(database: Database) -> list[int | None]:
    """The cities with enterprises in their partition, plus ``None`` when some has none."""
    with database.session() as session:
        regions = session.scalars(select(_home_cities().c.city).distinct())
        return sorted(regions, key=lambda r: (r is None, r or 0))


def score_partition(
    database_url: str,
    indicator_id: int,
    region_id: int | None,
    since: date | None,
    notify: bool,
    now: datetime,
    done: Mapping[str, date | None],
) -> tuple[int, dict[str, int]]:
    """Score one indicator for the firms of one city; runs on a Dask worker.

    ``done`` is each model's last scored period before any partition began. Returns
    the scores written and the alert counts (without the event objects, which belong
    to the worker's session).
    """
    from monitor.pipeline import score_one

    database = database_for(database_url)
    with database.session() as session:
        written, counts = score_one(
            session, indicator_id, since, notify, now, within=city_scope(region_id), done=done
        )
    return written, {name: getattr(counts, name) for name in COUNT_FIELDS}


class DaskExecutor:
    """Scores enterprise indicators as city partitions on a Dask distributed cluster.

    ``scheduler`` is the address of a running scheduler (``tcp://host:8786``); a
    ``client`` already connected (e.g. to a ``LocalCluster``) may be given instead.
    """

    def __init__(self, scheduler: str | None = None, client: Any = None) -> None:
        if client is None:
            from distributed import Client

            client = Client(scheduler) if scheduler else Client(processes=False)
            self._owned = True
        else:
            self._owned = False
        self.client = client

    def score_indicator(
        self,
        database: Database,
        indicator_id: int,
        since: date | None,
        notify: bool,
        now: datetime,
    ) -> tuple[int, AlertCounts]:
        """Score one enterprise indicator, one Dask task per city, and sum the results."""
        from monitor.pipeline import last_scored

        regions = city_partitions(database)
        with database.session() as session:
            done = last_scored(session, indicator_id)
        futures = [
            self.client.submit(
                score_partition,
                database.url,
                indicator_id,
                region,
                since,
                notify,
                now,
                done,
                pure=False,
            )
            for region in regions
        ]
        written = 0
        counts = AlertCounts()
        for part_written, part_counts in self.client.gather(futures):
            written += part_written
            counts.add(AlertCounts(**part_counts))
        return written, counts

    def close(self) -> None:
        """Close the client if this executor opened it."""
        if self._owned:
            self.client.close()


def executor_from_env(
    executor: str | None = None, scheduler: str | None = None
) -> DaskExecutor | None:
    """The executor asked for (else ``CLUSTERWATCH_EXECUTOR``); ``None`` means local.

    The scheduler address defaults to ``CLUSTERWATCH_DASK_SCHEDULER``.
    """
    kind = (executor or os.environ.get("CLUSTERWATCH_EXECUTOR") or "local").lower()
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
    if kind == "local":
        return None
    return DaskExecutor(scheduler or os.environ.get("CLUSTERWATCH_DASK_SCHEDULER"))
