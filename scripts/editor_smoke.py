"""Try the README's Neovim set-up for `tensorlint server` in a real, headless Neovim.

    python scripts/editor_smoke.py                 # the `nvim` on PATH
    python scripts/editor_smoke.py --nvim /path/to/nvim --nvim nvim

For each Neovim and each Lua snippet of the README's *Editors* section that the
Neovim's version is recent enough for, this writes the snippet as the only `init.lua`
(`nvim --clean -u init.lua --headless`), opens a Python file of a small temporary
project with a known finding, and has `scripts/editor_smoke.lua` act as the user:
diagnostics on open, hover (request and float), the code-action menu and its quick
fix, an unsaved edit (with non-ASCII text before the finding), "Disable for this line",
the README's fix-all call, a save, and `[tool.tensorlint]` settings. It prints one line
per check and exits 1 if any failed.

The `tensorlint` on PATH is used, as the README's `cmd = { "tensorlint", "server" }`
says; this script puts its own interpreter's `bin` folder first on PATH, so run it with
the Python that has tensorlint (and its `server` extra) installed.

Without Neovim it prints why and exits 0. Not part of pytest or CI (it needs an editor).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).with_name("editor_smoke.lua")

PYPROJECT = '[tool.tensorlint]\nper-file-ignores = { "cfg.py" = ["TL001"] }\n'
BAD = "import torch\nx = torch.tensor(torch.ones(2))\n"
CFG = "import torch\ndrop = torch.nn.Dropout(p=1.5)\nx = torch.tensor(torch.ones(2))\n"


def readme_snippets() -> list[tuple[tuple[int, int], str]]:
    """The README's Neovim Lua blocks, each with the Neovim version it says it is for
    (the first `0.N` in the text just above the block)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("**Neovim**")
    section = text[start : text.index("**Helix**", start)]
    snippets = []
    for match in re.finditer(r"```lua\n(.*?)```", section, re.S):
        before = section[: match.start()].rsplit("```", 1)[-1]
        versions = re.findall(r"\b0\.(\d+)\b", before)
        snippets.append(((0, int(versions[0]) if versions else 0), match.group(1)))
    return snippets


