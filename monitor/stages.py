"""Keep each monitored entity's resilience stage, shocks and stage alerts up to date.

Every government- and industry-level entity (and any entity named in the stage
configuration, e.g. an enterprise on request) is classified period by period from its
**performance series** (``performance_indicators``): the first configured indicator
code for its level and kind it has data for, else the highest-frequency indicator
marked ``core`` at its level. Orange and red warnings in that series' dimension
(scores of the entity's own indicators, and its composite index where there is one)
can start a shock. The rules are ``models.stages``; every parameter can be set per
level, per level and kind, per indicator and per entity in the stage configuration
(``StageConfig``, kept in the ``settings`` table). ``docs/stages.md`` explains them.

``update_stages`` runs after scoring. It reclassifies the staged entities' whole
history (cheap: a few dozen series) and writes only what changed, so a re-run over
the same data writes nothing; being causal, the classification never rewrites a
period's stage unless that period's data changed. The same pass recomputes each
entity's shock episodes and measures (``monitor.shocks``) and raises stage alerts
(``monitor.stage_alerts``).

The cluster life cycle (``models.lifecycle``) is computed on read
(``lifecycle_history``): it needs two annual series of a handful of clusters, and
computing it on read means it is never stale.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from models.errors import ModelError
from models.lifecycle import (
    NAMES,
    LifecycleParams,
    classify_lifecycle,
    recommended_policy,
    trailing_growth,
)
from models.panel import PERIODS_PER_YEAR
from models.resilience import shock_episodes, to_frequency
from models.stages import StageParams, performance_level, trace_stages
from monitor.errors import ConfigError
from monitor.panels import observation_panel
from monitor.queries import current_stages, entity_as_dict
from monitor.records import (
    Channel,
    CompositeValue,
    Entity,
    Indicator,
    Observation,
    Score,
    Setting,
    StageRecord,
    utc_now,
)
from monitor.shocks import (
    ReferenceSeries,
    check_reference_rule,
    reference_entity,
    store_shocks,
)
from monitor.stage_alerts import advance_stage_alerts, check_severity
from monitor.vocabulary import Level, Severity

logger = logging.getLogger(__name__)

STAGE_LEVELS = (Level.GOVERNMENT, Level.INDUSTRY)
FREQUENCY_RANK = {"M": 0, "Q": 1, "A": 2}
PERIOD_ALIASES = {"M": "M", "Q": "Q", "A": "Y"}
CONFIG_KEY = "stages.config"
CHUNK = 5_000

#: Whom each kind of entity is compared with for Martin's measures (see monitor.shocks).
DEFAULT_REFERENCES: dict[str, str] = {
    "government/city": "parent",
    "industry": "province",
    "enterprise": "cluster",
}


@dataclass(frozen=True)
class StageConfig:
    """What is staged, from which series, under which rules.

    Attributes
    ----------
    levels : tuple of str
        The levels whose every entity is staged (default government and industry).
    entities : tuple of str
        Codes of further entities to stage, e.g. enterprises on request.
    performance : dict
        ``"level"`` or ``"level/kind"`` → indicator codes, in order of preference:
        the entity's performance series is the first it has data for. Without an
        entry (or none with data): the highest-frequency ``core`` indicator of its level.
    params : dict
        Overrides of ``models.stages.StageParams`` fields, keyed by ``"level"``,
        ``"level/kind"``, ``"indicator:<code>"`` or an entity code; the more specific
        key wins (in that order), the frequency's defaults fill the rest. E.g.
        ``{"indicator:IND_OUTPUT": {"seasonal": true}}`` adjusts raw monthly revenue.
    references : dict
        ``"level"``, ``"level/kind"`` or an entity code → reference rule for Martin's
        measures: ``parent``, ``region``, ``province``, ``cluster``, ``none`` or
        ``entity:<code>``.
    warning_severities : tuple of str
        Colours of a warning in the performance series' dimension that start a shock
        (default orange and red); empty: warnings start nothing.
    warning_models : tuple of str
        The scoring models whose warnings count (empty: any).
    composite_warnings : bool
        Whether the composite risk index of that dimension counts too.
    alerts : bool
        Whether stage transitions raise stage alerts.
    alert_severity : str
        The colour of a stage alert when a shock begins.
    entry_indicators : tuple of str
        Indicator codes of firm entries, for the cluster life cycle.
    lifecycle : dict
        Overrides of ``models.lifecycle.LifecycleParams`` fields.
    """

    levels: tuple[str, ...] = tuple(str(level) for level in STAGE_LEVELS)
    entities: tuple[str, ...] = ()
    performance: dict[str, tuple[str, ...]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_REFERENCES))
    warning_severities: tuple[str, ...] = (Severity.ORANGE.value, Severity.RED.value)
    warning_models: tuple[str, ...] = ()
    composite_warnings: bool = True
    alerts: bool = True
    alert_severity: str = Severity.ORANGE.value
    entry_indicators: tuple[str, ...] = ("IND_ENTRIES",)
    lifecycle: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for level in self.levels:
            if level not in {str(lv) for lv in Level}:
                raise ConfigError(f"unknown level {level!r} in the stage configuration")
        for severity in self.warning_severities:
            check_severity(severity)
        check_severity(self.alert_severity)
        for rule in self.references.values():
            check_reference_rule(rule)
        for key, overrides in self.params.items():
            _check_params(key, overrides)
        self.lifecycle_params()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> StageConfig:
        """A configuration from plain JSON data; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"unknown stage configuration keys: {', '.join(unknown)}")
        values: dict[str, Any] = dict(raw)
        try:
            for name in (
                "levels",
                "entities",
                "warning_severities",
                "warning_models",
                "entry_indicators",
            ):
                if name in values:
                    values[name] = tuple(_names(name, values[name]))
            if "performance" in values:
                values["performance"] = {
                    k: tuple(_names(f"performance of {k}", v))
                    for k, v in values["performance"].items()
                }
            return cls(**values)
        except (AttributeError, TypeError) as exc:
            raise ConfigError(f"stage configuration: {exc}") from exc

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON data."""
        data = asdict(self)
        return json.loads(json.dumps(data))

    def performance_codes(self, entity: Entity) -> tuple[str, ...]:
        """The configured performance indicator codes of ``entity`` (may be empty)."""
        return self.performance.get(
            f"{entity.level}/{entity.kind}", self.performance.get(entity.level, ())
        )

    def stage_params(self, entity: Entity, indicator: Indicator) -> StageParams:
        """The stage parameters of ``entity`` classified on ``indicator``."""
        merged: dict[str, Any] = {}
        for key in (
            entity.level,
            f"{entity.level}/{entity.kind}",
            f"indicator:{indicator.code}",
            entity.code,
        ):
            merged.update(self.params.get(key, {}))
        return StageParams(**merged)

    def reference_rule(self, entity: Entity) -> str:
        """The reference rule of ``entity`` (``none`` without one)."""
        for key in (entity.code, f"{entity.level}/{entity.kind}", entity.level):
            if key in self.references:
                return self.references[key]
        return "none"

    def lifecycle_params(self) -> LifecycleParams:
        try:
            params = LifecycleParams(**self.lifecycle)
            params.validate()
        except (TypeError, ModelError) as exc:
            raise ConfigError(f"life-cycle parameters: {exc}") from exc
        return params


def _names(name: str, value: Any) -> list[str]:
    """``value`` as a list of strings; a bare string is refused (it is not a list)."""
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{name} must be a list of names, got {value!r}")
    return list(value)


def _check_params(key: str, overrides: Mapping[str, Any]) -> None:
    """Refuse overrides with unknown names, or valid for no frequency at all.

    Whether they suit the frequency and the other overrides of an entity is checked
    when the entity is classified.
    """
    try:
        params = StageParams(**overrides)
    except TypeError as exc:
        raise ConfigError(f"stage parameters for {key!r}: {exc}") from exc
    problems: list[str] = []
    for frequency in FREQUENCY_RANK:
        try:
            params.resolved(frequency)
            return
        except ModelError as exc:
            problems.append(str(exc))
    raise ConfigError(f"stage parameters for {key!r}: {problems[0]}")


def load_stage_config(session: Session) -> StageConfig:
    """The stored stage configuration, or the defaults when none was saved."""
    row = session.get(Setting, CONFIG_KEY)
    if row is None:
        return StageConfig()
    try:
        raw = json.loads(row.value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the stored stage configuration is not JSON: {exc}") from exc
    return StageConfig.from_dict(raw)


def save_stage_config(session: Session, config: StageConfig) -> None:
    """Store ``config`` (it takes effect at the next scoring run)."""
    text = json.dumps(config.as_dict(), ensure_ascii=False, sort_keys=True)
    row = session.get(Setting, CONFIG_KEY)
    if row is None:
        session.add(Setting(key=CONFIG_KEY, value=text))
    else:
        row.value = text


def read_stage_config(path: Path) -> StageConfig:
    """A stage configuration from a JSON or YAML file (the keys of ``StageConfig``).

    Raises ``ConfigError`` for an unreadable file, a document that is not a mapping,
    unknown keys or out-of-range values.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the stage configuration {path}: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"the stage configuration {path} must be a mapping of settings")
    return StageConfig.from_dict(raw)


