"""The catalog as data: entities, indicators and default thresholds read from YAML or CSV.

A YAML file has the top-level keys ``entities``, ``indicators`` and ``thresholds``, each
a list of mappings; a CSV file holds one kind of record, recognised by its header. The
format is documented in ``docs/catalog-format.md``.

Loading validates every record first (against ``monitor.vocabulary`` and the references
between records) and raises ``CatalogValidationError`` listing every problem with where
it is; nothing is written unless the whole file is good. Then records are created or
updated in place: entities and indicators by code, thresholds by (model, level,
dimension, indicator). References (parent, region, cluster, indicator) are codes that
may point to records anywhere in the same file or already in the database.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import Row, insert, select, update
from sqlalchemy.orm import Session

from models.errors import InvalidParameter
from models.levels import check_decision
from models.registry import build_detector
from models.rules import parse_steps
from monitor.chunks import GROUP_COLUMNS
from monitor.errors import CatalogError
from monitor.records import Entity, Indicator, Threshold, utc_now
from monitor.scoring import RESERVED_PARAMS, fixed_direction, grouped
from monitor.vocabulary import (
    LIBRARY_ONLY_MODELS,
    Dimension,
    Direction,
    Frequency,
    Level,
    ModelKind,
    Transform,
)

__all__ = [
    "CatalogData",
    "CatalogReport",
    "CatalogValidationError",
    "KindCounts",
    "RawRecord",
    "apply_catalog",
    "load_catalog",
    "read_catalog",
]

KINDS = ("entities", "indicators", "thresholds")
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
CODE_MAX, NAME_MAX, SHORT_MAX = 64, 200, 32
IN_CHUNK = 500  # codes per "IN (...)" query, well under every driver's parameter limit

COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "entities": (
        ("code", "name_zh", "name_en", "level", "kind"),
        ("parent", "region", "cluster", "synthetic"),
    ),
    "indicators": (
        ("code", "name_zh", "name_en", "dimension", "level", "unit", "frequency", "direction"),
        ("transform", "core", "description"),
    ),
    "thresholds": (
        ("model", "level", "dimension", "blue", "yellow", "orange", "red"),
        ("indicator", "direction", "clear", "min_periods", "steps", "confirm", "params"),
    ),
}
TRUE_WORDS = {"true", "yes", "y", "1", "t", "是", "真"}
FALSE_WORDS = {"false", "no", "n", "0", "f", "否", "假"}


class CatalogValidationError(CatalogError):
    """A catalog file has bad records; ``problems`` lists each one with where it is."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listing = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: {count} {noun}, nothing was loaded:\n{listing}")


@dataclass(frozen=True)
class RawRecord:
    """One record as read, with where it came from (``line 4``, ``entities record 2``)."""

    where: str
    values: Mapping[str, Any]


@dataclass
class CatalogData:
    """The records of a catalog file, by kind, not yet validated."""

    entities: list[RawRecord] = field(default_factory=list)
    indicators: list[RawRecord] = field(default_factory=list)
    thresholds: list[RawRecord] = field(default_factory=list)
    source: str = "catalog"


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class CatalogReport:
    """What loading a catalog did, per kind of record."""

    entities: KindCounts = field(default_factory=KindCounts)
    indicators: KindCounts = field(default_factory=KindCounts)
    thresholds: KindCounts = field(default_factory=KindCounts)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            kind: {"created": c.created, "updated": c.updated, "unchanged": c.unchanged}
            for kind, c in ((kind, getattr(self, kind)) for kind in KINDS)
        }

    def __str__(self) -> str:
        return "; ".join(
            f"{kind}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            for kind, c in self.as_dict().items()
        )


# ---------------------------------------------------------------------------- reading


