"""HTTP JSON, SDMX, SQL and push sources, against a local server and a second database."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from monitor.connectors.base import SourceSpec, pull
from monitor.connectors.http import fetch
from monitor.connectors.push import push_observations
from monitor.errors import IngestError
from monitor.sources import add_source
from tests.monitor.source_helpers import flags, load_small_catalog, stored

YEAR_2022, YEAR_2023 = date(2022, 1, 1), date(2023, 1, 1)

WORLD_BANK_PAGES = {
    1: [
        {"page": 1, "pages": 2, "per_page": 2, "total": 3},
        [
            {"indicator": {"id": "NY.GDP"}, "country": {"id": "CN"}, "date": "2023", "value": 5.2},
            {"indicator": {"id": "NY.GDP"}, "country": {"id": "CN"}, "date": "2022", "value": None},
        ],
    ],
    2: [
        {"page": 2, "pages": 2, "per_page": 2, "total": 3},
        [{"indicator": {"id": "NY.GDP"}, "country": {"id": "CN"}, "date": "2021", "value": "3.0"}],
    ],
}

SDMX_ML = """<?xml version="1.0" encoding="UTF-8"?>
<message:GenericData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
  xmlns:generic="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
  xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
  <message:Header>
    <message:ID>T1</message:ID><message:Test>false</message:Test>
    <message:Prepared>2024-05-01T00:00:00</message:Prepared><message:Sender id="IMF"/>
    <message:Structure structureID="DSD" dimensionAtObservation="TIME_PERIOD">
      <common:Structure><Ref agencyID="IMF" id="DSD" version="1.0"/></common:Structure>
    </message:Structure>
  </message:Header>
  <message:DataSet structureRef="DSD">
    <generic:Series>
      <generic:SeriesKey>
        <generic:Value id="REF_AREA" value="CN"/><generic:Value id="INDICATOR" value="CTRL"/>
      </generic:SeriesKey>
      <generic:Obs><generic:ObsDimension value="2023-Q1"/><generic:ObsValue value="1.5"/>
        <generic:Attributes><generic:Value id="OBS_STATUS" value="P"/></generic:Attributes>
      </generic:Obs>
      <generic:Obs><generic:ObsDimension value="2023-Q2"/><generic:ObsValue value="NaN"/>
      </generic:Obs>
      <generic:Obs><generic:ObsDimension value="2023-Q3"/><generic:ObsValue value="2.5"/>
      </generic:Obs>
    </generic:Series>
  </message:DataSet>
