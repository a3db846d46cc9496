"""Routing: which channels get the notices of an alert.

Routes are checked in ``position`` order; the first that matches decides, unless it
says ``continue_matching``. The channel's own filter applies on top. With no enabled
route at all, every channel whose filter accepts the alert gets it, so a fresh
installation (a mail address and a webhook from the settings) needs no routes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.channels import channel_accepts
from alerts.errors import AlertError
from alerts.scopes import AlertScope, scope_of
from monitor.records import Alert, Channel, Route
from monitor.vocabulary import Severity


def route_matches(route: Route, scope: AlertScope) -> bool:
    """Whether ``route``'s matchers all hold for ``scope`` (an empty list holds always)."""
    if Severity(scope.severity).rank < Severity(route.min_severity or "blue").rank:
        return False
    if route.levels and scope.level not in route.levels:
        return False
    if route.dimensions and scope.dimension not in route.dimensions:
        return False
    if route.region_ids and scope.region_ids.isdisjoint(route.region_ids):
        return False
    return not (route.cluster_ids and scope.cluster_ids.isdisjoint(route.cluster_ids))


class Router:
    """The routes of one moment, read once and applied to many alerts."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = sorted(
            (route for route in routes if route.enabled), key=lambda r: (r.position, r.id)
        )

    @classmethod
    def load(cls, session: Session) -> Router:
        return cls(list(session.scalars(select(Route).where(Route.enabled))))

    def recipients(
        self, session: Session, alert: Alert, channels: Iterable[Channel]
    ) -> list[Channel]:
        """The channels among ``channels`` that should hear about ``alert``."""
        offered = {channel.id: channel for channel in channels}
        scope = scope_of(session, alert)
        if not self.routes:
            return [c for c in offered.values() if channel_accepts(c, alert, scope)]
        chosen: dict[int, Channel] = {}
        for route in self.routes:
            if not route_matches(route, scope):
                continue
            channel = offered.get(route.channel_id)
            if channel is not None and channel_accepts(channel, alert, scope):
                chosen.setdefault(channel.id, channel)
            if not route.continue_matching:
                break
        return list(chosen.values())


def add_route(
    session: Session,
    *,
    name: str,
    channel: Channel,
    position: int = 0,
    levels: list[str] | None = None,
    dimensions: list[str] | None = None,
    region_ids: list[int] | None = None,
    cluster_ids: list[int] | None = None,
    min_severity: str = Severity.BLUE,
    continue_matching: bool = False,
    actor: str | None = None,
) -> Route:
    """Add a route sending matching alerts to ``channel``."""
    if not name.strip():
        raise AlertError("a route needs a name")
    if min_severity not in set(Severity):
        raise AlertError("unknown colour %(colour)s", colour=repr(min_severity))
    route = Route(
        name=name.strip(),
        channel=channel,
        channel_id=channel.id,
        position=position,
        enabled=True,
        levels=list(levels or []),
        dimensions=list(dimensions or []),
        region_ids=list(region_ids or []),
        cluster_ids=list(cluster_ids or []),
        min_severity=min_severity,
        continue_matching=continue_matching,
        updated_by=actor,
    )
    session.add(route)
    session.flush()
    return route