def read_catalog(path: str | Path) -> CatalogData:
    """Read a YAML or CSV catalog file into raw records (no validation of the values)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return _read_yaml(text, source=path.name)
    if suffix == ".csv":
        return _read_csv(text, source=path.name)
    raise CatalogError(f"{path}: a catalog file must end in .yaml, .yml or .csv")


def _read_yaml(text: str, *, source: str) -> CatalogData:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise CatalogError(f"{source}: expected a mapping with entities, indicators, thresholds")
    problems = [
        f"unknown top-level key {key!r} (expected {', '.join(KINDS)})"
        for key in document
        if key not in KINDS
    ]
    data = CatalogData(source=source)
    for kind in KINDS:
        items = document.get(kind) or []
        if not isinstance(items, list):
            problems.append(f"{kind}: expected a list of records")
            continue
        records: list[RawRecord] = getattr(data, kind)
        for number, item in enumerate(items, start=1):
            where = f"{kind} record {number}"
            if not isinstance(item, dict):
                problems.append(f"{where}: expected a mapping of field names to values")
                continue
            records.append(RawRecord(where, {str(key): value for key, value in item.items()}))
    if problems:
        raise CatalogValidationError(source, problems)
    return data


def _header_key(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip().lower()


def _read_csv(text: str, *, source: str) -> CatalogData:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [_header_key(cell) for cell in row]
            break
    if header is None:
        raise CatalogError(f"{source}: the file is empty")
    kind = _csv_kind(set(header))
    if kind is None:
        raise CatalogError(
            f"{source}: header not recognised as entities (code, ..., kind), indicators "
            f"(code, ..., frequency, direction) or thresholds (model, ..., blue, ..., red)"
        )
    required, optional = COLUMNS[kind]
    problems = [f"header: missing column {name!r}" for name in required if name not in header]
    problems += [
        f"header: unknown column {name!r} for {kind}"
        for name in header
        if name not in required and name not in optional
    ]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    problems += [f"header: column {name!r} appears twice" for name in duplicates]
    if problems:
        raise CatalogValidationError(source, problems)
    data = CatalogData(source=source)
    records: list[RawRecord] = getattr(data, kind)
    line = reader.line_num
    for row in reader:
        first_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        where = f"line {first_line}"
        if len(row) != len(header):
            problems.append(f"{where}: expected {len(header)} fields, found {len(row)}")
            continue
        records.append(RawRecord(where, dict(zip(header, row, strict=True))))
    if problems:
        raise CatalogValidationError(source, problems)
    return data


def _csv_kind(header: set[str]) -> str | None:
    if {"model", "blue", "red"} <= header:
        return "thresholds"
    if {"frequency", "direction"} <= header:
        return "indicators"
    if "kind" in header:
        return "entities"
    return None


# ---------------------------------------------------------------------------- validating


@dataclass(frozen=True)
class EntitySpec:
    where: str
    code: str
    name_zh: str
    name_en: str
    level: Level
    kind: str
    parent: str | None
    region: str | None
    cluster: str | None
    synthetic: bool


@dataclass(frozen=True)
class IndicatorSpec:
    where: str
    code: str
    name_zh: str
    name_en: str
    dimension: Dimension
    level: Level
    unit: str
    frequency: Frequency
    direction: Direction
    transform: Transform
    core: bool
    description: str


@dataclass(frozen=True)
class ThresholdSpec:
    where: str
    model: ModelKind
    level: Level
    dimension: Dimension
    indicator: str | None
    direction: Direction | None
    blue: float
    yellow: float
    orange: float
    red: float
    clear: float | None
    min_periods: int
    steps: list[Any] | None = None
    confirm: dict[str, int] | None = None
    params: dict[str, Any] | None = None

    @property
    def cutoffs(self) -> tuple[float, float, float, float]:
        return (self.blue, self.yellow, self.orange, self.red)


E = TypeVar("E", bound=StrEnum)


class _Fields:
    """Typed access to one raw record's values, noting every problem instead of raising."""

    def __init__(self, record: RawRecord, kind: str, problems: list[str]) -> None:
        self.record = record
        self.problems = problems
        self.before = len(problems)
        required, optional = COLUMNS[kind]
        for name in record.values:
            if name not in required and name not in optional:
                self.problem(f"unknown field {name!r}")

    @property
    def ok(self) -> bool:
        return len(self.problems) == self.before

    def problem(self, message: str) -> None:
        code = self.record.values.get("code")
        label = f" ({code})" if isinstance(code, str) and code.strip() else ""
        self.problems.append(f"{self.record.where}{label}: {message}")

    def raw(self, name: str) -> Any:
        value = self.record.values.get(name)
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).strip()
            return value or None
        return value

    def text(self, name: str, *, required: bool = True, limit: int = NAME_MAX) -> str:
        value = self.raw(name)
        if value is None:
            if required:
                self.problem(f"{name} is missing")
            return ""
        if isinstance(value, bool):
            self.problem(f"{name} must be text, got {value!r} (quote it)")
            return ""
        if isinstance(value, (dict, list)):
            self.problem(f"{name} must be text, got a {type(value).__name__}")
            return ""
        text = str(value)
        if len(text) > limit:
            self.problem(f"{name} is longer than {limit} characters")
        return text

    def code(self, name: str, *, required: bool = True) -> str | None:
        text = self.text(name, required=required, limit=CODE_MAX)
        if text and not CODE_PATTERN.fullmatch(text):
            self.problem(
                f"{name} {text!r} must be letters, digits and _ . : - (starting with one "
                f"of the first two)"
            )
        return text or None

    def choice(self, name: str, enum: type[E], *, default: E | None = None) -> E | None:
        value = self.raw(name)
        if value is None:
            if default is None:
                self.problem(f"{name} is missing")
            return default
        text = str(value).lower() if enum is not Frequency else str(value).upper()
        try:
            return enum(text)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            self.problem(f"{name} {value!r} is not one of {allowed}")
            return default

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        word = str(value).lower()
        if word in TRUE_WORDS:
            return True
        if word not in FALSE_WORDS:
            self.problem(f"{name} {value!r} is not true or false")
        return False

    def number(self, name: str, *, required: bool = True) -> float | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.problem(f"{name} is missing")
            return None
        if isinstance(value, bool):
            self.problem(f"{name} must be a number, got {value!r}")
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.problem(f"{name} {value!r} is not a number")
            return None
        if not math.isfinite(number):
            self.problem(f"{name} must be a finite number")
            return None
        return number

    def integer(self, name: str, *, default: int, minimum: int) -> int:
        number = self.number(name, required=False)
        if number is None:
            return default
        if not number.is_integer() or number < minimum:
            self.problem(f"{name} must be a whole number of at least {minimum}")
            return default
        return int(number)


