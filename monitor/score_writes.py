"""Write a chunk's scores in one statement, built column-wise instead of row by row.

PostgreSQL gets one ``COPY`` whose text pandas writes in C; SQLite one prepared
``executemany``. Either way a score row never passes through a Python loop of its own,
which matters when a cycle writes a million of them.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from alerts.lifecycle import Decisions

SCORE_COLUMNS = ("indicator_id", "entity_id", "model", "period", "score", "severity")
_SEVERITY_NAMES = np.array([None, "blue", "yellow", "orange", "red"], dtype=object)


def score_rows(indicator_id: int, model: str, decisions: Decisions, start: int) -> pd.DataFrame:
    """The scores of periods ``start ..`` of ``decisions`` as rows (missing ones left out).

    Rows run series by series, period by period: the primary key's order, so the
    index grows at its end instead of being rewritten all over.
    """
    scores = decisions.scores[start:].T  # series x periods
    codes = decisions.codes[start:].T
    series, period_at = np.nonzero(~np.isnan(scores))
    periods = np.array([p.date().isoformat() for p in decisions.periods[start:]], dtype=object)
    return pd.DataFrame(
        {
            "indicator_id": np.full(len(series), indicator_id, dtype=np.int64),
            "entity_id": np.asarray(decisions.entity_ids, dtype=np.int64)[series],
            "model": model,
            "period": periods[period_at],
            "score": scores[series, period_at],
            "severity": _SEVERITY_NAMES[codes[series, period_at].astype(np.intp)],
        },
        columns=list(SCORE_COLUMNS),
    )


def write_score_rows(connection: Connection, rows: pd.DataFrame) -> int:
    """Insert ``rows`` (the columns of :func:`score_rows`) into ``scores``; the row count."""
    if rows.empty:
        return 0
    columns = ", ".join(SCORE_COLUMNS)
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        text = io.StringIO()
        rows.to_csv(text, sep="\t", header=False, index=False, na_rep="\\N", lineterminator="\n")
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY scores ({columns}) FROM STDIN") as copy:
                copy.write(text.getvalue())
        return len(rows)
    marks = ", ".join("?" for _ in SCORE_COLUMNS)
    values = zip(
        rows["indicator_id"].tolist(),
        rows["entity_id"].tolist(),
        rows["model"].tolist(),
        rows["period"].tolist(),
        rows["score"].tolist(),
        rows["severity"].tolist(),
        strict=True,
    )
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO scores ({columns}) VALUES ({marks})", values)
    finally:
        cursor.close()
    return len(rows)
