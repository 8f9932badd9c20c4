"""TL307-TL309, TL404: TorchFix parity for torchvision and `zero_grad(set_to_none=False)`."""

from __future__ import annotations

import pytest

from tensorlint.diagnostics import Applicability
from tensorlint.selection import enabled_rules
from lintutil import codes, fix, lint


def only(code_text: str, code: str):
    (diagnostic,) = lint(code_text, select=(code,))
    return diagnostic


# -- TL307 torchvision-deprecated-pretrained -------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        "import torchvision\nm = torchvision.models.resnet50(pretrained=True)\n",
        "from torchvision import models\nm = models.resnet18(pretrained=False)\n",
        "import torchvision.models as models\nm = models.vgg16(pretrained=True, progress=False)\n",
        "from torchvision.models import resnet50\nm = resnet50(pretrained=flag)\n",
        "from torchvision.models.resnet import resnet50\nm = resnet50(pretrained=True)\n",
        "from torchvision.models.detection import fasterrcnn_resnet50_fpn\n"
        "m = fasterrcnn_resnet50_fpn(pretrained_backbone=False)\n",
        "import torchvision.models.detection as det\nm = det.maskrcnn_resnet50_fpn(pretrained=True, pretrained_backbone=True)\n",
        "from torchvision.models import segmentation\nm = segmentation.deeplabv3_resnet50(pretrained=True)\n",
        "from torchvision.models import video\nm = video.r3d_18(pretrained=True)\n",
        "from torchvision.models import quantization\nm = quantization.resnet18(pretrained=True, quantize=True)\n",
        "from torchvision.models.optical_flow import raft_large\nm = raft_large(pretrained=True)\n",
        "import torchvision as tv\ndef build():\n    return tv.models.mobilenet_v3_large(pretrained=True)\n",
    ],
)
def test_tl307_flags_pretrained_keyword_of_torchvision_builders(src):
    assert codes(src, select=("TL307",)) == ["TL307"]


@pytest.mark.parametrize(
    "src",
    [
        # a user function that happens to share the name
        "def resnet18(pretrained=False):\n    pass\nm = resnet18(pretrained=True)\n",
        # other libraries' `pretrained=` is their current API
        "import timm\nm = timm.create_model('resnet50', pretrained=True)\n",
        "from transformers import AutoModel\nm = AutoModel.from_pretrained('bert-base-uncased')\n",
        "import segmentation_models_pytorch as smp\nm = smp.Unet('resnet34', pretrained=True)\n",
        # already on the new API
        "from torchvision import models\nm = models.resnet50(weights='DEFAULT')\n",
        "from torchvision import models\nm = models.resnet50(weights=models.ResNet50_Weights.IMAGENET1K_V1)\n",
        # a model class, not a builder
        "from torchvision.models import ResNet\nm = ResNet(block, layers, pretrained=True)\n",
        # an unrelated local `models` module
        "import models\nm = models.resnet50(pretrained=True)\n",
        # torch.hub is a different API
        "import torch\nm = torch.hub.load('pytorch/vision', 'resnet50', pretrained=True)\n",
    ],
)
def test_tl307_ignores_look_alikes(src):
    assert codes(src, select=("TL307",)) == []


def test_tl307_is_enabled_by_default_and_message_names_the_replacement():
    assert "TL307" in set(enabled_rules(None, [], []))
    d = only("from torchvision import models\nm = models.resnet50(pretrained=True)\n", "TL307")
    assert "`weights=`" in d.message and "resnet50" in d.message


def test_tl307_false_becomes_none_safely():
    src = "from torchvision import models\nm = models.resnet18(pretrained=False)\n"
    assert only(src, "TL307").fix.applicability is Applicability.SAFE
    assert fix(src, select=("TL307",)) == "from torchvision import models\nm = models.resnet18(weights=None)\n"


