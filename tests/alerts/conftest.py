"""Fixtures of the alerting tests: alerts in a small world, a real SMTP and HTTP server."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.outbox import enqueue
from monitor.config import Settings
from monitor.records import Alert, AlertEvent, Channel, Entity, Indicator
from monitor.vocabulary import AlertStatus, EventKind

CONSOLE_URL = "http://console.example"

SeedAlert = Callable[..., tuple[Alert, AlertEvent]]
RaiseAlert = Callable[..., tuple[Alert, AlertEvent]]


@pytest.fixture
def seed_alert(now: datetime) -> SeedAlert:
    """Add an alert on Weifang's industrial value added with its "opened" event."""
    serial = itertools.count(1)

    def seed(
        session: Session,
        *,
        severity: str = "red",
        level: str = "government",
        dimension: str = "economic",
        entity_code: str = "weifang",
        entity_name_zh: str = "潍坊市",
        entity_name_en: str = "Weifang",
    ) -> tuple[Alert, AlertEvent]:
        entity = session.scalar(select(Entity).where(Entity.code == entity_code))
        if entity is None:
            entity = Entity(
                code=entity_code,
                name_zh=entity_name_zh,
                name_en=entity_name_en,
                level=level,
                kind="city",
            )
        indicator = session.scalar(select(Indicator).where(Indicator.code == "industrial_va_yoy"))
        if indicator is None:
            indicator = Indicator(
                code="industrial_va_yoy",
                name_zh="工业增加值同比",
                name_en="Industrial value added YoY",
                dimension=dimension,
                level=level,
                unit="%",
                frequency="M",
                direction="down",
                transform="yoy",
            )
        opened_at = now - timedelta(minutes=5)
        alert = Alert(
            fingerprint=f"{entity_code}:industrial_va_yoy:threshold:{next(serial)}",
            entity=entity,
            indicator=indicator,
            model="threshold",
            level=level,
            dimension=dimension,
            severity=severity,
            worst_severity=severity,
            status=AlertStatus.FIRING,
            period=date(2024, 5, 1),
            last_period=date(2024, 5, 1),
            value=-3.2,
            threshold=-2.0,
            opened_at=opened_at,
            updated_at=opened_at,
        )
        event = AlertEvent(
            alert=alert,
            kind=EventKind.OPENED,
            at=opened_at,
            period=date(2024, 5, 1),
            to_status=AlertStatus.FIRING,
            to_severity=severity,
            value=-3.2,
        )
        session.add_all([alert, event])
        session.flush()
        return alert, event

    return seed


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for the delivery job; keyword arguments override fields."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'test.db'}",
            "secret_key": "test-secret",
            "data_dir": tmp_path,
            "base_url": CONSOLE_URL,
        }
        values.update(overrides)
        return Settings(**values)

    return make


def free_port() -> int:
    """A localhost TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return cast(int, probe.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    """A localhost port with no server behind it (a mail server that is down)."""
    return free_port()


class MailBox:
    """An aiosmtpd handler keeping every accepted message; refuses addresses in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(cast(EmailMessage, mail))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    mailbox: MailBox
    port: int
    controller: Controller


@pytest.fixture
def start_smtp() -> Iterator[Callable[..., SmtpServer]]:
    """Start a real aiosmtpd server on localhost (a free port unless given); stopped after."""
    started: list[Controller] = []

    def start(port: int | None = None, **smtp_options: Any) -> SmtpServer:
        mailbox = MailBox()
        port = port or free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **smtp_options)
        controller.start()
        started.append(controller)
        return SmtpServer(mailbox=mailbox, port=port, controller=controller)

    yield start
    for controller in started:
        controller.stop()


@dataclass
class Received:
    path: str
    headers: Message
    body: bytes
    status: int


