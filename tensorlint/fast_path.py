"""`tensorlint check FILE.py ...` answered from the cache before the command line loads.

Editors on save and pre-commit on a small commit run the linter on a few files that
are usually unchanged. The full command line (argparse, dataclasses, the configuration
and discovery machinery) costs several times Python's own start-up, so the plainest
case is answered here with the standard library's cheapest modules: explicit `.py`
files, no options, no tensorlint configuration at or above the working folder, no
TENSORLINT_OUTPUT_FORMAT, and a cache entry for every file whose dependencies are
unchanged. The findings are printed in the default (full) format by the renderer that
the full command line uses too (output/full_text.py), with the same summary and exit
code. Anything else returns None and the full command line runs; it then answers the
same (tests/test_startup.py checks both agree byte for byte).
"""

from __future__ import annotations

import os
import sys

from tensorlint import __version__
from tensorlint.cache import CACHE_DIR_NAME, Stamps, content_key, entry_for, settings_key
from tensorlint.locations import CONFIG_NAMES, default_codes

# UTF-16/32 text can hold `torch` without the bytes (source.wide_bom: the full path checks it)
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_SEVERITIES = ("error", "warning", "info")
_APPLICABILITIES = ("safe", "unsafe", "display-only")


def answer(argv: list[str]) -> int | None:
    """The exit code when the cache answers `argv`, after printing what `tensorlint
    check` prints; None (and nothing printed) otherwise."""
    if len(argv) < 2 or argv[0] != "check" or os.environ.get("TENSORLINT_OUTPUT_FORMAT"):
        return None
    files = argv[1:]
    if any(not name.endswith(".py") or name.startswith("-") or not os.path.isfile(name) for name in files):
        return None
    cwd = os.getcwd()
    if _configured(cwd):
        return None
    entries = _entries(os.path.join(cwd, CACHE_DIR_NAME))
    if entries is None:
        return None
    stamps = Stamps()
    found: list[tuple[str, list[dict]]] = []
    for name in files:
        try:
            with open(name, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        if b"torch" not in data and not data.startswith(_WIDE_BOMS):
            continue  # never parsed, never a finding (see TL000's doc)
        entry = entry_for(entries, content_key(data))
        if entry is None:
            return None
        if not all(stamps.unchanged(dep, recorded) for dep, recorded in entry.get("deps", {}).items()):
            return None
        if entry["diagnostics"]:
            if not all(_valid(d) for d in entry["diagnostics"]):
                return None  # not a shape this renderer knows: the full path decides
            found.append((name, entry["diagnostics"]))
    if not found:
        return _write(_clean_text(sys.stdout), 0)
    text = _findings_text(found, files, cwd)
    return None if text is None else _write(text, 1)


def _valid(d) -> bool:
    """A cached finding of the shape Diagnostic.from_dict reads, in a Python file."""
    fix = d.get("fix")
    return (
        all(isinstance(d.get(key), str) for key in ("code", "name", "message"))
        and d.get("severity") in _SEVERITIES
        and all(_point(d.get(key)) for key in ("location", "end_location"))
        and "noqa_row" in d
        and d.get("cell") is None
        and (fix is None or (
            isinstance(fix, dict) and fix.get("applicability") in _APPLICABILITIES
            and isinstance(fix.get("message"), str) and isinstance(fix.get("edits"), list)
            and all(_edit(e) for e in fix["edits"])
        ))
    )


def _edit(e) -> bool:
    return (
        isinstance(e, dict) and isinstance(e.get("content"), str)
        and all(isinstance(e.get(key), dict) and set(e[key]) == {"row", "column"} for key in ("location", "end_location"))
    )


def _point(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)


def _findings_text(found: list[tuple[str, list[dict]]], files: list[str], cwd: str) -> str | None:
    """What the full command line prints for these findings: the full format, then the
    summary (commands/check.py: report and _print_summary). None where the names would
    not be shown the same way (then the full path prints them)."""
    if os.sep != "/" or cwd == "/":
        return None
    # the files as discovery.py keeps them: one spelling per real file (the first
    # given), named as pathlib spells it; the findings sorted as Diagnostic.sort_key
    first: dict[str, str] = {}
    for name in files:
        first.setdefault(os.path.realpath(name), name)
    by_name = dict(found)
    findings = []
    for name in first.values():
        path = _pathlib_str(name)
        shown = path[len(cwd) + 1 :] if path.startswith(cwd + "/") else path  # output.display_path
        findings += [(path, shown, d) for d in by_name.get(name, ())]
    findings.sort(key=lambda f: (f[0], 0, f[2]["location"][0], f[2]["location"][1], f[2]["code"]))

    from tensorlint.output.full_text import read_lines, render
    from tensorlint.output.terminal import colours

    lines: dict[str, list[str]] = {}

    def lines_of(index: int) -> list[str]:
        path = findings[index][0]
        if path not in lines:
            lines[path] = read_lines(path)
        return lines[path]

    colour = colours(sys.stdout)
    text = render([(shown, d) for _, shown, d in findings], lines_of, colour)
    n = len(findings)
    text += _styled(f"Found {n} finding{'s' * (n != 1)}.", "1", colour)
    fixes = [d["fix"] for _, _, d in findings if d["fix"] is not None and d["fix"]["edits"]]  # diagnostics.applicable
    safe = sum(1 for fix in fixes if fix["applicability"] == "safe")
    risky = sum(1 for fix in fixes if fix["applicability"] == "unsafe")
    if safe:
        text += f"[*] {safe} fixable with `tensorlint check --fix`.\n"
    if risky:
        text += f"{risky} more fixable with `--fix --unsafe-fixes` (unsafe: review the change).\n"
    return text


def _pathlib_str(name: str) -> str:
    """str(pathlib.PurePosixPath(name)): empty and `.` parts dropped, `..` kept, a root of
    exactly two slashes kept."""
    root = "//" if name.startswith("//") and not name.startswith("///") else "/" if name.startswith("/") else ""
    return root + "/".join(part for part in name.split("/") if part and part != ".") or "."


def _styled(text: str, sgr: str, colour: bool) -> str:
    """A line as output/terminal.py's Terminal.print writes it."""
    return f"\x1b[{sgr}m{text}\x1b[0m\n" if colour else f"{text}\n"


def _write(text: str, code: int) -> int:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # as cli.main: quietly, exit 2
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 2
    return code


def _configured(cwd: str) -> bool:
    """A tensorlint configuration at or above the working folder (then the full path
    reads it): any .tensorlint.toml or tensorlint.toml, or a pyproject.toml that even
    mentions tensorlint."""
    folder = cwd
    while True:
        for name in CONFIG_NAMES:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                if name != "pyproject.toml":
                    return True
                try:
                    with open(path, "rb") as handle:
                        if b"tensorlint" in handle.read():
                            return True
                except OSError:
                    return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def _entries(folder: str) -> dict | None:
    """The cache's entries for the default settings, as `tensorlint check` keys them."""
    from tensorlint.cache import read_signed

    key = settings_key(default_codes(), (), (), None)  # commands/check.py: no options, bases or target version
    entries = read_signed(os.path.join(folder, f"v{__version__}-{key}.json"), "entries")
    return entries if isinstance(entries, dict) else None


def _clean_text(stream) -> str:
    from tensorlint.output.terminal import colours

    return _styled("All checks passed!", "32", colours(stream))  # Terminal.print(..., style="green")
