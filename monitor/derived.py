"""Derived indicators: structural measures the pipeline computes from input indicators.

An indicator whose ``derivation`` is set is not ingested but computed from another
indicator's observations, e.g. the paper's industrial structure similarity of each
city from its firms' paid-in capital::

    {"kind": "isi_mean", "input": "ENT_CAPITAL"}

The input's observations are grouped by the region and the sector of their entity
(``region`` and ``sector`` name the entity field holding each: ``region``, ``parent``,
``cluster`` or ``self``; by default a firm's region and its cluster or category) and
summed into region x sector amounts, one table per period. The kinds:

``isi_mean``
    each region's mean ISI with every other region (written for the region);
``isi_overall``
    the mean ISI over all pairs of regions (written for ``entity``, a code, or else
    for the regions' common parent, e.g. the province: the paper's provincial mean);
``herfindahl``
    each region's Herfindahl index of its sector shares (written for the region).

``cap`` (optional) bounds ISI where two structures are (nearly) identical; without
it such a pair has no ISI and is left out of the means (see ``models.structure``).

Each period is computed from that period's inputs alone, so only the periods from the
earliest changed input period on are recomputed. A derived value is synthetic when
any input it was computed from is: every input row of the period for the ISI kinds
(every region enters them), the region's own rows for ``herfindahl``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from models.checks import require_real
from models.errors import ModelError
from models.structure import amounts_from_long, herfindahl, isi_mean, isi_region_mean
from monitor.errors import CatalogError
from monitor.records import Entity, Indicator, Observation, utc_now

logger = logging.getLogger(__name__)

DERIVATION_KINDS: tuple[str, ...] = ("isi_mean", "isi_overall", "herfindahl")
GROUPINGS: dict[str, Any] = {
    "self": Entity.id,
    "region": Entity.region_id,
    "parent": Entity.parent_id,
    "cluster": Entity.cluster_id,
}
_KEYS = ("kind", "input", "region", "sector", "cap", "entity")
CHUNK = 1_000


class DerivationError(CatalogError):
    """An indicator's derivation cannot be read or its inputs cannot be found."""


@dataclass(frozen=True)
class Derivation:
    """A parsed ``Indicator.derivation``; see the module docstring."""

    kind: str
    input: str
    region: str = "region"
    sector: str = "cluster"
    cap: float | None = None
    entity: str | None = None


def parse_derivation(config: object, *, code: str = "indicator") -> Derivation:
    """Read and check a derivation mapping; ``DerivationError`` names what is wrong."""
    if not isinstance(config, Mapping):
        raise DerivationError(f"{code}: derivation must be a mapping, got {config!r}")
    unknown = sorted(str(key) for key in config if key not in _KEYS)
    if unknown:
        raise DerivationError(
            f"{code}: derivation has unknown key(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}"
        )
    kind, source = config.get("kind"), config.get("input")
    if kind not in DERIVATION_KINDS:
        raise DerivationError(
            f"{code}: derivation kind must be one of {', '.join(DERIVATION_KINDS)}, got {kind!r}"
        )
    if not isinstance(source, str) or not source:
        raise DerivationError(f"{code}: derivation needs the input indicator's code")
    region, sector = config.get("region", "region"), config.get("sector", "cluster")
    for name, value in (("region", region), ("sector", sector)):
        if value not in GROUPINGS:
            raise DerivationError(
                f"{code}: derivation {name} must be one of {', '.join(GROUPINGS)}, got {value!r}"
            )
    if region == sector:
        raise DerivationError(f"{code}: derivation region and sector must differ")
    cap = config.get("cap")
    if cap is not None:
        try:
            cap = require_real("cap", cap, minimum=0.0, strict_minimum=True)
        except ModelError as exc:
            raise DerivationError(f"{code}: derivation {exc}") from None
    entity = config.get("entity")
    if entity is not None and (kind != "isi_overall" or not isinstance(entity, str)):
        raise DerivationError(f"{code}: only isi_overall takes an entity code, got {entity!r}")
    return Derivation(kind, source, region, sector, cap, entity)


def derived_indicators(session: Session) -> list[tuple[Indicator, Derivation]]:
    """Every indicator with a derivation, parsed, in id order."""
    found = []
    for indicator in session.scalars(select(Indicator).order_by(Indicator.id)):
        if indicator.derivation:
            found.append((indicator, parse_derivation(indicator.derivation, code=indicator.code)))
    return found


def update_derived(
    session: Session,
    changed: Mapping[int, date] | None = None,
    *,
    job_run_id: int | None = None,
    now: datetime | None = None,
) -> dict[int, date]:
    """Recompute the derived indicators whose input changed (all of them without ``changed``).

    ``changed`` maps indicator ids to their earliest changed period, as ingestion
    reports it; the result has the same form for the derived indicators whose stored
    values changed, ready to be scored with the rest.
    """
    stamp = now or utc_now()
    result: dict[int, date] = {}
    for indicator, derivation in derived_indicators(session):
        source = session.scalar(select(Indicator).where(Indicator.code == derivation.input))
        if source is None:
            raise DerivationError(
                f"{indicator.code}: input indicator {derivation.input!r} does not exist"
            )
        if source.frequency != indicator.frequency:
            raise DerivationError(
                f"{indicator.code}: input {source.code} is {source.frequency}, "
                f"not {indicator.frequency}"
            )
        if changed is not None and source.id not in changed:
            continue
        since = changed[source.id] if changed is not None else None
        values, synthetic = derive(session, indicator, derivation, source.id, since)
        first = _write(session, indicator.id, values, synthetic, since, job_run_id, stamp)
        if first is not None:
            result[indicator.id] = first
            logger.info("derived indicator %s changed from %s", indicator.code, first)
    return result


