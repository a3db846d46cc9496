"""A source's code map: its indicator and entity codes (or Chinese names) to ours."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from monitor.errors import ClusterWatchError

__all__ = ["CodeMap", "CodeMapError"]


class CodeMapError(ClusterWatchError):
    """A code map in a source's configuration is malformed."""


def _key(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


@dataclass(frozen=True)
class CodeMap:
    """Source code -> our code, for indicators and entities; unmapped codes pass through."""

    indicators: Mapping[str, str] = field(default_factory=dict)
    entities: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> CodeMap | None:
        """The map under ``options["code_map"]`` (``{"indicators": {...}, "entities": {...}}``)."""
        found = (options or {}).get("code_map")
        if not found:
            return None
        if not isinstance(found, Mapping):
            raise CodeMapError("code_map must map 'indicators' and 'entities' to tables")
        tables = {}
        for part in ("indicators", "entities"):
            table = found.get(part) or {}
            if not isinstance(table, Mapping):
                raise CodeMapError(f"code_map.{part} must be a table of source code: our code")
            tables[part] = {_key(source): str(ours).strip() for source, ours in table.items()}
        return cls(tables["indicators"], tables["entities"])

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with its indicator and entity codes mapped."""
        result = frame.copy()
        for column, table in (("indicator", self.indicators), ("entity", self.entities)):
            if table and column in result.columns:
                codes, uniques = pd.factorize(result[column].astype(object), use_na_sentinel=True)
                mapped = [table.get(_key(value), value) for value in uniques]
                result[column] = pd.Series(
                    [mapped[code] if code >= 0 else None for code in codes.tolist()],
                    index=result.index,
                    dtype=object,
                )
        return result
