"""What the DingTalk, WeCom and Feishu robot transports share: the answer's error code.

Chat robots answer HTTP 200 even when they refuse a message and say why in the JSON
body (``errcode`` or ``code``, 0 meaning success). Rate limits and "system busy"
codes are transient; a bad token, a failed signature, a keyword filter or a malformed
message are permanent. Robot URLs carry their token in the query string (DingTalk,
WeCom) or the path (Feishu), so errors name the robot by host only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from alerts.errors import TransportError
from alerts.transports.http import DEFAULT_TIMEOUT, HttpAnswer, check_status


class RobotTransport:
    """One robot webhook: its URL, the secret it signs with (if any), a timeout, a clock."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.clock = clock


def robot_name(kind: str, url: str) -> str:
    """How errors name a robot: its kind and host, never the token."""
    return f"{kind} robot {urlsplit(url).hostname or '?'}"


def check_answer(
    shown: str, answer: HttpAnswer, *, code_keys: Iterable[str], transient: frozenset[int]
) -> None:
    """Raise ``TransportError`` unless ``answer`` is a 2xx whose JSON code is 0."""
    check_status(shown, answer.status)
    data = answer.json()
    if not isinstance(data, dict):
        raise TransportError(f"{shown} gave an unreadable answer")
    for key in code_keys:
        if key in data:
            code = data[key]
            break
    else:
        raise TransportError(f"{shown} gave no result code")
    if code == 0:
        return
    message = str(data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or "")
    try:
        permanent = int(code) not in transient
    except (TypeError, ValueError):
        permanent = True
    raise TransportError(
        f"{shown} refused the message: {code} {message}".strip(), permanent=permanent
    )
