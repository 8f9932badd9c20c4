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


# UTF-32 first: its little-endian BOM starts with UTF-16's.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_BOM_PREFIX = "bom:"


def wide_bom(data: bytes) -> bool:
    """A UTF-16/UTF-32 byte order mark: such text cannot be searched bytewise for ASCII."""
    return any(data.startswith(bom) for bom, _ in _WIDE_BOMS)


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding, honouring PEP 263 cookies and a UTF-8 BOM. A UTF-16/UTF-32 BOM
    (some Windows editors save so) is decoded too, and kept on `encode`: the encoding
    is then spelled `bom:<codec>`."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), _BOM_PREFIX + codec
            except UnicodeDecodeError as exc:
                raise DecodeError(f"cannot decode file as {codec}: {exc}") from None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise DecodeError(f"cannot detect encoding: {exc}") from None
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise DecodeError(f"cannot decode file as {encoding}: {exc}") from None


def encode(text: str, encoding: str) -> bytes:
    if encoding.startswith(_BOM_PREFIX):
        codec = encoding[len(_BOM_PREFIX) :]
        return next(bom for bom, name in _WIDE_BOMS if name == codec) + text.encode(codec)
    return text.encode(encoding)


def split_lines(text: str) -> list[str]:
    """The lines of `text`, numbered as libcst and the reported positions number them."""
    return _LINE_BREAK.split(text)


def line_starts(text: str) -> list[int]:
    """The offset at which each line starts."""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
