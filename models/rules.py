"""Threshold rules as configuration: a chain of transforms, a direction, cut-offs.

A rule is a small mapping that reads the same in JSON and YAML::

    {"steps": [{"ma": 3}, {"rise_from_low": 12}],
     "direction": "up", "cutoffs": [0.5, 1, 1.5, 2], "clear": 0.3,
     "confirm": {"n": 2, "m": 3}}

reads "the 3-period average rose 0.5 above its low of the previous 12 periods, in 2 of
the last 3 periods; it clears once the rise is back under 0.3". The steps run in
order, each on the output of the one before:

==================  ===========================================  ====================
step                value                                        see
==================  ===========================================  ====================
``level``           the value itself                             —
``yoy``, ``pop``    year-on-year / period-on-period change, %    ``apply_transform``
``ma``              trailing mean over ``window`` periods        ``moving_average``
``rise_from_low``   distance above the low of the previous       ``rise_from_low``
                    ``window`` periods (``percent``: in %)
``fall_from_high``  distance below the high of the previous      ``fall_from_high``
                    ``window`` periods (``percent``: in %)
``share_of``        percent of a total: ``sum`` (of the panel's  ``share_of_total``
                    columns) or the name of a total series
==================  ===========================================  ====================

A step is written as its name (``"yoy"``), as ``{name: window}`` (``{"ma": 3}``), as
``{name: total}`` (``{"share_of": "sum"}``) or as ``{name: {options}}``
(``{"rise_from_low": {"window": 12, "percent": true}}``). Parsing checks everything and
raises ``InvalidParameter`` naming the offending part; evaluation is vectorised over
entities and causal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.checks import require_choice, require_int, require_real
from models.errors import InvalidParameter
from models.levels import DIRECTIONS, check_decision, to_levels
from models.panel import as_panel
from models.transforms import (
    FREQUENCIES,
    apply_transform,
    fall_from_high,
    moving_average,
    rise_from_low,
    share_of_total,
)

#: The step names, in the order of the table above.
STEP_KINDS: tuple[str, ...] = (
    "level",
    "yoy",
    "pop",
    "ma",
    "rise_from_low",
    "fall_from_high",
    "share_of",
)
#: The total that ``share_of`` takes from the panel itself.
PANEL_SUM = "sum"
_PLAIN = ("level", "yoy", "pop")
_WINDOWED = ("ma", "rise_from_low", "fall_from_high")
_RULE_KEYS = ("steps", "direction", "cutoffs", "clear", "confirm")


@dataclass(frozen=True)
class Step:
    """One transform of a rule; see the module docstring for what each kind does."""

    kind: str
    window: int | None = None
    percent: bool = False
    total: str | None = None

    def apply(
        self,
        panel: pd.DataFrame,
        frequency: str,
        totals: Mapping[str, pd.DataFrame | pd.Series] | None = None,
    ) -> pd.DataFrame:
        """This step applied to a validated float panel."""
        if self.kind in _PLAIN:
            return apply_transform(panel, self.kind, frequency)
        if self.kind == "ma":
            return moving_average(panel, self._width(), frequency)
        if self.kind == "rise_from_low":
            return rise_from_low(panel, self._width(), frequency, percent=self.percent)
        if self.kind == "fall_from_high":
            return fall_from_high(panel, self._width(), frequency, percent=self.percent)
        if self.total == PANEL_SUM:
            return share_of_total(panel, None)
        if totals is None or self.total not in totals:
            raise InvalidParameter(f"share_of needs the total series {self.total!r}")
        return share_of_total(panel, totals[self.total])

    def to_config(self) -> str | dict[str, Any]:
        """The step as configuration, the shortest form that reads back the same."""
        if self.kind in _PLAIN:
            return self.kind
        if self.kind == "share_of":
            return {self.kind: self.total}
        if self.percent:
            return {self.kind: {"window": self.window, "percent": True}}
        return {self.kind: self.window}

    def _width(self) -> int:
        if self.window is None:
            raise InvalidParameter(f"step {self.kind} needs a window")
        return self.window


@dataclass(frozen=True)
class Confirm:
    """Colour a series once ``n`` of its last ``m`` observed periods breached."""

    n: int
    m: int


@dataclass(frozen=True)
class Rule:
    """A parsed threshold rule: build it with :func:`parse_rule`."""

    steps: tuple[Step, ...]
    direction: str
    cutoffs: tuple[float, float, float, float]
    clear: float | None = None
    confirm: Confirm | None = None

    @property
    def totals_needed(self) -> tuple[str, ...]:
        """The names of the total series ``share_of`` steps ask for (``sum`` excluded)."""
        return totals_needed(self.steps)

    def scores(
        self,
        panel: pd.DataFrame,
        frequency: str = "M",
        totals: Mapping[str, pd.DataFrame | pd.Series] | None = None,
    ) -> pd.DataFrame:
        """The value the cut-offs are compared with: the steps applied in order."""
        return apply_steps(panel, self.steps, frequency, totals)

    def levels(
        self,
        panel: pd.DataFrame,
        frequency: str = "M",
        totals: Mapping[str, pd.DataFrame | pd.Series] | None = None,
    ) -> pd.DataFrame:
        """Colour codes 0..4 (see :func:`models.levels.to_levels`) of ``panel``."""
        return to_levels(
            self.scores(panel, frequency, totals),
            self.cutoffs,
            self.direction,
            clear=self.clear,
            min_periods=self.confirm.n if self.confirm else 1,
            of_last=self.confirm.m if self.confirm else None,
        )

    def to_config(self) -> dict[str, Any]:
        """The rule as a JSON/YAML-ready mapping that :func:`parse_rule` reads back."""
        config: dict[str, Any] = {
            "steps": [step.to_config() for step in self.steps],
            "direction": self.direction,
            "cutoffs": list(self.cutoffs),
        }
        if self.clear is not None:
            config["clear"] = self.clear
        if self.confirm is not None:
            config["confirm"] = {"n": self.confirm.n, "m": self.confirm.m}
        return config


def parse_rule(config: Mapping[str, Any]) -> Rule:
    """Read and check a rule mapping (``steps`` optional, ``direction`` and ``cutoffs`` not)."""
    if not isinstance(config, Mapping):
        raise InvalidParameter(f"a rule must be a mapping, got {type(config).__name__}")
    unknown = sorted(str(key) for key in config if key not in _RULE_KEYS)
    if unknown:
        raise InvalidParameter(
            f"rule has unknown key(s) {', '.join(unknown)}; known: {', '.join(_RULE_KEYS)}"
        )
    for key in ("direction", "cutoffs"):
        if key not in config:
            raise InvalidParameter(f"rule needs {key!r}")
    steps = parse_steps(config.get("steps") or [])
    direction = require_choice("direction", config["direction"], DIRECTIONS)
    cutoffs = config["cutoffs"]
    if isinstance(cutoffs, str | bytes) or not isinstance(cutoffs, Sequence) or len(cutoffs) != 4:
        raise InvalidParameter("cutoffs must be four numbers: blue, yellow, orange, red")
    checked = tuple(require_real(f"cutoffs[{i}]", value) for i, value in enumerate(cutoffs))
    clear = config.get("clear")
    clear = None if clear is None else require_real("clear", clear)
    confirm = _parse_confirm(config.get("confirm"))
    check_decision(
        checked,
        direction,
        clear=clear,
        min_periods=confirm.n if confirm else 1,
        of_last=confirm.m if confirm else None,
    )
    blue, yellow, orange, red = checked
    return Rule(steps, direction, (blue, yellow, orange, red), clear, confirm)


def parse_steps(config: object) -> tuple[Step, ...]:
    """Read and check a list of steps; an empty list (or ``None``) means the level."""
    if config is None:
        return ()
    if isinstance(config, str | bytes | Mapping) or not isinstance(config, Sequence):
        raise InvalidParameter(f"steps must be a list of steps, got {config!r}")
    return tuple(_parse_step(raw, position) for position, raw in enumerate(config, start=1))


def apply_steps(
    panel: pd.DataFrame,
    steps: Sequence[Step],
    frequency: str = "M",
    totals: Mapping[str, pd.DataFrame | pd.Series] | None = None,
) -> pd.DataFrame:
    """``panel`` through each step in turn (no steps: the panel as floats)."""
    require_choice("frequency", frequency, FREQUENCIES)
    result = as_panel(panel)
    for step in steps:
        result = step.apply(result, frequency, totals)
    return result


def totals_needed(steps: Sequence[Step]) -> tuple[str, ...]:
    """The named totals that ``share_of`` steps need, in order, without repeats."""
    names = [s.total for s in steps if s.kind == "share_of" and s.total != PANEL_SUM]
    return tuple(dict.fromkeys(name for name in names if name is not None))


def _parse_step(raw: object, position: int) -> Step:
    where = f"step {position}"
    if isinstance(raw, str):
        kind, options = raw, None
    elif isinstance(raw, Mapping) and len(raw) == 1:
        ((kind, options),) = raw.items()
    else:
        raise InvalidParameter(
            f"{where}: write a step as a name or a one-key mapping such as {{'ma': 3}}, got {raw!r}"
        )
    kind = require_choice(f"{where} kind", kind, STEP_KINDS)
    if kind in _PLAIN:
        if not (options is None or options is True or options == {}):
            raise InvalidParameter(f"{where}: {kind} takes no options, got {options!r}")
        return Step(kind)
    if kind == "share_of":
        total = options.get("total") if isinstance(options, Mapping) else options
        if isinstance(options, Mapping) and set(options) - {"total"}:
            raise InvalidParameter(f"{where}: share_of takes only 'total', got {options!r}")
        if not isinstance(total, str) or not total.strip():
            raise InvalidParameter(
                f"{where}: share_of needs a total: {PANEL_SUM!r} or the name of a series, "
                f"got {total!r}"
            )
        return Step(kind, total=total.strip())
    if isinstance(options, Mapping):
        extra = sorted(str(key) for key in set(options) - {"window", "percent"})
        if extra:
            raise InvalidParameter(f"{where}: {kind} has no option(s) {', '.join(extra)}")
        window, percent = options.get("window"), options.get("percent", False)
    else:
        window, percent = options, False
    width = require_int(f"{where} ({kind}) window", window, minimum=1)
    if not isinstance(percent, bool):
        raise InvalidParameter(f"{where}: percent must be true or false, got {percent!r}")
    if kind == "ma" and percent:
        raise InvalidParameter(f"{where}: ma has no percent option")
    return Step(kind, window=width, percent=percent)


def _parse_confirm(raw: object) -> Confirm | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"n", "m"}:
        raise InvalidParameter(f"confirm must be a mapping with n and m, got {raw!r}")
    n = require_int("confirm n", raw["n"], minimum=1)
    m = require_int("confirm m", raw["m"], minimum=1)
    if n > m:
        raise InvalidParameter(f"confirm needs n <= m, got n={n}, m={m}")
    return Confirm(n, m)
