"""The signals approach (Kaminsky, Lizondo and Reinhart 1998): does a threshold warn early?

An indicator *signals* in a period when it is past its threshold. Given dated shock
episodes, each observed (entity, period) falls in one cell of the table::

                      shock within the window   no shock within the window
    signal                      A                         B  (false alarm)
    no signal                   C  (missed)               D  (quiet)

where "within the window" means a shock starts in the ``window`` periods after this
one (24 months, 8 quarters or 2 years by default). Periods of a shock itself (from its
start to its end, when the end is known) are left out, as are the last periods whose
window reaches past ``horizon`` (the date up to which the episode table is complete,
by default the later of the panel's last period and the last episode start) without a
shock so far: whether one follows is
not known yet. Missing values are left out too.

From the table: type I error ``C / (A + C)`` (missed shocks), type II error
``B / (B + D)`` (false alarms), the noise-to-signal ratio ``(B / (B + D)) / (A / (A + C))``
(lower is better; infinite when the indicator never signals ahead of a shock) and
``P(shock | signal) = A / (A + B)``. The lead time of an episode is the number of
periods from the first signal in its window to its start.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.checks import require_choice, require_int, require_real
from models.errors import InvalidInput, InvalidParameter
from models.levels import DIRECTIONS, SEVERITY_NAMES, to_levels
from models.panel import PERIODS_PER_YEAR, as_panel, check_regular

#: The default signalling window per frequency: two years.
DEFAULT_WINDOWS: dict[str, int] = {"M": 24, "Q": 8, "A": 2}
#: The percentiles :func:`propose_threshold` tries by default.
DEFAULT_PERCENTILES: tuple[int, ...] = tuple(range(80, 100))
_COUNTS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Episode:
    """A dated shock: from ``start`` (and to ``end``, if known), for one entity or all."""

    start: pd.Timestamp
    entity: Hashable | None = None
    end: pd.Timestamp | None = None


@dataclass(frozen=True)
class SignalTable:
    """The A/B/C/D counts of one signal panel against the episodes, and what follows."""

    A: int
    B: int
    C: int
    D: int
    leads: pd.DataFrame = field(repr=False)
    by_entity: pd.DataFrame = field(repr=False)

    @property
    def type_i(self) -> float:
        """Share of the periods before a shock that gave no signal: ``C / (A + C)``."""
        return _ratio(self.C, self.A + self.C)

    @property
    def type_ii(self) -> float:
        """Share of the quiet periods that signalled anyway: ``B / (B + D)``."""
        return _ratio(self.B, self.B + self.D)

    @property
    def noise_to_signal(self) -> float:
        """``type_ii / (1 - type_i)``; inf if no signal came before a shock."""
        return _noise_to_signal(self.A, self.B, self.C, self.D)

    @property
    def p_shock_given_signal(self) -> float:
        """``A / (A + B)``: how often a signal was followed by a shock."""
        return _ratio(self.A, self.A + self.B)

    @property
    def median_lead(self) -> float:
        """Median periods from the first signal to the shock, over the caught episodes."""
        caught = self.leads["lead"].dropna()
        return float(caught.median()) if len(caught) else math.nan

    @property
    def caught(self) -> int:
        """How many (entity, episode) pairs had a signal in the window before them."""
        return int(self.leads["caught"].sum())

    def as_dict(self) -> dict[str, float]:
        """The counts and measures, e.g. for a table in the console."""
        return {
            "A": self.A,
            "B": self.B,
            "C": self.C,
            "D": self.D,
            "type_i": self.type_i,
            "type_ii": self.type_ii,
            "noise_to_signal": self.noise_to_signal,
            "p_shock_given_signal": self.p_shock_given_signal,
            "median_lead": self.median_lead,
            "episodes": len(self.leads),
            "caught": self.caught,
        }


@dataclass(frozen=True)
class ThresholdProposal:
    """The percentile (and threshold) with the lowest noise-to-signal ratio, and every try.

    ``percentile`` and ``threshold`` are ``None`` when no candidate ever signalled ahead
    of a shock. ``threshold`` is one number, or a Series per entity with ``per_entity``.
    """

    percentile: float | None
    threshold: float | pd.Series | None
    candidates: pd.DataFrame


@dataclass(frozen=True)
class Backtest:
    """What a threshold would have raised over the history.

    ``opened_by_year``: alerts opened in each year (rows) by the worst colour each
    reached (columns blue..red); ``periods_by_year``: (entity, period) cells at each
    colour; ``by_entity``: per entity, alerts by worst colour and coloured periods.
    """

    codes: pd.DataFrame
    opened_by_year: pd.DataFrame
    periods_by_year: pd.DataFrame
    by_entity: pd.DataFrame


def default_window(frequency: str) -> int:
    """The signalling window of ``frequency``: 24 months, 8 quarters or 2 years."""
    return DEFAULT_WINDOWS[require_choice("frequency", frequency, tuple(DEFAULT_WINDOWS))]


def as_episodes(episodes: pd.DataFrame | Iterable[Episode]) -> list[Episode]:
    """Episodes from a table with a ``start`` column (and optional ``entity``, ``end``)."""
    if isinstance(episodes, pd.DataFrame):
        if "start" not in episodes.columns:
            raise InvalidInput("the episode table needs a 'start' column")
        rows = episodes.to_dict("records")
        return [
            _episode(row.get("start"), row.get("entity"), row.get("end"), n)
            for n, row in enumerate(rows, 1)
        ]
    result = []
    for n, item in enumerate(episodes, 1):
        if not isinstance(item, Episode):
            raise InvalidInput(f"episode {n} is not an Episode: {item!r}")
        result.append(_episode(item.start, item.entity, item.end, n))
    return result


def signal_panel(panel: pd.DataFrame, threshold: float | pd.Series, direction: str) -> pd.DataFrame:
    """1.0 where ``panel`` is past ``threshold`` in ``direction``, 0.0 where not, NaN if missing.

    ``up``: at or above; ``down``: at or below; ``both``: ``|x|`` at or above. A Series
    threshold gives one threshold per entity (column).
    """
    require_choice("direction", direction, DIRECTIONS)
    data = as_panel(panel)
    values = data.to_numpy()
    if isinstance(threshold, pd.Series):
        limit = threshold.reindex(data.columns).to_numpy(dtype=np.float64)[None, :]
    else:
        limit = np.float64(require_real("threshold", threshold))
    with np.errstate(invalid="ignore"):
        if direction == "up":
            past = values >= limit
        elif direction == "down":
            past = values <= limit
        else:
            past = np.abs(values) >= limit
    result = np.where(np.isnan(values), np.nan, past.astype(np.float64))
    return pd.DataFrame(result, index=data.index, columns=data.columns)


def signal_table(
    signals: pd.DataFrame,
    episodes: pd.DataFrame | Iterable[Episode],
    *,
    frequency: str = "M",
    window: int | None = None,
    horizon: object = None,
) -> SignalTable:
    """The A/B/C/D table of a signal panel (1/0, NaN = no observation) against episodes.

    Episodes of an entity not in the panel are ignored; a global episode (no entity)
    counts once per entity.
    """
    data = as_panel(signals, name="signals")
    check_regular(data.index, frequency, name="signals")
    width = (
        default_window(frequency) if window is None else require_int("window", window, minimum=1)
    )
    listed = as_episodes(episodes)
    values = data.to_numpy()
    if not np.isin(values[~np.isnan(values)], (0.0, 1.0)).all():
        raise InvalidInput("signals must be 1 (signal), 0 (none) or NaN (no observation)")
    return _table(
        values == 1.0,
        ~np.isnan(values),
        data.columns,
        _masks(data, listed, frequency, width, horizon),
    )


def _table(
    signal: np.ndarray, observed: np.ndarray, columns: pd.Index, masks: EpisodeMasks
) -> SignalTable:
    cells = _cells(signal, observed, masks)
    by_entity = pd.DataFrame(
        {name: cell.sum(axis=0) for name, cell in cells.items()}, index=columns
    )
    windows = masks.windows
    lead = lead_times(signal, observed, masks)
    leads = pd.DataFrame(
        {
            "episode": windows.episode,
            "entity": columns.to_numpy()[windows.column],
            "start": pd.DatetimeIndex(windows.start),
            "caught": ~np.isnan(lead),
            "lead": lead,
        }
    )
    totals = {name: int(by_entity[name].sum()) for name in _COUNTS}
    return SignalTable(**totals, leads=leads, by_entity=by_entity)


@dataclass(frozen=True)
class EpisodeMasks:
    """Where a panel's cells stand against the episodes, whatever the signals.

    ``ahead``: a shock starts within the window after the cell; ``eligible``: the cell
    may count (outside a shock, and its window resolved). A backtest replaying many
    settings over one panel computes these once and counts each setting with
    :func:`count_signals` and :func:`lead_times`. ``inside``: the cell lies in a shock;
    ``windows``: the (entity, episode) pairs whose window holds a period of the panel.
    """

    ahead: np.ndarray
    eligible: np.ndarray
    inside: np.ndarray
    windows: LeadWindows


@dataclass(frozen=True)
class LeadWindows:
    """One element per (entity, episode) pair whose signalling window meets the panel.

    ``episode``: the episode's number in the list; ``column``: the entity's column;
    ``start``: the episode's start; ``begin``: its period position; ``low``: the first
    position of its window.
    """

    episode: np.ndarray
    column: np.ndarray
    start: np.ndarray
    begin: np.ndarray
    low: np.ndarray


def episode_masks(
    panel: pd.DataFrame,
    episodes: pd.DataFrame | Iterable[Episode],
    *,
    frequency: str = "M",
    window: int | None = None,
    horizon: object = None,
) -> EpisodeMasks:
    """The :class:`EpisodeMasks` of ``panel``'s periods and entities (its values unused)."""
    data = as_panel(panel)
    check_regular(data.index, frequency, name="panel")
    width = (
        default_window(frequency) if window is None else require_int("window", window, minimum=1)
    )
    return _masks(data, as_episodes(episodes), frequency, width, horizon)


