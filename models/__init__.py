"""Scoring models: pure computations on wide panels (periods x entities).

Detectors turn a panel into scores, ``to_levels`` turns scores into the four warning
colours, ``classify_stages`` places each entity in its shock cycle. Nothing here
touches the database: frames in, frames out.
"""

from models.base import Detector
from models.calibration import CALIBRATIONS, Calibration, EnvelopeExceedance, TailProbability
from models.composite import CompositeWeights, entropy_weights, fit_composite, fit_overall
from models.cusum import CusumDetector
from models.ensemble import EnsembleDetector, Member
from models.errors import InvalidInput, InvalidParameter, ModelError, NotFittedError
from models.ewma import EwmaDetector
from models.forest import ForestDetector
from models.levels import SEVERITY_NAMES, check_decision, crossed_cutoff, to_levels
from models.novelty import NoveltyDetector
from models.peers import PeerDetector
from models.registry import DETECTORS, build_detector
from models.robust_z import RobustZDetector
from models.rules import Rule, parse_rule
from models.seasonal import SeasonalDetector
from models.shifts import LevelShiftDetector, VolatilityShiftDetector
from models.signals import Episode, backtest, propose_threshold, signal_table
from models.stages import STAGES, StageParams, classify_stages, stage_since
from models.structure import herfindahl, isi_pairs
from models.threshold import ThresholdDetector
from models.transforms import apply_transform

__all__ = [
    "CALIBRATIONS",
    "DETECTORS",
    "SEVERITY_NAMES",
    "STAGES",
    "Calibration",
    "CompositeWeights",
    "CusumDetector",
    "Detector",
    "EnsembleDetector",
    "EnvelopeExceedance",
    "Episode",
    "EwmaDetector",
    "ForestDetector",
    "InvalidInput",
    "InvalidParameter",
    "LevelShiftDetector",
    "Member",
    "ModelError",
    "NotFittedError",
    "NoveltyDetector",
    "PeerDetector",
    "RobustZDetector",
    "Rule",
    "SeasonalDetector",
    "StageParams",
    "TailProbability",
    "ThresholdDetector",
    "VolatilityShiftDetector",
    "apply_transform",
    "backtest",
    "build_detector",
    "check_decision",
    "classify_stages",
    "crossed_cutoff",
    "entropy_weights",
    "fit_composite",
    "fit_overall",
    "herfindahl",
    "isi_pairs",
    "parse_rule",
    "propose_threshold",
    "signal_table",
    "stage_since",
    "to_levels",
]
