"""Numbers and times read the same as Babel would write them, in both console locales."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_babel import force_locale, format_decimal

from web.i18n import local_time, number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234567, "1,234,567"),
        (-2.25, "-2.25"),
        (1234567.891234, "1,234,567.8912"),
        (0.00015, "0.0002"),  # half to even from the shortest decimal form
        (0.00025, "0.0002"),
        (100.0, "100"),
        (-0.00004, "0"),  # not "-0"
        (None, ""),
    ],
)
def test_numbers_are_grouped_and_rounded_to_four_places(app: Flask, value, text) -> None:
    with app.test_request_context():
        assert number(value) == text


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_numbers_match_babels_pattern_in_both_locales(app: Flask, locale: str) -> None:
    rng = random.Random(7)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-3, 12) for _ in range(2000)]
    values += [round(rng.uniform(-100, 100), 5) for _ in range(2000)] + [math.inf, -math.inf]
    with app.test_request_context(), force_locale(locale):
        for value in values:
            babel = format_decimal(value, format="#,##0.####")
            assert number(value) == ("0" if babel == "-0" else babel), value


def test_times_are_shown_in_beijing_time(app: Flask) -> None:
    with app.test_request_context():
        assert local_time(datetime(2024, 12, 31, 16, 5, tzinfo=UTC)) == "2025-01-01 00:05"
        assert local_time(None) == ""
