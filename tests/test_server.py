"""`tensorlint server` end to end: a real LSP client (pytest-lsp) starts the server as a
subprocess and speaks JSON-RPC to it over stdio. Nothing here calls a handler directly."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "tensorlint", "server"])
ASYNC = pytest.mark.asyncio(loop_scope="module")

BUGGY = textwrap.dedent(
    """\
    import torch

    x = torch.randn(3)
    y = torch.tensor(x)
    p = torch.log(torch.softmax(x, dim=0))
    """
)
FIXED = BUGGY.replace("torch.tensor(x)", "x.detach().clone()").replace(
    "torch.log(torch.softmax(x, dim=0))", "torch.log_softmax(x, dim=0)"
)
MODELS = textwrap.dedent(
    """\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(self.fc(x))
    """
)
INFER = textwrap.dedent(
    """\
    import torch
    from models import Net


    def infer(x):
        model = Net()
        with torch.no_grad():
            return model(x)
    """
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    files = {
        "pyproject.toml": '[tool.tensorlint]\nextend-select = ["TL103"]\nper-file-ignores = { "legacy_*.py" = ["TL203"] }\n',
        "sub/pyproject.toml": '[tool.tensorlint]\nignore = ["tensor-copy-construct"]\n',
        "broken/pyproject.toml": '[tool.tensorlint]\nselectt = ["TL001"]\n',
        "models.py": MODELS,
        "infer.py": INFER,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _capabilities() -> types.ClientCapabilities:
    caps = client_capabilities("neovim@v0.11.0")
    # the LSP default, and what VS Code uses (this Neovim offers UTF-8 first)
    caps.general.position_encodings = [types.PositionEncodingKind.Utf16]
    caps.workspace.did_change_watched_files.dynamic_registration = True  # as VS Code
    caps.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities()
    )
    return caps


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, workspace: Path):
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        lsp_client.registrations += params.registrations

    result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=_capabilities(), root_uri=workspace.as_uri())
    )
    lsp_client.server_info = result
    yield
    await lsp_client.shutdown_session()


# -- helpers -----------------------------------------------------------------------------------

_versions: dict[str, int] = {}


async def published(client: LanguageClient, uri: str, timeout: float = 15.0):
    """Wait for the next diagnostics published for `uri` (the caller cleared the old ones)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while uri not in client.diagnostics:
        if loop.time() > deadline:
            raise AssertionError(f"no diagnostics were published for {uri}")
        await asyncio.sleep(0.01)
    return list(client.diagnostics[uri])


async def open_doc(client: LanguageClient, path: Path, text: str):
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    _versions[uri] = 1
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    return uri, await published(client, uri)


async def change_doc(client: LanguageClient, uri: str, text: str):
    """A full-text change (what a client may send instead of incremental edits)."""
    client.diagnostics.pop(uri, None)
    _versions[uri] += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=_versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    return await published(client, uri)


async def close_doc(client: LanguageClient, uri: str) -> None:
    """Close, and wait for the server's empty diagnostics for it: left in flight, they could be
    taken for the answer to the next open of the same file (a flaky test once)."""
    client.diagnostics.pop(uri, None)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await published(client, uri) == []


def apply_edits(text: str, edits) -> str:
    """Apply LSP TextEdits (positions in UTF-16 code units, as the client negotiated)."""
    lines = text.splitlines(keepends=True) + [""]

    def offset(pos: types.Position) -> int:
        before = sum(len(line) for line in lines[: pos.line])
        encoded = lines[pos.line].encode("utf-16-le")[: pos.character * 2]
        return before + len(encoded.decode("utf-16-le"))

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
        lines = text.splitlines(keepends=True) + [""]
    return text


async def actions_at(client: LanguageClient, uri: str, rng: types.Range, diagnostics, only=None):
    return await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
    )


def point(line: int, character: int) -> types.Range:
    return types.Range(start=types.Position(line, character), end=types.Position(line, character))


# -- tests ------------------------------------------------------------------------------------


@ASYNC
async def test_capabilities_advertised(client: LanguageClient):
    caps = client.server_info.capabilities
    assert caps.hover_provider
    assert types.CodeActionKind.QuickFix in caps.code_action_provider.code_action_kinds
    assert "source.fixAll.tensorlint" in caps.code_action_provider.code_action_kinds
    assert caps.text_document_sync.save
    assert caps.notebook_document_sync is not None
    assert client.server_info.server_info.name == "tensorlint"
    assert caps.position_encoding == types.PositionEncodingKind.Utf16


