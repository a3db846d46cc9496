"""Threshold rules from the catalog: transform steps and "n of the last m" confirmation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from models.levels import SEVERITY_NAMES, to_levels
from models.threshold import ThresholdDetector
from monitor.catalog import CatalogValidationError, load_catalog
from monitor.db import Database
from monitor.pipeline import score_indicators
from monitor.records import Alert, AlertEvent, Entity, Indicator, Observation, Score, Threshold
from monitor.state import continue_levels, recent_flags

NOW = datetime(2024, 7, 1, tzinfo=UTC)
PERIODS = pd.date_range("2020-01-01", periods=48, freq="MS")

# The issue's example: "the 3-month average of X rose above its low of the previous
# 12 months", blue at a rise of 0.4, up to red at 2.
CATALOG = """
entities:
  - {code: SD, name_zh: 山东, name_en: Shandong, level: government, kind: province}
indicators:
  - {code: X, name_zh: 指标X, name_en: X, dimension: trade, level: government,
     frequency: M, direction: up}
  - {code: Y, name_zh: 指标Y, name_en: Y, dimension: trade, level: government,
     frequency: M, direction: up}
thresholds:
  - {model: threshold, level: government, dimension: trade, indicator: X,
     blue: 0.4, yellow: 0.9, orange: 1.4, red: 2.0,
     steps: [{ma: 3}, {rise_from_low: 12}]%s}
  - {model: threshold, level: government, dimension: trade,
     blue: 12, yellow: 14, orange: 16, red: 18%s}
