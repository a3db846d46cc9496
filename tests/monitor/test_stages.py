"""update_stages: stages, stage alerts and life cycles of the staged entities, stored.

The catalogue holds the paper's figures: Table 3's export complexity of three
provinces (the government-level performance series) and Table 1's firm entries of the
three national clusters (the industry-level one).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from alerts.workflow import resolve
from monitor.cli import main
from monitor.db import Database
from monitor.errors import ConfigError
from monitor.records import (
    Alert,
    AlertEvent,
    Channel,
    CompositeValue,
    CompositeVersion,
    Entity,
    Indicator,
    Notification,
    Observation,
    Score,
    Setting,
    Shock,
    StageRecord,
)
from monitor.stage_alerts import STAGE_MODEL, stage_fingerprint
from monitor.stages import (
    CONFIG_KEY,
    StageConfig,
    lifecycle_history,
    load_stage_config,
    performance_indicators,
    read_stage_config,
    save_stage_config,
    stage_history_report,
    stage_report,
    staged_entities,
    update_stages,
)

NOW = datetime(2024, 7, 1, tzinfo=UTC)
YEARS = [date(year, 1, 1) for year in range(2017, 2023)]
PREP, ABSORB, ADAPT, RECOVER = "preparation", "absorption", "adaptation", "recovery"

EXPORT_COMPLEXITY = {  # Table 3
    "SD": [22042, 23415, 24495, 23950, 24706, 27110],
    "JS": [37485, 40133, 41988, 42932, 46337, 49023],
    "GD": [34421, 28760, 39447, 40114, 43603, 43550],
}
ENTRIES = {  # Table 1
    "CL-QD-SHA": [301, 316, 318, 325, 369, 391],
    "CL-QD-RTE": [150, 155, 164, 168, 191, 189],
    "CL-WF-PE": [900, 853, 840, 737, 955, 1020],
}
CLUSTER_CITY = {"CL-QD-SHA": "SD-QD", "CL-QD-RTE": "SD-QD", "CL-WF-PE": "SD-WF"}
EXPECTED = {
    "SD": [PREP, PREP, PREP, ABSORB, RECOVER, PREP],
    "JS": [PREP] * 6,
    "GD": [PREP, ABSORB, RECOVER, PREP, PREP, PREP],
    "CL-QD-SHA": [PREP] * 6,
    "CL-QD-RTE": [PREP] * 6,
    "CL-WF-PE": [PREP, ABSORB, ABSORB, ABSORB, RECOVER, PREP],
}


def _entity(code: str, level: str, kind: str, **links: int) -> Entity:
    return Entity(code=code, name_zh=code, name_en=code, level=level, kind=kind, **links)


def _indicator(code: str, level: str, *, frequency: str = "A", core: bool = False) -> Indicator:
    return Indicator(
        code=code,
        name_zh=code,
        name_en=code,
        dimension="economic",
        level=level,
        frequency=frequency,
        direction="down",
        transform="yoy",
        core=core,
    )


def build_catalogue(database: Database, *, years: int = 6) -> dict[str, int]:
    """The provinces, Weifang, the three clusters and their first ``years`` of figures."""
    with database.session() as session:
        provinces = {code: _entity(code, "government", "province") for code in EXPORT_COMPLEXITY}
        session.add_all(provinces.values())
        session.flush()
        cities = {
            "SD-WF": _entity("SD-WF", "government", "city", parent_id=provinces["SD"].id),
            "SD-QD": _entity("SD-QD", "government", "city", parent_id=provinces["SD"].id),
        }
        session.add_all(cities.values())
        session.flush()
        clusters = {
            code: _entity(code, "industry", "cluster", region_id=cities[city].id)
            for code, city in CLUSTER_CITY.items()
        }
        session.add_all(clusters.values())
        firm = _entity("F1", "enterprise", "firm", cluster_id=None)
        session.add(firm)
        indicators = {
            "GOV_EXPORT_COMPLEXITY": _indicator("GOV_EXPORT_COMPLEXITY", "government", core=True),
            "IND_ENTRIES": _indicator("IND_ENTRIES", "industry", core=True),
            "IND_OUTPUT": _indicator("IND_OUTPUT", "industry"),
            "ENT_REVENUE": _indicator("ENT_REVENUE", "enterprise"),
        }
        session.add_all(indicators.values())
        session.add(Channel(name="ops", kind="email", target="ops@example.org"))
        session.flush()
        ids = {e.code: e.id for e in [*provinces.values(), *cities.values(), *clusters.values()]}
        ids["F1"] = firm.id
        ids.update({code: i.id for code, i in indicators.items()})
        rows = [
            *_rows(ids["GOV_EXPORT_COMPLEXITY"], ids, EXPORT_COMPLEXITY, years),
            *_rows(ids["IND_ENTRIES"], ids, ENTRIES, years),
        ]
        if rows:
            session.execute(insert(Observation), rows)
    return ids


def _rows(
    indicator_id: int, ids: dict[str, int], table: dict[str, list[float]], years: int
) -> list[dict[str, object]]:
    return [
        {
            "indicator_id": indicator_id,
            "entity_id": ids[code],
            "period": YEARS[i],
            "value": float(values[i]),
            "updated_at": NOW,
        }
        for code, values in table.items()
        for i in range(years)
    ]


def add_year(database: Database, ids: dict[str, int], year: int) -> None:
    """Append year ``year`` (0 = 2017) of the paper's figures."""
    with database.session() as session:
        session.execute(
            insert(Observation),
            [
                *_rows_of_year(ids["GOV_EXPORT_COMPLEXITY"], ids, EXPORT_COMPLEXITY, year),
                *_rows_of_year(ids["IND_ENTRIES"], ids, ENTRIES, year),
            ],
        )


