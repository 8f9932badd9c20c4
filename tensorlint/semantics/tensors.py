"""Three-valued tensor inference: YES, NO or UNKNOWN, never a guess.

Sources of YES: `torch.Tensor` annotations, torch functions whose signature table
says they return a tensor, tensor methods, indexing and arithmetic on tensors,
aliases of tensors (`t = x`), and attributes of `self`: those assigned only tensors
(`self.w = nn.Parameter(...)`, `self.register_buffer("m", torch.ones(3))`) and the
parameters and buffers of layers assigned in the class (`self.fc.weight` after
`self.fc = nn.Linear(...)`; `.bias` only when the bias is provably present).
Sources of NO: literals, containers, `.tolist()`, `.item()`, `.shape`, `.size()`,
numpy calls, builtins such as `len`. Anything else is UNKNOWN.
"""

from __future__ import annotations

import libcst as cst

from tensorlint.semantics import torch_api
from tensorlint.semantics.modules import self_parameter
from tensorlint.semantics.names import NameResolver
from tensorlint.semantics.narrowing import Narrowing, children, falls_through
from tensorlint.semantics.scopes import Binding, Scope, ScopeTracker
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
        "torch.nn.Buffer",
    }
)
# Calling one of these builds a tensor (the table has no entry for the legacy types).
TENSOR_CONSTRUCTORS = TENSOR_TYPES | frozenset(
    {
        "torch.CharTensor", "torch.ShortTensor", "torch.BFloat16Tensor", "torch.ComplexFloatTensor",
        "torch.ComplexDoubleTensor", "torch.cuda.DoubleTensor", "torch.cuda.HalfTensor",
        "torch.cuda.BFloat16Tensor", "torch.cuda.ByteTensor", "torch.cuda.CharTensor",
        "torch.cuda.ShortTensor", "torch.cuda.IntTensor", "torch.cuda.LongTensor", "torch.cuda.BoolTensor",
    }
)

# Parameters and buffers of torch.nn layers, with the constructor arguments that must be
# left at their default (True) or passed a literal True for the tensor to exist:
# (keyword, position among the positional arguments).
def _WEIGHT_BIAS(bias_position: int) -> dict[str, tuple[tuple[str, int], ...]]:
    return {"weight": (), "bias": (("bias", bias_position),)}


_BATCH_NORM = {
    "weight": (("affine", 3),),
    "bias": (("affine", 3), ("bias", 7)),
    "running_mean": (("track_running_stats", 4),),
    "running_var": (("track_running_stats", 4),),
}
LAYER_TENSORS: dict[str, dict[str, tuple[tuple[str, int], ...]]] = {
    "torch.nn.Linear": _WEIGHT_BIAS(2),
    "torch.nn.Bilinear": _WEIGHT_BIAS(3),
    **{f"torch.nn.Conv{d}d": _WEIGHT_BIAS(7) for d in (1, 2, 3)},
    **{f"torch.nn.ConvTranspose{d}d": _WEIGHT_BIAS(7) for d in (1, 2, 3)},
    "torch.nn.Embedding": {"weight": ()},
    "torch.nn.EmbeddingBag": {"weight": ()},
    "torch.nn.LayerNorm": {
        "weight": (("elementwise_affine", 2),),
        "bias": (("elementwise_affine", 2), ("bias", 3)),
    },
    "torch.nn.RMSNorm": {"weight": (("elementwise_affine", 2),)},
    "torch.nn.GroupNorm": {"weight": (("affine", 3),), "bias": (("affine", 3), ("bias", 6))},
    **{f"torch.nn.BatchNorm{d}d": _BATCH_NORM for d in (1, 2, 3)},
}

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
        "requires_grad_", "detach_", "add", "sub", "mul", "div", "pow", "clamp", "norm",
        "argmax", "argmin", "gather", "index_select", "narrow",
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


# Rounds of the fixed-point iteration of one query (each is linear in what it reaches);
# a query that has not settled by then answers UNKNOWN.
_MAX_ROUNDS = 8
# Names, attributes and functions being judged inside one another at once (alias chains).
_MAX_NESTING = 64
# Expressions one query may judge, all rounds together. Memoisation makes a query linear
# in what it reaches; on pytorch-image-models no query reaches more than ~130. A query
# past this (a name re-bound thousands of times in one function) answers UNKNOWN, so that
# such a function costs at most this much per query.
_MAX_WORK = 500


