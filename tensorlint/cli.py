"""`tensorlint check | rule | rules`: ruff's conventions, flags and exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tensorlint import __version__
from tensorlint.errors import UsageError
from tensorlint.output import FORMATS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2  # ruff's: clean, findings remain, usage/internal error
OUTPUT_FORMAT_ENV = "TENSORLINT_OUTPUT_FORMAT"  # as RUFF_OUTPUT_FORMAT: the default --output-format


class _Parser(argparse.ArgumentParser):
    """One-line errors (exit 2, as ruff), no abbreviated long options, and "did you mean"."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False  # `--fi` is an error, never a silent `--fix`
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        hint = self._suggestion(message)
        raise UsageError(f"{message}{hint} (see `{self.prog} --help`)")

    def _options(self) -> set[str]:
        found = {o for o in self._option_string_actions if o.startswith("--")}
        for action in self._actions:
            for sub in (getattr(action, "choices", None) or {}).values() if isinstance(action, argparse._SubParsersAction) else ():
                found |= sub._options()
        return found

    def _suggestion(self, message: str) -> str:
        import difflib
        import re

        if message.startswith("unrecognized arguments:"):
            for word in message.split(":", 1)[1].split():
                if word.startswith("--"):
                    close = difflib.get_close_matches(word.split("=", 1)[0], sorted(self._options()), n=1, cutoff=0.6)
                    if close:
                        return f"; did you mean `{close[0]}`?"
            return ""
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = re.findall(r"'([^']*)'", choice.group(2)) or [c.strip() for c in choice.group(2).split(",")]
            close = difflib.get_close_matches(choice.group(1), options, n=1, cutoff=0.5)
            if close:
                return f"; did you mean `{close[0]}`?"
        return ""


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tensorlint", description="A tensor-semantics linter for PyTorch.")
    parser.add_argument("--version", action="version", version=f"tensorlint {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    check = sub.add_parser("check", help="check files or folders (default: .)")
    check.add_argument("paths", nargs="*", help="files or folders; `-` reads standard input")
    check.add_argument("--fix", action="store_true", help="apply safe fixes")
    check.add_argument("--unsafe-fixes", action="store_true", help="with --fix or --diff, also apply unsafe fixes")
    check.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
    check.add_argument("--output-format", choices=FORMATS, default=None,
                       help=f"default: full, or ${OUTPUT_FORMAT_ENV} when set")
    check.add_argument("--output-file", "-o", type=Path, default=None, metavar="PATH",
                       help="write the findings to PATH instead of standard output")
    check.add_argument("--fix-only", action="store_true",
                       help="apply fixes (as --fix) and report only what was fixed, not what remains")
    check.add_argument("--show-fixes", action=argparse.BooleanOptionalAction, default=None,
                       help="list the fixes applied, per file and rule")
    check.add_argument("--exit-non-zero-on-fix", action="store_true",
                       help="exit 1 when a fix was applied, even if no findings remain")
    check.add_argument("--add-noqa", action="store_true",
                       help="add `# noqa: CODE` to every line with a finding (merging existing noqa comments)")
    check.add_argument("--statistics", action="store_true", help="count findings per rule")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    for flag, text in (
        ("--select", "rule selectors to enable, replacing the configured set (codes, names, prefixes, ALL)"),
        ("--extend-select", "rule selectors to enable in addition"),
        ("--ignore", "rule selectors to disable"),
        ("--exclude", "glob patterns to exclude, replacing the defaults"),
        ("--extend-exclude", "glob patterns to exclude in addition"),
    ):
        check.add_argument(flag, type=_comma_list, action="append", default=None, metavar="LIST", help=text)
    check.add_argument("--force-exclude", action=argparse.BooleanOptionalAction, default=None,
                       help="apply excludes to explicitly passed files too (pre-commit)")
    check.add_argument("--no-respect-gitignore", action="store_true", help="do not skip .gitignore'd files")
    check.add_argument("--config", type=Path, help="path to a pyproject.toml (or tensorlint.toml)")
    check.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    check.add_argument("--target-torch-version", help='e.g. "2.5": rules assume this torch version')
    check.add_argument("--no-cache", action="store_true", help="neither read nor write .tensorlint_cache/")
    check.add_argument("--cache-dir", type=Path, help="where the cache lives (default: .tensorlint_cache)")
    check.add_argument("--stdin-filename", help="the name of the file read from standard input")
    check.add_argument("--file-timeout", type=float, default=None, metavar="SECONDS",
                       help="CPU seconds allowed per file (per 100 KB of it) before it is reported as TL000 "
                            "file-too-complex and skipped; 0: no limit (default: 5)")
    check.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: all cores)")
    check.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    check.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    rule = sub.add_parser("rule", help="show a rule's documentation")
    rule.add_argument("rule", nargs="?", help="code (TL001) or name (tensor-copy-construct)")
    rule.add_argument("--all", action="store_true", help="every rule")
    rule.add_argument("--output-format", choices=("text", "json"), default="text")

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--output-format", choices=("text", "json", "markdown"), default="text")

    config = sub.add_parser("config", help="list the configuration settings, or explain one")
    config.add_argument("key", nargs="?", help="a setting (e.g. extend-exclude)")
    config.add_argument("--output-format", choices=("text", "json"), default="text")

    sub.add_parser("server", help="run the language server for editors (LSP over stdio)")

    from tensorlint.commands.diagnose import add_parser as add_diagnose  # torch-free; the runtime loads lazily

    add_diagnose(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "check":
            from tensorlint.commands.check import run_check

            return run_check(args)
        if args.command == "rule":
            return _rule(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "config":
            from tensorlint.config import show_settings

            return show_settings(args.key, args.output_format)
        if args.command == "server":
            from tensorlint.server import main as serve  # pygls is only imported here

            return serve()
        if args.command == "diagnose":
            from tensorlint.commands.diagnose import run_diagnose

            return run_diagnose(args)
        build_parser().print_help(sys.stderr)
        return EXIT_ERROR
    except UsageError as exc:
        print(f"tensorlint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("tensorlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - never a traceback
        print(f"tensorlint: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def output_format(args) -> str:
    """--output-format, else $TENSORLINT_OUTPUT_FORMAT (as ruff's RUFF_OUTPUT_FORMAT), else full."""
    if args.output_format:
        return args.output_format
    value = os.environ.get(OUTPUT_FORMAT_ENV, "").strip()
    if not value:
        return "full"
    if value not in FORMATS:
        import difflib

        close = difflib.get_close_matches(value, FORMATS, n=1, cutoff=0.5)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        raise UsageError(f"${OUTPUT_FORMAT_ENV}: unknown output format `{value}`{hint}; one of: {', '.join(FORMATS)}")
    return value


def check_flag_conflicts(args) -> None:
    if args.add_noqa:
        clash = [flag for flag, on in (("--fix", args.fix), ("--fix-only", args.fix_only), ("--diff", args.diff),
                                       ("--stdin-filename", args.stdin_filename), ("-", "-" in args.paths)) if on]
        if clash:
            raise UsageError(f"--add-noqa cannot be combined with {', '.join(clash)}")
    if args.fix_only and args.diff:
        raise UsageError("--fix-only cannot be combined with --diff")


def open_output_file(path: Path):
    """The file --output-file names, created with its folders; closed at exit."""
    import atexit

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w", encoding="utf-8", newline="", buffering=1)  # line-buffered: complete at exit
    except OSError as exc:
        raise UsageError(f"cannot write --output-file {path}: {exc.strerror or exc}") from None
    atexit.register(handle.close)
    return handle


def print_fixes(console, results, fixed: int, show: bool | None, quiet: bool) -> None:
    """What --fix changed: with --show-fixes, per file and rule, as ruff lists it."""
    if quiet:
        return
    if not fixed:
        console.print("No fixes applied." if show else "", end="\n" if show else "")
        return
    console.print(f"Fixed {fixed} finding{'s' * (fixed != 1)}{':' if show else '.'}", markup=False)
    if not show:
        return
    from tensorlint.output import display_path

    for result in sorted(results, key=lambda r: r.path):
        codes = getattr(result, "fixed_codes", None) or {}
        if not result.fixed:
            continue
        console.print(f"- {display_path(result.path)}:", markup=False, highlight=False)
        if not codes:
            console.print(f"    {result.fixed} × (fixes)", markup=False)
        for (code, name), count in sorted(codes.items()):
            console.print(f"    {count} × {code} ({name})", markup=False)


def _rule(args) -> int:
    from tensorlint.docs import rule_json, rule_text
    from tensorlint.rules import all_rules, find_rule

    if args.all:
        chosen = list(all_rules())
    else:
        if not args.rule:
            raise UsageError("name a rule (code or kebab-case name), or pass --all")
        found = find_rule(args.rule)
        if found is None:
            from tensorlint.selection import did_you_mean

            raise UsageError(f"unknown rule `{args.rule}`{did_you_mean(args.rule)}; see `tensorlint rules`")
        chosen = [found]
    if args.output_format == "json":
        data = [rule_json(r) for r in chosen]
        print(json.dumps(data if args.all else data[0], indent=2))
    else:
        print("\n\n".join(rule_text(r) for r in chosen))
    return EXIT_CLEAN


def _rules(args) -> int:
    from tensorlint.docs import rule_json, rules_markdown_table
    from tensorlint.rules import all_rules

    if args.output_format == "json":
        print(json.dumps([rule_json(r) for r in all_rules()], indent=2))
    elif args.output_format == "markdown":
        print(rules_markdown_table(), end="")
    else:
        from rich.console import Console
        from rich.table import Table

        # codes and names are what users copy into their configuration: never cut; on a
        # narrow terminal the summary wraps (at words, or inside a long `code` span)
        table = Table(box=None, header_style="bold", pad_edge=False)
        table.add_column("code", no_wrap=True)
        table.add_column("name", no_wrap=True, min_width=max(len(r.name) for r in all_rules()))
        table.add_column("summary", overflow="fold", ratio=1)
        table.add_column("fix", no_wrap=True)
        table.add_column("on", no_wrap=True)  # on by default
        for r in all_rules():
            fix = r.fix_applicability.value if r.fix_applicability else "-"
            table.add_row(r.code, r.name, r.summary, fix, "on" if r.default_enabled else "off")
        Console(soft_wrap=False, highlight=False).print(table)
    return EXIT_CLEAN

