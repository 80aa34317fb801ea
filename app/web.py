"""Where static files and templates live: the checkout's top level, or inside an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def web_dir(name: str) -> Path:
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_web" / name):
        if candidate.is_dir():
            return candidate
    return _PACKAGE.parent / name
