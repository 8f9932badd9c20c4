"""nn.Module inference: which classes are modules, their methods and `self.<attr>`
submodules, and what torch.nn layer constructions say about shapes (for Sequential rules)."""

from __future__ import annotations

import libcst as cst

from tensorlint.semantics.calls import UNKNOWN, call_argument, callee_name  # noqa: F401 - re-exported
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


# -- layers of torch.nn --------------------------------------------------------------

_DIMS = ("1d", "2d", "3d")
# torch.nn layers that hold parameters or buffers, or behave differently in train and
# eval mode. Building one inside `forward` is a bug; building a stateless layer
# (`nn.ReLU()`, `nn.Identity()`, a loss) there only costs a little time.
STATEFUL_TORCH_NN = frozenset(
    {
        "Linear", "Bilinear", "LazyLinear", "Embedding", "EmbeddingBag", "PReLU", "RReLU",
        "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
        "LayerNorm", "GroupNorm", "RMSNorm", "SyncBatchNorm",
        "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention",
        "Transformer", "TransformerEncoder", "TransformerDecoder",
        "TransformerEncoderLayer", "TransformerDecoderLayer", "AdaptiveLogSoftmaxWithLoss",
        *(f"{kind}{d}" for d in _DIMS for kind in (
            "Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose",
            "BatchNorm", "LazyBatchNorm", "InstanceNorm", "LazyInstanceNorm",
        )),
    }
)
CONTAINER_TORCH_NN = frozenset({"Sequential", "ModuleList", "ModuleDict"})
ACTIVATION_TORCH_NN = frozenset(
    {
        "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
        "Sigmoid", "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "Softplus",
        "Softsign", "Tanhshrink", "Threshold", "LogSigmoid", "Softmax", "LogSoftmax", "Softmin", "Softmax2d",
        "Identity",
    }
)
DROPOUT_TORCH_NN = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"})
# Layers that keep the channel dimension (dim 1) of a convolution's output.
CHANNEL_KEEPING_TORCH_NN = frozenset(
    {
        "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "FractionalMaxPool2d", "FractionalMaxPool3d",
        *(f"{kind}{d}" for d in _DIMS for kind in (
            "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "LPPool",
            "ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad",
        )),
    }
)
_BATCH_NORMS = frozenset({"SyncBatchNorm", *(f"{k}{d}" for d in _DIMS for k in ("BatchNorm", "LazyBatchNorm"))})
_INSTANCE_NORMS = frozenset(f"{k}{d}" for d in _DIMS for k in ("InstanceNorm", "LazyInstanceNorm"))


class Layer:
    """What a `torch.nn.<Layer>(...)` construction says about shapes, from its literal
    arguments. Expressions are left as libcst nodes; `None` means not given or unknown."""

    __slots__ = ("call", "name", "family", "ndim", "out", "features", "bias")

    def __init__(self, call: cst.Call, name: str) -> None:
        self.call = call
        self.name = name  # e.g. "Conv2d"
        self.family: str | None = None  # "conv", "linear", "embedding", "batchnorm", "instancenorm",
        #                                  "groupnorm", "layernorm", "activation", "dropout", "keeps-channels"
        self.ndim: int | None = None  # 1/2/3 for *1d/*2d/*3d layers
        self.out: cst.BaseExpression | None = None  # output channels / features of a producer
        self.features: cst.BaseExpression | None = None  # feature count a norm expects
        self.bias: cst.Arg | None | bool = None  # the bias argument of a producer; True when defaulted

    @property
    def is_producer(self) -> bool:
        return self.family in ("conv", "linear", "embedding")

    @property
    def is_norm(self) -> bool:
        return self.family in ("batchnorm", "instancenorm", "groupnorm", "layernorm")


def literal_int(expr: cst.BaseExpression | None) -> int | None:
    """The value of a non-negative integer literal (`64`, `0x40`, `1_024`), else None."""
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


def literal_number(expr: cst.BaseExpression | None) -> float | None:
    """The value of a numeric literal, signs included (`-0.1`, `+1`, `1e-1`), else None."""
    sign = 1.0
    while isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        if isinstance(expr.operator, cst.Minus):
            sign = -sign
        expr = expr.expression
    if isinstance(expr, cst.Integer):
        value = literal_int(expr)
        return None if value is None else sign * value
    if isinstance(expr, cst.Float):
        try:
            return sign * float(expr.value.replace("_", ""))
        except ValueError:
            return None
    return None


