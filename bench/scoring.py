"""Throughput of the production scoring path over a synthetic monthly panel.

Usage, from the repository root in the project's environment::

    python -m bench.scoring [--sizes 10000,100000] [--periods 120] [--out FILE]

For each size N the panel holds N enterprise series x ``--periods`` months (a noisy
seasonal random walk with 2 % missing values and a few shocks). Timed, best of
``--repeat``:

* each model alone (``monitor.scoring.model_scores``: the threshold model and the robust
  z-score, both on the year-on-year change, as the enterprise catalogue scores them);
* the whole path: both models and their decision into colours (``monitor.scoring.decide``,
  cut-offs, hysteresis and persistence), exactly what the pipeline runs per indicator,
  once over the whole panel and once over chunks of ``--chunk`` series (the pipeline
  scores entities in chunks; the two must colour the same cells).

The models and the decision run compiled kernels (numba, one thread per core, machine
code cached on disk): a first call on a small panel loads or compiles them before
anything is timed, and its time is reported apart (``warm_up_seconds``). Every timed
figure is wall-clock; the CPU seconds of the best whole-path run and the load average
are recorded too, since the machine may be shared.

The baseline is the same robust z-score written per series the way a pandas user would:
a loop over the columns of ``Series.pct_change`` then ``Series.rolling(24).median()`` and
a rolling MAD, shifted one period. It runs on ``--baseline-series`` columns and its rate
is extrapolated to the panel (it is linear in the number of series); the table says so.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

from bench.common import machine, peak_rss_mb, print_table, write_json
from models.robust_z import MAD_TO_SIGMA
from monitor.records import Indicator, Threshold
from monitor.scoring import decide, model_scores

WINDOW = 24
MIN_PERIODS = 8


def synthetic_panel(n_series: int, n_periods: int, seed: int = 8) -> pd.DataFrame:
    """A monthly panel of positive, seasonal, noisy series with gaps and a few shocks."""
    rng = np.random.default_rng(seed)
    months = np.arange(n_periods)
    season = 1 + 0.05 * np.sin(2 * np.pi * months / 12)[:, None]
    walk = np.cumsum(rng.normal(0.004, 0.03, (n_periods, n_series)), axis=0)
    values = 100 * rng.uniform(0.5, 2.0, n_series) * np.exp(walk) * season
    shocked = rng.random(n_series) < 0.02
    start = rng.integers(36, n_periods - 6, n_series)
    rows = start[:, None] + np.arange(6)
    values[rows[shocked].ravel(), np.repeat(np.flatnonzero(shocked), 6)] *= 0.6
    values[rng.random(values.shape) < 0.02] = np.nan
    index = pd.date_range("2016-01-01", periods=n_periods, freq="MS", name="period")
    return pd.DataFrame(values, index=index, columns=pd.RangeIndex(n_series, name="entity_id"))


def enterprise_indicator() -> Indicator:
    return Indicator(
        id=1,
        code="REV",
        name_zh="营业收入",
        name_en="Revenue",
        dimension="economic",
        level="enterprise",
        frequency="M",
        direction="down",
        transform="yoy",
    )


def thresholds() -> dict[str, Threshold]:
    common = {"level": "enterprise", "dimension": "economic", "min_periods": 2}
    return {
        "threshold": Threshold(
            model="threshold", blue=0.0, yellow=-10.0, orange=-20.0, red=-35.0, **common
        ),
        "robust_z": Threshold(
            model="robust_z", direction="up", blue=3.5, yellow=4.5, orange=6.0, red=8.0, **common
        ),
    }


def pandas_robust_z(panel: pd.DataFrame) -> pd.DataFrame:
    """The per-series baseline: one ``Series.rolling`` pass per column."""
    out = {}
    for column in panel.columns:
        change = 100 * panel[column].pct_change(12, fill_method=None)
        rolling = change.rolling(WINDOW, min_periods=MIN_PERIODS)
        median = rolling.median()
        mad = rolling.apply(lambda w: np.nanmedian(np.abs(w - np.nanmedian(w))), raw=True)
        out[column] = (change - median.shift(1)) / (MAD_TO_SIGMA * mad.shift(1))
    return pd.DataFrame(out, index=panel.index)


def best_run(repeat: int, function: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """Wall seconds and CPU seconds (all threads) of the fastest of ``repeat`` calls."""
    best = (float("inf"), float("inf"), None)
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*args)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best[0]:
            best = (wall, cpu, result)
    return best


def warm_up(indicator: Indicator, rows: dict[str, Threshold]) -> float:
    """Seconds to load (or, the first time ever, compile) the kernels on a small panel."""
    start = time.perf_counter()
    whole_path(synthetic_panel(50, 60), indicator, rows)
    return time.perf_counter() - start


def whole_path(panel: pd.DataFrame, indicator: Indicator, rows: dict[str, Threshold]) -> int:
    """Both models and their colours; returns the coloured cell count (kept, not dropped)."""
    coloured = 0
    for model, threshold in rows.items():
        coloured += int((decide(panel, indicator, model, threshold).codes > 0).sum())
    return coloured


def chunked_path(
    panel: pd.DataFrame, indicator: Indicator, rows: dict[str, Threshold], chunk: int
) -> int:
    """The whole path over chunks of ``chunk`` series, as the pipeline runs it."""
    return sum(
        whole_path(panel.iloc[:, start : start + chunk], indicator, rows)
        for start in range(0, panel.shape[1], chunk)
    )


def run(
    size: int, periods: int, repeat: int, baseline_series: int, chunk: int
) -> dict[str, object]:
    panel = synthetic_panel(size, periods)
    points = panel.size
    indicator = enterprise_indicator()
    rows = thresholds()
    result: dict[str, object] = {"series": size, "periods": periods, "points": points}
    result["load_average_before"] = os.getloadavg()
    for model in rows:
        seconds, _, _ = best_run(repeat, model_scores, panel, indicator, model)
        result[f"{model}_seconds"] = seconds
        result[f"{model}_points_per_s"] = points / seconds
    seconds, cpu, coloured = best_run(repeat, whole_path, panel, indicator, rows)
    result["path_seconds"] = seconds
    result["path_cpu_seconds"] = cpu
    result["path_points_per_s"] = points / seconds
    result["coloured_cells"] = coloured
    seconds, _, chunked = best_run(repeat, chunked_path, panel, indicator, rows, chunk)
    if chunked != coloured:
        raise AssertionError("chunked scoring disagrees with scoring the whole panel")
    result["chunk"] = chunk
    result["chunked_path_seconds"] = seconds
    result["chunked_path_points_per_s"] = points / seconds
    sample = panel.iloc[:, : min(baseline_series, size)]
    start = time.perf_counter()
    pandas_robust_z(sample)
    baseline_seconds = time.perf_counter() - start
    result["baseline_series_run"] = sample.shape[1]
    result["baseline_points_per_s"] = sample.size / baseline_seconds
    result["baseline_extrapolated_seconds"] = baseline_seconds * size / sample.shape[1]
    baseline = result["baseline_points_per_s"]
    result["ratio_path_vs_baseline"] = result["path_points_per_s"] / baseline
    result["ratio_chunked_path_vs_baseline"] = result["chunked_path_points_per_s"] / baseline
    robust = result["robust_z_points_per_s"]
    result["ratio_robust_z_vs_baseline"] = robust / result["baseline_points_per_s"]
    result["peak_rss_mb"] = peak_rss_mb()
    result["load_average_after"] = os.getloadavg()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="series counts, comma-separated")
    parser.add_argument("--periods", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs, best one kept")
    parser.add_argument("--baseline-series", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=5000, help="series per chunk")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    indicator, rows = enterprise_indicator(), thresholds()
    warm_up_seconds = warm_up(indicator, rows)
    results = [
        run(int(size), args.periods, args.repeat, args.baseline_series, args.chunk)
        for size in args.sizes.split(",")
    ]
    print_table(
        (
            "series",
            "points",
            "threshold pts/s",
            "robust_z pts/s",
            "path pts/s",
            "path s",
            "path CPU s",
            "chunked path pts/s",
            "pandas loop pts/s*",
            "path / pandas",
            "peak MiB",
            "load avg (1 min)",
        ),
        [
            (
                r["series"],
                r["points"],
                r["threshold_points_per_s"],
                r["robust_z_points_per_s"],
                r["path_points_per_s"],
                r["path_seconds"],
                r["path_cpu_seconds"],
                r["chunked_path_points_per_s"],
                r["baseline_points_per_s"],
                r["ratio_path_vs_baseline"],
                r["peak_rss_mb"],
                r["load_average_before"][0],
            )
            for r in results
        ],
    )
    print(
        f"* pandas loop run on the first {args.baseline_series} series of each panel; "
        "its rate is extrapolated (linear in the series count)."
    )
    print(
        f"kernels loaded in {warm_up_seconds:.2f} s before timing; numba threads: "
        f"{numba.get_num_threads()}"
    )
    facts = machine()
    facts["libraries"]["numba"] = metadata.version("numba")
    payload = {
        "benchmark": "scoring",
        "machine": facts,
        "numba_threads": numba.get_num_threads(),
        "warm_up_seconds": warm_up_seconds,
        "results": results,
    }
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
