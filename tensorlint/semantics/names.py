"""Qualified-name resolution without libcst's QualifiedNameProvider.

`F.dropout` resolves to `torch.nn.functional.dropout` under every import style
(`import torch.nn.functional as F`, `from torch.nn import functional as F`, ...) and
through simple re-bindings (`drop = F.dropout`). A name whose bindings disagree
resolves to nothing, so rules stay silent on it.
"""

from __future__ import annotations

import libcst as cst

from tensorlint.semantics.scopes import BUILTIN_NAMES, Binding, ScopeTracker

def canonical(qualname: str) -> str:
    """Map `torch.nn.modules.dropout.Dropout` to `torch.nn.Dropout`, and the like."""
    if qualname.startswith("torch.nn.modules."):
        return "torch.nn." + qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torch.autograd.grad_mode."):
        return "torch." + qualname.rsplit(".", 1)[-1]
    if qualname == "torch._tensor.Tensor" or qualname.startswith("torch._tensor.Tensor."):
        return "torch.Tensor" + qualname[len("torch._tensor.Tensor"):]
    return qualname


class NameResolver:
    def __init__(self, scopes: ScopeTracker) -> None:
        self._scopes = scopes
        self._resolving: set[int] = set()

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        """The dotted name an expression refers to, or None if unknown."""
        if isinstance(node, cst.Name):
            return self._resolve_name(node.value)
        if isinstance(node, cst.Attribute):
            head = self.qualified_name(node.value)
            if head is None:
                return None
            return canonical(f"{head}.{node.attr.value}")
        return None

    def _resolve_name(self, name: str) -> str | None:
        bindings = self._scopes.lookup(name)
        if bindings is None:
            return f"builtins.{name}" if name in BUILTIN_NAMES else None
        resolved: set[str] = set()
        for binding in bindings:
            target = self._binding_target(binding)
            if target is _IGNORE:
                continue
            if target is None:
                return None
            resolved.add(target)
        if len(resolved) != 1:
            return None
        return resolved.pop()

    def _binding_target(self, binding: Binding):
        if binding.kind == "import":
            return canonical(binding.qualname) if binding.qualname else None
        if binding.kind == "assign" and binding.value is not None:
            value = binding.value
            if isinstance(value, cst.Name) and value.value == "None":
                return _IGNORE  # `except ImportError: torch = None`
            if isinstance(value, (cst.Name, cst.Attribute)):
                key = id(binding)
                if key in self._resolving:
                    return None
                self._resolving.add(key)
                try:
                    return self.qualified_name(value)
                finally:
                    self._resolving.discard(key)
        return None


_IGNORE = object()
