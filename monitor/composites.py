"""Store composite risk indices (0-100) per entity for each dimension and overall.

For each level, the indicators of each dimension are combined into one index per
entity with entropy weights (``models.composite``), and the dimension indices into an
``overall`` one. Each indicator enters as the model sees it (its ``transform``
applied) and at the highest frequency of its dimension: a quarter's or a year's value
counts from its period's last month on and is carried forward, never spread back, so
a figure arriving late does not rewrite the months before its period ended. The
dimension indices meet in the overall index the same way.

The weights and the base-window bounds are learned the first time a level is
computed and frozen as a numbered version (``CompositeVersion``); every stored value
carries the version it was computed with, and later runs reuse it, so a value never
moves because later data arrived. A new version is made only when asked
(:func:`refreeze`); indicators added since the last version are left out until then.
Colours come from ``Threshold`` rows with model ``composite`` for the (level,
dimension) — ``overall`` for the total — or from the default 40/55/70/85 cut-offs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models.composite import (
    DEFAULT_CUTOFFS,
    CompositeWeights,
    Scale,
    common_frequency,
    fit_composite,
    fit_overall,
    index_levels,
    weighted_mean,
)
from models.errors import InvalidInput
from models.levels import SEVERITY_NAMES
from models.panel import PERIOD_OFFSETS
from models.transforms import apply_transform
from monitor.bulk import bulk_insert
from monitor.panels import observation_panel
from monitor.records import (
    CompositeValue,
    CompositeVersion,
    CompositeWeight,
    Indicator,
    Threshold,
    utc_now,
)
from monitor.vocabulary import Level

logger = logging.getLogger(__name__)

#: The ``dimension`` of the index across all dimensions.
OVERALL = "overall"
#: The ``Threshold.model`` of rows holding the cut-offs of composite indices.
COMPOSITE_MODEL = "composite"
#: The default base window: 2017-2019, before the trade war and the pandemic hit.
DEFAULT_BASE_START = date(2017, 1, 1)
DEFAULT_BASE_END = date(2019, 12, 31)
FREQUENCY_RANK = {"M": 0, "Q": 1, "A": 2}  # highest frequency first
VALUE_COLUMNS = ("entity_id", "dimension", "period", "value", "severity", "version_id")


@dataclass(frozen=True)
class Cutoffs:
    """How a composite index is coloured."""

    cutoffs: tuple[float, float, float, float] = DEFAULT_CUTOFFS
    clear: float | None = None
    min_periods: int = 1


def current_version(session: Session, level: str) -> CompositeVersion | None:
    """The newest frozen weights of ``level``, if any."""
    return session.scalar(
        select(CompositeVersion)
        .where(CompositeVersion.level == level)
        .order_by(CompositeVersion.id.desc())
        .limit(1)
    )


def freeze_weights(
    session: Session,
    level: str,
    *,
    base_start: date = DEFAULT_BASE_START,
    base_end: date = DEFAULT_BASE_END,
    overall_method: str = "entropy",
    created_by: str | None = None,
    now: datetime | None = None,
) -> CompositeVersion | None:
    """Learn and store a new weights version of ``level`` from the data stored now.

    A dimension without any value in the base window is left out (and logged);
    ``None`` (nothing stored) when no dimension has one. The weights depend on the
    base window alone (every transform is causal), so only observations up to its end
    are read: a long history, or one that starts after the window, costs nothing here.
    """
    fitted: dict[str, CompositeWeights] = {}
    indices: dict[str, pd.DataFrame] = {}
    frequencies: dict[str, str] = {}
    for dimension, indicators in _indicators_by_dimension(session, level).items():
        panels, frequency = _panels(session, indicators, until=base_end)
        if not panels:
            logger.info(
                "composite %s/%s not frozen: no values up to %s", level, dimension, base_end
            )
            continue
        directions = {i.id: i.direction for i in indicators}
        try:
            weights = fit_composite(panels, directions, base_start, base_end)
        except InvalidInput as exc:
            logger.warning("composite %s/%s not frozen: %s", level, dimension, exc)
            continue
        fitted[dimension] = weights
        indices[dimension] = _complete(weights.index(panels), frequency)
        frequencies[dimension] = frequency
    if not fitted:
        return None
    overall = fit_overall(
        _common_frequency(indices, frequencies), overall_method, base_start, base_end
    )
    version = CompositeVersion(
        level=level,
        base_start=base_start,
        base_end=base_end,
        overall_method=overall_method,
        created_by=created_by,
        created_at=now or utc_now(),
    )
    session.add(version)
    session.flush()
    rows = [
        CompositeWeight(
            version_id=version.id,
            dimension=dimension,
            indicator_id=int(key),
            weight=float(weights.weights[key]),
            direction=weights.scales[key].direction,
            low=_stored(weights.scales[key].low),
            high=_stored(weights.scales[key].high),
        )
        for dimension, weights in fitted.items()
        for key in weights.weights
    ]
    rows += [
        CompositeWeight(
            version_id=version.id, dimension=OVERALL, component=str(dimension), weight=weight
        )
        for dimension, weight in overall.items()
    ]
    session.add_all(rows)
    session.flush()
    logger.info("composite weights of %s frozen as version %s", level, version.id)
    return version


def update_composites(
    session: Session,
    changed: Mapping[int, date] | None = None,
    *,
    levels: Iterable[str] | None = None,
    base_start: date = DEFAULT_BASE_START,
    base_end: date = DEFAULT_BASE_END,
    overall_method: str = "entropy",
) -> int:
    """Compute and store the composite values touched by ``changed`` (or all); rows written.

    A level without a weights version gets one frozen now (with the given base window
    and overall method); the values are replaced from the earliest changed period of
    the level's indicators on.
    """
    written = 0
    for level in levels if levels is not None else list(Level):
        ids = set(session.scalars(select(Indicator.id).where(Indicator.level == level)))
        if not ids:
            continue
        touched = sorted(changed[i] for i in ids if i in changed) if changed is not None else []
        if changed is not None and not touched:
            continue
        since = touched[0] if touched else None
        version = current_version(session, level)
        if version is None:
            version = freeze_weights(
                session,
                level,
                base_start=base_start,
                base_end=base_end,
                overall_method=overall_method,
            )
            since = None  # values of a new version are written in full
        if version is None:
            continue
        values = compute_composites(session, version)
        written += _store(session, level, version, values, since)
    return written


def refreeze(
    session: Session,
    level: str,
    *,
    base_start: date = DEFAULT_BASE_START,
    base_end: date = DEFAULT_BASE_END,
    overall_method: str = "entropy",
    created_by: str | None = None,
    now: datetime | None = None,
) -> tuple[CompositeVersion | None, int]:
    """Freeze a new weights version of ``level`` and recompute all its values with it.

    Returns the version (``None`` if nothing could be frozen, in which case the stored
    values stay as they are) and the number of values written.
    """
    version = freeze_weights(
        session,
        level,
        base_start=base_start,
        base_end=base_end,
        overall_method=overall_method,
        created_by=created_by,
        now=now,
    )
    if version is None:
        return None, 0
    return version, _store(session, level, version, compute_composites(session, version), None)


def compute_composites(session: Session, version: CompositeVersion) -> dict[str, pd.DataFrame]:
    """Every dimension index and the overall one of ``version``'s level: periods x entity ids."""
    dimensions: dict[str, CompositeWeights] = {}
    overall: dict[str, float] = {}
    weight_rows = list(
        session.scalars(
            select(CompositeWeight)
            .where(CompositeWeight.version_id == version.id)
            .order_by(CompositeWeight.id)
        )
    )
    indicator_ids = [row.indicator_id for row in weight_rows if row.indicator_id is not None]
    indicators = {
        indicator.id: indicator
        for indicator in session.scalars(select(Indicator).where(Indicator.id.in_(indicator_ids)))
    }
    grouped: dict[str, list[CompositeWeight]] = {}
    for row in weight_rows:
        if row.dimension == OVERALL:
            overall[str(row.component)] = row.weight
        else:
            grouped.setdefault(row.dimension, []).append(row)
    base_start, base_end = pd.Timestamp(version.base_start), pd.Timestamp(version.base_end)
    for dimension, rows in grouped.items():
        dimensions[dimension] = CompositeWeights(
            weights={row.indicator_id: row.weight for row in rows},
            scales={
                row.indicator_id: Scale(str(row.direction), _loaded(row.low), _loaded(row.high))
                for row in rows
            },
            base_start=base_start,
            base_end=base_end,
        )
    indices: dict[str, pd.DataFrame] = {}
    frequencies: dict[str, str] = {}
    for dimension, weights in dimensions.items():
        members = [indicators[key] for key in weights.weights if key in indicators]
        panels, frequency = _panels(session, members)
        index = weights.index(panels)
        if not index.empty:
            indices[dimension] = _complete(index, frequency)
            frequencies[dimension] = frequency
    if not indices:
        return {}
    target = min(frequencies.values(), key=FREQUENCY_RANK.__getitem__)
    combined = weighted_mean(_common_frequency(indices, frequencies), overall)
    return {**indices, OVERALL: _complete(combined, target)}


