"""ruff's conventions on the command line (issue 8, item 4): fix reporting flags, --add-noqa,
configuration files and `extend`, `tensorlint config`, "did you mean", no abbreviated
options, 80 columns and escaped control characters. In-process (`cli.main`) to stay fast."""

from __future__ import annotations

import json
import textwrap

import pytest

from tensorlint.cli import main

BUG = textwrap.dedent(
    """\
    import torch

    def copy(x: torch.Tensor):
        a = torch.tensor(x)
        b = torch.dropout(x, p=0.5, training=True)
        return a, b
    """
)
CLEAN = "import torch\n\ndef copy(x: torch.Tensor):\n    return x.detach().clone()\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "bug.py").write_text(BUG)
    monkeypatch.chdir(tmp_path)
    for name in ("TENSORLINT_OUTPUT_FORMAT", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys, *args, isolated=True):
    code = main(["check", *(["--isolated"] if isolated else []), "--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


# --- fixes: --fix-only, --show-fixes, --exit-non-zero-on-fix ---------------------------

def test_fix_only_fixes_and_reports_no_remaining_findings(project, capsys):
    (project / "bug.py").write_text(BUG + "c = torch.dropout(torch.zeros(1), p=0.5)\n")
    code, out, _ = run(capsys, "--fix-only", "--select", "TL001")
    assert code == 0
    assert "x.detach().clone()" in (project / "bug.py").read_text()
    assert out.strip() == "Fixed 1 finding."
    code, out, _ = run(capsys, "--fix-only", "--select", "TL001", "--exit-non-zero-on-fix")
    assert code == 0 and "No fixes" not in out  # nothing left to fix: exit 0, nothing printed


def test_exit_non_zero_on_fix(project, capsys):
    code, _, _ = run(capsys, "--fix", "--select", "TL001", "--exit-non-zero-on-fix")
    assert code == 1  # a fix was applied, although no finding remains
    code, _, _ = run(capsys, "--fix", "--select", "TL001", "--exit-non-zero-on-fix")
    assert code == 0  # nothing to fix any more


def test_show_fixes_lists_per_file_and_rule(project, capsys):
    (project / "two.py").write_text(BUG)
    code, out, _ = run(capsys, "--fix", "--show-fixes", "--select", "TL001,TL302")
    assert code == 0, out
    assert "Fixed 4 findings:" in out
    assert "- bug.py:\n    1 × TL001 (tensor-copy-construct)\n    1 × TL302 (torch-api-bad-keyword)" in out
    assert "- two.py:" in out


# --- --add-noqa ----------------------------------------------------------------------------

def test_add_noqa_suppresses_every_finding_and_is_idempotent(project, capsys):
    (project / "bug.py").write_text(textwrap.dedent(
        """\
        import torch

        def f(x: torch.Tensor):
            a = torch.tensor(x)  # noqa: E501
            b = torch.tensor(x)  # keep this note
            c = torch.tensor(
                x)
            d = (torch.tensor(x), '''
            text''')
            e = torch.tensor(x) + \\
                1
            return a, b, c, d, e
        """
    ))
    code, _, err = run(capsys, "--add-noqa", "--select", "TL001")
    assert code == 0
    assert "Added 3 noqa directives." in err
    text = (project / "bug.py").read_text()
    assert "a = torch.tensor(x)  # noqa: E501, TL001\n" in text  # merged into the existing list
    assert "b = torch.tensor(x)  # keep this note  # noqa: TL001\n" in text
    assert "c = torch.tensor(  # noqa: TL001\n" in text  # on the row the suppression is read from
    # a line ending inside a string, or with a backslash, cannot take a comment: reported, left alone
    assert "bug.py:8: no noqa added (the line ends inside a string" in err
    assert "bug.py:10: no noqa added (the line ends with a backslash continuation)" in err
    assert "d = (torch.tensor(x), '''\n" in text and "e = torch.tensor(x) + \\\n" in text
    compile(text, "bug.py", "exec")
    code, out, _ = run(capsys, "--select", "TL001,TL900", "--output-format", "concise")
    assert code == 1 and sorted(line.split(":")[1] for line in out.splitlines() if "TL001" in line) == ["10", "8"]
    assert "TL900" not in out  # every added code is used
    code, _, err = run(capsys, "--add-noqa", "--select", "TL001")
    assert "Added 0 noqa directives." in err and (project / "bug.py").read_text() == text


def test_add_noqa_refuses_to_combine_with_fix(project, capsys):
    code, _, err = run(capsys, "--add-noqa", "--fix")
    assert code == 2 and "--add-noqa cannot be combined with --fix" in err


# --- configuration files -------------------------------------------------------------------

def test_tensorlint_toml_precedence_in_one_folder(project, capsys):
    (project / "pyproject.toml").write_text('[tool.tensorlint]\nselect = ["TL302"]\n')
    (project / "tensorlint.toml").write_text('select = ["TL001"]\n')
    code, out, _ = run(capsys, "--output-format", "concise", isolated=False)
    assert "TL001" in out and "TL302" not in out  # tensorlint.toml beats pyproject.toml
    (project / ".tensorlint.toml").write_text('select = ["TL302"]\n')
    code, out, _ = run(capsys, "--output-format", "concise", isolated=False)
    assert "TL302" in out and "TL001" not in out  # .tensorlint.toml beats both


def test_closer_pyproject_beats_a_tensorlint_toml_further_up(project, capsys, monkeypatch):
    (project / "tensorlint.toml").write_text('select = ["TL001"]\n')
    sub = project / "sub"
    sub.mkdir()
    (sub / "bug.py").write_text(BUG)
    (sub / "pyproject.toml").write_text('[tool.tensorlint]\nselect = ["TL302"]\n')
    monkeypatch.chdir(sub)
    code, out, _ = run(capsys, "--output-format", "concise", isolated=False)
    assert "TL302" in out and "TL001" not in out
    # a pyproject.toml without [tool.tensorlint] is not a configuration: the search goes on up
    (sub / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    code, out, _ = run(capsys, "--output-format", "concise", isolated=False)
    assert "TL001" in out and "TL302" not in out


def test_tensorlint_toml_takes_top_level_keys_only(project, capsys):
    (project / "tensorlint.toml").write_text('[tool.tensorlint]\nselect = ["TL001"]\n')
    code, _, err = run(capsys, isolated=False)
    assert code == 2 and "top-level keys" in err


def test_extend_chains_relative_to_each_file(project, capsys, monkeypatch):
    (project / "pyproject.toml").write_text(
        '[tool.tensorlint]\nselect = ["TL001", "TL302"]\nper-file-ignores = {"gen_*.py" = ["TL001"]}\n'
    )
    (project / "team").mkdir()
    (project / "team" / "base.toml").write_text('extend = "../pyproject.toml"\nignore = ["TL302"]\n')
    app = project / "app"
    app.mkdir()
    (app / "bug.py").write_text(BUG)
    (app / "gen_x.py").write_text(BUG)
    (app / ".tensorlint.toml").write_text('extend = "../team/base.toml"\nextend-select = ["TL101"]\n')
    monkeypatch.chdir(app)
    code, out, _ = run(capsys, "--output-format", "concise", isolated=False)
    lines = out.splitlines()
    assert any(line.startswith("bug.py:4:9: TL001") for line in lines)
    assert not any("TL302" in line for line in lines)  # ignored by the middle file
    assert not any(line.startswith("gen_x.py") and "TL001" in line for line in lines)  # per-file-ignores kept
    # `select` in the nearest file drops the selection it extends (as --select on the command line)
    (app / ".tensorlint.toml").write_text('extend = "../team/base.toml"\nselect = ["TL302"]\n')
    code, out, _ = run(capsys, "--output-format", "concise", isolated=False)
    assert "TL302" in out and "TL001" not in out.replace("gen_x", "")


def test_extend_cycle_and_missing_file_exit_2(project, capsys):
    (project / "a.toml").write_text('extend = "b.toml"\n')
    (project / "b.toml").write_text('extend = "a.toml"\n')
    (project / "tensorlint.toml").write_text('extend = "a.toml"\n')
    code, _, err = run(capsys, isolated=False)
    assert code == 2 and "circular `extend`" in err and "a.toml -> " in err and "Traceback" not in err
    (project / "tensorlint.toml").write_text('extend = "nowhere.toml"\n')
    code, _, err = run(capsys, isolated=False)
    assert code == 2 and "nowhere.toml" in err


# --- did you mean ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "config, expected",
    [
        ('extend-exlude = ["x"]', "unknown key `extend-exlude` (did you mean `extend-exclude`?)"),
        ('select = ["tensor-copy-constuct"]', "did you mean `tensor-copy-construct`"),
        ('ignore = ["TL00l"]', "did you mean `TL001`"),
        ('[dropout-training-default]\nsafe-fix-method = ["forward"]', "did you mean `safe-fix-methods`?"),
        ('[dropout-training-defualt]\nsafe-fix-methods = ["forward"]', "did you mean `dropout-training-default`?"),
        ('[TL101]\nsafe-fix-methods = ["forward"]', "rule options go under the rule's name: `dropout-training-default`"),
    ],
)
def test_config_typos_get_a_suggestion(project, capsys, config, expected):
    (project / "tensorlint.toml").write_text(config + "\n")
    code, _, err = run(capsys, isolated=False)
    assert code == 2 and expected in err, err


def test_cli_typos_get_a_suggestion_and_no_abbreviations(project, capsys):
    for argv, expected in (
        (["check", "--fi"], "did you mean `--fix`?"),
        (["check", "--statistic"], "did you mean `--statistics`?"),
        (["check", "--select", "TL00l"], "did you mean `TL001`"),
        (["check", "--output-format", "jsonl"], "did you mean `json"),
        (["rule", "tensor-copy-constuct"], "did you mean `tensor-copy-construct`"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, (argv, err)
    # an abbreviation is never taken for the long option
    assert main(["check", "--isolated", "--no-cache", "--exit-z"]) == 2
    assert "unrecognized arguments: --exit-z" in capsys.readouterr().err


# --- tensorlint config -------------------------------------------------------------------------

def test_config_command_lists_and_explains(capsys):
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    for key in ("select", "extend-exclude", "per-file-ignores", "extend", "dropout-training-default.safe-fix-methods"):
        assert f"\n{key}\n" in f"\n{out}"
    assert main(["config", "file-timeout"]) == 0
    out = capsys.readouterr().out
    assert "Type: number" in out and "Default: 5" in out and "CPU seconds" in out
    assert main(["config", "dropout-training-default", "--output-format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dropout-training-default.safe-fix-methods"]["default"] == '["forward"]'
    assert main(["config", "extnd"]) == 2
    assert "did you mean `extend`?" in capsys.readouterr().err


def test_every_documented_setting_is_accepted(project, capsys):
    """`tensorlint config` lists nothing the parser would reject (and the other way round)."""
    from tensorlint.config import SETTINGS, parse_table

    values = {"list[str]": [], "bool": True, "str": "2.5", "number": 1, "table of glob -> list[str]": {}}
    for key, (kind, _, _) in SETTINGS.items():
        if key == "extend":
            continue
        parse_table({key: values[kind]}, project / "tensorlint.toml")


# --- 80 columns and control characters -----------------------------------------------------------

def test_rules_table_fits_80_columns_without_cutting_names(capsys, monkeypatch):
    from tensorlint.catalog import all_rules

    monkeypatch.setenv("COLUMNS", "80")
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out
    names = {line.split()[1] for line in out.splitlines()[1:] if line[:2] == "TL"}
    assert names == {r.name for r in all_rules()}


def test_control_characters_from_the_file_are_escaped(project, capsys):
    (project / "bug.py").write_text("import torch\nx = torch.zeros(2)\ny = torch.tensor(x)  # \x1b[2J\x1b]0;pwned\x07\n")
    code, out, _ = run(capsys, "--select", "TL001")
    assert code == 1
    assert "\x1b" not in out and "\x07" not in out
    assert "# \\x1b[2J\\x1b]0;pwned\\x07" in out
    # the caret still lines up under the call (escapes come after it on the line)
    lines = out.splitlines()
    code_line = next(line for line in lines if line.startswith("3 | "))
    caret = lines[lines.index(code_line) + 1]
    assert code_line.index("torch.tensor") == caret.index("^")


def test_binary_bytes_in_a_tl000_snippet_are_escaped(project, capsys):
    (project / "bug.py").write_bytes(b"import torch\nx = \x07\x1b\x00 torch\n")
    code, out, _ = run(capsys)
    assert "TL000" in out
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out


def test_full_format_says_the_fix_hint_once(project, capsys):
    code, out, _ = run(capsys, "--select", "TL001")
    header = next(line for line in out.splitlines() if "TL001" in line)
    assert header.endswith("drops its autograd history")  # `; use .detach().clone()` moved to help
    assert "= help: Replace with `.detach().clone()`" in out
    code, out, _ = run(capsys, "--select", "TL001", "--output-format", "concise")
    assert out.splitlines()[0].endswith("use `.detach().clone()`")  # no help line there: kept


def test_add_noqa_goes_before_an_explanation(project, capsys):
    (project / "bug.py").write_text("import torch\nx = torch.zeros(2)\ny = torch.tensor(x)  # noqa: E501 - long\n")
    code, _, _ = run(capsys, "--add-noqa", "--select", "TL001")
    assert code == 0
    assert (project / "bug.py").read_text().endswith("y = torch.tensor(x)  # noqa: E501, TL001 - long\n")
    code, out, _ = run(capsys, "--select", "TL001,TL900")
    assert code == 0, out


def test_add_noqa_leaves_notebooks_alone_and_says_so(project, capsys):
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": ["import torch\n", "x = torch.zeros(2)\n", "y = torch.tensor(x)"]}]
    notebook = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    (project / "nb.ipynb").write_text(notebook)
    code, _, err = run(capsys, "--add-noqa", "--select", "TL001", "nb.ipynb")
    assert code == 0
    assert "nb.ipynb: --add-noqa does not edit notebooks; 1 finding stays" in err
    assert (project / "nb.ipynb").read_text() == notebook
