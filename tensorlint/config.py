"""Configuration: `.tensorlint.toml`, `tensorlint.toml` (top-level keys) or `[tool.tensorlint]`
in `pyproject.toml`, found as ruff finds its own, validated strictly, with `extend` chains.

An unknown key, a wrong type or an unknown rule is a UsageError naming it (exit 2), with a
"did you mean" when a known one is close: a typo in configuration must never silently turn
a check off.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tensorlint.errors import UsageError
from tensorlint.locations import CONFIG_NAMES  # noqa: F401 - re-exported

_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude", "extend-module-bases")
_BOOL_KEYS = ("force-exclude", "respect-gitignore")
_STR_KEYS = ("target-torch-version", "cache-dir", "extend")
_NUMBER_KEYS = ("file-timeout",)
DEFAULT_FILE_TIMEOUT = 5.0  # seconds of CPU time per file (per 100 KB of source)
_TABLE_KEYS = ("per-file-ignores",)

# `tensorlint config`: every setting, its type, default and what it does.
SETTINGS: dict[str, tuple[str, str, str]] = {
    "select": ("list[str]", "the rules marked \"on\" in `tensorlint rules`",
               "Rule selectors to enable (codes `TL001`, names `tensor-copy-construct`, prefixes `TL1`, "
               "or `ALL`); replaces the default set."),
    "extend-select": ("list[str]", "[]", "Rule selectors to enable in addition to `select`."),
    "ignore": ("list[str]", "[]", "Rule selectors to disable."),
    "exclude": ("list[str]", "[\".git\", \".venv\", \"build\", ...] (see README)",
                "Glob patterns of files and folders to skip; replaces the default excludes."),
    "extend-exclude": ("list[str]", "[]", "Glob patterns to skip in addition to `exclude`."),
    "force-exclude": ("bool", "false", "Apply the excludes to files passed explicitly too (pre-commit)."),
    "respect-gitignore": ("bool", "true", "Skip files that .gitignore ignores."),
    "per-file-ignores": ("table of glob -> list[str]", "{}",
                         "Rule selectors to disable in the files matching each glob pattern."),
    "extend-module-bases": ("list[str]", "[]",
                            "Dotted names of classes to treat as torch.nn.Module subclasses."),
    "target-torch-version": ("str", "none (the newest rules' assumptions)",
                             "The torch version the checked code runs on, e.g. \"2.5\"."),
    "cache-dir": ("str", "\".tensorlint_cache\"", "Where the cache lives, relative to the configuration file."),
    "file-timeout": ("number", "5", "CPU seconds allowed per file (per 100 KB) before TL000; 0: no limit."),
    "extend": ("str", "none",
               "Path of another configuration file (pyproject.toml or tensorlint.toml), relative to this "
               "file, whose settings this file's settings are laid over."),
}


def _rules():
    from tensorlint.catalog import all_rules  # the rules' metadata, without importing them (libcst)

    return all_rules()


def _suggest(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


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


    extend_chain: list[Path] = field(default_factory=list)  # the files laid under this one


def _ours(candidate: Path) -> bool:
    """Is this file a tensorlint configuration? A pyproject.toml only with [tool.tensorlint]."""
    if candidate.name != "pyproject.toml":
        return True
    import tomllib  # here, not at the top: most runs meet no config of ours (~5 ms a run)

    try:
        text = candidate.read_text(encoding="utf-8")
        if "tensorlint" not in text:
            return False  # cannot hold [tool.tensorlint]: not worth parsing
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError):
        return False
    except (tomllib.TOMLDecodeError, RecursionError, MemoryError):
        return "tool.tensorlint" in text  # ours, and broken: load_config says where
    return isinstance(data.get("tool"), dict) and "tensorlint" in data["tool"]


def find_config(start: Path) -> Path | None:
    """The closest configuration file at or above `start`: in each folder `.tensorlint.toml`,
    then `tensorlint.toml`, then a pyproject.toml with a [tool.tensorlint] table."""
    start = start.resolve()
    for folder in (start, *start.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file() and _ours(candidate):
                return candidate
    return None


def _read_table(path: Path) -> dict:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"config file is a folder: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML in {path}: {exc}") from None
    except (RecursionError, MemoryError):
        raise UsageError(f"invalid TOML in {path}: nested too deeply to read") from None
    if path.name != "pyproject.toml":
        if isinstance(data.get("tool"), dict) and "tensorlint" in data["tool"] and len(data) == 1:
            raise UsageError(f"{path}: settings in {path.name} are top-level keys, without a [tool.tensorlint] table")
        return data
    tool = data.get("tool", {})
    table = tool.get("tensorlint", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.tensorlint] must be a table")
    return table


def load_config(path: Path | None, cwd: Path) -> Config:
    if path is None:
        return Config(root=cwd.resolve())
    return _load_chain(path, [])


def _load_chain(path: Path, seen: list[Path]) -> Config:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise UsageError(f"circular `extend` in configuration: {chain}")
    table = _read_table(path)
    extend = table.get("extend")
    if extend is None:
        return parse_table(table, path)
    if not isinstance(extend, str):
        raise UsageError(f"{path}: `extend` must be a string (a path)")
    base_path = (path.parent / os.path.expandvars(os.path.expanduser(extend)))
    if not base_path.is_file():
        raise UsageError(f"{path}: `extend` names {base_path}, which is not a file")
    base = _load_chain(base_path, [*seen, resolved])
    return parse_table(table, path, base)


def _where(path: Path, key: str) -> str:
    table = "[tool.tensorlint] " if path.name == "pyproject.toml" else ""
    return f"{path}: {table}`{key}`"


def parse_table(table: dict, path: Path, base: Config | None = None) -> Config:
    """The settings of one file, laid over `base` (the file it extends): a key given here
    replaces the base's, except that `extend-select`, `ignore`, `extend-exclude` and
    `extend-module-bases` add to it, `select` drops the base's selection (as on the command
    line), and `per-file-ignores` and rule options are merged entry by entry."""
    config = Config(root=path.parent.resolve(), path=path)
    if base is not None:
        config.select, config.ignore, config.extend_select = base.select, list(base.ignore), list(base.extend_select)
        config.exclude, config.extend_exclude = base.exclude, list(base.extend_exclude)
        config.per_file_ignores = dict(base.per_file_ignores)
        config.force_exclude, config.respect_gitignore = base.force_exclude, base.respect_gitignore
        config.extend_module_bases = list(base.extend_module_bases)
        config.target_torch_version, config.cache_dir = base.target_torch_version, base.cache_dir
        config.file_timeout = base.file_timeout
        config.rule_options = {k: dict(v) for k, v in base.rule_options.items()}
        config.extend_chain = [*base.extend_chain, base.path] if base.path else list(base.extend_chain)
    rules = {rule.name: rule for rule in _rules()}
    if "select" in table:
        config.extend_select, config.ignore = [], []
    for key, value in table.items():
        where = _where(path, key)
        if key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where} must be a list of strings")
            attr = key.replace("-", "_")
            if key in ("extend-select", "ignore", "extend-exclude", "extend-module-bases"):
                setattr(config, attr, getattr(config, attr) + list(value))
            else:
                setattr(config, attr, list(value))
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise UsageError(f"{where} must be true or false")
            setattr(config, key.replace("-", "_"), value)
        elif key in _STR_KEYS:
            if not isinstance(value, str):
                raise UsageError(f"{where} must be a string")
            if key == "target-torch-version":
                parse_version(value, where)
            if key != "extend":
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
            config.per_file_ignores.update({k: list(v) for k, v in value.items()})
        elif key in rules:
            config.rule_options.setdefault(key, {}).update(_rule_options(rules[key], value, where))
        else:
            hint = _suggest(key, [*SETTINGS, *rules])
            if not hint and key.upper().startswith("TL"):
                from tensorlint.selection import closest_rule

                rule = closest_rule(key)
                if rule is not None:  # `[TL101]`: options go under the rule's name
                    hint = f" (rule options go under the rule's name: `{rule.name}`)"
            table_name = " in [tool.tensorlint]" if path.name == "pyproject.toml" else ""
            raise UsageError(f"{path}: unknown key `{key}`{table_name}{hint}")
    return config


def _rule_options(rule, value, where: str) -> dict:
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a table of options for rule {rule.code}")
    out = {}
    for option, setting in value.items():
        spec = rule.options.get(option)
        if spec is None:
            known = ", ".join(sorted(rule.options)) or "none"
            hint = _suggest(option, rule.options)
            raise UsageError(f"{where}: unknown option `{option}` for rule {rule.name}{hint} (known: {known})")
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


def show_settings(key: str | None, fmt: str = "text") -> int:
    """`tensorlint config [KEY]`: every setting, or one setting's type, default and doc;
    `KEY` may be a rule's name (its options) or `rule-name.option`."""
    entries: dict[str, tuple[str, str, str]] = dict(SETTINGS)
    for rule in _rules():
        for option, spec in rule.options.items():
            entries[f"{rule.name}.{option}"] = (spec.type.__name__, json.dumps(spec.default), f"{rule.code}: {spec.help}")
    if key is not None:
        chosen = {k: v for k, v in entries.items() if k == key or k.startswith(key + ".")}
        if not chosen:
            raise UsageError(f"unknown setting `{key}`{_suggest(key, entries)}; see `tensorlint config`")
    else:
        chosen = entries
    if fmt == "json":
        data = {k: {"type": t, "default": d, "doc": doc} for k, (t, d, doc) in chosen.items()}
        print(json.dumps(data[key] if key in data and len(data) == 1 else data, indent=2))
        return 0
    import shutil
    import textwrap

    columns = max(40, shutil.get_terminal_size((80, 24)).columns)
    if key is None:
        for name, (_, _, doc) in chosen.items():
            print(name)
            print(textwrap.fill(doc, columns, initial_indent="    ", subsequent_indent="    "))
        return 0
    blocks = []
    for name, (kind, default, doc) in chosen.items():
        text = textwrap.fill(doc, columns, initial_indent="  ", subsequent_indent="  ")
        blocks.append(f"{name}\n{text}\n  Type: {kind}\n  Default: {default}")
    print("\n\n".join(blocks))
    return 0
