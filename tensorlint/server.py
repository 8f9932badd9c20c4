"""`tensorlint server`: a Language Server over stdio, built on pygls.

- Diagnostics when a document is opened, changed and saved. The editor's buffer is
  linted, never the file on disk, so unsaved edits count; the rest of the workspace
  (the cross-file project index) is read from disk.
- Notebook documents (LSP 3.17 `notebookDocument/*`): the code cells are analysed as
  one program, in order, exactly as `tensorlint check` reads a `.ipynb`
  (`tensorlint.notebook`), and each finding is published on its cell.
- Code actions: each finding's fix (a quick fix; unsafe fixes say so), "disable for
  this line" (`# noqa: TLxxx`, merged into an existing `# noqa:` list), and
  `source.fixAll.tensorlint` for every safe fix of a file or notebook.
- Hover over a finding, or over a code in a `# noqa:` comment, shows the rule's doc.
- Settings: the `[tool.tensorlint]` that `tensorlint check` would use for the
  document's path (select, ignore, per-file-ignores, exclude, rule options).

pygls is an optional dependency (the `server` extra); it is only imported here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

try:  # pygls 2 moved the server to pygls.lsp.server; 1.x is refused with the same hint
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.workspace.position_codec import ServerTextPosition
except ImportError:  # the `server` extra is not installed
    types = LanguageServer = ServerTextPosition = None

from tensorlint import __version__
from tensorlint.source import split_lines

INSTALL_HINT = (
    "`tensorlint server` needs pygls 2 or later, which is not installed; install it with "
    "`pip install 'pygls>=2'` (or install tensorlint with the `server` extra: `pip install '.[server]'`)"
)
NAME = "tensorlint"
# files whose change on disk can change an open document's findings
WATCHED_FILES = ("**/pyproject.toml", "**/tensorlint.toml", "**/.tensorlint.toml", "**/*.py")
FIX_ALL_KIND = "source.fixAll.tensorlint"
# A burst of keystrokes is linted once: a change waits this long for the next one.
DEBOUNCE_SECONDS = 0.05
_FACTS_CACHE_LIMIT = 20_000  # facts of files by content hash, shared by every lint
_NOQA = re.compile(r"#\s*noqa(?P<colon>\s*:\s*(?P<codes>[A-Za-z0-9_\-]+(?:[ \t]*,[ \t]*[A-Za-z0-9_\-]+)*))?", re.IGNORECASE)
_CODE_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def main() -> int:
    if LanguageServer is None:
        print(f"tensorlint: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    server = create_server()
    server.start_io()
    # LSP: exit code 0 after a `shutdown` request, 1 when `exit` came without one
    return 0 if getattr(server.protocol, "_shutdown", True) else 1


# -- documents: a file, or a notebook's code cells -------------------------------------------


@dataclass
class Piece:
    """One editor document that findings land on: a whole file, or one notebook cell.
    Rows and columns of findings are 1-based and local to the piece."""

    uri: str
    text: str  # as the editor has it
    version: int | None = None
    cell: int | None = None  # 1-based position in the notebook's cell list (markdown counts)
    lines: list[str] = field(default_factory=list)
    python: str = ""  # the text as Python, row for row (IPython syntax blanked): for tokenizing
    blanked: frozenset[int] = frozenset()  # rows holding IPython syntax

    def __post_init__(self) -> None:
        self.lines = split_lines(self.text)
        self.python = self.python or self.text


@dataclass
class Source:
    uri: str  # the text document, or the notebook document
    path: Path | None  # on disk (config, per-file-ignores, project index); None: untitled
    pieces: list[Piece]
    notebook: bool = False

    def piece_for(self, uri: str) -> Piece | None:
        return next((p for p in self.pieces if p.uri == uri), None)

    @property
    def key(self) -> tuple:
        return (self.uri, self.path, tuple((p.uri, p.text) for p in self.pieces))


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if re.match(r"^/[A-Za-z]:", path):  # file:///C:/x on Windows
        path = path[1:]
    return Path(path)


def cell_piece(uri: str, text: str, version: int | None, number: int) -> Piece:
    from tensorlint.notebook import python_text

    as_python = python_text(text)
    if as_python is None:  # a cell magic such as %%bash: not Python, never checked
        return Piece(uri, text, version, number, python="", blanked=frozenset(range(1, len(split_lines(text)) + 1)))
    return Piece(uri, text, version, number, python=as_python.text, blanked=as_python.blanked)


# -- linting ---------------------------------------------------------------------------------


@dataclass
class Result:
    by_uri: dict = field(default_factory=dict)  # piece uri -> tensorlint Diagnostics (piece-local rows)
    settings: object = None  # LintSettings used (per-file-ignored rules removed)
    config: object = None
    error: str | None = None  # the configuration could not be used


class Linter:
    """Config discovery and linting for editor documents; results memoised per text."""

    def __init__(self, workspace_root: Path | None = None) -> None:
        self.workspace_root = workspace_root
        self._facts: dict = {}  # content hash -> facts, shared by every project index
        self._memo: dict[tuple, tuple[tuple, Result]] = {}  # source key -> (config stamp, result)

    def _config(self, path: Path | None):
        from tensorlint.config import Config, find_config, load_config

        if path is None:
            start = self.workspace_root
            if start is None:
                return Config(root=Path.cwd().resolve())
            return load_config(find_config(start), start)
        found = find_config(path.parent)
        if found is None:
            root = self.workspace_root if self.workspace_root and self.workspace_root in path.parents else path.parent
            return Config(root=root.resolve())
        return load_config(found, path.parent)

    def project(self, config, settings, path: Path | None):
        """A callable giving a ProjectView for a text of this document: the rest of the
        project is read from disk (saved files), this document from the buffer."""
        from tensorlint.semantics.project import ProjectIndex, ProjectView

        if path is None:
            return lambda _text: None
        if len(self._facts) > _FACTS_CACHE_LIMIT:
            self._facts.clear()

        def view(text: str):
            # a fresh index per lint: files on disk may have changed since the last one;
            # facts are keyed by content, so unchanged files are not re-read into facts
            index = ProjectIndex(config.root, self._facts, settings.extend_module_bases)
            return ProjectView(index, str(path), text)

        return view

    def lint(self, source: Source) -> Result:
        found = self._memo.get(source.key)
        if found is not None and found[0] == self._config_stamp(source.path, found[1].config):
            return found[1]
        result = self._lint(source)
        if len(self._memo) > 64:
            self._memo.clear()
        self._memo[source.key] = (self._config_stamp(source.path, result.config), result)
        return result

    def _config_stamp(self, path: Path | None, config) -> tuple:
        """(file, mtime, size) of every configuration file this document's settings
        could come from: each candidate name at and above its folder, and the files its
        configuration extends. A result is reused only while these are unchanged, so a
        configuration edited on disk counts even when the editor does not report it
        (Neovim on Linux sends no workspace/didChangeWatchedFiles; Helix reports only
        the files it writes itself)."""
        from tensorlint.locations import CONFIG_NAMES

        start = path.parent if path is not None else self.workspace_root
        files = []
        if start is not None:
            start = start.resolve()
            files = [folder / name for folder in (start, *start.parents) for name in CONFIG_NAMES]
        if config is not None:
            files += [config.path, *config.extend_chain] if config.path is not None else []
        stamp = []
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue
            stamp.append((str(file), stat.st_mtime_ns, stat.st_size))
        return tuple(stamp)

    def forget(self) -> None:
        """Something on disk changed (a save): configuration and other files may differ."""
        self._memo.clear()

    def _settings(self, source: Source) -> Result:
        from tensorlint.commands.check import lint_settings, per_file_ignored
        from tensorlint.discovery import DEFAULT_EXCLUDES, Discovery
        from tensorlint.errors import UsageError

        try:
            config = self._config(source.path)
            settings = lint_settings(config)
            if source.path is not None:
                discovery = Discovery(
                    root=config.root,
                    exclude=tuple(config.exclude if config.exclude is not None else DEFAULT_EXCLUDES)
                    + tuple(config.extend_exclude),
                    respect_gitignore=False,
                )
                if discovery.force_excluded(source.path):
                    return Result({}, None, config)  # excluded: no findings
                ignored = per_file_ignored(config, str(source.path))
                settings = dataclasses.replace(settings, enabled=settings.enabled - ignored)
        except UsageError as exc:
            return Result(error=str(exc))
        return Result({}, settings, config)

    def _lint(self, source: Source) -> Result:
        from tensorlint.engine import lint_source
        from tensorlint.notebook import lint_cells

        result = self._settings(source)
        result.by_uri = {p.uri: [] for p in source.pieces}
        if result.settings is None:
            return result
        name = str(source.path) if source.path is not None else ("untitled.ipynb" if source.notebook else "untitled.py")
        view = self.project(result.config, result.settings, source.path)
        if source.notebook:
            if not any("torch" in p.text for p in source.pieces):
                return result  # as for files: code that never mentions torch is not checked
            by_cell = {p.cell: p.uri for p in source.pieces}
            found = lint_cells([(p.cell, p.text) for p in source.pieces], name, result.settings, view)
            for d in found:
                if d.cell in by_cell:
                    result.by_uri[by_cell[d.cell]].append(d)
        else:
            (piece,) = source.pieces
            result.by_uri[piece.uri] = lint_source(piece.text, name, result.settings, view(piece.text))
        return result

    def fix_all(self, source: Source, result: Result) -> dict[str, str]:
        """{piece uri: its text with every safe fix applied} for the pieces that change
        (re-linted until stable; a fix that gives invalid code is left out)."""
        from tensorlint.fixer import fix_text
        from tensorlint.notebook import fix_cells

        if result.settings is None or not any(result.by_uri.values()):
            return {}
        name = str(source.path) if source.path is not None else ("untitled.ipynb" if source.notebook else "untitled.py")
        view = self.project(result.config, result.settings, source.path)
        if source.notebook:
            by_cell = {p.cell: p for p in source.pieces}
            initial = [d for ds in result.by_uri.values() for d in ds]
            outcome = fix_cells([(p.cell, p.text) for p in source.pieces], name, result.settings, False, view, initial)
            return {by_cell[n].uri: text for n, text in outcome.changed.items() if n in by_cell}
        (piece,) = source.pieces
        outcome = fix_text(piece.text, name, result.settings, False, result.by_uri[piece.uri], project=view)
        return {piece.uri: outcome.text} if outcome.applied and outcome.text != piece.text else {}


# -- the server ------------------------------------------------------------------------------


def _severity(severity) -> int:
    return {
        "error": types.DiagnosticSeverity.Error,
        "warning": types.DiagnosticSeverity.Warning,
        "info": types.DiagnosticSeverity.Information,
    }.get(getattr(severity, "value", severity), types.DiagnosticSeverity.Warning)


def _is_python(language_id: str | None, uri: str) -> bool:
    if language_id:
        return language_id == "python"
    return urlparse(uri).path.endswith((".py", ".pyi"))


def _wants(only, kind: str) -> bool:
    return not only or any(kind == k or kind.startswith(k + ".") for k in only)


class TensorlintServer(LanguageServer if LanguageServer is not None else object):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(
            NAME,
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        cells=[types.NotebookCellLanguage(language="python")],
                        notebook="*",
                    )
                ],
                save=True,
            ),
        )
        self.linter = Linter()
        self._shown_errors: set[str] = set()
        self._published: dict[str, set[str]] = {}  # notebook uri -> cell uris given diagnostics

    # -- documents -------------------------------------------------------------------------
    def source_for(self, uri: str) -> Source | None:
        """What is linted for a text document, a notebook, or one of a notebook's cells."""
        notebook = self.workspace.get_notebook_document(notebook_uri=uri) or self.workspace.get_notebook_document(
            cell_uri=uri
        )
        if notebook is not None:
            pieces = []
            for number, cell in enumerate(notebook.cells, start=1):
                if cell.kind != types.NotebookCellKind.Code:
                    continue
                doc = self.workspace.text_documents.get(unquote(cell.document))
                if doc is None or (doc.language_id and doc.language_id != "python"):
                    continue
                pieces.append(cell_piece(cell.document, doc.source, doc.version, number))
            return Source(notebook.uri, uri_to_path(notebook.uri), pieces, notebook=True)
        doc = self.workspace.text_documents.get(unquote(uri))
        if doc is None or not _is_python(doc.language_id, uri):
            return None  # a client may send every document it opens: only Python is checked
        return Source(uri, uri_to_path(uri), [Piece(uri, doc.source, doc.version)])

    def to_client(self, piece: Piece, row: int, column: int):
        """A 1-based (row, column) of the piece, in the client's position units."""
        if row > len(piece.lines):  # the end of the text
            return types.Position(line=len(piece.lines), character=0)
        return self.workspace.position_codec.position_to_client_units(
            piece.lines, ServerTextPosition(row - 1, column - 1)
        )

    def from_client(self, piece: Piece, position) -> tuple[int, int]:
        server = self.workspace.position_codec.position_from_client_units(
            piece.lines, types.Position(line=position.line, character=position.character)
        )
        return server.line + 1, server.character + 1

    def lsp_diagnostic(self, piece: Piece, diagnostic):
        from tensorlint.output import DOCS_URL

        return types.Diagnostic(
            range=types.Range(
                start=self.to_client(piece, diagnostic.location.row, diagnostic.location.column),
                end=self.to_client(piece, diagnostic.end_location.row, diagnostic.end_location.column),
            ),
            message=diagnostic.message,
            severity=_severity(diagnostic.severity),
            code=diagnostic.code,
            code_description=types.CodeDescription(href=DOCS_URL.format(name=diagnostic.name)),
            source=NAME,
        )

    def lint(self, source: Source) -> Result:
        try:
            result = self.linter.lint(source)
        except Exception as exc:  # noqa: BLE001 - the server keeps running; the editor is told why
            result = Result({p.uri: [] for p in source.pieces}, error=f"internal error: {type(exc).__name__}: {exc}")
        if result.error:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=result.error))
            if result.error not in self._shown_errors:
                self._shown_errors.add(result.error)
                self.window_show_message(
                    types.ShowMessageParams(type=types.MessageType.Error, message=f"tensorlint: {result.error}")
                )
        return result

    def publish(self, uri: str) -> None:
        source = self.source_for(uri)
        if source is None:
            return
        result = self.lint(source)
        if source.notebook:
            stale = self._published.get(source.uri, set()) - {p.uri for p in source.pieces}
            self.clear(stale)  # cells deleted, or turned into markdown
            self._published[source.uri] = {p.uri for p in source.pieces}
        for piece in source.pieces:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=piece.uri,
                    diagnostics=[self.lsp_diagnostic(piece, d) for d in result.by_uri.get(piece.uri, [])],
                    version=piece.version,
                )
            )

    def clear(self, uris) -> None:
        for uri in uris:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def publish_all(self) -> None:
        cells = set()
        for uri, notebook in list(self.workspace.notebook_documents.items()):
            cells |= {unquote(c.document) for c in notebook.cells}
            self.publish(uri)
        for uri in list(self.workspace.text_documents):
            if uri not in cells:
                self.publish(uri)

    # -- code actions ----------------------------------------------------------------------
    def text_edit(self, piece: Piece, edit):
        return types.TextEdit(
            range=types.Range(
                start=self.to_client(piece, edit.location.row, edit.location.column),
                end=self.to_client(piece, edit.end_location.row, edit.end_location.column),
            ),
            new_text=edit.content,
        )

    def _fix_is_valid(self, source: Source, piece: Piece, diagnostic) -> bool:
        """The fix applies on its own and leaves the piece valid Python."""
        from tensorlint.fixer import apply_edits, parses
        from tensorlint.notebook import python_text

        fixed, count = apply_edits(piece.text, [diagnostic], unsafe=True)
        if count != 1:
            return False
        if source.notebook:
            as_python = python_text(fixed)
            if as_python is None:
                return False
            fixed = as_python.text
        return parses(fixed, str(source.path or "untitled.py")) is None

    def code_actions(self, params) -> list:
        from tensorlint.diagnostics import Applicability

        uri = params.text_document.uri
        source = self.source_for(uri)
        piece = source.piece_for(uri) if source is not None else None
        if piece is None:
            return []
        result = self.lint(source)
        only = params.context.only
        start = self.from_client(piece, params.range.start)
        end = self.from_client(piece, params.range.end)
        actions = []
        appendable = None
        diagnostics = result.by_uri.get(piece.uri, [])
        for diagnostic in diagnostics:
            d_start = (diagnostic.location.row, diagnostic.location.column)
            d_end = (diagnostic.end_location.row, diagnostic.end_location.column)
            if d_end < start or d_start > end or not _wants(only, types.CodeActionKind.QuickFix):
                continue
            lsp = self.lsp_diagnostic(piece, diagnostic)
            fix = diagnostic.fix
            if (
                fix is not None
                and fix.edits
                and fix.applicability in (Applicability.SAFE, Applicability.UNSAFE)
                and self._fix_is_valid(source, piece, diagnostic)
            ):
                unsafe = fix.applicability is Applicability.UNSAFE
                actions.append(
                    types.CodeAction(
                        title=f"{NAME} ({diagnostic.code}): {fix.message}" + (" (unsafe fix)" if unsafe else ""),
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[lsp],
                        is_preferred=not unsafe,
                        edit=types.WorkspaceEdit(changes={piece.uri: [self.text_edit(piece, e) for e in fix.edits]}),
                    )
                )
            if appendable is None:
                appendable = _appendable_rows(piece.python)
            edit = self.noqa_edit(piece, diagnostic, appendable)
            if edit is not None:
                actions.append(
                    types.CodeAction(
                        title=f"{NAME} ({diagnostic.code}): Disable for this line",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[lsp],
                        edit=types.WorkspaceEdit(changes={piece.uri: [edit]}),
                    )
                )
        safe = [d for ds in result.by_uri.values() for d in ds if d.fix is not None and d.fix.applicability is Applicability.SAFE]
        if _wants(only, FIX_ALL_KIND) and safe:
            actions += self.fix_all_actions(source, result)
        return actions

    def fix_all_actions(self, source: Source, result: Result) -> list:
        fixed = self.linter.fix_all(source, result)
        if not fixed:
            return []
        changes = {}
        for piece in source.pieces:
            if piece.uri in fixed:
                changes[piece.uri] = [_minimal_edit(self, piece, fixed[piece.uri])]
        return [
            types.CodeAction(
                title=f"{NAME}: Fix all auto-fixable problems",
                kind=FIX_ALL_KIND,
                edit=types.WorkspaceEdit(changes=changes),
            )
        ]

    def noqa_edit(self, piece: Piece, diagnostic, appendable: set[int] | None):
        """`# noqa: CODE` at the end of the finding's line, or CODE merged into the
        `# noqa:` list already there. None when the line's end is inside a string (the
        comment would become string text), the text does not tokenize, or the line is
        IPython syntax."""
        row = diagnostic.noqa_row
        if row is None or appendable is None or row not in appendable or row in piece.blanked or row > len(piece.lines):
            return None
        line = piece.lines[row - 1]
        comment_at = _comment_column(piece.python, row)
        if comment_at is not None:
            match = _NOQA.search(line, comment_at)
            if match is not None and match.group("codes"):
                at = match.start("codes") + len(_CODE_TOKEN.match(match.group("codes")).group())
                return types.TextEdit(
                    range=types.Range(start=self.to_client(piece, row, at + 1), end=self.to_client(piece, row, at + 1)),
                    new_text=f", {diagnostic.code}",
                )
            if match is not None:
                return None  # a blanket `# noqa` already covers the line
        end = len(line.rstrip())
        return types.TextEdit(
            range=types.Range(start=self.to_client(piece, row, end + 1), end=self.to_client(piece, row, len(line) + 1)),
            new_text=f"  # noqa: {diagnostic.code}",
        )

    # -- hover -----------------------------------------------------------------------------
    def hover(self, params):
        from tensorlint.docs import rule_text
        from tensorlint.rules import find_rule

        uri = params.text_document.uri
        source = self.source_for(uri)
        piece = source.piece_for(uri) if source is not None else None
        if piece is None:
            return None
        row, column = self.from_client(piece, params.position)
        result = self.lint(source)
        chosen, span = [], None
        for d in result.by_uri.get(piece.uri, []):
            if (d.location.row, d.location.column) <= (row, column) <= (d.end_location.row, d.end_location.column):
                rule = find_rule(d.code)
                if rule is not None and rule not in chosen:
                    chosen.append(rule)
        if not chosen and row <= len(piece.lines):  # a code in a `# noqa:` comment
            line = piece.lines[row - 1]
            comment_at = _comment_column(piece.python, row)
            match = _NOQA.search(line, comment_at) if comment_at is not None else None
            if match is not None and match.group("codes"):
                for token in _CODE_TOKEN.finditer(line, match.start("codes"), match.end("codes")):
                    rule = find_rule(token.group())
                    if rule is not None and token.start() + 1 <= column <= token.end() + 1:
                        chosen.append(rule)
                        span = types.Range(
                            start=self.to_client(piece, row, token.start() + 1),
                            end=self.to_client(piece, row, token.end() + 1),
                        )
        if not chosen:
            return None
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(rule_text(r) for r in chosen)
            ),
            range=span,
        )


