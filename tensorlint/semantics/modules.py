"""nn.Module inference: which classes are modules, which functions are their methods."""

from __future__ import annotations

import libcst as cst

from tensorlint.semantics.names import NameResolver
from tensorlint.semantics.scopes import ScopeTracker

# Well-known third-party bases that are nn.Module subclasses.
KNOWN_MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "pytorch_lightning.LightningModule",
        "pytorch_lightning.core.LightningModule",
        "pytorch_lightning.core.module.LightningModule",
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "lightning.pytorch.core.LightningModule",
        "transformers.PreTrainedModel",
        "transformers.modeling_utils.PreTrainedModel",
    }
)
# Classes under torch.nn that are not modules.
NON_MODULE_TORCH_NN = frozenset(
    {"Parameter", "UninitializedParameter", "UninitializedBuffer", "Buffer", "ParameterList", "ParameterDict"}
)


class ModuleInference:
    def __init__(self, scopes: ScopeTracker, names: NameResolver, extra_bases=()) -> None:
        self._scopes = scopes
        self._names = names
        self._extra_bases = frozenset(extra_bases)
        self._verdicts: dict[cst.ClassDef, bool] = {}

    def is_module_class(self, node: cst.ClassDef) -> bool:
        """True when a base is nn.Module, a torch.nn layer, a known framework base,
        or a class of this file that is itself a module (subclasses of subclasses)."""
        verdict = self._verdicts.get(node)
        if verdict is None:
            verdict = any(self._is_module_base(arg.value) for arg in node.bases if arg.keyword is None)
            self._verdicts[node] = verdict
        return verdict

    def is_module_base_name(self, qualname: str) -> bool:
        if qualname in KNOWN_MODULE_BASES or qualname in self._extra_bases:
            return True
        if qualname.startswith("torch.nn.") and qualname.count(".") == 2:
            last = qualname.rsplit(".", 1)[-1]
            return last[:1].isupper() and last not in NON_MODULE_TORCH_NN
        # relative imports inside transformers itself: `from ...modeling_utils import PreTrainedModel`
        return qualname.startswith(".") and qualname.endswith("modeling_utils.PreTrainedModel")

    def _is_module_base(self, base: cst.BaseExpression) -> bool:
        if isinstance(base, cst.Name):
            bindings = self._scopes.lookup(base.value)
            if bindings and all(b.kind == "class" for b in bindings):
                return all(self.is_module_class(b.node) for b in bindings)  # type: ignore[arg-type]
        qualname = self._names.qualified_name(base)
        return qualname is not None and self.is_module_base_name(qualname)

    def enclosing_module_method(self) -> tuple[cst.ClassDef, cst.FunctionDef] | None:
        """(class, method) when the innermost function is a method of an nn.Module class."""
        found = self._scopes.enclosing_method()
        if found is None or not self.is_module_class(found[0]):
            return None
        return found


def self_parameter(func: cst.FunctionDef) -> str | None:
    """The name of the instance parameter, or None for static/class methods."""
    for decorator in func.decorators:
        deco = decorator.decorator
        if isinstance(deco, cst.Name) and deco.value in ("staticmethod", "classmethod"):
            return None
    params = (*func.params.posonly_params, *func.params.params)
    return params[0].name.value if params else None
