"""Layer 2 of the semantic index: the project summary, seen from one file.

(Stub: the interface rules may call today. Every answer is "unknown" (None/False)
until the project index is wired in; rules must stay silent on unknown.)

Names passed in are what `ctx.qualified_name()` gives for an expression of the file
being checked, e.g. `mypkg.models.Net`, or `.models.Net` for a relative import; the
view resolves them (relative imports, `__init__` re-exports) itself.
"""

from __future__ import annotations


class ProjectView:
    """What the rest of the project says about names used in one file."""

    def is_module_class(self, qualname: str | None) -> bool:
        """Provably an nn.Module subclass defined in the project (bases followed across files)."""
        return False

    def forward_returns(self, qualname: str | None) -> str | None:
        """For an nn.Module class of the project: what calling an instance returns,
        "probability", "log_probability", "logits", "tensor", or None (unknown)."""
        return None

    def function_returns(self, qualname: str | None) -> str | None:
        """For a function of the project: what calling it returns, one of
        "probability", "log_probability", "tensor", "module", or None (unknown)."""
        return None


EMPTY = ProjectView()