def count_signals(signal: np.ndarray, observed: np.ndarray, masks: EpisodeMasks) -> dict[str, int]:
    """The A/B/C/D counts of boolean ``signal`` cells; ``observed`` is False where missing.

    The same counts as :func:`signal_table` with the masks' episodes, without the leads.
    """
    return {name: int(cell.sum()) for name, cell in _cells(signal, observed, masks).items()}


def lead_times(signal: np.ndarray, observed: np.ndarray, masks: EpisodeMasks) -> np.ndarray:
    """Periods from the first signal to the start of each pair of ``masks.windows``.

    NaN where no signal came in the pair's window. Signals inside a shock or on missing
    cells do not count. The leads of :func:`signal_table` with the masks' episodes.
    """
    windows = masks.windows
    usable = signal & observed & ~masks.inside
    n_periods = usable.shape[0]
    if not len(windows.column):
        return np.zeros(0)
    rows = np.arange(n_periods)[:, None]
    # The first signalling position at or after each cell (n_periods when none follows).
    following = np.minimum.accumulate(np.where(usable, rows, n_periods)[::-1], axis=0)[::-1]
    first = following[windows.low, windows.column]
    caught = first < np.minimum(windows.begin, n_periods)
    return np.where(caught, windows.begin - first, np.nan).astype(np.float64)