def test_tl307_true_becomes_default_only_as_unsafe_fix():
    src = "from torchvision import models\nm = models.resnet50(pretrained=True)\n"
    assert only(src, "TL307").fix.applicability is Applicability.UNSAFE
    assert fix(src, select=("TL307",)) == src  # not applied without --unsafe-fixes
    assert fix(src, select=("TL307",), unsafe=True) == (
        'from torchvision import models\nm = models.resnet50(weights="DEFAULT")\n'
    )


def test_tl307_fix_renames_backbone_keyword_and_keeps_layout():
    src = (
        "from torchvision.models import detection\n"
        "m = detection.fasterrcnn_resnet50_fpn(\n"
        "    pretrained=False,  # from scratch\n"
        "    pretrained_backbone=False,\n"
        "    num_classes=3,\n"
        ")\n"
    )
    assert fix(src, select=("TL307",)) == (
        "from torchvision.models import detection\n"
        "m = detection.fasterrcnn_resnet50_fpn(\n"
        "    weights=None,  # from scratch\n"
        "    weights_backbone=None,\n"
        "    num_classes=3,\n"
        ")\n"
    )


def test_tl307_mixed_true_and_false_is_unsafe():
    src = "from torchvision.models import detection\nm = detection.fasterrcnn_resnet50_fpn(pretrained=True, pretrained_backbone=False)\n"
    assert only(src, "TL307").fix.applicability is Applicability.UNSAFE
    assert fix(src, select=("TL307",), unsafe=True).endswith(
        'fasterrcnn_resnet50_fpn(weights="DEFAULT", weights_backbone=None)\n'
    )


@pytest.mark.parametrize(
    "call",
    [
        "models.resnet18(pretrained=args.pretrained)",  # not a literal
        "models.resnet18(pretrained=False, weights=w)",  # both given: leave it to the author
        "models.resnet18(pretrained=False, **kw)",  # kwargs may carry `weights`
    ],
)
def test_tl307_reports_without_fix_when_not_mechanical(call):
    src = f"from torchvision import models\nm = {call}\n"
    assert only(src, "TL307").fix is None


# -- TL308 torchvision-v2-to-tensor --------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        "from torchvision.transforms import v2\nt = v2.ToTensor()\n",
        "import torchvision.transforms.v2 as T\nt = T.Compose([T.RandomCrop(32), T.ToTensor()])\n",
        "from torchvision.transforms.v2 import ToTensor\nt = ToTensor()\n",
        "import torchvision\nt = torchvision.transforms.v2.ToTensor()\n",
        "from torchvision.transforms.v2 import functional as F\ny = F.to_tensor(img)\n",
    ],
)
def test_tl308_flags_v2_to_tensor(src):
    assert codes(src, select=("TL308",)) == ["TL308"]


@pytest.mark.parametrize(
    "src",
    [
        # the v1 API is not deprecated
        "from torchvision import transforms\nt = transforms.ToTensor()\n",
        "import torchvision.transforms as T\nt = T.ToTensor()\n",
        "from torchvision.transforms import functional as F\ny = F.to_tensor(img)\n",
        "from torchvision.transforms import ToTensor\nt = ToTensor()\n",
        # the replacement itself
        "import torch\nfrom torchvision.transforms import v2\nt = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])\n",
        # a user class of the same name
        "class ToTensor:\n    pass\nt = ToTensor()\n",
        "import albumentations.pytorch as AP\nt = AP.ToTensorV2()\n",
    ],
)
def test_tl308_ignores_look_alikes(src):
    assert codes(src, select=("TL308",)) == []


def test_tl308_hint_is_display_only_and_never_applied():
    src = "from torchvision.transforms import v2\nt = v2.ToTensor()\n"
    d = only(src, "TL308")
    assert d.fix.applicability is Applicability.DISPLAY
    assert "v2.ToImage()" in d.fix.edits[0].content
    assert fix(src, select=("TL308",), unsafe=True) == src


# -- TL309 torchvision-singleton-import ----------------------------------------------------


