"""Models whose forward provably does not depend on train/eval mode.

`model.eval()` only changes what dropout, batch norm (and a few rarer layers) do. A
model built only from layers that behave the same in both modes (`Linear`, `Conv*`,
`Embedding`, `LayerNorm`, activations, containers of those) or whose every dropout is
built with a literal `p=0` gains nothing from `eval()`: running it under `no_grad` in
training mode cannot be shown to do harm, so TL103 stays silent on it.

Proof, never a guess: the answer is True only when every piece is seen.
- A `torch.nn` layer is mode-free by name (`MODE_FREE_TORCH_NN`); `Dropout*(p)` when
  `p` is provably 0; `RNN/LSTM/GRU` and `MultiheadAttention` when their `dropout` is
  absent or provably 0; `InstanceNorm*` unless `track_running_stats` may be true.
- A class of the checked file is mode-free when its bases are `nn.Module` (or mode-free
  classes of the file), it never reads `.training`, never calls a dropout/batch-norm
  function, does not override `train`/`eval`, registers no module by name
  (`add_module`, `setattr`, `getattr(self, ...)`, loops over `.modules()`), builds only
  mode-free layers, and every attribute it calls (`self.block(x)`, `for b in
  self.blocks`) is assigned only mode-free modules.
- Values flow from the construction site into `__init__`: `Net(d_in, 0.0)` binds
  `dropout=0.0`; `GPT(cfg)` with `cfg` a module-level dict literal that is never
  changed binds `cfg["drop_rate"]`. A name or lookup that cannot be followed is
  unknown, and an unknown dropout rate is not mode-free.

- A `transformers` model of an architecture whose configuration defaults every
  dropout to 0 (`ZERO_DROPOUT_TRANSFORMERS`: Llama, Mistral, Qwen, Gemma, Phi-3...),
  built from a config call of the same function that sets no rate but a literal 0 and
  is otherwise only read (`LlamaForCausalLM(LlamaConfig(hidden_size=64))`).

Classes imported from other files are not followed (unknown): the answer stays "not
provably mode-free", so the rules keep reporting.
"""

from __future__ import annotations

import ast
import re

from tensorlint.semantics.facts import _imports
from tensorlint.semantics.modules import NON_MODULE_TORCH_NN

_UNKNOWN = object()
_MAX_DEPTH = 8
_DIMS = ("1d", "2d", "3d")

MODE_FREE_TORCH_NN = frozenset(
    {
        "Linear", "Bilinear", "LazyLinear", "Identity", "Flatten", "Unflatten", "Embedding", "EmbeddingBag",
        "LayerNorm", "RMSNorm", "GroupNorm", "LocalResponseNorm", "CrossMapLRN2d",
        "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Fold", "Unfold", "Upsample",
        "UpsamplingNearest2d", "UpsamplingBilinear2d", "CosineSimilarity", "PairwiseDistance",
        "RNNCell", "LSTMCell", "GRUCell",
        "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
        "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "Softplus", "Softsign",
        "Tanhshrink", "Threshold", "LogSigmoid", "Softmax", "LogSoftmax", "Softmin", "Softmax2d", "GLU",
        *(f"{kind}{d}" for d in _DIMS for kind in (
            "Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool",
            "AdaptiveMaxPool", "LPPool", "MaxUnpool", "ZeroPad", "ConstantPad", "ReflectionPad",
            "ReplicationPad", "CircularPad",
        )),
    }
)
_DROPOUTS = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"})
_RNNS = frozenset({"RNN", "LSTM", "GRU"})
_INSTANCE_NORMS = frozenset(f"{k}{d}" for d in _DIMS for k in ("InstanceNorm", "LazyInstanceNorm"))
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})
# Method calls that return the module itself (`Net().to(device)`).
_NEUTRAL = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "type", "requires_grad_"})
# Calls whose name says they depend on the mode.
_MODE_CALL = re.compile(r"dropout|batch_?norm|instance_norm|rrelu", re.IGNORECASE)
# Ways a class reaches submodules this analysis does not follow.
_OPAQUE_METHODS = frozenset(
    {
        "add_module", "register_module", "modules", "children", "named_modules", "named_children", "apply", "train",
        "eval", "__setattr__", "__dict__",
    }
)


