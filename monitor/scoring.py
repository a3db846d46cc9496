"""Run the models of one indicator over its panel and decide the colours.

This is the seam between the database world (indicators, threshold rows) and the pure
models: it builds the detector, orients the score and cuts it into the four colours.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from alerts.lifecycle import Decisions
from models.levels import cutoff_levels, level_codes
from models.registry import build_detector
from models.rules import parse_steps
from models.transforms import transform_lag
from monitor.records import Indicator, Threshold
from monitor.vocabulary import Direction, ModelKind

MODELS: tuple[ModelKind, ...] = (ModelKind.THRESHOLD, ModelKind.ROBUST_Z)


def detector_params(
    indicator: Indicator, model: str, threshold: Threshold | None = None
) -> dict[str, object]:
    """The parameters a model runs with for ``indicator`` (and its threshold row's steps)."""
    params: dict[str, object] = {"transform": indicator.transform, "frequency": indicator.frequency}
    if model == ModelKind.THRESHOLD and threshold is not None and threshold.steps:
        params["steps"] = list(threshold.steps)
    return params


def rule_history(threshold: Threshold | None, frequency: str) -> int:
    """How many periods before a period the threshold row's steps read to score it.

    Each windowed step looks back ``window`` periods (``rise_from_low`` and
    ``fall_from_high`` also the period itself), a ``yoy``/``pop`` step its lag.
    """
    if threshold is None or not threshold.steps:
        return 0
    total = 0
    for step in parse_steps(threshold.steps):
        if step.kind in ("yoy", "pop"):
            total += transform_lag(step.kind, frequency)
        elif step.window is not None:
            total += step.window if step.kind != "ma" else step.window - 1
    return total


def confirmation(threshold: Threshold) -> tuple[int, int | None]:
    """``min_periods`` and ``of_last`` for :func:`models.levels.to_levels` from a row."""
    if threshold.confirm:
        return int(threshold.confirm["n"]), int(threshold.confirm["m"])
    return threshold.min_periods, None


def model_scores(
    panel: pd.DataFrame, indicator: Indicator, model: str, threshold: Threshold | None = None
) -> pd.DataFrame:
    """The model's score, oriented so the threshold's direction applies.

    The robust z-score is turned so that positive means "riskier in the indicator's
    direction" (a fall for a lower-is-riskier indicator) and is absolute for ``both``.
    A threshold row's rule steps run after the indicator's transform.
    """
    detector = build_detector(model, detector_params(indicator, model, threshold))
    scores = detector.fit(panel).score(panel)
    if model == ModelKind.ROBUST_Z:
        if indicator.direction == Direction.DOWN:
            scores = -scores
        elif indicator.direction == Direction.BOTH:
            scores = scores.abs()
    return scores


def effective_direction(indicator: Indicator, threshold: Threshold) -> str:
    """The direction the cut-offs apply in.

    A robust z-score is already oriented towards risk (see ``model_scores``), so its
    cut-offs always apply upwards; a threshold row follows its own direction if set,
    else the indicator's.
    """
    if threshold.model == ModelKind.ROBUST_Z:
        return Direction.UP
    return threshold.direction or indicator.direction


def decide(
    panel: pd.DataFrame, indicator: Indicator, model: str, threshold: Threshold
) -> Decisions:
    """Scores, colour codes and crossed cut-offs of every series of one indicator.

    The colours are decided on the score array itself (:func:`models.levels.level_codes`):
    the detector's output is already a checked float panel, so nothing is copied.
    """
    scores = model_scores(panel, indicator, model, threshold).to_numpy(dtype="float64")
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
