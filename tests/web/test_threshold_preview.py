"""The backtest preview before saving a threshold, the reason it needs, the audit log
and restoring an earlier setting."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from flask.testing import FlaskClient
from sqlalchemy import select

from models.signals import Episode, backtest, episode_masks
from monitor.audit import change_threshold
from monitor.db import Database
from monitor.episodes import add_episode
from monitor.records import Indicator, JobRun, Score, Shock, Threshold
from tests.web.dataset import World, build_world
from tests.web.test_thresholds import VALID_DOWN, edit_url
from web.backtest import (
    History,
    Proposal,
    Replay,
    applied,
    covered_indicators,
    evaluate,
    load_histories,
    prepare,
    propose,
)
from web.backtest_cache import BoundedCache

TOTALS = re.compile(r'id="preview-current-total">(\d+)<.*?id="preview-proposed-total">(\d+)<', re.S)
# The Weifang new-firm changes: 2018 -5.22 %, 2019 -1.52 %, 2020 -12.26 %, then growth.
CURRENT = {"direction": None, "blue": -5, "yellow": -10, "orange": -15, "red": -20,
           "clear": None, "min_periods": 1}  # fmt: skip
CURRENT_FORM = {"direction": "", "blue": "-5", "yellow": "-10", "orange": "-15", "red": "-20",
                "clear": "", "min_periods": "1"}  # fmt: skip


def _firms(database: Database, world: World) -> tuple[list[Indicator], Threshold]:
    session = database.sessions()
    threshold = session.get(Threshold, world.thresholds["industry_economic"])
    return covered_indicators(session, threshold), threshold


def test_replaying_the_current_setting_counts_one_alert_per_coloured_run(
    database: Database, world: World
) -> None:
    indicators, threshold = _firms(database, world)
    assert "ind.new_firms" in [indicator.code for indicator in indicators]
    outcome = evaluate(prepare(database.sessions(), threshold), CURRENT)
    assert outcome.years == {
        2018: {"blue": 1, "yellow": 0, "orange": 0, "red": 0},
        2020: {"blue": 0, "yellow": 1, "orange": 0, "red": 0},
    }
    assert outcome.entities == {world.entities["WF-POWER"]: {"blue": 1, "yellow": 1}}
    assert outcome.signals is None


def test_two_consecutive_periods_silence_the_isolated_drops(
    database: Database, world: World
) -> None:
    _indicators, threshold = _firms(database, world)
    outcome = evaluate(prepare(database.sessions(), threshold), {**CURRENT, "min_periods": 2})
    assert outcome.alerts == 0


def test_dated_shocks_give_hits_misses_and_false_alarms(database: Database, world: World) -> None:
    with database.session() as session:
        entity_id = world.entities["WF-POWER"]
        session.add(
            Shock(entity_id=entity_id, indicator_id=world.indicators["firms"], number=1,
                  cause="drop", outcome="ongoing", start=date(2022, 1, 1), peak=date(2021, 1, 1),
                  trough=date(2022, 1, 1), latest=date(2022, 1, 1),
                  baseline=900, peak_value=840, trough_value=737, absorption_periods=1)
        )  # fmt: skip
    _indicators, threshold = _firms(database, world)
    replay = prepare(database.sessions(), threshold)
    assert replay.source == "detected"
    outcome = evaluate(replay, CURRENT)
    # Two-year window before the 2022 shock: 2020 signals (hit), 2021 does not (miss);
    # 2018 signals with no shock in 2019-2020 (false alarm), 2019 is quiet.
    assert outcome.signals == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert outcome.noise_to_signal == 1.0


def test_preview_shows_current_and_proposed_numbers_side_by_side(
    as_admin: FlaskClient, world: World
) -> None:
    page = as_admin.get(edit_url(world)).get_data(as_text=True)
    assert TOTALS.search(page).groups() == ("2", "2")
    preview_url = f"/thresholds/{world.thresholds['industry_economic']}/preview"
    response = as_admin.post(preview_url, data={**VALID_DOWN, "min_periods": "2", "reason": ""})
    assert response.status_code == 200
    assert TOTALS.search(response.get_data(as_text=True)).groups() == ("2", "0")
    looser = as_admin.post(
        preview_url, data={**VALID_DOWN, "blue": "-1", "clear": "", "min_periods": "1"}
    )
    # -5.22, -1.52 and -12.26 now form one run from 2018 to 2020: one orange alert.
    assert TOTALS.search(looser.get_data(as_text=True)).groups() == ("2", "1")
    assert "潍坊动力装备集群" in looser.get_data(as_text=True)


def test_preview_explains_an_invalid_setting(as_admin: FlaskClient, world: World) -> None:
    url = f"/thresholds/{world.thresholds['industry_economic']}/preview"
    response = as_admin.post(url, data={**VALID_DOWN, "yellow": "-3"})
    assert response.status_code == 422
    assert "单调递增或单调递减" in response.get_data(as_text=True)


def test_viewers_and_operators_get_no_preview(client: FlaskClient, world: World) -> None:
    from tests.web.conftest import log_in

    url = f"/thresholds/{world.thresholds['industry_economic']}/preview"
    for user in ("vera", "otto"):
        log_in(client, user)
        assert client.post(url, data=VALID_DOWN).status_code == 403
        client.post("/logout")


def test_saving_needs_a_reason(as_admin: FlaskClient, database: Database, world: World) -> None:
    response = as_admin.post(edit_url(world), data={**VALID_DOWN, "reason": ""})
    assert response.status_code == 200
    with database.session() as session:
        assert session.get(Threshold, world.thresholds["industry_economic"]).blue == -5


def test_a_saved_change_appears_in_the_audit_log_and_can_be_restored(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    as_admin.post(edit_url(world), data=VALID_DOWN)
    log = as_admin.get("/thresholds/audit").get_data(as_text=True)
    assert "Fewer blue warnings after the 2023 review" in log and "ada" in log
    assert "-5 → -4" in log and "1 → 2" in log
    entry = re.search(r'action="/thresholds/audit/(\d+)/restore"', log).group(1)
    response = as_admin.post(f"/thresholds/audit/{entry}/restore", data={"reason": "undo"})
    assert response.status_code == 302
    with database.session() as session:
        row = session.get(Threshold, world.thresholds["industry_economic"])
        assert row.cutoffs() == (-5, -10, -15, -20) and row.min_periods == 1
    assert "undo" in as_admin.get("/thresholds/audit").get_data(as_text=True)


def test_viewers_read_the_audit_log_but_cannot_restore(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    with database.session() as session:
        row = session.get(Threshold, world.thresholds["industry_economic"])
        entry = change_threshold(session, row, {"blue": -4}, actor="ada", reason="seen by all")
        entry_id = entry.id
    page = as_viewer.get("/thresholds/audit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "seen by all" in text and "/restore" not in text
    response = as_viewer.post(f"/thresholds/audit/{entry_id}/restore", data={"reason": "x"})
    assert response.status_code == 403


def test_the_preview_reads_the_scores_again_once_a_job_run_finishes(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    url = f"/thresholds/{world.thresholds['industry_economic']}/preview"
    assert TOTALS.search(as_admin.post(url, data=CURRENT_FORM).get_data(as_text=True)).groups() == (
        "2", "2"
    )  # fmt: skip
    with database.session() as session:
        score = session.scalars(
            select(Score).filter_by(
                indicator_id=world.indicators["firms"], entity_id=world.entities["WF-POWER"],
                model="threshold", period=date(2019, 1, 1),
            )
        ).one()  # fmt: skip
        score.score = -30.0  # 2018-2020 now breach in a row: one alert
    cached = as_admin.post(url, data=CURRENT_FORM).get_data(as_text=True)
    assert TOTALS.search(cached).groups() == ("2", "2")  # no run finished: the cached panel
    with database.session() as session:
        session.add(JobRun(job="score", status="ok", finished_at=datetime.now(UTC)))
    fresh = as_admin.post(url, data=CURRENT_FORM).get_data(as_text=True)
    assert TOTALS.search(fresh).groups() == ("1", "1")


def test_scores_load_into_the_same_panel_on_every_backend(any_database: Database) -> None:
    with any_database.session() as session:
        world = build_world(session, datetime(2024, 7, 1, tzinfo=UTC))
    session = any_database.sessions()
    threshold = session.get(Threshold, world.thresholds["industry_economic"])
    firms = session.get(Indicator, world.indicators["firms"])
    (history,) = [h for h in load_histories(session, [firms], "threshold")]
    column = history.panel[world.entities["WF-POWER"]]
    assert column.index.freqstr == "YS-JAN" and column.index[0] == pd.Timestamp("2018-01-01")
    assert column.loc["2020-01-01"] == -12.26 and history.observed.all()
    assert len(prepare(session, threshold).histories) == 1


def test_the_cache_keeps_only_the_most_recently_used_panels() -> None:
    cache: BoundedCache[int] = BoundedCache(size=2)
    loads: list[str] = []

    def loader(key: str) -> Callable[[], int]:
        return lambda: loads.append(key) or len(loads)

    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get_or_load(key, loader(key))
    assert loads == ["a", "b", "c", "b"] and len(cache) == 2


def test_the_recount_matches_the_models_backtest_alert_by_alert() -> None:
    rng = np.random.default_rng(3)
    index = pd.date_range("2016-01-01", periods=96, freq="MS")
    panels = [
        pd.DataFrame(rng.normal(size=(96, 40)).cumsum(axis=0), index=index,
                     columns=np.arange(40) + offset)
        for offset in (0, 20)  # two indicators sharing entities 20-39
    ]  # fmt: skip
    histories = [
        History(indicator_id=n, direction="up", frequency="M", panel=panel,
                observed=panel.notna().to_numpy())
        for n, panel in enumerate(panels)
    ]  # fmt: skip
    setting = {"direction": None, "blue": 1.0, "yellow": 2.0, "orange": 4.0, "red": 6.0,
               "clear": 0.5, "min_periods": 2}  # fmt: skip
    outcome = evaluate(Replay(histories=histories, masks=[None, None], source=None), setting)
    expected = [
        backtest(panel, [1.0, 2.0, 4.0, 6.0], "up", clear=0.5, min_periods=2) for panel in panels
    ]
    by_year = sum(result.opened_by_year for result in expected)
    assert outcome.years == {
        year: row for year, row in by_year.to_dict("index").items() if sum(row.values())
    }
    by_entity = pd.concat([result.by_entity for result in expected]).groupby(level=0).sum()
    alerted = by_entity[["blue", "yellow", "orange", "red"]]
    assert outcome.entities == {
        entity: {colour: count for colour, count in row.items() if count}
        for entity, row in alerted.to_dict("index").items()
        if sum(row.values())
    }
    assert outcome.alerts > 100


# Against a shock dated for 2022, with a two-year window (annual data): 2020 and 2021
# lie before it, 2018 and 2019 have no shock in the two years after them, and 2022's own
# window reaches past the dated history. The current blue cut-off -5 signals in 2018
# (-5.22) and 2020 (-12.26): A = 1 (2020), B = 1 (2018), C = 1 (2021), D = 1 (2019).
# A blue cut-off of -10 signals in 2020 only: A = 1, B = 0, C = 1, D = 2.
STRICTER_FORM = {"direction": "", "blue": "-10", "yellow": "-12", "orange": "-14", "red": "-16",
                 "clear": "", "min_periods": "1"}  # fmt: skip
MEASURES = {  # (current, stricter), as the preview prints them
    "type_i": ("50 %", "50 %"),  # C / (A + C) = 1 / 2 for both
    "type_ii": ("50 %", "0 %"),  # B / (B + D): 1 / 2, then 0 / 2
    "noise_to_signal": ("1", "0"),  # type II / (1 - type I): 0.5 / 0.5, then 0 / 0.5
    "p_shock_given_signal": ("50 %", "100 %"),  # A / (A + B): 1 / 2, then 1 / 1
    "median_lead": ("2", "2"),  # the first signal before 2022 is 2020's, both times
}
# The proposal: for "lower is riskier" the p-th candidate is the (100 - p)-th percentile
# of the five changes; every candidate from p = 80 (-12.26 + 0.8 x 7.04 = -6.628) to 99
# signals in 2020 only (noise-to-signal 0), so the most extreme, p = 99, wins: the 1st
# percentile, -12.26 + 0.04 x (-5.22 + 12.26) = -11.9784.
PROPOSED_CUTOFF = "-11.9784"
# Applying it moves the stricter form's other cut-offs by as much, -1.9784.
APPLY_BUTTON = ('id="apply-proposal" data-blue="-11.9784" data-yellow="-13.9784" '
                'data-orange="-15.9784" data-red="-17.9784">')  # fmt: skip
MEASURE = re.compile(r'data-measure="(\w+)">([^<]*)<')


def _dated_2022_shock(database: Database, world: World) -> None:
    with database.session() as session:
        add_episode(session, entity_id=world.entities["WF-POWER"], start=date(2022, 1, 1),
                    end=None, label="订单骤降", author="otto", dimension="economic")  # fmt: skip


def _measures(page: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for name, text in MEASURE.findall(page):
        found[name] = (*found.get(name, ()), text)
    return found


def test_the_preview_shows_the_signals_measures_and_the_proposal_in_chinese(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    _dated_2022_shock(database, world)
    url = f"/thresholds/{world.thresholds['industry_economic']}/preview"
    page = as_admin.post(url, data=STRICTER_FORM).get_data(as_text=True)
    assert _measures(page) == MEASURES
    assert APPLY_BUTTON in page
    for text in ("第一类错误", "第二类错误", "中位领先期（年）", "建议的蓝色阈值", "用作蓝色阈值"):
        assert text in page
    assert "得分的第 1 百分位数" in page


def test_the_preview_shows_the_signals_measures_and_the_proposal_in_english(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    _dated_2022_shock(database, world)
    as_admin.post("/language", data={"locale": "en"})
    page = as_admin.get(edit_url(world)).get_data(as_text=True)
    current = {name: (values[0],) * 2 for name, values in MEASURES.items()}
    assert _measures(page) == current  # the edit page previews the saved setting
    url = f"/thresholds/{world.thresholds['industry_economic']}/preview"
    page = as_admin.post(url, data=STRICTER_FORM).get_data(as_text=True)
    assert _measures(page) == MEASURES
    assert f"Proposed blue cut-off: {PROPOSED_CUTOFF}" in page
    assert "percentile 1 of the scores" in page and "Median lead time (years)" in page
    assert APPLY_BUTTON + "Use as blue cut-off<" in page
    with database.session() as session:  # a suggestion only: nothing is saved
        assert session.get(Threshold, world.thresholds["industry_economic"]).blue == -5


def test_the_proposal_pools_the_indicators_of_a_row_against_their_episodes() -> None:
    index = pd.date_range("2018-01-01", periods=5, freq="YS")
    panels = [
        pd.DataFrame({1: [-5.22, -1.52, -12.26, 29.58, 6.81]}, index=index),
        pd.DataFrame({2: [3.0, 1.0, 2.0, -30.0, 4.0]}, index=index),
    ]
    histories = [
        History(indicator_id=n, direction="down", frequency="A", panel=panel,
                observed=panel.notna().to_numpy())
        for n, panel in enumerate(panels)
    ]  # fmt: skip
    references = [Episode(pd.Timestamp("2022-01-01"), 1), Episode(pd.Timestamp("2022-01-01"), 2)]
    masks = [episode_masks(h.panel, references, frequency="A") for h in histories]
    proposal = propose(Replay(histories, masks, "dated", references), None)
    # Ten pooled values, sorted -30, -12.26, -5.22, ...: the candidates are the 1st to
    # the 20th percentile, -28.4034 to -6.628. None signals a false alarm (ratio 0);
    # from the 12th on they also signal 2020's -12.26, so the tie goes to the fewer
    # signals, then to the most extreme: the 1st, -30 + 0.09 x 17.74 = -28.4034, which
    # signals 2021's -30 only, one year before its shock.
    assert proposal.percentile == 99.0 and round(proposal.cutoff, 4) == -28.4034
    assert (proposal.measures["A"], proposal.measures["B"], proposal.measures["C"]) == (1, 0, 3)
    assert proposal.measures["median_lead"] == 1.0
    rising = History(indicator_id=1, direction="up", frequency="A", panel=panels[1],
                     observed=histories[1].observed)  # fmt: skip
    mixed = Replay([histories[0], rising], masks, "dated", references)
    assert propose(mixed, None).reason == "mixed"
    assert propose(mixed, "down").percentile == 99.0  # the setting's direction for both
    assert propose(Replay(histories, [None, None], None), None).reason == "episodes"


def test_applying_a_proposal_moves_every_cut_off_by_as_much() -> None:
    down = {"blue": -5.0, "yellow": -10.0, "orange": -15.0, "red": -20.0, "clear": -2.0}
    moved = applied(down, Proposal(percentile=95.0, cutoff=-7.25, direction="down"))
    assert moved == {"blue": "-7.25", "yellow": "-12.25", "orange": "-17.25", "red": "-22.25",
                     "clear": "-4.25"}  # fmt: skip
    both = {"blue": 2.0, "yellow": 3.0, "orange": 4.0, "red": 5.0, "clear": 1.0}
    lower = applied(both, Proposal(percentile=90.0, cutoff=0.5, direction="both"))
    assert lower == {"blue": "0.5", "yellow": "1.5", "orange": "2.5", "red": "3.5", "clear": "0.0"}
    assert applied({**down, "clear": None}, Proposal(reason="none")) == {}