def _entity(record: RawRecord, problems: list[str]) -> EntitySpec | None:
    f = _Fields(record, "entities", problems)
    spec = EntitySpec(
        where=record.where,
        code=f.code("code") or "",
        name_zh=f.text("name_zh"),
        name_en=f.text("name_en"),
        level=f.choice("level", Level) or Level.GOVERNMENT,
        kind=f.text("kind", limit=SHORT_MAX),
        parent=f.code("parent", required=False),
        region=f.code("region", required=False),
        cluster=f.code("cluster", required=False),
        synthetic=f.boolean("synthetic"),
    )
    return spec if f.ok else None


def _indicator(record: RawRecord, problems: list[str]) -> IndicatorSpec | None:
    f = _Fields(record, "indicators", problems)
    spec = IndicatorSpec(
        where=record.where,
        code=f.code("code") or "",
        name_zh=f.text("name_zh"),
        name_en=f.text("name_en"),
        dimension=f.choice("dimension", Dimension) or Dimension.ECONOMIC,
        level=f.choice("level", Level) or Level.GOVERNMENT,
        unit=f.text("unit", required=False, limit=SHORT_MAX),
        frequency=f.choice("frequency", Frequency) or Frequency.MONTHLY,
        direction=f.choice("direction", Direction) or Direction.UP,
        transform=f.choice("transform", Transform, default=Transform.LEVEL) or Transform.LEVEL,
        core=f.boolean("core"),
        description=f.text("description", required=False, limit=10_000),
    )
    return spec if f.ok else None