def _rows_of_year(
    indicator_id: int, ids: dict[str, int], table: dict[str, list[float]], year: int
) -> list[dict[str, object]]:
    return [
        {
            "indicator_id": indicator_id,
            "entity_id": ids[code],
            "period": YEARS[year],
            "value": float(values[year]),
            "updated_at": NOW,
        }
        for code, values in table.items()
    ]


def stored_stages(database: Database) -> dict[str, list[str]]:
    with database.session() as session:
        rows = session.execute(
            select(Entity.code, StageRecord.stage)
            .join(StageRecord, StageRecord.entity_id == Entity.id)
            .order_by(Entity.code, StageRecord.period)
        )
        stages: dict[str, list[str]] = {}
        for code, stage in rows:
            stages.setdefault(code, []).append(stage)
    return stages


def count(database: Database, record: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(record)) or 0


@pytest.fixture
def paper(any_database: Database) -> tuple[Database, dict[str, int]]:
    return any_database, build_catalogue(any_database)


def test_the_paper_figures_go_through_the_expected_stages(paper) -> None:
    database, _ids = paper
    with database.session() as session:
        written = update_stages(session, now=NOW)
    assert written == 6 * len(EXPECTED)
    assert stored_stages(database) == EXPECTED


def test_a_second_run_writes_nothing_and_raises_nothing(paper) -> None:
    database, _ids = paper
    with database.session() as session:
        update_stages(session, now=NOW)
    counts = [count(database, r) for r in (StageRecord, Shock, Alert, AlertEvent, Notification)]
    with database.session() as session:
        assert update_stages(session, now=NOW) == 0
    assert [
        count(database, r) for r in (StageRecord, Shock, Alert, AlertEvent, Notification)
    ] == counts


def test_a_new_year_writes_only_its_own_rows(any_database: Database) -> None:
    ids = build_catalogue(any_database, years=5)
    with any_database.session() as session:
        update_stages(session, now=NOW)
    before = stored_stages(any_database)
    add_year(any_database, ids, 5)
    with any_database.session() as session:
        written = update_stages(session, {ids["IND_ENTRIES"]: YEARS[5]}, now=NOW)
    after = stored_stages(any_database)
    assert written == len(EXPECTED)
    assert after == EXPECTED
    assert {code: stages[:5] for code, stages in after.items()} == before


