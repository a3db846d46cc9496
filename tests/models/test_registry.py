"""build_detector: a model kind string and its parameters become a detector."""

from __future__ import annotations

import pytest

from models import InvalidParameter, RobustZDetector, ThresholdDetector, build_detector
from monitor.vocabulary import ModelKind


@pytest.mark.parametrize(
    ("kind", "params", "cls"),
    [
        ("threshold", {}, ThresholdDetector),
        ("threshold", {"transform": "yoy", "frequency": "Q"}, ThresholdDetector),
        ("robust_z", {"window": 12, "min_periods": 6}, RobustZDetector),
    ],
)
def test_build_detector_makes_the_kind_with_its_params(kind, params, cls):
    detector = build_detector(kind, params)
    assert type(detector) is cls
    assert detector.get_params().items() >= params.items()
    assert not detector.is_fitted()


@pytest.mark.parametrize("kind", list(ModelKind))
def test_every_model_kind_of_the_vocabulary_has_a_detector(kind):
    assert build_detector(kind, {"frequency": "A"}).frequency == "A"


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("prophet", {}, "unknown model kind"),
        (None, {}, "unknown model kind"),
        ("threshold", {"window": 3}, "no parameter"),
        ("robust_z", {"window": 3, "min_periods": 4}, "cannot exceed"),
        ("robust_z", {"transform": "log"}, "transform"),
    ],
)
def test_build_detector_refuses_a_bad_configuration(kind, params, message):
    with pytest.raises(InvalidParameter, match=message):
        build_detector(kind, params)
