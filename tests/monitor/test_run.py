"""``clusterwatch run``: one process prepares the database, then serves the console.

The demo's loading and backfill are proven in ``tests/alerts/test_demo_end_to_end.py``;
here the database already holds the demo marker, as on every start after the first, so
the test sees the command itself: migrations, first administrator, address, console.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from monitor.db import Database
from monitor.demo.load import EPISODES_KEY, LOADED_KEY
from monitor.records import Setting
from monitor.users import authenticate

ROOT = Path(__file__).resolve().parents[2]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(database: Database, data_dir: Path, port: int) -> subprocess.Popen[str]:
    environment = {
        key: value for key, value in os.environ.items() if key != "CLUSTERWATCH_ADMIN_PASSWORD"
    }
    environment |= {
        "CLUSTERWATCH_DATABASE_URL": database.url,
        "CLUSTERWATCH_PORT": str(port),
        "CLUSTERWATCH_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-c", "from monitor.cli import main; main()", "run"]
    return subprocess.Popen(
        command, env=environment, cwd=data_dir, stdout=subprocess.PIPE, text=True
    )


def _status(url: str) -> int:
    try:
        with urllib.request.build_opener(_NoRedirect).open(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _serve_then_stop(process: subprocess.Popen[str], base: str) -> tuple[int, int, str]:
    """The health and alert-list statuses once it serves, and everything it printed."""
    deadline = time.monotonic() + 120
    try:
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                health = _status(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the console never answered"
                time.sleep(0.3)
        alerts = _status(f"{base}/alerts/")
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    return health, alerts, output


def test_run_serves_the_console_and_prints_its_address_and_the_first_login(
    any_database: Database, tmp_path: Path
) -> None:
    with any_database.session() as session:
        marker = {"last_period": "2026-09-01", EPISODES_KEY: 0}
        session.add(Setting(key=LOADED_KEY, value=json.dumps(marker)))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    health, alerts, first = _serve_then_stop(_start(any_database, tmp_path, port), base)
    _, _, second = _serve_then_stop(_start(any_database, tmp_path, port), base)

    assert (health, alerts) == (200, 302)  # up, and the alerts ask for a login
    assert f"{base}/" in first and f"{base}/" in second
    login = re.search(r"first administrator: admin / (\S+)", first)
    assert login is not None, first
    with any_database.session() as session:
        assert authenticate(session, "admin", login.group(1)) is not None
    assert "nothing loaded twice" in second
    assert "first administrator" not in second and "log in as admin" in second