# `transformers` architectures whose configuration classes default every dropout (and
# router noise) rate to 0 and whose modelling code reads `self.training` only to apply
# those rates (checked against transformers 5.x: `configuration_<arch>.py`,
# `modeling_<arch>.py`). Architecture prefix -> its config classes. GPT-2, BERT, T5, ViT
# and the like default to 0.1 and are not listed.
ZERO_DROPOUT_TRANSFORMERS = {
    "Llama": ("LlamaConfig",),
    "Mistral": ("MistralConfig",),
    "Mixtral": ("MixtralConfig",),
    "Qwen2": ("Qwen2Config",),
    "Qwen3": ("Qwen3Config",),
    "Qwen3Moe": ("Qwen3MoeConfig",),
    "Gemma": ("GemmaConfig",),
    "Gemma2": ("Gemma2Config",),
    "Gemma3": ("Gemma3Config", "Gemma3TextConfig"),
    "Phi": ("PhiConfig",),
    "Phi3": ("Phi3Config",),
    "Falcon": ("FalconConfig",),
    "GPTNeoX": ("GPTNeoXConfig",),
    "Olmo": ("OlmoConfig",),
    "Olmo2": ("Olmo2Config",),
}
# Model heads of those architectures that add no dropout of their own (a
# `...ForSequenceClassification` head may add a classifier dropout).
_TRANSFORMERS_HEADS = ("ForCausalLM", "Model", "ForConditionalGeneration")
_RATE_KEYWORD = re.compile(r"drop|jitter|noise", re.IGNORECASE)


def _transformers_arch(name: str) -> str | None:
    """`Qwen3MoeForCausalLM` -> "Qwen3Moe" (the longest listed architecture prefix)."""
    for head in _TRANSFORMERS_HEADS:
        if name.endswith(head) and name[: -len(head)] in ZERO_DROPOUT_TRANSFORMERS:
            return name[: -len(head)]
    return None


