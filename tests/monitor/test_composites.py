"""Composite indices stored per entity, dimension and period, with frozen weights."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, insert, select

from models.composite import fit_composite, to_frequency
from monitor.composites import (
    OVERALL,
    compute_composites,
    current_version,
    refreeze,
    update_composites,
)
from monitor.db import Database
from monitor.records import (
    CompositeValue,
    CompositeVersion,
    CompositeWeight,
    Entity,
    Indicator,
    Observation,
    Threshold,
)

MONTHS = pd.date_range("2017-01-01", "2021-12-01", freq="MS")
QUARTERS = pd.date_range("2017-01-01", "2021-10-01", freq="QS")
YEARS = pd.date_range("2017-01-01", "2021-01-01", freq="YS")
JUNE_2021 = date(2021, 6, 1)


def _series() -> dict[tuple[str, str], tuple[pd.DatetimeIndex, np.ndarray]]:
    """Shandong is calm in 2017-2019 and far past its base range in every risky direction
    from 2020 on; Qingdao sits at the calm end of every base range throughout."""
    base_months = np.arange(36, dtype=float)
    return {
        ("GOV_OUTPUT", "SD"): (MONTHS, np.concatenate([base_months, np.full(24, 1000.0)])),
        ("GOV_OUTPUT", "QD"): (MONTHS, np.zeros(60)),
        ("GOV_MARGIN", "SD"): (QUARTERS, np.concatenate([10 + np.arange(12) % 4, -np.ones(8)])),
        ("GOV_MARGIN", "QD"): (QUARTERS, np.full(20, 13.0)),
        ("GOV_EXPOSURE", "SD"): (YEARS, np.array([1.0, 2.0, 3.0, 50.0, 50.0])),
        ("GOV_EXPOSURE", "QD"): (YEARS, np.ones(5)),
    }


def _indicator(code: str, dimension: str, frequency: str, direction: str) -> Indicator:
    return Indicator(
        code=code,
        name_zh=code,
        name_en=code,
        dimension=dimension,
        level="government",
        frequency=frequency,
        direction=direction,
    )


def _add(session, series, ids) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {
            "indicator_id": ids[indicator],
            "entity_id": ids[entity],
            "period": period.date(),
            "value": float(value),
        }
        for (indicator, entity), (periods, values) in series.items()
        for period, value in zip(periods, values, strict=True)
    ]
    session.execute(insert(Observation), rows)


@pytest.fixture
def province(any_database: Database) -> Database:
    """Two government entities; economic (monthly up, quarterly down) and trade (annual)."""
    with any_database.session() as session:
        entities = [
            Entity(code=code, name_zh=code, name_en=code, level="government", kind="province")
            for code in ("SD", "QD")
        ]
        indicators = [
            _indicator("GOV_OUTPUT", "economic", "M", "up"),
            _indicator("GOV_MARGIN", "economic", "Q", "down"),
            _indicator("GOV_EXPOSURE", "trade", "A", "up"),
        ]
        session.add_all([*entities, *indicators])
        session.flush()
        ids = {record.code: record.id for record in [*entities, *indicators]}
        _add(session, _series(), ids)
    return any_database


def _values(database: Database) -> pd.DataFrame:
    with database.session() as session:
        rows = session.execute(
            select(
                Entity.code,
                CompositeValue.dimension,
                CompositeValue.period,
                CompositeValue.value,
                CompositeValue.severity,
                CompositeValue.version_id,
            ).join(Entity, Entity.id == CompositeValue.entity_id)
        ).all()
    frame = pd.DataFrame(
        rows, columns=["entity", "dimension", "period", "value", "severity", "version"]
    )
    return frame.set_index(["entity", "dimension", "period"]).sort_index()


def _ids(database: Database) -> dict[str, int]:
    with database.session() as session:
        pairs = session.execute(select(Indicator.code, Indicator.id)).all()
        pairs += session.execute(select(Entity.code, Entity.id)).all()
    return dict(pairs)


def test_first_computation_freezes_weights_and_stores_every_index(province: Database) -> None:
    with province.session() as session:
        written = update_composites(session)
        version = current_version(session, "government")
        weights = session.scalars(select(CompositeWeight)).all()
    assert version is not None
    values = _values(province)
    # economic and overall monthly for 60 months, trade yearly for 5, for both entities
    assert written == len(values) == 2 * (60 + 60 + 5)
    assert set(values["version"]) == {version.id}
    assert (version.base_start, version.base_end) == (date(2017, 1, 1), date(2019, 12, 31))
    by_dimension: dict[str, float] = {}
    for row in weights:
        by_dimension[row.dimension] = by_dimension.get(row.dimension, 0.0) + row.weight
    assert by_dimension == pytest.approx({"economic": 1.0, "trade": 1.0, OVERALL: 1.0})
    assert ((values["value"] >= 0) & (values["value"] <= 100)).all()


def test_values_far_past_the_base_range_are_red_and_the_calm_end_is_normal(
    province: Database,
) -> None:
    with province.session() as session:
        update_composites(session)
    values = _values(province)
    for dimension in ("economic", OVERALL):
        assert values.loc[("SD", dimension, JUNE_2021)][["value", "severity"]].tolist() == [
            100.0,
            "red",
        ]
        calm = values.loc[("QD", dimension, JUNE_2021)]
        assert calm["value"] == 0.0 and pd.isna(calm["severity"])
    # the annual trade index of 2020 counts in the overall one from December 2020 on
    assert values.loc[("SD", "trade", date(2020, 1, 1)), "value"] == 100.0


def test_stored_values_equal_the_model_on_the_same_panels(province: Database) -> None:
    with province.session() as session:
        update_composites(session)
    ids = _ids(province)
    series = _series()

    def panel(code: str) -> pd.DataFrame:
        columns = {ids[e]: series[(code, e)][1] for e in ("SD", "QD")}
        return pd.DataFrame(columns, index=series[(code, "SD")][0])

    panels = {
        ids["GOV_OUTPUT"]: panel("GOV_OUTPUT"),
        ids["GOV_MARGIN"]: to_frequency(panel("GOV_MARGIN"), "Q", "M"),
    }
    directions = {ids["GOV_OUTPUT"]: "up", ids["GOV_MARGIN"]: "down"}
    expected = fit_composite(panels, directions, "2017-01-01", "2019-12-31").index(panels)
    stored = _values(province).xs("economic", level="dimension")["value"]
    for period in (date(2017, 5, 1), date(2018, 11, 1), date(2019, 12, 1)):
        for entity in ("SD", "QD"):
            assert stored.loc[(entity, period)] == pytest.approx(
                expected.loc[pd.Timestamp(period), ids[entity]]
            )


def test_new_data_reuses_the_frozen_version_and_rewrites_only_later_periods(
    province: Database,
) -> None:
    with province.session() as session:
        update_composites(session)
    before = _values(province)
    ids = _ids(province)
    months_2022 = pd.date_range("2022-01-01", periods=12, freq="MS")
    with province.session() as session:
        _add(session, {("GOV_OUTPUT", "SD"): (months_2022, np.zeros(12))}, ids)
        # a new entity with extreme values inside the base window: frozen bounds ignore it
        newcomer = Entity(
            code="JN", name_zh="济南", name_en="Jinan", level="government", kind="city"
        )
        session.add(newcomer)
        session.flush()
        ids["JN"] = newcomer.id
        _add(session, {("GOV_OUTPUT", "JN"): (MONTHS[:36], np.full(36, 5000.0))}, ids)
    with province.session() as session:
        written = update_composites(session, {ids["GOV_OUTPUT"]: date(2017, 1, 1)})
        assert session.scalar(select(func.count()).select_from(CompositeVersion)) == 1
    after = _values(province)
    pd.testing.assert_frame_equal(after.loc[before.index], before)
    assert written > 0
    # the last quarter's margin of 2021 is carried through March 2022, then expires
    assert after.loc[("SD", "economic", date(2022, 3, 1)), "value"] > 0.0
    assert after.loc[("SD", "economic", date(2022, 4, 1)), "value"] == 0.0
    assert after.loc[("JN", "economic", date(2018, 1, 1)), "value"] == 100.0


def test_a_later_ingest_never_changes_the_stored_values_of_earlier_months(
    province: Database,
) -> None:
    """Months to September 2021, quarters to the third, years to 2020 are in and stored;
    then the rest arrives, the 2021 annual figures late: Shandong's exposure back to 2
    (trade index 50 after 100), Qingdao's repeating 2020's. Every value stored before
    stays as it was: a 2021 figure counts from December 2021 on, and until then 2020's
    carries the trade index into the overall one."""
    ids = _ids(province)
    september = date(2021, 9, 1)
    later = [
        (ids["GOV_OUTPUT"], date(2021, 10, 1)),
        (ids["GOV_MARGIN"], date(2021, 10, 1)),
        (ids["GOV_EXPOSURE"], date(2021, 1, 1)),
    ]
    with province.session() as session:
        for indicator_id, first in later:
            session.execute(
                delete(Observation).where(
                    Observation.indicator_id == indicator_id, Observation.period >= first
                )
            )
    with province.session() as session:
        update_composites(session)
    before = _values(province)
    assert before.xs(OVERALL, level="dimension").index.get_level_values("period").max() == (
        september
    )
    series = _series()
    news = dict(series)
    for entity, exposure_2021 in (("SD", 2.0), ("QD", 1.0)):
        years, exposure = series[("GOV_EXPOSURE", entity)]
        news[("GOV_EXPOSURE", entity)] = (years, np.append(exposure[:4], exposure_2021))
    with province.session() as session:
        for (code, entity), (periods, values) in news.items():
            first = dict(later)[ids[code]]
            kept = periods >= pd.Timestamp(first)
            _add(session, {(code, entity): (periods[kept], values[kept])}, ids)
    with province.session() as session:
        written = update_composites(session, dict(later))
        version = current_version(session, "government")
        assert version is not None
        recomputed = compute_composites(session, version)
    after = _values(province)
    assert written > 0 and len(after) > len(before)
    pd.testing.assert_frame_equal(after.loc[before.index], before)
    trade = after.xs(("SD", "trade"), level=("entity", "dimension"))["value"]
    assert trade.loc[date(2020, 1, 1)] == 100.0 and trade.loc[date(2021, 1, 1)] == 50.0
    overall = after.xs(("SD", OVERALL), level=("entity", "dimension"))["value"]
    assert overall.loc[date(2021, 12, 1)] < overall.loc[september] == 100.0
    # what was stored bit by bit is what a full recompute gives
    full = recomputed[OVERALL][ids["SD"]]
    assert full.loc["2021-12-01"] == overall.loc[date(2021, 12, 1)]
    assert full.loc["2021-06-01"] == overall.loc[JUNE_2021]


def test_a_year_counts_in_the_overall_index_from_its_december_on(province: Database) -> None:
    """Shandong's trade index is 50 in 2018 and 100 in 2019 (exposure 2 and 3 on the
    base range 1..3): with equal weights, the overall index of 2019's months mixes in
    2018's figure until November and 2019's from December, never before."""
    with province.session() as session:
        update_composites(session, overall_method="equal")
    values = _values(province)
    overall = values.xs(("SD", OVERALL), level=("entity", "dimension"))["value"]
    economic = values.xs(("SD", "economic"), level=("entity", "dimension"))["value"]
    trade = values.xs(("SD", "trade"), level=("entity", "dimension"))["value"]
    assert trade.loc[date(2018, 1, 1)] == 50.0 and trade.loc[date(2019, 1, 1)] == 100.0
    for month in (date(2019, 1, 1), date(2019, 11, 1)):
        assert overall.loc[month] == pytest.approx((economic.loc[month] + 50.0) / 2)
    for month in (date(2019, 12, 1), date(2020, 5, 1)):
        assert overall.loc[month] == pytest.approx((economic.loc[month] + 100.0) / 2)


def test_refreezing_makes_a_new_version_and_recomputes_everything(province: Database) -> None:
    with province.session() as session:
        update_composites(session)
        first = current_version(session, "government")
    with province.session() as session:
        version, written = refreeze(session, "government", overall_method="equal")
    assert version is not None and first is not None and version.id != first.id
    values = _values(province)
    assert set(values["version"]) == {version.id}
    assert written == len(values)
    with province.session() as session:
        overall = session.scalars(
            select(CompositeWeight.weight).where(
                CompositeWeight.version_id == version.id, CompositeWeight.dimension == OVERALL
            )
        ).all()
    assert sorted(overall) == [0.5, 0.5]


def test_a_composite_threshold_row_sets_the_colours(province: Database) -> None:
    with province.session() as session:
        session.add(
            Threshold(
                model="composite",
                level="government",
                dimension=OVERALL,
                blue=10.0,
                yellow=20.0,
                orange=30.0,
                red=101.0,
            )
        )
    with province.session() as session:
        update_composites(session)
    values = _values(province)
    assert values.loc[("SD", OVERALL, JUNE_2021), "severity"] == "orange"
    assert values.loc[("SD", "economic", JUNE_2021), "severity"] == "red"


def test_nothing_is_frozen_without_data_in_the_base_window(province: Database) -> None:
    with province.session() as session:
        written = update_composites(session, base_start=date(2000, 1, 1), base_end=date(2001, 1, 1))
        assert written == 0
        assert current_version(session, "government") is None
        assert update_composites(session, {999: date(2020, 1, 1)}) == 0  # not of any level


def test_the_version_reads_back_the_indices_it_stored(province: Database) -> None:
    with province.session() as session:
        update_composites(session)
        version = current_version(session, "government")
        assert version is not None
        indices = compute_composites(session, version)
    ids = _ids(province)
    values = _values(province)
    assert set(indices) == {"economic", "trade", OVERALL}
    assert (
        indices[OVERALL].loc["2020-07-01", ids["SD"]]
        == values.loc[("SD", OVERALL, date(2020, 7, 1)), "value"]
    )


def test_freezing_reads_no_observation_after_the_base_window(
    province: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor import composites

    read_until: list[pd.Timestamp] = []
    original = composites.observation_panel

    def recording(*args: object, **kwargs: object) -> pd.DataFrame:
        panel = original(*args, **kwargs)
        read_until.append(panel.index.max())
        return panel

    monkeypatch.setattr(composites, "observation_panel", recording)
    with province.session() as session:
        version = composites.freeze_weights(session, "government")

    assert version is not None  # the data run to 2021, the base window ends in 2019
    assert read_until and max(read_until) <= pd.Timestamp(version.base_end)
