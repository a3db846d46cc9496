"""DingTalk (钉钉) custom robot: a Markdown message, signed when the robot has a secret.

Signing ("加签"): ``timestamp`` in milliseconds, ``sign`` = Base64 of HMAC-SHA256 with
the secret as key over ``timestamp + "\\n" + secret``; both go URL-encoded into the
query string next to ``access_token``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

from alerts.messages import render_markdown, render_subject
from alerts.notices import Digest
from alerts.transports.http import encode_json, post
from alerts.transports.robots import RobotTransport, check_answer, robot_name

MAX_BYTES = 18_000  # DingTalk takes 20,000 bytes; leave room for the JSON around it
#: -1 system busy, 130101 more than 20 messages a minute
TRANSIENT_CODES = frozenset({-1, 130101})


def dingtalk_signature(timestamp_ms: int, secret: str) -> str:
    """The Base64 ``sign`` of ``timestamp_ms`` (not yet URL-encoded)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """``url`` with ``timestamp`` and ``sign`` added to its query string."""
    sign = quote_plus(dingtalk_signature(timestamp_ms, secret))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


def dingtalk_body(digest: Digest) -> dict[str, object]:
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": render_subject(digest),
            "text": render_markdown(digest, max_bytes=MAX_BYTES),
        },
    }


class DingTalkTransport(RobotTransport):
    """Post digests to one DingTalk robot webhook."""

    def send(self, digest: Digest, idempotency_key: str) -> None:
        """Post the Markdown message; raise ``TransportError`` when DingTalk refuses it."""
        shown = robot_name("DingTalk", self.url)
        url = self.url
        if self.secret:
            url = signed_url(url, self.secret, int(self.clock() * 1000))
        answer = post(url, encode_json(dingtalk_body(digest)), timeout=self.timeout, shown=shown)
        check_answer(shown, answer, code_keys=("errcode",), transient=TRANSIENT_CODES)