"""
CONFIRM = ", confirm: {n: 2, m: 3}"


def _x_values() -> np.ndarray:
    """Flat at 10, then a step to 11.5 in month 30."""
    values = np.full(len(PERIODS), 10.0)
    values[30:] = 11.5
    return values


def _y_values() -> np.ndarray:
    """Flat at 10 with lone spikes in months 30 and 33 and a two-month one from 40."""
    values = np.full(len(PERIODS), 10.0)
    values[[30, 33, 40, 41]] = 13.0
    return values


def _load(database: Database, tmp_path: Path, *, confirm: bool, months: int) -> None:
    """The catalog (loaded once) and the observations of the first ``months`` months."""
    with database.session() as session:
        if session.scalar(select(Indicator)) is None:
            path = tmp_path / "catalog.yaml"
            extra = CONFIRM if confirm else ""
            path.write_text(CATALOG % (extra, extra), encoding="utf-8")
            load_catalog(session, path)
            session.flush()
        entity = session.scalar(select(Entity.id).where(Entity.code == "SD"))
        indicators = {c: i for c, i in session.execute(select(Indicator.code, Indicator.id))}
        stored = len(set(session.scalars(select(Observation.period))))
        rows = [
            {
                "indicator_id": indicators[code],
                "entity_id": entity,
                "period": PERIODS[t].date(),
                "value": float(values[t]),
                "updated_at": NOW,
            }
            for code, values in (("X", _x_values()), ("Y", _y_values()))
            for t in range(stored, months)
        ]
        if rows:
            session.execute(insert(Observation), rows)


def _severities(database: Database, code: str) -> dict[int, str]:
    """Month number -> stored colour, for the coloured months of one indicator."""
    with database.session() as session:
        rows = session.execute(
            select(Score.period, Score.severity)
            .join(Indicator, Score.indicator_id == Indicator.id)
            .where(Indicator.code == code, Score.model == "threshold")
        ).all()
    months = {period: n for n, period in enumerate(PERIODS.date)}
    return {months[period]: severity for period, severity in rows if severity is not None}


def _opened(database: Database, code: str) -> list[int]:
    with database.session() as session:
        periods = session.scalars(
            select(Alert.period)
            .join(Indicator, Alert.indicator_id == Indicator.id)
            .where(Indicator.code == code)
            .order_by(Alert.period)
        ).all()
    months = {period: n for n, period in enumerate(PERIODS.date)}
    return [months[period] for period in periods]


def _confirmed(database: Database, code: str) -> list[int]:
    with database.session() as session:
        periods = session.scalars(
            select(AlertEvent.period)
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .join(Indicator, Alert.indicator_id == Indicator.id)
            .where(Indicator.code == code, AlertEvent.kind == "confirmed")
            .order_by(AlertEvent.period)
        ).all()
    months = {period: n for n, period in enumerate(PERIODS.date)}
    return [months[period] for period in periods]


def _snapshot(database: Database) -> tuple[list[tuple], list[tuple]]:
    with database.session() as session:
        scores = session.execute(
            select(Score.indicator_id, Score.period, Score.score, Score.severity).order_by(
                Score.indicator_id, Score.period
            )
        ).all()
        alerts = session.execute(
            select(
                Alert.indicator_id,
                Alert.period,
                Alert.status,
                Alert.severity,
                Alert.worst_severity,
                Alert.last_period,
            ).order_by(Alert.indicator_id, Alert.period)
        ).all()
    return [tuple(r) for r in scores], [tuple(r) for r in alerts]


# Month 30: the average is 10.5, 0.5 above the low of 10 (blue); month 31: 11, 1.0
# (yellow); months 32-41: 11.5, 1.5 (orange); month 42: the low of months 30-41 is 10.5
# (yellow); month 43: 11 (blue); month 44: 11.5, no rise left.
EXPECTED_X = {30: "blue", 31: "yellow", **dict.fromkeys(range(32, 42), "orange")}
EXPECTED_X |= {42: "yellow", 43: "blue"}


def test_the_issue_example_rule_from_a_yaml_catalog_raises_the_hand_computed_colours(
    database: Database, tmp_path: Path
) -> None:
    _load(database, tmp_path, confirm=False, months=len(PERIODS))

    score_indicators(database, notify=False, now=NOW)

    assert _severities(database, "X") == EXPECTED_X
    assert _opened(database, "X") == [30]
    assert _severities(database, "Y") == dict.fromkeys([30, 33, 40, 41], "blue")
    assert _opened(database, "Y") == [30, 33, 40]


def test_confirmation_delays_a_lasting_breach_and_suppresses_lone_spikes(
    database: Database, tmp_path: Path
) -> None:
    _load(database, tmp_path, confirm=True, months=len(PERIODS))

    score_indicators(database, notify=False, now=NOW)

    # Month 30 is the first breach of three: one is not two, so X waits a month.
    assert _severities(database, "X") == {k: v for k, v in EXPECTED_X.items() if k != 30}
    assert _confirmed(database, "X") == [31]
    # Y's spikes in 30 and 33 are never two in three months; 40 and 41 are. Each first
    # breach opens a pending alert; only the one of month 40 is confirmed, in 41.
    assert _severities(database, "Y") == {41: "blue"}
    assert _opened(database, "Y") == [30, 33, 40]
    assert _confirmed(database, "Y") == [41]


def test_the_rule_is_stored_in_its_configuration_form(database: Database, tmp_path: Path) -> None:
    _load(database, tmp_path, confirm=True, months=0)

    with database.session() as session:
        rows = {t.indicator_id is None: t for t in session.scalars(select(Threshold))}
    assert rows[False].steps == [{"ma": 3}, {"rise_from_low": 12}]
    assert rows[False].confirm == {"n": 2, "m": 3}
    assert rows[False].min_periods == 2
    assert rows[True].steps is None
    steps = ThresholdDetector(frequency="M", steps=rows[False].steps)
    assert steps.lookback() == 14  # 2 more months for the average, 12 low
    assert ThresholdDetector(frequency="M").lookback() == 0


@pytest.mark.parametrize("confirm", [False, True])
def test_month_by_month_scoring_with_a_rule_equals_a_full_backfill(
    tmp_path: Path, confirm: bool
) -> None:
    from monitor.migrate import upgrade

    full, stepped = (Database(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db"))
    for database in (full, stepped):
        upgrade(database)
    (tmp_path / "full").mkdir()
    (tmp_path / "stepped").mkdir()
    try:
        _load(full, tmp_path / "full", confirm=confirm, months=len(PERIODS))
        score_indicators(full, notify=False, now=NOW)
        _load(stepped, tmp_path / "stepped", confirm=confirm, months=24)
        score_indicators(stepped, notify=False, now=NOW)
        for months in range(25, len(PERIODS) + 1):
            _load(stepped, tmp_path / "stepped", confirm=confirm, months=months)
            with stepped.session() as session:
                ids = session.scalars(select(Indicator.id)).all()
            changed = dict.fromkeys(ids, PERIODS[months - 1].date())
            score_indicators(stepped, changed=changed, notify=False, now=NOW)
        assert _snapshot(stepped) == _snapshot(full)
    finally:
        full.dispose()
        stepped.dispose()


@pytest.mark.parametrize("direction", ["up", "down", "both"])
@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 3), (2, 3), (3, 5), (4, 4)])
def test_resumed_confirmed_levels_equal_levels_of_the_whole_series(
    direction: str, n: int, m: int
) -> None:
    rng = np.random.default_rng(10 * n + m)
    scores = rng.normal(0, 4, (60, 40))
    scores[rng.random(scores.shape) < 0.15] = np.nan
    scores[:55, 0] = np.nan  # a series with a short history
    cutoffs = {"up": (1, 3, 5, 7), "down": (-1, -3, -5, -7), "both": (1, 3, 5, 7)}[direction]
    clear = {"up": -1.0, "down": 1.0, "both": 0.5}[direction]
    index = pd.date_range("2019-01-01", periods=60, freq="MS")
    frame = pd.DataFrame(scores, index=index, columns=np.arange(40) + 1)
    whole = to_levels(frame, cutoffs, direction, clear=clear, min_periods=n, of_last=m)

    for split in (1, 17, 45, 57):
        stored = _stored_rows(frame.iloc[:split], whole.iloc[:split])
        state, _ = recent_flags(stored, cutoffs[0], clear, direction, m, covers_all=True)
        codes, recent = state.for_columns(frame.columns)
        resumed = continue_levels(
            frame.iloc[split:],
            codes,
            np.zeros(len(codes), dtype=np.int64),
            cutoffs,
            direction,
            clear=clear,
            min_periods=n,
            frequency="M",
            of_last=m,
            recent=recent,
        )
        pd.testing.assert_frame_equal(resumed, whole.iloc[split:])


def _stored_rows(scores: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    """The rows the pipeline stores: observed scores with their colour (None: normal)."""
    long = scores.stack().dropna().rename("score").reset_index()
    long.columns = ["period", "entity_id", "score"]
    code = codes.stack().rename("code").reset_index()
    code.columns = ["period", "entity_id", "code"]
    rows = long.merge(code, on=["period", "entity_id"])
    rows["severity"] = [SEVERITY_NAMES[c] if c else None for c in rows["code"]]
    rows["period"] = rows["period"].dt.date
    return rows[["entity_id", "period", "score", "severity"]]


BAD_RULES = """
indicators:
  - {code: X, name_zh: 指标X, name_en: X, dimension: trade, level: government,
     frequency: M, direction: up}