class ModeFree:
    """Answers "is the model this call builds provably mode-free?" for one file."""

    def __init__(self, source: str, path=None, project=None, shared: dict | None = None) -> None:
        self.path = path  # a pathlib.Path of the file, when it is part of a project
        self.project = project  # semantics/project.py ProjectView: classes of other files
        self._shared: dict = shared if shared is not None else {}  # path -> ModeFree of other files
        try:
            self.tree: ast.Module | None = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.tree = None
        self.imports: dict[str, str] = _imports(self.tree) if self.tree is not None else {}
        # imports of the function whose construction is being judged (`from transformers
        # import LlamaForCausalLM` inside a test function); set by model_is_mode_free
        self.scope_imports: dict[str, str] = {}
        self.classes: dict[str, list[ast.ClassDef]] = {}
        self._consts: dict[str, object] = {}
        self._updates: dict[str, list[ast.expr]] = {}  # constant dict -> its top-level `.update(...)` arguments
        self._memo: dict = {}
        self._expanding: set[str] = set()  # local list names being followed
        if self.tree is not None:
            self._index()

    # -- the file ------------------------------------------------------------------
    def _index(self) -> None:
        stores: dict[str, int] = {}
        mutated: set[str] = set()
        values: dict[str, ast.expr] = {}
        # `CONFIG.update({...})` as a statement of the module itself: followed (every
        # version of the dict counts), any other change is not
        top_updates = {
            id(stmt.value): stmt.value
            for stmt in self.tree.body
            if isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute)
            and stmt.value.func.attr == "update"
            and isinstance(stmt.value.func.value, ast.Name)
            and len(stmt.value.args) == 1
            and not isinstance(stmt.value.args[0], ast.Starred)
            and not stmt.value.keywords
        }
        updates: dict[str, list[ast.expr]] = {}
        for node in ast.walk(self.tree):
            if id(node) in top_updates:
                updates.setdefault(node.func.value.id, []).append(node.args[0])
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                stores[node.id] = stores.get(node.id, 0) + 1
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
                root = _root_name(node.value)
                if root:
                    mutated.add(root)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                root = _root_name(node.value)
                if root:
                    mutated.add(root)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                root = _root_name(node.func.value)
                if root and node.func.attr in ("update", "setdefault", "pop", "popitem", "clear", "__setitem__"):
                    mutated.add(root)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                mutated.update(node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stores[node.name] = stores.get(node.name, 0) + 1
        for stmt in self.tree.body:
            if isinstance(stmt, ast.ClassDef):
                self.classes.setdefault(stmt.name, []).append(stmt)
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                values[stmt.targets[0].id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                values[stmt.target.id] = stmt.value
        for name, value in values.items():
            if stores.get(name) == 1 and name not in mutated:
                self._consts[name] = value
                if name in updates:
                    self._updates[name] = updates[name]

    def qualify(self, expr: ast.expr) -> str | None:
        parts = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        head = self.imports.get(expr.id) or self.scope_imports.get(expr.id)
        if head is None:
            if expr.id in self.classes:
                head = expr.id
            else:
                return None
        return ".".join([head, *reversed(parts)])

    # -- values --------------------------------------------------------------------
    def value(self, expr: ast.expr | None, env: dict, depth: int = 0):
        """The literal value of `expr`, following `env` (parameters of the `__init__`
        being read) and module-level constants that are never changed; else _UNKNOWN."""
        if expr is None or depth > _MAX_DEPTH:
            return _UNKNOWN
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            inner = self.value(expr.operand, env, depth + 1)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner if isinstance(expr.op, ast.USub) else inner
            return _UNKNOWN
        if isinstance(expr, ast.Name):
            if expr.id in env:
                return env[expr.id]
            const = self._consts.get(expr.id)
            if const is None:
                return _UNKNOWN
            value = self.value(const, {}, depth + 1)
            if expr.id in self._updates:
                value = self._versions(value, self._updates[expr.id], depth)
            return value
        if isinstance(expr, ast.Dict):
            result = {}
            for key, item in zip(expr.keys, expr.values):
                if key is None or not isinstance(key, ast.Constant):
                    return _UNKNOWN  # `**other`: keys cannot be listed
                result[key.value] = self.value(item, env, depth + 1)
            return _Dict(result)
        if isinstance(expr, ast.Subscript):
            container = self.value(expr.value, env, depth + 1)
            key = self.value(expr.slice, env, depth + 1)
            if isinstance(container, _Dict) and key is not _UNKNOWN:
                try:
                    return container.items.get(key, _UNKNOWN)
                except TypeError:
                    return _UNKNOWN
        return _UNKNOWN

    def _versions(self, base, updates: list[ast.expr], depth: int):
        """A module-level dict changed by `.update(...)` statements: a key whose value is
        the same in every version keeps it; any other key is unknown (a use may come
        before or after each update)."""
        versions = [base]
        for update in updates:
            change = self.value(update, {}, depth + 1)
            if not isinstance(versions[-1], _Dict) or not isinstance(change, _Dict):
                return _UNKNOWN
            versions.append(_Dict({**versions[-1].items, **change.items}))
        keys = set().union(*(v.items for v in versions))
        merged = {}
        for key in keys:
            values = [v.items.get(key, _UNKNOWN) for v in versions]
            same = all(type(v) is type(values[0]) and v == values[0] for v in values)
            merged[key] = values[0] if same else _UNKNOWN
        return _Dict(merged)

    # -- constructions -------------------------------------------------------------
    def construction(self, expr: ast.expr, env: dict, local: dict | None = None, depth: int = 0) -> bool:
        """`expr` provably builds a mode-free module (or a list of them)."""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(expr, (ast.List, ast.Tuple)):
            return all(self.construction(e.value if isinstance(e, ast.Starred) else e, env, local, depth + 1) for e in expr.elts)
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp)):
            return self.construction(expr.elt, env, local, depth + 1)
        if isinstance(expr, ast.Name) and local is not None and expr.id in local:
            values = local[expr.id]
            if expr.id in self._expanding:
                return False  # `layers = [*layers, block]`: not followed
            self._expanding.add(expr.id)
            try:
                return all(self.construction(v, env, local, depth + 1) for v in values)
            finally:
                self._expanding.discard(expr.id)
        if not isinstance(expr, ast.Call):
            return False
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in _NEUTRAL and isinstance(func.value, ast.Call):
            return self.construction(func.value, env, local, depth + 1)
        qualname = self.qualify(func)
        if qualname is None:
            return False
        if qualname.startswith("torch.nn.") and qualname.count(".") == 2:
            return self._torch_layer(qualname[9:], expr, env, local, depth)
        if qualname.startswith("transformers."):
            return self._transformers_model(qualname.rsplit(".", 1)[-1], expr, env, local, depth)
        classes = self._classes_of(func)
        return classes is not None and self.class_call(classes, expr, env, depth)

    def _torch_layer(self, name: str, call: ast.Call, env: dict, local, depth: int) -> bool:
        if name in MODE_FREE_TORCH_NN or name in NON_MODULE_TORCH_NN:
            return True
        if name in _DROPOUTS:
            return self._zero(_argument(call, 0, "p"), env, default=0.5)
        if name in _RNNS:
            return len(call.args) <= 3 and self._zero(_argument(call, None, "dropout"), env, default=0.0)
        if name == "MultiheadAttention":
            return len(call.args) <= 2 and self._zero(_argument(call, None, "dropout"), env, default=0.0)
        if name in _INSTANCE_NORMS:
            if len(call.args) > 4:
                return False
            arg = _argument(call, None, "track_running_stats")
            return arg is None or self.value(arg, env) is False
        if name in _CONTAINERS:
            if call.keywords:
                return False
            for arg in call.args:
                inner = arg.value if isinstance(arg, ast.Starred) else arg
                if isinstance(inner, ast.Dict):
                    if any(k is None for k in inner.keys):
                        return False
                    if not all(self.construction(v, env, local, depth + 1) for v in inner.values):
                        return False
                elif not self.construction(inner, env, local, depth + 1):
                    return False
            return True
        return False

    def _transformers_model(self, name: str, call: ast.Call, env: dict, local, depth: int) -> bool:
        """`LlamaForCausalLM(config)`: a `transformers` architecture whose configuration
        defaults every dropout to 0 (`ZERO_DROPOUT_TRANSFORMERS`), built from a config
        written in the same function whose dropout keywords, if any, are literal 0."""
        arch = _transformers_arch(name)
        if arch is None or len(call.args) + len(call.keywords) != 1:
            return False
        config = call.args[0] if call.args else call.keywords[0].value
        if call.keywords and call.keywords[0].arg != "config":
            return False
        if isinstance(config, ast.Name) and local is not None and len(local.get(config.id, ())) == 1:
            config = local[config.id][0]
        return self._zero_dropout_config(config, ZERO_DROPOUT_TRANSFORMERS[arch], env, depth + 1)

    def _zero_dropout_config(self, expr: ast.expr, names: tuple, env: dict, depth: int) -> bool:
        """`LlamaConfig(hidden_size=64, ...)`: one of the config classes `names` (or the
        nested config of another zero-dropout architecture), every keyword that sets a
        dropout or noise rate a literal 0, no `**kwargs`."""
        if depth > _MAX_DEPTH or not isinstance(expr, ast.Call):
            return False
        qualname = self.qualify(expr.func)
        if qualname is None or not qualname.startswith("transformers.") or qualname.rsplit(".", 1)[-1] not in names:
            return False
        for kw in expr.keywords:
            if kw.arg is None:
                return False  # `**kwargs`: any rate may be set
            if _RATE_KEYWORD.search(kw.arg) and not self._zero(kw.value, env, default=1.0):
                return False
            if kw.arg.endswith("config") and not self._nested_config(kw.value, env, depth):
                return False  # `vision_config=...`: its rates count too
        # positional arguments: only nested configs (`Gemma3Config(Gemma3TextConfig(...))`);
        # anything else may be a rate
        return all(self._nested_config(arg, env, depth) for arg in expr.args)

    def _nested_config(self, expr: ast.expr, env: dict, depth: int) -> bool:
        if isinstance(expr, ast.Constant) and expr.value is None:
            return True  # the architecture's own defaults
        if not isinstance(expr, ast.Call):
            return False
        qualname = self.qualify(expr.func)
        last = qualname.rsplit(".", 1)[-1] if qualname else ""
        names = next((n for n in ZERO_DROPOUT_TRANSFORMERS.values() if last in n), None)
        return names is not None and self._zero_dropout_config(expr, names, env, depth + 1)

    def _zero(self, arg: ast.expr | None, env: dict, default: float) -> bool:
        value = default if arg is None else self.value(arg, env)
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0

    def _classes_of(self, func: ast.expr) -> list | None:
        """(analysis, class definition) for every class `func` may name: classes of this
        file and, through the project index, of other project files. None when it may
        name anything else (a function, a third-party class)."""
        found = []
        if isinstance(func, ast.Name):
            if func.id in self.classes:
                found += [(self, cls) for cls in self.classes[func.id]]
            if func.id not in self.imports:
                return found or None
        qualname = self.qualify(func)
        if qualname is None or qualname.startswith(("torch.", "builtins.")) or "." not in qualname:
            return None
        foreign = self._foreign(qualname)
        return None if foreign is None else found + foreign

    def _foreign(self, qualname: str) -> list | None:
        project = self.project
        if project is None or self.path is None or getattr(project, "index", None) is None:
            return None
        found = project._ask(project.index.resolve, qualname, self.path)
        if found is None or found[0] != "class":
            return None
        path, name = found[1], found[2]
        analysis = self._shared.get(path)
        if analysis is None:
            try:
                data = project.index._sources.get(path) or path.read_bytes()
                text = data.decode("utf-8-sig")
            except (OSError, UnicodeDecodeError):
                return None
            if path != project.path:
                project.deps.add(path)  # the verdict depends on that file
            analysis = self._shared[path] = ModeFree(text, path, project, self._shared)
        classes = analysis.classes.get(name)
        return [(analysis, cls) for cls in classes] if classes else None

    def class_call(self, classes: list, call: ast.Call, env: dict, depth: int) -> bool:
        """`Name(args)` for classes seen by `_classes_of`: every definition of the name
        is mode-free with the arguments of this call."""
        if not classes:
            return False
        for analysis, cls in classes:
            init_env = self._bind(analysis, cls, call, env)
            if init_env is None or not analysis.class_free(cls, init_env, depth + 1):
                return False
        return True

    def _bind(self, callee: "ModeFree", cls: ast.ClassDef, call: ast.Call, env: dict) -> dict | None:
        init = _methods(cls).get("__init__")
        if init is None:
            return {}
        args = init.args
        params = [a.arg for a in (*args.posonlyargs, *args.args)][1:]
        defaults = dict(zip([a.arg for a in (*args.posonlyargs, *args.args)][-len(args.defaults):], args.defaults)) if args.defaults else {}
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        bound: dict = {}
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return {p: _UNKNOWN for p in (*params, *(a.arg for a in args.kwonlyargs))}
        for param, arg in zip(params, call.args):
            bound[param] = self.value(arg, env)
        for keyword in call.keywords:
            bound[keyword.arg] = self.value(keyword.value, env)
        for param in (*params, *(a.arg for a in args.kwonlyargs)):
            if param not in bound:
                bound[param] = callee.value(defaults.get(param), {}) if param in defaults else _UNKNOWN
        return bound

    def class_free(self, cls: ast.ClassDef, env: dict, depth: int = 0) -> bool:
        key = (id(cls), _freeze(env))
        found = self._memo.get(key)
        if found is not None:
            return found
        self._memo[key] = False  # recursion guard
        verdict = depth <= _MAX_DEPTH and self._class_free(cls, env, depth)
        self._memo[key] = verdict
        return verdict

    def _class_free(self, cls: ast.ClassDef, env: dict, depth: int) -> bool:
        if cls.keywords:
            return False
        for base in cls.bases:
            qualname = self.qualify(base)
            if qualname == "torch.nn.Module":
                continue
            bases = self._classes_of(base)
            if bases and all(b is not cls and a.class_free(b, {}, depth + 1) for a, b in bases):
                continue
            return False
        methods = _methods(cls)
        if "train" in methods or "eval" in methods:
            return False
        init = methods.get("__init__")
        assigned: dict[str, list[tuple[ast.expr, dict, dict]]] = {}  # attr -> (value, env, locals)
        used: set[str] = set()
        for method in methods.values():
            self_name = _self_name(method)
            method_env = {}
            if method is init:
                stored = {n.id for n in ast.walk(method) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                method_env = {k: v for k, v in env.items() if k not in stored}
            locals_ = _local_values(method)
            for node in ast.walk(method):
                if isinstance(node, ast.Attribute) and node.attr in ("training", "_modules", "__dict__"):
                    return False
                if isinstance(node, ast.Call):
                    if not self._call_ok(node, self_name, method_env, locals_, depth):
                        return False
                    func = node.func
                    if isinstance(func, ast.Attribute) and func.attr in ("forward", "__call__") and _is_self_attr(func.value, self_name):
                        used.add(func.value.attr)  # `self.block.forward(x)`
                    elif isinstance(func, ast.Subscript) and _is_self_attr(func.value, self_name):
                        used.add(func.value.attr)  # `self.heads[i](x)`
                    elif _is_self_attr(func, self_name):
                        used.add(func.attr)  # `self.block(x)`
                elif isinstance(node, (ast.For, ast.comprehension)):
                    iterated = node.iter
                    if isinstance(iterated, ast.Call) and isinstance(iterated.func, ast.Attribute):
                        iterated = iterated.func.value  # `self.heads.values()`
                    if _is_self_attr(iterated, self_name):
                        used.add(iterated.attr)
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    aliased = node.value.value if isinstance(node.value, ast.Subscript) else node.value
                    if _is_self_attr(aliased, self_name):
                        used.add(aliased.attr)  # `block = self.blocks[i]`: may be called later
                    for target in targets:
                        if _is_self_attr(target, self_name):
                            assigned.setdefault(target.attr, []).append((node.value, method_env, locals_))
                        elif isinstance(target, ast.Subscript) and _is_self_attr(target.value, self_name):
                            # `self.layers[i] = Block()`
                            assigned.setdefault(target.value.attr, []).append((node.value, method_env, locals_))
                        elif isinstance(target, (ast.Tuple, ast.List)):
                            for inner in ast.walk(target):
                                if _is_self_attr(inner, self_name):
                                    # `self.cos, self.sin = ...`: unknown values (fine unless called)
                                    assigned.setdefault(inner.attr, []).append((None, method_env, locals_))
                elif isinstance(node, ast.AugAssign) and _is_self_attr(node.target, self_name):
                    assigned.setdefault(node.target.attr, []).append((node.value, method_env, locals_))
        inherited = self._base_methods(cls, depth)
        for attr in used:
            if attr in methods:
                continue
            if attr not in assigned:
                if attr in _MODULE_METHODS or attr in inherited:
                    continue
                return False  # assigned elsewhere (a base class, `self._modules[...]`): not followed
            for value, method_env, locals_ in assigned.get(attr, ()):
                if value is None or not self.construction(value, method_env, locals_, depth + 1):
                    return False
        return True

    def _base_methods(self, cls: ast.ClassDef, depth: int) -> set[str]:
        """Names of the methods the class's bases of this file or the project define."""
        names: set[str] = set()
        for base in cls.bases:
            for analysis, base_cls in self._classes_of(base) or ():
                if base_cls is not cls and depth <= _MAX_DEPTH:
                    names |= set(_methods(base_cls)) | analysis._base_methods(base_cls, depth + 1)
        return names

    def _call_ok(self, call: ast.Call, self_name: str | None, env: dict, locals_: dict, depth: int) -> bool:
        func = call.func
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr", "vars"):
            return False
        if isinstance(func, ast.Attribute) and last in _OPAQUE_METHODS:
            return False
        if isinstance(func, ast.Attribute) and last in ("append", "extend", "insert") and _is_self_attr(func.value, self_name):
            return all(self.construction(a, env, locals_, depth + 1) for a in call.args[-1:])
        qualname = self.qualify(func)
        if qualname is not None and qualname.startswith("torch.nn.") and qualname.count(".") == 2 and qualname[9:10].isupper():
            return self._torch_layer(qualname[9:], call, env, locals_, depth)
        if _is_self_attr(func, self_name):
            return True  # `self.dropout(x)`: judged by what the attribute holds
        if _MODE_CALL.search(last):
            return False  # `F.dropout(...)`, `torch.batch_norm(...)`
        if qualname is not None and qualname.startswith("torch."):
            return True
        classes = self._classes_of(func) if last[:1].isupper() else None
        if classes is not None:
            return self.class_call(classes, call, env, depth)
        if last[:1].isupper() and last not in _SAFE_CAPITALS:
            return False  # a class this analysis cannot see may build a mode-dependent module
        return True


# nn.Module's own methods a class may call on itself (`self.register_buffer(...)`).
_MODULE_METHODS = frozenset(
    {
        "register_buffer", "register_parameter", "parameters", "named_parameters", "buffers", "named_buffers",
        "state_dict", "load_state_dict", "to", "cuda", "cpu", "float", "half", "double", "bfloat16", "type",
        "zero_grad", "requires_grad_", "get_submodule", "get_parameter", "get_buffer", "extra_repr", "_get_name",
        "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
        "register_load_state_dict_post_hook", "_apply",
    }
)
_SAFE_CAPITALS = frozenset({"ValueError", "TypeError", "RuntimeError", "NotImplementedError", "AssertionError", "KeyError"})


class _Dict:
    __slots__ = ("items",)

    def __init__(self, items: dict) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"_Dict({sorted(self.items.items(), key=repr)!r})"


def _freeze(env: dict) -> str:
    return repr(sorted(((k, "?" if v is _UNKNOWN else repr(v)) for k, v in env.items())))


def _argument(call: ast.Call, index: int | None, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if index is not None and len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return None


def _root_name(expr: ast.expr) -> str | None:
    while isinstance(expr, (ast.Attribute, ast.Subscript)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def _methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {s.name: s for s in cls.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _self_name(func) -> str | None:
    if any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in func.decorator_list):
        return None
    args = func.args.posonlyargs + func.args.args
    return args[0].arg if args else None


def _is_self_attr(expr, self_name: str | None) -> bool:
    return (
        self_name is not None
        and isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == self_name
    )


def _local_values(func) -> dict[str, list[ast.expr]]:
    """Local lists built in a method: `layers = []`, `layers.append(Block())`,
    `layers += [...]`; a name assigned anything else is left out (unknown)."""
    found: dict[str, list[ast.expr]] = {}
    spoiled: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
                else:
                    spoiled.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            found.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, (ast.For, ast.comprehension, ast.With, ast.NamedExpr)):
            targets = [node.target] if not isinstance(node, ast.With) else [i.optional_vars for i in node.items]
            for target in targets:
                spoiled.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name)) if target is not None else None
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if node.func.attr in ("append", "extend", "insert") and node.args:
                found.setdefault(node.func.value.id, []).append(node.args[-1])
    for arg in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs):
        spoiled.add(arg.arg)
    return {k: [v for v in vs if not (isinstance(v, (ast.List, ast.Tuple)) and not v.elts)] for k, vs in found.items() if k not in spoiled}


