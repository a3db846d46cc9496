"""Run ClusterWatch's streaming anomaly ensemble over NAB data files and score it.

Usage, from the repository root in the project's environment::

    python bench/nab.py --data DIR --out DIR [--labels FILE] [--scorer PATH] [--json FILE]

Every ``<category>/<name>.csv`` under ``--data`` (columns ``timestamp,value``) is fed to
a fresh detector as a one-column panel, rows in file order, exactly as the scheduler
feeds a panel to a model: ``fit(panel).score(panel)``, every score causal. The output
``<out>/<category>/<name>.csv`` holds ``timestamp,anomaly_score`` (0..1), one row per
input row. With ``--labels`` the benchmark's scorer (``nab_score.py``, found next to the
data folder unless ``--scorer`` says where) scores the output for the three NAB profiles,
prints one line per profile and writes the results as JSON.

One configuration serves every file: :func:`stream_detector`. It never sees labels.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from models.calibration import EnvelopeExceedance
from models.ensemble import EnsembleDetector, Member
from models.ewma import EwmaDetector
from models.novelty import NoveltyDetector
from models.shifts import LevelShiftDetector
from models.threshold import ThresholdDetector

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def stream_detector() -> EnsembleDetector:
    """The one configuration for every stream: five voices, each read as a new extreme.

    * pattern novelty over 16 and 256 observations (the distance to the nearest earlier
      stretch within 6000 observations), counted when it beats the novelty of the last
      1000 observations;
    * the value itself, its EWMA-smoothed level and a level shift (median of the last 12
      against the 288 before), counted when they leave everything seen so far.

    The weights put the five on one scale; after a score, 100 observations must bring
    a stronger one to count again.
    """
    stream = {"frequency": None}
    recent_record = EnvelopeExceedance(memory=1000, side="up")
    new_extreme = EnvelopeExceedance(side="both")
    level_shift = LevelShiftDetector(
        window=12, reference=288, min_periods=144, standardize=False, **stream
    )
    members = [
        Member(NoveltyDetector(length=16, memory=6000, **stream), recent_record, 1.0),
        Member(NoveltyDetector(length=256, memory=6000, **stream), recent_record, 0.35),
        Member(ThresholdDetector(), new_extreme, 0.25),
        Member(EwmaDetector(alpha=0.2, standardize=False, **stream), new_extreme, 0.7),
        Member(level_shift, new_extreme, 1.0),
    ]
    return EnsembleDetector(members=members, refractory=100, frequency=None)


def stream_panel(values: np.ndarray) -> pd.DataFrame:
    """One stream as a one-column panel: rows in arrival order on a placeholder clock."""
    index = pd.date_range("2000-01-01", periods=len(values), freq="min", name="row")
    return pd.DataFrame({"value": np.asarray(values, dtype=np.float64)}, index=index)


def anomaly_scores(values: np.ndarray) -> np.ndarray:
    """Scores in 0..1 for one stream, from a fresh detector: ``s / (1 + s)``, 0 for none."""
    panel = stream_panel(values)
    combined = stream_detector().fit(panel).score(panel)["value"].to_numpy()
    combined = np.nan_to_num(combined, nan=0.0)
    return combined / (1.0 + combined)


def data_files(data_dir: Path) -> list[Path]:
    """Every ``<category>/<name>.csv`` under ``data_dir``, sorted."""
    return sorted(path for path in data_dir.glob("*/*.csv") if path.is_file())


def run_detector(data_dir: Path, out_dir: Path) -> list[tuple[str, int, float]]:
    """Score every data file and write its output; returns (name, rows, seconds) per file."""
    done = []
    for path in data_files(data_dir):
        name = path.relative_to(data_dir).as_posix()
        frame = pd.read_csv(path, dtype={"timestamp": str})
        started = time.perf_counter()
        scores = anomaly_scores(frame["value"].to_numpy(dtype=np.float64))
        elapsed = time.perf_counter() - started
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": frame["timestamp"], "anomaly_score": scores}).to_csv(
            target, index=False, float_format="%.12g"
        )
        done.append((name, len(frame), elapsed))
        print(f"{name:70s} rows={len(frame):6d} {elapsed:6.2f} s", file=sys.stderr)
    return done


def load_scorer(path: Path) -> ModuleType:
    """Import the benchmark's scorer from its file, without copying it."""
    if not path.is_file():
        raise SystemExit(f"scorer not found: {path} (give its location with --scorer)")
    spec = importlib.util.spec_from_file_location("nab_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import the scorer from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score_output(scorer: ModuleType, data_dir: Path, labels: Path, out_dir: Path) -> dict:
    """The scorer's result for every profile: {profile: result dict}."""
    stamps, windows = scorer.load_corpus(str(data_dir), str(labels))
    scores = scorer.load_scores(str(out_dir), stamps)
    return {profile: scorer.score_detector(scores, windows, profile) for profile in PROFILES}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="folder of <category>/<name>.csv")
    parser.add_argument("--out", required=True, type=Path, help="folder for the scores")
    parser.add_argument("--labels", type=Path, help="windows JSON: also score the output")
    parser.add_argument(
        "--scorer", type=Path, help="nab_score.py (default: next to the data folder)"
    )
    parser.add_argument("--json", type=Path, help="results file (default: <out>/results.json)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"data folder not found: {args.data}")
    if not data_files(args.data):
        raise SystemExit(f"no <category>/<name>.csv files under {args.data}")
    started = time.perf_counter()
    done = run_detector(args.data, args.out)
    elapsed = time.perf_counter() - started
    rows = sum(count for _, count, _ in done)
    print(f"files={len(done)} rows={rows} seconds={elapsed:.1f}")
    if args.labels is None:
        return 0
    scorer = load_scorer(args.scorer or args.data.resolve().parent / "nab_score.py")
    results = score_output(scorer, args.data, args.labels, args.out)
    for profile, result in results.items():
        print(
            f"profile={profile} score={result['normalised']:.2f} "
            f"threshold={result['threshold']:.6g} windows_hit={result['windows_hit']}"
            f"/{result['windows']} false_alarm_rows={result['false_alarm_rows']}"
        )
    target = args.json or args.out / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
