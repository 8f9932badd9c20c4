"""TL004, TL310 (and TL113): tensor and module call mistakes from issue #12."""

from __future__ import annotations

import pytest

from lintutil import codes, fix, lint

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def found(body: str, code: str) -> list[str]:
    return codes(HEADER + body, select=(code,))


def fixed(body: str, code: str, unsafe: bool = False) -> str:
    return fix(HEADER + body, select=(code,), unsafe=unsafe)[len(HEADER):]


# -- TL004 tensor-result-discarded ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "x = torch.randn(3)\nx.to('cuda')\n",
        "x = torch.zeros(2, 3)\nx.cuda()\n",
        "x = torch.zeros(2, 3)\nx.float()\n",
        "def f(x: torch.Tensor):\n    x.unsqueeze(0)\n    return x\n",
        "def f(x: torch.Tensor, lo):\n    x.clamp(lo, 1)\n",
        "def f(x: torch.Tensor):\n    x.detach()\n",
        "torch.cat([a, b], 1).squeeze(0)\n",  # fairseq benchmarking/core.py
        # timm pos_embed_rel.py: the dtype conversion of an interpolation's result
        "def f(t, dtype):\n    r = F.interpolate(t, size=(4, 4))\n    r = r.view(2, 8).permute(1, 0)\n    r.to(dtype)\n    return r\n",
        (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.w = nn.Parameter(torch.ones(3))\n"
            "    def move(self):\n"
            "        self.w.cuda()\n"
        ),
    ],
)
def test_tensor_result_discarded_positive(body):
    assert found(body, "TL004") == ["TL004"]


_LORA = (
    "import bitsandbytes as bnb\n"
    "class LoRA(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.linear = nn.Linear(3, 3)\n"
    "    def merge(self, data):\n"
    "        weight = self.linear.weight\n"
    "        self.linear.weight = bnb.nn.Params4bit(data, requires_grad=False, **weight.__dict__)\n"
    "        self.linear.weight.cuda(weight.device)\n"
)


def test_tensor_result_discarded_layer_tensor_replaced_by_a_foreign_class():
    # litgpt lora.py: bitsandbytes' Params4bit quantizes itself in place on `.cuda()`;
    # once the layer's weight is replaced by a class of another library, its methods
    # are not the tensor ones
    assert found(_LORA, "TL004") == []
    # twins, each reported: the layer's own weight, a weight replaced by nn.Parameter
    untouched = _LORA.replace("        self.linear.weight = bnb.nn.Params4bit(data, requires_grad=False, **weight.__dict__)\n", "")
    parameter = _LORA.replace("bnb.nn.Params4bit(data, requires_grad=False, **weight.__dict__)", "nn.Parameter(data)")
    for twin in (untouched, parameter):
        assert twin != _LORA
        assert found(twin, "TL004") == ["TL004"], twin


@pytest.mark.parametrize(
    "body",
    [
        "model = nn.Linear(3, 3)\nmodel.to('cuda')\n",  # modules move in place
        "model = nn.Linear(3, 3)\nmodel.float()\n",
        "def f(model):\n    model.cuda()\n",  # unknown receiver
        "x = torch.randn(3)\nx = x.to('cuda')\n",
        "x = torch.randn(3)\nx.clamp_(0, 1)\n",  # in place
        "x = torch.randn(3)\nx.type()\n",  # returns a string; harmless
        "x = torch.randn(3)\ny = x.float()\n",
        "x = torch.randn(3)\nx.item()\n",  # a sync point, not a conversion
        "x = torch.randn(3)\nprint(x.cuda())\n",
        (
            "class M(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.body = nn.Linear(3, 3)\n"
            "    def move(self):\n"
            "        self.body.cuda()\n"
        ),
    ],
)
def test_tensor_result_discarded_negative(body):
    assert found(body, "TL004") == []


def test_tensor_result_discarded_message_for_an_expression():
    (finding,) = lint(HEADER + "torch.cat([a, b], 1).squeeze(0)\n", select=("TL004",))
    assert "use its result" in finding.message and "= torch.cat" not in finding.message


def test_tensor_result_discarded_fix_rebinds_a_name():
    body = "x = torch.randn(3)\nx.to('cuda')  # move\n"
    assert fixed(body, "TL004") == body  # unsafe: not applied by default
    assert fixed(body, "TL004", unsafe=True) == "x = torch.randn(3)\nx = x.to('cuda')  # move\n"


def test_tensor_result_discarded_attribute_has_no_fix():
    body = (
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.w = nn.Parameter(torch.ones(3))\n"
        "    def move(self):\n"
        "        self.w.cuda()\n"
    )
    assert fixed(body, "TL004", unsafe=True) == body


