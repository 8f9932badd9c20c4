"""Per file: how many times its libcst parse time does linting it take?

    python benchmarks/parse_ratio.py PATH [PATH ...] [--select ALL] [--top 10] [--repeat 1] [--fail-above R]

Linting (`lint_source`, all selected rules, no cache, one process) includes its own
parse, so a ratio of 1.0 means the rules cost nothing. The analysis must stay linear in
the file: a file whose ratio is far above the others has a super-linear rule or
inference (see tests/test_analysis_linear.py). Times are CPU time of this process (other
load on the machine does not count), each the best of --repeat runs, after one warm-up
lint so that one-time loading is not charged to the first file.
Files that do not mention torch are skipped, as the linter skips them without parsing.
One project index is shared by all files, as in a CLI run (the other files a file
imports are read once, not once per file). Reading a file's facts for the index is
charged to that file, not to whichever importer happens to ask first: every file's
facts (light and with bodies) are extracted and timed up front, and its ratio is
(lint + its own facts) / parse. Files outside PATHs that are imported are still
charged to their first importer.
Prints the --top files by ratio and the maximum; with --fail-above R, exits 1 when some
file's ratio is above R.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import libcst as cst

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorlint.engine import LintSettings, lint_source  # noqa: E402
from tensorlint.selection import resolve_all  # noqa: E402
from tensorlint.walk import child_fields  # noqa: E402


def python_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        else:
            files += sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return files


def best_time(function, repeat: int) -> float:
    """CPU seconds of this process (other load on the machine does not count), best of N."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()  # a full collection from the previous file is not this file's cost
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


_WARM_UP = "import torch\ndef f(x: torch.Tensor):\n    return torch.tensor(x).view(1, dim=0)\n"


def warm_up(settings: LintSettings) -> None:
    """One-time costs are not any file's: the walker reads each node class's fields once
    (inspect.getsource), and the rules load their tables on first use."""
    for value in vars(cst).values():
        if isinstance(value, type) and issubclass(value, cst.CSTNode):
            child_fields(value)
    lint_source(_WARM_UP, "warm_up.py", settings)


_INDEX: list = []
_FACTS: dict = {}  # content hash (+bodies) -> facts, filled by `own_facts`


def own_facts(path: Path) -> float:
    """CPU seconds to extract this file's facts, both depths, as the index would; they
    are kept for the index so that no importer pays for them again."""
    try:
        from tensorlint.cache import content_key
        from tensorlint.semantics.facts import extract
    except ImportError:
        return 0.0
    try:
        data = path.read_bytes()
        source = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return 0.0
    key = content_key(data)
    try:
        from tensorlint.gc_pause import collection_paused  # as the linter extracts them
    except ImportError:
        from contextlib import nullcontext as collection_paused
    start = time.process_time()
    with collection_paused():
        light, full = extract(source, False), extract(source, True)
    spent = time.process_time() - start
    if light is not None:
        _FACTS[key], _FACTS[f"{key}+bodies"] = light, full
    return spent


def project_view(path: Path, source: str, settings: LintSettings):
    """One project index for the whole run, as the CLI keeps one per run: reading the
    other files of the project is not charged again to every file. None if the engine
    has no project index (then lint_source makes its own)."""
    try:
        from tensorlint.semantics.project import ProjectIndex, ProjectView
    except ImportError:
        return None
    try:
        if not _INDEX:
            _INDEX.append(ProjectIndex(None, _FACTS, extend_module_bases=settings.extend_module_bases))
        return ProjectView(_INDEX[0], str(path), source)
    except TypeError:  # another signature: let the engine build its own
        return None


def measure(path: Path, settings: LintSettings, repeat: int) -> tuple[float, float, int] | None:
    """(parse seconds, lint seconds, lines), or None if the file is skipped."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if "torch" not in source:
        return None
    try:
        parse = best_time(lambda: cst.parse_module(source), repeat)
    except Exception:  # noqa: BLE001 - unparsable files are the parser's business
        return None
    lint = best_time(lambda: lint_source(source, str(path), settings, project_view(path, source, settings)), repeat)
    return parse, lint, source.count("\n") + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--select", default="ALL", help="rule selectors, comma separated (default: ALL)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per file (default: 1)")
    parser.add_argument("--fail-above", type=float, default=None, metavar="R")
    args = parser.parse_args(argv)

    settings = LintSettings(enabled=resolve_all(s.strip() for s in args.select.split(",")))
    warm_up(settings)
    files = python_files(args.paths)
    facts_time = {path: own_facts(path) for path in files}
    rows = []
    total_parse = total_lint = 0.0
    for path in files:
        measured = measure(path, settings, args.repeat)
        if measured is None:
            continue
        parse, lint, lines = measured
        lint += facts_time[path]
        total_parse += parse
        total_lint += lint
        rows.append((lint / parse if parse > 0 else float("inf"), lint, parse, lines, path))
    if not rows:
        print("no files that mention torch")
        return 0
    rows.sort(key=lambda row: row[0], reverse=True)
    print(f"{'ratio':>7} {'lint s':>8} {'parse s':>8} {'lines':>6}  file")
    for ratio, lint, parse, lines, path in rows[: args.top]:
        print(f"{ratio:7.2f} {lint:8.3f} {parse:8.3f} {lines:6d}  {path}")
    slowest = max(rows, key=lambda row: row[1])
    print(
        f"\n{len(rows)} files: lint {total_lint:.2f} s, parse {total_parse:.2f} s "
        f"(overall ratio {total_lint / total_parse:.2f}); max ratio {rows[0][0]:.2f} ({rows[0][4]}); "
        f"slowest file {slowest[1]:.3f} s ({slowest[4]})"
    )
    if args.fail_above is not None and rows[0][0] > args.fail_above:
        print(f"FAIL: ratio above {args.fail_above}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
