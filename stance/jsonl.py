"""Reading a JSONL file row by row, with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def jsonl_rows(path: str | Path, error: type[Exception] = ValueError) -> Iterator[tuple[int, object]]:
    """``(line number, parsed value)`` for every non-blank line; a missing or unreadable file or a
    malformed line raises ``error`` with a message a user can act on."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read it: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            raise error(f"{path}:{number}: malformed JSON: {getattr(exc, 'msg', exc)}") from None
