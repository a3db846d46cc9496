"""A delivery process killed in the middle of a batch loses nothing (a real ``kill -9``)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from alerts.dispatch import LEASE
from alerts.outbox import enqueue
from monitor.records import Channel, Delivery, Notification
from tests.alerts.conftest import CONSOLE_URL
from tests.alerts.workers import start_worker

CHANNELS = 8


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the worker made no progress")
        time.sleep(0.02)


def test_killed_mid_batch_the_rest_is_delivered_after_restart_and_nothing_is_lost(
    any_database, seed_alert, webhook_server, tmp_path, now
):
    database = any_database
    with database.session() as session:
        channels = [
            Channel(kind="webhook", target=webhook_server.url(f"/c{n}"), name=f"c{n}")
            for n in range(CHANNELS)
        ]
        session.add_all(channels)
        session.flush()
        alert, event = seed_alert(session)
        enqueue(session, alert, event, channels)
    webhook_server.delay = 0.3  # a slow receiver: the batch takes a while
    moment = now + timedelta(minutes=1)

    worker = start_worker(database.url, base_url=CONSOLE_URL, data_dir=tmp_path, now=moment)
    _wait_for(lambda: len(webhook_server.requests) >= 3)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    with database.session() as session:
        before = Counter(session.scalars(select(Delivery.status)))
    webhook_server.delay = 0.0
    restarted = start_worker(  # a new process, once the killed one's lease has run out
        database.url,
        base_url=CONSOLE_URL,
        data_dir=tmp_path,
        now=moment + LEASE + timedelta(seconds=1),
    )
    output, errors = restarted.communicate(timeout=60)

    assert worker.returncode == -signal.SIGKILL
    assert restarted.returncode == 0, errors
    assert sum(before.values()) == CHANNELS  # every group was formed before the kill
    assert 0 < before["sent"] < CHANNELS  # killed in the middle
    assert before["sending"] <= 1  # the one in flight keeps its claim
    assert int(output.split()[0]) == CHANNELS - before["sent"]  # what the restart sent
    with database.session() as session:
        keys = {d.idempotency_key for d in session.scalars(select(Delivery))}
        statuses = Counter(session.scalars(select(Notification.status)))
    received = Counter(r.headers["Idempotency-Key"] for r in webhook_server.arrived)
    assert statuses == {"sent": CHANNELS}
    assert set(received) == keys  # nothing lost
    assert sum(received.values()) - len(received) <= 1  # only the in-flight one may repeat
    assert {r.path for r in webhook_server.requests if r.status == 200} == {
        f"/c{n}" for n in range(CHANNELS)
    }