# -- which entities, which series ---------------------------------------------------------


def staged_entities(session: Session, config: StageConfig) -> list[Entity]:
    """The entities to classify: every one of the configured levels, plus those named."""
    condition = Entity.level.in_(list(config.levels))
    if config.entities:
        condition = condition | Entity.code.in_(list(config.entities))
    return list(session.scalars(select(Entity).where(condition).order_by(Entity.id)))


def performance_indicators(
    session: Session, entities: Sequence[Entity], config: StageConfig
) -> dict[int, Indicator]:
    """Each entity's performance series: the first candidate it has observations of.

    The candidates are the configured codes for its level and kind, then the ``core``
    indicators of its level, highest frequency first.
    """
    by_code = {i.code: i for i in session.scalars(select(Indicator))}
    core = sorted(
        (i for i in by_code.values() if i.core),
        key=lambda i: (FREQUENCY_RANK.get(i.frequency, 9), i.id),
    )
    candidates: dict[int, list[Indicator]] = {}
    for entity in entities:
        configured = [by_code[c] for c in config.performance_codes(entity) if c in by_code]
        fallback = [i for i in core if i.level == entity.level and i not in configured]
        candidates[entity.id] = configured + fallback
    return first_observed(session, candidates)


def first_observed(
    session: Session, candidates: Mapping[int, Sequence[Indicator]]
) -> dict[int, Indicator]:
    """Per entity id, the first of its candidate indicators it has observations of."""
    wanted_ids = {i.id for options in candidates.values() for i in options}
    if not wanted_ids:
        return {}
    observed: set[tuple[int, int]] = set()
    entity_ids = list(candidates)
    for offset in range(0, len(entity_ids), CHUNK):
        rows = session.execute(
            select(Observation.indicator_id, Observation.entity_id)
            .where(
                Observation.entity_id.in_(entity_ids[offset : offset + CHUNK]),
                Observation.indicator_id.in_(wanted_ids),
            )
            .distinct()
        )
        observed.update((int(i), int(e)) for i, e in rows)
    chosen: dict[int, Indicator] = {}
    for entity_id, options in candidates.items():
        for indicator in options:
            if (indicator.id, entity_id) in observed:
                chosen[entity_id] = indicator
                break
    return chosen