def _threshold(record: RawRecord, problems: list[str]) -> ThresholdSpec | None:
    f = _Fields(record, "thresholds", problems)
    direction_given = f.raw("direction") is not None
    model = _model(f)
    spec = ThresholdSpec(
        where=record.where,
        model=model,
        level=f.choice("level", Level) or Level.GOVERNMENT,
        dimension=f.choice("dimension", Dimension) or Dimension.ECONOMIC,
        indicator=f.code("indicator", required=False),
        direction=f.choice("direction", Direction, default=Direction.UP)
        if direction_given
        else None,
        blue=f.number("blue") or 0.0,
        yellow=f.number("yellow") or 0.0,
        orange=f.number("orange") or 0.0,
        red=f.number("red") or 0.0,
        clear=f.number("clear", required=False),
        min_periods=f.integer("min_periods", default=1, minimum=1),
        steps=_rule_steps(f),
        confirm=_rule_confirm(f),
        params=_model_params(f, model),
    )
    if spec.confirm is not None:
        if f.raw("min_periods") is not None and spec.min_periods != spec.confirm["n"]:
            f.problem("give min_periods or confirm, not both")
        spec = replace(spec, min_periods=spec.confirm["n"])
    if spec.steps and spec.model != ModelKind.THRESHOLD:
        f.problem(f"steps apply to the threshold model only, not {spec.model}")
    if grouped(spec.model) and spec.level not in GROUP_COLUMNS:
        f.problem(
            f"{spec.model} compares each firm with the other firms of its cluster, so its "
            f"rows must be at level {', '.join(GROUP_COLUMNS)}, not {spec.level}"
        )
    fixed = fixed_direction(spec.model)
    if fixed is not None:
        # The score is oriented towards risk (see monitor.scoring): cut-offs rise.
        if spec.direction not in (None, fixed):
            f.problem(
                f"{spec.model} scores grow with risk in the indicator's direction, so its "
                f"cut-offs rise: direction must be {fixed} or empty, not {spec.direction}"
            )
        spec = replace(spec, direction=fixed)
    return spec if f.ok else None


def _model(f: _Fields) -> ModelKind:
    """The row's model; a library model the pipeline cannot run is refused with why."""
    raw = f.raw("model")
    if isinstance(raw, str) and raw.lower() in LIBRARY_ONLY_MODELS:
        name = raw.lower()
        f.problem(f"model {name!r} cannot be scored by the pipeline: {LIBRARY_ONLY_MODELS[name]}")
        return ModelKind.THRESHOLD
    return f.choice("model", ModelKind) or ModelKind.THRESHOLD


def _structured(f: _Fields, name: str) -> Any:
    """A list or mapping field: as given in YAML, or written as JSON/YAML text in CSV."""
    value = f.raw(name)
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            f.problem(f"{name} {value!r} is not valid JSON or YAML")
            return None
    return value


def _rule_steps(f: _Fields) -> list[Any] | None:
    """The rule steps, checked and in their shortest configuration form."""
    raw = _structured(f, "steps")
    if raw is None:
        return None
    try:
        steps = parse_steps(raw)
        build_detector(ModelKind.THRESHOLD, {"steps": [s.to_config() for s in steps]})
    except InvalidParameter as exc:
        f.problem(f"steps: {exc}")
        return None
    return [step.to_config() for step in steps] or None


def _model_params(f: _Fields, model: str) -> dict[str, Any] | None:
    """The model's own parameters, checked by building its detector with them."""
    raw = _structured(f, "params")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        f.problem(f"params must be a mapping of parameter names to values, got {raw!r}")
        return None
    reserved = sorted(str(name) for name in raw if name in RESERVED_PARAMS)
    if reserved:
        f.problem(
            f"params cannot set {', '.join(reserved)}: transform and frequency are the "
            f"indicator's, steps is a field of its own, groups are the firms' clusters"
        )
        return None
    structured = sorted(str(k) for k, v in raw.items() if isinstance(v, (dict, list)))
    if structured:
        f.problem(
            f"params {', '.join(structured)}: a value must be a number, true/false, text or "
            f"empty (an ensemble's members cannot be configured)"
        )
        return None
    try:
        build_detector(model, raw)
    except InvalidParameter as exc:
        f.problem(f"params: {exc}")
        return None
    return dict(raw) or None


def _rule_confirm(f: _Fields) -> dict[str, int] | None:
    """The ``{n, m}`` confirmation: colour once n of the last m periods breached."""
    raw = _structured(f, "confirm")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"n", "m"}:
        f.problem(f"confirm must be a mapping with n and m, got {raw!r}")
        return None
    values = {key: raw[key] for key in ("n", "m")}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
        f.problem(f"confirm n and m must be whole numbers, got {raw!r}")
        return None
    try:
        check_decision((0, 1, 2, 3), Direction.UP, min_periods=values["n"], of_last=values["m"])
    except InvalidParameter as exc:
        f.problem(f"confirm: {exc}")
        return None
    return values


