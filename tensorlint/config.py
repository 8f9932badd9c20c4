"""`[tool.tensorlint]` in the nearest pyproject.toml, validated strictly.

An unknown key, a wrong type or an unknown rule is a UsageError naming it (exit 2):
a typo in configuration must never silently turn a check off.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tensorlint.errors import UsageError
from tensorlint.catalog import all_rules

_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude", "extend-module-bases")
_BOOL_KEYS = ("force-exclude", "respect-gitignore")
_STR_KEYS = ("target-torch-version", "cache-dir")
_NUMBER_KEYS = ("file-timeout",)
DEFAULT_FILE_TIMEOUT = 5.0  # seconds of CPU time per file (per 100 KB of source)
_TABLE_KEYS = ("per-file-ignores",)


@dataclass
class Config:
    root: Path
    path: Path | None = None
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    exclude: list[str] | None = None
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    force_exclude: bool = False
    respect_gitignore: bool = True
    extend_module_bases: list[str] = field(default_factory=list)
    target_torch_version: str | None = None
    cache_dir: str | None = None
    file_timeout: float = DEFAULT_FILE_TIMEOUT
    rule_options: dict[str, dict] = field(default_factory=dict)


def find_config(start: Path) -> Path | None:
    """The closest pyproject.toml, at or above `start`, that has a [tool.tensorlint] table."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
                data = tomllib.loads(text)
            except (OSError, UnicodeDecodeError):
                continue
            except (tomllib.TOMLDecodeError, RecursionError, MemoryError):
                if "tool.tensorlint" in text:
                    return candidate  # ours, and broken: load_config says where
                continue  # someone else's broken file
            if isinstance(data.get("tool"), dict) and "tensorlint" in data["tool"]:
                return candidate
    return None


def load_config(path: Path | None, cwd: Path) -> Config:
    if path is None:
        return Config(root=cwd.resolve())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML in {path}: {exc}") from None
    except (RecursionError, MemoryError):
        raise UsageError(f"invalid TOML in {path}: nested too deeply to read") from None
    tool = data.get("tool", {})
    table = (tool.get("tensorlint", {}) if isinstance(tool, dict) else {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.tensorlint] must be a table")
    return parse_table(table, path)


def parse_table(table: dict, path: Path) -> Config:
    config = Config(root=path.parent.resolve(), path=path)
    rules = {rule.name: rule for rule in all_rules()}
    for key, value in table.items():
        where = f"{path}: [tool.tensorlint] `{key}`"
        if key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where} must be a list of strings")
            setattr(config, key.replace("-", "_"), list(value))
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise UsageError(f"{where} must be true or false")
            setattr(config, key.replace("-", "_"), value)
        elif key in _STR_KEYS:
            if not isinstance(value, str):
                raise UsageError(f"{where} must be a string")
            if key == "target-torch-version":
                parse_version(value, where)
            setattr(config, key.replace("-", "_"), value)
        elif key in _NUMBER_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise UsageError(f"{where} must be a number of seconds (0: no limit)")
            setattr(config, key.replace("-", "_"), float(value))
        elif key in _TABLE_KEYS:
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in value.values()
            ):
                raise UsageError(f"{where} must map glob patterns to lists of rule selectors")
            config.per_file_ignores = {k: list(v) for k, v in value.items()}
        elif key in rules:
            config.rule_options[key] = _rule_options(rules[key], value, where)
        else:
            raise UsageError(f"{path}: unknown key `{key}` in [tool.tensorlint]")
    return config


def _rule_options(rule, value, where: str) -> dict:
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a table of options for rule {rule.code}")
    out = {}
    for option, setting in value.items():
        spec = rule.options.get(option)
        if spec is None:
            known = ", ".join(sorted(rule.options)) or "none"
            raise UsageError(f"{where}: unknown option `{option}` for rule {rule.name} (known: {known})")
        if not isinstance(setting, spec.type) or isinstance(setting, bool) != (spec.type is bool):
            raise UsageError(f"{where}: option `{option}` must be of type {spec.type.__name__}")
        out[option] = setting
    return out


def parse_version(text: str, where: str = "target torch version") -> tuple[int, int]:
    parts = text.strip().split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except (ValueError, IndexError):
        raise UsageError(f"{where}: `{text}` is not a version like \"2.6\"") from None
    return major, minor