# -- the update ---------------------------------------------------------------------------


def update_stages(
    session: Session,
    changed: Mapping[int, date] | None = None,
    *,
    now: datetime | None = None,
    notify: bool = True,
    config: StageConfig | None = None,
) -> int:
    """Reclassify the staged entities if ``changed`` (indicator id → period) concerns them.

    ``changed`` ``None`` means everything. Stores stages, shocks and stage alerts in
    the caller's transaction; with ``notify`` the stage alerts of each entity's latest
    period go to the outbox. Returns the number of stage rows written.
    """
    now = now or utc_now()
    config = config or load_stage_config(session)
    entities = staged_entities(session, config)
    chosen = performance_indicators(session, entities, config)
    references = _references(session, entities, config)
    reference_series = performance_indicators(
        session, list({r.id: r for r in references.values()}.values()), config
    )
    if changed is not None and not _concerns(session, changed, chosen, reference_series):
        return 0
    channels = list(session.scalars(select(Channel).where(Channel.enabled))) if notify else []
    written = 0
    for (indicator, params), members in _groups(entities, chosen, config).items():
        written += _update_group(
            session,
            indicator,
            params,
            members,
            references=references,
            reference_series=reference_series,
            config=config,
            channels=channels,
            notify=notify,
            now=now,
        )
    return written