@ASYNC
async def test_open_change_fix_cycle(client: LanguageClient, workspace: Path):
    # an unsaved buffer: the file does not exist on disk
    uri, diags = await open_doc(client, workspace / "unsaved.py", BUGGY)
    assert [(d.code, d.range.start.line, d.range.start.character, d.range.end.character) for d in diags] == [
        ("TL001", 3, 4, 19),
        ("TL203", 4, 4, 38),
    ]
    first = diags[0]
    assert first.severity == types.DiagnosticSeverity.Warning
    assert first.source == "tensorlint"
    assert "detach().clone()" in first.message
    assert first.code_description.href.endswith("#tensor-copy-construct")

    # the change that fixes the bugs clears the diagnostics
    assert await change_doc(client, uri, FIXED) == []
    # and a buggy change brings them back (the buffer, not the disk, is linted)
    assert [d.code for d in await change_doc(client, uri, BUGGY)] == ["TL001", "TL203"]
    # an incremental change (what editors send while typing): line 3 `torch.tensor(x)` -> the fix
    client.diagnostics.pop(uri, None)
    _versions[uri] += 1
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=_versions[uri]),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(3, 4), end=types.Position(3, 19)), text="x.detach().clone()"
                )
            ],
        )
    )
    assert [(d.code, d.range.start.line) for d in await published(client, uri)] == [("TL203", 4)]
    await close_doc(client, uri)


@ASYNC
async def test_quick_fix_and_fix_all_edits(client: LanguageClient, workspace: Path):
    uri, diags = await open_doc(client, workspace / "fixme.py", BUGGY)
    tl001 = diags[0]
    actions = await actions_at(client, uri, point(3, 8), [tl001])
    titles = [a.title for a in actions]
    assert titles == [
        "tensorlint (TL001): Replace with `.detach().clone()`",
        "tensorlint (TL001): Disable for this line",
        "tensorlint: Fix all auto-fixable problems",
    ]
    quick = actions[0]
    assert quick.kind == types.CodeActionKind.QuickFix and quick.is_preferred
    assert [d.code for d in quick.diagnostics] == ["TL001"]
    fixed = apply_edits(BUGGY, quick.edit.changes[uri])
    assert fixed == BUGGY.replace("torch.tensor(x)", "x.detach().clone()")
    assert [d.code for d in await change_doc(client, uri, fixed)] == ["TL203"]

    # source.fixAll applies every safe fix, and only when asked for that kind
    await change_doc(client, uri, BUGGY)
    only_fix_all = await actions_at(client, uri, point(0, 0), [], only=[types.CodeActionKind.SourceFixAll])
    assert [a.kind for a in only_fix_all] == ["source.fixAll.tensorlint"]
    assert apply_edits(BUGGY, only_fix_all[0].edit.changes[uri]) == FIXED
    # a quick-fix request on a clean line offers nothing
    assert not await actions_at(client, uri, point(0, 3), [], only=[types.CodeActionKind.QuickFix])
    await close_doc(client, uri)


@ASYNC
async def test_unsafe_fix_is_labelled(client: LanguageClient, workspace: Path):
    code = textwrap.dedent(
        """\
        import torch
        import torch.nn.functional as F

        def loss(logits, target):
            return F.cross_entropy(torch.softmax(logits, dim=1), target)
        """
    )
    uri, diags = await open_doc(client, workspace / "unsafe.py", code)
    [diag] = [d for d in diags if d.code == "TL202"]
    actions = await actions_at(client, uri, diag.range, [diag], only=[types.CodeActionKind.QuickFix])
    [fix] = [a for a in actions if "Disable" not in a.title]
    assert fix.title == "tensorlint (TL202): Remove the softmax and pass the logits (unsafe fix)"
    assert not fix.is_preferred
    assert apply_edits(code, fix.edit.changes[uri]).endswith("return F.cross_entropy(logits, target)\n")
    assert "source.fixAll.tensorlint" not in [a.kind for a in actions]
    await close_doc(client, uri)


