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
    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on.")
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
        description='Origins allowed by CORS (JSON list); ["*"] allows any, as API keys, '
        "not cookies, authorise requests.",
    )
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest request body in bytes (413 above)."
    )
    trust_forwarded_for: bool = Field(
        False,
        description="Take the client IP from X-Forwarded-For (only behind a proxy): its "
        "rightmost entry, the address the proxy in front of apprun saw.",
    )
    access_log: bool = Field(True, description="One JSON log line per request.")


class RateLimitSettings(BaseModel):
    enabled: bool = Field(True, description="Token-bucket limits per client IP and per key.")
    backend: Literal["auto", "memory", "local", "redis"] = Field(
        "auto",
        description="auto = redis when APPRUN_REDIS_URL is set, else local (a SQLite file "
        "shared by the workers) with several workers, else memory.",
    )
    ip_per_second: float = Field(300.0, gt=0, description="Refill rate of each IP's bucket.")
    ip_burst: int = Field(600, ge=1, description="Size of each IP's bucket.")
    key_per_second: float = Field(
        1000.0, gt=0, description="Refill rate of each API key's (or admin's) bucket."
    )
    key_burst: int = Field(2000, ge=1, description="Size of each API key's bucket.")
    login_per_minute: int = Field(
        10, ge=1, description="Admin sign-in attempts per IP and email (3x that per IP)."
    )


class DbSettings(BaseModel):
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, description="How long a SQLite writer waits for another process's lock."
    )
    sqlite_readers: int = Field(4, ge=1, description="Reader connections per SQLite file.")
    sqlite_synchronous: Literal["full", "normal"] = Field(
        "full",
        description="full: a commit survives power loss (fsync per commit); normal: survives "
        "a process crash only, faster.",
    )
    pg_pool_size: int = Field(10, ge=1, description="Connections kept per PostgreSQL cluster.")
    pg_max_overflow: int = Field(10, ge=0, description="Extra connections under load.")
    control_schema: str = Field(
        "apprun",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema of the control tables.",
    )
    migrate_on_start: bool = Field(
        True, description="Apply migrations when the app starts (serve does it once, first)."
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging).")


class LogSettings(BaseModel):
    level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level logged."
    )
    json_format: bool | None = Field(
        None,
        description="JSON lines (true) or text for humans (false); default: text with "
        "--dev, JSON otherwise.",
    )


class DataSettings(BaseModel):
    max_rows: int = Field(
        1000, ge=1, le=1_000_000, description="Most rows one /rest/v1 read returns."
    )


class StorageSettings(BaseModel):
    file_size_limit: int = Field(
        50 * 1024 * 1024,
        ge=0,
        description="Largest object in bytes (the global limit; a bucket may only lower it).",
    )
    s3_access_key_id: str | None = Field(None, description="Access key of the s3:// store.")
    s3_secret_access_key: SecretStr | None = Field(
        None, description="Secret key of the s3:// store."
    )
    max_versions: int = Field(
        10, ge=1, description="Previous versions a versioned bucket keeps of each object."
    )
    upload_expiry_seconds: int = Field(
        24 * 3600, ge=60, description="How long an unfinished resumable upload is kept."
    )
    sweep_grace_seconds: int = Field(
        3600,
        ge=60,
        description="Age after which stored bytes no row refers to are removed by the sweep.",
    )
    sweep_interval_seconds: int = Field(
        3600, ge=0, description="How often each worker sweeps unreferenced bytes (0 = never)."
    )
    image_max_dimension: int = Field(
        2500, ge=1, description="Largest width or height of a transformed image."
    )
    image_max_source_pixels: int = Field(
        50_000_000, ge=1, description="Largest source image (width x height) to transform."
    )


class AdminSettings(BaseModel):
    token_ttl_seconds: int = Field(
        3600, ge=60, le=7 * 24 * 3600, description="Lifetime of a platform admin's token."
    )


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
    redis_url: str | None = Field(
        None, description="redis://… for rate limits shared by several machines."
    )
    broker_url: str | None = Field(
        None, description="amqp://… (RabbitMQ); checked by /readyz, used by the event bus."
    )
    storage_url: str | None = Field(
        None,
        description="s3://bucket?endpoint=…&region=… for an S3-compatible store; unset = "
        "files under data_dir/storage.",
    )
    public_url: str | None = Field(
        None,
        description="The URL clients reach apprun at: issuer of end users' tokens and base of "
        "the links in emails. Default http://<server.host>:<server.port>.",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Master secret (32+ characters): signs admin tokens, seals project "
        "signing keys. Required outside --dev.",
    )
    admin_email: str | None = Field(
        None, description="With admin_password: the first administrator, created at start."
    )
    admin_password: SecretStr | None = Field(
        None, description="Password of that first administrator (12 characters or more)."
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    db: DbSettings = Field(default_factory=DbSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)

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

    @property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.server.host if self.server.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        return f"http://{host}:{self.server.port}"

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
