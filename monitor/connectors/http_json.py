"""HTTP JSON APIs, mapped declaratively to (indicator, entity, period, value[, flag]).

A source's options::

    url: https://api.example.org/v2/country/CHN/indicator/NY.GDP.MKTP.CD?format=json
    headers: {Authorization: STATS_API_TOKEN}      # header -> environment variable
    timeout: 30
    retries: 3
    mapping:
      records: "1"              # path to the list of records ("" = the response itself)
      indicator: indicator.id   # path in a record, or {const: GOV_IVA}
      entity: country.id
      period: date
      value: value
      flag: obs_status          # optional
    pages: worldbank            # optional: follow the World Bank API's page/pages

Paths are dotted keys and list positions. The World Bank form
``[{"page": 1, "pages": 3, ...}, [{"indicator": {"id": ..}, "country": {"id": ..},
"date": "2023", "value": 1.5}, ...]]`` is the default mapping with ``pages:
worldbank``. A record the mapping does not fit is kept as a row of empty cells, so it
is rejected with a reason rather than lost.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from monitor.connectors.base import SourceSpec
from monitor.connectors.http import fetch, headers_from_env
from monitor.db import Database
from monitor.errors import IngestError
from monitor.ingest import IngestReport, ingest_frame

__all__ = ["WORLD_BANK", "pull_json", "records_frame"]

WORLD_BANK: dict[str, Any] = {
    "records": "1",
    "indicator": "indicator.id",
    "entity": "country.id",
    "period": "date",
    "value": "value",
}
FIELDS = ("indicator", "entity", "period", "value")
MAX_PAGES = 1_000


def _at(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` in ``data`` (None when it is not there)."""
    current = data
    for part in [item for item in path.split(".") if item]:
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else None
        else:
            return None
    return current


def _cell(record: Any, rule: Any) -> Any:
    if isinstance(rule, Mapping) and "const" in rule:
        return rule["const"]
    if not isinstance(rule, str):
        raise IngestError(f"mapping rule {rule!r} is neither a path nor {{const: ...}}")
    value = _at(record, rule)
    if isinstance(value, Mapping | list):
        return None
    return str(value) if isinstance(value, bool) else value


def records_frame(document: Any, mapping: Mapping[str, Any]) -> pd.DataFrame:
    """The long frame (indicator, entity, period, value[, flag]) a response maps to."""
    missing = [name for name in FIELDS if name not in mapping]
    if missing:
        raise IngestError(f"the mapping lacks {', '.join(missing)}")
    records = _at(document, str(mapping.get("records", "")))
    if records is None:
        records = []
    if not isinstance(records, list):
        raise IngestError(f"records path {mapping.get('records')!r} is not a list in the response")
    fields = [*FIELDS, *(["flag"] if "flag" in mapping else [])]
    columns = {name: [_cell(record, mapping[name]) for record in records] for name in fields}
    return pd.DataFrame(columns, dtype=object)


def _with_page(url: str, page: int) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["page"] = str(page)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _decode(body: bytes, url: str) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"{url}: the response is not JSON ({exc})") from None


def fetch_frame(spec: SourceSpec) -> pd.DataFrame:
    """Fetch every page of the source's URL and map it to a long frame."""
    options = spec.options
    url = str(options.get("url") or spec.location)
    if not url:
        raise IngestError(f"source {spec.name!r} has no url")
    paged = options.get("pages") == "worldbank"
    mapping = options.get("mapping") or (WORLD_BANK if paged else None)
    if not mapping:
        raise IngestError(f"source {spec.name!r} has no mapping")
    settings = {
        "headers": headers_from_env(options.get("headers")),
        "timeout": float(options.get("timeout", 30)),
        "retries": int(options.get("retries", 3)),
        "backoff": float(options.get("backoff", 1.0)),
    }
    document = _decode(fetch(url, **settings), url)
    frames = [records_frame(document, mapping)]
    if paged:
        pages = _at(document, "0.pages")
        total = int(pages) if isinstance(pages, int | str) and str(pages).isdigit() else 1
        for page in range(2, min(total, MAX_PAGES) + 1):
            page_url = _with_page(url, page)
            frames.append(records_frame(_decode(fetch(page_url, **settings), page_url), mapping))
    return pd.concat(frames, ignore_index=True)


def pull_json(database: Database, spec: SourceSpec, *, now: datetime | None = None) -> IngestReport:
    """Fetch the source's JSON API and ingest what the mapping finds in it."""
    frame = fetch_frame(spec)
    return ingest_frame(
        database,
        frame,
        source_name=spec.name,
        file_name=str(spec.options.get("url") or spec.location),
        now=now,
        source_kind=spec.kind,
        code_map=spec.code_map,
        policy=spec.policy,
    )
