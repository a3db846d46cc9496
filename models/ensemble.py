"""The ensemble: several detectors, each calibrated to a common scale, combined into one score.

Each member is a detector, the calibration that puts its scores on the common scale
(see :mod:`models.calibration`) and a weight. The combined score at ``t`` is the
weighted maximum (or mean) of the members' calibrated scores, so it reads on the
calibration's scale: with :class:`~models.calibration.TailProbability`, 3 means "as
rare as one period in a thousand" by the most alarmed member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.base import RISK, Detector
from models.calibration import Calibration, TailProbability
from models.checks import require_choice, require_int, require_real
from models.cusum import CusumDetector
from models.errors import InvalidParameter
from models.ewma import EwmaDetector
from models.seasonal import SeasonalDetector
from models.series import check_transform, shifted_down, trailing_extreme
from models.shifts import LevelShiftDetector

#: How member scores are combined.
COMBINATIONS: tuple[str, ...] = ("max", "mean")


@dataclass(frozen=True)
class Member:
    """One voice of an ensemble: a detector, its calibration and its weight."""

    detector: Detector
    calibration: Calibration
    weight: float = 1.0

    def validate(self) -> None:
        """Raise ``InvalidParameter`` unless the member is usable."""
        if not isinstance(self.detector, Detector):
            raise InvalidParameter(f"a member needs a Detector, got {self.detector!r}")
        if not isinstance(self.calibration, Calibration):
            raise InvalidParameter(f"a member needs a Calibration, got {self.calibration!r}")
        require_real("weight", self.weight, minimum=0.0, strict_minimum=True)
        self.detector.validate()
        self.calibration.validate()


def default_members(transform: str = "level", frequency: str | None = "M") -> list[Member]:
    """The default voices: EWMA, CUSUM, level shift and seasonal residual, as tail rarity."""
    rarity = TailProbability(side="both")
    common = {"transform": transform, "frequency": frequency}
    return [
        Member(EwmaDetector(**common), rarity),
        Member(CusumDetector(**common), rarity),
        Member(LevelShiftDetector(**common), rarity),
        Member(SeasonalDetector(**common), rarity),
    ]


class EnsembleDetector(Detector):
    """Combine calibrated member scores, with an optional refractory period.

    Every member's detector scores the panel, its calibration re-reads those scores
    on the common scale, and the weighted maximum (``combine="max"``: the most alarmed
    member speaks) or mean of the members present is the combined score; NaN where no
    member has a score. With ``refractory = r > 0`` the output is what the combined
    score adds to the highest score of the ``r`` periods before it, floored at 0: an
    episode raises the score once, at its start, and within ``r`` periods only a
    stronger signal raises it again, so one episode is not reported over and over.

    Parameters
    ----------
    members : sequence of Member or None
        The detectors with their calibrations and weights (None: EWMA, CUSUM, level
        shift and seasonal residual, each with ``transform`` and ``frequency`` and
        calibrated as tail rarity, see :func:`default_members`).
    combine : {"max", "mean"}
        How the weighted member scores are combined.
    refractory : int
        Periods after a score within which only a larger score counts (0: off).
    transform : {"level", "yoy", "pop"}
        The transform of the default members (explicit members carry their own).
    frequency : {"M", "Q", "A"} or None
        The frequency of the default members (explicit members carry their own).

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.
    members_ : list of Member
        The members with their detectors fitted (fresh copies; the parameters are left
        untouched).

    Notes
    -----
    Calibrated scores are never negative and grow with rarity (``orientation`` "risk").
    A member reading the whole history (EWMA, CUSUM) or a calibration with unlimited
    ``memory`` (the default members' both) makes the ensemble read it too.
    """

    orientation = RISK

    def __init__(
        self,
        members: Sequence[Member] | None = None,
        combine: str = "max",
        refractory: int = 0,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.members = members
        self.combine = combine
        self.refractory = refractory
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        check_transform(self.transform, self.frequency)
        members = self._resolved_members()
        if isinstance(members, str | bytes) or len(members) == 0:
            raise InvalidParameter("an ensemble needs at least one member")
        for member in members:
            if not isinstance(member, Member):
                raise InvalidParameter(f"ensemble members must be Member objects, got {member!r}")
            member.validate()
        require_choice("combine", self.combine, COMBINATIONS)
        require_int("refractory", self.refractory, minimum=0)

    def _resolved_members(self) -> Sequence[Member]:
        if self.members is None:
            return default_members(self.transform, self.frequency)
        return self.members

    def lookback(self) -> int | None:
        """The farthest member's look back plus its calibration's memory, plus the refractory.

        None when a member's detector or calibration reads the whole history.
        """
        reaches = []
        for member in self._resolved_members():
            reach = member.detector.lookback()
            memory = member.calibration.get_params().get("memory")
            if reach is None or memory is None:
                return None
            reaches.append(reach + int(memory))
        return max(reaches) + int(self.refractory)

    def _fit(self, history: pd.DataFrame) -> None:
        fitted = []
        for member in self._resolved_members():
            detector = type(member.detector)(**member.detector.get_params())
            fitted.append(Member(detector.fit(history), member.calibration, member.weight))
        self.members_ = fitted

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        calibrated = np.stack(
            [
                float(member.weight)
                * member.calibration.calibrate(member.detector.score(frame)).to_numpy()
                for member in self.members_
            ]
        )
        combined = combine_scores(calibrated, self.combine)
        if self.refractory:
            combined = refractory_scores(combined, int(self.refractory))
        return pd.DataFrame(combined, index=frame.index, columns=frame.columns)


def combine_scores(stacked: np.ndarray, how: str) -> np.ndarray:
    """Combine (members, periods, entities) scores over the members present, without warnings."""
    if how == "max":
        return np.fmax.reduce(stacked, axis=0)
    present = ~np.isnan(stacked)
    count = present.sum(axis=0)
    total = np.where(present, stacked, 0.0).sum(axis=0)
    mean = np.full(total.shape, np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    return mean


def refractory_scores(scores: np.ndarray, refractory: int) -> np.ndarray:
    """``max(0, s_t - max(s over the previous refractory periods))``; NaN stays NaN.

    Missing earlier scores are skipped; with none, the score is kept as it is.
    """
    recent = shifted_down(trailing_extreme(scores, refractory, np.fmax))
    previous = np.maximum(np.nan_to_num(recent, nan=0.0), 0.0)
    return np.where(np.isnan(scores), np.nan, np.maximum(scores - previous, 0.0))
