"""What the command line needs to know about the rules, without importing them.

Importing the rules imports libcst (about 0.25 s), and a run that the cache answers
never needs them: it only resolves selectors, validates configuration and builds the
cache key. So the rules' metadata (code, name, default, fix, options) is kept as data
in `data/rule_catalog.json`, regenerated with the docs by `scripts/gen_docs.py` and
checked against the registry by `tests/test_docs.py`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from tensorlint.locations import CATALOG_FILE, catalog_entries  # noqa: F401 - CATALOG_FILE re-exported

_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "list": list}


@dataclass(frozen=True)
class OptionInfo:
    default: object
    type: type
    help: str


@dataclass(frozen=True)
class RuleInfo:
    """A rule as the configuration sees it; `module` is where its class lives."""

    code: str
    name: str
    summary: str
    default_enabled: bool
    fix: str | None
    module: str
    options: dict[str, OptionInfo]


@functools.cache
def all_rules() -> tuple[RuleInfo, ...]:
    """Every rule, sorted by code (the registry's order)."""
    return tuple(
        RuleInfo(
            code=entry["code"],
            name=entry["name"],
            summary=entry["summary"],
            default_enabled=entry["default"],
            fix=entry["fix"],
            module=entry["module"],
            options={
                key: OptionInfo(spec["default"], _TYPES[spec["type"]], spec["help"])
                for key, spec in entry["options"].items()
            },
        )
        for entry in catalog_entries()
    )


def catalog_data(rules) -> list[dict]:
    """The catalog's content for registry rule classes (what gen_docs.py writes)."""
    return [
        {
            "code": r.code,
            "name": r.name,
            "summary": r.summary,
            "default": r.default_enabled,
            "fix": r.fix_applicability.value if r.fix_applicability else None,
            "module": r.__module__,
            "options": {
                key: {"default": o.default, "type": o.type.__name__, "help": o.help} for key, o in r.options.items()
            },
        }
        for r in rules
    ]


def catalog_text(rules) -> str:
    return json.dumps(catalog_data(rules), indent=1) + "\n"
