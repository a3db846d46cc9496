"""Loading the catalog (entities, indicators, thresholds) from YAML and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from monitor.catalog import (
    CatalogData,
    CatalogValidationError,
    RawRecord,
    apply_catalog,
    load_catalog,
    read_catalog,
)
from monitor.errors import CatalogError
from monitor.records import Entity, Indicator, Threshold

CATALOG_YAML = """\
entities:
  # children before their parent on purpose: references resolve in any order
  - {code: F1, name_zh: 甲公司, name_en: Jia Co, level: enterprise, kind: firm,
     region: SD-QD, cluster: CL1, synthetic: true}
  - {code: CL1, name_zh: 智能家电集群, name_en: Appliances, level: industry, kind: cluster,
     region: SD-QD}
  - {code: SD-QD, name_zh: 青岛市, name_en: Qingdao, level: government, kind: city, parent: SD}
  - {code: SD, name_zh: 山东省, name_en: Shandong, level: government, kind: province}
indicators:
  - code: GOV_IVA
    name_zh: 工业增加值指数
    name_en: Industrial value added
    dimension: economic
    level: government
    unit: index
    frequency: M
    direction: down
    transform: yoy
    core: true
  - {code: ENT_EXPORTS, name_zh: 出口额, name_en: Exports, dimension: trade,
     level: enterprise, unit: 万元, frequency: q, direction: DOWN}
thresholds:
  - {model: threshold, level: government, dimension: economic,
     blue: -3, yellow: -6, orange: -12, red: -20}
  - {model: threshold, level: enterprise, dimension: trade, indicator: ENT_EXPORTS,
     blue: -30, yellow: -40, orange: -55, red: -70, clear: -20, min_periods: 2}
  - {model: robust_z, level: government, dimension: economic, direction: up,
     blue: 3.5, yellow: 4.5, orange: 6, red: 8}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_it_loads_a_yaml_catalog_with_references_in_any_order(any_database, tmp_path):
    path = write(tmp_path, "catalog.yaml", CATALOG_YAML)
    with any_database.session() as session:
        report = load_catalog(session, path)
    assert report.as_dict() == {
        "entities": {"created": 4, "updated": 0, "unchanged": 0},
        "indicators": {"created": 2, "updated": 0, "unchanged": 0},
        "thresholds": {"created": 3, "updated": 0, "unchanged": 0},
    }
    with any_database.session() as session:
        firm = session.scalars(select(Entity).where(Entity.code == "F1")).one()
        assert (firm.region.code, firm.cluster.code, firm.synthetic) == ("SD-QD", "CL1", True)
        city = session.scalars(select(Entity).where(Entity.code == "SD-QD")).one()
        assert city.parent.code == "SD"
        exports = session.scalars(select(Indicator).where(Indicator.code == "ENT_EXPORTS")).one()
        assert (exports.frequency, exports.direction, exports.transform) == ("Q", "down", "level")
        override = session.scalars(
            select(Threshold).where(Threshold.indicator_id == exports.id)
        ).one()
        assert (override.cutoffs(), override.clear, override.min_periods) == (
            (-30.0, -40.0, -55.0, -70.0),
            -20.0,
            2,
        )


def test_reloading_the_same_file_changes_nothing(any_database, tmp_path):
    path = write(tmp_path, "catalog.yaml", CATALOG_YAML)
    with any_database.session() as session:
        load_catalog(session, path)
    with any_database.session() as session:
        report = load_catalog(session, path)
    assert report.entities.unchanged == 4 and report.entities.created == 0
    assert report.indicators.unchanged == 2 and report.thresholds.unchanged == 3


def test_reloading_an_edited_file_updates_rows_in_place(any_database, tmp_path):
    path = write(tmp_path, "catalog.yaml", CATALOG_YAML)
    with any_database.session() as session:
        load_catalog(session, path)
        ids = dict(session.execute(select(Entity.code, Entity.id)).all())
        threshold_ids = set(session.scalars(select(Threshold.id)))
    edited = (
        CATALOG_YAML.replace("name_en: Qingdao", "name_en: Tsingtao")
        .replace("blue: -3, yellow: -6", "blue: -4, yellow: -6")
        .replace("direction: DOWN", "direction: down, transform: pop")
    )
    write(tmp_path, "catalog.yaml", edited)
    with any_database.session() as session:
        report = load_catalog(session, path, actor="analyst")
    assert (report.entities.updated, report.indicators.updated, report.thresholds.updated) == (
        1,
        1,
        1,
    )
    with any_database.session() as session:
        assert dict(session.execute(select(Entity.code, Entity.id)).all()) == ids
        assert set(session.scalars(select(Threshold.id))) == threshold_ids
        city = session.scalars(select(Entity).where(Entity.code == "SD-QD")).one()
        assert city.name_en == "Tsingtao"
        cell = session.scalars(
            select(Threshold).where(Threshold.model == "threshold", Threshold.level == "government")
        ).one()
        assert cell.blue == -4.0 and cell.updated_by == "analyst"


