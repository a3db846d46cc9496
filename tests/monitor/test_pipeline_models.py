"""Every model a threshold row can name is scored by the pipeline, incrementally too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (
    CusumDetector,
    EnsembleDetector,
    EwmaDetector,
    LevelShiftDetector,
    NoveltyDetector,
    PeerDetector,
    RobustZDetector,
    SeasonalDetector,
    ThresholdDetector,
    VolatilityShiftDetector,
    to_levels,
)
from models.base import Detector
from monitor import pipeline
from monitor.chunks import pack_groups
from monitor.db import Database
from monitor.pipeline import score_indicators
from monitor.records import Alert, AlertEvent, Entity, Indicator, Observation, Score, Threshold
from monitor.scoring import model_scores
from monitor.vocabulary import ModelKind
from tests.monitor.panel_world import FIRMS, NOW, PERIODS, noisy_values, store_months

FIRM = {"level": "enterprise", "kind": "firm"}
CONTEXT = 6  # periods of lifecycle context a resumed run decides again (the flap window)
# Each firm's cluster (None: no cluster), interleaved so no cluster is a run of ids:
# A, B and C (6, 6 and 5 firms) exceed or fill a chunk of 5, D and E (3 and 2) share one.
CLUSTER_OF: list[str | None] = [
    "ABC"[i % 4] if i % 4 < 3 else ("D" if i < 12 else "E") for i in range(FIRMS)
]
CLUSTER_OF[22] = None
CLUSTERS = sorted({c for c in CLUSTER_OF if c is not None})


# Per model: the row's params, its cut-offs (chosen so every colour occurs) and the
# detector the library builds from them for the test indicator (yoy, monthly).
ROWS: dict[str, tuple[dict[str, object], tuple[float, ...], Detector]] = {
    ModelKind.THRESHOLD: ({}, (0.0, -5.0, -10.0, -20.0), ThresholdDetector(transform="yoy")),
    ModelKind.ROBUST_Z: (
        {"window": 12, "min_periods": 6},
        (1.5, 2.5, 3.5, 5.0),
        RobustZDetector(window=12, min_periods=6, transform="yoy"),
    ),
    ModelKind.EWMA: (
        {"alpha": 0.3, "min_periods": 6},
        (1.5, 2.5, 3.0, 3.5),
        EwmaDetector(alpha=0.3, min_periods=6, transform="yoy"),
    ),
    ModelKind.CUSUM: (
        {"k": 0.5, "min_periods": 6},
        (5.0, 8.0, 11.0, 14.0),
        CusumDetector(k=0.5, min_periods=6, transform="yoy"),
    ),
    ModelKind.SEASONAL: (
        {"cycles": 1, "window": 12, "min_periods": 6},
        (1.5, 2.5, 3.5, 5.0),
        SeasonalDetector(cycles=1, window=12, min_periods=6, transform="yoy"),
    ),
    ModelKind.LEVEL_SHIFT: (
        {"window": 3, "reference": 12, "min_periods": 6},
        (1.5, 2.5, 3.5, 5.0),
        LevelShiftDetector(window=3, reference=12, min_periods=6, transform="yoy"),
    ),
    ModelKind.VOLATILITY_SHIFT: (
        {"window": 4, "reference": 12, "min_periods": 6},
        (0.3, 0.6, 0.9, 1.2),
        VolatilityShiftDetector(window=4, reference=12, min_periods=6, transform="yoy"),
    ),
    ModelKind.NOVELTY: (
        {"length": 3, "memory": 18},
        (12.0, 18.0, 25.0, 35.0),
        NoveltyDetector(length=3, memory=18, transform="yoy"),
    ),
    ModelKind.PEERS: (
        {"min_peers": 2},
        (1.5, 2.5, 3.5, 5.0),
        PeerDetector(
            groups={i: c for i, c in enumerate(CLUSTER_OF) if c is not None},
            min_peers=2,
            transform="yoy",
        ),
    ),
    ModelKind.ENSEMBLE: (
        {"refractory": 2},
        (0.1, 0.3, 0.5, 0.7),
        EnsembleDetector(refractory=2, transform="yoy"),
    ),
}
# Hand-counted periods a new month reads before the context: the detector's reach plus
# 12 months of year-on-year lag; None for the recursive models (the whole history).
READS: dict[str, int | None] = {
    ModelKind.THRESHOLD: 12,
    ModelKind.ROBUST_Z: 12 + 12,
    ModelKind.EWMA: None,
    ModelKind.CUSUM: None,
    ModelKind.SEASONAL: 12 + 1 * 12 + 1 + 12,
    ModelKind.LEVEL_SHIFT: 3 + 12 - 1 + 12,
    ModelKind.VOLATILITY_SHIFT: 4 + 12 - 1 + 12,
    ModelKind.NOVELTY: 18 + 3 - 1 + 12,
    ModelKind.PEERS: 12,  # each month against its peers of the same month
    ModelKind.ENSEMBLE: None,
}
# Scores a signed model turns for the lower-is-riskier test indicator.
SIGNED = {
    ModelKind.ROBUST_Z,
    ModelKind.EWMA,
    ModelKind.CUSUM,
    ModelKind.SEASONAL,
    ModelKind.LEVEL_SHIFT,
    ModelKind.PEERS,
}


def test_every_model_the_pipeline_runs_is_described_here() -> None:
    assert set(ROWS) == set(ModelKind) == set(READS)


def _load(database: Database, model: str, months: int) -> int:
    """Create the indicator, clusters, firms and ``model``'s row (once); store the first
    ``months``."""
    with database.session() as session:
        indicator = session.scalar(select(Indicator))
        if indicator is None:
            indicator = Indicator(
                code="REV",
                name_zh="营业收入",
                name_en="Revenue",
                dimension="economic",
                level="enterprise",
                frequency="M",
                direction="down",
                transform="yoy",
            )
            session.add(indicator)
            clusters = {
                code: Entity(
                    code=f"CL-{code}",
                    name_zh=f"集群{code}",
                    name_en=f"Cluster {code}",
                    level="industry",
                    kind="cluster",
                )
                for code in CLUSTERS
            }
            session.add_all(clusters.values())
            session.flush()
            session.add_all(
                Entity(
                    code=f"F{i}",
                    name_zh=f"企业{i}",
                    name_en=f"Firm {i}",
                    cluster_id=clusters[CLUSTER_OF[i]].id if CLUSTER_OF[i] else None,
                    **FIRM,
                )
                for i in range(FIRMS)
            )
            params, cutoffs, _ = ROWS[model]
            session.add(
                Threshold(
                    model=model,
                    level="enterprise",
                    dimension="economic",
                    direction="down" if model == ModelKind.THRESHOLD else "up",
                    min_periods=2,
                    params=params or None,
                    **dict(zip(("blue", "yellow", "orange", "red"), cutoffs, strict=True)),
                )
            )
        session.flush()
        firms = _firm_ids(session)
        store_months(session, indicator.id, firms, months)
        return indicator.id


def _firm_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Entity.id).where(Entity.kind == "firm").order_by(Entity.id)))


def _snapshot(database: Database) -> tuple[list[tuple], list[tuple], list[tuple]]:
    with database.session() as session:
        scores = session.execute(
            select(Score.entity_id, Score.model, Score.period, Score.score, Score.severity)
            .order_by(Score.entity_id, Score.model, Score.period)
        ).all()  # fmt: skip
        alerts = session.execute(
            select(
                Alert.entity_id,
                Alert.model,
                Alert.period,
                Alert.status,
                Alert.severity,
                Alert.worst_severity,
                Alert.last_period,
                Alert.resolved_period,
                Alert.value,
                Alert.threshold,
            ).order_by(Alert.entity_id, Alert.model, Alert.period)
        ).all()
        events = session.execute(
            select(Alert.entity_id, AlertEvent.period, AlertEvent.kind, AlertEvent.to_severity)
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .order_by(Alert.entity_id, AlertEvent.id)
        ).all()  # fmt: skip
    return [tuple(r) for r in scores], [tuple(r) for r in alerts], [tuple(r) for r in events]


@pytest.mark.parametrize("model", list(ModelKind))
def test_month_by_month_scoring_of_each_model_equals_a_full_backfill(
    any_database: Database, sqlite_twin: Database, small_chunks: None, model: str
) -> None:
    """Month by month on each backend gives what one backfill of the 48 months gives."""
    _load(sqlite_twin, model, len(PERIODS))
    score_indicators(sqlite_twin, notify=False, now=NOW)
    full = _snapshot(sqlite_twin)

    indicator_id = _load(any_database, model, 36)
    score_indicators(any_database, notify=False, now=NOW)
    for months in range(37, len(PERIODS) + 1):
        _load(any_database, model, months)
        changed = {indicator_id: PERIODS[months - 1].date()}
        score_indicators(any_database, changed=changed, notify=False, now=NOW)
    stepped = _snapshot(any_database)

    assert {row[1] for row in full[0]} == {model}  # stored under the model's name
    assert len(full[0]) > 200 and len(full[1]) > 3  # a real history, real alerts
    assert {row[4] for row in full[0]} >= {None, "blue", "red"}
    assert {row[1] for row in full[1]} == {model}
    for stepped_rows, full_rows in zip(stepped, full, strict=True):
        _assert_same_rows(stepped_rows, full_rows)


def _assert_same_rows(ours: list[tuple], theirs: list[tuple]) -> None:
    """Equal rows, floats to 9 digits: a window's running sums started at another period
    differ in the last bits (more after cancellation, as in the log spread ratio)."""
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        for a, b in zip(mine, reference, strict=True):
            if isinstance(b, float):
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (mine, reference)
            else:
                assert a == b, (mine, reference)


REVISED = PERIODS[40].date()


def _revise(database: Database, factor: float) -> None:
    """Scale every stored value of one month, as a source's revision would."""
    with database.session() as session:
        session.execute(
            update(Observation)
            .where(Observation.period == REVISED)
            .values(value=Observation.value * factor)
        )