def test_an_unrelated_indicator_changes_nothing(paper) -> None:
    database, ids = paper
    with database.session() as session:
        assert update_stages(session, {ids["ENT_REVENUE"]: YEARS[0]}, now=NOW) == 0
    assert count(database, StageRecord) == 0


def test_stage_alerts_follow_a_shock_as_the_years_arrive(any_database: Database) -> None:
    ids = build_catalogue(any_database, years=1)
    sent: dict[int, list[str]] = {}
    for year in range(1, 6):
        add_year(any_database, ids, year)
        with any_database.session() as session:
            update_stages(session, now=NOW)
            sent[2017 + year] = _notified_events(session, ids["CL-WF-PE"])
    # Weifang's cluster: the shock begins in 2018 and is over in 2022; 2019-2021 are
    # stage changes or none, recorded on the alert but sent to nobody.
    assert sent == {
        2018: ["opened"],
        2019: ["opened"],
        2020: ["opened"],
        2021: ["opened"],
        2022: ["opened", "resolved"],
    }
    with any_database.session() as session:
        alert = session.scalars(
            select(Alert).where(Alert.fingerprint == stage_fingerprint(ids["CL-WF-PE"]))
        ).one()
        events = [(e.kind, e.period.year, e.note) for e in alert.events]
    assert alert.model == STAGE_MODEL and alert.status == "resolved"
    assert alert.severity == "orange" and alert.threshold == 900.0
    assert events == [
        ("opened", 2018, "preparation → absorption"),
        ("note", 2021, "absorption → recovery"),
        ("resolved", 2022, "recovery → preparation"),
    ]


def _notified_events(session, entity_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AlertEvent.kind)
            .join(Notification, Notification.event_id == AlertEvent.id)
            .join(Alert, Alert.id == AlertEvent.alert_id)
            .where(Alert.fingerprint == stage_fingerprint(entity_id))
            .order_by(AlertEvent.id)
        )
    )


def test_replayed_history_raises_alerts_but_sends_only_the_latest_period(paper) -> None:
    database, ids = paper
    with database.session() as session:
        update_stages(session, now=NOW)
        fingerprints = set(session.scalars(select(Alert.fingerprint)))
        # Shandong's shock ends in 2022, the latest year: that news is sent.
        assert _notified_events(session, ids["SD"]) == ["resolved"]
        # Guangdong's ended in 2020: history, sent to nobody.
        assert _notified_events(session, ids["GD"]) == []
    assert fingerprints == {stage_fingerprint(ids[code]) for code in ("SD", "GD", "CL-WF-PE")}


def test_a_second_shock_during_recovery_escalates_the_stage_alert(any_database: Database) -> None:
    ids = build_catalogue(any_database, years=0)
    with any_database.session() as session:
        session.execute(
            insert(Observation),
            [
                {
                    "indicator_id": ids["GOV_EXPORT_COMPLEXITY"],
                    "entity_id": ids["JS"],
                    "period": date(2010 + i, 1, 1),
                    "value": value,
                    "updated_at": NOW,
                }
                for i, value in enumerate([100, 100, 80, 90, 80, 100, 100, 100])
            ],
        )
    with any_database.session() as session:
        update_stages(session, now=NOW)
        alert = session.scalars(select(Alert).where(Alert.entity_id == ids["JS"])).one()
        kinds = [(e.kind, e.period.year, e.to_severity) for e in alert.events]
    assert kinds == [
        ("opened", 2012, "orange"),
        ("note", 2013, "orange"),  # absorption -> recovery
        ("escalated", 2014, "red"),  # the second fall
        ("note", 2015, "red"),
        ("resolved", 2016, None),
    ]
    assert alert.worst_severity == "red"


