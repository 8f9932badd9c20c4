"""TL103: a model called under no_grad/inference_mode while it is still in training mode."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import libcst as cst

from tensorlint.rules.base import Option, Rule
from tensorlint.semantics.grad_mode import MAY_EVAL_KINDS, Frame, Point
from tensorlint.semantics.intent import recalibrates_batch_norm, samples_by_name, samples_repeatedly
from tensorlint.semantics.mode_free import name_is_mode_free

_MAX_CALLER_DEPTH = 3


_BUILDER_WORDS = re.compile(
    r"model|net|load|build|create|make|get_|init|from_|restore|clone|copy|compile|parallel|ddp|wrap", re.IGNORECASE
)


def _may_build_model(binding) -> bool:
    """A binding that may hold a model: a parameter, a class construction
    (`Net()`), or a call whose name says it builds or loads one (`load_model(path)`)."""
    if binding.kind == "param":
        return True
    value = binding.value
    if binding.kind != "assign" or type(value) is not cst.Call:
        return False
    while type(value) is cst.Call and type(value.func) is cst.Attribute and type(value.func.value) is cst.Call:
        value = value.func.value  # `Net().to(device)`
    func = value.func
    last = func.attr.value if type(func) is cst.Attribute else func.value if type(func) is cst.Name else ""
    return last[:1].isupper() or bool(_BUILDER_WORDS.search(last))


def _short(path: str | None) -> str:
    return os.path.basename(path) if path else "?"


@dataclass(frozen=True, eq=False)
class _Candidate:
    node: cst.Call
    name: str
    point: Point
    origin: str | None  # "train" (built here), "param", or None (unknown)
    label: str


class InferenceWithoutEval(Rule):
    """## What it does
    Flags a call of a model (`model(x)`) under `torch.no_grad()` or
    `torch.inference_mode()` (block or decorator) while the model is provably still in
    training mode. The model and its mode are followed across the project (the
    project index, `semantics/project.py`):
    - the model was built in the same function, by a class whose mode matters (an
      `nn.Module` of this or another project file using dropout, batch norm,
      transformer layers or `self.training`, also through base classes in other
      files; a `torch.nn` dropout/batch-norm/transformer layer or an `nn.Sequential`
      holding one; `torchvision.models`/`timm.create_model` builders,
      `transformers` models built from a config), or returned by a helper of the
      project that builds one and never calls `.eval()` (`model = load_model(path)`),
      and nothing set the mode before the call;
    - `.train()` was called on it earlier in the function (an `eval_one_epoch` that
      starts with `model.train()`), unless the outputs are thrown away (a bare
      `model(x)`, or assigned to a name never read again), or the function is named
      for batch-norm recalibration (`update_bn`, `recalibrate_bn`) or resets the
      statistics (`reset_running_stats()`, `momentum = None`): that is the deliberate
      re-estimation of batch-norm statistics (`semantics/intent.py`);
    - it was handed, before the call, to a helper that leaves it in training mode
      (`train_one_epoch(model, ...)` that calls `model.train()`), in this file or
      another one;
    - it is a parameter and a caller in this file passes a model provably in training
      mode (followed through up to three levels of callers); a method's
      `self.model(x)` when another method of the class calls it right after
      `self.model.train()` (`fit()` then `self.validate()`); a nested function's
      closure variable when the enclosing function calls it with the model in
      training mode; a class's `self.model` when another method of the class trains
      it (calls it with autograd on, steps, and its `.parameters()` feed an optimizer)
      and nothing in the class ever sets its mode or hands it to a function that
      might (a module starts in training mode);
    - **across files**, reported at the call: a helper of another project file
      (`evaluate(model, loader)` in `engine.py`) that calls the model under `no_grad`
      without setting its mode, handed a model that is provably in training mode.
      The message names the helper and its file and line.

    Passing the model to a function whose code is not in the project (`print`,
    `wandb.watch`, `summary`, `Monitor`, `model.to(device)`) keeps its mode; only a
    callee whose name says it may run or switch the model (`evaluate`, `validate`,
    `fit`, `train`, `test`, `predict`, ...) makes the mode unknown. Well-known
    third-party classes and builders are listed as data in
    `tensorlint/data/third_party_models.json`.

    Not flagged: a model whose class provably has no mode-dependent layer: only
    `Linear`, `Conv*`, `Embedding`, `LayerNorm`/`RMSNorm`, activations and containers
    of those, through its submodules in this file and the project, or whose every
    dropout is built with `p=0` (a literal at the construction site, a module-level
    constant, or a key of a module-level dict literal that is never changed:
    `GPTModel({"drop_rate": 0.0, ...})`), or a `transformers` architecture whose
    configuration defaults every dropout to 0 (Llama, Mistral, Mixtral, Qwen2/3, Gemma
    1-3, Phi, Phi-3, Falcon, GPT-NeoX, OLMo 1-2) built from a config written in the same
    function that sets no dropout and is not changed afterwards
    (`LlamaForCausalLM(LlamaConfig(hidden_size=64))`), as `eval()` would change nothing
    (`semantics/mode_free.py`); Monte-Carlo dropout after an explicit `.train()` with no
    training step in between: a function named for sampling (`mc_predict`), a loop
    that feeds the model the same input on every pass (`for _ in range(100):
    samples.append(net(x))`), or a model the code had put into eval mode and then
    explicitly back into training mode; `self(...)` inside a module's own method (the
    caller owns the mode);
    functions that set the mode from a parameter (`model.train(mode)`); models
    loaded with `from_pretrained` (returned in eval mode); `.eval()` reached through
    methods that return the module (`model.to(device).eval()`); models whose mode
    `model.apply(...)` or a loop over `model.modules()` may change; and anything
    whose mode cannot be proven, such as a model used after a loop that might not
    have run.

    **Off by default.** On 38 public training repositories and 209 notebooks its
    findings were never a real bug: of the 9 left after the false positives found there
    were fixed, 7 ran models whose dropout was 0 in ways the analysis cannot prove (a
    rate in a config dict that is updated, a class it cannot follow, a Hugging Face
    architecture not in its list), so `eval()` would change nothing, and 2 are
    debatable. That is under the 90% precision a default rule must reach. It finds 9 of
    the 9 forgotten-`eval()` bugs of the real-bug corpus (`tests/realbugs/`), so turn it
    on when reviewing evaluation code: `extend-select = ["TL103"]`.

    ## Why is this bad?
    `no_grad` and `inference_mode` only switch off autograd; they do not put the model
    into eval mode. Dropout keeps dropping and batch norm normalises with the batch's
    statistics and keeps updating its running statistics on the evaluation data, so
    validation scores are wrong and the model itself changes (openscene#20: 41.0 vs
    25.0 mIoU; stacked_hourglass#44; ethos-ares#20).

    ## Example
    ```python
    model = Net()
    model.load_state_dict(torch.load("net.pt"))
    with torch.no_grad():
        prediction = model(x)
    ```

    ## Use instead
    ```python
    model = Net()
    model.load_state_dict(torch.load("net.pt"))
    model.eval()
    with torch.no_grad():
        prediction = model(x)
    ```

    ## Fix safety
    There is no fix: where to call `.eval()` (and whether to restore `.train()`
    afterwards) depends on the surrounding code.

    ## Options
    - `model-names` (list of parameter names, default `[]`): parameters with these names
      are assumed to hold a model in training mode when no caller in this file sets
      their mode (e.g. `["model", "net"]`). Off by default, because callers in other
      files may well have called `.eval()`.
    """

    code = "TL103"
    name = "inference-without-eval"
    default_enabled = False  # precision on real code: see "Off by default" above
    summary = "Model called under `no_grad`/`inference_mode` while still in training mode"
    options = {
        "model-names": Option([], list, "parameter names assumed to be models in training mode when no caller in this file says otherwise"),
    }

    def __init__(self, ctx, options, sink) -> None:
        super().__init__(ctx, options, sink)
        ctx.calls.require()
        self._candidates: list[_Candidate] = []
        self._unused: set = set()
        self._self_calls: dict = {}  # method frame -> attributes of self it calls
        self._assigned: dict = {}  # call -> the plain names its result is assigned to
        self._steps: set = set()  # functions that call `.backward()` or `.step()`
        self._step_points: list[Point] = []  # where they do
        self._parameters_of: dict = {}  # method frame -> `attr.parameters` it calls on self
        self._grad_calls: dict = {}  # method frame -> attributes of self it calls with autograd on

    def visit_Call(self, node: cst.Call) -> None:
        grad = self.ctx.grad
        frame = grad.frame
        func = node.func
        if type(func) is cst.Attribute and frame is not None:
            if func.attr.value in ("backward", "step"):
                self._steps.add(frame)  # a training step in this function
                self._step_points.append(grad.point())
            elif func.attr.value == "parameters" and frame.self_name:
                receiver = self.ctx.code_for(func.value)
                if receiver.startswith(frame.self_name + "."):
                    # `self.model.parameters()`: what an optimizer is built from
                    self._parameters_of.setdefault(frame, set()).add(receiver[len(frame.self_name) + 1 :] + ".parameters")
            if type(func.value) is cst.Name and frame.self_name and func.value.value == frame.self_name:
                self._self_calls.setdefault(frame, set()).add(func.attr.value)  # `self.x(...)`, any grad mode
                if not grad.grad_disabled() and grad.grad_state() != "unknown":
                    self._grad_calls.setdefault(frame, set()).add(func.attr.value)
        if not grad.grad_disabled():
            return
        if frame is None or frame.scope is None:
            return
        label = grad.grad_label() or "torch.no_grad()"
        if type(func) is cst.Attribute:
            # `self.model(x)` in a method: the mode comes from the methods that call it
            if type(func.value) is cst.Name and frame.self_name is not None and func.value.value == frame.self_name:
                name = f"{frame.self_name}.{func.attr.value}"
                self._candidates.append(_Candidate(node, name, grad.point(), "self", label))
            return
        if type(func) is not cst.Name:
            return
        name = func.value
        if frame.self_name == name:
            return
        bindings = frame.scope.bindings.get(name)
        if not bindings or self.ctx.scopes.lookup(name) is not bindings:
            if not bindings and self._enclosing_binding(frame, name):
                # a closure variable: `_eval_epoch()` nested in `main()` uses main's model
                self._candidates.append(_Candidate(node, name, grad.point(), "closure", label))
            return  # not bound in this function (or module script) itself
        origin = grad.binding_mode(bindings, name, frame.scope)
        if origin == "eval":
            return
        # origin None (`model = build()`): only a helper that leaves it in training
        # mode can prove anything
        self._candidates.append(_Candidate(node, name, grad.point(), origin, label))

    def visit_Expr(self, node: cst.Expr) -> None:
        if type(node.value) is cst.Call:
            self._unused.add(node.value)  # `model(x)` whose output is thrown away

    @staticmethod
    def _enclosing_binding(frame: Frame, name: str):
        outer = frame.parent
        while outer is not None and outer.parent is not None:
            if outer.scope is not None and name in outer.scope.bindings:
                return outer
            outer = outer.parent
        return None

    def leave_Module(self, node: cst.Module) -> None:
        calls = self.ctx.calls
        model_names = set(self.settings["model-names"])
        for cand in self._candidates:
            if cand.origin == "self":
                self._check_self(cand)
                continue
            if cand.origin == "closure":
                self._check_closure(cand)
                continue
            events = cand.point.frame.events_for(cand.name)
            mode = calls.mode_at(cand.name, cand.point, cand.origin)
            if mode == "train":
                if events and self._deliberate_train(cand):
                    continue
                self._report(cand, None)
                continue
            if mode != "param" or events:
                continue
            verdict = self._callers_mode(cand.point.frame, cand.name, 0, set())
            if isinstance(verdict, str) and verdict.startswith("train:"):
                self._report(cand, verdict[6:])
            elif verdict == "uncalled" and cand.name in model_names:
                self._report(cand, None)
        self._check_project_calls()

    def _deliberate_train(self, cand: _Candidate) -> bool:
        """An explicit `.train()` before a no_grad call is deliberate when the outputs
        are thrown away (`model(x)` as a statement, or assigned to a name never read
        again: re-estimating batch-norm statistics, as `torch.optim.swa_utils.update_bn`
        does) or the function says so by its name or its statistics resets."""
        if cand.node in self._unused:
            return True
        frame = cand.point.frame
        code = self.ctx.code_for(frame.node)
        targets = self._assigned.get(cand.node, ())
        if targets and all(len(re.findall(rf"\b{re.escape(t)}\b", code)) == 1 for t in targets):
            return True
        if recalibrates_batch_norm(frame.name, code):
            return True
        return self._samples_with_dropout(cand)

    def _samples_with_dropout(self, cand: _Candidate) -> bool:
        """Monte-Carlo dropout: the model was switched to training mode by an explicit
        `.train()` on purpose, and nothing trains it between that switch and the call.
        Deliberate when the function is named for sampling (`mc_predict`), when the
        call sits in a loop that feeds it the same input every pass (repeated draws:
        `for _ in range(100): samples.append(net(x))`), or when the code had put the
        model into eval mode before and then switched it back (`net.eval()` ...
        `net.train()`, then inference): an author who calls both chose the mode."""
        frame = cand.point.frame
        events = [e for e in frame.events_for(cand.name) if e.point.index < cand.point.index]
        if not events or events[-1].kind != "train":
            return False
        switch = events[-1].point.index
        if any(p.frame is frame and switch < p.index < cand.point.index for p in self._step_points):
            return False  # a training step in between: this is a training loop's forgotten eval()
        if samples_by_name(frame.name):
            return True
        loops = tuple(loop for loop in cand.point.loops if loop not in events[-1].point.loops)
        if samples_repeatedly(cand.node, loops):
            return True
        return any(e.kind == "eval" for e in events[:-1])

    def visit_Assign(self, node: cst.Assign) -> None:
        if type(node.value) is cst.Call:
            names = [t.target.value for t in node.targets if type(t.target) is cst.Name]
            if len(names) == len(node.targets):
                self._assigned[node.value] = names

    def _check_self(self, cand: _Candidate) -> None:
        """`self.model(x)` under no_grad in a method that does not set the mode: a
        method of the same class that calls this one with `self.model` provably in
        training mode (`fit()` calls `self.model.train()`, then `self.validate()`)."""
        frame = cand.point.frame
        attr = cand.name.split(".", 1)[1]
        if frame.cls is None:
            return
        if not self.ctx.grad.is_instance_attribute(frame.cls, attr):
            # `self._forward_pass(x)` under no_grad: a method of the class that calls a
            # model attribute (`self.model(x)`) without setting its mode
            for method in self.ctx.grad.function_frames((frame.cls, attr)):
                for inner in sorted(self._self_calls.get(method, ())):
                    model = f"{frame.self_name}.{inner}"
                    if not self.ctx.grad.is_instance_attribute(frame.cls, inner):
                        continue
                    if method.events_for(f"{method.self_name}.{inner}"):
                        continue
                    if self._check_self_model(cand, frame, model, inner, via=attr):
                        return
            return
        self._check_self_model(cand, frame, cand.name, attr, via=None)

    def _check_self_model(self, cand: _Candidate, frame: Frame, name: str, attr: str, via: str | None) -> bool:
        mode = self.ctx.calls.mode_at(name, cand.point, None)
        if mode == "train":
            if not self._deliberate_train(cand):
                self._report(cand, None, name=name, via=via)
                return True
            return False
        if frame.events_for(name) or mode is not None:
            return False
        caller = self._self_callers_mode(frame, attr, 0, set())
        if caller is not None:
            self._report(cand, caller, name=name, via=via)
            return True
        trainer = self._trained_by_class(frame, attr)
        if trainer is not None:
            self._report(cand, trainer, name=name, via=via, trained=True)
            return True
        return False

    def _trained_by_class(self, frame: Frame, attr: str) -> str | None:
        """A method of the class that trains `self.<attr>` (calls it with autograd on and
        steps), when nothing in the class ever sets its mode or hands it to another
        function: a module starts in training mode and stays there (giotto-deep#40)."""
        methods = [f for f in self.ctx.grad.frames.values() if f.cls is frame.cls and f.self_name]
        trainer = None
        optimized = False
        calls = self.ctx.calls
        for method in methods:
            name = f"{method.self_name}.{attr}"
            if any(e.name in (name, method.self_name) or e.name.startswith(name + ".") for e in method.events):
                return None  # the class sets a mode somewhere (`self.model.eval()`, `self.train()`)
            if any(site.passes(name) and calls._effect(site, name) != "neutral" for site in calls.sites.get(method, ())):
                return None  # handed to a function that may set its mode
            if attr in self._grad_calls.get(method, ()) and method in self._steps and method is not frame:
                trainer = trainer or method.name
            optimized = optimized or f"{attr}.parameters" in self._parameters_of.get(method, ())
        return trainer if optimized else None

    def _self_callers_mode(self, frame: Frame, attr: str, depth: int, seen: set) -> str | None:
        if depth > _MAX_CALLER_DEPTH or frame in seen:
            return None
        seen.add(frame)
        calls = self.ctx.calls
        for site in calls.callers_of(frame):
            caller = site.point.frame
            if not isinstance(site.callee, tuple) or caller.self_name is None:
                continue
            name = f"{caller.self_name}.{attr}"
            mode = calls.mode_at(name, site.point, None)
            if mode == "train":
                return f"{caller.name}"
            if mode is None and not caller.events_for(name):
                found = self._self_callers_mode(caller, attr, depth + 1, seen)
                if found is not None:
                    return found
        return None

    def _check_closure(self, cand: _Candidate) -> None:
        """A nested function uses a model of its enclosing function: the sites there
        that call it decide."""
        frame = cand.point.frame
        if frame.events_for(cand.name):
            return
        outer = self._enclosing_binding(frame, cand.name)
        calls = self.ctx.calls
        siblings = [
            (s.point.index, t) for s in calls.sites.get(outer, ()) for t in calls.targets(s) if t is not frame
        ]
        for site in calls.callers_of(frame):
            if site.point.frame is not outer:
                continue
            if any(
                index < site.point.index and any(e.kind in MAY_EVAL_KINDS for e in t.events_for(cand.name))
                for index, t in siblings
            ):
                continue  # another nested function may have set the mode first
            initial = self.ctx.grad.binding_mode(outer.scope.bindings.get(cand.name), cand.name, outer.scope)
            if calls.mode_at(cand.name, site.point, initial) == "train":
                self._report(cand, outer.name)
                return

    def _check_project_calls(self) -> None:
        """A helper of another file (`evaluate(model, loader)`) that calls the model
        under no_grad without setting its mode, handed a model that is provably in
        training mode here: reported at the call, naming the helper."""
        calls = self.ctx.calls
        grad = self.ctx.grad
        for frame, sites in calls.sites.items():
            for site in sites:
                if calls.targets(site) or site.starred:
                    continue
                for name in {n for n in site.positional if n} | {n for _, n in site.keywords if n}:
                    if "." in name and not name.startswith(f"{frame.self_name}."):
                        continue
                    bindings = frame.scope.bindings.get(name) if frame.scope is not None and "." not in name else None
                    if bindings and not frame.events_for(name) and not all(_may_build_model(b) for b in bindings):
                        continue  # `hidden = f(x)`: not worth reading `f`'s file to find out
                    initial = grad.binding_mode(bindings, name, frame.scope) if bindings else None
                    if initial not in ("train", "param") and not frame.events_for(name):
                        continue  # nothing says it is a model: do not read the callee's file
                    summary = calls.project_effect(site, name)
                    if summary is None or summary.get("infers") is None:
                        continue
                    if calls.mode_at(name, site.point, initial) != "train":
                        continue
                    self._report_call(site, name, summary)

    def _mode_free(self, name: str, frame: Frame | None) -> bool:
        """The model `name` (bound in `frame`, or in an enclosing function for a closure
        variable) is provably built without dropout, batch norm or other mode-dependent
        layers (or with every dropout at a literal `p=0`): `eval()` would change nothing,
        so the call cannot be shown to do harm (`semantics/mode_free.py`)."""
        if frame is None or "." in name:
            return False
        if frame.scope is not None and name not in frame.scope.bindings:
            frame = self._enclosing_binding(frame, name)
            if frame is None:
                return False
        return name_is_mode_free(self.ctx, name, frame.scope)

    def _report_call(self, site, name: str, summary: dict) -> None:
        if self._mode_free(name, site.point.frame):
            return
        where = _short(summary.get("file"))
        callee = summary.get("name", "?").rsplit(".", 1)[-1]
        runner = summary.get("infer_in")
        inner = ""
        if runner is not None and runner[1] != summary.get("name"):
            inner = f" (through `{runner[1].rsplit('.', 1)[-1]}()` in {_short(runner[0])})"
        source = self._mode_source(name, site.point)
        message = (
            f"`{callee}()` ({where}:{summary.get('line')}) calls `{name}` with autograd off{inner} without "
            f"`{name}.eval()`, and `{name}` is still in training mode here{source} (dropout and batch norm "
            f"stay active); call `{name}.eval()` before it or inside it"
        )
        self.report(site.node, message)

    def _mode_source(self, name: str, point: Point) -> str:
        action = self.ctx.calls.last_action(name, point)
        if action is None:
            return ""
        line = self.ctx.module.code_for_node(getattr(action, "node")).split("(", 1)[0]
        return f" (from `{line}()`)"

    def _callers_mode(self, frame: Frame, param: str, depth: int, seen: set):
        """"train:<caller>" if some caller passes a model provably in training mode,
        "uncalled" if nothing in the file calls the function, else None."""
        if depth > _MAX_CALLER_DEPTH or frame in seen:
            return None
        seen.add(frame)
        calls = self.ctx.calls
        sites = calls.callers_of(frame)
        if not sites:
            return "uncalled"
        for site in sites:
            arg = calls.argument_for(site, frame, param)
            if arg is None or "." in arg:
                continue
            caller = site.point.frame
            bindings = caller.scope.bindings.get(arg) if caller.scope is not None else None
            initial = self.ctx.grad.binding_mode(bindings, arg, caller.scope)
            mode = calls.mode_at(arg, site.point, initial)
            if mode == "train":
                if self._mode_free(arg, caller):
                    continue  # eval() would change nothing on this caller's model
                return f"train:{caller.name}"
            if mode == "param":
                verdict = self._callers_mode(caller, arg, depth + 1, seen)
                if isinstance(verdict, str) and verdict.startswith("train:"):
                    return f"train:{caller.name}"
        return None

    def _report(
        self, cand: _Candidate, caller: str | None, name: str | None = None, via: str | None = None, trained: bool = False
    ) -> None:
        name = name or cand.name
        if self._mode_free(name, cand.point.frame):
            return
        subject = f"`{name}`" if via is None else f"`{name}` (through `{via}()`)"
        if trained:
            message = (
                f"{subject} is called under `{cand.label}` while still in training mode: `{caller}()` trains it "
                f"and nothing in the class calls `{name}.eval()` (dropout and batch norm stay active); call "
                f"`{name}.eval()` first"
            )
        elif caller is None:
            message = (
                f"{subject} is called under `{cand.label}` while still in training mode (dropout and "
                f"batch norm stay active); call `{name}.eval()` first"
            )
        else:
            message = (
                f"{subject} is called under `{cand.label}` but `{caller}` passes it in training mode "
                f"(dropout and batch norm stay active); call `{name}.eval()` first"
            )
        self.report(cand.node, message)
