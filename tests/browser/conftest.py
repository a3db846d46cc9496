"""Browser fixtures: the console served on a free port from a small seeded SQLite
database, and Debian's chromium driven by Playwright (no browser download).

Without chromium or Playwright the browser tests are skipped, except when ``CI`` is
set: then they fail and say what to install.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from monitor.db import Database, forget_databases
from monitor.migrate import upgrade
from tests.web.dataset import World, build_world
from web import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "browser tests need Debian's chromium and Playwright: "
    "apt-get install -y chromium fonts-wqy-microhei && .venv/bin/pip install playwright"
)
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def _unavailable(reason: str) -> None:
    message = f"{reason}; {INSTALL_HINT}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class LiveServer:
    url: str
    world: World


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browser")
    database = Database(f"sqlite:///{folder / 'console.db'}")
    upgrade(database)
    with database.session() as session:
        world = build_world(session, datetime(2024, 7, 1, 8, 0, tzinfo=UTC))
    app = create_app(
        {
            "DATABASE_URL": database.url,
            "SECRET_KEY": "browser-test-secret",
            "DATA_DIR": str(folder),
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", world=world)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["clusterwatch"].dispose()
    database.dispose()
    forget_databases()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    # bypass_csp lets the axe-core check inject its script; the pages themselves keep
    # their Content-Security-Policy header, which the tests check separately.
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 768}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page: Any, username: str) -> None:
    from tests.web.dataset import PASSWORD

    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
