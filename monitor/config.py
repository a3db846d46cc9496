"""Settings read once from ``CLUSTERWATCH_*`` environment variables.

A secret may also come from a file: ``CLUSTERWATCH_SMTP_PASSWORD_FILE`` is read when
``CLUSTERWATCH_SMTP_PASSWORD`` is unset (Docker secrets work that way).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import ConfigError

PREFIX = "CLUSTERWATCH_"
DEFAULT_DATA_DIR = Path("var")


def _read(env: Mapping[str, str], name: str) -> str | None:
    key = PREFIX + name
    if env.get(key):
        return env[key]
    file_path = env.get(key + "_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{key}_FILE: cannot read {file_path}: {exc}") from exc
    return None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _read(env, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be an integer, got {raw!r}") from exc


def scoring_threads(env: Mapping[str, str] | None = None) -> int:
    """``CLUSTERWATCH_SCORE_THREADS``: indicators a scoring cycle scores at once on
    PostgreSQL (default 2; SQLite always scores one at a time)."""
    threads = _int(os.environ if env is None else env, "SCORE_THREADS", 2)
    if threads < 1:
        raise ConfigError(f"{PREFIX}SCORE_THREADS must be at least 1, got {threads}")
    return threads


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _read(env, name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = _read(env, name) or ""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server that sends alert emails."""

    host: str | None = None
    port: int = 25
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "clusterwatch@localhost"
    starttls: bool = False
    timeout: int = 10

    @property
    def configured(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class Settings:
    """Every setting of a ClusterWatch process."""

    database_url: str
    secret_key: str = field(repr=False)
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = "http://127.0.0.1:8000"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    email_to: tuple[str, ...] = ()
    webhook_urls: tuple[str, ...] = ()
    scheduler_workers: int = 2
    delivery_interval_seconds: int = 30
    delivery_max_attempts: int = 8
    admin_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment, raising ``ConfigError`` on a bad value."""
        env = os.environ if env is None else env
        data_dir = Path(_read(env, "DATA_DIR") or DEFAULT_DATA_DIR)
        database_url = _read(env, "DATABASE_URL") or f"sqlite:///{data_dir / 'clusterwatch.db'}"
        port = _int(env, "PORT", 8000)
        host = _read(env, "HOST") or "127.0.0.1"
        smtp = SmtpSettings(
            host=_read(env, "SMTP_HOST"),
            port=_int(env, "SMTP_PORT", 25),
            user=_read(env, "SMTP_USER"),
            password=_read(env, "SMTP_PASSWORD"),
            sender=_read(env, "SMTP_FROM") or "clusterwatch@localhost",
            starttls=_bool(env, "SMTP_STARTTLS", False),
            timeout=_int(env, "SMTP_TIMEOUT", 10),
        )
        if not 0 < port < 65536:
            raise ConfigError(f"{PREFIX}PORT must be between 1 and 65535, got {port}")
        return cls(
            database_url=database_url,
            secret_key=_read(env, "SECRET_KEY") or _stable_secret(data_dir),
            data_dir=data_dir,
            host=host,
            port=port,
            base_url=(_read(env, "BASE_URL") or f"http://{host}:{port}").rstrip("/"),
            smtp=smtp,
            email_to=_list(env, "EMAIL_TO"),
            webhook_urls=_list(env, "WEBHOOK_URLS"),
            scheduler_workers=_int(env, "SCHEDULER_WORKERS", 2),
            delivery_interval_seconds=_int(env, "DELIVERY_INTERVAL", 30),
            delivery_max_attempts=_int(env, "DELIVERY_MAX_ATTEMPTS", 8),
            admin_password=_read(env, "ADMIN_PASSWORD"),
        )


def _stable_secret(data_dir: Path) -> str:
    """Return a per-installation random secret kept in the data folder.

    Sessions survive restarts without anyone having to set ``CLUSTERWATCH_SECRET_KEY``
    on the embedded default; deployments set it explicitly.
    """
    path = data_dir / "secret_key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    import secrets

    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    path.write_text(secret, encoding="utf-8")
    path.chmod(0o600)
    return secret
