"""`path:row:col: CODE [name] message`, one line per finding: grep- and editor-friendly."""

from tensorlint.output import display_path, printable


def render(diagnostics, **_) -> str:
    return "".join(
        f"{display_path(d.filename)}:{d.position()}: {d.code} [{d.name}] {printable(d.message)}\n"
        for d in diagnostics
    )
