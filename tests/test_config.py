"""Settings: environment (nested with __), apprun.toml, secrets policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from apprun.app import build_services
from apprun.config import ConfigError, Settings


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPRUN_SERVER__PORT", "9001")
    monkeypatch.setenv("APPRUN_RATE_LIMIT__IP_BURST", "7")
    monkeypatch.setenv("APPRUN_HTTP__CORS_ORIGINS", '["https://a.example"]')
    monkeypatch.setenv("APPRUN_CLUSTERS__EU", "postgresql://db-eu/app")
    settings = Settings()
    assert settings.server.port == 9001
    assert settings.rate_limit.ip_burst == 7
    assert settings.http.cors_origins == ["https://a.example"]
    assert settings.clusters == {"eu": "postgresql://db-eu/app"}


def test_toml_file_below_environment_below_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "apprun.toml"
    config.write_text('data_dir = "from-toml"\n[server]\nport = 7000\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("APPRUN_CONFIG_FILE", str(config))
    monkeypatch.setenv("APPRUN_SERVER__PORT", "7100")
    settings = Settings()
    assert settings.data_dir == Path("from-toml")
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == 7100  # env beats the file
    assert Settings(server={"port": 7200}).server.port == 7200  # flags beat env


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPRUN_SERVER__PORT", "not-a-port")
    with pytest.raises(ValueError, match="port"):
        Settings()


@pytest.mark.parametrize("secret", ["", "changeme", "short-secret"])
def test_production_refuses_weak_secrets(tmp_path: Path, secret: str) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=secret)
    with pytest.raises(ConfigError, match="APPRUN_SECRET_KEY"):
        build_services(settings)


def test_dev_mode_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path, dev=True).with_dev_secret()
    second = Settings(data_dir=tmp_path, dev=True).with_dev_secret()
    value = first.secret_key.get_secret_value()
    assert len(value) >= 32
    assert value == second.secret_key.get_secret_value()
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_workers_default_per_mode() -> None:
    assert Settings(dev=True).server.effective_workers(dev=True) == 1
    assert Settings().server.effective_workers(dev=False) >= 1
    assert Settings(server={"workers": 3}).server.effective_workers(dev=True) == 3


def test_cluster_names_are_checked() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        Settings(clusters={"default": "postgresql://x/y"})
