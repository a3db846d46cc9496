"""HTTP GET with configured headers, a timeout, and retries with backoff.

Header values never live in the database: a source's ``headers`` option maps a
header name to the name of an environment variable holding its value
(``{"Authorization": "STATS_API_TOKEN"}``). Network errors, timeouts, HTTP 429 and
5xx are retried with exponential backoff (``Retry-After`` is honoured when shorter
than the cap); any other HTTP error fails at once.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from monitor.errors import IngestError

__all__ = ["fetch", "headers_from_env"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 60.0


def headers_from_env(
    names: Mapping[str, str] | None, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Header name -> value, each value read from the environment variable named."""
    env = os.environ if env is None else env
    headers: dict[str, str] = {}
    for header, variable in (names or {}).items():
        value = env.get(variable)
        if value is None:
            raise IngestError(f"header {header}: environment variable {variable} is not set")
        headers[header] = value
    return headers


def _wait(attempt: int, backoff: float, retry_after: str | None) -> float:
    delay = backoff * 2**attempt
    if retry_after and retry_after.strip().isdigit():
        delay = max(delay, float(retry_after))
    return min(delay, MAX_BACKOFF)


def fetch(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], Any] = time.sleep,
) -> bytes:
    """The body of ``url``; ``IngestError`` once the retries are used up."""
    request = urllib.request.Request(url, headers={"User-Agent": "ClusterWatch", **(headers or {})})
    last = ""
    for attempt in range(retries + 1):
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_STATUSES:
                raise IngestError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            last, retry_after = f"HTTP {exc.code} {exc.reason}", exc.headers.get("Retry-After")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last = str(getattr(exc, "reason", exc))
        if attempt < retries:
            sleep(_wait(attempt, backoff, retry_after))
    raise IngestError(f"{url}: failed after {retries + 1} attempts: {last}")