def _minimal_edit(server: TensorlintServer, piece: Piece, new: str):
    """One edit replacing only the lines of the piece that differ."""
    old_lines, new_lines = _lines_with_ends(piece.text), _lines_with_ends(new)
    head = 0
    while head < min(len(old_lines), len(new_lines)) and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old_lines), len(new_lines)) - head
        and old_lines[len(old_lines) - 1 - tail] == new_lines[len(new_lines) - 1 - tail]
    ):
        tail += 1
    replaced = "".join(new_lines[head : len(new_lines) - tail])
    end_line = len(old_lines) - tail  # 0-based: the edit ends where this line starts
    if end_line == len(old_lines) and old_lines and not old_lines[-1].endswith(("\n", "\r")):
        end = server.to_client(piece, end_line, len(old_lines[-1]) + 1)  # the end of an unterminated last line
    else:
        end = types.Position(line=end_line, character=0)
    return types.TextEdit(range=types.Range(start=types.Position(line=head, character=0), end=end), new_text=replaced)


def _lines_with_ends(text: str) -> list[str]:
    """Lines with their line breaks, broken where LSP and tensorlint break them."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _tokens(text: str):
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None


def _appendable_rows(text: str) -> set[int] | None:
    """Rows whose end is outside any string: a comment appended there is a comment."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    rows = set(range(1, len(split_lines(text)) + 1))
    for token in tokens:
        if token.start[0] != token.end[0] and token.type not in (tokenize.NL, tokenize.NEWLINE):
            # a string over several lines (or an f-string's pieces): its rows but the last
            rows -= set(range(token.start[0], token.end[0]))
    return rows