@dataclass(frozen=True)
class _KnownEntity:
    id: int
    level: str
    parent: str | None


def _chunks(items: Sequence[str], size: int = IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stored_rows(session: Session, model: type[Any], codes: Iterable[str]) -> dict[str, Row[Any]]:
    """The stored rows (plain column values, not ORM objects) of ``model`` among ``codes``.

    Rows rather than objects: the bulk updates below bypass the session's identity
    map, which would otherwise keep stale copies.
    """
    wanted = sorted(set(codes))
    columns = list(model.__table__.columns)
    found: dict[str, Row[Any]] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(select(*columns).where(model.code.in_(chunk)))
        found.update((row.code, row) for row in rows)
    return found


def _codes_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({entity_id for entity_id in ids if entity_id is not None})
    codes: dict[int, str] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        rows = session.execute(select(Entity.id, Entity.code).where(Entity.id.in_(chunk)))
        codes.update((row.id, row.code) for row in rows)
    return codes


def _duplicates(specs: Sequence[Any], key: Callable[[Any], Any], label: str) -> list[str]:
    seen: dict[Any, str] = {}
    problems = []
    for spec in specs:
        value = key(spec)
        if value in seen:
            problems.append(f"{spec.where}: {label} {value!r} already given at {seen[value]}")
        else:
            seen[value] = spec.where
    return problems


def _check_cutoffs(spec: ThresholdSpec, direction: str | None) -> list[str]:
    cuts = spec.cutoffs
    rising = all(a <= b for a, b in zip(cuts, cuts[1:], strict=False))
    falling = all(a >= b for a, b in zip(cuts, cuts[1:], strict=False))
    problems = []
    if direction in (Direction.UP, Direction.BOTH) and not rising:
        problems.append("blue <= yellow <= orange <= red is needed for direction " + direction)
    elif direction == Direction.DOWN and not falling:
        problems.append("blue >= yellow >= orange >= red is needed for direction down")
    elif direction is None and not (rising or falling):
        problems.append("blue, yellow, orange, red must be in order (rising or falling)")
    if spec.clear is not None:
        beyond = (
            spec.clear > spec.blue if direction in (Direction.UP, Direction.BOTH) else False
        ) or (spec.clear < spec.blue if direction == Direction.DOWN else False)
        if beyond:
            problems.append("clear must lie on the safe side of blue")
    return problems


# ---------------------------------------------------------------------------- loading


def load_catalog(
    session: Session, path: str | Path, *, actor: str | None = None, now: datetime | None = None
) -> CatalogReport:
    """Validate a catalog file, then create or update its records in ``session``.

    Raises ``CatalogError`` (``CatalogValidationError`` with every problem listed) and
    writes nothing when any record is bad. The caller's session commits.
    """
    return apply_catalog(session, read_catalog(path), actor=actor, now=now)


def apply_catalog(
    session: Session, data: CatalogData, *, actor: str | None = None, now: datetime | None = None
) -> CatalogReport:
    """Validate ``data`` as a whole, then create or update its records in ``session``."""
    problems: list[str] = []
    entities = [s for r in data.entities if (s := _entity(r, problems)) is not None]
    indicators = [s for r in data.indicators if (s := _indicator(r, problems)) is not None]
    thresholds = [s for r in data.thresholds if (s := _threshold(r, problems)) is not None]
    problems += _duplicates(entities, lambda s: s.code, "entity code")
    problems += _duplicates(indicators, lambda s: s.code, "indicator code")
    problems += _duplicates(
        thresholds, lambda s: (s.model, s.level, s.dimension, s.indicator), "threshold scope"
    )

    referenced = {c for s in entities for c in (s.code, s.parent, s.region, s.cluster) if c}
    stored_entities = _stored_rows(session, Entity, referenced)
    problems += _check_entity_references(session, entities, stored_entities)

    indicator_codes = {s.code for s in indicators} | {
        s.indicator for s in thresholds if s.indicator
    }
    stored_indicators = _stored_rows(session, Indicator, indicator_codes)
    known_indicators = {
        code: (row.level, row.dimension, row.direction) for code, row in stored_indicators.items()
    }
    known_indicators.update((s.code, (s.level, s.dimension, s.direction)) for s in indicators)
    problems += _check_thresholds(thresholds, known_indicators)
    if problems:
        raise CatalogValidationError(data.source, problems)

    now = now or utc_now()
    report = CatalogReport()
    report.indicators = _write_indicators(session, indicators, stored_indicators)
    report.entities = _write_entities(session, entities, stored_entities)
    report.thresholds = _write_thresholds(session, thresholds, actor=actor, now=now)
    return report


def _check_entity_references(
    session: Session, specs: Sequence[EntitySpec], stored: Mapping[str, Row[Any]]
) -> list[str]:
    parents = _codes_by_id(session, (entity.parent_id for entity in stored.values()))
    known: dict[str, _KnownEntity] = {
        code: _KnownEntity(entity.id, entity.level, parents.get(entity.parent_id or 0))
        for code, entity in stored.items()
    }
    known.update((s.code, _KnownEntity(0, s.level, s.parent)) for s in specs)
    problems = []
    for spec in specs:
        where = f"{spec.where} ({spec.code})"
        for name, code, needed in (
            ("parent", spec.parent, None),
            ("region", spec.region, Level.GOVERNMENT),
            ("cluster", spec.cluster, Level.INDUSTRY),
        ):
            if code is None:
                continue
            target = known.get(code)
            if target is None:
                problems.append(f"{where}: {name} {code!r} is not in the file or the database")
            elif needed is not None and target.level != needed:
                problems.append(
                    f"{where}: {name} {code!r} is at the {target.level} level, not {needed}"
                )
        if spec.parent is not None and _parent_cycle(spec.code, known):
            problems.append(f"{where}: parent {spec.parent!r} leads back to {spec.code!r}")
    return problems


def _parent_cycle(code: str, known: Mapping[str, _KnownEntity]) -> bool:
    seen = {code}
    current = known[code].parent
    while current is not None and current in known:
        if current in seen:
            return True
        seen.add(current)
        current = known[current].parent
    return False


def _check_thresholds(
    specs: Sequence[ThresholdSpec], indicators: Mapping[str, tuple[str, str, str]]
) -> list[str]:
    problems = []
    for spec in specs:
        direction: str | None = spec.direction
        if spec.indicator is not None:
            found = indicators.get(spec.indicator)
            if found is None:
                problems.append(
                    f"{spec.where}: indicator {spec.indicator!r} is not in the file or the database"
                )
                continue
            level, dimension, indicator_direction = found
            if (level, dimension) != (spec.level, spec.dimension):
                problems.append(
                    f"{spec.where}: indicator {spec.indicator!r} is {level} x {dimension}, "
                    f"but the threshold is for {spec.level} x {spec.dimension}"
                )
            direction = direction or indicator_direction
        cutoff_problems = _check_cutoffs(spec, direction)
        problems += [f"{spec.where}: {problem}" for problem in cutoff_problems]
        if not cutoff_problems and direction is not None:
            problems += _check_decision(spec, direction)
    return problems


def _check_decision(spec: ThresholdSpec, direction: str) -> list[str]:
    """The row's cut-offs, clearing level and confirmation as the decision layer sees them."""
    try:
        check_decision(
            spec.cutoffs,
            direction,
            clear=spec.clear,
            min_periods=spec.min_periods,
            of_last=spec.confirm["m"] if spec.confirm else None,
        )
    except InvalidParameter as exc:
        return [f"{spec.where}: {exc}"]
    return []


def _diff_write(
    session: Session,
    model: type[Any],
    wanted: Sequence[dict[str, Any]],
    stored: Mapping[Any, Any],
    key: Callable[[dict[str, Any]], Any],
    stamp: Mapping[str, Any] | None = None,
) -> KindCounts:
    """Insert rows not stored yet, update those that differ, count the rest unchanged.

    ``stamp`` holds columns written along with a change but not compared (who, when).
    """
    counts = KindCounts()
    new_rows, changed_rows = [], []
    for row in wanted:
        existing = stored.get(key(row))
        if existing is None:
            new_rows.append({**row, **(stamp or {})})
            counts.created += 1
        elif any(getattr(existing, name) != value for name, value in row.items()):
            changed_rows.append({"id": existing.id, **row, **(stamp or {})})
            counts.updated += 1
        else:
            counts.unchanged += 1
    if new_rows:
        session.execute(insert(model), new_rows)
    if changed_rows:
        session.execute(update(model), changed_rows)
    return counts


INDICATOR_COLUMNS = tuple(f.name for f in fields(IndicatorSpec) if f.name != "where")


def _write_indicators(
    session: Session, specs: Sequence[IndicatorSpec], stored: Mapping[str, Row[Any]]
) -> KindCounts:
    wanted = [{name: _plain(getattr(s, name)) for name in INDICATOR_COLUMNS} for s in specs]
    return _diff_write(session, Indicator, wanted, stored, key=lambda row: row["code"])


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


def _write_entities(
    session: Session, specs: Sequence[EntitySpec], stored: Mapping[str, Row[Any]]
) -> KindCounts:
    """Two passes: insert new entities bare, then set every reference by id."""
    counts = KindCounts()
    plain = ("code", "name_zh", "name_en", "level", "kind", "synthetic")
    new_rows = [
        {name: _plain(getattr(s, name)) for name in plain} for s in specs if s.code not in stored
    ]
    counts.created = len(new_rows)
    if new_rows:
        session.execute(insert(Entity), new_rows)
    ids = _ids_by_code(
        session, {c for s in specs for c in (s.code, s.parent, s.region, s.cluster) if c}
    )
    changed_rows = []
    for spec in specs:
        row = {name: _plain(getattr(spec, name)) for name in plain}
        row.update(
            parent_id=ids.get(spec.parent) if spec.parent else None,
            region_id=ids.get(spec.region) if spec.region else None,
            cluster_id=ids.get(spec.cluster) if spec.cluster else None,
        )
        existing = stored.get(spec.code)
        if existing is None:
            if row["parent_id"] or row["region_id"] or row["cluster_id"]:
                changed_rows.append({"id": ids[spec.code], **row})
            continue
        if any(getattr(existing, name) != value for name, value in row.items()):
            changed_rows.append({"id": existing.id, **row})
            counts.updated += 1
        else:
            counts.unchanged += 1
    if changed_rows:
        session.execute(update(Entity), changed_rows)
    return counts


def _ids_by_code(session: Session, codes: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(codes))
    ids: dict[str, int] = {}
    for chunk in _chunks(wanted):
        rows = session.execute(select(Entity.code, Entity.id).where(Entity.code.in_(chunk)))
        ids.update((row.code, row.id) for row in rows)
    return ids


def _write_thresholds(
    session: Session, specs: Sequence[ThresholdSpec], *, actor: str | None, now: datetime
) -> KindCounts:
    indicator_ids = {
        row.code: row.id
        for row in session.execute(
            select(Indicator.code, Indicator.id).where(
                Indicator.code.in_(sorted({s.indicator for s in specs if s.indicator}))
            )
        )
    }
    stored = {
        (t.model, t.level, t.dimension, t.indicator_id): t
        for t in session.execute(select(*Threshold.__table__.columns))
    }
    names = ("model", "level", "dimension", "direction", "blue", "yellow", "orange", "red")
    wanted = []
    for spec in specs:
        row = {name: _plain(getattr(spec, name)) for name in names}
        row.update(
            indicator_id=indicator_ids[spec.indicator] if spec.indicator else None,
            clear=spec.clear,
            min_periods=spec.min_periods,
            steps=spec.steps,
            confirm=spec.confirm,
            params=spec.params,
        )
        wanted.append(row)

    def scope(row: dict[str, Any]) -> tuple[Any, ...]:
        return (row["model"], row["level"], row["dimension"], row["indicator_id"])

    stamp = {"updated_at": now, "updated_by": actor}
    return _diff_write(session, Threshold, wanted, stored, key=scope, stamp=stamp)