class _OverBudget(Exception):
    pass
# Decorators that leave what a function returns unchanged.
_TRANSPARENT_DECORATORS = frozenset(
    {
        "torch.no_grad", "torch.inference_mode", "torch.enable_grad", "torch.jit.script", "torch.jit.ignore",
        "torch.jit.unused", "torch.jit.export", "torch.compile", "builtins.staticmethod", "functools.cache",
        "functools.lru_cache", "torch.autocast", "torch.amp.autocast", "torch.cuda.amp.autocast",
    }
)
# What ProjectView.function_returns() answers, as a tensor kind.
_PROJECT_RETURNS = {
    "tensor": Ternary.YES, "probability": Ternary.YES, "log_probability": Ternary.YES, "module": Ternary.NO,
}


def _join(values) -> Ternary | None:
    """Join where None ("nothing known yet", inside a cycle) is neutral; None if all are."""
    known = [v for v in values if v is not None]
    return Ternary.join(known) if known else None


class _Query:
    """State of one top-level query: values are memoised per node of the dependency graph
    (a name's bindings, a `self` attribute, a function's returns), so each round visits
    each node once. A node met again while it is being judged (a cycle, e.g. `x = x + 1`)
    reads its value from the previous round (first: None, "nothing yet"); rounds repeat
    until every such read agrees with the final value: the least fixed point."""

    __slots__ = ("approx", "done", "active", "reads", "work")

    def __init__(self) -> None:
        self.work = 0
        self.approx: dict = {}
        self.done: dict = {}
        self.active: set = set()
        self.reads: list = []

    def new_round(self) -> None:
        self.done = {}
        self.reads = []

    def settled(self) -> bool:
        approx = self.approx
        return all(approx.get(key) is value for key, value in self.reads)


class _Callee:
    """A function of the file, read once: its own scope (parameters and local bindings),
    its `return` statements, and whether it is a generator."""

    __slots__ = ("scopes", "returns", "generator")

    def __init__(self, func: cst.FunctionDef) -> None:
        tracker = ScopeTracker()
        tracker.stack = [Scope("function", func)]  # receives the def's own name binding
        self.returns: list[cst.Return] = []
        self.generator = False
        types = tracker.node_types

        def visit(node: cst.CSTNode, top: bool) -> None:
            cls = node.__class__
            if cls in types:
                tracker.enter(node)
            if top:
                if cls is cst.Return:
                    self.returns.append(node)
                elif cls is cst.Yield:
                    self.generator = True
            inner = top and not isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef))
            for child in children(node):
                visit(child, inner)
            if cls in types:
                tracker.leave(node)

        tracker.enter(func)
        for child in children(func.body):
            visit(child, True)
        self.scopes = tracker.stack  # [holder of the def's name, the function's scope]


