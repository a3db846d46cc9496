"""The read side: alert lists, JSON shapes, stages, series and thresholds, on both backends."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from monitor.db import Database
from monitor.errors import NotFound
from monitor.queries import (
    AlertFilters,
    InvalidFilter,
    alert_as_dict,
    alert_rows_by_id,
    alerts_by_id,
    current_stages,
    get_alert,
    has_synthetic_observations,
    list_alerts,
    list_thresholds,
    open_alert_counts,
    series,
    series_scores,
    stage_counts,
    stage_history,
    thresholds_for,
)
from monitor.records import Alert, Entity, Indicator, Observation, StageRecord
from tests.web.dataset import ALERT_SPECS, WEIFANG_NEW_FIRMS, World, build_world


@pytest.fixture
def world(any_database: Database, now: datetime) -> World:
    with any_database.session() as session:
        return build_world(session, now)


def _codes(page) -> list[str]:
    return [alert.entity.code for alert in page.items]


def test_from_mapping_reads_query_string_filters() -> None:
    filters = AlertFilters.from_mapping(
        {"level": "industry", "severity": "red", "status": "open", "entity": " 青岛 ", "page": "1"}
    )
    assert filters == AlertFilters(level="industry", severity="red", status="open", entity="青岛")


def test_from_mapping_treats_empty_values_as_no_filter() -> None:
    assert AlertFilters.from_mapping({"level": "", "dimension": "", "page": ""}) == AlertFilters()


@pytest.mark.parametrize(
    "args",
    [
        {"level": "province"},
        {"dimension": "social"},
        {"severity": "purple"},
        {"status": "closed"},
        {"model": "magic"},
        {"page": "2"},
        {"after": "not-a-cursor"},
        {"per_page": "100000"},
    ],
)
def test_from_mapping_refuses_values_outside_the_vocabularies(args: dict[str, str]) -> None:
    with pytest.raises(InvalidFilter):
        AlertFilters.from_mapping(args)


def test_list_alerts_is_newest_first(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        page = list_alerts(session, AlertFilters())
    assert page.total == len(ALERT_SPECS)
    assert [alert.id for alert in page.items] == sorted(world.alerts.values(), reverse=True)


def test_list_alerts_breaks_ties_on_opened_at_by_id(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        first = session.get(Alert, world.alerts["firms"])
        for alert in session.scalars(select(Alert)):
            alert.opened_at = first.opened_at
    with any_database.session() as session:
        ids = [alert.id for alert in list_alerts(session, AlertFilters()).items]
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"level": "government"}, {"QD", "SD"}),
        ({"level": "enterprise"}, {"FIRM-1"}),
        ({"dimension": "trade"}, {"QD-HOME"}),
        ({"severity": "yellow"}, {"WF-POWER", "QD-HOME"}),
        ({"status": "acknowledged"}, {"QD"}),
        ({"status": "resolved"}, {"QD-HOME"}),
        ({"status": "open"}, {"WF-POWER", "QD", "SD", "QD-HOME", "FIRM-1"}),
        ({"model": "robust_z"}, {"SD"}),
        ({"entity": "WF-POWER"}, {"WF-POWER"}),
        ({"entity": "青岛"}, {"QD", "QD-HOME"}),
        ({"entity": "weifang"}, {"WF-POWER"}),
        ({"entity": "QD_HOME"}, set()),  # "_" is literal, not a LIKE wildcard
        ({"entity": "%"}, set()),
        ({"level": "industry", "severity": "yellow", "dimension": "environmental"}, {"QD-HOME"}),
    ],
)
def test_list_alerts_filters(
    any_database: Database, world: World, args: dict[str, str], expected: set[str]
) -> None:
    with any_database.session() as session:
        page = list_alerts(session, AlertFilters.from_mapping(args))
    assert set(_codes(page)) == expected
    assert page.total == len(page.items)


def test_open_filter_leaves_out_resolved_alerts(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        page = list_alerts(session, AlertFilters(status="open"))
    assert world.alerts["exports"] not in [alert.id for alert in page.items]
    assert page.total == len(ALERT_SPECS) - 1


def test_alert_as_dict_has_the_documented_shape(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        alert = get_alert(session, world.alerts["firms"])
        result = alert_as_dict(alert, "en", events=True)
    assert result["id"] == world.alerts["firms"]
    assert result["entity"]["code"] == "WF-POWER"
    assert result["entity"]["name"] == "Weifang power equipment"
    assert result["entity"]["name_zh"] == "潍坊动力装备集群"
    assert result["entity"]["level"] == "industry"
    assert result["indicator"] == {
        "code": "ind.new_firms",
        "name": "New firms entering",
        "name_zh": "新进入企业数",
        "name_en": "New firms entering",
        "dimension": "economic",
        "level": "industry",
        "frequency": "A",
        "unit": "家",
        "direction": "down",
        "transform": "yoy",
    }
    assert (result["model"], result["severity"], result["status"]) == (
        "threshold",
        "yellow",
        "firing",
    )
    assert (result["period"], result["value"], result["threshold"]) == ("2020-01-01", -12.26, -10.0)
    assert result["opened_at"] == "2024-07-01T02:00:00Z"
    assert result["synthetic"] is False
    assert [event["kind"] for event in result["events"]] == ["opened"]


def test_alert_as_dict_leaves_events_out_unless_asked(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        result = alert_as_dict(get_alert(session, world.alerts["rd"]))
    assert "events" not in result
    assert result["synthetic"] is True
    assert result["entity"]["name"] == "示例企业甲"


def test_current_stages_gives_stage_and_start_of_current_run(
    any_database: Database, world: World
) -> None:
    with any_database.session() as session:
        rows = current_stages(session)
    found = {row["entity"]["code"]: (row["stage"], row["since"]) for row in rows}
    assert found == {
        "SD": ("recovery", "2022-01-01"),
        "QD": ("absorption", "2021-01-01"),
        "WF-POWER": ("recovery", "2021-01-01"),
        "QD-HOME": ("preparation", "2019-01-01"),
    }
    assert {row["entity"]["level"] for row in rows} == {"government", "industry"}


def test_current_stages_filters_by_level_and_stage(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        firms = current_stages(session, ("enterprise",))
        recovering = current_stages(session, stage="recovery")
    assert [(row["entity"]["code"], row["since"]) for row in firms] == [("FIRM-1", "2019-01-01")]
    assert {row["entity"]["code"] for row in recovering} == {"SD", "WF-POWER"}


def test_current_stages_follows_a_newly_added_period(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        qd = session.get(Entity, world.entities["QD"])
        indicator = session.get(Indicator, world.indicators["firms"])
        session.add(
            StageRecord(
                entity_id=qd.id,
                period=datetime(2023, 1, 1).date(),
                stage="adaptation",
                indicator_id=indicator.id,
            )
        )
    with any_database.session() as session:
        rows = current_stages(session, ("government",), stage="adaptation")
    assert [(row["entity"]["code"], row["since"]) for row in rows] == [("QD", "2023-01-01")]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_alert_rows_carry_what_a_list_page_shows_in_the_order_asked(
    any_database: Database, world: World, locale: str
) -> None:
    with any_database.session() as session:
        ids = [alert.id for alert in list_alerts(session, AlertFilters()).items][::-1]
        rows = alert_rows_by_id(session, [*ids, 10**9], locale)  # an unknown id is left out
        alerts = alerts_by_id(session, ids)
        assert [row.id for row in rows] == ids
        for row, alert in zip(rows, alerts, strict=True):
            assert (row.opened_at, row.period, row.severity, row.status, row.value) == (
                alert.opened_at, alert.period, alert.severity, alert.status, alert.value
            )  # fmt: skip
            assert row.entity_code == alert.entity.code
            assert row.entity_name == alert.entity.name(locale)
            assert row.entity_synthetic == alert.entity.synthetic
            assert row.indicator_name == alert.indicator.name(locale)
            assert row.frequency == alert.indicator.frequency
    assert alert_rows_by_id(session, []) == []


def test_stage_counts_count_each_entitys_latest_stage_per_level(
    any_database: Database, world: World
) -> None:
    with any_database.session() as session:
        counts = stage_counts(session)
        listed: dict[str, dict[str, int]] = {}
        for row in current_stages(session):
            level = listed.setdefault(row["entity"]["level"], {})
            level[row["stage"]] = level.get(row["stage"], 0) + 1
    assert counts == {
        "government": {"recovery": 1, "absorption": 1},
        "industry": {"recovery": 1, "preparation": 1},
    }
    assert counts == listed  # the same answer as the stage list, enterprises left out


def test_stage_history_lists_an_entitys_periods_in_order(
    any_database: Database, world: World
) -> None:
    with any_database.session() as session:
        history = stage_history(session, world.entities["QD"])
    assert [(row["period"], row["stage"]) for row in history] == [
        ("2019-01-01", "absorption"),
        ("2020-01-01", "preparation"),
        ("2021-01-01", "absorption"),
        ("2022-01-01", "absorption"),
    ]


def test_series_returns_periods_as_first_days(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        rows = series(session, "ind.new_firms", "WF-POWER")
    assert [(row["period"], row["value"]) for row in rows] == [
        (f"{year}-01-01", float(count)) for year, count in WEIFANG_NEW_FIRMS.items()
    ]
    assert all(row["synthetic"] is False for row in rows)


@pytest.mark.parametrize(("indicator", "entity"), [("nope", "WF-POWER"), ("ind.new_firms", "X")])
def test_series_of_unknown_codes_is_not_found(
    any_database: Database, world: World, indicator: str, entity: str
) -> None:
    with any_database.session() as session, pytest.raises(NotFound):
        series(session, indicator, entity)


def test_has_synthetic_observations_looks_at_one_series(
    any_database: Database, world: World
) -> None:
    firms, wf = world.indicators["firms"], world.entities["WF-POWER"]
    with any_database.session() as session:
        assert has_synthetic_observations(session, firms, wf) is False
        session.scalars(select(Observation)).first().synthetic = True
    with any_database.session() as session:
        assert has_synthetic_observations(session, firms, wf) is True
        assert has_synthetic_observations(session, firms, world.entities["QD"]) is False


def test_series_scores_returns_the_model_scores(any_database: Database, world: World) -> None:
    with any_database.session() as session:
        rows = series_scores(
            session, world.indicators["firms"], world.entities["WF-POWER"], "threshold"
        )
        other_model = series_scores(
            session, world.indicators["firms"], world.entities["WF-POWER"], "robust_z"
        )
    assert rows[2] == {"period": "2020-01-01", "score": -12.26, "severity": "yellow"}
    assert [row["period"] for row in rows] == [f"{year}-01-01" for year in range(2018, 2023)]
    assert other_model == []


def test_thresholds_for_prefers_the_indicator_override(
    any_database: Database, world: World
) -> None:
    with any_database.session() as session:
        exports = session.get(Indicator, world.indicators["exports"])
        firms = session.get(Indicator, world.indicators["firms"])
        energy = session.get(Indicator, world.indicators["energy"])
        assert (
            thresholds_for(session, exports, "threshold").id == world.thresholds["exports_override"]
        )
        assert (
            thresholds_for(session, firms, "threshold").id == world.thresholds["industry_economic"]
        )
        assert thresholds_for(session, firms, "robust_z") is None
        assert thresholds_for(session, energy, "threshold") is None


def test_list_thresholds_puts_group_rows_before_overrides(
    any_database: Database, world: World
) -> None:
    with any_database.session() as session:
        trade = list_thresholds(session, dimension="trade")
        robust = list_thresholds(session, model="robust_z")
    assert [row.id for row in trade] == [
        world.thresholds["industry_trade"],
        world.thresholds["exports_override"],
    ]
    assert [row.id for row in robust] == [world.thresholds["robust_economic"]]


def test_open_alert_counts_by_level_dimension_and_severity(
    any_database: Database, world: World
) -> None:
    with any_database.session() as session:
        counts = open_alert_counts(session)
    assert counts["industry"]["economic"]["yellow"] == 1
    assert counts["government"]["political"]["red"] == 1
    assert counts["industry"]["trade"]["blue"] == 0  # resolved
    total = sum(n for dims in counts.values() for sevs in dims.values() for n in sevs.values())
    assert total == len(ALERT_SPECS) - 1
    assert set(counts) == {"government", "industry", "enterprise"}


def test_new_alert_filters_round_trip_through_the_query_string() -> None:
    args = {
        "region": "QD",
        "cluster": "QD-HOME",
        "period_from": "2023-01",
        "period_to": "2024-06-15",
        "sort": "-severity",
        "model": "stage",
    }
    filters = AlertFilters.from_mapping(args)
    assert filters.period_from == date(2023, 1, 1) and filters.period_to == date(2024, 6, 1)
    assert AlertFilters.from_mapping(filters.as_args()) == filters
    assert "sort" not in AlertFilters().as_args()


@pytest.mark.parametrize("args", [{"period_to": "2024/06"}, {"sort": "colour"}, {"model": "x"}])
def test_malformed_new_alert_filters_are_refused(args: dict[str, str]) -> None:
    with pytest.raises(InvalidFilter):
        AlertFilters.from_mapping(args)
