"""Everything a rule may ask about the file being checked, in one object."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from tensorlint.semantics.guards import GuardTracker
from tensorlint.semantics.modules import ModuleInference, self_parameter
from tensorlint.semantics.names import NameResolver
from tensorlint.semantics.project import EMPTY, ProjectView
from tensorlint.semantics.scopes import ScopeTracker
from tensorlint.semantics.tensors import TensorInference
from tensorlint.semantics.ternary import Ternary


@dataclass(frozen=True)
class MethodInfo:
    cls: cst.ClassDef
    func: cst.FunctionDef
    self_name: str | None  # None for static/class methods

    @property
    def name(self) -> str:
        return self.func.name.value


class FileContext:
    def __init__(
        self, path: str, module: cst.Module, extend_module_bases=(), target_torch_version=None,
        project: ProjectView = EMPTY,
    ) -> None:
        self.path = path
        self.module = module
        self.project = project  # what the rest of the project says (semantics/project.py)
        self.target_torch_version = target_torch_version
        self.scopes = ScopeTracker()
        self.names = NameResolver(self.scopes)
        self.tensors = TensorInference(self.scopes, self.names, project)
        self.modules = ModuleInference(self.scopes, self.names, extend_module_bases, project)
        # Trackers see every node before the rules do (enter) and after them (leave).
        self.trackers: list = [self.scopes]
        self.trackers.append(self.modules.members)  # `self.<attr>` assigned in module __init__
        from tensorlint.semantics.callgraph import CallGraph
        from tensorlint.semantics.grad_mode import GradModeTracker

        self.grad = GradModeTracker(self.scopes, self.names, self.modules, project)  # no_grad blocks, .eval()/.train()
        self.trackers.append(self.grad)
        self.calls = CallGraph(self.grad, self.trackers, self.names, project)  # joins the trackers when a rule calls require()
        self.guards = GuardTracker()  # enclosing if/else/try/except guards, statement and definitions
        self.trackers.append(self.guards)

    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        return self.names.qualified_name(node)

    def tensor_kind(self, node: cst.BaseExpression) -> Ternary:
        return self.tensors.kind(node)

    def is_tensor(self, node: cst.BaseExpression) -> bool:
        """Provably a tensor; unknown counts as no."""
        return self.tensors.kind(node) is Ternary.YES

    def module_method(self) -> MethodInfo | None:
        """The nn.Module method the traversal is directly inside, if any."""
        found = self.modules.enclosing_module_method()
        if found is None:
            return None
        cls, func = found
        return MethodInfo(cls, func, self_parameter(func))

    def code_for(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)