# -- TL310 softmax-implicit-dim ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "p = F.softmax(x)\n",
        "p = F.log_softmax(x)\n",
        "p = F.softmin(x)\n",
        "p = F.softmax(x, dim=None)\n",
        "p = torch.nn.functional.softmax(input=x)\n",
        "act = nn.Softmax()\n",
        "head = nn.Sequential(nn.Linear(4, 2), nn.Softmax())\n",  # PyTorch-GAN acgan.py
        "act = nn.LogSoftmax(dim=None)\n",
        "from torch.nn.functional import softmax\np = softmax(x)\n",
        "p = F.softmax(x, _stacklevel=5)\n",
    ],
)
def test_softmax_implicit_dim_positive(body):
    assert found(body, "TL310") == ["TL310"]


@pytest.mark.parametrize(
    "body",
    [
        "p = F.softmax(x, 1)\n",
        "p = F.softmax(x, dim=-1)\n",
        "p = F.log_softmax(x, -1, dtype=torch.float32)\n",
        "p = torch.softmax(x, 1)\n",
        "p = x.softmax(-1)\n",
        "act = nn.Softmax(dim=1)\n",
        "act = nn.Softmax(1)\n",
        "p = F.softmax(*args)\n",  # the dim may be in *args
        "p = F.softmax(x, **kw)\n",
        "def softmax(x):\n    return x\np = softmax(x)\n",  # not torch's
        "import numpy as np\nfrom scipy.special import softmax\np = softmax(x)\n",
    ],
)
def test_softmax_implicit_dim_negative(body):
    assert found(body, "TL310") == []


# -- TL405 create-then-convert -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "m = torch.ones(n).bool()\n",
        "b = torch.zeros(n, d).cuda()\n",
        "b = torch.zeros(n).to('cuda')\n",
        "b = torch.randn(n).to(device)\n",
        "b = torch.tensor([1, 2]).float()\n",
        "b = torch.arange(10).to(x.device)\n",
        "b = torch.zeros_like(x).long()\n",
        "b = torch.randint(0, 9, (3,), dtype=torch.int32).long()\n",
        "b = torch.arange(0, 8, 2).float()\n",  # word_language_model/model.py
        "from torch import zeros\nb = zeros(3).half()\n",
    ],
)
def test_create_then_convert_positive(body):
    assert found(body, "TL405") == ["TL405"]


def test_create_then_convert_outside_a_traced_function_still_fires():
    # the twin of the traced template above: the same line, not traced
    assert found("holder = (lambda: torch.ones([]).to(torch.device(device)))()\n", "TL405") == ["TL405"]
    assert found("y = torch.jit.trace(f, torch.ones([]).half())\n", "TL405") == ["TL405"]


@pytest.mark.parametrize(
    "body",
    [
        "m = torch.ones(n, dtype=torch.bool)\n",
        "b = torch.zeros(n, device='cuda')\n",
        "b = x.float()\n",
        "b = torch.from_numpy(a).cuda()\n",  # no device= in from_numpy
        "b = torch.cat([x, y]).cuda()\n",  # not a factory
        "b = torch.zeros(n).cuda(0)\n",  # a device index: left alone
        # timm task.py: a dummy tensor that parses `.to`'s arguments
        "def to(self, *args, **kwargs):\n    dummy = torch.empty(0).to(*args, **kwargs)\n    return dummy.device\n",
        "b = torch.zeros(n).sum()\n",
        "b = np.zeros(n).astype(bool)\n",
        # no-op casts to the dtype the factory returns anyway (denoising-diffusion)
        "t = torch.randint(0, 1000, (b,), device=device).long()\n",
        "u = torch.zeros(shape, device=device).float().uniform_(0, 1)\n",
        # CLIP clip.py: a traced template whose `aten::to` node the code then looks up;
        # building the tensor there would change the captured graph
        "holder = torch.jit.trace(lambda: torch.ones([]).to(torch.device(device)), example_inputs=[])\n",
        "holder = torch.jit.trace(lambda: torch.ones([]).half(), example_inputs=[])\n",
    ],
)
def test_create_then_convert_negative(body):
    assert found(body, "TL405") == []


@pytest.mark.parametrize(
    "before, after",
    [
        ("m = torch.ones(n).bool()\n", "m = torch.ones(n, dtype=torch.bool)\n"),
        ("b = torch.zeros(n, d).cuda()\n", 'b = torch.zeros(n, d, device="cuda")\n'),
        ("b = torch.zeros(n).to('cuda:1')\n", "b = torch.zeros(n, device='cuda:1')\n"),
        ("b = torch.eye(3).to(torch.float16)\n", "b = torch.eye(3, dtype=torch.float16)\n"),
        ("b = torch.zeros_like(x).to(x.device)\n", "b = torch.zeros_like(x, device=x.device)\n"),
        ("b = torch.tensor([1, 2]).to(device=dev)\n", "b = torch.tensor([1, 2], device=dev)\n"),
        ("b = (torch.zeros(\n    n,\n    d,\n).cuda())\n", 'b = (torch.zeros(\n    n,\n    d,\n    device="cuda",\n))\n'),
    ],
)
def test_create_then_convert_safe_fix(before, after):
    assert fixed(before, "TL405") == after


