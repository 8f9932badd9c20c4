"""Output formats. Each module renders the sorted diagnostics of one run."""

from __future__ import annotations

import os

FORMATS = ("full", "concise", "grouped", "json", "json-lines", "junit", "sarif", "github", "gitlab", "pylint", "rdjson")
# the module that renders each format (the others are named as the format)
_MODULES = {"json": "json_format", "json-lines": "json_lines"}
DOCS_URL = "https://github.com/tensorlint/tensorlint/blob/main/docs/rules.md#{name}"


def display_path(path: str) -> str:
    """Relative to the working directory when the file is below it, as ruff prints."""
    if path == "-" or not os.path.isabs(path):
        return path
    from pathlib import Path  # not at import: the cache's quick answer (fast_path.py) never needs it

    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def absolute_path(path: str) -> str:
    from pathlib import Path

    return path if path == "-" else str(Path(path).resolve())


def module_name(fmt: str) -> str:
    return "tensorlint.output." + _MODULES.get(fmt, fmt)


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})  # C1 controls (CSI and the like)
_CONTROL.update({0x2028: "\\u2028", 0x2029: "\\u2029", 0x202E: "\\u202e", 0x202D: "\\u202d",
                 0x202A: "\\u202a", 0x202B: "\\u202b", 0x202C: "\\u202c", 0x2066: "\\u2066",
                 0x2067: "\\u2067", 0x2068: "\\u2068", 0x2069: "\\u2069"})


def printable(text: str) -> str:
    """`text` with terminal control characters shown as escapes (`\\x1b`), so a checked
    file can never move the cursor, recolour or retitle the terminal; tabs are kept."""
    return text.translate(_CONTROL)


def fix_status(d, unsafe: bool = False) -> str:
    """ruff's `[*] ` marker for a finding whose fix `--fix` would apply."""
    fix = d.fix
    if fix is None or not fix.edits:
        return ""
    return "[*] " if fix.applicability.value == "safe" or (unsafe and fix.applicability.value == "unsafe") else ""


def without_fix_hint(message: str, fix_message: str | None) -> str:
    """The message less its closing hint (`...; use `log1p(x)``) when the fix's message
    says the same (`Replace with `log1p``): the full format shows the fix on its
    `= help:` line, and saying it twice makes every finding longer than 80 columns."""
    if not fix_message or "; " not in message:
        return message
    head, tail = message.rsplit("; ", 1)
    spans = set(_code_spans(tail))
    fix_spans = " ".join(_code_spans(fix_message))
    if spans:
        same = all(span in fix_spans or span.split("(")[0] in fix_spans for span in spans)
    else:
        words = tail.lower().removesuffix(" instead").strip()
        same = bool(words) and words in fix_message.lower()
    return head if same else message


def _code_spans(text: str) -> list[str]:
    """The `code` spans of `text`, as re.findall(r"`([^`]+)`", text) finds them (without
    re: the cache's quick answer prints the full format too, and re costs its import)."""
    spans = []
    at = 0
    while True:
        start = text.find("`", at)
        end = text.find("`", start + 1) if start >= 0 else -1
        if end < 0:
            return spans
        if end == start + 1:  # "``": the second backtick may open a span
            at = end
            continue
        spans.append(text[start + 1 : end])
        at = end + 1
