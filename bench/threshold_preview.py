"""Server time of the threshold edit page and its backtest preview on a stored database.

Usage, from the repository root in the project's environment::

    python -m bench.threshold_preview --database-url sqlite:///var/clusterwatch.db
                                      [--level enterprise] [--repeats 5]

It adds (once) an administrator ``bench-admin`` to the database, logs in with Flask's test
client (no network, so the figures are the server's own time: views, queries, replay
and template), renders one edit page to compile the templates, empties the panel cache
and, for every threshold row of ``--level``, times the edit page and the
preview of a changed setting (two consecutive periods) ``--repeats`` times each. The
first request of a row reads its scores (``cold``); the next ones are served from the
console's panel cache (``warm``, the median). It prints one line per row and the load
average, and writes them as JSON with ``--out``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import machine, write_json
from monitor.records import Threshold, User
from monitor.users import create_user
from web import create_app
from web.backtest_cache import EXTENSION

USER, PASSWORD = "bench-admin", "bench-admin password"


def _milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _form(row: Threshold) -> dict[str, Any]:
    return {"direction": row.direction or "", "blue": row.blue, "yellow": row.yellow,
            "orange": row.orange, "red": row.red, "clear": "", "min_periods": 2,
            "reason": ""}  # fmt: skip


def run(database_url: str, level: str, repeats: int) -> list[dict[str, Any]]:
    """Time the edit page and the preview of every threshold row of ``level``."""
    app = create_app({"DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False})
    database = app.extensions["clusterwatch"]
    with database.session() as session:
        if session.scalar(select(User).where(User.username == USER)) is None:
            create_user(session, USER, PASSWORD, "admin")
        rows = [
            (row.id, row.model, row.dimension, _form(row))
            for row in session.scalars(
                select(Threshold).where(Threshold.level == level).order_by(Threshold.id)
            )
        ]
    client = app.test_client()
    client.post("/login", data={"username": USER, "password": PASSWORD})
    if rows:  # compile the templates first, then start from an empty panel cache
        client.get(f"/thresholds/{rows[0][0]}/edit")
        app.extensions.pop(EXTENSION, None)
    results = []
    for threshold_id, model, dimension, form in rows:
        result: dict[str, Any] = {"threshold": threshold_id, "model": model, "dimension": dimension}
        for kind in ("edit", "preview"):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                if kind == "edit":
                    response = client.get(f"/thresholds/{threshold_id}/edit")
                else:
                    response = client.post(f"/thresholds/{threshold_id}/preview", data=form)
                times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{kind} of threshold {threshold_id}: {response.status}")
            result[f"{kind}_first_ms"] = _milliseconds(times[0])
            result[f"{kind}_warm_median_ms"] = _milliseconds(statistics.median(times[1:]))
        results.append(result)
        print(
            f"#{threshold_id:<4} {model:<10} {dimension:<14} edit cold "
            f"{result['edit_first_ms']:7.1f} ms, warm {result['edit_warm_median_ms']:6.1f} ms; "
            f"preview warm {result['preview_warm_median_ms']:6.1f} ms",
            flush=True,
        )
    database.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--level", default="enterprise")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 (one cold, the rest warm)")
    results = run(args.database_url, args.level, args.repeats)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.out:
        write_json(args.out, {"machine": machine(), "load_average": load, "rows": results})


if __name__ == "__main__":
    main()
