"""Two delivery processes on one database, many notifications: each is sent exactly once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select

from alerts.outbox import enqueue
from alerts.routing import Router
from monitor.records import Alert, AlertEvent, Channel, Delivery, Entity, Indicator, Notification
from tests.alerts.conftest import CONSOLE_URL
from tests.alerts.workers import start_worker

CLUSTERS, FIRMS_PER_CLUSTER, CHANNELS = 5, 8, 3


def _seed(session, webhook_server, now) -> int:
    """40 firms in 5 clusters, each alert queued for 3 channels: 120 notices, 15 groups."""
    channels = [
        Channel(kind="webhook", target=webhook_server.url(f"/w{n}"), name=f"w{n}")
        for n in range(CHANNELS)
    ]
    indicator = Indicator(
        code="revenue",
        name_zh="营业收入",
        name_en="Revenue",
        dimension="trade",
        level="enterprise",
        unit="%",
        frequency="M",
        direction="down",
        transform="yoy",
    )
    session.add_all([*channels, indicator])
    session.flush()
    router = Router([])
    queued = 0
    for c in range(CLUSTERS):
        cluster = Entity(
            code=f"C{c}",
            name_zh=f"集群{c}",
            name_en=f"Cluster {c}",
            level="industry",
            kind="cluster",
        )
        session.add(cluster)
        session.flush()
        for f in range(FIRMS_PER_CLUSTER):
            firm = Entity(
                code=f"C{c}-F{f}",
                name_zh=f"企业{c}-{f}",
                name_en=f"Firm {c}-{f}",
                level="enterprise",
                kind="firm",
                cluster_id=cluster.id,
            )
            alert = Alert(
                fingerprint=f"C{c}-F{f}",
                entity=firm,
                indicator=indicator,
                model="threshold",
                level="enterprise",
                dimension="trade",
                severity="yellow",
                worst_severity="yellow",
                status="firing",
                period=date(2024, 5, 1),
                last_period=date(2024, 5, 1),
                opened_at=now,
                updated_at=now,
            )
            event = AlertEvent(
                alert=alert,
                kind="opened",
                at=now,
                period=date(2024, 5, 1),
                to_status="firing",
                to_severity="yellow",
            )
            session.add_all([firm, alert, event])
            session.flush()
            queued += len(enqueue(session, alert, event, channels, router=router))
    return queued


def test_two_worker_processes_send_each_notification_exactly_once(
    any_database, webhook_server, tmp_path, now
):
    database = any_database
    with database.session() as session:
        queued = _seed(session, webhook_server, now)
    moment = now + timedelta(minutes=1)

    workers = [
        start_worker(database.url, base_url=CONSOLE_URL, data_dir=tmp_path, now=moment)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    sent_by = [int(stdout.split()[0]) for stdout, _stderr in outputs]
    keys = Counter(r.headers["Idempotency-Key"] for r in webhook_server.requests)
    alerts_told = Counter(
        (request.path, alert["fingerprint"])
        for request in webhook_server.requests
        for alert in json.loads(request.body)["alerts"]
    )
    with database.session() as session:
        deliveries = list(session.scalars(select(Delivery)))
        statuses = Counter(session.scalars(select(Notification.status)))
    assert queued == CLUSTERS * FIRMS_PER_CLUSTER * CHANNELS == 120
    assert len(deliveries) == CLUSTERS * CHANNELS  # one message per cluster and channel
    assert sum(sent_by) == len(deliveries)
    assert set(keys.values()) == {1}
    assert set(keys) == {d.idempotency_key for d in deliveries}
    assert len(alerts_told) == 120 and set(alerts_told.values()) == {1}
    assert statuses == {"sent": 120}
