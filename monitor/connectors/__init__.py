"""Connectors: one small module per kind of source, each pulling into ``monitor.ingest``.

``pull(database, spec)`` dispatches on the source's kind and returns the ingest reports
of what it read (a watched folder gives one per file; push sources give none, since
their data arrives through ``monitor.connectors.push``).
"""

from __future__ import annotations

from monitor.connectors.base import KINDS, SourceSpec, pull

__all__ = ["KINDS", "SourceSpec", "pull"]
