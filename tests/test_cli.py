"""`tensorlint check` end to end through a subprocess: what a user sees."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from lintutil import run_cli

BUGGY = textwrap.dedent(
    """\
    import torch

    def copy(x: torch.Tensor):
        return torch.tensor(x)
    """
)
CLEAN = "import torch\n\ndef copy(x: torch.Tensor):\n    return x.detach().clone()\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\n")
    (tmp_path / "bug.py").write_text(BUGGY)
    (tmp_path / "ok.py").write_text(CLEAN)
    return tmp_path


def test_exit_codes(project):
    assert run_cli("check", "ok.py", cwd=project).returncode == 0
    assert run_cli("check", "bug.py", cwd=project).returncode == 1
    assert run_cli("check", "bug.py", "--exit-zero", cwd=project).returncode == 0
    missing = run_cli("check", "nope.py", cwd=project)
    assert missing.returncode == 2
    assert "nope.py" in missing.stderr and "Traceback" not in missing.stderr


def test_default_path_is_the_current_folder(project):
    proc = run_cli("check", "--output-format", "concise", cwd=project)
    assert proc.returncode == 1
    assert proc.stdout.startswith("bug.py:4:12: TL001 [tensor-copy-construct]")


def test_full_output_shows_source_caret_and_fix_hint(project):
    out = run_cli("check", "bug.py", cwd=project).stdout
    assert "bug.py:4:12: TL001 [tensor-copy-construct]" in out
    assert "4 |     return torch.tensor(x)" in out
    assert "^^^^^^^^^^^^^^^" in out
    assert "help: Replace with `.detach().clone()`" in out
    assert "Found 1 finding." in out
    assert run_cli("check", "ok.py", cwd=project).stdout.strip() == "All checks passed!"


def test_json_output_is_ruff_compatible(project):
    proc = run_cli("check", "bug.py", "--output-format", "json", cwd=project)
    (record,) = json.loads(proc.stdout)
    assert record["code"] == "TL001" and record["name"] == "tensor-copy-construct"
    assert record["severity"] == "warning"
    assert record["filename"] == str((project / "bug.py").resolve())
    assert record["location"] == {"row": 4, "column": 12}
    assert record["end_location"] == {"row": 4, "column": 27}
    assert record["noqa_row"] == 4
    assert record["url"].endswith("#tensor-copy-construct")
    fix = record["fix"]
    assert fix["applicability"] == "safe"
    (edit,) = fix["edits"]
    lines = BUGGY.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: edit["location"]["row"] - 1]) + edit["location"]["column"] - 1
    end = sum(len(line) for line in lines[: edit["end_location"]["row"] - 1]) + edit["end_location"]["column"] - 1
    assert BUGGY[:start] + edit["content"] + BUGGY[end:] == BUGGY.replace("torch.tensor(x)", "x.detach().clone()")


def test_sarif_output(project):
    doc = json.loads(run_cli("check", "bug.py", "--output-format", "sarif", cwd=project).stdout)
    assert doc["version"] == "2.1.0" and "sarif" in doc["$schema"]
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "What it does" in rules["TL001"]["fullDescription"]["text"]
    assert rules["TL001"]["shortDescription"]["text"]
    (result,) = run["results"]
    assert result["ruleId"] == "TL001" and result["level"] == "warning"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "bug.py"
    assert location["region"] == {"startLine": 4, "startColumn": 12, "endLine": 4, "endColumn": 27}


def test_github_output_escapes(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\n")
    odd = tmp_path / "a,b:c%.py"
    odd.write_text(BUGGY)
    line = run_cli("check", odd.name, "--output-format", "github", cwd=tmp_path).stdout.strip()
    assert line.startswith("::warning title=tensorlint (TL001),file=")
    assert "a%2Cb%3Ac%25.py,line=4,col=12,endLine=4,endColumn=27::" in line
    assert line.endswith("a,b:c%25.py:4:12: TL001 `torch.tensor()` on the tensor `x` copies it and drops its autograd history; use `.detach().clone()`")


def test_concise_and_statistics(project):
    (project / "bug2.py").write_text(BUGGY + "\ny = torch.tensor(torch.ones(2))\n")
    stats = run_cli("check", "--statistics", cwd=project)
    assert stats.returncode == 1
    assert "    3\tTL001\t[*] tensor-copy-construct\n" in stats.stdout
    data = json.loads(run_cli("check", "--statistics", "--output-format", "json", cwd=project).stdout)
    assert data == [{"code": "TL001", "name": "tensor-copy-construct", "count": 3, "fixable": True}]


def test_fix_writes_and_is_idempotent(project):
    proc = run_cli("check", "bug.py", "--fix", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Fixed 1 finding." in proc.stdout
    assert (project / "bug.py").read_text() == CLEAN
    again = run_cli("check", "bug.py", "--fix", cwd=project)
    assert again.returncode == 0 and "Fixed" not in again.stdout


def test_diff_writes_nothing(project):
    proc = run_cli("check", "bug.py", "--diff", cwd=project)
    assert proc.returncode == 1
    assert "-    return torch.tensor(x)" in proc.stdout and "+    return x.detach().clone()" in proc.stdout
    assert (project / "bug.py").read_text() == BUGGY


def test_fix_keeps_encoding_bom_and_crlf(tmp_path):
    source = "\ufeffimport torch\r\n# café\r\ndef f(x: torch.Tensor):\r\n    return torch.tensor(x)  # keep me\r\n"
    path = tmp_path / "w.py"
    path.write_bytes(source.encode("utf-8"))
    run_cli("check", "w.py", "--fix", "--isolated", cwd=tmp_path, check_rc=0)
    assert path.read_bytes() == source.replace("torch.tensor(x)", "x.detach().clone()").encode("utf-8")


def test_unsafe_fixes_need_the_flag(tmp_path):
    code = "import torch.nn as nn\nimport torch.nn.functional as F\nclass M(nn.Module):\n    def helper(self, x):\n        return F.dropout(x)\n"
    path = tmp_path / "m.py"
    path.write_text(code)
    proc = run_cli("check", "m.py", "--fix", "--isolated", cwd=tmp_path)
    assert proc.returncode == 1 and path.read_text() == code
    assert "--unsafe-fixes" in proc.stdout
    run_cli("check", "m.py", "--fix", "--unsafe-fixes", "--isolated", cwd=tmp_path, check_rc=0)
    assert "F.dropout(x, training=self.training)" in path.read_text()


def test_noqa_and_file_noqa_via_cli(project):
    (project / "bug.py").write_text(BUGGY.replace("torch.tensor(x)", "torch.tensor(x)  # noqa: tensor-copy-construct"))
    assert run_cli("check", "bug.py", cwd=project).returncode == 0
    (project / "bug.py").write_text("# tensorlint: noqa: TL001\n" + BUGGY)
    assert run_cli("check", "bug.py", cwd=project).returncode == 0


def test_syntax_and_decode_errors_are_findings_and_the_run_goes_on(project):
    (project / "broken.py").write_text("import torch\ndef f(:\n")
    (project / "latin.py").write_bytes(b"import torch\nx = '\xff\xfe'\n")
    proc = run_cli("check", "--output-format", "concise", cwd=project)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.startswith("broken.py:2:") and "TL000 [syntax-error] SyntaxError" in line for line in lines)
    assert any(line.startswith("latin.py:1:1: TL000") and "decode" in line for line in lines)
    assert any(line.startswith("bug.py:4:12: TL001") for line in lines)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "config, needle",
    [
        ("[tool.tensorlint]\nselekt = ['TL001']\n", "unknown key `selekt`"),
        ("[tool.tensorlint]\nselect = ['TL999']\n", "`TL999`"),
        ("[tool.tensorlint]\nignore = ['no-such-rule']\n", "`no-such-rule`"),
        ("[tool.tensorlint]\nselect = 'TL001'\n", "must be a list"),
        ("[tool.tensorlint]\nper-file-ignores = {'tests/*' = ['XX1']}\n", "`XX1`"),
        ("[tool.tensorlint.dropout-training-default]\nsafe-fix-method = ['forward']\n", "unknown option `safe-fix-method`"),
        ("[tool.tensorlint]\ntarget-torch-version = 'two'\n", "not a version"),
        ("[tool.tensorlint\n", "invalid TOML"),
    ],
)
def test_bad_config_exits_2_naming_the_problem(tmp_path, config, needle):
    (tmp_path / "pyproject.toml").write_text(config)
    (tmp_path / "bug.py").write_text(BUGGY)
    proc = run_cli("check", "bug.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_cli_selector_exits_2(project):
    proc = run_cli("check", "--select", "TL99", cwd=project)
    assert proc.returncode == 2 and "`TL99`" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("check", "--output-format", "xml", cwd=project)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_selectors_by_code_name_prefix_and_all(project):
    for selector in ("TL001", "tensor-copy-construct", "TL0", "ALL"):
        assert run_cli("check", "bug.py", "--select", selector, cwd=project).returncode == 1, selector
    assert run_cli("check", "bug.py", "--select", "TL1", cwd=project).returncode == 0
    assert run_cli("check", "bug.py", "--ignore", "TL001", cwd=project).returncode == 0


def test_config_select_and_cli_override(project):
    (project / "pyproject.toml").write_text("[tool.tensorlint]\nignore = ['tensor-copy-construct']\n")
    assert run_cli("check", "bug.py", cwd=project).returncode == 0
    assert run_cli("check", "bug.py", "--select", "TL001", cwd=project).returncode == 1


def test_per_file_ignores(project):
    (project / "tests").mkdir()
    (project / "tests" / "test_x.py").write_text(BUGGY)
    (project / "pyproject.toml").write_text("[tool.tensorlint.per-file-ignores]\n'tests/*' = ['TL001']\n")
    proc = run_cli("check", "--output-format", "concise", "-q", cwd=project)
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == ["bug.py"]


def test_nearest_pyproject_with_a_tensorlint_table_is_used(project):
    sub = project / "pkg"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no [tool.tensorlint]: skipped
    (project / "pyproject.toml").write_text("[tool.tensorlint]\nignore = ['TL001']\n")
    (sub / "bug.py").write_text(BUGGY)
    assert run_cli("check", "bug.py", cwd=sub).returncode == 0


def test_stdin(project):
    proc = run_cli("check", "--stdin-filename", "bug.py", "-", "--output-format", "concise", cwd=project, input=BUGGY)
    assert proc.returncode == 1 and proc.stdout.startswith("bug.py:4:12: TL001")
    fixed = run_cli("check", "--stdin-filename", "bug.py", "--fix", "-", cwd=project, input=BUGGY)
    assert fixed.returncode == 0 and fixed.stdout == CLEAN
    assert run_cli("check", "-", cwd=project, input=CLEAN).returncode == 0


def test_cache_hits_and_invalidation(project):
    cache_dir = project / ".tensorlint_cache"
    run_cli("check", "bug.py", cwd=project, check_rc=1)
    assert (cache_dir / ".gitignore").read_text().strip().endswith("*")
    assert (cache_dir / "CACHEDIR.TAG").exists()
    (cache_file,) = cache_dir.glob("v*.json")
    # Plant a marker in the cached result: a warm run must report it (proof of a hit).
    data = json.loads(cache_file.read_text())
    (entry,) = data["entries"].values()
    entry["diagnostics"][0]["message"] = "FROM-CACHE"
    from tensorlint.cache import signed

    cache_file.write_text(signed("entries", data["entries"]))  # unsigned edits are not trusted
    assert "FROM-CACHE" in run_cli("check", "bug.py", "--output-format", "concise", cwd=project).stdout
    # --no-cache neither reads it ...
    assert "FROM-CACHE" not in run_cli("check", "bug.py", "--no-cache", "--output-format", "concise", cwd=project).stdout
    # ... and other settings use another cache file,
    assert "FROM-CACHE" not in run_cli("check", "bug.py", "--select", "TL001", "--output-format", "concise", cwd=project).stdout
    # and a changed file is re-checked.
    (project / "bug.py").write_text(BUGGY + "\n")
    assert "FROM-CACHE" not in run_cli("check", "bug.py", "--output-format", "concise", cwd=project).stdout


def test_parallel_run_is_sorted_and_deterministic(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\n")
    for i in range(30):
        (tmp_path / f"m{i:02d}.py").write_text(BUGGY)
    first = run_cli("check", "--no-cache", "-j", "2", "--output-format", "concise", cwd=tmp_path).stdout
    second = run_cli("check", "--no-cache", "-j", "1", "--output-format", "concise", cwd=tmp_path).stdout
    assert first == second
    assert [line.split(":")[0] for line in first.splitlines()[:30]] == [f"m{i:02d}.py" for i in range(30)]


def test_rule_and_rules_commands():
    doc = run_cli("rule", "TL001", check_rc=0).stdout
    assert doc.startswith("# tensor-copy-construct (TL001)")
    assert run_cli("rule", "tensor-copy-construct", check_rc=0).stdout == doc
    bad = run_cli("rule", "nope")
    assert bad.returncode == 2 and "unknown rule" in bad.stderr
    listing = json.loads(run_cli("rules", "--output-format", "json", check_rc=0).stdout)
    entry = next(r for r in listing if r["code"] == "TL001")
    assert entry["name"] == "tensor-copy-construct" and entry["fixable"] is True and entry["default"] is True
    assert entry["summary"]


def test_python_dash_m_and_console_script_agree(project):
    import shutil
    import subprocess
    import sys

    script = Path(sys.executable).with_name("tensorlint")
    exe = str(script) if script.exists() else shutil.which("tensorlint")
    assert exe, "console script `tensorlint` not installed"
    proc = subprocess.run([exe, "check", "bug.py", "--output-format", "concise"], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == run_cli("check", "bug.py", "--output-format", "concise", cwd=project).stdout


def test_a_crashing_rule_is_an_internal_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    """Exit 2 with a one-line message naming the file; the other files are still checked."""
    import tensorlint.engine as engine
    from tensorlint.cli import main
    from tensorlint.rules import all_rules
    from tensorlint.rules.base import Rule

    class Boom(Rule):
        """Crashes on files named crash.py."""

        code, name, summary = "TL999", "boom", "test rule"

        def visit_Module(self, node):
            if self.ctx.path.endswith("crash.py"):
                raise ValueError("kaboom")

    import tensorlint.selection as selection

    rules = (*all_rules(), Boom)
    monkeypatch.setattr(engine, "all_rules", lambda: rules)
    monkeypatch.setattr(selection, "all_rules", lambda: rules)
    (tmp_path / "crash.py").write_text(BUGGY)
    (tmp_path / "fine.py").write_text(BUGGY)
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--isolated", "--no-cache", "-j", "1", "--output-format", "concise", "--select", "TL001,TL999"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "internal error while checking crash.py: ValueError: kaboom" in err
    assert "Traceback" not in err
    assert "fine.py:4:12: TL001" in out


def test_full_output_caret_aligns_with_tabs_and_wide_characters(tmp_path):
    source = 'import torch\ndef f(w: torch.Tensor):\n\ts = "éé中文"; return torch.tensor(w)\n'
    (tmp_path / "t.py").write_text(source)
    lines = run_cli("check", "t.py", "--isolated", "--no-cache", cwd=tmp_path).stdout.splitlines()
    code_line = next(line for line in lines if line.startswith("3 | "))
    caret_line = next(line for line in lines if line.strip().startswith("|") and "^" in line)
    from rich.cells import cell_len

    column = cell_len(code_line[: code_line.index("torch.tensor")])
    assert cell_len(caret_line[: caret_line.index("^")]) == column
    assert caret_line.count("^") == len("torch.tensor(w)")