@pytest.mark.parametrize(
    "src, expected",
    [
        ("import torchvision.models as models\n", "from torchvision import models\n"),
        ("import torchvision.transforms as transforms\n", "from torchvision import transforms\n"),
        ("import torchvision.transforms.v2 as v2\n", "from torchvision.transforms import v2\n"),
        ("import torchvision.ops as ops  # boxes\n", "from torchvision import ops  # boxes\n"),
        ("import torchvision.datasets as datasets; x = 1\n", "from torchvision import datasets; x = 1\n"),
        ("def f():\n    import torchvision.utils as utils\n", "def f():\n    from torchvision import utils\n"),
    ],
)
def test_tl309_fix_rewrites_singleton_import(src, expected):
    assert codes(src, select=("TL309",)) == ["TL309"]
    assert fix(src, select=("TL309",)) == expected


@pytest.mark.parametrize(
    "src",
    [
        "import torchvision.models as tvm\n",  # a real alias, not a repeat
        "import torchvision.transforms as T\n",
        "from torchvision import models\n",
        "import torchvision.models\n",
        "import torchvision\n",
        "import torch.nn as nn\n",  # not torchvision
        "import mylib.models as models\n",
    ],
)
def test_tl309_ignores_other_imports(src):
    assert codes(src, select=("TL309",)) == []


def test_tl309_multi_name_import_is_reported_without_fix():
    d = only("import torchvision.models as models, os\n", "TL309")
    assert d.fix is None


def test_tl309_and_tl404_are_off_by_default():
    default = set(enabled_rules(None, [], []))
    assert "TL309" not in default and "TL404" not in default


# -- TL404 zero-grad-set-to-none-false -----------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        "import torch\nopt = torch.optim.SGD(params, lr=0.1)\nopt.zero_grad(set_to_none=False)\n",
        "import torch\nopt = torch.optim.AdamW(params)\nopt.zero_grad(False)\n",
        "from torch.optim import Adam\ndef train(m):\n    opt = Adam(m.parameters())\n    opt.zero_grad(set_to_none=False)\n",
        "import torch\ndef step(opt: torch.optim.Optimizer):\n    opt.zero_grad(set_to_none=False)\n",
        "import torch\nimport torch.nn as nn\nclass M(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.opt = torch.optim.SGD(self.parameters(), lr=1)\n"
        "    def step(self):\n        self.opt.zero_grad(set_to_none=False)\n",
    ],
)
def test_tl404_flags_optimizer_zero_grad_set_to_none_false(src):
    assert codes(src, select=("TL404",)) == ["TL404"]


@pytest.mark.parametrize(
    "src",
    [
        "import torch\nopt = torch.optim.SGD(params, lr=0.1)\nopt.zero_grad()\n",
        "import torch\nopt = torch.optim.SGD(params, lr=0.1)\nopt.zero_grad(set_to_none=True)\n",
        "import torch\nopt = torch.optim.SGD(params, lr=0.1)\nopt.zero_grad(set_to_none=flag)\n",
        # not provably an optimizer
        "def step(optimizer):\n    optimizer.zero_grad(set_to_none=False)\n",
        "model.zero_grad(set_to_none=False)\n",
        "import torch\nmodel = torch.nn.Linear(2, 2)\nmodel.zero_grad(set_to_none=False)\n",
        "import torch\nsched = torch.optim.lr_scheduler.StepLR(opt, 1)\nsched.zero_grad(set_to_none=False)\n",
        "import torch\nopt = make_optimizer()\nopt.zero_grad(set_to_none=False)\n",
        # rebound to something else on another path
        "import torch\nopt = torch.optim.SGD(p)\nif x:\n    opt = wrapper(opt)\nopt.zero_grad(set_to_none=False)\n",
        # `self.opt` in a class that is not an nn.Module, assigned elsewhere
        "class Trainer:\n    def step(self):\n        self.opt.zero_grad(set_to_none=False)\n",
    ],
)
def test_tl404_ignores_unprovable_or_default(src):
    assert codes(src, select=("TL404",)) == []


def test_tl404_has_no_fix():
    d = only("import torch\nopt = torch.optim.SGD(p)\nopt.zero_grad(set_to_none=False)\n", "TL404")
    assert d.fix is None
