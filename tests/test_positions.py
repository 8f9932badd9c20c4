"""Positions printed per statement (tensorlint/positions.py) are libcst's own positions."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from lintutil import REPO
from tensorlint.positions import _statement_positions, node_positions
from tensorlint.walk import Walker

TRICKY = {
    "decorators": "import torch\n\n# a comment\n\n@dec  # c\n# between\n@other(\n    1)\nasync def f(x):\n    return torch.tensor(x)\n",
    "semicolons": "import torch; x = torch.ones(2); y = torch.tensor(x)\nz = 1\n",
    "header": "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n\n\n'''doc'''\nimport torch\nx = torch.tensor(torch.ones(1))\n",
    "no trailing newline": "import torch\nx = torch.tensor(torch.ones(1))",
    "crlf": "import torch\r\n\r\n# c\r\nx = torch.tensor(\r\n    torch.ones(1))\r\n",
    "continuation": "import torch\nx = \\\n    torch.tensor(torch.ones(1))\nif x:\n    pass\n",
    "class": "import torch\n\n\n@dataclass\nclass A(torch.nn.Module):\n    # c\n    def f(self):\n        '''d'''\n        return torch.tensor(self.x)\n\n\nclass B: pass\n",
    "tabs and form feed": "import torch\n\x0c\nif True:\n\tx = torch.tensor(torch.ones(1))\n\ty = 2\n",
    "trailing blank lines": "import torch\nx = torch.tensor(torch.ones(1))\n\n\n\n",
    "strings": 'import torch\ns = """\nline\n"""\nt = f"{torch.ones(1)}"\nu = torch.tensor(s)\n',
}


def _visited_nodes(root: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes rules see: the engine's walk (trivia left out)."""
    out: list[cst.CSTNode] = []
    Walker(lambda cls: (out.append,), lambda cls: ()).walk(root)
    return out


def _check_same(source: str) -> int:
    module = cst.parse_module(source)
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    checked = 0
    for statement in module.body:
        nodes = _visited_nodes(statement)
        mine = _statement_positions(module, source, set(nodes))
        assert mine is not None, "a statement of an ordinary file fell back to printing the module"
        assert all(node in mine for node in nodes)
        for node, where in mine.items():  # trivia inside the statement too
            assert where == full[node], (type(node).__name__, where, full[node])
            checked += 1
    return checked


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_positions_match_libcst_on_tricky_layouts(name):
    assert _check_same(TRICKY[name]) > 0


@pytest.mark.parametrize("path", ["tensorlint/engine.py", "tensorlint/semantics/facts.py", "runtime/monitor.py"])
def test_positions_match_libcst_on_real_files(path):
    assert _check_same((REPO / path).read_text(encoding="utf-8")) > 1000


def test_reports_verified_only_when_the_statement_prints_back():
    source = TRICKY["semicolons"]
    module = cst.parse_module(source)
    call = module.body[0].body[2].value  # the torch.tensor call
    positions, verified = node_positions(module, source, [call])
    assert verified and positions[call].start.line == 1 and positions[call].start.column == 37
    # a statement that does not print back to the text given: the full print is used, and
    # not trusted for fixes
    positions, verified = node_positions(module, source.replace("y = ", "y  = "), [call])
    assert not verified and positions[call].start.column == 37


def test_a_node_outside_every_statement_falls_back():
    source = "# only a comment\n"
    module = cst.parse_module(source)
    assert _statement_positions(module, source, {module}) is None
    positions, verified = node_positions(module, source, [module])
    assert positions[module].start.line == 1 and verified


def test_only_statements_holding_reported_nodes_are_printed():
    source = "".join(f"x{i} = {i}\n" for i in range(200)) + "import torch\ny = torch.tensor(x1)\n"
    module = cst.parse_module(source)
    call = module.body[-1].body[0].value
    positions = _statement_positions(module, source, {call})
    assert positions[call].start.line == 202
    assert module.body[0] not in positions and len(positions) < 40


def _check_each_node_alone(source: str, every: int = 7) -> int:
    """Every `every`-th node on its own: the innermost method or statement is printed."""
    module = cst.parse_module(source)
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = _visited_nodes(module)[1::every]
    for node in nodes:
        mine = _statement_positions(module, source, {node})
        assert mine is not None and mine[node] == full[node], type(node).__name__
    return len(nodes)


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_each_node_alone_on_tricky_layouts(name):
    assert _check_each_node_alone(TRICKY[name], every=1) > 0


def test_each_node_alone_in_a_real_file():
    assert _check_each_node_alone((REPO / "tensorlint" / "semantics" / "facts.py").read_text(encoding="utf-8"), 61) > 50


def test_a_finding_in_one_method_prints_that_statement_only():
    methods = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(100))
    source = f"import torch\n\n\nclass A:\n    # c\n{methods}    @property\n    def last(self):\n        return torch.tensor(self.x)\n"
    module = cst.parse_module(source)
    method = module.body[1].body.body[-1]
    call = method.body.body[0].body[0].value
    positions = _statement_positions(module, source, {call})
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert positions[call] == full[call] and positions[method.body.body[0]] == full[method.body.body[0]]
    assert method not in positions and module.body[1] not in positions and module.body[1].body.body[0] not in positions
    # a finding on the decorated method itself prints the method, decorator included
    positions = _statement_positions(module, source, {method})
    assert positions[method] == full[method] and positions[method.decorators[0]] == full[method.decorators[0]]