@dataclass
class HookServer:
    """A real HTTP server answering POSTs with ``status`` and ``answer`` after ``delay`` s.

    ``arrived`` records each request as it comes in, ``requests`` once it is answered.
    ``respond``, when set, decides (status, answer) from the request itself (a server
    emulating a chat robot checks the signature that way).
    """

    status: int = 200
    delay: float = 0.0
    answer: bytes = b""
    respond: Callable[[Received], tuple[int, bytes]] | None = None
    requests: list[Received] = field(default_factory=list)
    arrived: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx status."""
        return [request for request in self.requests if 200 <= request.status < 300]


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookHTTPServer

    def do_POST(self) -> None:
        hook = self.server.hook
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        arrived = Received(self.path, self.headers, body, 0)
        hook.arrived.append(arrived)
        if hook.delay:
            hook.release.wait(hook.delay)
        status, answer = hook.respond(arrived) if hook.respond else (hook.status, hook.answer)
        hook.requests.append(Received(self.path, self.headers, body, status))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout and kill tests)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HookHTTPServer(ThreadingHTTPServer):
    hook: HookServer


@pytest.fixture
def webhook_server() -> Iterator[HookServer]:
    """A threaded HTTP server on a free localhost port, recording every POST."""
    hook = HookServer()
    httpd = _HookHTTPServer(("127.0.0.1", 0), _HookHandler)
    httpd.hook = hook
    hook.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield hook
    hook.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@dataclass
class World:
    """Shandong > Weifang and Qingdao; Weifang's power-equipment cluster and its firms."""

    province: Entity
    weifang: Entity
    qingdao: Entity
    cluster: Entity
    firms: list[Entity]
    indicators: dict[str, Indicator]


def _indicator(code: str, level: str, dimension: str = "economic") -> Indicator:
    return Indicator(
        code=code,
        name_zh={"iva": "工业增加值同比", "output": "集群产值同比", "revenue": "营业收入同比"}.get(
            code, code
        ),
        name_en={
            "iva": "Industrial value added YoY",
            "output": "Cluster output YoY",
            "revenue": "Revenue YoY",
        }.get(code, code),
        dimension=dimension,
        level=level,
        unit="%",
        frequency="M",
        direction="down",
        transform="yoy",
    )


def build_world(session: Session, *, firms: int = 3) -> World:
    province = Entity(
        code="SD", name_zh="山东省", name_en="Shandong", level="government", kind="province"
    )
    session.add(province)
    session.flush()
    weifang = Entity(
        code="WF",
        name_zh="潍坊市",
        name_en="Weifang",
        level="government",
        kind="city",
        parent_id=province.id,
    )
    qingdao = Entity(
        code="QD",
        name_zh="青岛市",
        name_en="Qingdao",
        level="government",
        kind="city",
        parent_id=province.id,
    )
    session.add_all([weifang, qingdao])
    session.flush()
    cluster = Entity(
        code="WF-POWER",
        name_zh="潍坊动力装备集群",
        name_en="Weifang power equipment",
        level="industry",
        kind="cluster",
        region_id=weifang.id,
    )
    session.add(cluster)
    session.flush()
    members = [
        Entity(
            code=f"F{i:03d}",
            name_zh=f"企业{i}",
            name_en=f"Firm {i}",
            level="enterprise",
            kind="firm",
            region_id=weifang.id,
            cluster_id=cluster.id,
            synthetic=True,
        )
        for i in range(firms)
    ]
    session.add_all(members)
    indicators = {
        "iva": _indicator("iva", "government"),
        "output": _indicator("output", "industry"),
        "revenue": _indicator("revenue", "enterprise"),
        "energy": _indicator("energy", "enterprise", "environmental"),
    }
    session.add_all(indicators.values())
    session.flush()
    return World(province, weifang, qingdao, cluster, members, indicators)


@pytest.fixture
def world(database) -> World:
    with database.session() as session:
        return build_world(session)


@pytest.fixture
def raise_alert(now: datetime) -> RaiseAlert:
    """Open a firing alert on (entity, indicator) with its event, like the pipeline does."""
    serial = itertools.count(1)

    def make(
        session: Session,
        entity: Entity,
        indicator: Indicator,
        *,
        severity: str = "orange",
        status: str = "firing",
        kind: str = "opened",
        at: datetime | None = None,
        period: date = date(2024, 5, 1),
        channels: list[Channel] | None = None,
    ) -> tuple[Alert, AlertEvent]:
        at = at or now
        entity = session.merge(entity, load=True)
        indicator = session.merge(indicator, load=True)
        alert = Alert(
            fingerprint=f"{entity.id}:{indicator.id}:threshold:{next(serial)}",
            entity=entity,
            indicator=indicator,
            model="threshold",
            level=indicator.level,
            dimension=indicator.dimension,
            severity=severity,
            worst_severity=severity,
            status=status,
            period=period,
            last_period=period,
            value=-12.5,
            threshold=-10.0,
            opened_at=at,
            updated_at=at,
        )
        event = AlertEvent(
            alert=alert,
            kind=kind,
            at=at,
            period=period,
            to_status=status,
            to_severity=severity,
            value=-12.5,
        )
        session.add_all([alert, event])
        session.flush()
        if channels is not None:
            enqueue(session, alert, event, channels)
        return alert, event

    return make
