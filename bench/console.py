"""Console latency at a million alerts: 20 concurrent clients for 60 s on loopback.

Usage, from the repository root in the project's environment::

    python -m bench.console --database-url postgresql+psycopg://... --reset
                            [--alerts 1000000] [--clients 20] [--duration 60]
                            [--driver wrk|threads] [--out FILE]

With ``--reset`` the database is emptied (every table dropped) and filled: 16 cities,
40 clusters, 50,000 firms, 6 enterprise indicators and ``--alerts`` alerts written with
COPY (about 18 % open), two events each for the first 20,000; then VACUUM ANALYZE, as
autovacuum would after a bulk load. The console then runs under gunicorn (``--workers``,
one per core unless given: the pages are CPU work, and more workers than cores only queue
for the cores) on 127.0.0.1 and ``--clients`` logged-in clients, split evenly over five
request kinds, send requests back to back for ``--duration`` seconds:

``list``        the alert list, first page, no filter;
``filtered``    the open red enterprise alerts of one city;
``deep``        the alert list 100,000 alerts down (a keyset cursor; page 2,000 of 50);
``dashboard``   the home page (counts, heat map, trend, newest alerts);
``detail``      one alert with its history, at random.

The default driver is ``wrk`` (Debian's package; one process per kind, its Lua script
counts every status but 200 as an error); ``threads`` is a pure-Python fallback whose
own CPU use competes with the server's. It prints p50 / p95 / max latency and the
error count per request kind and the load average, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from bench.common import machine, print_table, write_json
from bench.cycle import reset
from monitor.bulk import bulk_insert
from monitor.db import Database
from monitor.queries import SORTS, AlertCursor
from monitor.records import Alert, AlertEvent, Entity, Indicator
from monitor.users import create_user

FIRMS = 50_000
CITIES = 16
CLUSTERS = 40
DIMENSIONS = ("economic", "trade", "environmental", "technology", "political", "economic")
SEVERITIES = ("blue", "yellow", "orange", "red")
USER = "bench"
PASSWORD = "bench-password-1234"
DEEP_POSITION = 100_000  # page 2,000 at 50 alerts a page
WRK_TIMEOUT_S = 10


def fill(database: Database, alerts: int) -> None:
    """The catalogue and ``alerts`` alerts, written with COPY / executemany."""
    rng = np.random.default_rng(5)
    with database.session() as session:
        connection = session.connection()
        cities = [(f"C{c:02d}", f"城市{c}", f"City {c}", "government", "city", False)
                  for c in range(CITIES)]  # fmt: skip
        clusters = [(f"K{k:02d}", f"集群{k}", f"Cluster {k}", "industry", "cluster", False)
                    for k in range(CLUSTERS)]  # fmt: skip
        places = cities + clusters
        columns = ("code", "name_zh", "name_en", "level", "kind", "synthetic")
        bulk_insert(connection, Entity.__table__, columns, places)
        firms = (
            (f"E{f:07d}", f"企业{f}", f"Firm {f}", "enterprise", "firm", 1 + f % CITIES,
             1 + CITIES + f % CLUSTERS, True)
            for f in range(FIRMS)
        )  # fmt: skip
        columns = ("code", "name_zh", "name_en", "level", "kind", "region_id", "cluster_id",
                   "synthetic")  # fmt: skip
        bulk_insert(connection, Entity.__table__, columns, firms)
        session.add_all(
            Indicator(code=f"ENT_{i}", name_zh=f"指标{i}", name_en=f"Indicator {i}",
                      dimension=dimension, level="enterprise", frequency="M", direction="down",
                      transform="yoy")
            for i, dimension in enumerate(DIMENSIONS)
        )  # fmt: skip
        session.flush()
        first_firm = 1 + CITIES + CLUSTERS
        entity = first_firm + rng.integers(0, FIRMS, alerts)
        indicator = rng.integers(0, len(DIMENSIONS), alerts)
        severity = rng.choice(4, alerts, p=(0.5, 0.3, 0.15, 0.05))
        status = rng.choice(3, alerts, p=(0.82, 0.12, 0.06))  # resolved, firing, acknowledged
        month = rng.integers(0, 120, alerts)
        start = datetime(2016, 1, 1, tzinfo=UTC)
        rows = (
            (
                f"{indicator[i] + 1}:{entity[i]}:robust_z:{i}",
                int(entity[i]), int(indicator[i]) + 1, "robust_z", "enterprise",
                DIMENSIONS[indicator[i]], SEVERITIES[severity[i]], SEVERITIES[severity[i]],
                ("resolved", "firing", "acknowledged")[status[i]],
                _month(int(month[i])), _month(int(month[i]) + 1), 4.0 + severity[i],
                3.5, True, start + timedelta(days=30 * int(month[i])),
                start + timedelta(days=30 * int(month[i]) + 1), False,
            )
            for i in range(alerts)
        )  # fmt: skip
        columns = ("fingerprint", "entity_id", "indicator_id", "model", "level", "dimension",
                   "severity", "worst_severity", "status", "period", "last_period", "value",
                   "threshold", "synthetic", "opened_at", "updated_at", "flapping")  # fmt: skip
        bulk_insert(connection, Alert.__table__, columns, rows)
        events = (
            (alert_id, kind, start, _month(0), None, "firing", None, "red", 5.0)
            for alert_id in range(1, 20_001)
            for kind in ("opened", "escalated")
        )
        columns = ("alert_id", "kind", "at", "period", "from_status", "to_status",
                   "from_severity", "to_severity", "value")  # fmt: skip
        bulk_insert(connection, AlertEvent.__table__, columns, events)
        create_user(session, USER, PASSWORD, role="viewer")
    with database.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE"
            )


def _month(number: int) -> date:
    return date(2016 + number // 12, 1 + number % 12, 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_console(
    database_url: str, port: int, workers: int, access_log: Path
) -> subprocess.Popen[bytes]:
    """gunicorn serving the console on 127.0.0.1:``port``; returns once it answers.

    Its access log gets one line per request: path, query, status and the server's own
    time in microseconds (from reading the request to the response's last byte)."""
    environment = {
        **os.environ,
        "CLUSTERWATCH_DATABASE_URL": database_url,
        "CLUSTERWATCH_SECRET_KEY": secrets.token_hex(32),
        "CLUSTERWATCH_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
        str(workers), "--log-level", "warning", "--access-logfile", str(access_log),
        "--access-logformat", "%(U)s %(q)s %(s)s %(D)s", "web:create_app()",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=environment)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2).read()
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the console did not start")


