"""SDMX sources through ``sdmx1``: SDMX-ML (generic or structure-specific) and SDMX-JSON.

The source's location (or ``options["url"]``) is a URL or a file path. Options::

    indicator_dimension: INDICATOR    # the dimension holding the indicator code
    entity_dimension: REF_AREA        # the dimension holding the area / entity code
    time_dimension: TIME_PERIOD
    status_attribute: OBS_STATUS      # observation status -> our flags
    headers / timeout / retries       # as for HTTP JSON sources

Observation status codes (SDMX code list CL_OBS_STATUS) become our flags: ``P``
provisional; ``E``, ``F`` and ``I`` estimated; ``M``, ``L`` and ``N`` missing (the
row is rejected, never stored as zero); others carry no flag.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.connectors.base import SourceSpec
from monitor.connectors.http import fetch, headers_from_env
from monitor.db import Database
from monitor.errors import IngestError
from monitor.ingest import IngestReport, ingest_frame

__all__ = ["STATUS_FLAGS", "message_frame", "pull_sdmx", "read_message"]

STATUS_FLAGS = {
    "P": "provisional",
    "E": "estimated",
    "F": "estimated",
    "I": "estimated",
    "M": "missing",
    "L": "missing",
    "N": "missing",
}


def read_message(where: str, options: Mapping[str, Any]) -> Any:
    """The SDMX message at a URL or path."""
    import sdmx

    if where.startswith(("http://", "https://")):
        body = fetch(
            where,
            headers=headers_from_env(options.get("headers")),
            timeout=float(options.get("timeout", 30)),
            retries=int(options.get("retries", 3)),
            backoff=float(options.get("backoff", 1.0)),
        )
        source: Any = io.BytesIO(body)
    else:
        path = Path(where)
        if not path.is_file():
            raise IngestError(f"{where}: no such SDMX file")
        source = path
    try:
        return sdmx.read_sdmx(source)
    except Exception as exc:  # sdmx1 raises many kinds of errors for unreadable input
        raise IngestError(f"{where}: not a readable SDMX message ({exc})") from None


def _text(value: Any) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def message_frame(message: Any, options: Mapping[str, Any]) -> pd.DataFrame:
    """Every observation of the message's data sets as a long frame with flags."""
    indicator_dim = options.get("indicator_dimension", "INDICATOR")
    entity_dim = options.get("entity_dimension", "REF_AREA")
    time_dim = options.get("time_dimension", "TIME_PERIOD")
    status = options.get("status_attribute", "OBS_STATUS")
    rows: list[dict[str, Any]] = []
    for data_set in getattr(message, "data", []):
        for observation in data_set.obs:
            key: dict[str, str] = {}
            for part in (observation.series_key, observation.dimension):
                if part is not None:
                    key.update({name: _text(value) for name, value in part.values.items()})
            attributes = {name: _text(value) for name, value in observation.attrib.items()}
            period = key.get(time_dim, "").replace("-M", "-")
            rows.append(
                {
                    "indicator": options.get("indicator") or key.get(indicator_dim, ""),
                    "entity": options.get("entity") or key.get(entity_dim, ""),
                    "period": period,
                    "value": _text(observation.value),
                    "flag": STATUS_FLAGS.get(attributes.get(status, "").upper(), ""),
                }
            )
    if not rows:
        raise IngestError("the SDMX message holds no observations")
    return pd.DataFrame(rows, dtype=object)


def pull_sdmx(database: Database, spec: SourceSpec, *, now: datetime | None = None) -> IngestReport:
    """Read the source's SDMX message and ingest its observations."""
    where = str(spec.options.get("url") or spec.location)
    frame = message_frame(read_message(where, spec.options), spec.options)
    return ingest_frame(
        database,
        frame,
        source_name=spec.name,
        file_name=where,
        now=now,
        source_kind=spec.kind,
        code_map=spec.code_map,
        policy=spec.policy,
    )
