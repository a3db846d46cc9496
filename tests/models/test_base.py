"""The Detector template: scikit-learn parameters, fit-before-score, the error family."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import models
from models import (
    DETECTORS,
    InvalidInput,
    InvalidParameter,
    ModelError,
    NotFittedError,
    RobustZDetector,
    ThresholdDetector,
)


@pytest.mark.parametrize("kind", DETECTORS)
def test_get_params_and_set_params_round_trip(kind):
    detector = DETECTORS[kind]()
    params = detector.get_params()
    assert params == DETECTORS[kind](**params).get_params()
    changed = {"frequency": "Q"}
    assert detector.set_params(**changed) is detector
    assert detector.get_params() == {**params, **changed}


def test_get_params_lists_the_constructor_arguments_in_order():
    assert list(RobustZDetector().get_params()) == [
        "window",
        "min_periods",
        "transform",
        "frequency",
    ]


def test_set_params_refuses_an_unknown_name():
    with pytest.raises(InvalidParameter, match="alpha"):
        ThresholdDetector().set_params(alpha=1)


@pytest.mark.parametrize("kind", DETECTORS)
def test_scoring_before_fitting_raises_not_fitted(make_frame, kind):
    with pytest.raises(NotFittedError):
        DETECTORS[kind]().score(make_frame([1.0, 2.0]))


def test_a_new_fit_forgets_the_earlier_one(make_frame):
    detector = RobustZDetector().fit(make_frame([[1.0, 2.0]] * 4, columns=["a", "b"]))
    detector.fit(make_frame([3.0, 4.0]))
    assert detector.n_periods_ == 2
    assert list(detector.entities_) == ["firm"]


def test_parameters_changed_after_fit_are_checked_when_scoring(make_frame):
    detector = RobustZDetector().fit(make_frame([1.0, 2.0]))
    detector.set_params(window=0)
    with pytest.raises(InvalidParameter):
        detector.score(make_frame([1.0, 2.0]))


def test_repr_shows_the_parameters_that_differ_from_the_defaults():
    assert repr(RobustZDetector(window=12, transform="yoy")) == (
        "RobustZDetector(window=12, transform='yoy')"
    )
    assert repr(ThresholdDetector()) == "ThresholdDetector()"


def test_model_errors_share_a_base_and_input_errors_are_value_errors():
    assert issubclass(InvalidParameter, ModelError) and issubclass(InvalidParameter, ValueError)
    assert issubclass(InvalidInput, ModelError) and issubclass(InvalidInput, ValueError)
    assert issubclass(NotFittedError, ModelError)


def test_models_package_imports_no_database_web_or_application_code():
    forbidden = {"sqlalchemy", "flask", "monitor", "alerts", "web"}
    imported: set[str] = set()
    for path in Path(models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert imported & forbidden == set()
    assert {"numpy", "pandas", "models"} <= imported