def test_a_reload_can_move_a_reference(any_database, tmp_path):
    path = write(tmp_path, "catalog.yaml", CATALOG_YAML)
    with any_database.session() as session:
        load_catalog(session, path)
    moved = CATALOG_YAML.replace("region: SD-QD, cluster: CL1", "region: SD, cluster: CL1")
    write(tmp_path, "catalog.yaml", moved)
    with any_database.session() as session:
        load_catalog(session, path)
    with any_database.session() as session:
        firm = session.scalars(select(Entity).where(Entity.code == "F1")).one()
        assert firm.region.code == "SD"


def test_every_bad_record_is_reported_and_nothing_is_written(any_database, tmp_path):
    bad = """\
entities:
  - {code: SD, name_zh: 山东省, name_en: Shandong, level: goverment, kind: province}
  - {code: F1, name_zh: 甲, name_en: Jia, level: enterprise, kind: firm, cluster: NOPE}
  - {code: F2, name_zh: 乙, name_en: Yi, level: enterprise, kind: firm, region: F1}
  - {code: F1, name_zh: 甲, name_en: Jia, level: enterprise, kind: firm}
  - {code: "bad code", name_en: X, level: enterprise, kind: firm, colour: red}
indicators:
  - {code: I1, name_zh: 甲, name_en: A, dimension: economy, level: industry, unit: "",
     frequency: W, direction: up, transform: log, core: maybe}
thresholds:
  - {model: threshold, level: industry, dimension: trade, blue: 1, yellow: 3, orange: 2, red: 4}
  - {model: neural, level: industry, dimension: trade, blue: x, yellow: 2, orange: 3, red: 4}
  - {model: threshold, level: government, dimension: trade, indicator: MISSING,
     blue: 1, yellow: 2, orange: 3, red: 4}
  - {model: threshold, level: industry, dimension: trade, direction: down,
     blue: 1, yellow: 2, orange: 3, red: 4}
"""
    path = write(tmp_path, "bad.yaml", bad)
    with any_database.session() as session:
        with pytest.raises(CatalogValidationError) as caught:
            load_catalog(session, path)
    problems = "\n".join(caught.value.problems)
    expected = [
        "entities record 1 (SD): level 'goverment' is not one of",
        "entities record 2 (F1): cluster 'NOPE' is not in the file or the database",
        "entities record 3 (F2): region 'F1' is at the enterprise level, not government",
        "entities record 4: entity code 'F1' already given at entities record 2",
        "entities record 5 (bad code): unknown field 'colour'",
        "entities record 5 (bad code): code 'bad code' must be letters",
        "entities record 5 (bad code): name_zh is missing",
        "indicators record 1 (I1): dimension 'economy' is not one of",
        "indicators record 1 (I1): frequency 'W' is not one of",
        "indicators record 1 (I1): transform 'log' is not one of",
        "indicators record 1 (I1): core 'maybe' is not true or false",
        "thresholds record 1: blue, yellow, orange, red must be in order",
        "thresholds record 2: model 'neural' is not one of",
        "thresholds record 2: blue 'x' is not a number",
        "thresholds record 3: indicator 'MISSING' is not in the file or the database",
        "thresholds record 4: blue >= yellow >= orange >= red is needed for direction down",
    ]
    for fragment in expected:
        assert fragment in problems
    assert str(caught.value).startswith("bad.yaml: ")
    with any_database.session() as session:
        assert count(session, Entity) == count(session, Indicator) == count(session, Threshold) == 0


def test_a_threshold_must_match_its_indicators_level_and_dimension(any_database, tmp_path):
    text = CATALOG_YAML.replace(
        "- {model: threshold, level: enterprise, dimension: trade, indicator: ENT_EXPORTS,",
        "- {model: threshold, level: enterprise, dimension: economic, indicator: ENT_EXPORTS,",
    )
    path = write(tmp_path, "catalog.yaml", text)
    with any_database.session() as session, pytest.raises(CatalogValidationError) as caught:
        load_catalog(session, path)
    assert "is enterprise x trade, but the threshold is for enterprise x economic" in str(
        caught.value
    )


def test_a_parent_cycle_is_reported(any_database, tmp_path):
    text = """\
entities:
  - {code: A, name_zh: 甲, name_en: A, level: government, kind: city, parent: B}
  - {code: B, name_zh: 乙, name_en: B, level: government, kind: city, parent: A}
"""
    path = write(tmp_path, "cycle.yaml", text)
    with any_database.session() as session, pytest.raises(CatalogValidationError) as caught:
        load_catalog(session, path)
    assert len([p for p in caught.value.problems if "leads back" in p]) == 2


def test_an_unquoted_yaml_boolean_in_a_text_field_is_reported(any_database, tmp_path):
    text = "entities:\n  - {code: NO, name_zh: 挪威, name_en: Norway, level: government, kind: x}\n"
    path = write(tmp_path, "bool.yaml", text)
    with any_database.session() as session, pytest.raises(CatalogValidationError, match="quote it"):
        load_catalog(session, path)


