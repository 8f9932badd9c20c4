"""Layer 1 of the semantic index: per-file facts, from one walk of Python's own `ast`.

Facts are small, plain JSON data about what a file defines, cached by content hash
(`ast` parses about 12x faster than libcst, and only files that another file asks
about are read). Names in facts are raw dotted text as written (`nn.Module`,
`models.Net`, `load_model`) together with the file's import map; layer 2
(`semantics/project.py`) resolves them across files and propagates effects through
calls. Nothing here knows about other files.

What is recorded:
- `imports`: local name -> imported dotted name (`.models.Net` for relative imports);
- `classes`: bases, whether the class text uses mode-dependent layers, the layers its
  methods assign to `self.<attr>`, and its methods' facts (`forward` included);
- `functions`: module-level functions (and functions nested in them, as
  `outer.<locals>.inner`), each with:
  - `params` (the instance parameter first for methods);
  - `events`: per name (parameter, local, `self.attr`), in source order, what happens to
    it: `eval`/`train`/`unknown` mode changes, `infer` (called as a model, with the
    grad mode), `call` (handed to a callee, at a position or keyword), `rebind`;
    each event carries `cond` (inside `if`/`try`/`while`/`match`: may not run);
  - `returns`: what each `return` gives back (a call and the local variable it went
    through, a probability, a tensor, a parameter);
- `globals`: module-level `name = Call(...)` bindings.
"""

from __future__ import annotations

import ast
import builtins
import re

FACTS_VERSION = 6

# The mode vocabulary, shared with the in-file tracker (semantics/grad_mode.py).
# Text of a class that makes it mode-dependent, and text that shows it sets its own mode.
MODE_WORDS = re.compile(r"dropout|batchnorm|batch_norm|transformer|\.training\b", re.IGNORECASE)
SETS_OWN_MODE = re.compile(r"\.eval\(\)|\.train\(|def train\b|requires_grad_\(False\)")
# Text of a function given to `.apply()` that may change the mode.
APPLY_CHANGES_MODE = re.compile(r"\.eval\(|\.train\(|\btraining\b")
# torch.nn layers whose forward depends on the mode (with their default settings).
MODE_DEPENDENT_LAYER_WORDS = ("Dropout", "BatchNorm", "Transformer")
# Methods of nn.Module that return the module itself without changing its mode.
NEUTRAL_METHODS = frozenset(
    {
        "to", "cuda", "cpu", "xpu", "float", "half", "double", "bfloat16", "type", "requires_grad_",
        "share_memory", "to_empty",
    }
)
# Methods handing out the submodules, whose mode the caller may then change.
SUBMODULE_METHODS = frozenset({"modules", "children", "named_modules", "named_children"})
_BUILTINS = frozenset(dir(builtins))
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del, ast.Pass, ast.alias, ast.arg})
# Methods whose `self.<attr> = Layer(...)` assignments say what the module holds.
_BUILDER = re.compile(r"^(__init__|_?build\w*|_?init\w*|_?make\w*|_?setup\w*|_?create\w*|reset_parameters)$")
_PROB_FUNCS = frozenset({"softmax", "sigmoid"})
_LOGPROB_FUNCS = frozenset({"log_softmax"})


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def chain_root(node: ast.AST) -> ast.AST:
    """`model` for `model.to(device).float()`."""
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in NEUTRAL_METHODS | {"train", "eval"}
    ):
        node = node.func.value
    return node


def _grad_kind(expr: ast.AST, imports: dict[str, str]) -> str | None:
    """"off"/"on" when `expr` is a grad-mode context manager or decorator."""
    call = expr if isinstance(expr, ast.Call) else None
    func = expr.func if call is not None else expr
    name = dotted(func)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    full = imports.get(head, head) + (f".{rest}" if rest else "")
    last = full.rsplit(".", 1)[-1]
    if not full.startswith("torch.") or last not in ("no_grad", "inference_mode", "enable_grad", "set_grad_enabled"):
        return None
    args = call.args if call is not None else []
    if last == "no_grad":
        return "off"
    if last == "enable_grad":
        return "on"
    flag = args[0].value if args and isinstance(args[0], ast.Constant) else None
    if last == "inference_mode":
        return "on" if flag is False else "off"
    if flag is True:
        return "on"
    if flag is False:
        return "off"
    return None


