"""Check many files: cache first, then the rest in parallel worker processes."""

from __future__ import annotations

import dataclasses
import faulthandler
import os
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tensorlint.cache import Cache, Stamps, content_key
from tensorlint.diagnostics import Diagnostic
from tensorlint.diagnostics import SYNTAX_ERROR_CODE, applicable, syntax_error
from tensorlint.settings import LintSettings
from tensorlint.source import DecodeError, decode, encode, wide_bom

TYPE_CHECKING = False  # typing is not imported for this alone
if TYPE_CHECKING:
    from tensorlint.semantics.project import ProjectIndex

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
    deps: dict = field(default_factory=dict)  # other project files consulted: path -> "hash:size:mtime"
    facts: dict = field(default_factory=dict)  # facts this worker extracted: content hash -> facts
    encoding: str | None = None  # how the file was decoded (to write stdin's fixed text back the same way)
    write_error: str | None = None  # --fix could not write the file: nothing was fixed
    cacheable: bool = True  # False for results that depend on the machine (a time limit hit, a crash)
    fixed_codes: dict = field(default_factory=dict)  # (code, name) -> findings fixed (--show-fixes)


@dataclass(frozen=True)
class Job:
    path: str
    data: bytes
    settings: LintSettings
    mode: str  # "check", "fix" or "diff"
    unsafe: bool
    keep_text: bool = False
    project_root: str | None = None
    write: bool = True  # False for standard input: --fix then only prints the fixed text


# One project index per worker process, shared by the files it checks (memoised
# summaries). `_FACTS` is the facts cache, loaded in the main process before the
# workers fork.
_INDEXES: dict = {}
_FACTS: dict = {}


def project_index(root: str | None, settings: LintSettings) -> ProjectIndex:
    from tensorlint.semantics.project import ProjectIndex

    key = (root, settings.extend_module_bases)
    index = _INDEXES.get(key)
    if index is None:
        index = ProjectIndex(Path(root) if root else None, dict(_FACTS), settings.extend_module_bases)
        _INDEXES[key] = index
    return index


def check_one(job: Job) -> FileResult:
    """Runs in a worker: never raises; an unexpected error becomes `internal_error`."""
    from tensorlint.gc_pause import collection_paused

    with collection_paused():
        return _check_one(job)


def _check_one(job: Job) -> FileResult:
    # imported here: a run that the cache answers never loads libcst and the rules
    from tensorlint.engine import lint_source
    from tensorlint.fixer import fix_text
    from tensorlint.semantics.project import ProjectView

    result = FileResult(job.path)
    try:
        if job.path.lower().endswith(".ipynb"):
            from tensorlint.notebook import check_job

            return check_job(job, result, project_index(job.project_root, job.settings), _write_back)
        try:
            text, encoding = decode(job.data)
            result.encoding = encoding
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
        if outcome.applied:
            result.fixed_codes = fixed_codes(outcome.initial, outcome.diagnostics, job.unsafe)
        result.text = outcome.text
        if outcome.applied:
            if job.mode == "diff":
                import difflib

                result.diff = "".join(
                    difflib.unified_diff(
                        text.splitlines(keepends=True),
                        outcome.text.splitlines(keepends=True),
                        fromfile=job.path,
                        tofile=job.path,
                    )
                )
            elif job.write and job.path != "-":
                problem = _write_back(Path(job.path), job.data, encode(outcome.text, encoding))
                if problem is not None:
                    # nothing was written: nothing is fixed, and every finding stands
                    result.write_error = problem
                    result.fixed, result.diff, result.fix_error = 0, None, None
                    result.diagnostics, result.text = outcome.initial, text
        if not job.keep_text:
            result.text = None
    except Exception as exc:  # noqa: BLE001 - reported per file, the run goes on
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        result.internal_error = f"{type(exc).__name__}: {exc} (at {Path(frame.filename).name}:{frame.lineno})"
    return result


def fixed_codes(initial: list[Diagnostic], remaining: list[Diagnostic], unsafe: bool) -> dict:
    """Per rule, the fixable findings of the first round that are gone afterwards."""
    from collections import Counter

    before = Counter((d.code, d.name) for d in initial if applicable(d, unsafe))
    after = Counter((d.code, d.name) for d in remaining)
    return {key: count for key, count in (before - after).items() if count}


def _write_back(path: Path, original: bytes, data: bytes) -> str | None:
    """Write `data` over `path` unless the file changed since it was read (an edit made
    during the run wins). None on success, else why nothing was written."""
    try:
        if path.read_bytes() != original:
            return "the file changed while it was being checked; it was not fixed"
        path.write_bytes(data)
    except OSError as exc:
        return f"cannot write the fixed file: {exc.strerror or exc}"
    return None


def _pool_context():
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    import multiprocessing  # with its sockets and pipes: only for runs that check files

    return multiprocessing.get_context(method)


