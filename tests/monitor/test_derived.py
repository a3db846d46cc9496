"""Derived structural indicators: ISI and concentration computed from firms' capital."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, update

from monitor.db import Database
from monitor.derived import DerivationError, parse_derivation, update_derived
from monitor.records import Entity, Indicator, Observation

NOW = datetime(2024, 7, 1, tzinfo=UTC)
LATER = datetime(2024, 8, 1, tzinfo=UTC)
Y2021, Y2022 = date(2021, 1, 1), date(2022, 1, 1)
# firm: (city, sector, capital 2021, capital 2022, synthetic in 2022)
FIRMS = {
    "F1": ("A", "X", 30.0, 10.0, False),
    "F2": ("A", "X", 30.0, 10.0, False),
    "F3": ("A", "Y", 40.0, 80.0, False),
    "F4": ("B", "X", 30.0, 50.0, False),
    "F5": ("B", "Y", 70.0, 50.0, True),
    "F6": ("C", "X", 50.0, 20.0, False),
    "F7": ("C", "Y", 50.0, 80.0, False),
}


def _indicator(code: str, level: str, derivation: dict[str, object] | None = None) -> Indicator:
    return Indicator(
        code=code,
        name_zh=code,
        name_en=code,
        dimension="economic",
        level=level,
        frequency="A",
        direction="up",
        derivation=derivation,
    )


@pytest.fixture
def structure(any_database: Database) -> Database:
    """Cities A, B, C of province SD; sectors X, Y; seven firms' paid-in capital.

    2021 shares: A (.6, .4), B (.3, .7), C (.5, .5) -- the hand example of the model
    tests. 2022: A (.2, .8), B (.5, .5), C (.2, .8): A and C identical.
    """
    with any_database.session() as session:
        province = Entity(
            code="SD", name_zh="山东", name_en="SD", level="government", kind="province"
        )
        session.add(province)
        session.flush()
        cities = {
            code: Entity(
                code=code,
                name_zh=code,
                name_en=code,
                level="government",
                kind="city",
                parent_id=province.id,
            )
            for code in "ABC"
        }
        sectors = {
            code: Entity(code=code, name_zh=code, name_en=code, level="industry", kind="category")
            for code in "XY"
        }
        session.add_all([*cities.values(), *sectors.values()])
        session.flush()
        capital = _indicator("ENT_CAPITAL", "enterprise")
        session.add_all(
            [
                capital,
                _indicator("GOV_ISI", "government", {"kind": "isi_mean", "input": "ENT_CAPITAL"}),
                _indicator(
                    "GOV_ISI_ALL", "government", {"kind": "isi_overall", "input": "ENT_CAPITAL"}
                ),
                _indicator("GOV_HHI", "government", {"kind": "herfindahl", "input": "ENT_CAPITAL"}),
            ]
        )
        stray = Entity(code="F9", name_zh="F9", name_en="F9", level="enterprise", kind="firm")
        session.add(stray)  # no region, no sector: left out
        session.flush()
        session.add(
            Observation(indicator_id=capital.id, entity_id=stray.id, period=Y2021, value=1e9)
        )
        for code, (city, sector, first, second, synthetic) in FIRMS.items():
            firm = Entity(
                code=code,
                name_zh=code,
                name_en=code,
                level="enterprise",
                kind="firm",
                region_id=cities[city].id,
                cluster_id=sectors[sector].id,
            )
            session.add(firm)
            session.flush()
            session.add_all(
                [
                    Observation(
                        indicator_id=capital.id, entity_id=firm.id, period=Y2021, value=first
                    ),
                    Observation(
                        indicator_id=capital.id,
                        entity_id=firm.id,
                        period=Y2022,
                        value=second,
                        synthetic=synthetic,
                    ),
                ]
            )
    return any_database


def _ids(session, model, codes):  # type: ignore[no-untyped-def]
    return {row.code: row.id for row in session.scalars(select(model).where(model.code.in_(codes)))}


def _stored(database: Database, code: str) -> dict[tuple[str, date], tuple[float, bool]]:
    with database.session() as session:
        rows = session.execute(
            select(Entity.code, Observation.period, Observation.value, Observation.synthetic)
            .join(Entity, Entity.id == Observation.entity_id)
            .join(Indicator, Indicator.id == Observation.indicator_id)
            .where(Indicator.code == code)
        ).all()
    return {(entity, period): (value, synthetic) for entity, period, value, synthetic in rows}


def test_derived_indicators_match_the_hand_computation(structure: Database) -> None:
    with structure.session() as session:
        changed = update_derived(session, now=NOW)
        derived = _ids(session, Indicator, ["GOV_ISI", "GOV_ISI_ALL", "GOV_HHI"])
    assert changed == {derived[code]: Y2021 for code in derived}

    isi = _stored(structure, "GOV_ISI")
    assert isi[("A", Y2021)][0] == pytest.approx(10 / 3)
    assert isi[("B", Y2021)][0] == pytest.approx(25 / 12)
    assert isi[("C", Y2021)][0] == pytest.approx(3.75)
    # 2022: A and C are identical (no ISI), A-B and B-C are 1 / .6 each
    assert {key: v for key, (v, _) in isi.items() if key[1] == Y2022} == pytest.approx(
        {("A", Y2022): 5 / 3, ("B", Y2022): 5 / 3, ("C", Y2022): 5 / 3}
    )
    overall = _stored(structure, "GOV_ISI_ALL")
    assert set(overall) == {("SD", Y2021), ("SD", Y2022)}
    assert overall[("SD", Y2021)][0] == pytest.approx(55 / 18)
    hhi = _stored(structure, "GOV_HHI")
    assert hhi[("A", Y2021)][0] == pytest.approx(0.52)
    assert hhi[("A", Y2022)][0] == pytest.approx(0.68)


def test_a_synthetic_input_makes_what_it_enters_synthetic(structure: Database) -> None:
    with structure.session() as session:
        update_derived(session, now=NOW)
    isi, hhi = _stored(structure, "GOV_ISI"), _stored(structure, "GOV_HHI")
    assert not any(flag for (_, period), (_, flag) in isi.items() if period == Y2021)
    # F5 (city B) is synthetic in 2022: every region's ISI uses B; only B's HHI does
    assert all(flag for (_, period), (_, flag) in isi.items() if period == Y2022)
    assert _stored(structure, "GOV_ISI_ALL")[("SD", Y2022)][1] is True
    assert {city: hhi[(city, Y2022)][1] for city in "ABC"} == {"A": False, "B": True, "C": False}


def test_a_second_run_over_the_same_inputs_changes_nothing(structure: Database) -> None:
    with structure.session() as session:
        update_derived(session, now=NOW)
    before = _stored(structure, "GOV_ISI")
    with structure.session() as session:
        assert update_derived(session, now=LATER) == {}
        stamps = set(
            session.scalars(
                select(Observation.updated_at)
                .join(Indicator, Indicator.id == Observation.indicator_id)
                .where(Indicator.code == "GOV_ISI")
            )
        )
    assert _stored(structure, "GOV_ISI") == before
    assert stamps == {NOW}


def test_a_changed_input_recomputes_only_from_its_period(structure: Database) -> None:
    with structure.session() as session:
        update_derived(session, now=NOW)
        ids = _ids(session, Indicator, ["ENT_CAPITAL", "GOV_ISI", "GOV_ISI_ALL", "GOV_HHI"])
        firm = _ids(session, Entity, ["F4"])["F4"]
        session.execute(
            update(Observation)
            .where(Observation.entity_id == firm, Observation.period == Y2022)
            .values(value=150.0)  # B becomes (.75, .25)
        )
    with structure.session() as session:
        assert update_derived(session, {ids["GOV_ISI"]: Y2021}, now=LATER) == {}  # not an input
        changed = update_derived(session, {ids["ENT_CAPITAL"]: Y2022}, now=LATER)
        stamps = dict(
            session.execute(
                select(Observation.period, func.max(Observation.updated_at))
                .where(Observation.indicator_id == ids["GOV_HHI"])
                .group_by(Observation.period)
            ).all()
        )
    assert changed == {ids[code]: Y2022 for code in ("GOV_ISI", "GOV_ISI_ALL", "GOV_HHI")}
    assert stamps == {Y2021: NOW, Y2022: LATER}
    hhi = _stored(structure, "GOV_HHI")
    assert hhi[("B", Y2022)][0] == pytest.approx(0.75**2 + 0.25**2)
    # A-B: |.2 - .75| + |.8 - .25| = 1.1; A-C identical: A's mean is 1 / 1.1
    assert _stored(structure, "GOV_ISI")[("A", Y2022)][0] == pytest.approx(1 / 1.1)


def test_a_capped_isi_replaces_the_missing_value_of_identical_structures(
    structure: Database,
) -> None:
    with structure.session() as session:
        indicator = session.scalar(select(Indicator).where(Indicator.code == "GOV_ISI"))
        assert indicator is not None
        indicator.derivation = {"kind": "isi_mean", "input": "ENT_CAPITAL", "cap": 100}
    with structure.session() as session:
        update_derived(session, now=NOW)
    assert _stored(structure, "GOV_ISI")[("A", Y2022)][0] == pytest.approx((5 / 3 + 100) / 2)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "gini", "input": "X"}, "kind"),
        ({"kind": "isi_mean"}, "input"),
        ({"kind": "isi_mean", "input": "X", "sector": "region"}, "differ"),
        ({"kind": "isi_mean", "input": "X", "region": "province"}, "region"),
        ({"kind": "isi_mean", "input": "X", "cap": -1}, "cap"),
        ({"kind": "isi_mean", "input": "X", "entity": "SD"}, "entity"),
        ({"kind": "isi_mean", "input": "X", "weights": "capital"}, "unknown"),
        ("isi_mean", "mapping"),
    ],
)
def test_a_bad_derivation_is_refused_with_what_is_wrong(config: object, message: str) -> None:
    with pytest.raises(DerivationError, match=message):
        parse_derivation(config, code="GOV_ISI")


def test_a_derivation_reads_its_defaults() -> None:
    derivation = parse_derivation({"kind": "herfindahl", "input": "ENT_CAPITAL"})
    assert (derivation.region, derivation.sector, derivation.cap) == ("region", "cluster", None)


@pytest.mark.parametrize(
    ("code", "config", "message"),
    [
        ("GOV_ISI", {"kind": "isi_mean", "input": "NOPE"}, "does not exist"),
        ("GOV_ISI_ALL", {"kind": "isi_overall", "input": "ENT_CAPITAL", "entity": "ZZ"}, "ZZ"),
        (
            "GOV_ISI_ALL",
            {"kind": "isi_overall", "input": "ENT_CAPITAL", "region": "self"},
            "parent",
        ),
    ],
)
def test_missing_inputs_or_targets_are_reported(
    structure: Database, code: str, config: dict[str, object], message: str
) -> None:
    with structure.session() as session:
        indicator = session.scalar(select(Indicator).where(Indicator.code == code))
        assert indicator is not None
        indicator.derivation = config
    with pytest.raises(DerivationError, match=message), structure.session() as session:
        update_derived(session, now=NOW)


def test_an_input_of_another_frequency_is_refused(structure: Database) -> None:
    with structure.session() as session:
        capital = session.scalar(select(Indicator).where(Indicator.code == "ENT_CAPITAL"))
        assert capital is not None
        capital.frequency = "Q"
    with pytest.raises(DerivationError, match="not A"), structure.session() as session:
        update_derived(session, now=NOW)
