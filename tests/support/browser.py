"""Helpers for the browser tests (imported by name: `from conftest import ...` could find another conftest)."""

from __future__ import annotations

from pathlib import Path

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # git-ignored; look at them


def wait_evaluated(page, timeout: float = 5000) -> None:
    """Wait until the editor's last scheduled evaluation has come back and been drawn."""
    page.wait_for_function(
        "() => { const s = window.backpropLab?.S; return s && !s.timerPending && !s.busy && document.querySelector('#graph').dataset.evaluated == String(s.seq) }",
        timeout=timeout,
    )


def shot(page, name: str) -> Path:
    """A screenshot of the page as it is now, saved under artifacts/screenshots."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
