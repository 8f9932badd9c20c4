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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as ruff does
        raise UsageError(f"{message} (see `{self.prog} --help`)")


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
    check.add_argument("--output-format", choices=FORMATS, default=None, help="default: full")
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
            raise UsageError(f"unknown rule `{args.rule}`; see `tensorlint rules`")
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

        table = Table(box=None, header_style="bold")
        for column in ("code", "name", "summary", "fix", "default"):
            table.add_column(column)
        for r in all_rules():
            fix = r.fix_applicability.value if r.fix_applicability else "-"
            table.add_row(r.code, r.name, r.summary, fix, "on" if r.default_enabled else "off")
        Console(soft_wrap=False).print(table)
    return EXIT_CLEAN
