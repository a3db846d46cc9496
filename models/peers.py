"""Peer comparison: each enterprise against the other firms of its cluster in the same period.

A fall that every firm of a cluster shares is the cluster's story (and the time-series
models of the cluster tell it); a firm that falls while its peers hold is the
enterprise-level warning this model gives.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from models.base import SIGNED, Detector
from models.checks import require_int
from models.errors import InvalidParameter
from models.series import (
    MAD_TO_SIGMA,
    MEAN_AD_TO_SIGMA,
    check_transform,
    model_values,
    safe_scale,
)


class PeerDetector(Detector):
    """Robust z-score of each entity against the other members of its group, per period.

    ``z = (x - median of the peers) / scale`` where the peers are the *other* entities
    of the same group with a value in the same period, and the scale is 1.4826 * their
    MAD, else 1.2533 * their mean absolute deviation from the median, else
    ``1e-9 * max(1, |median|)`` (the conventions of
    :class:`models.robust_z.RobustZDetector`). The entity itself is left out so it
    cannot mask its own deviation. The score is NaN where the entity has no value, has
    no group, or fewer than ``min_peers`` peers have values; positive means above the
    peers.

    Parameters
    ----------
    groups : mapping or None
        Entity → group label (a cluster). Entities missing from the mapping score NaN;
        None puts every entity of the panel in one group.
    min_peers : int
        Peers with a value needed for a score (at least 2).
    transform : {"level", "yoy", "pop"}
        Compare levels or changes in percent (growth against the peers' growth).
    frequency : {"M", "Q", "A"} or None
        The period frequency, or None for a stream of observations.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.

    Notes
    -----
    Each period is compared within itself, so the score is causal and ``fit`` learns
    nothing.
    """

    orientation = SIGNED

    def __init__(
        self,
        groups: Mapping[Hashable, Hashable] | None = None,
        min_peers: int = 3,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.groups = groups
        self.min_peers = min_peers
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        if self.groups is not None and not isinstance(self.groups, Mapping):
            raise InvalidParameter(
                f"groups must map each entity to its group, got {type(self.groups).__name__}"
            )
        require_int("min_peers", self.min_peers, minimum=2)
        check_transform(self.transform, self.frequency)

    def lookback(self) -> int:
        """The transform's lag: each period is compared within itself."""
        return self._transform_lag()

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = model_values(frame, self.transform, self.frequency)
        scores = np.full(values.shape, np.nan)
        for positions in group_positions(frame.columns, self.groups):
            scores[:, positions] = peer_z(values[:, positions], int(self.min_peers))
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


def group_positions(
    columns: pd.Index, groups: Mapping[Hashable, Hashable] | None
) -> list[np.ndarray]:
    """The column positions of each group's members (entities without a group left out)."""
    if groups is None:
        return [np.arange(len(columns))]
    labels = pd.Series([groups.get(entity) for entity in columns], dtype=object)
    known = labels.notna().to_numpy()
    codes, _ = pd.factorize(labels[known])
    positions = np.flatnonzero(known)
    return [positions[codes == code] for code in range(codes.max(initial=-1) + 1)]


def peer_z(members: np.ndarray, min_peers: int) -> np.ndarray:
    """Leave-one-out robust z-scores of a (periods, members) block of one group.

    Exact and without a members x members array. Each period is sorted once; leaving
    out a member only moves the middle positions of the rest past it, so its median
    comes from four order statistics and is one of three values per period (the member
    at or below the lower middle, between the two middles, or above the upper one). The
    absolute deviations from each of the three, sorted once, give every member's MAD
    the same way. Ties are harmless: leaving out any one of equal values leaves the
    same values.
    """
    scores = np.full(members.shape, np.nan)
    if members.size == 0:
        return scores
    present = ~np.isnan(members)
    peers = present.sum(axis=1, keepdims=True) - 1  # how many others, per period
    low = (np.maximum(peers, 1) - 1) // 2
    high = np.maximum(peers, 0) // 2
    ordered = np.sort(members, axis=1)  # NaN last
    at = _order_statistics(ordered, (low, low + 1, high, high + 1))
    candidates = (
        0.5 * (at[1] + at[3]),  # the member sat at or below the lower middle
        0.5 * (at[0] + at[3]),  # between the two middles
        0.5 * (at[0] + at[2]),  # above the upper middle
    )
    case = np.where(members <= at[0], 0, np.where(members > at[2], 2, 1))
    median = np.choose(case, np.broadcast_arrays(*candidates))
    mad = np.full(members.shape, np.nan)
    mean_ad = np.full(members.shape, np.nan)
    for k, centre in enumerate(candidates):
        deviation = np.abs(members - centre)
        spread = _median_without_own(deviation, low, high)
        own = np.where(present, deviation, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            average = (own.sum(axis=1, keepdims=True) - own) / peers
        mad = np.where(case == k, spread, mad)
        mean_ad = np.where(case == k, average, mean_ad)
    spread = np.where(mad > 0, MAD_TO_SIGMA * mad, MEAN_AD_TO_SIGMA * mean_ad)
    scale = safe_scale(spread, median)
    usable = present & (peers >= min_peers)
    with np.errstate(over="ignore", invalid="ignore"):
        np.divide(members - median, scale, out=scores, where=usable)
    scores[np.isinf(scores)] = np.nan
    return scores


def _order_statistics(ordered: np.ndarray, positions: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """The values at the given positions of each sorted row (positions clipped in range)."""
    last = ordered.shape[1] - 1
    return [np.take_along_axis(ordered, np.clip(p, 0, last), axis=1) for p in positions]


def _median_without_own(block: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The median of each row without the element itself.

    ``low``/``high`` are the middle positions among the others. A position at or past
    the element's own place moves up by one: the element's value is at most the value
    there exactly when it can be taken to sit at or before it.
    """
    ordered = np.sort(block, axis=1)
    at = _order_statistics(ordered, (low, low + 1, high, high + 1))
    lower = np.where(block <= at[0], at[1], at[0])
    upper = np.where(block <= at[2], at[3], at[2])
    return 0.5 * (lower + upper)
