"""Settings: ``APPRUN_*`` environment variables (groups nested with ``__``), an optional
``apprun.toml``, and CLI flags on top. Only this module reads the environment; everything
else receives the ``Settings`` object (or its own group of it) from ``create_app``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

WEAK_SECRETS = {"", "secret", "changeme", "change-me", "apprun", "dev", "password"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration cannot run; the message says which variable to set."""


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int | None = Field(
        None, ge=1, description="Worker processes; default 1 with --dev, else one per core."
    )

    def effective_workers(self, dev: bool) -> int:
        if self.workers is not None:
            return self.workers
        return 1 if dev else (os.cpu_count() or 1)


class HttpSettings(BaseModel):
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Origins allowed by CORS; ['*'] allows any (keys, not cookies, authorise).",
    )
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest request body.")
    trust_forwarded_for: bool = Field(
        False, description="Take the client IP from X-Forwarded-For (behind a proxy only)."
    )
    access_log: bool = True


class RateLimitSettings(BaseModel):
    enabled: bool = True
    backend: Literal["auto", "memory", "local", "redis"] = Field(
        "auto",
        description="auto = redis when APPRUN_REDIS_URL is set, local (a SQLite file shared by "
        "the workers) with several workers, memory with one.",
    )
    ip_per_second: float = Field(300.0, gt=0)
    ip_burst: int = Field(600, ge=1)
    key_per_second: float = Field(1000.0, gt=0)
    key_burst: int = Field(2000, ge=1)
    login_per_minute: int = Field(10, ge=1, description="Admin sign-in attempts per IP+email.")


class DbSettings(BaseModel):
    sqlite_busy_timeout_ms: int = Field(5000, ge=0)
    sqlite_readers: int = Field(4, ge=1)
    pg_pool_size: int = Field(10, ge=1)
    pg_max_overflow: int = Field(10, ge=0)
    control_schema: str = Field("apprun", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    migrate_on_start: bool = True
    echo: bool = False


class LogSettings(BaseModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    json_format: bool = Field(True, description="JSON lines; false prints for humans.")


class AdminSettings(BaseModel):
    token_ttl_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)


class Settings(BaseSettings):
    """Every setting of apprun. See docs/config.md."""

    model_config = SettingsConfigDict(
        env_prefix="APPRUN_",
        env_nested_delimiter="__",
        extra="ignore",
        toml_file="apprun.toml",
    )

    dev: bool = Field(False, description="Development mode: generates secrets, prints keys.")
    data_dir: Path = Field(Path("apprun_data"), description="Where embedded data lives.")
    database_url: str | None = Field(
        None, description="postgresql://… for PostgreSQL; unset = SQLite under data_dir."
    )
    clusters: dict[str, str] = Field(
        default_factory=dict, description="Named PostgreSQL clusters projects may be placed on."
    )
    redis_url: str | None = None
    broker_url: str | None = None
    secret_key: SecretStr = Field(SecretStr(""), description="Signs admin tokens, seals secrets.")
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    db: DbSettings = Field(default_factory=DbSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)

    @field_validator("clusters")
    @classmethod
    def _cluster_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not name.replace("_", "").replace("-", "").isalnum() or name == "default":
                raise ValueError(f"cluster name {name!r} is not allowed")
        return {name.lower(): url for name, url in value.items()}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("APPRUN_CONFIG_FILE", "apprun.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    def check_secrets(self) -> None:
        """Refuse to run outside dev mode with an empty, default or short secret."""
        value = self.secret_key.get_secret_value()
        if value.strip().lower() in WEAK_SECRETS or len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "APPRUN_SECRET_KEY is empty, a default or shorter than "
                f"{MIN_SECRET_LENGTH} characters. Set it to a long random value, e.g. "
                "`APPRUN_SECRET_KEY=$(openssl rand -hex 32)`, or run with --dev for a "
                "development server that generates one."
            )

    def with_dev_secret(self) -> Settings:
        """In dev mode, use (or create once) a secret stored under the data dir."""
        if not self.dev or self.secret_key.get_secret_value():
            return self
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(32))
        return self.model_copy(update={"secret_key": SecretStr(path.read_text().strip())})
