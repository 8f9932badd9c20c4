"""semantics/mode_free.py: a model is called mode-free only when every piece is seen.

Each mode-free shape has a look-alike that must stay "not provable"."""

from __future__ import annotations

import textwrap

import pytest

from tensorlint.semantics.mode_free import ModeFree, model_is_mode_free

CLASS = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from thirdparty import Block

class A(nn.Module):
    def __init__(self, p=0.0):
        super().__init__()
        {body}

    def forward(self, x):
        {forward}
"""


def free(body: str, forward: str = "return self.l(x)", call: str = "A()") -> bool:
    src = textwrap.dedent(CLASS).format(body=body, forward=forward)
    return model_is_mode_free(ModeFree(src), call)


@pytest.mark.parametrize(
    "body, forward, call",
    [
        ("self.l = nn.Linear(1, 1)", "return self.l(x)", "A()"),
        ("self.l = nn.Sequential(nn.Conv2d(1, 1, 3), nn.GroupNorm(1, 1), nn.GELU())", "return self.l(x)", "A()"),
        ("self.l = nn.Dropout(p)", "return self.l(x)", "A()"),  # default p=0.0
        ("self.l = nn.Dropout(p)", "return self.l(x)", "A(0)"),
        ("self.l = nn.LSTM(4, 4, 2)", "return self.l(x)", "A()"),
        ("self.l = nn.InstanceNorm2d(4)", "return self.l(x)", "A()"),  # no running statistics by default
        ("self.l = nn.MultiheadAttention(4, 2)", "return self.l(x, x, x)", "A()"),
        ("self.cos, self.sin = torch.ones(1), torch.ones(1)\n        self.l = nn.Linear(1, 1)", "return self.l(x) * self.cos", "A()"),
        ("self.register_buffer('m', torch.ones(1))\n        self.l = nn.Linear(1, 1)", "return self.l(x) + self.m", "A()"),
        ("self.blocks = nn.ModuleList()\n        self.blocks.append(nn.Linear(1, 1))", "return self.blocks[0](x)", "A()"),
        ("self.l = nn.Linear(1, 1).to('cpu')", "return self.l(x)", "A()"),
    ],
)
def test_mode_free_shapes(body, forward, call):
    assert free(body, forward, call)


@pytest.mark.parametrize(
    "body, forward, call",
    [
        ("self.l = nn.Dropout(p)", "return self.l(x)", "A(0.1)"),
        ("self.l = nn.Dropout(p)", "return self.l(x)", "A(rate)"),  # unknown
        ("self.l = nn.Dropout()", "return self.l(x)", "A()"),  # default p=0.5
        ("self.l = nn.BatchNorm1d(4)", "return self.l(x)", "A()"),
        ("self.l = nn.SyncBatchNorm(4)", "return self.l(x)", "A()"),
        ("self.l = nn.InstanceNorm2d(4, track_running_stats=True)", "return self.l(x)", "A()"),
        ("self.l = nn.LSTM(4, 4, 2, dropout=0.3)", "return self.l(x)", "A()"),
        ("self.l = nn.MultiheadAttention(4, 2, dropout=0.1)", "return self.l(x, x, x)", "A()"),
        ("self.l = nn.TransformerEncoderLayer(4, 2)", "return self.l(x)", "A()"),
        ("self.l = nn.RReLU()", "return self.l(x)", "A()"),
        ("self.l = Block()", "return self.l(x)", "A()"),  # a class this analysis cannot see
        ("self.l = make_block()", "return self.l(x)", "A()"),  # a helper may build anything
        ("self.l = nn.Linear(1, 1)", "return F.dropout(self.l(x), 0.1)", "A()"),
        ("self.l = nn.Linear(1, 1)", "return self.l(x) if self.training else x", "A()"),
        ("self.l = nn.Linear(1, 1)\n        self.l = nn.Dropout(0.2)", "return self.l(x)", "A()"),
        ("self.layers = nn.ModuleList([nn.Linear(1, 1)])\n        self.layers[0] = nn.Dropout(0.5)", "return self.layers[0](x)", "A()"),
        ("self._modules['drop'] = nn.Dropout(0.5)", "return self.drop(x)", "A()"),
        ("setattr(self, 'drop', nn.Dropout(0.5))", "return self.drop(x)", "A()"),
        ("self.add_module('drop', nn.Dropout(0.5))", "return self.drop(x)", "A()"),
        ("self.blocks = nn.ModuleList()\n        self.blocks.append(nn.Dropout(0.5))", "return self.blocks[0](x)", "A()"),
        ("self.l = nn.Linear(1, 1)", "return getattr(self, 'l')(x)", "A()"),
        ("layers = []\n        layers = [*layers, nn.Linear(1, 1)]\n        self.l = nn.Sequential(*layers)", "return self.l(x)", "A()"),
        ("self.l = nn.Linear(1, 1)", "return self.helper(x)", "A()"),  # not a method of the class
    ],
)
def test_not_provably_mode_free(body, forward, call):
    assert not free(body, forward, call)


def test_subclass_overriding_train_or_a_mode_dependent_base():
    src = textwrap.dedent(
        """
        import torch.nn as nn

        class Base(nn.Module):
            def __init__(self):
                super().__init__()
                self.drop = nn.Dropout(0.5)

        class Child(Base):
            def forward(self, x):
                return self.drop(x)

        class Plain(nn.Module):
            def __init__(self):
                super().__init__()
                self.l = nn.Linear(1, 1)

            def forward(self, x):
                return self.l(x)

            def train(self, mode=True):
                return self

        class Linear(nn.Linear):
            pass
        """
    )
    analysis = ModeFree(src)
    assert not model_is_mode_free(analysis, "Child()")
    assert not model_is_mode_free(analysis, "Plain()")
    assert not model_is_mode_free(analysis, "Linear(1, 1)")  # a subclass of a torch layer: not followed


def test_bad_input_is_not_provable_and_never_raises():
    assert not model_is_mode_free(ModeFree("def f(:\n"), "A()")
    assert not model_is_mode_free(ModeFree("x = 1\n"), "A(")
    deep = "import torch.nn as nn\nmodel = " + "nn.Sequential(" * 200 + "nn.Linear(1, 1)" + ")" * 200 + "\n"
    assert not model_is_mode_free(ModeFree(deep), "nn.Sequential(" * 200 + "nn.Linear(1, 1)" + ")" * 200)