def _arg_value(call: cst.Call, index: int | None, keyword: str | None) -> cst.BaseExpression | None:
    arg = call_argument(call, index, keyword)
    return arg.value if isinstance(arg, cst.Arg) else None


def _describe_layer(call: cst.Call, name: str) -> Layer:
    layer = Layer(call, name)
    base, ndim = name, None
    if name[-2:] in _DIMS and name[-3:-2].isalpha():
        base, ndim = name[:-2], int(name[-2])
    layer.ndim = ndim
    lazy = base.startswith("Lazy")
    core = base[4:] if lazy else base
    if core in ("Conv", "ConvTranspose") and ndim is not None:
        layer.family = "conv"
        layer.out = _arg_value(call, 0 if lazy else 1, "out_channels")
        layer.bias = _bias(call, 6 if lazy else 7)
    elif name in ("Linear", "LazyLinear", "Bilinear"):
        layer.family = "linear"
        layer.out = _arg_value(call, {"Linear": 1, "LazyLinear": 0, "Bilinear": 2}[name], "out_features")
        layer.bias = _bias(call, {"Linear": 2, "LazyLinear": 1, "Bilinear": 3}[name])
    elif name == "Embedding":
        layer.family = "embedding"
        layer.out = _arg_value(call, 1, "embedding_dim")
    elif name in _BATCH_NORMS:
        layer.family = "batchnorm"
        layer.features = None if lazy else _arg_value(call, 0, "num_features")
    elif name in _INSTANCE_NORMS:
        layer.family = "instancenorm"
        layer.features = None if lazy else _arg_value(call, 0, "num_features")
    elif name == "GroupNorm":
        layer.family = "groupnorm"
        layer.features = _arg_value(call, 1, "num_channels")
    elif name in ("LayerNorm", "RMSNorm"):
        layer.family = "layernorm"
        shape = _arg_value(call, 0, "normalized_shape")
        if isinstance(shape, (cst.Tuple, cst.List)):
            last = shape.elements[-1] if shape.elements else None
            shape = last.value if isinstance(last, cst.Element) else None
        layer.features = shape
    elif name in ACTIVATION_TORCH_NN:
        layer.family = "activation"
    elif name in DROPOUT_TORCH_NN:
        layer.family = "dropout"
    elif name in CHANNEL_KEEPING_TORCH_NN:
        layer.family = "keeps-channels"
    return layer


def _bias(call: cst.Call, index: int):
    arg = call_argument(call, index, "bias")
    if arg is None:
        return True  # the default
    return None if arg is UNKNOWN else arg


class ModuleMembers:
    """Tracker: records `self.<attr> = <value>` assignments made in `__init__` of nn.Module
    classes, as the traversal passes them (no extra walk)."""

    node_types = frozenset({cst.Assign, cst.AnnAssign, cst.Call})  # the engine calls us only for these

    def __init__(self, scopes: ScopeTracker, inference: "ModuleInference") -> None:
        self._scopes = scopes
        self._inference = inference
        # class -> attr -> qualified names of what was assigned (None: not a known call)
        self.assigned: dict[cst.ClassDef, dict[str, list[str | None]]] = {}
        # classes whose __init__ calls self.register_buffer/register_parameter
        self.registers_state: set[cst.ClassDef] = set()

    def _init_of_module(self) -> tuple[cst.ClassDef, str] | None:
        """(class, self name) when the traversal is directly in `__init__` of a module class."""
        found = self._scopes.enclosing_method()
        if found is None or found[1].name.value != "__init__" or not self._inference.is_module_class(found[0]):
            return None
        self_name = self_parameter(found[1])
        return None if self_name is None else (found[0], self_name)

    def enter(self, node: cst.CSTNode) -> None:
        pass

    def leave(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind is cst.Assign:
            targets = [t.target for t in node.targets]
        elif kind is cst.AnnAssign and node.value is not None:
            targets = [node.target]
        elif kind is cst.Call:
            func = node.func
            if type(func) is cst.Attribute and func.attr.value in ("register_buffer", "register_parameter"):
                found = self._init_of_module()
                if found is not None and isinstance(func.value, cst.Name) and func.value.value == found[1]:
                    self.registers_state.add(found[0])
            return
        else:
            return
        if not any(type(t) is cst.Attribute for t in targets):
            return
        found = self._init_of_module()
        if found is None:
            return
        self_name = found[1]
        value = node.value
        what = self._inference.callee_name(value.func) if isinstance(value, cst.Call) else None
        members = self.assigned.setdefault(found[0], {})
        for target in targets:
            if type(target) is cst.Attribute and isinstance(target.value, cst.Name) and target.value.value == self_name:
                members.setdefault(target.attr.value, []).append(what)


def _methods_of(node: cst.ClassDef) -> dict[str, cst.FunctionDef]:
    methods: dict[str, cst.FunctionDef] = {}
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef):
            methods[stmt.name.value] = stmt  # a later definition wins, as in Python
    return methods