@ASYNC
async def test_add_noqa_appends_and_merges(client: LanguageClient, workspace: Path):
    code = BUGGY.replace("y = torch.tensor(x)", "y = torch.tensor(torch.log(x.softmax(0)))  # noqa: TL203 - keep")
    code = code.replace("p = torch.log(", "p = torch.log(  # a comment\n    ").replace("dim=0))", "dim=0)\n)")
    uri, diags = await open_doc(client, workspace / "noqa.py", code)
    assert [(d.code, d.range.start.line) for d in diags] == [("TL001", 3), ("TL203", 4)]
    text = code
    for diag in diags:
        actions = await actions_at(client, uri, diag.range, [diag], only=[types.CodeActionKind.QuickFix])
        [noqa] = [a for a in actions if a.title.endswith("Disable for this line")]
        text = apply_edits(text, noqa.edit.changes[uri])
    assert "y = torch.tensor(torch.log(x.softmax(0)))  # noqa: TL203, TL001 - keep\n" in text  # merged into the list
    assert "p = torch.log(  # a comment  # noqa: TL203\n" in text  # appended after the comment
    assert await change_doc(client, uri, text) == []  # both now suppressed
    await close_doc(client, uri)


@ASYNC
async def test_noqa_not_offered_inside_a_string(client: LanguageClient, workspace: Path):
    code = 'import torch\n\nx = torch.randn(3)\ny = (torch.tensor(x), """\n""")\n'
    uri, diags = await open_doc(client, workspace / "strnoqa.py", code)
    [diag] = diags
    actions = await actions_at(client, uri, diag.range, [diag], only=[types.CodeActionKind.QuickFix])
    assert not [a for a in actions if "Disable" in a.title]  # the comment would become string text
    assert [a for a in actions if "detach" in a.title]
    await close_doc(client, uri)


@ASYNC
async def test_hover_shows_rule_doc(client: LanguageClient, workspace: Path):
    code = BUGGY.replace("dim=0))", "dim=0))  # noqa: TL203")
    uri, diags = await open_doc(client, workspace / "hover.py", code)
    assert [d.code for d in diags] == ["TL001"]
    on_finding = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(3, 10))
    )
    assert on_finding.contents.kind == types.MarkupKind.Markdown
    assert on_finding.contents.value.startswith("# tensor-copy-construct (TL001)")
    assert "## What it does" in on_finding.contents.value
    line = code.splitlines()[4]
    on_noqa = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(4, line.index("TL203") + 2),
        )
    )
    assert on_noqa.contents.value.startswith("# log-of-softmax (TL203)")
    assert on_noqa.range.start.character == line.index("TL203")
    nothing = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 2))
    )
    assert nothing is None
    await close_doc(client, uri)


@ASYNC
async def test_only_python_documents_are_checked(client: LanguageClient, workspace: Path):
    toml = (workspace / "other.toml").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=toml, language_id="toml", version=1, text='torch = "2.5"\n[x\n')
        )
    )
    uri, diags = await open_doc(client, workspace / "after_toml.py", BUGGY)  # handled after the toml file
    assert [d.code for d in diags] == ["TL001", "TL203"]
    assert toml not in client.diagnostics  # no TL000 for a file that is not Python
    await close_doc(client, uri)
    await close_doc(client, toml)


@ASYNC
async def test_config_select_ignore_and_per_file_ignores(client: LanguageClient, workspace: Path):
    # sub/pyproject.toml ignores TL001 by name
    uri, diags = await open_doc(client, workspace / "sub" / "a.py", BUGGY)
    assert [d.code for d in diags] == ["TL203"]
    await close_doc(client, uri)
    # the root config's per-file-ignores drop TL203 in legacy_*.py
    uri, diags = await open_doc(client, workspace / "legacy_model.py", BUGGY)
    assert [d.code for d in diags] == ["TL001"]
    await close_doc(client, uri)
    # a typo in the config: no findings, and the user is told why
    uri, diags = await open_doc(client, workspace / "broken" / "b.py", BUGGY)
    assert diags == []
    assert any("unknown key `selectt`" in m.message for m in client.messages)
    await close_doc(client, uri)