def _masks(
    data: pd.DataFrame, listed: list[Episode], frequency: str, width: int, horizon: object
) -> EpisodeMasks:
    if horizon is None and listed:
        horizon = max(episode.start for episode in listed)  # the table is complete so far
    timeline = _Timeline(data, frequency, horizon)
    pairs = timeline.pairs(listed)
    starts, inside = timeline.mark(pairs)
    ahead = timeline.shock_ahead(starts, width)
    resolved = ahead | (np.arange(len(data))[:, None] + width <= timeline.horizon)
    return EpisodeMasks(
        ahead=ahead,
        eligible=resolved & ~inside,
        inside=inside,
        windows=timeline.windows(pairs, width),
    )


def _cells(signal: np.ndarray, observed: np.ndarray, masks: EpisodeMasks) -> dict[str, np.ndarray]:
    counted = observed & masks.eligible
    ahead = masks.ahead
    return {
        "A": counted & signal & ahead,
        "B": counted & signal & ~ahead,
        "C": counted & ~signal & ahead,
        "D": counted & ~signal & ~ahead,
    }


def propose_threshold(
    panel: pd.DataFrame,
    episodes: pd.DataFrame | Iterable[Episode],
    direction: str,
    percentiles: Iterable[float] = DEFAULT_PERCENTILES,
    *,
    frequency: str = "M",
    window: int | None = None,
    horizon: object = None,
    per_entity: bool = False,
) -> ThresholdProposal:
    """The threshold percentile with the lowest noise-to-signal ratio.

    Each candidate ``p`` sets the threshold at the ``p``-th percentile of the panel's
    values (``up``), the ``100 - p``-th (``down``) or the ``p``-th of ``|x|``
    (``both``), over all entities together or, with ``per_entity``, per entity. Ties
    go to the candidate with fewer signals, then to the more extreme percentile.
    """
    require_choice("direction", direction, DIRECTIONS)
    data = as_panel(panel)
    tried = sorted({require_real("percentile", p, minimum=0.0, maximum=100.0) for p in percentiles})
    if not tried:
        raise InvalidParameter("give at least one percentile to try")
    values = np.abs(data.to_numpy()) if direction == "both" else data.to_numpy()
    if np.isnan(values).all():
        raise InvalidInput("the panel has no values to take percentiles of")
    masks = episode_masks(data, episodes, frequency=frequency, window=window, horizon=horizon)
    observed = ~np.isnan(values)
    rows: list[dict[str, Any]] = []
    thresholds: dict[float, float | pd.Series] = {}
    for p in tried:
        q = 100.0 - p if direction == "down" else p
        threshold = _percentile(values, q, data.columns, per_entity)
        thresholds[p] = threshold
        signal = signal_panel(data, threshold, direction).to_numpy() == 1.0
        table = _table(signal, observed, data.columns, masks)
        shown = float(threshold.median()) if isinstance(threshold, pd.Series) else threshold
        rows.append({"percentile": p, "threshold": shown, **table.as_dict()})
    candidates = pd.DataFrame(rows).set_index("percentile")
    candidates["signals"] = candidates["A"] + candidates["B"]
    usable = candidates[np.isfinite(candidates["noise_to_signal"])]
    if usable.empty:
        return ThresholdProposal(None, None, candidates)
    extreme = usable.index.to_numpy()  # higher percentiles are more extreme, all directions
    order = np.lexsort((-extreme, usable["signals"].to_numpy(), usable["noise_to_signal"]))
    best = float(usable.index[order[0]])
    return ThresholdProposal(best, thresholds[best], candidates)


