"""TL900 unused-noqa: unknown codes always, unused codes of enabled rules, never other tools' codes."""

from __future__ import annotations

import textwrap

from lintutil import fix, lint

BUG = "y = torch.tensor(x)"


def src(*lines: str) -> str:
    return "import torch\nx = torch.zeros(2)\n" + "\n".join(lines) + "\n"


def tl900(code: str, select=("ALL",)):
    return [d for d in lint(code, select) if d.code == "TL900"]


def test_misspelt_code_is_unknown_and_the_finding_stays():
    found = lint(src(BUG + "  # noqa: TL00l"))
    assert sorted(d.code for d in found) == ["TL001", "TL900"]
    (d,) = [d for d in found if d.code == "TL900"]
    assert "unknown: `TL00l`" in d.message and "did you mean `TL001`" in d.message
    assert (d.location.row, d.location.column) == (3, 22)


def test_used_code_is_not_flagged():
    assert lint(src(BUG + "  # noqa: TL001")) == []
    assert lint(src(BUG + "  # noqa: tensor-copy-construct")) == []
    assert lint(src(BUG + "  # noqa: tl001")) == []  # codes are case-insensitive, as the suppression


def test_code_that_suppresses_nothing_is_unused():
    (d,) = tl900(src("y = x.detach().clone()  # noqa: TL001"))
    assert d.message == "Unused `noqa` directive (unused: `TL001`)"


def test_partly_used_directive_names_only_the_unused_code():
    (d,) = tl900(src(BUG + "  # noqa: TL001, TL101"))
    assert "unused: `TL101`" in d.message and "TL001`" not in d.message.replace("TL101", "")


def test_other_tools_codes_and_bare_noqa_are_never_judged():
    assert tl900(src("y = x  # noqa: E501, F401, BLE001")) == []
    assert tl900(src("y = x  # noqa")) == []
    assert tl900(src("y = x  # noqa: F401 - re-exported for the public API")) == []


def test_codes_of_rules_not_enabled_are_left_alone():
    # TL101 is not selected in this run: another run may need the suppression
    assert tl900(src("y = x  # noqa: TL101"), select=("TL001", "TL900")) == []
    # ... but an unknown code is unknown in every run
    assert len(tl900(src("y = x  # noqa: TL1O1"), select=("TL001", "TL900"))) == 1


def test_prefix_and_misspelt_name_are_unknown():
    (d,) = tl900(src(BUG + "  # noqa: TL1"))
    assert "unknown: `TL1`" in d.message
    (d,) = tl900(src(BUG + "  # noqa: tensor-copy-constuct"))
    assert "did you mean `tensor-copy-construct`" in d.message


def test_directive_listing_tl900_is_left_alone_and_file_wide_noqa_suppresses():
    assert tl900(src("y = x  # noqa: TL001, TL900")) == []
    assert tl900("# tensorlint: noqa: TL900\n" + src("y = x  # noqa: TL001")) == []


def test_file_wide_directive_is_checked_for_unknown_codes_only():
    assert tl900("# tensorlint: noqa: TL101\n" + src("y = x")) == []
    (d,) = tl900("# tensorlint: noqa: TL10l\n" + src("y = x"))
    assert "unknown: `TL10l`" in d.message and d.location.row == 1


def test_look_alikes_are_not_directives():
    assert tl900(src('y = "# noqa: TL001"')) == []  # inside a string
    assert tl900(src("y = x  # no qa: TL001")) == []
    assert tl900(src("y = x  # TL001 is not a directive")) == []


def test_unparsable_file_is_not_judged():
    assert [d.code for d in lint("import torch\ndef f(:\n    pass  # noqa: TL001\n")] == ["TL000"]


def test_fix_removes_the_unused_code_and_keeps_the_rest():
    assert fix(src("y = x  # noqa: TL001, E501"), select=("ALL",)).endswith("y = x  # noqa: E501\n")
    assert fix(src(BUG + "  # noqa: TL001, TL101"), select=("ALL",)).endswith(BUG + "  # noqa: TL001\n")


def test_fix_removes_a_directive_that_suppresses_nothing():
    assert fix(src("y = x  # noqa: TL001")).endswith("y = x\n")
    assert fix(src("y = x  # a note  # noqa: TL101")).endswith("y = x  # a note\n")
    # a comment line holding only the directive goes, line and all
    code = textwrap.dedent(
        """\
        import torch
        def f(x):
            # noqa: TL001
            return x
        """
    )
    assert fix(code) == "import torch\ndef f(x):\n    return x\n"


def test_no_fix_when_text_follows_the_codes():
    (d,) = tl900(src("y = x  # noqa: TL001; kept for the next refactor"))
    assert d.fix is None


def test_misspelt_code_fix_removes_it_and_then_the_real_finding_is_fixed():
    # with the unknown code gone, TL001's safe fix applies: what the author meant is visible
    assert fix(src(BUG + "  # noqa: TL00l")).endswith("y = x.detach().clone()\n")


def test_codes_end_where_the_explanation_starts():
    (d,) = tl900(src("y = x  # noqa: TL001 - kept for the Tacotron2 prenet"))
    assert d.message == "Unused `noqa` directive (unused: `TL001`)"
    assert d.fix is None  # removing the directive would leave the explanation dangling
    assert d.end_location.column == len("y = x  # noqa: TL001") + 1
    assert fix(src(BUG + "  # noqa: TL001, TL101 - why")).endswith(BUG + "  # noqa: TL001 - why\n")
    # words of the explanation are not codes: `TL1O1` after the prose is not judged
    assert tl900(src(BUG + "  # noqa: TL001 - see TL1O1 notes")) == []
