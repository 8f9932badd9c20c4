"""A run that the cache answers imports neither libcst, the rules, rich nor torch
(benchmarks/startup.py times it; this checks the reason it is fast)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from tensorlint.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("libcst", "rich", "tensorlint.rules", "tensorlint.engine", "torch") if m in sys.modules)
# files are checked in worker processes: the parent only imports multiprocessing then
checked = "multiprocessing" in sys.modules
print(json.dumps({"code": code, "heavy": heavy, "checked": checked}))
"""


def _run(tmp_path, *args):
    proc = subprocess.run([sys.executable, "-c", PROBE, "check", *args], cwd=tmp_path, capture_output=True, text=True)
    return proc.stdout, json.loads(proc.stdout.strip().splitlines()[-1])


def test_warm_clean_run_imports_nothing_heavy(tmp_path):
    (tmp_path / "clean.py").write_text("import torch\n\n\ndef f(x):\n    return torch.relu(x)\n")
    out, first = _run(tmp_path, "clean.py")
    assert first["code"] == 0 and first["checked"]
    out, warm = _run(tmp_path, "clean.py")
    assert warm == {"code": 0, "heavy": [], "checked": False}
    assert "All checks passed!" in out


def test_warm_run_with_a_finding_imports_nothing_heavy(tmp_path):
    # the full format is written without rich (output/full_text.py), in every format
    (tmp_path / "bug.py").write_text("import torch\n\n\ndef f(x):\n    return torch.tensor(torch.ones(3))\n")
    _run(tmp_path, "bug.py")
    out, warm = _run(tmp_path, "bug.py", "--output-format", "concise")
    assert warm == {"code": 1, "heavy": [], "checked": False} and "TL001" in out
    out, warm = _run(tmp_path, "bug.py")
    assert warm == {"code": 1, "heavy": [], "checked": False} and "TL001" in out and "= help: " in out


# A default rule that reads another file (TL201: BCE on what Net.forward returns, a
# probability once forward ends in a sigmoid).
MODELS_LOGITS = (
    "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
    "        super().__init__()\n        self.lin = nn.Linear(2, 2)\n\n    def forward(self, x):\n"
    "        return self.lin(x)\n"
)
MODELS_PROBS = MODELS_LOGITS.replace("return self.lin(x)", "return torch.sigmoid(self.lin(x))")
LOSS = (
    "import torch\nimport torch.nn.functional as F\nfrom models import Net\n\nnet = Net()\n"
    "y = net(torch.ones(1, 2))\nloss = F.binary_cross_entropy(y, torch.ones(1, 2))\n"
)


def test_an_edited_dependency_is_checked_again(tmp_path):
    # the cheap path must not skip the dependency check: the cache entry names models.py
    (tmp_path / "models.py").write_text(MODELS_PROBS)
    (tmp_path / "infer.py").write_text(LOSS)
    _run(tmp_path, "infer.py")
    out, warm = _run(tmp_path, "infer.py", "--output-format", "concise")
    assert not warm["checked"] and "TL201" in out
    (tmp_path / "models.py").write_text((tmp_path / "models.py").read_text() + "# edited\n")
    out, after = _run(tmp_path, "infer.py", "--output-format", "concise")
    assert after["checked"] and after["code"] == warm["code"] == 1 and "TL201" in out


ENTRY_PROBE = """
import json, sys
from tensorlint.entry import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "cli": "tensorlint.cli" in sys.modules, "argparse": "argparse" in sys.modules}))
"""


def _entry(tmp_path, *args, env=None):
    proc = subprocess.run([sys.executable, "-c", ENTRY_PROBE, "check", *args], cwd=tmp_path, capture_output=True,
                          text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), json.loads(lines[-1])


CLEAN = "import torch\n\n\ndef f(x):\n    return torch.relu(x)\n"
BUG = "import torch\n\n\ndef f(x):\n    return torch.tensor(torch.ones(3))\n"