class _FunctionWalker:
    """Collects events and returns for one function body, in source order."""

    def __init__(self, func, imports: dict[str, str], self_name: str | None, nograd: bool, out: dict, prefix: str):
        self.imports = imports
        self.self_name = self_name
        self.events: dict[str, list] = {}
        self.returns: list = []
        self.assigns: dict[str, list] = {}  # local name -> [(line, value)]
        self.out = out  # where nested functions are stored
        self.prefix = prefix
        self.grad = ["off"] if nograd else []
        self.cond = 0
        self.steps = False  # calls `.backward()` or `.step()`: a training step

    # -- events -----------------------------------------------------------------------
    def _add(self, name: str, event: list) -> None:
        self.events.setdefault(name, []).append(event)

    def _name_of(self, node: ast.AST) -> str | None:
        return dotted(chain_root(node))

    def run(self, body) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested = f"{self.prefix}.<locals>.{node.name}"
            self.out[nested] = function_facts(node, self.imports, None, self.out, nested)
            return
        if isinstance(node, ast.ClassDef):
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            pushed = 0
            for item in node.items:
                self.expr(item.context_expr)
                kind = _grad_kind(item.context_expr, self.imports)
                if kind is not None:
                    self.grad.append(kind)
                    pushed += 1
            self.run(node.body)
            del self.grad[len(self.grad) - pushed :]
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            self._bind_target(node.target, None, node.lineno)
            self.run(node.body)
            self.cond += 1
            self.run(node.orelse)
            self.cond -= 1
            return
        if isinstance(node, (ast.If, ast.While)):
            self.expr(node.test)
            self.cond += 1
            self.run(node.body)
            self.run(node.orelse)
            self.cond -= 1
            return
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.cond += 1
            self.run(node.body)
            for handler in node.handlers:
                self.run(handler.body)
            self.run(node.orelse)
            self.cond -= 1
            self.run(node.finalbody)
            return
        if isinstance(node, ast.Match):
            self.expr(node.subject)
            self.cond += 1
            for case in node.cases:
                self.run(case.body)
            self.cond -= 1
            return
        if isinstance(node, ast.Return):
            if node.value is not None:
                self.expr(node.value)
                self.returns.append(self.describe(node.value, node.lineno))
            else:
                self.returns.append({"kind": "none"})
            return
        if isinstance(node, ast.Assign):
            self.expr(node.value)
            for target in node.targets:
                self._bind_target(target, node.value, node.lineno)
            return
        if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            if node.value is not None:
                self.expr(node.value)
                if isinstance(node, ast.AnnAssign):
                    self._bind_target(node.target, node.value, node.lineno)
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)
            elif isinstance(child, ast.stmt):
                self.statement(child)

    def _bind_target(self, target: ast.AST, value: ast.AST | None, line: int) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, None, line)
            return
        if isinstance(target, ast.Starred):
            self._bind_target(target.value, None, line)
            return
        name = dotted(target)
        if name is None:
            return
        if value is not None and self._name_of(value) == name and isinstance(value, ast.Call):
            return  # `model = model.to(device)`: the same object
        self._add(name, ["rebind", self.cond > 0, line])
        self.assigns.setdefault(name, []).append((line, value))

    def expr(self, node: ast.AST) -> None:
        """Events in an expression, innermost calls first (evaluation order)."""
        kind = type(node)
        if kind in _LEAVES:
            return  # names, constants and the like hold no call
        if kind is ast.Attribute:
            self.expr(node.value)
            return
        if kind is ast.Lambda:
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self.cond += 1
            for child in ast.iter_child_nodes(node):
                self.expr(child)
            self.cond -= 1
            return
        if isinstance(node, ast.IfExp):
            self.expr(node.test)
            self.cond += 1
            self.expr(node.body)
            self.expr(node.orelse)
            self.cond -= 1
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child)
        if isinstance(node, ast.Call):
            self.call(node)

    def call(self, node: ast.Call) -> None:
        func = node.func
        cond = self.cond > 0
        line = node.lineno
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method in ("backward", "step"):
                self.steps = True
            receiver = self._name_of(func.value)
            if receiver is not None:
                if method == "eval" and not node.args and not node.keywords:
                    self._add(receiver, ["eval", cond, line])
                elif method == "train":
                    arg = node.args[0] if node.args else (node.keywords[0].value if node.keywords else None)
                    if arg is None or (isinstance(arg, ast.Constant) and arg.value is True):
                        self._add(receiver, ["train", cond, line])
                    elif isinstance(arg, ast.Constant) and arg.value is False:
                        self._add(receiver, ["eval", cond, line])
                    else:
                        self._add(receiver, ["unknown", cond, line])
                elif method == "apply" and not self._apply_neutral(node):
                    self._add(receiver, ["unknown", cond, line])
                elif method in SUBMODULE_METHODS:
                    self._add(receiver, ["unknown", cond, line])
        callee = dotted(func)
        if callee is not None and self._may_be_model(callee):
            # `model(x)`, `self.model(x)`: maybe a model called; imported names are not
            grad = self.grad[-1] if self.grad else "on"
            self._add(callee, ["infer", cond, line, grad])
        for position, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                break
            name = self._name_of(arg)
            if name is not None and callee is not None:
                self._add(name, ["call", cond, line, callee, position])
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            name = self._name_of(keyword.value)
            if name is not None and callee is not None:
                self._add(name, ["call", cond, line, callee, keyword.arg])

    def _may_be_model(self, callee: str) -> bool:
        """`model(x)` or `self.model(x)`; not imported names, builtins or method calls."""
        parts = callee.split(".")
        if len(parts) == 1:
            return callee not in self.imports and callee not in _BUILTINS
        return len(parts) == 2 and parts[0] == self.self_name

    def _apply_neutral(self, node: ast.Call) -> bool:
        if len(node.args) != 1:
            return False
        fn = node.args[0]
        if isinstance(fn, ast.Lambda):
            return not APPLY_CHANGES_MODE.search(ast.unparse(fn))
        return isinstance(fn, (ast.Name, ast.Attribute)) and "init" in (dotted(fn) or "").lower()

    # -- values ---------------------------------------------------------------------------
    def describe(self, value: ast.AST, line: int, depth: int = 0) -> dict:
        """What an expression gives back, as plain data."""
        if depth > 4:
            return {"kind": "unknown"}
        if isinstance(value, ast.Call):
            func = value.func
            last = func.attr if isinstance(func, ast.Attribute) else (func.id if isinstance(func, ast.Name) else None)
            if last in _PROB_FUNCS:
                return {"kind": "probability", "via": last}
            if last in _LOGPROB_FUNCS:
                return {"kind": "log_probability", "via": last}
            root = chain_root(value)
            if root is not value:
                inner = self.describe(root, line, depth + 1)
                post = None
                node = value
                while node is not root:
                    if node.func.attr == "eval":
                        post = post or "eval"
                    elif node.func.attr == "train":
                        arg = node.args[0] if node.args else None
                        if arg is None or (isinstance(arg, ast.Constant) and arg.value is True):
                            post = post or "train"
                        elif isinstance(arg, ast.Constant) and arg.value is False:
                            post = post or "eval"
                        else:
                            post = post or "unknown"
                    node = node.func.value
                if post is not None:
                    inner = dict(inner, post=post)
                return inner
            callee = dotted(func)
            if callee is not None:
                return {"kind": "call", "callee": callee, "line": line}
            return {"kind": "unknown"}
        if isinstance(value, ast.Name):
            assigns = [a for a in self.assigns.get(value.id, []) if a[0] <= line]
            if assigns and assigns[-1][1] is not None:
                found = self.describe(assigns[-1][1], assigns[-1][0], depth + 1)
                return dict(found, var=value.id, since=assigns[-1][0])
            return {"kind": "name", "name": value.id}
        if isinstance(value, ast.Attribute):
            name = dotted(value)
            if name is not None:
                return {"kind": "name", "name": name}
        return {"kind": "unknown"}


