"""The engine and the shared semantics: import resolution, suppression, unreadable input."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from lintutil import codes, fix, lint, settings_for
from tensorlint.engine import lint_source
from tensorlint.fixer import apply_edits, fix_text
from tensorlint.semantics.context import FileContext
from tensorlint.semantics.ternary import Ternary


def _resolve_last_call(code: str):
    """Qualified name and tensor kind of the argument of the last call, seen during traversal."""
    module = cst.parse_module(textwrap.dedent(code))
    ctx = FileContext("t.py", module)
    seen = []

    class Probe(cst.CSTVisitor):
        def on_visit(self, node):
            ctx.scopes.enter(node)
            is_probe = isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "f"
            if isinstance(node, cst.Call) and (is_probe or not any(p for p, _ in seen)):
                arg = node.args[0].value if node.args else None
                result = (ctx.qualified_name(node.func), ctx.tensor_kind(arg) if arg is not None else None)
                seen.append((is_probe, result))
            return True

        def on_leave(self, node):
            ctx.scopes.leave(node)

    module.visit(Probe())
    probes = [r for is_probe, r in seen if is_probe]
    return probes[-1] if probes else seen[-1][1]


@pytest.mark.parametrize(
    "code, expected",
    [
        ("import torch as th\nth.tensor(1)", "torch.tensor"),
        ("from torch import tensor\ntensor(1)", "torch.tensor"),
        ("import torch.nn.functional as F\nF.dropout(1)", "torch.nn.functional.dropout"),
        ("from torch.nn import functional as nnf\nnnf.dropout(1)", "torch.nn.functional.dropout"),
        ("from torch.nn.functional import dropout\ndropout(1)", "torch.nn.functional.dropout"),
        ("import torch.nn.functional\ntorch.nn.functional.dropout(1)", "torch.nn.functional.dropout"),
        ("import torch.nn.functional as F\ndrop = F.dropout\ndrop(1)", "torch.nn.functional.dropout"),
        ("from torch.nn.modules.dropout import Dropout\nDropout(1)", "torch.nn.Dropout"),
        ("try:\n    import torch\nexcept ImportError:\n    torch = None\ntorch.tensor(1)", "torch.tensor"),
    ],
)
def test_import_styles_resolve(code, expected):
    assert _resolve_last_call(code)[0] == expected


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ntorch = object()\ntorch.tensor(1)",  # re-bound to something else
        "import torch\ndef f(torch):\n    torch.tensor(1)",  # shadowed by a parameter
        "from torch import tensor\ndef tensor(x):\n    return x\ntensor(1)",  # a local function
        "from torch import *\ntensor(1)",  # star imports are not guessed
    ],
)
def test_shadowed_or_unknown_names_do_not_resolve(code):
    assert _resolve_last_call(code)[0] != "torch.tensor"


@pytest.mark.parametrize(
    "code, kind",
    [
        ("import torch\nx = torch.randn(3)\nf(x)", Ternary.YES),
        ("import torch\ndef g(x: torch.Tensor):\n    f(x)", Ternary.YES),
        ("from torch import Tensor\ndef g(x: Tensor):\n    f(x * 2 + 1)", Ternary.YES),
        ("import torch\nx = torch.zeros(2)\nf(x.float().detach())", Ternary.YES),
        ("import torch\nx = torch.zeros(2)\nf(x[0])", Ternary.YES),
        ("import torch\nx = torch.zeros(2)\nf(x.tolist())", Ternary.NO),
        ("import torch\nx = torch.zeros(2)\nf(x.item())", Ternary.NO),
        ("import torch\nx = torch.zeros(2)\nf(x.shape)", Ternary.NO),
        ("import numpy as np\nf(np.zeros(3))", Ternary.NO),
        ("f([1, 2, 3])", Ternary.NO),
        ("def g(x):\n    f(x)", Ternary.UNKNOWN),
        ("import torch\nfrom typing import Optional\ndef g(x: Optional[torch.Tensor]):\n    f(x)", Ternary.UNKNOWN),
        ("import torch\nx = torch.zeros(2)\nif c:\n    x = [1]\nf(x)", Ternary.UNKNOWN),
    ],
)
def test_tensor_inference_is_three_valued(code, kind):
    assert _resolve_last_call(code)[1] is kind


def test_module_methods_of_subclasses_defined_in_file():
    code = """
        import torch.nn as nn
        import torch.nn.functional as F
        class A(nn.Module):
            pass
        class B(A):
            pass
        class C(B):
            def forward(self, x):
                return F.dropout(x)
        class NotAModule:
            def forward(self, x):
                return F.dropout(x)
    """
    found = lint(code, select=["TL101"])
    assert [d.location.row for d in found] == [10]  # C.forward only


def test_line_noqa_variants():
    code = """
        import torch
        x = torch.zeros(2)
        a = torch.tensor(x)  # noqa
        b = torch.tensor(x)  # noqa: TL001
        c = torch.tensor(x)  # NOQA:tensor-copy-construct
        d = torch.tensor(x)  # noqa: E501
        e = torch.tensor(x)
    """
    assert [d.location.row for d in lint(code)] == [7, 8]


def test_file_level_noqa():
    code = "# tensorlint: noqa: TL001\nimport torch\nx = torch.zeros(2)\ny = torch.tensor(x)\n"
    assert codes(code) == []
    code_all = "import torch\n# tensorlint: noqa\nx = torch.zeros(2)\ny = torch.tensor(x)\n"
    assert codes(code_all) == []
    other = "# tensorlint: noqa: TL101\nimport torch\nx = torch.zeros(2)\ny = torch.tensor(x)\n"
    assert codes(other) == ["TL001"]


def test_syntax_error_is_a_finding_with_position():
    found = lint("import torch\ndef f(x)\n    return x\n")
    assert [d.code for d in found] == ["TL000"]
    assert found[0].location.row == 2
    assert "SyntaxError" in found[0].message


def test_files_without_torch_are_not_parsed():
    assert lint("def f(x)\n    broken(\n") == []


def test_trailing_blank_line_roundtrip_bug_never_corrupts_a_fix():
    """libcst can print 'A\\n\\n  # c\\n' back as 'A\\n  # c\\n'; fixes must keep the original bytes."""
    source = "import torch\nx = torch.zeros(2)\ny = torch.tensor(x)\n\n  # trailing\n"
    outcome = fix_text(source, "t.py", settings_for(), unsafe=False)
    assert outcome.text.endswith("\n\n  # trailing\n") or outcome.text == source
    assert "torch.zeros(2)\n" in outcome.text


def test_overlapping_fixes_are_applied_over_several_rounds():
    source = "import torch\nx = torch.zeros(2)\ny = torch.tensor(torch.tensor(x))\n"
    settings = settings_for(["TL001"])
    outcome = fix_text(source, "t.py", settings, unsafe=False)
    assert outcome.applied == 2  # the outer fix first; the inner one in the next round
    assert outcome.text.endswith("y = x.detach().clone().detach().clone()\n")
    assert lint_source(outcome.text, "t.py", settings) == []


def test_a_fix_that_would_break_syntax_is_refused(monkeypatch):
    source = "import torch\nx = torch.zeros(2)\ny = torch.tensor(x)\n"
    settings = settings_for()
    import tensorlint.fixer as fixer

    monkeypatch.setattr(fixer, "apply_edits", lambda text, diags, unsafe: (text + "def (:\n", 1))
    outcome = fixer.fix_text(source, "t.py", settings, unsafe=False)
    assert outcome.text == source
    assert outcome.error and "invalid code" in outcome.error


def test_apply_edits_skips_unsafe_without_flag():
    code = textwrap.dedent(
        """
        import torch.nn as nn
        import torch.nn.functional as F
        class M(nn.Module):
            def helper(self, x):
                return F.dropout(x)
        """
    )
    diags = lint_source(code, "t.py", settings_for(["TL101"]))
    assert diags and diags[0].fix.applicability.value == "unsafe"
    assert apply_edits(code, diags, unsafe=False) == (code, 0)
    fixed, count = apply_edits(code, diags, unsafe=True)
    assert count == 1 and "F.dropout(x, training=self.training)" in fixed


def test_noqa_text_inside_strings_does_not_suppress():
    """Review finding: a docstring line `# tensorlint: noqa` silenced the whole file."""
    code = 'import torch\nDOC = """\n# tensorlint: noqa\n"""\nx = torch.zeros(2)\ny = torch.tensor(x), "# noqa"\n'
    assert codes(code) == ["TL001"]


