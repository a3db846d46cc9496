"""Read Excel ``.xlsx`` workbooks as rows of text, one list of rows per sheet.

Formulas give their cached values (what Excel last computed); a formula never
computed reads as an empty cell. Merged cells take the value of their top-left cell,
so a header merged over two rows or a period label merged over several columns is
seen in every cell it covers. Error cells (``#DIV/0!``, ``#N/A``, ...) are kept as
their text; ingestion rejects them with their own reason.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from monitor.errors import IngestError

__all__ = ["EXCEL_ERRORS", "cell_text", "read_sheets"]

EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)


def cell_text(value: Any) -> str:
    """The text of a cell value; numbers keep every digit, dates their ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_sheets(path: Path) -> Iterator[tuple[str, list[list[str]]]]:
    """(sheet title, rows of cell texts) for each worksheet of the workbook at ``path``."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, data_only=True, read_only=False)
    except FileNotFoundError:
        raise IngestError(f"{path.name}: no such file") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise IngestError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    try:
        for sheet in workbook.worksheets:
            rows = [
                [cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)
            ]
            for merged in sheet.merged_cells.ranges:
                top = cell_text(sheet.cell(merged.min_row, merged.min_col).value)
                for row in range(merged.min_row, merged.max_row + 1):
                    for column in range(merged.min_col, merged.max_col + 1):
                        if row - 1 < len(rows) and column - 1 < len(rows[row - 1]):
                            rows[row - 1][column - 1] = top
            yield sheet.title, rows
    finally:
        workbook.close()