class TensorInference:
    def __init__(self, scopes: ScopeTracker, names: NameResolver, project=None) -> None:
        self._scopes = scopes
        self._names = names
        self._project = project  # ProjectView: what functions of other files return
        self._narrowing = Narrowing(names)
        self._query: _Query | None = None
        # per class: attribute name -> values assigned to `self.<attr>` anywhere in the
        # class (None for a form we cannot judge); None when the class uses setattr
        self._class_attrs: dict[cst.ClassDef, dict[str, list] | None] = {}
        self._callees: dict[int, tuple[cst.FunctionDef, _Callee]] = {}
        self._foreign = False  # judging a value from another method: local names are unknown

    def kind(self, node: cst.BaseExpression, _depth: int = 0) -> Ternary:
        """Is `node` a torch.Tensor at this point of the traversal?"""
        if self._query is not None:  # asked from inside a query: same memo
            value = self._kind(node, _depth)
            return Ternary.UNKNOWN if value is None else value
        query = self._query = _Query()
        try:
            for _ in range(_MAX_ROUNDS):
                query.new_round()
                value = self._kind(node, _depth)
                if query.settled():
                    break
            else:
                value = Ternary.UNKNOWN
        except _OverBudget:
            value = Ternary.UNKNOWN
        finally:
            self._query = None
        return Ternary.UNKNOWN if value is None else value

    def _kind(self, node: cst.BaseExpression, depth: int) -> Ternary | None:
        """The value of `node` in this round; None while it only depends on a cycle."""
        query = self._query
        query.work += 1
        if query.work > _MAX_WORK:
            raise _OverBudget
        if depth > _MAX_DEPTH:
            return Ternary.UNKNOWN
        depth += 1
        if isinstance(node, _LITERALS):
            return Ternary.NO
        if isinstance(node, cst.Name):
            if node.value in ("None", "True", "False"):
                return Ternary.NO
            if self._foreign:
                return Ternary.UNKNOWN
            narrowed = self._narrowing.fact(node, self._root())
            if narrowed is not None:
                return narrowed
            return self._name_kind(node.value)
        if isinstance(node, cst.Attribute):
            return self._attribute_kind(node, depth)
        if isinstance(node, cst.Call):
            return self._call_kind(node, depth)
        if isinstance(node, cst.Subscript):
            value = self._kind(node.value, depth)
            return value if value is None or value is Ternary.YES else Ternary.UNKNOWN
        if isinstance(node, cst.BinaryOperation):
            if not isinstance(node.operator, _ARITHMETIC):
                return Ternary.UNKNOWN
            left, right = self._kind(node.left, depth), self._kind(node.right, depth)
            if Ternary.YES in (left, right):
                strings = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
                if isinstance(node.left, strings) or isinstance(node.right, strings):
                    return Ternary.UNKNOWN
                return Ternary.YES
            if left is None or right is None:
                return None
            if left is Ternary.NO and right is Ternary.NO:
                return Ternary.NO
            return Ternary.UNKNOWN
        if isinstance(node, cst.UnaryOperation):
            if isinstance(node.operator, cst.Not):
                return Ternary.NO
            return self._kind(node.expression, depth)
        if isinstance(node, cst.IfExp):
            return _join((self._kind(node.body, depth), self._kind(node.orelse, depth)))
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

    # -- the dependency graph: one memoised node per binding list, attribute, function -----
    def _node(self, key, compute) -> Ternary | None:
        query = self._query
        if key in query.done:
            return query.done[key]
        if key in query.active:
            value = query.approx.get(key)
            query.reads.append((key, value))
            return value
        if len(query.active) >= _MAX_NESTING:
            return Ternary.UNKNOWN
        query.active.add(key)
        try:
            value = compute()
        finally:
            query.active.discard(key)
        query.done[key] = query.approx[key] = value
        return value

    def _in_stack(self, stack: list, compute):
        """Run `compute` with the scope stack replaced (names resolve as seen from there)."""
        saved = self._scopes.stack
        if stack is saved:
            return compute()
        self._scopes.stack = stack
        try:
            return compute()
        finally:
            self._scopes.stack = saved

    def _lookup(self, name: str) -> tuple[int, list[Binding]] | None:
        """The bindings of `name` seen from here, with the index of the scope holding them."""
        bindings = self._scopes.lookup(name)
        if not bindings:
            return None
        stack = self._scopes.stack
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].bindings.get(name) is bindings:
                return index, bindings
        return None

    def _root(self) -> cst.CSTNode:
        """The function (or module) whose code is being judged: where narrowing looks."""
        stack = self._scopes.stack
        for scope in reversed(stack):
            if scope.kind == "function":
                return scope.node
        return stack[0].node

    # -- helpers ---------------------------------------------------------------------
    def _name_kind(self, name: str) -> Ternary | None:
        found = self._lookup(name)
        if found is None:
            return Ternary.UNKNOWN
        index, bindings = found
        # a binding's value is judged where it was written: in its own scope
        stack = self._scopes.stack[: index + 1]
        return self._node(
            id(bindings),
            lambda: self._in_stack(stack, lambda: _join([self._binding_kind(b) for b in bindings])),
        )

    def _binding_kind(self, binding: Binding) -> Ternary | None:
        if binding.annotation is not None:
            annotated = self.annotation_kind(binding.annotation)
            if annotated is not Ternary.UNKNOWN or binding.value is None:
                return annotated
        if binding.kind == "assign" and binding.value is not None:
            return self._kind(binding.value, 0)
        if binding.kind in ("def", "class", "import"):
            return Ternary.NO
        return Ternary.UNKNOWN

    def _attribute_kind(self, node: cst.Attribute, depth: int) -> Ternary | None:
        attr = node.attr.value
        if attr in NON_TENSOR_ATTRIBUTES:
            # `.shape` of anything tensor-like is not a tensor; of unknown things, unknown
            owner = self._kind(node.value, depth)
            if owner is None:
                return None
            return Ternary.NO if owner is Ternary.YES else Ternary.UNKNOWN
        if attr in TENSOR_ATTRIBUTES:
            owner = self._kind(node.value, depth)
            if owner is Ternary.YES:
                return Ternary.YES
            if owner is None:
                return None
        values = self.self_attribute_values(node)
        if values is not None:
            cls = self._self_class(node.value.value)  # type: ignore[union-attr]
            return self._node(("attr", id(cls), attr), lambda: self._judge_foreign(values, depth))
        if isinstance(node.value, cst.Attribute):
            layers = self.self_attribute_values(node.value)
            if layers is not None:
                kind = self._layer_tensor_kind(layers, attr)
                cls = self._self_class(node.value.value.value)  # type: ignore[union-attr]
                replaced = _replaced_layer_attributes(cls).get((node.value.attr.value, attr)) if cls else None
                if replaced is not None and kind is Ternary.YES:
                    # `self.linear.weight = bnb.nn.Params4bit(...)`: the layer's tensor was
                    # replaced, maybe by a tensor subclass with methods of its own
                    judged = self._judge_foreign(replaced, depth)
                    return judged if judged is not Ternary.YES else kind
                return kind
        if isinstance(node.value, cst.Name) and not self._foreign:
            return self._annotated_layer_kind(node.value.value, attr)
        return Ternary.UNKNOWN

    def _annotated_layer_kind(self, name: str, attr: str) -> Ternary:
        """`layer.weight` where every binding of `layer` is annotated `nn.Linear` (or
        another layer whose `weight` always exists). Flags such as `bias=False` are
        unknown from a type, so `.bias` stays unknown."""
        found = self._lookup(name)
        if found is None:
            return Ternary.UNKNOWN
        index, bindings = found
        stack = self._scopes.stack[: index + 1]
        for binding in bindings:
            if binding.annotation is None or binding.kind not in ("param", "assign"):
                return Ternary.UNKNOWN
            qualname = self._in_stack(stack, lambda: self._names.qualified_name(binding.annotation))
            tensors = LAYER_TENSORS.get(qualname) if qualname else None
            if tensors is None or tensors.get(attr, None) != ():
                return Ternary.UNKNOWN
        return Ternary.YES

    # -- attributes of `self` -----------------------------------------------------------
    def self_attribute_values(self, node: cst.Attribute) -> list | None:
        """Every value assigned to `self.<attr>` in the enclosing class (`None` items for
        assignments that cannot be judged), when `node` is `self.<attr>` inside a method;
        None when `node` is not such an attribute or the class is too dynamic to tell."""
        if self._foreign or not isinstance(node.value, cst.Name):
            return None
        cls = self._self_class(node.value.value)
        if cls is None:
            return None
        attrs = self._class_attrs.get(cls, False)
        if attrs is False:
            attrs = _scan_class(cls)
            self._class_attrs[cls] = attrs
        if attrs is None:
            return None
        return attrs.get(node.attr.value)

    def _self_class(self, name: str) -> cst.ClassDef | None:
        """The class whose method has `name` as its instance parameter, seen from here."""
        bindings = self._scopes.lookup(name)
        if not bindings or len(bindings) != 1 or bindings[0].kind != "param":
            return None
        binding = bindings[0]
        stack = self._scopes.stack
        for index in range(len(stack) - 1, 0, -1):
            scope = stack[index]
            if binding in scope.bindings.get(name, ()):
                outer = stack[index - 1]
                if scope.kind == "function" and outer.kind == "class" and self_parameter(scope.node) == name:
                    return outer.node  # type: ignore[return-value]
                return None
        return None

    def _judge_foreign(self, values: list, depth: int) -> Ternary | None:
        """Values assigned in other methods: judged by their torch calls alone, with names
        resolved at module level and any local name unknown."""
        if not values or any(v is None for v in values):
            return Ternary.UNKNOWN
        stack = self._scopes.stack
        saved_foreign = self._foreign
        self._scopes.stack = stack[:1]
        self._foreign = True
        try:
            return _join([self._kind(v, depth) for v in values])
        finally:
            self._scopes.stack = stack
            self._foreign = saved_foreign

    def _layer_tensor_kind(self, values: list, attr: str) -> Ternary:
        """`self.fc.weight` where every value of `self.fc` is a known torch.nn layer."""
        if not values or any(not isinstance(v, cst.Call) for v in values):
            return Ternary.UNKNOWN
        stack = self._scopes.stack
        self._scopes.stack = stack[:1]
        try:
            qualnames = [self._names.qualified_name(v.func) for v in values]
        finally:
            self._scopes.stack = stack
        kinds = []
        for call, qualname in zip(values, qualnames):
            tensors = LAYER_TENSORS.get(qualname) if qualname else None
            if tensors is None or attr not in tensors:
                return Ternary.UNKNOWN
            kinds.append(_flags_on(call, tensors[attr]))
        return Ternary.join(kinds)

    # -- calls ---------------------------------------------------------------------------
    def _call_kind(self, node: cst.Call, depth: int) -> Ternary | None:
        func = node.func
        qualname = self._names.qualified_name(func)
        if qualname is not None:
            if qualname.startswith("numpy."):
                return Ternary.NO
            if qualname in NON_TENSOR_BUILTINS:
                return Ternary.NO
            if qualname in TENSOR_CONSTRUCTORS:
                return Ternary.YES
            if qualname.startswith("torch."):
                returns = torch_api.returns_tensor(qualname)
                if returns is True:
                    return Ternary.YES
                if returns is False:
                    return Ternary.NO
                return Ternary.UNKNOWN
            if self._project is not None and not qualname.startswith("builtins."):
                return _PROJECT_RETURNS.get(self._project.function_returns(qualname), Ternary.UNKNOWN)
            return Ternary.UNKNOWN
        if isinstance(func, cst.Name):
            if self._foreign:
                return Ternary.UNKNOWN
            return self._local_function_kind(func.value)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if isinstance(func.value, cst.Name) and not self._foreign:
                cls = self._self_class(func.value.value)
                if cls is not None:
                    return self._method_returns(cls, method)
            owner = self._kind(func.value, depth)
            if owner is None:
                return None
            if owner is not Ternary.YES:
                return Ternary.UNKNOWN
            if method in NON_TENSOR_METHODS:
                return Ternary.NO
            if method == "type" and not node.args:
                return Ternary.NO  # x.type() returns a string
            returns = torch_api.returns_tensor(f"torch.Tensor.{method}")
            if returns is not None:
                return Ternary.YES if returns else Ternary.NO
            if method in ("max", "min") and not node.args:
                return Ternary.YES  # with a dim they return a (values, indices) namedtuple
            if method in TENSOR_METHODS:
                return Ternary.YES
        return Ternary.UNKNOWN

    def _method_returns(self, cls: cst.ClassDef, name: str) -> Ternary:
        """`self.name(...)`: the method's `-> torch.Tensor` (or `-> int`, ...) annotation,
        when the class defines it once and never assigns `self.name`. Only the annotation
        counts: a subclass may override the method, and an override keeps the annotated
        type, not necessarily the body's."""
        attrs = self._class_attrs.get(cls, False)
        if attrs is False:
            attrs = self._class_attrs[cls] = _scan_class(cls)
        if attrs is None or name in attrs:
            return Ternary.UNKNOWN
        body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
        found = [
            s for s in body if isinstance(s, cst.FunctionDef | cst.ClassDef) and s.name.value == name
        ]
        if len(found) != 1 or not isinstance(found[0], cst.FunctionDef):
            return Ternary.UNKNOWN
        for statement in body:  # `name = ...` in the class body replaces the method
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    targets = []
                    if isinstance(small, cst.Assign):
                        targets = [t.target for t in small.targets]
                    elif isinstance(small, cst.AnnAssign | cst.AugAssign):
                        targets = [small.target]
                    if any(name in _plain_names(target) for target in targets):
                        return Ternary.UNKNOWN
        func = found[0]
        if func.returns is None or func.asynchronous is not None:
            return Ternary.UNKNOWN
        module = self._scopes.stack[:1]

        def judge() -> Ternary:
            for decorator in func.decorators:
                target = decorator.decorator
                if isinstance(target, cst.Call):
                    target = target.func
                if self._names.qualified_name(target) not in _TRANSPARENT_DECORATORS:
                    return Ternary.UNKNOWN
            return self.annotation_kind(func.returns.annotation)

        return self._in_stack(module, judge)

    def _local_function_kind(self, name: str) -> Ternary | None:
        """Calling a function defined in this file: what every one of its definitions returns."""
        found = self._lookup(name)
        if found is None:
            return Ternary.UNKNOWN
        index, bindings = found
        if any(b.kind != "def" or not isinstance(b.node, cst.FunctionDef) for b in bindings):
            return Ternary.UNKNOWN
        outer = self._scopes.stack[: index + 1]
        return _join([self._returns_kind(b.node, outer) for b in bindings])  # type: ignore[arg-type]

    def _returns_kind(self, func: cst.FunctionDef, outer: list) -> Ternary | None:
        return self._node(("returns", id(func)), lambda: self._in_stack(outer, lambda: self._judge_returns(func, outer)))

    def _judge_returns(self, func: cst.FunctionDef, outer: list) -> Ternary | None:
        """`-> torch.Tensor` (or `-> int`, ...) decides; else every `return` must agree,
        and a body that may run off its end returns None."""
        if func.asynchronous is not None:
            return Ternary.UNKNOWN
        for decorator in func.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if self._names.qualified_name(target) not in _TRANSPARENT_DECORATORS:
                return Ternary.UNKNOWN
        if func.returns is not None:
            annotated = self.annotation_kind(func.returns.annotation)
            if annotated is not Ternary.UNKNOWN:
                return annotated
        entry = self._callees.get(id(func))
        if entry is None or entry[0] is not func:
            entry = self._callees[id(func)] = (func, _Callee(func))
        callee = entry[1]
        if callee.generator:
            return Ternary.UNKNOWN
        stack = outer + callee.scopes

        def judge() -> Ternary | None:
            kinds = [Ternary.NO if r.value is None else self._kind(r.value, 0) for r in callee.returns]
            if falls_through(func.body.body):
                kinds.append(Ternary.NO)
            return _join(kinds)

        return self._in_stack(stack, judge)


