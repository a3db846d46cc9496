"""The detector template: parameters in, fitted state out, scores of the same shape.

Detectors follow scikit-learn's estimator rules (``__init__`` only stores its keyword
arguments, ``get_params``/``set_params``, learned attributes end in ``_``) and ADTK's
template method: subclasses write ``validate``, ``_fit`` and ``_score``; the base
checks parameters, input panels and the fitted state.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import pandas as pd

from models.errors import InvalidParameter, NotFittedError
from models.panel import as_panel
from models.transforms import transform_lag

#: What a score is, for whoever cuts it into colours (:attr:`Detector.orientation`).
VALUE = "value"
SIGNED = "signed"
RISK = "risk"


class Detector(ABC):
    """Base detector: constructor arguments are parameters, learned state ends in ``_``.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history the detector was fitted on.
    entities_ : pandas.Index
        The entity columns of that history.
    """

    #: What the score is: ``"value"`` the (transformed) value itself, whose cut-offs apply
    #: in the indicator's direction; ``"signed"`` a deviation, positive above the usual
    #: level, that a caller turns by the indicator's direction; ``"risk"`` a score that
    #: is larger when riskier whatever the direction (a distance, a spread ratio, a rarity).
    orientation: ClassVar[str]

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The names of the constructor's keyword parameters, in signature order."""
        signature = inspect.signature(cls.__init__)
        names = []
        for parameter in signature.parameters.values():
            if parameter.name == "self":
                continue
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must list its parameters by name")
            names.append(parameter.name)
        return tuple(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The detector's parameters as a dict (``deep`` is accepted for compatibility)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set parameters by name; an unknown name raises ``InvalidParameter``."""
        known = self.param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InvalidParameter(
                f"{type(self).__name__} has no parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(known)}"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, history: pd.DataFrame) -> Self:
        """Validate the parameters and ``history``, forget any earlier fit, learn anew."""
        self.validate()
        panel = as_panel(history, name="history")
        self._forget_fit()
        self._fit(panel)
        self.n_periods_ = len(panel)
        self.entities_ = panel.columns
        return self

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score ``frame``: a float frame of the same shape, NaN where there is no score."""
        if not self.is_fitted():
            raise NotFittedError(f"{type(self).__name__} must be fitted before scoring")
        self.validate()
        panel = as_panel(frame, name="frame")
        return self._score(panel).astype("float64")

    def lookback(self) -> int | None:
        """How many periods before a period its score reads, transform included.

        Scoring the last ``lookback() + 1`` periods gives the newest period the score a
        whole history gives it. ``None`` (the default) means the whole history: a
        recursion without kept state, a calibration with unlimited memory, a fit.
        """
        return None

    def _transform_lag(self) -> int:
        """The periods the detector's ``transform`` looks back (0 for a stream)."""
        frequency = getattr(self, "frequency", None)
        if frequency is None:
            return 0
        return transform_lag(getattr(self, "transform", "level"), frequency)

    def is_fitted(self) -> bool:
        """Whether ``fit`` has run."""
        return hasattr(self, "n_periods_")

    @abstractmethod
    def validate(self) -> None:
        """Raise ``InvalidParameter`` if a parameter is not valid."""

    def _fit(self, history: pd.DataFrame) -> None:  # noqa: B027 - an optional hook
        """Learn from a validated float panel; detectors with nothing to learn keep this."""

    @abstractmethod
    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a validated float panel."""

    def _forget_fit(self) -> None:
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
            delattr(self, name)

    def __repr__(self) -> str:
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if defaults.get(name, inspect.Parameter.empty) != value
        ]
        return f"{type(self).__name__}({', '.join(changed)})"
