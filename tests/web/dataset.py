"""A small monitored world for console and query tests, built with the ORM.

Entities at all three levels, one indicator per dimension, the real Weifang
new-firm counts of the paper with their threshold scores, six alerts (all five
dimensions, all three levels, both models, every status), stage rows and thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from monitor.records import (
    Alert,
    AlertEvent,
    Entity,
    Indicator,
    Observation,
    Score,
    StageRecord,
    Threshold,
    User,
)

PASSWORD = "correct horse battery"
# A cheap hash keeps logins fast in tests; monitor.users hashes real passwords with scrypt.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
WEIFANG_NEW_FIRMS = {2017: 900, 2018: 853, 2019: 840, 2020: 737, 2021: 955, 2022: 1020}


@dataclass(frozen=True)
class World:
    """Ids of the records tests refer to."""

    entities: dict[str, int]
    indicators: dict[str, int]
    alerts: dict[str, int]
    thresholds: dict[str, int]


def _entities(session: Session) -> dict[str, Entity]:
    rows = {
        "SD": Entity(
            code="SD", name_zh="山东省", name_en="Shandong", level="government", kind="province"
        ),
        "QD": Entity(
            code="QD", name_zh="青岛市", name_en="Qingdao", level="government", kind="city"
        ),
        "QD-HOME": Entity(
            code="QD-HOME",
            name_zh="青岛智能家电集群",
            name_en="Qingdao smart home appliances",
            level="industry",
            kind="cluster",
        ),
        "WF-POWER": Entity(
            code="WF-POWER",
            name_zh="潍坊动力装备集群",
            name_en="Weifang power equipment",
            level="industry",
            kind="cluster",
        ),
        "FIRM-1": Entity(
            code="FIRM-1",
            name_zh="示例企业甲",
            name_en="Example firm A",
            level="enterprise",
            kind="firm",
            synthetic=True,
        ),
    }
    session.add_all(rows.values())
    session.flush()
    rows["QD"].parent_id = rows["SD"].id
    return rows


def _indicators(session: Session) -> dict[str, Indicator]:
    def indicator(
        code: str, zh: str, en: str, dimension: str, level: str, **kw: object
    ) -> Indicator:
        return Indicator(code=code, name_zh=zh, name_en=en, dimension=dimension, level=level, **kw)

    rows = {
        "policy": indicator(
            "gov.policy_risk",
            "政策风险指数",
            "Policy risk index",
            "political",
            "government",
            frequency="M",
            direction="up",
            transform="level",
        ),
        "output": indicator(
            "gov.output",
            "工业增加值",
            "Industrial value added",
            "economic",
            "government",
            frequency="M",
            direction="down",
            transform="yoy",
            unit="亿元",
        ),
        "firms": indicator(
            "ind.new_firms",
            "新进入企业数",
            "New firms entering",
            "economic",
            "industry",
            frequency="A",
            direction="down",
            transform="yoy",
            core=True,
            unit="家",
        ),
        "exports": indicator(
            "ind.export_complexity",
            "出口复杂度",
            "Export complexity",
            "trade",
            "industry",
            frequency="A",
            direction="down",
            transform="yoy",
        ),
        "energy": indicator(
            "ind.energy_intensity",
            "能耗强度",
            "Energy intensity",
            "environmental",
            "industry",
            frequency="Q",
            direction="up",
            transform="level",
        ),
        "rd": indicator(
            "ent.rd_share",
            "研发投入占比",
            "R&D share",
            "technology",
            "enterprise",
            frequency="Q",
            direction="down",
            transform="level",
        ),
    }
    session.add_all(rows.values())
    session.flush()
    return rows


def _weifang_series(session: Session, entity: Entity, indicator: Indicator) -> None:
    previous = None
    for year, count in WEIFANG_NEW_FIRMS.items():
        period = date(year, 1, 1)
        session.add(
            Observation(indicator_id=indicator.id, entity_id=entity.id, period=period, value=count)
        )
        if previous is not None:
            change = round((count - previous) / previous * 100, 2)
            severity = "yellow" if change <= -10 else "blue" if change <= -5 else None
            session.add(
                Score(
                    indicator_id=indicator.id,
                    entity_id=entity.id,
                    model="threshold",
                    period=period,
                    score=change,
                    severity=severity,
                )
            )
        previous = count


def _thresholds(session: Session, indicators: dict[str, Indicator]) -> dict[str, Threshold]:
    rows = {
        "industry_economic": Threshold(
            model="threshold",
            level="industry",
            dimension="economic",
            blue=-5,
            yellow=-10,
            orange=-15,
            red=-20,
            min_periods=1,
        ),
        "industry_trade": Threshold(
            model="threshold",
            level="industry",
            dimension="trade",
            blue=-3,
            yellow=-6,
            orange=-9,
            red=-12,
            min_periods=1,
        ),
        "exports_override": Threshold(
            model="threshold",
            level="industry",
            dimension="trade",
            indicator_id=indicators["exports"].id,
            blue=-2,
            yellow=-4,
            orange=-8,
            red=-16,
            clear=-1,
        ),
        "government_political": Threshold(
            model="threshold",
            level="government",
            dimension="political",
            direction="up",
            blue=60,
            yellow=70,
            orange=80,
            red=90,
            min_periods=2,
        ),
        "robust_economic": Threshold(
            model="robust_z",
            level="government",
            dimension="economic",
            direction="both",
            blue=2,
            yellow=3,
            orange=4,
            red=5,
        ),
    }
    session.add_all(rows.values())
    session.flush()
    return rows


ALERT_SPECS = (
    # key, entity, indicator, model, severity, status, period, value, threshold
    (
        "firms",
        "WF-POWER",
        "firms",
        "threshold",
        "yellow",
        "firing",
        date(2020, 1, 1),
        -12.26,
        -10.0,
    ),
    ("policy", "QD", "policy", "threshold", "red", "acknowledged", date(2024, 5, 1), 93.0, 90.0),
    ("output", "SD", "output", "robust_z", "orange", "firing", date(2024, 4, 1), -4.4, -4.0),
    (
        "exports",
        "QD-HOME",
        "exports",
        "threshold",
        "blue",
        "resolved",
        date(2020, 1, 1),
        -2.2,
        -2.0,
    ),
    ("energy", "QD-HOME", "energy", "threshold", "yellow", "firing", date(2024, 1, 1), 1.4, 1.2),
    ("rd", "FIRM-1", "rd", "threshold", "orange", "firing", date(2024, 1, 1), 0.8, 1.0),
)


def _alerts(
    session: Session, entities: dict[str, Entity], indicators: dict[str, Indicator], now: datetime
) -> dict[str, Alert]:
    rows = {}
    for hours_ago, spec in zip(range(len(ALERT_SPECS), 0, -1), ALERT_SPECS, strict=True):
        key, entity, indicator, model, severity, status, period, value, threshold = spec
        opened_at = now - timedelta(hours=hours_ago)
        alert = Alert(
            fingerprint=f"{indicator}:{entity}:{model}",
            entity_id=entities[entity].id,
            indicator_id=indicators[indicator].id,
            model=model,
            level=entities[entity].level,
            dimension=indicators[indicator].dimension,
            severity=severity,
            worst_severity=severity,
            status=status,
            period=period,
            last_period=period,
            value=value,
            threshold=threshold,
            synthetic=entities[entity].synthetic,
            opened_at=opened_at,
            updated_at=opened_at,
        )
        alert.events.append(
            AlertEvent(
                kind="opened",
                at=opened_at,
                period=period,
                to_status="firing",
                to_severity=severity,
                value=value,
            )
        )
        if status == "acknowledged":
            alert.acknowledged_at, alert.acknowledged_by = now, "otto"
            alert.events.append(
                AlertEvent(
                    kind="acknowledged",
                    at=now,
                    from_status="firing",
                    to_status=status,
                    actor="otto",
                    note="called the city office",
                )
            )
        if status == "resolved":
            alert.resolved_at, alert.resolved_period = now, date(2021, 1, 1)
            alert.events.append(
                AlertEvent(
                    kind="resolved",
                    at=now,
                    period=date(2021, 1, 1),
                    from_status="firing",
                    to_status=status,
                )
            )
        session.add(alert)
        rows[key] = alert
    session.flush()
    return rows


STAGE_RUNS = {
    "SD": ["preparation", "absorption", "adaptation", "recovery"],
    "QD": ["absorption", "preparation", "absorption", "absorption"],
    "WF-POWER": ["absorption", "adaptation", "recovery", "recovery"],
    "QD-HOME": ["preparation", "preparation", "preparation", "preparation"],
    "FIRM-1": ["absorption", "absorption", "absorption", "absorption"],
}
STAGE_YEARS = (2019, 2020, 2021, 2022)


def _stages(session: Session, entities: dict[str, Entity], indicator: Indicator) -> None:
    for code, stages in STAGE_RUNS.items():
        for year, stage in zip(STAGE_YEARS, stages, strict=True):
            session.add(
                StageRecord(
                    entity_id=entities[code].id,
                    period=date(year, 1, 1),
                    stage=stage,
                    indicator_id=indicator.id,
                )
            )


def build_world(session: Session, now: datetime) -> World:
    """Fill an empty, migrated database and return the ids tests need."""
    entities = _entities(session)
    indicators = _indicators(session)
    _weifang_series(session, entities["WF-POWER"], indicators["firms"])
    thresholds = _thresholds(session, indicators)
    alerts = _alerts(session, entities, indicators, now)
    _stages(session, entities, indicators["firms"])
    for name, role in (("vera", "viewer"), ("otto", "operator"), ("ada", "admin")):
        session.add(User(username=name, password_hash=PASSWORD_HASH, role=role))
    session.flush()
    return World(
        entities={code: row.id for code, row in entities.items()},
        indicators={key: row.id for key, row in indicators.items()},
        alerts={key: row.id for key, row in alerts.items()},
        thresholds={key: row.id for key, row in thresholds.items()},
    )
