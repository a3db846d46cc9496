"""Long jobs started from the console run in a background thread, so the request
returns at once and the job's page shows its progress while it works.

The job records its own outcome in ``job_runs``; an exception is logged here too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_threads: list[threading.Thread] = []
_lock = threading.Lock()


def start_job(name: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``function(*args, **kwargs)`` in a new thread named ``name``."""

    def run() -> None:
        try:
            function(*args, **kwargs)
        except Exception:
            logger.exception("background job %s failed", name)

    thread = threading.Thread(target=run, name=f"clusterwatch-{name}", daemon=True)
    with _lock:
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(thread)
    thread.start()


def wait_for_jobs(timeout: float = 60.0) -> bool:
    """Wait for every background job started so far; ``False`` if one is still running."""
    with _lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)
    return not any(thread.is_alive() for thread in threads)
