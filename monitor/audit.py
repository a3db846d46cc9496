"""The audit log: every console change recorded with who, when, old -> new and why.

Threshold changes go through :func:`change_threshold`, so a threshold is never
changed without its entry; :func:`restore_threshold` puts back the setting an entry
recorded, as a new change with its own entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.errors import ClusterWatchError, NotFound
from monitor.queries import Page
from monitor.records import AuditEntry, Threshold, utc_now

THRESHOLD = "threshold"
UPDATE = "threshold.update"
RESTORE = "threshold.restore"
THRESHOLD_FIELDS = ("direction", "blue", "yellow", "orange", "red", "clear", "min_periods")
MAX_REASON_LENGTH = 2000


class AuditError(ClusterWatchError):
    """A change cannot be recorded as asked (no reason, nothing to restore, ...)."""


def threshold_setting(threshold: Threshold) -> dict[str, Any]:
    """The editable part of a threshold row as plain JSON values."""
    return {name: getattr(threshold, name) for name in THRESHOLD_FIELDS}


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise AuditError("a change needs a reason")
    if len(text) > MAX_REASON_LENGTH:
        raise AuditError(f"a reason is at most {MAX_REASON_LENGTH} characters")
    return text


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_kind: str,
    target_id: int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str,
) -> AuditEntry:
    """Add one audit entry (flushed, not committed)."""
    entry = AuditEntry(
        at=utc_now(),
        actor=actor,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        before=before,
        after=after,
        reason=_reason(reason),
    )
    session.add(entry)
    session.flush()
    return entry


def change_threshold(
    session: Session,
    threshold: Threshold,
    setting: dict[str, Any],
    *,
    actor: str,
    reason: str,
    action: str = UPDATE,
) -> AuditEntry:
    """Apply ``setting`` (keys of ``THRESHOLD_FIELDS``) to ``threshold`` and log it."""
    unknown = set(setting) - set(THRESHOLD_FIELDS)
    if unknown:
        raise AuditError(f"unknown threshold fields: {', '.join(sorted(unknown))}")
    checked = _reason(reason)
    before = threshold_setting(threshold)
    for name, value in setting.items():
        setattr(threshold, name, value)
    threshold.updated_by = actor
    threshold.updated_at = utc_now()
    return record(
        session,
        actor=actor,
        action=action,
        target_kind=THRESHOLD,
        target_id=threshold.id,
        before=before,
        after=threshold_setting(threshold),
        reason=checked,
    )


def restore_threshold(session: Session, entry_id: int, *, actor: str, reason: str) -> AuditEntry:
    """Set a threshold back to the setting it had before the change ``entry_id``."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None or entry.target_kind != THRESHOLD or entry.target_id is None:
        raise NotFound(f"no threshold change with id {entry_id}")
    if entry.before is None:
        raise AuditError("this change recorded no earlier setting")
    threshold = session.get(Threshold, entry.target_id)
    if threshold is None:
        raise NotFound(f"threshold {entry.target_id} no longer exists")
    setting = {name: entry.before[name] for name in THRESHOLD_FIELDS if name in entry.before}
    return change_threshold(session, threshold, setting, actor=actor, reason=reason, action=RESTORE)


def list_entries(
    session: Session,
    *,
    target_kind: str | None = None,
    target_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[AuditEntry]:
    """One page of audit entries, newest first, optionally for one target."""
    conditions = []
    if target_kind:
        conditions.append(AuditEntry.target_kind == target_kind)
    if target_id is not None:
        conditions.append(AuditEntry.target_id == target_id)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    statement = (
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(items=list(session.scalars(statement)), total=total, page=page, per_page=per_page)