def _flags_on(call: cst.Call, flags: tuple[tuple[str, int], ...]) -> Ternary:
    """YES when every flag argument is left at its default True or passed a literal
    True; NO when one is a literal False; otherwise UNKNOWN."""
    result = Ternary.YES
    for keyword, position in flags:
        value = None
        positional = 0
        for arg in call.args:
            if arg.star:
                return Ternary.UNKNOWN
            if arg.keyword is None:
                if positional == position:
                    value = arg.value
                positional += 1
            elif arg.keyword.value == keyword:
                value = arg.value
        if value is None:
            continue
        if isinstance(value, cst.Name) and value.value == "True":
            continue
        if isinstance(value, cst.Name) and value.value == "False":
            result = Ternary.NO
            continue
        return Ternary.UNKNOWN
    return result


_REPLACED: dict[int, tuple] = {}  # id(class) -> (class, found); a few classes at a time


def _replaced_layer_attributes(cls: cst.ClassDef) -> dict[tuple[str, str], list]:
    """(layer, attr) -> values for every `<self>.<layer>.<attr> = value` in the class
    (`self.linear.weight = Params4bit(...)`); a value that cannot be read (augmented
    assignment, `setattr(self.linear, "weight", ...)`) is None."""
    memo = _REPLACED.get(id(cls))
    if memo is not None and memo[0] is cls:
        return memo[1]
    found: dict[tuple[str, str], list] = {}

    def key(target) -> tuple[str, str] | None:
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Attribute)
            and isinstance(target.value.value, cst.Name)
        ):
            return (target.value.attr.value, target.attr.value)
        return None

    class _Visitor(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                k = key(target.target)
                if k is not None:
                    found.setdefault(k, []).append(node.value)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            k = key(node.target)
            if k is not None:
                found.setdefault(k, []).append(node.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            k = key(node.target)
            if k is not None:
                found.setdefault(k, []).append(None)

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Name) and func.value == "setattr" and len(node.args) >= 2:
                owner, name = node.args[0].value, node.args[1].value
                if isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name):
                    attr = name.evaluated_value if isinstance(name, cst.SimpleString) else None
                    if isinstance(attr, str):
                        found.setdefault((owner.attr.value, attr), []).append(None)

    cls.visit(_Visitor())
    if len(_REPLACED) >= 64:
        _REPLACED.clear()
    _REPLACED[id(cls)] = (cls, found)
    return found