def model_is_mode_free(  # noqa: D103
    analysis: ModeFree, call_source: str, shadowed=(), configs=None, scope_imports=None
) -> bool:
    """The model built by the call written `call_source` (in the checked file) is
    provably mode-free. `shadowed`: names local to the function the call is in, whose
    values are unknown here. `configs`: name -> source of the one call that name is
    assigned in that function and never changed (`config = LlamaConfig(...)`), for
    models built from a configuration object."""
    if analysis.tree is None:
        return False
    try:
        expr = ast.parse(call_source.strip(), mode="eval").body
        local = {name: [ast.parse(text.strip(), mode="eval").body] for name, text in (configs or {}).items()}
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    env = {name: _UNKNOWN for name in shadowed}
    analysis.scope_imports = dict(scope_imports or {})
    try:
        return analysis.construction(expr, env, local)
    except RecursionError:
        return False  # unprovable, never a crash
    finally:
        analysis.scope_imports = {}


def _config_values(ctx, scope, values) -> dict[str, str]:
    """Names the model constructions `values` pass as a lone argument
    (`LlamaForCausalLM(config)`) that `scope` assigns exactly once, from a call, and
    otherwise only reads (`config.hidden_size`) or hands to a class (`Net(config)`);
    any other use (`config.x = ...`, `config.update(...)`, `config[...]`,
    `patch(config)`) may change it and is not followed. Name -> source of that call."""
    wanted = set()
    for value in values:
        root = value
        while type(root).__name__ == "Call" and type(root.func).__name__ == "Attribute" and root.func.attr.value in _NEUTRAL:
            root = root.func.value
        if type(root).__name__ == "Call" and len(root.args) == 1 and type(root.args[0].value).__name__ == "Name":
            wanted.add(root.args[0].value.value)
    if not wanted:
        return {}
    code = ctx.module.code_for_node(scope.node)
    found = {}
    for name in wanted:
        bindings = scope.bindings.get(name) or ()
        if len(bindings) != 1 or bindings[0].kind != "assign" or type(bindings[0].value).__name__ != "Call":
            continue
        if all(_plain_use(code, m.start(), m.end()) for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\b", code)):
            found[name] = ctx.module.code_for_node(bindings[0].value)
    return found


_ASSIGNED = re.compile(r"\s*=(?!=)")
_READ = re.compile(r"\s*\.\s*\w+\b(?!\s*(?:=(?!=)|[-+*/%&|^@<>]+=|[.(\[]))")
_LONE_ARGUMENT_OF_CLASS = re.compile(r"\b[A-Z]\w*\(\s*$")


def _plain_use(code: str, start: int, end: int) -> bool:
    """The occurrence code[start:end] of a config name is its assignment, a read of one
    of its attributes, or the lone argument of a class (`LlamaForCausalLM(config)`)."""
    rest = code[end:]
    if _ASSIGNED.match(rest) or _READ.match(rest):
        return True
    return bool(re.match(r"\s*\)", rest)) and bool(_LONE_ARGUMENT_OF_CLASS.search(code[max(0, start - 200) : start]))


_ANALYSES: dict[int, tuple] = {}  # id(module) -> (module, analysis); a few files at a time


def analysis_for(module, project=None) -> ModeFree:
    """The (memoised) analysis of a checked file's libcst module."""
    found = _ANALYSES.get(id(module))
    if found is not None and found[0] is module:
        return found[1]
    analysis = ModeFree(module.code, project.path if project is not None else None, project)
    if len(_ANALYSES) >= 8:
        _ANALYSES.clear()
    _ANALYSES[id(module)] = (module, analysis)
    return analysis


def name_is_mode_free(ctx, name: str, scope) -> bool:
    """Every value the plain name `name` gets in `scope` (a semantics/scopes.py scope of
    the checked file) is a construction of a provably mode-free model. Rebinding it to
    itself through `.to(device)`-like calls (`net = net.to(device)`) keeps the model."""
    if scope is None or "." in name:
        return False
    bindings = scope.bindings.get(name)
    if not bindings:
        return False
    values = []
    for binding in bindings:
        if binding.kind != "assign" or binding.value is None:
            return False
        value = binding.value
        root = value
        while type(root).__name__ == "Call" and type(root.func).__name__ == "Attribute" and root.func.attr.value in _NEUTRAL:
            root = root.func.value
        if type(root).__name__ == "Name" and root.value == name and root is not value:
            continue  # `net = net.to(device)`
        if type(value).__name__ in ("SimpleString", "ConcatenatedString", "FormattedString", "Integer", "Float"):
            continue  # `model = "llama3"` (a later cell's name for something else) holds no module
        values.append(value)
    if not values:
        return False
    project = ctx.project if getattr(ctx.project, "index", None) is not None else None
    analysis = analysis_for(ctx.module, project)
    shadowed = () if scope.kind == "module" else tuple(scope.bindings)
    configs = _config_values(ctx, scope, values)
    imports = {}
    if scope.kind != "module":
        for local, found in scope.bindings.items():
            if len(found) == 1 and found[0].kind == "import" and found[0].qualname:
                imports[local] = found[0].qualname
    return all(
        model_is_mode_free(analysis, ctx.module.code_for_node(v), shadowed, configs, imports) for v in values
    )
