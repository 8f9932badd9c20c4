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
        raise UsageError(f"unknown rule {where} `{selector}`{did_you_mean(selector)}; see `tensorlint rules` for the list")
    return matched


def closest_rule(text: str):
    """The rule whose code or name `text` most likely misspells (`TL00l`, `tensor-copy-constuct`), or None."""
    import difflib

    key = text.strip()
    rules = all_rules()
    by_code = {r.code.lower(): r for r in rules}
    by_name = {r.name: r for r in rules}
    lowered = key.lower()
    # letters typed for digits (`TL00l`, `TLO01`): a code with the look-alikes read as digits
    digits = lowered[:2] + lowered[2:].translate(str.maketrans("lioszb", "110528"))
    if digits in by_code:
        return by_code[digits]
    pool = by_name if "-" in key or not lowered.startswith("tl") else by_code
    if pool is by_code and len(lowered) < 5:
        return None  # `TL1` is a prefix, not a misspelt code
    close = difflib.get_close_matches(lowered, list(pool), n=1, cutoff=0.75 if pool is by_code else 0.6)
    return pool[close[0]] if close else None


def did_you_mean(text: str) -> str:
    rule = closest_rule(text)
    if rule is None:
        return ""
    shown = rule.name if "-" in text else rule.code
    return f" (did you mean `{shown}`, {rule.name if shown == rule.code else rule.code}?)"


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
