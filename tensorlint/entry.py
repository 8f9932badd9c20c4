"""The `tensorlint` command: the cache's quick answer when it has one, else the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        from tensorlint.fast_path import answer

        code = answer(args)
    except Exception:  # noqa: BLE001 - the full command line answers instead, with its own errors
        code = None
    if code is not None:
        return code
    from tensorlint.cli import main as cli_main

    return cli_main(argv)