def derive(
    session: Session,
    indicator: Indicator,
    derivation: Derivation,
    input_id: int,
    since: date | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The derived values and their synthetic flags, periods (from ``since``) x entity ids."""
    inputs = _inputs(session, derivation, input_id, since)
    if inputs.empty:
        empty = pd.DataFrame(index=pd.DatetimeIndex([], name="period"), dtype="float64")
        return empty, empty.astype(bool)
    amounts = amounts_from_long(inputs)
    periods = amounts.index
    if derivation.kind == "herfindahl":
        values = herfindahl(amounts)
        synthetic = inputs.groupby(["period", "region"])["synthetic"].any().unstack()
    else:
        if derivation.kind == "isi_mean":
            values = isi_region_mean(amounts, derivation.cap)
        else:
            target = _overall_entity(session, indicator, derivation, inputs["region"].unique())
            values = isi_mean(amounts, derivation.cap).to_frame(target)
        per_period = inputs.groupby("period")["synthetic"].any().reindex(periods)
        flags = np.repeat(per_period.to_numpy(dtype=bool)[:, None], values.shape[1], axis=1)
        synthetic = pd.DataFrame(flags, index=periods, columns=values.columns)
    synthetic = synthetic.reindex(index=values.index, columns=values.columns, fill_value=False)
    return values, synthetic.astype(bool)


def _inputs(
    session: Session, derivation: Derivation, input_id: int, since: date | None
) -> pd.DataFrame:
    """The input observations with their region and sector, rows lacking either dropped."""
    query = (
        select(
            Observation.period,
            GROUPINGS[derivation.region].label("region"),
            GROUPINGS[derivation.sector].label("sector"),
            Observation.value,
            Observation.synthetic,
        )
        .join(Entity, Entity.id == Observation.entity_id)
        .where(Observation.indicator_id == input_id)
        .order_by(Observation.period, Observation.entity_id)  # a fixed order of the sums
    )
    if since is not None:
        query = query.where(Observation.period >= since)
    rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["period", "region", "sector", "value", "synthetic"])
    frame = frame.dropna(subset=["region", "sector"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["region"] = frame["region"].astype("int64")
    frame["sector"] = frame["sector"].astype("int64")
    frame["synthetic"] = frame["synthetic"].astype(bool)
    return frame


def _overall_entity(
    session: Session, indicator: Indicator, derivation: Derivation, regions: np.ndarray
) -> int:
    """Where ``isi_overall`` values go: the configured entity, else the regions' parent."""
    if derivation.entity is not None:
        entity_id = session.scalar(select(Entity.id).where(Entity.code == derivation.entity))
        if entity_id is None:
            raise DerivationError(f"{indicator.code}: entity {derivation.entity!r} does not exist")
        return int(entity_id)
    parents = set(
        session.scalars(
            select(Entity.parent_id).where(Entity.id.in_([int(r) for r in regions])).distinct()
        )
    )
    if len(parents) != 1 or None in parents:
        raise DerivationError(
            f"{indicator.code}: the regions have no single common parent; "
            f"name the entity for isi_overall"
        )
    return int(parents.pop())


def _write(
    session: Session,
    indicator_id: int,
    values: pd.DataFrame,
    synthetic: pd.DataFrame,
    since: date | None,
    job_run_id: int | None,
    stamp: datetime,
) -> date | None:
    """Make the stored values from ``since`` on equal ``values``; the earliest change."""
    long = values.stack().dropna()
    flags = synthetic.stack().reindex(long.index, fill_value=False)
    new = pd.DataFrame(
        {
            "period": [p.date() for p in long.index.get_level_values(0)],
            "entity_id": long.index.get_level_values(1).astype("int64"),
            "value": long.to_numpy(dtype="float64"),
            "synthetic": flags.to_numpy(dtype=bool),
        }
    )
    query = select(
        Observation.id,
        Observation.period,
        Observation.entity_id,
        Observation.value,
        Observation.synthetic,
    ).where(Observation.indicator_id == indicator_id)
    if since is not None:
        query = query.where(Observation.period >= since)
    old = pd.DataFrame(
        session.execute(query).all(),
        columns=["id", "period", "entity_id", "old_value", "old_synthetic"],
    )
    merged = new.merge(old, on=["period", "entity_id"], how="outer", indicator=True)
    added = merged[merged["_merge"] == "left_only"]
    gone = merged[merged["_merge"] == "right_only"]
    both = merged[merged["_merge"] == "both"]
    edited = both[
        (both["value"] != both["old_value"])
        | (both["synthetic"].astype(bool) != both["old_synthetic"].astype(bool))
    ]
    common = {"indicator_id": indicator_id, "job_run_id": job_run_id, "updated_at": stamp}
    inserts = [
        {
            **common,
            "entity_id": int(row.entity_id),
            "period": row.period,
            "value": float(row.value),
            "synthetic": bool(row.synthetic),
        }
        for row in added.itertuples(index=False)
    ]
    updates = [
        {
            "id": int(row.id),
            "value": float(row.value),
            "synthetic": bool(row.synthetic),
            "job_run_id": job_run_id,
            "updated_at": stamp,
        }
        for row in edited.itertuples(index=False)
    ]
    doomed = [int(i) for i in gone["id"]]
    for start in range(0, len(inserts), CHUNK):
        session.execute(insert(Observation), inserts[start : start + CHUNK])
    for start in range(0, len(updates), CHUNK):
        session.execute(update(Observation), updates[start : start + CHUNK])
    for start in range(0, len(doomed), CHUNK):
        session.execute(
            delete(Observation).where(Observation.id.in_(doomed[start : start + CHUNK]))
        )
    touched = pd.concat([added["period"], edited["period"], gone["period"]])
    return min(touched) if len(touched) else None