def function_facts(node, imports: dict[str, str], self_name: str | None, out: dict, qualname: str) -> dict:
    args = node.args
    params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    nograd = any(_grad_kind(d, imports) == "off" for d in node.decorator_list)
    walker = _FunctionWalker(node, imports, self_name, nograd, out, qualname)
    walker.run(node.body)
    annotation = dotted(node.returns) if node.returns is not None else None
    return {
        "line": node.lineno,
        "params": params,
        "self": self_name,
        "events": walker.events,
        "returns": walker.returns,
        "annotation": annotation,
        "end": getattr(node, "end_lineno", node.lineno),
        "steps": walker.steps,
    }


def _imports(tree: ast.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.body:
        for inner in _top_level_imports(node):
            if isinstance(inner, ast.Import):
                for alias in inner.names:
                    if alias.asname:
                        found[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".", 1)[0]
                        found.setdefault(head, head)
            else:
                module = inner.module or ""
                prefix = "." * inner.level + module
                for alias in inner.names:
                    if alias.name == "*":
                        continue
                    full = f"{prefix}.{alias.name}" if prefix and not prefix.endswith(".") else f"{prefix}{alias.name}"
                    found[alias.asname or alias.name] = full
    return found


def _top_level_imports(node: ast.stmt):
    """Imports at module level, also inside `try`/`if` (fallback imports)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    elif isinstance(node, (ast.Try, ast.If)):
        for block in (node.body, getattr(node, "orelse", []), *[h.body for h in getattr(node, "handlers", [])]):
            for inner in block:
                yield from _top_level_imports(inner)


def _self_layers(methods: list, self_name_of) -> dict[str, dict]:
    """`self.<attr> = Call(...)` in the class's methods: the callee and, for
    containers (`nn.Sequential(a, b, c)`), the callee of the last layer."""
    layers: dict[str, dict] = {}
    for method in methods:
        self_name = self_name_of(method)
        if self_name is None or not _BUILDER.match(method.name):
            continue
        for node in ast.walk(method):
            if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
                continue
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == self_name:
                    callee = dotted(node.value.func)
                    if callee is None:
                        continue
                    last = None
                    if node.value.args and isinstance(node.value.args[-1], ast.Call):
                        last = dotted(node.value.args[-1].func)
                    layers[target.attr] = {"callee": callee, "last": last, "line": node.lineno}
    return layers


def _self_name(func) -> str | None:
    if any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in func.decorator_list):
        return None
    args = func.args.posonlyargs + func.args.args
    return args[0].arg if args else None


def extract(source: str, bodies: bool = True) -> dict | None:
    """Facts for one file's text; None when it does not parse. Without `bodies`, only
    what names and classes a file defines (functions and methods are `{"line": n,
    "lazy": True}`): most questions about another file stop there, and walking every
    function body of a large file costs more than parsing it."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = source.splitlines()
    imports = _imports(tree)
    classes: dict[str, dict] = {}
    functions: dict[str, dict] = {}
    globals_: dict[str, dict] = {}
    try:
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                classes[node.name] = _class_facts(node, imports, lines, bodies)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if bodies:
                    functions[node.name] = function_facts(node, imports, None, functions, node.name)
                else:
                    functions[node.name] = {"line": node.lineno, "lazy": True}
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                callee = dotted(node.value.func)
                for target in node.targets:
                    if isinstance(target, ast.Name) and callee is not None:
                        globals_[target.id] = {"callee": callee, "line": node.lineno}
    except RecursionError:
        return None
    return {"version": FACTS_VERSION, "imports": imports, "classes": classes, "functions": functions, "globals": globals_}


def _class_facts(node: ast.ClassDef, imports: dict[str, str], lines: list[str], bodies: bool = True) -> dict:
    text = "\n".join(lines[node.lineno - 1 : getattr(node, "end_lineno", node.lineno)])
    methods_nodes = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    methods: dict[str, dict] = {}
    for method in methods_nodes:
        if bodies:
            methods[method.name] = function_facts(method, imports, _self_name(method), methods, method.name)
        else:
            methods[method.name] = {"line": method.lineno, "lazy": True}
    return {
        "line": node.lineno,
        "bases": [b for b in (dotted(base) for base in node.bases) if b is not None],
        "mode_words": bool(MODE_WORDS.search(text)),
        "sets_own_mode": bool(SETS_OWN_MODE.search(text)),
        "layers": _self_layers(methods_nodes, _self_name),
        "methods": methods,
    }
