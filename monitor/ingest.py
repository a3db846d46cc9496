"""Ingest observations from a CSV file or a data frame.

Forms, recognised by the header (case, spaces and full-width characters do not matter):

* long: ``indicator, entity, period, value`` (or ``指标, 主体, 期间, 数值``), in any order;
  other columns are kept in the rejected rows' ``raw`` but otherwise ignored;
* wide by period: ``indicator, entity`` and one column per period (``2024-01, ...``);
* wide by indicator: ``entity, period`` and one column per indicator code.

In the wide forms an empty cell means "no value" and is skipped; every other cell is
one row of the report. Each row is accepted or rejected with a reason (see
``RejectReason``). The accepted rows are upserted in one transaction together with
the job run and the rejected rows, so a failure leaves nothing half-written. A file
that cannot be used at all raises ``IngestError`` and leaves a failed job run.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.db import Database
from monitor.errors import IngestError
from monitor.periods import PeriodFrequencyError, looks_like_period, parse_periods
from monitor.records import Entity, Indicator, JobRun, Observation, RejectedRow, Source, utc_now
from monitor.vocabulary import RunStatus, SourceKind

__all__ = ["IngestReport", "RejectReason", "ingest_file", "ingest_frame"]

logger = logging.getLogger(__name__)

JOB = "ingest"
UPSERT_CHUNK = 5_000
IN_CHUNK = 500
BINARY_PROBE = 8_192
ALIASES = {
    "indicator": {"indicator", "indicator_code", "指标", "指标代码"},
    "entity": {"entity", "entity_code", "主体", "主体代码"},
    "period": {"period", "期间", "时期"},
    "value": {"value", "数值", "值"},
}
MISSING_MARKERS = {"", "-", "--", "—", "——", "..", "...", "…", "na", "n/a", "nan", "null", "none"}
TRUE_WORDS = {"true", "t", "yes", "y", "1", "是"}
# Digits grouped by thousands ("1,234.5", "22 042"); a lone comma ("1,5") stays an error.
GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?")


class RejectReason(StrEnum):
    """Why a row was not stored; a stored reason starts with one of these."""

    MALFORMED = "malformed row"
    UNKNOWN_INDICATOR = "unknown indicator"
    UNKNOWN_ENTITY = "unknown entity"
    LEVEL_MISMATCH = "indicator level differs from entity level"
    BAD_PERIOD = "unparseable period"
    WRONG_FREQUENCY = "period not valid for the indicator's frequency"
    MISSING_VALUE = "missing value"
    NOT_NUMERIC = "non-numeric value"
    DUPLICATE = "duplicate in the file"


@dataclass
class IngestReport:
    """What one ingestion did. ``read == accepted + rejected`` always holds."""

    job_run_id: int
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[int, date] = field(default_factory=dict)
    source: str = ""
    file_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``clusterwatch ingest --json`` prints)."""
        return {
            "job_run_id": self.job_run_id,
            "source": self.source,
            "file": self.file_name,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_rows": self.rejected_rows,
            "changed": {str(key): value.isoformat() for key, value in self.changed.items()},
        }


@dataclass
class _Cells:
    """Input rows in long form, as strings (or already numbers), with their row numbers."""

    frame: pd.DataFrame  # indicator, entity, period, value[, synthetic]
    rows: np.ndarray  # row (line) number of each cell
    raw: Callable[[int], dict[str, str]]  # the raw row of cell i, for rejections
    malformed: list[tuple[int, dict[str, str], str]] = field(default_factory=list)


# ---------------------------------------------------------------------------- entry points


def ingest_file(
    database: Database,
    path: str | Path,
    *,
    source_name: str,
    synthetic: bool = False,
    now: datetime | None = None,
) -> IngestReport:
    """Ingest a CSV file in long or wide form; see the module docstring."""
    path = Path(path)
    started = now or utc_now()
    source_id = _ensure_source(database, source_name, kind=SourceKind.CSV, location=str(path))
    try:
        cells = _read_csv_file(path)
    except IngestError as exc:
        _record_failure(database, source_id, path.name, str(exc), started, now)
        raise
    return _ingest(
        database,
        cells,
        source_id=source_id,
        source_name=source_name,
        file_name=path.name,
        synthetic=synthetic,
        started=started,
        now=now,
    )