def test_a_stage_alert_closed_by_staff_stays_closed_for_the_rest_of_the_shock(paper) -> None:
    database, ids = paper
    later = [
        {
            "indicator_id": ids["GOV_EXPORT_COMPLEXITY"],
            "entity_id": ids["JS"],
            "period": date(2023 + i, 1, 1),
            "value": value,
            "updated_at": NOW,
        }
        for i, value in enumerate([40000.0, 40000.0, 49500.0, 49600.0])
    ]
    with database.session() as session:
        session.execute(insert(Observation), later[:1])  # Jiangsu falls 18 % in 2023
    with database.session() as session:
        update_stages(session, now=NOW)
        alert = session.scalars(
            select(Alert).where(Alert.fingerprint == stage_fingerprint(ids["JS"]))
        ).one()
        assert alert.status == "firing" and alert.period == date(2023, 1, 1)
        resolve(session, alert, actor="analyst", note="handled", now=NOW)
    with database.session() as session:
        session.execute(insert(Observation), later[1:])  # adaptation, recovery, preparation
    with database.session() as session:
        update_stages(session, now=NOW)
        [alert] = session.scalars(
            select(Alert).where(Alert.fingerprint == stage_fingerprint(ids["JS"]))
        )
        kinds = [(event.kind, event.actor) for event in alert.events]
    assert stored_stages(database)["JS"][6:] == [ABSORB, ADAPT, RECOVER, PREP]
    assert kinds == [("opened", None), ("resolved", "analyst")]


def test_an_orange_warning_in_the_core_dimension_starts_a_shock(paper) -> None:
    database, ids = paper
    with database.session() as session:
        session.add(
            Score(
                indicator_id=ids["GOV_EXPORT_COMPLEXITY"],
                entity_id=ids["JS"],
                model="threshold",
                period=YEARS[2],
                score=-12.0,
                severity="orange",
            )
        )
    with database.session() as session:
        update_stages(session, now=NOW)
        shock = session.scalars(select(Shock).where(Shock.entity_id == ids["JS"])).one()
    assert stored_stages(database)["JS"][2] == ABSORB
    assert shock.cause == "warning" and shock.start == YEARS[2]


def _red_composite(database: Database, entity_id: int, dimension: str, period: date) -> None:
    with database.session() as session:
        version = CompositeVersion(
            level="government",
            base_start=YEARS[0],
            base_end=YEARS[-1],
            overall_method="entropy",
        )
        session.add(version)
        session.flush()
        session.add(
            CompositeValue(
                entity_id=entity_id,
                dimension=dimension,
                period=period,
                value=90.0,
                severity="red",
                version_id=version.id,
            )
        )


def test_a_red_composite_index_of_the_core_dimension_starts_a_shock(paper) -> None:
    database, ids = paper
    _red_composite(database, ids["JS"], "economic", YEARS[2])
    with database.session() as session:
        update_stages(session, now=NOW, config=StageConfig(composite_warnings=False))
    assert stored_stages(database)["JS"] == [PREP] * 6
    with database.session() as session:
        update_stages(session, now=NOW)
        shock = session.scalars(select(Shock).where(Shock.entity_id == ids["JS"])).one()
    assert stored_stages(database)["JS"][2] == ABSORB
    assert shock.cause == "warning" and shock.start == YEARS[2]


def test_a_composite_index_of_another_dimension_starts_nothing(paper) -> None:
    database, ids = paper
    _red_composite(database, ids["JS"], "trade", YEARS[2])
    with database.session() as session:
        update_stages(session, now=NOW)
    assert stored_stages(database)["JS"] == [PREP] * 6


def test_a_yellow_warning_starts_nothing(paper) -> None:
    database, ids = paper
    with database.session() as session:
        session.add(
            Score(
                indicator_id=ids["GOV_EXPORT_COMPLEXITY"],
                entity_id=ids["JS"],
                model="threshold",
                period=YEARS[2],
                score=-6.0,
                severity="yellow",
            )
        )
    with database.session() as session:
        update_stages(session, now=NOW)
    assert stored_stages(database)["JS"] == [PREP] * 6


