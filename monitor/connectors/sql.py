"""SQL sources: a query against any database SQLAlchemy reaches.

The source's location is the database URL, or ``env:NAME`` to read it (password and
all) from environment variable NAME so that no secret is stored. The query, in
``options["query"]``, returns columns named indicator, entity, period and value (and
optionally flag); ``options["columns"]`` may rename the query's columns to those.
"""

from __future__ import annotations

import os
from datetime import datetime

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.connectors.base import SourceSpec
from monitor.db import Database
from monitor.errors import IngestError
from monitor.ingest import IngestReport, ingest_frame

__all__ = ["pull_sql", "query_frame", "resolve_url"]

FETCH_ROWS = 50_000


def resolve_url(location: str) -> str:
    """The database URL a location names (``env:NAME`` reads it from the environment)."""
    if location.startswith("env:"):
        name = location[4:]
        url = os.environ.get(name)
        if not url:
            raise IngestError(f"environment variable {name} (the source's database) is not set")
        return url
    if not location:
        raise IngestError("a sql source needs a database URL (or env:NAME) as its location")
    return location


def query_frame(url: str, query: str, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Run ``query`` on ``url`` and return its rows with our column names."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(text(query))
            names = list(result.keys())
            parts = [
                pd.DataFrame([tuple(row) for row in chunk], columns=names, dtype=object)
                for chunk in result.partitions(FETCH_ROWS)
            ]
    except SQLAlchemyError as exc:
        raise IngestError(f"the source query failed: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=names)
    return frame.rename(columns=columns or {})


def pull_sql(database: Database, spec: SourceSpec, *, now: datetime | None = None) -> IngestReport:
    """Run the source's query and ingest its rows."""
    query = spec.options.get("query")
    if not query:
        raise IngestError(f"source {spec.name!r} has no query")
    frame = query_frame(resolve_url(spec.location), str(query), spec.options.get("columns"))
    return ingest_frame(
        database,
        frame,
        source_name=spec.name,
        file_name="query",
        now=now,
        source_kind=spec.kind,
        code_map=spec.code_map,
        policy=spec.policy,
    )
