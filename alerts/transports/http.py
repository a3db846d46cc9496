"""POSTing JSON for the webhook and robot transports: no redirects, errors without secrets.

Connection failures and timeouts raise a transient ``TransportError``; what the answer
means is for each transport to judge from ``HttpAnswer``.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from alerts.errors import TransportError

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "ClusterWatch-Webhook/1"
MAX_RESPONSE_BYTES = 64 * 1024


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``: no credentials, query string or fragment.

    Webhook tokens often sit in the query string (``?access_token=...``) or the path's
    last part, so this is the only form of a URL that errors, logs and channel names
    may show (robot transports shorten the path further).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme}://{netloc}{parts.path}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn a redirected POST into a GET without the body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes

    def json(self) -> Any:
        """The answer's JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def encode_json(payload: Any) -> bytes:
    """UTF-8 JSON, Chinese as it is (not ``\\u`` escapes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    shown: str | None = None,
) -> HttpAnswer:
    """POST ``body`` as JSON to ``url``; any HTTP status is returned, not raised.

    ``shown`` names the destination in errors (default: ``safe_url(url)``).
    """
    shown = shown or safe_url(url)
    if urlsplit(url).scheme not in {"http", "https"}:
        raise TransportError(f"{shown}: only http and https URLs", permanent=True)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.read(MAX_RESPONSE_BYTES))
    except urllib.error.HTTPError as exc:
        try:
            answer = HttpAnswer(exc.code, exc.read(MAX_RESPONSE_BYTES))
        except (OSError, http.client.HTTPException):
            answer = HttpAnswer(exc.code, b"")
        exc.close()
        return answer
    except urllib.error.URLError as exc:
        raise TransportError(f"{shown}: {describe(exc.reason, timeout)}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{shown}: {describe(exc, timeout)}") from None


def check_status(shown: str, status: int) -> None:
    """2xx passes; 429 and 5xx are transient; anything else (3xx, 4xx) is permanent."""
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise TransportError(f"{shown} answered {status}")
    raise TransportError(f"{shown} answered {status}", permanent=True)


def describe(reason: object, timeout: float) -> str:
    """A short cause without the URL (an exception's text might repeat it)."""
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "host name not found"
    if isinstance(reason, OSError) and reason.strerror:
        return f"{type(reason).__name__}: {reason.strerror}"
    return type(reason).__name__