def backtest(
    panel: pd.DataFrame,
    cutoffs: Sequence[float],
    direction: str,
    clear: float | None = None,
    min_periods: int = 1,
    *,
    of_last: int | None = None,
) -> Backtest:
    """Colour a score panel with a threshold and count the alerts it would have raised.

    An alert is a run of coloured periods of one entity (a gap in the data does not
    end it, as in :func:`models.levels.to_levels`); it belongs to the year it opened
    and is counted under the worst colour it reached.
    """
    codes = to_levels(
        panel, cutoffs, direction, clear=clear, min_periods=min_periods, of_last=of_last
    )
    colours = list(SEVERITY_NAMES[1:])
    values = codes.to_numpy()
    on = values > 0
    before = np.zeros_like(on)
    before[1:] = on[:-1]
    opened = on & ~before
    alert_number = np.cumsum(opened, axis=0)
    rows, cols = np.nonzero(on)
    cells = pd.DataFrame(
        {
            "entity": cols,
            "alert": alert_number[rows, cols],
            "code": values[rows, cols],
            "year": codes.index.year.to_numpy()[rows],
            "opened": opened[rows, cols],
        }
    )
    alerts = cells.groupby(["entity", "alert"], sort=False).agg(
        worst=("code", "max"), year=("year", "first")
    )
    years = pd.Index(sorted(set(codes.index.year)), name="year")
    opened_by_year = _count_table(alerts["year"], alerts["worst"], years, colours)
    periods_by_year = _count_table(cells["year"], cells["code"], years, colours)
    entities = pd.RangeIndex(codes.shape[1])
    by_entity = _count_table(
        alerts.index.get_level_values("entity"), alerts["worst"], entities, colours
    )
    by_entity["periods"] = np.bincount(cols, minlength=codes.shape[1])
    by_entity.index = codes.columns
    return Backtest(codes, opened_by_year, periods_by_year, by_entity)