def _monthly_cluster(database: Database) -> dict[str, int]:
    """A cluster with flat monthly output for 2019-2021 and an annual indicator beside it."""
    with database.session() as session:
        cluster = _entity("CL", "industry", "cluster")
        output = _indicator("IND_OUTPUT_M", "industry", frequency="M", core=True)
        entries = _indicator("IND_ENTRIES_A", "industry")
        session.add_all([cluster, output, entries])
        session.flush()
        session.execute(
            insert(Observation),
            [
                {
                    "indicator_id": output.id,
                    "entity_id": cluster.id,
                    "period": date(2019 + m // 12, m % 12 + 1, 1),
                    "value": 100.0,
                    "updated_at": NOW,
                }
                for m in range(36)
            ],
        )
        return {"CL": cluster.id, "output": output.id, "entries": entries.id}


def test_an_annual_warning_arriving_later_leaves_the_months_already_shown(
    any_database: Database,
) -> None:
    ids = _monthly_cluster(any_database)
    config = StageConfig(alerts=False)
    with any_database.session() as session:
        update_stages(session, now=NOW, config=config)
    shown = stored_stages(any_database)["CL"]
    assert shown == [PREP] * 36
    # The 2020 entries, published in 2021, fire an orange warning for the year 2020.
    with any_database.session() as session:
        session.add(
            Score(
                indicator_id=ids["entries"],
                entity_id=ids["CL"],
                model="threshold",
                period=date(2020, 1, 1),
                score=-12.0,
                severity="orange",
            )
        )
    with any_database.session() as session:
        update_stages(session, {ids["entries"]: date(2020, 1, 1)}, now=NOW, config=config)
        shock = session.scalars(select(Shock).where(Shock.entity_id == ids["CL"])).one()
    after = stored_stages(any_database)["CL"]
    # The year's figure is complete in its last month: the months before keep their stage.
    assert after[:23] == shown[:23]
    assert after[23] == ABSORB and shock.start == date(2020, 12, 1)


def test_the_configuration_is_kept_in_the_settings_table(paper) -> None:
    database, _ids = paper
    config = StageConfig(
        params={"government": {"drop": 0.05}},
        references={"industry": "region"},
        alert_severity="red",
    )
    with database.session() as session:
        save_stage_config(session, config)
    with database.session() as session:
        assert load_stage_config(session) == config
        update_stages(session, now=NOW)
    stages = stored_stages(database)
    assert stages["SD"] == [PREP] * 6  # Shandong's 2.2 % dip is below a 5 % drop
    assert stages["GD"] == EXPECTED["GD"]


def test_a_configured_performance_series_replaces_the_core_one(paper) -> None:
    database, ids = paper
    with database.session() as session:
        session.execute(
            insert(Observation),
            [
                {
                    "indicator_id": ids["IND_OUTPUT"],
                    "entity_id": ids["CL-QD-SHA"],
                    "period": year,
                    "value": value,
                    "updated_at": NOW,
                }
                for year, value in zip(YEARS, [100, 90, 95, 100, 101, 102], strict=True)
            ],
        )
    config = StageConfig(performance={"industry/cluster": ("IND_OUTPUT",)})
    with database.session() as session:
        chosen = performance_indicators(session, staged_entities(session, config), config)
        update_stages(session, now=NOW, config=config)
    assert chosen[ids["CL-QD-SHA"]].code == "IND_OUTPUT"
    assert chosen[ids["CL-WF-PE"]].code == "IND_ENTRIES"  # no output data: the core series
    assert stored_stages(database)["CL-QD-SHA"][:3] == [PREP, ABSORB, RECOVER]


def test_an_enterprise_is_staged_on_request(paper) -> None:
    database, ids = paper
    with database.session() as session:
        session.execute(
            insert(Observation),
            [
                {
                    "indicator_id": ids["ENT_REVENUE"],
                    "entity_id": ids["F1"],
                    "period": year,
                    "value": value,
                    "updated_at": NOW,
                }
                for year, value in zip(YEARS, [50, 52, 40, 41, 53, 55], strict=True)
            ],
        )
    plain = StageConfig()
    on_request = StageConfig(
        entities=("F1",), performance={"enterprise": ("ENT_REVENUE",)}, alerts=False
    )
    with database.session() as session:
        update_stages(session, now=NOW, config=plain)
    assert "F1" not in stored_stages(database)
    with database.session() as session:
        update_stages(session, now=NOW, config=on_request)
    assert stored_stages(database)["F1"] == [PREP, PREP, ABSORB, ADAPT, RECOVER, PREP]


@pytest.mark.parametrize(
    "raw",
    [
        {"levels": ["galaxy"]},
        {"params": {"government": {"drop": 2.0}}},
        {"params": {"government": {"speed": 1}}},
        {"references": {"industry": "sibling"}},
        {"alert_severity": "purple"},
        {"lifecycle": {"window": 0}},
        {"colour": "red"},
    ],
)
def test_a_bad_configuration_is_refused(raw) -> None:
    with pytest.raises(ConfigError):
        StageConfig.from_dict(raw)


def test_a_stored_configuration_that_is_not_json_is_refused(database: Database) -> None:
    with database.session() as session:
        session.add(Setting(key=CONFIG_KEY, value="{not json"))
    with database.session() as session, pytest.raises(ConfigError):
        load_stage_config(session)


def test_conflicting_parameters_of_one_entity_are_refused(paper) -> None:
    database, _ids = paper
    # each valid alone; together Shandong's drop (1 %) is below its recovered (1.5 %)
    config = StageConfig(params={"government": {"recovered": 0.015}, "SD": {"drop": 0.01}})
    with database.session() as session, pytest.raises(ConfigError, match="SD"):
        update_stages(session, now=NOW, config=config)


def test_a_seasonal_monthly_series_is_adjusted_when_configured(database: Database) -> None:
    with database.session() as session:
        city = _entity("QD", "government", "city")
        indicator = _indicator("GOV_IVA", "government", frequency="M", core=True)
        session.add_all([city, indicator])
        session.flush()
        season = [0.95, 0.80, 1.00, 1.02, 1.03, 1.05, 1.04, 1.03, 1.02, 1.03, 1.01, 1.02]
        session.execute(
            insert(Observation),
            [
                {
                    "indicator_id": indicator.id,
                    "entity_id": city.id,
                    "period": date(2015 + m // 12, m % 12 + 1, 1),
                    "value": 100.0 * 1.004**m * season[m % 12],
                    "updated_at": NOW,
                }
                for m in range(96)
            ],
        )
    with database.session() as session:
        update_stages(session, now=NOW, config=StageConfig(alerts=False))
    assert ABSORB in stored_stages(database)["QD"]
    adjusted = StageConfig(params={"indicator:GOV_IVA": {"seasonal": True}}, alerts=False)
    with database.session() as session:
        update_stages(session, now=NOW, config=adjusted)
    assert set(stored_stages(database)["QD"]) == {PREP}


def test_the_life_cycle_pairs_each_cluster_with_its_policy(paper) -> None:
    database, ids = paper
    output = [100, 104, 108, 112, 117, 121]  # about 4 % a year
    with database.session() as session:
        session.execute(
            insert(Observation),
            [
                {
                    "indicator_id": ids["IND_OUTPUT"],
                    "entity_id": ids["CL-QD-SHA"],
                    "period": year,
                    "value": value,
                    "updated_at": NOW,
                }
                for year, value in zip(YEARS, output, strict=True)
            ],
        )
    config = StageConfig(performance={"industry/cluster": ("IND_OUTPUT",)})
    with database.session() as session:
        history = lifecycle_history(session, config=config)
    assert set(history) == {ids["CL-QD-SHA"]}  # the others have no output series
    latest = history[ids["CL-QD-SHA"]][-1]
    # 2022: entries grew (2.2 % + 13.5 % + 6.0 %) / 3 = 7.2 % a year, output about 4 %
    assert latest["period"] == "2022-01-01"
    assert latest["entry_growth"] == pytest.approx((325 / 318 + 369 / 325 + 391 / 369 - 3) / 3)
    assert (latest["stage"], latest["policy"]) == ("maturity", "environment")
    assert latest["policy_zh"] == "环境型政策为主、供给型为辅"


def test_the_stage_report_gives_the_current_stage_since_and_life_cycle(paper) -> None:
    database, ids = paper
    with database.session() as session:
        update_stages(session, now=NOW)
        rows = {row["entity"]["code"]: row for row in stage_report(session)}
    assert (rows["CL-WF-PE"]["stage"], rows["CL-WF-PE"]["since"]) == (PREP, "2022-01-01")
    assert (rows["JS"]["stage"], rows["JS"]["since"]) == (PREP, "2017-01-01")
    assert rows["CL-WF-PE"]["lifecycle"] is None  # no output series to judge by
    assert "F1" not in rows


def test_the_history_report_gives_every_period(paper) -> None:
    database, _ids = paper
    with database.session() as session:
        update_stages(session, now=NOW)
        report = {row["entity"]["code"]: row for row in stage_history_report(session)}
    assert [p["stage"] for p in report["GD"]["periods"]] == EXPECTED["GD"]
    assert report["GD"]["periods"][1] == {"period": "2018-01-01", "stage": ABSORB}


def test_the_command_line_prints_stages_history_and_shocks(
    paper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, _ids = paper
    with database.session() as session:
        update_stages(session, now=NOW)
    env = {"CLUSTERWATCH_DATABASE_URL": database.url, "CLUSTERWATCH_DATA_DIR": str(tmp_path)}
    runner = CliRunner()

    current = runner.invoke(main, ["stages", "--json"], env=env)
    history = runner.invoke(main, ["stages", "--json", "--history"], env=env)
    shocks = runner.invoke(main, ["shocks", "--json"], env=env)
    one = runner.invoke(main, ["shocks", "--json", "--entity", "CL-WF-PE"], env=env)
    text = runner.invoke(main, ["shocks"], env=env)
    unknown = runner.invoke(main, ["shocks", "--entity", "NOPE"], env=env)

    assert current.exit_code == history.exit_code == shocks.exit_code == 0, current.output
    by_code = {row["entity"]["code"]: row for row in json.loads(current.output)}
    assert by_code["SD"]["stage"] == PREP and by_code["SD"]["since"] == "2022-01-01"
    periods = {row["entity"]["code"]: row["periods"] for row in json.loads(history.output)}
    assert [p["stage"] for p in periods["SD"]] == EXPECTED["SD"]
    listed = [(row["entity"]["code"], row["start"]) for row in json.loads(shocks.output)]
    assert sorted(listed) == [
        ("CL-WF-PE", "2018-01-01"),
        ("GD", "2018-01-01"),
        ("SD", "2020-01-01"),
    ]
    [weifang] = json.loads(one.output)
    assert weifang["depth"] == pytest.approx(163 / 900)
    assert "CL-WF-PE" in text.output and "18.1%" in text.output
    assert unknown.exit_code == 1 and "NOPE" in unknown.output
    assert weifang["recovery_start"] == "2021-01-01"  # when Weifang's cluster entered recovery


def test_the_command_line_sets_the_configuration_and_reclassifies(paper, tmp_path: Path) -> None:
    database, _ids = paper
    with database.session() as session:
        update_stages(session, now=NOW)
    env = {"CLUSTERWATCH_DATABASE_URL": database.url, "CLUSTERWATCH_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    yaml_file = tmp_path / "stages.yaml"
    yaml_file.write_text("params:\n  government:\n    drop: 0.05\n", encoding="utf-8")
    bad_file = tmp_path / "bad.json"
    bad_file.write_text('{"params": {"government": {"drop": 2}}}', encoding="utf-8")

    saved = runner.invoke(main, ["stage-config", str(yaml_file)], env=env)
    shown = runner.invoke(main, ["stage-config"], env=env)
    refused = runner.invoke(main, ["stage-config", str(bad_file)], env=env)

    assert saved.exit_code == 0, saved.output
    # Shandong's 2.2 % dip is below a 5 % drop: its 2020 and 2021 become preparation.
    assert "2 stage rows rewritten" in saved.output
    assert stored_stages(database)["SD"] == [PREP] * 6
    assert json.loads(shown.output)["params"] == {"government": {"drop": 0.05}}
    assert refused.exit_code == 1 and "drop" in refused.output
    with database.session() as session:
        assert load_stage_config(session).params == {"government": {"drop": 0.05}}


@pytest.mark.parametrize(
    "text", ["- levels\n", "levels: government\n", "params: [1]\n", "{not: [yaml"]
)
def test_a_configuration_file_of_the_wrong_shape_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "stages.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        read_stage_config(path)
