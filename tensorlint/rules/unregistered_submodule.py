"""TL108: modules kept in a plain list/dict/tuple attribute instead of ModuleList/ModuleDict."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule

# Names that nn.ModuleDict cannot take as keys (its own attributes, from torch 2.13).
_MODULE_DICT_ATTRIBUTES = frozenset(
    """T_destination add_module apply bfloat16 buffers call_super_init children clear compile cpu cuda double
    dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu
    items keys load_state_dict modules mtia named_buffers named_children named_modules named_parameters
    parameters pop register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
    register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
    register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
    register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict to
    to_empty train training type update values xpu zero_grad""".split()
)
_GROWING_METHODS = frozenset({"append", "extend", "insert"})


@dataclass(eq=False)
class _Container:
    """A plain container assigned to `self.<attr>` in `__init__`, and what happens to it."""

    node: cst.BaseExpression  # the list/dict/tuple/comprehension assigned
    kind: str  # "list" or "dict"
    modules: int = 0  # module constructions put in it
    fixable: bool = True  # every item is a module construction (and dict keys are usable)
    dead: bool = False  # used in another way: it may be registered elsewhere


@dataclass(eq=False)
class _Init:
    func: cst.FunctionDef
    self_name: str
    containers: dict[str, _Container] = field(default_factory=dict)
    ignored: set = field(default_factory=set)  # `self.<attr>` nodes already accounted for


class UnregisteredSubmodule(Rule):
    """## What it does
    Flags modules stored in `__init__` of an `nn.Module` class inside a plain `list`,
    `tuple` or `dict` (literals and comprehensions, or an empty one filled with
    `.append(...)`/`[key] = ...`) assigned to a `self.` attribute, instead of in an
    `nn.ModuleList`, `nn.ModuleDict` or `nn.Sequential`. Only constructions that are
    provably modules with state count: torch.nn layers with parameters, buffers or
    train/eval behaviour, module classes of the same file that hold such layers or
    an `nn.Parameter`, and containers built around them (`[nn.Sequential(nn.Linear(...),
    ...) for _ in range(n)]`, `[nn.ModuleList([...]) ...]`). A dict of losses or a list
    of activations is not flagged, as nothing is lost by not registering them.

    Not flagged: containers whose attribute is used in any other way in `__init__`
    (for example `nn.Sequential(*self.layers)` or `self.add_module(...)` in a loop,
    which do register the modules), and containers of existing objects.

    ## Why is this bad?
    `nn.Module` only registers submodules assigned directly as attributes or held in
    its container types. Modules in a plain list are invisible to it:
    `model.parameters()` skips them (the optimizer never trains them), `model.to(device)`
    leaves them on the CPU, `model.eval()` leaves their dropout and BatchNorm in training
    mode, and `state_dict()` does not save them.

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [nn.Linear(64, 64) for _ in range(4)]
            self.heads = {"cls": nn.Linear(64, 10)}
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(64, 64) for _ in range(4)])
            self.heads = nn.ModuleDict({"cls": nn.Linear(64, 10)})
    ```

    ## Fix safety
    The fix wraps a list, tuple or list comprehension in `nn.ModuleList(...)` and a dict
    with string-literal keys in `nn.ModuleDict(...)`, spelled the way the file already
    imports `torch.nn` (no fix if it cannot be named without a new import). It is unsafe:
    the model gains parameters and `state_dict()` keys, so optimizers built elsewhere
    and saved checkpoints change. No fix is offered when some items are not provably
    modules, for dict comprehensions, or for keys `nn.ModuleDict` rejects.
    """

    code = "TL108"
    name = "unregistered-submodule"
    summary = "Modules held in a plain list/dict/tuple attribute are not registered"
    fix_applicability = Applicability.UNSAFE

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._init: _Init | None = None

    # -- where we are ------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value != "__init__" or self._init is not None:
            return
        method = self.ctx.module_method()
        if method is not None and method.func is node and method.self_name:
            self._init = _Init(node, method.self_name)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        init = self._init
        if init is None or init.func is not node:
            return
        self._init = None
        for attr, box in init.containers.items():
            if box.dead or box.modules == 0:
                continue
            kind = "ModuleList" if box.kind == "list" else "ModuleDict"
            message = (
                f"`{init.self_name}.{attr}` holds modules in a plain {_describe(box.node)}, so they are not "
                f"registered: `.parameters()`, `.to()`, `.eval()` and `state_dict()` miss them; use `nn.{kind}`"
            )
            fix = None
            if box.fixable:
                wrapper = self.ctx.modules.spell_torch_nn(kind)
                if wrapper is not None:
                    value = box.node
                    if isinstance(value, cst.Tuple) and not value.lpar:
                        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
                    fix = self.replace(box.node, cst.Call(func=wrapper, args=[cst.Arg(value)]), f"Wrap in `nn.{kind}`")
            self.report(box.node, message, fix)

    # -- events on `self.<attr>` --------------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if self._init is not None:
            for target in node.targets:
                self._assigned(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._init is not None and node.value is not None:
            self._assigned(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if self._init is not None:
            box = self._box(node.target)
            if box is not None:
                box.dead = True

    def visit_Call(self, node: cst.Call) -> None:
        init = self._init
        if init is None:
            return
        func = node.func
        if type(func) is not cst.Attribute or func.attr.value not in _GROWING_METHODS:
            return
        box = self._box(func.value)
        if box is None:
            return
        if box.kind != "list" or any(arg.star or arg.keyword for arg in node.args):
            box.dead = True
            return
        init.ignored.add(func.value)
        if func.attr.value == "extend":
            items = [self._items(arg.value) for arg in node.args]
            for found in items:
                if found is None:
                    box.fixable = False
                else:
                    self._count(box, found)
        elif node.args:
            self._count(box, [node.args[-1].value])

    def visit_Attribute(self, node: cst.Attribute) -> None:
        init = self._init
        if init is None or not init.containers or node in init.ignored:
            return
        value = node.value
        if type(value) is cst.Name and value.value == init.self_name:
            box = init.containers.get(node.attr.value)
            if box is not None:
                box.dead = True

    # -- helpers ------------------------------------------------------------------
    def _box(self, expr: cst.BaseExpression) -> _Container | None:
        init = self._init
        if (
            type(expr) is cst.Attribute
            and type(expr.value) is cst.Name
            and expr.value.value == init.self_name
        ):
            return init.containers.get(expr.attr.value)
        return None

    def _assigned(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        init = self._init
        if type(target) is cst.Subscript:
            box = self._box(target.value)
            if box is None:
                return
            init.ignored.add(target.value)
            self._count(box, [value])
            if box.kind == "dict":
                key = target.slice[0].slice if len(target.slice) == 1 else None
                if not (isinstance(key, cst.Index) and _usable_key(key.value)):
                    box.fixable = False
            return
        if not (type(target) is cst.Attribute and type(target.value) is cst.Name and target.value.value == init.self_name):
            return
        attr = target.attr.value
        init.ignored.add(target)
        previous = init.containers.get(attr)
        if previous is not None:
            previous.dead = True  # re-bound: `self.x = nn.ModuleList(self.x)` and the like
            return
        box = self._container(value)
        if box is not None:
            init.containers[attr] = box

    def _container(self, value: cst.BaseExpression) -> _Container | None:
        if isinstance(value, (cst.List, cst.Tuple, cst.ListComp)):
            box = _Container(value, "list")
            items = self._items(value)
            if items is None:
                box.fixable = False
            else:
                self._count(box, items)
            return box
        if isinstance(value, cst.Dict):
            box = _Container(value, "dict")
            for element in value.elements:
                if not isinstance(element, cst.DictElement):
                    box.fixable = False
                    continue
                if not _usable_key(element.key):
                    box.fixable = False
                self._count(box, [element.value])
            return box
        if isinstance(value, cst.DictComp):
            box = _Container(value, "dict", fixable=False)
            self._count(box, [value.value])
            return box
        return None

    def _items(self, value: cst.BaseExpression):
        if isinstance(value, (cst.List, cst.Tuple)):
            if any(isinstance(e, cst.StarredElement) for e in value.elements):
                return None
            return [e.value for e in value.elements]
        if isinstance(value, cst.ListComp):
            return [value.elt]
        return None

    def _count(self, box: _Container, values) -> None:
        modules = self.ctx.modules
        for value in values:
            if isinstance(value, cst.Call) and modules.constructed_module(value) is not None:
                # stateless modules (losses, activations) lose nothing by not being registered
                if self._stateful(value, 0):
                    box.modules += 1
            else:
                box.fixable = False

    def _stateful(self, call: cst.Call, depth: int) -> bool:
        """A module construction with state: a stateful layer or class, or a container
        (`nn.Sequential(...)`, `nn.ModuleList([...])`, `nn.ModuleDict({...})`) built
        around one, written out or as a comprehension."""
        modules = self.ctx.modules
        if modules.is_stateful_construction(call):
            return True
        kind = modules.torch_nn_class(call.func)
        if depth >= 4 or kind not in ("Sequential", "ModuleList", "ModuleDict"):
            return False
        for inner in _container_items(call):
            if isinstance(inner, cst.Call) and modules.constructed_module(inner) is not None and self._stateful(inner, depth + 1):
                return True
        return False


def _container_items(call: cst.Call):
    """The layers written inside a container construction: positional arguments, the
    items of a `*[...]` / list / dict literal, the element of a comprehension."""
    for arg in call.args:
        if arg.keyword is not None or arg.star == "**":
            continue
        value = arg.value
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            yield from (e.value for e in value.elements if isinstance(e, cst.Element))
        elif isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            yield value.elt
        elif isinstance(value, cst.Dict):
            yield from (e.value for e in value.elements if isinstance(e, cst.DictElement))
        elif isinstance(value, cst.DictComp):
            yield value.value
        elif not arg.star:
            yield value


def _usable_key(key: cst.BaseExpression) -> bool:
    if not isinstance(key, cst.SimpleString) or key.prefix.lower() not in ("", "u"):
        return False
    text = key.evaluated_value
    return isinstance(text, str) and bool(text) and "." not in text and not text.startswith("_") and text not in _MODULE_DICT_ATTRIBUTES


def _describe(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Tuple):
        return "tuple"
    if isinstance(node, (cst.Dict, cst.DictComp)):
        return "dict"
    return "list"