def _references(
    session: Session, entities: Sequence[Entity], config: StageConfig
) -> dict[int, Entity]:
    found: dict[int, Entity] = {}
    for entity in entities:
        reference = reference_entity(session, entity, config.reference_rule(entity))
        if reference is not None:
            found[entity.id] = reference
    return found


def _concerns(
    session: Session,
    changed: Mapping[int, date],
    chosen: Mapping[int, Indicator],
    reference_series: Mapping[int, Indicator],
) -> bool:
    """Whether a changed indicator feeds a stage: a performance, reference or warning series."""
    feeding = {i.id for i in chosen.values()} | {i.id for i in reference_series.values()}
    scopes = {(i.level, i.dimension) for i in chosen.values()}
    if feeding & set(changed):
        return True
    touched = session.scalars(select(Indicator).where(Indicator.id.in_(list(changed))))
    return any((i.level, i.dimension) in scopes for i in touched)


def _groups(
    entities: Sequence[Entity], chosen: Mapping[int, Indicator], config: StageConfig
) -> dict[tuple[Indicator, StageParams], list[Entity]]:
    """Entities sharing a performance series and rules, classified in one panel."""
    groups: dict[tuple[Indicator, StageParams], list[Entity]] = defaultdict(list)
    for entity in entities:
        indicator = chosen.get(entity.id)
        if indicator is None:
            continue
        params = config.stage_params(entity, indicator)
        try:
            params.resolved(indicator.frequency)
        except ModelError as exc:
            raise ConfigError(f"stage parameters of {entity.code}: {exc}") from exc
        groups[(indicator, params)].append(entity)
    return groups


def _update_group(
    session: Session,
    indicator: Indicator,
    params: StageParams,
    members: list[Entity],
    *,
    references: Mapping[int, Entity],
    reference_series: Mapping[int, Indicator],
    config: StageConfig,
    channels: Sequence[Channel],
    notify: bool,
    now: datetime,
) -> int:
    entity_ids = [e.id for e in members]
    panel = observation_panel(session, indicator.id, indicator.frequency, entity_ids)
    if panel.empty:
        return 0
    warnings = _warning_panel(session, panel, indicator, config)
    trace = trace_stages(panel, params, indicator.frequency, warnings=warnings)
    written = _store_stage_rows(session, indicator.id, trace.stages(), panel)

    series = {
        entity_id: ReferenceSeries(reference.id, reference_series[reference.id].id)
        for entity_id, reference in references.items()
        if entity_id in entity_ids and reference.id in reference_series
    }
    reference = _reference_levels(session, panel, indicator.frequency, params, series)
    store_shocks(
        session,
        shock_episodes(trace, reference),
        entity_ids=[int(c) for c in panel.columns],
        indicator_id=indicator.id,
        references=series,
        now=now,
    )
    if config.alerts:
        last_seen = {
            int(column): panel[column].last_valid_index().date()
            for column in panel.columns
            if panel[column].notna().any()
        }
        advance_stage_alerts(
            session,
            trace,
            indicator=indicator,
            entities={e.id: e for e in members},
            channels=channels,
            notify_from=last_seen if notify else None,
            now=now,
            severity=config.alert_severity,
        )
    return written


