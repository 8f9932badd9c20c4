"""Grad-mode and train/eval-mode context, recorded during the single traversal.

For the node being visited the tracker knows:
- whether autograd is provably off: inside `with torch.no_grad()` /
  `torch.inference_mode()` / `torch.set_grad_enabled(False)` (multi-item `with`
  included), or in a function decorated `@torch.no_grad()`, `@torch.no_grad` or
  `@torch.inference_mode()`; `torch.enable_grad()`, `inference_mode(False)` and
  `set_grad_enabled(True)` switch it back on, and a `set_grad_enabled(flag)` whose flag
  is not a literal makes the state unknown;
- which names had `.eval()`, `.train()`, `.train(False)` or `.train(<expr>)` called on
  them earlier in the current function (mode events), and where: the enclosing blocks
  and loops at that point, so a later question ("is the model in eval mode here?") can
  be answered conservatively. The receiver may be a chain of methods returning the
  module itself (`model.to(device).eval()` is an event on `model`). Other uses that
  may change the mode of a module or of its submodules make it unknown from there on
  (an "unknown" event): `model.apply(fn)` (unless `fn` is a lambda or a function of
  this file that mentions no mode) and `model.modules()`/`children()`/
  `named_modules()`/`named_children()` (`for m in model.modules(): m.eval()`);
- the enclosing `for`/`while` loops of the current function.

A nested function or lambda starts a fresh frame: its body runs when it is called,
not inside the block that defines it. Frames stay available after the traversal, so
rules may collect candidates while visiting and decide in `leave_Module`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tensorlint.semantics.facts import (
    APPLY_CHANGES_MODE,
    MODE_DEPENDENT_LAYER_WORDS,
    MODE_WORDS,
    NEUTRAL_METHODS,
    SETS_OWN_MODE,
    SUBMODULE_METHODS,
)
from tensorlint.semantics.modules import self_parameter
from tensorlint.semantics.scopes import Binding, Scope, ScopeTracker, dotted_name

DISABLED = "disabled"
ENABLED = "enabled"
UNKNOWN = "unknown"

# qualified name -> kind of grad context
GRAD_CONTEXTS = {
    "torch.no_grad": "no_grad",
    "torch.autograd.no_grad": "no_grad",
    "torch.inference_mode": "inference_mode",
    "torch.autograd.inference_mode": "inference_mode",
    "torch.enable_grad": "enable_grad",
    "torch.autograd.enable_grad": "enable_grad",
    "torch.set_grad_enabled": "set_grad_enabled",
    "torch.autograd.set_grad_enabled": "set_grad_enabled",
}
_GRAD_LAST_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in GRAD_CONTEXTS)

# Methods that return the module itself without changing its mode (`apply` only when
# its function leaves the mode alone; see `GradModeTracker.apply_is_neutral`).
MODE_NEUTRAL_METHODS = NEUTRAL_METHODS | {"ipu", "apply"}
# Wrappers whose mode is the wrapped module's (`model = nn.DataParallel(model)`).
_MODE_SHARING_WRAPPERS = frozenset({"DataParallel", "DistributedDataParallel", "DDP", "compile"})
# Methods of nn.Module that return the module itself.
SELF_RETURNING_METHODS = MODE_NEUTRAL_METHODS | {"train", "eval"}
# Kinds of mode events that may leave a module in eval / in training mode.
MAY_EVAL_KINDS = ("eval", "param", "unknown")
MAY_TRAIN_KINDS = ("train", "param", "unknown")
# Functions returning a freshly built torchvision model (in training mode).
_TORCHVISION_NOT_MODELS = frozenset({"get_weight", "get_model_weights", "list_models", "get_model_builder"})


@dataclass(frozen=True, eq=False)
class Point:
    """Where something happened: its frame, its order in the file, its enclosing
    blocks and loops (innermost last) within that frame."""

    frame: "Frame"
    index: int
    blocks: tuple
    loops: tuple

    def inside(self, other: "Point") -> bool:
        """True when this point's block encloses (or is) `other`'s block."""
        n = len(self.blocks)
        return len(other.blocks) >= n and other.blocks[:n] == self.blocks


@dataclass(frozen=True, eq=False)
class ModeEvent:
    name: str  # dotted receiver: `model`, `self.model`
    # "eval", "train", "param" (the mode comes from an expression), or "unknown" (the
    # mode, or that of some submodules, may have changed: `.apply(fn)`, `.modules()`)
    kind: str
    node: cst.Call
    point: Point


@dataclass(eq=False)
class Frame:
    node: cst.CSTNode  # Module, FunctionDef or Lambda
    parent: "Frame | None"
    cls: cst.ClassDef | None = None  # the class a method is defined directly in
    scope: Scope | None = None
    grad: list = field(default_factory=list)  # [(state, label)], innermost last
    blocks: list = field(default_factory=list)
    loops: list = field(default_factory=list)
    events: list = field(default_factory=list)
    exits: list = field(default_factory=list)  # Points of return/break/raise

    @property
    def name(self) -> str:
        node = self.node
        return node.name.value if isinstance(node, cst.FunctionDef) else "<module>"

    self_name: str | None = None  # the instance parameter of a method

    def events_for(self, name: str) -> list[ModeEvent]:
        """Mode events on `name` or on a name it is part of (`self` for `self.model`)
        or that is part of it (`self.model.encoder` for `self.model`)."""
        return [e for e in self.events if related_names(e.name, name)]


def related_names(a: str, b: str) -> bool:
    if a == b:
        return True
    return a.startswith(b + ".") or b.startswith(a + ".")


def _literal_bool(node: cst.BaseExpression) -> bool | None:
    if isinstance(node, cst.Name):
        if node.value == "True":
            return True
        if node.value == "False":
            return False
    return None


class GradModeTracker:
    def __init__(self, scopes: ScopeTracker, names, modules, project=None) -> None:
        self._scopes = scopes
        self._names = names
        self._modules = modules
        self._project = project  # other files' classes and helpers (semantics/project.py)
        self.frame: Frame | None = None
        self.module_frame: Frame | None = None
        self.frames: dict[cst.CSTNode, Frame] = {}  # FunctionDef -> Frame
        self.functions: dict[str, list[cst.FunctionDef]] = {}  # module-level functions by name
        self.methods: dict[tuple[cst.ClassDef, str], list[cst.FunctionDef]] = {}
        self.instance_attributes: dict[cst.ClassDef, set[str]] = {}  # `self.x = ...` in the class's methods
        self._containers: list = []  # ("class", ClassDef) / ("function", Frame)
        self._pending_grad: dict[cst.CSTNode, list] = {}  # with body -> [(state, label)]
        self._loop_bodies: dict[cst.CSTNode, cst.CSTNode] = {}  # loop body -> loop
        self._counter = 0
        self._mode_dependent_classes: dict[cst.ClassDef, bool] = {}
        self._enter = {
            cst.Module: self._enter_module,
            cst.FunctionDef: self._enter_function,
            cst.Lambda: self._enter_lambda,
            cst.ClassDef: self._enter_class,
            cst.With: self._enter_with,
            cst.For: self._enter_loop,
            cst.While: self._enter_loop,
            cst.IndentedBlock: self._enter_block,
            cst.SimpleStatementSuite: self._enter_block,
            cst.Call: self._enter_call,
            cst.Assign: self._enter_assign,
            cst.AnnAssign: self._enter_assign,
            cst.Return: self._enter_exit,
            cst.Break: self._enter_exit,
            cst.Raise: self._enter_exit,
        }
        self._leave = {
            cst.FunctionDef: self._leave_frame,
            cst.Lambda: self._leave_frame,
            cst.ClassDef: self._leave_class,
            cst.IndentedBlock: self._leave_block,
            cst.SimpleStatementSuite: self._leave_block,
        }

        # the engine calls enter/leave only for these node classes
        self.node_types = frozenset(self._enter) | frozenset(self._leave)

    # -- queries -------------------------------------------------------------------
    def grad_state(self) -> str:
        """DISABLED, ENABLED or UNKNOWN for the node being visited (innermost context wins)."""
        frame = self.frame
        if frame is None or not frame.grad:
            return ENABLED
        return frame.grad[-1][0]

    def grad_disabled(self) -> bool:
        """Provably under no_grad / inference_mode here."""
        frame = self.frame
        return frame is not None and bool(frame.grad) and frame.grad[-1][0] == DISABLED

    def grad_label(self) -> str | None:
        """`torch.no_grad()`-like text of the innermost grad context, for messages."""
        frame = self.frame
        if frame is None or not frame.grad:
            return None
        return frame.grad[-1][1]

    def frame_of_module(self) -> Frame | None:
        return self.module_frame

    def self_name(self) -> str | None:
        """The instance parameter when the current function is a method."""
        return self.frame.self_name if self.frame is not None else None

    def in_loop(self) -> bool:
        return bool(self.frame and self.frame.loops)

    def point(self) -> Point:
        self._counter += 1
        frame = self.frame
        return Point(frame, self._counter, tuple(frame.blocks), tuple(frame.loops))

    def events_before(self, name: str) -> list[ModeEvent]:
        """Mode events on `name` (or a related name) earlier in the current function."""
        return self.frame.events_for(name) if self.frame else []

    def called_eval_before(self, name: str) -> bool:
        """`.eval()`/`.train(False)` (or `.train(<expr>)`) on `name` earlier in this function."""
        return any(e.kind in MAY_EVAL_KINDS for e in self.events_before(name))

    def exits_after(self, point: Point) -> bool:
        """A return/break/raise later in the same block as `point`."""
        return any(x.index > point.index and x.blocks == point.blocks for x in point.frame.exits)

    def function_frames(self, name_or_key) -> list[Frame]:
        """Frames of the module-level function `name`, or of the method `(cls, name)`."""
        if isinstance(name_or_key, tuple):
            defs = self.methods.get(name_or_key, ())
        else:
            defs = self.functions.get(name_or_key, ())
        return [self.frames[d] for d in defs if d in self.frames]

    # -- model provenance ------------------------------------------------------------
    def binding_mode(
        self, bindings: list[Binding] | None, name: str | None = None, scope: Scope | None = None, depth: int = 0
    ) -> str | None:
        """How a name got its model: "train" when every binding builds a module whose
        forward depends on the mode (so it starts in training mode), "eval" when the
        construction chain ends in `.eval()`, "param" for a plain parameter, else None.
        Re-bindings of `name` to itself through mode-neutral methods
        (`model = model.to(device)`) do not count. With the bindings' `scope`, a wrapper
        of another local model (`model = torch.compile(raw_model)`) has its mode, if
        nothing in the function changes that model's mode."""
        if not bindings:
            return None
        modes = set()
        for binding in bindings:
            if binding.kind == "param":
                modes.add("param")
            elif binding.kind == "assign" and binding.value is not None:
                if name is not None and _neutral_rebinding(binding.value, name):
                    continue
                wrapped = _wrapped_name(binding.value)
                if wrapped is not None and wrapped != name and scope is not None and depth < 3:
                    frame = self.frames.get(scope.node)
                    if frame is not None and not frame.events_for(wrapped):
                        modes.add(self.binding_mode(scope.bindings.get(wrapped), wrapped, scope, depth + 1))
                        continue
                modes.add(self.constructed_mode(binding.value))
            else:
                return None
        if len(modes) != 1:
            return None
        return modes.pop()

    def constructed_mode(self, value: cst.BaseExpression, depth: int = 0) -> str | None:
        """"train"/"eval" if `value` provably builds a mode-dependent nn.Module, else None."""
        if depth > 6 or not isinstance(value, cst.Call):
            return None
        func = value.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            method = func.attr.value
            inner = self.constructed_mode(func.value, depth + 1)
            if inner is None:
                return None
            if method == "apply":
                return inner if self.apply_is_neutral(value) else None
            if method in MODE_NEUTRAL_METHODS:
                return inner
            if method == "eval" and not value.args:
                return "eval"
            if method == "train":
                if not value.args:
                    return "train"
                flag = _literal_bool(value.args[0].value) if len(value.args) == 1 else None
                return None if flag is None else ("train" if flag else "eval")
            return None
        if self.builds_mode_dependent_module(value):
            return "train"
        return self._project_mode(value)

    def _project_mode(self, call: cst.Call) -> str | None:
        """"train"/"eval" for a model built by a class or helper the project index knows:
        a class of another file, a helper of this or another file that builds and
        returns one (`model = load_model(path)`), or a well-known third-party builder."""
        project = self._project
        if project is None:
            return None
        func = call.func
        local = None
        if isinstance(func, cst.Name):
            bindings = self._scopes.lookup(func.value)
            if bindings and len(bindings) == 1 and bindings[0].kind == "def" and bindings[0].node is not None:
                if self._scopes.module_scope.bindings.get(func.value) == bindings:
                    local = func.value
        qualname = None if local is not None else self._names.qualified_name(func)
        mode = project.call_mode(qualname, local)
        return mode if mode in ("train", "eval") else None

    def apply_is_neutral(self, call: cst.Call) -> bool:
        """`.apply(fn)` provably leaves the mode alone: `fn` is a lambda, or a function of
        this file bound here, whose code mentions no mode (`weights_init`)."""
        if len(call.args) != 1 or call.args[0].star or call.args[0].keyword is not None:
            return False
        fn = call.args[0].value
        if isinstance(fn, cst.Name):
            bindings = self._scopes.lookup(fn.value)
            if not bindings or len(bindings) != 1 or bindings[0].kind != "def":
                return False
            fn = bindings[0].node
        elif not isinstance(fn, cst.Lambda):
            return False
        return not APPLY_CHANGES_MODE.search(cst.Module(body=[]).code_for_node(fn))

    def builds_mode_dependent_module(self, call: cst.Call, depth: int = 0) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            bindings = self._scopes.lookup(func.value)
            if bindings and len(bindings) == 1 and bindings[0].kind == "class":
                cls = bindings[0].node
                return self._modules.is_module_class(cls) and self._class_is_mode_dependent(cls)
        qualname = self._names.qualified_name(func)
        if qualname is None:
            return False
        if qualname.startswith("torch.nn.") and qualname.count(".") == 2:
            last = qualname[9:]
            if last in ("Sequential", "ModuleList") and depth < 4:
                return any(
                    isinstance(arg.value, cst.Call) and self.builds_mode_dependent_module(arg.value, depth + 1)
                    for arg in call.args
                )
            return any(word in last for word in MODE_DEPENDENT_LAYER_WORDS)
        if qualname.startswith("torchvision.models."):
            last = qualname.rsplit(".", 1)[-1]
            return last[:1].islower() and not last.startswith("_") and last not in _TORCHVISION_NOT_MODELS
        return False

    def _class_is_mode_dependent(self, cls: cst.ClassDef, depth: int = 0) -> bool:
        """A module class of this file that (or whose in-file bases) uses dropout,
        batch norm, transformer layers or `self.training`; judged on its text."""
        cache = self._mode_dependent_classes
        verdict = cache.get(cls)
        if verdict is None:
            cache[cls] = False  # recursion guard
            text = cst.Module(body=[]).code_for_node(cls)
            # a class that sets its own mode (`self.eval()` in __init__, an overridden
            # `train`) is not provably in training mode after construction
            verdict = bool(MODE_WORDS.search(text)) and not SETS_OWN_MODE.search(text)
            if not verdict and depth < 5:
                for base in cls.bases:
                    if isinstance(base.value, cst.Name):
                        bindings = self._scopes.module_scope.bindings.get(base.value.value)
                        if bindings and len(bindings) == 1 and bindings[0].kind == "class":
                            if self._class_is_mode_dependent(bindings[0].node, depth + 1):
                                verdict = True
                                break
            cache[cls] = verdict
        return verdict

    # -- traversal -------------------------------------------------------------------
    def enter(self, node: cst.CSTNode) -> None:
        handler = self._enter.get(type(node))
        if handler is not None:
            handler(node)

    def leave(self, node: cst.CSTNode) -> None:
        handler = self._leave.get(type(node))
        if handler is not None:
            handler(node)

    def _enter_module(self, node: cst.Module) -> None:
        frame = Frame(node, None, scope=self._scopes.stack[-1] if self._scopes.stack else None)
        self.frame = frame
        self.frames[node] = frame
        self.module_frame = frame

    def _enter_function(self, node: cst.FunctionDef) -> None:
        parent = self.frame
        cls = None
        if self._containers and self._containers[-1][0] == "class":
            cls = self._containers[-1][1]
            self.methods.setdefault((cls, node.name.value), []).append(node)
        elif not self._containers:
            self.functions.setdefault(node.name.value, []).append(node)
        frame = Frame(
            node,
            parent,
            cls=cls,
            scope=self._scopes.stack[-1] if self._scopes.stack else None,
            self_name=self_parameter(node) if cls is not None else None,
        )
        for decorator in node.decorators:
            entry = self._grad_entry(decorator.decorator, decorator=True)
            if entry is not None:
                frame.grad.append(entry)
        self.frames[node] = frame
        self.frame = frame
        self._containers.append(("function", frame))

    def _enter_lambda(self, node: cst.Lambda) -> None:
        self.frame = Frame(node, self.frame, scope=self._scopes.stack[-1] if self._scopes.stack else None)
        self._containers.append(("function", self.frame))

    def _leave_frame(self, node: cst.CSTNode) -> None:
        if self.frame is not None and self.frame.node is node:
            self.frame = self.frame.parent
            self._containers.pop()

    def _enter_class(self, node: cst.ClassDef) -> None:
        self._containers.append(("class", node))

    def _leave_class(self, node: cst.ClassDef) -> None:
        self._containers.pop()

    def _enter_with(self, node: cst.With) -> None:
        entries = []
        for item in node.items:
            entry = self._grad_entry(item.item, decorator=False)
            if entry is not None:
                entries.append(entry)
        if entries:
            self._pending_grad[node.body] = entries

    def _enter_loop(self, node) -> None:
        self._loop_bodies[node.body] = node

    def _enter_block(self, node) -> None:
        frame = self.frame
        if frame is None:
            return
        frame.blocks.append(node)
        if self._pending_grad:
            entries = self._pending_grad.get(node)
            if entries:
                frame.grad.extend(entries)
        if self._loop_bodies:
            loop = self._loop_bodies.get(node)
            if loop is not None:
                frame.loops.append(loop)

    def _leave_block(self, node) -> None:
        frame = self.frame
        if frame is None or not frame.blocks or frame.blocks[-1] is not node:
            return
        frame.blocks.pop()
        entries = self._pending_grad.pop(node, None)
        if entries:
            del frame.grad[-len(entries):]
        if self._loop_bodies.pop(node, None) is not None:
            frame.loops.pop()

    def _enter_assign(self, node) -> None:
        frame = self.frame
        if frame is None or frame.cls is None:
            return
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        for target in targets:
            if type(target) is cst.Attribute and type(target.value) is cst.Name and target.value.value == frame.self_name:
                self.instance_attributes.setdefault(frame.cls, set()).add(target.attr.value)

    def is_instance_attribute(self, cls: cst.ClassDef | None, name: str) -> bool:
        """`name` is assigned as `self.name = ...` somewhere in the class: calling
        `self.name(...)` calls that object, not a method."""
        return cls is not None and name in self.instance_attributes.get(cls, ())

    def _enter_exit(self, node) -> None:
        if self.frame is not None:
            self.frame.exits.append(self.point())

    def _enter_call(self, node: cst.Call) -> None:
        func = node.func
        if type(func) is not cst.Attribute:
            return
        method = func.attr.value
        if method == "eval":
            if node.args:
                return  # pandas' df.eval("expr"), builtins-like eval methods
            kind = "eval"
        elif method == "train":
            args = node.args
            if not args:
                kind = "train"
            elif len(args) == 1 and not args[0].star and (args[0].keyword is None or args[0].keyword.value == "mode"):
                flag = _literal_bool(args[0].value)
                kind = "param" if flag is None else ("train" if flag else "eval")
            else:
                return
        elif method == "apply":
            if self.apply_is_neutral(node):
                return
            kind = "unknown"
        elif method in SUBMODULE_METHODS:
            kind = "unknown"
        else:
            return
        name = dotted_name(chain_root(func.value))
        if name is None or self.frame is None:
            return
        self.frame.events.append(ModeEvent(name, kind, node, self.point()))

    def _grad_entry(self, expr: cst.BaseExpression, decorator: bool):
        """(state, label) when `expr` is a grad-mode context manager or decorator."""
        call = None
        func = expr
        if isinstance(expr, cst.Call):
            call, func = expr, expr.func
        elif not decorator:
            return None  # `with torch.no_grad:` is an error, not a context
        if isinstance(func, cst.Attribute):
            if func.attr.value not in _GRAD_LAST_NAMES:
                return None  # cheap test first; plain names may be aliases, so they are resolved
        elif not isinstance(func, cst.Name):
            return None
        kind = GRAD_CONTEXTS.get(self._names.qualified_name(func) or "")
        if kind is None:
            return None
        args = [a for a in call.args] if call is not None else []
        if any(a.star for a in args):
            return (UNKNOWN, f"torch.{kind}(...)")
        if kind == "no_grad":
            return (DISABLED, "torch.no_grad()")
        if kind == "enable_grad":
            return (ENABLED, "torch.enable_grad()")
        if kind == "inference_mode":
            if not args:
                return (DISABLED, "torch.inference_mode()")
            flag = _literal_bool(args[0].value) if len(args) == 1 else None
            if flag is None:
                return (UNKNOWN, "torch.inference_mode(...)")
            return (DISABLED, "torch.inference_mode()") if flag else (ENABLED, "torch.inference_mode(False)")
        # set_grad_enabled(flag)
        if call is None or len(args) != 1:
            return None
        flag = _literal_bool(args[0].value)
        if flag is None:
            return (UNKNOWN, "torch.set_grad_enabled(...)")
        return (ENABLED, "torch.set_grad_enabled(True)") if flag else (DISABLED, "torch.set_grad_enabled(False)")


