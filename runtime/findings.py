"""Findings: what the monitor reports, deduplicated per (kind, module) with counts, then grouped per root cause."""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "saturation",
    "dead-units",
    "non-finite",
    "drift",
    "bn-stats-mismatch",
    "dropout-active-at-inference",
    "batchnorm-train-at-inference",
    "train-in-eval-mode",
    "batchnorm-small-batch",
    "unregistered-module",
    "non-finite-gradient",
    "vanishing-gradient",
    "exploding-gradient",
    "weight-update-ratio",
    "unchanged-parameter",
    "no-gradient",
    "loss",
)
SEVERITIES = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass
class Finding:
    """One diagnosis of one module; ``count`` says how many times it was observed."""

    kind: str
    module: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    count: int = 1
    modules: list[str] = field(default_factory=list)  # every affected module; [module] unless grouped

    def __post_init__(self) -> None:
        if not self.modules:
            self.modules = [self.module]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "module": self.module,
            "modules": list(self.modules),
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "details": self.details,
        }


class EventLog:
    """Host-side record of per-forward events (mode mistakes), merged per (kind, module).

    Events are cheap Python bookkeeping; the first occurrence keeps its details and
    later ones only bump the count, so memory does not grow with the number of steps.
    """

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], Finding] = {}

    def record(self, kind: str, module: str, severity: str, message: str, details: dict | None = None) -> Finding:
        """Count one event; returns the merged finding so callers can add examples to its details."""
        key = (kind, module)
        found = self._events.get(key)
        if found is None:
            found = self._events[key] = Finding(kind, module, severity, message, details or {})
            return found
        found.count += 1
        if _RANK[severity] < _RANK[found.severity]:
            found.severity, found.message = severity, message
        return found

    def findings(self) -> list[Finding]:
        return [copy.deepcopy(f) for f in self._events.values()]


def normalise_allow(allow: Mapping[str, Iterable[str] | str] | None) -> dict[str, tuple[str, ...]]:
    """Check an allowlist ``{kind or "*": [module glob, ...]}`` early so typos fail loudly."""
    out: dict[str, tuple[str, ...]] = {}
    for kind, patterns in (allow or {}).items():
        if kind != "*" and kind not in KINDS:
            raise ValueError(f"unknown finding kind in allow: {kind!r}; expected one of {', '.join(KINDS)}")
        out[kind] = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    return out


def is_allowed(finding: Finding, allow: Mapping[str, tuple[str, ...]]) -> bool:
    """True when an allowlist glob matches the finding's module ("" is the root)."""
    for kind in (finding.kind, "*"):
        for pattern in allow.get(kind, ()):
            if finding.module == pattern or fnmatch.fnmatchcase(finding.module, pattern):
                return True
    return False


def sort_findings(findings: list[Finding], order: Mapping[str, int]) -> list[Finding]:
    """Most severe first, then model execution order, so the root cause tends to lead.

    An unregistered module leads the findings of its parent: it explains them.
    """
    return sorted(
        findings,
        key=lambda f: (
            _RANK[f.severity],
            order.get(f.module, 1 << 30),
            -1 if f.kind == "unregistered-module" else KINDS.index(f.kind),
        ),
    )


def _cause(f: Finding) -> tuple:
    """What makes two findings of one kind the same root cause (one forgotten eval(), one data shift...)."""
    d = f.details
    if f.kind in ("dropout-active-at-inference", "batchnorm-train-at-inference"):
        return (bool(d.get("function")), d.get("inside_unregistered"))
    if f.kind == "train-in-eval-mode":
        return (bool(d.get("frozen_batchnorm")),)
    if f.kind in ("saturation", "dead-units"):
        return (d.get("activation"),)
    if f.kind in ("non-finite", "unregistered-module"):
        return (f.module,)
    if f.kind == "batchnorm-small-batch":
        return (f.severity,)  # mostly small batches vs a ragged last batch: different advice
    if f.kind in (
        "vanishing-gradient", "exploding-gradient", "weight-update-ratio", "non-finite-gradient", "loss",
        "unchanged-parameter", "no-gradient",
    ):  # fmt: skip
        return (d.get("check"),)
    return ()


def group_findings(findings: list[Finding]) -> list[Finding]:
    """One row per (kind, cause), in the order of each group's first (most severe, earliest) member.

    The row names the first module and forward, lists every module in ``modules`` and keeps
    each member's own record in ``details["per_module"]``.
    """
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.kind, _cause(f)), []).append(f)
    out = []
    for members in groups.values():
        first = members[0]
        if len(members) == 1:
            out.append(first)
            continue
        modules = list(dict.fromkeys(m.module for m in members))
        forwards = [m.details["forward"] for m in members if isinstance(m.details.get("forward"), int)]
        details = dict(first.details)
        details.update(
            modules=modules,
            affected=len(members),
            first_module=first.module,
            first_forward=min(forwards) if forwards else None,
            per_module=[m.to_dict() for m in members],
        )
        if len(modules) == 1:
            out.append(Finding(first.kind, first.module, first.severity, first.message, details, sum(m.count for m in members)))
            continue
        shown = ", ".join(f"`{m or '(root)'}`" for m in modules[1:4]) + (", ..." if len(modules) > 4 else "")
        where = f" at forward {details['first_forward']}" if details["first_forward"] is not None else ""
        message = (
            f"{len(modules)} modules, first `{first.module or '(root)'}`{where}: {first.message} "
            f"Same cause in {shown}."
        )
        out.append(Finding(first.kind, first.module, first.severity, message, details, sum(m.count for m in members), modules))
    return out
