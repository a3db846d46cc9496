"""The multivariate model: an isolation forest per entity over its indicators.

Each entity's indicators form one point per period; a point that a random forest of
axis-parallel cuts isolates in few steps is unusual for that entity, even when every
indicator on its own looks ordinary (a combination never seen before).

scikit-learn's ``score_samples`` is "higher is more normal", the opposite of what every
ClusterWatch score means; :func:`isolation_score` is the one place that turns it round.
"""

from __future__ import annotations

from collections.abc import Hashable
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from models.base import RISK, Detector
from models.checks import require_int
from models.errors import InvalidInput, InvalidParameter
from models.series import check_transform, model_values


def isolation_score(forest: IsolationForest, points: np.ndarray) -> np.ndarray:
    """The isolation anomaly score of each point minus 0.5: positive means anomalous.

    scikit-learn's ``score_samples`` returns ``-s`` for the anomaly score ``s`` of Liu,
    Ting and Zhou (2008): ``s`` is near 1 for a point isolated at once, about 0.5 for
    an ordinary one and lower for points deep inside the data. ``s - 0.5`` is the
    negated ``decision_function`` of a forest with the default offset.
    """
    return -forest.score_samples(points) - 0.5


class ForestDetector(Detector):
    """Isolation-forest score of each entity's period, over all its indicators.

    The panel's columns are a two-level index ``(entity, indicator)``. ``fit`` trains
    one forest per entity on its history: the periods where every indicator is known
    once each gap is filled with the indicator's last earlier value; an entity with
    fewer than ``min_periods`` such periods gets no forest and scores NaN. ``score``
    fills gaps the same way (the last earlier value, else the indicator's median in
    the history) and gives each period one score, ``s - 0.5`` (see
    :func:`isolation_score`), written in every indicator column of the entity where
    that indicator has a value (NaN where it has none).

    The score of a period uses that period's values, earlier values that fill its
    gaps, and the forest: fit the detector on the reference periods and the scores of
    later periods are causal. Fitting on the very panel that is scored is the classic
    in-sample outlier search: it isolates extreme periods best, but then later periods
    shape the scores of earlier ones. Isolation trees do not extrapolate: a new value
    beyond the fitted history scores like the history's most extreme periods, so values
    out of range are the univariate models' job; the forest finds combinations of
    indicators the entity has not shown before.

    Parameters
    ----------
    n_estimators : int
        Trees per forest.
    max_samples : int or "auto"
        Periods drawn for each tree ("auto": min(256, periods)).
    min_periods : int
        Complete periods an entity needs for a forest (at least 2).
    random_state : int or None
        Seed of the forests, for repeatable scores.
    transform : {"level", "yoy", "pop"}
        Use the levels or their changes in percent.
    frequency : {"M", "Q", "A"} or None
        The period frequency, or None for a stream of observations.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The ``(entity, indicator)`` columns of that history.
    forests_ : dict
        Per entity with enough history: its forest, indicators and gap fillers.
    """

    orientation = RISK

    def __init__(
        self,
        n_estimators: int = 100,
        max_samples: int | str = "auto",
        min_periods: int = 8,
        random_state: int | None = 0,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.min_periods = min_periods
        self.random_state = random_state
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        require_int("n_estimators", self.n_estimators, minimum=1)
        if self.max_samples != "auto":
            require_int("max_samples", self.max_samples, minimum=2)
        require_int("min_periods", self.min_periods, minimum=2)
        seed = self.random_state
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
            raise InvalidParameter(f"random_state must be a whole number or None, got {seed!r}")
        check_transform(self.transform, self.frequency)

    def _fit(self, history: pd.DataFrame) -> None:
        check_columns(history, "history")
        values = model_values(history, self.transform, self.frequency)
        forests: dict[Hashable, EntityForest] = {}
        for entity, positions in entity_positions(history.columns).items():
            points = filled_forward(values[:, positions])
            complete = points[~np.isnan(points).any(axis=1)]
            if len(complete) < int(self.min_periods):
                continue
            samples = self.max_samples
            if samples != "auto":
                samples = min(int(samples), len(complete))
            forest = IsolationForest(
                n_estimators=int(self.n_estimators),
                max_samples=samples,
                random_state=self.random_state,
            ).fit(complete)
            indicators = history.columns[positions].get_level_values(1)
            forests[entity] = EntityForest(forest, indicators, np.median(complete, axis=0))
        self.forests_ = forests

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_columns(frame, "frame")
        values = model_values(frame, self.transform, self.frequency)
        scores = np.full(values.shape, np.nan)
        for entity, positions in entity_positions(frame.columns).items():
            model = self.forests_.get(entity)
            if model is None or len(frame) == 0:
                continue
            known = pd.Index(frame.columns[positions].get_level_values(1))
            points = np.full((len(frame), len(model.indicators)), np.nan)
            where = known.get_indexer(model.indicators)
            found = where >= 0
            points[:, found] = values[:, positions[where[found]]]
            anything = ~np.isnan(points).all(axis=1)
            points = filled_forward(points)
            points = np.where(np.isnan(points), model.medians, points)
            entity_score = isolation_score(model.forest, points)
            entity_score[~anything] = np.nan
            block = np.repeat(entity_score[:, None], len(positions), axis=1)
            scores[:, positions] = np.where(np.isnan(values[:, positions]), np.nan, block)
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


class EntityForest:
    """One entity's fitted forest, the indicators it knows and their median fillers."""

    def __init__(self, forest: IsolationForest, indicators: pd.Index, medians: np.ndarray):
        self.forest = forest
        self.indicators = indicators
        self.medians = medians


def check_columns(frame: pd.DataFrame, name: str) -> None:
    """Refuse a panel whose columns are not ``(entity, indicator)`` pairs."""
    columns = frame.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels != 2:
        raise InvalidInput(
            f"{name} columns must be (entity, indicator) pairs: a two-level MultiIndex"
        )


def entity_positions(columns: pd.MultiIndex) -> dict[Hashable, np.ndarray]:
    """The column positions of each entity, in column order."""
    codes = pd.factorize(columns.get_level_values(0))
    return {entity: np.flatnonzero(codes[0] == code) for code, entity in enumerate(codes[1])}


def filled_forward(points: np.ndarray) -> np.ndarray:
    """Each gap filled with the last earlier value of its column (NaN before the first)."""
    return pd.DataFrame(points).ffill().to_numpy(dtype=np.float64)
