from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alerts.channels import channel_accepts, create_channel, sync_channels_from_settings
from alerts.errors import AlertError
from alerts.scopes import scope_of
from monitor.records import Alert, Channel


def test_sync_creates_one_enabled_channel_per_address_and_url(database, make_settings):
    settings = make_settings(
        email_to=("ops@example.cn", "duty@example.cn"),
        webhook_urls=("https://hooks.example.cn/alert",),
    )
    with database.session() as session:
        channels = sync_channels_from_settings(session, settings)

    assert [(channel.kind, channel.target) for channel in channels] == [
        ("email", "ops@example.cn"),
        ("email", "duty@example.cn"),
        ("webhook", "https://hooks.example.cn/alert"),
    ]
    assert all(channel.enabled and channel.id is not None for channel in channels)


def test_sync_is_idempotent(database, make_settings):
    settings = make_settings(email_to=("ops@example.cn",), webhook_urls=("http://h.example/x",))
    with database.session() as session:
        first = [channel.id for channel in sync_channels_from_settings(session, settings)]
    with database.session() as session:
        second = [channel.id for channel in sync_channels_from_settings(session, settings)]
        count = session.scalar(select(func.count()).select_from(Channel))

    assert first == second
    assert count == 2


def test_sync_ignores_an_address_listed_twice(database, make_settings):
    settings = make_settings(email_to=("ops@example.cn", "ops@example.cn"))
    with database.session() as session:
        channels = sync_channels_from_settings(session, settings)

    assert len(channels) == 1


def test_sync_re_enables_a_configured_channel(database, make_settings):
    settings = make_settings(email_to=("ops@example.cn",))
    with database.session() as session:
        (channel,) = sync_channels_from_settings(session, settings)
        channel.enabled = False
    with database.session() as session:
        (channel,) = sync_channels_from_settings(session, settings)

    assert channel.enabled


def test_webhook_channel_name_hides_the_query_string_token(database, make_settings):
    url = "https://oapi.example.cn/robot/send?access_token=s3cr3t"
    with database.session() as session:
        (channel,) = sync_channels_from_settings(session, make_settings(webhook_urls=(url,)))

    assert channel.target == url
    assert channel.name == "https://oapi.example.cn/robot/send"


def _alert(severity="orange", level="industry", dimension="trade") -> Alert:
    return Alert(severity=severity, level=level, dimension=dimension)


def _channel(**fields) -> Channel:
    values = {"enabled": True, "min_severity": "blue", "levels": [], "dimensions": []}
    values.update(fields)
    return Channel(kind="email", target="ops@example.cn", name="ops", **values)


ACCEPT_CASES = [
    ({}, True),
    ({"enabled": False}, False),
    ({"min_severity": "orange"}, True),
    ({"min_severity": "red"}, False),
    ({"levels": ["industry", "enterprise"]}, True),
    ({"levels": ["government"]}, False),
    ({"dimensions": ["trade"]}, True),
    ({"dimensions": ["economic", "political"]}, False),
]


@pytest.mark.parametrize(("fields", "expected"), ACCEPT_CASES)
def test_channel_accepts_alerts_by_severity_level_and_dimension(fields, expected):
    assert channel_accepts(_channel(**fields), _alert()) is expected


def test_a_channel_limited_to_regions_takes_alerts_inside_them_only(database, world, raise_alert):
    with database.session() as session:
        weifang_only = _channel(regions=[world.weifang.id])
        province = _channel(regions=[world.province.id])
        firm_alert, _event = raise_alert(session, world.firms[0], world.indicators["revenue"])
        qingdao_alert, _event = raise_alert(session, world.qingdao, world.indicators["iva"])
        firm, qingdao = scope_of(session, firm_alert), scope_of(session, qingdao_alert)

    assert channel_accepts(weifang_only, firm_alert, firm)
    assert not channel_accepts(weifang_only, qingdao_alert, qingdao)
    assert channel_accepts(province, qingdao_alert, qingdao)
    assert not channel_accepts(weifang_only, firm_alert)  # no scope: cannot tell


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "pager"}, "unknown channel kind"),
        ({"kind": "email", "target": "not an address"}, "not an email address"),
        ({"kind": "dingtalk", "target": "ftp://robot"}, r"http\(s\) URL"),
        ({"name": " "}, "needs a name"),
        ({"min_severity": "purple"}, "unknown colour"),
        ({"levels": ["province"]}, "unknown levels"),
    ],
)
def test_create_channel_refuses_a_bad_channel(database, fields, message):
    values = {"kind": "wecom", "name": "duty", "target": "https://qyapi.example/send?key=k"}
    values.update(fields)
    with database.session() as session, pytest.raises(AlertError, match=message):
        create_channel(session, **values)


def test_create_channel_keeps_the_secret_and_filters(database):
    with database.session() as session:
        channel = create_channel(
            session,
            kind="feishu",
            name="飞书值班群",
            target="https://open.feishu.example/hook/abc",
            secret="s3",
            levels=["government"],
            min_severity="orange",
        )

    assert (channel.kind, channel.secret, channel.levels, channel.min_severity) == (
        "feishu",
        "s3",
        ["government"],
        "orange",
    )
