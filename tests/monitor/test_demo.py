"""The demo data set: determinism, coverage, the paper's figures, shocks that raise alerts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from functools import cache

import numpy as np
import pandas as pd
import pytest
import yaml
from numpy.lib.stride_tricks import sliding_window_view
from sqlalchemy import func, select

from monitor.catalog import apply_catalog, load_catalog
from monitor.demo import DEMO_LAST_PERIOD, extend_demo, generate_period, load_demo
from monitor.demo.episodes import DEMO_LABEL, SHOCKS, demo_episodes
from monitor.demo.generate import (
    EPISODES,
    FIRM_COUNT,
    ISI_2022,
    SEED,
    TABLE1_ENTRIES,
    TABLE3_EXPORT_COMPLEXITY,
    build_firms,
    crisis,
    episode,
    firm_records,
    generate_history,
    month_index,
)
from monitor.demo.load import CATALOG_PATH, DEMO_SOURCE, LOADED_KEY, _firm_data
from monitor.episodes import reference_episodes
from monitor.periods import next_period, parse_periods
from monitor.records import Entity, Episode, Observation, Setting
from monitor.vocabulary import Dimension, Level

CUTS = ("blue", "yellow", "orange", "red")
LAG = {"M": 12, "Q": 4, "A": 1}
WINDOW = 24


@cache
def catalog() -> dict:
    return yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))


@cache
def history() -> pd.DataFrame:
    return generate_history()


def indicators() -> dict[str, dict]:
    return {item["code"]: item for item in catalog()["indicators"]}


def entity_levels() -> dict[str, str]:
    levels = {item["code"]: item["level"] for item in catalog()["entities"]}
    levels.update((record["code"], "enterprise") for record in firm_records())
    return levels


# ---------------------------------------------------------------------------- determinism


def test_two_generations_are_equal():
    firms_a, traits_a = build_firms.__wrapped__(SEED)
    firms_b, traits_b = build_firms.__wrapped__(SEED)
    assert firms_a == firms_b
    assert np.array_equal(traits_a.size, traits_b.size)
    pd.testing.assert_frame_equal(
        generate_period(date(2021, 9, 1)), generate_period(date(2021, 9, 1))
    )


def test_another_seed_gives_other_firms():
    firms, _ = build_firms.__wrapped__(SEED + 1)
    assert [f.name_zh for f in firms] != [f.name_zh for f in build_firms()[0]]


@pytest.mark.parametrize("period", [date(2017, 1, 1), date(2020, 3, 1), date(2022, 12, 1)])
def test_generate_period_equals_the_slice_of_a_full_generation(period):
    month = generate_period(period)
    full = history().set_index(["indicator", "period"]).sort_index()
    for (indicator, label), rows in month.groupby(["indicator", "period"]):
        expected = full.loc[(indicator, label)].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            rows[["entity", "value", "synthetic"]].reset_index(drop=True),
            expected[["entity", "value", "synthetic"]],
        )


def test_a_shorter_history_is_a_prefix_of_the_full_one():
    short = generate_history(date(2018, 6, 1))
    pd.testing.assert_frame_equal(short, history().iloc[: len(short)])


def test_the_live_feed_continues_past_the_last_period():
    after = next_period(DEMO_LAST_PERIOD, "M")
    month = generate_period(after)
    pd.testing.assert_frame_equal(month, generate_period(after))
    assert set(month["period"]) >= {f"{after:%Y-%m}"}
    assert f"{after:%Y-%m}" not in set(history()["period"])
    with pytest.raises(ValueError, match="demo periods"):
        generate_period(date(2016, 12, 1))


# ---------------------------------------------------------------------------- contents


def test_there_are_at_least_2000_firms_each_in_a_city_and_a_cluster():
    firms, _ = build_firms()
    entities = {item["code"]: item for item in catalog()["entities"]}
    cities = {code for code, item in entities.items() if item["kind"] == "city"}
    industries = {code for code, item in entities.items() if item["level"] == "industry"}
    assert len(firms) == FIRM_COUNT >= 2000
    assert len({f.code for f in firms}) == len({f.name_zh for f in firms}) == len(firms)
    assert all(f.region in cities and f.cluster in industries for f in firms)
    assert set(Counter(f.cluster for f in firms)) == industries
    assert len(cities) == 16
    assert all(record["synthetic"] is True for record in firm_records())


def test_the_catalog_covers_every_level_and_dimension():
    cells = Counter((item["level"], item["dimension"]) for item in indicators().values())
    assert set(cells) == {(level.value, dim.value) for level in Level for dim in Dimension}
    per_dimension = Counter(item["dimension"] for item in indicators().values())
    assert min(per_dimension.values()) >= 3
    assert {item["frequency"] for item in indicators().values()} == {"M", "Q", "A"}
    core = {item["level"] for item in indicators().values() if item.get("core")}
    assert core == {"government", "industry"}


def test_the_catalog_has_default_thresholds_for_every_cell_and_model():
    rows = [row for row in catalog()["thresholds"] if not row.get("indicator")]
    scopes = Counter((row["model"], row["level"], row["dimension"]) for row in rows)
    expected = {
        (model, level.value, dim.value)
        for model in ("threshold", "robust_z")
        for level in Level
        for dim in Dimension
    }
    assert set(scopes) == expected and max(scopes.values()) == 1
    robust = [row for row in rows if row["model"] == "robust_z"]
    assert {tuple(row[c] for c in CUTS) for row in robust} == {(3.5, 4.5, 6.0, 8.0)}
    assert {row["direction"] for row in robust} == {"up"}


def test_the_catalog_loads_cleanly(database):
    with database.session() as session:
        report = load_catalog(session, CATALOG_PATH)
    assert report.entities.created == len(catalog()["entities"]) == 37
    assert report.indicators.created == len(catalog()["indicators"])
    assert report.thresholds.created == len(catalog()["thresholds"])


def test_every_generated_row_fits_the_catalog():
    frame = history()
    levels = entity_levels()
    info = indicators()
    assert frame["indicator"].isin(list(info)).all()
    assert frame["entity"].isin(list(levels)).all()
    indicator_level = frame["indicator"].map({code: i["level"] for code, i in info.items()})
    assert (indicator_level == frame["entity"].map(levels)).all()
    frequency = frame["indicator"].map({code: i["frequency"] for code, i in info.items()})
    _, errors = parse_periods(frame["period"], frequency)
    assert errors.isna().all()
    assert not frame.duplicated(["indicator", "entity", "period"]).any()
    assert frame["value"].notna().all() and np.isfinite(frame["value"]).all()
    assert len(frame) < 1_000_000


def test_the_papers_figures_are_loaded_as_they_are_and_not_synthetic():
    frame = history()
    real = frame[~frame["synthetic"]]
    entries = real[real["indicator"] == "IND_ENTRIES"]
    for cluster, values in TABLE1_ENTRIES.items():
        series = entries[entries["entity"] == cluster].set_index("period")["value"]
        assert series.to_dict() == {str(2017 + i): float(v) for i, v in enumerate(values)}
    assert TABLE1_ENTRIES["CL-WF-PE"] == (900, 853, 840, 737, 955, 1020)
    complexity = real[real["indicator"] == "GOV_EXPORT_COMPLEXITY"]
    for province, values in TABLE3_EXPORT_COMPLEXITY.items():
        series = complexity[complexity["entity"] == province].set_index("period")["value"]
        assert series.to_dict() == {str(2017 + i): float(v) for i, v in enumerate(values)}
    assert TABLE3_EXPORT_COMPLEXITY["GD"] == (34421, 28760, 39447, 40114, 43603, 43550)
    isi = real[real["indicator"] == "IND_ISI"].set_index("entity")["value"]
    assert isi.to_dict() == ISI_2022 and isi["CAT-BFU"] == 507.6
    assert len(real) == 3 * 6 + 5 * 6 + 13
    # the years after the paper continue the same series, marked synthetic
    later = frame[(frame["indicator"] == "IND_ENTRIES") & (frame["period"] == "2023")]
    assert len(later) == 3 and later["synthetic"].all()


# ---------------------------------------------------------------------------- alerts


def threshold_row(model: str, indicator: dict) -> dict:
    rows = catalog()["thresholds"]
    for row in rows:
        if row["model"] == model and row.get("indicator") == indicator["code"]:
            return row
    (row,) = [
        row
        for row in rows
        if row["model"] == model
        and not row.get("indicator")
        and (row["level"], row["dimension"]) == (indicator["level"], indicator["dimension"])
    ]
    return row


def colours(score: pd.DataFrame, row: dict, direction: str) -> pd.DataFrame:
    """0 (normal) to 4 (red) where scored, NaN where not."""
    level = pd.DataFrame(0, index=score.index, columns=score.columns)
    for cut in CUTS:
        if direction == "up":
            level += (score >= row[cut]).astype(int)
        elif direction == "down":
            level += (score <= row[cut]).astype(int)
        else:
            level += (score.abs() >= row[cut]).astype(int)
    return level.where(score.notna())


def robust_z(values: pd.DataFrame) -> pd.DataFrame:
    """(x - median of the previous 24) / (1.4826 MAD of them); NaN without 24 or MAD 0."""
    data = values.to_numpy(dtype=float)
    scores = np.full_like(data, np.nan)
    if len(data) > WINDOW:
        windows = sliding_window_view(data[:-1], WINDOW, axis=0)
        median = np.median(windows, axis=-1)
        mad = np.median(np.abs(windows - median[..., None]), axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            scores[WINDOW:] = np.where(mad > 0, (data[WINDOW:] - median) / (1.4826 * mad), np.nan)
    return pd.DataFrame(scores, index=values.index, columns=values.columns)


def series(code: str) -> pd.DataFrame:
    frame = history()
    rows = frame[frame["indicator"] == code]
    return rows.pivot(index="period", columns="entity", values="value").sort_index()


@cache
def coloured_share() -> dict[tuple[str, str, str], tuple[int, int]]:
    """(coloured points, scored points) per (level, dimension, model)."""
    totals: dict[tuple[str, str, str], list[int]] = {}
    for code, indicator in indicators().items():
        values = series(code)
        lag = LAG[indicator["frequency"]] if indicator["transform"] == "yoy" else 1
        transformed = (
            values
            if indicator["transform"] == "level"
            else (values / values.shift(lag) - 1.0) * 100.0
        )
        row = threshold_row("threshold", indicator)
        by_threshold = colours(transformed, row, row.get("direction") or indicator["direction"])
        z = robust_z(values)
        z = {"down": -z, "both": z.abs()}.get(indicator["direction"], z)
        by_z = colours(z, threshold_row("robust_z", indicator), "up")
        for model, graded in (("threshold", by_threshold), ("robust_z", by_z)):
            key = (indicator["level"], indicator["dimension"], model)
            total = totals.setdefault(key, [0, 0])
            total[0] += int((graded > 0).sum().sum())
            total[1] += int(graded.notna().sum().sum())
    return {key: (hit, scored) for key, (hit, scored) in totals.items()}


@pytest.mark.parametrize("level", [level.value for level in Level])
@pytest.mark.parametrize("dimension", [dim.value for dim in Dimension])
def test_every_level_and_dimension_gets_alerts_but_is_not_noisy(level, dimension):
    shares = {
        model: coloured_share().get((level, dimension, model), (0, 0))
        for model in ("threshold", "robust_z")
    }
    assert sum(hit for hit, _ in shares.values()) > 0
    for hit, scored in shares.values():
        assert hit <= 0.05 * max(scored, 1)


def test_the_real_figures_themselves_raise_warnings():
    complexity = series("GOV_EXPORT_COMPLEXITY")
    change = (complexity / complexity.shift(1) - 1.0) * 100.0
    row = threshold_row("threshold", indicators()["GOV_EXPORT_COMPLEXITY"])
    graded = colours(change, row, "down")
    assert graded.loc["2018", "GD"] >= 2  # Guangdong's 2018 drop
    assert graded.loc["2020", "SD"] >= 1  # Shandong's 2020 dip
    entries = series("IND_ENTRIES")
    change = (entries / entries.shift(1) - 1.0) * 100.0
    graded = colours(change, threshold_row("threshold", indicators()["IND_ENTRIES"]), "down")
    assert graded.loc["2020", "CL-WF-PE"] >= 1  # Weifang's 2020 fall in entries


# ---------------------------------------------------------------------------- stages


def test_every_region_and_industry_has_a_performance_series_to_be_staged_on():
    frame = history()
    cores = {code: item["level"] for code, item in indicators().items() if item.get("core")}
    observed = set(zip(frame["indicator"], frame["entity"], strict=True))
    staged_levels = {Level.GOVERNMENT.value, Level.INDUSTRY.value}
    unstaged = [
        item["code"]
        for item in catalog()["entities"]
        if item["level"] in staged_levels
        and not any(
            level == item["level"] and (code, item["code"]) in observed
            for code, level in cores.items()
        )
    ]
    assert unstaged == []


def core_series() -> pd.DataFrame:
    """The monthly performance series: those of Shandong, its cities and the industries."""
    cores = [
        code for code, item in indicators().items() if item.get("core") and item["frequency"] == "M"
    ]
    return pd.concat([series(code) for code in cores], axis=1)


def test_the_pandemic_is_a_full_shock_cycle_for_every_region_and_industry():
    core = core_series()
    before = core.loc["2019-07":"2019-12"].max()
    trough = core.loc["2020-02":"2020-04"].min()
    after = core.loc["2021-01":"2021-06"].max()
    assert (trough < 0.85 * before).all()  # absorption: a deep fall
    assert (after > before).all()  # recovery: back above the pre-shock level
    bottom = core.loc["2020-02":"2020-04"]
    assert ((bottom.max() - bottom.min()) / bottom.min() < 0.12).all()  # adaptation: a floor


def test_the_current_view_shows_entities_in_different_stages():
    core = core_series()
    last = core.iloc[-1]
    peak = core.iloc[-13:].max()
    falling = (last < 0.85 * peak) & (last < core.iloc[-4])
    rising = (last < peak) & (last > 1.1 * core.iloc[-8:].min()) & (last > core.iloc[-4])
    calm = last > 0.96 * peak
    assert set(falling[falling].index) == {"SD-WF", "CL-WF-PE"}
    assert {"SD-DY", "CAT-PCM"} <= set(rising[rising].index)
    assert calm.sum() >= 0.6 * len(calm)


# ---------------------------------------------------------------------------- episodes


def _months(start: date, end: date | None) -> tuple[int, int]:
    return month_index(start), month_index(end) if end else month_index(DEMO_LAST_PERIOD)


def test_every_planted_shock_is_dated_from_its_first_to_its_last_month():
    episodes = demo_episodes()
    assert set(SHOCKS) == set(EPISODES) == {e.shock for e in episodes} - {"crisis"}
    for name in SHOCKS:
        ((start, end),) = {(e.start, e.end) for e in episodes if e.shock == name}
        first, last = _months(start, end)
        assert episode(name, np.array([first - 1.0])) == 0.0 < episode(name, np.array([first]))
        assert episode(name, np.array([float(last)])) > 0.0
        if end is not None:
            assert episode(name, np.array([last + 1.0])) == 0.0
    trade = [e for e in episodes if e.shock == "trade_war"]
    assert {(e.entity, e.dimension) for e in trade} == {("SD", "trade"), ("SD", "technology")}
    assert trade[0].start == date(2018, 4, 1) and trade[0].end == date(2021, 5, 1)
    assert {"economic", "trade"} <= {e.dimension for e in episodes if e.shock == "pandemic"}
    late = [e for e in episodes if e.shock in ("weifang_2026", "dongying_2025")]
    assert {e.entity for e in late} == {"SD-WF", "SD-DY", "CAT-PCM"}
    assert all(e.end is None for e in late)  # still under way at the end of the history


def test_each_firm_crisis_is_dated_for_that_firm_until_it_settles():
    firms, traits = build_firms()
    hit = {firms[i].code: traits.crisis_start[i] for i in np.flatnonzero(traits.crisis_start >= 0)}
    crises = [e for e in demo_episodes() if e.shock == "crisis"]
    assert {e.entity for e in crises} == set(hit)
    for item in crises:
        begun = np.array([hit[item.entity]])
        first = month_index(item.start)
        assert first == begun[0] and crisis(np.array([first - 1.0]), begun)[0] == 0.0
        if item.end is not None:
            settled = crisis(np.array([month_index(item.end) + 1.0]), begun)[0]
            assert settled == crisis(np.array([month_index(item.end) + 12.0]), begun)[0]
    assert all(e.label.endswith(DEMO_LABEL) for e in demo_episodes())


def _catalog_and_firms(database) -> None:
    with database.session() as session:
        load_catalog(session, CATALOG_PATH, actor=DEMO_SOURCE)
        apply_catalog(session, _firm_data(), actor=DEMO_SOURCE)


def test_a_demo_loaded_before_it_had_episodes_gets_them_dated_once(database, now):
    _catalog_and_firms(database)
    with database.session() as session:
        session.add(Setting(key=LOADED_KEY, value=json.dumps({"last_period": "2026-09-01"})))
    report = load_demo(database, now=now)
    assert not report.loaded and report.episodes == len(demo_episodes())
    assert "shock episodes were dated" in report.message
    with database.session() as session:
        rows = session.scalars(select(Episode)).all()
        assert len(rows) == len(demo_episodes())
        assert {row.author for row in rows} == {DEMO_SOURCE}
        pandemic = reference_episodes(session, Level.ENTERPRISE, Dimension.ECONOMIC)
        firms_hit = {ref.entity for ref in pandemic if ref.start == pd.Timestamp("2020-01-01")}
        assert len(firms_hit) == FIRM_COUNT  # the province's episode covers every firm
    again = load_demo(database, now=now)
    assert again.episodes == 0 and "nothing was done" in again.message
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Episode)) == len(demo_episodes())


# ---------------------------------------------------------------------------- loading


@pytest.mark.slow
def test_load_demo_loads_everything_once(database, now):
    report = load_demo(database, now=now)
    assert report.loaded and report.ingest is not None
    assert report.ingest.rejected == 0
    assert report.ingest.inserted == len(history())
    assert report.firms.created == FIRM_COUNT
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == len(history())
        assert session.scalar(select(func.count()).select_from(Entity)) == 37 + FIRM_COUNT
        real = select(func.count()).where(Observation.synthetic.is_(False))
        assert session.scalar(real) == 3 * 6 + 5 * 6 + 13
        state = json.loads(session.get(Setting, LOADED_KEY).value)
        assert state["last_period"] == DEMO_LAST_PERIOD.isoformat()
        dated = session.scalar(select(func.count()).select_from(Episode))
        assert dated == report.episodes == len(demo_episodes())
    again = load_demo(database, now=now)
    assert not again.loaded and again.ingest is None and again.episodes == 0
    assert "already loaded" in again.message
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Episode)) == dated
    month = extend_demo(database, next_period(DEMO_LAST_PERIOD, "M"), now=now)
    assert month.rejected == 0 and month.inserted == len(generate_period(date(2026, 10, 1)))
