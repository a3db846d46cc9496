"""The ``clusterwatch`` command line."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from monitor.config import Settings
from monitor.db import Database, database_for
from monitor.errors import ClusterWatchError

logger = logging.getLogger("clusterwatch")


class Context:
    """What every command needs: the settings and the database, opened on first use."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def database(self) -> Database:
        return database_for(self.settings.database_url)


pass_context = click.make_pass_decorator(Context, ensure=True)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """ClusterWatch: early warning for advanced-manufacturing cluster resilience."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(Context)


def _fail_on_domain_errors(func: Any) -> Any:
    """Turn expected errors into a clear message and exit code 1, not a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClusterWatchError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@main.command()
@pass_context
@_fail_on_domain_errors
def init(context: Context) -> None:
    """Create the database or upgrade it to the newest schema."""
    from monitor.migrate import upgrade

    upgrade(context.database)
    click.echo(f"database ready: {context.database.engine.url.render_as_string()}")


@main.command()
@click.option("--no-backfill", is_flag=True, help="Load the data but do not score it.")
@pass_context
@_fail_on_domain_errors
def demo(context: Context, no_backfill: bool) -> None:
    """Load the demo data set (once) and backfill scores, alerts and stages over it."""
    from monitor.bootstrap import load_demo_and_backfill
    from monitor.migrate import upgrade

    upgrade(context.database)
    summary = load_demo_and_backfill(context.database, backfill=not no_backfill)
    click.echo(summary)


@main.group()
def catalog() -> None:
    """Entities, indicators and thresholds as data."""


@catalog.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
@_fail_on_domain_errors
def catalog_load(context: Context, file: Path) -> None:
    """Load or update the catalog from a YAML or CSV FILE."""
    from monitor.catalog import load_catalog

    with context.database.session() as session:
        report = load_catalog(session, file)
    click.echo(str(report))


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--source", "source_name", required=True, help="Name of the source it comes from.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-score", is_flag=True, help="Store the data without scoring it.")
@pass_context
@_fail_on_domain_errors
def ingest(context: Context, file: Path, source_name: str, as_json: bool, no_score: bool) -> None:
    """Ingest a CSV FILE (long or wide form), then score what changed."""
    from monitor.ingest import ingest_file
    from monitor.pipeline import score_indicators

    report = ingest_file(context.database, file, source_name=source_name)
    scored = None
    if report.changed and not no_score:
        scored = score_indicators(context.database, changed=report.changed)
    if as_json:
        data = report.as_dict()
        if scored is not None:
            data["scoring"] = scored.as_dict()
        _echo_json(data)
        return
    click.echo(
        f"read {report.read}, accepted {report.accepted}, rejected {report.rejected} "
        f"(inserted {report.inserted}, updated {report.updated}, unchanged {report.unchanged})"
    )
    for row in report.rejected_rows[:20]:
        click.echo(f"  line {row['row']}: {row['reason']}")
    if report.rejected > 20:
        click.echo(f"  ... and {report.rejected - 20} more (see the job run {report.job_run_id})")
    if scored is not None:
        click.echo(f"scored: {scored.as_dict()}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    envvar="CLUSTERWATCH_EXECUTOR",
    default="local",
    show_default=True,
    help="Where enterprise indicators are scored: here, or partitioned by city on Dask.",
)
@click.option(
    "--scheduler",
    envvar="CLUSTERWATCH_DASK_SCHEDULER",
    help="The Dask scheduler's address, e.g. tcp://HOST:8786 (with --executor dask).",
)
@pass_context
@_fail_on_domain_errors
def score(context: Context, as_json: bool, executor: str, scheduler: str | None) -> None:
    """Score every indicator now (new periods only; nothing is scored twice)."""
    from monitor.executors import executor_from_env
    from monitor.pipeline import score_indicators

    runner = executor_from_env(executor, scheduler)
    try:
        report = score_indicators(context.database, executor=runner)
    finally:
        if runner is not None:
            runner.close()
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(report.as_dict())


@main.command()
@pass_context
@_fail_on_domain_errors
def deliver(context: Context) -> None:
    """Send the notifications that are due now."""
    from monitor.jobs import deliver_now

    click.echo(str(deliver_now(context.settings, context.database)))


