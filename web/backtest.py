"""The threshold backtest preview: what a setting would have raised over the stored history.

Stored scores of a threshold's model (for the threshold model, the transformed
values it compares) are cut again with ``models.levels.to_levels`` for a proposed
setting. An alert is a run of coloured periods of one entity; it counts in the year
it opened, under the worst colour it reached. Against reference episodes the signals
approach (``models.signals``) scores the setting: hits (A), false alarms (B), misses
(C) and the noise-to-signal ratio. The references are the episodes staff dated for the
level and dimension (``monitor.episodes``) when there are any, else the shocks the
stage classifier detected (the ``shocks`` table).

The scores of all indicators a row covers are read in one query and kept in the
process's bounded cache (``web.backtest_cache``) until the data changes, so editing a
setting replays it over panels already in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import InvalidInput, InvalidParameter
from models.levels import SEVERITY_NAMES, to_levels
from models.panel import PERIOD_OFFSETS
from models.signals import Episode, EpisodeMasks, count_signals, episode_masks
from monitor.audit import threshold_setting
from monitor.episodes import reference_episodes
from monitor.records import Entity, Indicator, Score, Shock, Threshold
from web.backtest_cache import BoundedCache, data_version

COLOURS = SEVERITY_NAMES[1:]
#: The per-entity table of the preview lists this many entities, most alerts first.
ENTITIES_SHOWN = 50
#: Where the reference episodes come from.
DATED, DETECTED = "dated", "detected"


@dataclass
class Outcome:
    """The preview of one setting: alerts per year and colour, per entity, signal counts.

    ``run_entities`` and ``run_codes`` hold every alert's entity and worst colour code.
    """

    years: dict[int, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))
    signals: dict[str, int] | None = None
    error: str | None = None
    run_entities: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    run_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def alerts(self) -> int:
        return sum(self.totals.values())

    @cached_property
    def entity_totals(self) -> pd.Series:
        """Alerts per entity id (entities without alerts left out)."""
        ids, counts = np.unique(self.run_entities, return_counts=True)
        return pd.Series(counts, index=ids, dtype=np.int64)

    def entity_alerts(self, entity_id: int) -> int:
        return int(self.entity_totals.get(entity_id, 0))

    @property
    def entities(self) -> dict[int, dict[str, int]]:
        """Alerts per entity id and colour."""
        result: dict[int, dict[str, int]] = {}
        pairs, counts = np.unique(
            np.stack([self.run_entities, self.run_codes]), axis=1, return_counts=True
        )
        for (entity, code), count in zip(pairs.T.tolist(), counts.tolist(), strict=True):
            result.setdefault(entity, {})[SEVERITY_NAMES[code]] = count
        return result

    @property
    def noise_to_signal(self) -> float | None:
        if self.signals is None:
            return None
        a, b, c, d = (self.signals[key] for key in "ABCD")
        if a + c == 0 or b + d == 0:
            return None
        hit_rate = a / (a + c)
        return math.inf if hit_rate == 0 else (b / (b + d)) / hit_rate


@dataclass(frozen=True)
class History:
    """One indicator's stored scores (periods x entity ids), free of any database object."""

    indicator_id: int
    direction: str
    frequency: str
    panel: pd.DataFrame
    observed: np.ndarray


@dataclass(frozen=True)
class Replay:
    """What a preview replays settings over: the histories and their episode masks."""

    histories: list[History]
    masks: list[EpisodeMasks | None]
    source: str | None  # DATED, DETECTED, or None without episodes


def covered_indicators(session: Session, threshold: Threshold) -> list[Indicator]:
    """The indicators a threshold row decides for: its own, or its group's without overrides."""
    if threshold.indicator_id is not None:
        return [threshold.indicator] if threshold.indicator else []
    overridden = select(Threshold.indicator_id).where(
        Threshold.model == threshold.model, Threshold.indicator_id.is_not(None)
    )
    statement = select(Indicator).where(
        Indicator.level == threshold.level,
        Indicator.dimension == threshold.dimension,
        Indicator.id.not_in(overridden),
    )
    return list(session.scalars(statement.order_by(Indicator.code)))


