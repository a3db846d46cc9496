"""Feishu (飞书) custom bot: a text message, signed when the bot has a secret.

Signing ("签名校验"): ``timestamp`` in seconds; ``sign`` = Base64 of HMAC-SHA256 whose
*key* is ``timestamp + "\\n" + secret`` over an empty message; both go into the JSON
body. Feishu answers ``{"code": 0, ...}`` (older bots ``{"StatusCode": 0, ...}``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from alerts.messages import render_subject, render_text
from alerts.notices import Digest
from alerts.transports.http import encode_json, post
from alerts.transports.robots import RobotTransport, check_answer, robot_name

MAX_CHARACTERS = 15_000  # Feishu takes about 20 KB of text per message
#: 11232 frequency limited
TRANSIENT_CODES = frozenset({11232})


def feishu_signature(timestamp: int, secret: str) -> str:
    """The Base64 ``sign`` of ``timestamp`` (seconds)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def feishu_body(digest: Digest, *, secret: str | None, timestamp: int) -> dict[str, object]:
    text = f"{render_subject(digest)}\n\n{render_text(digest)}"
    if len(text) > MAX_CHARACTERS:
        text = text[: MAX_CHARACTERS - 1] + "…"
    body: dict[str, object] = {"msg_type": "text", "content": {"text": text}}
    if secret:
        body = {"timestamp": str(timestamp), "sign": feishu_signature(timestamp, secret), **body}
    return body


class FeishuTransport(RobotTransport):
    """Post digests to one Feishu bot webhook."""

    def send(self, digest: Digest, idempotency_key: str) -> None:
        """Post the text message; raise ``TransportError`` when Feishu refuses it."""
        shown = robot_name("Feishu", self.url)
        body = feishu_body(digest, secret=self.secret, timestamp=int(self.clock()))
        answer = post(self.url, encode_json(body), timeout=self.timeout, shown=shown)
        check_answer(shown, answer, code_keys=("code", "StatusCode"), transient=TRANSIENT_CODES)
