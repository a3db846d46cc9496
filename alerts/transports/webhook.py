"""Generic webhook transport: POST the message's JSON payload to a URL."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from alerts.errors import TransportError
from alerts.messages import AlertMessage

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "ClusterWatch-Webhook/1"
MAX_RESPONSE_BYTES = 64 * 1024


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``: no credentials, query string or fragment.

    Webhook tokens often sit in the query string (``?access_token=...``), so this is
    the only form of a URL that errors, logs and channel names may show.
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


class WebhookTransport:
    """Deliver messages as ``application/json`` POSTs to one URL.

    A 2xx answer is success; 429, 5xx, timeouts and connection errors are transient;
    any other answer (3xx, 4xx) is permanent.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, message: AlertMessage, idempotency_key: str) -> None:
        """POST ``message.payload``; raise ``TransportError`` unless the answer is 2xx."""
        shown = safe_url(self.url)
        if urlsplit(self.url).scheme not in {"http", "https"}:
            raise TransportError(f"webhook {shown}: only http and https URLs", permanent=True)
        body = json.dumps(message.payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                response.read(MAX_RESPONSE_BYTES)
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            status = exc.code
        except urllib.error.URLError as exc:
            raise TransportError(
                f"webhook {shown}: {_describe(exc.reason, self.timeout)}"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"webhook {shown}: {_describe(exc, self.timeout)}") from None
        _check_status(shown, status)


def _check_status(shown: str, status: int) -> None:
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise TransportError(f"webhook {shown} answered {status}")
    raise TransportError(f"webhook {shown} answered {status}", permanent=True)


def _describe(reason: object, timeout: float) -> str:
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
