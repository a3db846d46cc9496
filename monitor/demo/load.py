"""Load the embedded demo: its catalog, its generated firms and the whole history.

``load_demo`` is idempotent: it records a ``demo_loaded`` setting when done and does
nothing on a database that has one, except dating the demo's shock episodes
(``monitor.demo.episodes``) once on a database loaded before the demo had them.
``extend_demo`` adds one more month for the live demo feed, with the same numbers a
full regeneration would give.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from monitor.catalog import (
    CatalogData,
    CatalogReport,
    KindCounts,
    RawRecord,
    apply_catalog,
    load_catalog,
)
from monitor.db import Database
from monitor.demo.episodes import load_demo_episodes
from monitor.demo.generate import (
    DEMO_LAST_PERIOD,
    firm_records,
    generate_history,
    generate_period,
)
from monitor.ingest import IngestReport, ingest_frame
from monitor.records import Setting, utc_now
from monitor.vocabulary import SourceKind

__all__ = [
    "CATALOG_PATH",
    "DEMO_SOURCE",
    "DemoReport",
    "LOADED_KEY",
    "demo_state",
    "extend_demo",
    "load_demo",
]

logger = logging.getLogger(__name__)

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
DEMO_SOURCE = "demo"
LOADED_KEY = "demo_loaded"
EPISODES_KEY = "episodes"  # in the setting: how many shock episodes the demo dated


@dataclass
class DemoReport:
    """What ``load_demo`` did; ``loaded`` is false when the demo was already there."""

    loaded: bool
    catalog: CatalogReport | None = None
    firms: KindCounts | None = None
    ingest: IngestReport | None = None
    last_period: date = DEMO_LAST_PERIOD
    episodes: int = 0

    @property
    def message(self) -> str:
        if not self.loaded:
            if self.episodes:
                return (
                    f"the demo data set is already loaded; its {self.episodes} "
                    "shock episodes were dated"
                )
            return "the demo data set is already loaded; nothing was done"
        ingest = self.ingest
        observations = ingest.inserted + ingest.updated if ingest else 0
        firms = self.firms.total if self.firms else 0
        return (
            f"demo loaded: {firms} firms, {observations} observations "
            f"up to {self.last_period:%Y-%m} and {self.episodes} dated shock episodes"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "loaded": self.loaded,
            "message": self.message,
            "last_period": self.last_period.isoformat(),
            "catalog": self.catalog.as_dict() if self.catalog else None,
            "firms": vars(self.firms) if self.firms else None,
            "ingest": self.ingest.as_dict() if self.ingest else None,
            "episodes": self.episodes,
        }


def demo_state(session: Session) -> dict[str, Any] | None:
    """The recorded ``demo_loaded`` setting (when, up to which period), if any."""
    setting = session.get(Setting, LOADED_KEY)
    return json.loads(setting.value) if setting is not None else None


def _firm_data() -> CatalogData:
    records = [RawRecord(f"firm {record['code']}", record) for record in firm_records()]
    return CatalogData(entities=records, source="demo firms")


def load_demo(database: Database, *, now: datetime | None = None) -> DemoReport:
    """Load the demo catalog, firms and history once (see the module docstring)."""
    with database.session() as session:
        state = demo_state(session)
        if state is not None:
            return DemoReport(loaded=False, episodes=_date_episodes_once(session, state, now))
        catalog = load_catalog(session, CATALOG_PATH, actor=DEMO_SOURCE, now=now)
        firms = apply_catalog(session, _firm_data(), actor=DEMO_SOURCE, now=now).entities
        episodes = load_demo_episodes(session, author=DEMO_SOURCE, now=now)
    ingest = ingest_frame(
        database,
        generate_history(DEMO_LAST_PERIOD),
        source_name=DEMO_SOURCE,
        source_kind=SourceKind.DEMO,
        file_name="demo history",
        synthetic=True,
        now=now,
    )
    state = {
        "loaded_at": (now or utc_now()).isoformat(),
        "last_period": DEMO_LAST_PERIOD.isoformat(),
        "job_run_id": ingest.job_run_id,
        EPISODES_KEY: episodes,
    }
    with database.session() as session:
        session.merge(Setting(key=LOADED_KEY, value=json.dumps(state)))
    report = DemoReport(loaded=True, catalog=catalog, firms=firms, ingest=ingest, episodes=episodes)
    logger.info("%s", report.message)
    return report


def _date_episodes_once(session: Session, state: dict[str, Any], now: datetime | None) -> int:
    """Date the demo's episodes on a demo loaded without them; 0 if they were dated."""
    if EPISODES_KEY in state:
        return 0  # dated at the load (and perhaps edited by staff since): left alone
    episodes = load_demo_episodes(session, author=DEMO_SOURCE, now=now)
    state = {**state, EPISODES_KEY: episodes}
    session.merge(Setting(key=LOADED_KEY, value=json.dumps(state)))
    return episodes


def extend_demo(database: Database, period: date, *, now: datetime | None = None) -> IngestReport:
    """Ingest the generated values of month ``period`` (the live demo feed)."""
    return ingest_frame(
        database,
        generate_period(period),
        source_name=DEMO_SOURCE,
        source_kind=SourceKind.DEMO,
        file_name=f"demo {period:%Y-%m}",
        synthetic=True,
        now=now,
    )
