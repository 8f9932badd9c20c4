"""TL307: torchvision model builders called with the deprecated `pretrained=`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import FixSpec, Rule
from tensorlint.semantics.calls import call_argument

# legacy keyword -> its replacement since torchvision 0.13
_LEGACY = {"pretrained": "weights", "pretrained_backbone": "weights_backbone"}


def is_torchvision_builder(qualname: str | None) -> bool:
    """`torchvision.models.resnet50`, `torchvision.models.detection.fasterrcnn_resnet50_fpn`,
    `torchvision.models.resnet.resnet50`: a lowercase public function under
    `torchvision.models`, not a model class such as `torchvision.models.ResNet`."""
    if not qualname or not qualname.startswith("torchvision.models."):
        return False
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].islower() and not last.startswith("_")


class TorchvisionPretrained(Rule):
    """## What it does
    Flags calls of torchvision model builders (`torchvision.models.resnet50`,
    `torchvision.models.detection.fasterrcnn_resnet50_fpn`, and the builders of
    `segmentation`, `video`, `quantization` and `optical_flow`) that pass
    `pretrained=` or `pretrained_backbone=`.

    ## Why is this bad?
    torchvision 0.13 deprecated `pretrained` and `pretrained_backbone` in favour of
    `weights` and `weights_backbone`, which name the checkpoint explicitly; every call
    with the old keywords emits a deprecation warning, and the keywords are slated for
    removal. Other libraries' `pretrained=` (such as `timm.create_model`) are not
    flagged.

    ## Example
    ```python
    from torchvision import models

    model = models.resnet50(pretrained=True)
    scratch = models.resnet18(pretrained=False)
    ```

    ## Use instead
    ```python
    from torchvision import models

    model = models.resnet50(weights=models.ResNet50_Weights.IMAGENET1K_V1)  # or weights="DEFAULT"
    scratch = models.resnet18(weights=None)
    ```

    ## Fix safety
    `pretrained=False` becomes `weights=None` (and `pretrained_backbone=False` becomes
    `weights_backbone=None`), which is what the legacy keyword maps to: safe.
    `pretrained=True` becomes `weights="DEFAULT"`, which torchvision accepts as a string
    since 0.13. That fix is unsafe: the legacy keyword loads the original checkpoint
    (e.g. `ResNet50_Weights.IMAGENET1K_V1`), while `DEFAULT` is the best checkpoint of
    the installed torchvision (for `resnet50`, `IMAGENET1K_V2`, with other accuracy and
    preprocessing), and it may change again in a later release.
    A keyword whose value is not a literal `True`/`False`, or a call that already passes
    `weights=`, gets no fix.
    """

    code = "TL307"
    name = "torchvision-deprecated-pretrained"
    summary = "torchvision model builder called with deprecated `pretrained=`; use `weights=`"
    fix_applicability = Applicability.UNSAFE

    def visit_Call(self, node: cst.Call) -> None:
        legacy = [arg for arg in node.args if arg.keyword is not None and arg.keyword.value in _LEGACY]
        if not legacy:
            return  # cheap test first: most calls pass neither keyword
        qualname = self.ctx.qualified_name(node.func)
        if not is_torchvision_builder(qualname):
            return
        function = qualname.rsplit(".", 1)[-1]
        keywords = " and ".join(f"`{arg.keyword.value}=`" for arg in legacy)
        replacements = " and ".join(f"`{_LEGACY[arg.keyword.value]}=`" for arg in legacy)
        message = f"{keywords} of `{function}` is deprecated since torchvision 0.13; pass {replacements} instead"
        self.report(node, message, self._fix(node, legacy))

    def _fix(self, node: cst.Call, legacy: list[cst.Arg]) -> FixSpec | None:
        renamed: dict[int, cst.Arg] = {}
        parts = []
        safe = True
        for arg in legacy:
            new_keyword = _LEGACY[arg.keyword.value]
            if call_argument(node, None, new_keyword) is not None:
                return None  # `weights=` already there (or maybe in **kwargs)
            value = arg.value
            if not isinstance(value, cst.Name) or value.value not in ("True", "False") or value.lpar:
                return None
            if value.value == "True":
                safe = False
                new_value: cst.BaseExpression = cst.SimpleString('"DEFAULT"')
            else:
                new_value = cst.Name("None")
            parts.append(f"`{new_keyword}={new_value.value}`")
            renamed[id(arg)] = arg.with_changes(keyword=cst.Name(new_keyword), value=new_value)
        message = "Pass " + " and ".join(parts)
        if not safe:
            message += " (`DEFAULT` may be a newer checkpoint than the legacy `pretrained=True` one)"
        new = node.with_changes(args=[renamed.get(id(arg), arg) for arg in node.args])
        return self.replace(node, new, message, Applicability.SAFE if safe else Applicability.UNSAFE)
