"""The threshold backtest preview: what a setting would have raised over the stored history.

Stored scores of a threshold's model (for the threshold model, the transformed
values it compares) are cut again with ``models.levels.to_levels`` for a proposed
setting. An alert is a run of coloured periods of one entity; it counts in the year
it opened, under the worst colour it reached. Against reference episodes the signals
approach (``models.signals``) scores the setting: hits (A), false alarms (B), misses
(C), the type I and type II errors, the noise-to-signal ratio, P(shock | signal) and the
median lead time, and proposes the percentile of the scores whose blue cut-off would
have had the lowest noise-to-signal ratio. The references are the episodes staff dated
for the level and dimension (``monitor.episodes``) when there are any, else the shocks
the stage classifier detected (the ``shocks`` table).

The scores of all indicators a row covers are read in one query and kept, with their
episode masks, in the process's bounded cache (``web.backtest_cache``) until the data
or the dated episodes change, so editing a setting replays it over panels already in
memory; the proposal, which depends on the direction only, is cached the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.errors import InvalidInput, InvalidParameter
from models.levels import SEVERITY_NAMES, to_levels
from models.panel import PERIOD_OFFSETS
from models.signals import (
    Episode,
    EpisodeMasks,
    SignalTable,
    count_signals,
    episode_masks,
    lead_times,
    propose_threshold,
)
from monitor.audit import threshold_setting
from monitor.episodes import reference_episodes
from monitor.records import Entity, Indicator, Score, Shock, Threshold
from monitor.records import Episode as DatedEpisode
from web.backtest_cache import BoundedCache, data_version

COLOURS = SEVERITY_NAMES[1:]
#: The per-entity table of the preview lists this many entities, most alerts first.
ENTITIES_SHOWN = 50
#: Where the reference episodes come from.
DATED, DETECTED = "dated", "detected"


@dataclass
class Outcome:
    """The preview of one setting: alerts per year and colour, per entity, signal counts.

    ``run_entities`` and ``run_codes`` hold every alert's entity and worst colour code;
    ``leads`` the periods from the first signal to each reference episode's start (NaN
    for an episode no signal came before).
    """

    years: dict[int, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))
    signals: dict[str, int] | None = None
    leads: np.ndarray = field(default_factory=lambda: np.zeros(0))
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

    @cached_property
    def table(self) -> SignalTable | None:
        """The signals approach's table of the counts and leads (None without episodes)."""
        if self.signals is None:
            return None
        leads = pd.DataFrame({"lead": self.leads, "caught": ~np.isnan(self.leads)})
        return SignalTable(**self.signals, leads=leads, by_entity=pd.DataFrame())

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
    references: list[Episode] = field(default_factory=list)
    proposals: dict[str | None, Proposal] = field(default_factory=dict)  # by direction


@dataclass(frozen=True)
class Proposal:
    """The blue cut-off the signals approach proposes, or why there is none.

    ``percentile`` of the row's scores (of ``|score|`` for ``both``, the ``100 -
    percentile``-th for ``down``) gives ``cutoff``; ``measures`` are its counts and
    measures (``SignalTable.as_dict``). ``reason`` says why nothing is proposed:
    ``episodes`` (no reference episodes), ``mixed`` (indicators of several frequencies
    or directions), ``none`` (no candidate signalled ahead of a shock).
    """

    percentile: float | None = None
    cutoff: float | None = None
    direction: str | None = None
    measures: dict[str, float] = field(default_factory=dict)
    reason: str | None = None

    @property
    def score_percentile(self) -> float | None:
        """Which percentile of the scores (of ``|score|`` for ``both``) the cut-off is."""
        if self.percentile is None:
            return None
        return 100.0 - self.percentile if self.direction == "down" else self.percentile

    @property
    def cutoff_text(self) -> str:
        """The cut-off as the form's number field takes it, to four decimals."""
        return "" if self.cutoff is None else repr(round(self.cutoff, 4))


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


def episodes_version(session: Session) -> tuple[object, ...]:
    """What changes when an episode is dated or removed, or a shock detected or dropped.

    The count and newest id of each table; a scoring run that rewrites shocks also
    changes the data version.
    """
    statement = select(
        select(func.count(DatedEpisode.id)).scalar_subquery(),
        select(func.max(DatedEpisode.id)).scalar_subquery(),
        select(func.count(Shock.id)).scalar_subquery(),
        select(func.max(Shock.id)).scalar_subquery(),
    )
    return tuple(session.execute(statement).one())


def _replay_key(session: Session, threshold: Threshold, indicators: Sequence[Indicator]) -> tuple:
    return (
        "replay",
        threshold.model,
        threshold.level,
        threshold.dimension,
        tuple((row.id, row.direction, row.frequency) for row in indicators),
        data_version(session),
        episodes_version(session),
    )


def prepare(
    session: Session,
    threshold: Threshold,
    indicators: Sequence[Indicator] | None = None,
    cache: BoundedCache | None = None,
) -> Replay:
    """The histories a threshold row covers and their masks against the reference episodes.

    With ``cache``, the replay is kept while the data and the dated episodes stay the same.
    """
    if indicators is None:
        indicators = covered_indicators(session, threshold)
    if cache is None:
        return _prepare(session, threshold, indicators)
    key = _replay_key(session, threshold, indicators)
    return cache.get_or_load(key, lambda: _prepare(session, threshold, indicators))