def load_histories(session: Session, indicators: Sequence[Indicator], model: str) -> list[History]:
    """The stored scores of ``indicators`` by ``model``, read in one query, as panels."""
    if not indicators:
        return []
    statement = select(Score.indicator_id, Score.entity_id, Score.period, Score.score).where(
        Score.model == model, Score.indicator_id.in_([row.id for row in indicators])
    )
    # The driver's cursor, its rows as one object array converted column by column:
    # a quarter of a million rows without SQLAlchemy's per-row work.
    sql = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(str(sql))
        rows = np.array(cursor.fetchall(), dtype=object).reshape(-1, 4)
    finally:
        cursor.close()
    owners = rows[:, 0].astype(np.int64)
    histories = []
    for indicator in indicators:
        mine = rows[owners == indicator.id]
        if len(mine):
            panel = _panel(
                mine[:, 1].astype(np.int64),
                mine[:, 2].astype("datetime64[D]"),  # ISO text on SQLite, dates elsewhere
                mine[:, 3].astype(np.float64),  # None (no score) becomes NaN
                indicator.frequency,
            )
            histories.append(
                History(
                    indicator_id=indicator.id,
                    direction=indicator.direction,
                    frequency=indicator.frequency,
                    panel=panel,
                    observed=panel.notna().to_numpy(),
                )
            )
    return histories


def _panel(
    entities: np.ndarray, periods: np.ndarray, scores: np.ndarray, frequency: str
) -> pd.DataFrame:
    """Consecutive period starts x entity ids from long arrays, gaps NaN."""
    entity_ids, column = np.unique(entities, return_inverse=True)
    index = pd.date_range(periods.min(), periods.max(), freq=PERIOD_OFFSETS[frequency])
    row = index.get_indexer(pd.DatetimeIndex(periods))
    on_grid = row >= 0  # a date that starts no period is no stored period: left out
    values = np.full((len(index), len(entity_ids)), np.nan)
    values[row[on_grid], column[on_grid]] = scores[on_grid]
    return pd.DataFrame(values, index=index, columns=pd.Index(entity_ids))


def cached_histories(
    session: Session, indicators: Sequence[Indicator], model: str, cache: BoundedCache | None
) -> list[History]:
    """``load_histories``, served from ``cache`` while the data version stays the same."""
    if cache is None:
        return load_histories(session, indicators, model)
    key = (
        model,
        tuple((row.id, row.direction, row.frequency) for row in indicators),
        data_version(session),
    )
    return cache.get_or_load(key, lambda: load_histories(session, indicators, model))


def detected_episodes(session: Session, level: str) -> list[Episode]:
    """The shocks the stage classifier detected for the entities of ``level``."""
    statement = (
        select(Shock.entity_id, Shock.start, Shock.ended)
        .join(Entity, Entity.id == Shock.entity_id)
        .where(Entity.level == level)
    )
    return [
        Episode(
            start=pd.Timestamp(start),
            entity=entity_id,
            end=pd.Timestamp(ended) if ended else None,
        )
        for entity_id, start, ended in session.execute(statement)
    ]


def prepare(
    session: Session,
    threshold: Threshold,
    indicators: Sequence[Indicator] | None = None,
    cache: BoundedCache | None = None,
) -> Replay:
    """The histories a threshold row covers and their masks against the reference episodes."""
    if indicators is None:
        indicators = covered_indicators(session, threshold)
    histories = cached_histories(session, indicators, threshold.model, cache)
    references = reference_episodes(session, threshold.level, threshold.dimension)
    source = DATED if references else None
    if not references:
        references = detected_episodes(session, threshold.level)
        source = DETECTED if references else None
    masks = [_masks(history, references) if references else None for history in histories]
    if not any(mask is not None for mask in masks):
        source = None
    return Replay(histories=histories, masks=masks, source=source)


def _masks(history: History, references: list[Episode]) -> EpisodeMasks | None:
    columns = set(history.panel.columns.tolist())
    mine = [episode for episode in references if episode.entity in columns]
    if not mine:
        return None
    return episode_masks(history.panel, mine, frequency=history.frequency)