def test_noqa_on_a_syntax_error_file_still_works():
    assert codes("import torch\n# tensorlint: noqa\ndef f(:\n") == []


def test_deeply_nested_generated_code_is_checked_not_crashed():
    """Review finding: 1,500 terms in one expression raised RecursionError (exit 2).
    (At 3,000 terms CPython itself refuses to compile the file: that is TL000, see
    tests/test_reliability.py.)"""
    terms = " + ".join(["x"] * 2500)
    code = f"import torch\ndef f(x: torch.Tensor):\n    y = torch.tensor(x)\n    return torch.log({terms})\n"
    assert codes(code) == ["TL001"]


def test_appended_argument_keeps_comments_on_their_lines():
    """Review finding: the TL101 fix moved `# keep` from `p=0.1,` to the new argument."""
    source = textwrap.dedent(
        """\
        import torch.nn as nn
        import torch.nn.functional as F
        class M(nn.Module):
            def forward(self, x):
                b = F.dropout(
                    x,
                    p=0.1,  # keep
                )
                c = F.dropout(x, p=0.1  # keep3
                )
                return b, c
        """
    )
    fixed = fix(source, select=["TL101"])
    assert "            p=0.1,  # keep\n            training=self.training,\n        )" in fixed
    assert "c = F.dropout(x, p=0.1, training=self.training  # keep3\n" in fixed
