"""Train/eval and registration mistakes, judged on the host from flags and shapes.

``module.training``, ``torch.is_grad_enabled()`` and tensor shapes are Python values,
so these checks run on every forward at no device cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from .classify import has_rnn_dropout
from .findings import _RANK, EventLog, Finding
from .options import Options


@dataclass
class _BatchSizes:
    batches: int = 0
    small: int = 0
    smallest: int = 1 << 62
    examples: list[int] = field(default_factory=list)


def _ancestors(name: str):
    """Qualified names of the enclosing modules, innermost first, ending with the root ""."""
    while name:
        name = name.rpartition(".")[0]
        yield name


class ModeChecks:
    """Records dropout/BatchNorm misuse, small batches, eval-mode training and unregistered modules."""

    def __init__(self, opts: Options):
        self.opts = opts
        self.events = EventLog()
        self._modules: dict[str, nn.Module] = {}
        self._sizes: dict[str, _BatchSizes] = {}
        self.eval_ran: dict[str, bool] = {}  # modules whose latest grad-enabled forward ran in eval mode
        self._eval_dropout_calls: set[str] = set()
        self._subtree: dict[str, tuple[frozenset[int], bool]] = {}
        self.forward = 0  # index of the outermost forward being checked (set by the monitor)

    def set_modules(self, modules: dict[str, nn.Module]) -> None:
        """The model's named modules as of attach time (the cached subtree facts depend on them)."""
        self._modules = modules
        self._subtree.clear()

    # ---- dropout and batch norm --------------------------------------------------------------
    def dropout(
        self, module: str, p: float, training: bool, grad: bool, function: str = "", inside: str | None = None,
        rnn: str = "",
    ) -> None:
        if not p or p <= 0:
            return
        if training and not grad:
            if rnn:
                how = f"The dropout between the stacked layers of this {rnn} (dropout={p}) in training mode"
            else:
                how = f"{function} with training=True" if function else f"dropout (p={p}) in training mode"
            if inside:
                message = (
                    f"{how} ran inside an unregistered {inside} while gradients were disabled: model.eval() never "
                    "reaches a module kept in a plain list or dict (see unregistered-module); register it in "
                    "nn.ModuleList/nn.ModuleDict."
                )
            else:
                message = (
                    f"{how} ran while gradients were disabled, so inference outputs are randomly masked; "
                    "call model.eval() before evaluating or pass training=self.training."
                )
            self.events.record(
                "dropout-active-at-inference",
                module,
                "warning",
                message,
                {"p": float(p), "function": function or None, "inside_unregistered": inside, "forward": self.forward},
            )
        elif not training and grad and function:
            self._eval_dropout_calls.add(module)

    def batchnorm(
        self, module: str, training: bool, tracks: bool, grad: bool, batch: int | None, function: str = "",
        inside: str | None = None,
    ) -> None:  # fmt: skip
        if not training:
            return
        if not grad and tracks:
            if inside:
                message = (
                    f"BatchNorm inside an unregistered {inside} ran in training mode with gradients disabled: "
                    "model.eval() never reaches a module kept in a plain list or dict (see unregistered-module), "
                    "so evaluation overwrites its running statistics; register it in nn.ModuleList/nn.ModuleDict."
                )
            else:
                message = (
                    "BatchNorm ran in training mode with gradients disabled, so evaluation batches overwrite its "
                    "running statistics; call model.eval() before evaluating."
                )
            self.events.record(
                "batchnorm-train-at-inference",
                module,
                "error",
                message,
                {"function": function or None, "inside_unregistered": inside, "forward": self.forward},
            )
        elif grad and batch is not None:
            sizes = self._sizes.setdefault(module, _BatchSizes())
            sizes.batches += 1
            if batch < self.opts.bn_min_batch:
                sizes.small += 1
                sizes.smallest = min(sizes.smallest, batch)
                if len(sizes.examples) < 8 and batch not in sizes.examples:
                    sizes.examples.append(batch)

    # ---- unregistered modules -----------------------------------------------------------------
    def unregistered(self, module: nn.Module, parent: str) -> None:
        """Report a module missing from named_modules() when that matters: it has state or train/eval behaviour.

        A stateless helper built in forward (transformers' ``CrossEntropyLoss()``) is harmless.
        """
        layers = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
        stateful = next(module.parameters(), None) is not None or next(module.buffers(), None) is not None
        if not stateful and not any(isinstance(m, layers) for m in module.modules()):
            return
        name = type(module).__name__
        found = self.events.record(
            "unregistered-module",
            parent,
            "warning",
            f"A {name} ran inside this module's forward but is not registered as a submodule, "
            "so .eval(), .to() and state_dict() never reach it; store it as an attribute or in nn.ModuleList.",
            {"class": name, "classes": [], "forward": self.forward},
        )
        if name not in found.details["classes"] and len(found.details["classes"]) < 8:
            found.details["classes"].append(name)

    # ---- optimizer steps --------------------------------------------------------------------------
    def _subtree_facts(self, name: str) -> tuple[frozenset[int], bool]:
        """Parameter ids under ``name`` and whether a train/eval-sensitive layer lives there."""
        found = self._subtree.get(name)
        if found is None:
            root = self._modules[name]
            layers = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
            found = (
                frozenset(id(p) for p in root.parameters()),
                any(isinstance(m, layers) or has_rnn_dropout(m) for m in root.modules()),
            )
            self._subtree[name] = found
        params, sensitive = found
        prefix = name + "." if name else ""
        return params, sensitive or any(n == name or n.startswith(prefix) for n in self._eval_dropout_calls)

    def optimizer_step(self, optimizer, forward_index: int) -> None:
        """Called after every optimizer step in the process; free unless something ran in eval mode."""
        if not self.eval_ran:
            return
        updated = {id(p) for group in optimizer.param_groups for p in group["params"] if p.grad is not None}
        ran = dict(self.eval_ran)  # a C-level copy: forward hooks of other threads update it without the lock
        tops = [n for n in ran if not any(a in ran for a in _ancestors(n))]
        for name in tops:
            params, sensitive = self._subtree_facts(name)
            if not (params & updated):
                continue
            if isinstance(self._modules[name], nn.modules.batchnorm._BatchNorm):
                self.events.record(
                    "train-in-eval-mode",
                    name,
                    "info",
                    "This BatchNorm is frozen in eval mode while its parameters are trained, the usual fine-tuning "
                    "idiom; allow it if intended.",
                    {"optimizer": type(optimizer).__name__, "forward": forward_index, "frozen_batchnorm": True},
                )
            elif sensitive:
                self.events.record(
                    "train-in-eval-mode",
                    name,
                    "warning",
                    "The optimizer updated parameters of a module whose forward ran in eval mode, so dropout and "
                    "BatchNorm behaved as at inference; call model.train() after evaluating.",
                    {"optimizer": type(optimizer).__name__, "forward": forward_index, "frozen_batchnorm": False},
                )
        self.eval_ran.clear()
        self._eval_dropout_calls.clear()

    # ---- report ----------------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        out = self.events.findings()
        # An unregistered module that explains mode findings of its parent is as severe as they are.
        caused = {}
        for f in out:
            if f.details.get("inside_unregistered"):
                worst = caused.get(f.module)
                caused[f.module] = f.severity if worst is None or _RANK[f.severity] < _RANK[worst] else worst
        for f in out:
            if f.kind == "unregistered-module" and f.module in caused and _RANK[caused[f.module]] < _RANK[f.severity]:
                f.severity = caused[f.module]
        for name, sizes in self._sizes.items():
            if not sizes.small:
                continue
            share = sizes.small / sizes.batches
            most = share > self.opts.bn_small_majority
            out.append(
                Finding(
                    "batchnorm-small-batch",
                    name,
                    "warning" if most else "info",
                    (
                        f"{sizes.small} of {sizes.batches} training batches had fewer than {self.opts.bn_min_batch} "
                        f"samples (smallest {sizes.smallest}), too few for BatchNorm to estimate statistics; "
                        + (
                            "use larger batches or GroupNorm/LayerNorm."
                            if most
                            else "consider drop_last=True in the DataLoader."
                        )
                    ),
                    {
                        "batches": sizes.batches,
                        "small_batches": sizes.small,
                        "smallest": sizes.smallest,
                        "min_batch": self.opts.bn_min_batch,
                        "examples": list(sizes.examples),
                    },
                    count=sizes.small,
                )
            )
        return out
