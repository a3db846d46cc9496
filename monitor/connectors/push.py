"""Push: systems that send observations themselves (``POST /api/v1/observations``).

The console's route authenticates the operator's token and hands the JSON body here::

    {"source": "customs-feed",
     "observations": [{"indicator": "GOV_EXPORT", "entity": "SD", "period": "2024-03",
                       "value": 1234.5, "flag": "provisional"}, ...]}

The source is created (kind ``push``) on first use; every observation is accepted or
rejected with a reason exactly as a file row would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import select

from monitor.db import Database
from monitor.errors import IngestError
from monitor.ingest import FAIL, QUARANTINE, IngestReport, ingest_frame
from monitor.records import Source

__all__ = ["MAX_OBSERVATIONS", "push_observations"]

MAX_OBSERVATIONS = 100_000
FIELDS = ("indicator", "entity", "period", "value", "flag")


def _policy(database: Database, name: str) -> tuple[str, Any]:
    with database.session() as session:
        found = session.execute(
            select(Source.kind, Source.policy, Source.options, Source.enabled).where(
                Source.name == name
            )
        ).first()
    if found is None:
        return QUARANTINE, None
    if found.kind != "push":
        raise IngestError(f"source {name!r} is a {found.kind} source, not a push source")
    if not found.enabled:
        raise IngestError(f"source {name!r} is disabled")
    return (found.policy if found.policy in (QUARANTINE, FAIL) else QUARANTINE), found.options


def _scalar(value: Any) -> Any:
    """A JSON value as a cell: true/false and nested objects stay text (never numbers)."""
    if isinstance(value, bool | Mapping | list):
        return str(value)
    return value


def push_observations(database: Database, payload: Any, actor: str) -> IngestReport:
    """Ingest a pushed payload for ``actor``; ``IngestError`` when its shape is wrong."""
    from monitor.connectors.codemap import CodeMap

    if not isinstance(payload, Mapping):
        raise IngestError("the body must be a JSON object with 'source' and 'observations'")
    name = payload.get("source")
    items = payload.get("observations")
    if not isinstance(name, str) or not name.strip():
        raise IngestError("'source' must name the sending system")
    if not isinstance(items, list) or not items:
        raise IngestError("'observations' must be a non-empty list")
    if len(items) > MAX_OBSERVATIONS:
        raise IngestError(f"at most {MAX_OBSERVATIONS} observations per request")
    policy, options = _policy(database, name.strip())
    rows = [
        {key: _scalar(item.get(key)) for key in FIELDS} if isinstance(item, Mapping) else {}
        for item in items
    ]
    frame = pd.DataFrame(rows, columns=list(FIELDS), dtype=object)
    return ingest_frame(
        database,
        frame,
        source_name=name.strip(),
        file_name=f"push by {actor}",
        source_kind="push",
        code_map=CodeMap.from_options(options),
        policy=policy,
    )