def _scan_class(cls: cst.ClassDef) -> dict[str, list] | None:
    """`self.<attr>` assignments in every method of `cls` (nested functions included),
    plus `register_buffer`/`register_parameter` calls. None if `setattr` is used or an
    attribute is deleted, as then any attribute may hold anything."""
    attrs: dict[str, list] = {}
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            name = self_parameter(statement)
            if name is not None and not _scan_block(statement.body, name, attrs):
                return None
    # class-level names (methods, properties, class attributes) make the attribute unjudgeable
    for statement in body:
        if isinstance(statement, cst.FunctionDef | cst.ClassDef):
            if statement.name.value in attrs:
                attrs[statement.name.value].append(None)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets = ()
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    targets = [small.target]
                for target in targets:
                    for bound in _plain_names(target):
                        if bound in attrs:
                            attrs[bound].append(None)
    return attrs


def _registration(call: cst.Call) -> tuple[str, cst.BaseExpression] | None:
    """`register_buffer("name", value)` -> ("name", value), keywords included."""
    name = value = None
    positional = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if positional == 0:
                name = arg.value
            elif positional == 1:
                value = arg.value
            positional += 1
        elif arg.keyword.value == "name":
            name = arg.value
        elif arg.keyword.value in ("tensor", "param"):
            value = arg.value
    if not isinstance(name, cst.SimpleString) or value is None:
        return None
    text = name.evaluated_value
    return (text, value) if isinstance(text, str) else None