class _Timeline:
    """Period positions of one regular panel, extended to the episodes' horizon."""

    def __init__(self, data: pd.DataFrame, frequency: str, horizon: object) -> None:
        self.data = data
        self.months = 12 // PERIODS_PER_YEAR[frequency]
        self.n_periods = len(data)
        first = data.index[0] if self.n_periods else None
        self._first = (first.year, first.month) if first is not None else (0, 1)
        last = self.n_periods - 1
        if horizon is not None and self.n_periods:
            last = max(last, self.position(_timestamp(horizon, "horizon")))
        self.horizon = last  # the last position whose shocks are known

    def position(self, stamp: pd.Timestamp) -> int:
        """The position of the period containing ``stamp`` (negative before the panel)."""
        year, month = self._first
        months = (stamp.year - year) * 12 + stamp.month - month
        return months // self.months

    def pairs(self, episodes: list[Episode]) -> _Pairs:
        """Every (episode, column) an episode covers: a global one every column."""
        n_columns = len(self.data.columns)
        positions = {column: n for n, column in enumerate(self.data.columns)}
        numbers, columns, begins, finishes, starts = [], [], [], [], []
        for number, episode in enumerate(episodes if self.n_periods else ()):
            column = -1 if episode.entity is None else positions.get(episode.entity)
            if column is None:
                continue  # an entity not in the panel
            numbers.append(number)
            columns.append(column)
            begins.append(self.position(episode.start))
            finishes.append(self.position(episode.end) if episode.end is not None else _NO_END)
            starts.append(episode.start)
        column = np.asarray(columns, dtype=np.int64)
        every = column < 0
        width = np.where(every, n_columns, 1)
        owner = np.repeat(np.arange(len(column)), width)  # each pair's episode, in order
        offset = np.arange(len(owner)) - np.repeat(np.cumsum(width) - width, width)
        start = np.empty(len(starts), dtype=object)
        start[:] = starts
        return _Pairs(
            episode=np.asarray(numbers, dtype=np.int64)[owner],
            column=np.where(every[owner], offset, column[owner]),
            begin=np.asarray(begins, dtype=np.int64)[owner],
            finish=np.asarray(finishes, dtype=np.int64)[owner],
            start=start[owner],
        )

    def mark(self, pairs: _Pairs) -> tuple[np.ndarray, np.ndarray]:
        """Shock starts on positions ``0 .. horizon`` and the panel cells inside a shock."""
        n_columns = len(self.data.columns)
        starts = np.zeros((max(self.horizon + 1, 0), n_columns), dtype=bool)
        inside = np.zeros((self.n_periods, n_columns), dtype=bool)
        if not self.n_periods:
            return starts, inside
        known = (pairs.begin >= 0) & (pairs.begin <= self.horizon)
        starts[pairs.begin[known], pairs.column[known]] = True
        low = np.maximum(pairs.begin, 0)
        high = np.minimum(pairs.finish, self.n_periods - 1)
        spans = (pairs.finish != _NO_END) & (low <= high)
        edges = np.zeros((self.n_periods + 1, n_columns), dtype=np.int64)
        np.add.at(edges, (low[spans], pairs.column[spans]), 1)
        np.add.at(edges, (high[spans] + 1, pairs.column[spans]), -1)
        inside[:] = np.cumsum(edges, axis=0)[:-1] > 0
        return starts, inside

    def shock_ahead(self, starts: np.ndarray, width: int) -> np.ndarray:
        """Whether a shock starts in positions ``t + 1 .. t + width``, for each panel cell."""
        seen = np.zeros((starts.shape[0] + 1, starts.shape[1]), dtype=np.int64)
        np.cumsum(starts, axis=0, out=seen[1:])
        rows = np.arange(self.n_periods)
        stop = np.minimum(rows + width, self.horizon) + 1
        begin = np.minimum(rows + 1, stop)
        return (seen[stop] - seen[begin]) > 0

    def windows(self, pairs: _Pairs, width: int) -> LeadWindows:
        """The pairs whose window (``width`` periods before the start) meets the panel."""
        low = np.maximum(pairs.begin - width, 0)
        kept = (pairs.begin > 0) & (pairs.begin <= self.horizon) & (low < self.n_periods)
        return LeadWindows(
            episode=pairs.episode[kept],
            column=pairs.column[kept],
            start=pairs.start[kept],
            begin=pairs.begin[kept],
            low=low[kept],
        )


