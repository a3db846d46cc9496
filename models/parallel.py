"""How the compiled kernels run in parallel: one launch at a time, on a fork-safe layer.

The kernels spread their series over numba's threads. numba's fork-safe threading
layer (``workqueue`` when TBB is not installed) must not be entered by two threads at
once, and GNU OpenMP, its default choice otherwise, hangs in a forked child; the
console, the scheduler and a Dask worker all score from several threads. So the
layer is the fork-safe one (unless ``NUMBA_THREADING_LAYER`` names another) and every
launch holds one process-wide lock: concurrent callers queue, each launch still uses
every core.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "forksafe"

_LAUNCH = threading.Lock()


def launch(kernel: Callable[..., Any], *args: Any) -> None:
    """Run a parallel ``kernel`` on ``args`` once no other launch is running."""
    with _LAUNCH:
        kernel(*args)
