"""Reading and writing Python source while keeping its bytes: encoding, BOM and newlines."""

from __future__ import annotations

import io
import re
import tokenize

# The line breaks libcst and positions count: not str.splitlines(), which also breaks
# on form feeds and other separators and would shift row numbers.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class DecodeError(Exception):
    pass


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding, honouring PEP 263 cookies and a UTF-8 BOM."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise DecodeError(f"cannot detect encoding: {exc}") from None
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise DecodeError(f"cannot decode file as {encoding}: {exc}") from None


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


def split_lines(text: str) -> list[str]:
    """The lines of `text`, numbered as libcst and the reported positions number them."""
    return _LINE_BREAK.split(text)


def line_starts(text: str) -> list[int]:
    """The offset at which each line starts."""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
