"""The rule registry: every module in this package defines one rule.

Rules are found by walking the package, so adding a rule is adding a file.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from tensorlint.rules.base import Rule

_NOT_RULES = {"base", "fixes", "loss_input"}


@functools.cache
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule class, sorted by code. Codes and names must be unique."""
    found: dict[str, type[Rule]] = {}
    names: set[str] = set()
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_RULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__ and getattr(value, "code", None):
                if value.code in found or value.name in names:
                    raise RuntimeError(f"duplicate rule code or name: {value.code} {value.name}")
                found[value.code] = value
                names.add(value.name)
    return tuple(found[code] for code in sorted(found))


def rule_by_code(code: str) -> type[Rule] | None:
    return next((r for r in all_rules() if r.code == code), None)


def find_rule(key: str) -> type[Rule] | None:
    """Look a rule up by code (`TL001`) or kebab-case name (`tensor-copy-construct`)."""
    key = key.strip()
    for rule in all_rules():
        if rule.code.lower() == key.lower() or rule.name == key.lower():
            return rule
    return None
