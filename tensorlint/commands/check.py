"""`tensorlint check`: settings from config and flags, discovery, the run, the report."""

from __future__ import annotations

import dataclasses
import fnmatch
import sys
from pathlib import Path

from tensorlint.cache import CACHE_DIR_NAME, Cache, settings_key
from tensorlint.cli import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from tensorlint.config import Config, find_config, load_config, parse_version
from tensorlint.diagnostics import Diagnostic, applicable
from tensorlint.discovery import DEFAULT_EXCLUDES, Discovery
from tensorlint.settings import LintSettings
from tensorlint.errors import UsageError
from tensorlint.runner import FileResult, Job, check_files, run_jobs
from tensorlint.source import encode
from tensorlint.selection import enabled_rules, resolve_all



def _flatten(values) -> list[str]:
    return [item for group in values or () for item in group]


def load_settings(args, cwd: Path) -> Config:
    if args.isolated:
        config = Config(root=cwd.resolve())
    elif args.config is not None:
        config = load_config(args.config, cwd)
    else:
        config = load_config(find_config(cwd), cwd)
    # Command-line flags override the configuration.
    if args.select is not None:
        config.select = _flatten(args.select)
        config.extend_select, config.ignore = [], []
    config.extend_select += _flatten(args.extend_select)
    config.ignore += _flatten(args.ignore)
    if args.exclude is not None:
        config.exclude = _flatten(args.exclude)
    config.extend_exclude += _flatten(args.extend_exclude)
    if args.force_exclude is not None:
        config.force_exclude = args.force_exclude
    if args.no_respect_gitignore:
        config.respect_gitignore = False
    if args.target_torch_version:
        parse_version(args.target_torch_version, "--target-torch-version")
        config.target_torch_version = args.target_torch_version
    if args.file_timeout is not None:
        if not args.file_timeout >= 0:
            raise UsageError("--file-timeout must be a number of seconds (0: no limit)")
        config.file_timeout = args.file_timeout
    return config


def lint_settings(config: Config) -> LintSettings:
    enabled = enabled_rules(config.select, config.extend_select, config.ignore)
    for pattern, selectors in config.per_file_ignores.items():
        resolve_all(selectors, where=f"in per-file-ignores[{pattern!r}]")
    # hashable and ordered: part of the cache key, and picklable for the workers
    options = tuple(
        sorted(
            (name, tuple(sorted((key, tuple(v) if isinstance(v, list) else v) for key, v in opts.items())))
            for name, opts in config.rule_options.items()
        )
    )
    return LintSettings(
        enabled=enabled,
        rule_options=options,
        extend_module_bases=tuple(config.extend_module_bases),
        target_torch_version=config.target_torch_version,
    )


def per_file_ignored(config: Config, path: str) -> frozenset[str]:
    if not config.per_file_ignores or path == "-":
        return frozenset()
    resolved = Path(path).resolve()
    try:
        rel = resolved.relative_to(config.root).as_posix()
    except ValueError:
        rel = resolved.as_posix()
    codes: set[str] = set()
    for pattern, selectors in config.per_file_ignores.items():
        if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(resolved.name, pattern) or fnmatch.fnmatchcase(
            rel, pattern.rstrip("/") + "/*"
        ):
            codes |= resolve_all(selectors)
    return frozenset(codes)


def run_check(args) -> int:
    cwd = Path.cwd()
    config = load_settings(args, cwd)
    settings = lint_settings(config)
    # as in ruff, --unsafe-fixes alone only changes what is shown as fixable
    from tensorlint.cli import check_flag_conflicts, output_format

    check_flag_conflicts(args)
    mode = "diff" if args.diff else "fix" if (args.fix or args.fix_only) else "check"
    fmt = output_format(args)
    discovery = Discovery(
        root=config.root,
        exclude=tuple(config.exclude if config.exclude is not None else DEFAULT_EXCLUDES) + tuple(config.extend_exclude),
        respect_gitignore=config.respect_gitignore,
        force_exclude=config.force_exclude,
    )

    paths = args.paths or ["."]
    from_stdin = paths == ["-"]
    if "-" in paths and not from_stdin:
        raise UsageError("`-` (standard input) cannot be mixed with other paths")
    if args.stdin_filename and not from_stdin:
        if args.paths:
            raise UsageError("--stdin-filename needs `-` as the only path")
        from_stdin = True

    if from_stdin:
        results = _check_stdin(args, config, settings, discovery, mode)
    else:
        files = discovery.files([Path(p) for p in paths])
        folder = None if args.no_cache else (args.cache_dir or (Path(config.cache_dir) if config.cache_dir else config.root / CACHE_DIR_NAME))
        cache = Cache(folder, settings_key(sorted(settings.enabled), settings.rule_options, settings.extend_module_bases, settings.target_torch_version))
        progress = not args.no_progress and sys.stderr.isatty() and fmt in ("full", "concise")
        results = check_files(
            files, settings, cache, mode=mode, unsafe=args.unsafe_fixes, workers=args.jobs, progress=progress,
            project_root=config.root, file_timeout=config.file_timeout,
        )
        _print_walk_warnings(discovery)
        if not files:
            # ruff's convention: nothing to check is a warning, not "All checks passed!"
            if not getattr(args, "quiet", False):
                named = ", ".join(paths)
                print(f"tensorlint: warning: No Python files found under the given path(s): {named}", file=sys.stderr)
            if fmt in ("full", "concise", "grouped", "pylint") or mode == "diff" or getattr(args, "add_noqa", False):
                return EXIT_CLEAN

    if args.add_noqa:
        from tensorlint.add_noqa import add_noqa

        return add_noqa(results, lambda path: per_file_ignored(config, path))
    return report(results, args, config, fmt, mode, from_stdin)


