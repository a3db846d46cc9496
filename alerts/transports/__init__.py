"""Transports: one small class per channel kind, each with ``send(digest, idempotency_key)``.

A new channel kind is a new module here plus one entry in ``FACTORIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from alerts.errors import TransportError
from alerts.notices import Digest
from alerts.states import ChannelType
from alerts.transports.dingtalk import DingTalkTransport
from alerts.transports.email import EmailTransport
from alerts.transports.feishu import FeishuTransport
from alerts.transports.webhook import WebhookTransport
from alerts.transports.wecom import WeComTransport
from monitor.config import Settings
from monitor.records import Channel


class Transport(Protocol):
    """Delivers a digest or raises ``TransportError`` (``permanent`` when retrying is futile)."""

    def send(self, digest: Digest, idempotency_key: str) -> None: ...


TransportFactory = Callable[[Channel, Settings], Transport]


def _email(channel: Channel, settings: Settings) -> Transport:
    return EmailTransport(settings.smtp, to=channel.target)


def _webhook(channel: Channel, settings: Settings) -> Transport:
    return WebhookTransport(channel.target, secret=channel.secret)


def _dingtalk(channel: Channel, settings: Settings) -> Transport:
    return DingTalkTransport(channel.target, secret=channel.secret)


def _wecom(channel: Channel, settings: Settings) -> Transport:
    return WeComTransport(channel.target)


def _feishu(channel: Channel, settings: Settings) -> Transport:
    return FeishuTransport(channel.target, secret=channel.secret)


FACTORIES: dict[str, TransportFactory] = {
    ChannelType.EMAIL: _email,
    ChannelType.WEBHOOK: _webhook,
    ChannelType.DINGTALK: _dingtalk,
    ChannelType.WECOM: _wecom,
    ChannelType.FEISHU: _feishu,
}


def transport_for(channel: Channel, settings: Settings) -> Transport:
    """The transport that delivers to ``channel``; an unknown kind is a permanent error."""
    factory = FACTORIES.get(channel.kind)
    if factory is None:
        raise TransportError(f"no transport for channel kind {channel.kind!r}", permanent=True)
    return factory(channel, settings)


__all__ = [
    "FACTORIES",
    "DingTalkTransport",
    "EmailTransport",
    "FeishuTransport",
    "Transport",
    "TransportFactory",
    "WeComTransport",
    "WebhookTransport",
    "transport_for",
]
