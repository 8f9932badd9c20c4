"""`tensorlint diagnose SCRIPT.py [ARGS...]` / `-m module [ARGS...]`: run a script under the runtime monitor.

This module is imported by the CLI's parser, so it never imports torch at module level:
``tensorlint check`` must start without it. The runtime is imported only when diagnose runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from tensorlint.errors import UsageError

EXIT_USAGE = 2
FAIL_ON = ("error", "warning", "info")


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the `diagnose` subcommand on the CLI's subparsers."""
    diag = sub.add_parser(
        "diagnose",
        help="run a Python script (or -m module) unchanged under the runtime monitor",
        description="Run SCRIPT as __main__ (like `python -m cProfile`), monitor every model whose forward it calls, "
        "and print the runtime report when it ends, also when it raises or calls sys.exit. "
        "Options go before SCRIPT; everything after SCRIPT is the script's own arguments.",
    )
    diag.add_argument("-m", dest="as_module", action="store_true", help="run a library module as a script (like python -m)")
    diag.add_argument("--json", dest="json_path", metavar="PATH", help="write the report as JSON")
    diag.add_argument("--html", dest="html_path", metavar="PATH", help="write the report as a self-contained HTML page")
    diag.add_argument("--reference", metavar="PROFILE.json", help="a saved profile: adds drift checks")
    diag.add_argument("--save-profile", metavar="PATH", help="save the activation profile (a reference for later runs)")
    diag.add_argument("--select", type=_comma_list, action="append", metavar="KINDS", help="report only these finding kinds")
    diag.add_argument("--ignore", type=_comma_list, action="append", metavar="KINDS", help="drop these finding kinds")
    diag.add_argument("--fail-on", choices=FAIL_ON, default=None,
                      help="exit 1 when a finding is at or above this severity and the script itself exited 0")
    diag.add_argument("--every", type=int, default=None, metavar="N",
                      help="sample tensor statistics on every N-th forward (default: 16)")
    diag.add_argument("target", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS...]",
                      help="the script (or, with -m, the module) and its arguments")
    return diag


def _flatten(lists: list[list[str]] | None) -> list[str] | None:
    return None if lists is None else [item for chunk in lists for item in chunk]


def _module_exists(name: str) -> bool:
    """Whether ``python -m name`` would find it: the current folder first, as for ``python -m``."""
    sys.path.insert(0, os.getcwd())
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package that is missing or broken
        return False
    finally:
        sys.path.remove(os.getcwd())


def run_diagnose(args: argparse.Namespace) -> int:
    if not args.target:
        raise UsageError("name a script to run: `tensorlint diagnose SCRIPT.py [ARGS...]` or `-m module [ARGS...]`")
    target, argv = args.target[0], args.target[1:]
    if not args.as_module and not os.path.isfile(target):
        raise UsageError(f"no such script: {target}")
    if importlib.util.find_spec("torch") is None:
        print(
            "tensorlint: error: `tensorlint diagnose` needs PyTorch, which is not installed here; "
            'install the runtime extra: pip install "tensorlint[runtime]"',
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.as_module and not _module_exists(target):
        raise UsageError(f"no module named {target!r}")

    from tensorlint.runtime.findings import KINDS

    select, ignore = _flatten(args.select), _flatten(args.ignore)
    unknown = sorted({k for k in (select or []) + (ignore or []) if k not in KINDS})
    if unknown:
        raise UsageError(f"unknown finding kind(s): {', '.join(unknown)}; expected: {', '.join(KINDS)}")
    if args.every is not None and args.every < 1:
        raise UsageError("--every must be >= 1")

    from tensorlint.runtime.profile import Profile, ProfileError
    from tensorlint.runtime.report import Report

    if args.html_path and not hasattr(Report, "save_html"):
        raise UsageError("--html needs tensorlint.runtime.html_report (Report.save_html), which this installation lacks")
    for path in (args.json_path, args.html_path, args.save_profile):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UsageError(f"cannot write {path}: its folder does not exist")
    reference = None
    if args.reference:
        try:
            reference = Profile.load(args.reference)
        except (ProfileError, OSError) as exc:
            raise UsageError(f"--reference: {exc}") from None

    from tensorlint.runtime.diagnose import diagnose

    options = {} if args.every is None else {"every": args.every}
    result = diagnose(
        target, argv, as_module=args.as_module, reference=reference, select=select, ignore=ignore,
        fail_on=args.fail_on, json_path=args.json_path, html_path=args.html_path,
        save_profile=args.save_profile, monitor_options=options,
    )  # fmt: skip
    return result.exit_code
