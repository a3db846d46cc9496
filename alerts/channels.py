"""Notification channels: the configured ones kept in the table, and which alerts each takes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.transports.webhook import safe_url
from monitor.config import Settings
from monitor.records import Alert, Channel
from monitor.vocabulary import ChannelKind, Severity

NAME_LENGTH = 100


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


def channel_accepts(channel: Channel, alert: Alert) -> bool:
    """Whether ``channel`` wants notices about ``alert`` (enabled, severe enough, in scope)."""
    if not channel.enabled:
        return False
    if Severity(alert.severity).rank < Severity(channel.min_severity).rank:
        return False
    if channel.levels and alert.level not in channel.levels:
        return False
    return not (channel.dimensions and alert.dimension not in channel.dimensions)
