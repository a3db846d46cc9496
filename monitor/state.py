"""Kept decision state for incremental scoring, derived from the stored scores.

The colour of a series at period ``t`` depends on its whole history only through two
numbers: its code at ``t - 1`` and, while that code is 0, how many of its last observed
scores breached the blue cut-off in a row (a series that is on forgets the run: it can
only go off on a score that does not breach, which resets the run). Both follow from the
scores already stored, so a new month needs the trailing window of observations and the
last few stored scores per series, never the whole history.

:func:`continue_levels` resumes :func:`models.levels.to_levels` from such a state by
prefixing each series with ``min_periods`` synthetic scores that drive the unchanged
decision code into exactly that state.

With "n of the last m" confirmation (``of_last``) the state is instead the last code and
the recent scores themselves, as breach / held / clear flags (:class:`RecentFlags`):
:func:`stored_recent` reads them and :func:`continue_levels` replays them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.levels import to_levels
from monitor.panels import PANDAS_FREQ
from monitor.records import Score

SEVERITY_CODES = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
#: Flags of a stored score under confirmation: none, clear, held (hysteresis), breach.
NO_SCORE, CLEARED, HELD, BREACHED = -1, 0, 1, 2


@dataclass(frozen=True)
class RecentFlags:
    """Per series: its last ``m - 1`` observed scores as flags, and whether that is all.

    ``flags`` is (series x ``m - 1``), oldest first, right-aligned and padded with
    ``NO_SCORE``; ``whole`` is true when the flags are the series' entire history.
    """

    entity_ids: np.ndarray
    codes: np.ndarray
    flags: np.ndarray
    whole: np.ndarray

    def for_columns(self, columns: Sequence[int]) -> tuple[np.ndarray, RecentFlags]:
        """Codes, and the flags, in the order of ``columns`` (never scored: no flags)."""
        ids = np.asarray(columns, dtype=np.int64)
        position = np.searchsorted(self.entity_ids, ids)
        found = position < len(self.entity_ids)
        found[found] = self.entity_ids[position[found]] == ids[found]
        codes = np.zeros(len(ids), dtype=np.int8)
        flags = np.full((len(ids), self.flags.shape[1]), NO_SCORE, dtype=np.int8)
        whole = np.ones(len(ids), dtype=bool)
        codes[found] = self.codes[position[found]]
        flags[found] = self.flags[position[found]]
        whole[found] = self.whole[position[found]]
        return codes, RecentFlags(ids, codes, flags, whole)


@dataclass(frozen=True)
class SeriesState:
    """Per series (aligned with ``entity_ids``): the last code, and the breach run."""

    entity_ids: np.ndarray
    codes: np.ndarray
    runs: np.ndarray

    def for_columns(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Codes and runs in the order of ``columns`` (0 for series never scored)."""
        ids = np.asarray(columns, dtype=np.int64)
        position = np.searchsorted(self.entity_ids, ids)
        found = position < len(self.entity_ids)
        found[found] = self.entity_ids[position[found]] == ids[found]
        codes = np.zeros(len(ids), dtype=np.int8)
        runs = np.zeros(len(ids), dtype=np.int64)
        codes[found] = self.codes[position[found]]
        runs[found] = self.runs[position[found]]
        return codes, runs


def shift_period(period: date, periods: int, frequency: str) -> date:
    """``period`` moved by ``periods`` periods of ``frequency`` (negative: back)."""
    step = {"M": 1, "Q": 3, "A": 12}[frequency] * periods
    return (pd.Timestamp(period) + pd.DateOffset(months=step)).date()


def breaches(scores: np.ndarray, blue: float, direction: str) -> np.ndarray:
    """Whether each score reaches the blue cut-off in ``direction`` (NaN never does)."""
    with np.errstate(invalid="ignore"):
        if direction == "up":
            return scores >= blue
        if direction == "down":
            return scores <= blue
        return np.abs(scores) >= blue


def score_flags(scores: np.ndarray, blue: float, clear: float | None, direction: str) -> np.ndarray:
    """``BREACHED``, ``HELD`` (short of blue but not past ``clear``) or ``CLEARED``."""
    clearing = blue if clear is None else clear
    breach = breaches(scores, blue, direction)
    with np.errstate(invalid="ignore"):
        if direction == "up":
            held = scores >= clearing
        elif direction == "down":
            held = scores <= clearing
        else:
            held = np.abs(scores) >= clearing
    return np.where(breach, BREACHED, np.where(held, HELD, CLEARED)).astype(np.int8)


