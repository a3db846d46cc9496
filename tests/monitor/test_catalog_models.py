"""Threshold rows of every model the pipeline runs: their params, checked on loading."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.catalog import CatalogValidationError, load_catalog
from monitor.db import Database
from monitor.records import Indicator, Threshold
from monitor.scoring import build_model, model_history

CATALOG = """
indicators:
  - {code: X, name_zh: 指标X, name_en: X, dimension: trade, level: government,
     frequency: M, direction: down, transform: yoy}
thresholds:
  - {model: ewma, level: government, dimension: trade,
     blue: 2, yellow: 2.5, orange: 3, red: 3.5, params: {alpha: 0.3, baseline: 24}}
  - {model: cusum, level: government, dimension: trade, direction: up,
     blue: 4, yellow: 5, orange: 6, red: 8, params: {k: 0.25}}
  - {model: seasonal, level: government, dimension: trade, indicator: X,
     blue: 2, yellow: 3, orange: 4, red: 5, params: {cycles: 2, window: 12, min_periods: 6}}
  - {model: level_shift, level: government, dimension: trade,
     blue: 2, yellow: 3, orange: 4, red: 5}
  - {model: volatility_shift, level: government, dimension: trade,
     blue: 0.4, yellow: 0.7, orange: 1.0, red: 1.4, params: {window: 4, reference: 12}}
  - {model: novelty, level: government, dimension: trade,
     blue: 5, yellow: 10, orange: 15, red: 25, params: {length: 2, memory: 36}}
  - {model: ensemble, level: government, dimension: trade,
     blue: 1, yellow: 1.5, orange: 2, red: 2.5, params: {combine: mean, refractory: 3}}
  - {model: peers, level: enterprise, dimension: economic,
     blue: 2, yellow: 3, orange: 4, red: 6, params: {min_peers: 4}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_of_the_library_models_are_stored_with_their_params_and_rising_cut_offs(
    database: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "catalog.yaml", CATALOG)
    with database.session() as session:
        report = load_catalog(session, path)
    with database.session() as session:
        again = load_catalog(session, path)
        rows = {row.model: row for row in session.scalars(select(Threshold))}

    assert report.thresholds.created == 8 and again.thresholds.unchanged == 8
    assert rows["ewma"].params == {"alpha": 0.3, "baseline": 24}
    assert rows["cusum"].params == {"k": 0.25}
    assert rows["level_shift"].params is None
    assert rows["ensemble"].params == {"combine": "mean", "refractory": 3}
    assert rows["peers"].params == {"min_peers": 4}
    # Scores of these models grow with risk: every row compares upwards.
    assert {row.direction for row in rows.values()} == {"up"}


def test_a_rows_params_reach_the_detector_and_its_look_back(
    database: Database, tmp_path: Path
) -> None:
    with database.session() as session:
        load_catalog(session, write(tmp_path, "catalog.yaml", CATALOG))
    with database.session() as session:
        indicator = session.scalars(select(Indicator)).one()
        rows = {row.model: row for row in session.scalars(select(Threshold))}
        ewma = build_model(indicator, "ewma", rows["ewma"])
        seasonal = build_model(indicator, "seasonal", rows["seasonal"])
        shift = build_model(indicator, "volatility_shift", rows["volatility_shift"])
        peers = build_model(indicator, "peers", rows["peers"])

        assert (ewma.alpha, ewma.baseline, ewma.transform) == (0.3, 24, "yoy")
        assert (seasonal.cycles, seasonal.window, seasonal.min_periods) == (2, 12, 6)
        # window 4 + reference 12 - 1, and the year-on-year lag of 12 months
        assert model_history(indicator, "volatility_shift", rows["volatility_shift"]) == 27
        # 12 residuals, 2 seasons of 12 months and the previous month, then the lag
        assert model_history(indicator, "seasonal", rows["seasonal"]) == 12 + 24 + 1 + 12
        assert model_history(indicator, "ewma", rows["ewma"]) is None
        assert model_history(indicator, "ensemble", rows["ensemble"]) is None
        assert shift.reference == 12
        # each period against its peers of the same period: only the yoy lag
        assert (peers.min_peers, peers.transform) == (4, "yoy")
        assert model_history(indicator, "peers", rows["peers"]) == 12


BAD_ROWS = """
indicators:
  - {code: X, name_zh: 指标X, name_en: X, dimension: trade, level: government,
     frequency: M, direction: down}
thresholds:
  - {model: peers, level: government, dimension: trade, blue: 1, yellow: 2, orange: 3, red: 4}
  - {model: forest, level: enterprise, dimension: economic,
     blue: 0.1, yellow: 0.2, orange: 0.3, red: 0.4}
  - {model: ewma, level: government, dimension: trade,
     blue: 1, yellow: 2, orange: 3, red: 4, params: {alpha: 2}}
  - {model: cusum, level: government, dimension: economic,
     blue: 1, yellow: 2, orange: 3, red: 4, params: {window: 12}}
  - {model: robust_z, level: government, dimension: political,
     blue: 1, yellow: 2, orange: 3, red: 4, params: {transform: pop}}
  - {model: ensemble, level: industry, dimension: trade,
     blue: 1, yellow: 2, orange: 3, red: 4, params: {members: [ewma, cusum]}}
  - {model: level_shift, level: industry, dimension: economic, direction: down,
     blue: -1, yellow: -2, orange: -3, red: -4}
  - {model: novelty, level: industry, dimension: political,
     blue: 1, yellow: 2, orange: 3, red: 4, params: "length 3"}
  - {model: seasonal, level: government, dimension: trade, indicator: X,
     blue: -1, yellow: -2, orange: -3, red: -4}
  - {model: threshold, level: government, dimension: environmental,
     blue: 1, yellow: 2, orange: 3, red: 4, params: {steps: [yoy]}}
  - {model: peers, level: enterprise, dimension: economic,
     blue: 1, yellow: 2, orange: 3, red: 4, params: {groups: {F1: CL1}}}
"""


def test_rows_a_pipeline_cannot_run_are_refused_each_with_why(
    database: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "bad.yaml", BAD_ROWS)

    with database.session() as session, pytest.raises(CatalogValidationError) as caught:
        load_catalog(session, path)

    expected = [
        ("thresholds record 1", "rows must be at level enterprise, not government"),
        ("thresholds record 2", "model 'forest' cannot be scored by the pipeline: it scores"),
        ("thresholds record 3", "params: alpha"),
        ("thresholds record 4", "params: cusum has no parameter(s) window"),
        ("thresholds record 5", "params cannot set transform"),
        ("thresholds record 6", "params members: a value must be a number"),
        ("thresholds record 7", "direction must be up or empty, not down"),
        ("thresholds record 8", "params must be a mapping"),
        ("thresholds record 10", "params cannot set steps"),
        ("thresholds record 11", "params cannot set groups"),
        # cut-offs are checked once every record is read
        ("thresholds record 9", "blue <= yellow <= orange <= red is needed for direction up"),
    ]
    problems = caught.value.problems
    assert len(problems) == len(expected)
    for problem, (where, words) in zip(problems, expected, strict=True):
        assert problem.startswith(where + ":") and words in problem, problem
    with database.session() as session:
        assert session.scalar(select(Threshold)) is None


def test_a_csv_catalog_takes_params_as_json_text(database: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "thresholds.csv",
        "model,level,dimension,blue,yellow,orange,red,params\n"
        'cusum,industry,economic,4,5,6,8,"{""k"": 1, ""clip"": 5}"\n',
    )

    with database.session() as session:
        load_catalog(session, path)
    with database.session() as session:
        row = session.scalars(select(Threshold)).one()
        assert (row.model, row.params, row.direction) == ("cusum", {"k": 1, "clip": 5}, "up")
