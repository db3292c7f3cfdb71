"""One configuration object for the whole pipeline.

Defaults live in ``core/default_config.toml`` (documented there, key by key). A user TOML file
overrides any subset; unknown sections or keys are refused with a message naming them, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.toml")


class ConfigError(UserError, ValueError):
    """A configuration file or value is not usable."""


class Section(Mapping):
    """Read-only view of one config section with attribute access (``cfg.hoarding.burst_days``)."""

    def __init__(self, data: dict):
        self._data = data

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return Section(value) if isinstance(value, dict) else value

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}; known keys: {sorted(self._data)}") from None


def _merge(base: dict, override: dict, where: str, source: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in base:
            raise ConfigError(
                f"{source}: unknown config key '{where}{key}'. Allowed keys here: {sorted(base)}. "
                "Fix the spelling or remove the key (see core/default_config.toml)."
            )
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{where}{key}' must be a table, got {type(value).__name__}")
            out[key] = _merge(base[key], value, f"{where}{key}.", source)
        else:
            expected = type(base[key])
            ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
            if not ok:
                raise ConfigError(
                    f"{source}: '{where}{key}' must be {expected.__name__}, got {value!r} "
                    f"({type(value).__name__})"
                )
            out[key] = value
    return out


@dataclass(frozen=True)
class Config:
    """The whole configuration. Sections are read-only; use :meth:`with_overrides` for what-ifs."""

    data: dict = field(repr=False)
    source: str = "defaults"

    def __getattr__(self, name: str) -> Section:
        data = object.__getattribute__(self, "data")
        if name not in data:
            raise AttributeError(f"config has no section {name!r}; sections: {sorted(data)}")
        return Section(data[name])

    def with_overrides(self, overrides: dict, source: str = "overrides") -> Config:
        return Config(_merge(self.data, overrides, "", source), source=f"{self.source}+{source}")

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by the TOML file at ``path`` when given."""
    with open(DEFAULT_CONFIG_PATH, "rb") as fh:
        defaults = tomllib.load(fh)
    cfg = Config(defaults)
    if path is None:
        return cfg
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            user = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return cfg.with_overrides(user, source=str(path))
