"""Check many files: cache first, then the rest in parallel worker processes."""

from __future__ import annotations

import dataclasses
import difflib
import multiprocessing
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tensorlint.cache import Cache, content_key
from tensorlint.diagnostics import Diagnostic
from tensorlint.engine import SYNTAX_ERROR_CODE, LintSettings, lint_source, syntax_error
from tensorlint.fixer import applicable, fix_text
from tensorlint.semantics.project import ProjectIndex, ProjectView
from tensorlint.source import DecodeError, decode, encode

# Below this many files to parse, worker start-up costs more than it saves.
_PARALLEL_THRESHOLD = 8
_PROGRESS_THRESHOLD = 200


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fixed: int = 0
    diff: str | None = None
    fix_error: str | None = None
    internal_error: str | None = None
    text: str | None = None  # the final text, kept for stdin and for rendering
    deps: dict = field(default_factory=dict)  # other project files consulted: path -> content hash
    facts: dict = field(default_factory=dict)  # facts this worker extracted: content hash -> facts


@dataclass(frozen=True)
class Job:
    path: str
    data: bytes
    settings: LintSettings
    mode: str  # "check", "fix" or "diff"
    unsafe: bool
    keep_text: bool = False
    project_root: str | None = None


# One project index per worker process, shared by the files it checks (memoised
# summaries). `_FACTS` is the facts cache, loaded in the main process before the
# workers fork.
_INDEXES: dict = {}
_FACTS: dict = {}


def project_index(root: str | None, settings: LintSettings) -> ProjectIndex:
    key = (root, settings.extend_module_bases)
    index = _INDEXES.get(key)
    if index is None:
        index = ProjectIndex(Path(root) if root else None, dict(_FACTS), settings.extend_module_bases)
        _INDEXES[key] = index
    return index


def check_one(job: Job) -> FileResult:
    """Runs in a worker: never raises; an unexpected error becomes `internal_error`."""
    result = FileResult(job.path)
    try:
        try:
            text, encoding = decode(job.data)
        except DecodeError as exc:
            if SYNTAX_ERROR_CODE in job.settings.enabled:
                result.diagnostics = [syntax_error(str(exc))]
            return result
        index = project_index(job.project_root, job.settings)
        views: list[ProjectView] = []

        def view(current: str) -> ProjectView:
            views.append(ProjectView(index, job.path, current))
            return views[-1]

        try:
            if job.mode == "check":
                result.diagnostics = lint_source(text, job.path, job.settings, view(text))
                if job.keep_text:
                    result.text = text
                return result
            outcome = fix_text(text, job.path, job.settings, job.unsafe, project=view)
        finally:
            deps = set().union(*(v.deps for v in views)) if views else set()
            result.deps = index.digest(sorted(deps))
            result.facts, index.new_facts = index.new_facts, {}
        result.diagnostics, result.fixed, result.fix_error = outcome.diagnostics, outcome.applied, outcome.error
        result.text = outcome.text
        if outcome.applied:
            if job.mode == "diff":
                result.diff = "".join(
                    difflib.unified_diff(
                        text.splitlines(keepends=True),
                        outcome.text.splitlines(keepends=True),
                        fromfile=job.path,
                        tofile=job.path,
                    )
                )
            elif job.path != "-":
                Path(job.path).write_bytes(encode(outcome.text, encoding))
        if not job.keep_text:
            result.text = None
    except Exception as exc:  # noqa: BLE001 - reported per file, the run goes on
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        result.internal_error = f"{type(exc).__name__}: {exc} (at {Path(frame.filename).name}:{frame.lineno})"
    return result


def _pool_context():
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def run_jobs(jobs: list[Job], workers: int, progress: bool) -> list[FileResult]:
    if workers <= 1 or len(jobs) < _PARALLEL_THRESHOLD:
        return _with_progress(map(check_one, jobs), len(jobs), progress)
    chunk = max(1, min(16, len(jobs) // (workers * 8)))
    with _pool_context().Pool(workers) as pool:
        return _with_progress(pool.imap_unordered(check_one, jobs, chunksize=chunk), len(jobs), progress)


def _with_progress(results, total: int, progress: bool) -> list[FileResult]:
    if not progress or total < _PROGRESS_THRESHOLD:
        return list(results)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    out = []
    columns = (TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("check", total=total)
        for result in results:
            out.append(result)
            bar.advance(task)
    return out


def check_files(
    files: list[Path],
    settings: LintSettings,
    cache: Cache,
    *,
    mode: str = "check",
    unsafe: bool = False,
    workers: int | None = None,
    progress: bool = False,
    project_root: Path | None = None,
) -> list[FileResult]:
    """`project_root` is where the project index looks for the files that checked
    files import (the configuration's folder)."""
    results: list[FileResult] = []
    root = str(project_root) if project_root is not None else None
    _FACTS.clear()
    _FACTS.update(cache.facts())
    _INDEXES.clear()
    hashes = ProjectIndex(None)  # content hashes of dependencies, read once per run
    jobs: list[Job] = []
    keys: dict[str, str] = {}
    for file in files:
        path = str(file)
        try:
            data = file.read_bytes()
        except OSError as exc:
            results.append(FileResult(path, [syntax_error(f"cannot read file: {exc.strerror or exc}")]))
            continue
        if b"torch" not in data:
            # cannot hold tensor code (nor is it parsed; see TL000's doc)
            results.append(FileResult(path))
            continue
        key = content_key(data)
        cached = cache.get(key)
        if cached is not None and _deps_unchanged(cached.get("deps", {}), hashes):
            diagnostics = [Diagnostic.from_dict(d, path) for d in cached["diagnostics"]]
            if mode == "check" or not any(applicable(d, unsafe) for d in diagnostics):
                results.append(FileResult(path, diagnostics))
                continue
        keys[path] = key
        jobs.append(Job(path, data, settings, mode, unsafe, project_root=root))
    workers = workers or os.cpu_count() or 1
    for result in run_jobs(jobs, workers, progress):
        cache.add_facts(result.facts)
        if result.internal_error is None and not result.fixed and not result.fix_error:
            cache.put(keys[result.path], {"diagnostics": [d.to_dict() for d in result.diagnostics], "deps": result.deps})
        result.diagnostics = [_with_filename(d, result.path) for d in result.diagnostics]
        results.append(result)
    cache.save()
    results.sort(key=lambda r: r.path)
    return results


def _deps_unchanged(deps: dict, hashes: ProjectIndex) -> bool:
    """Every project file the cached findings consulted still has the same content."""
    return all(hashes.content_hash(Path(path)) == digest for path, digest in deps.items())


def _with_filename(diagnostic: Diagnostic, path: str) -> Diagnostic:
    return diagnostic if diagnostic.filename == path else dataclasses.replace(diagnostic, filename=path)