def stored_recent(
    session: Session,
    *,
    indicator_id: int,
    model: str,
    before: date,
    frequency: str,
    entity_range: tuple[int, int],
    blue: float,
    clear: float | None,
    direction: str,
    of_last: int,
    within: Select[Any] | None = None,
) -> RecentFlags:
    """The confirmation state just before ``before``: last code and last ``m - 1`` flags.

    Reads the stored scores of the last ``of_last`` periods; series with fewer scores
    there (a gap, or a short history) are read further back, one by one.
    """
    first = shift_period(before, -max(1, of_last), frequency)
    recent = _scores(session, indicator_id, model, entity_range, first, before, within=within)
    state, short = recent_flags(recent, blue, clear, direction, of_last, covers_all=False)
    silent = _silent_since(session, indicator_id, model, entity_range, first, within)
    short = np.union1d(short, silent)
    if len(short):
        older = _scores(
            session, indicator_id, model, entity_range, None, before, short, within=within
        )
        settled, _ = recent_flags(older, blue, clear, direction, of_last, covers_all=True)
        keep = ~np.isin(state.entity_ids, short)
        ids = np.concatenate([state.entity_ids[keep], settled.entity_ids])
        order = np.argsort(ids, kind="stable")
        state = RecentFlags(
            ids[order],
            np.concatenate([state.codes[keep], settled.codes])[order],
            np.vstack([state.flags[keep], settled.flags])[order],
            np.concatenate([state.whole[keep], settled.whole])[order],
        )
    return state


def _silent_since(
    session: Session,
    indicator_id: int,
    model: str,
    entity_range: tuple[int, int],
    first: date,
    within: Select[Any] | None,
) -> np.ndarray:
    """Series whose newest stored score is older than ``first``: read further back."""
    newest = func.max(Score.period)
    query = (
        select(Score.entity_id)
        .where(
            Score.indicator_id == indicator_id,
            Score.model == model,
            Score.entity_id.between(*entity_range),
        )
        .group_by(Score.entity_id)
        .having(newest < first)
    )
    if within is not None:
        query = query.where(Score.entity_id.in_(within))
    return np.asarray(session.scalars(query).all(), dtype=np.int64)


def recent_flags(
    rows: pd.DataFrame,
    blue: float,
    clear: float | None,
    direction: str,
    of_last: int,
    *,
    covers_all: bool,
) -> tuple[RecentFlags, np.ndarray]:
    """Flags per series of stored-score ``rows``; also the series with too few to tell.

    ``rows`` has the columns entity_id, period, score and severity; unless it holds each
    series' whole history (``covers_all``), a series with ``of_last - 1`` rows or fewer
    may have older ones: it is returned as short.
    """
    keep = max(0, of_last - 1)
    if rows.empty:
        empty = np.array([], dtype=np.int64)
        no_flags = np.zeros((0, keep), dtype=np.int8)
        return RecentFlags(empty, np.array([], dtype=np.int8), no_flags, empty.astype(bool)), empty
    frame = rows.sort_values(["entity_id", "period"], ascending=[True, False])
    latest = frame.drop_duplicates("entity_id", keep="first")
    ids = latest["entity_id"].to_numpy(dtype=np.int64)
    codes = np.array(
        [SEVERITY_CODES.get(s, 0) if isinstance(s, str) else 0 for s in latest["severity"]],
        dtype=np.int8,
    )
    frame = frame[frame["score"].notna()]  # a missing score is no information
    entity = frame["entity_id"].to_numpy(dtype=np.int64)
    flag = score_flags(frame["score"].to_numpy(dtype="float64"), blue, clear, direction)
    age = pd.Series(np.ones(len(frame), dtype=np.int64)).groupby(entity).cumsum().to_numpy() - 1
    counts = np.bincount(np.searchsorted(ids, entity), minlength=len(ids))
    flags = np.full((len(ids), keep), NO_SCORE, dtype=np.int8)
    young = age < keep
    flags[np.searchsorted(ids, entity[young]), keep - 1 - age[young]] = flag[young]
    whole = counts <= keep
    short = ids[whole] if not covers_all else np.array([], dtype=np.int64)
    return RecentFlags(ids, codes, flags, whole if covers_all else np.zeros_like(whole)), short


