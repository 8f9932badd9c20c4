"""The shared shape of the loss-input rules (TL201, TL202): find calls of a loss,
then ask the value analysis what reaches the loss's input.

Calls of possible loss objects (`criterion(out, y)`) are only worth the file-wide value
analysis when the file builds the loss class somewhere; until one is seen they wait,
and are checked at the end of the file if one was.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.calls import callee_name
from tensorlint.semantics.dataflow import loss_call_shape


class LossInputRule(Rule):
    loss_function: ClassVar[str]  # `torch.nn.functional.cross_entropy`
    loss_class_name: ClassVar[str]  # `CrossEntropyLoss`

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._loss_built = False
        self._waiting: list = []

    def visit_Call(self, node: cst.Call) -> None:
        if not self._loss_built and callee_name(node.func) == self.loss_class_name:
            self._loss_built = True

    def leave_Call(self, node: cst.Call) -> None:
        # after the arguments: an inline `nn.BCELoss()(...)` has been seen by then
        shape = loss_call_shape(self.ctx, node, self.loss_function)
        if shape is None:
            return
        if shape == "object" and not self._loss_built:
            self._waiting.append(node)
            return
        self._check(node, shape)

    def leave_Module(self, node: cst.Module) -> None:
        if self._loss_built:
            for call in self._waiting:
                self._check(call, "object")
        self._waiting = []

    def _check(self, node: cst.Call, shape: str) -> None:
        raise NotImplementedError
