"""The HTML pages: Jinja2 templates around the ES modules in static/."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app import __version__

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGES = {"/": "editor.html", "/train": "train.html", "/net": "net.html", "/lessons": "lessons.html"}


def _page(template: str):  # noqa: ANN202
    async def render(request: Request) -> HTMLResponse:
        return request.app.state.templates.TemplateResponse(request, template, {"version": __version__})

    return render


for path, template in PAGES.items():
    router.add_api_route(path, _page(template), methods=["GET"], response_class=HTMLResponse, name=template.removesuffix(".html"))