def stored_state(
    session: Session,
    *,
    indicator_id: int,
    model: str,
    before: date,
    frequency: str,
    entity_range: tuple[int, int],
    blue: float,
    direction: str,
    min_periods: int,
    within: Select[Any] | None = None,
) -> SeriesState:
    """The decision state just before ``before`` of the series in ``entity_range``.

    Reads the stored scores of the last ``min_periods`` periods; series whose state
    those do not settle (a gap in their scores) are read further back, one by one.
    """
    first = shift_period(before, -max(1, min_periods), frequency)
    recent = _scores(session, indicator_id, model, entity_range, first, before, within=within)
    state, unsettled = _state_of(recent, blue, direction, min_periods, covers_all=False)
    if len(unsettled):
        older = _scores(
            session, indicator_id, model, entity_range, None, before, unsettled, within=within
        )
        settled, _ = _state_of(older, blue, direction, min_periods, covers_all=True)
        keep = ~np.isin(state.entity_ids, unsettled)
        state = SeriesState(
            entity_ids=np.concatenate([state.entity_ids[keep], settled.entity_ids]),
            codes=np.concatenate([state.codes[keep], settled.codes]),
            runs=np.concatenate([state.runs[keep], settled.runs]),
        )
        order = np.argsort(state.entity_ids, kind="stable")
        state = SeriesState(state.entity_ids[order], state.codes[order], state.runs[order])
    return state


def _scores(
    session: Session,
    indicator_id: int,
    model: str,
    entity_range: tuple[int, int],
    first: date | None,
    before: date,
    entity_ids: np.ndarray | None = None,
    *,
    within: Select[Any] | None = None,
) -> pd.DataFrame:
    query = select(Score.entity_id, Score.period, Score.score, Score.severity).where(
        Score.indicator_id == indicator_id,
        Score.model == model,
        Score.entity_id.between(*entity_range),
        Score.period < before,
    )
    if first is not None:
        query = query.where(Score.period >= first)
    if entity_ids is not None:
        query = query.where(Score.entity_id.in_([int(e) for e in entity_ids]))
    if within is not None:
        query = query.where(Score.entity_id.in_(within))
    columns = ("entity_id", "period", "score", "severity")
    rows = _raw_rows(session, query)
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    # numpy splits the driver's tuples into typed columns in C (a NULL score becomes NaN);
    # only the order of the periods matters here, so they stay as the driver gives them.
    table = np.array(rows, dtype=[(c, t) for c, t in zip(columns, _SCORE_TYPES, strict=True)])
    return pd.DataFrame({c: table[c] for c in columns})


_SCORE_TYPES = (np.int64, object, np.float64, object)