def run_jobs(jobs: list[Job], workers: int, progress: bool, file_timeout: float | None = None) -> list[FileResult]:
    """`file_timeout` None: small runs are checked in this process (the library's
    default). Otherwise every file is checked in a worker process: a file whose check
    takes more than `file_timeout` seconds of CPU (0: no limit), or that crashes its
    worker, gets a TL000 finding, the worker is replaced and the run goes on."""
    if not jobs:
        return []
    isolate = file_timeout is not None and _pool_context().get_start_method() == "fork"
    if not isolate and (workers <= 1 or len(jobs) < _PARALLEL_THRESHOLD):
        return _with_progress(map(check_one, jobs), len(jobs), progress)
    pool = _Pool(min(workers, len(jobs)), file_timeout or 0)
    with pool:
        return _with_progress(pool.run(jobs), len(jobs), progress)


# Big files get proportionally more time: `file_timeout` seconds per this many bytes (a
# 1 MB generated test file takes ~20 s of CPU to check; pathological ones are small).
_BYTES_PER_LIMIT = 100_000
# A worker blocked without using CPU (reading a FIFO that a file imports, say) is
# stopped after this many times the CPU limit of wall time without CPU progress, plus
# the slack. A worker that keeps using CPU, however slowly (a busy machine), is not.
_WALL_FACTOR, _WALL_SLACK = 4, 10.0


def _worker_main(conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    # A crash in a native parser is reported as a TL000 finding by the main process; a
    # fault handler inherited from the parent (pytest enables one) would only print a
    # stack dump on top of it.
    faulthandler.disable()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        job, facts = job
        if facts:
            _share(facts)
        conn.send(check_one(job))


def _share(facts: dict) -> None:
    """Facts another worker extracted: this worker need not parse those files again
    (transformers' model files each import the same half-dozen large modules)."""
    _FACTS.update(facts)
    for index in _INDEXES.values():
        for key, value in facts.items():
            index.facts_cache.setdefault(key, value)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux), None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _Worker:
    def __init__(self, ctx) -> None:
        self.conn, child = ctx.Pipe()
        # the worker ignores SIGINT from its first instruction on: no traceback on Ctrl-C
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
        try:
            self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True)
            self.process.start()
        finally:
            if main_thread:
                signal.signal(signal.SIGINT, previous)
        child.close()
        self.job: Job | None = None
        self.started = self.wall_start = 0.0
        self.cpu_start: float | None = None
        self.cpu_seen = 0.0  # CPU used when progress was last seen (at wall_start)
        self.shared = 0  # how much of the pool's shared facts this worker has been sent

    def send(self, job: Job, facts: dict) -> None:
        self.job = job
        self.started = self.wall_start = time.monotonic()
        self.cpu_start = _cpu_seconds(self.process.pid)
        self.cpu_seen = 0.0
        self.conn.send((job, facts))

    def cpu_used(self) -> float | None:
        now = _cpu_seconds(self.process.pid)
        return None if now is None or self.cpu_start is None else now - self.cpu_start

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(1)
        self.conn.close()