@pytest.mark.parametrize(
    "body",
    [
        "b = torch.randn(n).cuda()\n",  # the CUDA generator draws other numbers
        "b = torch.tensor([0.1]).double()\n",  # the literal was rounded to float32 first
        "b = torch.arange(0, 1, 0.1).double()\n",
        "b = torch.zeros(n).to(device)\n",  # a name: device, dtype or tensor
        "b = torch.zeros(n, dtype=torch.int).float()\n",  # the factory already sets it
        "b = torch.zeros(n, requires_grad=True).cuda()\n",  # would make a leaf
        "b = torch.zeros(n).to('cuda', non_blocking=True)\n",
        "b = torch.zeros(n, **kw).cuda()\n",
    ],
)
def test_create_then_convert_no_safe_fix(body):
    assert fixed(body, "TL405") == body


@pytest.mark.parametrize(
    "body, words",
    [
        ("b = torch.zeros(n).to(device)\n", "moved with `.to(device)`; pass `device=`"),
        ("b = torch.zeros(n).to(torch.float16)\n", "cast with `.to(torch.float16)`; pass `dtype=`"),
        ("b = torch.randn(n).to(device=d, dtype=t)\n", "moved and cast with `.to(device=d, dtype=t)`; pass `device=`/`dtype=`"),
        ("m = torch.ones(n).bool()\n", "cast with `.bool()`; pass `dtype=`"),
    ],
)
def test_create_then_convert_message(body, words):
    (finding,) = lint(HEADER + body, select=("TL405",))
    assert words in finding.message


def test_create_then_convert_unsafe_fix_for_random_factories():
    assert fixed("b = torch.randn(n).cuda()\n", "TL405", unsafe=True) == 'b = torch.randn(n, device="cuda")\n'
    assert fixed("b = torch.tensor([0.1]).double()\n", "TL405", unsafe=True) == "b = torch.tensor([0.1], dtype=torch.float64)\n"


# -- TL305 import sites (issue #12) ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "from torch import solve\nsolver = solve\n",
        "from torch.cuda.amp import autocast\nctx = autocast if amp else nullcontext\n",
        "from torch.cuda.amp import GradScaler\n__all__ = ['GradScaler']\n",
    ],
)
def test_deprecated_import_reported_when_never_called(body):
    diagnostics = lint(HEADER + body, select=("TL305",))
    assert [d.code for d in diagnostics] == ["TL305"]
    assert diagnostics[0].location.row == 4  # the import line
    assert "imported here" in diagnostics[0].message


@pytest.mark.parametrize(
    "body",
    [
        "from torch import solve\nx = solve(b, a)\n",  # reported at the call only
        "from torch.cuda.amp import autocast\nwith autocast():\n    pass\n",
        "from torch.amp import autocast\nctx = autocast\n",
        "from torch import linalg\n",
        "from .torch import solve\n",
    ],
)
def test_deprecated_import_not_reported_twice(body):
    diagnostics = lint(HEADER + body, select=("TL305",))
    assert all("imported here" not in d.message for d in diagnostics)
    assert len(diagnostics) <= 1


# -- TL116 numpy-in-forward --------------------------------------------------------------------

_FWD = """
import numpy as np
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor):
        {line}
        return x
"""


@pytest.mark.parametrize(
    "line",
    [
        "w = self.scale.cpu().numpy()",
        "w = x.numpy()",
        "w = np.exp(self.scale)",
        "w = np.asarray(x * 2)",
    ],
)
def test_numpy_in_forward_positive(line):
    assert found(_FWD.format(line=line), "TL116") == ["TL116"]


@pytest.mark.parametrize(
    "line",
    [
        "w = self.scale.detach().cpu().numpy()",
        "w = x.data.numpy()",
        "w = np.prod(x.shape)",
        "w = np.sqrt(x.size(0))",
        "w = torch.exp(self.scale)",
        "w = np.exp(x.item())",
        "with torch.no_grad():\n            w = x.cpu().numpy()",
        "w = arr.numpy()",  # unknown receiver
    ],
)
def test_numpy_in_forward_negative(line):
    assert found(_FWD.format(line=line), "TL116") == []


def test_numpy_outside_forward_is_fine():
    body = _FWD.format(line="pass").replace("def forward(self, x: torch.Tensor):", "def export(self, x: torch.Tensor):")
    body = body.replace("        pass\n", "        w = x.numpy()\n")
    assert found(body, "TL116") == []
