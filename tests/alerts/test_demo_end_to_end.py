"""The whole loop on the demo data: ingest → score → alert → notify → deliver.

The demo is loaded once per backend (SQLite, and PostgreSQL when configured) and
backfilled; then the live feed publishes the next month, whose new alerts must reach
a real SMTP server and a real webhook receiver exactly once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from alerts.dispatch import deliver_due
from alerts.states import MUTED_STATUSES
from monitor.cli import main
from monitor.config import Settings
from monitor.db import Database, forget_databases
from monitor.demo.feed import pull_next_period
from monitor.demo.load import load_demo
from monitor.migrate import upgrade
from monitor.pipeline import score_indicators
from monitor.queries import current_stages
from monitor.records import Alert, Channel, Notification, StageRecord
from monitor.vocabulary import Dimension, Level
from tests.alerts.conftest import HookServer, SmtpServer
from tests.conftest import PG_URL_VAR

pytestmark = pytest.mark.slow

LOADED_AT = datetime(2026, 10, 2, tzinfo=UTC)
FEED_AT = datetime(2026, 11, 27, tzinfo=UTC)
DELIVER_AT = FEED_AT + timedelta(minutes=1)  # past the wait before a new group is sent


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A database holding the demo data, backfilled."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
        database = Database(url)
    else:
        url = os.environ.get(PG_URL_VAR, "")
        if not url:
            pytest.skip(f"{PG_URL_VAR} is not set")
        database = Database(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(database)
    assert load_demo(database, now=LOADED_AT).loaded
    score_indicators(database, now=LOADED_AT)
    yield database
    database.dispose()
    forget_databases()


def test_demo_raises_alerts_in_every_level_and_dimension(demo: Database) -> None:
    with demo.session() as session:
        cells = set(session.execute(select(Alert.level, Alert.dimension).distinct()).all())
    assert cells >= {(level.value, dim.value) for level in Level for dim in Dimension}


def test_demo_history_visits_every_stage_and_now_shows_several(demo: Database) -> None:
    with demo.session() as session:
        ever = set(session.scalars(select(StageRecord.stage).distinct()))
        now = current_stages(session)
    assert ever == {"preparation", "absorption", "adaptation", "recovery"}
    assert len({row["stage"] for row in now}) >= 2
    assert {row["entity"]["level"] for row in now} == {"government", "industry"}


def test_demo_loads_nothing_twice(demo: Database) -> None:
    assert not load_demo(demo).loaded


def test_cli_lists_alerts_and_stages_as_json(demo: Database) -> None:
    runner = CliRunner()
    env = {"CLUSTERWATCH_DATABASE_URL": demo.url}
    alerts = runner.invoke(
        main, ["alerts", "--json", "--status", "open", "--level", "enterprise"], env=env
    )
    stages = runner.invoke(main, ["stages", "--json"], env=env)

    assert alerts.exit_code == 0, alerts.output
    rows = json.loads(alerts.output)
    assert rows and {r["status"] for r in rows} <= {"firing", "acknowledged"}
    first = rows[0]
    assert {
        "id",
        "entity",
        "indicator",
        "model",
        "severity",
        "status",
        "period",
        "value",
        "threshold",
        "opened_at",
    } <= set(first)
    assert first["entity"]["level"] == "enterprise"
    assert first["indicator"]["frequency"] in {"M", "Q", "A"}
    assert stages.exit_code == 0, stages.output
    assert {"entity", "stage", "since"} <= set(json.loads(stages.output)[0])


def test_next_month_reaches_email_and_webhook_once(
    demo: Database,
    start_smtp: Callable[..., SmtpServer],
    webhook_server: HookServer,
    tmp_path: Path,
) -> None:
    smtp = start_smtp()
    with demo.session() as session:
        session.add(Channel(name="ops", kind="email", target="ops@example.org"))
        session.add(Channel(name="hook", kind="webhook", target=webhook_server.url()))
    settings = Settings.from_env(
        {
            "CLUSTERWATCH_DATABASE_URL": demo.url,
            "CLUSTERWATCH_SECRET_KEY": "test",
            "CLUSTERWATCH_DATA_DIR": str(tmp_path),
            "CLUSTERWATCH_SMTP_HOST": "127.0.0.1",
            "CLUSTERWATCH_SMTP_PORT": str(smtp.port),
        }
    )

    ingest = pull_next_period(demo, now=FEED_AT)
    assert ingest is not None and ingest.inserted > 0
    scored = score_indicators(demo, changed=ingest.changed, now=FEED_AT)
    assert scored.alerts.notifications > 0
    report = deliver_due(demo, settings, now=DELIVER_AT, limit=10_000)

    with demo.session() as session:
        statuses = dict(
            session.execute(
                select(Notification.status, func.count()).group_by(Notification.status)
            ).all()
        )
    assert statuses.keys() <= {"sent", *MUTED_STATUSES} and statuses.get("sent", 0) > 0
    assert report.sent > 0
    assert len(webhook_server.delivered()) > 0 and len(smtp.mailbox.messages) > 0

    again = score_indicators(demo, changed=ingest.changed, now=FEED_AT)
    second = deliver_due(demo, settings, now=DELIVER_AT, limit=10_000)
    assert again.alerts.opened == again.alerts.notifications == 0
    assert second.sent == 0
    assert pull_next_period(demo, now=FEED_AT) is None  # November is not over yet