#: The end position of an episode whose end is not known.
_NO_END = np.iinfo(np.int64).min


@dataclass(frozen=True)
class _Pairs:
    """Parallel arrays, one element per (episode, column) an episode covers."""

    episode: np.ndarray
    column: np.ndarray
    begin: np.ndarray
    finish: np.ndarray
    start: np.ndarray


def _episode(start: object, entity: object, end: object, number: int) -> Episode:
    begin = _timestamp(start, f"episode {number} start")
    finish = None if _missing(end) else _timestamp(end, f"episode {number} end")
    if finish is not None and finish < begin:
        raise InvalidInput(f"episode {number} ends ({finish.date()}) before it starts")
    return Episode(begin, None if _missing(entity) else entity, finish)


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _timestamp(value: object, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} is not a date: {value!r}") from None
    if pd.isna(stamp):
        raise InvalidInput(f"{what} is missing")
    return stamp


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def _noise_to_signal(a: int, b: int, c: int, d: int) -> float:
    noise, signal = _ratio(b, b + d), _ratio(a, a + c)
    if math.isnan(noise) or math.isnan(signal):
        return math.nan
    if signal == 0:
        return math.inf
    return noise / signal


def _percentile(
    values: np.ndarray, q: float, columns: pd.Index, per_entity: bool
) -> float | pd.Series:
    if not per_entity:
        return float(np.percentile(values[~np.isnan(values)], q))
    result = np.full(values.shape[1], np.nan)
    observed = ~np.isnan(values).all(axis=0)  # all-NaN columns would warn in nanpercentile
    result[observed] = np.nanpercentile(values[:, observed], q, axis=0)
    return pd.Series(result, index=columns, name="threshold")


def _count_table(
    keys: Iterable[Any], codes: Iterable[Any], index: pd.Index, colours: list[str]
) -> pd.DataFrame:
    """Counts of (key, colour code) pairs as a key x colour table, zeros included."""
    pairs = pd.DataFrame({"key": list(keys), "code": list(codes)})
    table = pd.crosstab(pairs["key"], pairs["code"]) if len(pairs) else pd.DataFrame()
    table = table.reindex(index=index, columns=range(1, 5), fill_value=0).fillna(0)
    table.columns = colours
    return table.astype(np.int64)