@main.command()
@click.option("--status", type=click.Choice(["open", "firing", "acknowledged", "resolved"]))
@click.option("--level", type=click.Choice(["government", "industry", "enterprise"]))
@click.option(
    "--dimension",
    type=click.Choice(["political", "economic", "trade", "environmental", "technology"]),
)
@click.option("--severity", type=click.Choice(["blue", "yellow", "orange", "red"]))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_context
@_fail_on_domain_errors
def alerts(
    context: Context,
    status: str | None,
    level: str | None,
    dimension: str | None,
    severity: str | None,
    as_json: bool,
) -> None:
    """List alerts, newest first."""
    from monitor.queries import MAX_PER_PAGE, AlertFilters, alert_as_dict, list_alerts

    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    with context.database.session() as session:
        while True:
            filters = AlertFilters(
                level=level,
                dimension=dimension,
                severity=severity,
                status=status,
                after=cursor,
                per_page=MAX_PER_PAGE,
            )
            result = list_alerts(session, filters)
            rows.extend(alert_as_dict(alert) for alert in result.items)
            if result.next_cursor is None:
                break
            cursor = result.next_cursor
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['id']:>7} {row['severity']:<7} {row['status']:<13} {row['period']} "
            f"{row['entity']['code']:<10} {row['indicator']['code']:<22} {row['model']}"
        )
    click.echo(f"{len(rows)} alerts")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--history", is_flag=True, help="Every period's stage, not only the current one.")
@pass_context
@_fail_on_domain_errors
def stages(context: Context, as_json: bool, history: bool) -> None:
    """Each government- and industry-level entity's current stage and since when."""
    from monitor.stages import stage_history_report, stage_report

    with context.database.session() as session:
        rows = stage_history_report(session) if history else stage_report(session)
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        code = row["entity"]["code"]
        if history:
            for step in row["periods"]:
                click.echo(f"{code:<12} {step['period']} {step['stage']}")
        else:
            click.echo(f"{code:<12} {row['stage']:<12} since {row['since']}")


@main.command("stage-config")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@pass_context
@_fail_on_domain_errors
def stage_config(context: Context, file: Path | None) -> None:
    """Print the stage configuration; with FILE (JSON or YAML), set it and reclassify."""
    from monitor.stages import (
        load_stage_config,
        read_stage_config,
        save_stage_config,
        update_stages,
    )

    if file is None:
        with context.database.session() as session:
            _echo_json(load_stage_config(session).as_dict())
        return
    config = read_stage_config(file)
    with context.database.session() as session:
        save_stage_config(session, config)
        written = update_stages(session, config=config)
    click.echo(f"stage configuration saved; {written} stage rows rewritten")


@main.command()
@click.option("--entity", help="Only the shocks of this entity code.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@_fail_on_domain_errors
def shocks(context: Context, entity: str | None, as_json: bool) -> None:
    """Every shock episode with its depth, timing, resistance and recoverability."""
    from monitor.shocks import list_shocks

    with context.database.session() as session:
        rows = list_shocks(session, entity_code=entity)
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        depth = "-" if row["depth"] is None else f"{row['depth']:.1%}"
        click.echo(
            f"{row['entity']['code']:<12} {row['start']} trough {row['trough']} "
            f"end {row['end'] or '-':<10} depth {depth:>6} {row['outcome']}"
        )


@main.command()
@click.option("--indicator", required=True, help="Indicator code.")
@click.option("--entity", required=True, help="Entity code.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@_fail_on_domain_errors
def series(context: Context, indicator: str, entity: str, as_json: bool) -> None:
    """The stored values of one indicator for one entity."""
    from monitor.queries import series as read_series

    with context.database.session() as session:
        rows = read_series(session, indicator, entity)
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['period']}  {row['value']}")


@main.group()
def user() -> None:
    """Console users."""


@user.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), default="viewer")
@click.option("--password", help="Leave out to have a strong one generated and printed.")
@pass_context
@_fail_on_domain_errors
def user_create(context: Context, name: str, role: str, password: str | None) -> None:
    """Create user NAME with ROLE."""
    from monitor.users import create_user

    with context.database.session() as session:
        _user, clear = create_user(session, name, password, role)
    click.echo(f"created {role} {name}" + ("" if password else f" with password {clear}"))