@pytest.mark.parametrize("model", list(ModelKind))
def test_a_revised_month_rescored_gives_the_scores_of_a_backfill_of_the_revised_data(
    any_database: Database, sqlite_twin: Database, small_chunks: None, model: str
) -> None:
    indicator_id = _load(any_database, model, len(PERIODS))
    score_indicators(any_database, notify=False, now=NOW)
    _revise(any_database, 0.7)
    score_indicators(any_database, changed={indicator_id: REVISED}, notify=False, now=NOW)
    revised = _snapshot(any_database)[0]

    _load(sqlite_twin, model, len(PERIODS))
    _revise(sqlite_twin, 0.7)
    score_indicators(sqlite_twin, notify=False, now=NOW)
    backfill = _snapshot(sqlite_twin)[0]

    later = [row for row in backfill if row[2] >= REVISED]
    assert later and any(row[4] is not None for row in later)
    _assert_same_rows(revised, backfill)


@pytest.mark.parametrize("model", list(ModelKind))
def test_stored_scores_are_the_library_models_oriented_and_coloured_by_the_row(
    database: Database, model: str
) -> None:
    _load(database, model, len(PERIODS))
    score_indicators(database, notify=False, now=NOW)

    params, cutoffs, detector = ROWS[model]
    with database.session() as session:
        firms = _firm_ids(session)
        stored = pd.DataFrame(
            session.execute(select(Score.entity_id, Score.period, Score.score, Score.severity)),
            columns=["entity", "period", "score", "severity"],
        )
    panel = pd.DataFrame(noisy_values(8), index=PERIODS, columns=firms)
    if "groups" in detector.param_names():  # the test's clusters, keyed by the stored ids
        groups = {firms[i]: c for i, c in enumerate(CLUSTER_OF) if c is not None}
        detector = type(detector)(**{**detector.get_params(), "groups": groups})
    expected = detector.fit(panel).score(panel)
    if model in SIGNED:
        expected = -expected  # the test indicator is lower-is-riskier
    direction = "down" if model == ModelKind.THRESHOLD else "up"
    colours = to_levels(expected, cutoffs, direction, min_periods=2)
    names = np.array([None, "blue", "yellow", "orange", "red"], dtype=object)
    long = expected.stack().dropna().rename("score").reset_index()
    long.columns = ["period", "entity", "score"]
    codes = colours.stack().reindex(pd.MultiIndex.from_frame(long[["period", "entity"]]))
    long["severity"] = names[codes.to_numpy(dtype=np.intp)]
    long["period"] = long["period"].dt.date
    merged = long.merge(stored, on=["entity", "period"], how="outer", suffixes=("", "_stored"))

    assert len(merged) == len(long) == len(stored) > 200
    np.testing.assert_allclose(merged["score_stored"], merged["score"], rtol=1e-9)
    assert (merged["severity_stored"].fillna("-") == merged["severity"].fillna("-")).all()


