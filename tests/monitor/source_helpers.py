"""Shared by the source tests: a small catalog, a loader and a reader of what was stored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from monitor.catalog import load_catalog
from monitor.db import Database
from monitor.records import Entity, Indicator, Observation

CATALOG = """\
entities:
  - {code: SD, name_zh: 山东省, name_en: Shandong, level: government, kind: province}
  - {code: SD-QD, name_zh: 青岛市, name_en: Qingdao, level: government, kind: city, parent: SD}
  - {code: F1, name_zh: 甲公司, name_en: Jia Co, level: enterprise, kind: firm, region: SD-QD}
indicators:
  - {code: GOV_IVA, name_zh: 工业增加值指数, name_en: Value added, dimension: economic,
     level: government, unit: index, frequency: M, direction: down, transform: yoy}
  - {code: GOV_CTRL, name_zh: 管制清单占比, name_en: Control lists, dimension: political,
     level: government, unit: "‰", frequency: Q, direction: up}
  - {code: GOV_GDP, name_zh: 地区生产总值, name_en: GDP, dimension: economic,
     level: government, unit: 亿元, frequency: A, direction: down}
  - {code: ENT_REV, name_zh: 营业收入, name_en: Revenue, dimension: economic,
     level: enterprise, unit: 万元, frequency: M, direction: down}
"""


def load_small_catalog(database: Database, folder: Path) -> Database:
    path = folder / "catalog.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    with database.session() as session:
        load_catalog(session, path)
    return database


def stored(database: Database) -> dict[tuple[str, str, date], float]:
    """(indicator, entity, period) -> value of every stored observation."""
    with database.session() as session:
        rows = session.execute(
            select(Indicator.code, Entity.code, Observation.period, Observation.value)
            .join(Indicator, Indicator.id == Observation.indicator_id)
            .join(Entity, Entity.id == Observation.entity_id)
        ).all()
    return {(ind, ent, period): value for ind, ent, period, value in rows}


def flags(database: Database) -> dict[tuple[str, str, date], str | None]:
    with database.session() as session:
        rows = session.execute(
            select(Indicator.code, Entity.code, Observation.period, Observation.flag)
            .join(Indicator, Indicator.id == Observation.indicator_id)
            .join(Entity, Entity.id == Observation.entity_id)
        ).all()
    return {(ind, ent, period): flag for ind, ent, period, flag in rows}