def _plain_names(target: cst.BaseExpression):
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, cst.Tuple | cst.List):
        for element in target.elements:
            yield from _plain_names(element.value)


def _is_self_attr(node: cst.BaseExpression, self_name: str) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == self_name:
        return node.attr.value
    return None


def _scan_block(block: cst.BaseSuite, self_name: str, attrs: dict[str, list]) -> bool:
    if isinstance(block, cst.SimpleStatementSuite):
        return _scan_small(block.body, self_name, attrs)
    for statement in block.body:
        if isinstance(statement, cst.SimpleStatementLine):
            if not _scan_small(statement.body, self_name, attrs):
                return False
            continue
        for suite in _suites(statement):
            if not _scan_block(suite, self_name, attrs):
                return False
    return True


def _suites(statement: cst.CSTNode):
    """The blocks directly inside a compound statement."""
    body = getattr(statement, "body", None)
    if isinstance(body, cst.BaseSuite):
        yield body
    elif isinstance(statement, cst.Match):
        for case in statement.cases:
            yield case.body
    for handler in getattr(statement, "handlers", ()) or ():
        yield handler.body
    orelse = getattr(statement, "orelse", None)
    while orelse is not None:
        if isinstance(orelse, cst.If):  # elif chains
            yield orelse.body
            orelse = orelse.orelse
        else:
            yield orelse.body
            break
    finalbody = getattr(statement, "finalbody", None)
    if finalbody is not None:
        yield finalbody.body


