"""What a rule is: metadata, a doc in ruff's form, and libcst visit methods.

Rules never traverse on their own. The engine walks each file once and calls every
enabled rule's ``visit_<Node>``/``leave_<Node>`` methods, with the shared semantic
context (``self.ctx``) already up to date for the node being visited.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.semantics.context import FileContext

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")


@dataclass(frozen=True)
class Option:
    """A per-rule setting, configured under ``[tool.tensorlint.<rule-name>]``."""

    default: Any
    type: type
    help: str


@dataclass(frozen=True)
class FixSpec:
    applicability: Applicability
    message: str
    replacements: tuple[tuple[cst.CSTNode, cst.CSTNode], ...]


@dataclass(frozen=True)
class Report:
    node: cst.CSTNode
    message: str
    fix: FixSpec | None


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    default_enabled: ClassVar[bool] = True
    fix_applicability: ClassVar[Applicability | None] = None
    options: ClassVar[dict[str, Option]] = {}

    def __init__(self, ctx: FileContext, options: dict[str, Any], sink: list) -> None:
        self.ctx = ctx
        self.settings = {key: options.get(key, opt.default) for key, opt in self.options.items()}
        self._sink = sink

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def fixable(cls) -> bool:
        return cls.fix_applicability is not None

    def report(self, node: cst.CSTNode, message: str, fix: FixSpec | None = None) -> None:
        self._sink.append((self, Report(node, message, fix)))

    def replace(
        self, old: cst.CSTNode, new: cst.CSTNode, message: str, applicability: Applicability | None = None
    ) -> FixSpec:
        """A fix that swaps one node for another; formatting around it is untouched."""
        return FixSpec(applicability or self.fix_applicability or Applicability.SAFE, message, ((old, new),))
