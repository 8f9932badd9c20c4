"""Shared test helpers: lint a snippet, fix a snippet (with round-trip and idempotence checks),
run the CLI. A plain module (not conftest.py) so that tests/runtime/conftest.py cannot shadow it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst

from tensorlint.engine import LintSettings, lint_source
from tensorlint.fixer import fix_text
from tensorlint.selection import resolve_all

REPO = Path(__file__).resolve().parents[1]


def settings_for(select=("ALL",), **kwargs) -> LintSettings:
    return LintSettings(enabled=resolve_all(select), **kwargs)


def lint(code: str, select=("ALL",), path: str = "snippet.py", **kwargs):
    """Diagnostics for a dedented snippet, limited to the selected rules."""
    return lint_source(textwrap.dedent(code), path, settings_for(select, **kwargs))


def codes(code: str, select=("ALL",), **kwargs) -> list[str]:
    return [d.code for d in lint(code, select, **kwargs)]


def fix(code: str, select=("ALL",), unsafe: bool = False, **kwargs) -> str:
    """Apply fixes; assert the result parses, is stable, and a second pass fixes nothing."""
    source = textwrap.dedent(code)
    settings = settings_for(select, **kwargs)
    first = fix_text(source, "snippet.py", settings, unsafe)
    assert first.error is None, first.error
    cst.parse_module(first.text)
    compile(first.text, "snippet.py", "exec")
    second = fix_text(first.text, "snippet.py", settings, unsafe)
    assert second.applied == 0, f"fix is not idempotent:\n{first.text}\n---\n{second.text}"
    assert second.text == first.text
    return first.text


def run_cli(*args, cwd=None, input=None, env=None, check_rc=None):
    """Run `python -m tensorlint` in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    full_env["NO_COLOR"] = "1"
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "tensorlint", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, (proc.returncode, proc.stdout, proc.stderr)
    return proc

