"""Turn a model kind (the ``model`` column of thresholds and scores) into a detector."""

from __future__ import annotations

from collections.abc import Mapping

from models.base import Detector
from models.cusum import CusumDetector
from models.ensemble import EnsembleDetector
from models.errors import InvalidParameter
from models.ewma import EwmaDetector
from models.forest import ForestDetector
from models.novelty import NoveltyDetector
from models.peers import PeerDetector
from models.robust_z import RobustZDetector
from models.seasonal import SeasonalDetector
from models.shifts import LevelShiftDetector, VolatilityShiftDetector
from models.threshold import ThresholdDetector

#: Detector classes by kind (``ModelKind`` names the ones the pipeline runs by default).
DETECTORS: Mapping[str, type[Detector]] = {
    "threshold": ThresholdDetector,
    "robust_z": RobustZDetector,
    "ewma": EwmaDetector,
    "cusum": CusumDetector,
    "seasonal": SeasonalDetector,
    "level_shift": LevelShiftDetector,
    "volatility_shift": VolatilityShiftDetector,
    "novelty": NoveltyDetector,
    "forest": ForestDetector,
    "peers": PeerDetector,
    "ensemble": EnsembleDetector,
}


def build_detector(kind: str, params: Mapping[str, object]) -> Detector:
    """A new, validated, unfitted detector of ``kind`` with ``params``.

    Raises ``InvalidParameter`` for an unknown kind, an unknown parameter name or a
    parameter value the detector refuses, so a bad configuration fails when saved.
    """
    try:
        cls = DETECTORS[kind]
    except (KeyError, TypeError):
        known = ", ".join(DETECTORS)
        raise InvalidParameter(f"unknown model kind {kind!r}; known: {known}") from None
    unknown = sorted(set(params) - set(cls.param_names()))
    if unknown:
        raise InvalidParameter(
            f"{kind} has no parameter(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(cls.param_names())}"
        )
    detector = cls(**params)
    detector.validate()
    return detector