@ASYNC
async def test_config_change_on_disk_is_picked_up(client: LanguageClient, workspace: Path):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not client.registrations and loop.time() < deadline:
        await asyncio.sleep(0.01)
    [registration] = client.registrations
    assert registration.method == "workspace/didChangeWatchedFiles"
    globs = [w["globPattern"] for w in registration.register_options["watchers"]]  # raw JSON here
    assert "**/pyproject.toml" in globs and "**/*.py" in globs

    config = workspace / "sub" / "pyproject.toml"
    uri, diags = await open_doc(client, workspace / "sub" / "watched.py", BUGGY)
    assert [d.code for d in diags] == ["TL203"]  # TL001 ignored by sub/pyproject.toml
    before = config.read_text()
    config.write_text("[tool.tensorlint]\n")
    try:
        client.diagnostics.pop(uri, None)
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Changed)]
            )
        )
        assert [d.code for d in await published(client, uri)] == ["TL001", "TL203"]
    finally:
        config.write_text(before)
        await close_doc(client, uri)


@ASYNC
async def test_config_change_without_watched_files_is_picked_up(client: LanguageClient, workspace: Path):
    # Neovim on Linux sends no workspace/didChangeWatchedFiles (and Helix reports only the
    # files it writes itself): a configuration edited on disk must still count when the
    # document is reopened (`:edit`) or its text is sent again, not the findings
    # remembered for the same text.
    config = workspace / "sub" / "pyproject.toml"
    before = config.read_text()
    uri, diags = await open_doc(client, workspace / "sub" / "unwatched.py", BUGGY)
    assert [d.code for d in diags] == ["TL203"]  # TL001 ignored by sub/pyproject.toml
    try:
        config.write_text("[tool.tensorlint]\n")  # no notification
        await close_doc(client, uri)
        uri, diags = await open_doc(client, workspace / "sub" / "unwatched.py", BUGGY)
        assert [d.code for d in diags] == ["TL001", "TL203"]
        config.write_text(before)  # back again, and the same text is sent as a change
        assert [d.code for d in await change_doc(client, uri, BUGGY)] == ["TL203"]
        # a configuration file created closer to the document counts too
        (workspace / "sub" / "tensorlint.toml").write_text('ignore = ["TL203"]\n')
        assert [d.code for d in await change_doc(client, uri, BUGGY)] == ["TL001"]
    finally:
        config.write_text(before)
        (workspace / "sub" / "tensorlint.toml").unlink(missing_ok=True)
        await close_doc(client, uri)


@ASYNC
async def test_positions_are_utf16(client: LanguageClient, workspace: Path):
    code = 'import torch\n\nx = torch.randn(3)\ns = "\U0001F600"; y = torch.tensor(x)\n'
    uri, diags = await open_doc(client, workspace / "emoji.py", code)
    [diag] = diags
    # 13 code points precede `torch.tensor`, but the emoji is 2 UTF-16 units
    assert (diag.range.start.character, diag.range.end.character) == (14, 29)
    actions = await actions_at(client, uri, diag.range, [diag], only=[types.CodeActionKind.QuickFix])
    assert apply_edits(code, actions[0].edit.changes[uri]).endswith('y = x.detach().clone()\n')
    await close_doc(client, uri)


@ASYNC
async def test_cross_file_index_uses_saved_files(client: LanguageClient, workspace: Path):
    # Net (in models.py, on disk) has dropout: calling it under no_grad without eval() is TL103
    uri, diags = await open_doc(client, workspace / "infer.py", INFER)
    assert [(d.code, d.range.start.line) for d in diags] == [("TL103", 7)]
    # models.py is edited and saved: the open file is re-linted against the new version
    (workspace / "models.py").write_text(
        MODELS.replace("        self.drop = nn.Dropout(0.5)\n", "").replace("self.drop(self.fc(x))", "self.fc(x)")
    )
    client.diagnostics.pop(uri, None)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=(workspace / "models.py").as_uri()))
    )
    assert await published(client, uri) == []
    (workspace / "models.py").write_text(MODELS)
    await close_doc(client, uri)


@ASYNC
async def test_reopen_reads_project_files_changed_unreported(client: LanguageClient, workspace: Path):
    # models.py changes on disk with no didSave/didChangeWatchedFiles (a `git checkout`
    # under Neovim on Linux): reopening infer.py (`:edit`) lints against the new version
    uri, diags = await open_doc(client, workspace / "infer.py", INFER)
    assert [(d.code, d.range.start.line) for d in diags] == [("TL103", 7)]
    (workspace / "models.py").write_text(
        MODELS.replace("        self.drop = nn.Dropout(0.5)\n", "").replace("self.drop(self.fc(x))", "self.fc(x)")
    )
    try:
        await close_doc(client, uri)
        uri, diags = await open_doc(client, workspace / "infer.py", INFER)
        assert diags == []
    finally:
        (workspace / "models.py").write_text(MODELS)
        await close_doc(client, uri)