def _store_stage_rows(
    session: Session, indicator_id: int, stages: pd.DataFrame, panel: pd.DataFrame
) -> int:
    """Make the stored stages of the panel's entities these; return rows written.

    An entity's stages are kept from its first to its last observed period.
    """
    wanted: dict[tuple[int, date], str] = {}
    for column in panel.columns:
        observed = panel[column].dropna()
        if observed.empty:
            continue
        span = stages[column].loc[observed.index[0] : observed.index[-1]]
        wanted.update({(int(column), p.date()): str(s) for p, s in span.items()})
    entity_ids = [int(c) for c in panel.columns]
    stored = {
        (e, p): (s, i)
        for e, p, s, i in session.execute(
            select(
                StageRecord.entity_id,
                StageRecord.period,
                StageRecord.stage,
                StageRecord.indicator_id,
            ).where(StageRecord.entity_id.in_(entity_ids))
        )
    }
    fresh = {
        key: stage for key, stage in wanted.items() if stored.get(key) != (stage, indicator_id)
    }
    stale: dict[int, list[date]] = defaultdict(list)
    for entity_id, period in stored:
        key = (entity_id, period)
        if key in fresh or key not in wanted:
            stale[entity_id].append(period)
    for entity_id, periods in stale.items():
        for offset in range(0, len(periods), CHUNK):
            session.execute(
                delete(StageRecord).where(
                    StageRecord.entity_id == entity_id,
                    StageRecord.period.in_(periods[offset : offset + CHUNK]),
                )
            )
    rows = [
        {"entity_id": e, "period": p, "stage": stage, "indicator_id": indicator_id}
        for (e, p), stage in fresh.items()
    ]
    for offset in range(0, len(rows), CHUNK):
        session.execute(insert(StageRecord), rows[offset : offset + CHUNK])
    return len(rows)