def composite_cutoffs(session: Session, level: str, dimension: str) -> Cutoffs:
    """The colouring of one index: its ``composite`` threshold row, else the defaults."""
    row = session.scalar(
        select(Threshold).where(
            Threshold.model == COMPOSITE_MODEL,
            Threshold.level == level,
            Threshold.dimension == dimension,
            Threshold.indicator_id.is_(None),
        )
    )
    if row is None:
        return Cutoffs()
    return Cutoffs(row.cutoffs(), row.clear, row.min_periods)


def _store(
    session: Session,
    level: str,
    version: CompositeVersion,
    values: Mapping[str, pd.DataFrame],
    since: date | None,
) -> int:
    """Replace the level's stored values from ``since`` on (all without) with ``values``."""
    versions = select(CompositeVersion.id).where(CompositeVersion.level == level)
    query = delete(CompositeValue).where(CompositeValue.version_id.in_(versions))
    if since is not None:
        query = query.where(CompositeValue.period >= since)
    session.execute(query)
    written = 0
    severity_names = (None, *SEVERITY_NAMES[1:])
    for dimension, index in values.items():
        colours = composite_cutoffs(session, level, dimension)
        codes = index_levels(
            index, colours.cutoffs, clear=colours.clear, min_periods=colours.min_periods
        )
        kept = index if since is None else index.loc[index.index >= pd.Timestamp(since)]
        matrix = kept.to_numpy(dtype="float64")
        severity = codes.loc[kept.index].to_numpy()
        # Entity by entity, period by period: the primary key's order.
        entity_at, period_at = np.nonzero(~np.isnan(matrix.T))
        periods = [stamp.date() for stamp in kept.index]
        entity_ids = [int(entity_id) for entity_id in kept.columns]
        rows = (
            (
                entity_ids[c],
                dimension,
                periods[r],
                float(matrix[r, c]),
                severity_names[int(severity[r, c])],
                version.id,
            )
            for c, r in zip(entity_at.tolist(), period_at.tolist(), strict=True)
        )
        written += bulk_insert(session.connection(), CompositeValue.__table__, VALUE_COLUMNS, rows)
    return written


