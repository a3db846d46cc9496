"""Stored shocks: turning points and Martin's measures against the reference, by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select, update

from monitor.db import Database
from monitor.errors import ConfigError, NotFound
from monitor.records import Entity, Indicator, Observation, Shock
from monitor.shocks import list_shocks, reference_entity
from monitor.stages import StageConfig, update_stages

NOW = datetime(2024, 7, 1, tzinfo=UTC)
LATER = datetime(2025, 7, 1, tzinfo=UTC)
SHANDONG = [22042, 23415, 24495, 23950, 24706, 27110]  # Table 3, export complexity
WEIFANG_POWER = [900, 853, 840, 737, 955, 1020]  # Table 1, firm entries
WEIFANG_CITY = [100, 97, 95, 90, 99, 104]  # a city index, falling 10 % to 2020


def _entity(code: str, level: str, kind: str, **links: int) -> Entity:
    return Entity(code=code, name_zh=f"{code}市", name_en=code, level=level, kind=kind, **links)


def _indicator(code: str, level: str, frequency: str = "A") -> Indicator:
    return Indicator(
        code=code,
        name_zh=code,
        name_en=code,
        dimension="economic",
        level=level,
        frequency=frequency,
        direction="down",
        transform="yoy",
        core=True,
    )


@pytest.fixture
def weifang(any_database: Database) -> tuple[Database, dict[str, int]]:
    """Shandong, its city Weifang, and Weifang's power-equipment cluster, 2017-2022."""
    with any_database.session() as session:
        province = _entity("SD", "government", "province")
        session.add(province)
        session.flush()
        city = _entity("SD-WF", "government", "city", parent_id=province.id)
        session.add(city)
        session.flush()
        cluster = _entity("CL-WF-PE", "industry", "cluster", region_id=city.id)
        firm = _entity("F1", "enterprise", "firm")
        session.add_all([cluster, firm])
        government = _indicator("GOV_INDEX", "government")
        industry = _indicator("IND_ENTRIES", "industry")
        session.add_all([government, industry])
        session.flush()
        ids = {
            "SD": province.id,
            "SD-WF": city.id,
            "CL-WF-PE": cluster.id,
            "F1": firm.id,
            "GOV_INDEX": government.id,
            "IND_ENTRIES": industry.id,
        }
        session.execute(
            insert(Observation),
            [
                *_series(government.id, province.id, SHANDONG),
                *_series(government.id, city.id, WEIFANG_CITY),
                *_series(industry.id, cluster.id, WEIFANG_POWER),
            ],
        )
    return any_database, ids


def _series(indicator_id: int, entity_id: int, values: list[float], first: int = 2017):
    return [
        {
            "indicator_id": indicator_id,
            "entity_id": entity_id,
            "period": date(first + i, 1, 1),
            "value": float(value),
            "updated_at": NOW,
        }
        for i, value in enumerate(values)
    ]


def _shock(database: Database, entity_id: int) -> Shock:
    with database.session() as session:
        shock = session.scalars(select(Shock).where(Shock.entity_id == entity_id)).one()
        session.expunge(shock)
    return shock


def test_the_cluster_is_measured_against_the_province(weifang) -> None:
    database, ids = weifang
    with database.session() as session:
        update_stages(session, now=NOW)
    shock = _shock(database, ids["CL-WF-PE"])
    assert shock.reference_entity_id == ids["SD"]  # the province above Weifang
    assert shock.reference_indicator_id == ids["GOV_INDEX"]
    assert (shock.start, shock.peak, shock.trough) == (
        date(2018, 1, 1),
        date(2017, 1, 1),
        date(2020, 1, 1),
    )
    assert (shock.recovered, shock.ended, shock.outcome) == (
        date(2021, 1, 1),
        date(2022, 1, 1),
        "recovered",
    )
    assert shock.depth == pytest.approx((900 - 737) / 900)
    assert (shock.absorption_periods, shock.recovery_periods, shock.duration_periods) == (3, 1, 4)
    # Absorption 2017 -> 2020: Weifang 737/900 - 1 = -18.11 %; Shandong 23950/22042 - 1
    # = +8.66 %: resistance (-0.1811 - 0.0866) / 0.0866 = -3.09.
    weifang_fall, shandong_change = 737 / 900 - 1, 23950 / 22042 - 1
    assert shock.resistance == pytest.approx((weifang_fall - shandong_change) / shandong_change)
    assert shock.resistance == pytest.approx(-3.0923, abs=1e-4)
    # Recovery 2020 -> 2021: Weifang 955/737 - 1 = +29.58 %; Shandong 24706/23950 - 1
    # = +3.16 %: recoverability (0.2958 - 0.0316) / 0.0316 = 8.37.
    weifang_gain, shandong_gain = 955 / 737 - 1, 24706 / 23950 - 1
    assert shock.recoverability == pytest.approx((weifang_gain - shandong_gain) / shandong_gain)
    assert shock.recoverability == pytest.approx(8.3707, abs=1e-4)