@user.command("password")
@click.argument("name")
@click.option("--password", help="Leave out to have a strong one generated and printed.")
@pass_context
@_fail_on_domain_errors
def user_password(context: Context, name: str, password: str | None) -> None:
    """Set a new password for user NAME."""
    from monitor.users import set_password

    with context.database.session() as session:
        clear = set_password(session, name, password)
    click.echo(f"password of {name} changed" + ("" if password else f" to {clear}"))


@main.group()
def token() -> None:
    """Tokens for the JSON API."""


@token.command("create")
@click.argument("name")
@pass_context
@_fail_on_domain_errors
def token_create(context: Context, name: str) -> None:
    """Create an API token for user NAME and print it once (only its digest is stored)."""
    from monitor.tokens import create_token

    with context.database.session() as session:
        _token, clear = create_token(session, name)
    click.echo(clear)


@token.command("list")
@click.option("--user", "username", help="Only this user's tokens.")
@pass_context
@_fail_on_domain_errors
def token_list(context: Context, username: str | None) -> None:
    """List tokens: id, user, prefix, created, last used and revoked times (UTC)."""
    from monitor.errors import NotFound
    from monitor.tokens import list_tokens
    from monitor.users import find_user

    with context.database.session() as session:
        user_id = None
        if username is not None:
            user = find_user(session, username)
            if user is None:
                raise NotFound(f"no user {username.strip()!r}")
            user_id = user.id
        for row in list_tokens(session, user_id=user_id):
            times = (row.created_at, row.last_used_at, row.revoked_at)
            shown = [moment.isoformat(timespec="seconds") if moment else "-" for moment in times]
            click.echo("\t".join([str(row.id), row.user.username, row.prefix + "…", *shown]))


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_context
@_fail_on_domain_errors
def token_revoke(context: Context, token_id: int) -> None:
    """Revoke token TOKEN_ID (see `token list`); the API refuses it from now on."""
    from monitor.tokens import revoke_token

    with context.database.session() as session:
        row = revoke_token(session, token_id)
        click.echo(f"token {row.id} ({row.prefix}…) of {row.user.username} revoked")


@main.group()
def source() -> None:
    """Data sources and their schedules."""


@source.command("add")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["csv", "demo", "folder", "http_json", "sdmx", "sql", "push"]),
    default="csv",
)
@click.option("--location", default="", help="The file, folder, URL or database it reads.")
@click.option("--cron", help='A crontab schedule in Asia/Shanghai time, e.g. "0 6 * * *".')
@click.option("--policy", type=click.Choice(["quarantine", "fail"]), default="quarantine")
@pass_context
@_fail_on_domain_errors
def source_add(
    context: Context, name: str, kind: str, location: str, cron: str | None, policy: str
) -> None:
    """Add a source (the scheduler picks up its schedule at its next start)."""
    from monitor.sources import add_source

    with context.database.session() as session:
        added = add_source(
            session, name=name, kind=kind, location=location, cron=cron, policy=policy
        )
    click.echo(f"source {added.name} added (id {added.id})")


@source.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
@_fail_on_domain_errors
def source_load(context: Context, file: Path) -> None:
    """Add or update the sources of a YAML deployment file."""
    from monitor.sources import load_sources

    with context.database.session() as session:
        added, updated = load_sources(session, file)
    click.echo(f"sources added: {', '.join(added) or '-'}; updated: {', '.join(updated) or '-'}")


@source.command("stale")
@pass_context
def source_stale(context: Context) -> None:
    """Sources that missed their scheduled run and series whose next value is overdue."""
    from monitor.staleness import late_series, late_sources

    with context.database.session() as session:
        late = [*late_sources(session), *late_series(session)]
    for item in late:
        click.echo(item.describe())
    if not late:
        click.echo("nothing is late")


@source.command("runs")
@click.argument("name", required=False)
@click.option("--limit", type=int, default=20)
@pass_context
def source_runs(context: Context, name: str | None, limit: int) -> None:
    """Job-run history (of source NAME): status, duration, row counts."""
    from monitor.jobs import recent_runs

    for run in recent_runs(context.database, source=name, limit=limit):
        seconds = f"{run['seconds']:.1f}s" if run["seconds"] is not None else "-"
        click.echo(
            f"{run['id']:>5} {run['job']:<8} {run['status']:<10} {seconds:>8} "
            f"read {run['read']} accepted {run['accepted']} rejected {run['rejected']} "
            f"{run['file'] or ''} {run['error'] or ''}".rstrip()
        )