class _Pool:
    """Worker processes that each check one file at a time, so that one file cannot
    hold the run hostage: a crash or a time limit is that file's finding."""

    def __init__(self, size: int, limit: float) -> None:
        self._ctx = _pool_context()
        self._limit = limit
        self._workers = [_Worker(self._ctx) for _ in range(max(1, size))]
        self._facts: list[tuple[_Worker, dict]] = []  # facts the workers extracted, in order

    def _news(self, worker: _Worker) -> dict:
        """The facts other workers extracted since this one was last sent a job."""
        news: dict = {}
        for origin, facts in self._facts[worker.shared:]:
            if origin is not worker:
                news.update(facts)
        worker.shared = len(self._facts)
        return news

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc) -> None:
        for worker in self._workers:
            if exc[0] is None and worker.job is None and worker.process.is_alive():
                try:
                    worker.conn.send(None)
                    worker.process.join(2)
                except OSError:
                    pass
            worker.stop()

    def _budget(self, job: Job) -> float:
        return self._limit * max(1.0, len(job.data) / _BYTES_PER_LIMIT)

    def _deadline(self, worker: _Worker) -> float:
        if not self._limit:
            return float("inf")
        return worker.started + self._budget(worker.job)

    def run(self, jobs: list[Job]):
        from multiprocessing.connection import wait

        # largest first: the last file to finish is then a small one, so no worker idles
        # long at the end while another checks a big file (results are sorted afterwards)
        pending = deque(sorted(jobs, key=lambda job: -len(job.data)))
        while pending or any(w.job is not None for w in self._workers):
            for worker in list(self._workers):
                if worker.job is None and pending:
                    if not worker.process.is_alive():
                        worker = self._replace(worker)
                    worker.send(pending.popleft(), self._news(worker))
            busy = [w for w in self._workers if w.job is not None]
            now = time.monotonic()
            timeout = min(self._deadline(w) for w in busy) - now
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         None if timeout == float("inf") else max(timeout, 0))
            for worker in busy:
                result = None
                if worker.conn in ready or worker.process.sentinel in ready:
                    try:
                        result = worker.conn.recv()
                    except (EOFError, OSError):
                        result = self._crashed(worker)
                elif time.monotonic() >= self._deadline(worker):
                    result = self._over_time(worker)
                if result is not None:
                    worker.job = None
                    if result.facts:
                        self._facts.append((worker, result.facts))
                    yield result

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop()
        fresh = _Worker(self._ctx)
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    def _crashed(self, worker: _Worker) -> FileResult:
        job = worker.job
        worker.process.join(1)
        code = worker.process.exitcode
        try:
            how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        except ValueError:
            how = f"signal {-code}"
        self._replace(worker)
        if code is not None and -code == getattr(signal, "SIGXCPU", None):
            return _unchecked(job, "file too complex: checking it ran out of CPU time; it was not checked")
        return _unchecked(job, f"the parser crashed on this file ({how}); it was not checked")

    def _over_time(self, worker: _Worker) -> FileResult | None:
        budget = self._budget(worker.job)
        used = worker.cpu_used()
        now = time.monotonic()
        if used is not None and used < budget:
            if used > worker.cpu_seen:  # it ran since the last look: not blocked
                worker.cpu_seen, worker.wall_start = used, now
            if now - worker.wall_start < budget * _WALL_FACTOR + _WALL_SLACK:
                # waiting for a CPU on a busy machine is not the file's fault
                worker.started = now - used
                return None
        job = worker.job
        self._replace(worker)
        return _unchecked(
            job,
            f"file too complex: checking it took more than {budget:.3g} s (file-timeout); it was not checked",
        )


def _unchecked(job: Job, message: str) -> FileResult:
    result = FileResult(job.path, cacheable=False)
    if SYNTAX_ERROR_CODE in job.settings.enabled:
        result.diagnostics = [syntax_error(message)]
    else:
        result.fix_error = message
    return result


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
    file_timeout: float | None = None,
) -> list[FileResult]:
    """`project_root` is where the project index looks for the files that checked
    files import (the configuration's folder). `file_timeout`: see `run_jobs`."""
    results: list[FileResult] = []
    root = str(project_root) if project_root is not None else None
    _INDEXES.clear()
    stamps = Stamps()
    jobs: list[Job] = []
    keys: dict[str, str] = {}
    for file in files:
        path = str(file)
        try:
            data = file.read_bytes()
        except OSError as exc:
            results.append(FileResult(path, [syntax_error(f"cannot read file: {exc.strerror or exc}")]))
            continue
        if b"torch" not in data and not wide_bom(data):
            # cannot hold tensor code (nor is it parsed; see TL000's doc)
            results.append(FileResult(path))
            continue
        key = content_key(data)
        cached = cache.get(key)
        diagnostics = _from_cache(cached, path, stamps)
        if diagnostics is not None:
            if mode == "check" or not any(applicable(d, unsafe) for d in diagnostics):
                results.append(FileResult(path, diagnostics))
                continue
        keys[path] = key
        jobs.append(Job(path, data, settings, mode, unsafe, project_root=root))
    workers = workers or os.cpu_count() or 1
    _FACTS.clear()
    if jobs:
        _FACTS.update(cache.facts())  # read only when something is checked (a warm run skips it)
    for result in run_jobs(jobs, workers, progress, file_timeout):
        cache.add_facts(result.facts)
        if result.cacheable and result.internal_error is None and not result.fixed and not result.fix_error \
                and not result.write_error:
            cache.put(keys[result.path], {"diagnostics": [d.to_dict() for d in result.diagnostics], "deps": result.deps})
        results.append(result)
    cache.save()
    for result in results:
        result.diagnostics = [_with_filename(d, result.path) for d in result.diagnostics]
    results.sort(key=lambda r: r.path)
    return results


def _from_cache(entry, path: str, stamps: Stamps) -> list[Diagnostic] | None:
    """The cached findings, or None when there are none to trust: a miss, a changed
    dependency, or an entry of the wrong shape (then the file is checked again)."""
    if entry is None:
        return None
    try:
        if not all(stamps.unchanged(dep, recorded) for dep, recorded in entry.get("deps", {}).items()):
            return None
        return [Diagnostic.from_dict(d, path) for d in entry["diagnostics"]]
    except (KeyError, TypeError, ValueError, AttributeError, OSError):
        return None


def _with_filename(diagnostic: Diagnostic, path: str) -> Diagnostic:
    return diagnostic if diagnostic.filename == path else dataclasses.replace(diagnostic, filename=path)
