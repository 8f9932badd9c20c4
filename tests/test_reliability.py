"""Issue 9, "never crash, never hang, never clobber": one regression test per reproducer.
Each test names the item of the issue it reproduces."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import libcst as cst
import pytest

from lintutil import REPO, codes, fix, lint, settings_for

from tensorlint.cache import Cache
from tensorlint.cli import main
from tensorlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
from tensorlint.fixer import fix_text
from tensorlint.runner import check_files

BUGGY = "import torch\n\ndef f(x: torch.Tensor):\n    return torch.tensor(x)\n"  # TL001, safe fix
LEGACY = "import torch\nx = torch.FloatTensor([1, 2])\n"  # TL301, safe fix
FIXED_LEGACY = "import torch\nx = torch.tensor([1, 2], dtype=torch.float32)\n"


def _cli(monkeypatch, capsysbinary, cwd: Path, *args, stdin: bytes | None = None):
    """`tensorlint check` in this process: (exit code, stdout bytes, stderr text)."""
    monkeypatch.chdir(cwd)
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["check", "--isolated", *args])
    out, err = capsysbinary.readouterr()
    return code, out, err.decode("utf-8", "replace")


# 3. `--fix --stdin-filename X -` must never write X.
@pytest.mark.parametrize("exists", [False, True])
def test_3_stdin_fix_never_writes_the_stdin_filename(tmp_path, monkeypatch, capsysbinary, exists):
    target = tmp_path / "buffer.py"
    if exists:
        target.write_text("# the version on disk\n")
    code, out, _ = _cli(monkeypatch, capsysbinary, tmp_path, "--fix", "--no-cache", "--stdin-filename", "buffer.py", "-",
                        stdin=LEGACY.encode())
    assert out == FIXED_LEGACY.encode()
    assert code == 0
    if exists:
        assert target.read_text() == "# the version on disk\n"
    else:
        assert not target.exists()


# 4. stdin --fix keeps the bytes: latin-1 with a coding cookie, a BOM, binary input.
@pytest.mark.parametrize(
    "data, expected",
    [
        (
            b"# -*- coding: latin-1 -*-\nimport torch\n# caf\xe9\nx = torch.FloatTensor([1, 2])\n",
            b"# -*- coding: latin-1 -*-\nimport torch\n# caf\xe9\nx = torch.tensor([1, 2], dtype=torch.float32)\n",
        ),
        (b"\xef\xbb\xbf" + LEGACY.encode(), b"\xef\xbb\xbf" + FIXED_LEGACY.encode()),
        (LEGACY.replace("\n", "\r\n").encode(), FIXED_LEGACY.replace("\n", "\r\n").encode()),
        (b"import torch\n\xff\xfe\x00binary\x80 torch\n", None),  # undecodable: given back as is
        (b"# -*- coding: latin-1 -*-\nimport torch\n# caf\xe9\n", None),  # nothing to fix
    ],
    ids=["latin1-cookie", "utf8-bom", "crlf", "binary", "latin1-unchanged"],
)
def test_4_stdin_fix_keeps_the_bytes(tmp_path, monkeypatch, capsysbinary, data, expected):
    _, out, _ = _cli(monkeypatch, capsysbinary, tmp_path, "--fix", "--no-cache", "-", stdin=data)
    assert out == (data if expected is None else expected)


# 5. One unreadable folder is a warning; the run goes on.
def test_5_unreadable_folder_is_a_warning_and_the_run_goes_on(tmp_path, monkeypatch, capsysbinary):
    (tmp_path / "ok.py").write_text(BUGGY)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "hidden.py").write_text(BUGGY)
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    real_exists = Path.exists

    def exists(self, *a, **k):  # what Path.exists does in a folder it cannot search
        if self.parent.name == "locked":
            raise PermissionError(13, "Permission denied", str(self))
        return real_exists(self, *a, **k)

    monkeypatch.setattr(Path, "exists", exists)
    code, out, err = _cli(monkeypatch, capsysbinary, tmp_path, "--no-cache", "--output-format", "concise")
    assert code == 1
    assert "ok.py:4:12: TL001" in out.decode()
    assert "locked: Permission denied; skipped" in err
    assert "internal error" not in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads every folder")
def test_5_unreadable_folder_for_real(tmp_path, monkeypatch, capsysbinary):
    (tmp_path / "ok.py").write_text(BUGGY)
    locked = tmp_path / "locked"
    (locked / "inner").mkdir(parents=True)
    (locked / "inner" / "x.py").write_text(BUGGY)
    locked.chmod(0)
    try:
        code, out, err = _cli(monkeypatch, capsysbinary, tmp_path, "--no-cache", "--output-format", "concise")
    finally:
        locked.chmod(0o755)
    assert code == 1 and "ok.py:4:12: TL001" in out.decode() and "Permission denied" in err


# 6. A cache of any wrong shape (both files) is ignored and rebuilt.
WRONG_SHAPES = [
    "[]",
    "null",
    '{"entries": []}',
    '{"entries": {"k": 1}}',
    '{"entries": {"k": {"diagnostics": [1, "x"], "deps": {"a": 1}}}}',
    '{"facts": {"k": 5}}',
    '{"facts": []}',
    '{"check":"00000000000000000000000000000000","entries":{}}',
    "[" * 100_000,
    "\x00\xff garbage",
]


@pytest.mark.parametrize("content", WRONG_SHAPES, ids=range(len(WRONG_SHAPES)))
def test_6_cache_of_any_shape_is_ignored_and_rebuilt(tmp_path, content):
    (tmp_path / "a.py").write_text(BUGGY)
    (tmp_path / "b.py").write_text("import torch\nfrom a import f\ny = f(torch.ones(2))\n")
    files = sorted(tmp_path.glob("*.py"))
    cache_dir = tmp_path / ".tensorlint_cache"
    settings = settings_for()
    first = check_files(files, settings, Cache(cache_dir, "k"), workers=1, project_root=tmp_path)
    expected = [(Path(r.path).name, d.code, d.location.row) for r in first for d in r.diagnostics]
    assert ("a.py", "TL001", 4) in expected
    from tensorlint import __version__

    (entries,) = cache_dir.glob(f"v{__version__}-*.json")
    for path in (entries, cache_dir / f"facts-v{__version__}.json"):
        path.write_text(content, encoding="utf-8", errors="surrogateescape")
    assert Cache(cache_dir, "k").facts() == {}
    again = check_files(files, settings, Cache(cache_dir, "k"), workers=1, project_root=tmp_path)
    assert [(Path(r.path).name, d.code, d.location.row) for r in again for d in r.diagnostics] == expected
    # and rebuilt: the next run is served from a valid cache
    cache = Cache(cache_dir, "k")
    third = check_files(files, settings, cache, workers=1, project_root=tmp_path)
    assert [(Path(r.path).name, d.code, d.location.row) for r in third for d in r.diagnostics] == expected
    assert cache.hits == 2


def test_6_cache_written_by_hand_in_the_right_shape_is_not_trusted(tmp_path):
    """A well-formed entry with the right key but made-up findings: no checksum, no trust."""
    (tmp_path / "a.py").write_text(BUGGY)
    cache_dir = tmp_path / ".tensorlint_cache"
    check_files([tmp_path / "a.py"], settings_for(), Cache(cache_dir, "k"), workers=1)
    (cache_file,) = cache_dir.glob("v*.json")
    data = json.loads(cache_file.read_text())
    for entry in data["entries"].values():
        entry["diagnostics"] = []
    cache_file.write_text(json.dumps(data))
    (result,) = check_files([tmp_path / "a.py"], settings_for(), Cache(cache_dir, "k"), workers=1)
    assert [d.code for d in result.diagnostics] == ["TL001"]


# 10. --fix on a read-only file: no "Fixed", the error is reported, the finding stays.
def test_10_fix_that_cannot_be_written_reports_and_keeps_the_finding(tmp_path, monkeypatch, capsysbinary):
    (tmp_path / "ro.py").write_text(BUGGY)

    def refuse(self, data):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_bytes", refuse)
    code, out, err = _cli(monkeypatch, capsysbinary, tmp_path, "--fix", "--no-cache", "--output-format", "concise", "ro.py")
    text = out.decode()
    assert "Fixed" not in text
    assert "ro.py:4:12: TL001" in text
    assert "ro.py: cannot write the fixed file: Permission denied" in err
    assert code == 2
    assert (tmp_path / "ro.py").read_text() == BUGGY


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes read-only files")
def test_10_read_only_file_for_real(tmp_path, monkeypatch, capsysbinary):
    target = tmp_path / "ro.py"
    target.write_text(BUGGY)
    target.chmod(0o444)
    code, out, err = _cli(monkeypatch, capsysbinary, tmp_path, "--fix", "--no-cache", "--output-format", "concise", "ro.py")
    assert "Fixed" not in out.decode() and "TL001" in out.decode() and "cannot write" in err and code == 2


def test_fix_never_overwrites_an_edit_made_during_the_run(tmp_path, monkeypatch):
    """`--fix` compares the file with what it read before writing."""
    import tensorlint.fixer as fixer  # the runner imports fix_text from it when it runs

    target = tmp_path / "a.py"
    target.write_text(BUGGY)
    real = fixer.fix_text

    def edit_meanwhile(*args, **kwargs):
        target.write_text(BUGGY + "# edited\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(fixer, "fix_text", edit_meanwhile)
    (result,) = check_files([target], settings_for(), Cache(None, "k"), mode="fix", workers=1)
    assert target.read_text() == BUGGY + "# edited\n"
    assert result.fixed == 0 and "changed while it was being checked" in result.write_error
    assert [d.code for d in result.diagnostics] == ["TL001"]


# 11. The "cannot read file" finding carries its filename (a dangling symlink).
def test_11_unreadable_file_finding_has_its_filename(tmp_path, monkeypatch, capsysbinary):
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    code, out, _ = _cli(monkeypatch, capsysbinary, tmp_path, "--no-cache", "--output-format", "concise")
    assert out.decode().startswith("dangling.py:1:1: TL000 [syntax-error] cannot read file: No such file or directory")
    assert code == 1
    (result,) = check_files([tmp_path / "dangling.py"], settings_for(), Cache(None, "k"))
    assert [d.filename for d in result.diagnostics] == [str(tmp_path / "dangling.py")]


# 12. The walk and the prefilter: FIFO, UTF-16, deeply nested pyproject.toml.
def test_12_fifo_named_py_does_not_hang_the_walk(tmp_path):
    (tmp_path / "ok.py").write_text(BUGGY)
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "link.py").symlink_to(tmp_path / "pipe.py")
    proc = subprocess.run(
        [sys.executable, "-m", "tensorlint", "check", "--isolated", "--no-cache", "--output-format", "concise"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1 and "ok.py:4:12: TL001" in proc.stdout and "pipe.py" not in proc.stdout and "link.py" not in proc.stdout


def test_12_fifo_passed_explicitly_is_skipped_with_a_warning(tmp_path):
    from tensorlint.discovery import Discovery

    os.mkfifo(tmp_path / "pipe.py")
    discovery = Discovery(root=tmp_path, exclude=())
    assert discovery.files([tmp_path / "pipe.py"]) == []
    assert discovery.warnings == [(str(tmp_path / "pipe.py"), "not a regular file")]


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-32-le", b"\xff\xfe\x00\x00")])
def test_12_utf16_source_is_decoded_linted_and_fixed_in_its_encoding(tmp_path, monkeypatch, capsysbinary, codec, bom):
    target = tmp_path / "wide.py"
    target.write_bytes(bom + LEGACY.encode(codec))
    code, out, _ = _cli(monkeypatch, capsysbinary, tmp_path, "--no-cache", "--output-format", "concise")
    assert "wide.py:2:5: TL301" in out.decode() and code == 1
    _cli(monkeypatch, capsysbinary, tmp_path, "--no-cache", "--fix")
    assert target.read_bytes() == bom + FIXED_LEGACY.encode(codec)


@pytest.mark.parametrize("ours", [False, True])
def test_12_deeply_nested_pyproject_is_no_internal_error(tmp_path, monkeypatch, capsysbinary, ours):
    header = "[tool.tensorlint]\nselect = ['ALL']\n" if ours else "[tool.other]\n"
    (tmp_path / "pyproject.toml").write_text(header + "x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    (tmp_path / "a.py").write_text(BUGGY)
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--no-cache", "--output-format", "concise"])
    out, err = capsysbinary.readouterr()
    assert "internal error" not in err.decode()
    if ours:
        assert code == 2 and "invalid TOML" in err.decode() and "nested too deeply" in err.decode()
    else:
        assert code == 1 and b"TL001" in out


# 13. Ctrl-C: one line, exit 130, no worker tracebacks.
def test_13_ctrl_c_is_one_line_and_exit_130(tmp_path):
    for i in range(12):
        (tmp_path / f"f{i}.py").write_text(BUGGY)
    # files that keep the workers busy long enough to be interrupted
    for i in range(6):
        (tmp_path / f"slow{i}.py").write_text(f"import torch\nx{i} = " + " + ".join(["x"] * 2900) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorlint", "check", "--isolated", "--no-cache", "-j", "2", "--file-timeout", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    time.sleep(8)  # past the interpreter's start-up, even on a busy machine
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 1 or proc.returncode == 0:
        pytest.skip("the run finished before the interrupt")
    assert proc.returncode == 130
    assert err.strip() == "tensorlint: interrupted"


# 1 and 2. No single file holds a run hostage.
def _buggy_folder(tmp_path: Path, n: int = 9) -> None:
    for i in range(n):
        (tmp_path / f"f{i}.py").write_text(BUGGY)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_1_deep_nesting_is_a_finding_not_a_crash_or_a_hang(tmp_path, jobs):
    """2,000 nested parentheses made libcst's native parser segfault (exit -11 alone, a
    hang with two workers). CPython's own compiler rejects them first."""
    _buggy_folder(tmp_path)
    (tmp_path / "deep.py").write_text("import torch\nx = " + "(" * 2000 + "1" + ")" * 2000 + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tensorlint", "check", "--isolated", "--no-cache", "-j", jobs, "--output-format", "concise"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "deep.py:2:205: TL000 [syntax-error] SyntaxError: too many nested parentheses" in proc.stdout
    assert proc.stdout.count("TL001") == 9


def _hostile_rule(monkeypatch, action):
    """A rule that crashes its worker or runs away on files named bad.py."""
    import tensorlint.engine as engine
    import tensorlint.selection as selection
    from tensorlint.rules import all_rules
    from tensorlint.rules.base import Rule

    class Hostile(Rule):
        """Misbehaves on bad.py."""

        code, name, summary = "TL998", "hostile", "test rule"

        def visit_Module(self, node):
            if self.ctx.path.endswith("bad.py"):
                action()

    rules = (*all_rules(), Hostile)
    monkeypatch.setattr(engine, "all_rules", lambda: rules)
    monkeypatch.setattr(selection, "all_rules", lambda: rules)


def _segfault():
    os.kill(os.getpid(), signal.SIGSEGV)


def _spin():
    while True:
        pass


@pytest.mark.parametrize("jobs", [1, 2])
def test_1_a_crashing_worker_is_replaced_and_every_other_file_reported(tmp_path, monkeypatch, jobs):
    _hostile_rule(monkeypatch, _segfault)
    _buggy_folder(tmp_path)
    (tmp_path / "bad.py").write_text(BUGGY + "# bad\n")
    files = sorted(tmp_path.glob("*.py"))
    results = check_files(files, settings_for(("TL000", "TL001", "TL998")), Cache(None, "k"), workers=jobs, file_timeout=30)
    by_name = {Path(r.path).name: r for r in results}
    (bad,) = by_name.pop("bad.py").diagnostics
    assert bad.code == "TL000" and "crashed" in bad.message and "SIGSEGV" in bad.message
    assert bad.filename.endswith("bad.py")
    assert all([d.code for d in r.diagnostics] == ["TL001"] for r in by_name.values()) and len(by_name) == 9


def test_2_a_runaway_file_hits_the_time_limit_and_the_run_goes_on(tmp_path, monkeypatch):
    _hostile_rule(monkeypatch, _spin)
    _buggy_folder(tmp_path, 3)
    (tmp_path / "bad.py").write_text(BUGGY + "# bad\n")
    files = sorted(tmp_path.glob("*.py"))
    cache = Cache(tmp_path / "cache", "k")
    start = time.monotonic()
    results = check_files(files, settings_for(("TL000", "TL001", "TL998")), cache, workers=2, file_timeout=1)
    assert time.monotonic() - start < 60
    by_name = {Path(r.path).name: r for r in results}
    (bad,) = by_name.pop("bad.py").diagnostics
    assert bad.code == "TL000" and bad.message.startswith("file too complex") and "file-timeout" in bad.message
    assert all([d.code for d in r.diagnostics] == ["TL001"] for r in by_name.values())
    # a time limit depends on the machine: never cached
    from tensorlint.cache import content_key

    later = Cache(tmp_path / "cache", "k")
    assert later.get(content_key(BUGGY.encode())) is not None
    assert later.get(content_key((BUGGY + "# bad\n").encode())) is None


def test_2_file_timeout_config_key_and_flag(tmp_path, monkeypatch, capsysbinary):
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\nfile-timeout = 'soon'\n")
    (tmp_path / "a.py").write_text(BUGGY)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache"]) == 2
    assert b"file-timeout` must be a number of seconds" in capsysbinary.readouterr().err
    (tmp_path / "pyproject.toml").write_text("[tool.tensorlint]\nfile-timeout = 2.5\n")
    assert main(["check", "--no-cache", "-q"]) == 1
    assert main(["check", "--no-cache", "-q", "--file-timeout", "-1"]) == 2
    from tensorlint.config import DEFAULT_FILE_TIMEOUT, find_config, load_config

    assert load_config(find_config(tmp_path), tmp_path).file_timeout == 2.5
    assert 1 <= DEFAULT_FILE_TIMEOUT <= 10


# 2. The small pathological files of the issue took 60-300 s each in libcst's parser.
@pytest.mark.parametrize(
    "body",
    [
        "x = " + " + ".join(["x"] * 5000),  # 20 KB of `x + x + ...`
        "x = " + "torch.log(1 + " * 500 + "x" + ")" * 500,
        "x = y" + ".relu()" * 10_000,
        "x = " + " if c else ".join(["a"] * 5000),
    ],
    ids=["sum", "nested-log", "relu-chain", "conditionals"],
)
def test_2_pathological_files_are_tl000_in_seconds(body):
    start = time.monotonic()
    (finding,) = lint("import torch\n" + body + "\n")
    assert finding.code == "TL000"
    assert time.monotonic() - start < 15


# 9. Code that CPython rejects but libcst accepts is TL000.
@pytest.mark.parametrize(
    "code",
    [
        "import torch\nx = torch.tensor(1)  # a NUL \x00 here\n",
        "import torch\nx = torch.tensor(" + "[" * 201 + "]" * 201 + ")\n",
        "import torch\ny = 1\nx = f\"{'\\n'.join(['torch'])}\"\n",  # a backslash in an f-string expression (< 3.12)
        "import torch\ndef f(x: torch.Tensor):\n    return torch.tensor(x)\nreturn 1\n",  # compile(), not just parse
    ],
    ids=["nul", "nesting", "fstring-backslash", "return-outside-function"],
)
def test_9_what_cpython_rejects_is_tl000(code):
    rejects = True
    try:
        compile(code, "x.py", "exec")
    except (SyntaxError, ValueError):
        pass
    else:
        rejects = False
    if not rejects:
        pytest.skip("this Python accepts it")
    found = lint(code)
    assert [d.code for d in found] == ["TL000"]
    outcome = fix_text(code, "x.py", settings_for(), unsafe=True)
    assert outcome.text == code and outcome.applied == 0


def test_9_too_deep_for_cpython_is_tl000_quickly():
    """3,000 terms in one expression: `python file.py` refuses it (RecursionError during
    compilation); libcst would take long and could overflow its stack."""
    code = "import torch\nx = " + " + ".join(["torch.ones(1)"] * 3000) + "\n"
    start = time.monotonic()
    (finding,) = lint(code)
    assert finding.code == "TL000" and "too complex" in finding.message
    assert time.monotonic() - start < 10


# 8. TL301 inside an f-string: no fix; and one bad fix does not cost the file its others.
def test_8_tl301_offers_no_fix_inside_an_fstring():
    code = 'import torch\nprint(f"{torch.cuda.FloatTensor([1])}")\ny = torch.cuda.FloatTensor([2])\n'
    found = [d for d in lint(code) if d.code == "TL301"]
    assert [(d.location.row, d.fix is not None) for d in found] == [(2, False), (3, True)]
    assert fix(code, select=["TL301"]) == (
        'import torch\nprint(f"{torch.cuda.FloatTensor([1])}")\ny = torch.tensor([2], dtype=torch.float32, device="cuda")\n'
    )


def test_8_no_rule_gets_a_fix_inside_an_fstring():
    """The engine drops any fix whose edit lies inside an f-string (TL001's fix here)."""
    code = 'import torch\ndef f(x: torch.Tensor):\n    print(f"{torch.tensor(x)}")\n    return torch.tensor(x)\n'
    found = [d for d in lint(code) if d.code == "TL001"]
    assert [(d.location.row, d.fix is not None) for d in found] == [(3, False), (4, True)]


def test_8_a_fix_that_breaks_the_file_is_dropped_alone():
    source = "import torch\na = torch.FloatTensor([1])\nb = 2\n"
    settings = settings_for(("TL301",))
    (good,) = lint(source, select=["TL301"])
    bad = Diagnostic(
        "TL999", "bad", "bad", Severity.WARNING, Location(3, 1), Location(3, 6),
        Fix(Applicability.SAFE, "breaks", (Edit("b = (", Location(3, 1), Location(3, 6)),)),
    )
    outcome = fix_text(source, "x.py", settings, False, diagnostics=[good, bad])
    assert outcome.text == "import torch\na = torch.tensor([1], dtype=torch.float32)\nb = 2\n"
    assert outcome.applied == 1
    assert "that fix was not applied" in outcome.error


# 7. Fix edits are computed from node positions and the original text.
def test_7_fix_edits_do_not_reprint_the_module(monkeypatch):
    body = "".join(f"    x{i} = torch.FloatTensor([{i}])\n" for i in range(40))
    code = f"import torch\ndef f():\n{body}    return x0\n"

    def no_reprint(*args, **kwargs):
        raise AssertionError("the whole module was replaced and printed for one fix")

    monkeypatch.setattr(cst.Module, "deep_replace", no_reprint)
    found = lint(code, select=["TL301"])
    assert len(found) == 40 and all(d.fix is not None for d in found)
    edit = found[5].fix.edits[0]
    assert (edit.location.row, edit.location.column, edit.end_location.column) == (8, 10, 32)
    assert edit.content == "torch.tensor([5], dtype=torch.float32)"


def test_7_multi_line_replacement_keeps_its_indentation():
    code = (
        "import torch\n"
        "class M:\n"
        "    def f(self):\n"
        "        if True:\n"
        "            return torch.FloatTensor([\n"
        "                1,\n"
        "                2,\n"
        "            ])\n"
    )
    fixed = fix(code, select=["TL301"])
    assert fixed == code.replace("torch.FloatTensor([", "torch.tensor([").replace("            ])\n", "            ], dtype=torch.float32)\n")


CONTINUATION = (
    "import torch\n"
    "def f(unk):\n"
    "    if unk:\n"
    "        probs = [\n"
    "            # step 0:\n"
    "            torch.FloatTensor(\n"
    "                [\n"
    "                    # eos   w1\n"
    "                    [0.0, unk],  # beam 1\n"
    "                ]\n"
    "            ),\n"
    "            torch.FloatTensor([1.0,\n"
    "                               2.0]),\n"
    "        ]\n"
    "    return probs\n"
)


def test_7_a_node_on_a_continuation_line_is_fixed_without_reprinting_the_module(monkeypatch):
    """fairseq's test_sequence_generator.py: multi-line tensors as list elements took 10x
    the file's parse, each fix reprinting the whole module (libcst indents a bracket's
    continuation lines from the statement's block, not from the element's own line)."""

    def no_reprint(*args, **kwargs):
        raise AssertionError("the whole module was replaced and printed for one fix")

    monkeypatch.setattr(cst.Module, "deep_replace", no_reprint)
    found = lint(CONTINUATION, select=["TL301"])
    assert [d.location.row for d in found] == [6, 12] and all(d.fix is not None for d in found)


def test_7_continuation_line_fixes_equal_the_whole_module_reprint(monkeypatch):
    from tensorlint import engine

    fixed = fix(CONTINUATION, select=["TL301"])
    assert "torch.FloatTensor" not in fixed and fixed.count("dtype=torch.float32") == 2
    monkeypatch.setattr(engine, "_context_indent", lambda *args: None)  # always the fallback
    assert fix(CONTINUATION, select=["TL301"]) == fixed


# Trust boundary: the linter never runs the code or the configuration it reads.
def test_trust_boundary_checked_code_is_never_run(tmp_path, monkeypatch, capsysbinary):
    marker = tmp_path / "ran"
    (tmp_path / "evil.py").write_text(
        f"import torch\nopen({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\nx = torch.FloatTensor([1])\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.tensorlint]\ncache-dir = \"__import__('os').system('touch {marker}')\"\n"
    )
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--no-cache", "--fix"])
    assert not marker.exists()
    assert code == 0 and "torch.tensor([1], dtype=torch.float32)" in (tmp_path / "evil.py").read_text()


def test_isolated_run_works_from_a_thread(tmp_path):
    """Editor integrations call the library from threads: no signal handling there."""
    import threading

    _buggy_folder(tmp_path, 2)
    out = []
    thread = threading.Thread(target=lambda: out.append(
        check_files(sorted(tmp_path.glob("*.py")), settings_for(), Cache(None, "k"), workers=2, file_timeout=30)))
    thread.start()
    thread.join(120)
    (results,) = out
    assert [[d.code for d in r.diagnostics] for r in results] == [["TL001"], ["TL001"]]


def test_two_concurrent_runs_sharing_a_cache_leave_it_valid(tmp_path):
    for i in range(10):
        (tmp_path / f"f{i}.py").write_text(BUGGY + f"# {i}\n")
    command = [sys.executable, "-m", "tensorlint", "check", "--isolated", "-j", "1", "--output-format", "concise"]
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [1, 1] and outputs[0][0] == outputs[1][0]
    assert outputs[0][0].count("TL001") == 10
    (entries,) = (tmp_path / ".tensorlint_cache").glob("v*.json")
    from tensorlint.cache import read_signed as _read

    assert len(_read(entries, "entries")) == 10  # whole, and signed
    assert not list((tmp_path / ".tensorlint_cache").glob(".tmp-*"))


# 12 (project index). An import that names a FIFO never blocks: the index does not read
# it, and a warm run whose recorded dependency became a FIFO does not open it to hash it.
FIFO_MODELS = (
    "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.drop = nn.Dropout(0.5)\n\n    def forward(self, x):\n        return self.drop(x)\n"
)
FIFO_INFER = "import torch\n\nfrom models import Net\n\nmodel = Net()\nwith torch.no_grad():\n    y = model(torch.ones(2))\n"


def test_12_project_index_never_reads_an_imported_fifo(tmp_path):
    (tmp_path / "infer.py").write_text(FIFO_INFER)
    os.mkfifo(tmp_path / "models.py")
    probe = (
        "import sys; from pathlib import Path\n"
        "from tensorlint.semantics.project import ProjectIndex\n"
        "from tensorlint.cache import Stamps\n"
        "root = Path(sys.argv[1]); fifo = root / 'models.py'\n"
        "index = ProjectIndex(root)\n"
        "print(index.file(fifo), repr(index.content_hash(fifo)), index.unchanged(fifo, 'abc:1:2'),\n"
        "      Stamps().unchanged(str(fifo), 'abc:1:2'), index.module_file('models', root / 'infer.py'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["None", "''", "False", "False", "None"], proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tensorlint", "check", "--isolated", "--no-cache", "--output-format", "concise", "infer.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_12_warm_run_whose_dependency_became_a_fifo_does_not_hang(tmp_path):
    (tmp_path / "models.py").write_text(FIFO_MODELS)
    (tmp_path / "infer.py").write_text(FIFO_INFER)
    command = [sys.executable, "-m", "tensorlint", "check", "--isolated", "--extend-select", "TL103",
               "--output-format", "concise", "infer.py"]
    cold = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert cold.returncode == 1 and "infer.py:7:9: TL103" in cold.stdout  # models.py was read: a dependency
    (tmp_path / "models.py").unlink()
    os.mkfifo(tmp_path / "models.py")
    warm = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert warm.returncode == 0 and "TL103" not in warm.stdout, warm.stdout + warm.stderr  # Net is unknown now


# scripts/fix_safety.py: a tiny tree goes through (every fix compiles, idempotent, AST
# diff only at the fix sites), and the AST-diff check does catch a change away from them.
def _fix_safety():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fix_safety", REPO / "scripts" / "fix_safety.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fix_safety_script_on_a_tiny_tree(tmp_path):
    tree = tmp_path / "proj"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "train.py").write_text(
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
        "def f(x, logits, labels):\n    w = torch.FloatTensor([1, 2])\n    z = torch.log(1 + x)\n"
        "    loss = F.cross_entropy(F.softmax(logits, dim=1), labels)\n    return w, z, loss, torch.exp(x) - 1\n\n\n"
        "class Net(nn.Module):\n    def forward(self, x):\n        return F.dropout(x, p=0.1)\n"
    )
    (tree / "pkg" / "clean.py").write_text("import torch\n\nx = torch.zeros(3)\n")
    (tree / "notes.txt").write_text("not python\n")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "fix_safety.py"), str(tree), "--json", str(tmp_path / "r.json"),
                           "--jobs", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["files"] == 2 and result["changed_files"] == 1 and result["failures"] == []
    assert result["fixable"] == {"TL101": 1, "TL202": 1, "TL204": 1, "TL205": 1, "TL301": 1}
    assert "failures: 0" in proc.stdout and "TL301: 1" in proc.stdout
    assert (tree / "pkg" / "train.py").read_text().count("torch.log(1 + x)") == 1  # the original is untouched


