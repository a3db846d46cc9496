"""Run ``deliver_due`` in a separate, real Python process (the crash and race tests)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

CHILD = """
import sys
from datetime import datetime
from pathlib import Path

from alerts.dispatch import deliver_due
from monitor.config import Settings
from monitor.db import Database

url, base_url, data_dir, moment = sys.argv[1:5]
settings = Settings(
    database_url=url, secret_key="test", data_dir=Path(data_dir), base_url=base_url
)
report = deliver_due(Database(url), settings, now=datetime.fromisoformat(moment))
print(report.sent, report.retried, report.dead, flush=True)
"""


def start_worker(url: str, *, base_url: str, data_dir: Path, now: datetime) -> subprocess.Popen:
    """A delivery pass in its own process, at the fixed clock ``now``."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, base_url, str(data_dir), now.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
