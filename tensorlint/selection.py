"""Rule selectors: a code (`TL001`), a name (`tensor-copy-construct`), a prefix (`TL1`), or `ALL`."""

from __future__ import annotations

from collections.abc import Iterable

from tensorlint.errors import UsageError
from tensorlint.catalog import all_rules


def resolve(selector: str, *, where: str = "selector") -> frozenset[str]:
    key = selector.strip()
    rules = all_rules()
    if key.upper() == "ALL":
        return frozenset(r.code for r in rules)
    lowered = key.lower()
    for rule in rules:
        if rule.name == lowered:
            return frozenset({rule.code})
    matched = frozenset(r.code for r in rules if r.code.lower().startswith(lowered))
    if not key or not matched:
        raise UsageError(f"unknown rule {where} `{selector}`; see `tensorlint rules` for the list")
    return matched


def resolve_all(selectors: Iterable[str], *, where: str = "selector") -> frozenset[str]:
    out: set[str] = set()
    for selector in selectors:
        out |= resolve(selector, where=where)
    return frozenset(out)


def enabled_rules(select: list[str] | None, extend_select: list[str], ignore: list[str]) -> frozenset[str]:
    """`select` replaces the default set; `extend-select` adds to it; `ignore` removes."""
    if select is None:
        base = frozenset(r.code for r in all_rules() if r.default_enabled)
    else:
        base = resolve_all(select, where="in `select`")
    return (base | resolve_all(extend_select, where="in `extend-select`")) - resolve_all(ignore, where="in `ignore`")