def test_fix_safety_ast_diff_is_limited_to_the_sites():
    changes_outside = _fix_safety().ast_changes_outside
    old = "import torch\n\ndef f(x):\n    a = torch.log(1 + x)\n    b = x * 2\n    return a, b\n"
    at_site = old.replace("torch.log(1 + x)", "torch.log1p(x)")
    assert changes_outside(old, at_site, [(4, 4)]) == []
    away = at_site.replace("x * 2", "x * 3")  # a second change, on a row no edit touched
    assert changes_outside(old, away, [(4, 4)]) == ["value 2 -> 3 changed at old rows 5-5 (no fix site there)"]
    inserted = old.replace("    a = ", "    x.eval()\n    a = ")
    assert changes_outside(old, inserted, [(4, 4)]) == []  # inserted right at the site
    assert changes_outside(old, inserted, [(6, 6)]) == ["Expr inserted at old rows 3-4 (no fix site there)"]
    assert changes_outside(old, old, []) == []


# Per-file limit on a busy machine: a worker that keeps getting CPU, however little, is
# waiting for a processor, not blocked; only one without CPU progress for 4x the limit
# + 10 s of wall time is stopped. (Under a load of 20 on 2 cores, files that needed 1 s
# of CPU were reported as "file too complex" after 30 s of wall time.)
def test_file_timeout_wall_fallback_only_stops_workers_without_cpu_progress(monkeypatch):
    from types import SimpleNamespace

    from tensorlint import runner

    pool = runner._Pool.__new__(runner._Pool)
    pool._limit = 1.0
    replaced = []
    monkeypatch.setattr(pool, "_replace", replaced.append, raising=False)
    job = runner.Job("slow.py", b"x = 1\n", settings_for(), "check", False)
    now = time.monotonic()

    def worker(cpu_now: float, cpu_seen: float):
        return SimpleNamespace(job=job, started=now - 200, wall_start=now - 200, cpu_seen=cpu_seen, cpu_used=lambda: cpu_now)

    busy = worker(cpu_now=0.5, cpu_seen=0.4)  # 200 s of wall, but it ran since the last look
    assert pool._over_time(busy) is None and replaced == []
    assert busy.cpu_seen == 0.5 and busy.wall_start >= now and busy.started == pytest.approx(busy.wall_start - 0.5)
    blocked = worker(cpu_now=0.4, cpu_seen=0.4)  # no CPU since the last look, 200 s ago
    result = pool._over_time(blocked)
    assert [d.message for d in result.diagnostics] == [
        "file too complex: checking it took more than 1 s (file-timeout); it was not checked"] and replaced == [blocked]
    over = worker(cpu_now=1.2, cpu_seen=0.4)  # over the CPU limit: stopped whatever the wall time
    assert pool._over_time(over).diagnostics[0].code == "TL000"


def _block():
    time.sleep(3600)  # no CPU: as a read from a FIFO that never gets a writer


def test_2_a_blocked_worker_is_stopped_by_the_wall_clock_fallback(tmp_path, monkeypatch):
    _hostile_rule(monkeypatch, _block)
    _buggy_folder(tmp_path, 2)
    (tmp_path / "bad.py").write_text(BUGGY + "# bad\n")
    start = time.monotonic()
    results = check_files(sorted(tmp_path.glob("*.py")), settings_for(("TL000", "TL001", "TL998")), Cache(None, "k"),
                          workers=2, file_timeout=0.5)
    assert time.monotonic() - start < 100  # 4 x 0.5 s + 10 s without CPU progress, on a busy machine more
    by_name = {Path(r.path).name: r for r in results}
    (bad,) = by_name.pop("bad.py").diagnostics
    assert bad.code == "TL000" and bad.message.startswith("file too complex")
    assert all([d.code for d in r.diagnostics] == ["TL001"] for r in by_name.values())