def test_a_city_is_measured_against_its_province(weifang) -> None:
    database, ids = weifang
    with database.session() as session:
        update_stages(session, now=NOW)
    shock = _shock(database, ids["SD-WF"])
    assert shock.reference_entity_id == ids["SD"]
    # 100 -> 90 (2017 -> 2020) against Shandong's +8.66 %: (-0.10 - 0.0866) / 0.0866
    shandong = 23950 / 22042 - 1
    assert shock.resistance == pytest.approx((-0.10 - shandong) / shandong)
    # 90 -> 99 (2020 -> 2021) against +3.16 %
    shandong_gain = 24706 / 23950 - 1
    assert shock.recoverability == pytest.approx((0.10 - shandong_gain) / shandong_gain)


def test_the_province_has_no_reference_unless_configured(weifang) -> None:
    database, ids = weifang
    with database.session() as session:
        update_stages(session, now=NOW)
    shock = _shock(database, ids["SD"])
    assert shock.start == date(2020, 1, 1)
    assert shock.reference_entity_id is None
    assert shock.resistance is None and shock.recoverability is None


def test_an_ongoing_shock_is_completed_in_place_as_data_arrive(any_database: Database) -> None:
    with any_database.session() as session:
        cluster = _entity("CL-WF-PE", "industry", "cluster")
        indicator = _indicator("IND_ENTRIES", "industry")
        session.add_all([cluster, indicator])
        session.flush()
        session.execute(insert(Observation), _series(indicator.id, cluster.id, WEIFANG_POWER[:4]))
        ids = (cluster.id, indicator.id)
    with any_database.session() as session:
        update_stages(session, now=NOW)
    ongoing = _shock(any_database, ids[0])
    assert (ongoing.outcome, ongoing.ended, ongoing.latest) == ("ongoing", None, date(2020, 1, 1))
    with any_database.session() as session:
        session.execute(insert(Observation), _series(ids[1], ids[0], WEIFANG_POWER[4:], first=2021))
    with any_database.session() as session:
        update_stages(session, now=LATER)
    done = _shock(any_database, ids[0])
    assert done.id == ongoing.id
    assert (done.outcome, done.ended, done.latest) == (
        "recovered",
        date(2022, 1, 1),
        date(2021, 1, 1),
    )
    assert done.updated_at == LATER


def test_a_revision_that_removes_the_fall_removes_the_shock(weifang) -> None:
    database, ids = weifang
    with database.session() as session:
        update_stages(session, now=NOW)
    with database.session() as session:
        session.execute(
            update(Observation)
            .where(Observation.entity_id == ids["SD"], Observation.period == date(2020, 1, 1))
            .values(value=24600.0)
        )
    with database.session() as session:
        update_stages(session, now=NOW)
        remaining = session.scalars(select(Shock).where(Shock.entity_id == ids["SD"])).all()
    assert remaining == []


def test_a_second_run_rewrites_no_shock(weifang) -> None:
    database, _ids = weifang
    with database.session() as session:
        update_stages(session, now=NOW)
    with database.session() as session:
        update_stages(session, now=LATER)
        stamps = set(session.scalars(select(Shock.updated_at)))
    assert stamps == {NOW}


def test_a_named_reference_entity_is_used(weifang) -> None:
    database, ids = weifang
    config = StageConfig(references={"CL-WF-PE": "entity:SD-WF"})
    with database.session() as session:
        update_stages(session, now=NOW, config=config)
    shock = _shock(database, ids["CL-WF-PE"])
    assert shock.reference_entity_id == ids["SD-WF"]
    # against Weifang city's -10 %: (-0.1811 + 0.10) / 0.10
    assert shock.resistance == pytest.approx((737 / 900 - 1 + 0.10) / 0.10)


