"""Inhibition across levels: a higher-level warning mutes the lower-level notices it explains.

With the rule "government → enterprise, same dimension, same region", an open
government-level economic warning for Weifang mutes the notices of enterprise-level
economic warnings of Weifang's firms. The muted alerts stay open and visible; their
notices are recorded as ``inhibited``, naming the alert and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from alerts.errors import AlertError
from alerts.scopes import AlertScope
from alerts.states import WARNING_STATES
from monitor.records import Alert, InhibitRule
from monitor.vocabulary import Level, Severity


def add_inhibit_rule(
    session: Session,
    *,
    name: str,
    source_level: str,
    target_level: str,
    equal_dimension: bool = True,
    same_region: bool = True,
    source_min_severity: str = Severity.BLUE,
    actor: str | None = None,
) -> InhibitRule:
    """Add a rule after checking its levels and colour."""
    if source_level not in set(Level) or target_level not in set(Level):
        raise AlertError(
            "unknown level in %(source)s → %(target)s",
            source=repr(source_level),
            target=repr(target_level),
        )
    if source_level == target_level:
        raise AlertError("a rule must go from one level to another")
    if source_min_severity not in set(Severity):
        raise AlertError("unknown colour %(colour)s", colour=repr(source_min_severity))
    rule = InhibitRule(
        name=name.strip() or f"{source_level} → {target_level}",
        source_level=source_level,
        target_level=target_level,
        equal_dimension=equal_dimension,
        same_region=same_region,
        source_min_severity=source_min_severity,
        enabled=True,
        created_by=actor,
    )
    session.add(rule)
    session.flush()
    return rule


@dataclass(frozen=True)
class Inhibition:
    """Why a notice is muted: the open alert that explains it, under which rule."""

    rule: InhibitRule
    source: Alert

    @property
    def reason(self) -> str:
        source = self.source
        return (
            f"inhibited by alert {source.id} ({source.level} · {source.dimension} · "
            f"{source.severity}, {source.entity.code}) under rule {self.rule.id} "
            f"«{self.rule.name}»"
        )


class Inhibitor:
    """The enabled rules and the open warnings that may mute others, read at once.

    Everything is loaded up front, so one inhibitor serves a whole delivery pass
    after its session has closed.
    """

    def __init__(self, rules: list[InhibitRule], sources: dict[str, list[Alert]]) -> None:
        self.rules = rules
        self.sources = sources

    @classmethod
    def load(cls, session: Session) -> Inhibitor:
        rules = list(
            session.scalars(select(InhibitRule).where(InhibitRule.enabled).order_by(InhibitRule.id))
        )
        levels = {rule.source_level for rule in rules}
        sources: dict[str, list[Alert]] = {level: [] for level in levels}
        if levels:
            rows = session.scalars(
                select(Alert)
                .where(Alert.level.in_(levels), Alert.status.in_(WARNING_STATES))
                .options(joinedload(Alert.entity))
                .order_by(Alert.id)
            )
            for alert in rows:
                sources[alert.level].append(alert)
        return cls(rules, sources)

    def inhibition(self, scope: AlertScope) -> Inhibition | None:
        """The first open warning that mutes the alert of ``scope``, or None.

        "Same region" means the source alert's entity is a region (or cluster) the
        muted alert's entity lies in.
        """
        for rule in self.rules:
            if rule.target_level != scope.level:
                continue
            minimum = Severity(rule.source_min_severity).rank
            within = scope.region_ids | scope.cluster_ids
            for source in self.sources.get(rule.source_level, []):
                if source.id == scope.alert_id or Severity(source.severity).rank < minimum:
                    continue
                if rule.equal_dimension and source.dimension != scope.dimension:
                    continue
                if rule.same_region and source.entity_id not in within:
                    continue
                return Inhibition(rule=rule, source=source)
        return None
