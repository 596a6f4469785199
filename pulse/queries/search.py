"""Filters built from what a caller typed: literal, never a pattern of theirs."""

from __future__ import annotations

from pulse.queries.pagination import Document


def _escaped(char: str) -> str:
    if not char.isascii() or char.isalnum() or char == "_":
        return char
    if not char.isprintable():
        # Control characters (NUL included, which BSON cannot carry in a pattern).
        return f"\\x{ord(char):02x}"
    return "\\" + char


def literal_pattern(text: str) -> str:
    """``text`` as a regular expression matching only itself.

    ASCII punctuation and space are escaped with a backslash and control characters
    as ``\\xhh``: both mean the character itself in PCRE (MongoDB) and in Go's RE2
    (FerretDB), whereas Python's ``re.escape`` promises that for Python only.
    """
    return "".join(_escaped(char) for char in text)


def contains(text: str) -> Document:
    """A case-insensitive substring match."""
    return {"$regex": literal_pattern(text), "$options": "i"}
