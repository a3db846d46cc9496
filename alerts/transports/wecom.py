"""WeCom (企业微信) group robot: a Markdown message of at most 4,096 bytes.

WeCom robots are not signed; the ``key`` in the URL is the secret.
"""

from __future__ import annotations

from alerts.messages import render_markdown
from alerts.notices import Digest
from alerts.transports.http import encode_json, post
from alerts.transports.robots import RobotTransport, check_answer, robot_name

MAX_BYTES = 4_096
#: -1 system busy, 45009 API call frequency limit, 45033 too many concurrent calls
TRANSIENT_CODES = frozenset({-1, 45009, 45033})


def wecom_body(digest: Digest) -> dict[str, object]:
    return {
        "msgtype": "markdown",
        "markdown": {"content": render_markdown(digest, max_bytes=MAX_BYTES)},
    }


class WeComTransport(RobotTransport):
    """Post digests to one WeCom robot webhook (WeCom robots are not signed)."""

    def send(self, digest: Digest, idempotency_key: str) -> None:
        """Post the Markdown message; raise ``TransportError`` when WeCom refuses it."""
        shown = robot_name("WeCom", self.url)
        answer = post(self.url, encode_json(wecom_body(digest)), timeout=self.timeout, shown=shown)
        check_answer(shown, answer, code_keys=("errcode",), transient=TRANSIENT_CODES)