def ingest_frame(
    database: Database,
    frame: pd.DataFrame,
    *,
    source_name: str,
    file_name: str | None = None,
    synthetic: bool = False,
    now: datetime | None = None,
    source_kind: SourceKind = SourceKind.CSV,
) -> IngestReport:
    """Ingest a long frame (indicator, entity, period, value[, synthetic]).

    Values may be texts as read from a file or numbers; periods texts or dates. A
    boolean ``synthetic`` column, when present, overrides ``synthetic`` per row. Row
    numbers in the report are those the rows would have in a CSV file with a header.
    """
    started = now or utc_now()
    source_id = _ensure_source(database, source_name, kind=source_kind, location="")
    missing = [name for name in ALIASES if name not in frame.columns]
    if missing or frame.empty:
        error = f"frame lacks columns {', '.join(missing)}" if missing else "frame has no rows"
        _record_failure(database, source_id, file_name, error, started, now)
        raise IngestError(error)
    columns = [*ALIASES, *(["synthetic"] if "synthetic" in frame.columns else [])]
    data = frame[columns].reset_index(drop=True)

    def raw(position: int) -> dict[str, str]:
        return {name: _text(data.at[position, name]) for name in ALIASES}

    cells = _Cells(data, np.arange(2, len(data) + 2), raw)
    return _ingest(
        database,
        cells,
        source_id=source_id,
        source_name=source_name,
        file_name=file_name,
        synthetic=synthetic,
        started=started,
        now=now,
    )