def test_the_cache_answers_a_clean_file_before_the_command_line_loads(tmp_path):
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "plain.py").write_text("print('no tensors here')\n")
    out, first = _entry(tmp_path, "clean.py", "plain.py")
    assert first["cli"] and first["code"] == 0  # a miss: the full command line checked it
    out, warm = _entry(tmp_path, "clean.py", "plain.py")
    assert warm == {"code": 0, "cli": False, "argparse": False} and out == "All checks passed!"


def test_anything_but_the_plainest_case_goes_to_the_command_line(tmp_path):
    import os

    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "bug.py").write_text(BUG)
    _entry(tmp_path, "clean.py", "bug.py")
    out, warm = _entry(tmp_path, "bug.py")  # findings: printed by the quick answer too
    assert not warm["cli"] and warm["code"] == 1 and "TL001" in out
    for args in (["clean.py", "--no-cache"], ["clean.py", "-q"], ["."], ["bug.py", "-q"],
                 ["bug.py", "--output-format", "full"], ["bug.py", "--unsafe-fixes"]):
        out, other = _entry(tmp_path, *args)
        assert other["cli"], args
    out, env = _entry(tmp_path, "clean.py", env={**os.environ, "TENSORLINT_OUTPUT_FORMAT": "json"})
    assert env["cli"] and out.strip() == "[]"


def test_a_configuration_sends_the_run_to_the_command_line(tmp_path):
    (tmp_path / "bug.py").write_text(BUG)
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\nignore = ["TL001"]\n')
    _entry(tmp_path, "bug.py")
    out, warm = _entry(tmp_path, "bug.py")
    assert warm["cli"] and warm["code"] == 0  # the config's ignore applied, by the full path
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')  # not ours: the quick answer may apply
    out, first = _entry(tmp_path, "bug.py")
    assert first["cli"] and first["code"] == 1 and "TL001" in out
    again_out, again = _entry(tmp_path, "bug.py")
    assert not again["cli"] and again["code"] == 1 and again_out == out


def test_an_edited_dependency_is_not_answered_from_the_cache(tmp_path):
    (tmp_path / "models.py").write_text(MODELS_LOGITS)
    (tmp_path / "infer.py").write_text(LOSS)
    _entry(tmp_path, "infer.py")
    out, warm = _entry(tmp_path, "infer.py")
    assert warm == {"code": 0, "cli": False, "argparse": False}  # logits: nothing to say
    (tmp_path / "models.py").write_text(MODELS_PROBS)
    out, after = _entry(tmp_path, "infer.py", "--output-format", "concise")
    assert after["cli"] and after["code"] == 1 and "TL201" in out
    out, again = _entry(tmp_path, "infer.py")
    assert not again["cli"] and again["code"] == 1 and "TL201" in out  # the new entry, with its finding


# --- findings answered from the cache: byte for byte what the full command line prints ---------

SAME_PROBE = """
import json, sys
which = sys.argv.pop(1)
if which == "entry":
    from tensorlint.entry import main
else:
    from tensorlint.cli import main  # the full command line, never the quick answer
code = main(sys.argv[1:])
sys.stdout.flush()
loaded = sorted(m for m in ("tensorlint.cli", "argparse", "rich.console", "libcst", "multiprocessing") if m in sys.modules)
sys.stderr.write("\\nPROBE " + json.dumps({"code": code, "loaded": loaded, "rich": "rich" in sys.modules}))
"""

RULES = """import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(1.5)

    def forward(self, x):
        return F.softmax(x)


y = torch.tensor(
    torch.ones(3)
)
"""
# TL308 (a display-only fix), a tab, terminal escapes, wide characters before and after the span
ODD = (
    "import torch\nfrom torchvision.transforms import v2\n\nt = v2.ToTensor()\nx = torch.zeros(2)\n"
    "y = [1,\ttorch.tensor(x)]  # \x1b[2J\x1b]0;pwned\x07 \u00e9\u4e2d\u6587\n"
    "z = \"\u4e2d\u6587\"; w = torch.tensor(x)\n"
)
LONG = "import torch\r\n\r\nx = torch.zeros(2)\r\n" + "y" * 90 + " = torch.tensor(x) + torch.tensor(x)   \r\n"
UNSAFE = """import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        return self.lin(x)


net = Net()
out = net.forward(torch.ones(2))
"""
BROKEN = "import torch\nx = (\n"