def logged_in(
    base: str, jar: http.cookiejar.CookieJar | None = None
) -> urllib.request.OpenerDirector:
    """A cookie-keeping client logged in as the bench user (its cookies land in ``jar``)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar if jar is not None else http.cookiejar.CookieJar())
    )
    page = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    form = {"csrf_token": token.group(1), "username": USER, "password": PASSWORD, "next": ""}
    opener.open(f"{base}/login", urllib.parse.urlencode(form).encode(), timeout=30).read()
    return opener


def deep_cursor(database: Database, position: int = DEEP_POSITION) -> str:
    """The keyset cursor of the alert ``position`` places down the default (newest) sort."""
    with database.session() as session:
        alert = session.scalar(
            select(Alert)
            .order_by(Alert.opened_at.desc(), Alert.id.desc())
            .offset(position - 1)
            .limit(1)
        )
        if alert is None:
            raise SystemExit(f"fewer than {position:,} alerts: fill with --reset --alerts")
        return AlertCursor.of(alert, SORTS[0]).text()


def requests_of(alerts: int, city: str, deep: str) -> dict[str, Callable[[], str]]:
    return {
        "list": lambda: "/alerts/",
        "filtered": lambda: f"/alerts/?level=enterprise&severity=red&status=open&region={city}",
        "deep": lambda: "/alerts/?" + urllib.parse.urlencode({"after": deep}),
        "dashboard": lambda: "/",
        "detail": lambda: f"/alerts/{random.randint(1, alerts)}",
    }


def load_threads(
    base: str, clients: int, duration: float, kinds: dict[str, Callable[[], str]]
) -> dict[str, dict[str, Any]]:
    """Python threads as clients, each looping over the request kinds."""
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    errors: dict[str, int] = dict.fromkeys(kinds, 0)
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def client(number: int) -> None:
        opener = logged_in(base)
        order = list(kinds)
        position = number
        while time.monotonic() < stop:
            kind = order[position % len(order)]
            position += 1
            started = time.perf_counter()
            ok = False
            try:
                with opener.open(base + kinds[kind](), timeout=60) as response:
                    response.read()
                    ok = response.status == 200 and "/login" not in response.url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                timings[kind].append(elapsed)
                if not ok:
                    errors[kind] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        kind: {
            "requests": len(values),
            "errors": errors[kind],
            "p50_ms": 1000 * float(np.percentile(values, 50)) if values else None,
            "p95_ms": 1000 * float(np.percentile(values, 95)) if values else None,
            "max_ms": 1000 * max(values) if values else None,
        }
        for kind, values in timings.items()
    }


def kind_of(path: str, query: str) -> str | None:
    """Which request kind an access-log line belongs to (``None``: the login and the like)."""
    if path == "/":
        return "dashboard"
    if re.fullmatch(r"/alerts/\d+", path):
        return "detail"
    if path != "/alerts/":
        return None
    if "after=" in query:
        return "deep"
    return "filtered" if "region=" in query else "list"


def server_times(access_log: Path) -> dict[str, dict[str, float]]:
    """p50 / p95 of the server's own time per request kind, from the access log: the
    time a request spent in a worker, without the wait for a free one."""
    times: dict[str, list[float]] = {}
    for line in access_log.read_text().splitlines():
        path, query, _status, micros = line.rsplit(" ", 3)
        kind = kind_of(path, query)
        if kind is not None:
            times.setdefault(kind, []).append(int(micros) / 1000)
    return {
        kind: {
            "server_p50_ms": float(np.percentile(values, 50)),
            "server_p95_ms": float(np.percentile(values, 95)),
        }
        for kind, values in times.items()
    }


WRK_SCRIPT = """
local paths = {%(paths)s}
wrk.headers["Cookie"] = "%(cookie)s"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end
function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "errors": %%d, "p50_ms": %%.3f, "p95_ms": %%.3f, "max_ms": %%.3f}\\n',
    summary.requests, failed + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency.max / 1000))