def _alert_runs(
    codes: np.ndarray, years: np.ndarray, entity_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each run of coloured periods as one alert: its opening year, entity and worst code."""
    on = codes > 0
    opened = on.copy()
    opened[1:] &= ~on[:-1]
    columns, rows = np.nonzero(on.T)  # column-major: each run's periods together, in order
    starts = np.flatnonzero(opened[rows, columns])
    if not len(starts):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    worst = np.maximum.reduceat(codes[rows, columns], starts).astype(np.int64)
    return years[rows[starts]].astype(np.int64), entity_ids[columns[starts]], worst


def _outcome(years: np.ndarray, entities: np.ndarray, codes: np.ndarray) -> Outcome:
    """The counts of the alerts given as opening years, entities and worst codes."""
    outcome = Outcome(run_entities=entities, run_codes=codes)
    for code, count in zip(*np.unique(codes, return_counts=True), strict=True):
        outcome.totals[SEVERITY_NAMES[code]] = int(count)
    pairs, counts = np.unique(np.stack([years, codes]), axis=1, return_counts=True)
    for (year, code), count in zip(pairs.T.tolist(), counts.tolist(), strict=True):
        outcome.years.setdefault(year, dict.fromkeys(COLOURS, 0))[SEVERITY_NAMES[code]] = count
    return outcome


def evaluate(replay: Replay, setting: dict[str, Any]) -> Outcome:
    """Replay ``setting`` (direction, blue..red, clear, min_periods) over stored scores."""
    runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    totals: dict[str, int] = dict.fromkeys("ABCD", 0)
    cutoffs = [setting[name] for name in ("blue", "yellow", "orange", "red")]
    for history, masks in zip(replay.histories, replay.masks, strict=True):
        try:
            codes = to_levels(
                history.panel,
                cutoffs,
                setting.get("direction") or history.direction,
                clear=setting.get("clear"),
                min_periods=int(setting.get("min_periods") or 1),
            ).to_numpy()
        except (InvalidInput, InvalidParameter) as exc:
            return Outcome(error=str(exc))
        runs.append(
            _alert_runs(
                codes, history.panel.index.year.to_numpy(), history.panel.columns.to_numpy()
            )
        )
        if masks is not None:
            for key, count in count_signals(codes >= 1, history.observed, masks).items():
                totals[key] += count
    if runs:
        years, entities, run_codes = (np.concatenate(parts) for parts in zip(*runs, strict=True))
        outcome = _outcome(years, entities, run_codes)
    else:
        outcome = Outcome()
    outcome.years = dict(sorted(outcome.years.items()))
    outcome.signals = totals if any(mask is not None for mask in replay.masks) else None
    return outcome


def entity_names(session: Session, ids: Sequence[int], locale: str) -> dict[int, str]:
    """Display names of ``ids``, in that order."""
    if not ids:
        return {}
    names = {
        entity.id: entity.name(locale)
        for entity in session.scalars(select(Entity).where(Entity.id.in_(list(ids))))
    }
    return {entity_id: names[entity_id] for entity_id in ids if entity_id in names}


def _most_alerted(outcomes: Sequence[Outcome], limit: int) -> tuple[list[int], int]:
    """The ``limit`` entities with the most alerts under any outcome, and how many others."""
    counts = pd.concat([outcome.entity_totals for outcome in outcomes], axis=1)
    if counts.empty:
        return [], 0
    most = counts.fillna(0).max(axis=1).sort_index().sort_values(ascending=False, kind="stable")
    return [int(entity) for entity in most.index[:limit]], max(len(most) - limit, 0)


def compare(
    session: Session,
    threshold: Threshold,
    proposed: dict[str, Any],
    locale: str,
    cache: BoundedCache | None = None,
) -> dict[str, Any]:
    """The current and the proposed setting's outcomes side by side, for the template."""
    indicators = covered_indicators(session, threshold)
    replay = prepare(session, threshold, indicators, cache)
    current_setting = threshold_setting(threshold)
    current = evaluate(replay, current_setting)
    same = all(proposed.get(name) == value for name, value in current_setting.items()
               if name in proposed)  # fmt: skip
    new = current if same else evaluate(replay, proposed)
    shown, more = _most_alerted([current, new], ENTITIES_SHOWN)
    return {
        "current": current,
        "proposed": new,
        "years": sorted(set(current.years) | set(new.years)),
        "names": entity_names(session, shown, locale),
        "more_entities": more,
        "indicators": indicators,
        "source": replay.source,
    }