def test_csv_files_are_recognised_by_their_header(any_database, tmp_path):
    entities = write(
        tmp_path,
        "entities.csv",
        "\ufeffcode,name_zh,name_en,level,kind,parent,region,cluster,synthetic\n"
        "F9,丙公司,Bing Co,enterprise,firm,,SD-QD,CL9,yes\n"
        "CL9,轨道交通装备集群,Rail transit,industry,cluster,,SD-QD,,\n"
        "SD-QD,青岛市,Qingdao,government,city,,,,\n",
    )
    indicators = write(
        tmp_path,
        "indicators.csv",
        "code,name_zh,name_en,dimension,level,unit,frequency,direction,transform,core\n"
        "IND_OUT,营业收入,Revenue,economic,industry,亿元,M,down,yoy,true\n",
    )
    thresholds = write(
        tmp_path,
        "thresholds.csv",
        "model,level,dimension,indicator,blue,yellow,orange,red,direction,clear,min_periods\n"
        "threshold,industry,economic,,-8,-15,-25,-35,,,\n"
        "threshold,industry,economic,IND_OUT,-5,-10,-20,-30,,-2,3\n",
    )
    with any_database.session() as session:
        assert load_catalog(session, entities).entities.created == 3
    # a later file may refer to what an earlier one loaded
    with any_database.session() as session:
        assert load_catalog(session, indicators).indicators.created == 1
        assert load_catalog(session, thresholds).thresholds.created == 2
    with any_database.session() as session:
        firm = session.scalars(select(Entity).where(Entity.code == "F9")).one()
        assert (firm.cluster.code, firm.region.code, firm.synthetic) == ("CL9", "SD-QD", True)
        assert session.scalars(select(Indicator.core)).one() is True
        override = session.scalars(select(Threshold).where(Threshold.indicator_id.is_not(None)))
        assert override.one().min_periods == 3


def test_a_csv_record_number_is_its_line(any_database, tmp_path):
    path = write(
        tmp_path,
        "entities.csv",
        "code,name_zh,name_en,level,kind\n\nOK,好,Fine,government,city\nX,坏,Bad,nowhere,city\n",
    )
    with any_database.session() as session, pytest.raises(CatalogValidationError) as caught:
        load_catalog(session, path)
    assert caught.value.problems == [
        "line 4 (X): level 'nowhere' is not one of government, industry, enterprise"
    ]


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("x.csv", "", "empty"),
        ("x.csv", "a,b,c\n1,2,3\n", "header not recognised"),
        ("x.csv", "code,name_zh,name_en,level,kind,colour\n", "unknown column 'colour'"),
        ("x.csv", "code,name_zh,level,kind\n", "missing column 'name_en'"),
        ("x.yaml", "entities: [\n", "not valid YAML"),
        ("x.yaml", "- a\n- b\n", "expected a mapping"),
        ("x.yaml", "entity:\n  - {code: A}\n", "unknown top-level key 'entity'"),
        ("x.json", "{}", "must end in .yaml"),
    ],
)
def test_unusable_files_raise_catalog_error(tmp_path, name, text, fragment):
    path = write(tmp_path, name, text)
    with pytest.raises(CatalogError, match=fragment):
        read_catalog(path)


def test_a_missing_file_raises_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match="no such file"):
        read_catalog(tmp_path / "nowhere.yaml")


def test_thousands_of_entities_load_in_a_few_statements(any_database, tmp_path):
    base = """\
entities:
  - {code: SD, name_zh: 山东省, name_en: Shandong, level: government, kind: province}
  - {code: CL1, name_zh: 集群, name_en: Cluster, level: industry, kind: cluster, region: SD}
"""
    with any_database.session() as session:
        load_catalog(session, write(tmp_path, "base.yaml", base))
    firms = CatalogData(
        entities=[
            RawRecord(
                f"firm {number}",
                {
                    "code": f"F{number:05d}",
                    "name_zh": f"公司{number}",
                    "name_en": f"Firm {number}",
                    "level": "enterprise",
                    "kind": "firm",
                    "region": "SD",
                    "cluster": "CL1",
                },
            )
            for number in range(2_500)
        ]
    )
    statements: list[str] = []

    def count_statement(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(any_database.engine, "before_cursor_execute", count_statement)
    try:
        with any_database.session() as session:
            report = apply_catalog(session, firms)
    finally:
        event.remove(any_database.engine, "before_cursor_execute", count_statement)
    assert report.entities.created == 2_500
    assert len(statements) < 40
    with any_database.session() as session:
        assert count(session, Entity) == 2_502
        linked = select(func.count()).where(Entity.cluster_id.is_not(None))
        assert session.scalar(linked) == 2_500


def test_the_report_reads_as_one_line(any_database, tmp_path):
    path = write(tmp_path, "catalog.yaml", CATALOG_YAML)
    with any_database.session() as session:
        report = load_catalog(session, path)
    assert str(report) == (
        "entities: 4 created, 0 updated, 0 unchanged; "
        "indicators: 2 created, 0 updated, 0 unchanged; "
        "thresholds: 3 created, 0 updated, 0 unchanged"
    )