def _scan_small(statements, self_name: str, attrs: dict[str, list]) -> bool:
    for small in statements:
        if isinstance(small, cst.Assign):
            plain = len(small.targets) == 1
            for target in small.targets:
                attr = _is_self_attr(target.target, self_name)
                if attr is not None:
                    attrs.setdefault(attr, []).append(small.value if plain else None)
                elif isinstance(target.target, cst.Tuple | cst.List):
                    for element in target.target.elements:
                        inner = element.value.value if isinstance(element.value, cst.StarredElement) else element.value
                        attr = _is_self_attr(inner, self_name)
                        if attr is not None:
                            attrs.setdefault(attr, []).append(None)
        elif isinstance(small, cst.AnnAssign):
            attr = _is_self_attr(small.target, self_name)
            if attr is not None and small.value is not None:
                attrs.setdefault(attr, []).append(small.value)
        elif isinstance(small, cst.Del):
            return False
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            func = call.func
            if isinstance(func, cst.Name) and func.value == "setattr":
                return False
            if isinstance(func, cst.Attribute) and func.attr.value in ("__setattr__", "update"):
                if func.attr.value == "__setattr__" or (
                    isinstance(func.value, cst.Attribute) and func.value.attr.value == "__dict__"
                ):
                    return False
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in ("register_buffer", "register_parameter")
                and isinstance(func.value, cst.Name)
                and func.value.value == self_name
            ):
                registered = _registration(call)
                if registered is None:
                    return False  # a computed name: any attribute may be registered
                attrs.setdefault(registered[0], []).append(registered[1])
    return True