def nvim_version(nvim: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


def expect(steps: dict) -> list[tuple[str, bool, object]]:
    """(check, passed, what was seen) for each check."""
    edited = 's = "h\u00e9llo w\u00f6rld \U0001f600"; y = torch.tensor(torch.ones(3))'

    def waited(name):
        value = steps.get(name) or {}
        return value.get("ok") is True, value.get("got")

    checks = [
        ("server attached, root = project", bool(steps.get("attached")) and steps["attached"].get("root_dir") == steps["_project"], steps.get("attached")),
        ("diagnostics on open (TL001 at 2:5)", *waited("open")),
        ("hover request shows the rule doc", "tensor-copy-construct (TL001)" in (steps.get("hover") or ""), steps.get("hover")),
        ("hover float (K) shows the rule doc", "TL001" in (steps.get("hover_float") or ""), steps.get("hover_float")),
        (
            "code-action menu: fix, noqa, fix all",
            any("Replace with" in t for t in steps.get("actions") or [])
            and any("Disable for this line" in t for t in steps.get("actions") or [])
            and any("Fix all" in t for t in steps.get("actions") or []),
            steps.get("actions"),
        ),
        ("quick fix applied", steps.get("fixed_line") == "x = torch.ones(2).detach().clone()", steps.get("fixed_line")),
        ("diagnostics cleared after the fix (unsaved)", *waited("after_fix")),
        ("unsaved edit re-checked, column right after non-ASCII", *waited("unsaved_edit")),
        ("buffer really unsaved", steps.get("modified") is True, steps.get("modified")),
        ("Disable for this line", steps.get("noqa_line") == edited + "  # noqa: TL001", steps.get("noqa_line")),
        ("diagnostics cleared after noqa", *waited("after_noqa")),
        ("two findings before fix all", *waited("two_findings")),
        (
            "README fix-all call",
            steps.get("fix_all_text")
            == ["import torch", "a = torch.ones(2).detach().clone()", "b = torch.zeros(2).detach().clone()"],
            steps.get("fix_all_text"),
        ),
        ("diagnostics cleared after fix all", *waited("after_fix_all")),
        ("file written by :write", steps.get("saved") == BAD.rstrip("\n"), steps.get("saved")),
        ("diagnostics after save", *waited("after_save")),
        ("[tool.tensorlint] per-file-ignores applied", *waited("config")),
        ("config edited on disk, then :edit", *waited("config_edit")),
        ("one server for both files", steps.get("one_server") == 1, steps.get("one_server")),
        ("no Lua error", "error" not in steps, steps.get("error")),
    ]
    return checks


def leftover_servers(tag: str) -> list[int]:
    """Processes that still carry this run's tag in their environment."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"TENSORLINT_SMOKE_TAG={tag}".encode() in (proc / "environ").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def run_one(nvim: str, snippet: str) -> tuple[bool, list[str]]:
    with tempfile.TemporaryDirectory(prefix="tl-editor-smoke-") as tmp:
        tmp_path = Path(tmp).resolve()
        project = tmp_path / "proj"
        project.mkdir()
        (project / "pyproject.toml").write_text(PYPROJECT)
        (project / "bad.py").write_text(BAD)
        (project / "cfg.py").write_text(CFG)
        init = tmp_path / "init.lua"
        init.write_text(snippet)
        out = tmp_path / "out.json"
        tag = uuid.uuid4().hex
        env = dict(
            os.environ,
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            SMOKE_OUT=str(out),
            TENSORLINT_SMOKE_TAG=tag,
            XDG_STATE_HOME=str(tmp_path / "state"),  # the LSP log of this run only
            XDG_CACHE_HOME=str(tmp_path / "cache"),
        )
        started = time.monotonic()
        proc = subprocess.run(
            [nvim, "--clean", "-u", str(init), "--headless", "bad.py", "-c", f"luafile {DRIVER}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        elapsed = time.monotonic() - started
        lines = [f"  nvim exited {proc.returncode} after {elapsed:.1f} s"]
        if proc.stderr.strip() or proc.stdout.strip():
            lines.append("  nvim said: " + (proc.stderr + proc.stdout).strip().replace("\n", "\n    "))
        if not out.exists():
            return False, [*lines, "  FAIL: the driver wrote no results"]
        steps = {s["name"]: s.get("value") for s in json.loads(out.read_text(encoding="utf-8"))}
        steps["_project"] = str(project)
        checks = expect(steps)
        deadline = time.monotonic() + 5
        while leftover_servers(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = leftover_servers(tag)
        checks.append(("server exited with Neovim", not left, left))
        log = Path(steps.get("log_path") or "")
        errors = []
        if log.is_file():
            errors = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if "ERROR" in ln]
        checks.append(("no errors in Neovim's LSP log", not errors, errors[:5]))
        lines.append(f"  server attached with position encoding {(steps.get('attached') or {}).get('encoding')}")
        for name, passed, seen in checks:
            lines.append(f"  {'ok  ' if passed else 'FAIL'} {name}" + ("" if passed else f": got {seen!r}"))
        return all(passed for _, passed, _ in checks), lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nvim", action="append", help="a Neovim binary (repeatable; default: nvim on PATH)")
    args = parser.parse_args(argv)
    nvims = args.nvim or ([shutil.which("nvim")] if shutil.which("nvim") else [])
    if not nvims:
        print("editor_smoke: skipped: nvim is not installed (apt-get install neovim, or pass --nvim PATH)")
        return 0
    if shutil.which("tensorlint", path=str(Path(sys.executable).parent)) is None:
        print(f"editor_smoke: tensorlint is not installed for {sys.executable}", file=sys.stderr)
        return 2
    snippets = readme_snippets()
    if not snippets:
        print("editor_smoke: no ```lua block found in the README's Neovim part", file=sys.stderr)
        return 1
    failed = False
    for nvim in nvims:
        version = nvim_version(nvim)
        if version is None:
            print(f"editor_smoke: {nvim}: not a Neovim that runs", file=sys.stderr)
            failed = True
            continue
        for number, (needs, snippet) in enumerate(snippets, start=1):
            title = f"{nvim} (v{version[0]}.{version[1]}), README Neovim snippet {number} (for {needs[0]}.{needs[1]}+)"
            if version < needs:
                print(f"{title}: skipped, this Neovim is older")
                continue
            passed, lines = run_one(nvim, snippet)
            print(f"{title}: {'PASS' if passed else 'FAIL'}")
            print("\n".join(lines))
            failed |= not passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
