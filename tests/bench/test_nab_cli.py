"""bench/nab.py: its command-line interface on a tiny generated corpus and a stand-in scorer."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "nab.py"

# A stand-in with the scorer's interface: it records its calls and "scores" the maximum
# output inside the windows, so the test sees what the script handed over.
FAKE_SCORER = """
import json, os
import pandas as pd

CALLS = []

def load_corpus(data_dir, labels_file):
    labels = json.load(open(labels_file))
    stamps, windows = {}, {}
    for name, spans in labels.items():
        stamps[name] = pd.read_csv(os.path.join(data_dir, name), dtype=str)["timestamp"].to_numpy()
        rows = list(stamps[name])
        windows[name] = [(rows.index(a), rows.index(b)) for a, b in spans]
    return stamps, windows

def load_scores(scores_dir, stamps):
    return {n: pd.read_csv(os.path.join(scores_dir, n))["anomaly_score"].to_numpy() for n in stamps}

def score_detector(scores, windows, profile):
    CALLS.append(profile)
    best = max(float(scores[n][a:b + 1].max()) for n in windows for a, b in windows[n])
    hit = sum(1 for n in windows for a, b in windows[n] if scores[n][a:b + 1].max() > 0)
    return {"normalised": 100.0 * best, "threshold": 0.5, "windows": 1,
            "windows_hit": hit, "false_alarm_rows": 0, "profile": profile}
"""


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_nab", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stamps(count: int) -> list[str]:
    times = pd.date_range("2014-04-01", periods=count, freq="5min")
    return [t.strftime("%Y-%m-%d %H:%M:%S") for t in times]


def write(path: Path, timestamps: list[str], values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"timestamp": timestamps, "value": values}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """<root>/data/<category>/<name>.csv, <root>/labels.json, <root>/nab_score.py."""
    root = tmp_path_factory.mktemp("nab")
    rng = np.random.default_rng(0)
    shift = 50.0 + rng.normal(0.0, 1.0, 900)
    shift[700:] += 30.0
    times = stamps(900)
    times[400] = times[399]  # a repeated timestamp, kept as it is
    times[500:503] = stamps(900)[480:483]  # the clock jumps back, rows stay in file order
    write(root / "data" / "synthetic" / "level_shift.csv", times, shift)
    write(root / "data" / "synthetic" / "level_shift_prefix.csv", times[:600], shift[:600])
    write(root / "data" / "synthetic" / "flat.csv", stamps(300), np.full(300, 45.0))
    write(root / "data" / "other" / "short.csv", stamps(40), rng.normal(size=40))
    (root / "data" / "notes.csv").write_text("not a category file\n")
    labels = {"synthetic/level_shift.csv": [[times[650], times[750]]]}
    (root / "labels.json").write_text(json.dumps(labels))
    (root / "nab_score.py").write_text(FAKE_SCORER)
    return root


@pytest.fixture(scope="module")
def scored(corpus: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    assert load_script().main(["--data", str(corpus / "data"), "--out", str(out)]) == 0
    return out


def test_every_data_file_gets_an_output_of_the_same_rows_and_timestamps(corpus, scored):
    names = sorted(p.relative_to(scored).as_posix() for p in scored.glob("*/*.csv"))
    assert names == [
        "other/short.csv",
        "synthetic/flat.csv",
        "synthetic/level_shift.csv",
        "synthetic/level_shift_prefix.csv",
    ]
    for name in names:
        data = pd.read_csv(corpus / "data" / name, dtype={"timestamp": str})
        output = pd.read_csv(scored / name, dtype={"timestamp": str})
        assert list(output.columns) == ["timestamp", "anomaly_score"]
        assert output["timestamp"].tolist() == data["timestamp"].tolist()
        assert output["anomaly_score"].between(0.0, 1.0).all()
    assert not (scored / "notes.csv").exists() and not (scored / "results.json").exists()


def test_the_level_shift_scores_highest_where_it_happens_and_a_flat_line_never(scored):
    shift = pd.read_csv(scored / "synthetic" / "level_shift.csv")["anomaly_score"]
    assert 700 <= shift.idxmax() < 712
    assert (pd.read_csv(scored / "synthetic" / "flat.csv")["anomaly_score"] == 0.0).all()


def test_the_scores_of_a_file_are_causal(scored):
    full = pd.read_csv(scored / "synthetic" / "level_shift.csv")["anomaly_score"]
    prefix = pd.read_csv(scored / "synthetic" / "level_shift_prefix.csv")["anomaly_score"]
    pd.testing.assert_series_equal(prefix, full.iloc[:600])


def test_with_labels_it_prints_the_scorers_result_for_the_three_profiles(corpus, tmp_path, capsys):
    out = tmp_path / "scored"
    args = ["--data", str(corpus / "data"), "--out", str(out), "--labels"]
    assert load_script().main([*args, str(corpus / "labels.json")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("profile=")]
    assert [line.split()[0] for line in lines] == [
        "profile=standard",
        "profile=reward_low_FP_rate",
        "profile=reward_low_FN_rate",
    ]
    assert all("windows_hit=1/1" in line for line in lines)
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    assert results["standard"]["normalised"] > 50.0


def test_the_scorer_and_the_results_file_can_be_named(corpus, tmp_path):
    scorer = tmp_path / "elsewhere" / "scorer.py"
    scorer.parent.mkdir()
    scorer.write_text((corpus / "nab_score.py").read_text())
    target = tmp_path / "results" / "nab.json"
    args = ["--data", str(corpus / "data"), "--out", str(tmp_path / "o")]
    args += ["--labels", str(corpus / "labels.json"), "--scorer", str(scorer)]
    args += ["--json", str(target)]
    assert load_script().main(args) == 0
    assert json.loads(target.read_text())["standard"]["windows_hit"] == 1


def test_a_missing_scorer_or_data_folder_is_a_clear_error(corpus, tmp_path):
    script = load_script()
    args = ["--out", str(tmp_path / "o"), "--labels", str(corpus / "labels.json")]
    with pytest.raises(SystemExit, match="--scorer"):
        script.main([*args, "--data", str(corpus / "data"), "--scorer", str(tmp_path / "no.py")])
    with pytest.raises(SystemExit, match="data folder not found"):
        script.main([*args, "--data", str(tmp_path / "missing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no <category>/<name>.csv"):
        script.main([*args, "--data", str(tmp_path / "empty")])


def test_the_script_runs_from_the_repository_root(corpus, tmp_path):
    command = [sys.executable, "bench/nab.py", "--data", str(corpus / "data")]
    command += ["--out", str(tmp_path / "o")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "files=4 rows=1840" in done.stdout