# ---------------------------------------------------------------------------- reading files


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IngestError(f"{path.name}: no such file") from None
    except IsADirectoryError:
        raise IngestError(f"{path.name}: is a folder, not a file") from None
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read: {exc.strerror}") from None
    if not data.strip():
        raise IngestError(f"{path.name}: the file is empty")
    if b"\x00" in data[:BINARY_PROBE]:
        raise IngestError(f"{path.name}: not a text file (binary content)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(f"{path.name}: not UTF-8 (or GB18030) text")


def _header_key(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip().lower()


def _canonical(header: Sequence[str]) -> dict[str, int]:
    """Position of each known column (indicator, entity, period, value) in the header."""
    found: dict[str, int] = {}
    for position, cell in enumerate(header):
        key = _header_key(cell)
        for name, aliases in ALIASES.items():
            if key in aliases and name not in found:
                found[name] = position
    return found


def _rows(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on, trailing empty cells dropped.

    Spreadsheets often save a few empty columns after the last one; they carry nothing.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 0
    try:
        for record in reader:
            first, line = line + 1, reader.line_num
            while record and not record[-1].strip():
                record.pop()
            if record:
                yield first, record
    except csv.Error as exc:
        raise IngestError(
            f"{name}: not a readable CSV file (line {reader.line_num}: {exc})"
        ) from None


def _read_csv_file(path: Path) -> _Cells:
    records = _rows(_decode(path), path.name)
    try:
        header_line, header = next(records)
    except StopIteration:
        raise IngestError(f"{path.name}: the file is empty") from None
    keys = [_header_key(cell) for cell in header]
    repeated = sorted({key for key in keys if key and keys.count(key) > 1})
    if repeated:
        raise IngestError(f"{path.name}: columns appear twice in the header: {repeated}")
    known = _canonical(header)
    body = list(records)
    if set(known) >= set(ALIASES):
        cells = _long_cells(header, known, body)
    elif {"indicator", "entity"} <= set(known) and not {"period", "value"} & set(known):
        cells = _wide_cells(header, known, body, path.name, across="period")
    elif {"entity", "period"} <= set(known) and not {"indicator", "value"} & set(known):
        cells = _wide_cells(header, known, body, path.name, across="indicator")
    else:
        raise IngestError(
            f"{path.name}: header not recognised (line {header_line}); expected "
            f"'indicator,entity,period,value', 'indicator,entity,<periods...>' or "
            f"'entity,period,<indicator codes...>'"
        )
    if not len(cells.frame) and not cells.malformed:
        raise IngestError(f"{path.name}: no data rows below the header")
    return cells


def _raw_row(header: Sequence[str], record: Sequence[str]) -> dict[str, str]:
    raw = {name.strip() or f"column {i + 1}": "" for i, name in enumerate(header)}
    for i, cell in enumerate(record):
        key = header[i].strip() if i < len(header) else ""
        raw[key or f"column {i + 1}"] = cell
    return raw


def _padded(record: list[str], width: int) -> list[str]:
    """A record with the empty cells a spreadsheet left off its end put back."""
    return record if len(record) == width else record + [""] * (width - len(record))


def _malformed(
    header: Sequence[str], line: int, record: Sequence[str]
) -> tuple[int, dict[str, str], str]:
    reason = f"{RejectReason.MALFORMED}: {len(record)} fields, but the header has {len(header)}"
    return line, _raw_row(header, record), reason


def _long_cells(
    header: Sequence[str], known: dict[str, int], body: list[tuple[int, list[str]]]
) -> _Cells:
    width = len(header)
    good = [(line, _padded(record, width)) for line, record in body if len(record) <= width]
    malformed = [_malformed(header, line, rec) for line, rec in body if len(rec) > width]
    frame = pd.DataFrame(
        {name: [record[known[name]] for _, record in good] for name in ALIASES}, dtype=object
    )

    def raw(position: int) -> dict[str, str]:
        return _raw_row(header, good[position][1])

    rows = np.fromiter((line for line, _ in good), dtype=np.int64, count=len(good))
    return _Cells(frame, rows, raw, malformed)


def _wide_cells(
    header: Sequence[str],
    known: dict[str, int],
    body: list[tuple[int, list[str]]],
    name: str,
    *,
    across: str,
) -> _Cells:
    """Unpivot a wide file: one cell per (row, column) with a non-empty value."""
    fixed = set(known.values())
    spread = [(i, header[i].strip()) for i in range(len(header)) if i not in fixed]
    if not spread:
        raise IngestError(f"{name}: no {across} columns besides {', '.join(known)}")
    if across == "period":
        bad = [label for _, label in spread if not looks_like_period(label)]
        if bad:
            raise IngestError(f"{name}: columns are neither known fields nor periods: {bad}")
    other = "indicator" if across == "period" else "period"
    width = len(header)
    columns: dict[str, list[str]] = {key: [] for key in ALIASES}
    lines: list[int] = []
    malformed = []
    for line, found in body:
        if len(found) > width:
            malformed.append(_malformed(header, line, found))
            continue
        record = _padded(found, width)
        for position, label in spread:
            value = record[position]
            if not value.strip():
                continue
            columns["entity"].append(record[known["entity"]])
            columns[other].append(record[known[other]])
            columns[across].append(label)
            columns["value"].append(value)
            lines.append(line)
    frame = pd.DataFrame(columns, dtype=object)

    def raw(position: int) -> dict[str, str]:
        return {key: frame.at[position, key] for key in ALIASES}

    return _Cells(frame, np.asarray(lines, dtype=np.int64), raw, malformed)


# ---------------------------------------------------------------------------- validating


@dataclass
class _Checked:
    """Each cell's ids, period and value, and its rejection reason if any."""

    indicator_id: np.ndarray  # int64, -1 when unknown
    entity_id: np.ndarray
    period: np.ndarray  # object: date or None
    value: np.ndarray  # float64
    synthetic: np.ndarray  # bool
    reason: np.ndarray  # object: str or None


def _catalog_maps(
    session: Session, entity_codes: Sequence[str]
) -> tuple[dict[str, tuple[int, str, str]], dict[str, tuple[int, str, str]]]:
    """(id, level, frequency) of every indicator; (id, level, "") of the named entities."""
    indicators = {
        row.code: (row.id, row.level, row.frequency)
        for row in session.execute(
            select(Indicator.code, Indicator.id, Indicator.level, Indicator.frequency)
        )
    }
    entities: dict[str, tuple[int, str, str]] = {}
    for start in range(0, len(entity_codes), IN_CHUNK):
        chunk = entity_codes[start : start + IN_CHUNK]
        rows = session.execute(
            select(Entity.code, Entity.id, Entity.level).where(Entity.code.in_(chunk))
        )
        entities.update((row.code, (row.id, row.level, "")) for row in rows)
    return indicators, entities


@dataclass
class _Codes:
    """A column of codes, factorised: each row's position in ``unique`` (cleaned texts)."""

    positions: np.ndarray
    unique: np.ndarray  # object; the last element is "" for missing codes

    @classmethod
    def of(cls, column: pd.Series) -> _Codes:
        positions, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
        cleaned = [_text(value).strip() for value in uniques] + [""]
        return cls(positions, np.array(cleaned, dtype=object))

    def texts(self) -> np.ndarray:
        return self.unique[self.positions]

    def lookup(self, table: Mapping[str, tuple[int, str, str]]) -> tuple[np.ndarray, ...]:
        """Per row: id (-1 when unknown), level and frequency from ``table``."""
        found = [table.get(code, (-1, None, None)) for code in self.unique.tolist()]
        ids = np.array([item[0] for item in found], dtype=np.int64)
        levels = np.array([item[1] for item in found], dtype=object)
        extras = np.array([item[2] for item in found], dtype=object)
        return ids[self.positions], levels[self.positions], extras[self.positions]


def _values(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numbers, missing, not numeric) for a column of texts or numbers.

    Plain numbers are parsed in one vectorised pass; only what fails is looked at
    again (full-width digits, thousands separators, missing-value markers).
    """
    dtype = column.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(numbers)
        return numbers, missing, np.isinf(numbers)
    raw = column.to_numpy(dtype=object)
    numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan, copy=True
    )
    missing = np.zeros(len(raw), dtype=bool)
    retry = np.flatnonzero(np.isnan(numbers))
    if len(retry):
        texts = [unicodedata.normalize("NFKC", _text(value)).strip() for value in raw[retry]]
        marked = np.array([text.lower() in MISSING_MARKERS for text in texts], dtype=bool)
        cleaned = pd.Series([_ungrouped(text) for text in texts], dtype=object)
        parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        numbers[retry] = np.where(marked, np.nan, parsed)
        missing[retry] = marked
    bad = (np.isnan(numbers) | np.isinf(numbers)) & ~missing
    return numbers, missing, bad


def _ungrouped(text: str) -> str:
    """``text`` without its thousands separators, if it is a grouped number."""
    if GROUPED_NUMBER.fullmatch(text):
        return text.replace(",", "").replace(" ", "")
    return text


def _check(session: Session, cells: _Cells, synthetic: bool) -> _Checked:
    frame = cells.frame
    size = len(frame)
    indicator_codes = _Codes.of(frame["indicator"])
    entity_codes = _Codes.of(frame["entity"])
    indicators, entities = _catalog_maps(session, sorted(set(entity_codes.unique.tolist())))
    reason = np.full(size, None, dtype=object)
    indicator_text = indicator_codes.texts()
    entity_text = entity_codes.texts()

    def reject(
        mask: np.ndarray,
        category: RejectReason,
        detail: Callable[[np.ndarray], list[str]] | None = None,
    ) -> None:
        """Give rows in ``mask`` that have no reason yet this one (the first one wins)."""
        positions = np.flatnonzero(mask & pd.isna(reason))
        if not len(positions):
            return
        if detail is None:
            reason[positions] = str(category)
        else:
            reason[positions] = [f"{category}: {text}" for text in detail(positions)]

    def quoted(texts: np.ndarray) -> Callable[[np.ndarray], list[str]]:
        return lambda positions: [repr(text) for text in texts[positions]]

    indicator_id, indicator_level, frequency = indicator_codes.lookup(indicators)
    entity_id, entity_level, _ = entity_codes.lookup(entities)
    known_indicator = indicator_id >= 0
    known_entity = entity_id >= 0
    reject(~known_indicator, RejectReason.UNKNOWN_INDICATOR, quoted(indicator_text))
    reject(~known_entity, RejectReason.UNKNOWN_ENTITY, quoted(entity_text))

    def level_detail(positions: np.ndarray) -> list[str]:
        return [
            f"{indicator_text[i]!r} is for the {indicator_level[i]} level but "
            f"{entity_text[i]!r} is at the {entity_level[i]} level"
            for i in positions.tolist()
        ]

    mismatch = known_indicator & known_entity & (indicator_level != entity_level)
    reject(mismatch, RejectReason.LEVEL_MISMATCH, level_detail)

    periods, errors = parse_periods(frame["period"], pd.Series(frequency, dtype=object))
    error_array = errors.to_numpy(dtype=object)
    period_error = errors.notna().to_numpy() & known_indicator
    wrong_frequency = period_error & np.array(
        [isinstance(error, PeriodFrequencyError) for error in error_array], dtype=bool
    )

    def error_detail(positions: np.ndarray) -> list[str]:
        return [str(error) for error in error_array[positions]]

    reject(wrong_frequency, RejectReason.WRONG_FREQUENCY, error_detail)
    reject(period_error & ~wrong_frequency, RejectReason.BAD_PERIOD, error_detail)

    value, missing, not_numeric = _values(frame["value"])
    raw_values = frame["value"].to_numpy(dtype=object)
    reject(missing, RejectReason.MISSING_VALUE)
    reject(
        not_numeric,
        RejectReason.NOT_NUMERIC,
        lambda positions: [repr(_text(v)) for v in raw_values[positions]],
    )

    period_array = periods.to_numpy(dtype=object)
    ordinal = _ordinals(period_array)
    valid = pd.isna(reason)
    keys = pd.DataFrame({"i": indicator_id, "e": entity_id, "p": ordinal})[valid]
    repeated = keys.duplicated(keep="first").to_numpy()
    if repeated.any():
        first_row = (
            pd.Series(cells.rows[valid])
            .groupby([keys["i"].to_numpy(), keys["e"].to_numpy(), keys["p"].to_numpy()])
            .transform("first")
        )
        first = np.zeros(size, dtype=np.int64)
        first[valid] = first_row.to_numpy()
        duplicate = np.zeros(size, dtype=bool)
        duplicate[valid] = repeated
        reject(
            duplicate,
            RejectReason.DUPLICATE,
            lambda positions: [f"first given at row {row}" for row in first[positions]],
        )
    return _Checked(
        indicator_id, entity_id, period_array, value, _synthetic(frame, synthetic), reason
    )


def _synthetic(frame: pd.DataFrame, default: bool) -> np.ndarray:
    """Each row's synthetic flag: the ``synthetic`` column where given, else ``default``."""
    if "synthetic" not in frame.columns:
        return np.full(len(frame), default, dtype=bool)
    column = frame["synthetic"]
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=bool)
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    flags = np.array([_flag(value, default) for value in uniques] + [default], dtype=bool)
    return flags[codes]


def _flag(value: Any, default: bool) -> bool:
    if isinstance(value, str):
        word = value.strip().lower()
        return default if not word else word in TRUE_WORDS
    return bool(value)


def _ordinals(periods: np.ndarray) -> np.ndarray:
    """Day ordinals of an object array of dates (-1 where there is none)."""
    codes, uniques = pd.factorize(pd.Series(periods, dtype=object), use_na_sentinel=True)
    table = np.array([day.toordinal() for day in uniques] + [-1], dtype=np.int64)
    return table[codes]


# ---------------------------------------------------------------------------- storing


def _ensure_source(database: Database, name: str, *, kind: SourceKind, location: str) -> int:
    """The id of source ``name``, created with ``kind`` and ``location`` if unknown."""
    with database.session() as session:
        found = session.scalar(select(Source.id).where(Source.name == name))
        if found is not None:
            return found
    try:
        with database.session() as session:
            source = Source(name=name, kind=kind, location=location)
            session.add(source)
            session.flush()
            return source.id
    except IntegrityError:  # created meanwhile by another process
        with database.session() as session:
            return session.execute(select(Source.id).where(Source.name == name)).scalar_one()


def _record_failure(
    database: Database,
    source_id: int,
    file_name: str | None,
    error: str,
    started: datetime,
    now: datetime | None,
) -> int:
    with database.session() as session:
        run = JobRun(
            job=JOB,
            source_id=source_id,
            file_name=file_name,
            status=RunStatus.FAILED,
            started_at=started,
            finished_at=now or utc_now(),
            error=error,
        )
        session.add(run)
        session.flush()
        logger.warning("ingest run %s failed: %s", run.id, error)
        return run.id


def _existing(
    session: Session, indicator_ids: np.ndarray, entity_ids: np.ndarray, ordinals: np.ndarray
) -> pd.DataFrame:
    """Stored observations that the accepted rows may hit, loaded in bulk."""
    table = Observation.__table__
    first = date.fromordinal(int(ordinals.min()))
    last = date.fromordinal(int(ordinals.max()))
    query = select(
        table.c.indicator_id, table.c.entity_id, table.c.period, table.c.value, table.c.synthetic
    ).where(
        table.c.indicator_id.in_(sorted(set(indicator_ids.tolist()))),
        table.c.period >= first,
        table.c.period <= last,
    )
    touched_entities = sorted(set(entity_ids.tolist()))
    if len(touched_entities) <= IN_CHUNK:
        query = query.where(table.c.entity_id.in_(touched_entities))
    # Column-wise from the rows: handing pandas Row objects is many times slower.
    columns = list(zip(*session.execute(query), strict=False)) or [()] * 5
    return pd.DataFrame(
        {
            "i": np.array(columns[0], dtype=np.int64),
            "e": np.array(columns[1], dtype=np.int64),
            "p": _ordinals(np.array(columns[2], dtype=object)),
            "old_value": np.array(columns[3], dtype=np.float64),
            "old_synthetic": np.array(columns[4], dtype=np.float64),
        }
    )


WRITTEN = ("indicator_id", "entity_id", "period", "value", "synthetic", "job_run_id", "updated_at")
CONFLICT_KEY = ("indicator_id", "entity_id", "period")


class _ManyWriter:
    """Upsert through the driver's ``executemany`` (SQLite, and any other dialect).

    The statement is compiled once and rows go to the driver as plain tuples:
    SQLAlchemy's per-row parameter processing would cost more than the database's
    work. The few values that need converting (dates, flags, the time stamp) take few
    distinct values and are converted once each.
    """

    def __init__(self, session: Session) -> None:
        dialect = session.get_bind().dialect
        table = Observation.__table__
        statement = sqlite.insert(table).inline().values({n: bindparam(n) for n in WRITTEN})
        statement = statement.on_conflict_do_update(
            index_elements=list(CONFLICT_KEY),
            set_={name: statement.excluded[name] for name in WRITTEN[3:]},
        )
        compiled = statement.compile(dialect=dialect)
        if not compiled.positional or list(compiled.positiontup or ()) != list(WRITTEN):
            raise IngestError(f"cannot bulk-write observations with {dialect.name}")
        self.sql = compiled.string
        self.convert = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in ("period", "synthetic", "updated_at")
        }

    def rows(self, frame: pd.DataFrame, run_id: int, stamp: datetime) -> list[tuple[Any, ...]]:
        stamp_processor = self.convert["updated_at"]
        time_stamp = stamp_processor(stamp) if stamp_processor else stamp
        columns = zip(
            frame["i"].tolist(),
            frame["e"].tolist(),
            self._converted("period", frame["period"]),
            frame["value"].tolist(),
            self._converted("synthetic", frame["synthetic"]),
            strict=True,
        )
        return [(i, e, p, v, f, run_id, time_stamp) for i, e, p, v, f in columns]

    def _converted(self, name: str, column: pd.Series) -> list[Any]:
        processor = self.convert[name]
        if processor is None:
            return column.tolist()
        codes, uniques = pd.factorize(column.astype(object))
        table = np.array([processor(value) for value in uniques], dtype=object)
        return table[codes].tolist()

    def write(self, session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        session.connection().exec_driver_sql(self.sql, list(rows))

    def finish(self, session: Session) -> None:
        """Nothing left to do: every chunk was written as it came."""


class _CopyWriter:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... ON CONFLICT.

    Many times faster than ``executemany`` for a large file; the temporary table
    lives in the ingest's transaction and is dropped with it.
    """

    BATCH = "observation_batch"

    def __init__(self) -> None:
        self.created = False

    def rows(self, frame: pd.DataFrame, run_id: int, stamp: datetime) -> list[str]:
        """COPY text lines; pandas writes floats so that they read back exactly."""
        text = pd.DataFrame(
            {
                "i": frame["i"].to_numpy(),
                "e": frame["e"].to_numpy(),
                "period": [day.isoformat() for day in frame["period"].tolist()],
                "value": frame["value"].to_numpy(),
                "synthetic": np.where(frame["synthetic"].to_numpy(dtype=bool), "t", "f"),
                "job_run_id": run_id,
                "updated_at": stamp.isoformat(),
            }
        ).to_csv(sep="\t", header=False, index=False, lineterminator="\n")
        return text.splitlines(keepends=True)

    def write(self, session: Session, rows: Sequence[str]) -> None:
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor:
            if not self.created:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {self.BATCH} (indicator_id integer, "
                    "entity_id integer, period date, value double precision, "
                    "synthetic boolean, job_run_id integer, updated_at timestamptz) "
                    "ON COMMIT DROP"
                )
                self.created = True
            with cursor.copy(f"COPY {self.BATCH} ({', '.join(WRITTEN)}) FROM STDIN") as copy:
                copy.write("".join(rows))

    def finish(self, session: Session) -> None:
        if not self.created:
            return
        names = ", ".join(WRITTEN)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in WRITTEN[3:])
        connection = session.connection()
        connection.exec_driver_sql(
            f"INSERT INTO observations ({names}) SELECT {names} FROM {self.BATCH} "
            f"ON CONFLICT ({', '.join(CONFLICT_KEY)}) DO UPDATE SET {updates}"
        )
        connection.exec_driver_sql(f"DROP TABLE {self.BATCH}")


def _writer(session: Session) -> _ManyWriter | _CopyWriter:
    if session.get_bind().dialect.name == "postgresql":
        return _CopyWriter()
    return _ManyWriter(session)


def _write_chunk(session: Session, writer: _ManyWriter | _CopyWriter, rows: Sequence[Any]) -> None:
    writer.write(session, rows)


def _ingest(
    database: Database,
    cells: _Cells,
    *,
    source_id: int,
    source_name: str,
    file_name: str | None,
    synthetic: bool,
    started: datetime,
    now: datetime | None,
) -> IngestReport:
    try:
        with database.session() as session:
            report = _store(
                session,
                cells,
                source_id=source_id,
                file_name=file_name,
                synthetic=synthetic,
                started=started,
                now=now,
            )
    except SQLAlchemyError as exc:
        error = f"storing failed, nothing was written: {exc.__class__.__name__}: {exc}"
        _record_failure(database, source_id, file_name, error, started, now)
        raise IngestError(error) from exc
    except Exception as exc:
        error = f"ingest failed, nothing was written: {exc.__class__.__name__}: {exc}"
        _record_failure(database, source_id, file_name, error, started, now)
        raise
    report.source, report.file_name = source_name, file_name
    logger.info(
        "ingest run %s: read %s, accepted %s, rejected %s, inserted %s, updated %s",
        report.job_run_id,
        report.read,
        report.accepted,
        report.rejected,
        report.inserted,
        report.updated,
    )
    return report


def _store(
    session: Session,
    cells: _Cells,
    *,
    source_id: int,
    file_name: str | None,
    synthetic: bool,
    started: datetime,
    now: datetime | None,
) -> IngestReport:
    run = JobRun(job=JOB, source_id=source_id, file_name=file_name, started_at=started)
    session.add(run)
    session.flush()
    checked = _check(session, cells, synthetic)
    valid = pd.isna(checked.reason)

    rejected_rows = [
        {"row": row, "reason": reason, "raw": raw} for row, raw, reason in cells.malformed
    ]
    for position in np.flatnonzero(~valid).tolist():
        rejected_rows.append(
            {
                "row": int(cells.rows[position]),
                "reason": checked.reason[position],
                "raw": cells.raw(position),
            }
        )
    rejected_rows.sort(key=lambda item: item["row"])
    if rejected_rows:
        session.execute(
            insert(RejectedRow),
            [
                {
                    "job_run_id": run.id,
                    "row_number": r["row"],
                    "raw": r["raw"],
                    "reason": r["reason"],
                }
                for r in rejected_rows
            ],
        )

    report = IngestReport(job_run_id=run.id, rejected_rows=rejected_rows)
    report.read = len(cells.frame) + len(cells.malformed)
    report.rejected = len(rejected_rows)
    report.accepted = int(valid.sum())
    if report.accepted:
        _upsert(session, checked, valid, run.id, report, now or started)

    run.status = RunStatus.SUCCEEDED
    run.finished_at = now or utc_now()
    run.rows_read, run.rows_accepted, run.rows_rejected = (
        report.read,
        report.accepted,
        report.rejected,
    )
    run.rows_inserted, run.rows_updated, run.rows_unchanged = (
        report.inserted,
        report.updated,
        report.unchanged,
    )
    session.flush()
    return report


def _upsert(
    session: Session,
    checked: _Checked,
    valid: np.ndarray,
    run_id: int,
    report: IngestReport,
    stamp: datetime,
) -> None:
    """Compare accepted rows with what is stored; write the new and the changed ones."""
    periods = checked.period[valid]
    accepted = pd.DataFrame(
        {
            "i": checked.indicator_id[valid],
            "e": checked.entity_id[valid],
            "p": _ordinals(periods),
            "value": checked.value[valid],
            "synthetic": checked.synthetic[valid],
            "period": periods,
        }
    )
    found = _existing(
        session, accepted["i"].to_numpy(), accepted["e"].to_numpy(), accepted["p"].to_numpy()
    )
    merged = accepted.merge(found, on=["i", "e", "p"], how="left", sort=False)
    new = merged["old_value"].isna().to_numpy()
    same_value = merged["old_value"].to_numpy() == merged["value"].to_numpy()
    same_flag = merged["old_synthetic"].to_numpy() == merged["synthetic"].to_numpy(dtype=float)
    same = ~new & same_value & same_flag
    write = merged[~same]
    report.inserted = int(new.sum())
    report.unchanged = int(same.sum())
    report.updated = report.accepted - report.inserted - report.unchanged
    if write.empty:
        return
    earliest = write.groupby("i")["p"].min()
    report.changed = {
        int(indicator): date.fromordinal(int(ordinal)) for indicator, ordinal in earliest.items()
    }
    # Key order keeps the unique index's pages warm while it grows.
    write = write.sort_values(["i", "e", "p"], kind="stable")
    writer = _writer(session)
    rows = writer.rows(write, run_id, stamp)
    for start in range(0, len(rows), UPSERT_CHUNK):
        _write_chunk(session, writer, rows[start : start + UPSERT_CHUNK])
    writer.finish(session)
