"""GitHub Actions workflow commands, escaped as GitHub requires."""

from tensorlint.output import absolute_path, display_path

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(diagnostics, **_) -> str:
    lines = []
    for d in diagnostics:
        props = ",".join(
            [
                f"title={escape_property(f'tensorlint ({d.code})')}",
                f"file={escape_property(absolute_path(d.filename))}",
                f"line={d.location.row}",
                f"col={d.location.column}",
                f"endLine={d.end_location.row}",
                f"endColumn={d.end_location.column}",
            ]
        )
        text = f"{display_path(d.filename)}:{d.position()}: {d.code} {d.message}"
        lines.append(f"::{_LEVEL[d.severity.value]} {props}::{escape_data(text)}\n")
    return "".join(lines)