@pytest.mark.parametrize("model", list(ModelKind))
def test_a_new_month_reads_the_models_trailing_window_or_the_whole_history(
    database: Database, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    indicator_id = _load(database, model, 47)
    score_indicators(database, notify=False, now=NOW)
    _load(database, model, 48)
    reads: list[pd.Timestamp] = []
    original = pipeline.observation_panel

    def recording(*args: object, **kwargs: object) -> pd.DataFrame:
        panel = original(*args, **kwargs)
        reads.append(panel.index.min())
        return panel

    monkeypatch.setattr(pipeline, "observation_panel", recording)
    score_indicators(database, changed={indicator_id: PERIODS[-1].date()}, now=NOW)

    window = READS[model]
    first = PERIODS[0] if window is None else PERIODS[-1] - pd.DateOffset(months=CONTEXT + window)
    assert reads and min(reads) == first


BOUNDED = [model for model, reach in READS.items() if reach is not None]


@pytest.mark.parametrize("model", BOUNDED)
def test_the_newest_score_from_the_declared_look_back_equals_the_whole_historys(
    model: str,
) -> None:
    detector = ROWS[model][2]
    reach = detector.lookback()
    panel = pd.DataFrame(noisy_values(3), index=PERIODS)
    whole = detector.fit(panel).score(panel).iloc[-1]
    recent = panel.iloc[-(reach + 1) :]
    newest = detector.fit(recent).score(recent).iloc[-1]

    assert reach == READS[model]
    assert whole.notna().sum() >= 5
    pd.testing.assert_series_equal(newest, whole, rtol=1e-12)


def _stored_scores(database: Database, model: str) -> pd.DataFrame:
    """The stored scores of ``model`` as a panel (periods x firm index)."""
    with database.session() as session:
        firms = _firm_ids(session)
        rows = session.execute(
            select(Score.period, Score.entity_id, Score.score).where(Score.model == model)
        ).all()
    long = pd.DataFrame(rows, columns=["period", "entity", "score"])
    long["period"] = pd.to_datetime(long["period"])
    panel = long.pivot(index="period", columns="entity", values="score")
    return panel.reindex(index=PERIODS, columns=firms).set_axis(range(FIRMS), axis=1)


def test_peers_compare_a_firm_only_with_the_firms_of_its_own_cluster_in_small_chunks(
    any_database: Database, small_chunks: None
) -> None:
    _load(any_database, ModelKind.PEERS, len(PERIODS))
    score_indicators(any_database, notify=False, now=NOW)
    stored = _stored_scores(any_database, ModelKind.PEERS)

    values = pd.DataFrame(noisy_values(8), index=PERIODS)
    for cluster in ("A", "B", "C", "D"):
        members = [i for i, c in enumerate(CLUSTER_OF) if c == cluster]
        alone = values[members]  # the cluster by itself: every firm of it is a peer
        peers = PeerDetector(min_peers=2, transform="yoy").fit(alone).score(alone)
        expected = -peers  # the test indicator is lower-is-riskier
        assert expected.notna().sum().sum() > 50
        pd.testing.assert_frame_equal(stored[members], expected, check_names=False, rtol=1e-9)
    # Two firms in E have one peer each, fewer than min_peers; firm 22 has no cluster.
    unscored = [i for i, c in enumerate(CLUSTER_OF) if c in ("E", None)]
    assert unscored == [15, 19, 22] and stored[unscored].isna().all().all()


def test_chunks_of_an_indicator_peers_score_hold_whole_clusters(
    database: Database, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(database, ModelKind.PEERS, len(PERIODS))
    read: list[set[int]] = []
    original = pipeline.observation_panel

    def recording(*args: object, **kwargs: object) -> pd.DataFrame:
        panel = original(*args, **kwargs)
        read.append({int(c) for c in panel.columns})
        return panel

    monkeypatch.setattr(pipeline, "observation_panel", recording)
    score_indicators(database, notify=False, now=NOW)
    with database.session() as session:
        firms = _firm_ids(session)

    def members(*clusters: str | None) -> set[int]:
        return {firms[i] for i, c in enumerate(CLUSTER_OF) if c in clusters}

    # Chunks of 5: A (6 firms) and B (6) alone, C (5), D and E together (3 + 2), then
    # the firm without a cluster.
    assert read == [members("A"), members("B"), members("C"), members("D", "E"), members(None)]


def test_clusters_are_packed_whole_into_chunks_in_order() -> None:
    sizes = [(1, 3), (2, 2), (3, 7), (4, 1), (5, 5), (6, 0)]

    assert pack_groups(sizes, 5) == [[1, 2], [3], [4], [5, 6]]
    assert pack_groups(sizes, 100) == [[1, 2, 3, 4, 5, 6]]
    assert pack_groups([], 5) == []


def test_a_model_comparing_within_groups_is_not_scored_without_them() -> None:
    indicator = Indicator(transform="yoy", frequency="M", direction="down")
    panel = pd.DataFrame(noisy_values(3), index=PERIODS)

    with pytest.raises(ValueError, match="within groups"):
        model_scores(panel, indicator, ModelKind.PEERS)
