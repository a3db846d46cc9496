"""Transports: one small class per channel kind, each with ``send(message, idempotency_key)``.

A new channel kind is a new module here plus one entry in ``FACTORIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from alerts.errors import TransportError
from alerts.messages import AlertMessage
from alerts.transports.email import EmailTransport
from alerts.transports.webhook import WebhookTransport
from monitor.config import Settings
from monitor.records import Channel
from monitor.vocabulary import ChannelKind


class Transport(Protocol):
    """Delivers a message or raises ``TransportError`` (``permanent`` when retrying is futile)."""

    def send(self, message: AlertMessage, idempotency_key: str) -> None: ...


TransportFactory = Callable[[Channel, Settings], Transport]


def _email(channel: Channel, settings: Settings) -> Transport:
    return EmailTransport(settings.smtp, to=channel.target)


def _webhook(channel: Channel, settings: Settings) -> Transport:
    return WebhookTransport(channel.target)


FACTORIES: dict[str, TransportFactory] = {
    ChannelKind.EMAIL: _email,
    ChannelKind.WEBHOOK: _webhook,
}


def transport_for(channel: Channel, settings: Settings) -> Transport:
    """The transport that delivers to ``channel``; an unknown kind is a permanent error."""
    factory = FACTORIES.get(channel.kind)
    if factory is None:
        raise TransportError(f"no transport for channel kind {channel.kind!r}", permanent=True)
    return factory(channel, settings)


__all__ = [
    "FACTORIES",
    "EmailTransport",
    "Transport",
    "TransportFactory",
    "WebhookTransport",
    "transport_for",
]
