"""Scoring models: pure computations on wide panels (periods x entities).

Detectors turn a panel into scores, ``to_levels`` turns scores into the four warning
colours, ``classify_stages`` places each entity in its shock cycle. Nothing here
touches the database: frames in, frames out.
"""

from models.base import Detector
from models.errors import InvalidInput, InvalidParameter, ModelError, NotFittedError
from models.levels import SEVERITY_NAMES, crossed_cutoff, to_levels
from models.registry import DETECTORS, build_detector
from models.robust_z import RobustZDetector
from models.stages import STAGES, StageParams, classify_stages, stage_since
from models.threshold import ThresholdDetector
from models.transforms import apply_transform

__all__ = [
    "DETECTORS",
    "SEVERITY_NAMES",
    "STAGES",
    "Detector",
    "InvalidInput",
    "InvalidParameter",
    "ModelError",
    "NotFittedError",
    "RobustZDetector",
    "StageParams",
    "ThresholdDetector",
    "apply_transform",
    "build_detector",
    "classify_stages",
    "crossed_cutoff",
    "stage_since",
    "to_levels",
]
