"""Three-valued tensor inference: YES, NO or UNKNOWN, never a guess.

Sources of YES: `torch.Tensor` annotations, torch functions whose signature table
says they return a tensor, tensor methods, indexing and arithmetic on tensors.
Sources of NO: literals, containers, `.tolist()`, `.item()`, `.shape`, `.size()`,
numpy calls, builtins such as `len`. Anything else is UNKNOWN.
"""

from __future__ import annotations

import libcst as cst

from tensorlint.semantics import torch_api
from tensorlint.semantics.names import NameResolver
from tensorlint.semantics.scopes import Binding, ScopeTracker
from tensorlint.semantics.ternary import Ternary

TENSOR_TYPES = frozenset(
    {
        "torch.Tensor",
        "torch.nn.Parameter",
        "torch.FloatTensor",
        "torch.LongTensor",
        "torch.DoubleTensor",
        "torch.IntTensor",
        "torch.BoolTensor",
        "torch.HalfTensor",
        "torch.ByteTensor",
        "torch.cuda.FloatTensor",
    }
)

# Tensor methods and attributes that hand back plain Python or numpy values.
NON_TENSOR_METHODS = frozenset(
    {
        "tolist", "item", "size", "dim", "ndimension", "numel", "nelement", "numpy",
        "stride", "data_ptr", "is_contiguous", "element_size", "get_device", "storage",
        "untyped_storage", "is_floating_point", "is_complex", "equal", "__len__",
        "storage_offset", "is_set_to", "has_names", "is_pinned", "is_shared",
    }
)
NON_TENSOR_ATTRIBUTES = frozenset(
    {"shape", "dtype", "device", "ndim", "is_cuda", "is_leaf", "requires_grad", "layout", "names", "is_sparse", "is_quantized", "is_meta"}
)
TENSOR_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "real", "imag", "data"})
# Common tensor methods, for when the signature table does not know the method.
TENSOR_METHODS = frozenset(
    {
        "detach", "clone", "to", "float", "double", "half", "bfloat16", "int", "long", "bool",
        "cpu", "cuda", "contiguous", "view", "reshape", "permute", "transpose", "squeeze",
        "unsqueeze", "flatten", "expand", "repeat", "sum", "mean", "abs", "exp", "log",
        "sqrt", "softmax", "log_softmax", "sigmoid", "tanh", "relu", "matmul", "mm", "bmm",
        "masked_fill", "type_as", "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor",
        "requires_grad_", "detach_", "add", "sub", "mul", "div", "pow", "clamp", "norm", "max", "min",
        "argmax", "argmin", "gather", "index_select", "narrow", "chunk", "split", "unbind",
    }
)
NON_TENSOR_BUILTINS = frozenset(
    {
        "builtins.len", "builtins.int", "builtins.float", "builtins.str", "builtins.bool",
        "builtins.list", "builtins.tuple", "builtins.dict", "builtins.set", "builtins.range",
        "builtins.repr", "builtins.isinstance", "builtins.sorted", "builtins.enumerate", "builtins.zip",
    }
)
_ARITHMETIC = (
    cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo,
    cst.Power, cst.MatrixMultiply, cst.BitAnd, cst.BitOr, cst.BitXor,
)
_LITERALS = (
    cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString,
    cst.FormattedString, cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp,
    cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Lambda,
)
_MAX_DEPTH = 12


