"""Jupyter notebooks: cells as one program, IPython syntax blanked, positions per cell,
fixes written back byte-exact, broken notebooks as findings (tensorlint/notebook.py)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from lintutil import REPO, run_cli, settings_for
from tensorlint.cache import Cache
from tensorlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
from tensorlint.notebook import (
    Notebook,
    NotebookError,
    apply_fixes_to_notebook,
    cells_to_source,
    fix_cells,
    lint_cells,
    lint_notebook,
    python_text,
)
from tensorlint.runner import check_files

FIXTURES = REPO / "tests" / "fixtures" / "notebooks"
LOG_SOFTMAX = "y = torch.log(torch.softmax(x, dim=1))\n"


def notebook(*sources, indent=1, kernel="python", string_source=False, trailer="\n", ascii=False) -> str:
    cells = []
    for source in sources:
        if source.startswith("#md "):
            cells.append({"cell_type": "markdown", "metadata": {}, "source": source[4:].splitlines(True)})
            continue
        cells.append({
            "cell_type": "code", "execution_count": None, "metadata": {},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": ["out\n"]}],
            "source": source if string_source else source.splitlines(True),
        })
    data = {"cells": cells, "metadata": {"kernelspec": {"language": kernel, "name": kernel}}, "nbformat": 4,
            "nbformat_minor": 5}
    return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=ascii) + trailer


def codes_at(found: list[Diagnostic]) -> list[tuple]:
    return [(d.code, d.cell, d.location.row, d.location.column) for d in found]


# --- cells are one program, positions are per cell --------------------------------

def test_positions_are_cell_relative_and_cells_count_markdown():
    text = notebook("#md # title\n", "import torch\nx = torch.randn(2, 3)\n", "z = 1\n" + LOG_SOFTMAX)
    found = lint_notebook(text, "nb.ipynb", settings_for())
    assert codes_at(found) == [("TL203", 3, 2, 5)]
    assert found[0].position() == "cell 3:2:5"
    assert found[0].fix.edits[0].location == Location(2, 5)  # edits are cell-relative too


def test_eval_in_an_earlier_cell_counts_for_inference_later():
    setup = "import torch\nfrom torch import nn\nmodel = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))\n"
    infer = "with torch.no_grad():\n    out = model(torch.randn(1, 2))\n"
    planted = lint_cells([setup, "print('train')\n", infer], "nb.ipynb", settings_for(["TL103"]))
    assert codes_at(planted) == [("TL103", 3, 2, 11)]
    clean = lint_cells([setup, "model.eval()\n", "print(1)\n", infer], "nb.ipynb", settings_for(["TL103"]))
    assert clean == []


def test_a_future_import_atop_a_later_cell_is_not_a_syntax_error():
    cells = ["import torch\nx = torch.randn(2, 3)\n", "from __future__ import annotations\n" + LOG_SOFTMAX]
    found = lint_cells(cells, "nb.ipynb", settings_for())
    assert codes_at(found) == [("TL203", 2, 2, 5)]


def test_cells_to_source_maps_rows_back():
    source, line_map = cells_to_source([(2, "a = 1\nb = 2"), (5, "c = 3\n")])
    assert source == "a = 1\nb = 2\nc = 3\n"
    assert [line_map.locate(r) for r in (1, 2, 3)] == [(2, 1), (2, 2), (5, 1)]


def test_noqa_works_per_line_inside_a_cell():
    cell = "import torch\nx = torch.randn(2)\na = torch.log(torch.softmax(x, 0))  # noqa: TL203\n" \
           "b = torch.log(torch.softmax(x, 0))\n"
    found = lint_cells([cell], "nb.ipynb", settings_for(["TL203"]))
    assert codes_at(found) == [("TL203", 1, 4, 5)]


def test_a_cells_last_expression_is_displayed_not_discarded():
    from tensorlint.rules import all_rules

    if "TL004" not in {rule.code for rule in all_rules()}:
        pytest.skip("TL004 (tensor-result-discarded) is not in this tree")
    setup = "import torch\nx = torch.randn(2, 3)\n"
    shown = lint_cells([setup, "x.view(3, 2)\n"], "nb.ipynb", settings_for(["TL004"]))
    assert shown == []  # Jupyter prints the view: not a no-op
    planted = lint_cells([setup, "x.view(3, 2)\nprint(x)\n", "x.view(3, 2);\n"], "nb.ipynb", settings_for(["TL004"]))
    assert codes_at(planted) == [("TL004", 2, 1, 1), ("TL004", 3, 1, 1)]


# --- IPython syntax ---------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "%matplotlib inline", "!pip install torch", "files = !ls", "t = %timeit -o f()", "?torch.log",
    "torch.log?", "torch.log??", "!!ls", "a, b = %sx ls", "torch.*Tensor?",
])
def test_magics_are_blanked_row_for_row(line):
    text, blanked, _, _ = python_text(f"import torch\n{line}\nx = 1\n")
    assert text == "import torch\npass\nx = 1\n" and blanked == {2}


def test_indented_magic_keeps_its_block_valid():
    text, blanked, _, _ = python_text("for i in range(3):\n    %time f(i)\n")
    assert text == "for i in range(3):\n    pass\n" and blanked == {2}
    compile(text, "cell", "exec")


def test_magic_continuation_lines_are_blanked():
    text, blanked, _, _ = python_text("!pip install \\\n    torch\nx = 1\n")
    assert text == "pass\n\nx = 1\n" and blanked == {1, 2}


@pytest.mark.parametrize("cell", [
    'doc = """\n!important\n%d percent\n?why\n"""\n',  # inside a string
    "y = (a\n     % b)\n",  # an operator starting a continuation line
    "if (a\n    != b):\n    pass\n",
    "x = 1  # really?\n",  # a comment
    "x = a % b\ny = a != b\n",
])
def test_python_look_alikes_are_not_blanked(cell):
    assert python_text(cell) == (cell, frozenset(), 0, frozenset())


def test_an_indented_cell_is_dedented_as_ipython_does_and_positions_stay_true():
    cell = "  import torch\n  x = torch.randn(2, 3)\n  y = torch.log(torch.softmax(x, dim=1))\n"
    assert python_text(cell).text == "import torch\nx = torch.randn(2, 3)\ny = torch.log(torch.softmax(x, dim=1))\n"
    (found,) = lint_cells([cell], "nb.ipynb", settings_for(["TL203"]))
    assert (found.location, found.end_location) == (Location(3, 7), Location(3, 41))
    outcome = fix_cells([cell], "nb.ipynb", settings_for(["TL203"]), unsafe=False)
    assert outcome.changed == {1: cell.replace("torch.log(torch.softmax(x, dim=1))", "torch.log_softmax(x, dim=1)")}


def test_cell_magics_skip_the_cell_unless_the_body_is_python():
    bash = "%%bash\necho 'torch.log(torch.softmax(x, 1))'\n"
    assert python_text(bash) is None
    timed = "%%time\nimport torch\nx = torch.randn(2)\n" + LOG_SOFTMAX
    found = lint_cells([bash, timed], "nb.ipynb", settings_for(["TL203"]))
    assert codes_at(found) == [("TL203", 2, 4, 5)]


def test_a_fix_touching_a_magic_line_is_dropped():
    d = Diagnostic("TL203", "x", "m", Severity.ERROR, Location(2, 1), Location(3, 2),
                   Fix(Applicability.SAFE, "f", (Edit("z", Location(2, 1), Location(3, 2)),)))
    _, line_map = cells_to_source(["import torch\n%time f()\nx = 1\n"])
    assert line_map.map_diagnostic(d).fix is None


def test_a_fix_spanning_two_cells_is_dropped():
    _, line_map = cells_to_source(["a = 1\n", "b = 2\n"])
    d = Diagnostic("TL203", "x", "m", Severity.ERROR, Location(1, 1), Location(1, 2),
                   Fix(Applicability.SAFE, "f", (Edit("z", Location(1, 1), Location(2, 2)),)))
    assert line_map.map_diagnostic(d).fix is None
    inside = Diagnostic("TL203", "x", "m", Severity.ERROR, Location(2, 1), Location(2, 2),
                        Fix(Applicability.SAFE, "f", (Edit("z", Location(2, 1), Location(2, 2)),)))
    assert line_map.map_diagnostic(inside).fix.edits[0].location == Location(1, 1)


# --- broken cells and files ---------------------------------------------------------

def test_a_cell_that_does_not_compile_is_one_finding_and_the_rest_is_checked():
    cells = ["import torch\nx = torch.randn(2)\n", "def broken(:\n", LOG_SOFTMAX]
    found = lint_cells(cells, "nb.ipynb", settings_for())
    assert [(d.code, d.cell) for d in found] == [("TL000", 2), ("TL203", 3)]


def test_top_level_await_cells_are_left_out_quietly():
    cells = ["import asyncio\nawait asyncio.sleep(0)\n", "import torch\nx = torch.randn(2, 3)\n" + LOG_SOFTMAX]
    assert codes_at(lint_cells(cells, "nb.ipynb", settings_for())) == [("TL203", 2, 3, 5)]


@pytest.mark.parametrize("text, words", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "not a Jupyter notebook"),
    ('{"cells": 3}', "no `cells` list"),
    ('{"cells": [{"cell_type": "code", "source": 5}]}', "not text"),
    ('{"cells": []} trailing', "extra data"),
    ("import torch\n", "invalid JSON"),
])
def test_bad_notebooks_are_one_syntax_error_finding(text, words):
    (finding,) = lint_notebook(text, "nb.ipynb", settings_for())
    assert finding.code == "TL000" and words in finding.message and finding.cell is None


def test_bad_notebook_through_the_cli_has_no_traceback(tmp_path):
    (tmp_path / "bad.ipynb").write_text('{"cells": [ import torch', encoding="utf-8")
    proc = run_cli("check", "--no-cache", "--isolated", "--output-format", "concise", "bad.ipynb", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stdout.startswith("bad.ipynb:1:1: TL000 [syntax-error] not a Jupyter notebook: invalid JSON")


def test_notebooks_of_other_languages_are_skipped():
    text = notebook("import torch\nx = torch.randn(2)\n" + LOG_SOFTMAX, kernel="R")
    assert lint_notebook(text, "nb.ipynb", settings_for()) == []
    assert len(lint_notebook(text.replace('"R"', '"python"'), "nb.ipynb", settings_for())) == 1


# --- fixes written back -------------------------------------------------------------

FIXABLE = "import torch\nx = torch.randn(2, 3)\n" + LOG_SOFTMAX + "print(y)"
FIXED = FIXABLE.replace("torch.log(torch.softmax(x, dim=1))", "torch.log_softmax(x, dim=1)")


@pytest.mark.parametrize("indent", [1, 2, 4, None])
@pytest.mark.parametrize("string_source", [False, True])
@pytest.mark.parametrize("trailer", ["\n", ""])
def test_fix_rewrites_only_the_fixed_cell_in_the_same_layout(indent, string_source, trailer):
    before = notebook("#md é ∑\n", "z = 2\n", FIXABLE, "w = 3", indent=indent, string_source=string_source,
                      trailer=trailer)
    nb = Notebook.parse(before)
    outcome = fix_cells(nb.code_cells(), "nb.ipynb", settings_for(["TL203"]), unsafe=False)
    assert outcome.applied == 1 and outcome.changed == {3: FIXED} and outcome.diagnostics == []
    after = nb.with_sources(outcome.changed).decode("utf-8")
    # what the writer would have produced with the fixed source: byte for byte
    assert after == notebook("#md é ∑\n", "z = 2\n", FIXED, "w = 3", indent=indent, string_source=string_source,
                             trailer=trailer)


def test_fix_keeps_ascii_escapes_and_untouched_lines_exact():
    before = notebook("s = 'é'\n" + FIXABLE, ascii=True)
    assert "\\u00e9" in before
    nb = Notebook.parse(before)
    outcome = fix_cells(nb.code_cells(), "nb.ipynb", settings_for(["TL203"]), unsafe=False)
    after = nb.with_sources(outcome.changed).decode("utf-8")
    assert after == notebook("s = 'é'\n" + FIXED, ascii=True)


def test_apply_fixes_to_notebook_one_round():
    before = notebook("z = 1\n", FIXABLE)
    found = lint_notebook(before, "nb.ipynb", settings_for(["TL203"]))
    data, count = apply_fixes_to_notebook(before, found)
    assert count == 1 and data.decode() == notebook("z = 1\n", FIXED)
    assert apply_fixes_to_notebook(before, [])[0] == before.encode()


def test_cli_fix_round_trip_on_fixtures(tmp_path):
    for name in ("train_eval.ipynb", "inference.ipynb"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    original = {p.name: p.read_bytes() for p in tmp_path.glob("*.ipynb")}
    run_cli("check", ".", "--fix", "--unsafe-fixes", "--no-cache", "--isolated", cwd=tmp_path)
    for name, old in original.items():
        new = (tmp_path / name).read_bytes()
        assert new != old
        json.loads(new)
        old_nb, new_nb = Notebook.parse(old), Notebook.parse(new)
        changed = [c.number for c, d in zip(old_nb.cells, new_nb.cells) if c.source != d.source]
        assert changed  # and outside the changed cells' `source`, byte for byte the same:
        spliced = new_nb.with_sources({n: old_nb.cell_text(n) for n in changed})
        assert spliced == old
    again = run_cli("check", ".", "--diff", "--unsafe-fixes", "--no-cache", "--isolated", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == ""


def test_notebook_without_fixes_is_never_rewritten(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook("import torch\nfrom torch import nn\nm = nn.Dropout(0.2)\n",
                             "with torch.no_grad():\n    m(torch.randn(2))\n"), encoding="utf-8")
    before = path.stat().st_mtime_ns, path.read_bytes()
    proc = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "--isolated", "--output-format", "concise",
                   "--extend-select", "TL103", "nb.ipynb", cwd=tmp_path)
    assert proc.stdout.startswith("nb.ipynb:cell 2:2:5: TL103")
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


def test_diff_shows_cells(tmp_path):
    (tmp_path / "nb.ipynb").write_text(notebook("z = 1\n", FIXABLE), encoding="utf-8")
    proc = run_cli("check", "--diff", "--no-cache", "--isolated", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.startswith("--- nb.ipynb:cell 2\n+++ nb.ipynb:cell 2\n")
    assert "+y = torch.log_softmax(x, dim=1)\n" in proc.stdout
    assert proc.stdout.endswith(" print(y)\n\\ No newline at end of cell\n")


# --- output formats, cache, discovery -------------------------------------------------

def test_output_formats_carry_the_cell(tmp_path):
    shutil.copy(FIXTURES / "train_eval.ipynb", tmp_path / "nb.ipynb")
    full = run_cli("check", "--no-cache", "--isolated", "nb.ipynb", cwd=tmp_path).stdout
    assert full.startswith("nb.ipynb:cell 8:4:12: TL203 [log-of-softmax]")
    assert "4 |     logp = torch.log(torch.softmax(logits, dim=1))" in full  # the cell's line, not JSON
    records = json.loads(run_cli("check", "--no-cache", "--isolated", "--output-format", "json", "nb.ipynb",
                                 cwd=tmp_path).stdout)
    assert [(r["cell"], r["location"]["row"]) for r in records] == [(8, 4)]
    sarif = json.loads(run_cli("check", "--no-cache", "--isolated", "--output-format", "sarif", "nb.ipynb",
                               cwd=tmp_path).stdout)
    assert [r["properties"]["cell"] for r in sarif["runs"][0]["results"]] == [8]
    github = run_cli("check", "--no-cache", "--isolated", "--output-format", "github", "nb.ipynb", cwd=tmp_path)
    assert "::nb.ipynb:cell 8:4:12: TL203" in github.stdout


def test_fixture_findings_are_exactly_the_planted_ones():
    planted = settings_for(["TL000", "TL103", "TL203", "TL204"])
    found = {name: codes_at(lint_notebook((FIXTURES / name).read_bytes(), name, planted))
             for name in ("train_eval.ipynb", "inference.ipynb")}
    # train_eval: eval() in cell 5 covers cell 8's inference; the noqa and the magics are quiet
    assert found == {
        "train_eval.ipynb": [("TL203", 8, 4, 12)],
        "inference.ipynb": [("TL103", 3, 3, 9), ("TL203", 3, 4, 9)],
    }


def test_cache_keeps_the_cell(tmp_path):
    shutil.copy(FIXTURES / "inference.ipynb", tmp_path / "nb.ipynb")
    settings = settings_for(["TL103", "TL203"])
    first = check_files([tmp_path / "nb.ipynb"], settings, Cache(tmp_path / "cache", "k"))
    cache = Cache(tmp_path / "cache", "k")
    second = check_files([tmp_path / "nb.ipynb"], settings, cache)
    assert cache.hits == 1
    assert codes_at(second[0].diagnostics) == codes_at(first[0].diagnostics) == [("TL103", 3, 3, 9),
                                                                                ("TL203", 3, 4, 9)]


def test_folders_include_notebooks_but_not_checkpoints(tmp_path):
    text = notebook("import torch\nx = torch.randn(2, 3)\n" + LOG_SOFTMAX)
    (tmp_path / "nb.ipynb").write_text(text, encoding="utf-8")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text(text, encoding="utf-8")
    proc = run_cli("check", "--no-cache", "--isolated", "--output-format", "concise", cwd=tmp_path)
    assert proc.stdout.splitlines()[0] == ("nb.ipynb:cell 1:3:5: TL203 [log-of-softmax] `log` of a softmax output "
                                          "underflows to -inf; use `log_softmax`")
    assert "checkpoint" not in proc.stdout


def test_no_files_checked_is_a_warning_naming_the_paths(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("import torch\n", encoding="utf-8")
    proc = run_cli("check", "--no-cache", "--isolated", "empty", "notes.txt", cwd=tmp_path)
    assert proc.returncode == 0 and "All checks passed" not in proc.stdout
    assert "No Python files found under the given path(s): empty, notes.txt" in proc.stderr
    # a folder with something to check is not warned about
    (tmp_path / "empty" / "ok.py").write_text("x = 1\n", encoding="utf-8")
    proc = run_cli("check", "--no-cache", "--isolated", "empty", cwd=tmp_path)
    assert "No Python files" not in proc.stderr and "All checks passed!" in proc.stdout


def test_precommit_hook_covers_notebooks():
    assert "types_or: [python, pyi, jupyter]" in (REPO / ".pre-commit-hooks.yaml").read_text()


def test_notebook_errors_are_not_exceptions_of_other_kinds():
    with pytest.raises(NotebookError):
        Notebook.parse(b"\xff\xfe\x00")


def test_crlf_notebook_keeps_its_line_breaks():
    before = notebook("z = 1\n", FIXABLE).replace("\n", "\r\n")
    nb = Notebook.parse(before)
    outcome = fix_cells(nb.code_cells(), "nb.ipynb", settings_for(["TL203"]), unsafe=False)
    assert nb.with_sources(outcome.changed).decode() == notebook("z = 1\n", FIXED).replace("\n", "\r\n")


def test_stdin_notebook_check_and_fix(tmp_path):
    text = notebook("z = 1\n", FIXABLE)
    proc = run_cli("check", "--no-cache", "--isolated", "--output-format", "concise", "--stdin-filename", "nb.ipynb",
                   "-", input=text, cwd=tmp_path)
    assert proc.stdout.startswith("nb.ipynb:cell 2:3:5: TL203")
    fixed = run_cli("check", "--no-cache", "--isolated", "--fix", "--stdin-filename", "nb.ipynb", "-", input=text,
                    cwd=tmp_path)
    assert fixed.returncode == 0 and fixed.stdout == notebook("z = 1\n", FIXED)
    assert not (tmp_path / "nb.ipynb").exists()


def test_named_files_need_a_python_name_or_shebang(tmp_path):
    body = "import torch\nx = torch.randn(2, 3)\n" + LOG_SOFTMAX
    (tmp_path / "script").write_text("#!/usr/bin/env python3\n" + body, encoding="utf-8")
    (tmp_path / "notes.md").write_text(body, encoding="utf-8")
    proc = run_cli("check", "--no-cache", "--isolated", "--output-format", "concise", "script", "notes.md",
                   cwd=tmp_path)
    assert proc.stdout.startswith("script:4:5: TL203") and "notes.md" not in proc.stdout
    assert "notes.md: not a Python file or notebook; skipped" in proc.stderr


@pytest.mark.parametrize("fmt, expected", [
    ("concise", "nb.ipynb:cell 8:4:12: TL203"),
    ("pylint", "nb.ipynb:cell 8:4: [TL203]"),
    ("junit", "nb.ipynb:cell 8:4:12: TL203"),
    ("grouped", "cell 8:4:12"),
    ("json_lines", '"cell": 8'),
    ("gitlab", "(cell 8, line 4)"),
    ("rdjson", '"message": "cell 8: `log` of a softmax'),
    ("github", "::nb.ipynb:cell 8:4:12: TL203"),
])
def test_every_text_format_names_the_cell(fmt, expected, monkeypatch, tmp_path):
    from importlib import import_module

    shutil.copy(FIXTURES / "train_eval.ipynb", tmp_path / "nb.ipynb")
    monkeypatch.chdir(tmp_path)
    found = [dataclasses.replace(d, filename=str(tmp_path / "nb.ipynb"))
             for d in lint_notebook((tmp_path / "nb.ipynb").read_bytes(), "nb.ipynb", settings_for(["TL203"]))]
    try:
        module = import_module(f"tensorlint.output.{fmt}")
    except ImportError:
        pytest.skip(f"no {fmt} format in this tree")
    assert expected in module.render(found, root=tmp_path)


@pytest.mark.parametrize("old, new", [
    ("a = 1\nb = 2", "a = 1\nb = 22"),  # the last line (no newline) grows
    ("a = 1\nb = 2\nc = 3\n", "a = 1\nb = 2\nx = 0\nb = 2\nc = 3\n"),  # a line added, repeats around it
    ("a = 1\nb = 2\n", "b = 2\n"),  # the first line goes
    ("a = 1\n", ""),
])
def test_rewritten_source_lists_are_split_as_jupyter_writes_them(old, new):
    nb = Notebook.parse(notebook("z = 1\n", old))
    assert nb.with_sources({2: new}).decode() == notebook("z = 1\n", new)


def test_mangled_notebooks_never_raise():
    """Random byte edits of a real-ish notebook: a finding or a clean result, never an
    exception (the reader parses JSON itself to keep the bytes)."""
    import random

    base = (FIXTURES / "train_eval.ipynb").read_bytes()
    rnd = random.Random(8)
    alphabet = b'{}[]",:\\ \n%!?#()\x00\xff'
    settings = settings_for()
    for _ in range(150):
        data = bytearray(base)
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randrange(len(data))
            if rnd.random() < 0.5:
                del data[at : at + rnd.randint(1, 5)]
            else:
                data[at:at] = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 3)))
        for finding in lint_notebook(bytes(data), "nb.ipynb", settings):
            assert finding.code != "TL000" or finding.message.startswith(("not a Jupyter notebook", "SyntaxError"))