end
"""


def load_wrk(
    base: str, clients: int, duration: float, kinds: dict[str, Callable[[], str]], folder: Path
) -> dict[str, dict[str, Any]]:
    """One ``wrk`` process per request kind, all at once, ``clients`` connections in all."""
    if clients < len(kinds):
        raise SystemExit(f"wrk needs at least one client per request kind ({len(kinds)})")
    jar = http.cookiejar.CookieJar()
    logged_in(base, jar)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    running = {}
    for number, (kind, path_of) in enumerate(kinds.items()):
        connections = clients // len(kinds) + (number < clients % len(kinds))
        paths = ", ".join(json.dumps(path_of()) for _ in range(1000))
        script = folder / f"{kind}.lua"
        script.write_text(WRK_SCRIPT % {"paths": paths, "cookie": cookie})
        command = [
            "wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s",
            f"--timeout={WRK_TIMEOUT_S}s", "-s", str(script), base,
        ]  # fmt: skip
        running[kind] = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    results = {}
    for kind, process in running.items():
        output, _ = process.communicate()
        results[kind] = json.loads(output.strip().splitlines()[-1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (one per core)"
    )
    parser.add_argument("--reset", action="store_true", help="empty and fill the database")
    parser.add_argument(
        "--driver",
        choices=("wrk", "threads"),
        default="wrk" if shutil.which("wrk") else "threads",
        help="load generator (default: wrk when installed)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    database = Database(args.database_url)
    if args.reset:
        started = time.perf_counter()
        reset(database)
        fill(database, args.alerts)
        print(f"filled {args.alerts:,} alerts in {time.perf_counter() - started:.0f} s")
    kinds = requests_of(args.alerts, "C03", deep_cursor(database))
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        access_log = Path(folder) / "access.log"
        server = start_console(args.database_url, port, args.workers, access_log)
        base = f"http://127.0.0.1:{port}"
        try:  # the server is stopped however the load ends
            if args.driver == "wrk":
                results = load_wrk(base, args.clients, args.duration, kinds, Path(folder))
            else:
                results = load_threads(base, args.clients, args.duration, kinds)
            load_average = os.getloadavg()
        finally:
            server.terminate()
            server.wait(timeout=30)
        for kind, times in server_times(access_log).items():
            results[kind].update(times)
    print_table(
        ("request", "requests", "errors", "p50 ms", "p95 ms", "max ms", "server p50", "p95"),
        [
            (
                kind,
                r["requests"],
                r["errors"],
                r["p50_ms"],
                r["p95_ms"],
                r["max_ms"],
                r.get("server_p50_ms"),
                r.get("server_p95_ms"),
            )
            for kind, r in results.items()
        ],  # fmt: skip
    )
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in load_average))
    write_json(
        args.out,
        {
            "benchmark": "console",
            "alerts": args.alerts,
            "clients": args.clients,
            "duration_s": args.duration,
            "gunicorn_workers": args.workers,
            "driver": args.driver,
            "deep_position": DEEP_POSITION,
            "load_average": load_average,
            "machine": machine(),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