class TensorInference:
    def __init__(self, scopes: ScopeTracker, names: NameResolver) -> None:
        self._scopes = scopes
        self._names = names
        self._in_progress: set[int] = set()

    def kind(self, node: cst.BaseExpression, _depth: int = 0) -> Ternary:
        """Is `node` a torch.Tensor at this point of the traversal?"""
        if _depth > _MAX_DEPTH:
            return Ternary.UNKNOWN
        depth = _depth + 1
        if isinstance(node, _LITERALS):
            return Ternary.NO
        if isinstance(node, cst.Name):
            if node.value in ("None", "True", "False"):
                return Ternary.NO
            return self._name_kind(node.value, depth)
        if isinstance(node, cst.Attribute):
            return self._attribute_kind(node, depth)
        if isinstance(node, cst.Call):
            return self._call_kind(node, depth)
        if isinstance(node, cst.Subscript):
            return Ternary.YES if self.kind(node.value, depth) is Ternary.YES else Ternary.UNKNOWN
        if isinstance(node, cst.BinaryOperation):
            if not isinstance(node.operator, _ARITHMETIC):
                return Ternary.UNKNOWN
            left, right = self.kind(node.left, depth), self.kind(node.right, depth)
            if Ternary.YES in (left, right):
                strings = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
                if isinstance(node.left, strings) or isinstance(node.right, strings):
                    return Ternary.UNKNOWN
                return Ternary.YES
            if left is Ternary.NO and right is Ternary.NO:
                return Ternary.NO
            return Ternary.UNKNOWN
        if isinstance(node, cst.UnaryOperation):
            if isinstance(node.operator, cst.Not):
                return Ternary.NO
            return self.kind(node.expression, depth)
        if isinstance(node, cst.IfExp):
            return Ternary.join((self.kind(node.body, depth), self.kind(node.orelse, depth)))
        return Ternary.UNKNOWN

    def annotation_kind(self, annotation: cst.BaseExpression) -> Ternary:
        """`torch.Tensor` -> YES; `int`, `list[...]` -> NO; `Optional[Tensor]` -> UNKNOWN."""
        if isinstance(annotation, cst.SimpleString):
            return Ternary.UNKNOWN  # forward references: not worth guessing
        qualname = self._names.qualified_name(annotation)
        if qualname is None:
            return Ternary.UNKNOWN
        if qualname in TENSOR_TYPES:
            return Ternary.YES
        if qualname.startswith("builtins.") or qualname.startswith("numpy."):
            return Ternary.NO
        return Ternary.UNKNOWN

    # -- helpers ---------------------------------------------------------------------
    def _name_kind(self, name: str, depth: int) -> Ternary:
        bindings = self._scopes.lookup(name)
        if not bindings:
            return Ternary.UNKNOWN
        kinds = []
        for binding in bindings:
            key = id(binding)
            if key in self._in_progress:
                continue  # a loop-carried re-binding: judged by the others
            self._in_progress.add(key)
            try:
                kinds.append(self._binding_kind(binding, depth))
            finally:
                self._in_progress.discard(key)
        return Ternary.join(kinds)

    def _binding_kind(self, binding: Binding, depth: int) -> Ternary:
        if binding.annotation is not None:
            annotated = self.annotation_kind(binding.annotation)
            if annotated is not Ternary.UNKNOWN or binding.value is None:
                return annotated
        if binding.kind == "assign" and binding.value is not None:
            return self.kind(binding.value, depth)
        if binding.kind in ("def", "class", "import"):
            return Ternary.NO
        return Ternary.UNKNOWN

    def _attribute_kind(self, node: cst.Attribute, depth: int) -> Ternary:
        attr = node.attr.value
        if attr in NON_TENSOR_ATTRIBUTES:
            # `.shape` of anything tensor-like is not a tensor; of unknown things, unknown
            owner = self.kind(node.value, depth)
            return Ternary.NO if owner is Ternary.YES else Ternary.UNKNOWN
        if attr in TENSOR_ATTRIBUTES and self.kind(node.value, depth) is Ternary.YES:
            return Ternary.YES
        return Ternary.UNKNOWN

    def _call_kind(self, node: cst.Call, depth: int) -> Ternary:
        func = node.func
        qualname = self._names.qualified_name(func)
        if qualname is not None:
            if qualname.startswith("numpy."):
                return Ternary.NO
            if qualname in NON_TENSOR_BUILTINS:
                return Ternary.NO
            if qualname.startswith("torch."):
                returns = torch_api.returns_tensor(qualname)
                if returns is True:
                    return Ternary.YES
                if returns is False:
                    return Ternary.NO
                return Ternary.UNKNOWN
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if self.kind(func.value, depth) is not Ternary.YES:
                return Ternary.UNKNOWN
            if method in NON_TENSOR_METHODS:
                return Ternary.NO
            if method == "type" and not node.args:
                return Ternary.NO  # x.type() returns a string
            returns = torch_api.returns_tensor(f"torch.Tensor.{method}")
            if returns is not None:
                return Ternary.YES if returns else Ternary.NO
            if method in TENSOR_METHODS:
                return Ternary.YES
        return Ternary.UNKNOWN
