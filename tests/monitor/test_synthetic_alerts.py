"""An alert fired by a synthetic value is synthetic, even on a real entity."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, select

from monitor.db import Database
from monitor.pipeline import score_indicators
from monitor.queries import alert_as_dict
from monitor.records import Alert, Entity, Indicator, Observation, Threshold

NOW = datetime(2024, 7, 1, tzinfo=UTC)
MONTHS = [date(2021 + m // 12, m % 12 + 1, 1) for m in range(36)]


def _city(code: str) -> Entity:
    return Entity(code=code, name_zh=code, name_en=code, level="government", kind="city")


def test_alerts_take_the_synthetic_flag_of_the_value_that_fired_them(
    any_database: Database,
) -> None:
    with any_database.session() as session:
        generated, observed = _city("SD-JN"), _city("SD-QD")  # real cities, both
        indicator = Indicator(
            code="IVA",
            name_zh="工业增加值",
            name_en="Industrial value added",
            dimension="economic",
            level="government",
            frequency="M",
            direction="down",
            transform="level",
        )
        session.add_all([generated, observed, indicator])
        session.add(
            Threshold(
                model="threshold",
                level="government",
                dimension="economic",
                blue=90.0,
                yellow=80.0,
                orange=70.0,
                red=60.0,
            )
        )
        session.flush()
        values = [100.0] * 30 + [65.0] * 6  # an orange fall in the last six months
        session.execute(
            insert(Observation),
            [
                {
                    "indicator_id": indicator.id,
                    "entity_id": city.id,
                    "period": month,
                    "value": value,
                    "synthetic": city is generated,
                }
                for city in (generated, observed)
                for month, value in zip(MONTHS, values, strict=True)
            ],
        )

    score_indicators(any_database, now=NOW)

    with any_database.session() as session:
        alerts = session.scalars(select(Alert).join(Entity).order_by(Entity.code)).all()
        flags = {(a.entity.code, a.model): alert_as_dict(a)["synthetic"] for a in alerts}
    assert flags == {("SD-JN", "threshold"): True, ("SD-QD", "threshold"): False}