def _prepare(session: Session, threshold: Threshold, indicators: Sequence[Indicator]) -> Replay:
    histories = load_histories(session, indicators, threshold.model)
    references = reference_episodes(session, threshold.level, threshold.dimension)
    source = DATED if references else None
    if not references:
        references = detected_episodes(session, threshold.level)
        source = DETECTED if references else None
    masks = [_masks(history, references) if references else None for history in histories]
    if not any(mask is not None for mask in masks):
        source = None
    return Replay(histories=histories, masks=masks, source=source, references=references)


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
    leads: list[np.ndarray] = []
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
            leads.append(lead_times(codes >= 1, history.observed, masks))
    if runs:
        years, entities, run_codes = (np.concatenate(parts) for parts in zip(*runs, strict=True))
        outcome = _outcome(years, entities, run_codes)
    else:
        outcome = Outcome()
    outcome.years = dict(sorted(outcome.years.items()))
    outcome.signals = totals if any(mask is not None for mask in replay.masks) else None
    outcome.leads = np.concatenate(leads) if leads else np.zeros(0)
    return outcome


def propose(replay: Replay, direction: str | None) -> Proposal:
    """The blue cut-off with the lowest noise-to-signal ratio over the replay's scores.

    ``direction`` is the setting's (``None``: each indicator's own). The indicators'
    scores are pooled into one panel, an (indicator, entity) pair per column; they
    must share one frequency and one direction.
    """
    pairs = [
        (history, masks)
        for history, masks in zip(replay.histories, replay.masks, strict=True)
        if masks is not None
    ]
    if not pairs:
        return Proposal(reason="episodes")
    histories = [history for history, _masks in pairs]
    directions = {direction or history.direction for history in histories}
    frequencies = {history.frequency for history in histories}
    if len(directions) != 1 or len(frequencies) != 1:
        return Proposal(reason="mixed")
    (chosen,), (frequency,) = directions, frequencies
    panel, episodes = _pooled(histories, replay.references, frequency)
    try:
        proposal = propose_threshold(panel, episodes, chosen, frequency=frequency)
    except (InvalidInput, InvalidParameter):
        return Proposal(reason="none")
    if proposal.percentile is None or not isinstance(proposal.threshold, float):
        return Proposal(reason="none")
    measures = proposal.candidates.loc[proposal.percentile].to_dict()
    return Proposal(
        percentile=proposal.percentile,
        cutoff=proposal.threshold,
        direction=chosen,
        measures=measures,
    )


def _pooled(
    histories: Sequence[History], references: Sequence[Episode], frequency: str
) -> tuple[pd.DataFrame, list[Episode]]:
    """One panel of several histories (columns ``indicator:entity``) and its episodes."""
    if len(histories) == 1:
        columns = set(histories[0].panel.columns.tolist())
        return histories[0].panel, [episode for episode in references if episode.entity in columns]
    panels, episodes = [], []
    for history in histories:
        label = {entity: f"{history.indicator_id}:{entity}" for entity in history.panel.columns}
        panels.append(history.panel.rename(columns=label))
        episodes += [
            Episode(start=episode.start, entity=label[episode.entity], end=episode.end)
            for episode in references
            if episode.entity in label
        ]
    pooled = pd.concat(panels, axis=1)
    index = pd.date_range(pooled.index.min(), pooled.index.max(), freq=PERIOD_OFFSETS[frequency])
    return pooled.reindex(index), episodes


def proposal(replay: Replay, direction: str | None) -> Proposal:
    """``propose``, kept with the replay (a cached replay keeps its proposals)."""
    if direction not in replay.proposals:
        replay.proposals[direction] = propose(replay, direction)
    return replay.proposals[direction]


def applied(setting: dict[str, Any], proposal: Proposal) -> dict[str, str]:
    """The form values that move ``setting``'s blue cut-off to the proposed one.

    The other cut-offs and the clearing level move by as much, so their order and
    spacing stay valid in every direction (a clearing level of ``both`` stays at 0 or
    above). Empty when nothing is proposed.
    """
    if proposal.cutoff is None or setting.get("blue") is None:
        return {}
    offset = proposal.cutoff - setting["blue"]
    values = {name: setting[name] + offset for name in ("blue", "yellow", "orange", "red")}
    values["blue"] = proposal.cutoff
    if setting.get("clear") is not None:
        clear = setting["clear"] + offset
        values["clear"] = max(clear, 0.0) if proposal.direction == "both" else clear
    return {name: repr(round(value, 4)) for name, value in values.items()}


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
    suggestion = proposal(replay, proposed.get("direction"))
    return {
        "current": current,
        "proposed": new,
        "years": sorted(set(current.years) | set(new.years)),
        "names": entity_names(session, shown, locale),
        "more_entities": more,
        "indicators": indicators,
        "source": replay.source,
        "proposal": suggestion,
        "applied": applied(proposed, suggestion),
        "frequencies": sorted({history.frequency for history in replay.histories}),
    }