def _raw_rows(session: Session, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``query`` straight from the driver: no result object per row."""
    session.flush()
    connection = session.connection()
    compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _state_of(
    rows: pd.DataFrame, blue: float, direction: str, min_periods: int, *, covers_all: bool
) -> tuple[SeriesState, np.ndarray]:
    """State per series of ``rows``; also the series it leaves unsettled.

    Unless ``rows`` holds each series' whole history (``covers_all``), a series whose
    code is 0 and whose every row breaches, fewer than ``min_periods - 1`` of them, may
    have breached before too: it is unsettled.
    """
    if rows.empty:
        empty = np.array([], dtype=np.int64)
        return SeriesState(empty, np.array([], dtype=np.int8), empty), empty
    frame = rows.sort_values(["entity_id", "period"], ascending=[True, False])
    entity = frame["entity_id"].to_numpy(dtype=np.int64)
    breach = breaches(frame["score"].to_numpy(dtype="float64"), blue, direction)
    streak = pd.Series(breach.astype(np.int64)).groupby(entity).cumprod().to_numpy()
    grouped = pd.DataFrame({"entity": entity, "streak": streak, "rows": 1}).groupby("entity")
    runs = grouped["streak"].sum()
    counts = grouped["rows"].sum()
    latest = frame.drop_duplicates("entity_id", keep="first")  # newest row per series
    severity = latest["severity"].tolist()
    codes = np.array([SEVERITY_CODES.get(s, 0) if isinstance(s, str) else 0 for s in severity])
    codes = codes.astype(np.int8)
    capped = np.minimum(runs.to_numpy(), max(0, min_periods - 1))
    ids = latest["entity_id"].to_numpy(dtype=np.int64)
    open_ended = (codes == 0) & (runs.to_numpy() == counts.to_numpy()) & (capped < min_periods - 1)
    unsettled = ids[open_ended] if not covers_all else np.array([], dtype=np.int64)
    return SeriesState(ids, codes, capped.astype(np.int64)), unsettled


def continue_levels(
    scores: pd.DataFrame,
    codes_before: np.ndarray,
    runs_before: np.ndarray,
    cutoffs: Sequence[float],
    direction: str,
    *,
    clear: float | None,
    min_periods: int,
    frequency: str,
    of_last: int | None = None,
    recent: RecentFlags | None = None,
) -> pd.DataFrame:
    """``to_levels`` of ``scores`` as if the series had been in the given state before.

    With ``of_last`` the state is ``recent`` (see :func:`stored_recent`, aligned with
    the columns) and :func:`_continue_confirmed` resumes from it.

    A prefix of ``min_periods`` rows reproduces the state: for a series that was on at
    code ``c``, ``min_periods`` scores on the ``c``-th cut-off (it starts at ``c``); for
    one that was off with a run of ``r`` breaches, ``r`` scores on the blue cut-off after
    gaps (NaN: no information, the run neither grows nor breaks).
    """
    if of_last is not None:
        if recent is None:
            raise ValueError("continuing an n-of-m confirmation needs the recent flags")
        return _continue_confirmed(
            scores, codes_before, recent, cutoffs, direction, clear, min_periods, of_last, frequency
        )
    length = max(1, min_periods)
    n_entities = scores.shape[1]
    prefix = np.full((length, n_entities), np.nan)
    levels = np.asarray(cutoffs, dtype="float64")
    on = codes_before >= 1
    prefix[:, on] = levels[codes_before[on].astype(np.intp) - 1]
    off_runs = np.where(on, 0, np.minimum(runs_before, length - 1))
    rows = np.arange(length)[:, None]
    prefix = np.where(~on & (rows >= length - off_runs), levels[0], prefix)
    before = pd.date_range(end=scores.index[0], periods=length + 1, freq=PANDAS_FREQ[frequency])
    index = before[:-1].append(pd.DatetimeIndex(scores.index))
    combined = pd.DataFrame(
        np.vstack([prefix, scores.to_numpy(dtype="float64")]), index=index, columns=scores.columns
    )
    codes = to_levels(combined, cutoffs, direction, clear=clear, min_periods=min_periods)
    return codes.iloc[length:]


def _continue_confirmed(
    scores: pd.DataFrame,
    codes_before: np.ndarray,
    recent: RecentFlags,
    cutoffs: Sequence[float],
    direction: str,
    clear: float | None,
    min_periods: int,
    of_last: int,
    frequency: str,
) -> pd.DataFrame:
    """Resume "n of the last m" by replaying the recent flags after a set-up.

    The prefix is ``of_last`` set-up rows then the ``m - 1`` flags (breach: a score on
    the blue cut-off, held: on the clearing level, clear: past it). A series with more
    history that was on gets set-up scores on its cut-off, so it is on when the flags
    start and stays on exactly as it did; any other series gets no set-up (NaN), so its
    recent window holds the flags and nothing else. The last flag of a series that was
    on carries its colour; the first period then sees the same window and code.
    """
    levels = np.asarray(cutoffs, dtype="float64")
    clearing = levels[0] if clear is None else float(clear)
    past = {"up": clearing - 1.0, "down": clearing + 1.0}.get(direction, 0.0)
    flags = recent.flags.T  # (m - 1) x series
    values = np.select(
        [flags == BREACHED, flags == HELD, flags == CLEARED], [levels[0], clearing, past], np.nan
    )
    on = codes_before >= 1
    colour = levels[np.clip(codes_before, 1, 4).astype(np.intp) - 1]
    if flags.shape[0]:
        last_breach = on & (flags[-1] == BREACHED)
        values[-1] = np.where(last_breach, colour, values[-1])
    setup = np.full((of_last, len(codes_before)), np.nan)
    setup[:, on & ~recent.whole] = colour[on & ~recent.whole]
    prefix = np.vstack([setup, values])
    length = prefix.shape[0]
    before = pd.date_range(end=scores.index[0], periods=length + 1, freq=PANDAS_FREQ[frequency])
    index = before[:-1].append(pd.DatetimeIndex(scores.index))
    combined = pd.DataFrame(
        np.vstack([prefix, scores.to_numpy(dtype="float64")]), index=index, columns=scores.columns
    )
    codes = to_levels(
        combined, cutoffs, direction, clear=clear, min_periods=min_periods, of_last=of_last
    )
    return codes.iloc[length:]