def test_a_coarser_reference_cannot_measure_a_monthly_series(any_database: Database) -> None:
    with any_database.session() as session:
        province = _entity("SD", "government", "province")
        cluster = _entity("CL", "industry", "cluster", region_id=None)
        session.add_all([province, cluster])
        session.flush()
        cluster.region_id = province.id
        annual = _indicator("GOV_INDEX", "government")
        monthly = _indicator("IND_OUTPUT", "industry", frequency="M")
        session.add_all([annual, monthly])
        session.flush()
        months = [100.0] * 30 + [80.0] * 6
        session.execute(
            insert(Observation),
            [
                *_series(annual.id, province.id, [100, 90, 95]),
                *[
                    {
                        "indicator_id": monthly.id,
                        "entity_id": cluster.id,
                        "period": date(2017 + m // 12, m % 12 + 1, 1),
                        "value": value,
                        "updated_at": NOW,
                    }
                    for m, value in enumerate(months)
                ],
            ],
        )
        cluster_id = cluster.id
    with any_database.session() as session:
        update_stages(session, now=NOW)
    shock = _shock(any_database, cluster_id)
    assert shock.start == date(2019, 7, 1)
    assert shock.reference_entity_id is not None
    assert shock.resistance is None


def test_a_monthly_reference_is_averaged_to_an_annual_series(any_database: Database) -> None:
    with any_database.session() as session:
        province = _entity("SD", "government", "province")
        session.add(province)
        session.flush()
        cluster = _entity("CL", "industry", "cluster", region_id=province.id)
        session.add(cluster)
        monthly = _indicator("GOV_IVA", "government", frequency="M")
        annual = _indicator("IND_ENTRIES", "industry")
        session.add_all([monthly, annual])
        session.flush()
        # the province's months average 100 in 2017, 90 in 2018 and 99 in 2019
        months = [95.0, 105.0] * 6 + [90.0] * 12 + [99.0] * 12
        session.execute(
            insert(Observation),
            [
                *_series(annual.id, cluster.id, [900, 800, 950]),
                *[
                    {
                        "indicator_id": monthly.id,
                        "entity_id": province.id,
                        "period": date(2017 + m // 12, m % 12 + 1, 1),
                        "value": value,
                        "updated_at": NOW,
                    }
                    for m, value in enumerate(months)
                ],
            ],
        )
        cluster_id = cluster.id
    with any_database.session() as session:
        update_stages(session, now=NOW)
    shock = _shock(any_database, cluster_id)
    # 900 -> 800 is -11.1 % against -10 %: (-0.1111 + 0.10) / 0.10 = -0.111
    assert shock.resistance == pytest.approx((800 / 900 - 1 + 0.10) / 0.10)
    # 800 -> 950 is +18.75 % against +10 %: (0.1875 - 0.10) / 0.10 = 0.875
    assert shock.recoverability == pytest.approx((950 / 800 - 1 - 0.10) / 0.10)


def test_reference_rules_find_parent_region_province_cluster_and_named(weifang) -> None:
    database, ids = weifang
    with database.session() as session:
        province, city, cluster, firm = (
            session.get_one(Entity, ids[code]) for code in ("SD", "SD-WF", "CL-WF-PE", "F1")
        )
        firm.cluster_id = cluster.id
        session.flush()
        session.refresh(firm)
        assert reference_entity(session, city, "parent") is province
        assert reference_entity(session, cluster, "region") is city
        assert reference_entity(session, cluster, "province") is province
        assert reference_entity(session, city, "province") is province
        assert reference_entity(session, province, "province") is None  # never itself
        assert reference_entity(session, firm, "cluster") is cluster
        assert reference_entity(session, cluster, "entity:SD") is province
        assert reference_entity(session, cluster, "none") is None


@pytest.mark.parametrize("rule", ["sibling", "entity:", "entity:NOPE"])
def test_an_unknown_reference_rule_or_entity_is_a_config_error(weifang, rule: str) -> None:
    database, ids = weifang
    with database.session() as session, pytest.raises(ConfigError):
        reference_entity(session, session.get_one(Entity, ids["CL-WF-PE"]), rule)


def test_list_shocks_gives_the_json_shape_and_filters(weifang) -> None:
    database, _ids = weifang
    with database.session() as session:
        update_stages(session, now=NOW)
        everything = list_shocks(session)
        [cluster] = list_shocks(session, entity_code="CL-WF-PE", locale="en")
        recovered = list_shocks(session, outcome="recovered")
        with pytest.raises(NotFound):
            list_shocks(session, entity_code="NOPE")
    assert [(row["entity"]["code"], row["start"]) for row in everything] == [
        ("SD", "2020-01-01"),
        ("SD-WF", "2018-01-01"),
        ("CL-WF-PE", "2018-01-01"),
    ]
    assert len(recovered) == 3
    assert cluster["entity"]["name"] == "CL-WF-PE"
    assert cluster["reference"]["entity"]["code"] == "SD"
    assert cluster["reference"]["indicator"]["code"] == "GOV_INDEX"
    assert cluster["indicator"]["frequency"] == "A"
    assert (cluster["start"], cluster["peak"], cluster["trough"]) == (
        "2018-01-01",
        "2017-01-01",
        "2020-01-01",
    )
    assert (cluster["recovered"], cluster["end"], cluster["latest"]) == (
        "2021-01-01",
        "2022-01-01",
        "2021-01-01",
    )
    assert cluster["updated_at"] == "2024-07-01T00:00:00Z"
