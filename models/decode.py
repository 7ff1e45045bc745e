"""A text file's bytes to text, as the people who write round files save them.

Spreadsheet programs and editors save UTF-8 with or without a byte-order mark, UTF-16
("Unicode text") and, on Windows, the legacy Windows-1252 code page (a superset of
Latin-1's printable characters). Each is read; anything else (a workbook, an image, a
truncated download) is refused with an error that says what the file looks like.
"""

from __future__ import annotations

import codecs
from typing import Final

_BOMS: Final[tuple[tuple[bytes, str], ...]] = (
    # UTF-32 first: its little-endian mark starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook? name it .xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (an .xls workbook? save it as .xlsx)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive (unpack it first)"),
)

_SNIFF_BYTES: Final = 4096
"""Bytes looked at to tell UTF-16 without a mark from a binary file."""


class UndecodableText(ValueError):
    """The bytes are not text in any encoding that round files are saved in."""


def _utf16_without_mark(head: bytes) -> str | None:
    """UTF-16 saved without a byte-order mark: ASCII text has a NUL in every other byte."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> str:
    """The text of a file's bytes (see the module docstring); `UndecodableText` saying
    what the bytes look like when they are no text."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            try:
                return data[len(mark) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableText(
                    f"starts with a {encoding.upper()} byte-order mark but is not "
                    f"{encoding.upper()} text (byte {exc.start + len(mark)})"
                ) from None
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise UndecodableText(f"this is {what}, not a text file")
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        utf16 = _utf16_without_mark(head)
        if utf16 is not None:
            try:
                return data.decode(utf16)
            except UnicodeDecodeError:
                pass
        raise UndecodableText("a binary file (it holds NUL bytes), not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise UndecodableText(
            f"not UTF-8 text (byte {utf8_error.start} is {data[utf8_error.start]:#04x}) "
            "nor Windows-1252: save it as UTF-8"
        ) from None
    if "\x00" in text or sum(ch < " " and ch not in "\t\r\n" for ch in text[:_SNIFF_BYTES]) > 8:
        raise UndecodableText("a binary file, not a text file")
    return text
