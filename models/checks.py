"""Small validators for model parameters; each raises ``InvalidParameter`` with the name."""

from __future__ import annotations

import math
from collections.abc import Collection
from numbers import Integral, Real

from models.errors import InvalidParameter


def require_int(name: str, value: object, *, minimum: int) -> int:
    """``value`` as an int, if it is a whole number (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidParameter(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise InvalidParameter(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def require_real(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """``value`` as a finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InvalidParameter(f"{name} must be a finite number, got {value!r}")
    number = float(value)
    if minimum is not None:
        too_low = number <= minimum if strict_minimum else number < minimum
        if too_low:
            bound = "greater than" if strict_minimum else "at least"
            raise InvalidParameter(f"{name} must be {bound} {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise InvalidParameter(f"{name} must be at most {maximum}, got {number}")
    return number


def require_choice(name: str, value: object, choices: Collection[str]) -> str:
    """``value`` if it is one of ``choices`` (compared as strings, so StrEnums pass)."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise InvalidParameter(f"{name} must be one of {allowed}, got {value!r}")
    return str(value)