@source.command("list")
@pass_context
def source_list(context: Context) -> None:
    """The sources and their schedules."""
    from monitor.records import Source

    with context.database.session() as session:
        for row in session.scalars(select(Source).order_by(Source.id)):
            state = "enabled" if row.enabled else "disabled"
            click.echo(f"{row.id:>3} {row.name:<20} {row.kind:<5} {row.cron or '-':<16} {state}")


@source.command("run")
@click.argument("name")
@click.option("--progress", is_flag=True, help="Show a progress bar.")
@pass_context
@_fail_on_domain_errors
def source_run(context: Context, name: str, progress: bool) -> None:
    """Pull source NAME now (even if disabled) and score what changed."""
    from monitor.jobs import run_now

    with _progress_bar(progress, f"source {name}") as advance:
        ingest_report, score_report = run_now(context.database, name, progress=advance)
    click.echo(f"ingest: {ingest_report.as_dict() if ingest_report else 'nothing new'}")
    click.echo(f"score: {score_report.as_dict() if score_report else 'nothing to score'}")


@contextlib.contextmanager
def _progress_bar(show: bool, label: str) -> Iterator[Callable[[float], None] | None]:
    """A progress callback (fraction done) drawing a click progress bar, if ``show``."""
    if not show:
        yield None
        return
    with click.progressbar(length=1000, label=label, file=sys.stderr) as bar:
        done = [0]

        def advance(fraction: float) -> None:
            target = int(min(max(fraction, 0.0), 1.0) * 1000)
            if target > done[0]:
                bar.update(target - done[0])
                done[0] = target

        yield advance


@main.command()
@click.option("--from", "first", required=True, help="First period, e.g. 2020-01.")
@click.option("--to", "last", required=True, help="Last period, e.g. 2021-12.")
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--progress", is_flag=True, help="Show a progress bar.")
@pass_context
@_fail_on_domain_errors
def backfill(
    context: Context, first: str, last: str, sources: tuple[str, ...], progress: bool
) -> None:
    """Pull the sources for a period range and rescore it (history: nobody is notified)."""
    from monitor.jobs import backfill as run_backfill
    from monitor.periods import PeriodError, parse_period

    try:
        start, end = parse_period(first, "M"), parse_period(last, "M")
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from None
    with _progress_bar(progress, "backfill") as advance:
        report = run_backfill(
            context.database, start, end, sources=list(sources) or None, progress=advance
        )
    _echo_json(report.as_dict())


@main.command()
@click.option("--port", type=int, help="Overrides CLUSTERWATCH_PORT.")
@pass_context
@_fail_on_domain_errors
def run(context: Context, port: int | None) -> None:
    """Everything in one process: database, demo data on first start, scheduler, console."""
    from monitor.bootstrap import prepare_embedded
    from monitor.scheduler import start_scheduler

    settings = context.settings
    summary = prepare_embedded(settings, context.database)
    click.echo(summary)
    scheduler = start_scheduler(settings, context.database)
    try:
        _serve(settings, port)
    finally:
        scheduler.shutdown(wait=False)


@main.command()
@click.option("--port", type=int, help="Overrides CLUSTERWATCH_PORT.")
@pass_context
def web(context: Context, port: int | None) -> None:
    """The console alone (no scheduler), as deployed behind a reverse proxy."""
    _serve(context.settings, port)


@main.command()
@pass_context
def scheduler(context: Context) -> None:
    """The scheduler alone: source schedules and notification delivery (one replica)."""
    from monitor.migrate import upgrade
    from monitor.scheduler import start_scheduler

    upgrade(context.database)
    running = start_scheduler(context.settings, context.database)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo("scheduler running; Ctrl+C stops it")
    stop.wait()
    running.shutdown()


def _serve(settings: Settings, port: int | None) -> None:
    from waitress import serve

    from web import create_app

    app = create_app()
    chosen = port or settings.port
    click.echo(f"ClusterWatch console: http://{settings.host}:{chosen}/")
    sys.stdout.flush()
    serve(app, host=settings.host, port=chosen, threads=8, ident="clusterwatch")
