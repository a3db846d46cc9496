"""Run the models of one indicator over its panel and decide the colours.

This is the seam between the database world (indicators, threshold rows) and the pure
models: it builds the detector (with the row's parameters), orients the score and cuts
it into the four colours. What differs between models is read from the detector class
(``orientation``, ``lookback``), never from the model's name.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import numpy as np
import pandas as pd

from alerts.lifecycle import Decisions
from models.base import SIGNED, VALUE, Detector
from models.levels import cutoff_levels, level_codes
from models.registry import DETECTORS, build_detector
from monitor.records import Indicator, Threshold
from monitor.vocabulary import Direction, ModelKind

#: Every model the pipeline runs: an indicator is scored by each one with a threshold row.
MODELS: tuple[ModelKind, ...] = tuple(ModelKind)
#: Detector parameters the pipeline sets itself: from the indicator, a row's own field,
#: or the entities' groups (a firm's cluster, see ``monitor.chunks``).
RESERVED_PARAMS: tuple[str, ...] = ("transform", "frequency", "steps", "groups")
#: Entity → group (a firm → its cluster), for a grouped model.
Groups = Mapping[Hashable, Hashable]


def grouped(model: str) -> bool:
    """Whether ``model`` compares each entity with the others of its group in the same
    period (its detector takes ``groups``): its entities are scored group by group."""
    return "groups" in DETECTORS[model].param_names()


def detector_params(
    indicator: Indicator,
    model: str,
    threshold: Threshold | None = None,
    groups: Groups | None = None,
) -> dict[str, object]:
    """The parameters a model runs with for ``indicator``: its transform and frequency,
    the threshold row's ``params``, for the threshold model the row's steps and for a
    grouped model the ``groups``."""
    params: dict[str, object] = {"transform": indicator.transform, "frequency": indicator.frequency}
    if threshold is not None:
        params.update(threshold.params or {})
        if threshold.steps and "steps" in DETECTORS[model].param_names():
            params["steps"] = list(threshold.steps)
    if groups is not None and grouped(model):
        params["groups"] = groups
    return params


def build_model(
    indicator: Indicator,
    model: str,
    threshold: Threshold | None = None,
    groups: Groups | None = None,
) -> Detector:
    """The validated detector that scores ``indicator`` for ``model`` (and its row)."""
    return build_detector(model, detector_params(indicator, model, threshold, groups))


def model_history(
    indicator: Indicator, model: str, threshold: Threshold | None = None
) -> int | None:
    """How many periods before a period a model (with its row) reads to score it.

    ``None`` means the whole history: recursive models (EWMA, CUSUM, an ensemble with
    them or with a calibration of unlimited memory) keep no state between runs, so
    each run reads every stored period of the indicator, a cost that grows with the
    history (see ``docs/catalog-format.md``).
    """
    return build_model(indicator, model, threshold).lookback()


def confirmation(threshold: Threshold) -> tuple[int, int | None]:
    """``min_periods`` and ``of_last`` for :func:`models.levels.to_levels` from a row."""
    if threshold.confirm:
        return int(threshold.confirm["n"]), int(threshold.confirm["m"])
    return threshold.min_periods, None


def model_scores(
    panel: pd.DataFrame,
    indicator: Indicator,
    model: str,
    threshold: Threshold | None = None,
    groups: Groups | None = None,
) -> pd.DataFrame:
    """The model's score, oriented so the threshold's direction applies.

    A signed score (a z-score, a chart statistic, a shift: positive above the usual
    level) is turned so that positive means "riskier in the indicator's direction" (a
    fall for a lower-is-riskier indicator) and is absolute for ``both``. A score that
    already grows with risk (a distance, a spread ratio, a rarity) and the threshold
    model's value are used as they are. A threshold row's rule steps run after the
    indicator's transform. A grouped model needs the ``groups`` of the panel's
    entities (an entity without one gets no score).
    """
    if groups is None and grouped(model):
        raise ValueError(f"{model} compares entities within groups: give their groups")
    detector = build_model(indicator, model, threshold, groups)
    scores = detector.fit(panel).score(panel)
    if detector.orientation == SIGNED:
        if indicator.direction == Direction.DOWN:
            scores = -scores
        elif indicator.direction == Direction.BOTH:
            scores = scores.abs()
    return scores


def fixed_direction(model: str) -> Direction | None:
    """The one direction a threshold row of ``model`` can have, or None if it is free.

    Only the threshold model compares a value with the cut-offs, in a direction of the
    row's or the indicator's choice; every other model's score is oriented towards risk
    (see ``model_scores``), so its cut-offs rise.
    """
    return None if DETECTORS[model].orientation == VALUE else Direction.UP


def effective_direction(indicator: Indicator, threshold: Threshold) -> str:
    """The direction the cut-offs apply in: the row's fixed one (see
    :func:`fixed_direction`), else the row's own if set, else the indicator's."""
    return fixed_direction(threshold.model) or threshold.direction or indicator.direction


def decide(
    panel: pd.DataFrame,
    indicator: Indicator,
    model: str,
    threshold: Threshold,
    groups: Groups | None = None,
) -> Decisions:
    """Scores, colour codes and crossed cut-offs of every series of one indicator.

    The colours are decided on the score array itself (:func:`models.levels.level_codes`):
    the detector's output is already a checked float panel, so nothing is copied.
    ``groups`` as for :func:`model_scores`.
    """
    scores = model_scores(panel, indicator, model, threshold, groups).to_numpy(dtype="float64")
    direction = effective_direction(indicator, threshold)
    min_periods, of_last = confirmation(threshold)
    codes = level_codes(
        scores,
        threshold.cutoffs(),
        direction,
        clear=threshold.clear,
        min_periods=min_periods,
        of_last=of_last,
    )
    return Decisions(
        periods=pd.DatetimeIndex(panel.index),
        entity_ids=np.asarray(panel.columns, dtype=np.int64),
        scores=scores,
        codes=codes,
        crossed=cutoff_levels(codes, threshold.cutoffs(), direction),
    )


def pick_threshold(
    thresholds: Iterable[Threshold], indicator: Indicator, model: str
) -> Threshold | None:
    """The indicator's own threshold row if it has one, else its level x dimension row."""
    general = None
    for row in thresholds:
        if row.model != model:
            continue
        if row.indicator_id == indicator.id:
            return row
        if (
            row.indicator_id is None
            and row.level == indicator.level
            and row.dimension == indicator.dimension
        ):
            general = row
    return general
