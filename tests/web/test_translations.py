"""The zh_CN catalogue is complete and the committed .mo is its compilation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

import web
from web.labels import LABELS, label

HAN = re.compile(r"[\u4e00-\u9fff]")

CATALOGUE = Path(web.__file__).parent / "translations" / "zh_CN" / "LC_MESSAGES"


def _po():
    with (CATALOGUE / "messages.po").open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def _plain(text: object) -> object:
    return tuple(text) if isinstance(text, list | tuple) else text


def _translations(catalog) -> dict[object, object]:
    return {_plain(message.id): _plain(message.string) for message in catalog if message.id}


def test_every_message_has_a_chinese_translation() -> None:
    missing = [
        message.id
        for message in _po()
        if message.id
        and (
            not message.string
            or (isinstance(message.string, tuple) and not all(message.string))
            or message.fuzzy
        )
    ]
    assert missing == []


def test_every_vocabulary_label_is_shown_in_chinese(app: Flask) -> None:
    with app.test_request_context("/"):
        untranslated = [
            (kind, value)
            for kind, names in LABELS.items()
            for value in names
            if not HAN.search(label(kind, value))
        ]
    assert untranslated == []


def test_committed_mo_matches_the_po(tmp_path: Path) -> None:
    target = tmp_path / "zh_CN" / "LC_MESSAGES"
    target.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "compile",
            "-i",
            str(CATALOGUE / "messages.po"),
            "-o",
            str(target / "messages.mo"),
            "-l",
            "zh_CN",
        ],
        check=True,
        capture_output=True,
    )
    with (
        (target / "messages.mo").open("rb") as fresh,
        (CATALOGUE / "messages.mo").open("rb") as committed,
    ):
        assert _translations(read_mo(committed)) == _translations(read_mo(fresh))
    assert _translations(_po()) == _translations(read_mo((CATALOGUE / "messages.mo").open("rb")))


def test_enum_labels_use_the_domain_terms(as_viewer: FlaskClient) -> None:
    page = as_viewer.get("/alerts/").get_data(as_text=True)
    for term in ("政府", "产业", "企业", "政治", "经济", "贸易", "环境", "技术"):
        assert term in page
    for term in ("蓝色预警", "黄色预警", "橙色预警", "红色预警", "预警中", "已确认", "已解除"):
        assert term in page
