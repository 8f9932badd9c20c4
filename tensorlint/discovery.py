"""Which files to check: recursion, default skips, --exclude globs and .gitignore."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from tensorlint.errors import UsageError

DEFAULT_EXCLUDES = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv",
    ".vscode", "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv", ".tensorlint_cache",
)
SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern
    negate: bool
    dir_only: bool
    base: str  # folder of the .gitignore, relative to the walk root's git top ("" at top)


def _glob_to_regex(pattern: str) -> str:
    """gitignore glob -> regex over '/'-separated relative paths."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        elif c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse_gitignore(text: str, base: str) -> list[_Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.endswith("\\") and raw.endswith(" "):
            line += " "
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        elif line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _glob_to_regex(line)
        regex = f"^{body}$" if anchored else f"^(?:.*/)?{body}$"
        patterns.append(_Pattern(re.compile(regex, re.DOTALL), negate, dir_only, base))
    return patterns


class GitIgnore:
    """The .gitignore files that apply to one folder, from the repository top down."""

    def __init__(self, top: Path | None) -> None:
        self.top = top
        self._by_dir: dict[Path, list[_Pattern]] = {}

    def _load(self, folder: Path) -> list[_Pattern]:
        cached = self._by_dir.get(folder)
        if cached is None:
            cached = []
            if self.top is not None:
                try:
                    rel = folder.relative_to(self.top).as_posix()
                except ValueError:
                    rel = None
                if rel is not None:
                    base = "" if rel == "." else rel
                    files = [folder / ".gitignore"]
                    if folder == self.top:
                        files.insert(0, folder / ".git" / "info" / "exclude")
                    for file in files:
                        try:
                            cached += parse_gitignore(file.read_text(encoding="utf-8", errors="replace"), base)
                        except OSError:
                            pass
            self._by_dir[folder] = cached
        return cached

    def ignored(self, path: Path, is_dir: bool) -> bool:
        if self.top is None:
            return False
        try:
            rel_path = path.relative_to(self.top)
        except ValueError:
            return False
        verdict = False
        folder = self.top
        chain = [self.top]
        for part in rel_path.parts[:-1]:
            folder = folder / part
            chain.append(folder)
        for directory in chain:
            for pattern in self._load(directory):
                if pattern.dir_only and not is_dir:
                    continue
                rel = rel_path.as_posix()
                if pattern.base:
                    if not rel.startswith(pattern.base + "/"):
                        continue
                    rel = rel[len(pattern.base) + 1 :]
                if pattern.regex.match(rel):
                    verdict = not pattern.negate
        return verdict


def _python_file(path: Path) -> bool:
    """A file named on the command line is checked when its name says Python (or a
    notebook), or when it has no suffix and a Python shebang (a script)."""
    if path.name.lower().endswith(SUFFIXES):
        return True
    if path.suffix:
        return False
    try:
        with open(path, "rb") as handle:
            first = handle.readline(200)
    except OSError:
        return True  # let the check report why it cannot be read
    return first.startswith(b"#!") and b"python" in first


def git_top(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


@dataclass
class Discovery:
    root: Path  # project root: excludes are matched relative to it
    exclude: tuple[str, ...]
    respect_gitignore: bool = True
    force_exclude: bool = False
    # folders and files the walk could not read: (path, reason); the run goes on without them
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def _skip(self, path: Path, exc: OSError) -> None:
        self.warnings.append((str(path), exc.strerror or str(exc)))

    def excluded(self, path: Path) -> bool:
        """ruff semantics: a glob without `/` matches the base name; one with `/` matches
        the path relative to the project root. Folders passed explicitly are walked even
        when an ancestor would be excluded (only --force-exclude looks at ancestors)."""
        name = path.name
        rel = None
        for pattern in self.exclude:
            if "/" not in pattern.rstrip("/"):
                if fnmatch.fnmatchcase(name, pattern.rstrip("/")):
                    return True
                continue
            if rel is None:
                try:
                    rel = path.resolve().relative_to(self.root).as_posix()
                except ValueError:
                    rel = path.resolve().as_posix()
            if fnmatch.fnmatchcase(rel, pattern.strip("/")):
                return True
        return False

    def force_excluded(self, path: Path) -> bool:
        """For explicitly passed files (pre-commit): any excluded folder on the way counts."""
        resolved = path.resolve()
        candidates = [resolved, *resolved.parents]
        for candidate in candidates:
            if candidate == self.root or self.root not in candidate.parents:
                break
            if self.excluded(candidate):
                return True
        if self.respect_gitignore:
            top = git_top(resolved.parent)
            if top is not None and GitIgnore(top).ignored(resolved, resolved.is_dir()):
                return True
        return False

    def files(self, paths: list[Path]) -> list[Path]:
        """Every file to check, once: duplicates (the same file reached through other
        spellings or symlinks) are dropped by resolved path; sorted for stable output."""
        found: dict[Path, Path] = {}
        visited: set[Path] = set()
        for path in paths:
            try:
                info = path.stat()
            except FileNotFoundError:
                raise UsageError(f"{path}: No such file or directory") from None
            except OSError as exc:
                self._skip(path, exc)
                continue
            if self.force_exclude and self.force_excluded(path):
                continue
            if not stat.S_ISDIR(info.st_mode):
                if stat.S_ISREG(info.st_mode):
                    if not _python_file(path):
                        self.warnings.append((str(path), "not a Python file or notebook"))
                        continue
                    found.setdefault(path.resolve(), path)
                else:  # a FIFO, socket or device: reading it could block forever
                    self.warnings.append((str(path), "not a regular file"))
                continue
            gitignore = GitIgnore(git_top(path.resolve())) if self.respect_gitignore else GitIgnore(None)
            for file in self._walk(path, gitignore, visited):
                found.setdefault(file.resolve(), file)
        return sorted(found.values(), key=lambda p: p.as_posix())

    def _walk(self, folder: Path, gitignore: GitIgnore, visited: set[Path]):
        real = folder.resolve()
        if real in visited:
            return  # a symlink loop, or a folder already walked
        visited.add(real)
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            self._skip(folder, exc)
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError:
                continue
            if is_dir:
                try:
                    if os.path.lexists(path / "pyvenv.cfg"):
                        continue
                except OSError:
                    pass
                if self.excluded(path) or gitignore.ignored(path.resolve(), True):
                    continue
                yield from self._walk(path, gitignore, visited)
            elif entry.name.endswith(SUFFIXES):
                if self.excluded(path) or gitignore.ignored(path.resolve(), False):
                    continue
                if not is_file and not (entry.is_symlink() and not os.path.exists(path)):
                    continue  # a FIFO, socket or device named *.py: reading it could block forever
                yield path  # (a dangling symlink is yielded, to be reported: it cannot be read)
