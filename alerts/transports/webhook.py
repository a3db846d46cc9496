"""Generic webhook transport: an Alertmanager-style (version 4) JSON payload, signed.

Receivers written for Prometheus Alertmanager's webhook work unchanged. Each POST
carries ``Idempotency-Key`` (the same on every retry of one message) and, when the
channel has a secret, ``X-ClusterWatch-Signature: sha256=<hex>``: the HMAC-SHA256 of
the exact body bytes with that secret.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from alerts.notices import Digest, Notice
from alerts.transports.http import (
    DEFAULT_TIMEOUT,
    check_status,
    encode_json,
    post,
    safe_url,
)

PAYLOAD_VERSION = "4"
ALERT_NAME = "ClusterWatchWarning"
TEST_ALERT_NAME = "ClusterWatchTest"
SIGNATURE_HEADER = "X-ClusterWatch-Signature"
NEVER = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing
MAX_ALERTS = 500

__all__ = ["WebhookTransport", "alertmanager_payload", "safe_url", "sign"]


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=`` + hex HMAC-SHA256 of ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return NEVER
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _labels(notice: Notice, test: bool) -> dict[str, str]:
    labels = {
        "alertname": TEST_ALERT_NAME if test else ALERT_NAME,
        "severity": notice.severity,
        "level": notice.level,
        "dimension": notice.dimension,
        "entity": notice.entity_code,
        "indicator": notice.indicator_code,
        "model": notice.model,
    }
    labels.update(notice.labels)
    return labels


def _annotations(digest: Digest, notice: Notice) -> dict[str, str]:
    annotations = {
        "summary": f"{notice.entity_names[0]} · {notice.indicator_names[0]}",
        "summary_en": f"{notice.entity_names[1]} · {notice.indicator_names[1]}",
        "event": notice.event,
        "status": notice.status,
        "period": (notice.event_period or notice.first_period).isoformat(),
        "value": "" if notice.value is None else repr(notice.value),
        "threshold": "" if notice.threshold is None else repr(notice.threshold),
        "worst_severity": notice.worst_severity,
        "url": digest.alert_url(notice),
    }
    if notice.periods_lasted is not None:
        annotations["periods_lasted"] = str(notice.periods_lasted)
    if notice.playbook[0] or notice.playbook[1]:
        annotations["playbook"] = notice.playbook_text("zh_CN")
        annotations["playbook_en"] = notice.playbook_text("en")
    if notice.assignee:
        annotations["assignee"] = notice.assignee
    return annotations


def _common(mappings: list[dict[str, str]]) -> dict[str, str]:
    if not mappings:
        return {}
    first = mappings[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in mappings[1:])}


def alertmanager_payload(digest: Digest) -> dict[str, Any]:
    """The version-4 webhook body of ``digest``."""
    shown = digest.notices[:MAX_ALERTS]
    alerts = [
        {
            "status": "firing" if notice.firing else "resolved",
            "labels": _labels(notice, digest.test),
            "annotations": _annotations(digest, notice),
            "startsAt": _iso(notice.opened_at),
            "endsAt": NEVER if notice.firing else _iso(notice.resolved_at or notice.event_at),
            "generatorURL": digest.alert_url(notice),
            "fingerprint": notice.fingerprint,
        }
        for notice in shown
    ]
    group_labels = {
        "level": digest.level,
        "dimension": digest.dimension,
        "scope": digest.scope_code,
    }
    matchers = ", ".join(f'{name}="{value}"' for name, value in sorted(group_labels.items()))
    return {
        "version": PAYLOAD_VERSION,
        "groupKey": f"{{}}:{{{matchers}}}",
        "truncatedAlerts": len(digest.notices) - len(shown),
        "status": "firing" if digest.firing else "resolved",
        "receiver": digest.channel_name,
        "groupLabels": group_labels,
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": digest.base_url.rstrip("/"),
        "alerts": alerts,
    }


class WebhookTransport:
    """Deliver digests as signed Alertmanager-style POSTs to one URL.

    A 2xx answer is success; 429, 5xx, timeouts and connection errors are transient;
    any other answer (3xx, 4xx) is permanent.
    """

    def __init__(
        self, url: str, *, secret: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def send(self, digest: Digest, idempotency_key: str) -> None:
        """POST the payload; raise ``TransportError`` unless the answer is 2xx."""
        shown = f"webhook {safe_url(self.url)}"
        body = encode_json(alertmanager_payload(digest))
        headers = {"Idempotency-Key": idempotency_key}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        answer = post(self.url, body, headers=headers, timeout=self.timeout, shown=shown)
        check_status(shown, answer.status)
