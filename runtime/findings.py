"""Findings: what the monitor reports, deduplicated per (kind, module) with counts."""

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "module": self.module,
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
    """Most severe first, then model execution order, so the root cause tends to lead."""
    return sorted(findings, key=lambda f: (_RANK[f.severity], order.get(f.module, 1 << 30), KINDS.index(f.kind)))