def _project(tmp_path):
    (tmp_path / "bug.py").write_text(BUG)
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "plain.py").write_text("print('no tensors here')\n")
    (tmp_path / "rules.py").write_text(RULES)
    (tmp_path / "odd.py").write_text(ODD, encoding="utf-8")
    (tmp_path / "long.py").write_bytes(LONG.encode())
    (tmp_path / "unsafe.py").write_text(UNSAFE)
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(BUG.replace("ones(3)", "zeros(2)"))
    return tmp_path


def _same(tmp_path, *args, stdout=None, **env_changes):
    """stdout bytes and exit code of the full command line (filling the cache, then warm)
    and of the `tensorlint` entry point; asserts all three agree and that the entry
    point's answer came from the cache, before the command line loaded."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM", "COLUMNS",
                                                             "TENSORLINT_OUTPUT_FORMAT")}
    env.update(env_changes)
    runs = {}
    for which in ("cli", "cli", "entry"):
        if stdout is None:
            proc = subprocess.run([sys.executable, "-c", SAME_PROBE, which, "check", *args], cwd=tmp_path,
                                  capture_output=True, env=env)
            out = proc.stdout
        else:
            out, proc = stdout([sys.executable, "-c", SAME_PROBE, which, "check", *args], tmp_path, env)
        err = proc.stderr.decode()
        assert "PROBE " in err, err
        probe = json.loads(err.rsplit("PROBE ", 1)[1])
        runs.setdefault(which, []).append((out, probe))
    (cold, cold_probe), (warm, warm_probe) = runs["cli"]
    ((quick, quick_probe),) = runs["entry"]
    assert warm == cold and warm_probe["code"] == cold_probe["code"]
    assert quick == warm, (quick.decode(), warm.decode())
    assert quick_probe["code"] == warm_probe["code"] and quick_probe["loaded"] == []  # nothing else loaded
    assert not quick_probe["rich"] or not quick.isascii()  # rich's cell widths, for a non-ASCII line only
    assert "tensorlint.cli" in warm_probe["loaded"] and "multiprocessing" not in warm_probe["loaded"]
    return quick.decode(), quick_probe["code"]


def test_findings_are_answered_from_the_cache_as_the_command_line_prints_them(tmp_path):
    _project(tmp_path)
    out, code = _same(tmp_path, "bug.py")
    assert code == 1 and out.startswith("bug.py:5:12: TL001 [tensor-copy-construct] ")
    assert out.endswith("= help: Replace with `.detach().clone()`\n\nFound 1 finding.\n"
                        "[*] 1 fixable with `tensorlint check --fix`.\n")
    out, code = _same(tmp_path, "rules.py")  # no fixes, and a span over three lines
    assert code == 1 and "TL003" in out and "TL310" in out and "help" not in out.split("TL001")[0]
    assert "15 | y = torch.tensor(\n   |     ^^^^^^^^^^^^^\n" in out and "fixable" not in out.split("TL001")[0]
    out, code = _same(tmp_path, "unsafe.py", "broken.py")  # an unsafe fix, a syntax error
    assert "(unsafe fix: --unsafe-fixes)" in out and "TL000 [syntax-error]" in out
    assert out.endswith("Found 2 findings.\n1 more fixable with `--fix --unsafe-fixes` (unsafe: review the change).\n")


def test_control_characters_tabs_and_wide_characters_print_alike(tmp_path):
    _project(tmp_path)
    out, code = _same(tmp_path, "odd.py")
    assert code == 1 and "\x1b" not in out and "\x07" not in out and "\\x1b[2J\\x1b]0;pwned\\x07" in out
    assert "TL308" in out and "= help: Replace with `v2.Compose(" in out  # display-only: a hint, not fixable
    assert "6 | y = [1, torch.tensor(x)]" in out  # the tab, at 4 columns
    assert "7 | z = \"\u4e2d\u6587\"; w = torch.tensor(x)\n  |                 ^^^^" in out  # two cells each


def test_long_lines_and_crlf_at_80_columns_print_alike(tmp_path):
    _project(tmp_path)
    out, code = _same(tmp_path, "long.py", COLUMNS="80")
    lines = out.splitlines()
    assert code == 1 and max(len(line) for line in lines) > 120  # never cut, never wrapped
    assert "\r" not in out and any(line.endswith(")   ") for line in lines)  # the source line as it is
    assert _same(tmp_path, "long.py", COLUMNS="40")[0] == out


def test_several_files_in_any_spelling_print_alike(tmp_path):
    _project(tmp_path)
    # one spelling per file (the first), pathlib's spelling, sorted; absolute paths below
    # the working folder shown relative; clean and torch-free files add nothing
    out, code = _same(tmp_path, "unsafe.py", "./bug.py", "pkg//mod.py", "clean.py", "plain.py",
                      str(tmp_path / "rules.py"), "bug.py", "pkg/./mod.py")
    headers = [line.split(":")[0] for line in out.splitlines() if ": TL" in line]
    # sorted by the name as given: the absolute one first
    assert headers == ["rules.py", "rules.py", "rules.py", "bug.py", "pkg/mod.py", "unsafe.py"]
    assert "Found 6 findings." in out


def test_colour_is_the_same_both_ways(tmp_path):
    _project(tmp_path)
    out, code = _same(tmp_path, "odd.py", "unsafe.py", FORCE_COLOR="1")
    assert "\x1b[1modd.py\x1b[0m:4:5: \x1b[1;33mTL308\x1b[0m\x1b[2m [torchvision-v2-to-tensor] \x1b[0m" in out
    assert "\x1b[1mFound 4 findings.\x1b[0m\n" in out
    assert "\x1b[2J" not in out  # the file's own escapes stay escaped
    plain, _ = _same(tmp_path, "odd.py", "unsafe.py", FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b" not in plain


def test_a_terminal_gets_the_same_bytes(tmp_path):
    import os
    import pty

    _project(tmp_path)

    def on_a_terminal(cmd, cwd, env):
        master, slave = pty.openpty()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        proc.stderr_bytes = proc.stderr.read()
        proc.wait()
        os.close(master)
        return out, subprocess.CompletedProcess(cmd, proc.returncode, out, proc.stderr_bytes)

    out, code = _same(tmp_path, "bug.py", "rules.py", stdout=on_a_terminal, TERM="xterm")
    assert code == 1 and "\x1b[34m15 | y = torch.tensor(\x1b[0m" in out


def test_a_utf32_file_with_a_finding_is_not_called_clean(tmp_path):
    # a UTF-32 BOM: the bytes hold no `torch`, yet the full path checks the file
    (tmp_path / "wide.py").write_bytes(b"\x00\x00\xfe\xff" + BUG.encode("utf-32-be"))
    out, code = _same(tmp_path, "wide.py")
    assert code == 1 and "TL001" in out and "All checks passed!" not in out


def test_an_entry_of_another_shape_goes_to_the_command_line(tmp_path):
    from tensorlint.cache import content_key, read_signed, signed

    (tmp_path / "bug.py").write_text(BUG)
    _entry(tmp_path, "bug.py")
    (cache_file,) = (tmp_path / ".tensorlint_cache").glob("v*.json")
    entries = read_signed(cache_file, "entries")
    del entries[content_key(BUG.encode())]["diagnostics"][0]["noqa_row"]  # Diagnostic.from_dict needs it
    cache_file.write_text(signed("entries", entries))
    out, run = _entry(tmp_path, "bug.py")
    assert run["cli"] and run["code"] == 1 and "TL001" in out  # checked again, by the full path


def test_the_quick_answers_helpers_agree_with_what_they_stand_for():
    import random
    import re
    from pathlib import PurePosixPath

    from tensorlint.fast_path import _pathlib_str
    from tensorlint.output import _code_spans
    from tensorlint.output.full_text import split_lines
    from tensorlint.source import split_lines as split_with_re

    rng = random.Random(8)
    for _ in range(5000):
        text = "".join(rng.choice("`a \n\r(;") for _ in range(rng.randint(0, 14)))
        assert _code_spans(text) == re.findall(r"`([^`]+)`", text), text
        assert split_lines(text) == split_with_re(text), text
        name = "".join(rng.choice(["/", ".", "..", "a", "b.py"]) for _ in range(rng.randint(1, 8)))
        assert _pathlib_str(name) == str(PurePosixPath(name)), name


def _rich_full(diagnostics, colour: bool) -> str:
    """The full format as rich laid it out before output/full_text.py (tensorlint 8bd1f0e's
    output/full.py, less its file reading): the reference the renderer must equal."""
    import io

    from rich.cells import cell_len
    from rich.console import Console
    from rich.text import Text

    from tensorlint.output import display_path, printable, without_fix_hint
    from tensorlint.source import split_lines

    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, soft_wrap=True, force_terminal=colour,
                      color_system="standard" if colour else None, width=80)
    styles = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}
    for d, text in diagnostics:
        lines = split_lines(text)
        header = Text()
        header.append(display_path(d.filename), style="bold")
        header.append(f":{d.position()}: ")
        header.append(d.code, style=styles[d.severity.value])
        header.append(f" [{d.name}] ", style="dim")
        header.append(printable(without_fix_hint(d.message, d.fix.message if d.fix is not None else None)))
        console.print(header)
        row = d.location.row
        if 0 < row <= len(lines):
            gutter = len(str(row))
            raw = lines[row - 1]
            start = d.location.column - 1
            end = d.end_location.column - 1 if d.end_location.row == row else len(raw)
            line = printable(raw).expandtabs(4)
            lead = cell_len(printable(raw[:start]).expandtabs(4))
            width = max(1, cell_len(printable(raw[:end]).expandtabs(4)) - lead)
            console.print(Text(" " * gutter + " |", style="blue"))
            code_line = Text(f"{row} | ", style="blue")
            code_line.append(line)
            console.print(code_line)
            caret = Text(" " * gutter + " | ", style="blue")
            caret.append(" " * lead + "^" * width, style=styles[d.severity.value])
            console.print(caret)
        if d.fix is not None:
            hint = Text(" " * (len(str(row)) + 1) + "= help: ", style="cyan")
            hint.append(printable(d.fix.message))
            if d.fix.applicability.value == "unsafe":
                hint.append(" (unsafe fix: --unsafe-fixes)", style="dim")
            console.print(hint)
        console.print()
    return buffer.getvalue()


def test_the_renderer_writes_what_rich_wrote():
    import random

    from tensorlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
    from tensorlint.output.full_text import render
    from tensorlint.source import split_lines

    rng = random.Random(3)
    alphabet = ["a", " ", "\t", "\u00e9", "\u4e2d", "\x1b", "\x07", "`", ";", "\u0301", "\u200b", "\ufeff",
                "\x85", "\u2028", "\x00", "\U0001f600"]
    some = lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))  # noqa: E731
    fixes = [None, Fix(Applicability.SAFE, "Replace\twith `x`", ()),
             Fix(Applicability.UNSAFE, "Use `y`", (Edit("", Location(1, 1), Location(1, 1)),)),
             Fix(Applicability.DISPLAY, "a hint\t", ())]
    for _ in range(400):
        rows = [some() for _ in range(rng.randint(1, 4))]
        text = rng.choice(["\n", "\r\n", "\r"]).join(rows)
        name = rng.choice(["a.py", "pkg/b.py", "t\tab.py"])
        diagnostics = []
        for _ in range(rng.randint(1, 3)):
            row = rng.randint(0, len(rows) + 1)
            message = some() + "x" + rng.choice(["", "; use `x`", "; use `y` instead"])
            diagnostics.append((Diagnostic(
                "TL001", "some-name", message, rng.choice(list(Severity)), Location(row, rng.randint(1, 16)),
                Location(row + rng.choice([0, 0, 1]), rng.randint(1, 17)), rng.choice(fixes), filename=name,
            ), text))
        for colour in (False, True):
            mine = render([(d.filename, d.to_dict()) for d, _ in diagnostics],
                          lambda i: split_lines(diagnostics[i][1]), colour)
            assert mine == _rich_full(diagnostics, colour), (diagnostics, colour)
