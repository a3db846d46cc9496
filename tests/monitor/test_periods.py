"""Period parsing, formatting and stepping."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from monitor.periods import (
    PeriodError,
    PeriodFrequencyError,
    format_period,
    is_period_start,
    looks_like_period,
    next_period,
    parse_period,
    parse_periods,
    period_range,
    shift_period,
)

ACCEPTED = [
    ("2024-03", "M", date(2024, 3, 1)),
    ("2024-03-01", "M", date(2024, 3, 1)),
    ("2024/03", "M", date(2024, 3, 1)),
    ("2024/3", "M", date(2024, 3, 1)),
    ("202403", "M", date(2024, 3, 1)),
    ("2024M03", "M", date(2024, 3, 1)),
    ("2024m3", "M", date(2024, 3, 1)),
    ("2024年3月", "M", date(2024, 3, 1)),
    ("2024年03月份", "M", date(2024, 3, 1)),
    ("2024年3月1日", "M", date(2024, 3, 1)),
    ("2024-03-01 00:00:00", "M", date(2024, 3, 1)),
    ("  2024-03 ", "M", date(2024, 3, 1)),
    ("２０２４－０３", "M", date(2024, 3, 1)),
    ("２０２４年３月", "M", date(2024, 3, 1)),
    ("2024Q1", "Q", date(2024, 1, 1)),
    ("2024-Q2", "Q", date(2024, 4, 1)),
    ("2024 Q3", "Q", date(2024, 7, 1)),
    ("Q4 2024", "Q", date(2024, 10, 1)),
    ("2024q4", "Q", date(2024, 10, 1)),
    ("2024年第1季度", "Q", date(2024, 1, 1)),
    ("2024年第二季度", "Q", date(2024, 4, 1)),
    ("2024年三季度", "Q", date(2024, 7, 1)),
    ("２０２４Ｑ４", "Q", date(2024, 10, 1)),
    ("2024-04", "Q", date(2024, 4, 1)),
    ("2024-10-01", "Q", date(2024, 10, 1)),
    ("2024", "A", date(2024, 1, 1)),
    ("2024年", "A", date(2024, 1, 1)),
    ("2024年度", "A", date(2024, 1, 1)),
    ("２０２４", "A", date(2024, 1, 1)),
    ("2024-01", "A", date(2024, 1, 1)),
    ("2024-01-01", "A", date(2024, 1, 1)),
]


@pytest.mark.parametrize(("text", "frequency", "expected"), ACCEPTED)
def test_it_parses_period_forms_to_the_first_day(text, frequency, expected):
    assert parse_period(text, frequency) == expected


UNPARSEABLE = [
    ("", "missing period"),
    ("  ", "missing period"),
    ("March 2024", "unparseable"),
    ("2024-13", "month 13"),
    ("2024-00", "month 0"),
    ("2024-02-30", "day is out of range"),
    ("2024-03-15", "first day"),
    ("2024Q5", "unparseable"),
    ("24-03", "unparseable"),
    ("0000", "out of range"),
    ("2024-03-01 12:30", "unparseable"),
]


@pytest.mark.parametrize(("text", "fragment"), UNPARSEABLE)
def test_it_rejects_text_that_is_no_period(text, fragment):
    with pytest.raises(PeriodError, match=fragment) as caught:
        parse_period(text, "M")
    assert not isinstance(caught.value, PeriodFrequencyError)


WRONG_FREQUENCY = [
    ("2024-02", "Q", "inside 2024Q1"),
    ("2024-11", "Q", "inside 2024Q4"),
    ("2024-03", "A", "inside 2024"),
    ("2024Q1", "A", "is a quarter"),
    ("2024Q1", "M", "is a quarter"),
    ("2024", "M", "is a year"),
    ("2024年", "Q", "is a year"),
]


@pytest.mark.parametrize(("text", "frequency", "fragment"), WRONG_FREQUENCY)
def test_it_rejects_periods_that_do_not_fit_the_frequency(text, frequency, fragment):
    with pytest.raises(PeriodFrequencyError, match=fragment):
        parse_period(text, frequency)


def test_it_accepts_date_objects_on_the_first_day_only():
    assert parse_period(date(2024, 4, 1), "Q") == date(2024, 4, 1)
    assert parse_period(datetime(2024, 4, 1), "M") == date(2024, 4, 1)
    with pytest.raises(PeriodError, match="first day"):
        parse_period(date(2024, 4, 2), "M")
    with pytest.raises(PeriodFrequencyError):
        parse_period(date(2024, 5, 1), "Q")


def test_it_rejects_an_unknown_frequency():
    with pytest.raises(PeriodError, match="unknown frequency"):
        parse_period("2024-01", "W")


def test_looks_like_period_tells_periods_from_other_headers():
    assert looks_like_period("2024-01")
    assert looks_like_period("2024年第1季度")
    assert not looks_like_period("entity")
    assert not looks_like_period("F00001")


@pytest.mark.parametrize(
    ("day", "frequency", "text"),
    [
        (date(2024, 3, 1), "M", "2024-03"),
        (date(2024, 4, 1), "Q", "2024Q2"),
        (date(2024, 1, 1), "A", "2024"),
    ],
)
def test_format_period_round_trips_through_parse(day, frequency, text):
    assert format_period(day, frequency) == text
    assert parse_period(text, frequency) == day


def test_format_period_refuses_a_day_that_starts_no_period():
    with pytest.raises(PeriodError):
        format_period(date(2024, 2, 1), "Q")


def test_next_and_shift_step_by_the_frequency():
    assert next_period(date(2024, 12, 1), "M") == date(2025, 1, 1)
    assert next_period(date(2024, 10, 1), "Q") == date(2025, 1, 1)
    assert next_period(date(2024, 1, 1), "A") == date(2025, 1, 1)
    assert shift_period(date(2024, 1, 1), "M", -13) == date(2022, 12, 1)
    assert shift_period(date(2024, 4, 1), "Q", -4) == date(2023, 4, 1)


def test_period_range_includes_both_ends():
    assert period_range(date(2023, 11, 1), date(2024, 2, 1), "M") == [
        date(2023, 11, 1),
        date(2023, 12, 1),
        date(2024, 1, 1),
        date(2024, 2, 1),
    ]
    assert period_range(date(2024, 1, 1), date(2024, 10, 1), "Q") == [
        date(2024, 1, 1),
        date(2024, 4, 1),
        date(2024, 7, 1),
        date(2024, 10, 1),
    ]
    assert period_range(date(2024, 1, 1), date(2023, 1, 1), "A") == []


def test_is_period_start():
    assert is_period_start(date(2024, 7, 1), "Q")
    assert not is_period_start(date(2024, 8, 1), "Q")
    assert not is_period_start(date(2024, 7, 2), "M")


def test_parse_periods_matches_the_scalar_parser_row_by_row():
    texts = pd.Series(["2024-01", "2024Q1", "2024-02", None, "bad", "2024-01", "2024"])
    frequencies = pd.Series(["M", "Q", "Q", "M", "M", "A", "A"])
    periods, errors = parse_periods(texts, frequencies)
    assert periods.tolist() == [
        date(2024, 1, 1),
        date(2024, 1, 1),
        None,
        None,
        None,
        date(2024, 1, 1),
        date(2024, 1, 1),
    ]
    kinds = [type(error).__name__ if error is not None else None for error in errors]
    assert kinds == [
        None,
        None,
        "PeriodFrequencyError",
        "PeriodError",
        "PeriodError",
        None,
        None,
    ]
    assert "missing period" in str(errors[3])


def test_parse_periods_takes_one_frequency_for_all_rows():
    periods, errors = parse_periods(pd.Series(["2024-01", "2024-02"], index=[5, 9]), "M")
    assert periods.index.tolist() == [5, 9]
    assert periods.tolist() == [date(2024, 1, 1), date(2024, 2, 1)]
    assert errors.isna().all()


def test_parse_periods_parses_each_distinct_text_once(monkeypatch):
    import monitor.periods as periods_module

    calls = []
    original = periods_module.parse_period

    def counting(text, frequency):
        calls.append(text)
        return original(text, frequency)

    monkeypatch.setattr(periods_module, "parse_period", counting)
    texts = pd.Series(["2024-01", "2024-02", "2024-03"] * 10_000)
    periods, _ = parse_periods(texts, "M")
    assert len(calls) == 3
    assert periods.iloc[-1] == date(2024, 3, 1)