def chain_root(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`model` for `model.to(device).float()`: the receiver under calls of methods that
    return the module itself."""
    while type(expr) is cst.Call and type(expr.func) is cst.Attribute and expr.func.attr.value in SELF_RETURNING_METHODS:
        expr = expr.func.value
    return expr


def _wrapped_name(value: cst.BaseExpression) -> str | None:
    """`raw` for `nn.DataParallel(raw)`, `DDP(raw, ...)`, `torch.compile(raw)`."""
    if type(value) is not cst.Call or not value.args:
        return None
    func = value.func
    wrapper = func.attr.value if type(func) is cst.Attribute else func.value if type(func) is cst.Name else None
    first = value.args[0]
    if wrapper not in _MODE_SHARING_WRAPPERS or first.keyword is not None or first.star or type(first.value) is not cst.Name:
        return None
    return first.value.value


def _neutral_rebinding(value: cst.BaseExpression, name: str) -> bool:
    """`model.to(device)`, `model.cuda().float()`: the same object, mode unchanged;
    `nn.DataParallel(model)`, `DistributedDataParallel(model, ...)`, `torch.compile(model)`:
    wrappers that share the module and its mode."""
    while isinstance(value, cst.Call):
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in MODE_NEUTRAL_METHODS:
            value = func.value
            continue
        wrapper = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if wrapper in _MODE_SHARING_WRAPPERS and value.args and value.args[0].keyword is None and not value.args[0].star:
            value = value.args[0].value
            continue
        return False
    return isinstance(value, cst.Name) and value.value == name


def _shares_loop(a: Point, b: Point) -> bool:
    return bool(a.loops) and bool(b.loops) and any(loop in a.loops for loop in b.loops)