def _comment_column(text: str, row: int) -> int | None:
    """0-based column of the comment on `row`, if there is one (found by tokenizing, so
    a `#` inside a string is not a comment)."""
    from tensorlint.noqa import comments

    by_row, _ = comments(text)
    comment = by_row.get(row)
    if comment is None:
        return None
    line = split_lines(text)[row - 1]
    at = line.rfind(comment)
    return at if at >= 0 else None


def create_server() -> TensorlintServer:
    server = TensorlintServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: TensorlintServer, params) -> None:
        root = ls.workspace.root_path
        ls.linter.workspace_root = Path(root).resolve() if root else None
        watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        if watched and watched.dynamic_registration:
            # configuration and project files changed on disk (another editor, git checkout)
            ls.client_register_capability(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id="tensorlint-watched-files",
                            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                watchers=[types.FileSystemWatcher(glob_pattern=g) for g in WATCHED_FILES]
                            ),
                        )
                    ]
                )
            )

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(ls: TensorlintServer, params) -> None:
        ls.linter.forget()
        ls.publish_all()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TensorlintServer, params) -> None:
        ls.linter.forget()  # (re)opened: files on disk may have changed unreported (`:edit`)
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: TensorlintServer, params) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        await asyncio.sleep(DEBOUNCE_SECONDS)
        doc = ls.workspace.text_documents.get(unquote(uri))
        if doc is None or doc.version != version:
            return  # closed, or a newer change is on its way
        ls.publish(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TensorlintServer, params) -> None:
        # other documents may import this one, and it may be a configuration file
        ls.linter.forget()
        ls.publish_all()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TensorlintServer, params) -> None:
        ls.clear([params.text_document.uri])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def nb_open(ls: TensorlintServer, params) -> None:
        ls.linter.forget()
        ls.publish(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    async def nb_change(ls: TensorlintServer, params) -> None:
        uri, version = params.notebook_document.uri, params.notebook_document.version
        await asyncio.sleep(DEBOUNCE_SECONDS)
        notebook = ls.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is None or notebook.version != version:
            return
        ls.publish(uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def nb_save(ls: TensorlintServer, params) -> None:
        ls.linter.forget()
        ls.publish_all()

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def nb_close(ls: TensorlintServer, params) -> None:
        cells = [c.uri for c in params.cell_text_documents]
        ls.clear(set(cells) | ls._published.pop(params.notebook_document.uri, set()))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    def code_action(ls: TensorlintServer, params):
        return ls.code_actions(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: TensorlintServer, params):
        return ls.hover(params)

    return server