@ASYNC
async def test_notebook_document(client: LanguageClient, workspace: Path):
    nb_uri = (workspace / "nb.ipynb").as_uri()
    cells = [
        ("import torch\n%matplotlib inline\nx = torch.randn(3)\n", types.NotebookCellKind.Code),
        ("# Notes\nnot python", types.NotebookCellKind.Markup),
        ("!pip list\ny = torch.tensor(x)", types.NotebookCellKind.Code),
    ]
    cell_uris = [f"vscode-notebook-cell:{workspace / 'nb.ipynb'}#c{i}" for i in range(len(cells))]
    for uri in cell_uris:
        client.diagnostics.pop(uri, None)
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=nb_uri,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[types.NotebookCell(kind=kind, document=u) for (_, kind), u in zip(cells, cell_uris)],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=u, language_id="python" if kind == types.NotebookCellKind.Code else "markdown", version=1, text=text)
                for (text, kind), u in zip(cells, cell_uris)
            ],
        )
    )
    # cells are one program: `x` from cell 0 is the tensor copied in cell 2; magics are skipped
    third = await published(client, cell_uris[2])
    assert [(d.code, d.range.start.line, d.range.start.character) for d in third] == [("TL001", 1, 4)]
    assert await published(client, cell_uris[0]) == []
    assert cell_uris[1] not in client.diagnostics  # markdown cells get nothing

    actions = await actions_at(client, cell_uris[2], third[0].range, third, only=[types.CodeActionKind.QuickFix])
    assert [list(a.edit.changes) for a in actions] == [[cell_uris[2]], [cell_uris[2]]]
    assert apply_edits(cells[2][0], actions[0].edit.changes[cell_uris[2]]) == "!pip list\ny = x.detach().clone()"
    assert apply_edits(cells[2][0], actions[1].edit.changes[cell_uris[2]]) == "!pip list\ny = torch.tensor(x)  # noqa: TL001"
    fix_all = await actions_at(client, cell_uris[2], point(0, 0), [], only=[types.CodeActionKind.SourceFixAll])
    [edits] = [a.edit.changes for a in fix_all]
    assert list(edits) == [cell_uris[2]]  # only the cell that changes
    assert apply_edits(cells[2][0], edits[cell_uris[2]]) == "!pip list\ny = x.detach().clone()"
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=cell_uris[2]), position=types.Position(1, 6))
    )
    assert "(TL001)" in hover.contents.value

    # editing cell 2 to the fix clears its diagnostics
    client.diagnostics.pop(cell_uris[2], None)
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(uri=nb_uri, version=2),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(uri=cell_uris[2], version=2),
                            changes=[types.TextDocumentContentChangeWholeDocument(text="y = x.detach().clone()\n")],
                        )
                    ]
                )
            ),
        )
    )
    assert await published(client, cell_uris[2]) == []
    client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=nb_uri),
            cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in cell_uris],
        )
    )


@ASYNC
async def test_notebook_without_torch_is_not_checked(client: LanguageClient, workspace: Path):
    # as `tensorlint check` skips files that never mention torch: no TL000 for the broken cell
    nb_uri = (workspace / "plain.ipynb").as_uri()
    cell_uri = f"vscode-notebook-cell:{workspace / 'plain.ipynb'}#c0"
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=nb_uri, notebook_type="jupyter-notebook", version=1,
                cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=cell_uri)],
            ),
            cell_text_documents=[types.TextDocumentItem(uri=cell_uri, language_id="python", version=1, text="x = (\n")],
        )
    )
    assert await published(client, cell_uri) == []


@ASYNC
async def test_shutdown_and_exit_are_clean(workspace: Path):
    other = await SERVER.start()
    await other.initialize_session(types.InitializeParams(capabilities=_capabilities(), root_uri=workspace.as_uri()))
    await other.shutdown_session()
    assert other._server.returncode == 0
    await other.stop()


def test_missing_pygls_is_a_clear_message():
    code = "import sys; sys.modules['pygls.lsp.server'] = None; from tensorlint.cli import main; sys.exit(main(['server']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'pygls>=2'" in proc.stderr
    assert "Traceback" not in proc.stderr
