"""Reading and writing Python source while keeping its bytes: encoding, BOM and newlines."""

from __future__ import annotations

import io
import tokenize


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
