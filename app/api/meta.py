"""Health and a trivial echo: the reference the HTTP benchmarks divide by."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app import __version__

router = APIRouter(prefix="/api", tags=["meta"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the server answers."""
    return {"status": "ok", "version": __version__}


@router.post("/echo")
async def echo(body: dict[str, Any]) -> JSONResponse:
    """Returns the JSON body unchanged (the benchmarks' baseline round trip)."""
    return JSONResponse(body)
