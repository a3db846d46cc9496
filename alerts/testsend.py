"""A test send for any channel: one made-up message, sent once, right now, never retried.

Nothing goes through the outbox; the answer (delivered, or the transport's error) is
returned for the console to show.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from alerts.errors import TransportError
from alerts.notices import sample_digest
from alerts.transports import TransportFactory, transport_for
from monitor.config import Settings
from monitor.records import Channel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendCheck:
    """The outcome of a test send: ``ok``, or the error and whether retrying could help."""

    ok: bool
    error: str | None = None
    permanent: bool = False


def test_send(
    channel: Channel,
    settings: Settings,
    *,
    transport_factory: TransportFactory = transport_for,
    now: datetime | None = None,
) -> SendCheck:
    """Send a test message to ``channel`` once (even when the channel is disabled)."""
    digest = sample_digest(channel, base_url=settings.base_url, now=now)
    key = f"test-{uuid.uuid4().hex}"
    try:
        transport_factory(channel, settings).send(digest, key)
    except TransportError as exc:
        return SendCheck(ok=False, error=str(exc), permanent=exc.permanent)
    except Exception as exc:
        logger.error("channel %s: test send raised %s", channel.id, type(exc).__name__)
        return SendCheck(ok=False, error=f"unexpected {type(exc).__name__}", permanent=True)
    logger.info("channel %s: test message delivered", channel.id)
    return SendCheck(ok=True)


test_send.__test__ = False  # type: ignore[attr-defined]  # a service, not a pytest test
