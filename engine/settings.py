"""Load gridflow settings from config.toml, overridden by GRIDFLOW_* environment variables."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config.toml"


# GRIDFLOW_* variables that choose the settings file or the test database rather than a setting.
_NOT_SETTINGS = {"CONFIG", "TEST_DATABASE_URL"}


class SettingsError(ValueError):
    """A setting is missing or has a value of the wrong shape."""


def _from_env(key: str, raw: str, default):
    if isinstance(default, str):
        return raw
    if default is None:  # a key config.toml does not list (any Flask setting): TOML if it reads as one
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"GRIDFLOW_{key}: not a valid TOML value ({exc})") from None


def load_settings(overrides: dict | None = None, *, path: Path | str | None = None,
                  environ: dict | None = None) -> dict:
    """Return the settings: config.toml defaults, then environment, then ``overrides``."""
    config_path = Path(path or os.environ.get("GRIDFLOW_CONFIG") or DEFAULT_CONFIG)
    with open(config_path, "rb") as fh:
        settings = {k: v for k, v in tomllib.load(fh).items() if k.isupper()}
    environ = os.environ if environ is None else environ
    # Every GRIDFLOW_<KEY> counts, not only the keys config.toml lists: Flask's own settings
    # (SESSION_COOKIE_SECURE, say) are set this way too.
    for name, raw in environ.items():
        key = name[len("GRIDFLOW_"):]
        if name.startswith("GRIDFLOW_") and key.isupper() and key not in _NOT_SETTINGS:
            settings[key] = _from_env(key, raw, settings.get(key))
    settings.update(overrides or {})
    base = config_path.resolve().parent
    settings["PROCESSES_DIR"] = str((base / settings["PROCESSES_DIR"]).resolve())
    for key in ("CALENDAR_FILE", "PUBLIC_FILE", "SCENARIO_CITY", "MAP_PMTILES_FILE"):
        if settings.get(key):
            settings[key] = str((base / settings[key]).resolve())
    settings["DATABASE_URL"] = resolve_database_url(settings["DATABASE_URL"], base)
    settings.setdefault("INSTANCE_DIR", str(base / "instance"))
    return settings


def resolve_database_url(url: str, base: Path) -> str:
    """Make a relative SQLite file path absolute against the project folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((base / url[len(prefix):]).resolve())
    return url
