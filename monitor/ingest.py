"""Ingest observations from a CSV or Excel file or a data frame.

Forms, recognised by the header (case, spaces and full-width characters do not matter;
title rows above the header are skipped):

* long: ``indicator, entity, period, value`` (or ``指标, 主体, 期间, 数值``), in any order,
  with an optional ``flag`` (``状态``) column; other columns are kept in the rejected
  rows' ``raw`` but otherwise ignored;
* wide by period: ``indicator, entity`` and one column per period (``2024-01, ...``);
* wide by indicator: ``entity, period`` and one column per indicator code.

CSV files may be UTF-8 (with or without BOM), UTF-16 with a BOM or GBK/GB18030, with
comma, semicolon or tab between fields; they are streamed in chunks. Workbooks are
read sheet by sheet (``monitor.connectors.spreadsheets``).

In the wide forms an empty cell means "no value" and is skipped; every other cell is
one row of the report. Each row is accepted or rejected with a reason (see
``RejectReason``); under the "fail" policy any rejection fails the whole run. The
accepted rows are upserted in one transaction together with the rejected rows, so a
failure leaves nothing half-written; a revised value keeps the one it replaces as a
vintage. The job run is committed first (running, with progress) and finished or
failed at the end. A file that cannot be used at all raises ``IngestError``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.connectors.codemap import CodeMap
from monitor.connectors.spreadsheets import EXCEL_ERRORS, read_sheets
from monitor.db import Database
from monitor.errors import IngestError
from monitor.observation_writer import (
    ChunkRows,
    ObservationWriter,
    WriteCounts,
    observation_writer,
    row_keys,
)
from monitor.periods import PeriodFrequencyError, looks_like_period, parse_periods
from monitor.progress import Progress, Tracker
from monitor.records import Indicator, JobRun, RejectedRow, Source, utc_now
from monitor.vocabulary import RunStatus, SourceKind

__all__ = [
    "FAIL",
    "POLICIES",
    "QUARANTINE",
    "IngestReport",
    "RejectReason",
    "ingest_file",
    "ingest_frame",
]

logger = logging.getLogger(__name__)

JOB = "ingest"
CHUNK_ROWS = 200_000  # CSV records read, checked and stored at a time
PROBE_BYTES = 65_536
HEADER_SEARCH = 20  # rows searched for the header, below titles
REPORTED_REJECTIONS = 10_000  # rejected rows kept in the report (all are stored)
DELIMITERS = (",", ";", "\t")
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm"}
QUARANTINE, FAIL = "quarantine", "fail"
POLICIES = frozenset({QUARANTINE, FAIL})
ALIASES = {
    "indicator": {"indicator", "indicator_code", "指标", "指标代码"},
    "entity": {"entity", "entity_code", "主体", "主体代码"},
    "period": {"period", "期间", "时期"},
    "value": {"value", "数值", "值"},
}
FLAG_ALIASES = {"flag", "status", "obs_status", "标记", "状态", "数据状态"}
FLAG_WORDS = {
    "": None,
    "p": "provisional",
    "provisional": "provisional",
    "初步": "provisional",
    "初步数": "provisional",
    "初值": "provisional",
    "e": "estimated",
    "estimated": "estimated",
    "估计": "estimated",
    "估算": "estimated",
    "预估": "estimated",
    "m": "missing",
    "missing": "missing",
    "缺失": "missing",
    "缺": "missing",
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


Rec = tuple[int, list[str]]  # a record and the line it starts on


@dataclass
class _Cells:
    """Input rows in long form, as strings (or already numbers), with their row numbers."""

    frame: pd.DataFrame  # indicator, entity, period, value[, synthetic][, flag]
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
    code_map: CodeMap | None = None,
    policy: str = QUARANTINE,
    progress: Progress | None = None,
    source_kind: str = SourceKind.CSV,
    chunk_rows: int = CHUNK_ROWS,
) -> IngestReport:
    """Ingest a CSV (any of the module's forms) or an Excel ``.xlsx`` file.

    CSV files are read in chunks of ``chunk_rows`` records, so memory stays bounded
    however large the file; all chunks are stored in one transaction. ``code_map``
    turns the source's codes into ours; ``policy`` "fail" rejects the whole file when
    any row is bad. ``progress`` is called with the fraction of the file read.
    """
    path = Path(path)
    started = now or utc_now()
    source_id = _ensure_source(database, source_name, kind=source_kind, location=str(path))
    run_id = _open_run(database, source_id, path.name, started)
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        chunks: Iterator[_Cells] = _spreadsheet_cells(path)
    else:
        chunks = _csv_chunks(path, chunk_rows, Tracker(database, run_id, started, progress))
    return _ingest(
        database,
        chunks,
        run_id=run_id,
        source_name=source_name,
        file_name=path.name,
        synthetic=synthetic,
        started=started,
        now=now,
        code_map=code_map,
        policy=policy,
    )


def ingest_frame(
    database: Database,
    frame: pd.DataFrame,
    *,
    source_name: str,
    file_name: str | None = None,
    synthetic: bool = False,
    now: datetime | None = None,
    source_kind: str = SourceKind.CSV,
    code_map: CodeMap | None = None,
    policy: str = QUARANTINE,
) -> IngestReport:
    """Ingest a long frame (indicator, entity, period, value[, synthetic][, flag]).

    Values may be texts as read from a file or numbers; periods texts or dates. A
    boolean ``synthetic`` column, when present, overrides ``synthetic`` per row; a
    ``flag`` column carries the source's provisional / estimated / missing flags. Row
    numbers in the report are those the rows would have in a CSV file with a header.
    """
    started = now or utc_now()
    source_id = _ensure_source(database, source_name, kind=source_kind, location="")
    run_id = _open_run(database, source_id, file_name, started)
    missing = [name for name in ALIASES if name not in frame.columns]
    if missing or frame.empty:
        error = f"frame lacks columns {', '.join(missing)}" if missing else "frame has no rows"
        _fail_run(database, run_id, error, now)
        raise IngestError(error)
    extra = [name for name in ("synthetic", "flag") if name in frame.columns]
    data = frame[[*ALIASES, *extra]].reset_index(drop=True)

    def raw(position: int) -> dict[str, str]:
        return {name: _text(data.at[position, name]) for name in (*ALIASES, *extra)}

    cells = _Cells(data, np.arange(2, len(data) + 2), raw)
    return _ingest(
        database,
        iter([cells]),
        run_id=run_id,
        source_name=source_name,
        file_name=file_name,
        synthetic=synthetic,
        started=started,
        now=now,
        code_map=code_map,
        policy=policy,
    )


# ---------------------------------------------------------------------------- reading files


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _open_binary(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise IngestError(f"{path.name}: no such file") from None
    except IsADirectoryError:
        raise IngestError(f"{path.name}: is a folder, not a file") from None
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read: {exc.strerror}") from None


def _encoding(probe: bytes, name: str) -> str:
    """The encoding of a file that starts with ``probe``: UTF-8 (with or without BOM),
    UTF-16 with a BOM, or else GB18030 (a superset of GBK and GB2312)."""
    if not probe.strip():
        raise IngestError(f"{name}: the file is empty")
    if probe.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in probe:
        raise IngestError(f"{name}: not a text file (binary content)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(probe, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise IngestError(f"{name}: not UTF-8 (or GBK/GB18030) text")


def _delimiter(sample: str) -> str:
    """Comma, semicolon or tab: the one that splits the first lines most consistently."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    best, best_score = ",", 0
    for candidate in DELIMITERS:
        counts = [line.count(candidate) for line in lines]
        if not counts or not counts[0]:
            continue
        score = counts[0] * sum(1 for count in counts if count == counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _header_key(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip().lower()


def _canonical(header: Sequence[str]) -> dict[str, int]:
    """Position of each known column (indicator, entity, period, value, flag) in the header."""
    found: dict[str, int] = {}
    for position, cell in enumerate(header):
        key = _header_key(cell)
        for name, aliases in (*ALIASES.items(), ("flag", FLAG_ALIASES)):
            if key in aliases and name not in found:
                found[name] = position
    return found


def _form(known: Mapping[str, int]) -> str | None:
    """Which form a header with the ``known`` columns is in, if any."""
    names = set(known) - {"flag"}
    if names >= set(ALIASES):
        return "long"
    if {"indicator", "entity"} <= names and not {"period", "value"} & names:
        return "period"
    if {"entity", "period"} <= names and not {"indicator", "value"} & names:
        return "indicator"
    return None


def _records(reader: Iterator[list[str]], line_of: Callable[[], int]) -> Iterator[Rec]:
    """Non-blank records with the line each starts on, trailing empty cells dropped.

    Spreadsheets often save a few empty columns after the last one; they carry nothing.
    """
    line = 0
    for record in reader:
        first, line = line + 1, line_of()
        while record and not str(record[-1]).strip():
            record.pop()
        if record:
            yield first, record


def _find_header(records: Iterator[Rec], name: str) -> tuple[list[str], dict[str, int], str]:
    """Skip title rows above the header (at most ``HEADER_SEARCH`` rows)."""
    first: Rec | None = None
    for _ in range(HEADER_SEARCH):
        try:
            line, header = next(records)
        except StopIteration:
            break
        first = first or (line, header)
        known = _canonical(header)
        form = _form(known)
        if form is not None:
            keys = [_header_key(cell) for cell in header]
            repeated = sorted({key for key in keys if key and keys.count(key) > 1})
            if repeated:
                raise IngestError(f"{name}: columns appear twice in the header: {repeated}")
            return header, known, form
    if first is None:
        raise IngestError(f"{name}: the file is empty")
    raise IngestError(
        f"{name}: header not recognised (line {first[0]}); expected "
        f"'indicator,entity,period,value', 'indicator,entity,<periods...>' or "
        f"'entity,period,<indicator codes...>'"
    )


def _form_cells(
    header: list[str], known: dict[str, int], form: str, body: list[Rec], name: str
) -> _Cells:
    if form == "long":
        return _long_cells(header, known, body)
    return _wide_cells(header, known, body, name, across=form)


def _csv_chunks(path: Path, chunk_rows: int, progress: Progress | None) -> Iterator[_Cells]:
    """The file's cells, ``chunk_rows`` records at a time; ``IngestError`` if unusable."""
    name = path.name
    with _open_binary(path) as raw:
        probe = raw.read(PROBE_BYTES)
        encoding = _encoding(probe, name)
        sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(probe)
        raw.seek(0)
        total = max(path.stat().st_size, 1)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = csv.reader(text, delimiter=_delimiter(sample))
        records = _records(reader, lambda: reader.line_num)
        try:
            header, known, form = _find_header(records, name)
            any_rows = False
            while True:
                body = list(itertools.islice(records, chunk_rows))
                if not body:
                    break
                any_rows = True
                yield _form_cells(header, known, form, body, name)
                if progress is not None:
                    progress(min(raw.tell() / total, 1.0))
        except csv.Error as exc:
            raise IngestError(
                f"{name}: not a readable CSV file (line {reader.line_num}: {exc})"
            ) from None
        except UnicodeDecodeError as exc:
            raise IngestError(
                f"{name}: not valid {encoding} text after line {reader.line_num} ({exc.reason})"
            ) from None
        finally:
            text.detach()  # the file itself is closed by the ``with``
    if not any_rows:
        raise IngestError(f"{name}: no data rows below the header")


def _spreadsheet_cells(path: Path) -> Iterator[_Cells]:
    """One chunk of cells per sheet with a recognised header; other sheets are skipped."""
    found = False
    problems: list[str] = []
    for sheet, rows in read_sheets(path):
        label = f"{path.name} [{sheet}]"
        records = iter(list(_records(iter(rows), _counter())))
        try:
            header, known, form = _find_header(records, label)
        except IngestError as exc:
            problems.append(str(exc))
            continue
        body = list(records)
        if not body:
            problems.append(f"{label}: no data rows below the header")
            continue
        found = True
        cells = _form_cells(header, known, form, body, label)
        yield _Cells(
            cells.frame,
            cells.rows,
            _with_sheet(cells.raw, sheet),
            [(line, {"sheet": sheet, **raw}, why) for line, raw, why in cells.malformed],
        )
    if not found:
        raise IngestError("; ".join(problems) or f"{path.name}: the workbook has no sheets")


def _counter() -> Callable[[], int]:
    lines = itertools.count(1)
    return lambda: next(lines)


def _with_sheet(
    raw: Callable[[int], dict[str, str]], sheet: str
) -> Callable[[int], dict[str, str]]:
    return lambda position: {"sheet": sheet, **raw(position)}


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


def _long_cells(header: Sequence[str], known: dict[str, int], body: list[Rec]) -> _Cells:
    width = len(header)
    good = [(line, _padded(record, width)) for line, record in body if len(record) <= width]
    malformed = [_malformed(header, line, rec) for line, rec in body if len(rec) > width]
    columns = [name for name in (*ALIASES, "flag") if name in known]
    frame = pd.DataFrame(
        {name: [record[known[name]] for _, record in good] for name in columns}, dtype=object
    )

    def raw(position: int) -> dict[str, str]:
        return _raw_row(header, good[position][1])

    rows = np.fromiter((line for line, _ in good), dtype=np.int64, count=len(good))
    return _Cells(frame, rows, raw, malformed)


def _wide_cells(
    header: Sequence[str],
    known: dict[str, int],
    body: list[Rec],
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
    ordinal: np.ndarray  # int64 day ordinal of the period, -1 when there is none
    value: np.ndarray  # float64
    synthetic: np.ndarray  # bool
    reason: np.ndarray  # object: str or None
    flag: np.ndarray  # object: "provisional", "estimated" or None


def _catalog_maps(
    session: Session, codes: Sequence[str]
) -> tuple[dict[str, tuple[int, str, str]], dict[str, tuple[int, str, str]]]:
    """(id, level, frequency) of every indicator; (id, level, "") of the named entities."""
    indicators = {
        row.code: (row.id, row.level, row.frequency)
        for row in session.execute(
            select(Indicator.code, Indicator.id, Indicator.level, Indicator.frequency)
        )
    }
    return indicators, {code: (id_, level, "") for code, id_, level in _entities(session, codes)}


def _entities(session: Session, codes: Sequence[str]) -> list[tuple[str, int, str]]:
    """(code, id, level) of the entities named, in one query with the codes as one value
    (a PostgreSQL array, a JSON list on SQLite): thousands of bound names cost more."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql = "SELECT code, id, level FROM entities WHERE code = ANY(%s)"
        argument: Any = list(codes)
    else:
        sql = "SELECT code, id, level FROM entities WHERE code IN (SELECT value FROM json_each(?))"
        argument = json.dumps(list(codes), ensure_ascii=False)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, (argument,))
        return list(cursor.fetchall())
    finally:
        cursor.close()


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
    wrong_frequency = np.zeros(size, dtype=bool)
    erring = np.flatnonzero(period_error)
    wrong_frequency[erring] = [
        isinstance(error, PeriodFrequencyError) for error in error_array[erring]
    ]

    def error_detail(positions: np.ndarray) -> list[str]:
        return [str(error) for error in error_array[positions]]

    reject(wrong_frequency, RejectReason.WRONG_FREQUENCY, error_detail)
    reject(period_error & ~wrong_frequency, RejectReason.BAD_PERIOD, error_detail)

    flags, flagged_missing, unknown_flag = _flags(frame)
    flag_texts = frame["flag"].to_numpy(dtype=object) if "flag" in frame else flags
    reject(
        unknown_flag,
        RejectReason.MALFORMED,
        lambda positions: [f"unknown observation flag {flag_texts[i]!r}" for i in positions],
    )
    value, missing, not_numeric = _values(frame["value"])
    raw_values = frame["value"].to_numpy(dtype=object)
    reject(missing | flagged_missing, RejectReason.MISSING_VALUE)
    error_cell = np.zeros(len(raw_values), dtype=bool)
    suspects = np.flatnonzero(not_numeric)
    error_cell[suspects] = [_text(raw_values[i]).strip() in EXCEL_ERRORS for i in suspects]
    reject(
        error_cell,
        RejectReason.NOT_NUMERIC,
        lambda positions: [f"{_text(v)!r} is a spreadsheet error" for v in raw_values[positions]],
    )
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
        indicator_id,
        entity_id,
        period_array,
        ordinal,
        value,
        _synthetic(frame, synthetic),
        reason,
        flags,
    )


def _flags(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flag or None, flagged missing, unknown flag) per row, from the ``flag`` column."""
    size = len(frame)
    if "flag" not in frame.columns:
        nothing = np.zeros(size, dtype=bool)
        return np.full(size, None, dtype=object), nothing, nothing.copy()
    codes, uniques = pd.factorize(frame["flag"].astype(object), use_na_sentinel=True)
    words = [_header_key(_text(value)) for value in uniques] + [""]
    known = [word in FLAG_WORDS for word in words]
    meaning = [FLAG_WORDS.get(word) for word in words]
    flags = np.array([m if m != "missing" else None for m in meaning], dtype=object)[codes]
    missing = np.array([m == "missing" for m in meaning], dtype=bool)[codes]
    unknown = ~np.array(known, dtype=bool)[codes]
    return flags, missing, unknown


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


def _flag_texts(flags: np.ndarray) -> np.ndarray:
    """Flags as texts, "" for none (None would turn into NaN in a merge)."""
    codes, uniques = pd.factorize(pd.Series(flags, dtype=object), use_na_sentinel=True)
    table = np.array([str(flag) for flag in uniques] + [""], dtype=object)
    return table[codes]


def _ordinals(periods: np.ndarray) -> np.ndarray:
    """Day ordinals of an object array of dates (-1 where there is none)."""
    codes, uniques = pd.factorize(pd.Series(periods, dtype=object), use_na_sentinel=True)
    table = np.array([day.toordinal() for day in uniques] + [-1], dtype=np.int64)
    return table[codes]


# ---------------------------------------------------------------------------- storing


def _ensure_source(database: Database, name: str, *, kind: str, location: str) -> int:
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


def _open_run(database: Database, source_id: int, file_name: str | None, started: datetime) -> int:
    """A committed, running job run: visible (with its progress) while the ingest works."""
    with database.session() as session:
        run = JobRun(
            job=JOB, source_id=source_id, file_name=file_name, started_at=started, progress=0.0
        )
        session.add(run)
        session.flush()
        return run.id


def _fail_run(database: Database, run_id: int, error: str, now: datetime | None) -> None:
    with database.session() as session:
        run = session.get_one(JobRun, run_id)
        run.status = RunStatus.FAILED
        run.finished_at = now or utc_now()
        run.error = error
        run.eta = None
    logger.warning("ingest run %s failed: %s", run_id, error)


def _write_chunk(writer: ObservationWriter, rows: ChunkRows) -> WriteCounts:
    """Write one chunk's accepted rows (a seam the tests use to fail mid-run)."""
    return writer.write(rows)


def _ingest(
    database: Database,
    chunks: Iterator[_Cells],
    *,
    run_id: int,
    source_name: str,
    file_name: str | None,
    synthetic: bool,
    started: datetime,
    now: datetime | None,
    code_map: CodeMap | None,
    policy: str,
) -> IngestReport:
    if policy not in POLICIES:
        error = f"unknown validation policy {policy!r}; expected one of {sorted(POLICIES)}"
        _fail_run(database, run_id, error, now)
        raise IngestError(error)
    try:
        with database.session() as session:
            report = _store(
                session,
                chunks,
                run_id=run_id,
                synthetic=synthetic,
                now=now,
                started=started,
                code_map=code_map,
                policy=policy,
            )
    except IngestError as exc:
        _fail_run(database, run_id, f"{exc}; nothing was written", now)
        raise
    except SQLAlchemyError as exc:
        error = f"storing failed, nothing was written: {exc.__class__.__name__}: {exc}"
        _fail_run(database, run_id, error, now)
        raise IngestError(error) from exc
    except Exception as exc:
        error = f"ingest failed, nothing was written: {exc.__class__.__name__}: {exc}"
        _fail_run(database, run_id, error, now)
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


class _Seen:
    """Keys of the rows accepted in earlier chunks (and the row each came from)."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.rows = np.empty(0, dtype=np.int64)

    def reject_repeats(self, checked: _Checked, rows: np.ndarray) -> None:
        """Reject rows whose key an earlier chunk accepted; remember this chunk's keys."""
        valid = pd.isna(checked.reason)
        keys = row_keys(checked.indicator_id, checked.entity_id, checked.ordinal)
        if len(self.keys):
            at = np.searchsorted(self.keys, keys).clip(0, len(self.keys) - 1)
            repeated = valid & (self.keys[at] == keys)
            for position in np.flatnonzero(repeated).tolist():
                checked.reason[position] = (
                    f"{RejectReason.DUPLICATE}: first given at row {self.rows[at[position]]}"
                )
            valid = valid & ~repeated
        merged_keys = np.concatenate([self.keys, keys[valid]])
        merged_rows = np.concatenate([self.rows, rows[valid]])
        order = np.argsort(merged_keys, kind="stable")
        self.keys, self.rows = merged_keys[order], merged_rows[order]


def _store(
    session: Session,
    chunks: Iterator[_Cells],
    *,
    run_id: int,
    synthetic: bool,
    now: datetime | None,
    started: datetime,
    code_map: CodeMap | None,
    policy: str,
) -> IngestReport:
    report = IngestReport(job_run_id=run_id)
    stamp = now or started
    seen = _Seen()
    writer = observation_writer(session, run_id, stamp)
    for cells in chunks:
        if code_map is not None:
            cells = _Cells(code_map.apply(cells.frame), cells.rows, cells.raw, cells.malformed)
        checked = _check(session, cells, synthetic)
        seen.reject_repeats(checked, cells.rows)
        valid = pd.isna(checked.reason)
        rejected = [
            {"row": row, "reason": reason, "raw": raw} for row, raw, reason in cells.malformed
        ]
        rejected.extend(
            {
                "row": int(cells.rows[position]),
                "reason": checked.reason[position],
                "raw": cells.raw(position),
            }
            for position in np.flatnonzero(~valid).tolist()
        )
        rejected.sort(key=lambda item: item["row"])
        if rejected and policy == FAIL:
            first = rejected[0]
            raise IngestError(
                f"{len(rejected)} row(s) rejected and the source's policy is to fail the "
                f"whole run; first: row {first['row']}: {first['reason']}"
            )
        if rejected:
            session.execute(
                insert(RejectedRow),
                [
                    {
                        "job_run_id": run_id,
                        "row_number": r["row"],
                        "raw": r["raw"],
                        "reason": r["reason"],
                    }
                    for r in rejected
                ],
            )
            room = REPORTED_REJECTIONS - len(report.rejected_rows)
            report.rejected_rows.extend(rejected[: max(room, 0)])
        report.read += len(cells.frame) + len(cells.malformed)
        report.rejected += len(rejected)
        accepted = int(valid.sum())
        report.accepted += accepted
        if accepted:
            _count(report, _write_chunk(writer, _accepted_rows(checked, valid)))
    writer.finish()

    run = session.get_one(JobRun, run_id)
    run.status = RunStatus.SUCCEEDED
    run.finished_at = now or utc_now()
    run.progress, run.eta = 1.0, None
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


def _accepted_rows(checked: _Checked, valid: np.ndarray) -> ChunkRows:
    """The accepted rows in key order, which keeps the unique index's pages warm."""
    indicator_id, entity_id = checked.indicator_id[valid], checked.entity_id[valid]
    ordinal = checked.ordinal[valid]
    order = np.argsort(row_keys(indicator_id, entity_id, ordinal), kind="stable")
    return ChunkRows(
        indicator_id=indicator_id[order],
        entity_id=entity_id[order],
        ordinal=ordinal[order],
        value=checked.value[valid][order],
        synthetic=checked.synthetic[valid][order],
        flag=checked.flag[valid][order],
    )


def _count(report: IngestReport, counts: WriteCounts) -> None:
    report.inserted += counts.inserted
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    for indicator, day in counts.earliest.items():
        previous = report.changed.get(indicator)
        report.changed[indicator] = min(day, previous) if previous else day
