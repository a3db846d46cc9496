"""The demo's shock episodes: the shocks the generator plants, dated for whom they hit.

The threshold backtest scores settings against dated episodes (``monitor.episodes``);
the demo dates its own planted shocks so that the preview has a reference from the
start. The dates come from the generator's shapes (``monitor.demo.generate``): an
episode runs over the months its intensity differs from the level it settles at (0
for the province-wide shocks, a partial mend 30 months on for a firm's crisis). A
shock still under way at ``DEMO_LAST_PERIOD`` has no end yet.

Each shock is dated for the province, the cities or the industries it hits, once per
dimension whose indicators it moves; a single firm's crisis for that firm. The rows
are stored with the demo's author and a label that says they are demo data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.demo.generate import (
    CRISIS_SHAPE,
    DEMO_FIRST_PERIOD,
    DEMO_LAST_PERIOD,
    _key_frames,
    build_firms,
)
from monitor.episodes import add_episode
from monitor.records import Entity
from monitor.vocabulary import Dimension

__all__ = ["DEMO_LABEL", "SHOCKS", "DemoEpisode", "demo_episodes", "load_demo_episodes"]

#: What every demo episode's label ends with.
DEMO_LABEL = "（演示数据 demo data）"
ECONOMIC, TRADE, TECHNOLOGY = Dimension.ECONOMIC, Dimension.TRADE, Dimension.TECHNOLOGY
POLITICAL, ENVIRONMENTAL = Dimension.POLITICAL, Dimension.ENVIRONMENTAL

# Planted shock: its name, the entities it is dated for, and the dimensions whose
# indicators it moves (see the drivers in monitor.demo.generate).
SHOCKS: dict[str, tuple[str, tuple[str, ...], tuple[Dimension, ...]]] = {
    "trade_war": ("中美贸易摩擦 US-China trade friction", ("SD",), (TRADE, TECHNOLOGY)),
    "pandemic": ("新冠疫情 COVID-19 pandemic", ("SD",), (ECONOMIC, TRADE, TECHNOLOGY)),
    "controls_2019": ("出口管制 Export controls", ("SD",), (POLITICAL,)),
    "controls_2023": ("出口管制 Export controls", ("SD",), (POLITICAL,)),
    "dual_control": ("能耗双控限电 Energy-use curbs", ("SD",), (ENVIRONMENTAL,)),
    "chip_shortage": ("芯片短缺 Chip shortage", ("SD",), (TECHNOLOGY,)),
    "cost_squeeze": ("成本挤压 Cost squeeze", ("SD",), (ECONOMIC,)),
    "weifang_2026": (
        "潍坊动力装备下行 Weifang power equipment downturn",
        ("SD-WF",),  # the city covers its cluster and their firms
        (ECONOMIC, TRADE, TECHNOLOGY, POLITICAL),
    ),
    "dongying_2025": (
        "东营石化冲击 Dongying petrochemical shock",
        ("SD-DY", "CAT-PCM"),
        (ECONOMIC, TRADE, ENVIRONMENTAL),
    ),
}
CRISIS = ("企业经营危机 Firm crisis", (ECONOMIC, TRADE))


@dataclass(frozen=True)
class DemoEpisode:
    """One dated episode of the demo, for one entity code and one dimension.

    ``shock``: the generator's name of the shock (``crisis`` for a firm's crisis).
    """

    shock: str
    entity: str
    dimension: Dimension
    start: date
    end: date | None
    label: str


def _month_start(index: int) -> date:
    year, month = divmod(DEMO_FIRST_PERIOD.month - 1 + index, 12)
    return date(DEMO_FIRST_PERIOD.year + year, month + 1, 1)


def _span(months: np.ndarray, levels: np.ndarray) -> tuple[date, date | None]:
    """First and last month (indices) whose intensity differs from where it settles."""
    every = np.arange(int(months[0]), int(months[-1]) + 1)
    intensity = np.interp(every, months, levels)
    moved = every[(intensity > 0) & ~np.isclose(intensity, levels[-1])]
    start, end = _month_start(int(moved[0])), _month_start(int(moved[-1]))
    return start, (end if end <= DEMO_LAST_PERIOD else None)


def _label(name: str, start: date) -> str:
    return f"{start.year} {name}{DEMO_LABEL}"


def demo_episodes() -> list[DemoEpisode]:
    """Every planted shock as dated episodes, in the order of the generator's tables."""
    result = []
    for shock, (name, codes, dimensions) in SHOCKS.items():
        start, end = _span(*_key_frames(shock))
        result += [
            DemoEpisode(shock, code, dimension, start, end, _label(name, start))
            for code in codes
            for dimension in dimensions
        ]
    firms, traits = build_firms()
    offsets = np.array([offset for offset, _ in CRISIS_SHAPE], dtype=float)
    levels = np.array([level for _, level in CRISIS_SHAPE], dtype=float)
    name, dimensions = CRISIS
    starts, exporters = traits.crisis_start.tolist(), traits.exporter.tolist()
    for firm, begun, exporter in zip(firms, starts, exporters, strict=True):
        if begun < 0:
            continue
        start, end = _span(begun + offsets, levels)
        result += [
            DemoEpisode("crisis", firm.code, dimension, start, end, _label(name, start))
            for dimension in dimensions
            if dimension != TRADE or exporter  # only exporters report exports
        ]
    return result


def load_demo_episodes(session: Session, *, author: str, now: datetime | None = None) -> int:
    """Store :func:`demo_episodes` (their entities must be loaded); returns how many."""
    episodes = demo_episodes()
    codes = {episode.entity for episode in episodes}
    rows = session.execute(select(Entity.code, Entity.id).where(Entity.code.in_(codes)))
    ids = {code: entity_id for code, entity_id in rows}
    for episode in episodes:
        row = add_episode(
            session,
            entity_id=ids[episode.entity],
            dimension=episode.dimension.value,
            start=episode.start,
            end=episode.end,
            label=episode.label,
            author=author,
        )
        if now is not None:
            row.created_at = now
    return len(episodes)
