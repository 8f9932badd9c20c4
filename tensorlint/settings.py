"""The effective lint settings: what changes a file's findings, hence part of the cache key.

Kept apart from the engine so that a run the cache answers never imports libcst.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LintSettings:
    enabled: frozenset[str]
    rule_options: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    extend_module_bases: tuple[str, ...] = ()
    target_torch_version: str | None = None

    def options_for(self, rule) -> dict:
        """The configured options of a rule (anything with a `name`)."""
        for name, opts in self.rule_options:
            if name == rule.name:
                return dict(opts)
        return {}