def _complete_in(
    periods: Sequence[date], sources: Sequence[str], frequency: str
) -> pd.DatetimeIndex:
    """Each period of a ``sources`` frequency as the ``frequency`` period it is complete in.

    A coarser period (a year, a quarter) is complete in the last ``frequency`` period it
    covers (December, the quarter's last month); a finer or equal one in the period it
    falls in.
    """
    own = 12 // PERIODS_PER_YEAR[frequency]
    later = np.array([max(12 // PERIODS_PER_YEAR[f] - own, 0) for f in sources], dtype=np.int64)
    months = pd.DatetimeIndex(pd.to_datetime(list(periods))).to_period("M") + later
    return (
        months.to_timestamp(how="start")
        .to_period(PERIOD_ALIASES[frequency])
        .to_timestamp(how="start")
    )


def _warning_panel(
    session: Session, panel: pd.DataFrame, indicator: Indicator, config: StageConfig
) -> pd.DataFrame:
    """True where an orange or red warning fired in the series' dimension that period.

    A warning of a coarser series counts in the last period it covers, when its figure
    is complete (an annual one in December, a quarterly one in the quarter's last
    month): counting it earlier would let later data rewrite stages already shown. A
    finer one counts in the period it falls in (a monthly one in its quarter or year).
    """
    flags = pd.DataFrame(False, index=panel.index, columns=panel.columns)
    if not config.warning_severities or panel.empty:
        return flags
    entity_ids = [int(c) for c in panel.columns]
    first = panel.index[0].date()
    scores = (
        select(Score.entity_id, Score.period, Indicator.frequency)
        .join(Indicator, Indicator.id == Score.indicator_id)
        .join(Entity, Entity.id == Score.entity_id)
        .where(
            Score.entity_id.in_(entity_ids),
            Score.severity.in_(list(config.warning_severities)),
            Indicator.dimension == indicator.dimension,
            Indicator.level == Entity.level,
            Score.period >= first.replace(month=1),
        )
    )
    if config.warning_models:
        scores = scores.where(Score.model.in_(list(config.warning_models)))
    found = [tuple(row) for row in session.execute(scores)]
    if config.composite_warnings:
        composites = select(CompositeValue.entity_id, CompositeValue.period).where(
            CompositeValue.entity_id.in_(entity_ids),
            CompositeValue.severity.in_(list(config.warning_severities)),
            CompositeValue.dimension == indicator.dimension,
            CompositeValue.period >= first.replace(month=1),
        )
        found += [(e, p, indicator.frequency) for e, p in session.execute(composites)]
    if not found:
        return flags
    entity_of = [int(e) for e, _, _ in found]
    starts = _complete_in([p for _, p, _ in found], [f for _, _, f in found], indicator.frequency)
    column_of = {int(c): i for i, c in enumerate(panel.columns)}
    rows = panel.index.get_indexer(starts)
    values = flags.to_numpy(copy=True)
    for row, entity_id in zip(rows.tolist(), entity_of, strict=True):
        if row >= 0:
            values[row, column_of[entity_id]] = True
    return pd.DataFrame(values, index=panel.index, columns=panel.columns)


def _reference_levels(
    session: Session,
    panel: pd.DataFrame,
    frequency: str,
    params: StageParams,
    series: Mapping[int, ReferenceSeries],
) -> pd.DataFrame:
    """Each entity's reference level on the panel's periods (NaN without one).

    The reference series is brought to the entity's frequency (means of complete
    periods) and goes through the entity's own seasonal adjustment and smoothing.
    """
    result = pd.DataFrame(np.nan, index=panel.index, columns=panel.columns)
    cache: dict[ReferenceSeries, pd.Series | None] = {}
    for column in panel.columns:
        wanted = series.get(int(column))
        if wanted is None:
            continue
        if wanted not in cache:
            cache[wanted] = _reference_level(session, wanted, frequency, params)
        level = cache[wanted]
        if level is not None:
            result[column] = level.reindex(panel.index).to_numpy()
    return result


def _reference_level(
    session: Session, wanted: ReferenceSeries, frequency: str, params: StageParams
) -> pd.Series | None:
    indicator = session.get_one(Indicator, wanted.indicator_id)
    if FREQUENCY_RANK[indicator.frequency] > FREQUENCY_RANK[frequency]:
        return None  # a coarser reference cannot be made finer
    raw = observation_panel(session, indicator.id, indicator.frequency, [wanted.entity_id])
    if raw.empty:
        return None
    aligned = to_frequency(raw, indicator.frequency, frequency)
    return performance_level(aligned, params, frequency)[wanted.entity_id]


# -- the cluster life cycle (computed on read) ------------------------------------------


def lifecycle_history(
    session: Session,
    entity_ids: Sequence[int] | None = None,
    config: StageConfig | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """Each industry-level entity's life-cycle stage per year, with the policy to pair.

    Rows: ``period``, ``stage``, ``policy`` (with Chinese and English names),
    ``entry_growth`` and ``output_growth`` (trailing means, fractions). Output is the
    entity's performance series as annual means of complete years; firm entries the
    first configured entry indicator it has data for. Entities lacking either (or whose
    performance series is their firm entries) are left out.
    """
    config = config or load_stage_config(session)
    query = select(Entity).where(Entity.level == Level.INDUSTRY).order_by(Entity.id)
    if entity_ids is not None:
        query = query.where(Entity.id.in_(list(entity_ids)))
    entities = list(session.scalars(query))
    outputs = performance_indicators(session, entities, config)
    entry_options = list(
        session.scalars(select(Indicator).where(Indicator.code.in_(config.entry_indicators)))
    )
    entry_options.sort(key=lambda i: config.entry_indicators.index(i.code))
    entries = first_observed(session, {e.id: entry_options for e in entities})
    params = config.lifecycle_params()
    history: dict[int, list[dict[str, Any]]] = {}
    pairs: dict[tuple[Indicator, Indicator], list[int]] = defaultdict(list)
    for entity in entities:
        entry, output = entries.get(entity.id), outputs.get(entity.id)
        if entry is not None and output is not None and entry.id != output.id:
            pairs[(entry, output)].append(entity.id)
    for (entry_indicator, output_indicator), ids in pairs.items():
        entry_panel = _annual_panel(session, entry_indicator, ids)
        output_panel = _annual_panel(session, output_indicator, ids)
        if entry_panel.empty or output_panel.empty:
            continue
        stages = classify_lifecycle(entry_panel, output_panel, params)
        g_entry = trailing_growth(entry_panel.reindex(stages.index), params.window)
        g_output = trailing_growth(output_panel.reindex(stages.index), params.window)
        for column in stages.columns:
            rows = [
                _lifecycle_row(
                    period, stage, g_entry.at[period, column], g_output.at[period, column]
                )
                for period, stage in stages[column].items()
                if isinstance(stage, str)
            ]
            if rows:
                history[int(column)] = rows
    return history


def _annual_panel(session: Session, indicator: Indicator, entity_ids: list[int]) -> pd.DataFrame:
    panel = observation_panel(session, indicator.id, indicator.frequency, entity_ids)
    if panel.empty:
        return panel
    return to_frequency(panel, indicator.frequency, "A").reindex(columns=entity_ids)


def _lifecycle_row(period: pd.Timestamp, stage: str, g_entry: float, g_output: float) -> dict:
    policy = recommended_policy(stage)
    return {
        "period": period.date().isoformat(),
        "stage": stage,
        "stage_zh": NAMES[stage][0],
        "policy": policy,
        "policy_zh": NAMES[policy][0],
        "policy_en": NAMES[policy][1],
        "entry_growth": float(g_entry),
        "output_growth": float(g_output),
    }


# -- reports for the command line and the console --------------------------------------


def stage_report(session: Session, *, locale: str = "zh_CN") -> list[dict[str, Any]]:
    """Each staged entity's current stage and since when, with its life cycle if any."""
    config = load_stage_config(session)
    rows = current_stages(session, _report_levels(session, config), locale=locale)
    codes = {row["entity"]["code"] for row in rows}
    ids = {
        code: entity_id
        for code, entity_id in session.execute(
            select(Entity.code, Entity.id).where(Entity.code.in_(codes))
        )
    }
    cycles = lifecycle_history(session, list(ids.values()), config)
    for row in rows:
        history = cycles.get(ids.get(row["entity"]["code"], -1))
        row["lifecycle"] = history[-1] if history else None
    return rows


def _report_levels(session: Session, config: StageConfig) -> tuple[str, ...]:
    """The configured levels, and those of the entities staged on request."""
    named = session.scalars(select(Entity.level).where(Entity.code.in_(config.entities)))
    return tuple(dict.fromkeys([*config.levels, *named]))


def stage_history_report(session: Session, *, locale: str = "zh_CN") -> list[dict[str, Any]]:
    """Every staged entity's stage in every period, oldest first, with its life cycle."""
    config = load_stage_config(session)
    statement = (
        select(Entity, StageRecord.period, StageRecord.stage)
        .join(StageRecord, StageRecord.entity_id == Entity.id)
        .where(Entity.level.in_(list(config.levels)) | Entity.code.in_(list(config.entities)))
        .order_by(Entity.level, Entity.code, StageRecord.period)
    )
    report: dict[int, dict[str, Any]] = {}
    for entity, period, stage in session.execute(statement):
        entry = report.setdefault(
            entity.id, {"entity": entity_as_dict(entity, locale), "periods": []}
        )
        entry["periods"].append({"period": period.isoformat(), "stage": stage})
    cycles = lifecycle_history(session, list(report), config)
    for entity_id, entry in report.items():
        entry["lifecycle"] = cycles.get(entity_id, [])
    return list(report.values())
