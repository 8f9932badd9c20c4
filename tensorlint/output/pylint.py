"""pylint's parseable form, as ruff writes it: `path:row: [CODE] message`."""

from tensorlint.output import display_path, printable


def render(diagnostics, **_) -> str:
    return "".join(f"{display_path(d.filename)}:{d.location.row}: [{d.code}] {printable(d.message)}\n" for d in diagnostics)