</message:GenericData>
"""

CODE_MAP = {
    "indicators": {"NY.GDP": "GOV_GDP", "CTRL": "GOV_CTRL"},
    "entities": {"CN": "SD"},
}


class Server:
    """A local HTTP server: fixed bodies per path, failures first when asked, a request log."""

    def __init__(self) -> None:
        self.bodies: dict[str, tuple[str, bytes]] = {}
        self.failures: dict[str, list[int]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
                server.requests.append((self.path, dict(self.headers)))
                path = self.path.split("?")[0]
                page = 2 if "page=2" in self.path else 1
                pending = server.failures.get(path)
                if pending:
                    self.send_response(pending.pop(0))
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                found = server.bodies.get(f"{path}#{page}") or server.bodies.get(path)
                if found is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                kind, body = found
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    for page, body in WORLD_BANK_PAGES.items():
        running.bodies[f"/wb#{page}"] = ("application/json", json.dumps(body).encode())
    running.bodies["/sdmx"] = ("application/xml", SDMX_ML.encode())
    yield running
    running.close()


@pytest.fixture
def catalogued(any_database, tmp_path):
    return load_small_catalog(any_database, tmp_path)


def _source(database, **fields) -> SourceSpec:
    with database.session() as session:
        return SourceSpec.of(add_source(session, **fields))


def test_world_bank_api_pages_are_mapped_and_missing_values_rejected(
    catalogued, server, monkeypatch
):
    monkeypatch.setenv("WB_TOKEN", "Bearer abc")
    spec = _source(
        catalogued,
        name="world-bank",
        kind="http_json",
        options={
            "url": f"{server.url}/wb?format=json",
            "pages": "worldbank",
            "headers": {"Authorization": "WB_TOKEN"},
            "code_map": CODE_MAP,
        },
    )
    [report] = pull(catalogued, spec)
    assert report.read == report.accepted + report.rejected == 3
    assert report.rejected_rows[0]["reason"] == "missing value"
    assert stored(catalogued) == {
        ("GOV_GDP", "SD", YEAR_2023): 5.2,
        ("GOV_GDP", "SD", date(2021, 1, 1)): 3.0,
    }
    assert [path for path, _ in server.requests] == ["/wb?format=json", "/wb?format=json&page=2"]
    assert all(headers["Authorization"] == "Bearer abc" for _, headers in server.requests)


def test_a_declarative_mapping_reads_any_json_shape(catalogued, server):
    document = {
        "data": {
            "rows": [
                {"code": "GOV_IVA", "area": "SD", "month": "2024年3月", "v": "1,200.5"},
                {"code": "GOV_IVA", "area": "SD", "month": "2024-04", "v": True},
                "not a record",
            ]
        }
    }
    server.bodies["/custom"] = ("application/json", json.dumps(document).encode())
    spec = _source(
        catalogued,
        name="custom",
        kind="http_json",
        location=f"{server.url}/custom",
        options={
            "mapping": {
                "records": "data.rows",
                "indicator": "code",
                "entity": "area",
                "period": "month",
                "value": "v",
            }
        },
    )
    [report] = pull(catalogued, spec)
    assert report.read == report.accepted + report.rejected == 3
    assert stored(catalogued) == {("GOV_IVA", "SD", date(2024, 3, 1)): 1200.5}


def test_http_retries_429_and_5xx_with_backoff_then_succeeds(server):
    server.bodies["/flaky"] = ("application/json", b"[]")
    server.failures["/flaky"] = [503, 429, 500]
    waits: list[float] = []
    body = fetch(f"{server.url}/flaky", retries=3, backoff=0.5, sleep=waits.append)
    assert body == b"[]"
    assert waits == [0.5, 1.0, 2.0]


def test_http_gives_up_after_its_retries_and_does_not_retry_a_404(server):
    server.failures["/down"] = [503] * 5
    with pytest.raises(IngestError, match="failed after 3 attempts: HTTP 503"):
        fetch(f"{server.url}/down", retries=2, backoff=0, sleep=lambda _: None)
    with pytest.raises(IngestError, match="HTTP 404"):
        fetch(f"{server.url}/nothing", retries=5, backoff=0, sleep=lambda _: None)
    assert sum(path == "/nothing" for path, _ in server.requests) == 1


def test_http_network_errors_are_retried_then_reported():
    waits: list[float] = []
    with pytest.raises(IngestError, match="failed after 2 attempts"):
        fetch("http://127.0.0.1:9/", retries=1, backoff=0.1, timeout=2, sleep=waits.append)
    assert waits == [0.1]


def test_a_header_secret_must_come_from_the_environment(catalogued, server, monkeypatch):
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    spec = _source(
        catalogued,
        name="needs-token",
        kind="http_json",
        options={
            "url": f"{server.url}/wb",
            "pages": "worldbank",
            "headers": {"Authorization": "NO_SUCH_TOKEN"},
        },
    )
    with pytest.raises(IngestError, match="NO_SUCH_TOKEN is not set"):
        pull(catalogued, spec)


def test_sdmx_ml_from_a_url_keeps_status_flags(catalogued, server):
    spec = _source(
        catalogued,
        name="imf",
        kind="sdmx",
        location=f"{server.url}/sdmx",
        options={"code_map": CODE_MAP},
    )
    [report] = pull(catalogued, spec)
    assert report.read == report.accepted + report.rejected == 3
    assert report.rejected_rows[0]["reason"] == "missing value"
    assert flags(catalogued) == {
        ("GOV_CTRL", "SD", date(2023, 1, 1)): "provisional",
        ("GOV_CTRL", "SD", date(2023, 7, 1)): None,
    }


def test_sdmx_from_a_file_and_an_unreadable_message(catalogued, tmp_path):
    path = tmp_path / "data.xml"
    path.write_text(SDMX_ML, encoding="utf-8")
    spec = _source(
        catalogued, name="file", kind="sdmx", location=str(path), options={"code_map": CODE_MAP}
    )
    assert pull(catalogued, spec)[0].accepted == 2
    path.write_text("<html>maintenance</html>", encoding="utf-8")
    with pytest.raises(IngestError, match="not a readable SDMX message"):
        pull(catalogued, spec)


def _second_database_urls(tmp_path: Path) -> list[str]:
    urls = [f"sqlite:///{tmp_path / 'office.db'}"]
    if os.environ.get("CLUSTERWATCH_TEST_DATABASE_URL"):
        urls.append(os.environ["CLUSTERWATCH_TEST_DATABASE_URL"])
    return urls


def test_a_sql_source_queries_a_second_database(database, tmp_path, monkeypatch):
    load_small_catalog(database, tmp_path)
    for number, url in enumerate(_second_database_urls(tmp_path)):
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS office_stats"))
            connection.execute(
                text("CREATE TABLE office_stats (code TEXT, area TEXT, month TEXT, amount FLOAT)")
            )
            connection.execute(
                text("INSERT INTO office_stats VALUES (:c, :a, :m, :v)"),
                [
                    {"c": "A01", "a": "SD", "m": "2024-03", "v": 10.0 + number},
                    {"c": "A01", "a": "SD", "m": "2024-04", "v": None},
                ],
            )
        engine.dispose()
        monkeypatch.setenv("OFFICE_DB", url)
        spec = _source(
            database,
            name=f"office-{number}",
            kind="sql",
            location="env:OFFICE_DB",
            options={
                "query": "SELECT code, area, month, amount FROM office_stats ORDER BY month",
                "columns": {
                    "code": "indicator",
                    "area": "entity",
                    "month": "period",
                    "amount": "value",
                },
                "code_map": {"indicators": {"A01": "GOV_IVA"}},
            },
        )
        [report] = pull(database, spec)
        assert (report.read, report.accepted, report.rejected) == (2, 1, 1)
        assert stored(database)[("GOV_IVA", "SD", date(2024, 3, 1))] == 10.0 + number


def test_a_failing_sql_query_is_a_clear_error(database, tmp_path):
    spec = _source(
        database,
        name="office",
        kind="sql",
        location=f"sqlite:///{tmp_path / 'empty.db'}",
        options={"query": "SELECT * FROM missing_table"},
    )
    with pytest.raises(IngestError, match="the source query failed"):
        pull(database, spec)


def test_pushed_observations_are_ingested_with_flags_and_rejections(catalogued):
    payload = {
        "source": "customs-feed",
        "observations": [
            {
                "indicator": "GOV_IVA",
                "entity": "SD",
                "period": "2024-03",
                "value": 1.5,
                "flag": "provisional",
            },
            {"indicator": "GOV_IVA", "entity": "SD", "period": "2024-04", "value": None},
            "garbage",
        ],
    }
    report = push_observations(catalogued, payload, actor="operator1")
    assert report.read == report.accepted + report.rejected == 3
    assert report.file_name == "push by operator1"
    assert flags(catalogued) == {("GOV_IVA", "SD", date(2024, 3, 1)): "provisional"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "JSON object"),
        ({"observations": [{}]}, "'source'"),
        ({"source": "x", "observations": []}, "non-empty list"),
    ],
)
def test_a_malformed_push_is_refused(catalogued, payload, message):
    with pytest.raises(IngestError, match=message):
        push_observations(catalogued, payload, actor="operator1")


def test_a_push_to_a_source_of_another_kind_is_refused(catalogued, tmp_path):
    with catalogued.session() as session:
        add_source(session, name="files", kind="csv", location=str(tmp_path / "a.csv"))
    with pytest.raises(IngestError, match="not a push source"):
        push_observations(
            catalogued,
            {"source": "files", "observations": [{"indicator": "GOV_IVA"}]},
            actor="operator1",
        )