def _print_walk_warnings(discovery: Discovery) -> None:
    for path, reason in discovery.warnings:
        print(f"tensorlint: warning: {path}: {reason}; skipped", file=sys.stderr)


def _check_stdin(args, config, settings, discovery, mode) -> list[FileResult]:
    name = args.stdin_filename or "-"
    data = sys.stdin.buffer.read()
    if args.stdin_filename and config.force_exclude and discovery.force_excluded(Path(name)):
        if mode == "fix":
            sys.stdout.buffer.write(data)
        return []
    # --stdin-filename only names the buffer: nothing is ever written to that file
    job = Job(name, data, settings, "diff" if mode == "diff" else mode, args.unsafe_fixes, keep_text=True,
              project_root=str(config.root), write=False)
    (result,) = run_jobs([job], 1, False, config.file_timeout)
    if mode == "fix":
        # ruff's convention: the fixed source goes to stdout, findings to stderr; byte for
        # byte the input (encoding, BOM, undecodable bytes) unless a fix changed it
        out = data
        if result.internal_error is None and result.fixed and result.text is not None and result.encoding:
            try:
                out = encode(result.text, result.encoding)
            except (UnicodeError, LookupError):
                out = data
        sys.stdout.flush()
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    result.diagnostics = [dataclasses.replace(d, filename=name) for d in result.diagnostics]
    return [result]


def report(results: list[FileResult], args, config: Config, fmt: str, mode: str, from_stdin: bool) -> int:
    from tensorlint.output.terminal import Terminal

    stream = sys.stderr if (from_stdin and mode == "fix") else sys.stdout
    if args.output_file is not None:
        from tensorlint.cli import open_output_file

        stream = open_output_file(args.output_file)
    console = Terminal(stream)
    err = Terminal(stderr=True)
    diagnostics: list[Diagnostic] = []
    texts: dict[str, str] = {}
    internal = fixed = 0
    for result in results:
        if result.internal_error:
            internal += 1
            err.print(f"tensorlint: error: internal error while checking {result.path}: {result.internal_error}", markup=False)
        if result.write_error:
            internal += 1
            err.print(f"tensorlint: error: {result.path}: {result.write_error}", markup=False)
        if result.fix_error:
            err.print(f"tensorlint: warning: {result.path}: {result.fix_error}", markup=False)
        fixed += result.fixed
        if result.text is not None:
            texts[result.path] = result.text
        ignored = per_file_ignored(config, result.path)
        diagnostics += [d for d in result.diagnostics if d.code not in ignored]
    diagnostics.sort(key=Diagnostic.sort_key)

    if mode == "diff":
        for result in results:
            if result.diff:
                stream.write(result.diff)
        if not args.quiet:
            n = sum(1 for r in results if r.diff)
            err.print(f"Would fix {fixed} finding{'s' * (fixed != 1)} in {n} file{'s' * (n != 1)}." if fixed else "No fixes available.")
        if internal:
            return EXIT_ERROR
        return EXIT_CLEAN if args.exit_zero or not fixed else EXIT_FINDINGS

    if args.show_fixes or args.fix_only:
        from tensorlint.cli import print_fixes

        print_fixes(console, results, fixed, args.show_fixes, args.quiet)
    if args.fix_only:
        pass  # what remains is not reported (ruff's --fix-only)
    elif args.statistics:
        _print_statistics(console, diagnostics, fmt, args.unsafe_fixes)
    elif fmt == "full":
        if diagnostics:
            from tensorlint.output.full import print_full

            print_full(console, diagnostics, texts)
    else:
        from importlib import import_module

        from tensorlint.output import module_name

        stream.write(import_module(module_name(fmt)).render(diagnostics, root=config.root, unsafe=args.unsafe_fixes))

    if fmt in ("full", "concise", "grouped") and not args.quiet and not args.fix_only:
        _print_summary(console, diagnostics, 0 if args.show_fixes else fixed, internal)
    if internal:
        return EXIT_ERROR
    if args.exit_non_zero_on_fix and fixed:
        return EXIT_FINDINGS
    if args.exit_zero or args.fix_only or not diagnostics:
        return EXIT_CLEAN
    return EXIT_FINDINGS


def _print_statistics(console, diagnostics, fmt: str, unsafe: bool) -> None:
    import json
    from collections import Counter

    counts = Counter((d.code, d.name) for d in diagnostics)
    fixable = Counter((d.code, d.name) for d in diagnostics if applicable(d, unsafe))
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if fmt == "json":
        data = [{"code": c, "name": n, "count": k, "fixable": fixable[(c, n)] > 0} for (c, n), k in rows]
        console.file.write(json.dumps(data, indent=2) + "\n")
        return
    for (code, name), count in rows:
        mark = "[*]" if fixable[(code, name)] else "[ ]"
        console.file.write(f"{count:>5}\t{code}\t{mark} {name}\n")


def _print_summary(console, diagnostics, fixed: int, internal: int = 0) -> None:
    if fixed:
        console.print(f"Fixed {fixed} finding{'s' * (fixed != 1)}.")
    if internal:
        console.print(f"{internal} file{'s' * (internal != 1)} could not be checked or written (see above).", style="bold red")
    if not diagnostics:
        if not fixed and not internal:
            console.print("All checks passed!", style="green")
        return
    n = len(diagnostics)
    console.print(f"Found {n} finding{'s' * (n != 1)}.", style="bold")
    safe = sum(1 for d in diagnostics if applicable(d, False))
    risky = sum(1 for d in diagnostics if applicable(d, True)) - safe
    if safe:
        console.print(f"[*] {safe} fixable with `tensorlint check --fix`.", markup=False)
    if risky:
        console.print(f"{risky} more fixable with `--fix --unsafe-fixes` (unsafe: review the change).", markup=False)
