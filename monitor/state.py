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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models.levels import to_levels
from monitor.panels import PANDAS_FREQ
from monitor.records import Score

SEVERITY_CODES = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}


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
    rows = session.execute(query).all()
    columns = ("entity_id", "period", "score", "severity")
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    return pd.DataFrame(dict(zip(columns, zip(*rows, strict=True), strict=True)))


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
) -> pd.DataFrame:
    """``to_levels`` of ``scores`` as if the series had been in the given state before.

    A prefix of ``min_periods`` rows reproduces the state: for a series that was on at
    code ``c``, ``min_periods`` scores on the ``c``-th cut-off (it starts at ``c``); for
    one that was off with a run of ``r`` breaches, ``r`` scores on the blue cut-off after
    gaps (NaN: no information, the run neither grows nor breaks).
    """
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