def _indicators_by_dimension(session: Session, level: str) -> dict[str, list[Indicator]]:
    grouped: dict[str, list[Indicator]] = {}
    query = select(Indicator).where(Indicator.level == level).order_by(Indicator.id)
    for indicator in session.scalars(query):
        grouped.setdefault(indicator.dimension, []).append(indicator)
    return grouped


def _panels(
    session: Session, indicators: list[Indicator], *, until: date | None = None
) -> tuple[dict[int, pd.DataFrame], str]:
    """Each indicator's transformed panel at the highest frequency among them, and that.

    Coarser panels are carried forward (``models.composite.common_frequency``).
    ``until`` reads the observations up to that period only.
    """
    if not indicators:
        return {}, "A"
    target = min((i.frequency for i in indicators), key=FREQUENCY_RANK.__getitem__)
    seen: dict[int, pd.DataFrame] = {}
    frequencies: dict[int, str] = {}
    for indicator in indicators:
        panel = observation_panel(session, indicator.id, indicator.frequency, until=until)
        if panel.empty:
            continue
        seen[indicator.id] = apply_transform(panel, indicator.transform, indicator.frequency)
        frequencies[indicator.id] = indicator.frequency
    panels, _ = common_frequency(seen, frequencies, target)
    return panels, target


def _common_frequency(
    indices: Mapping[str, pd.DataFrame], frequencies: Mapping[str, str]
) -> dict[str, pd.DataFrame]:
    """Dimension indices carried to the highest frequency among them, on complete ranges."""
    target = min(frequencies.values(), key=FREQUENCY_RANK.__getitem__)
    aligned, _ = common_frequency(indices, frequencies, target)
    return {key: _complete(index, target) for key, index in aligned.items()}


def _complete(panel: pd.DataFrame, frequency: str) -> pd.DataFrame:
    """``panel`` on the full run of period starts from its first to its last period."""
    if panel.empty:
        return panel
    full = pd.date_range(panel.index[0], panel.index[-1], freq=PERIOD_OFFSETS[frequency])
    return panel.reindex(full)


def _stored(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _loaded(value: float | None) -> float:
    return np.nan if value is None else float(value)