thresholds:
  - {model: threshold, level: government, dimension: trade, indicator: X,
     blue: 1, yellow: 2, orange: 3, red: 4, steps: [{ma: 0}]}
  - {model: threshold, level: government, dimension: trade,
     blue: 1, yellow: 2, orange: 3, red: 4, steps: [median]}
  - {model: threshold, level: industry, dimension: trade,
     blue: 1, yellow: 2, orange: 3, red: 4, confirm: {n: 3, m: 2}}
  - {model: robust_z, level: government, dimension: trade,
     blue: 1, yellow: 2, orange: 3, red: 4, steps: [yoy]}
  - {model: threshold, level: enterprise, dimension: trade,
     blue: 1, yellow: 2, orange: 3, red: 4, min_periods: 3, confirm: {n: 2, m: 3}}
  - {model: threshold, level: enterprise, dimension: economic,
     blue: 1, yellow: 2, orange: 3, red: 4, steps: [{share_of: GDP}]}
  - {model: threshold, level: industry, dimension: economic,
     blue: 1, yellow: 2, orange: 3, red: 4, confirm: "2 of 3"}
"""


def test_bad_rules_are_refused_with_their_record_number(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_RULES, encoding="utf-8")

    with database.session() as session, pytest.raises(CatalogValidationError) as caught:
        load_catalog(session, path)

    problems = caught.value.problems
    assert len(problems) == 7
    expected = [
        ("thresholds record 1", "window"),
        ("thresholds record 2", "median"),
        ("thresholds record 3", "N <= M"),
        ("thresholds record 4", "threshold model only"),
        ("thresholds record 5", "min_periods or confirm"),
        ("thresholds record 6", "GDP"),
        ("thresholds record 7", "confirm must be a mapping"),
    ]
    for problem, (where, words) in zip(problems, expected, strict=True):
        assert problem.startswith(where + ":") and words in problem, problem
    with database.session() as session:
        assert session.scalar(select(Threshold)) is None


def test_a_csv_catalog_takes_the_rule_as_json_text(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "thresholds.csv"
    path.write_text(
        "model,level,dimension,blue,yellow,orange,red,steps,confirm\n"
        'threshold,government,trade,0.4,0.9,1.4,2,"[{""ma"": 3}, ""yoy""]",'
        '"{""n"": 2, ""m"": 3}"\n',
        encoding="utf-8",
    )

    with database.session() as session:
        load_catalog(session, path)
    with database.session() as session:
        row = session.scalars(select(Threshold)).one()
        assert (row.steps, row.confirm, row.min_periods) == (
            [{"ma": 3}, "yoy"],
            {"n": 2, "m": 3},
            2,
        )