_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


class ModuleInference:
    def __init__(self, scopes: ScopeTracker, names: NameResolver, extra_bases=(), project=None) -> None:
        self._scopes = scopes
        self._names = names
        self._extra_bases = frozenset(extra_bases)
        self._project = project  # classes of other project files (semantics/project.py)
        self._verdicts: dict[cst.ClassDef, bool] = {}
        # Tracker of `self.<attr>` assignments in `__init__`; registered in FileContext.trackers.
        self.members = ModuleMembers(scopes, self)
        self._methods: dict[cst.ClassDef, dict[str, cst.FunctionDef]] = {}

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
        if qualname is None:
            return False
        if self.is_module_base_name(qualname):
            return True
        return self._project is not None and self._project.is_module_class(qualname)

    def enclosing_module_method(self) -> tuple[cst.ClassDef, cst.FunctionDef] | None:
        """(class, method) when the innermost function is a method of an nn.Module class."""
        found = self._scopes.enclosing_method()
        if found is None or not self.is_module_class(found[0]):
            return None
        return found

    def callee_name(self, func: cst.BaseExpression) -> str | None:
        """Qualified name of a called class or function; a class defined in this file is
        named by its bare name (`Block`)."""
        if isinstance(func, cst.Name):
            bindings = self._scopes.lookup(func.value)
            if bindings and all(b.kind == "class" for b in bindings):
                return func.value
        return self._names.qualified_name(func)

    def local_class(self, func: cst.BaseExpression) -> cst.ClassDef | None:
        """The class of this file that `func` names (one definition only), if any."""
        if isinstance(func, cst.Name):
            bindings = self._scopes.lookup(func.value)
            if bindings and len(bindings) == 1 and bindings[0].kind == "class":
                return bindings[0].node  # type: ignore[return-value]
        return None

    def torch_nn_class(self, func: cst.BaseExpression) -> str | None:
        """`Conv2d` when `func` names `torch.nn.Conv2d` (any import style); None otherwise,
        and for torch.nn names that are not modules (`Parameter`, `functional.*`)."""
        last = callee_name(func)
        if not last or not last[:1].isupper() or last in NON_MODULE_TORCH_NN:
            return None  # cheap reject before resolving names
        qualname = self._names.qualified_name(func)
        if qualname is None or not qualname.startswith("torch.nn.") or qualname.count(".") != 2:
            return None
        return qualname[len("torch.nn."):]

    def constructed_module(self, call: cst.Call) -> str | None:
        """When `call` provably builds an nn.Module: its qualified name (`torch.nn.Linear`)
        or, for a module class of this file, the class name. Otherwise None."""
        name = self.torch_nn_class(call.func)
        if name is not None:
            return f"torch.nn.{name}"
        cls = self.local_class(call.func)
        if cls is not None and self.is_module_class(cls):
            return cls.name.value
        qualname = self._project_module(call.func)
        return qualname

    def _project_module(self, func: cst.BaseExpression) -> str | None:
        """The qualified name of an nn.Module class defined in another project file."""
        if self._project is None or type(func) not in (cst.Name, cst.Attribute):
            return None
        if type(func) is cst.Name and self._scopes.lookup(func.value) is None:
            # a class of this file defined further down (`[Block() for _ in range(n)]`
            # in a class above `class Block`)
            return func.value if self._project.is_module_class(func.value, local=True) else None
        qualname = self._names.qualified_name(func)
        if qualname is None or qualname.startswith(("torch.", "builtins.")):
            return None
        if not qualname.rsplit(".", 1)[-1][:1].isupper():
            return None  # classes are capitalised; functions are not asked about (each costs a file read)
        return qualname if self._project.is_module_class(qualname) else None

    def is_stateful_construction(self, call: cst.Call) -> bool:
        """True when `call` builds a module with parameters, buffers, or train/eval
        behaviour: a stateful torch.nn layer, or a module class of this file that derives
        from one or assigns one (or an `nn.Parameter`) in `__init__`."""
        name = self.torch_nn_class(call.func)
        if name is not None:
            return name in STATEFUL_TORCH_NN
        cls = self.local_class(call.func)
        if cls is not None:
            return self.is_module_class(cls) and self.is_stateful_class(cls)
        qualname = self._project_module(call.func)
        if qualname is None:
            return False
        return self._project.is_stateful_module(qualname, local="." not in qualname and type(call.func) is cst.Name)

    def is_stateful_class(self, cls: cst.ClassDef, _seen=None) -> bool:
        seen = _seen or set()
        if cls in seen:
            return False
        seen.add(cls)
        for arg in cls.bases:
            if arg.keyword is not None:
                continue
            base_cls = self.local_class(arg.value)
            if base_cls is not None:
                if self.is_stateful_class(base_cls, seen):
                    return True
                continue
            qualname = self._names.qualified_name(arg.value)
            if qualname and qualname.startswith("torch.nn.") and qualname[len("torch.nn."):] in STATEFUL_TORCH_NN:
                return True
        if cls in self.members.registers_state:
            return True
        for values in self.members.assigned.get(cls, {}).values():
            for what in values:
                if what is None:
                    continue
                if what in ("torch.nn.Parameter", "torch.nn.Buffer"):
                    return True
                if what.startswith("torch.nn."):
                    if what[len("torch.nn."):] in STATEFUL_TORCH_NN or what[len("torch.nn."):] in _CONTAINERS:
                        return True  # a container assigned in __init__ holds layers
                elif "." not in what:
                    bindings = self._scopes.module_scope.bindings.get(what)
                    if bindings and len(bindings) == 1 and bindings[0].kind == "class":
                        if self.is_stateful_class(bindings[0].node, seen):  # type: ignore[arg-type]
                            return True
        return False

    def methods(self, cls: cst.ClassDef) -> dict[str, cst.FunctionDef]:
        """Functions defined directly in the class body, by name."""
        cache = self._methods
        found = cache.get(cls)
        if found is None:
            found = cache[cls] = _methods_of(cls)
        return found

    def forward(self, cls: cst.ClassDef) -> cst.FunctionDef | None:
        return self.methods(cls).get("forward")

    def attributes(self, cls: cst.ClassDef) -> dict[str, str | None]:
        """`self.<attr>` assigned in `__init__` (seen so far in the traversal) -> the
        qualified name of the call that produced it; None when the value is not a call of
        a known name, or when assignments disagree."""
        result: dict[str, str | None] = {}
        for attr, values in self.members.assigned.get(cls, {}).items():
            first = values[0]
            result[attr] = first if all(v == first for v in values) else None
        return result

    def submodules(self, cls: cst.ClassDef) -> dict[str, str]:
        """`self.<attr>` submodules assigned in `__init__`: attr -> `torch.nn.Dropout`, or the
        class name for module classes of this file. Only provable modules are listed."""
        result: dict[str, str] = {}
        for attr, what in self.attributes(cls).items():
            if what is None:
                continue
            if what.startswith("torch.nn."):
                if self.is_module_base_name(what):
                    result[attr] = what
            elif "." not in what:
                bindings = self._scopes.module_scope.bindings.get(what)
                if bindings and len(bindings) == 1 and bindings[0].kind == "class" and self.is_module_class(bindings[0].node):
                    result[attr] = what
        return result

    def layer(self, call: cst.Call) -> Layer | None:
        """Shape facts of a `torch.nn.<Layer>(...)` call, or None if `call` is not one."""
        name = self.torch_nn_class(call.func)
        return None if name is None else _describe_layer(call, name)

    def sequential_layer_facts(self, call: cst.Call) -> list[Layer | None] | None:
        """`sequential_layers`, each as its `Layer` facts (None where a layer is unknown)."""
        layers = self.sequential_layers(call)
        if layers is None:
            return None
        return [self.layer(expr) if isinstance(expr, cst.Call) else None for expr in layers]

    def sequential_layers(self, call: cst.Call) -> list[cst.BaseExpression | None] | None:
        """The layers of `nn.Sequential(...)` in order, when `call` is one: positional
        arguments, `*[...]` / `*name` of a list literal bound once, or one
        `OrderedDict([("name", layer), ...])`. A `None` entry stands for layers that cannot
        be seen (adjacency across it is unknown)."""
        func = call.func
        if callee_name(func) != "Sequential" or self.torch_nn_class(func) != "Sequential":
            return None
        layers: list[cst.BaseExpression | None] = []
        args = call.args
        if len(args) == 1 and not args[0].star and isinstance(args[0].value, cst.Call):
            inner = args[0].value
            inner_name = self._names.qualified_name(inner.func)
            if inner_name in ("collections.OrderedDict", "typing.OrderedDict"):
                return self._ordered_dict_layers(inner)
        for arg in args:
            if arg.keyword is not None or arg.star == "**":
                return None
            if arg.star == "*":
                elements = self._list_literal(arg.value)
                if elements is None:
                    layers.append(None)
                    continue
                for element in elements:
                    layers.append(None if isinstance(element, cst.StarredElement) else element.value)
            else:
                layers.append(arg.value)
        return layers

    def _list_literal(self, expr: cst.BaseExpression):
        if isinstance(expr, (cst.List, cst.Tuple)):
            return expr.elements
        if isinstance(expr, cst.Name):
            bindings = self._scopes.lookup(expr.value)
            if bindings and len(bindings) == 1 and bindings[0].kind == "assign":
                value = bindings[0].value
                if isinstance(value, (cst.List, cst.Tuple)):
                    return value.elements
        return None

    def _ordered_dict_layers(self, call: cst.Call):
        if len(call.args) != 1 or call.args[0].star or call.args[0].keyword is not None:
            return None
        pairs = call.args[0].value
        if not isinstance(pairs, (cst.List, cst.Tuple)):
            return None
        layers: list[cst.BaseExpression | None] = []
        for element in pairs.elements:
            pair = element.value
            if isinstance(element, cst.StarredElement) or not isinstance(pair, cst.Tuple) or len(pair.elements) != 2:
                layers.append(None)
            else:
                layers.append(pair.elements[1].value)
        return layers

    def spell_torch_nn(self, attr: str) -> cst.BaseExpression | None:
        """An expression naming `torch.nn.<attr>` with the imports visible here
        (`nn.ModuleList`, `torch.nn.ModuleList`, `ModuleList`, `tnn.ModuleList`), or None
        when the file cannot name it without a new import."""
        target = f"torch.nn.{attr}"
        if self._names.qualified_name(cst.Name(attr)) == target:
            return cst.Name(attr)
        candidates = ["nn"]
        for name, bindings in self._scopes.module_scope.bindings.items():
            if name != "nn" and any(b.kind == "import" and b.qualname == "torch.nn" for b in bindings):
                candidates.append(name)
        for name in candidates:
            if self._names.qualified_name(cst.Name(name)) == "torch.nn":
                return cst.Attribute(cst.Name(name), cst.Name(attr))
        if self._names.qualified_name(cst.Name("torch")) == "torch":
            return cst.Attribute(cst.Attribute(cst.Name("torch"), cst.Name("nn")), cst.Name(attr))
        return None


def self_parameter(func: cst.FunctionDef) -> str | None:
    """The name of the instance parameter, or None for static/class methods."""
    for decorator in func.decorators:
        deco = decorator.decorator
        if isinstance(deco, cst.Name) and deco.value in ("staticmethod", "classmethod"):
            return None
    params = (*func.params.posonly_params, *func.params.params)
    return params[0].name.value if params else None
