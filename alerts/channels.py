"""Notification channels: the configured ones kept in the table, and which alerts each takes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.errors import AlertError
from alerts.scopes import AlertScope
from alerts.states import ChannelType
from alerts.transports.http import safe_url
from monitor.config import Settings
from monitor.records import Alert, Channel
from monitor.vocabulary import ChannelKind, Level, Severity

NAME_LENGTH = 100
URL_KINDS = frozenset(
    {ChannelType.WEBHOOK, ChannelType.DINGTALK, ChannelType.WECOM, ChannelType.FEISHU}
)


def sync_channels_from_settings(session: Session, settings: Settings) -> list[Channel]:
    """Make sure an enabled channel exists for each configured address and webhook URL.

    Safe to run at every start: an existing (kind, target) row is reused and re-enabled,
    never duplicated. Channels no longer in the settings are left as they are. Returns
    the configured channels in settings order; runs inside the caller's transaction.
    """
    wanted: dict[tuple[str, str], str] = {}
    for address in settings.email_to:
        wanted.setdefault((ChannelKind.EMAIL, address), address)
    for url in settings.webhook_urls:
        # the name is shown in the console: keep query-string tokens out of it
        wanted.setdefault((ChannelKind.WEBHOOK, url), safe_url(url))
    if not wanted:
        return []

    targets = [target for _kind, target in wanted]
    existing = {
        (channel.kind, channel.target): channel
        for channel in session.scalars(select(Channel).where(Channel.target.in_(targets)))
    }
    channels: list[Channel] = []
    for (kind, target), name in wanted.items():
        channel = existing.get((kind, target))
        if channel is None:
            channel = Channel(kind=kind, target=target, name=name[:NAME_LENGTH], enabled=True)
            session.add(channel)
        else:
            channel.enabled = True
        channels.append(channel)
    session.flush()
    return channels


def channel_accepts(channel: Channel, alert: Alert, scope: AlertScope | None = None) -> bool:
    """Whether ``channel`` wants notices about ``alert`` (enabled, severe enough, in scope).

    A channel limited to some regions needs the alert's ``scope`` to tell; without it
    such a channel takes nothing.
    """
    if not channel.enabled:
        return False
    if Severity(alert.severity).rank < Severity(channel.min_severity or "blue").rank:
        return False
    if channel.levels and alert.level not in channel.levels:
        return False
    if channel.dimensions and alert.dimension not in channel.dimensions:
        return False
    if channel.regions:
        return scope is not None and not scope.region_ids.isdisjoint(channel.regions)
    return True


def create_channel(
    session: Session,
    *,
    kind: str,
    name: str,
    target: str,
    secret: str | None = None,
    locale: str = "zh_CN",
    min_severity: str = Severity.BLUE,
    levels: list[str] | None = None,
    dimensions: list[str] | None = None,
    regions: list[int] | None = None,
) -> Channel:
    """Add a channel after checking its kind, target and filters (``AlertError`` if bad).

    ``target`` is an email address for ``email`` and an http(s) URL for the webhook
    and robot kinds; ``secret`` signs what webhook, DingTalk and Feishu channels post.
    """
    if kind not in set(ChannelType):
        raise AlertError("unknown channel kind %(kind)s", kind=repr(kind))
    target = target.strip()
    if kind == ChannelType.EMAIL and ("@" not in target or " " in target):
        raise AlertError("%(target)s is not an email address", target=repr(target))
    if kind in URL_KINDS and not target.startswith(("http://", "https://")):
        raise AlertError("a webhook or robot channel needs an http(s) URL")
    if not name.strip():
        raise AlertError("a channel needs a name")
    if min_severity not in set(Severity):
        raise AlertError("unknown colour %(colour)s", colour=repr(min_severity))
    unknown_levels = set(levels or []) - set(Level)
    if unknown_levels:
        raise AlertError("unknown levels %(levels)s", levels=str(sorted(unknown_levels)))
    channel = Channel(
        kind=kind,
        name=name.strip()[:NAME_LENGTH],
        target=target,
        secret=secret or None,
        locale=locale,
        enabled=True,
        min_severity=min_severity,
        levels=list(levels or []),
        dimensions=list(dimensions or []),
        regions=list(regions or []),
    )
    session.add(channel)
    session.flush()
    return channel
